/*
 * events.c: the plain JSON long-poll GET events_path?since=ID&wait=S, for
 * scripts and the dashboard's fallback when it has no Socket.IO. A request
 * is answered at once with the events after ID that ingest.c has fanned
 * out, or, when there are none and it may wait, parked: a struct
 * events_wait, pointed to from its connection, on this file's list. After
 * each ingest pass that moved the cursor ingest.c calls events_wake(),
 * which answers every parked request; one whose wait runs out is answered
 * with an empty array. An answer reads at most EVENTS_MAX rows of the log.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "goip.h"
#include "notifier.h"

#define EVENTS_MAX		100	/* events in one answer, rows read */
#define EVENTS_WAIT_MAX		50	/* seconds a request may wait */

/* One parked request: its connection waits for an event after since. */
struct events_wait {
	TAILQ_ENTRY(events_wait) entry;		/* events_waiters */
	struct conn		*c;		/* whose c->ewait is this */
	struct event		*timer;		/* the wait's deadline */
	int64_t			 since;
};

static TAILQ_HEAD(, events_wait)	 events_waiters =
    TAILQ_HEAD_INITIALIZER(events_waiters);

static void	events_wait_cb(evutil_socket_t, short, void *);

/* The answers that are not arrays of events; lengths by the compiler. */
static void
events_reply_empty(struct conn *c)
{
	http_reply(c, 200, "application/json", LIT("[]"), NULL);
}

static void
events_reply_busy(struct conn *c)
{
	http_reply(c, 503, "application/json",
	    LIT("{\"error\":\"store busy\"}"), "Retry-After: 1\r\n");
}

/*
 * Write the JSON array of the events after SINCE (at most EVENTS_MAX rows
 * read, and only those up to the ingest cursor) to B. Returns the number
 * of events written, or -1 when the store failed (logged; B may hold a
 * partial answer then, which the caller discards).
 */
static int
events_json(struct evbuffer *b, int64_t since)
{
	struct event		 evs[EVENTS_MAX];
	struct event_page	 page = { since, NULL, EVENTS_MAX };
	char			*cause = NULL;
	int64_t			 cursor = ingest_cursor();
	int			 i, n, k = 0;

	if (source_read(&page, evs, &n, &cause) != STORE_OK) {
		log_warnx("events: %s", cause != NULL ? cause : "?");
		free(cause);
		return -1;
	}
	evbuffer_add(b, "[", 1);
	for (i = 0; i < n && evs[i].id <= cursor; i++) {
		evbuffer_add_printf(b, "%s{\"eventId\":%lld,\"event\":\"%s\","
		    "\"data\":", k++ > 0 ? "," : "", (long long)evs[i].id,
		    evlog_type_name(evs[i].type));
		ingest_payload(b, evs[i].id, evs[i].payload,
		    evs[i].payloadlen);
		evbuffer_add(b, "}", 1);
	}
	evbuffer_add(b, "]", 1);
	evlog_clear(evs, n);
	return k;
}

/*
 * Answer C with the events after SINCE, or 503 when the store failed or
 * no buffer could be had.
 */
static void
events_answer(struct conn *c, int64_t since)
{
	struct evbuffer	*b;

	if ((b = evbuffer_new()) == NULL) {
		events_reply_busy(c);
		return;
	}
	if (events_json(b, since) < 0)
		events_reply_busy(c);
	else
		http_reply_buffer(c, 200, "application/json", b, NULL);
	evbuffer_free(b);
}

/*
 * Park C until an event after SINCE is fanned out or WAIT seconds have
 * passed. Returns 0, or -1 when out of memory (nothing parked).
 */
static int
events_park(struct conn *c, int64_t since, long long wait)
{
	struct events_wait	*w;
	struct timeval		 tv;

	assert(c->ewait == NULL);
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return -1;
	if ((w->timer = evtimer_new(notifier_base, events_wait_cb, w)) ==
	    NULL) {
		free(w);
		return -1;
	}
	tv.tv_sec = wait;
	tv.tv_usec = 0;
	if (evtimer_add(w->timer, &tv) == -1) {
		event_free(w->timer);
		free(w);
		return -1;
	}
	w->c = c;
	w->since = since;
	c->ewait = w;
	server_attach(c, events_gone);
	TAILQ_INSERT_TAIL(&events_waiters, w, entry);
	return 0;
}

