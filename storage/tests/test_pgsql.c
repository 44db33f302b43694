/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for the storage manager over the pgsql driver, against a
 * private PostgreSQL server this program starts (pg_harness.c) and stops at
 * the end, a fresh database per test: round trips through the tables the
 * sm uses, filters, ordering, atomic replace, prefix and schema options,
 * connection errors that never show the password, reconnecting after the
 * server dropped us, column types jabberd2's driver skipped, and a
 * database made by jabberd2's own db-setup.pgsql (read at run time, as
 * test_jabberd2_db.c reads the sqlite one; those tests skip without it).
 *
 * Without PostgreSQL's server binaries the program says so and exits 77
 * (skipped).
 */
#include "config.h"

#include <pthread.h>
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
#include <libpq-fe.h>

#include "storage/sql.h"
#include "storage/storage.h"
#include "storage/tests/pg_harness.h"
#include "storage/tests/storage_test.h"
#include "util/buf.h"
#include "util/nad.h"

#define PASSWORD "Sw0rdf1sh-not-in-logs"

/* ---- schema ---- */

static const char *const sm_tables[] = {
	"authreg", "active", "logout", "roster-items", "roster-groups", "published-roster",
	"published-roster-groups", "vcard", "queue", "private", "motd-message",
	"motd-times", "privacy-default", "privacy-items", "vacation-settings", "status",
	"verify", "roster-version", "roster-state", "pep-items",
	"pep-node", "pep-item",
};
#define N_SM_TABLES (sizeof(sm_tables) / sizeof(sm_tables[0]))

/* Relations of each kind in one schema, e.g. "r|17\nS|1\n". */
#define RELKINDS(schema) \
	"SELECT c.relkind, count(*) FROM pg_class c JOIN pg_namespace n " \
	"ON n.oid = c.relnamespace WHERE n.nspname = '" schema "' " \
	"GROUP BY c.relkind ORDER BY c.relkind"

static void test_new_database(void **state)
{
	struct pgt_fixture *fx = *state;
	char sql[256];
	const char *error;

	for (size_t i = 0; i < N_SM_TABLES; i++) {
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM information_schema.tables "
			 "WHERE table_schema = 'public' AND table_name = '%s'", sm_tables[i]);
		if (pgt_raw_int(fx, sql) != 1)
			fail_msg("table %s missing", sm_tables[i]);
	}
	/* 22 tables, one sequence, and 27 indexes: the 25 before PEP's
	 * tables (15 primary keys, jabberd2's other indexes, one on the
	 * owner of each published-roster table) and pep-node's primary key
	 * (16) and pep-item's owner and node index. */
	pgt_assert_query(fx, RELKINDS("public"), "S|1\ni|27\nr|22\n");
	pgt_assert_query(fx, "SELECT count(*) FROM pg_indexes WHERE indexname LIKE '%_pkey'",
			 "16\n");
	/* The columns jabberd2's driver writes and reads, with their types. */
	pgt_assert_query(fx, "SELECT column_name, data_type, is_nullable, column_default "
			 "FROM information_schema.columns WHERE table_name = 'roster-items' "
			 "ORDER BY ordinal_position",
			 "collection-owner|text|NO|NULL\n"
			 "object-sequence|bigint|YES|nextval('\"object-sequence\"'::regclass)\n"
			 "jid|text|NO|NULL\nname|text|YES|NULL\nto|boolean|NO|NULL\n"
			 "from|boolean|NO|NULL\nask|integer|NO|NULL\n");
	assert_true(pgt_raw_int(fx, "SELECT count(*) FROM information_schema.columns "
				"WHERE table_name = 'vcard'") == 46);
	/* Reopening an existing database changes nothing. */
	char *before = pgt_query(fx, RELKINDS("public"));
	assert_int_equal(pgt_open(fx, &error), 0);
	pgt_assert_query(fx, RELKINDS("public"), before);
	free(before);
}

/* ---- data round trips ---- */

static void test_queue_nad(void **state)
{
	struct pgt_fixture *fx = *state;
	static const char *const xml[] = {
		"<route xmlns='http://jabberd.jabberstudio.org/ns/component/1.0' "
		"to='sm' from='c2s'><message xmlns='jabber:client' to='alice@example.org' "
		"from='bob@far.example.org/pc' type='chat'><body>1 &lt; 2 &amp; "
		"\xe2\x9c\x93 'q' \"dq\" \\ $1</body></message></route>",
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

		assert_int_equal(os_object_get_str(o, "xml", &s), 0);
		assert_memory_equal(s, "NAD<", 4);
		assert_int_equal(os_object_get_nad(o, "xml", &nad), 0);
		text = nad_to_string(nad, NULL);
		assert_string_equal(text, expect[n]);
		free(text);
		free(expect[n]);
	}
	assert_int_equal((int)n, 2);
	assert_true(pgt_raw_int(fx, "SELECT count(*) FROM queue WHERE xml LIKE 'NAD<route%'") == 2);
	os_free(&got);
}

