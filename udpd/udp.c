/*
 * udp.c: the one UDP socket of goip-udpd, its allow list, and the batch.
 *
 * Every datagram waiting when the socket turns readable is read (up to
 * UDP_BATCH), parsed and handled inside one group transaction
 * (lib/group.c): one commit for the batch, and no acknowledgement leaves
 * before the commit that holds what it acknowledges. Replies are queued
 * during the batch and sent after group_end(); those that acknowledge a
 * write are dropped when the commit fails (the device sends again).
 *
 * Only sources inside goip_allow are read at all; a reply only ever goes
 * to the source of the datagram it answers (after the line behind it
 * authenticated, or to say it did not) or to a line's latest source.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "goip.h"
#include "udpd.h"

#define UDP_BATCH	64	/* datagrams read and committed together */
#define UDP_REPLIES	(UDP_BATCH * 2)	/* replies queued by one batch */
#define UDP_ALLOW_MAX	32	/* networks in goip_allow */
#define UDP_RCVBUF	(1024 * 1024)	/* bytes the kernel may queue */
#define UDP_BAD_EVERY	1000	/* ms between two bad-packet log lines */

/* A network of goip_allow. */
struct udp_net {
	int		 family;
	uint8_t		 addr[16];
	int		 bits;
};

/* A reply queued during a batch. */
struct udp_out {
	struct sockaddr_storage	 to;
	socklen_t		 tolen;
	int			 durable;	/* acknowledges a write */
	size_t			 len;
	char			 buf[PACKET_VALUE_MAX * 2];
};

static int		 udp_fd = -1;
static struct event	*udp_ev;
static struct udp_net	 udp_nets[UDP_ALLOW_MAX];
static int		 udp_nnets;
static int		 udp_batching;
static struct udp_out	*udp_outq;
static int		 udp_nout;
static int64_t		 udp_bad_last;	/* ms of the last bad-packet line */
static int64_t		 udp_bad_quiet;	/* dropped since, not logged */

/*
 * Parse goip_allow ("NET[/BITS] ..." of IPv4 and IPv6 networks; empty
 * allows nothing). Returns 0, or -1 with *cause naming the bad entry.
 */
int
udp_allow_parse(const char *list, char **cause)
{
	const char	*p = list, *one;
	char		 buf[INET6_ADDRSTRLEN + 8], *slash, *end;
	size_t		 len;
	long		 bits;
	struct udp_net	*n;

	udp_nnets = 0;
	while ((one = config_list_next(&p, &len)) != NULL) {
		if (len >= sizeof(buf) || udp_nnets == UDP_ALLOW_MAX) {
			xasprintf(cause, "goip_allow: too long or too many");
			return -1;
		}
		memcpy(buf, one, len);
		buf[len] = '\0';
		n = &udp_nets[udp_nnets];
		memset(n, 0, sizeof(*n));
		if ((slash = strchr(buf, '/')) != NULL)
			*slash++ = '\0';
		if (inet_pton(AF_INET, buf, n->addr) == 1) {
			n->family = AF_INET;
			n->bits = 32;
		} else if (inet_pton(AF_INET6, buf, n->addr) == 1) {
			n->family = AF_INET6;
			n->bits = 128;
		} else {
			xasprintf(cause, "goip_allow: %s: not an address", buf);
			return -1;
		}
		if (slash != NULL) {
			bits = strtol(slash, &end, 10);
			if (*slash == '\0' || *end != '\0' || bits < 0 ||
			    bits > n->bits) {
				xasprintf(cause, "goip_allow: %s/%s: bad prefix "
				    "length", buf, slash);
				return -1;
			}
			n->bits = (int)bits;
		}
		udp_nnets++;
	}
	return 0;
}

/* Whether the first BITS bits of A and B are equal. */
static int
udp_prefix_equal(const uint8_t *a, const uint8_t *b, int bits)
{
	int	full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((a[full] ^ b[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

/* Whether source SA is inside goip_allow (IPv4-mapped IPv6 as IPv4). */
int
udp_allowed(const struct sockaddr *sa)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	const uint8_t			*a;
	int				 family, i;

	if (sa->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)sa;
		a = (const uint8_t *)&sin->sin_addr;
		family = AF_INET;
	} else if (sa->sa_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)sa;
		a = sin6->sin6_addr.s6_addr;
		family = AF_INET6;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			a += 12;
			family = AF_INET;
		}
	} else
		return 0;
	for (i = 0; i < udp_nnets; i++)
		if (udp_nets[i].family == family &&
		    udp_prefix_equal(a, udp_nets[i].addr, udp_nets[i].bits))
			return 1;
	return 0;
}

