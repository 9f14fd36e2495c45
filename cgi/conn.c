/*
 * conn.c: the FastCGI connections of goip-cgi, from accept to the moment a
 * whole request is waiting on one of them.
 *
 * libfcgi reads a request with blocking reads, and goip-cgi serves requests
 * in groups, so one client sending its body slowly (Apache's mod_proxy_fcgi
 * streams bodies as they come) would hold every request behind it. Here
 * every connection is accepted by goip-cgi itself and kept in a pending set,
 * watched with epoll, until the whole FastCGI request (FCGI_BEGIN_REQUEST,
 * its FCGI_PARAMS and FCGI_STDIN up to their empty end records) is in the
 * kernel's socket buffer, which is read with MSG_PEEK and left in place.
 * Only then is it handed to libfcgi (FCGX_Accept_r on the open connection),
 * whose reads then never wait. A connection whose request is not whole
 * after body_timeout is answered 408 and closed; one whose request does not
 * fit the peek buffer (max_body plus CONN_SLACK) is answered 413 and closed;
 * one whose body already exceeds max_body is handed over at once (the
 * handler answers 413 from CONTENT_LENGTH without reading on). A kept
 * connection (FCGI_KEEP_CONN, Apache's enablereuse) comes back through
 * conn_keep() and waits for its next request like a new one.
 *
 * The pending connections are watched edge-triggered: the peeked bytes stay
 * in the socket, so level-triggered readiness would report them again and
 * again. Linux wakes an edge-triggered socket on every arrival, not only the
 * first. While a request is incomplete, FIONREAD tells whether the next
 * record can be whole before anything is peeked again, so a client that
 * drips one byte at a time costs one ioctl per drip, not a copy of all it
 * sent so far.
 *
 * Cost on the fast path (the request whole when it is accepted, as
 * lighttpd sends it): one recv(MSG_PEEK) per request more than libfcgi's
 * own reads, and one epoll_wait per group instead of one poll.
 *
 * Known limit: the whole request must fit in what the kernel queues on the
 * connection. For a Unix socket that is bounded by the web server's send
 * buffer (net.core.wmem_default, about 208 KiB, less for a body sent in many
 * small records), not by anything goip-cgi can set; for TCP the listening
 * socket's SO_RCVBUF is raised to the peek buffer's size, within
 * net.core.rmem_max. A max_body above that makes such bodies time out (408).
 *
 * Since libfcgi's own accept is not used, its FCGI_WEB_SERVER_ADDRS check
 * is done here, the same way: a comma-separated list of IPv4 addresses in
 * the environment; a TCP peer not in it is closed at once. Unix-socket
 * peers are not checked (libfcgi does not either).
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "goip.h"
#include "cgi.h"

#define CONN_SLACK	(256 * 1024)	/* peek room past max_body */
#define CONN_PENDING_MAX 4096		/* connections waiting at once */
#define CONN_EVENTS	64
#define CONN_ADDRS_MAX	64		/* FCGI_WEB_SERVER_ADDRS entries */

/* FastCGI record types and header size (FastCGI 1.0, section 8). */
#define FCGI_HDR	8
#define FCGI_BEGIN	1
#define FCGI_END	3
#define FCGI_PARAMS_T	4
#define FCGI_STDIN_T	5
#define FCGI_STDOUT_T	6

enum conn_state {
	CONN_FREE,		/* no connection on this descriptor */
	CONN_PENDING,		/* its request is arriving */
	CONN_READY,		/* its request is whole, not yet handed over */
	CONN_SERVING		/* libfcgi owns it */
};

struct conn {
	TAILQ_ENTRY(conn) entry;	/* in pending or ready */
	int		 fd;
	enum conn_state	 state;
	int		 watched;	/* registered with epoll */
	int		 whole;		/* READY with every record in */
	int		 begun;		/* FCGI_BEGIN_REQUEST seen */
	int		 reqid;
	int64_t		 deadline;	/* monotonic ms */
	size_t		 parsed;	/* bytes of whole records walked */
	size_t		 need;		/* bytes to have before peeking again */
	size_t		 body;		/* FCGI_STDIN content so far */
};
TAILQ_HEAD(connq, conn);

