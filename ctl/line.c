/*
 * line.c: goipctl's GoIP commands: "line add|list|remove|password" for the
 * lines goip-udpd serves, and "ussd", which queues a USSD code for
 * goip-udpd and waits for the device's reply.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "goip.h"
#include "ctl.h"

#define LINE_USSD_WAIT	90	/* seconds goipctl ussd waits by default */
#define LINE_USSD_POLL	100	/* ms between two looks at the request */

/* Parse slot S (1 to GOIP_SLOT_MAX) or exit 2 with the usage. */
static int
line_slot_arg(const char *s)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < 1 ||
	    v > GOIP_SLOT_MAX) {
		fprintf(stderr, "goipctl: %s: invalid slot (1-%d)\n", s,
		    GOIP_SLOT_MAX);
		usage();
	}
	return (int)v;
}

/* Exit 2 with the usage unless S is a device id. */
static void
line_device_arg(const char *s)
{
	if (!valid_device_id(s)) {
		fprintf(stderr, "goipctl: %s: invalid device id (1-64 of "
		    "A-Z a-z 0-9 . _ : -)\n", s);
		usage();
	}
}

/* Exit 2 with the usage unless S is a line id. */
static void
line_id_arg(const char *s)
{
	if (!line_id_valid(s)) {
		fprintf(stderr, "goipctl: %s: invalid line id (1-%d of "
		    "A-Z a-z 0-9 . _ -)\n", s, GOIP_LINE_ID_MAX);
		usage();
	}
}

/* Report RC of a command on OBJ; 0 when it is STORE_OK. */
static int
line_result(enum store_rc rc, const char *what, const char *obj,
    char *cause)
{
	switch (rc) {
	case STORE_OK:
		free(cause);
		return 0;
	case STORE_NOTFOUND:
		fprintf(stderr, "goipctl: %s: no such %s\n", obj, what);
		free(cause);
		return 1;
	case STORE_CONFLICT:
		fprintf(stderr, "goipctl: %s: line id or slot already taken\n",
		    obj);
		free(cause);
		return 1;
	default:
		return ctl_fail(what, cause);
	}
}

/*
 * line add DEVICE SLOT ID | line list [DEVICE] | line remove ID |
 * line password ID. add and password print the password alone on the
 * last line of their output, once: it is stored for the protocol but
 * never shown again.
 */
int
cmd_line(int argc, char *argv[])
{
	struct store	*st;
	struct line_new	 ln;
	char		 pw[GOIP_LINE_PASSWORD_LEN + 1], *cause = NULL;
	int64_t		 rowid = -1;
	enum store_rc	 rc;
	int		 slot, ret;

	if (argc < 1)
		usage();
	if (strcmp(argv[0], "add") == 0) {
		if (argc != 4)
			usage();
		line_device_arg(argv[1]);
		slot = line_slot_arg(argv[2]);
		line_id_arg(argv[3]);
		ln.device = argv[1];
		ln.slot = slot;
		ln.line_id = argv[3];
		st = ctl_open(STORE_OPEN_CHECK);
		rc = line_add(st, &ln, pw, &cause);
		store_close(st);
		if (rc == STORE_NOTFOUND)
			return line_result(rc, "device", argv[1], cause);
		if ((ret = line_result(rc, "line add", argv[3], cause)) != 0)
			return ret;
		printf("line %s: device %s, slot %d; password:\n%s\n",
		    argv[3], argv[1], slot, pw);
		explicit_bzero(pw, sizeof(pw));
		return 0;
	}
	if (strcmp(argv[0], "list") == 0) {
		if (argc > 2)
			usage();
		if (argc == 2)
			line_device_arg(argv[1]);
		st = ctl_open(STORE_OPEN_CHECK);
		if (argc == 2 && (rc = device_lookup(st, argv[1], &rowid,
		    &cause)) != STORE_OK) {
			store_close(st);
			return line_result(rc, "device", argv[1], cause);
		}
		rc = line_list(st, rowid, stdout, &cause);
		store_close(st);
		return rc != STORE_OK ? ctl_fail("line list", cause) : 0;
	}
	if (argc != 2 || (strcmp(argv[0], "remove") != 0 &&
	    strcmp(argv[0], "password") != 0))
		usage();
	line_id_arg(argv[1]);
	st = ctl_open(STORE_OPEN_CHECK);
	if (strcmp(argv[0], "remove") == 0)
		rc = line_remove(st, argv[1], &cause);
	else
		rc = line_password(st, argv[1], pw, &cause);
	store_close(st);
	if ((ret = line_result(rc, "line", argv[1], cause)) != 0)
		return ret;
	if (strcmp(argv[0], "password") == 0) {
		printf("line %s: new password:\n%s\n", argv[1], pw);
		explicit_bzero(pw, sizeof(pw));
	}
	return 0;
}