/* Write SA as "HOST:PORT" ("[HOST]:PORT" for IPv6) to BUF. */
int
udp_addr_format(const struct sockaddr *sa, socklen_t len, char *buf,
    size_t sz)
{
	char	host[INET6_ADDRSTRLEN], port[8];

	if (getnameinfo(sa, len, host, sizeof(host), port, sizeof(port),
	    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		return -1;
	if (snprintf(buf, sz, sa->sa_family == AF_INET6 ? "[%s]:%s" :
	    "%s:%s", host, port) >= (int)sz)
		return -1;
	return 0;
}

/* The length of socket address SA, by its family. */
static socklen_t
udp_salen(const struct sockaddr *sa)
{
	return sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in);
}

/*
 * A datagram from SA was dropped for WHY: one log line a second at most,
 * with the number dropped silently since the last.
 */
void
udp_bad(const struct sockaddr *sa, const char *why)
{
	char	addr[64] = "?";
	int64_t	now = util_mono_ms();

	if (now - udp_bad_last < UDP_BAD_EVERY && udp_bad_last != 0) {
		udp_bad_quiet++;
		return;
	}
	if (sa != NULL)
		udp_addr_format(sa, udp_salen(sa), addr, sizeof(addr));
	log_info("udp: %s: dropped: %s (%lld more dropped before)", addr, why,
	    (long long)udp_bad_quiet);
	udp_bad_last = now;
	udp_bad_quiet = 0;
}

/* Send BUF (LEN bytes) to TO now; a full socket buffer drops it. */
static void
udp_sendto(const struct sockaddr *to, socklen_t tolen, const char *buf,
    size_t len)
{
	if (sendto(udp_fd, buf, len, MSG_DONTWAIT, to, tolen) == -1 &&
	    errno != EAGAIN && errno != EWOULDBLOCK)
		log_warn("udp: sendto");
}

/*
 * Reply BUF (LEN bytes) to TO: at once outside a batch, else after its
 * commit; a DURABLE reply (it acknowledges a write) is dropped when the
 * commit fails. One that does not fit the queue (it cannot happen: a
 * datagram queues one short reply at most) is sent at once, or dropped
 * when durable: never an acknowledgement before its commit.
 */
void
udp_reply(const struct sockaddr *to, socklen_t tolen, int durable,
    const char *buf, size_t len)
{
	struct udp_out	*o;

	if (!udp_batching || udp_nout == UDP_REPLIES ||
	    len > sizeof(o->buf)) {
		if (!udp_batching || !durable)
			udp_sendto(to, tolen, buf, len);
		else
			log_warnx("udp: reply queue full, answer dropped");
		return;
	}
	o = &udp_outq[udp_nout++];
	memcpy(&o->to, to, tolen);
	o->tolen = tolen;
	o->durable = durable;
	memcpy(o->buf, buf, len);
	o->len = len;
}

/* udp_reply() of a formatted reply. */
void
udp_replyf(const struct sockaddr *to, socklen_t tolen, int durable,
    const char *fmt, ...)
{
	va_list	 ap;
	char	 buf[PACKET_VALUE_MAX * 2];
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		log_warnx("udp: reply too long, not sent");
		return;
	}
	udp_reply(to, tolen, durable, buf, (size_t)n);
}

/* Send BUF to line P's latest source, at once (server-started packets). */
void
udp_send(const struct peer *p, const char *buf, size_t len)
{
	udp_sendto((const struct sockaddr *)&p->addr, p->addrlen, buf, len);
}

/*
 * The socket is readable: read up to UDP_BATCH datagrams and handle them
 * in one group transaction, then send the replies the commit allows and
 * ring the notifier.
 */
