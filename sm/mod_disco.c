/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mod_disco: XEP-0030 at our domains: disco#info lists the identity from
 * sm.xml's discovery.identity (default server/im "Jabber IM server"), the
 * features the modules registered and the disco-extend forms; disco#items
 * lists discovery.items.item entries and the components bound at the
 * router: every name the router advertises (other than ours) is asked for
 * its disco#info, and those that answer with an identity are listed
 * (under the identity's name) until the router says they left. At a
 * user's bare JID, for the user
 * and its presence subscribers, disco#info shows an account/registered
 * identity, and with mod_pep its pubsub/pep identity and features
 * (sm/pep.h).
 */
#include "config.h"
#include "sm/sm.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/config_file.h"
#include "util/jid.h"
#include "util/log.h"
#include "util/nad.h"
#include "util/xhash.h"
#include "sm/pep.h"
#include "sm/roster.h"

/* The module's data: per sm, the server's identity from sm.xml and the
 * components found by disco. */
struct disco_sm {
	const char *category, *type, *name;     /* discovery.identity */
	struct xhash *services;                 /* name -> char *display name */
};

#define O(f) offsetof(struct disco_sm, f)
static const struct config_key disco_keys[] = {
	{ "discovery.identity.category", CONFIG_STRING, "server", O(category), 0, 0 },
	{ "discovery.identity.type", CONFIG_STRING, "im", O(type), 0, 0 },
	{ "discovery.identity.name", CONFIG_STRING, "Jabber IM server", O(name), 0, 0 },
	{ NULL, 0, NULL, 0, 0, 0 },
};
#undef O

static int disco_slot;

static struct disco_sm *disco_sm(const struct sm *sm)
{
	return sm->mod[disco_slot];
}

static struct xhash *disco_services(const struct sm *sm)
{
	return disco_sm(sm)->services;
}

static int disco_is(const struct pkt *pkt, const char *ns)
{
	return pkt->type == PKT_IQ && pkt->iq_ns != NULL && strcmp(pkt->iq_ns, ns) == 0;
}

static void disco_identity(struct nad *nad, int q, const char *cat, const char *type,
			   const char *name)
{
	int e = nad_elem_add(nad, q, SM_NS_DISCO_INFO, "identity");

	nad_attr_set(nad, e, NULL, "category", cat);
	nad_attr_set(nad, e, NULL, "type", type);
	if (name != NULL)
		nad_attr_set(nad, e, NULL, "name", name);
}

static void disco_feature(struct nad *nad, int q, const char *var)
{
	nad_attr_set(nad, nad_elem_add(nad, q, SM_NS_DISCO_INFO, "feature"), NULL, "var", var);
}

static void disco_info(struct sm *sm, struct pkt *pkt)
{
	struct xhash_iter it;
	const char *ns;
	int q;

	pkt_result(pkt);
	q = nad_elem_add(pkt->nad, 0, SM_NS_DISCO_INFO, "query");
	disco_identity(pkt->nad, q, disco_sm(sm)->category, disco_sm(sm)->type,
		       disco_sm(sm)->name);
	disco_feature(pkt->nad, q, SM_NS_DISCO_INFO);
	disco_feature(pkt->nad, q, SM_NS_DISCO_ITEMS);
	xhash_iter_init(sm->features, &it);
	while (xhash_iter_next(&it, &ns, NULL))
		disco_feature(pkt->nad, q, ns);
	mm_disco_extend(sm, pkt->nad, q);
}

static void disco_items(struct sm *sm, struct pkt *pkt)
{
	int q, i, n = config_count(sm->cfg, "discovery.items.item");
	struct xhash_iter it;
	const char *svc;
	void *label;

	pkt_result(pkt);
	q = nad_elem_add(pkt->nad, 0, SM_NS_DISCO_ITEMS, "query");
	xhash_iter_init(disco_services(sm), &it);
	while (xhash_iter_next(&it, &svc, &label)) {
		int e = nad_elem_add(pkt->nad, q, SM_NS_DISCO_ITEMS, "item");

		nad_attr_set(pkt->nad, e, NULL, "jid", svc);
		if (((char *)label)[0] != '\0')
			nad_attr_set(pkt->nad, e, NULL, "name", label);
	}
	for (i = 0; i < n; i++) {
		const char *jid = config_attr(sm->cfg, "discovery.items.item", i, "jid");
		const char *name = config_attr(sm->cfg, "discovery.items.item", i, "name");
		int e;

		if (jid == NULL)
			continue;
		e = nad_elem_add(pkt->nad, q, SM_NS_DISCO_ITEMS, "item");
		nad_attr_set(pkt->nad, e, NULL, "jid", jid);
		if (name != NULL)
			nad_attr_set(pkt->nad, e, NULL, "name", name);
	}
}

/* A component's answer to our disco#info: list it if it has an
 * identity. */
static int disco_answer(struct pkt *pkt)
{
	struct sm *sm = pkt->sm;
	const char *from;
	int q, id;

	if (pkt->type != PKT_IQ_RESULT || pkt->from == NULL || pkt->iq_ns == NULL ||
	    strcmp(pkt->iq_ns, SM_NS_DISCO_INFO) != 0 ||
	    jid_node(pkt->from)[0] != '\0' || jid_resource(pkt->from)[0] != '\0')
		return 0;
	q = nad_child(pkt->nad, 0, SM_NS_DISCO_INFO, "query");
	id = q != NAD_NONE ? nad_child(pkt->nad, q, SM_NS_DISCO_INFO, "identity") : NAD_NONE;
	from = jid_domain(pkt->from);
	if (id != NAD_NONE && !sm_serves(sm, from)) {
		const char *name = nad_attr(pkt->nad, id, NULL, "name");

		free(xhash_put(disco_services(sm), from, xstrdup(name != NULL ? name : "")));
	}
	pkt_free(&pkt);
	return 1;
}

static enum mod_ret disco_pkt_sm(struct pkt *pkt)
{
	int node;

	if (disco_answer(pkt))
		return MOD_HANDLED;
	if (disco_is(pkt, SM_NS_DISCO_INFO) || disco_is(pkt, SM_NS_DISCO_ITEMS)) {
		node = nad_child(pkt->nad, 0, NULL, "query");
		if (node != NAD_NONE && nad_attr(pkt->nad, node, NULL, "node") != NULL) {
			pkt_router(pkt_error(pkt, "item-not-found"));
			return MOD_HANDLED;
		}
		if (disco_is(pkt, SM_NS_DISCO_INFO))
			disco_info(pkt->sm, pkt);
		else
			disco_items(pkt->sm, pkt);
		pkt_router(pkt);
		return MOD_HANDLED;
	}
	return MOD_PASS;
}

static enum mod_ret disco_pkt_user(struct user *user, struct pkt *pkt)
{
	struct roster_item *item;
	int q;

	if (!disco_is(pkt, SM_NS_DISCO_INFO) || jid_resource(pkt->to)[0] != '\0' ||
	    pkt->from == NULL)
		return MOD_PASS;
	item = roster_get(user, jid_bare(pkt->from));
	if (!jid_equal_bare(pkt->from, user->jid) && (item == NULL || !item->from))
		return MOD_PASS;
	pkt_result(pkt);
	q = nad_elem_add(pkt->nad, 0, SM_NS_DISCO_INFO, "query");
	disco_identity(pkt->nad, q, "account", "registered", NULL);
	disco_feature(pkt->nad, q, SM_NS_DISCO_INFO);
	pep_disco_info(pkt->sm, pkt->nad, q);
	pkt_router(pkt);
	return MOD_HANDLED;
}

/* The router's advertisements: ask newcomers who they are. */
static enum mod_ret disco_pkt_router(struct pkt *pkt)
{
	struct sm *sm = pkt->sm;
	const char *name = pkt->rfrom;
	struct xhash_iter it;
	const char *host = NULL;
	struct pkt *q;

	if (name == NULL || strcmp(name, sm->id) == 0 || sm_serves(sm, name))
		return MOD_PASS;
	if (pkt->type == PKT_PRESENCE_UN) {
		free(xhash_remove(disco_services(sm), name));
		return MOD_PASS;
	}
	xhash_iter_init(sm->hosts, &it);
	if (!xhash_iter_next(&it, &host, NULL))
		return MOD_PASS;
	q = pkt_create(sm, "iq", "get", name, host);
	if (q == NULL)
		return MOD_PASS;
	nad_attr_set(q->nad, 0, NULL, "id", "disco");
	nad_elem_add(q->nad, 0, SM_NS_DISCO_INFO, "query");
	pkt_router(q);
	return MOD_PASS;
}

static int disco_init(struct sm *sm, const char *arg)
{
	struct disco_sm *ds = xcalloc(1, sizeof(*ds));
	const char *error;

	(void)arg;
	ds->services = xhash_new();
	sm->mod[disco_slot] = ds;
	if (config_apply(sm->cfg, disco_keys, ds, &error) < 0) {
		log_error("sm: disco: %s", error);
		return -1;
	}
	return 0;
}

static void disco_fini(struct sm *sm)
{
	struct disco_sm *ds = disco_sm(sm);

	xhash_clear(ds->services, free);
	xhash_free(&ds->services);
	free(ds);
	sm->mod[disco_slot] = NULL;
}

const struct sm_module sm_module_disco = {
	.name = "disco",
	.abi = SM_MODULE_ABI,
	.init = disco_init,
	.fini = disco_fini,
	.slot = &disco_slot,
	.pkt_sm = disco_pkt_sm,
	.pkt_user = disco_pkt_user,
	.pkt_router = disco_pkt_router,
};
