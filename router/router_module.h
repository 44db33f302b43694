/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * router_module.h: everything a router module sees of the router (the
 * cluster module, cluster-mod/, is the one the tree ships). A module is a
 * shared object named in router.xml:
 *
 *	<module>/usr/lib/jabberd-cluster/cluster.so</module>
 *
 * It exports one const descriptor named `router_module`:
 *
 *	const struct router_module router_module = {
 *		.name  = "cluster",
 *		.abi   = ROUTER_MODULE_ABI,
 *		.init  = cluster_init,
 *		.free  = cluster_free,
 *		.route = cluster_route,
 *		.deliver = cluster_deliver,
 *	};
 *
 * The router dlopen()s the file at start, refuses to start if the symbol is
 * missing, the .abi differs from the ROUTER_MODULE_ABI it was built with,
 * or init fails. Without a <module>, routing pays one NULL test per route.
 *
 * Elements are nads (util/nad.h); a module may call the nad_* functions,
 * which the router binary exports. Everything runs on the router's single
 * thread, from its event loop.
 */
#ifndef ROUTER_ROUTER_MODULE_H
#define ROUTER_ROUTER_MODULE_H

/* Bump on any change to this file that breaks existing modules. */
#define ROUTER_MODULE_ABI 1

struct nad;
struct router;                  /* the router, opaque to modules */
struct router_mod_timer;

/* What route() returns. */
enum router_mod_result {
	ROUTER_MOD_PASS = 0,    /* the router routes it as usual */
	ROUTER_MOD_HANDLED = 1, /* the module took the nad (and frees it) */
};

struct router_module {
	const char *name;
	unsigned abi;
	/* Once, at start, before any component connects. Store the module's
	 * state in *state_r. Return 0, or -1 with *error_r (a static string):
	 * the router then exits. */
	int (*init)(struct router *r, void **state_r, const char **error_r);
	/* At shutdown (also after a failed init it is not called). */
	void (*free)(void *state);
	/* Every <route/> a component sends, before any check or routing.
	 * `sender` is the component's user name (SASL username, or the name
	 * of an XEP-0114 link). Return ROUTER_MOD_HANDLED to take the route
	 * (the module owns the nad and frees it), or ROUTER_MOD_PASS (the
	 * module must not keep the nad). May be NULL. */
	int (*route)(void *state, const char *sender, struct nad *nad);
	/* An element for a name the module bound with router_mod_bind():
	 * routes, and the advertisement presences every component gets. The
	 * module owns the nad. May be NULL (they are dropped). */
	void (*deliver)(void *state, struct nad *nad);
};

/* ---- calls into the router (exported by the router binary) ---- */

/*
 * Bind `name` on behalf of a remote node: routes for it go to the module's
 * deliver(), and the local components are told the name is available, as
 * for a component's bind. With `multi` the module joins the holders of a
 * name a local component has bound with multi. Returns 0, or -1 with
 * *error_r if the name is bound without multi or is an alias name.
 */
int router_mod_bind(struct router *r, const char *name, int multi, const char **error_r);
/* Drop the module's hold on `name` (the components are told if it was the
 * last). Returns 0, or -1 if the module did not hold it. */
int router_mod_unbind(struct router *r, const char *name);
/*
 * Deliver a <route/> (from another node, say) to local components,
 * skipping the route() hook and the sender checks: a unicast route goes
 * by its `to` (bound names, aliases, default route); type='broadcast'
 * goes to every component. Undeliverable routes are dropped. Takes the nad.
 */
void router_mod_route(struct router *r, struct nad *nad);
/*
 * Per-JID redirects (the seed patch "router redirects"): a unicast route
 * whose payload is addressed to `jid` goes straight to the holders of
 * `name` - a local component's name, or one the module bound for a remote
 * node - before the name table, aliases and default route are consulted
 * (after the sender checks and the filter). `jid` is a full JID (that
 * resource only) or a bare JID (every resource without an entry of its
 * own). An entry is dropped when the last holder of its name goes away;
 * the module drops the others when the state they summarise changes. At
 * most ROUTER_MOD_MAX_REDIRECTS entries. Return 0, or -1 with *error_r
 * (invalid JID, table full).
 */
#define ROUTER_MOD_MAX_REDIRECTS 65536
int router_mod_redirect_set(struct router *r, const char *jid, const char *name,
			    const char **error_r);
/* Drop one entry (0), or -1 if there was none. */
int router_mod_redirect_clear(struct router *r, const char *jid);
void router_mod_redirect_clear_all(struct router *r);

/* Value n of a router.xml key (dotted path, as in jabberd2's config), or
 * NULL. The module keeps its own section there (<cluster>...). */
const char *router_mod_config(struct router *r, const char *key, int n);

/* Timers on the router's loop. cb runs from the loop; a timer may be
 * freed inside its own callback. */
struct router_mod_timer *router_mod_timer_new(struct router *r,
					      void (*cb)(void *ctx), void *ctx);
void router_mod_timer_start(struct router_mod_timer *t, unsigned ms, int periodic);
void router_mod_timer_stop(struct router_mod_timer *t);
/* NULLs *tp. */
void router_mod_timer_free(struct router_mod_timer **tp);

#endif
