/*
 * webhook.c: the endpoints of goip-webhookd (table webhooks, sql/004).
 *
 * goipctl adds, removes, enables, disables and re-keys endpoints and asks
 * for a ping; goip-webhookd loads them and records each delivery attempt;
 * goip-cgi lists them. Every store function returns enum store_rc with its
 * results in out-parameters and runs its own transaction. The pure helpers
 * at the top check what an operator types (a URL, a list of events) and
 * classify the address a delivery is about to connect to.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <sqlite3.h>

#include "goip.h"
#include "store_int.h"

/* The event types an endpoint may ask for, with "all" and the default. */
static const struct {
	enum event_type	 type;
	int		 dflt;		/* in the default set */
} webhook_types[] = {
	{ EVENT_DEVICE_HEARTBEAT, 0 },
	{ EVENT_DEVICE_STATUS_CHANGE, 1 },
	{ EVENT_SMS_RECEIVED, 1 },
	{ EVENT_SMS_STATUS, 1 },
	{ EVENT_USSD_REPLY, 1 },
	{ EVENT_WEBHOOK_DISABLED, 0 },
};
#define WEBHOOK_NTYPES	(sizeof(webhook_types) / sizeof(webhook_types[0]))

/*
 * Networks a delivery may not reach unless webhook_allow_private = yes:
 * "this" network, private (RFC 1918), shared (RFC 6598), loopback,
 * link-local, IETF protocol assignments, benchmarking, multicast and
 * reserved (with broadcast). IPv6 addresses that embed an IPv4 address
 * (mapped, NAT64, 6to4) are judged by it.
 */
static const struct {
	uint32_t	 net;
	int		 bits;
} webhook_private4[] = {
	{ 0x00000000, 8 },	/* 0.0.0.0/8 */
	{ 0x0a000000, 8 },	/* 10.0.0.0/8 */
	{ 0x64400000, 10 },	/* 100.64.0.0/10 */
	{ 0x7f000000, 8 },	/* 127.0.0.0/8 */
	{ 0xa9fe0000, 16 },	/* 169.254.0.0/16 */
	{ 0xac100000, 12 },	/* 172.16.0.0/12 */
	{ 0xc0000000, 24 },	/* 192.0.0.0/24 */
	{ 0xc0a80000, 16 },	/* 192.168.0.0/16 */
	{ 0xc6120000, 15 },	/* 198.18.0.0/15 */
	{ 0xe0000000, 4 },	/* 224.0.0.0/4 */
	{ 0xf0000000, 4 },	/* 240.0.0.0/4 */
};
#define WEBHOOK_NPRIVATE4 (sizeof(webhook_private4) / sizeof(webhook_private4[0]))

static const struct {
	uint8_t		 prefix[16];
	int		 bits;
	int		 v4at;		/* byte of an embedded IPv4, -1: none */
} webhook_private6[] = {
	{ { 0 }, 128, -1 },					/* :: */
	{ { [15] = 1 }, 128, -1 },				/* ::1 */
	{ { [10] = 0xff, [11] = 0xff }, 96, 12 },		/* ::ffff:0:0/96 */
	{ { 0x00, 0x64, 0xff, 0x9b }, 96, 12 },			/* 64:ff9b::/96 */
	{ { 0x20, 0x02 }, 16, 2 },				/* 2002::/16 */
	{ { 0xfc }, 7, -1 },					/* fc00::/7 */
	{ { 0xfe, 0x80 }, 10, -1 },				/* fe80::/10 */
	{ { 0xfe, 0xc0 }, 10, -1 },				/* fec0::/10 */
	{ { 0xff }, 8, -1 },					/* ff00::/8 */
};
#define WEBHOOK_NPRIVATE6 (sizeof(webhook_private6) / sizeof(webhook_private6[0]))

/* The columns webhook_row_json() reads, in its order. */
#define WEBHOOK_JSON_COLUMNS "w.id, w.url, w.events, w.device, w.enabled, " \
	"w.cursor, w.failing_since, w.last_status, w.last_error, w.last_at, " \
	"w.delivered, w.failed, w.retries, w.created_at"

