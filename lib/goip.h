/*
 * goip.h: code shared by goip-cgi, goip-notifier and goipctl.
 *
 * Forward declarations, shared structs, then the prototypes of each file of
 * lib/ in file order.
 */
#ifndef GOIP_H
#define GOIP_H

#include <sys/types.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/types.h>

struct event_base;
struct json_object;
struct sqlite3;
struct sqlite3_stmt;

/* Limits every program agrees on. */
#define GOIP_DEVICE_ID_MAX	64	/* bytes of a device id */
#define GOIP_NAME_MAX		128	/* bytes of a device name */
#define GOIP_TEXT_MAX		4096	/* bytes of one SMS text */
#define GOIP_PHONE_MAX		32	/* bytes of a phone number */
#define GOIP_SLOTS_MAX		32	/* SIM slots per device */
#define GOIP_SLOT_MAX		256	/* highest slot number */
#define GOIP_BATCH_MAX		100	/* messages in one batch */
#define GOIP_LEASE_MAX		64	/* outbound messages in one lease */
#define GOIP_JSON_DEPTH		16	/* nesting accepted in a body */
#define GOIP_TOKEN_LEN		43	/* base64url of 32 random bytes */
#define GOIP_WEBHOOK_URL_MAX	2048	/* bytes of an endpoint URL */
#define GOIP_LINE_ID_MAX	64	/* bytes of a GoIP line id */
#define GOIP_LINE_PASSWORD_LEN	16	/* letters and digits */
#define GOIP_USSD_CODE_MAX	32	/* bytes of a USSD code */

/* What a notifier is (issue 15): next to the database, or an edge. */
enum relay_role {
	ROLE_PRIMARY,		/* reads the log, publishes it to the relay */
	ROLE_EDGE		/* no database: serves the relay's stream */
};

/* A relay address, redis://host:port[/db] (config_relay_url()). */
#define RELAY_HOST_MAX		255
#define RELAY_STREAM_MAX	200	/* bytes of relay_stream */
struct relay_url {
	char		 host[RELAY_HOST_MAX + 1];
	int		 port;
	int		 db;
};

/* How a dashboard request is authenticated. */
enum auth_mode {
	AUTH_WEB,		/* REMOTE_USER from the web server required */
	AUTH_NONE		/* no authentication (explicitly configured) */
};

/*
 * The parsed goip.conf. Every program reads the same file; strings are owned
 * by the struct and freed by config_free(). Durations are milliseconds.
 */
struct config {
	char		*path;		/* file it was read from, or NULL */
	char		*database;
	char		*notify_socket;
	char		*listen;	/* notifier address:port */
	char		*socket_path;	/* Socket.IO path, with trailing / */
	char		*events_path;	/* long-poll path */
	char		*metrics_listen; /* "" disables */
	char		*cors_origins;	/* space separated; "" same origin */
	char		*user;		/* notifier drops privileges to it */
	enum auth_mode	 dashboard_auth;
	int64_t		 heartbeat_interval;
	int64_t		 offline_after;
	int64_t		 ping_interval;
	int64_t		 ping_timeout;
	int64_t		 busy_timeout;
	int64_t		 event_retention;
	int64_t		 outbox_lease;
	int64_t		 sms_expire;
	int64_t		 max_body;
	int64_t		 max_payload;
	int64_t		 max_connections;
	int64_t		 max_per_address;
	int64_t		 heartbeat_history;
	int64_t		 heartbeat_history_step;
	int64_t		 send_attempts;
	char		*listen_group;	/* group of the notifier's Unix socket */
	char		*allowed_hosts;	/* Host names the notifier answers on TCP */
	char		*proxy_secret;	/* header the proxy adds after its auth */
	int64_t		 device_rate;	/* requests per second per device, 0 off */
	int64_t		 device_burst;	/* token bucket depth */
	int64_t		 body_timeout;	/* ms for a whole request to arrive */
	int64_t		 sms_retention;	/* ms; 0 keeps every SMS */
	char		*goip_listen;	/* goip-udpd UDP address:port */
	char		*goip_allow;	/* networks GoIP packets may come from */
	int64_t		 webhook_timeout;	/* ms for one delivery */
	int64_t		 webhook_retry_max;	/* ms, longest back-off */
	int64_t		 webhook_max_age;	/* ms failing before disable */
	int64_t		 webhook_allow_private;	/* 1: private targets allowed */
	char		*webhook_metrics_listen; /* "" disables */
	enum relay_role	 role;		/* the notifier's */
	char		*relay;		/* redis://host:port[/db], "" off */
	char		*relay_stream;	/* the stream's key */
};

