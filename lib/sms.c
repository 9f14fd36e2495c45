/*
 * sms.c: inbound and outbound SMS, one table, one id sequence.
 *
 * Writers run inside the caller's transaction and append their events
 * there. Text is stored byte-exact as the device or operator sent it.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <sqlite3.h>

#include "goip.h"
#include "store_int.h"

/*
 * Outbound messages one sweep expires at most; the next sweep takes the
 * rest. The SQL text spells the same number.
 */
#define SMS_EXPIRE_BATCH	256
#define SMS_EXPIRE_BATCH_SQL	"256"

#define SMS_COLUMNS "s.id, d.device_id, s.direction, s.slot, s.sender, " \
	"s.recipient, s.text, s.received_at, s.stored_at, s.status, " \
	"s.segments, s.error, s.updated_at, s.attempts"
#define SMS_FROM " FROM sms s JOIN devices d ON d.id = s.device "

/*
 * A page of sms_list_json(), newest first: ?1 the id to stay below, ?4 the
 * limit, and FILTER ("" or conditions ending in AND) on ?2 the device and
 * ?3 the direction.
 */
#define SMS_PAGE(filter) "SELECT " SMS_COLUMNS SMS_FROM "WHERE " filter \
	"s.id < ?1 ORDER BY s.id DESC LIMIT ?4"

/* The SMS_COLUMNS every message shows, and those only outbound ones do. */
static const struct store_col sms_cols[] = {
	{ "id", 0, store_json_int },
	{ "deviceId", 1, store_json_text },
	{ "direction", 2, store_json_text },
	{ "slot", 3, store_json_int },
	{ "from", 4, store_json_text },
	{ "to", 5, store_json_text },
	{ "text", 6, store_json_text },
	{ "receivedAt", 7, store_json_time },
	{ "storedAt", 8, store_json_time },
	{ "status", 9, store_json_text },
	{ NULL, 0, NULL }
};
static const struct store_col sms_out_cols[] = {
	{ "segments", 10, store_json_int },
	{ "error", 11, store_json_text },
	{ "updatedAt", 12, store_json_time },
	{ "attempts", 13, store_json_int },
	{ NULL, 0, NULL }
};

/* The SMS of the current row of an SMS_COLUMNS query, as the API shows it. */
static struct json_object *
sms_row_json(sqlite3_stmt *stmt)
{
	struct json_object	*o;

	if ((o = store_json_object(stmt, sms_cols)) != NULL &&
	    strcmp((const char *)sqlite3_column_text(stmt, 2), "out") == 0)
		store_json_cols(o, stmt, sms_out_cols);
	return o;
}

/*
 * Set *OUT to the SMS ID as a new object (caller puts it). Returns
 * STORE_OK, STORE_NOTFOUND when there is no such message, or the store_rc
 * of the failure with *cause set; *OUT is NULL but on STORE_OK.
 */
enum store_rc
sms_json(struct store *st, int64_t id, struct json_object **out,
    char **cause)
{
	static const char *const sql = "SELECT " SMS_COLUMNS SMS_FROM
	    "WHERE s.id = ?";
	sqlite3_stmt		*stmt;
	enum store_rc		 src;

	*out = NULL;
	if ((src = store_stmt(st, sql, &stmt, cause)) != STORE_OK)
		return src;
	store_bind(stmt, "l", id);
	return store_json_row(st, stmt, sms_row_json, out, cause);
}

/*
 * Append an event of TYPE (sms-received, sms-status) for message ID, its
 * payload the message as sms_json() shows it, in the room of the message's
 * device; *EVID gets the event id.
 */
static enum store_rc
sms_event(struct store *st, enum event_type type, int64_t id, int64_t *evid,
    char **cause)
{
	struct json_object	*o, *dev;
	const char		*device;
	enum store_rc		 rc;

	if ((rc = sms_json(st, id, &o, cause)) != STORE_OK) {
		if (rc == STORE_NOTFOUND) {
			xasprintf(cause, "sms: message %lld vanished",
			    (long long)id);
			rc = STORE_ERROR;
		}
		return rc;
	}
	device = json_object_object_get_ex(o, "deviceId", &dev) ?
	    json_object_get_string(dev) : NULL;
	rc = evlog_append(st, &(struct event_new){ type, device, o }, evid,
	    cause);
	json_object_put(o);
	return rc;
}

