/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * module.c: loading the router module named in router.xml <module> and
 * the calls it may make back into the router (router/router_module.h).
 * The module is one dlopen()ed object with a `router_module` descriptor;
 * names it binds are held by a stand-in component whose send function is
 * the module's deliver().
 */
#include "config.h"
#include "router/router_module.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mio/mio.h"
#include "router/router.h"
#include "util/buf.h"
#include "util/config_file.h"
#include "util/jid.h"
#include "util/log.h"
#include "util/nad.h"
#include "util/xhash.h"

struct router_module_inst {
	void *dl;
	const struct router_module *desc;
	void *state;
	struct router_comp *comp;       /* holds the names the module binds */
};

struct router_mod_timer {
	struct mio_timer *timer;
	void (*cb)(void *ctx);
	void *ctx;
};

static void module_send(struct router_comp *comp, struct nad *nad)
{
	struct router_module_inst *m = comp->owner;
	struct router *r = comp->r;

	if (m->desc->deliver == NULL) {
		nad_free(&nad);
		return;
	}
	r->module_depth++;
	m->desc->deliver(m->state, nad);
	r->module_depth--;
}

int router_module_load(struct router *r, const char *path, const char **error_r)
{
	static char err[512];
	struct router_module_inst *m;
	const struct router_module *desc;
	void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);

	if (dl == NULL) {
		snprintf(err, sizeof(err), "module %s: %s", path, dlerror());
		*error_r = err;
		return -1;
	}
	desc = dlsym(dl, "router_module");
	if (desc == NULL || desc->abi != ROUTER_MODULE_ABI || desc->name == NULL ||
	    desc->init == NULL) {
		snprintf(err, sizeof(err), "module %s: %s", path,
			 desc == NULL ? "no router_module descriptor" :
			 desc->abi != ROUTER_MODULE_ABI ? "ABI version mismatch" :
			 "descriptor without name or init");
		dlclose(dl);
		*error_r = err;
		return -1;
	}
	m = xcalloc(1, sizeof(*m));
	m->dl = dl;
	m->desc = desc;
	m->comp = router_comp_new(r, desc->name, 0, module_send, m);
	r->module = m;
	r->module_comp = m->comp;
	if (desc->init(r, &m->state, error_r) < 0) {
		/* The reason may live in the module: copy it before dlclose. */
		snprintf(err, sizeof(err), "module %s: init failed: %s", path, *error_r);
		*error_r = err;
		router_comp_free(&m->comp);
		r->module = NULL;
		r->module_comp = NULL;
		dlclose(dl);
		free(m);
		return -1;
	}
	log_info("router: module %s loaded from %s", desc->name, path);
	return 0;
}

void router_module_unload(struct router *r)
{
	struct router_module_inst *m = r->module;

	if (m == NULL)
		return;
	r->module = NULL;
	r->module_comp = NULL;
	r->names_fn = NULL;
	r->metrics_fn = NULL;
	router_redirect_clear_all(r);
	router_comp_free(&m->comp);
	if (m->desc->free != NULL)
		m->desc->free(m->state);
	dlclose(m->dl);
	free(m);
}

int router_module_route(struct router *r, struct router_comp *sender, struct nad *nad)
{
	struct router_module_inst *m = r->module;

	int rc;

	if (m->desc->route == NULL || sender == m->comp)
		return 0;
	r->module_depth++;
	rc = m->desc->route(m->state, sender->user, nad) == ROUTER_MOD_HANDLED;
	r->module_depth--;
	return rc;
}

int router_module_stop(struct router *r)
{
	struct router_module_inst *m = r->module;

	if (m == NULL || m->desc->stop == NULL)
		return 0;
	return m->desc->stop(m->state) == ROUTER_MOD_DRAINING;
}

void router_module_hup(struct router *r)
{
	struct router_module_inst *m = r->module;

	if (m != NULL && m->desc->hup != NULL)
		m->desc->hup(m->state);
}

/* ---- the calls a module makes ---- */

int router_mod_bind(struct router *r, const char *name, int multi, const char **error_r)
{
	struct router_comp *c = r->module->comp;

	if (xhash_get(r->aliases, name) != NULL) {
		*error_r = "name is an alias";
		return -1;
	}
	if (router_bind_name(c, name, multi, 0) < 0) {
		*error_r = "name already bound";
		return -1;
	}
	router_advertise(r, name, c, 0);
	return 0;
}

void router_mod_names_watch(struct router *r,
			    void (*fn)(void *ctx, const char *name, int bound), void *ctx)
{
	r->names_fn = fn;
	r->names_ctx = ctx;
}

void router_mod_metrics(struct router *r, void (*fn)(void *ctx, struct buf *out), void *ctx)
{
	r->metrics_fn = fn;
	r->metrics_ctx = ctx;
}

