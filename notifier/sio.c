/*
 * sio.c: Socket.IO protocol v5 on an Engine.IO session: the packet codec
 * (type, attachments, namespace, ack id, JSON data), binary packets
 * reassembled from their attachments, namespaces and the connect timeout,
 * and sending. Each packet's JSON is parsed once, here; its events go to
 * the compliance handlers (compliance.c) or to the application's
 * (app.c), which owns a client's rooms and its resume.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "goip.h"
#include "notifier.h"

#define SIO_ATTACH_MAX	64	/* attachments of one binary packet */
#define SIO_NSP_MAX	2	/* namespaces of compliance mode */

struct sio {
	struct eio		*e;
	unsigned int		 nsps;		/* bit per connected namespace */
	struct event		*timer;		/* connect timeout */
	/* A binary packet waiting for its attachments. */
	char			*pending;
	size_t			 pendinglen;
	struct json_object	*pendingj;	/* its data, parsed */
	int			 need;
	int			 have;
	struct frame		**att;		/* need entries */
	struct app		*app;		/* NULL in compliance mode */
	int			 resynced;
};

static const char *const sio_nsp_names[SIO_NSP_MAX] = { "/", "/custom" };

static void	sio_timeout_cb(evutil_socket_t, short, void *);
static int	sio_dispatch(struct sio *, const struct sio_packet *,
		    struct json_object *);

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
 * starting with a string; ACK: an array. Returns 1 and sets *JP to the
 * parsed data (NULL when there is none; the caller puts it), or returns 0
 * with *JP NULL. This is the one place a packet's JSON is parsed.
 */
int
sio_data(const struct sio_packet *p, struct json_object **jp)
{
	struct json_object	*j;
	int			 ok = 0;

	*jp = NULL;
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
	if (ok)
		*jp = j;
	else
		json_object_put(j);
	return ok;
}

