/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_remote_stubs: what the remote session stubs cost the sm in a
 * cluster (sm/cluster.c): the time to take N stubs from the module as it
 * sends them after a sync (reset, routes of 256 sessions, synced; parsing
 * included, the routes' text made before the clock starts), in rule 1's
 * attribute form (<s action='add'/>) and line form (<set/>), and the heap
 * they hold, per stub (glibc mallinfo2 before and after; one session per
 * user, the worst case for the per-user list head). Built by `make
 * check`, run by hand:
 *	build/sm/tests/bench_remote_stubs 100000 [attrs|lines] 2>/dev/null
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

/* The routes the module sends after a sync, in the attribute form (one
 * <s action='add'/> per session) or the line form (<set/>, after the sm's
 * <sync lines='1'/>), built before the clock starts. */
static char **routes_make(int n, int lines, int *nroutes)
{
	char **v = xcalloc((size_t)(n / SM_CLUSTER_REMOTE_MAX + 2), sizeof(*v));
	struct buf route = { 0 };
	int i, j, k = 0;

	for (i = 0; i < n; i += SM_CLUSTER_REMOTE_MAX) {
		buf_reset(&route);
		buf_printf(&route, "<route xmlns='" COMP "' to='sm-n1' from='example.org'>"
			   "<remote xmlns='" NS "'>");
		for (j = i; j < n && j < i + SM_CLUSTER_REMOTE_MAX; j++) {
			if (lines && (j == i || j % 3 == 0))
				buf_printf(&route, "%s<set node='n%d'>", j == i ? "" : "</set>",
					   2 + j % 3);
			if (lines)
				buf_printf(&route, "%d 1 1796000000%03d user%d@example.org/laptop\n",
					   j % 10, j % 1000, j);
			else
				buf_printf(&route, "<s action='add' jid='user%d@example.org/laptop' "
					   "node='n%d' priority='%d' available='1' "
					   "started='1796000000%03d'/>", j, 2 + j % 3, j % 10,
					   j % 1000);
		}
		buf_printf(&route, "%s</remote></route>", lines ? "</set>" : "");
		v[k++] = xstrdup(route.data);
	}
	buf_free(&route);
	*nroutes = k;
	return v;
}

static void run(const char *dir, int n, int lines)
{
	char *xml, **routes;
	struct timespec a, b;
	struct mallinfo2 m0, m1;
	struct sm *sm;
	int nroutes, k;

	xml = xasprintf("<sm><id>sm</id><router_id>sm-n1</router_id><cluster><notify>example.org"
			"</notify></cluster><local><id>example.org</id></local><storage><driver>"
			"sqlite</driver><sqlite><dbname>%s/db</dbname></sqlite></storage></sm>", dir);
	routes = routes_make(n, lines, &nroutes);
	sm = sm_test_sm_new(xml);
	sm->send_hook = quiet;
	m0 = mallinfo2();
	clock_gettime(CLOCK_MONOTONIC, &a);
	sm_test_feed(sm, "<route xmlns='" COMP "' to='sm-n1' from='example.org'><remote xmlns='"
		     NS "' reset='1'/></route>");
	for (k = 0; k < nroutes; k++)
		sm_test_feed(sm, "%s", routes[k]);
	sm_test_feed(sm, "<route xmlns='" COMP "' to='sm-n1' from='example.org'><remote xmlns='"
		     NS "' synced='1'/></route>");
	clock_gettime(CLOCK_MONOTONIC, &b);
	m1 = mallinfo2();
	printf("%s form: stubs %zu of %d, synced %d; taken in %.3f s; heap %.0f bytes per stub\n",
	       lines ? "line" : "attribute", sm_remote_count(sm), n, sm_cluster_synced(sm),
	       (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9,
	       ((double)m1.uordblks - (double)m0.uordblks) / (n > 0 ? n : 1));
	sm_free(&sm);
	for (k = 0; k < nroutes; k++)
		free(routes[k]);
	free(routes);
	free(xml);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 100000;
	char dir[64];

	if (n < 1 || n > 10000000) {
		fprintf(stderr, "usage: bench_remote_stubs [N] [attrs|lines]\n");
		return 2;
	}
	sm_test_dir_make(dir, sizeof(dir), "bench");
	if (argc < 3 || strcmp(argv[2], "lines") != 0)
		run(dir, n, 0);
	if (argc < 3 || strcmp(argv[2], "attrs") != 0)
		run(dir, n, 1);
	sm_test_dir_remove(dir);
	return 0;
}
