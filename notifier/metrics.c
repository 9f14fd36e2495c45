/*
 * metrics.c: counters in the Prometheus text format, served on the
 * metrics_listen address (loopback by default) to any GET.
 */
#include "config.h"

#include <stdio.h>

#include <event2/buffer.h>
#include <http_parser.h>

#include "goip.h"
#include "notifier.h"

struct metrics	metrics;

static const int64_t metrics_bounds[5] = { 5, 10, 50, 100, 500 };

/* Listen for metrics requests on ADDR. Returns 0, or -1. */
int
metrics_listen(const char *addr)
{
	return http_listen(addr, CONN_METRICS);
}

/* Account one ingest-to-fan-out latency of MS milliseconds. */
void
metrics_latency(int64_t ms)
{
	int	i;

	if (ms < 0)
		ms = 0;
	metrics.ingest_latency_ms_sum += ms;
	metrics.ingest_latency_count++;
	for (i = 0; i < 5; i++) {
		if (ms <= metrics_bounds[i])
			metrics.ingest_latency_le[i]++;
	}
	metrics.ingest_latency_le[5]++;
}

#define M(name, type, help, fmt, ...)					\
	evbuffer_add_printf(b, "# HELP " name " " help "\n# TYPE " name	\
	    " " type "\n" fmt, __VA_ARGS__)

void
metrics_request(struct conn *c)
{
	struct evbuffer	*b;
	int		 i;

	if (c->method != HTTP_GET) {
		http_reply(c, 405, "text/plain", "", 0, "Allow: GET\r\n");
		return;
	}
	if ((b = evbuffer_new()) == NULL) {
		http_close(c);
		return;
	}
	M("goip_notifier_connections", "gauge", "Open TCP connections.",
	    "goip_notifier_connections %llu\n",
	    (unsigned long long)metrics.conns_open);
	M("goip_notifier_connections_total", "counter",
	    "Accepted TCP connections.",
	    "goip_notifier_connections_total %llu\n",
	    (unsigned long long)metrics.conns_total);
	M("goip_notifier_sessions", "gauge",
	    "Engine.IO sessions by transport.",
	    "goip_notifier_sessions{transport=\"polling\"} %llu\n"
	    "goip_notifier_sessions{transport=\"websocket\"} %llu\n",
	    (unsigned long long)metrics.sessions_polling,
	    (unsigned long long)metrics.sessions_websocket);
	M("goip_notifier_clients", "gauge", "Connected Socket.IO clients.",
	    "goip_notifier_clients %llu\n",
	    (unsigned long long)metrics.sio_clients);
	M("goip_notifier_events_in_total", "counter",
	    "Events read from the log.",
	    "goip_notifier_events_in_total %llu\n",
	    (unsigned long long)metrics.events_in);
	M("goip_notifier_frames_out_total", "counter",
	    "Packets written to clients.",
	    "goip_notifier_frames_out_total %llu\n",
	    (unsigned long long)metrics.frames_out);
	M("goip_notifier_resumes_total", "counter",
	    "Room joins that replayed the log, and recovered sessions.",
	    "goip_notifier_resumes_total %llu\n",
	    (unsigned long long)metrics.resumes);
	M("goip_notifier_resyncs_total", "counter",
	    "Clients told to resync.", "goip_notifier_resyncs_total %llu\n",
	    (unsigned long long)metrics.resyncs);
	M("goip_notifier_slow_disconnects_total", "counter",
	    "Clients disconnected for not reading.",
	    "goip_notifier_slow_disconnects_total %llu\n",
	    (unsigned long long)metrics.slow_disconnects);
	M("goip_notifier_joins_limited_total", "counter",
	    "Room joins refused by the per-session rate limit.",
	    "goip_notifier_joins_limited_total %llu\n",
	    (unsigned long long)metrics.joins_limited);
	M("goip_notifier_queue_overflows_total", "counter",
	    "Polling sessions closed for queueing too many packets.",
	    "goip_notifier_queue_overflows_total %llu\n",
	    (unsigned long long)metrics.queue_overflows);
	M("goip_notifier_rejected_total", "counter",
	    "Connections and sessions refused by the limits.",
	    "goip_notifier_rejected_total %llu\n",
	    (unsigned long long)metrics.rejected);
	evbuffer_add_printf(b, "# HELP goip_notifier_ingest_latency_ms "
	    "From the event's commit to its fan-out.\n"
	    "# TYPE goip_notifier_ingest_latency_ms histogram\n");
	for (i = 0; i < 5; i++)
		evbuffer_add_printf(b,
		    "goip_notifier_ingest_latency_ms_bucket{le=\"%lld\"} %llu\n",
		    (long long)metrics_bounds[i],
		    (unsigned long long)metrics.ingest_latency_le[i]);
	evbuffer_add_printf(b,
	    "goip_notifier_ingest_latency_ms_bucket{le=\"+Inf\"} %llu\n"
	    "goip_notifier_ingest_latency_ms_sum %llu\n"
	    "goip_notifier_ingest_latency_ms_count %llu\n",
	    (unsigned long long)metrics.ingest_latency_le[5],
	    (unsigned long long)metrics.ingest_latency_ms_sum,
	    (unsigned long long)metrics.ingest_latency_count);
	http_reply_buffer(c, 200, "text/plain; version=0.0.4", b, NULL);
	evbuffer_free(b);
}
