/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pubsub_owner.c: the owner use cases of XEP-0060 (section 8): create
 * (with a configuration, or an instant node), configure, the default
 * configuration, delete, purge, and the node's affiliations and
 * subscriptions as the owner manages them.
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

void ps_do_create(struct ps_rq *r)
{
	struct pubsub *ps = r->ps;
	struct ps_node *node;
	char name[64];
	const char *error;
	struct nad *res;
	int p, c;

	if (r->node != NULL) {
		ps_rq_error(r, "conflict", NULL, "a node with this name exists");
		return;
	}
	if (r->req.node == NULL)
		ps_new_id(ps, name, sizeof(name));
	if ((node = ps_node_create(ps, r->stanza, r->req.node != NULL ? r->req.node : name,
				r->bare)) == NULL)
		return;
	if (r->req.form != NAD_NONE &&
	    ps_config_apply(r->stanza, r->req.form, &node->cfg, ps->limits.items_per_node,
			    &error) < 0) {
		ps_rq_error(r, "not-acceptable", NULL, error);
		ps_node_free(&node);
		return;
	}
	ps_node_add(ps, node);
	res = ps_iq_result(r->stanza, PS_NS, &p);
	if (r->req.node == NULL) {
		c = nad_elem_add(res, p, PS_NS, "create");
		nad_attr_set(res, c, NULL, "node", node->name);
	} else
		nad_elem_remove(res, p);
	ps_reply(r, res);
}

void ps_do_configure(struct ps_rq *r)
{
	struct pubsub *ps = r->ps;
	const char *type = nad_attr(r->stanza, 0, NULL, "type"), *error;
	struct nad *res;
	size_t gone;
	int p, c;

	if (ps_need_owner(r) < 0)
		return;
	if (strcmp(type, "get") == 0) {
		res = ps_iq_result(r->stanza, PS_NS_OWNER, &p);
		c = nad_elem_add(res, p, PS_NS_OWNER, "configure");
		nad_attr_set(res, c, NULL, "node", r->node->name);
		ps_config_form(res, c, &r->node->cfg, "form");
		ps_reply(r, res);
		return;
	}
	type = nad_attr(r->stanza, r->req.form, NULL, "type");
	if (type != NULL && strcmp(type, "cancel") == 0) {
		ps_reply(r, ps_iq_result(r->stanza, PS_NS_OWNER, NULL));
		return;
	}
	if (ps_config_apply(r->stanza, r->req.form, &r->node->cfg, ps->limits.items_per_node,
			    &error) < 0) {
		ps_rq_error(r, "not-acceptable", NULL, error);
		return;
	}
	gone = r->node->cfg.persist_items ? ps_node_trim(r->node) : r->node->nitems;
	if (!r->node->cfg.persist_items)
		ps_node_purge(r->node);
	if (gone > 0 && ps->store != NULL &&
	    ps_store_item_save(ps->store, ps->domain, r->node->name, NULL,
			       r->node->cfg.persist_items ? r->node->cfg.max_items : 0,
			       &error) < 0)
		ps_store_warn("items", r->node->name, error);
	ps_node_save(ps, r->node);
	ps_reply(r, ps_iq_result(r->stanza, PS_NS_OWNER, NULL));
	if (r->node->cfg.notify_config)
		ps_notify(ps, r->node, "configuration", NULL, NULL);
}

void ps_do_default(struct ps_rq *r)
{
	struct ps_node_config cfg;
	int p;
	struct nad *res = ps_iq_result(r->stanza, PS_NS_OWNER, &p);
	int c = nad_elem_add(res, p, PS_NS_OWNER, "default");
	ps_config_init(&cfg, r->ps->default_max_items);
	ps_config_form(res, c, &cfg, "form");
	ps_config_clear(&cfg);
	ps_reply(r, res);
}

