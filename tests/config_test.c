/*
 * config_test: goip.conf parsing (lib/config.c): defaults, every key,
 * durations and sizes, errors with FILE:LINE, quoting and comments, the
 * search order and the CORS origin list.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <atf-c.h>

#include "goip.h"

/* Write TEXT to the file NAME in the work directory. */
static void
write_file(const char *name, const char *text)
{
	FILE	*fp;

	ATF_REQUIRE((fp = fopen(name, "w")) != NULL);
	ATF_REQUIRE(fputs(text, fp) >= 0);
	ATF_REQUIRE(fclose(fp) == 0);
}

/* Load TEXT as goip.conf; return the config (caller frees) or fail. */
static struct config *
load_ok(const char *text)
{
	struct config	*cfg;
	char		*cause = NULL;

	write_file("goip.conf", text);
	cfg = config_new();
	if (config_load(cfg, "goip.conf", &cause) == -1)
		atf_tc_fail("config_load refused \"%s\": %s", text, cause);
	return cfg;
}

/*
 * Load TEXT and expect an error whose text starts with "goip.conf:LINE: "
 * and contains WHAT.
 */
static void
load_bad(const char *text, int line, const char *what)
{
	struct config	*cfg;
	char		*cause = NULL, prefix[64];

	write_file("goip.conf", text);
	cfg = config_new();
	if (config_load(cfg, "goip.conf", &cause) != -1) {
		config_free(cfg);
		atf_tc_fail("config_load accepted \"%s\"", text);
	}
	ATF_REQUIRE(cause != NULL);
	snprintf(prefix, sizeof(prefix), "goip.conf:%d: ", line);
	ATF_CHECK_MSG(strncmp(cause, prefix, strlen(prefix)) == 0,
	    "\"%s\": cause \"%s\" does not start with \"%s\"", text, cause,
	    prefix);
	ATF_CHECK_MSG(strstr(cause, what) != NULL,
	    "\"%s\": cause \"%s\" lacks \"%s\"", text, cause, what);
	free(cause);
	config_free(cfg);
}

ATF_TC(config_new__defaults);
ATF_TC_HEAD(config_new__defaults, tc)
{
	atf_tc_set_md_var(tc, "descr", "config_new holds the documented "
	    "default of every key");
}
ATF_TC_BODY(config_new__defaults, tc)
{
	struct config	*cfg;

	cfg = config_new();
	ATF_CHECK_STREQ(cfg->database, LOCALSTATEDIR "/lib/goip/goip.db");
	ATF_CHECK_STREQ(cfg->notify_socket, "/run/goip/notify.sock");
	ATF_CHECK_STREQ(cfg->listen, "/run/goip/notifier.sock");
	ATF_CHECK_STREQ(cfg->listen_group, "");
	ATF_CHECK_STREQ(cfg->allowed_hosts, "");
	ATF_CHECK_STREQ(cfg->proxy_secret, "");
	ATF_CHECK_STREQ(cfg->socket_path, "/api/socket/io/");
	ATF_CHECK_STREQ(cfg->events_path, "/api/events");
	ATF_CHECK_STREQ(cfg->metrics_listen, "");
	ATF_CHECK_STREQ(cfg->cors_origins, "");
	ATF_CHECK_STREQ(cfg->user, "");
	ATF_CHECK(cfg->dashboard_auth == AUTH_WEB);
	ATF_CHECK_EQ(cfg->heartbeat_interval, 30000);
	ATF_CHECK_EQ(cfg->offline_after, 90000);
	ATF_CHECK_EQ(cfg->ping_interval, 25000);
	ATF_CHECK_EQ(cfg->ping_timeout, 20000);
	ATF_CHECK_EQ(cfg->busy_timeout, 5000);
	ATF_CHECK_EQ(cfg->event_retention, 7LL * 86400000);
	ATF_CHECK_EQ(cfg->heartbeat_history, 1000);
	ATF_CHECK_EQ(cfg->heartbeat_history_step, 1000);
	ATF_CHECK_EQ(cfg->outbox_lease, 60000);
	ATF_CHECK_EQ(cfg->sms_expire, 86400000);
	ATF_CHECK_EQ(cfg->send_attempts, 5);
	ATF_CHECK_EQ(cfg->max_body, 65536);
	ATF_CHECK_EQ(cfg->max_payload, 1000000);
	ATF_CHECK_EQ(cfg->max_connections, 16384);
	ATF_CHECK_EQ(cfg->max_per_address, 64);
	ATF_CHECK(cfg->path == NULL);
	config_free(cfg);
	config_free(NULL);
}

