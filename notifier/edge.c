/*
 * edge.c: an edge notifier's source of events (role = edge). It has no
 * database: the relay's stream, written by the primary (relay.c), holds the
 * log's events under their ids, and ingest.c and events.c read it through
 * edge_source (source.c) exactly as a primary reads its log.
 *
 * Reads (XRANGE) go over a plain connection with a EDGE_READ_MS timeout, on
 * the loop, as the primary reads SQLite with a busy timeout; a failed read
 * is a busy store to the caller, tried again later, and the connection is
 * not tried again for EDGE_RETRY_MS. What wakes ingest.c is a blocking
 * XREAD after its cursor on an asynchronous connection (redis.c, hiredis'
 * libevent adapter), armed when a pass has read everything there was
 * (edge_wait()); a watchdog drops it if no answer comes. The stats-update
 * snapshots arrive on a subscription to STREAM:stats (and from the key at
 * each connect).
 *
 * A stream that does not reach the cursor (Redis came back empty and the
 * primary is filling it again) answers reads before the cursor with busy,
 * so a replay waits rather than miss events.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "goip.h"
#include "notifier.h"

#define EDGE_READ_MS	250	/* one read of the stream, at most */
#define EDGE_RETRY_MS	1000	/* after a failed read, no connect before */
#define EDGE_BLOCK_MS	5000	/* XREAD BLOCK */
#define EDGE_WATCH_MS	(EDGE_BLOCK_MS + 5000) /* ... answered within */

static enum store_rc	edge_read(const struct event_page *, struct event *,
			    int *, char **);
static enum store_rc	edge_first(int64_t *, char **);
static enum store_rc	edge_last(int64_t *, char **);
static enum store_rc	edge_stats(char **, char **);
static void		edge_wait(void);

const struct source edge_source = {
	"stream",
	0,
	edge_read,
	edge_first,
	edge_last,
	edge_stats,
	edge_wait
};

static struct relay_url	 edge_url;
static char		*edge_key;
static char		*edge_stats_key;
static redisContext	*edge_sync;	/* reads */
static int64_t		 edge_sync_after; /* ms: no connect before */
static struct redis_conn edge_ring;	/* XREAD BLOCK, GET */
static struct redis_conn edge_sub;	/* SUBSCRIBE */
static int		 edge_waiting;	/* an XREAD is pending */
static struct event	*edge_watch;
static char		*edge_snapshot;	/* the last stats-update text */

/* Forget the read connection (failed with WHY); no new one for a while. */
static void
edge_sync_fail(const char *why, char **cause)
{
	xasprintf(cause, "relay redis://%s:%d: %s", edge_url.host,
	    edge_url.port, why);
	if (edge_sync != NULL) {
		redisFree(edge_sync);
		edge_sync = NULL;
	}
	edge_sync_after = main_now_ms() + EDGE_RETRY_MS;
	metrics.relay_errors++;
}

/* The read connection, connected now if need be; NULL with *CAUSE set. */
static redisContext *
edge_sync_get(char **cause)
{
	struct timeval	 tv = { 0, EDGE_READ_MS * 1000 };
	redisReply	*r;

	if (edge_sync != NULL)
		return edge_sync;
	if (main_now_ms() < edge_sync_after) {
		xasprintf(cause, "relay redis://%s:%d unreachable",
		    edge_url.host, edge_url.port);
		return NULL;
	}
	edge_sync = redisConnectWithTimeout(edge_url.host, edge_url.port, tv);
	if (edge_sync == NULL || edge_sync->err) {
		edge_sync_fail(edge_sync != NULL ? edge_sync->errstr :
		    "out of memory", cause);
		return NULL;
	}
	redisSetTimeout(edge_sync, tv);
	if (edge_url.db != 0) {
		r = redisCommand(edge_sync, "SELECT %d", edge_url.db);
		if (r == NULL || r->type == REDIS_REPLY_ERROR) {
			edge_sync_fail(r != NULL ? r->str : edge_sync->errstr,
			    cause);
			freeReplyObject(r);
			return NULL;
		}
		freeReplyObject(r);
	}
	return edge_sync;
}

