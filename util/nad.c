/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nad: the element tree every stanza, stream header and config file is held
 * in (see util/nad.h for the model and the contracts). This file has the
 * storage, building, reading and copying, and the serializer with its
 * namespace scope. nad_parse, the parser for whole documents, is in
 * util/nad_parse.c.
 *
 * Storage: one array of elements, one of attributes, and one string arena.
 * Every string (names, URIs, prefixes, values, text) is an offset into the
 * arena and NUL-terminated there, so readers get plain C strings. Strings
 * are never freed or shrunk; replacing a value appends the new one. A
 * pointer handed out by a reader is valid until the nad is next changed,
 * but it may be passed straight back into a setter of the same nad
 * (nad_attr_set(n, e, NULL, "to", nad_attr(n, e, NULL, "from")) works):
 * the arena rebases such pointers when it grows.
 */
#include "config.h"
#include "util/nad.h"

#include <assert.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

#define NAD_NOSTR ((size_t)-1)

struct nad_elem {
	int parent;
	int first_child;
	int last_child;
	int next;
	int prev;
	int first_attr;
	int last_attr;
	size_t name;
	size_t ns;              /* NAD_NOSTR: no namespace */
	size_t prefix;          /* NAD_NOSTR: default (no prefix) */
	size_t cdata;           /* NAD_NOSTR when empty */
	size_t cdata_len;
	size_t tail;
	size_t tail_len;
};

struct nad_attr {
	int next;
	size_t name;
	size_t ns;
	size_t prefix;
	size_t value;
	size_t value_len;
};

struct nad {
	struct nad_elem *elems;
	int nelems;
	int elems_size;
	struct nad_attr *attrs;
	int nattrs;
	int attrs_size;
	char *arena;
	size_t arena_len;
	size_t arena_size;
	/* The root element exactly as it was received (nad_raw_set), or
	 * NULL; dropped by every change to the tree. */
	char *raw;
	size_t raw_len;
	char *raw_ns;           /* the inherited default namespace it uses */
};

/* ---- arena ---- */

/*
 * Make room for `extra` more bytes. The `n` pointers in `ptrs` are caller
 * arguments that may point into the arena itself; they are moved with it.
 */
static void nad_arena_reserve(struct nad *nad, size_t extra, const char **ptrs[], int n)
{
	uintptr_t base = (uintptr_t)nad->arena;
	size_t off[4];
	int in[4], i;
	char *old = nad->arena;

	assert(n <= 4);
	if (nad->arena_len + extra <= nad->arena_size)
		return;
	for (i = 0; i < n; i++) {
		uintptr_t p = (uintptr_t)*ptrs[i];

		in[i] = old != NULL && *ptrs[i] != NULL && p >= base &&
			p < base + nad->arena_size;
		off[i] = in[i] ? (size_t)(p - base) : 0;
	}
	while (nad->arena_len + extra > nad->arena_size)
		nad->arena_size = nad->arena_size ? nad->arena_size * 2 : 256;
	nad->arena = xrealloc(nad->arena, nad->arena_size);
	for (i = 0; i < n; i++)
		if (in[i])
			*ptrs[i] = nad->arena + off[i];
}

/* Copy a string into reserved room; returns its offset. */
static size_t nad_arena_put(struct nad *nad, const char *s, size_t len)
{
	size_t off = nad->arena_len;

	assert(off + len + 1 <= nad->arena_size);
	memmove(nad->arena + off, s, len);
	nad->arena[off + len] = '\0';
	nad->arena_len += len + 1;
	return off;
}

static size_t nad_strsize(const char *s, size_t len)
{
	return s == NULL ? 0 : len + 1;
}

static size_t nad_put_opt(struct nad *nad, const char *s, size_t len)
{
	return s == NULL ? NAD_NOSTR : nad_arena_put(nad, s, len);
}

static const char *nad_str(const struct nad *nad, size_t off)
{
	return off == NAD_NOSTR ? NULL : nad->arena + off;
}

/* Does arena string `off` equal s (NULL matching NAD_NOSTR)? */
static int nad_str_eq(const struct nad *nad, size_t off, const char *s)
{
	if (off == NAD_NOSTR || s == NULL)
		return off == NAD_NOSTR && s == NULL;
	return strcmp(nad->arena + off, s) == 0;
}

/* ---- lifetime ---- */

struct nad *nad_new(void)
{
	return xcalloc(1, sizeof(struct nad));
}

void nad_free(struct nad **nadp)
{
	struct nad *nad = *nadp;

	if (nad == NULL)
		return;
	free(nad->elems);
	free(nad->attrs);
	free(nad->arena);
	free(nad->raw);
	free(nad->raw_ns);
	free(nad);
	*nadp = NULL;
}

struct nad *nad_copy(const struct nad *nad)
{
	struct nad *c = nad_new();