void ps_do_delete(struct ps_rq *r)
{
	struct pubsub *ps = r->ps;
	struct ps_node *node;
	const char *error;

	if (ps_need_owner(r) < 0)
		return;
	node = r->node;
	ps_reply(r, ps_iq_result(r->stanza, PS_NS_OWNER, NULL));
	if (node->cfg.notify_delete)
		ps_notify(ps, node, "delete", NULL, NULL);
	ps_subs_drop_node(ps->subs, node->name);
	if (ps->store != NULL && ps_store_node_delete(ps->store, ps->domain, node->name,
						      &error) < 0)
		ps_store_warn("removal", node->name, error);
	log_info("pubsub: node %s deleted by %s", node->name, r->bare);
	xhash_remove(ps->nodes, node->name);
	ps_node_free(&node);
	r->node = NULL;
}

void ps_do_purge(struct ps_rq *r)
{
	const char *error;

	if (ps_need_owner(r) < 0)
		return;
	ps_node_purge(r->node);
	if (r->ps->store != NULL &&
	    ps_store_item_delete(r->ps->store, r->ps->domain, r->node->name, NULL, &error) < 0)
		ps_store_warn("purge", r->node->name, error);
	ps_reply(r, ps_iq_result(r->stanza, PS_NS_OWNER, NULL));
	if (r->node->cfg.notify_retract)
		ps_notify(r->ps, r->node, "purge", NULL, NULL);
}

#define PS_OWNER_ENTRIES_MAX (PS_REQ_ITEMS_MAX * 2)

/* 1 if entry i of bares is named again later (the later one counts). */
static int named_later(char *const *bares, int n, int i)
{
	int k;

	for (k = i + 1; k < n; k++)
		if (strcmp(bares[k], bares[i]) == 0)
			return 1;
	return 0;
}

/* Owner: the affiliations of the node, or set some (XEP-0060 8.9). */
void ps_do_owner_affiliations(struct ps_rq *r)
{
	const char *type = nad_attr(r->stanza, 0, NULL, "type"), *jid_s, *a_s, *error;
	struct ps_node *node;
	struct xhash_iter it;
	const char *key;
	char *bares[PS_OWNER_ENTRIES_MAX];
	int aff[PS_OWNER_ENTRIES_MAX], n = 0, i, e, p, c, owners;
	struct nad *res;
	struct jid *j;
	void *v;

	if (ps_need_owner(r) < 0)
		return;
	node = r->node;
	if (strcmp(type, "get") == 0) {
		res = ps_iq_result(r->stanza, PS_NS_OWNER, &p);
		c = nad_elem_add(res, p, PS_NS_OWNER, "affiliations");
		nad_attr_set(res, c, NULL, "node", node->name);
		xhash_iter_init(node->affils, &it);
		while (xhash_iter_next(&it, &key, &v)) {
			e = nad_elem_add(res, c, PS_NS_OWNER, "affiliation");
			nad_attr_set(res, e, NULL, "jid", key);
			nad_attr_set(res, e, NULL, "affiliation",
				     ps_affil_name(ps_node_affil(node, key)));
		}
		ps_reply(r, res);
		return;
	}
	/* Read and checked whole before anything is applied. */
	for (e = nad_child(r->stanza, r->req.elem, PS_NS_OWNER, "affiliation"); e != NAD_NONE;
	     e = nad_next(r->stanza, e, PS_NS_OWNER, "affiliation")) {
		if (n == PS_OWNER_ENTRIES_MAX) {
			ps_rq_error(r, "not-acceptable", NULL, "too many affiliations at once (limit 64)");
			goto done;
		}
		jid_s = nad_attr(r->stanza, e, NULL, "jid");
		a_s = nad_attr(r->stanza, e, NULL, "affiliation");
		if (jid_s == NULL || (aff[n] = ps_affil_parse(a_s)) < 0) {
			ps_rq_error(r, "bad-request", NULL, "an affiliation needs a jid and a known value");
			goto done;
		}
		if ((j = jid_new(jid_s, strlen(jid_s), &error)) == NULL) {
			ps_rq_error(r, "jid-malformed", NULL, error);
			goto done;
		}
		bares[n++] = xstrdup(jid_bare(j));
		jid_free(&j);
	}
	/* The owners once applied: those not named, and those named (last
	 * entry) owner. */
	owners = (int)ps_node_affil_count(node, PS_AFFIL_OWNER);
	for (i = 0; i < n; i++) {
		if (named_later(bares, n, i))
			continue;
		owners -= ps_node_affil(node, bares[i]) == PS_AFFIL_OWNER;
		owners += aff[i] == PS_AFFIL_OWNER;
	}
	if (owners < 1) {
		ps_rq_error(r, "not-acceptable", NULL, "a node keeps at least one owner");
		goto done;
	}
	for (i = 0; i < n; i++) {
		ps_node_set_affil(node, bares[i], (enum ps_affil)aff[i]);
		if (aff[i] == PS_AFFIL_OUTCAST) {
			const struct list_node *head = ps_subs_list(r->ps->subs, node->name);
			struct ps_sub *s, *tmp;

			if (head != NULL)
				LIST_FOREACH_SAFE(s, tmp, head, struct ps_sub, link)
					if (ps_jid_has_bare(s->jid, bares[i]))
						ps_sub_drop(r->ps, s);
		}
	}
	ps_node_save(r->ps, node);
	ps_reply(r, ps_iq_result(r->stanza, PS_NS_OWNER, NULL));
done:
	for (i = 0; i < n; i++)
		free(bares[i]);
}

