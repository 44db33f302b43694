/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for sx/sasl.c: every mechanism's success and failure between
 * an in-memory client and server sx (SCRAM with a plaintext store and with
 * stored keys only, SCRAM-PLUS over tls-exporter and tls-unique, channel
 * binding mismatch, PLAIN, DIGEST-MD5, ANONYMOUS, EXTERNAL), what the
 * server offers in each state, the failure conditions of malformed
 * input, abort, retry, a replayed SCRAM message, a server whose final
 * message does not verify, jabberd2's DIGEST-MD5 component exchange, and
 * the SCRAM key helper against an independent computation.
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
#include <gsasl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/ssl.h>

#include "sx/tests/tls_testlib.h"
#include "util/buf.h"
#include "util/nad.h"

static struct test_certs certs;

#define NS_SASL_Q "xmlns='urn:ietf:params:xml:ns:xmpp-sasl'"

/* ---- the owner's credential store ---- */

enum store_mode { STORE_PLAIN, STORE_KEYS, STORE_ERROR };

static const unsigned char store_salt[] = "NaCl-for-alice";

static struct {
	enum store_mode mode;
	const char *user;
	const char *password;
	int use_check_password;
	int lookups;
	char last_realm[64];
} store;

static void store_reset(enum store_mode mode)
{
	memset(&store, 0, sizeof(store));
	store.mode = mode;
	store.user = "alice";
	store.password = "wonderland";
}

static int keys_for(const char *hash, const char *password, struct sx_sasl_secret *secret)
{
	const char *err = NULL;

	memcpy(secret->salt, store_salt, sizeof(store_salt) - 1);
	secret->salt_len = sizeof(store_salt) - 1;
	secret->iter = 4096;
	if (sx_sasl_scram_hash(hash, password, secret->salt, secret->salt_len, secret->iter,
			       secret->stored_key, secret->server_key, &secret->key_len,
			       &err) < 0)
		fail_msg("scram hash: %s", err);
	return SX_SASL_OK;
}

static int cb_lookup(struct sx *sx, const char *mech, const char *hash, const char *authcid,
		     const char *realm, struct sx_sasl_secret *secret)
{
	store.lookups++;
	snprintf(store.last_realm, sizeof(store.last_realm), "%s", realm ? realm : "");
	if (store.mode == STORE_ERROR)
		return SX_SASL_ERROR;
	if (strcmp(authcid, store.user) != 0)
		return SX_SASL_FAIL;
	if (store.mode == STORE_PLAIN) {
		secret->password = xstrdup(store.password);
		return SX_SASL_OK;
	}
	/* Hashed storage: SCRAM keys only, nothing for other mechanisms. */
	return hash != NULL ? keys_for(hash, store.password, secret) : SX_SASL_FAIL;
}

/* PLAIN against hashed storage: derive keys from what the client sent
 * and compare with the stored ones. */
static int cb_check_password(struct sx *sx, const char *authcid, const char *realm,
			     const char *password)
{
	struct sx_sasl_secret want = { 0 }, got = { 0 };

	if (store.mode == STORE_ERROR)
		return SX_SASL_ERROR;
	if (strcmp(authcid, store.user) != 0)
		return SX_SASL_FAIL;
	keys_for("SHA-256", store.password, &want);
	keys_for("SHA-256", password, &got);
	return memcmp(want.stored_key, got.stored_key, want.key_len) == 0 ? SX_SASL_OK
									   : SX_SASL_FAIL;
}

/* alice may act as alice@example.org; nobody as admin@example.org. The
 * certificate name alice@example.org may log in with EXTERNAL. */
static int cb_authorize(struct sx *sx, const char *mech, const char *authcid,
			const char *authzid, const char *realm)
{
	if (strcmp(mech, "ANONYMOUS") == 0)
		return SX_SASL_OK;
	if (authcid == NULL)
		return SX_SASL_FAIL;
	if (authzid == NULL)
		return SX_SASL_OK;
	if (strcmp(authzid, "alice@example.org") == 0 &&
	    (strcmp(authcid, "alice") == 0 || strcmp(authcid, "alice@example.org") == 0))
		return SX_SASL_OK;
	return SX_SASL_FAIL;
}

static const struct sx_sasl_callbacks server_cb = {
	.lookup = cb_lookup,
	.check_password = cb_check_password,
	.authorize = cb_authorize,
};

static const struct sx_sasl_callbacks server_cb_no_check = {
	.lookup = cb_lookup,
	.authorize = cb_authorize,
};

/* No authorize callback: sx's default rule applies. */
static const struct sx_sasl_callbacks server_cb_lookup_only = {
	.lookup = cb_lookup,
};

/* ---- a client/server pair with TLS and SASL ---- */

struct opts {
	int tls;                /* 0, 12 (TLS 1.2) or 13 */
	int client_cert;
	int allow_unencrypted;
	unsigned smechs;        /* 0 = all */
	unsigned cmechs;        /* 0 = all */
	const char *realm;
	int check_password;
	int no_client_sasl;     /* features go to the client owner */
	int tls_required;
	int default_authorize;
	unsigned scram_iter;
	/* client */
	const char *mech;
	const char *user, *password, *authzid;
	int cb_bad;
};

static struct sx_sasl_ctx *sasl_ctx(unsigned mechs, int allow, const char *realm,
				    const struct sx_sasl_callbacks *cb, unsigned iter)
{
	struct sx_sasl_config cfg = { 0 };
	const char *err = NULL;
	struct sx_sasl_ctx *ctx;

	cfg.mechs = mechs != 0 ? mechs : 0xff;
	cfg.allow_unencrypted = allow;
	cfg.realm = realm;
	cfg.cb = cb;
	cfg.scram_iter = iter;
	ctx = sx_sasl_ctx_new(&cfg, &err);
	if (ctx == NULL)
		fail_msg("sasl ctx: %s", err);
	return ctx;
}

static void attach_tls(struct test_pair *p, const struct opts *o)
{
	int max = o->tls == 12 ? TLS1_2_VERSION : 0;
	struct sx_tls_ctx *s, *c;

	s = test_tls_ctx(SX_SERVER, certs.server, o->client_cert ? certs.ca : NULL,
			 o->client_cert ? 1 : 0, 0);
	c = test_tls_ctx(SX_CLIENT, o->client_cert ? certs.client : NULL, certs.ca, 0, max);
	assert_int_equal(sx_tls_starttls(p->s.sx, s, o->tls_required), 0);
	assert_int_equal(sx_tls_starttls(p->c.sx, c, 0), 0);
	sx_tls_ctx_free(&s);
	sx_tls_ctx_free(&c);
}

