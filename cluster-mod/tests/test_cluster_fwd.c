/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for cluster-mod/cluster_fwd.c, the reliable stanza transport:
 * two ends ("n1", "n2") in one process, every frame encoded with the real
 * codec into a byte queue and decoded at the other end, as a link would.
 * In-order delivery, cumulative ACKs releasing the sender's queue, link
 * loss then resend without duplicates, a new incarnation handing the
 * unacknowledged stanzas back (all of them on a version-1 link; on a
 * version-2 link only those the peer's TAKEN says it did not take, rule
 * 15), the queue bound, the node gone, unknown nodes and oversized routes.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluster-mod/cluster_fwd.h"
#include "cluster-mod/cluster_proto.h"
#include "util/buf.h"

#define MAXLOG 512

struct end {
	struct cluster_fwd *fwd;
	const char *name;
	int idx;
	struct net *net;
	/* what the hooks saw */
	char delivered[MAXLOG][64];
	size_t ndelivered;
	char targets0[MAXLOG][64];
	char undelivered[MAXLOG][64];
	enum cluster_fwd_reason ureason[MAXLOG];
	size_t nundelivered;
	unsigned acks_sent, stanzas_sent;
};

struct net {
	struct end e[2];
	struct buf q[2];        /* q[i]: frames from e[i] to the other end */
	int up;                 /* the link between them is up */
	size_t cap;             /* when not 0: a queue refuses frames past it */
	unsigned version;       /* the links' protocol version (net_init: 1) */
};

static int hook_send(void *ctx, const char *peer, const struct cluster_frame *f)
{
	struct end *e = ctx;
	struct net *net = e->net;
	const char *error;
	size_t before = net->q[e->idx].len;

	(void)peer;
	if (!net->up)
		return 0;
	assert_int_equal(cluster_frame_encode(f, &net->q[e->idx], &error), 0);
	if (net->cap != 0 && net->q[e->idx].len > net->cap) {
		net->q[e->idx].len = before;
		return 0;
	}
	if (f->type == CLUSTER_FRAME_ACK)
		e->acks_sent++;
	else if (f->type == CLUSTER_FRAME_STANZA)
		e->stanzas_sent++;
	return 1;
}

static void hook_deliver(void *ctx, const char *peer, const uint8_t *route, size_t len,
			 const char *const *targets, size_t ntargets)
{
	struct end *e = ctx;

	(void)peer;
	assert_true(e->ndelivered < MAXLOG);
	assert_true(len < 64);
	memcpy(e->delivered[e->ndelivered], route, len);
	e->delivered[e->ndelivered][len] = '\0';
	snprintf(e->targets0[e->ndelivered], 64, "%s", ntargets > 0 ? targets[0] : "");
	e->ndelivered++;
}

static void hook_undelivered(void *ctx, const char *node, enum cluster_fwd_reason reason,
			     const uint8_t *route, size_t len, const char *const *targets,
			     size_t ntargets)
{
	struct end *e = ctx;

	(void)node;
	(void)targets;
	assert_true(ntargets > 0);
	assert_true(e->nundelivered < MAXLOG);
	if (len >= 64)
		len = 63;
	memcpy(e->undelivered[e->nundelivered], route, len);
	e->undelivered[e->nundelivered][len] = '\0';
	e->ureason[e->nundelivered++] = reason;
}

static const struct cluster_fwd_hooks hooks = {
	.send = hook_send,
	.deliver = hook_deliver,
	.undelivered = hook_undelivered,
};

static void net_init(struct net *net, size_t max_frames, size_t max_bytes)
{
	static const char *const p1[] = { "n2" }, *const p2[] = { "n1" };

	memset(net, 0, sizeof(*net));
	net->version = 1;
	for (int i = 0; i < 2; i++) {
		net->e[i].idx = i;
		net->e[i].net = net;
		net->e[i].name = i == 0 ? "n1" : "n2";
		net->e[i].fwd = cluster_fwd_new(i == 0 ? p1 : p2, 1, max_frames, max_bytes,
						&hooks, &net->e[i]);
	}
}

static void net_free(struct net *net)
{
	for (int i = 0; i < 2; i++) {
		cluster_fwd_free(&net->e[i].fwd);
		buf_free(&net->q[i]);
	}
}

