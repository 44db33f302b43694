/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_config: c2s.xml as c2s reads it: the served hosts and their
 * attributes (TLS required by default wherever a pemfile makes it
 * possible), the default vhost, the SASL mechanism lists (SCRAM on for
 * jabberd2 configs that never name it; DIGEST-MD5 only with plaintext
 * storage), the configurations that must be refused, and the XEP-0198
 * options with their bounds.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "c2s/c2s.h"
#include "sx/tests/tls_testlib.h"
#include "util/buf.h"
#include "util/config_file.h"
#include "util/log.h"

static struct test_certs certs;
static char dbpath[256];

/* Load a c2s.xml whose <local> and <authreg> bodies are given. */
static int load_io(struct c2s *c2s, const char *local, const char *authreg,
		   const char *io, const char **error_r)
{
	char *xml;
	int rc;

	memset(c2s, 0, sizeof(*c2s));
	xml = xasprintf("<c2s><local>%s</local><io>%s</io><authreg>%s<sqlite><dbname>%s"
			"</dbname></sqlite></authreg></c2s>", local, io, authreg, dbpath);
	c2s->cfg = config_load_mem("c2s.xml", xml, strlen(xml), NULL, error_r);
	free(xml);
	if (c2s->cfg == NULL)
		return -1;
	if (c2s_config_options(c2s, error_r) < 0)
		return -1;
	rc = c2s_config_read(c2s, error_r);
	return rc;
}

static int load(struct c2s *c2s, const char *local, const char *authreg,
		const char **error_r)
{
	return load_io(c2s, local, authreg, "", error_r);
}

static void unload(struct c2s *c2s)
{
	c2s_hosts_free(c2s);
	c2s_redirects_free(c2s);
	c2s_ws_free(c2s);
	authreg_free(&c2s->ar);
	sx_sasl_ctx_free(&c2s->sasl);
	mio_access_free(&c2s->access);
	mio_access_free(&c2s->reg_exempt);
	config_free(&c2s->cfg);
}

static void test_hosts(void **state)
{
	struct c2s c2s;
	const char *error = NULL;
	char local[1024];
	const struct c2s_host *h;

	(void)state;
	snprintf(local, sizeof(local),
		 "<port>5222</port>"
		 "<id>Example.ORG</id>"
		 "<id pemfile='%s' register-enable='mu' realm=''>secure.example.org</id>"
		 "<id pemfile='%s' require-starttls='false' password-change='mu'>open.example.org</id>",
		 certs.server, certs.server);
	assert_int_equal(load(&c2s, local, "", &error), 0);
	assert_int_equal(c2s.nhosts, 3);
	h = c2s_host_find(&c2s, "example.org");
	assert_non_null(h);
	assert_null(h->tls);
	assert_false(h->require_starttls);
	assert_false(h->register_enable);
	assert_null(h->realm);
	h = c2s_host_find(&c2s, "secure.example.org");
	assert_non_null(h->tls);
	assert_true(h->require_starttls);
	assert_true(h->register_enable);
	assert_string_equal(h->realm, "");
	h = c2s_host_find(&c2s, "open.example.org");
	assert_non_null(h->tls);
	assert_false(h->require_starttls);
	assert_true(h->password_change);
	assert_null(c2s_host_find(&c2s, "other.example.net"));
	unload(&c2s);
}

static void test_default_vhost(void **state)
{
	struct c2s c2s;
	const char *error = NULL;
	const struct c2s_host *h;

	(void)state;
	assert_int_equal(load(&c2s, "<port>5222</port><id>a.example</id><id register-enable='1'/>",
			      "", &error), 0);
	h = c2s_host_find(&c2s, "anything.example");
	assert_non_null(h);
	assert_string_equal(h->domain, "");
	assert_true(h->register_enable);
	assert_string_equal(c2s_host_find(&c2s, "a.example")->domain, "a.example");
	unload(&c2s);
}

/* The options alone (c2s_config_options) from a whole c2s.xml text. */
static int options(struct c2s *c2s, const char *xml, const char **error_r)
{
	memset(c2s, 0, sizeof(*c2s));
	c2s->cfg = config_load_mem("c2s.xml", xml, strlen(xml), NULL, error_r);
	if (c2s->cfg == NULL)
		return -1;
	return c2s_config_options(c2s, error_r);
}

/* XEP-0198 options: on by default with 300 s resumption; each bound is
 * enforced with an error that names the element. */