static void pair_setup(struct test_pair *p, const struct opts *o)
{
	static const unsigned char bad_cb[32] = { 'x', 'x', 'x' };
	struct sx_sasl_client_params params = { 0 };
	struct sx_sasl_ctx *s, *c;

	test_pair_init(p);
	if (o->tls != 0)
		attach_tls(p, o);
	s = sasl_ctx(o->smechs, o->allow_unencrypted, o->realm ? o->realm : "example.org",
		     o->default_authorize ? &server_cb_lookup_only
		     : o->check_password ? &server_cb : &server_cb_no_check, o->scram_iter);
	assert_int_equal(sx_sasl_server(p->s.sx, s, NULL), 0);
	assert_int_equal(sx_sasl_server(p->s.sx, s, NULL), -1);
	sx_sasl_ctx_free(&s);
	if (o->no_client_sasl)
		return;
	c = sasl_ctx(o->cmechs, o->allow_unencrypted, NULL, NULL, 0);
	params.mechanism = o->mech;
	params.authcid = o->user;
	params.password = o->password;
	params.authzid = o->authzid;
	params.hostname = "example.org";
	if (o->cb_bad) {
		params.cb_override = bad_cb;
		params.cb_override_len = o->tls == 12 ? 12 : 32;
	}
	assert_int_equal(sx_sasl_client(p->c.sx, c, &params), 0);
	sx_sasl_ctx_free(&c);
}

static void check_traffic(struct test_pair *p)
{
	struct nad *nad = nad_new();

	nad_elem_add(nad, NAD_NONE, SX_NS_CLIENT, "iq");
	sx_send(p->c.sx, nad);
	test_pair_pump(p);
	assert_string_equal(p->s.last_elem, "iq");
}

/* ---- every mechanism, success and failure ---- */

struct sasl_case {
	const char *name;
	struct opts o;
	enum store_mode store;
	const char *want_mech;  /* NULL: failure expected */
	const char *want_cond;
	const char *want_authcid;
	const char *want_authzid;
};

#define ALICE .user = "alice", .password = "wonderland"
#define WRONG .user = "alice", .password = "looking-glass"

static const struct sasl_case sasl_cases[] = {
	{ "scram-sha-256", { ALICE }, STORE_PLAIN, "SCRAM-SHA-256", NULL, "alice", NULL },
	{ "scram-sha-1", { ALICE, .mech = "SCRAM-SHA-1" }, STORE_PLAIN, "SCRAM-SHA-1", NULL,
	  "alice", NULL },
	{ "scram-sha-256 wrong", { WRONG }, STORE_PLAIN, NULL, "not-authorized", NULL, NULL },
	{ "scram-sha-1 wrong", { WRONG, .mech = "SCRAM-SHA-1" }, STORE_PLAIN, NULL,
	  "not-authorized", NULL, NULL },
	{ "scram-sha-256 keys", { ALICE }, STORE_KEYS, "SCRAM-SHA-256", NULL, "alice", NULL },
	{ "scram-sha-1 keys", { ALICE, .mech = "SCRAM-SHA-1" }, STORE_KEYS, "SCRAM-SHA-1", NULL,
	  "alice", NULL },
	{ "scram keys wrong", { WRONG }, STORE_KEYS, NULL, "not-authorized", NULL, NULL },
	{ "scram unknown user", { .user = "bob", .password = "wonderland" }, STORE_PLAIN, NULL,
	  "not-authorized", NULL, NULL },
	{ "scram backend down", { ALICE }, STORE_ERROR, NULL, "temporary-auth-failure", NULL,
	  NULL },
	{ "plus 1.3", { ALICE, .tls = 13 }, STORE_PLAIN, "SCRAM-SHA-256-PLUS", NULL, "alice",
	  NULL },
	{ "sha-1-plus 1.3", { ALICE, .tls = 13, .mech = "SCRAM-SHA-1-PLUS" }, STORE_PLAIN,
	  "SCRAM-SHA-1-PLUS", NULL, "alice", NULL },
	{ "plus 1.2", { ALICE, .tls = 12 }, STORE_PLAIN, "SCRAM-SHA-256-PLUS", NULL, "alice",
	  NULL },
	{ "sha-1-plus 1.2", { ALICE, .tls = 12, .mech = "SCRAM-SHA-1-PLUS" }, STORE_KEYS,
	  "SCRAM-SHA-1-PLUS", NULL, "alice", NULL },
	{ "plus keys 1.3", { ALICE, .tls = 13 }, STORE_KEYS, "SCRAM-SHA-256-PLUS", NULL, "alice",
	  NULL },
	{ "plus wrong", { WRONG, .tls = 13 }, STORE_PLAIN, NULL, "not-authorized", NULL, NULL },
	{ "plus cb mismatch 1.3", { ALICE, .tls = 13, .cb_bad = 1 }, STORE_PLAIN, NULL,
	  "not-authorized", NULL, NULL },
	{ "plus cb mismatch 1.2", { ALICE, .tls = 12, .cb_bad = 1 }, STORE_PLAIN, NULL,
	  "not-authorized", NULL, NULL },
	/* Plain SCRAM over TLS while the server offers -PLUS: the client
	 * says "n", which the server accepts. */
	{ "scram over tls", { ALICE, .tls = 13, .mech = "SCRAM-SHA-256" }, STORE_PLAIN,
	  "SCRAM-SHA-256", NULL, "alice", NULL },
	{ "plain tls", { ALICE, .tls = 13, .mech = "PLAIN" }, STORE_PLAIN, "PLAIN", NULL,
	  "alice", NULL },
	{ "plain tls wrong", { WRONG, .tls = 13, .mech = "PLAIN" }, STORE_PLAIN, NULL,
	  "not-authorized", NULL, NULL },
	{ "plain unencrypted allowed", { ALICE, .allow_unencrypted = 1, .mech = "PLAIN" },
	  STORE_PLAIN, "PLAIN", NULL, "alice", NULL },
	{ "plain hashed store", { ALICE, .tls = 12, .mech = "PLAIN", .check_password = 1 },
	  STORE_KEYS, "PLAIN", NULL, "alice", NULL },
	{ "plain hashed store wrong", { WRONG, .tls = 12, .mech = "PLAIN", .check_password = 1 },
	  STORE_KEYS, NULL, "not-authorized", NULL, NULL },
	{ "plain backend down", { ALICE, .tls = 13, .mech = "PLAIN", .check_password = 1 },
	  STORE_ERROR, NULL, "temporary-auth-failure", NULL, NULL },
	{ "digest-md5", { ALICE, .allow_unencrypted = 1, .mech = "DIGEST-MD5",
	  .realm = "jabberd-router" }, STORE_PLAIN, "DIGEST-MD5", NULL, "alice", NULL },
	{ "digest-md5 wrong", { WRONG, .allow_unencrypted = 1, .mech = "DIGEST-MD5",
	  .realm = "jabberd-router" }, STORE_PLAIN, NULL, "not-authorized", NULL, NULL },
	{ "digest-md5 tls", { ALICE, .tls = 13, .mech = "DIGEST-MD5" }, STORE_PLAIN,
	  "DIGEST-MD5", NULL, "alice", NULL },
	{ "anonymous", { .mech = NULL }, STORE_PLAIN, "ANONYMOUS", NULL, NULL, NULL },
	{ "external", { .tls = 13, .client_cert = 1 }, STORE_PLAIN, "EXTERNAL", NULL,
	  "alice@example.org", NULL },
	{ "external authzid", { .tls = 12, .client_cert = 1, .authzid = "alice@example.org" },
	  STORE_PLAIN, "EXTERNAL", NULL, "alice@example.org", "alice@example.org" },
	{ "authzid allowed", { ALICE, .authzid = "alice@example.org" }, STORE_PLAIN,
	  "SCRAM-SHA-256", NULL, "alice", "alice@example.org" },
	{ "authzid refused", { ALICE, .authzid = "admin@example.org" }, STORE_PLAIN, NULL,
	  "invalid-authzid", NULL, NULL },
	{ "plain authzid refused", { ALICE, .tls = 13, .mech = "PLAIN",
	  .authzid = "admin@example.org" }, STORE_PLAIN, NULL, "invalid-authzid", NULL, NULL },
	/* A server that does not offer -PLUS on TLS. */
	{ "scram tls no plus", { ALICE, .tls = 13, .smechs = SX_SASL_SCRAM_SHA_256 },
	  STORE_PLAIN, "SCRAM-SHA-256", NULL, "alice", NULL },
	/* Without an authorize callback an authzid must equal the authcid. */
	{ "default authz same", { ALICE, .authzid = "alice", .default_authorize = 1 },
	  STORE_PLAIN, "SCRAM-SHA-256", NULL, "alice", "alice" },
	{ "default authz other", { ALICE, .authzid = "alice@example.org",
	  .default_authorize = 1 }, STORE_PLAIN, NULL, "invalid-authzid", NULL, NULL },
	{ "default authz none", { ALICE, .default_authorize = 1 }, STORE_PLAIN,
	  "SCRAM-SHA-256", NULL, "alice", NULL },
	/* A client does not run a server's absurd iteration count. */
	{ "client iteration cap", { ALICE, .scram_iter = 2000000 }, STORE_PLAIN, NULL,
	  "aborted", NULL, NULL },
};

