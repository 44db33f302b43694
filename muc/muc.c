/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * muc.c: the multi-user chat service (XEP-0045): the services and their
 * rooms, stanza dispatch, joining and leaving with the occupant presence
 * and its status codes, nick changes, the limits on rooms and occupants,
 * and loading persistent rooms. Messages (groupchat, private, subject,
 * invitations, voice requests) are muc_message.c; the iq side (disco,
 * room configuration, affiliations and roles) is muc_iq.c.
 *
 * Nothing here does I/O: stanzas leave through muc->send (the router
 * link in main.c, a capture in the unit tests), and time comes from
 * muc->now.
 */
#include "config.h"
#include "muc/muc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comp/stanza.h"
#include "muc/form.h"
#include "muc/muc_private.h"
#include "sx/sx.h"
#include "util/buf.h"
#include "util/config_file.h"
#include "util/jid.h"
#include "util/log.h"
#include "util/nad.h"
#include "util/xhash.h"

struct muc_opts {
	int lock_new_rooms;
	struct muc_limits limits;
};

#define O(f) offsetof(struct muc_opts, f)
static const struct config_key muc_keys[] = {
	{ "lock-new-rooms", CONFIG_BOOL, "1", O(lock_new_rooms), 0, 0 },
	{ "limits.rooms", CONFIG_INT, "10000", O(limits.rooms), 1, 10000000 },
	{ "limits.rooms-per-user", CONFIG_INT, "10", O(limits.rooms_per_user), 1, 1000000 },
	{ "limits.occupants", CONFIG_INT, "200", O(limits.occupants), 1, 1000000 },
	{ "limits.history", CONFIG_INT, "50", O(limits.history), 0, 100000 },
	{ "limits.archive", CONFIG_INT, "0", O(limits.archive), 0, 1000000 },
	{ "limits.message-size", CONFIG_INT, "16384", O(limits.message_size), 256, 16777216 },
	{ NULL, 0, NULL, 0, 0, 0 },
};
#undef O

static time_t muc_default_now(void)
{
	return time(NULL);
}

struct muc *muc_new(struct config *cfg, const char **error_r)
{
	char dom[JID_PART_MAX + 1];
	struct muc_opts o;
	struct muc *muc;
	int i, n = config_count(cfg, "service");

	if (config_apply(cfg, muc_keys, &o, error_r) < 0)
		return NULL;
	if (n == 0) {
		*error_r = config_errorf(cfg, NULL, "no <service> to serve");
		return NULL;
	}
	muc = xcalloc(1, sizeof(*muc));
	muc->cfg = cfg;
	muc->limits = o.limits;
	muc->lock_new_rooms = o.lock_new_rooms;
	muc->now = muc_default_now;
	muc->svcs = xcalloc((size_t)n, sizeof(*muc->svcs));
	for (i = 0; i < n; i++) {
		if (jid_nameprep(config_get_n(cfg, "service", i), dom, sizeof(dom), error_r) < 0) {
			*error_r = config_errorf(cfg, config_node(cfg, "service", i), "%s",
						 *error_r);
			muc_free(&muc);
			return NULL;
		}
		muc->svcs[i].domain = xstrdup(dom);
		muc->svcs[i].rooms = xhash_new();
		muc->nsvcs++;
	}
	muc->id = muc->svcs[0].domain;
	return muc;
}

static void muc_room_free(struct muc_room **mrp)
{
	struct muc_room *mr = *mrp;

	room_free(&mr->room);
	occupants_free(&mr->occ);
	free(mr->creator);
	free(mr);
	*mrp = NULL;
}

static void muc_room_free_cb(void *p)
{
	struct muc_room *mr = p;

	muc_room_free(&mr);
}

void muc_free(struct muc **mucp)
{
	struct muc *muc = *mucp;
	size_t i;

	if (muc == NULL)
		return;
	for (i = 0; i < muc->nsvcs; i++) {
		xhash_clear(muc->svcs[i].rooms, muc_room_free_cb);
		xhash_free(&muc->svcs[i].rooms);
		free(muc->svcs[i].domain);
	}
	free(muc->svcs);
	free(muc);
	*mucp = NULL;
}

static struct muc_service *muc_service_find(struct muc *muc, const char *domain)
{
	size_t i;

