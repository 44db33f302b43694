/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * router_module.h: everything a router module sees of the router (the
 * cluster module, cluster-mod/, is the one the tree ships). A module is a
 * shared object loaded at start by router.xml's <cluster> section:
 *
 *	<cluster/>                      the installed cluster.so
 *	<cluster><module>/path/x.so</module>...</cluster>
 *
 * or, as before, by a top-level <module>/path/x.so</module> (not both).
 * It exports one const descriptor named `router_module`:
 *
 *	const struct router_module router_module = {
 *		.name  = "cluster",
 *		.abi   = ROUTER_MODULE_ABI,
 *		.init  = cluster_init,
 *		.free  = cluster_free,
 *		.route = cluster_route,
 *		.deliver = cluster_deliver,
 *		.stop  = cluster_stop,
 *		.hup   = cluster_hup,
 *	};
 *
 * The router dlopen()s the file at start, refuses to start if the symbol is
 * missing, the .abi differs from the ROUTER_MODULE_ABI it was built with,
 * or init fails. Without a module, routing pays one NULL test per route.
 *
 * What a module may call (the linking contract): the functions declared
 * below, and every function declared in the public headers of the four
 * libraries under the daemons:
 *	util/  buf.h config_file.h hash.h jid.h list.h log.h nad.h xhash.h
 *	       and the other headers of util/
 *	sx/    sx.h (streams, TLS, SASL plugins)
 *	mio/   mio.h (listeners, connects, timers, on router_mod_mio()'s loop)
 *	link/  link.h (a socket's stream: read into sx, flush, back-pressure,
 *	       idle trim, graceful close, reap; the cluster's links use it)
 * The router links those four static libraries whole (every object, not
 * only what the router itself uses) and exports their symbols, so a module
 * links against nothing of ours: it is built -shared with our headers and
 * its unresolved symbols bind to the router at dlopen. libevent, OpenSSL
 * and expat are loaded by the router; a module that calls them directly
 * links them itself. Everything runs on the router's single thread.
 */
#ifndef ROUTER_ROUTER_MODULE_H
#define ROUTER_ROUTER_MODULE_H

#include <stdint.h>

/* Bump on any change to this file that breaks existing modules.
 * 2: stop/hup hooks, the loop, config trees, route results, back-pressure,
 *    stats, redirects scoped to the module's names and bounded by LRU. */
#define ROUTER_MODULE_ABI 2

struct buf;
struct nad;
struct mio;
struct config;
struct config_node;
struct router;                  /* the router, opaque to modules */
struct router_mod_timer;

/* What route() returns. */
enum router_mod_result {
	ROUTER_MOD_PASS = 0,    /* the router routes it as usual */
	ROUTER_MOD_HANDLED = 1, /* the module took the nad (and frees it) */
};

/* What stop() returns. */
enum router_mod_stop {
	ROUTER_MOD_STOPPED = 0, /* nothing to wait for */
	ROUTER_MOD_DRAINING = 1, /* call router_mod_stopped() when done */
};

/* How long the router waits for a draining module, at most. */
#define ROUTER_MOD_STOP_MS 5000

struct router_module {
	const char *name;
	unsigned abi;
	/* Once, at start, before any component connects. Store the module's
	 * state in *state_r. Return 0, or -1 with *error_r (a static string):
	 * the router then exits. */
	int (*init)(struct router *r, void **state_r, const char **error_r);
	/* At shutdown, after stop() and after the components' streams are
	 * closed, but before the loop is freed (the module frees its
	 * listeners, connections and timers here). Not called after a
	 * failed init. May be NULL. */
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
	/* SIGTERM/SIGINT, first, while every component is still connected
	 * and routing goes on: tell the peers, hand over what is queued.
	 * Return ROUTER_MOD_STOPPED, or ROUTER_MOD_DRAINING and call
	 * router_mod_stopped() once done; the router goes on with its
	 * shutdown then, or after ROUTER_MOD_STOP_MS. May be NULL. */
	int (*stop)(void *state);
	/* SIGHUP, after the router reopened its log and reloaded its
	 * users and filter. May be NULL. */
	void (*hup)(void *state);
};

/* ---- calls into the router (exported by the router binary) ---- */

/* The router's event loop: mio listeners, connects and timers made on it
 * run with the router's (util/log.h logs go to the router's log). */
struct mio *router_mod_mio(struct router *r);

/*
 * Bind `name` on behalf of a remote node: routes for it go to the module's
 * deliver(), and the local components are told the name is available, as
 * for a component's bind. With `multi` the module joins the holders of a
 * name a local component has bound with multi. Returns 0, or -1 with
 * *error_r if the name is bound without multi or is an alias name.
 */
int router_mod_bind(struct router *r, const char *name, int multi, const char **error_r);
/* Drop the module's hold on `name` (the components are told if it was the
 * last; redirects to it go). Returns 0, or -1 if the module did not hold
 * it. */
int router_mod_unbind(struct router *r, const char *name);
/*
 * Watch the names local components bind: fn(ctx, name, 1) when the first
 * component (never the module) binds `name` (a <bind/>, an XEP-0114
 * link's name), fn(ctx, name, 0) when the last one lets it go (an
 * <unbind/>, or its stream closed). A multi name is told once, not per
 * holder. One watch per router (a new call replaces it; fn NULL stops
 * it); it ends when the module is unloaded. fn must not bind or unbind
 * from inside the call. Added in ABI 2 as a new call: modules that do not
 * call it see no change.
 */
void router_mod_names_watch(struct router *r,
			    void (*fn)(void *ctx, const char *name, int bound), void *ctx);
/*
 * Add the module's counters to the router's metrics: each time the router
 * renders them (`jabberd status`, `jabberd-status -s SOCKET`, the
 * <metrics><port>), fn(ctx, out) appends whole families in Prometheus text
 * format 0.0.4 (# HELP, # TYPE, then samples) to `out`, after the
 * router's own. Its families must not repeat the router's (jabberd_router_*):
 * name them after the module (jabberd_cluster_*). One per router (a new
 * call replaces it; fn NULL stops it); it ends when the module is
 * unloaded. Added in ABI 2 as a new call: modules that do not call it
 * see no change.
 */
void router_mod_metrics(struct router *r, void (*fn)(void *ctx, struct buf *out), void *ctx);

/*
 * Deliver a <route/> (from another node, say) to local components,
 * skipping the route() hook, the sender checks and the redirects: a
 * unicast route goes by its `to` (bound names, aliases, default route);
 * type='broadcast' goes to every component but the module. Takes the nad.
 * Returns 0 when it was handed to a component (a throttled one queues
 * it), or -1 with *error_r (may be NULL) when it was dropped: no such
 * name, a malformed route, or a loop (the route would come back to the
 * module itself, or modules calls nest deeper than ROUTER_MOD_MAX_DEPTH).
 */
#define ROUTER_MOD_MAX_DEPTH 4
int router_mod_route(struct router *r, struct nad *nad, const char **error_r);
/*
 * Back-pressure: 1 if the component that a route to `name` would reach
 * has more output waiting than the router's congestion mark (or is
 * throttled), 0 if not, -1 if the name is not routed. A module that gets
 * 1 should hold its input (stop reading its peer) and ask again later.
 */
int router_mod_congested(struct router *r, const char *name);

/*
 * Per-JID redirects (seed patch 4): a unicast route that a component
 * (never the module) sends to a name the module holds, and that is about
 * `jid`, goes straight to the holders of `name` - a local component's
 * name, or one the module bound for a remote node - instead of to the
 * module (after the sender checks and the filter). Which JID a route is
 * about: for c2s session traffic (stanzas carrying the session
 * namespace's c2s attribute) the session's user, its payload `from`; for
 * a <session/> request its `target`; otherwise the payload's `to`. So
 * routes a component addresses to another component's name (sm -> c2s
 * deliveries) are never redirected. A redirect never sends a route back to
 * the component that sent it (that route goes to the module).
 *
 * `jid` is a full JID (that resource only) or a bare JID (every resource
 * without an entry of its own); `name` must be bound now. An entry is
 * dropped when the last holder of its name goes away; the module drops the
 * others when the state they summarise changes. The table holds at most
 * ROUTER_MOD_MAX_REDIRECTS entries: a new one evicts the least recently
 * used (set or hit). Returns 0, or -1 with *error_r (invalid JID, name not
 * bound).
 */
#define ROUTER_MOD_MAX_REDIRECTS 65536
int router_mod_redirect_set(struct router *r, const char *jid, const char *name,
			    const char **error_r);
/* Drop one entry (0), or -1 if there was none. */
int router_mod_redirect_clear(struct router *r, const char *jid);
void router_mod_redirect_clear_all(struct router *r);
/* Routes one entry has redirected (0), or -1 if there is no entry. */
int router_mod_redirect_hits(struct router *r, const char *jid, uint64_t *hits_r);

/* Counters since start. */
struct router_mod_stats {
	uint64_t routed;                /* unicast routes delivered */
	uint64_t bounced;               /* routes sent back with an error */
	uint64_t redirect_hits;         /* routes a redirect sent */
	uint64_t redirect_misses;       /* routes to the module's names
					 * without a (usable) redirect */
	uint64_t redirects;             /* entries now */
};
void router_mod_stats(struct router *r, struct router_mod_stats *st);

/* SIGTERM: the module, having returned ROUTER_MOD_DRAINING from stop(),
 * has finished; the router closes the components and exits. */
void router_mod_stopped(struct router *r);

/*
 * router.xml. router_mod_config() is value n of a key (dotted path, as in
 * jabberd2's config, e.g. "cluster.peer"), or NULL; the others give the
 * number of elements at a key, an attribute, and the element itself, to
 * walk with config_node_*() (util/config_file.h) for attributes, repeated
 * children and subtrees. router_mod_config_tree() is the whole file (for
 * config_errorf(): errors naming file, line and element).
 */
const char *router_mod_config(struct router *r, const char *key, int n);
int router_mod_config_count(struct router *r, const char *key);
const char *router_mod_config_attr(struct router *r, const char *key, int n,
				   const char *attr);
const struct config_node *router_mod_config_node(struct router *r, const char *key, int n);
const struct config *router_mod_config_tree(struct router *r);

/* Timers on the router's loop. cb runs from the loop; a timer may be
 * freed inside its own callback. NULL if the router has no loop (tests). */
struct router_mod_timer *router_mod_timer_new(struct router *r,
					      void (*cb)(void *ctx), void *ctx);
void router_mod_timer_start(struct router_mod_timer *t, unsigned ms, int periodic);
void router_mod_timer_stop(struct router_mod_timer *t);
/* NULLs *tp. */
void router_mod_timer_free(struct router_mod_timer **tp);

#endif
