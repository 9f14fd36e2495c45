/*
 * http.c: the HTTP/1.1 side of every connection: listeners, request parsing
 * with libhttp-parser (keep-alive, bounded target, headers and body), answers,
 * dispatch to Engine.IO, the events long-poll and the metrics page, and the
 * one path that frees a connection.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <assert.h>
#include <errno.h>
#include <malloc.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <http_parser.h>

#include "goip.h"
#include "notifier.h"

enum http_hdr {
	HDR_NONE,
	HDR_ORIGIN,
	HDR_HOST,
	HDR_WSKEY,
	HDR_WSVER,
	HDR_SECRET,
	HDR_XFF
};

/* The request headers the notifier keeps, by name (any case). */
static const struct {
	const char	*name;
	enum http_hdr	 hdr;
} http_hdrs[] = {
	{ "origin", HDR_ORIGIN },
	{ "host", HDR_HOST },
	{ "sec-websocket-key", HDR_WSKEY },
	{ "sec-websocket-version", HDR_WSVER },
	{ "x-goip-proxy-secret", HDR_SECRET },
	{ "x-forwarded-for", HDR_XFF },
};

/* A string literal and its length, counted by the compiler. */
#define HTTP_LIT(s)	(s), (sizeof(s) - 1)

/* What the parser keeps of the request being read. */
struct http_req {
	http_parser	 parser;
	char		 url[NOTIFIER_URL_MAX + 1];
	size_t		 urllen;
	size_t		 hdrbytes;
	char		 field[32];
	size_t		 fieldlen;
	int		 hdr;		/* header being read */
	char		 origin[256];
	char		 host[256];
	char		 wskey[64];
	char		 wsver[8];
	char		 secret[256];	/* X-Goip-Proxy-Secret */
	int		 seen;		/* bit per enum http_hdr seen */
	char		 xff[64];	/* last X-Forwarded-For hop */
	int		 xffbad;	/* that hop did not fit */
};

#define HTTP_TRIM_DROP	512	/* connections gone before a heap trim */

struct http_listener {
	TAILQ_ENTRY(http_listener)	 entry;
	struct evconnlistener		*lev;
	enum conn_kind			 kind;
	char				*path;	/* Unix socket, or NULL */
};

static TAILQ_HEAD(, conn)		 http_conns_list =
    TAILQ_HEAD_INITIALIZER(http_conns_list);
static TAILQ_HEAD(, http_listener)	 http_listeners =
    TAILQ_HEAD_INITIALIZER(http_listeners);
static size_t				 http_nconns;
static size_t				 http_peak;	/* since the last trim */
static int				 http_trim_pending;
static http_parser_settings		 http_settings;

static void	http_accept_cb(struct evconnlistener *, evutil_socket_t,
		    struct sockaddr *, int, void *);
static void	http_read_cb(struct bufferevent *, void *);
static void	http_write_cb(struct bufferevent *, void *);
static void	http_event_cb(struct bufferevent *, short, void *);
static void	http_parse(struct conn *);
static void	http_xff_add(struct http_req *, const char *, size_t);
static void	http_dispatch(struct conn *);
static void	http_request_reset(struct conn *);
static int	http_trust_ok(struct conn *);
static void	http_free(struct conn *);

static int
http_on_url(http_parser *p, const char *at, size_t len)
{
	struct conn	*c = p->data;

	if (c->req->urllen + len > NOTIFIER_URL_MAX) {
		c->toolarge = 414;
		return 1;
	}
	memcpy(c->req->url + c->req->urllen, at, len);
	c->req->urllen += len;
	c->req->url[c->req->urllen] = '\0';
	return 0;
}

static int
http_on_header_field(http_parser *p, const char *at, size_t len)
{
	struct conn	*c = p->data;

	if ((c->req->hdrbytes += len) > NOTIFIER_HEADERS_MAX) {
		c->toolarge = 431;
		return 1;
	}
	if (c->req->hdr != -1) {
		/* A new field starts. */
		c->req->fieldlen = 0;
		c->req->hdr = -1;
	}
	if (c->req->fieldlen + len >= sizeof(c->req->field)) {
		c->req->fieldlen = sizeof(c->req->field);	/* too long: not ours */
		return 0;
	}
	memcpy(c->req->field + c->req->fieldlen, at, len);
	c->req->fieldlen += len;
	return 0;
}

