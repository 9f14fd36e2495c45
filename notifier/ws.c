/*
 * ws.c: RFC 6455 WebSocket connections. wslay parses the client's frames
 * (masking, fragmentation, control frames, the closing handshake, the
 * message size limit); data frames from the server are written here. A
 * shared frame carries its own WebSocket header (frame.c), so a send is one
 * copy into the output, and consecutive messages pack into one chain.
 *
 * The output of a WebSocket is written here, not by its bufferevent: a
 * send marks the connection dirty; ws_flush_all(), called after a fan-out
 * and otherwise from an event made active by the first send, writes each
 * dirty connection once. Only when bytes are left over is the
 * bufferevent's EV_WRITE enabled, and it is disabled again once the output
 * drains (ws_written()). So a burst of events costs one write per client
 * and no epoll_ctl(), where the bufferevent alone made one write per event
 * and armed and disarmed EPOLLOUT around each.
 *
 * The frames of a fan-out are not even copied: ingest.c puts them in the
 * batch (ws_batch_add(), at most WS_BATCH_MAX), and a client whose output
 * is empty only gets a bit set per frame in its dirty entry; the flush
 * hands the shared frames to writev() and copies into the output only
 * what the socket did not take. Anything else sent to that client first
 * copies its pending frames into the output, so order is kept. The bytes
 * waiting in all outputs are counted so that ingest.c can stop reading
 * the log while clients fall behind.
 *
 * A wslay context costs about 9 kB, most of a connection: it is made when
 * a frame arrives and freed again once every byte handed to it belongs to
 * a complete frame of a complete message, so an idle connection holds
 * none.
 *
 * Just over 700 lines, but one concern: the WebSocket of a connection,
 * from the upgrade to the closing handshake. The connection itself is
 * server.c's: ws.c asks it to linger or close, never frees it.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/uio.h>

#include <errno.h>
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

#define WS_GUID		"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_COPY_MAX	4096	/* larger frames are added by reference */
#define WS_BATCH_MAX	64	/* frames of one batch (bits of a mask) */

/*
 * Kept small: an idle connection is mostly this and its bufferevent (56
 * bytes fill the 64-byte malloc chunk that 48 did).
 */
struct ws {
	wslay_event_context_ptr	 ctx;		/* NULL while idle */
	uint64_t		 fed;		/* bytes handed to ctx */
	uint64_t		 framed;	/* bytes of complete frames */
	uint64_t		 cur;		/* size of the frame being read */
	size_t			 counted;	/* our share of ws_nqueued */
	int			 in_frame;
	int			 in_msg;	/* fragmented message open */
	int			 closing;	/* close frame sent */
	int			 dirty;		/* index in ws_dirty + 1, or 0 */
};

/* A connection written to since the last flush. */
struct ws_dirty {
	struct conn		*c;		/* NULL: it went */
	uint64_t		 batch;		/* frames of ws_batch owed */
};

static struct ws_dirty	 *ws_dirty;
static size_t		  ws_ndirty;
static size_t		  ws_maxdirty;
static struct frame	 *ws_batch[WS_BATCH_MAX];
static int		  ws_nbatch;
static struct event	 *ws_flush_ev;
static size_t		  ws_nqueued;	/* bytes in all outputs, at most */

static ssize_t	ws_send_cb(wslay_event_context_ptr, const uint8_t *, size_t,
		    int, void *);
static struct ws_dirty *ws_dirty_add(struct conn *);
static int	ws_unbatch(struct conn *);
static void	ws_flush_cb(evutil_socket_t, short, void *);
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

/*
 * wslay writes a control frame (a pong answering the client's ping, a
 * close) into C's output. A client that sends pings but does not read is
 * held to NOTIFIER_OUT_MAX like any other output: past it the write fails
 * and ws_flush() closes C.
 */
