/*
 * goipsim.c: a GoIP GSM gateway simulator, the device side of the vendor's
 * plain-text UDP "SMS server" protocol, written from the public sources
 * named in issue 13 (the vendor's "GoIP SMS Interface" PDF, goip-cron's
 * goipcron.c, goip-bridge's CHANGELOG and the captured packets of
 * dbltek-goip-agent's notify_test.go).  It drives goip-udpd in
 * tests/goip_protocol_test.sh, tests/udpd_test.sh and bench/goip/run.sh.
 *
 *   goipsim -s HOST:PORT [-a BINDADDR] [-k KEEPALIVE_MS] [-r RETRANSMIT_MS]
 *       [-w WAIT_MS] ID:PASSWORD ...
 *   goipsim -b -n LINES -d SECONDS -s HOST:PORT -P PREFIX -W PASSWORD
 *       [-a BINDADDR] [-k KEEPALIVE_MS] [-o OFFSET] [-R RATE]
 *       [-r RETRANSMIT_MS]
 *
 * Every line (SIM slot) of the command line sends from one UDP socket, so
 * all lines share one source address as the lines of one GoIP do behind
 * NAT.  With -k above 0 each line sends a keepalive at start and every -k
 * milliseconds after (default 30000, as the device); -k 0 sends none.
 *
 * Commands, one per line on stdin (LINE is the 1-based index of the line
 * on the command line; end of input is "quit"):
 *
 *   keepalive LINE [key:value ...]   one req: packet; the values of num,
 *                                    signal, gsm_status, voip_status, pro,
 *                                    imei, imsi and iccid given here stay
 *                                    the line's from then on
 *   receive LINE RECVID SRCNUM TEXT  one RECEIVE (TEXT runs to the end of
 *                                    the line), sent again every -r ms
 *                                    (default 3000) at most 3 times until
 *                                    the server acknowledges it
 *   reboot LINE                      the req: counter goes back to 1 and
 *                                    the line forgets its unacknowledged
 *                                    packets, as a power cycle does
 *   deliver LINE SMSNO STATE         one unsolicited DELIVER, sent again
 *                                    like a RECEIVE until acknowledged
 *   raw TEXT                         TEXT as one datagram, verbatim
 *   echo TEXT                        print "echo TEXT": every command
 *                                    before it has been carried out and
 *                                    every datagram received before it
 *                                    handled
 *   mode KEY VALUE                   drop N, wait 0|1, waitms MS,
 *                                    oktokens 3|4, deliver none|after|before,
 *                                    senderr N (-1: off), ussd TEXT
 *   quit
 *
 * One line on stdout per event, fields separated by one space, any text
 * last; control bytes and backslashes in text are escaped as \n, \r, \t,
 * \\ and \xNN so that an event is always exactly one line:
 *
 *   reg LINE SEQ STATUS                  the server's reg: answer
 *   ack LINE RECVID                      a RECEIVE acknowledged
 *   send LINE SENDID TELID NUMBER TEXT   one SEND datagram (one per
 *                                        datagram: a test counts duplicates)
 *   done LINE SENDID                     the server closed a session
 *   ussd LINE SENDID CODE                one USSD datagram
 *   drop TEXT                            a datagram ignored by "mode drop"
 *   echo TEXT                            the answer to "echo TEXT"
 *   rx LINE TEXT                         any other server datagram (LINE 0
 *                                        when it names no line)
 *   error TEXT                           a protocol violation seen
 *
 * The device's side of sending: MSG sendid len text -> "PASSWORD sendid";
 * PASSWORD sendid pw -> "SEND sendid" (the password names the line, since
 * MSG does not); SEND sendid telid number -> "OK sendid telid [sms_no]",
 * "WAIT sendid telid" then OK -w ms later, or "ERROR sendid telid
 * errorstatus:N"; DONE sendid ends the session.  USSD sendid pw code ->
 * "USSD sendid reply" with the vendor's '@' padding.  Every SEND is a new
 * SMS on the air, exactly as on the device, so a server that answers WAIT
 * with another SEND shows as two "send" events.
 *
 * Bench mode (-b) runs LINES lines named PREFIX1..PREFIXn, all with the
 * password PASSWORD, for SECONDS seconds.  Without -R (closed loop) each
 * line keeps one keepalive and one RECEIVE in flight and sends the next as
 * soon as the previous is answered (the lines start spread over the first
 * second): the rates are what the server sustains, and the latency is
 * that of a saturated server.  With -R (open
 * loop) the lines send RATE RECEIVEs a second in all, each line one every
 * LINES / RATE seconds, and a keepalive every -k ms (default 30000), their
 * first packets spread evenly over one period: the latency is that of a
 * server at that load.  Then it prints one line:
 *
 *   lines=N seconds=S offered_receives/s=RATE keepalives/s=K
 *   receives/s=R ack_p50_ms=A ack_p99_ms=B ack_max_ms=C keepalives=K
 *   receives=R retransmits=T unacked=U
 *
 * (answers counted; RECEIVE ack latency from its first transmission;
 * retransmits counts RECEIVEs sent again and, closed loop, keepalives left
 * unanswered for -r ms).  So that answers on the shared socket name their
 * line, line i counts its req: numbers and recvids from i * 1000000 +
 * OFFSET (-o, default 0, at most 500000): a second run on the same
 * database with another OFFSET sends recvids the server has not seen.
 *
 * Bounds: at most SIM_SESSIONS_MAX open sessions (the oldest is dropped
 * with an error), commands of at most SIM_CMD_MAX bytes, one datagram read
 * of at most SIM_PKT_MAX bytes.  The simulator trusts the server no more
 * than a device would: packets from any other address are reported and
 * ignored.
 */
#define _GNU_SOURCE
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#define SIM_PKT_MAX		65536	/* one datagram read */
#define SIM_CMD_MAX		16384	/* one stdin command */
#define SIM_TOKEN_MAX		64	/* id, password, sendid, telid... */
#define SIM_FIELD_MAX		64	/* one keepalive value */
#define SIM_MSG_MAX		3000	/* MSG text, bytes */
#define SIM_SENDS		4	/* one send and 3 retransmits */
#define SIM_SESSIONS_MAX	64
#define SIM_USSD_PAD		"@@@@@@@@"
#define SIM_BENCH_STRIDE	1000000
#define SIM_BENCH_RAMP_US	1000000	/* closed loop: the lines' start */
#define SIM_READS_PER_TURN	256

enum sim_deliver {
	SIM_DELIVER_NONE,
	SIM_DELIVER_AFTER,
	SIM_DELIVER_BEFORE
};

/* A RECEIVE or DELIVER waiting for its "TYPE n OK". */
struct sim_pending {
	TAILQ_ENTRY(sim_pending)	 entry;
	struct sim_line			*line;
	const char			*type;
	int64_t				 id;
	char				*pkt;
	size_t				 len;
	int				 sent;
	struct timespec			 first;
	struct event			*ev;
};
TAILQ_HEAD(sim_pendings, sim_pending);

