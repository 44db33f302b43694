/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * storage_mysql: the MySQL/MariaDB storage driver, for sites that run
 * jabberd2 on MySQL and move over with their database (and for sm nodes
 * sharing one). Options, under storage.mysql, as jabberd2 reads them:
 *	host, port, dbname, user, pass
 *	socket        (ours) a Unix socket, instead of host and port
 *	transactions  present: writes run SERIALIZABLE
 *	prefix        put in front of every sm table name
 * Writes of several rows are always one transaction here (jabberd2 used
 * none unless `transactions` was set); deadlocks are retried.
 *
 * Every value travels as a parameter of a statement prepared on the
 * server (sql_mysql_run), as text the server converts to the column's
 * type ("1"/"0" for booleans, decimal for integers); every identifier is
 * quoted. Results are typed from their columns: TINYINT (jabberd2's
 * booleans) as boolean, the other integer types as integers, the rest as
 * text. Inserts leave "object-sequence" to each table's AUTO_INCREMENT,
 * as jabberd2's do.
 *
 * The connection (options, utf8mb4, ANSI_QUOTES, errors without the
 * password, reconnecting) is the SQL layer's (sql.h), shared with c2s's
 * mysql authreg. Opening connects, then creates any missing table of the
 * schema (schema_mysql.c) under the layer's schema lock. A connection
 * lost later is re-established once per operation, and the operation
 * retried if it had not reached COMMIT.
 */
#include "config.h"
#include "storage/storage_private.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/log.h"

/* MySQL refuses longer identifiers. */
#define MYSQL_MAX_IDENT 64

/* "prefix+name" quoted, or -1 if MySQL would refuse the name. */
static int table_ident(struct storage_backend *be, const char *prefix, const char *name,
		       struct buf *sql, const char **error_r)
{
	return storage_sql_table(be, prefix, name, MYSQL_MAX_IDENT, sql, error_r);
}

static int run(struct storage_backend *be, const char *sql, int n, const char *const *values,
	       const char *what, struct sql_rows **rows_r, const char **error_r)
{
	struct storage_sql *d = be->data;
	struct sql_rows *rows = NULL;
	int rc = sql_mysql_run(d->conn, sql, n, values, what, &rows, NULL, error_r);

	if (rows_r != NULL)
		*rows_r = rows;
	else
		sql_rows_free(&rows, 0);
	return rc;
}

/* ---- schema ---- */

static int table_exists(struct storage_backend *be, const char *prefix, const char *name,
			int *exists_r, const char **error_r)
{
	static const char sql[] = "SELECT count(*) FROM information_schema.tables "
				  "WHERE table_schema = DATABASE() AND table_name = ?";
	struct buf full = { 0 };
	struct sql_rows *rows = NULL;
	const char *values[1];
	int rc;

	buf_printf(&full, "%s%s", prefix ? prefix : "", name);
	values[0] = full.data;
	rc = run(be, sql, 1, values, "reading the schema", &rows, error_r);
	buf_free(&full);
	if (rc < 0)
		return -1;
	*exists_r = rows != NULL && rows->nrows == 1 && sql_rows_cell(rows, 0, 0) != NULL &&
		    strcmp(sql_rows_cell(rows, 0, 0), "0") != 0;
	sql_rows_free(&rows, 0);
	return 0;
}

/* Create the missing tables whose OURS flag equals `ours`, under the
 * schema lock. (MySQL commits DDL at once: the lock, not the transaction,
 * keeps two daemons from creating a table together.) */