/* A log level, in syslog order. */
enum log_level {
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG
};

/* Result of a store operation that may meet a busy database. */
enum store_rc {
	STORE_OK = 0,
	STORE_ERROR = -1,	/* a real failure: *cause says which */
	STORE_BUSY = -2,	/* locked past busy_timeout: retry later */
	STORE_NOTFOUND = -3,
	STORE_CONFLICT = -4,	/* a constraint the caller must report */
	STORE_FULL = -5		/* disk or database full: retry once freed */
};

/* Event types of the log; the names are the Socket.IO event names. */
enum event_type {
	EVENT_DEVICE_HEARTBEAT,
	EVENT_DEVICE_STATUS_CHANGE,
	EVENT_SMS_RECEIVED,
	EVENT_SMS_STATUS,
	EVENT_STATS_UPDATE,
	EVENT_USSD_REPLY,		/* goip-udpd: a USSD answer (issue 13) */
	EVENT_WEBHOOK_DISABLED,		/* goip-webhookd gave up (issue 14) */
	EVENT_TYPE__MAX
};

/* One row of the event log, as read back. */
struct event {
	int64_t		 id;
	enum event_type	 type;
	int64_t		 at;		/* unix ms */
	char		 device[GOIP_DEVICE_ID_MAX + 1]; /* "" when global */
	char		*payload;	/* JSON object text, owned */
	size_t		 payloadlen;
};

/* An event to append (evlog_append()). */
struct event_new {
	enum event_type		 type;
	const char		*device;	/* device id, NULL: global */
	struct json_object	*payload;	/* serialized, not kept */
};

/* Which events evlog_read() reads. */
struct event_page {
	int64_t		 after;		/* ids above this one */
	const char	*device;	/* one device's only, NULL: all */
	int		 max;		/* events at most: room in the array */
};

/* What a prune pass deletes, in order (lib/prune.c). */
enum prune_what {
	PRUNE_EVENTS,		/* events older than event_retention */
	PRUNE_SMS,		/* SMS older than sms_retention */
	PRUNE__MAX
};
#define PRUNE_BATCH	500	/* rows read, at most deleted, per transaction */

/* A prune pass under way; all zero before the first step. */
struct prune {
	enum prune_what	 phase;
	int64_t		 cursor;	/* id to go on after, 0 to start */
	int64_t		 started;	/* unix ms the pass counts back from */
	int64_t		 total[PRUNE__MAX];	/* deleted by this pass */
	int		 done;		/* the last step ended the pass */
};

/* What one device_sweep() changed. */
struct sweep_result {
	int		 offline;	/* devices marked offline */
	int		 expired;	/* outbound SMS expired */
	int64_t		 evid;		/* last event appended, 0: none */
};

/* An open database connection; its fields are private to lib/ (store_int.h). */
struct store;

/*
 * The validated fields of a heartbeat. A field left out of the report has
 * its bit (HB_* or SLOT_*) set in "kept": the stored value stays. A field
 * given as null is NULL or -1 with its bit clear: the stored value is
 * cleared.
 */
enum hb_field {
	HB_DEVICE_ID,
	HB_BATTERY,
	HB_CHARGING,
	HB_SIGNAL,
	HB_FIRMWARE,
	HB_UPTIME,
	HB__MAX
};

enum slot_field {
	SLOT_SLOT,
	SLOT_STATUS,
	SLOT_OPERATOR,
	SLOT_PHONE,
	SLOT_ICCID,
	SLOT_IMSI,
	SLOT_SIGNAL,
	SLOT_REGISTRATION,
	SLOT__MAX
};

#define HB_KEPT(x, f)	((int)(((x)->kept >> (f)) & 1))

struct hb_slot {
	int		 slot;
	const char	*status;	/* NULL when null or left out */
	const char	*operator;
	const char	*phone;
	const char	*iccid;
	const char	*imsi;
	int		 signal;	/* -1: null or left out */
	const char	*registration;
	unsigned int	 kept;		/* 1 << SLOT_*: left out */
};

