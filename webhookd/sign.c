/*
 * sign.c: the body of a delivery and its signature (goip-webhook(7)).
 *
 * The body is {"eventId":N,"event":"NAME","data":DATA}, where DATA is the
 * event's payload exactly as goip-notifier sends it over Socket.IO: the
 * stored JSON object with "eventId" put first. The signature is
 * HMAC-SHA256, keyed with the endpoint's secret, of TIMESTAMP "." BODY,
 * sent as "sha256=" and 64 lower-case hex digits.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/hmac.h>

#include "goip.h"
#include "webhookd.h"

/* Skip JSON white space at *P (*LEN bytes left). */
static void
sign_skip_space(const char **p, size_t *len)
{
	while (*len > 0 && (**p == ' ' || **p == '\n' || **p == '\t' ||
	    **p == '\r')) {
		(*p)++;
		(*len)--;
	}
}

/*
 * Build the body of event ID named NAME with the stored payload P (LEN
 * bytes, a JSON object; anything else is sent as {"eventId":ID}). Returns
 * the body, NUL-terminated, allocated (caller frees), its length in
 * *OUTLEN; NULL when out of memory.
 */
char *
sign_body(int64_t id, const char *name, const char *p, size_t len,
    size_t *outlen)
{
	char	*b, head[128];
	int	 n;
	size_t	 total;

	sign_skip_space(&p, &len);
	if (len < 2 || p[0] != '{') {
		p = "}";
		len = 1;
	} else {
		p++;
		len--;
		sign_skip_space(&p, &len);
	}
	n = snprintf(head, sizeof(head), "{\"eventId\":%lld,\"event\":\"%s\","
	    "\"data\":{\"eventId\":%lld%s", (long long)id, name,
	    (long long)id, len > 0 && p[0] == '}' ? "" : ",");
	if (n < 0 || (size_t)n >= sizeof(head))
		return NULL;
	total = (size_t)n + len + 1;
	if ((b = malloc(total + 1)) == NULL)
		return NULL;
	memcpy(b, head, (size_t)n);
	memcpy(b + n, p, len);
	b[total - 1] = '}';
	b[total] = '\0';
	*outlen = total;
	return b;
}

/*
 * Write to HEX (SIGN_HEX_LEN + 1 bytes) the lower-case hex HMAC-SHA256,
 * keyed with SECRET, of TS "." BODY (LEN bytes).
 */
void
sign_hmac(const char *secret, const char *ts, const char *body, size_t len,
    char *hex)
{
	static const char	 digits[] = "0123456789abcdef";
	struct hmac_sha256_ctx	 ctx;
	uint8_t			 mac[SHA256_DIGEST_SIZE];
	size_t			 i;

	hmac_sha256_set_key(&ctx, strlen(secret), (const uint8_t *)secret);
	hmac_sha256_update(&ctx, strlen(ts), (const uint8_t *)ts);
	hmac_sha256_update(&ctx, 1, (const uint8_t *)".");
	hmac_sha256_update(&ctx, len, (const uint8_t *)body);
	hmac_sha256_digest(&ctx, sizeof(mac), mac);
	for (i = 0; i < sizeof(mac); i++) {
		hex[2 * i] = digits[mac[i] >> 4];
		hex[2 * i + 1] = digits[mac[i] & 15];
	}
	hex[SIGN_HEX_LEN] = '\0';
	explicit_bzero(&ctx, sizeof(ctx));
}