static int
webhook_private_v4(uint32_t a)
{
	size_t	 i;

	for (i = 0; i < WEBHOOK_NPRIVATE4; i++)
		if ((a >> (32 - webhook_private4[i].bits)) ==
		    (webhook_private4[i].net >> (32 - webhook_private4[i].bits)))
			return 1;
	return 0;
}

/*
 * Is the address SA one a delivery may not connect to without
 * webhook_allow_private (loopback, private, link-local, ...: see the
 * tables above)? Families other than IPv4 and IPv6 count as private.
 */
int
webhook_addr_private(const struct sockaddr *sa)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	const uint8_t			*a;
	size_t				 i;
	int				 bits, v4;

	if (sa->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)sa;
		return webhook_private_v4(ntohl(sin->sin_addr.s_addr));
	}
	if (sa->sa_family != AF_INET6)
		return 1;
	sin6 = (const struct sockaddr_in6 *)sa;
	a = sin6->sin6_addr.s6_addr;
	for (i = 0; i < WEBHOOK_NPRIVATE6; i++) {
		bits = webhook_private6[i].bits;
		if (memcmp(a, webhook_private6[i].prefix, bits / 8) != 0)
			continue;
		if (bits % 8 != 0 && ((a[bits / 8] ^
		    webhook_private6[i].prefix[bits / 8]) &
		    (0xff << (8 - bits % 8)) & 0xff) != 0)
			continue;
		if ((v4 = webhook_private6[i].v4at) == -1)
			return 1;
		return webhook_private_v4((uint32_t)a[v4] << 24 |
		    (uint32_t)a[v4 + 1] << 16 | (uint32_t)a[v4 + 2] << 8 |
		    a[v4 + 3]);
	}
	return 0;
}

/*
 * Parse the event list LIST ("all", or names separated by commas) into
 * *MASK, one bit (1 << enum event_type) per type. Returns 0, or -1 with
 * *cause set (allocated) naming the first unknown or missing name.
 */
