/*
 * line.c: GoIP lines (SIM slots speaking the UDP "SMS server" protocol),
 * their keepalives, the RECEIVE deduplication window and the outbound
 * sessions goip-udpd runs on them. SQL for the goip_* tables of
 * sql/003-goip-lines.sql lives here and in ussd.c only.
 *
 * Writers run inside the caller's transaction unless they say otherwise,
 * and append their events there.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <json-c/json.h>
#include <sqlite3.h>

#include "goip.h"
#include "store_int.h"

#define LINE_CSQ_MAX	31	/* AT+CSQ: 0-31, 99 unknown */
#define LINE_DELIVER_KEEP (86400LL * 1000)	/* ms an early DELIVER waits */

/* Lines one sweep marks offline at most; the SQL text spells the same. */
#define LINE_SWEEP_BATCH	256
#define LINE_SWEEP_BATCH_SQL	"256"

/* Whether text column COL of STMT holds S. */
static int
line_column_is(sqlite3_stmt *stmt, int col, const char *s)
{
	return sqlite3_column_type(stmt, col) != SQLITE_NULL &&
	    strcmp((const char *)sqlite3_column_text(stmt, col), s) == 0;
}

/*
 * Write a new line password to PW: letters and digits only, since the
 * password travels inside space-separated server packets. Returns 0, or -1
 * without randomness.
 */
static int
line_password_new(char pw[GOIP_LINE_PASSWORD_LEN + 1])
{
	static const char	 a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char		 r[64];
	size_t			 i, o = 0;
	ssize_t			 n;

	while (o < GOIP_LINE_PASSWORD_LEN) {
		do {
			n = getrandom(r, sizeof(r), 0);
		} while (n == -1 && errno == EINTR);
		if (n != (ssize_t)sizeof(r))
			return -1;
		/* 248 = 4 * 62: no bias towards the first letters. */
		for (i = 0; i < sizeof(r) && o < GOIP_LINE_PASSWORD_LEN; i++)
			if (r[i] < 4 * (sizeof(a) - 1))
				pw[o++] = a[r[i] % (sizeof(a) - 1)];
	}
	pw[o] = '\0';
	return 0;
}

/*
 * Whether S may be a line id: 1 to GOIP_LINE_ID_MAX bytes of letters,
 * digits, '.', '_' and '-' (never ';', ':', spaces or control bytes, which
 * would break a packet).
 */
int
line_id_valid(const char *s)
{
	size_t	i;

	for (i = 0; s[i] != '\0'; i++) {
		if (i >= GOIP_LINE_ID_MAX)
			return 0;
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return 0;
	}
	return i > 0;
}

/*
 * Add line LN->line_id on LN->slot of device LN->device with a new
 * password written to PW. Own transaction. STORE_NOTFOUND when the device
 * does not exist, STORE_CONFLICT when the id or the slot is taken.
 */
enum store_rc
line_add(struct store *st, const struct line_new *ln,
    char pw[GOIP_LINE_PASSWORD_LEN + 1], char **cause)
{
	static const char *const sql = "INSERT INTO goip_lines(device, slot, "
	    "line_id, password, created_at) VALUES (?, ?, ?, ?, ?)";
	sqlite3_stmt	*stmt;
	int64_t		 rowid;
	enum store_rc	 rc;

	if (line_password_new(pw) == -1) {
		xasprintf(cause, "no randomness for a password");
		return STORE_ERROR;
	}
	if ((rc = store_begin(st, cause)) != STORE_OK)
		return rc;
	if ((rc = device_lookup(st, ln->device, &rowid, cause)) != STORE_OK)
		goto fail;
	if ((rc = store_stmt(st, sql, &stmt, cause)) != STORE_OK)
		goto fail;
	store_bind(stmt, "lissl", rowid, ln->slot, ln->line_id, pw,
	    util_now_ms());
	if ((rc = store_run(st, stmt, cause)) != STORE_OK)
		goto fail;
	return store_commit(st, cause);
fail:
	store_rollback(st);
	return rc;
}

/* Remove line LINEID with its history. Own transaction. */
enum store_rc
line_remove(struct store *st, const char *lineid, char **cause)
{
	return store_write(st, "DELETE FROM goip_lines WHERE line_id = ?",
	    cause, "s", lineid);
}

