/*
 * eio.c: Engine.IO protocol v4 sessions and packets. A session has a random
 * id and one transport: HTTP long-polling (eio_poll.c) or a WebSocket
 * (eio_ws.c), to which a polling session may upgrade. This file keeps the
 * sessions by id, decodes the client's packets and hands messages to the
 * session's handler (Socket.IO, or the compliance echo), sends through the
 * transport, and pings: the server pings every pingInterval and closes a
 * session whose pong does not arrive within pingTimeout.
 *
 * Pings are driven by one timer for all sessions, not one per session (a
 * libevent timer costs about 130 bytes, a good part of an idle
 * connection): every session waits on one of two queues, for its next ping
 * or for its pong. Since pingInterval and pingTimeout are the same for all,
 * appending keeps each queue in deadline order, and the timer only looks at
 * their heads.
 *
 * Memory per client is bounded: a polling session's queue by
 * eio_poll_queue(), a WebSocket's output by ws_send(); a pong that would
 * follow an identical pong still waiting to be written is not queued
 * again (a client's pings answered while it does not read cost one pong,
 * on either transport); and max_per_address bounds the sessions of one
 * client address.
 */
#include "config.h"

#include <sys/tree.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "goip.h"
#include "notifier.h"
#include "eio_int.h"

#ifndef __unused
#define __unused __attribute__((__unused__))
#endif

/* The sessions of one client address, for max_per_address. */
struct eio_addr {
	RB_ENTRY(eio_addr)	 entry;
	int64_t			 n;
	char			 addr[64];
};


RB_HEAD(eio_tree, eio);

static int
eio_cmp(struct eio *a, struct eio *b)
{
	return strcmp(a->sid, b->sid);
}

RB_GENERATE_STATIC(eio_tree, eio, entry, eio_cmp);

RB_HEAD(eio_addr_tree, eio_addr);

static int
eio_addr_cmp(struct eio_addr *a, struct eio_addr *b)
{
	return strcmp(a->addr, b->addr);
}

RB_GENERATE_STATIC(eio_addr_tree, eio_addr, entry, eio_addr_cmp);

static struct eio_tree			 eio_sessions =
    RB_INITIALIZER(&eio_sessions);
static TAILQ_HEAD(, eio)		 eio_pingq =
    TAILQ_HEAD_INITIALIZER(eio_pingq);
static TAILQ_HEAD(, eio)		 eio_pongq =
    TAILQ_HEAD_INITIALIZER(eio_pongq);
static struct event			*eio_ping_ev;	/* for both queues */
static int64_t				 eio_nsessions;
static struct eio_addr_tree		 eio_addrs =
    RB_INITIALIZER(&eio_addrs);

static void	eio_ping_cb(evutil_socket_t, short, void *);

/*
 * Write the handshake packet ("0" + JSON) of session SID into BUF.
 * Returns its length, or -1 when BUF is too small.
 */
int
eio_handshake_json(char *buf, size_t bufsz, const char *sid, int upgrades)
{
	int	n;

	n = snprintf(buf, bufsz, "0{\"sid\":\"%s\",\"upgrades\":[%s],"
	    "\"pingInterval\":%lld,\"pingTimeout\":%lld,\"maxPayload\":%lld}",
	    sid, upgrades ? "\"websocket\"" : "",
	    (long long)nconf.ping_interval, (long long)nconf.ping_timeout,
	    (long long)nconf.max_payload);
	if (n < 0 || (size_t)n >= bufsz)
		return -1;
	return n;
}

/*
 * Split a long-polling payload of LEN bytes at the 0x1e separators and
 * call CB(ARG, binary, data, len) for each packet, binary ones ("b" +
 * base64) decoded. Returns 0, or -1 for an empty payload (P may then be
 * NULL), at the first empty or undecodable packet, or when CB returns -1.
 */
int
eio_decode_payload(const char *p, size_t len,
    int (*cb)(void *, int, const char *, size_t), void *arg)
{
	const char	*end, *sep;
	char		*bin;
	size_t		 n, binlen;
	int		 rc;

	if (p == NULL || len == 0)
		return -1;	/* a POST without a body: no pointer at all */
	end = p + len;
	while (p <= end) {
		sep = memchr(p, 0x1e, end - p);
		n = (sep != NULL ? sep : end) - p;
		if (n == 0)
			return -1;
		if (p[0] == 'b') {
			if (frame_unbase64(p + 1, n - 1, &bin, &binlen) == -1)
				return -1;
			rc = cb(arg, 1, bin, binlen);
			free(bin);
		} else
			rc = cb(arg, 0, p, n);
		if (rc == -1)
			return -1;
		if (sep == NULL)
			break;
		p = sep + 1;
	}
	return 0;
}