/* The link opens: each end learns the other's incarnation. */
static void net_open(struct net *net, uint64_t inc1, uint64_t inc2)
{
	net->up = 1;
	cluster_fwd_set_incarnation(net->e[0].fwd, inc1);
	cluster_fwd_set_incarnation(net->e[1].fwd, inc2);
	cluster_fwd_peer_open(net->e[0].fwd, "n2", inc2, net->version);
	cluster_fwd_peer_open(net->e[1].fwd, "n1", inc1, net->version);
}

/* The link goes, with whatever it had not delivered. */
static void net_close(struct net *net)
{
	net->up = 0;
	for (int i = 0; i < 2; i++) {
		net->q[i].len = 0;
		cluster_fwd_peer_closed(net->e[i].fwd, net->e[1 - i].name);
	}
}

/* Deliver the queued frames of one direction (not what they cause). */
static unsigned net_deliver(struct net *net, int from)
{
	struct buf in = net->q[from];
	struct end *to = &net->e[1 - from];
	size_t off = 0;
	unsigned n = 0;

	buf_init(&net->q[from]);
	while (off < in.len) {
		struct cluster_frame f;
		const char *error;
		size_t flen;

		assert_int_equal(cluster_frame_scan(in.data + off, in.len - off, &flen, &error),
				 CLUSTER_SCAN_FRAME);
		assert_int_equal(cluster_frame_decode(in.data + off, flen,
						      CLUSTER_PROTO_VERSION_MAX, &f, &error), 0);
		assert_int_equal(cluster_fwd_frame(to->fwd, net->e[from].name, &f, &error), 0);
		cluster_frame_clear(&f);
		off += flen;
		n++;
	}
	buf_free(&in);
	return n;
}

/* Both directions and both ends' end-of-turn flushes until quiet. */
static void net_pump(struct net *net)
{
	for (int round = 0; round < 100; round++) {
		unsigned n = net_deliver(net, 0) + net_deliver(net, 1);

		cluster_fwd_flush(net->e[0].fwd);
		cluster_fwd_flush(net->e[1].fwd);
		if (n == 0 && net->q[0].len == 0 && net->q[1].len == 0)
			return;
	}
	fail_msg("net_pump: no quiet after 100 rounds");
}

static void send_n(struct end *e, const char *to, int from, int n)
{
	for (int i = from; i < from + n; i++) {
		char route[32], target[32];
		const char *t = target;

		snprintf(route, sizeof(route), "<m%d/>", i);
		snprintf(target, sizeof(target), "u%d@d/r", i);
		assert_int_equal(cluster_fwd_send(e->fwd, to, (const uint8_t *)route,
						  strlen(route), &t, 1), 0);
	}
}

static void assert_delivered_in_order(const struct end *e, int n)
{
	char want[32], target[32];

	assert_int_equal(e->ndelivered, (size_t)n);
	for (int i = 0; i < n; i++) {
		snprintf(want, sizeof(want), "<m%d/>", i);
		snprintf(target, sizeof(target), "u%d@d/r", i);
		assert_string_equal(e->delivered[i], want);
		assert_string_equal(e->targets0[i], target);
	}
}

static struct cluster_fwd_queue queue(const struct end *e, const char *peer)
{
	struct cluster_fwd_queue q;

	assert_int_equal(cluster_fwd_queue_info(e->fwd, peer, &q), 0);
	return q;
}

static void test_in_order_and_ack(void **state)
{
	struct net net;

	(void)state;
	net_init(&net, 0, 0);
	net_open(&net, 1000, 2000);
	send_n(&net.e[0], "n2", 0, 100);
	assert_int_equal(queue(&net.e[0], "n2").frames, 100);
	/* 100 stanzas arrive: one ACK at 64, without waiting for the turn's end. */
	net_deliver(&net, 0);
	assert_delivered_in_order(&net.e[1], 100);
	assert_int_equal(net.e[1].acks_sent, 1);
	net_deliver(&net, 1);
	assert_int_equal(queue(&net.e[0], "n2").frames, 100 - 64);
	assert_int_equal(queue(&net.e[0], "n2").acked, 64);
	/* The turn ends: the rest is acknowledged, the queue empty. */
	net_pump(&net);
	assert_int_equal(net.e[1].acks_sent, 2);
	assert_int_equal(queue(&net.e[0], "n2").frames, 0);
	assert_int_equal(queue(&net.e[0], "n2").bytes, 0);
	assert_int_equal(queue(&net.e[1], "n1").delivered_in, 100);
	assert_int_equal(net.e[0].nundelivered, 0);
	net_free(&net);
}