/*
 * Give line LINEID a new password, written to PW. Own transaction. The old
 * one stops working at once: the device must be given the new one.
 */
enum store_rc
line_password(struct store *st, const char *lineid,
    char pw[GOIP_LINE_PASSWORD_LEN + 1], char **cause)
{
	if (line_password_new(pw) == -1) {
		xasprintf(cause, "no randomness for a password");
		return STORE_ERROR;
	}
	return store_write(st, "UPDATE goip_lines SET password = ? "
	    "WHERE line_id = ?", cause, "ss", pw, lineid);
}

/*
 * goipctl line list: one line per GoIP line, of device DEVICE (its row id)
 * or of every device (-1). Passwords are not shown: they are printed once,
 * by line add and line password.
 */
enum store_rc
line_list(struct store *st, int64_t device, FILE *fp, char **cause)
{
	static const char *const sql = "SELECT d.device_id, l.slot, "
	    "l.line_id, l.online, l.last_seen, COALESCE(l.address, '-') "
	    "FROM goip_lines l JOIN devices d ON d.id = l.device "
	    "WHERE ?1 < 0 OR l.device = ?1 ORDER BY d.device_id, l.slot";
	sqlite3_stmt	*stmt;
	char		 t[64];
	int		 rc;

	if (store_stmt(st, sql, &stmt, cause) != STORE_OK)
		return st->lastrc;
	store_bind(stmt, "l", device);
	fprintf(fp, "%-24s %-4s %-24s %-7s %-24s %s\n", "DEVICE", "SLOT",
	    "LINE", "STATUS", "LAST SEEN", "ADDRESS");
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (sqlite3_column_type(stmt, 4) == SQLITE_NULL ||
		    util_time_format(sqlite3_column_int64(stmt, 4), t,
		    sizeof(t)) == -1)
			snprintf(t, sizeof(t), "never");
		fprintf(fp, "%-24s %-4d %-24s %-7s %-24s %s\n",
		    sqlite3_column_text(stmt, 0), sqlite3_column_int(stmt, 1),
		    sqlite3_column_text(stmt, 2), sqlite3_column_int(stmt, 3) ?
		    "online" : "offline", t, sqlite3_column_text(stmt, 5));
	}
	sqlite3_reset(stmt);
	return store_rc(st, rc, cause);
}

/*
 * Fill LI with line LINEID. STORE_NOTFOUND when there is no such line.
 * The password is compared by the caller (util_ct_equal()).
 */
enum store_rc
line_find(struct store *st, const char *lineid, struct line_info *li,
    char **cause)
{
	static const char *const sql = "SELECT l.id, l.device, l.slot, "
	    "l.line_id, l.password, d.device_id FROM goip_lines l "
	    "JOIN devices d ON d.id = l.device WHERE l.line_id = ?";
	sqlite3_stmt	*stmt;
	enum store_rc	 ret = STORE_NOTFOUND;
	int		 rc;

	if (store_stmt(st, sql, &stmt, cause) != STORE_OK)
		return st->lastrc;
	store_bind(stmt, "s", lineid);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		li->id = sqlite3_column_int64(stmt, 0);
		li->device = sqlite3_column_int64(stmt, 1);
		li->slot = sqlite3_column_int(stmt, 2);
		snprintf(li->line_id, sizeof(li->line_id), "%s",
		    sqlite3_column_text(stmt, 3));
		snprintf(li->password, sizeof(li->password), "%s",
		    sqlite3_column_text(stmt, 4));
		snprintf(li->device_id, sizeof(li->device_id), "%s",
		    sqlite3_column_text(stmt, 5));
		ret = STORE_OK;
	} else if (rc != SQLITE_DONE)
		ret = store_rc(st, rc, cause);
	sqlite3_reset(stmt);
	return ret;
}

/* CSQ (0-31) as a percentage; -1 for 99 (unknown) or anything else. */
int
line_csq_percent(int csq)
{
	if (csq < 0 || csq > LINE_CSQ_MAX)
		return -1;
	return (csq * 100 + LINE_CSQ_MAX / 2) / LINE_CSQ_MAX;
}

