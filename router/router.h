/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * router.h: the router daemon's own header (not seen by modules, which
 * see only router/router_module.h). The routing core (routes.c) works on
 * abstract components: something with a send function and a set of bound
 * names. The daemon (conn.c) makes one per component stream; the unit
 * tests make them with a send function that records what was sent; a
 * loaded module gets one to stand for the names it binds on behalf of
 * remote nodes.
 *
 * Prototypes are grouped by the file that defines them.
 */
#ifndef ROUTER_ROUTER_H
#define ROUTER_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include "mio/mio.h"
#include "sx/sx.h"
#include "util/list.h"

struct buf;
struct nad;
struct xhash;
struct router;
struct router_comp;
struct router_filter;
struct router_msglog;
struct router_module;
struct link_set;
struct mio;
struct metrics;
struct config;
struct router_module_inst;
struct router_conn;

#define ROUTER_NS_COMP "http://jabberd.jabberstudio.org/ns/component/1.0"
#define ROUTER_NS_SESS "http://jabberd.jabberstudio.org/ns/session/1.0"

/* The ACL types of router.xml <aci><acl type='...'>. */
enum router_acl {
	ROUTER_ACL_ALL,
	ROUTER_ACL_BIND,
	ROUTER_ACL_DEFAULT_ROUTE,
	ROUTER_ACL_LOG,
	ROUTER_ACL_COUNT,
};

/* Write one element to a component; the callee takes the nad. */
typedef void router_send_fn(struct router_comp *comp, struct nad *nad);

/* One connected component (or a module's stand-in for remote names). */
struct router_comp {
	struct router *r;
	uint64_t id;
	/* SASL username (the part before '@'); for XEP-0114 links the name
	 * from the stream header. Used by the ACLs and in logs. */
	char *user;
	int legacy;                     /* XEP-0114 link: stanzas, not routes */
	int throttled;                  /* <throttle/> on: queue everything */
	struct nad **queue;             /* held while throttled, in order */
	size_t nqueue, queue_cap;
	struct xhash *names;            /* names it holds -> the route */
	struct list_node link;          /* r->comps */
	router_send_fn *send;
	void *owner;                    /* the daemon's connection, the test... */
};

/* Is the component's output backlog over the congestion mark? */
typedef int router_congested_fn(const struct router_comp *comp);

/* One per-JID redirect (router_module.h): routes to a module-held name
 * about `jid` go to the holders of `name`. */
struct router_redirect {
	char *jid;                      /* prepared, full or bare */
	char *name;
	uint64_t hits;
	struct list_node lru;           /* r->redirect_lru, most recent first */
};

/* One routed name and its holders, in bind order. */
struct router_route {
	char *name;
	int by_from;                    /* XEP-0114 group: pick by payload from */
	struct router_comp **members;
	unsigned n, cap;
};

struct router {
	struct xhash *routes;           /* name -> struct router_route */
	struct xhash *aliases;          /* alias name -> target (char *) */
	struct xhash *acl[ROUTER_ACL_COUNT];   /* user -> (void *)1 */
	struct xhash *log_sinks;        /* name -> struct router_comp */
	char *default_name;             /* name bound with <default/> */
	struct router_comp *default_comp;
	struct list_node comps;
	uint64_t next_id;
	struct router_filter *filter;   /* NULL: no filter */
	struct router_msglog *msglog;   /* message_logging, or NULL */
	/* The loaded module, NULL if none: the only thing normal routing
	 * checks. */
	struct router_module_inst *module;
	struct router_comp *module_comp;        /* holds the module's names */
	unsigned module_depth;          /* nested module calls (loop bound) */
	/* Per-JID redirects set by the module: prepared JID -> struct
	 * router_redirect, and the same entries by last use. At most
	 * redirect_max; the least recently used goes first. */
	struct xhash *redirects;
	struct list_node redirect_lru;
	size_t redirect_max;
	/* The name every redirect points at, while they all point at one
	 * (the cluster's: its sm); NULL when there are none or they were
	 * ever mixed since the table was last empty. A route from that
	 * name's only holder cannot be redirected (never back to its
	 * sender), so its lookup is skipped: the sm's forwards (issue 13). */
	char *redirect_single;
	struct mio *mio;                /* for module timers; may be NULL */
	router_congested_fn *congested; /* the daemon's; NULL: never */
	/* SIGTERM: the module called router_mod_stopped(). */
	void (*module_stopped)(void *ctx);
	void *module_stopped_ctx;
	/* router_mod_names_watch(): components' binds and unbinds. */
	void (*names_fn)(void *ctx, const char *name, int bound);
	void *names_ctx;
	/* router_mod_metrics(): the module's families in the metrics. */
	void (*metrics_fn)(void *ctx, struct buf *out);
	void *metrics_ctx;
	const struct config *cfg;       /* for module config lookups */
	/* Counters for the benchmark, the logs and /metrics. */
	uint64_t routed, bounced, redirected, redirect_misses;
	uint64_t bounced_code[4];       /* by error code: 400, 401, 404, other */
	uint64_t dropped_queue_full;    /* a throttled component's oldest */
};

