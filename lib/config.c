/*
 * config.c: goip.conf, shared by every program.
 *
 * The file is "key = value" lines with "#" comments. Keys are declared in
 * one table with their type and default; an unknown key or a bad value is
 * an error naming the file and line, as lighttpd and httpd.conf do.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "goip.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

enum conf_type {
	CONF_STRING,
	CONF_DURATION,
	CONF_SIZE,
	CONF_COUNT,
	CONF_AUTH,
	CONF_ADDRESS,
	CONF_LISTEN,
	CONF_PATH,
	CONF_BOOL,
	CONF_ROLE,
	CONF_RELAY
};

struct conf_key {
	const char	*name;
	enum conf_type	 type;
	size_t		 off;
	const char	*def;
	int64_t		 min, max;	/* for numbers, in final units */
};

#define S(f)	offsetof(struct config, f)
static const struct conf_key conf_keys[] = {
	{ "database", CONF_STRING, S(database), LOCALSTATEDIR "/lib/goip/goip.db", 0, 0 },
	{ "notify_socket", CONF_STRING, S(notify_socket), "/run/goip/notify.sock", 0, 0 },
	{ "listen", CONF_LISTEN, S(listen), "/run/goip/notifier.sock", 0, 0 },
	{ "socket_path", CONF_PATH, S(socket_path), "/api/socket/io/", 0, 0 },
	{ "events_path", CONF_PATH, S(events_path), "/api/events", 0, 0 },
	{ "metrics_listen", CONF_ADDRESS, S(metrics_listen), "", 0, 0 },
	{ "cors_origins", CONF_STRING, S(cors_origins), "", 0, 0 },
	{ "user", CONF_STRING, S(user), "", 0, 0 },
	{ "dashboard_auth", CONF_AUTH, S(dashboard_auth), "web", 0, 0 },
	{ "heartbeat_interval", CONF_DURATION, S(heartbeat_interval), "30s", 1000, 86400000 },
	{ "offline_after", CONF_DURATION, S(offline_after), "90s", 1000, 30LL * 86400000 },
	{ "ping_interval", CONF_DURATION, S(ping_interval), "25s", 100, 3600000 },
	{ "ping_timeout", CONF_DURATION, S(ping_timeout), "20s", 100, 3600000 },
	{ "busy_timeout", CONF_DURATION, S(busy_timeout), "5s", 0, 600000 },
	{ "event_retention", CONF_DURATION, S(event_retention), "7d", 60000, 3650LL * 86400000 },
	{ "heartbeat_history", CONF_COUNT, S(heartbeat_history), "1000", 1, 1000000 },
	{ "heartbeat_history_step", CONF_DURATION, S(heartbeat_history_step), "1s", 0, 3600000 },
	{ "outbox_lease", CONF_DURATION, S(outbox_lease), "60s", 1000, 86400000 },
	{ "sms_expire", CONF_DURATION, S(sms_expire), "1d", 60000, 365LL * 86400000 },
	{ "send_attempts", CONF_COUNT, S(send_attempts), "5", 1, 100 },
	{ "max_body", CONF_SIZE, S(max_body), "64k", 1024, 16 * 1024 * 1024 },
	{ "max_payload", CONF_SIZE, S(max_payload), "1000000", 1024, 64 * 1024 * 1024 },
	{ "max_connections", CONF_COUNT, S(max_connections), "16384", 1, 1000000 },
	{ "max_per_address", CONF_COUNT, S(max_per_address), "64", 0, 1000000 },
	/* notifier: who may reach it (issue 11) */
	{ "listen_group", CONF_STRING, S(listen_group), "", 0, 0 },
	{ "allowed_hosts", CONF_STRING, S(allowed_hosts), "", 0, 0 },
	{ "proxy_secret", CONF_STRING, S(proxy_secret), "", 0, 0 },
	/* goip-cgi: what one device or client may cost (issue 11) */
	{ "device_rate", CONF_COUNT, S(device_rate), "10", 0, 1000000 },
	{ "device_burst", CONF_COUNT, S(device_burst), "100", 1, 1000000 },
	{ "body_timeout", CONF_DURATION, S(body_timeout), "10s", 100, 600000 },
	{ "sms_retention", CONF_DURATION, S(sms_retention), "0", 0, 3650LL * 86400000 },
	/* goip-udpd: the GoIP UDP "SMS server" bridge (issue 13) */
	{ "goip_listen", CONF_ADDRESS, S(goip_listen), "127.0.0.1:44444", 0, 0 },
	{ "goip_allow", CONF_STRING, S(goip_allow), "127.0.0.0/8 ::1", 0, 0 },
	/* goip-webhookd: events to the operator's endpoints (issue 14) */
	{ "webhook_timeout", CONF_DURATION, S(webhook_timeout), "10s", 1000, 300000 },
	{ "webhook_retry_max", CONF_DURATION, S(webhook_retry_max), "5m", 1000, 86400000 },
	{ "webhook_max_age", CONF_DURATION, S(webhook_max_age), "24h", 1000, 30LL * 86400000 },
	{ "webhook_allow_private", CONF_BOOL, S(webhook_allow_private), "no", 0, 1 },
	{ "webhook_metrics_listen", CONF_ADDRESS, S(webhook_metrics_listen), "", 0, 0 },
	/* Issue 15: the notifier's role and its Redis Streams relay. */
	{ "role", CONF_ROLE, S(role), "primary", 0, 0 },
	{ "relay", CONF_RELAY, S(relay), "", 0, 0 },
	{ "relay_stream", CONF_STRING, S(relay_stream), "goip:events", 0, 0 },
};
#undef S
#define NKEYS	(sizeof(conf_keys) / sizeof(conf_keys[0]))

