/*
 * goipctl: the sysadmin's tool. Creates and migrates the database, manages
 * devices and their tokens, checks the configuration, prunes history.
 */
#include "config.h"

#include <errno.h>
#include <libgen.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "goip.h"
#include "ctl.h"

struct config	*cfg;

void
usage(void)
{
	fprintf(stderr,
	    "usage: goipctl [-c file] command [argument ...]\n"
	    "commands:\n"
	    "  init                        create the database and schema\n"
	    "  migrate                     apply pending schema migrations\n"
	    "  check                       check configuration and database\n"
	    "  prune                       delete old events and history\n"
	    "  device add ID [--name TEXT] register a device, print its token\n"
	    "  device list                 list devices\n"
	    "  device remove ID            remove a device and its data\n"
	    "  device token ID             issue a new token for a device\n"
	    "  sms send DEVICE SLOT TO TEXT queue an SMS, print it as JSON\n"
	    "  sms list [--device ID] [--limit N]\n"
	    "                              list recent SMS as JSON lines\n"
	    "  line add DEVICE SLOT ID     add a GoIP line, print its password\n"
	    "  line list [DEVICE]          list GoIP lines\n"
	    "  line remove ID              remove a GoIP line\n"
	    "  line password ID            issue a new password for a line\n"
	    "  ussd [-t SECONDS] DEVICE SLOT CODE\n"
	    "                              send a USSD code, print the reply\n"
	    "  webhook add URL [--events LIST] [--device ID]\n"
	    "                              add an endpoint, print its secret\n"
	    "  webhook list                list endpoints with state and lag\n"
	    "  webhook remove|enable|disable|secret|test ID\n"
	    "                              manage, re-key or ping an endpoint\n");
	exit(2);
}

struct store *
ctl_open(int mode)
{
	struct store	*st;
	char		*cause = NULL;

	if ((st = store_open(cfg->database, cfg->busy_timeout, mode,
	    &cause)) == NULL) {
		fprintf(stderr, "goipctl: %s\n", cause);
		free(cause);
		exit(1);
	}
	return st;
}

int
ctl_fail(const char *what, char *cause)
{
	fprintf(stderr, "goipctl: %s: %s\n", what,
	    cause != NULL ? cause : "failed");
	free(cause);
	return 1;
}

/*
 * Run as root, refuse to create the database in a directory another user
 * owns: the services run as that owner (goip, goip-deploy(7)), and a
 * database file root owns is one they cannot write. (SQLite gives the -wal
 * and -shm files root creates the database's owner, so only the creation
 * matters.) Returns 0 when root may go on (not root, the directory is
 * root's, or it does not exist: SQLite's error says so), else prints the
 * command to run and returns -1.
 */
static int
ctl_owner_check(const char *command)
{
	struct stat	 sb;
	struct passwd	*pw;
	char		*copy, *dir;
	int		 rc = 0;

	copy = xstrdup(cfg->database);
	dir = dirname(copy);
	if (geteuid() == 0 && stat(dir, &sb) == 0 && sb.st_uid != 0) {
		pw = getpwuid(sb.st_uid);
		fprintf(stderr, "goipctl: %s: %s as root would create it owned "
		    "by root, but %s belongs to %s, who runs the services: run "
		    "\"runuser -u %s -- goipctl %s\"\n",
		    cfg->database, command, dir,
		    pw != NULL ? pw->pw_name : "another user",
		    pw != NULL ? pw->pw_name : "OWNER", command);
		rc = -1;
	}
	free(copy);
	return rc;
}

/* init: create the database (mode 0640) and apply every migration. */
static int
cmd_init(int argc, char *argv[])
{
	struct store	*st;
	struct stat	 sb;
	char		*cause = NULL;
	int		 applied, v;

	if (argc != 0)
		usage();
	(void)argv;
	if (stat(cfg->database, &sb) == -1 && errno == ENOENT &&
	    ctl_owner_check("init") == -1)
		return 1;
	st = ctl_open(STORE_OPEN_CREATE);
	if ((v = store_version(st)) > 0) {
		fprintf(stderr, "goipctl: %s: already initialised (schema %d)"
		    "; use migrate\n", cfg->database, v);
		store_close(st);
		return 1;
	}
	if (store_migrate(st, &applied, &cause) == -1) {
		store_close(st);
		return ctl_fail("init", cause);
	}
	store_close(st);
	printf("%s: created, schema version %d\n", cfg->database, nmigrations);
	return 0;
}

