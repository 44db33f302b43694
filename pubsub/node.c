/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * node.c: a pubsub node's configuration, affiliations and items (see
 * node.h).
 */
#include "config.h"
#include "pubsub/node.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/nad.h"
#include "util/xhash.h"

static const char *const affil_names[] = {
	[PS_AFFIL_OUTCAST] = "outcast", [PS_AFFIL_NONE] = "none",
	[PS_AFFIL_MEMBER] = "member", [PS_AFFIL_PUBLISHER] = "publisher",
	[PS_AFFIL_OWNER] = "owner",
};
static const char *const access_names[] = {
	[PS_ACCESS_OPEN] = "open", [PS_ACCESS_PRESENCE] = "presence",
	[PS_ACCESS_ROSTER] = "roster", [PS_ACCESS_WHITELIST] = "whitelist",
	[PS_ACCESS_AUTHORIZE] = "authorize",
};
static const char *const publish_names[] = {
	[PS_PUBLISH_PUBLISHERS] = "publishers", [PS_PUBLISH_SUBSCRIBERS] = "subscribers",
	[PS_PUBLISH_OPEN] = "open",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static int name_parse(const char *const *names, size_t n, const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < n; i++)
		if (strcmp(names[i], name) == 0)
			return (int)i;
	return -1;
}

const char *ps_affil_name(enum ps_affil a)
{
	return (size_t)a < NELEM(affil_names) ? affil_names[a] : NULL;
}

int ps_affil_parse(const char *name)
{
	return name_parse(affil_names, NELEM(affil_names), name);
}

const char *ps_access_name(enum ps_access a)
{
	return (size_t)a < NELEM(access_names) ? access_names[a] : NULL;
}

int ps_access_parse(const char *name)
{
	return name_parse(access_names, NELEM(access_names), name);
}

const char *ps_publish_model_name(enum ps_publish_model m)
{
	return (size_t)m < NELEM(publish_names) ? publish_names[m] : NULL;
}

int ps_publish_model_parse(const char *name)
{
	return name_parse(publish_names, NELEM(publish_names), name);
}

/* ---- configuration ---- */

void ps_config_init(struct ps_node_config *cfg, int max_items)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->title = xstrdup("");
	cfg->max_items = max_items;
	cfg->persist_items = 1;
	cfg->access = PS_ACCESS_OPEN;
	cfg->publish = PS_PUBLISH_PUBLISHERS;
	cfg->deliver_payloads = 1;
	cfg->deliver_notifications = 1;
	cfg->notify_retract = 1;
	cfg->notify_delete = 1;
	cfg->notify_config = 0;
}

void ps_config_clear(struct ps_node_config *cfg)
{
	int i;

	free(cfg->title);
	cfg->title = NULL;
	for (i = 0; i < cfg->ngroups; i++)
		free(cfg->groups[i]);
	cfg->ngroups = 0;
}

void ps_config_copy(struct ps_node_config *dst, const struct ps_node_config *src)
{
	int i;

	if (dst == src)
		return;
	ps_config_clear(dst);
	*dst = *src;
	dst->title = xstrdup(src->title != NULL ? src->title : "");
	for (i = 0; i < src->ngroups; i++)
		dst->groups[i] = xstrdup(src->groups[i]);
}

/* ---- the node ---- */

struct ps_node *ps_node_new(const char *name, const char *creator, int max_items)
{
	struct ps_node *node = xcalloc(1, sizeof(*node));

	node->name = xstrdup(name);
	node->creator = xstrdup(creator);
	ps_config_init(&node->cfg, max_items);
	node->affils = xhash_new();
	node->items_by_id = xhash_new();
	list_init(&node->items);
	if (creator[0] != '\0')
		ps_node_set_affil(node, creator, PS_AFFIL_OWNER);
	return node;
}

static void item_free(struct ps_item *it)
{
	list_remove(&it->link);
	free(it->id);
	free(it->publisher);
	nad_free(&it->payload);
	free(it);
}

void ps_node_free(struct ps_node **nodep)
{
	struct ps_node *node = *nodep;

	if (node == NULL)
		return;
	ps_node_purge(node);
	xhash_free(&node->items_by_id);
	xhash_clear(node->affils, NULL);
	xhash_free(&node->affils);
	ps_config_clear(&node->cfg);
	free(node->name);
	free(node->creator);
	free(node);
	*nodep = NULL;
}

enum ps_affil ps_node_affil(const struct ps_node *node, const char *bare)
{
	void *v = xhash_get(node->affils, bare);

	return v == NULL ? PS_AFFIL_NONE : (enum ps_affil)((uintptr_t)v - 1);
}

void ps_node_set_affil(struct ps_node *node, const char *bare, enum ps_affil a)
{
	if (a == PS_AFFIL_NONE)
		xhash_remove(node->affils, bare);
	else
		xhash_put(node->affils, bare, (void *)((uintptr_t)a + 1));
}

size_t ps_node_affil_count(const struct ps_node *node, enum ps_affil a)
{
	struct xhash_iter it;
	size_t n = 0;
	void *v;

	xhash_iter_init(node->affils, &it);
	while (xhash_iter_next(&it, NULL, &v))
		n += (enum ps_affil)((uintptr_t)v - 1) == a;
	return n;
}

/* ---- items ---- */

struct ps_item *ps_node_item(const struct ps_node *node, const char *id)
{
	return xhash_get(node->items_by_id, id);
}

static void item_drop(struct ps_node *node, struct ps_item *it)
{
	xhash_remove(node->items_by_id, it->id);
	node->nitems--;
	item_free(it);
}

size_t ps_node_trim(struct ps_node *node)
{
	size_t n = 0;

	while (node->nitems > 0 && node->nitems > (size_t)node->cfg.max_items) {
		item_drop(node, LIST_ENTRY(list_first(&node->items), struct ps_item, link));
		n++;
	}
	return n;
}

struct ps_item *ps_node_publish(struct ps_node *node, const char *id, const char *publisher,
				struct nad *payload, time_t now)
{
	struct ps_item *it = ps_node_item(node, id);

	if (it != NULL)
		item_drop(node, it);
	it = xcalloc(1, sizeof(*it));
	it->id = xstrdup(id);
	it->publisher = xstrdup(publisher);
	it->payload = payload;
	it->when = now;
	list_add_tail(&node->items, &it->link);
	xhash_put(node->items_by_id, it->id, it);
	node->nitems++;
	ps_node_trim(node);
	return it;
}

int ps_node_retract(struct ps_node *node, const char *id)
{
	struct ps_item *it = ps_node_item(node, id);

	if (it == NULL)
		return -1;
	item_drop(node, it);
	return 0;
}

void ps_node_purge(struct ps_node *node)
{
	while (node->nitems > 0)
		item_drop(node, LIST_ENTRY(list_first(&node->items), struct ps_item, link));
}