/* CSQ (0-31) in dBm (-113 to -51); 0 for unknown. */
int
line_csq_dbm(int csq)
{
	if (csq < 0 || csq > LINE_CSQ_MAX)
		return 0;
	return -113 + 2 * csq;
}

/* A device's heartbeat built from its lines, with the texts it points to. */
struct line_hb {
	struct heartbeat hb;
	char		 text[GOIP_SLOTS_MAX][3][GOIP_PHONE_MAX + 1];
};

/*
 * Build the heartbeat of device DEVICE from its lines into LH. A line seen
 * since SINCE reports its SIM as ready when its GSM status is LOGIN and as
 * absent otherwise; a silent line reports "error" without a signal. The
 * device's signal is its best line's.
 */
static enum store_rc
line_heartbeat_build(struct store *st, int64_t device, int64_t since,
    struct line_hb *lh, char **cause)
{
	static const char *const sql = "SELECT slot, gsm_status, num, "
	    "signal, imsi, iccid, last_seen >= ?2 FROM goip_lines "
	    "WHERE device = ?1 AND last_seen IS NOT NULL ORDER BY slot";
	sqlite3_stmt	*stmt;
	struct heartbeat *hb = &lh->hb;
	struct hb_slot	*s;
	char		(*t)[GOIP_PHONE_MAX + 1];
	int		 rc, live, csq;

	memset(lh, 0, sizeof(*lh));
	hb->battery = hb->charging = hb->signal = -1;
	hb->uptime = -1;
	if (store_stmt(st, sql, &stmt, cause) != STORE_OK)
		return st->lastrc;
	store_bind(stmt, "ll", device, since);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW &&
	    hb->nslots < GOIP_SLOTS_MAX) {
		s = &hb->slots[hb->nslots];
		t = lh->text[hb->nslots];
		live = sqlite3_column_int(stmt, 6);
		s->slot = sqlite3_column_int(stmt, 0);
		csq = sqlite3_column_type(stmt, 3) == SQLITE_NULL ? -1 :
		    sqlite3_column_int(stmt, 3);
		s->signal = live ? line_csq_percent(csq) : -1;
		if (!live)
			s->status = "error";
		else if (line_column_is(stmt, 1, "LOGIN"))
			s->status = "ready";
		else
			s->status = "absent";
		s->registration = live && strcmp(s->status, "ready") == 0 ?
		    "home" : "none";
		snprintf(t[0], sizeof(t[0]), "%s",
		    sqlite3_column_type(stmt, 2) == SQLITE_NULL ? "" :
		    (const char *)sqlite3_column_text(stmt, 2));
		snprintf(t[1], sizeof(t[1]), "%s",
		    sqlite3_column_type(stmt, 4) == SQLITE_NULL ? "" :
		    (const char *)sqlite3_column_text(stmt, 4));
		snprintf(t[2], sizeof(t[2]), "%s",
		    sqlite3_column_type(stmt, 5) == SQLITE_NULL ? "" :
		    (const char *)sqlite3_column_text(stmt, 5));
		s->phone = t[0][0] != '\0' ? t[0] : NULL;
		s->imsi = t[1][0] != '\0' ? t[1] : NULL;
		s->iccid = t[2][0] != '\0' ? t[2] : NULL;
		if (s->signal > hb->signal)
			hb->signal = s->signal;
		hb->nslots++;
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return store_rc(st, rc, cause);
	return STORE_OK;
}

/*
 * A keepalive KA: store the line's fields, its source and KA->now as its
 * last sight, inside the caller's transaction. *REBOOTED is set when the
 * device's counter went back (req:1 after a higher one). The device's
 * heartbeat is line_heartbeat()'s, called next.
 */
