/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sql.c: the SQL connection layer (sql.h): what every kind shares (error
 * text, transactions, dispatch) and the SQLite connection with its cache
 * of prepared statements. The PostgreSQL half is sql_pgsql.c.
 */
#include "config.h"
#include "storage/sql_private.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>
#ifdef HAVE_PGSQL
#include <libpq-fe.h>
#endif

#include "util/log.h"

#define SQL_SQLITE_BUSY_MS 1000

const char *sql_option(const struct sql_settings *set, const char *name, int nonempty)
{
	char key[96];
	const char *v;

	if (set->option == NULL)
		return NULL;
	snprintf(key, sizeof(key), "%s.%s", set->section, name);
	v = set->option(set->option_ctx, key);
	return nonempty && v != NULL && *v == '\0' ? NULL : v;
}

/* Append text on one line (line breaks and tabs become one space, none
 * trailing), every occurrence of the password replaced by "***". */
static void clean_text(const char *password, const char *text, struct buf *out)
{
	size_t plen = password != NULL ? strlen(password) : 0;

	while (*text != '\0') {
		if (plen > 0 && strncmp(text, password, plen) == 0) {
			buf_append_str(out, "***");
			text += plen;
		} else if (*text == '\n' || *text == '\t' || *text == '\r') {
			text += strspn(text, "\n\t\r");
			if (*text != '\0')
				buf_append_char(out, ' ');
		} else {
			buf_append_char(out, *text++);
		}
	}
}

const char *sql_errorf(struct sql_conn *conn, const char *fmt, ...)
{
	struct buf raw = { 0 };
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&raw, fmt, ap);
	va_end(ap);
	buf_reset(&conn->error);
	clean_text(conn->password, raw.data != NULL ? raw.data : "", &conn->error);
	if (conn->error.data == NULL)
		buf_append_str(&conn->error, "unknown error");
	if (raw.data != NULL)
		memset(raw.data, 0, raw.len);
	buf_free(&raw);
	return conn->error.data;
}

const char *sql_sqlstate(const struct sql_conn *conn)
{
	return conn->sqlstate;
}

void sql_ident(struct buf *sql, const char *prefix, const char *name)
{
	buf_append_char(sql, '"');
	for (int part = 0; part < 2; part++) {
		const char *s = part == 0 ? prefix : name;

		for (; s != NULL && *s != '\0'; s++) {
			if (*s == '"')
				buf_append_char(sql, '"');
			buf_append_char(sql, *s);
		}
	}
	buf_append_char(sql, '"');
}

/* ---- sqlite ---- */

int sql_sqlite_fail(struct sql_conn *conn, const char *what, const char **error_r)
{
	*error_r = sql_errorf(conn, "sqlite: %s: %s", what,
			      conn->db != NULL ? sqlite3_errmsg(conn->db) : "out of memory");
	return -1;
}

sqlite3 *sql_sqlite_db(struct sql_conn *conn)
{
	return conn->db;
}

