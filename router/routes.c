/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * routes.c: the router's routing core, free of sockets. It holds the name
 * table (bound name -> holders in bind order), aliases, ACLs, the default
 * route and log sinks, and implements the component protocol's elements
 * (bind, unbind, route, throttle) with the replies, error codes and
 * advertisement presences jabberd2's router gives (spec §3.2), plus the
 * XEP-0114 wrapping of §4. The daemon (conn.c) feeds it elements from the
 * streams and gives each component a send function; the unit tests do the
 * same with recorded sends.
 */
#include "config.h"
#include "router/router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router/router_module.h"
#include "util/buf.h"
#include "util/hash.h"
#include "util/jid.h"
#include "util/log.h"
#include "util/nad.h"
#include "util/xhash.h"

/* Routes held for a throttled component before the oldest are dropped, so
 * a component that never unthrottles cannot use up the router's memory. */
#define ROUTER_THROTTLE_MAX 65536

/* ---- setup ---- */

struct router *router_new(void)
{
	struct router *r = xcalloc(1, sizeof(*r));

	r->routes = xhash_new();
	r->aliases = xhash_new();
	for (int i = 0; i < ROUTER_ACL_COUNT; i++)
		r->acl[i] = xhash_new();
	r->log_sinks = xhash_new();
	r->redirects = xhash_new();
	list_init(&r->redirect_lru);
	r->redirect_max = ROUTER_MOD_MAX_REDIRECTS;
	list_init(&r->comps);
	r->next_id = 1;
	return r;
}

void router_free(struct router **rp)
{
	struct router *r = *rp;
	struct router_comp *c, *tmp;

	if (r == NULL)
		return;
	router_module_unload(r);
	LIST_FOREACH_SAFE(c, tmp, &r->comps, struct router_comp, link)
		router_comp_free(&c);
	xhash_free(&r->routes);
	xhash_clear(r->aliases, free);
	xhash_free(&r->aliases);
	for (int i = 0; i < ROUTER_ACL_COUNT; i++)
		xhash_free(&r->acl[i]);
	xhash_free(&r->log_sinks);
	router_redirect_clear_all(r);
	xhash_free(&r->redirects);
	free(r->redirect_single);
	router_filter_free(&r->filter);
	router_msglog_free(&r->msglog);
	free(r);
	*rp = NULL;
}

int router_acl_type(const char *name)
{
	static const char *const names[ROUTER_ACL_COUNT] = {
		"all", "bind", "default-route", "log",
	};

	for (int i = 0; name != NULL && i < ROUTER_ACL_COUNT; i++)
		if (strcmp(name, names[i]) == 0)
			return i;
	return -1;
}

void router_acl_add(struct router *r, enum router_acl type, const char *user)
{
	xhash_put(r->acl[type], user, (void *)1);
}

int router_acl_check(const struct router *r, enum router_acl type, const char *user)
{
	if (user == NULL)
		return 0;
	return xhash_get(r->acl[type], user) != NULL ||
	       xhash_get(r->acl[ROUTER_ACL_ALL], user) != NULL;
}

void router_alias_add(struct router *r, const char *name, const char *target)
{
	free(xhash_put(r->aliases, name, xstrdup(target)));
}

/* ---- components ---- */

struct router_comp *router_comp_new(struct router *r, const char *user, int legacy,
				    router_send_fn *send, void *owner)
{
	struct router_comp *c = xcalloc(1, sizeof(*c));

	c->r = r;
	c->id = r->next_id++;
	c->user = user != NULL ? xstrdup(user) : NULL;
	c->legacy = legacy;
	c->names = xhash_new();
	c->send = send;
	c->owner = owner;
	list_add_tail(&r->comps, &c->link);
	return c;
}

static void comp_queue_clear(struct router_comp *c)
{
	for (size_t i = 0; i < c->nqueue; i++)
		nad_free(&c->queue[i]);
	free(c->queue);
	c->queue = NULL;
	c->nqueue = c->queue_cap = 0;
}

