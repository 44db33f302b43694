/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for cluster-mod/cluster_state.c, the replicated session
 * table, with two or three tables joined by encoded frames (state_net.c):
 * deltas applied in order, duplicates ignored, a gap answered with
 * STATE_REQUEST and filled, a snapshot replaces stale entries, a new
 * incarnation replaces the old one's entries, BYE drops a node's entries,
 * a request older than the history bound gets a snapshot, changes are
 * batched into one STATE_DELTA per flush, and a peer cannot write this
 * node's entries.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cluster-mod/cluster_proto.h"
#include "cluster-mod/cluster_state.h"
#include "cluster-mod/tests/state_net.h"

static void set(struct cluster_state *st, const char *jid, int prio, int avail)
{
	const char *error = NULL;

	assert_int_equal(cluster_state_local_set(st, jid, "sid-1", prio, avail, 1700000000000ull,
						 &error), 0);
}

static void assert_session(struct cluster_state *st, const char *jid, const char *node,
			   int prio, int avail)
{
	struct cluster_state_session s;

	assert_int_equal(cluster_state_lookup(st, jid, node, &s), 0);
	assert_string_equal(s.node, node);
	assert_int_equal(s.priority, prio);
	assert_int_equal(s.available, avail);
	assert_string_equal(s.sid, "sid-1");
}

static void assert_no_session(struct cluster_state *st, const char *jid, const char *node)
{
	struct cluster_state_session s;

	assert_int_not_equal(cluster_state_lookup(st, jid, node, &s), 0);
}

static void test_deltas_in_order(void **state)
{
	struct state_net net;

	(void)state;
	state_net_init(&net, 3, 16);
	set(net.st[0], "a@example.org/r1", 5, 1);
	set(net.st[0], "b@example.org/r1", 0, 1);
	set(net.st[0], "c@example.org/r1", -1, 0);
	set(net.st[0], "a@example.org/r1", 7, 0);          /* update */
	assert_int_equal(cluster_state_local_remove(net.st[0], "b@example.org/r1"), 0);
	assert_int_equal(cluster_state_local_remove(net.st[0], "b@example.org/r1"), -1);
	cluster_state_flush(net.st[0]);
	/* five changes, one frame per peer */
	assert_int_equal(net.sent[0][CLUSTER_FRAME_STATE_DELTA], 1);
	state_net_pump(&net);
	for (int i = 1; i < 3; i++) {
		assert_int_equal(cluster_state_count(net.st[i], "n1"), 2);
		assert_session(net.st[i], "a@example.org/r1", "n1", 7, 0);
		assert_session(net.st[i], "c@example.org/r1", "n1", -1, 0);
		assert_no_session(net.st[i], "b@example.org/r1", NULL);
		assert_int_equal(cluster_state_last_seq(net.st[i], "n1", NULL), 5);
	}
	/* n2's own session and n1's live side by side in n3's table */
	set(net.st[1], "a@example.org/r1", 1, 1);
	cluster_state_flush(net.st[1]);
	cluster_state_flush(net.st[1]);                     /* nothing new: no frame */
	assert_int_equal(net.sent[1][CLUSTER_FRAME_STATE_DELTA], 1);
	state_net_pump(&net);
	assert_session(net.st[2], "a@example.org/r1", "n2", 1, 1);
	assert_session(net.st[2], "a@example.org/r1", "n1", 7, 0);
	assert_int_equal(cluster_state_count(net.st[2], NULL), 3);
	assert_int_equal(net.errors, 0);
	state_net_free(&net);
}

static void test_duplicates_ignored(void **state)
{
	struct state_net net;
	struct buf copy;

	(void)state;
	state_net_init(&net, 2, 16);
	set(net.st[0], "a@example.org/r1", 5, 1);
	cluster_state_flush(net.st[0]);
	buf_init(&copy);
	buf_append(&copy, net.q[0][1].data, net.q[0][1].len);
	state_net_pump(&net);
	assert_int_equal(cluster_state_local_remove(net.st[0], "a@example.org/r1"), 0);
	cluster_state_flush(net.st[0]);
	state_net_pump(&net);
	assert_int_equal(cluster_state_count(net.st[1], "n1"), 0);
	/* the first delta again: already seen, the session stays removed */
	buf_append(&net.q[0][1], copy.data, copy.len);
	state_net_pump(&net);
	assert_int_equal(cluster_state_count(net.st[1], "n1"), 0);
	assert_int_equal(cluster_state_last_seq(net.st[1], "n1", NULL), 2);
	assert_int_equal(net.sent[1][CLUSTER_FRAME_STATE_REQUEST], 0);
	buf_free(&copy);
	state_net_free(&net);
}

