/*
 * api_send.c: POST /api/sms/send, an operator queues an SMS for a device.
 *
 * An Idempotency-Key header (scoped to the operator, REMOTE_USER) makes a
 * retry safe: the same key with the same request answers the original
 * message; the same key with another request is 422.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <nettle/sha2.h>

#include "goip.h"
#include "cgi.h"

#define SEND_KEY_MAX	128

/* SHA-256 over the request's fields, each NUL-terminated, for the key. */
static void
api_send_hash(const struct sms_out *sms, uint8_t out[32])
{
	struct sha256_ctx	 ctx;
	char			 slot[16];

	snprintf(slot, sizeof(slot), "%d", sms->slot);
	sha256_init(&ctx);
	sha256_update(&ctx, strlen(sms->device) + 1,
	    (const uint8_t *)sms->device);
	sha256_update(&ctx, strlen(slot) + 1, (const uint8_t *)slot);
	sha256_update(&ctx, strlen(sms->to) + 1, (const uint8_t *)sms->to);
	sha256_update(&ctx, sms->textlen, (const uint8_t *)sms->text);
	sha256_digest(&ctx, SHA256_DIGEST_SIZE, out);
}

void
api_send_post(struct request *req)
{
	struct json_object	*body, *o;
	struct sms_out		 sms;
	struct sms_send		 by;
	struct sms_stored	 res;
	struct verr		 err;
	const char		*key, *p;
	char			*cause = NULL;
	uint8_t			 hash[32];
	enum store_rc		 rc;

	key = request_env(req, "HTTP_IDEMPOTENCY_KEY");
	if (key != NULL) {
		for (p = key; *p != '\0'; p++)
			if (*p <= 0x20 || *p >= 0x7f)
				break;
		if (*key == '\0' || *p != '\0' || p - key > SEND_KEY_MAX) {
			reply_error(req, 400, "Idempotency-Key must be 1-128 "
			    "printable characters", "Idempotency-Key");
			return;
		}
	}
	if ((body = request_json(req)) == NULL)
		return;
	memset(&err, 0, sizeof(err));
	if (valid_sms_out(body, &sms, &err) == -1) {
		reply_error(req, 400, err.msg, err.field);
		goto out;
	}
	api_send_hash(&sms, hash);
	by.operator = req->remote_user;
	by.key = key;
	by.hash = hash;
	by.now = util_now_ms();
	by.expire = req->cfg->sms_expire;
	if (request_begin(req) == -1)
		goto out;
	rc = device_lookup(req->wst, sms.device, &by.device, &cause);
	if (rc == STORE_OK)
		rc = sms_queue(req->wst, &sms, &by, &res, &cause);
	if (rc == STORE_CONFLICT) {
		store_rollback(req->wst);
		free(cause);
		reply_error(req, 422, "Idempotency-Key was used for another "
		    "request", "Idempotency-Key");
		goto out;
	}
	if (rc != STORE_OK) {
		store_rollback(req->wst);
		request_store_fail(req, rc, cause, "unknown device",
		    "deviceId");
		goto out;
	}
	rc = sms_json(req->wst, res.id, &o, &cause);
	if (request_commit(req, rc, cause) == -1) {
		json_object_put(o);
		goto out;
	}
	if (!res.seen)
		request_ring(req, res.evid);
	else
		reply_header(req, 202, "Idempotent-Replayed: true");
	reply_json(req, 202, o);
	json_object_put(o);
out:
	json_object_put(body);
}