void router_comp_free(struct router_comp **compp)
{
	struct router_comp *c = *compp;
	struct xhash_iter it;
	const char *key;
	char **names;
	size_t n = 0;

	if (c == NULL)
		return;
	/* Copy the names first: unbinding edits the table being walked. */
	names = xcalloc(xhash_count(c->names) + 1, sizeof(*names));
	xhash_iter_init(c->names, &it);
	while (xhash_iter_next(&it, &key, NULL))
		names[n++] = xstrdup(key);
	for (size_t i = 0; i < n; i++) {
		router_unbind_name(c, names[i]);
		free(names[i]);
	}
	free(names);
	list_remove(&c->link);
	comp_queue_clear(c);
	xhash_free(&c->names);
	free(c->user);
	free(c);
	*compp = NULL;
}

/* ---- small nad helpers ---- */

/* Is `v` already a prepared bare domain: lowercase ASCII letters, digits,
 * '-', '_' and non-empty dot-separated labels? Nameprep leaves such a
 * string unchanged, so the hot path can skip stringprep for the names
 * components route between (sm, c2s, example.com). */
static int plain_domain(const char *v, size_t *len_r)
{
	size_t i, label = 0;

	for (i = 0; v[i] != '\0'; i++) {
		char c = v[i];

		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			   c == '-' || c == '_') {
			label++;
		} else {
			return 0;
		}
	}
	*len_r = i;
	return label > 0 && i <= JID_PART_MAX;
}

/* The prepared domain of JID attribute `attr` of element `elem`, or -1 if
 * absent or invalid. `out` holds JID_PART_MAX + 1 bytes. */
static int attr_domain(const struct nad *nad, int elem, const char *attr,
		       char *out, size_t size)
{
	const char *v = nad_attr(nad, elem, NULL, attr);
	const char *error;
	struct jid *jid;
	size_t len;

	if (v == NULL)
		return -1;
	if (plain_domain(v, &len) && len < size) {
		memcpy(out, v, len + 1);
		return 0;
	}
	if ((jid = jid_new(v, strlen(v), &error)) == NULL)
		return -1;
	snprintf(out, size, "%s", jid_domain(jid));
	jid_free(&jid);
	return 0;
}

static struct nad *presence_new(const char *from, int unavailable)
{
	struct nad *nad = nad_new();
	int root = nad_elem_add(nad, NAD_NONE, ROUTER_NS_COMP, "presence");

	nad_attr_set(nad, root, NULL, "from", from);
	if (unavailable)
		nad_attr_set(nad, root, NULL, "type", "unavailable");
	return nad;
}

static void set_error(struct nad *nad, int code)
{
	char num[16];

	snprintf(num, sizeof(num), "%d", code);
	nad_attr_set(nad, 0, NULL, "error", num);
}

/* ---- delivery ---- */

/* The error stanza jabberd2 makes of a bounced stanza for an XEP-0114
 * link: the same element with type='error' and, as its first child,
 * <error code='400' type='modify'><bad-request/></error> for a 400, else
 * <error code='503' type='cancel'><service-unavailable/></error>. */
static struct nad *legacy_error(const struct nad *in, int elem, const char *code)
{
	int bad = strcmp(code, "400") == 0, pos = 0, root, e;
	const char *ans, *aname, *aval;
	struct nad *out = nad_new();

	root = nad_elem_add(out, NAD_NONE, nad_ns(in, elem), nad_name(in, elem));
	while (nad_attr_next(in, elem, &pos, &ans, &aname, &aval))
		nad_attr_set(out, root, ans, aname, aval);
	nad_attr_set(out, root, NULL, "type", "error");
	e = nad_elem_add(out, root, nad_ns(in, elem), "error");
	nad_attr_set(out, e, NULL, "type", bad ? "modify" : "cancel");
	nad_attr_set(out, e, NULL, "code", bad ? "400" : "503");
	nad_elem_add(out, e, "urn:ietf:params:xml:ns:xmpp-stanzas",
		     bad ? "bad-request" : "service-unavailable");
	for (int c = nad_child(in, elem, NULL, NULL); c != NAD_NONE; c = nad_next(in, c, NULL, NULL))
		nad_graft(out, root, in, c);
	return out;
}