/* The keepalive fields a command may change, by name. */
struct sim_fields {
	char	num[SIM_FIELD_MAX];
	char	signal[SIM_FIELD_MAX];
	char	gsm_status[SIM_FIELD_MAX];
	char	voip_status[SIM_FIELD_MAX];
	char	pro[SIM_FIELD_MAX];
	char	imei[SIM_FIELD_MAX];
	char	imsi[SIM_FIELD_MAX];
	char	iccid[SIM_FIELD_MAX];
};

struct sim_line {
	int			 index;		/* 1-based, as in argv */
	char			 id[SIM_TOKEN_MAX];
	char			 pass[SIM_TOKEN_MAX];
	int64_t			 req;		/* number of the next req: */
	int64_t			 req_wait;	/* req: unanswered, or -1 */
	struct sim_fields	 f;
	int64_t			 sms_no;
	struct sim_pendings	 pending;
	struct event		*keepalive_ev;
	int64_t			 recvid;	/* bench: the next RECEIVE */
	struct event		*tick_ev;	/* bench -R: the next RECEIVE */
};

/* One MSG or USSD session, from its first datagram to DONE. */
struct sim_session {
	TAILQ_ENTRY(sim_session)	 entry;
	char				 sendid[SIM_TOKEN_MAX];
	char				*text;
	struct sim_line			*line;	/* NULL until PASSWORD */
	char				 telid[SIM_TOKEN_MAX];
	char				 number[SIM_TOKEN_MAX];
	int64_t				 sms_no;
	struct event			*ok_ev;	/* the OK after a WAIT */
};
TAILQ_HEAD(sim_sessions, sim_session);

struct sim_bench {
	uint64_t		 keepalives;
	uint64_t		 receives;
	uint64_t		 retransmits;
	uint64_t		 unacked;
	uint32_t		*lat;		/* microseconds */
	size_t			 nlat;
	size_t			 latcap;
	struct timespec		 start;
	int			 seconds;
	long			 rate;		/* RECEIVEs/s, 0: closed loop */
	int64_t			 offset;	/* -o: first in each stride */
	int64_t			 tick_us;	/* open loop: a line's period */
};

struct sim {
	struct event_base	*base;
	int			 fd;
	struct sockaddr_storage	 server;
	socklen_t		 serverlen;
	struct event		*sock_ev;
	struct event		*stdin_ev;
	struct event		*stop_ev;
	char			*cmd;
	size_t			 cmdlen;
	int			 cmd_overflow;
	struct sim_line		*lines;
	size_t			 nlines;
	int			 keepalive_ms;
	int			 retransmit_ms;
	int			 wait_ms;
	int64_t			 notify;	/* n of our DELIVER: packets */

	/* mode switches */
	int			 drop;
	int			 wait;
	int			 oktokens;
	enum sim_deliver	 deliver;
	long			 senderr;	/* -1: off */
	char			 ussd[512];

	struct sim_sessions	 sessions;
	size_t			 nsessions;

	int			 bench;
	struct sim_bench	 b;
};

static struct sim sim;

static void	sim_keepalive(struct sim_line *);
static void	sim_receive(struct sim_line *, int64_t, const char *,
		    const char *);
static void	sim_bench_receive(struct sim_line *);

static void __attribute__((__noreturn__, __format__(__printf__, 1, 2)))
sim_fatal(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	fputs("goipsim: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void __attribute__((__noreturn__))
sim_usage(void)
{
	fprintf(stderr, "usage: goipsim -s host:port [-a bindaddr] "
	    "[-k keepalive_ms] [-r retransmit_ms] [-w wait_ms]\n"
	    "       id:password ...\n"
	    "       goipsim -b -n lines -d seconds -s host:port -P prefix "
	    "-W password [-a bindaddr] [-k keepalive_ms] [-o offset] "
	    "[-R rate] [-r retransmit_ms]\n");
	exit(2);
}

static void *
sim_calloc(size_t n, size_t size)
{
	void	*p;

	if ((p = calloc(n, size)) == NULL)
		sim_fatal("out of memory");
	return p;
}

static struct event *
sim_timer(event_callback_fn cb, void *arg)
{
	struct event	*ev;

	if ((ev = evtimer_new(sim.base, cb, arg)) == NULL)
		sim_fatal("evtimer_new failed");
	return ev;
}

static void
sim_arm(struct event *ev, int ms)
{
	struct timeval	tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(ev, &tv);
}

static void
sim_arm_us(struct event *ev, int64_t us)
{
	struct timeval	tv;

	tv.tv_sec = us / 1000000;
	tv.tv_usec = us % 1000000;
	evtimer_add(ev, &tv);
}

static int64_t
sim_us_since(const struct timespec *t0)
{
	struct timespec	now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)(now.tv_sec - t0->tv_sec) * 1000000 +
	    (now.tv_nsec - t0->tv_nsec) / 1000;
}

/* Write LEN bytes of S with control bytes and backslashes escaped. */
static void
sim_puttext(const char *s, size_t len)
{
	size_t		 i;
	unsigned char	 c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c == '\n')
			fputs("\\n", stdout);
		else if (c == '\r')
			fputs("\\r", stdout);
		else if (c == '\t')
			fputs("\\t", stdout);
		else if (c == '\\')
			fputs("\\\\", stdout);
		else if (c < 0x20 || c == 0x7f)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
}

/* One event line: the printf-formatted head, then TEXT escaped, if any. */
static void __attribute__((__format__(__printf__, 3, 4)))
sim_event(const char *text, size_t len, const char *fmt, ...)
{
	va_list	ap;

	if (sim.bench)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (text != NULL) {
		putchar(' ');
		sim_puttext(text, len);
	}
	putchar('\n');
}

static void __attribute__((__format__(__printf__, 1, 2)))
sim_error(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	if (sim.bench) {
		fputs("goipsim: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	} else {
		fputs("error ", stdout);
		vprintf(fmt, ap);
		putchar('\n');
	}
	va_end(ap);
}

static void
sim_sendto(const char *pkt, size_t len)
{
	if (sendto(sim.fd, pkt, len, 0, (struct sockaddr *)&sim.server,
	    sim.serverlen) == -1)
		sim_error("sendto: %s", strerror(errno));
}

static void __attribute__((__format__(__printf__, 1, 2)))
sim_sendf(const char *fmt, ...)
{
	char	 buf[SIM_CMD_MAX + 512];
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		sim_error("packet too long to send");
		return;
	}
	sim_sendto(buf, n);
}

/*
 * Parse "HOST:PORT" or "[V6]:PORT" (or HOST alone when port_optional) into
 * SS.  Numeric addresses only: the simulator stays on the addresses it is
 * given.  Returns 0, or -1.
 */
static int
sim_parse_addr(const char *spec, int port_optional,
    struct sockaddr_storage *ss, socklen_t *sslen)
{
	char		 host[256];
	const char	*port = NULL, *p;
	struct addrinfo	 hints, *res;
	size_t		 n;

