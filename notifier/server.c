/*
 * server.c: the notifier's connections, apart from what they speak (as
 * OpenBSD httpd's server.c is apart from server_http.c). It listens (TCP,
 * or a Unix socket made by sock.c), accepts within max_connections and
 * max_per_address, keeps every connection on one list, reads and writes
 * it through the protocol of its state (a table: http.c, then ws.c once
 * upgraded), lingers while a closing connection flushes, and is the one
 * file that frees a connection.
 *
 * A layer that keeps a pointer to a connection (a session's pending poll
 * or WebSocket, eio_poll.c and eio_ws.c; a parked long-poll, events.c)
 * attaches with its gone hook (server_attach()). When the connection
 * closes or starts lingering first, server_detach() calls that hook once
 * and the holder lets go; a holder that lets go by itself first calls
 * server_release(). Protocol layers ask for a close (server_close(),
 * server_linger()); they never free.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <assert.h>
#include <errno.h>
#include <malloc.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "goip.h"
#include "notifier.h"

#define SERVER_TRIM_DROP	512	/* gone before a heap trim */
#define SERVER_LINGER_S		10	/* a closing one flushes */

struct server_listener {
	TAILQ_ENTRY(server_listener)	 entry;
	struct evconnlistener		*lev;
	enum conn_kind			 kind;
	char				*path;	/* Unix socket */
};

static void	server_drain(struct conn *);
static void	server_drained(struct conn *);
static void	server_free(struct conn *);

/*
 * What arrived input and a drained output mean, by the connection's
 * state: the protocol that holds it reads and writes it.
 */
static const struct {
	void		(*read)(struct conn *);
	void		(*written)(struct conn *);
} server_states[CONN_STATE__MAX] = {
	[CONN_HTTP] = { http_read, NULL },
	[CONN_WS] = { ws_read, ws_written },
	[CONN_CLOSING] = { server_drain, server_drained },
};

static TAILQ_HEAD(, conn)		 server_conns_list =
    TAILQ_HEAD_INITIALIZER(server_conns_list);
static TAILQ_HEAD(, server_listener)	 server_listeners =
    TAILQ_HEAD_INITIALIZER(server_listeners);
static size_t				 server_nconns;
static size_t				 server_peak;	/* since a trim */
static int				 server_trim_pending;

static void	server_accept_cb(struct evconnlistener *, evutil_socket_t,
		    struct sockaddr *, int, void *);

/*
 * Is ADDR (a numeric host from getnameinfo(), or anything else for a
 * peer that is not on IP, such as a Unix socket) a local peer, that is
 * the reverse proxy? IPv4 127/8, ::1 and IPv4-mapped 127/8 are.
 */
