/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * module_test_so.c: a tiny router module for test_module.c, built as a
 * shared object (and, with ROUTER_TEST_BAD_ABI, as one with a wrong ABI
 * number that the router must refuse). It binds "remote.example" on behalf
 * of a pretend remote node, takes every route addressed to
 * "intercept.example", answers each route it is delivered by sending it
 * back to its sender with to and from swapped, and runs a periodic timer
 * when the router has a loop. At init it calls one function from each
 * library of the linking contract (router_module.h): util's nad_parse, sx's
 * sx_new/sx_free, mio's mio_timer_new on the router's loop, link's
 * link_set_new/link_set_free; a router that does not export them fails to
 * dlopen it. test_module.c reads its
 * counters through module_test_counts().
 */
#include "config.h"
#include "router/router_module.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "link/link.h"
#include "mio/mio.h"
#include "sx/sx.h"
#include "util/nad.h"

/* Exported for the test; not part of the module interface. */
void module_test_counts(int *taken, int *delivered, int *ticks, int *freed);
void module_test_hooks(int *stops, int *hups);

static int taken, delivered, ticks, freed, stops, hups;
static struct router *router;
static struct router_mod_timer *timer;
static struct mio_timer *mio_timer;

static void sx_element(struct sx *sx, struct nad *nad, void *ctx)
{
	(void)sx;
	(void)ctx;
	nad_free(&nad);
}

static void sx_closed(struct sx *sx, const char *condition, const char *text, void *ctx)
{
	(void)sx;
	(void)condition;
	(void)text;
	(void)ctx;
}

static const struct sx_callbacks sx_cb = {
	.element = sx_element,
	.closed = sx_closed,
};

static void mio_tick(struct mio_timer *t, void *ctx)
{
	(void)t;
	(void)ctx;
}

/* One call into each library the router exports. */
static int use_libraries(struct router *r, const char **error_r)
{
	static const char xml[] = "<probe xmlns='urn:test'/>";
	struct nad *nad = nad_parse(xml, sizeof(xml) - 1, 0, error_r, NULL);
	struct link_set *links;
	struct sx *sx;

	if (nad == NULL)
		return -1;
	if (strcmp(nad_name(nad, 0), "probe") != 0) {
		nad_free(&nad);
		*error_r = "nad_parse gave the wrong element";
		return -1;
	}
	nad_free(&nad);
	sx = sx_new(SX_SERVER, NULL, &sx_cb, NULL);
	if (sx == NULL) {
		*error_r = "sx_new failed";
		return -1;
	}
	sx_free(&sx);
	if (router_mod_mio(r) != NULL)
		mio_timer = mio_timer_new(router_mod_mio(r), mio_tick, NULL);
	links = link_set_new(NULL, NULL);
	if (link_set_count(links) != 0) {
		*error_r = "link_set_new gave a set that is not empty";
		link_set_free(&links);
		return -1;
	}
	link_set_free(&links);
	return 0;
}

void module_test_counts(int *taken_r, int *delivered_r, int *ticks_r, int *freed_r)
{
	*taken_r = taken;
	*delivered_r = delivered;
	*ticks_r = ticks;
	*freed_r = freed;
}

void module_test_hooks(int *stops_r, int *hups_r)
{
	*stops_r = stops;
	*hups_r = hups;
}

/* Drains at once: says it is done from inside stop(). */
static int test_stop(void *state)
{
	(void)state;
	stops++;
	router_mod_stopped(router);
	return ROUTER_MOD_DRAINING;
}

static void test_hup(void *state)
{
	(void)state;
	hups++;
}

static void tick(void *ctx)
{
	(void)ctx;
	ticks++;
}

static int test_init(struct router *r, void **state_r, const char **error_r)
{
	router = r;
	taken = delivered = ticks = freed = stops = hups = 0;
	*state_r = &taken;
	if (use_libraries(r, error_r) < 0 ||
	    router_mod_bind(r, "remote.example", 0, error_r) < 0)
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
	mio_timer_free(&mio_timer);
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
	router_mod_route(router, nad, NULL);
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
	.stop = test_stop,
	.hup = test_hup,
};