	for (i = 0; i < muc->nsvcs; i++)
		if (strcmp(muc->svcs[i].domain, domain) == 0)
			return &muc->svcs[i];
	return NULL;
}

struct muc_room *muc_room_get(struct muc *muc, const char *bare)
{
	const char *at = strchr(bare, '@');
	struct muc_service *svc;

	if (at == NULL || (svc = muc_service_find(muc, at + 1)) == NULL)
		return NULL;
	return xhash_get(svc->rooms, bare);
}

/* ---- building and sending ---- */

struct nad *muc_stanza_new(const char *name, const char *type, const char *to,
			   const char *from)
{
	return comp_stanza_new(name, type, to, from);
}

void muc_send(struct muc *muc, struct nad *stanza)
{
	muc->send(muc, stanza);
}

void muc_occupant_send(struct muc *muc, const struct occupant *o, struct nad *stanza)
{
	const struct occupant_session *s;
	struct nad *nad;

	OCCUPANT_SESSIONS_FOREACH(s, o) {
		nad = s->link.next == &o->sessions ? stanza : nad_copy(stanza);
		nad_attr_set(nad, 0, NULL, "to", jid_full(s->real));
		muc_send(muc, nad);
	}
}

/* To one session only (a session that just joined or left). */
static void send_to(struct muc *muc, const struct jid *real, struct nad *stanza)
{
	nad_attr_set(stanza, 0, NULL, "to", jid_full(real));
	muc_send(muc, stanza);
}

void muc_error(struct muc *muc, const struct nad *stanza, const char *cond,
	       const char *text)
{
	struct nad *nad = comp_stanza_error(stanza, cond, text, NULL, NULL);

	if (nad != NULL)         /* never answer an error or a result */
		muc_send(muc, nad);
}

const char *muc_occ_jid(const struct muc_room *mr, const char *nick, char *buf,
			size_t size)
{
	snprintf(buf, size, "%s%s%s", jid_bare(mr->room->jid), nick[0] != '\0' ? "/" : "",
		 nick);
	return buf;
}

/* ---- occupant presence ---- */

static void add_status(struct nad *nad, int x, int code)
{
	char num[8];
	int s = nad_elem_add(nad, x, MUC_NS_USER, "status");

	snprintf(num, sizeof(num), "%d", code);
	nad_attr_set(nad, s, NULL, "code", num);
}

void muc_text_child(struct nad *nad, int parent, const char *ns, const char *name,
		    const char *text)
{
	int e = nad_elem_add(nad, parent, ns, name);

	nad_text_append(nad, e, text, strlen(text));
}

/* The presence of o as `to` (an occupant) sees it. */
static struct nad *occupant_presence(struct muc_room *mr, const struct occupant *o,
				     const struct occupant *to, int unavailable,
				     const struct muc_pres_extra *ex)
{
	char from[JID_MAX + 1];
	struct nad *nad = muc_stanza_new("presence", unavailable ? "unavailable" : NULL,
					 jid_full(to->real),
					 muc_occ_jid(mr, o->nick, from, sizeof(from)));
	enum muc_affil a = room_affil(mr->room, o->real);
	int x, item, c, i;

	/* Extended presence (show, status, caps, avatars...) passes on; the
	 * MUC elements were taken out when it was kept. */
	if (o->presence != NULL)
		for (c = nad_child(o->presence, 0, NULL, NULL); c != NAD_NONE;
		     c = nad_next(o->presence, c, NULL, NULL))
			if (strcmp(nad_name(o->presence, c), "error") != 0)
				nad_graft(nad, 0, o->presence, c);
	x = nad_elem_add(nad, 0, MUC_NS_USER, "x");
	if (ex != NULL && ex->destroy) {
		a = MUC_AFFIL_NONE;
	}
	item = nad_elem_add(nad, x, MUC_NS_USER, "item");
	nad_attr_set(nad, item, NULL, "affiliation", muc_affil_name(a));
	nad_attr_set(nad, item, NULL, "role",
		     muc_role_name(unavailable ? MUC_ROLE_NONE : o->role));
	if (mr->room->cfg.nonanonymous || to->role == MUC_ROLE_MODERATOR || to == o)
		nad_attr_set(nad, item, NULL, "jid", jid_full(o->real));
	if (ex != NULL && ex->new_nick != NULL)
		nad_attr_set(nad, item, NULL, "nick", ex->new_nick);
	if (ex != NULL && ex->actor != NULL) {
		c = nad_elem_add(nad, item, MUC_NS_USER, "actor");
		nad_attr_set(nad, c, NULL, "nick", ex->actor);
	}
	if (ex != NULL && ex->reason != NULL && !ex->destroy)
		muc_text_child(nad, item, MUC_NS_USER, "reason", ex->reason);
	if (ex != NULL && ex->destroy) {
		c = nad_elem_add(nad, x, MUC_NS_USER, "destroy");
		if (ex->destroy_jid != NULL)
			nad_attr_set(nad, c, NULL, "jid", ex->destroy_jid);
		if (ex->reason != NULL)
			muc_text_child(nad, c, MUC_NS_USER, "reason", ex->reason);
	}
	if (to == o) {
		if (mr->room->cfg.nonanonymous && !unavailable)
			add_status(nad, x, 100);
		add_status(nad, x, 110);
	}
	for (i = 0; ex != NULL && i < ex->ncodes; i++)
		add_status(nad, x, ex->codes[i]);
	return nad;
}

