/*
 * eio_poll.c: the long-polling transport of Engine.IO v4. A GET is held
 * as the session's pending poll until packets are queued for it, then
 * answered with all of them, 0x1e-separated, binary ones as "b" + base64;
 * a POST carries the client's packets (eio_decode_payload()). The pending
 * poll is attached to its connection (server_attach()): a connection that
 * closes under it ends the session.
 *
 * Memory per client is bounded: a polling session's queue counts what
 * each packet costs (frame and list node as allocated, eio_poll_cost()),
 * up to NOTIFIER_OUT_MAX, and holds at most NOTIFIER_OUT_PKTS packets.
 * Packets queued on one turn of the event loop are answered together on
 * the next (the flush list).
 */
#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <http_parser.h>

#include "goip.h"
#include "notifier.h"
#include "eio_int.h"

/*
 * Sessions the client closed while no poll was pending. Its concurrent
 * poll, arriving just after, is answered with a noop like one that was
 * pending, instead of "Session ID unknown".
 */
#define EIO_POLL_LINGER_MAX	32
#define EIO_POLL_LINGER_MS	1000
static struct {
	char	 sid[NOTIFIER_SID_LEN + 1];
	int64_t	 at;
}					 eio_poll_linger[EIO_POLL_LINGER_MAX];
static int				 eio_poll_nlinger;

static TAILQ_HEAD(, eio)		 eio_poll_flushq =
    TAILQ_HEAD_INITIALIZER(eio_poll_flushq);
static struct event			*eio_poll_flush_ev;

static void	eio_poll_flush_cb(evutil_socket_t, short, void *);

/*
 * Take the pending poll off E to answer it: the session and the
 * connection let go of each other. Returns it, or NULL when none.
 */
static struct conn *
eio_poll_take(struct eio *e)
{
	struct conn	*c;

	if ((c = e->poll) == NULL)
		return NULL;
	e->poll = NULL;
	c->eio = NULL;
	server_release(c);
	return c;
}

/* Answer the pending poll of E, if any, with the single packet TEXT. */
void
eio_poll_answer(struct eio *e, const char *text)
{
	struct conn	*c;

	if ((c = eio_poll_take(e)) == NULL)
		return;
	http_reply(c, 200, "text/plain; charset=UTF-8", text, strlen(text),
	    NULL);
}

/*
 * The connection of a pending poll closed (server_detach()): the session
 * loses its transport and ends.
 */
static void
eio_poll_gone(struct conn *c)
{
	struct eio	*e;

	if ((e = c->eio) == NULL)
		return;
	c->eio = NULL;
	if (e->closed || c != e->poll)
		return;
	e->poll = NULL;
	eio_end(e, 0);
}

/* Was SID closed by its client a moment ago? Forgets it when so. */
static int
eio_poll_lingering(const char *sid)
{
	int64_t	now = main_now_ms();
	int	i;

	for (i = 0; i < EIO_POLL_LINGER_MAX; i++) {
		if (eio_poll_linger[i].at + EIO_POLL_LINGER_MS >= now &&
		    strcmp(eio_poll_linger[i].sid, sid) == 0) {
			eio_poll_linger[i].at = 0;
			eio_poll_linger[i].sid[0] = '\0';
			return 1;
		}
	}
	return 0;
}

static int
eio_poll_post_cb(void *arg, int binary, const char *p, size_t len)
{
	struct eio	*e = arg;

	if (e->closed)
		return 0;
	return eio_packet(e, binary, p, len);
}

/*
 * Serve one HTTP request of the long-polling transport (or a handshake)
 * on C: query parameters in QUERY, a POST body of LEN bytes in BODY.
 */