/*
 * The next reply on the read connection into *R: 0, or -1 with the
 * connection dropped and *CAUSE set. An error reply is a failure too.
 */
static int
edge_reply(redisReply **r, char **cause)
{
	void	*v = NULL;

	if (redisGetReply(edge_sync, &v) != REDIS_OK || v == NULL) {
		edge_sync_fail(edge_sync->errstr[0] != '\0' ?
		    edge_sync->errstr : "no reply", cause);
		return -1;
	}
	*r = v;
	if ((*r)->type == REDIS_REPLY_ERROR) {
		edge_sync_fail((*r)->str, cause);
		freeReplyObject(*r);
		return -1;
	}
	return 0;
}

/* The id of the first entry of the XRANGE reply R into *ID (0: none). */
static int
edge_reply_id(const redisReply *r, int64_t *id)
{
	const redisReply	*e;

	*id = 0;
	if (r->type != REDIS_REPLY_ARRAY)
		return -1;
	if (r->elements == 0)
		return 0;
	e = r->element[0];
	if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
	    e->element[0]->type != REDIS_REPLY_STRING)
		return -1;
	return relay_entry_id(e->element[0]->str, id);
}

/*
 * Fill EV from the stream entry E ([id, [field, value, ...]]). Returns 1,
 * 0 for an entry to skip (an event type this build does not know), or -1
 * when E is not an event's entry.
 */
static int
edge_entry(const redisReply *e, struct event *ev)
{
	const redisReply	*f, *k, *v;
	const char		*data = NULL;
	size_t			 i, datalen = 0;
	int			 type = -1;
	char			*end;

	if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
	    e->element[0]->type != REDIS_REPLY_STRING ||
	    relay_entry_id(e->element[0]->str, &ev->id) == -1)
		return -1;
	f = e->element[1];
	if (f->type != REDIS_REPLY_ARRAY || f->elements % 2 != 0)
		return -1;
	ev->device[0] = '\0';
	ev->at = 0;
	for (i = 0; i < f->elements; i += 2) {
		k = f->element[i];
		v = f->element[i + 1];
		if (k->type != REDIS_REPLY_STRING ||
		    v->type != REDIS_REPLY_STRING)
			return -1;
		if (strcmp(k->str, "type") == 0)
			type = evlog_type_lookup(v->str);
		else if (strcmp(k->str, "device") == 0) {
			if (v->len > GOIP_DEVICE_ID_MAX)
				return -1;
			memcpy(ev->device, v->str, v->len + 1);
		} else if (strcmp(k->str, "at") == 0)
			ev->at = strtoll(v->str, &end, 10);
		else if (strcmp(k->str, "data") == 0) {
			data = v->str;
			datalen = v->len;
		}
	}
	if (data == NULL)
		return -1;
	if (type == -1)
		return 0;
	ev->type = type;
	ev->payload = xmalloc(datalen + 1);
	memcpy(ev->payload, data, datalen + 1);
	ev->payloadlen = datalen;
	return 1;
}

/*
 * Read the entries after PAGE->after (a device page reads every event:
 * the stream has no index). When fewer than asked come back for a page
 * before the cursor and the stream ends before the cursor, the stream is
 * being filled again: busy, so that a replay waits rather than miss them.
 */
