/*
 * sio.c: Socket.IO protocol v5 on an Engine.IO session: the packet codec
 * (type, attachments, namespace, ack id, JSON data), binary packets
 * reassembled from their attachments, namespaces and the connect timeout,
 * the handlers of compliance mode, and the application's client events
 * (join-dashboard, join-device-room, leave-device-room) with lossless
 * resume and connection-state recovery.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "goip.h"
#include "notifier.h"

#define SIO_ATTACH_MAX	64	/* attachments of one binary packet */
#define SIO_NSP_MAX	2	/* namespaces of compliance mode */
#define SIO_RECOVER_MAX	4096	/* disconnected sessions remembered */
#define SIO_RECOVER_MS	120000	/* how long they are remembered */

struct sio {
	struct eio		*e;
	unsigned int		 nsps;		/* bit per connected namespace */
	struct event		*timer;		/* connect timeout */
	/* A binary packet waiting for its attachments. */
	char			*pending;
	size_t			 pendinglen;
	int			 need;
	int			 have;
	struct frame		**att;		/* need entries */
	/* Application mode. */
	struct room_member	*member;
	int			 has_last;
	int64_t			 last_event_id;
	int			 resynced;
	char			 pid[NOTIFIER_SID_LEN + 1];
	/* Room joins: a token bucket, in thousandths of a join. */
	int64_t			 join_tokens;
	int64_t			 join_at;	/* ms of the last refill */
};

/* A session that may be recovered by pid/offset. */
struct sio_recover {
	TAILQ_ENTRY(sio_recover) entry;
	char			 pid[NOTIFIER_SID_LEN + 1];
	int64_t			 expires;
	int64_t			 cursor;	/* ingest cursor when lost */
	int			 dashboard;
	int			 ndevices;
	char			 devices[][GOIP_DEVICE_ID_MAX + 1];
};

static TAILQ_HEAD(, sio_recover)	sio_recovers =
    TAILQ_HEAD_INITIALIZER(sio_recovers);
static int				sio_nrecovers;

static const char *const sio_nsp_names[SIO_NSP_MAX] = { "/", "/custom" };

static void	sio_timeout_cb(evutil_socket_t, short, void *);
static void	sio_forget(int);
static int	sio_dispatch(struct sio *, const struct sio_packet *);

/*
 * Parse the Socket.IO packet of LEN bytes at S into P (pointers into S).
 * Returns 0, or -1 when the header is malformed. The JSON data is checked
 * by sio_valid_data().
 */
int
sio_parse(const char *s, size_t len, struct sio_packet *p)
{
	size_t	i = 0, start;
	int64_t	n;

	memset(p, 0, sizeof(*p));
	p->id = -1;
	p->nsp = "/";
	p->nsplen = 1;
	if (len == 0 || s[0] < '0' || s[0] > '6')
		return -1;
	p->type = s[i++] - '0';
	if (p->type == SIO_BINARY_EVENT || p->type == SIO_BINARY_ACK) {
		start = i;
		for (n = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
			n = n * 10 + (s[i] - '0');
			if (n > SIO_ATTACH_MAX)
				return -1;
		}
		if (i == start || i >= len || s[i] != '-')
			return -1;
		i++;
		p->attachments = (int)n;
	}
	if (i < len && s[i] == '/') {
		start = i;
		while (i < len && s[i] != ',')
			i++;
		p->nsp = s + start;
		p->nsplen = i - start;
		if (i < len)
			i++;	/* the comma */
	}
	if (i < len && s[i] >= '0' && s[i] <= '9') {
		for (n = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
			if (n > (INT64_MAX - 9) / 10)
				return -1;
			n = n * 10 + (s[i] - '0');
		}
		p->id = n;
	}
	if (i < len) {
		p->data = s + i;
		p->datalen = len - i;
	}
	return 0;
}

