/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What only the mysql storage driver has, on a private MariaDB
 * (my_harness.c; skipped without Debian's mariadb-server): a database
 * made by jabberd2's own db-setup.mysql is used as it is (only our
 * tables added) and rows jabberd2 wrote read back typed; what we write
 * is what jabberd2 reads (TINYINT 1/0); four-byte UTF-8 and SQL quoting
 * stay data; the prefix; connection errors that never show the password;
 * a connection the server killed is re-established. The cases every
 * driver shares are in test_backends.c.
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
#include "storage/tests/my_harness.h"
#include "storage/tests/storage_test.h"
#include "util/buf.h"

struct fixture {
	char db[32];
	struct stt_opts opts;
	struct storage *st;
};

static int serial;

static int fx_open(struct fixture *fx, const char **error_r)
{
	storage_free(&fx->st);
	fx->st = storage_new(stt_opt_get, &fx->opts);
	return storage_add_type(fx->st, "mysql", NULL, error_r);
}

static void fx_open_ok(struct fixture *fx)
{
	const char *error = NULL;

	if (fx_open(fx, &error) < 0)
		fail_msg("open: %s", error);
}

/* A fresh database and options for it; not opened. */
static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char sql[64];

	snprintf(fx->db, sizeof(fx->db), "m%d", ++serial);
	snprintf(sql, sizeof(sql), "CREATE DATABASE `%s`", fx->db);
	if (myt_exec(sql) < 0)
		return -1;
	stt_opt_set(&fx->opts, "storage.mysql.host", "127.0.0.1");
	stt_opt_set(&fx->opts, "storage.mysql.port", myt_port());
	stt_opt_set(&fx->opts, "storage.mysql.dbname", fx->db);
	stt_opt_set(&fx->opts, "storage.mysql.user", MYT_USER);
	stt_opt_set(&fx->opts, "storage.mysql.pass", MYT_PASS);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char sql[64];

	storage_free(&fx->st);
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS `%s`", fx->db);
	myt_exec(sql);
	free(fx);
	return 0;
}

/* SQL run as root in the fixture's database (its text has one %s: the
 * database name, put before each table it names). */
static long long db_int(struct fixture *fx, const char *fmt)
{
	char sql[512];

	snprintf(sql, sizeof(sql), fmt, fx->db);
	return myt_int(sql);
}

static char *db_text(struct fixture *fx, const char *fmt)
{
	char sql[512];

	snprintf(sql, sizeof(sql), fmt, fx->db);
	return myt_text(sql);
}

/* jabberd2's db-setup.mysql, without its CREATE DATABASE and USE, run in
 * the fixture's database with the mariadb client; skips without it. */
static void load_jabberd2(struct fixture *fx)
{
	static const char *const places[] = {
		"/usr/share/doc/jabberd2/db-setup.mysql.gz",
		"/usr/share/doc/jabberd2/db-setup.mysql",
	};
	const char *env = getenv("JABBERD2_MYSQL_SETUP");
	char cmd[1024];
	const char *path = NULL;

	if (env != NULL && access(env, R_OK) == 0)
		path = env;
	for (size_t i = 0; path == NULL && i < 2; i++)
		if (access(places[i], R_OK) == 0)
			path = places[i];
	if (path == NULL) {
		fprintf(stderr, "jabberd2's db-setup.mysql not found: skipped\n");
		skip();
	}
	snprintf(cmd, sizeof(cmd),
		 "zcat -f '%s' | grep -v -E '^(CREATE DATABASE|USE) jabberd2;$' | "
		 "mariadb --no-defaults -S '%s' -uroot -D '%s'", path, myt_socket(), fx->db);
	assert_int_equal(system(cmd), 0);
}

/* ---- the tests ---- */

/* A database jabberd2's script made: used as it is, only the tables it
 * lacks added; its rows read back with their types; ours are written as
 * jabberd2 reads them. */
