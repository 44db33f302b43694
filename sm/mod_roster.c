/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mod_roster: jabber:iq:roster (RFC 6121 section 2) and the subscription
 * state machine (section 3), on jabberd2's roster-items and roster-groups
 * tables. The roster is read when the user is loaded. Changes are written
 * at once and pushed to every session that fetched the roster.
 *
 * Roster versioning (XEP-0237): a counter raised by every change and kept
 * in our roster-version table. Deriving it from the rows alone (the
 * highest object-sequence, as jabberd2 does) lets it go back after a
 * removal once the user is reloaded, and a client holding that older
 * version would then keep the removed item. A database jabberd2 wrote has
 * no such row: the version starts at the highest object-sequence.
 *
 * Subscription states are the item's to/from flags and ask (1 = we asked
 * to subscribe). What jabberd2 has no column for lives in our
 * roster-state table (struct roster_user s10n, SM_S10N_* bits; jabberd2 ignores it):
 * a pre-approval (RFC 6121 3.4; the item says approved='true') and a
 * contact's request still unanswered, which tells a user's "subscribed"
 * that approves it from one that pre-approves. An unanswered subscribe is
 * delivered to the user's available sessions, and offered again to every
 * session that becomes available until the user answers it (RFC 6121
 * 3.1.3); it is not put in offline storage, which delivers only once.
 */
#include "config.h"
#include "sm/roster.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/storage.h"
#include "util/buf.h"
#include "util/config_file.h"
#include "util/hash.h"
#include "util/jid.h"
#include "util/log.h"
#include "util/nad.h"
#include "util/xhash.h"
#include "sm/presence.h"
#include "sm/sm.h"

/* The module's data, in its slots. Per user: the roster, its version and
 * the roster-state bits; per session: whether it fetched the roster (it
 * then gets pushes); per sm: sm.xml's options. */
struct roster_user {
	struct xhash *items;            /* bare jid -> struct roster_item */
	int64_t ver;
	struct xhash *s10n;             /* bare jid -> SM_S10N_* bits, as a
					 * pointer */
};

struct roster_sess {
	int fetched;
};

struct roster_sm {
	int max;                        /* roster.maxitems, 0: no limit */
};

static int roster_slot;

static struct roster_sm *roster_sm(const struct sm *sm)
{
	return sm->mod[roster_slot];
}

/* The user's roster data, made on first use. Only for the module's own
 * hooks, which run only when it is loaded; the services of roster.h read
 * user->mod directly, since data made for a module that is not loaded
 * would never be freed. */
static struct roster_user *roster_user(const struct user *user)
{
	struct roster_user *ru = user->mod[roster_slot];

	if (ru == NULL) {
		ru = xcalloc(1, sizeof(*ru));
		ru->items = xhash_new();
		ru->s10n = xhash_new();
		user->mod[roster_slot] = ru;
	}
	return ru;
}

struct roster_item *roster_get(struct user *user, const char *bare)
{
	struct roster_user *ru = user->mod[roster_slot];

	return ru != NULL ? xhash_get(ru->items, bare) : NULL;
}

struct xhash *roster_items(struct user *user)
{
	struct roster_user *ru = user->mod[roster_slot];

	return ru != NULL ? ru->items : NULL;
}

int roster_full(struct user *user)
{
	const struct roster_sm *rs = roster_sm(user->sm);

	return rs != NULL && rs->max > 0 && xhash_count(roster_user(user)->items) >= (size_t)rs->max;
}

static void item_free(struct roster_item *item)
{
	int i;

	jid_free(&item->jid);
	free(item->name);
	for (i = 0; i < item->ngroups; i++)
		free(item->groups[i]);
	free(item->groups);
	free(item);
}

static void item_add_group(struct roster_item *item, const char *group)
{
	item->groups = xrealloc(item->groups, (size_t)(item->ngroups + 1) * sizeof(char *));
	item->groups[item->ngroups++] = xstrdup(group);
}

static struct roster_item *item_new(struct user *user, const struct jid *jid)
{
	struct roster_item *item = xcalloc(1, sizeof(*item));

	item->jid = jid_copy_bare(jid);
	xhash_put(roster_user(user)->items, jid_bare(item->jid), item);
	return item;
}

