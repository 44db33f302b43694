/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pubsub.c: the publish-subscribe service (XEP-0060): dispatch of the
 * iq requests and messages, permissions and access models, publishing,
 * retracting, subscribing and items (XEP-0060 6 and 7), event
 * notifications to subscribers, the limits, and loading from storage.
 * The owner use cases are pubsub_owner.c, disco pubsub_disco.c.
 *
 * Nothing here does network I/O: stanzas leave through ps->send (the
 * router link in main.c, a capture in the unit tests) and time comes from
 * ps->now. Storage is written through as things change.
 */
#include "config.h"
#include "pubsub/pubsub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "comp/stanza.h"
#include "pubsub/form.h"
#include "pubsub/pubsub_private.h"
#include "sx/sx.h"
#include "util/buf.h"
#include "util/config_file.h"
#include "util/jid.h"
#include "util/log.h"
#include "util/nad.h"
#include "util/xdata.h"
#include "util/xhash.h"

struct ps_opts {
	int auto_create, default_max_items;
	struct ps_limits limits;
};

#define O(f) offsetof(struct ps_opts, f)
static const struct config_key ps_keys[] = {
	{ "auto-create", CONFIG_BOOL, "1", O(auto_create), 0, 0 },
	{ "default-max-items", CONFIG_INT, "10", O(default_max_items), 1, 1000000 },
	{ "limits.nodes", CONFIG_INT, "10000", O(limits.nodes), 1, 10000000 },
	{ "limits.nodes-per-user", CONFIG_INT, "100", O(limits.nodes_per_user), 1, 1000000 },
	{ "limits.items-per-node", CONFIG_INT, "100", O(limits.items_per_node), 1, 1000000 },
	{ "limits.payload-size", CONFIG_INT, "65536", O(limits.payload_size), 64, 16777216 },
	{ "limits.subscriptions-per-node", CONFIG_INT, "1000", O(limits.subscriptions_per_node),
	  1, 10000000 },
	{ NULL, 0, NULL, 0, 0, 0 },
};
#undef O

static time_t ps_default_now(void)
{
	return time(NULL);
}

static void node_free_cb(void *p)
{
	struct ps_node *node = p;

	ps_node_free(&node);
}

struct pubsub *pubsub_new(struct config *cfg, const char **error_r)
{
	char dom[JID_PART_MAX + 1];
	const char *svc = config_get(cfg, "service");
	struct ps_opts o;
	struct pubsub *ps;

	if (config_apply(cfg, ps_keys, &o, error_r) < 0)
		return NULL;
	if (svc == NULL) {
		*error_r = config_errorf(cfg, NULL, "no <service> to serve");
		return NULL;
	}
	if (jid_nameprep(svc, dom, sizeof(dom), error_r) < 0) {
		*error_r = config_errorf(cfg, config_node(cfg, "service", 0), "%s", *error_r);
		return NULL;
	}
	if (o.default_max_items > o.limits.items_per_node)
		o.default_max_items = o.limits.items_per_node;
	ps = xcalloc(1, sizeof(*ps));
	ps->cfg = cfg;
	ps->domain = xstrdup(dom);
	ps->nodes = xhash_new();
	ps->subs = ps_subs_new();
	ps->limits = o.limits;
	ps->auto_create = o.auto_create;
	ps->default_max_items = o.default_max_items;
	ps->now = ps_default_now;
	ps->seq = 1;
	if (getrandom(&ps->id_salt, sizeof(ps->id_salt), 0) != (ssize_t)sizeof(ps->id_salt))
		ps->id_salt = (unsigned int)time(NULL) ^ (unsigned int)getpid();
	return ps;
}

void pubsub_free(struct pubsub **psp)
{
	struct pubsub *ps = *psp;

	if (ps == NULL)
		return;
	xhash_clear(ps->nodes, node_free_cb);
	xhash_free(&ps->nodes);
	ps_subs_free(&ps->subs);
	free(ps->domain);
	free(ps);
	*psp = NULL;
}

/* ---- answering ---- */

void ps_send(struct pubsub *ps, struct nad *nad)
{
	ps->send(ps, nad);
}

void ps_error(struct pubsub *ps, const struct nad *stanza, const char *cond,
	      const char *app, const char *text)
{
	struct nad *nad = comp_stanza_error(stanza, cond, text, PS_NS_ERRORS, app);
	int e;

	if (nad == NULL)
		return;
	/* XEP-0060 6.1.3.9: a limit one may wait out. */
	if (app != NULL && strcmp(app, "too-many-subscriptions") == 0 &&
	    (e = nad_child(nad, 0, SX_NS_CLIENT, "error")) != NAD_NONE)
		nad_attr_set(nad, e, NULL, "type", "wait");
	ps_send(ps, nad);
}

/* A result to iq `stanza`; with child_r, a <pubsub/> (or, for disco, a
 * <query/>) of namespace ns in it, its index in *child_r. */
