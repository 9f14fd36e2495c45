/*
 * fanout.c: load client of bench/fanout.  One single-threaded libevent
 * process that opens N Socket.IO dashboard clients over a minimal WebSocket
 * client (RFC 6455: handshake, masked client frames, unmasked server
 * frames; Engine.IO 4 open, ping "2" -> pong "3"; Socket.IO 5 CONNECT "40",
 * then 42["join-dashboard"]) and, optionally, an open-loop heartbeat poster
 * (HTTP/1.1 keep-alive POSTs at a target rate).  Every heartbeat of a run
 * carries a unique (deviceId, battery, signal) triple, as in the Node peer's
 * load/load.js, so that every device-heartbeat event a client receives is
 * matched to its POST: latency from the moment the POST was issued (its
 * slot on the open-loop schedule) to the moment the client read the frame,
 * lost and duplicated (heartbeat, client) pairs.
 *
 * Three things it can do in one run, in this order:
 *   --steps N1,N2,...  connect clients up to N1, wait --settle-ms, read the
 *                      server's VmRSS (--server-pid), then up to N2, ...
 *                      (memory per idle connection; without --steps the
 *                      client count is --clients)
 *   --heartbeats M     POST M heartbeats at --rate/s and match the events
 *   --hold-s S         stay connected S seconds counting events (while wrk
 *                      drives the load), after writing --ready-file
 * and prints one JSON line on stdout.  Progress goes to stderr.
 *
 * Bounds: targets must be in 127.0.0.0/8; the whole run is cut at --max-s;
 * the connect phase at --connect-timeout-s; a POST at --post-timeout-ms;
 * the drain at --drain-ms after the last answer.
 *
 * Build: make bench (or make check), as bench/fanout/fanout.
 */
#define _GNU_SOURCE
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define MSG_MAX		(1024 * 1024)	/* largest server message accepted */
#define HDR_MAX		16384		/* largest HTTP answer head */
#define DEVICES_MAX	4096
#define ID_MAX		64
#define HIST_FINE	1000000		/* 10 us buckets up to 10 s */
#define HIST_COARSE	110000		/* then 1 ms buckets up to 120 s */

enum cstate {
	C_IDLE,			/* not started */
	C_CONNECTING,		/* TCP connect + HTTP upgrade */
	C_WS,			/* upgraded, waiting for Engine.IO open */
	C_EIO,			/* Engine.IO open, waiting for 40 */
	C_JOINED,		/* Socket.IO connected, join-dashboard sent */
	C_DEAD
};

struct client {
	struct bufferevent	*bev;
	enum cstate		 state;
	int			 idx;
	unsigned char		*frag;		/* fragmented message */
	size_t			 fraglen;
	int			 fragop;
	uint8_t			*seen;		/* bitmap of heartbeats got */
};

struct pconn {
	struct bufferevent	*bev;
	int			 idx;
	int			 connected;
	int			 busy;
	int64_t			 seq;
	uint64_t		 twrite;
	int			 hdrdone;
	int			 status;
	long			 clen;
	int			 chunked;
	int			 closeafter;
};

struct hist {
	uint32_t	*b;
	uint64_t	 n;
	uint64_t	 max;
	double		 sum;
};

/* Options. */
static struct sockaddr_in	 ws_sin, post_sin;
static char			 ws_hostport[64], post_hostport[64];
static const char		*ws_path = "/api/socket/io/";
static const char		*post_path = "/api/device/heartbeat";
static char			*basic_b64;
static const char		*proxy_secret;	/* X-Goip-Proxy-Secret */
static int			 nsteps;
static int			 steps[16];
static int			 nclients;
static int			 concurrency = 200;
static int			 src_addrs = 1;
static int			 settle_ms = 2000;
static pid_t			 server_pid;
static pid_t			 cpu_pids[16];
static int			 ncpu_pids;
static int64_t			 M;
static double			 rate = 100;
static int			 post_conns = 16;
static int			 post_timeout_ms = 10000;
static int			 drain_ms = 10000;
static int			 hold_s;
static const char		*ready_file;
static int			 max_s = 600;
static int			 connect_timeout_s = 120;
static const char		*label = "";
static const char		*event_name = "device-heartbeat";
static int			 verbose;

/* Devices. */
static int			 ndev;
static char			 dev_id[DEVICES_MAX][ID_MAX + 1];
static char			*dev_tok[DEVICES_MAX];
static int			 dev_hash[8192];	/* index + 1, 0 empty */

/* State. */
static struct event_base	*base;
static struct client		*clients;
static int			 started, joined, failed, disconnects;
static int			 inflight;	/* connecting, not yet joined */
static int			 target;	/* clients wanted now */
static int			 step_i;
static uint64_t			 t_start;
static uint64_t			 t_connect0, t_connect1;
static long			 rss0 = -1;
static long			 step_rss[16];
static int			 step_joined[16];
static double			 step_connect_s[16];
static uint64_t			 ev_hb, ev_stats, ev_status, ev_other;
static uint64_t			 received, dups, foreign, outofrange;
static uint64_t			*tsend;		/* per heartbeat, 0 = not sent */
static struct hist		 lat, postlat;
static struct pconn		*pconns;
static int64_t			*queue;		/* seqs due, not yet written */
static int64_t			 qhead, qtail;
static int64_t			 sent, answered, ok2xx, failedposts;
static int			 status_counts[600];
static uint64_t			 t_post0, t_lastsend, t_lastanswer;
static int			 reconnects;
static int			 phase;		/* 0 connect 1 post 2 drain 3 hold */
static long			 cpu_phase0, cpu_phase1;
static long			 cpu_srv_phase0, cpu_srv_phase1;
static long			 cpu_conn0, cpu_conn1;
static struct event		*tick_ev, *hk_ev, *settle_ev, *end_ev;
static int			 timedout;
static uint32_t			 rnd = 2463534242u;
static uint64_t			 held_events;

static void	client_start(struct client *);
static void	client_fail(struct client *, const char *);
static void	pump_connects(void);
static void	finish(void);
static void	post_pump(void);
static void	pconn_open(struct pconn *);

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "fanout: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