/* Is the data of P what its type requires? sio_data() without the JSON. */
int
sio_valid_data(const struct sio_packet *p)
{
	struct json_object	*j;
	int			 ok;

	ok = sio_data(p, &j);
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

/*
 * A new Socket.IO session on Engine.IO session E, with its connect timeout
 * running; in application mode it carries an app.c client. Returns NULL
 * when out of memory.
 */
struct sio *
sio_new(struct eio *e)
{
	struct sio	*s;
	struct timeval	 tv;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->e = e;
	if (!nconf.compliance && (s->app = app_new(s)) == NULL) {
		free(s);
		return NULL;
	}
	if ((s->timer = evtimer_new(notifier_base, sio_timeout_cb, s)) ==
	    NULL) {
		app_free(s->app);
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
	json_object_put(s->pendingj);
	s->pendingj = NULL;
	s->need = s->have = 0;
}

void
sio_free(struct sio *s)
{
	if (s == NULL)
		return;
	app_free(s->app);
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
 * Fill H with the header of a packet to send: TYPE, namespace NSP of
 * NSPLEN bytes, ack id ID (-1: none), no attachments and no data.
 */
void
sio_header(struct sio_packet *h, int type, const char *nsp, size_t nsplen,
    int64_t id)
{
	memset(h, 0, sizeof(*h));
	h->type = type;
	h->nsp = nsp;
	h->nsplen = nsplen;
	h->id = id;
}

/*
 * Send to S a packet with the header of H (type, attachments, namespace,
 * ack id; its data is ignored) and the data formatted from FMT as by
 * printf. Returns 0, or -1 when out of memory or the session is gone.
 */
int
sio_send(struct sio *s, const struct sio_packet *h, const char *fmt, ...)
{
	struct frame	*f;
	va_list		 ap;
	char		 att[16] = "", sid[32] = "", *data;
	int		 root, rc;

	va_start(ap, fmt);
	rc = vasprintf(&data, fmt, ap);
	va_end(ap);
	if (rc == -1)
		return -1;
	if (h->attachments > 0)
		snprintf(att, sizeof(att), "%d-", h->attachments);
	if (h->id >= 0)
		snprintf(sid, sizeof(sid), "%lld", (long long)h->id);
	root = h->nsplen == 1 && h->nsp[0] == '/';
	f = frame_printf("4%d%s%.*s%s%s%s", h->type, att,
	    root ? 0 : (int)h->nsplen, h->nsp, root ? "" : ",", sid, data);
	free(data);
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
	struct json_object	*j;
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
		rc = sio_dispatch(s, &pk, s->pendingj);
		sio_drop_pending(s);
		return rc;
	}
	if (s->need > 0)
		return -1;
	if (sio_parse(p, len, &pk) == -1 || !sio_data(&pk, &j))
		return -1;
	if (pk.attachments > 0) {
		if ((s->pending = malloc(len)) == NULL) {
			json_object_put(j);
			return -1;
		}
		if ((s->att = calloc(pk.attachments, sizeof(*s->att))) ==
		    NULL) {
			free(s->pending);
			s->pending = NULL;
			json_object_put(j);
			return -1;
		}
		memcpy(s->pending, p, len);
		s->pendinglen = len;
		s->pendingj = j;
		s->need = pk.attachments;
		s->have = 0;
		return 0;
	}
	rc = sio_dispatch(s, &pk, j);
	json_object_put(j);
	return rc;
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

/* Resend the attachments of the binary packet being handled. */
int
sio_send_attachments(struct sio *s)
{
	int	i;

	for (i = 0; i < s->have; i++) {
		if (eio_send(s->e, s->att[i]) == -1)
			return -1;
	}
	return 0;
}

/*
 * A CONNECT to namespace NSP (an index of sio_nsp_names) with the parsed
 * auth object J (or NULL): answered by compliance.c, or by app.c's client
 * with the private id it may resume under.
 */
static int
sio_connect(struct sio *s, const struct sio_packet *p, int nsp,
    struct json_object *j)
{
	struct sio_packet	 h;
	char			 sid[NOTIFIER_SID_LEN + 1];
	const char		*pid;

	if (s->nsps & (1U << nsp))
		return 0;
	s->nsps |= 1U << nsp;
	if (s->timer != NULL) {
		event_free(s->timer);
		s->timer = NULL;
	}
	main_random_id(sid, sizeof(sid));
	if (nconf.compliance)
		return compliance_connect(s, p, sid);
	if ((pid = app_connect(s->app, j)) == NULL)
		return -1;
	sio_header(&h, SIO_CONNECT, p->nsp, p->nsplen, -1);
	return sio_send(s, &h, "{\"sid\":\"%s\",\"pid\":\"%s\"}", sid,
	    pid);
}

/* Handle one complete packet P whose data parsed into J (or NULL). */
static int
sio_dispatch(struct sio *s, const struct sio_packet *p, struct json_object *j)
{
	struct sio_packet	 h;
	int			 nsp;

	nsp = sio_nsp_index(p);
	switch (p->type) {
	case SIO_CONNECT:
		if (nsp == -1) {
			sio_header(&h, SIO_CONNECT_ERROR, p->nsp, p->nsplen,
			    -1);
			return sio_send(s, &h,
			    "{\"message\":\"Invalid namespace\"}");
		}
		return sio_connect(s, p, nsp, j);
	case SIO_DISCONNECT:
		if (nsp != -1)
			s->nsps &= ~(1U << nsp);
		if (nsp == 0 && s->app != NULL)
			app_disconnect(s->app);
		return 0;
	case SIO_EVENT:
	case SIO_BINARY_EVENT:
		if (nsp == -1 || !(s->nsps & (1U << nsp)))
			return 0;
		if (nconf.compliance)
			return compliance_event(s, p);
		return app_event(s->app, p, j);
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

/* The room member of S's application client, or NULL. */
struct room_member *
sio_member(struct sio *s)
{
	return s->app != NULL ? app_member(s->app) : NULL;
}
