/*
 * ingest.c: reading the event log when rung, fanning the new events out to
 * the rooms, stepping the replays of joining clients and sending the
 * coalesced stats-update; the JSON long-poll it wakes lives in events.c.
 *
 * goip-cgi rings the Unix datagram socket after each commit (on an edge,
 * the relay's blocking read rings instead, edge.c); on a ring, and on a
 * one-second safety timer, the new events are read (source.c: the log, or
 * the relay's stream) in id order, each
 * serialized once into a frame shared by all its receivers, and fanned
 * out. The ingest cursor is the id of the last event fanned out: replays
 * for joining clients stop there and live delivery continues after it, so
 * a client sees each event once, in order. After a pass that moved the
 * cursor, the parked long-polls are answered (events_wake()).
 *
 * A pass reads at most INGEST_BATCH events, fans them out for at most
 * INGEST_BUDGET_US, each as a frame of ws.c's batch, then has ws.c write
 * every client it touched once. The rest follows in a later pass, after
 * the event loop has run (client input, the writes the sockets could not
 * take): a zero timer, since an event made active from a callback would
 * run before the loop polls again. Under load the passes run back to back
 * and the events that arrived during one share one write per client in
 * the next: the batching grows with the backlog, with no delay added when
 * there is none. While more than INGEST_QUEUED_HIGH bytes wait
 * in the clients' outputs the log is not read (the cursor stays, so
 * nothing is lost or sent twice); after INGEST_HOLD_MAX_MS passes resume
 * anyway, paced, so that clients that read nothing cannot stop the others:
 * they reach NOTIFIER_OUT_MAX and are disconnected, and resume by eventId.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "goip.h"
#include "notifier.h"

#define INGEST_BATCH		64	/* events of one pass, at most */
#define INGEST_BATCH_MIN	8	/* ... read at least */
#define INGEST_BUDGET_US	5000	/* fan-out time of one pass */
#define INGEST_QUEUED_HIGH	(32 * 1024 * 1024) /* client bytes: hold */
#define INGEST_QUEUED_LOW	(16 * 1024 * 1024) /* ... and go on */
#define INGEST_HOLD_US		5000	/* re-check while held */
#define INGEST_HOLD_MAX_MS	1000	/* then pass anyway, paced */
#define INGEST_STATS_MS		250	/* at most 4 stats-update a second */
#define INGEST_REPLAY_US	2000	/* replay steps of one turn */
#define INGEST_BUSY_RETRY_US	50000	/* store busy: read again after */
#define INGEST_WARN_MS		10000	/* one failure logged per period */

/* What one step of a replay came to. */
enum ingest_step {
	INGEST_STEP_MORE,	/* more to read: queue it again */
	INGEST_STEP_DONE,	/* live now */
	INGEST_STEP_BUSY,	/* the store failed: again later */
	INGEST_STEP_WAIT,	/* the client is ahead of the cursor */
	INGEST_STEP_GONE	/* the client is gone */
};

static int			 ingest_fd = -1;
static char			*ingest_path;
static struct event		*ingest_ev;
static struct event		*ingest_timer;
static struct event		*ingest_stats_ev;
static struct event		*ingest_more_ev;	/* next batch, after writes */
static struct event		*ingest_replay_ev;	/* replay steps */
static int64_t			 ingest_last;	/* cursor */
static int			 ingest_known;	/* the cursor is set */
static int			 ingest_nread = INGEST_BATCH;
static int64_t			 ingest_next_us; /* no pass before (held) */
static int64_t			 ingest_held_at; /* ms, 0: not held */
static int64_t			 ingest_stats_at;
static int64_t			 ingest_warned_at;

static void	ingest_ring_cb(evutil_socket_t, short, void *);
static void	ingest_timer_cb(evutil_socket_t, short, void *);
static void	ingest_stats_cb(evutil_socket_t, short, void *);
static void	ingest_more_cb(evutil_socket_t, short, void *);
static void	ingest_replay_cb(evutil_socket_t, short, void *);
static int64_t	ingest_us(void);