static void
logmsg(const char *fmt, ...)
{
	va_list ap;
	time_t t = time(NULL);
	char ts[16];

	strftime(ts, sizeof(ts), "%H:%M:%S", gmtime(&t));
	va_start(ap, fmt);
	fprintf(stderr, "[fanout %s%s%s] ", ts, label[0] ? " " : "", label);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static uint32_t
xrand(void)
{
	rnd ^= rnd << 13;
	rnd ^= rnd >> 17;
	rnd ^= rnd << 5;
	return rnd;
}

static long
read_rss_kb(pid_t pid)
{
	char path[64], line[256];
	FILE *f;
	long kb = -1;

	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kb = strtol(line + 6, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

/* utime + stime of PID in ms, or 0. */
static long
read_cpu_ms(pid_t pid)
{
	char path[64], buf[1024], *p;
	FILE *f;
	unsigned long ut = 0, st = 0;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL)
		return 0;
	/* fields after ")": state(3) ... utime(14) stime(15) */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	    &ut, &st) != 2)
		return 0;
	return (long)((ut + st) * 1000 / (unsigned long)sysconf(_SC_CLK_TCK));
}

static long
cpu_pids_ms(void)
{
	long t = 0;
	int i;

	for (i = 0; i < ncpu_pids; i++)
		t += read_cpu_ms(cpu_pids[i]);
	return t;
}

static long
self_cpu_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec * 1000 + ru.ru_utime.tv_usec / 1000 +
	    ru.ru_stime.tv_sec * 1000 + ru.ru_stime.tv_usec / 1000;
}

/* --- histogram ---------------------------------------------------------- */

static void
hist_init(struct hist *h)
{
	if ((h->b = calloc(HIST_FINE + HIST_COARSE + 1, sizeof(*h->b))) == NULL)
		die("out of memory");
}

static void
hist_add(struct hist *h, uint64_t us)
{
	size_t i;

	if (us < 10ULL * HIST_FINE)
		i = us / 10;
	else if ((us - 10ULL * HIST_FINE) / 1000 < HIST_COARSE)
		i = HIST_FINE + (us - 10ULL * HIST_FINE) / 1000;
	else
		i = HIST_FINE + HIST_COARSE;
	h->b[i]++;
	h->n++;
	h->sum += (double)us;
	if (us > h->max)
		h->max = us;
}

/* Upper edge of bucket I in ms. */
static double
hist_edge_ms(size_t i)
{
	if (i < HIST_FINE)
		return (double)(i + 1) * 0.01;
	return 10000.0 + (double)(i - HIST_FINE + 1);
}

static double
hist_pct(const struct hist *h, double p)
{
	uint64_t want, acc = 0;
	size_t i;

	if (h->n == 0)
		return 0;
	want = (uint64_t)(p / 100.0 * (double)h->n + 0.999999);
	if (want < 1)
		want = 1;
	for (i = 0; i <= HIST_FINE + HIST_COARSE; i++) {
		acc += h->b[i];
		if (acc >= want) {
			double e = hist_edge_ms(i);

			return e > h->max / 1000.0 ? h->max / 1000.0 : e;
		}
	}
	return h->max / 1000.0;
}

static void
hist_json(const struct hist *h, FILE *f)
{
	fprintf(f, "{\"n\":%" PRIu64 ",\"mean\":%.3f,\"p50\":%.3f,\"p90\":%.3f,"
	    "\"p99\":%.3f,\"p999\":%.3f,\"max\":%.3f}", h->n,
	    h->n ? h->sum / (double)h->n / 1000.0 : 0.0, hist_pct(h, 50),
	    hist_pct(h, 90), hist_pct(h, 99), hist_pct(h, 99.9),
	    h->max / 1000.0);
}

/* --- devices ------------------------------------------------------------ */