void muc_broadcast_presence(struct muc *muc, struct muc_room *mr,
			    const struct occupant *o, int unavailable,
			    const struct muc_pres_extra *ex)
{
	struct occupant *to, *tmp;

	OCCUPANTS_FOREACH(to, tmp, mr->occ)
		muc_occupant_send(muc, to, occupant_presence(mr, o, to, unavailable, ex));
}

/* ---- rooms ---- */

void muc_room_changed(struct muc *muc, struct muc_room *mr)
{
	const char *error;

	if (muc->store == NULL)
		return;
	if (mr->room->cfg.persistent) {
		if (muc_store_save(muc->store, mr->room, mr->creator, &error) < 0)
			log_warnx("muc: room %s not saved: %s", jid_bare(mr->room->jid), error);
	} else if (mr->room->dirty) {
		/* It may have been persistent before this change. */
		if (muc_store_delete(muc->store, jid_bare(mr->room->jid), &error) < 0)
			log_warnx("muc: room %s not removed from storage: %s",
				  jid_bare(mr->room->jid), error);
	}
	mr->room->dirty = 0;
}

size_t muc_kept(const struct muc *muc)
{
	return (size_t)(muc->limits.archive > muc->limits.history ? muc->limits.archive :
			muc->limits.history);
}

static struct muc_room *room_create(struct muc *muc, struct muc_service *svc,
				    const struct jid *room, const char *creator)
{
	struct muc_room *mr = xcalloc(1, sizeof(*mr));

	mr->room = room_new(room, muc_kept(muc));
	mr->occ = occupants_new();
	mr->svc = svc;
	mr->creator = xstrdup(creator);
	xhash_put(svc->rooms, jid_bare(mr->room->jid), mr);
	return mr;
}

static void room_drop(struct muc_room *mr)
{
	xhash_remove(mr->svc->rooms, jid_bare(mr->room->jid));
	muc_room_free(&mr);
}

void muc_room_destroy(struct muc *muc, struct muc_room *mr, const char *alt,
		      const char *reason)
{
	struct muc_pres_extra ex = { .destroy = 1, .destroy_jid = alt, .reason = reason };
	struct occupant *o, *tmp;
	const char *error;

	OCCUPANTS_FOREACH(o, tmp, mr->occ)
		muc_occupant_send(muc, o, occupant_presence(mr, o, o, 1, &ex));
	if (muc->store != NULL && muc_store_delete(muc->store, jid_bare(mr->room->jid),
						   &error) < 0)
		log_warnx("muc: room %s not removed from storage: %s",
			  jid_bare(mr->room->jid), error);
	log_info("muc: room %s destroyed", jid_bare(mr->room->jid));
	room_drop(mr);
}