static void run_case(const struct sasl_case *c)
{
	struct test_pair p;
	int restarts = c->o.tls != 0 ? 1 : 0;
	const struct sx_auth *auth;

	store_reset(c->store);
	pair_setup(&p, &c->o);
	test_pair_open(&p);
	test_pair_pump(&p);
	if (c->o.tls != 0 && !(sx_flags(p.s.sx) & SX_F_ENCRYPTED))
		fail_msg("%s: no TLS", c->name);
	if (c->want_mech == NULL) {
		if (p.s.auth_fail != 1 || strcmp(p.s.fail_cond, c->want_cond) != 0)
			fail_msg("%s: server failure '%s' (%d), want '%s'", c->name, p.s.fail_cond,
				 p.s.auth_fail, c->want_cond);
		if (p.c.auth_fail != 1 || strcmp(p.c.fail_cond, c->want_cond) != 0)
			fail_msg("%s: client failure '%s', want '%s'", c->name, p.c.fail_cond,
				 c->want_cond);
		assert_int_equal(p.s.auth_ok + p.c.auth_ok, 0);
		assert_false(sx_flags(p.s.sx) & SX_F_AUTHENTICATED);
		assert_null(sx_auth(p.s.sx));
		/* The stream stays open for another try. */
		assert_int_equal(p.s.closed + p.c.closed, 0);
		test_pair_free(&p);
		return;
	}
	if (p.s.auth_ok != 1 || p.c.auth_ok != 1)
		fail_msg("%s: no success (server fail '%s', client fail '%s')", c->name,
			 p.s.fail_cond, p.c.fail_cond);
	assert_true(sx_flags(p.s.sx) & SX_F_AUTHENTICATED);
	assert_true(sx_flags(p.c.sx) & SX_F_AUTHENTICATED);
	auth = sx_auth(p.s.sx);
	assert_non_null(auth);
	assert_string_equal(auth->mechanism, c->want_mech);
	if (c->want_authcid == NULL)
		assert_null(auth->authcid);
	else
		assert_string_equal(auth->authcid, c->want_authcid);
	if (c->want_authzid == NULL)
		assert_null(auth->authzid);
	else
		assert_string_equal(auth->authzid, c->want_authzid);
	assert_string_equal(sx_auth(p.c.sx)->mechanism, c->want_mech);
	/* Both restarted after success; the new features offer no SASL. */
	assert_int_equal(p.s.opened, 2 + restarts);
	assert_int_equal(p.c.opened, 2 + restarts);
	assert_non_null(strrchr(p.s.features_xml.data, '\n'));
	{
		const char *last = p.s.features_xml.data;
		const char *nl;

		while ((nl = strchr(last, '\n')) != NULL && nl[1] != '\0')
			last = nl + 1;
		assert_null(strstr(last, "mechanisms"));
	}
	assert_int_equal(p.s.closed + p.c.closed, 0);
	check_traffic(&p);
	test_pair_free(&p);
}

static void test_mechanisms(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(sasl_cases) / sizeof(sasl_cases[0]); i++)
		run_case(&sasl_cases[i]);
}

/* The realm the lookup gets: the configured one. */
static void test_lookup_realm(void **state)
{
	run_case(&sasl_cases[0]);
	assert_string_equal(store.last_realm, "example.org");
	assert_int_equal(store.lookups, 1);
}

/* ---- what the server offers ---- */

static void mech_list(const char *features, char *out, size_t size)
{
	const char *p = features;

	out[0] = '\0';
	while ((p = strstr(p, "<mechanism>")) != NULL) {
		const char *end = strstr(p, "</mechanism>");

		p += strlen("<mechanism>");
		if (out[0] != '\0')
			strncat(out, ",", size - strlen(out) - 1);
		strncat(out, p, (size_t)(end - p) < size - strlen(out) - 1 ? (size_t)(end - p)
									   : size - strlen(out) - 1);
		p = end;
	}
}

