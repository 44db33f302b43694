/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The storage cases every driver must pass, run over every driver built
 * in: sqlite (a file in a temporary directory), pgsql (a private
 * PostgreSQL, pg_harness.c) and mysql (a private MariaDB, my_harness.c).
 * One list of cases, one table of backends; a backend whose server is not
 * installed is skipped (and said so), the others still run. What only
 * one driver has (its options, its schema, raw SQL checks) stays in
 * test_sqlite.c, test_pgsql.c and test_mysql.c.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "storage/storage.h"
#include "storage/tests/storage_test.h"
#ifdef HAVE_PGSQL
#include "storage/tests/pg_harness.h"
#endif
#ifdef HAVE_MYSQL
#include "storage/tests/my_harness.h"
#endif
#include "util/buf.h"
#include "util/nad.h"

struct fixture {
	char dir[64];      /* sqlite: the file's directory */
	char db[128];      /* the database: a file (sqlite) or a name */
	struct stt_opts opts;
	struct storage *st;
};

/* A backend: how to start its server (NULL: none), and how to point a
 * fixture at a fresh database of its own and drop it afterwards. */
struct backend {
	const char *name;
	int (*start)(const char **why_r);
	void (*stop)(void);
	int (*create)(struct fixture *fx);
	void (*drop)(struct fixture *fx);
};

static const struct backend *current;
#if defined(HAVE_PGSQL) || defined(HAVE_MYSQL)
static int serial; /* names each test's database */
#endif

/* ---- sqlite ---- */

static int sqlite_create(struct fixture *fx)
{
	strcpy(fx->dir, "/tmp/test_backends_XXXXXX");
	if (mkdtemp(fx->dir) == NULL)
		return -1;
	snprintf(fx->db, sizeof(fx->db), "%s/sqlite.db", fx->dir);
	stt_opt_set(&fx->opts, "storage.sqlite.dbname", fx->db);
	return 0;
}

static void sqlite_drop(struct fixture *fx)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	char path[160];

	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s%s", fx->db, suffix[i]);
		unlink(path);
	}
	rmdir(fx->dir);
}

/* ---- pgsql ---- */

#ifdef HAVE_PGSQL
static int pgsql_create(struct fixture *fx)
{
	char sql[192];

	snprintf(fx->db, sizeof(fx->db), "b%d", ++serial);
	snprintf(sql, sizeof(sql), "CREATE DATABASE \"%s\"", fx->db);
	if (pgt_exec("postgres", sql, 1) < 0)
		return -1;
	stt_opt_set(&fx->opts, "storage.pgsql.host", pgt_host());
	stt_opt_set(&fx->opts, "storage.pgsql.port", pgt_port());
	stt_opt_set(&fx->opts, "storage.pgsql.dbname", fx->db);
	stt_opt_set(&fx->opts, "storage.pgsql.user", PGT_SUPERUSER);
	return 0;
}

static void pgsql_drop(struct fixture *fx)
{
	char sql[192];

	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS \"%s\"", fx->db);
	pgt_exec("postgres", sql, 1);
}
#endif

/* ---- mysql ---- */

#ifdef HAVE_MYSQL
static int mysql_create(struct fixture *fx)
{
	char sql[192];

	snprintf(fx->db, sizeof(fx->db), "b%d", ++serial);
	snprintf(sql, sizeof(sql), "CREATE DATABASE `%s`", fx->db);
	if (myt_exec(sql) < 0)
		return -1;
	/* Over TCP on loopback, with a password, as a site runs it. */
	stt_opt_set(&fx->opts, "storage.mysql.host", "127.0.0.1");
	stt_opt_set(&fx->opts, "storage.mysql.port", myt_port());
	stt_opt_set(&fx->opts, "storage.mysql.dbname", fx->db);
	stt_opt_set(&fx->opts, "storage.mysql.user", MYT_USER);
	stt_opt_set(&fx->opts, "storage.mysql.pass", MYT_PASS);
	return 0;
}

static void mysql_drop(struct fixture *fx)
{
	char sql[192];

	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS `%s`", fx->db);
	myt_exec(sql);
}
#endif