static void test_link_loss_resend_no_duplicates(void **state)
{
	struct net net;

	(void)state;
	net_init(&net, 0, 0);
	net_open(&net, 1000, 2000);
	/* 10 arrive but the link drops before the ACK goes back... */
	send_n(&net.e[0], "n2", 0, 10);
	net_deliver(&net, 0);
	assert_int_equal(net.e[1].ndelivered, 10);
	net_close(&net);
	/* ...then 5 more are queued while it is down. */
	send_n(&net.e[0], "n2", 10, 5);
	assert_int_equal(queue(&net.e[0], "n2").frames, 15);
	/* The same incarnation comes back: all 15 are sent again, the first
	 * 10 are recognised, the 5 new ones delivered once, in order. */
	net_open(&net, 1000, 2000);
	net_pump(&net);
	assert_delivered_in_order(&net.e[1], 15);
	assert_int_equal(queue(&net.e[1], "n1").duplicates, 10);
	assert_int_equal(queue(&net.e[0], "n2").resent, 15);
	assert_int_equal(queue(&net.e[0], "n2").frames, 0);
	/* A link lost with stanzas in flight: they arrive after the reopen. */
	send_n(&net.e[0], "n2", 15, 3);
	net_close(&net);
	net_open(&net, 1000, 2000);
	net_pump(&net);
	assert_delivered_in_order(&net.e[1], 18);
	assert_int_equal(net.e[0].nundelivered, 0);
	net_free(&net);
}

static void test_new_incarnation_gets_them_again(void **state)
{
	struct net net;

	(void)state;
	net_init(&net, 0, 0);
	net_open(&net, 1000, 2000);
	send_n(&net.e[0], "n2", 0, 3);
	net_pump(&net);
	net_close(&net);
	send_n(&net.e[0], "n2", 3, 5);
	/* n2 is a new incarnation: n1's 5 unacknowledged stanzas go to it,
	 * once, in order, numbered from 1 for the new pair; none goes back to
	 * n1's sm (which would store them offline for a user online there). */
	cluster_fwd_free(&net.e[1].fwd);
	{
		static const char *const p[] = { "n1" };

		net.e[1].fwd = cluster_fwd_new(p, 1, 0, 0, &hooks, &net.e[1]);
		net.e[1].ndelivered = 0;
	}
	net_open(&net, 1000, 2001);
	net_pump(&net);
	assert_int_equal(net.e[0].nundelivered, 0);
	assert_int_equal(net.e[1].ndelivered, 5);
	for (int i = 0; i < 5; i++) {
		char want[32];

		snprintf(want, sizeof(want), "<m%d/>", 3 + i);
		assert_string_equal(net.e[1].delivered[i], want);
	}
	assert_int_equal(queue(&net.e[0], "n2").frames, 0);
	assert_int_equal(queue(&net.e[0], "n2").next_seq, 6);
	/* The numbering goes on under the new pair. */
	send_n(&net.e[0], "n2", 8, 2);
	net_pump(&net);
	assert_int_equal(net.e[1].ndelivered, 7);
	assert_string_equal(net.e[1].delivered[6], "<m9/>");
	assert_int_equal(net.e[0].nundelivered, 0);
	net_free(&net);
}

static void test_sender_restart_receiver_resets(void **state)
{
	struct net net;

	(void)state;
	net_init(&net, 0, 0);
	net_open(&net, 1000, 2000);
	send_n(&net.e[0], "n2", 0, 4);
	net_pump(&net);
	net_close(&net);
	/* n1 restarts: its new stanzas start at 1 again and must not be
	 * taken for duplicates of the old incarnation's. */
	cluster_fwd_free(&net.e[0].fwd);
	{
		static const char *const p[] = { "n2" };

		net.e[0].fwd = cluster_fwd_new(p, 1, 0, 0, &hooks, &net.e[0]);
	}
	net.e[1].ndelivered = 0;
	net_open(&net, 1001, 2000);
	send_n(&net.e[0], "n2", 0, 4);
	net_pump(&net);
	assert_delivered_in_order(&net.e[1], 4);
	net_free(&net);
}

