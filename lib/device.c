/*
 * device.c: devices, their SIM slots and heartbeat history.
 *
 * Functions that write run inside the caller's transaction (store_begin())
 * and append their events there, so a change and its event commit together.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <sqlite3.h>

#include "goip.h"
#include "store_int.h"

/* Heartbeats in GET /api/devices/{id}, as SQL text. */
#define DEVICE_HISTORY_SHOWN	"500"

/*
 * Devices one sweep marks offline at most; the next sweep, a second later,
 * takes the rest. The SQL text spells the same number.
 */
#define DEVICE_SWEEP_BATCH	256
#define DEVICE_SWEEP_BATCH_SQL	"256"

/*
 * A prime that spreads the devices' history phases over the step: device
 * ROWID starts its steps at ROWID * DEVICE_PHASE_PRIME % step, so
 * consecutive row ids land far apart.
 */
#define DEVICE_PHASE_PRIME	7919

/* The columns device_row_json() reads, in its order. */
#define DEVICE_COLUMNS "device_id, name, status, battery, charging, signal, " \
	"firmware, uptime, last_seen, id"

static enum store_rc device_row_json(struct store *, sqlite3_stmt *, int64_t,
		    struct json_object **, char **);

/*
 * Register device ID with NAME (may be NULL) and write its new token to
 * TOKEN. Own transaction. STORE_CONFLICT when the id exists.
 */
enum store_rc
device_add(struct store *st, const char *id, const char *name,
    char token[GOIP_TOKEN_LEN + 1], char **cause)
{
	static const char *const sql = "INSERT INTO devices(device_id, name, "
	    "token_hash, created_at) VALUES (?, ?, ?, ?)";
	sqlite3_stmt	*stmt;
	uint8_t		 hash[32];
	enum store_rc	 rc;

	if (token_generate(token, GOIP_TOKEN_LEN + 1) == -1) {
		xasprintf(cause, "no randomness for a token");
		return STORE_ERROR;
	}
	token_hash(token, strlen(token), hash);
	if ((rc = store_begin(st, cause)) != STORE_OK)
		return rc;
	if (store_stmt(st, sql, &stmt, cause) != STORE_OK) {
		store_rollback(st);
		return STORE_ERROR;
	}
	store_bind(stmt, "ssbl", id, name, hash, util_now_ms());
	if ((rc = store_run(st, stmt, cause)) != STORE_OK) {
		store_rollback(st);
		return rc;
	}
	return store_commit(st, cause);
}

/* Remove device ID with its slots, history and SMS. Own transaction. */
enum store_rc
device_remove(struct store *st, const char *id, char **cause)
{
	return store_write(st, "DELETE FROM devices WHERE device_id = ?",
	    cause, "s", id);
}

/* Give device ID a new token (written to TOKEN); the old one stops working. */
enum store_rc
device_rotate_token(struct store *st, const char *id,
    char token[GOIP_TOKEN_LEN + 1], char **cause)
{
	uint8_t		 hash[32];

	if (token_generate(token, GOIP_TOKEN_LEN + 1) == -1) {
		xasprintf(cause, "no randomness for a token");
		return STORE_ERROR;
	}
	token_hash(token, strlen(token), hash);
	return store_write(st, "UPDATE devices SET token_hash = ? "
	    "WHERE device_id = ?", cause, "bs", hash, id);
}

/*
 * Find the device holding TOKEN: its row id in *ROWID and its device id in
 * ID. The lookup is by hash; the hashes are then compared in constant time.
 * STORE_NOTFOUND for an unknown token.
 */
enum store_rc
device_by_token(struct store *st, const char *token, int64_t *rowid,
    char id[GOIP_DEVICE_ID_MAX + 1], char **cause)
{
	static const char *const sql = "SELECT id, device_id, token_hash "
	    "FROM devices WHERE token_hash = ?";
	sqlite3_stmt	*stmt;
	uint8_t		 hash[32];
	enum store_rc	 rc;

	token_hash(token, strlen(token), hash);
	if ((rc = store_stmt(st, sql, &stmt, cause)) != STORE_OK)
		return rc;
	store_bind(stmt, "b", hash);
	if ((rc = store_row(st, stmt, cause)) == STORE_OK) {
		if (sqlite3_column_bytes(stmt, 2) == 32 &&
		    util_ct_equal(sqlite3_column_blob(stmt, 2), hash, 32)) {
			*rowid = sqlite3_column_int64(stmt, 0);
			snprintf(id, GOIP_DEVICE_ID_MAX + 1, "%s",
			    (const char *)sqlite3_column_text(stmt, 1));
		} else
			rc = STORE_NOTFOUND;
	}
	sqlite3_reset(stmt);
	return rc;
}

