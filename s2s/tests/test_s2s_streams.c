/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for the s2s engine (s2s/core.c, out.c, in.c): two or three
 * engines, each playing one server, wired back to back in memory by the
 * host in s2s_testhost.c. The tests check what a user of either server
 * would see: the stanza delivered, or the bounce. Limits, retries and
 * dialback errors are in test_s2s_limits.c.
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

/* ---- tests ---- */

static void test_dialback_message_both_ways(void **state)
{
	static const size_t chunks[] = { 0, 1, 7 };
	size_t k;

	for (k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
		static struct eng a, b;

		setup(state);
		T.chunk = chunks[k];
		eng_init(&a, "s2s-a", "secret");
		eng_init(&b, "s2s-b", "secret");
		eng_start(&a);
		eng_start(&b);
		add_dom("example.org", &a, D_OK);
		add_dom("other.example.net", &b, D_OK);

		send_msg(&a, "alice@example.org/x", "bob@other.example.net", "hi bob");
		assert_string_equal(s2s_out_pair_state(a.s2s, "example.org", "other.example.net"),
				    "valid");
		assert_true(s2s_in_pair_valid(b.s2s, "example.org", "other.example.net"));
		assert_int_equal(b.nroutes, 1);
		assert_int_equal(a.nroutes, 0);
		assert_route_has(&b, 0, "to='other.example.net'");
		assert_route_has(&b, 0, "from='s2s-b'");
		assert_route_has(&b, 0, "<message xmlns='jabber:client' from='alice@example.org/x' "
				 "to='bob@other.example.net'><body>hi bob</body></message>");

		send_msg(&b, "bob@other.example.net", "alice@example.org", "hi alice");
		assert_int_equal(a.nroutes, 1);
		assert_route_has(&a, 0, "<body>hi alice</body>");
		assert_route_has(&a, 0, "to='example.org'");
		teardown(state);
	}
}

static void test_queue_keeps_order(void **state)
{
	static struct eng a, b;
	char body[16];
	int i;

	eng_init(&a, "s2s-a", "secret");
	eng_init(&b, "s2s-b", "secret");
	eng_start(&a);
	eng_start(&b);
	add_dom("example.org", &a, D_OK);
	add_dom("other.example.net", &b, D_OK);
	/* Queued before any byte moves. */
	for (i = 0; i < 5; i++) {
		snprintf(body, sizeof(body), "m%d", i);
		s2s_route_in(a.s2s, mk_route("alice@example.org", "bob@other.example.net", body));
	}
	assert_int_equal(s2s_queue_len(a.s2s, "example.org", "other.example.net"), 5);
	pump();
	assert_int_equal(b.nroutes, 5);
	for (i = 0; i < 5; i++) {
		snprintf(body, sizeof(body), "<body>m%d</body>", i);
		assert_route_has(&b, i, body);
	}
	/* Once valid, stanzas go straight out on the same stream. */
	send_msg(&a, "alice@example.org", "bob@other.example.net", "later");
	assert_int_equal(b.nroutes, 6);
	assert_int_equal(s2s_conn_count(a.s2s, 0), 1);
}

static void test_piggyback_two_local_domains(void **state)
{
	static struct eng a, b;

	eng_init(&a, "s2s-a", "secret");
	eng_init(&b, "s2s-b", "secret");
	eng_start(&a);
	eng_start(&b);
	add_dom("example.org", &a, D_OK);
	add_dom("chat.example.org", &a, D_OK);
	add_dom("other.example.net", &b, D_OK);
	send_msg(&a, "alice@example.org", "bob@other.example.net", "one");
	send_msg(&a, "room@chat.example.org/nick", "bob@other.example.net", "two");
	assert_int_equal(b.nroutes, 2);
	assert_route_has(&b, 1, "<body>two</body>");
	/* Both pairs on one outgoing stream. */
	assert_int_equal(s2s_conn_count(a.s2s, 0), 1);
	assert_string_equal(s2s_out_pair_state(a.s2s, "chat.example.org", "other.example.net"),
			    "valid");
	assert_true(s2s_in_pair_valid(b.s2s, "chat.example.org", "other.example.net"));
}

