/*
 * api_receive.c: POST /api/sms/receive, one message or a batch.
 *
 * The whole body is validated before anything is stored; then every
 * message is stored in one transaction and the answer is sent only after
 * the commit, so a device may forget a message once it has its answer.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "goip.h"
#include "cgi.h"

/* Validate message I of a batch (or the single message when BATCH is 0). */
static int
api_receive_check(struct request *req, struct json_object *o, struct sms_in *sms,
    int batch, size_t i)
{
	struct verr	 err;
	char		 field[sizeof(err.field) + 32]; /* messages[N]. */

	memset(&err, 0, sizeof(err));
	if (valid_sms_in(o, sms, &err) == -1) {
		if (batch) {
			snprintf(field, sizeof(field), "messages[%zu]%s%s", i,
			    strcmp(err.field, "body") == 0 ? "" : ".",
			    strcmp(err.field, "body") == 0 ? "" : err.field);
			reply_error(req, 400, err.msg, field);
		} else
			reply_error(req, 400, err.msg, err.field);
		return -1;
	}
	if (sms->device_id != NULL && strcmp(sms->device_id, req->device) != 0) {
		if (batch) {
			snprintf(field, sizeof(field), "messages[%zu].deviceId",
			    i);
			reply_error(req, 403, "deviceId is not the token's "
			    "device", field);
		} else
			reply_error(req, 403, "deviceId is not the token's "
			    "device", "deviceId");
		return -1;
	}
	return 0;
}

void
api_receive_post(struct request *req)
{
	struct json_object	*body, *list = NULL, *o, *results, *r;
	struct sms_in		*sms = NULL;
	struct sms_stored	*res = NULL;
	struct sms_recv		 at;
	int64_t			 last = 0;
	int			 batch, status;
	size_t			 n, i;
	char			*cause = NULL;
	enum store_rc		 rc;

	if ((body = request_json(req)) == NULL)
		return;
	batch = json_object_is_type(body, json_type_object) &&
	    json_object_object_get_ex(body, "messages", &list);
	if (batch) {
		if (!json_object_is_type(list, json_type_array)) {
			reply_error(req, 400, "must be an array", "messages");
			goto out;
		}
		n = json_object_array_length(list);
		if (n == 0 || n > GOIP_BATCH_MAX) {
			reply_error(req, 400, n == 0 ? "must not be empty" :
			    "more than 100 messages", "messages");
			goto out;
		}
	} else
		n = 1;
	sms = calloc(n, sizeof(*sms));
	res = calloc(n, sizeof(*res));
	if (sms == NULL || res == NULL) {
		reply_error(req, 503, "out of memory", NULL);
		goto out;
	}
	for (i = 0; i < n; i++)
		if (api_receive_check(req, batch ?
		    json_object_array_get_idx(list, i) : body, &sms[i], batch,
		    i) == -1)
			goto out;

	at.device = req->device_rowid;
	at.now = util_now_ms();
	if (request_begin(req) == -1)
		goto out;
	for (i = 0; i < n; i++) {
		rc = sms_receive(req->wst, &sms[i], &at, &res[i], &cause);
		if (rc != STORE_OK) {
			store_rollback(req->wst);
			request_store_error(req, rc, cause);
			goto out;
		}
		if (!res[i].seen)
			last = res[i].evid;
	}
	if ((rc = store_commit(req->wst, &cause)) != STORE_OK) {
		request_store_error(req, rc, cause);
		goto out;
	}
	if (last != 0)
		request_ring(req, last);

	if (!batch) {
		o = json_object_new_object();
		json_object_object_add(o, "ok", json_object_new_boolean(1));
		json_object_object_add(o, "id",
		    json_object_new_int64(res[0].id));
		json_object_object_add(o, "duplicate",
		    json_object_new_boolean(res[0].seen));
		reply_json(req, res[0].seen ? 200 : 201, o);
		json_object_put(o);
		goto out;
	}
	results = json_object_new_array();
	status = 200;
	for (i = 0; i < n; i++) {
		r = json_object_new_object();
		json_object_object_add(r, "messageId",
		    json_object_new_string(sms[i].message_id));
		json_object_object_add(r, "id",
		    json_object_new_int64(res[i].id));
		json_object_object_add(r, "duplicate",
		    json_object_new_boolean(res[i].seen));
		json_object_object_add(r, "status",
		    json_object_new_int(res[i].seen ? 200 : 201));
		json_object_array_add(results, r);
	}
	o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(1));
	json_object_object_add(o, "results", results);
	reply_json(req, status, o);
	json_object_put(o);
out:
	free(sms);
	free(res);
	json_object_put(body);
}