	*c = *nad;
	c->elems = xmalloc(sizeof(*c->elems) * (size_t)(nad->elems_size ? nad->elems_size : 1));
	c->attrs = xmalloc(sizeof(*c->attrs) * (size_t)(nad->attrs_size ? nad->attrs_size : 1));
	c->arena = xmalloc(nad->arena_size ? nad->arena_size : 1);
	if (nad->nelems > 0)
		memcpy(c->elems, nad->elems, sizeof(*c->elems) * (size_t)nad->nelems);
	if (nad->nattrs > 0)
		memcpy(c->attrs, nad->attrs, sizeof(*c->attrs) * (size_t)nad->nattrs);
	if (nad->arena_len > 0)
		memcpy(c->arena, nad->arena, nad->arena_len);
	if (nad->raw != NULL) {
		c->raw = xmalloc(nad->raw_len);
		memcpy(c->raw, nad->raw, nad->raw_len);
	}
	c->raw_ns = nad->raw_ns != NULL ? xstrdup(nad->raw_ns) : NULL;
	return c;
}

/* ---- the received bytes ---- */

void nad_raw_set(struct nad *nad, const char *data, size_t len, const char *inherited_ns)
{
	nad_raw_drop(nad);
	if (data == NULL || len == 0)
		return;
	nad->raw = xmalloc(len);
	memcpy(nad->raw, data, len);
	nad->raw_len = len;
	nad->raw_ns = inherited_ns != NULL ? xstrdup(inherited_ns) : NULL;
}

const char *nad_raw(const struct nad *nad, size_t *len_r, const char **inherited_ns_r)
{
	if (nad == NULL || nad->raw == NULL)
		return NULL;
	*len_r = nad->raw_len;
	if (inherited_ns_r != NULL)
		*inherited_ns_r = nad->raw_ns;
	return nad->raw;
}

void nad_raw_drop(struct nad *nad)
{
	if (nad->raw == NULL)
		return;
	free(nad->raw);
	free(nad->raw_ns);
	nad->raw = nad->raw_ns = NULL;
	nad->raw_len = 0;
}

/* ---- building ---- */

static int nad_valid(const struct nad *nad, int elem)
{
	return nad != NULL && elem >= 0 && elem < nad->nelems;
}

/* Append a fresh element to the arrays (not linked yet). Lengths are those
 * of the strings; ns/prefix may be NULL. */
static int nad_elem_new(struct nad *nad, int parent, const char *ns, size_t nslen,
			const char *prefix, size_t plen, const char *name, size_t nlen)
{
	const char **ptrs[3] = { &ns, &prefix, &name };
	struct nad_elem *e;
	int idx;

	nad_raw_drop(nad);
	assert(parent == NAD_NONE ? nad->nelems == 0 : nad_valid(nad, parent));
	assert(nad->nelems < INT_MAX);
	nad_arena_reserve(nad, nad_strsize(ns, nslen) + nad_strsize(prefix, plen) + nlen + 1,
			  ptrs, 3);
	if (nad->nelems == nad->elems_size) {
		nad->elems_size = nad->elems_size ? nad->elems_size * 2 : 8;
		nad->elems = xrealloc(nad->elems, sizeof(*nad->elems) * (size_t)nad->elems_size);
	}
	idx = nad->nelems++;
	e = &nad->elems[idx];
	memset(e, 0, sizeof(*e));
	e->parent = parent;
	e->first_child = e->last_child = e->next = e->prev = NAD_NONE;
	e->first_attr = e->last_attr = NAD_NONE;
	e->name = nad_arena_put(nad, name, nlen);
	e->ns = nad_put_opt(nad, ns, nslen);
	e->prefix = ns == NULL ? NAD_NOSTR : nad_put_opt(nad, prefix, plen);
	e->cdata = e->tail = NAD_NOSTR;
	if (parent != NAD_NONE) {
		struct nad_elem *p = &nad->elems[parent];

		e->prev = p->last_child;
		if (p->last_child != NAD_NONE)
			nad->elems[p->last_child].next = idx;
		else
			p->first_child = idx;
		p->last_child = idx;
	}
	return idx;
}

int nad_elem_add(struct nad *nad, int parent, const char *ns, const char *name)
{
	return nad_elem_add_prefixed(nad, parent, ns, NULL, name);
}

int nad_elem_add_prefixed(struct nad *nad, int parent, const char *ns, const char *prefix,
			  const char *name)
{
	return nad_elem_new(nad, parent, ns, ns ? strlen(ns) : 0, prefix,
			    prefix ? strlen(prefix) : 0, name, strlen(name));
}

/* Split expat's "URI<sep>local[<sep>prefix]" into its parts. */
struct nad_qname {
	const char *ns, *prefix, *name;
	size_t nslen, plen, nlen;
};

