/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Compatibility with jabberd2's own SQLite database: the schema our driver
 * creates matches the one jabberd2's db-setup.sqlite creates; a database
 * made by that script opens unchanged (bar our two extra indexes); rows in
 * jabberd2's format read back correctly, and rows we write are in the
 * format jabberd2 reads.
 *
 * The script is jabberd2's, read at run time from $JABBERD2_DB_SETUP or
 * the places in JABBERD2_DB_SETUP_PATHS (set by storage/local.mk), plain
 * or gzipped. Without it the program says so and exits 77 (skipped).
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "storage/storage.h"
#include "util/buf.h"
#include "util/nad.h"

#ifndef JABBERD2_DB_SETUP_PATHS
#define JABBERD2_DB_SETUP_PATHS "/usr/share/doc/jabberd2/db-setup.sqlite.gz"
#endif

struct fixture {
	char dir[64];
	char jd2_db[128];  /* made by jabberd2's script */
	char our_db[128];  /* made by our driver */
	const char *dbname; /* what the option callback answers */
};

static char *setup_script;
static char script_path[512];

/* Read all of fd into a string. */
static char *read_fd(int fd)
{
	struct buf b = { 0 };
	char chunk[4096];
	ssize_t n;

	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_append(&b, chunk, (size_t)n);
	if (n < 0) {
		buf_free(&b);
		return NULL;
	}
	return b.data ? buf_steal(&b, NULL) : NULL;
}