/* A route for an XEP-0114 link becomes its payload stanza (an error
 * stanza if the route carries an error), to and from unchanged. Anything
 * without a payload (advertisements, replies) is not for such links:
 * NULL. Frees the route. */
static struct nad *legacy_unwrap(struct nad *nad)
{
	int payload = nad_child(nad, 0, NULL, NULL);
	const char *err = nad_attr(nad, 0, NULL, "error");
	struct nad *out = NULL;

	if (strcmp(nad_name(nad, 0), "route") == 0 && payload != NAD_NONE)
		out = err != NULL ? legacy_error(nad, payload, err) : nad_extract(nad, payload);
	nad_free(&nad);
	return out;
}

static void comp_send(struct router_comp *c, struct nad *nad)
{
	if (c->legacy && (nad = legacy_unwrap(nad)) == NULL)
		return;
	c->send(c, nad);
}

void router_deliver(struct router_comp *c, struct nad *nad)
{
	if (!c->throttled) {
		comp_send(c, nad);
		return;
	}
	if (c->nqueue == ROUTER_THROTTLE_MAX) {
		log_warnx("router: component %s: throttle queue full, dropping oldest",
			  c->user != NULL ? c->user : "?");
		nad_free(&c->queue[0]);
		c->r->dropped_queue_full++;
		memmove(c->queue, c->queue + 1, (c->nqueue - 1) * sizeof(*c->queue));
		c->nqueue--;
	}
	if (c->nqueue == c->queue_cap) {
		c->queue_cap = c->queue_cap ? 2 * c->queue_cap : 16;
		c->queue = xrealloc(c->queue, c->queue_cap * sizeof(*c->queue));
	}
	c->queue[c->nqueue++] = nad;
}

void router_bounce(struct router_comp *c, struct nad *nad, int code)
{
	if (c == NULL) {
		nad_free(&nad);
		return;
	}
	c->r->bounced++;
	c->r->bounced_code[code == 400 ? 0 : code == 401 ? 1 : code == 404 ? 2 : 3]++;
	set_error(nad, code);
	router_deliver(c, nad);
}

/* ---- the name table ---- */

struct router_route *router_lookup(const struct router *r, const char *name)
{
	struct router_route *route = xhash_get(r->routes, name);
	const char *target;

	if (route == NULL && (target = xhash_get(r->aliases, name)) != NULL)
		route = xhash_get(r->routes, target);
	return route;
}

int router_holds(const struct router *r, const struct router_comp *c, const char *name)
{
	const char *target;

	if (xhash_get(c->names, name) != NULL)
		return 1;
	target = xhash_get(r->aliases, name);
	return target != NULL && xhash_get(c->names, target) != NULL;
}

/* Tell every non-legacy component but `except` that `name` (and the
 * aliases whose target it is) came or went. */
void router_advertise(struct router *r, const char *name, struct router_comp *except,
		      int unavailable)
{
	struct router_comp *c;
	struct xhash_iter it;
	const char *alias;
	void *target;

	LIST_FOREACH(c, &r->comps, struct router_comp, link) {
		if (c == except || c->legacy)
			continue;
		router_deliver(c, presence_new(name, unavailable));
		xhash_iter_init(r->aliases, &it);
		while (xhash_iter_next(&it, &alias, &target))
			if (strcmp(target, name) == 0)
				router_deliver(c, presence_new(alias, unavailable));
	}
}

/* Tell a (new) binder about every routed name it does not hold, and the
 * aliases whose targets are routed. */
static void advertise_all_to(struct router *r, struct router_comp *c)
{
	struct xhash_iter it;
	const char *name;
	void *val;

	if (c->legacy)
		return;
	xhash_iter_init(r->routes, &it);
	while (xhash_iter_next(&it, &name, &val))
		if (xhash_get(c->names, name) == NULL)
			router_deliver(c, presence_new(name, 0));
	xhash_iter_init(r->aliases, &it);
	while (xhash_iter_next(&it, &name, &val))
		if (xhash_get(r->routes, val) != NULL &&
		    xhash_get(c->names, (const char *)val) == NULL)
			router_deliver(c, presence_new(name, 0));
}

