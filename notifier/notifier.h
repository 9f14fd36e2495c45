/*
 * notifier.h: goip-notifier, the real-time half of goip-dashboard.
 *
 * One TCP connection is a struct conn (server.c: accept, limits, linger,
 * free); it speaks HTTP/1.1 (http.c) until it is upgraded to a WebSocket
 * (ws.c). An Engine.IO session (eio.c) outlives the HTTP requests of its
 * long-polling transport (eio_poll.c) and is carried by at most one
 * WebSocket (eio_ws.c); Socket.IO (sio.c: codec, namespaces, attachments)
 * runs on top of it and hands each event, parsed once, to a table of
 * handlers: compliance.c's in compliance mode, else the application's
 * (app.c), which also owns a client's resume (lastEventId, pid/offset
 * recovery) and starts its replays. Rooms (room.c) hold the Socket.IO
 * clients that receive the events read by ingest.c through source.c:
 * from the store's event log on a primary, from the relay's Redis stream
 * on an edge (edge.c, role = edge, no database); events.c answers the
 * plain JSON long-poll on the same events. A primary with a relay
 * publishes its log to that stream (relay.c; redis.c holds the
 * connections). sweep.c marks silent devices offline (primary only);
 * metrics.c counts.
 */
#ifndef NOTIFIER_H
#define NOTIFIER_H

#include <sys/types.h>
#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

struct bufferevent;
struct event_base;
struct evbuffer;
struct config;
struct store;
struct conn;
struct eio;
struct sio;
struct app;
struct json_object;
struct http_req;
struct event;
struct ws;
struct room_member;
struct events_wait;
struct redisAsyncContext;

/* Built-in limits. */
#define NOTIFIER_URL_MAX	2048	/* bytes of a request target */
#define NOTIFIER_HEADERS_MAX	16384	/* bytes of all request headers */
#define NOTIFIER_OUT_MAX	(4 * 1024 * 1024) /* queued output per client */
#define NOTIFIER_OUT_PKTS	16384	/* packets queued per polling session */
#define NOTIFIER_IDLE_MS	60000	/* idle keep-alive HTTP connection */
#define NOTIFIER_SID_LEN	20	/* characters of a session id */
#define NOTIFIER_ROOMS_MAX	64	/* device rooms one client may name */
#define NOTIFIER_REPLAY_MAX	100000	/* events replayed for one join */
#define NOTIFIER_REPLAY_OUT	(NOTIFIER_OUT_MAX / 2) /* output a replay may fill */
#define NOTIFIER_REPLAY_READ	NOTIFIER_REPLAY_MAX /* rows one replay may read */
#define NOTIFIER_JOIN_BURST	64	/* room joins of a session at once */
#define NOTIFIER_JOIN_RATE	8	/* ... and then per second */
#define NOTIFIER_BUSY_MS	20	/* wait for the store's lock, at most */
#define NOTIFIER_AHEAD_MS	5000	/* wait for a client's later id, at most */

/* A string literal and its length, for (const char *, size_t) pairs. */
#ifndef LIT
#define LIT(s)	(s), (sizeof(s) - 1)
#endif

enum conn_kind {
	CONN_MAIN,		/* Engine.IO, Socket.IO, events long-poll */
	CONN_METRICS		/* Prometheus text */
};

/* What a connection speaks now; indexes server.c's table of protocols. */
enum conn_state {
	CONN_HTTP,		/* reading or answering HTTP requests */
	CONN_WS,		/* upgraded to a WebSocket */
	CONN_CLOSING,		/* flushing its output, then freed */
	CONN_STATE__MAX
};

/*
 * One accepted TCP connection, owned by server.c. It is freed through
 * server_close() only, which defers the free while one of its callbacks is
 * running. A layer that points at it (eio, events) holds it with a gone
 * hook (server_attach()), called once by server_detach() when the
 * connection goes first.
 */
struct conn {
	TAILQ_ENTRY(conn)	 entry;
	struct bufferevent	*bev;
	enum conn_kind		 kind;
	enum conn_state		 state;
	int			 inuse;		/* callbacks on the stack */
	int			 dead;		/* free when inuse drops */
	int			 busy;		/* a request awaits its answer */
	int			 keepalive;
	int			 reqdone;
	int			 toolarge;	/* 0, 413 or 431 */
	int			 method;	/* enum http_method */
	int			 upgrade;
	struct http_req		*req;		/* HTTP state, freed on upgrade */
	struct evbuffer		*body;
	struct eio		*eio;		/* pending poll or websocket */
	struct events_wait	*ewait;		/* parked long-poll, events.c */
	struct ws		*ws;
	void			(*gone)(struct conn *); /* its holder's */
	char			 addr[64];	/* the peer's */
	int			 local;		/* came in on the Unix socket */
	char			 client[64];	/* X-Forwarded-For via a local proxy */
};