static void
udp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sockaddr_storage	 from;
	socklen_t		 fromlen;
	struct packet		 pk;
	char			 buf[PACKET_MAX + 2], *cause = NULL;
	const char		*why;
	int64_t			 evid0 = udpd.evid;
	enum store_rc		 rc;
	ssize_t			 n;
	int			 i, count = 0;

	(void)what;
	(void)arg;
	udp_nout = 0;
	udp_batching = 1;
	group_start(udpd.st);
	for (count = 0; count < UDP_BATCH; count++) {
		fromlen = sizeof(from);
		n = recvfrom(fd, buf, PACKET_MAX + 1, MSG_DONTWAIT,
		    (struct sockaddr *)&from, &fromlen);
		if (n == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				log_warn("udp: recvfrom");
			break;
		}
		if (!udp_allowed((struct sockaddr *)&from)) {
			udp_bad((struct sockaddr *)&from, "source not in "
			    "goip_allow");
			continue;
		}
		if (packet_parse(buf, (size_t)n, &pk, &why) == -1) {
			udp_bad((struct sockaddr *)&from, why);
			continue;
		}
		if (pk.kind == PACKET_FIELDS)
			inbound_packet(&pk, (struct sockaddr *)&from, fromlen);
		else
			outbound_answer(&pk, (struct sockaddr *)&from, fromlen);
	}
	rc = group_end(udpd.st, &cause);
	if (rc != STORE_OK) {
		log_warnx("udp: commit: %s", cause != NULL ? cause : "failed");
		free(cause);
	}
	udp_batching = 0;
	for (i = 0; i < udp_nout; i++)
		if (rc == STORE_OK || !udp_outq[i].durable)
			udp_sendto((struct sockaddr *)&udp_outq[i].to,
			    udp_outq[i].tolen, udp_outq[i].buf,
			    udp_outq[i].len);
	udp_nout = 0;
	if (rc == STORE_OK && udpd.evid != evid0)
		evlog_notify(udpd.cfg->notify_socket, udpd.evid);
}

/*
 * Bind ADDRESS ("HOST:PORT", "[V6]:PORT") and read it from the event loop;
 * ALLOW is goip_allow. Returns 0, or -1 with *cause.
 */
int
udp_listen(const char *address, const char *allow, char **cause)
{
	struct addrinfo	 hints, *res = NULL;
	char		*copy, *host, *port;
	int		 error, sz = UDP_RCVBUF;

	if (udp_allow_parse(allow, cause) == -1)
		return -1;
	copy = xstrdup(address);
	if (copy[0] == '[' && (port = strstr(copy, "]:")) != NULL) {
		host = copy + 1;
		*port = '\0';
		port += 2;
	} else if ((port = strrchr(copy, ':')) != NULL) {
		host = copy;
		*port++ = '\0';
	} else {
		xasprintf(cause, "goip_listen = %s: not HOST:PORT", address);
		free(copy);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV | AI_NUMERICHOST;
	if ((error = getaddrinfo(*host == '\0' ? NULL : host, port, &hints,
	    &res)) != 0) {
		xasprintf(cause, "goip_listen = %s: %s", address,
		    gai_strerror(error));
		free(copy);
		return -1;
	}
	free(copy);
	udp_fd = socket(res->ai_family, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	/*
	 * No SO_REUSEADDR: UDP has no TIME_WAIT to wait out, and with it a
	 * second goip-udpd would share the port and take half the packets.
	 */
	if (udp_fd == -1 || bind(udp_fd, res->ai_addr,
	    res->ai_addrlen) == -1) {
		xasprintf(cause, "goip_listen = %s: %s", address,
		    strerror(errno));
		freeaddrinfo(res);
		if (udp_fd != -1)
			close(udp_fd);
		udp_fd = -1;
		return -1;
	}
	freeaddrinfo(res);
	/* A bigger queue rides out a commit that waits on a busy store. */
	if (setsockopt(udp_fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)) == -1)
		log_warn("udp: SO_RCVBUF");
	udp_outq = xcalloc(UDP_REPLIES, sizeof(*udp_outq));
	udp_ev = event_new(udpd.base, udp_fd, EV_READ | EV_PERSIST,
	    udp_read_cb, NULL);
	if (udp_ev == NULL || event_add(udp_ev, NULL) == -1) {
		xasprintf(cause, "event_add");
		return -1;
	}
	return 0;
}

/* Write the address the socket is bound to (port 0 resolved) to BUF. */
int
udp_local(char *buf, size_t sz)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);

	if (getsockname(udp_fd, (struct sockaddr *)&ss, &len) == -1)
		return -1;
	return udp_addr_format((struct sockaddr *)&ss, len, buf, sz);
}

/* Stop reading and close the socket. */
void
udp_close(void)
{
	if (udp_ev != NULL)
		event_free(udp_ev);
	udp_ev = NULL;
	if (udp_fd != -1)
		close(udp_fd);
	udp_fd = -1;
	free(udp_outq);
	udp_outq = NULL;
}
