/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cluster_place: rendezvous hashing over the live node names (see
 * cluster_place.h). The object is hashed once, then each node's weight is
 * the hash of (node name, object hash) under a second key, so the cost is
 * one short hash per node whatever the key's length.
 */
#include "config.h"
#include "cluster-mod/cluster_place.h"

#include <string.h>

#include "util/xhash.h"

/* Fixed keys: every node of every release must compute the same weights.
 * They only need to be constants; secrecy is not required, since a client
 * choosing room names can at worst pile its own rooms on one node. */
static const uint64_t place_key_object[2] = { 0x6a61626265726430ULL, 0x636c757374657231ULL };
static const uint64_t place_key_node[2] = { 0x706c6163656d656eULL, 0x742d6e6f64652d31ULL };

static uint64_t place_weight_h(uint64_t keyhash, const char *node)
{
	/* Name bytes, then the 8 bytes of the object's hash: a short input
	 * with the variable part first, so names cannot run into the hash. */
	unsigned char in[256 + 8];
	size_t len = strnlen(node, 256), i;

	memcpy(in, node, len);
	for (i = 0; i < 8; i++)
		in[len + i] = (unsigned char)(keyhash >> (8 * i));
	return xhash_siphash_keyed(place_key_node, in, len + 8);
}

uint64_t cluster_place_weight(const void *key, size_t keylen, const char *node)
{
	return place_weight_h(xhash_siphash_keyed(place_key_object, key, keylen), node);
}

size_t cluster_place(const void *key, size_t keylen, const char *const nodes[], size_t n)
{
	uint64_t kh = xhash_siphash_keyed(place_key_object, key, keylen), w, best_w = 0;
	size_t i, best = CLUSTER_PLACE_NONE;

	for (i = 0; i < n; i++) {
		w = place_weight_h(kh, nodes[i]);
		if (best == CLUSTER_PLACE_NONE || w > best_w ||
		    (w == best_w && strcmp(nodes[i], nodes[best]) < 0)) {
			best = i;
			best_w = w;
		}
	}
	return best;
}
