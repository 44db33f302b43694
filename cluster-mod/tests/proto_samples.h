/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Valid frames of every type, shared by test_proto (round trips,
 * truncations, byte-at-a-time feeding) and gen_proto_corpus (the fuzz
 * target's seeds), so both always agree with the codec.
 */
#ifndef CLUSTER_PROTO_SAMPLES_H
#define CLUSTER_PROTO_SAMPLES_H

#include <stddef.h>

#include "cluster-mod/cluster_proto.h"

struct proto_sample {
	const char *name;               /* file name for the corpus */
	struct cluster_frame frame;
};

/* Fills and returns the table; *n_r is its length. */
const struct proto_sample *proto_samples(size_t *n_r);

#endif
