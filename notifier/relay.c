/*
 * relay.c: the primary's publisher (relay = redis://...). Every event of
 * the log goes to the Redis stream relay_stream in id order, as the entry
 * "ID-0" with the fields type, device, at and data, so that edges
 * (edge.c) on other machines serve the same events under the same ids:
 *
 *	XADD stream MINID ~ FIRST ID-0 type T device D at MS data JSON
 *
 * FIRST is the log's first id: the stream is trimmed to about the log's
 * retention. Redis refuses an id not above the stream's last, so a
 * repeated append changes nothing and is counted as done.
 *
 * At each connect the stream's last id is read and the log is published
 * after it; a stream that came back empty is filled again from the log's
 * first event. Live events are published from ingest.c's pass as it fans
 * them out (relay_events()); a backlog is read from the log in batches of
 * RELAY_BATCH, at most RELAY_INFLIGHT appends awaiting their replies.
 * While Redis is down the notifier serves its own clients as before. A
 * stream that ends after the log (another primary writes it, or the
 * database was replaced) is not written: logged, and tried again every
 * RELAY_AHEAD_MS. Each stats-update snapshot is SET in STREAM:stats and
 * PUBLISHed on the channel of that name.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "goip.h"
#include "notifier.h"

#define RELAY_BATCH	256	/* events read from the log at once */
#define RELAY_INFLIGHT	4096	/* appends awaiting their reply */
#define RELAY_STALL_MS	10000	/* no reply for that long: reconnect */
#define RELAY_AHEAD_MS	10000	/* a stream after the log: retry */

static struct redis_conn relay_conn;
static char		*relay_key;
static char		*relay_stats_key;
static char		*relay_snapshot;	/* the last stats, for a connect */
static struct event	*relay_tick;
static int		 relay_ready;	/* the stream's end is known */
static int64_t		 relay_sent;	/* last id appended */
static int64_t		 relay_minid;	/* the log's first id */
static int		 relay_inflight;
static int64_t		 relay_reply_at;	/* ms of the last reply */

static void	relay_fill(void);

/* Parse an entry id "N-0" into *ID; 0, or -1 when it is not one. */
int
relay_entry_id(const char *s, int64_t *id)
{
	char		*end;
	long long	 n;

	n = strtoll(s, &end, 10);
	if (end == s || n < 0 || strcmp(end, "-0") != 0)
		return -1;
	*id = n;
	return 0;
}

/* The reply to one XADD of event PRIV. */
static void
relay_xadd_cb(redisAsyncContext *ac, void *r, void *priv)
{
	redisReply	*reply = r;
	int64_t		 id = (int64_t)(intptr_t)priv;

	(void)ac;
	if (reply == NULL)
		return;		/* dropped: the next connect starts over */
	relay_inflight--;
	relay_reply_at = main_now_ms();
	if (reply->type == REDIS_REPLY_ERROR &&
	    strstr(reply->str, "equal or smaller") == NULL) {
		metrics.relay_errors++;
		log_warnx("relay: XADD %lld: %s", (long long)id, reply->str);
		redis_drop(&relay_conn, 0, "append failed");
		return;
	}
	/* Appended, or there already. */
	if ((uint64_t)id > metrics.relay_cursor)
		metrics.relay_cursor = id;
	metrics.relay_published++;
	if (relay_inflight <= RELAY_INFLIGHT / 2)
		relay_fill();
}

/* Append event EV. */
static void
relay_send(const struct event *ev)
{
	if (relay_inflight == 0)
		relay_reply_at = main_now_ms();
	if (redisAsyncCommand(relay_conn.ac, relay_xadd_cb,
	    (void *)(intptr_t)ev->id,
	    "XADD %s MINID ~ %lld %lld-0 type %s device %s at %lld data %b",
	    relay_key, (long long)relay_minid, (long long)ev->id,
	    evlog_type_name(ev->type), ev->device, (long long)ev->at,
	    ev->payload, ev->payloadlen) != REDIS_OK)
		return;		/* disconnecting */
	relay_inflight++;
	relay_sent = ev->id;
}

/*
 * Publish the log after relay_sent, a batch at a time, while appends may
 * be in flight. A busy store is tried again by the next tick.
 */
static void
relay_fill(void)
{
	struct event		 evs[RELAY_BATCH];
	struct event_page	 page;
	char			*cause = NULL;
	int			 i, n;

	while (relay_ready && relay_inflight + RELAY_BATCH <= RELAY_INFLIGHT) {
		page.after = relay_sent;
		page.device = NULL;
		page.max = RELAY_BATCH;
		if (evlog_read(nconf.st, &page, evs, &n, &cause) != STORE_OK) {
			log_debug("relay: %s", cause != NULL ? cause : "?");
			free(cause);
			return;
		}
		for (i = 0; i < n && relay_ready; i++)
			relay_send(&evs[i]);
		evlog_clear(evs, n);
		if (n < RELAY_BATCH)
			return;
	}
}

/*
 * ingest.c fanned out the N events EVS, the first after BEFORE: append
 * them as they are when the stream is that far, else catch up from the
 * log.
 */
void
relay_events(const struct event *evs, int n, int64_t before)
{
	int	i;

	if (!relay_ready || n == 0)
		return;
	if (relay_sent != before ||
	    relay_inflight + n > RELAY_INFLIGHT) {
		relay_fill();
		return;
	}
	for (i = 0; i < n && relay_ready; i++)
		relay_send(&evs[i]);
}

