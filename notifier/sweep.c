/*
 * sweep.c: the liveness sweep. Every second, devices silent for longer
 * than offline_after are marked offline in the store (device_sweep()
 * appends their device-status-change events), and the new events are
 * ingested at once. Once an hour, events older than event_retention are
 * pruned from the log.
 */
#include "config.h"

#include <stdlib.h>

#include <event2/event.h>

#include "goip.h"
#include "notifier.h"

#define SWEEP_PRUNE_MS	(3600 * 1000)

static struct event	*sweep_ev;
static int64_t		 sweep_pruned_at;

static void
sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	char	*cause = NULL;
	int64_t	 last = 0, now = main_now_ms();
	int	 n;

	(void)fd;
	(void)what;
	(void)arg;
	n = device_sweep(nconf.st, now, nconf.cfg->offline_after, &last,
	    &cause);
	if (n < 0) {
		log_warnx("sweep: %s", cause != NULL ? cause : "device_sweep");
		free(cause);
		cause = NULL;
	} else if (n > 0) {
		log_info("sweep: %d device%s offline", n, n == 1 ? "" : "s");
		ingest_poll();
	}
	if (nconf.cfg != NULL && nconf.cfg->event_retention > 0 &&
	    now - sweep_pruned_at >= SWEEP_PRUNE_MS) {
		sweep_pruned_at = now;
		if (evlog_prune(nconf.st, now - nconf.cfg->event_retention,
		    &cause) < 0) {
			log_warnx("sweep: prune: %s", cause != NULL ? cause :
			    "?");
			free(cause);
		}
	}
}

/* Start the sweep timer. */
void
sweep_init(void)
{
	struct timeval	tv = { 1, 0 };

	sweep_pruned_at = main_now_ms();
	sweep_ev = event_new(notifier_base, -1, EV_PERSIST, sweep_cb, NULL);
	if (sweep_ev == NULL || event_add(sweep_ev, &tv) == -1)
		fatalx("sweep: event_add");
}

void
sweep_shutdown(void)
{
	if (sweep_ev != NULL) {
		event_free(sweep_ev);
		sweep_ev = NULL;
	}
}