static void test_self_reincarnated(void **state)
{
	struct net net;

	(void)state;
	net_init(&net, 0, 0);
	net_open(&net, 1000, 2000);
	send_n(&net.e[1], "n1", 0, 5);
	net_pump(&net);
	net_close(&net);
	send_n(&net.e[0], "n2", 0, 2);          /* queued while the link is down */
	/* n1 learns it was declared dead and takes a new incarnation: what it
	 * queued waits and goes to n2 once the link is open again, numbered
	 * from 1, and n2's fresh numbering is not taken for duplicates of the
	 * old. */
	cluster_fwd_reincarnated(net.e[0].fwd, 1001);
	assert_int_equal(net.e[0].nundelivered, 0);
	net.e[0].ndelivered = 0;
	net.e[1].ndelivered = 0;
	net_open(&net, 1001, 2000);
	send_n(&net.e[1], "n1", 0, 3);
	net_pump(&net);
	assert_delivered_in_order(&net.e[0], 3);
	assert_delivered_in_order(&net.e[1], 2);
	assert_int_equal(net.e[0].nundelivered, 0);
	net_free(&net);
}

static void test_acked_before_reincarnation(void **state)
{
	struct net net;

	(void)state;
	net_init(&net, 0, 0);
	net_open(&net, 1000, 2000);
	send_n(&net.e[1], "n1", 0, 3);
	/* n1 takes them; its end-of-turn ACK has not gone yet when it learns
	 * it was declared dead. It acknowledges before its links close, so
	 * n2 does not send them again to the new incarnation. */
	net_deliver(&net, 1);
	assert_int_equal(net.e[0].ndelivered, 3);
	cluster_fwd_ack_now(net.e[0].fwd);
	cluster_fwd_reincarnated(net.e[0].fwd, 1001);
	net_deliver(&net, 0);
	assert_int_equal(queue(&net.e[1], "n1").frames, 0);
	net_close(&net);
	net_open(&net, 1001, 2000);
	net_pump(&net);
	assert_int_equal(net.e[0].ndelivered, 3);
	/* Without it they would have come again. */
	send_n(&net.e[1], "n1", 3, 2);
	net_deliver(&net, 1);
	assert_int_equal(net.e[0].ndelivered, 5);
	cluster_fwd_reincarnated(net.e[0].fwd, 1002);
	net_close(&net);
	net_open(&net, 1002, 2000);
	net_pump(&net);
	assert_int_equal(net.e[0].ndelivered, 7);
	net_free(&net);
}

/* n1 sends m0..m4 to n2 (incarnations 1000 and 2000); n2 takes m0..m2,
 * and the link goes with m3 and m4 and every ACK of n2's on it. */
static void took_three_of_five(struct net *net, unsigned version)
{
	net_init(net, 0, 0);
	net->version = version;
	net_open(net, 1000, 2000);
	send_n(&net->e[0], "n2", 0, 3);
	net_deliver(net, 0);
	send_n(&net->e[0], "n2", 3, 2);
	net_close(net);
	assert_int_equal(net->e[1].ndelivered, 3);
	assert_int_equal(queue(&net->e[0], "n2").frames, 5);
}

/* The ACK of what n2 took is lost with the link, and then one end takes
 * a new incarnation (n2: the receiver, rule 15's first case; n1: the
 * sender, its second). n1 sends again what n2 did not acknowledge: on a
 * version-2 link only the two n2's TAKEN says it did not take, so that
 * n2's user gets each of the five once; on a version-1 link all five, so
 * three twice (the duplicates before rule 15). Nothing goes back to n1's
 * sm. */