/* Holders of a route other than the module's stand-in. */
static unsigned comp_holders(const struct router *r, const struct router_route *route)
{
	unsigned n = 0;

	for (unsigned i = 0; i < route->n; i++)
		n += route->members[i] != r->module_comp;
	return n;
}

/* router_mod_names_watch(): a component (never the module) is the first
 * to bind `name`, or the last to let it go. */
static void names_notify(struct router *r, const struct router_comp *c, const char *name,
			 unsigned before, unsigned after)
{
	if (r->names_fn == NULL || c == r->module_comp || (before == 0) == (after == 0))
		return;
	r->names_fn(r->names_ctx, name, after > 0);
}

int router_bind_name(struct router_comp *c, const char *name, int multi, int by_from)
{
	struct router_route *route = xhash_get(c->r->routes, name);

	if (route == NULL) {
		route = xcalloc(1, sizeof(*route));
		route->name = xstrdup(name);
		xhash_put(c->r->routes, name, route);
	} else if (xhash_get(c->names, name) != NULL) {
		return 0;
	} else if (!multi) {
		return -1;
	}
	route->by_from = by_from;
	if (route->n == route->cap) {
		route->cap = route->cap ? 2 * route->cap : 2;
		route->members = xrealloc(route->members, route->cap * sizeof(*route->members));
	}
	route->members[route->n++] = c;
	xhash_put(c->names, name, route);
	names_notify(c->r, c, name, comp_holders(c->r, route) - (c != c->r->module_comp),
		     comp_holders(c->r, route));
	return 0;
}

int router_unbind_name(struct router_comp *c, const char *name)
{
	struct router *r = c->r;
	struct router_route *route = xhash_get(c->names, name);
	unsigned i;

	if (route == NULL)
		return -1;
	for (i = 0; i < route->n && route->members[i] != c; i++)
		;
	/* The leaver's place goes to the last member (jabberd2's order). */
	if (i < route->n)
		route->members[i] = route->members[--route->n];
	xhash_remove(c->names, name);
	if (r->default_comp == c && strcmp(r->default_name, name) == 0) {
		free(r->default_name);
		r->default_name = NULL;
		r->default_comp = NULL;
	}
	if (xhash_get(r->log_sinks, name) == c)
		xhash_remove(r->log_sinks, name);
	names_notify(r, c, route->name, comp_holders(r, route) + (c != r->module_comp),
		     comp_holders(r, route));
	if (route->n > 0)
		return 0;
	xhash_remove(r->routes, route->name);
	router_redirect_drop_name(r, route->name);
	router_advertise(r, route->name, c, 1);
	free(route->name);
	free(route->members);
	free(route);
	return 0;
}

struct router_comp *router_pick(const struct router_route *route, const struct nad *nad)
{
	int payload = nad_child(nad, 0, NULL, NULL);
	const char *key = NULL, *error;
	unsigned char md[HASH_SHA1_LEN];
	uint32_t w[5];
	struct jid *jid;
	unsigned idx;

	if (route->n == 1)
		return route->members[0];
	if (payload != NAD_NONE) {
		key = nad_attr(nad, payload, NULL, route->by_from ? "from" : "to");
		if (key == NULL && !route->by_from)
			key = nad_attr(nad, payload, NULL, "target");
	}
	jid = key != NULL ? jid_new(key, strlen(key), &error) : NULL;
	if (jid != NULL && jid_node(jid)[0] != '\0' &&
	    hash_sha1(jid_bare(jid), strlen(jid_bare(jid)), md) == 0) {
		/* Five host-order words; jabberd2's loop leaves (w1^w2^w3)>>2. */
		memcpy(w, md, sizeof(w));
		idx = ((w[1] ^ w[2] ^ w[3]) >> 2) % route->n;
	} else {
		idx = (unsigned)random() % route->n;
	}
	jid_free(&jid);
	return route->members[idx];
}

