/*
 * webhookd.h: goip-webhookd, the daemon that delivers the event log to the
 * operator's HTTP endpoints (issue 14; goip-webhookd(8), goip-webhook(7)).
 *
 * main.c starts it and owns the loop; endpoint.c keeps the endpoints, reads
 * the log for each from its cursor and decides what is sent when; deliver.c
 * runs the requests over libcurl's multi interface on the loop; sign.c
 * builds the body and its signature; metrics.c answers Prometheus.
 */
#ifndef WEBHOOKD_H
#define WEBHOOKD_H

#include <sys/queue.h>

#define WEBHOOKD_POLL_MS	100	/* the log's last id is read this often */
#define WEBHOOKD_RELOAD_MS	500	/* the endpoints table is read this often */
#define WEBHOOKD_BATCH		32	/* events read ahead per endpoint */
#define WEBHOOKD_BUSY_MS	1000	/* busy_timeout of the loop's store */
#define WEBHOOKD_ANSWER_MAX	16384	/* answer bytes read, then dropped */
#define SIGN_HEX_LEN		64	/* hex digits of an HMAC-SHA256 */

struct delivery;

/* One endpoint, as loaded from the webhooks table and run by endpoint.c. */
struct endpoint {
	TAILQ_ENTRY(endpoint)	 entry;
	int64_t			 id;
	char			*url;
	char			*secret;
	char			*device;	/* NULL: every device */
	unsigned int		 mask;		/* 1 << enum event_type */
	int			 enabled;
	int			 gone;		/* removed from the table */
	int64_t			 cursor;	/* last event delivered or skipped */
	int64_t			 saved;		/* cursor as persisted */
	int64_t			 failing_since;	/* unix ms, 0: healthy */
	int			 attempts;	/* failures of the head event */
	struct event		*timer;		/* back-off, or a kick */
	struct event		 queue[WEBHOOKD_BATCH];	/* read ahead */
	int			 qhead, qlen;
	struct delivery		*inflight;
	int64_t			 ping_seq;	/* pings asked for */
	int64_t			 ping_done;	/* pings answered */
	int64_t			 delivered;	/* counters, as persisted */
	int64_t			 failed;
	int64_t			 retries;
	int			 last_status;
};
TAILQ_HEAD(endpoints, endpoint);

/* What one finished request came to (deliver.c to endpoint.c). */
struct outcome {
	int64_t			 event;		/* event id, 0: a ping */
	int64_t			 ping;		/* ping seq, 0: an event */
	int			 status;	/* HTTP status, 0: no answer */
	int			 ok;		/* a 2xx */
	char			 error[256];	/* why not, "" when ok */
};

/* The daemon's settings and shared state (main.c). */
struct wconf {
	struct config		*cfg;
	struct store		*st;
	struct event_base	*base;
};
extern struct wconf	 wconf;

/* endpoint.c */
void		 endpoint_init(void);
void		 endpoint_shutdown(void);
void		 endpoint_done(struct endpoint *, const struct outcome *);
const struct endpoints *endpoint_list(void);
int64_t		 endpoint_log_last(void);
int64_t		 endpoint_lag_ms(const struct endpoint *, int64_t);

/* deliver.c */
int		 deliver_init(void);
void		 deliver_shutdown(void);
int		 deliver_start(struct endpoint *, const struct event *,
		    int64_t);
void		 deliver_cancel(struct delivery *);

/* sign.c */
char		*sign_body(int64_t, const char *, const char *, size_t,
		    size_t *);
void		 sign_hmac(const char *, const char *, const char *, size_t,
		    char *);

/* metrics.c */
int		 metrics_listen(const char *);
void		 metrics_shutdown(void);

#endif /* WEBHOOKD_H */
