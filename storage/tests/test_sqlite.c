/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for the storage manager over the sqlite driver, on real
 * database files in a temporary directory: round trips through the tables
 * the sm uses, filters, ordering, atomic replace, the prefix and other
 * options, and hostile-looking owners and values.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "storage/storage.h"
#include "storage/tests/storage_test.h"
#include "util/buf.h"
#include "util/nad.h"

struct fixture {
	char dir[64];
	char db[128];
	struct stt_opts opts;
	struct storage *st;
};

/* (Re)open fx->st with the current options; returns add_type's result. */
static int fx_open(struct fixture *fx, const char **error_r)
{
	storage_free(&fx->st);
	fx->st = storage_new(stt_opt_get, &fx->opts);
	return storage_add_type(fx->st, "sqlite", NULL, error_r);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	const char *error = NULL;

	strcpy(fx->dir, "/tmp/test_storage_XXXXXX");
	if (mkdtemp(fx->dir) == NULL)
		return -1;
	snprintf(fx->db, sizeof(fx->db), "%s/sqlite.db", fx->dir);
	stt_opt_set(&fx->opts, "storage.sqlite.dbname", fx->db);
	if (fx_open(fx, &error) < 0) {
		fprintf(stderr, "open: %s\n", error);
		return -1;
	}
	*state = fx;
	return 0;
}