/* The file's text; a .gz file is decompressed by gzip(1). */
static char *read_script(const char *path)
{
	size_t len = strlen(path);
	int fds[2], status;
	char *text;
	pid_t pid;

	if (len < 3 || strcmp(path + len - 3, ".gz") != 0) {
		FILE *fp = fopen(path, "r");

		if (fp == NULL)
			return NULL;
		text = read_fd(fileno(fp));
		fclose(fp);
		return text;
	}
	if (pipe(fds) < 0)
		return NULL;
	if ((pid = fork()) == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execlp("gzip", "gzip", "-dc", "--", path, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	text = pid > 0 ? read_fd(fds[0]) : NULL;
	close(fds[0]);
	if (pid > 0 && (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
			WEXITSTATUS(status) != 0)) {
		free(text);
		text = NULL;
	}
	return text;
}

static void find_script(void)
{
	const char *env = getenv("JABBERD2_DB_SETUP");
	char *paths = strdup(env != NULL ? env : JABBERD2_DB_SETUP_PATHS), *save = NULL;

	for (char *p = strtok_r(paths, ":", &save); p != NULL && setup_script == NULL;
	     p = strtok_r(NULL, ":", &save)) {
		if (access(p, R_OK) != 0)
			continue;
		setup_script = read_script(p);
		snprintf(script_path, sizeof(script_path), "%s", p);
	}
	if (setup_script == NULL)
		fprintf(stderr, "test_jabberd2_db: jabberd2's db-setup.sqlite not found (looked in "
				"%s; set JABBERD2_DB_SETUP to its path, plain or .gz): SKIP\n",
			env != NULL ? env : JABBERD2_DB_SETUP_PATHS);
	else
		fprintf(stderr, "test_jabberd2_db: using %s\n", script_path);
	free(paths);
}

static const char *opt_get(void *ctx, const char *key)
{
	struct fixture *fx = ctx;

	return strcmp(key, "storage.sqlite.dbname") == 0 ? fx->dbname : NULL;
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	sqlite3 *db;
	char *msg = NULL;

	strcpy(fx->dir, "/tmp/test_jd2db_XXXXXX");
	if (mkdtemp(fx->dir) == NULL)
		return -1;
	snprintf(fx->jd2_db, sizeof(fx->jd2_db), "%s/jabberd2.db", fx->dir);
	snprintf(fx->our_db, sizeof(fx->our_db), "%s/ours.db", fx->dir);
	*state = fx;
	/* What `sqlite3 sqlite.db < db-setup.sqlite` does. */
	if (sqlite3_open(fx->jd2_db, &db) != SQLITE_OK ||
	    sqlite3_exec(db, setup_script, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "running %s: %s\n", script_path, msg ? msg : "?");
		sqlite3_free(msg);
		sqlite3_close(db);
		return -1;
	}
	sqlite3_close(db);
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	static const char *const files[] = { "jabberd2.db", "ours.db" };
	static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
	char path[160];

	for (size_t i = 0; i < 2; i++)
		for (size_t j = 0; j < 4; j++) {
			snprintf(path, sizeof(path), "%s/%s%s", fx->dir, files[i], suffixes[j]);
			unlink(path);
		}
	rmdir(fx->dir);
	free(fx);
	return 0;
}

static struct storage *open_storage(struct fixture *fx, const char *dbname)
{
	struct storage *st;
	const char *error = NULL;

	fx->dbname = dbname;
	st = storage_new(opt_get, fx);
	if (storage_add_type(st, "sqlite", NULL, &error) < 0)
		fail_msg("opening %s: %s", dbname, error);
	return st;
}

/* Rows of a query on a file, as text: columns joined by '|', rows by '\n'. */
static char *query(const char *path, const char *sql)
{
	struct buf b = { 0 };
	sqlite3 *db;
	sqlite3_stmt *stmt;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	while (sqlite3_step(stmt) == SQLITE_ROW) {
		for (int i = 0; i < sqlite3_column_count(stmt); i++) {
			const unsigned char *t = sqlite3_column_text(stmt, i);

			buf_printf(&b, "%s%s", i ? "|" : "", t ? (const char *)t : "NULL");
		}
		buf_append_char(&b, '\n');
	}
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return b.data ? buf_steal(&b, NULL) : strdup("");
}

/* Tables no jabberd2 has (sm/mod_roster.c), with their owner indexes. */
#define OUR_TABLES "'roster-version','roster-state','pep-items','pep-node','pep-item'"
#define OUR_TABLE_INDEXES "'i_rosterv_owner','i_rosters_owner','i_pep_owner'," \
	"'i_pepnode_owner','i_pepitem_owner'"

/* Column layout of every table but ours, and the columns of every index,
 * in a form that two equivalent schemas render identically. */
static char *schema_digest(const char *path, const char *exclude_indexes)
{
	char *tables = query(path, "SELECT name FROM sqlite_master WHERE type='table' "
				   "AND name NOT IN (" OUR_TABLES ") ORDER BY name");
	char *indexes, *save = NULL, sql[512];
	struct buf b = { 0 };

	buf_printf(&b, "tables:\n%s", tables);
	for (char *t = strtok_r(tables, "\n", &save); t != NULL; t = strtok_r(NULL, "\n", &save)) {
		char *cols;

		snprintf(sql, sizeof(sql),
			 "SELECT cid, name, upper(type), \"notnull\", dflt_value, pk "
			 "FROM pragma_table_info('%s')", t);
		cols = query(path, sql);
		buf_printf(&b, "table %s:\n%s", t, cols);
		free(cols);
	}
	snprintf(sql, sizeof(sql),
		 "SELECT m.name, m.tbl_name, group_concat(i.name, ',') FROM sqlite_master m, "
		 "pragma_index_info(m.name) i WHERE m.type='index' AND m.name NOT IN (%s) "
		 "GROUP BY m.name ORDER BY m.name", exclude_indexes);
	indexes = query(path, sql);
	buf_printf(&b, "indexes:\n%s", indexes);
	free(indexes);
	free(tables);
	return buf_steal(&b, NULL);
}

#define OUR_INDEXES "'i_status_owner','i_logout_owner'," OUR_TABLE_INDEXES

static void test_schema_matches_jabberd2(void **state)
{
	struct fixture *fx = *state;
	struct storage *st;
	char *theirs, *ours, *ours_extra;

	st = open_storage(fx, fx->our_db);
	storage_free(&st);
	theirs = schema_digest(fx->jd2_db, "''");
	ours = schema_digest(fx->our_db, OUR_INDEXES);
	if (strcmp(theirs, ours) != 0)
		fail_msg("schemas differ.\njabberd2:\n%s\nours:\n%s", theirs, ours);
	/* Besides jabberd2's, exactly our indexes, each on owner. */
	ours_extra = query(fx->our_db,
			   "SELECT m.name, m.tbl_name, i.name FROM sqlite_master m, "
			   "pragma_index_info(m.name) i WHERE m.name IN (" OUR_INDEXES ") "
			   "ORDER BY m.name");
	assert_string_equal(ours_extra, "i_logout_owner|logout|collection-owner\n"
					"i_pep_owner|pep-items|collection-owner\n"
					"i_pepitem_owner|pep-item|collection-owner\n"
					"i_pepnode_owner|pep-node|collection-owner\n"
					"i_rosters_owner|roster-state|collection-owner\n"
					"i_rosterv_owner|roster-version|collection-owner\n"
					"i_status_owner|status|collection-owner\n");
	free(ours_extra);
	free(theirs);
	free(ours);
	/* The same file settings. */
	theirs = query(fx->jd2_db, "PRAGMA journal_mode");
	ours = query(fx->our_db, "PRAGMA journal_mode");
	assert_string_equal(theirs, "wal\n");
	assert_string_equal(ours, theirs);
	free(theirs);
	free(ours);
	theirs = query(fx->jd2_db, "PRAGMA page_size");
	ours = query(fx->our_db, "PRAGMA page_size");
	assert_string_equal(ours, theirs);
	free(theirs);
	free(ours);
}

static void test_open_unchanged(void **state)
{
	struct fixture *fx = *state;
	static const char master[] = "SELECT type, name, tbl_name, sql FROM sqlite_master "
				     "WHERE name NOT IN (" OUR_INDEXES "," OUR_TABLES ") ORDER BY name";
	char *before, *after, *added;
	struct storage *st;

	before = query(fx->jd2_db, master);
	st = open_storage(fx, fx->jd2_db);
	storage_free(&st);
	after = query(fx->jd2_db, master);
	assert_string_equal(before, after);
	added = query(fx->jd2_db, "SELECT count(*) FROM sqlite_master WHERE name IN ("
				  OUR_INDEXES "," OUR_TABLES ")");
	assert_string_equal(added, "12\n");
	free(before);
	free(after);
	free(added);
}

/* Rows as jabberd2's sqlite driver writes them: booleans and integers bound
 * as integers, XML as "NAD" + text, the sequence left to SQLite. */
static const char jabberd2_rows[] =
	"INSERT INTO \"active\" (\"collection-owner\", \"time\") "
	"  VALUES ('alice@example.org', 1700000000);"
	"INSERT INTO \"roster-items\" (\"collection-owner\", \"jid\", \"name\", \"to\", "
	"  \"from\", \"ask\") VALUES ('alice@example.org', 'bob@far.example.org', 'Bob', 1, 0, 0);"
	"INSERT INTO \"roster-items\" (\"collection-owner\", \"jid\", \"to\", \"from\", \"ask\") "
	"  VALUES ('alice@example.org', 'carol@example.org', 0, 0, 1);"
	"INSERT INTO \"roster-groups\" (\"collection-owner\", \"jid\", \"group\") "
	"  VALUES ('alice@example.org', 'bob@far.example.org', 'Work');"
	"INSERT INTO \"queue\" (\"collection-owner\", \"xml\") VALUES ('alice@example.org', "
	"  'NAD<route xmlns=\"http://jabberd.jabberstudio.org/ns/component/1.0\" to=\"sm\">"
	"<message xmlns=\"jabber:client\" from=\"bob@far.example.org/pc\"><body>hello</body>"
	"</message></route>');"
	"INSERT INTO \"privacy-items\" (\"collection-owner\", \"list\", \"type\", \"value\", "
	"  \"deny\", \"order\", \"block\") VALUES ('alice@example.org', 'work', 'jid', "
	"  'spam@bad.example', 1, 5, 1);"
	"INSERT INTO \"status\" (\"collection-owner\", \"status\", \"show\") "
	"  VALUES ('alice@example.org', 'online', 'away');"
	"INSERT INTO \"vcard\" (\"collection-owner\", \"fn\", \"n-given\") "
	"  VALUES ('alice@example.org', 'Alice Liddell', 'Alice');";

static void test_read_jabberd2_rows(void **state)
{
	struct fixture *fx = *state;
	struct storage *st;
	struct os *os;
	struct os_object *o;
	const struct nad *nad;
	const char *error, *s;
	sqlite3 *db;
	int64_t i;
	int b;

	assert_int_equal(sqlite3_open(fx->jd2_db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, jabberd2_rows, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	st = open_storage(fx, fx->jd2_db);

	assert_int_equal(storage_get(st, "roster-items", "alice@example.org", NULL, &os, &error),
			 STORAGE_OK);
	assert_int_equal((int)os_count(os), 2);
	o = os_first(os);
	assert_int_equal(os_object_get_str(o, "jid", &s), 0);
	assert_string_equal(s, "bob@far.example.org");
	assert_int_equal(os_object_get_bool(o, "to", &b), 0);
	assert_int_equal(b, 1);
	assert_int_equal(os_object_get_bool(o, "from", &b), 0);
	assert_int_equal(b, 0);
	o = os_next(o);
	assert_int_equal(os_object_get_str(o, "name", &s), -1);
	assert_int_equal(os_object_get_int(o, "ask", &i), 0);
	assert_true(i == 1);
	os_free(&os);

	assert_int_equal(storage_get(st, "roster-groups", "alice@example.org",
				     "(jid=19:bob@far.example.org)", &os, &error), STORAGE_OK);
	assert_int_equal(os_object_get_str(os_first(os), "group", &s), 0);
	assert_string_equal(s, "Work");
	os_free(&os);

	assert_int_equal(storage_get(st, "queue", "alice@example.org", NULL, &os, &error),
			 STORAGE_OK);
	assert_int_equal(os_object_get_nad(os_first(os), "xml", &nad), 0);
	assert_string_equal(nad_name(nad, nad_root(nad)), "route");
	assert_string_equal(nad_name(nad, nad_child(nad, nad_root(nad), NULL, NULL)), "message");
	os_free(&os);

	assert_int_equal(storage_get(st, "privacy-items", "alice@example.org", "(deny=1)", &os,
				     &error), STORAGE_OK);
	assert_int_equal(os_object_get_int(os_first(os), "order", &i), 0);
	assert_true(i == 5);
	os_free(&os);

	assert_int_equal(storage_get(st, "status", "alice@example.org", NULL, &os, &error),
			 STORAGE_OK);
	assert_int_equal(os_object_get_int(os_first(os), "last-logout", &i), 0);
	assert_true(i == 0);
	assert_int_equal(os_object_get_str(os_first(os), "show", &s), 0);
	assert_string_equal(s, "away");
	os_free(&os);

	assert_int_equal(storage_get(st, "vcard", "alice@example.org", NULL, &os, &error),
			 STORAGE_OK);
	assert_int_equal(os_object_get_str(os_first(os), "fn", &s), 0);
	assert_string_equal(s, "Alice Liddell");
	assert_int_equal(os_object_get_str(os_first(os), "tel", &s), -1);
	os_free(&os);

	assert_int_equal(storage_get(st, "active", "alice@example.org", NULL, &os, &error),
			 STORAGE_OK);
	assert_int_equal(os_object_get_int(os_first(os), "time", &i), 0);
	assert_true(i == 1700000000);
	os_free(&os);
	storage_free(&st);
}

/* What we write, read the way jabberd2's driver reads it (SELECT * and the
 * SQLite storage class of each column). */
static void test_jabberd2_reads_ours(void **state)
{
	struct fixture *fx = *state;
	static const char xml[] = "<route xmlns='http://jabberd.jabberstudio.org/ns/component/1.0'>"
				  "<message xmlns='jabber:client'><body>x</body></message></route>";
	struct storage *st;
	struct os *os = os_new();
	struct os_object *o = os_object_new(os);
	struct nad *nad;
	const char *error;
	char *rows;

	st = open_storage(fx, fx->jd2_db);
	os_object_put_str(o, "jid", "bob@far.example.org");
	os_object_put_bool(o, "to", 1);
	os_object_put_bool(o, "from", 0);
	os_object_put_int(o, "ask", 2);
	assert_int_equal(storage_put(st, "roster-items", "alice@example.org", os, &error),
			 STORAGE_OK);
	os_free(&os);
	os = os_new();
	nad = nad_parse(xml, strlen(xml), 0, &error, NULL);
	assert_non_null(nad);
	os_object_put_nad(os_object_new(os), "xml", nad);
	nad_free(&nad);
	assert_int_equal(storage_put(st, "queue", "alice@example.org", os, &error), STORAGE_OK);
	os_free(&os);
	storage_free(&st);

	rows = query(fx->jd2_db, "SELECT \"collection-owner\", typeof(\"object-sequence\"), "
				 "\"jid\", \"name\", typeof(\"to\"), \"to\", \"from\", \"ask\" "
				 "FROM \"roster-items\"");
	assert_string_equal(rows, "alice@example.org|integer|bob@far.example.org|NULL|integer|1|0|2\n");
	free(rows);
	rows = query(fx->jd2_db, "SELECT typeof(\"xml\"), substr(\"xml\", 1, 10) FROM \"queue\"");
	assert_string_equal(rows, "text|NAD<route \n");
	free(rows);
	/* The text after "NAD" is one well-formed element, as nad_parse in
	 * jabberd2 needs. */
	rows = query(fx->jd2_db, "SELECT substr(\"xml\", 4) FROM \"queue\"");
	rows[strlen(rows) - 1] = '\0';
	nad = nad_parse(rows, strlen(rows), 0, &error, NULL);
	assert_non_null(nad);
	assert_string_equal(nad_ns(nad, nad_root(nad)),
			    "http://jabberd.jabberstudio.org/ns/component/1.0");
	nad_free(&nad);
	free(rows);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_schema_matches_jabberd2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_unchanged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_jabberd2_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_jabberd2_reads_ours, setup, teardown),
	};

	int failed;

	find_script();
	/* 77 tells the automake test driver this test was skipped. */
	if (setup_script == NULL)
		return 77;
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	free(setup_script);
	return failed;
}
