/*
 * room.c: the rooms of application mode. Room "dashboard" receives every
 * event; room "device-D" the events of device D. A client in both gets an
 * event once: fan-out walks the dashboard, then the device room skipping
 * its dashboard members.
 *
 * A client that resumes (lastEventId) first gets each room's events after
 * that id replayed, then live ones. The replay of a room is a struct
 * room_replay on this file's queue, stepped by ingest.c on later turns of
 * the loop; while it is active live fan-out skips the client for that
 * room, and the replay reads on up to the ingest cursor. A client in the
 * dashboard gets the events of its device rooms through the dashboard and
 * its replay: joining the dashboard stops the device rooms' replays, and
 * a device room joined after the dashboard replays nothing.
 *
 * A client also receives each event once when it leaves a device room and
 * joins it again: its link to the room outlives the leave and keeps the
 * highest event id of that device delivered to it and the position of its
 * replay; joined again, the room replays from that position (the events
 * the client missed while out), never from the start, and neither replay
 * nor live fan-out sends an id at or below the mark again. Links of left
 * rooms count against NOTIFIER_ROOMS_MAX with the joined ones, so a client
 * may name at most that many device rooms in one Socket.IO connection;
 * past it a join fails and the session is closed (the client reconnects
 * and resumes from the last id it saw).
 */
#include "config.h"

#include <sys/tree.h>

#include <stdlib.h>
#include <string.h>

#include "goip.h"
#include "notifier.h"

#ifndef __unused
#define __unused __attribute__((__unused__))
#endif

struct room;

/*
 * One client's place in one device room, joined or left. A joined link is
 * on its room's member list; a left one only remembers the mark.
 */
struct room_link {
	TAILQ_ENTRY(room_link)	 entry;
	struct room		*room;
	struct room_member	*m;
	int64_t			 delivered;	/* highest id of the device sent */
	int			 joined;
	struct room_replay	 replay;
};

struct room_member {
	struct sio		*s;
	int			 dashboard;
	struct room_replay	 dreplay;	/* the dashboard's */
	TAILQ_ENTRY(room_member) dentry;
	int			 nlinks;
	int			 maxlinks;
	struct room_link	**links;	/* maxlinks entries */
};

struct room {
	RB_ENTRY(room)		 entry;
	char			 device[GOIP_DEVICE_ID_MAX + 1];
	int			 nlinks;	/* joined and left links */
	TAILQ_HEAD(, room_link)	 members;	/* joined links */
};

RB_HEAD(room_tree, room);

static int
room_cmp(struct room *a, struct room *b)
{
	return strcmp(a->device, b->device);
}

RB_GENERATE_STATIC(room_tree, room, entry, room_cmp);

static struct room_tree			 room_rooms =
    RB_INITIALIZER(&room_rooms);
static TAILQ_HEAD(, room_member)	 room_dashboard =
    TAILQ_HEAD_INITIALIZER(room_dashboard);
static size_t				 room_ndashboard;
static TAILQ_HEAD(, room_replay)	 room_replays =
    TAILQ_HEAD_INITIALIZER(room_replays);

struct room_member *
room_member_new(struct sio *s)
{
	struct room_member	*m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	m->s = s;
	m->dreplay.m = m;
	m->dreplay.s = s;
	m->dreplay.at = -1;	/* no replay unless the client resumes */
	return m;
}

/*
 * Start replay RP after id AFTER, or go on from where it stopped when
 * AFTER is -1 (a left room joined again). Nothing starts when the client
 * did not resume (AFTER and the position both -1) or has seen exactly
 * what was fanned out here. A position past the cursor (the client saw
 * them on another notifier that is ahead) starts a replay that waits for
 * the cursor to get there (ingest.c), so no event is sent twice.
 */
static void
room_replay_start(struct room_replay *rp, int64_t after)
{
	if (after >= 0 && !rp->started)
		rp->at = after;
	if (rp->active || rp->at < 0 || rp->at == ingest_cursor())
		return;
	rp->ahead_since = 0;
	rp->active = 1;
	rp->queued = 1;
	TAILQ_INSERT_TAIL(&room_replays, rp, entry);
	ingest_replay_wake();
}

/* Stop replay RP where it is (it may be started again later). */
static void
room_replay_stop(struct room_replay *rp)
{
	if (rp->queued)
		TAILQ_REMOVE(&room_replays, rp, entry);
	rp->queued = 0;
	rp->active = 0;
}