/* ---- bind / unbind ---- */

static void reply(struct router_comp *c, struct nad *nad, int code, int keep_name)
{
	if (!keep_name)
		nad_attr_set(nad, 0, NULL, "name", NULL);
	if (code != 0)
		set_error(nad, code);
	router_deliver(c, nad);
}

/* The bind checks, in jabberd2's order; 0 when allowed. */
static int bind_check(struct router_comp *c, const char *name, int multi,
		      int want_default, int want_log)
{
	struct router *r = c->r;

	if ((c->user == NULL || strcmp(name, c->user) != 0) &&
	    !router_acl_check(r, ROUTER_ACL_BIND, c->user))
		return 403;
	if (xhash_get(r->routes, name) != NULL && !multi)
		return 409;
	if (xhash_get(r->aliases, name) != NULL)
		return 409;
	if (want_default) {
		if (!router_acl_check(r, ROUTER_ACL_DEFAULT_ROUTE, c->user))
			return 403;
		if (r->default_comp != NULL)
			return 409;
	}
	if (want_log && !router_acl_check(r, ROUTER_ACL_LOG, c->user))
		return 403;
	return 0;
}

void router_bind(struct router_comp *c, struct nad *nad)
{
	struct router *r = c->r;
	char name[JID_PART_MAX + 1];
	int multi = nad_attr(nad, 0, NULL, "multi") != NULL;
	int want_default = nad_child(nad, 0, NULL, "default") != NAD_NONE;
	int want_log = nad_child(nad, 0, NULL, "log") != NAD_NONE;
	int code;

	if (attr_domain(nad, 0, "name", name, sizeof(name)) < 0) {
		reply(c, nad, 400, 1);
		return;
	}
	code = bind_check(c, name, multi, want_default, want_log);
	if (code != 0) {
		log_notice("router: %s: bind %s refused (%d)", c->user, name, code);
		reply(c, nad, code, 0);
		return;
	}
	router_bind_name(c, name, multi, 0);
	if (want_default) {
		r->default_name = xstrdup(name);
		r->default_comp = c;
	}
	if (want_log)
		xhash_put(r->log_sinks, name, c);
	log_info("router: %s bound %s%s%s%s", c->user, name, multi ? " (multi)" : "",
		 want_default ? " (default route)" : "", want_log ? " (log sink)" : "");
	reply(c, nad, 0, 0);
	router_advertise(r, name, c, 0);
	advertise_all_to(r, c);
}

void router_unbind(struct router_comp *c, struct nad *nad)
{
	char name[JID_PART_MAX + 1];

	if (attr_domain(nad, 0, "name", name, sizeof(name)) < 0) {
		reply(c, nad, 400, 1);
		return;
	}
	if (router_unbind_name(c, name) < 0) {
		reply(c, nad, 404, 0);
		return;
	}
	log_info("router: %s unbound %s", c->user, name);
	reply(c, nad, 0, 0);
}

int router_legacy_bind(struct router_comp *c, const char *name)
{
	if (xhash_get(c->r->aliases, name) != NULL)
		return -1;
	router_bind_name(c, name, 1, 1);
	router_advertise(c->r, name, c, 0);
	return 0;
}

/* ---- routing ---- */

static void log_sinks_copy(struct router *r, const struct nad *nad)
{
	struct xhash_iter it;
	const char *name;
	void *sink;

	xhash_iter_init(r->log_sinks, &it);
	while (xhash_iter_next(&it, &name, &sink)) {
		struct nad *copy = nad_copy(nad);

		nad_attr_set(copy, 0, NULL, "type", "log");
		router_deliver(sink, copy);
	}
}

static int route_has_member(const struct router_route *route, const struct router_comp *c)
{
	if (route == NULL || c == NULL)
		return 0;
	for (unsigned i = 0; i < route->n; i++)
		if (route->members[i] == c)
			return 1;
	return 0;
}