int router_mod_unbind(struct router *r, const char *name)
{
	return router_unbind_name(r->module->comp, name);
}

int router_mod_route(struct router *r, struct nad *nad, const char **error_r)
{
	const char *type = nad_attr(nad, 0, NULL, "type"), *error = NULL;
	struct router_comp *c;
	int code;

	if (r->module_depth > ROUTER_MOD_MAX_DEPTH) {
		nad_free(&nad);
		error = "loop: module calls nested too deep";
	} else if (type == NULL) {
		r->module_depth++;
		code = router_route_unicast(r, NULL, nad);
		r->module_depth--;
		error = code == 0 ? NULL : code == -1 ? "loop: route to the module itself" :
			code == 404 ? "no such name" : "undeliverable route";
	} else if (strcmp(type, "broadcast") == 0) {
		LIST_FOREACH(c, &r->comps, struct router_comp, link)
			if (c != r->module_comp)
				router_deliver(c, nad_copy(nad));
		nad_free(&nad);
	} else {
		nad_free(&nad);
		error = "unknown route type";
	}
	if (error_r != NULL)
		*error_r = error;
	return error == NULL ? 0 : -1;
}

int router_mod_congested(struct router *r, const char *name)
{
	struct router_route *route = router_lookup(r, name);
	struct router_comp *c;

	if (route == NULL || route->n == 0)
		return -1;
	/* Congested when every holder is: a route goes to one of them. */
	for (unsigned i = 0; i < route->n; i++) {
		c = route->members[i];
		if (c == r->module_comp ||
		    (!c->throttled && (r->congested == NULL || !r->congested(c))))
			return 0;
	}
	return 1;
}

int router_mod_redirect_set(struct router *r, const char *jid, const char *name,
			    const char **error_r)
{
	return router_redirect_set(r, jid, name, error_r);
}

int router_mod_redirect_clear(struct router *r, const char *jid)
{
	return router_redirect_clear(r, jid);
}

void router_mod_redirect_clear_all(struct router *r)
{
	router_redirect_clear_all(r);
}

int router_mod_redirect_hits(struct router *r, const char *jid, uint64_t *hits_r)
{
	const struct router_redirect *e = router_redirect_get(r, jid);

	if (e == NULL)
		return -1;
	*hits_r = e->hits;
	return 0;
}

void router_mod_stats(struct router *r, struct router_mod_stats *st)
{
	st->routed = r->routed;
	st->bounced = r->bounced;
	st->redirect_hits = r->redirected;
	st->redirect_misses = r->redirect_misses;
	st->redirects = xhash_count(r->redirects);
}

void router_mod_stopped(struct router *r)
{
	if (r->module_stopped != NULL)
		r->module_stopped(r->module_stopped_ctx);
}

struct mio *router_mod_mio(struct router *r)
{
	return r->mio;
}

const char *router_mod_config(struct router *r, const char *key, int n)
{
	return r->cfg != NULL ? config_get_n(r->cfg, key, n) : NULL;
}

int router_mod_config_count(struct router *r, const char *key)
{
	return r->cfg != NULL ? config_count(r->cfg, key) : 0;
}

const char *router_mod_config_attr(struct router *r, const char *key, int n,
				   const char *attr)
{
	return r->cfg != NULL ? config_attr(r->cfg, key, n, attr) : NULL;
}

const struct config_node *router_mod_config_node(struct router *r, const char *key, int n)
{
	return r->cfg != NULL ? config_node(r->cfg, key, n) : NULL;
}

const struct config *router_mod_config_tree(struct router *r)
{
	return r->cfg;
}

static void mod_timer_fire(struct mio_timer *timer, void *ctx)
{
	struct router_mod_timer *t = ctx;

	t->cb(t->ctx);
}

struct router_mod_timer *router_mod_timer_new(struct router *r,
					      void (*cb)(void *ctx), void *ctx)
{
	struct router_mod_timer *t;

	if (r->mio == NULL)
		return NULL;
	t = xcalloc(1, sizeof(*t));
	t->cb = cb;
	t->ctx = ctx;
	t->timer = mio_timer_new(r->mio, mod_timer_fire, t);
	return t;
}

void router_mod_timer_start(struct router_mod_timer *t, unsigned ms, int periodic)
{
	mio_timer_start(t->timer, ms, periodic);
}

void router_mod_timer_stop(struct router_mod_timer *t)
{
	mio_timer_stop(t->timer);
}

void router_mod_timer_free(struct router_mod_timer **tp)
{
	if (*tp == NULL)
		return;
	mio_timer_free(&(*tp)->timer);
	free(*tp);
	*tp = NULL;
}