/* ---- routes.c: the routing core ---- */

struct router *router_new(void);
void router_free(struct router **rp);
/* ACL lists and aliases, as router.xml gives them. Names are copied.
 * router_acl_type() maps "all", "bind", "default-route", "log" (else -1). */
int router_acl_type(const char *name);
void router_acl_add(struct router *r, enum router_acl type, const char *user);
int router_acl_check(const struct router *r, enum router_acl type, const char *user);
void router_alias_add(struct router *r, const char *name, const char *target);

/* A new component (not yet holding any name). `user` may be NULL. */
struct router_comp *router_comp_new(struct router *r, const char *user, int legacy,
				    router_send_fn *send, void *owner);
/* The component is gone: unbind its names (others are told), drop its
 * default-route and log-sink roles and its queue, free it. NULLs *compp. */
void router_comp_free(struct router_comp **compp);

/* An element from an authenticated component-protocol stream (bind,
 * unbind, route, throttle); takes the nad. Anything else is dropped. */
void router_comp_element(struct router_comp *comp, struct nad *nad);
void router_bind(struct router_comp *comp, struct nad *nad);
void router_unbind(struct router_comp *comp, struct nad *nad);
void router_route(struct router_comp *comp, struct nad *nad);
void router_throttle(struct router_comp *comp, struct nad *nad);
/* A stanza from an XEP-0114 link: wrapped in a route and routed. */
void router_legacy_stanza(struct router_comp *comp, struct nad *nad);
/* Join an XEP-0114 link to the route-by-from group `name`. Returns 0, or
 * -1 if name is an alias name (the link is refused with host-unknown). */
int router_legacy_bind(struct router_comp *comp, const char *name);
/* Route a unicast route as if `sender` (may be NULL: a module, no checks
 * on from, no redirects, never back to the module) had sent it, after the
 * module hook. Takes the nad. 0 if delivered, else the code it was
 * bounced with, or -1 (dropped: it would loop back to the module). */
int router_route_unicast(struct router *r, struct router_comp *sender, struct nad *nad);
/* Send one element to a component: queued while throttled, unwrapped for
 * XEP-0114 links. Takes the nad. */
void router_deliver(struct router_comp *comp, struct nad *nad);
/* Send the route back to its sender with error='code'. Takes the nad. */
void router_bounce(struct router_comp *comp, struct nad *nad, int code);
/* Holders of a name (alias names resolve to their target's), or NULL. */
struct router_route *router_lookup(const struct router *r, const char *name);
/* Does comp hold `name` (directly or through an alias)? */
int router_holds(const struct router *r, const struct router_comp *comp, const char *name);
/* Bind `name` for comp with no checks (modules, XEP-0114). multi: join
 * an existing group. Returns 0, or -1 if held by others and !multi. */
int router_bind_name(struct router_comp *comp, const char *name, int multi, int by_from);
/* Drop comp's hold on name; 0, or -1 if it did not hold it. */
int router_unbind_name(struct router_comp *comp, const char *name);
/* Tell every non-legacy component but `except` that `name` (and the
 * aliases whose target it is) is now available or unavailable. */
void router_advertise(struct router *r, const char *name, struct router_comp *except,
		      int unavailable);
/*
 * The redirect for a unicast route from `sender` (NULL: injected by the
 * module, never redirected) addressed to `to`, or NULL. Only routes to a
 * name the module holds are looked at; the JID is the session's user for
 * c2s session traffic (payload from, or <session/> target), else the
 * payload's to. A redirect never sends a route back to its sender. A hit
 * counts and becomes the most recently used entry.
 */
struct router_route *router_redirect_lookup(struct router *r,
					    const struct router_comp *sender,
					    const char *to, const struct nad *nad);
/* Set jid -> name (name must be routed now); evicts the least recently
 * used entry when full. 0, or -1 with *error_r. */
int router_redirect_set(struct router *r, const char *jid, const char *name,
			const char **error_r);
