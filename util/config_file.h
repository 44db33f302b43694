/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * config: jabberd2's XML configuration files (router.xml, sm.xml, c2s.xml,
 * s2s.xml, and the router's users and filter files), read as jabberd2
 * reads them so that existing files keep working:
 *
 *  - the root element's name is ignored; every other element is addressed
 *    by the dotted path of element names below the root ("router.retry.init");
 *  - an element that occurs several times has several values, each with its
 *    own attributes; single-valued options read the first;
 *  - an element's value is the text before its first child element, exactly
 *    as written (not trimmed); with no text at all the value is "1", so
 *    <transactions/> reads as on and as the integer 1;
 *  - "${a.b}" in a value is replaced by the first value of the path a.b,
 *    which must come earlier in the file (or be "id" preseeded with -i); an
 *    unknown name or a "${" without "}" fails the load. Attributes are not
 *    expanded;
 *  - an empty attribute value ("") differs from an absent attribute (NULL);
 *  - there are no include directives (jabberd2 has none), and DOCTYPE
 *    declarations (hence entity definitions) are refused.
 *
 * Errors name the file, the line and the element path, e.g.
 * "router.xml:12: <local><port>: ...". Error strings returned through
 * error_r live in a static buffer valid until the next config call: the
 * loader is meant for start-up and SIGHUP handling in single-threaded
 * daemons.
 *
 * Strings returned by the getters live as long as the struct config.
 *
 * The file is config_file.h, not config.h: a util/config.h would be found
 * instead of autoconf's config.h by every source file in util/.
 */
#ifndef UTIL_CONFIG_FILE_H
#define UTIL_CONFIG_FILE_H

#include <stddef.h>

struct config;
/* One element of the file: one value of its path. */
struct config_node;

/*
 * Load `file`. `id` (may be NULL) is the -i command line value: it becomes
 * the first value of "id", ahead of any <id> in the file, so ${id} and
 * config_get(cfg, "id") use it. Returns NULL with *error_r set on failure.
 */
struct config *config_load(const char *file, const char *id, const char **error_r);
/* The same from memory; `name` is used in error messages. */
struct config *config_load_mem(const char *name, const char *data, size_t len,
			       const char *id, const char **error_r);
void config_free(struct config **cfgp);
/* The name given to config_load / config_load_mem. */
const char *config_file(const struct config *cfg);

/* First value of `key`, or NULL if the element is absent. */
const char *config_get(const struct config *cfg, const char *key);
/* Number of values (elements) for `key`. */
int config_count(const struct config *cfg, const char *key);
/* Value n (0-based) of `key`, or NULL. */
const char *config_get_n(const struct config *cfg, const char *key, int n);
/* Attribute `attr` of value n of `key`; NULL if either is absent. */
const char *config_attr(const struct config *cfg, const char *key, int n,
			const char *attr);

/*
 * Walking the element tree, for structured sections (sm modules.chain and
 * its module children, router aliases, c2s local.id attributes, the
 * router's users and filter files).
 */
const struct config_node *config_root(const struct config *cfg);
/* The element holding value n of `key`, or NULL. */
const struct config_node *config_node(const struct config *cfg, const char *key, int n);
const char *config_node_name(const struct config_node *node);
/* Dotted path below the root ("" for the root itself). */
const char *config_node_path(const struct config_node *node);
/* The value as config_get returns it ("" for the root, which has none). */
const char *config_node_value(const struct config_node *node);
const char *config_node_attr(const struct config_node *node, const char *attr);
/* Attributes as a NULL-terminated array of name, value, name, value... */
const char *const *config_node_attrs(const struct config_node *node);
unsigned config_node_line(const struct config_node *node);
const struct config_node *config_node_parent(const struct config_node *node);
/* First child / next sibling element named `name` (NULL: any name). */
const struct config_node *config_node_child(const struct config_node *node,
					    const char *name);
const struct config_node *config_node_next(const struct config_node *node,
					   const char *name);

/*
 * Format "<file>:<line>: <a><b>: <message>" for an error found in `node`
 * (NULL: no line or path) into the static error buffer and return it, for
 * daemons that reject a value they read (an invalid domain, say).
 */
const char *config_errorf(const struct config *cfg, const struct config_node *node,
			  const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Table-driven typed reading. Each daemon declares its options once:
 *
 *	static const struct config_key router_keys[] = {
 *		{ "local.port", CONFIG_INT, "5347", offsetof(struct opts, port), 1, 65535 },
 *		{ "pidfile", CONFIG_STRING, NULL, offsetof(struct opts, pidfile) },
 *		{ NULL },
 *	};
 *
 * CONFIG_STRING stores a const char * (the first value, or `def`; either
 *   may be NULL); it points into cfg or at `def`.
 * CONFIG_INT stores an int: the first value, leading and trailing blanks
 *   ignored, decimal with optional sign; it must lie in [min, max] (both 0:
 *   any int). Absent: `def` parsed the same way (NULL: 0).
 * CONFIG_BOOL stores an int 0/1 from "1", "yes", "true", "on" or "0", "no",
 *   "false", "off" (any case; an empty element reads "1"). Absent: `def`.
 * CONFIG_FLAG stores 1 if the element is present whatever its value
 *   (jabberd2 tests many switches by presence alone), else `def` as BOOL.
 */
enum config_type {
	CONFIG_STRING,
	CONFIG_INT,
	CONFIG_BOOL,
	CONFIG_FLAG,
};

struct config_key {
	const char *key;        /* dotted path; NULL ends the table */
	enum config_type type;
	const char *def;
	size_t offset;          /* offsetof() into the destination struct */
	int min, max;           /* CONFIG_INT range; both 0 = any int */
};

/*
 * Read every key of `table` into `dst`. Returns 0, or -1 with *error_r
 * naming the file, line and path of the first bad value (a bad default is
 * reported as a program error naming the key).
 */
int config_apply(const struct config *cfg, const struct config_key *table,
		 void *dst, const char **error_r);

/*
 * Log a warning (log_warnx) for every element path in the file that is
 * not a key of `table`, not an ancestor of one (the <local> around
 * <port>), and not at or below one of `known_prefixes` (a NULL-terminated
 * list, may be NULL: sections the daemon walks itself, such as "modules"
 * or "storage"). Each path is reported once, at its first line. Returns
 * the number of unknown paths.
 */
int config_unknown(const struct config *cfg, const struct config_key *table,
		   const char *const *known_prefixes);

#endif
