/*
 * app.c: the application's Socket.IO clients. A client's events are
 * chosen by name from a table, as goip-cgi's routes are (cgi/router.c):
 * join-dashboard, join-device-room and leave-device-room, the joins under
 * a per-session rate limit. This file also owns lossless resume: the
 * lastEventId, pid and offset read from the CONNECT auth, the rooms of
 * lost sessions remembered for connection-state recovery, and the replay
 * start handed to room_join_*(), from which room.c and ingest.c replay
 * what the client missed.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "goip.h"
#include "notifier.h"

#define APP_RECOVER_MAX	4096	/* disconnected sessions remembered */
#define APP_RECOVER_MS	120000	/* how long they are remembered */
#define APP_TOKEN	1000	/* one join, in the bucket's units */

/* The application's side of one Socket.IO session. */
struct app {
	struct sio		*s;
	struct room_member	*member;	/* while connected to "/" */
	int			 has_last;
	int64_t			 last_event_id;	/* replay after this id */
	char			 pid[NOTIFIER_SID_LEN + 1];
	/* Room joins: a token bucket, in thousandths of a join. */
	int64_t			 join_tokens;
	int64_t			 join_at;	/* ms of the last refill */
};

/* A session that may be recovered by pid/offset. */
struct app_recover {
	TAILQ_ENTRY(app_recover) entry;
	char			 pid[NOTIFIER_SID_LEN + 1];
	int64_t			 expires;
	int64_t			 cursor;	/* ingest cursor when lost */
	int			 dashboard;
	int			 ndevices;
	char			 devices[][GOIP_DEVICE_ID_MAX + 1];
};

/*
 * A client event. Its handler gets the first argument after the name (or
 * NULL) and returns 0, or -1 to close the session. A JOIN event is
 * refused, with a "too many joins" ack, when the session's joins run out.
 */
struct app_event {
	const char	*name;
	int		 join;
	int		(*handler)(struct app *, struct json_object *);
};

static int	app_join_dashboard_event(struct app *, struct json_object *);
static int	app_join_device_event(struct app *, struct json_object *);
static int	app_leave_device_event(struct app *, struct json_object *);

static const struct app_event app_events[] = {
	{ "join-dashboard", 1, app_join_dashboard_event },
	{ "join-device-room", 1, app_join_device_event },
	{ "leave-device-room", 0, app_leave_device_event },
};
#define APP_NEVENTS	(sizeof(app_events) / sizeof(app_events[0]))

static TAILQ_HEAD(, app_recover)	app_recovers =
    TAILQ_HEAD_INITIALIZER(app_recovers);
static int				app_nrecovers;

/* Forget the remembered sessions that expired, or the oldest past KEEP. */
static void
app_forget(int keep)
{
	struct app_recover	*r;
	int64_t			 now = main_now_ms();

	while ((r = TAILQ_FIRST(&app_recovers)) != NULL &&
	    (r->expires < now || app_nrecovers > keep)) {
		TAILQ_REMOVE(&app_recovers, r, entry);
		free(r);
		app_nrecovers--;
	}
}

/*
 * The application's side of the new Socket.IO session S, with a full
 * bucket of joins and not yet in any room. Returns NULL when out of
 * memory. Expired recovery records are forgotten on the way.
 */
struct app *
app_new(struct sio *s)
{
	struct app	*a;

	app_forget(APP_RECOVER_MAX);
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->s = s;
	a->join_tokens = NOTIFIER_JOIN_BURST * APP_TOKEN;
	a->join_at = main_now_ms();
	return a;
}

/*
 * Remember the rooms of a connected client for connection recovery. The
 * record holds only the device rooms the client was in (most are in none),
 * so that thousands of clients going at once cost little memory. When
 * memory is short the client is simply not recoverable.
 */
static void
app_remember(struct app *a)
{
	char			 devices[NOTIFIER_ROOMS_MAX]
				    [GOIP_DEVICE_ID_MAX + 1];
	struct app_recover	*r;
	int			 n;

	app_forget(APP_RECOVER_MAX - 1);
	if (a->pid[0] == '\0' || a->member == NULL)
		return;
	n = room_devices(a->member, devices, NOTIFIER_ROOMS_MAX);
	if ((r = calloc(1, sizeof(*r) + n * sizeof(r->devices[0]))) == NULL)
		return;
	strlcpy(r->pid, a->pid, sizeof(r->pid));
	r->expires = main_now_ms() + APP_RECOVER_MS;
	r->cursor = ingest_cursor();
	r->dashboard = room_in_dashboard(a->member);
	r->ndevices = n;
	memcpy(r->devices, devices, n * sizeof(r->devices[0]));
	TAILQ_INSERT_TAIL(&app_recovers, r, entry);
	app_nrecovers++;
}