/* Parse LEN bytes of JSON at S completely, or return NULL. */
static struct json_object *
sio_json(const char *s, size_t len)
{
	struct json_tokener	*tok;
	struct json_object	*j;

	if ((tok = json_tokener_new_ex(GOIP_JSON_DEPTH)) == NULL)
		return NULL;
	j = json_tokener_parse_ex(tok, s, (int)len);
	if (j != NULL && (json_tokener_get_error(tok) != json_tokener_success ||
	    (size_t)json_tokener_get_parse_end(tok) != len)) {
		json_object_put(j);
		j = NULL;
	}
	json_tokener_free(tok);
	return j;
}

/*
 * Is the data of P what its type requires of a packet from a client?
 * CONNECT: none or an object; DISCONNECT: none; EVENT: a non-empty array
 * starting with a string; ACK: an array. Returns 1 or 0.
 */
int
sio_valid_data(const struct sio_packet *p)
{
	struct json_object	*j;
	int			 ok = 0;

	if (p->data == NULL)
		return p->type == SIO_CONNECT || p->type == SIO_DISCONNECT;
	if ((j = sio_json(p->data, p->datalen)) == NULL)
		return 0;
	switch (p->type) {
	case SIO_CONNECT:
		ok = json_object_is_type(j, json_type_object);
		break;
	case SIO_EVENT:
	case SIO_BINARY_EVENT:
		ok = json_object_is_type(j, json_type_array) &&
		    json_object_array_length(j) > 0 &&
		    json_object_is_type(json_object_array_get_idx(j, 0),
		    json_type_string);
		break;
	case SIO_ACK:
	case SIO_BINARY_ACK:
		ok = json_object_is_type(j, json_type_array);
		break;
	default:
		break;
	}
	json_object_put(j);
	return ok;
}

/*
 * Split the event array of LEN bytes at S (already validated) into its
 * name, copied raw into NAME, and the text after it: *REST points to the
 * remaining arguments without the leading comma, ending with the closing
 * bracket ("]" when there are none). Returns 0, or -1 when the name does
 * not fit NAME.
 */
int
sio_event_name(const char *s, size_t len, char *name, size_t namesz,
    const char **rest, size_t *restlen)
{
	size_t	i = 0, o = 0;

	while (i < len && s[i] != '"')
		i++;
	for (i++; i < len && s[i] != '"'; i++) {
		if (s[i] == '\\' && i + 1 < len) {
			if (o + 2 >= namesz)
				return -1;
			name[o++] = s[i++];
		}
		if (o + 1 >= namesz)
			return -1;
		name[o++] = s[i];
	}
	name[o] = '\0';
	for (i++; i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' ||
	    s[i] == '\r'); i++)
		;
	if (i < len && s[i] == ',')
		i++;
	if (i > len)
		i = len;
	*rest = s + i;
	*restlen = len - i;
	return 0;
}

struct sio *
sio_new(struct eio *e)
{
	struct sio	*s;
	struct timeval	 tv;

	sio_forget(SIO_RECOVER_MAX);
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->e = e;
	s->join_tokens = NOTIFIER_JOIN_BURST * 1000;
	s->join_at = main_now_ms();
	if ((s->timer = evtimer_new(notifier_base, sio_timeout_cb, s)) ==
	    NULL) {
		free(s);
		return NULL;
	}
	tv.tv_sec = nconf.connect_timeout / 1000;
	tv.tv_usec = (nconf.connect_timeout % 1000) * 1000;
	evtimer_add(s->timer, &tv);
	return s;
}

static void
sio_drop_pending(struct sio *s)
{
	int	i;

	for (i = 0; i < s->have; i++)
		frame_unref(s->att[i]);
	free(s->att);
	s->att = NULL;
	free(s->pending);
	s->pending = NULL;
	s->need = s->have = 0;
}

/* Forget the remembered sessions that expired, or the oldest past KEEP. */
static void
sio_forget(int keep)
{
	struct sio_recover	*r;
	int64_t			 now = main_now_ms();

	while ((r = TAILQ_FIRST(&sio_recovers)) != NULL &&
	    (r->expires < now || sio_nrecovers > keep)) {
		TAILQ_REMOVE(&sio_recovers, r, entry);
		free(r);
		sio_nrecovers--;
	}
}