static void assert_after_new_incarnation(struct net *net, unsigned version)
{
	static const char *const once[] = { "<m0/>", "<m1/>", "<m2/>", "<m3/>", "<m4/>" };
	static const char *const twice[] = { "<m0/>", "<m1/>", "<m2/>", "<m0/>", "<m1/>",
					     "<m2/>", "<m3/>", "<m4/>" };
	const char *const *want = version >= 2 ? once : twice;
	size_t n = version >= 2 ? 5 : 8;

	net_pump(net);
	assert_int_equal(net->e[0].nundelivered, 0);
	assert_int_equal(net->e[1].ndelivered, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(net->e[1].delivered[i], want[i]);
	assert_int_equal(queue(&net->e[0], "n2").frames, 0);
	assert_int_equal(queue(&net->e[0], "n2").in_doubt, 0);
	assert_int_equal(queue(&net->e[0], "n2").doubt_taken, version >= 2 ? 3 : 0);
	/* The new pair goes on from there. */
	net->e[1].ndelivered = 0;
	send_n(&net->e[0], "n2", 0, 2);
	net_pump(net);
	assert_delivered_in_order(&net->e[1], 2);
	net_free(net);
}

static void test_taken_survives_a_new_incarnation(void **state)
{
	/* Which end takes a new incarnation before the link opens again
	 * (n2: the receiver, n1 sees it in the HELLO; n1: the sender; both:
	 * a one-node partition heals and each learns it was declared dead),
	 * on a version-2 and a version-1 link. */
	static const struct {
		unsigned version;
		int n1_new, n2_new;
	} cases[] = {
		{ 2, 0, 1 }, { 2, 1, 0 }, { 2, 1, 1 }, { 1, 0, 1 }, { 1, 1, 0 },
	};
	struct net net;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		took_three_of_five(&net, cases[i].version);
		if (cases[i].n2_new)
			cluster_fwd_reincarnated(net.e[1].fwd, 2001);
		if (cases[i].n1_new)
			cluster_fwd_reincarnated(net.e[0].fwd, 1001);
		net_open(&net, cases[i].n1_new ? 1001 : 1000, cases[i].n2_new ? 2001 : 2000);
		assert_after_new_incarnation(&net, cases[i].version);
	}
	/* The sender's doubt waits, and so does what the sm sends meanwhile:
	 * a link that goes before the peer's TAKEN arrives settles nothing;
	 * the next link's TAKEN does, and the newer stanza follows the two
	 * sent again. */
	took_three_of_five(&net, 2);
	cluster_fwd_reincarnated(net.e[0].fwd, 1001);
	assert_int_equal(queue(&net.e[0], "n2").in_doubt, 5);
	net_open(&net, 1001, 2000);
	send_n(&net.e[0], "n2", 5, 1);
	assert_int_equal(net.e[0].stanzas_sent, 5);     /* m0..m4 on the old link */
	net_close(&net);
	assert_int_equal(queue(&net.e[0], "n2").in_doubt, 5);
	net_open(&net, 1001, 2000);
	net_pump(&net);
	assert_int_equal(net.e[1].ndelivered, 6);
	for (int i = 0; i < 6; i++) {
		char want[16];

		snprintf(want, sizeof(want), "<m%d/>", i);
		assert_string_equal(net.e[1].delivered[i], want);
	}
	net_free(&net);
}

/* A TAKEN for a pair the receiver does not hold in doubt settles the doubt
 * with nothing taken (all of it goes again); one for the current pair acknowledges like an ACK;
 * a peer declared gone gets everything back, in doubt or not. */
static void test_taken_other_pairs_and_gone(void **state)
{
	struct net net;
	struct cluster_frame f = { .version = CLUSTER_PROTO_VERSION_TAKEN,
				   .type = CLUSTER_FRAME_TAKEN };
	const char *error = NULL;

	(void)state;
	took_three_of_five(&net, 2);
	cluster_fwd_reincarnated(net.e[0].fwd, 1001);
	net.up = 1;
	cluster_fwd_set_incarnation(net.e[1].fwd, 2000);
	cluster_fwd_peer_open(net.e[0].fwd, "n2", 2000, 2);
	f.u.taken = (struct cluster_taken){ .incarnation = 2000, .peer_incarnation = 999,
					    .seq = 3 };
	assert_int_equal(cluster_fwd_frame(net.e[0].fwd, "n2", &f, &error), 0);
	assert_int_equal(queue(&net.e[0], "n2").in_doubt, 0);
	assert_int_equal(queue(&net.e[0], "n2").doubt_taken, 0);
	assert_int_equal(queue(&net.e[0], "n2").frames, 5);     /* all five again */
	net_free(&net);

	/* The current pair: released as by an ACK. */
	net_init(&net, 0, 0);
	net.version = 2;
	net_open(&net, 1000, 2000);
	send_n(&net.e[0], "n2", 0, 3);
	f.u.taken = (struct cluster_taken){ .incarnation = 2000, .peer_incarnation = 1000,
					    .seq = 2 };
	assert_int_equal(cluster_fwd_frame(net.e[0].fwd, "n2", &f, &error), 0);
	assert_int_equal(queue(&net.e[0], "n2").frames, 1);
	net_free(&net);

	took_three_of_five(&net, 2);
	cluster_fwd_reincarnated(net.e[0].fwd, 1001);
	cluster_fwd_node_gone(net.e[0].fwd, "n2", CLUSTER_FWD_NODE_DEAD);
	assert_int_equal(net.e[0].nundelivered, 5);
	assert_int_equal(queue(&net.e[0], "n2").in_doubt, 0);
	net_free(&net);
}