/* Unicast routing proper; `to` is the route's to domain, or NULL to
 * read it here. 0 if delivered, else the code it was bounced with (-1:
 * dropped, it would have gone back to the module that injected it). */
static int route_unicast(struct router *r, struct router_comp *sender, struct nad *nad,
			  const char *to_domain)
{
	char to[JID_PART_MAX + 1];
	struct router_route *route;
	struct router_comp *to_comp;
	int code;

	if (r->filter != NULL) {
		if ((code = router_filter_check(r->filter, nad)) != 0) {
			router_bounce(sender, nad, code);
			return code;
		}
		to_domain = NULL;       /* a redirect may have changed it */
	}
	if (to_domain != NULL)
		snprintf(to, sizeof(to), "%s", to_domain);
	else if (attr_domain(nad, 0, "to", to, sizeof(to)) < 0) {
		router_bounce(sender, nad, 400);
		return 400;
	}
	route = router_lookup(r, to);
	/* Only a name the module holds can be redirected (a bound name is
	 * never an alias: conn.c and module.c refuse it), so routes to
	 * other components (c2s -> sm -> c2s) skip the redirect table and
	 * router_holds()'s two hash lookups. */
	if (route_has_member(route, r->module_comp)) {
		struct router_route *redirect = router_redirect_lookup(r, sender, to, nad);

		if (redirect != NULL)
			route = redirect;
	}
	if (route == NULL) {
		if (r->default_comp == NULL || r->default_comp == sender) {
			router_bounce(sender, nad, 404);
			return 404;
		}
		route = router_lookup(r, r->default_name);
	}
	to_comp = router_pick(route, nad);
	if (sender == NULL && to_comp == r->module_comp && to_comp != NULL) {
		nad_free(&nad);
		return -1;
	}
	if (xhash_count(r->log_sinks) > 0)
		log_sinks_copy(r, nad);
	if (r->msglog != NULL)
		router_msglog_route(r->msglog, nad);
	r->routed++;
	router_deliver(to_comp, nad);
	return 0;
}

int router_route_unicast(struct router *r, struct router_comp *sender, struct nad *nad)
{
	return route_unicast(r, sender, nad, NULL);
}

static void route_broadcast(struct router_comp *sender, struct nad *nad)
{
	struct router_comp *c;

	LIST_FOREACH(c, &sender->r->comps, struct router_comp, link)
		if (c != sender)
			router_deliver(c, nad_copy(nad));
	nad_free(&nad);
}

void router_route(struct router_comp *c, struct nad *nad)
{
	struct router *r = c->r;
	char from[JID_PART_MAX + 1], to[JID_PART_MAX + 1];
	const char *type;

	if (r->module != NULL && router_module_route(r, c, nad))
		return;
	if (nad_attr(nad, 0, NULL, "error") != NULL) {
		nad_free(&nad);
		return;
	}
	type = nad_attr(nad, 0, NULL, "type");
	if (type != NULL && strcmp(type, "broadcast") != 0) {
		nad_free(&nad);
		return;
	}
	if (attr_domain(nad, 0, "from", from, sizeof(from)) < 0 ||
	    (type == NULL && attr_domain(nad, 0, "to", to, sizeof(to)) < 0)) {
		router_bounce(c, nad, 400);
		return;
	}
	if (!router_holds(r, c, from)) {
		router_bounce(c, nad, 401);
		return;
	}
	if (type != NULL)
		route_broadcast(c, nad);
	else
		route_unicast(r, c, nad, to);
}

void router_throttle(struct router_comp *c, struct nad *nad)
{
	size_t n;
	struct nad **q;

	if (!c->throttled) {
		c->throttled = 1;
		comp_send(c, nad);
		return;
	}
	c->throttled = 0;
	comp_send(c, nad);
	/* Flush in order; take the queue first, as sending may queue again
	 * if the component throttles from inside a send (tests do). */
	q = c->queue;
	n = c->nqueue;
	c->queue = NULL;
	c->nqueue = c->queue_cap = 0;
	for (size_t i = 0; i < n; i++)
		router_deliver(c, q[i]);
	free(q);
}

