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
 * Append event EV to the log inside the caller's transaction and set *ID
 * to its id. The payload is serialized, not kept. Returns STORE_OK or the
 * store_rc of the failure (STORE_BUSY, STORE_FULL, ...) with *cause set
 * (allocated; caller frees).
 */
enum store_rc
evlog_append(struct store *st, const struct event_new *ev, int64_t *id,
    char **cause)
{
	static const char *const sql = "INSERT INTO events(at, type, device, "
	    "payload) VALUES (?, ?, ?, ?)";
	sqlite3_stmt	*stmt;
	const char	*text;
	size_t		 len;
	enum store_rc	 rc;

	if ((rc = store_stmt(st, sql, &stmt, cause)) != STORE_OK)
		return rc;
	text = json_object_to_json_string_length(ev->payload,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (text == NULL) {
		xasprintf(cause, "evlog: cannot serialize payload");
		return STORE_ERROR;
	}
	store_bind(stmt, "lssz", util_now_ms(), evlog_type_name(ev->type),
	    ev->device, text, len);
	if ((rc = store_run(st, stmt, cause)) != STORE_OK)
		return rc;
	*id = sqlite3_last_insert_rowid(st->db);
	return STORE_OK;
}

/*
 * Read up to P->max events with id > P->after, in id order, into OUT (room
 * for P->max), and set *N to the number read (payloads allocated:
 * evlog_clear() frees them). With P->device, only that device's events are
 * read, through the index events_device: the rows of other devices are not
 * read. Events of unknown type are skipped. Returns STORE_OK, or the
 * store_rc of the failure with *cause set, *N 0 and nothing to free.
 */
enum store_rc
evlog_read(struct store *st, const struct event_page *p, struct event *out,
    int *n, char **cause)
{
	static const char *const q_all = "SELECT id, at, type, device, "
	    "payload FROM events WHERE id > ? ORDER BY id LIMIT ?";
	static const char *const q_dev = "SELECT id, at, type, device, "
	    "payload FROM events WHERE device = ? AND id > ? ORDER BY id "
	    "LIMIT ?";
	sqlite3_stmt	*stmt;
	struct event	*ev;
	const char	*dev;
	enum store_rc	 src;
	int		 rc, type;

	*n = 0;
	if ((src = store_stmt(st, p->device != NULL ? q_dev : q_all, &stmt,
	    cause)) != STORE_OK)
		return src;
	if (p->device != NULL)
		store_bind(stmt, "sli", p->device, p->after, p->max);
	else
		store_bind(stmt, "li", p->after, p->max);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		type = evlog_type_lookup((const char *)
		    sqlite3_column_text(stmt, 2));
		if (type == -1)
			continue;
		ev = &out[*n];
		ev->id = sqlite3_column_int64(stmt, 0);
		ev->at = sqlite3_column_int64(stmt, 1);
		ev->type = type;
		dev = (const char *)sqlite3_column_text(stmt, 3);
		snprintf(ev->device, sizeof(ev->device), "%s",
		    dev != NULL ? dev : "");
		ev->payloadlen = (size_t)sqlite3_column_bytes(stmt, 4);
		if ((ev->payload = malloc(ev->payloadlen + 1)) == NULL) {
			xasprintf(cause, "evlog: out of memory");
			src = STORE_ERROR;
			goto fail;
		}
		memcpy(ev->payload, sqlite3_column_blob(stmt, 4),
		    ev->payloadlen);
		ev->payload[ev->payloadlen] = '\0';
		(*n)++;
	}
	if ((src = store_rc(st, rc, cause)) != STORE_OK)
		goto fail;
	sqlite3_reset(stmt);
	return STORE_OK;
fail:
	sqlite3_reset(stmt);
	evlog_clear(out, *n);
	*n = 0;
	return src;
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

/* Set *V to the one integer SQL yields (0 when no row). */
static enum store_rc
evlog_scalar(struct store *st, const char *sql, int64_t *v, char **cause)
{
	sqlite3_stmt	*stmt;
	enum store_rc	 src;

	*v = 0;
	if ((src = store_stmt(st, sql, &stmt, cause)) != STORE_OK)
		return src;
	if ((src = store_row(st, stmt, cause)) == STORE_OK)
		*v = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	return src == STORE_NOTFOUND ? STORE_OK : src;
}

/*
 * Set *ID to the highest id ever assigned (0 when none). Since a prune
 * keeps the newest event, MAX(id) never goes back. Returns STORE_OK or the
 * store_rc of the failure with *cause set.
 */
enum store_rc
evlog_last(struct store *st, int64_t *id, char **cause)
{
	return evlog_scalar(st, "SELECT COALESCE(MAX(id), 0) FROM events", id,
	    cause);
}

/*
 * Set *ID to the oldest retained id, or 1 when the log is empty. Returns
 * STORE_OK or the store_rc of the failure with *cause set.
 */
enum store_rc
evlog_first(struct store *st, int64_t *id, char **cause)
{
	return evlog_scalar(st, "SELECT COALESCE(MIN(id), 1) FROM events", id,
	    cause);
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
