/*
 * stats.c: GET /api/stats, read from the counters (constant cost).
 */
#include "config.h"

#include <json-c/json.h>

#include "goip.h"
#include "cgi.h"

void
stats_get(struct request *req)
{
	struct json_object	*o;
	char			*cause = NULL;

	if ((o = stats_json(req->st, util_now_ms(), &cause)) == NULL) {
		request_store_error(req, STORE_ERROR, cause);
		return;
	}
	reply_json(req, 200, o);
	json_object_put(o);
}
