/*
 * main.c: goip-webhookd start-up, signals and the event loop.
 *
 * goip-webhookd [-dnv] [-c file]
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
#include "webhookd.h"

struct wconf		 wconf;

static struct event	*main_sigterm, *main_sigint, *main_sighup;
static int		 main_foreground;
static int		 main_verbose;

static void __attribute__((__noreturn__))
usage(void)
{
	fprintf(stderr, "usage: goip-webhookd [-dnv] [-c file]\n");
	exit(1);
}

static void
main_event_log_cb(int severity, const char *msg)
{
	if (severity >= EVENT_LOG_WARN)
		log_warnx("event: %s", msg);
	else
		log_debug("event: %s", msg);
}

/*
 * SIGTERM, SIGINT: stop at once. Requests in flight are abandoned: their
 * events are sent again after a restart (at least once). SIGHUP reopens
 * the log.
 */
static void
main_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	if (sig == SIGHUP) {
		log_init("goip-webhookd", main_foreground, main_verbose ?
		    LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
		log_info("main: SIGHUP: logs reopened");
		return;
	}
	log_info("main: signal %d: stopping", (int)sig);
	event_base_loopbreak(wconf.base);
}

/* Add the signal event for SIG to *EV. */
static void
main_signal(struct event **ev, int sig)
{
	if ((*ev = evsignal_new(wconf.base, sig, main_signal_cb, NULL)) ==
	    NULL || evsignal_add(*ev, NULL) == -1)
		fatalx("main: signal %d", sig);
}

int
main(int argc, char *argv[])
{
	struct config	*cfg;
	const char	*conffile = NULL;
	char		*cause = NULL;
	uid_t		 uid = 0;
	gid_t		 gid = 0;
	int		 ch, check = 0, drop;

	while ((ch = getopt(argc, argv, "c:dnv")) != -1) {
		switch (ch) {
		case 'c':
			conffile = optarg;
			break;
		case 'd':
			main_foreground = 1;
			break;
		case 'n':
			check = 1;
			break;
		case 'v':
			main_verbose++;
			break;
		default:
			usage();
		}
	}
	if (argc != optind)
		usage();

	log_init("goip-webhookd", main_foreground || check, main_verbose ?
	    LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	cfg = config_new();
	if (config_load(cfg, conffile, &cause) == -1) {
		fprintf(stderr, "goip-webhookd: %s\n",
		    cause != NULL ? cause : "bad configuration");
		exit(1);
	}
	if (check) {
		fprintf(stderr, "goip-webhookd: configuration OK\n");
		config_free(cfg);
		exit(0);
	}
	wconf.cfg = cfg;

	drop = priv_check(cfg->path, cfg->user, &uid, &gid);
	event_set_log_callback(main_event_log_cb);
	signal(SIGPIPE, SIG_IGN);
	if ((wconf.base = event_base_new()) == NULL)
		fatalx("main: event_base_new");
	if (cfg->webhook_metrics_listen[0] != '\0' &&
	    metrics_listen(cfg->webhook_metrics_listen) == -1)
		fatalx("main: cannot listen on %s",
		    cfg->webhook_metrics_listen);
	if ((wconf.st = store_open(cfg->database, cfg->busy_timeout,
	    STORE_OPEN_CHECK, &cause)) == NULL)
		fatalx("main: %s", cause != NULL ? cause : "store_open");
	store_set_busy_timeout(wconf.st, WEBHOOKD_BUSY_MS);
	if (drop)
		priv_drop(cfg->user, uid, gid);
	if (!main_foreground && daemon(0, 0) == -1)
		fatal("main: daemon");
	if (!main_foreground)
		event_reinit(wconf.base);
	if (deliver_init() == -1)
		fatalx("main: cannot set up libcurl");
	main_signal(&main_sigterm, SIGTERM);
	main_signal(&main_sigint, SIGINT);
	main_signal(&main_sighup, SIGHUP);
	endpoint_init();
	log_info("ready (%s, allow_private %s)", cfg->database,
	    cfg->webhook_allow_private ? "yes" : "no");

	event_base_dispatch(wconf.base);

	log_info("main: exiting");
	endpoint_shutdown();
	deliver_shutdown();
	metrics_shutdown();
	event_free(main_sigterm);
	event_free(main_sigint);
	event_free(main_sighup);
	store_close(wconf.st);
	event_base_free(wconf.base);
	config_free(cfg);
	return 0;
}