ATF_TC(config_load__every_key);
ATF_TC_HEAD(config_load__every_key, tc)
{
	atf_tc_set_md_var(tc, "descr", "config_load sets every key of the "
	    "spec from the file");
}
ATF_TC_BODY(config_load__every_key, tc)
{
	struct config	*cfg;

	cfg = load_ok(
	    "# every key\n"
	    "database = /srv/goip/test.db\n"
	    "notify_socket = /tmp/n.sock\n"
	    "listen = 127.0.0.1:9000\n"
	    "socket_path = /rt/io/\n"
	    "events_path = /rt/events\n"
	    "metrics_listen = 127.0.0.1:9181\n"
	    "cors_origins = https://a.example https://b.example\n"
	    "user = goip\n"
	    "dashboard_auth = none\n"
	    "heartbeat_interval = 15s\n"
	    "offline_after = 2m\n"
	    "ping_interval = 500ms\n"
	    "ping_timeout = 1h\n"
	    "busy_timeout = 200ms\n"
	    "event_retention = 30d\n"
	    "heartbeat_history = 50\n"
	    "heartbeat_history_step = 0\n"
	    "outbox_lease = 90\n"
	    "sms_expire = 2h\n"
	    "send_attempts = 3\n"
	    "max_body = 128k\n"
	    "max_payload = 2m\n"
	    "max_connections = 100\n"
	    "max_per_address = 8\n");
	ATF_CHECK_STREQ(cfg->path, "goip.conf");
	ATF_CHECK_STREQ(cfg->database, "/srv/goip/test.db");
	ATF_CHECK_STREQ(cfg->notify_socket, "/tmp/n.sock");
	ATF_CHECK_STREQ(cfg->listen, "127.0.0.1:9000");
	ATF_CHECK_STREQ(cfg->socket_path, "/rt/io/");
	ATF_CHECK_STREQ(cfg->events_path, "/rt/events");
	ATF_CHECK_STREQ(cfg->metrics_listen, "127.0.0.1:9181");
	ATF_CHECK_STREQ(cfg->cors_origins, "https://a.example https://b.example");
	ATF_CHECK_STREQ(cfg->user, "goip");
	ATF_CHECK(cfg->dashboard_auth == AUTH_NONE);
	ATF_CHECK_EQ(cfg->heartbeat_interval, 15000);
	ATF_CHECK_EQ(cfg->offline_after, 120000);
	ATF_CHECK_EQ(cfg->ping_interval, 500);
	ATF_CHECK_EQ(cfg->ping_timeout, 3600000);
	ATF_CHECK_EQ(cfg->busy_timeout, 200);
	ATF_CHECK_EQ(cfg->event_retention, 30LL * 86400000);
	ATF_CHECK_EQ(cfg->heartbeat_history, 50);
	ATF_CHECK_EQ(cfg->heartbeat_history_step, 0);
	ATF_CHECK_EQ(cfg->outbox_lease, 90000);
	ATF_CHECK_EQ(cfg->sms_expire, 7200000);
	ATF_CHECK_EQ(cfg->send_attempts, 3);
	ATF_CHECK_EQ(cfg->max_body, 128 * 1024);
	ATF_CHECK_EQ(cfg->max_payload, 2 * 1024 * 1024);
	ATF_CHECK_EQ(cfg->max_connections, 100);
	ATF_CHECK_EQ(cfg->max_per_address, 8);
	config_free(cfg);
}