/*
 * Parse a duration: a non-negative integer with an optional unit ms, s, m,
 * h or d (a bare number is seconds) into milliseconds. Returns 0 or -1.
 */
int
config_duration(const char *s, int64_t *ms)
{
	char		*end;
	long long	 v;
	int64_t		 mul;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || v < 0)
		return -1;
	if (strcmp(end, "") == 0 || strcmp(end, "s") == 0)
		mul = 1000;
	else if (strcmp(end, "ms") == 0)
		mul = 1;
	else if (strcmp(end, "m") == 0)
		mul = 60000;
	else if (strcmp(end, "h") == 0)
		mul = 3600000;
	else if (strcmp(end, "d") == 0)
		mul = 86400000;
	else
		return -1;
	if (v > INT64_MAX / mul)
		return -1;
	*ms = (int64_t)v * mul;
	return 0;
}

static int
config_size(const char *s, int64_t *out)
{
	char		*end;
	long long	 v;
	int64_t		 mul = 1;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || v < 0)
		return -1;
	if (*end == 'k' || *end == 'K')
		mul = 1024;
	else if (*end == 'm' || *end == 'M')
		mul = 1024 * 1024;
	else if (*end != '\0')
		return -1;
	if (mul != 1 && end[1] != '\0')
		return -1;
	if (v > INT64_MAX / mul)
		return -1;
	*out = (int64_t)v * mul;
	return 0;
}

/* host:port with a numeric port 1-65535; an empty value means "off". */
static int
config_address(const char *s)
{
	const char	*colon;
	char		*end;
	long		 port;

	if (*s == '\0')
		return 0;
	if ((colon = strrchr(s, ':')) == NULL || colon == s)
		return -1;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || colon[1] == '\0' || port < 1 ||
	    port > 65535)
		return -1;
	return 0;
}

/*
 * Parse the relay address S, redis://HOST:PORT[/DB] (HOST a name, an IPv4
 * address or a bracketed IPv6 one; DB 0 to 15, 0 when left out) into *U
 * when U is not NULL. Returns 0, or -1 when S is not such an address.
 */