void router_legacy_stanza(struct router_comp *c, struct nad *nad)
{
	char to[JID_PART_MAX + 1], from[JID_PART_MAX + 1];
	struct nad *route;
	int root;

	if (attr_domain(nad, 0, "to", to, sizeof(to)) < 0 ||
	    attr_domain(nad, 0, "from", from, sizeof(from)) < 0) {
		nad_free(&nad);
		return;
	}
	nad_elem_set_ns(nad, 0, "jabber:client");
	route = nad_new();
	root = nad_elem_add(route, NAD_NONE, ROUTER_NS_COMP, "route");
	nad_attr_set(route, root, NULL, "to", to);
	nad_attr_set(route, root, NULL, "from", from);
	nad_graft(route, root, nad, 0);
	nad_free(&nad);
	router_route(c, route);
}

void router_comp_element(struct router_comp *c, struct nad *nad)
{
	const char *ns = nad_ns(nad, 0), *name = nad_name(nad, 0);

	if (ns == NULL || strcmp(ns, ROUTER_NS_COMP) != 0) {
		nad_free(&nad);
		return;
	}
	if (strcmp(name, "route") == 0)
		router_route(c, nad);
	else if (strcmp(name, "bind") == 0)
		router_bind(c, nad);
	else if (strcmp(name, "unbind") == 0)
		router_unbind(c, nad);
	else if (strcmp(name, "throttle") == 0)
		router_throttle(c, nad);
	else
		nad_free(&nad);
}

/* ---- redirects ---- */

static void redirect_free(void *val)
{
	struct router_redirect *e = val;

	list_remove(&e->lru);
	free(e->jid);
	free(e->name);
	free(e);
}

/*
 * Whose route is it? c2s marks its session traffic with the session
 * namespace (sc:c2s on the stanza) and names the user in `from`; a session
 * request names it in `target`. Everything else (s2s, other components) is
 * for the payload's `to`.
 */
static const char *redirect_jid(const struct nad *nad, int payload)
{
	const char *ns = nad_ns(nad, payload);

	if (ns != NULL && strcmp(ns, ROUTER_NS_SESS) == 0 &&
	    strcmp(nad_name(nad, payload), "session") == 0)
		return nad_attr(nad, payload, NULL, "target");
	if (nad_attr(nad, payload, ROUTER_NS_SESS, "c2s") != NULL)
		return nad_attr(nad, payload, NULL, "from");
	return nad_attr(nad, payload, NULL, "to");
}

static struct router_redirect *redirect_find(const struct router *r, const char *s)
{
	struct router_redirect *e = NULL;
	const char *error;
	struct jid *jid;

	if (s == NULL || (jid = jid_new(s, strlen(s), &error)) == NULL)
		return NULL;
	if (jid_resource(jid)[0] != '\0')
		e = xhash_get(r->redirects, jid_full(jid));
	if (e == NULL)
		e = xhash_get(r->redirects, jid_bare(jid));
	jid_free(&jid);
	return e;
}

struct router_route *router_redirect_lookup(struct router *r,
					    const struct router_comp *sender,
					    const char *to, const struct nad *nad)
{
	int payload = nad_child(nad, 0, NULL, NULL);
	struct router_redirect *e;
	struct router_route *route;

	if (sender == NULL || sender == r->module_comp || payload == NAD_NONE ||
	    !router_holds(r, r->module_comp, to))
		return NULL;
	if (r->redirect_single != NULL && xhash_count(r->redirects) > 0 &&
	    (route = router_lookup(r, r->redirect_single)) != NULL && route->n == 1 &&
	    route->members[0] == sender) {
		r->redirect_misses++;   /* any hit would be back to the sender */
		return NULL;
	}
	e = xhash_count(r->redirects) > 0 ? redirect_find(r, redirect_jid(nad, payload)) : NULL;
	route = e != NULL ? router_lookup(r, e->name) : NULL;
	/* Back to its sender would loop (a component re-sending what it
	 * cannot place): the module decides instead. */
	if (route == NULL || (route->n == 1 && route->members[0] == sender)) {
		r->redirect_misses++;
		return NULL;
	}
	e->hits++;
	list_remove(&e->lru);
	list_add_head(&r->redirect_lru, &e->lru);
	r->redirected++;
	return route;
}

