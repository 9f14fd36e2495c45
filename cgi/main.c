/*
 * main.c: goip-cgi start-up and the request loop.
 *
 * The same binary serves FastCGI (started by the web server or by a socket
 * unit, the listening socket on descriptor 0) and plain CGI (one request
 * from the environment and standard input). The configuration and the
 * database are opened once per process and kept across requests.
 */
#include "config.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "goip.h"
#include "cgi.h"

extern char **environ;

static void __attribute__((__noreturn__))
usage(void)
{
	fprintf(stderr, "usage: goip-cgi [-dv] [-c file]\n");
	exit(1);
}

/* Serve one request from ENVP and the streams (NULL: stdin/stdout). */
static void
serve(const struct config *cfg, struct store **stp, char *const *envp,
    FCGX_Stream *in, FCGX_Stream *out)
{
	struct request	 req;
	char		*cause = NULL;

	/* A database that could not be opened is tried again each request. */
	if (*stp == NULL && (*stp = store_open(cfg->database,
	    cfg->busy_timeout, STORE_OPEN_CHECK, &cause)) == NULL) {
		log_warnx("store: %s", cause);
		free(cause);
	}
	memset(&req, 0, sizeof(req));
	req.cfg = cfg;
	req.st = *stp;
	req.envp = envp;
	req.in = in;
	req.out = out;
	router_dispatch(&req);
	free(req.body);
}

int
main(int argc, char *argv[])
{
	struct config	*cfg;
	struct store	*st = NULL;
	const char	*conffile = NULL;
	char		*cause = NULL;
	FCGX_Request	 fr;
	int		 ch, foreground = 0;
	enum log_level	 level = LOG_LEVEL_INFO;

	/*
	 * Keep freed memory instead of trimming the heap after every request:
	 * SQLite and json-c allocate and free the same few hundred kilobytes
	 * per request, and giving them back to the kernel each time (brk, TLB
	 * shootdowns, page faults to grow again) cost more than the request.
	 */
	mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
	mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);

	while ((ch = getopt(argc, argv, "c:dv")) != -1) {
		switch (ch) {
		case 'c':
			conffile = optarg;
			break;
		case 'd':
			foreground = 1;
			break;
		case 'v':
			level = LOG_LEVEL_DEBUG;
			break;
		default:
			usage();
		}
	}
	if (argc != optind)
		usage();
	log_init("goip-cgi", foreground, level);

	cfg = config_new();
	if (config_load(cfg, conffile, &cause) == -1)
		fatalx("%s", cause);

	if (FCGX_IsCGI()) {
		serve(cfg, &st, environ, NULL, NULL);
		fflush(stdout);
	} else {
		if (FCGX_Init() != 0)
			fatalx("FCGX_Init failed");
		if (FCGX_InitRequest(&fr, 0, 0) != 0)
			fatalx("FCGX_InitRequest failed");
		while (FCGX_Accept_r(&fr) >= 0) {
			serve(cfg, &st, fr.envp, fr.in, fr.out);
			FCGX_Finish_r(&fr);
		}
	}
	store_close(st);
	config_free(cfg);
	return 0;
}