static void test_queue_bound(void **state)
{
	struct net net;
	const char *t = "a@d/r";

	(void)state;
	net_init(&net, 3, 0);
	send_n(&net.e[0], "n2", 0, 3);          /* link not up yet: queued */
	assert_int_equal(cluster_fwd_send(net.e[0].fwd, "n2", (const uint8_t *)"<x/>", 4, &t, 1),
			 -1);
	assert_int_equal(net.e[0].nundelivered, 1);
	assert_string_equal(net.e[0].undelivered[0], "<x/>");
	assert_int_equal(net.e[0].ureason[0], CLUSTER_FWD_QUEUE_FULL);
	/* The report: the bound, the cause counted, something waiting. */
	assert_int_equal(queue(&net.e[0], "n2").max_frames, 3);
	assert_int_equal(queue(&net.e[0], "n2").undelivered_by[CLUSTER_FWD_QUEUE_FULL], 1);
	assert_int_equal(queue(&net.e[0], "n2").undelivered_by[CLUSTER_FWD_NODE_DEAD], 0);
	assert_true(queue(&net.e[0], "n2").oldest_ms > 0);
	/* Queued before the first link: delivered when it opens. */
	net_open(&net, 1000, 2000);
	net_pump(&net);
	assert_delivered_in_order(&net.e[1], 3);
	assert_int_equal(queue(&net.e[0], "n2").oldest_ms, 0);  /* all acknowledged */
	net_free(&net);

	/* The byte bound: 40 bytes of route and targets. */
	net_init(&net, 0, 40);
	assert_int_equal(cluster_fwd_send(net.e[0].fwd, "n2", (const uint8_t *)"<aaaaaaaaaaaa/>",
					  15, &t, 1), 0);
	assert_int_equal(cluster_fwd_send(net.e[0].fwd, "n2", (const uint8_t *)"<bbbbbbbbbbbb/>",
					  15, &t, 1), -1);
	assert_int_equal(net.e[0].ureason[0], CLUSTER_FWD_QUEUE_FULL);
	assert_int_equal(queue(&net.e[0], "n2").bytes, 15 + 6);
	net_free(&net);
}

