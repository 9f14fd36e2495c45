/*
 * request.c: reading what the web server passed (RFC 3875 variables, the
 * body) and authenticating the caller. Every failure here answers the
 * request itself and returns -1; the handler then just returns.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcgiapp.h>
#include <json-c/json.h>

#include "goip.h"
#include "cgi.h"

#define REQUEST_BEARER		"Bearer "	/* Authorization scheme */
#define REQUEST_TOKEN_MAX	256	/* longer tokens are refused unread */

/* The value of the CGI variable NAME, or NULL. */
const char *
request_env(const struct request *req, const char *name)
{
	size_t	 len = strlen(name);
	int	 i;

	for (i = 0; req->envp[i] != NULL; i++)
		if (strncmp(req->envp[i], name, len) == 0 &&
		    req->envp[i][len] == '=')
			return req->envp[i] + len + 1;
	return NULL;
}

/* Is the media type TYPE application/json, with at most a UTF-8 charset? */
static int
request_is_json(const char *type)
{
	const char	*p;

	if (type == NULL || strncasecmp(type, "application/json", 16) != 0)
		return 0;
	p = type + 16;
	while (*p == ' ')
		p++;
	if (*p == '\0')
		return 1;
	if (*p++ != ';')
		return 0;
	while (*p == ' ')
		p++;
	return strcasecmp(p, "charset=utf-8") == 0 ||
	    strcasecmp(p, "charset=\"utf-8\"") == 0;
}

/*
 * The value of CONTENT_LENGTH in *LEN: 0, or -1 when it is absent or empty,
 * -2 when it is not a decimal number.
 */
static int
request_length(const struct request *req, long long *len)
{
	const char	*cl;
	char		*end;

	if ((cl = request_env(req, "CONTENT_LENGTH")) == NULL || *cl == '\0')
		return -1;
	errno = 0;
	*len = strtoll(cl, &end, 10);
	if (errno != 0 || *end != '\0' || *len < 0 ||
	    !isdigit((unsigned char)*cl))
		return -2;
	return 0;
}