enum store_rc
line_keepalive(struct store *st, const struct line_keepalive *ka,
    int *rebooted, char **cause)
{
	static const char *const sel = "SELECT req_seq FROM goip_lines "
	    "WHERE id = ?";
	static const char *const upd = "UPDATE goip_lines SET address = ?2, "
	    "last_seen = ?3, online = 1, req_seq = ?4, "
	    "gsm_status = COALESCE(?5, gsm_status), num = COALESCE(?6, num), "
	    "signal = COALESCE(?7, signal), imei = COALESCE(?8, imei), "
	    "imsi = COALESCE(?9, imsi), iccid = COALESCE(?10, iccid) "
	    "WHERE id = ?1";
	sqlite3_stmt	*stmt;
	int		 r;

	*rebooted = 0;
	if (store_stmt(st, sel, &stmt, cause) != STORE_OK)
		return st->lastrc;
	store_bind(stmt, "l", ka->line);
	if ((r = sqlite3_step(stmt)) == SQLITE_ROW)
		*rebooted = sqlite3_column_type(stmt, 0) != SQLITE_NULL &&
		    ka->seq < sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	if (r != SQLITE_ROW)
		return store_rc(st, r == SQLITE_DONE ? SQLITE_ERROR : r, cause);
	if (store_stmt(st, upd, &stmt, cause) != STORE_OK)
		return st->lastrc;
	store_bind(stmt, "lsllssnsss", ka->line, ka->address, ka->now,
	    ka->seq, ka->gsm_status, ka->num, ka->signal, ka->imei, ka->imsi,
	    ka->iccid);
	return store_run(st, stmt, cause);
}

/*
 * Store the heartbeat of device AT->device built from all its lines
 * (device_heartbeat(), with its device-heartbeat and device-status-change
 * events) as POST /api/device/heartbeat would, inside the caller's
 * transaction. A line silent for OFFLINE_AFTER ms before AT->now shows as
 * a slot in error. *EVID gets the last event id.
 */
enum store_rc
line_heartbeat(struct store *st, const struct hb_store *at,
    int64_t offline_after, int64_t *evid, char **cause)
{
	struct line_hb	 lh;
	enum store_rc	 rc;

	if ((rc = line_heartbeat_build(st, at->device, at->now - offline_after,
	    &lh, cause)) != STORE_OK)
		return rc;
	return device_heartbeat(st, &lh.hb, at, evid, cause);
}

/*
 * Store the latest STATE (call state) or HANGUP cause of line LINE; NULL
 * leaves the other as it is.
 */
enum store_rc
line_call_state(struct store *st, int64_t line, const char *state,
    const char *cause_text, char **cause)
{
	static const char *const sql = "UPDATE goip_lines SET "
	    "call_state = COALESCE(?2, call_state), "
	    "hangup_cause = COALESCE(?3, hangup_cause) WHERE id = ?1";
	sqlite3_stmt	*stmt;

	if (store_stmt(st, sql, &stmt, cause) != STORE_OK)
		return st->lastrc;
	store_bind(stmt, "lss", line, state, cause_text);
	return store_run(st, stmt, cause);
}

/*
 * Was R->recvid of line R->line stored within WINDOW ms before R->now?
 * STORE_OK with *SMS the message's id, STORE_NOTFOUND when not (a reused
 * recvid from before the window is a new message).
 */
enum store_rc
line_recv_seen(struct store *st, const struct line_recv *r, int64_t window,
    int64_t *sms, char **cause)
{
	static const char *const sql = "SELECT sms FROM goip_recv "
	    "WHERE line = ? AND recvid = ? AND at >= ?";
	sqlite3_stmt	*stmt;
	enum store_rc	 ret = STORE_NOTFOUND;
	int		 rc;

	if (store_stmt(st, sql, &stmt, cause) != STORE_OK)
		return st->lastrc;
	store_bind(stmt, "lll", r->line, r->recvid, r->now - window);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		*sms = sqlite3_column_int64(stmt, 0);
		ret = STORE_OK;
	} else if (rc != SQLITE_DONE)
		ret = store_rc(st, rc, cause);
	sqlite3_reset(stmt);
	return ret;
}

/* Remember that R->recvid of line R->line was stored as message SMS. */
enum store_rc
line_recv_store(struct store *st, const struct line_recv *r, int64_t sms,
    char **cause)
{
	static const char *const sql = "INSERT INTO goip_recv(line, recvid, "
	    "at, sms) VALUES (?1, ?2, ?3, ?4) ON CONFLICT(line, recvid) DO "
	    "UPDATE SET at = ?3, sms = ?4";
	sqlite3_stmt	*stmt;

	if (store_stmt(st, sql, &stmt, cause) != STORE_OK)
		return st->lastrc;
	store_bind(stmt, "llll", r->line, r->recvid, r->now, sms);
	return store_run(st, stmt, cause);
}

