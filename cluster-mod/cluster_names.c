/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cluster_names.c: see cluster_names.h. */
#include "config.h"
#include "router/router_module.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluster-mod/cluster_config.h"
#include "cluster-mod/cluster_names.h"
#include "cluster-mod/cluster_state.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/nad.h"
#include "util/xhash.h"

/* Element depth of a carried route (as the sm hand-off parses them). */
#define NAMES_PARSE_DEPTH 64

struct cluster_names {
	struct router *r;
	const struct cluster_config *cc;
	struct cluster_state *st;
	const struct cluster_names_hooks *hooks;
	void *ctx;
	struct xhash *local;    /* names local components bind -> 1 or 2 (announced) */
	struct xhash *wanted;   /* names peers announce -> how many peers */
	struct xhash *held;     /* names the module holds for peers -> 1 */
	struct router_mod_timer *reconcile;
	int armed;
	uint64_t out, in, refused, dropped;
};

int cluster_names_announced(const struct cluster_config *cc, const char *name)
{
	if (strchr(name, '.') == NULL || (cc->sm != NULL && strcmp(name, cc->sm) == 0))
		return 0;
	for (int i = 0; i < cc->ndomains; i++)
		if (strcmp(cc->domains[i], name) == 0)
			return 0;
	return 1;
}

static void reconcile_arm(struct cluster_names *cn)
{
	if (!cn->armed) {
		cn->armed = 1;
		router_mod_timer_start(cn->reconcile, 0, 0);
	}
}

/* Hold exactly the names some peer announces and no local component
 * binds. */
static void reconcile_cb(void *ctx)
{
	struct cluster_names *cn = ctx;
	struct xhash_iter it;
	const char *name;
	void *val;

	cn->armed = 0;
	xhash_iter_init(cn->held, &it);
	while (xhash_iter_next(&it, &name, &val)) {
		if (xhash_get(cn->wanted, name) != NULL && xhash_get(cn->local, name) == NULL)
			continue;
		log_notice("cluster: %s: no peer announces it any more%s: unbound", name,
			   xhash_get(cn->local, name) != NULL ? " (a local component has it)" : "");
		(void)router_mod_unbind(cn->r, name);
		(void)xhash_iter_remove(&it);
	}
	xhash_iter_init(cn->wanted, &it);
	while (xhash_iter_next(&it, &name, &val)) {
		const char *error = NULL;

		if (xhash_get(cn->held, name) != NULL || xhash_get(cn->local, name) != NULL)
			continue;
		if (router_mod_bind(cn->r, name, 0, &error) < 0) {
			log_warnx("cluster: %s (on %s) not bound here: %s", name,
				  cluster_state_name_node(cn->st, name), error);
			continue;
		}
		log_notice("cluster: %s is on %s: bound here, its routes go there", name,
			   cluster_state_name_node(cn->st, name));
		xhash_put(cn->held, name, (void *)1);
	}
}

/* router_mod_names_watch: a local component bound or let go `name`. */
static void on_local(void *ctx, const char *name, int bound)
{
	struct cluster_names *cn = ctx;
	uintptr_t was = (uintptr_t)xhash_get(cn->local, name);

	if (bound) {
		int announce = cluster_names_announced(cn->cc, name) &&
			       cluster_state_local_name(cn->st, name, 1) == 0;

		xhash_put(cn->local, name, (void *)(uintptr_t)(announce ? 2 : 1));
		if (announce)
			log_info("cluster: %s bound by a local component: announced", name);
	} else {
		if (was == 2 && cluster_state_local_name(cn->st, name, 0) == 0)
			log_info("cluster: %s let go by the local components: withdrawn", name);
		xhash_remove(cn->local, name);
	}
	if (was == 2 || (bound && (uintptr_t)xhash_get(cn->local, name) == 2))
		cn->hooks->changed(cn->ctx);
	reconcile_arm(cn);
}

/* cluster_state names watch: a peer announced or withdrew `name`. */
static void on_peer(void *ctx, const char *node, const char *name, int bound)
{
	struct cluster_names *cn = ctx;
	uintptr_t n = (uintptr_t)xhash_get(cn->wanted, name);

	(void)node;
	if (bound)
		xhash_put(cn->wanted, name, (void *)(n + 1));
	else if (n <= 1)
		xhash_remove(cn->wanted, name);
	else
		xhash_put(cn->wanted, name, (void *)(n - 1));
	reconcile_arm(cn);
}

/* A route that cannot be delivered goes back as the router bounces one
 * (error 503, from = the name it was for: the sm answers the user with
 * an error) to `dest`, or to its sender when `dest` is NULL; a bounce is
 * never bounced again. */
static void bounce_to(struct cluster_names *cn, struct nad *nad, const char *dest)
{
	const char *error = NULL;
	char *to, *from;

	if (nad_attr(nad, 0, NULL, "error") != NULL || nad_attr(nad, 0, NULL, "from") == NULL) {
		nad_free(&nad);
		return;
	}
	to = xstrdup(nad_attr(nad, 0, NULL, "to"));
	from = xstrdup(dest != NULL ? dest : nad_attr(nad, 0, NULL, "from"));
	nad_attr_set(nad, 0, NULL, "to", from);
	nad_attr_set(nad, 0, NULL, "from", to);
	nad_attr_set(nad, 0, NULL, "error", "503");
	if (router_mod_route(cn->r, nad, &error) < 0)
		log_info("cluster: bounce of a route for %s to %s not delivered: %s", to, from,
			 error != NULL ? error : "undeliverable");
	free(to);
	free(from);
}

static void bounce(struct cluster_names *cn, struct nad *nad)
{
	bounce_to(cn, nad, NULL);
}

