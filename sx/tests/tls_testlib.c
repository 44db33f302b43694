/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tls_testlib: throwaway certificates and an in-memory client/server sx
 * pair for the TLS and SASL unit tests (see tls_testlib.h).
 */
#include "config.h"

#include "sx/tests/tls_testlib.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "sx/sx.h"
#include "util/buf.h"
#include "util/nad.h"

/* ---- certificates ---- */

struct issued {
	X509 *cert;
	EVP_PKEY *key;
};

static void die(const char *what)
{
	fprintf(stderr, "tls_testlib: %s failed\n", what);
	abort();
}

static void add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&v3, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_nconf_nid(NULL, &v3, nid, value);
	if (ext == NULL || X509_add_ext(cert, ext, -1) != 1)
		die(value);
	X509_EXTENSION_free(ext);
}

/* Issue a certificate for `cn` with subjectAltName `san` (NULL for a CA),
 * signed by `ca` (NULL: self-signed). */
static struct issued issue(const char *cn, const char *san, const struct issued *ca)
{
	struct issued out;
	X509_NAME *name;
	unsigned char serial[8];
	BIGNUM *bn;

	out.key = EVP_EC_gen("P-256");
	out.cert = X509_new();
	if (out.key == NULL || out.cert == NULL)
		die("key");
	X509_set_version(out.cert, 2);
	RAND_bytes(serial, sizeof(serial));
	serial[0] &= 0x7f;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(out.cert));
	BN_free(bn);
	X509_gmtime_adj(X509_getm_notBefore(out.cert), -3600);
	X509_gmtime_adj(X509_getm_notAfter(out.cert), 86400);
	X509_set_pubkey(out.cert, out.key);
	name = X509_get_subject_name(out.cert);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(out.cert, ca != NULL ? X509_get_subject_name(ca->cert) : name);
	if (san == NULL) {
		add_ext(out.cert, out.cert, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(out.cert, out.cert, NID_key_usage, "critical,keyCertSign,cRLSign");
		add_ext(out.cert, out.cert, NID_subject_key_identifier, "hash");
	} else {
		add_ext(out.cert, ca->cert, NID_basic_constraints, "CA:FALSE");
		add_ext(out.cert, ca->cert, NID_ext_key_usage, "serverAuth,clientAuth");
		add_ext(out.cert, ca->cert, NID_subject_alt_name, san);
	}
	if (X509_sign(out.cert, ca != NULL ? ca->key : out.key, EVP_sha256()) == 0)
		die("sign");
	return out;
}

static void issued_free(struct issued *i)
{
	X509_free(i->cert);
	EVP_PKEY_free(i->key);
}

static void write_pem(const char *path, const struct issued *i, int with_key,
		      const char *password)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || PEM_write_X509(f, i->cert) != 1)
		die(path);
	if (with_key && PEM_write_PrivateKey(f, i->key, password ? EVP_aes_128_cbc() : NULL,
					     NULL, 0, NULL, (void *)password) != 1)
		die(path);
	fclose(f);
}

#define XMPP_SAN(jid, dns) "otherName:1.3.6.1.5.5.7.8.5;UTF8:" jid ",DNS:" dns

void test_certs_make(struct test_certs *c)
{
	struct issued ca, other, server, server2, client, rogue;

	memset(c, 0, sizeof(*c));
	snprintf(c->dir, sizeof(c->dir), "/tmp/sx-tls-test-XXXXXX");
	if (mkdtemp(c->dir) == NULL)
		die("mkdtemp");
	snprintf(c->ca, sizeof(c->ca), "%s/ca.pem", c->dir);
	snprintf(c->other_ca, sizeof(c->other_ca), "%s/other-ca.pem", c->dir);
	snprintf(c->server, sizeof(c->server), "%s/server.pem", c->dir);
	snprintf(c->server2, sizeof(c->server2), "%s/server2.pem", c->dir);
	snprintf(c->server_enc, sizeof(c->server_enc), "%s/server-enc.pem", c->dir);
	snprintf(c->client, sizeof(c->client), "%s/client.pem", c->dir);
	snprintf(c->rogue_client, sizeof(c->rogue_client), "%s/rogue.pem", c->dir);

	ca = issue("Test CA", NULL, NULL);
	other = issue("Other CA", NULL, NULL);
	server = issue("example.org", "DNS:example.org,DNS:localhost", &ca);
	server2 = issue("other.example.net", "DNS:other.example.net", &ca);
	client = issue("alice", XMPP_SAN("alice@example.org", "client.example.org"), &ca);
	rogue = issue("alice", XMPP_SAN("alice@example.org", "client.example.org"), &other);

	write_pem(c->ca, &ca, 0, NULL);
	write_pem(c->other_ca, &other, 0, NULL);
	write_pem(c->server, &server, 1, NULL);
	write_pem(c->server2, &server2, 1, NULL);
	write_pem(c->server_enc, &server, 1, "sekrit");
	write_pem(c->client, &client, 1, NULL);
	write_pem(c->rogue_client, &rogue, 1, NULL);
	issued_free(&ca);
	issued_free(&other);
	issued_free(&server);
	issued_free(&server2);
	issued_free(&client);
	issued_free(&rogue);
}

void test_certs_remove(struct test_certs *c)
{
	const char *files[] = { c->ca, c->other_ca, c->server, c->server2, c->server_enc,
				c->client, c->rogue_client };
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		unlink(files[i]);
	rmdir(c->dir);
}