	if (spec[0] == '[') {
		if ((p = strchr(spec, ']')) == NULL)
			return -1;
		n = p - spec - 1;
		if (p[1] == ':')
			port = p + 2;
		else if (p[1] != '\0')
			return -1;
		spec++;
	} else if ((p = strrchr(spec, ':')) != NULL &&
	    strchr(spec, ':') == p) {
		n = p - spec;
		port = p + 1;
	} else
		n = strlen(spec);
	if (n >= sizeof(host) || (port == NULL && !port_optional))
		return -1;
	memcpy(host, spec, n);
	host[n] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if (getaddrinfo(host, port == NULL ? "0" : port, &hints, &res) != 0)
		return -1;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sslen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static int
sim_same_addr(const struct sockaddr_storage *a, socklen_t alen)
{
	const struct sockaddr_in	*a4, *b4;
	const struct sockaddr_in6	*a6, *b6;

	if (alen != sim.serverlen || a->ss_family != sim.server.ss_family)
		return 0;
	if (a->ss_family == AF_INET) {
		a4 = (const struct sockaddr_in *)a;
		b4 = (const struct sockaddr_in *)&sim.server;
		return a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	}
	a6 = (const struct sockaddr_in6 *)a;
	b6 = (const struct sockaddr_in6 *)&sim.server;
	return a6->sin6_port == b6->sin6_port &&
	    memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof(a6->sin6_addr)) == 0;
}

/*
 * Split S in place at single spaces into at most MAX tokens; with REST not
 * NULL the last token is not split further and runs to the end.  Returns
 * the number of tokens.
 */
static int
sim_split(char *s, char **tok, int max, int rest)
{
	int	 n = 0;
	char	*sp;

	while (n < max) {
		tok[n++] = s;
		if (rest && n == max)
			break;
		if ((sp = strchr(s, ' ')) == NULL)
			break;
		*sp = '\0';
		s = sp + 1;
	}
	return n;
}

/* A protocol token: 1 to SIM_TOKEN_MAX - 1 printable bytes, no space. */
static int
sim_token_ok(const char *s)
{
	size_t	n = 0;

	for (; *s != '\0'; s++, n++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f || *s == ';')
			return 0;
	return n > 0 && n < SIM_TOKEN_MAX;
}

static int
sim_int64(const char *s, int64_t *v)
{
	char		*end;
	long long	 l;

	if (*s == '\0')
		return -1;
	errno = 0;
	l = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*v = l;
	return 0;
}

/*
 * Find the value of KEY in a "TYPE:n;key:value;..." packet P of LEN bytes,
 * fields split on ';' and each on its first ':'.  Returns a pointer into P
 * and the value's length in *VLEN, or NULL.
 */
static const char *
sim_field(const char *p, size_t len, const char *key, size_t *vlen)
{
	const char	*end = p + len, *f, *fe, *colon;
	size_t		 klen = strlen(key);

	for (f = p; f < end; f = fe + 1) {
		if ((fe = memchr(f, ';', end - f)) == NULL)
			fe = end;
		colon = memchr(f, ':', fe - f);
		if (colon != NULL && (size_t)(colon - f) == klen &&
		    memcmp(f, key, klen) == 0) {
			*vlen = fe - colon - 1;
			return colon + 1;
		}
	}
	return NULL;
}

static struct sim_line *
sim_line_arg(const char *s)
{
	int64_t	i;

	if (sim_int64(s, &i) == -1 || i < 1 || (uint64_t)i > sim.nlines) {
		sim_error("no line %s", s);
		return NULL;
	}
	return &sim.lines[i - 1];
}

static struct sim_line *
sim_line_by_pass(const char *pass)
{
	size_t	i;

	for (i = 0; i < sim.nlines; i++)
		if (strcmp(sim.lines[i].pass, pass) == 0)
			return &sim.lines[i];
	return NULL;
}

/* The line whose req: SEQ waits for its answer, the first if several. */
static struct sim_line *
sim_line_by_req(int64_t seq)
{
	size_t	i;

	if (sim.bench) {
		i = seq / SIM_BENCH_STRIDE - 1;
		if (i < sim.nlines && sim.lines[i].req_wait == seq)
			return &sim.lines[i];
		return NULL;
	}
	for (i = 0; i < sim.nlines; i++)
		if (sim.lines[i].req_wait == seq)
			return &sim.lines[i];
	return NULL;
}

static struct sim_pending *
sim_pending_find(const char *type, int64_t id)
{
	struct sim_pending	*p;
	size_t			 i, lo = 0, hi = sim.nlines;

	if (sim.bench) {
		lo = id / SIM_BENCH_STRIDE - 1;
		if (lo >= sim.nlines)
			return NULL;
		hi = lo + 1;
	}
	for (i = lo; i < hi; i++)
		TAILQ_FOREACH(p, &sim.lines[i].pending, entry)
			if (p->id == id && strcmp(p->type, type) == 0)
				return p;
	return NULL;
}

static void
sim_pending_free(struct sim_pending *p)
{
	TAILQ_REMOVE(&p->line->pending, p, entry);
	event_free(p->ev);
	free(p->pkt);
	free(p);
}

static void
sim_pending_cb(int fd, short what, void *arg)
{
	struct sim_pending	*p = arg;
	struct sim_line		*line = p->line;
	int64_t			 id = p->id;

	(void)fd;
	(void)what;
	if (p->sent < SIM_SENDS) {
		sim_sendto(p->pkt, p->len);
		p->sent++;
		sim.b.retransmits++;
		sim_arm(p->ev, sim.retransmit_ms);
		return;
	}
	sim_error("%s %d %" PRId64 " unacknowledged after %d sends",
	    p->type, line->index, id, SIM_SENDS);
	sim.b.unacked++;
	sim_pending_free(p);
	if (sim.bench && sim.b.rate == 0)
		sim_bench_receive(line);
}

/*
 * Send PKT for LINE and keep sending it every -r ms, at most SIM_SENDS
 * times, until "TYPE ID OK" comes.  A packet of the same TYPE and ID still
 * waiting is replaced: the device has only one such slot.
 */
static void
sim_pending_send(struct sim_line *line, const char *type, int64_t id,
    const char *pkt, size_t len)
{
	struct sim_pending	*p;

	TAILQ_FOREACH(p, &line->pending, entry)
		if (p->id == id && strcmp(p->type, type) == 0) {
			sim_pending_free(p);
			break;
		}
	p = sim_calloc(1, sizeof(*p));
	p->line = line;
	p->type = type;
	p->id = id;
	if ((p->pkt = malloc(len)) == NULL)
		sim_fatal("out of memory");
	memcpy(p->pkt, pkt, len);
	p->len = len;
	p->ev = sim_timer(sim_pending_cb, p);
	TAILQ_INSERT_TAIL(&line->pending, p, entry);
	clock_gettime(CLOCK_MONOTONIC, &p->first);
	sim_sendto(p->pkt, p->len);
	p->sent = 1;
	sim_arm(p->ev, sim.retransmit_ms);
}

static void
sim_keepalive(struct sim_line *line)
{
	const struct sim_fields	*f = &line->f;

	line->req_wait = line->req++;
	sim_sendf("req:%" PRId64 ";id:%s;pass:%s;num:%s;signal:%s;"
	    "gsm_status:%s;voip_status:%s;voip_state:IDLE;remain_time:-1;"
	    "imei:%s;imsi:%s;iccid:%s;pro:%s;idle:1;disable_status:0;"
	    "SMS_LOGIN:N;SMB_LOGIN:;CELLINFO:LAC:FFFF,CELL ID:FFFF;CGATT:Y;",
	    line->req_wait, line->id, line->pass, f->num, f->signal,
	    f->gsm_status, f->voip_status, f->imei, f->imsi, f->iccid, f->pro);
}

