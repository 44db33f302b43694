/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * storage_sqlite: the embedded storage driver, one SQLite file shared with
 * jabberd2 (and with c2s's authreg). Options, under storage.sqlite:
 *	dbname        the file, created if absent (required)
 *	sql           SQL run once after opening (e.g. a PRAGMA)
 *	busy-timeout  ms to wait for another process's lock (default 1000;
 *	              jabberd2 does not wait at all unless told)
 *	prefix        put in front of every sm table name
 * jabberd2's `transactions` switch is not needed: every write of several
 * rows here is one transaction.
 *
 * The connection (dbname, busy-timeout, sql; a new file gets jabberd2's
 * page size and WAL journal) and the cache of prepared statements, keyed
 * by their text, are the SQL layer's (sql.h), shared with c2s's sqlite
 * authreg. Opening creates any missing table of the jabberd2 schema
 * (schema_sqlite.c). Statements are built with every value a bound
 * parameter and every identifier quoted. Writes of several rows run in one
 * transaction.
 */
#include "config.h"
#include "storage/storage_private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sqlite3.h>

#include "util/buf.h"
#include "util/log.h"

/* No owner has this many rows of one type; more means something is wrong,
 * and reading on would exhaust memory. */
#define SQLITE_MAX_ROWS 1000000


static const char *db_error(struct storage_backend *be, const char *what)
{
	struct storage_sql *d = be->data;
	const char *error;

	sql_sqlite_fail(d->conn, what, &error);
	return error;
}

static sqlite3_stmt *stmt_get(struct storage_backend *be, const char *sql, const char **error_r)
{
	struct storage_sql *d = be->data;

	return sql_sqlite_stmt(d->conn, sql, error_r);
}

/* Run SQL text without results (transaction control, schema). */
static int exec(struct storage_backend *be, const char *sql, const char **error_r)
{
	struct storage_sql *d = be->data;

	return sql_exec(d->conn, sql, "exec", error_r);
}

/* BEGIN IMMEDIATE: the write lock at once, not at the first write. */
static int begin(struct storage_backend *be, const char **error_r)
{
	struct storage_sql *d = be->data;

	return sql_begin(d->conn, 0, error_r);
}

static void rollback(struct storage_backend *be)
{
	struct storage_sql *d = be->data;

	sql_rollback(d->conn);
}

/* ---- schema ---- */

static int table_exists(struct storage_backend *be, const char *name, int *exists_r,
			const char **error_r)
{
	sqlite3_stmt *stmt = stmt_get(be, "SELECT 1 FROM sqlite_master "
					  "WHERE type = 'table' AND name = ?", error_r);
	int rc;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	sql_sqlite_done(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		*error_r = db_error(be, "reading the schema");
		return -1;
	}
	*exists_r = rc == SQLITE_ROW;
	return 0;
}

static int create_index(struct storage_backend *be, const char *prefix,
			const struct storage_sqlite_table *t,
			const struct storage_sqlite_index *ix, const char **error_r)
{
	return storage_sql_create(be, prefix, t->name, ix->name, ix->columns, error_r);
}

static int create_table(struct storage_backend *be, const struct storage_sqlite_table *t,
			const char *prefix, const char **error_r)
{
	int ret = storage_sql_create(be, prefix, t->name, NULL, t->columns, error_r);

	for (size_t i = 0; ret == 0 && i < t->nindexes; i++)
		ret = create_index(be, prefix, t, &t->indexes[i], error_r);
	return ret;
}

/* Create the tables (and their indexes) that are missing, in one
 * transaction. */
static int create_missing(struct storage_backend *be, const char **error_r)
{
	struct storage_sql *d = be->data;
	unsigned created = 0;

	if (begin(be, error_r) < 0)
		return -1;
	for (size_t i = 0; i < storage_sqlite_schema_len; i++) {
		const struct storage_sqlite_table *t = &storage_sqlite_schema[i];
		const char *prefix = t->unprefixed ? NULL : d->prefix;
		struct buf name = { 0 };
		int exists, ret;

		buf_printf(&name, "%s%s", prefix ? prefix : "", t->name);
		ret = table_exists(be, name.data, &exists, error_r);
		buf_free(&name);
		if (ret < 0 || (!exists && create_table(be, t, prefix, error_r) < 0)) {
			rollback(be);
			return -1;
		}
		created += !exists;
	}
	if (exec(be, "COMMIT", error_r) < 0) {
		rollback(be);
		return -1;
	}
	if (created > 0)
		log_info("sqlite: created %u missing table(s) of the jabberd2 schema", created);
	return 0;
}

