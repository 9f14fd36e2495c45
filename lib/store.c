/*
 * store.c: the SQLite database every program shares.
 *
 * One connection per process (two in goip-cgi: one for reading, one whose
 * transactions are grouped, group.c), in WAL mode with foreign keys on and
 * a busy timeout. Writers take the lock up front (BEGIN IMMEDIATE) so a busy
 * database shows as STORE_BUSY at the start of a transaction rather than as
 * a deadlock in its middle. Prepared statements are cached by the address of
 * their SQL text: callers pass string literals.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <sqlite3.h>

#include "goip.h"
#include "store_int.h"

/*
 * The busy handler: wait for the lock in short, growing sleeps (50 us up to
 * 2 ms) until busy_timeout has passed since the first try. SQLite's own
 * busy_timeout sleeps 1, 2, 5, 10 ... 100 ms, which with several writers
 * makes the wait for a lock held for well under a millisecond the largest
 * part of a request's latency.
 */
static int
store_busy_cb(void *arg, int count)
{
	struct store	*st = arg;
	struct timespec	 ts, now;
	int64_t		 us;

	clock_gettime(CLOCK_MONOTONIC, &now);
	us = (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
	if (count == 0)
		st->busy_since = us;
	else if (us - st->busy_since >= st->busy_timeout * 1000)
		return 0;
	us = 50LL << (count < 5 ? count : 5);
	ts.tv_sec = 0;
	ts.tv_nsec = (long)us * 1000;
	nanosleep(&ts, NULL);
	return 1;
}

static int
store_pragma(struct store *st, const char *sql, char **cause)
{
	char	*err = NULL;

	if (sqlite3_exec(st->db, sql, NULL, NULL, &err) != SQLITE_OK) {
		xasprintf(cause, "%s: %s: %s", st->path, sql,
		    err != NULL ? err : sqlite3_errmsg(st->db));
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

/*
 * Describe why this process may not use the file at PATH with access mode
 * AMODE (R_OK, W_OK, X_OK or'd), naming the user, the first permission
 * missing, the file's owner and mode: "user www-data (uid 33) may not
 * enter /var/lib/goip (goip:goip, mode 0750)". Returns an allocated string,
 * or NULL when access is allowed or the file is missing.
 */
static char *
store_access_why(const char *path, int amode)
{
	static const struct {
		int		 bit;
		const char	*file, *dir;
	} perms[] = {
		{ X_OK, "execute", "enter" },
		{ R_OK, "read", "list" },
		{ W_OK, "write", "create files in" },
	};
	struct stat	 sb;
	struct passwd	*pw;
	struct group	*gr;
	char		 user[64], owner[64], group[64], *why = NULL;
	const char	*verb = NULL;
	size_t		 i;

	if (stat(path, &sb) == -1)
		return NULL;
	for (i = 0; i < sizeof(perms) / sizeof(perms[0]) && verb == NULL; i++)
		if ((amode & perms[i].bit) && faccessat(AT_FDCWD, path,
		    perms[i].bit, AT_EACCESS) == -1)
			verb = S_ISDIR(sb.st_mode) ? perms[i].dir :
			    perms[i].file;
	if (verb == NULL)
		return NULL;
	if ((pw = getpwuid(geteuid())) != NULL)
		snprintf(user, sizeof(user), "%s", pw->pw_name);
	else
		snprintf(user, sizeof(user), "%u", (unsigned)geteuid());
	if ((pw = getpwuid(sb.st_uid)) != NULL)
		snprintf(owner, sizeof(owner), "%s", pw->pw_name);
	else
		snprintf(owner, sizeof(owner), "%u", (unsigned)sb.st_uid);
	if ((gr = getgrgid(sb.st_gid)) != NULL)
		snprintf(group, sizeof(group), "%s", gr->gr_name);
	else
		snprintf(group, sizeof(group), "%u", (unsigned)sb.st_gid);
	xasprintf(&why, "user %s (uid %u) may not %s %s (%s:%s, mode %04o)",
	    user, (unsigned)geteuid(), verb, path, owner, group,
	    (unsigned)(sb.st_mode & 07777));
	return why;
}

/*
 * Find the permission that keeps this process from opening the database at
 * PATH in MODE: searching its directory, reading and writing the file,
 * creating it (STORE_OPEN_CREATE) or SQLite's -wal and -shm files beside it
 * (whoever opens the database first creates them), or reading and writing
 * those when they exist. Returns an allocated sentence, or NULL when every
 * permission is there.
 */
static char *
store_access(const char *path, int mode)
{
	static const char *const	 side[] = { "-wal", "-shm" };
	struct stat			 sb;
	char				*copy, *dir, *side_path, *why;
	int				 exists;
	size_t				 i;

	if ((copy = strdup(path)) == NULL)
		return NULL;
	dir = dirname(copy);
	if ((why = store_access_why(dir, X_OK)) != NULL)
		goto done;
	exists = stat(path, &sb) == 0;
	if (!exists) {
		if (mode == STORE_OPEN_CREATE)
			why = store_access_why(dir, W_OK | X_OK);
		else
			xasprintf(&why, "%s does not exist", path);
		goto done;
	}
	if ((why = store_access_why(path, R_OK | W_OK)) != NULL)
		goto done;
	for (i = 0; i < sizeof(side) / sizeof(side[0]); i++) {
		xasprintf(&side_path, "%s%s", path, side[i]);
		if (stat(side_path, &sb) == 0)
			why = store_access_why(side_path, R_OK | W_OK);
		else
			why = store_access_why(dir, W_OK | X_OK);
		free(side_path);
		if (why != NULL)
			goto done;
	}
done:
	free(copy);
	return why;
}

/*
 * Add to *CAUSE the permission store_access() finds missing, if any.
 */
static void
store_access_cause(const char *path, int mode, char **cause)
{
	char	*why, *old = *cause;

	if ((why = store_access(path, mode)) == NULL)
		return;
	xasprintf(cause, "%s: %s", old, why);
	free(old);
	free(why);
}

/*
 * Open the database at PATH. MODE is STORE_OPEN_CHECK (the file must exist
 * and hold the schema this program knows), STORE_OPEN_CREATE (create the
 * file, mode 0640, if missing) or STORE_OPEN_ANY (exists, any schema: for
 * migrate and check). Returns the store, or NULL with *cause set; when
 * a permission is missing, *cause names the file, the user and the
 * permission.
 */
struct store *
store_open(const char *path, int64_t busy_timeout, int mode, char **cause)
{
	struct store	*st;
	int		 flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	mode_t		 old;

	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    (st->path = strdup(path)) == NULL) {
		free(st);
		xasprintf(cause, "%s: out of memory", path);
		return NULL;
	}
	st->busy_timeout = busy_timeout;
	if (mode == STORE_OPEN_CREATE)
		flags |= SQLITE_OPEN_CREATE;
	old = umask(027);
	if (sqlite3_open_v2(path, &st->db, flags, NULL) != SQLITE_OK) {
		umask(old);
		xasprintf(cause, "%s: %s", path, st->db != NULL ?
		    sqlite3_errmsg(st->db) : "cannot open");
		store_access_cause(path, mode, cause);
		goto fail;
	}
	umask(old);
	sqlite3_extended_result_codes(st->db, 0);
	sqlite3_busy_handler(st->db, store_busy_cb, st);
	if (store_pragma(st, "PRAGMA journal_mode=WAL", cause) == -1 ||
	    store_pragma(st, "PRAGMA synchronous=NORMAL", cause) == -1 ||
	    store_pragma(st, "PRAGMA foreign_keys=ON", cause) == -1 ||
	    store_pragma(st, "PRAGMA trusted_schema=OFF", cause) == -1) {
		store_access_cause(path, mode, cause);
		goto fail;
	}
	if (mode == STORE_OPEN_CHECK && store_check_version(st, cause) == -1)
		goto fail;
	return st;
fail:
	store_close(st);
	return NULL;
}

void
store_close(struct store *st)
{
	int	 i;

	if (st == NULL)
		return;
	for (i = 0; i < st->nstmts; i++)
		sqlite3_finalize(st->stmts[i].stmt);
	sqlite3_close(st->db);
	free(st->path);
	free(st);
}

/*
 * Wait at most MS milliseconds for a lock from now on (the busy_timeout
 * given to store_open() otherwise). goip-notifier sets a short one: its
 * event loop must not sleep behind a writer; it retries later instead.
 */
void
store_set_busy_timeout(struct store *st, int64_t ms)
{
	st->busy_timeout = ms;
}

/* The schema version (PRAGMA user_version), or -1. */
int
store_version(struct store *st)
{
	sqlite3_stmt	*stmt;
	int		 v = -1;

	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &stmt,
	    NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(stmt) == SQLITE_ROW)
		v = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	return v;
}

/* 0 when the schema is the one this program was built for, else -1. */
int
store_check_version(struct store *st, char **cause)
{
	int	 v;

	if ((v = store_version(st)) == -1) {
		xasprintf(cause, "%s: %s", st->path, sqlite3_errmsg(st->db));
		return -1;
	}
	if (v == 0) {
		xasprintf(cause, "%s: no schema: run goipctl init", st->path);
		return -1;
	}
	if (v < nmigrations) {
		xasprintf(cause, "%s: schema version %d is older than %d: "
		    "run goipctl migrate", st->path, v, nmigrations);
		return -1;
	}
	if (v > nmigrations) {
		xasprintf(cause, "%s: schema version %d is newer than this "
		    "program (%d)", st->path, v, nmigrations);
		return -1;
	}
	return 0;
}

/*
 * Apply every migration newer than the database, each in its own
 * transaction with its version bump. *applied counts them. Returns 0, or -1
 * with *cause set; a failed migration leaves the database at the version
 * before it.
 */
int
store_migrate(struct store *st, int *applied, char **cause)
{
	char	*err = NULL, *sql;
	int	 v;

	*applied = 0;
	if ((v = store_version(st)) == -1) {
		xasprintf(cause, "%s: %s", st->path, sqlite3_errmsg(st->db));
		return -1;
	}
	if (v > nmigrations) {
		xasprintf(cause, "%s: schema version %d is newer than this "
		    "program (%d)", st->path, v, nmigrations);
		return -1;
	}
	for (; v < nmigrations; v++) {
		xasprintf(&sql, "BEGIN IMMEDIATE;\n%s\nPRAGMA user_version = %d;"
		    "\nCOMMIT;", migrations[v], v + 1);
		if (sqlite3_exec(st->db, sql, NULL, NULL, &err) != SQLITE_OK) {
			xasprintf(cause, "%s: migration %d: %s", st->path,
			    v + 1, err != NULL ? err : sqlite3_errmsg(st->db));
			sqlite3_free(err);
			free(sql);
			sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
		free(sql);
		(*applied)++;
	}
	return 0;
}

/*
 * Set *STMTP to the prepared statement for SQL (a string literal: it is
 * cached by address), reset and with its bindings cleared. Returns STORE_OK,
 * or the store_rc of the failed prepare (STORE_BUSY when the schema could
 * not be read behind a lock) with *cause set and *STMTP NULL.
 */
enum store_rc
store_stmt(struct store *st, const char *sql, sqlite3_stmt **stmtp,
    char **cause)
{
	sqlite3_stmt	*stmt;
	int		 i, rc;

	*stmtp = NULL;
	for (i = 0; i < st->nstmts; i++) {
		if (st->stmts[i].sql == sql) {
			sqlite3_reset(st->stmts[i].stmt);
			sqlite3_clear_bindings(st->stmts[i].stmt);
			*stmtp = st->stmts[i].stmt;
			return STORE_OK;
		}
	}
	if ((rc = sqlite3_prepare_v3(st->db, sql, -1,
	    SQLITE_PREPARE_PERSISTENT, &stmt, NULL)) != SQLITE_OK)
		return store_rc(st, rc, cause);
	if (st->nstmts >= STORE_STMTS_MAX)
		fatalx("store: statement cache full");
	st->stmts[st->nstmts].sql = sql;
	st->stmts[st->nstmts].stmt = stmt;
	st->nstmts++;
	*stmtp = stmt;
	return STORE_OK;
}

/*
 * Map an SQLite result code to a store_rc, setting *cause for errors; a
 * permission error names the file, the user and the permission missing.
 */
enum store_rc
store_rc(struct store *st, int rc, char **cause)
{
	enum store_rc	 src;

	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return STORE_OK;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		xasprintf(cause, "database busy");
		src = STORE_BUSY;
		break;
	case SQLITE_CONSTRAINT:
		xasprintf(cause, "constraint: %s", sqlite3_errmsg(st->db));
		src = STORE_CONFLICT;
		break;
	case SQLITE_FULL:
		xasprintf(cause, "%s: %s", st->path, sqlite3_errmsg(st->db));
		src = STORE_FULL;
		break;
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
		/* A file SQLite opens late (-wal, -shm), or a read-only one. */
		xasprintf(cause, "%s: %s", st->path, sqlite3_errmsg(st->db));
		store_access_cause(st->path, STORE_OPEN_ANY, cause);
		src = STORE_ERROR;
		break;
	default:
		xasprintf(cause, "%s: %s", st->path, sqlite3_errmsg(st->db));
		src = STORE_ERROR;
		break;
	}
	st->lastrc = src;
	return src;
}

/*
 * Run SQL, a statement without rows given as a string literal: prepared
 * once and cached like store_stmt(), since the transaction statements run
 * for every request and compiling them each time cost more than running.
 */
enum store_rc
store_exec(struct store *st, const char *sql, char **cause)
{
	sqlite3_stmt	*stmt;
	enum store_rc	 rc;

	if ((rc = store_stmt(st, sql, &stmt, cause)) != STORE_OK)
		return rc;
	return store_run(st, stmt, cause);
}

/* Start a write transaction, taking the write lock now. */
enum store_rc
store_begin(struct store *st, char **cause)
{
	enum store_rc	 rc;

	if (st->group)
		return group_begin(st, cause);
	if (st->intx)
		fatalx("store: nested transaction");
	rc = store_exec(st, "BEGIN IMMEDIATE", cause);
	if (rc == STORE_OK)
		st->intx = 1;
	return rc;
}

enum store_rc
store_commit(struct store *st, char **cause)
{
	enum store_rc	 rc;

	if (st->group)
		return group_commit(st, cause);
	rc = store_exec(st, "COMMIT", cause);
	if (rc != STORE_OK)
		store_rollback(st);
	st->intx = 0;
	return rc;
}

/*
 * Abandon the transaction, if any; nothing of it is kept (in a shared store:
 * nothing of this request's part).
 */
void
store_rollback(struct store *st)
{
	if (st->group) {
		group_rollback(st);
		return;
	}
	if (sqlite3_get_autocommit(st->db) == 0)
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	st->intx = 0;
}

/*
 * Bind parameters 1..n of STMT from FMT: 's' text (NULL binds NULL), 'z'
 * text with length (const char *, size_t), 'l' int64_t, 'i' int, 'n' int
 * where a negative value binds NULL, 'b' 32-byte blob (NULL binds NULL).
 * Text and blobs are bound SQLITE_STATIC: the caller keeps them alive until
 * the statement is reset.
 *
 * Binding cannot fail at run time: nothing is copied or allocated, every
 * text the programs bind is bounded far below SQLITE_LIMIT_LENGTH, and the
 * statement was just reset by store_stmt(). What is left (a format letter
 * SQLite has no parameter for, an unknown letter) is a bug in the caller,
 * which the tests meet: it stops the program rather than run a statement
 * with parameters missing.
 */
static void	store_vbind(sqlite3_stmt *, const char *, va_list);

void
store_bind(sqlite3_stmt *stmt, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	store_vbind(stmt, fmt, ap);
	va_end(ap);
}

/* store_bind() with the parameters in AP (the caller ends AP). */
static void
store_vbind(sqlite3_stmt *stmt, const char *fmt, va_list ap)
{
	const char	*s, *f;
	const void	*b;
	size_t		 len;
	int		 idx, rc = SQLITE_OK, v;

	for (f = fmt, idx = 1; *f != '\0' && rc == SQLITE_OK; f++, idx++) {
		switch (*f) {
		case 's':
			s = va_arg(ap, const char *);
			rc = s == NULL ? sqlite3_bind_null(stmt, idx) :
			    sqlite3_bind_text(stmt, idx, s, -1, SQLITE_STATIC);
			break;
		case 'z':
			s = va_arg(ap, const char *);
			len = va_arg(ap, size_t);
			rc = len > INT_MAX ? SQLITE_TOOBIG :
			    sqlite3_bind_text(stmt, idx, s, (int)len,
			    SQLITE_STATIC);
			break;
		case 'l':
			rc = sqlite3_bind_int64(stmt, idx,
			    va_arg(ap, int64_t));
			break;
		case 'i':
			rc = sqlite3_bind_int(stmt, idx, va_arg(ap, int));
			break;
		case 'n':
			v = va_arg(ap, int);
			rc = v < 0 ? sqlite3_bind_null(stmt, idx) :
			    sqlite3_bind_int(stmt, idx, v);
			break;
		case 'b':
			b = va_arg(ap, const void *);
			rc = b == NULL ? sqlite3_bind_null(stmt, idx) :
			    sqlite3_bind_blob(stmt, idx, b, 32, SQLITE_STATIC);
			break;
		default:
			rc = SQLITE_MISUSE;
			break;
		}
	}
	if (rc != SQLITE_OK)
		fatalx("store: bind \"%s\" parameter %d of \"%s\": %s", fmt,
		    idx - 1, sqlite3_sql(stmt), sqlite3_errstr(rc));
}

/*
 * Run the one-statement write SQL in its own transaction, its parameters
 * bound from the arguments after FMT as store_bind() does. Returns STORE_OK
 * once committed, STORE_NOTFOUND (rolled back) when it changed no row, or
 * the store_rc of the failure with *cause set and nothing written.
 */
enum store_rc
store_write(struct store *st, const char *sql, char **cause,
    const char *fmt, ...)
{
	sqlite3_stmt	*stmt;
	enum store_rc	 rc;
	va_list		 ap;

	if ((rc = store_begin(st, cause)) != STORE_OK)
		return rc;
	if ((rc = store_stmt(st, sql, &stmt, cause)) != STORE_OK)
		goto fail;
	va_start(ap, fmt);
	store_vbind(stmt, fmt, ap);
	va_end(ap);
	if ((rc = store_run(st, stmt, cause)) != STORE_OK)
		goto fail;
	if (sqlite3_changes(st->db) == 0) {
		rc = STORE_NOTFOUND;
		goto fail;
	}
	return store_commit(st, cause);
fail:
	store_rollback(st);
	return rc;
}

/*
 * The requests whose writes the open group kept so far (group.c): goip-cgi
 * compares it around a request to learn whether that request wrote.
 */
int
store_group_members(const struct store *st)
{
	return st->gmembers;
}

/*
 * Run PRAGMA quick_check. Returns STORE_OK when the database is sound,
 * STORE_ERROR with *cause set when it is not, or the store_rc of the
 * failure (e.g. STORE_BUSY) when it cannot be read.
 */
enum store_rc
store_quick_check(struct store *st, char **cause)
{
	static const char *const sql = "PRAGMA quick_check";
	sqlite3_stmt	*stmt;
	const char	*r;
	enum store_rc	 rc;
	int		 sr;

	if ((rc = store_stmt(st, sql, &stmt, cause)) != STORE_OK)
		return rc;
	if ((sr = sqlite3_step(stmt)) != SQLITE_ROW) {
		rc = store_rc(st, sr == SQLITE_DONE ? SQLITE_ERROR : sr, cause);
		sqlite3_reset(stmt);
		return rc;
	}
	r = (const char *)sqlite3_column_text(stmt, 0);
	if (r == NULL || strcmp(r, "ok") != 0) {
		xasprintf(cause, "%s: integrity check failed: %s", st->path,
		    r != NULL ? r : "no answer");
		rc = STORE_ERROR;
	}
	sqlite3_reset(stmt);
	return rc;
}

/* Step STMT to completion (a write); rows, if any, are ignored. */
enum store_rc
store_run(struct store *st, sqlite3_stmt *stmt, char **cause)
{
	int	 rc;

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		;
	rc = store_rc(st, rc, cause);
	sqlite3_reset(stmt);
	return rc;
}

/*
 * Step STMT to its first row. Returns STORE_OK with the row's columns to
 * read, STORE_NOTFOUND when there is no row, or the store_rc of the failure
 * with *cause set. The caller resets STMT in every case.
 */
enum store_rc
store_row(struct store *st, sqlite3_stmt *stmt, char **cause)
{
	int	 rc;

	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		return STORE_OK;
	if (rc == SQLITE_DONE)
		return STORE_NOTFOUND;
	return store_rc(st, rc, cause);
}

/*
 * Step STMT (bound, not yet stepped) and put the first column of each row
 * into IDS, which has room for *N; *N gets how many. Rows past that room
 * are left unread. Resets STMT. Returns STORE_OK, or the store_rc of the
 * failure with *cause set.
 */
enum store_rc
store_ids(struct store *st, sqlite3_stmt *stmt, int64_t *ids, int *n,
    char **cause)
{
	int	 max = *n, rc;

	*n = 0;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW && *n < max)
		ids[(*n)++] = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW)
		return store_rc(st, rc, cause);
	return STORE_OK;
}