/*
 * Write the payload object text P (LEN bytes) with "eventId": ID added in
 * front to B; a payload that is not an object becomes {"eventId":ID}.
 * Used for the Socket.IO frames here and the long-poll's answers
 * (events.c). Returns 0, or -1.
 */
int
ingest_payload(struct evbuffer *b, int64_t id, const char *p, size_t len)
{
	while (len > 0 && (*p == ' ' || *p == '\n' || *p == '\t')) {
		p++;
		len--;
	}
	if (len < 2 || p[0] != '{')
		return evbuffer_add_printf(b, "{\"eventId\":%lld}",
		    (long long)id) < 0 ? -1 : 0;
	p++;
	len--;
	while (len > 0 && (*p == ' ' || *p == '\n' || *p == '\t')) {
		p++;
		len--;
	}
	if (evbuffer_add_printf(b, "{\"eventId\":%lld%s", (long long)id,
	    p[0] == '}' ? "" : ",") < 0 || evbuffer_add(b, p, len) == -1)
		return -1;
	return 0;
}

/*
 * Serialize event ID of type NAME with payload P into the Socket.IO frame
 * 42["NAME",{"eventId":ID,...},"ID"]: the last argument is the offset of
 * connection-state recovery. Returns a new frame, or NULL.
 */
struct frame *
ingest_event_frame(int64_t id, const char *name, const char *p, size_t len)
{
	struct evbuffer	*b;
	struct frame	*f = NULL;
	size_t		 n;

	if ((b = evbuffer_new()) == NULL)
		return NULL;
	if (evbuffer_add_printf(b, "42[\"%s\",", name) >= 0 &&
	    ingest_payload(b, id, p, len) == 0 &&
	    evbuffer_add_printf(b, ",\"%lld\"]", (long long)id) >= 0) {
		n = evbuffer_get_length(b);
		f = frame_new(0, evbuffer_pullup(b, -1), n);
		if (f != NULL)
			f->event_id = id;
	}
	evbuffer_free(b);
	return f;
}

/*
 * Log the failure WHAT: CAUSE (freed here), at most once per
 * INGEST_WARN_MS: a busy store, or an edge's relay that is down, is
 * retried many times a second.
 */
static void
ingest_warn(const char *what, char *cause)
{
	int64_t	now = main_now_ms();

	if (now - ingest_warned_at >= INGEST_WARN_MS) {
		ingest_warned_at = now;
		log_warnx("ingest: %s: %s: %s", what, source_name(),
		    cause != NULL ? cause : "failed");
	}
	free(cause);
}

/*
 * Set the cursor to the last event of the source: live delivery starts
 * after it. Returns 0, or -1 with a warning logged (an edge whose relay
 * does not answer yet: ingest_pass() tries again).
 */
static int
ingest_start(void)
{
	char	*cause = NULL;

	if (source_last(&ingest_last, &cause) != STORE_OK) {
		ingest_warn("the last event", cause);
		return -1;
	}
	ingest_known = 1;
	log_info("ingest: cursor at event %lld of the %s",
	    (long long)ingest_last, source_name());
	return 0;
}

/*
 * Bind the datagram socket PATH (NULL on an edge; a stale one is replaced)
 * with mode 0660 and group listen_group, for the web server's CGI, read
 * the cursor and start the timers. Returns 0, or -1 with a warning logged
 * (a primary's log cannot be read, or the socket cannot be bound).
 */
