/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * authreg_sqlite.c: the `sqlite` authreg backend, on jabberd2's `authreg`
 * table (username, realm, password) in the file authreg.sqlite.dbname,
 * usually the same database as the sm's storage. The table and jabberd2's
 * two indexes are created if missing, with jabberd2's own definitions, so
 * the file stays usable by a stock jabberd2. Opening the file (busy
 * timeout, WAL for a new file) and the prepared statements are the SQL
 * layer's (storage/sql.h), shared with the sm's storage. Only the password
 * text is handled here; its meaning is authreg.c's business.
 */
#include "config.h"
#include "c2s/authreg.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

#include "storage/sql.h"
#include "util/buf.h"
#include "util/config_file.h"
#include "util/log.h"

enum ar_stmt {
	AR_GET,
	AR_SET,
	AR_CREATE,
	AR_DELETE,
	AR_NSTMT,
};

static const char *const ar_sql[AR_NSTMT] = {
	[AR_GET] = "SELECT \"password\" FROM \"authreg\" WHERE \"username\" = ? AND \"realm\" = ?",
	[AR_SET] = "UPDATE \"authreg\" SET \"password\" = ? WHERE \"username\" = ? AND \"realm\" = ?",
	[AR_CREATE] = "INSERT INTO \"authreg\" (\"username\", \"realm\") VALUES (?, ?)",
	[AR_DELETE] = "DELETE FROM \"authreg\" WHERE \"username\" = ? AND \"realm\" = ?",
};

static const char ar_schema[] =
	"CREATE TABLE IF NOT EXISTS \"authreg\" ("
	" \"username\" TEXT NOT NULL, \"realm\" TEXT NOT NULL, \"password\" TEXT );"
	"CREATE INDEX IF NOT EXISTS i_authreg_username ON \"authreg\"(\"username\");"
	"CREATE INDEX IF NOT EXISTS i_authreg_realm ON \"authreg\"(\"realm\");";

static void ar_sqlite_close(void **ctxp)
{
	struct sql_conn *conn = *ctxp;

	sql_close(&conn);
	*ctxp = NULL;
}

static int ar_sqlite_open(void **ctx_r, const struct config *cfg, const char **error_r)
{
	static char errbuf[512];
	const struct sql_settings set = {
		.kind = SQL_SQLITE,
		.section = "authreg.sqlite",
		.option = authreg_config_option,
		.option_ctx = (void *)cfg,
	};
	struct sql_conn *conn;

	if (config_get(cfg, "authreg.sqlite.sql") != NULL)
		log_warnx("c2s: authreg.sqlite.sql is not supported; the standard table is used");
	if (sql_open(&conn, &set, error_r) < 0)
		return -1;
	if (sql_exec(conn, ar_schema, "creating the authreg table", error_r) < 0) {
		snprintf(errbuf, sizeof(errbuf), "%s", *error_r);
		*error_r = errbuf;
		sql_close(&conn);
		return -1;
	}
	*ctx_r = conn;
	return 0;
}

/* Statement `which`, prepared (cached by the SQL layer), with up to three
 * text parameters bound; NULL (logged) if SQLite refuses it. */
static sqlite3_stmt *ar_bind(struct sql_conn *conn, enum ar_stmt which, const char *a,
			     const char *b, const char *c)
{
	const char *v[3] = { a, b, c }, *error;
	sqlite3_stmt *st = sql_sqlite_stmt(conn, ar_sql[which], &error);

	if (st == NULL) {
		log_error("c2s: authreg %s", error);
		return NULL;
	}
	for (int i = 0; i < 3 && v[i] != NULL; i++)
		sqlite3_bind_text(st, i + 1, v[i], -1, SQLITE_TRANSIENT);
	return st;
}

static int ar_fail(struct sql_conn *conn, const char *what)
{
	const char *error;

	sql_sqlite_fail(conn, what, &error);
	log_error("c2s: authreg %s", error);
	return -1;
}

static int ar_sqlite_get(void *ctx, const char *user, const char *realm, char **stored_r)
{
	sqlite3_stmt *st = ar_bind(ctx, AR_GET, user, realm, NULL);
	int rc;

	*stored_r = NULL;
	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		rc = 1;
	else if (rc == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);

		*stored_r = t != NULL ? xstrdup((const char *)t) : NULL;
		rc = 0;
	} else
		rc = ar_fail(ctx, "select");
	sql_sqlite_done(st);
	return rc;
}

/* Run a write statement; 0 if it changed a row, 1 if none, -1 error. */
/* The statement's bindings (a secret among them) are dropped after it. */
static int ar_write(struct sql_conn *conn, sqlite3_stmt *st, const char *what)
{
	int rc;

	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	sql_sqlite_done(st);
	if (rc != SQLITE_DONE)
		return ar_fail(conn, what);
	return sqlite3_changes(sql_sqlite_db(conn)) > 0 ? 0 : 1;
}

static int ar_sqlite_set(void *ctx, const char *user, const char *realm, const char *stored)
{
	return ar_write(ctx, ar_bind(ctx, AR_SET, stored, user, realm), "update");
}

static int ar_sqlite_create(void *ctx, const char *user, const char *realm)
{
	char *stored = NULL;
	int rc = ar_sqlite_get(ctx, user, realm, &stored);

	free(stored);
	if (rc != 1)
		return rc == 0 ? 1 : -1;
	return ar_write(ctx, ar_bind(ctx, AR_CREATE, user, realm, NULL), "insert") == 0 ? 0 : -1;
}

static int ar_sqlite_remove(void *ctx, const char *user, const char *realm)
{
	return ar_write(ctx, ar_bind(ctx, AR_DELETE, user, realm, NULL), "delete");
}

const struct authreg_backend authreg_backend_sqlite = {
	.name = "sqlite",
	.open = ar_sqlite_open,
	.close = ar_sqlite_close,
	.get = ar_sqlite_get,
	.set = ar_sqlite_set,
	.create = ar_sqlite_create,
	.remove = ar_sqlite_remove,
};
