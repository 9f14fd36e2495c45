/*
 * endpoint.c: the endpoints of goip-webhookd and what each sends when.
 *
 * Every WEBHOOKD_POLL_MS the log's last id is read (one index lookup);
 * every WEBHOOKD_RELOAD_MS the webhooks table is read again, so what
 * goipctl changes takes effect within a second. Each endpoint reads the
 * log from its own cursor, WEBHOOKD_BATCH events at a time, skips the
 * events its filter leaves out (the cursor moves past them too) and sends
 * the rest one at a time, in id order: the next only after the previous
 * got a 2xx, which moves the cursor and persists it. A failure is retried
 * after a back-off of 1 s doubling up to webhook_retry_max, each drawn
 * between half and all of that (jitter, so endpoints that failed together
 * do not retry together); an endpoint failing for webhook_max_age is
 * disabled and a webhook-disabled event logged. Endpoints are independent:
 * each has its own request, timer and cursor.
 *
 * Delivery is at least once: a crash after a 2xx and before the cursor is
 * written sends that event again, with the same X-Goip-Delivery.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/random.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "goip.h"
#include "webhookd.h"

static struct endpoints	 endpoints = TAILQ_HEAD_INITIALIZER(endpoints);
static struct event	*endpoint_poll;
static int64_t		 endpoint_last;		/* the log's last id */
static int64_t		 endpoint_reloaded;	/* mono ms of the last reload */

static void	endpoint_kick(struct endpoint *);

const struct endpoints *
endpoint_list(void)
{
	return &endpoints;
}

/* The log's last id as last read. */
int64_t
endpoint_log_last(void)
{
	return endpoint_last;
}

/*
 * How long the oldest event EP has read and not delivered has waited, in
 * ms at NOW (unix ms), 0 when it has none in hand.
 */
int64_t
endpoint_lag_ms(const struct endpoint *ep, int64_t now)
{
	if (ep->qlen == 0 || !ep->enabled)
		return 0;
	return now > ep->queue[ep->qhead].at ? now - ep->queue[ep->qhead].at :
	    0;
}

/* Drop the events EP has read ahead. */
static void
endpoint_flush(struct endpoint *ep)
{
	int	 i;

	for (i = 0; i < ep->qlen; i++)
		evlog_clear(&ep->queue[(ep->qhead + i) % WEBHOOKD_BATCH], 1);
	ep->qhead = ep->qlen = 0;
}

static void
endpoint_free(struct endpoint *ep)
{
	deliver_cancel(ep->inflight);
	endpoint_flush(ep);
	if (ep->timer != NULL)
		event_free(ep->timer);
	free(ep->url);
	free(ep->device);
	if (ep->secret != NULL) {
		explicit_bzero(ep->secret, strlen(ep->secret));
		free(ep->secret);
	}
	free(ep);
}

/* Persist a cursor moved past filtered events. Failures wait for later. */
static void
endpoint_save(struct endpoint *ep)
{
	struct webhook_attempt	 a;
	char			*cause = NULL;

	if (ep->saved >= ep->cursor)
		return;
	memset(&a, 0, sizeof(a));
	a.id = ep->id;
	a.cursor = ep->cursor;
	if (webhook_record(wconf.st, &a, &cause) == STORE_OK)
		ep->saved = ep->cursor;
	free(cause);
}

/* The timer of EP: a back-off ended, or a kick was asked for. */
static void
endpoint_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	endpoint_kick(arg);
}

/* Run endpoint_kick(EP) after MS milliseconds (0: on the next turn). */
static void
endpoint_later(struct endpoint *ep, int64_t ms)
{
	struct timeval	 tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(ep->timer, &tv);
}

/*
 * Copy the settings of ROW into EP. Returns 0, or -1 when out of memory
 * or the stored event list is bad (then EP keeps its old settings).
 */
