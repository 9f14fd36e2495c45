/*
 * store_test: the SQLite store on a database in the test's work directory
 * (lib/store.c, device.c, sms.c, evlog.c, stats.c): schema version checks,
 * devices and tokens, heartbeats with their events and counters, SMS
 * deduplication and paging, the event log, the liveness sweep, group
 * commit (group.c) and the checkpoint thread (checkpoint.c).
 */
#include "config.h"

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <atf-c.h>
#include <json-c/json.h>
#include <sqlite3.h>

#include "goip.h"
#include "store_int.h"

#define DB	"goip.db"

/* A connection to DB with BUSY ms of busy timeout, opened as MODE says. */
static struct store *
db_open(int64_t busy, int mode)
{
	struct store	*st;
	char		*cause = NULL;

	st = store_open(DB, busy, mode, &cause);
	ATF_REQUIRE_MSG(st != NULL, "store_open: %s", cause);
	return st;
}

/* A fresh database with the whole schema. */
static struct store *
db_new(void)
{
	struct store	*st;
	char		*cause = NULL;
	int		 applied;

	st = db_open(1000, STORE_OPEN_CREATE);
	ATF_REQUIRE_MSG(store_migrate(st, &applied, &cause) == 0,
	    "store_migrate: %s", cause);
	ATF_REQUIRE_EQ(applied, nmigrations);
	return st;
}

/* Run SQL, failing the case on error. */
static void
db_exec(struct store *st, const char *sql)
{
	char	*err = NULL;

	if (sqlite3_exec(st->db, sql, NULL, NULL, &err) != SQLITE_OK)
		atf_tc_fail("%s: %s", sql, err);
}

/* The integer answer of SQL (one row, one column). */
static int64_t
db_int(struct store *st, const char *sql)
{
	sqlite3_stmt	*stmt;
	int64_t		 v;

	ATF_REQUIRE_MSG(sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) ==
	    SQLITE_OK, "%s: %s", sql, sqlite3_errmsg(st->db));
	ATF_REQUIRE_MSG(sqlite3_step(stmt) == SQLITE_ROW, "%s: no row", sql);
	v = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return v;
}

/* Register device ID, writing its token to TOKEN; return its row id. */
static int64_t
dev_add(struct store *st, const char *id, char *token)
{
	char	*cause = NULL, idbuf[80];
	int64_t	 rowid;

	ATF_REQUIRE_MSG(device_add(st, id, NULL, token, &cause) == STORE_OK,
	    "device_add %s: %s", id, cause);
	ATF_REQUIRE(device_by_token(st, token, &rowid, idbuf, &cause) ==
	    STORE_OK);
	ATF_REQUIRE_STREQ(idbuf, id);
	return rowid;
}

/*
 * Store heartbeat HB as AT says (device, time, history kept, step) in its
 * own transaction; return the last event id.
 */
static int64_t
beat_at(struct store *st, const struct heartbeat *hb,
    const struct hb_store *at)
{
	char		*cause = NULL;
	int64_t		 evid = 0;

	ATF_REQUIRE(store_begin(st, &cause) == STORE_OK);
	ATF_REQUIRE_MSG(device_heartbeat(st, hb, at, &evid, &cause) ==
	    STORE_OK, "device_heartbeat: %s", cause);
	ATF_REQUIRE(store_commit(st, &cause) == STORE_OK);
	return evid;
}

/* The same for device ROWID at NOW, with a history row for every one. */
static int64_t
beat(struct store *st, int64_t rowid, const struct heartbeat *hb, int64_t now,
    int64_t history)
{
	struct hb_store	 at = { rowid, now, history, 0 };

	return beat_at(st, hb, &at);
}

static void
hb_init(struct heartbeat *hb)
{
	memset(hb, 0, sizeof(*hb));
	hb->battery = hb->charging = hb->signal = -1;
	hb->uptime = -1;
	hb->nslots = -1;
}

/* Report two slots in HB: a registered SIM in 1, none in 2. */
static void
hb_two_slots(struct heartbeat *hb)
{
	hb->nslots = 2;
	hb->slots[0] = (struct hb_slot){ 1, "ready", "PLAY", "+48500100200",
	    "8948000000000000001", "260060000000001", 71, "home", 0 };
	hb->slots[1] = (struct hb_slot){ 2, "absent", NULL, NULL, NULL, NULL,
	    -1, NULL, 0 };
}

/* Receive message MID (text TEXT) from device ROWID in one transaction. */
static int64_t
recv_sms(struct store *st, int64_t rowid, const char *mid, const char *text,
    int *dup)
{
	struct sms_in		 s;
	struct sms_recv		 at = { rowid, util_now_ms() };
	struct sms_stored	 res;
	char			*cause = NULL;

	memset(&s, 0, sizeof(s));
	s.message_id = mid;
	s.slot = 1;
	s.from = "+447700900123";
	s.to = "+48500100200";
	s.text = text;
	s.textlen = strlen(text);
	s.received_at = 1795601698000LL;
	ATF_REQUIRE(store_begin(st, &cause) == STORE_OK);
	ATF_REQUIRE_MSG(sms_receive(st, &s, &at, &res, &cause) == STORE_OK,
	    "sms_receive: %s", cause);
	ATF_REQUIRE(store_commit(st, &cause) == STORE_OK);
	*dup = res.seen;
	return res.id;
}

/* Integer member PATH ("a.b") of OBJ. */
static int64_t
jint(struct json_object *obj, const char *a, const char *b)
{
	struct json_object	*v;

	ATF_REQUIRE_MSG(json_object_object_get_ex(obj, a, &v), "no %s", a);
	if (b != NULL)
		ATF_REQUIRE_MSG(json_object_object_get_ex(v, b, &v), "no %s.%s",
		    a, b);
	return json_object_get_int64(v);
}

static const char *
jstr(struct json_object *obj, const char *key)
{
	struct json_object	*v;

	ATF_REQUIRE_MSG(json_object_object_get_ex(obj, key, &v), "no %s", key);
	return json_object_get_string(v);
}

/* The stats object now; the caller puts it. */
static struct json_object *
stats(struct store *st)
{
	struct json_object	*o;
	char			*cause = NULL;

	ATF_REQUIRE_MSG(stats_json(st, util_now_ms(), &o, &cause) == STORE_OK,
	    "stats_json: %s", cause);
	return o;
}

/* The page P of sms_list_json(), or NULL. */
static struct json_object *
list_page(struct store *st, const struct sms_page *p, char **cause)
{
	struct json_object	*arr;

	if (sms_list_json(st, p, &arr, cause) != STORE_OK)
		return NULL;
	return arr;
}

/* Read up to MAX events after AFTER into EV; return how many. */
static int
evread(struct store *st, int64_t after, int max, struct event *ev)
{
	struct event_page	 p = { after, NULL, max };
	char			*cause = NULL;
	int			 n;

	ATF_REQUIRE_MSG(evlog_read(st, &p, ev, &n, &cause) == STORE_OK,
	    "evlog_read: %s", cause);
	return n;
}

/* evlog_last() or, with FIRST, evlog_first(), which must not fail. */
static int64_t
evid_at(struct store *st, int first)
{
	char	*cause = NULL;
	int64_t	 id = -1;

	ATF_REQUIRE_MSG((first ? evlog_first(st, &id, &cause) :
	    evlog_last(st, &id, &cause)) == STORE_OK, "evlog: %s", cause);
	return id;
}

ATF_TC(store_open__missing_file);
ATF_TC_HEAD(store_open__missing_file, tc)
{
	atf_tc_set_md_var(tc, "descr", "store_open refuses a missing file "
	    "unless asked to create it");
}
ATF_TC_BODY(store_open__missing_file, tc)
{
	char	*cause = NULL;

	ATF_CHECK(store_open("none.db", 100, STORE_OPEN_CHECK, &cause) ==
	    NULL);
	ATF_REQUIRE(cause != NULL);
	ATF_CHECK(strstr(cause, "none.db") != NULL);
	free(cause);
	cause = NULL;
	ATF_CHECK(store_open("none.db", 100, STORE_OPEN_ANY, &cause) == NULL);
	free(cause);
	ATF_CHECK(access("none.db", F_OK) == -1);
}

ATF_TC(store_open__no_schema);
ATF_TC_HEAD(store_open__no_schema, tc)
{
	atf_tc_set_md_var(tc, "descr", "a database without schema is "
	    "refused with a hint to run goipctl init");
}
ATF_TC_BODY(store_open__no_schema, tc)
{
	struct store	*st;
	char		*cause = NULL;

	st = db_open(100, STORE_OPEN_CREATE);
	ATF_CHECK_EQ(store_version(st), 0);
	store_close(st);
	ATF_CHECK(store_open(DB, 100, STORE_OPEN_CHECK, &cause) == NULL);
	ATF_REQUIRE(cause != NULL);
	ATF_CHECK_MSG(strstr(cause, "goipctl init") != NULL, "%s", cause);
	free(cause);
	store_close(NULL);
}