static void test_jabberd2_database(void **state)
{
	struct fixture *fx = *state;
	struct os *os = os_new(), *got;
	struct os_object *o;
	int to = -1, from = -1;
	int64_t ask = -1;
	char *v;

	load_jabberd2(fx);
	assert_int_equal(db_int(fx, "SELECT count(*) FROM information_schema.tables "
				"WHERE table_schema = '%s'"), 14);
	{
		char sql[512];

		snprintf(sql, sizeof(sql),
			 "INSERT INTO `%s`.`roster-items` (`collection-owner`, jid, name, `to`, "
			 "`from`, ask) VALUES ('alice@example.org', 'bob@example.org', 'Bob', 1, "
			 "0, 2)", fx->db);
		assert_int_equal(myt_exec(sql), 0);
	}
	fx_open_ok(fx);
	/* Our eight tables, nothing else changed. */
	assert_int_equal(db_int(fx, "SELECT count(*) FROM information_schema.tables "
				"WHERE table_schema = '%s'"), 22);
	got = stt_get_ok(fx->st, "roster-items", "alice@example.org", NULL);
	o = os_first(got);
	stt_assert_column(got, "name", "Bob");
	assert_int_equal(os_object_get_bool(o, "to", &to), 0);
	assert_int_equal(os_object_get_bool(o, "from", &from), 0);
	assert_int_equal(os_object_get_int(o, "ask", &ask), 0);
	assert_int_equal(to, 1);
	assert_int_equal(from, 0);
	assert_true(ask == 2);
	os_free(&got);
	/* Written by us: TINYINT 1/0, as jabberd2's driver reads them. */
	stt_roster_item(os, "carol@example.org", "Carol", 0, 1, 0);
	stt_put_ok(fx->st, "roster-items", "dave@example.org", os);
	os_free(&os);
	v = db_text(fx, "SELECT concat(`to`, ',', `from`, ',', ask, ',', name) FROM "
			"`%s`.`roster-items` WHERE `collection-owner` = 'dave@example.org'");
	assert_non_null(v);
	assert_string_equal(v, "0,1,0,Carol");
	free(v);
}

/* A fresh database gets the whole schema, in utf8mb4: four-byte
 * characters (outside MySQL's three-byte "utf8") survive. */
static void test_new_database_utf8mb4(void **state)
{
	struct fixture *fx = *state;
	static const char name[] = "Caf\xc3\xa9 \xf0\x9f\x98\x80 \xe6\x97\xa5";
	struct os *os = os_new(), *got;

	fx_open_ok(fx);
	assert_int_equal(db_int(fx, "SELECT count(*) FROM information_schema.tables "
				"WHERE table_schema = '%s'"), 22);
	assert_int_equal(db_int(fx, "SELECT count(*) FROM information_schema.tables "
				"WHERE table_schema = '%s' AND table_collation NOT LIKE 'utf8mb4%%'"),
			 0);
	stt_roster_item(os, "x@example.org", name, 1, 1, 0);
	stt_put_ok(fx->st, "roster-items", "a@example.org", os);
	os_free(&os);
	got = stt_get_ok(fx->st, "roster-items", "a@example.org", NULL);
	stt_assert_column(got, "name", name);
	os_free(&got);
}

/* Quotes of every kind, backslashes (which MySQL escapes in literals) and
 * a prefix that needs quoting: data and names, never SQL. */
static void test_quoting(void **state)
{
	struct fixture *fx = *state;
	static const char *const values[] = {
		"a'b", "a\"b", "a`b", "a\\", "\\'; DROP TABLE queue; --", "%", "_", "?",
	};
	struct os *os;

	stt_opt_set(&fx->opts, "storage.mysql.prefix", "j`d\"_");
	fx_open_ok(fx);
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		char *filter = storage_filter_str("ns", values[i]);
		struct os *got;

		os = os_new();
		os_object_put_str(os_object_new(os), "ns", values[i]);
		os_object_put_str(os_object_new(os), "ns", "other");
		stt_put_ok(fx->st, "private", values[i], os);
		os_free(&os);
		got = stt_get_ok(fx->st, "private", values[i], filter);
		stt_assert_column(got, "ns", values[i]);
		os_free(&got);
		assert_true(stt_count(fx->st, "private", values[i], NULL) == 2);
		free(filter);
	}
	assert_int_equal(db_int(fx, "SELECT count(*) FROM `%s`.`j``d\"_private`"), 16);
}