static void test_active_logout(void **state)
{
	struct pgt_fixture *fx = *state;
	const int64_t when = 2147483647; /* the columns are jabberd2's int4 */
	struct os *os = os_new(), *got;
	const char *error;
	int64_t t, seq;

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

	/* A value the column cannot hold is refused, not wrapped. */
	os = os_new();
	os_object_put_int(os_object_new(os), "time", INT64_C(1) << 40);
	assert_int_equal(storage_replace(fx->st, "logout", "alice@example.org", NULL, os,
					 &error), STORAGE_ERROR);
	assert_non_null(strstr(error, "out of range"));
	os_free(&os);
	got = stt_get_ok(fx->st, "logout", "alice@example.org", NULL);
	assert_int_equal(os_object_get_int(os_first(got), "time", &t), 0);
	assert_true(t == when);
	os_free(&got);

	/* Defaults fill what the object leaves out; status has no sequence
	 * default, yet gets one. */
	pgt_put_one_str(fx, "status", "alice@example.org", "status", "online");
	got = stt_get_ok(fx->st, "status", "alice@example.org", NULL);
	assert_int_equal(os_object_get_int(os_first(got), "last-login", &t), 0);
	assert_true(t == 0);
	assert_int_equal(os_object_get_int(os_first(got), "object-sequence", &seq), 0);
	assert_true(seq > 0);
	os_free(&got);
}

static void test_replace(void **state)
{
	struct pgt_fixture *fx = *state;
	struct os *os = os_new(), *got;
	const char *error = NULL;

	stt_roster_item(os, "a@x", "A", 0, 0, 0);
	stt_roster_item(os, "b@x", "B", 0, 0, 0);
	stt_put_ok(fx->st, "roster-items", "alice@x", os);
	os_free(&os);

	/* Replace one item by filter (the same key: delete, then insert). */
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
	assert_non_null(strstr(error, "null value in column \"jid\""));
	assert_non_null(strstr(error, "SQLSTATE 23502"));
	os_free(&os);
	got = stt_get_ok(fx->st, "roster-items", "alice@x", NULL);
	stt_assert_column(got, "name", "B,A2");
	os_free(&got);

	/* So does a duplicate key inside the new set. */
	os = os_new();
	stt_roster_item(os, "d@x", "D", 0, 0, 0);
	stt_roster_item(os, "d@x", "D again", 0, 0, 0);
	assert_int_equal(storage_replace(fx->st, "roster-items", "alice@x", NULL, os, &error),
			 STORAGE_ERROR);
	assert_non_null(strstr(error, "duplicate key"));
	/* And put: all or nothing. */
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
	/* Nothing was left open: the server sees no transaction. */
	pgt_assert_query(fx, "SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in%'",
			 "0\n");
}

static void test_prefix(void **state)
{
	struct pgt_fixture *fx = *state;
	struct os *os = os_new(), *got;
	const char *error;

	pgt_opt_set(fx, "storage.pgsql.prefix", "jd_");
	assert_int_equal(pgt_open(fx, &error), 0);
	assert_true(pgt_raw_int(fx, "SELECT count(*) FROM pg_tables WHERE "
				"tablename = 'jd_roster-items'") == 1);
	assert_true(pgt_raw_int(fx, "SELECT count(*) FROM pg_tables WHERE "
				"tablename LIKE 'jd\\_%'") == (int64_t)N_SM_TABLES - 1);
	assert_true(pgt_raw_int(fx, "SELECT count(*) FROM pg_indexes WHERE "
				"indexname = 'jd_i_rosteri_owner'") == 1);
	/* c2s's authreg and the one sequence are never prefixed. */
	assert_true(pgt_raw_int(fx, "SELECT count(*) FROM pg_tables WHERE "
				"tablename = 'authreg'") == 1);
	assert_true(pgt_raw_int(fx, "SELECT count(*) FROM pg_class WHERE relkind = 'S'") == 1);
	stt_roster_item(os, "a@x", NULL, 1, 0, 0);
	stt_put_ok(fx->st, "roster-items", "alice@x", os);
	os_free(&os);
	assert_true(pgt_raw_int(fx, "SELECT count(*) FROM \"jd_roster-items\"") == 1);
	got = stt_get_ok(fx->st, "roster-items", "alice@x", NULL);
	stt_assert_column(got, "jid", "a@x");
	os_free(&got);
	/* A prefixed name PostgreSQL would truncate is refused. */
	pgt_opt_set(fx, "storage.pgsql.prefix",
		    "a_prefix_long_enough_that_prefixed_names_pass_sixty_three_bytes_");
	assert_int_equal(pgt_open(fx, &error), -1);
	assert_non_null(strstr(error, "longer than 63"));
}

/* The schema option: tables live in that schema, which is found however
 * its name is spelt. */