int
ingest_init(const char *path)
{
	struct timeval		 tv = { 1, 0 };
	char			*cause = NULL;

	if (nconf.st != NULL)
		store_set_busy_timeout(nconf.st, NOTIFIER_BUSY_MS);
	if (ingest_start() == -1 && !nconf.edge)
		return -1;
	if (path != NULL && path[0] != '\0') {
		/* Mode 0660 and listen_group at creation: see sock_unix(). */
		if ((ingest_fd = sock_unix(path, SOCK_DGRAM, nconf.listen_uid,
		    nconf.listen_gid, &cause)) == -1) {
			log_warnx("ingest: %s", cause);
			free(cause);
			return -1;
		}
		ingest_path = xstrdup(path);
		ingest_ev = event_new(notifier_base, ingest_fd,
		    EV_READ | EV_PERSIST, ingest_ring_cb, NULL);
		if (ingest_ev == NULL || event_add(ingest_ev, NULL) == -1)
			fatalx("ingest: event_add");
	}
	ingest_timer = event_new(notifier_base, -1, EV_PERSIST,
	    ingest_timer_cb, NULL);
	ingest_stats_ev = evtimer_new(notifier_base, ingest_stats_cb, NULL);
	ingest_more_ev = evtimer_new(notifier_base, ingest_more_cb, NULL);
	ingest_replay_ev = evtimer_new(notifier_base, ingest_replay_cb, NULL);
	if (ingest_timer == NULL || ingest_stats_ev == NULL ||
	    ingest_more_ev == NULL || ingest_replay_ev == NULL ||
	    event_add(ingest_timer, &tv) == -1)
		fatalx("ingest: timer");
	return 0;
}

/* Close the socket and stop; parked long-polls are answered empty. */
void
ingest_shutdown(void)
{
	if (ingest_ev != NULL) {
		event_free(ingest_ev);
		ingest_ev = NULL;
	}
	if (ingest_fd != -1) {
		close(ingest_fd);
		ingest_fd = -1;
		unlink(ingest_path);
	}
	free(ingest_path);
	ingest_path = NULL;
	if (ingest_timer != NULL) {
		event_free(ingest_timer);
		ingest_timer = NULL;
	}
	if (ingest_stats_ev != NULL) {
		event_free(ingest_stats_ev);
		ingest_stats_ev = NULL;
	}
	if (ingest_more_ev != NULL) {
		event_free(ingest_more_ev);
		ingest_more_ev = NULL;
	}
	if (ingest_replay_ev != NULL) {
		event_free(ingest_replay_ev);
		ingest_replay_ev = NULL;
	}
	events_shutdown();
}

int64_t
ingest_cursor(void)
{
	return ingest_last;
}

static void
ingest_ring_cb(evutil_socket_t fd, short what, void *arg)
{
	char	buf[64];
	int	n = 0;

	(void)what;
	(void)arg;
	/* The id in the datagram is a hint; the log is the truth. */
	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0 && n++ < 1024)
		;
	ingest_poll();
}

static void
ingest_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	ingest_poll();
}

/* Microseconds of the monotonic clock. */
static int64_t
ingest_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Run ingest_poll() again in US microseconds, unless it is due already. */
static void
ingest_later(int64_t us)
{
	struct timeval	tv;

	if (evtimer_pending(ingest_more_ev, NULL))
		return;
	if (us < 0)
		us = 0;
	tv.tv_sec = us / 1000000;
	tv.tv_usec = us % 1000000;
	evtimer_add(ingest_more_ev, &tv);
}

/*
 * Should reading wait for the clients' outputs to drain? Returns 1 when
 * the caller must not read now (a re-check is scheduled), else 0.
 */
static int
ingest_held(void)
{
	size_t	q = ws_queued();
	int64_t	now;

	if (q <= INGEST_QUEUED_HIGH &&
	    (ingest_held_at == 0 || q <= INGEST_QUEUED_LOW)) {
		if (ingest_held_at != 0)
			log_info("ingest: clients caught up, reading again");
		ingest_held_at = 0;
		return 0;
	}
	now = main_now_ms();
	if (ingest_held_at == 0) {
		log_info("ingest: %zu bytes wait for clients, reading held", q);
		ingest_held_at = now;
	}
	if (now - ingest_held_at < INGEST_HOLD_MAX_MS) {
		ingest_later(INGEST_HOLD_US);
		return 1;
	}
	/* Held too long: one pass, the next one a hold period later. */
	ingest_next_us = ingest_us() + INGEST_HOLD_US;
	return 0;
}

/* Arm the stats-update timer: at most one per INGEST_STATS_MS. */
void
ingest_stats_kick(void)
{
	struct timeval	tv = { 0, 0 };
	int64_t		wait;

	if (ingest_stats_ev == NULL || evtimer_pending(ingest_stats_ev, NULL))
		return;
	wait = ingest_stats_at + INGEST_STATS_MS - main_now_ms();
	if (wait > 0)
		tv.tv_usec = wait * 1000;
	evtimer_add(ingest_stats_ev, &tv);
}