static void
sim_receive(struct sim_line *line, int64_t recvid, const char *srcnum,
    const char *text)
{
	char	buf[SIM_CMD_MAX + 512];
	int	n;

	n = snprintf(buf, sizeof(buf),
	    "RECEIVE:%" PRId64 ";id:%s;password:%s;srcnum:%s;msg:%s",
	    recvid, line->id, line->pass, srcnum, text);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		sim_error("receive: packet too long");
		return;
	}
	sim_pending_send(line, "RECEIVE", recvid, buf, n);
}

static void
sim_deliver_send(struct sim_line *line, int64_t sms_no, const char *state,
    const char *number)
{
	char	buf[512];
	int	n;
	int64_t	id = ++sim.notify;

	n = snprintf(buf, sizeof(buf),
	    "DELIVER:%" PRId64 ";id:%s;password:%s;sms_no:%" PRId64
	    ";state:%s%s%s", id, line->id, line->pass, sms_no, state,
	    number != NULL ? ";num:" : "", number != NULL ? number : "");
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		sim_error("deliver: packet too long");
		return;
	}
	sim_pending_send(line, "DELIVER", id, buf, n);
}

/* Bench: the next RECEIVE of LINE, with the next recvid of its stride. */
static void
sim_bench_receive(struct sim_line *line)
{
	sim_receive(line, line->recvid++, "+48500000000", "bench");
}

/*
 * Bench -R: one RECEIVE every tick_us per line, whatever the answers.
 * Closed loop: the line's start, its first keepalive and RECEIVE.
 */
static void
sim_tick_cb(int fd, short what, void *arg)
{
	struct sim_line	*line = arg;

	(void)fd;
	(void)what;
	if (sim.b.rate == 0) {
		sim_keepalive(line);
		sim_arm(line->keepalive_ev, sim.retransmit_ms);
		sim_bench_receive(line);
		return;
	}
	sim_bench_receive(line);
	sim_arm_us(line->tick_ev, sim.b.tick_us);
}

static void
sim_keepalive_cb(int fd, short what, void *arg)
{
	struct sim_line	*line = arg;

	(void)fd;
	(void)what;
	if (sim.bench && sim.b.rate == 0) {
		/* The answer was lost: count it as such and go on. */
		sim.b.retransmits++;
		sim_keepalive(line);
		sim_arm(line->keepalive_ev, sim.retransmit_ms);
		return;
	}
	sim_keepalive(line);
	sim_arm(line->keepalive_ev, sim.keepalive_ms);
}

/* --- sessions --- */

static struct sim_session *
sim_session_find(const char *sendid)
{
	struct sim_session	*s;

	TAILQ_FOREACH(s, &sim.sessions, entry)
		if (strcmp(s->sendid, sendid) == 0)
			return s;
	return NULL;
}

static void
sim_session_free(struct sim_session *s)
{
	TAILQ_REMOVE(&sim.sessions, s, entry);
	sim.nsessions--;
	if (s->ok_ev != NULL)
		event_free(s->ok_ev);
	free(s->text);
	free(s);
}

static struct sim_session *
sim_session_new(const char *sendid, const char *text, size_t len)
{
	struct sim_session	*s;

	if (sim.nsessions >= SIM_SESSIONS_MAX) {
		s = TAILQ_FIRST(&sim.sessions);
		sim_error("more than %d open sessions: session %s dropped",
		    SIM_SESSIONS_MAX, s->sendid);
		sim_session_free(s);
	}
	s = sim_calloc(1, sizeof(*s));
	strlcpy(s->sendid, sendid, sizeof(s->sendid));
	s->text = sim_calloc(1, len + 1);
	memcpy(s->text, text, len);
	TAILQ_INSERT_TAIL(&sim.sessions, s, entry);
	sim.nsessions++;
	return s;
}

/* The device's "OK" for the last SEND of S, and a DELIVER after it. */
static void
sim_ok(struct sim_session *s)
{
	if (sim.oktokens == 3)
		sim_sendf("OK %s %s", s->sendid, s->telid);
	else
		sim_sendf("OK %s %s %" PRId64, s->sendid, s->telid, s->sms_no);
	if (sim.deliver == SIM_DELIVER_AFTER)
		sim_deliver_send(s->line, s->sms_no, "0", s->number);
}

static void
sim_ok_cb(int fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sim_ok(arg);
}

/* --- server datagrams, by their first word --- */

static void
sim_rx(int index, const char *pkt, size_t len)
{
	sim_event(pkt, len, "rx %d", index);
}

/* "reg:N;status:S;": the answer to a keepalive. */
static void
sim_pkt_reg(char *pkt, size_t len)
{
	const char	*v;
	char		 seq[32], status[32];
	size_t		 vlen;
	int64_t		 n;
	struct sim_line	*line;

	if ((v = sim_field(pkt, len, "reg", &vlen)) == NULL ||
	    vlen >= sizeof(seq)) {
		sim_error("bad reg: answer");
		return;
	}
	memcpy(seq, v, vlen);
	seq[vlen] = '\0';
	if ((v = sim_field(pkt, len, "status", &vlen)) == NULL ||
	    vlen >= sizeof(status) || sim_int64(seq, &n) == -1) {
		sim_error("bad reg: answer");
		return;
	}
	memcpy(status, v, vlen);
	status[vlen] = '\0';
	if ((line = sim_line_by_req(n)) == NULL) {
		sim_rx(0, pkt, len);
		return;
	}
	line->req_wait = -1;
	if (sim.bench) {
		sim.b.keepalives++;
		if (sim.b.rate == 0) {
			sim_keepalive(line);
			sim_arm(line->keepalive_ev, sim.retransmit_ms);
		}
		return;
	}
	sim_event(NULL, 0, "reg %d %s %s", line->index, seq, status);
}

/* "RECEIVE n OK" or "DELIVER n OK": an acknowledgement. */
static void
sim_pkt_ack(char *pkt, size_t len)
{
	char			 copy[128], *tok[3];
	struct sim_pending	*p;
	struct sim_line		*line;
	int64_t			 id, us;

	if (len >= sizeof(copy)) {
		sim_rx(0, pkt, len);
		return;
	}
	memcpy(copy, pkt, len);
	copy[len] = '\0';
	if (sim_split(copy, tok, 3, 1) != 3 || sim_int64(tok[1], &id) == -1 ||
	    (p = sim_pending_find(tok[0], id)) == NULL) {
		sim_rx(0, pkt, len);
		return;
	}
	line = p->line;
	if (strcmp(tok[2], "OK") != 0) {
		sim_rx(line->index, pkt, len);
		return;
	}
	if (sim.bench) {
		us = sim_us_since(&p->first);
		sim_pending_free(p);
		sim.b.receives++;
		if (sim.b.nlat == sim.b.latcap) {
			sim.b.latcap = sim.b.latcap == 0 ? 65536 :
			    sim.b.latcap * 2;
			sim.b.lat = reallocarray(sim.b.lat, sim.b.latcap,
			    sizeof(*sim.b.lat));
			if (sim.b.lat == NULL)
				sim_fatal("out of memory");
		}
		sim.b.lat[sim.b.nlat++] = us > UINT32_MAX ? UINT32_MAX : us;
		if (sim.b.rate == 0)
			sim_bench_receive(line);
		return;
	}
	if (strcmp(p->type, "RECEIVE") == 0)
		sim_event(NULL, 0, "ack %d %" PRId64, line->index, id);
	else
		sim_rx(line->index, pkt, len);
	sim_pending_free(p);
}