static void nad_qname_split(const char *qname, char sep, struct nad_qname *q)
{
	const char *s1 = strchr(qname, sep), *s2;

	memset(q, 0, sizeof(*q));
	if (s1 == NULL) {
		q->name = qname;
		q->nlen = strlen(qname);
		return;
	}
	q->ns = qname;
	q->nslen = (size_t)(s1 - qname);
	q->name = s1 + 1;
	s2 = strchr(q->name, sep);
	if (s2 == NULL) {
		q->nlen = strlen(q->name);
		return;
	}
	q->nlen = (size_t)(s2 - q->name);
	q->prefix = s2 + 1;
	q->plen = strlen(q->prefix);
}

int nad_elem_add_qname(struct nad *nad, int parent, const char *qname, char sep)
{
	struct nad_qname q;

	nad_qname_split(qname, sep, &q);
	return nad_elem_new(nad, parent, q.ns, q.nslen, q.prefix, q.plen, q.name, q.nlen);
}

void nad_elem_set_ns(struct nad *nad, int elem, const char *ns)
{
	const char **ptrs[1] = { &ns };
	size_t old, off;
	int e;

	nad_raw_drop(nad);
	assert(nad_valid(nad, elem));
	nad_arena_reserve(nad, nad_strsize(ns, ns ? strlen(ns) : 0), ptrs, 1);
	off = nad_put_opt(nad, ns, ns ? strlen(ns) : 0);
	old = nad->elems[elem].ns;
	/* Walk the subtree in document order without a stack: down to the
	 * first child, else across, else up until a sibling is found. */
	e = elem;
	for (;;) {
		struct nad_elem *x = &nad->elems[e];

		if (e == elem || (old == NAD_NOSTR ? x->ns == NAD_NOSTR :
				  nad_str_eq(nad, x->ns, nad->arena + old))) {
			x->ns = off;
			x->prefix = NAD_NOSTR;
		}
		if (x->first_child != NAD_NONE) {
			e = x->first_child;
			continue;
		}
		while (e != elem && nad->elems[e].next == NAD_NONE)
			e = nad->elems[e].parent;
		if (e == elem)
			break;
		e = nad->elems[e].next;
	}
}

/* Text of a removed element's tail must not vanish from its parent's
 * content: it joins the previous sibling's tail or the parent's cdata. */
static void nad_unlink(struct nad *nad, int elem)
{
	struct nad_elem *e = &nad->elems[elem];
	struct nad_elem *p = &nad->elems[e->parent];
	size_t tail = e->tail, tail_len = e->tail_len;
	int parent = e->parent, prev = e->prev;

	nad_raw_drop(nad);
	if (e->prev != NAD_NONE)
		nad->elems[e->prev].next = e->next;
	else
		p->first_child = e->next;
	if (e->next != NAD_NONE)
		nad->elems[e->next].prev = e->prev;
	else
		p->last_child = e->prev;
	e->parent = e->next = e->prev = NAD_NONE;
	e->tail = NAD_NOSTR;
	e->tail_len = 0;
	if (tail_len > 0) {
		/* nad_text_append targets the last child's tail or the cdata;
		 * aim it at the old previous sibling by appending there. */
		size_t *dst = prev != NAD_NONE ? &nad->elems[prev].tail :
			&nad->elems[parent].cdata;
		size_t *dst_len = prev != NAD_NONE ? &nad->elems[prev].tail_len :
			&nad->elems[parent].cdata_len;
		const char *t = nad->arena + tail;
		const char **ptrs[1] = { &t };
		size_t old_len = *dst_len, off;

		nad_arena_reserve(nad, old_len + tail_len + 1, ptrs, 1);
		off = nad->arena_len;
		if (old_len > 0)
			memcpy(nad->arena + off, nad->arena + *dst, old_len);
		memcpy(nad->arena + off + old_len, t, tail_len);
		nad->arena[off + old_len + tail_len] = '\0';
		nad->arena_len += old_len + tail_len + 1;
		*dst = off;
		*dst_len = old_len + tail_len;
	}
}

void nad_elem_remove(struct nad *nad, int elem)
{
	assert(nad_valid(nad, elem));
	if (nad->elems[elem].parent == NAD_NONE)
		return;         /* the root, or already unlinked */
	nad_unlink(nad, elem);
}

/* Append text to the string (*off, *len), in place when it ends the arena. */
static void nad_text_grow(struct nad *nad, int elem, int tail, const char *text, size_t len)
{
	const char **ptrs[1] = { &text };
	size_t *off, *cur;
	size_t old;

	nad_raw_drop(nad);
	nad_arena_reserve(nad, len + 1 + (tail ? nad->elems[elem].tail_len :
					  nad->elems[elem].cdata_len), ptrs, 1);
	off = tail ? &nad->elems[elem].tail : &nad->elems[elem].cdata;
	cur = tail ? &nad->elems[elem].tail_len : &nad->elems[elem].cdata_len;
	old = *cur;
	if (*off != NAD_NOSTR && *off + old + 1 == nad->arena_len) {
		memmove(nad->arena + *off + old, text, len);
		nad->arena[*off + old + len] = '\0';
		nad->arena_len += len;
	} else {
		size_t n = nad->arena_len;

		if (old > 0)
			memcpy(nad->arena + n, nad->arena + *off, old);
		memmove(nad->arena + n + old, text, len);
		nad->arena[n + old + len] = '\0';
		nad->arena_len += old + len + 1;
		*off = n;
	}
	*cur = old + len;
}