static int
http_on_header_value(http_parser *p, const char *at, size_t len)
{
	struct conn	*c = p->data;
	char		*dst = NULL;
	size_t		 dstsz = 0, cur, i;

	if ((c->req->hdrbytes += len) > NOTIFIER_HEADERS_MAX) {
		c->toolarge = 431;
		return 1;
	}
	if (c->req->hdr == -1) {
		c->req->hdr = HDR_NONE;
		if (c->req->fieldlen < sizeof(c->req->field)) {
			c->req->field[c->req->fieldlen] = '\0';
			for (i = 0; i < sizeof(http_hdrs) / sizeof(http_hdrs[0]);
			    i++)
				if (strcasecmp(c->req->field,
				    http_hdrs[i].name) == 0)
					c->req->hdr = http_hdrs[i].hdr;
		}
		if (c->req->hdr == HDR_XFF) {
			/* The last header's last hop counts. */
			c->req->xff[0] = '\0';
			c->req->xffbad = 0;
		} else if (c->req->hdr != HDR_NONE) {
			/*
			 * A second Host or secret would be glued to the
			 * first: refuse the request rather than guess.
			 */
			if (c->req->seen & (1 << c->req->hdr)) {
				c->toolarge = 400;
				return 1;
			}
			c->req->seen |= 1 << c->req->hdr;
		}
	}
	switch (c->req->hdr) {
	case HDR_XFF:
		http_xff_add(c->req, at, len);
		return 0;
	case HDR_ORIGIN:
		dst = c->req->origin;
		dstsz = sizeof(c->req->origin);
		break;
	case HDR_HOST:
		dst = c->req->host;
		dstsz = sizeof(c->req->host);
		break;
	case HDR_WSKEY:
		dst = c->req->wskey;
		dstsz = sizeof(c->req->wskey);
		break;
	case HDR_WSVER:
		dst = c->req->wsver;
		dstsz = sizeof(c->req->wsver);
		break;
	case HDR_SECRET:
		dst = c->req->secret;
		dstsz = sizeof(c->req->secret);
		break;
	default:
		return 0;
	}
	cur = strlen(dst);
	if (cur + len >= dstsz) {
		c->toolarge = 431;
		return 1;
	}
	memcpy(dst + cur, at, len);
	dst[cur + len] = '\0';
	return 0;
}

/*
 * Add LEN bytes of an X-Forwarded-For value, which may come in pieces, to
 * R: only what follows its last comma is kept, the last hop (the address
 * the proxy saw). A hop too long for an address is marked bad.
 */
static void
http_xff_add(struct http_req *r, const char *at, size_t len)
{
	const char	*comma;
	size_t		 cur;

	while ((comma = memchr(at, ',', len)) != NULL) {
		len -= comma + 1 - at;
		at = comma + 1;
		r->xff[0] = '\0';
		r->xffbad = 0;
	}
	cur = strlen(r->xff);
	if (r->xffbad || cur + len >= sizeof(r->xff)) {
		r->xffbad = 1;
		return;
	}
	memcpy(r->xff + cur, at, len);
	r->xff[cur + len] = '\0';
}

/*
 * Is ADDR (a numeric host from getnameinfo(), or anything else for a
 * peer that is not on IP, such as a Unix socket) a local peer, that is
 * the reverse proxy? IPv4 127/8, ::1 and IPv4-mapped 127/8 are.
 */
