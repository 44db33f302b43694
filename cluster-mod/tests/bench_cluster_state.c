/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_cluster_state [N]: the two figures issue 13 sets for the
 * replicated session table (targets: <= 200 bytes per remote session,
 * <= 2 s to resynchronise 100,000 remote sessions).
 *
 * Node n1 holds N local sessions (default 100,000; JIDs like
 * "user000042@example.org/res-0000002a", 20-character session ids). Node
 * n2, knowing nothing of n1, asks for its entries as it does when the
 * link opens; n1 answers with a snapshot, encoded with the real codec,
 * decoded and applied by n2 (state_net.c). Prints the wall time of that
 * resynchronisation and the heap n2's table grew by (mallinfo2
 * uordblks, the snapshot's byte queues already freed) per session.
 */
#include "config.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cluster-mod/cluster_state.h"
#include "cluster-mod/tests/state_net.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 100000;
	struct state_net net;
	size_t before, after;
	double t0, t1;
	const char *error;

	if (n <= 0 || n > 1000000) {
		fprintf(stderr, "usage: bench_cluster_state [1..1000000]\n");
		return 2;
	}
	state_net_init(&net, 2, CLUSTER_STATE_HISTORY);
	for (long i = 0; i < n; i++) {
		char jid[64], sid[32];

		snprintf(jid, sizeof(jid), "user%06ld@example.org/res-%08lx", i, (unsigned long)i);
		snprintf(sid, sizeof(sid), "%020ld", i * 7919);
		if (cluster_state_local_set(net.st[0], jid, sid, (int)(i % 10), 1,
					    1700000000000ull + (uint64_t)i, &error) < 0) {
			fprintf(stderr, "local_set: %s\n", error);
			return 1;
		}
	}
	cluster_state_flush(net.st[0]);
	/* n2 starts from here, as a node that has just (re)connected */
	state_net_restart(&net, 1, 2000, CLUSTER_STATE_HISTORY);
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 2; j++)
			buf_free(&net.q[i][j]);
	net.bytes[0] = 0;
	before = mallinfo2().uordblks;
	t0 = now_s();
	cluster_state_peer_open(net.st[1], "n1");
	state_net_pump(&net);
	t1 = now_s();
	after = mallinfo2().uordblks;
	if (cluster_state_count(net.st[1], "n1") != (size_t)n || net.errors != 0) {
		fprintf(stderr, "resync incomplete: %zu of %ld sessions\n",
			cluster_state_count(net.st[1], "n1"), n);
		return 1;
	}
	printf("remote sessions: %ld\n", n);
	printf("snapshot frames: %u, %zu bytes\n", net.sent[0][8], net.bytes[0]);
	printf("resync time: %.3f s\n", t1 - t0);
	printf("memory per remote session: %.1f bytes (heap +%zu bytes)\n",
	       (double)(after - before) / (double)n, after - before);
	state_net_free(&net);
	return 0;
}
