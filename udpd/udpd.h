/*
 * udpd.h: goip-udpd, the GoIP UDP "SMS server" protocol on the store.
 *
 * main.c starts it; udp.c owns the socket, the allow list and the batch of
 * replies; packet.c parses datagrams (pure functions); peer.c keeps each
 * line's latest address; inbound.c handles what devices send by type;
 * outbound.c runs the SMS and USSD sessions the server starts.
 */
#ifndef UDPD_H
#define UDPD_H

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/queue.h>

#include <stdint.h>

struct event_base;
struct config;
struct store;

/* Bytes of the largest datagram read; a longer one is dropped. */
#define PACKET_MAX		4096
#define PACKET_MSG_MAX		3000	/* bytes of an SMS text (MSG len) */
#define PACKET_VALUE_MAX	128	/* bytes of any other field */
#define PACKET_TYPE_MAX		16	/* bytes of a packet type */
#define PACKET_WORDS_MAX	4	/* words after the type */

/* The keyed fields of "TYPE:n;key:value;..." packets udpd reads. */
enum packet_field {
	PF_ID,
	PF_PASSWORD,		/* "pass" in req:, "password" elsewhere */
	PF_NUM,
	PF_SIGNAL,
	PF_GSM_STATUS,
	PF_IMEI,
	PF_IMSI,
	PF_ICCID,
	PF_SRCNUM,
	PF_MSG,			/* runs to the end of the packet */
	PF_SMS_NO,
	PF_STATE,		/* DELIVER state, STATE of old firmware */
	PF_CALL_STATE,		/* STATE: gsm_remain_state */
	PF__MAX
};

enum packet_kind {
	PACKET_FIELDS,		/* TYPE:n;key:value;... (device reports) */
	PACKET_WORDS		/* TYPE word word ... (session answers) */
};

/*
 * A parsed datagram. Every string points into the buffer packet_parse()
 * was given and is NUL-terminated there; absent fields are NULL.
 */
struct packet {
	enum packet_kind kind;
	char		 type[PACKET_TYPE_MAX + 1];
	int64_t		 n;		/* FIELDS: the number after TYPE: */
	const char	*f[PF__MAX];
	size_t		 msglen;	/* bytes of f[PF_MSG] */
	int		 nwords;	/* WORDS: words after the type */
	const char	*w[PACKET_WORDS_MAX];
	const char	*rest;		/* WORDS: all after the type, uncut;
					   word I starts at rest + (w[I] - w[0]) */
	size_t		 restlen;
	char		 text[PACKET_MAX + 1];	/* holds rest */
};

/* One line's latest source and what udpd knows of it (peer.c). */
struct peer {
	int64_t			 line;		/* goip_lines row id */
	int64_t			 device;	/* device row id */
	int			 slot;
	char			 line_id[64 + 1];
	char			 password[64 + 1];
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
	char			 addrtext[64];	/* "HOST:PORT" */
	int			 sessions;	/* SMS sessions open */
};

/* The program's state. */
struct udpd {
	struct event_base	*base;
	struct config		*cfg;
	struct store		*st;
	int64_t			 evid;		/* last event appended */
};
extern struct udpd	 udpd;

/* packet.c */
int		 packet_parse(char *, size_t, struct packet *, const char **);
int		 packet_token_ok(const char *);
int		 packet_int(const char *, int64_t, int64_t, int64_t *);
size_t		 packet_ussd_trim(const char *, size_t);

/* udp.c */
int		 udp_listen(const char *, const char *, char **);
int		 udp_local(char *, size_t);
void		 udp_close(void);
void		 udp_reply(const struct sockaddr *, socklen_t, int,
		    const char *, size_t);
void		 udp_replyf(const struct sockaddr *, socklen_t, int,
		    const char *, ...)
		    __attribute__((__format__(printf, 4, 5)));
void		 udp_send(const struct peer *, const char *, size_t);
void		 udp_bad(const struct sockaddr *, const char *);
int		 udp_addr_format(const struct sockaddr *, socklen_t, char *,
		    size_t);
int		 udp_allowed(const struct sockaddr *);
int		 udp_allow_parse(const char *, char **);

/* peer.c */
struct peer	*peer_get(int64_t);
struct peer	*peer_update(const struct line_info *, const struct sockaddr *,
		    socklen_t, const char *);
struct peer	*peer_slot(int64_t, int);
struct peer	*peer_by_addr(const struct sockaddr *, socklen_t);
int		 peer_same_addr(const struct peer *, const struct sockaddr *,
		    socklen_t);
void		 peer_free_all(void);

/* inbound.c */
void		 inbound_packet(struct packet *, const struct sockaddr *,
		    socklen_t);

/* outbound.c */
void		 outbound_init(void);
void		 outbound_shutdown(void);
void		 outbound_answer(const struct packet *,
		    const struct sockaddr *, socklen_t);

#endif /* UDPD_H */
