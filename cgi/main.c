/*
 * main.c: goip-cgi start-up and the request loop.
 *
 * The same binary serves FastCGI (started by the web server or by a socket
 * unit, the listening socket on descriptor 0) and plain CGI (one request
 * from the environment and standard input). The configuration and the
 * database are opened once and kept across requests.
 *
 * FastCGI requests are served in groups: every request already whole on its
 * connection (up to CGI_GROUP_MAX; cgi/conn.c accepts the connections and
 * waits for their requests without blocking on any one of them) is handed
 * to libfcgi and its body read, then they are served one after the other
 * with their writes in one transaction (lib/group.c), and their answers are
 * sent once that commits. A thread runs the WAL checkpoints
 * (lib/checkpoint.c).
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>
#include <sqlite3.h>

#include "goip.h"
#include "cgi.h"

#define CGI_GROUP_MAX	32	/* requests served and committed together */

extern char **environ;

/* One request of a group. */
struct slot {
	FCGX_Request	 fr;
	struct request	 req;
	int		 kept;	/* its writes wait for the group's commit */
	int		 whole;	/* every record of the request was in */
};

static volatile sig_atomic_t cgi_quit;

static void __attribute__((__noreturn__))
usage(void)
{
	fprintf(stderr, "usage: goip-cgi [-dv] [-c file]\n");
	exit(1);
}

static void
cgi_sig(int sig)
{
	(void)sig;
	cgi_quit = 1;
}

/*
 * The store at *STP, opened now if it is not: a database that could not be
 * opened is tried again each request (the router then answers 503).
 */
static struct store *
cgi_store(const struct config *cfg, struct store **stp)
{
	char	*cause = NULL;

	if (*stp == NULL && (*stp = store_open(cfg->database,
	    cfg->busy_timeout, STORE_OPEN_CHECK, &cause)) == NULL) {
		log_warnx("store: %s", cause);
		free(cause);
	}
	return *stp;
}

static void
cgi_request(struct request *req, const struct config *cfg, char *const *envp,
    FCGX_Stream *in, FCGX_Stream *out)
{
	memset(req, 0, sizeof(*req));
	req->cfg = cfg;
	req->envp = envp;
	req->in = in;
	req->out = out;
}

static void
cgi_request_free(struct request *req)
{
	free(req->body);
	free(req->pre);
	free(req->out_buf);
}

/* Plain CGI: one request, one connection for reads and writes. */
static void
cgi_plain(const struct config *cfg)
{
	struct request	 req;
	struct store	*st = NULL;

	cgi_request(&req, cfg, environ, NULL, NULL);
	req.st = req.wst = cgi_store(cfg, &st);
	router_dispatch(&req);
	if (req.ring > 0)
		evlog_notify(cfg->notify_socket, req.ring);
	fflush(stdout);
	cgi_request_free(&req);
	store_close(st);
}

/*
 * Serve the N accepted requests of S as a group: reads on RD, writes and
 * token lookups on WR, whose transactions join one commit. Answers are
 * kept until then; when the commit fails, the requests that wrote are
 * answered with the failure instead. Then ring the notifier once.
 */
static void
cgi_group(const struct config *cfg, struct slot *s, int n, struct store *rd,
    struct store *wr)
{
	struct request	*req;
	enum store_rc	 rc = STORE_OK;
	char		*cause = NULL;
	int64_t		 ring = 0;
	int		 i, m;

	if (wr != NULL)
		group_start(wr);
	for (i = 0; i < n; i++) {
		req = &s[i].req;
		req->st = rd;
		req->wst = wr;
		m = wr != NULL ? store_group_members(wr) : 0;
		router_dispatch(req);
		s[i].kept = wr != NULL && store_group_members(wr) > m;
	}
	if (wr != NULL)
		rc = group_end(wr, &cause);
	for (i = 0; i < n; i++) {
		req = &s[i].req;
		if (rc != STORE_OK && s[i].kept) {
			reply_reset(req);
			request_store_error(req, rc, xstrdup(cause != NULL ?
			    cause : "commit failed"));
		} else if (req->ring > ring)
			ring = req->ring;
	}
	free(cause);
	if (ring > 0)
		evlog_notify(cfg->notify_socket, ring);
}

/*
 * Start the request waiting whole on connection FD (from conn_wait()) in
 * FR; FCGX_Accept_r's answer. Handing over a descriptor relies on two
 * fields of FCGX_Request that fcgiapp.h marks private: FCGX_Accept_r reads
 * from a connection already open (ipcFd), and the FCGX_Finish_r it starts
 * with leaves that connection open when keepConnection is set; it then
 * takes keepConnection from the request itself. FR was set up with no
 * listening socket, so when the request is bad libfcgi closes the
 * connection and fails instead of accepting one itself.
 */
