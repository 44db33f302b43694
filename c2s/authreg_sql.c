/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * authreg_sql.c: what the server SQL authreg backends (authreg_pgsql.c,
 * authreg_mysql.c) share (authreg_sql.h): what they read and build alike
 * from their section of c2s.xml (the options refused or ignored, the
 * table and column names, the four statements, the statement timeout),
 * and the backend itself, over the SQL layer's pgsql or mysql calls.
 * Only the table's definition is each server's.
 */
#include "config.h"
#include "c2s/authreg_sql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_PGSQL
#include <libpq-fe.h>
#endif

#include "storage/sql.h"
#include "util/buf.h"
#include "util/config_file.h"
#include "util/log.h"

/* Longest a statement may run (s) unless `timeout` says: c2s waits for
 * it with every client. */
#define AUTHREG_SQL_TIMEOUT 10

const char *authreg_sql_opt(const struct config *cfg, const char *section, const char *name)
{
	char key[96];

	snprintf(key, sizeof(key), "%s.%s", section, name);
	return config_get(cfg, key);
}

int authreg_sql_check(const struct config *cfg, const char *section, const char **error_r)
{
	static char why[128];
	static const char *const templates[] = {
		"sql.select", "sql.create", "sql.setpassword", "sql.delete", "sql.checkpassword",
	};

	for (size_t i = 0; i < sizeof(templates) / sizeof(templates[0]); i++) {
		if (authreg_sql_opt(cfg, section, templates[i]) != NULL) {
			log_warnx("c2s: %s.sql.* is not supported (values are passed as "
				  "parameters); table and field.* name the table instead", section);
			break;
		}
	}
	if (authreg_sql_opt(cfg, section, "password_type.bcrypt") != NULL) {
		snprintf(why, sizeof(why), "%s.password_type.bcrypt is not supported", section);
		*error_r = why;
		return -1;
	}
	return 0;
}

int authreg_sql_timeout_ms(const struct config *cfg, const char *section)
{
	const char *v = authreg_sql_opt(cfg, section, "timeout");

	return 1000 * (v != NULL && atoi(v) > 0 ? atoi(v) : AUTHREG_SQL_TIMEOUT);
}

void authreg_sql_names(const struct config *cfg, const char *section,
		       char *q[AUTHREG_SQL_NNAMES])
{
	static const char *const keys[AUTHREG_SQL_NNAMES] = {
		"table", "field.username", "field.realm", "field.password",
	};
	static const char *const defaults[AUTHREG_SQL_NNAMES] = {
		"authreg", "username", "realm", "password",
	};

	for (int i = 0; i < AUTHREG_SQL_NNAMES; i++) {
		const char *v = authreg_sql_opt(cfg, section, keys[i]);
		struct buf b = { 0 };

		sql_ident(&b, NULL, v != NULL ? v : defaults[i]);
		q[i] = buf_steal(&b, NULL);
	}
}

void authreg_sql_names_free(char *q[AUTHREG_SQL_NNAMES])
{
	for (int i = 0; i < AUTHREG_SQL_NNAMES; i++) {
		free(q[i]);
		q[i] = NULL;
	}
}

void authreg_sql_statements(char *sql[AUTHREG_SQL_NSTMT], char *const q[AUTHREG_SQL_NNAMES],
			    int dollar)
{
	/* Parameter n: "$n" (libpq) or "?" (MySQL, in order). */
	const char *p[4] = { "?", "?", "?" };

	if (dollar) {
		p[0] = "$1";
		p[1] = "$2";
		p[2] = "$3";
	}
	sql[AUTHREG_SQL_GET] = xasprintf("SELECT %s FROM %s WHERE %s = %s AND %s = %s",
					 q[3], q[0], q[1], p[0], q[2], p[1]);
	sql[AUTHREG_SQL_SET] = xasprintf("UPDATE %s SET %s = %s WHERE %s = %s AND %s = %s",
					 q[0], q[3], p[0], q[1], p[1], q[2], p[2]);
	sql[AUTHREG_SQL_CREATE] = xasprintf("INSERT INTO %s (%s, %s) VALUES (%s, %s)",
					    q[0], q[1], q[2], p[0], p[1]);
	sql[AUTHREG_SQL_DELETE] = xasprintf("DELETE FROM %s WHERE %s = %s AND %s = %s",
					    q[0], q[1], p[0], q[2], p[1]);
}

