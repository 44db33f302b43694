/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nad: the compact element tree that every stanza, stream header and config
 * file lives in ("not a DOM"). One nad holds one element and its
 * descendants in a few flat arrays with a single string arena, so a stanza
 * costs a handful of allocations however large it is, and copying one is a
 * few memcpy calls.
 *
 * Elements are named by int indices into the nad; the root is 0 and
 * NAD_NONE (-1) means "no element". An index stays valid until the nad is
 * freed (removing an element only unlinks it).
 *
 * Text follows the "cdata + tail" model: an element's cdata is the text
 * before its first child element, and each element's tail is the text
 * between its end tag and the next sibling (or its parent's end tag). That
 * keeps mixed content in document order while a leaf element's text is one
 * string.
 *
 * Namespaces are URIs. Elements and attributes carry the URI and, where it
 * came from a parse or was asked for, a prefix; the serializer declares
 * whatever is not already in scope. The xml: prefix
 * (http://www.w3.org/XML/1998/namespace, NAD_NS_XML) is never declared.
 */
#ifndef UTIL_NAD_H
#define UTIL_NAD_H

#include <stddef.h>

struct buf;

#define NAD_NONE (-1)
#define NAD_NS_XML "http://www.w3.org/XML/1998/namespace"

struct nad;

struct nad *nad_new(void);
void nad_free(struct nad **nadp);
/* Deep copy of the whole nad. */
struct nad *nad_copy(const struct nad *nad);
/* A new nad whose root is a deep copy of `elem` and its subtree. */
struct nad *nad_extract(const struct nad *nad, int elem);

/*
 * Building. nad_elem_add() appends a child element to `parent` (after its
 * existing children) or, with parent NAD_NONE, creates the root (the nad
 * must be empty). `ns` NULL means no namespace. Returns the new index.
 */
int nad_elem_add(struct nad *nad, int parent, const char *ns, const char *name);
int nad_elem_add_prefixed(struct nad *nad, int parent, const char *ns,
			  const char *prefix, const char *name);
/* Change an element's namespace (e.g. jabber:server -> jabber:client); the
 * prefix is dropped so the new namespace becomes the default. Descendants
 * that were in the element's old namespace (a stanza's <body>) move with
 * it; descendants in other namespaces keep theirs. */
void nad_elem_set_ns(struct nad *nad, int elem, const char *ns);
/* Unlink `elem` and its subtree from its parent (not the root). */
void nad_elem_remove(struct nad *nad, int elem);
/* Deep-copy `src_elem` of `src` as the last child of `parent` in `dst`
 * (dst may be src). Returns the new index in dst. */
int nad_graft(struct nad *dst, int parent, const struct nad *src, int src_elem);

/* Add an element or set an attribute named the way expat reports names
 * with XML_ParserCreateNS(sep) and XML_SetReturnNSTriplet: "local",
 * "URI<sep>local" or "URI<sep>local<sep>prefix". For the XML parsers
 * (nad_parse, sx). */
int nad_elem_add_qname(struct nad *nad, int parent, const char *qname, char sep);
void nad_attr_set_qname(struct nad *nad, int elem, const char *qname, char sep,
			const char *value);
/* As nad_attr_set_qname for a value that is not NULL, where the caller
 * knows elem has no attribute of that namespace and name yet (a parser
 * that rejects duplicate attributes, as expat does): it is not looked
 * for. An attribute added twice this way is there twice. */
void nad_attr_add_qname(struct nad *nad, int elem, const char *qname, char sep,
			const char *value);

/* Set (add or replace) an attribute; `ns` NULL = unqualified. A NULL value
 * removes the attribute. */
void nad_attr_set(struct nad *nad, int elem, const char *ns, const char *name,
		  const char *value);
void nad_attr_set_len(struct nad *nad, int elem, const char *ns, const char *name,
		      const char *value, size_t len);
void nad_attr_set_prefixed(struct nad *nad, int elem, const char *ns,
			   const char *prefix, const char *name, const char *value);

/* Append character data at the current end of elem's content: to its cdata
 * if it has no child element yet, else to its last child's tail. */
void nad_text_append(struct nad *nad, int elem, const char *text, size_t len);
/* Replace elem's content with text: child elements are removed. */
void nad_text_set(struct nad *nad, int elem, const char *text, size_t len);

/* Reading. */
int nad_root(const struct nad *nad);                 /* 0, or NAD_NONE if empty */
int nad_parent(const struct nad *nad, int elem);     /* NAD_NONE for the root */
/* First child / next sibling element matching (ns, name); NULL matches any.
 * nad_child(nad, e, NULL, NULL) is e's first child element. */
int nad_child(const struct nad *nad, int elem, const char *ns, const char *name);
int nad_next(const struct nad *nad, int elem, const char *ns, const char *name);
const char *nad_name(const struct nad *nad, int elem);
const char *nad_ns(const struct nad *nad, int elem);      /* NULL: no namespace */
const char *nad_prefix(const struct nad *nad, int elem);  /* NULL: default */
/* Attribute value (NUL-terminated), or NULL if absent. */
const char *nad_attr(const struct nad *nad, int elem, const char *ns, const char *name);
/* Iterate attributes: start with *pos = 0; returns 1 and fills the out
 * params (any may be NULL) while there is another, then 0. */
int nad_attr_next(const struct nad *nad, int elem, int *pos, const char **ns_r,
		  const char **name_r, const char **value_r);
/* elem's cdata (text before its first child), never NULL. */
const char *nad_text(const struct nad *nad, int elem, size_t *len_r);
/* Text after elem's end tag, never NULL. */
const char *nad_tail(const struct nad *nad, int elem, size_t *len_r);
/*
 * The received bytes. A parser may attach the exact bytes the root
 * element arrived as (sx does on streams that asked for it, see
 * sx_keep_raw), so that a hop that forwards the element unchanged writes
 * them out instead of serializing the tree again. `inherited_ns` is the
 * default namespace the bytes rely on from where they were parsed (an
 * unprefixed element without its own xmlns inside them), NULL if they
 * rely on none; a writer may use the bytes only where that same default
 * namespace is in force. Every change to the tree drops them (a changed
 * tree is serialized); nad_copy copies them. nad_raw returns NULL when
 * there are none, else the bytes (not NUL-terminated) and their length.
 */
void nad_raw_set(struct nad *nad, const char *data, size_t len, const char *inherited_ns);
const char *nad_raw(const struct nad *nad, size_t *len_r, const char **inherited_ns_r);
void nad_raw_drop(struct nad *nad);

/* Number of elements ever added (including unlinked ones). */
int nad_count(const struct nad *nad);
/* Bytes the nad holds (arrays and arena), for limits and accounting. */
size_t nad_memory(const struct nad *nad);

/*
 * Serialize `elem` and its subtree, appending to `out`. `default_ns` is the
 * default namespace already in force where the XML will be written (the
 * stream's, e.g. "jabber:client"), so it is not declared again; NULL means
 * none. Text and attribute values are escaped. The element's own tail is
 * not written.
 */
void nad_serialize(const struct nad *nad, int elem, const char *default_ns, struct buf *out);
/* As nad_serialize, where the output also has prefixes already declared:
 * `scope` is NULL or a NULL-terminated list of prefix, URI pairs
 * ({"stream", SX_NS_STREAMS, NULL}), so <stream:features> is written with
 * no xmlns:stream of its own. */
void nad_serialize_scoped(const struct nad *nad, int elem, const char *default_ns,
			  const char *const *scope, struct buf *out);
/* Convenience: serialize the root into a fresh string (free() it). */
char *nad_to_string(const struct nad *nad, size_t *len_r);

/*
 * Parse one complete XML document (one root element) into a new nad, with
 * the same safety rules as the stream parser: no DTD, no entity
 * declarations, no processing instructions, at most `max_depth` levels
 * (0 = 256). Used for config files and stored XML. Returns NULL and sets
 * *error_r (a static string or a description valid until the next call in
 * this thread) on failure; *line_r, if not NULL, gets the line of the error.
 */
struct nad *nad_parse(const char *xml, size_t len, unsigned max_depth,
		      const char **error_r, unsigned long *line_r);

/*
 * The same with one parser kept for many documents, its hash salt drawn
 * once: for a hot path that parses one small document after another (a
 * cluster peer's forwarded routes). The documents go through one expat
 * stream, without a reset between them, as long as each is exactly one
 * root element with nothing after its end tag; any other document (an
 * error, an XML declaration, a trailing comment) is parsed again on its
 * own after a reset. Either way the answer (nad, error, line) is
 * nad_parse()'s. Not for two threads at once.
 */
struct nad_reader;
struct nad_reader *nad_reader_new(void);
void nad_reader_free(struct nad_reader **rp);
struct nad *nad_reader_parse(struct nad_reader *r, const char *xml, size_t len,
			     unsigned max_depth, const char **error_r, unsigned long *line_r);

#endif