/*
 * Remember the rooms of a connected client for connection recovery. The
 * record holds only the device rooms the client was in (most are in none),
 * so that thousands of clients going at once cost little memory.
 */
static void
sio_remember(struct sio *s)
{
	char			 devices[NOTIFIER_ROOMS_MAX]
				    [GOIP_DEVICE_ID_MAX + 1];
	struct sio_recover	*r;
	int			 n;

	sio_forget(SIO_RECOVER_MAX - 1);
	if (s->pid[0] == '\0' || s->member == NULL)
		return;
	n = room_devices(s->member, devices, NOTIFIER_ROOMS_MAX);
	if ((r = calloc(1, sizeof(*r) + n * sizeof(r->devices[0]))) == NULL)
		return;
	strlcpy(r->pid, s->pid, sizeof(r->pid));
	r->expires = main_now_ms() + SIO_RECOVER_MS;
	r->cursor = ingest_cursor();
	r->dashboard = room_in_dashboard(s->member);
	r->ndevices = n;
	memcpy(r->devices, devices, n * sizeof(r->devices[0]));
	TAILQ_INSERT_TAIL(&sio_recovers, r, entry);
	sio_nrecovers++;
}

void
sio_free(struct sio *s)
{
	if (s == NULL)
		return;
	if (s->member != NULL) {
		sio_remember(s);
		room_member_free(s->member);
		metrics.sio_clients--;
	}
	sio_drop_pending(s);
	if (s->timer != NULL)
		event_free(s->timer);
	free(s);
}

static void
sio_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sio	*s = arg;

	(void)fd;
	(void)what;
	if (s->nsps == 0)
		eio_close(s->e, "connect timeout");
}

/*
 * Send a packet built from a header (type, attachments, namespace, ack id)
 * and the JSON pieces A and B concatenated. Returns 0, or -1.
 */
static int
sio_send(struct sio *s, int type, int attachments, const char *nsp,
    size_t nsplen, int64_t id, const char *a, size_t alen, const char *b,
    size_t blen, const char *tail)
{
	struct frame	*f;
	char		 att[16] = "", sid[32] = "";
	int		 rc;

	if (attachments > 0)
		snprintf(att, sizeof(att), "%d-", attachments);
	if (id >= 0)
		snprintf(sid, sizeof(sid), "%lld", (long long)id);
	f = frame_printf("4%d%s%.*s%s%s%.*s%.*s%s", type, att,
	    (nsplen == 1 && nsp[0] == '/') ? 0 : (int)nsplen, nsp,
	    (nsplen == 1 && nsp[0] == '/') ? "" : ",", sid, (int)alen, a,
	    (int)blen, b, tail);
	if (f == NULL)
		return -1;
	rc = eio_send(s->e, f);
	frame_unref(f);
	return rc;
}

/* Emit a shared frame to client S if it is connected to "/". */
int
sio_emit_frame(struct sio *s, struct frame *f)
{
	if (!(s->nsps & 1))
		return 0;
	return eio_send(s->e, f);
}

/* Bytes queued for S and not yet written. */
size_t
sio_queued(struct sio *s)
{
	return eio_queued(s->e);
}

/* Emit event NAME with the JSON object text DATA to S on "/". */
static int
sio_emit(struct sio *s, const char *name, const char *data)
{
	struct frame	*f;
	int		 rc;

	if ((f = frame_printf("42[\"%s\",%s]", name, data)) == NULL)
		return -1;
	rc = eio_send(s->e, f);
	frame_unref(f);
	return rc;
}

/*
 * A message of the Engine.IO session: a packet, or an attachment of the
 * binary packet being reassembled. Returns 0, or -1 on a protocol error
 * (the session is then closed).
 */
