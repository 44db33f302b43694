/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * muc_message.c: messages to a room and its occupants (XEP-0045):
 * groupchat messages to every occupant (kept in the history, and in
 * storage for persistent rooms), the subject, private messages between
 * occupants, mediated invitations and declines, voice requests, the
 * message size limit, and bounces that tell an occupant is gone.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "muc/form.h"
#include "muc/muc_private.h"
#include "sx/sx.h"
#include "util/buf.h"
#include "util/jid.h"
#include "util/log.h"
#include "util/nad.h"
#include "util/xhash.h"

/* Invitations handled in one message. */
#define MUC_INVITES_MAX 16

static void private_message(struct muc *muc, struct muc_room *mr, struct occupant *o,
			    const struct nad *stanza, const char *nick)
{
	char from[JID_MAX + 1];
	const char *type = nad_attr(stanza, 0, NULL, "type");
	enum muc_pm pm = mr->room->cfg.allow_pm;
	struct occupant *target;
	struct nad *nad;

	if (o == NULL) {
		muc_error(muc, stanza, "not-acceptable",
			  "only occupants may send private messages");
		return;
	}
	if (type != NULL && strcmp(type, "groupchat") == 0) {
		muc_error(muc, stanza, "bad-request", "a groupchat message goes to the room");
		return;
	}
	if (pm == MUC_PM_NONE || (pm == MUC_PM_MODERATORS && o->role < MUC_ROLE_MODERATOR) ||
	    (pm == MUC_PM_PARTICIPANTS && o->role < MUC_ROLE_PARTICIPANT)) {
		muc_error(muc, stanza, "forbidden", "private messages are not allowed here");
		return;
	}
	if ((target = occupants_by_nick(mr->occ, nick)) == NULL) {
		muc_error(muc, stanza, "item-not-found", "no occupant with this nick");
		return;
	}
	nad = nad_copy(stanza);
	nad_attr_set(nad, 0, NULL, "from", muc_occ_jid(mr, o->nick, from, sizeof(from)));
	nad_elem_add(nad, 0, MUC_NS_USER, "x");
	muc_occupant_send(muc, target, nad);
}

static void broadcast_message(struct muc *muc, struct muc_room *mr, const struct nad *msg)
{
	struct occupant *to, *tmp;

	muc->n_groupchat++;
	OCCUPANTS_FOREACH(to, tmp, mr->occ)
		muc_occupant_send(muc, to, nad_copy(msg));
}

static void groupchat(struct muc *muc, struct muc_room *mr, struct occupant *o,
		      const struct nad *stanza)
{
	char from[JID_MAX + 1];
	int subject = nad_child(stanza, 0, SX_NS_CLIENT, "subject");
	int body = nad_child(stanza, 0, SX_NS_CLIENT, "body");
	const char *error;
	struct nad *msg;

	if (o == NULL) {
		muc_error(muc, stanza, "not-acceptable", "only occupants may speak in this room");
		return;
	}
	if (subject != NAD_NONE && body == NAD_NONE) {
		if (o->role < MUC_ROLE_MODERATOR &&
		    !(mr->room->cfg.change_subject && o->role >= MUC_ROLE_PARTICIPANT)) {
			muc_error(muc, stanza, "forbidden",
				  "only moderators may change the subject here");
			return;
		}
		room_set_subject(mr->room, nad_text(stanza, subject, NULL), o->nick);
		muc_room_changed(muc, mr);
	} else if (o->role < MUC_ROLE_PARTICIPANT) {
		muc_error(muc, stanza, "forbidden",
			  "visitors may not speak in a moderated room");
		return;
	}
	msg = nad_copy(stanza);
	nad_attr_set(msg, 0, NULL, "from", muc_occ_jid(mr, o->nick, from, sizeof(from)));
	nad_attr_set(msg, 0, NULL, "to", NULL);
	if (body != NAD_NONE)
		muc_msg_stamp_id(mr, msg);
	broadcast_message(muc, mr, msg);
	if (body == NAD_NONE) {
		nad_free(&msg);
		return;
	}
	if (muc->store != NULL && mr->room->cfg.persistent && muc->limits.history > 0 &&
	    muc_store_history_add(muc->store, jid_bare(mr->room->jid), muc->now(), msg,
				  muc->limits.history, &error) < 0)
		log_warnx("muc: history of %s not saved: %s", jid_bare(mr->room->jid), error);
	room_history_add(mr->room, msg, muc->now());
}