static void test_schema_option(void **state)
{
	struct pgt_fixture *fx = *state;
	const char *error;
	struct os *got;

	pgt_exec(fx->dbname, "CREATE SCHEMA \"sm \"\"data\"\"\"", 0);
	pgt_opt_set(fx, "storage.pgsql.schema", "sm \"data\"");
	assert_int_equal(pgt_open(fx, &error), 0);
	pgt_assert_query(fx, RELKINDS("sm \"data\""), "S|1\ni|27\nr|22\n");
	pgt_assert_query(fx, RELKINDS("public"), "");
	pgt_put_one_str(fx, "queue", "alice@x", "xml", "NAD<x/>");
	assert_true(pgt_raw_int(fx, "SELECT count(*) FROM \"sm \"\"data\"\"\".queue") == 1);
	got = stt_get_ok(fx->st, "queue", "alice@x", NULL);
	stt_assert_column(got, "xml", "NAD<x/>");
	os_free(&got);
	/* A schema that does not exist: the tables cannot be created. */
	pgt_opt_set(fx, "storage.pgsql.schema", "nosuchschema");
	assert_int_equal(pgt_open(fx, &error), -1);
	assert_non_null(strstr(error, "no schema has been selected"));
}

/* Owners and values that look like SQL are stored and matched verbatim and
 * reach no other owner's data. */
static void test_injection_verbatim(void **state)
{
	struct pgt_fixture *fx = *state;
	static const char *const owners[] = {
		"x' OR '1'='1", "bob\"); DROP TABLE \"queue\"; --", "%", "_", "*", "$1",
		"a\\'b",
	};
	const size_t n = sizeof(owners) / sizeof(owners[0]);
	struct os *got;
	const char *s;

	pgt_put_one_str(fx, "private", "victim@x", "ns", "innocent");
	for (size_t i = 0; i < n; i++)
		pgt_put_one_str(fx, "private", owners[i], "ns", owners[i]);
	for (size_t i = 0; i < n; i++) {
		char *f = storage_filter_str("ns", owners[i]);

		got = stt_get_ok(fx->st, "private", owners[i], NULL);
		assert_int_equal((int)os_count(got), 1);
		assert_int_equal(os_object_get_str(os_first(got), "ns", &s), 0);
		assert_string_equal(s, owners[i]);
		os_free(&got);
		assert_true(stt_count(fx->st, "private", owners[i], f) == 1);
		free(f);
	}
	assert_true(pgt_raw_int(fx, "SELECT count(*) FROM pg_tables WHERE tablename='queue'") == 1);
	assert_true(stt_count(fx->st, "private", "victim@x", NULL) == 1);
	assert_true(pgt_raw_int(fx, "SELECT count(*) FROM private") == (int64_t)n + 1);
}

static void test_bad_calls(void **state)
{
	struct pgt_fixture *fx = *state;
	struct os *os = os_new(), *got;
	const char *error = NULL;
	int64_t n;

	os_object_put_str(os_object_new(os), "ns", "x");
	assert_int_equal(storage_put(fx->st, "no-such-table", "a@x", os, &error),
			 STORAGE_ERROR);
	assert_non_null(strstr(error, "relation \"no-such-table\" does not exist"));
	assert_int_equal(storage_get(fx->st, "private", "a@x", "(nocolumn=1)", &got, &error),
			 STORAGE_ERROR);
	assert_non_null(strstr(error, "column \"nocolumn\" does not exist"));
	/* A string where the column wants an integer. */
	assert_int_equal(storage_count(fx->st, "privacy-items", "a@x", "(order=3:one)", &n,
				       &error), STORAGE_ERROR);
	assert_non_null(strstr(error, "invalid input syntax for type integer"));
	assert_int_equal(storage_count(fx->st, "bad\"type", "a@x", NULL, &n, &error),
			 STORAGE_ERROR);
	assert_int_equal(storage_put(fx->st, "private", NULL, os, &error), STORAGE_ERROR);
	os_free(&os);
	/* The storage still works afterwards. */
	assert_true(stt_count(fx->st, "private", "a@x", NULL) == 0);
}

/* Types routed to pgsql and the rest to sqlite, in one storage. */
static void test_driver_routing(void **state)
{
	struct pgt_fixture *fx = *state;
	struct os *os = os_new(), *got = NULL;
	const char *error = NULL;
	char path[128];
	int64_t n;

	storage_free(&fx->st);
	snprintf(path, sizeof(path), "%s/routing.db", pgt_dir());
	pgt_opt_set(fx, "storage.sqlite.dbname", path);
	fx->st = storage_new(pgt_opt_get, fx);
	assert_int_equal(storage_add_type(fx->st, "pgsql", "queue", &error), 0);
	assert_int_equal(storage_add_type(fx->st, "sqlite", NULL, &error), 0);
	os_object_put_str(os_object_new(os), "xml", "NAD<q/>");
	assert_int_equal(storage_put(fx->st, "queue", "a@x", os, &error), STORAGE_OK);
	os_free(&os);
	os = os_new();
	os_object_put_str(os_object_new(os), "fn", "A");
	assert_int_equal(storage_put(fx->st, "vcard", "a@x", os, &error), STORAGE_OK);
	os_free(&os);
	/* The queue row is in PostgreSQL, the vCard is not. */
	assert_true(pgt_raw_int(fx, "SELECT count(*) FROM queue") == 1);
	assert_true(pgt_raw_int(fx, "SELECT count(*) FROM vcard") == 0);
	assert_int_equal(storage_get(fx->st, "vcard", "a@x", NULL, &got, &error), STORAGE_OK);
	os_free(&got);
	assert_int_equal(storage_count(fx->st, "queue", "a@x", NULL, &n, &error), STORAGE_OK);
	assert_true(n == 1);
	storage_free(&fx->st);
	unlink(path);
}