static int
endpoint_settings(struct endpoint *ep, const struct webhook_row *row)
{
	char		*url, *secret, *device = NULL, *cause = NULL;
	unsigned int	 mask;

	if (webhook_events_parse(row->events, &mask, &cause) == -1) {
		log_warnx("endpoint %lld: %s", (long long)row->id, cause);
		free(cause);
		return -1;
	}
	url = strdup(row->url);
	secret = strdup(row->secret);
	if (row->device != NULL)
		device = strdup(row->device);
	if (url == NULL || secret == NULL || (row->device != NULL &&
	    device == NULL)) {
		free(url);
		free(secret);
		free(device);
		return -1;
	}
	if (ep->mask != mask || (ep->device == NULL) != (device == NULL) ||
	    (device != NULL && strcmp(ep->device, device) != 0))
		endpoint_flush(ep);	/* read again with the new filter */
	free(ep->url);
	free(ep->device);
	if (ep->secret != NULL) {
		explicit_bzero(ep->secret, strlen(ep->secret));
		free(ep->secret);
	}
	ep->url = url;
	ep->secret = secret;
	ep->device = device;
	ep->mask = mask;
	ep->ping_seq = row->ping_seq;
	return 0;
}

/* A new endpoint for ROW, or NULL. */
static struct endpoint *
endpoint_new(const struct webhook_row *row)
{
	struct endpoint	*ep;

	if ((ep = calloc(1, sizeof(*ep))) == NULL)
		return NULL;
	ep->id = row->id;
	if ((ep->timer = evtimer_new(wconf.base, endpoint_timer_cb, ep)) ==
	    NULL || endpoint_settings(ep, row) == -1) {
		endpoint_free(ep);
		return NULL;
	}
	ep->enabled = row->enabled;
	ep->cursor = ep->saved = row->cursor;
	ep->failing_since = row->failing_since;
	ep->delivered = row->delivered;
	ep->failed = row->failed;
	ep->retries = row->retries;
	ep->ping_done = row->ping_done;
	log_info("endpoint %lld: loaded (%s, cursor %lld)", (long long)ep->id,
	    ep->enabled ? "enabled" : "disabled", (long long)ep->cursor);
	return ep;
}

/* Apply the enabled flag and failure state of ROW to the running EP. */
static void
endpoint_state(struct endpoint *ep, const struct webhook_row *row)
{
	if (row->enabled && !ep->enabled) {
		/* "goipctl webhook enable": resume from the cursor. */
		ep->enabled = 1;
		ep->failing_since = 0;
		ep->attempts = 0;
		if (row->cursor > ep->cursor)
			ep->cursor = ep->saved = row->cursor;
		evtimer_del(ep->timer);
		log_info("endpoint %lld: enabled, from event %lld",
		    (long long)ep->id, (long long)ep->cursor);
	} else if (!row->enabled && ep->enabled) {
		ep->enabled = 0;
		endpoint_flush(ep);
		evtimer_del(ep->timer);
		log_info("endpoint %lld: disabled", (long long)ep->id);
	}
}

/*
 * Read the webhooks table and bring the running endpoints in line: new
 * ones start, removed ones stop (a request in flight is abandoned),
 * changed settings apply to the next request. A store failure keeps
 * everything as it was until the next reload.
 */
static void
endpoint_reload(void)
{
	struct webhook_row	*rows;
	struct endpoint		*ep, *next;
	char			*cause = NULL;
	int			 n, i;

	if (webhook_load(wconf.st, &rows, &n, &cause) != STORE_OK) {
		log_warnx("endpoint: %s", cause != NULL ? cause : "load");
		free(cause);
		return;
	}
	TAILQ_FOREACH(ep, &endpoints, entry)
		ep->gone = 1;
	for (i = 0; i < n; i++) {
		TAILQ_FOREACH(ep, &endpoints, entry)
			if (ep->id == rows[i].id)
				break;
		if (ep == NULL) {
			if ((ep = endpoint_new(&rows[i])) != NULL)
				TAILQ_INSERT_TAIL(&endpoints, ep, entry);
			continue;
		}
		ep->gone = 0;
		endpoint_settings(ep, &rows[i]);
		endpoint_state(ep, &rows[i]);
	}
	webhook_rows_free(rows, n);
	TAILQ_FOREACH_SAFE(ep, &endpoints, entry, next) {
		if (!ep->gone)
			continue;
		log_info("endpoint %lld: removed", (long long)ep->id);
		TAILQ_REMOVE(&endpoints, ep, entry);
		endpoint_free(ep);
	}
}

/*
 * Read the next events of EP after its cursor into its queue, skipping
 * (and moving the cursor past) those its filter leaves out. Returns 0, or
 * -1 when the store failed (logged; the next poll tries again).
 */
