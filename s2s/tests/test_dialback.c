/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for s2s/dialback.c (the XEP-0220 key, which must equal
 * jabberd2's so mixed deployments interoperate) and for the certificate
 * name matching SASL EXTERNAL relies on (s2s/in.c).
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "s2s/s2s.h"

/* Expected values computed independently:
 * sha1(sha1(sha1(secret) + remote) + id), each step as lowercase hex. */
static const struct {
	const char *secret, *remote, *id, *key;
} keys[] = {
	{ "secret", "example.org", "abc123", "2a15e4e0a38e6bfbca0e39d91d09712183c3ed50" },
	{ "s3cr3t", "other.example.net", "0123456789abcdefghijklmnopqrstuvwxyzabcd",
	  "e6ea6005c497e9b4aa2f04db3e231cce445ffdf1" },
};

static void test_key_formula(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		char out[S2S_DB_KEY_SIZE];

		assert_int_equal(s2s_db_key(keys[i].secret, keys[i].remote, keys[i].id, out), 0);
		assert_string_equal(out, keys[i].key);
		assert_true(s2s_db_key_check(keys[i].secret, keys[i].remote, keys[i].id,
					     keys[i].key));
	}
}

static void test_key_check_refuses(void **state)
{
	/* Any change of secret, remote domain, stream id or key fails. */
	assert_false(s2s_db_key_check("secret", "example.org", "abc124", keys[0].key));
	assert_false(s2s_db_key_check("secreT", "example.org", "abc123", keys[0].key));
	assert_false(s2s_db_key_check("secret", "example.com", "abc123", keys[0].key));
	assert_false(s2s_db_key_check("secret", "example.org", "abc123",
				      "2A15E4E0A38E6BFBCA0E39D91D09712183C3ED50"));
	assert_false(s2s_db_key_check("secret", "example.org", "abc123", ""));
	assert_false(s2s_db_key_check("secret", "example.org", "abc123", NULL));
}

static void test_cert_names(void **state)
{
	static const struct {
		const char *names[4];
		const char *domain;
		int match;
	} tab[] = {
		{ { "example.org", NULL }, "example.org", 1 },
		{ { "EXAMPLE.org", NULL }, "example.ORG", 1 },
		{ { "other.net", "example.org", NULL }, "example.org", 1 },
		{ { "*.example.org", NULL }, "chat.example.org", 1 },
		{ { "*.example.org", NULL }, "example.org", 0 },
		{ { "*.example.org", NULL }, "a.b.example.org", 0 },
		{ { "*.org", NULL }, "example.org", 0 },
		{ { "*.", NULL }, "example.", 0 },
		{ { "alice@example.org", NULL }, "example.org", 0 },
		{ { "example.org/res", NULL }, "example.org", 0 },
		{ { "example.org", NULL }, "example.org.evil", 0 },
		{ { NULL }, "example.org", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		assert_int_equal(s2s_cert_names_match(tab[i].names, tab[i].domain), tab[i].match);
	assert_int_equal(s2s_cert_names_match(NULL, "example.org"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_formula),
		cmocka_unit_test(test_key_check_refuses),
		cmocka_unit_test(test_cert_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