/*
 * The sweep of goip-udpd: lines silent since before SW->now -
 * SW->offline_after become offline (at most LINE_SWEEP_BATCH a call), their slots show
 * "error" without a signal, and each device concerned gets a
 * device-heartbeat event with its slots as they now are (its last_seen
 * stays: the notifier's sweep marks it offline once all its lines are
 * silent); deduplication rows older than SW->window and early DELIVERs
 * older than LINE_DELIVER_KEEP go. It reads first and takes the write lock
 * only when there is something to change. *OFFLINE gets the number of
 * lines that went offline, *EVID the last event.
 */
enum store_rc
line_sweep(struct store *st, const struct line_sweep *sw, int *offline,
    int64_t *evid, char **cause)
{
	static const char *const any = "SELECT EXISTS (SELECT 1 FROM "
	    "goip_lines WHERE online = 1 AND last_seen < ?1) OR EXISTS "
	    "(SELECT 1 FROM goip_recv WHERE at < ?2) OR EXISTS (SELECT 1 FROM "
	    "goip_delivers WHERE at < ?3)";
	static const char *const sel = "SELECT id, device, slot FROM "
	    "goip_lines WHERE online = 1 AND last_seen < ? ORDER BY device "
	    "LIMIT " LINE_SWEEP_BATCH_SQL;
	static const char *const off = "UPDATE goip_lines SET online = 0 "
	    "WHERE id = ?";
	static const char *const slot = "UPDATE sim_slots SET status = "
	    "'error', signal = NULL, registration = 'none', updated_at = ?3 "
	    "WHERE device = ?1 AND slot = ?2";
	static const char *const oldr = "DELETE FROM goip_recv WHERE (line, "
	    "recvid) IN (SELECT line, recvid FROM goip_recv WHERE at < ? "
	    "LIMIT 500)";
	static const char *const olddel = "DELETE FROM goip_delivers "
	    "WHERE at < ?";
	struct event_new	 ev;
	struct json_object	*o;
	sqlite3_stmt		*stmt;
	int64_t			 ids[LINE_SWEEP_BATCH], devs[LINE_SWEEP_BATCH];
	int			 slots[LINE_SWEEP_BATCH], n = 0, i, r;
	enum store_rc		 rc;

	*offline = 0;
	if (store_stmt(st, any, &stmt, cause) != STORE_OK)
		return st->lastrc;
	store_bind(stmt, "lll", sw->now - sw->offline_after,
	    sw->now - sw->window, sw->now - LINE_DELIVER_KEEP);
	r = sqlite3_step(stmt);
	i = r == SQLITE_ROW ? sqlite3_column_int(stmt, 0) : 0;
	sqlite3_reset(stmt);
	if (r != SQLITE_ROW)
		return store_rc(st, r, cause);
	if (!i)
		return STORE_OK;

	if ((rc = store_begin(st, cause)) != STORE_OK)
		return rc;
	if ((rc = store_stmt(st, sel, &stmt, cause)) != STORE_OK)
		goto fail;
	store_bind(stmt, "l", sw->now - sw->offline_after);
	while ((r = sqlite3_step(stmt)) == SQLITE_ROW &&
	    n < LINE_SWEEP_BATCH) {
		ids[n] = sqlite3_column_int64(stmt, 0);
		devs[n] = sqlite3_column_int64(stmt, 1);
		slots[n] = sqlite3_column_int(stmt, 2);
		n++;
	}
	sqlite3_reset(stmt);
	if (r != SQLITE_ROW && (rc = store_rc(st, r, cause)) != STORE_OK)
		goto fail;
	for (i = 0; i < n; i++) {
		if ((rc = store_stmt(st, off, &stmt, cause)) != STORE_OK)
			goto fail;
		store_bind(stmt, "l", ids[i]);
		if ((rc = store_run(st, stmt, cause)) != STORE_OK)
			goto fail;
		if ((rc = store_stmt(st, slot, &stmt, cause)) != STORE_OK)
			goto fail;
		store_bind(stmt, "lil", devs[i], slots[i], sw->now);
		if ((rc = store_run(st, stmt, cause)) != STORE_OK)
			goto fail;
		/* Ordered by device: one event after its last line. */
		if (i + 1 < n && devs[i + 1] == devs[i])
			continue;
		if ((rc = device_json(st, devs[i], 0, &o, cause)) != STORE_OK)
			goto fail;
		ev.type = EVENT_DEVICE_HEARTBEAT;
		ev.device = json_object_get_string(json_object_object_get(o,
		    "deviceId"));
		ev.payload = o;
		rc = evlog_append(st, &ev, evid, cause);
		json_object_put(o);
		if (rc != STORE_OK)
			goto fail;
	}
	if ((rc = store_stmt(st, oldr, &stmt, cause)) != STORE_OK)
		goto fail;
	store_bind(stmt, "l", sw->now - sw->window);
	if ((rc = store_run(st, stmt, cause)) != STORE_OK)
		goto fail;
	if ((rc = store_stmt(st, olddel, &stmt, cause)) != STORE_OK)
		goto fail;
	store_bind(stmt, "l", sw->now - LINE_DELIVER_KEEP);
	if ((rc = store_run(st, stmt, cause)) != STORE_OK)
		goto fail;
	if ((rc = store_commit(st, cause)) != STORE_OK)
		return rc;
	*offline = n;
	return STORE_OK;
fail:
	store_rollback(st);
	return rc;
}