static void test_unknown_domain_bounces(void **state)
{
	static struct eng a;

	eng_init(&a, "s2s-a", "secret");
	eng_start(&a);
	add_dom("nowhere.example", NULL, D_NXDOMAIN);
	send_msg(&a, "alice@example.org/x", "bob@nowhere.example", "hello?");
	assert_int_equal(a.nroutes, 1);
	/* Stanza and route swapped, back to the sender's sm from our id. */
	assert_route_has(&a, 0, "to='sm'");
	assert_route_has(&a, 0, "from='s2s-a'");
	assert_route_has(&a, 0, "from='bob@nowhere.example' to='alice@example.org/x' type='error'");
	assert_route_has(&a, 0, "<remote-server-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>");
	assert_route_has(&a, 0, "code='404'");
	assert_null(s2s_out_pair_state(a.s2s, "example.org", "nowhere.example"));
}

static void test_peer_never_answers_times_out(void **state)
{
	static struct eng a;

	eng_init(&a, "s2s-a", "secret");
	eng_start(&a);
	add_dom("slow.example", NULL, D_BLACKHOLE);
	send_msg(&a, "alice@example.org", "bob@slow.example", "anyone?");
	assert_int_equal(a.nroutes, 0);
	T.now += 59;
	s2s_check(a.s2s);
	assert_int_equal(a.nroutes, 0);
	T.now += 1;
	s2s_check(a.s2s);
	assert_int_equal(a.nroutes, 1);
	assert_route_has(&a, 0, "<remote-server-timeout xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>");
	assert_route_has(&a, 0, "type='wait'");
	/* The host's connect gives up later: nothing left to bounce. */
	s2s_conn_failed(T.blackholed[0], 0, "timed out");
	assert_int_equal(a.nroutes, 1);
}

static void test_queue_bound(void **state)
{
	static struct eng a;
	int i;

	eng_init(&a, "s2s-a", "secret");
	a.set.queue_max = 3;
	eng_start(&a);
	add_dom("slow.example", NULL, D_BLACKHOLE);
	for (i = 0; i < 4; i++)
		s2s_route_in(a.s2s, mk_route("alice@example.org", "bob@slow.example", "x"));
	assert_int_equal(s2s_queue_len(a.s2s, "example.org", "slow.example"), 3);
	assert_int_equal(a.nroutes, 1);
	assert_route_has(&a, 0, "<resource-constraint ");
}

/* An engine with the wrong secret claims example.org: the authoritative
 * server (a) says the key is not its own, b refuses, and the impostor's
 * sender gets service-unavailable. */
static void test_dialback_for_foreign_domain_refused(void **state)
{
	static struct eng a, b, evil;

	eng_init(&a, "s2s-a", "secret");
	eng_init(&b, "s2s-b", "secret");
	eng_init(&evil, "s2s-evil", "not-the-secret");
	eng_start(&a);
	eng_start(&b);
	eng_start(&evil);
	add_dom("example.org", &a, D_OK);
	add_dom("other.example.net", &b, D_OK);
	send_msg(&evil, "mallory@example.org", "bob@other.example.net", "trust me");
	assert_int_equal(b.nroutes, 0);
	assert_false(s2s_in_pair_valid(b.s2s, "example.org", "other.example.net"));
	assert_int_equal(evil.nroutes, 1);
	assert_route_has(&evil, 0, "<service-unavailable ");
}

/* Raw bytes into an incoming stream: a stanza from a domain nobody
 * verified ends the stream with invalid-from, and nothing is delivered. */
