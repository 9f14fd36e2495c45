/*
 * inbound.c: the reports devices send ("TYPE:n;id:..;password:..;..."),
 * one handler per type in a table.
 *
 * Every report names its line and password; a report whose line is
 * unknown or whose password is wrong changes nothing and is answered only
 * for req: (reg:N;status:404;), and only when its source is a known line's
 * latest address.
 * An authenticated report makes its source the line's latest address.
 * Handlers write inside the batch's group transaction (udp.c) and queue
 * their acknowledgement to be sent after its commit.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "goip.h"
#include "udpd.h"

/* RECEIVE deduplication window on (line, recvid), ms. */
#define INBOUND_RECV_WINDOW	(10 * 60 * 1000)
#define INBOUND_SENDER_MAX	64	/* bytes of srcnum, as "from" */

/* What a handler is given. */
struct inbound {
	struct packet		*pk;
	const struct sockaddr	*from;
	socklen_t		 fromlen;
	struct line_info	 li;
	char			 addr[64];	/* FROM as "HOST:PORT" */
	int64_t			 now;
};

/*
 * A handler returns 0 when it took the report (its answer queued), 1 when
 * it dropped it as malformed, -1 when the store failed (*cause set).
 */
typedef int (*inbound_fn)(struct inbound *, char **);

static int	inbound_req(struct inbound *, char **);
static int	inbound_receive(struct inbound *, char **);
static int	inbound_deliver(struct inbound *, char **);
static int	inbound_state(struct inbound *, char **);
static int	inbound_hangup(struct inbound *, char **);
static int	inbound_ack(struct inbound *, char **);

/*
 * The report types by name; any other TYPE:n of an authenticated line is
 * acknowledged "TYPE n OK" (RECORD, REMAIN, EXPIRY, CELLS, CELLINFO,
 * CGATT, USSN and whatever newer firmware sends).
 */
static const struct {
	const char	*type;
	inbound_fn	 fn;
} inbound_types[] = {
	{ "req", inbound_req },
	{ "RECEIVE", inbound_receive },
	{ "DELIVER", inbound_deliver },
	{ "STATE", inbound_state },
	{ "HANGUP", inbound_hangup },
};

/*
 * Whether S (may be NULL) is fit to store as a short device field: at most
 * PACKET_VALUE_MAX bytes (less for the slot fields), printable ASCII.
 */
static int
inbound_field_ok(const char *s, size_t max)
{
	size_t	i;

	if (s == NULL)
		return 1;
	for (i = 0; s[i] != '\0'; i++)
		if (i >= max || (unsigned char)s[i] < ' ' ||
		    (unsigned char)s[i] > '~')
			return 0;
	return 1;
}

/*
 * Whether S is a sender as POST /api/sms/receive takes one: 1 to
 * INBOUND_SENDER_MAX bytes of UTF-8 without control bytes (a number, or a
 * name such as "Bank").
 */
static int
inbound_sender_ok(const char *s)
{
	size_t	i, len;

	if (s == NULL || (len = strlen(s)) == 0 || len > INBOUND_SENDER_MAX ||
	    !util_utf8_valid(s, len))
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < ' ' || s[i] == 0x7f)
			return 0;
	return 1;
}

/* An empty field is an absent one. */
static const char *
inbound_opt(const char *s)
{
	return s != NULL && *s != '\0' ? s : NULL;
}

/*
 * req:N: a keepalive. The line's fields and the device's heartbeat are
 * stored (lib/line.c), then reg:N;status:200; is queued.
 */
static int
inbound_req(struct inbound *in, char **cause)
{
	struct packet		*pk = in->pk;
	struct line_keepalive	 ka;
	struct hb_store		 at;
	int64_t			 sig;
	int			 rebooted;
	enum store_rc		 rc;

	memset(&ka, 0, sizeof(ka));
	ka.line = in->li.id;
	ka.address = in->addr;
	ka.now = in->now;
	ka.seq = pk->n;
	ka.signal = -1;
	if (inbound_opt(pk->f[PF_SIGNAL]) != NULL) {
		if (packet_int(pk->f[PF_SIGNAL], 0, 99, &sig) == -1) {
			udp_bad(in->from, "req: bad signal");
			return 1;
		}
		ka.signal = (int)sig;
	}
	ka.gsm_status = inbound_opt(pk->f[PF_GSM_STATUS]);
	ka.num = inbound_opt(pk->f[PF_NUM]);
	ka.imei = inbound_opt(pk->f[PF_IMEI]);
	ka.imsi = inbound_opt(pk->f[PF_IMSI]);
	ka.iccid = inbound_opt(pk->f[PF_ICCID]);
	if (!inbound_field_ok(ka.gsm_status, GOIP_PHONE_MAX) ||
	    !inbound_field_ok(ka.num, GOIP_PHONE_MAX) ||
	    !inbound_field_ok(ka.imei, GOIP_PHONE_MAX) ||
	    !inbound_field_ok(ka.imsi, GOIP_PHONE_MAX) ||
	    !inbound_field_ok(ka.iccid, GOIP_PHONE_MAX)) {
		udp_bad(in->from, "req: bad field");
		return 1;
	}
	memset(&at, 0, sizeof(at));
	at.device = in->li.device;
	at.now = in->now;
	at.history = udpd.cfg->heartbeat_history;
	at.step = udpd.cfg->heartbeat_history_step;
	if ((rc = store_begin(udpd.st, cause)) != STORE_OK)
		return -1;
	if ((rc = line_keepalive(udpd.st, &ka, &rebooted, cause)) == STORE_OK)
		rc = line_heartbeat(udpd.st, &at, udpd.cfg->offline_after,
		    &udpd.evid, cause);
	if (rc != STORE_OK) {
		store_rollback(udpd.st);
		return -1;
	}
	if ((rc = store_commit(udpd.st, cause)) != STORE_OK)
		return -1;
	if (rebooted)
		log_info("inbound: line %s: counter back to %lld: rebooted",
		    in->li.line_id, (long long)pk->n);
	udp_replyf(in->from, in->fromlen, 1, "reg:%lld;status:200;",
	    (long long)pk->n);
	return 0;
}