/*
 * The error answers of the Engine.IO protocol, by their code (engine.io's
 * Server.errors); http_reply_error() takes one and finds its message in
 * http.c's table.
 */
enum eio_error {
	EIO_ERR_TRANSPORT,		/* 0: Transport unknown */
	EIO_ERR_SESSION,		/* 1: Session ID unknown */
	EIO_ERR_METHOD,			/* 2: Bad handshake method */
	EIO_ERR_REQUEST,		/* 3: Bad request */
	EIO_ERR_FORBIDDEN,		/* 4: Forbidden */
	EIO_ERR_VERSION,		/* 5: Unsupported protocol version */
	EIO_ERR__MAX
};

/* What an Engine.IO session carries. */
enum eio_handler {
	EIO_ECHO,		/* compliance: echo every message */
	EIO_SIO			/* Socket.IO */
};

/* Run-time settings, from goip.conf or from the compliance defaults. */
struct nconf {
	int			 compliance;
	struct config		*cfg;		/* NULL in compliance mode */
	struct store		*st;		/* NULL in compliance mode */
	const char		*listen;	/* host:port or /path */
	int			 listen_unix;	/* listen is a Unix socket */
	gid_t			 listen_gid;	/* group of our Unix sockets */
	uid_t			 listen_uid;	/* their owner; 0: ours */
	const char		*socket_path;	/* with trailing / */
	const char		*events_path;
	int64_t			 ping_interval;	/* ms */
	int64_t			 ping_timeout;	/* ms */
	int64_t			 connect_timeout; /* ms */
	int64_t			 max_payload;
	int64_t			 max_connections;
	int64_t			 max_per_address;
	int			 edge;		/* role = edge: no database */
	int			 relay;		/* relay set: publish (primary) */
};

/*
 * Where events are read (source.c): the store's log, or the relay's stream
 * on an edge (edge.c). The functions are source_read() and the others.
 */
struct source {
	const char	*name;
	int		 indexed;	/* pages may name a device */
	enum store_rc	(*read)(const struct event_page *, struct event *,
			    int *, char **);
	enum store_rc	(*first)(int64_t *, char **);
	enum store_rc	(*last)(int64_t *, char **);
	enum store_rc	(*stats)(char **, char **);
	void		(*wait)(void);	/* NULL: rung from outside */
};

/*
 * A serialized Engine.IO packet ("4..." text or binary bytes), shared by
 * every receiver; the last reference frees it. The header of its
 * WebSocket frame (server frames are unmasked, so it is the same for every
 * receiver) is written at the end of ws, right before data: the wslen + len
 * bytes at data - wslen are the whole frame on the wire. The long-polling
 * transport uses data and len only.
 */
struct frame {
	int		 refcnt;
	int		 binary;
	int		 batch;		/* index in ws.c's batch, or -1 */
	int64_t		 event_id;	/* event log id, 0 when none */
	size_t		 len;
	size_t		 wslen;		/* bytes of WebSocket header */
	unsigned char	 ws[10];	/* header in the last wslen bytes */
	char		 data[];
};

/*
 * The replay of one room to one client (room.c): the dashboard's, or a
 * device room's. It runs in steps on later turns of the event loop
 * (ingest.c); while it runs, live fan-out skips the client for that room
 * and the replay reads on up to the ingest cursor, so the client sees each
 * event once and in order. A left room keeps its position: joined again,
 * it replays from there, never from the start.
 */
struct room_replay {
	TAILQ_ENTRY(room_replay) entry;		/* room.c's queue */
	struct room_member	*m;
	struct sio		*s;
	const char		*device;	/* NULL: the dashboard */
	int			 active;	/* queued or being stepped */
	int			 queued;
	int			 started;
	int64_t			 at;		/* last id read */
	int64_t			 read;		/* rows read */
	int64_t			 sent;		/* events sent */
	int64_t			 ahead_since;	/* ms: waits for the cursor */
};

/* A parsed Socket.IO packet; pointers point into the text parsed. */
struct sio_packet {
	int		 type;		/* SIO_CONNECT ... SIO_BINARY_ACK */
	int		 attachments;
	const char	*nsp;
	size_t		 nsplen;
	int64_t		 id;		/* -1: no ack id */
	const char	*data;		/* JSON text, or NULL */
	size_t		 datalen;
};