/* ---- connecting ---- */

static void test_connect_options(void **state)
{
	struct pgt_fixture *fx = *state;
	char conninfo[256];

	/* The role that must give its password. */
	pgt_exec("postgres", "CREATE ROLE " PGT_PW_USER " LOGIN PASSWORD '" PASSWORD "'",
		 1);
	pgt_exec(fx->dbname, "GRANT ALL ON SCHEMA public TO " PGT_PW_USER, 0);
	pgt_opt_set(fx, "storage.pgsql.user", PGT_PW_USER);
	pgt_opt_set(fx, "storage.pgsql.pass", PASSWORD);
	pgt_check_open(fx, PASSWORD, 0, NULL);
	pgt_put_one_str(fx, "queue", "a@x", "xml", "NAD<x/>");
	pgt_assert_query(fx, "SELECT tableowner FROM pg_tables WHERE tablename = 'queue'",
			 PGT_PW_USER "\n");

	/* A wrong password: the error names the database, host and user. */
	pgt_opt_set(fx, "storage.pgsql.pass", PASSWORD "x");
	pgt_check_open(fx, PASSWORD, -1, "password authentication failed");
	pgt_check_open(fx, PASSWORD, -1, fx->dbname);
	pgt_check_open(fx, PASSWORD, -1, pgt_host());
	pgt_check_open(fx, PASSWORD, -1, "user '" PGT_PW_USER "'");
	pgt_opt_set(fx, "storage.pgsql.pass", NULL);
	pgt_check_open(fx, PASSWORD, -1, "no password supplied");
	/* A database that does not exist. */
	pgt_opt_set(fx, "storage.pgsql.pass", PASSWORD);
	pgt_opt_set(fx, "storage.pgsql.dbname", "no-such-db");
	pgt_check_open(fx, PASSWORD, -1, "database \"no-such-db\" does not exist");
	/* The password put where a name belongs still does not show. */
	pgt_opt_set(fx, "storage.pgsql.dbname", PASSWORD);
	pgt_check_open(fx, PASSWORD, -1, "database \"***\" does not exist");
	pgt_opt_set(fx, "storage.pgsql.dbname", "no-such-db");

	/* conninfo wins over the separate options. */
	snprintf(conninfo, sizeof(conninfo), "host=%s port=%s dbname=%s user=%s password=%s",
		 pgt_host(), pgt_port(), fx->dbname,
		 PGT_PW_USER, PASSWORD);
	pgt_opt_set(fx, "storage.pgsql.conninfo", conninfo);
	pgt_check_open(fx, PASSWORD, 0, NULL);
	assert_true(stt_count(fx->st, "queue", "a@x", NULL) == 1);
	/* A libpq URI works too. */
	snprintf(conninfo, sizeof(conninfo), "postgresql://%s:%s@/%s?host=%s&port=%s",
		 PGT_PW_USER, PASSWORD, fx->dbname, pgt_host(),
		 pgt_port());
	pgt_check_open(fx, PASSWORD, 0, NULL);
	snprintf(conninfo, sizeof(conninfo), "host=%s port=%s dbname=%s user=%s password=%s",
		 pgt_host(), pgt_port(), fx->dbname,
		 PGT_PW_USER, PASSWORD "x");
	pgt_check_open(fx, PASSWORD, -1, "password authentication failed");
	/* A malformed conninfo is not echoed (libpq would quote it). */
	snprintf(conninfo, sizeof(conninfo), "host=%s " PASSWORD, pgt_host());
	pgt_check_open(fx, PASSWORD, -1, "not a valid connection string");
	/* Nothing listens here: the error says where we tried. */
	pgt_opt_set(fx, "storage.pgsql.conninfo", NULL);
	pgt_opt_set(fx, "storage.pgsql.host", "/nonexistent-dir");
	pgt_check_open(fx, PASSWORD, -1, "/nonexistent-dir");
}

/* The SQL layer itself (storage/sql.h), as the storage driver and c2s's
 * authreg use it: the client encoding is UTF8 even where conninfo asks
 * for another, the statement timeout and search path hold on the session
 * and come back after a reconnection, and a failed statement's error
 * survives the rollback that follows it. */
