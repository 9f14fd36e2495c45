/*
 * ussd.c: USSD requests to GoIP lines and their replies (goip_ussd).
 *
 * goip-cgi (POST /api/devices/{id}/ussd) and goipctl queue a request;
 * goip-udpd takes it, sends it once and stores the reply or the error with
 * a ussd-reply event. A request sent by a goip-udpd that then stopped is
 * never sent again: a USSD can top up a balance twice.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <sqlite3.h>

#include "goip.h"
#include "store_int.h"

#define USSD_SHOWN	10	/* requests in GET /api/devices/{id} */

#define USSD_COLUMNS "u.id, d.device_id, l.slot, l.line_id, u.code, " \
	"u.status, u.reply, u.error, u.created_at, u.updated_at"
#define USSD_FROM " FROM goip_ussd u JOIN goip_lines l ON l.id = u.line " \
	"JOIN devices d ON d.id = l.device "

/* Whether CODE is a USSD code: 1 to GOIP_USSD_CODE_MAX of 0-9 * # +. */
int
ussd_code_valid(const char *code)
{
	size_t	i;

	for (i = 0; code[i] != '\0'; i++)
		if (i >= GOIP_USSD_CODE_MAX ||
		    strchr("0123456789*#+", code[i]) == NULL)
			return 0;
	return i > 0;
}

/* The columns of a USSD_COLUMNS query, as the API shows a request. */
static const struct store_col ussd_cols[] = {
	{ "id", 0, store_json_int },
	{ "deviceId", 1, store_json_text },
	{ "slot", 2, store_json_int },
	{ "lineId", 3, store_json_text },
	{ "code", 4, store_json_text },
	{ "status", 5, store_json_text },
	{ "reply", 6, store_json_text },
	{ "error", 7, store_json_text },
	{ "createdAt", 8, store_json_time },
	{ "updatedAt", 9, store_json_time },
	{ NULL, 0, NULL }
};

/* The request of the current row of a USSD_COLUMNS query. */
static struct json_object *
ussd_row_json(sqlite3_stmt *stmt)
{
	return store_json_object(stmt, ussd_cols);
}

/*
 * Queue USSD code U->code (ussd_code_valid()) for slot U->slot of device
 * SD->device (row id) on behalf of SD->operator, inside the caller's
 * transaction; *ID gets the request's id. STORE_NOTFOUND when the slot has
 * no GoIP line.
 */
enum store_rc
ussd_queue(struct store *st, const struct ussd_out *u,
    const struct ussd_send *sd, int64_t *id, char **cause)
{
	static const char *const sql = "INSERT INTO goip_ussd(line, code, "
	    "operator, created_at, updated_at) SELECT id, ?3, ?4, ?5, ?5 "
	    "FROM goip_lines WHERE device = ?1 AND slot = ?2";
	sqlite3_stmt	*stmt;
	enum store_rc	 rc;

	if (store_stmt(st, sql, &stmt, cause) != STORE_OK)
		return st->lastrc;
	store_bind(stmt, "lissl", sd->device, u->slot, u->code, sd->operator,
	    sd->now);
	if ((rc = store_run(st, stmt, cause)) != STORE_OK)
		return rc;
	if (sqlite3_changes(st->db) == 0)
		return STORE_NOTFOUND;
	*id = sqlite3_last_insert_rowid(st->db);
	return STORE_OK;
}

/*
 * Set *OUT to request ID as a new object. STORE_NOTFOUND when there is no
 * such request.
 */
enum store_rc
ussd_json(struct store *st, int64_t id, struct json_object **out,
    char **cause)
{
	static const char *const sql = "SELECT " USSD_COLUMNS USSD_FROM
	    "WHERE u.id = ?";
	sqlite3_stmt	*stmt;
	enum store_rc	 src;

	*out = NULL;
	if ((src = store_stmt(st, sql, &stmt, cause)) != STORE_OK)
		return src;
	store_bind(stmt, "l", id);
	return store_json_row(st, stmt, ussd_row_json, out, cause);
}

/*
 * Set *OUT to a new array of the latest USSD_SHOWN requests of device
 * DEVICE (row id), newest first.
 */
enum store_rc
ussd_list_json(struct store *st, int64_t device, struct json_object **out,
    char **cause)
{
	static const char *const sql = "SELECT " USSD_COLUMNS USSD_FROM
	    "WHERE l.device = ? ORDER BY u.id DESC LIMIT ?";
	sqlite3_stmt	*stmt;
	enum store_rc	 src;

	*out = NULL;
	if ((src = store_stmt(st, sql, &stmt, cause)) != STORE_OK)
		return src;
	store_bind(stmt, "li", device, USSD_SHOWN);
	return store_json_rows(st, stmt, ussd_row_json, out, cause);
}

/*
 * Set *QUEUED to whether a request waits to be sent. A read outside any
 * transaction, so goip-udpd's poll takes the write lock only when there is
 * something to take.
 */
enum store_rc
ussd_queued(struct store *st, int *queued, char **cause)
{
	static const char *const sql = "SELECT 1 FROM goip_ussd "
	    "WHERE status = 'queued' LIMIT 1";
	sqlite3_stmt	*stmt;
	int		 rc;

	*queued = 0;
	if (store_stmt(st, sql, &stmt, cause) != STORE_OK)
		return st->lastrc;
	rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	*queued = rc == SQLITE_ROW;
	return store_rc(st, rc, cause);
}

