/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * node: what a publish-subscribe node IS (XEP-0060): its name, its
 * configuration, the affiliations of bare JIDs and its items, newest
 * last. Nothing here knows who listens (subs.[ch]) or how stanzas travel
 * (pubsub.c): the cluster may later keep a node on one machine and its
 * subscribers on many. Pure data, no I/O.
 */
#ifndef PUBSUB_NODE_H
#define PUBSUB_NODE_H

#include <stddef.h>
#include <time.h>

#include "util/list.h"

struct nad;
struct xhash;

enum ps_affil {
	PS_AFFIL_OUTCAST,
	PS_AFFIL_NONE,
	PS_AFFIL_MEMBER,
	PS_AFFIL_PUBLISHER,
	PS_AFFIL_OWNER,
};

enum ps_access {
	PS_ACCESS_OPEN,
	PS_ACCESS_PRESENCE,
	PS_ACCESS_ROSTER,
	PS_ACCESS_WHITELIST,
	PS_ACCESS_AUTHORIZE,        /* subscriptions pending until an owner allows */
};

enum ps_publish_model {
	PS_PUBLISH_PUBLISHERS,
	PS_PUBLISH_SUBSCRIBERS,
	PS_PUBLISH_OPEN,
};

/* Names on the wire; NULL / -1 for unknown. */
const char *ps_affil_name(enum ps_affil a);
int ps_affil_parse(const char *name);
const char *ps_access_name(enum ps_access a);
int ps_access_parse(const char *name);
const char *ps_publish_model_name(enum ps_publish_model m);
int ps_publish_model_parse(const char *name);

/* Most roster groups a node's roster access model names. */
#define PS_ROSTER_GROUPS_MAX 16

/* The pubsub#node_config fields we support. */
struct ps_node_config {
	char *title;                /* pubsub#title */
	int max_items;              /* pubsub#max_items (1.. the service's limit) */
	int persist_items;          /* pubsub#persist_items */
	enum ps_access access;      /* pubsub#access_model */
	enum ps_publish_model publish; /* pubsub#publish_model */
	int deliver_payloads;       /* pubsub#deliver_payloads */
	int deliver_notifications;  /* pubsub#deliver_notifications */
	int notify_retract;         /* pubsub#notify_retract */
	int notify_delete;          /* pubsub#notify_delete */
	int notify_config;          /* pubsub#notify_config */
	char *groups[PS_ROSTER_GROUPS_MAX]; /* pubsub#roster_groups_allowed */
	int ngroups;
};

/* The defaults of a new node (max_items from the service). */
void ps_config_init(struct ps_node_config *cfg, int max_items);
void ps_config_clear(struct ps_node_config *cfg);
void ps_config_copy(struct ps_node_config *dst, const struct ps_node_config *src);

struct ps_item {
	struct list_node link;
	char *id;
	char *publisher;            /* bare JID */
	struct nad *payload;        /* the payload element (its root), or NULL */
	long long seq;              /* publication order, kept in storage */
	time_t when;
};

struct ps_node {
	char *name;
	char *creator;              /* bare JID, for nodes-per-user */
	struct ps_node_config cfg;
	struct xhash *affils;       /* bare JID -> (enum ps_affil + 1) cast */
	struct list_node items;     /* oldest first */
	struct xhash *items_by_id;  /* id -> struct ps_item */
	size_t nitems;
};

/* A new node with default configuration; `creator` becomes its owner. */
struct ps_node *ps_node_new(const char *name, const char *creator, int max_items);
void ps_node_free(struct ps_node **nodep);

enum ps_affil ps_node_affil(const struct ps_node *node, const char *bare);
/* PS_AFFIL_NONE removes the entry. */
void ps_node_set_affil(struct ps_node *node, const char *bare, enum ps_affil a);
size_t ps_node_affil_count(const struct ps_node *node, enum ps_affil a);

/*
 * Keep item `id` with `payload` (taken; NULL for none) published by
 * `publisher` at `now`, as the newest. An item with the same id is
 * replaced. Then the oldest go until at most cfg.max_items remain.
 * Returns the item kept.
 */
struct ps_item *ps_node_publish(struct ps_node *node, const char *id, const char *publisher,
				struct nad *payload, time_t now);
struct ps_item *ps_node_item(const struct ps_node *node, const char *id);
/* Remove one item: 0, or -1 if there is none with that id. */
int ps_node_retract(struct ps_node *node, const char *id);
/* Remove every item. */
void ps_node_purge(struct ps_node *node);
/* Drop the oldest items beyond cfg.max_items (after a configuration
 * change); returns how many went. */
size_t ps_node_trim(struct ps_node *node);

/* The newest item first, then older ones: list_prev() from the tail. */
#define PS_ITEMS_NEWEST(node) \
	((node)->nitems == 0 ? NULL : LIST_ENTRY((node)->items.prev, struct ps_item, link))

#endif
