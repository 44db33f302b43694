/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for xmpp-bench's pure parts: the command line, percentiles,
 * SCRAM-SHA-1 against RFC 5802's example, and the stream state machine fed
 * what a misbehaving server sends (it must fail the stream with a reason,
 * never crash or wait for ever). Input is also split at every byte.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "bench/xmpp-bench/xb.h"

/* ---- args ---- */

static int parse(struct xb_opts *o, const char *line, const char **err)
{
	char buf[512], *argv[64], *save = NULL;
	int argc = 0;

	strcpy(buf, line);
	for (char *t = strtok_r(buf, " ", &save); t && argc < 64;
	     t = strtok_r(NULL, " ", &save))
		argv[argc++] = t;
	return xb_opts_parse(o, argc, argv, err);
}

static void test_args_defaults(void **state)
{
	struct xb_opts o;
	const char *err = NULL;

	assert_int_equal(parse(&o, "login", &err), 0);
	assert_int_equal(o.scenario, XB_LOGIN);
	assert_string_equal(o.server.host, "127.0.0.1");
	assert_int_equal(o.server.port, 5222);
	assert_int_equal(o.server2.port, 5222); /* defaults to --server */
	assert_true(o.tls);
	assert_int_equal(o.mech, XB_MECH_SCRAM_SHA1);
	assert_int_equal(o.count, 1000);
	assert_int_equal(o.users, 1000);
}

static void test_args_full(void **state)
{
	struct xb_opts o;
	const char *err = NULL;

	assert_int_equal(parse(&o, "messages --server 127.0.0.2:20001 "
			       "--server2 127.0.0.3:20002 --pairs 10 "
			       "--window 8 -n 5000 --mech PLAIN --no-tls "
			       "--src 127.0.2.1/4 --pids 10,20,30 --json - "
			       "--first 100 --users 20 --duration 9.5", &err), 0);
	assert_int_equal(o.scenario, XB_MESSAGES);
	assert_string_equal(o.server2.host, "127.0.0.3");
	assert_int_equal(o.server2.port, 20002);
	assert_int_equal(o.pairs, 10);
	assert_int_equal(o.window, 8);
	assert_int_equal(o.count, 5000);
	assert_int_equal(o.mech, XB_MECH_PLAIN);
	assert_false(o.tls);
	assert_int_equal(o.src_base, (127u << 24) | (2u << 8) | 1u);
	assert_int_equal(o.src_count, 4);
	assert_int_equal(o.npids, 3);
	assert_int_equal(o.pids[2], 30);
	assert_string_equal(o.json_path, "-");
	assert_int_equal(o.user_first, 100);
	assert_true(o.duration > 9.4 && o.duration < 9.6);
}

static void test_args_refused(void **state)
{
	static const char *const bad[] = {
		"",                              /* no scenario */
		"storm",                         /* unknown scenario */
		"login --frobnicate 1",          /* unknown option */
		"login -n",                      /* missing value */
		"login -n 0",                    /* out of range */
		"login -n 12x",                  /* not a number */
		"login --server 127.0.0.1",      /* no port */
		"login --server 127.0.0.1:70000",
		"login --server host:5222",      /* not an address */
		"login --mech DIGEST-MD5",
		"login --src 10.0.0.1/4",        /* never off loopback */
		"login --src 127.0.0.1/0",
		"login --duration 0",
		"login --duration -1",
		"login --pids 1,,x",
		"messages --pairs 10 --users 15",  /* needs 20 users */
		"messages --pairs 10 -n 5",        /* fewer msgs than pairs */
		"fanout --contacts 50 -n 100",     /* not groups of 51 */
		"fanout --contacts 50 -n 50",
		"muc --occupants 5 --senders 6",   /* more senders than in */
		"muc --senders 4 -n 3",            /* fewer msgs than senders */
		"muc --room lounge",               /* not a room JID */
		"muc --room r@c.example/nick",
		"muc --room r@c'/><x",             /* would break our XML */
		"muc --occupants 20 --users 10",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct xb_opts o;
		const char *err = NULL;
		int r = parse(&o, bad[i], &err);
		if (r != -1)
			fail_msg("accepted: '%s'", bad[i]);
		assert_non_null(err);
	}
}

static void test_args_fanout_users(void **state)
{
	struct xb_opts o;
	const char *err = NULL;

	assert_int_equal(parse(&o, "fanout --contacts 4 -n 15 --rounds 2",
			       &err), 0);
	assert_int_equal(o.users, 15);
	assert_int_equal(o.rounds, 2);
}