void
eio_hold(struct eio *e)
{
	e->inuse++;
}

/*
 * Drop one hold on E; the last one of a closed session frees it and its
 * Socket.IO state, which therefore stays valid while a caller holds E.
 */
void
eio_release(struct eio *e)
{
	if (--e->inuse > 0 || !e->closed)
		return;
	sio_free(e->sio);
	free(e);
}

/* Arm the ping timer for the earlier of the two queues' heads. */
static void
eio_ping_arm(void)
{
	struct timeval	 tv;
	struct eio	*e;
	int64_t		 at = -1, ms;

	if ((e = TAILQ_FIRST(&eio_pingq)) != NULL)
		at = e->ping_due;
	if ((e = TAILQ_FIRST(&eio_pongq)) != NULL &&
	    (at == -1 || e->deadline < at))
		at = e->deadline;
	if (at == -1) {
		evtimer_del(eio_ping_ev);
		return;
	}
	if ((ms = at - util_mono_ms()) < 0)
		ms = 0;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(eio_ping_ev, &tv);
}

/* Take E off its ping queue. */
static void
eio_ping_unlink(struct eio *e)
{
	if (e->ping_due == 0)
		return;
	if (e->awaiting_pong)
		TAILQ_REMOVE(&eio_pongq, e, pentry);
	else
		TAILQ_REMOVE(&eio_pingq, e, pentry);
	e->ping_due = 0;
	e->awaiting_pong = 0;
}

/*
 * Schedule the next ping of E pingInterval from now. The timer is only
 * re-armed when E is alone: anyone ahead of it is due earlier.
 */
static void
eio_ping_schedule(struct eio *e)
{
	if (e->closed)
		return;
	eio_ping_unlink(e);
	e->ping_due = util_mono_ms() + nconf.ping_interval;
	TAILQ_INSERT_TAIL(&eio_pingq, e, pentry);
	if (TAILQ_FIRST(&eio_pingq) == e || !evtimer_pending(eio_ping_ev, NULL))
		eio_ping_arm();
}

/*
 * Has E's pong deadline passed, counted from when the ping was due? A
 * poll that arrives after it must not find the session alive, however late
 * the timer runs (the timer itself, like Node's, allows pingTimeout from
 * when it sent the ping).
 */
int
eio_expired(struct eio *e)
{
	return util_mono_ms() >= e->ping_due + nconf.ping_timeout;
}

/*
 * Count one more session of client address ADDR. Returns its entry (the
 * session keeps it), or NULL when max_per_address sessions of ADDR exist
 * already or memory is short. Without a cap nothing is counted: NULL is
 * returned with *OK set.
 */
static struct eio_addr *
eio_addr_take(const char *addr, int *ok)
{
	struct eio_addr	 key, *ea;

	*ok = 1;
	if (nconf.max_per_address <= 0)
		return NULL;
	*ok = 0;
	if (strlcpy(key.addr, addr, sizeof(key.addr)) >= sizeof(key.addr))
		return NULL;
	if ((ea = RB_FIND(eio_addr_tree, &eio_addrs, &key)) != NULL) {
		if (ea->n >= nconf.max_per_address) {
			log_info("eio: %s: more than %lld sessions from this "
			    "address", addr, (long long)nconf.max_per_address);
			return NULL;
		}
	} else {
		if ((ea = calloc(1, sizeof(*ea))) == NULL)
			return NULL;
		memcpy(ea->addr, key.addr, sizeof(ea->addr));
		RB_INSERT(eio_addr_tree, &eio_addrs, ea);
	}
	ea->n++;
	*ok = 1;
	return ea;
}

/* A session of EA ended; the last one frees EA. NULL is a no-op. */
static void
eio_addr_put(struct eio_addr *ea)
{
	if (ea == NULL || --ea->n > 0)
		return;
	RB_REMOVE(eio_addr_tree, &eio_addrs, ea);
	free(ea);
}

/*
 * Make a session of handler H on transport T for client address ADDR.
 * Returns it with one hold, or NULL when a limit (max_connections
 * sessions in all, max_per_address of ADDR) is reached or memory is short.
 */