struct nad *ps_iq_result(const struct nad *stanza, const char *ns, int *child_r)
{
	struct nad *nad = comp_stanza_new("iq", "result", nad_attr(stanza, 0, NULL, "from"),
					  nad_attr(stanza, 0, NULL, "to"));
	const char *id = nad_attr(stanza, 0, NULL, "id");

	if (id != NULL)
		nad_attr_set(nad, 0, NULL, "id", id);
	if (child_r != NULL)
		*child_r = nad_elem_add(nad, 0, ns, strcmp(ns, PS_NS_DISCO_INFO) == 0 ||
					strcmp(ns, PS_NS_DISCO_ITEMS) == 0 ? "query" : "pubsub");
	return nad;
}

/* An item id or subid: the time, a number drawn at start and a count,
 * so that no two are the same, even across a quick restart. */
void ps_new_id(struct pubsub *ps, char *buf, size_t size)
{
	snprintf(buf, size, "%llx-%08x-%lx", (long long)ps->now(), ps->id_salt, ++ps->ids);
}

void ps_store_warn(const char *what, const char *node, const char *error)
{
	log_warnx("pubsub: %s of node %s not saved: %s", what, node, error);
}

void ps_node_save(struct pubsub *ps, const struct ps_node *node)
{
	const char *error;

	if (ps->store != NULL && ps_store_node_save(ps->store, ps->domain, node, &error) < 0)
		ps_store_warn("configuration", node->name, error);
}

void ps_sub_save(struct pubsub *ps, const struct ps_sub *sub)
{
	const char *error;

	if (ps->store != NULL && ps_store_sub_save(ps->store, ps->domain, sub, &error) < 0)
		ps_store_warn("a subscription", sub->node, error);
}

void ps_sub_drop(struct pubsub *ps, struct ps_sub *sub)
{
	const char *error;

	if (ps->store != NULL && ps_store_sub_delete(ps->store, ps->domain, sub, &error) < 0)
		ps_store_warn("a subscription", sub->node, error);
	ps_subs_remove(ps->subs, sub);
}

/* ---- permissions ---- */

/* 1 if a JID of bare holds a subscription to node in state `state`. */
static int has_sub(const struct pubsub *ps, const struct ps_node *node, const char *bare,
		   enum ps_sub_state state)
{
	const struct list_node *head = ps_subs_list(ps->subs, node->name);
	struct ps_sub *s;

	if (head != NULL)
		LIST_FOREACH(s, head, struct ps_sub, link)
			if (s->state == state && ps_jid_has_bare(s->jid, bare))
				return 1;
	return 0;
}

/*
 * May `from` (bare) see the node's items (subscribe 0) or subscribe
 * (subscribe 1)? 0; 1 for a subscription an owner must allow (the
 * authorize model); or -1 with the error to give (XEP-0060 6.1.3 and
 * 6.5.9).
 */
int ps_access_check(struct pubsub *ps, const struct ps_node *node, const char *bare,
		    int subscribe, const char **cond_r, const char **app_r,
		    const char **text_r)
{
	enum ps_affil a = ps_node_affil(node, bare);
	struct xhash_iter it;
	const char *owner;
	void *v;
	int from, group;

	if (a == PS_AFFIL_OUTCAST) {
		*cond_r = "forbidden", *app_r = NULL, *text_r = "you are an outcast of this node";
		return -1;
	}
	if (a >= PS_AFFIL_MEMBER || node->cfg.access == PS_ACCESS_OPEN)
		return 0;
	switch (node->cfg.access) {
	case PS_ACCESS_PRESENCE:
	case PS_ACCESS_ROSTER:
		xhash_iter_init(node->affils, &it);
		while (ps->roster != NULL && xhash_iter_next(&it, &owner, &v)) {
			if (ps_node_affil(node, owner) != PS_AFFIL_OWNER)
				continue;
			from = group = 0;
			if (ps->roster(ps, owner, bare, node->cfg.groups, node->cfg.ngroups,
				       &from, &group) < 0)
				continue;
			if (node->cfg.access == PS_ACCESS_PRESENCE ? from : group)
				return 0;
		}
		*cond_r = "not-authorized";
		if (node->cfg.access == PS_ACCESS_PRESENCE) {
			*app_r = "presence-subscription-required";
			*text_r = "the node's access model is presence: the owner's presence "
				  "subscription is required";
		} else {
			*app_r = "not-in-roster-group";
			*text_r = "the node's access model is roster: you are not in an allowed "
				  "roster group of the owner";
		}
		return -1;
	case PS_ACCESS_AUTHORIZE:
		if (subscribe)
			return 1;
		if (has_sub(ps, node, bare, PS_SUB_SUBSCRIBED))
			return 0;
		*cond_r = "not-authorized", *app_r = "not-subscribed";
		*text_r = "the node's access model is authorize: only approved subscribers "
			  "may retrieve items";
		return -1;
	default:
		*cond_r = "not-allowed", *app_r = "closed-node";
		*text_r = "the node's access model is whitelist and you are not on it";
		return -1;
	}
}