struct sx_tls_ctx *test_tls_ctx(enum sx_type role, const char *pemfile, const char *cachain,
				int verify_mode, int max_version)
{
	struct sx_tls_config cfg = { 0 };
	const char *err = NULL;
	struct sx_tls_ctx *ctx;

	cfg.pemfile = pemfile;
	cfg.cachain = cachain;
	cfg.verify_mode = verify_mode;
	cfg.max_version = max_version;
	ctx = sx_tls_ctx_new(role, &cfg, &err);
	if (ctx == NULL) {
		fprintf(stderr, "tls ctx: %s\n", err);
		abort();
	}
	return ctx;
}

/* ---- the pair ---- */

static void cb_stream_open(struct sx *sx, const struct sx_header *hdr, void *ctx)
{
	struct test_peer *peer = ctx;
	struct nad *features;
	char *xml;

	peer->opened++;
	if (sx_type(sx) != SX_SERVER)
		return;
	{
		struct sx_header reply = { 0 };

		reply.ns = hdr->ns;
		reply.from = hdr->to;
		reply.version = "1.0";
		sx_open(sx, &reply);
	}
	features = sx_features_new(sx);
	xml = nad_to_string(features, NULL);
	buf_append_str(&peer->features_xml, xml);
	buf_append_char(&peer->features_xml, '\n');
	free(xml);
	sx_send(sx, features);
}

static void cb_element(struct sx *sx, struct nad *nad, void *ctx)
{
	struct test_peer *peer = ctx;
	const char *name = nad_name(nad, nad_root(nad));

	peer->elements++;
	snprintf(peer->last_elem, sizeof(peer->last_elem), "%s", name);
	if (strcmp(name, "features") == 0)
		peer->features_seen++;
	nad_free(&nad);
}

static void cb_closed(struct sx *sx, const char *cond, const char *text, void *ctx)
{
	struct test_peer *peer = ctx;

	peer->closed++;
	snprintf(peer->close_cond, sizeof(peer->close_cond), "%s", cond ? cond : "");
	snprintf(peer->close_text, sizeof(peer->close_text), "%s", text ? text : "");
}

static void client_open(struct sx *sx)
{
	struct sx_header hdr = { 0 };

	hdr.ns = SX_NS_CLIENT;
	hdr.to = "example.org";
	hdr.version = "1.0";
	sx_open(sx, &hdr);
}

static void cb_event(struct sx *sx, enum sx_event ev, const void *data, void *ctx)
{
	struct test_peer *peer = ctx;

	switch (ev) {
	case SX_EV_TLS_DONE:
		peer->tls_done++;
		break;
	case SX_EV_AUTH_OK:
		peer->auth_ok++;
		break;
	case SX_EV_AUTH_FAIL:
		peer->auth_fail++;
		snprintf(peer->fail_cond, sizeof(peer->fail_cond), "%s", (const char *)data);
		return;
	}
	if (peer->reopen && sx_type(sx) == SX_CLIENT && !(sx_flags(sx) & SX_F_CLOSED))
		client_open(sx);
}

static const struct sx_callbacks test_cb = {
	.stream_open = cb_stream_open,
	.element = cb_element,
	.closed = cb_closed,
	.event = cb_event,
};

void test_pair_init(struct test_pair *p)
{
	memset(p, 0, sizeof(*p));
	p->c.pair = p;
	p->s.pair = p;
	p->c.reopen = 1;
	p->c.sx = sx_new(SX_CLIENT, NULL, &test_cb, &p->c);
	p->s.sx = sx_new(SX_SERVER, NULL, &test_cb, &p->s);
	assert_non_null(p->c.sx);
	assert_non_null(p->s.sx);
}

void test_pair_free(struct test_pair *p)
{
	sx_free(&p->c.sx);
	sx_free(&p->s.sx);
	buf_free(&p->c.features_xml);
	buf_free(&p->s.features_xml);
	buf_free(&p->c.received);
	buf_free(&p->s.received);
}

void test_pair_open(struct test_pair *p)
{
	client_open(p->c.sx);
}

static void feed(struct test_peer *to, const char *data, size_t len, size_t chunk)
{
	size_t off = 0;

	buf_append(&to->received, data, len);
	while (off < len) {
		size_t n = chunk == 0 || len - off < chunk ? len - off : chunk;

		sx_input(to->sx, data + off, n);
		off += n;
	}
}

/* Move one side's pending output to the other. Returns bytes moved. */
static size_t transfer(struct test_pair *p, struct test_peer *from, struct test_peer *to)
{
	struct buf copy = { 0 };
	size_t len;
	const void *out = sx_output(from->sx, &len);

	if (len == 0)
		return 0;
	buf_append(&copy, out, len);
	sx_output_consumed(from->sx, len);
	if (from == &p->s && p->tamper != NULL)
		p->tamper(&copy, p->tamper_arg);
	feed(to, copy.data, copy.len, p->chunk);
	buf_free(&copy);
	return len;
}

int test_pair_pump(struct test_pair *p)
{
	int round;

	for (round = 0; round < 200; round++) {
		size_t moved = transfer(p, &p->c, &p->s);

		moved += transfer(p, &p->s, &p->c);
		if (moved == 0)
			return round;
	}
	fail_msg("the pair never settled");
	return -1;
}

int test_feed(struct test_peer *peer, const char *text)
{
	buf_append_str(&peer->received, text);
	return sx_input(peer->sx, text, strlen(text));
}

char *test_drain(struct test_peer *peer)
{
	size_t len;
	const void *out = sx_output(peer->sx, &len);
	char *s = xstrndup(out != NULL ? out : "", len);

	sx_output_consumed(peer->sx, len);
	return s;
}
