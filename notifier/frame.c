/*
 * frame.c: refcounted serialized packets, each with the header of its
 * WebSocket frame in front so that a WebSocket send is one copy, and the
 * base64 used by the long-polling transport for binary packets.
 */
#include "config.h"

#include <assert.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <nettle/base64.h>

#include "goip.h"
#include "notifier.h"

/* The header bytes must run straight into the payload. */
static_assert(offsetof(struct frame, data) ==
    offsetof(struct frame, ws) + sizeof(((struct frame *)0)->ws),
    "struct frame: padding between ws and data");

/*
 * Write the WebSocket header of F (a final text or binary frame of f->len
 * bytes) at the end of f->ws.
 */
static void
frame_ws_header(struct frame *f)
{
	unsigned char	hdr[10];

	/* Opcodes of RFC 6455: 1 text, 2 binary. */
	f->wslen = ws_frame_header(hdr, f->binary ? 2 : 1, f->len);
	memcpy(f->ws + sizeof(f->ws) - f->wslen, hdr, f->wslen);
}

/*
 * Return a new frame holding a copy of LEN bytes of DATA, with one
 * reference, or NULL when out of memory.
 */
struct frame *
frame_new(int binary, const void *data, size_t len)
{
	struct frame	*f;

	if ((f = malloc(sizeof(*f) + len + 1)) == NULL)
		return NULL;
	f->refcnt = 1;
	f->binary = binary;
	f->batch = -1;
	f->event_id = 0;
	f->len = len;
	if (len > 0)
		memcpy(f->data, data, len);
	f->data[len] = '\0';
	frame_ws_header(f);
	return f;
}

/* Return a new text frame formatted as by printf, or NULL. */
struct frame *
frame_printf(const char *fmt, ...)
{
	struct frame	*f;
	va_list		 ap;
	int		 n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (f = malloc(sizeof(*f) + n + 1)) == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(f->data, n + 1, fmt, ap);
	va_end(ap);
	f->refcnt = 1;
	f->binary = 0;
	f->batch = -1;
	f->event_id = 0;
	f->len = n;
	frame_ws_header(f);
	return f;
}

/*
 * The bytes an allocation of N bytes takes from the heap: glibc's malloc
 * adds an 8-byte header and rounds the chunk up to 16 bytes, 32 at least.
 * An estimate for bounds, not a promise about any allocator.
 */
size_t
frame_alloc_cost(size_t n)
{
	size_t	chunk = (n + 8 + 15) & ~(size_t)15;

	return chunk < 32 ? 32 : chunk;
}

/*
 * What frame F costs while it is held: its header, payload and
 * terminating NUL as allocated, not only its payload. A frame shared by
 * several receivers is counted whole for each of them.
 */
size_t
frame_cost(const struct frame *f)
{
	return frame_alloc_cost(sizeof(*f) + f->len + 1);
}

struct frame *
frame_ref(struct frame *f)
{
	f->refcnt++;
	return f;
}

/* Drop one reference; the last one frees the frame. NULL is a no-op. */
void
frame_unref(struct frame *f)
{
	if (f == NULL)
		return;
	if (--f->refcnt == 0)
		free(f);
}

/* evbuffer_add_reference() cleanup: drop the reference the buffer held. */
void
frame_unref_cb(const void *data, size_t len, void *arg)
{
	(void)data;
	(void)len;
	frame_unref(arg);
}

/* Append the base64 of LEN bytes of DATA to OUT. Returns 0, or -1. */
int
frame_base64(const void *data, size_t len, struct evbuffer *out)
{
	char	*b;
	size_t	 n = BASE64_ENCODE_RAW_LENGTH(len);
	int	 rc;

	if ((b = malloc(n + 1)) == NULL)
		return -1;
	base64_encode_raw(b, len, data);
	rc = evbuffer_add(out, b, n);
	free(b);
	return rc;
}

/*
 * Decode LEN base64 characters of IN into a new buffer returned in *OUT
 * (caller frees) with its length in *OUTLEN. Returns 0, or -1 when the
 * input is not base64 or memory is short.
 */
int
frame_unbase64(const char *in, size_t len, char **out, size_t *outlen)
{
	struct base64_decode_ctx	 ctx;
	uint8_t				*b;
	size_t				 n;

	*out = NULL;
	if ((b = malloc(BASE64_DECODE_LENGTH(len) + 1)) == NULL)
		return -1;
	base64_decode_init(&ctx);
	n = BASE64_DECODE_LENGTH(len);
	if (!base64_decode_update(&ctx, &n, b, len, in) ||
	    !base64_decode_final(&ctx)) {
		free(b);
		return -1;
	}
	*out = (char *)b;
	*outlen = n;
	return 0;
}