static void test_sql_layer_session(void **state)
{
	struct pgt_fixture *fx = *state;
	char conninfo[256];
	const char *error = NULL;
	struct sql_conn *conn;
	struct sql_settings set = {
		.kind = SQL_PGSQL,
		.section = "storage.pgsql",
		.option = pgt_opt_get,
		.option_ctx = fx,
		.statement_timeout_ms = 4000,
	};
	static const char *const show[][2] = {
		{ "SHOW client_encoding", "UTF8" },
		{ "SHOW statement_timeout", "4s" },
		{ "SHOW search_path", "jd" },
	};
	PGresult *r;

	pgt_exec(fx->dbname, "CREATE SCHEMA jd", 0);
	snprintf(conninfo, sizeof(conninfo), "host=%s port=%s dbname=%s user=%s "
		 "client_encoding=LATIN1", pgt_host(), pgt_port(), fx->dbname, PGT_SUPERUSER);
	pgt_opt_set(fx, "storage.pgsql.conninfo", conninfo);
	pgt_opt_set(fx, "storage.pgsql.schema", "jd");
	if (sql_open(&conn, &set, &error) < 0)
		fail_msg("sql_open: %s", error);
	for (int round = 0; round < 2; round++) {
		for (size_t i = 0; i < sizeof(show) / sizeof(show[0]); i++) {
			r = sql_pgsql_run(conn, show[i][0], 0, NULL, PGRES_TUPLES_OK, "show", &error);
			assert_non_null(r);
			assert_string_equal(PQgetvalue(r, 0, 0), show[i][1]);
			PQclear(r);
		}
		if (round == 1)
			break;
		pgt_exec(fx->dbname, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
			 "WHERE application_name = '' AND pid <> pg_backend_pid() AND "
			 "datname = current_database()", 0);
		r = sql_pgsql_run(conn, "SELECT 1", 0, NULL, PGRES_TUPLES_OK, "select", &error);
		assert_null(r);
		assert_true(sql_lost(conn));
		assert_int_equal(sql_reconnect(conn, &error), 0);
	}
	assert_int_equal(sql_begin(conn, 0, &error), 0);
	assert_int_equal(sql_exec(conn, "SELECT * FROM nowhere", "select", &error), -1);
	assert_string_equal(sql_sqlstate(conn), "42P01");
	sql_rollback(conn);
	assert_non_null(strstr(error, "relation \"nowhere\" does not exist"));
	assert_int_equal(sql_exec(conn, "SELECT 1", "select", &error), 0);
	sql_close(&conn);
	assert_null(conn);
}

/* The server ends our session (a restart, an administrator): the next
 * operation connects again, restores the schema search path, and works. */
static void test_reconnect(void **state)
{
	struct pgt_fixture *fx = *state;
	static const char kill_sql[] =
		"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
		"WHERE datname = '%s' AND pid <> pg_backend_pid()";
	char sql[256];
	const char *error;
	struct os *os, *got;

	pgt_exec(fx->dbname, "CREATE SCHEMA jd", 0);
	pgt_opt_set(fx, "storage.pgsql.schema", "jd");
	assert_int_equal(pgt_open(fx, &error), 0);
	pgt_put_one_str(fx, "queue", "a@x", "xml", "NAD<one/>");
	snprintf(sql, sizeof(sql), kill_sql, fx->dbname);
	pgt_assert_query(fx, sql, "1\n");
	/* A read after the loss. */
	assert_true(stt_count(fx->st, "queue", "a@x", NULL) == 1);
	/* A write after the loss, in a transaction. */
	pgt_assert_query(fx, sql, "1\n");
	os = os_new();
	os_object_put_str(os_object_new(os), "xml", "NAD<two/>");
	assert_int_equal(storage_replace(fx->st, "queue", "a@x", NULL, os, &error), STORAGE_OK);
	os_free(&os);
	got = stt_get_ok(fx->st, "queue", "a@x", NULL);
	stt_assert_column(got, "xml", "NAD<two/>");
	os_free(&got);
	assert_true(pgt_raw_int(fx, "SELECT count(*) FROM jd.queue") == 1);
}

/* The second node of test_concurrent_replace, on its own connection. */
/* A second node's thread waits on what `other`'s open transaction holds:
 * check it is still waiting after 300 ms, COMMIT (other is closed), then
 * wait for the thread to finish (20 s at most) and join it. */
static void commit_and_join(PGconn *other, pthread_t thread, int *done)
{
	struct timespec pause = { 0, 20 * 1000 * 1000 };
	PGresult *r;

	for (int i = 0; i < 15; i++)
		nanosleep(&pause, NULL);
	assert_int_equal(__atomic_load_n(done, __ATOMIC_SEQ_CST), 0);
	r = PQexec(other, "COMMIT");
	assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	PQfinish(other);
	for (int i = 0; i < 1000 && !__atomic_load_n(done, __ATOMIC_SEQ_CST); i++)
		nanosleep(&pause, NULL);
	if (!__atomic_load_n(done, __ATOMIC_SEQ_CST))
		fail_msg("the second node did not finish"); /* teardown ends it */
	pthread_join(thread, NULL);
}

struct second_node {
	struct pgt_fixture fx;
	int done;
	int ok;
	char error[256];
};

