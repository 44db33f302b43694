/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for what cluster-mod/cluster_names.c does with a route a
 * peer carried for a component name (cluster_names_from_peer), with the
 * router and the state table stubbed: handed to the router unchanged
 * while a local component binds the name; once the component has gone
 * (its withdrawal still on the way to the peer) bounced to the local sm
 * with error 503 and `from` = the name, so the sm answers the sender
 * with an error; dropped without <sm>, when it is a bounce already, or
 * when it is not a route to that name.
 */
#include "config.h"
#include "cluster-mod/cluster_names.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluster-mod/cluster_config.h"
#include "cluster-mod/cluster_state.h"
#include "router/router_module.h"
#include "util/nad.h"

/* ---- the router and the state table, stubbed ---- */

static void (*names_fn)(void *ctx, const char *name, int bound);
static void *names_ctx;
static struct nad *routed[4];   /* what router_mod_route() was given */
static int nrouted;
static int timer_token;

void router_mod_names_watch(struct router *r,
			    void (*fn)(void *ctx, const char *name, int bound), void *ctx)
{
	(void)r;
	names_fn = fn;
	names_ctx = ctx;
}

int router_mod_route(struct router *r, struct nad *nad, const char **error_r)
{
	(void)r;
	assert_true(nrouted < 4);
	routed[nrouted++] = nad;
	if (error_r != NULL)
		*error_r = NULL;
	return 0;
}

int router_mod_bind(struct router *r, const char *name, int multi, const char **error_r)
{
	(void)r, (void)name, (void)multi, (void)error_r;
	return 0;
}

int router_mod_unbind(struct router *r, const char *name)
{
	(void)r, (void)name;
	return 0;
}

struct router_mod_timer *router_mod_timer_new(struct router *r, void (*cb)(void *ctx),
					      void *ctx)
{
	(void)r, (void)cb, (void)ctx;
	return (struct router_mod_timer *)&timer_token;
}

void router_mod_timer_start(struct router_mod_timer *t, unsigned ms, int periodic)
{
	(void)t, (void)ms, (void)periodic;
}

void router_mod_timer_free(struct router_mod_timer **tp)
{
	*tp = NULL;
}

int cluster_state_local_name(struct cluster_state *st, const char *name, int bound)
{
	(void)st, (void)name, (void)bound;
	return 0;
}

const char *cluster_state_name_node(const struct cluster_state *st, const char *name)
{
	(void)st, (void)name;
	return "n1";
}

void cluster_state_set_names_watch(struct cluster_state *st, cluster_state_names_fn fn,
				   void *ctx)
{
	(void)st, (void)fn, (void)ctx;
}

/* ---- the tests ---- */

#define GW "gw.example.org"
#define ROUTE "<route xmlns='http://jabberd.jabberstudio.org/ns/component/1.0' " \
	"to='" GW "' from='sm-n1'><message xmlns='jabber:client' " \
	"from='ann@example.org/desk' to='" GW "'><body>hi</body></message></route>"

static char *domains[] = { "example.org" };

struct fixture {
	struct cluster_config cc;
	struct cluster_names *cn;
};

static int noop_send(void *ctx, const char *node, const uint8_t *route, size_t len,
		     const char *name)
{
	(void)ctx, (void)node, (void)route, (void)len, (void)name;
	return 0;
}

static void noop_changed(void *ctx)
{
	(void)ctx;
}

static const struct cluster_names_hooks hooks = { noop_send, noop_changed };

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->cc.node = "n2";
	f->cc.sm = "sm-n2";
	f->cc.domains = domains;
	f->cc.ndomains = 1;
	f->cn = cluster_names_new(NULL, &f->cc, NULL, &hooks, NULL);
	assert_non_null(names_fn);
	nrouted = 0;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	for (int i = 0; i < nrouted; i++)
		nad_free(&routed[i]);
	nrouted = 0;
	cluster_names_free(&f->cn);
	free(f);
	return 0;
}

static int from_peer(struct fixture *f, const char *route)
{
	return cluster_names_from_peer(f->cn, "n1", (const uint8_t *)route, strlen(route), GW);
}

static const char *attr(int i, const char *name)
{
	return nad_attr(routed[i], 0, NULL, name);
}

static void test_bound_here_goes_to_router(void **state)
{
	struct fixture *f = *state;
	struct cluster_names_counters c;

	names_fn(names_ctx, GW, 1);
	assert_int_equal(from_peer(f, ROUTE), 1);
	assert_int_equal(nrouted, 1);
	assert_string_equal(attr(0, "to"), GW);
	assert_string_equal(attr(0, "from"), "sm-n1");
	assert_null(attr(0, "error"));
	cluster_names_counters(f->cn, &c);
	assert_int_equal(c.in, 1);
	assert_int_equal(c.refused + c.dropped, 0);
}

static void test_gone_bounced_to_local_sm(void **state)
{
	struct fixture *f = *state;
	struct cluster_names_counters c;
	int msg;

	names_fn(names_ctx, GW, 1);
	names_fn(names_ctx, GW, 0);     /* the component left */
	assert_int_equal(from_peer(f, ROUTE), 1);
	assert_int_equal(nrouted, 1);
	assert_string_equal(attr(0, "to"), "sm-n2");
	assert_string_equal(attr(0, "from"), GW);
	assert_string_equal(attr(0, "error"), "503");
	/* the stanza as it was, for the sm to answer its sender */
	msg = nad_child(routed[0], 0, NULL, "message");
	assert_true(msg >= 0);
	assert_string_equal(nad_attr(routed[0], msg, NULL, "from"), "ann@example.org/desk");
	cluster_names_counters(f->cn, &c);
	assert_int_equal(c.in, 0);
	assert_int_equal(c.refused, 1);
	assert_int_equal(c.dropped, 0);
}

static void test_gone_without_sm_dropped(void **state)
{
	struct fixture *f = *state;
	struct cluster_names_counters c;

	f->cc.sm = NULL;
	assert_int_equal(from_peer(f, ROUTE), 1);
	assert_int_equal(nrouted, 0);
	cluster_names_counters(f->cn, &c);
	assert_int_equal(c.dropped, 1);
}

static void test_bounce_not_bounced_again(void **state)
{
	struct fixture *f = *state;
	static const char bounced[] =
		"<route xmlns='http://jabberd.jabberstudio.org/ns/component/1.0' to='" GW
		"' from='sm-n1' error='503'><message xmlns='jabber:client' to='" GW
		"'/></route>";

	assert_int_equal(from_peer(f, bounced), 1);
	assert_int_equal(nrouted, 0);
}

static void test_not_a_route_to_the_name_dropped(void **state)
{
	struct fixture *f = *state;
	static const char other[] =
		"<route xmlns='http://jabberd.jabberstudio.org/ns/component/1.0' "
		"to='other.example.org' from='sm-n1'><message xmlns='jabber:client'/></route>";
	struct cluster_names_counters c;

	names_fn(names_ctx, GW, 1);
	assert_int_equal(from_peer(f, other), 1);
	assert_int_equal(from_peer(f, "<route"), 1);
	assert_int_equal(nrouted, 0);
	cluster_names_counters(f->cn, &c);
	assert_int_equal(c.dropped, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bound_here_goes_to_router, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gone_bounced_to_local_sm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gone_without_sm_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounce_not_bounced_again, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_a_route_to_the_name_dropped, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