static int may_publish(struct pubsub *ps, const struct ps_node *node, const char *bare)
{
	enum ps_affil a = ps_node_affil(node, bare);

	if (a == PS_AFFIL_OUTCAST)
		return 0;
	if (a >= PS_AFFIL_PUBLISHER || node->cfg.publish == PS_PUBLISH_OPEN)
		return 1;
	if (node->cfg.publish != PS_PUBLISH_SUBSCRIBERS)
		return 0;
	return a == PS_AFFIL_MEMBER || has_sub(ps, node, bare, PS_SUB_SUBSCRIBED);
}

/* ---- notifications ---- */

/*
 * Send an event to every subscriber of node: <event><name node=.../>
 * built by fill() under the element it is given. With include_body, a
 * short <body/> too.
 */
void ps_notify(struct pubsub *ps, const struct ps_node *node, const char *name,
	       event_fill_fn *fill, void *ctx)
{
	const struct list_node *head = ps_subs_list(ps->subs, node->name);
	struct ps_sub *s;
	struct nad *ev = NULL, *nad;
	char body[PS_NODE_MAX + 64];
	int e;

	if (head == NULL || !node->cfg.deliver_notifications)
		return;
	LIST_FOREACH(s, head, struct ps_sub, link) {
		if (s->state != PS_SUB_SUBSCRIBED || !s->opt.deliver)
			continue;
		if (ev == NULL) {
			ev = comp_stanza_new("message", "headline", "", ps->domain);
			e = nad_elem_add(ev, 0, PS_NS_EVENT, "event");
			e = nad_elem_add(ev, e, PS_NS_EVENT, name);
			nad_attr_set(ev, e, NULL, "node", node->name);
			if (fill != NULL)
				fill(ev, e, ctx);
		}
		nad = nad_copy(ev);
		nad_attr_set(nad, 0, NULL, "to", s->jid);
		if (s->opt.include_body) {
			snprintf(body, sizeof(body), "pubsub node %s: %s", node->name, name);
			e = nad_elem_add(nad, 0, SX_NS_CLIENT, "body");
			nad_text_append(nad, e, body, strlen(body));
		}
		ps_send(ps, nad);
		ps->n_notifications++;
	}
	nad_free(&ev);
}

/* <item id publisher>payload</item> under parent, in namespace ns. */
static void item_add(struct nad *nad, int parent, const char *ns, const struct ps_item *it,
		     int payload)
{
	int e = nad_elem_add(nad, parent, ns, "item");

	nad_attr_set(nad, e, NULL, "id", it->id);
	if (strcmp(ns, PS_NS_EVENT) == 0)
		nad_attr_set(nad, e, NULL, "publisher", it->publisher);
	if (payload && it->payload != NULL)
		nad_graft(nad, e, it->payload, 0);
}

struct fill_item {
	const struct ps_item *it;
	int payload;
};

static void fill_item(struct nad *nad, int elem, void *ctx)
{
	const struct fill_item *fi = ctx;

	item_add(nad, elem, PS_NS_EVENT, fi->it, fi->payload);
}

static void fill_retract(struct nad *nad, int elem, void *ctx)
{
	int e = nad_elem_add(nad, elem, PS_NS_EVENT, "retract");

	nad_attr_set(nad, e, NULL, "id", ctx);
}

/* ---- the node table ---- */

struct ps_node *ps_node_get(struct pubsub *ps, const char *name)
{
	return name != NULL ? xhash_get(ps->nodes, name) : NULL;
}

static size_t nodes_created_by(const struct pubsub *ps, const char *bare)
{
	struct xhash_iter it;
	size_t n = 0;
	void *v;

	xhash_iter_init(ps->nodes, &it);
	while (xhash_iter_next(&it, NULL, &v))
		n += strcmp(((struct ps_node *)v)->creator, bare) == 0;
	return n;
}

/* A new node, or NULL after answering with the error (a limit). */
struct ps_node *ps_node_create(struct pubsub *ps, const struct nad *stanza,
			       const char *name, const char *bare)
{
	char text[128];

	if (xhash_count(ps->nodes) >= (size_t)ps->limits.nodes) {
		snprintf(text, sizeof(text), "no more nodes on this service (limit nodes, %d)",
			 ps->limits.nodes);
		ps_error(ps, stanza, "resource-constraint", "max-nodes-exceeded", text);
		return NULL;
	}
	if (nodes_created_by(ps, bare) >= (size_t)ps->limits.nodes_per_user) {
		snprintf(text, sizeof(text), "you have created too many nodes "
			 "(limit nodes-per-user, %d)", ps->limits.nodes_per_user);
		ps_error(ps, stanza, "not-allowed", "max-nodes-exceeded", text);
		return NULL;
	}
	return ps_node_new(name, bare, ps->default_max_items);
}

void ps_node_add(struct pubsub *ps, struct ps_node *node)
{
	xhash_put(ps->nodes, node->name, node);
	ps_node_save(ps, node);
	log_info("pubsub: node %s created by %s", node->name, node->creator);
}

/* ---- the requests ---- */


