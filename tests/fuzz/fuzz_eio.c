/*
 * fuzz_eio.c: libFuzzer harness for Engine.IO payload decoding: a polling
 * POST body split at 0x1e by eio_decode_payload() with its "b" + base64
 * binary packets, and frame_unbase64() on the raw input.
 */
#include "config.h"

#include <stdlib.h>

#include "notifier_fuzz.h"

/* Touch every byte of each packet so that ASan checks the bounds. */
static int
fuzz_eio_cb(void *arg, int binary, const char *p, size_t len)
{
	size_t	*sum = arg, i;

	for (i = 0; i < len; i++)
		*sum += (unsigned char)p[i] + binary;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*copy, *out;
	size_t	 sum = 0, outlen;

	/* An exact-size copy: reading past it is a report. */
	if ((copy = malloc(size + 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	eio_decode_payload(copy, size, fuzz_eio_cb, &sum);
	if (frame_unbase64(copy, size, &out, &outlen) == 0) {
		fuzz_eio_cb(&sum, 1, out, outlen);
		free(out);
	}
	free(copy);
	return 0;
}
