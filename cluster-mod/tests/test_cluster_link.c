/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_cluster_link.c: two or three link sets (cluster_link.c) in one
 * process on one mio loop, over loopback 127.0.0.2/.3, with certificates
 * made here with OpenSSL: both nodes dial each other at the same moment
 * and keep the same single link (the one the smaller name dialled); bytes
 * cross the seam both ways intact; sending is refused when the link is
 * not up or the output bound would be passed; stop() sends close_notify
 * and the peer sees the link go; the own-name check of the TLS context
 * and the certificate-name matcher.
 */
#include "config.h"
#include "cluster-mod/cluster_link.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "cluster-mod/cluster_config.h"
#include "cluster-mod/cluster_peer.h"
#include "cluster-mod/cluster_proto.h"
#include "cluster-mod/cluster_tls.h"
#include "util/buf.h"
#include "mio/mio.h"
#include "mio/tests/mio_test.h"

static char dir[64];

/* ---- certificates ---- */

static void add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v;
	X509_EXTENSION *ext;

	X509V3_set_ctx_nodb(&v);
	X509V3_set_ctx(&v, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v, nid, value);
	assert_non_null(ext);
	X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
}

/* A certificate for `cn` (also a DNS name unless dns is NULL), signed by
 * issuer/issuer_key, or self-signed CA when issuer is NULL. */
static X509 *cert_make(EVP_PKEY *key, const char *cn, const char *dns, X509 *issuer,
		       EVP_PKEY *issuer_key)
{
	static long serial = 1;
	X509 *x = X509_new();
	X509_NAME *name = X509_get_subject_name(x);
	char san[128];

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1,
				   -1, 0);
	X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : name);
	if (issuer == NULL) {
		add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		add_ext(x, issuer, NID_basic_constraints, "CA:FALSE");
		if (dns != NULL) {
			snprintf(san, sizeof(san), "DNS:%s", dns);
			add_ext(x, issuer, NID_subject_alt_name, san);
		}
	}
	assert_true(X509_sign(x, issuer_key != NULL ? issuer_key : key, EVP_sha256()) > 0);
	return x;
}

static void pem_write(const char *file, X509 *cert, EVP_PKEY *key)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "w");
	assert_non_null(f);
	PEM_write_X509(f, cert);
	if (key != NULL)
		PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	fclose(f);
}

/* ca.pem; n1.pem, n2.pem (CN and DNS = name); n1-cn.pem (CN only);
 * n9-as-n1.pem (a certificate for n9 the test tries to start n1 with). */
static int setup_certs(void **state)
{
	EVP_PKEY *cakey = EVP_EC_gen("P-256");
	X509 *ca = cert_make(cakey, "Cluster CA", NULL, NULL, NULL);
	static const char *const nodes[][3] = {
		{ "n1", "n1", "n1.pem" }, { "n2", "n2", "n2.pem" },
		{ "n1", NULL, "n1-cn.pem" }, { "n9", "n9", "n9-as-n1.pem" },
		{ "Node One", "n1", "n1-dns.pem" },
	};

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_cluster_link.XXXXXX");
	assert_non_null(mkdtemp(dir));
	pem_write("ca.pem", ca, NULL);
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		EVP_PKEY *key = EVP_EC_gen("P-256");
		X509 *x = cert_make(key, nodes[i][0], nodes[i][1], ca, cakey);

		pem_write(nodes[i][2], x, key);
		X509_free(x);
		EVP_PKEY_free(key);
	}
	X509_free(ca);
	EVP_PKEY_free(cakey);
	return 0;
}