int cluster_names_deliver(struct cluster_names *cn, struct nad *nad)
{
	const char *to, *node;
	struct buf bytes;
	int rc;

	if (nad_root(nad) == NAD_NONE || strcmp(nad_name(nad, 0), "route") != 0)
		return 0;
	to = nad_attr(nad, 0, NULL, "to");
	if (to == NULL || xhash_get(cn->held, to) == NULL)
		return 0;
	node = cluster_state_name_node(cn->st, to);
	buf_init(&bytes);
	nad_serialize(nad, 0, NULL, &bytes);
	if (node == NULL) {
		buf_free(&bytes);
		cn->refused++;
		log_warnx("cluster: route for %s not carried (no node announces it any more): "
			  "bounced to its sender", to);
		bounce(cn, nad);
		return 1;
	}
	/* Refused at once: the undelivered hook has bounced it already. */
	rc = cn->hooks->send(cn->ctx, node, (const uint8_t *)bytes.data, bytes.len, to);
	buf_free(&bytes);
	if (rc == 0)
		cn->out++;
	nad_free(&nad);
	return 1;
}

/* The route's bytes, parsed, when it is a <route/> addressed to `name`;
 * else NULL. */
static struct nad *route_for(const uint8_t *route, size_t len, const char *name)
{
	const char *error = NULL, *to;
	struct nad *nad = nad_parse((const char *)route, len, NAMES_PARSE_DEPTH, &error, NULL);

	if (nad == NULL || strcmp(nad_name(nad, 0), "route") != 0 ||
	    (to = nad_attr(nad, 0, NULL, "to")) == NULL || strcmp(to, name) != 0) {
		nad_free(&nad);
		return NULL;
	}
	return nad;
}

int cluster_names_from_peer(struct cluster_names *cn, const char *peer, const uint8_t *route,
			    size_t len, const char *name)
{
	const char *error = NULL;
	struct nad *nad;

	if ((nad = route_for(route, len, name)) == NULL) {
		cn->dropped++;
		log_warnx("cluster: a route from %s for %s is not a <route/> to it: dropped",
			  peer, name);
		return 1;
	}
	if (xhash_get(cn->local, name) == NULL) {
		/* Let go meanwhile (the withdrawal is on its way). The sender's
		 * sm is on the peer, out of this router's reach; the local sm
		 * serves the same domains and answers the sender with an
		 * error wherever its session is (never silence). */
		if (cn->cc->sm == NULL) {
			cn->dropped++;
			log_notice("cluster: route from %s for %s dropped: no local component "
				   "has it", peer, name);
			nad_free(&nad);
			return 1;
		}
		cn->refused++;
		log_notice("cluster: route from %s for %s: no local component has it any more: "
			   "bounced to %s", peer, name, cn->cc->sm);
		bounce_to(cn, nad, cn->cc->sm);
		return 1;
	}
	cn->in++;
	if (router_mod_route(cn->r, nad, &error) < 0)
		log_warnx("cluster: route from %s for %s not delivered: %s", peer, name,
			  error != NULL ? error : "undeliverable");
	return 1;
}

int cluster_names_undelivered(struct cluster_names *cn, const char *node, const uint8_t *route,
			      size_t len, const char *name)
{
	struct nad *nad = route_for(route, len, name);

	if (nad == NULL)
		return 0;
	cn->refused++;
	log_notice("cluster: route for %s on %s not delivered: bounced to its sender", name, node);
	bounce(cn, nad);
	return 1;
}

void cluster_names_counters(const struct cluster_names *cn, struct cluster_names_counters *c)
{
	struct xhash_iter it;
	const char *name;
	void *val;

	memset(c, 0, sizeof(*c));
	xhash_iter_init(cn->local, &it);
	while (xhash_iter_next(&it, &name, &val))
		c->local += (uintptr_t)val == 2;
	c->held = xhash_count(cn->held);
	c->out = cn->out;
	c->in = cn->in;
	c->refused = cn->refused;
	c->dropped = cn->dropped;
}

void cluster_names_log_status(const struct cluster_names *cn)
{
	struct cluster_names_counters c;

	cluster_names_counters(cn, &c);
	log_notice("cluster: names: %zu announced, %zu held for peers; %llu routes carried to "
		   "them, %llu received, %llu bounced, %llu dropped", c.local, c.held,
		   (unsigned long long)c.out, (unsigned long long)c.in,
		   (unsigned long long)c.refused, (unsigned long long)c.dropped);
}

struct cluster_names *cluster_names_new(struct router *r, const struct cluster_config *cc,
					struct cluster_state *st,
					const struct cluster_names_hooks *hooks, void *ctx)
{
	struct cluster_names *cn = xcalloc(1, sizeof(*cn));

	cn->r = r;
	cn->cc = cc;
	cn->st = st;
	cn->hooks = hooks;
	cn->ctx = ctx;
	cn->local = xhash_new();
	cn->wanted = xhash_new();
	cn->held = xhash_new();
	cn->reconcile = router_mod_timer_new(r, reconcile_cb, cn);
	cluster_state_set_names_watch(st, on_peer, cn);
	router_mod_names_watch(r, on_local, cn);
	return cn;
}

void cluster_names_free(struct cluster_names **cnp)
{
	struct cluster_names *cn = *cnp;

	if (cn == NULL)
		return;
	router_mod_names_watch(cn->r, NULL, NULL);
	cluster_state_set_names_watch(cn->st, NULL, NULL);
	router_mod_timer_free(&cn->reconcile);
	xhash_free(&cn->local);
	xhash_free(&cn->wanted);
	xhash_free(&cn->held);
	free(cn);
	*cnp = NULL;
}
