/*
 * cgi.h: goip-cgi, the FastCGI (and plain CGI) program behind every /api/
 * route but the real-time ones.
 */
#ifndef CGI_H
#define CGI_H

#include <stdint.h>

struct config;
struct store;
struct json_object;
struct FCGX_Stream;
struct conns;

#define REQUEST_HEADERS_MAX	256	/* bytes of extra header lines */

/* Who may call a route. */
enum route_auth {
	ROUTE_DEVICE,		/* Authorization: Bearer <device token> */
	ROUTE_DASHBOARD		/* REMOTE_USER from the web server */
};

/* One request, as the web server handed it over. */
struct request {
	const struct config	*cfg;
	struct store		*st;	/* reads */
	struct store		*wst;	/* writes, token lookups */
	char *const		*envp;
	struct FCGX_Stream	*in;	/* NULL: plain CGI, use stdin */
	struct FCGX_Stream	*out;	/* NULL: plain CGI, use stdout */
	const char		*method;
	char			 path[1024];	/* route part, after "/api/" */
	const char		*query;
	const char		*remote_user;
	char			 device[GOIP_DEVICE_ID_MAX + 1]; /* authenticated */
	int64_t			 device_rowid;
	char			*body;
	size_t			 bodylen;
	char			 headers[REQUEST_HEADERS_MAX]; /* extra lines */
	int			 answered;
	char			*pre;		/* body read ahead */
	size_t			 prelen;
	int			 preread;
	int64_t			 ring;		/* event to ring for, or 0 */
	int			 buffered;	/* keep the answer until flushed */
	char			*out_buf;
	size_t			 out_len;
	size_t			 out_size;
};

/* request.c */
const char	*request_env(const struct request *, const char *);
struct json_object *request_json(struct request *);
int		 request_auth_device(struct request *);
int		 request_auth_dashboard(struct request *);
int		 request_query(const struct request *, const char *, char *,
		    size_t);
int		 request_store_error(struct request *, enum store_rc, char *);
int		 request_store_fail(struct request *, enum store_rc, char *,
		    const char *, const char *);
int		 request_begin(struct request *);
int		 request_commit(struct request *, enum store_rc, char *);
void		 request_preread(struct request *);
void		 request_ring(struct request *, int64_t);

/* reply.c */
void		 reply_json(struct request *, int, struct json_object *);
void		 reply_error(struct request *, int, const char *, const char *);
void		 reply_header(struct request *, int, const char *);
const char	*reply_reason(int);
void		 reply_flush(struct request *);
void		 reply_reset(struct request *);

/* conn.c */
struct conns	*conn_new(int, const struct config *);
void		 conn_free(struct conns *);
void		 conn_keep(struct conns *, int);
int		 conn_wait(struct conns *, int *, int *, int);

/* ratelimit.c */
int		 ratelimit_check(struct request *);

/* router.c */
int		 router_nested(const char *);
int		 router_decode(const char *, char *, size_t);
int		 router_route(const char *, char *, size_t);
void		 router_dispatch(struct request *);

/* api_heartbeat.c */
void		 api_heartbeat_post(struct request *);

/* api_receive.c */
void		 api_receive_post(struct request *);

/* api_devices.c */
void		 api_devices_list(struct request *);
void		 api_devices_get(struct request *);

/* api_smslist.c */
void		 api_smslist_get(struct request *);

/* api_stats.c */
void		 api_stats_get(struct request *);

/* api_send.c */
void		 api_send_post(struct request *);

/* api_outbox.c */
void		 api_outbox_get(struct request *);

/* api_status.c */
void		 api_status_post(struct request *);

/* api_webhooks.c */
void		 api_webhooks_list(struct request *);
/* api_ussd.c */
void		 api_ussd_post(struct request *);

#endif /* CGI_H */