static void test_offer(void **state)
{
	const struct {
		struct opts o;
		int line;               /* which features element */
		const char *want;
		const char *cb;         /* XEP-0440 type, or NULL */
	} cases[] = {
		{ { .no_client_sasl = 1 }, 0, "SCRAM-SHA-256,SCRAM-SHA-1,ANONYMOUS", NULL },
		{ { .no_client_sasl = 1, .allow_unencrypted = 1 }, 0,
		  "SCRAM-SHA-256,SCRAM-SHA-1,DIGEST-MD5,PLAIN,ANONYMOUS", NULL },
		{ { .no_client_sasl = 1, .tls = 13 }, 1,
		  "SCRAM-SHA-256-PLUS,SCRAM-SHA-1-PLUS,SCRAM-SHA-256,SCRAM-SHA-1,DIGEST-MD5,PLAIN,"
		  "ANONYMOUS", "tls-exporter" },
		{ { .no_client_sasl = 1, .tls = 12, .client_cert = 1 }, 1,
		  "EXTERNAL,SCRAM-SHA-256-PLUS,SCRAM-SHA-1-PLUS,SCRAM-SHA-256,SCRAM-SHA-1,"
		  "DIGEST-MD5,PLAIN,ANONYMOUS", "tls-unique" },
		/* STARTTLS required: nothing before TLS. */
		{ { .no_client_sasl = 1, .tls = 13, .tls_required = 1 }, 0, "", NULL },
		{ { .no_client_sasl = 1, .smechs = SX_SASL_DIGEST_MD5, .allow_unencrypted = 1 }, 0,
		  "DIGEST-MD5", NULL },
		{ { .no_client_sasl = 1, .smechs = SX_SASL_PLAIN }, 0, "", NULL },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct test_pair p;
		char got[512];
		const char *line;
		int n;

		store_reset(STORE_PLAIN);
		pair_setup(&p, &cases[i].o);
		test_pair_open(&p);
		test_pair_pump(&p);
		line = p.s.features_xml.data;
		assert_non_null(line);
		for (n = 0; n < cases[i].line; n++)
			line = strchr(line, '\n') + 1;
		*strchr(line, '\n') = '\0';
		mech_list(line, got, sizeof(got));
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("case %zu: offered '%s', want '%s'", i, got, cases[i].want);
		if (strcmp(got, "") == 0)
			assert_null(strstr(line, "mechanisms"));
		if (cases[i].cb != NULL) {
			char want[128];

			snprintf(want, sizeof(want), "<channel-binding type='%s'/>", cases[i].cb);
			assert_non_null(strstr(line, "urn:xmpp:sasl-cb:0"));
			assert_non_null(strstr(line, want));
		} else {
			assert_null(strstr(line, "sasl-cb"));
		}
		test_pair_free(&p);
	}
}

/* ---- malformed and refused input, fed raw to a server ---- */

static void raw_server(struct test_pair *p, int tls_required)
{
	struct opts o = { .no_client_sasl = 1 };

	store_reset(STORE_PLAIN);
	pair_setup(p, &o);
	if (tls_required) {
		struct sx_tls_ctx *s = test_tls_ctx(SX_SERVER, certs.server, NULL, 0, 0);

		/* TLS after SASL in plugin order is fine for this check. */
		assert_int_equal(sx_tls_starttls(p->s.sx, s, 1), 0);
		sx_tls_ctx_free(&s);
	}
	test_feed(&p->s, TEST_CLIENT_HEADER);
	free(test_drain(&p->s));
}

static void expect_failure(struct test_pair *p, const char *input, const char *cond)
{
	char want[128], *out;
	int fails = p->s.auth_fail;

	snprintf(want, sizeof(want), "<failure " NS_SASL_Q "><%s/></failure>", cond);
	assert_int_equal(test_feed(&p->s, input), 0);
	out = test_drain(&p->s);
	if (strstr(out, want) == NULL)
		fail_msg("input %s: got %s, want %s", input, out, want);
	free(out);
	assert_int_equal(p->s.auth_fail, fails + 1);
	assert_string_equal(p->s.fail_cond, cond);
	assert_int_equal(p->s.closed, 0);
}

static void test_refusals(void **state)
{
	const struct {
		const char *input, *cond;
	} cases[] = {
		{ "<auth " NS_SASL_Q " mechanism='PLAIN'>AGFsaWNlAHdvbmRlcmxhbmQ=</auth>",
		  "encryption-required" },
		{ "<auth " NS_SASL_Q " mechanism='DIGEST-MD5'/>", "encryption-required" },
		{ "<auth " NS_SASL_Q " mechanism='X-NOPE'/>", "invalid-mechanism" },
		{ "<auth " NS_SASL_Q "/>", "invalid-mechanism" },
		{ "<auth " NS_SASL_Q " mechanism='scram-sha-256'/>", "invalid-mechanism" },
		{ "<auth " NS_SASL_Q " mechanism='EXTERNAL'>=</auth>", "invalid-mechanism" },
		{ "<auth " NS_SASL_Q " mechanism='SCRAM-SHA-256-PLUS'/>", "invalid-mechanism" },
		{ "<auth " NS_SASL_Q " mechanism='SCRAM-SHA-256'>abc</auth>", "incorrect-encoding" },
		{ "<auth " NS_SASL_Q " mechanism='SCRAM-SHA-256'>ab=c</auth>", "incorrect-encoding" },
		{ "<auth " NS_SASL_Q " mechanism='SCRAM-SHA-256'>a===</auth>", "incorrect-encoding" },
		{ "<auth " NS_SASL_Q " mechanism='SCRAM-SHA-256'>====</auth>", "incorrect-encoding" },
		{ "<auth " NS_SASL_Q " mechanism='SCRAM-SHA-256'>Zm9v\n</auth>",
		  "incorrect-encoding" },
		{ "<auth " NS_SASL_Q " mechanism='SCRAM-SHA-256'> Zm9v</auth>",
		  "incorrect-encoding" },
		{ "<auth " NS_SASL_Q " mechanism='SCRAM-SHA-256'>Zm8=Zm8=</auth>",
		  "incorrect-encoding" },
		{ "<auth " NS_SASL_Q " mechanism='SCRAM-SHA-256'>Zm9v!A==</auth>",
		  "incorrect-encoding" },
		/* base64 of "garbage": not a SCRAM client-first message. */
		{ "<auth " NS_SASL_Q " mechanism='SCRAM-SHA-256'>Z2FyYmFnZQ==</auth>",
		  "malformed-request" },
		/* "n,,n=,r=abc": an empty user name. */
		{ "<auth " NS_SASL_Q " mechanism='SCRAM-SHA-256'>biwsbj0scj1hYmM=</auth>",
		  "malformed-request" },
		{ "<response " NS_SASL_Q ">Zm9v</response>", "malformed-request" },
		{ "<abort " NS_SASL_Q "/>", "aborted" },
		{ "<success " NS_SASL_Q "/>", "malformed-request" },
	};
	struct test_pair p;
	size_t i;

	raw_server(&p, 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_failure(&p, cases[i].input, cases[i].cond);
	/* A failed exchange leaves the stream usable. */
	assert_int_equal(test_feed(&p.s, "<auth " NS_SASL_Q " mechanism='ANONYMOUS'>"
				   "dHJhY2U=</auth>"), 0);
	assert_int_equal(p.s.auth_ok, 1);
	test_pair_free(&p);

	raw_server(&p, 1);
	expect_failure(&p, "<auth " NS_SASL_Q " mechanism='SCRAM-SHA-256'>"
		       "biwsbj1hbGljZSxyPWFiYw==</auth>", "encryption-required");
	test_pair_free(&p);
}

/* ANONYMOUS without a trace (RFC 4505: the message is optional), as an
 * empty initial response and as none at all (XEP-0175's example). */
static void test_anonymous_no_trace(void **state)
{
	static const char *const inputs[] = {
		"<auth " NS_SASL_Q " mechanism='ANONYMOUS'>=</auth>",
		"<auth " NS_SASL_Q " mechanism='ANONYMOUS'/>",
	};
	struct test_pair p;

	(void)state;
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		raw_server(&p, 0);
		assert_int_equal(test_feed(&p.s, inputs[i]), 0);
		assert_int_equal(p.s.auth_ok, 1);
		test_pair_free(&p);
	}
}