/* Wrong password, unknown database, a bad port: errors that say what
 * failed and where, and never the password. */
static void test_open_errors(void **state)
{
	struct fixture *fx = *state;
	const char *error = NULL;

	stt_opt_set(&fx->opts, "storage.mysql.pass", "Wr0ng-" MYT_PASS);
	assert_int_equal(fx_open(fx, &error), -1);
	assert_non_null(strstr(error, "Access denied"));
	assert_non_null(strstr(error, "as user '" MYT_USER "'"));
	assert_null(strstr(error, MYT_PASS));
	stt_opt_set(&fx->opts, "storage.mysql.pass", MYT_PASS);
	stt_opt_set(&fx->opts, "storage.mysql.dbname", "no_such_db");
	assert_int_equal(fx_open(fx, &error), -1);
	assert_non_null(strstr(error, "no_such_db"));
	stt_opt_set(&fx->opts, "storage.mysql.dbname", fx->db);
	stt_opt_set(&fx->opts, "storage.mysql.port", "99999");
	assert_int_equal(fx_open(fx, &error), -1);
	assert_non_null(strstr(error, "storage.mysql.port"));
}

/* The server ends the session (as on a restart or wait_timeout): the next
 * operation reconnects and succeeds. */
static void test_reconnect(void **state)
{
	struct fixture *fx = *state;
	struct os *os = os_new(), *got;
	long long id;
	char sql[96];

	fx_open_ok(fx);
	os_object_put_str(os_object_new(os), "xml", "NAD<x/>");
	stt_put_ok(fx->st, "queue", "a@b", os);
	id = myt_int("SELECT id FROM information_schema.processlist WHERE user = '" MYT_USER
		     "' LIMIT 1");
	assert_true(id > 0);
	snprintf(sql, sizeof(sql), "KILL %lld", id);
	assert_int_equal(myt_exec(sql), 0);
	got = stt_get_ok(fx->st, "queue", "a@b", NULL);
	assert_int_equal((int)os_count(got), 1);
	os_free(&got);
	stt_put_ok(fx->st, "queue", "a@b", os);
	assert_true(stt_count(fx->st, "queue", "a@b", NULL) == 2);
	os_free(&os);
}

/* The transactions option (jabberd2's <transactions/>) is taken and
 * writes still work; a replace is atomic. */
static void test_transactions_option(void **state)
{
	struct fixture *fx = *state;
	struct os *os = os_new(), *got;
	const char *error = NULL;

	stt_opt_set(&fx->opts, "storage.mysql.transactions", "");
	fx_open_ok(fx);
	stt_roster_item(os, "a@x", NULL, 1, 1, 0);
	stt_put_ok(fx->st, "roster-items", "o@x", os);
	os_free(&os);
	/* A replace whose insert fails (jid NOT NULL in "published-roster")
	 * leaves the old rows. */
	os = os_new();
	os_object_put_str(os_object_new(os), "jid", "p@x");
	os_object_put_bool(os_first(os), "to", 1);
	os_object_put_bool(os_first(os), "from", 1);
	os_object_put_int(os_first(os), "ask", 0);
	stt_put_ok(fx->st, "published-roster", "o@x", os);
	os_free(&os);
	os = os_new();
	os_object_put_str(os_object_new(os), "name", "no jid");
	assert_int_equal(storage_replace(fx->st, "published-roster", "o@x", NULL, os, &error),
			 STORAGE_ERROR);
	os_free(&os);
	got = stt_get_ok(fx->st, "published-roster", "o@x", NULL);
	stt_assert_column(got, "jid", "p@x");
	os_free(&got);
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_jabberd2_database),
		TEST(test_new_database_utf8mb4),
		TEST(test_quoting),
		TEST(test_open_errors),
		TEST(test_reconnect),
		TEST(test_transactions_option),
	};

	return MYT_RUN_GROUP("test_mysql", tests);
}