ATF_TC(config_load__later_line_wins);
ATF_TC_HEAD(config_load__later_line_wins, tc)
{
	atf_tc_set_md_var(tc, "descr", "a key set twice keeps the last "
	    "value; keys not in the file keep their defaults");
}
ATF_TC_BODY(config_load__later_line_wins, tc)
{
	struct config	*cfg;

	cfg = load_ok("database = /a.db\ndatabase = /b.db\n"
	    "dashboard_auth = none\ndashboard_auth = web\n");
	ATF_CHECK_STREQ(cfg->database, "/b.db");
	ATF_CHECK(cfg->dashboard_auth == AUTH_WEB);
	ATF_CHECK_EQ(cfg->busy_timeout, 5000);
	ATF_CHECK_STREQ(cfg->listen, "/run/goip/notifier.sock");
	config_free(cfg);
}

ATF_TC(config_duration__units);
ATF_TC_HEAD(config_duration__units, tc)
{
	atf_tc_set_md_var(tc, "descr", "config_duration: a bare number is "
	    "seconds; ms, s, m, h and d units; garbage and overflow refused");
}
ATF_TC_BODY(config_duration__units, tc)
{
	static const struct {
		const char	*in;
		int64_t		 ms;
	} ok[] = {
		{ "0", 0 }, { "30", 30000 }, { "30s", 30000 },
		{ "500ms", 500 }, { "0ms", 0 }, { "5m", 300000 },
		{ "1h", 3600000 }, { "7d", 604800000 },
		{ "007s", 7000 },
	};
	static const char *const bad[] = { "", "s", "ms", "-1", "-1s", "+1",
	    " 1", "1 s", "1x", "1sec", "1S", "1.5s", "1e3", "0x10",
	    "1ms5", "99999999999999999999", "9223372036854775807d",
	    "106751991167301d" };
	int64_t	 ms;
	size_t	 i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ms = -1;
		ATF_CHECK_MSG(config_duration(ok[i].in, &ms) == 0, "%s",
		    ok[i].in);
		ATF_CHECK_MSG(ms == ok[i].ms, "%s: %lld", ok[i].in,
		    (long long)ms);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ATF_CHECK_MSG(config_duration(bad[i], &ms) == -1,
		    "\"%s\" accepted", bad[i]);
}

ATF_TC(config_load__sizes);
ATF_TC_HEAD(config_load__sizes, tc)
{
	atf_tc_set_md_var(tc, "descr", "sizes are bytes with an optional "
	    "k or m (1024-based) suffix, within each key's range");
}
ATF_TC_BODY(config_load__sizes, tc)
{
	struct config	*cfg;

	cfg = load_ok("max_body = 65536\nmax_payload = 1k\n");
	ATF_CHECK_EQ(cfg->max_body, 65536);
	ATF_CHECK_EQ(cfg->max_payload, 1024);
	config_free(cfg);
	cfg = load_ok("max_body = 1M\nmax_payload = 64m\n");
	ATF_CHECK_EQ(cfg->max_body, 1048576);
	ATF_CHECK_EQ(cfg->max_payload, 64 * 1048576);
	config_free(cfg);
	cfg = load_ok("max_body = 16m\n");
	ATF_CHECK_EQ(cfg->max_body, 16 * 1048576);
	config_free(cfg);

	load_bad("max_body = 64kb\n", 1, "max_body: expected a size");
	load_bad("max_body = 1g\n", 1, "expected a size");
	load_bad("max_body = k\n", 1, "expected a size");
	load_bad("max_body = -1\n", 1, "expected a size");
	load_bad("max_body = 1.5k\n", 1, "expected a size");
	load_bad("max_body = 1023\n", 1, "max_body: value out of range");
	load_bad("max_body = 17m\n", 1, "value out of range");
	load_bad("max_payload = 99999999999999999999\n", 1,
	    "expected a size");
}

