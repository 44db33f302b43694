/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * filter.c: router-filter.xml, the packet filter the router applies to
 * unicast routes (spec §2.3). Rules are tried in document order and the
 * first that matches decides: deny with an error code, redirect the route
 * to another name, or let it through; any of them may also log the route
 * or dump it to a file.
 *
 * A rule matches when each of its from/to patterns (fnmatch) matches the
 * payload's from/to without resource, with "attribute absent from the
 * rule" meaning "attribute absent from the stanza", and when its `what`
 * path (a/b, a?attr, a?attr=v, a!attr[=v], xmlns as an attribute) finds
 * an element below the route.
 */
#include "config.h"
#include "router/router.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/buf.h"
#include "util/config_file.h"
#include "util/jid.h"
#include "util/log.h"
#include "util/nad.h"

struct filter_rule {
	char *from, *to, *what;         /* NULL: attribute absent */
	int code;                       /* 0: allow */
	char *redirect;
	int log;
	char *dump;
	unsigned line;
};

struct router_filter {
	struct filter_rule *rules;
	unsigned n;
};

static char *dup_opt(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static int yes(const char *s)
{
	return s != NULL && (strcmp(s, "yes") == 0 || strcmp(s, "on") == 0);
}

static struct router_filter *filter_from_config(const struct config *cfg)
{
	struct router_filter *f = xcalloc(1, sizeof(*f));
	const struct config_node *root = config_root(cfg), *n;
	unsigned count = 0;

	for (n = config_node_child(root, "rule"); n != NULL; n = config_node_next(n, "rule"))
		count++;
	f->rules = xcalloc(count + 1, sizeof(*f->rules));
	for (n = config_node_child(root, "rule"); n != NULL; n = config_node_next(n, "rule")) {
		struct filter_rule *rule = &f->rules[f->n++];
		const char *err = config_node_attr(n, "error");

		rule->from = dup_opt(config_node_attr(n, "from"));
		rule->to = dup_opt(config_node_attr(n, "to"));
		rule->what = dup_opt(config_node_attr(n, "what"));
		rule->code = err != NULL ? router_error_code(err) : 0;
		rule->redirect = dup_opt(config_node_attr(n, "redirect"));
		rule->log = yes(config_node_attr(n, "log"));
		rule->dump = dup_opt(config_node_attr(n, "dump"));
		rule->line = config_node_line(n);
	}
	return f;
}

int router_filter_load_mem(const char *name, const char *xml, size_t len,
			   struct router_filter **filter_r, const char **error_r)
{
	struct config *cfg = config_load_mem(name, xml, len, NULL, error_r);

	*filter_r = NULL;
	if (cfg == NULL)
		return -1;
	*filter_r = filter_from_config(cfg);
	config_free(&cfg);
	return 0;
}

int router_filter_load(const char *file, struct router_filter **filter_r,
		       const char **error_r)
{
	struct stat st;
	struct config *cfg;

	*filter_r = NULL;
	if (stat(file, &st) < 0 && errno == ENOENT)
		return 0;
	if ((cfg = config_load(file, NULL, error_r)) == NULL)
		return -1;
	*filter_r = filter_from_config(cfg);
	config_free(&cfg);
	return 0;
}

void router_filter_free(struct router_filter **filterp)
{
	struct router_filter *f = *filterp;

	if (f == NULL)
		return;
	for (unsigned i = 0; i < f->n; i++) {
		free(f->rules[i].from);
		free(f->rules[i].to);
		free(f->rules[i].what);
		free(f->rules[i].redirect);
		free(f->rules[i].dump);
	}
	free(f->rules);
	free(f);
	*filterp = NULL;
}

unsigned router_filter_count(const struct router_filter *f)
{
	return f != NULL ? f->n : 0;
}

/* ---- matching ---- */

/* One path step "name", "name?attr[=v]" or "name!attr[=v]" against elem. */
static int step_match(const struct nad *nad, int elem, const char *step, size_t len)
{
	const char *op = NULL, *eq = NULL, *v;
	char attr[256], want[1024];
	size_t namelen = len;
	int present, equal;

	for (size_t i = 0; i < len; i++)
		if (step[i] == '?' || step[i] == '!') {
			op = step + i;
			namelen = i;
			break;
		}
	if (strlen(nad_name(nad, elem)) != namelen ||
	    strncmp(nad_name(nad, elem), step, namelen) != 0)
		return 0;
	if (op == NULL)
		return 1;
	eq = memchr(op, '=', len - (size_t)(op - step));
	snprintf(attr, sizeof(attr), "%.*s",
		 (int)((eq != NULL ? eq : step + len) - op - 1), op + 1);
	v = strcmp(attr, "xmlns") == 0 ? nad_ns(nad, elem) : nad_attr(nad, elem, NULL, attr);
	present = v != NULL;
	if (eq != NULL) {
		snprintf(want, sizeof(want), "%.*s", (int)(step + len - eq - 1), eq + 1);
		equal = present && strcmp(v, want) == 0;
	} else {
		equal = present;
	}
	return *op == '?' ? equal : !equal;
}

/* Does `path` find an element below `elem`? */
static int path_match(const struct nad *nad, int elem, const char *path)
{
	const char *slash = strchr(path, '/');
	size_t len = slash != NULL ? (size_t)(slash - path) : strlen(path);

	for (int c = nad_child(nad, elem, NULL, NULL); c != NAD_NONE;
	     c = nad_next(nad, c, NULL, NULL)) {
		if (!step_match(nad, c, path, len))
			continue;
		if (slash == NULL || path_match(nad, c, slash + 1))
			return 1;
	}
	return 0;
}

/* The payload's attribute as a bare JID (or as written if not a JID). */
static char *bare_attr(const struct nad *nad, int elem, const char *name)
{
	const char *v = elem != NAD_NONE ? nad_attr(nad, elem, NULL, name) : NULL;
	const char *error;
	struct jid *jid;
	char *out;

	if (v == NULL)
		return NULL;
	if ((jid = jid_new(v, strlen(v), &error)) == NULL)
		return xstrndup(v, strcspn(v, "/"));
	out = xstrdup(jid_bare(jid));
	jid_free(&jid);
	return out;
}

static int addr_match(const char *pattern, const char *value)
{
	if (pattern == NULL || value == NULL)
		return pattern == NULL && value == NULL;
	return fnmatch(pattern, value, 0) == 0;
}

static int rule_match(const struct filter_rule *rule, const struct nad *nad,
		      const char *from, const char *to)
{
	if (!addr_match(rule->from, from) || !addr_match(rule->to, to))
		return 0;
	if (rule->what == NULL || rule->what[0] == '\0' || strcmp(rule->what, "*") == 0)
		return 1;
	return path_match(nad, 0, rule->what);
}

static void rule_dump(const struct filter_rule *rule, const struct nad *nad)
{
	struct buf b = { 0 };
	FILE *fp = fopen(rule->dump, "a");

	if (fp == NULL) {
		log_warn("router: filter dump %s", rule->dump);
		return;
	}
	nad_serialize(nad, 0, NULL, &b);
	fprintf(fp, "%s\n", b.data != NULL ? b.data : "");
	fclose(fp);
	buf_free(&b);
}

int router_filter_check(const struct router_filter *f, struct nad *nad)
{
	int payload = nad_child(nad, 0, NULL, NULL);
	char *from = bare_attr(nad, payload, "from"), *to = bare_attr(nad, payload, "to");
	const struct filter_rule *rule = NULL;
	int code = 0;

	for (unsigned i = 0; i < f->n && rule == NULL; i++)
		if (rule_match(&f->rules[i], nad, from, to))
			rule = &f->rules[i];
	if (rule != NULL) {
		if (rule->log)
			log_notice("router: filter rule at line %u: %s from %s to %s%s",
				   rule->line, rule->code ? "denied" :
				   rule->redirect ? "redirected" : "passed",
				   from ? from : "-", to ? to : "-",
				   rule->redirect ? rule->redirect : "");
		if (rule->dump != NULL)
			rule_dump(rule, nad);
		code = rule->code;
		if (code == 0 && rule->redirect != NULL)
			nad_attr_set(nad, 0, NULL, "to", rule->redirect);
	}
	free(from);
	free(to);
	return code;
}
