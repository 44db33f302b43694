/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_authreg_backends: what every SQL authreg backend must do, one list
 * of cases run over every backend built in: sqlite (a file in a
 * temporary directory), pgsql (a private PostgreSQL, pg_harness.c) and
 * mysql (a private MariaDB on loopback, my_harness.c). Registration
 * stores "$scram$" hashes, PLAIN and SCRAM secrets work, rows as jabberd2
 * wrote them (plaintext, crypt, a1hash) log in and are upgraded after a
 * good login. A backend whose server is not installed is skipped (and
 * said so). What one backend alone has stays in test_authreg.c and
 * test_authreg_pgsql.c.
 */
#include "config.h"

#include <crypt.h>
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
#ifdef HAVE_PGSQL
#include "storage/tests/pg_harness.h"
#endif
#ifdef HAVE_MYSQL
#include "storage/tests/my_harness.h"
#endif
#include "sx/sx.h"
#include "util/config_file.h"

struct fixture {
	char dir[64], db[96];  /* sqlite: the file; pgsql, mysql: the database */
#ifdef HAVE_PGSQL
	struct pgt_fixture *pg;
#endif
	struct config *cfg;
	struct authreg *ar;
};

/* A backend: its server (start NULL: none), a fresh database with the
 * c2s.xml <authreg> section pointing at it, and raw SQL on it, as an
 * administrator would run it (SQL text, one statement; `text` returns the
 * first column of the first row, or NULL). */
struct backend {
	const char *name;
	int (*start)(const char **why_r);
	void (*stop)(void);
	int (*create)(struct fixture *f, char *xml, size_t size);
	void (*drop)(struct fixture *f);
	void (*exec)(struct fixture *f, const char *sql);
	char *(*text)(struct fixture *f, const char *sql);
};

static const struct backend *current;

/* ---- sqlite ---- */

static int sqlite_create(struct fixture *f, char *xml, size_t size)
{
	strcpy(f->dir, "/tmp/test_authreg.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->db, sizeof(f->db), "%s/auth.db", f->dir);
	snprintf(xml, size, "<sqlite><dbname>%s</dbname></sqlite>", f->db);
	return 0;
}

static void sqlite_drop(struct fixture *f)
{
	char side[128];

	unlink(f->db);
	for (int i = 0; i < 2; i++) {
		snprintf(side, sizeof(side), "%s%s", f->db, i == 0 ? "-wal" : "-shm");
		unlink(side);
	}
	rmdir(f->dir);
}

static void sqlite_exec(struct fixture *f, const char *sql)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static char *sqlite_text(struct fixture *f, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	char *out = NULL;

	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL)
		out = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return out;
}

/* ---- pgsql ---- */

#ifdef HAVE_PGSQL
static int pgsql_create(struct fixture *f, char *xml, size_t size)
{
	f->pg = pgt_fixture_new();
	snprintf(f->db, sizeof(f->db), "%s", f->pg->dbname);
	snprintf(xml, size, "<pgsql><host>%s</host><port>%s</port><dbname>%s</dbname>"
		 "<user>%s</user></pgsql>", pgt_host(), pgt_port(), f->db, PGT_SUPERUSER);
	return 0;
}

static void pgsql_drop(struct fixture *f)
{
	void *fx = f->pg;

	pgt_teardown(&fx);
}

static void pgsql_exec(struct fixture *f, const char *sql)
{
	pgt_exec(f->db, sql, 0);
}

static char *pgsql_text(struct fixture *f, const char *sql)
{
	char *rows = pgt_query(f->pg, sql), *out = NULL;

	if (rows[0] != '\0' && strcmp(rows, "NULL\n") != 0) {
		out = strdup(rows);
		out[strcspn(out, "\n")] = '\0';
	}
	free(rows);
	return out;
}
#endif

/* ---- mysql ---- */

#ifdef HAVE_MYSQL
static int serial;