int
sio_message(struct sio *s, int binary, const char *p, size_t len)
{
	struct sio_packet	 pk;
	int			 rc;

	if (binary) {
		if (s->need == 0)
			return -1;
		if ((s->att[s->have] = frame_new(1, p, len)) == NULL)
			return -1;
		s->have++;
		if (s->have < s->need)
			return 0;
		if (sio_parse(s->pending, s->pendinglen, &pk) == -1) {
			sio_drop_pending(s);
			return -1;
		}
		rc = sio_dispatch(s, &pk);
		sio_drop_pending(s);
		return rc;
	}
	if (s->need > 0)
		return -1;
	if (sio_parse(p, len, &pk) == -1 || !sio_valid_data(&pk))
		return -1;
	if (pk.attachments > 0) {
		if ((s->pending = malloc(len)) == NULL)
			return -1;
		if ((s->att = calloc(pk.attachments, sizeof(*s->att))) ==
		    NULL) {
			free(s->pending);
			s->pending = NULL;
			return -1;
		}
		memcpy(s->pending, p, len);
		s->pendinglen = len;
		s->need = pk.attachments;
		s->have = 0;
		return 0;
	}
	return sio_dispatch(s, &pk);
}

static int
sio_nsp_index(const struct sio_packet *p)
{
	int	i, n = nconf.compliance ? SIO_NSP_MAX : 1;

	for (i = 0; i < n; i++) {
		if (strlen(sio_nsp_names[i]) == p->nsplen &&
		    memcmp(sio_nsp_names[i], p->nsp, p->nsplen) == 0)
			return i;
	}
	return -1;
}

/* Resend the attachments of the packet being handled. */
static int
sio_send_attachments(struct sio *s)
{
	int	i;

	for (i = 0; i < s->have; i++) {
		if (eio_send(s->e, s->att[i]) == -1)
			return -1;
	}
	return 0;
}

/* The compliance handlers: echo, ack, auth. */
static int
sio_compliance_event(struct sio *s, const struct sio_packet *p)
{
	char		 name[64];
	const char	*rest;
	size_t		 restlen;
	int		 binary = p->type == SIO_BINARY_EVENT;
	int		 more;

	if (sio_event_name(p->data, p->datalen, name, sizeof(name), &rest,
	    &restlen) == -1)
		return 0;
	more = restlen > 1;
	if (strcmp(name, "message") == 0) {
		if (sio_send(s, binary ? SIO_BINARY_EVENT : SIO_EVENT,
		    p->attachments, p->nsp, p->nsplen, -1,
		    more ? "[\"message-back\"," : "[\"message-back\"",
		    more ? sizeof("[\"message-back\",") - 1 :
		    sizeof("[\"message-back\"") - 1, rest, restlen, "") == -1)
			return -1;
		return sio_send_attachments(s);
	}
	if (strcmp(name, "message-with-ack") == 0 && p->id >= 0) {
		if (sio_send(s, binary ? SIO_BINARY_ACK : SIO_ACK,
		    p->attachments, p->nsp, p->nsplen, p->id, "[", 1, rest,
		    restlen, "") == -1)
			return -1;
		return sio_send_attachments(s);
	}
	return 0;
}

/* Read lastEventId, pid and offset from the CONNECT auth of P. */
static void
sio_auth(struct sio *s, const struct sio_packet *p, char *pid, size_t pidsz)
{
	struct json_object	*j, *v;
	const char		*str;
	char			*end;
	long long		 n;

	pid[0] = '\0';
	if (p->data == NULL || (j = sio_json(p->data, p->datalen)) == NULL)
		return;
	if (json_object_object_get_ex(j, "lastEventId", &v)) {
		if (json_object_is_type(v, json_type_int) &&
		    json_object_get_int64(v) >= 0) {
			s->has_last = 1;
			s->last_event_id = json_object_get_int64(v);
		} else if (json_object_is_type(v, json_type_string)) {
			str = json_object_get_string(v);
			n = strtoll(str, &end, 10);
			if (*str != '\0' && *end == '\0' && n >= 0) {
				s->has_last = 1;
				s->last_event_id = n;
			}
		}
	}
	if (json_object_object_get_ex(j, "pid", &v) &&
	    json_object_is_type(v, json_type_string))
		strlcpy(pid, json_object_get_string(v), pidsz);
	if (json_object_object_get_ex(j, "offset", &v) &&
	    json_object_is_type(v, json_type_string)) {
		str = json_object_get_string(v);
		n = strtoll(str, &end, 10);
		if (*str != '\0' && *end == '\0' && n >= 0 &&
		    (!s->has_last || n > s->last_event_id)) {
			s->has_last = 1;
			s->last_event_id = n;
		}
	}
	json_object_put(j);
}