static enum store_rc
edge_read(const struct event_page *page, struct event *evs, int *n,
    char **cause)
{
	redisContext	*c;
	redisReply	*last, *r;
	int64_t		 lastid;
	size_t		 i;
	int		 k;

	*n = 0;
	if ((c = edge_sync_get(cause)) == NULL)
		return STORE_BUSY;
	redisAppendCommand(c, "XREVRANGE %s + - COUNT 1", edge_key);
	redisAppendCommand(c, "XRANGE %s %lld-1 + COUNT %d", edge_key,
	    (long long)page->after, page->max);
	if (edge_reply(&last, cause) == -1)
		return STORE_BUSY;
	k = edge_reply_id(last, &lastid);
	freeReplyObject(last);
	if (edge_reply(&r, cause) == -1)
		return STORE_BUSY;
	if (k == -1 || r->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(r);
		edge_sync_fail("the stream holds entries that are not events",
		    cause);
		return STORE_ERROR;
	}
	for (i = 0; i < r->elements && *n < page->max; i++) {
		if ((k = edge_entry(r->element[i], &evs[*n])) == -1) {
			evlog_clear(evs, *n);
			*n = 0;
			freeReplyObject(r);
			edge_sync_fail("an entry that is not an event", cause);
			return STORE_ERROR;
		}
		if (k == 1 && evs[*n].id > page->after)
			(*n)++;
	}
	freeReplyObject(r);
	if (*n < page->max && page->after < ingest_cursor() &&
	    lastid < ingest_cursor()) {
		evlog_clear(evs, *n);
		*n = 0;
		xasprintf(cause, "%s ends at %lld, before this edge's cursor "
		    "%lld: waiting for the primary to fill it", edge_key,
		    (long long)lastid, (long long)ingest_cursor());
		return STORE_BUSY;
	}
	return STORE_OK;
}

/* The id of the entry at one end of the stream (CMD), 0 when empty. */
static enum store_rc
edge_end(const char *cmd, int64_t *id, char **cause)
{
	redisContext	*c;
	redisReply	*r;
	int		 k;

	if ((c = edge_sync_get(cause)) == NULL)
		return STORE_BUSY;
	if (strcmp(cmd, "XRANGE") == 0)
		redisAppendCommand(c, "XRANGE %s - + COUNT 1", edge_key);
	else
		redisAppendCommand(c, "XREVRANGE %s + - COUNT 1", edge_key);
	if (edge_reply(&r, cause) == -1)
		return STORE_BUSY;
	k = edge_reply_id(r, id);
	freeReplyObject(r);
	if (k == -1) {
		edge_sync_fail("the stream holds entries that are not events",
		    cause);
		return STORE_ERROR;
	}
	return STORE_OK;
}

static enum store_rc
edge_first(int64_t *id, char **cause)
{
	return edge_end("XRANGE", id, cause);
}

static enum store_rc
edge_last(int64_t *id, char **cause)
{
	return edge_end("XREVRANGE", id, cause);
}

static enum store_rc
edge_stats(char **text, char **cause)
{
	if (edge_snapshot == NULL) {
		xasprintf(cause, "no stats from the primary yet");
		return STORE_NOTFOUND;
	}
	*text = xstrdup(edge_snapshot);
	return STORE_OK;
}

/* A new snapshot TEXT (LEN bytes): keep it and send it to the dashboards. */
static void
edge_snapshot_set(const char *text, size_t len)
{
	free(edge_snapshot);
	edge_snapshot = xmalloc(len + 1);
	memcpy(edge_snapshot, text, len + 1);
	ingest_stats_kick();
}

/* The XREAD answered (entries, or none in EDGE_BLOCK_MS): read them. */
static void
edge_xread_cb(redisAsyncContext *ac, void *r, void *priv)
{
	redisReply	*reply = r;

	(void)ac;
	(void)priv;
	edge_waiting = 0;
	evtimer_del(edge_watch);
	if (reply == NULL)
		return;		/* dropped: edge_ring_up() arms it again */
	if (reply->type == REDIS_REPLY_ERROR) {
		metrics.relay_errors++;
		log_warnx("edge: XREAD %s: %s", edge_key, reply->str);
		redis_drop(&edge_ring, 0, "XREAD failed");
		return;
	}
	if (reply->type == REDIS_REPLY_NIL) {
		edge_wait();	/* nothing new: wait again */
		return;
	}
	ingest_poll();		/* arms the next XREAD when caught up */
}