/* Read up to LEN bytes of the body into BUF; returns how many came. */
static size_t
request_fetch(struct request *req, char *buf, size_t len)
{
	size_t	 got = 0;
	int	 n;

	while (got < len) {
		if (req->in != NULL)
			n = FCGX_GetStr(buf + got, (int)(len - got), req->in);
		else
			n = (int)fread(buf + got, 1, len - got, stdin);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}

/*
 * Read the body announced by CONTENT_LENGTH, after checking its media type
 * (415), its presence (411) and its size against max_body (413) before
 * allocating anything. Returns 0, or -1 once the request is answered.
 */
static int
request_read_body(struct request *req)
{
	long long	 len;
	size_t		 got;

	if (!request_is_json(request_env(req, "CONTENT_TYPE"))) {
		reply_error(req, 415, "Content-Type must be application/json",
		    NULL);
		return -1;
	}
	switch (request_length(req, &len)) {
	case -1:
		reply_error(req, 411, "Content-Length required", NULL);
		return -1;
	case -2:
		reply_error(req, 400, "invalid Content-Length", NULL);
		return -1;
	}
	if (len > req->cfg->max_body) {
		reply_error(req, 413, "request body too large", NULL);
		return -1;
	}
	if (req->preread) {
		/* Read already, before the group's transaction opened. */
		req->body = req->pre;
		req->pre = NULL;
		got = req->prelen;
	} else if ((req->body = malloc((size_t)len + 1)) == NULL) {
		reply_error(req, 503, "out of memory", NULL);
		return -1;
	} else
		got = request_fetch(req, req->body, (size_t)len);
	if (got != (size_t)len) {
		reply_error(req, 400, "request body shorter than "
		    "Content-Length", NULL);
		return -1;
	}
	req->body[got] = '\0';
	req->bodylen = got;
	return 0;
}

/*
 * Read the body ahead, when CONTENT_LENGTH is valid and within max_body,
 * without answering anything: request_read_body() then takes it and makes
 * its checks in their usual order. goip-cgi reads every request of a group
 * this way before the group's transaction opens, so no write lock is held
 * while a slow client sends its body.
 */
void
request_preread(struct request *req)
{
	long long	 len;

	if (req->in == NULL || request_length(req, &len) != 0 ||
	    len > req->cfg->max_body ||
	    (req->pre = malloc((size_t)len + 1)) == NULL)
		return;
	req->prelen = request_fetch(req, req->pre, (size_t)len);
	req->preread = 1;
}

/* Ring the notifier for event ID once the request's writes are committed. */
void
request_ring(struct request *req, int64_t id)
{
	if (id > req->ring)
		req->ring = id;
}

/* Read and parse the JSON body. Returns the value or NULL once answered. */
struct json_object *
request_json(struct request *req)
{
	struct json_object	*obj;
	const char		*why;

	if (request_read_body(req) == -1)
		return NULL;
	if (req->bodylen == 0) {
		reply_error(req, 400, "empty body", "body");
		return NULL;
	}
	if ((obj = jsonin_parse(req->body, req->bodylen, &why)) == NULL) {
		reply_error(req, 400, why, "body");
		return NULL;
	}
	return obj;
}

/* Answer 401 with the RFC 6750 challenge; always returns -1. */
static int
request_unauthorized(struct request *req, const char *msg)
{
	reply_header(req, 401, "WWW-Authenticate: Bearer realm=\"goip\"");
	reply_error(req, 401, msg, NULL);
	return -1;
}

/*
 * Authenticate a device by "Authorization: Bearer <token>". On success the
 * device's id and row id are in REQ. Returns 0, or -1 once answered (401;
 * 503 when the database is busy).
 */
int
request_auth_device(struct request *req)
{
	const char	*h;
	char		*cause = NULL;
	enum store_rc	 rc;
	size_t		 len;

	h = request_env(req, "HTTP_AUTHORIZATION");
	if (h == NULL || strncasecmp(h, REQUEST_BEARER,
	    strlen(REQUEST_BEARER)) != 0)
		return request_unauthorized(req, "missing bearer token");
	h += strlen(REQUEST_BEARER);
	while (*h == ' ')
		h++;
	len = strlen(h);
	if (len == 0 || len > REQUEST_TOKEN_MAX)
		return request_unauthorized(req, "invalid token");
	/*
	 * Look the token up on the connection the writes use: its page cache
	 * stays warm, while the reading connection must read the pages again
	 * after every commit. Inside a group it also sees the group's writes
	 * not yet committed, but groups never change tokens.
	 */
	rc = device_by_token(req->wst, h, &req->device_rowid, req->device,
	    &cause);
	if (rc == STORE_NOTFOUND) {
		log_debug("cgi: unknown token from %s",
		    request_env(req, "REMOTE_ADDR") != NULL ?
		    request_env(req, "REMOTE_ADDR") : "?");
		return request_unauthorized(req, "unknown token");
	}
	if (rc != STORE_OK)
		return request_store_error(req, rc, cause);
	return 0;
}

/*
 * Require the web server's authentication (REMOTE_USER) on a dashboard
 * route, unless dashboard_auth = none. Returns 0 or -1 once answered.
 */
int
request_auth_dashboard(struct request *req)
{
	const char	*u;

	u = request_env(req, "REMOTE_USER");
	if (u != NULL && *u != '\0') {
		req->remote_user = u;
		return 0;
	}
	if (req->cfg->dashboard_auth == AUTH_NONE) {
		req->remote_user = "";
		return 0;
	}
	reply_error(req, 401, "authentication required", NULL);
	return -1;
}

static int
request_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * Copy the percent-decoded value of query parameter NAME into BUF. Returns
 * 1 when found, 0 when absent, -1 when malformed or too long.
 */
int
request_query(const struct request *req, const char *name, char *buf,
    size_t bufsz)
{
	const char	*p = req->query, *e;
	size_t		 nlen = strlen(name), o;
	int		 hi, lo;

	if (p == NULL)
		return 0;
	while (*p != '\0') {
		e = p + strcspn(p, "&");
		if ((size_t)(e - p) > nlen && strncmp(p, name, nlen) == 0 &&
		    p[nlen] == '=') {
			p += nlen + 1;
			for (o = 0; p < e; p++) {
				if (o + 1 >= bufsz)
					return -1;
				if (*p == '%') {
					if (e - p < 3 ||
					    (hi = request_hex(p[1])) == -1 ||
					    (lo = request_hex(p[2])) == -1)
						return -1;
					buf[o++] = (char)(hi * 16 + lo);
					p += 2;
				} else
					buf[o++] = *p == '+' ? ' ' : *p;
			}
			buf[o] = '\0';
			if (strlen(buf) != o)
				return -1;
			return 1;
		}
		if ((size_t)(e - p) == nlen && strncmp(p, name, nlen) == 0) {
			buf[0] = '\0';
			return 1;
		}
		p = *e == '&' ? e + 1 : e;
	}
	return 0;
}

/*
 * Answer a failed store operation: 503 with Retry-After when the database
 * was busy or its disk full (the latter logged: the operator must free
 * space), 500 (logged) otherwise. Frees CAUSE. Always returns -1.
 */
int
request_store_error(struct request *req, enum store_rc rc, char *cause)
{
	if (rc == STORE_BUSY) {
		log_info("cgi: %s: database busy", req->path);
		reply_header(req, 503, "Retry-After: 1");
		reply_error(req, 503, "database busy, retry later", NULL);
	} else if (rc == STORE_FULL) {
		log_warnx("cgi: %s: %s", req->path, cause != NULL ? cause :
		    "disk full");
		reply_header(req, 503, "Retry-After: 60");
		reply_error(req, 503, "database disk full, retry later", NULL);
	} else {
		log_warnx("cgi: %s: %s", req->path, cause != NULL ? cause :
		    "store error");
		reply_error(req, 500, "internal error", NULL);
	}
	free(cause);
	return -1;
}

/*
 * Answer a failed store operation whose STORE_NOTFOUND means the resource
 * the client named does not exist: 404 with MSG about FIELD then, and as
 * request_store_error() otherwise. Frees CAUSE. Always returns -1.
 */
int
request_store_fail(struct request *req, enum store_rc rc, char *cause,
    const char *msg, const char *field)
{
	if (rc != STORE_NOTFOUND)
		return request_store_error(req, rc, cause);
	free(cause);
	reply_error(req, 404, msg, field);
	return -1;
}

/*
 * Begin the transaction of the request's writes on REQ->wst. Returns 0, or
 * -1 once answered (503 when the database is busy).
 */
int
request_begin(struct request *req)
{
	char		*cause = NULL;
	enum store_rc	 rc;

	if ((rc = store_begin(req->wst, &cause)) != STORE_OK)
		return request_store_error(req, rc, cause);
	return 0;
}

/*
 * End the transaction request_begin() opened. RC is how the request's
 * writes went, with CAUSE when they failed: anything but STORE_OK rolls
 * the transaction back and is answered as request_store_error() does;
 * STORE_OK commits, and a failed commit is answered the same way. Returns
 * 0 once committed (the caller answers), or -1 once answered. Frees CAUSE.
 */
int
request_commit(struct request *req, enum store_rc rc, char *cause)
{
	if (rc != STORE_OK) {
		store_rollback(req->wst);
		return request_store_error(req, rc, cause);
	}
	free(cause);
	cause = NULL;
	if ((rc = store_commit(req->wst, &cause)) != STORE_OK)
		return request_store_error(req, rc, cause);
	return 0;
}
