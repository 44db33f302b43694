/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nad_same: whether two elements are the same tree (names, namespaces,
 * attributes, text and tails), whatever prefixes they were written with.
 * For test_cluster_route and fuzz_route.
 */
#ifndef CLUSTER_MOD_TESTS_NAD_SAME_H
#define CLUSTER_MOD_TESTS_NAD_SAME_H

struct nad;

int nad_same(const struct nad *a, int ea, const struct nad *b, int eb);

#endif