int
webhook_events_parse(const char *list, unsigned int *mask, char **cause)
{
	const char	*p = list;
	size_t		 len, i;
	unsigned int	 m = 0;

	if (strcmp(list, "all") == 0) {
		for (i = 0; i < WEBHOOK_NTYPES; i++)
			m |= 1U << webhook_types[i].type;
		*mask = m;
		return 0;
	}
	for (;;) {
		len = strcspn(p, ",");
		for (i = 0; i < WEBHOOK_NTYPES; i++) {
			if (strlen(evlog_type_name(webhook_types[i].type)) ==
			    len && strncmp(evlog_type_name(
			    webhook_types[i].type), p, len) == 0)
				break;
		}
		if (i == WEBHOOK_NTYPES) {
			xasprintf(cause, len == 0 ? "empty event name in "
			    "\"%.*s\"" : "unknown event \"%.*s\"",
			    (int)(len == 0 ? strlen(list) : len),
			    len == 0 ? list : p);
			return -1;
		}
		m |= 1U << webhook_types[i].type;
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
	*mask = m;
	return 0;
}

/* The default event set of an endpoint added without --events. */
unsigned int
webhook_events_default(void)
{
	unsigned int	 m = 0;
	size_t		 i;

	for (i = 0; i < WEBHOOK_NTYPES; i++)
		if (webhook_types[i].dflt)
			m |= 1U << webhook_types[i].type;
	return m;
}

/*
 * Write MASK as its canonical list (names in table order, separated by
 * commas) to BUF of SZ bytes. Returns 0, or -1 when it does not fit.
 */
int
webhook_events_format(unsigned int mask, char *buf, size_t sz)
{
	size_t	 i, o = 0;
	int	 n;

	if (sz == 0)
		return -1;
	buf[0] = '\0';
	for (i = 0; i < WEBHOOK_NTYPES; i++) {
		if ((mask & (1U << webhook_types[i].type)) == 0)
			continue;
		n = snprintf(buf + o, sz - o, "%s%s", o > 0 ? "," : "",
		    evlog_type_name(webhook_types[i].type));
		if (n < 0 || (size_t)n >= sz - o)
			return -1;
		o += (size_t)n;
	}
	return 0;
}

/*
 * Check URL as an endpoint address and fill *U: scheme http or https
 * (any case), a host name, an IPv4 address or a bracketed IPv6 address,
 * an optional port 1-65535, then a path and query of printable ASCII
 * without spaces. No user information (credentials belong in the
 * signature, not in a URL that is listed and logged) and no fragment.
 * Returns 0, or -1 with *cause set (allocated).
 */
int
webhook_url_parse(const char *url, struct webhook_url *u, char **cause)
{
	const char	*p, *host, *end;
	size_t		 hlen, i;
	long		 port = 0;
	char		*e;

	memset(u, 0, sizeof(*u));
	if (strlen(url) > GOIP_WEBHOOK_URL_MAX) {
		xasprintf(cause, "URL longer than %d bytes",
		    GOIP_WEBHOOK_URL_MAX);
		return -1;
	}
	for (p = url; *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
			xasprintf(cause, "URL holds a space, a control "
			    "character or a non-ASCII byte at offset %zu",
			    (size_t)(p - url));
			return -1;
		}
	}
	if (strncasecmp(url, "https://", strlen("https://")) == 0) {
		u->https = 1;
		p = url + strlen("https://");
	} else if (strncasecmp(url, "http://", strlen("http://")) == 0)
		p = url + strlen("http://");
	else {
		xasprintf(cause, "URL must start with http:// or https://");
		return -1;
	}
	end = p + strcspn(p, "/?#");
	if (memchr(p, '@', (size_t)(end - p)) != NULL) {
		xasprintf(cause, "URL must not hold a user name or password");
		return -1;
	}
	if (strchr(url, '#') != NULL) {
		xasprintf(cause, "URL must not hold a fragment (#)");
		return -1;
	}
	host = p;
	if (*p == '[') {
		if ((p = memchr(host, ']', (size_t)(end - host))) == NULL) {
			xasprintf(cause, "URL has an unclosed [ in its host");
			return -1;
		}
		host++;
		hlen = (size_t)(p - host);
		for (i = 0; i < hlen; i++)
			if (!isxdigit((unsigned char)host[i]) &&
			    host[i] != ':' && host[i] != '.')
				break;
		if (hlen == 0 || i < hlen) {
			xasprintf(cause, "URL has a bad IPv6 address");
			return -1;
		}
		p++;
	} else {
		p = host + strcspn(host, ":/?#");
		hlen = (size_t)(p - host);
		for (i = 0; i < hlen; i++)
			if (!isalnum((unsigned char)host[i]) &&
			    host[i] != '-' && host[i] != '.')
				break;
		if (hlen == 0 || i < hlen || host[0] == '.' ||
		    host[0] == '-') {
			xasprintf(cause, "URL has no host or a bad host name");
			return -1;
		}
	}
	if (hlen >= sizeof(u->host)) {
		xasprintf(cause, "URL host name too long");
		return -1;
	}
	memcpy(u->host, host, hlen);
	u->host[hlen] = '\0';
	if (*p == ':') {
		if (!isdigit((unsigned char)p[1])) {
			xasprintf(cause, "URL has a bad port");
			return -1;
		}
		port = strtol(p + 1, &e, 10);
		if (e != end || port < 1 || port > 65535) {
			xasprintf(cause, "URL has a bad port");
			return -1;
		}
	} else if (p != end) {
		xasprintf(cause, "URL has a bad host");
		return -1;
	}
	u->port = port != 0 ? (int)port : u->https ? 443 : 80;
	return 0;
}

/*
 * Add the endpoint SPEC with a new secret (written to SECRET, at least
 * GOIP_TOKEN_LEN + 1 bytes) and set *ID. Its cursor starts at the log's
 * current end: it receives the events after it was added. Own
 * transaction.
 */
