/* SPDX-License-Identifier: GPL-2.0-or-later */
/* state_net.c: see state_net.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster-mod/cluster_proto.h"
#include "cluster-mod/cluster_state.h"
#include "cluster-mod/tests/state_net.h"

static const char *const names[STATE_NET_NODES] = { "n1", "n2", "n3" };

/* The send hook's ctx is &hooks[i]: which net and which node sends. */
struct hook_ctx {
	struct state_net *net;
	int from;
};
static struct hook_ctx hooks[STATE_NET_NODES];

int state_net_index(const struct state_net *net, const char *name)
{
	for (int i = 0; i < net->n; i++)
		if (strcmp(net->name[i], name) == 0)
			return i;
	return -1;
}

/* Returns 1, or 0 when the queue is over its cap (the frame is not
 * queued). */
static int enqueue(struct state_net *net, int from, int to, const struct cluster_frame *f)
{
	const char *error;
	size_t before = net->q[from][to].len;

	if (cluster_frame_encode(f, &net->q[from][to], &error) < 0) {
		fprintf(stderr, "state_net: cannot encode %s: %s\n",
			cluster_frame_type_name(f->type), error);
		abort();
	}
	if (net->cap != 0 && net->q[from][to].len > net->cap) {
		net->q[from][to].len = before;
		net->refused++;
		return 0;
	}
	net->bytes[from] += net->q[from][to].len - before;
	return 1;
}

static int send_hook(void *ctx, const char *peer, const struct cluster_frame *f)
{
	struct hook_ctx *h = ctx;
	struct state_net *net = h->net;
	int n = 0;

	net->sent[h->from][f->type & 15]++;
	if (net->drop)
		return 0;
	for (int to = 0; to < net->n; to++) {
		if (to == h->from)
			continue;
		if (peer == NULL || strcmp(peer, net->name[to]) == 0)
			n += enqueue(net, h->from, to, f);
	}
	return n;
}

void state_net_restart(struct state_net *net, int i, uint64_t incarnation, size_t history_max)
{
	cluster_state_free(&net->st[i]);
	hooks[i] = (struct hook_ctx){ net, i };
	net->st[i] = cluster_state_new(names[i], incarnation, history_max, send_hook, &hooks[i]);
}

void state_net_init(struct state_net *net, int n, size_t history_max)
{
	memset(net, 0, sizeof(*net));
	net->n = n;
	for (int i = 0; i < n; i++) {
		net->name[i] = names[i];
		state_net_restart(net, i, 1000 + (uint64_t)i, history_max);
	}
}

unsigned state_net_pump(struct state_net *net)
{
	unsigned delivered = 0;

	for (int round = 0; round < 1000; round++) {
		int busy = 0;

		for (int from = 0; from < net->n; from++) {
			for (int to = 0; to < net->n; to++) {
				struct buf *q = &net->q[from][to];
				struct buf in = *q;
				size_t off = 0;

				if (q->len == 0)
					continue;
				busy = 1;
				buf_init(q);    /* answers may queue meanwhile */
				while (off < in.len) {
					struct cluster_frame f;
					const char *error;
					size_t flen;

					if (cluster_frame_scan(in.data + off, in.len - off, &flen,
							       &error) != CLUSTER_SCAN_FRAME ||
					    cluster_frame_decode(in.data + off, flen,
								 CLUSTER_PROTO_VERSION_MAX, &f,
								 &error) < 0) {
						fprintf(stderr, "state_net: bad frame: %s\n", error);
						abort();
					}
					if (cluster_state_frame(net->st[to], net->name[from], &f,
								&error) < 0)
						net->errors++;
					cluster_frame_clear(&f);
					off += flen;
					delivered++;
				}
				buf_free(&in);
			}
		}
		for (int i = 0; !busy && i < net->n; i++) {
			busy = cluster_state_retry(net->st[i]) > 0;
			for (int j = 0; j < net->n; j++)
				busy |= net->q[i][j].len > 0;
		}
		if (!busy)
			break;
	}
	return delivered;
}

void state_net_free(struct state_net *net)
{
	for (int i = 0; i < net->n; i++) {
		cluster_state_free(&net->st[i]);
		for (int j = 0; j < net->n; j++)
			buf_free(&net->q[i][j]);
	}
}