/* "MSG sendid len text": a new session; the device asks for the password. */
static void
sim_pkt_msg(char *pkt, size_t len)
{
	char			*tok[4], *text;
	size_t			 textlen, head;
	int64_t			 n;
	struct sim_session	*s;

	if (sim_split(pkt, tok, 4, 1) != 4 || !sim_token_ok(tok[1]) ||
	    sim_int64(tok[2], &n) == -1) {
		sim_error("bad MSG packet");
		return;
	}
	text = tok[3];
	head = text - pkt;
	textlen = len - head;
	if (n < 0 || n > SIM_MSG_MAX) {
		sim_error("MSG %s length %" PRId64 " out of 0..%d", tok[1], n,
		    SIM_MSG_MAX);
		return;
	}
	/* The vendor's server ends MSG with a newline the length omits. */
	if (textlen == (size_t)n + 1 && text[n] == '\n')
		textlen = n;
	if (textlen != (size_t)n) {
		sim_error("MSG %s length %" PRId64 " but %zu bytes of text",
		    tok[1], n, textlen);
		return;
	}
	if ((s = sim_session_find(tok[1])) != NULL)
		sim_session_free(s);
	sim_session_new(tok[1], text, textlen);
	sim_sendf("PASSWORD %s", tok[1]);
}

/* "PASSWORD sendid pw": the password names the line of the session. */
static void
sim_pkt_password(char *pkt, size_t len)
{
	char			*tok[3];
	struct sim_session	*s;
	struct sim_line		*line;

	(void)len;
	if (sim_split(pkt, tok, 3, 0) != 3) {
		sim_error("bad PASSWORD packet");
		return;
	}
	if ((s = sim_session_find(tok[1])) == NULL) {
		sim_error("PASSWORD for unknown session %s", tok[1]);
		return;
	}
	if ((line = sim_line_by_pass(tok[2])) == NULL) {
		sim_error("PASSWORD %s: wrong password", tok[1]);
		sim_sendf("ERROR %s PASSWORD", tok[1]);
		return;
	}
	s->line = line;
	sim_sendf("SEND %s", s->sendid);
}

/* "SEND sendid telid number": one SMS on the air. */
static void
sim_pkt_send(char *pkt, size_t len)
{
	char			*tok[4];
	struct sim_session	*s;

	(void)len;
	if (sim_split(pkt, tok, 4, 0) != 4 || !sim_token_ok(tok[2]) ||
	    !sim_token_ok(tok[3])) {
		sim_error("bad SEND packet");
		return;
	}
	if ((s = sim_session_find(tok[1])) == NULL || s->line == NULL) {
		sim_error("SEND for session %s without MSG and PASSWORD",
		    tok[1]);
		return;
	}
	sim_event(s->text, strlen(s->text), "send %d %s %s %s",
	    s->line->index, s->sendid, tok[2], tok[3]);
	if (sim.senderr >= 0) {
		sim_sendf("ERROR %s %s errorstatus:%ld", s->sendid, tok[2],
		    sim.senderr);
		return;
	}
	/* An OK still held back by WAIT goes out before the next SMS. */
	if (s->ok_ev != NULL && evtimer_pending(s->ok_ev, NULL)) {
		evtimer_del(s->ok_ev);
		sim_ok(s);
	}
	strlcpy(s->telid, tok[2], sizeof(s->telid));
	strlcpy(s->number, tok[3], sizeof(s->number));
	s->sms_no = ++s->line->sms_no;
	if (sim.deliver == SIM_DELIVER_BEFORE)
		sim_deliver_send(s->line, s->sms_no, "0", s->number);
	if (!sim.wait) {
		sim_ok(s);
		return;
	}
	sim_sendf("WAIT %s %s", s->sendid, s->telid);
	if (s->ok_ev == NULL)
		s->ok_ev = sim_timer(sim_ok_cb, s);
	sim_arm(s->ok_ev, sim.wait_ms);
}

/* "DONE sendid": the server closes the session. */
static void
sim_pkt_done(char *pkt, size_t len)
{
	char			*tok[2];
	struct sim_session	*s;
	char			 copy[SIM_TOKEN_MAX + 8];

	if (len >= sizeof(copy)) {
		sim_rx(0, pkt, len);
		return;
	}
	memcpy(copy, pkt, len + 1);
	if (sim_split(copy, tok, 2, 0) != 2 ||
	    (s = sim_session_find(tok[1])) == NULL) {
		sim_rx(0, pkt, len);
		return;
	}
	/* A held-back OK is still due: the device does not forget it. */
	if (s->ok_ev != NULL && evtimer_pending(s->ok_ev, NULL)) {
		evtimer_del(s->ok_ev);
		sim_ok(s);
	}
	sim_event(NULL, 0, "done %d %s", s->line != NULL ? s->line->index : 0,
	    s->sendid);
	sim_session_free(s);
}

/* "USSD sendid pw code", without a trailing newline. */
static void
sim_pkt_ussd(char *pkt, size_t len)
{
	char			*tok[4];
	struct sim_session	*s;
	struct sim_line		*line;

	if (len > 0 && pkt[len - 1] == '\n') {
		sim_error("USSD ends with a newline");
		pkt[--len] = '\0';
	}
	if (sim_split(pkt, tok, 4, 0) != 4 || !sim_token_ok(tok[1]) ||
	    !sim_token_ok(tok[3])) {
		sim_error("bad USSD packet");
		return;
	}
	if ((line = sim_line_by_pass(tok[2])) == NULL) {
		sim_error("USSD %s: wrong password", tok[1]);
		sim_sendf("USSDERROR %s PASSWORD", tok[1]);
		return;
	}
	sim_event(NULL, 0, "ussd %d %s %s", line->index, tok[1], tok[3]);
	if ((s = sim_session_find(tok[1])) == NULL)
		s = sim_session_new(tok[1], tok[3], strlen(tok[3]));
	s->line = line;
	sim_sendf("USSD %s %s%s", tok[1], sim.ussd, SIM_USSD_PAD);
}

static const struct sim_pkt_type {
	const char	*word;
	void		(*fn)(char *, size_t);
} sim_pkt_types[] = {
	{ "reg",	sim_pkt_reg },
	{ "RECEIVE",	sim_pkt_ack },
	{ "DELIVER",	sim_pkt_ack },
	{ "MSG",	sim_pkt_msg },
	{ "PASSWORD",	sim_pkt_password },
	{ "SEND",	sim_pkt_send },
	{ "DONE",	sim_pkt_done },
	{ "USSD",	sim_pkt_ussd },
};