/*
 * Free A when its session is lost; a client still connected is remembered
 * for recovery first. app_free(NULL) does nothing.
 */
void
app_free(struct app *a)
{
	if (a == NULL)
		return;
	if (a->member != NULL) {
		app_remember(a);
		room_member_free(a->member);
		metrics.sio_clients--;
	}
	free(a);
}

/* The client left "/" with a DISCONNECT: it leaves its rooms, for good. */
void
app_disconnect(struct app *a)
{
	if (a->member == NULL)
		return;
	room_member_free(a->member);
	a->member = NULL;
	metrics.sio_clients--;
}

struct room_member *
app_member(struct app *a)
{
	return a->member;
}

/* Read a non-negative decimal id from the string V into *ID: 1, or 0. */
static int
app_id_string(struct json_object *v, int64_t *id)
{
	const char	*str = json_object_get_string(v);
	char		*end;
	long long	 n;

	n = strtoll(str, &end, 10);
	if (*str == '\0' || *end != '\0' || n < 0)
		return 0;
	*id = n;
	return 1;
}

/*
 * Read lastEventId, pid and offset from the CONNECT auth object J (or
 * NULL) into A and PID. The later of lastEventId and offset wins.
 */
static void
app_auth(struct app *a, struct json_object *j, char *pid, size_t pidsz)
{
	struct json_object	*v;
	int64_t			 n;

	pid[0] = '\0';
	if (j == NULL)
		return;
	if (json_object_object_get_ex(j, "lastEventId", &v)) {
		if (json_object_is_type(v, json_type_int) &&
		    json_object_get_int64(v) >= 0) {
			a->has_last = 1;
			a->last_event_id = json_object_get_int64(v);
		} else if (json_object_is_type(v, json_type_string) &&
		    app_id_string(v, &n)) {
			a->has_last = 1;
			a->last_event_id = n;
		}
	}
	if (json_object_object_get_ex(j, "pid", &v) &&
	    json_object_is_type(v, json_type_string))
		strlcpy(pid, json_object_get_string(v), pidsz);
	if (json_object_object_get_ex(j, "offset", &v) &&
	    json_object_is_type(v, json_type_string) && app_id_string(v, &n) &&
	    (!a->has_last || n > a->last_event_id)) {
		a->has_last = 1;
		a->last_event_id = n;
	}
}

/*
 * May A join a room now? A token bucket: NOTIFIER_JOIN_BURST joins at
 * once, then NOTIFIER_JOIN_RATE a second. Returns 1 (a token is taken) or
 * 0 (the join is refused and counted).
 */
static int
app_join_allowed(struct app *a)
{
	int64_t	now = main_now_ms();

	if (now > a->join_at) {
		a->join_tokens += (now - a->join_at) * NOTIFIER_JOIN_RATE;
		if (a->join_tokens > NOTIFIER_JOIN_BURST * APP_TOKEN)
			a->join_tokens = NOTIFIER_JOIN_BURST * APP_TOKEN;
	}
	a->join_at = now;
	if (a->join_tokens < APP_TOKEN) {
		metrics.joins_limited++;
		return 0;
	}
	a->join_tokens -= APP_TOKEN;
	return 1;
}

/* The id to replay after when joining a room, or -1 (no replay). */
static int64_t
app_replay_after(struct app *a)
{
	return a->has_last ? a->last_event_id : -1;
}

/*
 * Join the dashboard room; what the client missed is replayed first, on
 * later turns of the loop, and the stats follow it.
 */
static int
app_join_dashboard(struct app *a)
{
	if (room_in_dashboard(a->member))
		return 0;
	if (room_join_dashboard(a->member, app_replay_after(a)) == 0)
		ingest_stats_now(a->s);
	return 0;
}

/*
 * Join the room of device ID; its events the client missed are replayed
 * first, on later turns of the loop. Returns 0, or -1 when the client
 * named too many rooms (its session is then closed).
 */
static int
app_join_device(struct app *a, const char *id)
{
	if (!valid_device_id(id) || room_in_device(a->member, id))
		return 0;
	return room_join_device(a->member, id, app_replay_after(a));
}

/*
 * Recover the rooms of the disconnected session PID, if it is remembered
 * and not expired. Returns 1 (recovered: A takes over PID), 0 (nothing to
 * recover), or -1 when a join failed.
 */