/* Owner: the subscriptions of the node, or change some (8.8). */
void ps_do_owner_subscriptions(struct ps_rq *r)
{
	const char *type = nad_attr(r->stanza, 0, NULL, "type"), *jid_s, *st_s, *error;
	const struct list_node *head;
	struct ps_sub *s;
	struct nad *res;
	struct jid *j;
	char subid[64];
	int p, c, e, state, n = 0;

	if (ps_need_owner(r) < 0)
		return;
	head = ps_subs_list(r->ps->subs, r->node->name);
	if (strcmp(type, "get") == 0) {
		res = ps_iq_result(r->stanza, PS_NS_OWNER, &p);
		c = nad_elem_add(res, p, PS_NS_OWNER, "subscriptions");
		nad_attr_set(res, c, NULL, "node", r->node->name);
		if (head != NULL)
			LIST_FOREACH(s, head, struct ps_sub, link)
				ps_sub_element(res, c, PS_NS_OWNER, s, 0);
		ps_reply(r, res);
		return;
	}
	for (e = nad_child(r->stanza, r->req.elem, PS_NS_OWNER, "subscription"); e != NAD_NONE;
	     e = nad_next(r->stanza, e, PS_NS_OWNER, "subscription")) {
		if (++n > PS_REQ_ITEMS_MAX * 2) {
			ps_rq_error(r, "not-acceptable", NULL, "too many subscriptions at once (limit 64)");
			return;
		}
		jid_s = nad_attr(r->stanza, e, NULL, "jid");
		st_s = nad_attr(r->stanza, e, NULL, "subscription");
		state = ps_sub_state_parse(st_s);
		if (jid_s == NULL || (state != PS_SUB_NONE && state != PS_SUB_SUBSCRIBED)) {
			ps_rq_error(r, "bad-request", NULL, "a subscription needs a jid and none or subscribed");
			return;
		}
		if ((j = jid_new(jid_s, strlen(jid_s), &error)) == NULL) {
			ps_rq_error(r, "jid-malformed", NULL, error);
			return;
		}
		s = ps_subs_find(r->ps->subs, r->node->name, jid_full(j), NULL);
		if (state == PS_SUB_NONE && s != NULL)
			ps_sub_drop(r->ps, s);
		else if (state == PS_SUB_SUBSCRIBED && s != NULL && s->state != PS_SUB_SUBSCRIBED) {
			s->state = PS_SUB_SUBSCRIBED;
			ps_sub_save(r->ps, s);
			ps_tell_subscriber(r->ps, s);
		}
		else if (state == PS_SUB_SUBSCRIBED && s == NULL &&
			 ps_subs_count(r->ps->subs, r->node->name) <
			 (size_t)r->ps->limits.subscriptions_per_node) {
			ps_new_id(r->ps, subid, sizeof(subid));
			ps_sub_save(r->ps, ps_subs_add(r->ps->subs, r->node->name, jid_full(j), subid,
						    PS_SUB_SUBSCRIBED));
		}
		jid_free(&j);
	}
	ps_reply(r, ps_iq_result(r->stanza, PS_NS_OWNER, NULL));
}

