/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cluster_place: which live node hosts a sharded object (a MUC room, a
 * pubsub node), by rendezvous (highest-random-weight) hashing: each node
 * gets a weight hash(node, object) and the highest weight wins. When a
 * node leaves, only its objects move (each to its second choice); when a
 * node joins, only the objects for which it now has the highest weight
 * move to it. Every node computes the same answer from the same list of
 * names, in any order, with no coordination. Pure code, no I/O.
 */
#ifndef CLUSTER_PLACE_H
#define CLUSTER_PLACE_H

#include <stddef.h>
#include <stdint.h>

/* What cluster_place returns when there is no node. */
#define CLUSTER_PLACE_NONE ((size_t)-1)

/*
 * The index in nodes[0..n-1] (node names, NUL-terminated) of the node that
 * owns the object `key` (keylen bytes, any content), or CLUSTER_PLACE_NONE
 * when n is 0. The order of nodes[] does not change the answer (equal
 * weights, which need a 64-bit collision, go to the smaller name). The
 * hash is SipHash-1-3 under a fixed key, so the answer is the same on
 * every node and in every release that keeps this key.
 */
size_t cluster_place(const void *key, size_t keylen, const char *const nodes[], size_t n);

/* The weight of `node` for `key`: exposed for tests and the status tool. */
uint64_t cluster_place_weight(const void *key, size_t keylen, const char *node);

#endif
