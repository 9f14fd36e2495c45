/*
 * api_heartbeat.c: POST /api/device/heartbeat.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "goip.h"
#include "cgi.h"

/*
 * Validate the heartbeat, store it with its events in one transaction,
 * ring the notifier after the commit, then answer with the interval the
 * device should keep and the number of SMS waiting for it.
 */
void
api_heartbeat_post(struct request *req)
{
	struct json_object	*body, *o;
	struct heartbeat	 hb;
	struct hb_store		 at;
	struct verr		 err;
	char			*cause = NULL;
	int64_t			 now, evid = 0, pending;
	enum store_rc		 rc;

	if ((body = request_json(req)) == NULL)
		return;
	memset(&err, 0, sizeof(err));
	if (valid_heartbeat(body, &hb, &err) == -1) {
		reply_error(req, 400, err.msg, err.field);
		goto out;
	}
	if (hb.device_id != NULL && strcmp(hb.device_id, req->device) != 0) {
		reply_error(req, 403, "deviceId is not the token's device",
		    "deviceId");
		goto out;
	}
	now = util_now_ms();
	if (request_begin(req) == -1)
		goto out;
	at.device = req->device_rowid;
	at.now = now;
	at.history = req->cfg->heartbeat_history;
	at.step = req->cfg->heartbeat_history_step;
	if ((rc = device_heartbeat(req->wst, &hb, &at, &evid, &cause)) ==
	    STORE_OK)
		rc = stats_outbox_pending(req->wst, req->device_rowid,
		    &pending, &cause);
	if (request_commit(req, rc, cause) == -1)
		goto out;
	request_ring(req, evid);

	o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(1));
	json_object_object_add(o, "deviceId",
	    json_object_new_string(req->device));
	json_object_object_add(o, "status", json_object_new_string("online"));
	json_object_object_add(o, "heartbeatInterval",
	    json_object_new_int64((req->cfg->heartbeat_interval + 999) / 1000));
	json_object_object_add(o, "serverTime", store_json_timeval(now));
	json_object_object_add(o, "outboxPending",
	    json_object_new_int64(pending));
	reply_json(req, 200, o);
	json_object_put(o);
out:
	json_object_put(body);
}
