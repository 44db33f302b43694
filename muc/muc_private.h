/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * muc_private.h: what muc.c (service, presence), muc_message.c (messages)
 * and muc_iq.c (disco, owner and admin queries) share. Not for other
 * directories.
 */
#ifndef MUC_MUC_PRIVATE_H
#define MUC_MUC_PRIVATE_H

#include "muc/muc.h"

struct jid;
struct nad;

/* Extra parts of an occupant presence (XEP-0045 status codes...). */
struct muc_pres_extra {
	int codes[8];
	int ncodes;
	const char *new_nick;       /* 303: the nick taken */
	const char *reason;
	const char *actor;          /* nick of the moderator who acted */
	int destroy;                /* the room is destroyed */
	const char *destroy_jid;    /* alternate venue */
};

/* ---- muc.c ---- */

/* A new stanza <name type to from> in jabber:client. */
struct nad *muc_stanza_new(const char *name, const char *type, const char *to,
			   const char *from);
/* Send (taken). */
void muc_send(struct muc *muc, struct nad *stanza);
/* Send (taken) to every session of occupant o, `to` set for each. */
void muc_occupant_send(struct muc *muc, const struct occupant *o, struct nad *stanza);
/* Answer `stanza` (not taken) with an error: to/from swapped, the
 * condition, and `text` (may be NULL) naming the reason or limit. */
void muc_error(struct muc *muc, const struct nad *stanza, const char *cond,
	       const char *text);
/* Add <name xmlns=ns>text</name> under parent. */
void muc_text_child(struct nad *nad, int parent, const char *ns, const char *name,
		    const char *text);
/* "room@service/nick" into buf. */
const char *muc_occ_jid(const struct muc_room *mr, const char *nick, char *buf,
			size_t size);
/* Tell every occupant about occupant o (unavailable or not). */
void muc_broadcast_presence(struct muc *muc, struct muc_room *mr,
			    const struct occupant *o, int unavailable,
			    const struct muc_pres_extra *ex);
/* Remove o, telling everyone (unavailable with ex); the room may go
 * away if it empties (returns 1 then). */
int muc_occupant_leave(struct muc *muc, struct muc_room *mr, struct occupant *o,
		       const struct muc_pres_extra *ex);
/* One session of an occupant that has several leaves: it alone hears
 * itself go. 0, or -1 if it is the occupant's last session (the caller
 * makes the occupant leave). */
int muc_session_leave(struct muc *muc, struct muc_room *mr, struct occupant *o,
		      const struct jid *from, const struct muc_pres_extra *ex);
/* Save the room if persistent (or remove it from storage if no longer). */
void muc_room_changed(struct muc *muc, struct muc_room *mr);
/* Destroy: occupants told (with alternate venue), storage row removed,
 * room freed. */
void muc_room_destroy(struct muc *muc, struct muc_room *mr, const char *alt,
		      const char *reason);

/* ---- muc_message.c ---- */

void muc_message(struct muc *muc, struct muc_service *svc, const struct nad *stanza,
		 const struct jid *from, const struct jid *to);

/* Messages kept per room (archive and history): the larger of
 * <limits><archive> and <limits><history>. */
size_t muc_kept(const struct muc *muc);

/* ---- muc_mam.c ---- */

/* The room's archive id of a kept message (its stanza-id), or NULL. */
const char *muc_msg_id(const struct nad *msg);
/* Give a groupchat message the room's stanza-id (XEP-0359), removing any
 * the sender put there. */
void muc_msg_stamp_id(struct muc_room *mr, struct nad *msg);
/* A MAM query (iq set, <query xmlns='urn:xmpp:mam:2'/> at q). */
void muc_mam_query(struct muc *muc, struct muc_room *mr, const struct nad *stanza, int q,
		   const struct jid *from);

/* ---- muc_register.c ---- */

/* 1 if `nick` is registered in the room by another bare JID than from's. */
int muc_nick_reserved(const struct muc_room *mr, const char *nick, const struct jid *from);
/* jabber:iq:register with the room (get: the form; set: register or
 * remove), <query/> at q. */
void muc_register(struct muc *muc, struct muc_room *mr, const struct nad *stanza, int q,
		  const struct jid *from);
/* disco#info node x-roomuser-item: the nick `from` registered. */
void muc_roomuser_item(struct muc *muc, struct muc_room *mr, const struct nad *stanza,
		       int q, const struct jid *from);

/* ---- muc_iq.c ---- */

void muc_iq(struct muc *muc, struct muc_service *svc, struct nad *nad,
	    const struct jid *from, const struct jid *to);

#endif
