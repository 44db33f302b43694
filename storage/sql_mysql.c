/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sql_mysql.c: the MySQL/MariaDB half of the SQL connection layer
 * (sql.h), built only with libmariadb. Options of the section, as
 * jabberd2 reads them for its storage and authreg drivers:
 *	host, port, dbname, user, pass
 *	socket        (ours) a Unix socket path, used instead of host/port
 * Every connection, new or re-established, runs with:
 *  - character set utf8mb4 (what we store is UTF-8, all of it; MySQL's
 *    "utf8" stops at three bytes per character);
 *  - ANSI_QUOTES added to the server's sql_mode, so that "name" is an
 *    identifier as in SQLite and PostgreSQL and sql_ident(), the filter
 *    SQL and the schema text serve every kind alike;
 *  - CLIENT_FOUND_ROWS, so that an UPDATE reports the rows it matched
 *    (setting a password to its current value is not "no such user");
 *  - a connect timeout of 10 s and, when the caller asks for one, read
 *    and write timeouts of the statement timeout.
 *
 * Statements are prepared on the server and every value is a parameter
 * (mysql_stmt_*), read back completely into a struct sql_rows. Error text
 * names the section, database, host and user, never the password.
 */
#include "config.h"
#include "storage/sql_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#include "util/log.h"

#define SQL_MYSQL_CONNECT_TIMEOUT 10
/* The name every daemon of ours locks (GET_LOCK) while it creates tables,
 * and how long it waits for it (s). */
#define SQL_MYSQL_SCHEMA_LOCK "'jabberd2-schema'"
#define SQL_MYSQL_LOCK_WAIT "60"

MYSQL *sql_mysql_conn(struct sql_conn *conn)
{
	return conn->my;
}

/* Whether a client error code means the server connection is gone. */
static int gone(unsigned code)
{
	return code == CR_SERVER_GONE_ERROR || code == CR_SERVER_LOST ||
	       code == CR_CONNECTION_ERROR || code == CR_CONN_HOST_ERROR ||
	       code == ER_CONNECTION_KILLED;
}

/* Error text for what failed on the connection (or on stmt, if given). */
static const char *my_error(struct sql_conn *conn, MYSQL_STMT *stmt, const char *what)
{
	unsigned code = stmt != NULL ? mysql_stmt_errno(stmt) : mysql_errno(conn->my);
	const char *msg = stmt != NULL ? mysql_stmt_error(stmt) : mysql_error(conn->my);
	const char *state = stmt != NULL ? mysql_stmt_sqlstate(stmt) : mysql_sqlstate(conn->my);

	snprintf(conn->sqlstate, sizeof(conn->sqlstate), "%s", state != NULL ? state : "");
	conn->my_lost = gone(code);
	return sql_errorf(conn, "mysql: %s: %s (error %u, SQLSTATE %s)", what,
			  msg != NULL && *msg ? msg : "unknown error", code, conn->sqlstate);
}

int sql_mysql_exec(struct sql_conn *conn, const char *sql, const char *what,
		   const char **error_r)
{
	MYSQL_RES *res;

	conn->sqlstate[0] = '\0';
	if (mysql_real_query(conn->my, sql, strlen(sql)) != 0) {
		*error_r = my_error(conn, NULL, what);
		return -1;
	}
	/* A statement that returns rows (SELECT GET_LOCK...) must be read. */
	res = mysql_store_result(conn->my);
	if (res == NULL && mysql_field_count(conn->my) != 0) {
		*error_r = my_error(conn, NULL, what);
		return -1;
	}
	mysql_free_result(res);
	return 0;
}

int sql_mysql_begin(struct sql_conn *conn, int serializable, const char **error_r)
{
	if (serializable &&
	    sql_mysql_exec(conn, "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", "begin",
			   error_r) < 0)
		return -1;
	return sql_mysql_exec(conn, "START TRANSACTION", "begin", error_r);
}

/* The schema lock is a named lock of the session: released at the end of
 * the transaction it was taken in, as PostgreSQL's transaction lock is. */
static void release_schema_lock(struct sql_conn *conn)
{
	if (conn->my_schema_locked) {
		mysql_real_query(conn->my, "DO RELEASE_LOCK(" SQL_MYSQL_SCHEMA_LOCK ")",
				 strlen("DO RELEASE_LOCK(" SQL_MYSQL_SCHEMA_LOCK ")"));
		conn->my_schema_locked = 0;
	}
}

