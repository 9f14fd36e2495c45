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
 * What a pass prunes, in order. Each table's two statements are string
 * literals (cached by address): WINDOW binds the cursor and an offset and
 * yields the id and time of the window's last row; REMOVE binds the
 * cursor, that last id and the time before which rows may go, and deletes
 * what may go in the window.
 */
static const struct prune_table {
	const char	*name;
	size_t		 retention;	/* offset in struct config, ms */
	const char	*window;
	const char	*remove;
} prune_tables[PRUNE__MAX] = {
	/*
	 * The newest event always stays: ids are rowids, and the surviving
	 * maximum is what keeps them from ever being reused.
	 */
	{ "events", offsetof(struct config, event_retention),
	    "SELECT id, at FROM events "
	    "WHERE id > ?1 ORDER BY id LIMIT 1 OFFSET ?2",
	    "DELETE FROM events WHERE id > ?1 AND id <= ?2 AND at < ?3 "
	    "AND id < (SELECT MAX(id) FROM events)" },
	/*
	 * Outbound SMS still in flight (queued or sending) stay whatever
	 * their age: a device may still lease or report them, and the
	 * sms_queued counter counts them. The other counters are running
	 * totals kept by triggers on insert and update, so a prune leaves
	 * every figure of GET /api/stats as it was.
	 */
	{ "sms", offsetof(struct config, sms_retention),
	    "SELECT id, stored_at FROM sms "
	    "WHERE id > ?1 ORDER BY id LIMIT 1 OFFSET ?2",
	    "DELETE FROM sms WHERE id > ?1 AND id <= ?2 AND stored_at < ?3 "
	    "AND status <> 'queued' AND status <> 'sending'" },
};

/*
 * One batch of P's walk over table T, inside the caller's transaction:
 * delete what is older than BEFORE (unix ms) in the window of at most
 * PRUNE_BATCH rows after P->cursor, add the count to P's total, and set
 * P->cursor to the id to continue after, 0 when the walk is over. Returns
 * STORE_OK or the store_rc of the failure with *cause set.
 */
static enum store_rc
prune_window(struct store *st, const struct prune_table *t, int64_t before,
    struct prune *p, char **cause)
{
	sqlite3_stmt	*stmt;
	int64_t		 last = INT64_MAX, at = 0;
	enum store_rc	 src;
	int		 rc, more = 0;

	if ((src = store_stmt(st, t->window, &stmt, cause)) != STORE_OK)
		return src;
	store_bind(stmt, "ll", p->cursor, (int64_t)PRUNE_BATCH - 1);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		last = sqlite3_column_int64(stmt, 0);
		at = sqlite3_column_int64(stmt, 1);
		more = at < before;
	} else
		src = store_rc(st, rc, cause);
	sqlite3_reset(stmt);
	if (src != STORE_OK)
		return src;
	if ((src = store_stmt(st, t->remove, &stmt, cause)) != STORE_OK)
		return src;
	store_bind(stmt, "lll", p->cursor, last, before);
	if ((src = store_run(st, stmt, cause)) != STORE_OK)
		return src;
	p->total[p->phase] += sqlite3_changes(st->db);
	p->cursor = more ? last : 0;
	return STORE_OK;
}

/*
 * Move P past the tables CFG keeps forever (a retention of 0) and return
 * the retention of the table it stops at, or 0 when none is left.
 */
static int64_t
prune_next(const struct config *cfg, struct prune *p)
{
	const struct prune_table	*t;
	int64_t				 keep;

	for (; p->phase < PRUNE__MAX; p->phase++) {
		t = &prune_tables[p->phase];
		memcpy(&keep, (const char *)cfg + t->retention, sizeof(keep));
		if (keep > 0)
			return keep;
	}
	return 0;
}

/*
 * Run one batch of the prune pass P over ST, in its own transaction, with
 * CFG's retentions counted back from NOW (unix ms) when the pass began; a
 * retention of 0 skips its table. After the step that ends the pass,
 * P->done is set and P->total holds what the pass deleted until the next
 * call starts another. Returns STORE_OK, or the store_rc of the failure
 * (STORE_BUSY, STORE_FULL, ...) with *cause set: nothing of that batch is
 * kept, and calling again retries it.
 */
enum store_rc
prune_step(struct store *st, const struct config *cfg, int64_t now,
    struct prune *p, char **cause)
{
	struct prune	 was;
	int64_t		 keep;
	enum store_rc	 rc;

	if (p->started == 0) {
		memset(p, 0, sizeof(*p));
		p->started = now;
	}
	if ((keep = prune_next(cfg, p)) > 0) {
		was = *p;
		if ((rc = store_begin(st, cause)) != STORE_OK)
			return rc;
		if ((rc = prune_window(st, &prune_tables[p->phase],
		    p->started - keep, p, cause)) != STORE_OK) {
			store_rollback(st);
			*p = was;
			return rc;
		}
		if ((rc = store_commit(st, cause)) != STORE_OK) {
			*p = was;
			return rc;
		}
		if (p->cursor == 0)
			p->phase++;
		keep = prune_next(cfg, p);
	}
	if (keep == 0) {
		p->started = 0;
		p->done = 1;
	}
	return STORE_OK;
}
