/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * state_net: two or three cluster_state tables in one process, joined by
 * byte queues. Every frame a table sends is encoded with the real codec
 * (cluster_frame_encode), queued, and at state_net_pump() scanned,
 * decoded and handed to the receiving table, as the links would. Used by
 * test_cluster_state and bench_cluster_state.
 */
#ifndef CLUSTER_MOD_TESTS_STATE_NET_H
#define CLUSTER_MOD_TESTS_STATE_NET_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

struct cluster_state;

#define STATE_NET_NODES 3

struct state_net {
	struct cluster_state *st[STATE_NET_NODES];
	const char *name[STATE_NET_NODES];
	int n;
	/* q[from][to]: encoded frames not yet delivered */
	struct buf q[STATE_NET_NODES][STATE_NET_NODES];
	/* frames sent, per sender and frame type */
	unsigned sent[STATE_NET_NODES][16];
	size_t bytes[STATE_NET_NODES];  /* encoded bytes queued, per sender */
	int drop;               /* while set, frames are counted but not queued */
	size_t cap;             /* when not 0: a queue refuses a frame past it,
				 * as a link with its output full */
	int errors;             /* cluster_state_frame refusals */
	unsigned refused;       /* frames refused by a full queue */
};

/* Nodes "n1".."nN" (n <= STATE_NET_NODES), incarnations 1000+i. */
void state_net_init(struct state_net *net, int n, size_t history_max);
/* Replace node i by a new incarnation (its table starts empty). */
void state_net_restart(struct state_net *net, int i, uint64_t incarnation,
		       size_t history_max);
/* Deliver queued frames until every queue is empty and no snapshot is
 * left to send (cluster_state_retry), bounded; returns the frames
 * delivered. */
unsigned state_net_pump(struct state_net *net);
void state_net_free(struct state_net *net);
/* The index of node `name`, or -1. */
int state_net_index(const struct state_net *net, const char *name);

#endif