static unsigned
dev_hashfn(const char *s, size_t len)
{
	unsigned h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static void
dev_add(const char *id, const char *tok)
{
	unsigned h;
	size_t len = strlen(id);

	if (ndev >= DEVICES_MAX || len == 0 || len > ID_MAX)
		die("bad or too many devices");
	memcpy(dev_id[ndev], id, len + 1);
	dev_tok[ndev] = tok != NULL ? strdup(tok) : NULL;
	h = dev_hashfn(id, len) & 8191;
	while (dev_hash[h] != 0)
		h = (h + 1) & 8191;
	dev_hash[h] = ndev + 1;
	ndev++;
}

static int
dev_find(const char *s, size_t len)
{
	unsigned h = dev_hashfn(s, len) & 8191;
	int i;

	while ((i = dev_hash[h]) != 0) {
		if (strlen(dev_id[i - 1]) == len &&
		    memcmp(dev_id[i - 1], s, len) == 0)
			return i - 1;
		h = (h + 1) & 8191;
	}
	return -1;
}

/* The heartbeat SEQ of a run: device, battery 0-100, signal 0-31. */
static void
seq_key(int64_t seq, int *dev, int *battery, int *signal)
{
	int64_t r = seq / ndev;

	*dev = (int)(seq % ndev);
	*battery = (int)(r % 101);
	*signal = (int)(r / 101);
}

static int64_t
key_seq(int dev, int battery, int signal)
{
	return ((int64_t)signal * 101 + battery) * ndev + dev;
}

/* --- WebSocket client --------------------------------------------------- */

static void
ws_send_text(struct client *c, const char *s, size_t len)
{
	unsigned char h[14];
	size_t hl = 2, i;
	uint32_t key = xrand();
	unsigned char m[4], *p;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	struct evbuffer_iovec v;

	h[0] = 0x81;
	if (len < 126)
		h[1] = 0x80 | (unsigned char)len;
	else if (len < 65536) {
		h[1] = 0x80 | 126;
		h[2] = (unsigned char)(len >> 8);
		h[3] = (unsigned char)len;
		hl = 4;
	} else
		return;		/* never sent by this client */
	memcpy(m, &key, 4);
	memcpy(h + hl, m, 4);
	hl += 4;
	if (evbuffer_reserve_space(out, hl + len, &v, 1) < 1)
		return;
	p = v.iov_base;
	memcpy(p, h, hl);
	for (i = 0; i < len; i++)
		p[hl + i] = (unsigned char)s[i] ^ m[i & 3];
	v.iov_len = hl + len;
	evbuffer_commit_space(out, &v, 1);
}

static void
ws_send_ctl(struct client *c, int op, const unsigned char *pl, size_t len)
{
	unsigned char f[2 + 4 + 125];
	uint32_t key = xrand();
	size_t i;

	if (len > 125)
		len = 125;
	f[0] = 0x80 | (unsigned char)op;
	f[1] = 0x80 | (unsigned char)len;
	memcpy(f + 2, &key, 4);
	for (i = 0; i < len; i++)
		f[6 + i] = pl[i] ^ f[2 + (i & 3)];
	bufferevent_write(c->bev, f, 6 + len);
}

/*
 * Scan the top-level members of the JSON object at P (up to E) for the
 * device id ("deviceId", else a string "id"), "battery" and "signal".
 */
static void
scan_payload(const char *p, const char *e, const char **id, size_t *idlen,
    long *battery, long *signal)
{
	int depth = 0, expect_key = 0;
	const char *s, *k;
	size_t klen;
	char *end;

	for (; p < e; p++) {
		switch (*p) {
		case '"':
			s = ++p;
			while (p < e && *p != '"') {
				if (*p == '\\')
					p++;
				p++;
			}
			if (p >= e)
				return;
			if (depth != 1 || !expect_key)
				break;
			expect_key = 0;
			k = s;
			klen = (size_t)(p - s);
			p++;
			while (p < e && (*p == ' ' || *p == ':'))
				p++;
			if (p >= e)
				return;
			if (*p == '"') {
				s = p + 1;
				p = s;
				while (p < e && *p != '"') {
					if (*p == '\\')
						p++;
					p++;
				}
				if ((klen == 8 && memcmp(k, "deviceId", 8) == 0) ||
				    (klen == 2 && memcmp(k, "id", 2) == 0 &&
				    *id == NULL)) {
					*id = s;
					*idlen = (size_t)(p - s);
				}
			} else if (*p == '-' || isdigit((unsigned char)*p)) {
				long v = strtol(p, &end, 10);

				if (klen == 7 && memcmp(k, "battery", 7) == 0)
					*battery = v;
				else if (klen == 6 && memcmp(k, "signal", 6) == 0)
					*signal = v;
				p = end - 1;
			} else
				p--;	/* let the loop see { [ t f n */
			break;
		case '{':
		case '[':
			depth++;
			if (depth == 1)
				expect_key = (*p == '{');
			break;
		case '}':
		case ']':
			if (--depth == 0)
				return;
			break;
		case ',':
			if (depth == 1)
				expect_key = 1;
			break;
		}
	}
}

static void
on_event(struct client *c, const char *p, size_t len, uint64_t now)
{
	const char *e = p + len, *name, *id = NULL;
	size_t nlen, idlen = 0;
	long battery = -1, signal = -1;
	int dev;
	int64_t seq;

	/* p: after "42": optional ack id, then ["name",payload...] */
	while (p < e && isdigit((unsigned char)*p))
		p++;
	if (e - p < 4 || p[0] != '[' || p[1] != '"')
		return;
	name = p + 2;
	if ((p = memchr(name, '"', (size_t)(e - name))) == NULL)
		return;
	nlen = (size_t)(p - name);
	if (nlen == 12 && memcmp(name, "stats-update", 12) == 0) {
		ev_stats++;
		return;
	}
	if (nlen == 20 && memcmp(name, "device-status-change", 20) == 0) {
		ev_status++;
		return;
	}
	if (nlen != strlen(event_name) || memcmp(name, event_name, nlen) != 0) {
		ev_other++;
		return;
	}
	ev_hb++;
	if (phase == 3 || M == 0) {
		held_events++;
		return;
	}
	if (tsend == NULL) {	/* before the first POST */
		foreign++;
		return;
	}
	p++;
	while (p < e && *p != '{')
		p++;
	scan_payload(p, e, &id, &idlen, &battery, &signal);
	if (id == NULL || (dev = dev_find(id, idlen)) < 0 || battery < 0 ||
	    battery > 100 || signal < 0 || signal > 31) {
		foreign++;
		return;
	}
	seq = key_seq(dev, (int)battery, (int)signal);
	if (seq >= M || tsend[seq] == 0) {
		outofrange++;
		return;
	}
	if (c->seen[seq >> 3] & (1 << (seq & 7))) {
		dups++;
		return;
	}
	c->seen[seq >> 3] |= (uint8_t)(1 << (seq & 7));
	received++;
	hist_add(&lat, now > tsend[seq] ? now - tsend[seq] : 0);
}

static void
client_joined(struct client *c)
{
	c->state = C_JOINED;
	joined++;
	inflight--;
	ws_send_text(c, "42[\"join-dashboard\"]", 20);
	pump_connects();
}

/* One Engine.IO packet (a whole WebSocket text message). */
static void
on_message(struct client *c, const char *p, size_t len, uint64_t now)
{
	if (len == 0)
		return;
	switch (p[0]) {
	case '0':		/* open */
		if (c->state == C_WS) {
			c->state = C_EIO;
			ws_send_text(c, "40", 2);
		}
		break;
	case '2':		/* ping */
		{
			char pong[128];
			size_t n = len < sizeof(pong) ? len : sizeof(pong);

			memcpy(pong, p, n);
			pong[0] = '3';
			ws_send_text(c, pong, n);
		}
		break;
	case '4':		/* message: Socket.IO packet */
		if (len >= 2 && p[1] == '2')
			on_event(c, p + 2, len - 2, now);
		else if (len >= 2 && p[1] == '0' && c->state == C_EIO)
			client_joined(c);
		else if (len >= 2 && (p[1] == '4' || p[1] == '1'))
			client_fail(c, "socket.io disconnect/error");
		break;
	case '1':		/* close */
		client_fail(c, "engine.io close");
		break;
	default:
		break;
	}
}

static void
ws_read_cb(struct bufferevent *bev, void *arg)
{
	struct client *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_ptr ptr;
	unsigned char h[14], *d, *pl;
	size_t avail, hl, i;
	uint64_t len, now = now_us();
	int fin, op, masked;
	char line[13];

	if (c->state == C_CONNECTING) {
		ptr = evbuffer_search(in, "\r\n\r\n", 4, NULL);
		if (ptr.pos < 0) {
			if (evbuffer_get_length(in) > HDR_MAX)
				client_fail(c, "upgrade answer too long");
			return;
		}
		if (evbuffer_copyout(in, line, 12) != 12 ||
		    memcmp(line, "HTTP/1.1 101", 12) != 0) {
			line[12] = '\0';
			client_fail(c, "upgrade refused");
			return;
		}
		evbuffer_drain(in, (size_t)ptr.pos + 4);
		c->state = C_WS;
	}
	for (;;) {
		avail = evbuffer_get_length(in);
		if (avail < 2)
			return;
		evbuffer_copyout(in, h, avail < sizeof(h) ? avail : sizeof(h));
		fin = h[0] & 0x80;
		op = h[0] & 0x0f;
		masked = h[1] & 0x80;
		len = h[1] & 0x7f;
		hl = 2;
		if (len == 126) {
			if (avail < 4)
				return;
			len = ((uint64_t)h[2] << 8) | h[3];
			hl = 4;
		} else if (len == 127) {
			if (avail < 10)
				return;
			len = 0;
			for (i = 2; i < 10; i++)
				len = (len << 8) | h[i];
			hl = 10;
		}
		if (masked)
			hl += 4;
		if (len > MSG_MAX) {
			client_fail(c, "frame too large");
			return;
		}
		if (avail < hl + len)
			return;
		if ((d = evbuffer_pullup(in, (ssize_t)(hl + len))) == NULL) {
			client_fail(c, "out of memory");
			return;
		}
		pl = d + hl;
		if (masked)
			for (i = 0; i < len; i++)
				pl[i] ^= d[hl - 4 + (i & 3)];
		if (op == 8) {
			ws_send_ctl(c, 8, pl, len >= 2 ? 2 : 0);
			evbuffer_drain(in, hl + len);
			client_fail(c, "close frame");
			return;
		} else if (op == 9) {
			ws_send_ctl(c, 10, pl, len);
		} else if (op == 0 || !fin) {
			unsigned char *nf;

			if (op != 0)
				c->fragop = op;
			if (c->fraglen + len > MSG_MAX ||
			    (nf = realloc(c->frag, c->fraglen + len + 1)) == NULL) {
				client_fail(c, "fragmented message too large");
				return;
			}
			c->frag = nf;
			memcpy(c->frag + c->fraglen, pl, len);
			c->fraglen += len;
			if (fin) {
				if (c->fragop == 1)
					on_message(c, (char *)c->frag,
					    c->fraglen, now);
				free(c->frag);
				c->frag = NULL;
				c->fraglen = 0;
			}
		} else if (op == 1) {
			on_message(c, (char *)pl, len, now);
		}
		if (c->state == C_DEAD)
			return;
		evbuffer_drain(in, hl + len);
	}
}

static void
ws_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct client *c = arg;
	char req[1024];
	int n;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		n = snprintf(req, sizeof(req),
		    "GET %s?EIO=4&transport=websocket HTTP/1.1\r\n"
		    "Host: %s\r\n"
		    "Upgrade: websocket\r\n"
		    "Connection: Upgrade\r\n"
		    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		    "Sec-WebSocket-Version: 13\r\n"
		    "%s%s%s"
		    "%s%s%s"
		    "\r\n", ws_path, ws_hostport,
		    basic_b64 ? "Authorization: Basic " : "",
		    basic_b64 ? basic_b64 : "", basic_b64 ? "\r\n" : "",
		    proxy_secret ? "X-Goip-Proxy-Secret: " : "",
		    proxy_secret ? proxy_secret : "",
		    proxy_secret ? "\r\n" : "");
		bufferevent_write(c->bev, req, (size_t)n);
		return;
	}
	if (what & BEV_EVENT_EOF)
		client_fail(c, "EOF");
	else
		client_fail(c, evutil_socket_error_to_string(
		    EVUTIL_SOCKET_ERROR()));
}