struct heartbeat {
	const char	*device_id;	/* NULL when absent */
	int		 battery;	/* -1: null or absent */
	int		 charging;	/* -1: absent, 0, 1 */
	int		 signal;	/* -1: null or absent */
	const char	*firmware;	/* NULL when absent */
	int64_t		 uptime;	/* -1: absent */
	unsigned int	 kept;		/* 1 << HB_*: left out */
	int		 nslots;	/* -1: simSlots absent (keep stored) */
	struct hb_slot	 slots[GOIP_SLOTS_MAX];
};

/* The validated fields of one received SMS. */
struct sms_in {
	const char	*device_id;	/* NULL when absent */
	const char	*message_id;
	int		 slot;		/* 0: absent */
	const char	*from;
	const char	*to;		/* NULL when absent */
	const char	*text;
	size_t		 textlen;
	int64_t		 received_at;	/* unix ms, -1: absent */
};

/* The validated fields of an outbound SMS request. */
struct sms_out {
	const char	*device;
	int		 slot;
	const char	*to;
	const char	*text;
	size_t		 textlen;
	int		 segments;
	const char	*encoding;	/* "gsm7" or "ucs2" */
};

/* Where and when sms_receive() stores a message. */
struct sms_recv {
	int64_t		 device;	/* device row id */
	int64_t		 now;		/* unix ms */
};

/* Who queues an outbound message, and for how long (sms_queue()). */
struct sms_send {
	int64_t		 device;	/* row id of the message's device */
	const char	*operator;	/* REMOTE_USER, or goipctl's user */
	const char	*key;		/* Idempotency-Key, or NULL */
	const uint8_t	*hash;		/* SHA-256 of the request, with KEY */
	int64_t		 now;		/* unix ms */
	int64_t		 expire;	/* ms it may wait to be sent */
};

/* What sms_receive() or sms_queue() did with one message. */
struct sms_stored {
	int64_t		 id;		/* the message's id */
	int		 seen;		/* seen before: ID is the original's */
	int64_t		 evid;		/* event appended, 0: none */
};

/* Which page of the SMS history sms_list_json() reads. */
struct sms_page {
	int64_t		 device;	/* device row id, -1: every device */
	const char	*direction;	/* "in", "out" or NULL: both */
	int		 limit;		/* messages at most */
	int64_t		 before;	/* ids below this one, 0: newest */
};

/* An outbox lease sms_outbox_lease() takes. */
struct sms_lease {
	int64_t		 device;	/* device row id */
	int		 max;		/* messages at most (GOIP_LEASE_MAX) */
	int64_t		 now;		/* unix ms */
	int64_t		 lease;		/* ms the device has to report */
	int64_t		 attempts;	/* leases before a message fails */
};

/* A device's report on one outbound message (sms_report()). */
struct sms_status {
	int64_t		 device;	/* reporting device's row id */
	int64_t		 id;		/* message id */
	const char	*status;	/* "sent", "delivered" or "failed" */
	const char	*error;		/* error text, or NULL */
	int64_t		 now;		/* unix ms */
	int64_t		 attempts;	/* leases before a message fails */
};

/* Where and when device_heartbeat() stores a heartbeat. */
struct hb_store {
	int64_t		 device;	/* device row id */
	int64_t		 now;		/* unix ms */
	int64_t		 history;	/* history rows kept, about */
	int64_t		 step;		/* ms per history row, 0: every beat */
};

/* An endpoint URL taken apart by webhook_url_parse(). */
struct webhook_url {
	int		 https;
	char		 host[256];	/* without the brackets of IPv6 */
	int		 port;
};

/* What "goipctl webhook add" creates (webhook_add()). */
struct webhook_spec {
	const char	*url;
	const char	*events;	/* canonical list (webhook_events_format) */
	const char	*device;	/* device id filter, NULL: every device */
};

/* An endpoint as goip-webhookd loads it (webhook_load()); owned strings. */
struct webhook_row {
	int64_t		 id;
	char		*url;
	char		*events;
	char		*device;	/* NULL: every device */
	char		*secret;
	int		 enabled;
	int64_t		 cursor;
	int64_t		 failing_since;	/* unix ms, 0: healthy */
	int64_t		 delivered;
	int64_t		 failed;
	int64_t		 retries;
	int64_t		 ping_seq;	/* pings asked for */
	int64_t		 ping_done;	/* pings answered */
};

