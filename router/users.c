/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * users.c: router-users.xml, the names and secrets components
 * authenticate with (spec §2.2): any root element holding
 * <user><name>N</name><secret>S</secret></user> entries. Read at start and
 * again on SIGHUP.
 */
#include "config.h"
#include "router/router.h"

#include <stdlib.h>

#include "util/buf.h"
#include "util/config_file.h"
#include "util/log.h"
#include "util/xhash.h"

static const char *child_value(const struct config_node *n, const char *name)
{
	const struct config_node *c = config_node_child(n, name);

	return c != NULL ? config_node_value(c) : NULL;
}

struct xhash *routerd_users_load(const char *file, const char **error_r)
{
	struct config *cfg = config_load(file, NULL, error_r);
	const struct config_node *n;
	struct xhash *users;

	if (cfg == NULL)
		return NULL;
	users = xhash_new();
	for (n = config_node_child(config_root(cfg), "user"); n != NULL;
	     n = config_node_next(n, "user")) {
		const char *name = child_value(n, "name"), *secret = child_value(n, "secret");

		/* jabberd2 2.7 hangs on such an entry; we skip it. */
		if (name == NULL || secret == NULL || *name == '\0') {
			log_warnx("router: %s:%u: <user> without name or secret ignored",
				  file, config_node_line(n));
			continue;
		}
		free(xhash_put(users, name, xstrdup(secret)));
	}
	config_free(&cfg);
	return users;
}
