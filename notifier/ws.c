/*
 * ws.c: RFC 6455 WebSocket connections. wslay parses the client's frames
 * (masking, fragmentation, control frames, the closing handshake, the
 * message size limit); data frames from the server are written here, with
 * the payload of a shared frame added to the output by reference so that a
 * packet sent to many clients is serialized once.
 *
 * A wslay context costs about 9 kB, most of a connection: it is made when
 * a frame arrives and freed again once every byte handed to it belongs to
 * a complete frame of a complete message, so an idle connection holds
 * none.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <nettle/base64.h>
#include <nettle/sha1.h>
#include <wslay/wslay.h>

#include "goip.h"
#include "notifier.h"

#define WS_GUID	"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

struct ws {
	wslay_event_context_ptr	 ctx;		/* NULL while idle */
	uint64_t		 fed;		/* bytes handed to ctx */
	uint64_t		 framed;	/* bytes of complete frames */
	uint64_t		 cur;		/* size of the frame being read */
	int			 in_frame;
	int			 in_msg;	/* fragmented message open */
	int			 closing;	/* close frame sent */
};

static ssize_t	ws_send_cb(wslay_event_context_ptr, const uint8_t *, size_t,
		    int, void *);
static void	ws_msg_cb(wslay_event_context_ptr,
		    const struct wslay_event_on_msg_recv_arg *, void *);

/*
 * Compute the Sec-WebSocket-Accept value of the client's KEY into OUT (at
 * least 29 bytes). Returns 0, or -1 when the key is not the base64 of 16
 * bytes or OUT is too small.
 */
int
ws_accept_key(const char *key, char *out, size_t outsz)
{
	struct sha1_ctx	 ctx;
	uint8_t		 digest[SHA1_DIGEST_SIZE];
	char		*raw;
	size_t		 rawlen;

	if (outsz < BASE64_ENCODE_RAW_LENGTH(SHA1_DIGEST_SIZE) + 1 ||
	    strlen(key) != 24 ||
	    frame_unbase64(key, 24, &raw, &rawlen) == -1)
		return -1;
	free(raw);
	if (rawlen != 16)
		return -1;
	sha1_init(&ctx);
	sha1_update(&ctx, strlen(key), (const uint8_t *)key);
	sha1_update(&ctx, sizeof(WS_GUID) - 1, (const uint8_t *)WS_GUID);
	sha1_digest(&ctx, sizeof(digest), digest);
	base64_encode_raw(out, sizeof(digest), digest);
	out[BASE64_ENCODE_RAW_LENGTH(SHA1_DIGEST_SIZE)] = '\0';
	return 0;
}

/*
 * Write the header of an unmasked, final frame with OPCODE and LEN bytes
 * of payload into HDR (at least 10 bytes); returns its length.
 */
size_t
ws_frame_header(unsigned char *hdr, int opcode, size_t len)
{
	int	i;

	hdr[0] = 0x80 | (opcode & 0x0f);
	if (len < 126) {
		hdr[1] = (unsigned char)len;
		return 2;
	}
	if (len < 65536) {
		hdr[1] = 126;
		hdr[2] = (len >> 8) & 0xff;
		hdr[3] = len & 0xff;
		return 4;
	}
	hdr[1] = 127;
	for (i = 0; i < 8; i++)
		hdr[2 + i] = ((uint64_t)len >> (56 - 8 * i)) & 0xff;
	return 10;
}