/*
 * Store SMS received by device AT->device at AT->now inside the caller's
 * transaction, with its sms-received event; OUT gets the message id and
 * the event id. A message the device already delivered (same messageId)
 * stores nothing: OUT->seen is set, OUT->id is the original id and
 * OUT->evid 0.
 */
enum store_rc
sms_receive(struct store *st, const struct sms_in *sms,
    const struct sms_recv *at, struct sms_stored *out, char **cause)
{
	static const char *const ins = "INSERT INTO sms(device, direction, "
	    "slot, sender, recipient, text, message_id, received_at, stored_at, "
	    "status) VALUES (?, 'in', ?, ?, ?, ?, ?, ?, ?, 'received') "
	    "ON CONFLICT(device, message_id) DO NOTHING";
	static const char *const sel = "SELECT id FROM sms WHERE device = ? "
	    "AND message_id = ?";
	sqlite3_stmt		*stmt;
	enum store_rc		 rc;
	int			 r;

	memset(out, 0, sizeof(*out));
	if ((rc = store_stmt(st, ins, &stmt, cause)) != STORE_OK)
		return rc;
	store_bind(stmt, "lnsszsll", at->device, sms->slot > 0 ? sms->slot :
	    -1, sms->from, sms->to, sms->text, sms->textlen, sms->message_id,
	    sms->received_at >= 0 ? sms->received_at : at->now, at->now);
	if ((rc = store_run(st, stmt, cause)) != STORE_OK)
		return rc;
	if (sqlite3_changes(st->db) == 0) {
		if ((rc = store_stmt(st, sel, &stmt, cause)) != STORE_OK)
			return rc;
		store_bind(stmt, "ls", at->device, sms->message_id);
		r = sqlite3_step(stmt);
		if (r == SQLITE_ROW)
			out->id = sqlite3_column_int64(stmt, 0);
		sqlite3_reset(stmt);
		if (r != SQLITE_ROW)
			return store_rc(st, r == SQLITE_DONE ? SQLITE_ERROR :
			    r, cause);
		out->seen = 1;
		return STORE_OK;
	}
	out->id = sqlite3_last_insert_rowid(st->db);
	return sms_event(st, EVENT_SMS_RECEIVED, out->id, &out->evid, cause);
}

/*
 * Set *OUT to a new array of up to P->limit messages, newest first, with
 * id below P->before (0: no bound), of device P->device (-1: all) and
 * P->direction ("in", "out" or NULL). Each filter has its own statement so
 * that SQLite walks an index backwards and stops after LIMIT rows, however
 * long the history. Returns STORE_OK or the store_rc of the failure with
 * *cause set (*OUT NULL).
 */
enum store_rc
sms_list_json(struct store *st, const struct sms_page *p,
    struct json_object **out, char **cause)
{
	static const char *const q_all = SMS_PAGE("");
	static const char *const q_dev = SMS_PAGE("s.device = ?2 AND ");
	static const char *const q_dir = SMS_PAGE("s.direction = ?3 AND ");
	static const char *const q_both = SMS_PAGE("s.device = ?2 AND "
	    "s.direction = ?3 AND ");
	const char		*sql;
	sqlite3_stmt		*stmt;
	enum store_rc		 src;

	*out = NULL;
	if (p->device < 0)
		sql = p->direction == NULL ? q_all : q_dir;
	else
		sql = p->direction == NULL ? q_dev : q_both;
	if ((src = store_stmt(st, sql, &stmt, cause)) != STORE_OK)
		return src;
	store_bind(stmt, "llsi", p->before > 0 ? p->before : INT64_MAX,
	    p->device, p->direction, p->limit);
	return store_json_rows(st, stmt, sms_row_json, out, cause);
}

