/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * authreg_pgsql.c: the `pgsql` authreg backend, on jabberd2's `authreg`
 * table (username, realm, password) in PostgreSQL, usually the database
 * the sm's pgsql storage uses. Options under authreg.pgsql, as jabberd2
 * reads them:
 *	conninfo        a libpq connection string or URI; if set, the five
 *	                below are ignored
 *	host, port, dbname, user, pass
 *	schema          SET search_path to this schema after connecting
 *	table           the table (default authreg)
 *	field.username, field.realm, field.password   its columns
 *	timeout         seconds a statement may run (default 10)
 * jabberd2's sql.* templates (SQL text with %s holes) are not taken: they
 * would put values into SQL text. Here every value is a query parameter
 * and every name a quoted identifier, so no user name can change a query.
 *
 * The connection (options conninfo, host, port, dbname, user, pass and
 * schema; client encoding UTF-8; errors without the password, also one
 * given inside conninfo; reconnecting) is the SQL layer's (storage/sql.h),
 * shared with the sm's pgsql storage. The table is created with
 * jabberd2's definition if it is missing (under the layer's schema lock,
 * which the storage driver takes too, so a c2s and an sm starting together
 * do not race). Only the password text is handled here; what it means is
 * authreg.c's business (docs/authreg.md).
 *
 * Calls block: each statement at most `timeout` seconds (ours, default
 * 10; the server cancels it), a connection attempt connect_timeout. A
 * connection lost meanwhile is re-established once per call and the
 * statement run again (each is a single statement, so a retry cannot
 * apply a change twice: an UPDATE or DELETE is idempotent and an INSERT
 * is guarded by the lookup before it).
 */
#include "config.h"
#include "c2s/authreg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "c2s/authreg_sql.h"
#include "storage/sql.h"
#include "util/buf.h"
#include "util/config_file.h"
#include "util/log.h"

struct ar_pgsql {
	struct sql_conn *conn;
	char *sql[AUTHREG_SQL_NSTMT];
};

static void ar_pgsql_close(void **ctxp)
{
	struct ar_pgsql *d = *ctxp;

	if (d == NULL)
		return;
	sql_close(&d->conn);
	for (int i = 0; i < AUTHREG_SQL_NSTMT; i++)
		free(d->sql[i]);
	free(d);
	*ctxp = NULL;
}

/* jabberd2's table (and, under its own names, its two indexes when the
 * table has its standard name), created if missing under the schema lock
 * the sm's storage takes too. `q` holds the quoted table, then columns. */
static int arpg_schema(struct ar_pgsql *d, char *const q[4], int standard,
		       const char **error_r)
{
	char *sql = xasprintf("CREATE TABLE IF NOT EXISTS %s ("
			      " %s varchar(1023) NOT NULL, %s varchar(1023) NOT NULL,"
			      " %s varchar(256), PRIMARY KEY (%s, %s) )",
			      q[0], q[1], q[2], q[3], q[1], q[2]);
	int rc = sql_begin(d->conn, 0, error_r) < 0 || sql_schema_lock(d->conn, error_r) < 0 ||
		 sql_exec(d->conn, sql, "creating the table", error_r) < 0 ? -1 : 0;

	free(sql);
	for (int i = 0; rc == 0 && standard && i < 2; i++) {
		sql = xasprintf("CREATE INDEX IF NOT EXISTS %s ON %s(%s)",
				i == 0 ? "i_authreg_username" : "i_authreg_realm", q[0], q[1 + i]);
		rc = sql_exec(d->conn, sql, "creating an index", error_r);
		free(sql);
	}
	if (rc == 0 && sql_commit(d->conn, error_r) == 0)
		return 0;
	sql_rollback(d->conn);
	return -1;
}

static int ar_pgsql_open(void **ctx_r, const struct config *cfg, const char **error_r)
{
	static const char section[] = "authreg.pgsql";
	static char errbuf[768];
	struct sql_settings set = {
		.kind = SQL_PGSQL,
		.section = section,
		.option = authreg_config_option,
		.option_ctx = (void *)cfg,
		.application_name = "jabberd-c2s",
		.statement_timeout_ms = authreg_sql_timeout_ms(cfg, section),
	};
	struct ar_pgsql *d;
	char *q[AUTHREG_SQL_NNAMES];
	int rc;

	if (authreg_sql_check(cfg, section, error_r) < 0)
		return -1;
	d = xcalloc(1, sizeof(*d));
	*ctx_r = d;
	if (sql_open(&d->conn, &set, error_r) < 0) {
		ar_pgsql_close(ctx_r);
		return -1;
	}
	authreg_sql_names(cfg, section, q);
	rc = arpg_schema(d, q, authreg_sql_opt(cfg, section, "table") == NULL, error_r);
	if (rc == 0)
		authreg_sql_statements(d->sql, q, 1);
	else
		snprintf(errbuf, sizeof(errbuf), "%s: %s", section, *error_r);
	authreg_sql_names_free(q);
	if (rc == 0)
		return 0;
	*error_r = errbuf;
	ar_pgsql_close(ctx_r);
	return -1;
}

