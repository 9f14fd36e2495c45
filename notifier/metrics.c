/*
 * metrics.c: counters in the Prometheus text format, served on the
 * metrics_listen address (loopback by default) to any GET. The page is
 * one table, metrics_rows: each sample with its family's name, type and
 * help, and the counter it reads; the exposition walks it.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <http_parser.h>

#include "goip.h"
#include "notifier.h"

struct metrics	metrics;

/*
 * The buckets of the ingest latency histogram, as B(bound in ms, index in
 * metrics.ingest_latency_le); the last index counts every latency (+Inf).
 */
#define METRICS_BUCKETS(B)	B(5, 0) B(10, 1) B(50, 2) B(100, 3) B(500, 4)
#define METRICS_BUCKET_INF	5

#define METRICS_BOUND(ms, i)	ms,
static const int64_t metrics_bounds[] = { METRICS_BUCKETS(METRICS_BOUND) };

/*
 * One sample of the page: the family NAME, what follows it on the
 * sample's line (a suffix such as "_sum", labels, or ""), the family's
 * TYPE and HELP (written once, before its first sample), and the counter.
 */
struct metrics_row {
	const char	*name;
	const char	*sample;
	const char	*type;
	const char	*help;
	const uint64_t	*value;
};

#define METRICS_LATENCY		"goip_notifier_ingest_latency_ms"
#define METRICS_LATENCY_HELP	"From the event's commit to its fan-out."
#define METRICS_BUCKET(ms, i)						\
	{ METRICS_LATENCY, "_bucket{le=\"" #ms "\"}", "histogram",	\
	    METRICS_LATENCY_HELP, &metrics.ingest_latency_le[i] },

static const struct metrics_row metrics_rows[] = {
	{ "goip_notifier_connections", "", "gauge",
	    "Open TCP connections.", &metrics.conns_open },
	{ "goip_notifier_connections_total", "", "counter",
	    "Accepted TCP connections.", &metrics.conns_total },
	{ "goip_notifier_sessions", "{transport=\"polling\"}", "gauge",
	    "Engine.IO sessions by transport.", &metrics.sessions_polling },
	{ "goip_notifier_sessions", "{transport=\"websocket\"}", "gauge",
	    "Engine.IO sessions by transport.", &metrics.sessions_websocket },
	{ "goip_notifier_clients", "", "gauge",
	    "Connected Socket.IO clients.", &metrics.sio_clients },
	{ "goip_notifier_events_in_total", "", "counter",
	    "Events read from the log.", &metrics.events_in },
	{ "goip_notifier_frames_out_total", "", "counter",
	    "Packets written to clients.", &metrics.frames_out },
	{ "goip_notifier_resumes_total", "", "counter",
	    "Room joins that replayed the log, and recovered sessions.",
	    &metrics.resumes },
	{ "goip_notifier_resyncs_total", "", "counter",
	    "Clients told to resync.", &metrics.resyncs },
	{ "goip_notifier_slow_disconnects_total", "", "counter",
	    "Clients disconnected for not reading.",
	    &metrics.slow_disconnects },
	{ "goip_notifier_relay_up", "", "gauge",
	    "1 while connected to the relay (relay = redis://...).",
	    &metrics.relay_up },
	{ "goip_notifier_relay_cursor", "", "gauge",
	    "Primary: last event the relay acknowledged; edge: last read.",
	    &metrics.relay_cursor },
	{ "goip_notifier_relay_published_total", "", "counter",
	    "Events appended to the relay's stream (primary).",
	    &metrics.relay_published },
	{ "goip_notifier_relay_errors_total", "", "counter",
	    "Failed relay commands and connections.", &metrics.relay_errors },
	{ "goip_notifier_joins_limited_total", "", "counter",
	    "Room joins refused by the per-session rate limit.",
	    &metrics.joins_limited },
	{ "goip_notifier_queue_overflows_total", "", "counter",
	    "Polling sessions closed for queueing too many packets.",
	    &metrics.queue_overflows },
	{ "goip_notifier_rejected_total", "", "counter",
	    "Connections and sessions refused by the limits.",
	    &metrics.rejected },
	METRICS_BUCKETS(METRICS_BUCKET)
	{ METRICS_LATENCY, "_bucket{le=\"+Inf\"}", "histogram",
	    METRICS_LATENCY_HELP,
	    &metrics.ingest_latency_le[METRICS_BUCKET_INF] },
	{ METRICS_LATENCY, "_sum", "histogram", METRICS_LATENCY_HELP,
	    &metrics.ingest_latency_ms_sum },
	{ METRICS_LATENCY, "_count", "histogram", METRICS_LATENCY_HELP,
	    &metrics.ingest_latency_count },
};

/* Listen for metrics requests on ADDR. Returns 0, or -1. */
int
metrics_listen(const char *addr)
{
	return server_listen(addr, CONN_METRICS);
}

/* Account one ingest-to-fan-out latency of MS milliseconds. */
void
metrics_latency(int64_t ms)
{
	size_t	i;

	if (ms < 0)
		ms = 0;
	metrics.ingest_latency_ms_sum += ms;
	metrics.ingest_latency_count++;
	for (i = 0; i < sizeof(metrics_bounds) / sizeof(metrics_bounds[0]);
	    i++) {
		if (ms <= metrics_bounds[i])
			metrics.ingest_latency_le[i]++;
	}
	metrics.ingest_latency_le[METRICS_BUCKET_INF]++;
}

/*
 * Answer a request on the metrics listener (any path; QUERY is not
 * read): 405 unless GET, else the page, one line per row of metrics_rows
 * after its family's HELP and TYPE. Memory short: C is closed.
 */
void
metrics_request(struct conn *c, const char *query)
{
	const struct metrics_row	*r, *prev = NULL;
	struct evbuffer			*b;
	size_t				 i;

	(void)query;
	if (c->method != HTTP_GET) {
		http_reply(c, 405, "text/plain", "", 0, "Allow: GET\r\n");
		return;
	}
	if ((b = evbuffer_new()) == NULL) {
		server_close(c);
		return;
	}
	for (i = 0; i < sizeof(metrics_rows) / sizeof(metrics_rows[0]); i++) {
		r = &metrics_rows[i];
		if ((prev == NULL || strcmp(prev->name, r->name) != 0) &&
		    evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n",
		    r->name, r->help, r->name, r->type) < 0)
			goto fail;
		if (evbuffer_add_printf(b, "%s%s %llu\n", r->name, r->sample,
		    (unsigned long long)*r->value) < 0)
			goto fail;
		prev = r;
	}
	http_reply_buffer(c, 200, "text/plain; version=0.0.4", b, NULL);
	evbuffer_free(b);
	return;
fail:
	evbuffer_free(b);
	server_close(c);
}
