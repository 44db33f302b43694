/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for router/module.c: a module shared object (module_test_so.c)
 * is loaded with dlopen, a wrong ABI number and a missing file are refused,
 * the module's route hook takes routes before normal routing, names it
 * binds for remote nodes are advertised and routed to it, it can deliver
 * to local components, and its timers run on the router's loop; its stop
 * and hup hooks run, config accessors give attributes and subtrees, the
 * stats and back-pressure calls answer, nested module calls are
 * bounded, and the module's metrics renderer goes with the module.
 */
#include "config.h"
#include "router/router.h"

#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mio/mio.h"
#include "router/router_module.h"
#include "router/tests/router_test.h"
#include "util/config_file.h"
#include "util/nad.h"

#define NS " xmlns='" COMP_NS "'"
#define MSG "<message xmlns='jabber:client' from='a@sm' to='b@remote.example'/>"

static void counts(int *taken, int *delivered, int *ticks, int *freed)
{
	void *dl = dlopen(ROUTER_TEST_MODULE, RTLD_NOW | RTLD_NOLOAD);
	void (*fn)(int *, int *, int *, int *);

	assert_non_null(dl);
	*(void **)&fn = dlsym(dl, "module_test_counts");
	assert_non_null(fn);
	fn(taken, delivered, ticks, freed);
	dlclose(dl);
}

static void hooks(int *stops, int *hups)
{
	void *dl = dlopen(ROUTER_TEST_MODULE, RTLD_NOW | RTLD_NOLOAD);
	void (*fn)(int *, int *);

	assert_non_null(dl);
	*(void **)&fn = dlsym(dl, "module_test_hooks");
	assert_non_null(fn);
	fn(stops, hups);
	dlclose(dl);
}

static void test_refused(void **state)
{
	struct router *r = router_new();
	const char *error = NULL;

	(void)state;
	assert_int_equal(router_module_load(r, "/nonexistent/mod.so", &error), -1);
	assert_non_null(strstr(error, "/nonexistent/mod.so"));
	assert_int_equal(router_module_load(r, ROUTER_TEST_MODULE_BADABI, &error), -1);
	assert_non_null(strstr(error, "ABI"));
	/* A failing init: its reason (a string inside the module) is read
	 * after the module is unloaded, so the loader must have copied it. */
	assert_int_equal(router_module_load(r, ROUTER_TEST_MODULE_TLS, &error), -1);
	assert_non_null(strstr(error, "init failed: test module: no <listen port=...>"));
	assert_null(r->module);
	assert_null(r->module_comp);
	router_free(&r);
}

static void stop_loop(struct mio_timer *t, void *ctx)
{
	(void)t;
	mio_stop(ctx);
}

static void test_hooks(void **state)
{
	struct router *r = router_new();
	struct rt *sm = rt_new(r, "sm", 0);
	const char *error = NULL;
	int taken, delivered, ticks, freed;
	struct mio_timer *stop;

	(void)state;
	r->mio = mio_new(&error);
	assert_non_null(r->mio);
	rt_feed(sm, "<bind" NS " name='sm'/>");
	rt_clear(sm);
	assert_int_equal(router_module_load(r, ROUTER_TEST_MODULE, &error), 0);
	assert_non_null(r->module);
	/* The name the module bound for a remote node is advertised. */
	rt_expect(sm, "<presence" NS " from='remote.example'/>");
	rt_expect_none(sm);
	/* Routes for it reach the module, whose reply reaches sm. */
	rt_feed(sm, "<route" NS " to='remote.example' from='sm'>" MSG "</route>");
	rt_expect(sm, "<route" NS " to='sm' from='remote.example'>" MSG "</route>");
	counts(&taken, &delivered, &ticks, &freed);
	assert_int_equal(delivered, 1);
	/* The hook takes what it wants before any check (sm never bound
	 * `nobody`, which would be a 401 otherwise). */
	rt_feed(sm, "<route" NS " to='intercept.example' from='nobody'/>");
	rt_expect_none(sm);
	counts(&taken, &delivered, &ticks, &freed);
	assert_int_equal(taken, 1);
	/* Everything else is routed as usual. */
	rt_feed(sm, "<route" NS " to='nowhere.example' from='sm'/>");
	rt_expect(sm, "<route" NS " to='nowhere.example' from='sm' error='404'/>");
	/* Timers run on the loop. */
	stop = mio_timer_new(r->mio, stop_loop, r->mio);
	mio_timer_start(stop, 200, 0);
	assert_int_equal(mio_run(r->mio, &error), 0);
	mio_timer_free(&stop);
	counts(&taken, &delivered, &ticks, &freed);
	assert_true(ticks >= 3);
	/* Unloading: the module is freed, its names go away. */
	router_module_unload(r);
	assert_null(r->module);
	rt_expect(sm, "<presence" NS " from='remote.example' type='unavailable'/>");
	rt_free(&sm);
	mio_free(&r->mio);
	router_free(&r);
}