static int
http_addr_local(const char *addr)
{
	struct in_addr	 a4;
	struct in6_addr	 a6;

	if (inet_pton(AF_INET, addr, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, addr, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6) ||
		    (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
	return 1;
}

/*
 * Set the client address of the request on C: from a local peer (the
 * reverse proxy: lighttpd's mod_proxy and Apache's mod_proxy_http both
 * add X-Forwarded-For) the last hop of X-Forwarded-For when it is an IPv4
 * or IPv6 address, else the peer's own address.
 */
static void
http_client_set(struct conn *c)
{
	struct in6_addr	 a6;
	char		 hop[sizeof(c->req->xff)];
	size_t		 b, e;

	strlcpy(c->client, c->addr, sizeof(c->client));
	if (c->req->xffbad || c->req->xff[0] == '\0' ||
	    !http_addr_local(c->addr))
		return;
	for (b = 0; c->req->xff[b] == ' ' || c->req->xff[b] == '\t'; b++)
		;
	for (e = strlen(c->req->xff); e > b && (c->req->xff[e - 1] == ' ' ||
	    c->req->xff[e - 1] == '\t'); e--)
		;
	memcpy(hop, c->req->xff + b, e - b);
	hop[e - b] = '\0';
	if (inet_pton(AF_INET, hop, &a6) == 1 ||
	    inet_pton(AF_INET6, hop, &a6) == 1)
		strlcpy(c->client, hop, sizeof(c->client));
}

static int
http_on_body(http_parser *p, const char *at, size_t len)
{
	struct conn	*c = p->data;

	if (c->body == NULL && (c->body = evbuffer_new()) == NULL)
		return 1;
	if (evbuffer_get_length(c->body) + len > (size_t)nconf.max_payload) {
		c->toolarge = 413;
		return 1;
	}
	if (evbuffer_add(c->body, at, len) == -1)
		return 1;
	return 0;
}

static int
http_on_headers_complete(http_parser *p)
{
	struct conn	*c = p->data;

	if (p->content_length != ULLONG_MAX &&
	    p->content_length > (uint64_t)nconf.max_payload) {
		c->toolarge = 413;
		return 2;
	}
	return 0;
}

static int
http_on_message_complete(http_parser *p)
{
	struct conn	*c = p->data;

	c->reqdone = 1;
	c->method = p->method;
	c->upgrade = p->upgrade;
	c->keepalive = http_should_keep_alive(p);
	http_parser_pause(p, 1);
	return 0;
}

/*
 * Listen on the Unix socket PATH (mode 0660, group nconf.listen_gid; see
 * sock_unix()) for connections of KIND. Returns 0, or -1 with a warning
 * logged.
 */
static int
http_listen_unix(const char *path, int kind)
{
	struct http_listener	*hl;
	char			*cause = NULL;
	int			 fd;

	if ((fd = sock_unix(path, SOCK_STREAM, nconf.listen_uid,
	    nconf.listen_gid, &cause)) == -1) {
		log_warnx("http: %s", cause);
		free(cause);
		return -1;
	}
	hl = xcalloc(1, sizeof(*hl));
	hl->kind = kind;
	hl->path = xstrdup(path);
	/* A backlog of 0: sock_unix() called listen() already. */
	hl->lev = evconnlistener_new(notifier_base, http_accept_cb, hl,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (hl->lev == NULL) {
		log_warn("http: listen %s", path);
		close(fd);
		unlink(path);
		free(hl->path);
		free(hl);
		return -1;
	}
	TAILQ_INSERT_TAIL(&http_listeners, hl, entry);
	return 0;
}

/*
 * Listen on ADDR ("host:port", "[v6]:port", or an absolute path: a Unix
 * socket) for connections of KIND. Returns 0, or -1 with a warning logged.
 */
int
http_listen(const char *addr, int kind)
{
	struct addrinfo		 hints, *res, *ai;
	struct http_listener	*hl;
	char			*host, *port, *copy;
	int			 error, n = 0;

	if (addr[0] == '/')
		return http_listen_unix(addr, kind);
	copy = xstrdup(addr);
	if (copy[0] == '[') {
		host = copy + 1;
		if ((port = strchr(host, ']')) == NULL || port[1] != ':') {
			log_warnx("http: bad listen address %s", addr);
			free(copy);
			return -1;
		}
		*port = '\0';
		port += 2;
	} else {
		host = copy;
		if ((port = strrchr(copy, ':')) == NULL) {
			log_warnx("http: bad listen address %s", addr);
			free(copy);
			return -1;
		}
		*port++ = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((error = getaddrinfo(*host == '\0' ? NULL : host, port, &hints,
	    &res)) != 0) {
		log_warnx("http: %s: %s", addr, gai_strerror(error));
		free(copy);
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		hl = xcalloc(1, sizeof(*hl));
		hl->kind = kind;
		hl->lev = evconnlistener_new_bind(notifier_base,
		    http_accept_cb, hl, LEV_OPT_CLOSE_ON_FREE |
		    LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 1024,
		    ai->ai_addr, ai->ai_addrlen);
		if (hl->lev == NULL) {
			log_warn("http: listen %s", addr);
			free(hl);
			continue;
		}
		TAILQ_INSERT_TAIL(&http_listeners, hl, entry);
		n++;
	}
	freeaddrinfo(res);
	free(copy);
	return n > 0 ? 0 : -1;
}

/*
 * Stop listening; connections already open stay. A Unix socket's file is
 * removed when we still may (after dropping privileges we may not: the
 * next start replaces it, see sock_unix()).
 */
void
http_shutdown(void)
{
	struct http_listener	*hl;

	while ((hl = TAILQ_FIRST(&http_listeners)) != NULL) {
		TAILQ_REMOVE(&http_listeners, hl, entry);
		evconnlistener_free(hl->lev);
		if (hl->path != NULL && unlink(hl->path) == -1)
			log_debug("http: unlink %s: %s", hl->path,
			    strerror(errno));
		free(hl->path);
		free(hl);
	}
}

size_t
http_conns(void)
{
	return http_nconns;
}

static void
http_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct http_listener	*hl = arg;
	struct conn		*o;
	char			 host[NI_MAXHOST];
	int64_t			 same = 0;

	(void)lev;
	if (hl->path != NULL)
		strlcpy(host, "unix", sizeof(host));
	else if (getnameinfo(sa, salen, host, sizeof(host), NULL, 0,
	    NI_NUMERICHOST) != 0)
		strlcpy(host, "?", sizeof(host));
	if (hl->kind == CONN_MAIN && nconf.max_connections > 0 &&
	    (int64_t)http_nconns >= nconf.max_connections) {
		metrics.rejected++;
		evutil_closesocket(fd);
		return;
	}
	/*
	 * Connections of one address: a local peer (the Unix socket, or
	 * loopback) is the reverse proxy, carrying everyone's; its clients
	 * are told apart by X-Forwarded-For and capped per session (eio.c).
	 */
	if (hl->kind == CONN_MAIN && nconf.max_per_address > 0 &&
	    !http_addr_local(host)) {
		TAILQ_FOREACH(o, &http_conns_list, entry) {
			if (strcmp(o->addr, host) == 0)
				same++;
		}
		if (same >= nconf.max_per_address) {
			metrics.rejected++;
			evutil_closesocket(fd);
			return;
		}
	}
	if ((o = http_conn_new(fd, hl->kind, host)) == NULL)
		evutil_closesocket(fd);
	else
		o->local = hl->path != NULL;
}

/*
 * Make the connection of KIND from client ADDR on the connected socket FD
 * and start reading HTTP requests from it. Returns the connection, owned by
 * http.c (freed through http_close()), or NULL with FD left open. The
 * listener calls it on each accept; the fuzzing harnesses on one end of a
 * socket pair.
 */
struct conn *
http_conn_new(int fd, enum conn_kind kind, const char *addr)
{
	struct conn		*c;
	struct timeval		 tv;

	if (http_settings.on_url == NULL) {
		http_settings.on_url = http_on_url;
		http_settings.on_header_field = http_on_header_field;
		http_settings.on_header_value = http_on_header_value;
		http_settings.on_headers_complete = http_on_headers_complete;
		http_settings.on_body = http_on_body;
		http_settings.on_message_complete = http_on_message_complete;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->req = malloc(sizeof(*c->req))) == NULL) {
		free(c);
		return NULL;
	}
	c->kind = kind;
	c->state = CONN_HTTP;
	strlcpy(c->addr, addr, sizeof(c->addr));
	c->bev = bufferevent_socket_new(notifier_base, fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		free(c->req);
		free(c);
		return NULL;
	}
	http_parser_init(&c->req->parser, HTTP_REQUEST);
	c->req->parser.data = c;
	http_request_reset(c);
	bufferevent_setcb(c->bev, http_read_cb, http_write_cb, http_event_cb,
	    c);
	tv.tv_sec = NOTIFIER_IDLE_MS / 1000;
	tv.tv_usec = 0;
	bufferevent_set_timeouts(c->bev, &tv, NULL);
	bufferevent_setwatermark(c->bev, EV_READ, 0,
	    NOTIFIER_HEADERS_MAX + nconf.max_payload + 4096);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	TAILQ_INSERT_TAIL(&http_conns_list, c, entry);
	if (++http_nconns > http_peak)
		http_peak = http_nconns;
	metrics.conns_total++;
	metrics.conns_open++;
	return c;
}

/*
 * Close every connection at once, without flushing (fuzzing, shutdown).
 * Closing one may close others (its session's), so the walk restarts.
 */
void
http_close_all(void)
{
	struct conn	*c, *cn;

	for (;;) {
		TAILQ_FOREACH(c, &http_conns_list, entry) {
			if (!c->dead)
				break;
		}
		if (c == NULL)
			break;
		http_close(c);
	}
	TAILQ_FOREACH_SAFE(c, &http_conns_list, entry, cn) {
		if (c->inuse == 0)
			http_free(c);
	}
}

static void
http_request_reset(struct conn *c)
{
	c->reqdone = 0;
	c->toolarge = 0;
	c->req->urllen = 0;
	c->req->url[0] = '\0';
	c->req->hdrbytes = 0;
	c->req->fieldlen = 0;
	c->req->hdr = HDR_NONE;
	c->req->origin[0] = '\0';
	c->req->host[0] = '\0';
	c->req->wskey[0] = '\0';
	c->req->wsver[0] = '\0';
	c->req->secret[0] = '\0';
	c->req->seen = 0;
	c->req->xff[0] = '\0';
	c->req->xffbad = 0;
	if (c->body != NULL)
		evbuffer_drain(c->body, evbuffer_get_length(c->body));
}

static void
http_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;

	(void)bev;
	c->inuse++;
	if (c->state == CONN_HTTP)
		http_parse(c);
	else if (c->state == CONN_WS)
		ws_read(c);
	else {
		/* Closing: discard what still arrives. */
		evbuffer_drain(bufferevent_get_input(c->bev),
		    evbuffer_get_length(bufferevent_get_input(c->bev)));
	}
	c->inuse--;
	if (c->dead && c->inuse == 0)
		http_free(c);
}

/*
 * Feed the input to the parser until one request is complete, then
 * dispatch it. A connection answering a request (busy) reads no further
 * requests until the answer is written (no pipelining in parallel).
 */
static void
http_parse(struct conn *c)
{
	struct evbuffer		*in = bufferevent_get_input(c->bev);
	struct evbuffer_iovec	 v;
	size_t			 n;
	enum http_errno		 err;

	while (!c->dead && c->state == CONN_HTTP && !c->busy &&
	    evbuffer_get_length(in) > 0) {
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		n = http_parser_execute(&c->req->parser, &http_settings,
		    v.iov_base, v.iov_len);
		err = HTTP_PARSER_ERRNO(&c->req->parser);
		evbuffer_drain(in, n);
		if (c->toolarge != 0) {
			c->keepalive = 0;
			c->busy = 1;
			http_reply(c, c->toolarge, "text/plain", "", 0, NULL);
			return;
		}
		if (err != HPE_OK && err != HPE_PAUSED) {
			c->keepalive = 0;
			c->busy = 1;
			http_reply(c, 400, "text/plain", "", 0, NULL);
			return;
		}
		if (c->reqdone) {
			c->busy = 1;
			http_dispatch(c);
		} else if (n == 0)
			break;
	}
	if (!c->dead && c->state != CONN_HTTP && c->req != NULL) {
		/* A WebSocket (or a closing connection) reads no requests. */
		free(c->req);
		c->req = NULL;
	}
	if (c->busy && evbuffer_get_length(in) >
	    (size_t)NOTIFIER_HEADERS_MAX + nconf.max_payload)
		http_close(c);
}

/* Does PATH match the prefix P ("/x/y/"), with or without its slash? */
static int
http_path_is(const char *path, size_t len, const char *p)
{
	size_t	plen = strlen(p);

	if (len == plen && memcmp(path, p, len) == 0)
		return 1;
	if (plen > 1 && p[plen - 1] == '/' && len == plen - 1 &&
	    memcmp(path, p, len) == 0)
		return 1;
	return 0;
}

/*
 * Is the name LEN bytes at NAME in the list LIST (separated by spaces,
 * tabs or commas), ignoring case?
 */
static int
http_name_listed(const char *list, const char *name, size_t len)
{
	const char	*w;
	size_t		 wlen;

	while ((w = config_list_next(&list, &wlen)) != NULL)
		if (wlen == len && len > 0 && strncasecmp(w, name, len) == 0)
			return 1;
	return 0;
}

/*
 * Is HOST (a Host header: name, "name:port", "[v6]" or "[v6]:port") one
 * the notifier answers on TCP? An entry of allowed_hosts matches the name
 * without its port, or the whole value. An empty allowed_hosts means the
 * host of the listen address plus localhost, 127.0.0.1 and [::1]. A DNS
 * rebinding page sends its own name, which is in neither.
 */
static int
http_host_ok(const char *host)
{
	const char	*end, *lp;
	size_t		 len;

	if (host[0] == '[')
		end = (end = strchr(host, ']')) != NULL ? end + 1 :
		    host + strlen(host);
	else if ((end = strchr(host, ':')) == NULL)
		end = host + strlen(host);
	len = (size_t)(end - host);
	if (nconf.cfg != NULL && nconf.cfg->allowed_hosts[0] != '\0')
		return http_name_listed(nconf.cfg->allowed_hosts, host, len) ||
		    http_name_listed(nconf.cfg->allowed_hosts, host,
		    strlen(host));
	if (http_name_listed("localhost 127.0.0.1 [::1]", host, len))
		return 1;
	/* The host part of the listen address ("[::1]:8081" keeps []). */
	if ((lp = strrchr(nconf.listen, ':')) != NULL &&
	    (size_t)(lp - nconf.listen) == len && len > 0 &&
	    strncasecmp(nconf.listen, host, len) == 0)
		return 1;
	return 0;
}

/*
 * Compare the secret A with B in time that depends on B's length only
 * (B is what the client sent). Returns 1 when equal.
 */
static int
http_secret_eq(const char *a, const char *b)
{
	size_t			 alen = strlen(a), blen = strlen(b), i;
	volatile unsigned char	 diff = alen != blen;

	for (i = 0; i < blen; i++)
		diff |= (unsigned char)b[i] ^ (unsigned char)a[i % alen];
	return diff == 0;
}

/*
 * May this request be served at all? Connections on the Unix socket come
 * from the web server, which authenticated them: always. On TCP, the Host
 * header must name us (none at all is refused for HTTP/1.1), and with
 * dashboard_auth = web the request must carry X-Goip-Proxy-Secret equal
 * to proxy_secret, which the web server adds after its authentication.
 * Compliance mode and the metrics listener are not checked. When refused,
 * the request is answered (400 or 403 with a JSON error, connection
 * closed) and 0 is returned.
 */
static int
http_trust_ok(struct conn *c)
{
	const struct config	*cfg = nconf.cfg;

	if (nconf.compliance || cfg == NULL || c->kind != CONN_MAIN ||
	    c->local)
		return 1;
	if (c->req->host[0] == '\0') {
		if (c->req->parser.http_major == 1 &&
		    c->req->parser.http_minor == 0)
			goto secret;
		c->keepalive = 0;
		http_reply(c, 400, "application/json",
		    HTTP_LIT("{\"error\":\"Host header required\"}"), NULL);
		return 0;
	}
	if (!http_host_ok(c->req->host)) {
		log_info("http: %s: Host %s not allowed", c->addr,
		    c->req->host);
		c->keepalive = 0;
		http_reply(c, 403, "application/json",
		    HTTP_LIT("{\"error\":\"host not allowed\"}"), NULL);
		return 0;
	}
secret:
	if (cfg->dashboard_auth == AUTH_NONE)
		return 1;
	if (cfg->proxy_secret[0] == '\0' ||
	    !http_secret_eq(cfg->proxy_secret, c->req->secret)) {
		c->keepalive = 0;
		http_reply(c, 403, "application/json",
		    HTTP_LIT("{\"error\":\"only served through the "
		    "authenticating web server\"}"), NULL);
		return 0;
	}
	return 1;
}

static void
http_dispatch(struct conn *c)
{
	struct http_parser_url	 u;
	const char		*path, *query = "";
	char			 qbuf[NOTIFIER_URL_MAX + 1];
	char			*body = NULL;
	size_t			 plen, blen = 0;
	enum eio_handler	 h = EIO_SIO;
	int			 eio = 0;

	http_parser_url_init(&u);
	if (http_parser_parse_url(c->req->url, c->req->urllen, 0, &u) != 0 ||
	    !(u.field_set & (1 << UF_PATH))) {
		c->keepalive = 0;
		http_reply(c, 400, "text/plain", "", 0, NULL);
		return;
	}
	path = c->req->url + u.field_data[UF_PATH].off;
	plen = u.field_data[UF_PATH].len;
	if (u.field_set & (1 << UF_QUERY)) {
		memcpy(qbuf, c->req->url + u.field_data[UF_QUERY].off,
		    u.field_data[UF_QUERY].len);
		qbuf[u.field_data[UF_QUERY].len] = '\0';
		query = qbuf;
	}
	if (c->kind == CONN_METRICS) {
		metrics_request(c);
		return;
	}
	if (!http_trust_ok(c))
		return;
	http_client_set(c);
	if (nconf.compliance) {
		if (http_path_is(path, plen, "/engine.io/")) {
			eio = 1;
			h = EIO_ECHO;
		} else if (http_path_is(path, plen, "/socket.io/"))
			eio = 1;
	} else if (http_path_is(path, plen, nconf.socket_path))
		eio = 1;
	if (eio) {
		if (!http_cors_ok(c)) {
			http_reply_error(c, 403, EIO_ERR_FORBIDDEN);
			return;
		}
		if (c->upgrade) {
			eio_ws_request(c, query, c->req->wskey, c->req->wsver,
			    h);
			return;
		}
		if (c->method == HTTP_OPTIONS) {
			http_reply(c, 204, NULL, "", 0,
			    "Access-Control-Allow-Methods: GET, POST\r\n"
			    "Access-Control-Allow-Headers: Content-Type\r\n");
			return;
		}
		if (c->body != NULL) {
			blen = evbuffer_get_length(c->body);
			body = (char *)evbuffer_pullup(c->body, -1);
		}
		eio_request(c, c->method, query, body, blen, h);
		return;
	}
	if (c->upgrade) {
		c->keepalive = 0;
		http_reply(c, 400, "text/plain", "", 0, NULL);
		return;
	}
	if (!nconf.compliance && nconf.events_path != NULL &&
	    plen == strlen(nconf.events_path) &&
	    memcmp(path, nconf.events_path, plen) == 0) {
		if (!http_cors_ok(c)) {
			http_reply(c, 403, "application/json",
			    HTTP_LIT("{\"error\":\"origin not allowed\"}"), NULL);
			return;
		}
		if (c->method != HTTP_GET) {
			http_reply(c, 405, "application/json",
			    HTTP_LIT("{\"error\":\"method not allowed\"}"),
			    "Allow: GET\r\n");
			return;
		}
		events_request(c, query);
		return;
	}
	http_reply(c, 404, "application/json",
	    HTTP_LIT("{\"error\":\"not found\"}"), NULL);
}

/*
 * Is the request's Origin acceptable? No Origin (not a browser, or same
 * origin GET), an Origin whose host is the Host header, or one listed in
 * cors_origins. Compliance mode accepts any.
 */
int
http_cors_ok(struct conn *c)
{
	const char	*h;

	if (c->req->origin[0] == '\0' || nconf.compliance)
		return 1;
	if (nconf.cfg != NULL && config_origin_allowed(nconf.cfg, c->req->origin))
		return 1;
	if ((h = strstr(c->req->origin, "://")) != NULL && c->req->host[0] != '\0' &&
	    strcasecmp(h + 3, c->req->host) == 0)
		return 1;
	return 0;
}

/*
 * Append the CORS answer headers for an allowed Origin to OUT. With
 * dashboard_auth = none and "*" in cors_origins, any origin is answered
 * with "*" and no credentials (config.c refuses "*" with
 * dashboard_auth = web); otherwise the origin is reflected, with
 * credentials (the browser's Basic authentication or cookies).
 */
int
http_add_cors(struct conn *c, struct evbuffer *out)
{
	if (c->req->origin[0] == '\0' || !http_cors_ok(c))
		return 0;
	if (nconf.cfg != NULL && nconf.cfg->dashboard_auth == AUTH_NONE &&
	    config_origin_allowed(nconf.cfg, "*"))
		return evbuffer_add_printf(out,
		    "Access-Control-Allow-Origin: *\r\n") < 0 ? -1 : 0;
	return evbuffer_add_printf(out, "Access-Control-Allow-Origin: %s\r\n"
	    "Access-Control-Allow-Credentials: true\r\nVary: Origin\r\n",
	    c->req->origin) < 0 ? -1 : 0;
}

const char *
http_status_text(int status)
{
	switch (status) {
	case 101:
		return "Switching Protocols";
	case 200:
		return "OK";
	case 204:
		return "No Content";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 413:
		return "Payload Too Large";
	case 414:
		return "URI Too Long";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	default:
		return "Unknown";
	}
}

/* The answer is written: read the next request or close. */
static void
http_request_done(struct conn *c)
{
	http_request_reset(c);
	c->busy = 0;
	if (!c->keepalive) {
		http_linger(c);
		return;
	}
	http_parser_pause(&c->req->parser, 0);
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
		bufferevent_trigger(c->bev, EV_READ,
		    BEV_TRIG_DEFER_CALLBACKS | BEV_TRIG_IGNORE_WATERMARKS);
}

/*
 * Answer the current request with STATUS, content type CTYPE (NULL: none)
 * and LEN bytes of BODY, plus EXTRA header lines (each ending in CRLF).
 * The connection then reads its next request, or closes without
 * keep-alive. Returns 0, or -1 when the connection was closed instead.
 */
int
http_reply(struct conn *c, int status, const char *ctype, const char *body,
    size_t len, const char *extra)
{
	struct evbuffer	*b;
	int		 rc;

	if ((b = evbuffer_new()) == NULL) {
		http_close(c);
		return -1;
	}
	if (len > 0 && evbuffer_add(b, body, len) == -1) {
		evbuffer_free(b);
		http_close(c);
		return -1;
	}
	rc = http_reply_buffer(c, status, ctype, b, extra);
	evbuffer_free(b);
	return rc;
}

/* As http_reply(), the body being moved out of B. */
int
http_reply_buffer(struct conn *c, int status, const char *ctype,
    struct evbuffer *b, const char *extra)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);
	size_t		 len = evbuffer_get_length(b);

	if (c->state != CONN_HTTP || !c->busy) {
		evbuffer_drain(b, len);
		return -1;
	}
	if (evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n", status,
	    http_status_text(status)) < 0 ||
	    (ctype != NULL && evbuffer_add_printf(out,
	    "Content-Type: %s\r\n", ctype) < 0) ||
	    (status != 204 && status != 101 && evbuffer_add_printf(out,
	    "Content-Length: %zu\r\n", len) < 0) ||
	    http_add_cors(c, out) == -1 ||
	    evbuffer_add_printf(out, "Cache-Control: no-store\r\n%s%s\r\n",
	    extra != NULL ? extra : "",
	    c->keepalive ? "" : "Connection: close\r\n") < 0 ||
	    evbuffer_add_buffer(out, b) == -1) {
		http_close(c);
		return -1;
	}
	http_request_done(c);
	return 0;
}

