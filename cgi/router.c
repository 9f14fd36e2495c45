/*
 * router.c: the route table. goip-cgi routes on the part of the request
 * path after its mount point, the first "/api/" segment, so any prefix the
 * web server maps (/api/, /goip/api/, a ScriptAlias) works unchanged. A
 * path with a second "api" segment after the mount point is refused (404):
 * routing on the last one let /api/device/x/api/devices pass the web
 * server's exemption for device routes and reach a dashboard route.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "goip.h"
#include "cgi.h"

struct route {
	const char	*method;
	const char	*pattern;	/* "devices/" + "*": one more segment */
	enum route_auth	 auth;
	void		(*handler)(struct request *);
};

static const struct route routes[] = {
	{ "POST", "device/heartbeat", ROUTE_DEVICE, api_heartbeat_post },
	{ "POST", "sms/receive", ROUTE_DEVICE, api_receive_post },
	{ "GET", "device/outbox", ROUTE_DEVICE, api_outbox_get },
	{ "POST", "sms/status", ROUTE_DEVICE, api_status_post },
	{ "POST", "sms/send", ROUTE_DASHBOARD, api_send_post },
	{ "GET", "devices", ROUTE_DASHBOARD, api_devices_list },
	{ "GET", "devices/*", ROUTE_DASHBOARD, api_devices_get },
	{ "POST", "devices/*/ussd", ROUTE_DASHBOARD, api_ussd_post },
	{ "GET", "sms", ROUTE_DASHBOARD, api_smslist_get },
	{ "GET", "stats", ROUTE_DASHBOARD, api_stats_get },
	{ "GET", "webhooks", ROUTE_DASHBOARD, api_webhooks_list },
};
#define NROUTES	(sizeof(routes) / sizeof(routes[0]))

/* Does PATH match PATTERN (each "*" matches one non-empty segment)? */
static int
router_match(const char *pattern, const char *path)
{
	size_t	 n;

	while (*pattern != '\0') {
		if (*pattern == '*') {
			if ((n = strcspn(path, "/")) == 0)
				return 0;
			path += n;
			pattern++;
		} else if (*pattern++ != *path++)
			return 0;
	}
	return *path == '\0';
}

static int
router_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	return (c | 0x20) - 'a' + 10;
}

/*
 * Does the route part PATH hold a segment "api"? Such a path names another
 * mount point inside this one and is never a route.
 */
int
router_nested(const char *path)
{
	const char	*p = path;
	size_t		 len;

	for (;;) {
		len = strcspn(p, "/");
		if (len == 3 && strncmp(p, "api", 3) == 0)
			return 1;
		if (p[len] == '\0')
			return 0;
		p += len + 1;
	}
}

/*
 * Decode the path of REQUEST_URI (without its query) into BUF as servers
 * decode PATH_INFO. Returns 0, or -1 when it holds an encoded NUL or does
 * not fit.
 */
int
router_decode(const char *uri, char *buf, size_t bufsz)
{
	size_t	 len, i, o;
	int	 c;

	len = strcspn(uri, "?");
	for (i = 0, o = 0; i < len; i++) {
		if (o + 1 >= bufsz)
			return -1;
		if (uri[i] == '%' && i + 2 < len &&
		    isxdigit((unsigned char)uri[i + 1]) &&
		    isxdigit((unsigned char)uri[i + 2])) {
			c = (router_hex(uri[i + 1]) << 4) |
			    router_hex(uri[i + 2]);
			if (c == 0)
				return -1;
			buf[o++] = (char)c;
			i += 2;
		} else
			buf[o++] = uri[i];
	}
	buf[o] = '\0';
	return 0;
}

/*
 * Copy the route part of the decoded request path FULL, what follows its
 * first "/api/" segment without trailing slashes, into ROUTE (ROUTESZ
 * bytes). "/api" alone, or a path ending in it, is the empty route.
 * Returns 0, or -1 when there is no mount point, the route holds a second
 * "api" segment, or it does not fit.
 */
int
router_route(const char *full, char *route, size_t routesz)
{
	static const char	 mount[] = "/api/";
	const char		*api;
	size_t			 len = strlen(full);

	if ((api = strstr(full, mount)) == NULL) {
		if (len >= sizeof(mount) - 2 && strcmp(full + len -
		    (sizeof(mount) - 2), "/api") == 0) {
			if (routesz == 0)
				return -1;
			route[0] = '\0';
			return 0;
		}
		return -1;
	}
	if ((size_t)snprintf(route, routesz, "%s", api + sizeof(mount) - 1) >=
	    routesz)
		return -1;
	len = strlen(route);
	while (len > 0 && route[len - 1] == '/')
		route[--len] = '\0';
	return router_nested(route) ? -1 : 0;
}

/*
 * Find the route part of the request: SCRIPT_NAME + PATH_INFO (RFC 3875),
 * or REQUEST_URI without its query when the server gives no path. Returns
 * 0, or -1 when there is no "/api/" segment, a second one, or the path is
 * too long.
 */
static int
router_path(struct request *req)
{
	const char	*sn, *pi, *uri;
	char		 full[1024];

	sn = request_env(req, "SCRIPT_NAME");
	pi = request_env(req, "PATH_INFO");
	uri = request_env(req, "REQUEST_URI");
	if ((sn != NULL && *sn != '\0') || (pi != NULL && *pi != '\0')) {
		if ((size_t)snprintf(full, sizeof(full), "%s%s",
		    sn != NULL ? sn : "", pi != NULL ? pi : "") >= sizeof(full))
			return -1;
	} else if (uri != NULL) {
		if (router_decode(uri, full, sizeof(full)) == -1)
			return -1;
	} else
		return -1;
	return router_route(full, req->path, sizeof(req->path));
}

/* Route and serve one request; every request is answered. */
void
router_dispatch(struct request *req)
{
	const struct route	*r, *found = NULL;
	char			 allow[64] = "";
	size_t			 i;

	req->method = request_env(req, "REQUEST_METHOD");
	req->query = request_env(req, "QUERY_STRING");
	if (req->method == NULL) {
		reply_error(req, 400, "no request method", NULL);
		return;
	}
	if (router_path(req) == -1) {
		reply_error(req, 404, "no such route", NULL);
		return;
	}
	for (i = 0; i < NROUTES; i++) {
		r = &routes[i];
		if (!router_match(r->pattern, req->path))
			continue;
		if (strcmp(r->method, req->method) == 0) {
			found = r;
			break;
		}
		if (allow[0] == '\0')
			snprintf(allow, sizeof(allow), "Allow: %s", r->method);
	}
	if (found == NULL) {
		if (allow[0] != '\0') {
			reply_header(req, 405, allow);
			reply_error(req, 405, "method not allowed", NULL);
		} else
			reply_error(req, 404, "no such route", NULL);
		return;
	}
	if (found->auth == ROUTE_DASHBOARD &&
	    request_auth_dashboard(req) == -1)
		return;
	if (req->st == NULL || req->wst == NULL) {
		reply_header(req, 503, "Retry-After: 5");
		reply_error(req, 503, "database unavailable", NULL);
		return;
	}
	if (found->auth == ROUTE_DEVICE && (request_auth_device(req) == -1 ||
	    ratelimit_check(req) == -1))
		return;
	found->handler(req);
	if (!req->answered)
		reply_error(req, 500, "internal error", NULL);
}
