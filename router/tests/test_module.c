/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for router/module.c: a module shared object (module_test_so.c)
 * is loaded with dlopen, a wrong ABI number and a missing file are refused,
 * the module's route hook takes routes before normal routing, names it
 * binds for remote nodes are advertised and routed to it, it can deliver
 * to local components, and its timers run on the router's loop.
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
#include "router/tests/router_test.h"

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

static void test_refused(void **state)
{
	struct router *r = router_new();
	const char *error = NULL;

	(void)state;
	assert_int_equal(router_module_load(r, "/nonexistent/mod.so", &error), -1);
	assert_non_null(strstr(error, "/nonexistent/mod.so"));
	assert_int_equal(router_module_load(r, ROUTER_TEST_MODULE_BADABI, &error), -1);
	assert_non_null(strstr(error, "ABI"));
	assert_null(r->module);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_hooks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
