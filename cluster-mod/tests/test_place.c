/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for cluster-mod/cluster_place.c, the rendezvous placement:
 * 100,000 object keys spread evenly over 3, 5 and 10 nodes; the answer
 * does not depend on the order nodes are listed in; when a node leaves,
 * exactly its objects move; when one joins, only objects that now belong
 * to it move, about 1/(n+1) of them. Measured figures are printed.
 */
#include "config.h"
#include "cluster-mod/cluster_place.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define NKEYS 100000
#define NODES_MAX 11
/* Allowed deviation of a node's share from the mean, relative. With
 * 100,000 keys over 10 nodes one binomial standard deviation is 0.95% of
 * the mean, so 5% is over 5 sigma: a fair hash never fails it. */
#define SHARE_TOLERANCE 0.05

/* See test_weights_stable. */
#define PLACE_WEIGHT_ROOM1_N1 0x174da1dd070643edULL
#define PLACE_WEIGHT_EMPTY_N2 0x41b235a8d19de1d3ULL

static const char *const all_nodes[NODES_MAX] = {
	"n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8", "n9", "n10", "n11",
};

static size_t key_of(size_t i, char *out, size_t size)
{
	return (size_t)snprintf(out, size, "room%zu@conference.example.org", i);
}

/* Owner's name of key i among nodes[0..n-1]. */
static const char *owner(size_t i, const char *const nodes[], size_t n)
{
	char key[64];
	size_t len = key_of(i, key, sizeof(key));
	size_t idx = cluster_place(key, len, nodes, n);

	assert_true(idx < n);
	return nodes[idx];
}

static void test_distribution(void **state)
{
	static const size_t sizes[] = { 3, 5, 10 };
	size_t count[NODES_MAX];
	size_t s, i, n;
	double mean, dev, worst;

	(void)state;
	for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		n = sizes[s];
		memset(count, 0, sizeof(count));
		for (i = 0; i < NKEYS; i++) {
			char key[64];
			size_t len = key_of(i, key, sizeof(key));

			count[cluster_place(key, len, all_nodes, n)]++;
		}
		mean = (double)NKEYS / (double)n;
		worst = 0;
		for (i = 0; i < n; i++) {
			dev = ((double)count[i] - mean) / mean;
			if (dev < 0)
				dev = -dev;
			if (dev > worst)
				worst = dev;
			if (dev > SHARE_TOLERANCE)
				fail_msg("%zu nodes: %s holds %zu keys, mean %.0f", n, all_nodes[i],
					 count[i], mean);
		}
		printf("# %zu nodes, %d keys: largest deviation from the mean %.2f%%\n",
		       n, NKEYS, 100 * worst);
	}
}

/* Listing the nodes in another order gives every key the same owner. */
static void test_order_independent(void **state)
{
	const char *rev[5] = { "n5", "n4", "n3", "n2", "n1" };
	const char *rot[5] = { "n3", "n4", "n5", "n1", "n2" };
	size_t i;

	(void)state;
	for (i = 0; i < 20000; i++) {
		const char *o = owner(i, all_nodes, 5);

		assert_string_equal(o, owner(i, rev, 5));
		assert_string_equal(o, owner(i, rot, 5));
	}
}

/* Node `gone` leaves a cluster of n: keys it did not own stay put, keys it
 * owned all move; returns the fraction moved. */
static double leave(size_t n, size_t gone)
{
	const char *after[NODES_MAX];
	size_t i, j = 0, moved = 0;

	for (i = 0; i < n; i++)
		if (i != gone)
			after[j++] = all_nodes[i];
	for (i = 0; i < NKEYS; i++) {
		const char *before = owner(i, all_nodes, n), *now = owner(i, after, n - 1);

		if (before == all_nodes[gone]) {
			assert_ptr_not_equal(now, all_nodes[gone]);
			moved++;
		} else if (strcmp(before, now) != 0) {
			fail_msg("key %zu moved from %s to %s when %s left", i, before, now,
				 all_nodes[gone]);
		}
	}
	return (double)moved / NKEYS;
}

/* Node n+1 joins a cluster of n: a key either stays or moves to the new
 * node; returns the fraction moved. */
static double join(size_t n)
{
	const char *added = all_nodes[n];
	size_t i, moved = 0;

	for (i = 0; i < NKEYS; i++) {
		const char *before = owner(i, all_nodes, n), *now = owner(i, all_nodes, n + 1);

		if (now == added)
			moved++;
		else if (strcmp(before, now) != 0)
			fail_msg("key %zu moved from %s to %s when %s joined", i, before, now,
				 added);
	}
	return (double)moved / NKEYS;
}

static void test_leave_and_join(void **state)
{
	static const size_t sizes[] = { 3, 5, 10 };
	size_t s, n;
	double f, want;

	(void)state;
	for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		n = sizes[s];
		f = leave(n, n / 2);
		want = 1.0 / (double)n;
		printf("# %zu -> %zu nodes (%s leaves): %.2f%% of keys moved (1/n = %.2f%%)\n",
		       n, n - 1, all_nodes[n / 2], 100 * f, 100 * want);
		assert_true(f > want * (1 - SHARE_TOLERANCE) && f < want * (1 + SHARE_TOLERANCE));
		f = join(n);
		want = 1.0 / (double)(n + 1);
		printf("# %zu -> %zu nodes (%s joins): %.2f%% of keys moved (1/(n+1) = %.2f%%)\n",
		       n, n + 1, all_nodes[n], 100 * f, 100 * want);
		assert_true(f > want * (1 - SHARE_TOLERANCE) && f < want * (1 + SHARE_TOLERANCE));
	}
}

static void test_edges(void **state)
{
	const char *one[1] = { "only" };

	(void)state;
	assert_int_equal(cluster_place("room", 4, NULL, 0), CLUSTER_PLACE_NONE);
	assert_int_equal(cluster_place("room", 4, one, 1), 0);
	assert_int_equal(cluster_place("", 0, one, 1), 0);
	/* The weight depends on both the node and the key. */
	assert_true(cluster_place_weight("room", 4, "n1") != cluster_place_weight("room", 4, "n2"));
	assert_true(cluster_place_weight("room", 4, "n1") != cluster_place_weight("roon", 4, "n1"));
	/* A prefix shift between name and key must not give the same input. */
	assert_true(cluster_place_weight("1room", 5, "n") != cluster_place_weight("room", 4, "n1"));
}

/*
 * Placement must agree between nodes running different releases: if the
 * hash, its keys or the way name and key are combined change, rooms move
 * during a rolling upgrade. These weights were computed by this code when
 * it was written; a change here is a protocol change (docs/cluster-protocol.md).
 */
static void test_weights_stable(void **state)
{
	(void)state;
	assert_int_equal(cluster_place_weight("room1@conference.example.org", 28, "n1"),
			 PLACE_WEIGHT_ROOM1_N1);
	assert_int_equal(cluster_place_weight("", 0, "n2"), PLACE_WEIGHT_EMPTY_N2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_distribution),
		cmocka_unit_test(test_order_independent),
		cmocka_unit_test(test_leave_and_join),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_weights_stable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
