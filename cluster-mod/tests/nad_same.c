/* SPDX-License-Identifier: GPL-2.0-or-later */
/* nad_same.c: see nad_same.h. */
#include "config.h"
#include "cluster-mod/tests/nad_same.h"

#include <string.h>

#include "util/nad.h"

static int str_eq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Every attribute of a's elem is on b's with the same value, and as many. */
static int attrs_same(const struct nad *a, int ea, const struct nad *b, int eb)
{
	const char *ns, *name, *value;
	int pos = 0, na = 0, nb = 0;

	while (nad_attr_next(a, ea, &pos, &ns, &name, &value)) {
		na++;
		if (!str_eq(nad_attr(b, eb, ns, name), value))
			return 0;
	}
	pos = 0;
	while (nad_attr_next(b, eb, &pos, NULL, NULL, NULL))
		nb++;
	return na == nb;
}

/* See nad_same.h. */
int nad_same(const struct nad *a, int ea, const struct nad *b, int eb)
{
	size_t la, lb;
	const char *ta = nad_text(a, ea, &la), *tb = nad_text(b, eb, &lb);
	int ca, cb;

	if (!str_eq(nad_name(a, ea), nad_name(b, eb)) || !str_eq(nad_ns(a, ea), nad_ns(b, eb)) ||
	    !attrs_same(a, ea, b, eb) || la != lb || memcmp(ta, tb, la) != 0)
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