void ps_rq_error(struct ps_rq *r, const char *cond, const char *app, const char *text)
{
	ps_error(r->ps, r->stanza, cond, app, text);
}

int ps_need_node(struct ps_rq *r)
{
	if (r->node != NULL)
		return 0;
	ps_rq_error(r, "item-not-found", NULL, "no such node");
	return -1;
}

int ps_need_owner(struct ps_rq *r)
{
	if (ps_need_node(r) < 0)
		return -1;
	if (ps_node_affil(r->node, r->bare) == PS_AFFIL_OWNER)
		return 0;
	ps_rq_error(r, "forbidden", NULL, "only an owner of the node may do this");
	return -1;
}

void ps_reply(struct ps_rq *r, struct nad *nad)
{
	ps_send(r->ps, nad);
}

/* The payload of a publish: the one child of <item/>, or none. 0 with
 * *payload_r (NAD_NONE: none), or -1 after answering. */
static int publish_payload(struct ps_rq *r, int item, int *payload_r)
{
	int c = nad_child(r->stanza, item, NULL, NULL);

	*payload_r = c;
	if (c != NAD_NONE && nad_next(r->stanza, c, NULL, NULL) != NAD_NONE) {
		ps_rq_error(r, "bad-request", "invalid-payload", "an item holds one payload element");
		return -1;
	}
	return 0;
}

static void do_publish(struct ps_rq *r)
{
	struct pubsub *ps = r->ps;
	struct ps_node *node = r->node, *created = NULL;
	struct ps_item *it;
	struct fill_item fi;
	struct nad *res, *payload = NULL;
	const char *id = NULL, *error;
	char idbuf[64], text[128];
	size_t size = 0;
	int item = r->req.nitems > 0 ? r->req.items[0] : NAD_NONE, pl = NAD_NONE, p, c;

	if (item != NAD_NONE && publish_payload(r, item, &pl) < 0)
		return;
	if (pl != NAD_NONE) {
		payload = nad_extract(r->stanza, pl);
		free(nad_to_string(payload, &size));
		if (size > (size_t)ps->limits.payload_size) {
			snprintf(text, sizeof(text), "the payload is %zu bytes "
				 "(limit payload-size, %d)", size, ps->limits.payload_size);
			ps_rq_error(r, "not-acceptable", "payload-too-big", text);
			nad_free(&payload);
			return;
		}
	}
	if (node == NULL) {
		if (!ps->auto_create) {
			ps_rq_error(r, "item-not-found", NULL, "no such node");
			nad_free(&payload);
			return;
		}
		if ((created = ps_node_create(ps, r->stanza, r->req.node, r->bare)) == NULL) {
			nad_free(&payload);
			return;
		}
		if (r->req.form != NAD_NONE &&
		    ps_config_apply(r->stanza, r->req.form, &created->cfg,
				    ps->limits.items_per_node, &error) < 0) {
			ps_rq_error(r, "conflict", "precondition-not-met", error);
			ps_node_free(&created);
			nad_free(&payload);
			return;
		}
		node = created;
	} else if (r->req.form != NAD_NONE &&
		   ps_publish_options_check(r->stanza, r->req.form, &node->cfg,
					    ps->limits.items_per_node, &error) < 0) {
		ps_rq_error(r, "conflict", "precondition-not-met", error);
		nad_free(&payload);
		return;
	}
	if (created == NULL && !may_publish(ps, node, r->bare)) {
		ps_rq_error(r, "forbidden", NULL, "you may not publish to this node");
		nad_free(&payload);
		return;
	}
	if (payload == NULL && (node->cfg.deliver_payloads || node->cfg.persist_items) &&
	    item != NAD_NONE) {
		ps_rq_error(r, "bad-request", "payload-required", "this node needs a payload");
		ps_node_free(&created);
		return;
	}
	if (item == NAD_NONE && (node->cfg.deliver_payloads || node->cfg.persist_items)) {
		ps_rq_error(r, "bad-request", "item-required", "this node needs an item");
		ps_node_free(&created);
		return;
	}
	if (created != NULL)
		ps_node_add(ps, created);
	if (item != NAD_NONE)
		id = nad_attr(r->stanza, item, NULL, "id");
	if (id == NULL) {
		ps_new_id(ps, idbuf, sizeof(idbuf));
		id = idbuf;
	}
	/* A transient node keeps nothing: the item is only notified. */
	it = ps_node_publish(node, id, r->bare, payload, ps->now());
	it->seq = ps->seq++;
	ps->n_published++;
	if (node->cfg.persist_items && ps->store != NULL &&
	    ps_store_item_save(ps->store, ps->domain, node->name, it, node->cfg.max_items,
			       &error) < 0)
		ps_store_warn("an item", node->name, error);
	res = ps_iq_result(r->stanza, PS_NS, &p);
	c = nad_elem_add(res, p, PS_NS, "publish");
	nad_attr_set(res, c, NULL, "node", node->name);
	c = nad_elem_add(res, c, PS_NS, "item");
	nad_attr_set(res, c, NULL, "id", it->id);
	ps_reply(r, res);
	fi.it = it;
	fi.payload = node->cfg.deliver_payloads;
	ps_notify(ps, node, "items", fill_item, &fi);
	if (!node->cfg.persist_items)
		ps_node_retract(node, id);
}