sqlite3_stmt *sql_sqlite_stmt(struct sql_conn *conn, const char *sql, const char **error_r)
{
	struct sql_stmt_slot *victim = &conn->cache[0];
	sqlite3_stmt *stmt;

	conn->clock++;
	for (size_t i = 0; i < SQL_STMT_CACHE; i++) {
		struct sql_stmt_slot *s = &conn->cache[i];

		if (s->sql != NULL && strcmp(s->sql, sql) == 0) {
			s->last_use = conn->clock;
			return s->stmt;
		}
		if (s->last_use < victim->last_use)
			victim = s;
	}
	if (sqlite3_prepare_v2(conn->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
		sql_sqlite_fail(conn, "prepare", error_r);
		return NULL;
	}
	sqlite3_finalize(victim->stmt);
	free(victim->sql);
	victim->sql = xstrdup(sql);
	victim->stmt = stmt;
	victim->last_use = conn->clock;
	return stmt;
}

void sql_sqlite_done(sqlite3_stmt *stmt)
{
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
}

static int sqlite_exec(struct sql_conn *conn, const char *sql, const char *what,
		       const char **error_r)
{
	char *msg = NULL;

	if (sqlite3_exec(conn->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		*error_r = sql_errorf(conn, "sqlite: %s: %s", what,
				      msg != NULL ? msg : sqlite3_errmsg(conn->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int parse_busy_timeout(const char *text, int *ms_r)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || v < 0 || v > 3600000)
		return -1;
	*ms_r = (int)v;
	return 0;
}

/* jabberd2's setup script settings, for a file nobody has used yet: 4 KiB
 * pages and the WAL journal (readers do not wait for the writer). */
static int sqlite_new_file(struct sql_conn *conn, const char **error_r)
{
	sqlite3_stmt *stmt = sql_sqlite_stmt(conn, "SELECT count(*) FROM sqlite_master", error_r);
	int rc, empty;

	if (stmt == NULL)
		return -1;
	rc = sqlite3_step(stmt);
	empty = rc == SQLITE_ROW && sqlite3_column_int64(stmt, 0) == 0;
	sql_sqlite_done(stmt);
	if (rc != SQLITE_ROW)
		return sql_sqlite_fail(conn, "reading the schema", error_r);
	if (empty && (sqlite_exec(conn, "PRAGMA page_size = 4096", "page size", error_r) < 0 ||
		      sqlite_exec(conn, "PRAGMA journal_mode = WAL", "journal mode", error_r) < 0))
		return -1;
	return 0;
}

static int sqlite_open(struct sql_conn *conn, const struct sql_settings *set,
		       const char **error_r)
{
	const char *dbname = sql_option(set, "dbname", 1);
	const char *busy = sql_option(set, "busy-timeout", 0), *sql = NULL;
	int busy_ms = SQL_SQLITE_BUSY_MS;

	if (set->init_sql_option != NULL)
		sql = sql_option(set, set->init_sql_option, 1);
	if (dbname == NULL) {
		*error_r = sql_errorf(conn, "%s.dbname is not set", set->section);
		return -1;
	}
	if (busy != NULL && parse_busy_timeout(busy, &busy_ms) < 0) {
		*error_r = sql_errorf(conn, "%s.busy-timeout is not a number of milliseconds",
				      set->section);
		return -1;
	}
	if (sqlite3_open_v2(dbname, &conn->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
			    NULL) != SQLITE_OK) {
		*error_r = sql_errorf(conn, "sqlite: cannot open '%s': %s", dbname,
				      conn->db != NULL ? sqlite3_errmsg(conn->db)
						       : "out of memory");
		return -1;
	}
	sqlite3_extended_result_codes(conn->db, 1);
	/* Without this, SQLite reads a quoted name that matches no column as a
	 * string literal, and a filter on a misspelt key silently matches
	 * nothing instead of failing. (DDL keeps the default, so an old
	 * schema that relies on it still loads.) */
	sqlite3_db_config(conn->db, SQLITE_DBCONFIG_DQS_DML, 0, (int *)NULL);
	sqlite3_busy_timeout(conn->db, busy_ms);
	if (sql != NULL && sqlite_exec(conn, sql, set->section, error_r) < 0)
		return -1;
	return sqlite_new_file(conn, error_r);
}

static void sqlite_close(struct sql_conn *conn)
{
	for (size_t i = 0; i < SQL_STMT_CACHE; i++) {
		sqlite3_finalize(conn->cache[i].stmt);
		free(conn->cache[i].sql);
		memset(&conn->cache[i], 0, sizeof(conn->cache[i]));
	}
	sqlite3_close(conn->db);
	conn->db = NULL;
}

/* ---- both kinds ---- */

int sql_open(struct sql_conn **conn_r, const struct sql_settings *set, const char **error_r)
{
	static char failed[1024];
	struct sql_conn *conn = xcalloc(1, sizeof(*conn));
	int rc = -1;

	conn->kind = set->kind;
	conn->section = xstrdup(set->section);
	switch (set->kind) {
	case SQL_SQLITE:
		rc = sqlite_open(conn, set, error_r);
		break;
	case SQL_PGSQL:
#ifdef HAVE_PGSQL
		rc = sql_pgsql_open(conn, set, error_r);
#else
		*error_r = sql_errorf(conn, "%s: this build has no PostgreSQL support",
				      set->section);
#endif
		break;
	case SQL_MYSQL:
#ifdef HAVE_MYSQL
		rc = sql_mysql_open(conn, set, error_r);
#else
		*error_r = sql_errorf(conn, "%s: this build has no MySQL support",
				      set->section);
#endif
		break;
	}
	if (rc == 0) {
		*conn_r = conn;
		return 0;
	}
	snprintf(failed, sizeof(failed), "%s", *error_r);
	*error_r = failed;
	sql_close(&conn);
	*conn_r = NULL;
	return -1;
}

void sql_close(struct sql_conn **connp)
{
	struct sql_conn *conn = *connp;

	if (conn == NULL)
		return;
	if (conn->kind == SQL_SQLITE)
		sqlite_close(conn);
#ifdef HAVE_PGSQL
	else if (conn->kind == SQL_PGSQL)
		sql_pgsql_close(conn);
#endif
#ifdef HAVE_MYSQL
	else if (conn->kind == SQL_MYSQL)
		sql_mysql_close(conn);
#endif
	free(conn->section);
	free(conn->schema);
	free(conn->my_host);
	free(conn->my_user);
	free(conn->my_dbname);
	free(conn->my_socket);
	if (conn->password != NULL)
		memset(conn->password, 0, strlen(conn->password));
	free(conn->password);
	buf_free(&conn->error);
	free(conn);
	*connp = NULL;
}

int sql_exec(struct sql_conn *conn, const char *sql, const char *what, const char **error_r)
{
#ifdef HAVE_PGSQL
	if (conn->kind == SQL_PGSQL)
		return sql_pgsql_exec(conn, sql, what, error_r);
#endif
#ifdef HAVE_MYSQL
	if (conn->kind == SQL_MYSQL)
		return sql_mysql_exec(conn, sql, what, error_r);
#endif
	return sqlite_exec(conn, sql, what, error_r);
}

#ifdef HAVE_MYSQL
/*
 * MySQL: `sql` with each $n (n = 1..9) as a ?, into `out`, and the values
 * in the order the markers appear into `ordered` (a $n used twice is
 * given twice). Returns their number, or -1 (a $n past `n`, or more than
 * SQL_QUERY_PARAMS markers: the caller's SQL, never input).
 */
static int mysql_markers(const char *sql, int n, const char *const *vals, struct buf *out,
			 const char **ordered)
{
	int used = 0;

	for (const char *p = sql; *p != '\0'; p++) {
		if (p[0] == '$' && p[1] >= '1' && p[1] <= '9') {
			int k = p[1] - '1';

			if (k >= n || used == SQL_QUERY_PARAMS)
				return -1;
			ordered[used++] = vals[k];
			buf_append_char(out, '?');
			p++;
		} else {
			buf_append_char(out, *p);
		}
	}
	return used;
}
#endif

int sql_query(struct sql_conn *conn, const char *sql, int n, const char *const *vals,
	      sql_row_fn *row, void *ctx, const char *what, const char **error_r)
{
	const char *cols[SQL_QUERY_COLS];
	sqlite3_stmt *stmt;
	int i, rc, nc;

#ifdef HAVE_PGSQL
	if (conn->kind == SQL_PGSQL) {
		PGresult *res = sql_pgsql_run(conn, sql, n, vals,
					      row != NULL ? PGRES_TUPLES_OK : PGRES_COMMAND_OK,
					      what, error_r);
		int r;

		if (res == NULL)
			return -1;
		nc = PQnfields(res) < SQL_QUERY_COLS ? PQnfields(res) : SQL_QUERY_COLS;
		for (r = 0; row != NULL && r < PQntuples(res); r++) {
			for (i = 0; i < nc; i++)
				cols[i] = PQgetisnull(res, r, i) ? NULL : PQgetvalue(res, r, i);
			row(ctx, cols, nc);
		}
		PQclear(res);
		return 0;
	}
#endif
#ifdef HAVE_MYSQL
	if (conn->kind == SQL_MYSQL) {
		const char *ordered[SQL_QUERY_PARAMS];
		struct sql_rows *rows = NULL;
		struct buf text = { 0 };
		int used = mysql_markers(sql, n, vals, &text, ordered);
		size_t r;

		if (used < 0) {
			buf_free(&text);
			*error_r = "mysql: a statement with a bad parameter marker";
			return -1;
		}
		rc = sql_mysql_run(conn, text.data, used, ordered, what, &rows, NULL, error_r);
		buf_free(&text);
		if (rc < 0)
			return -1;
		if (rows != NULL) {
			nc = rows->ncols < SQL_QUERY_COLS ? (int)rows->ncols : SQL_QUERY_COLS;
			for (r = 0; row != NULL && r < rows->nrows; r++) {
				for (i = 0; i < nc; i++)
					cols[i] = sql_rows_cell(rows, r, (unsigned)i);
				row(ctx, cols, nc);
			}
			sql_rows_free(&rows, 0);
		}
		return 0;
	}
#endif
	if ((stmt = sql_sqlite_stmt(conn, sql, error_r)) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		sqlite3_bind_text(stmt, i + 1, vals[i], -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		nc = sqlite3_column_count(stmt);
		nc = nc < SQL_QUERY_COLS ? nc : SQL_QUERY_COLS;
		for (i = 0; i < nc; i++)
			cols[i] = (const char *)sqlite3_column_text(stmt, i);
		if (row != NULL)
			row(ctx, cols, nc);
	}
	sql_sqlite_done(stmt);
	if (rc != SQLITE_DONE)
		return sql_sqlite_fail(conn, what, error_r);
	return 0;
}

int sql_open_tables(const char *base, sql_option_fn *option, void *ctx,
		    const char *application_name, const char *const *schema_sqlite,
		    const char *const *schema_pgsql, struct sql_conn **conn_r,
		    const char **error_r)
{
	static char key[64], section[64], error[512];
	struct sql_settings set = {
		.option = option,
		.option_ctx = ctx,
		.application_name = application_name,
	};
	const char *driver, *const *schema = schema_sqlite;

	*conn_r = NULL;
	snprintf(key, sizeof(key), "%s.driver", base);
	if ((driver = option(ctx, key)) == NULL)
		return 0;
	if (strcmp(driver, "sqlite") == 0) {
		set.kind = SQL_SQLITE;
	} else if (strcmp(driver, "pgsql") == 0) {
#ifdef HAVE_PGSQL
		set.kind = SQL_PGSQL;
		schema = schema_pgsql;
#else
		*error_r = "storage.driver pgsql: built without PostgreSQL";
		return -1;
#endif
	} else {
		*error_r = "storage.driver: unknown driver (sqlite or pgsql)";
		return -1;
	}
	snprintf(section, sizeof(section), "%s.%s", base, driver);
	set.section = section;
	if (sql_open(conn_r, &set, error_r) < 0)
		return -1;
	if (sql_begin(*conn_r, 0, error_r) < 0 || sql_schema_lock(*conn_r, error_r) < 0)
		goto err;
	for (; *schema != NULL; schema++)
		if (sql_exec(*conn_r, *schema, "creating tables", error_r) < 0)
			goto err;
	if (sql_commit(*conn_r, error_r) < 0)
		goto err;
	return 0;
err:
	/* The connection owns the text: keep it past the close. */
	snprintf(error, sizeof(error), "%s", *error_r);
	*error_r = error;
	sql_rollback(*conn_r);
	sql_close(conn_r);
	return -1;
}

int sql_begin(struct sql_conn *conn, int serializable, const char **error_r)
{
	if (conn->kind == SQL_SQLITE)
		return sql_exec(conn, "BEGIN IMMEDIATE", "begin", error_r);
#ifdef HAVE_MYSQL
	if (conn->kind == SQL_MYSQL)
		return sql_mysql_begin(conn, serializable, error_r);
#endif
	return sql_exec(conn, serializable ? "BEGIN ISOLATION LEVEL SERIALIZABLE" : "BEGIN",
			"begin", error_r);
}

int sql_commit(struct sql_conn *conn, const char **error_r)
{
#ifdef HAVE_MYSQL
	if (conn->kind == SQL_MYSQL)
		return sql_mysql_commit(conn, error_r);
#endif
	return sql_exec(conn, "COMMIT", "commit", error_r);
}

void sql_rollback(struct sql_conn *conn)
{
	/* Not through sql_exec(): the error that made the caller give up is
	 * in conn->error, and *error_r may point at it. */
#ifdef HAVE_PGSQL
	if (conn->kind == SQL_PGSQL) {
		sql_pgsql_rollback(conn);
		return;
	}
#endif
#ifdef HAVE_MYSQL
	if (conn->kind == SQL_MYSQL) {
		sql_mysql_rollback(conn);
		return;
	}
#endif
	if (!sqlite3_get_autocommit(conn->db))
		sqlite3_exec(conn->db, "ROLLBACK", NULL, NULL, NULL);
}

/* "jab2" in ASCII (0x6a616232): the key every daemon of ours locks. */
#define SQL_SCHEMA_LOCK "1784767026"

int sql_schema_lock(struct sql_conn *conn, const char **error_r)
{
	if (conn->kind == SQL_SQLITE)
		return 0;
#ifdef HAVE_MYSQL
	if (conn->kind == SQL_MYSQL)
		return sql_mysql_schema_lock(conn, error_r);
#endif
	return sql_exec(conn, "SELECT pg_advisory_xact_lock(" SQL_SCHEMA_LOCK ")",
			"taking the schema lock", error_r);
}

int sql_lost(const struct sql_conn *conn)
{
#ifdef HAVE_PGSQL
	if (conn->kind == SQL_PGSQL)
		return sql_pgsql_lost(conn);
#endif
	if (conn->kind == SQL_MYSQL)
		return conn->my_lost;
	(void)conn;
	return 0;
}

int sql_reconnect(struct sql_conn *conn, const char **error_r)
{
#ifdef HAVE_PGSQL
	if (conn->kind == SQL_PGSQL)
		return sql_pgsql_reconnect(conn, error_r);
#endif
#ifdef HAVE_MYSQL
	if (conn->kind == SQL_MYSQL)
		return sql_mysql_reconnect(conn, error_r);
#endif
	(void)conn;
	(void)error_r;
	return 0;
}
