/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_authreg_pgsql: the pgsql authreg backend against a private
 * PostgreSQL server (storage/tests/pg_harness; skipped without Debian's
 * postgresql): registration stores "$scram$" hashes, PLAIN and SCRAM
 * secrets, a jabberd2 plaintext row on jabberd2's own schema upgraded
 * after a login, the table created when missing, configured table and
 * column names, a name full of SQL quoting that stays data, a session the
 * server ended, and connection errors that name no password.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "c2s/authreg.h"
#include "storage/tests/pg_harness.h"
#include "sx/sx.h"
#include "util/config_file.h"

struct fixture {
	struct pgt_fixture *fx;
	struct config *cfg;
	struct authreg *ar;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->fx = pgt_fixture_new();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	void *fx = f->fx;

	authreg_free(&f->ar);
	config_free(&f->cfg);
	pgt_teardown(&fx);
	free(f);
	return 0;
}

/* Open the backend with authreg.pgsql options `extra` (XML) beside the
 * connection to the fixture's database. Returns the authreg or NULL with
 * *error_r. */
static struct authreg *open_with(struct fixture *f, const char *extra, int upgrade,
				 const char **error_r)
{
	struct authreg_settings set = { .scram_iter = 64, .upgrade = upgrade };
	char xml[1024];

	snprintf(xml, sizeof(xml),
		 "<c2s><authreg><pgsql><host>%s</host><port>%s</port><dbname>%s</dbname>"
		 "<user>%s</user>%s</pgsql></authreg></c2s>",
		 pgt_host(), pgt_port(), f->fx->dbname, PGT_SUPERUSER, extra);
	config_free(&f->cfg);
	f->cfg = config_load_mem("c2s.xml", xml, strlen(xml), NULL, error_r);
	assert_non_null(f->cfg);
	return authreg_new("pgsql", f->cfg, &set, error_r);
}

static void open_ok(struct fixture *f, const char *extra, int upgrade)
{
	const char *error = NULL;

	f->ar = open_with(f, extra, upgrade, &error);
	if (f->ar == NULL)
		fail_msg("authreg_new: %s", error);
}

/* The password column of `user` (NULL for SQL NULL or no row). */
static char *column(struct fixture *f, const char *table_sql, const char *user)
{
	char sql[256], *rows, *out = NULL;

	snprintf(sql, sizeof(sql), "SELECT %s WHERE username = '%s'", table_sql, user);
	rows = pgt_query(f->fx, sql);
	if (rows[0] != '\0' && strcmp(rows, "NULL\n") != 0) {
		out = strdup(rows);
		out[strcspn(out, "\n")] = '\0';
	}
	free(rows);
	return out;
}

/* jabberd2's own db-setup.pgsql, a row as jabberd2 wrote it: PLAIN and
 * SCRAM (from the password) work, and the row becomes "$scram$" after the
 * first good login, still within jabberd2's varchar(256). */
static void test_jabberd2_plaintext_row(void **state)
{
	struct fixture *f = *state;
	struct sx_sasl_secret sec = { 0 };
	char *col;

	pgt_load_jabberd2(f->fx);
	pgt_exec(f->fx->dbname, "INSERT INTO authreg VALUES ('bob', 'localhost', 'old-secret')", 0);
	open_ok(f, "", 1);
	assert_int_equal(authreg_get_secret(f->ar, "bob", "localhost", "SHA-1", &sec), AUTHREG_OK);
	assert_string_equal(sec.password, "old-secret");
	free(sec.password);
	assert_int_equal(authreg_check_password(f->ar, "bob", "localhost", "wrong"), AUTHREG_FAIL);
	col = column(f, "password FROM authreg", "bob");
	assert_string_equal(col, "old-secret");
	free(col);
	assert_int_equal(authreg_check_password(f->ar, "bob", "localhost", "old-secret"),
			 AUTHREG_OK);
	col = column(f, "password FROM authreg", "bob");
	assert_true(authreg_pw_is_scram(col));
	assert_true(strlen(col) <= 256);
	free(col);
	assert_int_equal(authreg_check_password(f->ar, "bob", "localhost", "old-secret"),
			 AUTHREG_OK);
}

