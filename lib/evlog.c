/*
 * evlog.c: the event log, the single ordered history of every change.
 *
 * Writers append inside their own transaction, so an event exists exactly
 * when its change does. Readers (the notifier, GET /api/events) read by id,
 * the global cursor. After commit a writer rings the notifier with one
 * datagram; the ring is a hint only: the notifier also polls the log, so a
 * lost ring delays an event but never loses it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>
#include <sqlite3.h>

#include "goip.h"
#include "store_int.h"

static const char *const evlog_names[EVENT_TYPE__MAX] = {
	"device-heartbeat",
	"device-status-change",
	"sms-received",
	"sms-status",
	"stats-update",
	"ussd-reply",
	"webhook-disabled",
};

/* The Socket.IO event name of TYPE. */
const char *
evlog_type_name(enum event_type type)
{
	if ((int)type < 0 || type >= EVENT_TYPE__MAX)
		return "unknown";
	return evlog_names[type];
}

/* The type named NAME, or -1. */
int
evlog_type_lookup(const char *name)
{
	int	 i;

	for (i = 0; i < EVENT_TYPE__MAX; i++)
		if (strcmp(evlog_names[i], name) == 0)
			return i;
	return -1;
}

/*
 * Append one event to the log inside the caller's transaction and set *ID
 * to its id. DEVICE is the device id for the device-{id} room, or NULL. The
 * payload is serialized, not kept. Returns STORE_OK or the store_rc of the
 * failure (STORE_FULL, ...) with *cause set (allocated; caller frees).
 */
enum store_rc
evlog_append(struct store *st, enum event_type type, const char *device,
    struct json_object *payload, int64_t *id, char **cause)
{
	static const char *const sql = "INSERT INTO events(at, type, device, "
	    "payload) VALUES (?, ?, ?, ?)";
	sqlite3_stmt	*stmt;
	const char	*text;
	size_t		 len;
	enum store_rc	 rc;

	if ((rc = store_stmt(st, sql, &stmt, cause)) != STORE_OK)
		return rc;
	text = json_object_to_json_string_length(payload,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (text == NULL) {
		xasprintf(cause, "evlog: cannot serialize payload");
		return STORE_ERROR;
	}
	store_bind(stmt, "lssz", util_now_ms(), evlog_type_name(type),
	    device, text, len);
	if ((rc = store_run(st, stmt, cause)) != STORE_OK)
		return rc;
	*id = sqlite3_last_insert_rowid(st->db);
	return STORE_OK;
}

/*
 * Run the event query SQL, bound to DEVICE (when not NULL), AFTER and MAX,
 * and read its rows into OUT (at least MAX entries). Returns the number
 * read, or -1 with *cause set. Events of unknown type are skipped.
 */
static int
evlog_select(struct store *st, const char *sql, const char *device,
    int64_t after, int max, struct event *out, char **cause)
{
	sqlite3_stmt	*stmt;
	struct event	*ev;
	const char	*dev;
	int		 n = 0, rc, type;

	if (store_stmt(st, sql, &stmt, cause) != STORE_OK)
		return -1;
	if (device != NULL)
		store_bind(stmt, "sli", device, after, max);
	else
		store_bind(stmt, "li", after, max);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		type = evlog_type_lookup((const char *)
		    sqlite3_column_text(stmt, 2));
		if (type == -1)
			continue;
		ev = &out[n];
		ev->id = sqlite3_column_int64(stmt, 0);
		ev->at = sqlite3_column_int64(stmt, 1);
		ev->type = type;
		dev = (const char *)sqlite3_column_text(stmt, 3);
		snprintf(ev->device, sizeof(ev->device), "%s",
		    dev != NULL ? dev : "");
		ev->payloadlen = (size_t)sqlite3_column_bytes(stmt, 4);
		if ((ev->payload = malloc(ev->payloadlen + 1)) == NULL) {
			sqlite3_reset(stmt);
			evlog_clear(out, n);
			xasprintf(cause, "evlog: out of memory");
			return -1;
		}
		memcpy(ev->payload, sqlite3_column_blob(stmt, 4),
		    ev->payloadlen);
		ev->payload[ev->payloadlen] = '\0';
		n++;
	}
	if (store_rc(st, rc, cause) != STORE_OK) {
		sqlite3_reset(stmt);
		evlog_clear(out, n);
		return -1;
	}
	sqlite3_reset(stmt);
	return n;
}