void
eio_poll_request(struct conn *c, int method, const char *query,
    const char *body, size_t len, enum eio_handler h)
{
	struct eio	*e;
	char		 sid[64], buf[256];
	int		 n, rc;

	if (eio_query(c, query, "polling", sid, sizeof(sid)) == -1)
		return;
	if (sid[0] == '\0') {
		if (method != HTTP_GET) {
			http_reply_error(c, 400, EIO_ERR_METHOD);
			return;
		}
		if ((e = eio_new(h, EIO_POLLING, http_addr(c))) == NULL) {
			http_reply(c, 503, "application/json",
			    LIT("{\"code\":3,\"message\":\"Bad request\"}"),
			    "Retry-After: 1\r\n");
			return;
		}
		n = eio_handshake_json(buf, sizeof(buf), e->sid, 1);
		http_reply(c, 200, "text/plain; charset=UTF-8", buf, n, NULL);
		eio_open(e);
		return;
	}
	/*
	 * A poll after the pong deadline finds the session gone even when the
	 * timer is late; a POST (which may carry the pong) is given the
	 * timer's slack.
	 */
	if ((e = eio_find(sid)) != NULL && method == HTTP_GET &&
	    eio_expired(e)) {
		eio_end(e, 0);
		e = NULL;
	}
	if (e == NULL) {
		if (method == HTTP_GET && eio_poll_lingering(sid)) {
			http_reply(c, 200, "text/plain; charset=UTF-8",
			    LIT("6"), NULL);
			return;
		}
		http_reply_error(c, 400, EIO_ERR_SESSION);
		return;
	}
	if (e->transport != EIO_POLLING) {
		http_reply_error(c, 400, EIO_ERR_REQUEST);
		return;
	}
	if (method == HTTP_GET) {
		if (e->poll != NULL) {
			/* Duplicate poll: the session ends. */
			http_reply_error(c, 400, EIO_ERR_REQUEST);
			eio_end(e, 0);
			return;
		}
		e->poll = c;
		c->eio = e;
		server_attach(c, eio_poll_gone);
		if (e->upgrading)
			eio_poll_answer(e, "6");
		else if (!TAILQ_EMPTY(&e->queue))
			eio_poll_flush_cb(-1, 0, e);
		return;
	}
	if (method != HTTP_POST) {
		http_reply_error(c, 400, EIO_ERR_REQUEST);
		return;
	}
	eio_hold(e);
	rc = eio_decode_payload(body, len, eio_poll_post_cb, e);
	if (rc == -1) {
		http_reply_error(c, 400, EIO_ERR_REQUEST);
		if (!e->closed)
			eio_end(e, 0);
	} else
		http_reply(c, 200, "text/html", LIT("ok"), NULL);
	eio_release(e);
}

/*
 * What queueing frame F costs a polling session: the frame (counted whole
 * even when shared) and the list node, as allocated.
 */
static size_t
eio_poll_cost(const struct frame *f)
{
	return frame_cost(f) + frame_alloc_cost(sizeof(struct eio_pkt));
}

/*
 * Queue frame F (with a reference) for the next poll of session E, and
 * have a pending poll answered on the next turn of the loop. A queue that
 * would cost more than NOTIFIER_OUT_MAX bytes (eio_poll_cost()) or hold
 * more than NOTIFIER_OUT_PKTS packets ends E as a slow client. Returns 0,
 * or -1 when E is (now) closed.
 */
int
eio_poll_queue(struct eio *e, struct frame *f)
{
	struct eio_pkt	*p;
	size_t		 cost = eio_poll_cost(f);

	if (e->npkts >= NOTIFIER_OUT_PKTS) {
		metrics.queue_overflows++;
		log_info("eio: %s: slow client disconnected: more than %d "
		    "packets queued", e->addr, NOTIFIER_OUT_PKTS);
		eio_end(e, 0);
		return -1;
	}
	if (e->queued + cost > NOTIFIER_OUT_MAX) {
		metrics.slow_disconnects++;
		log_info("eio: %s: slow client disconnected", e->addr);
		eio_end(e, 0);
		return -1;
	}
	if ((p = malloc(sizeof(*p))) == NULL) {
		eio_end(e, 0);
		return -1;
	}
	p->f = frame_ref(f);
	TAILQ_INSERT_TAIL(&e->queue, p, entry);
	e->queued += cost;
	e->npkts++;
	if (e->poll != NULL && !e->flushing) {
		if (eio_poll_flush_ev == NULL)
			eio_poll_flush_ev = event_new(notifier_base, -1, 0,
			    eio_poll_flush_cb, NULL);
		if (eio_poll_flush_ev == NULL) {
			eio_end(e, 0);
			return -1;
		}
		TAILQ_INSERT_TAIL(&eio_poll_flushq, e, fentry);
		e->flushing = 1;
		eio_hold(e);
		event_active(eio_poll_flush_ev, 0, 0);
	}
	return 0;
}