ATF_TC(config_load__counts);
ATF_TC_HEAD(config_load__counts, tc)
{
	atf_tc_set_md_var(tc, "descr", "counts are whole numbers without "
	    "a size suffix, within each key's range");
}
ATF_TC_BODY(config_load__counts, tc)
{
	struct config	*cfg;

	cfg = load_ok("heartbeat_history = 1\nsend_attempts = 100\n"
	    "max_per_address = 0\nmax_connections = 1000000\n");
	ATF_CHECK_EQ(cfg->heartbeat_history, 1);
	ATF_CHECK_EQ(cfg->send_attempts, 100);
	ATF_CHECK_EQ(cfg->max_per_address, 0);
	ATF_CHECK_EQ(cfg->max_connections, 1000000);
	config_free(cfg);

	load_bad("heartbeat_history = 10k\n", 1, "expected a whole number");
	load_bad("heartbeat_history = 10K\n", 1, "expected a whole number");
	load_bad("max_connections = 1M\n", 1, "expected a whole number");
	load_bad("send_attempts = five\n", 1, "expected a whole number");
	load_bad("send_attempts = 0\n", 1, "send_attempts: value out of range");
	load_bad("send_attempts = 101\n", 1, "value out of range");
	load_bad("heartbeat_history = 0\n", 1, "value out of range");
	load_bad("max_connections = 1000001\n", 1, "value out of range");
}

ATF_TC(config_load__duration_ranges);
ATF_TC_HEAD(config_load__duration_ranges, tc)
{
	atf_tc_set_md_var(tc, "descr", "duration keys refuse bad units and "
	    "values outside their range, naming the key and line");
}
ATF_TC_BODY(config_load__duration_ranges, tc)
{
	struct config	*cfg;

	cfg = load_ok("busy_timeout = 0\nheartbeat_interval = 1s\n"
	    "offline_after = 30d\n");
	ATF_CHECK_EQ(cfg->busy_timeout, 0);
	ATF_CHECK_EQ(cfg->heartbeat_interval, 1000);
	ATF_CHECK_EQ(cfg->offline_after, 30LL * 86400000);
	config_free(cfg);

	load_bad("heartbeat_interval = 30 s\n", 1,
	    "heartbeat_interval: expected a duration");
	load_bad("heartbeat_interval = 30sec\n", 1, "expected a duration");
	load_bad("heartbeat_interval = -5s\n", 1, "expected a duration");
	load_bad("heartbeat_interval = 999ms\n", 1, "value out of range");
	load_bad("heartbeat_interval = 0\n", 1, "value out of range");
	load_bad("heartbeat_history_step = 2h\n", 1, "value out of range");
	load_bad("offline_after = 31d\n", 1, "offline_after: value out of range");
	load_bad("busy_timeout = 11m\n", 1, "value out of range");
	load_bad("event_retention = 59s\n", 1, "value out of range");
	load_bad("ping_interval = 99ms\n", 1, "value out of range");
	load_bad("sms_expire = 366d\n", 1, "value out of range");
}

