/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for sx/tls.c: context setup errors, STARTTLS and direct TLS
 * between an in-memory client and server sx (TLS 1.2 and 1.3, all input
 * at once and one byte at a time), peer certificate verification and
 * names, channel binding, SNI, and the failure paths (refused STARTTLS,
 * plaintext injected after <starttls/>, garbage and tampered records).
 */
#include "config.h"

#include "sx/sx.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/ssl.h>

#include "sx/tests/tls_testlib.h"
#include "util/buf.h"
#include "util/nad.h"

static struct test_certs certs;

static int has(const struct buf *b, const char *needle)
{
	return b->len > 0 && memmem(b->data, b->len, needle, strlen(needle)) != NULL;
}

/* ---- context errors ---- */

struct ctx_case {
	enum sx_type role;
	const char *pemfile;
	const char *password;
	const char *cachain;
	int verify;
	const char *ciphers;
	const char *ciphersuites;
	const char *want;       /* substring of the error, NULL = success */
};

static void test_ctx_errors(void **state)
{
	const struct ctx_case cases[] = {
		{ SX_SERVER, NULL, NULL, NULL, 0, NULL, NULL, "needs a pemfile" },
		{ SX_SERVER, "/nonexistent/x.pem", NULL, NULL, 0, NULL, NULL, "/nonexistent/x.pem" },
		{ SX_SERVER, certs.ca, NULL, NULL, 0, NULL, NULL, "private key" },
		{ SX_SERVER, certs.server_enc, NULL, NULL, 0, NULL, NULL, "private key" },
		{ SX_SERVER, certs.server_enc, "wrong", NULL, 0, NULL, NULL, "private key" },
		{ SX_SERVER, certs.server_enc, "sekrit", NULL, 0, NULL, NULL, NULL },
		{ SX_SERVER, certs.server, NULL, NULL, 2, NULL, NULL, "cachain" },
		{ SX_SERVER, certs.server, NULL, "/nonexistent/ca.pem", 1, NULL, NULL,
		  "/nonexistent/ca.pem" },
		{ SX_SERVER, certs.server, NULL, NULL, 3, NULL, NULL, "verify-mode" },
		{ SX_SERVER, certs.server, NULL, NULL, 0, "NOT-A-CIPHER", NULL,
		  "ciphers 'NOT-A-CIPHER'" },
		{ SX_SERVER, certs.server, NULL, NULL, 0, NULL, "TLS_NOPE", "ciphersuites" },
		{ SX_SERVER, certs.server, NULL, certs.ca, 2, "HIGH:!aNULL",
		  "TLS_AES_256_GCM_SHA384", NULL },
		{ SX_CLIENT, NULL, NULL, NULL, 0, NULL, NULL, NULL },
		{ SX_CLIENT, certs.client, NULL, certs.ca, 2, NULL, NULL, NULL },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sx_tls_config cfg = { 0 };
		const char *err = NULL;
		struct sx_tls_ctx *ctx;

		cfg.pemfile = cases[i].pemfile;
		cfg.key_password = cases[i].password;
		cfg.cachain = cases[i].cachain;
		cfg.verify_mode = cases[i].verify;
		cfg.ciphers = cases[i].ciphers;
		cfg.ciphersuites = cases[i].ciphersuites;
		ctx = sx_tls_ctx_new(cases[i].role, &cfg, &err);
		if (cases[i].want == NULL) {
			if (ctx == NULL)
				fail_msg("case %zu: unexpected error: %s", i, err);
		} else {
			if (ctx != NULL)
				fail_msg("case %zu: expected an error with '%s'", i, cases[i].want);
			if (err == NULL || strstr(err, cases[i].want) == NULL)
				fail_msg("case %zu: error '%s' lacks '%s'", i, err ? err : "(null)",
					 cases[i].want);
		}
		sx_tls_ctx_free(&ctx);
		assert_null(ctx);
	}
}

