/*
 * main.c: goip-notifier start-up, signals and the event loop.
 *
 * goip-notifier [-dnvC] [-c file] [-l address]
 */
#include "config.h"

#include <sys/types.h>
#include <sys/random.h>
#include <sys/resource.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "goip.h"
#include "notifier.h"

struct event_base	*notifier_base;
struct nconf		 nconf;

static int		 main_stopping;
static const char	*main_listen;	/* -l */

static void	main_option(int, char *);
static void	main_stop(int);

static struct daemon	 main_daemon = {
	.name = "goip-notifier",
	.usage = "[-dnvC] [-c file] [-l address]",
	.extra = "l:C",
	.option = main_option,
	.stop = main_stop,
};

/*
 * Fill BUF (SZ bytes, NUL included) with random characters of the
 * base64url alphabet: session ids, socket ids, pids.
 */
void
main_random_id(char *buf, size_t sz)
{
	static const char	 a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char		 r[64];
	size_t			 i, n = sz - 1;

	if (n > sizeof(r))
		n = sizeof(r);
	if (getrandom(r, n, 0) != (ssize_t)n)
		fatal("getrandom");
	for (i = 0; i < n; i++)
		buf[i] = a[r[i] & 63];
	buf[n] = '\0';
}

int64_t
main_now_ms(void)
{
	return util_now_ms();
}

/* The notifier's own options: -l address, -C (compliance mode). */
static void
main_option(int ch, char *arg)
{
	if (ch == 'l')
		main_listen = arg;
	else
		nconf.compliance = 1;
}

static void
main_stop_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	event_base_loopbreak(notifier_base);
}

/*
 * SIGTERM, SIGINT: stop accepting, close every session (clients reconnect
 * and resume from the log), flush for a moment and exit. SIGHUP reopens
 * the log (lib/daemon.c).
 */
static void
main_stop(int sig)
{
	struct timeval	tv = { 0, 200000 };

	if (main_stopping)
		return;
	main_stopping = 1;
	log_info("main: signal %d: draining", sig);
	server_shutdown();
	if (!nconf.compliance) {
		ingest_shutdown();
		sweep_shutdown();
		relay_shutdown();
		edge_shutdown();
	}
	eio_close_all();
	event_base_once(notifier_base, -1, EV_TIMEOUT, main_stop_cb, NULL,
	    &tv);
}

/* Raise the descriptor limit to its hard limit: one per connection. */
static void
main_raise_nofile(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("main: setrlimit");
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    (int64_t)rl.rlim_cur < nconf.max_connections + 64)
		log_warnx("main: only %llu descriptors for %lld connections",
		    (unsigned long long)rl.rlim_cur,
		    (long long)nconf.max_connections);
}

int
main(int argc, char *argv[])
{
	struct config	*cfg = NULL;
	char		*cause = NULL;
	uid_t		 uid = 0;
	gid_t		 gid = 0;
	int		 drop = 0;

	daemon_args(&main_daemon, argc, argv);
	if (nconf.compliance) {
		nconf.listen = main_listen != NULL ? main_listen :
		    "127.0.0.1:3000";
		nconf.socket_path = "/socket.io/";
		nconf.ping_interval = 300;
		nconf.ping_timeout = 200;
		nconf.connect_timeout = 1000;
		nconf.max_payload = 1000000;
		nconf.max_connections = 16384;
	} else {
		cfg = daemon_config(&main_daemon);
		nconf.cfg = cfg;
		nconf.listen = main_listen != NULL ? main_listen : cfg->listen;
		nconf.socket_path = cfg->socket_path;
		nconf.events_path = cfg->events_path;
		nconf.ping_interval = cfg->ping_interval;
		nconf.ping_timeout = cfg->ping_timeout;
		nconf.connect_timeout = 45000;
		nconf.max_payload = cfg->max_payload;
		nconf.max_connections = cfg->max_connections;
		nconf.max_per_address = cfg->max_per_address;
		nconf.edge = cfg->role == ROLE_EDGE;
		nconf.relay = cfg->relay[0] != '\0';
	}
	nconf.listen_unix = nconf.listen[0] == '/';
	if (!nconf.compliance && !nconf.listen_unix &&
	    cfg->dashboard_auth == AUTH_WEB && cfg->proxy_secret[0] == '\0') {
		fprintf(stderr, "goip-notifier: %s: listen = %s is TCP and "
		    "dashboard_auth = web: set proxy_secret (the web server "
		    "sends it as X-Goip-Proxy-Secret after its "
		    "authentication), or listen on a Unix socket\n",
		    cfg->path, nconf.listen);
		exit(1);
	}
	if (sock_group(nconf.compliance ? NULL : cfg->listen_group,
	    &nconf.listen_gid, &cause) == -1) {
		fprintf(stderr, "goip-notifier: %s\n", cause);
		exit(1);
	}
	daemon_check(&main_daemon, cfg);

	if (!nconf.compliance)
		drop = priv_check(cfg->path, cfg->user, &uid, &gid);
	/* Root binds for the user it becomes: the sockets are that user's. */
	if (drop)
		nconf.listen_uid = uid;
	main_raise_nofile();
	notifier_base = daemon_base();
	if (server_listen(nconf.listen, CONN_MAIN) == -1)
		fatalx("main: cannot listen on %s", nconf.listen);
	if (!nconf.compliance) {
		if (cfg->metrics_listen != NULL &&
		    cfg->metrics_listen[0] != '\0' &&
		    metrics_listen(cfg->metrics_listen) == -1)
			fatalx("main: cannot listen on %s",
			    cfg->metrics_listen);
		/* An edge never opens the database: the relay is its log. */
		if (!nconf.edge && (nconf.st = store_open(cfg->database,
		    cfg->busy_timeout, 0, &cause)) == NULL)
			fatalx("main: %s", cause != NULL ? cause :
			    "store_open");
		source_init(nconf.edge);
		if (nconf.edge && edge_init(cfg) == -1)
			fatalx("main: relay %s: not redis://host:port",
			    cfg->relay);
		if (ingest_init(nconf.edge ? NULL : cfg->notify_socket) == -1)
			fatalx("main: cannot ingest");
		if (drop)
			priv_drop(cfg->user, uid, gid);
		if (!nconf.edge) {
			if (nconf.relay && relay_init(cfg) == -1)
				fatalx("main: relay %s: not redis://host:port",
				    cfg->relay);
			sweep_init();
		}
	}
	daemon_detach(&main_daemon);

	daemon_signals(&main_daemon);
	log_info("main: listening on %s%s", nconf.listen,
	    nconf.compliance ? " (compliance mode)" : nconf.edge ?
	    " (edge)" : "");

	event_base_dispatch(notifier_base);

	log_info("main: exiting");
	ws_shutdown();
	daemon_free();
	if (nconf.st != NULL)
		store_close(nconf.st);
	config_free(cfg);
	return 0;
}