static void test_args_muc(void **state)
{
	struct xb_opts o;
	const char *err = NULL;

	assert_int_equal(parse(&o, "muc --occupants 30 --senders 3 -n 90 "
			       "--domain example.org", &err), 0);
	assert_int_equal(o.scenario, XB_MUC);
	assert_int_equal(o.occupants, 30);
	assert_int_equal(o.senders, 3);
	assert_int_equal(o.users, 90); /* at least the occupants */
	assert_string_equal(o.room, "bench@conference.example.org");
	assert_int_equal(parse(&o, "muc --room r@rooms.test --occupants 4 "
			       "--senders 4 -n 4", &err), 0);
	assert_string_equal(o.room, "r@rooms.test");
	assert_int_equal(o.users, 4);
}

/* ---- stats ---- */

static void test_percentiles(void **state)
{
	struct xb_lat l = {0};

	assert_int_equal(xb_lat_pct(&l, 50), 0);
	/* 100 samples 1..100, added in reverse: nearest rank is exact. */
	for (uint32_t v = 100; v >= 1; v--)
		xb_lat_add(&l, v);
	assert_int_equal(xb_lat_pct(&l, 0), 1);
	assert_int_equal(xb_lat_pct(&l, 50), 50);
	assert_int_equal(xb_lat_pct(&l, 99), 99);
	assert_int_equal(xb_lat_pct(&l, 99.9), 100);
	assert_int_equal(xb_lat_pct(&l, 100), 100);
	xb_lat_add(&l, 1000000); /* adding after sorting re-sorts */
	assert_int_equal(xb_lat_pct(&l, 100), 1000000);
	assert_int_equal(xb_lat_pct(&l, 50), 51);
	xb_lat_free(&l);

	for (int i = 0; i < 4; i++)
		xb_lat_add(&l, (uint32_t)(i + 1));
	assert_int_equal(xb_lat_pct(&l, 50), 2);
	assert_int_equal(xb_lat_pct(&l, 75), 3);
	assert_int_equal(xb_lat_pct(&l, 76), 4);
	xb_lat_free(&l);
}

/* ---- scram: RFC 5802 section 5 ---- */