/* Contacts with a roster-state row (requests waiting, pre-approvals)
 * per user; past it, new requests are refused with resource-constraint. */
#define ROSTER_MAX_STATES 1000

/* ---- storage ---- */

static int s10n_get(const struct user *user, const char *bare)
{
	return (int)(intptr_t)xhash_get(roster_user(user)->s10n, bare);
}

/* Set the state bits of one contact, in memory and in roster-state. */
static void s10n_set(struct user *user, const char *bare, int state)
{
	const char *owner = jid_bare(user->jid), *error;
	char *filter = storage_filter_str("jid", bare);
	struct os *os = os_new();
	enum storage_result rc;

	if (state == s10n_get(user, bare)) {
		os_free(&os);
		free(filter);
		return;
	}
	if (state == 0) {
		xhash_remove(roster_user(user)->s10n, bare);
		rc = storage_delete(user->sm->st, "roster-state", owner, filter, &error);
	} else {
		struct os_object *o = os_object_new(os);

		xhash_put(roster_user(user)->s10n, bare, (void *)(intptr_t)state);
		os_object_put_str(o, "jid", bare);
		os_object_put_int(o, "state", state);
		rc = storage_replace(user->sm->st, "roster-state", owner, filter, os, &error);
	}
	if (rc == STORAGE_ERROR)
		log_error("sm: roster: cannot save the state of %s for %s: %s", bare, owner,
			  error);
	else
		sm_cluster_changed(user->sm, owner, SM_DATA_ROSTER);
	os_free(&os);
	free(filter);
}

static void s10n_load(struct user *user)
{
	struct os *os = NULL;
	struct os_object *o;
	const char *error, *jid;
	int64_t state;
	struct jid *j;

	if (storage_get(user->sm->st, "roster-state", jid_bare(user->jid), NULL, &os,
			&error) != STORAGE_OK)
		return;
	for (o = os_first(os); o != NULL; o = os_next(o)) {
		if (os_object_get_str(o, "jid", &jid) < 0 ||
		    os_object_get_int(o, "state", &state) < 0 ||
		    (state & (SM_S10N_APPROVED | SM_S10N_PENDING_IN)) == 0 ||
		    (j = jid_new(jid, strlen(jid), &error)) == NULL)
			continue;
		xhash_put(roster_user(user)->s10n, jid_bare(j),
			  (void *)(intptr_t)(state & (SM_S10N_APPROVED | SM_S10N_PENDING_IN)));
		jid_free(&j);
	}
	os_free(&os);
}

static int roster_load_ver(struct user *user);

/* Every change raises the version, stored at once (see the top). In a
 * cluster another node's sm may have raised it since we read it (its
 * `changed` still on the way): go on from the higher of the two, so the
 * version never goes back. (Two nodes raising it in the same instant may
 * still store one number for two changes.) */
static void roster_bump(struct user *user)
{
	const char *owner = jid_bare(user->jid), *error;
	struct os *os = os_new();
	int64_t mine = roster_user(user)->ver;

	if (user->sm->cluster_notify != NULL && roster_load_ver(user) &&
	    roster_user(user)->ver < mine)
		roster_user(user)->ver = mine;
	roster_user(user)->ver++;
	os_object_put_int(os_object_new(os), "ver", roster_user(user)->ver);
	if (storage_replace(user->sm->st, "roster-version", owner, NULL, os, &error) ==
	    STORAGE_ERROR)
		log_error("sm: roster: cannot save the version for %s: %s", owner, error);
	os_free(&os);
	/* Every change of items or groups ends here: other nodes' copies go. */
	sm_cluster_changed(user->sm, owner, SM_DATA_ROSTER);
}

/* Our stored version, if there is one, replaces the one derived from the
 * rows (with pgsql's one global sequence, rows written after it was
 * stored carry higher numbers). */
static int roster_load_ver(struct user *user)
{
	struct os *os = NULL;
	const char *error;
	int64_t ver;
	int found = 0;

	if (storage_get(user->sm->st, "roster-version", jid_bare(user->jid), NULL, &os,
			&error) == STORAGE_OK &&
	    os_object_get_int(os_first(os), "ver", &ver) == 0) {
		roster_user(user)->ver = ver;
		found = 1;
	}
	os_free(&os);
	return found;
}

