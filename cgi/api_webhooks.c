/*
 * api_webhooks.c: GET /api/webhooks, the endpoints of goip-webhookd with
 * their state and lag (lib/webhook.c webhook_list_json()). Secrets are
 * never read, so never shown.
 */
#include "config.h"

#include <json-c/json.h>

#include "goip.h"
#include "cgi.h"

void
api_webhooks_list(struct request *req)
{
	struct json_object	*o;
	char			*cause = NULL;
	enum store_rc		 rc;

	if ((rc = webhook_list_json(req->st, util_now_ms(), &o, &cause)) !=
	    STORE_OK) {
		request_store_error(req, rc, cause);
		return;
	}
	reply_json(req, 200, o);
	json_object_put(o);
}