int muc_occupant_leave(struct muc *muc, struct muc_room *mr, struct occupant *o,
		       const struct muc_pres_extra *ex)
{
	muc_broadcast_presence(muc, mr, o, 1, ex);
	occupants_remove(mr->occ, &o);
	if (mr->occ->count == 0 && !mr->room->cfg.persistent) {
		log_debug("muc: room %s is empty and temporary: gone", jid_bare(mr->room->jid));
		room_drop(mr);
		return 1;
	}
	return 0;
}

static size_t rooms_created_by(const struct muc *muc, const char *bare)
{
	struct xhash_iter it;
	size_t i, n = 0;
	void *v;

	for (i = 0; i < muc->nsvcs; i++) {
		xhash_iter_init(muc->svcs[i].rooms, &it);
		while (xhash_iter_next(&it, NULL, &v))
			n += strcmp(((struct muc_room *)v)->creator, bare) == 0;
	}
	return n;
}

static size_t rooms_total(const struct muc *muc)
{
	size_t i, n = 0;

	for (i = 0; i < muc->nsvcs; i++)
		n += xhash_count(muc->svcs[i].rooms);
	return n;
}

/* ---- presence ---- */

/* The occupant's presence as kept: the stanza's own children (show,
 * status, priority, caps...), without the MUC join element. */
static struct nad *presence_keep(const struct nad *stanza)
{
	struct nad *nad = nad_copy(stanza);
	int x;

	while ((x = nad_child(nad, 0, MUC_NS, "x")) != NAD_NONE)
		nad_elem_remove(nad, x);
	while ((x = nad_child(nad, 0, MUC_NS_USER, "x")) != NAD_NONE)
		nad_elem_remove(nad, x);
	return nad;
}

static void send_subject(struct muc *muc, struct muc_room *mr, const struct jid *to)
{
	char from[JID_MAX + 1];
	const struct room *room = mr->room;
	struct nad *nad = muc_stanza_new("message", "groupchat", jid_full(to),
					 muc_occ_jid(mr, room->subject_nick != NULL
							 ? room->subject_nick : "",
						     from, sizeof(from)));

	muc_text_child(nad, 0, SX_NS_CLIENT, "subject",
		       room->subject != NULL ? room->subject : "");
	muc_send(muc, nad);
}

static void send_history(struct muc *muc, struct muc_room *mr, const struct jid *to,
			 struct room_history_req *req)
{
	const struct room_msg *m;
	const struct list_node *n;
	char stamp[32];
	struct nad *nad;
	int d;
	long cap = mr->room->cfg.max_history;

	/* The archive may keep more than a join is sent. */
	if (cap > muc->limits.history)
		cap = muc->limits.history;

	if (req->maxstanzas < 0 || req->maxstanzas > cap)
		req->maxstanzas = cap;
	m = room_history_first(mr->room, req, muc->now());
	for (n = m != NULL ? &m->link : NULL; n != NULL; n = list_next(&mr->room->history, n)) {
		m = LIST_ENTRY(n, const struct room_msg, link);
		nad = nad_copy(m->nad);
		nad_attr_set(nad, 0, NULL, "to", jid_full(to));
		muc_datetime_format(m->when, stamp, sizeof(stamp));
		d = nad_elem_add(nad, 0, MUC_NS_DELAY, "delay");
		nad_attr_set(nad, d, NULL, "from", jid_bare(mr->room->jid));
		nad_attr_set(nad, d, NULL, "stamp", stamp);
		muc_send(muc, nad);
	}
}

/* A join refused: a presence error from room/nick. */
static void join_refused(struct muc *muc, const struct nad *stanza, const char *cond,
			 const char *text)
{
	log_debug("muc: join of %s to %s refused: %s", nad_attr(stanza, 0, NULL, "from"),
		  nad_attr(stanza, 0, NULL, "to"), text != NULL ? text : cond);
	muc_error(muc, stanza, cond, text);
}

