/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for cluster-mod/cluster_members.c, the member table
 * and failure detector, fed as its peers would feed it. This node is
 * "n1" with peers "n2" and "n3" linked; the first byte sets the profile
 * (bit 0) and this node's incarnation (bits 1-3); the rest is a byte
 * stream of version-1 frames, decoded as a link would (stopping at the
 * first rejection), each MEMBERS one handed to cluster_members_frame()
 * from n2 or n3 in turn, with clock steps, ticks, link closes, reopens
 * with other incarnations and BYEs between frames. Every view the table
 * sends must encode (what a peer's decoder checks), the table must stay
 * within its bound, and the dead hook must find the member in the state
 * it reports (DEAD or LEFT).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluster-mod/cluster_members.h"
#include "cluster-mod/cluster_proto.h"
#include "cluster-mod/fuzz/fuzz_frames.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cluster_membership *table;

static int send_check(void *ctx, const char *peer, const struct cluster_frame *f)
{
	(void)ctx;
	(void)peer;
	fuzz_frame_must_encode(f);
	return 1;
}

static int64_t idle(void *ctx, const char *peer)
{
	(void)ctx;
	return strcmp(peer, "n2") == 0 || strcmp(peer, "n3") == 0 ? 100 : -1;
}

static void dead(void *ctx, const char *name, enum cluster_member_state state)
{
	(void)ctx;
	if (state != CLUSTER_MEMBER_DEAD && state != CLUSTER_MEMBER_LEFT)
		abort();
	/* The hook runs once the member is in the state it reports. */
	if (cluster_members_state(table, name) != state)
		abort();
}

static const struct cluster_members_hooks hooks = {
	.send = send_check,
	.link_idle = idle,
	.dead = dead,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cluster_members_timing t;
	struct cluster_frame f;
	const char *error;
	size_t off, flen;
	uint64_t now = 1000000;
	unsigned k = 0;

	if (size < 1)
		return 0;
	cluster_members_timing_profile(data[0] & 1, &t);
	table = cluster_members_new("n1", "127.0.0.2", 5348, 1 + ((data[0] >> 1) & 7), &t,
				    &hooks, NULL, now);
	cluster_members_link_open(table, "n2", "127.0.0.3", 5348, 5, now);
	cluster_members_link_open(table, "n3", NULL, 0, 6, now);
	for (off = 1; off < size; off += flen, k++) {
		const char *peer = k & 1 ? "n3" : "n2";

		if (cluster_frame_scan(data + off, size - off, &flen, &error) != CLUSTER_SCAN_FRAME)
			break;
		if (cluster_frame_decode(data + off, flen, 1, &f, &error) < 0)
			break;
		if (f.type == CLUSTER_FRAME_MEMBERS)
			(void)cluster_members_frame(table, peer, &f.u.members, now, &error);
		cluster_frame_clear(&f);
		now += 100u * (k % 13);
		cluster_members_tick(table, now);
		switch (k % 7) {
		case 3:
			cluster_members_link_closed(table, "n3", now);
			break;
		case 4:
			cluster_members_link_open(table, "n3", "127.0.0.4", 5348, 6 + k / 7, now);
			break;
		case 5:
			if (k % 14 == 5)
				cluster_members_left(table, "n2", now);
			break;
		default:
			break;
		}
		if (cluster_members_count(table) > CLUSTER_MEMBERS_TABLE_MAX)
			abort();
	}
	cluster_members_free(&table);
	return 0;
}