struct eio *
eio_new(enum eio_handler h, enum eio_transport t, const char *addr)
{
	struct eio	*e;
	struct eio_addr	*ea;
	int		 ok;

	/* Sessions outlive connections: bound them by the same cap. */
	if (nconf.max_connections > 0 &&
	    eio_nsessions >= nconf.max_connections) {
		metrics.rejected++;
		return NULL;
	}
	if (eio_ping_ev == NULL && (eio_ping_ev = evtimer_new(notifier_base,
	    eio_ping_cb, NULL)) == NULL)
		return NULL;
	if ((ea = eio_addr_take(addr, &ok)) == NULL && !ok) {
		metrics.rejected++;
		return NULL;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		eio_addr_put(ea);
		return NULL;
	}
	e->ea = ea;
	do {
		main_random_id(e->sid, sizeof(e->sid));
	} while (RB_INSERT(eio_tree, &eio_sessions, e) != NULL);
	e->handler = h;
	e->transport = t;
	e->inuse = 1;
	eio_nsessions++;
	TAILQ_INIT(&e->queue);
	strlcpy(e->addr, addr, sizeof(e->addr));
	if (t == EIO_POLLING)
		metrics.sessions_polling++;
	else
		metrics.sessions_websocket++;
	return e;
}

/* Attach the upper layer once the handshake is sent. */
int
eio_open(struct eio *e)
{
	eio_ping_schedule(e);
	if (e->handler == EIO_SIO && (e->sio = sio_new(e)) == NULL) {
		eio_end(e, 0);
		return -1;
	}
	return 0;
}

struct eio *
eio_find(const char *sid)
{
	struct eio	key;

	if (strlen(sid) != NOTIFIER_SID_LEN)
		return NULL;
	memcpy(key.sid, sid, sizeof(key.sid));
	return RB_FIND(eio_tree, &eio_sessions, &key);
}

const char *
eio_sid(struct eio *e)
{
	return e->sid;
}

const char *
eio_addr(struct eio *e)
{
	return e->addr;
}

/* Check the EIO and transport query parameters; answer errors on C. */
int
eio_query(struct conn *c, const char *query, const char *want, char *sid,
    size_t sidsz)
{
	char	buf[32];

	if (http_query_get(query, "EIO", buf, sizeof(buf)) != 1 ||
	    strcmp(buf, "4") != 0) {
		http_reply_error(c, 400, EIO_ERR_VERSION);
		return -1;
	}
	if (http_query_get(query, "transport", buf, sizeof(buf)) != 1 ||
	    (strcmp(buf, "polling") != 0 && strcmp(buf, "websocket") != 0)) {
		http_reply_error(c, 400, EIO_ERR_TRANSPORT);
		return -1;
	}
	if (strcmp(buf, want) != 0) {
		http_reply_error(c, 400, EIO_ERR_REQUEST);
		return -1;
	}
	switch (http_query_get(query, "sid", sid, sidsz)) {
	case 0:
		sid[0] = '\0';
		break;
	case 1:
		break;
	default:
		http_reply_error(c, 400, EIO_ERR_SESSION);
		return -1;
	}
	return 0;
}

/* Hand a message to the session's handler. */
static int
eio_message(struct eio *e, int binary, const char *p, size_t len)
{
	struct frame	*f;
	int		 rc;

	if (e->handler == EIO_ECHO) {
		if (binary)
			f = frame_new(1, p, len);
		else
			f = frame_printf("4%.*s", (int)len, p);
		if (f == NULL)
			return -1;
		rc = eio_send(e, f);
		frame_unref(f);
		return rc;
	}
	if (e->sio == NULL)
		return -1;
	return sio_message(e->sio, binary, p, len);
}

/*
 * Is the pong of a ping with the LEN bytes of payload P still waiting to
 * be written to E, sent last? Then another is not queued behind it: a
 * client that sends many pings while it does not read (thousands in one
 * POST, say) costs one pong. On the polling transport the pong is the
 * last packet of the queue; on a WebSocket it is the last thing written
 * to an output that has not drained since.
 */
static int
eio_pong_waiting(struct eio *e, const char *p, size_t len)
{
	struct eio_pkt	*last;

	if (e->pong == NULL || e->pong->len != len + 1 ||
	    memcmp(e->pong->data + 1, p, len) != 0)
		return 0;
	if (e->transport == EIO_WEBSOCKET)
		return e->ws != NULL && ws_conn_queued(e->ws) > 0;
	last = TAILQ_LAST(&e->queue, eio_pktq);
	return last != NULL && last->f == e->pong;
}

/*
 * One packet from the client. Returns 0, or -1 when it is not a valid
 * Engine.IO packet (the caller ends the session).
 */