static void
client_fail(struct client *c, const char *why)
{
	static int logged;

	if (c->state == C_DEAD)
		return;
	if (c->state == C_JOINED)
		disconnects++;
	else {
		failed++;
		inflight--;
	}
	if (logged++ < 5)
		logmsg("client %d: %s (state %d)", c->idx, why, c->state);
	c->state = C_DEAD;
	if (c->bev != NULL) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	free(c->frag);
	c->frag = NULL;
	if (phase == 0)
		pump_connects();
}

static void
client_start(struct client *c)
{
	evutil_socket_t fd;
	struct sockaddr_in src;
	int one = 1;

	c->state = C_CONNECTING;
	inflight++;
	started++;
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		client_fail(c, strerror(errno));
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (src_addrs > 1) {
		/* 127.0.0.2 .. 127.0.0.(src_addrs+1): more ephemeral ports */
		memset(&src, 0, sizeof(src));
		src.sin_family = AF_INET;
		src.sin_addr.s_addr = htonl(0x7f000002u +
		    (uint32_t)(c->idx % src_addrs));
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
		    sizeof(one));
		if (bind(fd, (struct sockaddr *)&src, sizeof(src)) == -1) {
			close(fd);
			client_fail(c, strerror(errno));
			return;
		}
	}
	c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		close(fd);
		client_fail(c, "bufferevent_socket_new");
		return;
	}
	bufferevent_setcb(c->bev, ws_read_cb, NULL, ws_event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&ws_sin,
	    sizeof(ws_sin)) == -1)
		client_fail(c, "connect");
}