/* ---- STARTTLS ---- */

struct tls_setup {
	struct test_pair p;
	struct sx_tls_ctx *sctx, *cctx;
};

static void setup_starttls(struct tls_setup *t, const char *client_pem, int server_verify,
			   int client_verify, int max_version, const char *server_name)
{
	test_pair_init(&t->p);
	t->sctx = test_tls_ctx(SX_SERVER, certs.server, server_verify ? certs.ca : NULL,
			       server_verify, 0);
	t->cctx = test_tls_ctx(SX_CLIENT, client_pem, certs.ca, client_verify, max_version);
	assert_int_equal(sx_tls_starttls(t->p.s.sx, t->sctx, 1), 0);
	assert_int_equal(sx_tls_starttls(t->p.c.sx, t->cctx, 0), 0);
	if (server_name != NULL)
		sx_tls_set_server_name(t->p.c.sx, server_name);
	/* The streams hold their own references. */
	sx_tls_ctx_free(&t->sctx);
	sx_tls_ctx_free(&t->cctx);
}

/* An element each way over the established stream. */
static void check_traffic(struct test_pair *p)
{
	struct nad *nad = nad_new();
	int s_before = p->s.elements, c_before = p->c.elements;

	nad_elem_add(nad, NAD_NONE, SX_NS_CLIENT, "message");
	sx_send(p->c.sx, nad);
	nad = nad_new();
	nad_elem_add(nad, NAD_NONE, SX_NS_CLIENT, "presence");
	sx_send(p->s.sx, nad);
	test_pair_pump(p);
	assert_int_equal(p->s.elements, s_before + 1);
	assert_string_equal(p->s.last_elem, "message");
	assert_int_equal(p->c.elements, c_before + 1);
	assert_string_equal(p->c.last_elem, "presence");
	/* Nothing readable went over the wire after the handshake. */
	assert_false(memmem(p->s.received.data, p->s.received.len, "<message", 8) != NULL);
}

static void run_starttls(int max_version, const char *want_version, size_t chunk)
{
	struct tls_setup t;

	setup_starttls(&t, NULL, 0, 2, max_version, "example.org");
	t.p.chunk = chunk;
	test_pair_open(&t.p);
	test_pair_pump(&t.p);

	/* Offered as required before TLS, not offered after. */
	assert_true(has(&t.p.c.received, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>"
				       "<required/></starttls>") ||
		    has(&t.p.c.received, "<starttls xmlns=\"urn:ietf:params:xml:ns:xmpp-tls\">"));
	assert_true(has(&t.p.c.received, "proceed"));
	assert_int_equal(sx_tls_required(t.p.s.sx), 0);
	assert_int_equal(t.p.s.opened, 2);
	assert_int_equal(t.p.c.opened, 2);
	assert_int_equal(t.p.c.tls_done, 1);
	assert_int_equal(t.p.s.tls_done, 1);
	assert_true(sx_flags(t.p.c.sx) & SX_F_ENCRYPTED);
	assert_true(sx_flags(t.p.s.sx) & SX_F_ENCRYPTED);
	assert_string_equal(sx_tls_version(t.p.c.sx), want_version);
	assert_string_equal(sx_tls_version(t.p.s.sx), want_version);
	/* The client verified the server for the name it asked for. */
	assert_true(sx_flags(t.p.c.sx) & SX_F_PEER_CERT);
	assert_false(sx_flags(t.p.s.sx) & SX_F_PEER_CERT);
	assert_null(sx_tls_peer_names(t.p.s.sx));
	/* The first features went to the TLS plugin, the second to us. */
	assert_int_equal(t.p.c.features_seen, 1);
	assert_string_equal(sx_tls_sni(t.p.s.sx), "example.org");
	check_traffic(&t.p);
	/* Idle streams give back their parser and BIO buffers; traffic
	 * afterwards flows as before, twice over. */
	assert_int_equal(sx_trim(t.p.s.sx), 1);
	assert_int_equal(sx_trim(t.p.c.sx), 1);
	/* The name the client asked for outlives the trim (it is read from
	 * the TLS session, not kept by the BIO). */
	assert_string_equal(sx_tls_sni(t.p.s.sx), "example.org");
	check_traffic(&t.p);
	assert_int_equal(sx_trim(t.p.s.sx), 1);
	check_traffic(&t.p);
	assert_int_equal(t.p.c.closed + t.p.s.closed, 0);
	test_pair_free(&t.p);
}