static void roster_load_groups(struct user *user)
{
	struct os *os = NULL;
	struct os_object *o;
	const char *error, *jid, *group;

	if (storage_get(user->sm->st, "roster-groups", jid_bare(user->jid), NULL, &os,
			&error) != STORAGE_OK)
		return;
	for (o = os_first(os); o != NULL; o = os_next(o)) {
		struct roster_item *item;

		if (os_object_get_str(o, "jid", &jid) < 0 ||
		    os_object_get_str(o, "group", &group) < 0)
			continue;
		item = roster_get(user, jid);
		if (item != NULL)
			item_add_group(item, group);
	}
	os_free(&os);
}

static int roster_user_load(struct user *user)
{
	struct os *os = NULL;
	struct os_object *o;
	const char *error, *s;
	enum storage_result rc;
	int derive;

	s10n_load(user);
	derive = !roster_load_ver(user);
	rc = storage_get(user->sm->st, "roster-items", jid_bare(user->jid), NULL, &os, &error);
	if (rc == STORAGE_ERROR) {
		log_error("sm: roster: %s: %s", jid_bare(user->jid), error);
		return 0;
	}
	if (rc == STORAGE_NOT_FOUND)
		return 0;
	for (o = os_first(os); o != NULL; o = os_next(o)) {
		struct roster_item *item;
		struct jid *jid;
		int64_t seq = 0, ask = 0;

		if (os_object_get_str(o, "jid", &s) < 0 ||
		    (jid = jid_new(s, strlen(s), &error)) == NULL)
			continue;
		item = item_new(user, jid);
		jid_free(&jid);
		if (os_object_get_str(o, "name", &s) == 0)
			item->name = xstrdup(s);
		os_object_get_bool(o, "to", &item->to);
		os_object_get_bool(o, "from", &item->from);
		os_object_get_int(o, "ask", &ask);
		item->ask = (int)ask;
		if (derive && os_object_get_int(o, "object-sequence", &seq) == 0 &&
		    seq > roster_user(user)->ver)
			roster_user(user)->ver = seq;
	}
	os_free(&os);
	roster_load_groups(user);
	return 0;
}

/* Write one item (and its groups), and raise the version. */
static void roster_save(struct user *user, struct roster_item *item)
{
	const char *owner = jid_bare(user->jid), *error;
	char *filter = storage_filter_str("jid", jid_bare(item->jid));
	struct os *os = os_new();
	struct os_object *o = os_object_new(os);
	int i;

	os_object_put_str(o, "jid", jid_bare(item->jid));
	os_object_put_str(o, "name", item->name);
	os_object_put_bool(o, "to", item->to);
	os_object_put_bool(o, "from", item->from);
	os_object_put_int(o, "ask", item->ask);
	if (storage_replace(user->sm->st, "roster-items", owner, filter, os, &error) != STORAGE_OK)
		log_error("sm: roster: cannot save %s for %s: %s", jid_bare(item->jid), owner,
			  error);
	os_free(&os);
	os = os_new();
	for (i = 0; i < item->ngroups; i++) {
		o = os_object_new(os);
		os_object_put_str(o, "jid", jid_bare(item->jid));
		os_object_put_str(o, "group", item->groups[i]);
	}
	if (storage_replace(user->sm->st, "roster-groups", owner, filter, os, &error) !=
	    STORAGE_OK)
		log_error("sm: roster: cannot save groups for %s: %s", owner, error);
	os_free(&os);
	free(filter);
	roster_bump(user);
}

static void roster_remove(struct user *user, struct roster_item *item)
{
	const char *owner = jid_bare(user->jid), *error;
	char *filter = storage_filter_str("jid", jid_bare(item->jid));

	if (storage_delete(user->sm->st, "roster-items", owner, filter, &error) != STORAGE_OK ||
	    storage_delete(user->sm->st, "roster-groups", owner, filter, &error) != STORAGE_OK)
		log_error("sm: roster: cannot remove %s for %s: %s", jid_bare(item->jid), owner,
			  error);
	free(filter);
	/* A pre-approval goes with the item (RFC 6121 3.4.1); a request
	 * still waiting stays. */
	s10n_set(user, jid_bare(item->jid),
		 s10n_get(user, jid_bare(item->jid)) & ~SM_S10N_APPROVED);
	roster_bump(user);
	xhash_remove(roster_user(user)->items, jid_bare(item->jid));
}