/* The row id of device ID; STORE_NOTFOUND when there is none. */
enum store_rc
device_lookup(struct store *st, const char *id, int64_t *rowid, char **cause)
{
	static const char *const sql = "SELECT id FROM devices "
	    "WHERE device_id = ?";
	sqlite3_stmt	*stmt;
	enum store_rc	 rc;

	if ((rc = store_stmt(st, sql, &stmt, cause)) != STORE_OK)
		return rc;
	store_bind(stmt, "s", id);
	if ((rc = store_row(st, stmt, cause)) == STORE_OK)
		*rowid = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	return rc;
}

/* Whether text column COL of STMT holds S (NULL: the column is null). */
static int
device_column_is(sqlite3_stmt *stmt, int col, const char *s)
{
	const unsigned char	*v;

	if (sqlite3_column_type(stmt, col) == SQLITE_NULL)
		return s == NULL;
	v = sqlite3_column_text(stmt, col);
	return s != NULL && v != NULL && strcmp((const char *)v, s) == 0;
}

/*
 * Whether the slot row at STMT (the columns of "have") already holds S:
 * every field S gives, a field left out matches anything.
 */
static int
device_slot_same(sqlite3_stmt *stmt, const struct hb_slot *s)
{
	if (HB_KEPT(s, SLOT_SIGNAL))
		;
	else if (s->signal < 0) {
		if (sqlite3_column_type(stmt, 6) != SQLITE_NULL)
			return 0;
	} else if (sqlite3_column_type(stmt, 6) == SQLITE_NULL ||
	    sqlite3_column_int(stmt, 6) != s->signal)
		return 0;
	return (HB_KEPT(s, SLOT_STATUS) ||
	    device_column_is(stmt, 1, s->status)) &&
	    (HB_KEPT(s, SLOT_OPERATOR) ||
	    device_column_is(stmt, 2, s->operator)) &&
	    (HB_KEPT(s, SLOT_PHONE) || device_column_is(stmt, 3, s->phone)) &&
	    (HB_KEPT(s, SLOT_ICCID) || device_column_is(stmt, 4, s->iccid)) &&
	    (HB_KEPT(s, SLOT_IMSI) || device_column_is(stmt, 5, s->imsi)) &&
	    (HB_KEPT(s, SLOT_REGISTRATION) ||
	    device_column_is(stmt, 7, s->registration));
}

/*
 * Store the slots of HB for device ROWID: upsert each reported slot whose
 * stored row differs (a field left out of a known slot keeps its value;
 * parameters ?11 to ?17 say which were left out), then delete the slots the
 * device no longer reports.
 * In the steady state this runs one query and writes nothing but the slots
 * whose signal moved.
 */