/* Engine.IO's error messages, indexed by enum eio_error (its codes). */
static const char *const http_eio_errors[EIO_ERR__MAX] = {
	[EIO_ERR_TRANSPORT] = "Transport unknown",
	[EIO_ERR_SESSION] = "Session ID unknown",
	[EIO_ERR_METHOD] = "Bad handshake method",
	[EIO_ERR_REQUEST] = "Bad request",
	[EIO_ERR_FORBIDDEN] = "Forbidden",
	[EIO_ERR_VERSION] = "Unsupported protocol version",
};

/*
 * Answer with the Engine.IO error object {"code": ERR, "message": ...}
 * and STATUS.
 */
int
http_reply_error(struct conn *c, int status, enum eio_error err)
{
	char	buf[128];
	int	n;

	assert(err >= 0 && err < EIO_ERR__MAX);
	n = snprintf(buf, sizeof(buf), "{\"code\":%d,\"message\":\"%s\"}",
	    (int)err, http_eio_errors[err]);
	if (c->upgrade)
		c->keepalive = 0;
	return http_reply(c, status, "application/json", buf, n, NULL);
}

/*
 * Stop reading requests on C, flush its output (for at most ten seconds)
 * and close it.
 */
void
http_linger(struct conn *c)
{
	struct timeval	tv = { 10, 0 };

	if (c->dead)
		return;
	c->state = CONN_CLOSING;
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	/* A WebSocket wrote its own output (ws.c); now the bufferevent does. */
	bufferevent_enable(c->bev, EV_WRITE);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		http_close(c);
}