/*
 * The first of the N events an edge read after its cursor is not the
 * next one: were the events between trimmed from the stream before the
 * edge read them (cut off for longer than the retention)? Then its
 * clients cannot get them: every session is closed, so that each client
 * reconnects and resumes (or gets resync) from the stream.
 */
static void
ingest_edge_gap(const struct event *evs, int n)
{
	char	*cause = NULL;
	int64_t	 first;

	if (n == 0 || evs[0].id == ingest_last + 1)
		return;
	if (source_first(&first, &cause) != STORE_OK) {
		free(cause);
		return;
	}
	if (first <= ingest_last + 1)
		return;		/* ids the log never had */
	log_warnx("ingest: the stream starts at %lld, after this edge's "
	    "cursor %lld: closing every session (clients resume or resync)",
	    (long long)first, (long long)ingest_last);
	eio_close_all();
}

/*
 * Read the events after the cursor and fan them out for at most
 * INGEST_BUDGET_US, then write the clients (ws_flush_all()). When events
 * are left, the next pass is scheduled; when none are, the source is
 * asked to wake us (source_wait()). A store error is logged and retried
 * by the next ring or tick.
 */
static void
ingest_pass(void)
{
	struct event		 evs[INGEST_BATCH];
	struct event_page	 page;
	struct frame		*f;
	char			*cause = NULL;
	int			 i, n, want = ingest_nread;
	int64_t			 now, start, before = ingest_last;

	if (!ingest_known && ingest_start() == -1)
		return;		/* the one-second timer tries again */
	page.after = ingest_last;
	page.device = NULL;
	page.max = want < INGEST_BATCH ? want : INGEST_BATCH;
	if (source_read(&page, evs, &n, &cause) != STORE_OK) {
		/* Busy past NOTIFIER_BUSY_MS, or worse: read again soon. */
		ingest_warn("read", cause);
		ingest_later(INGEST_BUSY_RETRY_US);
		return;
	}
	if (nconf.edge)
		ingest_edge_gap(evs, n);
	now = main_now_ms();
	start = ingest_us();
	for (i = 0; i < n;) {
		metrics.events_in++;
		metrics_latency(now - evs[i].at);
		f = ingest_event_frame(evs[i].id, evlog_type_name(evs[i].type),
		    evs[i].payload, evs[i].payloadlen);
		if (f != NULL) {
			ws_batch_add(f);
			room_fanout(evs[i].device, f);
			frame_unref(f);
		}
		ingest_last = evs[i].id;
		if (++i < n && ingest_us() - start > INGEST_BUDGET_US)
			break;
	}
	if (!nconf.edge)
		relay_events(evs, i, before);
	evlog_clear(evs, n);
	/* Read about what one pass fans out. */
	if (i < n)
		ingest_nread = i * 2 < INGEST_BATCH_MIN ? INGEST_BATCH_MIN :
		    i * 2;
	else if (n == want && ingest_nread < INGEST_BATCH)
		ingest_nread = ingest_nread * 2 > INGEST_BATCH ? INGEST_BATCH :
		    ingest_nread * 2;
	if (i > 0) {
		events_wake();
		/* An edge's snapshots come from the primary (edge.c). */
		if (!nconf.edge)
			ingest_stats_kick();
	}
	ws_flush_all();
	if (i > 0 && (i < n || n == want))
		ingest_later(ingest_next_us - ingest_us());
	else if (n < want)
		source_wait();
}

/*
 * New events may be in the log: read them now, or (held) schedule the
 * pass for when the clients have drained.
 */
void
ingest_poll(void)
{
	int64_t	now;

	if (nconf.compliance)
		return;
	if ((now = ingest_us()) < ingest_next_us) {
		ingest_later(ingest_next_us - now);
		return;
	}
	if (ingest_held())
		return;
	ingest_pass();
}

static void
ingest_more_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	ingest_poll();
}