/* No table yet: it is created as jabberd2 defines it (the primary key on
 * username and realm included), and opening again leaves it alone. */
static void test_table_created(void **state)
{
	struct fixture *f = *state;

	open_ok(f, "", 1);
	pgt_assert_query(f->fx,
			 "SELECT column_name, data_type, character_maximum_length, is_nullable "
			 "FROM information_schema.columns WHERE table_name = 'authreg' "
			 "ORDER BY ordinal_position",
			 "username|character varying|1023|NO\n"
			 "realm|character varying|1023|NO\n"
			 "password|character varying|256|YES\n");
	pgt_assert_query(f->fx,
			 "SELECT count(*) FROM information_schema.table_constraints "
			 "WHERE table_name = 'authreg' AND constraint_type = 'PRIMARY KEY'",
			 "1\n");
	pgt_assert_query(f->fx, "SELECT indexname FROM pg_indexes WHERE tablename = 'authreg'"
			 " AND indexname LIKE 'i_%' ORDER BY 1",
			 "i_authreg_realm\ni_authreg_username\n");
	assert_int_equal(authreg_create_user(f->ar, "cy", "localhost"), AUTHREG_OK);
	authreg_free(&f->ar);
	open_ok(f, "", 1);
	assert_int_equal(authreg_user_exists(f->ar, "cy", "localhost"), AUTHREG_OK);
}

/* authreg.pgsql.schema, table and field.* name where the accounts are. */
static void test_names_configured(void **state)
{
	struct fixture *f = *state;
	char *col;

	pgt_exec(f->fx->dbname, "CREATE SCHEMA site;"
		 "CREATE TABLE site.\"Users\" (\"login\" text NOT NULL, \"dom\" text NOT NULL,"
		 " \"secret\" text);"
		 "INSERT INTO site.\"Users\" VALUES ('dee', 'localhost', 'pw-d')", 0);
	open_ok(f, "<schema>site</schema><table>Users</table><field><username>login</username>"
		"<realm>dom</realm><password>secret</password></field>", 0);
	assert_int_equal(authreg_check_password(f->ar, "dee", "localhost", "pw-d"), AUTHREG_OK);
	assert_int_equal(authreg_create_user(f->ar, "eve", "localhost"), AUTHREG_OK);
	assert_int_equal(authreg_set_password(f->ar, "eve", "localhost", "pw-e"), AUTHREG_OK);
	col = pgt_query(f->fx, "SELECT secret FROM site.\"Users\" WHERE login = 'eve'");
	assert_true(authreg_pw_is_scram(col));
	free(col);
	pgt_assert_query(f->fx, "SELECT login, dom FROM site.\"Users\" ORDER BY login",
			 "dee|localhost\neve|localhost\n");
	/* Nothing went to a default table. */
	pgt_assert_query(f->fx, "SELECT count(*) FROM information_schema.tables "
			 "WHERE table_name = 'authreg' AND table_schema = 'public'", "0\n");
}

/* Names are parameters: quotes, backslashes and SQL in them are data. */
static void test_quoting(void **state)
{
	struct fixture *f = *state;
	static const char *const names[] = {
		"o'neil", "x\"); DROP TABLE authreg; --", "back\\slash", "$1",
	};

	open_ok(f, "", 1);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(authreg_create_user(f->ar, names[i], "localhost"), AUTHREG_OK);
		assert_int_equal(authreg_set_password(f->ar, names[i], "localhost", names[i]),
				 AUTHREG_OK);
		assert_int_equal(authreg_check_password(f->ar, names[i], "localhost", names[i]),
				 AUTHREG_OK);
	}
	pgt_assert_query(f->fx, "SELECT count(*) FROM authreg", "4\n");
}