static void *second_node_run(void *arg)
{
	struct second_node *n = arg;
	struct os *os = os_new();
	const char *error = NULL;

	os_object_put_str(os_object_new(os), "fn", "mine");
	n->ok = pgt_open(&n->fx, &error) == 0 &&
		storage_replace(n->fx.st, "vcard", "a@x", NULL, os, &error) == STORAGE_OK;
	if (!n->ok)
		snprintf(n->error, sizeof(n->error), "%s", error ? error : "?");
	os_free(&os);
	storage_free(&n->fx.st);
	__atomic_store_n(&n->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* Two nodes replace the same user's vCard at once: the second waits for
 * the first, then replaces its row, rather than failing on the key. */
static void test_concurrent_replace(void **state)
{
	struct pgt_fixture *fx = *state;
	PGconn *other = pgt_connect(fx->dbname);
	/* Static: should the thread outlive a failed test, it still has it. */
	static struct second_node node;
	pthread_t thread;
	PGresult *r;

	pgt_put_one_str(fx, "vcard", "a@x", "fn", "old");
	r = PQexec(other, "BEGIN; DELETE FROM vcard WHERE \"collection-owner\" = 'a@x'; "
			  "INSERT INTO vcard (\"collection-owner\", fn) VALUES ('a@x', 'other')");
	assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	/* The second node blocks on the row the first one deleted. */
	memset(&node, 0, sizeof(node));
	memcpy(node.fx.opts, fx->opts, sizeof(node.fx.opts));
	assert_int_equal(pthread_create(&thread, NULL, second_node_run, &node), 0);
	commit_and_join(other, thread, &node.done);
	if (!node.ok)
		fail_msg("second node: %s", node.error);
	pgt_assert_query(fx, "SELECT fn FROM vcard", "mine\n");
}

/* take: in order, gone after, filtered, other owners untouched. */
static void test_take(void **state)
{
	stt_take_basics(((struct pgt_fixture *)*state)->st);
}

struct taking_node {
	struct pgt_fixture fx;
	int done;
	enum storage_result rc;
	size_t got;
	char error[256];
};

static void *taking_node_run(void *arg)
{
	struct taking_node *n = arg;
	const char *error = NULL;
	struct os *os = NULL;

	n->rc = STORAGE_ERROR;
	if (pgt_open(&n->fx, &error) == 0)
		n->rc = storage_take(n->fx.st, "queue", "a@x", NULL, &os, &error);
	if (n->rc == STORAGE_ERROR)
		snprintf(n->error, sizeof(n->error), "%s", error ? error : "?");
	n->got = os != NULL ? os_count(os) : 0;
	os_free(&os);
	storage_free(&n->fx.st);
	__atomic_store_n(&n->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* Another node is taking the queue (its DELETE not yet committed): our
 * take waits for it rather than reading the rows it is taking, and then
 * gets none. A read-then-delete would have returned them at once. */
static void test_take_while_other_takes(void **state)
{
	struct pgt_fixture *fx = *state;
	PGconn *other = pgt_connect(fx->dbname);
	static struct taking_node node;  /* static: see test_concurrent_replace */
	pthread_t thread;
	PGresult *r;

	for (int i = 0; i < 5; i++)
		pgt_put_one_str(fx, "queue", "a@x", "xml", "NAD<message/>");
	r = PQexec(other, "BEGIN; DELETE FROM queue WHERE \"collection-owner\" = 'a@x'");
	assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	memset(&node, 0, sizeof(node));
	memcpy(node.fx.opts, fx->opts, sizeof(node.fx.opts));
	assert_int_equal(pthread_create(&thread, NULL, taking_node_run, &node), 0);
	commit_and_join(other, thread, &node.done);
	if (node.rc == STORAGE_ERROR)
		fail_msg("second node: %s", node.error);
	assert_int_equal(node.rc, STORAGE_NOT_FOUND);
	assert_int_equal((int)node.got, 0);
}

/* Two nodes' connections take one queue at the same moment, 30 times:
 * each message goes to exactly one. */
static void test_take_race(void **state)
{
	struct pgt_fixture *fx = *state;
	struct pgt_fixture b = { 0 };
	const char *error = NULL;

	memcpy(b.opts, fx->opts, sizeof(b.opts));
	assert_int_equal(pgt_open(&b, &error), 0);
	stt_race_take(fx->st, b.st, "a@x", 30, 50);
	storage_free(&b.st);
}

/* transactions: writes run SERIALIZABLE, and still work. */
static void test_transactions_option(void **state)
{
	struct pgt_fixture *fx = *state;
	const char *error;
	struct os *os = os_new();

	pgt_opt_set(fx, "storage.pgsql.transactions", "1");
	assert_int_equal(pgt_open(fx, &error), 0);
	stt_roster_item(os, "a@x", NULL, 1, 1, 0);
	stt_put_ok(fx->st, "roster-items", "alice@x", os);
	assert_int_equal(storage_replace(fx->st, "roster-items", "alice@x", NULL, os, &error),
			 STORAGE_OK);
	os_free(&os);
	assert_true(stt_count(fx->st, "roster-items", "alice@x", NULL) == 1);
}

/* Filters with many terms: parameters numbered past $99. */
static void test_many_parameters(void **state)
{
	struct pgt_fixture *fx = *state;
	struct os *os = os_new();
	struct buf f = { 0 };

	for (int i = 0; i < 10; i++)
		stt_privacy_item(os, "l", NULL, NULL, 0, i, 0);
	stt_put_ok(fx->st, "privacy-items", "a@x", os);
	os_free(&os);
	for (int n = 1; n <= 200; n++) {
		buf_reset(&f);
		buf_append_str(&f, "(|");
		for (int k = 0; k < n; k++)
			buf_printf(&f, "(order=%d)", k);
		buf_append_char(&f, ')');
		if (stt_count(fx->st, "privacy-items", "a@x", f.data) != (n < 10 ? n : 10))
			fail_msg("n %d", n);
	}
	buf_free(&f);
}

/* Every column type reads back: jabberd2's driver dropped all but boolean,
 * int4 and text (so bigint and varchar columns were invisible to it). */
static void test_column_types(void **state)
{
	struct pgt_fixture *fx = *state;
	struct os *got;
	struct os_object *o;
	const char *s;
	int64_t i;
	int b;

	pgt_exec(fx->dbname,
		 "CREATE TABLE \"custom-types\" (\"collection-owner\" text NOT NULL, "
		 "\"object-sequence\" bigint DEFAULT nextval('\"object-sequence\"'), "
		 "\"v\" varchar(20), \"c\" char(3), \"big\" bigint, \"small\" smallint, "
		 "\"num\" numeric(5,2), \"flag\" boolean, \"when\" date, \"none\" text);"
		 "INSERT INTO \"custom-types\" (\"collection-owner\", \"v\", \"c\", \"big\", "
		 "\"small\", \"num\", \"flag\", \"when\") VALUES ('a@x', 'var', 'ab', "
		 "9000000000, -7, 3.14, false, '2026-11-22')", 0);
	got = stt_get_ok(fx->st, "custom-types", "a@x", NULL);
	o = os_first(got);
	assert_int_equal(os_object_get_str(o, "v", &s), 0);
	assert_string_equal(s, "var");
	assert_int_equal(os_object_get_str(o, "c", &s), 0);
	assert_string_equal(s, "ab ");
	assert_int_equal(os_object_get_int(o, "big", &i), 0);
	assert_true(i == INT64_C(9000000000));
	assert_int_equal(os_object_get_int(o, "small", &i), 0);
	assert_true(i == -7);
	assert_int_equal(os_object_get_str(o, "num", &s), 0);
	assert_string_equal(s, "3.14");
	assert_int_equal(os_object_get_bool(o, "flag", &b), 0);
	assert_int_equal(b, 0);
	assert_int_equal(os_object_get_str(o, "when", &s), 0);
	assert_string_equal(s, "2026-11-22");
	assert_int_equal(os_object_get_str(o, "none", &s), -1);
	assert_int_equal(os_object_get_int(o, "object-sequence", &i), 0);
	os_free(&got);
	/* Filters on them. */
	assert_true(stt_count(fx->st, "custom-types", "a@x", "(big=9000000000)") == 1);
	assert_true(stt_count(fx->st, "custom-types", "a@x", "(&(v=3:var)(small=-7)(flag=0))") == 1);
}

/* ---- jabberd2's own database ---- */

/* Our schema is jabberd2's, table for table, plus the three tables its
 * pgsql script lacks and our two roster tables; opening its database
 * changes none of its tables. */
static void test_jabberd2_schema(void **state)
{
	struct pgt_fixture *fx = *state, *theirs_fx;
	const char *error;
	char *ours, *theirs, *after;

	if (pgt_jd2_script == NULL)
		skip();
	assert_int_equal(pgt_open(fx, &error), 0);
	ours = pgt_schema_digest(fx);
	theirs_fx = pgt_fixture_new();
	pgt_load_jabberd2(theirs_fx);
	theirs = pgt_schema_digest(theirs_fx);
	if (strcmp(ours, theirs) != 0)
		fail_msg("schemas differ.\njabberd2:\n%s\nours:\n%s", theirs, ours);
	assert_int_equal(pgt_open(theirs_fx, &error), 0);
	after = pgt_schema_digest(theirs_fx);
	assert_string_equal(after, theirs);
	pgt_assert_query(theirs_fx, RELKINDS("public"), "S|1\ni|27\nr|22\n");
	free(ours);
	free(theirs);
	free(after);
	pgt_teardown((void **)&theirs_fx);
}

/* Rows as jabberd2's driver writes them: every value a quoted literal,
 * booleans 't'/'f', the sequence from nextval. */
static const char jabberd2_rows[] =
	"INSERT INTO \"active\" ( \"collection-owner\", \"object-sequence\", \"time\" ) "
	"  VALUES ( 'alice@example.org', nextval('object-sequence'), '1700000000' );"
	"INSERT INTO \"roster-items\" ( \"collection-owner\", \"object-sequence\", \"jid\", "
	"  \"name\", \"to\", \"from\", \"ask\" ) VALUES ( 'alice@example.org', "
	"  nextval('object-sequence'), 'bob@far.example.org', 'Bob', 't', 'f', '0' );"
	"INSERT INTO \"roster-items\" ( \"collection-owner\", \"object-sequence\", \"jid\", "
	"  \"to\", \"from\", \"ask\" ) VALUES ( 'alice@example.org', "
	"  nextval('object-sequence'), 'carol@example.org', 'f', 'f', '1' );"
	"INSERT INTO \"queue\" ( \"collection-owner\", \"object-sequence\", \"xml\" ) VALUES "
	"  ( 'alice@example.org', nextval('object-sequence'), 'NAD<route xmlns=\"http://"
	"jabberd.jabberstudio.org/ns/component/1.0\" to=\"sm\"><message xmlns=\"jabber:client\""
	" from=\"bob@far.example.org/pc\"><body>it''s here</body></message></route>' );"
	"INSERT INTO \"privacy-items\" ( \"collection-owner\", \"object-sequence\", \"list\", "
	"  \"type\", \"value\", \"deny\", \"order\", \"block\" ) VALUES ( 'alice@example.org', "
	"  nextval('object-sequence'), 'work', 'jid', 'spam@bad.example', 't', '5', '1' );"
	"INSERT INTO \"status\" ( \"collection-owner\", \"object-sequence\", \"status\", "
	"  \"show\" ) VALUES ( 'alice@example.org', nextval('object-sequence'), 'online', "
	"  'away' );";

static void test_jabberd2_rows(void **state)
{
	struct pgt_fixture *fx = *state;
	struct os *os, *got;
	const struct nad *nad;
	const char *error, *s;
	int64_t i;
	int b;

	pgt_load_jabberd2(fx);
	pgt_exec(fx->dbname, jabberd2_rows, 0);
	assert_int_equal(pgt_open(fx, &error), 0);

	got = stt_get_ok(fx->st, "roster-items", "alice@example.org", NULL);
	stt_assert_column(got, "jid", "bob@far.example.org,carol@example.org");
	stt_assert_column(got, "name", "Bob,-");
	assert_int_equal(os_object_get_bool(os_first(got), "to", &b), 0);
	assert_int_equal(b, 1);
	assert_int_equal(os_object_get_int(os_next(os_first(got)), "ask", &i), 0);
	assert_true(i == 1);
	os_free(&got);
	got = stt_get_ok(fx->st, "queue", "alice@example.org", NULL);
	assert_int_equal(os_object_get_nad(os_first(got), "xml", &nad), 0);
	assert_string_equal(nad_name(nad, nad_root(nad)), "route");
	os_free(&got);
	assert_true(stt_count(fx->st, "privacy-items", "alice@example.org", "(&(deny=1)(order=5))") ==
		    1);
	got = stt_get_ok(fx->st, "status", "alice@example.org", NULL);
	assert_int_equal(os_object_get_str(os_first(got), "show", &s), 0);
	assert_string_equal(s, "away");
	os_free(&got);
	got = stt_get_ok(fx->st, "active", "alice@example.org", NULL);
	assert_int_equal(os_object_get_int(os_first(got), "time", &i), 0);
	assert_true(i == 1700000000);
	os_free(&got);

	/* What we write has the column types jabberd2's driver reads: bool
	 * 't'/'f' (oid 16), int4 (23), text "NAD<...>" (25). */
	os = os_new();
	stt_roster_item(os, "dave@example.org", NULL, 1, 0, 2);
	stt_put_ok(fx->st, "roster-items", "alice@example.org", os);
	os_free(&os);
	pgt_assert_query(fx, "SELECT \"to\", \"from\", \"ask\", pg_typeof(\"to\"), "
			 "pg_typeof(\"ask\") FROM \"roster-items\" WHERE \"jid\" = "
			 "'dave@example.org'", "t|f|2|boolean|integer\n");
	/* And our rows draw on the same sequence as jabberd2's. */
	pgt_assert_query(fx, "SELECT max(\"object-sequence\") = (SELECT last_value FROM "
			 "\"object-sequence\") FROM \"roster-items\"", "t\n");
}

/* ---- main ---- */

/* A test on a new database, opened or not. */
#define TEST(f) cmocka_unit_test_setup_teardown(f, pgt_setup, pgt_teardown)
#define TEST_UNOPENED(f) cmocka_unit_test_setup_teardown(f, pgt_setup_unopened, pgt_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_new_database),
		TEST(test_queue_nad),
		TEST(test_active_logout),
		TEST(test_replace),
		TEST_UNOPENED(test_prefix),
		TEST_UNOPENED(test_schema_option),
		TEST(test_injection_verbatim),
		TEST(test_bad_calls),
		TEST(test_driver_routing),
		TEST_UNOPENED(test_connect_options),
		TEST_UNOPENED(test_reconnect),
		TEST_UNOPENED(test_sql_layer_session),
		TEST(test_concurrent_replace),
		TEST(test_take),
		TEST(test_take_while_other_takes),
		TEST(test_take_race),
		TEST_UNOPENED(test_transactions_option),
		TEST(test_many_parameters),
		TEST(test_column_types),
		TEST_UNOPENED(test_jabberd2_schema),
		TEST_UNOPENED(test_jabberd2_rows),
	};

	return PGT_RUN_GROUP("test_pgsql", tests);
}
