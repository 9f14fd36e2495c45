/*
 * deliver.c: the HTTP requests of goip-webhookd, over libcurl's multi
 * interface driven by the libevent loop (CURLMOPT_SOCKETFUNCTION and
 * CURLMOPT_TIMERFUNCTION), so any number of endpoints wait on their
 * answers at once and a slow one delays no other.
 *
 * A request is one POST of one event (or ping) to one endpoint; endpoint.c
 * starts at most one per endpoint. Redirects are not followed, only http
 * and https are spoken, proxies from the environment are ignored, the
 * answer's body is read up to WEBHOOKD_ANSWER_MAX bytes and dropped, and
 * the whole request is bounded by webhook_timeout. Unless
 * webhook_allow_private is set, every socket curl opens is checked
 * against webhook_addr_private() with the address it is about to connect
 * to (CURLOPT_OPENSOCKETFUNCTION): what a name resolved to at the moment
 * of connecting, so a DNS answer that changes between a check and the
 * connection (rebinding) cannot reach a private address.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "goip.h"
#include "webhookd.h"

/* One request in flight. */
struct delivery {
	struct endpoint		*ep;
	CURL			*easy;
	struct curl_slist	*headers;
	char			*body;
	size_t			 bodylen;
	size_t			 got;		/* answer bytes seen */
	int64_t			 event;		/* event id, 0: a ping */
	int64_t			 ping;
	char			 refused[INET6_ADDRSTRLEN]; /* "" none */
	char			 errbuf[CURL_ERROR_SIZE];
};

static CURLM		*deliver_multi;
static struct event	*deliver_timer;
static int		 deliver_running;

static void	deliver_check(void);

/* A socket curl watches is ready: tell curl, then collect what finished. */
static void
deliver_event_cb(evutil_socket_t fd, short what, void *arg)
{
	int	 action = 0;

	(void)arg;
	if (what & EV_READ)
		action |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	curl_multi_socket_action(deliver_multi, fd, action, &deliver_running);
	deliver_check();
}

/* curl's timeout ran out. */
static void
deliver_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	curl_multi_socket_action(deliver_multi, CURL_SOCKET_TIMEOUT, 0,
	    &deliver_running);
	deliver_check();
}

/*
 * CURLMOPT_SOCKETFUNCTION: watch socket S as WHAT says, with one event
 * per socket kept as curl's socket pointer SOCKP.
 */