static void do_retract(struct ps_rq *r)
{
	struct ps_item *it;
	const char *id, *error;
	int i;

	if (ps_need_node(r) < 0)
		return;
	for (i = 0; i < r->req.nitems; i++) {
		id = nad_attr(r->stanza, r->req.items[i], NULL, "id");
		if ((it = ps_node_item(r->node, id)) == NULL) {
			ps_rq_error(r, "item-not-found", NULL, "no such item");
			return;
		}
		if (ps_node_affil(r->node, r->bare) < PS_AFFIL_PUBLISHER &&
		    strcmp(it->publisher, r->bare) != 0) {
			ps_rq_error(r, "forbidden", NULL, "you may not retract this item");
			return;
		}
	}
	for (i = 0; i < r->req.nitems; i++) {
		id = nad_attr(r->stanza, r->req.items[i], NULL, "id");
		if (ps_node_item(r->node, id) == NULL)
			continue;        /* named twice */
		if (r->ps->store != NULL &&
		    ps_store_item_delete(r->ps->store, r->ps->domain, r->node->name, id,
					 &error) < 0)
			ps_store_warn("a retraction", r->node->name, error);
		if (r->node->cfg.notify_retract || r->req.notify)
			ps_notify(r->ps, r->node, "items", fill_retract, (void *)id);
		ps_node_retract(r->node, id);
	}
	ps_reply(r, ps_iq_result(r->stanza, PS_NS, NULL));
}

void ps_sub_element(struct nad *nad, int parent, const char *ns, const struct ps_sub *s,
		    int with_node)
{
	int e = nad_elem_add(nad, parent, ns, "subscription");

	if (with_node)
		nad_attr_set(nad, e, NULL, "node", s->node);
	nad_attr_set(nad, e, NULL, "jid", s->jid);
	if (strcmp(ns, PS_NS) == 0)
		nad_attr_set(nad, e, NULL, "subid", s->subid);
	nad_attr_set(nad, e, NULL, "subscription", ps_sub_state_name(s->state));
}

/* The subscriber JID of a request, prepared, into buf; it must be of
 * the sender's account. -1 after answering with `cond`. */
static int req_jid(struct ps_rq *r, char *buf, size_t size, const char *cond, const char *app)
{
	const char *error;
	struct jid *j;

	if (r->req.jid == NULL) {
		ps_rq_error(r, "bad-request", "jid-required", "a jid is required");
		return -1;
	}
	if ((j = jid_new(r->req.jid, strlen(r->req.jid), &error)) == NULL) {
		ps_rq_error(r, "jid-malformed", NULL, error);
		return -1;
	}
	if (!jid_equal_bare(j, r->from)) {
		jid_free(&j);
		ps_rq_error(r, cond, app, "the jid is not of your account");
		return -1;
	}
	snprintf(buf, size, "%s", jid_full(j));
	jid_free(&j);
	return 0;
}

#define PS_NS_SUB_AUTH "http://jabber.org/protocol/pubsub#subscribe_authorization"

/* XEP-0060 8.6: ask every owner of the node to allow subscription s. */
static void ask_owners(struct pubsub *ps, const struct ps_node *node, const struct ps_sub *s)
{
	struct xhash_iter it;
	const char *owner;
	struct nad *nad;
	void *v;
	int x, e;

	xhash_iter_init(node->affils, &it);
	while (xhash_iter_next(&it, &owner, &v)) {
		if (ps_node_affil(node, owner) != PS_AFFIL_OWNER)
			continue;
		nad = comp_stanza_new("message", NULL, owner, ps->domain);
		x = xdata_form_new(nad, 0, "form", PS_NS_SUB_AUTH);
		e = nad_elem_add(nad, x, XDATA_NS, "title");
		nad_text_append(nad, e, "Subscription request", 20);
		xdata_add_value(nad, xdata_add_field(nad, x, "pubsub#subid", "hidden", NULL),
				s->subid);
		xdata_add_value(nad, xdata_add_field(nad, x, "pubsub#node", "text-single", "Node"),
				node->name);
		xdata_add_value(nad, xdata_add_field(nad, x, "pubsub#subscriber_jid", "jid-single",
						     "Subscriber"), s->jid);
		xdata_add_value(nad, xdata_add_field(nad, x, "pubsub#allow", "boolean",
						     "Allow this subscription?"), "0");
		ps_send(ps, nad);
	}
}

/* Tell a subscriber the state of its subscription (8.6: after an owner
 * decided). */
void ps_tell_subscriber(struct pubsub *ps, const struct ps_sub *s)
{
	struct nad *nad = comp_stanza_new("message", NULL, s->jid, ps->domain);
	int e = nad_elem_add(nad, 0, PS_NS_EVENT, "event");

	ps_sub_element(nad, e, PS_NS_EVENT, s, 1);
	ps_send(ps, nad);
}