/*
 * Queue USSD U for device DEVICE as OPERATOR; *ID gets the request's id.
 * Prints why and returns 1 when it cannot be queued.
 */
static int
line_ussd_queue(struct store *st, const char *device,
    const struct ussd_out *u, const char *operator, int64_t *id)
{
	struct ussd_send sd;
	char		*cause = NULL;
	enum store_rc	 rc;

	if ((rc = store_begin(st, &cause)) != STORE_OK)
		return ctl_fail("ussd", cause);
	sd.operator = operator;
	sd.now = util_now_ms();
	if ((rc = device_lookup(st, device, &sd.device, &cause)) == STORE_OK)
		rc = ussd_queue(st, u, &sd, id, &cause);
	if (rc != STORE_OK) {
		store_rollback(st);
		if (rc != STORE_NOTFOUND)
			return ctl_fail("ussd", cause);
		free(cause);
		if (device_lookup(st, device, &sd.device, &cause) != STORE_OK)
			fprintf(stderr, "goipctl: %s: no such device\n",
			    device);
		else
			fprintf(stderr, "goipctl: %s: no GoIP line on slot "
			    "%d\n", device, u->slot);
		free(cause);
		return 1;
	}
	if ((rc = store_commit(st, &cause)) != STORE_OK)
		return ctl_fail("ussd", cause);
	return 0;
}

/*
 * ussd [-t SECONDS] DEVICE SLOT CODE: queue the code for goip-udpd and
 * print the device's reply when it comes. Exit 1 on the device's error or
 * when no reply came within SECONDS (the request then stays with
 * goip-udpd, which fails it in the end; it is not sent twice).
 */
int
cmd_ussd(int argc, char *argv[])
{
	struct store		*st;
	struct json_object	*o;
	struct timespec		 ts = { 0, LINE_USSD_POLL * 1000000L };
	struct ussd_out		 u;
	const char		*who, *status;
	char			*cause = NULL, *end;
	long			 wait = LINE_USSD_WAIT;
	int64_t			 id, deadline;
	int			 ret;

	if (argc >= 2 && strcmp(argv[0], "-t") == 0) {
		errno = 0;
		wait = strtol(argv[1], &end, 10);
		if (*argv[1] == '\0' || *end != '\0' || errno != 0 ||
		    wait < 1 || wait > 3600)
			usage();
		argc -= 2;
		argv += 2;
	}
	if (argc != 3)
		usage();
	line_device_arg(argv[0]);
	u.slot = line_slot_arg(argv[1]);
	u.code = argv[2];
	if (!ussd_code_valid(argv[2])) {
		fprintf(stderr, "goipctl: %s: invalid USSD code (1-%d of "
		    "0-9 * # +)\n", argv[2], GOIP_USSD_CODE_MAX);
		usage();
	}
	if ((who = getenv("SUDO_USER")) == NULL &&
	    (who = getenv("USER")) == NULL)
		who = "goipctl";
	st = ctl_open(STORE_OPEN_CHECK);
	if ((ret = line_ussd_queue(st, argv[0], &u, who, &id)) != 0) {
		store_close(st);
		return ret;
	}
	deadline = util_mono_ms() + wait * 1000;
	for (;;) {
		if (ussd_json(st, id, &o, &cause) != STORE_OK) {
			/* Busy: look again; anything else ends the wait. */
			free(cause);
			cause = NULL;
			o = NULL;
		}
		status = o != NULL ? json_object_get_string(
		    json_object_object_get(o, "status")) : "";
		if (strcmp(status, "replied") == 0) {
			printf("%s\n", json_object_get_string(
			    json_object_object_get(o, "reply")));
			ret = 0;
			break;
		}
		if (strcmp(status, "failed") == 0) {
			fprintf(stderr, "goipctl: ussd %lld: %s\n",
			    (long long)id, json_object_get_string(
			    json_object_object_get(o, "error")));
			ret = 1;
			break;
		}
		json_object_put(o);
		o = NULL;
		if (util_mono_ms() >= deadline) {
			fprintf(stderr, "goipctl: ussd %lld: no reply within "
			    "%ld s (is goip-udpd running?)\n", (long long)id,
			    wait);
			ret = 1;
			break;
		}
		nanosleep(&ts, NULL);
	}
	json_object_put(o);
	store_close(st);
	return ret;
}