/*
 * One datagram from the server, NUL-terminated at PKT[LEN].  The first
 * word (up to a space, or a ':' for "reg:") picks its handler; a trailing
 * newline is dropped except where the handler must see it (MSG, USSD).
 */
static void
sim_packet(char *pkt, size_t len)
{
	size_t	 i, w;

	if (memchr(pkt, '\0', len) != NULL) {
		sim_error("NUL byte in a server datagram");
		return;
	}
	w = strcspn(pkt, " :");
	for (i = 0; i < sizeof(sim_pkt_types) / sizeof(sim_pkt_types[0]);
	    i++) {
		if (strlen(sim_pkt_types[i].word) != w ||
		    memcmp(pkt, sim_pkt_types[i].word, w) != 0)
			continue;
		if (sim_pkt_types[i].fn != sim_pkt_msg &&
		    sim_pkt_types[i].fn != sim_pkt_ussd &&
		    len > 0 && pkt[len - 1] == '\n')
			pkt[--len] = '\0';
		sim_pkt_types[i].fn(pkt, len);
		return;
	}
	sim_rx(0, pkt, len);
}

static void
sim_sock_cb(int fd, short what, void *arg)
{
	static char		 buf[SIM_PKT_MAX + 1];
	struct sockaddr_storage	 from;
	socklen_t		 fromlen;
	ssize_t			 n;
	int			 i;

	(void)what;
	(void)arg;
	for (i = 0; i < SIM_READS_PER_TURN; i++) {
		fromlen = sizeof(from);
		n = recvfrom(fd, buf, SIM_PKT_MAX, 0,
		    (struct sockaddr *)&from, &fromlen);
		if (n == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				sim_error("recvfrom: %s", strerror(errno));
			break;
		}
		buf[n] = '\0';
		if (!sim_same_addr(&from, fromlen)) {
			sim_error("datagram from an address that is not the "
			    "server");
			continue;
		}
		if (sim.drop > 0) {
			sim.drop--;
			sim_event(buf, n, "drop");
			continue;
		}
		sim_packet(buf, n);
	}
	fflush(stdout);
}

/* --- stdin commands --- */

static const struct sim_field_name {
	const char	*name;
	size_t		 off;
} sim_field_names[] = {
	{ "num",		offsetof(struct sim_fields, num) },
	{ "signal",		offsetof(struct sim_fields, signal) },
	{ "gsm_status",		offsetof(struct sim_fields, gsm_status) },
	{ "voip_status",	offsetof(struct sim_fields, voip_status) },
	{ "pro",		offsetof(struct sim_fields, pro) },
	{ "imei",		offsetof(struct sim_fields, imei) },
	{ "imsi",		offsetof(struct sim_fields, imsi) },
	{ "iccid",		offsetof(struct sim_fields, iccid) },
};

/* "keepalive LINE [key:value ...]" */
static void
sim_cmd_keepalive(char *args)
{
	char			*tok[2], *kv, *colon;
	struct sim_line		*line;
	struct sim_fields	 f;
	size_t			 i, n;

	n = sim_split(args, tok, 2, 1);
	if ((line = sim_line_arg(tok[0])) == NULL)
		return;
	f = line->f;
	for (kv = n == 2 ? strtok(tok[1], " ") : NULL; kv != NULL;
	    kv = strtok(NULL, " ")) {
		if ((colon = strchr(kv, ':')) == NULL) {
			sim_error("keepalive: %s is not key:value", kv);
			return;
		}
		*colon++ = '\0';
		for (i = 0; i < sizeof(sim_field_names) /
		    sizeof(sim_field_names[0]); i++)
			if (strcmp(sim_field_names[i].name, kv) == 0)
				break;
		if (i == sizeof(sim_field_names) / sizeof(sim_field_names[0])) {
			sim_error("keepalive: unknown field %s", kv);
			return;
		}
		if (strchr(colon, ';') != NULL ||
		    strlcpy((char *)&f + sim_field_names[i].off, colon,
		    SIM_FIELD_MAX) >= SIM_FIELD_MAX) {
			sim_error("keepalive: bad value for %s", kv);
			return;
		}
	}
	line->f = f;
	sim_keepalive(line);
}

/* "receive LINE RECVID SRCNUM TEXT" */
static void
sim_cmd_receive(char *args)
{
	char		*tok[4];
	struct sim_line	*line;
	int64_t		 recvid;

	if (sim_split(args, tok, 4, 1) != 4) {
		sim_error("usage: receive LINE RECVID SRCNUM TEXT");
		return;
	}
	if ((line = sim_line_arg(tok[0])) == NULL)
		return;
	if (sim_int64(tok[1], &recvid) == -1) {
		sim_error("receive: bad recvid %s", tok[1]);
		return;
	}
	sim_receive(line, recvid, tok[2], tok[3]);
}

/* "reboot LINE" */
static void
sim_cmd_reboot(char *args)
{
	struct sim_line	*line;

	if ((line = sim_line_arg(args)) == NULL)
		return;
	line->req = 1;
	line->req_wait = -1;
	while (!TAILQ_EMPTY(&line->pending))
		sim_pending_free(TAILQ_FIRST(&line->pending));
}

/* "deliver LINE SMSNO STATE" */
static void
sim_cmd_deliver(char *args)
{
	char		*tok[3];
	struct sim_line	*line;
	int64_t		 sms_no;

	if (sim_split(args, tok, 3, 0) != 3) {
		sim_error("usage: deliver LINE SMSNO STATE");
		return;
	}
	if ((line = sim_line_arg(tok[0])) == NULL)
		return;
	if (sim_int64(tok[1], &sms_no) == -1 || !sim_token_ok(tok[2])) {
		sim_error("deliver: bad sms_no or state");
		return;
	}
	sim_deliver_send(line, sms_no, tok[2], NULL);
}

/* "raw TEXT" */
static void
sim_cmd_raw(char *args)
{
	sim_sendto(args, strlen(args));
}

/* "echo TEXT": print "echo TEXT", a mark in the output for a test. */
static void
sim_cmd_echo(char *args)
{
	sim_event(args, strlen(args), "echo");
}