/*
 * Queue SMS for its device (row id BY->device) on behalf of BY->operator
 * inside the caller's transaction at BY->now, expiring BY->expire ms
 * later, with its sms-status event; OUT gets the message id and the event
 * id. With an idempotency BY->key, a request already seen with the same
 * BY->hash (SHA-256 of the request) gives back the original message
 * (OUT->seen set, OUT->evid 0); the same key with another request is
 * STORE_CONFLICT. The sender is the slot's phone number when the device
 * reported one.
 */
enum store_rc
sms_queue(struct store *st, const struct sms_out *sms,
    const struct sms_send *by, struct sms_stored *out, char **cause)
{
	static const char *const seen = "SELECT id, request_hash FROM sms "
	    "WHERE operator = ? AND idem_key = ?";
	static const char *const ins = "INSERT INTO sms(device, direction, "
	    "slot, sender, recipient, text, stored_at, status, segments, "
	    "encoding, operator, idem_key, request_hash, next_attempt, "
	    "expires_at, updated_at) VALUES (?1, 'out', ?2, (SELECT "
	    "phone_number FROM sim_slots WHERE device = ?1 AND slot = ?2), ?3, "
	    "?4, ?5, 'queued', ?6, ?7, ?8, ?9, ?10, ?5, ?11, ?5)";
	sqlite3_stmt	*stmt;
	enum store_rc	 rc;
	int		 r, same;

	memset(out, 0, sizeof(*out));
	if (by->key != NULL) {
		if ((rc = store_stmt(st, seen, &stmt, cause)) != STORE_OK)
			return rc;
		store_bind(stmt, "ss", by->operator, by->key);
		if ((r = sqlite3_step(stmt)) == SQLITE_ROW) {
			out->id = sqlite3_column_int64(stmt, 0);
			same = sqlite3_column_bytes(stmt, 1) == 32 &&
			    util_ct_equal(sqlite3_column_blob(stmt, 1),
			    by->hash, 32);
			sqlite3_reset(stmt);
			if (!same) {
				xasprintf(cause, "idempotency key reused");
				return STORE_CONFLICT;
			}
			out->seen = 1;
			return STORE_OK;
		}
		sqlite3_reset(stmt);
		if (r != SQLITE_DONE)
			return store_rc(st, r, cause);
	}
	if ((rc = store_stmt(st, ins, &stmt, cause)) != STORE_OK)
		return rc;
	store_bind(stmt, "lizzlisssbl", by->device, sms->slot, sms->to,
	    strlen(sms->to), sms->text, sms->textlen, by->now, sms->segments,
	    sms->encoding, by->operator, by->key, by->key != NULL ? by->hash :
	    NULL, by->now + by->expire);
	if ((rc = store_run(st, stmt, cause)) != STORE_OK)
		return rc;
	out->id = sqlite3_last_insert_rowid(st->db);
	return sms_event(st, EVENT_SMS_STATUS, out->id, &out->evid, cause);
}

/* The order of outbound states: a report never moves a message back. */
static int
sms_status_rank(const char *status)
{
	if (strcmp(status, "queued") == 0)
		return 0;
	if (strcmp(status, "sending") == 0)
		return 1;
	if (strcmp(status, "sent") == 0)
		return 2;
	if (strcmp(status, "delivered") == 0 || strcmp(status, "failed") == 0 ||
	    strcmp(status, "expired") == 0)
		return 3;
	return -1;
}

/*
 * Lease up to L->max (at most GOIP_LEASE_MAX) outbound messages of device
 * L->device at L->now for L->lease ms, inside the caller's transaction,
 * oldest due first. A message is offered when queued, or when its previous
 * lease ran out; one already leased is never handed out again until its
 * lease expires, and one reported sent never again. A message leased
 * L->attempts times fails instead. Sets *OUT to the new array of {id, slot,
 * to, text, leaseUntil} and *EVID to the last sms-status event appended
 * (untouched when none). Returns STORE_OK or the store_rc of the failure
 * with *cause set (*OUT NULL).
 */
