/*
 * sweep.c: the liveness sweep. Every second, devices silent for longer
 * than offline_after are marked offline in the store (device_sweep()
 * appends their device-status-change events), and the new events are
 * ingested at once. Once an hour a prune pass starts (lib/prune.c: events
 * older than event_retention, SMS older than sms_retention): a few batches
 * of PRUNE_BATCH rows per tick, each its own transaction, for at most
 * SWEEP_PRUNE_BUDGET_MS of the loop's time, until the pass is done. A batch
 * that finds the database busy is tried again on the next tick.
 */
#include "config.h"

#include <stdlib.h>
#include <time.h>

#include <event2/event.h>

#include "goip.h"
#include "notifier.h"

#define SWEEP_PRUNE_MS	(3600 * 1000)
#define SWEEP_PRUNE_BUDGET_MS 10	/* loop time per tick for batches */

static struct event	*sweep_ev;
static int64_t		 sweep_pruned_at;
static struct prune	 sweep_prune;
static int		 sweep_pruning;	/* a pass is under way */

/*
 * Run batches of the prune pass for up to SWEEP_PRUNE_BUDGET_MS; the pass
 * goes on at the next tick until it is done.
 */
static void
sweep_prune_run(int64_t now)
{
	char		*cause = NULL;
	int64_t		 t0 = util_mono_ms();
	enum store_rc	 rc;

	do {
		rc = prune_step(nconf.st, nconf.cfg, now, &sweep_prune,
		    &cause);
	} while (rc == STORE_OK && !sweep_prune.done &&
	    util_mono_ms() - t0 < SWEEP_PRUNE_BUDGET_MS);
	if (rc != STORE_OK) {
		log_info("sweep: prune: %s (again next tick)",
		    cause != NULL ? cause : "?");
		free(cause);
	} else if (sweep_prune.done) {
		sweep_pruning = 0;
		if (sweep_prune.total[PRUNE_EVENTS] > 0 ||
		    sweep_prune.total[PRUNE_SMS] > 0)
			log_info("sweep: pruned %lld events, %lld sms",
			    (long long)sweep_prune.total[PRUNE_EVENTS],
			    (long long)sweep_prune.total[PRUNE_SMS]);
	}
}

static void
sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sweep_result	 res;
	char			*cause = NULL;
	int64_t			 now = main_now_ms();

	(void)fd;
	(void)what;
	(void)arg;
	if (device_sweep(nconf.st, now, nconf.cfg->offline_after, &res,
	    &cause) != STORE_OK) {
		log_warnx("sweep: %s", cause != NULL ? cause : "device_sweep");
		free(cause);
	} else if (res.evid != 0) {
		if (res.offline > 0)
			log_info("sweep: %d device%s offline", res.offline,
			    res.offline == 1 ? "" : "s");
		if (res.expired > 0)
			log_info("sweep: %d sms expired", res.expired);
		ingest_poll();
	}
	if (nconf.cfg != NULL && !sweep_pruning &&
	    now - sweep_pruned_at >= SWEEP_PRUNE_MS) {
		sweep_pruned_at = now;
		sweep_pruning = 1;
	}
	if (sweep_pruning)
		sweep_prune_run(now);
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