static void do_subscribe(struct ps_rq *r)
{
	struct pubsub *ps = r->ps;
	struct ps_sub_options opt = { .deliver = 1 };
	const char *cond, *app, *text, *error;
	char jid[JID_MAX + 1], subid[64], ltext[128];
	struct ps_sub *s;
	struct nad *res;
	int p, rc;

	if (req_jid(r, jid, sizeof(jid), "bad-request", "invalid-jid") < 0 || ps_need_node(r) < 0)
		return;
	if ((rc = ps_access_check(ps, r->node, r->bare, 1, &cond, &app, &text)) < 0) {
		ps_rq_error(r, cond, app, text);
		return;
	}
	if (r->req.form != NAD_NONE && ps_subopts_apply(r->stanza, r->req.form, &opt, &error) < 0) {
		ps_rq_error(r, "bad-request", "invalid-options", error);
		return;
	}
	if ((s = ps_subs_find(ps->subs, r->node->name, jid, NULL)) == NULL) {
		if (ps_subs_count(ps->subs, r->node->name) >=
		    (size_t)ps->limits.subscriptions_per_node) {
			snprintf(ltext, sizeof(ltext), "the node has too many subscriptions "
				 "(limit subscriptions-per-node, %d)",
				 ps->limits.subscriptions_per_node);
			ps_rq_error(r, "policy-violation", "too-many-subscriptions", ltext);
			return;
		}
		ps_new_id(ps, subid, sizeof(subid));
		s = ps_subs_add(ps->subs, r->node->name, jid, subid,
				rc == 1 ? PS_SUB_PENDING : PS_SUB_SUBSCRIBED);
		if (rc == 1)
			ask_owners(ps, r->node, s);
	} else if (s->state == PS_SUB_PENDING) {
		ps_rq_error(r, "not-authorized", "pending-subscription",
		    "your subscription is waiting for an owner's approval");
		return;
	}
	if (r->req.form != NAD_NONE)
		s->opt = opt;
	ps_sub_save(ps, s);
	res = ps_iq_result(r->stanza, PS_NS, &p);
	ps_sub_element(res, p, PS_NS, s, 1);
	ps_reply(r, res);
}

/* The subscription a request (unsubscribe, options) is about: -1 after
 * answering. */
static struct ps_sub *req_sub(struct ps_rq *r, const char *jid)
{
	struct ps_sub *s = ps_subs_find(r->ps->subs, r->node->name, jid, NULL);

	if (s == NULL) {
		ps_rq_error(r, "unexpected-request", "not-subscribed", "you are not subscribed");
		return NULL;
	}
	if (r->req.subid == NULL) {
		if (ps_subs_count_jid(r->ps->subs, r->node->name, jid) > 1) {
			ps_rq_error(r, "bad-request", "subid-required", "you have several subscriptions");
			return NULL;
		}
		return s;
	}
	if ((s = ps_subs_find(r->ps->subs, r->node->name, jid, r->req.subid)) == NULL)
		ps_rq_error(r, "not-acceptable", "invalid-subid", "no subscription with this subid");
	return s;
}

static void do_unsubscribe(struct ps_rq *r)
{
	char jid[JID_MAX + 1];
	struct ps_sub *s;

	if (req_jid(r, jid, sizeof(jid), "forbidden", NULL) < 0 || ps_need_node(r) < 0 ||
	    (s = req_sub(r, jid)) == NULL)
		return;
	ps_sub_drop(r->ps, s);
	ps_reply(r, ps_iq_result(r->stanza, PS_NS, NULL));
}

static void do_options(struct ps_rq *r)
{
	const char *type = nad_attr(r->stanza, 0, NULL, "type"), *error;
	char jid[JID_MAX + 1];
	struct ps_sub *s;
	struct nad *res;
	int p, c;

	if (req_jid(r, jid, sizeof(jid), "forbidden", NULL) < 0 || ps_need_node(r) < 0 ||
	    (s = req_sub(r, jid)) == NULL)
		return;
	if (strcmp(type, "set") == 0) {
		if (ps_subopts_apply(r->stanza, r->req.form, &s->opt, &error) < 0) {
			ps_rq_error(r, "bad-request", "invalid-options", error);
			return;
		}
		ps_sub_save(r->ps, s);
		ps_reply(r, ps_iq_result(r->stanza, PS_NS, NULL));
		return;
	}
	res = ps_iq_result(r->stanza, PS_NS, &p);
	c = nad_elem_add(res, p, PS_NS, "options");
	nad_attr_set(res, c, NULL, "node", s->node);
	nad_attr_set(res, c, NULL, "jid", s->jid);
	nad_attr_set(res, c, NULL, "subid", s->subid);
	ps_subopts_form(res, c, &s->opt);
	ps_reply(r, res);
}

