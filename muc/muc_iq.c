/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * muc_iq.c: the iq side of the multi-user chat service: service discovery
 * of the service and its rooms (with the room features of XEP-0045 6.4),
 * the owner's room configuration and destruction (muc#owner), the
 * admin's and moderator's affiliation and role changes and lists
 * (muc#admin: kick, ban, voice, member and admin lists), iq relayed
 * between occupants, and XEP-0410 self-ping.
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

#define NS_DISCO_INFO "http://jabber.org/protocol/disco#info"
#define NS_DISCO_ITEMS "http://jabber.org/protocol/disco#items"
#define NS_PING "urn:xmpp:ping"

/* Items changed by one admin query. */
#define MUC_ADMIN_ITEMS_MAX 64

/* A result to iq `stanza`, with a copy of its query element (emptied)
 * when `query` is not NAD_NONE; returns the nad and *q_r the new query. */
static struct nad *iq_result(const struct nad *stanza, int query, int *q_r)
{
	struct nad *nad = muc_stanza_new("iq", "result", nad_attr(stanza, 0, NULL, "from"),
					 nad_attr(stanza, 0, NULL, "to"));

	nad_attr_set(nad, 0, NULL, "id", nad_attr(stanza, 0, NULL, "id"));
	if (query != NAD_NONE) {
		*q_r = nad_elem_add(nad, 0, nad_ns(stanza, query), nad_name(stanza, query));
		if (nad_attr(stanza, query, NULL, "node") != NULL)
			nad_attr_set(nad, *q_r, NULL, "node", nad_attr(stanza, query, NULL, "node"));
	}
	return nad;
}

static void add_feature(struct nad *nad, int q, const char *var)
{
	int f = nad_elem_add(nad, q, NS_DISCO_INFO, "feature");

	nad_attr_set(nad, f, NULL, "var", var);
}

static void add_identity(struct nad *nad, int q, const char *name)
{
	int i = nad_elem_add(nad, q, NS_DISCO_INFO, "identity");

	nad_attr_set(nad, i, NULL, "category", "conference");
	nad_attr_set(nad, i, NULL, "type", "text");
	nad_attr_set(nad, i, NULL, "name", name);
}

/* ---- the service ---- */

static void service_iq(struct muc *muc, struct muc_service *svc, const struct nad *stanza,
		       int q)
{
	const char *ns = nad_ns(stanza, q), *type = nad_attr(stanza, 0, NULL, "type");
	struct xhash_iter it;
	struct nad *nad;
	int r, item;
	void *v;

	if (strcmp(type, "get") != 0 || ns == NULL) {
		muc_error(muc, stanza, "service-unavailable", NULL);
		return;
	}
	if (strcmp(ns, NS_PING) == 0) {
		muc_send(muc, iq_result(stanza, NAD_NONE, &r));
	} else if (strcmp(ns, NS_DISCO_INFO) == 0) {
		nad = iq_result(stanza, q, &r);
		add_identity(nad, r, "Chatrooms");
		add_feature(nad, r, MUC_NS);
		add_feature(nad, r, NS_DISCO_INFO);
		add_feature(nad, r, NS_DISCO_ITEMS);
		add_feature(nad, r, NS_PING);
		muc_send(muc, nad);
	} else if (strcmp(ns, NS_DISCO_ITEMS) == 0) {
		nad = iq_result(stanza, q, &r);
		xhash_iter_init(svc->rooms, &it);
		while (xhash_iter_next(&it, NULL, &v)) {
			const struct muc_room *mr = v;

			if (!mr->room->cfg.public_room || mr->room->locked)
				continue;
			item = nad_elem_add(nad, r, NS_DISCO_ITEMS, "item");
			nad_attr_set(nad, item, NULL, "jid", jid_bare(mr->room->jid));
			nad_attr_set(nad, item, NULL, "name", mr->room->cfg.name[0] != '\0'
				     ? mr->room->cfg.name : jid_node(mr->room->jid));
		}
		muc_send(muc, nad);
	} else {
		muc_error(muc, stanza, "service-unavailable", NULL);
	}
}

/* ---- a room's disco ---- */

static void info_field(struct nad *nad, int x, const char *var, const char *type,
		       const char *value)
{
	int f = nad_elem_add(nad, x, MUC_NS_XDATA, "field"), v;

	nad_attr_set(nad, f, NULL, "var", var);
	if (type != NULL)
		nad_attr_set(nad, f, NULL, "type", type);
	v = nad_elem_add(nad, f, MUC_NS_XDATA, "value");
	nad_text_append(nad, v, value, strlen(value));
}

/* The muc#roominfo extension of the room's disco#info (XEP-0045 6.4). */
static void room_info_form(struct nad *nad, int q, const struct muc_room *mr)
{
	int x = nad_elem_add(nad, q, MUC_NS_XDATA, "x");
	char num[24];

	nad_attr_set(nad, x, NULL, "type", "result");
	info_field(nad, x, "FORM_TYPE", "hidden", MUC_NS_ROOMINFO);
	info_field(nad, x, "muc#roominfo_description", NULL, mr->room->cfg.desc);
	snprintf(num, sizeof(num), "%zu", mr->occ->count);
	info_field(nad, x, "muc#roominfo_occupants", NULL, num);
	info_field(nad, x, "muc#roominfo_subject", NULL,
		   mr->room->subject != NULL ? mr->room->subject : "");
}

static void room_disco_info(struct muc *muc, struct muc_room *mr, const struct nad *stanza,
			    int q)
{
	const struct room_config *c = &mr->room->cfg;
	struct nad *nad = iq_result(stanza, q, &q);

	add_identity(nad, q, c->name[0] != '\0' ? c->name : jid_node(mr->room->jid));
	add_feature(nad, q, MUC_NS);
	add_feature(nad, q, NS_DISCO_INFO);
	add_feature(nad, q, c->public_room ? "muc_public" : "muc_hidden");
	add_feature(nad, q, c->persistent ? "muc_persistent" : "muc_temporary");
	add_feature(nad, q, c->members_only ? "muc_membersonly" : "muc_open");
	add_feature(nad, q, c->moderated ? "muc_moderated" : "muc_unmoderated");
	add_feature(nad, q, c->password_protected ? "muc_passwordprotected" : "muc_unsecured");
	add_feature(nad, q, c->nonanonymous ? "muc_nonanonymous" : "muc_semianonymous");
	add_feature(nad, q, "urn:xmpp:ping");
	add_feature(nad, q, "urn:xmpp:mam:2");
	add_feature(nad, q, "urn:xmpp:mam:2#extended");
	add_feature(nad, q, "jabber:iq:register");
	add_feature(nad, q, MUC_NS_SID);
	room_info_form(nad, q, mr);
	muc_send(muc, nad);
}

/* ---- muc#owner ---- */

/* Tell the occupants the configuration changed (104), and whether
 * their real JIDs are now shown to all (172) or no longer (173). */
static void config_changed(struct muc *muc, struct muc_room *mr, int was_nonanonymous)
{
	int codes[2] = { 104, 0 }, i, x, st;
	struct occupant *o, *tmp;
	struct nad *nad;
	char num[8];

	if (mr->room->cfg.nonanonymous != was_nonanonymous)
		codes[1] = mr->room->cfg.nonanonymous ? 172 : 173;
	nad = muc_stanza_new("message", "groupchat", NULL, jid_bare(mr->room->jid));
	x = nad_elem_add(nad, 0, MUC_NS_USER, "x");
	for (i = 0; i < 2 && codes[i] != 0; i++) {
		st = nad_elem_add(nad, x, MUC_NS_USER, "status");
		snprintf(num, sizeof(num), "%d", codes[i]);
		nad_attr_set(nad, st, NULL, "code", num);
	}
	OCCUPANTS_FOREACH(o, tmp, mr->occ)
		muc_occupant_send(muc, o, nad_copy(nad));
	nad_free(&nad);
}

static void owner_set(struct muc *muc, struct muc_room *mr, const struct nad *stanza,
		      int q)
{
	int x = nad_child(stanza, q, MUC_NS_XDATA, "x");
	int d = nad_child(stanza, q, MUC_NS_OWNER, "destroy"), reason, r;
	struct muc_pres_extra ex = { .codes = { 322 }, .ncodes = 1 };
	struct occupant *o, *tmp;
	int was_members_only, was_nonanonymous, was_locked;
	const char *error;

	if (d != NAD_NONE) {
		reason = nad_child(stanza, d, MUC_NS_OWNER, "reason");
		muc_send(muc, iq_result(stanza, NAD_NONE, &r));
		muc_room_destroy(muc, mr, nad_attr(stanza, d, NULL, "jid"),
				 reason != NAD_NONE ? nad_text(stanza, reason, NULL) : NULL);
		return;
	}
	if (x == NAD_NONE) {
		muc_error(muc, stanza, "bad-request", "expected a data form or <destroy/>");
		return;
	}
	if (muc_form_is_cancel(stanza, x)) {
		muc_send(muc, iq_result(stanza, NAD_NONE, &r));
		/* XEP-0045 10.1.3: cancelling the first configuration
		 * destroys the room. */
		if (mr->room->locked)
			muc_room_destroy(muc, mr, NULL, NULL);
		return;
	}
	was_members_only = mr->room->cfg.members_only;
	was_nonanonymous = mr->room->cfg.nonanonymous;
	was_locked = mr->room->locked;
	if (muc_form_apply(stanza, x, &mr->room->cfg, muc->limits.occupants, &error) < 0) {
		muc_error(muc, stanza, "not-acceptable", error);
		return;
	}
	mr->room->locked = 0;
	mr->room->dirty = 1;
	muc_room_changed(muc, mr);
	muc_send(muc, iq_result(stanza, NAD_NONE, &r));
	if (!was_locked)
		config_changed(muc, mr, was_nonanonymous);
	/* XEP-0045 9.7: a room made members-only loses its non-members
	 * (status 322); a temporary room whose owner configured it from
	 * outside may go with its last occupant. */
	if (mr->room->cfg.members_only && !was_members_only)
		OCCUPANTS_FOREACH(o, tmp, mr->occ)
			if (room_affil(mr->room, o->real) < MUC_AFFIL_MEMBER &&
			    muc_occupant_leave(muc, mr, o, &ex))
				return;
}

static void room_owner(struct muc *muc, struct muc_room *mr, const struct nad *stanza,
		       int q, const struct jid *from)
{
	struct nad *nad;
	int r;

	if (room_affil(mr->room, from) != MUC_AFFIL_OWNER) {
		muc_error(muc, stanza, "forbidden", "only owners may configure this room");
		return;
	}
	if (strcmp(nad_attr(stanza, 0, NULL, "type"), "get") == 0) {
		nad = iq_result(stanza, q, &r);
		muc_form_build(nad, r, &mr->room->cfg, muc->limits.occupants);
		muc_send(muc, nad);
		return;
	}
	owner_set(muc, mr, stanza, q);
}

/* ---- muc#admin ---- */

static void admin_list(struct muc *muc, struct muc_room *mr, const struct nad *stanza,
		       int q, int item, const struct occupant *actor, enum muc_affil actor_a)
{
	const char *as = nad_attr(stanza, item, NULL, "affiliation");
	const char *rs = nad_attr(stanza, item, NULL, "role");
	int a = muc_affil_parse(as), role = muc_role_parse(rs), r, e;
	struct occupant *o, *tmp;
	struct xhash_iter it;
	const char *key;
	struct nad *nad;
	void *v;

	if ((as != NULL && (a < 0 || a == MUC_AFFIL_NONE)) ||
	    (rs != NULL && (role < 0 || role == MUC_ROLE_NONE)) || (as == NULL) == (rs == NULL)) {
		muc_error(muc, stanza, "bad-request", "ask for one affiliation or one role");
		return;
	}
	if (as != NULL ? actor_a < MUC_AFFIL_ADMIN
		       : (actor == NULL || actor->role < MUC_ROLE_MODERATOR)) {
		muc_error(muc, stanza, "forbidden", "you may not see this list");
		return;
	}
	nad = iq_result(stanza, q, &r);
	if (as != NULL) {
		xhash_iter_init(mr->room->affils, &it);
		while (xhash_iter_next(&it, &key, &v)) {
			if ((int)((struct room_affil *)v)->affil != a)
				continue;
			e = nad_elem_add(nad, r, MUC_NS_ADMIN, "item");
			nad_attr_set(nad, e, NULL, "affiliation", as);
			nad_attr_set(nad, e, NULL, "jid", key);
		}
	} else {
		OCCUPANTS_FOREACH(o, tmp, mr->occ) {
			if ((int)o->role != role)
				continue;
			e = nad_elem_add(nad, r, MUC_NS_ADMIN, "item");
			nad_attr_set(nad, e, NULL, "role", rs);
			nad_attr_set(nad, e, NULL, "nick", o->nick);
			nad_attr_set(nad, e, NULL, "jid", jid_full(o->real));
			nad_attr_set(nad, e, NULL, "affiliation",
				     muc_affil_name(room_affil(mr->room, o->real)));
		}
	}
	muc_send(muc, nad);
}

/* May `actor` (affiliation aa, role ar) make the change of `item`?
 * NULL if so, else the error condition (and *text_r). */
static const char *admin_check(const struct muc_room *mr, const struct nad *stanza,
			       int item, enum muc_affil aa, enum muc_role ar,
			       const char **text_r)
{
	const char *nick = nad_attr(stanza, item, NULL, "nick");
	const char *jid_s = nad_attr(stanza, item, NULL, "jid"), *error;
	int a = muc_affil_parse(nad_attr(stanza, item, NULL, "affiliation"));
	int role = muc_role_parse(nad_attr(stanza, item, NULL, "role"));
	const struct occupant *t;
	enum muc_affil ta;
	struct jid *j;

	if (role >= 0 && nick != NULL) {
		if ((t = occupants_by_nick(mr->occ, nick)) == NULL) {
			*text_r = "no occupant with this nick";
			return "item-not-found";
		}
		ta = room_affil(mr->room, t->real);
		*text_r = "you may not change this occupant's role";
		if (ar < MUC_ROLE_MODERATOR)
			return "forbidden";
		if (role == MUC_ROLE_MODERATOR && aa < MUC_AFFIL_ADMIN)
			return "forbidden";
		if (ta >= MUC_AFFIL_ADMIN && role != MUC_ROLE_MODERATOR)
			return "not-allowed";
		return NULL;
	}
	if (a >= 0 && jid_s != NULL) {
		if ((j = jid_new(jid_s, strlen(jid_s), &error)) == NULL) {
			*text_r = error;
			return "jid-malformed";
		}
		ta = room_affil(mr->room, j);
		jid_free(&j);
		*text_r = "you may not change this affiliation";
		if (aa < MUC_AFFIL_ADMIN)
			return "forbidden";
		if (aa != MUC_AFFIL_OWNER && (a >= MUC_AFFIL_ADMIN || ta >= MUC_AFFIL_ADMIN))
			return "not-allowed";
		if (ta == MUC_AFFIL_OWNER && a != MUC_AFFIL_OWNER &&
		    room_affil_count(mr->room, MUC_AFFIL_OWNER) == 1) {
			*text_r = "the room's last owner must stay an owner";
			return "conflict";
		}
		return NULL;
	}
	*text_r = "an item needs nick and role, or jid and affiliation";
	return "bad-request";
}

static void apply_role(struct muc *muc, struct muc_room *mr, const struct nad *stanza,
		       int item, const char *actor)
{
	struct occupant *t = occupants_by_nick(mr->occ, nad_attr(stanza, item, NULL, "nick"));
	int role = muc_role_parse(nad_attr(stanza, item, NULL, "role"));
	int reason = nad_child(stanza, item, MUC_NS_ADMIN, "reason");
	struct muc_pres_extra ex = { .codes = { 307 }, .ncodes = 1 };

	ex.actor = actor;
	ex.reason = reason != NAD_NONE ? nad_text(stanza, reason, NULL) : NULL;
	if (t == NULL)
		return;
	if (role == MUC_ROLE_NONE) {
		log_info("muc: %s kicked from %s", t->nick, jid_bare(mr->room->jid));
		muc_occupant_leave(muc, mr, t, &ex);
		return;
	}
	t->role = (enum muc_role)role;
	muc_broadcast_presence(muc, mr, t, 0, NULL);
}

static void apply_affil(struct muc *muc, struct muc_room *mr, const struct nad *stanza,
			int item, const char *actor)
{
	const char *jid_s = nad_attr(stanza, item, NULL, "jid"), *error;
	int a = muc_affil_parse(nad_attr(stanza, item, NULL, "affiliation"));
	int reason = nad_child(stanza, item, MUC_NS_ADMIN, "reason");
	struct muc_pres_extra ex = { .ncodes = 1 };
	struct occupant *o, *tmp;
	struct jid *j = jid_new(jid_s, strlen(jid_s), &error);

	if (j == NULL)
		return;
	ex.actor = actor;
	ex.reason = reason != NAD_NONE ? nad_text(stanza, reason, NULL) : NULL;
	room_set_affil(mr->room, jid_bare(j), (enum muc_affil)a, ex.reason);
	OCCUPANTS_FOREACH(o, tmp, mr->occ) {
		if (!jid_equal_bare(o->real, j))
			continue;
		if (a == MUC_AFFIL_OUTCAST) {
			ex.codes[0] = 301;
			if (muc_occupant_leave(muc, mr, o, &ex))
				break;  /* the room is gone (it cannot: it holds a ban) */
		} else if (mr->room->cfg.members_only && a < MUC_AFFIL_MEMBER) {
			ex.codes[0] = 321;
			if (muc_occupant_leave(muc, mr, o, &ex))
				break;
		} else {
			o->role = room_default_role(mr->room, (enum muc_affil)a);
			muc_broadcast_presence(muc, mr, o, 0, NULL);
		}
	}
	jid_free(&j);
}

static void admin_set(struct muc *muc, struct muc_room *mr, const struct nad *stanza,
		      int q, const struct occupant *actor, enum muc_affil aa)
{
	enum muc_role ar = actor != NULL ? actor->role : MUC_ROLE_NONE;
	const char *cond, *text = NULL;
	char room[JID_MAX + 1], nick[MUC_NICK_MAX + 1];
	const char *actor_nick = NULL;
	int item, n = 0, r;

	/* Check every item first: the query is applied whole or not at all. */
	for (item = nad_child(stanza, q, MUC_NS_ADMIN, "item"); item != NAD_NONE;
	     item = nad_next(stanza, item, MUC_NS_ADMIN, "item")) {
		if (++n > MUC_ADMIN_ITEMS_MAX) {
			muc_error(muc, stanza, "policy-violation",
				  "too many items in one query (limit admin-items, 64)");
			return;
		}
		if ((cond = admin_check(mr, stanza, item, aa, ar, &text)) != NULL) {
			muc_error(muc, stanza, cond, text);
			return;
		}
	}
	if (n == 0) {
		muc_error(muc, stanza, "bad-request", "no item to change");
		return;
	}
	muc_send(muc, iq_result(stanza, NAD_NONE, &r));
	snprintf(room, sizeof(room), "%s", jid_bare(mr->room->jid));
	/* The actor may kick itself: keep its nick, not the occupant. */
	if (actor != NULL) {
		snprintf(nick, sizeof(nick), "%s", actor->nick);
		actor_nick = nick;
	}
	for (item = nad_child(stanza, q, MUC_NS_ADMIN, "item"); item != NAD_NONE;
	     item = nad_next(stanza, item, MUC_NS_ADMIN, "item")) {
		if (nad_attr(stanza, item, NULL, "role") != NULL &&
		    nad_attr(stanza, item, NULL, "nick") != NULL)
			apply_role(muc, mr, stanza, item, actor_nick);
		else
			apply_affil(muc, mr, stanza, item, actor_nick);
		/* A kick may have emptied a temporary room. */
		if (muc_room_get(muc, room) != mr)
			return;
	}
	muc_room_changed(muc, mr);
}

static void room_admin(struct muc *muc, struct muc_room *mr, const struct nad *stanza,
		       int q, const struct jid *from)
{
	const struct occupant *actor = occupants_by_real(mr->occ, from);
	enum muc_affil aa = room_affil(mr->room, from);
	int item = nad_child(stanza, q, MUC_NS_ADMIN, "item");

	if (strcmp(nad_attr(stanza, 0, NULL, "type"), "get") == 0) {
		if (item == NAD_NONE) {
			muc_error(muc, stanza, "bad-request", "ask for one affiliation or one role");
			return;
		}
		admin_list(muc, mr, stanza, q, item, actor, aa);
		return;
	}
	admin_set(muc, mr, stanza, q, actor, aa);
}

/* ---- iq between occupants ---- */

/* The occupant that is `real`, or for a bare JID (the vCard answer of
 * someone's account) the first occupant of that account. */
static struct occupant *occupant_of(const struct muc_room *mr, const struct jid *real)
{
	struct occupant *o = occupants_by_real(mr->occ, real), *tmp;

	if (o != NULL || jid_resource(real)[0] != '\0')
		return o;
	OCCUPANTS_FOREACH(o, tmp, mr->occ)
		if (jid_equal_bare(o->real, real))
			return o;
	return NULL;
}

/* Relay `nad` from occupant `o` to occupant `target`, to its real JID
 * (its bare JID for a vCard request, XEP-0045 17.3). */
static void relay_iq(struct muc *muc, struct muc_room *mr, const struct nad *stanza,
		     const struct occupant *o, const struct occupant *target, int bare)
{
	char from[JID_MAX + 1];
	struct nad *nad = nad_copy(stanza);

	nad_attr_set(nad, 0, NULL, "from", muc_occ_jid(mr, o->nick, from, sizeof(from)));
	nad_attr_set(nad, 0, NULL, "to", bare ? jid_bare(target->real) : jid_full(target->real));
	muc_send(muc, nad);
}

/*
 * An iq to room/nick. Requests from occupants are relayed to the
 * occupant with that nick, from the requester's room JID, and answers
 * (results and errors addressed to a room JID) go back the same way; the
 * service keeps no state for them. An occupant pinging its own room JID
 * is answered here (XEP-0410 self-ping: "am I still joined?").
 */
static void occupant_iq(struct muc *muc, struct muc_room *mr, const struct nad *nad,
			const struct jid *from, const struct jid *to, int q)
{
	const char *type = nad_attr(nad, 0, NULL, "type");
	const char *ns = q != NAD_NONE ? nad_ns(nad, q) : NULL;
	struct occupant *o = occupant_of(mr, from);
	struct occupant *target = occupants_by_nick(mr->occ, jid_resource(to));
	int r, request = type != NULL && (strcmp(type, "get") == 0 || strcmp(type, "set") == 0);

	if (!request) {
		if (type != NULL && o != NULL && target != NULL &&
		    (strcmp(type, "result") == 0 || strcmp(type, "error") == 0))
			relay_iq(muc, mr, nad, o, target, 0);
		return;
	}
	if (o == NULL) {
		muc_error(muc, nad, "not-acceptable", "you are not in this room");
		return;
	}
	if (target == o && ns != NULL && strcmp(ns, NS_PING) == 0) {
		muc_send(muc, iq_result(nad, NAD_NONE, &r));
		return;
	}
	if (target == NULL) {
		muc_error(muc, nad, "item-not-found", "no occupant with this nick");
		return;
	}
	relay_iq(muc, mr, nad, o, target, ns != NULL && strcmp(ns, "vcard-temp") == 0);
}

/* ---- dispatch ---- */

void muc_iq(struct muc *muc, struct muc_service *svc, struct nad *nad,
	    const struct jid *from, const struct jid *to)
{
	const char *type = nad_attr(nad, 0, NULL, "type"), *ns;
	int q = nad_child(nad, 0, NULL, NULL), r;
	struct muc_room *mr = NULL;

	if (jid_node(to)[0] != '\0' && jid_resource(to)[0] != '\0') {
		if ((mr = xhash_get(svc->rooms, jid_bare(to))) != NULL)
			occupant_iq(muc, mr, nad, from, to, q);
		else
			muc_error(muc, nad, "item-not-found", "no such room");
		return;
	}
	if (type == NULL || (strcmp(type, "get") != 0 && strcmp(type, "set") != 0))
		return;         /* results and errors: we asked nothing */
	if (q == NAD_NONE || (ns = nad_ns(nad, q)) == NULL) {
		muc_error(muc, nad, "bad-request", NULL);
		return;
	}
	if (jid_node(to)[0] == '\0') {
		service_iq(muc, svc, nad, q);
		return;
	}
	mr = xhash_get(svc->rooms, jid_bare(to));
	if (mr == NULL) {
		muc_error(muc, nad, "item-not-found", "no such room");
		return;
	}
	if (strcmp(ns, NS_DISCO_INFO) == 0 && strcmp(type, "get") == 0 &&
	    nad_attr(nad, q, NULL, "node") != NULL &&
	    strcmp(nad_attr(nad, q, NULL, "node"), "x-roomuser-item") == 0)
		muc_roomuser_item(muc, mr, nad, q, from);
	else if (strcmp(ns, NS_DISCO_INFO) == 0 && strcmp(type, "get") == 0)
		room_disco_info(muc, mr, nad, q);
	else if (strcmp(ns, "jabber:iq:register") == 0)
		muc_register(muc, mr, nad, q, from);
	else if (strcmp(ns, NS_DISCO_ITEMS) == 0 && strcmp(type, "get") == 0)
		muc_send(muc, iq_result(nad, q, &r));
	else if (strcmp(ns, MUC_NS_OWNER) == 0)
		room_owner(muc, mr, nad, q, from);
	else if (strcmp(ns, MUC_NS_ADMIN) == 0)
		room_admin(muc, mr, nad, q, from);
	else if (strcmp(ns, NS_PING) == 0 && strcmp(type, "get") == 0)
		muc_send(muc, iq_result(nad, NAD_NONE, &r));
	else if (strcmp(ns, "urn:xmpp:mam:2") == 0)
		muc_mam_query(muc, mr, nad, q, from);
	else
		muc_error(muc, nad, "service-unavailable", NULL);
}
