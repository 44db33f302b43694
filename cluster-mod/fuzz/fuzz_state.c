/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for cluster-mod/cluster_state.c, the replicated session
 * table, fed as a peer would feed it. The first byte picks this node's
 * name (bit 0: "n1", else "n9") and the history bound (1 + bits 1-4);
 * the rest is a byte stream of version-1 frames from peer "n2", decoded
 * as a link would (stopping at the first rejection) and handed to
 * cluster_state_frame(), with local changes, link-full refusals, retries
 * and link closes between frames. Every frame
 * the table sends in answer must encode (cluster_frame_encode checks what
 * a peer's decoder checks), and the table's counts must stay consistent
 * (no more entries than the input could have carried).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "cluster-mod/cluster_proto.h"
#include "cluster-mod/fuzz/fuzz_frames.h"
#include "cluster-mod/cluster_state.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned sends;

/* Every fifth frame finds the link's output full. */
static int send_check(void *ctx, const char *peer, const struct cluster_frame *f)
{
	(void)ctx;
	(void)peer;
	fuzz_frame_must_encode(f);
	return ++sends % 5 != 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cluster_state *st;
	struct cluster_frame f;
	const char *error;
	size_t off, flen;
	unsigned k = 0;

	if (size < 1)
		return 0;
	sends = 0;
	st = cluster_state_new(data[0] & 1 ? "n1" : "n9", 7, 1 + ((data[0] >> 1) & 15),
			       send_check, NULL);
	cluster_state_local_set(st, "me@example.org/a", "s1", 1, 1, 1, &error);
	cluster_state_peer_open(st, "n2");
	for (off = 1; off < size; off += flen, k++) {
		char jid[32];

		if (cluster_frame_scan(data + off, size - off, &flen, &error) != CLUSTER_SCAN_FRAME)
			break;
		if (cluster_frame_decode(data + off, flen, 1, &f, &error) < 0)
			break;
		(void)cluster_state_frame(st, "n2", &f, &error);
		cluster_frame_clear(&f);
		snprintf(jid, sizeof(jid), "me@example.org/%u", k % 3);
		if (k & 1)
			cluster_state_local_remove(st, jid);
		else
			cluster_state_local_set(st, jid, "s", (int)k % 5, 1, k, &error);
		cluster_state_flush(st);
		if (k % 4 == 3)
			cluster_state_peer_closed(st, "n2");
		cluster_state_retry(st);
	}
	if (cluster_state_count(st, "n2") > cluster_state_count(st, NULL) ||
	    cluster_state_count(st, NULL) > 64 * size + 4)
		abort();
	cluster_state_free(&st);
	return 0;
}
