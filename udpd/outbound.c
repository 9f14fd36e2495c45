/*
 * outbound.c: the sessions goip-udpd starts: outbound SMS and USSD.
 *
 * An SMS goes out in the vendor's session, server packets left, device
 * answers right:
 *
 *	MSG sendid len text		PASSWORD sendid
 *	PASSWORD sendid password	SEND sendid
 *	SEND sendid telid number	OK sendid telid [sms_no]
 *					| WAIT sendid telid
 *					| ERROR sendid telid errorstatus:N
 *	DONE sendid			DONE sendid
 *
 * Messages are taken from the outbox as a device takes them, through
 * sms_outbox_lease() and sms_report() (lib/sms.c), so their status moves
 * only forward and every change has its sms-status event. sendid and
 * telid (both the message's id) are written before the first datagram
 * (line_send_begin()). A packet unanswered for OUTBOUND_RESEND_MS is sent
 * again, identical, at most OUTBOUND_RESENDS times; then the message fails
 * with "no answer" and is never tried again on our own, since it may have
 * gone out. WAIT is never answered with another SEND (every SEND is an SMS
 * on the air): after WAIT we only wait for the OK.
 *
 * A USSD is "USSD id password code" answered "USSD id reply" or
 * "USSDERROR id error"; it is sent again no sooner than OUTBOUND_USSD_MS,
 * once, and never after a restart.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "goip.h"
#include "udpd.h"

#define OUTBOUND_POLL_MS	200	/* outbox and USSD queue read */
#define OUTBOUND_SWEEP_MS	5000	/* lines marked offline */
#define OUTBOUND_RESEND_MS	5000	/* silence before a packet is resent */
#define OUTBOUND_RESENDS	3	/* resends before "no answer" */
#define OUTBOUND_WAIT_MS	120000	/* after WAIT, for the OK */
#define OUTBOUND_USSD_MS	60000	/* silence before a USSD is resent */
#define OUTBOUND_USSD_RESENDS	1
#define OUTBOUND_SESSIONS	5	/* SMS sessions per device at once */
#define OUTBOUND_DEVICES	64	/* devices served per poll */
#define OUTBOUND_USSD_TAKE	16	/* USSD requests taken per poll */
#define OUTBOUND_LEASE_MS	(10 * 60 * 1000) /* outbox lease we take */
#define OUTBOUND_RECV_WINDOW	(10 * 60 * 1000) /* inbound.c's too */

enum session_kind {
	SESSION_SMS,
	SESSION_USSD
};

enum session_state {
	SESSION_MSG,		/* MSG sent, waiting for PASSWORD */
	SESSION_PASSWORD,	/* PASSWORD sent, waiting for SEND */
	SESSION_SEND,		/* SEND sent, waiting for OK/WAIT/ERROR */
	SESSION_WAIT,		/* the device said WAIT: only an OK now */
	SESSION_ASKED		/* USSD sent, waiting for its reply */
};

struct session {
	TAILQ_ENTRY(session)	 entry;
	enum session_kind	 kind;
	enum session_state	 state;
	int64_t			 line;		/* peer's line row id */
	int64_t			 device;
	int64_t			 id;		/* SMS or USSD id = sendid */
	char			 number[GOIP_PHONE_MAX + 1];
	char			*text;		/* SMS text or USSD code */
	size_t			 textlen;
	int			 resends;
	struct event		*timer;
};
TAILQ_HEAD(session_list, session);

static struct session_list	 outbound_sessions =
    TAILQ_HEAD_INITIALIZER(outbound_sessions);
static struct event		*outbound_poll_ev, *outbound_sweep_ev;

static void	outbound_timer_cb(evutil_socket_t, short, void *);

/* The line_info lib/line.c needs of peer P. */
static void
outbound_line(const struct peer *p, struct line_info *li)
{
	memset(li, 0, sizeof(*li));
	li->id = p->line;
	li->device = p->device;
	li->slot = p->slot;
}

/* Open SMS sessions of device DEVICE. */
static int
outbound_count(int64_t device)
{
	struct session	*s;
	int		 n = 0;

	TAILQ_FOREACH(s, &outbound_sessions, entry)
		if (s->kind == SESSION_SMS && s->device == device)
			n++;
	return n;
}