/* For mod_roster_publish, which edits rosters as they load. */
struct roster_item *roster_item_new(struct user *user, const struct jid *jid)
{
	return roster_sm(user->sm) != NULL ? item_new(user, jid) : NULL;
}

void roster_item_add_group(struct roster_item *item, const char *group)
{
	item_add_group(item, group);
}

void roster_item_save(struct user *user, struct roster_item *item)
{
	roster_save(user, item);
}

void roster_item_delete(struct user *user, struct roster_item *item)
{
	roster_remove(user, item);
	item_free(item);
}

/* ---- items as XML ---- */

static void item_to_nad(const struct user *user, const struct roster_item *item,
			struct nad *nad, int query, int removed)
{
	int e = nad_elem_add(nad, query, SM_NS_ROSTER, "item"), i;
	const char *sub = item->to && item->from ? "both" : item->to ? "to"
			  : item->from ? "from" : "none";

	nad_attr_set(nad, e, NULL, "jid", jid_bare(item->jid));
	nad_attr_set(nad, e, NULL, "subscription", removed ? "remove" : sub);
	if (removed)
		return;
	if (item->name != NULL)
		nad_attr_set(nad, e, NULL, "name", item->name);
	if (item->ask == 1)
		nad_attr_set(nad, e, NULL, "ask", "subscribe");
	if (s10n_get(user, jid_bare(item->jid)) & SM_S10N_APPROVED)
		nad_attr_set(nad, e, NULL, "approved", "true");
	for (i = 0; i < item->ngroups; i++) {
		int g = nad_elem_add(nad, e, SM_NS_ROSTER, "group");

		nad_text_set(nad, g, item->groups[i], strlen(item->groups[i]));
	}
}

static void roster_ver_attr(struct user *user, struct nad *nad, int query)
{
	char ver[32];

	snprintf(ver, sizeof(ver), "%" PRId64, roster_user(user)->ver);
	nad_attr_set(nad, query, NULL, "ver", ver);
}

int roster_push_wanted(struct sess *sess, const struct pkt *pkt)
{
	if (pkt->type != PKT_IQ_SET || pkt->iq_ns == NULL ||
	    strcmp(pkt->iq_ns, SM_NS_ROSTER) != 0 || pkt->from == NULL ||
	    strcmp(jid_full(pkt->from), jid_bare(sess->user->jid)) != 0)
		return 1;
	return sess->mod[roster_slot] != NULL;
}

/* Push a changed item to every session that fetched the roster. In a
 * cluster, to every session of the user on other nodes too (one route
 * per node, no `to`, from the bare JID): whether one fetched the roster
 * is known only there, and its sm drops the push if not
 * (roster_push_wanted). */
static void roster_push(struct user *user, const struct roster_item *item, int removed)
{
	struct sm_fwd fwd = { 0 };
	struct list_node *n;
	struct rsess *r;

	for (n = list_first(&user->sessions); n != NULL; n = list_next(&user->sessions, n)) {
		struct sess *s = LIST_ENTRY(n, struct sess, link);
		char id[24] = "push";
		struct pkt *push;
		int q;

		if (s->mod[roster_slot] == NULL)
			continue;
		hash_random_id(id + 4, 12);
		push = pkt_create(user->sm, "iq", "set", jid_full(s->jid), NULL);
		nad_attr_set(push->nad, 0, NULL, "id", id);
		q = nad_elem_add(push->nad, 0, SM_NS_ROSTER, "query");
		roster_ver_attr(user, push->nad, q);
		item_to_nad(user, item, push->nad, q, removed);
		pkt_sess(push, s);
	}
	for (r = user->remote; r != NULL; r = r->next)
		sm_fwd_add(&fwd, r);
	if (fwd.n > 0) {
		char id[24] = "push";
		struct pkt *push;
		int q;

		hash_random_id(id + 4, 12);
		push = pkt_create(user->sm, "iq", "set", NULL, jid_bare(user->jid));
		nad_attr_set(push->nad, 0, NULL, "id", id);
		q = nad_elem_add(push->nad, 0, SM_NS_ROSTER, "query");
		roster_ver_attr(user, push->nad, q);
		item_to_nad(user, item, push->nad, q, removed);
		sm_fwd_send(user->sm, &fwd, push, 0);
		pkt_free(&push);
	}
}