static int
endpoint_read(struct endpoint *ep)
{
	struct event		 evs[WEBHOOKD_BATCH];
	struct event_page	 page;
	char			*cause = NULL;
	int			 n, i;

	page.after = ep->cursor;
	page.device = ep->device;
	page.max = WEBHOOKD_BATCH;
	if (evlog_read(wconf.st, &page, evs, &n, &cause) != STORE_OK) {
		log_warnx("endpoint %lld: %s", (long long)ep->id,
		    cause != NULL ? cause : "evlog_read");
		free(cause);
		return -1;
	}
	for (i = 0; i < n; i++) {
		/*
		 * A filtered event moves the cursor only while nothing before
		 * it waits; after one that waits it is read and skipped again
		 * once that one is delivered.
		 */
		if ((ep->mask & (1U << evs[i].type)) == 0) {
			if (ep->qlen == 0)
				ep->cursor = evs[i].id;
			evlog_clear(&evs[i], 1);
			continue;
		}
		ep->queue[(ep->qhead + ep->qlen++) % WEBHOOKD_BATCH] = evs[i];
	}
	/*
	 * A device's read sees only its events: none up to the log's last
	 * id means the cursor may pass all of them.
	 */
	if (n < WEBHOOKD_BATCH && ep->qlen == 0 && ep->device != NULL &&
	    endpoint_last > ep->cursor)
		ep->cursor = endpoint_last;
	return 0;
}

/*
 * Start EP's next request if it may send one: not while one is in flight
 * or a back-off runs; a ping asked for goes first, even to a disabled
 * endpoint; then the oldest event read, reading more when none is left.
 */
static void
endpoint_kick(struct endpoint *ep)
{
	int	 ping;

	if (ep->inflight != NULL)
		return;
	ping = ep->ping_seq > ep->ping_done;
	if (!ping && (!ep->enabled || evtimer_pending(ep->timer, NULL)))
		return;
	if (ping) {
		if (deliver_start(ep, NULL, ep->ping_seq) == -1)
			endpoint_later(ep, 1000);
		return;
	}
	if (ep->qlen == 0 && endpoint_last > ep->cursor &&
	    endpoint_read(ep) == -1)
		return;
	if (ep->qlen == 0) {
		endpoint_save(ep);
		return;
	}
	if (deliver_start(ep, &ep->queue[ep->qhead], 0) == -1) {
		log_warnx("endpoint %lld: cannot start a request",
		    (long long)ep->id);
		endpoint_later(ep, 1000);
	}
}

/* The back-off before retry number ATTEMPTS, in ms, with jitter. */
static int64_t
endpoint_backoff(int attempts)
{
	int64_t		 d = 1000;
	uint32_t	 r = 0;

	while (--attempts > 0 && d < wconf.cfg->webhook_retry_max)
		d *= 2;
	if (d > wconf.cfg->webhook_retry_max)
		d = wconf.cfg->webhook_retry_max;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (uint32_t)util_mono_ms();
	return d / 2 + (int64_t)(r % (uint32_t)(d / 2 + 1));
}

/*
 * Record O for the ping of EP (its ping_done moves even when it failed:
 * "goipctl webhook test" reads the result).
 */
static void
endpoint_ping_done(struct endpoint *ep, const struct outcome *o)
{
	struct webhook_attempt	 a;
	char			*cause = NULL;

	memset(&a, 0, sizeof(a));
	a.id = ep->id;
	a.now = util_now_ms();
	a.status = o->status;
	a.error = o->ok ? NULL : o->error;
	a.ping = o->ping;
	if (webhook_record(wconf.st, &a, &cause) != STORE_OK)
		log_warnx("endpoint %lld: ping: %s", (long long)ep->id,
		    cause != NULL ? cause : "cannot record");
	free(cause);
	ep->ping_done = o->ping;
	log_info("endpoint %lld: ping: %s", (long long)ep->id,
	    o->ok ? "delivered" : o->error);
}

/* EP failed for longer than webhook_max_age: disable it, log the event. */
static void
endpoint_give_up(struct endpoint *ep, const char *why)
{
	char	*cause = NULL;
	int64_t	 evid;

	if (webhook_give_up(wconf.st, ep->id, why, &evid, &cause) !=
	    STORE_OK) {
		log_warnx("endpoint %lld: cannot disable: %s",
		    (long long)ep->id, cause != NULL ? cause : "?");
		free(cause);
		endpoint_later(ep, 1000);
		return;
	}
	log_warnx("endpoint %lld: failing for longer than webhook_max_age: "
	    "disabled at event %lld", (long long)ep->id,
	    (long long)ep->cursor + 1);
	ep->enabled = 0;
	endpoint_flush(ep);
	if (evid > 0)
		evlog_notify(wconf.cfg->notify_socket, evid);
}

