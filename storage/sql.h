/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sql: the one SQL connection layer, under the sm's storage drivers
 * (storage_sqlite.c, storage_pgsql.c) and c2s's authreg backends
 * (authreg_sqlite.c, authreg_pgsql.c). It owns what both sides used to do
 * each in their own way, and did differently:
 *
 *  - opening, from the jabberd2 options of one config section
 *    ("storage.pgsql", "authreg.sqlite"...), read through a callback:
 *    sqlite: dbname (the file), busy-timeout (ms, default 1000), and for
 *    storage sql (run once after opening); a new file gets jabberd2's
 *    page size and WAL;
 *    pgsql: conninfo, or host/port/dbname/user/pass, then schema
 *    (search_path); client_encoding is always UTF8 (every string we hand
 *    over is UTF-8, whatever the database's default); connect_timeout 10 s
 *    unless conninfo says otherwise;
 *  - error text, on one line, with the password (from `pass` or from
 *    inside conninfo) never shown;
 *  - a lost pgsql connection re-established (sql_reconnect), with its
 *    session settings (search_path, statement_timeout) restored;
 *  - transactions (sql_begin/sql_commit/sql_rollback) and the schema lock
 *    that keeps daemons starting together from creating tables twice;
 *  - prepared statements: a per-connection sqlite cache keyed by SQL text.
 *
 * Statements themselves stay with each driver (sqlite3_stmt binding or
 * libpq text parameters), through the native handle this layer hands out;
 * the interface above that is driver-neutral, so that another driver
 * (MySQL, issue 15) adds a kind here, not a copy of it in every caller.
 *
 * Calls block. Error strings returned in *error_r are owned by the
 * connection and valid until its next call.
 */
#ifndef STORAGE_SQL_H
#define STORAGE_SQL_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct sql_conn;
struct sqlite3;
struct sqlite3_stmt;
struct pg_conn;
struct pg_result;
struct st_mysql;

enum sql_kind {
	SQL_SQLITE,
	SQL_PGSQL,
	SQL_MYSQL,
};

/* An option of the section: the value, or NULL when absent. */
typedef const char *sql_option_fn(void *ctx, const char *key);

struct sql_settings {
	enum sql_kind kind;
	/* The config section, "storage.pgsql" or "authreg.sqlite": options are
	 * read as section + "." + name, and errors name it. */
	const char *section;
	sql_option_fn *option;
	void *option_ctx;
	/* sqlite: the option holding SQL to run once after opening
	 * ("sql" for storage.sqlite.sql), or NULL for none. */
	const char *init_sql_option;
	/* pgsql: the application name the server shows; pgsql and mysql:
	 * the longest a statement may run (ms; 0: the server's default). */
	const char *application_name;
	int statement_timeout_ms;
};

/* The section's option `name` (set->section + "." + name), or NULL; an
 * empty value reads as absent when `nonempty`. */
const char *sql_option(const struct sql_settings *set, const char *name, int nonempty);

/*
 * Open a connection as `set` says. Returns 0 and *conn_r, or -1 with the
 * reason in *error_r (in a static buffer: valid until the next failed
 * sql_open). The reason never holds the password.
 */
int sql_open(struct sql_conn **conn_r, const struct sql_settings *set, const char **error_r);
void sql_close(struct sql_conn **connp);

/* SQLSTATE of the last failed pgsql statement ("" if none or sqlite). */
const char *sql_sqlstate(const struct sql_conn *conn);

/* Run SQL text that returns nothing we read (may hold several statements
 * on sqlite; one on pgsql). 0, or -1 with *error_r "<kind>: <what>: ...". */
int sql_exec(struct sql_conn *conn, const char *sql, const char *what, const char **error_r);

/*
 * Run one statement with `n` text parameters ($1 to $9 in the SQL text:
 * SQLite reads them as numbered parameters, PostgreSQL natively; for
 * MySQL they become ? markers with the values in the order they appear,
 * at most SQL_QUERY_PARAMS uses), the same text on every driver. Each row it
 * returns, if `row` is given, goes to row() with its first columns (at
 * most SQL_QUERY_COLS) as text, NULL for SQL NULL. 0, or -1 with
 * *error_r "<kind>: <what>: ...". No reconnection.
 */
#define SQL_QUERY_COLS 8
#define SQL_QUERY_PARAMS 16
typedef void sql_row_fn(void *ctx, const char *const *cols, int ncols);
int sql_query(struct sql_conn *conn, const char *sql, int n, const char *const *vals,
	      sql_row_fn *row, void *ctx, const char *what, const char **error_r);

/*
 * Open the database of a component daemon's own tables (muc, pubsub) and
 * create them: the driver is option "<base>.driver" (sqlite or pgsql),
 * its options those of "<base>.sqlite" / "<base>.pgsql" as sm.xml's
 * storage has them. The statements of schema_sqlite or schema_pgsql
 * (NULL-terminated; CREATE ... IF NOT EXISTS) run in one transaction
 * under the schema lock. No driver given: 0 with *conn_r NULL. Else 0
 * with *conn_r, or -1 with *error_r (in a static buffer).
 */
int sql_open_tables(const char *base, sql_option_fn *option, void *ctx,
		    const char *application_name, const char *const *schema_sqlite,
		    const char *const *schema_pgsql, struct sql_conn **conn_r,
		    const char **error_r);

/* ---- transactions ---- */

/* BEGIN, taking the write lock at once on sqlite (BEGIN IMMEDIATE) and,
 * with `serializable`, at SERIALIZABLE isolation on pgsql. */
int sql_begin(struct sql_conn *conn, int serializable, const char **error_r);
int sql_commit(struct sql_conn *conn, const char **error_r);
/* Abandon the open transaction, if there is one. Never fails. */
void sql_rollback(struct sql_conn *conn);
/* Inside a transaction: wait for the lock all our daemons take while they
 * check and create tables, held until the transaction ends (pgsql; on
 * sqlite, BEGIN IMMEDIATE already serialises writers). */
int sql_schema_lock(struct sql_conn *conn, const char **error_r);

/* ---- connection loss (pgsql; sqlite connections are never lost) ---- */

/* 1 if the server connection is gone. */
int sql_lost(const struct sql_conn *conn);
/* Connect again as at open, restoring the session settings. 0 or -1. */
int sql_reconnect(struct sql_conn *conn, const char **error_r);

/* ---- SQL text ---- */

/* Append `prefix` + `name` as one double-quoted identifier (prefix may be
 * NULL); embedded quotes are doubled. Valid in SQLite, PostgreSQL and our
 * MySQL connections (which run with ANSI_QUOTES). */
void sql_ident(struct buf *sql, const char *prefix, const char *name);

/* ---- sqlite statements ---- */

struct sqlite3 *sql_sqlite_db(struct sql_conn *conn);
/*
 * A prepared statement for `sql`, from the connection's cache or newly
 * prepared (replacing the least recently used). The connection owns it:
 * use it, then sql_sqlite_done(). NULL with *error_r if SQLite refuses it.
 */
struct sqlite3_stmt *sql_sqlite_stmt(struct sql_conn *conn, const char *sql,
				     const char **error_r);
/* Reset a cached statement and drop its bindings (copies of secrets
 * included) for its next use. */
void sql_sqlite_done(struct sqlite3_stmt *stmt);
/* Set *error_r to "sqlite: <what>: <SQLite's message>"; returns -1. */
int sql_sqlite_fail(struct sql_conn *conn, const char *what, const char **error_r);

/* ---- pgsql statements (only in builds with libpq) ---- */

struct pg_conn *sql_pgsql_conn(struct sql_conn *conn);
/*
 * Run one statement with `n` text parameters (types left to the server)
 * and check its status is `want` (a libpq ExecStatusType). Returns the
 * result (PQclear it), or NULL with *error_r "pgsql: <what>: <message>
 * (SQLSTATE xxxxx)" and sql_sqlstate() set. No reconnection.
 */
struct pg_result *sql_pgsql_run(struct sql_conn *conn, const char *sql, int n,
				const char *const *values, int want, const char *what,
				const char **error_r);

/* ---- mysql statements (only in builds with libmariadb) ---- */

/* How a result column reads, from its type: MySQL's TINYINT is the
 * boolean of jabberd2's schema, the other integer types are integers,
 * everything else text. */
enum sql_col_type {
	SQL_COL_TEXT,
	SQL_COL_INT,
	SQL_COL_BOOL,
};

/* A result read completely: every cell as text (NULL for SQL NULL). */
struct sql_rows {
	unsigned ncols;
	size_t nrows;
	char **names;              /* ncols */
	enum sql_col_type *types;  /* ncols */
	char **cells;              /* nrows * ncols, row by row */
	size_t *lens;              /* of each cell */
};

/* Cell (row, col), or NULL. */
const char *sql_rows_cell(const struct sql_rows *rows, size_t row, unsigned col);
/* Free rows (wiping the cells first when `wipe`: they may hold secrets). */
void sql_rows_free(struct sql_rows **rowsp, int wipe);

/* What every table we create in MySQL is given after its columns. */
#define SQL_MYSQL_TABLE_OPTIONS " DEFAULT CHARSET=utf8mb4"

/* The longest result sql_mysql_run() reads; a larger one is an error. */
#define SQL_MYSQL_MAX_ROWS 1000000

struct st_mysql *sql_mysql_conn(struct sql_conn *conn);
/*
 * Run one statement, prepared on the server, with `n` text parameters
 * (NULL: SQL NULL; the server converts them to the columns' types).
 * Returns 0 with, for a statement that returns rows, the whole result in
 * *rows_r (else NULL), and the rows changed or matched in *affected_r
 * (may be NULL); or -1 with *error_r "mysql: <what>: <message> (error
 * <n>, SQLSTATE xxxxx)" and sql_sqlstate() set. No reconnection.
 */
int sql_mysql_run(struct sql_conn *conn, const char *sql, int n, const char *const *values,
		  const char *what, struct sql_rows **rows_r, uint64_t *affected_r,
		  const char **error_r);

#endif