/* The stats-update snapshot's JSON text (allocated), or NULL. */
static char *
ingest_stats_text(void)
{
	char	*text = NULL, *cause = NULL;

	enum store_rc	 rc;

	if ((rc = source_stats(&text, &cause)) != STORE_OK) {
		/* An edge has none until the primary sends one. */
		if (rc != STORE_NOTFOUND)
			log_warnx("ingest: stats: %s", cause != NULL ? cause :
			    "?");
		free(cause);
		return NULL;
	}
	return text;
}

/* Build the stats-update frame from TEXT, or NULL. */
static struct frame *
ingest_stats_frame(const char *text)
{
	return ingest_event_frame(ingest_last, "stats-update", text,
	    strlen(text));
}

/*
 * Send the snapshot to the dashboard room, and, on a primary, to the
 * relay's edges (relay_stats(): whether or not it has dashboards itself).
 */
static void
ingest_stats_cb(evutil_socket_t fd, short what, void *arg)
{
	struct frame	*f;
	char		*text;

	(void)fd;
	(void)what;
	(void)arg;
	ingest_stats_at = main_now_ms();
	if (room_dashboard_count() == 0 && (nconf.edge || nconf.relay == 0))
		return;
	if ((text = ingest_stats_text()) == NULL)
		return;
	if (!nconf.edge)
		relay_stats(text);
	if (room_dashboard_count() > 0 &&
	    (f = ingest_stats_frame(text)) != NULL) {
		ws_batch_add(f);
		room_fanout("", f);
		frame_unref(f);
		ws_flush_all();
	}
	free(text);
}

/* Send the current stats to one client that just joined the dashboard. */
void
ingest_stats_now(struct sio *s)
{
	struct frame	*f;
	char		*text;

	if (nconf.compliance || (text = ingest_stats_text()) == NULL)
		return;
	if ((f = ingest_stats_frame(text)) != NULL) {
		sio_emit_frame(s, f);
		frame_unref(f);
	}
	free(text);
}

/*
 * One step of replay RP: read at most INGEST_BATCH rows after its position
 * (a device room's through the index by device, so only that device's
 * rows), up to the cursor, and send the owed ones to its client. When
 * events after the position were pruned the client gets one resync event
 * instead; so it does, after what was replayed so far, when the replay
 * would read more than NOTIFIER_REPLAY_READ rows, send more than
 * NOTIFIER_REPLAY_MAX events or fill more than NOTIFIER_REPLAY_OUT of its
 * output: queued at once, such a backlog would get the client disconnected
 * as slow, and it would come back with the same lastEventId again and
 * again. Returns INGEST_STEP_MORE, INGEST_STEP_DONE (caught up, or cut
 * short by a resync: the room is live), INGEST_STEP_BUSY (the store
 * failed: try again later), INGEST_STEP_WAIT (the client is ahead of the
 * cursor: again later) or INGEST_STEP_GONE (the client's session was
 * closed, and RP may be freed: the caller must not touch it).
 */
