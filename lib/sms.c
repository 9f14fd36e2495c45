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

#define SMS_COLUMNS "s.id, d.device_id, s.direction, s.slot, s.sender, " \
	"s.recipient, s.text, s.received_at, s.stored_at, s.status, " \
	"s.segments, s.error, s.updated_at, s.attempts"

/* The SMS of the current row of an SMS_COLUMNS query, as the API shows it. */
static struct json_object *
sms_row_json(sqlite3_stmt *stmt)
{
	struct json_object	*o;

	o = json_object_new_object();
	store_json_int(o, "id", stmt, 0);
	store_json_text(o, "deviceId", stmt, 1);
	store_json_text(o, "direction", stmt, 2);
	store_json_int(o, "slot", stmt, 3);
	store_json_text(o, "from", stmt, 4);
	store_json_text(o, "to", stmt, 5);
	store_json_text(o, "text", stmt, 6);
	store_json_time(o, "receivedAt", stmt, 7);
	store_json_time(o, "storedAt", stmt, 8);
	store_json_text(o, "status", stmt, 9);
	if (strcmp((const char *)sqlite3_column_text(stmt, 2), "out") == 0) {
		store_json_int(o, "segments", stmt, 10);
		store_json_text(o, "error", stmt, 11);
		store_json_time(o, "updatedAt", stmt, 12);
		store_json_int(o, "attempts", stmt, 13);
	}
	return o;
}

/*
 * The SMS ID as a new object (caller puts it), or NULL: with *cause set on
 * failure, unset when there is no such message.
 */
struct json_object *
sms_json(struct store *st, int64_t id, char **cause)
{
	static const char *const sql = "SELECT " SMS_COLUMNS " FROM sms s "
	    "JOIN devices d ON d.id = s.device WHERE s.id = ?";
	sqlite3_stmt		*stmt;
	struct json_object	*o = NULL;
	int			 rc;

	if ((stmt = store_stmt(st, sql, cause)) == NULL)
		return NULL;
	store_bind(stmt, "l", id);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		o = sms_row_json(stmt);
	else if (rc != SQLITE_DONE)
		store_rc(st, rc, cause);
	sqlite3_reset(stmt);
	return o;
}

/*
 * Store SMS received by device ROWID (device id DEVICE) at NOW inside the
 * caller's transaction, with its sms-received event. A message the device
 * already delivered (same messageId) stores nothing: *DUP is set and *ID is
 * the original id. *EVID gets the event id when one was appended.
 */
enum store_rc
sms_receive(struct store *st, int64_t rowid, const char *device,
    const struct sms_in *sms, int64_t now, int64_t *id, int *dup,
    int64_t *evid, char **cause)
{
	static const char *const ins = "INSERT INTO sms(device, direction, "
	    "slot, sender, recipient, text, message_id, received_at, stored_at, "
	    "status) VALUES (?, 'in', ?, ?, ?, ?, ?, ?, ?, 'received') "
	    "ON CONFLICT(device, message_id) DO NOTHING";
	static const char *const sel = "SELECT id FROM sms WHERE device = ? "
	    "AND message_id = ?";
	sqlite3_stmt		*stmt;
	struct json_object	*o;
	enum store_rc		 rc;
	int			 r;

	if ((stmt = store_stmt(st, ins, cause)) == NULL)
		return STORE_ERROR;
	if (store_bind(stmt, "lnsszsll", rowid, sms->slot > 0 ? sms->slot : -1,
	    sms->from, sms->to, sms->text, sms->textlen, sms->message_id,
	    sms->received_at >= 0 ? sms->received_at : now, now) != SQLITE_OK) {
		xasprintf(cause, "sms: bind failed");
		return STORE_ERROR;
	}
	if ((rc = store_run(st, stmt, cause)) != STORE_OK)
		return rc;
	if (sqlite3_changes(st->db) == 0) {
		if ((stmt = store_stmt(st, sel, cause)) == NULL)
			return STORE_ERROR;
		store_bind(stmt, "ls", rowid, sms->message_id);
		r = sqlite3_step(stmt);
		if (r == SQLITE_ROW)
			*id = sqlite3_column_int64(stmt, 0);
		sqlite3_reset(stmt);
		if (r != SQLITE_ROW)
			return store_rc(st, r == SQLITE_DONE ? SQLITE_ERROR :
			    r, cause);
		*dup = 1;
		return STORE_OK;
	}
	*dup = 0;
	*id = sqlite3_last_insert_rowid(st->db);
	if ((o = sms_json(st, *id, cause)) == NULL) {
		if (*cause == NULL)
			xasprintf(cause, "sms: stored message vanished");
		return STORE_ERROR;
	}
	*evid = evlog_append(st, EVENT_SMS_RECEIVED, device, o, cause);
	json_object_put(o);
	return *evid == -1 ? STORE_ERROR : STORE_OK;
}

/*
 * Up to LIMIT messages, newest first, with id below BEFORE (0: no bound),
 * of device ROWID (-1: all) and DIRECTION ("in", "out" or NULL). Each
 * filter has its own statement so that SQLite walks an index backwards and
 * stops after LIMIT rows, however long the history.
 */
struct json_object *
sms_list_json(struct store *st, int64_t rowid, const char *direction,
    int limit, int64_t before, char **cause)
{
	static const char *const q_all = "SELECT " SMS_COLUMNS " FROM sms s "
	    "JOIN devices d ON d.id = s.device WHERE s.id < ?1 "
	    "ORDER BY s.id DESC LIMIT ?4";
	static const char *const q_dev = "SELECT " SMS_COLUMNS " FROM sms s "
	    "JOIN devices d ON d.id = s.device WHERE s.device = ?2 AND "
	    "s.id < ?1 ORDER BY s.id DESC LIMIT ?4";
	static const char *const q_dir = "SELECT " SMS_COLUMNS " FROM sms s "
	    "JOIN devices d ON d.id = s.device WHERE s.direction = ?3 AND "
	    "s.id < ?1 ORDER BY s.id DESC LIMIT ?4";
	static const char *const q_both = "SELECT " SMS_COLUMNS " FROM sms s "
	    "JOIN devices d ON d.id = s.device WHERE s.device = ?2 AND "
	    "s.direction = ?3 AND s.id < ?1 ORDER BY s.id DESC LIMIT ?4";
	const char		*sql;
	sqlite3_stmt		*stmt;
	struct json_object	*arr;
	int			 rc;

	if (rowid < 0)
		sql = direction == NULL ? q_all : q_dir;
	else
		sql = direction == NULL ? q_dev : q_both;
	if ((stmt = store_stmt(st, sql, cause)) == NULL)
		return NULL;
	if (store_bind(stmt, "llsi", before > 0 ? before : INT64_MAX, rowid,
	    direction, limit) != SQLITE_OK) {
		xasprintf(cause, "sms: bind failed");
		return NULL;
	}
	arr = json_object_new_array();
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		json_object_array_add(arr, sms_row_json(stmt));
	sqlite3_reset(stmt);
	if (store_rc(st, rc, cause) != STORE_OK) {
		json_object_put(arr);
		return NULL;
	}
	return arr;
}