ATF_TC(store_migrate__fresh_and_again);
ATF_TC_HEAD(store_migrate__fresh_and_again, tc)
{
	atf_tc_set_md_var(tc, "descr", "store_migrate applies every "
	    "migration once, sets the version, and applies nothing the "
	    "second time; the database is then in WAL mode");
}
ATF_TC_BODY(store_migrate__fresh_and_again, tc)
{
	struct store	*st;
	char		*cause = NULL;
	int		 applied = -1;

	st = db_new();
	ATF_CHECK_EQ(store_version(st), nmigrations);
	ATF_CHECK(store_migrate(st, &applied, &cause) == 0);
	ATF_CHECK_EQ(applied, 0);
	store_close(st);
	st = db_open(100, STORE_OPEN_CHECK);
	ATF_CHECK(store_check_version(st, &cause) == 0);
	ATF_CHECK_EQ(db_int(st, "SELECT count(*) FROM pragma_journal_mode "
	    "WHERE journal_mode = 'wal'"), 1);
	ATF_CHECK_EQ(db_int(st, "PRAGMA foreign_keys"), 1);
	ATF_CHECK_EQ(db_int(st, "SELECT count(*) FROM sqlite_master WHERE "
	    "name IN ('devices', 'sim_slots', 'heartbeats', 'sms', 'events', "
	    "'counters', 'daily_counters')"), 7);
	store_close(st);
}

ATF_TC(store_open__newer_schema_refused);
ATF_TC_HEAD(store_open__newer_schema_refused, tc)
{
	atf_tc_set_md_var(tc, "descr", "a schema newer than the program is "
	    "refused by store_open and store_migrate; an older one asks for "
	    "goipctl migrate");
}
ATF_TC_BODY(store_open__newer_schema_refused, tc)
{
	struct store	*st;
	char		*cause = NULL, sql[64];
	int		 applied;

	st = db_new();
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
	    nmigrations + 1);
	db_exec(st, sql);
	store_close(st);

	ATF_CHECK(store_open(DB, 100, STORE_OPEN_CHECK, &cause) == NULL);
	ATF_REQUIRE(cause != NULL);
	ATF_CHECK_MSG(strstr(cause, "newer than this program") != NULL, "%s",
	    cause);
	free(cause);
	cause = NULL;

	st = db_open(100, STORE_OPEN_ANY);
	ATF_CHECK(store_migrate(st, &applied, &cause) == -1);
	ATF_REQUIRE(cause != NULL);
	ATF_CHECK(strstr(cause, "newer") != NULL);
	free(cause);
	cause = NULL;
	ATF_CHECK_EQ(store_version(st), nmigrations + 1);

	if (nmigrations > 1) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
		    nmigrations - 1);
		db_exec(st, sql);
		store_close(st);
		ATF_CHECK(store_open(DB, 100, STORE_OPEN_CHECK, &cause) ==
		    NULL);
		ATF_REQUIRE(cause != NULL);
		ATF_CHECK(strstr(cause, "goipctl migrate") != NULL);
		free(cause);
	} else
		store_close(st);
}

ATF_TC(store_begin__busy);
ATF_TC_HEAD(store_begin__busy, tc)
{
	atf_tc_set_md_var(tc, "descr", "a writer meeting another's write "
	    "lock past its busy timeout gets STORE_BUSY, then succeeds once "
	    "the lock is gone");
}
ATF_TC_BODY(store_begin__busy, tc)
{
	struct store	*a, *b;
	char		*cause = NULL;
	int64_t		 t0;

	a = db_new();
	b = db_open(100, STORE_OPEN_CHECK);
	ATF_REQUIRE(store_begin(a, &cause) == STORE_OK);
	t0 = util_now_ms();
	ATF_CHECK(store_begin(b, &cause) == STORE_BUSY);
	ATF_CHECK_MSG(util_now_ms() - t0 >= 90, "gave up after %lld ms",
	    (long long)(util_now_ms() - t0));
	ATF_REQUIRE(cause != NULL);
	ATF_CHECK_STREQ(cause, "database busy");
	free(cause);
	cause = NULL;
	/* Readers are not blocked by the writer (WAL). */
	ATF_CHECK_EQ(db_int(b, "SELECT count(*) FROM devices"), 0);
	store_rollback(a);
	ATF_CHECK(store_begin(b, &cause) == STORE_OK);
	ATF_CHECK(store_commit(b, &cause) == STORE_OK);
	store_close(b);
	store_close(a);
}

ATF_TC(device_add__token_and_hash);
ATF_TC_HEAD(device_add__token_and_hash, tc)
{
	atf_tc_set_md_var(tc, "descr", "device_add issues a 43-character "
	    "base64url token, stores only its SHA-256, and refuses a "
	    "duplicate id");
}
ATF_TC_BODY(device_add__token_and_hash, tc)
{
	struct store	*st;
	char		 tok[GOIP_TOKEN_LEN + 1], tok2[GOIP_TOKEN_LEN + 1];
	char		*cause = NULL, id[80];
	int64_t		 rowid;
	uint8_t		 h[32];
	sqlite3_stmt	*stmt;
	size_t		 i;

	st = db_new();
	ATF_REQUIRE(device_add(st, "goip-01", "Lab \xc5\xbc", tok, &cause) ==
	    STORE_OK);
	ATF_CHECK_EQ(strlen(tok), GOIP_TOKEN_LEN);
	for (i = 0; i < strlen(tok); i++)
		ATF_CHECK_MSG(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
		    "opqrstuvwxyz0123456789-_", tok[i]) != NULL,
		    "token byte %zu is %c", i, tok[i]);

	token_hash(tok, strlen(tok), h);
	ATF_REQUIRE(sqlite3_prepare_v2(st->db, "SELECT token_hash, name, "
	    "status FROM devices WHERE device_id = 'goip-01'", -1, &stmt,
	    NULL) == SQLITE_OK);
	ATF_REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
	ATF_CHECK_EQ(sqlite3_column_bytes(stmt, 0), 32);
	ATF_CHECK(memcmp(sqlite3_column_blob(stmt, 0), h, 32) == 0);
	ATF_CHECK_STREQ((const char *)sqlite3_column_text(stmt, 1),
	    "Lab \xc5\xbc");
	ATF_CHECK_STREQ((const char *)sqlite3_column_text(stmt, 2), "offline");
	sqlite3_finalize(stmt);
	/* The token itself is nowhere in the database. */
	ATF_REQUIRE(sqlite3_prepare_v2(st->db, "SELECT count(*) FROM devices "
	    "WHERE instr(token_hash, ?1) OR instr(name, ?1) OR "
	    "instr(device_id, ?1)", -1, &stmt, NULL) == SQLITE_OK);
	sqlite3_bind_text(stmt, 1, tok, -1, SQLITE_STATIC);
	ATF_REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
	ATF_CHECK_EQ(sqlite3_column_int(stmt, 0), 0);
	sqlite3_finalize(stmt);

	ATF_CHECK(device_by_token(st, tok, &rowid, id, &cause) ==
	    STORE_OK);
	ATF_CHECK_STREQ(id, "goip-01");
	ATF_CHECK(device_add(st, "goip-01", NULL, tok2, &cause) ==
	    STORE_CONFLICT);
	free(cause);
	cause = NULL;
	ATF_CHECK_EQ(db_int(st, "SELECT count(*) FROM devices"), 1);
	ATF_CHECK(device_add(st, "goip-02", NULL, tok2, &cause) == STORE_OK);
	ATF_CHECK(strcmp(tok, tok2) != 0);
	store_close(st);
}

ATF_TC(device_by_token__unknown);
ATF_TC_HEAD(device_by_token__unknown, tc)
{
	atf_tc_set_md_var(tc, "descr", "device_by_token answers NOTFOUND "
	    "for unknown, empty, truncated or extended tokens");
}
ATF_TC_BODY(device_by_token__unknown, tc)
{
	struct store	*st;
	char		 tok[GOIP_TOKEN_LEN + 1], bad[GOIP_TOKEN_LEN + 8];
	char		*cause = NULL, id[80] = "untouched";
	int64_t		 rowid = -7;

	st = db_new();
	dev_add(st, "goip-01", tok);
	ATF_CHECK(device_by_token(st, "", &rowid, id, &cause) ==
	    STORE_NOTFOUND);
	ATF_CHECK(device_by_token(st, "nope", &rowid, id, &cause)
	    == STORE_NOTFOUND);
	snprintf(bad, sizeof(bad), "%.*s", GOIP_TOKEN_LEN - 1, tok);
	ATF_CHECK(device_by_token(st, bad, &rowid, id, &cause) ==
	    STORE_NOTFOUND);
	snprintf(bad, sizeof(bad), "%sx", tok);
	ATF_CHECK(device_by_token(st, bad, &rowid, id, &cause) ==
	    STORE_NOTFOUND);
	snprintf(bad, sizeof(bad), "%s", tok);
	bad[0] = bad[0] == 'A' ? 'B' : 'A';
	ATF_CHECK(device_by_token(st, bad, &rowid, id, &cause) ==
	    STORE_NOTFOUND);
	ATF_CHECK_EQ(rowid, -7);
	ATF_CHECK_STREQ(id, "untouched");
	ATF_CHECK(cause == NULL);
	store_close(st);
}

ATF_TC(device_rotate_token__old_stops);
ATF_TC_HEAD(device_rotate_token__old_stops, tc)
{
	atf_tc_set_md_var(tc, "descr", "after device_rotate_token the new "
	    "token works and the old one does not; an unknown id is "
	    "NOTFOUND");
}
ATF_TC_BODY(device_rotate_token__old_stops, tc)
{
	struct store	*st;
	char		 old[GOIP_TOKEN_LEN + 1], new[GOIP_TOKEN_LEN + 1];
	char		*cause = NULL, id[80];
	int64_t		 rowid, r;

	st = db_new();
	rowid = dev_add(st, "goip-01", old);
	ATF_REQUIRE(device_rotate_token(st, "goip-01", new, &cause) ==
	    STORE_OK);
	ATF_CHECK(strcmp(old, new) != 0);
	ATF_CHECK(device_by_token(st, old, &r, id, &cause) ==
	    STORE_NOTFOUND);
	ATF_CHECK(device_by_token(st, new, &r, id, &cause) ==
	    STORE_OK);
	ATF_CHECK_EQ(r, rowid);
	ATF_CHECK(device_rotate_token(st, "goip-99", new, &cause) ==
	    STORE_NOTFOUND);
	store_close(st);
}