static enum store_rc
device_slots_store(struct store *st, int64_t rowid, const struct heartbeat *hb,
    int64_t now, char **cause)
{
	static const char *const have = "SELECT slot, status, operator, "
	    "phone_number, iccid, imsi, signal, registration FROM sim_slots "
	    "WHERE device = ?";
	static const char *const up = "INSERT INTO sim_slots(device, slot, "
	    "status, operator, phone_number, iccid, imsi, signal, registration, "
	    "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
	    "ON CONFLICT(device, slot) DO UPDATE SET "
	    "status = iif(?11, status, excluded.status), "
	    "operator = iif(?12, operator, excluded.operator), "
	    "phone_number = iif(?13, phone_number, excluded.phone_number), "
	    "iccid = iif(?14, iccid, excluded.iccid), "
	    "imsi = iif(?15, imsi, excluded.imsi), "
	    "signal = iif(?16, signal, excluded.signal), "
	    "registration = iif(?17, registration, excluded.registration), "
	    "updated_at = excluded.updated_at";
	static const char *const del = "DELETE FROM sim_slots "
	    "WHERE device = ? AND slot = ?";
	const struct hb_slot	*s;
	sqlite3_stmt		*stmt;
	enum store_rc		 rc;
	int			 stale[GOIP_SLOTS_MAX * 2], nstale = 0, i, slot, r;
	int			 same[GOIP_SLOTS_MAX] = { 0 };

	if (store_stmt(st, have, &stmt, cause) != STORE_OK)
		return st->lastrc;
	store_bind(stmt, "l", rowid);
	while ((r = sqlite3_step(stmt)) == SQLITE_ROW) {
		slot = sqlite3_column_int(stmt, 0);
		for (i = 0; i < hb->nslots; i++)
			if (hb->slots[i].slot == slot)
				break;
		if (i < hb->nslots)
			same[i] = device_slot_same(stmt, &hb->slots[i]);
		else if (nstale < (int)(sizeof(stale) / sizeof(stale[0])))
			stale[nstale++] = slot;
	}
	sqlite3_reset(stmt);
	if (r != SQLITE_DONE && r != SQLITE_ROW)
		return store_rc(st, r, cause);
	for (i = 0; i < nstale; i++) {
		if (store_stmt(st, del, &stmt, cause) != STORE_OK)
			return st->lastrc;
		store_bind(stmt, "li", rowid, stale[i]);
		if ((rc = store_run(st, stmt, cause)) != STORE_OK)
			return rc;
	}
	for (i = 0; i < hb->nslots; i++) {
		if (same[i])
			continue;
		s = &hb->slots[i];
		if (store_stmt(st, up, &stmt, cause) != STORE_OK)
			return st->lastrc;
		store_bind(stmt, "lisssssnsliiiiiii", rowid, s->slot, s->status,
		    s->operator, s->phone, s->iccid, s->imsi, s->signal,
		    s->registration, now, HB_KEPT(s, SLOT_STATUS),
		    HB_KEPT(s, SLOT_OPERATOR), HB_KEPT(s, SLOT_PHONE),
		    HB_KEPT(s, SLOT_ICCID), HB_KEPT(s, SLOT_IMSI),
		    HB_KEPT(s, SLOT_SIGNAL), HB_KEPT(s, SLOT_REGISTRATION));
		if ((rc = store_run(st, stmt, cause)) != STORE_OK)
			return rc;
	}
	return STORE_OK;
}

/* A device's move from one status to another, at a time (unix ms). */
struct device_change {
	const char	*id;		/* device id */
	const char	*status;
	const char	*previous;	/* NULL: none before */
	int64_t		 now;
};

/* Append the device-status-change event of CH; *EVID gets its id. */
static enum store_rc
device_status_event(struct store *st, const struct device_change *ch,
    int64_t *evid, char **cause)
{
	struct json_object	*o;
	enum store_rc		 rc;

	if ((o = json_object_new_object()) == NULL) {
		xasprintf(cause, "out of memory");
		return STORE_ERROR;
	}
	json_object_object_add(o, "deviceId", json_object_new_string(ch->id));
	json_object_object_add(o, "status", json_object_new_string(ch->status));
	json_object_object_add(o, "previousStatus", ch->previous == NULL ?
	    NULL : json_object_new_string(ch->previous));
	json_object_object_add(o, "at", store_json_timeval(ch->now));
	rc = evlog_append(st, &(struct event_new){ EVENT_DEVICE_STATUS_CHANGE,
	    ch->id, o }, evid, cause);
	json_object_put(o);
	return rc;
}

/*
 * Record heartbeat HB of device AT->device (ROWID) at AT->now (NOW) inside
 * the caller's transaction: the device row (a field left out keeps its
 * stored value, a null clears it), its slots (replaced when the report has
 * simSlots), a history row of the device's values after it (keeping about
 * AT->history per device), a device-status-change event when it was not
 * online, and a device-heartbeat event. *EVID gets the last event id.
 *
 * The history keeps the first heartbeat of each STEP milliseconds of the
 * clock (every heartbeat when STEP is 0): a device that beats faster than
 * that updates its row and its dashboards but adds no chart point. Each
 * device's steps start at its own phase, and it trims at its own turn, so
 * a fleet's history writes spread over the step instead of landing in one
 * transaction. The device's hb_seq counts its history rows, keyed by it.
 */
