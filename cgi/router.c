/*
 * router.c: the route table. goip-cgi routes on the part of the request
 * path after its last "/api/" segment, so any prefix the web server maps
 * (/api/, /goip/api/, a ScriptAlias) works unchanged.
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
	{ "POST", "device/heartbeat", ROUTE_DEVICE, heartbeat_post },
	{ "POST", "sms/receive", ROUTE_DEVICE, receive_post },
	{ "GET", "device/outbox", ROUTE_DEVICE, outbox_get },
	{ "POST", "sms/status", ROUTE_DEVICE, status_post },
	{ "POST", "sms/send", ROUTE_DASHBOARD, send_post },
	{ "GET", "devices", ROUTE_DASHBOARD, devices_list },
	{ "GET", "devices/*", ROUTE_DASHBOARD, devices_get },
	{ "GET", "sms", ROUTE_DASHBOARD, smslist_get },
	{ "GET", "stats", ROUTE_DASHBOARD, stats_get },
};
#define NROUTES	(sizeof(routes) / sizeof(routes[0]))

/* Does PATH match PATTERN (a trailing "*" matches one non-empty segment)? */
static int
router_match(const char *pattern, const char *path)
{
	size_t	 plen = strlen(pattern);

	if (plen > 0 && pattern[plen - 1] == '*')
		return strncmp(pattern, path, plen - 1) == 0 &&
		    path[plen - 1] != '\0' && strchr(path + plen - 1, '/') ==
		    NULL;
	return strcmp(pattern, path) == 0;
}

static int
router_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	return (c | 0x20) - 'a' + 10;
}

/*
 * Find the route part of the request: SCRIPT_NAME + PATH_INFO (RFC 3875),
 * or REQUEST_URI without its query when the server gives no path. Returns
 * 0, or -1 when there is no "/api/" segment or the path is too long.
 */
static int
router_path(struct request *req)
{
	const char	*sn, *pi, *uri, *p, *api = NULL;
	char		 full[1024];
	size_t		 len, i, o;
	int		 c;

	sn = request_env(req, "SCRIPT_NAME");
	pi = request_env(req, "PATH_INFO");
	uri = request_env(req, "REQUEST_URI");
	if ((sn != NULL && *sn != '\0') || (pi != NULL && *pi != '\0')) {
		if ((size_t)snprintf(full, sizeof(full), "%s%s",
		    sn != NULL ? sn : "", pi != NULL ? pi : "") >= sizeof(full))
			return -1;
	} else if (uri != NULL) {
		/* Decoded as servers decode PATH_INFO; a NUL is refused. */
		len = strcspn(uri, "?");
		for (i = 0, o = 0; i < len; i++) {
			if (o + 1 >= sizeof(full))
				return -1;
			if (uri[i] == '%' && i + 2 < len &&
			    isxdigit((unsigned char)uri[i + 1]) &&
			    isxdigit((unsigned char)uri[i + 2])) {
				c = (router_hex(uri[i + 1]) << 4) |
				    router_hex(uri[i + 2]);
				if (c == 0)
					return -1;
				full[o++] = (char)c;
				i += 2;
			} else
				full[o++] = uri[i];
		}
		full[o] = '\0';
	} else
		return -1;
	for (p = full; (p = strstr(p, "/api/")) != NULL; p++)
		api = p;
	if (api == NULL) {
		if (strcmp(full, "/api") == 0 ||
		    (strlen(full) >= 4 && strcmp(full + strlen(full) - 4,
		    "/api") == 0)) {
			req->path[0] = '\0';
			return 0;
		}
		return -1;
	}
	snprintf(req->path, sizeof(req->path), "%s", api + 5);
	len = strlen(req->path);
	while (len > 0 && req->path[len - 1] == '/')
		req->path[--len] = '\0';
	return 0;
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
	if (found->auth == ROUTE_DEVICE && request_auth_device(req) == -1)
		return;
	found->handler(req);
	if (!req->answered)
		reply_error(req, 500, "internal error", NULL);
}