static void invite_one(struct muc *muc, struct muc_room *mr, const struct nad *stanza,
		       int inv, const struct jid *from)
{
	const char *to = nad_attr(stanza, inv, NULL, "to"), *error;
	int reason = nad_child(stanza, inv, MUC_NS_USER, "reason"), x, i;
	struct jid *invitee;
	struct nad *nad;

	if (to == NULL || (invitee = jid_new(to, strlen(to), &error)) == NULL) {
		muc_error(muc, stanza, "jid-malformed", "an invitation needs a valid 'to'");
		return;
	}
	if (mr->room->cfg.members_only &&
	    room_affil(mr->room, invitee) < MUC_AFFIL_MEMBER) {
		/* XEP-0045 7.8.2: the invitee of a members-only room becomes a
		 * member. */
		room_set_affil(mr->room, jid_bare(invitee), MUC_AFFIL_MEMBER, NULL);
		muc_room_changed(muc, mr);
	}
	nad = muc_stanza_new("message", NULL, jid_full(invitee), jid_bare(mr->room->jid));
	x = nad_elem_add(nad, 0, MUC_NS_USER, "x");
	i = nad_elem_add(nad, x, MUC_NS_USER, "invite");
	nad_attr_set(nad, i, NULL, "from", jid_full(from));
	if (reason != NAD_NONE)
		nad_graft(nad, i, stanza, reason);
	if (mr->room->cfg.password_protected)
		muc_text_child(nad, x, MUC_NS_USER, "password", mr->room->cfg.password);
	muc_text_child(nad, 0, SX_NS_CLIENT, "body", "You are invited to this room.");
	muc_send(muc, nad);
	jid_free(&invitee);
}

static void decline(struct muc *muc, struct muc_room *mr, const struct nad *stanza,
		    int dec, const struct jid *from)
{
	const char *to = nad_attr(stanza, dec, NULL, "to");
	int reason = nad_child(stanza, dec, MUC_NS_USER, "reason"), x, d;
	struct nad *nad;

	if (to == NULL)
		return;
	nad = muc_stanza_new("message", NULL, to, jid_bare(mr->room->jid));
	x = nad_elem_add(nad, 0, MUC_NS_USER, "x");
	d = nad_elem_add(nad, x, MUC_NS_USER, "decline");
	nad_attr_set(nad, d, NULL, "from", jid_bare(from));
	if (reason != NAD_NONE)
		nad_graft(nad, d, stanza, reason);
	muc_send(muc, nad);
}

static void mediated(struct muc *muc, struct muc_room *mr, struct occupant *o,
		     const struct nad *stanza, int x, const struct jid *from)
{
	enum muc_affil a = room_affil(mr->room, from);
	int inv = nad_child(stanza, x, MUC_NS_USER, "invite"), n = 0;
	int dec = nad_child(stanza, x, MUC_NS_USER, "decline");

	if (dec != NAD_NONE) {
		decline(muc, mr, stanza, dec, from);
		return;
	}
	if (inv == NAD_NONE) {
		muc_error(muc, stanza, "bad-request", "nothing this room understands");
		return;
	}
	if (o == NULL) {
		muc_error(muc, stanza, "not-acceptable", "only occupants may invite");
		return;
	}
	if (mr->room->cfg.members_only && !mr->room->cfg.allow_invites && a < MUC_AFFIL_ADMIN) {
		muc_error(muc, stanza, "forbidden",
			  "only admins and owners may invite to this room");
		return;
	}
	for (; inv != NAD_NONE && n < MUC_INVITES_MAX;
	     inv = nad_next(stanza, inv, MUC_NS_USER, "invite"), n++)
		invite_one(muc, mr, stanza, inv, from);
}

/* ---- voice requests (XEP-0045 7.13, 8.6) ---- */

static void form_field(struct nad *nad, int x, const char *var, const char *type,
		       const char *label, const char *value)
{
	int f = nad_elem_add(nad, x, MUC_NS_XDATA, "field");

	nad_attr_set(nad, f, NULL, "var", var);
	nad_attr_set(nad, f, NULL, "type", type);
	if (label != NULL)
		nad_attr_set(nad, f, NULL, "label", label);
	muc_text_child(nad, f, MUC_NS_XDATA, "value", value);
}

/* A visitor asks for voice: every moderator gets the approval form. */
static void voice_request(struct muc *muc, struct muc_room *mr, const struct occupant *o)
{
	struct occupant *m, *tmp;
	struct nad *nad;
	int x;

	nad = muc_stanza_new("message", NULL, NULL, jid_bare(mr->room->jid));
	x = nad_elem_add(nad, 0, MUC_NS_XDATA, "x");
	nad_attr_set(nad, x, NULL, "type", "form");
	muc_text_child(nad, x, MUC_NS_XDATA, "title", "Voice request");
	form_field(nad, x, "FORM_TYPE", "hidden", NULL, MUC_NS_REQUEST);
	form_field(nad, x, "muc#role", "list-single", "Requested role", "participant");
	form_field(nad, x, "muc#jid", "jid-single", "User ID", jid_full(o->real));
	form_field(nad, x, "muc#roomnick", "text-single", "Room nickname", o->nick);
	form_field(nad, x, "muc#request_allow", "boolean", "Grant voice?", "false");
	OCCUPANTS_FOREACH(m, tmp, mr->occ)
		if (m->role == MUC_ROLE_MODERATOR)
			muc_occupant_send(muc, m, nad_copy(nad));
	nad_free(&nad);
}