int
config_relay_url(const char *s, struct relay_url *u)
{
	struct relay_url	 tmp;
	const char		*h, *he, *p;
	char			*end;
	long			 port, db = 0;
	size_t			 hlen;

	if (u == NULL)
		u = &tmp;
	if (strncmp(s, "redis://", 8) != 0)
		return -1;
	h = s + 8;
	if (*h == '[') {
		if ((he = strchr(h, ']')) == NULL || he[1] != ':')
			return -1;
		h++;
		p = he + 2;
	} else {
		if ((he = strchr(h, ':')) == NULL)
			return -1;
		p = he + 1;
	}
	hlen = (size_t)(he - h);
	if (hlen == 0 || hlen > RELAY_HOST_MAX ||
	    memchr(h, '/', hlen) != NULL || memchr(h, '@', hlen) != NULL)
		return -1;
	if (!isdigit((unsigned char)*p))
		return -1;
	errno = 0;
	port = strtol(p, &end, 10);
	if (errno != 0 || port < 1 || port > 65535)
		return -1;
	if (*end == '/') {
		p = end + 1;
		if (!isdigit((unsigned char)*p))
			return -1;
		db = strtol(p, &end, 10);
		if (db < 0 || db > 15)
			return -1;
	}
	if (*end != '\0')
		return -1;
	memcpy(u->host, h, hlen);
	u->host[hlen] = '\0';
	u->port = (int)port;
	u->db = (int)db;
	return 0;
}

/*
 * The notifier's listener: host:port, or an absolute path that fits a Unix
 * socket address (sun_path holds 108 bytes, NUL included).
 */
static int
config_listen(const char *s)
{
	if (s[0] == '/')
		return strlen(s) < 108 ? 0 : -1;
	if (*s == '\0')
		return -1;
	return config_address(s);
}

/* Store VALUE for KEY in CFG; returns NULL or a static reason. */
static const char *
config_set(struct config *cfg, const struct conf_key *k, const char *value)
{
	char		**sp;
	int64_t		 *ip, v = 0;

	switch (k->type) {
	case CONF_LISTEN:
		if (config_listen(value) == -1)
			return "expected host:port or an absolute path "
			    "(shorter than 108 bytes)";
		/* FALLTHROUGH */
	case CONF_ADDRESS:
		if (k->type == CONF_ADDRESS && config_address(value) == -1)
			return "expected host:port";
		/* FALLTHROUGH */
	case CONF_RELAY:
		if (k->type == CONF_RELAY && value[0] != '\0' &&
		    config_relay_url(value, NULL) == -1)
			return "expected redis://host:port[/db]";
		/* FALLTHROUGH */
	case CONF_STRING:
	case CONF_PATH:
		if (k->type == CONF_PATH && value[0] != '/')
			return "expected a path starting with /";
		sp = (char **)((char *)cfg + k->off);
		free(*sp);
		*sp = xstrdup(value);
		return NULL;
	case CONF_AUTH:
		if (strcmp(value, "web") == 0)
			cfg->dashboard_auth = AUTH_WEB;
		else if (strcmp(value, "none") == 0)
			cfg->dashboard_auth = AUTH_NONE;
		else
			return "expected web or none";
		return NULL;
	case CONF_ROLE:
		if (strcmp(value, "primary") == 0)
			cfg->role = ROLE_PRIMARY;
		else if (strcmp(value, "edge") == 0)
			cfg->role = ROLE_EDGE;
		else
			return "expected primary or edge";
		return NULL;
	case CONF_BOOL:
		if (strcmp(value, "yes") == 0)
			v = 1;
		else if (strcmp(value, "no") == 0)
			v = 0;
		else
			return "expected yes or no";
		break;
	case CONF_DURATION:
		if (config_duration(value, &v) == -1)
			return "expected a duration (e.g. 30s, 500ms, 5m, 1h, 7d)";
		break;
	case CONF_SIZE:
		if (config_size(value, &v) == -1)
			return "expected a size in bytes (e.g. 65536, 64k, 1m)";
		break;
	case CONF_COUNT:
		if (config_size(value, &v) == -1 ||
		    strpbrk(value, "kKmM") != NULL)
			return "expected a whole number";
		break;
	}
	if (v < k->min || v > k->max)
		return "value out of range";
	ip = (int64_t *)((char *)cfg + k->off);
	*ip = v;
	return NULL;
}