static void
outbound_free(struct session *s)
{
	struct peer	*p;

	TAILQ_REMOVE(&outbound_sessions, s, entry);
	if (s->kind == SESSION_SMS && (p = peer_get(s->line)) != NULL)
		p->sessions--;
	if (s->timer != NULL)
		event_free(s->timer);
	free(s->text);
	free(s);
}

/*
 * Send the packet of session S's state to its line's latest source, and
 * arm its timer for MS. The packet is the same every time for a state:
 * a resend is identical.
 */
static void
outbound_send(struct session *s, int64_t ms)
{
	struct peer	*p;
	struct timeval	 tv;
	char		*buf = NULL;
	int		 n = -1;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(s->timer, &tv);
	if ((p = peer_get(s->line)) == NULL)
		return;
	switch (s->state) {
	case SESSION_MSG:
		n = xasprintf(&buf, "MSG %lld %zu %.*s", (long long)s->id,
		    s->textlen, (int)s->textlen, s->text);
		break;
	case SESSION_PASSWORD:
		n = xasprintf(&buf, "PASSWORD %lld %s", (long long)s->id,
		    p->password);
		break;
	case SESSION_SEND:
		n = xasprintf(&buf, "SEND %lld %lld %s", (long long)s->id,
		    (long long)s->id, s->number);
		break;
	case SESSION_ASKED:
		n = xasprintf(&buf, "USSD %lld %s %s", (long long)s->id,
		    p->password, s->text);
		break;
	case SESSION_WAIT:
		return;
	}
	if (n == -1)
		return;
	udp_send(p, buf, (size_t)n);
	explicit_bzero(buf, (size_t)n);
	free(buf);
}

/*
 * Finish SMS session S with RESULT ("ok", "error", "timeout"), SMSNO and
 * ERROR (lib/line.c line_send_result()), in a transaction of its own or
 * the batch's. Returns 0, or -1 when the store failed (the session stays:
 * the device's next answer or the timer tries again).
 */
static int
outbound_sms_result(struct session *s, const char *result, int64_t smsno,
    const char *error)
{
	struct line_info	 li;
	struct line_result	 res;
	struct peer		*p;
	char			*cause = NULL;
	enum store_rc		 rc;

	if ((p = peer_get(s->line)) == NULL)
		return -1;
	outbound_line(p, &li);
	res.sms = s->id;
	res.result = result;
	res.sms_no = smsno;
	res.error = error;
	res.now = util_now_ms();
	if ((rc = store_begin(udpd.st, &cause)) == STORE_OK) {
		rc = line_send_result(udpd.st, &li, &res, &udpd.evid, &cause);
		if (rc == STORE_OK || rc == STORE_NOTFOUND)
			rc = store_commit(udpd.st, &cause);
		else
			store_rollback(udpd.st);
	}
	if (rc != STORE_OK) {
		log_warnx("outbound: sms %lld: %s", (long long)s->id,
		    cause != NULL ? cause : "store failed");
		free(cause);
		return -1;
	}
	return 0;
}

/* Finish USSD session S with its REPLY (LEN bytes) or ERROR. */
static int
outbound_ussd_result(struct session *s, const char *reply, size_t len,
    const char *error)
{
	struct ussd_result	 res;
	char			*cause = NULL;
	enum store_rc		 rc;

	res.id = s->id;
	res.reply = reply;
	res.len = len;
	res.error = error;
	res.now = util_now_ms();
	if ((rc = store_begin(udpd.st, &cause)) == STORE_OK) {
		rc = ussd_finish(udpd.st, &res, &udpd.evid, &cause);
		if (rc == STORE_OK || rc == STORE_NOTFOUND)
			rc = store_commit(udpd.st, &cause);
		else
			store_rollback(udpd.st);
	}
	if (rc != STORE_OK) {
		log_warnx("outbound: ussd %lld: %s", (long long)s->id,
		    cause != NULL ? cause : "store failed");
		free(cause);
		return -1;
	}
	return 0;
}