static int teardown_certs(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *path_of(const char *file)
{
	static char paths[8][128];
	static unsigned next;
	char *p = paths[next++ % 8];

	snprintf(p, 128, "%s/%s", dir, file);
	return p;
}

/* ---- nodes in one process ---- */

struct side {
	struct cluster_config cc;
	struct cluster_peer_config peer;
	struct cluster_links *links;
	struct cluster_link *link;      /* up, or NULL */
	int ups, downs;
	char down_reason[128];
	char *got;
	size_t got_len, got_cap;
	int stopped;
	int drained;
};

static void on_up(struct cluster_link *link, const char *peer, void *ctx)
{
	struct side *s = ctx;

	(void)peer;
	s->link = link;
	s->ups++;
}

static void on_bytes(struct cluster_link *link, const void *data, size_t len, void *ctx)
{
	struct side *s = ctx;

	(void)link;
	/* Doubling: a peer's several MB (test_peer_drain_after_full_output)
	 * copied again at every read took longer than the heartbeat timeout
	 * under ASan, whose realloc always moves. */
	if (s->got_len + len > s->got_cap) {
		size_t cap = s->got_cap ? s->got_cap : 4096;

		while (cap < s->got_len + len)
			cap *= 2;
		s->got = realloc(s->got, cap);
		assert_non_null(s->got);
		s->got_cap = cap;
	}
	memcpy(s->got + s->got_len, data, len);
	s->got_len += len;
}

static void on_down(struct cluster_link *link, const char *peer, const char *reason,
		    void *ctx)
{
	struct side *s = ctx;

	(void)peer;
	if (s->link == link)
		s->link = NULL;
	s->downs++;
	snprintf(s->down_reason, sizeof(s->down_reason), "%s", reason);
}

static void on_drain(struct cluster_link *link, void *ctx)
{
	(void)link;
	((struct side *)ctx)->drained++;
}

static const struct cluster_link_callbacks cb = {
	.on_up = on_up, .on_bytes = on_bytes, .on_down = on_down, .on_drain = on_drain,
};

static int drained(void *arg)
{
	return ((struct side *)arg)->drained > 0;
}

static void side_init(struct side *s, const char *node, const char *ip, int port,
		      const char *peer, const char *peer_ip, int peer_port)
{
	memset(s, 0, sizeof(*s));
	s->cc.node = (char *)node;
	s->cc.ip = (char *)ip;
	s->cc.port = port;
	s->cc.cachain = (char *)path_of("ca.pem");
	s->peer.name = (char *)peer;
	s->peer.ip = (char *)peer_ip;
	s->peer.port = peer_port;
	s->cc.peers = &s->peer;
	s->cc.npeers = 1;
}

static void side_start(struct side *s, struct mio *mio, const char *pem)
{
	const char *error = NULL, *element;
	SSL_CTX *ctx = cluster_tls_ctx_new(pem, s->cc.cachain, s->cc.node, &element, &error);

	if (ctx == NULL)
		fail_msg("tls: %s", error);
	s->links = cluster_links_new(mio, &s->cc, ctx, &cb, s, &error);
	if (s->links == NULL)
		fail_msg("links: %s", error);
}

struct pair {
	struct mio *mio;
	struct side a, b;
};

static int both_up(void *arg)
{
	struct pair *p = arg;

	return p->a.link != NULL && p->b.link != NULL;
}

static void pair_start(struct pair *p)
{
	const char *error;
	int pa = mio_test_free_port("127.0.0.2"), pb = mio_test_free_port("127.0.0.3");

	p->mio = mio_new(&error);
	assert_non_null(p->mio);
	side_init(&p->a, "n1", "127.0.0.2", pa, "n2", "127.0.0.3", pb);
	side_init(&p->b, "n2", "127.0.0.3", pb, "n1", "127.0.0.2", pa);
	/* Both made before the loop runs: both dial at its first turn. */
	side_start(&p->a, p->mio, path_of("n1.pem"));
	side_start(&p->b, p->mio, path_of("n2.pem"));
	assert_true(mio_test_run_until(p->mio, both_up, p, 5000));
	/* Let the duplicate of the simultaneous dial be settled. */
	mio_test_run_until(p->mio, NULL, NULL, 300);
	assert_true(both_up(p));
}

static void pair_free(struct pair *p)
{
	cluster_links_free(&p->a.links);
	cluster_links_free(&p->b.links);
	mio_free(&p->mio);
	free(p->a.got);
	free(p->b.got);
}

static void test_simultaneous_dial_keeps_one_link(void **state)
{
	struct pair p;
	struct cluster_peer_status sa, sb;

	(void)state;
	pair_start(&p);
	cluster_links_peer_status(p.a.links, 0, &sa);
	cluster_links_peer_status(p.b.links, 0, &sb);
	assert_int_equal(sa.state, CLUSTER_LINK_UP);
	assert_int_equal(sb.state, CLUSTER_LINK_UP);
	/* Both dialled, both saw the second link and dropped the same one:
	 * what stays is n1's dial (n1 < n2). */
	assert_true(sa.duplicates + sb.duplicates >= 1);
	assert_int_equal(sa.outgoing, 1);
	assert_int_equal(sb.outgoing, 0);
	/* n1 never lost its link; n2 at most swapped its own dial for n1's
	 * once; and it stays so. */
	assert_int_equal(p.a.downs, 0);
	assert_int_equal(sa.ups, 1);
	assert_true(p.b.downs <= 1);
	{
		struct cluster_link *la = p.a.link, *lb = p.b.link;

		mio_test_run_until(p.mio, NULL, NULL, 500);
		assert_ptr_equal(p.a.link, la);
		assert_ptr_equal(p.b.link, lb);
		assert_int_equal(p.a.downs, 0);
	}
	/* n1 dialled n2's listener from its own <ip>. */
	{
		char want[64];

		snprintf(want, sizeof(want), "127.0.0.3:%d", p.b.cc.port);
		assert_string_equal(sa.remote, want);
		assert_memory_equal(sb.remote, "127.0.0.2:", 10);
	}
	pair_free(&p);
}

static int got_all(void *arg)
{
	struct side *s = arg;

	return s->got_len >= 200000;
}

static int got_pong(void *arg)
{
	struct side *s = arg;

	return s->got_len >= 4;
}

static void test_bytes_cross_the_seam(void **state)
{
	struct pair p;
	static unsigned char big[200000];
	struct cluster_peer_status st;

	(void)state;
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (unsigned char)(i * 7 + i / 251);
	pair_start(&p);
	/* In pieces of odd sizes, as frames would go. */
	for (size_t off = 0; off < sizeof(big);) {
		size_t n = sizeof(big) - off < 9973 ? sizeof(big) - off : 9973;

		assert_true(cluster_link_send(p.a.link, big + off, n) >= 0);
		off += n;
	}
	assert_true(mio_test_run_until(p.mio, got_all, &p.b, 5000));
	assert_int_equal(p.b.got_len, sizeof(big));
	assert_memory_equal(p.b.got, big, sizeof(big));
	assert_int_equal(cluster_link_send(p.b.link, "pong", 4), 0);
	assert_true(mio_test_run_until(p.mio, got_pong, &p.a, 5000));
	assert_memory_equal(p.a.got, "pong", 4);
	cluster_links_peer_status(p.a.links, 0, &st);
	assert_int_equal(st.bytes_out, sizeof(big));
	assert_int_equal(st.bytes_in, 4);
	/* Back-pressure: sending faster than the loop writes reports 1, and
	 * on_drain follows once the queue has gone down. */
	{
		static char chunk[65536];
		int rc = 0;

		for (int i = 0; i < 1000 && rc == 0; i++)
			rc = cluster_link_send(p.a.link, chunk, sizeof(chunk));
		assert_int_equal(rc, 1);
		assert_true(mio_test_run_until(p.mio, drained, &p.a, 5000));
	}
	/* More than the output bound at once is refused, not queued. */
	{
		size_t huge = CLUSTER_LINK_MAX_OUT + 1;
		char *buf = calloc(1, huge);

		assert_non_null(buf);
		assert_int_equal(cluster_link_send(p.a.link, buf, huge), -1);
		free(buf);
	}
	pair_free(&p);
}

static void on_stopped(void *arg)
{
	*(int *)arg = 1;
}

static int down_and_stopped(void *arg)
{
	struct pair *p = arg;

	return p->a.stopped && p->b.downs > 0;
}

static void test_stop_says_close_notify(void **state)
{
	struct pair p;
	struct cluster_peer_status st;

	(void)state;
	pair_start(&p);
	assert_int_equal(cluster_links_stop(p.a.links, on_stopped, &p.a.stopped), 1);
	assert_true(mio_test_run_until(p.mio, down_and_stopped, &p, 3000));
	assert_string_equal(p.b.down_reason, "closed by the peer");
	assert_null(p.b.link);
	/* n2 redials with backoff; n1 no longer listens or dials. */
	mio_test_run_until(p.mio, NULL, NULL, 400);
	cluster_links_peer_status(p.b.links, 0, &st);
	assert_int_not_equal(st.state, CLUSTER_LINK_UP);
	assert_non_null(strstr(st.last_error, "connect"));
	pair_free(&p);
}

static void test_own_name_checked(void **state)
{
	const char *error = NULL, *element = NULL;
	SSL_CTX *ctx;

	(void)state;
	ctx = cluster_tls_ctx_new(path_of("n9-as-n1.pem"), path_of("ca.pem"), "n1", &element,
				  &error);
	assert_null(ctx);
	assert_string_equal(element, "pemfile");
	assert_non_null(strstr(error, "does not carry this node's name 'n1'"));
	assert_non_null(strstr(error, "CN 'n9', DNS 'n9'"));
	/* The CN alone, or a DNS name alone, is enough. */
	ctx = cluster_tls_ctx_new(path_of("n1-cn.pem"), path_of("ca.pem"), "n1", &element,
				  &error);
	assert_non_null(ctx);
	SSL_CTX_free(ctx);
	ctx = cluster_tls_ctx_new(path_of("n1-dns.pem"), path_of("ca.pem"), "n1", &element,
				  &error);
	assert_non_null(ctx);
	SSL_CTX_free(ctx);
	/* Missing files name their element. */
	ctx = cluster_tls_ctx_new(path_of("nope.pem"), path_of("ca.pem"), "n1", &element,
				  &error);
	assert_null(ctx);
	assert_string_equal(element, "pemfile");
	assert_non_null(strstr(error, "nope.pem"));
	ctx = cluster_tls_ctx_new(path_of("n1.pem"), path_of("nope-ca.pem"), "n1", &element,
				  &error);
	assert_null(ctx);
	assert_string_equal(element, "cachain");
	assert_non_null(strstr(error, "nope-ca.pem"));
}

/* ---- the protocol layer (cluster_peer.c) against a raw link ---- */

struct raw_pair {
	struct mio *mio;
	struct side a;                  /* cluster_peers, n1, listens only */
	struct side b;                  /* raw links, n2, dials n1 */
	struct cluster_peers *peers;
	char *domain;
};

/* The first whole frame in what b received, decoded (version 0). */
static int raw_frame(struct side *b, size_t skip, struct cluster_frame *f)
{
	size_t len = 0;
	const char *error;

	if (b->got_len <= skip ||
	    cluster_frame_scan(b->got + skip, b->got_len - skip, &len, &error) !=
	    CLUSTER_SCAN_FRAME)
		return -1;
	assert_int_equal(cluster_frame_decode(b->got + skip, len, 0, f, &error), 0);
	return (int)len;
}

static int b_up(void *arg)
{
	return ((struct side *)arg)->link != NULL;
}

static int b_down_with_bytes(void *arg)
{
	struct side *b = arg;

	return b->downs > 0 && b->got_len > 0;
}

static void raw_start(struct raw_pair *p, const struct cluster_peer_hooks *hooks, void *ctx)
{
	const char *error, *element;
	int pa = mio_test_free_port("127.0.0.2"), pb = mio_test_free_port("127.0.0.3");
	SSL_CTX *tls;

	memset(p, 0, sizeof(*p));
	p->mio = mio_new(&error);
	side_init(&p->a, "n1", "127.0.0.2", pa, "n2", "127.0.0.3", pb);
	p->a.cc.npeers = 0;
	p->domain = (char *)"example.org";
	p->a.cc.domains = &p->domain;
	p->a.cc.ndomains = 1;
	side_init(&p->b, "n2", "127.0.0.3", pb, "n1", "127.0.0.2", pa);
	tls = cluster_tls_ctx_new(path_of("n1.pem"), p->a.cc.cachain, "n1", &element, &error);
	assert_non_null(tls);
	p->peers = cluster_peers_new(p->mio, &p->a.cc, tls, hooks, ctx, &error);
	assert_non_null(p->peers);
	side_start(&p->b, p->mio, path_of("n2.pem"));
	assert_true(mio_test_run_until(p->mio, b_up, &p->b, 5000));
}

static void raw_free(struct raw_pair *p)
{
	cluster_peers_free(&p->peers);
	cluster_links_free(&p->b.links);
	mio_free(&p->mio);
	free(p->b.got);
}

static void raw_send_hello(struct raw_pair *p, const char *node, const char *domain)
{
	struct cluster_frame f = { .version = 0, .type = CLUSTER_FRAME_HELLO };
	struct cluster_bytes dom = cluster_bytes_str(domain);
	struct buf out = { 0 };
	const char *error;

	f.u.hello.version_min = 1;
	f.u.hello.version_max = 1;
	f.u.hello.incarnation = 7;
	f.u.hello.node = cluster_bytes_str(node);
	f.u.hello.ip = cluster_bytes_str("127.0.0.3");
	f.u.hello.port = (uint16_t)p->b.cc.port;
	f.u.hello.ndomains = 1;
	f.u.hello.domains = &dom;
	assert_int_equal(cluster_frame_encode(&f, &out, &error), 0);
	assert_int_equal(cluster_link_send(p->b.link, out.data, out.len), 0);
	buf_free(&out);
}

/* A HELLO that names another node than the certificate, or other
 * domains, gets HELLO_ACK with the refusal and the link closes. */
static void test_hello_refusals(void **state)
{
	static const struct {
		const char *node, *domain;
		uint8_t result;
	} cases[] = {
		{ "n7", "example.org", CLUSTER_HELLO_REFUSE_NAME },
		{ "n2", "example.net", CLUSTER_HELLO_REFUSE_DOMAINS },
		{ "n2", "example.org", CLUSTER_HELLO_OK },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct raw_pair p;
		struct cluster_frame f;

		raw_start(&p, NULL, NULL);
		raw_send_hello(&p, cases[i].node, cases[i].domain);
		if (cases[i].result != CLUSTER_HELLO_OK) {
			assert_true(mio_test_run_until(p.mio, b_down_with_bytes, &p.b, 3000));
		} else {
			assert_true(mio_test_run_until(p.mio, got_pong, &p.b, 3000));
			mio_test_run_until(p.mio, NULL, NULL, 100);
			assert_int_equal(p.b.downs, 0);
			assert_int_equal(cluster_peers_open(p.peers), 1);
		}
		assert_true(raw_frame(&p.b, 0, &f) > 0);
		assert_int_equal(f.type, CLUSTER_FRAME_HELLO_ACK);
		assert_int_equal(f.u.hello_ack.result, cases[i].result);
		assert_int_equal(f.u.hello_ack.version, cases[i].result == 0 ? 1 : 0);
		cluster_frame_clear(&f);
		raw_free(&p);
	}
}

static void on_peer_drain(const char *peer, void *ctx)
{
	snprintf(ctx, CLUSTER_NODE_NAME_MAX + 1, "%s", peer);
}

static int peer_drained(void *arg)
{
	return ((const char *)arg)[0] != '\0';
}

/* i13-resync3: a peer's link that refused a frame (its output full)
 * says so once it has drained (the hook that sends the rest of a
 * snapshot), naming the peer. */
static void test_peer_drain_after_full_output(void **state)
{
	static const struct cluster_peer_hooks hooks = { .on_drain = on_peer_drain };
	static char jid[201];
	char drained_peer[CLUSTER_NODE_NAME_MAX + 1] = "";
	struct cluster_frame f = { .version = 1, .type = CLUSTER_FRAME_STATE_DELTA };
	struct cluster_entry *ents = calloc(4096, sizeof(*ents));
	struct raw_pair p;
	int sent = 0;

	(void)state;
	assert_non_null(ents);
	memset(jid, 'r', sizeof(jid) - 1);
	memcpy(jid, "u@example.org/", 14);
	for (int i = 0; i < 4096; i++)
		ents[i] = (struct cluster_entry){ .op = CLUSTER_OP_SESSION_ADD,
						  .name = cluster_bytes_str(jid) };
	f.u.delta.origin = cluster_bytes_str("n1");
	f.u.delta.incarnation = 1;
	f.u.delta.first_seq = 1;
	f.u.delta.entries = ents;
	f.u.delta.nentries = 4096;
	raw_start(&p, &hooks, drained_peer);
	raw_send_hello(&p, "n2", "example.org");
	assert_true(mio_test_run_until(p.mio, got_pong, &p.b, 3000));
	mio_test_run_until(p.mio, NULL, NULL, 100);
	assert_int_equal(cluster_peers_open(p.peers), 1);
	/* without the loop running, the link's output fills and refuses */
	while (sent < 64 && cluster_peers_send(p.peers, "n2", &f) == 1)
		sent++;
	assert_true(sent > 0 && sent < 64);
	assert_string_equal(drained_peer, "");
	assert_true(mio_test_run_until(p.mio, peer_drained, drained_peer, 5000));
	assert_string_equal(drained_peer, "n2");
	assert_int_equal(p.b.downs, 0);
	raw_free(&p);
	free(ents);
}

/* Bytes that are no frame end the link with BYE(protocol error). */
static void test_garbage_gets_bye(void **state)
{
	struct raw_pair p;
	struct cluster_frame f;
	int len;

	(void)state;
	raw_start(&p, NULL, NULL);
	raw_send_hello(&p, "n2", "example.org");
	assert_true(mio_test_run_until(p.mio, got_pong, &p.b, 3000));
	assert_int_equal(cluster_link_send(p.b.link, "GET / HTTP/1.0\r\n\r\n", 18), 0);
	assert_true(mio_test_run_until(p.mio, b_down_with_bytes, &p.b, 3000));
	len = raw_frame(&p.b, 0, &f);          /* HELLO_ACK */
	assert_true(len > 0);
	cluster_frame_clear(&f);
	/* Then BYE (PINGs may come between, at most one a second). */
	for (size_t off = (size_t)len;;) {
		size_t flen = 0;
		const char *error;

		assert_int_equal(cluster_frame_scan(p.b.got + off, p.b.got_len - off, &flen,
						    &error), CLUSTER_SCAN_FRAME);
		assert_int_equal(cluster_frame_decode(p.b.got + off, flen, 1, &f, &error), 0);
		if (f.type == CLUSTER_FRAME_BYE)
			break;
		cluster_frame_clear(&f);
		off += flen;
	}
	assert_int_equal(f.u.bye.reason, CLUSTER_BYE_PROTOCOL_ERROR);
	cluster_frame_clear(&f);
	assert_int_equal(cluster_peers_open(p.peers), 0);
	raw_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_own_name_checked),
		cmocka_unit_test(test_simultaneous_dial_keeps_one_link),
		cmocka_unit_test(test_bytes_cross_the_seam),
		cmocka_unit_test(test_stop_says_close_notify),
		cmocka_unit_test(test_hello_refusals),
		cmocka_unit_test(test_garbage_gets_bye),
		cmocka_unit_test(test_peer_drain_after_full_output),
	};

	return cmocka_run_group_tests(tests, setup_certs, teardown_certs);
}
