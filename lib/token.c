/*
 * token.c: device tokens. A token is 32 random bytes in base64url (43
 * characters); only its SHA-256 is stored. Tokens carry 256 bits of entropy,
 * so an unsalted hash is enough: nothing can be guessed from it.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include <nettle/base64.h>
#include <nettle/sha2.h>

#include "goip.h"

/*
 * Write a new token, NUL-terminated, to BUF (at least GOIP_TOKEN_LEN + 1
 * bytes). Returns 0, or -1 when the kernel gives no randomness.
 */
int
token_generate(char *buf, size_t bufsz)
{
	uint8_t		 raw[32];
	char		 b64[BASE64_ENCODE_RAW_LENGTH(32) + 1];
	size_t		 i, o = 0;
	ssize_t		 n;

	if (bufsz < GOIP_TOKEN_LEN + 1)
		return -1;
	do {
		n = getrandom(raw, sizeof(raw), 0);
	} while (n == -1 && errno == EINTR);
	if (n != (ssize_t)sizeof(raw))
		return -1;
	base64_encode_raw(b64, sizeof(raw), raw);
	b64[sizeof(b64) - 1] = '\0';
	for (i = 0; i < sizeof(b64) - 1 && o < GOIP_TOKEN_LEN; i++) {
		if (b64[i] == '=')
			break;
		buf[o++] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
	}
	buf[o] = '\0';
	explicit_bzero(raw, sizeof(raw));
	return 0;
}

/* SHA-256 of the LEN bytes of TOKEN into OUT. */
void
token_hash(const char *token, size_t len, uint8_t out[32])
{
	struct sha256_ctx	 ctx;

	sha256_init(&ctx);
	sha256_update(&ctx, len, (const uint8_t *)token);
	sha256_digest(&ctx, SHA256_DIGEST_SIZE, out);
}