/*
 * Take the first packet off E's queue. Returns its frame, whose reference
 * the caller now owns, or NULL when the queue is empty.
 */
struct frame *
eio_poll_shift(struct eio *e)
{
	struct eio_pkt	*p;
	struct frame	*f;

	if ((p = TAILQ_FIRST(&e->queue)) == NULL)
		return NULL;
	TAILQ_REMOVE(&e->queue, p, entry);
	f = p->f;
	e->queued -= eio_poll_cost(f);
	e->npkts--;
	free(p);
	return f;
}

/* Answer the pending poll of one session with everything queued. */
static void
eio_poll_flush_one(struct eio *e)
{
	struct evbuffer	*b;
	struct frame	*f;
	struct conn	*c;
	int		 first = 1;

	if (e->closed || e->poll == NULL || TAILQ_EMPTY(&e->queue))
		return;
	if ((b = evbuffer_new()) == NULL) {
		eio_end(e, 0);
		return;
	}
	while ((f = eio_poll_shift(e)) != NULL) {
		if (!first)
			evbuffer_add(b, "\x1e", 1);
		first = 0;
		if (f->binary) {
			evbuffer_add(b, "b", 1);
			frame_base64(f->data, f->len, b);
		} else
			evbuffer_add(b, f->data, f->len);
		metrics.frames_out++;
		frame_unref(f);
	}
	c = eio_poll_take(e);
	http_reply_buffer(c, 200, "text/plain; charset=UTF-8", b, NULL);
	evbuffer_free(b);
}

/*
 * Flush the sessions queued for it, or (FD -1) the session ARG at once.
 */
static void
eio_poll_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct eio	*e;

	(void)what;
	if (fd == -1 && arg != NULL) {
		eio_poll_flush_one(arg);
		return;
	}
	while ((e = TAILQ_FIRST(&eio_poll_flushq)) != NULL) {
		TAILQ_REMOVE(&eio_poll_flushq, e, fentry);
		e->flushing = 0;
		eio_poll_flush_one(e);
		eio_release(e);
	}
}

/*
 * Take E off the flush list, dropping the hold that put it there without
 * freeing it: the caller (an upgrade, eio_end()) still uses it.
 */
void
eio_poll_unflush(struct eio *e)
{
	if (!e->flushing)
		return;
	TAILQ_REMOVE(&eio_poll_flushq, e, fentry);
	e->flushing = 0;
	e->inuse--;
}

/*
 * The polling side of ending session E: drop its queue and answer its
 * pending poll ("6" when the client asked to close, else "1"). A session
 * the client closed without a poll pending is remembered for a moment
 * (eio_poll_lingering()).
 */
void
eio_poll_end(struct eio *e, int byclient)
{
	struct frame	*f;
	struct conn	*c;

	eio_poll_unflush(e);
	while ((f = eio_poll_shift(e)) != NULL)
		frame_unref(f);
	if ((c = eio_poll_take(e)) != NULL)
		http_reply(c, 200, "text/plain; charset=UTF-8",
		    byclient ? "6" : "1", 1, NULL);
	else if (byclient && e->transport == EIO_POLLING) {
		memcpy(eio_poll_linger[eio_poll_nlinger].sid, e->sid,
		    sizeof(e->sid));
		eio_poll_linger[eio_poll_nlinger].at = main_now_ms();
		eio_poll_nlinger = (eio_poll_nlinger + 1) % EIO_POLL_LINGER_MAX;
	}
}