enum store_rc
webhook_add(struct store *st, const struct webhook_spec *spec, char *secret,
    int64_t *id, char **cause)
{
	static const char *const sql = "INSERT INTO webhooks(url, events, "
	    "device, secret, cursor, created_at) VALUES (?, ?, ?, ?, "
	    "(SELECT COALESCE(MAX(id), 0) FROM events), ?)";
	sqlite3_stmt	*stmt;
	enum store_rc	 rc;

	if (token_generate(secret, GOIP_TOKEN_LEN + 1) == -1) {
		xasprintf(cause, "no randomness for a secret");
		return STORE_ERROR;
	}
	if ((rc = store_begin(st, cause)) != STORE_OK)
		return rc;
	if ((rc = store_stmt(st, sql, &stmt, cause)) != STORE_OK) {
		store_rollback(st);
		return rc;
	}
	store_bind(stmt, "ssssl", spec->url, spec->events, spec->device,
	    secret, util_now_ms());
	if ((rc = store_run(st, stmt, cause)) != STORE_OK) {
		store_rollback(st);
		return rc;
	}
	*id = sqlite3_last_insert_rowid(st->db);
	return store_commit(st, cause);
}

/* Remove endpoint ID. STORE_NOTFOUND when there is none. */
enum store_rc
webhook_remove(struct store *st, int64_t id, char **cause)
{
	return store_write(st, "DELETE FROM webhooks WHERE id = ?", cause,
	    "l", id);
}

/*
 * Enable (ON 1) or disable (ON 0) endpoint ID. Enabling clears the
 * failure state, so the endpoint resumes at once from its cursor with a
 * fresh webhook_max_age. STORE_NOTFOUND when there is no such endpoint.
 */
enum store_rc
webhook_set_enabled(struct store *st, int64_t id, int on, char **cause)
{
	if (on)
		return store_write(st, "UPDATE webhooks SET enabled = 1, "
		    "failing_since = NULL WHERE id = ?", cause, "l", id);
	return store_write(st, "UPDATE webhooks SET enabled = 0 "
	    "WHERE id = ?", cause, "l", id);
}

/*
 * Give endpoint ID a new secret, written to SECRET (at least
 * GOIP_TOKEN_LEN + 1 bytes). Deliveries started after goip-webhookd's next
 * reload (within a second) are signed with it.
 */
enum store_rc
webhook_rotate_secret(struct store *st, int64_t id, char *secret,
    char **cause)
{
	if (token_generate(secret, GOIP_TOKEN_LEN + 1) == -1) {
		xasprintf(cause, "no randomness for a secret");
		return STORE_ERROR;
	}
	return store_write(st, "UPDATE webhooks SET secret = ? WHERE id = ?",
	    cause, "sl", secret, id);
}

/*
 * Ask goip-webhookd to send endpoint ID one ping and set *SEQ to the
 * request's number: webhook_ping_result() tells when it was answered.
 */
enum store_rc
webhook_ping(struct store *st, int64_t id, int64_t *seq, char **cause)
{
	struct webhook_ping	 p;
	enum store_rc		 rc;

	if ((rc = store_write(st, "UPDATE webhooks SET ping_seq = "
	    "ping_seq + 1 WHERE id = ?", cause, "l", id)) != STORE_OK)
		return rc;
	if ((rc = webhook_ping_result(st, id, &p, cause)) != STORE_OK)
		return rc;
	*seq = p.seq;
	return STORE_OK;
}