static void do_items(struct ps_rq *r)
{
	const char *cond, *app, *text;
	const struct ps_item *it;
	const struct list_node *n;
	struct nad *res;
	long want, skip;
	int p, c, i;

	if (ps_need_node(r) < 0)
		return;
	if (ps_access_check(r->ps, r->node, r->bare, 0, &cond, &app, &text) < 0) {
		ps_rq_error(r, cond, app, text);
		return;
	}
	res = ps_iq_result(r->stanza, PS_NS, &p);
	c = nad_elem_add(res, p, PS_NS, "items");
	nad_attr_set(res, c, NULL, "node", r->node->name);
	if (r->req.nitems > 0) {
		for (i = 0; i < r->req.nitems; i++)
			if ((it = ps_node_item(r->node,
					       nad_attr(r->stanza, r->req.items[i], NULL, "id"))))
				item_add(res, c, PS_NS, it, 1);
		ps_reply(r, res);
		return;
	}
	/* The newest max_items, oldest of them first. */
	want = r->req.max_items < 0 ? (long)r->node->nitems : r->req.max_items;
	skip = (long)r->node->nitems > want ? (long)r->node->nitems - want : 0;
	for (n = list_first(&r->node->items); n != NULL; n = list_next(&r->node->items, n)) {
		if (skip-- > 0)
			continue;
		item_add(res, c, PS_NS, LIST_ENTRY(n, const struct ps_item, link), 1);
	}
	ps_reply(r, res);
}

/* The user's own subscriptions or affiliations, over every node or one. */
static void do_mine(struct ps_rq *r)
{
	int subs = r->req.verb == PS_V_SUBSCRIPTIONS;
	struct nad *res = ps_iq_result(r->stanza, PS_NS, NULL);
	const struct list_node *head;
	struct xhash_iter it;
	struct ps_node *node;
	struct ps_sub *s;
	enum ps_affil a;
	void *v;
	int p = nad_elem_add(res, 0, PS_NS, "pubsub"), c, e;

	c = nad_elem_add(res, p, PS_NS, subs ? "subscriptions" : "affiliations");
	xhash_iter_init(r->ps->nodes, &it);
	while (xhash_iter_next(&it, NULL, &v)) {
		node = v;
		if (r->req.node != NULL && strcmp(r->req.node, node->name) != 0)
			continue;
		if (!subs) {
			if ((a = ps_node_affil(node, r->bare)) == PS_AFFIL_NONE)
				continue;
			e = nad_elem_add(res, c, PS_NS, "affiliation");
			nad_attr_set(res, e, NULL, "node", node->name);
			nad_attr_set(res, e, NULL, "affiliation", ps_affil_name(a));
			continue;
		}
		if ((head = ps_subs_list(r->ps->subs, node->name)) == NULL)
			continue;
		LIST_FOREACH(s, head, struct ps_sub, link)
			if (ps_jid_has_bare(s->jid, r->bare))
				ps_sub_element(res, c, PS_NS, s, 1);
	}
	ps_reply(r, res);
}

/*
 * A message to the service: an owner's answer to a subscription request
 * (XEP-0060 8.6.2), a submitted pubsub#subscribe_authorization form.
 * Anything else is dropped.
 */
static void ps_message(struct pubsub *ps, const struct nad *stanza, const struct jid *from)
{
	const char *node_s, *subid, *jid, *allow_s, *ft;
	struct ps_node *node;
	struct ps_sub *s;
	int x = nad_child(stanza, 0, XDATA_NS, "x"), allow;

	if (x == NAD_NONE || !xdata_is_type(stanza, x, "submit") ||
	    (ft = xdata_value(stanza, x, "FORM_TYPE", PS_FORM_FIELDS_MAX)) == NULL ||
	    strcmp(ft, PS_NS_SUB_AUTH) != 0)
		return;
	node_s = xdata_value(stanza, x, "pubsub#node", PS_FORM_FIELDS_MAX);
	subid = xdata_value(stanza, x, "pubsub#subid", PS_FORM_FIELDS_MAX);
	jid = xdata_value(stanza, x, "pubsub#subscriber_jid", PS_FORM_FIELDS_MAX);
	allow_s = xdata_value(stanza, x, "pubsub#allow", PS_FORM_FIELDS_MAX);
	if (node_s == NULL || jid == NULL || allow_s == NULL ||
	    xdata_parse_bool(allow_s, &allow) < 0) {
		ps_error(ps, stanza, "bad-request", NULL, "an incomplete authorization form");
		return;
	}
	if ((node = ps_node_get(ps, node_s)) == NULL) {
		ps_error(ps, stanza, "item-not-found", NULL, "no such node");
		return;
	}
	if (ps_node_affil(node, jid_bare(from)) != PS_AFFIL_OWNER) {
		ps_error(ps, stanza, "forbidden", NULL, "only an owner of the node may do this");
		return;
	}
	if (subid != NULL && subid[0] == '\0')
		subid = NULL;
	s = ps_subs_find(ps->subs, node->name, jid, subid);
	if (s == NULL || s->state != PS_SUB_PENDING) {
		ps_error(ps, stanza, "unexpected-request", "not-subscribed",
			 "no pending subscription of this jid");
		return;
	}
	if (allow) {
		s->state = PS_SUB_SUBSCRIBED;
		ps_sub_save(ps, s);
		ps_tell_subscriber(ps, s);
	} else {
		s->state = PS_SUB_NONE;
		ps_tell_subscriber(ps, s);
		ps_sub_drop(ps, s);
	}
}

