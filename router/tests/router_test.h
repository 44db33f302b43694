/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * router_test.h: helpers for the router's unit tests. A test component is
 * a router_comp whose send function serializes each element it is given
 * into a list, so tests can assert exactly what a component would read.
 */
#ifndef ROUTER_TESTS_ROUTER_TEST_H
#define ROUTER_TESTS_ROUTER_TEST_H

#include <stddef.h>

struct router;
struct router_comp;
struct nad;

#define COMP_NS "http://jabberd.jabberstudio.org/ns/component/1.0"

struct rt {
	struct router_comp *c;
	char **sent;            /* serialized elements, oldest first */
	size_t n, cap;
};

struct rt *rt_new(struct router *r, const char *user, int legacy);
/* Disconnect (router_comp_free) and free the records. */
void rt_free(struct rt **tp);
/* Parse one element and hand it to the router as this component's input
 * (a stanza for a legacy component). Fails the test if it does not parse. */
void rt_feed(struct rt *t, const char *xml);
/* Parse a document into a nad, failing the test if it does not parse. */
struct nad *rt_parse(const char *xml);
/* Serialize a nad's root the way the tests compare. free() it. */
char *rt_str(const struct nad *nad);
/* The oldest recorded element, removed from the list (free() it), or
 * NULL if nothing was sent. */
char *rt_pop(struct rt *t);
/* Assert the next recorded element is exactly `xml` (and drop it). */
void rt_expect(struct rt *t, const char *xml);
/* Assert nothing more was sent. */
void rt_expect_none(struct rt *t);
/* Drop everything recorded. */
void rt_clear(struct rt *t);

#endif