static void test_stream_management_options(void **state)
{
	struct c2s c2s;
	const char *error = NULL;

	(void)state;
	assert_int_equal(options(&c2s, "<c2s/>", &error), 0);
	assert_true(c2s.o.sm_enable);
	assert_int_equal(c2s.o.sm_resume, 300);
	assert_int_equal(c2s.o.sm_queue, 500);
	assert_int_equal(c2s.o.sm_queue_bytes, 1048576);
	assert_int_equal(c2s.o.sm_max_parked, 1000);
	config_free(&c2s.cfg);

	assert_int_equal(options(&c2s, "<c2s><stream-management><enable>false</enable>"
				 "<resume>0</resume><queue>7</queue></stream-management></c2s>",
				 &error), 0);
	assert_false(c2s.o.sm_enable);
	assert_int_equal(c2s.o.sm_resume, 0);
	assert_int_equal(c2s.o.sm_queue, 7);
	config_free(&c2s.cfg);

	assert_int_equal(options(&c2s, "<c2s><stream-management><resume>86401</resume>"
				 "</stream-management></c2s>", &error), -1);
	assert_non_null(strstr(error, "<stream-management><resume>"));
	config_free(&c2s.cfg);
	assert_int_equal(options(&c2s, "<c2s><stream-management><queue>0</queue>"
				 "</stream-management></c2s>", &error), -1);
	assert_non_null(strstr(error, "<queue>"));
	config_free(&c2s.cfg);
}

static const struct {
	const char *authreg;
	unsigned want;
} mech_cases[] = {
	/* jabberd2's dist lists: SCRAM on without -PLUS (channel binding only
	 * when named), DIGEST-MD5 off (hashed storage). */
	{ "<mechanisms><sasl><plain/><digest-md5/></sasl></mechanisms>",
	  SX_SASL_PLAIN | SX_SASL_SCRAM_SHA_1 | SX_SASL_SCRAM_SHA_256 },
	{ "", SX_SASL_SCRAM_SHA_1 | SX_SASL_SCRAM_SHA_256 },
	{ "<mechanisms><sasl><scram-sha-256-plus/></sasl></mechanisms>",
	  SX_SASL_SCRAM_SHA_256_PLUS },
	{ "<mechanisms><sasl><scram-sha-256/></sasl></mechanisms>", SX_SASL_SCRAM_SHA_256 },
	{ "<mechanisms><sasl><scram-sha-1/><scram-sha-1-plus/></sasl></mechanisms>"
	  "<ssl-mechanisms><sasl><plain/><external/></sasl></ssl-mechanisms>",
	  SX_SASL_SCRAM_SHA_1 | SX_SASL_SCRAM_SHA_1_PLUS | SX_SASL_PLAIN | SX_SASL_EXTERNAL },
	{ "<mechanisms><sasl><digest-md5/><anonymous/><gssapi/></sasl></mechanisms>"
	  "<scram><plaintext/></scram>",
	  SX_SASL_DIGEST_MD5 | SX_SASL_ANONYMOUS | SX_SASL_SCRAM_SHA_1 | SX_SASL_SCRAM_SHA_256 },
};

static void test_mechanisms(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(mech_cases) / sizeof(mech_cases[0]); i++) {
		struct c2s c2s;
		const char *error = NULL;

		if (load(&c2s, "<port>5222</port><id>a.example</id>", mech_cases[i].authreg,
			 &error) < 0)
			fail_msg("case %zu: %s", i, error);
		if (c2s_config_mechs(&c2s) != mech_cases[i].want)
			fail_msg("case %zu: mechs %#x, want %#x", i, c2s_config_mechs(&c2s),
				 mech_cases[i].want);
		unload(&c2s);
	}
}

static const struct {
	const char *local, *authreg, *error_part;
} bad_cases[] = {
	{ "<port>5222</port>", "", "no local.id" },
	{ "<id>a.example</id>", "", "nothing to listen on" },
	{ "<port>5222</port><id require-starttls='mu'>a.example</id>", "", "without a pemfile" },
	{ "<port>5222</port><id>bad domain</id>", "", "<local><id>" },
	{ "<port>5222</port><id>a.example</id>", "<module>ntlogon</module>", "unknown authreg" },
	{ "<port>99999</port><id>a.example</id>", "", "<local><port>" },
	{ "<port>5222</port><id>a.example</id>",
	  "<scram><plaintext/></scram><sqlite><password_type><crypt/></password_type></sqlite>",
	  "needs password_type plaintext" },
};

static void test_refused(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct c2s c2s;
		const char *error = NULL;

		if (load(&c2s, bad_cases[i].local, bad_cases[i].authreg, &error) == 0)
			fail_msg("case %zu accepted", i);
		if (error == NULL || strstr(error, bad_cases[i].error_part) == NULL)
			fail_msg("case %zu: error '%s', want '%s'", i, error ? error : "(null)",
				 bad_cases[i].error_part);
		unload(&c2s);
	}
}

/* authreg.register.exempt: loopback by default (IPv4 block, ::1, and
 * 127/8 seen through a dual-stack listener); an empty <exempt/> clears
 * it; listed blocks replace the defaults; an entry that does not parse
 * is refused naming c2s.xml, the element and the value. */
