/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * occupants: WHO IS in a room now (XEP-0045): each occupant's nick in the
 * room, real full JID, role and last presence. Kept apart from what the
 * room is (room.[ch]) so that the cluster can spread a room's occupants
 * over the nodes where their users are while the room lives on one.
 *
 * A nick belongs to one occupant. An occupant has one or more sessions:
 * the same account (bare JID) joining with the same nick from another
 * resource adds a session to the occupant rather than a second occupant
 * (multi-session nicks), and every session gets what the occupant gets.
 * A full JID is in at most one occupant.
 */
#ifndef MUC_OCCUPANTS_H
#define MUC_OCCUPANTS_H

#include <stddef.h>

#include "muc/room.h"
#include "util/list.h"

struct jid;
struct nad;
struct xhash;

struct occupant_session {
	struct list_node link;
	struct jid *real;           /* full JID */
};

struct occupant {
	struct list_node link;      /* in join order */
	char *nick;
	struct jid *real;           /* the first session's full JID (the one
				     * shown to those who may see it) */
	enum muc_role role;
	struct nad *presence;       /* last available presence (payload kept
				     * for broadcast: show, status...) */
	struct list_node sessions;  /* struct occupant_session, oldest first */
	size_t nsessions;
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
/* Add a session (`real` copied) to o: 0, or -1 if `real` is already in
 * the room. */
int occupants_add_session(struct occupants *occ, struct occupant *o, const struct jid *real);
/* Remove the session `real` of o, when o has another: 0, or -1 (the
 * caller removes the occupant instead). */
int occupants_remove_session(struct occupants *occ, struct occupant *o,
			     const struct jid *real);
/* Change an occupant's nick: 0, or -1 if the new nick is held by another. */
int occupants_rename(struct occupants *occ, struct occupant *o, const char *nick);
/* Replace the kept presence (taken). */
void occupant_set_presence(struct occupant *o, struct nad *presence);
/* Occupants whose real bare JID is `bare`. */
size_t occupants_count_bare(const struct occupants *occ, const char *bare);

#define OCCUPANTS_FOREACH(o, tmp, occ) \
	LIST_FOREACH_SAFE(o, tmp, &(occ)->all, struct occupant, link)
#define OCCUPANT_SESSIONS_FOREACH(s, o) \
	LIST_FOREACH(s, &(o)->sessions, struct occupant_session, link)

#endif