/*
 * A session's timer: resend its packet, or give up. Outside a batch, so
 * the store writes commit at once and the notifier is rung here.
 */
static void
outbound_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session	*s = arg;
	int64_t		 evid0 = udpd.evid;
	int		 max;

	(void)fd;
	(void)what;
	max = s->kind == SESSION_USSD ? OUTBOUND_USSD_RESENDS :
	    OUTBOUND_RESENDS;
	if (s->state != SESSION_WAIT && s->resends < max &&
	    peer_get(s->line) != NULL) {
		s->resends++;
		outbound_send(s, s->kind == SESSION_USSD ? OUTBOUND_USSD_MS :
		    OUTBOUND_RESEND_MS);
		return;
	}
	if (s->kind == SESSION_USSD) {
		if (outbound_ussd_result(s, NULL, 0, "no answer") == 0)
			outbound_free(s);
	} else if (outbound_sms_result(s, "timeout", -1, s->state ==
	    SESSION_WAIT ? "no answer after WAIT: fate unknown" :
	    "no answer: fate unknown") == 0)
		outbound_free(s);
	else
		outbound_send(s, OUTBOUND_RESEND_MS);	/* try again later */
	if (udpd.evid != evid0)
		evlog_notify(udpd.cfg->notify_socket, udpd.evid);
}

/* A new session of KIND for id ID on line P; the caller sets the rest. */
static struct session *
outbound_new(enum session_kind kind, struct peer *p, int64_t id)
{
	struct session	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if ((s->timer = evtimer_new(udpd.base, outbound_timer_cb, s)) ==
	    NULL) {
		free(s);
		return NULL;
	}
	s->kind = kind;
	s->line = p->line;
	s->device = p->device;
	s->id = id;
	TAILQ_INSERT_TAIL(&outbound_sessions, s, entry);
	if (kind == SESSION_SMS)
		p->sessions++;
	return s;
}

/*
 * Take the due messages of device DEVICE, up to its free sessions, in one
 * transaction: each gets its send row (sendid, telid) before any datagram,
 * or fails at once when it cannot go out (no line known on its slot yet,
 * a text or number the protocol cannot carry, a send already tried whose
 * fate is unknown). After the commit the sessions start.
 */
