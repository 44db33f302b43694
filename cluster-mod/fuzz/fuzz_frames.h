/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_frames.h: what the cluster fuzz targets check of every frame a
 * table under test sends: it must encode, i.e. pass what a peer's decoder
 * checks (cluster_frame_encode refuses exactly that). Aborts otherwise.
 */
#ifndef CLUSTER_MOD_FUZZ_FUZZ_FRAMES_H
#define CLUSTER_MOD_FUZZ_FUZZ_FRAMES_H

#include <stdlib.h>

#include "cluster-mod/cluster_proto.h"
#include "util/buf.h"

static inline void fuzz_frame_must_encode(const struct cluster_frame *f)
{
	struct buf out = { 0 };
	const char *error;

	if (cluster_frame_encode(f, &out, &error) < 0)
		abort();        /* the table built a frame a peer must reject */
	buf_free(&out);
}

#endif