/* The indexes jabberd2 lacks, added to every database. A database we
 * cannot write to still works without them, so failure only warns. */
static void add_our_indexes(struct storage_backend *be)
{
	struct storage_sql *d = be->data;
	const char *error;

	for (size_t i = 0; i < storage_sqlite_schema_len; i++) {
		const struct storage_sqlite_table *t = &storage_sqlite_schema[i];
		const char *prefix = t->unprefixed ? NULL : d->prefix;

		for (size_t j = 0; j < t->nindexes; j++)
			if (t->indexes[j].ours &&
			    create_index(be, prefix, t, &t->indexes[j], &error) < 0)
				log_warnx("sqlite: index %s not added: %s", t->indexes[j].name,
					  error);
	}
}

static int ensure_schema(struct storage_backend *be, const char **error_r)
{
	if (create_missing(be, error_r) < 0)
		return -1;
	add_our_indexes(be);
	return 0;
}

/* ---- open / close ---- */

static int sqlite_open(struct storage_backend *be, const char **error_r)
{
	return storage_sql_open(be, SQL_SQLITE, ensure_schema, error_r);
}

/* ---- statements ---- */

/* Append `WHERE "collection-owner" = ? [AND <filter>]`. */
static void sql_where(struct buf *sql, const struct storage_filter *filter)
{
	int param_no = 1;

	buf_append_str(sql, " WHERE \"collection-owner\" = ?");
	if (filter != NULL) {
		buf_append_str(sql, " AND ");
		storage_filter_sql(filter, STORAGE_PARAM_QMARK, &param_no, sql);
	}
}

/* Bind the owner and the filter's values, in the order sql_where()
 * numbered them. The filter must outlive the statement's use. */
static void bind_where(sqlite3_stmt *stmt, const char *owner,
		       const struct storage_filter *filter)
{
	const struct storage_filter *pairs[STORAGE_FILTER_MAX_NODES];
	size_t n = storage_filter_pairs(filter, pairs, STORAGE_FILTER_MAX_NODES);

	sqlite3_bind_text(stmt, 1, owner, -1, SQLITE_STATIC);
	for (size_t i = 0; i < n && i < STORAGE_FILTER_MAX_NODES; i++) {
		if (pairs[i]->is_int)
			sqlite3_bind_int64(stmt, (int)i + 2, pairs[i]->ival);
		else
			sqlite3_bind_text(stmt, (int)i + 2, pairs[i]->value,
					  (int)pairs[i]->value_len, SQLITE_STATIC);
	}
}

/* `<verb> "prefix+type" WHERE ...`, prepared and bound. */
static sqlite3_stmt *stmt_where(struct storage_backend *be, const char *verb,
				const char *type, const char *owner,
				const struct storage_filter *filter, const char *tail,
				const char **error_r)
{
	struct storage_sql *d = be->data;
	struct buf sql = { 0 };
	sqlite3_stmt *stmt;

	buf_append_str(&sql, verb);
	sql_ident(&sql, d->prefix, type);
	sql_where(&sql, filter);
	buf_append_str(&sql, tail);
	stmt = stmt_get(be, sql.data, error_r);
	buf_free(&sql);
	if (stmt != NULL)
		bind_where(stmt, owner, filter);
	return stmt;
}

/* Bind field i of o as parameter `param`. Strings stay in the object until
 * the statement is reset; serialized XML is copied by SQLite. */