static int join_check(struct muc *muc, struct muc_room *mr, const struct nad *stanza,
		      const struct jid *from, const char *nick, int x)
{
	const struct room_config *cfg = &mr->room->cfg;
	enum muc_affil a = room_affil(mr->room, from);
	const struct occupant *holder = occupants_by_nick(mr->occ, nick);
	int pw, max = muc->limits.occupants;
	/* Another session of the account that holds the nick joins it. */
	int same = holder != NULL && jid_equal_bare(holder->real, from);
	char text[96];

	if (a == MUC_AFFIL_OUTCAST) {
		join_refused(muc, stanza, "forbidden", "you are banned from this room");
		return -1;
	}
	if (mr->room->locked && a != MUC_AFFIL_OWNER) {
		join_refused(muc, stanza, "item-not-found",
			     "this room is locked until its owner configures it");
		return -1;
	}
	if (cfg->members_only && a < MUC_AFFIL_MEMBER) {
		join_refused(muc, stanza, "registration-required", "this room is members-only");
		return -1;
	}
	if (cfg->password_protected && a < MUC_AFFIL_ADMIN) {
		pw = x != NAD_NONE ? nad_child(stanza, x, MUC_NS, "password") : NAD_NONE;
		if (pw == NAD_NONE || strcmp(nad_text(stanza, pw, NULL), cfg->password) != 0) {
			join_refused(muc, stanza, "not-authorized",
				     "a correct password is required to enter this room");
			return -1;
		}
	}
	if (cfg->max_users > 0 && cfg->max_users < max)
		max = cfg->max_users;
	if (!same && mr->occ->count >= (size_t)max && a < MUC_AFFIL_ADMIN) {
		snprintf(text, sizeof(text), "the room is full (limit occupants, %d)", max);
		join_refused(muc, stanza, "service-unavailable", text);
		return -1;
	}
	if (holder != NULL && !same) {
		join_refused(muc, stanza, "conflict", "this nick is taken in this room");
		return -1;
	}
	if (muc_nick_reserved(mr, nick, from)) {
		join_refused(muc, stanza, "conflict", "this nick is registered by another user");
		return -1;
	}
	return 0;
}

/* Another session of an occupant joins: it alone hears the room (who is
 * here, itself, history, subject); the others see no change. */
static void join_session(struct muc *muc, struct muc_room *mr, struct occupant *o,
			 const struct jid *from, struct room_history_req *req)
{
	struct occupant *other, *tmp;

	if (occupants_add_session(mr->occ, o, from) < 0)
		return;
	OCCUPANTS_FOREACH(other, tmp, mr->occ)
		if (other != o)
			send_to(muc, from, occupant_presence(mr, other, o, 0, NULL));
	send_to(muc, from, occupant_presence(mr, o, o, 0, NULL));
	send_history(muc, mr, from, req);
	send_subject(muc, mr, from);
}

static struct muc_room *join_create(struct muc *muc, struct muc_service *svc,
				    const struct nad *stanza, const struct jid *from,
				    const struct jid *room, int x)
{
	char text[96];
	struct muc_room *mr;

	if (rooms_total(muc) >= (size_t)muc->limits.rooms) {
		snprintf(text, sizeof(text), "no more rooms on this service (limit rooms, %d)",
			 muc->limits.rooms);
		join_refused(muc, stanza, "resource-constraint", text);
		return NULL;
	}
	if (rooms_created_by(muc, jid_bare(from)) >= (size_t)muc->limits.rooms_per_user) {
		snprintf(text, sizeof(text), "you have created too many rooms "
			 "(limit rooms-per-user, %d)", muc->limits.rooms_per_user);
		join_refused(muc, stanza, "not-allowed", text);
		return NULL;
	}
	mr = room_create(muc, svc, room, jid_bare(from));
	room_set_affil(mr->room, jid_bare(from), MUC_AFFIL_OWNER, NULL);
	/* Old groupchat clients (no <x xmlns='...muc'/>) get an instant
	 * room: they could never unlock it. */
	mr->room->locked = muc->lock_new_rooms && x != NAD_NONE;
	log_info("muc: room %s created by %s%s", jid_bare(mr->room->jid), jid_full(from),
		 mr->room->locked ? " (locked until configured)" : "");
	return mr;
}

