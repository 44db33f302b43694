/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mod_pep: minimal XEP-0163 personal eventing, as jabberd2's (which ships
 * it disabled): a user publishes to a node at its own bare JID; the
 * last item of each node is kept in memory while the user is loaded (not
 * stored, as in jabberd2), sent as a pubsub#event headline to the user's
 * available sessions and to every contact with a "from" subscription,
 * and returned to the user and those contacts on request. No node
 * configuration, no filtering by entity capabilities.
 */
#include "config.h"
#include "sm/sm.h"
#include "sm/roster.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/jid.h"
#include "util/list.h"
#include "util/nad.h"
#include "util/xhash.h"

#define NS_PUBSUB "http://jabber.org/protocol/pubsub"
#define NS_PUBSUB_EVENT "http://jabber.org/protocol/pubsub#event"

/* The module's data: per user, node -> last item nad (made on the first
 * publish). */
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

/* <event><items node><item .../></items></event> in a headline to `to`. */
static void pep_notify(struct user *user, const char *node, const struct nad *item,
		       const char *to, struct sess *sess)
{
	struct pkt *m = pkt_create(user->sm, "message", "headline", to, jid_bare(user->jid));
	int ev, items;

	if (m == NULL)
		return;
	ev = nad_elem_add(m->nad, 0, NS_PUBSUB_EVENT, "event");
	items = nad_elem_add(m->nad, ev, NS_PUBSUB_EVENT, "items");
	nad_attr_set(m->nad, items, NULL, "node", node);
	nad_graft(m->nad, items, item, 0);
	nad_elem_set_ns(m->nad, nad_child(m->nad, items, NULL, "item"), NS_PUBSUB_EVENT);
	if (sess != NULL)
		pkt_sess(m, sess);
	else
		pkt_router(m);
}

static void pep_broadcast(struct user *user, const char *node, const struct nad *item)
{
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
	if (user->mod[pep_slot] == NULL)
		user->mod[pep_slot] = xhash_new();
	name = xstrdup(node);
	pep_free_item(xhash_put(user->mod[pep_slot], name, copy));
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
	struct xhash *nodes = user->mod[pep_slot];
	const struct nad *item = node != NULL && nodes != NULL ? xhash_get(nodes, node) : NULL;
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
};