static void test_node_gone_and_broadcasts(void **state)
{
	struct net net;

	(void)state;
	net_init(&net, 0, 0);
	net_open(&net, 1000, 2000);
	net_close(&net);
	send_n(&net.e[0], "n2", 0, 2);
	/* A broadcast is queued too, but is never handed back. */
	assert_int_equal(cluster_fwd_send(net.e[0].fwd, "n2", (const uint8_t *)"<b/>", 4, NULL,
					  0), 0);
	cluster_fwd_node_gone(net.e[0].fwd, "n2", CLUSTER_FWD_NODE_DEAD);
	assert_int_equal(net.e[0].nundelivered, 2);
	assert_string_equal(net.e[0].undelivered[1], "<m1/>");
	assert_int_equal(queue(&net.e[0], "n2").frames, 0);
	/* Gone twice: nothing more. */
	cluster_fwd_node_gone(net.e[0].fwd, "n2", CLUSTER_FWD_NODE_DEAD);
	assert_int_equal(net.e[0].nundelivered, 2);
	/* While it is gone, a stanza for it comes back at once. */
	{
		const char *t = "z@d/r";

		assert_int_equal(cluster_fwd_send(net.e[0].fwd, "n2", (const uint8_t *)"<g/>", 4,
						  &t, 1), -1);
	}
	assert_int_equal(net.e[0].nundelivered, 3);
	assert_string_equal(net.e[0].undelivered[2], "<g/>");
	assert_int_equal(net.e[0].ureason[2], CLUSTER_FWD_NODE_DEAD);
	/* counted by cause; the broadcast is not counted */
	assert_int_equal(queue(&net.e[0], "n2").undelivered_by[CLUSTER_FWD_NODE_DEAD], 3);
	assert_int_equal(queue(&net.e[0], "n2").undelivered, 3);
	/* It comes back as a new incarnation over a link that stayed open
	 * (it learnt it was declared dead): both ends number from 1 again. */
	cluster_fwd_reincarnated(net.e[1].fwd, 2000);
	net_open(&net, 1000, 2000);
	assert_int_equal(queue(&net.e[0], "n2").next_seq, 1);
	send_n(&net.e[0], "n2", 0, 1);
	send_n(&net.e[1], "n1", 0, 2);
	net_pump(&net);
	assert_int_equal(net.e[1].ndelivered, 1);
	assert_string_equal(net.e[1].delivered[0], "<m0/>");
	assert_int_equal(queue(&net.e[1], "n1").delivered_in, 1);
	assert_delivered_in_order(&net.e[0], 2);
	net_free(&net);
}

static void test_unknown_node_too_big_bad_ack(void **state)
{
	struct net net;
	const char *t = "a@d/r";
	struct buf big;
	struct cluster_frame f = { .version = CLUSTER_PROTO_VERSION_MAX,
				   .type = CLUSTER_FRAME_ACK };
	const char *error = NULL;

	(void)state;
	net_init(&net, 0, 0);
	assert_int_equal(cluster_fwd_send(net.e[0].fwd, "n9", (const uint8_t *)"<x/>", 4, &t, 1),
			 -1);
	assert_int_equal(net.e[0].ureason[0], CLUSTER_FWD_NO_SUCH_NODE);
	buf_init(&big);
	buf_reserve(&big, CLUSTER_FRAME_MAX);
	memset(big.data, 'x', CLUSTER_FRAME_MAX);
	assert_int_equal(cluster_fwd_send(net.e[0].fwd, "n2", (const uint8_t *)big.data,
					  CLUSTER_FRAME_MAX - 20, &t, 1), -1);
	assert_int_equal(net.e[0].ureason[1], CLUSTER_FWD_TOO_BIG);
	assert_int_equal(queue(&net.e[0], "n2").undelivered_by[CLUSTER_FWD_TOO_BIG], 1);
	buf_free(&big);
	/* An ACK for stanzas never sent is refused. */
	net_open(&net, 1000, 2000);
	f.u.ack.seq = 1;
	assert_int_equal(cluster_fwd_frame(net.e[0].fwd, "n2", &f, &error), -1);
	assert_non_null(error);
	net_free(&net);
}

static void test_full_link_sends_later(void **state)
{
	struct net net;

	(void)state;
	net_init(&net, 0, 0);
	net_open(&net, 1000, 2000);
	net.cap = 40;           /* room for about two frames */
	send_n(&net.e[0], "n2", 0, 10);
	assert_true(net.e[0].stanzas_sent < 10);
	for (int i = 0; i < 20 && net.e[1].ndelivered < 10; i++)
		net_pump(&net);
	assert_delivered_in_order(&net.e[1], 10);
	net_free(&net);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order_and_ack),
		cmocka_unit_test(test_link_loss_resend_no_duplicates),
		cmocka_unit_test(test_new_incarnation_gets_them_again),
		cmocka_unit_test(test_sender_restart_receiver_resets),
		cmocka_unit_test(test_self_reincarnated),
		cmocka_unit_test(test_acked_before_reincarnation),
		cmocka_unit_test(test_taken_survives_a_new_incarnation),
		cmocka_unit_test(test_taken_other_pairs_and_gone),
		cmocka_unit_test(test_queue_bound),
		cmocka_unit_test(test_node_gone_and_broadcasts),
		cmocka_unit_test(test_unknown_node_too_big_bad_ack),
		cmocka_unit_test(test_full_link_sends_later),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