/* ---- the iq ---- */

static void roster_get_iq(struct sess *sess, struct pkt *pkt)
{
	struct user *user = sess->user;
	int q = nad_child(pkt->nad, 0, SM_NS_ROSTER, "query");
	const char *v0 = nad_attr(pkt->nad, q, NULL, "ver");
	int versioned = v0 != NULL;
	char cur[32];
	struct xhash_iter it;
	void *v;

	if (sess->mod[roster_slot] == NULL)
		sess->mod[roster_slot] = xcalloc(1, sizeof(struct roster_sess));
	((struct roster_sess *)sess->mod[roster_slot])->fetched = 1;
	snprintf(cur, sizeof(cur), "%" PRId64, roster_user(user)->ver);
	if (versioned && strcmp(v0, cur) == 0) {
		/* Up to date: an empty result, pushes follow (XEP-0237). */
		pkt_sess(pkt_result(pkt), sess);
		return;
	}
	pkt_result(pkt);
	q = nad_elem_add(pkt->nad, 0, SM_NS_ROSTER, "query");
	if (versioned)
		roster_ver_attr(user, pkt->nad, q);
	xhash_iter_init(roster_user(user)->items, &it);
	while (xhash_iter_next(&it, NULL, &v))
		item_to_nad(user, v, pkt->nad, q, 0);
	pkt_sess(pkt, sess);
}

/* Tell the contact we are gone from its roster as RFC 6121 2.5.2 says. */
static void roster_remove_notify(struct user *user, const struct roster_item *item)
{
	struct pkt *p;

	if (item->to || item->ask == 1) {
		p = pkt_create(user->sm, "presence", "unsubscribe", jid_bare(item->jid),
			       jid_bare(user->jid));
		pkt_router(p);
	}
	if (item->from) {
		p = pkt_create(user->sm, "presence", "unsubscribed", jid_bare(item->jid),
			       jid_bare(user->jid));
		pkt_router(p);
	}
}

static const char *roster_set_item(struct user *user, struct pkt *pkt, int e)
{
	const char *s = nad_attr(pkt->nad, e, NULL, "jid"), *sub, *error, *name;
	struct roster_item *item;
	struct jid *jid;
	int g;

	if (s == NULL)
		return "bad-request";
	if ((jid = jid_new(s, strlen(s), &error)) == NULL)
		return "jid-malformed";         /* RFC 6120 8.3.3.8 */
	item = roster_get(user, jid_bare(jid));
	sub = nad_attr(pkt->nad, e, NULL, "subscription");
	if (sub != NULL && strcmp(sub, "remove") == 0) {
		jid_free(&jid);
		if (item == NULL)
			return "item-not-found";
		roster_remove_notify(user, item);
		roster_push(user, item, 1);
		roster_remove(user, item);
		item_free(item);
		return NULL;
	}
	if (item == NULL) {
		if (roster_full(user)) {
			jid_free(&jid);
			return "not-allowed";
		}
		item = item_new(user, jid);
	}
	jid_free(&jid);
	name = nad_attr(pkt->nad, e, NULL, "name");
	free(item->name);
	item->name = xstrdup_opt(name);
	while (item->ngroups > 0)
		free(item->groups[--item->ngroups]);
	for (g = nad_child(pkt->nad, e, SM_NS_ROSTER, "group"); g != NAD_NONE;
	     g = nad_next(pkt->nad, g, SM_NS_ROSTER, "group")) {
		size_t len;
		const char *text = nad_text(pkt->nad, g, &len);
		char *t = xstrndup(text, len);

		item_add_group(item, t);
		free(t);
	}
	roster_save(user, item);
	roster_push(user, item, 0);
	return NULL;
}

static void roster_set_iq(struct sess *sess, struct pkt *pkt)
{
	int q = nad_child(pkt->nad, 0, SM_NS_ROSTER, "query");
	int e = q != NAD_NONE ? nad_child(pkt->nad, q, SM_NS_ROSTER, "item") : NAD_NONE;
	const char *cond;

	/* RFC 6121 2.3.3: exactly one item. */
	if (e == NAD_NONE || nad_next(pkt->nad, e, SM_NS_ROSTER, "item") != NAD_NONE)
		cond = "bad-request";
	else
		cond = roster_set_item(sess->user, pkt, e);
	pkt_sess(cond != NULL ? pkt_error(pkt, cond) : pkt_result(pkt), sess);
}

