/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * subs.c: the subscriptions of a pubsub service (see subs.h).
 */
#include "config.h"
#include "pubsub/subs.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/xhash.h"

struct ps_node_subs {
	struct list_node subs;
	size_t count;
};

static const char *const state_names[] = {
	[PS_SUB_NONE] = "none", [PS_SUB_PENDING] = "pending",
	[PS_SUB_UNCONFIGURED] = "unconfigured", [PS_SUB_SUBSCRIBED] = "subscribed",
};

const char *ps_sub_state_name(enum ps_sub_state s)
{
	return (size_t)s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s] : NULL;
}

int ps_sub_state_parse(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < sizeof(state_names) / sizeof(state_names[0]); i++)
		if (strcmp(state_names[i], name) == 0)
			return (int)i;
	return -1;
}

int ps_jid_has_bare(const char *jid, const char *bare)
{
	size_t n = strlen(bare);

	return strncmp(jid, bare, n) == 0 && (jid[n] == '\0' || jid[n] == '/');
}

struct ps_subs *ps_subs_new(void)
{
	struct ps_subs *subs = xcalloc(1, sizeof(*subs));

	subs->nodes = xhash_new();
	return subs;
}

static void sub_free(struct ps_sub *s)
{
	list_remove(&s->link);
	free(s->node);
	free(s->jid);
	free(s->subid);
	free(s);
}

static void node_subs_free(void *p)
{
	struct ps_node_subs *ns = p;
	struct ps_sub *s, *tmp;

	LIST_FOREACH_SAFE(s, tmp, &ns->subs, struct ps_sub, link)
		sub_free(s);
	free(ns);
}

void ps_subs_free(struct ps_subs **subsp)
{
	struct ps_subs *subs = *subsp;

	if (subs == NULL)
		return;
	xhash_clear(subs->nodes, node_subs_free);
	xhash_free(&subs->nodes);
	free(subs);
	*subsp = NULL;
}

struct ps_sub *ps_subs_add(struct ps_subs *subs, const char *node, const char *jid,
			   const char *subid, enum ps_sub_state state)
{
	struct ps_node_subs *ns = xhash_get(subs->nodes, node);
	struct ps_sub *s = xcalloc(1, sizeof(*s));

	if (ns == NULL) {
		ns = xcalloc(1, sizeof(*ns));
		list_init(&ns->subs);
		xhash_put(subs->nodes, node, ns);
	}
	s->node = xstrdup(node);
	s->jid = xstrdup(jid);
	s->subid = xstrdup(subid);
	s->state = state;
	s->opt.deliver = 1;
	list_add_tail(&ns->subs, &s->link);
	ns->count++;
	subs->total++;
	return s;
}

const struct list_node *ps_subs_list(const struct ps_subs *subs, const char *node)
{
	const struct ps_node_subs *ns = xhash_get(subs->nodes, node);

	return ns != NULL ? &ns->subs : NULL;
}

struct ps_sub *ps_subs_find(const struct ps_subs *subs, const char *node, const char *jid,
			    const char *subid)
{
	const struct list_node *head = ps_subs_list(subs, node);
	struct ps_sub *s;

	if (head == NULL)
		return NULL;
	LIST_FOREACH(s, head, struct ps_sub, link)
		if (strcmp(s->jid, jid) == 0 && (subid == NULL || strcmp(s->subid, subid) == 0))
			return s;
	return NULL;
}

size_t ps_subs_count_jid(const struct ps_subs *subs, const char *node, const char *jid)
{
	const struct list_node *head = ps_subs_list(subs, node);
	struct ps_sub *s;
	size_t n = 0;

	if (head == NULL)
		return 0;
	LIST_FOREACH(s, head, struct ps_sub, link)
		n += strcmp(s->jid, jid) == 0;
	return n;
}

size_t ps_subs_count(const struct ps_subs *subs, const char *node)
{
	const struct ps_node_subs *ns = xhash_get(subs->nodes, node);

	return ns != NULL ? ns->count : 0;
}

void ps_subs_remove(struct ps_subs *subs, struct ps_sub *sub)
{
	struct ps_node_subs *ns = xhash_get(subs->nodes, sub->node);

	/* An emptied node's list stays until the node goes (drop_node). */
	if (ns != NULL)
		ns->count--;
	subs->total--;
	sub_free(sub);
}

void ps_subs_drop_node(struct ps_subs *subs, const char *node)
{
	struct ps_node_subs *ns = xhash_remove(subs->nodes, node);

	if (ns == NULL)
		return;
	subs->total -= ns->count;
	node_subs_free(ns);
}

size_t ps_subs_drop_bare(struct ps_subs *subs, const char *node, const char *bare)
{
	struct ps_node_subs *ns = xhash_get(subs->nodes, node);
	struct ps_sub *s, *tmp;
	size_t n = 0;

	if (ns == NULL)
		return 0;
	LIST_FOREACH_SAFE(s, tmp, &ns->subs, struct ps_sub, link)
		if (ps_jid_has_bare(s->jid, bare)) {
			sub_free(s);
			ns->count--;
			subs->total--;
			n++;
		}
	return n;
}