/* Read the ping state of endpoint ID into *P. */
enum store_rc
webhook_ping_result(struct store *st, int64_t id, struct webhook_ping *p,
    char **cause)
{
	static const char *const sql = "SELECT ping_seq, ping_done, "
	    "ping_status, ping_error FROM webhooks WHERE id = ?";
	sqlite3_stmt	*stmt;
	const char	*e;
	int		 rc;

	if ((rc = store_stmt(st, sql, &stmt, cause)) != STORE_OK)
		return rc;
	store_bind(stmt, "l", id);
	memset(p, 0, sizeof(*p));
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		p->seq = sqlite3_column_int64(stmt, 0);
		p->done = sqlite3_column_int64(stmt, 1);
		p->status = sqlite3_column_int(stmt, 2);
		e = (const char *)sqlite3_column_text(stmt, 3);
		snprintf(p->error, sizeof(p->error), "%s", e != NULL ? e : "");
		sqlite3_reset(stmt);
		return STORE_OK;
	}
	rc = rc == SQLITE_DONE ? STORE_NOTFOUND : store_rc(st, rc, cause);
	sqlite3_reset(stmt);
	return rc;
}

/* Copy column COL of STMT, or NULL when it is NULL. */
static char *
webhook_column_dup(sqlite3_stmt *stmt, int col)
{
	if (sqlite3_column_type(stmt, col) == SQLITE_NULL)
		return NULL;
	return strdup((const char *)sqlite3_column_text(stmt, col));
}

/* Free the N rows of ROWS read by webhook_load(), secrets wiped first. */
void
webhook_rows_free(struct webhook_row *rows, int n)
{
	int	 i;

	if (rows == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(rows[i].url);
		free(rows[i].events);
		free(rows[i].device);
		if (rows[i].secret != NULL) {
			explicit_bzero(rows[i].secret, strlen(rows[i].secret));
			free(rows[i].secret);
		}
	}
	free(rows);
}

/*
 * Read every endpoint, secrets included, in id order into *ROWS (allocated,
 * *N entries; webhook_rows_free()). For goip-webhookd only.
 */
enum store_rc
webhook_load(struct store *st, struct webhook_row **rows, int *n,
    char **cause)
{
	static const char *const sql = "SELECT id, url, events, device, "
	    "secret, enabled, cursor, failing_since, delivered, failed, "
	    "retries, ping_seq, ping_done FROM webhooks ORDER BY id";
	sqlite3_stmt		*stmt;
	struct webhook_row	*r, *nr;
	int			 rc, k = 0, cap = 0;

	*rows = NULL;
	*n = 0;
	if ((rc = store_stmt(st, sql, &stmt, cause)) != STORE_OK)
		return rc;
	r = NULL;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (k == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			if ((nr = reallocarray(r, cap, sizeof(*r))) == NULL)
				goto nomem;
			r = nr;
		}
		memset(&r[k], 0, sizeof(r[k]));
		r[k].id = sqlite3_column_int64(stmt, 0);
		r[k].url = webhook_column_dup(stmt, 1);
		r[k].events = webhook_column_dup(stmt, 2);
		r[k].device = webhook_column_dup(stmt, 3);
		r[k].secret = webhook_column_dup(stmt, 4);
		k++;
		if (r[k - 1].url == NULL || r[k - 1].events == NULL ||
		    r[k - 1].secret == NULL)
			goto nomem;
		r[k - 1].enabled = sqlite3_column_int(stmt, 5);
		r[k - 1].cursor = sqlite3_column_int64(stmt, 6);
		r[k - 1].failing_since = sqlite3_column_int64(stmt, 7);
		r[k - 1].delivered = sqlite3_column_int64(stmt, 8);
		r[k - 1].failed = sqlite3_column_int64(stmt, 9);
		r[k - 1].retries = sqlite3_column_int64(stmt, 10);
		r[k - 1].ping_seq = sqlite3_column_int64(stmt, 11);
		r[k - 1].ping_done = sqlite3_column_int64(stmt, 12);
	}
	if ((rc = store_rc(st, rc, cause)) != STORE_OK) {
		sqlite3_reset(stmt);
		webhook_rows_free(r, k);
		return rc;
	}
	sqlite3_reset(stmt);
	*rows = r;
	*n = k;
	return STORE_OK;
nomem:
	sqlite3_reset(stmt);
	webhook_rows_free(r, k);
	xasprintf(cause, "webhook: out of memory");
	return STORE_ERROR;
}

