/*
 * prune.c: deleting what is older than its retention, in small batches.
 *
 * Every table pruned (events by event_retention, SMS by sms_retention) is
 * walked in id order, a window of at most PRUNE_BATCH rows at a time, each
 * window deleted in its own short transaction, so the write lock is never
 * held for more than one batch and goip-cgi's requests get in between.
 * The window bounds the rows *read* per batch too: neither table has an
 * index on its time column (one would be rewritten by every insert), and a
 * plain "DELETE ... WHERE at < ? LIMIT n" would scan the whole table once
 * nothing old is left. Ids grow with time, so a walk ends at the first
 * window whose last row is recent enough to keep. The heartbeat history
 * needs no pass: each heartbeat trims its own device's history
 * (lib/device.c).
 *
 * The notifier calls prune_step() on its sweep timer until a pass is done,
 * a few batches per tick; goipctl prune runs it to the end.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "goip.h"
#include "store_int.h"

/*
 * One batch of the walk over a table: SQL->window is a statement that
 * binds the cursor and an offset and yields the id and time of the
 * window's last row ("... WHERE id > ?1 ORDER BY id LIMIT 1 OFFSET ?2");
 * SQL->remove binds the cursor, that last id and BEFORE and deletes what
 * may go in the window. Both are string literals (cached by address).
 * Runs in the caller's transaction. Returns the number of rows deleted, or
 * -1 with *cause set; *CURSOR becomes the id to continue after, or 0 when
 * the walk is over.
 */
int64_t
prune_window(struct store *st, const struct prune_sql *sql, int64_t before,
    int64_t *cursor, char **cause)
{
	const char	*win = sql->window, *del = sql->remove;
	sqlite3_stmt	*stmt;
	int64_t		 last = INT64_MAX, at = 0;
	int		 rc, more = 0;

	if (store_stmt(st, win, &stmt, cause) != STORE_OK)
		return -1;
	store_bind(stmt, "ll", *cursor, (int64_t)PRUNE_BATCH - 1);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		last = sqlite3_column_int64(stmt, 0);
		at = sqlite3_column_int64(stmt, 1);
		more = at < before;
	} else if (store_rc(st, rc, cause) != STORE_OK) {
		sqlite3_reset(stmt);
		return -1;
	}
	sqlite3_reset(stmt);
	if (store_stmt(st, del, &stmt, cause) != STORE_OK)
		return -1;
	store_bind(stmt, "lll", *cursor, last, before);
	if (store_run(st, stmt, cause) != STORE_OK)
		return -1;
	*cursor = more ? last : 0;
	return sqlite3_changes(st->db);
}

/* What a pass prunes, in order. */
static const struct prune_table {
	const char	*name;
	size_t		 retention;	/* offset in struct config, ms */
	int64_t		(*batch)(struct store *, int64_t, int64_t *, char **);
} prune_tables[PRUNE__MAX] = {
	{ "events", offsetof(struct config, event_retention), evlog_prune },
	{ "sms", offsetof(struct config, sms_retention), sms_prune },
};

/*
 * Run one batch of the prune pass P over ST, in its own transaction, with
 * CFG's retentions counted back from NOW (unix ms) when the pass began; a
 * retention of 0 skips its table. Returns 1 when the pass has more to do,
 * 0 when it is over (P is then ready for the next pass and P->total holds
 * what this one deleted until the next call), -1 with *cause set when the
 * batch failed (nothing of it is kept; calling again retries it).
 */
int
prune_step(struct store *st, const struct config *cfg, int64_t now,
    struct prune *p, char **cause)
{
	const struct prune_table	*t;
	int64_t				 keep = 0, n;

	if (p->started == 0) {
		memset(p, 0, sizeof(*p));
		p->started = now;
	}
	for (; p->phase < PRUNE__MAX; p->phase++) {
		t = &prune_tables[p->phase];
		memcpy(&keep, (const char *)cfg + t->retention, sizeof(keep));
		if (keep > 0)
			break;
	}
	if (p->phase == PRUNE__MAX) {
		p->started = 0;
		return 0;
	}
	t = &prune_tables[p->phase];
	if (store_begin(st, cause) != STORE_OK)
		return -1;
	if ((n = t->batch(st, p->started - keep, &p->cursor, cause)) == -1) {
		store_rollback(st);
		return -1;
	}
	if (store_commit(st, cause) != STORE_OK)
		return -1;
	p->total[p->phase] += n;
	if (p->cursor == 0)
		p->phase++;
	return 1;
}