/*
 * The bufferevent wrote all of C's output: a lingering connection closes;
 * a WebSocket goes back to being written by ws.c.
 */
static void
http_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;

	if (c->state == CONN_CLOSING &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		http_close(c);
	else if (c->state == CONN_WS)
		ws_written(c);
}

static void
http_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn	*c = arg;

	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		http_close(c);
}

/*
 * The one way a connection ends: detach it from its session, its events
 * wait and the connection list, and free it now or, when one of its
 * callbacks is on the stack, when that returns. Safe to call twice.
 */
void
http_close(struct conn *c)
{
	struct eio	*e;

	if (c->dead)
		return;
	c->dead = 1;
	if ((e = c->eio) != NULL) {
		c->eio = NULL;
		eio_conn_gone(e, c);
	}
	events_gone(c);
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	if (c->inuse == 0)
		http_free(c);
}

/*
 * Give the heap back to the system a second after many connections went:
 * glibc keeps freed memory below its top, and a burst of thousands of
 * clients that leave would otherwise stay resident.
 */
static void
http_trim_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	http_trim_pending = 0;
	http_peak = http_nconns;
	malloc_trim(0);
}

static void
http_free(struct conn *c)
{
	struct timeval	tv = { 1, 0 };

	TAILQ_REMOVE(&http_conns_list, c, entry);
	http_nconns--;
	if (!http_trim_pending && http_peak >= http_nconns + HTTP_TRIM_DROP &&
	    event_base_once(notifier_base, -1, EV_TIMEOUT, http_trim_cb, NULL,
	    &tv) == 0)
		http_trim_pending = 1;
	metrics.conns_open--;
	ws_free(c);
	if (c->body != NULL)
		evbuffer_free(c->body);
	bufferevent_free(c->bev);
	free(c->req);
	free(c);
}