void nad_text_append(struct nad *nad, int elem, const char *text, size_t len)
{
	int last;

	assert(nad_valid(nad, elem));
	if (len == 0)
		return;
	last = nad->elems[elem].last_child;
	if (last == NAD_NONE)
		nad_text_grow(nad, elem, 0, text, len);
	else
		nad_text_grow(nad, last, 1, text, len);
}

void nad_text_set(struct nad *nad, int elem, const char *text, size_t len)
{
	const char **ptrs[1] = { &text };
	struct nad_elem *e;

	nad_raw_drop(nad);
	assert(nad_valid(nad, elem));
	nad_arena_reserve(nad, len + 1, ptrs, 1);
	while (nad->elems[elem].first_child != NAD_NONE) {
		int c = nad->elems[elem].first_child;

		nad->elems[c].tail = NAD_NOSTR;
		nad->elems[c].tail_len = 0;
		nad_unlink(nad, c);
	}
	e = &nad->elems[elem];
	e->cdata = len > 0 ? nad_arena_put(nad, text, len) : NAD_NOSTR;
	e->cdata_len = len;
}

/* ---- attributes ---- */

static int nad_attr_find(const struct nad *nad, int elem, const char *ns, size_t nslen,
			 const char *name, size_t nlen, int *prev_r)
{
	int a, prev = NAD_NONE;

	for (a = nad->elems[elem].first_attr; a != NAD_NONE; prev = a, a = nad->attrs[a].next) {
		const struct nad_attr *at = &nad->attrs[a];
		const char *an = nad->arena + at->name;

		if (strlen(an) != nlen || memcmp(an, name, nlen) != 0)
			continue;
		if (ns == NULL ? at->ns != NAD_NOSTR :
		    (at->ns == NAD_NOSTR || strlen(nad->arena + at->ns) != nslen ||
		     memcmp(nad->arena + at->ns, ns, nslen) != 0))
			continue;
		if (prev_r != NULL)
			*prev_r = prev;
		return a;
	}
	return NAD_NONE;
}

static void nad_attr_drop(struct nad *nad, int elem, int a, int prev)
{
	struct nad_elem *e = &nad->elems[elem];

	if (prev == NAD_NONE)
		e->first_attr = nad->attrs[a].next;
	else
		nad->attrs[prev].next = nad->attrs[a].next;
	if (e->last_attr == a)
		e->last_attr = prev;
}

/* The one setter the public ones funnel into. value NULL removes.
 * `fresh`: the caller knows elem has no such attribute yet (a parser
 * that rejects duplicates), so none is looked for. */
static void nad_attr_put_as(struct nad *nad, int elem, struct nad_qname *q, const char *value,
			    size_t vlen, int fresh)
{
	const char **ptrs[4] = { &q->ns, &q->prefix, &q->name, &value };
	struct nad_attr *at;
	int a, prev = NAD_NONE;

	nad_raw_drop(nad);
	assert(nad_valid(nad, elem));
	a = fresh ? NAD_NONE : nad_attr_find(nad, elem, q->ns, q->nslen, q->name, q->nlen, &prev);
	if (value == NULL) {
		if (a != NAD_NONE)
			nad_attr_drop(nad, elem, a, prev);
		return;
	}
	nad_arena_reserve(nad, nad_strsize(q->ns, q->nslen) + nad_strsize(q->prefix, q->plen) +
			  q->nlen + 1 + vlen + 1, ptrs, 4);
	if (a == NAD_NONE) {
		if (nad->nattrs == nad->attrs_size) {
			assert(nad->attrs_size < INT_MAX / 2);
			nad->attrs_size = nad->attrs_size ? nad->attrs_size * 2 : 8;
			nad->attrs = xrealloc(nad->attrs,
					      sizeof(*nad->attrs) * (size_t)nad->attrs_size);
		}
		a = nad->nattrs++;
		at = &nad->attrs[a];
		at->next = NAD_NONE;
		at->name = nad_arena_put(nad, q->name, q->nlen);
		at->ns = nad_put_opt(nad, q->ns, q->nslen);
		at->prefix = NAD_NOSTR;
		if (nad->elems[elem].last_attr == NAD_NONE)
			nad->elems[elem].first_attr = a;
		else
			nad->attrs[nad->elems[elem].last_attr].next = a;
		nad->elems[elem].last_attr = a;
	}
	at = &nad->attrs[a];
	if (q->prefix != NULL && q->ns != NULL)
		at->prefix = nad_arena_put(nad, q->prefix, q->plen);
	at->value = nad_arena_put(nad, value, vlen);
	at->value_len = vlen;
}