static ssize_t
ws_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
    int flags, void *arg)
{
	struct conn	*c = arg;

	(void)flags;
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) >
	    NOTIFIER_OUT_MAX) {
		metrics.slow_disconnects++;
		log_info("ws: %s: slow client disconnected", c->addr);
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	if (ws_unbatch(c) == -1 ||
	    evbuffer_add(bufferevent_get_output(c->bev), data, len) == -1) {
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	ws_dirty_add(c);
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
		server_detach(c);
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
		server_close(c);
		return -1;
	}
	if (evbuffer_add_printf(out, "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n\r\n", accept) < 0) {
		server_close(c);
		return -1;
	}
	c->state = CONN_WS;
	c->busy = 0;
	bufferevent_set_timeouts(c->bev, NULL, NULL);
	/* From here on the output is written by ws_flush_all(). */
	bufferevent_disable(c->bev, EV_WRITE);
	ws_dirty_add(c);
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
		server_close(c);
		return;
	}
	if (!wslay_event_want_read(c->ws->ctx) &&
	    !wslay_event_want_write(c->ws->ctx)) {
		server_linger(c);
		return;
	}
	ws_ctx_idle(c);
}

/*
 * Input arrived on the WebSocket C (server.c): read the frames waiting,
 * handing each complete message to its Engine.IO session. A protocol
 * error closes C.
 */
void
ws_read(struct conn *c)
{
	if (c->ws == NULL)
		return;
	if (c->ws->ctx == NULL) {
		if (evbuffer_get_length(bufferevent_get_input(c->bev)) == 0)
			return;
		if (ws_ctx_new(c) == -1) {
			server_close(c);
			return;
		}
	}
	if (wslay_event_recv(c->ws->ctx) != 0) {
		server_close(c);
		return;
	}
	ws_flush(c);
}

/*
 * Append the bytes of F's wire form from OFF on to OUT: a copy, or for a
 * frame larger than WS_COPY_MAX a reference. Returns 0, or -1.
 */
static int
ws_append(struct evbuffer *out, struct frame *f, size_t off)
{
	const char	*wire = f->data - f->wslen;
	size_t		 n = f->wslen + f->len;

	if (n - off <= WS_COPY_MAX)
		return evbuffer_add(out, wire + off, n - off);
	if (evbuffer_add_reference(out, wire + off, n - off, frame_unref_cb,
	    frame_ref(f)) == -1) {
		frame_unref(f);
		return -1;
	}
	return 0;
}

/*
 * Copy the batch frames still owed to C into its output, so that
 * something else can follow them. Returns 0, or -1 when memory is short.
 */
static int
ws_unbatch(struct conn *c)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);
	struct ws_dirty	*d;
	uint64_t	 mask;
	int		 i;

	if (c->ws == NULL || c->ws->dirty == 0)
		return 0;
	d = &ws_dirty[c->ws->dirty - 1];
	mask = d->batch;
	d->batch = 0;
	for (i = 0; mask != 0; i++, mask >>= 1) {
		if ((mask & 1) && ws_append(out, ws_batch[i], 0) == -1)
			return -1;
	}
	return 0;
}

/*
 * Queue frame F on C, to be written by the next ws_flush_all(): a frame
 * of the batch is only noted when C's output is empty, anything else is
 * copied into the output (by reference above WS_COPY_MAX). A client
 * whose output already holds NOTIFIER_OUT_MAX bytes cannot keep up: it is
 * disconnected (it resumes from the event log). The output's bytes are
 * what it costs: small frames are packed into shared chains, and a frame
 * added by reference is larger than its chain. Returns 0, or -1 when C is
 * gone.
 */