/* The server ends the session: the next call reconnects and works. */
static void test_reconnect(void **state)
{
	struct fixture *f = *state;
	char sql[256];

	open_ok(f, "", 1);
	assert_int_equal(authreg_create_user(f->ar, "fay", "localhost"), AUTHREG_OK);
	snprintf(sql, sizeof(sql),
		 "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
		 "WHERE datname = '%s' AND pid <> pg_backend_pid()", f->fx->dbname);
	pgt_assert_query(f->fx, sql, "1\n");
	assert_int_equal(authreg_user_exists(f->ar, "fay", "localhost"), AUTHREG_OK);
	pgt_assert_query(f->fx, sql, "1\n");
	assert_int_equal(authreg_set_password(f->ar, "fay", "localhost", "pw-f"), AUTHREG_OK);
	assert_int_equal(authreg_check_password(f->ar, "fay", "localhost", "pw-f"), AUTHREG_OK);
}

/* A wrong password or database: a clear error naming the trouble, never
 * the password; unsupported options refused. */
static void test_open_errors(void **state)
{
	struct fixture *f = *state;
	const char *error = NULL;
	struct authreg_settings set = { 0 };
	struct config *cfg;
	char xml[512];

	pgt_exec(f->fx->dbname, "CREATE ROLE " PGT_PW_USER " LOGIN PASSWORD 'right-pw-31'", 1);
	snprintf(xml, sizeof(xml),
		 "<c2s><authreg><pgsql><host>%s</host><port>%s</port><dbname>%s</dbname>"
		 "<user>" PGT_PW_USER "</user><pass>wrong-pw-77</pass></pgsql></authreg></c2s>",
		 pgt_host(), pgt_port(), f->fx->dbname);
	cfg = config_load_mem("c2s.xml", xml, strlen(xml), NULL, &error);
	assert_non_null(cfg);
	assert_null(authreg_new("pgsql", cfg, &set, &error));
	assert_non_null(strstr(error, "authreg.pgsql: cannot connect"));
	assert_null(strstr(error, "wrong-pw-77"));
	config_free(&cfg);

	snprintf(xml, sizeof(xml), "<conninfo>host=%s port=%s dbname=no_such_db user=%s</conninfo>",
		 pgt_host(), pgt_port(), PGT_SUPERUSER);
	assert_null(open_with(f, xml, 1, &error));
	assert_non_null(strstr(error, "no_such_db"));
	assert_null(open_with(f, "<password_type><bcrypt cost='10'/></password_type>", 1, &error));
	assert_non_null(strstr(error, "bcrypt"));
}

/* A statement the server cannot finish (the table locked elsewhere) is
 * cancelled after authreg.pgsql.timeout: the call fails, c2s goes on. */
static void test_statement_timeout(void **state)
{
	struct fixture *f = *state;
	PGconn *locker;
	PGresult *r;
	time_t start;

	open_ok(f, "<timeout>1</timeout>", 1);
	assert_int_equal(authreg_create_user(f->ar, "hal", "localhost"), AUTHREG_OK);
	locker = pgt_connect(f->fx->dbname);
	r = PQexec(locker, "BEGIN; LOCK TABLE authreg IN ACCESS EXCLUSIVE MODE");
	assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	start = time(NULL);
	assert_int_equal(authreg_user_exists(f->ar, "hal", "localhost"), AUTHREG_ERROR);
	assert_true(time(NULL) - start <= 3);
	PQfinish(locker);
	assert_int_equal(authreg_user_exists(f->ar, "hal", "localhost"), AUTHREG_OK);
}

/* A password inside authreg.pgsql.conninfo is never shown, even where
 * the server quotes it back (here it was also given as the database
 * name, a typo an operator can make). */
static void test_conninfo_password_redacted(void **state)
{
	struct fixture *f = *state;
	const char *error = NULL;
	char xml[512];

	snprintf(xml, sizeof(xml), "<conninfo>host=%s port=%s user=%s dbname=Secret-pw-4711 "
		 "password=Secret-pw-4711</conninfo>", pgt_host(), pgt_port(), PGT_SUPERUSER);
	assert_null(open_with(f, xml, 1, &error));
	assert_non_null(strstr(error, "authreg.pgsql: cannot connect"));
	assert_non_null(strstr(error, "does not exist"));
	assert_null(strstr(error, "Secret-pw-4711"));
	/* A URI too. */
	snprintf(xml, sizeof(xml), "<conninfo>postgresql://%s:Secret-pw-4711@/Secret-pw-4711"
		 "?host=%s&amp;port=%s</conninfo>", PGT_SUPERUSER, pgt_host(), pgt_port());
	assert_null(open_with(f, xml, 1, &error));
	assert_non_null(strstr(error, "does not exist"));
	assert_null(strstr(error, "Secret-pw-4711"));
}