/*
 * Fill ROWS (room for *N on entry) with the row ids of devices that have
 * GoIP lines and outbound SMS due at NOW; *N gets how many. Reads the
 * partial outbox index only: its size is the queue's, not history's.
 */
enum store_rc
line_outbox_devices(struct store *st, int64_t now, int64_t *rows, int *n,
    char **cause)
{
	static const char *const sql = "SELECT DISTINCT s.device FROM sms s "
	    "WHERE s.status IN ('queued', 'sending') AND "
	    "s.next_attempt <= ?1 AND (s.lease_until IS NULL OR "
	    "s.lease_until <= ?1) AND s.expires_at > ?1 AND EXISTS (SELECT 1 "
	    "FROM goip_lines l WHERE l.device = s.device) LIMIT ?2";
	sqlite3_stmt	*stmt;

	if (store_stmt(st, sql, &stmt, cause) != STORE_OK) {
		*n = 0;
		return st->lastrc;
	}
	store_bind(stmt, "li", now, *n);
	return store_ids(st, stmt, rows, n, cause);
}

/*
 * Record, before the first datagram of its session, that message SD->sms
 * goes out through line SD->line as SD->sendid / SD->telid. STORE_CONFLICT
 * when it went out before (its fate is then unknown: it must not go out
 * again).
 */
enum store_rc
line_send_begin(struct store *st, const struct line_send *sd, char **cause)
{
	static const char *const sql = "INSERT INTO goip_sends("
	    "sms, line, sendid, telid, started_at) VALUES (?, ?, ?, ?, ?)";
	sqlite3_stmt	*stmt;

	if (store_stmt(st, sql, &stmt, cause) != STORE_OK)
		return st->lastrc;
	store_bind(stmt, "lllll", sd->sms, sd->line, sd->sendid, sd->telid,
	    sd->now);
	return store_run(st, stmt, cause);
}

/*
 * Apply the result of message RES->sms's session on line LI: RES->result
 * "ok" (with the device's RES->sms_no, -1 when its OK had three tokens),
 * "error" or "timeout", with RES->error the text for a failure; the
 * message's status moves through sms_report() (sent, or failed for good: a
 * send whose fate is unknown is never tried again on our own). A DELIVER
 * kept for its sms_no is applied at once. *EVID gets the last event id.
 */
