/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pubsub_disco.c: service discovery (XEP-0030) of the pubsub service: its
 * identity and features, a node's identity, the nodes a requester may
 * see and a node's items.
 */
#include "config.h"
#include "pubsub/pubsub_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/jid.h"
#include "util/log.h"
#include "util/nad.h"
#include "util/xhash.h"

static const char *const features[] = {
	"http://jabber.org/protocol/pubsub",
	"http://jabber.org/protocol/pubsub#access-open",
	"http://jabber.org/protocol/pubsub#access-presence",
	"http://jabber.org/protocol/pubsub#access-roster",
	"http://jabber.org/protocol/pubsub#access-whitelist",
	"http://jabber.org/protocol/pubsub#auto-create",
	"http://jabber.org/protocol/pubsub#config-node",
	"http://jabber.org/protocol/pubsub#create-and-configure",
	"http://jabber.org/protocol/pubsub#create-nodes",
	"http://jabber.org/protocol/pubsub#delete-items",
	"http://jabber.org/protocol/pubsub#delete-nodes",
	"http://jabber.org/protocol/pubsub#instant-nodes",
	"http://jabber.org/protocol/pubsub#item-ids",
	"http://jabber.org/protocol/pubsub#manage-subscriptions",
	"http://jabber.org/protocol/pubsub#member-affiliation",
	"http://jabber.org/protocol/pubsub#modify-affiliations",
	"http://jabber.org/protocol/pubsub#outcast-affiliation",
	"http://jabber.org/protocol/pubsub#persistent-items",
	"http://jabber.org/protocol/pubsub#publish",
	"http://jabber.org/protocol/pubsub#publish-options",
	"http://jabber.org/protocol/pubsub#publisher-affiliation",
	"http://jabber.org/protocol/pubsub#purge-nodes",
	"http://jabber.org/protocol/pubsub#retract-items",
	"http://jabber.org/protocol/pubsub#retrieve-affiliations",
	"http://jabber.org/protocol/pubsub#retrieve-default",
	"http://jabber.org/protocol/pubsub#retrieve-items",
	"http://jabber.org/protocol/pubsub#retrieve-subscriptions",
	"http://jabber.org/protocol/pubsub#subscribe",
	"http://jabber.org/protocol/pubsub#subscription-options",
};

void ps_disco_info(struct pubsub *ps, const struct nad *stanza, int q, const char *bare)
{
	const char *name = nad_attr(stanza, q, NULL, "node");
	struct ps_node *node = ps_node_get(ps, name);
	const char *cond, *app, *text;
	struct nad *res;
	size_t i;
	int p, e;

	if (name != NULL &&
	    (node == NULL || ps_access_check(ps, node, bare, 0, &cond, &app, &text) < 0)) {
		ps_error(ps, stanza, "item-not-found", NULL, "no such node");
		return;
	}
	res = ps_iq_result(stanza, PS_NS_DISCO_INFO, &p);
	if (name != NULL)
		nad_attr_set(res, p, NULL, "node", name);
	e = nad_elem_add(res, p, PS_NS_DISCO_INFO, "identity");
	nad_attr_set(res, e, NULL, "category", "pubsub");
	nad_attr_set(res, e, NULL, "type", name != NULL ? "leaf" : "service");
	if (name == NULL)
		nad_attr_set(res, e, NULL, "name", "Publish-subscribe");
	else if (node->cfg.title[0] != '\0')
		nad_attr_set(res, e, NULL, "name", node->cfg.title);
	for (i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
		e = nad_elem_add(res, p, PS_NS_DISCO_INFO, "feature");
		nad_attr_set(res, e, NULL, "var", features[i]);
	}
	e = nad_elem_add(res, p, PS_NS_DISCO_INFO, "feature");
	nad_attr_set(res, e, NULL, "var", PS_NS_DISCO_INFO);
	e = nad_elem_add(res, p, PS_NS_DISCO_INFO, "feature");
	nad_attr_set(res, e, NULL, "var", PS_NS_DISCO_ITEMS);
	ps_send(ps, res);
}

void ps_disco_items(struct pubsub *ps, const struct nad *stanza, int q, const char *bare)
{
	const char *name = nad_attr(stanza, q, NULL, "node"), *cond, *app, *text;
	struct ps_node *node = ps_node_get(ps, name);
	const struct list_node *n;
	struct xhash_iter it;
	struct nad *res;
	void *v;
	int p, e;

	if (name != NULL && node == NULL) {
		ps_error(ps, stanza, "item-not-found", NULL, "no such node");
		return;
	}
	if (node != NULL && ps_access_check(ps, node, bare, 0, &cond, &app, &text) < 0) {
		ps_error(ps, stanza, cond, app, text);
		return;
	}
	res = ps_iq_result(stanza, PS_NS_DISCO_ITEMS, &p);
	if (node != NULL) {
		nad_attr_set(res, p, NULL, "node", name);
		for (n = list_first(&node->items); n != NULL; n = list_next(&node->items, n)) {
			e = nad_elem_add(res, p, PS_NS_DISCO_ITEMS, "item");
			nad_attr_set(res, e, NULL, "jid", ps->domain);
			nad_attr_set(res, e, NULL, "name",
				     LIST_ENTRY(n, const struct ps_item, link)->id);
		}
		ps_send(ps, res);
		return;
	}
	/* Nodes: the open ones, and those the requester is affiliated with. */
	xhash_iter_init(ps->nodes, &it);
	while (xhash_iter_next(&it, NULL, &v)) {
		node = v;
		if (node->cfg.access != PS_ACCESS_OPEN &&
		    ps_node_affil(node, bare) < PS_AFFIL_MEMBER)
			continue;
		e = nad_elem_add(res, p, PS_NS_DISCO_ITEMS, "item");
		nad_attr_set(res, e, NULL, "jid", ps->domain);
		nad_attr_set(res, e, NULL, "node", node->name);
		if (node->cfg.title[0] != '\0')
			nad_attr_set(res, e, NULL, "name", node->cfg.title);
	}
	ps_send(ps, res);
}