struct bufferevent *
http_bev(struct conn *c)
{
	return c->bev;
}

/*
 * The address of C's client: the peer, or behind a local reverse proxy
 * the one its last request named (http_client_set()).
 */
const char *
http_addr(struct conn *c)
{
	return c->client[0] != '\0' ? c->client : c->addr;
}

/* The value of hexadecimal digit CH, or -1. */
static int
http_hex(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/*
 * Find KEY in the query string Q and copy its value, percent-decoded, to
 * BUF; a "%" not followed by two hexadecimal digits is kept as it is.
 * Returns 1 when found, 0 when absent, -1 when too long.
 */
int
http_query_get(const char *q, const char *key, char *buf, size_t bufsz)
{
	size_t		 klen = strlen(key), o;
	const char	*p = q, *e;
	int		 hi, lo;

	while (p != NULL && *p != '\0') {
		e = strchr(p, '&');
		if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
			p += klen + 1;
			for (o = 0; *p != '\0' && *p != '&'; p++) {
				if (o + 1 >= bufsz)
					return -1;
				if (*p == '%' && (hi = http_hex(p[1])) != -1 &&
				    (lo = http_hex(p[2])) != -1) {
					buf[o++] = (char)((hi << 4) | lo);
					p += 2;
				} else if (*p == '+')
					buf[o++] = ' ';
				else
					buf[o++] = *p;
			}
			buf[o] = '\0';
			return 1;
		}
		p = e != NULL ? e + 1 : NULL;
	}
	return 0;
}