/* ---- subscriptions from the user (outbound) ---- */

/*
 * "subscribed" with no request waiting and no subscription from the
 * contact: a pre-approval (RFC 6121 3.4.2). Noted on the item (created
 * with subscription none if there is none) and pushed; the stanza itself
 * goes nowhere. The contact's later request is then granted at once.
 */
static void roster_preapprove(struct sess *sess, struct pkt *pkt, struct roster_item *item)
{
	struct user *user = sess->user;
	const char *bare = jid_bare(pkt->to);
	int state = s10n_get(user, bare);

	if (!(state & SM_S10N_APPROVED)) {
		if (item == NULL) {
			if (roster_full(user)) {
				pkt_sess(pkt_error(pkt, "not-allowed"), sess);
				return;
			}
			item = item_new(user, pkt->to);
		}
		s10n_set(user, bare, state | SM_S10N_APPROVED);
		roster_save(user, item);
		roster_push(user, item, 0);
	}
	pkt_free(&pkt);
}

static void roster_out_s10n(struct sess *sess, struct pkt *pkt)
{
	struct user *user = sess->user;
	struct roster_item *item = roster_get(user, jid_bare(pkt->to));
	int changed = 0, state;

	pkt_set_from(pkt, jid_bare(user->jid));
	pkt_set_to(pkt, jid_bare(pkt->to));
	state = s10n_get(user, jid_bare(pkt->to));
	if (pkt->type == PKT_S10N_ED && (item == NULL || !item->from) &&
	    !(state & SM_S10N_PENDING_IN)) {
		roster_preapprove(sess, pkt, item);
		return;
	}
	if (pkt->type & (PKT_S10N_ED | PKT_S10N_UNED)) {
		/* A request answered, or a pre-approval withdrawn. */
		s10n_set(user, jid_bare(pkt->to), 0);
		if (pkt->type == PKT_S10N_UNED && (state & SM_S10N_APPROVED) && item != NULL &&
		    !item->from) {
			/* Only the item changes; the contact never knew. */
			roster_save(user, item);
			roster_push(user, item, 0);
			pkt_free(&pkt);
			return;
		}
	}
	switch (pkt->type) {
	case PKT_S10N:
		if (item == NULL)
			item = item_new(user, pkt->to);
		if (!item->to && item->ask != 1) {
			item->ask = 1;
			changed = 1;
		}
		break;
	case PKT_S10N_ED:
		if (item == NULL)
			item = item_new(user, pkt->to);
		if (!item->from) {
			item->from = 1;
			changed = 1;
		}
		break;
	case PKT_S10N_UN:
		if (item != NULL && (item->to || item->ask)) {
			item->to = 0;
			item->ask = 0;
			changed = 1;
		}
		break;
	default:
		if (item != NULL && item->from) {
			item->from = 0;
			changed = 1;
		}
		break;
	}
	if (changed) {
		roster_save(user, item);
		roster_push(user, item, 0);
	}
	/* After a grant or a revocation the contact gets our presence. */
	if (item != NULL && (pkt->type & (PKT_S10N_ED | PKT_S10N_UNED)) && changed) {
		enum pkt_type t = pkt->type;

		pkt_router(pkt);
		if (t == PKT_S10N_ED)
			presence_roster(user, item);
		else
			presence_gone(user, item->jid);
		return;
	}
	pkt_router(pkt);
}

static enum mod_ret roster_in_sess(struct sess *sess, struct pkt *pkt)
{
	if (pkt->type & PKT_S10N_ANY) {
		/* To one's own account: a user is implicitly subscribed to its
		 * own presence (RFC 6121 4.2.2), so this is refused rather
		 * than stored as a roster item for oneself. */
		if (pkt->to == NULL || jid_equal_bare(pkt->to, sess->jid)) {
			pkt_sess(pkt_error(pkt, "not-allowed"), sess);
			return MOD_HANDLED;
		}
		roster_out_s10n(sess, pkt);
		return MOD_HANDLED;
	}
	if (!(pkt->type & (PKT_IQ | PKT_IQ_SET)) || pkt->iq_ns == NULL ||
	    strcmp(pkt->iq_ns, SM_NS_ROSTER) != 0)
		return MOD_PASS;
	if (pkt->to != NULL && !jid_equal_bare(pkt->to, sess->jid)) {
		pkt_sess(pkt_error(pkt, "forbidden"), sess);
		return MOD_HANDLED;
	}
	if (pkt->type == PKT_IQ)
		roster_get_iq(sess, pkt);
	else
		roster_set_iq(sess, pkt);
	return MOD_HANDLED;
}