static void test_gap_requests(void **state)
{
	struct state_net net;

	(void)state;
	state_net_init(&net, 2, 16);
	set(net.st[0], "a@example.org/r1", 1, 1);
	cluster_state_flush(net.st[0]);
	state_net_pump(&net);
	net.drop = 1;                   /* seq 2 is lost */
	set(net.st[0], "b@example.org/r1", 2, 1);
	cluster_state_flush(net.st[0]);
	net.drop = 0;
	set(net.st[0], "c@example.org/r1", 3, 1);
	cluster_state_flush(net.st[0]);
	state_net_pump(&net);
	/* n2 saw seq 3 after 1, asked for what follows 1 and got deltas */
	assert_int_equal(net.sent[1][CLUSTER_FRAME_STATE_REQUEST], 1);
	assert_int_equal(net.sent[0][CLUSTER_FRAME_STATE_SNAPSHOT], 0);
	assert_int_equal(cluster_state_count(net.st[1], "n1"), 3);
	assert_session(net.st[1], "b@example.org/r1", "n1", 2, 1);
	assert_int_equal(cluster_state_last_seq(net.st[1], "n1", NULL), 3);
	state_net_free(&net);
}

/* The answer to a request is lost: after 64 more deltas past the gap the
 * peer asks again, and catches up. */
static void test_gap_request_repeated(void **state)
{
	struct state_net net;
	char jid[64];

	(void)state;
	state_net_init(&net, 2, 256);
	net.drop = 1;                   /* seq 1 is lost */
	set(net.st[0], "a@example.org/r1", 1, 1);
	cluster_state_flush(net.st[0]);
	net.drop = 0;
	set(net.st[0], "b@example.org/r1", 1, 1);
	cluster_state_flush(net.st[0]);
	net.drop = 1;                   /* n2's request is lost too */
	state_net_pump(&net);
	net.drop = 0;
	assert_int_equal(net.sent[1][CLUSTER_FRAME_STATE_REQUEST], 1);
	/* the next 63 deltas past the gap do not each ask again */
	for (int i = 0; i < 63; i++) {
		snprintf(jid, sizeof(jid), "u%d@example.org/r", i);
		set(net.st[0], jid, 0, 1);
		cluster_state_flush(net.st[0]);
	}
	state_net_pump(&net);
	assert_int_equal(net.sent[1][CLUSTER_FRAME_STATE_REQUEST], 1);
	assert_int_equal(cluster_state_count(net.st[1], "n1"), 0);
	/* the 64th does, and n2 catches up */
	set(net.st[0], "z@example.org/r", 0, 1);
	cluster_state_flush(net.st[0]);
	state_net_pump(&net);
	assert_int_equal(net.sent[1][CLUSTER_FRAME_STATE_REQUEST], 2);
	assert_int_equal(cluster_state_count(net.st[1], "n1"), 66);
	state_net_free(&net);
}

