/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * storage_pgsql: the PostgreSQL storage driver, for sm nodes that share
 * one database (and for jabberd2 sites moving over with their database).
 * Options, under storage.pgsql, as jabberd2 reads them:
 *	conninfo      a libpq connection string or URI; if set, the five
 *	              below are ignored
 *	host, port, dbname, user, pass
 *	schema        SET search_path to this schema after connecting
 *	transactions  present: writes run SERIALIZABLE, as in jabberd2
 *	prefix        put in front of every sm table name
 * Writes of several rows are always one transaction here (jabberd2 used
 * none unless `transactions` was set); serialization failures, deadlocks
 * and two nodes' colliding replaces are retried (see retryable()).
 *
 * Every value travels as a query parameter (PQexecParams, text format, its
 * type left to the server so it takes the column's: 't'/'f' for booleans,
 * decimal for integers), and every identifier is quoted. Inserts draw
 * "object-sequence" from the one global sequence, as jabberd2's do.
 * Statements are not prepared once and kept: a kept `SELECT *` breaks when
 * an administrator adds a column, and these statements are cheap to plan.
 *
 * The connection (options conninfo, host, port, dbname, user, pass and
 * schema; UTF-8; errors without the password; reconnecting) is the SQL
 * layer's (sql.h), shared with c2s's pgsql authreg. Opening connects, then
 * creates any missing piece of the schema (schema_pgsql.c) under the
 * layer's schema lock, so that nodes starting together do not race. A
 * connection lost later is re-established once per operation, and the
 * operation retried if it had not reached COMMIT.
 */
#include "config.h"
#include "storage/storage_private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "util/buf.h"
#include "util/log.h"

/* Type OIDs of the result columns we convert (catalog/pg_type_d.h is in
 * the server headers, which a client build need not have). */
#define PG_OID_BOOL 16
#define PG_OID_INT8 20
#define PG_OID_INT2 21
#define PG_OID_INT4 23
#define PG_OID_OID 26

/* PostgreSQL truncates longer identifiers (NAMEDATALEN - 1). */
#define PGSQL_MAX_IDENT 63
/* No owner has this many rows of one type; more means something is wrong,
 * and reading on would exhaust memory. */
#define PGSQL_MAX_ROWS 1000000

/* Run one statement (sql_pgsql_run) on the backend's connection. */
static PGresult *run(struct storage_backend *be, const char *sql, int n,
		     const char *const *values, ExecStatusType want, const char *what,
		     const char **error_r)
{
	struct storage_sql *d = be->data;

	return sql_pgsql_run(d->conn, sql, n, values, want, what, error_r);
}

static int run_cmd(struct storage_backend *be, const char *sql, const char *what,
		   const char **error_r)
{
	struct storage_sql *d = be->data;

	return sql_exec(d->conn, sql, what, error_r);
}

/* "prefix+name" quoted, or -1 if PostgreSQL would truncate the name. */
static int table_ident(struct storage_backend *be, const char *prefix, const char *name,
		       struct buf *sql, const char **error_r)
{
	return storage_sql_table(be, prefix, name, PGSQL_MAX_IDENT, sql, error_r);
}

/* ---- schema ---- */

/* Whether a relation of that (unquoted) name is visible on the search
 * path. */
static int relation_exists(struct storage_backend *be, const char *prefix, const char *name,
			   int *exists_r, const char **error_r)
{
	struct buf ident = { 0 };
	PGresult *res;
	const char *values[1];

	if (table_ident(be, prefix, name, &ident, error_r) < 0)
		return -1;
	values[0] = ident.data;
	res = run(be, "SELECT to_regclass($1) IS NOT NULL", 1, values, PGRES_TUPLES_OK,
		  "reading the schema", error_r);
	buf_free(&ident);
	if (res == NULL)
		return -1;
	*exists_r = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return 0;
}

static int create_table(struct storage_backend *be, const struct storage_pgsql_table *t,
			const char *prefix, const char **error_r)
{
	int ret = storage_sql_create(be, prefix, t->name, NULL, t->columns, error_r);

	for (size_t i = 0; ret == 0 && i < t->nindexes; i++)
		ret = storage_sql_create(be, prefix, t->name, t->indexes[i].name,
					 t->indexes[i].columns, error_r);
	return ret;
}

/* Create the missing tables among those whose OURS flag equals `ours`
 * (and the sequence first), in one transaction under the schema lock.
 * Adds the number created to *created. */