/* ---- subscriptions to the user (inbound) ---- */

/* Hand an inbound subscription stanza to the available sessions; 0 if
 * there are none (it then goes to offline storage). */
static int roster_deliver(struct user *user, struct pkt *pkt)
{
	struct sm_fwd fwd = { 0 };
	struct list_node *n;
	struct rsess *r;
	int sent = 0;

	for (r = user->remote; r != NULL; r = r->next)
		if (r->available && rsess_usable(r, pkt)) {
			sm_fwd_add(&fwd, r);
			sent = 1;
		}
	sm_fwd_send(user->sm, &fwd, pkt, 1);

	for (n = list_first(&user->sessions); n != NULL; n = list_next(&user->sessions, n)) {
		struct sess *s = LIST_ENTRY(n, struct sess, link);

		if (s->available) {
			pkt_sess(pkt_dup(pkt, NULL, NULL), s);
			sent = 1;
		}
	}
	if (sent)
		pkt_free(&pkt);
	return sent;
}

/* A request waits until the user answers it: it is offered again to each
 * session that becomes available, rather than kept in offline storage,
 * which would deliver it only once. */
void roster_pending_to_session(struct sess *sess)
{
	struct user *user = sess->user;
	struct roster_user *ru = user->mod[roster_slot];      /* not made here */
	struct xhash_iter it;
	const char *bare;
	void *state;

	if (ru == NULL)
		return;
	xhash_iter_init(ru->s10n, &it);
	while (xhash_iter_next(&it, &bare, &state)) {
		struct roster_item *item = roster_get(user, bare);
		struct pkt *p;

		if (!((intptr_t)state & SM_S10N_PENDING_IN) || (item != NULL && item->from))
			continue;
		p = pkt_create(user->sm, "presence", "subscribe", jid_full(sess->jid), bare);
		if (p != NULL)
			pkt_sess(p, sess);
	}
}

static enum mod_ret roster_pkt_user(struct user *user, struct pkt *pkt)
{
	struct roster_item *item;
	int changed = 0, deliver = 1;

	if (!(pkt->type & PKT_S10N_ANY) || pkt->from == NULL)
		return MOD_PASS;
	item = roster_get(user, jid_bare(pkt->from));
	pkt_set_to(pkt, jid_bare(user->jid));
	switch (pkt->type) {
	case PKT_S10N:
		if (item != NULL && !item->from &&
		    (s10n_get(user, jid_bare(pkt->from)) & SM_S10N_APPROVED)) {
			/* Pre-approved (RFC 6121 3.4.2): granted now. */
			item->from = 1;
			s10n_set(user, jid_bare(pkt->from), 0);
			roster_save(user, item);
			roster_push(user, item, 0);
		}
		if (item != NULL && item->from) {
			/* Already granted: answer for the user. */
			pkt_router(pkt_create(user->sm, "presence", "subscribed",
					      jid_bare(pkt->from), jid_bare(user->jid)));
			presence_roster(user, item);
			deliver = 0;
		} else if (!(s10n_get(user, jid_bare(pkt->from)) & SM_S10N_PENDING_IN) &&
			   xhash_count(roster_user(user)->s10n) >= ROSTER_MAX_STATES) {
			/* Strangers control how many requests wait; each is a row. */
			pkt_router(pkt_error(pkt, "resource-constraint"));
			return MOD_HANDLED;
		} else
			s10n_set(user, jid_bare(pkt->from),
				 s10n_get(user, jid_bare(pkt->from)) | SM_S10N_PENDING_IN);
		break;
	case PKT_S10N_ED:
		if (item != NULL && !item->to && item->ask == 1) {
			item->to = 1;
			item->ask = 0;
			changed = 1;
		} else
			deliver = 0;
		break;
	case PKT_S10N_UN:
		/* Also withdraws a request still waiting (3.2.2). */
		s10n_set(user, jid_bare(pkt->from),
			 s10n_get(user, jid_bare(pkt->from)) & ~SM_S10N_PENDING_IN);
		if (item != NULL && item->from) {
			item->from = 0;
			changed = 1;
		} else
			deliver = 0;
		break;
	default:
		if (item != NULL && (item->to || item->ask)) {
			item->to = 0;
			item->ask = 0;
			changed = 1;
		} else
			deliver = 0;
		break;
	}
	if (changed) {
		roster_save(user, item);
		roster_push(user, item, 0);
	}
	if (!deliver) {
		pkt_free(&pkt);
		return MOD_HANDLED;
	}
	if (roster_deliver(user, pkt))
		return MOD_HANDLED;
	if (pkt->type == PKT_S10N &&
	    (s10n_get(user, jid_bare(pkt->from)) & SM_S10N_PENDING_IN)) {
		/* Noted as waiting: the next available session gets it
		 * (roster_pending_to_session), and every one after until the
		 * user answers. */
		pkt_free(&pkt);
		return MOD_HANDLED;
	}
	return MOD_PASS;
}