int
ws_send(struct conn *c, struct frame *f)
{
	struct evbuffer	*out;
	struct ws_dirty	*d;

	if (c->dead || c->state != CONN_WS || c->ws == NULL ||
	    c->ws->closing || (c->ws->ctx != NULL &&
	    wslay_event_get_close_sent(c->ws->ctx)))
		return -1;
	out = bufferevent_get_output(c->bev);
	if (evbuffer_get_length(out) > NOTIFIER_OUT_MAX) {
		metrics.slow_disconnects++;
		log_info("ws: %s: slow client disconnected", c->addr);
		server_close(c);
		return -1;
	}
	if (f->batch >= 0 && f->batch < ws_nbatch &&
	    ws_batch[f->batch] == f && evbuffer_get_length(out) == 0 &&
	    !(bufferevent_get_enabled(c->bev) & EV_WRITE) &&
	    (d = ws_dirty_add(c)) != NULL) {
		d->batch |= (uint64_t)1 << f->batch;
		metrics.frames_out++;
		return 0;
	}
	if (ws_unbatch(c) == -1 || ws_append(out, f, 0) == -1) {
		server_close(c);
		return -1;
	}
	ws_dirty_add(c);
	metrics.frames_out++;
	return 0;
}

/*
 * Put frame F in the batch of the next flush (with a reference), so that
 * ws_send() can write it from where it is. When the batch is full, F is
 * sent by copies like any frame.
 */
void
ws_batch_add(struct frame *f)
{
	if (ws_nbatch == WS_BATCH_MAX || f->batch != -1)
		return;
	f->batch = ws_nbatch;
	ws_batch[ws_nbatch++] = frame_ref(f);
	if (ws_flush_ev != NULL)
		event_active(ws_flush_ev, EV_TIMEOUT, 0);
}

/*
 * Put C on the dirty list, once, and make sure a flush runs after the
 * current callback. Returns its entry, or NULL when memory is short (C's
 * bufferevent then writes instead).
 */
static struct ws_dirty *
ws_dirty_add(struct conn *c)
{
	struct ws_dirty	*nd;
	size_t		 n;

	if (c->ws == NULL)
		return NULL;
	if (c->ws->dirty != 0)
		return &ws_dirty[c->ws->dirty - 1];
	if (ws_flush_ev == NULL && (ws_flush_ev = event_new(notifier_base, -1,
	    0, ws_flush_cb, NULL)) == NULL)
		goto fallback;
	if (ws_ndirty == ws_maxdirty) {
		n = ws_maxdirty == 0 ? 64 : ws_maxdirty * 2;
		if ((nd = reallocarray(ws_dirty, n, sizeof(*nd))) == NULL)
			goto fallback;
		ws_dirty = nd;
		ws_maxdirty = n;
	}
	nd = &ws_dirty[ws_ndirty++];
	nd->c = c;
	nd->batch = 0;
	c->ws->dirty = ws_ndirty;
	if (ws_ndirty == 1)
		event_active(ws_flush_ev, EV_TIMEOUT, 0);
	return nd;
fallback:
	bufferevent_enable(c->bev, EV_WRITE);
	return NULL;
}

/* Count the bytes now in C's output in ws_nqueued. */
static void
ws_count(struct conn *c, size_t len)
{
	ws_nqueued -= c->ws->counted;
	c->ws->counted = len;
	ws_nqueued += len;
}

/*
 * Write what C is owed once, straight to its socket: the batch frames of
 * MASK from where they are, or else its output. What the socket does not
 * take stays in (or is copied to) the output and is left to the
 * bufferevent (EV_WRITE enabled until ws_written() sees the output
 * drained). A write error closes C.
 */
