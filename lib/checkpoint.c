/*
 * checkpoint.c: WAL checkpoints off the request path.
 *
 * By default SQLite checkpoints the WAL from inside the commit that takes
 * it past 1000 pages: that commit copies the pages back into the database
 * and waits for two fsyncs, about 15 ms here, and in goip-cgi every request
 * of the group waits with it (it was most of the 99th percentile). Instead
 * the writing connection's WAL hook wakes a thread that checkpoints on a
 * connection of its own (PASSIVE: it never blocks a writer). Such a
 * checkpoint cannot rewind a WAL that keeps growing under steady writes, so
 * past CHECKPOINT_FORCE pages the writer checkpoints in line, as SQLite
 * would, only a quarter as often (and with most pages copied already).
 * Past CHECKPOINT_PAGES the thread is woken once per CHECKPOINT_STEP new
 * pages, not after every commit: under steady writes it used to chase the
 * writer, copying the same hot pages and waiting for two fsyncs after every
 * group (a fifth of goip-cgi's CPU) without ever catching up; the step
 * keeps what the writer's own checkpoint has left to copy small.
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#include <sqlite3.h>

#include "goip.h"
#include "store_int.h"

#define CHECKPOINT_PAGES	1000	/* wake the thread (SQLite's default) */
#define CHECKPOINT_STEP		250	/* then again after so many more */
#define CHECKPOINT_FORCE	4000	/* checkpoint in the writer */

struct checkpointer {
	pthread_t	 thread;
	pthread_mutex_t	 mtx;
	pthread_cond_t	 cond;
	struct store	*st;		/* the thread's connection */
	int		 due;
	int		 quit;
	int		 runs;		/* checkpoints the thread ran */
	int		 mark;		/* WAL pages at the last wake-up */
	int		 last;		/* WAL pages at the last commit */
};

/* The writing connection's WAL hook: PAGES are in the WAL after a commit. */
static int
checkpoint_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct checkpointer	*c = arg;

	/* mark and last are the writer's own: only due is shared. */
	if (pages < c->last)
		c->mark = 0;		/* the WAL started over */
	c->last = pages;
	if (pages >= CHECKPOINT_FORCE)
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE,
		    NULL, NULL);
	else if (pages >= CHECKPOINT_PAGES &&
	    pages >= c->mark + CHECKPOINT_STEP) {
		c->mark = pages;
		pthread_mutex_lock(&c->mtx);
		c->due = 1;
		pthread_cond_signal(&c->cond);
		pthread_mutex_unlock(&c->mtx);
	}
	return SQLITE_OK;
}

static void *
checkpoint_main(void *arg)
{
	struct checkpointer	*c = arg;
	int			 rc;

	pthread_mutex_lock(&c->mtx);
	for (;;) {
		while (!c->due && !c->quit)
			pthread_cond_wait(&c->cond, &c->mtx);
		if (c->quit)
			break;
		c->due = 0;
		pthread_mutex_unlock(&c->mtx);
		rc = sqlite3_wal_checkpoint_v2(c->st->db, NULL,
		    SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		if (rc != SQLITE_OK && rc != SQLITE_BUSY)
			log_warnx("checkpoint: %s: %s", c->st->path,
			    sqlite3_errmsg(c->st->db));
		pthread_mutex_lock(&c->mtx);
		c->runs++;
	}
	pthread_mutex_unlock(&c->mtx);
	return NULL;
}

/*
 * Take the checkpoints of WR's database over: a thread with a connection
 * of its own runs them. Signals stay with the calling thread. Returns the
 * checkpointer, or NULL with *cause set (WR then keeps SQLite's own).
 */
struct checkpointer *
checkpoint_start(struct store *wr, char **cause)
{
	struct checkpointer	*c;
	sigset_t		 all, old;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		xasprintf(cause, "out of memory");
		return NULL;
	}
	if ((c->st = store_open(wr->path, wr->busy_timeout, STORE_OPEN_ANY,
	    cause)) == NULL) {
		free(c);
		return NULL;
	}
	pthread_mutex_init(&c->mtx, NULL);
	pthread_cond_init(&c->cond, NULL);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	if (pthread_create(&c->thread, NULL, checkpoint_main, c) != 0) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		xasprintf(cause, "cannot start the checkpoint thread");
		store_close(c->st);
		free(c);
		return NULL;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	sqlite3_wal_hook(wr->db, checkpoint_hook, c);
	return c;
}

/* How many checkpoints the thread of C has run so far. */
int
checkpoint_runs(struct checkpointer *c)
{
	int	 n;

	pthread_mutex_lock(&c->mtx);
	n = c->runs;
	pthread_mutex_unlock(&c->mtx);
	return n;
}

/* Stop the thread once its checkpoint, if any, is done. WR gets SQLite's
 * own checkpoints back. */
void
checkpoint_stop(struct checkpointer *c, struct store *wr)
{
	if (c == NULL)
		return;
	if (wr != NULL)
		sqlite3_wal_autocheckpoint(wr->db, CHECKPOINT_PAGES);
	pthread_mutex_lock(&c->mtx);
	c->quit = 1;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->mtx);
	pthread_join(c->thread, NULL);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->mtx);
	store_close(c->st);
	free(c);
}
