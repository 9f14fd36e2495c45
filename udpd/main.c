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

/*
 * SIGTERM, SIGINT: stop reading and leave the loop; what is committed is
 * committed, and sessions in flight are failed at the next start (their
 * fate is unknown). SIGHUP reopens the log.
 */
static struct daemon	 main_daemon = {
	.name = "goip-udpd",
	.usage = "[-dnv] [-c file]",
};

int
main(int argc, char *argv[])
{
	struct config	*cfg;
	char		*cause = NULL, addr[64];
	uid_t		 uid = 0;
	gid_t		 gid = 0;
	int		 drop;

	daemon_args(&main_daemon, argc, argv);
	cfg = daemon_config(&main_daemon);
	udpd.cfg = cfg;
	if (udp_allow_parse(cfg->goip_allow, &cause) == -1) {
		fprintf(stderr, "goip-udpd: %s: %s\n", cfg->path != NULL ?
		    cfg->path : "goip.conf", cause);
		exit(1);
	}
	daemon_check(&main_daemon, cfg);

	drop = priv_check(cfg->path != NULL ? cfg->path : "goip.conf",
	    cfg->user, &uid, &gid);
	udpd.base = daemon_base();
	if (udp_listen(cfg->goip_listen, cfg->goip_allow, &cause) == -1)
		fatalx("main: %s", cause);
	if ((udpd.st = store_open(cfg->database, cfg->busy_timeout,
	    STORE_OPEN_CHECK, &cause)) == NULL)
		fatalx("main: %s", cause != NULL ? cause : "store_open");
	if (drop)
		priv_drop(cfg->user, uid, gid);
	daemon_detach(&main_daemon);
	outbound_init();

	daemon_signals(&main_daemon);
	if (udp_local(addr, sizeof(addr)) == -1)
		snprintf(addr, sizeof(addr), "%s", cfg->goip_listen);
	log_info("listening on %s", addr);

	event_base_dispatch(udpd.base);

	log_info("main: exiting");
	outbound_shutdown();
	udp_close();
	peer_free_all();
	daemon_free();
	event_base_free(udpd.base);
	store_close(udpd.st);
	config_free(cfg);
	return 0;
}
