/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * relay_module_so.c: a router module for tests/integration/
 * test_sm_router_id.py, standing in for the cluster module of seed patch 1
 * (patches/01-sm-router-id.md). It binds the domain named by router.xml's
 * <relay><domain> and sends every route addressed to that domain on to
 * <relay><to> (the sm's <router_id>), from unchanged. Everything else it
 * is delivered (advertisements) is dropped.
 */
#include "config.h"
#include "router/router_module.h"

#include <stddef.h>
#include <string.h>

#include "util/log.h"
#include "util/nad.h"

static struct router *router;
static const char *domain, *target;

static int relay_init(struct router *r, void **state_r, const char **error_r)
{
	router = r;
	*state_r = NULL;
	domain = router_mod_config(r, "relay.domain", 0);
	target = router_mod_config(r, "relay.to", 0);
	if (domain == NULL || target == NULL) {
		*error_r = "relay: <relay><domain> and <relay><to> are required";
		return -1;
	}
	return router_mod_bind(r, domain, 0, error_r);
}

static void relay_deliver(void *state, struct nad *nad)
{
	const char *to = nad_attr(nad, 0, NULL, "to"), *error = NULL;

	(void)state;
	if (strcmp(nad_name(nad, 0), "route") != 0 || to == NULL || strcmp(to, domain) != 0) {
		nad_free(&nad);
		return;
	}
	nad_attr_set(nad, 0, NULL, "to", target);
	if (router_mod_route(router, nad, &error) < 0)
		log_warnx("relay: route to %s dropped: %s", target,
			  error != NULL ? error : "undeliverable");
}

const struct router_module router_module = {
	.name = "relay",
	.abi = ROUTER_MODULE_ABI,
	.init = relay_init,
	.deliver = relay_deliver,
};