static int
app_recover(struct app *a, const char *pid)
{
	struct app_recover	*r;
	int			 i;

	TAILQ_FOREACH(r, &app_recovers, entry) {
		if (strcmp(r->pid, pid) == 0)
			break;
	}
	if (r == NULL || r->expires < main_now_ms())
		return 0;
	if (!a->has_last) {
		/* No offset: the client saw nothing before it was lost. */
		a->has_last = 1;
		a->last_event_id = r->cursor;
	}
	TAILQ_REMOVE(&app_recovers, r, entry);
	app_nrecovers--;
	strlcpy(a->pid, pid, sizeof(a->pid));
	if (r->dashboard && app_join_dashboard(a) == -1) {
		free(r);
		return -1;
	}
	for (i = 0; i < r->ndevices; i++) {
		if (app_join_device(a, r->devices[i]) == -1) {
			free(r);
			return -1;
		}
	}
	free(r);
	metrics.resumes++;
	return 1;
}

/*
 * The client connected to "/" with the auth object J (or NULL): it becomes
 * a room member, and its rooms are recovered when J names a remembered
 * pid. Returns the private id the client may resume under later (owned by
 * A), or NULL when out of memory or a recovered join failed.
 */
const char *
app_connect(struct app *a, struct json_object *j)
{
	char	pid[64];
	int	recovered = 0;

	if ((a->member = room_member_new(a->s)) == NULL)
		return NULL;
	metrics.sio_clients++;
	app_auth(a, j, pid, sizeof(pid));
	if (pid[0] != '\0')
		recovered = app_recover(a, pid);
	if (recovered == -1)
		return NULL;
	if (!recovered)
		main_random_id(a->pid, sizeof(a->pid));
	return a->pid;
}

/* The device id a room event names: "id" or {"deviceId": "id"}, or NULL. */
static const char *
app_device_arg(struct json_object *arg)
{
	if (arg != NULL && json_object_is_type(arg, json_type_object) &&
	    !json_object_object_get_ex(arg, "deviceId", &arg))
		return NULL;
	if (arg == NULL || !json_object_is_type(arg, json_type_string))
		return NULL;
	return json_object_get_string(arg);
}

static int
app_join_dashboard_event(struct app *a, struct json_object *arg)
{
	(void)arg;
	return app_join_dashboard(a);
}

static int
app_join_device_event(struct app *a, struct json_object *arg)
{
	const char	*id;

	if ((id = app_device_arg(arg)) == NULL)
		return 0;
	return app_join_device(a, id);
}

static int
app_leave_device_event(struct app *a, struct json_object *arg)
{
	const char	*id;

	if ((id = app_device_arg(arg)) != NULL)
		room_leave_device(a->member, id);
	return 0;
}

/* Acknowledge packet ID on "/" with the JSON array text ARGS. */
static int
app_ack(struct app *a, int64_t id, const char *args)
{
	struct sio_packet	h;

	sio_header(&h, SIO_ACK, "/", 1, id);
	return sio_send(a->s, &h, "%s", args);
}

/*
 * An EVENT P on "/" whose data parsed into the array J (sio_data() checked
 * that it starts with the name): run the handler its name selects, then
 * acknowledge it when the client asked. Unknown events are ignored.
 * Returns 0, or -1 to close the session.
 */
int
app_event(struct app *a, const struct sio_packet *p, struct json_object *j)
{
	const struct app_event	*ev = NULL;
	struct json_object	*n;
	const char		*name;
	size_t			 i, len;

	n = json_object_array_get_idx(j, 0);
	name = json_object_get_string(n);
	len = (size_t)json_object_get_string_len(n);
	for (i = 0; i < APP_NEVENTS; i++) {
		if (strlen(app_events[i].name) == len &&
		    memcmp(app_events[i].name, name, len) == 0) {
			ev = &app_events[i];
			break;
		}
	}
	if (ev == NULL)
		return 0;
	if (ev->join && !app_join_allowed(a)) {
		if (p->id < 0)
			return 0;
		return app_ack(a, p->id,
		    "[{\"ok\":false,\"error\":\"too many joins\"}]") ==
		    -1 ? -1 : 0;
	}
	if (ev->handler(a, json_object_array_get_idx(j, 1)) == -1)
		return -1;
	if (p->id >= 0)
		return app_ack(a, p->id, "[{\"ok\":true}]") == -1 ? -1 : 0;
	return 0;
}