/*
 * Wake ingest.c when an entry after its cursor arrives: a blocking XREAD,
 * unless one is pending or the connection is down (its up hook arms it).
 */
static void
edge_wait(void)
{
	struct timeval	tv = { EDGE_WATCH_MS / 1000, 0 };

	if (edge_waiting || !edge_ring.up)
		return;
	if (redisAsyncCommand(edge_ring.ac, edge_xread_cb, NULL,
	    "XREAD COUNT 1 BLOCK %d STREAMS %s %lld-0", EDGE_BLOCK_MS,
	    edge_key, (long long)ingest_cursor()) != REDIS_OK)
		return;
	edge_waiting = 1;
	evtimer_add(edge_watch, &tv);
	metrics.relay_cursor = ingest_cursor();
}

/* The XREAD was not answered in time: the relay is gone, or stuck. */
static void
edge_watch_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	metrics.relay_errors++;
	redis_drop(&edge_ring, 0, "XREAD not answered");
}

static void
edge_get_cb(redisAsyncContext *ac, void *r, void *priv)
{
	redisReply	*reply = r;

	(void)ac;
	(void)priv;
	if (reply != NULL && reply->type == REDIS_REPLY_STRING)
		edge_snapshot_set(reply->str, reply->len);
}

static void
edge_ring_up(struct redis_conn *rc)
{
	metrics.relay_up = 1;
	redisAsyncCommand(rc->ac, edge_get_cb, NULL, "GET %s", edge_stats_key);
	edge_waiting = 0;
	ingest_poll();		/* catch up; arms the XREAD */
	edge_wait();
}

static void
edge_ring_down(struct redis_conn *rc)
{
	(void)rc;
	metrics.relay_up = 0;
	edge_waiting = 0;
	evtimer_del(edge_watch);
}

/* A message on STREAM:stats: ["message", channel, text]. */
static void
edge_sub_cb(redisAsyncContext *ac, void *r, void *priv)
{
	redisReply	*reply = r;

	(void)ac;
	(void)priv;
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY ||
	    reply->elements != 3 ||
	    reply->element[0]->type != REDIS_REPLY_STRING ||
	    strcmp(reply->element[0]->str, "message") != 0 ||
	    reply->element[2]->type != REDIS_REPLY_STRING)
		return;
	edge_snapshot_set(reply->element[2]->str, reply->element[2]->len);
}

static void
edge_sub_up(struct redis_conn *rc)
{
	redisAsyncCommand(rc->ac, edge_sub_cb, NULL, "SUBSCRIBE %s",
	    edge_stats_key);
}

/*
 * Serve CFG's relay stream (role = edge). Returns 0, or -1 when the relay
 * is not an address (config_load() checked it).
 */
int
edge_init(const struct config *cfg)
{
	if (config_relay_url(cfg->relay, &edge_url) == -1)
		return -1;
	xasprintf(&edge_key, "%s", cfg->relay_stream);
	xasprintf(&edge_stats_key, "%s:stats", cfg->relay_stream);
	if ((edge_watch = evtimer_new(notifier_base, edge_watch_cb, NULL)) ==
	    NULL)
		fatalx("edge: evtimer_new");
	edge_ring.on_up = edge_ring_up;
	edge_ring.on_down = edge_ring_down;
	edge_sub.on_up = edge_sub_up;
	if (redis_start(&edge_ring, "edge", cfg->relay) == -1 ||
	    redis_start(&edge_sub, "edge stats", cfg->relay) == -1)
		return -1;
	return 0;
}

void
edge_shutdown(void)
{
	if (edge_key == NULL)
		return;
	redis_stop(&edge_ring);
	redis_stop(&edge_sub);
	if (edge_sync != NULL) {
		redisFree(edge_sync);
		edge_sync = NULL;
	}
	if (edge_watch != NULL) {
		event_free(edge_watch);
		edge_watch = NULL;
	}
	free(edge_key);
	free(edge_stats_key);
	free(edge_snapshot);
	edge_key = edge_stats_key = edge_snapshot = NULL;
}