static void test_snapshot_replaces(void **state)
{
	struct state_net net;

	(void)state;
	state_net_init(&net, 2, 4);
	for (int i = 0; i < 3; i++) {
		char jid[64];

		snprintf(jid, sizeof(jid), "old%d@example.org/r", i);
		set(net.st[0], jid, 0, 1);
	}
	cluster_state_flush(net.st[0]);
	state_net_pump(&net);
	assert_int_equal(cluster_state_count(net.st[1], "n1"), 3);
	/* the link is down while n1 changes more than its history holds */
	net.drop = 1;
	for (int i = 0; i < 3; i++) {
		char jid[64];

		snprintf(jid, sizeof(jid), "old%d@example.org/r", i);
		assert_int_equal(cluster_state_local_remove(net.st[0], jid), 0);
		snprintf(jid, sizeof(jid), "new%d@example.org/r", i);
		set(net.st[0], jid, 4, 0);
	}
	cluster_state_flush(net.st[0]);
	net.drop = 0;
	/* the link opens again: n2 asks since seq 3, n1 no longer has seq 4 */
	cluster_state_peer_open(net.st[1], "n1");
	state_net_pump(&net);
	assert_int_equal(net.sent[0][CLUSTER_FRAME_STATE_SNAPSHOT], 1);
	assert_int_equal(cluster_state_count(net.st[1], "n1"), 3);
	assert_no_session(net.st[1], "old0@example.org/r", "n1");
	assert_session(net.st[1], "new2@example.org/r", "n1", 4, 0);
	assert_int_equal(cluster_state_last_seq(net.st[1], "n1", NULL), 9);
	/* afterwards deltas continue from the snapshot's sequence */
	set(net.st[0], "z@example.org/r", 1, 1);
	cluster_state_flush(net.st[0]);
	state_net_pump(&net);
	assert_int_equal(cluster_state_count(net.st[1], "n1"), 4);
	assert_int_equal(net.errors, 0);
	state_net_free(&net);
}

static void test_history_within_bound_sends_deltas(void **state)
{
	struct state_net net;

	(void)state;
	state_net_init(&net, 2, 4);
	set(net.st[0], "a@example.org/r", 0, 1);
	cluster_state_flush(net.st[0]);
	state_net_pump(&net);
	net.drop = 1;
	set(net.st[0], "b@example.org/r", 0, 1);
	set(net.st[0], "c@example.org/r", 0, 1);
	cluster_state_flush(net.st[0]);
	net.drop = 0;
	cluster_state_peer_open(net.st[1], "n1");
	state_net_pump(&net);
	assert_int_equal(net.sent[0][CLUSTER_FRAME_STATE_SNAPSHOT], 0);
	assert_int_equal(cluster_state_count(net.st[1], "n1"), 3);
	state_net_free(&net);
}

static void test_big_snapshot_chunks(void **state)
{
	struct state_net net;
	char jid[64];

	(void)state;
	state_net_init(&net, 2, 16);
	for (int i = 0; i < 10000; i++) {
		snprintf(jid, sizeof(jid), "u%d@example.org/r", i);
		set(net.st[0], jid, i % 100, i % 2);
	}
	cluster_state_peer_open(net.st[1], "n1");      /* n2 knows nothing: snapshot */
	state_net_pump(&net);
	/* 10,000 entries do not fit one frame (CLUSTER_ENTRIES_MAX) */
	assert_true(net.sent[0][CLUSTER_FRAME_STATE_SNAPSHOT] >= 3);
	assert_int_equal(cluster_state_count(net.st[1], "n1"), 10000);
	assert_session(net.st[1], "u9999@example.org/r", "n1", 99, 1);
	assert_int_equal(net.errors, 0);
	state_net_free(&net);
}

/* A link whose output is full takes a snapshot a chunk at a time: the
 * rest goes when there is room, and the peer ends up with all of it. */
static void test_snapshot_paced_by_link(void **state)
{
	struct state_net net;
	char jid[64];

	(void)state;
	state_net_init(&net, 2, 16);
	net.cap = 200 * 1024;         /* one chunk (4,096 entries) at a time */
	for (int i = 0; i < 10000; i++) {
		snprintf(jid, sizeof(jid), "u%d@example.org/r", i);
		set(net.st[0], jid, i % 100, 1);
	}
	cluster_state_peer_open(net.st[1], "n1");
	state_net_pump(&net);
	assert_true(net.refused > 0);
	assert_int_equal(cluster_state_count(net.st[1], "n1"), 10000);
	assert_int_equal(cluster_state_last_seq(net.st[1], "n1", NULL), 10000);
	assert_int_equal(net.errors, 0);
	/* a link that closes mid-snapshot: the rest is not sent */
	{
		struct cluster_frame f = { .version = 1,
					   .type = CLUSTER_FRAME_STATE_REQUEST };
		const char *error = NULL;

		f.u.request.origin = cluster_bytes_str("n1");
		f.u.request.mode = CLUSTER_REQUEST_SNAPSHOT;
		assert_int_equal(cluster_state_frame(net.st[0], "n2", &f, &error), 0);
		assert_int_equal(cluster_state_retry(net.st[0]), 1);  /* queue full */
		cluster_state_peer_closed(net.st[0], "n2");
		assert_int_equal(cluster_state_retry(net.st[0]), 0);
	}
	state_net_free(&net);
}