enum store_rc
sms_outbox_lease(struct store *st, const struct sms_lease *l,
    struct json_object **out, int64_t *evid, char **cause)
{
	static const char *const due = "SELECT id, slot, recipient, text, "
	    "status, attempts FROM sms WHERE device = ? AND status IN "
	    "('queued', 'sending') AND next_attempt <= ?2 AND "
	    "(lease_until IS NULL OR lease_until <= ?2) AND "
	    "expires_at > ?2 ORDER BY next_attempt, id LIMIT ?3";
	static const char *const take = "UPDATE sms SET status = 'sending', "
	    "attempts = attempts + 1, lease_until = ?2, next_attempt = ?2, "
	    "updated_at = ?3 WHERE id = ?1";
	static const char *const give_up = "UPDATE sms SET status = 'failed', "
	    "error = 'no report after ' || attempts || ' attempts', "
	    "lease_until = NULL, updated_at = ?2 WHERE id = ?1";
	struct {
		int64_t	 id;
		int	 fail, changed;
	}			 row[GOIP_LEASE_MAX];
	sqlite3_stmt		*stmt;
	struct json_object	*arr, *o;
	int64_t			 now = l->now;
	enum store_rc		 rc;
	int			 n = 0, i, r, max;

	*out = NULL;
	max = l->max < GOIP_LEASE_MAX ? l->max : GOIP_LEASE_MAX;
	if ((rc = store_stmt(st, due, &stmt, cause)) != STORE_OK)
		return rc;
	store_bind(stmt, "lli", l->device, now, max);
	arr = json_object_new_array();
	while ((r = sqlite3_step(stmt)) == SQLITE_ROW && n < max) {
		row[n].id = sqlite3_column_int64(stmt, 0);
		row[n].fail = sqlite3_column_int64(stmt, 5) >= l->attempts;
		row[n].changed = strcmp((const char *)
		    sqlite3_column_text(stmt, 4), "sending") != 0;
		if (!row[n].fail) {
			o = json_object_new_object();
			store_json_int(o, "id", stmt, 0);
			store_json_int(o, "slot", stmt, 1);
			store_json_text(o, "to", stmt, 2);
			store_json_text(o, "text", stmt, 3);
			json_object_object_add(o, "leaseUntil",
			    store_json_timeval(now + l->lease));
			json_object_array_add(arr, o);
		}
		n++;
	}
	sqlite3_reset(stmt);
	if (r != SQLITE_ROW && (rc = store_rc(st, r, cause)) != STORE_OK)
		goto fail;
	for (i = 0; i < n; i++) {
		if ((rc = store_stmt(st, row[i].fail ? give_up : take, &stmt,
		    cause)) != STORE_OK)
			goto fail;
		if (row[i].fail)
			store_bind(stmt, "ll", row[i].id, now);
		else
			store_bind(stmt, "lll", row[i].id, now + l->lease, now);
		if ((rc = store_run(st, stmt, cause)) != STORE_OK)
			goto fail;
		if ((row[i].fail || row[i].changed) && (rc = sms_event(st,
		    EVENT_SMS_STATUS, row[i].id, evid, cause)) != STORE_OK)
			goto fail;
	}
	*out = arr;
	return STORE_OK;
fail:
	json_object_put(arr);
	return rc;
}

/*
 * Apply a device's report REP: REP->status ("sent", "delivered" or
 * "failed", with REP->error text or NULL) on message REP->id of device
 * REP->device at REP->now, inside the
 * caller's transaction. Status only moves forward: a report that would
 * move it back (a late "sent" after "delivered") changes nothing and is
 * not an error. A "failed" report on a message with leases left puts it
 * back in the queue after a back-off (status stays "sending") instead.
 * *CHANGED says whether anything changed. STORE_NOTFOUND for a message
 * that is not this device's, or that was never leased to it.
 */