static void test_starttls_13(void **state)
{
	run_starttls(0, "TLSv1.3", 0);
}

static void test_starttls_12(void **state)
{
	run_starttls(TLS1_2_VERSION, "TLSv1.2", 0);
}

static void test_starttls_bytewise(void **state)
{
	run_starttls(0, "TLSv1.3", 1);
	run_starttls(TLS1_2_VERSION, "TLSv1.2", 1);
}

/* verify-mode 2 on the server: no client certificate, a good one, one
 * from another CA. */
static void test_client_cert_required(void **state)
{
	const struct {
		const char *pem;
		int ok;
	} cases[] = {
		{ NULL, 0 },
		{ certs.client, 1 },
		{ certs.rogue_client, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tls_setup t;
		const char *const *names;

		setup_starttls(&t, cases[i].pem, 2, 0, 0, NULL);
		test_pair_open(&t.p);
		test_pair_pump(&t.p);
		if (!cases[i].ok) {
			assert_int_equal(t.p.s.closed, 1);
			assert_string_equal(t.p.s.close_cond, "policy-violation");
			assert_false(sx_flags(t.p.s.sx) & SX_F_ENCRYPTED);
			assert_int_equal(t.p.s.opened, 1);
			/* The client heard the alert and gave up too. */
			assert_int_equal(t.p.c.closed, 1);
			assert_false(has(&t.p.c.received, "<stream:error"));
			test_pair_free(&t.p);
			continue;
		}
		assert_int_equal(t.p.s.closed, 0);
		assert_true(sx_flags(t.p.s.sx) & SX_F_PEER_CERT);
		names = sx_tls_peer_names(t.p.s.sx);
		assert_non_null(names);
		assert_string_equal(names[0], "alice@example.org");
		assert_string_equal(names[1], "client.example.org");
		assert_null(names[2]);
		check_traffic(&t.p);
		test_pair_free(&t.p);
	}
}

/* verify-mode 1: a certificate that does not verify is not fatal, but
 * not trusted either. */
static void test_client_cert_optional(void **state)
{
	const struct {
		const char *pem;
		int trusted;
	} cases[] = {
		{ NULL, 0 },
		{ certs.client, 1 },
		{ certs.rogue_client, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tls_setup t;

		setup_starttls(&t, cases[i].pem, 1, 0, TLS1_2_VERSION, NULL);
		test_pair_open(&t.p);
		test_pair_pump(&t.p);
		assert_int_equal(t.p.s.closed, 0);
		assert_true(sx_flags(t.p.s.sx) & SX_F_ENCRYPTED);
		assert_int_equal(!!(sx_flags(t.p.s.sx) & SX_F_PEER_CERT), cases[i].trusted);
		assert_int_equal(sx_tls_peer_names(t.p.s.sx) != NULL, cases[i].trusted);
		check_traffic(&t.p);
		test_pair_free(&t.p);
	}
}

/* The client checks the server's name: mode 2 refuses a mismatch, mode 0
 * goes on without trusting the server. */
static void test_server_name_check(void **state)
{
	struct tls_setup t;

	setup_starttls(&t, NULL, 0, 2, 0, "wrong.example.com");
	test_pair_open(&t.p);
	test_pair_pump(&t.p);
	assert_int_equal(t.p.c.closed, 1);
	assert_string_equal(t.p.c.close_cond, "policy-violation");
	assert_false(sx_flags(t.p.c.sx) & SX_F_ENCRYPTED);
	test_pair_free(&t.p);

	setup_starttls(&t, NULL, 0, 0, 0, "wrong.example.com");
	test_pair_open(&t.p);
	test_pair_pump(&t.p);
	assert_int_equal(t.p.c.closed, 0);
	assert_true(sx_flags(t.p.c.sx) & SX_F_ENCRYPTED);
	assert_false(sx_flags(t.p.c.sx) & SX_F_PEER_CERT);
	test_pair_free(&t.p);
}

static void test_channel_binding(void **state)
{
	const struct {
		int max_version;
		const char *type, *absent;
		int len;
	} cases[] = {
		{ 0, "tls-exporter", "tls-unique", 32 },
		{ TLS1_2_VERSION, "tls-unique", "tls-exporter", 12 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned char a[64], b[64];
		struct tls_setup t;

		setup_starttls(&t, NULL, 0, 0, cases[i].max_version, NULL);
		assert_int_equal(sx_tls_channel_binding(t.p.c.sx, cases[i].type, a, sizeof(a)), -1);
		test_pair_open(&t.p);
		test_pair_pump(&t.p);
		assert_int_equal(sx_tls_channel_binding(t.p.c.sx, cases[i].type, a, sizeof(a)),
				 cases[i].len);
		assert_int_equal(sx_tls_channel_binding(t.p.s.sx, cases[i].type, b, sizeof(b)),
				 cases[i].len);
		assert_memory_equal(a, b, (size_t)cases[i].len);
		assert_int_equal(sx_tls_channel_binding(t.p.s.sx, cases[i].absent, b, sizeof(b)), -1);
		assert_int_equal(sx_tls_channel_binding(t.p.s.sx, cases[i].type, b, 8), -1);
		test_pair_free(&t.p);
	}
	/* A second connection binds to different data. */
	{
		unsigned char a[64], b[64];
		struct tls_setup t1, t2;

		setup_starttls(&t1, NULL, 0, 0, 0, NULL);
		setup_starttls(&t2, NULL, 0, 0, 0, NULL);
		test_pair_open(&t1.p);
		test_pair_open(&t2.p);
		test_pair_pump(&t1.p);
		test_pair_pump(&t2.p);
		assert_int_equal(sx_tls_channel_binding(t1.p.c.sx, "tls-exporter", a, sizeof(a)), 32);
		assert_int_equal(sx_tls_channel_binding(t2.p.c.sx, "tls-exporter", b, sizeof(b)), 32);
		assert_memory_not_equal(a, b, 32);
		test_pair_free(&t1.p);
		test_pair_free(&t2.p);
	}
}

/* A plain OpenSSL client against an sx server on direct TLS: the values
 * the server reports must be the ones RFC 5929 and RFC 9266 define, as
 * computed on the client's own SSL object. */
struct raw_client {
	SSL *ssl;
	BIO *rbio, *wbio;
};

static void raw_handshake(struct raw_client *rc, struct test_peer *server)
{
	char buf[16384];
	int round, n, done = 0;

	for (round = 0; round < 50; round++) {
		size_t len, moved = 0;
		const void *out;

		if (SSL_do_handshake(rc->ssl) == 1)
			done = 1;
		while ((n = BIO_read(rc->wbio, buf, sizeof(buf))) > 0) {
			sx_input(server->sx, buf, (size_t)n);
			moved += (size_t)n;
		}
		out = sx_output(server->sx, &len);
		if (len > 0) {
			BIO_write(rc->rbio, out, (int)len);
			sx_output_consumed(server->sx, len);
			moved += len;
		}
		if (done && moved == 0)
			break;
	}
	/* Read what came after the handshake (TLS 1.3 tickets). */
	SSL_read(rc->ssl, buf, sizeof(buf));
	assert_true(done);
}

static void test_channel_binding_known(void **state)
{
	const int versions[] = { TLS1_2_VERSION, TLS1_3_VERSION };
	struct sx_tls_ctx *sctx = test_tls_ctx(SX_SERVER, certs.server, NULL, 0, 0);
	size_t v;

	for (v = 0; v < 2; v++) {
		SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
		SSL_SESSION *sess = NULL;
		int round;

		SSL_CTX_set_min_proto_version(cctx, versions[v]);
		SSL_CTX_set_max_proto_version(cctx, versions[v]);
		for (round = 0; round < 2; round++) {
			unsigned char want[64], got[64];
			struct raw_client rc;
			struct test_pair p;
			size_t n;

			test_pair_init(&p);
			assert_int_equal(sx_tls_direct(p.s.sx, sctx), 0);
			rc.ssl = SSL_new(cctx);
			rc.rbio = BIO_new(BIO_s_mem());
			rc.wbio = BIO_new(BIO_s_mem());
			BIO_set_mem_eof_return(rc.rbio, -1);
			SSL_set_bio(rc.ssl, rc.rbio, rc.wbio);
			SSL_set_connect_state(rc.ssl);
			if (sess != NULL)
				SSL_set_session(rc.ssl, sess);
			raw_handshake(&rc, &p.s);
			/* The second connection resumes the first session. */
			assert_int_equal(SSL_session_reused(rc.ssl), round);
			if (versions[v] == TLS1_2_VERSION) {
				/* Full: the client's Finished; resumed: the
				 * server's, which the client received. */
				n = round == 0 ? SSL_get_finished(rc.ssl, want, sizeof(want))
					       : SSL_get_peer_finished(rc.ssl, want, sizeof(want));
				assert_int_equal(sx_tls_channel_binding(p.s.sx, "tls-unique", got,
									sizeof(got)), (int)n);
			} else {
				n = 32;
				assert_int_equal(SSL_export_keying_material(
					rc.ssl, want, n, "EXPORTER-Channel-Binding", 24, NULL, 0, 0), 1);
				assert_int_equal(sx_tls_channel_binding(p.s.sx, "tls-exporter", got,
									sizeof(got)), 32);
			}
			assert_memory_equal(want, got, n);
			if (round == 0)
				sess = SSL_get1_session(rc.ssl);
			SSL_shutdown(rc.ssl);
			SSL_free(rc.ssl);
			test_pair_free(&p);
		}
		SSL_SESSION_free(sess);
		SSL_CTX_free(cctx);
	}
	sx_tls_ctx_free(&sctx);
}

static void test_direct_tls(void **state)
{
	struct test_pair p;
	struct sx_tls_ctx *sctx = test_tls_ctx(SX_SERVER, certs.server, NULL, 0, 0);
	struct sx_tls_ctx *cctx = test_tls_ctx(SX_CLIENT, NULL, certs.ca, 2, 0);
	size_t chunk;

	for (chunk = 0; chunk <= 1; chunk++) {
		test_pair_init(&p);
		p.chunk = chunk;
		p.c.reopen = 0;
		assert_int_equal(sx_tls_direct(p.s.sx, sctx), 0);
		assert_int_equal(sx_tls_direct(p.c.sx, cctx), 0);
		sx_tls_set_server_name(p.c.sx, "localhost");
		/* The header is written before the handshake and held. */
		test_pair_open(&p);
		test_pair_pump(&p);
		assert_int_equal(p.c.tls_done, 1);
		assert_int_equal(p.s.opened, 1);
		assert_int_equal(p.c.opened, 1);
		assert_true(sx_flags(p.c.sx) & SX_F_PEER_CERT);
		assert_string_equal(sx_tls_version(p.s.sx), "TLSv1.3");
		/* No STARTTLS once encrypted. */
		assert_false(has(&p.s.features_xml, "starttls"));
		check_traffic(&p);
		test_pair_free(&p);
	}
	sx_tls_ctx_free(&sctx);
	sx_tls_ctx_free(&cctx);
}

static struct sx_tls_ctx *sni_other;

static struct sx_tls_ctx *pick_sni(const char *name, void *arg)
{
	return strcmp(name, "other.example.net") == 0 ? sni_other : NULL;
}

static void test_sni(void **state)
{
	struct tls_setup t;
	struct sx_tls_ctx *sctx = test_tls_ctx(SX_SERVER, certs.server, NULL, 0, 0);
	struct sx_tls_ctx *cctx = test_tls_ctx(SX_CLIENT, NULL, certs.ca, 2, 0);

	sni_other = test_tls_ctx(SX_SERVER, certs.server2, NULL, 0, 0);
	sx_tls_ctx_set_sni(sctx, pick_sni, NULL);
	test_pair_init(&t.p);
	assert_int_equal(sx_tls_starttls(t.p.s.sx, sctx, 0), 0);
	assert_int_equal(sx_tls_starttls(t.p.c.sx, cctx, 0), 0);
	sx_tls_set_server_name(t.p.c.sx, "other.example.net");
	test_pair_open(&t.p);
	test_pair_pump(&t.p);
	/* Verified against other.example.net: the second certificate. */
	assert_int_equal(t.p.c.closed, 0);
	assert_true(sx_flags(t.p.c.sx) & SX_F_PEER_CERT);
	assert_string_equal(sx_tls_sni(t.p.s.sx), "other.example.net");
	test_pair_free(&t.p);
	sx_tls_ctx_free(&sctx);
	sx_tls_ctx_free(&cctx);
	sx_tls_ctx_free(&sni_other);
}

/* ---- refusals and failures ---- */

static void test_starttls_not_offered(void **state)
{
	struct test_pair p;
	char *out;

	test_pair_init(&p);
	assert_int_equal(sx_tls_starttls(p.s.sx, NULL, 0), 0);
	test_feed(&p.s, TEST_CLIENT_HEADER);
	out = test_drain(&p.s);
	assert_null(strstr(out, "starttls"));
	free(out);
	test_feed(&p.s, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
	out = test_drain(&p.s);
	assert_non_null(strstr(out, "<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"));
	assert_non_null(strstr(out, "</stream:stream>"));
	assert_null(strstr(out, "proceed"));
	free(out);
	assert_false(sx_flags(p.s.sx) & SX_F_ENCRYPTED);
	test_pair_free(&p);
}

/* A second <starttls/> inside TLS gets <failure/> and the stream ends. */
static void test_starttls_twice(void **state)
{
	struct tls_setup t;
	struct nad *nad;

	setup_starttls(&t, NULL, 0, 0, 0, NULL);
	test_pair_open(&t.p);
	test_pair_pump(&t.p);
	assert_true(sx_flags(t.p.s.sx) & SX_F_ENCRYPTED);
	nad = nad_new();
	nad_elem_add(nad, NAD_NONE, SX_NS_TLS, "starttls");
	sx_send(t.p.c.sx, nad);
	test_pair_pump(&t.p);
	/* The client's TLS plugin takes the unexpected <failure/> as a
	 * protocol error; the server closed its side. */
	assert_int_equal(t.p.c.closed, 1);
	assert_true(sx_flags(t.p.s.sx) & SX_F_CLOSED);
	test_pair_free(&t.p);
}

/* A client that requires TLS leaves a server that does not offer it. */
static void test_client_requires_tls(void **state)
{
	struct test_pair p;
	struct sx_tls_ctx *cctx = test_tls_ctx(SX_CLIENT, NULL, certs.ca, 0, 0);

	test_pair_init(&p);
	assert_int_equal(sx_tls_starttls(p.c.sx, cctx, 1), 0);
	test_pair_open(&p);
	test_pair_pump(&p);
	assert_int_equal(p.c.closed, 1);
	assert_string_equal(p.c.close_cond, "policy-violation");
	assert_int_equal(p.c.features_seen, 0);
	test_pair_free(&p);
	sx_tls_ctx_free(&cctx);
}

/* Plaintext pipelined after <starttls/> must not be taken as if it had
 * come over TLS (the STARTTLS command injection attack). */
static void test_starttls_injection(void **state)
{
	struct test_pair p;
	struct sx_tls_ctx *sctx = test_tls_ctx(SX_SERVER, certs.server, NULL, 0, 0);
	char *out;

	test_pair_init(&p);
	assert_int_equal(sx_tls_starttls(p.s.sx, sctx, 0), 0);
	test_feed(&p.s, TEST_CLIENT_HEADER);
	free(test_drain(&p.s));
	test_feed(&p.s, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
			"<message xmlns='jabber:client' to='bob@example.org'><body>x</body></message>");
	out = test_drain(&p.s);
	assert_non_null(strstr(out, "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"));
	free(out);
	assert_int_equal(p.s.elements, 0);
	test_pair_free(&p);
	sx_tls_ctx_free(&sctx);
}

/* Bytes that are not TLS at all end the stream without any XML. */
static void test_garbage(void **state)
{
	struct test_pair p;
	struct sx_tls_ctx *sctx = test_tls_ctx(SX_SERVER, certs.server, NULL, 0, 0);
	char *out;

	test_pair_init(&p);
	assert_int_equal(sx_tls_direct(p.s.sx, sctx), 0);
	assert_int_equal(test_feed(&p.s, "GET / HTTP/1.1\r\nHost: example.org\r\n\r\n"), -1);
	assert_int_equal(p.s.closed, 1);
	assert_string_equal(p.s.close_cond, "undefined-condition");
	assert_non_null(strstr(p.s.close_text, "TLS"));
	out = test_drain(&p.s);
	assert_null(strstr(out, "stream"));
	free(out);
	test_pair_free(&p);
	sx_tls_ctx_free(&sctx);
}

static int tamper_on;

static void flip_last_byte(struct buf *b, void *arg)
{
	if (tamper_on && b->len > 0)
		b->data[b->len - 1] ^= 0x01;
}

/* A record that fails its integrity check ends the stream. */
static void test_tampered_record(void **state)
{
	struct tls_setup t;
	struct nad *nad;

	setup_starttls(&t, NULL, 0, 0, 0, NULL);
	t.p.tamper = flip_last_byte;
	tamper_on = 0;
	test_pair_open(&t.p);
	test_pair_pump(&t.p);
	assert_true(sx_flags(t.p.c.sx) & SX_F_ENCRYPTED);
	tamper_on = 1;
	nad = nad_new();
	nad_elem_add(nad, NAD_NONE, SX_NS_CLIENT, "presence");
	sx_send(t.p.s.sx, nad);
	test_pair_pump(&t.p);
	tamper_on = 0;
	assert_int_equal(t.p.c.closed, 1);
	assert_string_equal(t.p.c.close_cond, "undefined-condition");
	assert_string_not_equal(t.p.c.last_elem, "presence");
	test_pair_free(&t.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ctx_errors),
		cmocka_unit_test(test_starttls_13),
		cmocka_unit_test(test_starttls_12),
		cmocka_unit_test(test_starttls_bytewise),
		cmocka_unit_test(test_client_cert_required),
		cmocka_unit_test(test_client_cert_optional),
		cmocka_unit_test(test_server_name_check),
		cmocka_unit_test(test_channel_binding),
		cmocka_unit_test(test_channel_binding_known),
		cmocka_unit_test(test_direct_tls),
		cmocka_unit_test(test_sni),
		cmocka_unit_test(test_starttls_not_offered),
		cmocka_unit_test(test_starttls_twice),
		cmocka_unit_test(test_client_requires_tls),
		cmocka_unit_test(test_starttls_injection),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_tampered_record),
	};
	int rc;

	test_certs_make(&certs);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	test_certs_remove(&certs);
	return rc;
}