/*
 * May S join a room now? A token bucket: NOTIFIER_JOIN_BURST joins at
 * once, then NOTIFIER_JOIN_RATE a second. Returns 1 (a token is taken) or
 * 0 (the join is refused and counted).
 */
static int
sio_join_allowed(struct sio *s)
{
	int64_t	now = main_now_ms();

	if (now > s->join_at) {
		s->join_tokens += (now - s->join_at) * NOTIFIER_JOIN_RATE;
		if (s->join_tokens > NOTIFIER_JOIN_BURST * 1000)
			s->join_tokens = NOTIFIER_JOIN_BURST * 1000;
	}
	s->join_at = now;
	if (s->join_tokens < 1000) {
		metrics.joins_limited++;
		return 0;
	}
	s->join_tokens -= 1000;
	return 1;
}

/* The id to replay after when joining a room, or -1 (no replay). */
static int64_t
sio_replay_after(struct sio *s)
{
	return s->has_last ? s->last_event_id : -1;
}

/*
 * Join the dashboard room; what the client missed is replayed first, on
 * later turns of the loop, and the stats follow it.
 */
static int
sio_join_dashboard(struct sio *s)
{
	if (room_in_dashboard(s->member))
		return 0;
	if (room_join_dashboard(s->member, sio_replay_after(s)) == 0)
		ingest_stats_now(s);
	return 0;
}

/*
 * Join the room of device ID; its events the client missed are replayed
 * first, on later turns of the loop. Returns 0, or -1 when the client
 * named too many rooms (its session is then closed).
 */
static int
sio_join_device(struct sio *s, const char *id)
{
	if (!valid_device_id(id) || room_in_device(s->member, id))
		return 0;
	return room_join_device(s->member, id, sio_replay_after(s));
}

/* Try to recover the rooms of the disconnected session PID. */
static int
sio_recover(struct sio *s, const char *pid)
{
	struct sio_recover	*r;
	int			 i;

	TAILQ_FOREACH(r, &sio_recovers, entry) {
		if (strcmp(r->pid, pid) == 0)
			break;
	}
	if (r == NULL || r->expires < main_now_ms())
		return 0;
	if (!s->has_last) {
		/* No offset: the client saw nothing before it was lost. */
		s->has_last = 1;
		s->last_event_id = r->cursor;
	}
	TAILQ_REMOVE(&sio_recovers, r, entry);
	sio_nrecovers--;
	strlcpy(s->pid, pid, sizeof(s->pid));
	if (r->dashboard && sio_join_dashboard(s) == -1) {
		free(r);
		return -1;
	}
	for (i = 0; i < r->ndevices; i++) {
		if (sio_join_device(s, r->devices[i]) == -1) {
			free(r);
			return -1;
		}
	}
	free(r);
	metrics.resumes++;
	return 1;
}

/* A client event of the application. */
static int
sio_app_event(struct sio *s, const struct sio_packet *p)
{
	struct json_object	*j, *a;
	char			 name[64];
	const char		*rest, *id = NULL;
	size_t			 restlen;
	int			 rc = 0;

	if (sio_event_name(p->data, p->datalen, name, sizeof(name), &rest,
	    &restlen) == -1)
		return 0;
	if ((strcmp(name, "join-dashboard") == 0 ||
	    strcmp(name, "join-device-room") == 0) && !sio_join_allowed(s)) {
		if (p->id < 0)
			return 0;
		return sio_send(s, SIO_ACK, 0, "/", 1, p->id,
		    LIT("[{\"ok\":false,\"error\":\"too many joins\"}]"),
		    "", 0, "") == -1 ? -1 : 0;
	}
	if (strcmp(name, "join-dashboard") == 0)
		rc = sio_join_dashboard(s);
	else if (strcmp(name, "join-device-room") == 0 ||
	    strcmp(name, "leave-device-room") == 0) {
		if ((j = sio_json(p->data, p->datalen)) == NULL)
			return -1;
		a = json_object_array_get_idx(j, 1);
		if (a != NULL && json_object_is_type(a, json_type_object) &&
		    !json_object_object_get_ex(a, "deviceId", &a))
			a = NULL;
		if (a != NULL && json_object_is_type(a, json_type_string))
			id = json_object_get_string(a);
		if (id != NULL && name[0] == 'j')
			rc = sio_join_device(s, id);
		else if (id != NULL)
			room_leave_device(s->member, id);
		json_object_put(j);
	} else
		return 0;
	if (rc == 0 && p->id >= 0)
		rc = sio_send(s, SIO_ACK, 0, "/", 1, p->id,
		    LIT("[{\"ok\":true}]"), "", 0, "");
	return rc == -1 ? -1 : 0;
}

