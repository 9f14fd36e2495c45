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

/*
 * SIGTERM, SIGINT: stop at once. Requests in flight are abandoned: their
 * events are sent again after a restart (at least once). SIGHUP reopens
 * the log.
 */
static struct daemon	 main_daemon = {
	.name = "goip-webhookd",
	.usage = "[-dnv] [-c file]",
};

int
main(int argc, char *argv[])
{
	struct config	*cfg;
	char		*cause = NULL;
	uid_t		 uid = 0;
	gid_t		 gid = 0;
	int		 drop;

	daemon_args(&main_daemon, argc, argv);
	cfg = daemon_config(&main_daemon);
	daemon_check(&main_daemon, cfg);
	wconf.cfg = cfg;

	drop = priv_check(cfg->path, cfg->user, &uid, &gid);
	wconf.base = daemon_base();
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
	daemon_detach(&main_daemon);
	if (deliver_init() == -1)
		fatalx("main: cannot set up libcurl");
	daemon_signals(&main_daemon);
	endpoint_init();
	log_info("ready (%s, allow_private %s)", cfg->database,
	    cfg->webhook_allow_private ? "yes" : "no");

	event_base_dispatch(wconf.base);

	log_info("main: exiting");
	endpoint_shutdown();
	deliver_shutdown();
	metrics_shutdown();
	daemon_free();
	store_close(wconf.st);
	event_base_free(wconf.base);
	config_free(cfg);
	return 0;
}