int
server_addr_local(const char *addr)
{
	struct in_addr	 a4;
	struct in6_addr	 a6;

	if (inet_pton(AF_INET, addr, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, addr, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6) ||
		    (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
	return 1;
}

/*
 * Listen on the Unix socket PATH (mode 0660, group nconf.listen_gid; see
 * sock_unix()) for connections of KIND. Returns 0, or -1 with a warning
 * logged.
 */
static int
server_listen_unix(const char *path, enum conn_kind kind)
{
	struct server_listener	*sl;
	char			*cause = NULL;
	int			 fd;

	if ((fd = sock_unix(path, SOCK_STREAM, nconf.listen_uid,
	    nconf.listen_gid, &cause)) == -1) {
		log_warnx("server: %s", cause);
		free(cause);
		return -1;
	}
	sl = xcalloc(1, sizeof(*sl));
	sl->kind = kind;
	sl->path = xstrdup(path);
	/* A backlog of 0: sock_unix() called listen() already. */
	sl->lev = evconnlistener_new(notifier_base, server_accept_cb, sl,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (sl->lev == NULL) {
		log_warn("server: listen %s", path);
		close(fd);
		unlink(path);
		free(sl->path);
		free(sl);
		return -1;
	}
	TAILQ_INSERT_TAIL(&server_listeners, sl, entry);
	return 0;
}

/*
 * Listen on ADDR ("host:port", "[v6]:port", or an absolute path: a Unix
 * socket) for connections of KIND, on every address the host resolves
 * to. Start-up only (it exits when memory is short). Returns 0, or -1
 * with a warning logged when no listener could be made.
 */
int
server_listen(const char *addr, enum conn_kind kind)
{
	struct addrinfo		 hints, *res, *ai;
	struct server_listener	*sl;
	char			*host, *port, *copy;
	int			 error, n = 0;

	if (addr[0] == '/')
		return server_listen_unix(addr, kind);
	copy = xstrdup(addr);
	if (copy[0] == '[') {
		host = copy + 1;
		if ((port = strchr(host, ']')) == NULL || port[1] != ':') {
			log_warnx("server: bad listen address %s", addr);
			free(copy);
			return -1;
		}
		*port = '\0';
		port += 2;
	} else {
		host = copy;
		if ((port = strrchr(copy, ':')) == NULL) {
			log_warnx("server: bad listen address %s", addr);
			free(copy);
			return -1;
		}
		*port++ = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((error = getaddrinfo(*host == '\0' ? NULL : host, port, &hints,
	    &res)) != 0) {
		log_warnx("server: %s: %s", addr, gai_strerror(error));
		free(copy);
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		sl = xcalloc(1, sizeof(*sl));
		sl->kind = kind;
		sl->lev = evconnlistener_new_bind(notifier_base,
		    server_accept_cb, sl, LEV_OPT_CLOSE_ON_FREE |
		    LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 1024,
		    ai->ai_addr, ai->ai_addrlen);
		if (sl->lev == NULL) {
			log_warn("server: listen %s", addr);
			free(sl);
			continue;
		}
		TAILQ_INSERT_TAIL(&server_listeners, sl, entry);
		n++;
	}
	freeaddrinfo(res);
	free(copy);
	return n > 0 ? 0 : -1;
}

/*
 * Stop listening; connections already open stay. A Unix socket's file is
 * removed when we still may (after dropping privileges we may not: the
 * next start replaces it, see sock_unix()).
 */
void
server_shutdown(void)
{
	struct server_listener	*sl;

	while ((sl = TAILQ_FIRST(&server_listeners)) != NULL) {
		TAILQ_REMOVE(&server_listeners, sl, entry);
		evconnlistener_free(sl->lev);
		if (sl->path != NULL && unlink(sl->path) == -1)
			log_debug("server: unlink %s: %s", sl->path,
			    strerror(errno));
		free(sl->path);
		free(sl);
	}
}

/*
 * May one more connection of KIND from HOST be taken? max_connections
 * bounds all of them; max_per_address those of one address, except a
 * local peer's (the Unix socket, or loopback): that is the reverse proxy,
 * carrying everyone's, whose clients are told apart by X-Forwarded-For
 * and capped per session (eio.c). The metrics listener is not bounded.
 */
static int
server_limits_ok(enum conn_kind kind, const char *host)
{
	struct conn	*o;
	int64_t		 same = 0;

	if (kind != CONN_MAIN)
		return 1;
	if (nconf.max_connections > 0 &&
	    (int64_t)server_nconns >= nconf.max_connections)
		return 0;
	if (nconf.max_per_address <= 0 || server_addr_local(host))
		return 1;
	TAILQ_FOREACH(o, &server_conns_list, entry) {
		if (strcmp(o->addr, host) == 0)
			same++;
	}
	return same < nconf.max_per_address;
}

static void
server_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct server_listener	*sl = arg;
	struct conn		*c;
	char			 host[NI_MAXHOST];

	(void)lev;
	if (sl->path != NULL)
		strlcpy(host, "unix", sizeof(host));
	else if (getnameinfo(sa, salen, host, sizeof(host), NULL, 0,
	    NI_NUMERICHOST) != 0)
		strlcpy(host, "?", sizeof(host));
	if (!server_limits_ok(sl->kind, host)) {
		metrics.rejected++;
		evutil_closesocket(fd);
		return;
	}
	if ((c = server_conn_new(fd, sl->kind, host)) == NULL)
		evutil_closesocket(fd);
	else
		c->local = sl->path != NULL;
}

static void
server_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;

	(void)bev;
	c->inuse++;
	server_states[c->state].read(c);
	c->inuse--;
	if (c->dead && c->inuse == 0)
		server_free(c);
}

/* The bufferevent wrote all of C's output. */
static void
server_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;

	(void)bev;
	if (server_states[c->state].written != NULL)
		server_states[c->state].written(c);
}

static void
server_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn	*c = arg;

	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		server_close(c);
}

/*
 * Make the connection of KIND from client ADDR on the connected socket FD
 * and start reading HTTP requests from it (http_start()). Returns the
 * connection, owned by server.c (freed through server_close()), or NULL
 * with FD left open. The listener calls it on each accept; the fuzzing
 * harnesses on one end of a socket pair.
 */