/* The rest of a snapshot goes when its own peer's link has drained
 * (cluster_state_peer_drained), not when another peer's has. */
static void test_snapshot_rest_goes_on_its_links_drain(void **state)
{
	struct state_net net;
	struct cluster_frame f = { .version = 1, .type = CLUSTER_FRAME_STATE_REQUEST };
	const char *error = NULL;
	char jid[64];
	unsigned before;

	(void)state;
	state_net_init(&net, 3, 16);
	net.cap = 200 * 1024;         /* one chunk (4,096 entries) at a time */
	for (int i = 0; i < 10000; i++) {
		snprintf(jid, sizeof(jid), "u%d@example.org/r", i);
		set(net.st[0], jid, i % 100, 1);
	}
	f.u.request.origin = cluster_bytes_str("n1");
	f.u.request.mode = CLUSTER_REQUEST_SNAPSHOT;
	assert_int_equal(cluster_state_frame(net.st[0], "n2", &f, &error), 0);
	before = net.sent[0][CLUSTER_FRAME_STATE_SNAPSHOT];
	assert_true(before > 0);
	assert_true(net.refused > 0);           /* n2's queue is full */
	buf_reset(&net.q[0][1]);                /* n2's link drained */
	cluster_state_peer_drained(net.st[0], "n3");
	assert_int_equal(net.sent[0][CLUSTER_FRAME_STATE_SNAPSHOT], before);
	assert_int_equal(net.q[0][1].len, 0);
	cluster_state_peer_drained(net.st[0], "n2");
	assert_true(net.sent[0][CLUSTER_FRAME_STATE_SNAPSHOT] > before);
	assert_true(net.q[0][1].len > 0);       /* the next chunk */
	assert_int_equal(cluster_state_retry(net.st[0]), 1);      /* not all yet */
	cluster_state_peer_closed(net.st[0], "n2");
	assert_int_equal(cluster_state_retry(net.st[0]), 0);
	state_net_free(&net);
}

/* n1 and n2 (history 16), n1's a@ and b@ replicated to n2. */
static void two_sessions_replicated(struct state_net *net)
{
	state_net_init(net, 2, 16);
	set(net->st[0], "a@example.org/r", 0, 1);
	set(net->st[0], "b@example.org/r", 0, 1);
	cluster_state_flush(net->st[0]);
	state_net_pump(net);
	assert_int_equal(cluster_state_count(net->st[1], "n1"), 2);
}

static void test_incarnation_replaces(void **state)
{
	struct state_net net;
	uint64_t inc = 0;

	(void)state;
	two_sessions_replicated(&net);
	/* n1 restarts: its first change (seq 1) replaces the old entries */
	state_net_restart(&net, 0, 5000, 16);
	set(net.st[0], "c@example.org/r", 3, 1);
	cluster_state_flush(net.st[0]);
	state_net_pump(&net);
	assert_int_equal(cluster_state_count(net.st[1], "n1"), 1);
	assert_no_session(net.st[1], "a@example.org/r", "n1");
	assert_session(net.st[1], "c@example.org/r", "n1", 3, 1);
	assert_int_equal(cluster_state_last_seq(net.st[1], "n1", &inc), 1);
	assert_int_equal(inc, 5000);
	/* restarts again, and n2 first hears of it at seq 2: it asks for a
	 * snapshot instead of mixing incarnations */
	state_net_restart(&net, 0, 6000, 16);
	net.drop = 1;
	set(net.st[0], "d@example.org/r", 0, 1);
	cluster_state_flush(net.st[0]);
	net.drop = 0;
	set(net.st[0], "e@example.org/r", 0, 1);
	cluster_state_flush(net.st[0]);
	state_net_pump(&net);
	assert_int_equal(net.sent[0][CLUSTER_FRAME_STATE_SNAPSHOT], 1);
	assert_int_equal(cluster_state_count(net.st[1], "n1"), 2);
	assert_no_session(net.st[1], "c@example.org/r", "n1");
	assert_int_equal(cluster_state_last_seq(net.st[1], "n1", &inc), 2);
	assert_int_equal(inc, 6000);
	state_net_free(&net);
}