/* "mode KEY VALUE" */
static void
sim_cmd_mode(char *args)
{
	char	*tok[2];
	int64_t	 n;
	int	 bad = 0;

	if (sim_split(args, tok, 2, 1) != 2) {
		sim_error("usage: mode KEY VALUE");
		return;
	}
	if (strcmp(tok[0], "ussd") == 0) {
		if (strlcpy(sim.ussd, tok[1], sizeof(sim.ussd)) >=
		    sizeof(sim.ussd))
			sim_error("mode ussd: reply too long");
		return;
	}
	if (strcmp(tok[0], "deliver") == 0) {
		if (strcmp(tok[1], "none") == 0)
			sim.deliver = SIM_DELIVER_NONE;
		else if (strcmp(tok[1], "after") == 0)
			sim.deliver = SIM_DELIVER_AFTER;
		else if (strcmp(tok[1], "before") == 0)
			sim.deliver = SIM_DELIVER_BEFORE;
		else
			sim_error("mode deliver: none, after or before");
		return;
	}
	if (sim_int64(tok[1], &n) == -1)
		bad = 1;
	else if (strcmp(tok[0], "drop") == 0 && n >= 0 && n <= INT_MAX)
		sim.drop = n;
	else if (strcmp(tok[0], "wait") == 0 && (n == 0 || n == 1))
		sim.wait = n;
	else if (strcmp(tok[0], "waitms") == 0 && n >= 0 && n <= 600000)
		sim.wait_ms = n;
	else if (strcmp(tok[0], "oktokens") == 0 && (n == 3 || n == 4))
		sim.oktokens = n;
	else if (strcmp(tok[0], "senderr") == 0 && n >= -1 && n <= 65535)
		sim.senderr = n;
	else
		bad = 1;
	if (bad)
		sim_error("mode: bad %s %s", tok[0], tok[1]);
}

static void
sim_cmd_quit(char *args)
{
	(void)args;
	event_base_loopbreak(sim.base);
}

static const struct sim_cmd {
	const char	*name;
	void		(*fn)(char *);
} sim_cmds[] = {
	{ "keepalive",	sim_cmd_keepalive },
	{ "receive",	sim_cmd_receive },
	{ "reboot",	sim_cmd_reboot },
	{ "deliver",	sim_cmd_deliver },
	{ "raw",	sim_cmd_raw },
	{ "echo",	sim_cmd_echo },
	{ "mode",	sim_cmd_mode },
	{ "quit",	sim_cmd_quit },
};

static void
sim_command(char *line)
{
	char	*args;
	size_t	 i;

	if (line[0] == '\0')
		return;
	if ((args = strchr(line, ' ')) != NULL)
		*args++ = '\0';
	else
		args = line + strlen(line);
	for (i = 0; i < sizeof(sim_cmds) / sizeof(sim_cmds[0]); i++)
		if (strcmp(sim_cmds[i].name, line) == 0) {
			sim_cmds[i].fn(args);
			return;
		}
	sim_error("unknown command %s", line);
}

/* Read stdin, run every complete line; end of input is "quit". */
static void
sim_stdin_cb(int fd, short what, void *arg)
{
	ssize_t	 n;
	char	*nl, *p;
	size_t	 used;

	(void)what;
	(void)arg;
	/*
	 * Datagrams that came before the command are handled before it: a
	 * test that sees the output of "echo" has seen theirs too.
	 */
	sim_sock_cb(sim.fd, EV_READ, NULL);
	n = read(fd, sim.cmd + sim.cmdlen, SIM_CMD_MAX - sim.cmdlen);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		event_base_loopbreak(sim.base);
		return;
	}
	sim.cmdlen += n;
	p = sim.cmd;
	while ((nl = memchr(p, '\n', sim.cmdlen - (p - sim.cmd))) != NULL) {
		*nl = '\0';
		if (nl > p && nl[-1] == '\r')
			nl[-1] = '\0';
		if (sim.cmd_overflow)
			sim.cmd_overflow = 0;
		else
			sim_command(p);
		p = nl + 1;
	}
	used = p - sim.cmd;
	memmove(sim.cmd, p, sim.cmdlen - used);
	sim.cmdlen -= used;
	if (sim.cmdlen == SIM_CMD_MAX) {
		sim_error("command longer than %d bytes ignored", SIM_CMD_MAX);
		sim.cmdlen = 0;
		sim.cmd_overflow = 1;
	}
	fflush(stdout);
}

/* --- set-up --- */

static void
sim_line_init(struct sim_line *line, int index, const char *id,
    const char *pass)
{
	struct sim_fields	*f = &line->f;

	line->index = index;
	if (!sim_token_ok(id) || !sim_token_ok(pass) ||
	    strchr(id, ':') != NULL)
		sim_fatal("line %d: bad id or password", index);
	strlcpy(line->id, id, sizeof(line->id));
	strlcpy(line->pass, pass, sizeof(line->pass));
	line->req = sim.bench ?
	    (int64_t)index * SIM_BENCH_STRIDE + sim.b.offset : 1;
	line->recvid = line->req;
	line->req_wait = -1;
	TAILQ_INIT(&line->pending);
	snprintf(f->num, sizeof(f->num), "+4850010%04d", index % 10000);
	strlcpy(f->signal, "23", sizeof(f->signal));
	strlcpy(f->gsm_status, "LOGIN", sizeof(f->gsm_status));
	strlcpy(f->voip_status, "LOGOUT", sizeof(f->voip_status));
	strlcpy(f->pro, "SIMNET", sizeof(f->pro));
	snprintf(f->imei, sizeof(f->imei), "86000000%07d", index % 10000000);
	snprintf(f->imsi, sizeof(f->imsi), "26001000%07d", index % 10000000);
	snprintf(f->iccid, sizeof(f->iccid), "894801000000%08d",
	    index % 100000000);
	line->keepalive_ev = sim_timer(sim_keepalive_cb, line);
	line->tick_ev = sim_timer(sim_tick_cb, line);
}