static void nad_attr_put(struct nad *nad, int elem, struct nad_qname *q, const char *value,
			 size_t vlen)
{
	nad_attr_put_as(nad, elem, q, value, vlen, 0);
}

static void nad_qname_set(struct nad_qname *q, const char *ns, const char *prefix,
			  const char *name)
{
	q->ns = ns;
	q->nslen = ns ? strlen(ns) : 0;
	q->prefix = prefix;
	q->plen = prefix ? strlen(prefix) : 0;
	q->name = name;
	q->nlen = strlen(name);
}

void nad_attr_set(struct nad *nad, int elem, const char *ns, const char *name,
		  const char *value)
{
	nad_attr_set_prefixed(nad, elem, ns, NULL, name, value);
}

void nad_attr_set_len(struct nad *nad, int elem, const char *ns, const char *name,
		      const char *value, size_t len)
{
	struct nad_qname q;

	nad_qname_set(&q, ns, NULL, name);
	nad_attr_put(nad, elem, &q, value, len);
}

void nad_attr_set_prefixed(struct nad *nad, int elem, const char *ns, const char *prefix,
			   const char *name, const char *value)
{
	struct nad_qname q;

	nad_qname_set(&q, ns, prefix, name);
	nad_attr_put(nad, elem, &q, value, value ? strlen(value) : 0);
}

void nad_attr_set_qname(struct nad *nad, int elem, const char *qname, char sep,
			const char *value)
{
	struct nad_qname q;

	nad_qname_split(qname, sep, &q);
	nad_attr_put(nad, elem, &q, value, value ? strlen(value) : 0);
}

void nad_attr_add_qname(struct nad *nad, int elem, const char *qname, char sep,
			const char *value)
{
	struct nad_qname q;

	nad_qname_split(qname, sep, &q);
	nad_attr_put_as(nad, elem, &q, value, strlen(value), 1);
}

/* ---- reading ---- */

int nad_root(const struct nad *nad)
{
	return nad != NULL && nad->nelems > 0 ? 0 : NAD_NONE;
}

int nad_parent(const struct nad *nad, int elem)
{
	return nad_valid(nad, elem) ? nad->elems[elem].parent : NAD_NONE;
}

static int nad_match(const struct nad *nad, int elem, const char *ns, const char *name)
{
	const struct nad_elem *e = &nad->elems[elem];

	if (name != NULL && strcmp(nad->arena + e->name, name) != 0)
		return 0;
	return ns == NULL || (e->ns != NAD_NOSTR && strcmp(nad->arena + e->ns, ns) == 0);
}

int nad_child(const struct nad *nad, int elem, const char *ns, const char *name)
{
	int c;

	if (!nad_valid(nad, elem))
		return NAD_NONE;
	for (c = nad->elems[elem].first_child; c != NAD_NONE; c = nad->elems[c].next)
		if (nad_match(nad, c, ns, name))
			return c;
	return NAD_NONE;
}

int nad_next(const struct nad *nad, int elem, const char *ns, const char *name)
{
	int c;

	if (!nad_valid(nad, elem))
		return NAD_NONE;
	for (c = nad->elems[elem].next; c != NAD_NONE; c = nad->elems[c].next)
		if (nad_match(nad, c, ns, name))
			return c;
	return NAD_NONE;
}

const char *nad_name(const struct nad *nad, int elem)
{
	return nad_valid(nad, elem) ? nad->arena + nad->elems[elem].name : NULL;
}

const char *nad_ns(const struct nad *nad, int elem)
{
	return nad_valid(nad, elem) ? nad_str(nad, nad->elems[elem].ns) : NULL;
}

const char *nad_prefix(const struct nad *nad, int elem)
{
	return nad_valid(nad, elem) ? nad_str(nad, nad->elems[elem].prefix) : NULL;
}

/* `ns` NULL finds only an unqualified attribute: "lang" is not xml:lang. */
const char *nad_attr(const struct nad *nad, int elem, const char *ns, const char *name)
{
	int a;

	if (!nad_valid(nad, elem) || name == NULL)
		return NULL;
	a = nad_attr_find(nad, elem, ns, ns ? strlen(ns) : 0, name, strlen(name), NULL);
	return a == NAD_NONE ? NULL : nad->arena + nad->attrs[a].value;
}

/* *pos is 0 at the start, then the next attribute's index + 1, or -1 at
 * the end. */
int nad_attr_next(const struct nad *nad, int elem, int *pos, const char **ns_r,
		  const char **name_r, const char **value_r)
{
	int a;

	if (!nad_valid(nad, elem) || *pos < 0)
		return 0;
	a = *pos == 0 ? nad->elems[elem].first_attr : *pos - 1;
	if (a == NAD_NONE || a >= nad->nattrs) {
		*pos = -1;
		return 0;
	}
	if (ns_r != NULL)
		*ns_r = nad_str(nad, nad->attrs[a].ns);
	if (name_r != NULL)
		*name_r = nad->arena + nad->attrs[a].name;
	if (value_r != NULL)
		*value_r = nad->arena + nad->attrs[a].value;
	*pos = nad->attrs[a].next == NAD_NONE ? -1 : nad->attrs[a].next + 1;
	return 1;
}