ATF_TC(device_remove__cascade);
ATF_TC_HEAD(device_remove__cascade, tc)
{
	atf_tc_set_md_var(tc, "descr", "device_remove deletes the device "
	    "with its slots, history and SMS and updates the counters");
}
ATF_TC_BODY(device_remove__cascade, tc)
{
	struct store		*st;
	struct heartbeat	 hb;
	struct json_object	*o;
	char			 tok[GOIP_TOKEN_LEN + 1], tok2[GOIP_TOKEN_LEN + 1];
	char			*cause = NULL, id[80];
	int64_t			 rowid, r;
	int			 dup;

	st = db_new();
	rowid = dev_add(st, "goip-01", tok);
	dev_add(st, "goip-02", tok2);
	hb_init(&hb);
	hb.nslots = 1;
	hb.slots[0].slot = 1;
	hb.slots[0].signal = -1;
	beat(st, rowid, &hb, util_now_ms(), 100);
	recv_sms(st, rowid, "m1", "hello", &dup);
	o = stats(st);
	ATF_CHECK_EQ(jint(o, "devices", "total"), 2);
	ATF_CHECK_EQ(jint(o, "devices", "online"), 1);
	json_object_put(o);

	ATF_REQUIRE(device_remove(st, "goip-01", &cause) == STORE_OK);
	ATF_CHECK(device_by_token(st, tok, &r, id, &cause) ==
	    STORE_NOTFOUND);
	ATF_CHECK(device_lookup(st, "goip-01", &r, &cause) == STORE_NOTFOUND);
	ATF_CHECK_EQ(db_int(st, "SELECT count(*) FROM sim_slots"), 0);
	ATF_CHECK_EQ(db_int(st, "SELECT count(*) FROM heartbeats"), 0);
	ATF_CHECK_EQ(db_int(st, "SELECT count(*) FROM sms"), 0);
	o = stats(st);
	ATF_CHECK_EQ(jint(o, "devices", "total"), 1);
	ATF_CHECK_EQ(jint(o, "devices", "online"), 0);
	ATF_CHECK_EQ(jint(o, "devices", "offline"), 1);
	json_object_put(o);
	ATF_CHECK(device_remove(st, "goip-01", &cause) == STORE_NOTFOUND);
	ATF_CHECK(device_lookup(st, "goip-02", &r, &cause) == STORE_OK);
	store_close(st);
}

