/*
 * http.c: HTTP/1.1 on a connection server.c accepted, until it is upgraded
 * to a WebSocket: request parsing with libhttp-parser (keep-alive, bounded
 * target, headers and body), dispatch through the table of paths to the
 * Engine.IO transports, the events long-poll and the metrics page, and the
 * answers. Who may ask (Host, the proxy's secret, X-Forwarded-For, CORS)
 * is http_trust.c's.
 */
#include "config.h"

#include <sys/types.h>

#include <assert.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <http_parser.h>

#include "goip.h"
#include "notifier.h"
#include "http_int.h"

/* A header kept in a buffer of struct http_req. */
#define HTTP_HDR(name, hdr, field)					\
	{ name, hdr, offsetof(struct http_req, field),			\
	    sizeof(((struct http_req *)NULL)->field) }

/*
 * The request headers the notifier keeps, by name (any case), and where:
 * X-Forwarded-For is kept by http_trust_xff_add(), the others are copied
 * whole into their buffer (too long a value is refused 431).
 */
static const struct {
	const char	*name;
	enum http_hdr	 hdr;
	size_t		 off;		/* in struct http_req */
	size_t		 size;
} http_hdrs[] = {
	HTTP_HDR("origin", HDR_ORIGIN, origin),
	HTTP_HDR("host", HDR_HOST, host),
	HTTP_HDR("sec-websocket-key", HDR_WSKEY, wskey),
	HTTP_HDR("sec-websocket-version", HDR_WSVER, wsver),
	HTTP_HDR("x-goip-proxy-secret", HDR_SECRET, secret),
	{ "x-forwarded-for", HDR_XFF, 0, 0 },
};

static http_parser_settings	 http_settings;

static void	http_dispatch(struct conn *);
static void	http_request_reset(struct conn *);

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
	if (c->req->hdr == HDR_XFF) {
		http_trust_xff_add(c->req, at, len);
		return 0;
	}
	for (i = 0; i < sizeof(http_hdrs) / sizeof(http_hdrs[0]); i++) {
		if ((int)http_hdrs[i].hdr == c->req->hdr) {
			dst = (char *)c->req + http_hdrs[i].off;
			dstsz = http_hdrs[i].size;
		}
	}
	if (dst == NULL || dstsz == 0)
		return 0;
	cur = strlen(dst);
	if (cur + len >= dstsz) {
		c->toolarge = 431;
		return 1;
	}
	memcpy(dst + cur, at, len);
	dst[cur + len] = '\0';
	return 0;
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
 * Make the HTTP state of the new connection C (server_conn_new(), before
 * its bufferevent exists): the parser and the request being read.
 * Returns 0, or -1 when memory is short.
 */
int
http_start(struct conn *c)
{
	if (http_settings.on_url == NULL) {
		http_settings.on_url = http_on_url;
		http_settings.on_header_field = http_on_header_field;
		http_settings.on_header_value = http_on_header_value;
		http_settings.on_headers_complete = http_on_headers_complete;
		http_settings.on_body = http_on_body;
		http_settings.on_message_complete = http_on_message_complete;
	}
	if ((c->req = malloc(sizeof(*c->req))) == NULL)
		return -1;
	http_parser_init(&c->req->parser, HTTP_REQUEST);
	c->req->parser.data = c;
	http_request_reset(c);
	return 0;
}