static char names_seen[256];

static void names_cb(void *ctx, const char *name, int bound)
{
	size_t len = strlen(names_seen);

	(void)ctx;
	snprintf(names_seen + len, sizeof(names_seen) - len, "%s%s ", bound ? "+" : "-", name);
}

static void metrics_cb(void *ctx, struct buf *out)
{
	(void)ctx, (void)out;
}

/* router_mod_metrics(): the router keeps the module's renderer until the
 * module is unloaded; after that, rendering the metrics must not call
 * into the unloaded object. */
static void test_metrics_hook(void **state)
{
	struct router *r = router_new();
	const char *error = NULL;
	int ctx;

	(void)state;
	assert_null(r->metrics_fn);
	assert_int_equal(router_module_load(r, ROUTER_TEST_MODULE, &error), 0);
	router_mod_metrics(r, metrics_cb, &ctx);
	assert_ptr_equal(r->metrics_fn, metrics_cb);
	assert_ptr_equal(r->metrics_ctx, &ctx);
	router_module_unload(r);
	assert_null(r->metrics_fn);
	router_free(&r);
}

/* router_mod_names_watch(): the first component's bind and the last
 * one's unbind of a name are told, once for a multi name, never the
 * module's own binds; a closed stream unbinds. */
static void test_names_watch(void **state)
{
	struct router *r = router_new();
	struct rt *muc = rt_new(r, "muc", 0), *a = rt_new(r, "a", 0), *b = rt_new(r, "b", 0);
	const char *error = NULL;

	(void)state;
	router_acl_add(r, ROUTER_ACL_BIND, "muc");
	router_acl_add(r, ROUTER_ACL_BIND, "a");
	router_acl_add(r, ROUTER_ACL_BIND, "b");
	assert_int_equal(router_module_load(r, ROUTER_TEST_MODULE, &error), 0);
	names_seen[0] = '\0';
	router_mod_names_watch(r, names_cb, NULL);
	rt_feed(muc, "<bind" NS " name='conference.example'/>");
	assert_int_equal(router_mod_bind(r, "gateway.example", 0, &error), 0);
	rt_feed(a, "<bind" NS " name='pubsub.example' multi='1'/>");
	rt_feed(b, "<bind" NS " name='pubsub.example' multi='1'/>");
	/* The module joins a multi name: not a component's bind. */
	assert_int_equal(router_mod_bind(r, "pubsub.example", 1, &error), 0);
	assert_string_equal(names_seen, "+conference.example +pubsub.example ");
	rt_feed(a, "<unbind" NS " name='pubsub.example'/>");
	assert_int_equal(router_mod_unbind(r, "gateway.example"), 0);
	assert_string_equal(names_seen, "+conference.example +pubsub.example ");
	rt_feed(b, "<unbind" NS " name='pubsub.example'/>");
	/* The module still holds it, but no component does. */
	assert_string_equal(names_seen, "+conference.example +pubsub.example -pubsub.example ");
	rt_free(&muc);
	assert_string_equal(names_seen, "+conference.example +pubsub.example -pubsub.example "
			    "-conference.example ");
	/* Unloading ends the watch. */
	router_module_unload(r);
	rt_feed(a, "<bind" NS " name='late.example'/>");
	assert_string_equal(names_seen, "+conference.example +pubsub.example -pubsub.example "
			    "-conference.example ");
	rt_free(&a);
	rt_free(&b);
	router_free(&r);
}