ATF_TC(device_heartbeat__events_and_counters);
ATF_TC_HEAD(device_heartbeat__events_and_counters, tc)
{
	atf_tc_set_md_var(tc, "descr", "the first heartbeat sets the device "
	    "online with a status-change and a heartbeat event; later ones "
	    "only a heartbeat event; stats_json counts online devices");
}
ATF_TC_BODY(device_heartbeat__events_and_counters, tc)
{
	struct store		*st;
	struct heartbeat	 hb;
	struct event		 ev[8];
	struct json_object	*o, *slots, *s;
	char			 tok[GOIP_TOKEN_LEN + 1];
	char			*cause = NULL;
	int64_t			 rowid, now, evid;
	int			 n;

	st = db_new();
	rowid = dev_add(st, "goip-01", tok);
	o = stats(st);
	ATF_CHECK_EQ(jint(o, "devices", "total"), 1);
	ATF_CHECK_EQ(jint(o, "devices", "online"), 0);
	ATF_CHECK_EQ(jint(o, "devices", "offline"), 1);
	json_object_put(o);

	hb_init(&hb);
	hb.battery = 87;
	hb.charging = 1;
	hb.signal = 74;
	hb.firmware = "GST1610-1.01";
	hb.uptime = 86400;
	hb_two_slots(&hb);
	now = util_now_ms();
	evid = beat(st, rowid, &hb, now, 1000);

	n = evread(st, 0, 8, ev);
	ATF_REQUIRE_EQ_MSG(n, 2, "%d events: %s", n, cause);
	ATF_CHECK(ev[0].type == EVENT_DEVICE_STATUS_CHANGE);
	ATF_CHECK_STREQ(ev[0].device, "goip-01");
	ATF_CHECK(strstr(ev[0].payload, "\"status\":\"online\"") != NULL);
	ATF_CHECK(strstr(ev[0].payload, "\"previousStatus\":\"offline\"") !=
	    NULL);
	ATF_CHECK(ev[1].type == EVENT_DEVICE_HEARTBEAT);
	ATF_CHECK_EQ(ev[1].id, evid);
	ATF_CHECK(ev[1].id > ev[0].id);
	ATF_CHECK(strstr(ev[1].payload, "\"battery\":87") != NULL);
	ATF_CHECK(strstr(ev[1].payload, "eventId") == NULL);
	ATF_CHECK_EQ(ev[1].payloadlen, strlen(ev[1].payload));
	/* The event carries the device exactly as the API shows it. */
	ATF_REQUIRE_MSG(device_json(st, rowid, 0, &o, &cause) ==
	    STORE_OK, "%s", cause);
	ATF_CHECK_STREQ(ev[1].payload, json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	ATF_CHECK(strstr(ev[1].payload, "\"iccid\":\"8948000000000000001\"") !=
	    NULL);
	json_object_put(o);
	evlog_clear(ev, n);

	o = stats(st);
	ATF_CHECK_EQ(jint(o, "devices", "online"), 1);
	ATF_CHECK_EQ(jint(o, "devices", "offline"), 0);
	json_object_put(o);

	ATF_REQUIRE_MSG(device_json(st, rowid, 1, &o, &cause) ==
	    STORE_OK, "%s", cause);
	ATF_CHECK_STREQ(jstr(o, "deviceId"), "goip-01");
	ATF_CHECK_STREQ(jstr(o, "status"), "online");
	ATF_CHECK_EQ(jint(o, "battery", NULL), 87);
	ATF_CHECK_EQ(jint(o, "signal", NULL), 74);
	ATF_CHECK_EQ(jint(o, "uptime", NULL), 86400);
	ATF_CHECK_STREQ(jstr(o, "firmware"), "GST1610-1.01");
	ATF_CHECK_STREQ(jstr(o, "charging"), "true");
	ATF_REQUIRE(json_object_object_get_ex(o, "simSlots", &slots));
	ATF_REQUIRE_EQ(json_object_array_length(slots), 2);
	s = json_object_array_get_idx(slots, 0);
	ATF_CHECK_EQ(jint(s, "slot", NULL), 1);
	ATF_CHECK_STREQ(jstr(s, "status"), "ready");
	ATF_CHECK_STREQ(jstr(s, "operator"), "PLAY");
	ATF_CHECK_STREQ(jstr(s, "phoneNumber"), "+48500100200");
	ATF_CHECK_STREQ(jstr(s, "iccid"), "8948000000000000001");
	ATF_CHECK_STREQ(jstr(s, "imsi"), "260060000000001");
	ATF_CHECK_EQ(jint(s, "signal", NULL), 71);
	ATF_CHECK_STREQ(jstr(s, "registration"), "home");
	s = json_object_array_get_idx(slots, 1);
	ATF_CHECK_STREQ(jstr(s, "status"), "absent");
	ATF_CHECK(json_object_object_get_ex(s, "operator", &slots) &&
	    slots == NULL);
	ATF_REQUIRE(json_object_object_get_ex(o, "history", &slots));
	ATF_CHECK_EQ(json_object_array_length(slots), 1);
	json_object_put(o);

	/* Online already: one heartbeat event, no status change. */
	hb.battery = 50;
	hb.nslots = -1;			/* simSlots absent: slots kept */
	beat(st, rowid, &hb, now + 1000, 1000);
	n = evread(st, evid, 8, ev);
	ATF_REQUIRE_EQ(n, 1);
	ATF_CHECK(ev[0].type == EVENT_DEVICE_HEARTBEAT);
	evlog_clear(ev, n);
	ATF_CHECK_EQ(db_int(st, "SELECT count(*) FROM sim_slots"), 2);
	ATF_CHECK_EQ(db_int(st, "SELECT battery FROM devices"), 50);

	hb.nslots = 0;			/* simSlots: [] clears them */
	beat(st, rowid, &hb, now + 2000, 1000);
	ATF_CHECK_EQ(db_int(st, "SELECT count(*) FROM sim_slots"), 0);
	o = stats(st);
	ATF_CHECK_EQ(jint(o, "devices", "online"), 1);
	json_object_put(o);
	store_close(st);
}

ATF_TC(device_heartbeat__slots_changed);
ATF_TC_HEAD(device_heartbeat__slots_changed, tc)
{
	atf_tc_set_md_var(tc, "descr", "a reported slot is rewritten (and its "
	    "updated_at moves) only when one of its fields changed, null and "
	    "value told apart; the event always shows the stored slots");
}
ATF_TC_BODY(device_heartbeat__slots_changed, tc)
{
	struct store		*st;
	struct heartbeat	 hb;
	struct event		 ev[4];
	char			 tok[GOIP_TOKEN_LEN + 1];
	char			*cause = NULL;
	int64_t			 rowid, t0, evid;
	int			 n;

	st = db_new();
	rowid = dev_add(st, "goip-01", tok);
	hb_init(&hb);
	hb_two_slots(&hb);
	t0 = 1800000000000LL;
	beat(st, rowid, &hb, t0, 1000);
	ATF_CHECK_EQ(db_int(st, "SELECT sum(updated_at = 1800000000000) "
	    "FROM sim_slots"), 2);

	/* The same report: nothing rewritten. */
	beat(st, rowid, &hb, t0 + 1000, 1000);
	ATF_CHECK_EQ(db_int(st, "SELECT sum(updated_at = 1800000000000) "
	    "FROM sim_slots"), 2);

	/* Each kind of change rewrites only its slot. */
	hb.slots[0].operator = "Orange";
	beat(st, rowid, &hb, t0 + 2000, 1000);
	ATF_CHECK_EQ(db_int(st, "SELECT updated_at FROM sim_slots "
	    "WHERE slot = 1"), t0 + 2000);
	ATF_CHECK_EQ(db_int(st, "SELECT updated_at FROM sim_slots "
	    "WHERE slot = 2"), t0);
	hb.slots[0].signal = -1;	/* a value becomes null */
	beat(st, rowid, &hb, t0 + 3000, 1000);
	ATF_CHECK_EQ(db_int(st, "SELECT count(*) FROM sim_slots "
	    "WHERE slot = 1 AND signal IS NULL AND updated_at = "
	    "1800000003000"), 1);
	hb.slots[1].registration = "searching";	/* a null becomes a value */
	evid = beat(st, rowid, &hb, t0 + 4000, 1000);
	ATF_CHECK_EQ(db_int(st, "SELECT count(*) FROM sim_slots "
	    "WHERE slot = 2 AND registration = 'searching' AND updated_at = "
	    "1800000004000"), 1);
	ATF_CHECK_EQ(db_int(st, "SELECT updated_at FROM sim_slots "
	    "WHERE slot = 1"), t0 + 3000);
	n = evread(st, evid - 1, 4, ev);
	ATF_REQUIRE_EQ_MSG(n, 1, "%d events: %s", n, cause);
	ATF_CHECK(strstr(ev[0].payload, "\"operator\":\"Orange\"") != NULL);
	ATF_CHECK(strstr(ev[0].payload, "\"registration\":\"searching\"") !=
	    NULL);
	evlog_clear(ev, n);
	store_close(st);
}

ATF_TC(device_heartbeat__history_bounded);
ATF_TC_HEAD(device_heartbeat__history_bounded, tc)
{
	atf_tc_set_md_var(tc, "descr", "heartbeat history keeps the newest "
	    "heartbeat_history rows per device, trimmed every 32nd row at the "
	    "device's own turn (so never more than heartbeat_history + 31)");
}
ATF_TC_BODY(device_heartbeat__history_bounded, tc)
{
	struct store		*st;
	struct heartbeat	 hb;
	char			 tok[GOIP_TOKEN_LEN + 1];
	int64_t			 a, b, now;
	int			 i;

	st = db_new();
	a = dev_add(st, "goip-01", tok);
	b = dev_add(st, "goip-02", tok);
	hb_init(&hb);
	now = util_now_ms();
	for (i = 0; i < 40; i++) {
		hb.battery = i;
		beat(st, a, &hb, now + i, 3);
		beat(st, b, &hb, now + i, 5);
		ATF_CHECK(db_int(st, "SELECT count(*) FROM heartbeats WHERE "
		    "device = 1") <= 3 + 31);
	}
	/*
	 * Device 1 trimmed at its 31st row to the newest 3, 9 came after;
	 * device 2 at its 30th to the newest 5, 10 came after.
	 */
	ATF_CHECK_EQ(db_int(st, "SELECT count(*) FROM heartbeats WHERE "
	    "device = 1"), 3 + 9);
	ATF_CHECK_EQ(db_int(st, "SELECT min(battery) FROM heartbeats WHERE "
	    "device = 1"), 28);
	ATF_CHECK_EQ(db_int(st, "SELECT count(*) FROM heartbeats WHERE "
	    "device = 2"), 5 + 10);
	ATF_CHECK_EQ(db_int(st, "SELECT max(battery) FROM heartbeats WHERE "
	    "device = 2"), 39);
	store_close(st);
}

ATF_TC(device_heartbeat__history_step);
ATF_TC_HEAD(device_heartbeat__history_step, tc)
{
	atf_tc_set_md_var(tc, "descr", "with heartbeat_history_step, only a "
	    "device's first heartbeat of each step (at the device's own phase) "
	    "adds a history row; every heartbeat still updates the device and "
	    "logs its event");
}
ATF_TC_BODY(device_heartbeat__history_step, tc)
{
	struct store		*st;
	struct heartbeat	 hb;
	char			 tok[GOIP_TOKEN_LEN + 1];
	int64_t			 a, b, t0, ev0, ev, n;
	int			 i;

	st = db_new();
	a = dev_add(st, "goip-01", tok);
	b = dev_add(st, "goip-02", tok);
	hb_init(&hb);
	t0 = 1800000000000LL;
	ev0 = db_int(st, "SELECT count(*) FROM events "
	    "WHERE type = 'device-heartbeat'");
	/*
	 * 30 beats 100 ms apart span 3 s: the first beat and the first of
	 * each step boundary crossed, so 3 or 4 rows, never 1 s without one.
	 */
	for (i = 0; i < 30; i++) {
		hb.battery = i;
		beat_at(st, &hb,
		    &(struct hb_store){ a, t0 + i * 100, 1000, 1000 });
		beat_at(st, &hb,
		    &(struct hb_store){ b, t0 + i * 100, 1000, 1000 });
		ATF_CHECK_EQ(db_int(st, "SELECT battery FROM devices "
		    "WHERE id = 1"), i);
	}
	n = db_int(st, "SELECT count(*) FROM heartbeats WHERE device = 1");
	ATF_CHECK_MSG(n == 3 || n == 4, "%lld history rows", (long long)n);
	ATF_CHECK_EQ(db_int(st, "SELECT hb_seq FROM devices WHERE id = 1"), n);
	ATF_CHECK_EQ(db_int(st, "SELECT min(battery) FROM heartbeats "
	    "WHERE device = 1"), 0);
	ATF_CHECK_EQ(db_int(st, "SELECT count(*) FROM heartbeats AS h JOIN "
	    "heartbeats AS g ON g.device = h.device AND g.seq = h.seq + 1 "
	    "WHERE g.at - h.at > 1000"), 0);
	/* The two devices' steps have their own phases. */
	ATF_CHECK(db_int(st, "SELECT count(*) FROM heartbeats "
	    "WHERE device = 1 AND battery > 0 AND battery NOT IN "
	    "(SELECT battery FROM heartbeats WHERE device = 2)") > 0);
	/* Every beat updated the device and logged its event. */
	ev = db_int(st, "SELECT count(*) FROM events "
	    "WHERE type = 'device-heartbeat'");
	ATF_CHECK_EQ(ev - ev0, 60);
	/* Beats a step or more apart are all kept. */
	for (i = 0; i < 5; i++)
		beat_at(st, &hb,
		    &(struct hb_store){ a, t0 + 10000 + i * 1000, 1000, 1000 });
	ATF_CHECK_EQ(db_int(st, "SELECT count(*) FROM heartbeats "
	    "WHERE device = 1"), n + 5);
	/* Step 0 keeps every heartbeat. */
	for (i = 0; i < 5; i++)
		beat_at(st, &hb,
		    &(struct hb_store){ a, t0 + 20000 + i, 1000, 0 });
	ATF_CHECK_EQ(db_int(st, "SELECT count(*) FROM heartbeats "
	    "WHERE device = 1"), n + 10);
	store_close(st);
}

ATF_TC(device_heartbeat__unknown_device);
ATF_TC_HEAD(device_heartbeat__unknown_device, tc)
{
	atf_tc_set_md_var(tc, "descr", "a heartbeat for a row id that does "
	    "not exist is NOTFOUND and stores nothing");
}
ATF_TC_BODY(device_heartbeat__unknown_device, tc)
{
	struct store		*st;
	struct json_object	*o;
	struct heartbeat	 hb;
	struct hb_store		 at;
	char			*cause = NULL;
	int64_t			 evid = 0;

	st = db_new();
	hb_init(&hb);
	ATF_REQUIRE(store_begin(st, &cause) == STORE_OK);
	at.device = 42;
	at.now = util_now_ms();
	at.history = 10;
	at.step = 0;
	ATF_CHECK(device_heartbeat(st, &hb, &at, &evid, &cause) ==
	    STORE_NOTFOUND);
	store_rollback(st);
	ATF_CHECK_EQ(db_int(st, "SELECT count(*) FROM events"), 0);
	ATF_CHECK_EQ(db_int(st, "SELECT count(*) FROM heartbeats"), 0);
	ATF_CHECK(device_json(st, 42, 1, &o, &cause) == STORE_NOTFOUND);
	ATF_CHECK(o == NULL);
	ATF_CHECK(cause == NULL);
	store_close(st);
}

ATF_TC(sms_receive__dedup);
ATF_TC_HEAD(sms_receive__dedup, tc)
{
	atf_tc_set_md_var(tc, "descr", "a retried messageId stores nothing "
	    "and returns the original id; the same messageId from another "
	    "device is a new message; counters and events follow");
}
ATF_TC_BODY(sms_receive__dedup, tc)
{
	static const char text[] = "Za\xc5\xbc\xc3\xb3\xc5\x82\xc4\x87 "
	    "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 \xf0\x9f\x9a\x80 "
	    "<script>alert(1)</script> '); DROP TABLE sms;--";
	struct store		*st;
	struct json_object	*o;
	char			 tok[GOIP_TOKEN_LEN + 1];
	char			*cause = NULL;
	int64_t			 a, b, id1, id2, id3, last;
	int			 dup = -1;

	st = db_new();
	a = dev_add(st, "goip-01", tok);
	b = dev_add(st, "goip-02", tok);
	id1 = recv_sms(st, a, "in-1", text, &dup);
	ATF_CHECK_EQ(dup, 0);
	last = evid_at(st, 0);
	ATF_CHECK_EQ(db_int(st, "SELECT count(*) FROM events WHERE type = "
	    "'sms-received'"), 1);

	id2 = recv_sms(st, a, "in-1", "different text", &dup);
	ATF_CHECK_EQ(dup, 1);
	ATF_CHECK_EQ(id2, id1);
	ATF_CHECK_EQ(evid_at(st, 0), last);
	ATF_CHECK_EQ(db_int(st, "SELECT count(*) FROM sms"), 1);

	id3 = recv_sms(st, b, "in-1", "from b", &dup);
	ATF_CHECK_EQ(dup, 0);
	ATF_CHECK(id3 != id1);
	ATF_CHECK_EQ(db_int(st, "SELECT count(*) FROM sms"), 2);

	ATF_REQUIRE_MSG(sms_json(st, id1, &o, &cause) ==
	    STORE_OK, "%s", cause);
	ATF_CHECK_STREQ(jstr(o, "text"), text);
	ATF_CHECK_STREQ(jstr(o, "deviceId"), "goip-01");
	ATF_CHECK_STREQ(jstr(o, "direction"), "in");
	ATF_CHECK_STREQ(jstr(o, "from"), "+447700900123");
	ATF_CHECK_STREQ(jstr(o, "to"), "+48500100200");
	ATF_CHECK_STREQ(jstr(o, "receivedAt"), "2026-11-25T10:14:58.000Z");
	ATF_CHECK_STREQ(jstr(o, "status"), "received");
	ATF_CHECK_EQ(jint(o, "slot", NULL), 1);
	ATF_CHECK_EQ(jint(o, "id", NULL), id1);
	json_object_put(o);
	ATF_CHECK(sms_json(st, 999, &o, &cause) == STORE_NOTFOUND);
	ATF_CHECK(o == NULL);
	ATF_CHECK(cause == NULL);

	o = stats(st);
	ATF_CHECK_EQ(jint(o, "sms", "received"), 2);
	ATF_CHECK_EQ(jint(o, "sms", "receivedToday"), 2);
	json_object_put(o);
	store_close(st);
}

ATF_TC(sms_list_json__paging);
ATF_TC_HEAD(sms_list_json__paging, tc)
{
	atf_tc_set_md_var(tc, "descr", "sms_list_json pages newest first by "
	    "id with before= and filters by device and direction");
}
ATF_TC_BODY(sms_list_json__paging, tc)
{
	struct store		*st;
	struct json_object	*arr;
	char			 tok[GOIP_TOKEN_LEN + 1], mid[16];
	char			*cause = NULL;
	int64_t			 a, b, ids[10], before;
	int			 dup, i, page, n;

	st = db_new();
	a = dev_add(st, "goip-01", tok);
	b = dev_add(st, "goip-02", tok);
	for (i = 0; i < 10; i++) {
		snprintf(mid, sizeof(mid), "m%d", i);
		ids[i] = recv_sms(st, i % 3 == 0 ? b : a, mid, mid, &dup);
	}
	/* All, 4 per page: 4, 4, 2, then empty. */
	before = 0;
	for (page = 0; page < 4; page++) {
		arr = list_page(st,
		    &(struct sms_page){ -1, NULL, 4, before }, &cause);
		ATF_REQUIRE_MSG(arr != NULL, "%s", cause);
		n = (int)json_object_array_length(arr);
		ATF_CHECK_EQ(n, page < 2 ? 4 : page == 2 ? 2 : 0);
		for (i = 0; i < n; i++)
			ATF_CHECK_EQ(jint(json_object_array_get_idx(arr, i),
			    "id", NULL), ids[9 - page * 4 - i]);
		if (n > 0)
			before = jint(json_object_array_get_idx(arr, n - 1),
			    "id", NULL);
		json_object_put(arr);
	}
	/* Device goip-02 has m0, m3, m6, m9. */
	arr = list_page(st, &(struct sms_page){ b, NULL, 100, 0 }, &cause);
	ATF_REQUIRE(arr != NULL);
	ATF_REQUIRE_EQ(json_object_array_length(arr), 4);
	ATF_CHECK_EQ(jint(json_object_array_get_idx(arr, 0), "id", NULL),
	    ids[9]);
	ATF_CHECK_EQ(jint(json_object_array_get_idx(arr, 3), "id", NULL),
	    ids[0]);
	json_object_put(arr);
	arr = list_page(st, &(struct sms_page){ b, "in", 2, ids[6] }, &cause);
	ATF_REQUIRE(arr != NULL);
	ATF_REQUIRE_EQ(json_object_array_length(arr), 2);
	ATF_CHECK_EQ(jint(json_object_array_get_idx(arr, 0), "id", NULL),
	    ids[3]);
	json_object_put(arr);
	arr = list_page(st, &(struct sms_page){ a, "out", 100, 0 }, &cause);
	ATF_REQUIRE(arr != NULL);
	ATF_CHECK_EQ(json_object_array_length(arr), 0);
	json_object_put(arr);
	arr = list_page(st, &(struct sms_page){ -1, "in", 100, 0 }, &cause);
	ATF_REQUIRE(arr != NULL);
	ATF_CHECK_EQ(json_object_array_length(arr), 10);
	json_object_put(arr);
	/* before= the oldest id: nothing older. */
	arr = list_page(st,
	    &(struct sms_page){ -1, NULL, 100, ids[0] }, &cause);
	ATF_REQUIRE(arr != NULL);
	ATF_CHECK_EQ(json_object_array_length(arr), 0);
	json_object_put(arr);
	store_close(st);
}

/* Append N events of type TYPE for DEVICE in one transaction. */
static int64_t
append(struct store *st, enum event_type type, const char *device, int n)
{
	struct event_new	 ev = { type, device, NULL };
	struct json_object	*o;
	char			*cause = NULL;
	int64_t			 id = -1;
	int			 i;

	ATF_REQUIRE(store_begin(st, &cause) == STORE_OK);
	for (i = 0; i < n; i++) {
		o = json_object_new_object();
		json_object_object_add(o, "n", json_object_new_int(i));
		json_object_object_add(o, "t", json_object_new_string(
		    "a/b \xc5\xbc \"q\""));
		ev.payload = o;
		ATF_REQUIRE_MSG(evlog_append(st, &ev, &id, &cause) ==
		    STORE_OK, "evlog_append: %s", cause);
		json_object_put(o);
	}
	ATF_REQUIRE(store_commit(st, &cause) == STORE_OK);
	return id;
}

/*
 * Prune events older than BEFORE to the end with prune_step(), one batch
 * per transaction as the notifier does; return how many went. Every batch
 * deletes at most PRUNE_BATCH.
 */
static int64_t
evprune(struct store *st, int64_t before)
{
	struct config	*cfg;
	struct prune	 p;
	char		*cause = NULL;
	int64_t		 total = 0;

	cfg = config_new();
	ATF_REQUIRE(config_load(cfg, "/dev/null", &cause) == 0);
	cfg->event_retention = 1;
	cfg->sms_retention = 0;
	memset(&p, 0, sizeof(p));
	do {
		ATF_REQUIRE_MSG(prune_step(st, cfg, before + 1, &p, &cause) ==
		    STORE_OK, "prune_step: %s", cause);
		ATF_CHECK(p.total[PRUNE_EVENTS] - total <= PRUNE_BATCH);
		total = p.total[PRUNE_EVENTS];
	} while (!p.done);
	config_free(cfg);
	return total;
}

ATF_TC(evlog_append__full);
ATF_TC_HEAD(evlog_append__full, tc)
{
	atf_tc_set_md_var(tc, "descr", "evlog_append on a full database "
	    "answers STORE_FULL (goip-cgi's 503 with Retry-After), not a "
	    "bare failure, and the store reads on after the rollback");
}
ATF_TC_BODY(evlog_append__full, tc)
{
	struct store		*st;
	struct json_object	*o;
	struct event_new	 ev;
	char			*cause = NULL, sql[64], big[2048];
	int64_t			 id = 0;
	enum store_rc		 rc = STORE_OK;
	int			 i;

	st = db_new();
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %lld",
	    (long long)db_int(st, "PRAGMA page_count") + 2);
	db_exec(st, sql);
	ATF_REQUIRE(store_begin(st, &cause) == STORE_OK);
	o = json_object_new_object();
	json_object_object_add(o, "t", json_object_new_string(big));
	ev = (struct event_new){ EVENT_STATS_UPDATE, NULL, o };
	for (i = 0; i < 100 && rc == STORE_OK; i++)
		rc = evlog_append(st, &ev, &id, &cause);
	json_object_put(o);
	ATF_CHECK_EQ_MSG(rc, STORE_FULL, "rc %d after %d events: %s", rc, i,
	    cause != NULL ? cause : "");
	free(cause);
	cause = NULL;
	store_rollback(st);
	ATF_CHECK(stats_json(st, util_now_ms(), &o, &cause) == STORE_OK);
	json_object_put(o);
	store_close(st);
}