static void join(struct muc *muc, struct muc_service *svc, struct muc_room *mr,
		 const struct nad *stanza, const struct jid *from, const struct jid *to)
{
	struct muc_pres_extra ex = { .ncodes = 0 };
	struct room_history_req req;
	struct occupant *o, *other, *tmp;
	const char *nick = jid_resource(to), *error;
	int x = nad_child(stanza, 0, MUC_NS, "x"), created = 0;

	if (nick[0] == '\0') {
		join_refused(muc, stanza, "jid-malformed", "a nick is required to join");
		return;
	}
	if (muc_history_parse(stanza, x, &req, &error) < 0) {
		join_refused(muc, stanza, "bad-request", error);
		return;
	}
	if (mr == NULL) {
		if ((mr = join_create(muc, svc, stanza, from, to, x)) == NULL)
			return;
		created = 1;
	}
	if (join_check(muc, mr, stanza, from, nick, x) < 0) {
		if (created)
			room_drop(mr);
		return;
	}
	if ((o = occupants_by_nick(mr->occ, nick)) != NULL) {
		join_session(muc, mr, o, from, &req);
		return;
	}
	o = occupants_add(mr->occ, nick, from,
			  room_default_role(mr->room, room_affil(mr->room, from)),
			  presence_keep(stanza));
	/* Everyone already here, to the newcomer; then the newcomer to all. */
	OCCUPANTS_FOREACH(other, tmp, mr->occ)
		if (other != o)
			muc_occupant_send(muc, o, occupant_presence(mr, other, o, 0, NULL));
	if (created)
		ex.codes[ex.ncodes++] = 201;
	OCCUPANTS_FOREACH(other, tmp, mr->occ)
		muc_occupant_send(muc, other,
				  occupant_presence(mr, o, other, 0, other == o ? &ex : NULL));
	send_history(muc, mr, o->real, &req);
	send_subject(muc, mr, o->real);
	if (created)
		muc_room_changed(muc, mr);
}

static void nick_change(struct muc *muc, struct muc_room *mr, struct occupant *o,
			const struct nad *stanza, const char *nick)
{
	struct muc_pres_extra ex = { .codes = { 303 }, .ncodes = 1, .new_nick = nick };

	if (occupants_by_nick(mr->occ, nick) != NULL) {
		muc_error(muc, stanza, "conflict", "this nick is taken in this room");
		return;
	}
	if (muc_nick_reserved(mr, nick, o->real)) {
		muc_error(muc, stanza, "conflict", "this nick is registered by another user");
		return;
	}
	muc_broadcast_presence(muc, mr, o, 1, &ex);
	occupants_rename(mr->occ, o, nick);
	occupant_set_presence(o, presence_keep(stanza));
	muc_broadcast_presence(muc, mr, o, 0, NULL);
}

int muc_session_leave(struct muc *muc, struct muc_room *mr, struct occupant *o,
		      const struct jid *from, const struct muc_pres_extra *ex)
{
	if (occupants_remove_session(mr->occ, o, from) < 0)
		return -1;
	send_to(muc, from, occupant_presence(mr, o, o, 1, ex));
	return 0;
}

static void muc_presence(struct muc *muc, struct muc_service *svc, const struct nad *stanza,
			 const struct jid *from, const struct jid *to)
{
	const char *type = nad_attr(stanza, 0, NULL, "type");
	struct muc_room *mr = xhash_get(svc->rooms, jid_bare(to));
	struct occupant *o = mr != NULL ? occupants_by_real(mr->occ, from) : NULL;
	struct muc_pres_extra ex = { .ncodes = 0 };

	if (jid_node(to)[0] == '\0')
		return;         /* presence to the service itself */
	if (type != NULL && (strcmp(type, "unavailable") == 0 || strcmp(type, "error") == 0)) {
		if (o == NULL)
			return;
		if (strcmp(type, "error") == 0)
			ex.codes[ex.ncodes++] = 333;
		if (muc_session_leave(muc, mr, o, from, &ex) == 0)
			return;
		occupant_set_presence(o, presence_keep(stanza));
		muc_occupant_leave(muc, mr, o, &ex);
		return;
	}
	if (type != NULL)
		return;         /* probes and subscriptions: nothing for a room */
	if (o == NULL) {
		join(muc, svc, mr, stanza, from, to);
		return;
	}
	if (jid_resource(to)[0] == '\0' || strcmp(jid_resource(to), o->nick) == 0) {
		occupant_set_presence(o, presence_keep(stanza));
		muc_broadcast_presence(muc, mr, o, 0, NULL);
		return;
	}
	nick_change(muc, mr, o, stanza, jid_resource(to));
}

/* ---- dispatch ---- */