enum store_rc
device_heartbeat(struct store *st, const struct heartbeat *hb,
    const struct hb_store *at, int64_t *evid, char **cause)
{
	const int64_t	 rowid = at->device, now = at->now;
	const int64_t	 history = at->history, step = at->step;
	static const char *const sel = "SELECT device_id, status, last_seen "
	    "FROM devices WHERE id = ?";
	static const char *const upd = "UPDATE devices SET status = 'online', "
	    "battery = iif(?9, battery, ?1), charging = iif(?10, charging, ?2), "
	    "signal = iif(?11, signal, ?3), firmware = iif(?12, firmware, ?4), "
	    "uptime = iif(?13, uptime, ?5), "
	    "last_seen = ?6, hb_seq = hb_seq + ?7 WHERE id = ?8 "
	    "RETURNING " DEVICE_COLUMNS ", hb_seq";
	static const char *const hist = "INSERT OR REPLACE INTO heartbeats("
	    "device, seq, at, battery, charging, signal) "
	    "SELECT id, ?, ?, battery, charging, signal FROM devices "
	    "WHERE id = ?";
	static const char *const trim = "DELETE FROM heartbeats WHERE "
	    "device = ? AND seq <= ?";
	sqlite3_stmt		*stmt;
	struct json_object	*dev;
	struct device_change	 ch;
	char			 id[GOIP_DEVICE_ID_MAX + 1], prev[16];
	int64_t			 seq, last, phase;
	enum store_rc		 rc;
	int			 r, record;

	if (store_stmt(st, sel, &stmt, cause) != STORE_OK)
		return st->lastrc;
	store_bind(stmt, "l", rowid);
	if ((r = sqlite3_step(stmt)) != SQLITE_ROW) {
		sqlite3_reset(stmt);
		if (r == SQLITE_DONE)
			return STORE_NOTFOUND;
		return store_rc(st, r, cause);
	}
	snprintf(id, sizeof(id), "%s", sqlite3_column_text(stmt, 0));
	snprintf(prev, sizeof(prev), "%s", sqlite3_column_text(stmt, 1));
	if (step > 0) {
		phase = rowid * DEVICE_PHASE_PRIME % step;
		last = sqlite3_column_int64(stmt, 2);
		record = sqlite3_column_type(stmt, 2) == SQLITE_NULL ||
		    (now + phase) / step != (last + phase) / step;
	} else
		record = 1;
	sqlite3_reset(stmt);

	/* The slots first: the row the update returns is the event's. */
	if (hb->nslots >= 0 && (rc = device_slots_store(st, rowid, hb, now,
	    cause)) != STORE_OK)
		return rc;
	if (store_stmt(st, upd, &stmt, cause) != STORE_OK)
		return st->lastrc;
	store_bind(stmt, "nnnslllliiiii", hb->battery, hb->charging,
	    hb->signal, hb->firmware, hb->uptime, now, (int64_t)record, rowid,
	    HB_KEPT(hb, HB_BATTERY), HB_KEPT(hb, HB_CHARGING),
	    HB_KEPT(hb, HB_SIGNAL), HB_KEPT(hb, HB_FIRMWARE),
	    HB_KEPT(hb, HB_UPTIME));
	if (hb->uptime < 0)
		sqlite3_bind_null(stmt, 5);
	if ((r = sqlite3_step(stmt)) != SQLITE_ROW) {
		sqlite3_reset(stmt);
		return store_rc(st, r == SQLITE_DONE ? SQLITE_ERROR : r, cause);
	}
	seq = sqlite3_column_int64(stmt, 10);
	if ((rc = device_row_json(st, stmt, rowid, &dev, cause)) != STORE_OK) {
		sqlite3_reset(stmt);
		return rc;
	}
	if ((rc = store_run(st, stmt, cause)) != STORE_OK) {
		json_object_put(dev);
		return rc;
	}

	if (record) {
		if ((rc = store_stmt(st, hist, &stmt, cause)) != STORE_OK)
			goto out;
		store_bind(stmt, "lll", seq, now, rowid);
		if ((rc = store_run(st, stmt, cause)) != STORE_OK)
			goto out;
	}
	/* The history is trimmed every 32nd row: one range delete. */
	if (record && (seq + rowid) % 32 == 0 && seq > history) {
		if ((rc = store_stmt(st, trim, &stmt, cause)) != STORE_OK)
			goto out;
		store_bind(stmt, "ll", rowid, seq - history);
		if ((rc = store_run(st, stmt, cause)) != STORE_OK)
			goto out;
	}
	ch = (struct device_change){ id, "online", prev, now };
	if (strcmp(prev, "online") != 0 &&
	    (rc = device_status_event(st, &ch, evid, cause)) != STORE_OK)
		goto out;
	rc = evlog_append(st, &(struct event_new){ EVENT_DEVICE_HEARTBEAT, id,
	    dev }, evid, cause);
out:
	json_object_put(dev);
	return rc;
}