/* A configuration holding every default. Never fails (exits on ENOMEM). */
struct config *
config_new(void)
{
	struct config	*cfg;
	size_t		 i;
	const char	*why;

	cfg = xcalloc(1, sizeof(*cfg));
	for (i = 0; i < NKEYS; i++)
		if ((why = config_set(cfg, &conf_keys[i], conf_keys[i].def))
		    != NULL)
			fatalx("config: default of %s: %s", conf_keys[i].name,
			    why);
	return cfg;
}

void
config_free(struct config *cfg)
{
	size_t	 i;

	if (cfg == NULL)
		return;
	for (i = 0; i < NKEYS; i++)
		if (conf_keys[i].type == CONF_STRING ||
		    conf_keys[i].type == CONF_RELAY ||
		    conf_keys[i].type == CONF_PATH ||
		    conf_keys[i].type == CONF_LISTEN ||
		    conf_keys[i].type == CONF_ADDRESS)
			free(*(char **)((char *)cfg + conf_keys[i].off));
	free(cfg->path);
	free(cfg);
}

/*
 * Which file to read: FLAG (from -c) when set, else $GOIP_CONF, else the
 * compiled-in default. Returns a pointer valid until the environment changes.
 */
const char *
config_find(const char *flag)
{
	const char	*env;

	if (flag != NULL)
		return flag;
	if ((env = getenv("GOIP_CONF")) != NULL && *env != '\0')
		return env;
	return SYSCONFDIR "/goip/goip.conf";
}

static char *
config_trim(char *s)
{
	char	*e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/*
 * Read PATH (see config_find()) into CFG. Returns 0, or -1 with *cause set
 * (allocated, "FILE:LINE: reason"; caller frees). Values may be quoted with
 * double quotes to keep a leading or trailing space or a '#'.
 */
int
config_load(struct config *cfg, const char *path, char **cause)
{
	FILE			*fp;
	char			 line[4096], *key, *value, *eq, *hash;
	const struct conf_key	*k;
	const char		*why;
	size_t			 i, len;
	int			 lineno = 0, corsline = 0;

	path = config_find(path);
	if ((fp = fopen(path, "r")) == NULL) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return -1;
	}
	free(cfg->path);
	cfg->path = xstrdup(path);
	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		len = strlen(line);
		if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
			xasprintf(cause, "%s:%d: line too long", path, lineno);
			goto fail;
		}
		key = config_trim(line);
		if (*key == '#' || *key == '\0')
			continue;
		if ((eq = strchr(key, '=')) == NULL) {
			xasprintf(cause, "%s:%d: expected key = value", path,
			    lineno);
			goto fail;
		}
		*eq = '\0';
		key = config_trim(key);
		value = config_trim(eq + 1);
		if (*value == '"') {
			value++;
			if ((eq = strchr(value, '"')) == NULL) {
				xasprintf(cause, "%s:%d: unterminated quote",
				    path, lineno);
				goto fail;
			}
			*eq = '\0';
			if (*config_trim(eq + 1) != '\0' &&
			    *config_trim(eq + 1) != '#') {
				xasprintf(cause, "%s:%d: text after quote",
				    path, lineno);
				goto fail;
			}
		} else if ((hash = strchr(value, '#')) != NULL) {
			*hash = '\0';
			value = config_trim(value);
		}
		for (i = 0, k = NULL; i < NKEYS; i++)
			if (strcmp(conf_keys[i].name, key) == 0)
				k = &conf_keys[i];
		if (k == NULL) {
			xasprintf(cause, "%s:%d: unknown key \"%s\"", path,
			    lineno, key);
			goto fail;
		}
		if ((why = config_set(cfg, k, value)) != NULL) {
			xasprintf(cause, "%s:%d: %s: %s", path, lineno, key,
			    why);
			goto fail;
		}
		if (k->off == offsetof(struct config, cors_origins))
			corsline = lineno;
	}
	if (ferror(fp)) {
		xasprintf(cause, "%s: read error", path);
		goto fail;
	}
	fclose(fp);
	if (cfg->database[0] == '\0') {
		xasprintf(cause, "%s: database must be set", path);
		return -1;
	}
	if (cfg->role == ROLE_EDGE && cfg->relay[0] == '\0') {
		xasprintf(cause, "%s: role = edge needs relay = "
		    "redis://host:port (the stream it serves)", path);
		return -1;
	}
	if (cfg->relay_stream[0] == '\0' ||
	    strlen(cfg->relay_stream) > RELAY_STREAM_MAX) {
		xasprintf(cause, "%s: relay_stream must be 1 to %d bytes", path,
		    RELAY_STREAM_MAX);
		return -1;
	}
	/*
	 * "*" would let any web site read the dashboard's events with the
	 * browser's credentials; it only makes sense without them.
	 */
	if (cfg->dashboard_auth == AUTH_WEB &&
	    config_origin_allowed(cfg, "*")) {
		xasprintf(cause, "%s:%d: cors_origins: \"*\" is refused with "
		    "dashboard_auth = web (any site could read the dashboard "
		    "with its users' credentials): list the origins",
		    path, corsline);
		return -1;
	}
	return 0;
