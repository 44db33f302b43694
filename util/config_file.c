/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * config: loading jabberd2's XML configuration files into dotted-path
 * values and a small element tree; typed reading through key tables. The
 * rules are in util/config_file.h.
 *
 * Loading is two passes. expat builds the tree (names, attributes, the
 * text before each element's first child, line numbers), then a walk in
 * document order gives each element its path and its value, expanding
 * ${...} against the values already seen: that order is what makes
 * "earlier in the file" mean what it means in jabberd2.
 *
 * jabberd2 config files have no include mechanism and this loader adds
 * none: a file is one document.
 */
#include "config.h"
#include "util/config_file.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <expat.h>

#include "util/buf.h"
#include "util/log.h"
#include "util/xhash.h"

/* Real configs nest 5 or 6 deep; the bound keeps hostile input from making
 * path strings quadratic in size. */
#define CONFIG_MAX_DEPTH 64
#define CONFIG_MAX_FILE (16 * 1024 * 1024)

struct config_node {
	const char *name;
	const char *path;
	const char *value;
	const char **attrs;     /* name, value, ..., NULL */
	unsigned line;
	struct config_node *parent, *first_child, *last_child, *next_sibling;
	struct buf text;        /* during loading: text before the first child */
};

/* All values of one path. */
struct config_entry {
	const char *path;
	struct config_node **nodes;
	int count;
	struct config_entry *next;      /* in order of first appearance */
};

struct config_block {
	struct config_block *next;
	size_t used, size;
	_Alignas(max_align_t) char data[];
};

struct config {
	char *name;
	struct config_block *arena;
	struct xhash *entries;          /* path -> struct config_entry */
	struct config_entry *first, *last;
	struct config_node *root;
	struct config_node **nodes;     /* every element, in document order */
	size_t nnodes, nodes_size;
};

struct config_parse {
	struct config *cfg;
	XML_Parser parser;
	struct config_node *cur;
	int depth;
	const char *error;              /* our own reason to stop expat */
};

static char config_errbuf[1024];

static const char *config_vseterr(const struct config *cfg, const struct config_node *node,
				  unsigned line, const char *fmt, va_list ap)
{
	struct buf b = { 0 };
	const struct config_node *n;
	struct config_node *chain[CONFIG_MAX_DEPTH + 1];
	size_t depth = 0;

	buf_append_str(&b, cfg != NULL ? cfg->name : "config");
	if (line > 0)
		buf_printf(&b, ":%u", line);
	buf_append_str(&b, ": ");
	for (n = node; n != NULL && n->parent != NULL && depth < CONFIG_MAX_DEPTH; n = n->parent)
		chain[depth++] = (struct config_node *)n;
	while (depth > 0)
		buf_printf(&b, "<%s>", chain[--depth]->name);
	if (node != NULL && node->parent != NULL)
		buf_append_str(&b, ": ");
	buf_vprintf(&b, fmt, ap);
	snprintf(config_errbuf, sizeof(config_errbuf), "%s", b.data);
	buf_free(&b);
	return config_errbuf;
}

static const char *config_seterr(const struct config *cfg, const struct config_node *node,
				 unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static const char *config_seterr(const struct config *cfg, const struct config_node *node,
				 unsigned line, const char *fmt, ...)
{
	const char *s;
	va_list ap;

	va_start(ap, fmt);
	s = config_vseterr(cfg, node, line, fmt, ap);
	va_end(ap);
	return s;
}

const char *config_errorf(const struct config *cfg, const struct config_node *node,
			  const char *fmt, ...)
{
	const char *s;
	va_list ap;

	va_start(ap, fmt);
	s = config_vseterr(cfg, node, node != NULL ? node->line : 0, fmt, ap);
	va_end(ap);
	return s;
}

/* Arena: everything a loaded config holds, freed at once. */
static void *config_alloc(struct config *cfg, size_t size)
{
	struct config_block *b = cfg->arena;
	size_t align = _Alignof(max_align_t);
	void *p;

	size = (size + align - 1) & ~(align - 1);
	if (b == NULL || b->size - b->used < size) {
		size_t bsize = size > 8192 ? size : 8192;

		b = xmalloc(sizeof(*b) + bsize);
		b->size = bsize;
		b->used = 0;
		b->next = cfg->arena;
		cfg->arena = b;
	}
	p = b->data + b->used;
	b->used += size;
	return p;
}

static char *config_strndup(struct config *cfg, const char *s, size_t len)
{
	char *p = config_alloc(cfg, len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

static char *config_strdup(struct config *cfg, const char *s)
{
	return config_strndup(cfg, s, strlen(s));
}

static struct config_node *config_node_new(struct config *cfg, const char *name,
					   struct config_node *parent, unsigned line)
{
	struct config_node *node = config_alloc(cfg, sizeof(*node));

	memset(node, 0, sizeof(*node));
	node->name = config_strdup(cfg, name);
	node->line = line;
	node->parent = parent;
	if (parent != NULL) {
		if (parent->last_child != NULL)
			parent->last_child->next_sibling = node;
		else
			parent->first_child = node;
		parent->last_child = node;
	}
	if (cfg->nnodes == cfg->nodes_size) {
		cfg->nodes_size = cfg->nodes_size ? 2 * cfg->nodes_size : 64;
		cfg->nodes = xrealloc(cfg->nodes, cfg->nodes_size * sizeof(*cfg->nodes));
	}
	cfg->nodes[cfg->nnodes++] = node;
	return node;
}

static void config_stop(struct config_parse *st, const char *why)
{
	if (st->error == NULL)
		st->error = why;
	XML_StopParser(st->parser, XML_FALSE);
}

static void XMLCALL config_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct config_parse *st = ud;
	struct config *cfg = st->cfg;
	struct config_node *node;
	size_t n = 0, i;

	if (st->depth >= CONFIG_MAX_DEPTH) {
		config_stop(st, "elements nested too deeply");
		return;
	}
	node = config_node_new(cfg, name, st->cur,
			       (unsigned)XML_GetCurrentLineNumber(st->parser));
	while (atts[n] != NULL)
		n++;
	node->attrs = config_alloc(cfg, (n + 1) * sizeof(*node->attrs));
	for (i = 0; i < n; i++)
		node->attrs[i] = config_strdup(cfg, atts[i]);
	node->attrs[n] = NULL;
	if (st->cur == NULL)
		cfg->root = node;
	st->cur = node;
	st->depth++;
}

static void XMLCALL config_end(void *ud, const XML_Char *name)
{
	struct config_parse *st = ud;

	(void)name;
	st->cur = st->cur->parent;
	st->depth--;
}

static void XMLCALL config_text(void *ud, const XML_Char *s, int len)
{
	struct config_parse *st = ud;

	/* Only the text before the first child is the element's value; text
	 * between or after children is layout. */
	if (st->cur != NULL && st->cur->first_child == NULL)
		buf_append(&st->cur->text, s, (size_t)len);
}

static void XMLCALL config_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
				   const XML_Char *pubid, int has_internal_subset)
{
	(void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
	config_stop(ud, "DOCTYPE declarations are not allowed");
}

static void XMLCALL config_entity(void *ud, const XML_Char *name, int is_param,
				  const XML_Char *value, int value_length,
				  const XML_Char *base, const XML_Char *sysid,
				  const XML_Char *pubid, const XML_Char *notation)
{
	(void)name, (void)is_param, (void)value, (void)value_length;
	(void)base, (void)sysid, (void)pubid, (void)notation;
	config_stop(ud, "entity declarations are not allowed");
}

/* Run expat over the whole document; builds cfg->root and cfg->nodes. */
static int config_parse(struct config *cfg, const char *data, size_t len,
			const char **error_r)
{
	struct config_parse st = { .cfg = cfg };
	unsigned line;
	int ok;

	if (len > INT_MAX) {
		*error_r = config_seterr(cfg, NULL, 0, "file too large");
		return -1;
	}
	st.parser = XML_ParserCreate(NULL);
	if (st.parser == NULL) {
		*error_r = config_seterr(cfg, NULL, 0, "cannot create XML parser");
		return -1;
	}
	XML_SetUserData(st.parser, &st);
	XML_SetElementHandler(st.parser, config_start, config_end);
	XML_SetCharacterDataHandler(st.parser, config_text);
	XML_SetStartDoctypeDeclHandler(st.parser, config_doctype);
	XML_SetEntityDeclHandler(st.parser, config_entity);
	ok = XML_Parse(st.parser, data, (int)len, 1) == XML_STATUS_OK;
	if (!ok) {
		line = (unsigned)XML_GetCurrentLineNumber(st.parser);
		*error_r = config_seterr(cfg, st.cur, line, "%s",
					 st.error != NULL ? st.error :
					 XML_ErrorString(XML_GetErrorCode(st.parser)));
	}
	XML_ParserFree(st.parser);
	return ok ? 0 : -1;
}

static struct config_entry *config_entry_get(const struct config *cfg, const char *path)
{
	return xhash_get(cfg->entries, path);
}

static void config_entry_add(struct config *cfg, const char *path, struct config_node *node)
{
	struct config_entry *e = config_entry_get(cfg, path);

	if (e == NULL) {
		e = config_alloc(cfg, sizeof(*e));
		memset(e, 0, sizeof(*e));
		e->path = path;
		xhash_put(cfg->entries, path, e);
		if (cfg->last != NULL)
			cfg->last->next = e;
		else
			cfg->first = e;
		cfg->last = e;
	}
	/* Grow in powers of two. */
	if ((e->count & (e->count - 1)) == 0)
		e->nodes = xrealloc(e->nodes, (size_t)(e->count ? 2 * e->count : 1) *
				    sizeof(*e->nodes));
	e->nodes[e->count++] = node;
}

/* Expand ${path} references in `text` against the values seen so far. */
static const char *config_expand(struct config *cfg, struct config_node *node,
				 const char *text, const char **error_r)
{
	struct buf out = { 0 };
	const char *p = text, *start, *end, *val;
	char *name;

	while ((start = strstr(p, "${")) != NULL) {
		end = strchr(start + 2, '}');
		if (end == NULL) {
			*error_r = config_seterr(cfg, node, node->line,
						 "\"${\" without a closing \"}\"");
			goto err;
		}
		name = xstrndup(start + 2, (size_t)(end - start - 2));
		val = config_get(cfg, name);
		if (val == NULL) {
			*error_r = config_seterr(cfg, node, node->line,
						 "${%s}: no such option earlier in the file", name);
			free(name);
			goto err;
		}
		free(name);
		buf_append(&out, p, (size_t)(start - p));
		buf_append_str(&out, val);
		p = end + 1;
	}
	if (p == text) {
		val = config_strdup(cfg, text);
	} else {
		buf_append_str(&out, p);
		val = config_strndup(cfg, out.data, out.len);
	}
	buf_free(&out);
	return val;
err:
	buf_free(&out);
	return NULL;
}

/* Second pass: paths and values in document order. */
static int config_index(struct config *cfg, const char **error_r)
{
	struct config_node *node;
	size_t i;

	cfg->root->path = "";
	cfg->root->value = "";
	for (i = 1; i < cfg->nnodes; i++) {
		node = cfg->nodes[i];
		if (node->parent == cfg->root) {
			node->path = node->name;
		} else {
			char *path = xasprintf("%s.%s", node->parent->path, node->name);

			node->path = config_strdup(cfg, path);
			free(path);
		}
		if (node->text.len == 0)
			node->value = "1";
		else if ((node->value = config_expand(cfg, node, node->text.data, error_r)) == NULL)
			return -1;
		config_entry_add(cfg, node->path, node);
	}
	return 0;
}

/* The -i value: a node outside the tree, first value of "id". */
static void config_preseed_id(struct config *cfg, const char *id)
{
	struct config_node *node = config_alloc(cfg, sizeof(*node));

	memset(node, 0, sizeof(*node));
	node->name = "id";
	node->path = "id";
	node->value = config_strdup(cfg, id);
	node->attrs = config_alloc(cfg, sizeof(*node->attrs));
	node->attrs[0] = NULL;
	config_entry_add(cfg, "id", node);
}

static void config_drop_text(struct config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->nnodes; i++)
		buf_free(&cfg->nodes[i]->text);
	free(cfg->nodes);
	cfg->nodes = NULL;
	cfg->nnodes = cfg->nodes_size = 0;
}

struct config *config_load_mem(const char *name, const char *data, size_t len,
			       const char *id, const char **error_r)
{
	struct config *cfg = xcalloc(1, sizeof(*cfg));

	cfg->name = xstrdup(name);
	cfg->entries = xhash_new();
	if (config_parse(cfg, data, len, error_r) < 0)
		goto err;
	if (id != NULL)
		config_preseed_id(cfg, id);
	if (config_index(cfg, error_r) < 0)
		goto err;
	config_drop_text(cfg);
	return cfg;
err:
	config_drop_text(cfg);
	config_free(&cfg);
	return NULL;
}

struct config *config_load(const char *file, const char *id, const char **error_r)
{
	struct buf b = { 0 };
	struct config *cfg = NULL;
	char chunk[8192];
	FILE *fp;
	size_t n;

	fp = fopen(file, "re");
	if (fp == NULL) {
		*error_r = config_seterr(NULL, NULL, 0, "cannot open %s: %s", file,
					 strerror(errno));
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0 && b.len <= CONFIG_MAX_FILE)
		buf_append(&b, chunk, n);
	if (ferror(fp))
		*error_r = config_seterr(NULL, NULL, 0, "cannot read %s: %s", file,
					 strerror(errno));
	else if (b.len > CONFIG_MAX_FILE)
		*error_r = config_seterr(NULL, NULL, 0, "%s: file too large", file);
	else
		cfg = config_load_mem(file, b.data != NULL ? b.data : "", b.len, id, error_r);
	fclose(fp);
	buf_free(&b);
	return cfg;
}

void config_free(struct config **cfgp)
{
	struct config *cfg = *cfgp;
	struct config_block *b, *next;
	struct config_entry *e;

	if (cfg == NULL)
		return;
	for (e = cfg->first; e != NULL; e = e->next)
		free(e->nodes);
	xhash_free(&cfg->entries);
	for (b = cfg->arena; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	free(cfg->nodes);
	free(cfg->name);
	free(cfg);
	*cfgp = NULL;
}

const char *config_file(const struct config *cfg)
{
	return cfg->name;
}

const struct config_node *config_node(const struct config *cfg, const char *key, int n)
{
	const struct config_entry *e = config_entry_get(cfg, key);

	if (e == NULL || n < 0 || n >= e->count)
		return NULL;
	return e->nodes[n];
}

const char *config_get(const struct config *cfg, const char *key)
{
	return config_get_n(cfg, key, 0);
}

const char *config_get_n(const struct config *cfg, const char *key, int n)
{
	const struct config_node *node = config_node(cfg, key, n);

	return node != NULL ? node->value : NULL;
}

int config_count(const struct config *cfg, const char *key)
{
	const struct config_entry *e = config_entry_get(cfg, key);

	return e != NULL ? e->count : 0;
}

const char *config_attr(const struct config *cfg, const char *key, int n, const char *attr)
{
	const struct config_node *node = config_node(cfg, key, n);

	return node != NULL ? config_node_attr(node, attr) : NULL;
}

const struct config_node *config_root(const struct config *cfg)
{
	return cfg->root;
}

const char *config_node_name(const struct config_node *node)
{
	return node->name;
}

const char *config_node_path(const struct config_node *node)
{
	return node->path;
}

const char *config_node_value(const struct config_node *node)
{
	return node->value;
}

const char *config_node_attr(const struct config_node *node, const char *attr)
{
	size_t i;

	for (i = 0; node->attrs[i] != NULL; i += 2)
		if (strcmp(node->attrs[i], attr) == 0)
			return node->attrs[i + 1];
	return NULL;
}

const char *const *config_node_attrs(const struct config_node *node)
{
	return node->attrs;
}

unsigned config_node_line(const struct config_node *node)
{
	return node->line;
}

const struct config_node *config_node_parent(const struct config_node *node)
{
	return node->parent;
}

static const struct config_node *config_match(const struct config_node *node,
					      const char *name)
{
	while (node != NULL && name != NULL && strcmp(node->name, name) != 0)
		node = node->next_sibling;
	return node;
}

const struct config_node *config_node_child(const struct config_node *node,
					    const char *name)
{
	return config_match(node->first_child, name);
}

const struct config_node *config_node_next(const struct config_node *node,
					   const char *name)
{
	return config_match(node->next_sibling, name);
}

/* Typed reading ---------------------------------------------------------- */

/* Copy `s` without leading and trailing blanks into out (outsize bytes). */
static int config_trim(const char *s, char *out, size_t outsize)
{
	const char *end;
	size_t len;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' ||
			   end[-1] == '\r'))
		end--;
	len = (size_t)(end - s);
	if (len >= outsize)
		return -1;
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

/* Parse an int in [min, max]; on failure *why_r says why. */
static int config_parse_int(const char *s, int min, int max, int *out, const char **why_r)
{
	char buf[64], *end;
	long v;

	if (min == 0 && max == 0)
		min = INT_MIN, max = INT_MAX;
	if (config_trim(s, buf, sizeof(buf)) < 0 || buf[0] == '\0') {
		*why_r = "is not an integer";
		return -1;
	}
	errno = 0;
	v = strtol(buf, &end, 10);
	if (*end != '\0') {
		*why_r = "is not an integer";
		return -1;
	}
	if (errno == ERANGE || v < min || v > max) {
		*why_r = "is out of range";
		return -1;
	}
	*out = (int)v;
	return 0;
}

static int config_parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "1", "yes", "true", "on", "" };
	static const char *const no[] = { "0", "no", "false", "off" };
	char buf[16];
	size_t i;

	if (config_trim(s, buf, sizeof(buf)) < 0)
		return -1;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (strcasecmp(buf, yes[i]) == 0)
			return *out = 1, 0;
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (strcasecmp(buf, no[i]) == 0)
			return *out = 0, 0;
	return -1;
}

