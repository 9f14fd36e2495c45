/*
 * peer.c: what goip-udpd remembers of each line between packets: its
 * latest source address (replies and server-started packets go there and
 * nowhere else), its password as the device last proved it, and its open
 * sessions. A line is known here from its first authenticated packet
 * since start-up; before that nothing is sent to it.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/tree.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "goip.h"
#include "udpd.h"

/* libbsd's RB_GENERATE_STATIC marks its functions __unused. */
#ifndef __unused
#define __unused __attribute__((__unused__))
#endif

struct peer_node {
	RB_ENTRY(peer_node)	 entry;
	struct peer		 p;
};

static int
peer_cmp(struct peer_node *a, struct peer_node *b)
{
	return a->p.line < b->p.line ? -1 : a->p.line > b->p.line;
}

RB_HEAD(peer_tree, peer_node);
RB_GENERATE_STATIC(peer_tree, peer_node, entry, peer_cmp);

static struct peer_tree	 peer_tree = RB_INITIALIZER(&peer_tree);

/* The line with row id LINE, or NULL when it sent nothing since start. */
struct peer *
peer_get(int64_t line)
{
	struct peer_node	 key, *n;

	key.p.line = line;
	n = RB_FIND(peer_tree, &peer_tree, &key);
	return n != NULL ? &n->p : NULL;
}

/*
 * Line LI just authenticated from FROM (FROMLEN bytes, ADDRTEXT as text):
 * remember it as the line's latest source. Returns the peer, or NULL when
 * out of memory (the packet is then dropped).
 */
struct peer *
peer_update(const struct line_info *li, const struct sockaddr *from,
    socklen_t fromlen, const char *addrtext)
{
	struct peer	*p;
	struct peer_node *n;

	if ((p = peer_get(li->id)) == NULL) {
		if ((n = calloc(1, sizeof(*n))) == NULL)
			return NULL;
		n->p.line = li->id;
		RB_INSERT(peer_tree, &peer_tree, n);
		p = &n->p;
	}
	p->device = li->device;
	p->slot = li->slot;
	snprintf(p->line_id, sizeof(p->line_id), "%s", li->line_id);
	snprintf(p->password, sizeof(p->password), "%s", li->password);
	memcpy(&p->addr, from, fromlen);
	p->addrlen = fromlen;
	snprintf(p->addrtext, sizeof(p->addrtext), "%s", addrtext);
	return p;
}

/* The known line on SLOT of device DEVICE, or NULL. */
struct peer *
peer_slot(int64_t device, int slot)
{
	struct peer_node	*n;

	RB_FOREACH(n, peer_tree, &peer_tree)
		if (n->p.device == device && n->p.slot == slot)
			return &n->p;
	return NULL;
}

/* Whether FROM (FROMLEN bytes) is line P's latest source. */
int
peer_same_addr(const struct peer *p, const struct sockaddr *from,
    socklen_t fromlen)
{
	return p->addrlen == fromlen && memcmp(&p->addr, from, fromlen) == 0;
}

/* A known line whose latest source is FROM, or NULL. */
struct peer *
peer_by_addr(const struct sockaddr *from, socklen_t fromlen)
{
	struct peer_node	*n;

	RB_FOREACH(n, peer_tree, &peer_tree)
		if (peer_same_addr(&n->p, from, fromlen))
			return &n->p;
	return NULL;
}

/* Forget every line (at exit). */
void
peer_free_all(void)
{
	struct peer_node	*n, *next;

	for (n = RB_MIN(peer_tree, &peer_tree); n != NULL; n = next) {
		next = RB_NEXT(peer_tree, &peer_tree, n);
		RB_REMOVE(peer_tree, &peer_tree, n);
		explicit_bzero(n->p.password, sizeof(n->p.password));
		free(n);
	}
}