static int stopped_calls;

static void on_stopped(void *ctx)
{
	(void)ctx;
	stopped_calls++;
}

static int congested_sm(const struct router_comp *c)
{
	return strcmp(c->user, "sm") == 0;
}

/* stop/hup, stats, back-pressure, config accessors, the nesting bound. */
static void test_abi2_calls(void **state)
{
	static const char xml[] =
		"<router><cluster><peer host='a'/><peer host='b'><port>7</port></peer>"
		"</cluster></router>";
	struct router *r = router_new();
	struct rt *sm = rt_new(r, "sm", 0), *c2s = rt_new(r, "c2s", 0);
	const struct config_node *peer;
	struct router_mod_stats st;
	struct config *cfg;
	const char *error = NULL;
	int stops, hups;

	(void)state;
	cfg = config_load_mem("router.xml", xml, sizeof(xml) - 1, NULL, &error);
	assert_non_null(cfg);
	r->cfg = cfg;
	r->module_stopped = on_stopped;
	r->congested = congested_sm;
	rt_feed(sm, "<bind" NS " name='sm'/>");
	rt_feed(c2s, "<bind" NS " name='c2s'/>");
	assert_int_equal(router_module_load(r, ROUTER_TEST_MODULE, &error), 0);
	rt_clear(sm);
	rt_clear(c2s);
	/* SIGTERM and SIGHUP reach the module; it said it was done. */
	stopped_calls = 0;
	assert_int_equal(router_module_stop(r), 1);
	router_module_hup(r);
	hooks(&stops, &hups);
	assert_int_equal(stops, 1);
	assert_int_equal(hups, 1);
	assert_int_equal(stopped_calls, 1);
	/* Config: counts, attributes, subtrees. */
	assert_int_equal(router_mod_config_count(r, "cluster.peer"), 2);
	assert_string_equal(router_mod_config_attr(r, "cluster.peer", 1, "host"), "b");
	peer = router_mod_config_node(r, "cluster.peer", 1);
	assert_non_null(peer);
	assert_string_equal(config_node_value(config_node_child(peer, "port")), "7");
	assert_ptr_equal(router_mod_config_tree(r), cfg);
	/* Back-pressure: sm's output is over the mark, c2s's is not until
	 * it throttles; unknown names are -1. */
	assert_int_equal(router_mod_congested(r, "sm"), 1);
	assert_int_equal(router_mod_congested(r, "c2s"), 0);
	rt_feed(c2s, "<throttle" NS "/>");
	rt_clear(c2s);
	assert_int_equal(router_mod_congested(r, "c2s"), 1);
	assert_int_equal(router_mod_congested(r, "nobody"), -1);
	/* The module's injections: delivered (0), or refused with a reason. */
	assert_int_equal(router_mod_route(r, rt_parse("<route" NS " to='sm' from='remote.example'>"
						      MSG "</route>"), &error), 0);
	rt_expect(sm, "<route" NS " to='sm' from='remote.example'>" MSG "</route>");
	assert_int_equal(router_mod_route(r, rt_parse("<route" NS " to='remote.example'"
						      " from='x'/>"), &error), -1);
	assert_non_null(strstr(error, "loop"));
	r->module_depth = ROUTER_MOD_MAX_DEPTH + 1;
	assert_int_equal(router_mod_route(r, rt_parse("<route" NS " to='sm' from='x'/>"),
					  &error), -1);
	assert_non_null(strstr(error, "nested"));
	r->module_depth = 0;
	rt_expect_none(sm);
	router_mod_stats(r, &st);
	assert_int_equal(st.routed, 1);
	assert_int_equal(st.redirects, 0);
	rt_free(&sm);
	rt_free(&c2s);
	router_free(&r);
	config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_hooks),
		cmocka_unit_test(test_abi2_calls),
		cmocka_unit_test(test_names_watch),
		cmocka_unit_test(test_metrics_hook),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
