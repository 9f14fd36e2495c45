/*
 * api_status.c: POST /api/sms/status, a device reports progress of outbound
 * SMS: {"id", "status": "sent"|"delivered"|"failed", "error"}, or a batch
 * {"reports": [...]} of up to 100. Reports are idempotent and status only
 * moves forward (sms_report()).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "goip.h"
#include "cgi.h"

/* Bytes of a report's error text; the message spells the same number. */
#define STATUS_ERROR_MAX	256
#define STATUS_ERROR_MAX_TEXT	"256"

struct report {
	int64_t		 id;
	const char	*status;
	const char	*error;
	int		 changed;
};

/* Validate one report object; 0, or -1 once answered. */
static int
api_status_check(struct request *req, struct json_object *o, struct report *r,
    const char *prefix)
{
	struct json_object	*v;
	char			 field[64];
	const char		*s;

	if (!json_object_is_type(o, json_type_object)) {
		reply_error(req, 400, "must be a JSON object",
		    *prefix != '\0' ? prefix : "body");
		return -1;
	}
	snprintf(field, sizeof(field), "%s%sid", prefix, *prefix ? "." : "");
	if (!json_object_object_get_ex(o, "id", &v) ||
	    !json_object_is_type(v, json_type_int) ||
	    (r->id = json_object_get_int64(v)) < 1 || r->id == INT64_MAX) {
		reply_error(req, 400, "must be a message id", field);
		return -1;
	}
	snprintf(field, sizeof(field), "%s%sstatus", prefix, *prefix ? "." :
	    "");
	if (!json_object_object_get_ex(o, "status", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    ((s = json_object_get_string(v)), strcmp(s, "sent") != 0 &&
	    strcmp(s, "delivered") != 0 && strcmp(s, "failed") != 0)) {
		reply_error(req, 400, "must be sent, delivered or failed",
		    field);
		return -1;
	}
	r->status = s;
	r->error = NULL;
	snprintf(field, sizeof(field), "%s%serror", prefix, *prefix ? "." : "");
	if (json_object_object_get_ex(o, "error", &v) && v != NULL) {
		if (!json_object_is_type(v, json_type_string) ||
		    json_object_get_string_len(v) > STATUS_ERROR_MAX) {
			reply_error(req, 400, "must be a string of at most "
			    STATUS_ERROR_MAX_TEXT " bytes", field);
			return -1;
		}
		r->error = json_object_get_string(v);
	}
	return 0;
}

void
api_status_post(struct request *req)
{
	struct json_object	*body, *list = NULL, *o, *arr, *m;
	struct report		*r = NULL;
	struct sms_status	 rep;
	char			 prefix[32], *cause = NULL;
	int64_t			 now, evid = 0;
	size_t			 n = 1, i;
	int			 batch;
	enum store_rc		 rc;

	if ((body = request_json(req)) == NULL)
		return;
	batch = json_object_is_type(body, json_type_object) &&
	    json_object_object_get_ex(body, "reports", &list);
	if (batch) {
		if (!json_object_is_type(list, json_type_array) ||
		    (n = json_object_array_length(list)) == 0 ||
		    n > GOIP_BATCH_MAX) {
			reply_error(req, 400, "must be an array of 1 to 100 "
			    "reports", "reports");
			goto out;
		}
	}
	if ((r = calloc(n, sizeof(*r))) == NULL) {
		reply_error(req, 503, "out of memory", NULL);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (batch)
			snprintf(prefix, sizeof(prefix), "reports[%zu]", i);
		else
			prefix[0] = '\0';
		if (api_status_check(req, batch ? json_object_array_get_idx(list,
		    i) : body, &r[i], prefix) == -1)
			goto out;
	}
	now = util_now_ms();
	if (request_begin(req) == -1)
		goto out;
	for (i = 0; i < n; i++) {
		rep.device = req->device_rowid;
		rep.id = r[i].id;
		rep.status = r[i].status;
		rep.error = r[i].error;
		rep.now = now;
		rep.attempts = req->cfg->send_attempts;
		rc = sms_report(req->wst, &rep, &r[i].changed, &evid, &cause);
		if (rc != STORE_OK) {
			store_rollback(req->wst);
			if (batch)
				snprintf(prefix, sizeof(prefix),
				    "reports[%zu].id", i);
			request_store_fail(req, rc, cause, "no such outbound "
			    "message for this device", batch ? prefix : "id");
			goto out;
		}
	}
	arr = json_object_new_array();
	for (i = 0; i < n; i++) {
		if ((rc = sms_json(req->wst, r[i].id, &m, &cause)) !=
		    STORE_OK) {
			json_object_put(arr);
			store_rollback(req->wst);
			request_store_error(req, rc, cause);
			goto out;
		}
		o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_int64(r[i].id));
		json_object_object_add(o, "status", json_object_get(
		    json_object_object_get(m, "status")));
		json_object_object_add(o, "changed",
		    json_object_new_boolean(r[i].changed));
		json_object_array_add(arr, o);
		json_object_put(m);
	}
	if ((rc = store_commit(req->wst, &cause)) != STORE_OK) {
		json_object_put(arr);
		request_store_error(req, rc, cause);
		goto out;
	}
	if (evid != 0)
		request_ring(req, evid);
	if (batch) {
		o = json_object_new_object();
		json_object_object_add(o, "ok", json_object_new_boolean(1));
		json_object_object_add(o, "results", arr);
	} else {
		o = json_object_get(json_object_array_get_idx(arr, 0));
		json_object_put(arr);
		json_object_object_add(o, "ok", json_object_new_boolean(1));
	}
	reply_json(req, 200, o);
	json_object_put(o);
out:
	free(r);
	json_object_put(body);
}
