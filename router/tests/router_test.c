/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * router_test.c: recorded-send components for the router's unit tests
 * (see router_test.h).
 */
#include "config.h"
#include "router/tests/router_test.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "router/router.h"
#include "util/buf.h"
#include "util/nad.h"

char *rt_str(const struct nad *nad)
{
	struct buf b = { 0 };

	nad_serialize(nad, 0, NULL, &b);
	return buf_steal(&b, NULL);
}

static void rt_send(struct router_comp *comp, struct nad *nad)
{
	struct rt *t = comp->owner;

	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 16;
		t->sent = xrealloc(t->sent, t->cap * sizeof(*t->sent));
	}
	t->sent[t->n++] = rt_str(nad);
	nad_free(&nad);
}

struct rt *rt_new(struct router *r, const char *user, int legacy)
{
	struct rt *t = xcalloc(1, sizeof(*t));

	t->c = router_comp_new(r, user, legacy, rt_send, t);
	return t;
}

void rt_clear(struct rt *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->sent[i]);
	t->n = 0;
}

void rt_free(struct rt **tp)
{
	struct rt *t = *tp;

	if (t == NULL)
		return;
	router_comp_free(&t->c);
	rt_clear(t);
	free(t->sent);
	free(t);
	*tp = NULL;
}

struct nad *rt_parse(const char *xml)
{
	const char *error = NULL;
	struct nad *nad = nad_parse(xml, strlen(xml), 0, &error, NULL);

	if (nad == NULL)
		fail_msg("cannot parse %s: %s", xml, error);
	return nad;
}

void rt_feed(struct rt *t, const char *xml)
{
	struct nad *nad = rt_parse(xml);

	if (t->c->legacy)
		router_legacy_stanza(t->c, nad);
	else
		router_comp_element(t->c, nad);
}

char *rt_pop(struct rt *t)
{
	char *s;

	if (t->n == 0)
		return NULL;
	s = t->sent[0];
	memmove(t->sent, t->sent + 1, (t->n - 1) * sizeof(*t->sent));
	t->n--;
	return s;
}

void rt_expect(struct rt *t, const char *xml)
{
	char *s = rt_pop(t);

	if (s == NULL)
		fail_msg("expected %s, nothing was sent", xml);
	assert_string_equal(s, xml);
	free(s);
}

void rt_expect_none(struct rt *t)
{
	if (t->n > 0)
		fail_msg("expected nothing, got %s (and %zu more)", t->sent[0], t->n - 1);
}