enum sio_type {
	SIO_CONNECT,
	SIO_DISCONNECT,
	SIO_EVENT,
	SIO_ACK,
	SIO_CONNECT_ERROR,
	SIO_BINARY_EVENT,
	SIO_BINARY_ACK,
	SIO_TYPE__MAX
};

/* One asynchronous connection to the relay (redis.c). */
struct redis_conn {
	const char		*name;		/* for log lines */
	struct relay_url	 url;
	struct redisAsyncContext *ac;		/* NULL while down */
	struct event		*retry;
	int			 up;		/* connected */
	int			 down;		/* an outage was logged */
	int			 stopped;
	int64_t			 delay;		/* ms before the next try */
	void			(*on_up)(struct redis_conn *);
	void			(*on_down)(struct redis_conn *);
};

/* Counters exported by metrics.c. */
struct metrics {
	uint64_t	 conns_total;
	uint64_t	 conns_open;
	uint64_t	 sessions_polling;
	uint64_t	 sessions_websocket;
	uint64_t	 sio_clients;
	uint64_t	 events_in;
	uint64_t	 frames_out;
	uint64_t	 resumes;
	uint64_t	 resyncs;
	uint64_t	 slow_disconnects;
	uint64_t	 queue_overflows;
	uint64_t	 rejected;
	uint64_t	 joins_limited;
	uint64_t	 relay_up;		/* 1: connected to the relay */
	uint64_t	 relay_cursor;		/* acknowledged, or read (edge) */
	uint64_t	 relay_published;	/* XADDs acknowledged */
	uint64_t	 relay_errors;
	uint64_t	 ingest_latency_ms_sum;
	uint64_t	 ingest_latency_count;
	uint64_t	 ingest_latency_le[6];	/* 5, 10, 50, 100, 500, +Inf ms */
};

extern struct event_base	*notifier_base;
extern struct nconf		 nconf;
extern struct metrics		 metrics;

/* main.c */
void		 main_random_id(char *, size_t);
int64_t		 main_now_ms(void);

/* frame.c */
struct frame	*frame_new(int, const void *, size_t);
struct frame	*frame_printf(const char *, ...)
		    __attribute__((__format__(printf, 1, 2)));
size_t		 frame_alloc_cost(size_t);
size_t		 frame_cost(const struct frame *);
struct frame	*frame_ref(struct frame *);
void		 frame_unref(struct frame *);
void		 frame_unref_cb(const void *, size_t, void *);
int		 frame_base64(const void *, size_t, struct evbuffer *);
int		 frame_unbase64(const char *, size_t, char **, size_t *);

/* sock.c */
int		 sock_group(const char *, gid_t *, char **);
int		 sock_unix(const char *, int, uid_t, gid_t, char **);

/* server.c */
int		 server_addr_local(const char *);
int		 server_listen(const char *, enum conn_kind);
void		 server_shutdown(void);
struct conn	*server_conn_new(int, enum conn_kind, const char *);
void		 server_close_all(void);
void		 server_attach(struct conn *, void (*)(struct conn *));
void		 server_release(struct conn *);
void		 server_detach(struct conn *);
void		 server_linger(struct conn *);
void		 server_close(struct conn *);

/* http.c */
int		 http_start(struct conn *);
void		 http_end(struct conn *);
void		 http_read(struct conn *);
int		 http_reply(struct conn *, int, const char *, const char *,
		    size_t, const char *);
int		 http_reply_buffer(struct conn *, int, const char *,
		    struct evbuffer *, const char *);
int		 http_reply_error(struct conn *, int, enum eio_error);
const char	*http_addr(struct conn *);
int		 http_query_get(const char *, const char *, char *, size_t);

/* ws.c */
int		 ws_accept_key(const char *, char *, size_t);
size_t		 ws_frame_header(unsigned char *, int, size_t);
int		 ws_upgrade(struct conn *, const char *, const char *);
void		 ws_read(struct conn *);
int		 ws_send(struct conn *, struct frame *);
void		 ws_batch_add(struct frame *);
void		 ws_flush_all(void);
void		 ws_written(struct conn *);
size_t		 ws_queued(void);
size_t		 ws_conn_queued(struct conn *);
void		 ws_close(struct conn *, int);
void		 ws_free(struct conn *);
void		 ws_shutdown(void);

/* eio.c */
int		 eio_send(struct eio *, struct frame *);
size_t		 eio_queued(struct eio *);
int		 eio_send_text(struct eio *, const char *, size_t);
void		 eio_close(struct eio *, const char *);
void		 eio_close_all(void);
const char	*eio_sid(struct eio *);
const char	*eio_addr(struct eio *);
int		 eio_decode_payload(const char *, size_t,
		    int (*)(void *, int, const char *, size_t), void *);