/* i13-resync: a node that takes a new incarnation (told it was declared
 * dead) keeps its entries and its sequences; its frames carry the new
 * incarnation, so a peer holding the old one asks for a snapshot at the
 * next delta or link open, and is synced with the incarnation HELLO
 * gives (the module's <sync/> compares the two). */
static void test_reincarnated(void **state)
{
	struct state_net net;
	uint64_t inc = 0;

	(void)state;
	two_sessions_replicated(&net);
	assert_int_equal(cluster_state_last_seq(net.st[1], "n1", &inc), 2);
	assert_int_equal(inc, 1000);
	cluster_state_reincarnated(net.st[0], 7000);
	assert_int_equal(cluster_state_peer_synced(net.st[1], "n1", 7000), 0);
	/* its link still says 1000: what we hold is that or newer */
	assert_int_equal(cluster_state_peer_synced(net.st[1], "n1", 1000), 1);
	/* a link that opens again: the old incarnation's request gets a
	 * snapshot of the new one */
	cluster_state_peer_open(net.st[1], "n1");
	state_net_pump(&net);
	assert_int_equal(net.sent[0][CLUSTER_FRAME_STATE_SNAPSHOT], 1);
	assert_int_equal(cluster_state_count(net.st[1], "n1"), 2);
	assert_int_equal(cluster_state_last_seq(net.st[1], "n1", &inc), 2);
	assert_int_equal(inc, 7000);
	assert_int_equal(cluster_state_peer_synced(net.st[1], "n1", 7000), 1);
	assert_int_equal(cluster_state_peer_synced(net.st[1], "n1", 1000), 1);
	/* a restart announces a larger incarnation: not synced until its
	 * entries come */
	assert_int_equal(cluster_state_peer_synced(net.st[1], "n1", 9000), 0);
	/* again, and this time the peer first hears of it by a delta: the
	 * sequence goes on (3), so it asks for a snapshot instead of taking
	 * the delta for a restart that dropped a and b */
	cluster_state_reincarnated(net.st[0], 8000);
	set(net.st[0], "c@example.org/r", 4, 1);
	cluster_state_flush(net.st[0]);
	state_net_pump(&net);
	assert_int_equal(net.sent[0][CLUSTER_FRAME_STATE_SNAPSHOT], 2);
	assert_int_equal(cluster_state_count(net.st[1], "n1"), 3);
	assert_session(net.st[1], "a@example.org/r", "n1", 0, 1);
	assert_session(net.st[1], "c@example.org/r", "n1", 4, 1);
	assert_int_equal(cluster_state_last_seq(net.st[1], "n1", &inc), 3);
	assert_int_equal(inc, 8000);
	assert_int_equal(cluster_state_peer_synced(net.st[1], "n1", 8000), 1);
	state_net_free(&net);
}

static void test_bye_drops(void **state)
{
	struct state_net net;

	(void)state;
	state_net_init(&net, 3, 16);
	set(net.st[0], "a@example.org/r", 0, 1);
	set(net.st[1], "b@example.org/r", 0, 1);
	cluster_state_flush(net.st[0]);
	cluster_state_flush(net.st[1]);
	state_net_pump(&net);
	assert_int_equal(cluster_state_count(net.st[2], NULL), 2);
	cluster_state_drop_node(net.st[2], "n1", CLUSTER_STATE_DROP_NODE_DEAD);
	assert_int_equal(cluster_state_count(net.st[2], "n1"), 0);
	assert_int_equal(cluster_state_count(net.st[2], "n2"), 1);
	assert_int_equal(cluster_state_last_seq(net.st[2], "n1", NULL), 0);
	/* a link that only closes keeps the entries: nothing to call */
	state_net_free(&net);
}

static char names_seen[256];

static void names_watch(void *ctx, const char *node, const char *name, int bound)
{
	size_t len = strlen(names_seen);

	(void)ctx;
	snprintf(names_seen + len, sizeof(names_seen) - len, "%s%s@%s ", bound ? "+" : "-",
		 name, node);
}

/* i13-fed: names bound on one node reach the others in deltas and in a
 * snapshot, go with an unbind, and are dropped with the node. */