fail:
	fclose(fp);
	return -1;
}

/* Write every key with its effective value, as goipctl check shows them. */
int
config_print(const struct config *cfg, FILE *fp)
{
	const struct conf_key	*k;
	size_t			 i;
	int64_t			 v;

	for (i = 0; i < NKEYS; i++) {
		k = &conf_keys[i];
		switch (k->type) {
		case CONF_STRING:
		case CONF_RELAY:
		case CONF_PATH:
		case CONF_LISTEN:
		case CONF_ADDRESS:
			fprintf(fp, "%s = \"%s\"\n", k->name,
			    *(char *const *)((const char *)cfg + k->off));
			break;
		case CONF_AUTH:
			fprintf(fp, "%s = %s\n", k->name,
			    cfg->dashboard_auth == AUTH_NONE ? "none" : "web");
			break;
		case CONF_ROLE:
			fprintf(fp, "%s = %s\n", k->name,
			    cfg->role == ROLE_EDGE ? "edge" : "primary");
			break;
		case CONF_DURATION:
			v = *(const int64_t *)((const char *)cfg + k->off);
			if (v % 1000 == 0)
				fprintf(fp, "%s = %llds\n", k->name,
				    (long long)(v / 1000));
			else
				fprintf(fp, "%s = %lldms\n", k->name,
				    (long long)v);
			break;
		case CONF_SIZE:
		case CONF_COUNT:
			v = *(const int64_t *)((const char *)cfg + k->off);
			fprintf(fp, "%s = %lld\n", k->name, (long long)v);
			break;
		case CONF_BOOL:
			v = *(const int64_t *)((const char *)cfg + k->off);
			fprintf(fp, "%s = %s\n", k->name, v ? "yes" : "no");
			break;
		}
	}
	return ferror(fp) ? -1 : 0;
}

/*
 * The next word of the list at *PP (words separated by spaces, tabs or
 * commas, as cors_origins and allowed_hosts are): returns its start and
 * sets *LENP, advancing *PP past it; NULL at the end of the list.
 */
const char *
config_list_next(const char **pp, size_t *lenp)
{
	const char	*p = *pp, *e;

	while (*p == ' ' || *p == ',' || *p == '\t')
		p++;
	if (*p == '\0')
		return NULL;
	for (e = p; *e != '\0' && *e != ' ' && *e != ',' && *e != '\t'; e++)
		;
	*pp = e;
	*lenp = (size_t)(e - p);
	return p;
}

/*
 * Is ORIGIN (the request's Origin header, may be NULL) allowed by
 * cors_origins? An empty list allows only requests without an Origin or
 * those the caller has found to be same-origin; "*" allows any.
 */
int
config_origin_allowed(const struct config *cfg, const char *origin)
{
	const char	*p = cfg->cors_origins, *w;
	size_t		 len, wlen;

	if (origin == NULL)
		return 1;
	len = strlen(origin);
	while ((w = config_list_next(&p, &wlen)) != NULL)
		if ((wlen == 1 && *w == '*') ||
		    (wlen == len && strncmp(w, origin, len) == 0))
			return 1;
	return 0;
}