/* Parse `val` (from `node`, or the default when node is NULL) for `k`. */
static int config_apply_one(const struct config *cfg, const struct config_key *k,
			    const struct config_node *node, const char *val,
			    char *dst, const char **error_r)
{
	const char *why = NULL;
	int v = 0;

	switch (k->type) {
	case CONFIG_STRING:
		memcpy(dst + k->offset, &val, sizeof(val));
		return 0;
	case CONFIG_FLAG:
	case CONFIG_BOOL:
		/* A flag is on when present; absent, its default reads as a bool. */
		if (k->type == CONFIG_FLAG && node != NULL)
			v = 1;
		else if (val != NULL && config_parse_bool(val, &v) < 0)
			why = "is not a boolean (yes/no, true/false, on/off, 1/0)";
		break;
	case CONFIG_INT:
		if (val != NULL && config_parse_int(val, k->min, k->max, &v, &why) < 0 &&
		    why == NULL)
			why = "is not an integer";
		break;
	}
	if (why != NULL) {
		if (node == NULL)
			*error_r = config_seterr(cfg, NULL, 0, "default '%s' of %s %s",
						 val, k->key, why);
		else if (k->type == CONFIG_INT && (k->min != 0 || k->max != 0))
			*error_r = config_errorf(cfg, node, "'%s' %s (%d..%d)", val, why,
						 k->min, k->max);
		else
			*error_r = config_errorf(cfg, node, "'%s' %s", val, why);
		return -1;
	}
	memcpy(dst + k->offset, &v, sizeof(v));
	return 0;
}

