/*
 * http_trust.c: who may ask the notifier over HTTP. A request on the main
 * TCP listener must name us in Host (DNS rebinding), and with
 * dashboard_auth = web carry the secret the authenticating web server
 * adds; behind a local reverse proxy the client is the last hop of
 * X-Forwarded-For; a browser's Origin must be ours or in cors_origins,
 * and is answered with the CORS headers. http.c calls these on each
 * request; the request's fields are in struct http_req (http_int.h).
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "goip.h"
#include "notifier.h"
#include "http_int.h"

/*
 * Add LEN bytes of an X-Forwarded-For value, which may come in pieces, to
 * R: only what follows its last comma is kept, the last hop (the address
 * the proxy saw). A hop too long for an address is marked bad.
 */
void
http_trust_xff_add(struct http_req *r, const char *at, size_t len)
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
 * Set the client address of the request on C: from a local peer (the
 * reverse proxy: lighttpd's mod_proxy and Apache's mod_proxy_http both
 * add X-Forwarded-For) the last hop of X-Forwarded-For when it is an IPv4
 * or IPv6 address, else the peer's own address.
 */
void
http_trust_client(struct conn *c)
{
	struct in6_addr	 a6;
	char		 hop[sizeof(c->req->xff)];
	size_t		 b, e;

	strlcpy(c->client, c->addr, sizeof(c->client));
	if (c->req->xffbad || c->req->xff[0] == '\0' ||
	    !server_addr_local(c->addr))
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

/*
 * Is the name LEN bytes at NAME in the list LIST (separated by spaces,
 * tabs or commas), ignoring case?
 */
static int
http_trust_listed(const char *list, const char *name, size_t len)
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
http_trust_host_ok(const char *host)
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
		return http_trust_listed(nconf.cfg->allowed_hosts, host, len) ||
		    http_trust_listed(nconf.cfg->allowed_hosts, host,
		    strlen(host));
	if (http_trust_listed("localhost 127.0.0.1 [::1]", host, len))
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
http_trust_secret_eq(const char *a, const char *b)
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
int
http_trust_check(struct conn *c)
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
		    LIT("{\"error\":\"Host header required\"}"), NULL);
		return 0;
	}
	if (!http_trust_host_ok(c->req->host)) {
		log_info("http: %s: Host %s not allowed", c->addr,
		    c->req->host);
		c->keepalive = 0;
		http_reply(c, 403, "application/json",
		    LIT("{\"error\":\"host not allowed\"}"), NULL);
		return 0;
	}
secret:
	if (cfg->dashboard_auth == AUTH_NONE)
		return 1;
	if (cfg->proxy_secret[0] == '\0' ||
	    !http_trust_secret_eq(cfg->proxy_secret, c->req->secret)) {
		c->keepalive = 0;
		http_reply(c, 403, "application/json",
		    LIT("{\"error\":\"only served through the "
		    "authenticating web server\"}"), NULL);
		return 0;
	}
	return 1;
}

/*
 * Is the request's Origin acceptable? No Origin (not a browser, or same
 * origin GET), an Origin whose host is the Host header, or one listed in
 * cors_origins. Compliance mode accepts any.
 */
int
http_trust_cors_ok(struct conn *c)
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
http_trust_cors_add(struct conn *c, struct evbuffer *out)
{
	if (c->req->origin[0] == '\0' || !http_trust_cors_ok(c))
		return 0;
	if (nconf.cfg != NULL && nconf.cfg->dashboard_auth == AUTH_NONE &&
	    config_origin_allowed(nconf.cfg, "*"))
		return evbuffer_add_printf(out,
		    "Access-Control-Allow-Origin: *\r\n") < 0 ? -1 : 0;
	return evbuffer_add_printf(out, "Access-Control-Allow-Origin: %s\r\n"
	    "Access-Control-Allow-Credentials: true\r\nVary: Origin\r\n",
	    c->req->origin) < 0 ? -1 : 0;
}
