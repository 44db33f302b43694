/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for cluster-mod/cluster_fwd.c, the stanza transport,
 * fed as a peer would feed it. The first byte sets the queue bound
 * (1 + bits 0-3 frames), how often the link refuses a frame (bits
 * 4-6) and the link's version (bit 7: 2, with TAKEN); the rest is a byte
 * stream of frames of that version from peer "n2",
 * decoded as a link would (stopping at the first rejection) and handed
 * to cluster_fwd_frame(), with local sends, flushes, link closes,
 * reopens (now and then as a new incarnation of the peer), this node
 * taking a new incarnation (own 200, then 201...) and the node declared
 * gone between frames. Every frame the transport sends must encode, the last
 * sequence delivered never goes back except when the numbering restarts,
 * broadcasts are never handed back, and the queue stays within its bound.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster-mod/cluster_fwd.h"
#include "cluster-mod/cluster_proto.h"
#include "cluster-mod/fuzz/fuzz_frames.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned sends, refuse_every;
static uint64_t delivered;

static int send_check(void *ctx, const char *peer, const struct cluster_frame *f)
{
	(void)ctx;
	(void)peer;
	fuzz_frame_must_encode(f);
	return refuse_every == 0 || ++sends % refuse_every != 0;
}

static void deliver(void *ctx, const char *peer, const uint8_t *route, size_t len,
		    const char *const *targets, size_t ntargets)
{
	(void)ctx;
	(void)peer;
	(void)route;
	(void)len;
	for (size_t i = 0; i < ntargets; i++)
		if (targets[i] == NULL || strlen(targets[i]) > CLUSTER_JID_MAX)
			abort();
	delivered++;
}

static void undelivered(void *ctx, const char *node, enum cluster_fwd_reason reason,
			const uint8_t *route, size_t len, const char *const *targets,
			size_t ntargets)
{
	(void)ctx;
	(void)node;
	(void)reason;
	(void)route;
	(void)len;
	(void)targets;
	if (ntargets == 0)
		abort();        /* broadcasts are never handed back */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const peers[] = { "n2" };
	static const struct cluster_fwd_hooks hooks = { send_check, deliver, undelivered };
	struct cluster_fwd *fwd;
	struct cluster_fwd_queue q;
	struct cluster_frame f;
	const char *error, *target = "u@example.org/r";
	uint64_t incarnation = 100, own = 200, delivered_max = 0;
	size_t off, flen;
	unsigned k = 0;

	if (size < 1)
		return 0;
	sends = 0;
	delivered = 0;
	refuse_every = (data[0] >> 4) & 7;
	fwd = cluster_fwd_new(peers, 1, 1 + (data[0] & 15), 0, &hooks, NULL);
	cluster_fwd_set_incarnation(fwd, own);
	cluster_fwd_peer_open(fwd, "n2", incarnation, 1 + (data[0] >> 7));
	for (off = 1; off < size; off += flen, k++) {
		if (cluster_frame_scan(data + off, size - off, &flen, &error) != CLUSTER_SCAN_FRAME)
			break;
		if (cluster_frame_decode(data + off, flen, 1 + (data[0] >> 7), &f, &error) < 0)
			break;
		(void)cluster_fwd_frame(fwd, "n2", &f, &error);
		cluster_frame_clear(&f);
		(void)cluster_fwd_send(fwd, k % 7 == 6 ? "n9" : "n2", (const uint8_t *)"<m/>", 4,
				       &target, k % 5 == 4 ? 0 : 1);
		cluster_fwd_flush(fwd);
		if (k % 4 == 3)
			cluster_fwd_peer_closed(fwd, "n2");
		if (k % 4 == 0)
			cluster_fwd_peer_open(fwd, "n2", k % 16 == 8 ? ++incarnation : incarnation,
					      1 + (data[0] >> 7));
		if (k % 11 == 10)
			cluster_fwd_node_gone(fwd, "n2", CLUSTER_FWD_NODE_DEAD);
		if (k % 13 == 12)
			cluster_fwd_reincarnated(fwd, ++own);
		if (k % 16 == 8 || k % 11 == 10 || k % 13 == 12)
			delivered_max = 0;      /* numbering from 1 again */
		if (cluster_fwd_queue_info(fwd, "n2", &q) < 0 || q.delivered_in < delivered_max)
			abort();
		delivered_max = q.delivered_in;
	}
	if (cluster_fwd_queue_info(fwd, "n2", &q) < 0 || q.frames + q.in_doubt > 16 ||
	    delivered > size)
		abort();
	cluster_fwd_free(&fwd);
	return 0;
}
