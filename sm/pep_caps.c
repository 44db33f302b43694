/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pep_caps.c: the XEP-0115 verification string and the +notify features
 * of a disco#info answer (see pep_caps.h).
 */
#include "config.h"
#include "sm/pep_caps.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "util/buf.h"
#include "util/hash.h"
#include "util/nad.h"
#include "util/xhash.h"

#define NS_XDATA "jabber:x:data"
#define NOTIFY_SUFFIX "+notify"

static_assert(PEP_CAPS_VER_SIZE == 4 * ((HASH_SHA1_LEN + 2) / 3) + 1,
	      "the base64 of a SHA-1 and its NUL");

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort n strings; -1 if two are equal. */
static int sort_unique(char **v, size_t n)
{
	size_t i;

	qsort(v, n, sizeof(*v), cmp_str);
	for (i = 1; i < n; i++)
		if (strcmp(v[i - 1], v[i]) == 0)
			return -1;
	return 0;
}

static void free_all(char **v, size_t n)
{
	while (n > 0)
		free(v[--n]);
}

static const char *attr_or_empty(const struct nad *nad, int e, const char *ns,
				 const char *name)
{
	const char *v = nad_attr(nad, e, ns, name);

	return v != NULL ? v : "";
}

/* A text of an element (values), or "". */
static char *text_of(const struct nad *nad, int e)
{
	size_t len;
	const char *t = nad_text(nad, e, &len);

	return t != NULL ? xstrndup(t, len) : xstrdup("");
}

/* One form (5.1 step 7): "FORM_TYPE<" then each field's "var<value<..."
 * sorted by var, values sorted, into *out (a new string). -1 for a form
 * without FORM_TYPE or beyond the limits. */
static int form_string(const struct nad *nad, int x, char **out)
{
	char *fields[PEP_CAPS_FIELDS_MAX], *values[PEP_CAPS_VALUES_MAX], *form_type = NULL;
	size_t nf = 0, nv, i;
	struct buf b, fb;
	int f, v, rc = -1;
	const char *var;

	buf_init(&b);
	for (f = nad_child(nad, x, NS_XDATA, "field"); f != NAD_NONE;
	     f = nad_next(nad, f, NS_XDATA, "field")) {
		var = nad_attr(nad, f, NULL, "var");
		if (var == NULL)
			continue;
		if (strcmp(var, "FORM_TYPE") == 0) {
			v = nad_child(nad, f, NS_XDATA, "value");
			if (form_type != NULL || v == NAD_NONE)
				goto out;
			form_type = text_of(nad, v);
			continue;
		}
		if (nf == PEP_CAPS_FIELDS_MAX)
			goto out;
		buf_init(&fb);
		buf_append(&fb, var, strlen(var));
		buf_append(&fb, "<", 1);
		nv = 0;
		for (v = nad_child(nad, f, NS_XDATA, "value"); v != NAD_NONE;
		     v = nad_next(nad, v, NS_XDATA, "value")) {
			if (nv == PEP_CAPS_VALUES_MAX) {
				free_all(values, nv);
				buf_free(&fb);
				goto out;
			}
			values[nv++] = text_of(nad, v);
		}
		qsort(values, nv, sizeof(*values), cmp_str);
		for (i = 0; i < nv; i++) {
			buf_append(&fb, values[i], strlen(values[i]));
			buf_append(&fb, "<", 1);
		}
		free_all(values, nv);
		buf_append_char(&fb, '\0');
		fields[nf++] = buf_steal(&fb, NULL);
	}
	if (form_type == NULL)
		goto out;
	qsort(fields, nf, sizeof(*fields), cmp_str);
	buf_append(&b, form_type, strlen(form_type));
	buf_append(&b, "<", 1);
	for (i = 0; i < nf; i++)
		buf_append(&b, fields[i], strlen(fields[i]));
	buf_append_char(&b, '\0');
	*out = buf_steal(&b, NULL);
	rc = 0;
out:
	free_all(fields, nf);
	free(form_type);
	buf_free(&b);
	return rc;
}