/* The outcome of one delivery attempt (webhook_record()). */
struct webhook_attempt {
	int64_t		 id;		/* endpoint */
	int64_t		 cursor;	/* the event's id: the new cursor */
	int64_t		 now;		/* unix ms */
	int		 status;	/* HTTP status, 0: no answer */
	const char	*error;		/* NULL: a 2xx */
	int		 retry;		/* the attempt was a retry */
	int64_t		 ping;		/* ping answered, 0: an event */
};

/* The state of an endpoint's last ping (webhook_ping_result()). */
struct webhook_ping {
	int64_t		 seq;		/* asked for */
	int64_t		 done;		/* answered */
	int		 status;	/* HTTP status of the last, 0: none */
	char		 error[256];	/* "" when it got a 2xx */
};

/* The validated fields of a USSD request (POST /api/devices/{id}/ussd). */
struct ussd_out {
	int		 slot;
	const char	*code;
};

/* A GoIP line as line_find() reads it. */
struct line_info {
	int64_t		 id;		/* row id */
	int64_t		 device;	/* device row id */
	int		 slot;
	char		 line_id[GOIP_LINE_ID_MAX + 1];
	char		 password[GOIP_LINE_PASSWORD_LEN * 4 + 1];
	char		 device_id[GOIP_DEVICE_ID_MAX + 1];
};

/* A new GoIP line (line_add()). */
struct line_new {
	const char	*device;	/* device id */
	int		 slot;
	const char	*line_id;
};

/* A GoIP keepalive (req:) of a line, as line_keepalive() stores it. */
struct line_keepalive {
	int64_t		 line;		/* line row id */
	const char	*address;	/* its source, "HOST:PORT" */
	int64_t		 now;		/* unix ms */
	int64_t		 seq;		/* N of req:N */
	const char	*gsm_status;	/* NULL: absent */
	const char	*num;
	int		 signal;	/* CSQ, -1: absent */
	const char	*imei;
	const char	*imsi;
	const char	*iccid;
};

/* A RECEIVE of a line (line_recv_seen(), line_recv_store()). */
struct line_recv {
	int64_t		 line;		/* line row id */
	int64_t		 recvid;	/* N of RECEIVE:N */
	int64_t		 now;		/* unix ms */
};

/* The clock and windows of one line_sweep(). */
struct line_sweep {
	int64_t		 now;		/* unix ms */
	int64_t		 offline_after;	/* ms of silence before offline */
	int64_t		 window;	/* ms a RECEIVE's recvid is kept */
};

/* An SMS going out through a line (line_send_begin()). */
struct line_send {
	int64_t		 sms;		/* message id */
	int64_t		 line;		/* line row id */
	int64_t		 sendid;
	int64_t		 telid;
	int64_t		 now;		/* unix ms */
};

/* How an SMS session ended (line_send_result()). */
struct line_result {
	int64_t		 sms;		/* message id */
	const char	*result;	/* "ok", "error" or "timeout" */
	int64_t		 sms_no;	/* the device's, -1: none */
	const char	*error;		/* text of a failure, or NULL */
	int64_t		 now;		/* unix ms */
};

/* A delivery report (DELIVER) of a line (line_deliver()). */
struct line_deliver {
	int64_t		 sms_no;
	const char	*state;		/* raw; "0" is delivered */
	int64_t		 now;		/* unix ms */
};

/* A USSD request ussd_take() hands to goip-udpd. */
struct ussd_job {
	int64_t		 id;
	int64_t		 line;		/* line row id */
	char		 code[GOIP_USSD_CODE_MAX + 1];
};

/* Who queues a USSD request, and when (ussd_queue()). */
struct ussd_send {
	int64_t		 device;	/* device row id */
	const char	*operator;	/* REMOTE_USER, or goipctl's user */
	int64_t		 now;		/* unix ms */
};

/* How a USSD request ends (ussd_finish()). */
struct ussd_result {
	int64_t		 id;		/* the request */
	const char	*reply;		/* the device's answer, NULL: ERROR */
	size_t		 len;		/* bytes of REPLY */
	const char	*error;		/* why it failed, when REPLY is NULL */
	int64_t		 now;		/* unix ms */
};

/*
 * A daemon's name, options and stop hook (daemon.c, compiled into the three
 * daemons only). The caller fills the first five; daemon_args() the rest.
 */