/*
 * Take up to *N (the room in JOBS) queued requests, oldest first, inside
 * the caller's transaction: each becomes "sent" and is written to JOBS;
 * *N gets how many.
 */
enum store_rc
ussd_take(struct store *st, int64_t now, struct ussd_job *jobs, int *n,
    char **cause)
{
	static const char *const sel = "SELECT id, line, code FROM goip_ussd "
	    "WHERE status = 'queued' ORDER BY id LIMIT ?";
	static const char *const upd = "UPDATE goip_ussd SET status = 'sent', "
	    "sent_at = ?2, updated_at = ?2 WHERE id = ?1";
	sqlite3_stmt	*stmt;
	enum store_rc	 ret;
	int		 max = *n, got = 0, i, rc;

	*n = 0;
	if (store_stmt(st, sel, &stmt, cause) != STORE_OK)
		return st->lastrc;
	store_bind(stmt, "i", max);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW && got < max) {
		jobs[got].id = sqlite3_column_int64(stmt, 0);
		jobs[got].line = sqlite3_column_int64(stmt, 1);
		snprintf(jobs[got].code, sizeof(jobs[got].code), "%s",
		    sqlite3_column_text(stmt, 2));
		got++;
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && (ret = store_rc(st, rc, cause)) != STORE_OK)
		return ret;
	for (i = 0; i < got; i++) {
		if (store_stmt(st, upd, &stmt, cause) != STORE_OK)
			return st->lastrc;
		store_bind(stmt, "ll", jobs[i].id, now);
		if ((ret = store_run(st, stmt, cause)) != STORE_OK)
			return ret;
	}
	*n = got;
	return STORE_OK;
}

/*
 * Finish request RES->id inside the caller's transaction: RES->reply
 * (RES->len bytes) when the device answered, else RES->error; append its
 * ussd-reply event (the request as ussd_json() shows it). A request
 * already finished changes nothing (STORE_NOTFOUND).
 */
enum store_rc
ussd_finish(struct store *st, const struct ussd_result *res, int64_t *evid,
    char **cause)
{
	static const char *const upd = "UPDATE goip_ussd SET status = ?2, "
	    "reply = ?3, error = ?4, updated_at = ?5 WHERE id = ?1 AND "
	    "(status = 'sent' OR status = 'queued')";
	sqlite3_stmt		*stmt;
	struct event_new	 ev;
	struct json_object	*o;
	const char		*dev;
	enum store_rc		 rc;

	if (store_stmt(st, upd, &stmt, cause) != STORE_OK)
		return st->lastrc;
	store_bind(stmt, "lszsl", res->id, res->reply != NULL ? "replied" :
	    "failed", res->reply, res->reply != NULL ? res->len : 0,
	    res->error, res->now);
	if (res->reply == NULL)
		sqlite3_bind_null(stmt, 3);
	if ((rc = store_run(st, stmt, cause)) != STORE_OK)
		return rc;
	if (sqlite3_changes(st->db) == 0)
		return STORE_NOTFOUND;
	if ((rc = ussd_json(st, res->id, &o, cause)) != STORE_OK)
		return rc == STORE_NOTFOUND ? STORE_ERROR : rc;
	dev = json_object_get_string(json_object_object_get(o, "deviceId"));
	ev.type = EVENT_USSD_REPLY;
	ev.device = dev;
	ev.payload = o;
	rc = evlog_append(st, &ev, evid, cause);
	json_object_put(o);
	return rc;
}

/*
 * At start-up, in its own transaction: requests a previous goip-udpd sent
 * and never saw answered fail, each with its ussd-reply event; they are
 * never sent again. *N gets how many, *EVID the last event.
 */
enum store_rc
ussd_abandon(struct store *st, int64_t now, int *n, int64_t *evid,
    char **cause)
{
	static const char *const sel = "SELECT id FROM goip_ussd "
	    "WHERE status = 'sent' LIMIT 256";
	struct ussd_result	 res;
	sqlite3_stmt		*stmt;
	int64_t			 ids[256];
	enum store_rc		 ret;
	int			 got, i;

	*n = 0;
	memset(&res, 0, sizeof(res));
	res.error = "goip-udpd restarted before the reply; not sent again";
	res.now = now;
	do {
		if ((ret = store_begin(st, cause)) != STORE_OK)
			return ret;
		if ((ret = store_stmt(st, sel, &stmt, cause)) != STORE_OK)
			goto fail;
		got = 256;
		if ((ret = store_ids(st, stmt, ids, &got, cause)) != STORE_OK)
			goto fail;
		for (i = 0; i < got; i++) {
			res.id = ids[i];
			if ((ret = ussd_finish(st, &res, evid, cause)) !=
			    STORE_OK)
				goto fail;
		}
		if ((ret = store_commit(st, cause)) != STORE_OK)
			return ret;
		*n += got;
	} while (got == 256);
	return STORE_OK;
fail:
	store_rollback(st);
	return ret;
}