static void
ws_write(struct conn *c, uint64_t mask)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);
	struct iovec	 iov[WS_BATCH_MAX];
	struct frame	*f, *fr[WS_BATCH_MAX];
	ssize_t		 n = 0;
	size_t		 len;
	int		 i, niov = 0;

	if (c->dead || c->state != CONN_WS)
		return;		/* a lingering one is the bufferevent's */
	if (mask != 0) {
		/* The output is empty: ws_send() only notes frames then. */
		for (i = 0; i < ws_nbatch; i++) {
			if (!(mask & ((uint64_t)1 << i)))
				continue;
			f = fr[niov] = ws_batch[i];
			iov[niov].iov_base = f->data - f->wslen;
			iov[niov++].iov_len = f->wslen + f->len;
		}
		n = writev(bufferevent_getfd(c->bev), iov, niov);
	} else if (evbuffer_get_length(out) > 0 &&
	    !(bufferevent_get_enabled(c->bev) & EV_WRITE)) {
		/* The bufferevent keeps its output frozen but while it writes. */
		evbuffer_unfreeze(out, 1);
		n = evbuffer_write(out, bufferevent_getfd(c->bev));
		evbuffer_freeze(out, 1);
	}
	if (n == -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			log_debug("ws: %s: write: %s", c->addr,
			    strerror(errno));
			server_close(c);
			return;
		}
		n = 0;
	}
	/* Copy what writev() left of the frames into the output. */
	for (i = 0; i < niov; i++) {
		len = iov[i].iov_len;
		if ((size_t)n >= len) {
			n -= len;
			continue;
		}
		if (ws_append(out, fr[i], n) == -1) {
			server_close(c);
			return;
		}
		n = 0;
	}
	if (evbuffer_get_length(out) > 0 &&
	    !(bufferevent_get_enabled(c->bev) & EV_WRITE))
		bufferevent_enable(c->bev, EV_WRITE);
	ws_count(c, evbuffer_get_length(out));
}

/*
 * Write every dirty connection once (in the order they became dirty),
 * empty the list and release the batch. Connections closed meanwhile left
 * the list already.
 */
void
ws_flush_all(void)
{
	struct conn	*c;
	uint64_t	 mask;
	size_t		 i;
	int		 j;

	for (i = 0; i < ws_ndirty; i++) {
		if ((c = ws_dirty[i].c) == NULL)
			continue;
		mask = ws_dirty[i].batch;
		ws_dirty[i].c = NULL;
		c->ws->dirty = 0;
		ws_write(c, mask);
	}
	ws_ndirty = 0;
	for (j = 0; j < ws_nbatch; j++) {
		ws_batch[j]->batch = -1;
		frame_unref(ws_batch[j]);
	}
	ws_nbatch = 0;
}

static void
ws_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	ws_flush_all();
}

/*
 * The bufferevent wrote (part of) C's output. Once it is drained, stop
 * the bufferevent writing: the next send goes through ws_flush_all().
 */
void
ws_written(struct conn *c)
{
	size_t	len;

	if (c->ws == NULL || c->state != CONN_WS)
		return;
	len = evbuffer_get_length(bufferevent_get_output(c->bev));
	ws_count(c, len);
	if (len == 0)
		bufferevent_disable(c->bev, EV_WRITE);
}

/*
 * Bytes waiting in the outputs of all WebSockets, as last seen: after a
 * flush, or drained. An over-estimate between writes of the bufferevent.
 */
size_t
ws_queued(void)
{
	return ws_nqueued;
}

/* Bytes waiting in C's output (frames of the pending batch not counted). */
size_t
ws_conn_queued(struct conn *c)
{
	if (c->dead || c->bev == NULL)
		return 0;
	return evbuffer_get_length(bufferevent_get_output(c->bev));
}

/*
 * Start the closing handshake with CODE; C lingers (server_linger():
 * detached from its session) and is freed once it is flushed.
 */
void
ws_close(struct conn *c, int code)
{
	if (c->dead || c->ws == NULL)
		return;
	if (ws_unbatch(c) == -1) {
		server_close(c);
		return;
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
	server_linger(c);
}

/* Free the WebSocket state of C, if any. */
void
ws_free(struct conn *c)
{
	if (c->ws == NULL)
		return;
	if (c->ws->dirty != 0)
		ws_dirty[c->ws->dirty - 1].c = NULL;
	ws_nqueued -= c->ws->counted;
	if (c->ws->ctx != NULL)
		wslay_event_context_free(c->ws->ctx);
	free(c->ws);
	c->ws = NULL;
}

/* Free the flush event and list (shutdown, once every connection went). */
void
ws_shutdown(void)
{
	if (ws_flush_ev != NULL) {
		event_free(ws_flush_ev);
		ws_flush_ev = NULL;
	}
	free(ws_dirty);
	ws_dirty = NULL;
	ws_ndirty = ws_maxdirty = 0;
}