static void test_register_exempt(void **state)
{
	static const struct {
		const char *authreg;
		const char *exempt[4], *limited[4];
	} cases[] = {
		{ "", { "127.0.0.1", "127.9.8.7", "::1", "::ffff:127.0.0.2" },
		  { "10.0.0.1", "128.0.0.1", "::2", "192.168.1.1" } },
		{ "<register><exempt/></register>", { NULL },
		  { "127.0.0.1", "::1", "10.0.0.1", NULL } },
		{ "<register><exempt>10.1.0.0/16</exempt><exempt> 2001:db8::1 </exempt>"
		  "<exempt>192.0.2.7</exempt></register>",
		  { "10.1.255.3", "2001:db8::1", "192.0.2.7", NULL },
		  { "127.0.0.1", "::1", "10.2.0.1", "192.0.2.8" } },
	};
	static const char *const bad[] = { "10.1.0.0/33", "localhost", "10.0.0.0/", "::1/129" };
	char body[128];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct c2s c2s;
		const char *error = NULL;

		if (load(&c2s, "<port>5222</port><id>x.org</id>", cases[i].authreg, &error) < 0)
			fail_msg("case %zu: %s", i, error);
		for (size_t j = 0; j < 4; j++) {
			if (cases[i].exempt[j] != NULL && !c2s_register_exempt(&c2s, cases[i].exempt[j]))
				fail_msg("case %zu: %s not exempt", i, cases[i].exempt[j]);
			if (cases[i].limited[j] != NULL && c2s_register_exempt(&c2s, cases[i].limited[j]))
				fail_msg("case %zu: %s exempt", i, cases[i].limited[j]);
		}
		unload(&c2s);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct c2s c2s;
		const char *error = NULL;

		snprintf(body, sizeof(body), "<register><exempt>::1</exempt><exempt>%s</exempt>"
			 "</register>", bad[i]);
		if (load(&c2s, "<port>5222</port><id>x.org</id>", body, &error) == 0)
			fail_msg("'%s' accepted", bad[i]);
		if (strstr(error, "c2s.xml:1: <authreg><register><exempt>") == NULL ||
		    strstr(error, bad[i]) == NULL)
			fail_msg("'%s': error '%s'", bad[i], error);
		unload(&c2s);
	}
}

/* io.websocket: absent, with its options, and each option refused with
 * the file and element named. */
static void test_websocket(void **state)
{
	static const struct {
		const char *io;
		const char *error_part;
	} bad[] = {
		{ "<websocket><port>0</port></websocket>", "<io><websocket><port>: not a port" },
		{ "<websocket><port>5x</port></websocket>", "not a port number: 5x" },
		{ "<websocket><trusted-proxy>proxy.example</trusted-proxy></websocket>",
		  "c2s.xml:1: <io><websocket><trusted-proxy>" },
		{ "<websocket><trusted-proxy mask='99'>10.0.0.1</trusted-proxy></websocket>",
		  "<trusted-proxy>" },
	};
	const char *local = "<id>a.example</id><port>5222</port>";
	struct c2s c2s;
	const char *error = NULL;

	(void)state;
	assert_int_equal(load_io(&c2s, local, "", "", &error), 0);
	assert_null(c2s.ws);
	assert_int_equal(c2s_ws_port(&c2s), 0);
	unload(&c2s);
	assert_int_equal(load_io(&c2s, local, "", "<websocket/>", &error), 0);
	assert_non_null(c2s.ws);
	assert_int_equal(c2s_ws_port(&c2s), 0);
	unload(&c2s);
	assert_int_equal(load_io(&c2s, local, "", "<websocket><port>5290</port>"
				 "<origin>https://a.example</origin><origin>https://b.example</origin>"
				 "<trusted-proxy mask='24'>10.1.2.0</trusted-proxy>"
				 "<trusted-proxy>::1</trusted-proxy></websocket>", &error), 0);
	assert_int_equal(c2s_ws_port(&c2s), 5290);
	unload(&c2s);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error = NULL;
		if (load_io(&c2s, local, "", bad[i].io, &error) == 0)
			fail_msg("websocket case %zu accepted", i);
		if (error == NULL || strstr(error, bad[i].error_part) == NULL)
			fail_msg("websocket case %zu: error '%s', want '%s'", i,
				 error ? error : "(null)", bad[i].error_part);
		unload(&c2s);
	}
}

static int group_setup(void **state)
{
	(void)state;
	test_certs_make(&certs);
	snprintf(dbpath, sizeof(dbpath), "%s/authreg.db", certs.dir);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	unlink(dbpath);
	test_certs_remove(&certs);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hosts),
		cmocka_unit_test(test_default_vhost),
		cmocka_unit_test(test_mechanisms),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_stream_management_options),
		cmocka_unit_test(test_websocket),
		cmocka_unit_test(test_register_exempt),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