/*
 * RECEIVE:recvid: an inbound SMS, stored through sms_receive() as POST
 * /api/sms/receive stores it, acknowledged "RECEIVE recvid OK" after the
 * commit. A recvid of this line stored within INBOUND_RECV_WINDOW is a
 * retransmit: acknowledged again, nothing stored.
 */
static int
inbound_receive(struct inbound *in, char **cause)
{
	struct packet	*pk = in->pk;
	struct sms_in	 sms;
	char		 msgid[96];
	int64_t		 id;
	struct line_recv lr;
	struct sms_recv	 at;
	struct sms_stored res;
	enum store_rc	 rc;

	if (pk->f[PF_MSG] == NULL || !inbound_sender_ok(pk->f[PF_SRCNUM]) ||
	    !util_utf8_valid(pk->f[PF_MSG], pk->msglen) ||
	    memchr(pk->f[PF_MSG], '\0', pk->msglen) != NULL) {
		udp_bad(in->from, "RECEIVE: bad srcnum or msg");
		return 1;
	}
	if ((rc = store_begin(udpd.st, cause)) != STORE_OK)
		return -1;
	lr.line = in->li.id;
	lr.recvid = pk->n;
	lr.now = in->now;
	rc = line_recv_seen(udpd.st, &lr, INBOUND_RECV_WINDOW, &id, cause);
	if (rc == STORE_NOTFOUND) {
		memset(&sms, 0, sizeof(sms));
		/* Unique: a recvid reused after the window is a new SMS. */
		snprintf(msgid, sizeof(msgid), "goip:%s:%lld:%lld",
		    in->li.line_id, (long long)pk->n, (long long)in->now);
		sms.device_id = in->li.device_id;
		sms.message_id = msgid;
		sms.slot = in->li.slot;
		sms.from = pk->f[PF_SRCNUM];
		sms.to = NULL;
		sms.text = pk->f[PF_MSG];
		sms.textlen = pk->msglen;
		sms.received_at = -1;
		at.device = in->li.device;
		at.now = in->now;
		rc = sms_receive(udpd.st, &sms, &at, &res, cause);
		if (rc == STORE_OK && res.evid != 0)
			udpd.evid = res.evid;
		if (rc == STORE_OK)
			rc = line_recv_store(udpd.st, &lr, res.id, cause);
	}
	if (rc != STORE_OK) {
		store_rollback(udpd.st);
		return -1;
	}
	if ((rc = store_commit(udpd.st, cause)) != STORE_OK)
		return -1;
	udp_replyf(in->from, in->fromlen, 1, "RECEIVE %lld OK",
	    (long long)pk->n);
	return 0;
}

/*
 * DELIVER:n: a delivery report for sms_no; state 0 is delivered, others
 * are kept raw (lib/line.c line_deliver()). Acknowledged "DELIVER n OK".
 */
static int
inbound_deliver(struct inbound *in, char **cause)
{
	struct packet	*pk = in->pk;
	struct line_deliver dl;
	enum store_rc	 rc;

	if (packet_int(pk->f[PF_SMS_NO], 0, INT32_MAX, &dl.sms_no) == -1 ||
	    pk->f[PF_STATE] == NULL ||
	    !packet_token_ok(pk->f[PF_STATE])) {
		udp_bad(in->from, "DELIVER: bad sms_no or state");
		return 1;
	}
	dl.state = pk->f[PF_STATE];
	dl.now = in->now;
	if ((rc = store_begin(udpd.st, cause)) != STORE_OK)
		return -1;
	if ((rc = line_deliver(udpd.st, &in->li, &dl, &udpd.evid, cause)) !=
	    STORE_OK) {
		store_rollback(udpd.st);
		return -1;
	}
	if ((rc = store_commit(udpd.st, cause)) != STORE_OK)
		return -1;
	udp_replyf(in->from, in->fromlen, 1, "DELIVER %lld OK",
	    (long long)pk->n);
	return 0;
}

