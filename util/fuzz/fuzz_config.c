/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for util/config_file.c: load arbitrary bytes as a config
 * file (with an -i id), then read everything back through the public API:
 * every element's path must find a value, every attribute must be found
 * again, and typed reading must either succeed or give an error.
 */
#include "config.h"
#include "util/config_file.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct opts {
	const char *s;
	int port, flag, b;
};

static const struct config_key keys[] = {
	{ "local.ip", CONFIG_STRING, NULL, offsetof(struct opts, s), 0, 0 },
	{ "local.port", CONFIG_INT, "5347", offsetof(struct opts, port), 1, 65535 },
	{ "a", CONFIG_FLAG, NULL, offsetof(struct opts, flag), 0, 0 },
	{ "b", CONFIG_BOOL, "no", offsetof(struct opts, b), 0, 0 },
	{ NULL, 0, NULL, 0, 0, 0 },
};

static void walk(const struct config *cfg, const struct config_node *node, int depth)
{
	const struct config_node *c;
	const char *const *a;

	if (depth > 0) {
		const char *path = config_node_path(node);
		int n = config_count(cfg, path);

		if (n < 1 || config_get(cfg, path) == NULL || config_node_value(node) == NULL)
			abort();
		for (a = config_node_attrs(node); *a != NULL; a += 2)
			if (config_node_attr(node, a[0]) == NULL)
				abort();
	}
	for (c = config_node_child(node, NULL); c != NULL; c = config_node_next(c, NULL)) {
		if (config_node_parent(c) != node)
			abort();
		walk(cfg, c, depth + 1);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *error = NULL;
	struct config *cfg = config_load_mem("fuzz.xml", (const char *)data, size, "fz", &error);
	struct opts o;

	if (cfg == NULL) {
		if (error == NULL || strncmp(error, "fuzz.xml", 8) != 0)
			abort();
		return 0;
	}
	if (strcmp(config_get(cfg, "id"), "fz") != 0)
		abort();
	walk(cfg, config_root(cfg), 0);
	if (config_apply(cfg, keys, &o, &error) < 0 && error == NULL)
		abort();
	config_free(&cfg);
	return 0;
}