static ssize_t
ws_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
    void *arg)
{
	struct conn	*c = arg;
	int		 n;

	(void)flags;
	n = evbuffer_remove(bufferevent_get_input(c->bev), buf, len);
	if (n <= 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	c->ws->fed += n;
	return n;
}

static void
ws_frame_start_cb(wslay_event_context_ptr ctx,
    const struct wslay_event_on_frame_recv_start_arg *arg, void *user)
{
	struct conn	*c = user;
	uint64_t	 len = arg->payload_length;

	(void)ctx;
	/* A client frame is masked: header, extended length, mask key. */
	c->ws->cur = 2 + (len < 126 ? 0 : len < 65536 ? 2 : 8) + 4 + len;
	c->ws->in_frame = 1;
	if (!wslay_is_ctrl_frame(arg->opcode))
		c->ws->in_msg = !arg->fin;
}

static void
ws_frame_end_cb(wslay_event_context_ptr ctx, void *user)
{
	struct conn	*c = user;

	(void)ctx;
	c->ws->in_frame = 0;
	c->ws->framed += c->ws->cur;
}

/* Make the wslay context of C. Returns 0, or -1. */
static int
ws_ctx_new(struct conn *c)
{
	struct wslay_event_callbacks	cb;

	memset(&cb, 0, sizeof(cb));
	cb.recv_callback = ws_recv_cb;
	cb.send_callback = ws_send_cb;
	cb.on_msg_recv_callback = ws_msg_cb;
	cb.on_frame_recv_start_callback = ws_frame_start_cb;
	cb.on_frame_recv_end_callback = ws_frame_end_cb;
	if (wslay_event_context_server_init(&c->ws->ctx, &cb, c) != 0) {
		c->ws->ctx = NULL;
		return -1;
	}
	wslay_event_config_set_max_recv_msg_length(c->ws->ctx,
	    nconf.max_payload);
	c->ws->fed = c->ws->framed = c->ws->cur = 0;
	c->ws->in_frame = c->ws->in_msg = 0;
	return 0;
}

/*
 * Free the wslay context of C when it holds no state: no partial frame or
 * message, no byte read ahead, nothing queued, no closing handshake.
 */
static void
ws_ctx_idle(struct conn *c)
{
	struct ws	*w = c->ws;

	if (w->ctx == NULL || w->in_frame || w->in_msg || w->fed != w->framed ||
	    evbuffer_get_length(bufferevent_get_input(c->bev)) > 0 ||
	    wslay_event_get_queued_msg_count(w->ctx) > 0 ||
	    wslay_event_get_close_sent(w->ctx) ||
	    wslay_event_get_close_received(w->ctx) ||
	    !wslay_event_want_read(w->ctx))
		return;
	wslay_event_context_free(w->ctx);
	w->ctx = NULL;
}

static ssize_t
ws_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
    int flags, void *arg)
{
	struct conn	*c = arg;

	(void)flags;
	if (evbuffer_add(bufferevent_get_output(c->bev), data, len) == -1) {
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	return len;
}

static void
ws_msg_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg
    *arg, void *user)
{
	struct conn	*c = user;

	(void)ctx;
	if (c->dead || c->state != CONN_WS)
		return;
	if (arg->opcode == WSLAY_TEXT_FRAME ||
	    arg->opcode == WSLAY_BINARY_FRAME) {
		if (c->eio == NULL)
			return;
		if (arg->opcode == WSLAY_TEXT_FRAME &&
		    !util_utf8_valid((const char *)arg->msg,
		    arg->msg_length)) {
			ws_close(c, 1007);
			return;
		}
		if (eio_ws_message(c->eio, c,
		    arg->opcode == WSLAY_BINARY_FRAME,
		    (const char *)arg->msg, arg->msg_length) == -1 &&
		    !c->dead && c->state == CONN_WS)
			ws_close(c, 1002);
	} else if (arg->opcode == WSLAY_CONNECTION_CLOSE) {
		/* wslay answers the close; the session loses its transport. */
		if (c->eio != NULL) {
			struct eio *e = c->eio;

			c->eio = NULL;
			eio_conn_gone(e, c);
		}
	}
}

/*
 * Complete the opening handshake of the upgrade request on C with the
 * client's KEY and switch the connection to WebSocket frames. Returns 0, or
 * -1 after answering 400 (bad key or version) or closing C.
 */
int
ws_upgrade(struct conn *c, const char *key, const char *version)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);
	char		 accept[32];

	if (strcmp(version, "13") != 0 ||
	    ws_accept_key(key, accept, sizeof(accept)) == -1) {
		c->keepalive = 0;
		http_reply(c, 400, "text/plain", "", 0,
		    "Sec-WebSocket-Version: 13\r\n");
		return -1;
	}
	if ((c->ws = calloc(1, sizeof(*c->ws))) == NULL) {
		http_close(c);
		return -1;
	}
	if (evbuffer_add_printf(out, "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n\r\n", accept) < 0) {
		http_close(c);
		return -1;
	}
	c->state = CONN_WS;
	c->busy = 0;
	bufferevent_set_timeouts(c->bev, NULL, NULL);
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
		bufferevent_trigger(c->bev, EV_READ,
		    BEV_TRIG_DEFER_CALLBACKS | BEV_TRIG_IGNORE_WATERMARKS);
	return 0;
}