static void
settle_cb(evutil_socket_t fd, short what, void *arg);

/* Start clients up to TARGET, CONCURRENCY handshakes at a time. */
static void
pump_connects(void)
{
	static int reentry;
	struct timeval tv;

	if (reentry)
		return;
	reentry = 1;
	while (started < target && inflight < concurrency)
		client_start(&clients[started]);
	reentry = 0;
	if (phase == 0 && started >= target && inflight == 0 &&
	    !evtimer_pending(settle_ev, NULL)) {
		t_connect1 = now_us();
		logmsg("%d joined, %d failed (%.2f s); settling %d ms", joined,
		    failed, (double)(t_connect1 - t_connect0) / 1e6,
		    settle_ms);
		tv.tv_sec = settle_ms / 1000;
		tv.tv_usec = (settle_ms % 1000) * 1000;
		evtimer_add(settle_ev, &tv);
	}
}

/* --- heartbeat poster --------------------------------------------------- */

static void
pconn_write(struct pconn *pc, int64_t seq)
{
	char body[512], head[1024];
	int dev, battery, signal, bl, hl;

	seq_key(seq, &dev, &battery, &signal);
	bl = snprintf(body, sizeof(body),
	    "{\"deviceId\":\"%s\",\"battery\":%d,\"signal\":%d,\"simSlots\":["
	    "{\"slot\":1,\"status\":\"ready\",\"operator\":\"LOAD-NET\","
	    "\"iccid\":\"8900000000000%06d\",\"balance\":12.5},"
	    "{\"slot\":2,\"status\":\"absent\",\"operator\":null,"
	    "\"iccid\":null,\"balance\":null}]}",
	    dev_id[dev], battery, signal, dev);
	hl = snprintf(head, sizeof(head),
	    "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
	    "Content-Length: %d\r\n%s%s%s\r\n", post_path, post_hostport, bl,
	    dev_tok[dev] ? "Authorization: Bearer " : "",
	    dev_tok[dev] ? dev_tok[dev] : "", dev_tok[dev] ? "\r\n" : "");
	pc->busy = 1;
	pc->seq = seq;
	pc->twrite = now_us();
	pc->hdrdone = 0;
	pc->status = 0;
	pc->clen = 0;
	pc->chunked = 0;
	pc->closeafter = 0;
	bufferevent_write(pc->bev, head, (size_t)hl);
	bufferevent_write(pc->bev, body, (size_t)bl);
}

static void
post_done(struct pconn *pc, int status)
{
	uint64_t now = now_us();

	if (status >= 100 && status < 600)
		status_counts[status]++;
	if (status >= 200 && status < 300)
		ok2xx++;
	else
		failedposts++;
	hist_add(&postlat, now - tsend[pc->seq]);
	answered++;
	t_lastanswer = now;
	pc->busy = 0;
}

static void
pconn_reset(struct pconn *pc)
{
	if (pc->bev != NULL)
		bufferevent_free(pc->bev);
	pc->bev = NULL;
	pc->connected = 0;
	if (pc->busy)
		post_done(pc, 0);
	if (reconnects++ < 10000)
		pconn_open(pc);
}

static void
pconn_read_cb(struct bufferevent *bev, void *arg)
{
	struct pconn *pc = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_ptr ptr;
	char head[HDR_MAX + 1], *l, *nl;
	size_t avail;
	long sz;

	for (;;) {
		if (!pc->busy) {
			if (evbuffer_get_length(in) > 0)
				evbuffer_drain(in, evbuffer_get_length(in));
			return;
		}
		if (!pc->hdrdone) {
			ptr = evbuffer_search(in, "\r\n\r\n", 4, NULL);
			if (ptr.pos < 0) {
				if (evbuffer_get_length(in) > HDR_MAX)
					pconn_reset(pc);
				return;
			}
			if ((size_t)ptr.pos + 4 > HDR_MAX) {
				pconn_reset(pc);
				return;
			}
			evbuffer_remove(in, head, (size_t)ptr.pos + 4);
			head[ptr.pos + 2] = '\0';
			pc->status = strncmp(head, "HTTP/1.", 7) == 0 ?
			    atoi(head + 9) : 0;
			for (l = strstr(head, "\r\n"); l != NULL && l[2];
			    l = nl) {
				l += 2;
				nl = strstr(l, "\r\n");
				if (strncasecmp(l, "content-length:", 15) == 0)
					pc->clen = strtol(l + 15, NULL, 10);
				else if (strncasecmp(l, "transfer-encoding:",
				    18) == 0 && strstr(l, "chunked") != NULL)
					pc->chunked = 1;
				else if (strncasecmp(l, "connection:", 11) == 0
				    && strcasestr(l, "close") != NULL)
					pc->closeafter = 1;
				if (nl == NULL)
					break;
			}
			pc->hdrdone = 1;
		}
		avail = evbuffer_get_length(in);
		if (pc->chunked) {
			char sline[32];

			ptr = evbuffer_search(in, "\r\n", 2, NULL);
			if (ptr.pos < 0 || ptr.pos > 16)
				return;
			evbuffer_copyout(in, sline, (size_t)ptr.pos);
			sline[ptr.pos] = '\0';
			sz = strtol(sline, NULL, 16);
			if (avail < (size_t)ptr.pos + 2 + (size_t)sz + 2)
				return;
			evbuffer_drain(in, (size_t)ptr.pos + 2 + (size_t)sz + 2);
			if (sz != 0)
				continue;
		} else {
			if (avail < (size_t)pc->clen)
				return;
			evbuffer_drain(in, (size_t)pc->clen);
		}
		post_done(pc, pc->status);
		if (pc->closeafter) {
			pconn_reset(pc);
			return;
		}
		post_pump();
		if (!pc->busy)
			return;
	}
}

static void
pconn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct pconn *pc = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		pc->connected = 1;
		post_pump();
		return;
	}
	pconn_reset(pc);
}

