/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_authreg_mysql: what only the mysql authreg backend has, on a
 * private MariaDB (storage/tests/my_harness; skipped without Debian's
 * mariadb-server): jabberd2's table created when missing, a jabberd2
 * database used as it is, configured table and column names, names full
 * of SQL quoting that stay data, a session the server killed, errors
 * that never show the password. What every backend does is in
 * test_authreg_backends.c.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "c2s/authreg.h"
#include "storage/tests/my_harness.h"
#include "util/config_file.h"

struct fixture {
	char db[32];
	struct config *cfg;
	struct authreg *ar;
};

static int serial;

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char sql[64];

	snprintf(f->db, sizeof(f->db), "r%d", ++serial);
	snprintf(sql, sizeof(sql), "CREATE DATABASE `%s`", f->db);
	*state = f;
	return myt_exec(sql);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char sql[64];

	authreg_free(&f->ar);
	config_free(&f->cfg);
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS `%s`", f->db);
	myt_exec(sql);
	free(f);
	return 0;
}

/* authreg "mysql" with the connection to the fixture's database as
 * `pass` and the extra <mysql> options `extra`; NULL with *error_r. */
static struct authreg *open_with(struct fixture *f, const char *pass, const char *extra,
				 const char **error_r)
{
	struct authreg_settings set = { .scram_iter = 64, .upgrade = 1 };
	char xml[1024];

	snprintf(xml, sizeof(xml),
		 "<c2s><authreg><mysql><host>127.0.0.1</host><port>%s</port><dbname>%s</dbname>"
		 "<user>" MYT_USER "</user><pass>%s</pass>%s</mysql></authreg></c2s>",
		 myt_port(), f->db, pass, extra);
	config_free(&f->cfg);
	f->cfg = config_load_mem("c2s.xml", xml, strlen(xml), NULL, error_r);
	assert_non_null(f->cfg);
	return authreg_new("mysql", f->cfg, &set, error_r);
}

static void open_ok(struct fixture *f, const char *extra)
{
	const char *error = NULL;

	f->ar = open_with(f, MYT_PASS, extra, &error);
	if (f->ar == NULL)
		fail_msg("authreg_new: %s", error);
}

/* Root's SQL with the fixture's database name for each %s (up to 2). */
static char *db_text(struct fixture *f, const char *fmt)
{
	char sql[512];

	snprintf(sql, sizeof(sql), fmt, f->db, f->db);
	return myt_text(sql);
}

static void db_exec(struct fixture *f, const char *fmt)
{
	char sql[512];

	snprintf(sql, sizeof(sql), fmt, f->db, f->db);
	assert_int_equal(myt_exec(sql), 0);
}

/* Missing: created with jabberd2's columns (TEXT, TINYTEXT, TINYTEXT),
 * kept across a reopen. */
static void test_table_created(void **state)
{
	struct fixture *f = *state;
	char *v;

	open_ok(f, "");
	v = db_text(f, "SELECT group_concat(column_name, ' ', column_type ORDER BY "
		    "ordinal_position) FROM information_schema.columns WHERE table_schema = '%s' "
		    "AND table_name = 'authreg'");
	assert_non_null(v);
	assert_string_equal(v, "username text,realm tinytext,password tinytext");
	free(v);
	assert_int_equal(authreg_create_user(f->ar, "cy", "localhost"), AUTHREG_OK);
	authreg_free(&f->ar);
	open_ok(f, "");
	assert_int_equal(authreg_user_exists(f->ar, "cy", "localhost"), AUTHREG_OK);
}

/* A jabberd2 row (plaintext, as Debian's c2s.xml stores them) in a table
 * jabberd2's script made: PLAIN works, and the "$scram$" it becomes fits
 * jabberd2's TINYTEXT. */
static void test_jabberd2_row(void **state)
{
	struct fixture *f = *state;
	char *v;

	db_exec(f, "CREATE TABLE `%s`.`authreg` (`username` TEXT, KEY `username` "
		"(`username`(255)), `realm` TINYTEXT, KEY `realm` (`realm`(255)), "
		"`password` TINYTEXT) DEFAULT CHARSET=UTF8");
	db_exec(f, "INSERT INTO `%s`.authreg VALUES ('gil', 'localhost', 'old-pw-9')");
	open_ok(f, "");
	assert_int_equal(authreg_check_password(f->ar, "gil", "localhost", "wrong"), AUTHREG_FAIL);
	assert_int_equal(authreg_check_password(f->ar, "gil", "localhost", "old-pw-9"),
			 AUTHREG_OK);
	v = db_text(f, "SELECT password FROM `%s`.authreg WHERE username = 'gil'");
	assert_non_null(v);
	assert_true(authreg_pw_is_scram(v));
	free(v);
	assert_int_equal(authreg_check_password(f->ar, "gil", "localhost", "old-pw-9"),
			 AUTHREG_OK);
}