static void bind_field(sqlite3_stmt *stmt, int param, const struct os_object *o, size_t i)
{
	enum os_type type;
	struct buf text = { 0 };

	os_object_field(o, i, &type);
	switch (type) {
	case OS_TYPE_BOOLEAN:
		sqlite3_bind_int(stmt, param, os_object_field_int(o, i) != 0);
		break;
	case OS_TYPE_INTEGER:
		sqlite3_bind_int64(stmt, param, os_object_field_int(o, i));
		break;
	case OS_TYPE_STRING:
		sqlite3_bind_text(stmt, param, os_object_field_text(o, i), -1, SQLITE_STATIC);
		break;
	case OS_TYPE_NAD:
		storage_nad_text(os_object_field_nad(o, i), &text);
		sqlite3_bind_text(stmt, param, text.data, (int)text.len, SQLITE_TRANSIENT);
		buf_free(&text);
		break;
	}
}

static int insert_object(struct storage_backend *be, const char *type, const char *owner,
			 const struct os_object *o, const char **error_r)
{
	struct storage_sql *d = be->data;
	struct buf sql = { 0 };
	size_t n = os_object_nfields(o);
	sqlite3_stmt *stmt;
	int param = 1, rc;

	buf_append_str(&sql, "INSERT INTO ");
	sql_ident(&sql, d->prefix, type);
	buf_append_str(&sql, " (\"collection-owner\"");
	for (size_t i = 0; i < n; i++) {
		if (!storage_key_is_data(os_object_field(o, i, NULL)))
			continue;
		buf_append_str(&sql, ", ");
		sql_ident(&sql, NULL, os_object_field(o, i, NULL));
		param++;
	}
	buf_append_str(&sql, ") VALUES (?");
	for (int i = 1; i < param; i++)
		buf_append_str(&sql, ", ?");
	buf_append_char(&sql, ')');
	stmt = stmt_get(be, sql.data, error_r);
	buf_free(&sql);
	if (stmt == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, owner, -1, SQLITE_STATIC);
	for (size_t i = 0, p = 2; i < n; i++)
		if (storage_key_is_data(os_object_field(o, i, NULL)))
			bind_field(stmt, (int)p++, o, i);
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE)
		*error_r = db_error(be, "insert");
	sql_sqlite_done(stmt);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int insert_all(struct storage_backend *be, const char *type, const char *owner,
		      const struct os *os, const char **error_r)
{
	for (struct os_object *o = os_first(os); o != NULL; o = os_next(o))
		if (insert_object(be, type, owner, o, error_r) < 0)
			return -1;
	return 0;
}

/* ---- operations ---- */

static enum storage_result sqlite_put(struct storage_backend *be, const char *type,
				      const char *owner, const struct os *os,
				      const char **error_r)
{
	if (begin(be, error_r) < 0)
		return STORAGE_ERROR;
	if (insert_all(be, type, owner, os, error_r) < 0 || exec(be, "COMMIT", error_r) < 0) {
		rollback(be);
		return STORAGE_ERROR;
	}
	return STORAGE_OK;
}

/* One result row as a new object of os. */
static void row_to_object(sqlite3_stmt *stmt, struct os *os)
{
	struct os_object *o = os_object_new(os);
	int ncols = sqlite3_column_count(stmt);

	for (int i = 0; i < ncols; i++) {
		const char *name = sqlite3_column_name(stmt, i);
		const char *decl = sqlite3_column_decltype(stmt, i);

		if (name == NULL || strcmp(name, "collection-owner") == 0)
			continue;
		switch (sqlite3_column_type(stmt, i)) {
		case SQLITE_INTEGER:
			/* jabberd2 declares booleans BOOL or BOOLEAN. */
			if (decl != NULL && strncasecmp(decl, "BOOL", 4) == 0)
				os_object_put_bool(o, name, sqlite3_column_int64(stmt, i) != 0);
			else
				os_object_put_int(o, name, sqlite3_column_int64(stmt, i));
			break;
		case SQLITE_FLOAT:
			os_object_put_int(o, name, sqlite3_column_int64(stmt, i));
			break;
		case SQLITE_TEXT:
			os_object_put_str(o, name, (const char *)sqlite3_column_text(stmt, i));
			break;
		default:
			/* NULL reads as absent; BLOBs are never written by
			 * either server. */
			break;
		}
	}
}