/* Flush wslay's queued control frames; close C when both sides closed. */
static void
ws_flush(struct conn *c)
{
	if (c->dead || c->ws == NULL || c->ws->ctx == NULL)
		return;
	if (wslay_event_send(c->ws->ctx) != 0) {
		http_close(c);
		return;
	}
	if (!wslay_event_want_read(c->ws->ctx) &&
	    !wslay_event_want_write(c->ws->ctx)) {
		if (c->eio != NULL) {
			struct eio *e = c->eio;

			c->eio = NULL;
			eio_conn_gone(e, c);
		}
		if (!c->dead)
			http_linger(c);
		return;
	}
	ws_ctx_idle(c);
}

/*
 * Read the frames waiting on C, handing each complete message to its
 * Engine.IO session. Returns 0, or -1 when C was closed.
 */
int
ws_read(struct conn *c)
{
	if (c->ws == NULL)
		return -1;
	if (c->ws->ctx == NULL) {
		if (evbuffer_get_length(bufferevent_get_input(c->bev)) == 0)
			return 0;
		if (ws_ctx_new(c) == -1) {
			http_close(c);
			return -1;
		}
	}
	if (wslay_event_recv(c->ws->ctx) != 0) {
		http_close(c);
		return -1;
	}
	ws_flush(c);
	return c->dead ? -1 : 0;
}

/* How many bytes wait in C's output. */
size_t
ws_pending(struct conn *c)
{
	return evbuffer_get_length(bufferevent_get_output(c->bev));
}

/*
 * Send frame F on C, sharing its bytes. A client whose output already
 * holds NOTIFIER_OUT_MAX bytes cannot keep up: it is disconnected (it
 * resumes from the event log). Returns 0, or -1 when C is gone.
 */
int
ws_send(struct conn *c, struct frame *f)
{
	struct evbuffer	*out;
	unsigned char	 hdr[10];
	size_t		 n;

	if (c->dead || c->state != CONN_WS || c->ws == NULL ||
	    c->ws->closing || (c->ws->ctx != NULL &&
	    wslay_event_get_close_sent(c->ws->ctx)))
		return -1;
	out = bufferevent_get_output(c->bev);
	if (evbuffer_get_length(out) > NOTIFIER_OUT_MAX) {
		metrics.slow_disconnects++;
		log_info("ws: %s: slow client disconnected", c->addr);
		http_close(c);
		return -1;
	}
	n = ws_frame_header(hdr, f->binary ? WSLAY_BINARY_FRAME :
	    WSLAY_TEXT_FRAME, f->len);
	if (evbuffer_add(out, hdr, n) == -1 ||
	    evbuffer_add_reference(out, f->data, f->len, frame_unref_cb,
	    frame_ref(f)) == -1) {
		http_close(c);
		return -1;
	}
	metrics.frames_out++;
	return 0;
}

/* Start the closing handshake with CODE; C is freed once it is flushed. */
void
ws_close(struct conn *c, int code)
{
	if (c->dead || c->ws == NULL)
		return;
	if (c->eio != NULL) {
		struct eio *e = c->eio;

		c->eio = NULL;
		eio_conn_gone(e, c);
	}
	if (c->ws->ctx != NULL) {
		if (!wslay_event_get_close_sent(c->ws->ctx)) {
			wslay_event_queue_close(c->ws->ctx, code, NULL, 0);
			wslay_event_send(c->ws->ctx);
		}
	} else if (!c->ws->closing) {
		unsigned char	f[4];

		/* No context: write the close frame ourselves. */
		f[0] = 0x80 | WSLAY_CONNECTION_CLOSE;
		f[1] = 2;
		f[2] = (code >> 8) & 0xff;
		f[3] = code & 0xff;
		evbuffer_add(bufferevent_get_output(c->bev), f, sizeof(f));
	}
	c->ws->closing = 1;
	if (!c->dead)
		http_linger(c);
}

/* Free the WebSocket state of C, if any. */
void
ws_free(struct conn *c)
{
	if (c->ws == NULL)
		return;
	if (c->ws->ctx != NULL)
		wslay_event_context_free(c->ws->ctx);
	free(c->ws);
	c->ws = NULL;
}