ATF_TC(evlog_read__order_and_limits);
ATF_TC_HEAD(evlog_read__order_and_limits, tc)
{
	atf_tc_set_md_var(tc, "descr", "evlog_read returns events after a "
	    "cursor in id order, bounded by the limit, with their type, "
	    "device and payload, of one device when asked; unknown types "
	    "are skipped");
}
ATF_TC_BODY(evlog_read__order_and_limits, tc)
{
	struct store		*st;
	struct event		 ev[16];
	struct event_page	 page;
	char			*cause = NULL;
	int64_t			 last;
	int			 n, i;

	st = db_new();
	ATF_CHECK_EQ(evid_at(st, 0), 0);
	ATF_CHECK_EQ(evid_at(st, 1), 1);
	ATF_CHECK_EQ(evread(st, 0, 10, ev), 0);

	append(st, EVENT_SMS_RECEIVED, "goip-01", 5);
	last = append(st, EVENT_SMS_STATUS, NULL, 3);
	ATF_CHECK_EQ(last, 8);
	ATF_CHECK_EQ(evid_at(st, 0), 8);
	ATF_CHECK_EQ(evid_at(st, 1), 1);

	n = evread(st, 0, 16, ev);
	ATF_REQUIRE_EQ(n, 8);
	for (i = 0; i < n; i++)
		ATF_CHECK_EQ(ev[i].id, i + 1);
	ATF_CHECK(ev[0].type == EVENT_SMS_RECEIVED);
	ATF_CHECK_STREQ(ev[0].device, "goip-01");
	ATF_CHECK_STREQ(ev[0].payload,
	    "{\"n\":0,\"t\":\"a/b \xc5\xbc \\\"q\\\"\"}");
	ATF_CHECK(ev[5].type == EVENT_SMS_STATUS);
	ATF_CHECK_STREQ(ev[5].device, "");
	ATF_CHECK(ev[0].at > 0 && ev[0].at <= util_now_ms());
	evlog_clear(ev, n);
	ATF_CHECK(ev[0].payload == NULL);

	n = evread(st, 3, 2, ev);
	ATF_REQUIRE_EQ(n, 2);
	ATF_CHECK_EQ(ev[0].id, 4);
	ATF_CHECK_EQ(ev[1].id, 5);
	evlog_clear(ev, n);
	n = evread(st, 0, 3, ev);
	ATF_CHECK_EQ(n, 3);
	evlog_clear(ev, n);
	/* One device's events only, through its index. */
	page = (struct event_page){ 2, "goip-01", 16 };
	ATF_REQUIRE(evlog_read(st, &page, ev, &n, &cause) == STORE_OK);
	ATF_REQUIRE_EQ(n, 3);
	for (i = 0; i < n; i++) {
		ATF_CHECK_EQ(ev[i].id, i + 3);
		ATF_CHECK_STREQ(ev[i].device, "goip-01");
	}
	evlog_clear(ev, n);
	ATF_CHECK_EQ(evread(st, 8, 16, ev), 0);

	/* A row of a type this program does not know is skipped. */
	db_exec(st, "INSERT INTO events(at, type, device, payload) VALUES "
	    "(1, 'from-the-future', NULL, '{}')");
	append(st, EVENT_DEVICE_HEARTBEAT, "goip-01", 1);
	n = evread(st, 8, 16, ev);
	ATF_REQUIRE_EQ(n, 1);
	ATF_CHECK_EQ(ev[0].id, 10);
	ATF_CHECK(ev[0].type == EVENT_DEVICE_HEARTBEAT);
	evlog_clear(ev, n);
	store_close(st);
}