int pep_caps_ver(const struct nad *nad, int q, char ver[PEP_CAPS_VER_SIZE])
{
	char *ids[PEP_CAPS_IDENTITIES_MAX], *feats[PEP_CAPS_FEATURES_MAX];
	char *forms[PEP_CAPS_FORMS_MAX];
	size_t ni = 0, nfe = 0, nfo = 0, i;
	unsigned char sha[HASH_SHA1_LEN];
	struct buf b;
	int e, rc = -1;

	buf_init(&b);
	for (e = nad_child(nad, q, PEP_NS_DISCO_INFO, "identity"); e != NAD_NONE;
	     e = nad_next(nad, e, PEP_NS_DISCO_INFO, "identity")) {
		if (ni == PEP_CAPS_IDENTITIES_MAX)
			goto out;
		ids[ni++] = xasprintf("%s/%s/%s/%s", attr_or_empty(nad, e, NULL, "category"),
				      attr_or_empty(nad, e, NULL, "type"),
				      attr_or_empty(nad, e, "http://www.w3.org/XML/1998/namespace",
						    "lang"),
				      attr_or_empty(nad, e, NULL, "name"));
	}
	for (e = nad_child(nad, q, PEP_NS_DISCO_INFO, "feature"); e != NAD_NONE;
	     e = nad_next(nad, e, PEP_NS_DISCO_INFO, "feature")) {
		if (nfe == PEP_CAPS_FEATURES_MAX)
			goto out;
		feats[nfe++] = xstrdup(attr_or_empty(nad, e, NULL, "var"));
	}
	for (e = nad_child(nad, q, NS_XDATA, "x"); e != NAD_NONE; e = nad_next(nad, e, NS_XDATA, "x")) {
		if (nfo == PEP_CAPS_FORMS_MAX || form_string(nad, e, &forms[nfo]) < 0)
			goto out;
		nfo++;
	}
	/* Duplicate identities, features or FORM_TYPEs: not accepted (5.4). A
	 * form's string starts with its FORM_TYPE and "<", so equal
	 * FORM_TYPEs sort next to each other. */
	if (sort_unique(ids, ni) < 0 || sort_unique(feats, nfe) < 0)
		goto out;
	qsort(forms, nfo, sizeof(*forms), cmp_str);
	for (i = 1; i < nfo; i++) {
		size_t len = strcspn(forms[i], "<");

		if (strncmp(forms[i - 1], forms[i], len + 1) == 0)
			goto out;
	}
	for (i = 0; i < ni; i++) {
		buf_append(&b, ids[i], strlen(ids[i]));
		buf_append(&b, "<", 1);
	}
	for (i = 0; i < nfe; i++) {
		buf_append(&b, feats[i], strlen(feats[i]));
		buf_append(&b, "<", 1);
	}
	for (i = 0; i < nfo; i++)
		buf_append(&b, forms[i], strlen(forms[i]));
	if (hash_sha1(b.data != NULL ? b.data : "", b.len, sha) < 0)
		goto out;
	EVP_EncodeBlock((unsigned char *)ver, sha, HASH_SHA1_LEN);
	rc = 0;
out:
	free_all(ids, ni);
	free_all(feats, nfe);
	free_all(forms, nfo);
	buf_free(&b);
	return rc;
}

struct xhash *pep_caps_notify(const struct nad *nad, int q)
{
	struct xhash *h = NULL;
	const char *var;
	size_t len, n = 0, sl = strlen(NOTIFY_SUFFIX);
	int e;

	for (e = nad_child(nad, q, PEP_NS_DISCO_INFO, "feature"); e != NAD_NONE;
	     e = nad_next(nad, e, PEP_NS_DISCO_INFO, "feature")) {
		if (++n > PEP_CAPS_FEATURES_MAX)
			break;
		var = nad_attr(nad, e, NULL, "var");
		if (var == NULL || (len = strlen(var)) <= sl ||
		    strcmp(var + len - sl, NOTIFY_SUFFIX) != 0)
			continue;
		if (h == NULL)
			h = xhash_new();
		xhash_putn(h, var, len - sl, (void *)(uintptr_t)1);
	}
	return h;
}

int pep_caps_of_presence(const struct nad *nad, const char **ver_r, const char **node_r)
{
	int c = nad_child(nad, 0, PEP_NS_CAPS, "c");
	const char *hash, *ver, *node;

	if (c == NAD_NONE)
		return -1;
	hash = nad_attr(nad, c, NULL, "hash");
	ver = nad_attr(nad, c, NULL, "ver");
	node = nad_attr(nad, c, NULL, "node");
	if (hash == NULL || strcmp(hash, "sha-1") != 0 || ver == NULL ||
	    strlen(ver) != PEP_CAPS_VER_SIZE - 1 || node == NULL || strlen(node) > 1024)
		return -1;
	*ver_r = ver;
	*node_r = node;
	return 0;
}
