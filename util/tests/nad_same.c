/* SPDX-License-Identifier: GPL-2.0-or-later */
/* nad_same.c: see nad_same.h. */
#include "config.h"
#include "util/tests/nad_same.h"

#include <string.h>

#include "util/nad.h"

/* Structural equality of two subtrees: names, namespaces, attributes (as
 * a set), cdata and tails. */
int nad_same(const struct nad *a, int ea, const struct nad *b, int eb)
{
	const char *ns, *name, *val, *ta, *tb;
	size_t la, lb;
	int pos = 0, na = 0, nb = 0, ca, cb;

	if (strcmp(nad_name(a, ea), nad_name(b, eb)) != 0)
		return 0;
	if ((nad_ns(a, ea) == NULL) != (nad_ns(b, eb) == NULL) ||
	    (nad_ns(a, ea) != NULL && strcmp(nad_ns(a, ea), nad_ns(b, eb)) != 0))
		return 0;
	while (nad_attr_next(a, ea, &pos, &ns, &name, &val)) {
		const char *v = nad_attr(b, eb, ns, name);

		if (v == NULL || strcmp(v, val) != 0)
			return 0;
		na++;
	}
	pos = 0;
	while (nad_attr_next(b, eb, &pos, NULL, NULL, NULL))
		nb++;
	if (na != nb)
		return 0;
	ta = nad_text(a, ea, &la);
	tb = nad_text(b, eb, &lb);
	if (la != lb || memcmp(ta, tb, la) != 0)
		return 0;
	for (ca = nad_child(a, ea, NULL, NULL), cb = nad_child(b, eb, NULL, NULL);
	     ca != NAD_NONE && cb != NAD_NONE;
	     ca = nad_next(a, ca, NULL, NULL), cb = nad_next(b, cb, NULL, NULL)) {
		if (!nad_same(a, ca, b, cb))
			return 0;
		ta = nad_tail(a, ca, &la);
		tb = nad_tail(b, cb, &lb);
		if (la != lb || memcmp(ta, tb, la) != 0)
			return 0;
	}
	return ca == NAD_NONE && cb == NAD_NONE;
}