ATF_TC(evlog_type_name__table);
ATF_TC_HEAD(evlog_type_name__table, tc)
{
	atf_tc_set_md_var(tc, "descr", "event type names are the Socket.IO "
	    "event names and look up back to their type");
}
ATF_TC_BODY(evlog_type_name__table, tc)
{
	static const char *const names[] = { "device-heartbeat",
	    "device-status-change", "sms-received", "sms-status",
	    "stats-update", "ussd-reply", "webhook-disabled" };
	int	 i;

	for (i = 0; i < EVENT_TYPE__MAX; i++) {
		ATF_CHECK_STREQ(evlog_type_name(i), names[i]);
		ATF_CHECK_EQ(evlog_type_lookup(names[i]), i);
	}
	ATF_CHECK_EQ(evlog_type_lookup("nope"), -1);
	ATF_CHECK_STREQ(evlog_type_name(EVENT_TYPE__MAX), "unknown");
}

ATF_TC(prune_step__cursor_survives);
ATF_TC_HEAD(prune_step__cursor_survives, tc)
{
	atf_tc_set_md_var(tc, "descr", "prune_step deletes old events but "
	    "keeps the newest, so the cursor (evlog_last) survives any prune "
	    "and a reopen, and new ids continue after it");
}
ATF_TC_BODY(prune_step__cursor_survives, tc)
{
	struct store	*st;
	struct event	 ev[4];
	int64_t		 n, id;

	st = db_new();
	append(st, EVENT_SMS_RECEIVED, "goip-01", 20);
	/* Nothing is older than the epoch. */
	ATF_CHECK_EQ(evprune(st, 0), 0);
	ATF_CHECK_EQ(evid_at(st, 1), 1);

	/* Everything is older than the future, but the newest stays. */
	n = evprune(st, util_now_ms() + 60000);
	ATF_CHECK_EQ(n, 19);
	ATF_CHECK_EQ(evid_at(st, 1), 20);
	ATF_CHECK_EQ(evid_at(st, 0), 20);
	ATF_CHECK_EQ(db_int(st, "SELECT count(*) FROM events"), 1);

	/* Pruning again never removes the last one. */
	ATF_CHECK_EQ(evprune(st, util_now_ms() + 60000), 0);
	ATF_CHECK_EQ(evread(st, 19, 4, ev), 1);
	evlog_clear(ev, 1);
	store_close(st);

	/* ... across a reopen too, and new ids continue after it. */
	st = db_open(100, STORE_OPEN_CHECK);
	ATF_CHECK_EQ(evid_at(st, 0), 20);
	id = append(st, EVENT_SMS_STATUS, NULL, 1);
	ATF_CHECK_EQ(id, 21);
	ATF_CHECK_EQ(evid_at(st, 1), 20);
	ATF_CHECK_EQ(evid_at(st, 0), 21);
	ATF_REQUIRE_EQ(evread(st, 20, 4, ev), 1);
	ATF_CHECK_EQ(ev[0].id, 21);
	evlog_clear(ev, 1);
	store_close(st);
}

ATF_TC(prune_step__batched_events);
ATF_TC_HEAD(prune_step__batched_events, tc)
{
	atf_tc_set_md_var(tc, "descr", "prune_step deletes events older than "
	    "event_retention in transactions of at most PRUNE_BATCH rows, "
	    "over several steps, and keeps the recent ones");
}
ATF_TC_BODY(prune_step__batched_events, tc)
{
	struct store	*st;
	struct config	*cfg;
	struct prune	 p;
	char		*cause = NULL, sql[160];
	int64_t		 now = util_now_ms(), before;
	enum store_rc	 rc;
	int		 steps = 0;

	st = db_new();
	cfg = config_new();
	ATF_REQUIRE(config_load(cfg, "/dev/null", &cause) == 0);
	cfg->event_retention = 3600 * 1000;
	cfg->sms_retention = 0;
	append(st, EVENT_DEVICE_HEARTBEAT, "goip-01", 1300);
	snprintf(sql, sizeof(sql), "UPDATE events SET at = %lld WHERE id <= "
	    "1200", (long long)(now - 7200 * 1000));
	db_exec(st, sql);
	memset(&p, 0, sizeof(p));
	do {
		before = db_int(st, "SELECT count(*) FROM events");
		rc = prune_step(st, cfg, now, &p, &cause);
		ATF_REQUIRE_MSG(rc == STORE_OK, "prune_step: %s", cause);
		steps++;
		ATF_CHECK(before - db_int(st, "SELECT count(*) FROM events") <=
		    PRUNE_BATCH);
		ATF_REQUIRE(steps < 100);
	} while (!p.done);
	ATF_CHECK(steps >= 3);
	ATF_CHECK_EQ(p.total[PRUNE_EVENTS], 1200);
	ATF_CHECK_EQ(p.total[PRUNE_SMS], 0);
	ATF_CHECK_EQ(db_int(st, "SELECT count(*) FROM events"), 100);
	ATF_CHECK_EQ(db_int(st, "SELECT MIN(id) FROM events"), 1201);
	config_free(cfg);
	store_close(st);
}