static void roster_user_delete(struct sm *sm, const struct jid *jid)
{
	const char *error;

	storage_delete(sm->st, "roster-items", jid_bare(jid), NULL, &error);
	storage_delete(sm->st, "roster-groups", jid_bare(jid), NULL, &error);
	storage_delete(sm->st, "roster-version", jid_bare(jid), NULL, &error);
	storage_delete(sm->st, "roster-state", jid_bare(jid), NULL, &error);
}

#define O(f) offsetof(struct roster_sm, f)
static const struct config_key roster_keys[] = {
	{ "roster.maxitems", CONFIG_INT, "0", O(max), 0, 1 << 30 },
	{ NULL, 0, NULL, 0, 0, 0 },
};
#undef O

static void roster_user_free(struct user *user, void *data)
{
	struct roster_user *ru = data;
	struct xhash_iter it;
	void *v;

	(void)user;
	xhash_iter_init(ru->items, &it);
	while (xhash_iter_next(&it, NULL, &v))
		item_free(v);
	xhash_free(&ru->items);
	xhash_free(&ru->s10n);
	free(ru);
}

/* Written on another node: read the roster again. Sessions keep whether
 * they fetched it (they still get pushes). */
static void roster_user_changed(struct user *user, enum sm_user_data what)
{
	if (what != SM_DATA_ROSTER)
		return;
	/* No data yet is an empty roster of version 0 read at load, which
	 * may be stale just the same. */
	if (user->mod[roster_slot] != NULL)
		roster_user_free(user, user->mod[roster_slot]);
	user->mod[roster_slot] = NULL;
	roster_user_load(user);
}

static void roster_sess_free(struct sess *sess, void *data)
{
	(void)sess;
	free(data);
}

static void roster_fini(struct sm *sm)
{
	free(sm->mod[roster_slot]);
	sm->mod[roster_slot] = NULL;
}

static int roster_init(struct sm *sm, const char *arg)
{
	struct roster_sm *rs = xcalloc(1, sizeof(*rs));
	const char *error;

	(void)arg;
	sm->mod[roster_slot] = rs;
	if (config_apply(sm->cfg, roster_keys, rs, &error) < 0) {
		log_error("sm: roster: %s", error);
		return -1;
	}
	sm_feature(sm, "jabber:iq:roster");
	sm_feature(sm, "urn:xmpp:features:rosterver");
	/* The stream feature of RFC 6121 3.4 is c2s's to offer, and neither
	 * jabberd2's c2s nor ours asks the sm; disco is where it shows. */
	sm_feature(sm, "urn:xmpp:features:pre-approval");
	return 0;
}

const struct sm_module sm_module_roster = {
	.name = "roster",
	.abi = SM_MODULE_ABI,
	.init = roster_init,
	.fini = roster_fini,
	.slot = &roster_slot,
	.user_free = roster_user_free,
	.sess_free = roster_sess_free,
	.in_sess = roster_in_sess,
	.pkt_user = roster_pkt_user,
	.user_load = roster_user_load,
	.user_delete = roster_user_delete,
	.user_changed = roster_user_changed,
};