/* migrate: apply the migrations the database lacks. */
static int
cmd_migrate(int argc, char *argv[])
{
	struct store	*st;
	char		*cause = NULL;
	int		 applied;

	if (argc != 0)
		usage();
	(void)argv;
	st = ctl_open(STORE_OPEN_ANY);
	if (store_migrate(st, &applied, &cause) == -1) {
		store_close(st);
		return ctl_fail("migrate", cause);
	}
	store_close(st);
	printf("%s: %d migration%s applied, schema version %d\n",
	    cfg->database, applied, applied == 1 ? "" : "s", nmigrations);
	return 0;
}

/* check: the configuration parsed (we got here) and the database is usable. */
static int
cmd_check(int argc, char *argv[])
{
	struct store	*st;
	struct stat	 sb;
	char		*cause = NULL;
	enum store_rc	 rc;

	if (argc != 0)
		usage();
	(void)argv;
	config_print(cfg, stdout);
	if (stat(cfg->database, &sb) == -1 && errno == ENOENT) {
		fprintf(stderr, "goipctl: %s: no database: run goipctl init\n",
		    cfg->database);
		return 1;
	}
	st = ctl_open(STORE_OPEN_ANY);
	if (store_check_version(st, &cause) == -1) {
		store_close(st);
		return ctl_fail("check", cause);
	}
	rc = store_quick_check(st, &cause);
	store_close(st);
	if (rc != STORE_OK) {
		fprintf(stderr, "goipctl: %s: integrity check failed\n",
		    cfg->database);
		free(cause);
		return 1;
	}
	printf("%s: ok (schema version %d)\n", cfg->database, nmigrations);
	return 0;
}

/*
 * prune: events older than event_retention and, when sms_retention is set,
 * SMS older than it, in batches of PRUNE_BATCH rows, each its own short
 * transaction (lib/prune.c), so goip-cgi and the notifier write in between.
 * The heartbeat history is trimmed on every heartbeat already.
 */
static int
cmd_prune(int argc, char *argv[])
{
	struct store	*st;
	struct prune	 p;
	char		*cause = NULL;
	int64_t		 now = util_now_ms();
	enum store_rc	 rc;

	if (argc != 0)
		usage();
	(void)argv;
	st = ctl_open(STORE_OPEN_CHECK);
	memset(&p, 0, sizeof(p));
	while ((rc = prune_step(st, cfg, now, &p, &cause)) == STORE_OK &&
	    !p.done)
		;
	store_close(st);
	if (rc != STORE_OK)
		return ctl_fail("prune", cause);
	printf("%lld events pruned\n", (long long)p.total[PRUNE_EVENTS]);
	printf("%lld sms pruned\n", (long long)p.total[PRUNE_SMS]);
	return 0;
}