const char *nad_text(const struct nad *nad, int elem, size_t *len_r)
{
	size_t len = 0;
	const char *s = "";

	if (nad_valid(nad, elem) && nad->elems[elem].cdata != NAD_NOSTR) {
		s = nad->arena + nad->elems[elem].cdata;
		len = nad->elems[elem].cdata_len;
	}
	if (len_r != NULL)
		*len_r = len;
	return s;
}

const char *nad_tail(const struct nad *nad, int elem, size_t *len_r)
{
	size_t len = 0;
	const char *s = "";

	if (nad_valid(nad, elem) && nad->elems[elem].tail != NAD_NOSTR) {
		s = nad->arena + nad->elems[elem].tail;
		len = nad->elems[elem].tail_len;
	}
	if (len_r != NULL)
		*len_r = len;
	return s;
}

int nad_count(const struct nad *nad)
{
	return nad == NULL ? 0 : nad->nelems;
}

size_t nad_memory(const struct nad *nad)
{
	if (nad == NULL)
		return 0;
	return sizeof(*nad) + sizeof(*nad->elems) * (size_t)nad->elems_size +
		sizeof(*nad->attrs) * (size_t)nad->attrs_size + nad->arena_size + nad->raw_len;
}

/* ---- copying between nads ---- */

/* Copy one element (name, attributes, cdata) of src under dparent in dst.
 * dst != src. */
static int nad_copy_one(struct nad *dst, int dparent, const struct nad *src, int s)
{
	const struct nad_elem *se = &src->elems[s];
	const char *ns = nad_str(src, se->ns), *prefix = nad_str(src, se->prefix);
	const char *name = src->arena + se->name;
	int d, a;

	d = nad_elem_new(dst, dparent, ns, ns ? strlen(ns) : 0, prefix,
			 prefix ? strlen(prefix) : 0, name, strlen(name));
	for (a = se->first_attr; a != NAD_NONE; a = src->attrs[a].next) {
		const struct nad_attr *at = &src->attrs[a];
		struct nad_qname q;

		nad_qname_set(&q, nad_str(src, at->ns), nad_str(src, at->prefix),
			      src->arena + at->name);
		nad_attr_put(dst, d, &q, src->arena + at->value, at->value_len);
	}
	if (se->cdata_len > 0)
		nad_text_grow(dst, d, 0, src->arena + se->cdata, se->cdata_len);
	return d;
}

/* Deep copy with a paired walk of both trees; the parent links of dst stand
 * in for a stack. */
static int nad_copy_tree(struct nad *dst, int parent, const struct nad *src, int top)
{
	int s = top, d, dtop;

	dtop = d = nad_copy_one(dst, parent, src, top);
	for (;;) {
		int c = src->elems[s].first_child;

		if (c != NAD_NONE) {
			s = c;
			d = nad_copy_one(dst, d, src, c);
			continue;
		}
		while (s != top) {
			const struct nad_elem *se = &src->elems[s];

			if (se->tail_len > 0)
				nad_text_grow(dst, d, 1, src->arena + se->tail, se->tail_len);
			if (se->next != NAD_NONE)
				break;
			s = se->parent;
			d = dst->elems[d].parent;
		}
		if (s == top)
			return dtop;
		s = src->elems[s].next;
		d = nad_copy_one(dst, dst->elems[d].parent, src, s);
	}
}

struct nad *nad_extract(const struct nad *nad, int elem)
{
	struct nad *n;

	assert(nad_valid(nad, elem));
	n = nad_new();
	nad_copy_tree(n, NAD_NONE, nad, elem);
	return n;
}

int nad_graft(struct nad *dst, int parent, const struct nad *src, int src_elem)
{
	struct nad *tmp;
	int r;

	assert(nad_valid(dst, parent) && nad_valid(src, src_elem));
	if (dst != src)
		return nad_copy_tree(dst, parent, src, src_elem);
	/* Copying within one nad would read arrays while they move. */
	tmp = nad_extract(src, src_elem);
	r = nad_copy_tree(dst, parent, tmp, 0);
	nad_free(&tmp);
	return r;
}

/* ---- serializer ---- */

/* The namespace declarations in force while writing: (prefix, uri) pairs,
 * innermost last; prefix NULL is the default namespace. */
struct nad_scope {
	struct nad_binding {
		const char *prefix;
		const char *uri;
		char *owned;    /* a generated prefix, freed on pop */
	} *b;
	int n;
	int size;
};

static void nad_scope_push(struct nad_scope *sc, const char *prefix, const char *uri,
			   char *owned)
{
	if (sc->n == sc->size) {
		sc->size = sc->size ? sc->size * 2 : 16;
		sc->b = xrealloc(sc->b, sizeof(*sc->b) * (size_t)sc->size);
	}
	sc->b[sc->n].prefix = owned ? owned : prefix;
	sc->b[sc->n].uri = uri;
	sc->b[sc->n].owned = owned;
	sc->n++;
}

