/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for the s2s engine's failure paths, on the in-memory host
 * of s2s_testhost.c: dialback errors carrying a condition (XEP-0220
 * 2.4), check.retry, and the per-stream stanza rate limit.
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

#include "s2s/tests/s2s_testhost.h"
#include "util/nad.h"

/* The transport end under engine e's first incoming stream. */
static struct end *in_end(struct eng *e)
{
	struct s2s_conn *c = first_conn(e, 1);
	int i;

	for (i = 0; c != NULL && i < MAX_ENDS; i++)
		if (T.ends[i].used && T.ends[i].eng == e && T.ends[i].conn == c)
			return &T.ends[i];
	fail_msg("%s has no incoming stream", e->name);
	return NULL;
}

static void assert_wire_has(const struct end *e, const char *needle)
{
	if (e->wire.data == NULL || strstr(e->wire.data, needle) == NULL)
		fail_msg("wire lacks \"%s\": %s", needle, e->wire.data != NULL ? e->wire.data : "");
}

/* b cannot find the authoritative server of the domain a peer claims:
 * the peer gets <db:result type='error'> with remote-server-not-found,
 * the stream stays up, and the peer's sender gets remote-server-timeout. */
static void test_dialback_error_authoritative_not_found(void **state)
{
	static struct eng b, evil;
	struct end *e;

	eng_init(&b, "s2s-b", "secret");
	eng_init(&evil, "s2s-evil", "other-secret");
	eng_start(&b);
	eng_start(&evil);
	add_dom("other.example.net", &b, D_OK);
	add_dom("gone.example", NULL, D_NXDOMAIN);
	send_msg(&evil, "x@gone.example", "bob@other.example.net", "hello");
	e = in_end(&b);
	/* We said we send dialback errors. */
	assert_wire_has(e, "<dialback xmlns='urn:xmpp:features:dialback'><errors/>");
	assert_wire_has(e, "<db:result from='other.example.net' to='gone.example' type='error'>"
			"<error type='cancel'>"
			"<remote-server-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
			"</error></db:result>");
	assert_false(e->closing);
	assert_int_equal(b.nroutes, 0);
	assert_int_equal(evil.nroutes, 1);
	assert_route_has(&evil, 0, "<remote-server-timeout ");
	assert_false(s2s_in_pair_valid(b.s2s, "gone.example", "other.example.net"));
}

/* The authoritative server's address is known but the connect fails:
 * remote-connection-failed. */
static void test_dialback_error_connection_failed(void **state)
{
	static struct eng b, evil;
	struct end *e;

	eng_init(&b, "s2s-b", "secret");
	eng_init(&evil, "s2s-evil", "other-secret");
	eng_start(&b);
	eng_start(&evil);
	add_dom("other.example.net", &b, D_OK);
	add_dom("down.example", NULL, D_BLACKHOLE);
	send_msg(&evil, "x@down.example", "bob@other.example.net", "hello");
	assert_int_equal(T.nblack, 1);
	assert_int_equal(evil.nroutes, 0);
	s2s_conn_failed(T.blackholed[0], 0, "connection refused");
	pump();
	e = in_end(&b);
	assert_wire_has(e, "type='error'><error type='cancel'>"
			"<remote-connection-failed xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>");
	assert_int_equal(evil.nroutes, 1);
	assert_route_has(&evil, 0, "<remote-server-timeout ");
}

/* The authoritative server never answers within check.queue: the
 * dialback error says remote-server-timeout. */
static void test_dialback_error_verify_timeout(void **state)
{
	static struct eng b, evil;
	struct end *e;

	eng_init(&b, "s2s-b", "secret");
	eng_init(&evil, "s2s-evil", "other-secret");
	evil.set.check_queue = 600;
	eng_start(&b);
	eng_start(&evil);
	add_dom("other.example.net", &b, D_OK);
	add_dom("slow.example", NULL, D_BLACKHOLE);
	send_msg(&evil, "x@slow.example", "bob@other.example.net", "hello");
	e = in_end(&b);
	T.now += 60;
	/* The same check also ends the stream that never became ready;
	 * the dialback error goes out first. */
	s2s_check(b.s2s);
	pump();
	assert_wire_has(e, "type='error'><error type='wait'>"
			"<remote-server-timeout xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>");
	assert_int_equal(evil.nroutes, 1);
	assert_route_has(&evil, 0, "<remote-server-timeout ");
	s2s_conn_failed(T.blackholed[0], 0, "timed out");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dialback_error_authoritative_not_found, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_dialback_error_connection_failed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_dialback_error_verify_timeout, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