/* On a database whose encoding is not UTF-8 (LATIN1 here), a non-ASCII
 * user name is stored as the character it is, not as its UTF-8 bytes
 * read as LATIN1 ("jÃ¶rg"): the connection's client encoding is UTF8,
 * so the server converts. */
static void test_client_encoding_utf8(void **state)
{
	struct fixture *f = *state;
	char db[64], xml[512];
	PGconn *c;
	PGresult *r;

	snprintf(db, sizeof(db), "%s_latin1", f->fx->dbname);
	snprintf(xml, sizeof(xml), "CREATE DATABASE %s ENCODING 'LATIN1' LC_COLLATE 'C' "
		 "LC_CTYPE 'C' TEMPLATE template0", db);
	pgt_exec("postgres", xml, 0);
	/* conninfo wins over the fixture's own database. */
	snprintf(xml, sizeof(xml), "<conninfo>host=%s port=%s dbname=%s user=%s</conninfo>",
		 pgt_host(), pgt_port(), db, PGT_SUPERUSER);
	open_ok(f, xml, 1);
	assert_int_equal(authreg_create_user(f->ar, "j\xc3\xb6rg", "localhost"), AUTHREG_OK);
	assert_int_equal(authreg_set_password(f->ar, "j\xc3\xb6rg", "localhost", "pw"),
			 AUTHREG_OK);
	assert_int_equal(authreg_check_password(f->ar, "j\xc3\xb6rg", "localhost", "pw"),
			 AUTHREG_OK);
	c = pgt_connect(db);
	r = PQexec(c, "SELECT length(username), username = 'j' || chr(246) || 'rg' FROM authreg");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	assert_int_equal(PQntuples(r), 1);
	assert_string_equal(PQgetvalue(r, 0, 0), "4");
	assert_string_equal(PQgetvalue(r, 0, 1), "t");
	PQclear(r);
	PQfinish(c);
	authreg_free(&f->ar);
	snprintf(xml, sizeof(xml), "DROP DATABASE %s", db);
	pgt_exec("postgres", xml, 0);
}

/* conninfo replaces the five separate options. */
static void test_conninfo(void **state)
{
	struct fixture *f = *state;
	struct authreg_settings set = { .scram_iter = 64 };
	const char *error = NULL;
	char xml[512];

	snprintf(xml, sizeof(xml),
		 "<c2s><authreg><pgsql><conninfo>host=%s port=%s dbname=%s user=%s</conninfo>"
		 "<dbname>ignored</dbname></pgsql></authreg></c2s>",
		 pgt_host(), pgt_port(), f->fx->dbname, PGT_SUPERUSER);
	f->cfg = config_load_mem("c2s.xml", xml, strlen(xml), NULL, &error);
	assert_non_null(f->cfg);
	f->ar = authreg_new("pgsql", f->cfg, &set, &error);
	if (f->ar == NULL)
		fail_msg("authreg_new: %s", error);
	assert_int_equal(authreg_create_user(f->ar, "gil", "localhost"), AUTHREG_OK);
	pgt_assert_query(f->fx, "SELECT username FROM authreg", "gil\n");
}

#define TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_jabberd2_plaintext_row),
		TEST(test_table_created),
		TEST(test_names_configured),
		TEST(test_quoting),
		TEST(test_reconnect),
		TEST(test_open_errors),
		TEST(test_conninfo),
		TEST(test_conninfo_password_redacted),
		TEST(test_client_encoding_utf8),
		TEST(test_statement_timeout),
	};

	return PGT_RUN_GROUP("test_authreg_pgsql", tests);
}
