/*
 * eio_ws.c: the WebSocket transport of Engine.IO v4, one packet per
 * message (ws.c frames them). A session starts on a WebSocket, or a
 * polling session upgrades: the probe WebSocket exchanges
 * "2probe"/"3probe", the pending poll is ended with a noop, and "5" moves
 * the session over, with what its poll queue held. The WebSocket is
 * attached to its connection (server_attach()): a connection that closes
 * under it ends the session, or only the upgrade when it was the probe.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include "goip.h"
#include "notifier.h"
#include "eio_int.h"

#define EIO_WS_PROBE	"2probe"	/* a probe's first packet */

/*
 * The WebSocket C of a session went (server_detach(): closed by the peer
 * or by us): a lost transport ends the session, a lost probe only the
 * upgrade.
 */
static void
eio_ws_gone(struct conn *c)
{
	struct eio	*e;

	if ((e = c->eio) == NULL)
		return;
	c->eio = NULL;
	if (e->closed || c != e->ws)
		return;
	e->ws = NULL;
	if (e->transport == EIO_WEBSOCKET)
		eio_end(e, 0);
	else
		e->upgrading = 0;
}

/* Make C the WebSocket of session E: its transport or its probe. */
static void
eio_ws_attach(struct eio *e, struct conn *c)
{
	e->ws = c;
	c->eio = e;
	server_attach(c, eio_ws_gone);
}

/*
 * Serve a WebSocket upgrade request on C (Sec-WebSocket-Key KEY and
 * -Version VERSION): a new session, or the probe of an existing polling
 * session named by the sid parameter.
 */
void
eio_ws_request(struct conn *c, const char *query, const char *key,
    const char *version, enum eio_handler h)
{
	struct eio	*e;
	struct frame	*f;
	char		 sid[64], buf[256];
	int		 n;

	c->keepalive = 0;
	if (eio_query(c, query, "websocket", sid, sizeof(sid)) == -1)
		return;
	if (sid[0] != '\0') {
		if ((e = eio_find(sid)) != NULL && eio_expired(e)) {
			eio_end(e, 0);
			e = NULL;
		}
		if (e == NULL) {
			http_reply_error(c, 400, EIO_ERR_SESSION);
			return;
		}
		if (ws_upgrade(c, key, version) == -1)
			return;
		if (e->transport != EIO_POLLING || e->ws != NULL) {
			/* Already upgraded or probing: refuse this one. */
			ws_close(c, 1008);
			return;
		}
		eio_ws_attach(e, c);
		return;
	}
	if (ws_upgrade(c, key, version) == -1)
		return;
	if ((e = eio_new(h, EIO_WEBSOCKET, http_addr(c))) == NULL) {
		ws_close(c, 1011);
		return;
	}
	eio_ws_attach(e, c);
	n = eio_handshake_json(buf, sizeof(buf), e->sid, 0);
	if ((f = frame_new(0, buf, n)) == NULL) {
		eio_end(e, 0);
		return;
	}
	ws_send(c, f);
	frame_unref(f);
	eio_open(e);
}

/*
 * The probe WebSocket of E said "5": move the session over to it, the
 * packets its poll queue held first.
 */
static void
eio_ws_upgrade(struct eio *e)
{
	struct frame	*f;

	e->transport = EIO_WEBSOCKET;
	e->upgrading = 0;
	metrics.sessions_polling--;
	metrics.sessions_websocket++;
	eio_poll_answer(e, "6");
	eio_poll_unflush(e);
	while ((f = eio_poll_shift(e)) != NULL) {
		if (!e->closed && e->ws != NULL)
			ws_send(e->ws, f);
		frame_unref(f);
	}
}

/*
 * A WebSocket message arrived on C for session E. Returns 0, or -1 when it
 * was not valid (the caller closes C).
 */
int
eio_ws_message(struct eio *e, struct conn *c, int binary, const char *p,
    size_t len)
{
	struct frame	*f;
	int		 rc;

	if (e->closed)
		return 0;
	if (e->transport == EIO_POLLING) {
		/* The probe. */
		if (c != e->ws || binary)
			return -1;
		if (len == sizeof(EIO_WS_PROBE) - 1 &&
		    memcmp(p, EIO_WS_PROBE, len) == 0) {
			if ((f = frame_new(0, LIT("3probe"))) == NULL)
				return -1;
			ws_send(c, f);
			frame_unref(f);
			e->upgrading = 1;
			eio_poll_answer(e, "6");
			return 0;
		}
		if (len == 1 && p[0] == '5' && e->upgrading) {
			eio_ws_upgrade(e);
			return 0;
		}
		return -1;
	}
	eio_hold(e);
	rc = eio_packet(e, binary, p, len);
	if (rc == -1 && !e->closed)
		eio_end(e, 0);
	eio_release(e);
	return 0;
}

/*
 * The WebSocket side of ending session E: its WebSocket, if any, lets go
 * of it and starts the closing handshake.
 */
void
eio_ws_end(struct eio *e)
{
	struct conn	*c;

	if ((c = e->ws) == NULL)
		return;
	e->ws = NULL;
	c->eio = NULL;
	server_release(c);
	ws_close(c, 1000);
}
