/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_authreg: the "$scram$" password format, and what only the sqlite
 * authreg backend has (the file opened as the sm's storage opens it).
 * What every backend must do (registration, PLAIN and SCRAM, jabberd2's
 * plaintext / crypt / a1hash rows and their upgrade) is in
 * test_authreg_backends.c, run over every backend.
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
#include <sqlite3.h>

#include "c2s/authreg.h"
#include "sx/sx.h"
#include "util/config_file.h"

/* ---- the text format ---- */

static void test_pw_roundtrip(void **state)
{
	struct authreg_scram s, s2;
	const char *error;
	char *t = authreg_pw_hash("sekrit", 64, &error), *t2;

	(void)state;
	assert_non_null(t);
	assert_true(authreg_pw_is_scram(t));
	assert_true(strlen(t) <= 256);
	assert_int_equal(authreg_pw_parse(t, &s, &error), 0);
	assert_int_equal(s.iter, 64);
	assert_int_equal(s.salt_len, AUTHREG_SALT_LEN);
	assert_int_equal(authreg_pw_verify(&s, "sekrit"), 1);
	assert_int_equal(authreg_pw_verify(&s, "sekriT"), 0);
	assert_int_equal(authreg_pw_verify(&s, ""), 0);
	t2 = authreg_pw_format(&s);
	assert_string_equal(t, t2);
	assert_int_equal(authreg_pw_parse(t2, &s2, &error), 0);
	assert_memory_equal(&s, &s2, sizeof(s));
	free(t);
	free(t2);
}

static void test_pw_salts_differ(void **state)
{
	const char *error;
	char *a = authreg_pw_hash("same", 16, &error), *b = authreg_pw_hash("same", 16, &error);

	(void)state;
	assert_string_not_equal(a, b);
	free(a);
	free(b);
}

/* The keys stored are exactly SCRAM's, so a standard client logs in. */
static void test_pw_keys_match_scram(void **state)
{
	struct authreg_scram s;
	unsigned char st[SX_SASL_MAX_KEY], sv[SX_SASL_MAX_KEY];
	const char *error;
	size_t len;
	char *t = authreg_pw_hash("pencil", 4096, &error);

	(void)state;
	assert_int_equal(authreg_pw_parse(t, &s, &error), 0);
	assert_int_equal(sx_sasl_scram_hash("SHA-1", "pencil", s.salt, s.salt_len, 4096,
					    st, sv, &len, &error), 0);
	assert_int_equal(len, 20);
	assert_memory_equal(st, s.sha1_stored, 20);
	assert_memory_equal(sv, s.sha1_server, 20);
	assert_int_equal(sx_sasl_scram_hash("SHA-256", "pencil", s.salt, s.salt_len, 4096,
					    st, sv, &len, &error), 0);
	assert_memory_equal(st, s.sha256_stored, 32);
	assert_memory_equal(sv, s.sha256_server, 32);
	free(t);
}

/* An entry computed outside this code (Python's hashlib.pbkdf2_hmac and
 * hmac, RFC 5802 formulas; the example in docs/authreg.md): password
 * "pencil", salt "0123456789abcdef", 4096 iterations. */
static void test_pw_independent_entry(void **state)
{
	static const char entry[] =
		"$scram$4096$MDEyMzQ1Njc4OWFiY2RlZg==$rPJ7iPSJer+bnDr9PCWJNRIA68M=$"
		"rcHjOyVIe4jH3uaHsm83lApzxlo=$nQpbZ77WudtqufPwikHXGRt6g2QJ4zns8bZLw273DRM=$"
		"jn2amWP1q1h+jgjy0YTO14S6/F02SV7taipOeB7ef20=$";
	struct authreg_scram s;
	unsigned char st[SX_SASL_MAX_KEY], sv[SX_SASL_MAX_KEY];
	const char *error;
	size_t len;

	(void)state;
	assert_int_equal(strlen(entry), 185);
	assert_int_equal(authreg_pw_parse(entry, &s, &error), 0);
	assert_memory_equal(s.salt, "0123456789abcdef", 16);
	assert_int_equal(authreg_pw_verify(&s, "pencil"), 1);
	assert_int_equal(authreg_pw_verify(&s, "pencil2"), 0);
	assert_int_equal(sx_sasl_scram_hash("SHA-1", "pencil", s.salt, s.salt_len, s.iter,
					    st, sv, &len, &error), 0);
	assert_memory_equal(st, s.sha1_stored, 20);
	assert_memory_equal(sv, s.sha1_server, 20);
}

static void test_pw_parse_rejects(void **state)
{
	static const char *const bad[] = {
		"", "$scram$", "plain", "$scram$0$", "$scram$4096",
		"$scram$4096$c2FsdHNhbHQ=$",
		"$scram$x$QUFBQUFBQUFBQUFBQUFBQQ==$AAAAAAAAAAAAAAAAAAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=$",
		/* SHA-1 key one byte short */
		"$scram$4096$QUFBQUFBQUFBQUFBQUFBQQ==$AAAAAAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=$",
		/* trailing data */
		"$scram$4096$QUFBQUFBQUFBQUFBQUFBQQ==$AAAAAAAAAAAAAAAAAAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=$x",
		/* bad base64 character */
		"$scram$4096$QUFBQUFBQUFBQUFBQUFBQQ==$AAAAAAAAAAAAAAAAAAAAAAAAAA*=$AAAAAAAAAAAAAAAAAAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=$",
		/* non-canonical base64 (unused bits set): found by fuzz_password */
		"$scram$4096$QUFBQUFBQUFBQUFBQUFBQQ==$AAAAAAAAAAAAAAAAAAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAgAAQUFBQUF=$",
		/* blank before the iteration count: found by fuzz_password */
		"$scram$\t6$QUFBQUFBQUFBQUFBQUFBQQ==$AAAAAAAAAAAAAAAAAAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=$",
		"$scram$+6$QUFBQUFBQUFBQUFBQUFBQQ==$AAAAAAAAAAAAAAAAAAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=$",
		/* iteration count out of range */
		"$scram$99999999999$QUFBQUFBQUFBQUFBQUFBQQ==$AAAAAAAAAAAAAAAAAAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=$",
	};
	static const char good[] =
		"$scram$4096$QUFBQUFBQUFBQUFBQUFBQQ==$AAAAAAAAAAAAAAAAAAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=$";
	struct authreg_scram s;
	const char *error;

	(void)state;
	assert_int_equal(authreg_pw_parse(good, &s, &error), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error = NULL;
		assert_int_equal(authreg_pw_parse(bad[i], &s, &error), -1);
		assert_non_null(error);
	}
}

/* ---- the sqlite backend ---- */

struct fixture {
	char dir[64], db[96];
	struct config *cfg;
	struct authreg *ar;
};

static struct authreg *open_ar(struct fixture *f, int upgrade, enum authreg_legacy legacy)
{
	struct authreg_settings set = { .scram_iter = 64, .upgrade = upgrade, .legacy = legacy };
	const char *error = NULL;
	struct authreg *ar = authreg_new("sqlite", f->cfg, &set, &error);

	if (ar == NULL)
		fail_msg("authreg_new: %s", error);
	return ar;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char xml[256];
	const char *error;

	strcpy(f->dir, "/tmp/test_authreg.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->db, sizeof(f->db), "%s/auth.db", f->dir);
	snprintf(xml, sizeof(xml),
		 "<c2s><authreg><sqlite><dbname>%s</dbname></sqlite></authreg></c2s>", f->db);
	f->cfg = config_load_mem("c2s.xml", xml, strlen(xml), NULL, &error);
	if (f->cfg == NULL)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	authreg_free(&f->ar);
	config_free(&f->cfg);
	unlink(f->db);
	for (int i = 0; i < 2; i++) {
		char side[128];

		snprintf(side, sizeof(side), "%s%s", f->db, i == 0 ? "-wal" : "-shm");
		unlink(side);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

/* The file is opened by the SQL layer the sm's storage uses: a new file
 * gets jabberd2's WAL journal (so the sm reading it does not block c2s's
 * writes), whoever creates it first; a busy-timeout that is not a number
 * is refused, naming the option. */
static void test_sqlite_opened_as_storage(void **state)
{
	struct fixture *f = *state;
	struct authreg_settings set = { .scram_iter = 64 };
	const char *error = NULL;
	struct config *cfg;
	sqlite3 *db;
	sqlite3_stmt *st;
	char xml[256];

	f->ar = open_ar(f, 1, AUTHREG_LEGACY_PLAINTEXT);
	assert_int_equal(authreg_create_user(f->ar, "wal", "localhost"), AUTHREG_OK);
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_close(db);

	snprintf(xml, sizeof(xml), "<c2s><authreg><sqlite><dbname>%s</dbname>"
		 "<busy-timeout>soon</busy-timeout></sqlite></authreg></c2s>", f->db);
	cfg = config_load_mem("c2s.xml", xml, strlen(xml), NULL, &error);
	assert_non_null(cfg);
	assert_null(authreg_new("sqlite", cfg, &set, &error));
	assert_non_null(strstr(error, "authreg.sqlite.busy-timeout"));
	config_free(&cfg);
}

static void test_unknown_module(void **state)
{
	struct fixture *f = *state;
	struct authreg_settings set = { 0 };
	const char *error = NULL;

	assert_null(authreg_new("ldap", f->cfg, &set, &error));
	assert_non_null(error);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pw_roundtrip),
		cmocka_unit_test(test_pw_salts_differ),
		cmocka_unit_test(test_pw_keys_match_scram),
		cmocka_unit_test(test_pw_independent_entry),
		cmocka_unit_test(test_pw_parse_rejects),
		cmocka_unit_test_setup_teardown(test_unknown_module, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sqlite_opened_as_storage, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
