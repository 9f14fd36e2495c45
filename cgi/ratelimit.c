/*
 * ratelimit.c: the per-device request rate limit, one token bucket per
 * device (device_rate tokens a second, at most device_burst of them),
 * checked right after the device's token is authenticated and before its
 * body is parsed. The buckets live in this process's memory: N goip-cgi
 * processes give N buckets per device (goip-cgi(8)). The table grows by
 * one small entry per device that ever called, and devices exist only
 * when an operator adds them, so it is bounded by the devices table.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "goip.h"
#include "cgi.h"

#define RATELIMIT_BUCKETS	1024	/* hash chains, a power of two */

struct bucket {
	struct bucket	*next;
	int64_t		 device;	/* devices.id */
	int64_t		 milli;		/* tokens, in thousandths */
	int64_t		 at;		/* monotonic ms of the last refill */
};

static struct bucket	*ratelimit_table[RATELIMIT_BUCKETS];

/* Milliseconds on the monotonic clock. */
static int64_t
ratelimit_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Take one token from DEVICE's bucket at time NOW (ms): RATE tokens a
 * second refill it, up to BURST. Returns 0 when the request may go on,
 * else how many milliseconds until a token is there (at least 1). A
 * bucket that cannot be allocated lets the request through: refusing a
 * device for our own shortage of memory would be worse than not limiting.
 */
static int64_t
ratelimit_take(int64_t device, int64_t rate, int64_t burst, int64_t now)
{
	struct bucket	**head, *b;
	int64_t		  full = burst * 1000;

	if (rate <= 0)
		return 0;
	head = &ratelimit_table[(uint64_t)device & (RATELIMIT_BUCKETS - 1)];
	for (b = *head; b != NULL; b = b->next)
		if (b->device == device)
			break;
	if (b == NULL) {
		if ((b = malloc(sizeof(*b))) == NULL)
			return 0;
		b->device = device;
		b->milli = full;
		b->at = now;
		b->next = *head;
		*head = b;
	}
	if (now > b->at) {
		/* Whole elapsed time at once: no overflow below ~292 years. */
		if (now - b->at >= full / rate + 1)
			b->milli = full;
		else if ((b->milli += (now - b->at) * rate) > full)
			b->milli = full;
		b->at = now;
	}
	if (b->milli >= 1000) {
		b->milli -= 1000;
		return 0;
	}
	return ((1000 - b->milli) + rate - 1) / rate;
}

/*
 * Check the authenticated device of REQ against its bucket. Returns 0, or
 * -1 once answered 429 with Retry-After (whole seconds, rounded up).
 */
int
ratelimit_check(struct request *req)
{
	const struct config	*cfg = req->cfg;
	char			 line[64];
	int64_t			 wait;

	wait = ratelimit_take(req->device_rowid, cfg->device_rate,
	    cfg->device_burst, ratelimit_now());
	if (wait == 0)
		return 0;
	log_debug("cgi: device %s over its rate limit", req->device);
	snprintf(line, sizeof(line), "Retry-After: %lld",
	    (long long)((wait + 999) / 1000));
	reply_header(req, 429, line);
	reply_error(req, 429, "too many requests from this device", NULL);
	return -1;
}