/* Handle one complete packet. */
static int
sio_dispatch(struct sio *s, const struct sio_packet *p)
{
	char	 sid[NOTIFIER_SID_LEN + 1], pid[64], buf[128];
	int	 nsp, recovered = 0;

	nsp = sio_nsp_index(p);
	switch (p->type) {
	case SIO_CONNECT:
		if (nsp == -1)
			return sio_send(s, SIO_CONNECT_ERROR, 0, p->nsp,
			    p->nsplen, -1,
			    LIT("{\"message\":\"Invalid namespace\"}"), "", 0,
			    "");
		if (s->nsps & (1U << nsp))
			return 0;
		s->nsps |= 1U << nsp;
		if (s->timer != NULL) {
			event_free(s->timer);
			s->timer = NULL;
		}
		main_random_id(sid, sizeof(sid));
		if (nconf.compliance) {
			snprintf(buf, sizeof(buf), "{\"sid\":\"%s\"}", sid);
			if (sio_send(s, SIO_CONNECT, 0, p->nsp, p->nsplen, -1,
			    buf, strlen(buf), "", 0, "") == -1)
				return -1;
			return sio_send(s, SIO_EVENT, 0, p->nsp, p->nsplen, -1,
			    LIT("[\"auth\","), p->data != NULL ? p->data : "{}",
			    p->data != NULL ? p->datalen : sizeof("{}") - 1,
			    "]");
		}
		if ((s->member = room_member_new(s)) == NULL)
			return -1;
		metrics.sio_clients++;
		sio_auth(s, p, pid, sizeof(pid));
		if (pid[0] != '\0')
			recovered = sio_recover(s, pid);
		if (recovered == -1)
			return -1;
		if (!recovered)
			main_random_id(s->pid, sizeof(s->pid));
		snprintf(buf, sizeof(buf), "{\"sid\":\"%s\",\"pid\":\"%s\"}",
		    sid, s->pid);
		return sio_send(s, SIO_CONNECT, 0, "/", 1, -1, buf,
		    strlen(buf), "", 0, "");
	case SIO_DISCONNECT:
		if (nsp != -1)
			s->nsps &= ~(1U << nsp);
		if (nsp == 0 && s->member != NULL) {
			room_member_free(s->member);
			s->member = NULL;
			metrics.sio_clients--;
		}
		return 0;
	case SIO_EVENT:
	case SIO_BINARY_EVENT:
		if (nsp == -1 || !(s->nsps & (1U << nsp)))
			return 0;
		if (nconf.compliance)
			return sio_compliance_event(s, p);
		return sio_app_event(s, p);
	case SIO_ACK:
	case SIO_BINARY_ACK:
		return 0;
	default:
		return -1;
	}
}

/* Emit a resync event to S once: events after its cursor were pruned. */
int
sio_resync(struct sio *s, int64_t oldest)
{
	char	buf[64];

	if (s->resynced)
		return 0;
	s->resynced = 1;
	metrics.resyncs++;
	snprintf(buf, sizeof(buf), "{\"oldestEventId\":%lld}",
	    (long long)oldest);
	return sio_emit(s, "resync", buf);
}

struct room_member *
sio_member(struct sio *s)
{
	return s->member;
}