/* <abort/> in the middle of SCRAM, then a fresh start. */
static void test_abort(void **state)
{
	struct test_pair p;
	const char *first = "<auth " NS_SASL_Q " mechanism='SCRAM-SHA-256'>"
			    "biwsbj1hbGljZSxyPWFiY2RlZmdo</auth>";    /* n,,n=alice,r=abcdefgh */
	char *out;

	raw_server(&p, 0);
	test_feed(&p.s, first);
	out = test_drain(&p.s);
	assert_non_null(strstr(out, "<challenge " NS_SASL_Q ">"));
	free(out);
	expect_failure(&p, "<abort " NS_SASL_Q "/>", "aborted");
	/* An <auth> during an exchange is refused, a new one after works. */
	test_feed(&p.s, first);
	free(test_drain(&p.s));
	expect_failure(&p, first, "malformed-request");
	test_feed(&p.s, first);
	out = test_drain(&p.s);
	assert_non_null(strstr(out, "<challenge"));
	free(out);
	test_pair_free(&p);
}

/* The element text of the first <name ...>...</name> after `from`. */
static char *element_text(const char *from, const char *name)
{
	char open[32], close[32];
	const char *p, *end;

	snprintf(open, sizeof(open), "<%s ", name);
	snprintf(close, sizeof(close), "</%s>", name);
	p = strstr(from, open);
	assert_non_null(p);
	p = strchr(p, '>') + 1;
	end = strstr(p, close);
	assert_non_null(end);
	return xstrndup(p, (size_t)(end - p));
}

/* The "s=" of a SCRAM challenge. */
static char *challenge_salt(struct test_pair *p, const char *client_first_b64)
{
	char *input, *out, *b64, *raw, *salt, *end;
	size_t len;

	input = xasprintf("<auth " NS_SASL_Q " mechanism='SCRAM-SHA-256'>%s</auth>",
			  client_first_b64);
	test_feed(&p->s, input);
	free(input);
	out = test_drain(&p->s);
	b64 = element_text(out, "challenge");
	assert_int_equal(gsasl_base64_from(b64, strlen(b64), &raw, &len), GSASL_OK);
	salt = xstrndup(raw, len);
	gsasl_free(raw);
	free(b64);
	free(out);
	expect_failure(p, "<abort " NS_SASL_Q "/>", "aborted");
	memmove(salt, strstr(salt, ",s=") + 3, strlen(strstr(salt, ",s=") + 3) + 1);
	if ((end = strchr(salt, ',')) != NULL)
		*end = '\0';
	return salt;
}

/* Users without stored keys, and users that do not exist, get the same
 * salt each time, so the challenge does not tell them apart from users
 * with stored keys. */
static void test_salt_stable(void **state)
{
	/* n,,n=alice,r=abcdefgh and n,,n=bob,r=abcdefgh */
	const char *alice = "biwsbj1hbGljZSxyPWFiY2RlZmdo";
	const char *bob = "biwsbj1ib2Iscj1hYmNkZWZnaA==";
	struct test_pair p;
	char *a1, *a2, *b1, *b2, *k1;

	raw_server(&p, 0);
	a1 = challenge_salt(&p, alice);
	a2 = challenge_salt(&p, alice);
	b1 = challenge_salt(&p, bob);
	b2 = challenge_salt(&p, bob);
	assert_string_equal(a1, a2);
	assert_string_equal(b1, b2);
	assert_string_not_equal(a1, b1);
	store.mode = STORE_KEYS;
	k1 = challenge_salt(&p, alice);
	/* base64 of the stored salt */
	assert_string_equal(k1, "TmFDbC1mb3ItYWxpY2U=");
	free(a1);
	free(a2);
	free(b1);
	free(b2);
	free(k1);
	test_pair_free(&p);
}

/* After a failure the owner may let the client try again. */
static void test_retry(void **state)
{
	const struct opts o = { WRONG };
	struct test_pair p;
	const char *err = NULL;

	store_reset(STORE_PLAIN);
	pair_setup(&p, &o);
	test_pair_open(&p);
	test_pair_pump(&p);
	assert_int_equal(p.c.auth_fail, 1);
	/* The account's password changes to what the client knows. */
	store.password = "looking-glass";
	assert_int_equal(sx_sasl_client_auth(p.c.sx, "SCRAM-SHA-1", &err), 0);
	test_pair_pump(&p);
	assert_int_equal(p.s.auth_ok, 1);
	assert_int_equal(p.c.auth_ok, 1);
	assert_string_equal(sx_auth(p.s.sx)->mechanism, "SCRAM-SHA-1");
	assert_int_equal(sx_sasl_client_auth(p.c.sx, "SCRAM-SHA-1", &err), -1);
	assert_non_null(err);
	test_pair_free(&p);
}

/* A client-final message recorded from one session fails in another:
 * the server's nonce differs. */
static void test_replay(void **state)
{
	const struct opts o = { ALICE };
	struct test_pair p;
	char *auth, *response, *challenge1, *out, *input;

	store_reset(STORE_PLAIN);
	pair_setup(&p, &o);
	test_pair_open(&p);
	test_pair_pump(&p);
	assert_int_equal(p.s.auth_ok, 1);
	auth = element_text(p.s.received.data, "auth");
	response = element_text(p.s.received.data, "response");
	challenge1 = element_text(p.c.received.data, "challenge");
	test_pair_free(&p);

	raw_server(&p, 0);
	input = xasprintf("<auth " NS_SASL_Q " mechanism='SCRAM-SHA-256'>%s</auth>", auth);
	test_feed(&p.s, input);
	free(input);
	out = test_drain(&p.s);
	assert_non_null(strstr(out, "<challenge"));
	assert_null(strstr(out, challenge1));
	free(out);
	input = xasprintf("<response " NS_SASL_Q ">%s</response>", response);
	expect_failure(&p, input, "not-authorized");
	free(input);
	assert_int_equal(p.s.auth_ok, 0);
	free(auth);
	free(response);
	free(challenge1);
	test_pair_free(&p);
}

/* A server that sends a wrong final message (SCRAM's signature,
 * DIGEST-MD5's rspauth) is not trusted: the client fails and closes. */
static const char *fake_final;

static void replace_success(struct buf *b, void *arg)
{
	char *start, *end, *b64;
	struct buf out = { 0 };

	if (b->len == 0 || (start = strstr(b->data, "<success ")) == NULL)
		return;
	start = strchr(start, '>') + 1;
	end = strstr(start, "</success>");
	if (end == NULL)
		return;
	b64 = xmalloc(strlen(fake_final) * 2 + 8);
	EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)fake_final,
			(int)strlen(fake_final));
	buf_append(&out, b->data, (size_t)(start - b->data));
	buf_append_str(&out, b64);
	buf_append_str(&out, end);
	free(b64);
	buf_free(b);
	*b = out;
}