int sql_mysql_commit(struct sql_conn *conn, const char **error_r)
{
	int rc = sql_mysql_exec(conn, "COMMIT", "commit", error_r);

	if (rc == 0)
		release_schema_lock(conn);
	return rc;
}

void sql_mysql_rollback(struct sql_conn *conn)
{
	/* Not through sql_mysql_exec(): the error that made the caller give
	 * up is in conn->error. */
	if (conn->my_lost)
		return;
	mysql_rollback(conn->my);
	release_schema_lock(conn);
}

int sql_mysql_schema_lock(struct sql_conn *conn, const char **error_r)
{
	static const char sql[] = "SELECT GET_LOCK(" SQL_MYSQL_SCHEMA_LOCK ", "
				  SQL_MYSQL_LOCK_WAIT ")";
	struct sql_rows *rows = NULL;
	const char *v;
	int ok;

	if (sql_mysql_run(conn, sql, 0, NULL, "taking the schema lock", &rows, NULL,
			  error_r) < 0)
		return -1;
	v = rows != NULL && rows->nrows == 1 ? sql_rows_cell(rows, 0, 0) : NULL;
	ok = v != NULL && strcmp(v, "1") == 0;
	sql_rows_free(&rows, 0);
	if (!ok) {
		*error_r = sql_errorf(conn, "mysql: taking the schema lock: not granted in "
				      SQL_MYSQL_LOCK_WAIT " s");
		return -1;
	}
	conn->my_schema_locked = 1;
	return 0;
}

/* ---- connecting ---- */

static const char *connect_error(struct sql_conn *conn, const char *what)
{
	const char *msg = mysql_error(conn->my);
	char where[300];

	if (conn->my_socket != NULL)
		snprintf(where, sizeof(where), "socket %s", conn->my_socket);
	else
		snprintf(where, sizeof(where), "%s port %u",
			 conn->my_host != NULL ? conn->my_host : "localhost",
			 conn->my_port != 0 ? conn->my_port : 3306);
	conn->my_lost = 1;
	return sql_errorf(conn, "%s: %s database '%s' on %s as user '%s': %s", conn->section,
			  what, conn->my_dbname ? conn->my_dbname : "", where,
			  conn->my_user ? conn->my_user : "", msg && *msg ? msg : "unknown error");
}