enum store_rc
line_send_result(struct store *st, const struct line_info *li,
    const struct line_result *res, int64_t *evid, char **cause)
{
	static const char *const upd = "UPDATE goip_sends SET result = ?2, "
	    "sms_no = ?3 WHERE sms = ?1 AND result IS NULL";
	static const char *const kept = "DELETE FROM goip_delivers "
	    "WHERE line = ? AND sms_no = ? RETURNING state";
	struct sms_status	 rep;
	struct line_deliver	 dl;
	sqlite3_stmt		*stmt;
	char			 state[32] = "";
	enum store_rc		 rc;
	int			 changed, r;

	if (store_stmt(st, upd, &stmt, cause) != STORE_OK)
		return st->lastrc;
	store_bind(stmt, "lsl", res->sms, res->result, res->sms_no);
	if (res->sms_no < 0)
		sqlite3_bind_null(stmt, 3);
	if ((rc = store_run(st, stmt, cause)) != STORE_OK)
		return rc;
	if (sqlite3_changes(st->db) == 0)
		return STORE_NOTFOUND;
	memset(&rep, 0, sizeof(rep));
	rep.device = li->device;
	rep.id = res->sms;
	rep.now = res->now;
	rep.attempts = 0;
	rep.status = strcmp(res->result, "ok") == 0 ? "sent" : "failed";
	rep.error = res->error;
	if ((rc = sms_report(st, &rep, &changed, evid, cause)) != STORE_OK &&
	    rc != STORE_NOTFOUND)
		return rc;
	if (res->sms_no < 0 || strcmp(res->result, "ok") != 0)
		return STORE_OK;
	if (store_stmt(st, kept, &stmt, cause) != STORE_OK)
		return st->lastrc;
	store_bind(stmt, "ll", li->id, res->sms_no);
	if ((r = sqlite3_step(stmt)) == SQLITE_ROW)
		snprintf(state, sizeof(state), "%s",
		    sqlite3_column_text(stmt, 0));
	sqlite3_reset(stmt);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		return store_rc(st, r, cause);
	if (r != SQLITE_ROW)
		return STORE_OK;
	dl.sms_no = res->sms_no;
	dl.state = state;
	dl.now = res->now;
	return line_deliver(st, li, &dl, evid, cause);
}

/*
 * A DELIVER DL of line LI for DL->sms_no with DL->state (raw text): kept
 * on the message's send row, and state "0" makes the message delivered. A
 * DELIVER whose sms_no no OK named yet is kept in goip_delivers and
 * applied by line_send_result(). Repeats change nothing.
 */
enum store_rc
line_deliver(struct store *st, const struct line_info *li,
    const struct line_deliver *dl, int64_t *evid, char **cause)
{
	static const char *const sel = "SELECT sms FROM goip_sends "
	    "WHERE line = ? AND sms_no = ? ORDER BY started_at DESC LIMIT 1";
	static const char *const upd = "UPDATE goip_sends "
	    "SET deliver_state = ? WHERE sms = ?";
	static const char *const keep = "INSERT OR REPLACE INTO "
	    "goip_delivers(line, sms_no, state, at) VALUES (?, ?, ?, ?)";
	struct sms_status	 rep;
	sqlite3_stmt		*stmt;
	int64_t			 sms;
	enum store_rc		 rc;
	int			 r, changed;

	if (store_stmt(st, sel, &stmt, cause) != STORE_OK)
		return st->lastrc;
	store_bind(stmt, "ll", li->id, dl->sms_no);
	if ((r = sqlite3_step(stmt)) == SQLITE_ROW)
		sms = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	if (r == SQLITE_DONE) {
		if (store_stmt(st, keep, &stmt, cause) != STORE_OK)
			return st->lastrc;
		store_bind(stmt, "llsl", li->id, dl->sms_no, dl->state,
		    dl->now);
		return store_run(st, stmt, cause);
	}
	if (r != SQLITE_ROW)
		return store_rc(st, r, cause);
	if (store_stmt(st, upd, &stmt, cause) != STORE_OK)
		return st->lastrc;
	store_bind(stmt, "sl", dl->state, sms);
	if ((rc = store_run(st, stmt, cause)) != STORE_OK)
		return rc;
	if (strcmp(dl->state, "0") != 0)
		return STORE_OK;
	memset(&rep, 0, sizeof(rep));
	rep.device = li->device;
	rep.id = sms;
	rep.now = dl->now;
	rep.status = "delivered";
	rc = sms_report(st, &rep, &changed, evid, cause);
	return rc == STORE_NOTFOUND ? STORE_OK : rc;
}

/*
 * At start-up, in its own transaction: every send still open belonged to
 * a goip-udpd that stopped in the middle of it. Its SMS may or may not
 * have gone out, so it is never sent again: it fails with "fate unknown".
 * *N gets the number of such messages, *EVID the last event.
 */
