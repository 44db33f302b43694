/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_remote_stubs: what the remote session stubs cost the sm in a
 * cluster (sm/cluster.c): the time to take N stubs from the module as it
 * sends them after a sync (reset, routes of 256 <s action='add'/>,
 * synced; parsing included), and the heap they hold, per stub (glibc
 * mallinfo2 before and after; one session per user, the worst case for
 * the per-user list head). Built by `make check`, run by hand:
 *	build/sm/tests/bench_remote_stubs 100000 2>/dev/null
 */
#include "config.h"
#include "sm/sm.h"
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include "sm/tests/sm_testlib.h"
#include "util/buf.h"
#include "util/nad.h"
#define COMP "http://jabberd.jabberstudio.org/ns/component/1.0"
#define NS "urn:jabberd-cluster:session"

static void quiet(struct sm *sm, struct nad *nad) { (void)sm; nad_free(&nad); }

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 100000, i, j;
	char dir[64], *xml;
	struct timespec a, b;
	struct buf route = { 0 };
	struct mallinfo2 m0, m1;
	struct sm *sm;

	sm_test_dir_make(dir, sizeof(dir), "bench");
	xml = xasprintf("<sm><id>sm</id><router_id>sm-n1</router_id><cluster><notify>example.org"
			"</notify></cluster><local><id>example.org</id></local><storage><driver>"
			"sqlite</driver><sqlite><dbname>%s/db</dbname></sqlite></storage></sm>", dir);
	sm = sm_test_sm_new(xml);
	sm->send_hook = quiet;
	m0 = mallinfo2();
	clock_gettime(CLOCK_MONOTONIC, &a);
	sm_test_feed(sm, "<route xmlns='" COMP "' to='sm-n1' from='example.org'><remote xmlns='"
		     NS "' reset='1'/></route>");
	for (i = 0; i < n; i += SM_CLUSTER_REMOTE_MAX) {
		buf_reset(&route);
		buf_printf(&route, "<route xmlns='" COMP "' to='sm-n1' from='example.org'>"
			   "<remote xmlns='" NS "'>");
		for (j = i; j < n && j < i + SM_CLUSTER_REMOTE_MAX; j++)
			buf_printf(&route, "<s action='add' jid='user%d@example.org/laptop' "
				   "node='n%d' priority='%d' available='1' "
				   "started='1796000000%03d'/>", j, 2 + j % 3, j % 10, j % 1000);
		buf_append_str(&route, "</remote></route>");
		sm_test_feed(sm, "%s", route.data);
	}
	sm_test_feed(sm, "<route xmlns='" COMP "' to='sm-n1' from='example.org'><remote xmlns='"
		     NS "' synced='1'/></route>");
	clock_gettime(CLOCK_MONOTONIC, &b);
	m1 = mallinfo2();
	printf("stubs %zu of %d, synced %d; taken in %.3f s; heap %.0f bytes per stub\n",
	       sm_remote_count(sm), n, sm_cluster_synced(sm),
	       (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9,
	       ((double)m1.uordblks - (double)m0.uordblks) / (n > 0 ? n : 1));
	buf_free(&route);
	sm_free(&sm);
	sm_test_dir_remove(dir);
	free(xml);
	return 0;
}