static int create_missing(struct storage_backend *be, int ours, unsigned *created,
			  const char **error_r)
{
	struct storage_sql *d = be->data;
	struct buf sql = { 0 };
	int exists;

	if (sql_begin(d->conn, 0, error_r) < 0 || sql_schema_lock(d->conn, error_r) < 0)
		goto err;
	for (size_t i = 0; i < storage_mysql_schema_len; i++) {
		const struct storage_mysql_table *t = &storage_mysql_schema[i];
		const char *prefix = t->flags & STORAGE_MYSQL_UNPREFIXED ? NULL : d->prefix;

		if ((t->flags & STORAGE_MYSQL_OURS) != (ours ? STORAGE_MYSQL_OURS : 0))
			continue;
		if (table_exists(be, prefix, t->name, &exists, error_r) < 0)
			goto err;
		if (exists)
			continue;
		buf_reset(&sql);
		buf_append_str(&sql, "CREATE TABLE IF NOT EXISTS ");
		if (table_ident(be, prefix, t->name, &sql, error_r) < 0)
			goto err;
		buf_printf(&sql, " (%s)" SQL_MYSQL_TABLE_OPTIONS, t->columns);
		if (sql_exec(d->conn, sql.data, "creating a table", error_r) < 0)
			goto err;
		(*created)++;
	}
	buf_free(&sql);
	return sql_commit(d->conn, error_r);
err:
	buf_free(&sql);
	sql_rollback(d->conn);
	return -1;
}

static int mysql_open(struct storage_backend *be, const char **error_r)
{
	struct storage_sql *d;
	const char *db;

	if (storage_sql_open(be, SQL_MYSQL, storage_sql_ensure_schema, error_r) < 0)
		return -1;
	d = be->data;
	db = be->option != NULL ? be->option(be->option_ctx, "storage.mysql.dbname") : NULL;
	log_info("mysql: connected to database '%s'%s", db != NULL ? db : "",
		 d->serializable ? ", serializable transactions" : "");
	return 0;
}

/* ---- statements ---- */

static int run_where(struct storage_backend *be, const char *verb, const char *type,
		     const char *owner, const struct storage_filter *filter, const char *tail,
		     const char *what, struct sql_rows **rows_r, const char **error_r)
{
	struct buf sql = { 0 };
	struct storage_sql_params p = { 0 };
	int rc = -1;

	if (storage_sql_where(be, verb, type, owner, filter, tail, STORAGE_PARAM_QMARK,
			      MYSQL_MAX_IDENT, &sql, &p, error_r) == 0)
		rc = run(be, sql.data, p.n, p.values, what, rows_r, error_r);
	storage_sql_params_free(&p);
	buf_free(&sql);
	return rc;
}

static int insert_object(struct storage_backend *be, const char *type, const char *owner,
			 const struct os_object *o, const char **error_r)
{
	struct buf sql = { 0 };
	struct storage_sql_params p = { 0 };
	int rc = -1;

	if (storage_sql_insert(be, type, owner, o, STORAGE_PARAM_QMARK, MYSQL_MAX_IDENT, NULL,
			       NULL, &sql, &p, error_r) == 0)
		rc = run(be, sql.data, p.n, p.values, "insert", NULL, error_r);
	storage_sql_params_free(&p);
	buf_free(&sql);
	return rc;
}

/* ---- operations ---- */

static void row_to_object(const struct sql_rows *rows, size_t row, struct os *os)
{
	struct os_object *o = os_object_new(os);

	for (unsigned c = 0; c < rows->ncols; c++) {
		const char *name = rows->names[c], *v = sql_rows_cell(rows, row, c);

		if (strcmp(name, "collection-owner") != 0 && v != NULL)
			storage_sql_put_cell(o, name, rows->types[c], v);
	}
}

/* SELECT * of the owner's matching rows, with `tail` after the WHERE. */
static enum storage_result do_get_tail(struct storage_backend *be, const char *type,
				       const char *owner, const struct storage_filter *filter,
				       const char *tail, struct os **os_r, const char **error_r)
{
	struct sql_rows *rows = NULL;
	size_t n;

	/* sql_mysql_run() refuses more than SQL_MYSQL_MAX_ROWS rows. */
	if (run_where(be, "SELECT * FROM ", type, owner, filter, tail, "select", &rows,
		      error_r) < 0)
		return STORAGE_ERROR;
	n = rows != NULL ? rows->nrows : 0;
	if (n > 0) {
		*os_r = os_new();
		for (size_t i = 0; i < n; i++)
			row_to_object(rows, i, *os_r);
	}
	sql_rows_free(&rows, 0);
	return n > 0 ? STORAGE_OK : STORAGE_NOT_FOUND;
}

