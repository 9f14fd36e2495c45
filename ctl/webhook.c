/*
 * webhook.c: "goipctl webhook", the endpoints of goip-webhookd.
 *
 *	webhook add URL [--events LIST] [--device ID]
 *	webhook list
 *	webhook remove|enable|disable|secret|test ID
 *
 * Changes are written to the database; goip-webhookd reads them within a
 * second. "add" and "secret" print the secret alone as the last line of
 * their output, once: it is not shown again.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "goip.h"
#include "ctl.h"

#define WEBHOOK_TEST_POLL_MS	100	/* "test" reads the ping's result */

static void __attribute__((__noreturn__))
webhook_usage(void)
{
	fprintf(stderr,
	    "usage: goipctl webhook add URL [--events LIST] [--device ID]\n"
	    "       goipctl webhook list\n"
	    "       goipctl webhook remove|enable|disable|secret|test ID\n");
	exit(2);
}

/* Parse the endpoint id S into *ID; a clear error when it is not one. */
static int
webhook_id(const char *s, int64_t *id)
{
	char		*end;
	long long	 v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1) {
		fprintf(stderr, "goipctl: webhook %s: invalid id (a positive "
		    "number, see \"goipctl webhook list\")\n", s);
		return -1;
	}
	*id = v;
	return 0;
}

/* Report RC of an operation on endpoint ID; 0 when it is STORE_OK. */
static int
webhook_result(int64_t id, const char *what, enum store_rc rc, char *cause)
{
	if (rc == STORE_NOTFOUND) {
		fprintf(stderr, "goipctl: webhook %lld: no such webhook\n",
		    (long long)id);
		free(cause);
		return 1;
	}
	if (rc != STORE_OK)
		return ctl_fail(what, cause);
	return 0;
}

/*
 * Refuse a URL whose host resolves to a private address unless
 * webhook_allow_private is set. goip-webhookd checks again, on the address
 * it connects to; a host that does not resolve now is accepted with a
 * warning. Returns 0, or -1 with the error printed.
 */
static int
webhook_check_target(const struct webhook_url *u)
{
	struct addrinfo	 hints, *res, *ai;
	char		 addr[NI_MAXHOST];
	int		 error;

	if (cfg->webhook_allow_private)
		return 0;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((error = getaddrinfo(u->host, NULL, &hints, &res)) != 0) {
		fprintf(stderr, "goipctl: warning: %s does not resolve now "
		    "(%s); goip-webhookd checks the address when it "
		    "connects\n", u->host, gai_strerror(error));
		return 0;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (!webhook_addr_private(ai->ai_addr))
			continue;
		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, addr,
		    sizeof(addr), NULL, 0, NI_NUMERICHOST) != 0)
			snprintf(addr, sizeof(addr), "?");
		fprintf(stderr, "goipctl: %s: %s is a loopback, private or "
		    "link-local address: refused (set webhook_allow_private "
		    "= yes in %s to allow it)\n", u->host, addr,
		    cfg->path != NULL ? cfg->path : "goip.conf");
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	return 0;
}

