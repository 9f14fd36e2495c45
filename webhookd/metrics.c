/*
 * metrics.c: per-endpoint counters in the Prometheus text format, served
 * on webhook_metrics_listen (off by default; loopback in the sample) to a
 * GET of any path. A tiny HTTP/1.0 responder: one request per connection,
 * its head bounded to METRICS_HEAD_MAX bytes and METRICS_TIMEOUT seconds,
 * at most METRICS_CONNS connections at once; the answer closes it.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <event2/event.h>

#include "goip.h"
#include "webhookd.h"

#define METRICS_HEAD_MAX	8192
#define METRICS_TIMEOUT		5
#define METRICS_CONNS		16

static struct evconnlistener	*metrics_lev;
static int			 metrics_nconns;

static void
metrics_close(struct bufferevent *bev)
{
	bufferevent_free(bev);
	metrics_nconns--;
}

/* The answer is written: close. */
static void
metrics_written_cb(struct bufferevent *bev, void *arg)
{
	(void)arg;
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		metrics_close(bev);
}

static void
metrics_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)what;
	(void)arg;
	metrics_close(bev);
}

/* What a family measures of each endpoint (metrics_value()). */
enum metrics_what {
	METRICS_DELIVERED,
	METRICS_FAILED,
	METRICS_RETRIES,
	METRICS_LAG_EVENTS,
	METRICS_LAG_MS,
	METRICS_ENABLED,
	METRICS_FAILING
};

/* The families, in the order they are written. */
static const struct {
	const char		*name;
	const char		*type;
	const char		*help;
	enum metrics_what	 what;
} metrics_families[] = {
	{ "goip_webhook_delivered_total", "counter",
	    "Events delivered with a 2xx answer.", METRICS_DELIVERED },
	{ "goip_webhook_failed_total", "counter",
	    "Delivery attempts that failed.", METRICS_FAILED },
	{ "goip_webhook_retries_total", "counter",
	    "Delivery attempts that were retries.", METRICS_RETRIES },
	{ "goip_webhook_lag_events", "gauge",
	    "Event ids between the endpoint's cursor and the log's end.",
	    METRICS_LAG_EVENTS },
	{ "goip_webhook_lag_milliseconds", "gauge",
	    "Age of the oldest event read and not yet delivered.",
	    METRICS_LAG_MS },
	{ "goip_webhook_enabled", "gauge",
	    "1 when the endpoint is enabled.", METRICS_ENABLED },
	{ "goip_webhook_failing", "gauge",
	    "1 while the endpoint's last attempt failed.", METRICS_FAILING },
};

/* The sample of WHAT for endpoint EP at NOW (unix ms). */
static int64_t
metrics_value(const struct endpoint *ep, enum metrics_what what, int64_t now)
{
	int64_t	 last;

	switch (what) {
	case METRICS_DELIVERED:
		return ep->delivered;
	case METRICS_FAILED:
		return ep->failed;
	case METRICS_RETRIES:
		return ep->retries;
	case METRICS_LAG_EVENTS:
		last = endpoint_log_last();
		return last > ep->cursor ? last - ep->cursor : 0;
	case METRICS_LAG_MS:
		return endpoint_lag_ms(ep, now);
	case METRICS_ENABLED:
		return ep->enabled;
	case METRICS_FAILING:
		return ep->failing_since != 0;
	}
	return 0;
}

/* Write family I of metrics_families with one sample per endpoint. */
static void
metrics_family(struct evbuffer *b, size_t i)
{
	const struct endpoint	*ep;
	const char		*name = metrics_families[i].name;
	int64_t			 now = util_now_ms();

	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name,
	    metrics_families[i].help, name, metrics_families[i].type);
	TAILQ_FOREACH(ep, endpoint_list(), entry)
		evbuffer_add_printf(b, "%s{webhook=\"%lld\"} %lld\n", name,
		    (long long)ep->id, (long long)metrics_value(ep,
		    metrics_families[i].what, now));
}

/* Read the request head; answer once it is whole. */
static void
metrics_read_cb(struct bufferevent *bev, void *arg)
{
	struct evbuffer		*in = bufferevent_get_input(bev), *b;
	struct evbuffer_ptr	 end;
	size_t			 i;
	int			 get;

	(void)arg;
	end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	if (end.pos == -1) {
		if (evbuffer_get_length(in) > METRICS_HEAD_MAX)
			metrics_close(bev);
		return;
	}
	get = evbuffer_get_length(in) >= 4 &&
	    memcmp(evbuffer_pullup(in, 4), "GET ", 4) == 0;
	bufferevent_disable(bev, EV_READ);
	b = bufferevent_get_output(bev);
	if (!get) {
		evbuffer_add_printf(b, "HTTP/1.0 405 Method Not Allowed\r\n"
		    "Allow: GET\r\nContent-Length: 0\r\n"
		    "Connection: close\r\n\r\n");
		return;
	}
	if ((b = evbuffer_new()) == NULL) {
		metrics_close(bev);
		return;
	}
	for (i = 0; i < sizeof(metrics_families) /
	    sizeof(metrics_families[0]); i++)
		metrics_family(b, i);
	evbuffer_add_printf(bufferevent_get_output(bev), "HTTP/1.0 200 OK\r\n"
	    "Content-Type: text/plain; version=0.0.4\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n",
	    evbuffer_get_length(b));
	evbuffer_add_buffer(bufferevent_get_output(bev), b);
	evbuffer_free(b);
}

static void
metrics_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct bufferevent	*bev;
	struct timeval		 tv = { METRICS_TIMEOUT, 0 };

	(void)lev;
	(void)sa;
	(void)salen;
	(void)arg;
	if (metrics_nconns >= METRICS_CONNS ||
	    (bev = bufferevent_socket_new(wconf.base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		evutil_closesocket(fd);
		return;
	}
	metrics_nconns++;
	bufferevent_setcb(bev, metrics_read_cb, metrics_written_cb,
	    metrics_event_cb, NULL);
	bufferevent_set_timeouts(bev, &tv, &tv);
	bufferevent_enable(bev, EV_READ);
}

/* Listen on ADDR ("host:port" or "[v6]:port"). Returns 0, or -1. */
int
metrics_listen(const char *addr)
{
	struct sockaddr_storage	 ss;
	int			 len = sizeof(ss);

	if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&ss,
	    &len) == -1) {
		log_warnx("metrics: bad address %s", addr);
		return -1;
	}
	if ((metrics_lev = evconnlistener_new_bind(wconf.base,
	    metrics_accept_cb, NULL, LEV_OPT_CLOSE_ON_FREE |
	    LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 16,
	    (struct sockaddr *)&ss, len)) == NULL) {
		log_warn("metrics: listen on %s", addr);
		return -1;
	}
	return 0;
}

void
metrics_shutdown(void)
{
	if (metrics_lev != NULL)
		evconnlistener_free(metrics_lev);
	metrics_lev = NULL;
}