static void test_unverified_from_is_stream_error(void **state)
{
	static const char *const inputs[] = {
		"<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
		"xmlns:stream='http://etherx.jabber.org/streams' "
		"xmlns:db='jabber:server:dialback' to='other.example.net' from='example.org'>"
		"<message from='a@example.org' to='b@other.example.net'><body>x</body></message>",
	};
	static struct eng b;
	struct end *e;
	char *wire;

	eng_init(&b, "s2s-b", "secret");
	eng_start(&b);
	e = end_new(&b);
	e->conn = s2s_conn_accepted(b.s2s, e);
	s2s_conn_input(e->conn, inputs[0], strlen(inputs[0]));
	s2s_flush(b.s2s);
	wire = e->wire.data;
	assert_non_null(wire);
	assert_non_null(strstr(wire, "<invalid-from xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"));
	assert_true(e->closing);
	assert_int_equal(b.nroutes, 0);
	e->gone = 1;
	s2s_conn_gone(e->conn, NULL);
}

static void test_missing_addressing_is_stream_error(void **state)
{
	static const char in[] =
		"<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
		"xmlns:stream='http://etherx.jabber.org/streams' version='1.0' "
		"xmlns:db='jabber:server:dialback' to='other.example.net' from='example.org'>"
		"<message to='b@other.example.net'><body>x</body></message>";
	static struct eng b;
	struct end *e;

	eng_init(&b, "s2s-b", "secret");
	eng_start(&b);
	e = end_new(&b);
	e->conn = s2s_conn_accepted(b.s2s, e);
	s2s_conn_input(e->conn, in, strlen(in));
	s2s_flush(b.s2s);
	/* The dialback feature was offered, then the error. */
	assert_non_null(strstr(e->wire.data, "<dialback xmlns='urn:xmpp:features:dialback'>"));
	assert_non_null(strstr(e->wire.data, "<improper-addressing "));
	assert_int_equal(b.nroutes, 0);
	e->gone = 1;
	s2s_conn_gone(e->conn, NULL);
}

/* The router bounced a stanza we delivered (no such user, say): the
 * remote sender gets an error stanza over federation. */
static void test_router_error_goes_back_to_sender(void **state)
{
	static struct eng a, b;
	struct nad *r;

	eng_init(&a, "s2s-a", "secret");
	eng_init(&b, "s2s-b", "secret");
	eng_start(&a);
	eng_start(&b);
	add_dom("example.org", &a, D_OK);
	add_dom("other.example.net", &b, D_OK);
	send_msg(&a, "alice@example.org/x", "nobody@other.example.net", "hello");
	assert_int_equal(b.nroutes, 1);
	/* b's router sends it back with error='503' (to/from not swapped). */
	r = nad_copy(b.routes[0]);
	nad_attr_set(r, nad_root(r), NULL, "error", "503");
	s2s_route_in(b.s2s, r);
	s2s_flush(b.s2s);
	pump();
	assert_int_equal(a.nroutes, 1);
	assert_route_has(&a, 0, "from='nobody@other.example.net' to='alice@example.org/x' "
			 "type='error'");
	assert_route_has(&a, 0, "<service-unavailable ");
	/* An error is never answered with another error. */
	r = nad_copy(a.routes[0]);
	nad_attr_set(r, nad_root(r), NULL, "error", "404");
	s2s_route_in(a.s2s, r);
	pump();
	assert_int_equal(b.nroutes, 1);
}

static void test_ignored_routes(void **state)
{
	static struct eng a;
	struct nad *r;

	eng_init(&a, "s2s-a", "secret");
	eng_start(&a);
	add_dom("other.example.net", NULL, D_NXDOMAIN);
	r = mk_route("alice@example.org", "bob@other.example.net", "x");
	nad_attr_set(r, nad_root(r), NULL, "type", "broadcast");
	s2s_route_in(a.s2s, r);
	r = mk_route("alice@example.org", "bob@other.example.net", "x");
	nad_attr_set(r, nad_root(r), NULL, "to", "s2s-a");
	s2s_route_in(a.s2s, r);
	pump();
	assert_int_equal(a.nroutes, 0);
	assert_int_equal(s2s_conn_count(a.s2s, 0), 0);
}