static void
pconn_open(struct pconn *pc)
{
	int one = 1;
	evutil_socket_t fd;

	pc->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (pc->bev == NULL)
		die("bufferevent_socket_new");
	bufferevent_setcb(pc->bev, pconn_read_cb, NULL, pconn_event_cb, pc);
	bufferevent_enable(pc->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(pc->bev, (struct sockaddr *)&post_sin,
	    sizeof(post_sin)) == -1) {
		bufferevent_free(pc->bev);
		pc->bev = NULL;
		return;
	}
	fd = bufferevent_getfd(pc->bev);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Hand due heartbeats to idle connections. */
static void
post_pump(void)
{
	int i;

	for (i = 0; i < post_conns && qhead < qtail; i++) {
		struct pconn *pc = &pconns[i];

		if (pc->bev == NULL || !pc->connected || pc->busy)
			continue;
		pconn_write(pc, queue[qhead++]);
	}
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t now = now_us();
	int64_t due;

	(void)fd;
	(void)what;
	(void)arg;
	due = (int64_t)((double)(now - t_post0) * rate / 1e6) + 1;
	if (due > M)
		due = M;
	while (sent < due) {
		tsend[sent] = now;
		queue[qtail++] = sent;
		sent++;
		t_lastsend = now;
	}
	post_pump();
	if (sent >= M)
		evtimer_del(tick_ev);
}

/* --- phases ------------------------------------------------------------- */

static void
housekeeping_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t now = now_us();
	int i;

	(void)fd;
	(void)what;
	(void)arg;
	if (now - t_start > (uint64_t)max_s * 1000000) {
		logmsg("--max-s %d reached", max_s);
		timedout = 1;
		finish();
		return;
	}
	if (phase == 0 && now - t_connect0 > (uint64_t)connect_timeout_s *
	    1000000 && !evtimer_pending(settle_ev, NULL)) {
		logmsg("connect phase over %d s: %d joined, %d in flight",
		    connect_timeout_s, joined, inflight);
		timedout = 1;
		finish();
		return;
	}
	if (phase == 1 || phase == 2) {
		for (i = 0; i < post_conns; i++)
			if (pconns[i].busy && now - pconns[i].twrite >
			    (uint64_t)post_timeout_ms * 1000)
				pconn_reset(&pconns[i]);
	}
	if (phase == 1 && answered >= M) {
		phase = 2;
		logmsg("all %" PRId64 " POSTs answered (%" PRId64 " 2xx) in "
		    "%.2f s; draining", answered, ok2xx,
		    (double)(now - t_post0) / 1e6);
	}
	if (phase == 2) {
		uint64_t expected = (uint64_t)sent * (uint64_t)joined;

		if (received + (uint64_t)0 >= expected ||
		    now - t_lastanswer > (uint64_t)drain_ms * 1000)
			finish();
	}
}

static void
start_posting(void)
{
	struct timeval tv = { 0, 1000 };
	int i;

	phase = 1;
	cpu_phase0 = self_cpu_ms();
	cpu_srv_phase0 = cpu_pids_ms();
	if ((tsend = calloc((size_t)M, sizeof(*tsend))) == NULL ||
	    (queue = calloc((size_t)M, sizeof(*queue))) == NULL ||
	    (pconns = calloc((size_t)post_conns, sizeof(*pconns))) == NULL)
		die("out of memory");
	for (i = 0; i < nclients; i++)
		if ((clients[i].seen = calloc((size_t)(M + 7) / 8, 1)) == NULL)
			die("out of memory");
	for (i = 0; i < post_conns; i++) {
		pconns[i].idx = i;
		pconn_open(&pconns[i]);
	}
	logmsg("posting %" PRId64 " heartbeats at %.0f/s over %d connections",
	    M, rate, post_conns);
	t_post0 = now_us();
	tick_ev = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
	event_add(tick_ev, &tv);
}

static void
hold_end_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	finish();
}

static void
settle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct timeval tv;
	FILE *f;

	(void)fd;
	(void)what;
	(void)arg;
	if (nsteps > 0 && step_i < nsteps) {
		step_rss[step_i] = read_rss_kb(server_pid);
		step_joined[step_i] = joined;
		step_connect_s[step_i] = (double)(t_connect1 - t_connect0) / 1e6;
		logmsg("step %d: %d joined, server VmRSS %ld kB (%+.0f B per "
		    "client)", steps[step_i], joined, step_rss[step_i],
		    joined ? (double)(step_rss[step_i] - rss0) * 1024 / joined
		    : 0.0);
		step_i++;
		if (step_i < nsteps) {
			target = steps[step_i];
			t_connect0 = now_us();
			pump_connects();
			return;
		}
	}
	cpu_conn1 = cpu_pids_ms();
	if (M > 0) {
		start_posting();
		return;
	}
	if (hold_s > 0) {
		phase = 3;
		cpu_phase0 = self_cpu_ms();
		cpu_srv_phase0 = cpu_pids_ms();
		if (ready_file != NULL && (f = fopen(ready_file, "w")) != NULL)
			fclose(f);
		logmsg("holding %d clients for %d s", joined, hold_s);
		tv.tv_sec = hold_s;
		tv.tv_usec = 0;
		end_ev = evtimer_new(base, hold_end_cb, NULL);
		evtimer_add(end_ev, &tv);
		return;
	}
	finish();
}

