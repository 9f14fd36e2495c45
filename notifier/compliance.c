/*
 * compliance.c: the handlers of compliance mode (goip-notifier -C), which
 * serve the official Socket.IO protocol test suite: a CONNECT is answered
 * with its sid and an "auth" event echoing the auth object; "message" is
 * echoed back as "message-back" and "message-with-ack" acknowledged with
 * its own arguments, attachments included. None of this runs in
 * application mode.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "goip.h"
#include "notifier.h"

#define COMPLIANCE_NAME_MAX	64	/* bytes of an event name, with NUL */

/*
 * An event of the test suite. Its handler gets the packet and the text of
 * the event array after the name (the arguments without the leading comma,
 * then the closing bracket, as sio_event_name() splits it), so that what it
 * echoes is the client's text byte for byte.
 */
struct compliance_event {
	const char	*name;
	int		(*handler)(struct sio *, const struct sio_packet *,
			    const char *, size_t);
};

static int	compliance_message(struct sio *, const struct sio_packet *,
		    const char *, size_t);
static int	compliance_message_ack(struct sio *, const struct sio_packet *,
		    const char *, size_t);

static const struct compliance_event compliance_events[] = {
	{ "message", compliance_message },
	{ "message-with-ack", compliance_message_ack },
};
#define COMPLIANCE_NEVENTS \
	(sizeof(compliance_events) / sizeof(compliance_events[0]))

/*
 * Answer a CONNECT P to a namespace with session id SID, then emit the
 * "auth" event carrying the CONNECT's auth object ({} when none) as sent.
 * Returns 0, or -1 when the session is gone.
 */
int
compliance_connect(struct sio *s, const struct sio_packet *p, const char *sid)
{
	struct sio_packet	 h = *p;

	h.type = SIO_CONNECT;
	h.attachments = 0;
	h.id = -1;
	if (sio_send(s, &h, "{\"sid\":\"%s\"}", sid) == -1)
		return -1;
	h.type = SIO_EVENT;
	if (p->data != NULL)
		return sio_send(s, &h, "[\"auth\",%.*s]", (int)p->datalen,
		    p->data);
	return sio_send(s, &h, "[\"auth\",{}]");
}

/* "message": echo the arguments back as "message-back". */
static int
compliance_message(struct sio *s, const struct sio_packet *p,
    const char *rest, size_t restlen)
{
	struct sio_packet	 h = *p;

	h.type = p->type == SIO_BINARY_EVENT ? SIO_BINARY_EVENT : SIO_EVENT;
	h.id = -1;
	if (sio_send(s, &h, "[\"message-back\"%s%.*s", restlen > 1 ? "," : "",
	    (int)restlen, rest) == -1)
		return -1;
	return sio_send_attachments(s);
}

/* "message-with-ack": acknowledge with the event's own arguments. */
static int
compliance_message_ack(struct sio *s, const struct sio_packet *p,
    const char *rest, size_t restlen)
{
	struct sio_packet	 h = *p;

	if (p->id < 0)
		return 0;
	h.type = p->type == SIO_BINARY_EVENT ? SIO_BINARY_ACK : SIO_ACK;
	if (sio_send(s, &h, "[%.*s", (int)restlen, rest) == -1)
		return -1;
	return sio_send_attachments(s);
}

/*
 * An EVENT or BINARY_EVENT P of a connected namespace, its data already
 * validated: run the handler of its name, if any. Returns 0, or -1 when
 * the session is gone.
 */
int
compliance_event(struct sio *s, const struct sio_packet *p)
{
	char		 name[COMPLIANCE_NAME_MAX];
	const char	*rest;
	size_t		 restlen, i;

	if (sio_event_name(p->data, p->datalen, name, sizeof(name), &rest,
	    &restlen) == -1)
		return 0;
	for (i = 0; i < COMPLIANCE_NEVENTS; i++) {
		if (strcmp(compliance_events[i].name, name) == 0)
			return compliance_events[i].handler(s, p, rest,
			    restlen);
	}
	return 0;
}
