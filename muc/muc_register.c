/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * muc_register.c: registering with a room (XEP-0045 7.10): a user asks
 * the room for its jabber:iq:register form, submits a nick
 * (muc#register_roomnick), and the room reserves that nick for the
 * user's bare JID (nobody else may join with it or change to it) and
 * makes the user a member. In a members-only room only members may
 * register, unless the owner opened registration
 * (x-muc#roomconfig_registration). The reserved nick is found with a
 * disco#info query to the room with node x-roomuser-item (7.12). A
 * <remove/> drops the reservation (the affiliation stays: owners and
 * admins change that through muc#admin). Registered nicks are saved with
 * a persistent room.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "muc/form.h"
#include "muc/muc_private.h"
#include "util/jid.h"
#include "util/log.h"
#include "util/nad.h"
#include "util/xdata.h"
#include "util/xhash.h"

#define NS_REGISTER "jabber:iq:register"
#define NS_MUC_REGISTER "http://jabber.org/protocol/muc#register"
#define NS_DISCO_INFO "http://jabber.org/protocol/disco#info"
#define FIELD_NICK "muc#register_roomnick"

int muc_nick_reserved(const struct muc_room *mr, const char *nick, const struct jid *from)
{
	const char *owner = room_nick_owner(mr->room, nick);

	return owner != NULL && strcmp(owner, jid_bare(from)) != 0;
}

static struct nad *reply(const struct nad *stanza, const char *ns, int *q_r)
{
	struct nad *nad = muc_stanza_new("iq", "result", nad_attr(stanza, 0, NULL, "from"),
					 nad_attr(stanza, 0, NULL, "to"));

	nad_attr_set(nad, 0, NULL, "id", nad_attr(stanza, 0, NULL, "id"));
	*q_r = nad_elem_add(nad, 0, ns, "query");
	return nad;
}

/* Why `from` may not register here, or NULL (and the condition). */
static const char *refusal(const struct muc_room *mr, const struct jid *from,
			   const char **cond_r)
{
	enum muc_affil a = room_affil(mr->room, from);

	*cond_r = "forbidden";
	if (a == MUC_AFFIL_OUTCAST)
		return "you are banned from this room";
	*cond_r = "not-allowed";
	if (mr->room->locked)
		return "this room is locked until its owner configures it";
	if (mr->room->cfg.members_only && a < MUC_AFFIL_MEMBER &&
	    !mr->room->cfg.open_registration)
		return "this room is members-only and its registration is closed";
	return NULL;
}

static void send_form(struct muc *muc, struct muc_room *mr, const struct nad *stanza,
		      const struct jid *from)
{
	const char *nick = room_nick_of(mr->room, jid_bare(from));
	int q, x, f;
	struct nad *nad = reply(stanza, NS_REGISTER, &q);

	if (nick != NULL) {
		nad_elem_add(nad, q, NS_REGISTER, "registered");
		muc_text_child(nad, q, NS_REGISTER, "username", nick);
	} else {
		muc_text_child(nad, q, NS_REGISTER, "instructions",
			       "Choose the nick to reserve in this room; registering "
			       "makes you a member.");
	}
	x = xdata_form_new(nad, q, "form", NS_MUC_REGISTER);
	f = xdata_add_field(nad, x, FIELD_NICK, "text-single", "Nick");
	nad_elem_add(nad, f, XDATA_NS, "required");
	if (nick != NULL)
		xdata_add_value(nad, f, nick);
	muc_send(muc, nad);
}

/* Make the registrant a member, telling the room if it is here. */
static void make_member(struct muc *muc, struct muc_room *mr, const struct jid *from)
{
	enum muc_role role = room_default_role(mr->room, MUC_AFFIL_MEMBER);
	struct occupant *o, *tmp;

	room_set_affil(mr->room, jid_bare(from), MUC_AFFIL_MEMBER, NULL);
	OCCUPANTS_FOREACH(o, tmp, mr->occ) {
		if (!jid_equal_bare(o->real, from))
			continue;
		if (o->role < role)
			o->role = role;
		muc_broadcast_presence(muc, mr, o, 0, NULL);
	}
}

static void submit(struct muc *muc, struct muc_room *mr, const struct nad *stanza, int x,
		   const struct jid *from)
{
	const char *v, *error, *owner;
	const struct occupant *holder;
	char nick[MUC_NICK_MAX + 1], text[96];
	int r;

	if (xdata_is_type(stanza, x, "cancel")) {
		muc_send(muc, reply(stanza, NS_REGISTER, &r));
		return;
	}
	if (!xdata_is_type(stanza, x, "submit") ||
	    (v = muc_form_value(stanza, x, "FORM_TYPE")) == NULL ||
	    strcmp(v, NS_MUC_REGISTER) != 0) {
		muc_error(muc, stanza, "bad-request",
			  "submit the " NS_MUC_REGISTER " form");
		return;
	}
	if ((v = muc_form_value(stanza, x, FIELD_NICK)) == NULL || v[0] == '\0') {
		muc_error(muc, stanza, "not-acceptable", FIELD_NICK " is required");
		return;
	}
	if (strlen(v) > MUC_NICK_MAX ||
	    jid_resourceprep(v, nick, sizeof(nick), &error) < 0 || nick[0] == '\0') {
		muc_error(muc, stanza, "jid-malformed", "the nick is not a valid room nick");
		return;
	}
	owner = room_nick_owner(mr->room, nick);
	holder = occupants_by_nick(mr->occ, nick);
	if ((owner != NULL && strcmp(owner, jid_bare(from)) != 0) ||
	    (holder != NULL && !jid_equal_bare(holder->real, from))) {
		muc_error(muc, stanza, "conflict", "this nick is taken in this room");
		return;
	}
	if (room_nick_register(mr->room, jid_bare(from), nick) < 0) {
		snprintf(text, sizeof(text), "this room has too many registered nicks "
			 "(limit registered nicks per room, %d)", ROOM_NICKS_MAX);
		muc_error(muc, stanza, "resource-constraint", text);
		return;
	}
	if (room_affil(mr->room, from) < MUC_AFFIL_MEMBER)
		make_member(muc, mr, from);
	log_info("muc: %s registered nick '%s' in %s", jid_bare(from), nick,
		 jid_bare(mr->room->jid));
	muc_room_changed(muc, mr);
	muc_send(muc, reply(stanza, NS_REGISTER, &r));
}

void muc_register(struct muc *muc, struct muc_room *mr, const struct nad *stanza, int q,
		  const struct jid *from)
{
	const char *type = nad_attr(stanza, 0, NULL, "type"), *why, *cond;
	int x, r;

	if (nad_child(stanza, q, NS_REGISTER, "remove") != NAD_NONE &&
	    strcmp(type, "set") == 0) {
		if (room_nick_of(mr->room, jid_bare(from)) == NULL) {
			muc_error(muc, stanza, "item-not-found", "you have no nick registered here");
			return;
		}
		room_nick_unregister(mr->room, jid_bare(from));
		muc_room_changed(muc, mr);
		muc_send(muc, reply(stanza, NS_REGISTER, &r));
		return;
	}
	if ((why = refusal(mr, from, &cond)) != NULL) {
		muc_error(muc, stanza, cond, why);
		return;
	}
	if (strcmp(type, "get") == 0) {
		send_form(muc, mr, stanza, from);
		return;
	}
	if ((x = nad_child(stanza, q, MUC_NS_XDATA, "x")) == NAD_NONE) {
		muc_error(muc, stanza, "bad-request", "submit the " NS_MUC_REGISTER " form");
		return;
	}
	submit(muc, mr, stanza, x, from);
}

void muc_roomuser_item(struct muc *muc, struct muc_room *mr, const struct nad *stanza,
		       int q, const struct jid *from)
{
	const char *nick = room_nick_of(mr->room, jid_bare(from));
	struct nad *nad = reply(stanza, NS_DISCO_INFO, &q);
	int id;

	nad_attr_set(nad, q, NULL, "node", "x-roomuser-item");
	if (nick != NULL) {
		id = nad_elem_add(nad, q, NS_DISCO_INFO, "identity");
		nad_attr_set(nad, id, NULL, "category", "conference");
		nad_attr_set(nad, id, NULL, "name", nick);
		nad_attr_set(nad, id, NULL, "type", "text");
	}
	muc_send(muc, nad);
}