/* A moderator answers a voice request: approved, the visitor becomes a
 * participant. */
static void voice_answer(struct muc *muc, struct muc_room *mr, const struct nad *stanza,
			 int form)
{
	const char *allow = muc_form_value(stanza, form, "muc#request_allow");
	const char *nick = muc_form_value(stanza, form, "muc#roomnick");
	struct occupant *t;

	if (allow == NULL || (strcmp(allow, "1") != 0 && strcmp(allow, "true") != 0) ||
	    nick == NULL || (t = occupants_by_nick(mr->occ, nick)) == NULL ||
	    t->role != MUC_ROLE_VISITOR)
		return;
	t->role = MUC_ROLE_PARTICIPANT;
	muc_broadcast_presence(muc, mr, t, 0, NULL);
}

static void request_form(struct muc *muc, struct muc_room *mr, struct occupant *o,
			 const struct nad *stanza, int form)
{
	const char *role = muc_form_value(stanza, form, "muc#role");

	if (o == NULL) {
		muc_error(muc, stanza, "not-acceptable", "you are not in this room");
		return;
	}
	if (o->role == MUC_ROLE_MODERATOR) {
		voice_answer(muc, mr, stanza, form);
		return;
	}
	if (role == NULL || strcmp(role, "participant") != 0 || o->role != MUC_ROLE_VISITOR) {
		muc_error(muc, stanza, "bad-request", "only a visitor may ask for voice");
		return;
	}
	voice_request(muc, mr, o);
}

/* Does this error say the occupant's client is no longer there (as
 * opposed to refusing one stanza)? */
static int error_means_gone(const struct nad *stanza)
{
	static const char *const gone[] = {
		"gone", "item-not-found", "recipient-unavailable", "redirect",
		"remote-server-not-found", "remote-server-timeout", "service-unavailable",
	};
	int e = nad_child(stanza, 0, SX_NS_CLIENT, "error"), c;
	size_t i;

	c = e != NAD_NONE ? nad_child(stanza, e, SX_NS_STANZA_ERRORS, NULL) : NAD_NONE;
	if (c == NAD_NONE)
		return 1;       /* no condition given: nothing to keep it for */
	for (i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
		if (strcmp(nad_name(stanza, c), gone[i]) == 0)
			return 1;
	return 0;
}

void muc_message(struct muc *muc, struct muc_service *svc, const struct nad *stanza,
		 const struct jid *from, const struct jid *to)
{
	const char *type = nad_attr(stanza, 0, NULL, "type");
	struct muc_room *mr = xhash_get(svc->rooms, jid_bare(to));
	struct occupant *o = mr != NULL ? occupants_by_real(mr->occ, from) : NULL;
	struct muc_pres_extra ex = { .codes = { 333 }, .ncodes = 1 };
	char *xml;
	size_t len = 0;
	char text[96];
	int x;

	if (type != NULL && strcmp(type, "error") == 0) {
		/* An occupant's server could not deliver to it: it is gone.
		 * The bounce of a room message is addressed to the sender's
		 * room JID, so `to` says nothing; the condition does. */
		if (o != NULL && error_means_gone(stanza) &&
		    muc_session_leave(muc, mr, o, from, &ex) < 0)
			muc_occupant_leave(muc, mr, o, &ex);
		return;
	}
	if (jid_node(to)[0] == '\0') {
		muc_error(muc, stanza, "service-unavailable", "messages go to rooms");
		return;
	}
	if (mr == NULL) {
		muc_error(muc, stanza, "item-not-found", "no such room");
		return;
	}
	xml = nad_to_string(stanza, &len);
	free(xml);
	if (len > (size_t)muc->limits.message_size) {
		snprintf(text, sizeof(text), "the message is too large "
			 "(limit message-size, %d bytes)", muc->limits.message_size);
		muc_error(muc, stanza, "not-acceptable", text);
		return;
	}
	if (jid_resource(to)[0] != '\0') {
		private_message(muc, mr, o, stanza, jid_resource(to));
		return;
	}
	x = nad_child(stanza, 0, MUC_NS_XDATA, "x");
	if (x != NAD_NONE && (type == NULL || strcmp(type, "groupchat") != 0)) {
		const char *ft = muc_form_value(stanza, x, "FORM_TYPE");

		if (ft != NULL && strcmp(ft, MUC_NS_REQUEST) == 0) {
			request_form(muc, mr, o, stanza, x);
			return;
		}
	}
	x = nad_child(stanza, 0, MUC_NS_USER, "x");
	if (x != NAD_NONE && (type == NULL || strcmp(type, "groupchat") != 0)) {
		mediated(muc, mr, o, stanza, x, from);
		return;
	}
	if (type == NULL || strcmp(type, "groupchat") != 0) {
		muc_error(muc, stanza, "bad-request",
			  "messages to a room are of type groupchat");
		return;
	}
	groupchat(muc, mr, o, stanza);
}