static void
finish(void)
{
	FILE *f = stdout;
	long rss_end = read_rss_kb(server_pid);
	/* Every heartbeat POSTed, answered or not, to every joined client. */
	uint64_t expected = (uint64_t)sent * (uint64_t)joined;
	int i, open = 0;

	cpu_phase1 = self_cpu_ms();
	cpu_srv_phase1 = cpu_pids_ms();
	for (i = 0; i < started; i++)
		if (clients[i].state == C_JOINED)
			open++;
	fprintf(f, "{\"label\":\"%s\",\"clients\":{\"wanted\":%d,\"joined\":%d,"
	    "\"failed\":%d,\"disconnects\":%d,\"openAtEnd\":%d,"
	    "\"connectS\":%.3f},", label, nclients, joined, failed, disconnects,
	    open, (double)(t_connect1 - t_connect0) / 1e6);
	fprintf(f, "\"rss\":{\"beforeKb\":%ld,\"endKb\":%ld,\"steps\":[", rss0,
	    rss_end);
	for (i = 0; i < step_i; i++)
		fprintf(f, "%s{\"clients\":%d,\"rssKb\":%ld,\"perClientB\":%.0f,"
		    "\"connectS\":%.3f}", i ? "," : "", step_joined[i],
		    step_rss[i], step_joined[i] ? (double)(step_rss[i] - rss0) *
		    1024 / step_joined[i] : 0.0, step_connect_s[i]);
	fprintf(f, "]},");
	if (M > 0) {
		fprintf(f, "\"heartbeats\":{\"sent\":%" PRId64 ",\"answered\":%"
		    PRId64 ",\"ok\":%" PRId64 ",\"failed\":%" PRId64
		    ",\"rate\":%.1f,\"sendS\":%.3f,\"answerS\":%.3f,"
		    "\"rateAnswered\":%.1f,\"status\":{", sent, answered, ok2xx,
		    failedposts, rate, (double)(t_lastsend - t_post0) / 1e6,
		    (double)(t_lastanswer - t_post0) / 1e6,
		    t_lastanswer > t_post0 ? (double)answered * 1e6 /
		    (double)(t_lastanswer - t_post0) : 0.0);
		{
			int first = 1, s;

			for (s = 0; s < 600; s++)
				if (status_counts[s]) {
					fprintf(f, "%s\"%d\":%d", first ? "" :
					    ",", s, status_counts[s]);
					first = 0;
				}
		}
		fprintf(f, "},\"postLatencyMs\":");
		hist_json(&postlat, f);
		fprintf(f, "},\"events\":{\"expected\":%" PRIu64 ",\"received\":%"
		    PRIu64 ",\"lost\":%" PRId64 ",\"dup\":%" PRIu64 ",\"foreign\":%"
		    PRIu64 ",\"outOfRange\":%" PRIu64 ",\"statsUpdate\":%" PRIu64
		    ",\"statusChange\":%" PRIu64 ",\"other\":%" PRIu64
		    ",\"latencyMs\":", expected, received,
		    (int64_t)expected - (int64_t)received, dups, foreign,
		    outofrange, ev_stats, ev_status, ev_other);
		hist_json(&lat, f);
		fprintf(f, "},");
	} else if (hold_s > 0) {
		fprintf(f, "\"hold\":{\"seconds\":%d,\"events\":%" PRIu64
		    ",\"perClient\":%.0f,\"statsUpdate\":%" PRIu64 "},", hold_s,
		    held_events, joined ? (double)held_events / joined : 0.0,
		    ev_stats);
	}
	fprintf(f, "\"cpuMs\":{\"pidsConnect\":%ld,\"pidsPhase\":%ld,"
	    "\"selfPhase\":%ld,\"selfTotal\":%ld},\"timedOut\":%s}\n",
	    cpu_conn1 - cpu_conn0, cpu_srv_phase1 - cpu_srv_phase0,
	    cpu_phase1 - cpu_phase0, self_cpu_ms(), timedout ? "true" :
	    "false");
	fflush(f);
	/* Leave without closing 10k sockets one by one. */
	_exit(timedout || joined < nclients ||
	    (M > 0 && received != expected) ? 1 : 0);
}

/* --- options ------------------------------------------------------------ */

static void
parse_addr(const char *s, struct sockaddr_in *sin, char *hp, size_t hpsz)
{
	char host[64];
	const char *colon;

	if ((colon = strrchr(s, ':')) == NULL || (size_t)(colon - s) >=
	    sizeof(host))
		die("bad address %s (want IP:PORT)", s);
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
		die("bad address %s", s);
	if ((ntohl(sin->sin_addr.s_addr) >> 24) != 127)
		die("%s: only 127.0.0.0/8 targets", s);
	snprintf(hp, hpsz, "%s", s);
}

static char *
b64(const char *s)
{
	static const char t[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(s), i, o = 0;
	char *r;

	if ((r = malloc(n * 4 / 3 + 5)) == NULL)
		die("out of memory");
	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = ((uint32_t)(unsigned char)s[i] << 16) |
		    ((uint32_t)(unsigned char)s[i + 1] << 8) |
		    (unsigned char)s[i + 2];

		r[o++] = t[v >> 18];
		r[o++] = t[(v >> 12) & 63];
		r[o++] = t[(v >> 6) & 63];
		r[o++] = t[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)(unsigned char)s[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)(unsigned char)s[i + 1] << 8;
		r[o++] = t[v >> 18];
		r[o++] = t[(v >> 12) & 63];
		r[o++] = i + 1 < n ? t[(v >> 6) & 63] : '=';
		r[o++] = '=';
	}
	r[o] = '\0';
	return r;
}

static void
load_tokens(const char *file)
{
	FILE *f;
	char line[512], id[ID_MAX + 2], tok[400];

	if ((f = fopen(file, "r")) == NULL)
		die("%s: %s", file, strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL) {
		if (line[0] == '#')
			continue;
		if (sscanf(line, "%65s %399s", id, tok) == 2)
			dev_add(id, tok);
	}
	fclose(f);
}

