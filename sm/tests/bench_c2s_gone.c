/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_c2s_gone: how long the sm takes to end the sessions of a c2s the
 * router says went away, with N sessions on that c2s and N on another
 * (mod_session's pkt-router; it used to rescan every session after each
 * one it ended). Built by `make check`, run by hand:
 *	build/sm/tests/bench_c2s_gone 8000 2>/dev/null
 */
#include "config.h"
#include "sm/sm.h"
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
#include "util/xhash.h"
#define COMP "http://jabberd.jabberstudio.org/ns/component/1.0"
#define SESS "http://jabberd.jabberstudio.org/ns/session/1.0"

static void quiet(struct sm *sm, struct nad *nad) { (void)sm; nad_free(&nad); }

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 5000, i, users = 100;
	char dir[64], *xml;
	struct timespec a, b;
	struct sm *sm;

	sm_test_dir_make(dir, sizeof(dir), "bench");
	xml = xasprintf("<sm><id>example.org</id><storage><driver>sqlite</driver><sqlite><dbname>%s/db</dbname></sqlite></storage>"
		"<user><auto-create/></user><modules><chain id='in-router'><module>session</module></chain>"
		"<chain id='pkt-router'><module>session</module></chain></modules></sm>", dir);
	sm = sm_test_sm_new(xml);
	sm->send_hook = quiet;
	for (i = 0; i < 2 * n; i++)
		sm_test_feed(sm, "<route xmlns='" COMP "' to='example.org' from='%s'><sc:session xmlns:sc='" SESS
			     "' sc:c2s='%d' action='start' target='u%d@example.org/r%d' id='x'/></route>",
			     i % 2 ? "c2s-b" : "c2s", i, i % users, i);
	clock_gettime(CLOCK_MONOTONIC, &a);
	sm_test_feed(sm, "<presence xmlns='" COMP "' from='c2s' type='unavailable'/>");
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("sessions %zu left of %d; c2s gone in %.3f s\n", xhash_count(sm->sessions), 2 * n,
	       (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
	sm_free(&sm);
	sm_test_dir_remove(dir);
	free(xml);
	return 0;
}