/*
 * Record the attempt A: a ping's answer, a delivery (2xx: the cursor moves
 * to A->cursor, the failure state clears) or a failure (failing_since set
 * if it was not, counters raised). Also used with A->error NULL and
 * A->status 0 to persist a cursor moved past filtered events. One
 * statement, own transaction; STORE_NOTFOUND when the endpoint is gone.
 */
enum store_rc
webhook_record(struct store *st, const struct webhook_attempt *a,
    char **cause)
{
	if (a->ping != 0)
		return store_write(st, "UPDATE webhooks SET ping_done = ?, "
		    "ping_status = ?, ping_error = ? WHERE id = ?", cause,
		    "llsl", a->ping, (int64_t)a->status, a->error, a->id);
	if (a->error == NULL && a->status == 0)
		return store_write(st, "UPDATE webhooks SET "
		    "cursor = MAX(cursor, ?1) WHERE id = ?2", cause, "ll",
		    a->cursor, a->id);
	if (a->error == NULL)
		return store_write(st, "UPDATE webhooks SET cursor = ?, "
		    "last_status = ?, last_error = NULL, last_at = ?, "
		    "failing_since = NULL, delivered = delivered + 1, "
		    "retries = retries + ? WHERE id = ?", cause, "lllll",
		    a->cursor, (int64_t)a->status, a->now,
		    (int64_t)(a->retry != 0), a->id);
	return store_write(st, "UPDATE webhooks SET last_status = ?, "
	    "last_error = ?, last_at = ?, failing_since = "
	    "COALESCE(failing_since, ?3), failed = failed + 1, "
	    "retries = retries + ? WHERE id = ?", cause, "lslll",
	    (int64_t)a->status, a->error, a->now, (int64_t)(a->retry != 0),
	    a->id);
}

/*
 * Disable endpoint ID after it failed for longer than webhook_max_age and
 * log a webhook-disabled event in the same transaction, with *EVID set to
 * its id (0 when the endpoint was disabled or removed meanwhile: nothing
 * logged). WHY is its last error.
 */
enum store_rc
webhook_give_up(struct store *st, int64_t id, const char *why,
    int64_t *evid, char **cause)
{
	static const char *const upd = "UPDATE webhooks SET enabled = 0 "
	    "WHERE id = ? AND enabled = 1";
	static const char *const sel = "SELECT url, failing_since, cursor "
	    "FROM webhooks WHERE id = ?";
	struct event_new	 ev;
	struct json_object	*o;
	sqlite3_stmt		*stmt;
	enum store_rc		 rc;

	*evid = 0;
	if ((rc = store_begin(st, cause)) != STORE_OK)
		return rc;
	if ((rc = store_stmt(st, upd, &stmt, cause)) != STORE_OK)
		goto fail;
	store_bind(stmt, "l", id);
	if ((rc = store_run(st, stmt, cause)) != STORE_OK)
		goto fail;
	if (sqlite3_changes(st->db) == 0) {
		store_rollback(st);
		return STORE_OK;
	}
	if ((rc = store_stmt(st, sel, &stmt, cause)) != STORE_OK)
		goto fail;
	store_bind(stmt, "l", id);
	if ((rc = sqlite3_step(stmt)) != SQLITE_ROW) {
		rc = store_rc(st, rc, cause);
		sqlite3_reset(stmt);
		goto fail;
	}
	if ((o = json_object_new_object()) == NULL) {
		sqlite3_reset(stmt);
		xasprintf(cause, "webhook: out of memory");
		rc = STORE_ERROR;
		goto fail;
	}
	json_object_object_add(o, "webhookId", json_object_new_int64(id));
	store_json_text(o, "url", stmt, 0);
	store_json_time(o, "failingSince", stmt, 1);
	store_json_int(o, "cursor", stmt, 2);
	json_object_object_add(o, "lastError", why != NULL ?
	    json_object_new_string(why) : NULL);
	sqlite3_reset(stmt);
	ev.type = EVENT_WEBHOOK_DISABLED;
	ev.device = NULL;
	ev.payload = o;
	rc = evlog_append(st, &ev, evid, cause);
	json_object_put(o);
	if (rc != STORE_OK)
		goto fail;
	return store_commit(st, cause);
fail:
	store_rollback(st);
	return rc;
}

