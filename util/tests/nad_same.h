/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nad_same: whether two subtrees are the same tree (names, namespaces,
 * attributes as a set, cdata and tails), whatever prefixes they were
 * written with. For tests and fuzz targets (test_nad, test_cluster_route,
 * fuzz_route).
 */
#ifndef UTIL_TESTS_NAD_SAME_H
#define UTIL_TESTS_NAD_SAME_H

struct nad;

int nad_same(const struct nad *a, int ea, const struct nad *b, int eb);

#endif