/* Free the HTTP state of C, if any (server_free()). */
void
http_end(struct conn *c)
{
	if (c->body != NULL)
		evbuffer_free(c->body);
	c->body = NULL;
	free(c->req);
	c->req = NULL;
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

/*
 * Input arrived on C (server.c): feed it to the parser until one request
 * is complete, then dispatch it. A connection answering a request (busy)
 * reads no further requests until the answer is written (no pipelining in
 * parallel).
 */
void
http_read(struct conn *c)
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
		server_close(c);
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
 * Serve an Engine.IO request on C for a session carrying H: a WebSocket
 * upgrade, a CORS preflight, or a request of the long-polling transport.
 */
static void
http_serve_eio(struct conn *c, const char *query, enum eio_handler h)
{
	char	*body = NULL;
	size_t	 blen = 0;

	if (!http_trust_cors_ok(c)) {
		http_reply_error(c, 403, EIO_ERR_FORBIDDEN);
		return;
	}
	if (c->upgrade) {
		eio_ws_request(c, query, c->req->wskey, c->req->wsver, h);
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
	eio_poll_request(c, c->method, query, body, blen, h);
}

static void
http_serve_socketio(struct conn *c, const char *query)
{
	http_serve_eio(c, query, EIO_SIO);
}

static void
http_serve_engineio(struct conn *c, const char *query)
{
	http_serve_eio(c, query, EIO_ECHO);
}

/* GET events_path: the plain long-poll of events.c. */
static void
http_serve_events(struct conn *c, const char *query)
{
	if (!http_trust_cors_ok(c)) {
		http_reply(c, 403, "application/json",
		    LIT("{\"error\":\"origin not allowed\"}"), NULL);
		return;
	}
	if (c->method != HTTP_GET) {
		http_reply(c, 405, "application/json",
		    LIT("{\"error\":\"method not allowed\"}"),
		    "Allow: GET\r\n");
		return;
	}
	events_request(c, query);
}

enum http_mode {
	HTTP_MODE_APP,		/* with goip.conf */
	HTTP_MODE_COMPLIANCE,	/* -C: the official test suites */
	HTTP_MODE_ANY
};

/*
 * What the notifier serves, by listener kind, mode and path. A path is
 * fixed, or one of nconf's (a row whose path is NULL there is skipped);
 * a row marked slash matches its path with or without the last slash
 * (http_path_is()), else the path must be equal; a row without any path
 * takes every request. Only rows marked upgrade take a WebSocket upgrade:
 * any other is refused 400 (the metrics page answers whatever asks, as
 * it always did). The first row that matches serves; none: 404.
 */
static const struct http_route {
	enum conn_kind		 kind;
	enum http_mode		 mode;
	const char		*path;
	const char *const	*confpath;	/* or a path of nconf */
	int			 slash;
	int			 upgrade;
	void			 (*serve)(struct conn *, const char *);
} http_routes[] = {
	{ CONN_METRICS, HTTP_MODE_ANY, NULL, NULL, 0, 1, metrics_request },
	{ CONN_MAIN, HTTP_MODE_COMPLIANCE, "/engine.io/", NULL, 1, 1,
	    http_serve_engineio },
	{ CONN_MAIN, HTTP_MODE_COMPLIANCE, "/socket.io/", NULL, 1, 1,
	    http_serve_socketio },
	{ CONN_MAIN, HTTP_MODE_APP, NULL, &nconf.socket_path, 1, 1,
	    http_serve_socketio },
	{ CONN_MAIN, HTTP_MODE_APP, NULL, &nconf.events_path, 0, 0,
	    http_serve_events },
};

/* The row of http_routes serving PLEN bytes of PATH on C, or NULL. */
static const struct http_route *
http_route_find(struct conn *c, const char *path, size_t plen)
{
	const struct http_route	*r;
	const char		*p;
	enum http_mode		 mode;
	size_t			 i;

	mode = nconf.compliance ? HTTP_MODE_COMPLIANCE : HTTP_MODE_APP;
	for (i = 0; i < sizeof(http_routes) / sizeof(http_routes[0]); i++) {
		r = &http_routes[i];
		if (r->kind != c->kind ||
		    (r->mode != HTTP_MODE_ANY && r->mode != mode))
			continue;
		p = r->confpath != NULL ? *r->confpath : r->path;
		if (p == NULL) {
			if (r->confpath == NULL)
				return r;
			continue;
		}
		if (r->slash ? http_path_is(path, plen, p) :
		    plen == strlen(p) && memcmp(path, p, plen) == 0)
			return r;
	}
	return NULL;
}

/*
 * A whole request is in on C: check who asks (http_trust_check(), on the
 * main listener), find its row in http_routes and serve it.
 */
static void
http_dispatch(struct conn *c)
{
	const struct http_route	*r;
	struct http_parser_url	 u;
	const char		*path, *query = "";
	char			 qbuf[NOTIFIER_URL_MAX + 1];
	size_t			 plen;

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
	if (c->kind == CONN_MAIN) {
		if (!http_trust_check(c))
			return;
		http_trust_client(c);
	}
	r = http_route_find(c, path, plen);
	if (c->upgrade && (r == NULL || !r->upgrade)) {
		c->keepalive = 0;
		http_reply(c, 400, "text/plain", "", 0, NULL);
		return;
	}
	if (r == NULL) {
		http_reply(c, 404, "application/json",
		    LIT("{\"error\":\"not found\"}"), NULL);
		return;
	}
	r->serve(c, query);
}

static const char *
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
		server_linger(c);
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
		server_close(c);
		return -1;
	}
	if (len > 0 && evbuffer_add(b, body, len) == -1) {
		evbuffer_free(b);
		server_close(c);
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
	    http_trust_cors_add(c, out) == -1 ||
	    evbuffer_add_printf(out, "Cache-Control: no-store\r\n%s%s\r\n",
	    extra != NULL ? extra : "",
	    c->keepalive ? "" : "Connection: close\r\n") < 0 ||
	    evbuffer_add_buffer(out, b) == -1) {
		server_close(c);
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
