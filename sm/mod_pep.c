/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mod_pep: minimal XEP-0163 personal eventing, as jabberd2's (which ships
 * it disabled): a user publishes to a node at its own bare JID; the
 * last item of each node is sent as a pubsub#event headline to the
 * user's available sessions and to every contact with a "from"
 * subscription, and returned to the user and those contacts on request.
 * No node configuration, no filtering by entity capabilities.
 *
 * Unlike jabberd2, which keeps the items in memory only, the last item of
 * each node is stored (our "pep-items" table: node, xml), so that every
 * node of a cluster serves it: the items are read on first use while the
 * user is loaded, and dropped when another node's sm says it published
 * (sm/cluster_data.c, what='pep'). List pep in the user-delete chain to
 * have them deleted with the user.
 */
#include "config.h"
#include "sm/sm.h"
#include "sm/roster.h"

#include <stdlib.h>
#include <string.h>

#include "storage/storage.h"
#include "util/buf.h"
#include "util/jid.h"
#include "util/list.h"
#include "util/log.h"
#include "util/nad.h"
#include "util/xhash.h"

#define NS_PUBSUB "http://jabber.org/protocol/pubsub"
#define NS_PUBSUB_EVENT "http://jabber.org/protocol/pubsub#event"

/* The module's data: per user, node -> last item nad (read from storage
 * on first use). */
static int pep_slot;

static void pep_free_item(void *v)
{
	struct nad *nad = v;

	nad_free(&nad);
}

static void pep_user_free(struct user *user, void *data)
{
	struct xhash *items = data;

	(void)user;
	xhash_clear(items, pep_free_item);
	xhash_free(&items);
}

/* The user's nodes: node name -> its last item, read from storage the
 * first time. */
static struct xhash *pep_nodes(struct user *user)
{
	struct xhash *nodes = user->mod[pep_slot];
	struct os *os = NULL;
	struct os_object *o;
	const char *error, *node;
	const struct nad *item;

	if (nodes != NULL)
		return nodes;
	nodes = xhash_new();
	user->mod[pep_slot] = nodes;
	switch (storage_get(user->sm->st, "pep-items", jid_bare(user->jid), NULL, &os, &error)) {
	case STORAGE_OK:
		break;
	case STORAGE_ERROR:
		log_error("sm: pep: cannot read the items of %s: %s", jid_bare(user->jid), error);
		return nodes;
	case STORAGE_NOT_FOUND:
		return nodes;
	}
	for (o = os_first(os); o != NULL; o = os_next(o))
		if (os_object_get_str(o, "node", &node) == 0 &&
		    os_object_get_nad(o, "xml", &item) == 0 && nad_root(item) != NAD_NONE)
			pep_free_item(xhash_put(nodes, node, nad_copy(item)));
	os_free(&os);
	return nodes;
}

/* Store a node's last item; 0, or -1 (logged). */
static int pep_store(struct user *user, const char *node, const struct nad *item)
{
	const char *owner = jid_bare(user->jid), *error;
	char *filter = storage_filter_str("node", node);
	struct os *os = os_new();
	struct os_object *o = os_object_new(os);
	enum storage_result rc;

	os_object_put_str(o, "node", node);
	os_object_put_nad(o, "xml", item);
	rc = storage_replace(user->sm->st, "pep-items", owner, filter, os, &error);
	if (rc != STORAGE_OK)
		log_error("sm: pep: cannot store node %s of %s: %s", node, owner, error);
	else
		sm_cluster_changed(user->sm, owner, SM_DATA_PEP);
	os_free(&os);
	free(filter);
	return rc == STORAGE_OK ? 0 : -1;
}

/* <event><items node><item .../></items></event> in a headline to `to`
 * (NULL: none), or NULL. */