struct conns {
	int		 lfd;
	int		 epfd;
	int64_t		 timeout;	/* body_timeout, ms */
	size_t		 max_body;
	char		*buf;		/* the peek buffer */
	size_t		 bufsz;
	struct conn	**tab;		/* indexed by descriptor */
	size_t		 ntab;
	struct connq	 pending;	/* by deadline: all share one timeout */
	struct connq	 ready;
	size_t		 npending;
	int		 listening;	/* the listening socket is watched */
	struct in_addr	 allow[CONN_ADDRS_MAX]; /* FCGI_WEB_SERVER_ADDRS */
	size_t		 nallow;	/* 0: every peer */
};

/*
 * Read FCGI_WEB_SERVER_ADDRS into CS. An entry that is not an IPv4 address
 * is warned about and skipped, as libfcgi skips it; a list whose entries
 * are all bad admits nobody over TCP rather than everybody.
 */
static void
conn_addrs(struct conns *cs)
{
	const char	*env, *p, *e;
	char		 one[INET_ADDRSTRLEN];
	size_t		 len;
	int		 any = 0;

	if ((env = getenv("FCGI_WEB_SERVER_ADDRS")) == NULL)
		return;
	for (p = env; *p != '\0'; p = *e == ',' ? e + 1 : e) {
		p += strspn(p, " \t");
		e = p + strcspn(p, ",");
		len = (size_t)(e - p);
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == 0)
			continue;
		any = 1;
		if (len >= sizeof(one) || cs->nallow == CONN_ADDRS_MAX) {
			log_warnx("cgi: FCGI_WEB_SERVER_ADDRS: entry skipped");
			continue;
		}
		memcpy(one, p, len);
		one[len] = '\0';
		if (inet_pton(AF_INET, one, &cs->allow[cs->nallow]) != 1) {
			log_warnx("cgi: FCGI_WEB_SERVER_ADDRS: \"%s\" is not "
			    "an IPv4 address", one);
			continue;
		}
		cs->nallow++;
	}
	if (any && cs->nallow == 0) {
		/* 0.0.0.0 never connects: nobody over TCP. */
		cs->allow[0].s_addr = htonl(INADDR_ANY);
		cs->nallow = 1;
	}
}

/* True when the peer of SA may talk to us (FCGI_WEB_SERVER_ADDRS). */
static int
conn_peer_ok(const struct conns *cs, const struct sockaddr_storage *sa)
{
	const struct sockaddr_in	*sin;
	size_t				 i;

	if (cs->nallow == 0 || sa->ss_family != AF_INET)
		return 1;
	sin = (const struct sockaddr_in *)sa;
	for (i = 0; i < cs->nallow; i++)
		if (cs->allow[i].s_addr == sin->sin_addr.s_addr)
			return 1;
	return 0;
}

/*
 * Set up the pending set on the listening socket LFD (non-blocking) for
 * CFG's max_body and body_timeout. Start-up only: failures are fatal.
 */
