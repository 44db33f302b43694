/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * room: what a multi-user chat room IS (XEP-0045): its address, its
 * configuration, the affiliations (owner, admin, member, outcast) of bare
 * JIDs, its subject and its discussion history. Nothing here knows who is
 * in the room now (occupants.[ch]) or how stanzas travel (muc.c): the
 * cluster may later keep a room on one node and its occupants on many.
 *
 * A persistent room is saved to storage (store.c): its configuration,
 * subject and affiliations, and its history message by message.
 */
#ifndef MUC_ROOM_H
#define MUC_ROOM_H

#include <stddef.h>
#include <time.h>

#include "util/list.h"

struct jid;
struct nad;
struct xhash;

enum muc_affil {
	MUC_AFFIL_OUTCAST,
	MUC_AFFIL_NONE,
	MUC_AFFIL_MEMBER,
	MUC_AFFIL_ADMIN,
	MUC_AFFIL_OWNER,
};

enum muc_role {
	MUC_ROLE_NONE,
	MUC_ROLE_VISITOR,
	MUC_ROLE_PARTICIPANT,
	MUC_ROLE_MODERATOR,
};

/* Who may send private messages (muc#roomconfig_allowpm). */
enum muc_pm {
	MUC_PM_ANYONE,
	MUC_PM_PARTICIPANTS,
	MUC_PM_MODERATORS,
	MUC_PM_NONE,
};

/* Names as they appear on the wire; NULL / -1 for unknown. */
const char *muc_affil_name(enum muc_affil a);
int muc_affil_parse(const char *name);
const char *muc_role_name(enum muc_role r);
int muc_role_parse(const char *name);

/* The room configuration (the muc#roomconfig fields we support). */
struct room_config {
	char *name;                 /* muc#roomconfig_roomname */
	char *desc;                 /* muc#roomconfig_roomdesc */
	char *password;             /* muc#roomconfig_roomsecret ("" = none) */
	int persistent;             /* muc#roomconfig_persistentroom */
	int public_room;            /* muc#roomconfig_publicroom */
	int members_only;           /* muc#roomconfig_membersonly */
	int moderated;              /* muc#roomconfig_moderatedroom */
	int password_protected;     /* muc#roomconfig_passwordprotectedroom */
	int nonanonymous;           /* muc#roomconfig_whois = anyone */
	int change_subject;         /* muc#roomconfig_changesubject */
	int allow_invites;          /* muc#roomconfig_allowinvites */
	int open_registration;      /* x-muc#roomconfig_registration: in a
				     * members-only room, registering a nick
				     * makes a member */
	enum muc_pm allow_pm;       /* muc#roomconfig_allowpm */
	int max_users;              /* muc#roomconfig_maxusers (0 = the limit) */
	int max_history;            /* muc#maxhistoryfetch */
};

void room_config_init(struct room_config *cfg);
void room_config_clear(struct room_config *cfg);
void room_config_copy(struct room_config *dst, const struct room_config *src);

/* One message of the discussion history. */
struct room_msg {
	struct list_node link;
	struct nad *nad;            /* the message as broadcast (from room/nick) */
	time_t when;
	size_t chars;               /* its length as XML, for maxchars */
};

struct room {
	struct jid *jid;            /* room@service, bare */
	struct room_config cfg;
	struct xhash *affils;       /* bare JID -> struct room_affil */
	struct xhash *nicks;        /* registered nicks: bare JID -> char *nick */
	struct xhash *nick_owners;  /* and nick -> char *bare JID */
	char *subject;              /* NULL: never set */
	char *subject_nick;         /* who set it ("" = the room) */
	struct list_node history;   /* oldest first */
	size_t history_len;
	size_t history_max;         /* limit (from the service) */
	int locked;                 /* created, not yet configured (XEP-0045 10.1) */
	int dirty;                  /* changed since last saved */
};

struct room_affil {
	enum muc_affil affil;
	char *reason;               /* given with the change, may be NULL */
};

/* A new, empty, unlocked room at `jid` (copied; must be bare). */
struct room *room_new(const struct jid *jid, size_t history_max);
void room_free(struct room **roomp);

/* The affiliation of a bare (or full: the resource is ignored) JID. */
enum muc_affil room_affil(const struct room *room, const struct jid *jid);
enum muc_affil room_affil_str(const struct room *room, const char *bare);
/* Set it; MUC_AFFIL_NONE removes the entry. `bare` must be a bare JID
 * string, prepared. Marks the room dirty. */
void room_set_affil(struct room *room, const char *bare, enum muc_affil a,
		    const char *reason);
/* Number of bare JIDs with affiliation `a`. */
size_t room_affil_count(const struct room *room, enum muc_affil a);

/*
 * Registered nicks (XEP-0045 7.10): a bare JID may reserve one nick in a
 * room; nobody else may then join with it or take it.
 */
/* Most registered nicks per room. */
#define ROOM_NICKS_MAX 1000
/* The nick `bare` registered, or NULL. */
const char *room_nick_of(const struct room *room, const char *bare);
/* The bare JID that registered `nick`, or NULL. */
const char *room_nick_owner(const struct room *room, const char *nick);
/* Register (or change) the nick of `bare`: 0, or -1 if another bare JID
 * holds it or the room has ROOM_NICKS_MAX already. Marks the room dirty. */
int room_nick_register(struct room *room, const char *bare, const char *nick);
/* Drop the registration of `bare`, if any. Marks the room dirty. */
void room_nick_unregister(struct room *room, const char *bare);

/* The role an occupant gets when joining: owner/admin moderator, then
 * participant, or visitor in a moderated room for those without
 * membership. */
enum muc_role room_default_role(const struct room *room, enum muc_affil a);

/* Set the subject (copied), with the nick that set it. */
void room_set_subject(struct room *room, const char *subject, const char *nick);

/* Keep `msg` (taken) in the history at time `now`; the oldest go when
 * more than history_max are kept. history_max 0 keeps nothing. */
void room_history_add(struct room *room, struct nad *msg, time_t now);

/*
 * Which history a joining occupant gets (XEP-0045 7.2.14): the newest
 * messages that satisfy every given limit (negative: not given). Walk the
 * result with room_history_first(): returns the oldest message to send,
 * or NULL for none; the following ones are list_next() of it.
 */
struct room_history_req {
	long maxchars, maxstanzas, seconds;
	time_t since;               /* (time_t)-1: not given */
};
const struct room_msg *room_history_first(const struct room *room,
					  const struct room_history_req *req, time_t now);

#endif