static enum storage_result do_get(struct storage_backend *be, const char *type,
				  const char *owner, const struct storage_filter *filter,
				  struct os **os_r, const char **error_r)
{
	return do_get_tail(be, type, owner, filter, " ORDER BY \"object-sequence\"", os_r,
			   error_r);
}

static enum storage_result do_count(struct storage_backend *be, const char *type,
				    const char *owner, const struct storage_filter *filter,
				    int64_t *count_r, const char **error_r)
{
	struct sql_rows *rows = NULL;

	if (run_where(be, "SELECT count(*) FROM ", type, owner, filter, "", "count", &rows,
		      error_r) < 0)
		return STORAGE_ERROR;
	*count_r = rows != NULL && rows->nrows == 1 && sql_rows_cell(rows, 0, 0) != NULL
			   ? strtoll(sql_rows_cell(rows, 0, 0), NULL, 10) : 0;
	sql_rows_free(&rows, 0);
	return STORAGE_OK;
}

static int do_delete(struct storage_backend *be, const char *type, const char *owner,
		     const struct storage_filter *filter, const char **error_r)
{
	return run_where(be, "DELETE FROM ", type, owner, filter, "", "delete", NULL, error_r);
}

/*
 * get + delete in one transaction: the rows are read with FOR UPDATE
 * (locked: a second taker waits, then finds them gone), then deleted by
 * their "object-sequence", so exactly the rows returned are removed. A
 * connection lost before COMMIT rolled it all back: it may run again.
 */
static enum storage_result take_once(struct storage_backend *be, const char *type,
				     const char *owner, const struct storage_filter *filter,
				     struct os **os_r, int *committing, const char **error_r)
{
	struct storage_sql *d = be->data;
	struct buf sql = { 0 };
	enum storage_result r;
	int64_t seq;

	if (sql_begin(d->conn, 0, error_r) < 0)
		return STORAGE_ERROR;
	r = do_get_tail(be, type, owner, filter, " ORDER BY \"object-sequence\" FOR UPDATE",
			os_r, error_r);
	if (r == STORAGE_OK) {
		buf_append_str(&sql, "DELETE FROM ");
		if (table_ident(be, d->prefix, type, &sql, error_r) < 0)
			goto err;
		buf_append_str(&sql, " WHERE \"collection-owner\" = ? AND \"object-sequence\" IN (");
		for (struct os_object *o = os_first(*os_r); o != NULL; o = os_next(o)) {
			if (os_object_get_int(o, "object-sequence", &seq) < 0) {
				*error_r = storage_backend_error(be, "mysql: take: a row of %s "
								 "has no object-sequence", type);
				goto err;
			}
			buf_printf(&sql, "%s%" PRId64, o == os_first(*os_r) ? "" : ", ", seq);
		}
		buf_append_char(&sql, ')');
		if (run(be, sql.data, 1, &owner, "take", NULL, error_r) < 0)
			goto err;
	} else if (r == STORAGE_ERROR) {
		goto err;
	}
	*committing = 1;
	if (sql_commit(d->conn, error_r) < 0)
		goto err;
	buf_free(&sql);
	return r;
err:
	buf_free(&sql);
	os_free(os_r);
	sql_rollback(d->conn);
	return STORAGE_ERROR;
}

/* A deadlock (SQLSTATE 40001, InnoDB's error 1213) is worth another try. */
static int retryable(int replace, const char *sqlstate)
{
	(void)replace;
	return strcmp(sqlstate, "40001") == 0;
}

static const struct storage_sql_ops mysql_ops = {
	.get = do_get,
	.count = do_count,
	.delete = do_delete,
	.insert = insert_object,
	.take = take_once,
	.retryable = retryable,
	.create_missing = create_missing,
};

const struct storage_driver storage_driver_mysql = {
	.name = "mysql",
	.open = mysql_open,
	.close = storage_sql_close,
	.put = storage_sql_put,
	.get = storage_sql_get,
	.count = storage_sql_count,
	.delete = storage_sql_delete,
	.replace = storage_sql_replace,
	.take = storage_sql_take,
	.sql = &mysql_ops,
};
