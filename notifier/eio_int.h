/*
 * eio_int.h: what the Engine.IO files share and nobody else needs: the
 * session (eio.c: ids, pings, packets, the send path), its long-polling
 * transport (eio_poll.c) and its WebSocket transport (eio_ws.c).
 */
#ifndef EIO_INT_H
#define EIO_INT_H

#include <sys/tree.h>

enum eio_transport {
	EIO_POLLING,
	EIO_WEBSOCKET
};

/* A packet queued for the next poll of a polling session. */
struct eio_pkt {
	TAILQ_ENTRY(eio_pkt)	 entry;
	struct frame		*f;
};
TAILQ_HEAD(eio_pktq, eio_pkt);

struct eio_addr;

struct eio {
	RB_ENTRY(eio)		 entry;
	TAILQ_ENTRY(eio)	 fentry;	/* eio_poll.c's flush list */
	int			 flushing;
	char			 sid[NOTIFIER_SID_LEN + 1];
	enum eio_handler	 handler;
	enum eio_transport	 transport;
	struct conn		*poll;		/* pending GET */
	struct conn		*ws;		/* transport or probe */
	int			 upgrading;	/* probe answered */
	int			 closed;
	int			 inuse;
	struct eio_pktq		 queue;
	size_t			 queued;	/* eio_poll_cost() of queue */
	size_t			 npkts;		/* packets in queue */
	struct frame		*pong;		/* last sent, if a pong */
	struct eio_addr		*ea;
	TAILQ_ENTRY(eio)	 pentry;	/* eio_pingq or eio_pongq */
	int			 awaiting_pong;	/* on eio_pongq, else pingq */
	int64_t			 ping_due;	/* when the ping was scheduled */
	int64_t			 deadline;	/* ping sent + pingTimeout */
	struct sio		*sio;
	char			 addr[64];
};

/* eio.c */
void		 eio_hold(struct eio *);
void		 eio_release(struct eio *);
int		 eio_expired(struct eio *);
struct eio	*eio_new(enum eio_handler, enum eio_transport, const char *);
int		 eio_open(struct eio *);
struct eio	*eio_find(const char *);
int		 eio_query(struct conn *, const char *, const char *, char *,
		    size_t);
int		 eio_packet(struct eio *, int, const char *, size_t);
void		 eio_end(struct eio *, int);

/* eio_poll.c */
void		 eio_poll_answer(struct eio *, const char *);
int		 eio_poll_queue(struct eio *, struct frame *);
struct frame	*eio_poll_shift(struct eio *);
void		 eio_poll_unflush(struct eio *);
void		 eio_poll_end(struct eio *, int);

/* eio_ws.c */
void		 eio_ws_end(struct eio *);

#endif /* EIO_INT_H */
