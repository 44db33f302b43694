/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * authreg_mysql.c: the `mysql` authreg backend, on jabberd2's `authreg`
 * table (username, realm, password) in MySQL or MariaDB, usually the
 * database the sm's mysql storage uses. Options under authreg.mysql, as
 * jabberd2 reads them:
 *	host, port, dbname, user, pass
 *	socket          (ours) a Unix socket, instead of host and port
 *	table           the table (default authreg)
 *	field.username, field.realm, field.password   its columns
 *	timeout         (ours) seconds a statement may take (default 10)
 * As for pgsql, jabberd2's sql.* templates (SQL text with %s holes) are
 * not taken: every value here is a parameter of a prepared statement and
 * every name a quoted identifier. password_type is authreg.c's business
 * (docs/authreg.md); bcrypt is refused as for pgsql.
 *
 * The connection (options, utf8mb4, errors without the password,
 * reconnecting) is the SQL layer's (storage/sql.h), shared with the sm's
 * mysql storage. The table is created with jabberd2's definition if it is
 * missing, under the layer's schema lock, which the storage driver takes
 * too. Calls block, each at most `timeout` (the connection's read and
 * write timeouts); a connection lost meanwhile is re-established once per
 * call and the single statement run again.
 */
#include "config.h"
#include "c2s/authreg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "c2s/authreg_sql.h"
#include "storage/sql.h"
#include "util/buf.h"
#include "util/config_file.h"
#include "util/log.h"

struct ar_mysql {
	struct sql_conn *conn;
	char *sql[AUTHREG_SQL_NSTMT];
};

static void ar_mysql_close(void **ctxp)
{
	struct ar_mysql *d = *ctxp;

	if (d == NULL)
		return;
	sql_close(&d->conn);
	for (int i = 0; i < AUTHREG_SQL_NSTMT; i++)
		free(d->sql[i]);
	free(d);
	*ctxp = NULL;
}

/* jabberd2's table, created if missing under the schema lock. `q` holds
 * the quoted table, then columns. */
static int army_schema(struct ar_mysql *d, char *const q[4], const char **error_r)
{
	char *sql = xasprintf("CREATE TABLE IF NOT EXISTS %s ("
			      " %s TEXT, KEY (%s(255)), %s TINYTEXT, KEY (%s(255)),"
			      " %s TINYTEXT )" SQL_MYSQL_TABLE_OPTIONS,
			      q[0], q[1], q[1], q[2], q[2], q[3]);
	int rc = sql_begin(d->conn, 0, error_r) < 0 || sql_schema_lock(d->conn, error_r) < 0 ||
		 sql_exec(d->conn, sql, "creating the table", error_r) < 0 ? -1 : 0;

	free(sql);
	if (rc == 0 && sql_commit(d->conn, error_r) == 0)
		return 0;
	sql_rollback(d->conn);
	return -1;
}

static int ar_mysql_open(void **ctx_r, const struct config *cfg, const char **error_r)
{
	static const char section[] = "authreg.mysql";
	static char errbuf[768];
	struct sql_settings set = {
		.kind = SQL_MYSQL,
		.section = section,
		.option = authreg_config_option,
		.option_ctx = (void *)cfg,
		.statement_timeout_ms = authreg_sql_timeout_ms(cfg, section),
	};
	struct ar_mysql *d;
	char *q[AUTHREG_SQL_NNAMES];
	int rc;

	if (authreg_sql_check(cfg, section, error_r) < 0)
		return -1;
	d = xcalloc(1, sizeof(*d));
	*ctx_r = d;
	if (sql_open(&d->conn, &set, error_r) < 0) {
		ar_mysql_close(ctx_r);
		return -1;
	}
	authreg_sql_names(cfg, section, q);
	rc = army_schema(d, q, error_r);
	if (rc == 0)
		authreg_sql_statements(d->sql, q, 0);
	else
		snprintf(errbuf, sizeof(errbuf), "%s: %s", section, *error_r);
	authreg_sql_names_free(q);
	if (rc == 0)
		return 0;
	*error_r = errbuf;
	ar_mysql_close(ctx_r);
	return -1;
}

/* Run statement `which`; 0 with *rows_r / *affected_r, or -1 (logged). A
 * lost connection is re-established once: each is a single statement
 * outside any transaction, so running it again is safe. */
static int army_exec(struct ar_mysql *d, enum authreg_sql_stmt which, int n,
		     const char *const *params, struct sql_rows **rows_r, uint64_t *affected_r)
{
	static const char *const what[AUTHREG_SQL_NSTMT] = {
		[AUTHREG_SQL_GET] = "select", [AUTHREG_SQL_SET] = "update",
		[AUTHREG_SQL_CREATE] = "insert", [AUTHREG_SQL_DELETE] = "delete",
	};
	const char *error;

	for (int attempt = 0; attempt < 2; attempt++) {
		if (sql_lost(d->conn) && sql_reconnect(d->conn, &error) < 0)
			break;
		if (sql_mysql_run(d->conn, d->sql[which], n, params, what[which], rows_r,
				  affected_r, &error) == 0)
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

static int ar_mysql_get(void *ctx, const char *user, const char *realm, char **stored_r)
{
	const char *p[2] = { user, realm };
	struct sql_rows *rows = NULL;
	int rc;

	*stored_r = NULL;
	if (army_exec(ctx, AUTHREG_SQL_GET, 2, p, &rows, NULL) < 0)
		return -1;
	if (rows == NULL || rows->nrows == 0) {
		rc = 1;
	} else {
		if (sql_rows_cell(rows, 0, 0) != NULL)
			*stored_r = xstrdup(sql_rows_cell(rows, 0, 0));
		rc = 0;
	}
	/* The cells held the password text: wiped as they are freed. */
	sql_rows_free(&rows, 1);
	return rc;
}

/* A write: 0 if it changed (or matched) a row, 1 if none, -1 error. */
static int army_write(struct ar_mysql *d, enum authreg_sql_stmt which, int n, const char *const *p)
{
	struct sql_rows *rows = NULL;
	uint64_t affected = 0;

	if (army_exec(d, which, n, p, &rows, &affected) < 0)
		return -1;
	sql_rows_free(&rows, 0);
	return affected > 0 ? 0 : 1;
}

static int ar_mysql_set(void *ctx, const char *user, const char *realm, const char *stored)
{
	const char *p[3] = { stored, user, realm };

	return army_write(ctx, AUTHREG_SQL_SET, 3, p);
}

static int ar_mysql_create(void *ctx, const char *user, const char *realm)
{
	const char *p[2] = { user, realm };
	char *stored = NULL;
	int rc = ar_mysql_get(ctx, user, realm, &stored);

	free(stored);
	if (rc != 1)
		return rc == 0 ? 1 : -1;
	return army_write(ctx, AUTHREG_SQL_CREATE, 2, p) == 0 ? 0 : -1;
}

static int ar_mysql_remove(void *ctx, const char *user, const char *realm)
{
	const char *p[2] = { user, realm };

	return army_write(ctx, AUTHREG_SQL_DELETE, 2, p);
}

const struct authreg_backend authreg_backend_mysql = {
	.name = "mysql",
	.open = ar_mysql_open,
	.close = ar_mysql_close,
	.get = ar_mysql_get,
	.set = ar_mysql_set,
	.create = ar_mysql_create,
	.remove = ar_mysql_remove,
};
