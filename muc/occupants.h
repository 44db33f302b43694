/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * occupants: WHO IS in a room now (XEP-0045): each occupant's nick in the
 * room, real full JID, role and last presence. Kept apart from what the
 * room is (room.[ch]) so that the cluster can spread a room's occupants
 * over the nodes where their users are while the room lives on one.
 *
 * One occupant per real full JID; a nick belongs to one occupant.
 */
#ifndef MUC_OCCUPANTS_H
#define MUC_OCCUPANTS_H

#include <stddef.h>

#include "muc/room.h"
#include "util/list.h"

struct jid;
struct nad;
struct xhash;

struct occupant {
	struct list_node link;      /* in join order */
	char *nick;
	struct jid *real;           /* full JID */
	enum muc_role role;
	struct nad *presence;       /* last available presence (payload kept
				     * for broadcast: show, status...) */
};

struct occupants {
	struct xhash *by_nick;
	struct xhash *by_real;      /* full JID string -> occupant */
	struct list_node all;
	size_t count;
};

struct occupants *occupants_new(void);
void occupants_free(struct occupants **occp);

/* A new occupant (nick and real copied), or NULL if `nick` is taken or
 * `real` is already in. The presence is taken (may be NULL). */
struct occupant *occupants_add(struct occupants *occ, const char *nick,
			       const struct jid *real, enum muc_role role,
			       struct nad *presence);
struct occupant *occupants_by_nick(const struct occupants *occ, const char *nick);
struct occupant *occupants_by_real(const struct occupants *occ, const struct jid *real);
/* Remove and free one occupant. NULLs *op. */
void occupants_remove(struct occupants *occ, struct occupant **op);
/* Change an occupant's nick: 0, or -1 if the new nick is held by another. */
int occupants_rename(struct occupants *occ, struct occupant *o, const char *nick);
/* Replace the kept presence (taken). */
void occupant_set_presence(struct occupant *o, struct nad *presence);
/* Occupants whose real bare JID is `bare`. */
size_t occupants_count_bare(const struct occupants *occ, const char *bare);

#define OCCUPANTS_FOREACH(o, tmp, occ) \
	LIST_FOREACH_SAFE(o, tmp, &(occ)->all, struct occupant, link)

#endif