static void test_bad_server_final(void **state)
{
	const struct {
		struct opts o;
		const char *fake;
	} cases[] = {
		{ { ALICE }, "v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" },
		{ { ALICE, .mech = "SCRAM-SHA-1" }, "v=AAAAAAAAAAAAAAAAAAAAAAAAAAA=" },
		{ { ALICE, .allow_unencrypted = 1, .mech = "DIGEST-MD5" },
		  "rspauth=00000000000000000000000000000000" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct test_pair p;

		store_reset(STORE_PLAIN);
		pair_setup(&p, &cases[i].o);
		fake_final = cases[i].fake;
		p.tamper = replace_success;
		test_pair_open(&p);
		test_pair_pump(&p);
		/* The server believes it succeeded; the client does not. */
		assert_int_equal(p.s.auth_ok, 1);
		assert_int_equal(p.c.auth_ok, 0);
		assert_int_equal(p.c.auth_fail, 1);
		assert_false(sx_flags(p.c.sx) & SX_F_AUTHENTICATED);
		assert_int_equal(p.c.closed, 1);
		assert_string_equal(p.c.close_cond, "not-authorized");
		test_pair_free(&p);
	}
}

/* ---- jabberd2's component login: DIGEST-MD5, realm jabberd-router ---- */

static const char *component_realm;

static int component_cb(Gsasl *ctx, Gsasl_session *s, Gsasl_property prop)
{
	switch (prop) {
	case GSASL_AUTHID:
		gsasl_property_set(s, prop, "alice");
		return GSASL_OK;
	case GSASL_PASSWORD:
		gsasl_property_set(s, prop, "wonderland");
		return GSASL_OK;
	case GSASL_SERVICE:
		gsasl_property_set(s, prop, "jabberd-router");
		return GSASL_OK;
	case GSASL_HOSTNAME:
		gsasl_property_set(s, prop, "sm.example.org");
		return GSASL_OK;
	case GSASL_REALM:
		if (component_realm == NULL)
			return GSASL_NO_CALLBACK;
		gsasl_property_set(s, prop, component_realm);
		return GSASL_OK;
	default:
		return GSASL_NO_CALLBACK;
	}
}

/* What a jabberd2 component does, with its own GNU SASL client; returns
 * the server's output after the response. */
static char *component_login(struct test_pair *p, const char *realm)
{
	Gsasl *g;
	Gsasl_session *s;
	char *out, *chal64, *chal, *raw, *resp64 = NULL, *input;
	size_t len;

	component_realm = realm;
	assert_int_equal(gsasl_init(&g), GSASL_OK);
	gsasl_callback_set(g, component_cb);
	assert_int_equal(gsasl_client_start(g, "DIGEST-MD5", &s), GSASL_OK);
	test_feed(&p->s, "<?xml version='1.0'?><stream:stream "
		  "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"
		  "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='DIGEST-MD5'/>");
	out = test_drain(&p->s);
	assert_non_null(strstr(out, "<mechanism>DIGEST-MD5</mechanism>"));
	chal64 = element_text(out, "challenge");
	free(out);
	assert_int_equal(gsasl_base64_from(chal64, strlen(chal64), &raw, &len), GSASL_OK);
	/* GNU SASL's decoder does not NUL-terminate. */
	chal = xstrndup(raw, len);
	gsasl_free(raw);
	assert_non_null(strstr(chal, "realm=\"jabberd-router\""));
	assert_non_null(strstr(chal, "qop=\"auth\""));
	assert_non_null(strstr(chal, "charset=utf-8"));
	assert_non_null(strstr(chal, "algorithm=md5-sess"));
	assert_non_null(strstr(chal, "nonce=\""));
	free(chal);
	assert_int_equal(gsasl_step64(s, chal64, &resp64), GSASL_NEEDS_MORE);
	free(chal64);
	input = xasprintf("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>%s</response>",
			  resp64);
	gsasl_free(resp64);
	test_feed(&p->s, input);
	free(input);
	out = test_drain(&p->s);
	if (strstr(out, "<success") != NULL) {
		char *fin64 = element_text(out, "success"), *fin;

		assert_int_equal(gsasl_base64_from(fin64, strlen(fin64), &fin, &len), GSASL_OK);
		assert_int_equal(memcmp(fin, "rspauth=", 8), 0);
		assert_int_equal(len, 8 + 32);
		gsasl_free(fin);
		/* The component's own check of the server. */
		assert_int_equal(gsasl_step64(s, fin64, &resp64), GSASL_OK);
		gsasl_free(resp64);
		free(fin64);
	}
	gsasl_finish(s);
	gsasl_done(g);
	return out;
}

static void test_jabberd_component(void **state)
{
	struct opts o = { .no_client_sasl = 1, .allow_unencrypted = 1,
			  .smechs = SX_SASL_DIGEST_MD5, .realm = "jabberd-router" };
	struct test_pair p;
	const char *id1;
	char *out, *id_copy;

	store_reset(STORE_PLAIN);
	pair_setup(&p, &o);
	out = component_login(&p, NULL);
	assert_non_null(strstr(out, "<success"));
	free(out);
	assert_string_equal(sx_auth(p.s.sx)->authcid, "alice");
	assert_string_equal(sx_auth(p.s.sx)->realm, "jabberd-router");
	assert_string_equal(store.last_realm, "jabberd-router");
	id1 = sx_id(p.s.sx);
	id_copy = xstrdup(id1);
	/* Same header again: a new id and empty features. */
	test_feed(&p.s, "<?xml version='1.0'?><stream:stream "
		  "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>");
	out = test_drain(&p.s);
	assert_non_null(strstr(out, "<stream:stream"));
	assert_null(strstr(out, id_copy));
	assert_non_null(strstr(out, "features"));
	assert_null(strstr(out, "mechanism"));
	free(out);
	free(id_copy);
	test_pair_free(&p);

	/* Another realm in the response: no password lookup, failure. */
	store_reset(STORE_PLAIN);
	pair_setup(&p, &o);
	out = component_login(&p, "elsewhere");
	assert_non_null(strstr(out, "<failure " NS_SASL_Q "><not-authorized/></failure>"));
	free(out);
	assert_int_equal(store.lookups, 0);
	test_pair_free(&p);

	/* Only DIGEST-MD5 is offered: SCRAM is refused. */
	store_reset(STORE_PLAIN);
	pair_setup(&p, &o);
	test_feed(&p.s, TEST_CLIENT_HEADER);
	free(test_drain(&p.s));
	expect_failure(&p, "<auth " NS_SASL_Q " mechanism='SCRAM-SHA-1'>"
		       "biwsbj1hbGljZSxyPWFiYw==</auth>", "invalid-mechanism");
	test_pair_free(&p);
}

/* PLAIN without an initial response: an empty challenge, then the
 * credentials in <response>. */
static void test_plain_no_initial(void **state)
{
	struct opts o = { .no_client_sasl = 1, .allow_unencrypted = 1 };
	struct test_pair p;
	char *out;

	store_reset(STORE_PLAIN);
	pair_setup(&p, &o);
	test_feed(&p.s, TEST_CLIENT_HEADER);
	free(test_drain(&p.s));
	test_feed(&p.s, "<auth " NS_SASL_Q " mechanism='PLAIN'/>");
	out = test_drain(&p.s);
	assert_non_null(strstr(out, "<challenge " NS_SASL_Q "/>"));
	free(out);
	/* "\0alice\0wonderland" */
	test_feed(&p.s, "<response " NS_SASL_Q ">AGFsaWNlAHdvbmRlcmxhbmQ=</response>");
	out = test_drain(&p.s);
	assert_non_null(strstr(out, "<success " NS_SASL_Q "/>"));
	free(out);
	assert_int_equal(p.s.auth_ok, 1);
	assert_string_equal(sx_auth(p.s.sx)->authcid, "alice");
	assert_null(sx_auth(p.s.sx)->authzid);
	/* Idle after success: the trim drops the SASL state; the identity
	 * stays, and another <auth> is still refused as it was before. */
	test_feed(&p.s, TEST_CLIENT_HEADER);
	free(test_drain(&p.s));
	assert_int_equal(sx_trim(p.s.sx), 1);
	expect_failure(&p, "<auth " NS_SASL_Q " mechanism='PLAIN'>AGFsaWNlAHdvbmRlcmxhbmQ="
		       "</auth>", "malformed-request");
	assert_string_equal(sx_auth(p.s.sx)->authcid, "alice");
	assert_int_equal(sx_trim(p.s.sx), 1);
	expect_failure(&p, "<abort " NS_SASL_Q "/>", "malformed-request");
	test_pair_free(&p);
}

/* A client picks only what it can do: -PLUS offered without TLS (a
 * confused or hostile server) is skipped, and SCRAM says "n". */
static void test_client_choice(void **state)
{
	struct opts o = { ALICE };
	struct test_pair p;
	char *out, *b64, *raw;
	size_t len;

	store_reset(STORE_PLAIN);
	pair_setup(&p, &o);
	test_pair_open(&p);
	free(test_drain(&p.c));
	test_feed(&p.c, "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
		  "xmlns:stream='http://etherx.jabber.org/streams' id='abc' version='1.0'>"
		  "<stream:features><mechanisms " NS_SASL_Q ">"
		  "<mechanism>SCRAM-SHA-256-PLUS</mechanism><mechanism>X-UNKNOWN</mechanism>"
		  "<mechanism>SCRAM-SHA-256</mechanism></mechanisms></stream:features>");
	out = test_drain(&p.c);
	assert_non_null(strstr(out, "mechanism='SCRAM-SHA-256'>"));
	b64 = element_text(out, "auth");
	assert_int_equal(gsasl_base64_from(b64, strlen(b64), &raw, &len), GSASL_OK);
	assert_true(len > 3);
	assert_memory_equal(raw, "n,,", 3);
	gsasl_free(raw);
	free(b64);
	free(out);
	assert_int_equal(p.c.features_seen, 0);
	test_pair_free(&p);
}

/* A client-first message with the "y" flag (the client could bind but
 * thinks the server cannot), sent over TLS by hand: refused where the
 * server offers -PLUS (a downgrade), accepted where it does not. */
static void test_scram_y_flag(void **state)
{
	/* y,,n=alice,r=abcdefgh */
	const char *auth = "<auth " NS_SASL_Q " mechanism='SCRAM-SHA-256'>"
			   "eSwsbj1hbGljZSxyPWFiY2RlZmdo</auth>";
	const struct {
		unsigned smechs;
		const char *want;
	} cases[] = {
		{ 0, "failure" },
		{ SX_SASL_SCRAM_SHA_256, "challenge" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct opts o = { .no_client_sasl = 1, .tls = 13, .smechs = cases[i].smechs };
		struct test_pair p;

		store_reset(STORE_PLAIN);
		pair_setup(&p, &o);
		test_pair_open(&p);
		test_pair_pump(&p);
		assert_true(sx_flags(p.c.sx) & SX_F_ENCRYPTED);
		sx_send_raw(p.c.sx, auth, strlen(auth));
		test_pair_pump(&p);
		assert_string_equal(p.c.last_elem, cases[i].want);
		if (strcmp(cases[i].want, "failure") == 0)
			assert_string_equal(p.s.fail_cond, "not-authorized");
		test_pair_free(&p);
	}
}

/* DIGEST-MD5 messages that crash GNU SASL 2.2's parser (found by
 * fuzz_sasl) are refused before it sees them, on both sides. */
static void test_digest_parser_guard(void **state)
{
	const char *responses[] = {
		/* no realm, no charset: NULL realm converted from Latin-1 */
		("username=\"alice\",nonce=\"%s\",cnonce=\"y\",nc=00000001,qop=auth,"
		 "digest-uri=\"xmpp/example.org\",response=0123456789abcdef0123456789abcdef"),
		/* known directives without "=" */
		"username,realm=\"example.org\",nonce=\"%s\"",
		"realm=\"example.org\",nonce=\"%s\",nc",
		"realm=\"example.org\",nonce=\"%s\",charset",
	};
	struct opts o = { .no_client_sasl = 1, .allow_unencrypted = 1 };
	struct test_pair p;
	size_t i;

	store_reset(STORE_PLAIN);
	pair_setup(&p, &o);
	test_feed(&p.s, TEST_CLIENT_HEADER);
	free(test_drain(&p.s));
	for (i = 0; i < sizeof(responses) / sizeof(responses[0]); i++) {
		char *b64, *input, *out, *chal64, *chal, *copy, *nonce, *response;
		size_t len;

		/* With the server's own nonce, so the message gets past the
		 * nonce check to where the parser's results are used. */
		test_feed(&p.s, "<auth " NS_SASL_Q " mechanism='DIGEST-MD5'/>");
		out = test_drain(&p.s);
		chal64 = element_text(out, "challenge");
		assert_int_equal(gsasl_base64_from(chal64, strlen(chal64), &chal, &len), GSASL_OK);
		copy = xstrndup(chal, len);
		gsasl_free(chal);
		nonce = strstr(copy, "nonce=\"") + 7;
		*strchr(nonce, '"') = '\0';
		response = xasprintf(responses[i], nonce);
		free(copy);
		free(chal64);
		free(out);
		b64 = xmalloc(strlen(response) * 2 + 8);
		EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)response,
				(int)strlen(response));
		free(response);
		input = xasprintf("<response " NS_SASL_Q ">%s</response>", b64);
		expect_failure(&p, input, "malformed-request");
		free(input);
		free(b64);
	}
	test_pair_free(&p);
}