struct daemon {
	const char	 *name;		/* "goip-udpd": log ident and usage */
	const char	 *usage;	/* after the name: "[-dnv] [-c file]" */
	const char	 *extra;	/* more getopt options, NULL: none */
	void		(*option)(int, char *);	/* takes each of those */
	void		(*stop)(int);	/* SIGTERM, SIGINT; NULL: leave loop */
	const char	 *conffile;	/* -c; NULL: the default */
	int		  foreground;	/* -d */
	int		  check;	/* -n */
	int		  verbose;	/* -v */
};

/* A validation failure: which field and why. Static strings. */
struct verr {
	char		 field[64];
	const char	*msg;
};

/* log.c */
void		 log_init(const char *, int, enum log_level);
void		 log_warn(const char *, ...)
		    __attribute__((__format__(printf, 1, 2)));
void		 log_warnx(const char *, ...)
		    __attribute__((__format__(printf, 1, 2)));
void		 log_info(const char *, ...)
		    __attribute__((__format__(printf, 1, 2)));
void		 log_debug(const char *, ...)
		    __attribute__((__format__(printf, 1, 2)));
void		 fatal(const char *, ...)
		    __attribute__((__format__(printf, 1, 2), __noreturn__));
void		 fatalx(const char *, ...)
		    __attribute__((__format__(printf, 1, 2), __noreturn__));
size_t		 log_escape(char *, size_t, const char *, size_t);

/* util.c */
void		*xmalloc(size_t);
void		*xcalloc(size_t, size_t);
char		*xstrdup(const char *);
int		 xasprintf(char **, const char *, ...)
		    __attribute__((__format__(printf, 2, 3)));
int64_t		 util_now_ms(void);
int64_t		 util_mono_ms(void);
int		 util_time_format(int64_t, char *, size_t);
int		 util_time_parse(const char *, int64_t *);
int		 util_utf8_valid(const char *, size_t);
int		 util_ct_equal(const void *, const void *, size_t);

/* priv.c */
int		 priv_check(const char *, const char *, uid_t *, gid_t *);
void		 priv_drop(const char *, uid_t, gid_t);

/* daemon.c */
void		 daemon_args(struct daemon *, int, char *[]);
struct config	*daemon_config(struct daemon *);
void		 daemon_check(struct daemon *, struct config *);
struct event_base *daemon_base(void);
void		 daemon_detach(struct daemon *);
void		 daemon_signals(struct daemon *);
void		 daemon_free(void);

/* config.c */
struct config	*config_new(void);
void		 config_free(struct config *);
int		 config_load(struct config *, const char *, char **);
const char	*config_find(const char *);
int		 config_duration(const char *, int64_t *);
int		 config_print(const struct config *, FILE *);
const char	*config_list_next(const char **, size_t *);
int		 config_origin_allowed(const struct config *, const char *);
int		 config_relay_url(const char *, struct relay_url *);

/* store.c */
#define STORE_OPEN_CHECK	0	/* schema must be the one we know */
#define STORE_OPEN_CREATE	1	/* create the file; any schema */
#define STORE_OPEN_ANY		2	/* existing file; any schema */
struct store	*store_open(const char *, int64_t, int, char **);
void		 store_close(struct store *);
void		 store_set_busy_timeout(struct store *, int64_t);
int		 store_version(struct store *);
int		 store_check_version(struct store *, char **);
int		 store_migrate(struct store *, int *, char **);
enum store_rc	 store_stmt(struct store *, const char *,
		    struct sqlite3_stmt **, char **);
enum store_rc	 store_exec(struct store *, const char *, char **);
enum store_rc	 store_begin(struct store *, char **);
enum store_rc	 store_commit(struct store *, char **);
void		 store_rollback(struct store *);
enum store_rc	 store_rc(struct store *, int, char **);
void		 store_bind(struct sqlite3_stmt *, const char *, ...);
enum store_rc	 store_run(struct store *, struct sqlite3_stmt *, char **);
enum store_rc	 store_write(struct store *, const char *, char **,
		    const char *, ...);
enum store_rc	 store_row(struct store *, struct sqlite3_stmt *, char **);
enum store_rc	 store_ids(struct store *, struct sqlite3_stmt *, int64_t *,
		    int *, char **);
int		 store_group_members(const struct store *);
enum store_rc	 store_quick_check(struct store *, char **);
enum store_rc	 store_json_row(struct store *, struct sqlite3_stmt *,
		    struct json_object *(*)(struct sqlite3_stmt *),
		    struct json_object **, char **);
enum store_rc	 store_json_rows(struct store *, struct sqlite3_stmt *,
		    struct json_object *(*)(struct sqlite3_stmt *),
		    struct json_object **, char **);
