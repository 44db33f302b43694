/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for cluster-mod/cluster_members.c, the member table and the
 * failure detector, with up to four tables in one process on a fake
 * clock. Every MEMBERS frame a table sends is encoded with the real codec,
 * queued on the (fake) link and decoded at pump time, as the links would.
 * Covered: learning members from one seed, suspect -> dead without other
 * evidence and no death while another node still sees the member, a
 * silent link, BYE, a member that comes back with a new incarnation, a
 * node that learns it was declared dead, the table bound, frames that are
 * refused whole, and a pause of this node itself; flap damping (the
 * penalty's decay, hold-down and release, a slow flapper never held) and
 * the partition and merge counters.
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

#include "cluster-mod/cluster_members.h"
#include "cluster-mod/cluster_proto.h"
#include "util/buf.h"

#define NODES 4

struct net {
	struct cluster_membership *m[NODES];
	int n;
	uint64_t now;
	int link[NODES][NODES];                 /* open, symmetric */
	uint64_t last_rx[NODES][NODES];         /* [at][from]: last bytes heard */
	int frozen[NODES];                      /* sends nothing (SIGSTOP) */
	struct buf q[NODES][NODES];             /* [from][to] encoded frames */
	int dead[NODES][NODES];                 /* [at][who] dead hook calls */
	enum cluster_member_state dead_state[NODES][NODES];
	int dials[NODES];                       /* dial hook calls */
	char dialled[NODES][64];                /* the last name dialled */
	int reincarnations[NODES];
	unsigned sent[NODES];
	int held_calls[NODES][NODES];           /* [at][who] held hook calls */
	int held[NODES][NODES];                 /* [at][who] as the hook said */
};

static const char *const names[NODES] = { "n1", "n2", "n3", "n4" };
static const char *const ips[NODES] = { "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5" };

struct hook_ctx {
	struct net *net;
	int self;
};
static struct hook_ctx ctxs[NODES];

static int idx(const char *name)
{
	for (int i = 0; i < NODES; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return -1;
}

static int h_send(void *ctx, const char *peer, const struct cluster_frame *f)
{
	struct hook_ctx *h = ctx;
	struct net *net = h->net;
	const char *error;
	int n = 0;

	assert_int_equal(f->type, CLUSTER_FRAME_MEMBERS);
	net->sent[h->self]++;
	for (int to = 0; to < net->n; to++) {
		if (to == h->self || !net->link[h->self][to])
			continue;
		if (peer != NULL && strcmp(peer, names[to]) != 0)
			continue;
		assert_int_equal(cluster_frame_encode(f, &net->q[h->self][to], &error), 0);
		n++;
	}
	return n;
}

static int64_t h_idle(void *ctx, const char *peer)
{
	struct hook_ctx *h = ctx;
	int p = idx(peer);

	if (p < 0 || !h->net->link[h->self][p])
		return -1;
	return (int64_t)(h->net->now - h->net->last_rx[h->self][p]);
}

static void h_dial(void *ctx, const char *name, const char *ip, int port)
{
	struct hook_ctx *h = ctx;

	assert_string_equal(ip, ips[idx(name)]);
	assert_int_equal(port, 5348);
	h->net->dials[h->self]++;
	snprintf(h->net->dialled[h->self], sizeof(h->net->dialled[0]), "%s", name);
}

static void h_dead(void *ctx, const char *name, enum cluster_member_state state)
{
	struct hook_ctx *h = ctx;
	int who = idx(name);

	h->net->dead[h->self][who]++;
	h->net->dead_state[h->self][who] = state;
}

static void h_reincarnated(void *ctx, uint64_t inc)
{
	struct hook_ctx *h = ctx;

	(void)inc;
	h->net->reincarnations[h->self]++;
}

static void h_held(void *ctx, const char *name, int held)
{
	struct hook_ctx *h = ctx;
	int who = idx(name);

	h->net->held_calls[h->self][who]++;
	assert_int_not_equal(h->net->held[h->self][who], held);        /* a change */
	h->net->held[h->self][who] = held;
}

static const struct cluster_members_hooks hooks = {
	.send = h_send,
	.link_idle = h_idle,
	.dial = h_dial,
	.dead = h_dead,
	.reincarnated = h_reincarnated,
	.held = h_held,
};

static struct cluster_members_timing timing;

static void net_start(struct net *net, int i, uint64_t incarnation)
{
	ctxs[i] = (struct hook_ctx){ net, i };
	cluster_members_free(&net->m[i]);
	net->m[i] = cluster_members_new(names[i], ips[i], 5348, incarnation, &timing, &hooks,
					&ctxs[i], net->now);
}

static void net_init(struct net *net, int n)
{
	memset(net, 0, sizeof(*net));
	cluster_members_timing_profile(0, &timing);
	net->n = n;
	net->now = 1000000;
	for (int i = 0; i < n; i++)
		net_start(net, i, 1000 + (uint64_t)i);
}

static void net_free(struct net *net)
{
	for (int i = 0; i < net->n; i++) {
		cluster_members_free(&net->m[i]);
		for (int j = 0; j < NODES; j++)
			buf_free(&net->q[i][j]);
	}
}

/* Deliver queued frames until none is left (bounded). */
static void pump(struct net *net)
{
	for (int round = 0; round < 100; round++) {
		int moved = 0;

		for (int from = 0; from < net->n; from++)
			for (int to = 0; to < net->n; to++) {
				struct buf *q = &net->q[from][to];

				if (net->frozen[to] && q->len > 0)
					continue;       /* stays queued */
				while (q->len > 0) {
					struct cluster_frame f;
					size_t flen;
					const char *error = NULL;

					assert_int_equal(cluster_frame_scan(q->data, q->len, &flen,
									    &error),
							 CLUSTER_SCAN_FRAME);
					assert_int_equal(cluster_frame_decode(q->data, flen,
									      CLUSTER_PROTO_VERSION_MAX,
									      &f, &error), 0);
					if (net->link[from][to]) {
						net->last_rx[to][from] = net->now;
						assert_int_equal(cluster_members_frame(
							net->m[to], names[from], &f.u.members,
							net->now, &error), 0);
					}
					cluster_frame_clear(&f);
					buf_consume(q, flen);
					moved = 1;
				}
			}
		if (!moved)
			return;
	}
	fail_msg("MEMBERS kept flowing for 100 rounds");
}

static void link_open(struct net *net, int a, int b)
{
	net->link[a][b] = net->link[b][a] = 1;
	net->last_rx[a][b] = net->last_rx[b][a] = net->now;
	cluster_members_link_open(net->m[a], names[b], ips[b], 5348,
				  cluster_members_incarnation(net->m[b]), net->now);
	cluster_members_link_open(net->m[b], names[a], ips[a], 5348,
				  cluster_members_incarnation(net->m[a]), net->now);
	pump(net);
}

static void link_close(struct net *net, int a, int b)
{
	net->link[a][b] = net->link[b][a] = 0;
	buf_free(&net->q[a][b]);
	buf_free(&net->q[b][a]);
	cluster_members_link_closed(net->m[a], names[b], net->now);
	cluster_members_link_closed(net->m[b], names[a], net->now);
	pump(net);
}

/* `who` says BYE(shutting down) to `at`; the link closes right after. */
static void bye(struct net *net, int at, int who)
{
	net->link[at][who] = net->link[who][at] = 0;
	buf_free(&net->q[at][who]);
	buf_free(&net->q[who][at]);
	cluster_members_left(net->m[at], names[who], net->now);
	cluster_members_link_closed(net->m[at], names[who], net->now);
	pump(net);
}

/* Advance the clock by `ms` in ticks of 250 ms; links that are open and
 * not frozen are heard from at every tick (the PINGs). */
static void run(struct net *net, unsigned ms)
{
	for (unsigned t = 0; t < ms; t += 250) {
		net->now += 250;
		for (int a = 0; a < net->n; a++)
			for (int b = 0; b < net->n; b++)
				if (net->link[a][b] && !net->frozen[b])
					net->last_rx[a][b] = net->now;
		for (int i = 0; i < net->n; i++)
			if (!net->frozen[i])
				cluster_members_tick(net->m[i], net->now);
		pump(net);
	}
}

static void full_mesh(struct net *net)
{
	for (int a = 0; a < net->n; a++)
		for (int b = a + 1; b < net->n; b++)
			link_open(net, a, b);
}

static enum cluster_member_state state(struct net *net, int at, int who)
{
	return cluster_members_state(net->m[at], names[who]);
}

static void test_learn_from_one_seed(void **unused)
{
	struct net net;

	(void)unused;
	net_init(&net, 3);
	link_open(&net, 0, 1);                  /* n1 - n2 */
	link_open(&net, 2, 0);                  /* n3 knows only its seed n1 */
	/* n3 learned n2 from n1's MEMBERS and dials it */
	assert_int_equal(state(&net, 2, 1), CLUSTER_MEMBER_SUSPECT);
	assert_string_equal(net.dialled[2], "n2");
	/* n2 learned n3 the same way */
	assert_int_equal(state(&net, 1, 2), CLUSTER_MEMBER_SUSPECT);
	link_open(&net, 2, 1);
	for (int a = 0; a < 3; a++)
		for (int b = 0; b < 3; b++)
			assert_int_equal(state(&net, a, b), CLUSTER_MEMBER_ALIVE);
	assert_int_equal(cluster_members_count(net.m[2]), 3);
	/* and it stays so, with MEMBERS at a low rate */
	memset(net.sent, 0, sizeof(net.sent));
	run(&net, 20000);
	for (int a = 0; a < 3; a++) {
		assert_in_range(net.sent[a], 1, 3);     /* every 10 s */
		for (int b = 0; b < 3; b++)
			assert_int_equal(state(&net, a, b), CLUSTER_MEMBER_ALIVE);
	}
	net_free(&net);
}

/* A learned member that nobody reports any more and that never linked
 * is dead once its join time has passed. */
static void test_learned_never_linked(void **unused)
{
	struct net net;

	(void)unused;
	net_init(&net, 3);
	link_open(&net, 0, 1);
	link_open(&net, 2, 0);
	assert_int_equal(state(&net, 2, 1), CLUSTER_MEMBER_SUSPECT);
	link_close(&net, 0, 1);                 /* n2 vanishes before n3 reached it */
	run(&net, 2000);
	assert_int_equal(state(&net, 2, 1), CLUSTER_MEMBER_SUSPECT);
	run(&net, 2000);
	assert_int_equal(state(&net, 2, 1), CLUSTER_MEMBER_DEAD);
	assert_int_equal(net.dead[2][1], 1);
	net_free(&net);
}

/* kill -9: every link to n2 closes at once; n1 and n3 declare it dead
 * within confirm_ms (1 s), once each. */
static void test_dead_without_evidence(void **unused)
{
	struct net net;

	(void)unused;
	net_init(&net, 3);
	full_mesh(&net);
	link_close(&net, 0, 1);
	link_close(&net, 2, 1);
	assert_int_equal(state(&net, 0, 1), CLUSTER_MEMBER_SUSPECT);
	assert_int_equal(state(&net, 2, 1), CLUSTER_MEMBER_SUSPECT);
	run(&net, 750);
	assert_int_equal(state(&net, 0, 1), CLUSTER_MEMBER_SUSPECT);
	assert_int_equal(net.dead[0][1], 0);
	run(&net, 250);
	assert_int_equal(state(&net, 0, 1), CLUSTER_MEMBER_DEAD);
	assert_int_equal(state(&net, 2, 1), CLUSTER_MEMBER_DEAD);
	run(&net, 10000);
	assert_int_equal(net.dead[0][1], 1);
	assert_int_equal(net.dead[2][1], 1);
	assert_int_equal(net.dead_state[0][1], CLUSTER_MEMBER_DEAD);
	assert_int_equal(net.dead[0][2], 0);
	assert_int_equal(state(&net, 0, 2), CLUSTER_MEMBER_ALIVE);
	net_free(&net);
}

/* One bad link: n1 loses n2 while n3 still talks to it. n1 keeps n2
 * suspect, never dead; once n3 loses it too, both declare it dead. */
static void test_suspect_kept_by_evidence(void **unused)
{
	struct net net;

	(void)unused;
	net_init(&net, 3);
	full_mesh(&net);
	link_close(&net, 0, 1);
	run(&net, 30000);
	assert_int_equal(state(&net, 0, 1), CLUSTER_MEMBER_SUSPECT);
	assert_int_equal(net.dead[0][1], 0);
	assert_int_equal(state(&net, 2, 1), CLUSTER_MEMBER_ALIVE);
	/* n2 never hears that it is dead */
	assert_int_equal(net.reincarnations[1], 0);
	link_close(&net, 2, 1);
	run(&net, 1000);
	assert_int_equal(state(&net, 0, 1), CLUSTER_MEMBER_DEAD);
	assert_int_equal(state(&net, 2, 1), CLUSTER_MEMBER_DEAD);
	assert_int_equal(net.dead[0][1], 1);
	assert_int_equal(net.dead[2][1], 1);
	net_free(&net);
}

/* SIGSTOP: the links stay open but fall silent. Suspect after 2 s,
 * dead at 3 s. Woken, the node hears it was declared dead and comes back
 * as a new incarnation. */
static void test_silent_then_new_incarnation(void **unused)
{
	struct net net;
	uint64_t inc;

	(void)unused;
	net_init(&net, 3);
	full_mesh(&net);
	inc = cluster_members_incarnation(net.m[1]);
	net.frozen[1] = 1;
	run(&net, 2000);
	assert_int_equal(state(&net, 0, 1), CLUSTER_MEMBER_SUSPECT);
	run(&net, 750);
	assert_int_equal(state(&net, 0, 1), CLUSTER_MEMBER_SUSPECT);
	run(&net, 250);
	assert_int_equal(state(&net, 0, 1), CLUSTER_MEMBER_DEAD);
	assert_int_equal(state(&net, 2, 1), CLUSTER_MEMBER_DEAD);
	/* the links time out and close */
	link_close(&net, 0, 1);
	link_close(&net, 2, 1);
	/* SIGCONT: n2 did not run for a while and judges nobody at once;
	 * the others may have given it up, so it takes a new incarnation at
	 * once, before it takes anything from its links (rule 7) */
	net.frozen[1] = 0;
	run(&net, 250);
	assert_int_equal(state(&net, 1, 0), CLUSTER_MEMBER_SUSPECT);
	assert_int_equal(net.dead[1][0], 0);
	assert_int_equal(net.reincarnations[1], 1);
	/* it redials: n1 still has it dead at the old incarnation, says so,
	 * and that is not news: n2 is already a new one */
	link_open(&net, 1, 0);
	assert_int_equal(net.reincarnations[1], 1);
	assert_true(cluster_members_incarnation(net.m[1]) > inc);
	assert_int_equal(state(&net, 0, 1), CLUSTER_MEMBER_ALIVE);
	link_open(&net, 1, 2);
	assert_int_equal(state(&net, 2, 1), CLUSTER_MEMBER_ALIVE);
	assert_int_equal(net.reincarnations[1], 1);
	assert_int_equal(net.reincarnations[0], 0);
	assert_int_equal(net.reincarnations[2], 0);
	run(&net, 10000);
	for (int a = 0; a < 3; a++)
		for (int b = 0; b < 3; b++)
			assert_int_equal(state(&net, a, b), CLUSTER_MEMBER_ALIVE);
	assert_int_equal(net.dead[0][1], 1);
	net_free(&net);
}

/* Rule 6's new incarnation closes every link of the node that takes it
 * (BYE(4) first): its peers that never lost it do not suspect it for
 * that, nor it them, while the links are made again; a link still down
 * after one suspect silence is judged as any other. */
static void test_new_incarnation_is_not_a_suspicion(void **unused)
{
	struct net net;

	(void)unused;
	net_init(&net, 3);
	full_mesh(&net);
	/* n3 cut off from n1 and n2: each side declares the other dead */
	link_close(&net, 0, 2);
	link_close(&net, 1, 2);
	run(&net, 4000);
	assert_int_equal(state(&net, 0, 2), CLUSTER_MEMBER_DEAD);
	assert_int_equal(state(&net, 2, 0), CLUSTER_MEMBER_DEAD);
	/* healed: n1 and n3 tell each other, and both take a new incarnation */
	link_open(&net, 0, 2);
	assert_int_equal(net.reincarnations[0], 1);
	assert_int_equal(net.reincarnations[2], 1);
	/* n1 closes its link to n2 to make it again; n2 got BYE(4) */
	cluster_members_relinking(net.m[1], "n1", net.now);
	link_close(&net, 0, 1);
	run(&net, 1750);
	assert_int_equal(state(&net, 0, 1), CLUSTER_MEMBER_ALIVE);
	assert_int_equal(state(&net, 1, 0), CLUSTER_MEMBER_ALIVE);
	link_open(&net, 0, 1);
	assert_int_equal(state(&net, 1, 0), CLUSTER_MEMBER_ALIVE);
	assert_int_equal(cluster_members_incarnation(net.m[0]), 1001);
	link_open(&net, 1, 2);
	run(&net, 10000);
	/* the same again, but the link stays down: judged after the grace */
	cluster_members_relinking(net.m[0], "n2", net.now);
	cluster_members_relinking(net.m[1], "n1", net.now);
	link_close(&net, 0, 1);
	run(&net, 1750);
	assert_int_equal(state(&net, 1, 0), CLUSTER_MEMBER_ALIVE);
	assert_int_equal(state(&net, 0, 1), CLUSTER_MEMBER_ALIVE);
	run(&net, 500);
	assert_int_equal(state(&net, 1, 0), CLUSTER_MEMBER_SUSPECT);
	assert_int_equal(state(&net, 0, 1), CLUSTER_MEMBER_SUSPECT);
	link_open(&net, 0, 1);
	run(&net, 10000);
	for (int a = 0; a < 3; a++)
		for (int b = 0; b < 3; b++)
			assert_int_equal(state(&net, a, b), CLUSTER_MEMBER_ALIVE);
	assert_int_equal(net.dead[0][1], 0);
	assert_int_equal(net.dead[1][0], 0);
	net_free(&net);
}

/* BYE(shutting down): LEFT at once; a restart (new incarnation) is
 * alive again. A node whose link to the leaver was already down learns
 * LEFT from a peer. */
static void test_left_and_restart(void **unused)
{
	struct net net;

	(void)unused;
	net_init(&net, 3);
	full_mesh(&net);
	bye(&net, 0, 1);
	assert_int_equal(state(&net, 0, 1), CLUSTER_MEMBER_LEFT);
	assert_int_equal(net.dead[0][1], 1);
	assert_int_equal(net.dead_state[0][1], CLUSTER_MEMBER_LEFT);
	bye(&net, 2, 1);
	run(&net, 5000);
	assert_int_equal(net.dead[0][1], 1);    /* once */
	assert_int_equal(state(&net, 2, 1), CLUSTER_MEMBER_LEFT);
	net.now += 1000;
	net_start(&net, 1, 5000);               /* restarted: incarnation 5000 */
	link_open(&net, 1, 0);
	link_open(&net, 1, 2);
	assert_int_equal(state(&net, 0, 1), CLUSTER_MEMBER_ALIVE);
	assert_int_equal(state(&net, 2, 1), CLUSTER_MEMBER_ALIVE);
	assert_int_equal(net.reincarnations[1], 0);
	net_free(&net);
}

static void test_left_learned_from_peer(void **unused)
{
	struct net net;

	(void)unused;
	net_init(&net, 3);
	full_mesh(&net);
	link_close(&net, 2, 1);                 /* n3 - n2 already broken */
	bye(&net, 0, 1);                        /* n1 hears BYE */
	assert_int_equal(state(&net, 2, 1), CLUSTER_MEMBER_LEFT);
	assert_int_equal(net.dead[2][1], 1);
	net_free(&net);
}

/* Frames refused whole: a bad name, a name twice; a frame from a node
 * that is not a peer. */
static void test_refused_frames(void **unused)
{
	struct net net;
	struct cluster_member ms[2] = {
		{ .name = cluster_bytes_str("n9"), .ip = cluster_bytes_str("127.0.0.9"),
		  .port = 5348, .incarnation = 1, .state = CLUSTER_MEMBER_ALIVE },
		{ .name = cluster_bytes_str("n9"), .ip = cluster_bytes_str("127.0.0.9"),
		  .port = 5348, .incarnation = 1, .state = CLUSTER_MEMBER_ALIVE },
	};
	struct cluster_members fm = { 2, ms };
	const char *error = NULL;

	(void)unused;
	net_init(&net, 2);
	link_open(&net, 0, 1);
	assert_int_equal(cluster_members_frame(net.m[0], "n2", &fm, net.now, &error), -1);
	assert_string_equal(error, "a member listed twice");
	ms[1].name = cluster_bytes_str("bad/name");
	assert_int_equal(cluster_members_frame(net.m[0], "n2", &fm, net.now, &error), -1);
	assert_string_equal(error, "member name not a valid node name");
	assert_int_equal(cluster_members_count(net.m[0]), 2);   /* n9 not added */
	assert_int_equal(cluster_members_frame(net.m[0], "n7", &fm, net.now, &error), -1);
	/* dead or left members are never learned */
	ms[0].state = CLUSTER_MEMBER_DEAD;
	fm.nmembers = 1;
	assert_int_equal(cluster_members_frame(net.m[0], "n2", &fm, net.now, &error), 0);
	assert_int_equal(cluster_members_count(net.m[0]), 2);
	net_free(&net);
}

/* A MEMBERS frame that names this node: dead or left at an older
 * incarnation, or suspect, changes nothing; dead at the current one makes
 * a new incarnation, announced to every open peer, once per frame. */
static void test_frame_names_us(void **unused)
{
	struct net net;
	struct cluster_member me = { .name = cluster_bytes_str("n1"),
				     .ip = cluster_bytes_str("127.0.0.2"), .port = 5348 };
	struct cluster_members fm = { 1, &me };
	const char *error = NULL;
	uint64_t inc;
	unsigned sent;

	(void)unused;
	net_init(&net, 2);
	link_open(&net, 0, 1);
	inc = cluster_members_incarnation(net.m[0]);
	me.incarnation = inc - 1;
	me.state = CLUSTER_MEMBER_DEAD;
	assert_int_equal(cluster_members_frame(net.m[0], "n2", &fm, net.now, &error), 0);
	me.incarnation = inc;
	me.state = CLUSTER_MEMBER_SUSPECT;
	assert_int_equal(cluster_members_frame(net.m[0], "n2", &fm, net.now, &error), 0);
	assert_int_equal(net.reincarnations[0], 0);
	assert_int_equal(cluster_members_incarnation(net.m[0]), inc);
	sent = net.sent[0];
	me.state = CLUSTER_MEMBER_DEAD;
	assert_int_equal(cluster_members_frame(net.m[0], "n2", &fm, net.now, &error), 0);
	assert_int_equal(net.reincarnations[0], 1);
	assert_int_equal(cluster_members_incarnation(net.m[0]), inc + 1);
	assert_int_equal(net.sent[0], sent + 1);        /* announced */
	pump(&net);
	/* n2 now knows the new incarnation; the old one's death is stale */
	{
		struct cluster_member_info info;

		for (int i = 0; i < cluster_members_count(net.m[1]); i++) {
			cluster_members_get(net.m[1], i, net.now, &info);
			if (strcmp(info.name, "n1") == 0)
				assert_int_equal(info.incarnation, inc + 1);
		}
	}
	assert_int_equal(cluster_members_frame(net.m[0], "n2", &fm, net.now, &error), 0);
	assert_int_equal(net.reincarnations[0], 1);
	net_free(&net);
}

/* The table holds 256 members at most, this node included. */
static void test_table_bound(void **unused)
{
	struct cluster_members_timing t;
	struct cluster_membership *m;
	struct cluster_member ms[300];
	char nm[300][16];
	struct cluster_members fm = { 300, ms };
	const char *error = NULL;
	static int dials;

	(void)unused;
	cluster_members_timing_profile(0, &t);
	m = cluster_members_new("n1", "127.0.0.2", 5348, 1, &t, NULL, NULL, 0);
	cluster_members_link_open(m, "p0", "127.0.1.0", 5348, 7, 0);
	for (int i = 0; i < 300; i++) {
		snprintf(nm[i], sizeof(nm[i]), "p%d", i);
		ms[i] = (struct cluster_member){ .name = cluster_bytes_str(nm[i]),
						 .ip = cluster_bytes_str("127.0.1.1"),
						 .port = 5348, .incarnation = 7,
						 .state = CLUSTER_MEMBER_ALIVE };
	}
	assert_int_equal(cluster_members_frame(m, "p0", &fm, 0, &error), 0);
	assert_int_equal(cluster_members_count(m), CLUSTER_MEMBERS_TABLE_MAX);
	assert_int_equal(cluster_members_state(m, "p254"), CLUSTER_MEMBER_SUSPECT);
	assert_int_equal(cluster_members_state(m, "p255"), 0);
	(void)dials;
	cluster_members_free(&m);
	assert_null(m);
}

/* The WAN profile's bounds: dead at 15 s of silence. */
static void test_wan_timing(void **unused)
{
	struct cluster_members_timing t;

	(void)unused;
	cluster_members_timing_profile(1, &t);
	assert_int_equal(t.silent_ms + t.confirm_ms, 15000);
	cluster_members_timing_profile(0, &t);
	assert_int_equal(t.silent_ms + t.confirm_ms, 3000);
}

/* ---- flap damping ---- */

static void test_flap_decay(void **unused)
{
	unsigned prev = 4000;

	(void)unused;
	assert_int_equal(cluster_flap_decay(1000, 0, 0, 15000), 1000);
	assert_int_equal(cluster_flap_decay(1000, 0, 15000, 15000), 500);
	assert_int_equal(cluster_flap_decay(1000, 0, 30000, 15000), 250);
	assert_in_range(cluster_flap_decay(1000, 0, 7500, 15000), 706, 708);   /* 2^-0.5 */
	assert_in_range(cluster_flap_decay(6000, 5, 5 + 22500, 15000), 2119, 2123);
	assert_int_equal(cluster_flap_decay(6000, 0, 32u * 15000, 15000), 0);
	assert_int_equal(cluster_flap_decay(6000, 0, UINT64_MAX, 15000), 0);
	assert_int_equal(cluster_flap_decay(1000, 0, 15000, 0), 1000);         /* off */
	assert_int_equal(cluster_flap_decay(1000, 20, 10, 15000), 1000);       /* clock */
	for (uint64_t t = 100; t < 100000; t += 100) {
		unsigned p = cluster_flap_decay(4000, 0, t, 15000);

		assert_true(p <= prev);
		prev = p;
	}
}

/* n2 (index 1) is killed (its links close) and declared dead, then starts
 * again as a new incarnation and links with both. */
static void kill_restart(struct net *net, uint64_t inc, unsigned down_ms)
{
	link_close(net, 0, 1);
	link_close(net, 2, 1);
	run(net, down_ms);
	assert_int_equal(state(net, 0, 1), CLUSTER_MEMBER_DEAD);
	net_start(net, 1, inc);
	link_open(net, 1, 0);
	link_open(net, 1, 2);
	assert_int_equal(state(net, 0, 1), CLUSTER_MEMBER_ALIVE);
}

static struct cluster_member_info member(struct net *net, int at, int who)
{
	struct cluster_member_info info;

	for (int i = 0; i < cluster_members_count(net->m[at]); i++) {
		cluster_members_get(net->m[at], i, net->now, &info);
		if (strcmp(info.name, names[who]) == 0)
			return info;
	}
	fail_msg("%s not in %s's table", names[who], names[at]);
	return info;
}

/* Returns 2.5 s apart: the first two are shown, the third is held down
 * (penalty 1000, then 1000 x 2^(-2.5/15) + 1000 = 1891, then 2685); more
 * returns keep it held (no second hook call); once it stays up it is
 * released when the penalty has decayed below 750, not before. */
static void test_flap_hold_down(void **unused)
{
	struct net net;
	struct cluster_member_info info;
	struct cluster_members_counters c;
	uint64_t inc = 5000;

	(void)unused;
	net_init(&net, 3);
	full_mesh(&net);
	kill_restart(&net, ++inc, 1500);
	run(&net, 1000);
	info = member(&net, 0, 1);
	assert_int_equal(info.returns, 1);
	assert_in_range(info.penalty, 900, 1000);
	assert_false(info.held);
	kill_restart(&net, ++inc, 1500);
	run(&net, 1000);
	assert_int_equal(net.held_calls[0][1], 0);
	kill_restart(&net, ++inc, 1500);
	assert_int_equal(net.held_calls[0][1], 1);
	assert_int_equal(net.held_calls[2][1], 1);
	assert_true(net.held[0][1]);
	info = member(&net, 0, 1);
	assert_true(info.held);
	assert_int_equal(info.held_since_ms, net.now);
	assert_in_range(info.penalty, 2600, 2700);
	/* it keeps flapping: still held, no new hook call */
	for (int i = 0; i < 3; i++) {
		run(&net, 1000);
		kill_restart(&net, ++inc, 1500);
	}
	assert_int_equal(net.held_calls[0][1], 1);
	info = member(&net, 0, 1);
	assert_int_equal(info.returns, 6);
	assert_true(info.penalty <= CLUSTER_FLAP_MAX);
	/* this node and n3 were never held by anyone */
	assert_int_equal(net.held_calls[1][0] + net.held_calls[1][2] + net.held_calls[0][2], 0);
	/* up for good: held while the penalty is 750 or more */
	for (int i = 0; i < 400 && member(&net, 0, 1).penalty >= CLUSTER_FLAP_REUSE + 10; i++) {
		run(&net, 250);
		assert_true(member(&net, 0, 1).held);
	}
	run(&net, 1000);
	info = member(&net, 0, 1);
	assert_false(info.held);
	assert_true(info.penalty < CLUSTER_FLAP_REUSE);
	assert_int_equal(net.held_calls[0][1], 2);
	assert_false(net.held[0][1]);
	cluster_members_counters(net.m[0], &c);
	assert_int_equal(c.declared_dead, 6);
	assert_int_equal(c.merges, 6);
	assert_int_equal(c.held_down, 1);
	assert_int_equal(c.suspected, 6);
	assert_int_equal(c.partitions, 0);
	net_free(&net);
}

/* A node that comes back every 20 s (more than a half-life apart) stays
 * below the suppress level for good: 1000 / (1 - 2^(-20/15)) = 1658. */
static void test_slow_flapper_never_held(void **unused)
{
	struct net net;
	uint64_t inc = 5000;

	(void)unused;
	net_init(&net, 3);
	full_mesh(&net);
	for (int i = 0; i < 10; i++) {
		kill_restart(&net, ++inc, 1500);
		run(&net, 18500);
	}
	assert_int_equal(net.held_calls[0][1], 0);
	assert_int_equal(member(&net, 0, 1).returns, 10);
	assert_true(member(&net, 0, 1).penalty < CLUSTER_FLAP_SUPPRESS - CLUSTER_FLAP_PENALTY);
	net_free(&net);
}

/* n1 cut from both others: each side declares the other dead. Healed,
 * n1 hears n3 still sees n2 alive at the incarnation n1 declared dead (a
 * partition seen) and that it was itself declared dead (another); all
 * merge again as new incarnations. */
static void test_partition_and_merge_counted(void **unused)
{
	struct net net;
	struct cluster_members_counters c;

	(void)unused;
	net_init(&net, 3);
	full_mesh(&net);
	link_close(&net, 0, 1);
	link_close(&net, 0, 2);
	run(&net, 1500);
	assert_int_equal(state(&net, 0, 1), CLUSTER_MEMBER_DEAD);
	assert_int_equal(state(&net, 1, 0), CLUSTER_MEMBER_DEAD);
	assert_int_equal(state(&net, 1, 2), CLUSTER_MEMBER_ALIVE);
	link_open(&net, 0, 2);
	link_open(&net, 0, 1);
	run(&net, 5000);
	for (int a = 0; a < 3; a++)
		for (int b = 0; b < 3; b++)
			assert_int_equal(state(&net, a, b), CLUSTER_MEMBER_ALIVE);
	cluster_members_counters(net.m[0], &c);
	assert_true(c.partitions >= 2);
	assert_true(c.merges >= 2);
	assert_int_equal(c.declared_dead, 2);
	cluster_members_counters(net.m[1], &c);
	assert_int_equal(c.declared_dead, 1);
	assert_true(c.merges >= 1);
	net_free(&net);
}

/* Issue 14: merges. n1 | n2 n3 long enough for both sides to declare
 * the other dead, then healed: each side's merge is due once for the
 * nodes it declared dead (and only once their link is open again), and
 * each node told it was dead is revived once every linked peer sees its
 * new incarnation. A node back by a restart is no merge. */
static int ready(struct net *net, int at, const char **names_r)
{
	return cluster_members_merge_ready(net->m[at], names_r, NODES);
}

static void test_merges_after_a_partition(void **unused)
{
	struct net net;
	const char *v[NODES];

	(void)unused;
	net_init(&net, 3);
	full_mesh(&net);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(ready(&net, i, v), 0);
		assert_false(cluster_members_revived_ready(net.m[i]));
	}
	link_close(&net, 0, 1);
	link_close(&net, 0, 2);
	run(&net, 2000);
	assert_int_equal(state(&net, 0, 1), CLUSTER_MEMBER_DEAD);
	assert_int_equal(state(&net, 1, 0), CLUSTER_MEMBER_DEAD);
	assert_int_equal(state(&net, 2, 0), CLUSTER_MEMBER_DEAD);
	/* dead, not back: nothing due */
	assert_int_equal(ready(&net, 0, v), 0);
	assert_int_equal(ready(&net, 1, v), 0);
	link_open(&net, 0, 1);
	link_open(&net, 0, 2);
	run(&net, 1000);
	for (int a = 0; a < 3; a++)
		for (int b = 0; b < 3; b++)
			assert_int_equal(state(&net, a, b), CLUSTER_MEMBER_ALIVE);
	/* n1 declared n2 and n3 dead; each of them declared n1 dead */
	assert_int_equal(ready(&net, 0, v), 2);
	assert_true((strcmp(v[0], "n2") == 0 && strcmp(v[1], "n3") == 0) ||
		    (strcmp(v[0], "n3") == 0 && strcmp(v[1], "n2") == 0));
	assert_int_equal(ready(&net, 1, v), 1);
	assert_string_equal(v[0], "n1");
	assert_int_equal(ready(&net, 2, v), 1);
	assert_string_equal(v[0], "n1");
	cluster_members_merge_done(net.m[0], "n2");
	cluster_members_merge_done(net.m[0], "n3");
	cluster_members_merge_done(net.m[1], "n1");
	cluster_members_merge_done(net.m[1], "n1");     /* once */
	cluster_members_merge_done(net.m[2], "n1");
	run(&net, 5000);
	for (int i = 0; i < 3; i++)
		assert_int_equal(ready(&net, i, v), 0);
	assert_int_equal(cluster_members_merges_announced(net.m[0]), 2);
	assert_int_equal(cluster_members_merges_announced(net.m[1]), 1);
	/* all three were told they were dead: each is revived, once */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(net.reincarnations[i], 1);
		assert_true(cluster_members_revived_ready(net.m[i]));
		cluster_members_revived_done(net.m[i]);
		assert_false(cluster_members_revived_ready(net.m[i]));
	}
	/* n2 killed and restarted (a new start time): no merge at n1 */
	link_close(&net, 0, 1);
	link_close(&net, 2, 1);
	run(&net, 1000);
	assert_int_equal(state(&net, 0, 1), CLUSTER_MEMBER_DEAD);
	net.now += 5000;
	net_start(&net, 1, 900000);
	link_open(&net, 1, 0);
	link_open(&net, 1, 2);
	run(&net, 1000);
	assert_int_equal(state(&net, 0, 1), CLUSTER_MEMBER_ALIVE);
	assert_int_equal(ready(&net, 0, v), 0);
	assert_int_equal(ready(&net, 2, v), 0);
	assert_false(cluster_members_revived_ready(net.m[1]));
	net_free(&net);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_learn_from_one_seed),
		cmocka_unit_test(test_learned_never_linked),
		cmocka_unit_test(test_dead_without_evidence),
		cmocka_unit_test(test_suspect_kept_by_evidence),
		cmocka_unit_test(test_silent_then_new_incarnation),
		cmocka_unit_test(test_new_incarnation_is_not_a_suspicion),
		cmocka_unit_test(test_left_and_restart),
		cmocka_unit_test(test_left_learned_from_peer),
		cmocka_unit_test(test_refused_frames),
		cmocka_unit_test(test_frame_names_us),
		cmocka_unit_test(test_table_bound),
		cmocka_unit_test(test_wan_timing),
		cmocka_unit_test(test_flap_decay),
		cmocka_unit_test(test_flap_hold_down),
		cmocka_unit_test(test_slow_flapper_never_held),
		cmocka_unit_test(test_partition_and_merge_counted),
		cmocka_unit_test(test_merges_after_a_partition),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