static struct pkt *pep_event(struct user *user, const char *node, const struct nad *item,
			     const char *to)
{
	struct pkt *m = pkt_create(user->sm, "message", "headline", to, jid_bare(user->jid));
	int ev, items;

	if (m == NULL)
		return NULL;
	ev = nad_elem_add(m->nad, 0, NS_PUBSUB_EVENT, "event");
	items = nad_elem_add(m->nad, ev, NS_PUBSUB_EVENT, "items");
	nad_attr_set(m->nad, items, NULL, "node", node);
	nad_graft(m->nad, items, item, 0);
	nad_elem_set_ns(m->nad, nad_child(m->nad, items, NULL, "item"), NS_PUBSUB_EVENT);
	return m;
}

static void pep_notify(struct user *user, const char *node, const struct nad *item,
		       const char *to, struct sess *sess)
{
	struct pkt *m = pep_event(user, node, item, to);

	if (m == NULL)
		return;
	if (sess != NULL)
		pkt_sess(m, sess);
	else
		pkt_router(m);
}

static void pep_broadcast(struct user *user, const char *node, const struct nad *item)
{
	struct sm_fwd fwd = { 0 };
	struct rsess *r;
	struct xhash *roster = roster_items(user);
	struct xhash_iter it;
	struct list_node *n;
	void *v;

	if (roster != NULL) {
		xhash_iter_init(roster, &it);
		while (xhash_iter_next(&it, NULL, &v)) {
			struct roster_item *ri = v;

			if (ri->from)
				pep_notify(user, node, item, jid_bare(ri->jid), NULL);
		}
	}
	for (n = list_first(&user->sessions); n != NULL; n = list_next(&user->sessions, n)) {
		struct sess *s = LIST_ENTRY(n, struct sess, link);

		if (s->available)
			pep_notify(user, node, item, jid_full(s->jid), s);
	}
	/* In a cluster, the user's available sessions on other nodes too
	 * (one route per node; each target gets its own `to`). */
	for (r = user->remote; r != NULL; r = r->next)
		if (r->available)
			sm_fwd_add(&fwd, r);
	if (fwd.n > 0) {
		struct pkt *m = pep_event(user, node, item, NULL);

		if (m != NULL)
			sm_fwd_send(user->sm, &fwd, m, 0);
		sm_fwd_clear(&fwd);
		pkt_free(&m);
	}
}

static const char *pep_publish(struct sess *sess, struct pkt *pkt, int ps)
{
	struct user *user = sess->user;
	int pub = nad_child(pkt->nad, ps, NS_PUBSUB, "publish"), item;
	const char *node = pub != NAD_NONE ? nad_attr(pkt->nad, pub, NULL, "node") : NULL;
	struct nad *copy;
	char *name;

	if (node == NULL || node[0] == '\0')
		return "bad-request";
	item = nad_child(pkt->nad, pub, NS_PUBSUB, "item");
	if (item == NAD_NONE || nad_child(pkt->nad, item, NULL, NULL) == NAD_NONE)
		return "bad-request";
	copy = nad_extract(pkt->nad, item);
	if (nad_attr(copy, 0, NULL, "id") == NULL)
		nad_attr_set(copy, 0, NULL, "id", "current");
	name = xstrdup(node);
	if (pep_store(user, name, copy) < 0) {
		nad_free(&copy);
		free(name);
		return "internal-server-error";
	}
	pep_free_item(xhash_put(pep_nodes(user), name, copy));
	pep_broadcast(user, name, copy);
	pkt_result(pkt);
	ps = nad_elem_add(pkt->nad, 0, NS_PUBSUB, "pubsub");
	pub = nad_elem_add(pkt->nad, ps, NS_PUBSUB, "publish");
	nad_attr_set(pkt->nad, pub, NULL, "node", name);
	nad_attr_set(pkt->nad, nad_elem_add(pkt->nad, pub, NS_PUBSUB, "item"), NULL, "id",
		     nad_attr(copy, 0, NULL, "id"));
	free(name);
	return NULL;
}