static int
deliver_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp,
    void *sockp)
{
	struct event	*ev = sockp;
	short		 kind = EV_PERSIST;

	(void)easy;
	(void)userp;
	if (ev != NULL)
		event_free(ev);
	if (what == CURL_POLL_REMOVE) {
		curl_multi_assign(deliver_multi, s, NULL);
		return 0;
	}
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if ((ev = event_new(wconf.base, s, kind, deliver_event_cb, NULL)) ==
	    NULL || event_add(ev, NULL) == -1) {
		log_warnx("deliver: cannot watch a socket");
		if (ev != NULL)
			event_free(ev);
		curl_multi_assign(deliver_multi, s, NULL);
		return -1;
	}
	curl_multi_assign(deliver_multi, s, ev);
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: call curl back after MS milliseconds. */
static int
deliver_timer_cb(CURLM *multi, long ms, void *userp)
{
	struct timeval	 tv;

	(void)multi;
	(void)userp;
	if (ms < 0) {
		evtimer_del(deliver_timer);
		return 0;
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	return evtimer_add(deliver_timer, &tv);
}

/* CURLOPT_WRITEFUNCTION: count the answer, keep none of it. */
static size_t
deliver_write_cb(char *p, size_t size, size_t n, void *arg)
{
	struct delivery	*d = arg;

	(void)p;
	d->got += size * n;
	if (d->got > WEBHOOKD_ANSWER_MAX)
		return 0;	/* enough: the status is what counts */
	return size * n;
}

/*
 * CURLOPT_OPENSOCKETFUNCTION: open the socket for ADDR, unless it is a
 * private address and webhook_allow_private is off: then remember it for
 * the error and fail the connection.
 */
static curl_socket_t
deliver_opensocket_cb(void *arg, curlsocktype purpose,
    struct curl_sockaddr *addr)
{
	struct delivery	*d = arg;
	const void	*a;
	int		 fd;

	if (purpose != CURLSOCKTYPE_IPCXN)
		return CURL_SOCKET_BAD;
	if (!wconf.cfg->webhook_allow_private &&
	    webhook_addr_private(&addr->addr)) {
		a = addr->family == AF_INET6 ?
		    (const void *)&((struct sockaddr_in6 *)&addr->addr)->
		    sin6_addr : (const void *)&((struct sockaddr_in *)
		    &addr->addr)->sin_addr;
		if (inet_ntop(addr->family, a, d->refused,
		    sizeof(d->refused)) == NULL)
			snprintf(d->refused, sizeof(d->refused), "?");
		return CURL_SOCKET_BAD;
	}
	fd = socket(addr->family, addr->socktype | SOCK_CLOEXEC,
	    addr->protocol);
	return fd == -1 ? CURL_SOCKET_BAD : fd;
}

static void
deliver_free(struct delivery *d)
{
	if (d == NULL)
		return;
	if (d->easy != NULL) {
		curl_multi_remove_handle(deliver_multi, d->easy);
		curl_easy_cleanup(d->easy);
	}
	curl_slist_free_all(d->headers);
	free(d->body);
	free(d);
}

/* Add header "NAME: VALUE" to D. Returns 0, or -1 when out of memory. */
static int
deliver_header(struct delivery *d, const char *name, const char *value)
{
	struct curl_slist	*l;
	char			*h;

	if (xasprintf(&h, "%s: %s", name, value) == -1)
		return -1;
	l = curl_slist_append(d->headers, h);
	free(h);
	if (l == NULL)
		return -1;
	d->headers = l;
	return 0;
}

/*
 * Set up the request of D to EP: the body is in D already; the headers
 * and signature are made here, with the current time. Returns 0, or -1.
 */
static int
deliver_setup(struct delivery *d, struct endpoint *ep, const char *name)
{
	char	 ts[32], num[32], sig[SIGN_HEX_LEN + 1], value[80];
	CURL	*e;
	int	 rc = 0;

	snprintf(ts, sizeof(ts), "%lld", (long long)(util_now_ms() / 1000));
	snprintf(num, sizeof(num), "%lld", (long long)d->event);
	sign_hmac(ep->secret, ts, d->body, d->bodylen, sig);
	snprintf(value, sizeof(value), "sha256=%s", sig);
	if (deliver_header(d, "Content-Type", "application/json") == -1 ||
	    deliver_header(d, "X-Goip-Event", name) == -1 ||
	    deliver_header(d, "X-Goip-Delivery", num) == -1 ||
	    deliver_header(d, "X-Goip-Timestamp", ts) == -1 ||
	    deliver_header(d, "X-Goip-Signature", value) == -1 ||
	    (d->headers = curl_slist_append(d->headers, "Expect:")) == NULL)
		return -1;
	if ((e = d->easy = curl_easy_init()) == NULL)
		return -1;
	rc |= curl_easy_setopt(e, CURLOPT_URL, ep->url);
	rc |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	rc |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	rc |= curl_easy_setopt(e, CURLOPT_PROXY, "");
	rc |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	rc |= curl_easy_setopt(e, CURLOPT_POST, 1L);
	rc |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, d->body);
	rc |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)d->bodylen);
	rc |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, d->headers);
	rc |= curl_easy_setopt(e, CURLOPT_USERAGENT,
	    "goip-webhookd/" PACKAGE_VERSION);
	rc |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
	    (long)wconf.cfg->webhook_timeout);
	rc |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, deliver_write_cb);
	rc |= curl_easy_setopt(e, CURLOPT_WRITEDATA, d);
	rc |= curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION,
	    deliver_opensocket_cb);
	rc |= curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, d);
	rc |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, d->errbuf);
	rc |= curl_easy_setopt(e, CURLOPT_PRIVATE, d);
	return rc == CURLE_OK ? 0 : -1;
}

