/*
 * api_outbox.c: GET /api/device/outbox?limit=N, a device leases its queued SMS.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "goip.h"
#include "cgi.h"

#define OUTBOX_DEFAULT	10
#define OUTBOX_MAX	GOIP_LEASE_MAX

void
api_outbox_get(struct request *req)
{
	struct json_object	*arr = NULL, *o;
	struct sms_lease	 lease;
	char			 num[16], *end, *cause = NULL;
	long			 limit = OUTBOX_DEFAULT;
	int64_t			 evid = 0;
	enum store_rc		 rc;
	int			 r;

	if ((r = request_query(req, "limit", num, sizeof(num))) == -1 ||
	    (r == 1 && ((limit = strtol(num, &end, 10)) < 1 ||
	    limit > OUTBOX_MAX || *end != '\0' || num[0] < '0' ||
	    num[0] > '9'))) {
		reply_error(req, 400, "must be an integer from 1 to 64",
		    "limit");
		return;
	}
	if (request_begin(req) == -1)
		return;
	lease.device = req->device_rowid;
	lease.max = (int)limit;
	lease.now = util_now_ms();
	lease.lease = req->cfg->outbox_lease;
	lease.attempts = req->cfg->send_attempts;
	rc = sms_outbox_lease(req->wst, &lease, &arr, &evid, &cause);
	if (request_commit(req, rc, cause) == -1) {
		json_object_put(arr);
		return;
	}
	if (evid != 0)
		request_ring(req, evid);
	o = json_object_new_object();
	json_object_object_add(o, "messages", arr);
	reply_json(req, 200, o);
	json_object_put(o);
}