/*
 * The JSON of the endpoint row at STMT (WEBHOOK_JSON_COLUMNS, then the
 * log's last id and the time of the first event after the cursor), at
 * NOW: never the secret. NULL when out of memory.
 */
static struct json_object *
webhook_row_json(sqlite3_stmt *stmt, int64_t now)
{
	struct json_object	*o;
	int64_t			 last, cursor;
	const char		*state;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	store_json_int(o, "id", stmt, 0);
	store_json_text(o, "url", stmt, 1);
	store_json_text(o, "events", stmt, 2);
	store_json_text(o, "deviceId", stmt, 3);
	if (sqlite3_column_int(stmt, 4) == 0)
		state = "disabled";
	else if (sqlite3_column_type(stmt, 6) != SQLITE_NULL)
		state = "failing";
	else
		state = "ok";
	json_object_object_add(o, "state", json_object_new_string(state));
	store_json_bool(o, "enabled", stmt, 4);
	cursor = sqlite3_column_int64(stmt, 5);
	json_object_object_add(o, "cursor", json_object_new_int64(cursor));
	last = sqlite3_column_int64(stmt, 14);
	json_object_object_add(o, "lagEvents", json_object_new_int64(
	    last > cursor ? last - cursor : 0));
	json_object_object_add(o, "lagSeconds", json_object_new_int64(
	    sqlite3_column_type(stmt, 15) == SQLITE_NULL ? 0 :
	    (now - sqlite3_column_int64(stmt, 15)) / 1000));
	store_json_time(o, "failingSince", stmt, 6);
	store_json_int(o, "lastStatus", stmt, 7);
	store_json_text(o, "lastError", stmt, 8);
	store_json_time(o, "lastAttemptAt", stmt, 9);
	store_json_int(o, "delivered", stmt, 10);
	store_json_int(o, "failed", stmt, 11);
	store_json_int(o, "retries", stmt, 12);
	store_json_time(o, "createdAt", stmt, 13);
	return o;
}

/*
 * Set *OUT to the JSON array of every endpoint in id order, as GET
 * /api/webhooks and "goipctl webhook list" show them at NOW (unix ms):
 * state ("ok", "failing", "disabled"), cursor, lag in event ids and in
 * seconds (the age of the oldest event after the cursor), last status and
 * error, counters. Secrets are never read. Reads one index row of the log
 * per endpoint.
 */
enum store_rc
webhook_list_json(struct store *st, int64_t now, struct json_object **out,
    char **cause)
{
	static const char *const sql = "SELECT " WEBHOOK_JSON_COLUMNS ", "
	    "(SELECT COALESCE(MAX(id), 0) FROM events), "
	    "(SELECT e.at FROM events e WHERE e.id > w.cursor "
	    "ORDER BY e.id LIMIT 1) FROM webhooks w ORDER BY w.id";
	struct json_object	*arr, *o;
	sqlite3_stmt		*stmt;
	int			 rc;

	if ((rc = store_stmt(st, sql, &stmt, cause)) != STORE_OK)
		return rc;
	if ((arr = json_object_new_array()) == NULL) {
		xasprintf(cause, "webhook: out of memory");
		return STORE_ERROR;
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if ((o = webhook_row_json(stmt, now)) == NULL ||
		    json_object_array_add(arr, o) != 0) {
			json_object_put(o);
			sqlite3_reset(stmt);
			json_object_put(arr);
			xasprintf(cause, "webhook: out of memory");
			return STORE_ERROR;
		}
	}
	if ((rc = store_rc(st, rc, cause)) != STORE_OK) {
		sqlite3_reset(stmt);
		json_object_put(arr);
		return rc;
	}
	sqlite3_reset(stmt);
	*out = arr;
	return STORE_OK;
}