/* Connect with the settings kept in conn; 0, or -1 with *error_r. */
static int my_connect(struct sql_conn *conn, const char *what, const char **error_r)
{
	unsigned timeout = SQL_MYSQL_CONNECT_TIMEOUT;
	unsigned io_timeout = conn->statement_timeout_ms > 0
				      ? (unsigned)(conn->statement_timeout_ms + 999) / 1000 : 0;
	my_bool off = 0;

	mysql_close(conn->my);
	conn->my_schema_locked = 0;
	conn->my = mysql_init(NULL);
	if (conn->my == NULL) {
		*error_r = sql_errorf(conn, "%s: out of memory for the connection", conn->section);
		conn->my_lost = 1;
		return -1;
	}
	mysql_options(conn->my, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	if (io_timeout > 0) {
		mysql_options(conn->my, MYSQL_OPT_READ_TIMEOUT, &io_timeout);
		mysql_options(conn->my, MYSQL_OPT_WRITE_TIMEOUT, &io_timeout);
	}
	mysql_options(conn->my, MYSQL_OPT_RECONNECT, &off);
	mysql_options(conn->my, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	if (mysql_real_connect(conn->my, conn->my_host, conn->my_user, conn->password,
			       conn->my_dbname, conn->my_port, conn->my_socket,
			       CLIENT_FOUND_ROWS) == NULL) {
		*error_r = connect_error(conn, what);
		return -1;
	}
	conn->my_lost = 0;
	return sql_mysql_exec(conn,
			      "SET SESSION sql_mode = "
			      "CONCAT_WS(',', NULLIF(@@sql_mode, ''), 'ANSI_QUOTES')",
			      "setting ANSI_QUOTES", error_r);
}

int sql_mysql_open(struct sql_conn *conn, const struct sql_settings *set,
		   const char **error_r)
{
	const char *port = sql_option(set, "port", 1);
	const char *v;
	char *end;
	long p = 0;

	if (port != NULL) {
		p = strtol(port, &end, 10);
		if (end == port || *end != '\0' || p < 1 || p > 65535) {
			*error_r = sql_errorf(conn, "%s.port is not a port number", set->section);
			return -1;
		}
	}
	conn->my_port = (unsigned)p;
#define KEEP(field, name) \
	conn->field = (v = sql_option(set, name, 1)) != NULL ? xstrdup(v) : NULL
	KEEP(my_host, "host");
	KEEP(my_user, "user");
	KEEP(my_dbname, "dbname");
	KEEP(my_socket, "socket");
	KEEP(password, "pass");
#undef KEEP
	conn->statement_timeout_ms = set->statement_timeout_ms;
	return my_connect(conn, "cannot connect to", error_r);
}

void sql_mysql_close(struct sql_conn *conn)
{
	mysql_close(conn->my);
	conn->my = NULL;
}

int sql_mysql_reconnect(struct sql_conn *conn, const char **error_r)
{
	return my_connect(conn, "cannot reconnect to", error_r);
}

/* ---- statements ---- */

const char *sql_rows_cell(const struct sql_rows *rows, size_t row, unsigned col)
{
	return rows->cells[row * rows->ncols + col];
}

void sql_rows_free(struct sql_rows **rowsp, int wipe)
{
	struct sql_rows *rows = *rowsp;

	if (rows == NULL)
		return;
	for (size_t i = 0; i < rows->nrows * rows->ncols; i++) {
		if (wipe && rows->cells[i] != NULL)
			memset(rows->cells[i], 0, rows->lens[i]);
		free(rows->cells[i]);
	}
	for (unsigned c = 0; c < rows->ncols; c++)
		free(rows->names[c]);
	free(rows->names);
	free(rows->types);
	free(rows->cells);
	free(rows->lens);
	free(rows);
	*rowsp = NULL;
}

static enum sql_col_type col_type(const MYSQL_FIELD *f)
{
	switch (f->type) {
	case MYSQL_TYPE_TINY:
		return SQL_COL_BOOL;
	case MYSQL_TYPE_SHORT:
	case MYSQL_TYPE_INT24:
	case MYSQL_TYPE_LONG:
	case MYSQL_TYPE_LONGLONG:
		return SQL_COL_INT;
	default:
		return SQL_COL_TEXT;
	}
}

/* Read every row of an executed statement with a result into rows. */
static int read_rows(struct sql_conn *conn, MYSQL_STMT *stmt, MYSQL_RES *meta,
		     const char *what, struct sql_rows *rows, const char **error_r)
{
	const MYSQL_FIELD *fields = mysql_fetch_fields(meta);
	MYSQL_BIND *bind;
	unsigned long *lens;
	my_bool *nulls, *errs;
	size_t cap = 0;
	int rc = -1;

	rows->ncols = mysql_num_fields(meta);
	rows->names = xcalloc(rows->ncols + 1, sizeof(*rows->names));
	rows->types = xcalloc(rows->ncols + 1, sizeof(*rows->types));
	for (unsigned c = 0; c < rows->ncols; c++) {
		rows->names[c] = xstrdup(fields[c].name);
		rows->types[c] = col_type(&fields[c]);
	}
	if (mysql_stmt_store_result(stmt) != 0) {
		*error_r = my_error(conn, stmt, what);
		return -1;
	}
	bind = xcalloc(rows->ncols + 1, sizeof(*bind));
	lens = xcalloc(rows->ncols + 1, sizeof(*lens));
	nulls = xcalloc(rows->ncols + 1, sizeof(*nulls));
	errs = xcalloc(rows->ncols + 1, sizeof(*errs));
	/* No buffers: each fetch reports the lengths (as truncation), then
	 * each cell is fetched into a buffer of its size. */
	for (unsigned c = 0; c < rows->ncols; c++) {
		bind[c].buffer_type = MYSQL_TYPE_STRING;
		bind[c].length = &lens[c];
		bind[c].is_null = &nulls[c];
		bind[c].error = &errs[c];
	}
	if (mysql_stmt_bind_result(stmt, bind) != 0) {
		*error_r = my_error(conn, stmt, what);
		goto out;
	}
	for (;;) {
		int f = mysql_stmt_fetch(stmt);
		size_t base;

		if (f == MYSQL_NO_DATA)
			break;
		if (f != 0 && f != MYSQL_DATA_TRUNCATED) {
			*error_r = my_error(conn, stmt, what);
			goto out;
		}
		if (rows->nrows >= SQL_MYSQL_MAX_ROWS) {
			*error_r = sql_errorf(conn, "mysql: %s: more than %d rows", what,
					      SQL_MYSQL_MAX_ROWS);
			goto out;
		}
		if (rows->nrows == cap) {
			cap = cap ? cap * 2 : 8;
			rows->cells = xrealloc(rows->cells, cap * rows->ncols * sizeof(*rows->cells));
			rows->lens = xrealloc(rows->lens, cap * rows->ncols * sizeof(*rows->lens));
		}
		base = rows->nrows * rows->ncols;
		for (unsigned c = 0; c < rows->ncols; c++) {
			MYSQL_BIND one = { 0 };
			unsigned long got = 0;
			char *cell = NULL;

			if (!nulls[c]) {
				cell = xmalloc(lens[c] + 1);
				one.buffer_type = MYSQL_TYPE_STRING;
				one.buffer = cell;
				one.buffer_length = lens[c] + 1;
				one.length = &got;
				if (lens[c] > 0 && mysql_stmt_fetch_column(stmt, &one, c, 0) != 0) {
					free(cell);
					/* Keep the row counted so that it is freed. */
					for (unsigned k = c; k < rows->ncols; k++)
						rows->cells[base + k] = NULL, rows->lens[base + k] = 0;
					rows->nrows++;
					*error_r = my_error(conn, stmt, what);
					goto out;
				}
				cell[lens[c]] = '\0';
			}
			rows->cells[base + c] = cell;
			rows->lens[base + c] = nulls[c] ? 0 : lens[c];
		}
		rows->nrows++;
	}
	rc = 0;
out:
	free(bind);
	free(lens);
	free(nulls);
	free(errs);
	return rc;
}

int sql_mysql_run(struct sql_conn *conn, const char *sql, int n, const char *const *values,
		  const char *what, struct sql_rows **rows_r, uint64_t *affected_r,
		  const char **error_r)
{
	MYSQL_STMT *stmt = mysql_stmt_init(conn->my);
	MYSQL_BIND *bind = xcalloc((size_t)n + 1, sizeof(*bind));
	unsigned long *lens = xcalloc((size_t)n + 1, sizeof(*lens));
	struct sql_rows *rows = NULL;
	MYSQL_RES *meta;
	int rc = -1;

	conn->sqlstate[0] = '\0';
	*rows_r = NULL;
	if (stmt == NULL) {
		*error_r = my_error(conn, NULL, what);
		goto out;
	}
	if (mysql_stmt_prepare(stmt, sql, strlen(sql)) != 0) {
		*error_r = my_error(conn, stmt, what);
		goto out;
	}
	if (mysql_stmt_param_count(stmt) != (unsigned long)n) {
		*error_r = sql_errorf(conn, "mysql: %s: %lu parameters in the statement, %d given",
				      what, mysql_stmt_param_count(stmt), n);
		goto out;
	}
	for (int i = 0; i < n; i++) {
		if (values[i] == NULL) {
			bind[i].buffer_type = MYSQL_TYPE_NULL;
			continue;
		}
		lens[i] = strlen(values[i]);
		bind[i].buffer_type = MYSQL_TYPE_STRING;
		bind[i].buffer = (void *)values[i];
		bind[i].buffer_length = lens[i];
		bind[i].length = &lens[i];
	}
	if ((n > 0 && mysql_stmt_bind_param(stmt, bind) != 0) || mysql_stmt_execute(stmt) != 0) {
		*error_r = my_error(conn, stmt, what);
		goto out;
	}
	meta = mysql_stmt_result_metadata(stmt);
	if (meta == NULL) {
		if (mysql_stmt_field_count(stmt) != 0) {
			*error_r = my_error(conn, stmt, what);
			goto out;
		}
		if (affected_r != NULL)
			*affected_r = mysql_stmt_affected_rows(stmt);
		rc = 0;
		goto out;
	}
	rows = xcalloc(1, sizeof(*rows));
	rc = read_rows(conn, stmt, meta, what, rows, error_r);
	mysql_free_result(meta);
	if (rc == 0) {
		if (affected_r != NULL)
			*affected_r = rows->nrows;
		*rows_r = rows;
		rows = NULL;
	}
out:
	sql_rows_free(&rows, 1);
	if (stmt != NULL)
		mysql_stmt_close(stmt);
	free(bind);
	free(lens);
	return rc;
}