/* The entry for a JID (any spelling jid_new accepts), or NULL. */
struct router_redirect *router_redirect_get(const struct router *r, const char *jid);
/* Drop one entry (0), or -1 if there was none. */
int router_redirect_clear(struct router *r, const char *jid);
void router_redirect_clear_all(struct router *r);
/* Drop the redirects pointing at `name` (its last holder left). */
void router_redirect_drop_name(struct router *r, const char *name);
/* Pick the member a route goes to (SHA-1 of the payload's bare JID). */
struct router_comp *router_pick(const struct router_route *route, const struct nad *nad);
/* A route error code for a stanza error condition name (filter rules):
 * 302..503, unknown names 405. */
int router_error_code(const char *condition);

/* ---- filter.c: router-filter.xml ---- */

/*
 * Load the rules. A file that does not exist gives *filter_r NULL and
 * returns 0 (no filter); an unreadable or unparsable one returns -1 with
 * *error_r set.
 */
int router_filter_load(const char *file, struct router_filter **filter_r,
		       const char **error_r);
/* Build from memory (tests). Same results. */
int router_filter_load_mem(const char *name, const char *xml, size_t len,
			   struct router_filter **filter_r, const char **error_r);
void router_filter_free(struct router_filter **filterp);
unsigned router_filter_count(const struct router_filter *f);
/* Apply the first matching rule to a unicast route: 0 to pass it on
 * (its `to` may have been rewritten by a redirect), else the error code
 * to bounce it with. */
int router_filter_check(const struct router_filter *f, struct nad *route);

/* ---- msglog.c: message_logging ---- */

/* Open (create, mode 0600) the message log; NULL with *error_r. */
struct router_msglog *router_msglog_new(const char *path, const char **error_r);
void router_msglog_free(struct router_msglog **mp);
/* SIGHUP: reopen the file (log rotation). */
void router_msglog_reopen(struct router_msglog *m);
/* Log a unicast route if it carries a message with a body. */
void router_msglog_route(struct router_msglog *m, const struct nad *nad);

/* ---- module.c: the loadable module (router_module.h) ---- */

struct router_module_inst;
/* dlopen `path`, check its descriptor and run its init. Returns 0, or -1
 * with *error_r set (the router refuses to start). */
int router_module_load(struct router *r, const char *path, const char **error_r);
void router_module_unload(struct router *r);
/* The hook: 1 if the module took the route (and the nad). */
int router_module_route(struct router *r, struct router_comp *sender, struct nad *nad);
/* SIGTERM: the module's stop(); 1 if it is draining (the router waits for
 * router_mod_stopped(), through r->module_stopped), 0 if done. */
int router_module_stop(struct router *r);
void router_module_hup(struct router *r);

/* ---- the daemon (main.c, conn.c) ---- */

struct routerd {
	struct router *r;
	struct mio *mio;
	struct config *cfg;
	struct mio_listener *listener;
	struct mio_access *access;
	struct sx_sasl_ctx *sasl;
	struct sx_tls_ctx *tls;         /* NULL: no STARTTLS offered */
	struct xhash *users;            /* router-users.xml: name -> secret */
	const char *secret;             /* XEP-0114 secret, NULL: refused */
	struct sx_limits limits;
	struct mio_rate bytes;          /* io.limits.bytes per link */
	struct list_node conns;
	struct link_set *links;         /* flush, back-pressure, idle trim */
	struct mio_timer *drain;        /* SIGTERM: give up waiting */
	struct mio_timer *module_wait;  /* SIGTERM: give up on the module */
	int shutting_down;
	int module_draining;            /* SIGTERM: the module's stop() */
	int closing;                    /* SIGTERM: streams being closed */
	int exiting;                    /* the loop is being freed */
	struct metrics *metrics;   /* <metrics> port, or NULL */
};

/* conn.c */
/* The SASL context (DIGEST-MD5 against d->users). Returns 0 or -1. */
int routerd_sasl_init(struct routerd *d, const char **error_r);
void routerd_accept(struct mio_listener *l, struct mio_conn *mc, const char *ip,
		    int port, void *ctx);
/* The component links' set (link/link.h): idle trim every
 * ROUTERD_TRIM_MS, back-pressure at 1 MiB / 256 KiB. */
#define ROUTERD_TRIM_MS 2000
void routerd_links_init(struct routerd *d);
void routerd_keepalive(struct routerd *d, unsigned seconds);
void routerd_close_all(struct routerd *d);
/* router_congested_fn for the daemon's components. */
int routerd_comp_congested(const struct router_comp *comp);

/* users.c */
/* Load router-users.xml into a new table (name -> secret, values
 * allocated: free with xhash_clear(h, free)). Returns NULL with *error_r
 * when the file cannot be read or parsed. */
struct xhash *routerd_users_load(const char *file, const char **error_r);

#endif
