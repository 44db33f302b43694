/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * comp_route.c: the parts of the component link that need no connection:
 * reading the router.* options of a daemon's config, and building the
 * <route/>, <throttle/> and bounce elements that comp.c sends.
 */
#include "config.h"
#include "comp/comp.h"

#include <stddef.h>
#include <stdio.h>

#include "util/config_file.h"
#include "util/nad.h"

static const struct config_key comp_keys[] = {
	{ "router.ip", CONFIG_STRING, "127.0.0.1", offsetof(struct comp_settings, ip), 0, 0 },
	{ "router.port", CONFIG_INT, "5347", offsetof(struct comp_settings, port), 1, 65535 },
	{ "router.user", CONFIG_STRING, "jabberd", offsetof(struct comp_settings, user), 0, 0 },
	{ "router.pass", CONFIG_STRING, "secret", offsetof(struct comp_settings, pass), 0, 0 },
	{ "router.pemfile", CONFIG_STRING, NULL, offsetof(struct comp_settings, pemfile), 0, 0 },
	{ "router.private_key_password", CONFIG_STRING, NULL,
	  offsetof(struct comp_settings, key_password), 0, 0 },
	{ "router.ciphers", CONFIG_STRING, NULL, offsetof(struct comp_settings, ciphers), 0, 0 },
	{ "router.ciphersuites", CONFIG_STRING, NULL,
	  offsetof(struct comp_settings, ciphersuites), 0, 0 },
	{ "router.retry.init", CONFIG_INT, "3", offsetof(struct comp_settings, retry_init),
	  -1, 1000000 },
	{ "router.retry.lost", CONFIG_INT, "3", offsetof(struct comp_settings, retry_lost),
	  -1, 1000000 },
	{ "router.retry.sleep", CONFIG_INT, "2", offsetof(struct comp_settings, retry_sleep),
	  -1000000, 1000000 },
	{ NULL, 0, NULL, 0, 0, 0 },
};

int comp_settings_load(const struct config *cfg, struct comp_settings *set,
		       const char **error_r)
{
	const char *ident = set->ident;

	if (config_apply(cfg, comp_keys, set, error_r) < 0)
		return -1;
	set->ident = ident;
	/* jabberd2 never sleeps less than a second between attempts. */
	if (set->retry_sleep < 1)
		set->retry_sleep = 1;
	return 0;
}

struct nad *comp_route_new(const char *to, const char *from, const char *type)
{
	struct nad *nad = nad_new();
	int root = nad_elem_add(nad, NAD_NONE, COMP_NS, "route");

	if (to != NULL)
		nad_attr_set(nad, root, NULL, "to", to);
	if (from != NULL)
		nad_attr_set(nad, root, NULL, "from", from);
	if (type != NULL)
		nad_attr_set(nad, root, NULL, "type", type);
	return nad;
}

int comp_route_payload(const struct nad *route)
{
	if (nad_root(route) == NAD_NONE)
		return NAD_NONE;
	return nad_child(route, 0, NULL, NULL);
}

int comp_route(struct comp *comp, const char *to, const char *from,
	       const struct nad *payload, int elem)
{
	struct nad *nad = comp_route_new(to, from, NULL);

	nad_graft(nad, 0, payload, elem);
	return comp_send(comp, nad);
}

int comp_route_broadcast(struct comp *comp, const char *from, const struct nad *payload,
			 int elem)
{
	struct nad *nad = comp_route_new(NULL, from, "broadcast");

	nad_graft(nad, 0, payload, elem);
	return comp_send(comp, nad);
}

int comp_bounce(struct comp *comp, struct nad *route, int code)
{
	char num[16];

	if (nad_attr(route, 0, NULL, "error") != NULL) {
		nad_free(&route);
		return -1;
	}
	snprintf(num, sizeof(num), "%d", code);
	nad_attr_set(route, 0, NULL, "error", num);
	return comp_send(comp, route);
}

int comp_throttle(struct comp *comp)
{
	struct nad *nad = nad_new();

	nad_elem_add(nad, NAD_NONE, COMP_NS, "throttle");
	return comp_send(comp, nad);
}
