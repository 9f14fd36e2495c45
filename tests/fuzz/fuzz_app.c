/*
 * fuzz_app.c: libFuzzer harness for goip-notifier's application mode: the
 * rooms, the replays (resume by lastEventId or pid/offset, stepped on
 * later turns of the loop), the join rate limit and GET /api/events,
 * against a real configuration and a real SQLite database holding 600
 * events of two devices and global ones.
 *
 * The input is one client's requests, one a line:
 *	?QUERY		GET /api/events?QUERY on a connection of its own
 *	.		a long-polling GET of the session
 *	anything else	POSTed to the session as an Engine.IO payload
 *			(packets separated by 0x1e: "40{...}", "42[...]")
 * The harness opens the polling session first; session ids count from 0
 * for each input (notifier_fuzz.h), so the session is always the same.
 * Each request is written on a fresh connection and the loop is run until
 * it was handled; at the end everything is closed and freed.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "notifier_fuzz.h"

#define FUZZ_APP_CONNS		64	/* requests of one input, at most */
#define FUZZ_APP_EVENTS		600	/* events in the log */
#define FUZZ_APP_SID		"00000000000000000000"

static int	fuzz_app_fds[FUZZ_APP_CONNS];
static int	fuzz_app_nfds;

/*
 * Set up the application-mode daemon once: a goip.conf and a database in
 * a fresh directory under /tmp, the log filled, ingest started. Failures
 * abort: without them nothing is fuzzed.
 */
static void
fuzz_app_init(void)
{
	/* One statement: store_exec() prepares only the first. */
	static const char *const fill =
	    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
	    "WHERE x < 600) INSERT INTO events(at, type, device, payload) "
	    "SELECT 1700000000000 + x, CASE x % 4 WHEN 0 THEN 'sms-received' "
	    "ELSE 'device-heartbeat' END, CASE x % 5 WHEN 0 THEN NULL "
	    "WHEN 1 THEN 'goip-02' ELSE 'goip-01' END, "
	    "'{\"deviceId\":\"goip-0' || (x % 2 + 1) || '\",\"n\":' || x || "
	    "'}' FROM c";
	char		 dir[] = "/tmp/fuzz-app.XXXXXX", path[128];
	char		*cause = NULL;
	struct config	*cfg;
	FILE		*f;
	int		 applied;

	if (nconf.st != NULL)
		return;
	fuzz_init();
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/goip.conf", dir);
	if ((f = fopen(path, "w")) == NULL)
		abort();
	fprintf(f, "database = %s/goip.db\nlisten = 127.0.0.1:1\n"
	    "notify_socket = %s/notify.sock\n", dir, dir);
	if (fclose(f) == EOF)
		abort();
	cfg = config_new();
	if (config_load(cfg, path, &cause) == -1) {
		fprintf(stderr, "fuzz_app: %s\n", cause);
		abort();
	}
	nconf.compliance = 0;
	nconf.cfg = cfg;
	nconf.socket_path = cfg->socket_path;
	nconf.events_path = cfg->events_path;
	nconf.max_payload = cfg->max_payload;
	nconf.st = store_open(cfg->database, cfg->busy_timeout,
	    STORE_OPEN_CREATE, &cause);
	if (nconf.st == NULL || store_migrate(nconf.st, &applied,
	    &cause) == -1) {
		fprintf(stderr, "fuzz_app: %s\n", cause);
		abort();
	}
	if (store_exec(nconf.st, fill, &cause) != STORE_OK) {
		fprintf(stderr, "fuzz_app: %s\n", cause);
		abort();
	}
	if (ingest_init(NULL) == -1 || ingest_cursor() != FUZZ_APP_EVENTS)
		abort();
}

/* Run the loop a few turns, reading what the daemon wrote. */
static void
fuzz_app_run(int turns)
{
	int	i, j;

	for (i = 0; i < turns; i++) {
		event_base_loop(notifier_base, EVLOOP_NONBLOCK);
		for (j = 0; j < fuzz_app_nfds; j++)
			fuzz_drain(fuzz_app_fds[j]);
	}
}

/* Write the request HEAD + BODY (BODYLEN bytes) on a fresh connection. */
static void
fuzz_app_request(const char *head, const char *body, size_t bodylen)
{
	int	sv[2];
	size_t	off = 0, len = strlen(head);
	ssize_t	n;
	int	i;

	if (fuzz_app_nfds == FUZZ_APP_CONNS)
		return;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == -1)
		abort();
	if (server_conn_new(sv[0], CONN_MAIN, "127.0.0.1") == NULL) {
		close(sv[0]);
		close(sv[1]);
		return;
	}
	fuzz_app_fds[fuzz_app_nfds++] = sv[1];
	if (write(sv[1], head, len) != (ssize_t)len)
		abort();
	for (i = 0; i < 1000 && off < bodylen; i++) {
		if ((n = write(sv[1], body + off, bodylen - off)) > 0)
			off += n;
		else if (n == -1 && errno != EAGAIN)
			break;
		fuzz_app_run(1);
	}
	fuzz_app_run(8);
}

/* One line of the input: a request of the client. */
static void
fuzz_app_line(const char *p, size_t len)
{
	char	head[512];

	if (len > 0 && p[0] == '?') {
		snprintf(head, sizeof(head), "GET /api/events%.*s HTTP/1.1\r\n"
		    "Host: localhost\r\n\r\n", (int)(len > 256 ? 256 : len), p);
		fuzz_app_request(head, "", 0);
	} else if (len == 1 && p[0] == '.') {
		fuzz_app_request("GET /api/socket/io/?EIO=4&transport=polling&"
		    "sid=" FUZZ_APP_SID " HTTP/1.1\r\nHost: localhost\r\n\r\n",
		    "", 0);
	} else if (len > 0) {
		snprintf(head, sizeof(head), "POST /api/socket/io/?EIO=4&"
		    "transport=polling&sid=" FUZZ_APP_SID " HTTP/1.1\r\n"
		    "Host: localhost\r\nContent-Type: text/plain\r\n"
		    "Content-Length: %zu\r\n\r\n", len);
		fuzz_app_request(head, p, len);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*p = (const char *)data, *nl;
	size_t		 left = size;
	int		 i;

	fuzz_app_init();
	fuzz_ids = 0;
	fuzz_app_nfds = 0;
	fuzz_app_request("GET /api/socket/io/?EIO=4&transport=polling "
	    "HTTP/1.1\r\nHost: localhost\r\n\r\n", "", 0);
	while (left > 0) {
		if ((nl = memchr(p, '\n', left)) == NULL)
			nl = p + left;
		fuzz_app_line(p, (size_t)(nl - p));
		left -= (size_t)(nl - p) + (nl < p + left ? 1 : 0);
		p = nl + 1;
	}
	/* The replays go on for a while after the last request. */
	fuzz_app_run(64);
	for (i = 0; i < fuzz_app_nfds; i++)
		close(fuzz_app_fds[i]);
	fuzz_app_nfds = 0;
	server_close_all();
	eio_close_all();
	fuzz_app_run(4);
	server_close_all();
	return 0;
}