static void
usage(void)
{
	fprintf(stderr,
"usage: fanout --ws IP:PORT [--path P] [--basic USER:PASS]\n"
"           [--proxy-secret SECRET] [--clients N |\n"
"           --steps N1,N2,..] [--concurrency K] [--src-addrs K]\n"
"           [--settle-ms MS] [--server-pid PID] [--cpu-pid PID ...]\n"
"           [--post IP:PORT --post-path P --tokens FILE | --devices D\n"
"           --prefix P] [--heartbeats M --rate R --post-conns C]\n"
"           [--drain-ms MS] [--hold-s S --ready-file F] [--max-s S]\n"
"           [--connect-timeout-s S] [--label L]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "ws", required_argument, NULL, 'w' },
		{ "path", required_argument, NULL, 'P' },
		{ "basic", required_argument, NULL, 'B' },
		{ "proxy-secret", required_argument, NULL, 'Q' },
		{ "clients", required_argument, NULL, 'n' },
		{ "steps", required_argument, NULL, 'S' },
		{ "concurrency", required_argument, NULL, 'k' },
		{ "src-addrs", required_argument, NULL, 'a' },
		{ "settle-ms", required_argument, NULL, 's' },
		{ "server-pid", required_argument, NULL, 'p' },
		{ "cpu-pid", required_argument, NULL, 'c' },
		{ "post", required_argument, NULL, 'o' },
		{ "post-path", required_argument, NULL, 'O' },
		{ "tokens", required_argument, NULL, 't' },
		{ "devices", required_argument, NULL, 'D' },
		{ "prefix", required_argument, NULL, 'x' },
		{ "heartbeats", required_argument, NULL, 'm' },
		{ "rate", required_argument, NULL, 'r' },
		{ "post-conns", required_argument, NULL, 'C' },
		{ "post-timeout-ms", required_argument, NULL, 'T' },
		{ "drain-ms", required_argument, NULL, 'd' },
		{ "hold-s", required_argument, NULL, 'h' },
		{ "ready-file", required_argument, NULL, 'R' },
		{ "max-s", required_argument, NULL, 'X' },
		{ "connect-timeout-s", required_argument, NULL, 'Y' },
		{ "label", required_argument, NULL, 'L' },
		{ "event", required_argument, NULL, 'E' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 }
	};
	struct rlimit rl;
	struct timeval tv = { 0, 100000 };
	const char *prefix = NULL, *tokfile = NULL;
	int ch, devices = 100, i, have_ws = 0, have_post = 0;
	char *s, *tok, id[ID_MAX + 1];

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'w':
			parse_addr(optarg, &ws_sin, ws_hostport,
			    sizeof(ws_hostport));
			have_ws = 1;
			break;
		case 'P': ws_path = optarg; break;
		case 'B': basic_b64 = b64(optarg); break;
		case 'Q': proxy_secret = optarg; break;
		case 'n': nclients = atoi(optarg); break;
		case 'S':
			s = strdup(optarg);
			for (tok = strtok(s, ","); tok != NULL && nsteps < 16;
			    tok = strtok(NULL, ","))
				steps[nsteps++] = atoi(tok);
			break;
		case 'k': concurrency = atoi(optarg); break;
		case 'a': src_addrs = atoi(optarg); break;
		case 's': settle_ms = atoi(optarg); break;
		case 'p': server_pid = atoi(optarg); break;
		case 'c':
			if (ncpu_pids < 16)
				cpu_pids[ncpu_pids++] = atoi(optarg);
			break;
		case 'o':
			parse_addr(optarg, &post_sin, post_hostport,
			    sizeof(post_hostport));
			have_post = 1;
			break;
		case 'O': post_path = optarg; break;
		case 't': tokfile = optarg; break;
		case 'D': devices = atoi(optarg); break;
		case 'x': prefix = optarg; break;
		case 'm': M = atoll(optarg); break;
		case 'r': rate = atof(optarg); break;
		case 'C': post_conns = atoi(optarg); break;
		case 'T': post_timeout_ms = atoi(optarg); break;
		case 'd': drain_ms = atoi(optarg); break;
		case 'h': hold_s = atoi(optarg); break;
		case 'R': ready_file = optarg; break;
		case 'X': max_s = atoi(optarg); break;
		case 'Y': connect_timeout_s = atoi(optarg); break;
		case 'L': label = optarg; break;
		case 'E': event_name = optarg; break;
		case 'v': verbose = 1; break;
		default: usage();
		}
	}
	if (!have_ws)
		usage();
	if (nsteps > 0)
		nclients = steps[nsteps - 1];
	if (nclients <= 0 || nclients > 200000 || concurrency < 1 ||
	    src_addrs < 1 || src_addrs > 250 || post_conns < 1 ||
	    post_conns > 1024 || rate <= 0 || max_s < 1 || M < 0)
		usage();
	if (M > 0) {
		if (!have_post)
			die("--heartbeats needs --post");
		if (tokfile != NULL)
			load_tokens(tokfile);
		else {
			if (prefix == NULL)
				die("--heartbeats needs --tokens or --prefix");
			for (i = 0; i < devices; i++) {
				snprintf(id, sizeof(id), "%s%d", prefix, i);
				dev_add(id, NULL);
			}
		}
		if (ndev == 0 || M > (int64_t)ndev * 3232)
			die("need M <= devices x 3232 (%d devices)", ndev);
		hist_init(&lat);
		hist_init(&postlat);
	}

	/* Room for every client and then some, within the hard limit. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rlim_t need = (rlim_t)nclients + (rlim_t)post_conns + 256;

		if (rl.rlim_cur < need) {
			rl.rlim_cur = need < rl.rlim_max ? need : rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
		if (rl.rlim_cur < (rlim_t)nclients + (rlim_t)post_conns + 16)
			die("RLIMIT_NOFILE %lu too low for %d clients",
			    (unsigned long)rl.rlim_cur, nclients);
	}
	signal(SIGPIPE, SIG_IGN);
	if ((base = event_base_new()) == NULL)
		die("event_base_new");
	if ((clients = calloc((size_t)nclients, sizeof(*clients))) == NULL)
		die("out of memory");
	for (i = 0; i < nclients; i++)
		clients[i].idx = i;

	t_start = now_us();
	rss0 = read_rss_kb(server_pid);
	cpu_conn0 = cpu_pids_ms();
	settle_ev = evtimer_new(base, settle_cb, NULL);
	hk_ev = event_new(base, -1, EV_PERSIST, housekeeping_cb, NULL);
	event_add(hk_ev, &tv);
	target = nsteps > 0 ? steps[0] : nclients;
	logmsg("connecting %d clients to %s%s (server VmRSS %ld kB)", nclients,
	    ws_hostport, ws_path, rss0);
	t_connect0 = now_us();
	pump_connects();
	event_base_dispatch(base);
	return 1;
}