enum store_rc
sms_report(struct store *st, const struct sms_status *rep, int *changed,
    int64_t *evid, char **cause)
{
	const int64_t	 rowid = rep->device, id = rep->id, now = rep->now;
	const int64_t	 attempts = rep->attempts;
	const char	*status = rep->status, *error = rep->error;
	static const char *const sel = "SELECT status, attempts, "
	    "lease_until IS NULL FROM sms "
	    "WHERE id = ? AND device = ? AND direction = 'out'";
	static const char *const upd = "UPDATE sms SET status = ?2, "
	    "error = COALESCE(?3, error), lease_until = NULL, updated_at = ?4 "
	    "WHERE id = ?1";
	static const char *const retry = "UPDATE sms SET error = ?2, "
	    "lease_until = NULL, next_attempt = ?3, updated_at = ?4 "
	    "WHERE id = ?1";
	sqlite3_stmt	*stmt;
	char		 cur[16];
	int64_t		 tries, backoff;
	int		 r, unleased;

	*changed = 0;
	if (store_stmt(st, sel, &stmt, cause) != STORE_OK)
		return st->lastrc;
	store_bind(stmt, "ll", id, rowid);
	if ((r = sqlite3_step(stmt)) != SQLITE_ROW) {
		sqlite3_reset(stmt);
		return r == SQLITE_DONE ? STORE_NOTFOUND :
		    store_rc(st, r, cause);
	}
	snprintf(cur, sizeof(cur), "%s", sqlite3_column_text(stmt, 0));
	tries = sqlite3_column_int64(stmt, 1);
	unleased = sqlite3_column_int(stmt, 2);
	sqlite3_reset(stmt);

	/* Never leased: the device cannot have it (goip-api(7): 404). */
	if (strcmp(cur, "queued") == 0)
		return STORE_NOTFOUND;
	if (sms_status_rank(status) <= sms_status_rank(cur))
		return STORE_OK;
	if (strcmp(status, "failed") == 0 && sms_status_rank(cur) <= 1 &&
	    tries < attempts) {
		/*
		 * A "sending" message without a lease was already reported
		 * failed for its last lease and waits out its back-off: a
		 * repeated report changes nothing.
		 */
		if (strcmp(cur, "sending") == 0 && unleased)
			return STORE_OK;
		backoff = 5000LL << (tries < 7 ? tries : 7);
		if (store_stmt(st, retry, &stmt, cause) != STORE_OK)
			return st->lastrc;
		store_bind(stmt, "lsll", id, error != NULL ? error :
		    "failed", now + backoff, now);
	} else {
		if (store_stmt(st, upd, &stmt, cause) != STORE_OK)
			return st->lastrc;
		store_bind(stmt, "lssl", id, status, error, now);
	}
	if ((r = store_run(st, stmt, cause)) != STORE_OK)
		return r;
	*changed = 1;
	return sms_event(st, EVENT_SMS_STATUS, id, evid, cause);
}

/*
 * Expire, inside the caller's transaction, outbound messages not sent by
 * their expiry time NOW, each with its sms-status event (*EVID the last
 * one's id); *N gets the number expired, at most SMS_EXPIRE_BATCH a call.
 * Returns STORE_OK or the store_rc of the failure with *cause set.
 */
enum store_rc
sms_expire(struct store *st, int64_t now, int *n, int64_t *evid,
    char **cause)
{
	static const char *const sel = "SELECT id FROM sms WHERE status IN "
	    "('queued', 'sending') AND expires_at <= ? LIMIT "
	    SMS_EXPIRE_BATCH_SQL;
	static const char *const upd = "UPDATE sms SET status = 'expired', "
	    "lease_until = NULL, updated_at = ?2 WHERE id = ?1";
	sqlite3_stmt	*stmt;
	int64_t		 ids[SMS_EXPIRE_BATCH];
	enum store_rc	 rc;
	int		 i;

	*n = 0;
	if ((rc = store_stmt(st, sel, &stmt, cause)) != STORE_OK)
		return rc;
	store_bind(stmt, "l", now);
	*n = SMS_EXPIRE_BATCH;
	if ((rc = store_ids(st, stmt, ids, n, cause)) != STORE_OK)
		return rc;
	for (i = 0; i < *n; i++) {
		if ((rc = store_stmt(st, upd, &stmt, cause)) != STORE_OK)
			return rc;
		store_bind(stmt, "ll", ids[i], now);
		if ((rc = store_run(st, stmt, cause)) != STORE_OK ||
		    (rc = sms_event(st, EVENT_SMS_STATUS, ids[i], evid,
		    cause)) != STORE_OK)
			return rc;
	}
	return STORE_OK;
}