/*
 * GET events_path?since=N&wait=S: answer the events after N (default: the
 * cursor) at once, or, when there are none, wait up to S seconds (default
 * 0, at most EVENTS_WAIT_MAX) for one. A bad since or wait is answered
 * 400, a failing store 503; a connection that cannot be served for lack
 * of memory is closed.
 */
void
events_request(struct conn *c, const char *query)
{
	struct evbuffer	*b;
	char		 buf[32], *end;
	long long	 since = ingest_cursor(), wait = 0;
	int		 n;

	if (http_query_get(query, "since", buf, sizeof(buf)) == 1) {
		since = strtoll(buf, &end, 10);
		if (buf[0] == '\0' || *end != '\0' || since < 0) {
			http_reply(c, 400, "application/json",
			    LIT("{\"error\":\"bad since\",\"field\":\"since\"}"),
			    NULL);
			return;
		}
	}
	if (http_query_get(query, "wait", buf, sizeof(buf)) == 1) {
		wait = strtoll(buf, &end, 10);
		if (buf[0] == '\0' || *end != '\0' || wait < 0) {
			http_reply(c, 400, "application/json",
			    LIT("{\"error\":\"bad wait\",\"field\":\"wait\"}"),
			    NULL);
			return;
		}
		if (wait > EVENTS_WAIT_MAX)
			wait = EVENTS_WAIT_MAX;
	}
	if (since < ingest_cursor()) {
		if ((b = evbuffer_new()) == NULL) {
			server_close(c);
			return;
		}
		if ((n = events_json(b, since)) < 0) {
			evbuffer_free(b);
			events_reply_busy(c);
			return;
		}
		if (n > 0 || wait == 0) {
			if (n == 0) {
				evbuffer_drain(b, evbuffer_get_length(b));
				evbuffer_add(b, LIT("[]"));
			}
			http_reply_buffer(c, 200, "application/json", b, NULL);
			evbuffer_free(b);
			return;
		}
		evbuffer_free(b);
	} else if (wait == 0) {
		events_reply_empty(c);
		return;
	}
	if (events_park(c, since, wait) == -1)
		server_close(c);
}

/*
 * C no longer waits: it was answered, or is being closed (its gone hook,
 * server_detach()). Its parked request, if any, is taken off the list and
 * freed with its timer. Safe to call for a connection that does not wait.
 */
void
events_gone(struct conn *c)
{
	struct events_wait	*w;

	if ((w = c->ewait) == NULL)
		return;
	c->ewait = NULL;
	server_release(c);
	TAILQ_REMOVE(&events_waiters, w, entry);
	event_free(w->timer);
	free(w);
}

/* The wait of one parked request ran out: answer it with no events. */
static void
events_wait_cb(evutil_socket_t fd, short what, void *arg)
{
	struct events_wait	*w = arg;
	struct conn		*c = w->c;

	(void)fd;
	(void)what;
	events_gone(c);
	events_reply_empty(c);
}

/*
 * The ingest cursor moved: answer every parked request with the events
 * after its since (each reading at most EVENTS_MAX rows), or 503 when the
 * store fails.
 */
void
events_wake(void)
{
	struct events_wait	*w;
	struct conn		*c;
	int64_t			 since;

	while ((w = TAILQ_FIRST(&events_waiters)) != NULL) {
		c = w->c;
		since = w->since;
		events_gone(c);
		events_answer(c, since);
	}
}

/* Shutting down: answer every parked request with no events. */
void
events_shutdown(void)
{
	struct events_wait	*w;
	struct conn		*c;

	while ((w = TAILQ_FIRST(&events_waiters)) != NULL) {
		c = w->c;
		events_gone(c);
		events_reply_empty(c);
	}
}