static void nad_scope_pop(struct nad_scope *sc, int mark)
{
	while (sc->n > mark)
		free(sc->b[--sc->n].owned);
}

/* The URI a prefix (NULL: the default) is bound to; *found_r says whether
 * it is bound at all, since the default may be bound to "no namespace". */
static const char *nad_scope_lookup(const struct nad_scope *sc, const char *prefix,
				    int *found_r)
{
	int i;

	for (i = sc->n - 1; i >= 0; i--) {
		const char *p = sc->b[i].prefix;

		if ((p == NULL) == (prefix == NULL) && (p == NULL || strcmp(p, prefix) == 0)) {
			*found_r = 1;
			return sc->b[i].uri;
		}
	}
	*found_r = 0;
	return NULL;
}

static int nad_scope_has(const struct nad_scope *sc, const char *prefix, const char *uri)
{
	int found;
	const char *u = nad_scope_lookup(sc, prefix, &found);

	return found && u != NULL && strcmp(u, uri) == 0;
}

/* A prefix bound to uri and not shadowed, or NULL. */
static const char *nad_scope_prefix_for(const struct nad_scope *sc, const char *uri)
{
	int i;

	for (i = sc->n - 1; i >= 0; i--)
		if (sc->b[i].prefix != NULL && strcmp(sc->b[i].uri, uri) == 0 &&
		    nad_scope_has(sc, sc->b[i].prefix, uri))
			return sc->b[i].prefix;
	return NULL;
}

/* Make sure a namespaced attribute has a usable prefix in scope. */
static void nad_scope_attr(struct nad_scope *sc, const char *uri, const char *prefix)
{
	int found, i;
	char *gen;

	if (strcmp(uri, NAD_NS_XML) == 0)
		return;
	if (prefix != NULL && strcmp(prefix, "xml") != 0 && strcmp(prefix, "xmlns") != 0) {
		if (nad_scope_has(sc, prefix, uri))
			return;
		nad_scope_lookup(sc, prefix, &found);
		if (!found) {
			nad_scope_push(sc, prefix, uri, NULL);
			return;
		}
	}
	if (nad_scope_prefix_for(sc, uri) != NULL)
		return;
	for (i = 1;; i++) {
		gen = xasprintf("ns%d", i);
		nad_scope_lookup(sc, gen, &found);
		if (!found)
			break;
		free(gen);
	}
	nad_scope_push(sc, NULL, uri, gen);
}

/* The prefix to write for a namespaced attribute, after nad_scope_attr. */
static const char *nad_attr_prefix(const struct nad_scope *sc, const char *uri,
				   const char *prefix)
{
	if (strcmp(uri, NAD_NS_XML) == 0)
		return "xml";
	if (prefix != NULL && strcmp(prefix, "xml") != 0 && nad_scope_has(sc, prefix, uri))
		return prefix;
	return nad_scope_prefix_for(sc, uri);
}

/* Escape for XML; attribute values also keep tabs and line breaks, which
 * a parser would otherwise normalize to spaces, and text keeps CRs. */
static void nad_escape(struct buf *out, const char *s, size_t len, int attr)
{
	size_t i, start = 0;

	for (i = 0; i < len; i++) {
		const char *ent = NULL;

		if (s[i] == '\r')
			ent = "&#13;";
		else if (attr && s[i] == '\n')
			ent = "&#10;";
		else if (attr && s[i] == '\t')
			ent = "&#9;";
		if (ent == NULL)
			continue;
		buf_append_xml(out, s + start, i - start, attr);
		buf_append_str(out, ent);
		start = i + 1;
	}
	buf_append_xml(out, s + start, len - start, attr);
}

static void nad_write_qname(struct buf *out, const char *prefix, const char *name)
{
	if (prefix != NULL) {
		buf_append_str(out, prefix);
		buf_append_char(out, ':');
	}
	buf_append_str(out, name);
}

/* Push onto the scope whatever the element and its attributes need that
 * is not bound yet; the bindings from sc->n on are to be declared. */
static void nad_declare(const struct nad *nad, int elem, struct nad_scope *sc)
{
	const struct nad_elem *e = &nad->elems[elem];
	const char *ns = nad_str(nad, e->ns), *prefix = nad_str(nad, e->prefix);
	int found, a;

	if (ns != NULL && prefix != NULL) {
		if (strcmp(prefix, "xml") != 0 && !nad_scope_has(sc, prefix, ns))
			nad_scope_push(sc, prefix, ns, NULL);
	} else {
		const char *def = nad_scope_lookup(sc, NULL, &found);

		if (ns == NULL ? def != NULL : (def == NULL || strcmp(def, ns) != 0))
			nad_scope_push(sc, NULL, ns, NULL);
	}
	for (a = e->first_attr; a != NAD_NONE; a = nad->attrs[a].next)
		if (nad->attrs[a].ns != NAD_NOSTR)
			nad_scope_attr(sc, nad->arena + nad->attrs[a].ns,
				       nad_str(nad, nad->attrs[a].prefix));
}