static int mysql_create(struct fixture *f, char *xml, size_t size)
{
	char sql[128];

	snprintf(f->db, sizeof(f->db), "a%d", ++serial);
	snprintf(sql, sizeof(sql), "CREATE DATABASE `%s`", f->db);
	if (myt_exec(sql) < 0)
		return -1;
	snprintf(xml, size, "<mysql><host>127.0.0.1</host><port>%s</port><dbname>%s</dbname>"
		 "<user>" MYT_USER "</user><pass>" MYT_PASS "</pass></mysql>", myt_port(), f->db);
	return 0;
}

static void mysql_drop(struct fixture *f)
{
	char sql[128];

	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS `%s`", f->db);
	myt_exec(sql);
}

/* The harness's root connection has no database: it is named here. */
static char *mysql_in_db(struct fixture *f, const char *sql)
{
	size_t len = strlen(sql) + strlen(f->db) + 16;
	char *full = malloc(len);

	/* The cases' SQL names the table "authreg" once, after FROM/INTO. */
	const char *t = strstr(sql, "authreg");

	assert_non_null(t);
	snprintf(full, len, "%.*s`%s`.%s", (int)(t - sql), sql, f->db, t);
	return full;
}

static void mysql_exec(struct fixture *f, const char *sql)
{
	char *full = mysql_in_db(f, sql);

	assert_int_equal(myt_exec(full), 0);
	free(full);
}

static char *mysql_text(struct fixture *f, const char *sql)
{
	char *full = mysql_in_db(f, sql), *v = myt_text(full);

	free(full);
	return v;
}
#endif

static const struct backend backends[] = {
	{ "sqlite", NULL, NULL, sqlite_create, sqlite_drop, sqlite_exec, sqlite_text },
#ifdef HAVE_PGSQL
	{ "pgsql", pgt_start, pgt_stop, pgsql_create, pgsql_drop, pgsql_exec, pgsql_text },
#endif
#ifdef HAVE_MYSQL
	{ "mysql", myt_start, myt_stop, mysql_create, mysql_drop, mysql_exec, mysql_text },
#endif
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char section[512], xml[640];
	const char *error;

	*state = f;
	if (f == NULL || current->create(f, section, sizeof(section)) < 0)
		return -1;
	snprintf(xml, sizeof(xml), "<c2s><authreg>%s</authreg></c2s>", section);
	f->cfg = config_load_mem("c2s.xml", xml, strlen(xml), NULL, &error);
	return f->cfg != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f == NULL)
		return 0;
	authreg_free(&f->ar);
	config_free(&f->cfg);
	current->drop(f);
	free(f);
	return 0;
}

static struct authreg *open_ar(struct fixture *f, int upgrade, enum authreg_legacy legacy)
{
	struct authreg_settings set = { .scram_iter = 64, .upgrade = upgrade, .legacy = legacy };
	const char *error = NULL;
	struct authreg *ar = authreg_new(current->name, f->cfg, &set, &error);

	if (ar == NULL)
		fail_msg("authreg_new(%s): %s", current->name, error);
	return ar;
}

/* What the password column of `user` holds, read directly. */
static char *column(struct fixture *f, const char *user)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "SELECT password FROM authreg WHERE username = '%s'", user);
	return current->text(f, sql);
}

/* A row as jabberd2 writes it (the cases' values hold no quote). */
static void put_row(struct fixture *f, const char *user, const char *realm, const char *pw)
{
	char sql[512];

	snprintf(sql, sizeof(sql),
		 "INSERT INTO authreg (username, realm, password) VALUES ('%s', '%s', '%s')",
		 user, realm, pw);
	current->exec(f, sql);
}

/* ---- the cases ---- */

