/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mod_privacy: XEP-0016 privacy lists (jabber:iq:privacy) and the
 * XEP-0191 blocking command (urn:xmpp:blocking), on jabberd2's tables:
 * "privacy-items" (list, type jid/group/subscription or none, value,
 * deny, order, block = 1 message | 2 presence-in | 4 presence-out | 8 iq,
 * 0 for all) and "privacy-default". As in jabberd2 the block list is the
 * privacy list named "urn:xmpp:blocking"; it is enforced on its own and
 * not shown among the XEP-0016 lists.
 *
 * Enforcement. Inbound (in-router chain, before delivery or offline
 * storage): the block list, then the list in force (the addressed
 * session's active list for a full JID, else the default list). Blocked
 * messages and iq requests get service-unavailable, the rest is dropped.
 * A stanza for the bare JID while some available session has an active
 * list cannot be judged here, as each session has its own list in force:
 * delivery asks privacy_sess_denies() per session (mod_deliver for
 * messages, mod_presence for presence, mod_carbons for copies) and skips
 * the sessions whose list refuses it; a message all of them refuse is
 * bounced.
 * Outbound (out-router chain): the same for what a session sends (its
 * active list, else the default); blocked messages and iqs come back to
 * the session as not-acceptable (with <blocked/> for the block list).
 * Blocking a contact sends it unavailable presence; unblocking sends the
 * current presence if the contact is subscribed.
 */
#include "config.h"
#include "sm/privacy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/storage.h"
#include "util/buf.h"
#include "util/hash.h"
#include "util/jid.h"
#include "util/log.h"
#include "util/nad.h"
#include "util/xhash.h"
#include "sm/presence.h"
#include "sm/roster.h"
#include "sm/sm.h"

#define NS_BLOCKING "urn:xmpp:blocking"
#define NS_BLOCKING_ERRORS "urn:xmpp:blocking:errors"
#define NS_PRIVACY "jabber:iq:privacy"

struct privacy;

/* The module's data, in its slots: per user, the block list (NULL until
 * user-load ran) and the XEP-0016 lists (NULL until read); per session,
 * its active list and whether it fetched the block list. */
struct privacy_user {
	struct xhash *blocked;          /* XEP-0191: address -> user */
	struct privacy *lists;
};

struct privacy_sess {
	char *active;                   /* XEP-0016 active list, or NULL */
	int blocklist_fetched;          /* wants block list pushes */
};

static int privacy_slot;
static int privacy_loaded;              /* privacy_push_wanted without the module */

static struct privacy_user *privacy_user(const struct user *user)
{
	return user->mod[privacy_slot];
}

static struct privacy_user *privacy_user_new(struct user *user)
{
	if (user->mod[privacy_slot] == NULL)
		user->mod[privacy_slot] = xcalloc(1, sizeof(struct privacy_user));
	return user->mod[privacy_slot];
}

/* The block list, or NULL before user-load. */
static struct xhash *privacy_blocklist(const struct user *user)
{
	const struct privacy_user *pu = privacy_user(user);

	return pu != NULL ? pu->blocked : NULL;
}

/* The XEP-0016 lists, or NULL before they are read. */
static struct privacy *privacy_lists(const struct user *user)
{
	const struct privacy_user *pu = privacy_user(user);

	return pu != NULL ? pu->lists : NULL;
}

static struct privacy_sess *privacy_sess(const struct sess *sess)
{
	return sess->mod[privacy_slot];
}

static struct privacy_sess *privacy_sess_new(struct sess *sess)
{
	if (sess->mod[privacy_slot] == NULL)
		sess->mod[privacy_slot] = xcalloc(1, sizeof(struct privacy_sess));
	return sess->mod[privacy_slot];
}

/* The session's active list, or NULL. */
static const char *privacy_active(const struct sess *sess)
{
	const struct privacy_sess *ps = privacy_sess(sess);

	return ps != NULL ? ps->active : NULL;
}

static void privacy_lists_load(struct user *user);

/* ---- the block list ---- */

static int privacy_user_load(struct user *user)
{
	char *filter = storage_filter_str("list", NS_BLOCKING);
	struct privacy_user *pu = privacy_user_new(user);
	struct os *os = NULL;
	struct os_object *o;
	const char *error, *v;

	if (pu->blocked == NULL)
		pu->blocked = xhash_new();
	if (storage_get(user->sm->st, "privacy-items", jid_bare(user->jid), filter, &os,
			&error) == STORAGE_OK) {
		for (o = os_first(os); o != NULL; o = os_next(o))
			if (os_object_get_str(o, "value", &v) == 0)
				xhash_put(pu->blocked, v, user);
	}
	os_free(&os);
	free(filter);
	privacy_lists_load(user);
	return 0;
}

/* Rewrite the stored list from memory. */
static void privacy_save(struct user *user)
{
	char *filter = storage_filter_str("list", NS_BLOCKING);
	struct os *os = os_new();
	struct xhash_iter it;
	const char *jid, *error;
	int order = 0;

	xhash_iter_init(privacy_blocklist(user), &it);
	while (xhash_iter_next(&it, &jid, NULL)) {
		struct os_object *o = os_object_new(os);

		os_object_put_str(o, "list", NS_BLOCKING);
		os_object_put_str(o, "type", "jid");
		os_object_put_str(o, "value", jid);
		os_object_put_bool(o, "deny", 1);
		os_object_put_int(o, "order", order++);
		os_object_put_int(o, "block", 0);
	}
	if (storage_replace(user->sm->st, "privacy-items", jid_bare(user->jid), filter, os,
			    &error) != STORAGE_OK)
		log_error("sm: privacy: cannot save the block list of %s: %s",
			  jid_bare(user->jid), error);
	else
		sm_cluster_changed(user->sm, jid_bare(user->jid), SM_DATA_PRIVACY);
	os_free(&os);
	free(filter);
}

/* Is `jid` covered by an item (full, bare or domain)? */
static int privacy_blocked(const struct user *user, const struct jid *jid)
{
	struct xhash *blocked = privacy_blocklist(user);

	if (blocked == NULL || jid == NULL || xhash_count(blocked) == 0)
		return 0;
	return xhash_get(blocked, jid_full(jid)) != NULL ||
	       xhash_get(blocked, jid_bare(jid)) != NULL ||
	       xhash_get(blocked, jid_domain(jid)) != NULL;
}


/* ---- XEP-0016 lists ---- */

enum { PI_NONE, PI_JID, PI_GROUP, PI_SUB };
#define PB_MESSAGE 1
#define PB_PRES_IN 2
#define PB_PRES_OUT 4
#define PB_IQ 8

struct privacy_item {
	int type;
	char *value;
	int deny;
	int order;
	int block;
};

struct privacy_list {
	char *name;
	struct privacy_item *items;     /* sorted by order */
	int nitems;
};

struct privacy {
	struct privacy_list *lists;
	int nlists;
	char *def;
};

static void plist_clear(struct privacy_list *l)
{
	int i;

	for (i = 0; i < l->nitems; i++)
		free(l->items[i].value);
	free(l->items);
	free(l->name);
	memset(l, 0, sizeof(*l));
}

static void privacy_free(struct privacy **pp)
{
	struct privacy *p = *pp;
	int i;

	if (p == NULL)
		return;
	*pp = NULL;
	for (i = 0; i < p->nlists; i++)
		plist_clear(&p->lists[i]);
	free(p->lists);
	free(p->def);
	free(p);
}

static struct privacy_list *plist_find(struct privacy *p, const char *name)
{
	int i;

	for (i = 0; p != NULL && name != NULL && i < p->nlists; i++)
		if (strcmp(p->lists[i].name, name) == 0)
			return &p->lists[i];
	return NULL;
}

static struct privacy_list *plist_add(struct privacy *p, const char *name)
{
	struct privacy_list *l;

	p->lists = xrealloc(p->lists, (size_t)(p->nlists + 1) * sizeof(*p->lists));
	l = &p->lists[p->nlists++];
	memset(l, 0, sizeof(*l));
	l->name = xstrdup(name);
	return l;
}

static void plist_remove(struct privacy *p, struct privacy_list *l)
{
	plist_clear(l);
	*l = p->lists[--p->nlists];
}

static int pitem_cmp(const void *a, const void *b)
{
	const struct privacy_item *x = a, *y = b;

	return x->order < y->order ? -1 : x->order > y->order;
}

static int ptype_parse(const char *t)
{
	if (t == NULL)
		return PI_NONE;
	if (strcmp(t, "jid") == 0)
		return PI_JID;
	if (strcmp(t, "group") == 0)
		return PI_GROUP;
	if (strcmp(t, "subscription") == 0)
		return PI_SUB;
	return -1;
}

static const char *const ptype_names[] = { NULL, "jid", "group", "subscription" };

static void plist_load_item(struct privacy *p, struct os_object *o)
{
	const char *list, *type = NULL, *value = NULL;
	struct privacy_list *l;
	struct privacy_item *it;
	int64_t order = 0, block = 0;
	int deny = 0, t;

	if (os_object_get_str(o, "list", &list) < 0 || strcmp(list, NS_BLOCKING) == 0)
		return;
	os_object_get_str(o, "type", &type);
	if ((t = ptype_parse(type)) < 0)
		return;
	os_object_get_str(o, "value", &value);
	os_object_get_bool(o, "deny", &deny);
	os_object_get_int(o, "order", &order);
	os_object_get_int(o, "block", &block);
	if ((l = plist_find(p, list)) == NULL)
		l = plist_add(p, list);
	l->items = xrealloc(l->items, (size_t)(l->nitems + 1) * sizeof(*l->items));
	it = &l->items[l->nitems++];
	it->type = t;
	it->value = xstrdup_opt(value);
	it->deny = deny;
	it->order = (int)order;
	it->block = (int)block;
}

static void privacy_lists_load(struct user *user)
{
	struct privacy *p = xcalloc(1, sizeof(*p));
	struct privacy_user *pu;
	struct os *os = NULL;
	struct os_object *o;
	const char *error, *def;
	int i;

	if (storage_get(user->sm->st, "privacy-items", jid_bare(user->jid), NULL, &os,
			&error) == STORAGE_OK)
		for (o = os_first(os); o != NULL; o = os_next(o))
			plist_load_item(p, o);
	os_free(&os);
	for (i = 0; i < p->nlists; i++)
		if (p->lists[i].nitems > 1)
			qsort(p->lists[i].items, (size_t)p->lists[i].nitems,
			      sizeof(struct privacy_item), pitem_cmp);
	if (storage_get(user->sm->st, "privacy-default", jid_bare(user->jid), NULL, &os,
			&error) == STORAGE_OK &&
	    os_object_get_str(os_first(os), "default", &def) == 0 && plist_find(p, def) != NULL)
		p->def = xstrdup(def);
	os_free(&os);
	pu = privacy_user_new(user);
	privacy_free(&pu->lists);
	pu->lists = p;
}

/* Does item `it` match the address (and roster state) of `jid`? */
static int pitem_match(struct user *user, const struct privacy_item *it,
		       const struct jid *jid)
{
	struct roster_item *ri;
	const char *sub;
	char buf[JID_MAX + 1];
	int g;

	switch (it->type) {
	case PI_NONE:
		return 1;
	case PI_JID:
		if (it->value == NULL)
			return 0;
		snprintf(buf, sizeof(buf), "%s/%s", jid_domain(jid), jid_resource(jid));
		return strcmp(it->value, jid_full(jid)) == 0 || strcmp(it->value, jid_bare(jid)) == 0 ||
		       strcmp(it->value, jid_domain(jid)) == 0 || strcmp(it->value, buf) == 0;
	case PI_GROUP:
		ri = roster_get(user, jid_bare(jid));
		for (g = 0; ri != NULL && it->value != NULL && g < ri->ngroups; g++)
			if (strcmp(ri->groups[g], it->value) == 0)
				return 1;
		return 0;
	default:
		ri = roster_get(user, jid_bare(jid));
		sub = ri == NULL ? "none" : ri->to && ri->from ? "both" : ri->to ? "to"
		      : ri->from ? "from" : "none";
		return it->value != NULL && strcmp(it->value, sub) == 0;
	}
}

/* 1 if the list in force denies this kind of stanza with `jid`. */
static int plist_denies(struct user *user, const struct privacy_list *l,
			const struct jid *jid, int kind)
{
	int i;

	for (i = 0; l != NULL && jid != NULL && i < l->nitems; i++) {
		const struct privacy_item *it = &l->items[i];

		if (it->block != 0 && (it->block & kind) == 0)
			continue;
		if (pitem_match(user, it, jid))
			return it->deny;
	}
	return 0;
}

/* The list in force for a session (or, sess NULL, the user). */
static const struct privacy_list *plist_in_force(struct user *user, const struct sess *sess)
{
	struct privacy_list *l = NULL;

	struct privacy *p = privacy_lists(user);

	if (sess != NULL && privacy_active(sess) != NULL)
		l = plist_find(p, privacy_active(sess));
	if (l == NULL && p != NULL)
		l = plist_find(p, p->def);
	return l;
}

static int pkind(const struct pkt *pkt, int out)
{
	if (pkt->type & (PKT_MESSAGE))
		return PB_MESSAGE;
	if (pkt->type & (PKT_IQ | PKT_IQ_SET))
		return PB_IQ;
	if (pkt->type & (PKT_PRESENCE | PKT_PRESENCE_UN))
		return out ? PB_PRES_OUT : PB_PRES_IN;
	return 0;       /* probes, subscriptions, results, errors: never */
}

/* ---- XEP-0016 protocol ---- */

static void plists_names(struct sess *sess, struct pkt *pkt)
{
	struct privacy *p = privacy_lists(sess->user);
	int q, e, i;

	pkt_result(pkt);
	q = nad_elem_add(pkt->nad, 0, NS_PRIVACY, "query");
	e = nad_elem_add(pkt->nad, q, NS_PRIVACY, "active");
	if (privacy_active(sess) != NULL)
		nad_attr_set(pkt->nad, e, NULL, "name", privacy_active(sess));
	e = nad_elem_add(pkt->nad, q, NS_PRIVACY, "default");
	if (p->def != NULL)
		nad_attr_set(pkt->nad, e, NULL, "name", p->def);
	for (i = 0; i < p->nlists; i++)
		nad_attr_set(pkt->nad, nad_elem_add(pkt->nad, q, NS_PRIVACY, "list"), NULL, "name",
			     p->lists[i].name);
}

static void plist_to_nad(const struct privacy_list *l, struct nad *nad, int q)
{
	static const char *const kinds[] = { "message", "presence-in", "presence-out", "iq" };
	int e = nad_elem_add(nad, q, NS_PRIVACY, "list"), i, k;
	char num[16];

	nad_attr_set(nad, e, NULL, "name", l->name);
	for (i = 0; i < l->nitems; i++) {
		const struct privacy_item *it = &l->items[i];
		int ie = nad_elem_add(nad, e, NS_PRIVACY, "item");

		if (it->type != PI_NONE) {
			nad_attr_set(nad, ie, NULL, "type", ptype_names[it->type]);
			nad_attr_set(nad, ie, NULL, "value", it->value != NULL ? it->value : "");
		}
		nad_attr_set(nad, ie, NULL, "action", it->deny ? "deny" : "allow");
		snprintf(num, sizeof(num), "%d", it->order);
		nad_attr_set(nad, ie, NULL, "order", num);
		for (k = 0; k < 4; k++)
			if (it->block & (1 << k))
				nad_elem_add(nad, ie, NS_PRIVACY, kinds[k]);
	}
}

static const char *plists_get(struct sess *sess, struct pkt *pkt, int q)
{
	int e = nad_child(pkt->nad, q, NS_PRIVACY, "list");
	const struct privacy_list *l;
	char *name;

	if (e == NAD_NONE) {
		plists_names(sess, pkt);
		return NULL;
	}
	if (nad_next(pkt->nad, e, NS_PRIVACY, "list") != NAD_NONE)
		return "bad-request";
	l = plist_find(privacy_lists(sess->user), nad_attr(pkt->nad, e, NULL, "name"));
	if (l == NULL)
		return "item-not-found";
	name = xstrdup(l->name);
	pkt_result(pkt);
	plist_to_nad(plist_find(privacy_lists(sess->user), name), pkt->nad,
		     nad_elem_add(pkt->nad, 0, NS_PRIVACY, "query"));
	free(name);
	return NULL;
}

/* Parse the items of a <list/> set into `l` (empty on entry). */
static const char *plist_parse(const struct nad *nad, int e, struct privacy_list *l)
{
	static const char *const kinds[] = { "message", "presence-in", "presence-out", "iq" };
	int ie, k;

	for (ie = nad_child(nad, e, NS_PRIVACY, "item"); ie != NAD_NONE;
	     ie = nad_next(nad, ie, NS_PRIVACY, "item")) {
		const char *action = nad_attr(nad, ie, NULL, "action");
		const char *order = nad_attr(nad, ie, NULL, "order");
		const char *value = nad_attr(nad, ie, NULL, "value");
		int t = ptype_parse(nad_attr(nad, ie, NULL, "type")), i;
		struct privacy_item *it;
		char *end;
		long o;

		if (action == NULL || order == NULL || t < 0 ||
		    (strcmp(action, "allow") != 0 && strcmp(action, "deny") != 0) ||
		    (t != PI_NONE && value == NULL))
			return "bad-request";
		o = strtol(order, &end, 10);
		if (*order == '\0' || *end != '\0' || o < 0 || o > 0x7fffffff)
			return "bad-request";
		if (t == PI_SUB && strcmp(value, "both") != 0 && strcmp(value, "to") != 0 &&
		    strcmp(value, "from") != 0 && strcmp(value, "none") != 0)
			return "bad-request";
		for (i = 0; i < l->nitems; i++)
			if (l->items[i].order == (int)o)
				return "bad-request";
		l->items = xrealloc(l->items, (size_t)(l->nitems + 1) * sizeof(*l->items));
		it = &l->items[l->nitems++];
		memset(it, 0, sizeof(*it));
		it->type = t;
		it->value = xstrdup_opt(value);
		it->deny = action[0] == 'd';
		it->order = (int)o;
		for (k = 0; k < 4; k++)
			if (nad_child(nad, ie, NS_PRIVACY, kinds[k]) != NAD_NONE)
				it->block |= 1 << k;
	}
	if (l->nitems > 1)
		qsort(l->items, (size_t)l->nitems, sizeof(*l->items), pitem_cmp);
	return NULL;
}

static void plist_store(struct user *user, const char *name, const struct privacy_list *l)
{
	char *filter = storage_filter_str("list", name);
	struct os *os = os_new();
	const char *error;
	int i;

	for (i = 0; l != NULL && i < l->nitems; i++) {
		struct os_object *o = os_object_new(os);

		os_object_put_str(o, "list", name);
		os_object_put_str(o, "type", ptype_names[l->items[i].type]);
		os_object_put_str(o, "value", l->items[i].value);
		os_object_put_bool(o, "deny", l->items[i].deny);
		os_object_put_int(o, "order", l->items[i].order);
		os_object_put_int(o, "block", l->items[i].block);
	}
	if (storage_replace(user->sm->st, "privacy-items", jid_bare(user->jid), filter, os,
			    &error) != STORAGE_OK)
		log_error("sm: privacy: cannot save list %s of %s: %s", name, jid_bare(user->jid),
			  error);
	else
		sm_cluster_changed(user->sm, jid_bare(user->jid), SM_DATA_PRIVACY);
	os_free(&os);
	free(filter);
}

static void plist_store_default(struct user *user)
{
	struct os *os = os_new();
	const char *error;

	const char *def = privacy_lists(user)->def;

	if (def != NULL) {
		os_object_put_str(os_object_new(os), "default", def);
		storage_replace(user->sm->st, "privacy-default", jid_bare(user->jid), NULL, os,
				&error);
	} else
		storage_delete(user->sm->st, "privacy-default", jid_bare(user->jid), NULL, &error);
	os_free(&os);
	sm_cluster_changed(user->sm, jid_bare(user->jid), SM_DATA_PRIVACY);
}

/* <iq type='set'><query><list name/></query></iq> to `to`, from `from`. */
static struct pkt *plist_push_pkt(struct user *user, const char *to, const char *from,
				  const char *name)
{
	char id[24] = "push";
	struct pkt *push = pkt_create(user->sm, "iq", "set", to, from);
	int q;

	hash_random_id(id + 4, 12);
	nad_attr_set(push->nad, 0, NULL, "id", id);
	q = nad_elem_add(push->nad, 0, NS_PRIVACY, "query");
	nad_attr_set(push->nad, nad_elem_add(push->nad, q, NS_PRIVACY, "list"), NULL, "name",
		     name);
	return push;
}

/* Tell every session a list changed (XEP-0016 2.6). In a cluster, the
 * user's sessions on other nodes too: one route per node, from the bare
 * JID, each target getting its own `to`. */
static void plist_push(struct user *user, const char *name)
{
	struct sm_fwd fwd = { 0 };
	struct list_node *n;
	struct rsess *r;

	for (n = list_first(&user->sessions); n != NULL; n = list_next(&user->sessions, n)) {
		struct sess *s = LIST_ENTRY(n, struct sess, link);

		pkt_sess(plist_push_pkt(user, jid_full(s->jid), NULL, name), s);
	}
	for (r = user->remote; r != NULL; r = r->next)
		sm_fwd_add(&fwd, r);
	if (fwd.n > 0) {
		struct pkt *push = plist_push_pkt(user, NULL, jid_bare(user->jid), name);

		sm_fwd_send(user->sm, &fwd, push, 0);
		pkt_free(&push);
	}
}

/* A list in use by another session cannot be removed (XEP-0016 2.8). */
static int plist_in_use(struct user *user, const struct sess *except, const char *name)
{
	struct list_node *n;

	for (n = list_first(&user->sessions); n != NULL; n = list_next(&user->sessions, n)) {
		struct sess *s = LIST_ENTRY(n, struct sess, link);

		if (s != except && privacy_active(s) != NULL && strcmp(privacy_active(s), name) == 0)
			return 1;
	}
	return 0;
}

static const char *plists_set_list(struct sess *sess, struct pkt *pkt, int e)
{
	struct user *user = sess->user;
	struct privacy *p = privacy_lists(user);
	const char *name = nad_attr(pkt->nad, e, NULL, "name"), *cond;
	struct privacy_list nl = { 0 }, *l;
	char *lname;

	if (name == NULL || name[0] == '\0' || strcmp(name, NS_BLOCKING) == 0)
		return "bad-request";
	lname = xstrdup(name);
	if ((cond = plist_parse(pkt->nad, e, &nl)) != NULL) {
		plist_clear(&nl);
		free(lname);
		return cond;
	}
	l = plist_find(p, lname);
	if (nl.nitems == 0) {
		/* Removal. */
		if (l == NULL || plist_in_use(user, sess, lname) ||
		    (p->def != NULL && strcmp(p->def, lname) == 0)) {
			cond = l == NULL ? "item-not-found" : "conflict";
		} else {
			plist_remove(p, l);
			plist_store(user, lname, NULL);
		}
	} else {
		if (l == NULL)
			l = plist_add(p, lname);
		nl.name = xstrdup(lname);
		plist_clear(l);
		*l = nl;
		plist_store(user, lname, l);
	}
	if (cond == NULL)
		plist_push(user, lname);
	else
		plist_clear(&nl);
	free(lname);
	return cond;
}

/* <active/> or <default/>: name the list (or none). */
static const char *plists_set_choice(struct sess *sess, struct pkt *pkt, int e, int def)
{
	struct privacy *p = privacy_lists(sess->user);
	const char *name = nad_attr(pkt->nad, e, NULL, "name");
	char **slot = def ? &p->def : &privacy_sess_new(sess)->active;

	if (name != NULL && plist_find(p, name) == NULL)
		return "item-not-found";
	if (def && p->def != NULL && (name == NULL || strcmp(name, p->def) != 0) &&
	    plist_in_use(sess->user, sess, p->def))
		return "conflict";
	free(*slot);
	*slot = xstrdup_opt(name);
	if (def)
		plist_store_default(sess->user);
	return NULL;
}

static const char *plists_set(struct sess *sess, struct pkt *pkt, int q)
{
	int e = nad_child(pkt->nad, q, NS_PRIVACY, NULL);

	if (e == NAD_NONE || nad_next(pkt->nad, e, NS_PRIVACY, NULL) != NAD_NONE)
		return "bad-request";
	if (strcmp(nad_name(pkt->nad, e), "list") == 0)
		return plists_set_list(sess, pkt, e);
	if (strcmp(nad_name(pkt->nad, e), "active") == 0)
		return plists_set_choice(sess, pkt, e, 0);
	if (strcmp(nad_name(pkt->nad, e), "default") == 0)
		return plists_set_choice(sess, pkt, e, 1);
	return "bad-request";
}

static void plists_iq(struct sess *sess, struct pkt *pkt)
{
	int q = nad_child(pkt->nad, 0, NS_PRIVACY, "query");
	const char *cond;

	if (privacy_lists(sess->user) == NULL)
		privacy_lists_load(sess->user);
	if (q == NAD_NONE)
		cond = "bad-request";
	else if (pkt->type == PKT_IQ)
		cond = plists_get(sess, pkt, q);
	else if ((cond = plists_set(sess, pkt, q)) == NULL)
		pkt_result(pkt);
	pkt_sess(cond != NULL ? pkt_error(pkt, cond) : pkt, sess);
}

/* ---- XEP-0191 iqs ---- */

/* <iq type='set'> with the request's <block/>/<unblock/> (or an empty
 * `what`) to `to`, from `from`. */
static struct pkt *privacy_push_pkt(struct user *user, const char *to, const char *from,
				    const char *what, const struct pkt *req, int q)
{
	char id[24] = "block";
	struct pkt *push = pkt_create(user->sm, "iq", "set", to, from);

	hash_random_id(id + 5, 12);
	nad_attr_set(push->nad, 0, NULL, "id", id);
	if (q != NAD_NONE)
		nad_graft(push->nad, 0, req->nad, q);
	else
		nad_elem_add(push->nad, 0, NS_BLOCKING, what);
	return push;
}

/* To every session that fetched the block list (XEP-0191 3.3). In a
 * cluster, to the user's sessions on other nodes too, from the bare JID:
 * which of them fetched it is known only there (privacy_push_wanted). */
static void privacy_push(struct user *user, const char *what, const struct pkt *req, int q)
{
	struct sm_fwd fwd = { 0 };
	struct list_node *n;
	struct rsess *r;

	for (n = list_first(&user->sessions); n != NULL; n = list_next(&user->sessions, n)) {
		struct sess *s = LIST_ENTRY(n, struct sess, link);

		if (privacy_sess(s) == NULL || !privacy_sess(s)->blocklist_fetched)
			continue;
		pkt_sess(privacy_push_pkt(user, jid_full(s->jid), NULL, what, req, q), s);
	}
	for (r = user->remote; r != NULL; r = r->next)
		sm_fwd_add(&fwd, r);
	if (fwd.n > 0) {
		struct pkt *push = privacy_push_pkt(user, NULL, jid_bare(user->jid), what, req, q);

		sm_fwd_send(user->sm, &fwd, push, 0);
		pkt_free(&push);
	}
}

int privacy_push_wanted(struct sess *sess, const struct pkt *pkt)
{
	if (pkt->type != PKT_IQ_SET || pkt->iq_ns == NULL || strcmp(pkt->iq_ns, NS_BLOCKING) != 0 ||
	    pkt->from == NULL || strcmp(jid_full(pkt->from), jid_bare(sess->user->jid)) != 0)
		return 1;
	return privacy_loaded && privacy_sess(sess) != NULL && privacy_sess(sess)->blocklist_fetched;
}

static void privacy_get(struct sess *sess, struct pkt *pkt)
{
	struct xhash_iter it;
	const char *jid;
	int l;

	privacy_sess_new(sess)->blocklist_fetched = 1;
	pkt_result(pkt);
	l = nad_elem_add(pkt->nad, 0, NS_BLOCKING, "blocklist");
	xhash_iter_init(privacy_blocklist(sess->user), &it);
	while (xhash_iter_next(&it, &jid, NULL))
		nad_attr_set(pkt->nad, nad_elem_add(pkt->nad, l, NS_BLOCKING, "item"), NULL, "jid",
			     jid);
	pkt_sess(pkt, sess);
}

/* The items of a block/unblock as prepared JIDs; -1 if one is invalid. */
static int privacy_items(struct pkt *pkt, int q, struct jid ***jids_r, int *n_r)
{
	struct jid **jids = NULL;
	int n = 0, e;

	for (e = nad_child(pkt->nad, q, NS_BLOCKING, "item"); e != NAD_NONE;
	     e = nad_next(pkt->nad, e, NS_BLOCKING, "item")) {
		const char *s = nad_attr(pkt->nad, e, NULL, "jid"), *error;
		struct jid *j = s != NULL ? jid_new(s, strlen(s), &error) : NULL;

		if (j == NULL) {
			while (n > 0)
				jid_free(&jids[--n]);
			free(jids);
			return -1;
		}
		jids = xrealloc(jids, (size_t)(n + 1) * sizeof(*jids));
		jids[n++] = j;
	}
	*jids_r = jids;
	*n_r = n;
	return 0;
}

/* Presence consequences of (un)blocking one address. */
static void privacy_presence(struct user *user, const struct jid *jid, int block)
{
	struct roster_item *item = roster_get(user, jid_bare(jid));

	if (block)
		presence_gone(user, jid);
	else if (item != NULL && item->from)
		presence_roster(user, item);
}

static void privacy_set(struct sess *sess, struct pkt *pkt, int q, int block)
{
	struct user *user = sess->user;
	struct xhash *blocked = privacy_blocklist(user);
	struct jid **jids = NULL;
	int n = 0, i;

	if (privacy_items(pkt, q, &jids, &n) < 0) {
		pkt_sess(pkt_error(pkt, "jid-malformed"), sess);
		return;
	}
	if (block && n == 0) {
		pkt_sess(pkt_error(pkt, "bad-request"), sess);
		return;
	}
	if (!block && n == 0) {
		xhash_clear(blocked, NULL);
	}
	for (i = 0; i < n; i++) {
		if (block) {
			privacy_presence(user, jids[i], 1);
			xhash_put(blocked, jid_full(jids[i]), user);
		} else {
			xhash_remove(blocked, jid_full(jids[i]));
			privacy_presence(user, jids[i], 0);
		}
		jid_free(&jids[i]);
	}
	free(jids);
	privacy_save(user);
	privacy_push(user, block ? "block" : "unblock", pkt, q);
	pkt_sess(pkt_result(pkt), sess);
}

static enum mod_ret privacy_in_sess(struct sess *sess, struct pkt *pkt)
{
	int q;

	if (!(pkt->type & (PKT_IQ | PKT_IQ_SET)) || pkt->iq_ns == NULL ||
	    (pkt->to != NULL && !jid_equal_bare(pkt->to, sess->jid)))
		return MOD_PASS;
	if (strcmp(pkt->iq_ns, NS_PRIVACY) == 0) {
		plists_iq(sess, pkt);
		return MOD_HANDLED;
	}
	if (strcmp(pkt->iq_ns, NS_BLOCKING) != 0 || privacy_blocklist(sess->user) == NULL)
		return MOD_PASS;
	q = nad_child(pkt->nad, 0, NS_BLOCKING, NULL);
	if (q == NAD_NONE)
		pkt_sess(pkt_error(pkt, "bad-request"), sess);
	else if (pkt->type == PKT_IQ && strcmp(nad_name(pkt->nad, q), "blocklist") == 0)
		privacy_get(sess, pkt);
	else if (pkt->type == PKT_IQ_SET && strcmp(nad_name(pkt->nad, q), "block") == 0)
		privacy_set(sess, pkt, q, 1);
	else if (pkt->type == PKT_IQ_SET && strcmp(nad_name(pkt->nad, q), "unblock") == 0)
		privacy_set(sess, pkt, q, 0);
	else
		pkt_sess(pkt_error(pkt, "bad-request"), sess);
	return MOD_HANDLED;
}

/* ---- enforcement ---- */

/* 1 if some available session has an active list of its own. */
static int any_active(const struct user *user)
{
	struct list_node *n;

	for (n = list_first(&user->sessions); n != NULL; n = list_next(&user->sessions, n)) {
		const struct sess *s = LIST_ENTRY(n, struct sess, link);

		if (s->available && privacy_active(s) != NULL)
			return 1;
	}
	return 0;
}

int privacy_sess_denies(struct sess *sess, const struct pkt *pkt)
{
	struct user *user = sess->user;

	if (privacy_lists(user) == NULL || pkt->from == NULL)
		return 0;
	return plist_denies(user, plist_in_force(user, sess), pkt->from, pkind(pkt, 0));
}

int privacy_user_open(const struct user *user)
{
	const struct xhash *blocked = privacy_blocklist(user);
	const struct privacy *p = privacy_lists(user);

	return (blocked == NULL || xhash_count(blocked) == 0) && (p == NULL || p->nlists == 0);
}

int privacy_user_denies(struct user *user, const struct pkt *pkt)
{
	if (privacy_lists(user) == NULL || pkt->from == NULL)
		return 0;
	return plist_denies(user, plist_in_force(user, NULL), pkt->from, pkind(pkt, 0));
}

/* Stanzas for a user from an address it blocks. */
static enum mod_ret privacy_in_router(struct pkt *pkt)
{
	struct user *user;
	struct sess *sess = NULL;
	enum mod_ret rc = MOD_PASS;
	int denied;

	if (pkt->to == NULL || pkt->from == NULL || jid_node(pkt->to)[0] == '\0' ||
	    !sm_serves(pkt->sm, jid_domain(pkt->to)) || pkt->type == PKT_SESS)
		return MOD_PASS;
	user = user_load(pkt->sm, pkt->to);
	if (user == NULL)
		return MOD_PASS;
	if (jid_resource(pkt->to)[0] != '\0')
		sess = user_sess(user, jid_resource(pkt->to));
	if (privacy_blocked(user, pkt->from))
		denied = 1;
	else if (sess == NULL && (pkt->type & (PKT_MESSAGE | PKT_PRESENCE | PKT_PRESENCE_UN)) &&
		 any_active(user))
		denied = 0;     /* judged per session at delivery */
	else
		denied = plist_denies(user, plist_in_force(user, sess), pkt->from,
				      pkind(pkt, 0));
	if (denied) {
		if (pkt->type & (PKT_MESSAGE | PKT_IQ | PKT_IQ_SET))
			pkt_router(pkt_error(pkt, "service-unavailable"));
		else
			pkt_free(&pkt);
		rc = MOD_HANDLED;
	}
	user_release(user);
	return rc;
}

/* Stanzas from a user to an address it blocks. */
static enum mod_ret privacy_out_router(struct pkt *pkt)
{
	struct user *user;
	struct sess *sess;
	int err, blocked;

	if (pkt->to == NULL || pkt->from == NULL || jid_node(pkt->from)[0] == '\0' ||
	    (pkt->type & (PKT_IQ_RESULT | PKT_IQ_ERROR | PKT_MESSAGE_ERROR)))
		return MOD_PASS;
	user = xhash_get(pkt->sm->users, jid_bare(pkt->from));
	if (user == NULL)
		return MOD_PASS;
	sess = user_sess(user, jid_resource(pkt->from));
	blocked = privacy_blocked(user, pkt->to);
	if (!blocked && !plist_denies(user, plist_in_force(user, sess), pkt->to, pkind(pkt, 1)))
		return MOD_PASS;
	if (sess == NULL || !(pkt->type & (PKT_MESSAGE | PKT_IQ | PKT_IQ_SET))) {
		pkt_free(&pkt);
		return MOD_HANDLED;
	}
	pkt_error(pkt, "not-acceptable");
	err = nad_child(pkt->nad, 0, NULL, "error");
	if (blocked)
		nad_elem_add(pkt->nad, err, NS_BLOCKING_ERRORS, "blocked");
	pkt_sess(pkt, sess);
	return MOD_HANDLED;
}

static void privacy_user_delete(struct sm *sm, const struct jid *jid)
{
	const char *error;

	storage_delete(sm->st, "privacy-items", jid_bare(jid), NULL, &error);
	storage_delete(sm->st, "privacy-default", jid_bare(jid), NULL, &error);
}

static int privacy_init(struct sm *sm, const char *arg)
{
	(void)arg;
	privacy_loaded = 1;
	sm_feature(sm, NS_BLOCKING);
	sm_feature(sm, NS_PRIVACY);
	return 0;
}

static void privacy_user_free(struct user *user, void *data)
{
	struct privacy_user *pu = data;

	(void)user;
	xhash_free(&pu->blocked);
	privacy_free(&pu->lists);
	free(pu);
}

/* Written on another node: read the block list and the lists again. A
 * session keeps its active list while a list of that name exists. */
static void privacy_user_changed(struct user *user, enum sm_user_data what)
{
	struct privacy_user *pu = privacy_user(user);
	struct list_node *n;

	if (what != SM_DATA_PRIVACY || pu == NULL)
		return;
	xhash_free(&pu->blocked);
	privacy_free(&pu->lists);
	privacy_user_load(user);
	for (n = list_first(&user->sessions); n != NULL; n = list_next(&user->sessions, n)) {
		struct sess *s = LIST_ENTRY(n, struct sess, link);
		struct privacy_sess *ps = privacy_sess(s);

		if (ps != NULL && ps->active != NULL && plist_find(pu->lists, ps->active) == NULL) {
			log_notice("sm: privacy: list %s, active for %s, was removed on another "
				   "node", ps->active, jid_full(s->jid));
			free(ps->active);
			ps->active = NULL;
		}
	}
}

static void privacy_sess_free(struct sess *sess, void *data)
{
	struct privacy_sess *ps = data;

	(void)sess;
	free(ps->active);
	free(ps);
}

const struct sm_module sm_module_privacy = {
	.name = "privacy",
	.abi = SM_MODULE_ABI,
	.slot = &privacy_slot,
	.user_free = privacy_user_free,
	.sess_free = privacy_sess_free,
	.init = privacy_init,
	.in_sess = privacy_in_sess,
	.in_router = privacy_in_router,
	.out_router = privacy_out_router,
	.user_load = privacy_user_load,
	.user_delete = privacy_user_delete,
	.user_changed = privacy_user_changed,
};