ATF_TC(prune_step__sms_retention);
ATF_TC_HEAD(prune_step__sms_retention, tc)
{
	atf_tc_set_md_var(tc, "descr", "With sms_retention, prune_step "
	    "deletes SMS stored before it in batches, keeps recent ones and "
	    "outbound ones still queued or sending whatever their age, and "
	    "leaves every stats counter as it was; with 0 it keeps all");
}
ATF_TC_BODY(prune_step__sms_retention, tc)
{
	struct store	*st;
	struct config	*cfg;
	struct prune	 p;
	char		*cause = NULL, token[GOIP_TOKEN_LEN + 1], sql[512];
	int64_t		 now = util_now_ms(), rowid, old = now - 86400000LL;
	int64_t		 received, queued, sent;
	enum store_rc	 rc;

	st = db_new();
	cfg = config_new();
	ATF_REQUIRE(config_load(cfg, "/dev/null", &cause) == 0);
	rowid = dev_add(st, "goip-01", token);
	/* 1100 old inbound, 5 recent inbound, old outbound in each state. */
	snprintf(sql, sizeof(sql), "WITH RECURSIVE c(x) AS (SELECT 1 UNION "
	    "ALL SELECT x + 1 FROM c WHERE x < 1105) INSERT INTO sms(device, "
	    "direction, sender, text, stored_at, status) SELECT %lld, 'in', "
	    "'+4477', 'hi', CASE WHEN x <= 1100 THEN %lld ELSE %lld END, "
	    "'received' FROM c", (long long)rowid, (long long)old,
	    (long long)now);
	db_exec(st, sql);
	snprintf(sql, sizeof(sql), "INSERT INTO sms(device, direction, "
	    "recipient, text, stored_at, status) VALUES (%lld, 'out', '+48', "
	    "'a', %lld, 'queued'), (%lld, 'out', '+48', 'b', %lld, 'sending'), "
	    "(%lld, 'out', '+48', 'c', %lld, 'queued')", (long long)rowid,
	    (long long)old, (long long)rowid, (long long)old,
	    (long long)rowid, (long long)old);
	db_exec(st, sql);
	db_exec(st, "UPDATE sms SET status = 'sent' WHERE text = 'c'");
	received = db_int(st, "SELECT value FROM counters WHERE name = "
	    "'sms_received'");
	queued = db_int(st, "SELECT value FROM counters WHERE name = "
	    "'sms_queued'");
	sent = db_int(st, "SELECT value FROM counters WHERE name = 'sms_sent'");
	ATF_CHECK_EQ(received, 1105);
	ATF_CHECK_EQ(queued, 2);
	ATF_CHECK_EQ(sent, 1);

	/* sms_retention = 0: every SMS stays. */
	memset(&p, 0, sizeof(p));
	while ((rc = prune_step(st, cfg, now, &p, &cause)) == STORE_OK &&
	    !p.done)
		;
	ATF_REQUIRE_MSG(rc == STORE_OK, "prune_step: %s", cause);
	ATF_CHECK_EQ(db_int(st, "SELECT count(*) FROM sms"), 1108);

	cfg->sms_retention = 3600 * 1000;
	memset(&p, 0, sizeof(p));
	while ((rc = prune_step(st, cfg, now, &p, &cause)) == STORE_OK &&
	    !p.done)
		;
	ATF_REQUIRE_MSG(rc == STORE_OK, "prune_step: %s", cause);
	ATF_CHECK_EQ(p.total[PRUNE_SMS], 1101);
	ATF_CHECK_EQ(db_int(st, "SELECT count(*) FROM sms WHERE direction = "
	    "'in'"), 5);
	ATF_CHECK_EQ(db_int(st, "SELECT count(*) FROM sms WHERE status IN "
	    "('queued', 'sending')"), 2);
	ATF_CHECK_EQ(db_int(st, "SELECT count(*) FROM sms WHERE status = "
	    "'sent'"), 0);
	ATF_CHECK_EQ(db_int(st, "SELECT value FROM counters WHERE name = "
	    "'sms_received'"), received);
	ATF_CHECK_EQ(db_int(st, "SELECT value FROM counters WHERE name = "
	    "'sms_queued'"), queued);
	ATF_CHECK_EQ(db_int(st, "SELECT value FROM counters WHERE name = "
	    "'sms_sent'"), sent);
	config_free(cfg);
	store_close(st);
}

ATF_TC(device_sweep__marks_silent_offline);
ATF_TC_HEAD(device_sweep__marks_silent_offline, tc)
{
	atf_tc_set_md_var(tc, "descr", "device_sweep marks offline the "
	    "devices silent longer than offline_after, once, with a "
	    "status-change event, and leaves the others online");
}
ATF_TC_BODY(device_sweep__marks_silent_offline, tc)
{
	struct store		*st;
	struct heartbeat	 hb;
	struct json_object	*o;
	struct event		 ev[8];
	char			 tok[GOIP_TOKEN_LEN + 1];
	char			*cause = NULL;
	struct sweep_result	 res;
	int64_t			 a, b, now, before;

	st = db_new();
	a = dev_add(st, "goip-01", tok);
	b = dev_add(st, "goip-02", tok);
	hb_init(&hb);
	now = util_now_ms();
	beat(st, a, &hb, now - 100000, 100);
	beat(st, b, &hb, now - 10000, 100);
	o = stats(st);
	ATF_CHECK_EQ(jint(o, "devices", "online"), 2);
	json_object_put(o);
	before = evid_at(st, 0);

	ATF_REQUIRE_MSG(device_sweep(st, now, 90000, &res, &cause) ==
	    STORE_OK, "device_sweep: %s", cause);
	ATF_CHECK_EQ(res.offline, 1);
	ATF_CHECK_EQ(res.expired, 0);
	ATF_CHECK_EQ(res.evid, before + 1);
	ATF_CHECK_EQ(db_int(st, "SELECT count(*) FROM devices WHERE "
	    "device_id = 'goip-01' AND status = 'offline'"), 1);
	ATF_CHECK_EQ(db_int(st, "SELECT count(*) FROM devices WHERE "
	    "device_id = 'goip-02' AND status = 'online'"), 1);
	ATF_REQUIRE_EQ(evread(st, before, 8, ev), 1);
	ATF_CHECK(ev[0].type == EVENT_DEVICE_STATUS_CHANGE);
	ATF_CHECK_STREQ(ev[0].device, "goip-01");
	ATF_CHECK(strstr(ev[0].payload, "\"status\":\"offline\"") != NULL);
	ATF_CHECK(strstr(ev[0].payload, "\"previousStatus\":\"online\"") !=
	    NULL);
	evlog_clear(ev, 1);
	o = stats(st);
	ATF_CHECK_EQ(jint(o, "devices", "online"), 1);
	ATF_CHECK_EQ(jint(o, "devices", "offline"), 1);
	json_object_put(o);

	/* Nothing more to do: no change, no event. */
	ATF_CHECK(device_sweep(st, now, 90000, &res, &cause) == STORE_OK);
	ATF_CHECK_EQ(res.offline, 0);
	ATF_CHECK_EQ(res.evid, 0);
	ATF_CHECK_EQ(evid_at(st, 0), before + 1);

	/* A heartbeat brings it back online with a status change. */
	beat(st, a, &hb, now, 100);
	ATF_CHECK_EQ(db_int(st, "SELECT count(*) FROM events WHERE type = "
	    "'device-status-change' AND payload LIKE '%\"previousStatus\":"
	    "\"offline\"%' AND device = 'goip-01'"), 2);
	o = stats(st);
	ATF_CHECK_EQ(jint(o, "devices", "online"), 2);
	json_object_put(o);

	/* Much later, both are silent. */
	ATF_CHECK(device_sweep(st, now + 1000000, 90000, &res, &cause) ==
	    STORE_OK);
	ATF_CHECK_EQ(res.offline, 2);
	o = stats(st);
	ATF_CHECK_EQ(jint(o, "devices", "online"), 0);
	ATF_CHECK_EQ(jint(o, "devices", "offline"), 2);
	json_object_put(o);
	store_close(st);
}

ATF_TC(stats_json__shape);
ATF_TC_HEAD(stats_json__shape, tc)
{
	atf_tc_set_md_var(tc, "descr", "stats_json of an empty database has "
	    "every documented counter at zero");
}
ATF_TC_BODY(stats_json__shape, tc)
{
	static const char *const smskeys[] = { "received", "receivedToday",
	    "sent", "delivered", "failed", "queued" };
	struct store		*st;
	struct json_object	*o;
	size_t			 i;

	st = db_new();
	o = stats(st);
	ATF_CHECK_EQ(jint(o, "devices", "total"), 0);
	ATF_CHECK_EQ(jint(o, "devices", "online"), 0);
	ATF_CHECK_EQ(jint(o, "devices", "offline"), 0);
	for (i = 0; i < sizeof(smskeys) / sizeof(smskeys[0]); i++)
		ATF_CHECK_EQ_MSG(jint(o, "sms", smskeys[i]), 0, "%s",
		    smskeys[i]);
	json_object_put(o);
	store_close(st);
}

