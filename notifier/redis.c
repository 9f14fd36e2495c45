/*
 * redis.c: one asynchronous connection to the relay (hiredis on the
 * notifier's libevent loop), for relay.c and edge.c. It connects, selects
 * the database of the relay's URL, turns TCP keep-alive on, and when the
 * connection fails or is dropped it tries again every REDIS_RETRY_MS (or
 * the delay the dropper asked for), with one log line per outage and one
 * when it is back. Its owner's hooks run when it is up and when it goes.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>

#include "goip.h"
#include "notifier.h"

#define REDIS_RETRY_MS	1000	/* reconnect after */

static void	redis_connect(struct redis_conn *);

static void
redis_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	redis_connect(arg);
}

/* Try again in MS milliseconds, unless stopped. */
static void
redis_later(struct redis_conn *rc, int64_t ms)
{
	struct timeval	tv;

	if (rc->stopped || rc->retry == NULL)
		return;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(rc->retry, &tv);
}

/* The connection failed or went (WHY): say so once per outage. */
static void
redis_lost(struct redis_conn *rc, const char *why)
{
	int	was = rc->up;

	rc->ac = NULL;
	rc->up = 0;
	if (rc->stopped)
		return;
	if (!rc->down) {
		rc->down = 1;
		log_warnx("%s: redis://%s:%d: %s: retrying every second",
		    rc->name, rc->url.host, rc->url.port, why);
	}
	if (was && rc->on_down != NULL)
		rc->on_down(rc);
	redis_later(rc, rc->delay > 0 ? rc->delay : REDIS_RETRY_MS);
	rc->delay = 0;
}

static void
redis_connect_cb(const redisAsyncContext *ac, int status)
{
	struct redis_conn	*rc = ac->data;

	if (status != REDIS_OK) {
		redis_lost(rc, ac->errstr);	/* hiredis frees ac */
		return;
	}
	redisEnableKeepAlive((redisContext *)&ac->c);
	rc->up = 1;
	if (rc->down)
		log_info("%s: redis://%s:%d: connected again", rc->name,
		    rc->url.host, rc->url.port);
	else
		log_info("%s: redis://%s:%d: connected", rc->name,
		    rc->url.host, rc->url.port);
	rc->down = 0;
	if (rc->url.db != 0)
		redisAsyncCommand(rc->ac, NULL, NULL, "SELECT %d", rc->url.db);
	if (rc->on_up != NULL)
		rc->on_up(rc);
}

static void
redis_disconnect_cb(const redisAsyncContext *ac, int status)
{
	struct redis_conn	*rc = ac->data;

	redis_lost(rc, status == REDIS_OK ? "closed" :
	    ac->errstr[0] != '\0' ? ac->errstr : "connection lost");
}

/* Start connecting RC; a failure is retried (redis_lost()). */
static void
redis_connect(struct redis_conn *rc)
{
	redisAsyncContext	*ac;

	if (rc->stopped || rc->ac != NULL)
		return;
	if ((ac = redisAsyncConnect(rc->url.host, rc->url.port)) == NULL) {
		redis_lost(rc, "out of memory");
		return;
	}
	if (ac->err) {
		redis_lost(rc, ac->errstr);
		redisAsyncFree(ac);
		return;
	}
	ac->data = rc;
	rc->ac = ac;
	if (redisLibeventAttach(ac, notifier_base) != REDIS_OK ||
	    redisAsyncSetConnectCallback(ac, redis_connect_cb) != REDIS_OK ||
	    redisAsyncSetDisconnectCallback(ac, redis_disconnect_cb) !=
	    REDIS_OK) {
		rc->ac = NULL;
		redisAsyncFree(ac);
		redis_lost(rc, "cannot attach to the event loop");
	}
}

/*
 * Connect RC to the relay at URL (config_relay_url() syntax) under NAME
 * (for log lines). Returns 0, or -1 when URL is not a relay address.
 */
int
redis_start(struct redis_conn *rc, const char *name, const char *url)
{
	if (config_relay_url(url, &rc->url) == -1)
		return -1;
	rc->name = name;
	if ((rc->retry = evtimer_new(notifier_base, redis_retry_cb, rc)) ==
	    NULL)
		fatalx("%s: evtimer_new", name);
	redis_connect(rc);
	return 0;
}

/*
 * Drop RC's connection (WHY is logged) and connect again after MS
 * milliseconds (0: the usual delay). Pending commands get a NULL reply.
 */
void
redis_drop(struct redis_conn *rc, int64_t ms, const char *why)
{
	if (rc->ac == NULL)
		return;
	log_warnx("%s: %s: reconnecting", rc->name, why);
	rc->delay = ms;
	redisAsyncDisconnect(rc->ac);
}

/* Close RC for good (shutting down). */
void
redis_stop(struct redis_conn *rc)
{
	redisAsyncContext	*ac = rc->ac;

	rc->stopped = 1;
	rc->on_down = NULL;
	if (ac != NULL) {
		rc->ac = NULL;
		redisAsyncFree(ac);
	}
	if (rc->retry != NULL) {
		event_free(rc->retry);
		rc->retry = NULL;
	}
}