static void tls_engines(struct eng *a, struct eng *b, const char *a_cert, const char *b_cert,
			int verify)
{
	const char *ca = verify ? T.certs.ca : NULL;

	a->set.tls_server = test_tls_ctx(SX_SERVER, a_cert, ca, verify, 0);
	a->set.tls_client = test_tls_ctx(SX_CLIENT, a_cert, ca, verify, 0);
	a->set.have_client_cert = 1;
	b->set.tls_server = test_tls_ctx(SX_SERVER, b_cert, ca, verify, 0);
	b->set.tls_client = test_tls_ctx(SX_CLIENT, b_cert, ca, verify, 0);
	b->set.have_client_cert = 1;
}

static void test_starttls_required_then_dialback(void **state)
{
	static struct eng a, b;
	struct s2s_conn *c;

	test_certs_make(&T.certs);
	T.have_certs = 1;
	eng_init(&a, "s2s-a", "secret");
	eng_init(&b, "s2s-b", "secret");
	a.set.require_tls = b.set.require_tls = 1;
	tls_engines(&a, &b, T.certs.server, T.certs.server2, 0);
	eng_start(&a);
	eng_start(&b);
	add_dom("example.org", &a, D_OK);
	add_dom("other.example.net", &b, D_OK);
	send_msg(&a, "alice@example.org", "bob@other.example.net", "secret stuff");
	assert_int_equal(b.nroutes, 1);
	c = first_conn(&a, 0);
	assert_non_null(c);
	assert_true(sx_flags(c->sx) & SX_F_ENCRYPTED);
	assert_false(c->external_ok);
}

static void test_require_tls_peer_without_tls(void **state)
{
	static struct eng a, b;

	test_certs_make(&T.certs);
	T.have_certs = 1;
	eng_init(&a, "s2s-a", "secret");
	eng_init(&b, "s2s-b", "secret");
	a.set.require_tls = 1;
	a.set.tls_client = test_tls_ctx(SX_CLIENT, NULL, NULL, 0, 0);
	eng_start(&a);
	eng_start(&b);
	add_dom("other.example.net", &b, D_OK);
	send_msg(&a, "alice@example.org", "bob@other.example.net", "in clear?");
	assert_int_equal(b.nroutes, 0);
	assert_int_equal(a.nroutes, 1);
	assert_route_has(&a, 0, "<service-unavailable ");
}

static void test_sasl_external_with_verified_certs(void **state)
{
	static struct eng a, b;
	struct s2s_conn *c;

	test_certs_make(&T.certs);
	T.have_certs = 1;
	eng_init(&a, "s2s-a", "secret");
	/* Different secrets: dialback could not succeed, EXTERNAL must. */
	eng_init(&b, "s2s-b", "other-secret");
	tls_engines(&a, &b, T.certs.server, T.certs.server2, 1);
	eng_start(&a);
	eng_start(&b);
	add_dom("example.org", &a, D_OK);
	add_dom("other.example.net", &b, D_OK);
	send_msg(&a, "alice@example.org", "bob@other.example.net", "signed");
	assert_int_equal(b.nroutes, 1);
	c = first_conn(&a, 0);
	assert_true(c->external_ok);
	assert_true(s2s_in_pair_valid(b.s2s, "example.org", "other.example.net"));
	/* b never had to dial back. */
	assert_int_equal(s2s_conn_count(b.s2s, 0), 0);
}

/* a presents other.example.net's certificate while claiming example.org:
 * EXTERNAL is refused and dialback (same secret) takes over. */
static void test_sasl_external_wrong_name_falls_back(void **state)
{
	static struct eng a, b;
	struct s2s_conn *c;

	test_certs_make(&T.certs);
	T.have_certs = 1;
	eng_init(&a, "s2s-a", "secret");
	eng_init(&b, "s2s-b", "secret");
	tls_engines(&a, &b, T.certs.server2, T.certs.server2, 1);
	eng_start(&a);
	eng_start(&b);
	add_dom("example.org", &a, D_OK);
	add_dom("other.example.net", &b, D_OK);
	send_msg(&a, "alice@example.org", "bob@other.example.net", "hi");
	c = first_conn(&a, 0);
	assert_true(c->external_tried);
	assert_false(c->external_ok);
	assert_int_equal(b.nroutes, 1);
}

