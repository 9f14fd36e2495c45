/*
 * main.c: goip-udpd start-up, privileges, signals and the event loop.
 *
 * goip-udpd [-dnv] [-c file]
 */
#include "config.h"

#include <sys/types.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "goip.h"
#include "udpd.h"

struct udpd		 udpd;

static struct event	*main_sigterm, *main_sigint, *main_sighup;
static int		 main_foreground;
static int		 main_verbose;

static void __attribute__((__noreturn__))
usage(void)
{
	fprintf(stderr, "usage: goip-udpd [-dnv] [-c file]\n");
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
 * SIGTERM, SIGINT: stop reading and leave the loop; what is committed is
 * committed, and sessions in flight are failed at the next start (their
 * fate is unknown). SIGHUP reopens the log.
 */
static void
main_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	if (sig == SIGHUP) {
		log_init("goip-udpd", main_foreground, main_verbose ?
		    LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
		log_info("main: SIGHUP: logs reopened");
		return;
	}
	log_info("main: signal %d: stopping", (int)sig);
	event_base_loopbreak(udpd.base);
}

int
main(int argc, char *argv[])
{
	struct config	*cfg;
	const char	*conffile = NULL;
	char		*cause = NULL, addr[64];
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

	log_init("goip-udpd", main_foreground || check, main_verbose ?
	    LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	cfg = config_new();
	if (config_load(cfg, conffile, &cause) == -1) {
		fprintf(stderr, "goip-udpd: %s\n", cause != NULL ? cause :
		    "bad configuration");
		exit(1);
	}
	udpd.cfg = cfg;
	if (udp_allow_parse(cfg->goip_allow, &cause) == -1) {
		fprintf(stderr, "goip-udpd: %s: %s\n", cfg->path != NULL ?
		    cfg->path : "goip.conf", cause);
		exit(1);
	}
	if (check) {
		fprintf(stderr, "goip-udpd: configuration OK\n");
		config_free(cfg);
		exit(0);
	}

	drop = priv_decide(cfg->path != NULL ? cfg->path : "goip.conf",
	    cfg->user, &uid, &gid);
	event_set_log_callback(main_event_log_cb);
	signal(SIGPIPE, SIG_IGN);
	if ((udpd.base = event_base_new()) == NULL)
		fatalx("main: event_base_new");
	if (udp_listen(cfg->goip_listen, cfg->goip_allow, &cause) == -1)
		fatalx("main: %s", cause);
	if ((udpd.st = store_open(cfg->database, cfg->busy_timeout,
	    STORE_OPEN_CHECK, &cause)) == NULL)
		fatalx("main: %s", cause != NULL ? cause : "store_open");
	if (drop)
		priv_drop(cfg->user, uid, gid);
	if (!main_foreground && daemon(0, 0) == -1)
		fatal("main: daemon");
	if (!main_foreground)
		event_reinit(udpd.base);
	outbound_init();

	main_sigterm = evsignal_new(udpd.base, SIGTERM, main_signal_cb, NULL);
	main_sigint = evsignal_new(udpd.base, SIGINT, main_signal_cb, NULL);
	main_sighup = evsignal_new(udpd.base, SIGHUP, main_signal_cb, NULL);
	if (main_sigterm == NULL || main_sigint == NULL ||
	    main_sighup == NULL || evsignal_add(main_sigterm, NULL) == -1 ||
	    evsignal_add(main_sigint, NULL) == -1 ||
	    evsignal_add(main_sighup, NULL) == -1)
		fatalx("main: signals");
	if (udp_local(addr, sizeof(addr)) == -1)
		snprintf(addr, sizeof(addr), "%s", cfg->goip_listen);
	log_info("listening on %s", addr);

	event_base_dispatch(udpd.base);

	log_info("main: exiting");
	outbound_shutdown();
	udp_close();
	peer_free_all();
	event_free(main_sigterm);
	event_free(main_sigint);
	event_free(main_sighup);
	event_base_free(udpd.base);
	store_close(udpd.st);
	config_free(cfg);
	return 0;
}