/*
 * The next replay to step, taken off the queue (still active), or NULL.
 * The caller puts it back with room_replay_requeue() or ends it with
 * room_replay_done(); if its client is freed meanwhile, it simply goes.
 */
struct room_replay *
room_replay_take(void)
{
	struct room_replay	*rp;

	if ((rp = TAILQ_FIRST(&room_replays)) == NULL)
		return NULL;
	TAILQ_REMOVE(&room_replays, rp, entry);
	rp->queued = 0;
	return rp;
}

/* Put RP, taken by room_replay_take(), at the end of the queue. */
void
room_replay_requeue(struct room_replay *rp)
{
	if (!rp->active || rp->queued)
		return;
	rp->queued = 1;
	TAILQ_INSERT_TAIL(&room_replays, rp, entry);
}

/* RP caught up with the cursor (or was cut short): its room is live. */
void
room_replay_done(struct room_replay *rp)
{
	room_replay_stop(rp);
}

/* Is any replay waiting for a step? */
int
room_replay_pending(void)
{
	return !TAILQ_EMPTY(&room_replays);
}

/* Unlink L from its room and free it; a room left without links is freed. */
static void
room_link_free(struct room_link *l)
{
	struct room	*r = l->room;

	room_replay_stop(&l->replay);
	if (l->joined)
		TAILQ_REMOVE(&r->members, l, entry);
	free(l);
	if (--r->nlinks == 0) {
		RB_REMOVE(room_tree, &room_rooms, r);
		free(r);
	}
}

/* M's link to the room of DEVICE, joined or left, or NULL. */
static struct room_link *
room_link_find(struct room_member *m, const char *device)
{
	int	i;

	for (i = 0; i < m->nlinks; i++) {
		if (strcmp(m->links[i]->room->device, device) == 0)
			return m->links[i];
	}
	return NULL;
}

/* Leave every room and free M. NULL is a no-op. */
void
room_member_free(struct room_member *m)
{
	if (m == NULL)
		return;
	while (m->nlinks > 0)
		room_link_free(m->links[--m->nlinks]);
	room_replay_stop(&m->dreplay);
	if (m->dashboard) {
		TAILQ_REMOVE(&room_dashboard, m, dentry);
		room_ndashboard--;
	}
	free(m->links);
	free(m);
}

int
room_in_dashboard(struct room_member *m)
{
	return m->dashboard;
}

int
room_in_device(struct room_member *m, const char *device)
{
	struct room_link	*l;

	return (l = room_link_find(m, device)) != NULL && l->joined;
}

/* Copy the device ids of M's joined rooms into OUT; returns how many. */
int
room_devices(struct room_member *m, char out[][GOIP_DEVICE_ID_MAX + 1],
    int max)
{
	int	i, n = 0;

	for (i = 0; i < m->nlinks && n < max; i++) {
		if (m->links[i]->joined)
			strlcpy(out[n++], m->links[i]->room->device,
			    GOIP_DEVICE_ID_MAX + 1);
	}
	return n;
}

/*
 * Is the event ID of device EVDEVICE ("" for a global one), read by replay
 * RP, owed to its client? A device room's replay owes the events of its
 * device above the mark; the dashboard's owes every event, those of a
 * device the client has a link to only above that link's mark. The mark is
 * raised, so the caller must send the event when this returns 1. Returns 1
 * or 0.
 */
int
room_replay_owed(struct room_replay *rp, const char *evdevice, int64_t id)
{
	struct room_link	*l;

	if (rp->device != NULL && strcmp(evdevice, rp->device) != 0)
		return 0;
	if (evdevice[0] == '\0')
		return 1;
	if ((l = room_link_find(rp->m, evdevice)) == NULL)
		return 1;
	if (id <= l->delivered)
		return 0;
	l->delivered = id;
	return 1;
}

/*
 * Put M in the dashboard room. When AFTER is not -1 the events after it
 * are replayed first, and the replays of M's device rooms stop: the
 * dashboard's carries their events. Returns 1 when a replay was queued (it
 * sends the stats when done), else 0 (M is live at once).
 */