static int
cgi_accept(FCGX_Request *fr, int fd)
{
	fr->ipcFd = fd;
	fr->keepConnection = 1;
	fr->detached = 0;
	return FCGX_Accept_r(fr);
}

/*
 * Read what is left of the request's input, up to 64 KiB: true when all of
 * it was read. Closing a Unix socket with unread input resets the web
 * server's end (Apache's mod_proxy_fcgi then answers 503), so only a
 * drained connection may skip the lingering close.
 */
static int
cgi_drained(FCGX_Stream *in)
{
	char	 buf[4096];
	int	 n, total = 0;

	while (FCGX_HasSeenEOF(in) != EOF && total < 64 * 1024) {
		if ((n = FCGX_GetStr(buf, sizeof(buf), in)) <= 0)
			break;
		total += n;
	}
	return FCGX_HasSeenEOF(in) == EOF;
}

/*
 * FastCGI: wait until requests are whole on their connections (cgi/conn.c),
 * hand them to libfcgi, serve them as a group, answer. A connection whose
 * input was read to its end is closed without libfcgi's lingering close
 * (shutdown, then wait up to 2 s for the web server to close first):
 * nothing can be lost there, and the wait cost a sleep per request; one
 * whose request was not whole (a body past max_body) is closed at once too,
 * as its client may keep sending. A connection libfcgi keeps
 * (FCGI_KEEP_CONN) goes back to wait for its next request. SIGTERM, SIGINT
 * or SIGUSR1 stop the loop once the group being served is answered.
 */
static void
cgi_fastcgi(const struct config *cfg)
{
	struct sigaction sa;
	struct slot	*s;
	struct conns	*cs;
	struct store	*rd = NULL, *wr = NULL;
	struct checkpointer *ckpt = NULL;
	char		*cause = NULL;
	int		 fds[CGI_GROUP_MAX], whole[CGI_GROUP_MAX];
	int		 i, j, n, fl;

	if (FCGX_Init() != 0)
		fatalx("FCGX_Init failed");
	if ((fl = fcntl(0, F_GETFL)) == -1 ||
	    fcntl(0, F_SETFL, fl | O_NONBLOCK) == -1)
		fatal("fcntl");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = cgi_sig;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	cs = conn_new(0, cfg);
	if ((s = calloc(CGI_GROUP_MAX, sizeof(*s))) == NULL)
		fatal("calloc");
	for (i = 0; i < CGI_GROUP_MAX; i++)
		FCGX_InitRequest(&s[i].fr, -1, 0);
	while (!cgi_quit) {
		if ((j = conn_wait(cs, fds, whole, CGI_GROUP_MAX)) == 0)
			continue;
		for (i = 0, n = 0; i < j; i++) {
			if (cgi_accept(&s[n].fr, fds[i]) < 0)
				continue;	/* libfcgi closed it */
			s[n].whole = whole[i];
			cgi_request(&s[n].req, cfg, s[n].fr.envp, s[n].fr.in,
			    s[n].fr.out);
			s[n].req.buffered = 1;
			request_preread(&s[n].req);
			n++;
		}
		if (n == 0)
			continue;
		if (wr == NULL && cgi_store(cfg, &wr) != NULL &&
		    (ckpt = checkpoint_start(wr, &cause)) == NULL) {
			log_warnx("store: %s", cause);
			free(cause);
			cause = NULL;
		}
		cgi_group(cfg, s, n, cgi_store(cfg, &rd), wr);
		for (i = 0; i < n; i++) {
			reply_flush(&s[i].req);
			cgi_request_free(&s[i].req);
			if (!s[i].whole) {
				s[i].fr.keepConnection = 0;
				FCGX_Detach(&s[i].fr);
			} else if (cgi_drained(s[i].fr.in))
				FCGX_Detach(&s[i].fr);
			FCGX_Finish_r(&s[i].fr);
			if (s[i].fr.ipcFd >= 0) {
				conn_keep(cs, s[i].fr.ipcFd);
				s[i].fr.ipcFd = -1;
			}
		}
	}
	free(s);
	conn_free(cs);
	checkpoint_stop(ckpt, wr);
	store_close(rd);
	store_close(wr);
}

int
main(int argc, char *argv[])
{
	struct config	*cfg;
	const char	*conffile = NULL;
	char		*cause = NULL;
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

	/*
	 * No global memory statistics: with them every SQLite allocation
	 * takes one process-wide mutex, which the threads then fight over.
	 */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);

	cfg = config_new();
	if (config_load(cfg, conffile, &cause) == -1)
		fatalx("%s", cause);

	if (FCGX_IsCGI())
		cgi_plain(cfg);
	else
		cgi_fastcgi(cfg);
	config_free(cfg);
	return 0;
}