/* The same for a hostile server talking to our DIGEST-MD5 client. */
static void test_digest_client_guard(void **state)
{
	const char *challenges[] = {
		"realm,nonce=\"abc\",qop=\"auth\",charset=utf-8,algorithm=md5-sess",
		"realm=\"x\",nonce=\"abc\",qop,charset=utf-8,algorithm=md5-sess",
		"realm=\"x\",nonce=\"abc\",maxbuf,charset=utf-8,algorithm=md5-sess",
	};
	size_t i;

	for (i = 0; i < sizeof(challenges) / sizeof(challenges[0]); i++) {
		struct opts o = { ALICE, .allow_unencrypted = 1 };
		struct test_pair p;
		const char *err;
		char *b64 = xmalloc(strlen(challenges[i]) * 2 + 8), *input, *out;

		store_reset(STORE_PLAIN);
		pair_setup(&p, &o);
		test_pair_open(&p);
		free(test_drain(&p.c));
		test_feed(&p.c, "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
			  "xmlns:stream='http://etherx.jabber.org/streams' id='abc' "
			  "version='1.0'>");
		assert_int_equal(sx_sasl_client_auth(p.c.sx, "DIGEST-MD5", &err), 0);
		free(test_drain(&p.c));
		EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)challenges[i],
				(int)strlen(challenges[i]));
		input = xasprintf("<challenge " NS_SASL_Q ">%s</challenge>", b64);
		test_feed(&p.c, input);
		out = test_drain(&p.c);
		assert_non_null(strstr(out, "<abort"));
		assert_int_equal(p.c.auth_fail, 1);
		assert_string_equal(p.c.fail_cond, "aborted");
		free(out);
		free(input);
		free(b64);
		test_pair_free(&p);
	}
}