int
room_join_dashboard(struct room_member *m, int64_t after)
{
	int	i;

	if (m->dashboard)
		return 0;
	m->dashboard = 1;
	TAILQ_INSERT_TAIL(&room_dashboard, m, dentry);
	room_ndashboard++;
	for (i = 0; i < m->nlinks; i++)
		room_replay_stop(&m->links[i]->replay);
	room_replay_start(&m->dreplay, after);
	return m->dreplay.active;
}

size_t
room_dashboard_count(void)
{
	return room_ndashboard;
}

/*
 * Put M in the room of DEVICE. A first join replays the room's events
 * after AFTER (none when AFTER is -1 or M is in the dashboard, which
 * carries them); joining a left room again keeps the mark of what was
 * delivered and replays from where the room was left. Returns 0, or -1
 * when M named too many rooms or memory is short.
 */
int
room_join_device(struct room_member *m, const char *device, int64_t after)
{
	struct room		  key, *r;
	struct room_link	 *l, **nl;
	int			  n;

	if ((l = room_link_find(m, device)) != NULL) {
		if (!l->joined) {
			l->joined = 1;
			TAILQ_INSERT_TAIL(&l->room->members, l, entry);
			if (!m->dashboard)
				room_replay_start(&l->replay, -1);
		}
		return 0;
	}
	if (m->nlinks >= NOTIFIER_ROOMS_MAX ||
	    strlen(device) > GOIP_DEVICE_ID_MAX)
		return -1;
	if (m->nlinks == m->maxlinks) {
		n = m->maxlinks == 0 ? 2 : m->maxlinks * 2;
		if ((nl = reallocarray(m->links, n, sizeof(*nl))) == NULL)
			return -1;
		m->links = nl;
		m->maxlinks = n;
	}
	strlcpy(key.device, device, sizeof(key.device));
	if ((r = RB_FIND(room_tree, &room_rooms, &key)) == NULL) {
		if ((r = calloc(1, sizeof(*r))) == NULL)
			return -1;
		strlcpy(r->device, device, sizeof(r->device));
		TAILQ_INIT(&r->members);
		RB_INSERT(room_tree, &room_rooms, r);
	}
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		if (r->nlinks == 0) {
			RB_REMOVE(room_tree, &room_rooms, r);
			free(r);
		}
		return -1;
	}
	l->room = r;
	l->m = m;
	l->joined = 1;
	l->replay.m = m;
	l->replay.s = m->s;
	l->replay.device = r->device;
	l->replay.at = -1;
	r->nlinks++;
	TAILQ_INSERT_TAIL(&r->members, l, entry);
	m->links[m->nlinks++] = l;
	if (!m->dashboard)
		room_replay_start(&l->replay, after);
	return 0;
}

/*
 * Take M out of the room of DEVICE. The link stays, left, with its mark
 * and the position of its replay (a live room's is the cursor), until M
 * is freed.
 */
void
room_leave_device(struct room_member *m, const char *device)
{
	struct room_link	*l;

	if ((l = room_link_find(m, device)) == NULL || !l->joined)
		return;
	TAILQ_REMOVE(&l->room->members, l, entry);
	l->joined = 0;
	if (l->replay.active)
		room_replay_stop(&l->replay);
	else if (l->replay.started || l->replay.at >= 0)
		l->replay.at = ingest_cursor();
}

/*
 * Send frame F, an event of DEVICE ("" for a global one), to the dashboard
 * room and to the room of DEVICE, once per client. A client may be closed
 * while this runs (a slow one); sends to it are then dropped.
 */
void
room_fanout(const char *device, struct frame *f)
{
	struct room_member	*m, *mn;
	struct room_link	*l, *ln;
	struct room		 key, *r;

	TAILQ_FOREACH_SAFE(m, &room_dashboard, dentry, mn) {
		if (!m->dreplay.active)
			sio_emit_frame(m->s, f);
	}
	if (device == NULL || device[0] == '\0')
		return;
	strlcpy(key.device, device, sizeof(key.device));
	if ((r = RB_FIND(room_tree, &room_rooms, &key)) == NULL)
		return;
	TAILQ_FOREACH_SAFE(l, &r->members, entry, ln) {
		if (l->m->dashboard || l->replay.active ||
		    f->event_id <= l->delivered)
			continue;
		l->delivered = f->event_id;
		sio_emit_frame(l->m->s, f);
	}
}