static void remove_db(struct fixture *fx)
{
	char path[160];

	unlink(fx->db);
	snprintf(path, sizeof(path), "%s-wal", fx->db);
	unlink(path);
	snprintf(path, sizeof(path), "%s-shm", fx->db);
	unlink(path);
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	storage_free(&fx->st);
	remove_db(fx);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/* One integer from SQL run directly on the file (-1 if no row). */
static int64_t raw_int(struct fixture *fx, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *stmt;
	int64_t v = -1;

	assert_int_equal(sqlite3_open(fx->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
	if (sqlite3_step(stmt) == SQLITE_ROW)
		v = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return v;
}

/* One text value from SQL run directly on the file, into out. */
static const char *raw_text(struct fixture *fx, const char *sql, char *out, size_t size)
{
	sqlite3 *db;
	sqlite3_stmt *stmt;

	out[0] = '\0';
	assert_int_equal(sqlite3_open(fx->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
	if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != NULL)
		snprintf(out, size, "%s", (const char *)sqlite3_column_text(stmt, 0));
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return out;
}

/* ---- the tests ---- */

static void test_new_database(void **state)
{
	struct fixture *fx = *state;
	static const char *const tables[] = {
		"authreg", "active", "logout", "roster-items", "roster-groups",
		"published-roster", "published-roster-groups", "vcard", "queue", "private",
		"motd-message", "motd-times", "privacy-default", "privacy-items",
		"vacation-settings", "status", "verify", "roster-version", "roster-state",
		"pep-items", "pep-node", "pep-item",
	};
	char sql[160], buf[16];

	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		snprintf(sql, sizeof(sql),
			 "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='%s'",
			 tables[i]);
		if (raw_int(fx, sql) != 1)
			fail_msg("table %s missing", tables[i]);
	}
	assert_true(raw_int(fx, "SELECT count(*) FROM sqlite_master WHERE type='table'") ==
		    (int64_t)(sizeof(tables) / sizeof(tables[0])));
	/* jabberd2's settings for a new file, and our two extra indexes. */
	assert_true(raw_int(fx, "PRAGMA page_size") == 4096);
	assert_string_equal(raw_text(fx, "PRAGMA journal_mode", buf, sizeof(buf)), "wal");
	assert_true(raw_int(fx, "SELECT count(*) FROM sqlite_master WHERE type='index' AND "
				"name IN ('i_status_owner','i_logout_owner')") == 2);
	/* The vCard table has its 44 fields besides owner and sequence. */
	assert_true(raw_int(fx, "SELECT count(*) FROM pragma_table_info('vcard')") == 46);
	/* Reopening an existing database changes nothing. */
	int64_t objects = raw_int(fx, "SELECT count(*) FROM sqlite_master");
	const char *error;
	assert_int_equal(fx_open(fx, &error), 0);
	assert_true(raw_int(fx, "SELECT count(*) FROM sqlite_master") == objects);
}

static void test_queue_nad(void **state)
{
	struct fixture *fx = *state;
	static const char *const xml[] = {
		"<route xmlns='http://jabberd.jabberstudio.org/ns/component/1.0' "
		"to='sm' from='c2s'><message xmlns='jabber:client' to='alice@example.org' "
		"from='bob@far.example.org/pc' type='chat'><body>1 &lt; 2 &amp; "
		"\xe2\x9c\x93</body></message></route>",
		"<route xmlns='http://jabberd.jabberstudio.org/ns/component/1.0'>"
		"<message xmlns='jabber:client'><body>second</body></message></route>",
	};
	struct os *os = os_new(), *got;
	struct os_object *o;
	char *expect[2];
	const char *error, *s;
	size_t n = 0;

	for (size_t i = 0; i < 2; i++) {
		struct nad *nad = nad_parse(xml[i], strlen(xml[i]), 0, &error, NULL);

		assert_non_null(nad);
		expect[i] = nad_to_string(nad, NULL);
		os_object_put_nad(os_object_new(os), "xml", nad);
		nad_free(&nad);
	}
	stt_put_ok(fx->st, "queue", "alice@example.org", os);
	os_free(&os);

	got = stt_get_ok(fx->st, "queue", "alice@example.org", NULL);
	for (o = os_first(got); o != NULL; o = os_next(o), n++) {
		const struct nad *nad;
		char *text;

		/* Stored as jabberd2 stores it: "NAD" then the XML. */
		assert_int_equal(os_object_get_str(o, "xml", &s), 0);
		assert_memory_equal(s, "NAD<", 4);
		assert_int_equal(os_object_get_nad(o, "xml", &nad), 0);
		text = nad_to_string(nad, NULL);
		assert_string_equal(text, expect[n]);
		free(text);
		free(expect[n]);
	}
	assert_int_equal((int)n, 2);
	assert_true(raw_int(fx, "SELECT count(*) FROM queue WHERE xml LIKE 'NAD<route%'") == 2);
	os_free(&got);
}

static void test_active_logout(void **state)
{
	struct fixture *fx = *state;
	const int64_t when = INT64_C(1) << 40; /* past 2038 and 32 bits */
	struct os *os = os_new(), *got;
	int64_t t;

	os_object_put_int(os_object_new(os), "time", when);
	stt_put_ok(fx->st, "active", "alice@example.org", os);
	stt_put_ok(fx->st, "logout", "alice@example.org", os);
	os_free(&os);
	got = stt_get_ok(fx->st, "active", "alice@example.org", NULL);
	assert_int_equal(os_object_get_int(os_first(got), "time", &t), 0);
	assert_true(t == when);
	os_free(&got);
	got = stt_get_ok(fx->st, "logout", "alice@example.org", NULL);
	assert_int_equal(os_object_get_int(os_first(got), "time", &t), 0);
	assert_true(t == when);
	os_free(&got);
	assert_true(stt_count(fx->st, "active", "alice@example.org", NULL) == 1);
	assert_true(stt_count(fx->st, "active", "nobody@example.org", NULL) == 0);

	/* A column's default fills what the object leaves out. */
	os = os_new();
	os_object_put_str(os_object_new(os), "status", "online");
	stt_put_ok(fx->st, "status", "alice@example.org", os);
	os_free(&os);
	got = stt_get_ok(fx->st, "status", "alice@example.org", NULL);
	assert_int_equal(os_object_get_int(os_first(got), "last-login", &t), 0);
	assert_true(t == 0);
	os_free(&got);
}

static void test_replace(void **state)
{
	struct fixture *fx = *state;
	struct os *os = os_new(), *got;
	const char *error = NULL;

	stt_roster_item(os, "a@x", "A", 0, 0, 0);
	stt_roster_item(os, "b@x", "B", 0, 0, 0);
	stt_put_ok(fx->st, "roster-items", "alice@x", os);
	os_free(&os);

	/* Replace one item by filter. */
	os = os_new();
	stt_roster_item(os, "a@x", "A2", 1, 1, 0);
	assert_int_equal(storage_replace(fx->st, "roster-items", "alice@x", "(jid=3:a@x)", os,
					 &error), STORAGE_OK);
	os_free(&os);
	got = stt_get_ok(fx->st, "roster-items", "alice@x", NULL);
	stt_assert_column(got, "name", "B,A2");
	os_free(&got);

	/* A failing insert (jid is NOT NULL) leaves the old rows in place. */
	os = os_new();
	stt_roster_item(os, "c@x", "C", 0, 0, 0);
	os_object_put_str(os_object_new(os), "name", "no jid");
	error = NULL;
	assert_int_equal(storage_replace(fx->st, "roster-items", "alice@x", NULL, os, &error),
			 STORAGE_ERROR);
	assert_non_null(error);
	assert_non_null(strstr(error, "NOT NULL"));
	os_free(&os);
	got = stt_get_ok(fx->st, "roster-items", "alice@x", NULL);
	stt_assert_column(got, "name", "B,A2");
	os_free(&got);

	/* The same for put: all or nothing. */
	os = os_new();
	stt_roster_item(os, "d@x", "D", 0, 0, 0);
	os_object_put_str(os_object_new(os), "name", "no jid");
	assert_int_equal(storage_put(fx->st, "roster-items", "alice@x", os, &error),
			 STORAGE_ERROR);
	os_free(&os);
	assert_true(stt_count(fx->st, "roster-items", "alice@x", NULL) == 2);

	/* Replace with an empty set is a delete. */
	os = os_new();
	assert_int_equal(storage_replace(fx->st, "roster-items", "alice@x", NULL, os, &error),
			 STORAGE_OK);
	os_free(&os);
	assert_true(stt_count(fx->st, "roster-items", "alice@x", NULL) == 0);
}

static void test_prefix(void **state)
{
	struct fixture *fx = *state;
	struct os *os = os_new(), *got;
	const char *error;

	storage_free(&fx->st);
	remove_db(fx);
	stt_opt_set(&fx->opts, "storage.sqlite.prefix", "jd_");
	assert_int_equal(fx_open(fx, &error), 0);
	assert_true(raw_int(fx, "SELECT count(*) FROM sqlite_master WHERE type='table' AND "
				"name='jd_roster-items'") == 1);
	assert_true(raw_int(fx, "SELECT count(*) FROM sqlite_master WHERE type='table' AND "
				"name='roster-items'") == 0);
	/* c2s's authreg is never prefixed. */
	assert_true(raw_int(fx, "SELECT count(*) FROM sqlite_master WHERE name='authreg'") == 1);
	assert_true(raw_int(fx, "SELECT count(*) FROM sqlite_master WHERE type='index' AND "
				"name='jd_i_status_owner'") == 1);
	stt_roster_item(os, "a@x", NULL, 1, 0, 0);
	stt_put_ok(fx->st, "roster-items", "alice@x", os);
	os_free(&os);
	assert_true(raw_int(fx, "SELECT count(*) FROM \"jd_roster-items\"") == 1);
	got = stt_get_ok(fx->st, "roster-items", "alice@x", NULL);
	stt_assert_column(got, "jid", "a@x");
	os_free(&got);
}

/* Owners and values that look like SQL are stored and matched verbatim and
 * reach no other owner's data. */
static void test_injection_verbatim(void **state)
{
	struct fixture *fx = *state;
	static const char *const owners[] = {
		"x' OR '1'='1", "bob\"); DROP TABLE \"queue\"; --", "%", "_", "*",
	};
	struct os *os, *got;
	const char *s;

	os = os_new();
	os_object_put_str(os_object_new(os), "ns", "innocent");
	stt_put_ok(fx->st, "private", "victim@x", os);
	os_free(&os);
	for (size_t i = 0; i < 5; i++) {
		os = os_new();
		os_object_put_str(os_object_new(os), "ns", owners[i]);
		stt_put_ok(fx->st, "private", owners[i], os);
		os_free(&os);
	}
	for (size_t i = 0; i < 5; i++) {
		char *f = storage_filter_str("ns", owners[i]);

		got = stt_get_ok(fx->st, "private", owners[i], NULL);
		assert_int_equal((int)os_count(got), 1);
		assert_int_equal(os_object_get_str(os_first(got), "ns", &s), 0);
		assert_string_equal(s, owners[i]);
		os_free(&got);
		assert_true(stt_count(fx->st, "private", owners[i], f) == 1);
		free(f);
	}
	assert_true(raw_int(fx, "SELECT count(*) FROM sqlite_master WHERE name='queue'") == 1);
	assert_true(stt_count(fx->st, "private", "victim@x", NULL) == 1);
	assert_true(raw_int(fx, "SELECT count(*) FROM private") == 6);
}

static void test_bad_calls(void **state)
{
	struct fixture *fx = *state;
	struct os *os = os_new(), *got;
	const char *error = NULL;
	int64_t n;

	os_object_put_str(os_object_new(os), "ns", "x");
	/* A type with no table, an unknown column, bad names: errors. */
	assert_int_equal(storage_put(fx->st, "no-such-table", "a@x", os, &error),
			 STORAGE_ERROR);
	assert_non_null(strstr(error, "no such table"));
	/* A misspelt key fails, rather than silently matching nothing. */
	assert_int_equal(storage_get(fx->st, "private", "a@x", "(nocolumn=1)", &got, &error),
			 STORAGE_ERROR);
	assert_non_null(strstr(error, "no such column"));
	assert_int_equal(storage_count(fx->st, "bad\"type", "a@x", NULL, &n, &error),
			 STORAGE_ERROR);
	assert_int_equal(storage_count(fx->st, "", "a@x", NULL, &n, &error), STORAGE_ERROR);
	assert_int_equal(storage_put(fx->st, "private", NULL, os, &error), STORAGE_ERROR);
	assert_int_equal(storage_put(fx->st, "private", "a@x", NULL, &error), STORAGE_ERROR);
	os_free(&os);
	/* The storage still works afterwards. */
	assert_true(stt_count(fx->st, "private", "a@x", NULL) == 0);
}

static void test_driver_routing(void **state)
{
	struct fixture *fx = *state;
	struct storage *st = storage_new(stt_opt_get, &fx->opts);
	struct os *os = os_new();
	const char *error = NULL;
	int64_t n;

	/* No driver at all: every type fails. */
	assert_int_equal(storage_count(st, "queue", "a@x", NULL, &n, &error), STORAGE_ERROR);
	assert_non_null(strstr(error, "no storage driver"));
	assert_int_equal(storage_add_type(st, "nosuch", NULL, &error), -1);
	assert_non_null(strstr(error, "unknown storage driver"));
	/* One type routed, no default. */
	assert_int_equal(storage_add_type(st, "sqlite", "queue", &error), 0);
	assert_int_equal(storage_add_type(st, "sqlite", "queue", &error), -1);
	assert_int_equal(storage_count(st, "queue", "a@x", NULL, &n, &error), STORAGE_OK);
	assert_int_equal(storage_count(st, "vcard", "a@x", NULL, &n, &error), STORAGE_ERROR);
	/* Then a default (the same instance) for the rest. */
	assert_int_equal(storage_add_type(st, "sqlite", NULL, &error), 0);
	assert_int_equal(storage_add_type(st, "sqlite", NULL, &error), -1);
	os_object_put_str(os_object_new(os), "fn", "A");
	assert_int_equal(storage_put(st, "vcard", "a@x", os, &error), STORAGE_OK);
	os_free(&os);
	/* Both storages see it: same file. */
	assert_true(stt_count(fx->st, "vcard", "a@x", NULL) == 1);
	storage_free(&st);
	assert_null(st);
}

static void test_open_errors(void **state)
{
	struct fixture *fx = *state;
	const char *error = NULL;
	char path[160];
	FILE *fp;

	stt_opt_set(&fx->opts, "storage.sqlite.busy-timeout", "soon");
	assert_int_equal(fx_open(fx, &error), -1);
	assert_non_null(strstr(error, "busy-timeout"));
	stt_opt_set(&fx->opts, "storage.sqlite.busy-timeout", "250");

	stt_opt_set(&fx->opts, "storage.sqlite.dbname", "/nonexistent-dir/x.db");
	assert_int_equal(fx_open(fx, &error), -1);
	assert_non_null(strstr(error, "cannot open"));

	/* A file that is not a database. */
	snprintf(path, sizeof(path), "%s/junk.db", fx->dir);
	fp = fopen(path, "w");
	fputs("this is not an SQLite database, just some text that is long enough\n", fp);
	fclose(fp);
	stt_opt_set(&fx->opts, "storage.sqlite.dbname", path);
	assert_int_equal(fx_open(fx, &error), -1);
	unlink(path);

	stt_opt_set(&fx->opts, "storage.sqlite.dbname", fx->db);
	stt_opt_set(&fx->opts, "storage.sqlite.sql", "THIS IS NOT SQL");
	assert_int_equal(fx_open(fx, &error), -1);
	/* The sql option runs on every open. */
	stt_opt_set(&fx->opts, "storage.sqlite.sql", "PRAGMA user_version = 42");
	assert_int_equal(fx_open(fx, &error), 0);
	assert_true(raw_int(fx, "PRAGMA user_version") == 42);

	stt_opt_set(&fx->opts, "storage.sqlite.dbname", NULL);
	assert_int_equal(fx_open(fx, &error), -1);
	assert_non_null(strstr(error, "dbname"));
	stt_opt_set(&fx->opts, "storage.sqlite.dbname", fx->db);
	assert_int_equal(fx_open(fx, &error), 0);
}

/* Another process holding the write lock: the operation waits for the
 * busy timeout, then fails cleanly, and works once the lock is gone. */
static void test_busy_timeout(void **state)
{
	struct fixture *fx = *state;
	struct os *os = os_new();
	const char *error = NULL;
	struct timespec t0, t1;
	sqlite3 *other;
	double ms;

	stt_opt_set(&fx->opts, "storage.sqlite.busy-timeout", "200");
	assert_int_equal(fx_open(fx, &error), 0);
	assert_int_equal(sqlite3_open(fx->db, &other), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	os_object_put_int(os_object_new(os), "time", 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(storage_put(fx->st, "active", "a@x", os, &error), STORAGE_ERROR);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	assert_true(ms >= 150 && ms < 5000);
	assert_non_null(strstr(error, "locked"));
	sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(other);
	stt_put_ok(fx->st, "active", "a@x", os);
	assert_true(stt_count(fx->st, "active", "a@x", NULL) == 1);
	os_free(&os);
}

/* take: the rows come back in order and are gone; a filter takes only
 * its rows. */
static void test_take(void **state)
{
	stt_take_basics(((struct fixture *)*state)->st);
}

/* Another sm on the same file is taking the queue (its transaction still
 * open): ours waits, gets nothing while it holds the rows, and nothing
 * after it committed. Reading then deleting would have handed us the
 * same rows from the snapshot WAL readers see. */
static void test_take_while_other_takes(void **state)
{
	struct fixture *fx = *state;
	struct os *os = os_new(), *got = NULL;
	const char *error = NULL;
	sqlite3 *other;

	stt_opt_set(&fx->opts, "storage.sqlite.busy-timeout", "100");
	assert_int_equal(fx_open(fx, &error), 0);
	for (int i = 1; i <= 5; i++)
		os_object_put_int(os_object_new(os), "time", i);
	stt_put_ok(fx->st, "active", "a@x", os);
	os_free(&os);
	assert_int_equal(sqlite3_open(fx->db, &other), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE; SELECT * FROM active; "
				      "DELETE FROM active WHERE \"collection-owner\" = 'a@x'",
				      NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(storage_take(fx->st, "active", "a@x", NULL, &got, &error),
			 STORAGE_ERROR);
	assert_null(got);
	assert_non_null(strstr(error, "locked"));
	assert_int_equal(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(other);
	assert_int_equal(storage_take(fx->st, "active", "a@x", NULL, &got, &error),
			 STORAGE_NOT_FOUND);
}

/* Two handles (two sms) take one queue at the same moment, 30 times:
 * each message goes to exactly one. */
static void test_take_race(void **state)
{
	struct fixture *fx = *state;
	struct storage *b = storage_new(stt_opt_get, &fx->opts);
	const char *error = NULL;

	assert_int_equal(storage_add_type(b, "sqlite", NULL, &error), 0);
	stt_race_take(fx->st, b, "a@x", 30, 50);
	storage_free(&b);
}

/* More statement shapes than the cache holds (so entries are evicted and
 * prepared again) still run correctly, round after round. */
static void test_statement_cache(void **state)
{
	struct fixture *fx = *state;
	struct os *os = os_new();
	struct buf f = { 0 };

	for (int i = 0; i < 10; i++)
		os_object_put_int(os_object_new(os), "time", i);
	stt_put_ok(fx->st, "motd-times", "a@x", os);
	os_free(&os);
	for (int round = 0; round < 3; round++) {
		/* OR of 1..100 terms: 100 distinct statements per round. */
		for (int n = 1; n <= 100; n++) {
			buf_reset(&f);
			buf_append_str(&f, "(|");
			for (int k = 0; k < n; k++)
				buf_printf(&f, "(time=%d)", k);
			buf_append_char(&f, ')');
			if (stt_count(fx->st, "motd-times", "a@x", f.data) != (n < 10 ? n : 10))
				fail_msg("round %d n %d", round, n);
		}
	}
	buf_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_new_database, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_nad, setup, teardown),
		cmocka_unit_test_setup_teardown(test_active_logout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prefix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_injection_verbatim, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_calls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_take, setup, teardown),
		cmocka_unit_test_setup_teardown(test_take_while_other_takes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_take_race, setup, teardown),
		cmocka_unit_test_setup_teardown(test_driver_routing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_busy_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_statement_cache, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