static void nad_write_decls(const struct nad_scope *sc, int from, struct buf *out)
{
	int i;

	for (i = from; i < sc->n; i++) {
		buf_append_str(out, " xmlns");
		if (sc->b[i].prefix != NULL) {
			buf_append_char(out, ':');
			buf_append_str(out, sc->b[i].prefix);
		}
		buf_append_str(out, "='");
		if (sc->b[i].uri != NULL)
			nad_escape(out, sc->b[i].uri, strlen(sc->b[i].uri), 1);
		buf_append_char(out, '\'');
	}
}

/* Declare what the element needs, then write its start tag. Returns 1 if
 * the element was closed at once (<x/>). */
static int nad_write_start(const struct nad *nad, int elem, struct nad_scope *sc,
			   struct buf *out)
{
	const struct nad_elem *e = &nad->elems[elem];
	int mark = sc->n, a;

	nad_declare(nad, elem, sc);
	buf_append_char(out, '<');
	nad_write_qname(out, e->ns != NAD_NOSTR ? nad_str(nad, e->prefix) : NULL,
			nad->arena + e->name);
	nad_write_decls(sc, mark, out);
	for (a = e->first_attr; a != NAD_NONE; a = nad->attrs[a].next) {
		const struct nad_attr *at = &nad->attrs[a];

		buf_append_char(out, ' ');
		nad_write_qname(out, at->ns == NAD_NOSTR ? NULL :
				nad_attr_prefix(sc, nad->arena + at->ns, nad_str(nad, at->prefix)),
				nad->arena + at->name);
		buf_append_str(out, "='");
		nad_escape(out, nad->arena + at->value, at->value_len, 1);
		buf_append_char(out, '\'');
	}
	if (e->first_child == NAD_NONE && e->cdata_len == 0) {
		buf_append_str(out, "/>");
		return 1;
	}
	buf_append_char(out, '>');
	if (e->cdata_len > 0)
		nad_escape(out, nad->arena + e->cdata, e->cdata_len, 0);
	return 0;
}

static void nad_write_end(const struct nad *nad, int elem, struct buf *out)
{
	const struct nad_elem *e = &nad->elems[elem];

	buf_append_str(out, "</");
	nad_write_qname(out, e->ns != NAD_NOSTR ? nad_str(nad, e->prefix) : NULL,
			nad->arena + e->name);
	buf_append_char(out, '>');
}

void nad_serialize_scoped(const struct nad *nad, int top, const char *default_ns,
			  const char *const *scope, struct buf *out)
{
	struct nad_scope sc = { 0 };
	int *marks = NULL, nmarks = 0, size = 0, e = top;

	assert(nad_valid(nad, top));
	nad_scope_push(&sc, NULL, default_ns, NULL);
	for (; scope != NULL && scope[0] != NULL && scope[1] != NULL; scope += 2)
		nad_scope_push(&sc, scope[0], scope[1], NULL);
	for (;;) {
		int mark = sc.n;

		if (!nad_write_start(nad, e, &sc, out)) {
			if (nmarks == size) {
				size = size ? size * 2 : 16;
				marks = xrealloc(marks, sizeof(*marks) * (size_t)size);
			}
			marks[nmarks++] = mark;
			if (nad->elems[e].first_child != NAD_NONE) {
				e = nad->elems[e].first_child;
				continue;
			}
			nad_write_end(nad, e, out);
			nad_scope_pop(&sc, marks[--nmarks]);
		} else
			nad_scope_pop(&sc, mark);
		/* e is complete: write tails and end tags up to a sibling. */
		while (e != top && nad->elems[e].next == NAD_NONE) {
			if (nad->elems[e].tail_len > 0)
				nad_escape(out, nad->arena + nad->elems[e].tail,
					   nad->elems[e].tail_len, 0);
			e = nad->elems[e].parent;
			nad_write_end(nad, e, out);
			nad_scope_pop(&sc, marks[--nmarks]);
		}
		if (e == top)
			break;
		if (nad->elems[e].tail_len > 0)
			nad_escape(out, nad->arena + nad->elems[e].tail, nad->elems[e].tail_len, 0);
		e = nad->elems[e].next;
	}
	nad_scope_pop(&sc, 0);
	free(sc.b);
	free(marks);
}

void nad_serialize(const struct nad *nad, int elem, const char *default_ns, struct buf *out)
{
	nad_serialize_scoped(nad, elem, default_ns, NULL, out);
}

char *nad_to_string(const struct nad *nad, size_t *len_r)
{
	struct buf b = { 0 };

	if (nad_root(nad) != NAD_NONE)
		nad_serialize(nad, 0, NULL, &b);
	return buf_steal(&b, len_r);
}