static enum ingest_step
ingest_replay_step(struct room_replay *rp)
{
	struct event		 evs[INGEST_BATCH];
	struct event_page	 page;
	struct frame		*f;
	char			*cause = NULL;
	int64_t			 first;
	int			 i, n, rc = 0, toomuch = 0;

	if (!ingest_known)
		return INGEST_STEP_BUSY;	/* an edge without its relay */
	if (rp->at == ingest_last)
		return INGEST_STEP_DONE;
	if (source_first(&first, &cause) != STORE_OK)
		goto busy;
	if (rp->at > ingest_last) {
		/*
		 * The client saw events this notifier has not read yet:
		 * another one is ahead. Live fan-out skips it while this
		 * waits; the next step after the cursor passes rp->at
		 * replays from there. An id never reached is another
		 * history's (a replaced database): resync.
		 */
		if (rp->ahead_since == 0)
			rp->ahead_since = main_now_ms();
		if (main_now_ms() - rp->ahead_since < NOTIFIER_AHEAD_MS)
			return INGEST_STEP_WAIT;
		log_info("ingest: a client resumes after %lld, past the "
		    "cursor %lld: resync", (long long)rp->at,
		    (long long)ingest_last);
		return sio_resync(rp->s, first) == -1 ? INGEST_STEP_GONE :
		    INGEST_STEP_DONE;
	}
	if (rp->at < first - 1)
		return sio_resync(rp->s, first) == -1 ? INGEST_STEP_GONE :
		    INGEST_STEP_DONE;	/* pruned */
	if (!rp->started) {
		rp->started = 1;
		metrics.resumes++;
	}
	page.after = rp->at;
	/* A device room: through the log's index; a stream: filtered here. */
	page.device = source_indexed() ? rp->device : NULL;
	page.max = INGEST_BATCH;
	if (source_read(&page, evs, &n, &cause) != STORE_OK)
		goto busy;
	for (i = 0; i < n && rc == 0; i++) {
		if (evs[i].id > ingest_last)
			break;	/* not fanned out yet: live will send it */
		if (++rp->read > NOTIFIER_REPLAY_READ) {
			toomuch = 1;
			break;
		}
		rp->at = evs[i].id;
		if (!room_replay_owed(rp, evs[i].device, evs[i].id))
			continue;
		f = ingest_event_frame(evs[i].id,
		    evlog_type_name(evs[i].type), evs[i].payload,
		    evs[i].payloadlen);
		if (f == NULL)
			rc = -1;
		else if (++rp->sent > NOTIFIER_REPLAY_MAX ||
		    sio_queued(rp->s) + f->len > NOTIFIER_REPLAY_OUT)
			toomuch = 1;
		else if (sio_emit_frame(rp->s, f) == -1)
			rc = -1;
		frame_unref(f);
		if (toomuch)
			break;
	}
	evlog_clear(evs, n);
	if (rc == -1)
		return INGEST_STEP_GONE;
	if (toomuch) {
		log_info("ingest: replay of more than %d rows, %d events or "
		    "%d bytes: resync", NOTIFIER_REPLAY_READ, NOTIFIER_REPLAY_MAX,
		    NOTIFIER_REPLAY_OUT);
		return sio_resync(rp->s, first) == -1 ? INGEST_STEP_GONE :
		    INGEST_STEP_DONE;
	}
	if (i < n || n == 0 || rp->at >= ingest_last)
		return INGEST_STEP_DONE;
	return INGEST_STEP_MORE;
busy:
	ingest_warn("replay", cause);
	return INGEST_STEP_BUSY;
}

/* Run the replays on a later turn of the loop, unless they are due. */
void
ingest_replay_wake(void)
{
	struct timeval	tv = { 0, 0 };

	if (ingest_replay_ev == NULL || evtimer_pending(ingest_replay_ev, NULL))
		return;
	evtimer_add(ingest_replay_ev, &tv);
}

/*
 * Step the queued replays in turn for at most INGEST_REPLAY_US, then write
 * the clients and leave the rest to the next turn: whatever the clients
 * ask, the loop goes back to its sockets within a few milliseconds.
 */
static void
ingest_replay_cb(evutil_socket_t fd, short what, void *arg)
{
	struct room_replay	*rp;
	struct timeval		 tv = { 0, INGEST_BUSY_RETRY_US };
	int64_t			 start = ingest_us();
	struct sio		*s;

	(void)fd;
	(void)what;
	(void)arg;
	while ((rp = room_replay_take()) != NULL) {
		switch (ingest_replay_step(rp)) {
		case INGEST_STEP_MORE:
			room_replay_requeue(rp);
			break;
		case INGEST_STEP_DONE:
			s = rp->s;
			room_replay_done(rp);
			if (rp->device == NULL)
				ingest_stats_now(s);
			break;
		case INGEST_STEP_BUSY:
		case INGEST_STEP_WAIT:
			room_replay_requeue(rp);
			ws_flush_all();
			evtimer_add(ingest_replay_ev, &tv);
			return;
		case INGEST_STEP_GONE:
			break;
		}
		if (ingest_us() - start > INGEST_REPLAY_US)
			break;
	}
	ws_flush_all();
	if (room_replay_pending())
		ingest_replay_wake();
}