int router_redirect_set(struct router *r, const char *jid, const char *name,
			const char **error_r)
{
	struct jid *j = jid_new(jid, strlen(jid), error_r);
	struct router_redirect *e;

	if (j == NULL)
		return -1;
	if (router_lookup(r, name) == NULL) {
		jid_free(&j);
		*error_r = "redirect target is not a bound name";
		return -1;
	}
	if ((e = xhash_get(r->redirects, jid_full(j))) != NULL) {
		free(e->name);
		list_remove(&e->lru);
	} else {
		if (xhash_count(r->redirects) >= r->redirect_max) {
			struct router_redirect *old = LIST_ENTRY(r->redirect_lru.prev,
								 struct router_redirect, lru);

			redirect_free(xhash_remove(r->redirects, old->jid));
		}
		e = xcalloc(1, sizeof(*e));
		e->jid = xstrdup(jid_full(j));
		xhash_put(r->redirects, e->jid, e);
	}
	e->name = xstrdup(name);
	list_add_head(&r->redirect_lru, &e->lru);
	jid_free(&j);
	if (xhash_count(r->redirects) == 1) {
		free(r->redirect_single);
		r->redirect_single = xstrdup(name);
	} else if (r->redirect_single != NULL && strcmp(r->redirect_single, name) != 0) {
		free(r->redirect_single);
		r->redirect_single = NULL;      /* mixed until the table is empty */
	}
	return 0;
}

struct router_redirect *router_redirect_get(const struct router *r, const char *jid)
{
	struct router_redirect *e = NULL;
	const char *error;
	struct jid *j = jid_new(jid, strlen(jid), &error);

	if (j != NULL)
		e = xhash_get(r->redirects, jid_full(j));
	jid_free(&j);
	return e;
}

int router_redirect_clear(struct router *r, const char *jid)
{
	struct router_redirect *e = router_redirect_get(r, jid);

	if (e == NULL)
		return -1;
	redirect_free(xhash_remove(r->redirects, e->jid));
	return 0;
}

void router_redirect_clear_all(struct router *r)
{
	xhash_clear(r->redirects, redirect_free);
}

void router_redirect_drop_name(struct router *r, const char *name)
{
	struct xhash_iter it;
	const char *key;
	void *val;

	if (xhash_count(r->redirects) == 0)
		return;
	xhash_iter_init(r->redirects, &it);
	while (xhash_iter_next(&it, &key, &val))
		if (strcmp(((struct router_redirect *)val)->name, name) == 0)
			redirect_free(xhash_iter_remove(&it));
}

/* ---- error codes ---- */

int router_error_code(const char *condition)
{
	static const struct {
		const char *name;
		int code;
	} codes[] = {
		{ "gone", 302 }, { "redirect", 302 },
		{ "bad-request", 400 }, { "jid-malformed", 400 },
		{ "unexpected-request", 400 },
		{ "payment-required", 402 },
		{ "forbidden", 403 },
		{ "item-not-found", 404 }, { "recipient-unavailable", 404 },
		{ "remote-server-not-found", 404 },
		{ "not-allowed", 405 },
		{ "not-acceptable", 406 },
		{ "registration-required", 407 }, { "subscription-required", 407 },
		{ "conflict", 409 },
		{ "internal-server-error", 500 }, { "resource-constraint", 500 },
		{ "undefined-condition", 500 },
		{ "feature-not-implemented", 501 },
		{ "remote-server-timeout", 502 },
		{ "service-unavailable", 503 },
	};

	for (size_t i = 0; condition != NULL && i < sizeof(codes) / sizeof(codes[0]); i++)
		if (strcmp(condition, codes[i].name) == 0)
			return codes[i].code;
	return 405;
}