static void
outbound_device(int64_t device, int64_t now)
{
	struct sms_lease	 l;
	struct sms_status	 rep;
	struct line_send	 sd;
	struct json_object	*arr = NULL, *o;
	struct session		*s, *started[OUTBOUND_SESSIONS];
	struct peer		*p;
	const char		*to, *text, *why;
	char			*cause = NULL;
	int64_t			 id;
	enum store_rc		 rc;
	size_t			 i, len;
	int			 nstarted = 0, changed, free_slots, j;

	if ((free_slots = OUTBOUND_SESSIONS - outbound_count(device)) <= 0)
		return;
	memset(&l, 0, sizeof(l));
	l.device = device;
	l.max = free_slots;
	l.now = now;
	l.lease = OUTBOUND_LEASE_MS;
	l.attempts = udpd.cfg->send_attempts;
	if ((rc = store_begin(udpd.st, &cause)) != STORE_OK)
		goto fail;
	if ((rc = sms_outbox_lease(udpd.st, &l, &arr, &udpd.evid, &cause)) !=
	    STORE_OK)
		goto fail;
	for (i = 0; i < json_object_array_length(arr); i++) {
		o = json_object_array_get_idx(arr, i);
		id = json_object_get_int64(json_object_object_get(o, "id"));
		to = json_object_get_string(json_object_object_get(o, "to"));
		text = json_object_get_string(json_object_object_get(o,
		    "text"));
		len = (size_t)json_object_get_string_len(
		    json_object_object_get(o, "text"));
		p = peer_slot(device, json_object_get_int(
		    json_object_object_get(o, "slot")));
		why = NULL;
		memset(&rep, 0, sizeof(rep));
		rep.attempts = 0;
		if (p == NULL) {
			why = "no GoIP line of this slot has connected";
			rep.attempts = udpd.cfg->send_attempts;
		} else if (len > PACKET_MSG_MAX)
			why = "text longer than the 3000 bytes of a GoIP MSG";
		else if (to == NULL || !packet_token_ok(to) ||
		    strlen(to) > GOIP_PHONE_MAX)
			why = "number unfit for a GoIP SEND";
		else {
			sd.sms = sd.sendid = sd.telid = id;
			sd.line = p->line;
			sd.now = now;
			rc = line_send_begin(udpd.st, &sd, &cause);
			if (rc == STORE_CONFLICT) {
				why = "sent before with fate unknown";
				free(cause);
				cause = NULL;
			} else if (rc != STORE_OK)
				goto fail;
		}
		if (why != NULL) {
			rep.device = device;
			rep.id = id;
			rep.status = "failed";
			rep.error = why;
			rep.now = now;
			if ((rc = sms_report(udpd.st, &rep, &changed,
			    &udpd.evid, &cause)) != STORE_OK)
				goto fail;
			continue;
		}
		if ((s = outbound_new(SESSION_SMS, p, id)) == NULL ||
		    (s->text = malloc(len + 1)) == NULL) {
			if (s != NULL)
				outbound_free(s);
			xasprintf(&cause, "out of memory");
			rc = STORE_ERROR;
			goto fail;
		}
		memcpy(s->text, text, len + 1);
		s->textlen = len;
		snprintf(s->number, sizeof(s->number), "%s", to);
		s->state = SESSION_MSG;
		started[nstarted++] = s;
	}
	if ((rc = store_commit(udpd.st, &cause)) != STORE_OK) {
		for (j = 0; j < nstarted; j++)
			outbound_free(started[j]);
		goto out;
	}
	for (j = 0; j < nstarted; j++)
		outbound_send(started[j], OUTBOUND_RESEND_MS);
	json_object_put(arr);
	return;
fail:
	store_rollback(udpd.st);
	for (j = 0; j < nstarted; j++)
		outbound_free(started[j]);
out:
	if (rc != STORE_BUSY)
		log_warnx("outbound: device %lld: %s", (long long)device,
		    cause != NULL ? cause : "failed");
	free(cause);
	json_object_put(arr);
}

/*
 * Take queued USSD requests, in one transaction: each is marked sent
 * before it is sent (it is never sent again after a restart), or fails at
 * once when its line has not connected since start-up.
 */
static void
outbound_ussd(int64_t now)
{
	struct ussd_job		 jobs[OUTBOUND_USSD_TAKE];
	struct ussd_result	 res;
	struct session		*s, *started[OUTBOUND_USSD_TAKE];
	struct peer		*p;
	char			*cause = NULL;
	int			 n, i, queued, nstarted = 0;

	if (ussd_queued(udpd.st, &queued, &cause) != STORE_OK) {
		log_warnx("outbound: ussd: %s", cause != NULL ? cause :
		    "failed");
		free(cause);
		return;
	}
	if (!queued)
		return;
	if (store_begin(udpd.st, &cause) != STORE_OK)
		goto fail;
	n = OUTBOUND_USSD_TAKE;
	if (ussd_take(udpd.st, now, jobs, &n, &cause) != STORE_OK)
		goto fail;
	if (n == 0) {
		store_rollback(udpd.st);
		return;
	}
	memset(&res, 0, sizeof(res));
	res.now = now;
	for (i = 0; i < n; i++) {
		if ((p = peer_get(jobs[i].line)) == NULL ||
		    !packet_token_ok(jobs[i].code)) {
			res.id = jobs[i].id;
			res.error = p == NULL ? "the line has not connected" :
			    "bad code";
			if (ussd_finish(udpd.st, &res, &udpd.evid, &cause) !=
			    STORE_OK)
				goto fail;
			continue;
		}
		if ((s = outbound_new(SESSION_USSD, p, jobs[i].id)) == NULL ||
		    (s->text = strdup(jobs[i].code)) == NULL) {
			if (s != NULL)
				outbound_free(s);
			xasprintf(&cause, "out of memory");
			goto fail;
		}
		s->textlen = strlen(s->text);
		s->state = SESSION_ASKED;
		started[nstarted++] = s;
	}
	if (store_commit(udpd.st, &cause) != STORE_OK) {
		for (i = 0; i < nstarted; i++)
			outbound_free(started[i]);
		log_warnx("outbound: ussd: %s", cause != NULL ? cause :
		    "commit failed");
		free(cause);
		return;
	}
	for (i = 0; i < nstarted; i++)
		outbound_send(started[i], OUTBOUND_USSD_MS);
	return;
fail:
	store_rollback(udpd.st);
	for (i = 0; i < nstarted; i++)
		outbound_free(started[i]);
	log_warnx("outbound: ussd: %s", cause != NULL ? cause : "failed");
	free(cause);
}