/* A device: the DEVICE_COLUMNS the API shows. */
static const struct store_col device_cols[] = {
	{ "deviceId", 0, store_json_text },
	{ "name", 1, store_json_text },
	{ "status", 2, store_json_text },
	{ "battery", 3, store_json_int },
	{ "charging", 4, store_json_bool },
	{ "signal", 5, store_json_int },
	{ "firmware", 6, store_json_text },
	{ "uptime", 7, store_json_int },
	{ "lastSeen", 8, store_json_time },
	{ NULL, 0, NULL }
};

/* One SIM slot of the device. */
static const struct store_col device_slot_cols[] = {
	{ "slot", 0, store_json_int },
	{ "status", 1, store_json_text },
	{ "operator", 2, store_json_text },
	{ "phoneNumber", 3, store_json_text },
	{ "iccid", 4, store_json_text },
	{ "imsi", 5, store_json_text },
	{ "signal", 6, store_json_int },
	{ "registration", 7, store_json_text },
	{ NULL, 0, NULL }
};

/* One chart point of the device's history. */
static const struct store_col device_history_cols[] = {
	{ "at", 0, store_json_time },
	{ "battery", 1, store_json_int },
	{ "charging", 2, store_json_bool },
	{ "signal", 3, store_json_int },
	{ NULL, 0, NULL }
};

/* The row objects of the device's lists. */
static struct json_object *
device_slot_row(sqlite3_stmt *stmt)
{
	return store_json_object(stmt, device_slot_cols);
}

static struct json_object *
device_history_row(sqlite3_stmt *stmt)
{
	return store_json_object(stmt, device_history_cols);
}

/*
 * A list a device object holds: its key, a statement that binds the
 * device's row id, and the object of each of its rows.
 */
struct device_rows {
	const char		*key;
	const char		*sql;
	struct json_object	*(*row)(sqlite3_stmt *);
};

/* The SIM slots, in slot order. */
static const struct device_rows device_slots = {
	"simSlots",
	"SELECT slot, status, operator, phone_number, iccid, imsi, signal, "
	    "registration FROM sim_slots WHERE device = ? ORDER BY slot",
	device_slot_row
};

/* The last DEVICE_HISTORY_SHOWN heartbeats, oldest first. */
static const struct device_rows device_history = {
	"history",
	"SELECT at, battery, charging, signal FROM (SELECT * FROM heartbeats "
	    "WHERE device = ? ORDER BY seq DESC LIMIT "
	    DEVICE_HISTORY_SHOWN ") ORDER BY seq",
	device_history_row
};

/*
 * Add list L of device ROWID to its object O. Returns STORE_OK, or the
 * store_rc of the failure with *cause set and O unchanged.
 */
static enum store_rc
device_rows_add(struct store *st, const struct device_rows *l, int64_t rowid,
    struct json_object *o, char **cause)
{
	sqlite3_stmt		*stmt;
	struct json_object	*arr;
	enum store_rc		 src;

	if ((src = store_stmt(st, l->sql, &stmt, cause)) != STORE_OK)
		return src;
	store_bind(stmt, "l", rowid);
	if ((src = store_json_rows(st, stmt, l->row, &arr, cause)) ==
	    STORE_OK)
		json_object_object_add(o, l->key, arr);
	return src;
}