static void test_names(void **state)
{
	struct state_net net;

	(void)state;
	state_net_init(&net, 3, 16);
	names_seen[0] = '\0';
	cluster_state_set_names_watch(net.st[2], names_watch, NULL);
	assert_int_equal(cluster_state_local_name(net.st[0], "conference.example", 1), 0);
	assert_int_equal(cluster_state_local_name(net.st[0], "conference.example", 1), -1);
	assert_int_equal(cluster_state_local_name(net.st[0], "gw.example", 1), 0);
	set(net.st[0], "a@example.org/r", 0, 1);
	cluster_state_flush(net.st[0]);
	state_net_pump(&net);
	assert_string_equal(cluster_state_name_node(net.st[1], "conference.example"), "n1");
	assert_string_equal(cluster_state_name_node(net.st[2], "gw.example"), "n1");
	assert_null(cluster_state_name_node(net.st[2], "other.example"));
	assert_null(cluster_state_name_node(net.st[0], "gw.example"));  /* own: not a peer */
	assert_string_equal(names_seen, "+conference.example@n1 +gw.example@n1 ");
	/* n2 restarts and asks n1 for everything: a snapshot with the names. */
	state_net_restart(&net, 1, 7000, 16);
	assert_null(cluster_state_name_node(net.st[1], "gw.example"));
	cluster_state_peer_open(net.st[1], "n1");
	state_net_pump(&net);
	assert_true(net.sent[0][CLUSTER_FRAME_STATE_SNAPSHOT] >= 1);
	assert_string_equal(cluster_state_name_node(net.st[1], "conference.example"), "n1");
	assert_string_equal(cluster_state_name_node(net.st[1], "gw.example"), "n1");
	assert_int_equal(cluster_state_count(net.st[1], "n1"), 1);
	/* An unbind goes out as a delta. */
	assert_int_equal(cluster_state_local_name(net.st[0], "gw.example", 0), 0);
	assert_int_equal(cluster_state_local_name(net.st[0], "gw.example", 0), -1);
	cluster_state_flush(net.st[0]);
	state_net_pump(&net);
	assert_null(cluster_state_name_node(net.st[1], "gw.example"));
	assert_null(cluster_state_name_node(net.st[2], "gw.example"));
	/* n1 dies: its names go with its sessions. */
	names_seen[0] = '\0';
	cluster_state_drop_node(net.st[2], "n1", CLUSTER_STATE_DROP_NODE_DEAD);
	assert_null(cluster_state_name_node(net.st[2], "conference.example"));
	assert_string_equal(names_seen, "-conference.example@n1 ");
	assert_int_equal(net.errors, 0);
	state_net_free(&net);
}

/* What the watch saw, as "change reason jid node" lines. */
static char watched[16][96];
static int nwatched;

static void watch(void *ctx, enum cluster_state_change change, enum cluster_state_reason reason,
		  const struct cluster_state_session *s)
{
	static const char *const ch[] = { "add", "update", "remove" };
	static const char *const why[] = { "-", "end", "node-dead", "replaced" };

	(void)ctx;
	assert_true(nwatched < 16);
	snprintf(watched[nwatched++], sizeof(watched[0]), "%s %s %s %s", ch[change],
		 why[reason], s->jid, s->node);
}