void		 store_json_text(struct json_object *, const char *,
		    struct sqlite3_stmt *, int);
void		 store_json_int(struct json_object *, const char *,
		    struct sqlite3_stmt *, int);
void		 store_json_bool(struct json_object *, const char *,
		    struct sqlite3_stmt *, int);
void		 store_json_time(struct json_object *, const char *,
		    struct sqlite3_stmt *, int);
struct json_object *store_json_timeval(int64_t);

/* checkpoint.c */
struct checkpointer;
struct checkpointer *checkpoint_start(struct store *, char **);
void		 checkpoint_stop(struct checkpointer *, struct store *);
int		 checkpoint_runs(struct checkpointer *);

/* group.c */
void		 group_start(struct store *);
enum store_rc	 group_end(struct store *, char **);
enum store_rc	 group_begin(struct store *, char **);
enum store_rc	 group_commit(struct store *, char **);
void		 group_rollback(struct store *);

/* migrations.c (generated from sql/) */
extern const char *const migrations[];
extern const int	 nmigrations;

/* evlog.c */
const char	*evlog_type_name(enum event_type);
int		 evlog_type_lookup(const char *);
enum store_rc	 evlog_append(struct store *, const struct event_new *,
		    int64_t *, char **);
enum store_rc	 evlog_read(struct store *, const struct event_page *,
		    struct event *, int *, char **);
void		 evlog_clear(struct event *, int);
enum store_rc	 evlog_last(struct store *, int64_t *, char **);
enum store_rc	 evlog_first(struct store *, int64_t *, char **);
void		 evlog_notify(const char *, int64_t);

/* token.c */
int		 token_generate(char *, size_t);
void		 token_hash(const char *, size_t, uint8_t[32]);

/* jsonin.c */
struct json_object *jsonin_parse(const char *, size_t, const char **);

/* valid.c */
int		 valid_device_id(const char *);
int		 valid_phone(const char *);
int		 valid_heartbeat(struct json_object *, struct heartbeat *,
		    struct verr *);
int		 valid_sms_in(struct json_object *, struct sms_in *,
		    struct verr *);
int		 valid_sms_out(struct json_object *, struct sms_out *,
		    struct verr *);
int		 valid_ussd_out(struct json_object *, struct ussd_out *,
		    struct verr *);
int		 valid_sms_segments(const char *, size_t, const char **);

/* device.c */
enum store_rc	 device_add(struct store *, const char *, const char *,
		    char[GOIP_TOKEN_LEN + 1], char **);
enum store_rc	 device_remove(struct store *, const char *, char **);
enum store_rc	 device_rotate_token(struct store *, const char *,
		    char[GOIP_TOKEN_LEN + 1], char **);
enum store_rc	 device_by_token(struct store *, const char *, int64_t *,
		    char[GOIP_DEVICE_ID_MAX + 1], char **);
enum store_rc	 device_heartbeat(struct store *, const struct heartbeat *,
		    const struct hb_store *, int64_t *, char **);
enum store_rc	 device_json(struct store *, int64_t, int,
		    struct json_object **, char **);
enum store_rc	 device_list_json(struct store *, struct json_object **,
		    char **);
enum store_rc	 device_lookup(struct store *, const char *, int64_t *,
		    char **);
enum store_rc	 device_list(struct store *, FILE *, char **);
enum store_rc	 device_sweep(struct store *, int64_t, int64_t,
		    struct sweep_result *, char **);

/* sms.c */
enum store_rc	 sms_receive(struct store *, const struct sms_in *,
		    const struct sms_recv *, struct sms_stored *, char **);
enum store_rc	 sms_json(struct store *, int64_t, struct json_object **,
		    char **);
enum store_rc	 sms_list_json(struct store *, const struct sms_page *,
		    struct json_object **, char **);
enum store_rc	 sms_queue(struct store *, const struct sms_out *,
		    const struct sms_send *, struct sms_stored *, char **);
enum store_rc	 sms_outbox_lease(struct store *, const struct sms_lease *,
		    struct json_object **, int64_t *, char **);
enum store_rc	 sms_report(struct store *, const struct sms_status *, int *,
		    int64_t *, char **);
enum store_rc	 sms_expire(struct store *, int64_t, int *, int64_t *,
		    char **);