static int create_missing(struct storage_backend *be, int ours, unsigned *created,
			  const char **error_r)
{
	struct storage_sql *d = be->data;
	unsigned made = 0;
	int exists;

	if (sql_begin(d->conn, 0, error_r) < 0 || sql_schema_lock(d->conn, error_r) < 0)
		goto err;
	if (relation_exists(be, NULL, STORAGE_PGSQL_SEQUENCE, &exists, error_r) < 0)
		goto err;
	if (!exists && run_cmd(be, "CREATE SEQUENCE \"" STORAGE_PGSQL_SEQUENCE "\"",
			       "creating the sequence", error_r) < 0)
		goto err;
	for (size_t i = 0; i < storage_pgsql_schema_len; i++) {
		const struct storage_pgsql_table *t = &storage_pgsql_schema[i];
		const char *prefix = t->flags & STORAGE_PGSQL_UNPREFIXED ? NULL : d->prefix;

		if ((t->flags & STORAGE_PGSQL_OURS) != (ours ? STORAGE_PGSQL_OURS : 0))
			continue;
		if (relation_exists(be, prefix, t->name, &exists, error_r) < 0)
			goto err;
		if (!exists && create_table(be, t, prefix, error_r) < 0)
			goto err;
		made += !exists;
	}
	if (sql_commit(d->conn, error_r) == 0) {
		*created += made;
		return 0;
	}
err:
	sql_rollback(d->conn);
	return -1;
}

static int pgsql_open(struct storage_backend *be, const char **error_r)
{
	struct storage_sql *d;
	PGconn *pg;

	if (storage_sql_open(be, SQL_PGSQL, storage_sql_ensure_schema, error_r) < 0)
		return -1;
	d = be->data;
	pg = sql_pgsql_conn(d->conn);
	log_info("pgsql: connected to database '%s' on %s as user '%s'%s", PQdb(pg),
		 PQhost(pg) ? PQhost(pg) : "(default host)", PQuser(pg),
		 d->serializable ? ", serializable transactions" : "");
	return 0;
}

/* ---- statements ---- */

/* Run a WHERE statement; returns its result or NULL with *error_r. */
static PGresult *run_where(struct storage_backend *be, const char *verb, const char *type,
			   const char *owner, const struct storage_filter *filter,
			   const char *tail, ExecStatusType want, const char *what,
			   const char **error_r)
{
	struct buf sql = { 0 };
	struct storage_sql_params p = { 0 };
	PGresult *res = NULL;

	if (storage_sql_where(be, verb, type, owner, filter, tail, STORAGE_PARAM_DOLLAR,
			      PGSQL_MAX_IDENT, &sql, &p, error_r) == 0)
		res = run(be, sql.data, p.n, p.values, want, what, error_r);
	storage_sql_params_free(&p);
	buf_free(&sql);
	return res;
}

static int insert_object(struct storage_backend *be, const char *type, const char *owner,
			 const struct os_object *o, const char **error_r)
{
	struct buf sql = { 0 };
	struct storage_sql_params p = { 0 };
	PGresult *res = NULL;
	int rc = -1;

	if (storage_sql_insert(be, type, owner, o, STORAGE_PARAM_DOLLAR, PGSQL_MAX_IDENT,
			       "\"object-sequence\"", "nextval('\"" STORAGE_PGSQL_SEQUENCE "\"')",
			       &sql, &p, error_r) == 0 &&
	    (res = run(be, sql.data, p.n, p.values, PGRES_COMMAND_OK, "insert", error_r)) != NULL)
		rc = 0;
	PQclear(res);
	storage_sql_params_free(&p);
	buf_free(&sql);
	return rc;
}

/* ---- operations ---- */

/*
 * Why results carry every column (the owner aside): jabberd2's pgsql
 * driver reads back only boolean, int4 and text columns and skips the
 * rest, so the bigint "object-sequence" and authreg's varchar columns never
 * reached its sm. We convert each column by its type: boolean, the integer
 * types, and everything else as its text.
 */
static void row_to_object(const PGresult *res, int row, struct os *os)
{
	struct os_object *o = os_object_new(os);
	int ncols = PQnfields(res);

	for (int i = 0; i < ncols; i++) {
		const char *name = PQfname(res, i), *v = PQgetvalue(res, row, i);

		enum sql_col_type type = SQL_COL_TEXT;

		if (strcmp(name, "collection-owner") == 0 || PQgetisnull(res, row, i))
			continue;
		switch (PQftype(res, i)) {
		case PG_OID_BOOL:
			type = SQL_COL_BOOL;
			break;
		case PG_OID_INT2:
		case PG_OID_INT4:
		case PG_OID_INT8:
		case PG_OID_OID:
			type = SQL_COL_INT;
			break;
		}
		storage_sql_put_cell(o, name, type, v);
	}
}