/* Build *OUT, the device object of the current row of a device query. */
static enum store_rc
device_row_json(struct store *st, sqlite3_stmt *stmt, int64_t rowid,
    struct json_object **out, char **cause)
{
	struct json_object	*o;
	enum store_rc		 rc;

	if ((o = store_json_object(stmt, device_cols)) == NULL) {
		xasprintf(cause, "out of memory");
		*out = NULL;
		return STORE_ERROR;
	}
	if ((rc = device_rows_add(st, &device_slots, rowid, o, cause)) !=
	    STORE_OK) {
		json_object_put(o);
		o = NULL;
	}
	*out = o;
	return rc;
}

/*
 * Set *OUT to the device ROWID as the API shows it, with its heartbeat
 * history when HISTORY is set: a new object the caller puts. Returns
 * STORE_OK, STORE_NOTFOUND when there is no such device, or the store_rc of
 * the failure (STORE_BUSY, ...) with *cause set; *OUT is NULL but on
 * STORE_OK.
 */
enum store_rc
device_json(struct store *st, int64_t rowid, int history,
    struct json_object **out, char **cause)
{
	static const char *const sql = "SELECT " DEVICE_COLUMNS
	    " FROM devices WHERE id = ?";
	sqlite3_stmt		*stmt;
	struct json_object	*o = NULL;
	enum store_rc		 src;

	*out = NULL;
	if ((src = store_stmt(st, sql, &stmt, cause)) != STORE_OK)
		return src;
	store_bind(stmt, "l", rowid);
	if ((src = store_row(st, stmt, cause)) == STORE_OK)
		src = device_row_json(st, stmt, rowid, &o, cause);
	sqlite3_reset(stmt);
	if (src == STORE_OK && history)
		src = device_rows_add(st, &device_history, rowid, o, cause);
	if (src != STORE_OK) {
		json_object_put(o);
		return src;
	}
	*out = o;
	return STORE_OK;
}

/*
 * Set *OUT to every device, ordered by id, as a new JSON array. Returns
 * STORE_OK or the store_rc of the failure with *cause set (*OUT NULL).
 */
enum store_rc
device_list_json(struct store *st, struct json_object **out, char **cause)
{
	static const char *const sql = "SELECT " DEVICE_COLUMNS
	    " FROM devices ORDER BY device_id";
	sqlite3_stmt		*stmt;
	struct json_object	*arr, *o;
	int64_t			*ids = NULL;
	size_t			 n = 0, cap = 0, i;
	enum store_rc		 src;
	int			 rc;

	*out = NULL;
	/* Collect ids first: the slot query reuses the statement cache. */
	if ((src = store_stmt(st, sql, &stmt, cause)) != STORE_OK)
		return src;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (n == cap) {
			int64_t *p;

			cap = cap == 0 ? 64 : cap * 2;
			if ((p = reallocarray(ids, cap, sizeof(*ids))) == NULL) {
				free(ids);
				sqlite3_reset(stmt);
				xasprintf(cause, "out of memory");
				return STORE_ERROR;
			}
			ids = p;
		}
		ids[n++] = sqlite3_column_int64(stmt, 9);
	}
	sqlite3_reset(stmt);
	if ((src = store_rc(st, rc, cause)) != STORE_OK) {
		free(ids);
		return src;
	}
	arr = json_object_new_array();
	for (i = 0; i < n; i++) {
		src = device_json(st, ids[i], 0, &o, cause);
		if (src == STORE_NOTFOUND)
			continue;	/* removed meanwhile */
		if (src != STORE_OK) {
			json_object_put(arr);
			free(ids);
			return src;
		}
		json_object_array_add(arr, o);
	}
	free(ids);
	*out = arr;
	return STORE_OK;
}

/*
 * goipctl device list: one line per device to FP. Returns STORE_OK or the
 * store_rc of the failure with *cause set (FP may hold some lines then).
 */