/* Set and publish the stats-update snapshot TEXT; kept for a connect. */
void
relay_stats(const char *text)
{
	if (relay_key == NULL)
		return;
	if (relay_snapshot == NULL || strcmp(relay_snapshot, text) != 0) {
		free(relay_snapshot);
		relay_snapshot = xstrdup(text);
	}
	if (!relay_ready)
		return;
	redisAsyncCommand(relay_conn.ac, NULL, NULL, "SET %s %s",
	    relay_stats_key, text);
	redisAsyncCommand(relay_conn.ac, NULL, NULL, "PUBLISH %s %s",
	    relay_stats_key, text);
}

/* The stream's last entry, read at connect: publish after it. */
static void
relay_last_cb(redisAsyncContext *ac, void *r, void *priv)
{
	redisReply	*reply = r, *e;
	char		*cause = NULL;
	int64_t		 last = 0, loglast;

	(void)ac;
	(void)priv;
	if (reply == NULL)
		return;
	if (reply->type != REDIS_REPLY_ARRAY) {
		metrics.relay_errors++;
		log_warnx("relay: XREVRANGE %s: %s", relay_key,
		    reply->type == REDIS_REPLY_ERROR ? reply->str :
		    "not an array");
		redis_drop(&relay_conn, RELAY_AHEAD_MS, "unexpected reply");
		return;
	}
	if (reply->elements > 0) {
		e = reply->element[0];
		if (e->type != REDIS_REPLY_ARRAY || e->elements < 1 ||
		    e->element[0]->type != REDIS_REPLY_STRING ||
		    relay_entry_id(e->element[0]->str, &last) == -1) {
			metrics.relay_errors++;
			log_warnx("relay: %s holds entries that are not "
			    "events (ids N-0): not publishing", relay_key);
			redis_drop(&relay_conn, RELAY_AHEAD_MS, "foreign stream");
			return;
		}
	}
	if (evlog_last(nconf.st, &loglast, &cause) != STORE_OK) {
		log_warnx("relay: %s", cause != NULL ? cause : "evlog_last");
		free(cause);
		redis_drop(&relay_conn, 0, "log unreadable");
		return;
	}
	if (last > loglast) {
		metrics.relay_errors++;
		log_warnx("relay: %s ends at event %lld, after the log's last "
		    "%lld: another primary writes it, or the database was "
		    "replaced; not publishing (delete the stream to start "
		    "over)", relay_key, (long long)last, (long long)loglast);
		redis_drop(&relay_conn, RELAY_AHEAD_MS, "stream ahead of the log");
		return;
	}
	log_info("relay: %s ends at event %lld, the log at %lld: publishing",
	    relay_key, (long long)last, (long long)loglast);
	relay_sent = last;
	metrics.relay_cursor = last;
	metrics.relay_up = 1;
	relay_ready = 1;
	relay_inflight = 0;
	if (relay_snapshot != NULL)
		relay_stats(relay_snapshot);
	ingest_stats_kick();
	relay_fill();
}

static void
relay_up(struct redis_conn *rc)
{
	relay_reply_at = main_now_ms();
	redisAsyncCommand(rc->ac, relay_last_cb, NULL,
	    "XREVRANGE %s + - COUNT 1", relay_key);
}

static void
relay_down(struct redis_conn *rc)
{
	(void)rc;
	relay_ready = 0;
	relay_inflight = 0;
	metrics.relay_up = 0;
}

/*
 * Once a second: the log's first id (the stream's trim point), the stall
 * check, and the backlog (events committed that no pass has read yet).
 */
static void
relay_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	char	*cause = NULL;
	int64_t	 first;

	(void)fd;
	(void)what;
	(void)arg;
	if (evlog_first(nconf.st, &first, &cause) == STORE_OK)
		relay_minid = first;
	free(cause);
	if (!relay_conn.up)
		return;
	/* Appends, or the connect's XREVRANGE, not answered. */
	if ((relay_inflight > 0 || !relay_ready) &&
	    main_now_ms() - relay_reply_at > RELAY_STALL_MS) {
		metrics.relay_errors++;
		redis_drop(&relay_conn, 0, "no reply for 10 s");
		return;
	}
	if (relay_ready)
		relay_fill();
}

/*
 * Start publishing to CFG's relay (a primary with relay set). Returns 0,
 * or -1 when the relay is not an address (config_load() checked it).
 */
int
relay_init(const struct config *cfg)
{
	struct timeval	tv = { 1, 0 };

	xasprintf(&relay_key, "%s", cfg->relay_stream);
	xasprintf(&relay_stats_key, "%s:stats", cfg->relay_stream);
	relay_conn.on_up = relay_up;
	relay_conn.on_down = relay_down;
	relay_tick = event_new(notifier_base, -1, EV_PERSIST, relay_tick_cb,
	    NULL);
	if (relay_tick == NULL || event_add(relay_tick, &tv) == -1)
		fatalx("relay: timer");
	relay_tick_cb(-1, 0, NULL);
	return redis_start(&relay_conn, "relay", cfg->relay);
}

void
relay_shutdown(void)
{
	if (relay_key == NULL)
		return;
	redis_stop(&relay_conn);
	relay_ready = 0;
	if (relay_tick != NULL) {
		event_free(relay_tick);
		relay_tick = NULL;
	}
	free(relay_key);
	free(relay_stats_key);
	free(relay_snapshot);
	relay_key = relay_stats_key = relay_snapshot = NULL;
}