void muc_stanza(struct muc *muc, struct nad *stanza)
{
	const char *name = nad_name(stanza, 0), *error;
	const char *to_s = nad_attr(stanza, 0, NULL, "to");
	const char *from_s = nad_attr(stanza, 0, NULL, "from");
	struct jid *to = NULL, *room = NULL, *from = NULL;
	struct muc_service *svc;

	if (from_s == NULL || (from = jid_new(from_s, strlen(from_s), &error)) == NULL)
		goto done;      /* no one to answer */
	if (muc_addr_parse(to_s, &room, &to, &error) < 0) {
		if (to_s != NULL && strcmp(name, "presence") != 0)
			muc_error(muc, stanza, "jid-malformed", error);
		goto done;
	}
	if ((svc = muc_service_find(muc, jid_domain(to))) == NULL)
		goto done;
	if (strcmp(name, "presence") == 0)
		muc_presence(muc, svc, stanza, from, to);
	else if (strcmp(name, "message") == 0)
		muc_message(muc, svc, stanza, from, to);
	else if (strcmp(name, "iq") == 0)
		muc_iq(muc, svc, stanza, from, to);
done:
	jid_free(&room);
	jid_free(&to);
	jid_free(&from);
	nad_free(&stanza);
}

void muc_router_element(struct muc *muc, struct nad *nad)
{
	struct nad *stanza = comp_stanza_from_route(nad);

	if (stanza != NULL)
		muc_stanza(muc, stanza);
}

void muc_shutdown(struct muc *muc)
{
	struct muc_pres_extra ex = { .codes = { 332 }, .ncodes = 1 };
	struct occupant *o, *tmp;
	struct xhash_iter it;
	size_t i;
	void *v;

	for (i = 0; i < muc->nsvcs; i++) {
		xhash_iter_init(muc->svcs[i].rooms, &it);
		while (xhash_iter_next(&it, NULL, &v)) {
			struct muc_room *mr = v;

			OCCUPANTS_FOREACH(o, tmp, mr->occ)
				muc_occupant_send(muc, o, occupant_presence(mr, o, o, 1, &ex));
		}
	}
}

/* ---- persistent rooms ---- */

static void load_one(void *ctx, const char *room_s, const char *data)
{
	struct muc *muc = ctx;
	struct muc_service *svc;
	struct muc_room *mr;
	struct jid *jid;
	const char *error;
	char *creator = NULL;

	if ((jid = jid_new(room_s, strlen(room_s), &error)) == NULL ||
	    (svc = muc_service_find(muc, jid_domain(jid))) == NULL) {
		jid_free(&jid);
		return;         /* a service no longer served */
	}
	mr = room_create(muc, svc, jid, "");
	if (muc_room_deserialize(mr->room, data, &creator, &error) < 0) {
		log_warnx("muc: stored room %s unreadable (%s); skipped", room_s, error);
		room_drop(mr);
	} else {
		free(mr->creator);
		mr->creator = creator;
		mr->room->dirty = 0;
	}
	jid_free(&jid);
}

static void load_affil(void *ctx, const char *room, const char *jid, const char *affil,
		       const char *reason)
{
	struct muc_room *mr = muc_room_get(ctx, room);
	int a = muc_affil_parse(affil);

	if (mr == NULL || a < 0)
		return;
	room_set_affil(mr->room, jid, (enum muc_affil)a, reason);
	mr->room->dirty = 0;
}

static void load_history(void *ctx, const char *room, time_t when, const char *data)
{
	struct muc_room *mr = muc_room_get(ctx, room);
	struct nad *msg;
	const char *error;

	if (mr == NULL)
		return;
	if ((msg = nad_parse(data, strlen(data), 32, &error, NULL)) == NULL) {
		log_warnx("muc: a stored message of %s is unreadable (%s); skipped", room, error);
		return;
	}
	room_history_add(mr->room, msg, when);
}

int muc_load_rooms(struct muc *muc, const char **error_r)
{
	if (muc->store == NULL)
		return 0;
	if (muc_store_load(muc->store, load_one, load_affil, load_history, muc, error_r) < 0)
		return -1;
	log_notice("muc: %zu persistent rooms loaded", rooms_total(muc));
	return 0;
}