int		 eio_handshake_json(char *, size_t, const char *, int);

/* eio_poll.c */
void		 eio_poll_request(struct conn *, int, const char *,
		    const char *, size_t, enum eio_handler);

/* eio_ws.c */
void		 eio_ws_request(struct conn *, const char *, const char *,
		    const char *, enum eio_handler);
int		 eio_ws_message(struct eio *, struct conn *, int,
		    const char *, size_t);

/* sio.c */
int		 sio_parse(const char *, size_t, struct sio_packet *);
int		 sio_data(const struct sio_packet *, struct json_object **);
int		 sio_valid_data(const struct sio_packet *);
int		 sio_event_name(const char *, size_t, char *, size_t,
		    const char **, size_t *);
struct sio	*sio_new(struct eio *);
void		 sio_free(struct sio *);
void		 sio_header(struct sio_packet *, int, const char *, size_t,
		    int64_t);
int		 sio_send(struct sio *, const struct sio_packet *, const char *,
		    ...) __attribute__((__format__(printf, 3, 4)));
int		 sio_emit_frame(struct sio *, struct frame *);
size_t		 sio_queued(struct sio *);
int		 sio_message(struct sio *, int, const char *, size_t);
int		 sio_send_attachments(struct sio *);
int		 sio_resync(struct sio *, int64_t);
struct room_member *sio_member(struct sio *);

/* compliance.c */
int		 compliance_connect(struct sio *, const struct sio_packet *,
		    const char *);
int		 compliance_event(struct sio *, const struct sio_packet *);

/* app.c */
struct app	*app_new(struct sio *);
void		 app_free(struct app *);
void		 app_disconnect(struct app *);
struct room_member *app_member(struct app *);
const char	*app_connect(struct app *, struct json_object *);
int		 app_event(struct app *, const struct sio_packet *,
		    struct json_object *);

/* room.c */
struct room_member *room_member_new(struct sio *);
void		 room_member_free(struct room_member *);
int		 room_in_dashboard(struct room_member *);
int		 room_in_device(struct room_member *, const char *);
int		 room_devices(struct room_member *, char [][GOIP_DEVICE_ID_MAX + 1],
		    int);
int		 room_replay_owed(struct room_replay *, const char *,
		    int64_t);
int		 room_join_dashboard(struct room_member *, int64_t);
size_t		 room_dashboard_count(void);
int		 room_join_device(struct room_member *, const char *, int64_t);
void		 room_leave_device(struct room_member *, const char *);
void		 room_fanout(const char *, struct frame *);
struct room_replay *room_replay_take(void);
void		 room_replay_requeue(struct room_replay *);
void		 room_replay_done(struct room_replay *);
int		 room_replay_pending(void);

/* source.c */
void		 source_init(int);
const char	*source_name(void);
enum store_rc	 source_read(const struct event_page *, struct event *, int *,
		    char **);
enum store_rc	 source_first(int64_t *, char **);
enum store_rc	 source_last(int64_t *, char **);
int		 source_indexed(void);
enum store_rc	 source_stats(char **, char **);
void		 source_wait(void);

/* redis.c */
int		 redis_start(struct redis_conn *, const char *, const char *);
void		 redis_drop(struct redis_conn *, int64_t, const char *);
void		 redis_stop(struct redis_conn *);

/* relay.c */
int		 relay_entry_id(const char *, int64_t *);
int		 relay_init(const struct config *);
void		 relay_shutdown(void);
void		 relay_events(const struct event *, int, int64_t);
void		 relay_stats(const char *);

/* edge.c */
extern const struct source edge_source;
int		 edge_init(const struct config *);
void		 edge_shutdown(void);

/* ingest.c */
int		 ingest_payload(struct evbuffer *, int64_t, const char *,
		    size_t);
int		 ingest_init(const char *);
void		 ingest_shutdown(void);
void		 ingest_poll(void);
int64_t		 ingest_cursor(void);
struct frame	*ingest_event_frame(int64_t, const char *, const char *,
		    size_t);
void		 ingest_replay_wake(void);
void		 ingest_stats_now(struct sio *);
void		 ingest_stats_kick(void);

/* events.c */
void		 events_request(struct conn *, const char *);
void		 events_gone(struct conn *);
void		 events_wake(void);
void		 events_shutdown(void);

/* sweep.c */
void		 sweep_init(void);
void		 sweep_shutdown(void);

/* metrics.c */
int		 metrics_listen(const char *);
void		 metrics_request(struct conn *, const char *);
void		 metrics_latency(int64_t);

#endif /* NOTIFIER_H */