static int
cmd_device(int argc, char *argv[])
{
	struct store	*st;
	char		 token[GOIP_TOKEN_LEN + 1], *cause = NULL;
	const char	*name = NULL;
	enum store_rc	 rc;
	int		 i;

	if (argc < 1)
		usage();
	if (strcmp(argv[0], "list") == 0) {
		if (argc != 1)
			usage();
		st = ctl_open(STORE_OPEN_CHECK);
		if (device_list(st, stdout, &cause) != STORE_OK) {
			store_close(st);
			return ctl_fail("device list", cause);
		}
		store_close(st);
		return 0;
	}
	if (argc < 2)
		usage();
	if (!valid_device_id(argv[1])) {
		fprintf(stderr, "goipctl: %s: invalid device id (1-64 of "
		    "A-Z a-z 0-9 . _ : -)\n", argv[1]);
		return 1;
	}
	if (strcmp(argv[0], "add") == 0) {
		for (i = 2; i < argc; i++) {
			if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
				name = argv[++i];
			else
				usage();
		}
		for (i = 0; name != NULL && name[i] != '\0'; i++)
			if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
				break;
		if (name != NULL && (strlen(name) > GOIP_NAME_MAX ||
		    name[i] != '\0' || !util_utf8_valid(name, strlen(name)))) {
			fprintf(stderr, "goipctl: invalid name\n");
			return 1;
		}
		st = ctl_open(STORE_OPEN_CHECK);
		rc = device_add(st, argv[1], name, token, &cause);
		store_close(st);
		if (rc == STORE_CONFLICT) {
			fprintf(stderr, "goipctl: %s: device exists\n",
			    argv[1]);
			free(cause);
			return 1;
		}
		if (rc != STORE_OK)
			return ctl_fail("device add", cause);
		printf("%s\n", token);
		explicit_bzero(token, sizeof(token));
		return 0;
	}
	if (argc != 2)
		usage();
	st = ctl_open(STORE_OPEN_CHECK);
	if (strcmp(argv[0], "remove") == 0)
		rc = device_remove(st, argv[1], &cause);
	else if (strcmp(argv[0], "token") == 0)
		rc = device_rotate_token(st, argv[1], token, &cause);
	else {
		store_close(st);
		usage();
	}
	store_close(st);
	if (rc == STORE_NOTFOUND) {
		fprintf(stderr, "goipctl: %s: no such device\n", argv[1]);
		return 1;
	}
	if (rc != STORE_OK)
		return ctl_fail(argv[0], cause);
	if (strcmp(argv[0], "token") == 0) {
		printf("%s\n", token);
		explicit_bzero(token, sizeof(token));
	}
	return 0;
}

/*
 * sms send: queue an SMS as the operator "goipctl" (or $SUDO_USER/$USER),
 * exactly as POST /api/sms/send does, and ring the notifier.
 */
static int
cmd_sms_send(int argc, char *argv[])
{
	struct store		*st;
	struct json_object	*req, *o;
	struct sms_out		 sms;
	struct sms_send		 by;
	struct sms_stored	 res;
	struct verr		 err;
	char			*cause = NULL, *end;
	long			 slot;
	enum store_rc		 rc;

	if (argc != 5)
		usage();
	slot = strtol(argv[2], &end, 10);
	if (*end != '\0' || slot < 1 || slot > GOIP_SLOT_MAX) {
		fprintf(stderr, "goipctl: %s: invalid slot\n", argv[2]);
		return 1;
	}
	if (!util_utf8_valid(argv[4], strlen(argv[4]))) {
		fprintf(stderr, "goipctl: text is not valid UTF-8\n");
		return 1;
	}
	req = json_object_new_object();
	json_object_object_add(req, "deviceId", json_object_new_string(argv[1]));
	json_object_object_add(req, "slot", json_object_new_int((int)slot));
	json_object_object_add(req, "to", json_object_new_string(argv[3]));
	json_object_object_add(req, "text", json_object_new_string(argv[4]));
	memset(&err, 0, sizeof(err));
	if (valid_sms_out(req, &sms, &err) == -1) {
		fprintf(stderr, "goipctl: %s: %s\n", err.field, err.msg);
		json_object_put(req);
		return 1;
	}
	memset(&by, 0, sizeof(by));
	if ((by.operator = getenv("SUDO_USER")) == NULL &&
	    (by.operator = getenv("USER")) == NULL)
		by.operator = "goipctl";
	by.now = util_now_ms();
	by.expire = cfg->sms_expire;
	st = ctl_open(STORE_OPEN_CHECK);
	if ((rc = store_begin(st, &cause)) == STORE_OK) {
		rc = device_lookup(st, sms.device, &by.device, &cause);
		if (rc == STORE_OK)
			rc = sms_queue(st, &sms, &by, &res, &cause);
		if (rc == STORE_OK)
			rc = store_commit(st, &cause);
		else
			store_rollback(st);
	}
	if (rc == STORE_NOTFOUND) {
		fprintf(stderr, "goipctl: %s: no such device\n", sms.device);
		rc = 1;
	} else if (rc != STORE_OK) {
		rc = ctl_fail("sms send", cause);
		cause = NULL;
	} else {
		evlog_notify(cfg->notify_socket, res.evid);
		if (sms_json(st, res.id, &o, &cause) == STORE_OK) {
			printf("%s\n", json_object_to_json_string_ext(o,
			    JSON_C_TO_STRING_PLAIN |
			    JSON_C_TO_STRING_NOSLASHESCAPE));
			json_object_put(o);
		}
		rc = 0;
	}
	free(cause);
	json_object_put(req);
	store_close(st);
	return rc;
}