/* table and field.* name where the accounts are. */
static void test_names_configured(void **state)
{
	struct fixture *f = *state;
	char *v;

	db_exec(f, "CREATE TABLE `%s`.`Users` (login TEXT, dom TEXT, secret TEXT)");
	db_exec(f, "INSERT INTO `%s`.`Users` VALUES ('dee', 'localhost', 'pw-d')");
	open_ok(f, "<table>Users</table><field><username>login</username><realm>dom</realm>"
		"<password>secret</password></field>");
	assert_int_equal(authreg_check_password(f->ar, "dee", "localhost", "pw-d"), AUTHREG_OK);
	assert_int_equal(authreg_create_user(f->ar, "eve", "localhost"), AUTHREG_OK);
	assert_int_equal(authreg_set_password(f->ar, "eve", "localhost", "pw-e"), AUTHREG_OK);
	v = db_text(f, "SELECT group_concat(login ORDER BY login) FROM `%s`.`Users`");
	assert_string_equal(v, "dee,eve");
	free(v);
	v = db_text(f, "SELECT count(*) FROM information_schema.tables WHERE table_schema = "
		    "'%s' AND table_name = 'authreg'");
	assert_string_equal(v, "0");
	free(v);
}

/* Names are parameters: quotes, backslashes and SQL in them are data. */
static void test_quoting(void **state)
{
	struct fixture *f = *state;
	static const char *const names[] = {
		"o'neil", "x\"); DROP TABLE authreg; --", "back\\slash", "tick`", "?",
	};
	char *v;

	open_ok(f, "");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(authreg_create_user(f->ar, names[i], "localhost"), AUTHREG_OK);
		assert_int_equal(authreg_set_password(f->ar, names[i], "localhost", names[i]),
				 AUTHREG_OK);
		assert_int_equal(authreg_check_password(f->ar, names[i], "localhost", names[i]),
				 AUTHREG_OK);
	}
	v = db_text(f, "SELECT count(*) FROM `%s`.authreg");
	assert_string_equal(v, "5");
	free(v);
}

/* The server kills the session: the next call reconnects and works. */
static void test_reconnect(void **state)
{
	struct fixture *f = *state;

	open_ok(f, "");
	assert_int_equal(authreg_create_user(f->ar, "fay", "localhost"), AUTHREG_OK);
	for (int round = 0; round < 2; round++) {
		long long id = myt_int("SELECT id FROM information_schema.processlist "
				       "WHERE user = '" MYT_USER "' LIMIT 1");
		char sql[64];

		assert_true(id > 0);
		snprintf(sql, sizeof(sql), "KILL %lld", id);
		assert_int_equal(myt_exec(sql), 0);
		if (round == 0)
			assert_int_equal(authreg_user_exists(f->ar, "fay", "localhost"),
					 AUTHREG_OK);
		else
			assert_int_equal(authreg_set_password(f->ar, "fay", "localhost", "pw-f"),
					 AUTHREG_OK);
	}
	assert_int_equal(authreg_check_password(f->ar, "fay", "localhost", "pw-f"), AUTHREG_OK);
}

/* A wrong password: a clear error, never the password; bcrypt refused. */
static void test_open_errors(void **state)
{
	struct fixture *f = *state;
	const char *error = NULL;

	assert_null(open_with(f, "wrong-pw-77", "", &error));
	assert_non_null(strstr(error, "authreg.mysql: cannot connect"));
	assert_non_null(strstr(error, "Access denied"));
	assert_null(strstr(error, "wrong-pw-77"));
	assert_null(open_with(f, MYT_PASS, "<password_type><bcrypt cost='10'/></password_type>",
			      &error));
	assert_non_null(strstr(error, "bcrypt"));
}

#define TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_table_created),
		TEST(test_jabberd2_row),
		TEST(test_names_configured),
		TEST(test_quoting),
		TEST(test_reconnect),
		TEST(test_open_errors),
	};

	return MYT_RUN_GROUP("test_authreg_mysql", tests);
}