static void test_register_login_delete(void **state)
{
	struct fixture *f = *state;
	struct sx_sasl_secret sec = { 0 };
	char *col;

	f->ar = open_ar(f, 1, AUTHREG_LEGACY_PLAINTEXT);
	assert_int_equal(authreg_user_exists(f->ar, "ann", "localhost"), AUTHREG_FAIL);
	assert_int_equal(authreg_create_user(f->ar, "ann", "localhost"), AUTHREG_OK);
	assert_int_equal(authreg_create_user(f->ar, "ann", "localhost"), AUTHREG_FAIL);
	assert_int_equal(authreg_user_exists(f->ar, "ann", "localhost"), AUTHREG_OK);
	/* Created, no password yet: nothing logs in. */
	assert_int_equal(authreg_check_password(f->ar, "ann", "localhost", ""), AUTHREG_FAIL);
	assert_int_equal(authreg_set_password(f->ar, "ann", "localhost", "pw1"), AUTHREG_OK);
	assert_int_equal(authreg_set_password(f->ar, "nobody", "localhost", "pw1"), AUTHREG_FAIL);
	col = column(f, "ann");
	assert_non_null(col);
	assert_true(authreg_pw_is_scram(col));
	assert_null(strstr(col, "pw1"));
	free(col);
	assert_int_equal(authreg_check_password(f->ar, "ann", "localhost", "pw1"), AUTHREG_OK);
	assert_int_equal(authreg_check_password(f->ar, "ann", "localhost", "pw2"), AUTHREG_FAIL);
	assert_int_equal(authreg_check_password(f->ar, "ann", "elsewhere", "pw1"), AUTHREG_FAIL);
	assert_int_equal(authreg_get_secret(f->ar, "ann", "localhost", "SHA-256", &sec),
			 AUTHREG_OK);
	assert_null(sec.password);
	assert_int_equal(sec.key_len, 32);
	assert_int_equal(sec.iter, 64);
	assert_int_equal(authreg_delete_user(f->ar, "ann", "localhost"), AUTHREG_OK);
	assert_int_equal(authreg_delete_user(f->ar, "ann", "localhost"), AUTHREG_FAIL);
	assert_int_equal(authreg_user_exists(f->ar, "ann", "localhost"), AUTHREG_FAIL);
}

/* A jabberd2 plaintext row: SCRAM gets the password, PLAIN works, and the
 * row becomes "$scram$" after the first good login (not after a bad one). */
static void test_plaintext_row_upgraded(void **state)
{
	struct fixture *f = *state;
	struct sx_sasl_secret sec = { 0 };
	char *col;

	f->ar = open_ar(f, 1, AUTHREG_LEGACY_PLAINTEXT);
	put_row(f, "bob", "localhost", "old-secret");
	assert_int_equal(authreg_get_secret(f->ar, "bob", "localhost", "SHA-256", &sec), AUTHREG_OK);
	assert_non_null(sec.password);
	assert_string_equal(sec.password, "old-secret");
	free(sec.password);
	assert_int_equal(authreg_check_password(f->ar, "bob", "localhost", "wrong"), AUTHREG_FAIL);
	col = column(f, "bob");
	assert_string_equal(col, "old-secret");
	free(col);
	assert_int_equal(authreg_check_password(f->ar, "bob", "localhost", "old-secret"), AUTHREG_OK);
	col = column(f, "bob");
	assert_true(authreg_pw_is_scram(col));
	free(col);
	assert_int_equal(authreg_check_password(f->ar, "bob", "localhost", "old-secret"), AUTHREG_OK);
}

static void test_plaintext_row_kept_without_upgrade(void **state)
{
	struct fixture *f = *state;
	char *col;

	f->ar = open_ar(f, 0, AUTHREG_LEGACY_PLAINTEXT);
	put_row(f, "cy", "localhost", "pw");
	assert_int_equal(authreg_check_password(f->ar, "cy", "localhost", "pw"), AUTHREG_OK);
	col = column(f, "cy");
	assert_string_equal(col, "pw");
	free(col);
	/* SCRAM login from plaintext then "upgrade" is a no-op too. */
	assert_int_equal(authreg_upgrade(f->ar, "cy", "localhost", "pw"), AUTHREG_OK);
	col = column(f, "cy");
	assert_string_equal(col, "pw");
	free(col);
}