/* Every OUTBOUND_POLL_MS: start what the outbox and USSD queue hold. */
static void
outbound_poll_cb(evutil_socket_t fd, short what, void *arg)
{
	int64_t		 rows[OUTBOUND_DEVICES], now, evid0 = udpd.evid;
	char		*cause = NULL;
	int		 n = OUTBOUND_DEVICES, i;

	(void)fd;
	(void)what;
	(void)arg;
	now = util_now_ms();
	if (line_outbox_devices(udpd.st, now, rows, &n, &cause) != STORE_OK) {
		log_warnx("outbound: %s", cause != NULL ? cause : "outbox");
		free(cause);
		n = 0;
	}
	for (i = 0; i < n; i++)
		outbound_device(rows[i], now);
	outbound_ussd(now);
	if (udpd.evid != evid0)
		evlog_notify(udpd.cfg->notify_socket, udpd.evid);
}

/* Every OUTBOUND_SWEEP_MS: silent lines become offline (line_sweep()). */
static void
outbound_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct line_sweep	 sw;
	char			*cause = NULL;
	int64_t			 evid0 = udpd.evid;
	int			 n;

	(void)fd;
	(void)what;
	(void)arg;
	sw.now = util_now_ms();
	sw.offline_after = udpd.cfg->offline_after;
	sw.window = OUTBOUND_RECV_WINDOW;
	if (line_sweep(udpd.st, &sw, &n, &udpd.evid, &cause) != STORE_OK) {
		log_warnx("outbound: sweep: %s", cause != NULL ? cause :
		    "failed");
		free(cause);
	}
	if (udpd.evid != evid0)
		evlog_notify(udpd.cfg->notify_socket, udpd.evid);
}

/* The SMS session of line P's address with SENDID, or NULL. */
static struct session *
outbound_find(enum session_kind kind, const struct packet *pk,
    const struct sockaddr *from, socklen_t fromlen)
{
	struct session	*s;
	struct peer	*p;
	int64_t		 sendid;

	if (pk->nwords < 1 || packet_int(pk->w[0], INT32_MIN, INT64_MAX,
	    &sendid) == -1)
		return NULL;
	TAILQ_FOREACH(s, &outbound_sessions, entry)
		if (s->kind == kind && s->id == sendid &&
		    (p = peer_get(s->line)) != NULL &&
		    peer_same_addr(p, from, fromlen))
			return s;
	return NULL;
}

/* Whether word I of PK is session S's telid. */
static int
outbound_telid(const struct session *s, const struct packet *pk, int i)
{
	int64_t	telid;

	return pk->nwords > i && packet_int(pk->w[i], INT32_MIN, INT64_MAX,
	    &telid) == 0 && telid == s->id;
}

typedef void (*answer_fn)(struct session *, const struct packet *,
    const struct sockaddr *, socklen_t);

/* PASSWORD sendid: the device asks for the line's password. */
static void
answer_password(struct session *s, const struct packet *pk,
    const struct sockaddr *from, socklen_t fromlen)
{
	(void)pk;
	(void)from;
	(void)fromlen;
	if (s->state == SESSION_MSG) {
		s->state = SESSION_PASSWORD;
		s->resends = 0;
		outbound_send(s, OUTBOUND_RESEND_MS);
	}
}

/*
 * SEND sendid: the device asks for the number. Answered once; a repeat
 * is answered by the timer's identical resend only.
 */
