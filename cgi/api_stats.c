/*
 * api_stats.c: GET /api/stats, read from the counters (constant cost).
 */
#include "config.h"

#include <json-c/json.h>

#include "goip.h"
#include "cgi.h"

void
api_stats_get(struct request *req)
{
	struct json_object	*o;
	char			*cause = NULL;
	enum store_rc		 rc;

	if ((rc = stats_json(req->st, util_now_ms(), &o, &cause)) !=
	    STORE_OK) {
		request_store_error(req, rc, cause);
		return;
	}
	reply_json(req, 200, o);
	json_object_put(o);
}