struct authreg_sql {
	struct sql_conn *conn;
	enum sql_kind kind;
	char *sql[AUTHREG_SQL_NSTMT];
};

void authreg_sql_close(void **ctxp)
{
	struct authreg_sql *d = *ctxp;

	if (d == NULL)
		return;
	sql_close(&d->conn);
	for (int i = 0; i < AUTHREG_SQL_NSTMT; i++)
		free(d->sql[i]);
	free(d);
	*ctxp = NULL;
}

/* The table, created if missing, in one transaction under the schema
 * lock. */
static int create_table(struct authreg_sql *d, char *const q[AUTHREG_SQL_NNAMES], int standard,
			authreg_sql_ddl_fn *ddl_fn, const char **error_r)
{
	char *ddl[AUTHREG_SQL_NDDL] = { NULL };
	int rc;

	ddl_fn(q, standard, ddl);
	rc = sql_begin(d->conn, 0, error_r) < 0 || sql_schema_lock(d->conn, error_r) < 0 ? -1 : 0;
	for (int i = 0; rc == 0 && i < AUTHREG_SQL_NDDL && ddl[i] != NULL; i++)
		rc = sql_exec(d->conn, ddl[i], i == 0 ? "creating the table" : "creating an index",
			      error_r);
	for (int i = 0; i < AUTHREG_SQL_NDDL; i++)
		free(ddl[i]);
	if (rc == 0 && sql_commit(d->conn, error_r) == 0)
		return 0;
	sql_rollback(d->conn);
	return -1;
}

int authreg_sql_open(void **ctx_r, const struct config *cfg, const struct sql_settings *set,
		     authreg_sql_ddl_fn *ddl, const char **error_r)
{
	static char errbuf[768];
	struct authreg_sql *d;
	char *q[AUTHREG_SQL_NNAMES];
	int rc;

	if (authreg_sql_check(cfg, set->section, error_r) < 0)
		return -1;
	d = xcalloc(1, sizeof(*d));
	d->kind = set->kind;
	*ctx_r = d;
	if (sql_open(&d->conn, set, error_r) < 0) {
		authreg_sql_close(ctx_r);
		return -1;
	}
	authreg_sql_names(cfg, set->section, q);
	rc = create_table(d, q, authreg_sql_opt(cfg, set->section, "table") == NULL, ddl,
			  error_r);
	if (rc == 0)
		authreg_sql_statements(d->sql, q, d->kind == SQL_PGSQL);
	else
		snprintf(errbuf, sizeof(errbuf), "%s: %s", set->section, *error_r);
	authreg_sql_names_free(q);
	if (rc == 0)
		return 0;
	*error_r = errbuf;
	authreg_sql_close(ctx_r);
	return -1;
}

/*
 * Statement `which` once, on the connection's server: 0 with, for the
 * lookup, the password (a copy, or NULL for none or SQL NULL) in
 * *stored_r and the rows found or changed in *count_r; -1 with *error_r.
 */