static enum storage_result sqlite_get(struct storage_backend *be, const char *type,
				      const char *owner, const struct storage_filter *filter,
				      struct os **os_r, const char **error_r)
{
	sqlite3_stmt *stmt = stmt_where(be, "SELECT * FROM ", type, owner, filter,
					" ORDER BY \"object-sequence\"", error_r);
	struct os *os;
	size_t rows = 0;
	int rc;

	*os_r = NULL;
	if (stmt == NULL)
		return STORAGE_ERROR;
	os = os_new();
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW && rows++ < SQLITE_MAX_ROWS)
		row_to_object(stmt, os);
	if (rc != SQLITE_DONE) {
		*error_r = rc == SQLITE_ROW ? "sqlite: too many rows"
					    : db_error(be, "select");
		sql_sqlite_done(stmt);
		os_free(&os);
		return STORAGE_ERROR;
	}
	sql_sqlite_done(stmt);
	if (os_count(os) == 0) {
		os_free(&os);
		return STORAGE_NOT_FOUND;
	}
	*os_r = os;
	return STORAGE_OK;
}

static enum storage_result sqlite_count(struct storage_backend *be, const char *type,
					const char *owner, const struct storage_filter *filter,
					int64_t *count_r, const char **error_r)
{
	sqlite3_stmt *stmt = stmt_where(be, "SELECT count(*) FROM ", type, owner, filter, "",
					error_r);
	int rc;

	if (stmt == NULL)
		return STORAGE_ERROR;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*count_r = sqlite3_column_int64(stmt, 0);
	else
		*error_r = db_error(be, "count");
	sql_sqlite_done(stmt);
	return rc == SQLITE_ROW ? STORAGE_OK : STORAGE_ERROR;
}

static int delete_where(struct storage_backend *be, const char *type, const char *owner,
			const struct storage_filter *filter, const char **error_r)
{
	sqlite3_stmt *stmt = stmt_where(be, "DELETE FROM ", type, owner, filter, "", error_r);
	int rc;

	if (stmt == NULL)
		return -1;
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE)
		*error_r = db_error(be, "delete");
	sql_sqlite_done(stmt);
	return rc == SQLITE_DONE ? 0 : -1;
}

static enum storage_result sqlite_delete(struct storage_backend *be, const char *type,
					 const char *owner, const struct storage_filter *filter,
					 const char **error_r)
{
	return delete_where(be, type, owner, filter, error_r) < 0 ? STORAGE_ERROR : STORAGE_OK;
}

static enum storage_result sqlite_replace(struct storage_backend *be, const char *type,
					  const char *owner,
					  const struct storage_filter *filter,
					  const struct os *os, const char **error_r)
{
	if (begin(be, error_r) < 0)
		return STORAGE_ERROR;
	if (delete_where(be, type, owner, filter, error_r) < 0 ||
	    insert_all(be, type, owner, os, error_r) < 0 || exec(be, "COMMIT", error_r) < 0) {
		rollback(be);
		return STORAGE_ERROR;
	}
	return STORAGE_OK;
}

/* The read and the delete in one IMMEDIATE transaction: another handle
 * (another sm on the same file) waits for our COMMIT, and then finds the
 * rows gone. */
static enum storage_result sqlite_take(struct storage_backend *be, const char *type,
				       const char *owner, const struct storage_filter *filter,
				       struct os **os_r, const char **error_r)
{
	enum storage_result rc;

	*os_r = NULL;
	if (begin(be, error_r) < 0)
		return STORAGE_ERROR;
	rc = sqlite_get(be, type, owner, filter, os_r, error_r);
	if (rc == STORAGE_OK && delete_where(be, type, owner, filter, error_r) < 0)
		rc = STORAGE_ERROR;
	if (rc != STORAGE_ERROR && exec(be, "COMMIT", error_r) < 0)
		rc = STORAGE_ERROR;
	if (rc == STORAGE_ERROR) {
		rollback(be);
		os_free(os_r);
	}
	return rc;
}

const struct storage_driver storage_driver_sqlite = {
	.name = "sqlite",
	.open = sqlite_open,
	.close = storage_sql_close,
	.put = sqlite_put,
	.get = sqlite_get,
	.count = sqlite_count,
	.delete = sqlite_delete,
	.replace = sqlite_replace,
	.take = sqlite_take,
};
