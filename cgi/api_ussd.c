/*
 * api_ussd.c: POST /api/devices/{id}/ussd, an operator sends a USSD code
 * through a GoIP line of the device. goip-udpd sends it; the reply comes
 * as a ussd-reply event and in GET /api/devices/{id} ("ussd").
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "goip.h"
#include "cgi.h"

/*
 * Body {"slot", "code"}; 202 with the queued request (its "id" and
 * "status": "queued"), 404 for an unknown device or a slot without a GoIP
 * line.
 */
void
api_ussd_post(struct request *req)
{
	struct json_object	*body, *o = NULL;
	struct ussd_out		 u;
	struct ussd_send	 sd;
	struct verr		 err;
	char			 id[GOIP_DEVICE_ID_MAX + 1], *cause = NULL;
	const char		*p = req->path + strlen("devices/"), *end;
	int64_t			 rowid, uid;
	enum store_rc		 rc;

	end = strchr(p, '/');
	if (end == NULL || (size_t)(end - p) >= sizeof(id)) {
		reply_error(req, 400, "invalid device id", "deviceId");
		return;
	}
	memcpy(id, p, end - p);
	id[end - p] = '\0';
	if (!valid_device_id(id)) {
		reply_error(req, 400, "invalid device id", "deviceId");
		return;
	}
	if ((body = request_json(req)) == NULL)
		return;
	memset(&err, 0, sizeof(err));
	if (valid_ussd_out(body, &u, &err) == -1) {
		reply_error(req, 400, err.msg, err.field);
		goto out;
	}
	if ((rc = store_begin(req->wst, &cause)) != STORE_OK) {
		request_store_error(req, rc, cause);
		goto out;
	}
	rc = device_lookup(req->wst, id, &rowid, &cause);
	if (rc == STORE_NOTFOUND) {
		store_rollback(req->wst);
		reply_error(req, 404, "unknown device", "deviceId");
		goto out;
	}
	if (rc == STORE_OK) {
		sd.device = rowid;
		sd.operator = req->remote_user;
		sd.now = util_now_ms();
		rc = ussd_queue(req->wst, &u, &sd, &uid, &cause);
	}
	if (rc == STORE_NOTFOUND) {
		store_rollback(req->wst);
		reply_error(req, 404, "no GoIP line on this slot", "slot");
		goto out;
	}
	if (rc == STORE_OK)
		rc = ussd_json(req->wst, uid, &o, &cause);
	if (request_commit(req, rc, cause) == -1)
		goto out;
	reply_json(req, 202, o);
out:
	json_object_put(o);
	json_object_put(body);
}
