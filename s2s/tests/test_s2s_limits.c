/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for the s2s engine's failure paths, on the in-memory host
 * of s2s_testhost.c: dialback errors carrying a condition (XEP-0220
 * 2.4) in the receiving and authoritative roles, check.retry (and the
 * refused connection it does not apply to), and the
 * per-stream stanza rate limit.
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
	s2s_conn_failed(T.blackholed[0], S2S_CONNECT_REFUSED, "connection refused");
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

/* Dialback for a domain that is not ours: item-not-found, in both the
 * receiving (db:result) and the authoritative (db:verify) role, and the
 * stream stays up. */
static void test_dialback_error_not_our_domain(void **state)
{
	static const char in[] =
		"<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
		"xmlns:stream='http://etherx.jabber.org/streams' version='1.0' "
		"xmlns:db='jabber:server:dialback' to='other.example.net' from='example.org'>"
		"<db:result from='example.org' to='elsewhere.example'>0123</db:result>"
		"<db:verify from='example.org' to='elsewhere.example' id='i1'>0123</db:verify>";
	static struct eng b;
	struct end *e;

	eng_init(&b, "s2s-b", "secret");
	eng_start(&b);
	T.local_only = "other.example.net";
	e = end_new(&b);
	e->conn = s2s_conn_accepted(b.s2s, e);
	s2s_conn_input(e->conn, in, strlen(in));
	s2s_flush(b.s2s);
	assert_wire_has(e, "<db:result from='elsewhere.example' to='example.org' type='error'>"
			"<error type='cancel'>"
			"<item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
			"</error></db:result>");
	assert_wire_has(e, "<db:verify from='elsewhere.example' to='example.org' id='i1' "
			"type='error'><error type='cancel'><item-not-found ");
	/* Nobody was asked, nothing was closed. */
	assert_int_equal(T.npc, 0);
	assert_false(e->closing);
	e->gone = 1;
	s2s_conn_gone(e->conn, NULL);
}

/* check.retry: a failed connect keeps the queue and connects again
 * after a backoff (1 s, then 2 s, ...); the stanza gets through once the
 * peer is back. */
static void test_retry_after_failed_connect(void **state)
{
	static struct eng a, b;

	eng_init(&a, "s2s-a", "secret");
	eng_init(&b, "s2s-b", "secret");
	a.set.check_retry = 300;
	eng_start(&a);
	eng_start(&b);
	add_dom("example.org", &a, D_OK);
	add_dom("other.example.net", &b, D_BLACKHOLE);
	send_msg(&a, "alice@example.org", "bob@other.example.net", "eventually");
	assert_int_equal(T.nblack, 1);
	s2s_conn_failed(T.blackholed[0], 0, "timed out");
	pump();
	assert_int_equal(a.nroutes, 0);
	assert_int_equal(s2s_queue_len(a.s2s, "example.org", "other.example.net"), 1);
	/* First retry after 1 s; it fails too. */
	T.now += 1;
	s2s_check(a.s2s);
	pump();
	assert_int_equal(T.nblack, 2);
	s2s_conn_failed(T.blackholed[1], 0, "timed out");
	pump();
	/* The second waits 2 s. */
	T.now += 1;
	s2s_check(a.s2s);
	pump();
	assert_int_equal(T.nblack, 2);
	dom_find("other.example.net")->mode = D_OK;
	T.now += 1;
	s2s_check(a.s2s);
	pump();
	assert_int_equal(a.nroutes, 0);
	assert_int_equal(b.nroutes, 1);
	assert_route_has(&b, 0, "<body>eventually</body>");
	assert_string_equal(s2s_out_pair_state(a.s2s, "example.org", "other.example.net"),
			    "valid");
}

/* Without check.retry the first failure bounces; with it, a queue older
 * than check.retry bounces at the next failure. */
static void test_retry_bounded(void **state)
{
	static struct eng a;
	int i;

	eng_init(&a, "s2s-a", "secret");
	eng_start(&a);
	add_dom("down.example", NULL, D_BLACKHOLE);
	send_msg(&a, "alice@example.org", "bob@down.example", "no retry");
	s2s_conn_failed(T.blackholed[0], 0, "timed out");
	assert_int_equal(a.nroutes, 1);
	assert_route_has(&a, 0, "<remote-server-timeout ");

	a.s2s->set.check_retry = 5;
	send_msg(&a, "alice@example.org", "bob@down.example", "some retries");
	for (i = 1; a.nroutes == 1 && i < 10; i++) {
		s2s_conn_failed(T.blackholed[T.nblack - 1], 0, "timed out");
		pump();
		T.now += 4;
		s2s_check(a.s2s);
		pump();
	}
	/* Tries at 0, +4 and +8 s (after the first message's one): the
	 * third failure is past 5 s. */
	assert_int_equal(a.nroutes, 2);
	assert_int_equal(T.nblack, 4);
	assert_route_has(&a, 1, "<remote-server-timeout ");
}

/* Every address refused the connection: a definite answer. What waits is
 * bounced at once with remote-server-not-found, check.retry or not, and
 * nothing connects again for it. */
static void test_refused_bounces_at_once(void **state)
{
	static struct eng a;

	eng_init(&a, "s2s-a", "secret");
	a.set.check_retry = 300;
	eng_start(&a);
	add_dom("down.example", NULL, D_BLACKHOLE);
	send_msg(&a, "alice@example.org", "bob@down.example", "refused");
	assert_int_equal(T.nblack, 1);
	s2s_conn_failed(T.blackholed[0], S2S_CONNECT_REFUSED, "connection refused");
	pump();
	assert_int_equal(a.nroutes, 1);
	assert_route_has(&a, 0, "<remote-server-not-found ");
	T.now += 5;
	s2s_check(a.s2s);
	pump();
	assert_int_equal(T.nblack, 1);
	assert_int_equal(a.nroutes, 1);
}

/* io.limits.stanzas: the stanza past the limit in one window pauses the
 * stream's reading once; every stanza is still delivered. */
static void test_stanza_rate_throttles(void **state)
{
	static struct eng a, b;
	char body[16];
	int i;

	eng_init(&a, "s2s-a", "secret");
	eng_init(&b, "s2s-b", "secret");
	b.set.stanza_rate = 3;
	b.set.stanza_rate_throttle = 2;
	eng_start(&a);
	eng_start(&b);
	add_dom("example.org", &a, D_OK);
	add_dom("other.example.net", &b, D_OK);
	for (i = 0; i < 6; i++) {
		snprintf(body, sizeof(body), "m%d", i);
		send_msg(&a, "alice@example.org", "bob@other.example.net", body);
		assert_int_equal(T.throttles, i < 3 ? 0 : 1);
	}
	assert_int_equal(T.throttle_seconds, 2);
	assert_int_equal(b.nroutes, 6);
	/* After the pause a new window: three more pass, the fourth pauses. */
	T.now += 3;
	for (i = 0; i < 4; i++) {
		send_msg(&a, "alice@example.org", "bob@other.example.net", "again");
		assert_int_equal(T.throttles, i < 3 ? 1 : 2);
	}
	assert_int_equal(b.nroutes, 10);
	assert_int_equal(a.nroutes, 0);
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
		cmocka_unit_test_setup_teardown(test_dialback_error_not_our_domain, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_retry_after_failed_connect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_bounces_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stanza_rate_throttles, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
