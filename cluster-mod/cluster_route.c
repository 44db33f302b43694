/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cluster_route.c: see cluster_route.h. */
#include "config.h"

#include "cluster-mod/cluster_route.h"

#include <string.h>

#include "util/buf.h"
#include "util/nad.h"

#define ROUTE_DECLS_MAX 32
#define ROUTE_ATTRS_MAX 64     /* more: serialized instead (none of ours has) */

/* A namespace declaration of the peer's start tag: xmlns or xmlns:P. */
struct decl {
	const char *text;       /* `xmlns...='value'`, as it was */
	size_t text_len;
	const char *prefix;     /* after "xmlns:", NULL for xmlns */
	size_t prefix_len;
	const char *value;
	size_t value_len;
};

static void buf_truncate(struct buf *b, size_t len)
{
	b->len = len;
	if (b->data != NULL)
		b->data[len] = '\0';
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* An attribute value: what buf_append_xml escapes, and the white space
 * that attribute-value normalization would otherwise turn into spaces.
 * Most values (JIDs, names) have none of these: one scan, one copy. */
static void append_attr_value(struct buf *out, const char *v)
{
	size_t start = 0, i = strcspn(v, "&<>'\"\r\n\t");

	if (v[i] == '\0') {
		buf_append(out, v, i);
		return;
	}
	for (i = 0; v[i] != '\0'; i++) {
		const char *ent = v[i] == '\r' ? "&#13;" : v[i] == '\n' ? "&#10;" :
				  v[i] == '\t' ? "&#9;" : NULL;

		if (ent == NULL)
			continue;
		buf_append_xml(out, v + start, i - start, 1);
		buf_append_str(out, ent);
		start = i + 1;
	}
	buf_append_xml(out, v + start, i - start, 1);
}

/* The declarations of the start tag at bytes[0..len); returns the offset
 * just past its '>', or 0 when it is not the shape we rely on. */
static size_t scan_start_tag(const char *b, size_t len, struct decl *d, int *nd)
{
	size_t i = strlen("<route");

	*nd = 0;
	if (len <= i || memcmp(b, "<route", i) != 0 || !(is_space(b[i]) || b[i] == '>'))
		return 0;
	for (;;) {
		size_t name, name_len, value;
		char q;

		while (i < len && is_space(b[i]))
			i++;
		if (i >= len || b[i] == '/')
			return 0;       /* cut short, or an empty route */
		if (b[i] == '>')
			return i + 1;
		name = i;
		while (i < len && b[i] != '=' && !is_space(b[i]) && b[i] != '>' && b[i] != '/')
			i++;
		name_len = i - name;
		while (i < len && is_space(b[i]))
			i++;
		if (name_len == 0 || i >= len || b[i] != '=')
			return 0;
		i++;
		while (i < len && is_space(b[i]))
			i++;
		if (i >= len || (b[i] != '\'' && b[i] != '"'))
			return 0;
		q = b[i++];
		value = i;
		{
			const char *close = memchr(b + i, q, len - i);

			if (close == NULL)
				return 0;
			i = (size_t)(close - b);
		}
		if (memchr(b + value, '&', i - value) != NULL ||
		    memchr(b + value, '<', i - value) != NULL)
			return 0;       /* a reference: not compared as text */
		i++;
		if (name_len >= 5 && memcmp(b + name, "xmlns", 5) == 0 &&
		    (name_len == 5 || b[name + 5] == ':')) {
			if (*nd == ROUTE_DECLS_MAX)
				return 0;
			d[*nd] = (struct decl){
				.text = b + name, .text_len = i - name,
				.prefix = name_len == 5 ? NULL : b + name + 6,
				.prefix_len = name_len == 5 ? 0 : name_len - 6,
				.value = b + value, .value_len = i - 1 - value,
			};
			(*nd)++;
		}
	}
}

/* Whether "P:" occurs in text[0..len) for d's prefix P (memchr finds
 * the few colons faster than memmem finds a short needle). */
static int prefix_in(const char *text, size_t len, const struct decl *d)
{
	const char *p = text, *end = text + len;

	while ((p = memchr(p, ':', (size_t)(end - p))) != NULL) {
		if ((size_t)(p - text) >= d->prefix_len &&
		    memcmp(p - d->prefix_len, d->prefix, d->prefix_len) == 0)
			return 1;
		p++;
	}
	return 0;
}

static const struct decl *decl_for_ns(const struct decl *d, int nd, const char *ns)
{
	size_t n = strlen(ns);

	for (int k = 0; k < nd; k++)
		if (d[k].prefix != NULL && d[k].value_len == n && memcmp(d[k].value, ns, n) == 0)
			return &d[k];
	return NULL;
}

static int prefix_taken(const struct decl *d, int nd, const char *p)
{
	size_t n = strlen(p);

	for (int k = 0; k < nd; k++)
		if (d[k].prefix != NULL && d[k].prefix_len == n && memcmp(d[k].prefix, p, n) == 0)
			return 1;
	return 0;
}

/* "jc<n>" into out (16 bytes), without snprintf's cost per route. */
static void made_prefix(char *out, int n)
{
	char digits[12];
	int k = 0;

	do
		digits[k++] = (char)('0' + n % 10);
	while ((n /= 10) > 0);
	out[0] = 'j';
	out[1] = 'c';
	for (int i = 0; i < k; i++)
		out[2 + i] = digits[k - 1 - i];
	out[2 + k] = '\0';
}

/* Whether the attribute (ns, name) is one the caller leaves out. */
static int dropped(const char *ns, const char *name, const struct cluster_route_attr *drop)
{
	for (; drop != NULL && drop->name != NULL; drop++)
		if (strcmp(name, drop->name) == 0 &&
		    (ns == NULL ? drop->ns == NULL : drop->ns != NULL && strcmp(ns, drop->ns) == 0))
			return 1;
	return 0;
}

int cluster_route_bytes(const char *bytes, size_t len, const char *inherited_ns,
			const struct nad *nad, struct buf *out)
{
	return cluster_route_bytes_as(bytes, len, inherited_ns, nad, NULL, out);
}

int cluster_route_bytes_as(const char *bytes, size_t len, const char *inherited_ns,
			   const struct nad *nad, const struct cluster_route_attr *drop,
			   struct buf *out)
{
	struct decl d[ROUTE_DECLS_MAX];
	char made[ROUTE_DECLS_MAX][16]; /* the prefixes declared here */
	unsigned char used[ROUTE_DECLS_MAX] = { 0 };
	struct {
		const char *ns, *name, *value;
	} at[ROUTE_ATTRS_MAX];
	const char *ns, *name, *value, *route_ns;
	int nd, na = 0, pos = 0, fresh = 0, have_default = 0;
	size_t end, mark = out->len;

	if (nad_root(nad) == NAD_NONE || strcmp(nad_name(nad, 0), "route") != 0 ||
	    nad_prefix(nad, 0) != NULL || (route_ns = nad_ns(nad, 0)) == NULL ||
	    strchr(route_ns, '\'') != NULL || strchr(route_ns, '&') != NULL ||
	    strchr(route_ns, '<') != NULL)
		return -1;
	end = scan_start_tag(bytes, len, d, &nd);
	if (end == 0)
		return -1;
	for (int k = 0; k < nd; k++) {
		if (d[k].prefix != NULL)
			continue;
		if (d[k].value_len != strlen(route_ns) ||
		    memcmp(d[k].value, route_ns, d[k].value_len) != 0)
			return -1;
		have_default = 1;
	}
	if (!have_default && (inherited_ns == NULL || strcmp(inherited_ns, route_ns) != 0))
		return -1;      /* the route's namespace neither declared nor inherited */
	/* A declaration goes out if an attribute written below or the bytes
	 * after the tag (where any use of prefix P reads "P:") use it: the
	 * sm's jc: for jc:node and jc:targets would cost the next parser a
	 * binding for nothing. */
	while (nad_attr_next(nad, 0, &pos, &ns, &name, &value)) {
		const struct decl *have;

		if (dropped(ns, name, drop))
			continue;
		if (na == ROUTE_ATTRS_MAX)
			return -1;
		at[na].ns = ns;
		at[na].name = name;
		at[na++].value = value;
		if (ns != NULL && strcmp(ns, NAD_NS_XML) != 0 &&
		    (have = decl_for_ns(d, nd, ns)) != NULL)
			used[have - d] = 1;
	}
	buf_reserve(out, len + 512);
	buf_append_str(out, "<route");
	if (!have_default) {
		buf_append_str(out, " xmlns='");
		buf_append_str(out, route_ns);
		buf_append_char(out, '\'');
	}
	for (int k = 0; k < nd; k++) {
		if (d[k].prefix != NULL && !used[k] && !prefix_in(bytes + end, len - end, &d[k]))
			continue;
		buf_append_char(out, ' ');
		buf_append(out, d[k].text, d[k].text_len);
	}
	for (int k = 0; k < na; k++) {
		ns = at[k].ns;
		name = at[k].name;
		value = at[k].value;
		buf_append_char(out, ' ');
		if (ns != NULL && strcmp(ns, NAD_NS_XML) == 0) {
			buf_append_str(out, "xml:");
		} else if (ns != NULL) {
			const struct decl *have = decl_for_ns(d, nd, ns);

			if (have != NULL) {
				buf_append(out, have->prefix, have->prefix_len);
			} else {
				/* Declared here, under a prefix the tag does not use. */
				char *prefix;

				if (nd == ROUTE_DECLS_MAX) {
					buf_truncate(out, mark);
					return -1;
				}
				prefix = made[nd];
				do
					made_prefix(prefix, fresh++);
				while (prefix_taken(d, nd, prefix) && fresh < 1000);
				if (fresh >= 1000) {
					buf_truncate(out, mark);
					return -1;
				}
				buf_append_str(out, "xmlns:");
				buf_append_str(out, prefix);
				buf_append_str(out, "='");
				append_attr_value(out, ns);
				buf_append_str(out, "' ");
				buf_append_str(out, prefix);
				/* Later attributes of this namespace use it. */
				d[nd++] = (struct decl){ .prefix = prefix, .prefix_len = strlen(prefix),
							 .value = ns, .value_len = strlen(ns) };
			}
			buf_append_char(out, ':');
		}
		buf_append_str(out, name);
		buf_append_str(out, "='");
		append_attr_value(out, value);
		buf_append_char(out, '\'');
	}
	buf_append_char(out, '>');
	buf_append(out, bytes + end, len - end);
	return 0;
}

/* The offset just past the '>' of the start tag at b[i] (quotes
 * skipped), or 0. */
static size_t tag_end(const char *b, size_t len, size_t i)
{
	while (i < len) {
		if (b[i] == '\'' || b[i] == '"') {
			const char *close = memchr(b + i + 1, b[i], len - i - 1);

			if (close == NULL)
				return 0;
			i = (size_t)(close - b) + 1;
		} else if (b[i] == '>') {
			return i + 1;
		} else {
			i++;
		}
	}
	return 0;
}

int cluster_route_for_session(const char *bytes, size_t len, const char *inherited_ns,
			      const struct nad *nad, const char *sess_ns, const char *c2s_id,
			      const char *sm_id, struct buf *out)
{
	struct buf r = { 0 };
	size_t start, end, at;
	int rc = -1;

	if (cluster_route_bytes_as(bytes, len, inherited_ns, nad, NULL, &r) < 0)
		goto done;
	if ((start = tag_end(r.data, r.len, 0)) == 0)
		goto done;
	while (start < r.len && is_space(r.data[start]))
		start++;
	if (start + 1 >= r.len || r.data[start] != '<' || r.data[start + 1] == '/' ||
	    r.data[start + 1] == '!' || r.data[start + 1] == '?' ||
	    (end = tag_end(r.data, r.len, start)) == 0)
		goto done;
	at = r.data[end - 2] == '/' ? end - 2 : end - 1;
	/* A jcs prefix the bytes use already (the stanza's, or one of the
	 * route's that the stanza's children rely on) would clash. */
	if (memmem(r.data, r.len, "jcs:", 4) != NULL || memmem(r.data, r.len, "xmlns:jcs", 9) != NULL)
		goto done;
	buf_reserve(out, r.len + 128);
	buf_append(out, r.data, at);
	buf_append_str(out, " xmlns:jcs='");
	append_attr_value(out, sess_ns);
	buf_append_str(out, "' jcs:c2s='");
	append_attr_value(out, c2s_id);
	buf_append_str(out, "' jcs:sm='");
	append_attr_value(out, sm_id);
	buf_append_char(out, '\'');
	buf_append(out, r.data + at, r.len - at);
	rc = 0;
done:
	buf_free(&r);
	return rc;
}
