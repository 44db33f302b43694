/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * module_test_so.c: a tiny router module for test_module.c, built as a
 * shared object (and, with ROUTER_TEST_BAD_ABI, as one with a wrong ABI
 * number that the router must refuse). It binds "remote.example" on behalf
 * of a pretend remote node, takes every route addressed to
 * "intercept.example", answers each route it is delivered by sending it
 * back to its sender with to and from swapped, and runs a periodic timer
 * when the router has a loop. test_module.c reads its counters through
 * module_test_counts().
 */
#include "config.h"
#include "router/router_module.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "util/nad.h"

/* Exported for the test; not part of the module interface. */
void module_test_counts(int *taken, int *delivered, int *ticks, int *freed);

static int taken, delivered, ticks, freed;
static struct router *router;
static struct router_mod_timer *timer;

void module_test_counts(int *taken_r, int *delivered_r, int *ticks_r, int *freed_r)
{
	*taken_r = taken;
	*delivered_r = delivered;
	*ticks_r = ticks;
	*freed_r = freed;
}

static void tick(void *ctx)
{
	(void)ctx;
	ticks++;
}

static int test_init(struct router *r, void **state_r, const char **error_r)
{
	router = r;
	taken = delivered = ticks = freed = 0;
	*state_r = &taken;
	if (router_mod_bind(r, "remote.example", 0, error_r) < 0)
		return -1;
	timer = router_mod_timer_new(r, tick, NULL);
	if (timer != NULL)
		router_mod_timer_start(timer, 10, 1);
	return 0;
}

static void test_free(void *state)
{
	(void)state;
	router_mod_timer_free(&timer);
	freed++;
}

static int test_route(void *state, const char *sender, struct nad *nad)
{
	const char *to = nad_attr(nad, 0, NULL, "to");

	(void)state;
	(void)sender;
	if (to == NULL || strcmp(to, "intercept.example") != 0)
		return ROUTER_MOD_PASS;
	taken++;
	nad_free(&nad);
	return ROUTER_MOD_HANDLED;
}

static void test_deliver(void *state, struct nad *nad)
{
	const char *to = nad_attr(nad, 0, NULL, "to");
	const char *from = nad_attr(nad, 0, NULL, "from");
	char *t, *f;

	(void)state;
	delivered++;
	if (strcmp(nad_name(nad, 0), "route") != 0 || to == NULL || from == NULL) {
		nad_free(&nad);
		return;
	}
	/* Echo the route back to where it came from. */
	t = strdup(to);
	f = strdup(from);
	nad_attr_set(nad, 0, NULL, "to", f);
	nad_attr_set(nad, 0, NULL, "from", t);
	free(t);
	free(f);
	router_mod_route(router, nad);
}

const struct router_module router_module = {
	.name = "test",
#ifdef ROUTER_TEST_BAD_ABI
	.abi = ROUTER_MODULE_ABI + 1,
#else
	.abi = ROUTER_MODULE_ABI,
#endif
	.init = test_init,
	.free = test_free,
	.route = test_route,
	.deliver = test_deliver,
};