static const struct backend backends[] = {
	{ "sqlite", NULL, NULL, sqlite_create, sqlite_drop },
#ifdef HAVE_PGSQL
	{ "pgsql", pgt_start, pgt_stop, pgsql_create, pgsql_drop },
#endif
#ifdef HAVE_MYSQL
	{ "mysql", myt_start, myt_stop, mysql_create, mysql_drop },
#endif
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	const char *error = NULL;

	*state = fx;
	if (fx == NULL || current->create(fx) < 0)
		return -1;
	fx->st = storage_new(stt_opt_get, &fx->opts);
	if (storage_add_type(fx->st, current->name, NULL, &error) < 0) {
		fprintf(stderr, "%s: open: %s\n", current->name, error);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	if (fx == NULL)
		return 0;
	storage_free(&fx->st);
	current->drop(fx);
	free(fx);
	return 0;
}

static const char *const vcard_fields[] = {
	"fn", "n-family", "n-given", "n-middle", "n-prefix", "n-suffix", "nickname",
	"photo-type", "photo-binval", "photo-extval", "bday", "adr-pobox", "adr-extadd",
	"adr-street", "adr-locality", "adr-region", "adr-pcode", "adr-country", "tel",
	"email", "jabberid", "mailer", "tz", "geo-lat", "geo-lon", "title", "role",
	"logo-type", "logo-binval", "logo-extval", "agent-extval", "org-orgname",
	"org-orgunit", "note", "rev", "sort-string", "sound-phonetic", "sound-binval",
	"sound-extval", "uid", "url", "desc", "key-type", "key-cred",
};

/* ---- the cases ---- */

static void test_roster_round_trip(void **state)
{
	struct fixture *fx = *state;
	struct os *os = os_new(), *got;
	struct os_object *o;
	int64_t seq, prev = 0, ask;
	int to, from;
	enum os_type t;

	stt_roster_item(os, "carol@example.org", "Carol", 1, 1, 0);
	stt_roster_item(os, "bob@far.example.org", NULL, 0, 1, 1);
	stt_roster_item(os, "dave@example.org", "D\xc3\xa4ve", 1, 0, 2);
	stt_put_ok(fx->st, "roster-items", "alice@example.org", os);
	os_free(&os);

	got = stt_get_ok(fx->st, "roster-items", "alice@example.org", NULL);
	assert_int_equal((int)os_count(got), 3);
	stt_assert_column(got, "jid", "carol@example.org,bob@far.example.org,dave@example.org");
	stt_assert_column(got, "name", "Carol,-,D\xc3\xa4ve");
	o = os_next(os_first(got));
	assert_int_equal(os_object_get_bool(o, "to", &to), 0);
	assert_int_equal(os_object_get_bool(o, "from", &from), 0);
	assert_int_equal(os_object_get_int(o, "ask", &ask), 0);
	assert_int_equal(to, 0);
	assert_int_equal(from, 1);
	assert_true(ask == 1);
	/* "to" is declared BOOLEAN: it comes back as a boolean field. */
	for (size_t i = 0; i < os_object_nfields(o); i++)
		if (strcmp(os_object_field(o, i, &t), "to") == 0)
			assert_int_equal(t, OS_TYPE_BOOLEAN);
	/* The owner is not a field; the sequence is, and it grows. */
	for (o = os_first(got); o != NULL; o = os_next(o)) {
		const char *s;

		assert_int_equal(os_object_get_str(o, "collection-owner", &s), -1);
		assert_int_equal(os_object_get_int(o, "object-sequence", &seq), 0);
		assert_true(seq > prev);
		prev = seq;
	}
	os_free(&got);

	/* Groups, selected by the item's jid. */
	os = os_new();
	const char *groups[][2] = { { "carol@example.org", "Friends" },
				    { "bob@far.example.org", "Work" },
				    { "carol@example.org", "Work" },
				    { "bob@far.example.org", "Caf\xc3\xa9 (Paris)" } };
	for (size_t i = 0; i < 4; i++) {
		o = os_object_new(os);
		os_object_put_str(o, "jid", groups[i][0]);
		os_object_put_str(o, "group", groups[i][1]);
	}
	stt_put_ok(fx->st, "roster-groups", "alice@example.org", os);
	os_free(&os);
	char *f = storage_filter_str("jid", "bob@far.example.org");
	got = stt_get_ok(fx->st, "roster-groups", "alice@example.org", f);
	stt_assert_column(got, "group", "Work,Caf\xc3\xa9 (Paris)");
	os_free(&got);
	free(f);
	got = stt_get_ok(fx->st, "roster-groups", "alice@example.org",
		     "(&(jid=19:bob@far.example.org)(group=4:Work))");
	assert_int_equal((int)os_count(got), 1);
	os_free(&got);
}

/* An object read back can be written again: the sequence it carries is not
 * inserted (the database gives the copy a new one). */
static void test_reput_read_object(void **state)
{
	struct fixture *fx = *state;
	struct os *os = os_new(), *got, *again;
	int64_t s1, s2;

	/* queue: no backend's schema has a key on its data (roster-items has
	 * one on pgsql, where the copy would collide with the original). */
	os_object_put_str(os_object_new(os), "xml", "NAD<x/>");
	stt_put_ok(fx->st, "queue", "a@b", os);
	os_free(&os);
	got = stt_get_ok(fx->st, "queue", "a@b", NULL);
	stt_put_ok(fx->st, "queue", "a@b", got);
	again = stt_get_ok(fx->st, "queue", "a@b", NULL);
	assert_int_equal((int)os_count(again), 2);
	os_object_get_int(os_first(again), "object-sequence", &s1);
	os_object_get_int(os_next(os_first(again)), "object-sequence", &s2);
	assert_true(s2 > s1);
	os_free(&got);
	os_free(&again);
}

static void test_vcard(void **state)
{
	struct fixture *fx = *state;
	const size_t n = sizeof(vcard_fields) / sizeof(vcard_fields[0]);
	struct os *os = os_new(), *got;
	struct os_object *o = os_object_new(os);
	char value[96];
	const char *s;

	assert_int_equal((int)n, 44);
	for (size_t i = 0; i < n; i++) {
		snprintf(value, sizeof(value), "\xc3\xa9\xe6\x97\xa5'\"%zu", i);
		os_object_put_str(o, vcard_fields[i], value);
	}
	stt_put_ok(fx->st, "vcard", "alice@example.org", os);
	os_free(&os);
	got = stt_get_ok(fx->st, "vcard", "alice@example.org", NULL);
	o = os_first(got);
	for (size_t i = 0; i < n; i++) {
		snprintf(value, sizeof(value), "\xc3\xa9\xe6\x97\xa5'\"%zu", i);
		assert_int_equal(os_object_get_str(o, vcard_fields[i], &s), 0);
		assert_string_equal(s, value);
	}
	os_free(&got);
	/* The domain vCard is owned by the domain. */
	os = os_new();
	os_object_put_str(os_object_new(os), "fn", "Example server");
	stt_put_ok(fx->st, "vcard", "example.org", os);
	os_free(&os);
	got = stt_get_ok(fx->st, "vcard", "example.org", NULL);
	stt_assert_column(got, "fn", "Example server");
	os_free(&got);
}

static void test_privacy_items(void **state)
{
	struct fixture *fx = *state;
	struct os *os = os_new(), *got;
	struct os_object *o;
	int deny;
	int64_t order, block;
	const char *s;

	stt_privacy_item(os, "work", "jid", "boss@example.org", 0, 1, 0);
	stt_privacy_item(os, "work", "group", "Friends (old)", 1, 2, 1 | 8);
	stt_privacy_item(os, "work", NULL, NULL, 1, 3, 15);
	stt_privacy_item(os, "urn:xmpp:blocking", "jid", "spam@bad.example", 1, 0, 0);
	stt_put_ok(fx->st, "privacy-items", "alice@example.org", os);
	os_free(&os);

	got = stt_get_ok(fx->st, "privacy-items", "alice@example.org", "(list=4:work)");
	assert_int_equal((int)os_count(got), 3);
	stt_assert_column(got, "value", "boss@example.org,Friends (old),-");
	o = os_next(os_first(got));
	assert_int_equal(os_object_get_bool(o, "deny", &deny), 0);
	assert_int_equal(deny, 1);
	assert_int_equal(os_object_get_int(o, "order", &order), 0);
	assert_int_equal(os_object_get_int(o, "block", &block), 0);
	assert_true(order == 2 && block == 9);
	/* NULL columns read as absent fields. */
	o = os_next(o);
	assert_int_equal(os_object_get_str(o, "type", &s), -1);
	os_free(&got);

	/* Integer and boolean terms. */
	assert_true(stt_count(fx->st, "privacy-items", "alice@example.org", "(deny=1)") == 3);
	assert_true(stt_count(fx->st, "privacy-items", "alice@example.org", "(&(deny=1)(order=3))") == 1);
	got = stt_get_ok(fx->st, "privacy-items", "alice@example.org", "(list=17:urn:xmpp:blocking)");
	stt_assert_column(got, "value", "spam@bad.example");
	os_free(&got);
}

static void test_not_found(void **state)
{
	struct fixture *fx = *state;
	struct os *os = (void *)1;
	const char *error;

	assert_int_equal(storage_get(fx->st, "queue", "nobody@example.org", NULL, &os, &error),
			 STORAGE_NOT_FOUND);
	assert_null(os);
	/* Deleting nothing is fine. */
	assert_int_equal(storage_delete(fx->st, "queue", "nobody@example.org", NULL, &error),
			 STORAGE_OK);
}

/* Objects come back in insertion order across interleaved owners and
 * after deletes. */
static void test_ordering(void **state)
{
	struct fixture *fx = *state;
	char jid[32];
	struct os *got;

	for (int i = 0; i < 6; i++) {
		struct os *os = os_new();

		snprintf(jid, sizeof(jid), "c%d@x", 5 - i);
		stt_roster_item(os, jid, NULL, 0, 0, 0);
		stt_put_ok(fx->st, "roster-items", i % 2 ? "odd@x" : "even@x", os);
		os_free(&os);
	}
	got = stt_get_ok(fx->st, "roster-items", "even@x", NULL);
	stt_assert_column(got, "jid", "c5@x,c3@x,c1@x");
	os_free(&got);
	assert_int_equal(storage_delete(fx->st, "roster-items", "even@x", "(jid=4:c5@x)",
					&(const char *){ NULL }), STORAGE_OK);
	struct os *os = os_new();
	stt_roster_item(os, "c5@x", NULL, 0, 0, 0);
	stt_put_ok(fx->st, "roster-items", "even@x", os);
	os_free(&os);
	got = stt_get_ok(fx->st, "roster-items", "even@x", NULL);
	stt_assert_column(got, "jid", "c3@x,c1@x,c5@x");
	os_free(&got);
	got = stt_get_ok(fx->st, "roster-items", "odd@x", NULL);
	stt_assert_column(got, "jid", "c4@x,c2@x,c0@x");
	os_free(&got);
}

static void test_delete_with_filter(void **state)
{
	struct fixture *fx = *state;
	struct os *os = os_new(), *got;
	const char *error;

	stt_roster_item(os, "a@x", NULL, 0, 0, 0);
	stt_roster_item(os, "b@x", NULL, 0, 0, 0);
	stt_roster_item(os, "c@x", NULL, 0, 0, 0);
	stt_put_ok(fx->st, "roster-items", "alice@x", os);
	stt_put_ok(fx->st, "roster-items", "bob@x", os);
	os_free(&os);
	assert_int_equal(storage_delete(fx->st, "roster-items", "alice@x",
					"(|(jid=3:a@x)(jid=3:c@x))", &error), STORAGE_OK);
	got = stt_get_ok(fx->st, "roster-items", "alice@x", NULL);
	stt_assert_column(got, "jid", "b@x");
	os_free(&got);
	/* Another owner's objects are untouched. */
	assert_true(stt_count(fx->st, "roster-items", "bob@x", NULL) == 3);
	/* No filter: all of that owner's. */
	assert_int_equal(storage_delete(fx->st, "roster-items", "bob@x", NULL, &error),
			 STORAGE_OK);
	assert_true(stt_count(fx->st, "roster-items", "bob@x", NULL) == 0);
	assert_true(stt_count(fx->st, "roster-items", "alice@x", NULL) == 1);
}

static void test_malformed_filter_refused(void **state)
{
	struct fixture *fx = *state;
	struct os *os = os_new(), *got = NULL;
	const char *error = NULL;
	int64_t n = 7;

	stt_roster_item(os, "a@x", NULL, 0, 0, 0);
	stt_put_ok(fx->st, "roster-items", "alice@x", os);
	/* Each fails cleanly, and the delete deletes nothing. */
	assert_int_equal(storage_get(fx->st, "roster-items", "alice@x", "(jid=a@x)", &got,
				     &error), STORAGE_ERROR);
	assert_null(got);
	assert_non_null(strstr(error, "malformed filter"));
	assert_int_equal(storage_count(fx->st, "roster-items", "alice@x", "(&)", &n, &error),
			 STORAGE_ERROR);
	assert_int_equal(storage_delete(fx->st, "roster-items", "alice@x", "", &error),
			 STORAGE_ERROR);
	assert_int_equal(storage_delete(fx->st, "roster-items", "alice@x", "(jid=3:a@x",
					&error), STORAGE_ERROR);
	assert_int_equal(storage_replace(fx->st, "roster-items", "alice@x", "(jid=9:a@x)", os,
					 &error), STORAGE_ERROR);
	assert_true(stt_count(fx->st, "roster-items", "alice@x", NULL) == 1);
	os_free(&os);
}

/* Filters against stored data, with values holding the filter syntax's
 * own characters, SQL's and libpq's. */
static void test_filters_on_data(void **state)
{
	struct fixture *fx = *state;
	static const char *const names[] = {
		"a)b", "(&(x=1))", "k=v", "\xe2\x98\x83 snow", "plain", "3:abc)", "$1 '%_\\",
	};
	const size_t nn = sizeof(names) / sizeof(names[0]);
	struct os *os = os_new(), *got;

	for (size_t i = 0; i < nn; i++) {
		struct os_object *o = os_object_new(os);

		os_object_put_str(o, "ns", names[i]);
		os_object_put_str(o, "xml", "NAD<x/>");
	}
	stt_put_ok(fx->st, "private", "alice@example.org", os);
	os_free(&os);

	for (size_t i = 0; i < nn; i++) {
		char *f = storage_filter_str("ns", names[i]);

		got = stt_get_ok(fx->st, "private", "alice@example.org", f);
		assert_int_equal((int)os_count(got), 1);
		stt_assert_column(got, "ns", names[i]);
		os_free(&got);
		free(f);
	}
	got = stt_get_ok(fx->st, "private", "alice@example.org", "(|(ns=3:k=v)(ns=5:plain))");
	stt_assert_column(got, "ns", "k=v,plain");
	os_free(&got);
	got = stt_get_ok(fx->st, "private", "alice@example.org",
			 "(!(|(ns=3:a)b)(ns=8:(&(x=1)))(ns=6:3:abc))(ns=7:$1 '%_\\)))");
	stt_assert_column(got, "ns", "k=v,\xe2\x98\x83 snow,plain");
	os_free(&got);
	assert_true(stt_count(fx->st, "private", "alice@example.org", "(ns=8:\xe2\x98\x83 snow)") == 1);
	assert_true(stt_count(fx->st, "private", "alice@example.org", "(ns=1:a)") == 0);
}

/* take: in order, gone after, by filter, another owner's rows kept. */
static void test_take(void **state)
{
	stt_take_basics(((struct fixture *)*state)->st);
}

/* Two handles on one database (two sms) take one queue at the same
 * moment: each row goes to exactly one. */
static void test_take_race(void **state)
{
	struct fixture *fx = *state;
	struct storage *b = storage_new(stt_opt_get, &fx->opts);
	const char *error = NULL;

	if (storage_add_type(b, current->name, NULL, &error) < 0)
		fail_msg("second handle: %s", error);
	stt_race_take(fx->st, b, "a@x", 20, 30);
	storage_free(&b);
}

/* ---- the one list, over every backend ---- */

#define CASE(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		CASE(test_roster_round_trip),
		CASE(test_reput_read_object),
		CASE(test_vcard),
		CASE(test_privacy_items),
		CASE(test_not_found),
		CASE(test_ordering),
		CASE(test_delete_with_filter),
		CASE(test_malformed_filter_refused),
		CASE(test_filters_on_data),
		CASE(test_take),
		CASE(test_take_race),
	};
	int failed = 0;

	for (size_t b = 0; b < sizeof(backends) / sizeof(backends[0]); b++) {
		const char *why = NULL;
		char group[64];

		current = &backends[b];
		if (current->start != NULL) {
			int rc = current->start(&why);

			if (rc == 1) {
				fprintf(stderr, "test_backends: %s: SKIP: %s\n", current->name, why);
				continue;
			}
			if (rc < 0) {
				fprintf(stderr, "test_backends: %s: cannot start its server: %s\n",
					current->name, why);
				failed++;
				continue;
			}
		}
		snprintf(group, sizeof(group), "storage over %s", current->name);
		failed += _cmocka_run_group_tests(group, tests, sizeof(tests) / sizeof(tests[0]),
						  NULL, NULL);
		if (current->stop != NULL)
			current->stop();
	}
	return failed;
}