/* Items of a node: the last one published, if any. */
static struct pkt *pep_items(struct user *user, struct pkt *pkt, int ps)
{
	int items = nad_child(pkt->nad, ps, NS_PUBSUB, "items"), q;
	const char *node = items != NAD_NONE ? nad_attr(pkt->nad, items, NULL, "node") : NULL;
	const struct nad *item = node != NULL ? xhash_get(pep_nodes(user), node) : NULL;
	char *name;

	if (node == NULL)
		return pkt_error(pkt, "bad-request");
	if (item == NULL)
		return pkt_error(pkt, "item-not-found");
	name = xstrdup(node);
	pkt_result(pkt);
	q = nad_elem_add(pkt->nad, nad_elem_add(pkt->nad, 0, NS_PUBSUB, "pubsub"), NS_PUBSUB,
			 "items");
	nad_attr_set(pkt->nad, q, NULL, "node", name);
	nad_graft(pkt->nad, q, item, 0);
	free(name);
	return pkt;
}

static int is_pubsub(const struct pkt *pkt)
{
	return (pkt->type & (PKT_IQ | PKT_IQ_SET)) && pkt->iq_ns != NULL &&
	       strcmp(pkt->iq_ns, NS_PUBSUB) == 0;
}

static enum mod_ret pep_in_sess(struct sess *sess, struct pkt *pkt)
{
	int ps;
	const char *cond;

	if (!is_pubsub(pkt) || (pkt->to != NULL && !jid_equal_bare(pkt->to, sess->jid)))
		return MOD_PASS;
	ps = nad_child(pkt->nad, 0, NS_PUBSUB, "pubsub");
	if (pkt->type == PKT_IQ) {
		pkt_sess(pep_items(sess->user, pkt, ps), sess);
		return MOD_HANDLED;
	}
	if ((cond = pep_publish(sess, pkt, ps)) != NULL)
		pkt_error(pkt, cond);
	pkt_sess(pkt, sess);
	return MOD_HANDLED;
}

/* A contact asks for a node's items. */
static enum mod_ret pep_pkt_user(struct user *user, struct pkt *pkt)
{
	struct roster_item *ri;

	if (!is_pubsub(pkt) || pkt->from == NULL || jid_resource(pkt->to)[0] != '\0')
		return MOD_PASS;
	ri = roster_get(user, jid_bare(pkt->from));
	if (pkt->type != PKT_IQ ||
	    (!jid_equal_bare(pkt->from, user->jid) && (ri == NULL || !ri->from))) {
		pkt_router(pkt_error(pkt, "forbidden"));
		return MOD_HANDLED;
	}
	pkt_router(pep_items(user, pkt, nad_child(pkt->nad, 0, NS_PUBSUB, "pubsub")));
	return MOD_HANDLED;
}

/* Published on another node: read the items again when next needed. */
static void pep_user_changed(struct user *user, enum sm_user_data what)
{
	if (what != SM_DATA_PEP || user->mod[pep_slot] == NULL)
		return;
	pep_user_free(user, user->mod[pep_slot]);
	user->mod[pep_slot] = NULL;
}

static void pep_user_delete(struct sm *sm, const struct jid *jid)
{
	const char *error;

	storage_delete(sm->st, "pep-items", jid_bare(jid), NULL, &error);
}

static int pep_init(struct sm *sm, const char *arg)
{
	(void)arg;
	sm_feature(sm, "http://jabber.org/protocol/pubsub#publish");
	return 0;
}

const struct sm_module sm_module_pep = {
	.name = "pep",
	.abi = SM_MODULE_ABI,
	.slot = &pep_slot,
	.user_free = pep_user_free,
	.init = pep_init,
	.in_sess = pep_in_sess,
	.pkt_user = pep_pkt_user,
	.user_changed = pep_user_changed,
	.user_delete = pep_user_delete,
};