static void test_watch(void **state)
{
	struct state_net net;

	(void)state;
	nwatched = 0;
	state_net_init(&net, 2, 16);
	cluster_state_set_watch(net.st[1], watch, NULL);
	cluster_state_set_watch(net.st[0], watch, NULL);
	set(net.st[0], "a@example.org/r", 0, 1);
	cluster_state_flush(net.st[0]);
	state_net_pump(&net);
	set(net.st[0], "a@example.org/r", 3, 0);
	set(net.st[0], "b@example.org/r", 0, 1);
	assert_int_equal(cluster_state_local_remove(net.st[0], "a@example.org/r"), 0);
	cluster_state_flush(net.st[0]);
	state_net_pump(&net);
	/* the owner's own changes are not watched; the peer's all are */
	cluster_state_drop_node(net.st[1], "n1", CLUSTER_STATE_DROP_NODE_DEAD);
	assert_int_equal(nwatched, 5);
	assert_string_equal(watched[0], "add - a@example.org/r n1");
	assert_string_equal(watched[1], "update - a@example.org/r n1");
	assert_string_equal(watched[2], "add - b@example.org/r n1");
	assert_string_equal(watched[3], "remove end a@example.org/r n1");
	assert_string_equal(watched[4], "remove node-dead b@example.org/r n1");
	/* a new incarnation's first delta replaces the old entries */
	cluster_state_peer_open(net.st[1], "n1");
	state_net_pump(&net);
	assert_int_equal(cluster_state_peer_synced(net.st[1], "n1", 1000), 1);
	state_net_restart(&net, 0, 5000, 16);
	set(net.st[0], "c@example.org/r", 0, 1);
	cluster_state_flush(net.st[0]);
	state_net_pump(&net);
	/* i13-resync: entries of a newer incarnation than a link announced
	 * count as synced (incarnations only grow); an older one does not */
	assert_int_equal(cluster_state_peer_synced(net.st[1], "n1", 1000), 1);
	assert_int_equal(cluster_state_peer_synced(net.st[1], "n1", 5000), 1);
	assert_int_equal(cluster_state_peer_synced(net.st[1], "n1", 5001), 0);
	assert_string_equal(watched[nwatched - 2], "remove replaced b@example.org/r n1");
	assert_string_equal(watched[nwatched - 1], "add - c@example.org/r n1");
	state_net_free(&net);
}

static void test_own_entries_refused(void **state)
{
	struct state_net net;
	struct cluster_entry e = { .op = CLUSTER_OP_SESSION_ADD };
	struct cluster_frame f = { .version = 1, .type = CLUSTER_FRAME_STATE_DELTA };
	const char *error = NULL;

	(void)state;
	state_net_init(&net, 2, 16);
	e.name = cluster_bytes_str("x@example.org/r");
	f.u.delta.origin = cluster_bytes_str("n2");        /* n2 is the receiver */
	f.u.delta.incarnation = 1;
	f.u.delta.first_seq = 1;
	f.u.delta.nentries = 1;
	f.u.delta.entries = &e;
	assert_int_equal(cluster_state_frame(net.st[1], "n1", &f, &error), -1);
	assert_non_null(error);
	assert_int_equal(cluster_state_count(net.st[1], NULL), 0);
	/* a snapshot chunk without its BEGIN */
	f.type = CLUSTER_FRAME_STATE_SNAPSHOT;
	memset(&f.u, 0, sizeof(f.u));
	f.u.snapshot.origin = cluster_bytes_str("n1");
	f.u.snapshot.flags = CLUSTER_SNAPSHOT_END;
	assert_int_equal(cluster_state_frame(net.st[1], "n1", &f, &error), -1);
	state_net_free(&net);
}

static void test_local_limits(void **state)
{
	struct state_net net;
	const char *error = NULL;
	char sid[CLUSTER_SID_MAX + 2];

	(void)state;
	state_net_init(&net, 2, 16);
	memset(sid, 's', sizeof(sid) - 1);
	sid[sizeof(sid) - 1] = '\0';
	assert_int_equal(cluster_state_local_set(net.st[0], "a@b/c", sid, 0, 1, 0, &error), -1);
	assert_int_equal(cluster_state_local_set(net.st[0], "", "x", 0, 1, 0, &error), -1);
	assert_int_equal(cluster_state_local_set(net.st[0], "a@b/c", "x", 300, 1, 0, &error), -1);
	assert_int_equal(cluster_state_count(net.st[0], NULL), 0);
	assert_int_equal(cluster_state_last_seq(net.st[0], "n1", NULL), 0);
	state_net_free(&net);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deltas_in_order),
		cmocka_unit_test(test_watch),
		cmocka_unit_test(test_duplicates_ignored),
		cmocka_unit_test(test_gap_requests),
		cmocka_unit_test(test_gap_request_repeated),
		cmocka_unit_test(test_snapshot_replaces),
		cmocka_unit_test(test_history_within_bound_sends_deltas),
		cmocka_unit_test(test_big_snapshot_chunks),
		cmocka_unit_test(test_snapshot_paced_by_link),
		cmocka_unit_test(test_snapshot_rest_goes_on_its_links_drain),
		cmocka_unit_test(test_incarnation_replaces),
		cmocka_unit_test(test_reincarnated),
		cmocka_unit_test(test_bye_drops),
		cmocka_unit_test(test_own_entries_refused),
		cmocka_unit_test(test_local_limits),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