static int run_once(struct authreg_sql *d, enum authreg_sql_stmt which, int n,
		    const char *const *params, char **stored_r, uint64_t *count_r,
		    const char **error_r)
{
	static const char *const what[AUTHREG_SQL_NSTMT] = {
		[AUTHREG_SQL_GET] = "select", [AUTHREG_SQL_SET] = "update",
		[AUTHREG_SQL_CREATE] = "insert", [AUTHREG_SQL_DELETE] = "delete",
	};
	int get = which == AUTHREG_SQL_GET;

#ifdef HAVE_PGSQL
	if (d->kind == SQL_PGSQL) {
		PGresult *r = sql_pgsql_run(d->conn, d->sql[which], n, params,
					    get ? PGRES_TUPLES_OK : PGRES_COMMAND_OK, what[which],
					    error_r);

		if (r == NULL)
			return -1;
		if (get) {
			*count_r = (uint64_t)PQntuples(r);
			if (*count_r > 0 && !PQgetisnull(r, 0, 0)) {
				*stored_r = xstrdup(PQgetvalue(r, 0, 0));
				/* The password text: wiped before libpq frees it. */
				memset(PQgetvalue(r, 0, 0), 0, (size_t)PQgetlength(r, 0, 0));
			}
		} else {
			*count_r = strtoull(PQcmdTuples(r), NULL, 10);
		}
		PQclear(r);
		return 0;
	}
#endif
#ifdef HAVE_MYSQL
	if (d->kind == SQL_MYSQL) {
		struct sql_rows *rows = NULL;

		if (sql_mysql_run(d->conn, d->sql[which], n, params, what[which], &rows,
				  get ? NULL : count_r, error_r) < 0)
			return -1;
		if (get) {
			*count_r = rows != NULL ? rows->nrows : 0;
			if (*count_r > 0 && sql_rows_cell(rows, 0, 0) != NULL)
				*stored_r = xstrdup(sql_rows_cell(rows, 0, 0));
		}
		/* The cells held the password text: wiped as they are freed. */
		sql_rows_free(&rows, 1);
		return 0;
	}
#endif
	(void)n;
	(void)params;
	(void)stored_r;
	(void)count_r;
	(void)get;
	*error_r = "authreg: this c2s was built without the driver";
	(void)what;
	return -1;
}

/* Statement `which`, run again once over a new connection if the
 * connection was lost; -1 logged. */
static int run(struct authreg_sql *d, enum authreg_sql_stmt which, int n,
	       const char *const *params, char **stored_r, uint64_t *count_r)
{
	const char *error = "the connection is lost";

	for (int attempt = 0; attempt < 2; attempt++) {
		if (sql_lost(d->conn) && sql_reconnect(d->conn, &error) < 0)
			break;
		*count_r = 0;
		if (run_once(d, which, n, params, stored_r, count_r, &error) == 0)
			return 0;
		if (attempt == 0 && sql_lost(d->conn)) {
			log_warnx("c2s: authreg %s; reconnecting", error);
			continue;
		}
		break;
	}
	log_error("c2s: authreg %s", error);
	return -1;
}

int authreg_sql_get(void *ctx, const char *user, const char *realm, char **stored_r)
{
	const char *p[2] = { user, realm };
	uint64_t found;

	*stored_r = NULL;
	if (run(ctx, AUTHREG_SQL_GET, 2, p, stored_r, &found) < 0)
		return -1;
	return found > 0 ? 0 : 1;
}

/* A write: 0 if it changed (or matched) a row, 1 if none, -1 error. */
static int write_rows(struct authreg_sql *d, enum authreg_sql_stmt which, int n,
		      const char *const *p)
{
	uint64_t changed;

	if (run(d, which, n, p, NULL, &changed) < 0)
		return -1;
	return changed > 0 ? 0 : 1;
}

int authreg_sql_set(void *ctx, const char *user, const char *realm, const char *stored)
{
	const char *p[3] = { stored, user, realm };

	return write_rows(ctx, AUTHREG_SQL_SET, 3, p);
}

int authreg_sql_create(void *ctx, const char *user, const char *realm)
{
	const char *p[2] = { user, realm };
	char *stored = NULL;
	int rc = authreg_sql_get(ctx, user, realm, &stored);

	free(stored);
	if (rc != 1)
		return rc == 0 ? 1 : -1;
	/* A concurrent registration of the same name fails on the key: an
	 * error here, as for any failed insert. */
	return write_rows(ctx, AUTHREG_SQL_CREATE, 2, p) == 0 ? 0 : -1;
}

int authreg_sql_remove(void *ctx, const char *user, const char *realm)
{
	const char *p[2] = { user, realm };

	return write_rows(ctx, AUTHREG_SQL_DELETE, 2, p);
}