static void
answer_send(struct session *s, const struct packet *pk,
    const struct sockaddr *from, socklen_t fromlen)
{
	(void)pk;
	(void)from;
	(void)fromlen;
	if (s->state == SESSION_MSG || s->state == SESSION_PASSWORD) {
		s->state = SESSION_SEND;
		s->resends = 0;
		outbound_send(s, OUTBOUND_RESEND_MS);
	}
}

/* OK sendid telid [sms_no]: sent. DONE closes the session. */
static void
answer_ok(struct session *s, const struct packet *pk,
    const struct sockaddr *from, socklen_t fromlen)
{
	int64_t	smsno = -1;

	if (!outbound_telid(s, pk, 1) || (s->state != SESSION_SEND &&
	    s->state != SESSION_WAIT)) {
		udp_bad(from, "OK out of turn");
		return;
	}
	if (pk->nwords > 2 && packet_int(pk->w[2], 0, INT32_MAX, &smsno) ==
	    -1)
		smsno = -1;
	if (outbound_sms_result(s, "ok", smsno, NULL) == -1)
		return;
	udp_replyf(from, fromlen, 1, "DONE %lld", (long long)s->id);
	outbound_free(s);
}

/* WAIT sendid telid: the device queued it; never SEND again. */
static void
answer_wait(struct session *s, const struct packet *pk,
    const struct sockaddr *from, socklen_t fromlen)
{
	struct timeval	tv = { OUTBOUND_WAIT_MS / 1000, 0 };

	(void)fromlen;
	if (!outbound_telid(s, pk, 1) || (s->state != SESSION_SEND &&
	    s->state != SESSION_WAIT)) {
		udp_bad(from, "WAIT out of turn");
		return;
	}
	s->state = SESSION_WAIT;
	evtimer_add(s->timer, &tv);
}

/* ERROR sendid [telid] [errorstatus:N]: failed with the device's error. */
static void
answer_error(struct session *s, const struct packet *pk,
    const struct sockaddr *from, socklen_t fromlen)
{
	char		 why[PACKET_VALUE_MAX + 32];
	const char	*rest;

	rest = pk->nwords > 1 ? pk->rest + (pk->w[1] - pk->w[0]) : "";
	snprintf(why, sizeof(why), "GoIP error: %.*s", (int)(pk->rest +
	    pk->restlen - rest < PACKET_VALUE_MAX ? pk->rest + pk->restlen -
	    rest : PACKET_VALUE_MAX), rest);
	for (rest = why; *rest != '\0'; rest++)
		if ((unsigned char)*rest < ' ')
			why[rest - why] = ' ';
	if (outbound_sms_result(s, "error", -1, why) == -1)
		return;
	udp_replyf(from, fromlen, 1, "DONE %lld", (long long)s->id);
	outbound_free(s);
}

/* USSD sendid reply / USSDERROR sendid error. */
static void
answer_ussd(struct session *s, const struct packet *pk,
    const struct sockaddr *from, socklen_t fromlen)
{
	const char	*r = "";
	size_t		 len = 0;
	char		 err[PACKET_VALUE_MAX + 1];

	(void)fromlen;
	if (pk->nwords > 1) {
		r = pk->rest + (pk->w[1] - pk->w[0]);
		len = pk->rest + pk->restlen - r;
	}
	len = packet_ussd_trim(r, len);
	if (!util_utf8_valid(r, len)) {
		udp_bad(from, "USSD reply not UTF-8");
		return;
	}
	if (strcmp(pk->type, "USSDERROR") == 0) {
		snprintf(err, sizeof(err), "%.*s", (int)len, r);
		if (outbound_ussd_result(s, NULL, 0, err) == 0)
			outbound_free(s);
	} else if (outbound_ussd_result(s, r, len, NULL) == 0)
		outbound_free(s);
}