/* ---- dispatch ---- */

static void ps_iq(struct pubsub *ps, const struct nad *stanza, const struct jid *from)
{
	const char *type = nad_attr(stanza, 0, NULL, "type"), *cond, *app, *error;
	struct ps_rq r = { .ps = ps, .stanza = stanza, .from = from, .bare = jid_bare(from) };
	int q;

	if (type == NULL || strcmp(type, "result") == 0 || strcmp(type, "error") == 0)
		return;
	if ((q = nad_child(stanza, 0, NULL, NULL)) == NAD_NONE || nad_ns(stanza, q) == NULL) {
		ps_error(ps, stanza, "bad-request", NULL, "an iq without a payload");
		return;
	}
	if (strcmp(type, "get") == 0 && strcmp(nad_ns(stanza, q), PS_NS_DISCO_INFO) == 0) {
		ps_disco_info(ps, stanza, q, r.bare);
		return;
	}
	if (strcmp(type, "get") == 0 && strcmp(nad_ns(stanza, q), PS_NS_DISCO_ITEMS) == 0) {
		ps_disco_items(ps, stanza, q, r.bare);
		return;
	}
	if ((strcmp(nad_ns(stanza, q), PS_NS) != 0 && strcmp(nad_ns(stanza, q), PS_NS_OWNER) != 0) ||
	    strcmp(nad_name(stanza, q), "pubsub") != 0) {
		ps_error(ps, stanza, "service-unavailable", NULL, NULL);
		return;
	}
	if (ps_req_parse(stanza, q, type, &r.req, &cond, &app, &error) < 0) {
		ps_error(ps, stanza, cond, app, error);
		return;
	}
	r.node = ps_node_get(ps, r.req.node);
	switch (r.req.verb) {
	case PS_V_CREATE: ps_do_create(&r); break;
	case PS_V_CONFIGURE: ps_do_configure(&r); break;
	case PS_V_DEFAULT: ps_do_default(&r); break;
	case PS_V_DELETE: ps_do_delete(&r); break;
	case PS_V_PURGE: ps_do_purge(&r); break;
	case PS_V_PUBLISH: do_publish(&r); break;
	case PS_V_RETRACT: do_retract(&r); break;
	case PS_V_SUBSCRIBE: do_subscribe(&r); break;
	case PS_V_UNSUBSCRIBE: do_unsubscribe(&r); break;
	case PS_V_OPTIONS: do_options(&r); break;
	case PS_V_ITEMS: do_items(&r); break;
	case PS_V_SUBSCRIPTIONS:
	case PS_V_AFFILIATIONS: do_mine(&r); break;
	case PS_V_OWNER_AFFILIATIONS: ps_do_owner_affiliations(&r); break;
	case PS_V_OWNER_SUBSCRIPTIONS: ps_do_owner_subscriptions(&r); break;
	case PS_V_NONE: break;
	}
}

void pubsub_stanza(struct pubsub *ps, struct nad *stanza)
{
	const char *from_s = nad_attr(stanza, 0, NULL, "from");
	const char *to_s = nad_attr(stanza, 0, NULL, "to"), *error;
	struct jid *from = NULL, *to = NULL;

	if (from_s == NULL || (from = jid_new(from_s, strlen(from_s), &error)) == NULL)
		goto done;      /* no one to answer */
	if (to_s == NULL || (to = jid_new(to_s, strlen(to_s), &error)) == NULL ||
	    strcmp(jid_domain(to), ps->domain) != 0)
		goto done;
	if (strcmp(nad_name(stanza, 0), "presence") == 0)
		goto done;      /* presence: nothing for us yet */
	if (jid_node(to)[0] != '\0') {
		ps_error(ps, stanza, "service-unavailable", NULL, NULL);
		goto done;
	}
	if (strcmp(nad_name(stanza, 0), "message") == 0)
		ps_message(ps, stanza, from);
	else if (strcmp(nad_name(stanza, 0), "iq") == 0)
		ps_iq(ps, stanza, from);
done:
	jid_free(&to);
	jid_free(&from);
	nad_free(&stanza);
}

void pubsub_router_element(struct pubsub *ps, struct nad *nad)
{
	struct nad *stanza = comp_stanza_from_route(nad);

	if (stanza != NULL)
		pubsub_stanza(ps, stanza);
}

int pubsub_load(struct pubsub *ps, const char **error_r)
{
	if (ps->store == NULL)
		return 0;
	if (ps_store_load(ps->store, ps, error_r) < 0)
		return -1;
	log_notice("pubsub: %zu nodes and %zu subscriptions loaded", xhash_count(ps->nodes),
		   ps->subs->total);
	return 0;
}