ATF_TC(config_load__strings);
ATF_TC_HEAD(config_load__strings, tc)
{
	atf_tc_set_md_var(tc, "descr", "addresses, paths and "
	    "dashboard_auth are checked; errors carry FILE:LINE");
}
ATF_TC_BODY(config_load__strings, tc)
{
	struct config	*cfg;
	char		 longpath[108], text[160];

	cfg = load_ok("metrics_listen =\nlisten = [::1]:8081\n");
	ATF_CHECK_STREQ(cfg->metrics_listen, "");
	ATF_CHECK_STREQ(cfg->listen, "[::1]:8081");
	config_free(cfg);

	cfg = load_ok("listen = /run/goip/n.sock\n");
	ATF_CHECK_STREQ(cfg->listen, "/run/goip/n.sock");
	config_free(cfg);

	load_bad("listen = 8081\n", 1, "listen: expected host:port");
	load_bad("listen =\n", 1, "listen: expected host:port or an "
	    "absolute path");
	load_bad("listen = run/n.sock\n", 1, "expected host:port");
	/* sun_path holds 108 bytes with the NUL: 108 characters is one too many. */
	memset(longpath, 'a', sizeof(longpath));
	longpath[0] = '/';
	snprintf(text, sizeof(text), "listen = %.*s\n", 108, longpath);
	load_bad(text, 1, "shorter than 108 bytes");
	snprintf(text, sizeof(text), "listen = %.*s\n", 107, longpath);
	config_free(load_ok(text));
	load_bad("metrics_listen = /run/goip/m.sock\n", 1,
	    "metrics_listen: expected host:port");
	load_bad("listen = :8081\n", 1, "expected host:port");
	load_bad("listen = localhost:\n", 1, "expected host:port");
	load_bad("listen = localhost:0\n", 1, "expected host:port");
	load_bad("listen = localhost:65536\n", 1, "expected host:port");
	load_bad("listen = localhost:80x\n", 1, "expected host:port");
	load_bad("metrics_listen = nowhere\n", 1, "metrics_listen");
	load_bad("socket_path = api/socket/\n", 1,
	    "socket_path: expected a path starting with /");
	load_bad("events_path = events\n", 1, "expected a path");
	load_bad("dashboard_auth = basic\n", 1,
	    "dashboard_auth: expected web or none");
	load_bad("dashboard_auth = Web\n", 1, "expected web or none");
	load_bad("dashboard_auth =\n", 1, "expected web or none");
}

ATF_TC(config_load__unknown_key);
ATF_TC_HEAD(config_load__unknown_key, tc)
{
	atf_tc_set_md_var(tc, "descr", "an unknown key is an error naming "
	    "the file, the line and the key");
}
ATF_TC_BODY(config_load__unknown_key, tc)
{
	load_bad("# comment\n\ndatabase = /x.db\nbusy_timout = 5s\n", 4,
	    "unknown key \"busy_timout\"");
	load_bad("Database = /x.db\n", 1, "unknown key \"Database\"");
	load_bad("= value\n", 1, "unknown key \"\"");
}

ATF_TC(config_load__syntax_errors);
ATF_TC_HEAD(config_load__syntax_errors, tc)
{
	atf_tc_set_md_var(tc, "descr", "lines without '=', unterminated "
	    "quotes, text after a quote and overlong lines are errors with "
	    "FILE:LINE");
}
ATF_TC_BODY(config_load__syntax_errors, tc)
{
	char	*text;
	size_t	 n = 5000;

	load_bad("database = /x.db\njust words\n", 2, "expected key = value");
	load_bad("user = \"goip\n", 1, "unterminated quote");
	load_bad("user = \"goip\" extra\n", 1, "text after quote");
	text = malloc(n + 32);
	ATF_REQUIRE(text != NULL);
	memcpy(text, "\nuser = ", 8);
	memset(text + 8, 'a', n);
	strcpy(text + 8 + n, "\n");
	load_bad(text, 2, "line too long");
	free(text);
}

ATF_TC(config_load__quotes_and_comments);
ATF_TC_HEAD(config_load__quotes_and_comments, tc)
{
	atf_tc_set_md_var(tc, "descr", "comments, blank lines, white space "
	    "and double quotes (keeping '#' and spaces) are handled");
}
ATF_TC_BODY(config_load__quotes_and_comments, tc)
{
	struct config	*cfg;

	cfg = load_ok(
	    "# a comment\n"
	    "   # an indented comment\n"
	    "\n"
	    "\t\n"
	    "database=/nospace.db\n"
	    "  user   =   goip   # trailing comment\n"
	    "cors_origins = \"https://a.example#frag  \"  # quoted\n"
	    "notify_socket = \"  /spaced.sock\"\n"
	    "busy_timeout = 250ms#comment without space\n"
	    "dashboard_auth = \"none\"\n");
	ATF_CHECK_STREQ(cfg->database, "/nospace.db");
	ATF_CHECK_STREQ(cfg->user, "goip");
	ATF_CHECK_STREQ(cfg->cors_origins, "https://a.example#frag  ");
	ATF_CHECK_STREQ(cfg->notify_socket, "  /spaced.sock");
	ATF_CHECK_EQ(cfg->busy_timeout, 250);
	ATF_CHECK(cfg->dashboard_auth == AUTH_NONE);
	config_free(cfg);

	/* No newline at the end of the file. */
	cfg = load_ok("database = /last.db");
	ATF_CHECK_STREQ(cfg->database, "/last.db");
	config_free(cfg);

	/* CRLF line ends. */
	cfg = load_ok("database = /crlf.db\r\nbusy_timeout = 1s\r\n");
	ATF_CHECK_STREQ(cfg->database, "/crlf.db");
	ATF_CHECK_EQ(cfg->busy_timeout, 1000);
	config_free(cfg);
}