static int
webhook_add_cmd(int argc, char *argv[])
{
	struct webhook_spec	 spec;
	struct webhook_url	 u;
	struct store		*st;
	char			 events[256], secret[GOIP_TOKEN_LEN + 1];
	char			*cause = NULL;
	const char		*list = NULL;
	unsigned int		 mask;
	int64_t			 id, rowid;
	enum store_rc		 rc;
	int			 i;

	if (argc < 2)
		webhook_usage();
	memset(&spec, 0, sizeof(spec));
	spec.url = argv[1];
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--events") == 0 && i + 1 < argc)
			list = argv[++i];
		else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc)
			spec.device = argv[++i];
		else
			webhook_usage();
	}
	if (webhook_url_parse(spec.url, &u, &cause) == -1) {
		fprintf(stderr, "goipctl: %s: %s\n", spec.url, cause);
		free(cause);
		return 1;
	}
	mask = webhook_events_default();
	if (list != NULL && webhook_events_parse(list, &mask, &cause) == -1) {
		fprintf(stderr, "goipctl: --events: %s (known: all, "
		    "device-heartbeat, device-status-change, sms-received, "
		    "sms-status, ussd-reply, webhook-disabled)\n", cause);
		free(cause);
		return 1;
	}
	if (webhook_events_format(mask, events, sizeof(events)) == -1)
		fatalx("webhook: event list too long");
	spec.events = events;
	if (spec.device != NULL && !valid_device_id(spec.device)) {
		fprintf(stderr, "goipctl: %s: invalid device id (1-64 of "
		    "A-Z a-z 0-9 . _ : -)\n", spec.device);
		return 1;
	}
	if (webhook_check_target(&u) == -1)
		return 1;
	st = ctl_open(STORE_OPEN_CHECK);
	if (spec.device != NULL && (rc = device_lookup(st, spec.device,
	    &rowid, &cause)) != STORE_OK) {
		store_close(st);
		if (rc != STORE_NOTFOUND)
			return ctl_fail("webhook add", cause);
		fprintf(stderr, "goipctl: %s: no such device\n", spec.device);
		free(cause);
		return 1;
	}
	rc = webhook_add(st, &spec, secret, &id, &cause);
	store_close(st);
	if (rc != STORE_OK)
		return ctl_fail("webhook add", cause);
	printf("webhook %lld: %s (events %s%s%s)\n", (long long)id, spec.url,
	    events, spec.device != NULL ? ", device " : "",
	    spec.device != NULL ? spec.device : "");
	printf("%s\n", secret);
	explicit_bzero(secret, sizeof(secret));
	return 0;
}

/* Print the text field KEY of O, or "-" when null or empty. */
static const char *
webhook_field(struct json_object *o, const char *key)
{
	struct json_object	*v;
	const char		*s;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL ||
	    (s = json_object_get_string(v)) == NULL || *s == '\0')
		return "-";
	return s;
}

static int
webhook_list_cmd(void)
{
	struct json_object	*arr, *o;
	struct store		*st;
	char			*cause = NULL;
	size_t			 i;

	st = ctl_open(STORE_OPEN_CHECK);
	if (webhook_list_json(st, util_now_ms(), &arr, &cause) != STORE_OK) {
		store_close(st);
		return ctl_fail("webhook list", cause);
	}
	store_close(st);
	printf("%-4s %-8s %8s %8s %6s %6s %s\n", "ID", "STATE", "CURSOR",
	    "LAG", "LAG_S", "STATUS", "URL EVENTS DEVICE ERROR");
	for (i = 0; i < json_object_array_length(arr); i++) {
		o = json_object_array_get_idx(arr, i);
		printf("%-4s %-8s %8s %8s %6s %6s %s %s %s %s\n",
		    webhook_field(o, "id"), webhook_field(o, "state"),
		    webhook_field(o, "cursor"), webhook_field(o, "lagEvents"),
		    webhook_field(o, "lagSeconds"),
		    webhook_field(o, "lastStatus"), webhook_field(o, "url"),
		    webhook_field(o, "events"), webhook_field(o, "deviceId"),
		    webhook_field(o, "lastError"));
	}
	json_object_put(arr);
	return 0;
}

/*
 * test: ask goip-webhookd for a ping and wait for its result, up to
 * webhook_timeout and five seconds more.
 */
