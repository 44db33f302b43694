/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mod_pep: personal eventing (XEP-0163) on the pubsub engine. Every user
 * is a pubsub service at its bare JID; its nodes are pubsub/node.[ch]
 * nodes (configuration, affiliations, items newest last) and its
 * requests are parsed by pubsub/form.[ch], the same code the pubsub
 * daemon runs (the sm links pubsub/libpubsub.a).
 *
 * What the owner may do (from its own sessions): publish, with or without
 * an item id, with publish-options (XEP-0060 7.1.5; a missing node is
 * created with them as its configuration); retract (notified when the
 * node says notify_retract, or notify='true'); get items (all, by id, the
 * newest max_items); create, configure, get the default configuration,
 * delete and purge nodes (the owner namespace); get and set affiliations
 * (the whitelist). Contacts may get items, as the node's access model
 * allows: presence (the default: a contact with a "from" subscription),
 * open, roster (a contact in one of roster_groups_allowed), whitelist
 * (member or publisher affiliation). Outcasts never.
 *
 * Notifications of a publish, retract, purge or delete go to the owner's
 * available sessions (here and, in a cluster, on other nodes) and to the
 * bare JID of every contact with a "from" subscription that the access
 * model lets see the node. No entity-capabilities filtering yet.
 *
 * Storage (sm/README.md): "pep-node" (one row per node: its configuration
 * as a submitted pubsub#node_config form, affiliations) and "pep-item"
 * (one row per item, oldest first). Rows of the older "pep-items" table
 * (the last item of each node, no configuration) are still served: such a
 * node has the default configuration and its one item, and moves to the
 * new tables at its first change. The items are read on first use while
 * the user is loaded and dropped when another node's sm says it wrote
 * them (sm/cluster_data.c, what='pep'). List pep in the user-delete chain
 * to have them deleted with the user.
 */
#include "config.h"
#include "sm/sm.h"
#include "sm/pep.h"
#include "sm/pep_caps.h"
#include "sm/roster.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pubsub/form.h"
#include "pubsub/node.h"
#include "storage/storage.h"
#include "util/buf.h"
#include "util/config_file.h"
#include "util/hash.h"
#include "util/jid.h"
#include "util/list.h"
#include "util/log.h"
#include "util/nad.h"
#include "util/xdata.h"
#include "util/xhash.h"

#define NS_STANZAS "urn:ietf:params:xml:ns:xmpp-stanzas"

/* Most affiliation entries an owner request names, and kept per node. */
#define PEP_AFFILS_MAX 64

/* Limits (sm.xml <pep>). */
struct pep_opts {
	int max_items;      /* pep.max-items: highest pubsub#max_items */
	int max_nodes;      /* pep.max-nodes: nodes per user */
	int payload_size;   /* pep.payload-size: bytes of one item's payload */
	int user_size;      /* pep.user-size: bytes of all a user's payloads */
};

#define O(f) offsetof(struct pep_opts, f)
static const struct config_key pep_keys[] = {
	{ "pep.max-items", CONFIG_INT, "256", O(max_items), 1, 4096 },
	{ "pep.max-nodes", CONFIG_INT, "256", O(max_nodes), 1, 65536 },
	{ "pep.payload-size", CONFIG_INT, "262144", O(payload_size), 64, 16 << 20 },
	{ "pep.user-size", CONFIG_INT, "4194304", O(user_size), 64, 1 << 30 },
	{ NULL, 0, NULL, 0, 0, 0 },
};
#undef O

/* Most entries of the caps cache (verification strings), and full JIDs
 * whose caps one user keeps. */
#define PEP_CAPS_CACHE_MAX 4096
#define PEP_SEEN_MAX 4096
/* An unanswered disco#info query for a ver is asked again after this. */
#define PEP_CAPS_RETRY 60

/* A ver of the cache: asked (notify NULL, asked set) or known. */
struct pep_caps {
	int known;
	time_t asked;
	struct xhash *notify;       /* node -> 1: NODE+notify listed; NULL: none */
};

/* Per sm: the limits and the caps cache (ver -> struct pep_caps). */
struct pep_sm {
	struct pep_opts opt;
	struct xhash *caps;
	int filter;                 /* -1 not decided yet, 0 off, 1 by caps */
};

/*
 * Per user: node name -> struct ps_node and the names of nodes still in
 * the old "pep-items" shape (NULL until read; dropped when another node's
 * sm writes them); and the full JIDs (contacts' and the user's own
 * sessions') whose available presence carried caps -> their ver.
 */
struct pep_user {
	struct xhash *nodes;
	struct xhash *legacy;
	size_t bytes;               /* the payloads of all its items, serialized */
	struct xhash *seen;
};

/* One slot: per user (struct pep_user), per sm (struct pep_sm). */
static int pep_slot;

static const struct pep_opts *pep_opts(const struct sm *sm)
{
	static const struct pep_opts defaults = { 256, 256, 262144, 4194304 };
	const struct pep_sm *psm = sm->mod[pep_slot];

	return psm != NULL ? &psm->opt : &defaults;
}

static void pep_node_free(void *v)
{
	struct ps_node *node = v;

	ps_node_free(&node);
}

/* Drop the nodes from memory (read again when next needed). */
static void pep_nodes_drop(struct pep_user *pu)
{
	if (pu->nodes == NULL)
		return;
	xhash_clear(pu->nodes, pep_node_free);
	xhash_free(&pu->nodes);
	xhash_clear(pu->legacy, NULL);
	xhash_free(&pu->legacy);
	pu->bytes = 0;
}

/* Drop the user's nodes from memory (read again from storage when next
 * needed): undoes a change that was refused after it was applied. */
static void pep_load_fresh(struct user *user)
{
	if (user->mod[pep_slot] != NULL)
		pep_nodes_drop(user->mod[pep_slot]);
}

static void pep_user_free(struct user *user, void *data)
{
	struct pep_user *pu = data;

	(void)user;
	pep_nodes_drop(pu);
	xhash_clear(pu->seen, free);
	xhash_free(&pu->seen);
	free(pu);
}

/* A new node of `owner` with XEP-0163's defaults: presence access, one
 * item kept. */
static struct ps_node *pep_node_new(const char *name, const char *owner)
{
	struct ps_node *node = ps_node_new(name, owner, 1);

	node->cfg.access = PS_ACCESS_PRESENCE;
	return node;
}

/* ---- storage ---- */

/* The payload's size once serialized, in bytes. */
static size_t pep_payload_size(const struct nad *nad, int elem)
{
	struct buf b;
	size_t len;

	buf_init(&b);
	nad_serialize(nad, elem, NULL, &b);
	len = b.len;
	buf_free(&b);
	return len;
}

/* The bytes of a node's payloads (counted against pep.user-size). */
static size_t pep_node_bytes(const struct ps_node *node)
{
	struct list_node *n;
	size_t total = 0;

	for (n = list_first(&node->items); n != NULL; n = list_next(&node->items, n)) {
		const struct ps_item *it = LIST_ENTRY(n, struct ps_item, link);

		if (it->payload != NULL)
			total += pep_payload_size(it->payload, 0);
	}
	return total;
}

/* "pep-node": <node><x type='submit'>config</x><affiliation jid a/>...</node>. */
static void pep_load_node(struct user *user, struct pep_user *pu, const char *name,
			  const struct nad *xml)
{
	const char *owner = jid_bare(user->jid), *error, *jid;
	struct ps_node *node;
	int x, a, n = 0, af;

	if (strlen(name) == 0 || strlen(name) > PS_NODE_MAX || xhash_get(pu->nodes, name) != NULL)
		return;
	node = pep_node_new(name, owner);
	x = nad_child(xml, 0, PS_NS_XDATA, "x");
	if (x != NAD_NONE &&
	    ps_config_apply(xml, x, &node->cfg, pep_opts(user->sm)->max_items, &error) < 0)
		log_warnx("sm: pep: node %s of %s: stored configuration: %s", name, owner, error);
	for (a = nad_child(xml, 0, NULL, "affiliation"); a != NAD_NONE && n < PEP_AFFILS_MAX;
	     a = nad_next(xml, a, NULL, "affiliation"), n++) {
		jid = nad_attr(xml, a, NULL, "jid");
		af = ps_affil_parse(nad_attr(xml, a, NULL, "affiliation"));
		if (jid != NULL && af >= 0 && strcmp(jid, owner) != 0 && af != PS_AFFIL_OWNER)
			ps_node_set_affil(node, jid, (enum ps_affil)af);
	}
	xhash_put(pu->nodes, node->name, node);
}

/* An <item id publisher?>payload</item> row (new or old table). */
static void pep_load_item(struct user *user, struct ps_node *node, const struct nad *xml)
{
	const char *id = nad_attr(xml, 0, NULL, "id");
	const char *publisher = nad_attr(xml, 0, NULL, "publisher");
	int p = nad_child(xml, 0, NULL, NULL);

	if (id == NULL || id[0] == '\0' || strlen(id) > PS_ITEM_ID_MAX)
		id = "current";
	ps_node_publish(node, id, publisher != NULL ? publisher : jid_bare(user->jid),
			p != NAD_NONE ? nad_extract(xml, p) : NULL, 0);
}

static struct os *pep_read(struct user *user, const char *type)
{
	struct os *os = NULL;
	const char *error;

	switch (storage_get(user->sm->st, type, jid_bare(user->jid), NULL, &os, &error)) {
	case STORAGE_OK:
		return os;
	case STORAGE_ERROR:
		log_error("sm: pep: cannot read %s of %s: %s", type, jid_bare(user->jid), error);
		return NULL;
	case STORAGE_NOT_FOUND:
		break;
	}
	return NULL;
}

/* The user's nodes, read from storage the first time. */
static struct pep_user *pep_user(struct user *user)
{
	struct pep_user *pu = user->mod[pep_slot];
	struct os *os;
	struct os_object *o;
	const char *name;
	const struct nad *xml;
	struct ps_node *node;
	struct xhash_iter it;
	void *v;

	if (pu == NULL) {
		pu = xcalloc(1, sizeof(*pu));
		pu->seen = xhash_new();
		user->mod[pep_slot] = pu;
	}
	if (pu->nodes != NULL)
		return pu;
	pu->nodes = xhash_new();
	pu->legacy = xhash_new();
	if ((os = pep_read(user, "pep-node")) != NULL) {
		for (o = os_first(os); o != NULL; o = os_next(o))
			if (os_object_get_str(o, "node", &name) == 0 &&
			    os_object_get_nad(o, "xml", &xml) == 0 && nad_root(xml) != NAD_NONE)
				pep_load_node(user, pu, name, xml);
		os_free(&os);
	}
	if ((os = pep_read(user, "pep-item")) != NULL) {
		for (o = os_first(os); o != NULL; o = os_next(o))
			if (os_object_get_str(o, "node", &name) == 0 &&
			    (node = xhash_get(pu->nodes, name)) != NULL &&
			    os_object_get_nad(o, "xml", &xml) == 0 && nad_root(xml) != NAD_NONE)
				pep_load_item(user, node, xml);
		os_free(&os);
	}
	/* The older shape: the last item of a node with no row of its own. */
	if ((os = pep_read(user, "pep-items")) != NULL) {
		for (o = os_first(os); o != NULL; o = os_next(o)) {
			if (os_object_get_str(o, "node", &name) != 0 || name[0] == '\0' ||
			    strlen(name) > PS_NODE_MAX ||
			    os_object_get_nad(o, "xml", &xml) != 0 || nad_root(xml) == NAD_NONE)
				continue;
			node = xhash_get(pu->nodes, name);
			if (node == NULL) {
				node = pep_node_new(name, jid_bare(user->jid));
				xhash_put(pu->nodes, node->name, node);
			} else if (xhash_get(pu->legacy, name) == NULL) {
				continue;       /* written since in the new tables */
			}
			xhash_put(pu->legacy, node->name, node);
			pep_load_item(user, node, xml);
		}
		os_free(&os);
	}
	xhash_iter_init(pu->nodes, &it);
	while (xhash_iter_next(&it, NULL, &v))
		pu->bytes += pep_node_bytes(v);
	return pu;
}

static void pep_store_fail(const char *what, const char *node, const char *owner,
			   const char *error)
{
	log_error("sm: pep: cannot %s node %s of %s: %s", what, node, owner, error);
}

/* Write a node (configuration, affiliations, items) through to storage
 * and tell the other nodes' sms; 0, or -1 (logged). */
static int pep_save(struct user *user, struct ps_node *node)
{
	struct pep_user *pu = pep_user(user);
	const char *owner = jid_bare(user->jid), *error;
	char *filter = storage_filter_str("node", node->name);
	struct os *os = os_new();
	struct os_object *o = os_object_new(os);
	struct nad *xml = nad_new();
	struct xhash_iter it;
	struct list_node *n;
	const char *jid;
	void *v;
	int a, rc = 0;

	nad_elem_add(xml, -1, NULL, "node");
	ps_config_form(xml, 0, &node->cfg, "submit");
	xhash_iter_init(node->affils, &it);
	while (xhash_iter_next(&it, &jid, &v)) {
		enum ps_affil af = (enum ps_affil)((uintptr_t)v - 1);

		if (strcmp(jid, owner) == 0)
			continue;
		a = nad_elem_add(xml, 0, NULL, "affiliation");
		nad_attr_set(xml, a, NULL, "jid", jid);
		nad_attr_set(xml, a, NULL, "affiliation", ps_affil_name(af));
	}
	os_object_put_str(o, "node", node->name);
	os_object_put_nad(o, "xml", xml);
	nad_free(&xml);
	if (storage_replace(user->sm->st, "pep-node", owner, filter, os, &error) != STORAGE_OK) {
		pep_store_fail("store", node->name, owner, error);
		rc = -1;
	}
	os_free(&os);
	os = os_new();
	for (n = list_first(&node->items); rc == 0 && n != NULL && node->cfg.persist_items;
	     n = list_next(&node->items, n)) {
		const struct ps_item *item = LIST_ENTRY(n, struct ps_item, link);

		xml = nad_new();
		nad_elem_add(xml, -1, NULL, "item");
		nad_attr_set(xml, 0, NULL, "id", item->id);
		nad_attr_set(xml, 0, NULL, "publisher", item->publisher);
		if (item->payload != NULL)
			nad_graft(xml, 0, item->payload, 0);
		o = os_object_new(os);
		os_object_put_str(o, "node", node->name);
		os_object_put_str(o, "id", item->id);
		os_object_put_nad(o, "xml", xml);
		nad_free(&xml);
	}
	if (rc == 0 &&
	    storage_replace(user->sm->st, "pep-item", owner, filter, os, &error) != STORAGE_OK) {
		pep_store_fail("store the items of", node->name, owner, error);
		rc = -1;
	}
	os_free(&os);
	if (rc == 0 && xhash_get(pu->legacy, node->name) != NULL) {
		if (storage_delete(user->sm->st, "pep-items", owner, filter, &error) == STORAGE_ERROR)
			pep_store_fail("drop the old row of", node->name, owner, error);
		xhash_remove(pu->legacy, node->name);
	}
	free(filter);
	if (rc == 0)
		sm_cluster_changed(user->sm, owner, SM_DATA_PEP);
	return rc;
}

/* Remove a node from storage; 0, or -1 (logged). */
static int pep_unsave(struct user *user, const char *name)
{
	static const char *const types[] = { "pep-node", "pep-item", "pep-items" };
	const char *owner = jid_bare(user->jid), *error;
	char *filter = storage_filter_str("node", name);
	size_t i;
	int rc = 0;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (storage_delete(user->sm->st, types[i], owner, filter, &error) == STORAGE_ERROR) {
			pep_store_fail("delete", name, owner, error);
			rc = -1;
		}
	free(filter);
	if (rc == 0)
		sm_cluster_changed(user->sm, owner, SM_DATA_PEP);
	return rc;
}

/* ---- who may see a node ---- */

/*
 * May `bare` (not the owner) see the node's items? 0, or -1 with the
 * error XEP-0060 6.5.x names.
 */
static int pep_access(struct user *user, const struct ps_node *node, const char *bare,
		      const char **cond_r, const char **app_r)
{
	enum ps_affil af = ps_node_affil(node, bare);
	struct roster_item *ri;
	int i, j;

	if (strcmp(jid_bare(user->jid), bare) == 0)
		return 0;
	if (af == PS_AFFIL_OUTCAST) {
		*cond_r = "forbidden", *app_r = NULL;
		return -1;
	}
	if (af >= PS_AFFIL_MEMBER)
		return 0;
	ri = roster_get(user, bare);
	switch (node->cfg.access) {
	case PS_ACCESS_OPEN:
		return 0;
	case PS_ACCESS_PRESENCE:
		if (ri != NULL && ri->from)
			return 0;
		*cond_r = "not-authorized", *app_r = "presence-subscription-required";
		return -1;
	case PS_ACCESS_ROSTER:
		for (i = 0; ri != NULL && i < ri->ngroups; i++)
			for (j = 0; j < node->cfg.ngroups; j++)
				if (strcmp(ri->groups[i], node->cfg.groups[j]) == 0)
					return 0;
		*cond_r = "not-authorized", *app_r = "not-in-roster-group";
		return -1;
	case PS_ACCESS_WHITELIST:
	case PS_ACCESS_AUTHORIZE:
		break;
	}
	*cond_r = "not-allowed", *app_r = "closed-node";
	return -1;
}

/* ---- answers ---- */

/* pkt turned into an error: the condition, a pubsub#errors element
 * (NULL: none) and a text (NULL: none). */
static struct pkt *pep_error(struct pkt *pkt, const char *cond, const char *app,
			     const char *text)
{
	int err;

	pkt_error(pkt, cond);
	err = nad_child(pkt->nad, 0, NULL, "error");
	if (err == NAD_NONE)
		return pkt;
	if (app != NULL)
		nad_elem_add(pkt->nad, err, PS_NS_ERRORS, app);
	if (text != NULL)
		nad_text_set(pkt->nad, nad_elem_add(pkt->nad, err, NS_STANZAS, "text"), text,
			     strlen(text));
	return pkt;
}

/* The result of iq pkt with a <pubsub xmlns=ns/> in it (its index in
 * *ps_r). */
static void pep_result(struct pkt *pkt, const char *ns, int *ps_r)
{
	pkt_result(pkt);
	*ps_r = nad_elem_add(pkt->nad, 0, ns, "pubsub");
}

/* ---- entity capabilities (XEP-0115) ---- */

extern const struct sm_module sm_module_pep;

/*
 * Filter notifications by +notify? Only when the module is in the
 * in-router chain, where it reads the caps in contacts' presence (the
 * shipped sm.xml lists it there). A jabberd2-era sm.xml lists pep in
 * in-sess and pkt-user only: then every allowed contact's bare JID gets
 * them, as jabberd2 did.
 */
static int pep_filtering(struct sm *sm)
{
	struct pep_sm *psm = sm->mod[pep_slot];
	int i;

	if (psm == NULL)
		return 0;
	if (psm->filter < 0) {
		psm->filter = 0;
		for (i = 0; i < sm->nchain[CHAIN_IN_ROUTER]; i++)
			if (sm->chains[CHAIN_IN_ROUTER][i] == &sm_module_pep)
				psm->filter = 1;
	}
	return psm->filter;
}

static void pep_caps_free(void *v)
{
	struct pep_caps *c = v;

	xhash_free(&c->notify);
	free(c);
}

static int pep_caps_known(const struct sm *sm, const char *ver)
{
	const struct pep_sm *psm = sm->mod[pep_slot];
	const struct pep_caps *c = psm != NULL ? xhash_get(psm->caps, ver) : NULL;

	return c != NULL && c->known;
}

/* Does the entity whose caps are `ver` want notifications of `node`? */
static int pep_wants(const struct sm *sm, const char *ver, const char *node)
{
	const struct pep_sm *psm = sm->mod[pep_slot];
	const struct pep_caps *c = psm != NULL ? xhash_get(psm->caps, ver) : NULL;

	return c != NULL && c->known && c->notify != NULL && xhash_get(c->notify, node) != NULL;
}

/* May contact `bare` be sent notifications of node (a "from"
 * subscription and the access model)? */
static int pep_may_notify(struct user *user, const struct ps_node *node, const char *bare)
{
	struct roster_item *ri = roster_get(user, bare);
	const char *cond, *app;

	return ri != NULL && ri->from && pep_access(user, node, bare, &cond, &app) == 0;
}

/* ---- notifications ---- */

/* Fills an event's <items/> (or <purge/>, <delete/>). */
typedef void pep_fill_fn(struct nad *nad, int elem, const void *ctx);

/* A headline from the owner with <event><name node>...</name></event>. */
static struct pkt *pep_event(struct user *user, const struct ps_node *node, const char *name,
			     pep_fill_fn *fill, const void *ctx, const char *to)
{
	struct pkt *m = pkt_create(user->sm, "message", "headline", to, jid_bare(user->jid));
	int e;

	if (m == NULL)
		return NULL;
	e = nad_elem_add(m->nad, nad_elem_add(m->nad, 0, PS_NS_EVENT, "event"), PS_NS_EVENT,
			 name);
	nad_attr_set(m->nad, e, NULL, "node", node->name);
	if (fill != NULL)
		fill(m->nad, e, ctx);
	return m;
}

/*
 * The event to the owner's available sessions here and, in a cluster,
 * on other nodes (one route per node; each target gets its own `to`).
 * With `seen` (filtering by caps), a session here whose caps are known
 * gets it only if they list NODE+notify; one without caps gets it.
 */
static void pep_to_own(struct user *user, const struct ps_node *node, const char *name,
		       pep_fill_fn *fill, const void *ctx, const struct xhash *seen)
{
	struct sm_fwd fwd = { 0 };
	struct list_node *n;
	struct rsess *r;
	struct pkt *m;

	for (n = list_first(&user->sessions); n != NULL; n = list_next(&user->sessions, n)) {
		struct sess *s = LIST_ENTRY(n, struct sess, link);
		const char *ver = seen != NULL ? xhash_get(seen, jid_full(s->jid)) : NULL;

		if (s->available && (ver == NULL || pep_wants(user->sm, ver, node->name)) &&
		    (m = pep_event(user, node, name, fill, ctx, jid_full(s->jid))) != NULL)
			pkt_sess(m, s);
	}
	for (r = user->remote; r != NULL; r = r->next)
		if (r->available)
			sm_fwd_add(&fwd, r);
	if (fwd.n > 0) {
		m = pep_event(user, node, name, fill, ctx, NULL);
		if (m != NULL)
			sm_fwd_send(user->sm, &fwd, m, 0);
		sm_fwd_clear(&fwd);
		pkt_free(&m);
	}
}

/* Filtering by caps: to every contact full JID whose caps list
 * NODE+notify, whose presence reached the user, and whose bare JID has a
 * "from" subscription the access model lets see the node. */
static void pep_to_contacts_caps(struct user *user, const struct ps_node *node,
				 const char *name, pep_fill_fn *fill, const void *ctx)
{
	const char *owner = jid_bare(user->jid), *full;
	struct xhash_iter it;
	struct pkt *m;
	char bare[3072];
	void *v;

	xhash_iter_init(pep_user(user)->seen, &it);
	while (xhash_iter_next(&it, &full, &v)) {
		size_t len = strcspn(full, "/");

		if (len >= sizeof(bare) || !pep_wants(user->sm, v, node->name))
			continue;
		memcpy(bare, full, len);
		bare[len] = '\0';
		if (strcmp(bare, owner) == 0 || !pep_may_notify(user, node, bare))
			continue;
		if ((m = pep_event(user, node, name, fill, ctx, full)) != NULL)
			pkt_router(m);
	}
}

/* Without caps filtering: to the bare JID of every contact with a "from"
 * subscription the access model lets see the node. */
static void pep_to_contacts(struct user *user, const struct ps_node *node, const char *name,
			    pep_fill_fn *fill, const void *ctx)
{
	struct xhash *roster = roster_items(user);
	struct xhash_iter it;
	struct pkt *m;
	void *v;

	if (roster == NULL)
		return;
	xhash_iter_init(roster, &it);
	while (xhash_iter_next(&it, NULL, &v)) {
		struct roster_item *ri = v;

		if (pep_may_notify(user, node, jid_bare(ri->jid)) &&
		    (m = pep_event(user, node, name, fill, ctx, jid_bare(ri->jid))) != NULL)
			pkt_router(m);
	}
}

/* A node's event to those who get it (sm/README.md "mod_pep"). */
static void pep_broadcast(struct user *user, const struct ps_node *node, const char *name,
			  pep_fill_fn *fill, const void *ctx)
{
	if (!node->cfg.deliver_notifications)
		return;
	if (pep_filtering(user->sm)) {
		pep_to_contacts_caps(user, node, name, fill, ctx);
		pep_to_own(user, node, name, fill, ctx, pep_user(user)->seen);
	} else {
		pep_to_contacts(user, node, name, fill, ctx);
		pep_to_own(user, node, name, fill, ctx, NULL);
	}
}

struct pep_items_ctx {
	const struct ps_node *node;
	const struct ps_item *item;     /* publish: the item */
	const char *retract;            /* retract: the id */
};

/* <item id publisher?>payload?</item> under parent. */
static void pep_item_element(struct nad *nad, int parent, const char *ns,
			     const struct ps_item *item, int payload)
{
	int e = nad_elem_add(nad, parent, ns, "item");

	nad_attr_set(nad, e, NULL, "id", item->id);
	if (item->publisher != NULL && item->publisher[0] != '\0')
		nad_attr_set(nad, e, NULL, "publisher", item->publisher);
	if (payload && item->payload != NULL)
		nad_graft(nad, e, item->payload, 0);
}

static void pep_fill_items(struct nad *nad, int elem, const void *ctx)
{
	const struct pep_items_ctx *c = ctx;

	if (c->item != NULL)
		pep_item_element(nad, elem, PS_NS_EVENT, c->item, c->node->cfg.deliver_payloads);
	else
		nad_attr_set(nad, nad_elem_add(nad, elem, PS_NS_EVENT, "retract"), NULL, "id",
			     c->retract);
}

/* ---- caps: presence in, disco#info out, last items ---- */

/* The newest item of every node `ver` (the caps of full, a contact's or
 * one of the owner's sessions) wants and full may see, to full
 * (XEP-0163 4.3.2: on becoming available). */
static void pep_last_items(struct user *user, const char *full, const char *ver)
{
	struct pep_user *pu = pep_user(user);
	const char *owner = jid_bare(user->jid);
	size_t len = strcspn(full, "/");
	int own = strlen(owner) == len && strncmp(owner, full, len) == 0;
	struct xhash_iter it;
	char bare[3072];
	struct pkt *m;
	void *v;

	if (len >= sizeof(bare))
		return;
	memcpy(bare, full, len);
	bare[len] = '\0';
	xhash_iter_init(pu->nodes, &it);
	while (xhash_iter_next(&it, NULL, &v)) {
		const struct ps_node *node = v;
		struct pep_items_ctx ctx = { node, PS_ITEMS_NEWEST(node), NULL };

		if (ctx.item == NULL || !node->cfg.deliver_notifications ||
		    !pep_wants(user->sm, ver, node->name) ||
		    (!own && !pep_may_notify(user, node, bare)))
			continue;
		if ((m = pep_event(user, node, "items", pep_fill_items, &ctx, full)) != NULL)
			pkt_router(m);
	}
}

/* A full cache: drop the vers asked and never answered (or answered
 * wrongly) more than PEP_CAPS_RETRY seconds ago, so that made-up vers
 * cannot keep real ones out. */
static void pep_caps_expire(struct pep_sm *psm, time_t now)
{
	struct xhash_iter it;
	void *v;

	xhash_iter_init(psm->caps, &it);
	while (xhash_iter_next(&it, NULL, &v)) {
		struct pep_caps *c = v;

		if (!c->known && now - c->asked >= PEP_CAPS_RETRY)
			pep_caps_free(xhash_iter_remove(&it));
	}
}

/* Ask full what ver stands for (disco#info of node#ver), unless known or
 * asked less than PEP_CAPS_RETRY seconds ago. */
static void pep_caps_ask(struct user *user, const char *full, const char *cnode,
			 const char *ver)
{
	struct pep_sm *psm = user->sm->mod[pep_slot];
	struct pep_caps *c = xhash_get(psm->caps, ver);
	time_t now = time(NULL);
	struct pkt *q;
	char *node;

	if (c != NULL && (c->known || now - c->asked < PEP_CAPS_RETRY))
		return;
	if (c == NULL && xhash_count(psm->caps) >= PEP_CAPS_CACHE_MAX)
		pep_caps_expire(psm, now);
	if (c == NULL) {
		if (xhash_count(psm->caps) >= PEP_CAPS_CACHE_MAX) {
			log_warnx("sm: pep: the caps cache is full (%d entries); %s gets no "
				  "notifications", PEP_CAPS_CACHE_MAX, full);
			return;
		}
		c = xcalloc(1, sizeof(*c));
		xhash_put(psm->caps, ver, c);
	}
	c->asked = now;
	q = pkt_create(user->sm, "iq", "get", full, jid_bare(user->jid));
	if (q == NULL)
		return;
	nad_attr_set(q->nad, 0, NULL, "id", "pepcaps");
	node = xasprintf("%s#%s", cnode, ver);
	nad_attr_set(q->nad, nad_elem_add(q->nad, 0, PEP_NS_DISCO_INFO, "query"), NULL, "node",
		     node);
	free(node);
	pkt_router(q);
}

/* Presence of full (a contact's, or one of the owner's sessions'): its
 * caps kept while available; the last items sent when they are known. */
static void pep_presence(struct user *user, const struct pkt *pkt, const char *full)
{
	struct pep_user *pu = pep_user(user);
	const char *ver, *cnode;
	char *old;

	if (pkt->type == PKT_PRESENCE_UN || pep_caps_of_presence(pkt->nad, &ver, &cnode) < 0) {
		free(xhash_remove(pu->seen, full));
		return;
	}
	old = xhash_get(pu->seen, full);
	if (old != NULL && strcmp(old, ver) == 0)
		return;         /* a new status, the same entity */
	if (old == NULL && xhash_count(pu->seen) >= PEP_SEEN_MAX)
		return;
	free(xhash_put(pu->seen, full, xstrdup(ver)));
	if (pep_caps_known(user->sm, ver))
		pep_last_items(user, full, ver);
	else
		pep_caps_ask(user, full, cnode, ver);
}

/*
 * The answer to pep_caps_ask(): an iq result or error with id pepcaps.
 * A result whose features hash to the ver asked fills the cache and
 * sends the last items to the user's entities with that ver; anything
 * else leaves the ver to be asked again later. MOD_HANDLED (pkt freed)
 * or MOD_PASS.
 */
static enum mod_ret pep_caps_answer(struct user *user, struct pkt *pkt)
{
	struct pep_sm *psm = user->sm->mod[pep_slot];
	const char *id = nad_attr(pkt->nad, 0, NULL, "id"), *node, *hash;
	char ver[PEP_CAPS_VER_SIZE], got[PEP_CAPS_VER_SIZE];
	struct pep_caps *c;
	struct xhash_iter it;
	const char *full;
	void *v;
	int q;

	if (!(pkt->type & (PKT_IQ_RESULT | PKT_IQ_ERROR)) || id == NULL ||
	    strcmp(id, "pepcaps") != 0 || psm == NULL)
		return MOD_PASS;
	q = nad_child(pkt->nad, 0, PEP_NS_DISCO_INFO, "query");
	node = q != NAD_NONE ? nad_attr(pkt->nad, q, NULL, "node") : NULL;
	hash = node != NULL ? strrchr(node, '#') : NULL;
	if (pkt->type == PKT_IQ_RESULT && hash != NULL &&
	    strlen(hash + 1) == PEP_CAPS_VER_SIZE - 1) {
		memcpy(ver, hash + 1, PEP_CAPS_VER_SIZE);
		c = xhash_get(psm->caps, ver);
		if (c != NULL && !c->known && pep_caps_ver(pkt->nad, q, got) == 0 &&
		    strcmp(got, ver) == 0) {
			c->known = 1;
			c->notify = pep_caps_notify(pkt->nad, q);
			xhash_iter_init(pep_user(user)->seen, &it);
			while (xhash_iter_next(&it, &full, &v))
				if (strcmp(v, ver) == 0)
					pep_last_items(user, full, ver);
		} else if (c != NULL && !c->known) {
			log_notice("sm: pep: %s: caps %s do not hash to what it says", jid_full(pkt->from),
				   ver);
		}
	}
	pkt_free(&pkt);
	return MOD_HANDLED;
}

/* ---- the owner's requests ---- */

/* A node of the user within the limits, or NULL after answering. */
static struct ps_node *pep_create(struct user *user, struct pkt *pkt, const char *name,
				  int form)
{
	struct pep_user *pu = pep_user(user);
	const struct pep_opts *opt = pep_opts(user->sm);
	struct ps_node *node;
	const char *error;

	if (xhash_count(pu->nodes) >= (size_t)opt->max_nodes) {
		pep_error(pkt, "not-allowed", "max-nodes-exceeded",
			  "too many nodes (limit pep max-nodes)");
		return NULL;
	}
	node = pep_node_new(name, jid_bare(user->jid));
	if (form != NAD_NONE &&
	    ps_config_apply(pkt->nad, form, &node->cfg, opt->max_items, &error) < 0) {
		ps_node_free(&node);
		pep_error(pkt, "not-acceptable", NULL, error);
		return NULL;
	}
	if (node->cfg.access == PS_ACCESS_AUTHORIZE) {
		ps_node_free(&node);
		pep_error(pkt, "not-acceptable", "unsupported-access-model",
			  "PEP nodes have no authorize access model");
		return NULL;
	}
	xhash_put(pu->nodes, node->name, node);
	return node;
}

static void pep_forget(struct user *user, struct ps_node *node)
{
	struct pep_user *pu = pep_user(user);

	pu->bytes -= pep_node_bytes(node);
	xhash_remove(pu->legacy, node->name);
	xhash_remove(pu->nodes, node->name);
	ps_node_free(&node);
}

static void pep_publish(struct user *user, struct pkt *pkt, const struct ps_req *req)
{
	const struct pep_opts *opt = pep_opts(user->sm);
	struct pep_user *pu = pep_user(user);
	struct ps_node *node = xhash_get(pu->nodes, req->node);
	int it = req->nitems > 0 ? req->items[0] : NAD_NONE, payload, ps, pub;
	const char *id, *error;
	char idbuf[24], *name;
	struct pep_items_ctx ctx = { 0 };
	struct ps_item *item;
	size_t size, before, replaced = 0;

	if (it == NAD_NONE)
		return (void)pep_error(pkt, "bad-request", "item-required", NULL);
	payload = nad_child(pkt->nad, it, NULL, NULL);
	if (payload == NAD_NONE)
		return (void)pep_error(pkt, "bad-request", "payload-required", NULL);
	if (nad_next(pkt->nad, payload, NULL, NULL) != NAD_NONE)
		return (void)pep_error(pkt, "bad-request", "invalid-payload",
				       "one payload element per item");
	if ((size = pep_payload_size(pkt->nad, payload)) > (size_t)opt->payload_size)
		return (void)pep_error(pkt, "not-acceptable", "payload-too-big",
				       "the payload is larger than the limit pep payload-size");
	if (node != NULL && req->form != NAD_NONE &&
	    ps_publish_options_check(pkt->nad, req->form, &node->cfg, opt->max_items, &error) < 0)
		return (void)pep_error(pkt, "conflict", "precondition-not-met", error);
	id = nad_attr(pkt->nad, it, NULL, "id");
	if (id == NULL) {
		if (hash_random_id(idbuf, 16) < 0)
			snprintf(idbuf, sizeof(idbuf), "%lld", (long long)time(NULL));
		id = idbuf;
	}
	if (node != NULL && (item = ps_node_item(node, id)) != NULL && item->payload != NULL)
		replaced = pep_payload_size(item->payload, 0);
	if (pu->bytes - replaced + size > (size_t)opt->user_size)
		return (void)pep_error(pkt, "not-acceptable", "payload-too-big",
				       "the user's items would exceed the limit pep user-size");
	if (node == NULL && (node = pep_create(user, pkt, req->node, req->form)) == NULL)
		return;
	before = pep_node_bytes(node);
	item = ps_node_publish(node, id, jid_bare(user->jid), nad_extract(pkt->nad, payload),
			       time(NULL));
	if (pep_save(user, node) < 0) {
		/* Memory as storage has it. */
		pep_load_fresh(user);
		return (void)pep_error(pkt, "internal-server-error", NULL, NULL);
	}
	pu->bytes = pu->bytes - before + pep_node_bytes(node);
	ctx.node = node;
	ctx.item = item;
	pep_broadcast(user, node, "items", pep_fill_items, &ctx);
	name = xstrdup(node->name);
	pep_result(pkt, PS_NS, &ps);
	pub = nad_elem_add(pkt->nad, ps, PS_NS, "publish");
	nad_attr_set(pkt->nad, pub, NULL, "node", name);
	nad_attr_set(pkt->nad, nad_elem_add(pkt->nad, pub, PS_NS, "item"), NULL, "id", item->id);
	free(name);
	if (!node->cfg.persist_items) {
		/* Notified, not kept. */
		pu->bytes -= size;
		ps_node_retract(node, item->id);
	}
}

static void pep_retract(struct user *user, struct pkt *pkt, const struct ps_req *req,
			struct ps_node *node)
{
	struct pep_items_ctx ctx = { node, NULL, NULL };
	int i, notify = req->notify || node->cfg.notify_retract;
	char *ids[PS_REQ_ITEMS_MAX];
	int n = 0;
	struct pep_user *pu = pep_user(user);
	size_t before = pep_node_bytes(node);

	for (i = 0; i < req->nitems; i++) {
		const char *id = nad_attr(pkt->nad, req->items[i], NULL, "id");

		if (ps_node_item(node, id) == NULL)
			continue;
		ids[n++] = xstrdup(id);
		ps_node_retract(node, id);
	}
	if (n == 0)
		return (void)pep_error(pkt, "item-not-found", NULL, NULL);
	pu->bytes = pu->bytes - before + pep_node_bytes(node);
	if (pep_save(user, node) < 0)
		pep_error(pkt, "internal-server-error", NULL, NULL);
	else
		pkt_result(pkt);
	for (i = 0; i < n; i++) {
		ctx.retract = ids[i];
		if (notify)
			pep_broadcast(user, node, "items", pep_fill_items, &ctx);
		free(ids[i]);
	}
}

/* Items (XEP-0060 6.5): all, those named, or the newest max_items. */
static void pep_items(struct pkt *pkt, const struct ps_req *req, const struct ps_node *node)
{
	const struct ps_item *found[PS_REQ_ITEMS_MAX];
	struct list_node *n;
	int i, nfound = 0, ps, items;
	size_t skip = 0;

	for (i = 0; i < req->nitems; i++) {
		const struct ps_item *it = ps_node_item(node, nad_attr(pkt->nad, req->items[i], NULL,
								      "id"));

		if (it != NULL)
			found[nfound++] = it;
	}
	if (req->max_items >= 0 && node->nitems > (size_t)req->max_items)
		skip = node->nitems - (size_t)req->max_items;
	pep_result(pkt, PS_NS, &ps);
	items = nad_elem_add(pkt->nad, ps, PS_NS, "items");
	nad_attr_set(pkt->nad, items, NULL, "node", node->name);
	if (req->nitems > 0) {
		for (i = 0; i < nfound; i++)
			pep_item_element(pkt->nad, items, PS_NS, found[i], 1);
	} else {
		for (n = list_first(&node->items); n != NULL; n = list_next(&node->items, n)) {
			if (skip > 0) {
				skip--;
				continue;
			}
			pep_item_element(pkt->nad, items, PS_NS,
					 LIST_ENTRY(n, struct ps_item, link), 1);
		}
	}
}

static void pep_fill_none(struct nad *nad, int elem, const void *ctx)
{
	(void)nad, (void)elem, (void)ctx;
}

static void pep_configure(struct user *user, struct pkt *pkt, const struct ps_req *req,
			  struct ps_node *node)
{
	const struct pep_opts *opt = pep_opts(user->sm);
	struct pep_user *pu = pep_user(user);
	struct ps_node_config cfg;
	const char *error, *type;
	size_t before;
	int ps, c;

	if (nad_attr(pkt->nad, 0, NULL, "type")[0] == 'g') {
		char *name = xstrdup(node->name);

		pep_result(pkt, PS_NS_OWNER, &ps);
		c = nad_elem_add(pkt->nad, ps, PS_NS_OWNER, "configure");
		nad_attr_set(pkt->nad, c, NULL, "node", name);
		ps_config_form(pkt->nad, c, &node->cfg, "form");
		free(name);
		return;
	}
	type = nad_attr(pkt->nad, req->form, NULL, "type");
	if (type != NULL && strcmp(type, "cancel") == 0)
		return (void)pkt_result(pkt);
	memset(&cfg, 0, sizeof(cfg));
	ps_config_copy(&cfg, &node->cfg);
	if (ps_config_apply(pkt->nad, req->form, &cfg, opt->max_items, &error) < 0) {
		ps_config_clear(&cfg);
		return (void)pep_error(pkt, "not-acceptable", NULL, error);
	}
	if (cfg.access == PS_ACCESS_AUTHORIZE) {
		ps_config_clear(&cfg);
		return (void)pep_error(pkt, "not-acceptable", "unsupported-access-model",
				       "PEP nodes have no authorize access model");
	}
	before = pep_node_bytes(node);
	ps_config_copy(&node->cfg, &cfg);
	ps_config_clear(&cfg);
	ps_node_trim(node);
	if (!node->cfg.persist_items)
		ps_node_purge(node);
	pu->bytes = pu->bytes - before + pep_node_bytes(node);
	if (pep_save(user, node) < 0)
		return (void)pep_error(pkt, "internal-server-error", NULL, NULL);
	pkt_result(pkt);
	if (node->cfg.notify_config)
		pep_broadcast(user, node, "configuration", pep_fill_none, NULL);
}

/* An affiliation entry an owner may set: a bare JID other than the
 * owner's, an affiliation other than owner. The JID, or NULL. */
static struct jid *pep_affil_jid(const struct nad *nad, int a, const char *owner,
				 enum ps_affil *af_r)
{
	const char *s = nad_attr(nad, a, NULL, "jid"), *error;
	int af = ps_affil_parse(nad_attr(nad, a, NULL, "affiliation"));
	struct jid *j = s != NULL ? jid_new(s, strlen(s), &error) : NULL;

	if (j == NULL || af < 0 || af == PS_AFFIL_OWNER || jid_resource(j)[0] != '\0' ||
	    strcmp(jid_bare(j), owner) == 0) {
		jid_free(&j);
		return NULL;
	}
	*af_r = (enum ps_affil)af;
	return j;
}

/* Owner affiliations (XEP-0060 8.9): get the list, or set entries whole
 * or not at all. The owner's own entry cannot change. */
static void pep_affiliations(struct user *user, struct pkt *pkt, const struct ps_req *req,
			     struct ps_node *node)
{
	const char *owner = jid_bare(user->jid);
	struct xhash_iter it;
	const char *jid;
	void *v;
	struct jid *jids[PEP_AFFILS_MAX];
	enum ps_affil afs[PEP_AFFILS_MAX];
	int a, ps, list, n = 0, e, i;

	if (nad_attr(pkt->nad, 0, NULL, "type")[0] == 'g') {
		char *name = xstrdup(node->name);

		pep_result(pkt, PS_NS_OWNER, &ps);
		list = nad_elem_add(pkt->nad, ps, PS_NS_OWNER, "affiliations");
		nad_attr_set(pkt->nad, list, NULL, "node", name);
		free(name);
		xhash_iter_init(node->affils, &it);
		while (xhash_iter_next(&it, &jid, &v)) {
			e = nad_elem_add(pkt->nad, list, PS_NS_OWNER, "affiliation");
			nad_attr_set(pkt->nad, e, NULL, "jid", jid);
			nad_attr_set(pkt->nad, e, NULL, "affiliation",
				     ps_affil_name((enum ps_affil)((uintptr_t)v - 1)));
		}
		return;
	}
	/* Check every entry first. */
	for (a = nad_child(pkt->nad, req->elem, PS_NS_OWNER, "affiliation"); a != NAD_NONE;
	     a = nad_next(pkt->nad, a, PS_NS_OWNER, "affiliation")) {
		if (n == PEP_AFFILS_MAX)
			return (void)pep_error(pkt, "not-acceptable", NULL,
					       "too many affiliation entries (limit 64)");
		if ((jids[n] = pep_affil_jid(pkt->nad, a, owner, &afs[n])) == NULL) {
			while (n > 0)
				jid_free(&jids[--n]);
			return (void)pep_error(pkt, "not-acceptable", NULL,
					       "a bad affiliation entry (the owner's own, an owner, "
					       "or not a bare JID)");
		}
		n++;
	}
	for (i = 0; i < n; i++) {
		ps_node_set_affil(node, jid_bare(jids[i]), afs[i]);
		jid_free(&jids[i]);
	}
	if (xhash_count(node->affils) > PEP_AFFILS_MAX + 1) {
		pep_load_fresh(user);
		return (void)pep_error(pkt, "not-acceptable", NULL,
				       "too many affiliations on the node (limit 64)");
	}
	if (pep_save(user, node) < 0)
		return (void)pep_error(pkt, "internal-server-error", NULL, NULL);
	pkt_result(pkt);
}

/* The owner's request (from one of its sessions); pkt answered in place. */
static void pep_owner(struct user *user, struct pkt *pkt, const struct ps_req *req)
{
	struct ps_node *node = req->node != NULL ? xhash_get(pep_user(user)->nodes, req->node)
						 : NULL;
	struct ps_node_config cfg;
	int ps, c;

	switch (req->verb) {
	case PS_V_PUBLISH:
		return pep_publish(user, pkt, req);
	case PS_V_CREATE:
		if (req->node == NULL)
			return (void)pep_error(pkt, "not-acceptable", "nodeid-required",
					       "PEP nodes have names");
		if (node != NULL)
			return (void)pep_error(pkt, "conflict", NULL, NULL);
		if ((node = pep_create(user, pkt, req->node, req->form)) == NULL)
			return;
		if (pep_save(user, node) < 0) {
			pep_forget(user, node);
			return (void)pep_error(pkt, "internal-server-error", NULL, NULL);
		}
		return (void)pkt_result(pkt);
	case PS_V_DEFAULT:
		ps_config_init(&cfg, 1);
		cfg.access = PS_ACCESS_PRESENCE;
		pep_result(pkt, PS_NS_OWNER, &ps);
		c = nad_elem_add(pkt->nad, ps, PS_NS_OWNER, "default");
		ps_config_form(pkt->nad, c, &cfg, "form");
		ps_config_clear(&cfg);
		return;
	default:
		break;
	}
	if (node == NULL)
		return (void)pep_error(pkt, "item-not-found", NULL, NULL);
	switch (req->verb) {
	case PS_V_RETRACT:
		return pep_retract(user, pkt, req, node);
	case PS_V_ITEMS:
		return pep_items(pkt, req, node);
	case PS_V_CONFIGURE:
		return pep_configure(user, pkt, req, node);
	case PS_V_OWNER_AFFILIATIONS:
		return pep_affiliations(user, pkt, req, node);
	case PS_V_PURGE:
		pep_user(user)->bytes -= pep_node_bytes(node);
		ps_node_purge(node);
		if (pep_save(user, node) < 0)
			return (void)pep_error(pkt, "internal-server-error", NULL, NULL);
		pkt_result(pkt);
		if (node->cfg.notify_retract)
			pep_broadcast(user, node, "purge", NULL, NULL);
		return;
	case PS_V_DELETE:
		if (pep_unsave(user, node->name) < 0)
			return (void)pep_error(pkt, "internal-server-error", NULL, NULL);
		pkt_result(pkt);
		if (node->cfg.notify_delete)
			pep_broadcast(user, node, "delete", NULL, NULL);
		pep_forget(user, node);
		return;
	default:
		return (void)pep_error(pkt, "feature-not-implemented", "unsupported",
				       "not on PEP nodes");
	}
}

static int is_pubsub(const struct pkt *pkt)
{
	return (pkt->type & (PKT_IQ | PKT_IQ_SET)) && pkt->iq_ns != NULL &&
	       (strcmp(pkt->iq_ns, PS_NS) == 0 || strcmp(pkt->iq_ns, PS_NS_OWNER) == 0);
}

/* Parse the request of pkt (an iq with a pubsub child); 0, or -1 after
 * turning pkt into the error. */
static int pep_parse(struct pkt *pkt, struct ps_req *req)
{
	const char *cond, *app, *error;
	int ps = nad_child(pkt->nad, 0, pkt->iq_ns, "pubsub");

	if (ps == NAD_NONE) {
		pep_error(pkt, "bad-request", NULL, "no pubsub element");
		return -1;
	}
	if (ps_req_parse(pkt->nad, ps, nad_attr(pkt->nad, 0, NULL, "type"), req, &cond, &app,
			 &error) < 0) {
		pep_error(pkt, cond, app, error);
		return -1;
	}
	return 0;
}

static enum mod_ret pep_in_sess(struct sess *sess, struct pkt *pkt)
{
	struct ps_req req;

	if ((pkt->type & (PKT_PRESENCE | PKT_PRESENCE_UN)) && pkt->to == NULL &&
	    pep_filtering(sess->user->sm)) {
		pep_presence(sess->user, pkt, jid_full(sess->jid));
		return MOD_PASS;
	}
	if (pkt->to != NULL && jid_equal_bare(pkt->to, sess->jid) &&
	    jid_resource(pkt->to)[0] == '\0' && pep_caps_answer(sess->user, pkt) == MOD_HANDLED)
		return MOD_HANDLED;
	if (!is_pubsub(pkt) || (pkt->to != NULL && (!jid_equal_bare(pkt->to, sess->jid) ||
						    jid_resource(pkt->to)[0] != '\0')))
		return MOD_PASS;
	if (pep_parse(pkt, &req) == 0)
		pep_owner(sess->user, pkt, &req);
	pkt_sess(pkt, sess);
	return MOD_HANDLED;
}

/* A contact's request: items, as the access model allows. */
static enum mod_ret pep_pkt_user(struct user *user, struct pkt *pkt)
{
	struct ps_req req;
	struct ps_node *node;
	const char *cond, *app;

	if (pkt->from != NULL && pep_caps_answer(user, pkt) == MOD_HANDLED)
		return MOD_HANDLED;
	if (!is_pubsub(pkt) || pkt->from == NULL || jid_resource(pkt->to)[0] != '\0')
		return MOD_PASS;
	if (pep_parse(pkt, &req) < 0) {
		pkt_router(pkt);
		return MOD_HANDLED;
	}
	if (req.verb != PS_V_ITEMS) {
		pkt_router(pep_error(pkt, "forbidden", NULL, "only the owner may do this"));
		return MOD_HANDLED;
	}
	node = xhash_get(pep_user(user)->nodes, req.node);
	if (node == NULL)
		pep_error(pkt, "item-not-found", NULL, NULL);
	else if (pep_access(user, node, jid_bare(pkt->from), &cond, &app) < 0)
		pep_error(pkt, cond, app, NULL);
	else
		pep_items(pkt, &req, node);
	pkt_router(pkt);
	return MOD_HANDLED;
}

/* A contact's presence to a loaded user: its caps. */
static enum mod_ret pep_in_router(struct pkt *pkt)
{
	struct user *user;

	if ((pkt->type & (PKT_PRESENCE | PKT_PRESENCE_UN)) && pkt->to != NULL &&
	    pkt->from != NULL && jid_resource(pkt->from)[0] != '\0' &&
	    (user = xhash_get(pkt->sm->users, jid_bare(pkt->to))) != NULL &&
	    !jid_equal_bare(pkt->from, user->jid) && pkt->sm->mod[pep_slot] != NULL)
		pep_presence(user, pkt, jid_full(pkt->from));
	return MOD_PASS;
}

/* A session gone without unavailable presence: forget its caps. */
static void pep_sess_end(struct sess *sess)
{
	struct pep_user *pu = sess->user->mod[pep_slot];

	if (pu != NULL)
		free(xhash_remove(pu->seen, jid_full(sess->jid)));
}

/* Written on another node: read the nodes again when next needed. */
static void pep_user_changed(struct user *user, enum sm_user_data what)
{
	if (what == SM_DATA_PEP)
		pep_load_fresh(user);
}

static void pep_user_delete(struct sm *sm, const struct jid *jid)
{
	static const char *const types[] = { "pep-node", "pep-item", "pep-items" };
	const char *error;
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		storage_delete(sm->st, types[i], jid_bare(jid), NULL, &error);
}

void pep_disco_info(struct sm *sm, struct nad *nad, int q)
{
	static const char *const features[] = {
		"access-open", "access-presence", "access-roster", "access-whitelist",
		"auto-create", "config-node", "create-nodes", "delete-nodes",
		"item-ids", "modify-affiliations", "multi-items", "persistent-items",
		"publish", "publish-options", "purge-nodes", "retract-items",
		"retrieve-default", "retrieve-items",
	};
	int e;
	size_t i;

	if (sm->mod[pep_slot] == NULL)
		return;
	e = nad_elem_add(nad, q, PEP_NS_DISCO_INFO, "identity");
	nad_attr_set(nad, e, NULL, "category", "pubsub");
	nad_attr_set(nad, e, NULL, "type", "pep");
	nad_attr_set(nad, nad_elem_add(nad, q, PEP_NS_DISCO_INFO, "feature"), NULL, "var", PS_NS);
	for (i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
		char *var = xasprintf("%s#%s", PS_NS, features[i]);

		nad_attr_set(nad, nad_elem_add(nad, q, PEP_NS_DISCO_INFO, "feature"), NULL, "var",
			     var);
		free(var);
	}
	if (pep_filtering(sm))
		nad_attr_set(nad, nad_elem_add(nad, q, PEP_NS_DISCO_INFO, "feature"), NULL, "var",
			     PS_NS "#filtered-notifications");
}

static int pep_init(struct sm *sm, const char *arg)
{
	struct pep_sm *psm;
	const char *error;

	(void)arg;
	if (sm->mod[pep_slot] != NULL)
		return 0;       /* listed in a second chain */
	psm = xcalloc(1, sizeof(*psm));
	if (config_apply(sm->cfg, pep_keys, &psm->opt, &error) < 0) {
		log_error("sm: pep: %s", error);
		free(psm);
		return -1;
	}
	psm->caps = xhash_new();
	psm->filter = -1;
	sm->mod[pep_slot] = psm;
	sm_feature(sm, "http://jabber.org/protocol/pubsub#publish");
	return 0;
}

static void pep_fini(struct sm *sm)
{
	struct pep_sm *psm = sm->mod[pep_slot];

	if (psm == NULL)
		return;
	xhash_clear(psm->caps, pep_caps_free);
	xhash_free(&psm->caps);
	free(psm);
	sm->mod[pep_slot] = NULL;
}

const struct sm_module sm_module_pep = {
	.name = "pep",
	.abi = SM_MODULE_ABI,
	.slot = &pep_slot,
	.user_free = pep_user_free,
	.init = pep_init,
	.fini = pep_fini,
	.sess_end = pep_sess_end,
	.in_sess = pep_in_sess,
	.in_router = pep_in_router,
	.pkt_user = pep_pkt_user,
	.user_changed = pep_user_changed,
	.user_delete = pep_user_delete,
};