enum store_rc
line_sends_abandon(struct store *st, int64_t now, int *n, int64_t *evid,
    char **cause)
{
	static const char *const sel = "SELECT s.sms, l.device FROM goip_sends "
	    "s JOIN goip_lines l ON l.id = s.line WHERE s.result IS NULL "
	    "LIMIT 256";
	static const char *const upd = "UPDATE goip_sends SET "
	    "result = 'abandoned' WHERE sms = ?";
	struct sms_status	 rep;
	sqlite3_stmt		*stmt;
	int64_t			 ids[256], devs[256];
	enum store_rc		 rc;
	int			 got, i, r, changed;

	*n = 0;
	do {
		if ((rc = store_begin(st, cause)) != STORE_OK)
			return rc;
		if ((rc = store_stmt(st, sel, &stmt, cause)) != STORE_OK)
			goto fail;
		got = 0;
		while ((r = sqlite3_step(stmt)) == SQLITE_ROW && got < 256) {
			ids[got] = sqlite3_column_int64(stmt, 0);
			devs[got] = sqlite3_column_int64(stmt, 1);
			got++;
		}
		sqlite3_reset(stmt);
		if (r != SQLITE_ROW &&
		    (rc = store_rc(st, r, cause)) != STORE_OK)
			goto fail;
		for (i = 0; i < got; i++) {
			if ((rc = store_stmt(st, upd, &stmt, cause)) !=
			    STORE_OK)
				goto fail;
			store_bind(stmt, "l", ids[i]);
			if ((rc = store_run(st, stmt, cause)) != STORE_OK)
				goto fail;
			memset(&rep, 0, sizeof(rep));
			rep.device = devs[i];
			rep.id = ids[i];
			rep.now = now;
			rep.status = "failed";
			rep.error = "fate unknown: goip-udpd stopped during "
			    "the send";
			rc = sms_report(st, &rep, &changed, evid, cause);
			if (rc != STORE_OK && rc != STORE_NOTFOUND)
				goto fail;
		}
		if ((rc = store_commit(st, cause)) != STORE_OK)
			return rc;
		*n += got;
	} while (got == 256);
	return STORE_OK;
fail:
	store_rollback(st);
	return rc;
}

/*
 * Set *OUT to a new array of device DEVICE's GoIP lines as GET
 * /api/devices/{id} shows them (never the password).
 */
enum store_rc
line_json(struct store *st, int64_t device, struct json_object **out,
    char **cause)
{
	static const char *const sql = "SELECT line_id, slot, online, "
	    "last_seen, gsm_status, num, signal, imei, imsi, iccid, "
	    "call_state, hangup_cause FROM goip_lines WHERE device = ? "
	    "ORDER BY slot";
	sqlite3_stmt		*stmt;
	struct json_object	*arr, *o;
	int			 rc, csq;

	*out = NULL;
	if (store_stmt(st, sql, &stmt, cause) != STORE_OK)
		return st->lastrc;
	store_bind(stmt, "l", device);
	arr = json_object_new_array();
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		o = json_object_new_object();
		store_json_text(o, "lineId", stmt, 0);
		store_json_int(o, "slot", stmt, 1);
		json_object_object_add(o, "status", json_object_new_string(
		    sqlite3_column_int(stmt, 2) ? "online" : "offline"));
		store_json_time(o, "lastSeen", stmt, 3);
		store_json_text(o, "gsmStatus", stmt, 4);
		store_json_text(o, "number", stmt, 5);
		store_json_int(o, "csq", stmt, 6);
		csq = sqlite3_column_type(stmt, 6) == SQLITE_NULL ? -1 :
		    sqlite3_column_int(stmt, 6);
		json_object_object_add(o, "signalDbm",
		    line_csq_dbm(csq) != 0 ?
		    json_object_new_int(line_csq_dbm(csq)) : NULL);
		store_json_text(o, "imei", stmt, 7);
		store_json_text(o, "imsi", stmt, 8);
		store_json_text(o, "iccid", stmt, 9);
		store_json_text(o, "callState", stmt, 10);
		store_json_text(o, "hangupCause", stmt, 11);
		json_object_array_add(arr, o);
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE) {
		json_object_put(arr);
		return store_rc(st, rc, cause);
	}
	*out = arr;
	return STORE_OK;
}
