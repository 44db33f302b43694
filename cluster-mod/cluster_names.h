/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cluster_names (i13-fed): components bound on one node, reachable from
 * every node (cluster-mod/README.md "Components and federation",
 * docs/cluster-protocol.md "Routes for a component on another node").
 *
 *  - Announce: the router tells the module which names its components
 *    bind and unbind (router_mod_names_watch); the component names among
 *    them (a dotted name that is not a clustered domain nor <sm>) go into
 *    the replicated state as NAME_BIND / NAME_UNBIND.
 *  - Hold: a name some peer announces and no local component binds is
 *    bound at this router for the module (router_mod_bind), so routes for
 *    it reach the module; it is unbound when no peer announces it any
 *    more (unbind, node dead or gone) or a local component binds it.
 *    Binding and unbinding happen at the end of the loop turn, never
 *    inside the router's or the table's callbacks.
 *  - Carry: a route for a held name goes in a STANZA frame with no
 *    targets to the first peer announcing it; the receiving module hands
 *    a STANZA without targets whose route `to` is a name one of its
 *    components binds straight to the router, unchanged.
 */
#ifndef CLUSTER_MOD_CLUSTER_NAMES_H
#define CLUSTER_MOD_CLUSTER_NAMES_H

#include <stddef.h>
#include <stdint.h>

struct router;
struct nad;
struct cluster_config;
struct cluster_state;
struct cluster_names;

/* How the names reach the rest of the module. */
struct cluster_names_hooks {
	/* Queue a route (serialized) for `node`; 0, or -1 when it was refused
	 * (unknown node, queue full, too big, node gone). */
	int (*send)(void *ctx, const char *node, const uint8_t *route, size_t len);
	/* The local names changed: flush the state's deltas soon. */
	void (*changed)(void *ctx);
};

struct cluster_names *cluster_names_new(struct router *r, const struct cluster_config *cc,
					struct cluster_state *st,
					const struct cluster_names_hooks *hooks, void *ctx);
void cluster_names_free(struct cluster_names **cnp);

/* A name is announced when a local component binds it: 1 for a dotted
 * name that is not a clustered domain nor <sm>, else 0. */
int cluster_names_announced(const struct cluster_config *cc, const char *name);

/* The module's deliver hook, first: a route for a name held for a peer is
 * carried there (1: taken, the nad is freed); anything else 0. */
int cluster_names_deliver(struct cluster_names *cn, struct nad *nad);
/* A STANZA from `peer` without targets: 1 when its route is for a name a
 * local component binds (handed to the router), 0 when it is not (a
 * broadcast for the sm). */
int cluster_names_from_peer(struct cluster_names *cn, const char *peer, const uint8_t *route,
			    size_t len);

struct cluster_names_counters {
	size_t local;                   /* names announced by this node */
	size_t held;                    /* names held here for peers */
	uint64_t out, in, refused;      /* routes carried, received, not carried */
};
void cluster_names_counters(const struct cluster_names *cn, struct cluster_names_counters *c);
void cluster_names_log_status(const struct cluster_names *cn);

#endif