/*
 * Read up to MAX events with id > AFTER, in id order, into OUT. Returns the
 * number read (payloads allocated: evlog_clear() frees them), or -1 with
 * *cause set. Events of unknown type are skipped.
 */
int
evlog_read(struct store *st, int64_t after, int max, struct event *out,
    int nout, char **cause)
{
	static const char *const sql = "SELECT id, at, type, device, payload "
	    "FROM events WHERE id > ? ORDER BY id LIMIT ?";

	if (max > nout)
		max = nout;
	return evlog_select(st, sql, NULL, after, max, out, cause);
}

/*
 * Read up to MAX events of DEVICE with id > AFTER, in id order, into OUT,
 * through the index events_device: the rows of other devices are not
 * read. Returns the number read (payloads allocated: evlog_clear() frees
 * them), or -1 with *cause set. Events of unknown type are skipped.
 */
int
evlog_read_device(struct store *st, const char *device, int64_t after,
    int max, struct event *out, char **cause)
{
	static const char *const sql = "SELECT id, at, type, device, payload "
	    "FROM events WHERE device = ? AND id > ? ORDER BY id LIMIT ?";

	return evlog_select(st, sql, device, after, max, out, cause);
}

/* Free the payloads of N events read by evlog_read(). */
void
evlog_clear(struct event *ev, int n)
{
	int	 i;

	for (i = 0; i < n; i++) {
		free(ev[i].payload);
		ev[i].payload = NULL;
	}
}

static int64_t
evlog_scalar(struct store *st, const char *sql, char **cause)
{
	sqlite3_stmt	*stmt;
	int64_t		 v = 0;
	int		 rc;

	if (store_stmt(st, sql, &stmt, cause) != STORE_OK)
		return -1;
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		v = sqlite3_column_int64(stmt, 0);
	else if (store_rc(st, rc, cause) != STORE_OK)
		v = -1;
	sqlite3_reset(stmt);
	return v;
}

/*
 * The highest id ever assigned (0 when none), or -1. Since a prune keeps
 * the newest event, MAX(id) never goes back.
 */
int64_t
evlog_last(struct store *st, char **cause)
{
	return evlog_scalar(st, "SELECT COALESCE(MAX(id), 0) FROM events",
	    cause);
}

/* The oldest retained id, or 1 when the log is empty; -1 on error. */
int64_t
evlog_first(struct store *st, char **cause)
{
	return evlog_scalar(st, "SELECT COALESCE(MIN(id), 1) FROM events",
	    cause);
}

/*
 * Delete one batch of events older than BEFORE (unix ms), from the window
 * of at most PRUNE_BATCH events after *CURSOR (prune_window(), which sets
 * *CURSOR to where to go on, 0 when done), inside the caller's
 * transaction. The newest event always stays: ids are rowids, and the
 * surviving maximum is what keeps them from ever being reused. Returns the
 * number deleted, or -1.
 */
int64_t
evlog_prune(struct store *st, int64_t before, int64_t *cursor, char **cause)
{
	static const struct prune_sql sql = {
		"SELECT id, at FROM events "
		    "WHERE id > ?1 ORDER BY id LIMIT 1 OFFSET ?2",
		"DELETE FROM events WHERE id > ?1 AND id <= ?2 AND at < ?3 "
		    "AND id < (SELECT MAX(id) FROM events)"
	};

	return prune_window(st, &sql, before, cursor, cause);
}

/*
 * Ring the notifier at PATH: one datagram holding ID in decimal, sent
 * without blocking. A missing socket, a full queue or any other failure is
 * ignored: the notifier's safety timer reads the log anyway.
 */
void
evlog_notify(const char *path, int64_t id)
{
	static int		 fd = -1;
	struct sockaddr_un	 sun;
	char			 buf[32];
	int			 n;

	if (path == NULL || *path == '\0')
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return;
	memcpy(sun.sun_path, path, strlen(path));
	if (fd == -1 && (fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1)
		return;
	n = snprintf(buf, sizeof(buf), "%lld", (long long)id);
	if (sendto(fd, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, sizeof(sun)) == -1)
		log_debug("evlog: ring %s: %s", path, strerror(errno));
}