/* sms list: recent messages as JSON, one per line (text is JSON-escaped). */
static int
cmd_sms(int argc, char *argv[])
{
	struct store		*st;
	struct json_object	*arr;
	struct sms_page		 page;
	char			*cause = NULL, *end;
	const char		*device = NULL;
	int64_t			 rowid = -1;
	long			 limit = 20;
	size_t			 i;
	int			 a;

	if (argc >= 1 && strcmp(argv[0], "send") == 0)
		return cmd_sms_send(argc, argv);
	if (argc < 1 || strcmp(argv[0], "list") != 0)
		usage();
	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--device") == 0 && a + 1 < argc)
			device = argv[++a];
		else if (strcmp(argv[a], "--limit") == 0 && a + 1 < argc) {
			errno = 0;
			limit = strtol(argv[++a], &end, 10);
			if (errno != 0 || *end != '\0' || limit < 1 ||
			    limit > 100000)
				usage();
		} else
			usage();
	}
	st = ctl_open(STORE_OPEN_CHECK);
	if (device != NULL && device_lookup(st, device, &rowid, &cause) !=
	    STORE_OK) {
		store_close(st);
		fprintf(stderr, "goipctl: %s: no such device\n", device);
		free(cause);
		return 1;
	}
	page.device = rowid;
	page.direction = NULL;
	page.limit = (int)limit;
	page.before = 0;
	if (sms_list_json(st, &page, &arr, &cause) != STORE_OK) {
		store_close(st);
		return ctl_fail("sms list", cause);
	}
	for (i = 0; i < json_object_array_length(arr); i++)
		printf("%s\n", json_object_to_json_string_ext(
		    json_object_array_get_idx(arr, i), JSON_C_TO_STRING_PLAIN |
		    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(arr);
	store_close(st);
	return 0;
}

/*
 * The commands by name; each gets the words after its name (init, migrate,
 * check and prune take none).
 */
static const struct {
	const char	*name;
	int		(*fn)(int, char *[]);
} ctl_commands[] = {
	{ "init", cmd_init },
	{ "migrate", cmd_migrate },
	{ "check", cmd_check },
	{ "prune", cmd_prune },
	{ "device", cmd_device },
	{ "sms", cmd_sms },
	{ "webhook", cmd_webhook },
	{ "line", cmd_line },
	{ "ussd", cmd_ussd },
};

int
main(int argc, char *argv[])
{
	const char	*conffile = NULL;
	char		*cause = NULL;
	size_t		 i;
	int		 ch;

	log_init("goipctl", 1, LOG_LEVEL_WARN);
	while ((ch = getopt(argc, argv, "+c:")) != -1) {
		switch (ch) {
		case 'c':
			conffile = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	cfg = config_new();
	if (config_load(cfg, conffile, &cause) == -1) {
		fprintf(stderr, "goipctl: %s\n", cause);
		free(cause);
		config_free(cfg);
		return 1;
	}
	umask(027);
	for (i = 0; i < sizeof(ctl_commands) / sizeof(ctl_commands[0]); i++)
		if (strcmp(ctl_commands[i].name, argv[0]) == 0)
			return ctl_commands[i].fn(argc - 1, argv + 1);
	usage();
}
