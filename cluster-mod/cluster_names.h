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
 *  - Carry: a route for a held name goes in a STANZA frame to the first
 *    peer announcing it, with one target: the name itself (no '@', so
 *    never a user's session); the receiving module hands such a STANZA,
 *    whose route `to` is that name and a name one of its components
 *    binds, straight to the router, unchanged. One the cluster cannot
 *    deliver (node dead or gone, queue full) goes back to its sender as
 *    a router bounce (error 503), never silently lost; one that arrives
 *    after the component left goes to the local sm as such a bounce.
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
	/* Queue a route (serialized) for the component `name` on `node`; 0,
	 * or -1 when it was refused (unknown node, queue full, too big, node
	 * gone: the undelivered path has had it). */
	int (*send)(void *ctx, const char *node, const uint8_t *route, size_t len,
		    const char *name);
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
/* A STANZA from `peer` for component `name` (taken: always 1): handed to
 * the router when a local component binds it and the route is for it;
 * when no local component binds it any more (it went meanwhile), bounced
 * (error 503) to the local <sm>, which answers the sender with an error
 * wherever its session is (dropped and logged without <sm>); a route not
 * for `name` is dropped and logged. */
int cluster_names_from_peer(struct cluster_names *cn, const char *peer, const uint8_t *route,
			    size_t len, const char *name);
/* A route for component `name` on `node` the cluster could not deliver:
 * bounced to its sender (1), or 0 when the route is not for `name`. */
int cluster_names_undelivered(struct cluster_names *cn, const char *node, const uint8_t *route,
			      size_t len, const char *name);

struct cluster_names_counters {
	size_t local;                   /* names announced by this node */
	size_t held;                    /* names held here for peers */
	uint64_t out, in;               /* routes carried, received */
	uint64_t refused;               /* not carried, or received for no local
					 * component: bounced */
	uint64_t dropped;               /* received and dropped (malformed, or
					 * no local component and no <sm>) */
};
void cluster_names_counters(const struct cluster_names *cn, struct cluster_names_counters *c);
void cluster_names_log_status(const struct cluster_names *cn);

#endif