static void test_scram_rfc5802(void **state)
{
	struct xb_scram s;
	char out[512];
	const char *err = NULL;

	assert_int_equal(xb_scram_first(&s, "user", "fyko+d2lbbFgONRv9qkxdawL",
					out, sizeof out), 0);
	assert_string_equal(out, "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
	assert_int_equal(xb_scram_final(&s, "pencil",
		"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
		"s=QSXCR+Q6sek8bf92,i=4096", out, sizeof out, &err), 0);
	assert_string_equal(out, "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1"
			    "ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=");
	assert_int_equal(xb_scram_verify(&s, "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
					 &err), 0);
	assert_int_equal(xb_scram_verify(&s, "v=AAF9pqV8S7suAoZWja4dJRkFsKQ=",
					 &err), -1);
	assert_int_equal(xb_scram_verify(&s, "e=other-error", &err), -1);
}

static void test_scram_bad_server(void **state)
{
	static const char *const bad[] = {
		"r=someoneelse123,s=QSXCR+Q6sek8bf92,i=4096", /* not our nonce */
		"r=abc,s=QSXCR+Q6sek8bf92,i=4096",    /* nonce not extended */
		"r=abcdef,s=QSXCR+Q6sek8bf92,i=0",
		"r=abcdef,s=QSXCR+Q6sek8bf92,i=99999999",
		"r=abcdef,s=QSXCR+Q6sek8bf92,i=12x",
		"r=abcdef,s=!!!!,i=4096",
		"r=abcdef,s=,i=4096",
		"r=abcdef,i=4096",
		"m=ext,r=abcdef,s=QSXCR+Q6sek8bf92,i=4096",
		"",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct xb_scram s;
		char out[512];
		const char *err = NULL;

		xb_scram_first(&s, "u1", "abc", out, sizeof out);
		if (xb_scram_final(&s, "pw", bad[i], out, sizeof out, &err) != -1)
			fail_msg("accepted server-first '%s'", bad[i]);
		assert_non_null(err);
	}
}

static void test_scram_escapes_names(void **state)
{
	struct xb_scram s;
	char out[512];

	assert_int_equal(xb_scram_first(&s, "a,b=c", "n1", out, sizeof out), 0);
	assert_string_equal(out, "n,,n=a=2Cb=3Dc,r=n1");
}

/* ---- conn: a scripted server ---- */

static char written[65536];
static size_t nwritten;
static int starttls_calls, ready_calls, failed_calls, stanza_calls;

static void t_write(struct xb_conn *c, const char *d, size_t n)
{
	if (nwritten + n < sizeof written) {
		memcpy(written + nwritten, d, n);
		nwritten += n;
		written[nwritten] = '\0';
	}
}
static void t_starttls(struct xb_conn *c) { starttls_calls++; }
static void t_ready(struct xb_conn *c) { ready_calls++; }
static void t_failed(struct xb_conn *c) { failed_calls++; }
static void t_stanza(struct xb_conn *c, const struct xb_stanza *st)
{
	stanza_calls++;
}

static const struct xb_io tio = {t_write, t_starttls};
static const struct xb_events tev = {t_ready, t_stanza, t_failed, NULL};

static void conn_start(struct xb_conn *c, struct xb_opts *o)
{
	const char *err;
	char *argv[] = {"login", "--no-tls", "--mech", "PLAIN"};

	assert_int_equal(xb_opts_parse(o, 4, argv, &err), 0);
	nwritten = 0;
	written[0] = '\0';
	starttls_calls = ready_calls = failed_calls = stanza_calls = 0;
	xb_conn_init(c, o, &tio, &tev, 7, 3);
	xb_conn_connected(c);
}

/* Feeds s one byte at a time when `split`, else in the chunks that '|'
 * separates (a server sends nothing after <success/> until our new
 * header, so that is where its chunks end). */
static void feed(struct xb_conn *c, const char *s, bool split)
{
	while (*s) {
		size_t n = strcspn(s, "|");
		if (!split)
			xb_conn_input(c, s, n);
		else
			for (size_t i = 0; i < n; i++)
				xb_conn_input(c, s + i, 1);
		s += n;
		if (*s == '|')
			s++;
	}
}

#define HDR "<?xml version='1.0'?><stream:stream xmlns='jabber:client' " \
	"xmlns:stream='http://etherx.jabber.org/streams' id='x' " \
	"from='localhost' version='1.0'>"
#define FEAT_AUTH "<stream:features><mechanisms xmlns='urn:ietf:params:" \
	"xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1</mechanism><mechanism>" \
	"PLAIN</mechanism></mechanisms></stream:features>"
#define FEAT_BIND "<stream:features><bind xmlns='urn:ietf:params:xml:ns:" \
	"xmpp-bind'/><session xmlns='urn:ietf:params:xml:ns:xmpp-session'>" \
	"<optional/></session></stream:features>"

static void test_conn_login_plain(void **state)
{
	for (int split = 0; split < 2; split++) {
		struct xb_conn c;
		struct xb_opts o;

		conn_start(&c, &o);
		assert_non_null(strstr(written, "to='localhost'"));
		feed(&c, HDR FEAT_AUTH, split);
		/* \0u3\0pw */
		assert_non_null(strstr(written, "mechanism='PLAIN'>AHUzAHB3<"));
		feed(&c, "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>",
		     split);
		assert_true(c.authed);
		feed(&c, HDR FEAT_BIND, split);
		assert_non_null(strstr(written, "<resource>xb7</resource>"));
		assert_false(c.session_needed); /* <optional/> */
		feed(&c, "<iq type='result' id='bind'/>", split);
		assert_non_null(strstr(written, "<presence/>"));
		feed(&c, "<presence from='u3@localhost/xb7'/>", split);
		assert_int_equal(ready_calls, 0);
		feed(&c, "<iq type='result' id='roster'><query xmlns="
			 "'jabber:iq:roster'/></iq>", split);
		assert_int_equal(ready_calls, 1);
		assert_int_equal(c.state, XS_READY);
		feed(&c, "<message from='a@b/c'><body>1 xx</body></message>",
		     split);
		assert_int_equal(stanza_calls, 1);
		assert_int_equal(failed_calls, 0);
		xb_conn_close(&c);
		feed(&c, "</stream:stream>", split);
		assert_int_equal(c.state, XS_DONE);
		assert_int_equal(failed_calls, 1); /* ended, as planned */
		xb_conn_cleanup(&c);
	}
}

static void test_conn_starttls_and_session(void **state)
{
	struct xb_conn c;
	struct xb_opts o;

	conn_start(&c, &o);
	o.tls = true;
	feed(&c, HDR "<stream:features><starttls xmlns='urn:ietf:params:xml:"
		 "ns:xmpp-tls'/></stream:features>", false);
	assert_non_null(strstr(written, "<starttls"));
	feed(&c, "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>", false);
	assert_int_equal(starttls_calls, 1);
	assert_int_equal(c.state, XS_TLS);
	xb_conn_tls_up(&c);
	feed(&c, HDR FEAT_AUTH, false);
	feed(&c, "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>", false);
	feed(&c, HDR "<stream:features><bind xmlns='urn:ietf:params:xml:ns:"
		 "xmpp-bind'/><session xmlns='urn:ietf:params:xml:ns:xmpp-"
		 "session'/></stream:features>", false);
	assert_true(c.session_needed);
	feed(&c, "<iq type='result' id='bind'/>", false);
	assert_non_null(strstr(written, "id='sess'"));
	feed(&c, "<iq type='result' id='sess'/>"
		 "<iq type='result' id='roster'/>", false);
	assert_int_equal(ready_calls, 1);
	xb_conn_cleanup(&c);
}

/* Each script must end the stream as failed, with a reason, once. */
static void test_conn_misbehaving_server(void **state)
{
	static const char *const scripts[] = {
		"garbage that is not xml",
		HDR "<stream:features></stream:features>", /* nothing offered */
		HDR "<stream:error><conflict xmlns='urn:ietf:params:xml:ns:"
		    "xmpp-streams'/></stream:error>",
		HDR "</stream:stream>",
		HDR FEAT_AUTH "<failure xmlns='urn:ietf:params:xml:ns:xmpp-"
		    "sasl'><not-authorized/></failure>",
		HDR FEAT_AUTH "<challenge xmlns='urn:ietf:params:xml:ns:xmpp-"
		    "sasl'>cj1hYmM=</challenge>", /* a challenge to PLAIN */
		HDR FEAT_AUTH "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"
		    "|" HDR FEAT_BIND "<iq type='error' id='bind'/>",
		HDR FEAT_AUTH "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"
		    "|" HDR "<stream:features/>", /* no bind */
		HDR "<a><b><c>&undefined;</c></b></a>",
		HDR "<stream:features><mechanisms><mechanism>DIGEST-MD5"
		    "</mechanism></mechanisms></stream:features>",
		HDR "<x></y>",
	};
	for (size_t i = 0; i < sizeof scripts / sizeof *scripts; i++)
		for (int split = 0; split < 2; split++) {
			struct xb_conn c;
			struct xb_opts o;

			conn_start(&c, &o);
			feed(&c, scripts[i], split);
			if (failed_calls != 1 || c.state != XS_FAILED)
				fail_msg("script %zu (split %d): failed %d "
					 "state %d", i, split, failed_calls,
					 (int)c.state);
			assert_non_null(c.error);
			/* More input after failure is refused, not parsed. */
			assert_int_equal(xb_conn_input(&c, "<x/>", 4), -1);
			xb_conn_cleanup(&c);
		}
}

/* A huge text node is cut at the bound, and the stream goes on. */
static void test_conn_long_text(void **state)
{
	struct xb_conn c;
	struct xb_opts o;
	static char big[20000];

	conn_start(&c, &o);
	feed(&c, HDR "<stream:features><mechanisms><mechanism>", false);
	memset(big, 'A', sizeof big - 1);
	for (int i = 0; i < 10; i++)
		feed(&c, big, false);
	feed(&c, "</mechanism><mechanism>PLAIN</mechanism></mechanisms>"
		 "</stream:features>", false);
	assert_int_equal(failed_calls, 0);
	assert_non_null(strstr(written, "mechanism='PLAIN'"));
	xb_conn_cleanup(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_args_defaults),
		cmocka_unit_test(test_args_full),
		cmocka_unit_test(test_args_refused),
		cmocka_unit_test(test_args_fanout_users),
		cmocka_unit_test(test_args_muc),
		cmocka_unit_test(test_percentiles),
		cmocka_unit_test(test_scram_rfc5802),
		cmocka_unit_test(test_scram_bad_server),
		cmocka_unit_test(test_scram_escapes_names),
		cmocka_unit_test(test_conn_login_plain),
		cmocka_unit_test(test_conn_starttls_and_session),
		cmocka_unit_test(test_conn_misbehaving_server),
		cmocka_unit_test(test_conn_long_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
