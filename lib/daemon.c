/*
 * daemon.c: the start-up the three daemons share (goip-notifier, goip-udpd,
 * goip-webhookd): their common options, libevent's log, detaching, and
 * the signals (SIGTERM and SIGINT stop, SIGHUP reopens the log).
 *
 * Compiled into each daemon rather than into libgoip.a: goip-cgi and
 * goipctl do not use libevent, and the fuzz targets link every file of
 * the library.
 */
#include "config.h"

#include <sys/types.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "goip.h"

static struct event_base	*daemon_evbase;
static const int		 daemon_signo[] = { SIGTERM, SIGINT, SIGHUP };

#define DAEMON_NSIG	(sizeof(daemon_signo) / sizeof(daemon_signo[0]))
static struct event		*daemon_sig[DAEMON_NSIG];

static void __attribute__((__noreturn__))
daemon_usage(const struct daemon *d)
{
	fprintf(stderr, "usage: %s %s\n", d->name, d->usage);
	exit(1);
}

static enum log_level
daemon_level(const struct daemon *d)
{
	return d->verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO;
}

/*
 * Parse the options every daemon takes (-c file, -d, -n, -v) and those in
 * D->extra (getopt syntax), which go to D->option with their argument.
 * An unknown option or an operand prints the usage and exits 1. Then open
 * the log under D->name, on stderr with -d or -n.
 */
void
daemon_args(struct daemon *d, int argc, char *argv[])
{
	char	opts[32];
	int	ch;

	if ((size_t)snprintf(opts, sizeof(opts), "c:dnv%s", d->extra != NULL ?
	    d->extra : "") >= sizeof(opts))
		fatalx("daemon: too many options");
	while ((ch = getopt(argc, argv, opts)) != -1) {
		switch (ch) {
		case 'c':
			d->conffile = optarg;
			break;
		case 'd':
			d->foreground = 1;
			break;
		case 'n':
			d->check = 1;
			break;
		case 'v':
			d->verbose++;
			break;
		case '?':
			daemon_usage(d);
		default:
			if (d->option == NULL)
				daemon_usage(d);
			d->option(ch, optarg);
		}
	}
	if (argc != optind)
		daemon_usage(d);
	log_init(d->name, d->foreground || d->check, daemon_level(d));
}

/*
 * Load goip.conf (-c, or the default) and return it; on a bad file print
 * "NAME: why" to stderr and exit 1. The caller frees the result.
 */
struct config *
daemon_config(struct daemon *d)
{
	struct config	*cfg;
	char		*cause = NULL;

	cfg = config_new();
	if (config_load(cfg, d->conffile, &cause) == -1) {
		fprintf(stderr, "%s: %s\n", d->name, cause != NULL ? cause :
		    "bad configuration");
		exit(1);
	}
	return cfg;
}

/*
 * With -n, once the configuration has passed every check: say so on
 * stderr, free CFG (may be NULL) and exit 0. Without -n, do nothing.
 */
void
daemon_check(struct daemon *d, struct config *cfg)
{
	if (!d->check)
		return;
	fprintf(stderr, "%s: configuration OK\n", d->name);
	config_free(cfg);
	exit(0);
}

static void
daemon_event_log_cb(int severity, const char *msg)
{
	if (severity >= EVENT_LOG_WARN)
		log_warnx("event: %s", msg);
	else
		log_debug("event: %s", msg);
}

/*
 * Route libevent's messages into the log, ignore SIGPIPE (a peer that goes
 * away is an error return, not a death) and return a new event base, or
 * exit through fatalx(). daemon_detach() and daemon_signals() use it.
 */
struct event_base *
daemon_base(void)
{
	event_set_log_callback(daemon_event_log_cb);
	signal(SIGPIPE, SIG_IGN);
	if ((daemon_evbase = event_base_new()) == NULL)
		fatalx("main: event_base_new");
	return daemon_evbase;
}

/* Go into the background unless -d was given; fatal() if that fails. */
void
daemon_detach(struct daemon *d)
{
	if (d->foreground)
		return;
	if (daemon(0, 0) == -1)
		fatal("main: daemon");
	event_reinit(daemon_evbase);
}

/*
 * SIGHUP reopens the log. SIGTERM and SIGINT call the daemon's stop hook,
 * or without one log and leave the event loop.
 */
static void
daemon_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon	*d = arg;

	(void)what;
	if (sig == SIGHUP) {
		log_init(d->name, d->foreground, daemon_level(d));
		log_info("main: SIGHUP: logs reopened");
		return;
	}
	if (d->stop != NULL) {
		d->stop((int)sig);
		return;
	}
	log_info("main: signal %d: stopping", (int)sig);
	event_base_loopbreak(daemon_evbase);
}

/* Add the events for SIGTERM, SIGINT and SIGHUP, or exit through fatalx(). */
void
daemon_signals(struct daemon *d)
{
	size_t	i;

	for (i = 0; i < DAEMON_NSIG; i++) {
		if ((daemon_sig[i] = evsignal_new(daemon_evbase,
		    daemon_signo[i], daemon_signal_cb, d)) == NULL ||
		    evsignal_add(daemon_sig[i], NULL) == -1)
			fatalx("main: signals");
	}
}

/* Free the signal events; the caller frees the event base after. */
void
daemon_free(void)
{
	size_t	i;

	for (i = 0; i < DAEMON_NSIG; i++) {
		if (daemon_sig[i] != NULL)
			event_free(daemon_sig[i]);
		daemon_sig[i] = NULL;
	}
}
