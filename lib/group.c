/*
 * group.c: group commit, the writes of several requests in one transaction.
 *
 * goip-cgi takes every request already waiting on its socket, serves them
 * one after the other and commits their writes together, instead of paying
 * for a commit each (the WAL frames of every page touched and a round of
 * file locks, most of a heartbeat's cost). Each request's writes run in
 * their own savepoint, so a request that fails undoes only its own; the
 * requests that kept theirs learn the outcome from group_end(), and nobody
 * is told "stored" before the commit that holds its writes.
 *
 * Between group_start() and group_end(), store_begin(), store_commit() and
 * store_rollback() on the store work on the group; outside, as usual.
 */
#include "config.h"

#include <stdlib.h>

#include <sqlite3.h>

#include "goip.h"
#include "store_int.h"

/* Open a group: the next transactions join one. */
void
group_start(struct store *st)
{
	st->group = 1;
	st->gopen = 0;
	st->gmembers = 0;
	st->gbusy = 0;
	st->gfailed = STORE_OK;
}

/*
 * Has SQLite abandoned the group's transaction (an I/O error, a full disk)?
 * Then every write in it is gone: remember the failure for group_end().
 */
static int
group_lost(struct store *st)
{
	if (st->gopen && sqlite3_get_autocommit(st->db) != 0) {
		st->gopen = 0;
		st->gfailed = st->lastrc != STORE_OK ? st->lastrc : STORE_ERROR;
	}
	return st->gfailed != STORE_OK;
}

/*
 * Join the group's transaction, opening it (BEGIN IMMEDIATE) for the first
 * request, and open the request's savepoint.
 */
enum store_rc
group_begin(struct store *st, char **cause)
{
	enum store_rc	 rc;

	if (group_lost(st)) {
		xasprintf(cause, "%s: transaction abandoned", st->path);
		return st->gfailed;
	}
	if (!st->gopen) {
		/* Locked past busy_timeout: the group's later requests, which
		 * arrived together with this one, do not wait again. */
		if (st->gbusy) {
			xasprintf(cause, "database busy");
			return STORE_BUSY;
		}
		if ((rc = store_exec(st, "BEGIN IMMEDIATE", cause)) !=
		    STORE_OK) {
			st->gbusy = rc == STORE_BUSY;
			return rc;
		}
		st->gopen = 1;
	}
	if ((rc = store_exec(st, "SAVEPOINT request", cause)) != STORE_OK) {
		group_lost(st);
		return rc;
	}
	st->intx = 1;
	return STORE_OK;
}

/*
 * Keep the request's writes in the group. STORE_OK means they will be
 * committed with it: the outcome is group_end()'s.
 */
enum store_rc
group_commit(struct store *st, char **cause)
{
	enum store_rc	 rc;

	if ((rc = store_exec(st, "RELEASE request", cause)) != STORE_OK) {
		group_rollback(st);
		return rc;
	}
	st->intx = 0;
	st->gmembers++;
	return STORE_OK;
}

/* Undo the request's writes; the rest of the group is kept. */
void
group_rollback(struct store *st)
{
	char	*why = NULL;

	st->intx = 0;
	if (group_lost(st))
		return;
	if (store_exec(st, "ROLLBACK TO request", &why) == STORE_OK) {
		free(why);
		why = NULL;
		store_exec(st, "RELEASE request", &why);
	}
	free(why);
	group_lost(st);
}

/*
 * Close the group: commit what its requests kept. Returns the outcome for
 * every request whose store_commit() returned STORE_OK since
 * group_start(), with *cause set on failure.
 */
enum store_rc
group_end(struct store *st, char **cause)
{
	enum store_rc	 rc = STORE_OK;
	char		*why = NULL;

	st->group = 0;
	if (group_lost(st)) {
		xasprintf(cause, "%s: transaction abandoned", st->path);
		return st->gfailed;
	}
	if (!st->gopen)
		return STORE_OK;
	st->gopen = 0;
	if (st->gmembers == 0) {
		store_exec(st, "ROLLBACK", &why);
		free(why);
	} else if ((rc = store_exec(st, "COMMIT", cause)) != STORE_OK &&
	    sqlite3_get_autocommit(st->db) == 0)
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}
