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
#include "store_int.h"

/*
 * Set *OUT to the stats object of GET /api/stats and stats-update at NOW
 * (for "today", the UTC day), a new object the caller puts. Returns
 * STORE_OK or the store_rc of the failure with *cause set (*OUT NULL).
 */
enum store_rc
stats_json(struct store *st, int64_t now, struct json_object **out,
    char **cause)
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
	enum store_rc		 src;
	int			 rc;

	*out = NULL;
	gmtime_r(&t, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	if ((src = store_stmt(st, sql, &stmt, cause)) != STORE_OK)
		return src;
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
	if ((src = store_rc(st, rc, cause)) != STORE_OK) {
		json_object_put(dev);
		json_object_put(sms);
		return src;
	}
	json_object_object_add(dev, "total", json_object_new_int64(total));
	json_object_object_add(dev, "online", json_object_new_int64(online));
	json_object_object_add(dev, "offline",
	    json_object_new_int64(total - online));
	o = json_object_new_object();
	json_object_object_add(o, "devices", dev);
	json_object_object_add(o, "sms", sms);
	*out = o;
	return STORE_OK;
}

/*
 * Set *N to the outbound messages waiting for device ROWID (queued or
 * leased). Returns STORE_OK or the store_rc of the failure with *cause set.
 */
enum store_rc
stats_outbox_pending(struct store *st, int64_t rowid, int64_t *n,
    char **cause)
{
	static const char *const sql = "SELECT count(*) FROM sms "
	    "WHERE device = ? AND status IN ('queued', 'sending')";
	sqlite3_stmt	*stmt;
	enum store_rc	 src;

	*n = 0;
	if ((src = store_stmt(st, sql, &stmt, cause)) != STORE_OK)
		return src;
	store_bind(stmt, "l", rowid);
	/* count(*) has a row: STORE_NOTFOUND cannot be. */
	if ((src = store_row(st, stmt, cause)) == STORE_OK)
		*n = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	return src;
}