int config_apply(const struct config *cfg, const struct config_key *table,
		 void *dst, const char **error_r)
{
	const struct config_key *k;
	const struct config_node *node;

	for (k = table; k->key != NULL; k++) {
		node = config_node(cfg, k->key, 0);
		if (config_apply_one(cfg, k, node, node != NULL ? node->value : k->def,
				     dst, error_r) < 0)
			return -1;
	}
	return 0;
}

/* Is `path` equal to `prefix` or below it? */
static int config_under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '.');
}

static int config_known(const char *path, const struct config_key *table,
			const char *const *known_prefixes)
{
	const struct config_key *k;
	size_t i;

	for (k = table; k != NULL && k->key != NULL; k++)
		if (config_under(k->key, path))
			return 1;
	for (i = 0; known_prefixes != NULL && known_prefixes[i] != NULL; i++)
		if (config_under(path, known_prefixes[i]))
			return 1;
	return 0;
}

int config_unknown(const struct config *cfg, const struct config_key *table,
		   const char *const *known_prefixes)
{
	const struct config_entry *e;
	const struct config_node *node;
	int unknown = 0;

	for (e = cfg->first; e != NULL; e = e->next) {
		if (config_known(e->path, table, known_prefixes))
			continue;
		/* The first node from the file (not the -i value). */
		node = e->nodes[0]->line == 0 && e->count > 1 ? e->nodes[1] : e->nodes[0];
		if (node->line == 0)
			continue;
		log_warnx("%s", config_errorf(cfg, node, "unknown option, ignored"));
		unknown++;
	}
	return unknown;
}