/* The device's answers inside a session, by type. */
static const struct {
	const char		*type;
	enum session_kind	 kind;
	answer_fn		 fn;
} outbound_answers[] = {
	{ "PASSWORD", SESSION_SMS, answer_password },
	{ "SEND", SESSION_SMS, answer_send },
	{ "OK", SESSION_SMS, answer_ok },
	{ "WAIT", SESSION_SMS, answer_wait },
	{ "ERROR", SESSION_SMS, answer_error },
	{ "USSD", SESSION_USSD, answer_ussd },
	{ "USSDERROR", SESSION_USSD, answer_ussd },
};

/*
 * A "TYPE sendid ..." datagram from FROM: the answer of a session started
 * with the line whose latest source FROM is. DONE needs nothing; an OK or
 * ERROR of a session already closed (our DONE was lost) is answered DONE
 * again; anything else is dropped.
 */
void
outbound_answer(const struct packet *pk, const struct sockaddr *from,
    socklen_t fromlen)
{
	struct session	*s;
	int64_t		 sendid;
	size_t		 i;

	if (strcmp(pk->type, "DONE") == 0)
		return;
	for (i = 0; i < sizeof(outbound_answers) /
	    sizeof(outbound_answers[0]); i++)
		if (strcmp(outbound_answers[i].type, pk->type) == 0)
			break;
	if (i == sizeof(outbound_answers) / sizeof(outbound_answers[0])) {
		udp_bad(from, "unknown packet type");
		return;
	}
	if ((s = outbound_find(outbound_answers[i].kind, pk, from,
	    fromlen)) == NULL) {
		if ((strcmp(pk->type, "OK") == 0 ||
		    strcmp(pk->type, "ERROR") == 0) &&
		    peer_by_addr(from, fromlen) != NULL &&
		    packet_int(pk->w[0], INT32_MIN, INT64_MAX, &sendid) == 0) {
			udp_replyf(from, fromlen, 0, "DONE %lld",
			    (long long)sendid);
			return;
		}
		udp_bad(from, "answer of no session");
		return;
	}
	outbound_answers[i].fn(s, pk, from, fromlen);
}

/*
 * Start: what a previous goip-udpd left in flight fails (SMS: fate
 * unknown; USSD: never sent again), then the poll and sweep timers run.
 */
void
outbound_init(void)
{
	struct timeval	 poll = { 0, OUTBOUND_POLL_MS * 1000 };
	struct timeval	 sweep = { OUTBOUND_SWEEP_MS / 1000, 0 };
	char		*cause = NULL;
	int64_t		 now = util_now_ms();
	int		 n;

	if (line_sends_abandon(udpd.st, now, &n, &udpd.evid, &cause) !=
	    STORE_OK)
		fatalx("outbound: %s", cause);
	if (n > 0)
		log_warnx("outbound: %d SMS in flight at the last stop failed "
		    "(fate unknown)", n);
	if (ussd_abandon(udpd.st, now, &n, &udpd.evid, &cause) != STORE_OK)
		fatalx("outbound: %s", cause);
	if (n > 0)
		log_warnx("outbound: %d USSD in flight at the last stop "
		    "failed", n);
	if (udpd.evid != 0)
		evlog_notify(udpd.cfg->notify_socket, udpd.evid);
	outbound_poll_ev = event_new(udpd.base, -1, EV_PERSIST,
	    outbound_poll_cb, NULL);
	outbound_sweep_ev = event_new(udpd.base, -1, EV_PERSIST,
	    outbound_sweep_cb, NULL);
	if (outbound_poll_ev == NULL || outbound_sweep_ev == NULL ||
	    event_add(outbound_poll_ev, &poll) == -1 ||
	    event_add(outbound_sweep_ev, &sweep) == -1)
		fatalx("outbound: timers");
}

/*
 * Stop: no new session; the open ones are dropped as they are (their send
 * rows stay open, so the next start fails them as fate unknown).
 */
void
outbound_shutdown(void)
{
	struct session	*s;

	if (outbound_poll_ev != NULL)
		event_free(outbound_poll_ev);
	if (outbound_sweep_ev != NULL)
		event_free(outbound_sweep_ev);
	outbound_poll_ev = outbound_sweep_ev = NULL;
	while ((s = TAILQ_FIRST(&outbound_sessions)) != NULL)
		outbound_free(s);
}