/*
 * The request of EP ended with O (deliver.c). A 2xx moves the cursor and
 * sends the next event on the next turn; anything else is recorded and
 * retried after a back-off, or gives up after webhook_max_age.
 */
void
endpoint_done(struct endpoint *ep, const struct outcome *o)
{
	struct webhook_attempt	 a;
	char			*cause = NULL;
	int64_t			 now = util_now_ms(), delay;

	ep->last_status = o->status;
	if (o->ping != 0) {
		endpoint_ping_done(ep, o);
		if (!evtimer_pending(ep->timer, NULL))
			endpoint_later(ep, 0);
		return;
	}
	memset(&a, 0, sizeof(a));
	a.id = ep->id;
	a.cursor = o->event;
	a.now = now;
	a.status = o->status;
	a.retry = ep->attempts > 0;
	a.error = o->ok ? NULL : o->error;
	if (webhook_record(wconf.st, &a, &cause) != STORE_OK) {
		log_warnx("endpoint %lld: cannot record event %lld: %s",
		    (long long)ep->id, (long long)o->event,
		    cause != NULL ? cause : "?");
		free(cause);
	}
	if (a.retry)
		ep->retries++;
	if (o->ok) {
		ep->delivered++;
		if (o->event > ep->cursor)
			ep->cursor = ep->saved = o->event;
		ep->attempts = 0;
		ep->failing_since = 0;
		/* The queue may have been dropped meanwhile (disabled). */
		if (ep->qlen > 0 && ep->queue[ep->qhead].id == o->event) {
			evlog_clear(&ep->queue[ep->qhead], 1);
			ep->qhead = (ep->qhead + 1) % WEBHOOKD_BATCH;
			ep->qlen--;
		}
		endpoint_later(ep, 0);
		return;
	}
	ep->failed++;
	if (ep->failing_since == 0)
		ep->failing_since = now;
	if (ep->attempts < 64)
		ep->attempts++;
	if (!ep->enabled)
		return;		/* disabled while the request ran */
	if (now - ep->failing_since >= wconf.cfg->webhook_max_age) {
		endpoint_give_up(ep, o->error);
		return;
	}
	delay = endpoint_backoff(ep->attempts);
	log_info("endpoint %lld: event %lld: %s; retry %d in %lld ms",
	    (long long)ep->id, (long long)o->event, o->error, ep->attempts,
	    (long long)delay);
	endpoint_later(ep, delay);
}

/* The poll timer: the log's last id, the table now and then, then kicks. */
static void
endpoint_poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct endpoint	*ep;
	char		*cause = NULL;
	int64_t		 last, mono = util_mono_ms();

	(void)fd;
	(void)what;
	(void)arg;
	if (mono - endpoint_reloaded >= WEBHOOKD_RELOAD_MS) {
		endpoint_reload();
		endpoint_reloaded = mono;
	}
	if (evlog_last(wconf.st, &last, &cause) != STORE_OK) {
		log_warnx("endpoint: %s", cause != NULL ? cause : "evlog_last");
		free(cause);
		return;
	}
	endpoint_last = last;
	TAILQ_FOREACH(ep, &endpoints, entry)
		endpoint_kick(ep);
}

/* Load the endpoints and start polling. */
void
endpoint_init(void)
{
	struct timeval	 tv = { 0, WEBHOOKD_POLL_MS * 1000 };

	if ((endpoint_poll = event_new(wconf.base, -1, EV_PERSIST,
	    endpoint_poll_cb, NULL)) == NULL || event_add(endpoint_poll,
	    &tv) == -1)
		fatalx("endpoint: cannot start the poll timer");
	endpoint_reloaded = util_mono_ms();
	endpoint_reload();
	endpoint_poll_cb(-1, 0, NULL);
}

/*
 * Stop: abandon the requests in flight (their events go again after a
 * restart), persist cursors moved past filtered events, free everything.
 */
void
endpoint_shutdown(void)
{
	struct endpoint	*ep;

	if (endpoint_poll != NULL)
		event_free(endpoint_poll);
	endpoint_poll = NULL;
	while ((ep = TAILQ_FIRST(&endpoints)) != NULL) {
		TAILQ_REMOVE(&endpoints, ep, entry);
		if (ep->inflight == NULL)
			endpoint_save(ep);
		endpoint_free(ep);
	}
}
