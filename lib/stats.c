/*
 * stats.c: the fleet counters. They are kept by triggers (sql/) in the same
 * transaction as every write, so reading them costs a handful of rows,
 * whatever the size of the history.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <sqlite3.h>

#include "goip.h"

/*
 * The stats object of GET /api/stats and stats-update at NOW (for "today",
 * the UTC day). Returns a new object or NULL with *cause set.
 */
struct json_object *
stats_json(struct store *st, int64_t now, char **cause)
{
	static const char *const sql = "SELECT name, value FROM counters "
	    "UNION ALL SELECT 'sms_received_today', value FROM daily_counters "
	    "WHERE day = ? AND name = 'sms_received'";
	sqlite3_stmt		*stmt;
	struct json_object	*o, *dev, *sms;
	int64_t			 total = 0, online = 0, v;
	const char		*name;
	char			 day[16];
	struct tm		 tm;
	time_t			 t = (time_t)(now / 1000);
	int			 rc;

	gmtime_r(&t, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	if ((stmt = store_stmt(st, sql, cause)) == NULL)
		return NULL;
	store_bind(stmt, "s", day);
	dev = json_object_new_object();
	sms = json_object_new_object();
	json_object_object_add(sms, "received", json_object_new_int64(0));
	json_object_object_add(sms, "receivedToday", json_object_new_int64(0));
	json_object_object_add(sms, "sent", json_object_new_int64(0));
	json_object_object_add(sms, "delivered", json_object_new_int64(0));
	json_object_object_add(sms, "failed", json_object_new_int64(0));
	json_object_object_add(sms, "queued", json_object_new_int64(0));
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		name = (const char *)sqlite3_column_text(stmt, 0);
		v = sqlite3_column_int64(stmt, 1);
		if (strcmp(name, "devices_total") == 0)
			total = v;
		else if (strcmp(name, "devices_online") == 0)
			online = v;
		else if (strcmp(name, "sms_received_today") == 0)
			json_object_object_add(sms, "receivedToday",
			    json_object_new_int64(v));
		else if (strncmp(name, "sms_", 4) == 0)
			json_object_object_add(sms, name + 4,
			    json_object_new_int64(v));
	}
	sqlite3_reset(stmt);
	if (store_rc(st, rc, cause) != STORE_OK) {
		json_object_put(dev);
		json_object_put(sms);
		return NULL;
	}
	json_object_object_add(dev, "total", json_object_new_int64(total));
	json_object_object_add(dev, "online", json_object_new_int64(online));
	json_object_object_add(dev, "offline",
	    json_object_new_int64(total - online));
	o = json_object_new_object();
	json_object_object_add(o, "devices", dev);
	json_object_object_add(o, "sms", sms);
	return o;
}

/* Outbound messages waiting for device ROWID (queued or leased). */
int64_t
stats_outbox_pending(struct store *st, int64_t rowid, char **cause)
{
	static const char *const sql = "SELECT count(*) FROM sms "
	    "WHERE device = ? AND status IN ('queued', 'sending')";
	sqlite3_stmt	*stmt;
	int64_t		 n = -1;
	int		 rc;

	if ((stmt = store_stmt(st, sql, cause)) == NULL)
		return -1;
	store_bind(stmt, "l", rowid);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		n = sqlite3_column_int64(stmt, 0);
	else
		store_rc(st, rc, cause);
	sqlite3_reset(stmt);
	return n;
}