/* Our client in jabberd2's way: <auth> right after the header. */
static void test_client_auth_now(void **state)
{
	struct opts o = { ALICE, .allow_unencrypted = 1, .smechs = SX_SASL_DIGEST_MD5,
			  .realm = "jabberd-router" };
	struct test_pair p;
	const char *err = NULL;

	store_reset(STORE_PLAIN);
	pair_setup(&p, &o);
	test_pair_open(&p);
	assert_int_equal(sx_sasl_client_auth(p.c.sx, "DIGEST-MD5", &err), 0);
	assert_int_equal(sx_sasl_client_auth(p.c.sx, "X-NOPE", &err), -1);
	test_pair_pump(&p);
	assert_int_equal(p.s.auth_ok, 1);
	assert_int_equal(p.c.auth_ok, 1);
	test_pair_free(&p);
}

/* No mechanism in common: the client says so and sends nothing. */
static void test_no_common_mechanism(void **state)
{
	struct opts o = { ALICE, .allow_unencrypted = 1, .smechs = SX_SASL_DIGEST_MD5,
			  .cmechs = SX_SASL_SCRAM_ALL };
	struct test_pair p;

	store_reset(STORE_PLAIN);
	pair_setup(&p, &o);
	test_pair_open(&p);
	test_pair_pump(&p);
	assert_int_equal(p.c.auth_fail, 1);
	assert_string_equal(p.c.fail_cond, "invalid-mechanism");
	assert_int_equal(p.s.auth_fail + p.s.auth_ok, 0);
	assert_null(strstr(p.s.received.data, "<auth"));
	test_pair_free(&p);
}

/* ---- the SCRAM key helper, against OpenSSL directly ---- */

static void scram_reference(const EVP_MD *md, const char *password, const unsigned char *salt,
			    size_t salt_len, unsigned iter, unsigned char *stored,
			    unsigned char *server)
{
	unsigned char salted[64], client[64];
	unsigned len = 0, n = (unsigned)EVP_MD_get_size(md);

	assert_int_equal(PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)salt_len,
					   (int)iter, md, (int)n, salted), 1);
	HMAC(md, salted, (int)n, (const unsigned char *)"Client Key", 10, client, &len);
	EVP_Digest(client, n, stored, NULL, md, NULL);
	HMAC(md, salted, (int)n, (const unsigned char *)"Server Key", 10, server, &len);
}

static void test_scram_hash(void **state)
{
	const struct {
		const char *hash;
		const char *password;
		const char *salt;
		unsigned iter;
	} cases[] = {
		{ "SHA-1", "pencil", "QSXCR+Q6sek8bf92", 4096 },
		{ "SHA-256", "pencil", "W22ZaJ0SNY7soEsUEjb6gQ==", 4096 },
		{ "SHA-256", "wonderland", "x", 1 },
		{ "SHA-1", "correct horse battery staple", "0123456789abcdef", 10000 },
	};
	size_t i;
	const char *err = NULL;
	unsigned char stored[32], server[32], want_stored[64], want_server[64];
	size_t len;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const EVP_MD *md = strcmp(cases[i].hash, "SHA-1") == 0 ? EVP_sha1() : EVP_sha256();

		assert_int_equal(sx_sasl_scram_hash(cases[i].hash, cases[i].password,
						    (const unsigned char *)cases[i].salt,
						    strlen(cases[i].salt), cases[i].iter, stored,
						    server, &len, &err), 0);
		assert_int_equal(len, (size_t)EVP_MD_get_size(md));
		scram_reference(md, cases[i].password, (const unsigned char *)cases[i].salt,
				strlen(cases[i].salt), cases[i].iter, want_stored, want_server);
		assert_memory_equal(stored, want_stored, len);
		assert_memory_equal(server, want_server, len);
	}
	assert_int_equal(sx_sasl_scram_hash("MD5", "x", (const unsigned char *)"s", 1, 1, stored,
					    server, &len, &err), -1);
	assert_non_null(strstr(err, "hash"));
	assert_int_equal(sx_sasl_scram_hash("SHA-1", "x", (const unsigned char *)"s", 1, 0,
					    stored, server, &len, &err), -1);
	assert_int_equal(sx_sasl_scram_hash("SHA-1", "x", NULL, 0, 1, stored, server, &len, &err),
			 -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mechanisms),
		cmocka_unit_test(test_lookup_realm),
		cmocka_unit_test(test_offer),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_anonymous_no_trace),
		cmocka_unit_test(test_abort),
		cmocka_unit_test(test_salt_stable),
		cmocka_unit_test(test_retry),
		cmocka_unit_test(test_replay),
		cmocka_unit_test(test_bad_server_final),
		cmocka_unit_test(test_jabberd_component),
		cmocka_unit_test(test_plain_no_initial),
		cmocka_unit_test(test_client_choice),
		cmocka_unit_test(test_scram_y_flag),
		cmocka_unit_test(test_digest_parser_guard),
		cmocka_unit_test(test_digest_client_guard),
		cmocka_unit_test(test_client_auth_now),
		cmocka_unit_test(test_no_common_mechanism),
		cmocka_unit_test(test_scram_hash),
	};
	int rc;

	test_certs_make(&certs);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	test_certs_remove(&certs);
	return rc;
}