struct conns *
conn_new(int lfd, const struct config *cfg)
{
	struct conns		*cs;
	struct epoll_event	 ev;
	int			 sz;

	cs = xcalloc(1, sizeof(*cs));
	cs->lfd = lfd;
	cs->timeout = cfg->body_timeout;
	cs->max_body = (size_t)cfg->max_body;
	cs->bufsz = cs->max_body + CONN_SLACK;
	cs->buf = xmalloc(cs->bufsz);
	TAILQ_INIT(&cs->pending);
	TAILQ_INIT(&cs->ready);
	if ((cs->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		fatal("epoll_create1");
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.fd = -1;
	if (epoll_ctl(cs->epfd, EPOLL_CTL_ADD, lfd, &ev) == -1)
		fatal("epoll_ctl");
	cs->listening = 1;
	conn_addrs(cs);
	/* Inherited by accepted TCP connections; no effect on Unix ones. */
	sz = (int)cs->bufsz;
	(void)setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	return cs;
}

/* Free the set and close every connection it still holds. */
void
conn_free(struct conns *cs)
{
	size_t	 i;

	if (cs == NULL)
		return;
	for (i = 0; i < cs->ntab; i++) {
		if (cs->tab[i] != NULL && (cs->tab[i]->state == CONN_PENDING ||
		    cs->tab[i]->state == CONN_READY))
			close(cs->tab[i]->fd);
		free(cs->tab[i]);
	}
	close(cs->epfd);
	free(cs->tab);
	free(cs->buf);
	free(cs);
}

/*
 * The entry for descriptor FD, the table grown to hold it; NULL when out of
 * memory. Entries are allocated one by one so that growing the table never
 * moves one that is queued.
 */
static struct conn *
conn_slot(struct conns *cs, int fd)
{
	struct conn	**t;
	size_t		  n;

	if ((size_t)fd >= cs->ntab) {
		n = cs->ntab == 0 ? 64 : cs->ntab;
		while (n <= (size_t)fd)
			n *= 2;
		if ((t = reallocarray(cs->tab, n, sizeof(*t))) == NULL)
			return NULL;
		memset(t + cs->ntab, 0, (n - cs->ntab) * sizeof(*t));
		cs->tab = t;
		cs->ntab = n;
	}
	if (cs->tab[fd] == NULL &&
	    (cs->tab[fd] = calloc(1, sizeof(**cs->tab))) == NULL)
		return NULL;
	return cs->tab[fd];
}

/* The entry of descriptor FD, or NULL when it has none. */
static struct conn *
conn_find(struct conns *cs, int fd)
{
	return fd >= 0 && (size_t)fd < cs->ntab ? cs->tab[fd] : NULL;
}

/* Close C, pending, without an answer. */
static void
conn_close(struct conns *cs, struct conn *c)
{
	if (c->state == CONN_PENDING) {
		TAILQ_REMOVE(&cs->pending, c, entry);
		cs->npending--;
	}
	close(c->fd);
	c->state = CONN_FREE;
}

/*
 * Answer the request on C with STATUS and a JSON error MSG, written without
 * blocking (what does not fit is dropped), then close C.
 */
static void
conn_refuse(struct conns *cs, struct conn *c, int status, const char *msg)
{
	char	 out[512];
	int	 n;
	size_t	 len = FCGI_HDR;

	if (c->begun) {
		n = snprintf(out + FCGI_HDR, sizeof(out) - 3 * FCGI_HDR - 8,
		    "Status: %d %s\r\nContent-Type: application/json\r\n"
		    "Cache-Control: no-store\r\n\r\n{\"error\":\"%s\"}\n",
		    status, reply_reason(status), msg);
		if (n > 0 && (size_t)n < sizeof(out) - 3 * FCGI_HDR - 8) {
			/* STDOUT, empty STDOUT, END_REQUEST (complete). */
			memset(out, 0, FCGI_HDR);
			out[0] = 1;
			out[1] = FCGI_STDOUT_T;
			out[2] = (char)(c->reqid >> 8);
			out[3] = (char)c->reqid;
			out[4] = (char)(n >> 8);
			out[5] = (char)n;
			len += (size_t)n;
			memcpy(out + len, out, 4);
			memset(out + len + 4, 0, 4);
			len += FCGI_HDR;
			memcpy(out + len, out, 4);
			out[len + 1] = FCGI_END;
			memset(out + len + 4, 0, 4);
			out[len + 5] = 8;
			len += FCGI_HDR;
			memset(out + len, 0, 8);
			len += 8;
			(void)send(c->fd, out, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		}
	}
	log_info("cgi: request refused (%d): %s", status, msg);
	conn_close(cs, c);
}

/* C's request can be handed over: WHOLE when every record is in. */
static void
conn_ready(struct conns *cs, struct conn *c, int whole)
{
	TAILQ_REMOVE(&cs->pending, c, entry);
	cs->npending--;
	c->state = CONN_READY;
	c->whole = whole;
	TAILQ_INSERT_TAIL(&cs->ready, c, entry);
}

/*
 * Walk the records of the LEN bytes peeked from C, from where the last walk
 * stopped. Returns 1 when the request is whole, 2 when its body already
 * exceeds max_body, 0 when more must come (C->need set), -1 on a record
 * that is not FastCGI.
 */
static int
conn_parse(struct conn *c, const unsigned char *p, size_t len,
    size_t max_body)
{
	size_t	 off = c->parsed, clen, rlen;
	int	 type, id;

	while (off + FCGI_HDR <= len) {
		if (p[off] != 1)
			return -1;
		type = p[off + 1];
		id = (p[off + 2] << 8) | p[off + 3];
		clen = ((size_t)p[off + 4] << 8) | p[off + 5];
		rlen = FCGI_HDR + clen + p[off + 6];
		if (off + rlen > len) {
			c->parsed = off;
			c->need = off + rlen;
			return 0;
		}
		off += rlen;
		if (type == FCGI_BEGIN && !c->begun && id != 0) {
			c->begun = 1;
			c->reqid = id;
		} else if (type == FCGI_STDIN_T && c->begun && id == c->reqid) {
			if (clen == 0) {
				c->parsed = off;
				return 1;
			}
			if ((c->body += clen) > max_body) {
				c->parsed = off;
				return 2;
			}
		}
	}
	c->parsed = off;
	c->need = off + FCGI_HDR;
	return 0;
}

/*
 * Look at what has arrived on pending connection C: move it to the ready
 * queue when its request is whole, refuse or close it when it cannot be,
 * or watch it for more. HUP: the peer may have closed its end.
 */
static void
conn_try(struct conns *cs, struct conn *c, int hup)
{
	struct epoll_event	 ev;
	ssize_t			 n;
	int			 avail;

	if (!hup && c->parsed > 0 && ioctl(c->fd, FIONREAD, &avail) == 0 &&
	    (size_t)avail < c->need && (size_t)avail < cs->bufsz)
		goto watch;
	n = recv(c->fd, cs->buf, cs->bufsz, MSG_PEEK | MSG_DONTWAIT);
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != EINTR)) {
		conn_close(cs, c);
		return;
	}
	if (n > 0)
		switch (conn_parse(c, (unsigned char *)cs->buf, (size_t)n,
		    cs->max_body)) {
		case 1:
			conn_ready(cs, c, 1);
			return;
		case 2:
			conn_ready(cs, c, 0);
			return;
		case -1:
			conn_close(cs, c);
			return;
		default:
			if ((size_t)n >= cs->bufsz || c->need > cs->bufsz) {
				conn_refuse(cs, c, 413,
				    "request too large");
				return;
			}
		}
 watch:
	if (!c->watched) {
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
		ev.data.fd = c->fd;
		if (epoll_ctl(cs->epfd, EPOLL_CTL_ADD, c->fd, &ev) == -1) {
			log_warn("cgi: epoll_ctl");
			conn_close(cs, c);
			return;
		}
		c->watched = 1;
	}
}

/* Make FD, open, a pending connection; WATCHED if epoll knows it already. */
static void
conn_add(struct conns *cs, int fd, int watched)
{
	struct conn	*c;

	if ((c = conn_slot(cs, fd)) == NULL) {
		log_warnx("cgi: out of memory for a connection");
		close(fd);
		return;
	}
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->watched = watched;
	c->state = CONN_PENDING;
	c->deadline = util_mono_ms() + cs->timeout;
	TAILQ_INSERT_TAIL(&cs->pending, c, entry);
	cs->npending++;
	conn_try(cs, c, 0);
}

/*
 * A connection libfcgi kept open (FCGI_KEEP_CONN) after its request: it
 * waits for its next request in the pending set.
 */
void
conn_keep(struct conns *cs, int fd)
{
	struct conn	*c;
	int		 watched;

	c = conn_find(cs, fd);
	watched = c != NULL && c->state == CONN_SERVING && c->watched;
	conn_add(cs, fd, watched);
}

/* Accept every connection waiting, up to the pending bound. */
static void
conn_accept(struct conns *cs)
{
	struct epoll_event	 ev;
	struct sockaddr_storage	 sa;
	socklen_t		 salen;
	int			 fd;

	while (cs->npending < CONN_PENDING_MAX) {
		salen = sizeof(sa);
		memset(&sa, 0, sizeof(sa));
		if ((fd = accept4(cs->lfd, (struct sockaddr *)&sa, &salen,
		    SOCK_CLOEXEC)) == -1) {
			if (errno == ECONNABORTED || errno == EPROTO ||
			    errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("cgi: accept");
			return;
		}
		if (!conn_peer_ok(cs, &sa)) {
			log_info("cgi: peer not in FCGI_WEB_SERVER_ADDRS");
			close(fd);
			continue;
		}
		/* A fresh descriptor: anything epoll knew of it was closed. */
		conn_add(cs, fd, 0);
	}
	/* Full: stop watching the listening socket until there is room. */
	memset(&ev, 0, sizeof(ev));
	if (cs->listening && epoll_ctl(cs->epfd, EPOLL_CTL_DEL, cs->lfd,
	    &ev) == 0)
		cs->listening = 0;
}

/*
 * Refuse the pending connections whose deadline has passed (408); close
 * the ones on which no request began (a kept connection left idle).
 */
static void
conn_expire(struct conns *cs, int64_t now)
{
	struct conn	*c;

	while ((c = TAILQ_FIRST(&cs->pending)) != NULL && c->deadline <= now) {
		if (c->begun)
			conn_refuse(cs, c, 408, "request not complete in time");
		else
			conn_close(cs, c);	/* an idle kept connection */
	}
}

/*
 * Wait until at least one whole request is waiting (or a signal came), and
 * put up to MAX of their descriptors in FDS, WHOLE[i] telling whether every
 * record of the request is in. Libfcgi owns them from now on; one it keeps
 * open comes back through conn_keep(). Returns how many (0 after a signal).
 */
int
conn_wait(struct conns *cs, int *fds, int *whole, int max)
{
	struct epoll_event	 evs[CONN_EVENTS], ev;
	struct conn		*c;
	int64_t			 now;
	int			 i, n, timeout;

	for (;;) {
		if (!cs->listening && cs->npending < CONN_PENDING_MAX) {
			memset(&ev, 0, sizeof(ev));
			ev.events = EPOLLIN;
			ev.data.fd = -1;
			if (epoll_ctl(cs->epfd, EPOLL_CTL_ADD, cs->lfd,
			    &ev) == 0)
				cs->listening = 1;
		}
		if (!TAILQ_EMPTY(&cs->ready))
			timeout = 0;
		else if ((c = TAILQ_FIRST(&cs->pending)) != NULL) {
			now = util_mono_ms();
			timeout = c->deadline <= now ? 0 :
			    (int)(c->deadline - now);
		} else
			timeout = -1;
		if ((n = epoll_wait(cs->epfd, evs, CONN_EVENTS,
		    timeout)) == -1) {
			if (errno == EINTR)
				return 0;
			fatal("epoll_wait");
		}
		for (i = 0; i < n; i++) {
			if (evs[i].data.fd == -1) {
				conn_accept(cs);
				continue;
			}
			c = conn_find(cs, evs[i].data.fd);
			if (c != NULL && c->state == CONN_PENDING)
				conn_try(cs, c, (evs[i].events &
				    (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0);
		}
		conn_expire(cs, util_mono_ms());
		for (n = 0; n < max && (c = TAILQ_FIRST(&cs->ready)) != NULL;
		    n++) {
			TAILQ_REMOVE(&cs->ready, c, entry);
			c->state = CONN_SERVING;
			fds[n] = c->fd;
			whole[n] = c->whole;
		}
		if (n > 0)
			return n;
	}
}