ATF_TC(config_load__empty_database);
ATF_TC_HEAD(config_load__empty_database, tc)
{
	atf_tc_set_md_var(tc, "descr", "an empty database setting is "
	    "refused");
}
ATF_TC_BODY(config_load__empty_database, tc)
{
	struct config	*cfg;
	char		*cause = NULL;

	write_file("goip.conf", "database =\n");
	cfg = config_new();
	ATF_CHECK(config_load(cfg, "goip.conf", &cause) == -1);
	ATF_REQUIRE(cause != NULL);
	ATF_CHECK(strstr(cause, "goip.conf") != NULL);
	ATF_CHECK(strstr(cause, "database must be set") != NULL);
	free(cause);
	config_free(cfg);
}

ATF_TC(config_load__missing_file);
ATF_TC_HEAD(config_load__missing_file, tc)
{
	atf_tc_set_md_var(tc, "descr", "a missing file is an error naming "
	    "it and the system's reason");
}
ATF_TC_BODY(config_load__missing_file, tc)
{
	struct config	*cfg;
	char		*cause = NULL;

	cfg = config_new();
	ATF_CHECK(config_load(cfg, "does-not-exist.conf", &cause) == -1);
	ATF_REQUIRE(cause != NULL);
	ATF_CHECK_STREQ(cause, "does-not-exist.conf: No such file or directory");
	free(cause);
	config_free(cfg);
}

ATF_TC(config_find__search_order);
ATF_TC_HEAD(config_find__search_order, tc)
{
	atf_tc_set_md_var(tc, "descr", "the file is -c FILE, then "
	    "$GOIP_CONF, then $(sysconfdir)/goip/goip.conf");
}
ATF_TC_BODY(config_find__search_order, tc)
{
	struct config	*cfg;
	char		*cause = NULL;

	ATF_REQUIRE(unsetenv("GOIP_CONF") == 0);
	ATF_CHECK_STREQ(config_find(NULL), SYSCONFDIR "/goip/goip.conf");
	ATF_CHECK_STREQ(config_find("flag.conf"), "flag.conf");
	ATF_REQUIRE(setenv("GOIP_CONF", "", 1) == 0);
	ATF_CHECK_STREQ(config_find(NULL), SYSCONFDIR "/goip/goip.conf");
	ATF_REQUIRE(setenv("GOIP_CONF", "env.conf", 1) == 0);
	ATF_CHECK_STREQ(config_find(NULL), "env.conf");
	ATF_CHECK_STREQ(config_find("flag.conf"), "flag.conf");

	write_file("env.conf", "database = /from-env.db\n");
	write_file("flag.conf", "database = /from-flag.db\n");
	cfg = config_new();
	ATF_REQUIRE(config_load(cfg, NULL, &cause) == 0);
	ATF_CHECK_STREQ(cfg->database, "/from-env.db");
	ATF_CHECK_STREQ(cfg->path, "env.conf");
	ATF_REQUIRE(config_load(cfg, "flag.conf", &cause) == 0);
	ATF_CHECK_STREQ(cfg->database, "/from-flag.db");
	ATF_CHECK_STREQ(cfg->path, "flag.conf");
	config_free(cfg);
}