static int
webhook_test_cmd(struct store *st, int64_t id)
{
	struct webhook_ping	 p;
	char			*cause = NULL;
	int64_t			 seq, deadline;
	enum store_rc		 rc;

	if ((rc = webhook_ping(st, id, &seq, &cause)) != STORE_OK)
		return webhook_result(id, "webhook test", rc, cause);
	deadline = util_mono_ms() + cfg->webhook_timeout + 5000;
	do {
		usleep(WEBHOOK_TEST_POLL_MS * 1000);
		if ((rc = webhook_ping_result(st, id, &p, &cause)) != STORE_OK)
			return webhook_result(id, "webhook test", rc, cause);
		if (p.done >= seq) {
			if (p.error[0] != '\0') {
				fprintf(stderr, "goipctl: webhook %lld: ping "
				    "failed: %s\n", (long long)id, p.error);
				return 1;
			}
			printf("webhook %lld: ping delivered (HTTP %d)\n",
			    (long long)id, p.status);
			return 0;
		}
	} while (util_mono_ms() < deadline);
	fprintf(stderr, "goipctl: webhook %lld: no answer from goip-webhookd "
	    "within %lld s (is it running?)\n", (long long)id,
	    (long long)(cfg->webhook_timeout + 5000) / 1000);
	return 1;
}

static int
webhook_remove_cmd(struct store *st, int64_t id)
{
	char	*cause = NULL;
	int	 ret;

	if ((ret = webhook_result(id, "webhook remove", webhook_remove(st, id,
	    &cause), cause)) == 0)
		printf("webhook %lld: removed\n", (long long)id);
	return ret;
}

static int
webhook_enable_cmd(struct store *st, int64_t id)
{
	char	*cause = NULL;
	int	 ret;

	if ((ret = webhook_result(id, "webhook enable", webhook_set_enabled(st,
	    id, 1, &cause), cause)) == 0)
		printf("webhook %lld: enabled\n", (long long)id);
	return ret;
}

static int
webhook_disable_cmd(struct store *st, int64_t id)
{
	char	*cause = NULL;
	int	 ret;

	if ((ret = webhook_result(id, "webhook disable", webhook_set_enabled(st,
	    id, 0, &cause), cause)) == 0)
		printf("webhook %lld: disabled\n", (long long)id);
	return ret;
}

/* secret: a new secret, printed alone on the last line. */
static int
webhook_secret_cmd(struct store *st, int64_t id)
{
	char	 secret[GOIP_TOKEN_LEN + 1], *cause = NULL;
	int	 ret;

	if ((ret = webhook_result(id, "webhook secret", webhook_rotate_secret(st,
	    id, secret, &cause), cause)) != 0)
		return ret;
	printf("webhook %lld: new secret (the old one stops working within "
	    "a second)\n", (long long)id);
	printf("%s\n", secret);
	explicit_bzero(secret, sizeof(secret));
	return 0;
}

/* The commands that take one endpoint id, by name. */
static const struct {
	const char	*name;
	int		(*run)(struct store *, int64_t);
} webhook_id_cmds[] = {
	{ "remove", webhook_remove_cmd },
	{ "enable", webhook_enable_cmd },
	{ "disable", webhook_disable_cmd },
	{ "secret", webhook_secret_cmd },
	{ "test", webhook_test_cmd },
};

/* goipctl webhook ...: dispatch on the subcommand. */
int
cmd_webhook(int argc, char *argv[])
{
	struct store	*st;
	int64_t		 id;
	size_t		 i;
	int		 ret;

	if (argc < 1)
		webhook_usage();
	if (strcmp(argv[0], "add") == 0)
		return webhook_add_cmd(argc, argv);
	if (strcmp(argv[0], "list") == 0) {
		if (argc != 1)
			webhook_usage();
		return webhook_list_cmd();
	}
	for (i = 0; i < sizeof(webhook_id_cmds) / sizeof(webhook_id_cmds[0]);
	    i++) {
		if (strcmp(argv[0], webhook_id_cmds[i].name) != 0)
			continue;
		if (argc != 2)
			webhook_usage();
		if (webhook_id(argv[1], &id) == -1)
			return 1;
		st = ctl_open(STORE_OPEN_CHECK);
		ret = webhook_id_cmds[i].run(st, id);
		store_close(st);
		return ret;
	}
	webhook_usage();
}
