/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * subs: WHO LISTENS to the nodes of a pubsub service (XEP-0060): the
 * subscriptions, each a JID (bare or full, as subscribed) with its subid,
 * its state and its options, kept per node name. Nothing here knows a
 * node's configuration or items (node.[ch]); the cluster may later spread
 * these over the machines where the subscribers are. Pure data, no I/O.
 */
#ifndef PUBSUB_SUBS_H
#define PUBSUB_SUBS_H

#include <stddef.h>

#include "util/list.h"

struct xhash;

enum ps_sub_state {
	PS_SUB_NONE,
	PS_SUB_PENDING,
	PS_SUB_UNCONFIGURED,
	PS_SUB_SUBSCRIBED,
};

const char *ps_sub_state_name(enum ps_sub_state s);
int ps_sub_state_parse(const char *name);

/* The subscription options (pubsub#subscribe_options) we support. */
struct ps_sub_options {
	int deliver;                /* pubsub#deliver: notifications sent at all */
	int include_body;           /* pubsub#include_body: a <body/> summary too */
};

struct ps_sub {
	struct list_node link;
	char *node;
	char *jid;                  /* as subscribed (bare or full), prepared */
	char *subid;
	enum ps_sub_state state;
	struct ps_sub_options opt;
};

struct ps_subs {
	struct xhash *nodes;        /* node name -> struct ps_node_subs */
	size_t total;
};

struct ps_subs *ps_subs_new(void);
void ps_subs_free(struct ps_subs **subsp);

/* Add a subscription (strings copied) with default options. */
struct ps_sub *ps_subs_add(struct ps_subs *subs, const char *node, const char *jid,
			   const char *subid, enum ps_sub_state state);
/* The subscription of jid to node with subid (NULL: the first of jid). */
struct ps_sub *ps_subs_find(const struct ps_subs *subs, const char *node, const char *jid,
			    const char *subid);
/* How many subscriptions jid (exactly as given) holds to node. */
size_t ps_subs_count_jid(const struct ps_subs *subs, const char *node, const char *jid);
/* Subscriptions to node (of every state). */
size_t ps_subs_count(const struct ps_subs *subs, const char *node);
/* Remove (and free) one. */
void ps_subs_remove(struct ps_subs *subs, struct ps_sub *sub);
/* Remove every subscription to node (it was deleted). */
void ps_subs_drop_node(struct ps_subs *subs, const char *node);
/* Every subscription whose bare JID is `bare`, to node: removed (an
 * outcast). Returns how many. */
size_t ps_subs_drop_bare(struct ps_subs *subs, const char *node, const char *bare);

/* The list of node's subscriptions (struct ps_sub, link), or NULL. */
const struct list_node *ps_subs_list(const struct ps_subs *subs, const char *node);

/* 1 if `jid` (a JID string) has the bare JID `bare`. */
int ps_jid_has_bare(const char *jid, const char *bare);

#endif