ATF_TC(config_print__round_trip);
ATF_TC_HEAD(config_print__round_trip, tc)
{
	atf_tc_set_md_var(tc, "descr", "what config_print writes loads "
	    "back into the same configuration");
}
ATF_TC_BODY(config_print__round_trip, tc)
{
	struct config	*a, *b;
	FILE		*fp;
	char		*cause = NULL;

	a = load_ok("database = /rt.db\nbusy_timeout = 250ms\n"
	    "cors_origins = https://a.example, https://b.example\n"
	    "dashboard_auth = none\nmax_body = 2m\nevent_retention = 3d\n");
	ATF_REQUIRE((fp = fopen("printed.conf", "w")) != NULL);
	ATF_REQUIRE(config_print(a, fp) == 0);
	ATF_REQUIRE(fclose(fp) == 0);
	b = config_new();
	if (config_load(b, "printed.conf", &cause) == -1)
		atf_tc_fail("printed configuration refused: %s", cause);
	ATF_CHECK_STREQ(b->database, a->database);
	ATF_CHECK_STREQ(b->cors_origins, a->cors_origins);
	ATF_CHECK_STREQ(b->metrics_listen, a->metrics_listen);
	ATF_CHECK(b->dashboard_auth == a->dashboard_auth);
	ATF_CHECK_EQ(b->busy_timeout, a->busy_timeout);
	ATF_CHECK_EQ(b->max_body, a->max_body);
	ATF_CHECK_EQ(b->event_retention, a->event_retention);
	ATF_CHECK_EQ(b->heartbeat_interval, a->heartbeat_interval);
	config_free(a);
	config_free(b);
}

ATF_TC(config_origin_allowed__lists);
ATF_TC_HEAD(config_origin_allowed__lists, tc)
{
	atf_tc_set_md_var(tc, "descr", "config_origin_allowed: empty list "
	    "allows no cross origin, '*' allows any, otherwise exact matches "
	    "from a space or comma separated list");
}
ATF_TC_BODY(config_origin_allowed__lists, tc)
{
	struct config	*cfg;

	cfg = config_new();
	ATF_CHECK(config_origin_allowed(cfg, NULL));
	ATF_CHECK(!config_origin_allowed(cfg, "https://a.example"));
	ATF_CHECK(!config_origin_allowed(cfg, ""));
	config_free(cfg);

	/* "*" with credentials (dashboard_auth = web) is refused. */
	load_bad("dashboard_auth = web\ncors_origins = https://a.example *\n",
	    2, "cors_origins: \"*\" is refused with dashboard_auth = web");
	load_bad("cors_origins = *\n", 1, "cors_origins");
	load_bad("cors_origins = *\ndashboard_auth = none\n"
	    "dashboard_auth = web\n", 1, "cors_origins");

	cfg = load_ok("dashboard_auth = none\ncors_origins = *\n");
	ATF_CHECK(config_origin_allowed(cfg, "https://evil.example"));
	ATF_CHECK(config_origin_allowed(cfg, NULL));
	config_free(cfg);

	cfg = load_ok("cors_origins = https://a.example,https://b.example "
	    "\thttp://127.0.0.1:8080 ,, \n");
	ATF_CHECK(config_origin_allowed(cfg, NULL));
	ATF_CHECK(config_origin_allowed(cfg, "https://a.example"));
	ATF_CHECK(config_origin_allowed(cfg, "https://b.example"));
	ATF_CHECK(config_origin_allowed(cfg, "http://127.0.0.1:8080"));
	ATF_CHECK(!config_origin_allowed(cfg, "https://a.example.evil"));
	ATF_CHECK(!config_origin_allowed(cfg, "https://a.exampl"));
	ATF_CHECK(!config_origin_allowed(cfg, "http://a.example"));
	ATF_CHECK(!config_origin_allowed(cfg, "https://A.EXAMPLE"));
	ATF_CHECK(!config_origin_allowed(cfg, "http://127.0.0.1"));
	ATF_CHECK(!config_origin_allowed(cfg, "*"));
	ATF_CHECK(!config_origin_allowed(cfg, ""));
	config_free(cfg);

	/* "*" must be a whole entry to mean "any". */
	cfg = load_ok("cors_origins = https://*.example\n");
	ATF_CHECK(!config_origin_allowed(cfg, "https://x.example"));
	config_free(cfg);
}