ATF_TC(group__savepoints_and_one_commit);
ATF_TC_HEAD(group__savepoints_and_one_commit, tc)
{
	atf_tc_set_md_var(tc, "descr", "in a group, each request's writes "
	    "run in a savepoint: a rolled-back request undoes only its own; "
	    "nothing is visible to another connection before group_end, "
	    "which commits the kept writes together");
}
ATF_TC_BODY(group__savepoints_and_one_commit, tc)
{
	struct store	*w, *r;
	char		*cause = NULL;

	w = db_new();
	r = db_open(100, STORE_OPEN_CHECK);
	group_start(w);
	ATF_REQUIRE(store_begin(w, &cause) == STORE_OK);
	db_exec(w, "INSERT INTO devices(device_id, token_hash, created_at) "
	    "VALUES ('a', randomblob(32), 0)");
	ATF_CHECK(store_commit(w, &cause) == STORE_OK);
	ATF_REQUIRE(store_begin(w, &cause) == STORE_OK);
	db_exec(w, "INSERT INTO devices(device_id, token_hash, created_at) "
	    "VALUES ('b', randomblob(32), 0)");
	store_rollback(w);
	ATF_REQUIRE(store_begin(w, &cause) == STORE_OK);
	db_exec(w, "INSERT INTO devices(device_id, token_hash, created_at) "
	    "VALUES ('c', randomblob(32), 0)");
	ATF_CHECK(store_commit(w, &cause) == STORE_OK);
	ATF_CHECK_EQ(w->gmembers, 2);
	/* Not committed yet: another connection sees nothing. */
	ATF_CHECK_EQ(db_int(r, "SELECT count(*) FROM devices"), 0);
	ATF_CHECK(group_end(w, &cause) == STORE_OK);
	ATF_CHECK_EQ(db_int(r, "SELECT count(*) FROM devices"), 2);
	ATF_CHECK_EQ(db_int(r, "SELECT count(*) FROM devices WHERE "
	    "device_id = 'b'"), 0);
	/* Outside a group, transactions are their own again. */
	ATF_REQUIRE(store_begin(w, &cause) == STORE_OK);
	db_exec(w, "INSERT INTO devices(device_id, token_hash, created_at) "
	    "VALUES ('d', randomblob(32), 0)");
	ATF_CHECK(store_commit(w, &cause) == STORE_OK);
	ATF_CHECK_EQ(db_int(r, "SELECT count(*) FROM devices"), 3);
	store_close(r);
	store_close(w);
}

ATF_TC(group__busy_waits_once);
ATF_TC_HEAD(group__busy_waits_once, tc)
{
	atf_tc_set_md_var(tc, "descr", "when a group cannot get the write "
	    "lock within busy_timeout, its first request gets STORE_BUSY "
	    "after waiting and the later ones at once; group_end reports "
	    "nothing kept");
}
ATF_TC_BODY(group__busy_waits_once, tc)
{
	struct store	*w, *other;
	char		*cause = NULL;
	int64_t		 t0;

	w = db_new();
	other = db_open(100, STORE_OPEN_CHECK);
	ATF_REQUIRE(store_begin(other, &cause) == STORE_OK);
	group_start(w);
	t0 = util_now_ms();
	ATF_CHECK(store_begin(w, &cause) == STORE_BUSY);
	free(cause);
	cause = NULL;
	ATF_CHECK(util_now_ms() - t0 >= 900);
	t0 = util_now_ms();
	ATF_CHECK(store_begin(w, &cause) == STORE_BUSY);
	free(cause);
	cause = NULL;
	ATF_CHECK_MSG(util_now_ms() - t0 < 100, "waited %lld ms again",
	    (long long)(util_now_ms() - t0));
	ATF_CHECK(group_end(w, &cause) == STORE_OK);
	ATF_CHECK_EQ(w->gmembers, 0);
	store_rollback(other);
	store_close(other);
	store_close(w);
}

ATF_TC(checkpoint__thread_copies_wal);
ATF_TC_HEAD(checkpoint__thread_copies_wal, tc)
{
	atf_tc_set_md_var(tc, "descr", "with checkpoint_start, the writer "
	    "no longer checkpoints in its commits but the thread copies the "
	    "WAL into the database once it passes 1000 pages");
	atf_tc_set_md_var(tc, "timeout", "60");
}
ATF_TC_BODY(checkpoint__thread_copies_wal, tc)
{
	struct store		*w;
	struct checkpointer	*c;
	char			*cause = NULL;
	int64_t			 pages = 0;
	int			 i;

	w = db_new();
	db_exec(w, "PRAGMA wal_checkpoint(TRUNCATE)");
	db_exec(w, "CREATE TABLE filler (b BLOB)");
	c = checkpoint_start(w, &cause);
	ATF_REQUIRE_MSG(c != NULL, "%s", cause);
	/* 1200 transactions of one new page each. */
	for (i = 0; i < 1200; i++)
		db_exec(w, "INSERT INTO filler VALUES (zeroblob(3000))");
	for (i = 0; i < 100; i++) {
		pages = db_int(w, "PRAGMA page_count");
		if (access(DB, F_OK) == 0) {
			FILE	*f = fopen(DB, "r");
			long	 sz;

			ATF_REQUIRE(f != NULL);
			fseek(f, 0, SEEK_END);
			sz = ftell(f);
			fclose(f);
			if (sz / 4096 >= 1000)
				break;
		}
		usleep(50 * 1000);
	}
	ATF_CHECK_MSG(i < 100, "database file not filled by the thread "
	    "(%lld pages in all)", (long long)pages);
	/* The writer's WAL hook was the thread's, not SQLite's own. */
	ATF_CHECK(sqlite3_wal_hook(w->db, NULL, NULL) == (void *)c);
	checkpoint_stop(c, w);
	store_close(w);
}

ATF_TC(checkpoint__paced);
ATF_TC_HEAD(checkpoint__paced, tc)
{
	atf_tc_set_md_var(tc, "descr", "past 1000 pages the thread is woken "
	    "once per 250 new pages, not after every commit, while a reader "
	    "keeps the WAL from starting over");
	atf_tc_set_md_var(tc, "timeout", "60");
}
ATF_TC_BODY(checkpoint__paced, tc)
{
	struct store		*w, *r;
	struct checkpointer	*c;
	sqlite3_stmt		*stmt;
	struct stat		 sb;
	char			*cause = NULL;
	long long		 frames;
	int			 i, runs;

	w = db_new();
	db_exec(w, "PRAGMA wal_checkpoint(TRUNCATE)");
	db_exec(w, "CREATE TABLE filler (b BLOB)");
	db_exec(w, "INSERT INTO filler VALUES (1)");
	/* A reader holding its snapshot: no checkpoint can complete. */
	r = db_open(5000, STORE_OPEN_ANY);
	ATF_REQUIRE(sqlite3_prepare_v2(r->db, "SELECT b FROM filler", -1,
	    &stmt, NULL) == SQLITE_OK);
	ATF_REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
	c = checkpoint_start(w, &cause);
	ATF_REQUIRE_MSG(c != NULL, "%s", cause);
	/* 1000 commits of a new page (two frames with the b-tree's root). */
	for (i = 0; i < 1000; i++) {
		db_exec(w, "INSERT INTO filler VALUES (zeroblob(3000))");
		if (i % 100 == 0)
			usleep(1000);	/* let the thread keep up */
	}
	usleep(200 * 1000);
	runs = checkpoint_runs(c);
	ATF_REQUIRE(stat(DB "-wal", &sb) == 0);
	frames = (sb.st_size - 32) / (4096 + 24);
	ATF_REQUIRE_MSG(frames > 1500 && frames < 3900, "%lld frames",
	    (long long)frames);
	/* Woken at 1000 frames, then every 250: a handful, not 1000. */
	ATF_CHECK_MSG(runs >= 1 && runs <= (frames - 1000) / 250 + 2,
	    "%d checkpoints for %lld WAL frames", runs, (long long)frames);
	sqlite3_finalize(stmt);
	checkpoint_stop(c, w);
	store_close(r);
	store_close(w);
}

ATF_TP_ADD_TCS(tp)
{
	ATF_TP_ADD_TC(tp, store_open__missing_file);
	ATF_TP_ADD_TC(tp, store_open__no_schema);
	ATF_TP_ADD_TC(tp, store_migrate__fresh_and_again);
	ATF_TP_ADD_TC(tp, store_open__newer_schema_refused);
	ATF_TP_ADD_TC(tp, store_begin__busy);
	ATF_TP_ADD_TC(tp, device_add__token_and_hash);
	ATF_TP_ADD_TC(tp, device_by_token__unknown);
	ATF_TP_ADD_TC(tp, device_rotate_token__old_stops);
	ATF_TP_ADD_TC(tp, device_remove__cascade);
	ATF_TP_ADD_TC(tp, device_heartbeat__events_and_counters);
	ATF_TP_ADD_TC(tp, device_heartbeat__slots_changed);
	ATF_TP_ADD_TC(tp, device_heartbeat__history_bounded);
	ATF_TP_ADD_TC(tp, device_heartbeat__history_step);
	ATF_TP_ADD_TC(tp, device_heartbeat__unknown_device);
	ATF_TP_ADD_TC(tp, sms_receive__dedup);
	ATF_TP_ADD_TC(tp, sms_list_json__paging);
	ATF_TP_ADD_TC(tp, evlog_append__full);
	ATF_TP_ADD_TC(tp, evlog_read__order_and_limits);
	ATF_TP_ADD_TC(tp, evlog_type_name__table);
	ATF_TP_ADD_TC(tp, prune_step__cursor_survives);
	ATF_TP_ADD_TC(tp, prune_step__batched_events);
	ATF_TP_ADD_TC(tp, prune_step__sms_retention);
	ATF_TP_ADD_TC(tp, device_sweep__marks_silent_offline);
	ATF_TP_ADD_TC(tp, stats_json__shape);
	ATF_TP_ADD_TC(tp, group__savepoints_and_one_commit);
	ATF_TP_ADD_TC(tp, group__busy_waits_once);
	ATF_TP_ADD_TC(tp, checkpoint__thread_copies_wal);
	ATF_TP_ADD_TC(tp, checkpoint__paced);
	return atf_no_error();
}