/* The rows of res (cleared here) as a new *os_r, or STORAGE_NOT_FOUND. */
static enum storage_result rows_to_os(PGresult *res, struct os **os_r)
{
	int rows = PQntuples(res);

	if (rows > 0) {
		*os_r = os_new();
		for (int i = 0; i < rows; i++)
			row_to_object(res, i, *os_r);
	}
	PQclear(res);
	return rows > 0 ? STORAGE_OK : STORAGE_NOT_FOUND;
}

static enum storage_result do_get(struct storage_backend *be, const char *type,
				  const char *owner, const struct storage_filter *filter,
				  struct os **os_r, const char **error_r)
{
	/* One row past the limit, to tell "too many" from "just enough". */
	static const char tail[] = " ORDER BY \"object-sequence\" LIMIT 1000001";
	PGresult *res = run_where(be, "SELECT * FROM ", type, owner, filter, tail,
				  PGRES_TUPLES_OK, "select", error_r);
	int rows;

	_Static_assert(PGSQL_MAX_ROWS == 1000000, "update the LIMIT above");
	if (res == NULL)
		return STORAGE_ERROR;
	rows = PQntuples(res);
	if (rows > PGSQL_MAX_ROWS) {
		PQclear(res);
		*error_r = "pgsql: too many rows";
		return STORAGE_ERROR;
	}
	return rows_to_os(res, os_r);
}

/*
 * One DELETE ... RETURNING: atomic on its own. Two nodes taking the same
 * owner's rows at once: the second DELETE waits on the rows the first
 * locked, and once the first commits it skips them as gone (READ
 * COMMITTED re-checks a row after the wait), so each row is returned to
 * one of them. No row limit can apply to a DELETE; what a user may have
 * of a type is bounded where it is written (offline.userquota).
 */
static enum storage_result do_take(struct storage_backend *be, const char *type,
				   const char *owner, const struct storage_filter *filter,
				   struct os **os_r, const char **error_r)
{
	static const char tail[] = " RETURNING *) SELECT * FROM \"taken\" "
				   "ORDER BY \"object-sequence\"";
	PGresult *res = run_where(be, "WITH \"taken\" AS (DELETE FROM ", type, owner, filter,
				  tail, PGRES_TUPLES_OK, "take", error_r);

	if (res == NULL)
		return STORAGE_ERROR;
	return rows_to_os(res, os_r);
}

static enum storage_result do_count(struct storage_backend *be, const char *type,
				    const char *owner, const struct storage_filter *filter,
				    int64_t *count_r, const char **error_r)
{
	PGresult *res = run_where(be, "SELECT count(*) FROM ", type, owner, filter, "",
				  PGRES_TUPLES_OK, "count", error_r);

	if (res == NULL)
		return STORAGE_ERROR;
	*count_r = PQntuples(res) == 1 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
	PQclear(res);
	return STORAGE_OK;
}

static int do_delete(struct storage_backend *be, const char *type, const char *owner,
		     const struct storage_filter *filter, const char **error_r)
{
	PGresult *res = run_where(be, "DELETE FROM ", type, owner, filter, "",
				  PGRES_COMMAND_OK, "delete", error_r);

	PQclear(res);
	return res != NULL ? 0 : -1;
}

/*
 * Whether a failure means "run the transaction again": a serialization
 * failure or deadlock; and, for replace, a unique violation, which is how
 * two nodes replacing the same owner's rows at once collide (our DELETE
 * could not yet see the other's new row; on the next attempt it can).
 */
static int retryable(int replace, const char *sqlstate)
{
	return strcmp(sqlstate, "40001") == 0 || strcmp(sqlstate, "40P01") == 0 ||
	       (replace && strcmp(sqlstate, "23505") == 0);
}

/* One DELETE ... RETURNING: rows deleted by a statement whose answer was
 * lost are gone, so it is never run again (*committing at once). */
static enum storage_result take_once(struct storage_backend *be, const char *type,
				     const char *owner, const struct storage_filter *filter,
				     struct os **os_r, int *committing, const char **error_r)
{
	*committing = 1;
	return do_take(be, type, owner, filter, os_r, error_r);
}

static const struct storage_sql_ops pgsql_ops = {
	.get = do_get,
	.count = do_count,
	.delete = do_delete,
	.insert = insert_object,
	.take = take_once,
	.retryable = retryable,
	.create_missing = create_missing,
};

const struct storage_driver storage_driver_pgsql = {
	.name = "pgsql",
	.open = pgsql_open,
	.close = storage_sql_close,
	.put = storage_sql_put,
	.get = storage_sql_get,
	.count = storage_sql_count,
	.delete = storage_sql_delete,
	.replace = storage_sql_replace,
	.take = storage_sql_take,
	.sql = &pgsql_ops,
};