struct conn *
server_conn_new(int fd, enum conn_kind kind, const char *addr)
{
	struct conn	*c;
	struct timeval	 tv;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->kind = kind;
	c->state = CONN_HTTP;
	strlcpy(c->addr, addr, sizeof(c->addr));
	if (http_start(c) == -1) {
		free(c);
		return NULL;
	}
	c->bev = bufferevent_socket_new(notifier_base, fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		http_end(c);
		free(c);
		return NULL;
	}
	bufferevent_setcb(c->bev, server_read_cb, server_write_cb,
	    server_event_cb, c);
	tv.tv_sec = NOTIFIER_IDLE_MS / 1000;
	tv.tv_usec = 0;
	bufferevent_set_timeouts(c->bev, &tv, NULL);
	/* What one request may buffer: its headers and body, and slack. */
	bufferevent_setwatermark(c->bev, EV_READ, 0,
	    NOTIFIER_HEADERS_MAX + nconf.max_payload + 4096);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	TAILQ_INSERT_TAIL(&server_conns_list, c, entry);
	if (++server_nconns > server_peak)
		server_peak = server_nconns;
	metrics.conns_total++;
	metrics.conns_open++;
	return c;
}

/*
 * Close every connection at once, without flushing (fuzzing, shutdown).
 * Closing one may close others (its session's), so the walk restarts.
 */
void
server_close_all(void)
{
	struct conn	*c, *cn;

	for (;;) {
		TAILQ_FOREACH(c, &server_conns_list, entry) {
			if (!c->dead)
				break;
		}
		if (c == NULL)
			break;
		server_close(c);
	}
	TAILQ_FOREACH_SAFE(c, &server_conns_list, entry, cn) {
		if (c->inuse == 0)
			server_free(c);
	}
}

/*
 * C is now held by a layer that points at it (a session's poll or
 * WebSocket, a parked long-poll): GONE is called once, by
 * server_detach(), should C close or start lingering before the holder
 * lets go of it (server_release()). C must not be held already.
 */
void
server_attach(struct conn *c, void (*gone)(struct conn *))
{
	assert(c->gone == NULL);
	c->gone = gone;
}

/* The holder of C lets go of it by itself: its gone hook is not called. */
void
server_release(struct conn *c)
{
	c->gone = NULL;
}

/*
 * The one way a connection leaves its holder: call the holder's gone
 * hook, once (it is cleared first, so the hook may close C). A no-op for
 * a connection nobody holds.
 */
void
server_detach(struct conn *c)
{
	void	(*gone)(struct conn *);

	if ((gone = c->gone) == NULL)
		return;
	c->gone = NULL;
	gone(c);
}

/*
 * Stop reading requests or messages on C, detach it from its holder,
 * flush its output (for at most SERVER_LINGER_S seconds) and close it.
 */
void
server_linger(struct conn *c)
{
	struct timeval	tv = { SERVER_LINGER_S, 0 };

	if (c->dead)
		return;
	server_detach(c);
	if (c->dead)
		return;
	c->state = CONN_CLOSING;
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	/* A WebSocket wrote its own output (ws.c); now the bufferevent does. */
	bufferevent_enable(c->bev, EV_WRITE);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		server_close(c);
}

/* A lingering connection discards what still arrives. */
static void
server_drain(struct conn *c)
{
	struct evbuffer	*in = bufferevent_get_input(c->bev);

	evbuffer_drain(in, evbuffer_get_length(in));
}

/* A lingering connection wrote its last byte: it closes. */
static void
server_drained(struct conn *c)
{
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		server_close(c);
}

/*
 * The one way a connection ends: detach it from its holder and free it
 * now or, when one of its callbacks is on the stack, when that returns.
 * Safe to call twice.
 */
void
server_close(struct conn *c)
{
	if (c->dead)
		return;
	c->dead = 1;
	server_detach(c);
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	if (c->inuse == 0)
		server_free(c);
}

/*
 * Give the heap back to the system a second after many connections went:
 * glibc keeps freed memory below its top, and a burst of thousands of
 * clients that leave would otherwise stay resident.
 */
static void
server_trim_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	server_trim_pending = 0;
	server_peak = server_nconns;
	malloc_trim(0);
}

/* Free C and what its protocols kept: the end of server_close(). */
static void
server_free(struct conn *c)
{
	struct timeval	tv = { 1, 0 };

	assert(c->dead && c->inuse == 0 && c->gone == NULL);
	TAILQ_REMOVE(&server_conns_list, c, entry);
	server_nconns--;
	if (!server_trim_pending &&
	    server_peak >= server_nconns + SERVER_TRIM_DROP &&
	    event_base_once(notifier_base, -1, EV_TIMEOUT, server_trim_cb,
	    NULL, &tv) == 0)
		server_trim_pending = 1;
	metrics.conns_open--;
	ws_free(c);
	http_end(c);
	bufferevent_free(c->bev);
	free(c);
}