/* line.c */
int		 line_id_valid(const char *);
enum store_rc	 line_add(struct store *, const struct line_new *,
		    char[GOIP_LINE_PASSWORD_LEN + 1], char **);
enum store_rc	 line_remove(struct store *, const char *, char **);
enum store_rc	 line_password(struct store *, const char *,
		    char[GOIP_LINE_PASSWORD_LEN + 1], char **);
enum store_rc	 line_list(struct store *, int64_t, FILE *, char **);
enum store_rc	 line_find(struct store *, const char *, struct line_info *,
		    char **);
int		 line_csq_percent(int);
int		 line_csq_dbm(int);
enum store_rc	 line_keepalive(struct store *, const struct line_keepalive *,
		    int *, char **);
enum store_rc	 line_heartbeat(struct store *, const struct hb_store *,
		    int64_t, int64_t *, char **);
enum store_rc	 line_call_state(struct store *, int64_t, const char *,
		    const char *, char **);
enum store_rc	 line_recv_seen(struct store *, const struct line_recv *,
		    int64_t, int64_t *, char **);
enum store_rc	 line_recv_store(struct store *, const struct line_recv *,
		    int64_t, char **);
enum store_rc	 line_sweep(struct store *, const struct line_sweep *, int *,
		    int64_t *, char **);
enum store_rc	 line_outbox_devices(struct store *, int64_t, int64_t *,
		    int *, char **);
enum store_rc	 line_send_begin(struct store *, const struct line_send *,
		    char **);
enum store_rc	 line_send_result(struct store *, const struct line_info *,
		    const struct line_result *, int64_t *, char **);
enum store_rc	 line_deliver(struct store *, const struct line_info *,
		    const struct line_deliver *, int64_t *, char **);
enum store_rc	 line_sends_abandon(struct store *, int64_t, int *, int64_t *,
		    char **);
enum store_rc	 line_json(struct store *, int64_t, struct json_object **,
		    char **);

/* ussd.c */
int		 ussd_code_valid(const char *);
enum store_rc	 ussd_queue(struct store *, const struct ussd_out *,
		    const struct ussd_send *, int64_t *, char **);
enum store_rc	 ussd_json(struct store *, int64_t, struct json_object **,
		    char **);
enum store_rc	 ussd_list_json(struct store *, int64_t, struct json_object **,
		    char **);
enum store_rc	 ussd_queued(struct store *, int *, char **);
enum store_rc	 ussd_take(struct store *, int64_t, struct ussd_job *, int *,
		    char **);
enum store_rc	 ussd_finish(struct store *, const struct ussd_result *,
		    int64_t *, char **);
enum store_rc	 ussd_abandon(struct store *, int64_t, int *, int64_t *,
		    char **);

/* prune.c */
enum store_rc	 prune_step(struct store *, const struct config *, int64_t,
		    struct prune *, char **);

/* stats.c */
enum store_rc	 stats_json(struct store *, int64_t, struct json_object **,
		    char **);
enum store_rc	 stats_outbox_pending(struct store *, int64_t, int64_t *,
		    char **);

/* webhook.c */
struct sockaddr;
int		 webhook_addr_private(const struct sockaddr *);
int		 webhook_events_parse(const char *, unsigned int *, char **);
unsigned int	 webhook_events_default(void);
int		 webhook_events_format(unsigned int, char *, size_t);
int		 webhook_url_parse(const char *, struct webhook_url *, char **);
enum store_rc	 webhook_add(struct store *, const struct webhook_spec *,
		    char *, int64_t *, char **);
enum store_rc	 webhook_remove(struct store *, int64_t, char **);
enum store_rc	 webhook_set_enabled(struct store *, int64_t, int, char **);
enum store_rc	 webhook_rotate_secret(struct store *, int64_t, char *,
		    char **);
enum store_rc	 webhook_ping(struct store *, int64_t, int64_t *, char **);
enum store_rc	 webhook_ping_result(struct store *, int64_t,
		    struct webhook_ping *, char **);
void		 webhook_rows_free(struct webhook_row *, int);
enum store_rc	 webhook_load(struct store *, struct webhook_row **, int *,
		    char **);
enum store_rc	 webhook_record(struct store *, const struct webhook_attempt *,
		    char **);
enum store_rc	 webhook_give_up(struct store *, int64_t, const char *,
		    int64_t *, char **);
enum store_rc	 webhook_list_json(struct store *, int64_t,
		    struct json_object **, char **);

#endif /* GOIP_H */