int
eio_packet(struct eio *e, int binary, const char *p, size_t len)
{
	struct frame	*f;

	if (binary)
		return eio_message(e, 1, p, len);
	if (len == 0)
		return -1;
	switch (p[0]) {
	case '1':
		eio_end(e, 1);
		return 0;
	case '2':
		if (eio_pong_waiting(e, p + 1, len - 1))
			return 0;
		if ((f = frame_printf("3%.*s", (int)len - 1, p + 1)) == NULL)
			return -1;
		if (eio_send(e, f) == 0)
			e->pong = f;	/* the reference is E's now */
		else
			frame_unref(f);
		return 0;
	case '3':
		if (e->awaiting_pong)
			eio_ping_schedule(e);
		return 0;
	case '4':
		return eio_message(e, 0, p + 1, len - 1);
	case '6':
		return 0;
	default:
		return -1;
	}
}

/*
 * The ping timer: close the sessions whose pong is overdue, ping those
 * whose ping is due (one shared "2" frame) and move them to the pong
 * queue, each with pingTimeout from now, then re-arm.
 */
static void
eio_ping_cb(evutil_socket_t fd, short what, void *arg)
{
	struct eio	*e;
	struct frame	*f = NULL;
	int64_t		 now = util_mono_ms();

	(void)fd;
	(void)what;
	(void)arg;
	while ((e = TAILQ_FIRST(&eio_pongq)) != NULL && e->deadline <= now) {
		log_debug("eio: %s: ping timeout", e->addr);
		eio_end(e, 0);
	}
	while ((e = TAILQ_FIRST(&eio_pingq)) != NULL && e->ping_due <= now) {
		if (f == NULL && (f = frame_new(0, "2", 1)) == NULL) {
			eio_end(e, 0);
			continue;
		}
		TAILQ_REMOVE(&eio_pingq, e, pentry);
		e->awaiting_pong = 1;
		e->deadline = now + nconf.ping_timeout;
		TAILQ_INSERT_TAIL(&eio_pongq, e, pentry);
		eio_send(e, f);
	}
	if (f != NULL)
		frame_unref(f);
	eio_ping_arm();
}

/*
 * Queue or write frame F to session E: on a WebSocket through ws_send(),
 * which bounds its output, else in the poll queue (eio_poll_queue(),
 * bounded too). Returns 0, or -1 when the session is (now) closed.
 */
int
eio_send(struct eio *e, struct frame *f)
{
	if (e->closed)
		return -1;
	if (e->pong != NULL) {
		/* Something follows the last pong. */
		frame_unref(e->pong);
		e->pong = NULL;
	}
	if (e->transport == EIO_WEBSOCKET) {
		if (e->ws == NULL)
			return -1;
		return ws_send(e->ws, f);
	}
	return eio_poll_queue(e, f);
}

/*
 * What the output queued for E and not yet written costs, in bytes: on
 * the polling transport eio_poll_cost() of each packet, on a WebSocket the
 * bytes in its output.
 */
size_t
eio_queued(struct eio *e)
{
	if (e->closed)
		return 0;
	if (e->transport == EIO_WEBSOCKET)
		return e->ws != NULL ? ws_conn_queued(e->ws) : 0;
	return e->queued;
}

/* Send the text packet of LEN bytes at P to E. */
int
eio_send_text(struct eio *e, const char *p, size_t len)
{
	struct frame	*f;
	int		 rc;

	if ((f = frame_new(0, p, len)) == NULL)
		return -1;
	rc = eio_send(e, f);
	frame_unref(f);
	return rc;
}

/* Close session E from the server side (ping timeout, protocol error). */
void
eio_close(struct eio *e, const char *why)
{
	if (e->closed)
		return;
	log_debug("eio: %s: closed: %s", e->addr, why);
	eio_end(e, 0);
}

/*
 * End session E: answer its pending poll ("6" when the client asked to
 * close, else "1"), close its WebSocket, free its queue (eio_poll_end(),
 * eio_ws_end()). The struct and its upper layer go when the last hold is
 * released.
 */
void
eio_end(struct eio *e, int byclient)
{
	if (e->closed)
		return;
	e->closed = 1;
	eio_nsessions--;
	RB_REMOVE(eio_tree, &eio_sessions, e);
	eio_addr_put(e->ea);
	e->ea = NULL;
	frame_unref(e->pong);
	e->pong = NULL;
	if (e->transport == EIO_POLLING)
		metrics.sessions_polling--;
	else
		metrics.sessions_websocket--;
	eio_ping_unlink(e);
	eio_poll_end(e, byclient);
	eio_ws_end(e);
	eio_release(e);
}

/* Close every session (shutdown). */
void
eio_close_all(void)
{
	struct eio	*e;

	while ((e = RB_MIN(eio_tree, &eio_sessions)) != NULL)
		eio_end(e, 0);
	if (eio_ping_ev != NULL) {
		event_free(eio_ping_ev);
		eio_ping_ev = NULL;
	}
}