/*
 * Start the request of EP for event EV, or for ping number PING when EV
 * is NULL. Returns 0 (EP->inflight set; endpoint_done() is called when it
 * ends, never from inside this call), or -1 when it could not be started
 * (out of memory): the caller tries again later.
 */
int
deliver_start(struct endpoint *ep, const struct event *ev, int64_t ping)
{
	struct delivery	*d;
	char		 at[40], payload[128];
	const char	*name;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return -1;
	d->ep = ep;
	if (ev != NULL) {
		d->event = ev->id;
		name = evlog_type_name(ev->type);
		d->body = sign_body(ev->id, name, ev->payload, ev->payloadlen,
		    &d->bodylen);
	} else {
		d->ping = ping;
		name = "ping";
		util_time_format(util_now_ms(), at, sizeof(at));
		snprintf(payload, sizeof(payload), "{\"webhookId\":%lld,"
		    "\"at\":\"%s\"}", (long long)ep->id, at);
		d->body = sign_body(0, name, payload, strlen(payload),
		    &d->bodylen);
	}
	if (d->body == NULL || deliver_setup(d, ep, name) == -1 ||
	    curl_multi_add_handle(deliver_multi, d->easy) != CURLM_OK) {
		deliver_free(d);
		return -1;
	}
	ep->inflight = d;
	return 0;
}

/* Abandon the request D (its endpoint is gone); endpoint_done() is not called. */
void
deliver_cancel(struct delivery *d)
{
	if (d != NULL)
		d->ep->inflight = NULL;
	deliver_free(d);
}

/* Fill O from the finished request D whose transfer ended with RES. */
static void
deliver_outcome(struct delivery *d, CURLcode res, struct outcome *o)
{
	long	 code = 0;

	memset(o, 0, sizeof(*o));
	o->event = d->event;
	o->ping = d->ping;
	curl_easy_getinfo(d->easy, CURLINFO_RESPONSE_CODE, &code);
	o->status = (int)code;
	if (d->refused[0] != '\0') {
		snprintf(o->error, sizeof(o->error), "refused: %s is not a "
		    "public address (webhook_allow_private = no)", d->refused);
		o->status = 0;
		return;
	}
	if (res != CURLE_OK && !(res == CURLE_WRITE_ERROR &&
	    d->got > WEBHOOKD_ANSWER_MAX)) {
		snprintf(o->error, sizeof(o->error), "%s", d->errbuf[0] !=
		    '\0' ? d->errbuf : curl_easy_strerror(res));
		o->status = 0;
		return;
	}
	if (code >= 200 && code <= 299) {
		o->ok = 1;
		return;
	}
	snprintf(o->error, sizeof(o->error), "HTTP status %ld", code);
}

/* Hand every finished request to its endpoint. */
static void
deliver_check(void)
{
	struct delivery	*d;
	struct endpoint	*ep;
	struct outcome	 o;
	CURLMsg		*m;
	char		*p;
	int		 left;

	while ((m = curl_multi_info_read(deliver_multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		if (curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &p) !=
		    CURLE_OK || p == NULL)
			continue;
		d = (struct delivery *)p;
		deliver_outcome(d, m->data.result, &o);
		ep = d->ep;
		ep->inflight = NULL;
		deliver_free(d);
		endpoint_done(ep, &o);
	}
}

/* Set up libcurl and its multi handle on the loop. Returns 0, or -1. */
int
deliver_init(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -1;
	if ((deliver_multi = curl_multi_init()) == NULL ||
	    (deliver_timer = evtimer_new(wconf.base, deliver_timeout_cb,
	    NULL)) == NULL)
		return -1;
	curl_multi_setopt(deliver_multi, CURLMOPT_SOCKETFUNCTION,
	    deliver_socket_cb);
	curl_multi_setopt(deliver_multi, CURLMOPT_TIMERFUNCTION,
	    deliver_timer_cb);
	return 0;
}

/* Free the multi handle; every request must have been cancelled. */
void
deliver_shutdown(void)
{
	if (deliver_multi != NULL)
		curl_multi_cleanup(deliver_multi);
	if (deliver_timer != NULL)
		event_free(deliver_timer);
	deliver_multi = NULL;
	deliver_timer = NULL;
	curl_global_cleanup();
}