/* Run statement `which` with `n` text parameters; the result, or NULL on
 * failure (logged). A lost connection is re-established once: each is a
 * single statement outside any transaction, so running it again is
 * safe. */
static PGresult *arpg_exec(struct ar_pgsql *d, enum authreg_sql_stmt which, int n,
			   const char *const *params)
{
	static const char *const what[AUTHREG_SQL_NSTMT] = {
		[AUTHREG_SQL_GET] = "select", [AUTHREG_SQL_SET] = "update",
		[AUTHREG_SQL_CREATE] = "insert", [AUTHREG_SQL_DELETE] = "delete",
	};
	int want = which == AUTHREG_SQL_GET ? PGRES_TUPLES_OK : PGRES_COMMAND_OK;
	const char *error;

	for (int attempt = 0; attempt < 2; attempt++) {
		PGresult *r = sql_pgsql_run(d->conn, d->sql[which], n, params, want, what[which],
					    &error);

		if (r != NULL)
			return r;
		if (attempt == 0 && sql_lost(d->conn)) {
			log_warnx("c2s: authreg %s; reconnecting", error);
			if (sql_reconnect(d->conn, &error) == 0)
				continue;
		}
		break;
	}
	log_error("c2s: authreg %s", error);
	return NULL;
}

static int ar_pgsql_get(void *ctx, const char *user, const char *realm, char **stored_r)
{
	const char *p[2] = { user, realm };
	PGresult *r = arpg_exec(ctx, AUTHREG_SQL_GET, 2, p);
	int rc;

	*stored_r = NULL;
	if (r == NULL)
		return -1;
	if (PQntuples(r) == 0)
		rc = 1;
	else {
		if (!PQgetisnull(r, 0, 0))
			*stored_r = xstrdup(PQgetvalue(r, 0, 0));
		rc = 0;
	}
	/* The result held the password text: wipe it before libpq frees it. */
	if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
		memset(PQgetvalue(r, 0, 0), 0, (size_t)PQgetlength(r, 0, 0));
	PQclear(r);
	return rc;
}

/* A write: 0 if it changed a row, 1 if none, -1 error. */
static int arpg_write(struct ar_pgsql *d, enum authreg_sql_stmt which, int n, const char *const *p)
{
	PGresult *r = arpg_exec(d, which, n, p);
	int rc;

	if (r == NULL)
		return -1;
	rc = atoi(PQcmdTuples(r)) > 0 ? 0 : 1;
	PQclear(r);
	return rc;
}

static int ar_pgsql_set(void *ctx, const char *user, const char *realm, const char *stored)
{
	const char *p[3] = { stored, user, realm };

	return arpg_write(ctx, AUTHREG_SQL_SET, 3, p);
}

static int ar_pgsql_create(void *ctx, const char *user, const char *realm)
{
	const char *p[2] = { user, realm };
	char *stored = NULL;
	int rc = ar_pgsql_get(ctx, user, realm, &stored);

	free(stored);
	if (rc != 1)
		return rc == 0 ? 1 : -1;
	/* A concurrent registration of the same name fails on the primary
	 * key: an error here, as for any failed insert. */
	return arpg_write(ctx, AUTHREG_SQL_CREATE, 2, p) == 0 ? 0 : -1;
}

static int ar_pgsql_remove(void *ctx, const char *user, const char *realm)
{
	const char *p[2] = { user, realm };

	return arpg_write(ctx, AUTHREG_SQL_DELETE, 2, p);
}

const struct authreg_backend authreg_backend_pgsql = {
	.name = "pgsql",
	.open = ar_pgsql_open,
	.close = ar_pgsql_close,
	.get = ar_pgsql_get,
	.set = ar_pgsql_set,
	.create = ar_pgsql_create,
	.remove = ar_pgsql_remove,
};