/* Store a call state or hang-up cause, then acknowledge "TYPE n OK". */
static int
inbound_call(struct inbound *in, const char *state, const char *why,
    char **cause)
{
	enum store_rc	 rc;

	if (!inbound_field_ok(state, PACKET_VALUE_MAX) ||
	    !inbound_field_ok(why, PACKET_VALUE_MAX)) {
		udp_bad(in->from, "STATE/HANGUP: bad field");
		return 1;
	}
	if ((rc = store_begin(udpd.st, cause)) != STORE_OK)
		return -1;
	if ((rc = line_call_state(udpd.st, in->li.id, state, why, cause)) !=
	    STORE_OK) {
		store_rollback(udpd.st);
		return -1;
	}
	if ((rc = store_commit(udpd.st, cause)) != STORE_OK)
		return -1;
	return inbound_ack(in, cause);
}

/* STATE:n;...;gsm_remain_state:TEXT (state: on old firmware): the call state. */
static int
inbound_state(struct inbound *in, char **cause)
{
	const char	*st = in->pk->f[PF_CALL_STATE];

	if (st == NULL)
		st = in->pk->f[PF_STATE];
	return inbound_call(in, inbound_opt(st), NULL, cause);
}

/* HANGUP:n;...;num:NUMBER,cause:TEXT: the cause of the last hang-up. */
static int
inbound_hangup(struct inbound *in, char **cause)
{
	const char	*num = in->pk->f[PF_NUM], *c = NULL;

	if (num != NULL && (c = strstr(num, "cause:")) != NULL)
		c += strlen("cause:");
	return inbound_call(in, "idle", c != NULL && *c != '\0' ? c :
	    "unknown", cause);
}

/* Any other report: "TYPE n OK". */
static int
inbound_ack(struct inbound *in, char **cause)
{
	(void)cause;
	udp_replyf(in->from, in->fromlen, 1, "%s %lld OK", in->pk->type,
	    (long long)in->pk->n);
	return 0;
}

/*
 * Handle report PK from FROM: authenticate its line, remember the source,
 * and run the handler of its type. Failures of the store are logged and
 * leave the report unanswered: the device sends it again.
 */
void
inbound_packet(struct packet *pk, const struct sockaddr *from,
    socklen_t fromlen)
{
	struct inbound	 in;
	char		*cause = NULL;
	const char	*pw = pk->f[PF_PASSWORD];
	enum store_rc	 rc;
	size_t		 i;
	int		 r;
	inbound_fn	 fn = inbound_ack;

	memset(&in, 0, sizeof(in));
	in.pk = pk;
	in.from = from;
	in.fromlen = fromlen;
	in.now = util_now_ms();
	if (pk->f[PF_ID] == NULL || !line_id_valid(pk->f[PF_ID]) ||
	    pw == NULL) {
		udp_bad(from, "no valid id or password");
		return;
	}
	rc = line_find(udpd.st, pk->f[PF_ID], &in.li, &cause);
	if (rc != STORE_OK && rc != STORE_NOTFOUND) {
		log_warnx("inbound: %s", cause != NULL ? cause : "line_find");
		free(cause);
		return;
	}
	if (rc == STORE_NOTFOUND || strlen(pw) != strlen(in.li.password) ||
	    !util_ct_equal(pw, in.li.password, strlen(pw))) {
		udp_bad(from, "unknown line or wrong password");
		/*
		 * 404 only to a known line's latest source: a misconfigured
		 * slot of a gateway we know learns it, while no datagram
		 * makes us answer an address no line authenticated from.
		 */
		if (strcmp(pk->type, "req") == 0 &&
		    peer_by_addr(from, fromlen) != NULL)
			udp_replyf(from, fromlen, 0, "reg:%lld;status:404;",
			    (long long)pk->n);
		explicit_bzero(&in.li, sizeof(in.li));
		return;
	}
	if (udp_addr_format(from, fromlen, in.addr, sizeof(in.addr)) == -1) {
		udp_bad(from, "unprintable source");
		return;
	}
	for (i = 0; i < sizeof(inbound_types) / sizeof(inbound_types[0]); i++)
		if (strcmp(inbound_types[i].type, pk->type) == 0)
			fn = inbound_types[i].fn;
	/* Only a report taken moves the line to its source (NAT). */
	if ((r = fn(&in, &cause)) == 0 &&
	    peer_update(&in.li, from, fromlen, in.addr) == NULL)
		log_warnx("inbound: line %s: no memory to remember it",
		    in.li.line_id);
	if (r == -1) {
		log_warnx("inbound: line %s: %s: %s", in.li.line_id, pk->type,
		    cause != NULL ? cause : "failed");
		free(cause);
	}
	explicit_bzero(&in.li.password, sizeof(in.li.password));
}