/* An upgrade with a stale password (changed meanwhile) leaves the row. */
static void test_upgrade_needs_current_password(void **state)
{
	struct fixture *f = *state;
	char *col;

	f->ar = open_ar(f, 1, AUTHREG_LEGACY_PLAINTEXT);
	put_row(f, "di", "localhost", "new");
	assert_int_equal(authreg_upgrade(f->ar, "di", "localhost", "old"), AUTHREG_OK);
	col = column(f, "di");
	assert_string_equal(col, "new");
	free(col);
}

static void test_crypt_row(void **state)
{
	struct fixture *f = *state;
	struct sx_sasl_secret sec = { 0 };
	struct crypt_data cd = { 0 };
	const char *h = crypt_r("hunter2", "$6$rounds=5000$abcdefghijklmnop", &cd);
	char *col;

	f->ar = open_ar(f, 1, AUTHREG_LEGACY_CRYPT);
	assert_non_null(h);
	put_row(f, "eve", "localhost", h);
	/* SCRAM cannot use a crypt hash. */
	assert_int_equal(authreg_get_secret(f->ar, "eve", "localhost", "SHA-1", &sec), AUTHREG_FAIL);
	assert_int_equal(authreg_check_password(f->ar, "eve", "localhost", "hunter3"), AUTHREG_FAIL);
	assert_int_equal(authreg_check_password(f->ar, "eve", "localhost", "hunter2"), AUTHREG_OK);
	col = column(f, "eve");
	assert_true(authreg_pw_is_scram(col));
	free(col);
	assert_int_equal(authreg_get_secret(f->ar, "eve", "localhost", "SHA-1", &sec), AUTHREG_OK);
}

static void test_a1hash_row(void **state)
{
	struct fixture *f = *state;

	f->ar = open_ar(f, 0, AUTHREG_LEGACY_A1HASH);
	/* md5("fay:localhost:pw") */
	put_row(f, "fay", "localhost", "fa7d52bb1267d1c2190c1bd3174229b4");
	assert_int_equal(authreg_check_password(f->ar, "fay", "localhost", "nope"), AUTHREG_FAIL);
	assert_int_equal(authreg_check_password(f->ar, "fay", "localhost", "pw"), AUTHREG_OK);
}

static void test_store_plaintext(void **state)
{
	struct fixture *f = *state;
	struct authreg_settings set = { .store_plaintext = 1 };
	const char *error;
	char *col;

	f->ar = authreg_new(current->name, f->cfg, &set, &error);
	assert_non_null(f->ar);
	assert_int_equal(authreg_create_user(f->ar, "gus", "localhost"), AUTHREG_OK);
	assert_int_equal(authreg_set_password(f->ar, "gus", "localhost", "clear"), AUTHREG_OK);
	col = column(f, "gus");
	assert_string_equal(col, "clear");
	free(col);
}

/* ---- the one list, over every backend ---- */

#define CASE(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		CASE(test_register_login_delete),
		CASE(test_plaintext_row_upgraded),
		CASE(test_plaintext_row_kept_without_upgrade),
		CASE(test_upgrade_needs_current_password),
		CASE(test_crypt_row),
		CASE(test_a1hash_row),
		CASE(test_store_plaintext),
	};
	int failed = 0;

	for (size_t b = 0; b < sizeof(backends) / sizeof(backends[0]); b++) {
		const char *why = NULL;
		char group[64];

		current = &backends[b];
		if (current->start != NULL) {
			int rc = current->start(&why);

			if (rc == 1) {
				fprintf(stderr, "test_authreg_backends: %s: SKIP: %s\n",
					current->name, why);
				continue;
			}
			if (rc < 0) {
				fprintf(stderr, "test_authreg_backends: %s: cannot start its "
					"server: %s\n", current->name, why);
				failed++;
				continue;
			}
		}
		snprintf(group, sizeof(group), "authreg over %s", current->name);
		failed += _cmocka_run_group_tests(group, tests, sizeof(tests) / sizeof(tests[0]),
						  NULL, NULL);
		if (current->stop != NULL)
			current->stop();
	}
	return failed;
}