static void test_idle_stream_closed(void **state)
{
	static struct eng a, b;

	eng_init(&a, "s2s-a", "secret");
	eng_init(&b, "s2s-b", "secret");
	a.set.check_idle = 300;
	eng_start(&a);
	eng_start(&b);
	add_dom("example.org", &a, D_OK);
	add_dom("other.example.net", &b, D_OK);
	send_msg(&a, "alice@example.org", "bob@other.example.net", "hi");
	assert_int_equal(s2s_conn_count(a.s2s, 0), 1);
	T.now += 301;
	s2s_check(a.s2s);
	pump();
	assert_int_equal(s2s_conn_count(a.s2s, 0), 0);
	assert_null(s2s_out_pair_state(a.s2s, "example.org", "other.example.net"));
	/* The next stanza reconnects and gets through. */
	send_msg(&a, "alice@example.org", "bob@other.example.net", "again");
	assert_int_equal(b.nroutes, 2);
}

/* io.limits.domainstreams: a third stream claiming the same domain is
 * refused with policy-violation; another domain is not affected. */
static void test_streams_per_domain_limited(void **state)
{
	static const char fmt[] =
		"<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
		"xmlns:stream='http://etherx.jabber.org/streams' version='1.0' "
		"xmlns:db='jabber:server:dialback' to='other.example.net' from='%s'>";
	static struct eng b;
	struct end *e[4];
	char hdr[512];
	int i;

	eng_init(&b, "s2s-b", "secret");
	b.set.domainstreams = 2;
	eng_start(&b);
	for (i = 0; i < 4; i++) {
		e[i] = end_new(&b);
		e[i]->conn = s2s_conn_accepted(b.s2s, e[i]);
		snprintf(hdr, sizeof(hdr), fmt, i < 3 ? "flood.example" : "calm.example");
		s2s_conn_input(e[i]->conn, hdr, strlen(hdr));
		s2s_flush(b.s2s);
	}
	assert_null(strstr(e[1]->wire.data, "policy-violation"));
	assert_non_null(strstr(e[2]->wire.data, "<policy-violation "));
	assert_true(e[2]->closing);
	assert_null(strstr(e[3]->wire.data, "policy-violation"));
	assert_false(e[3]->closing);
	for (i = 0; i < 4; i++) {
		e[i]->gone = 1;
		s2s_conn_gone(e[i]->conn, NULL);
	}
}

static void test_keepalive_on_ready_streams(void **state)
{
	static struct eng a, b;
	struct end *out = NULL;
	size_t before;
	int i;

	eng_init(&a, "s2s-a", "secret");
	eng_init(&b, "s2s-b", "secret");
	a.set.check_keepalive = 30;
	eng_start(&a);
	eng_start(&b);
	add_dom("example.org", &a, D_OK);
	add_dom("other.example.net", &b, D_OK);
	send_msg(&a, "alice@example.org", "bob@other.example.net", "hi");
	for (i = 0; i < MAX_ENDS; i++)
		if (T.ends[i].used && T.ends[i].eng == &a && T.ends[i].conn == first_conn(&a, 0))
			out = &T.ends[i];
	assert_non_null(out);
	before = out->wire.len;
	T.now += 29;
	s2s_check(a.s2s);
	assert_int_equal(out->wire.len, before);
	T.now += 1;
	s2s_check(a.s2s);
	assert_int_equal(out->wire.len, before + 1);
	assert_int_equal(out->wire.data[before], ' ');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dialback_message_both_ways),
		cmocka_unit_test_setup_teardown(test_queue_keeps_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_piggyback_two_local_domains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_domain_bounces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peer_never_answers_times_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dialback_for_foreign_domain_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unverified_from_is_stream_error, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_missing_addressing_is_stream_error, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_router_error_goes_back_to_sender, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ignored_routes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_starttls_required_then_dialback, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_require_tls_peer_without_tls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sasl_external_with_verified_certs, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sasl_external_wrong_name_falls_back, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_idle_stream_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_streams_per_domain_limited, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keepalive_on_ready_streams, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