ATF_TC(config_relay__keys);
ATF_TC_HEAD(config_relay__keys, tc)
{
	atf_tc_set_md_var(tc, "descr", "role, relay and relay_stream: "
	    "defaults, an edge with its relay, and the addresses refused");
}
ATF_TC_BODY(config_relay__keys, tc)
{
	static const char *const bad[] = {
		"redis://x", "http://h:1", "redis://h:0", "redis://h:65536",
		"redis://h:6379/16", "redis://h:6379/", "redis://:6379",
		"redis://u@h:6379", "redis://h:6379x", "redis://[::1]6379",
		"redis://h:-1", "redis://h:6379/1/2",
	};
	struct relay_url	 u;
	struct config		*cfg;
	char			 text[128];
	size_t			 i;

	cfg = config_new();
	ATF_CHECK(cfg->role == ROLE_PRIMARY);
	ATF_CHECK_STREQ(cfg->relay, "");
	ATF_CHECK_STREQ(cfg->relay_stream, "goip:events");
	config_free(cfg);

	cfg = load_ok("role = edge\nrelay = redis://10.0.0.5:6380/3\n"
	    "relay_stream = site1:events\n");
	ATF_CHECK(cfg->role == ROLE_EDGE);
	ATF_CHECK_STREQ(cfg->relay, "redis://10.0.0.5:6380/3");
	ATF_CHECK_STREQ(cfg->relay_stream, "site1:events");
	config_free(cfg);

	ATF_REQUIRE(config_relay_url("redis://10.0.0.5:6380/3", &u) == 0);
	ATF_CHECK_STREQ(u.host, "10.0.0.5");
	ATF_CHECK_EQ(u.port, 6380);
	ATF_CHECK_EQ(u.db, 3);
	ATF_REQUIRE(config_relay_url("redis://[::1]:6379", &u) == 0);
	ATF_CHECK_STREQ(u.host, "::1");
	ATF_CHECK_EQ(u.db, 0);
	ATF_REQUIRE(config_relay_url("redis://cache.example:7000", NULL) == 0);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ATF_CHECK_MSG(config_relay_url(bad[i], &u) == -1,
		    "%s accepted", bad[i]);
		snprintf(text, sizeof(text), "relay = %s\n", bad[i]);
		load_bad(text, 1, "expected redis://host:port[/db]");
	}
	load_bad("role = relay\n", 1, "expected primary or edge");
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, config_new__defaults);
	ATF_TP_ADD_TC(tp, config_load__every_key);
	ATF_TP_ADD_TC(tp, config_load__later_line_wins);
	ATF_TP_ADD_TC(tp, config_duration__units);
	ATF_TP_ADD_TC(tp, config_load__sizes);
	ATF_TP_ADD_TC(tp, config_load__counts);
	ATF_TP_ADD_TC(tp, config_load__duration_ranges);
	ATF_TP_ADD_TC(tp, config_load__strings);
	ATF_TP_ADD_TC(tp, config_load__unknown_key);
	ATF_TP_ADD_TC(tp, config_load__syntax_errors);
	ATF_TP_ADD_TC(tp, config_load__quotes_and_comments);
	ATF_TP_ADD_TC(tp, config_load__empty_database);
	ATF_TP_ADD_TC(tp, config_load__missing_file);
	ATF_TP_ADD_TC(tp, config_find__search_order);
	ATF_TP_ADD_TC(tp, config_print__round_trip);
	ATF_TP_ADD_TC(tp, config_origin_allowed__lists);
	ATF_TP_ADD_TC(tp, config_relay__keys);
	return atf_no_error();
}