enum store_rc
device_list(struct store *st, FILE *fp, char **cause)
{
	static const char *const sql = "SELECT device_id, status, last_seen, "
	    "COALESCE(name, '') FROM devices ORDER BY device_id";
	sqlite3_stmt	*stmt;
	char		 t[64];
	enum store_rc	 src;
	int		 rc;

	if ((src = store_stmt(st, sql, &stmt, cause)) != STORE_OK)
		return src;
	fprintf(fp, "%-24s %-8s %-24s %s\n", "DEVICE", "STATUS", "LAST SEEN",
	    "NAME");
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (sqlite3_column_type(stmt, 2) == SQLITE_NULL ||
		    util_time_format(sqlite3_column_int64(stmt, 2), t,
		    sizeof(t)) == -1)
			snprintf(t, sizeof(t), "never");
		fprintf(fp, "%-24s %-8s %-24s %s\n",
		    sqlite3_column_text(stmt, 0), sqlite3_column_text(stmt, 1),
		    t, sqlite3_column_text(stmt, 3));
	}
	sqlite3_reset(stmt);
	return store_rc(st, rc, cause);
}

/*
 * The sweep, run every second by the notifier: in one transaction, mark
 * offline every online device silent since before NOW - OFFLINE_AFTER, each
 * with a device-status-change event, and expire outbound SMS past their
 * expiry (sms_expire()). *RES says what changed and the last event id.
 * Returns STORE_OK, or the store_rc of the failure (STORE_BUSY: try again
 * later) with *cause set and nothing changed.
 */
enum store_rc
device_sweep(struct store *st, int64_t now, int64_t offline_after,
    struct sweep_result *res, char **cause)
{
	static const char *const sel = "SELECT id, device_id FROM devices "
	    "WHERE status = 'online' AND last_seen < ? LIMIT "
	    DEVICE_SWEEP_BATCH_SQL;
	static const char *const upd = "UPDATE devices SET status = 'offline' "
	    "WHERE id = ?";
	static const char *const clamp = "UPDATE devices SET last_seen = ? "
	    "WHERE status = 'online' AND last_seen > ?";
	sqlite3_stmt		*stmt;
	struct device_change	 ch;
	int64_t			 ids[DEVICE_SWEEP_BATCH];
	char			 names[DEVICE_SWEEP_BATCH]
				    [GOIP_DEVICE_ID_MAX + 1];
	int			 n = 0, i, rc, clamped;
	enum store_rc		 src;

	memset(res, 0, sizeof(*res));
	if ((src = store_begin(st, cause)) != STORE_OK)
		return src;
	/*
	 * After the wall clock stepped back, a device last seen "in the
	 * future" would stay online for the size of the step plus
	 * offline_after: count its silence from now instead.
	 */
	if ((src = store_stmt(st, clamp, &stmt, cause)) != STORE_OK)
		goto fail;
	store_bind(stmt, "ll", now, now);
	if ((src = store_run(st, stmt, cause)) != STORE_OK)
		goto fail;
	clamped = sqlite3_changes(st->db);
	if ((src = store_stmt(st, sel, &stmt, cause)) != STORE_OK)
		goto fail;
	store_bind(stmt, "l", now - offline_after);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW &&
	    n < DEVICE_SWEEP_BATCH) {
		ids[n] = sqlite3_column_int64(stmt, 0);
		snprintf(names[n], sizeof(names[n]), "%s",
		    sqlite3_column_text(stmt, 1));
		n++;
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW && (src = store_rc(st, rc, cause)) != STORE_OK)
		goto fail;
	for (i = 0; i < n; i++) {
		if ((src = store_stmt(st, upd, &stmt, cause)) != STORE_OK)
			goto fail;
		store_bind(stmt, "l", ids[i]);
		if ((src = store_run(st, stmt, cause)) != STORE_OK)
			goto fail;
		ch = (struct device_change){ names[i], "offline", "online",
		    now };
		if ((src = device_status_event(st, &ch, &res->evid, cause)) !=
		    STORE_OK)
			goto fail;
	}
	if ((src = sms_expire(st, now, &res->expired, &res->evid, cause)) !=
	    STORE_OK)
		goto fail;
	res->offline = n;
	if (n + res->expired + clamped == 0) {
		store_rollback(st);
		return STORE_OK;
	}
	if ((src = store_commit(st, cause)) != STORE_OK)
		memset(res, 0, sizeof(*res));
	return src;
fail:
	store_rollback(st);
	memset(res, 0, sizeof(*res));
	return src;
}