static void
sim_socket(const char *bindaddr)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	int			 size = 8 * 1024 * 1024;

	if ((sim.fd = socket(sim.server.ss_family,
	    SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		sim_fatal("socket: %s", strerror(errno));
	if (bindaddr != NULL) {
		if (sim_parse_addr(bindaddr, 1, &ss, &sslen) == -1 ||
		    ss.ss_family != sim.server.ss_family)
			sim_fatal("bad bind address %s", bindaddr);
		if (bind(sim.fd, (struct sockaddr *)&ss, sslen) == -1)
			sim_fatal("bind %s: %s", bindaddr, strerror(errno));
	}
	if (sim.bench) {
		/* A burst of answers for every line at once must fit. */
		if (setsockopt(sim.fd, SOL_SOCKET, SO_RCVBUFFORCE, &size,
		    sizeof(size)) == -1)
			(void)setsockopt(sim.fd, SOL_SOCKET, SO_RCVBUF, &size,
			    sizeof(size));
		if (setsockopt(sim.fd, SOL_SOCKET, SO_SNDBUFFORCE, &size,
		    sizeof(size)) == -1)
			(void)setsockopt(sim.fd, SOL_SOCKET, SO_SNDBUF, &size,
			    sizeof(size));
	}
	sim.sock_ev = event_new(sim.base, sim.fd, EV_READ | EV_PERSIST,
	    sim_sock_cb, NULL);
	if (sim.sock_ev == NULL || event_add(sim.sock_ev, NULL) == -1)
		sim_fatal("cannot watch the socket");
}

static int
sim_lat_cmp(const void *a, const void *b)
{
	uint32_t	x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double
sim_lat_ms(double q)
{
	size_t	i;

	if (sim.b.nlat == 0)
		return 0;
	i = (size_t)(q * (sim.b.nlat - 1) + 0.5);
	return sim.b.lat[i] / 1000.0;
}

static void
sim_stop_cb(int fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	event_base_loopbreak(sim.base);
}

static void
sim_bench_report(void)
{
	double	secs = sim_us_since(&sim.b.start) / 1e6;

	if (sim.b.nlat > 0)
		qsort(sim.b.lat, sim.b.nlat, sizeof(*sim.b.lat), sim_lat_cmp);
	printf("lines=%zu seconds=%.1f offered_receives/s=%ld "
	    "keepalives/s=%.0f receives/s=%.0f "
	    "ack_p50_ms=%.2f ack_p99_ms=%.2f ack_max_ms=%.2f "
	    "keepalives=%" PRIu64 " receives=%" PRIu64 " retransmits=%" PRIu64
	    " unacked=%" PRIu64 "\n",
	    sim.nlines, secs, sim.b.rate, sim.b.keepalives / secs,
	    sim.b.receives / secs,
	    sim_lat_ms(0.50), sim_lat_ms(0.99), sim_lat_ms(1.0),
	    sim.b.keepalives, sim.b.receives, sim.b.retransmits,
	    sim.b.unacked);
}

static long
sim_num_arg(const char *s, long lo, long hi, const char *what)
{
	int64_t	n;

	if (sim_int64(s, &n) == -1 || n < lo || n > hi)
		sim_fatal("%s must be %ld..%ld", what, lo, hi);
	return n;
}

int
main(int argc, char *argv[])
{
	const char	*server = NULL, *bindaddr = NULL, *prefix = NULL;
	const char	*password = NULL;
	char		 id[SIM_TOKEN_MAX], *colon;
	long		 nbench = 0;
	size_t		 i;
	int		 ch;

	sim.keepalive_ms = 30000;
	sim.retransmit_ms = 3000;
	sim.wait_ms = 1000;
	sim.oktokens = 4;
	sim.senderr = -1;
	strlcpy(sim.ussd, "Balance 12.34 EUR", sizeof(sim.ussd));
	TAILQ_INIT(&sim.sessions);
	while ((ch = getopt(argc, argv, "a:bd:k:n:o:P:R:r:s:W:w:")) != -1) {
		switch (ch) {
		case 'a':
			bindaddr = optarg;
			break;
		case 'b':
			sim.bench = 1;
			break;
		case 'd':
			sim.b.seconds = sim_num_arg(optarg, 1, 3600, "-d");
			break;
		case 'k':
			sim.keepalive_ms = sim_num_arg(optarg, 0, 3600000,
			    "-k");
			break;
		case 'n':
			nbench = sim_num_arg(optarg, 1, 100000, "-n");
			break;
		case 'o':
			sim.b.offset = sim_num_arg(optarg, 0,
			    SIM_BENCH_STRIDE / 2, "-o");
			break;
		case 'P':
			prefix = optarg;
			break;
		case 'R':
			sim.b.rate = sim_num_arg(optarg, 1, 1000000, "-R");
			break;
		case 'r':
			sim.retransmit_ms = sim_num_arg(optarg, 1, 600000,
			    "-r");
			break;
		case 's':
			server = optarg;
			break;
		case 'W':
			password = optarg;
			break;
		case 'w':
			sim.wait_ms = sim_num_arg(optarg, 0, 600000, "-w");
			break;
		default:
			sim_usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (server == NULL)
		sim_usage();
	if (sim.bench ? (argc != 0 || nbench == 0 || sim.b.seconds == 0 ||
	    prefix == NULL || password == NULL) : argc == 0)
		sim_usage();
	if (sim_parse_addr(server, 0, &sim.server, &sim.serverlen) == -1)
		sim_fatal("bad server address %s", server);

	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if ((sim.base = event_base_new()) == NULL)
		sim_fatal("event_base_new failed");
	sim_socket(bindaddr);

	sim.nlines = sim.bench ? (size_t)nbench : (size_t)argc;
	sim.lines = sim_calloc(sim.nlines, sizeof(*sim.lines));
	for (i = 0; i < sim.nlines; i++) {
		if (sim.bench) {
			if ((size_t)snprintf(id, sizeof(id), "%s%zu", prefix,
			    i + 1) >= sizeof(id))
				sim_fatal("-P prefix too long");
			sim_line_init(&sim.lines[i], i + 1, id, password);
			continue;
		}
		if ((colon = strchr(argv[i], ':')) == NULL)
			sim_fatal("line %zu: not ID:PASSWORD", i + 1);
		*colon = '\0';
		sim_line_init(&sim.lines[i], i + 1, argv[i], colon + 1);
	}

	if (sim.bench) {
		sim.stop_ev = sim_timer(sim_stop_cb, NULL);
		sim_arm(sim.stop_ev, sim.b.seconds * 1000);
		clock_gettime(CLOCK_MONOTONIC, &sim.b.start);
		/*
		 * Closed loop: the lines start spread over SIM_BENCH_RAMP_US,
		 * as a fleet does, not in one burst that would measure only
		 * the server's socket buffer.  Open loop: each line's first
		 * packets spread over one period.
		 */
		for (i = 0; i < sim.nlines && sim.b.rate == 0; i++)
			sim_arm_us(sim.lines[i].tick_ev,
			    SIM_BENCH_RAMP_US * (int64_t)i / sim.nlines);
		if (sim.b.rate > 0)
			sim.b.tick_us = (int64_t)sim.nlines * 1000000 /
			    sim.b.rate;
		for (i = 0; i < sim.nlines && sim.b.rate > 0; i++) {
			sim_arm_us(sim.lines[i].tick_ev,
			    sim.b.tick_us * i / sim.nlines);
			if (sim.keepalive_ms > 0)
				sim_arm_us(sim.lines[i].keepalive_ev,
				    (int64_t)sim.keepalive_ms * 1000 * i /
				    sim.nlines);
		}
	} else {
		sim.cmd = sim_calloc(1, SIM_CMD_MAX);
		sim.stdin_ev = event_new(sim.base, STDIN_FILENO,
		    EV_READ | EV_PERSIST, sim_stdin_cb, NULL);
		if (sim.stdin_ev == NULL || event_add(sim.stdin_ev, NULL) == -1)
			sim_fatal("cannot watch stdin (a pipe or fifo)");
		if (sim.keepalive_ms > 0)
			for (i = 0; i < sim.nlines; i++) {
				sim_keepalive(&sim.lines[i]);
				sim_arm(sim.lines[i].keepalive_ev,
				    sim.keepalive_ms);
			}
	}

	event_base_dispatch(sim.base);

	if (sim.bench)
		sim_bench_report();
	while (!TAILQ_EMPTY(&sim.sessions))
		sim_session_free(TAILQ_FIRST(&sim.sessions));
	for (i = 0; i < sim.nlines; i++) {
		while (!TAILQ_EMPTY(&sim.lines[i].pending))
			sim_pending_free(TAILQ_FIRST(&sim.lines[i].pending));
		event_free(sim.lines[i].keepalive_ev);
		event_free(sim.lines[i].tick_ev);
	}
	free(sim.lines);
	free(sim.cmd);
	free(sim.b.lat);
	if (sim.stop_ev != NULL)
		event_free(sim.stop_ev);
	if (sim.stdin_ev != NULL)
		event_free(sim.stdin_ev);
	event_free(sim.sock_ev);
	close(sim.fd);
	event_base_free(sim.base);
	return 0;
}
