/*
 * source.c: where the notifier reads its events. A primary reads the
 * store's event log; an edge (role = edge) has no database and reads the
 * relay's Redis stream (edge.c), which holds the same events under the
 * same ids. ingest.c and events.c read through the table chosen here at
 * start, so fan-out, replays, resync and the JSON long-poll are one code
 * for both roles.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "goip.h"
#include "notifier.h"

static enum store_rc	source_store_read(const struct event_page *,
			    struct event *, int *, char **);
static enum store_rc	source_store_first(int64_t *, char **);
static enum store_rc	source_store_last(int64_t *, char **);
static enum store_rc	source_store_stats(char **, char **);

/* The primary's: the event log, with its index by device. */
static const struct source source_store = {
	"log",
	1,
	source_store_read,
	source_store_first,
	source_store_last,
	source_store_stats,
	NULL
};

static const struct source	*source = &source_store;

/* Read from the relay's stream (edge) instead of the log from now on. */
void
source_init(int edge)
{
	source = edge ? &edge_source : &source_store;
}

/* The name of what is read ("log" or "stream"), for log lines. */
const char *
source_name(void)
{
	return source->name;
}

/*
 * Read at most PAGE->max events after PAGE->after into EVS, *N set to how
 * many; PAGE->device is honoured only where source_indexed() says so.
 * Returns STORE_OK, STORE_BUSY (try again later) or another store_rc with
 * *CAUSE set (allocated).
 */
enum store_rc
source_read(const struct event_page *page, struct event *evs, int *n,
    char **cause)
{
	return source->read(page, evs, n, cause);
}

/* The first id held (0 when none), or a store_rc with *CAUSE set. */
enum store_rc
source_first(int64_t *id, char **cause)
{
	return source->first(id, cause);
}

/* The last id held (0 when none), or a store_rc with *CAUSE set. */
enum store_rc
source_last(int64_t *id, char **cause)
{
	return source->last(id, cause);
}

/* Can a page name a device (read through an index)? 1 or 0. */
int
source_indexed(void)
{
	return source->indexed;
}

/*
 * Set *TEXT (allocated) to the stats-update snapshot's JSON text. Returns
 * STORE_OK, or a store_rc with *CAUSE set.
 */
enum store_rc
source_stats(char **text, char **cause)
{
	return source->stats(text, cause);
}

/*
 * A pass read everything there was: have the source wake ingest.c
 * (ingest_poll()) when there is more. The log needs nothing: goip-cgi
 * rings the notify socket.
 */
void
source_wait(void)
{
	if (source->wait != NULL)
		source->wait();
}

static enum store_rc
source_store_read(const struct event_page *page, struct event *evs, int *n,
    char **cause)
{
	return evlog_read(nconf.st, page, evs, n, cause);
}

static enum store_rc
source_store_first(int64_t *id, char **cause)
{
	return evlog_first(nconf.st, id, cause);
}

static enum store_rc
source_store_last(int64_t *id, char **cause)
{
	return evlog_last(nconf.st, id, cause);
}

static enum store_rc
source_store_stats(char **text, char **cause)
{
	struct json_object	*j;
	enum store_rc		 rc;

	if ((rc = stats_json(nconf.st, main_now_ms(), &j, cause)) != STORE_OK)
		return rc;
	*text = xstrdup(json_object_to_json_string_ext(j,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(j);
	return STORE_OK;
}