/*
 * Set *OUT to ROW's new object for the one row of STMT (bound, not yet
 * stepped), and reset STMT. Returns STORE_OK, STORE_NOTFOUND when there is
 * no row, or the store_rc of the failure with *cause set; *OUT is NULL but
 * on STORE_OK.
 */
enum store_rc
store_json_row(struct store *st, sqlite3_stmt *stmt,
    struct json_object *(*row)(sqlite3_stmt *), struct json_object **out,
    char **cause)
{
	enum store_rc	 src;

	*out = NULL;
	if ((src = store_row(st, stmt, cause)) == STORE_OK &&
	    (*out = row(stmt)) == NULL) {
		xasprintf(cause, "out of memory");
		src = STORE_ERROR;
	}
	sqlite3_reset(stmt);
	return src;
}

/*
 * Set *OUT to a new array of ROW's object for each row of STMT (bound, not
 * yet stepped), and reset STMT. Returns STORE_OK, or the store_rc of the
 * failure with *cause set and *OUT NULL.
 */
enum store_rc
store_json_rows(struct store *st, sqlite3_stmt *stmt,
    struct json_object *(*row)(sqlite3_stmt *), struct json_object **out,
    char **cause)
{
	struct json_object	*arr;
	enum store_rc		 src;
	int			 rc;

	*out = NULL;
	if ((arr = json_object_new_array()) == NULL) {
		sqlite3_reset(stmt);
		xasprintf(cause, "out of memory");
		return STORE_ERROR;
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		json_object_array_add(arr, row(stmt));
	sqlite3_reset(stmt);
	if ((src = store_rc(st, rc, cause)) != STORE_OK) {
		json_object_put(arr);
		return src;
	}
	*out = arr;
	return STORE_OK;
}

/* Add the columns of the current row of STMT that COLS names to OBJ. */
void
store_json_cols(struct json_object *obj, sqlite3_stmt *stmt,
    const struct store_col *cols)
{
	for (; cols->key != NULL; cols++)
		cols->add(obj, cols->key, stmt, cols->col);
}

/* A new object of the columns of the current row of STMT that COLS names. */
struct json_object *
store_json_object(sqlite3_stmt *stmt, const struct store_col *cols)
{
	struct json_object	*o;

	if ((o = json_object_new_object()) != NULL)
		store_json_cols(o, stmt, cols);
	return o;
}

/* Add column COL of the current row to OBJ as KEY: text, or null. */
void
store_json_text(struct json_object *obj, const char *key, sqlite3_stmt *stmt,
    int col)
{
	const unsigned char	*s;

	if (sqlite3_column_type(stmt, col) == SQLITE_NULL ||
	    (s = sqlite3_column_text(stmt, col)) == NULL) {
		json_object_object_add(obj, key, NULL);
		return;
	}
	json_object_object_add(obj, key, json_object_new_string_len(
	    (const char *)s, sqlite3_column_bytes(stmt, col)));
}

void
store_json_int(struct json_object *obj, const char *key, sqlite3_stmt *stmt,
    int col)
{
	if (sqlite3_column_type(stmt, col) == SQLITE_NULL)
		json_object_object_add(obj, key, NULL);
	else
		json_object_object_add(obj, key, json_object_new_int64(
		    sqlite3_column_int64(stmt, col)));
}

void
store_json_bool(struct json_object *obj, const char *key, sqlite3_stmt *stmt,
    int col)
{
	if (sqlite3_column_type(stmt, col) == SQLITE_NULL)
		json_object_object_add(obj, key, NULL);
	else
		json_object_object_add(obj, key, json_object_new_boolean(
		    sqlite3_column_int(stmt, col) != 0));
}

/* A JSON string holding MS as RFC 3339, or NULL (JSON null). */
struct json_object *
store_json_timeval(int64_t ms)
{
	char	 buf[64];

	if (util_time_format(ms, buf, sizeof(buf)) == -1)
		return NULL;
	return json_object_new_string(buf);
}

void
store_json_time(struct json_object *obj, const char *key, sqlite3_stmt *stmt,
    int col)
{
	if (sqlite3_column_type(stmt, col) == SQLITE_NULL)
		json_object_object_add(obj, key, NULL);
	else
		json_object_object_add(obj, key, store_json_timeval(
		    sqlite3_column_int64(stmt, col)));
}
