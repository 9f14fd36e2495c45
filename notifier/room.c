/*
 * room.c: the rooms of application mode. Room "dashboard" receives every
 * event; room "device-D" the events of device D. A client in both gets an
 * event once: fan-out walks the dashboard, then the device room skipping
 * its dashboard members. Each client may be in at most NOTIFIER_ROOMS_MAX
 * device rooms.
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

/* One client's place in one device room. */
struct room_link {
	TAILQ_ENTRY(room_link)	 entry;
	struct room		*room;
	struct room_member	*m;
};

struct room_member {
	struct sio		*s;
	int			 dashboard;
	TAILQ_ENTRY(room_member) dentry;
	int			 nlinks;
	int			 maxlinks;
	struct room_link	**links;	/* maxlinks entries */
};

struct room {
	RB_ENTRY(room)		 entry;
	char			 device[GOIP_DEVICE_ID_MAX + 1];
	TAILQ_HEAD(, room_link)	 members;
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

struct room_member *
room_member_new(struct sio *s)
{
	struct room_member	*m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	m->s = s;
	return m;
}

/* Leave every room and free M. NULL is a no-op. */
void
room_member_free(struct room_member *m)
{
	if (m == NULL)
		return;
	while (m->nlinks > 0)
		room_leave_device(m, m->links[m->nlinks - 1]->room->device);
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
	int	i;

	for (i = 0; i < m->nlinks; i++) {
		if (strcmp(m->links[i]->room->device, device) == 0)
			return 1;
	}
	return 0;
}

/* Copy the device ids of M's rooms into OUT; returns how many. */
int
room_devices(struct room_member *m, char out[][GOIP_DEVICE_ID_MAX + 1],
    int max)
{
	int	i;

	for (i = 0; i < m->nlinks && i < max; i++)
		strlcpy(out[i], m->links[i]->room->device,
		    GOIP_DEVICE_ID_MAX + 1);
	return i;
}

void
room_join_dashboard(struct room_member *m)
{
	if (m->dashboard)
		return;
	m->dashboard = 1;
	TAILQ_INSERT_TAIL(&room_dashboard, m, dentry);
	room_ndashboard++;
}

size_t
room_dashboard_count(void)
{
	return room_ndashboard;
}

/*
 * Put M in the room of DEVICE. Returns 0, or -1 when M is in too many
 * rooms or memory is short.
 */
int
room_join_device(struct room_member *m, const char *device)
{
	struct room		  key, *r;
	struct room_link	 *l, **nl;
	int			  n;

	if (room_in_device(m, device))
		return 0;
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
		if (TAILQ_EMPTY(&r->members)) {
			RB_REMOVE(room_tree, &room_rooms, r);
			free(r);
		}
		return -1;
	}
	l->room = r;
	l->m = m;
	TAILQ_INSERT_TAIL(&r->members, l, entry);
	m->links[m->nlinks++] = l;
	return 0;
}

/* Take M out of the room of DEVICE; an empty room is freed. */
void
room_leave_device(struct room_member *m, const char *device)
{
	struct room_link	*l;
	struct room		*r;
	int			 i;

	for (i = 0; i < m->nlinks; i++) {
		if (strcmp(m->links[i]->room->device, device) == 0)
			break;
	}
	if (i == m->nlinks)
		return;
	l = m->links[i];
	m->links[i] = m->links[--m->nlinks];
	r = l->room;
	TAILQ_REMOVE(&r->members, l, entry);
	free(l);
	if (TAILQ_EMPTY(&r->members)) {
		RB_REMOVE(room_tree, &room_rooms, r);
		free(r);
	}
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

	TAILQ_FOREACH_SAFE(m, &room_dashboard, dentry, mn)
		sio_emit_frame(m->s, f);
	if (device == NULL || device[0] == '\0')
		return;
	strlcpy(key.device, device, sizeof(key.device));
	if ((r = RB_FIND(room_tree, &room_rooms, &key)) == NULL)
		return;
	TAILQ_FOREACH_SAFE(l, &r->members, entry, ln) {
		if (!l->m->dashboard)
			sio_emit_frame(l->m->s, f);
	}
}
