/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * authreg_sqlite.c: the `sqlite` authreg backend, on jabberd2's `authreg`
 * table (username, realm, password) in the file authreg.sqlite.dbname,
 * usually the same database as the sm's storage. The table and jabberd2's
 * two indexes are created if missing, with jabberd2's own definitions, so
 * the file stays usable by a stock jabberd2. Only the password text is
 * handled here; its meaning is authreg.c's business.
 */
#include "config.h"
#include "c2s/authreg.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

struct ar_sqlite {
	sqlite3 *db;
	sqlite3_stmt *stmt[AR_NSTMT];
};

static void ar_sqlite_close(void **ctxp)
{
	struct ar_sqlite *d = *ctxp;

	if (d == NULL)
		return;
	for (int i = 0; i < AR_NSTMT; i++)
		sqlite3_finalize(d->stmt[i]);
	sqlite3_close(d->db);
	free(d);
	*ctxp = NULL;
}

static int ar_sqlite_open(void **ctx_r, const struct config *cfg, const char **error_r)
{
	static char errbuf[512];
	const char *dbname = config_get(cfg, "authreg.sqlite.dbname");
	const char *busy = config_get(cfg, "authreg.sqlite.busy-timeout");
	struct ar_sqlite *d;
	char *msg = NULL;

	if (dbname == NULL) {
		*error_r = "authreg.sqlite.dbname is not set";
		return -1;
	}
	if (config_get(cfg, "authreg.sqlite.sql") != NULL)
		log_warnx("c2s: authreg.sqlite.sql is not supported; the standard table is used");
	d = xcalloc(1, sizeof(*d));
	*ctx_r = d;
	if (sqlite3_open_v2(dbname, &d->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
			    NULL) != SQLITE_OK)
		goto err;
	sqlite3_busy_timeout(d->db, busy != NULL ? atoi(busy) : 1000);
	if (sqlite3_exec(d->db, ar_schema, NULL, NULL, &msg) != SQLITE_OK)
		goto err;
	for (int i = 0; i < AR_NSTMT; i++)
		if (sqlite3_prepare_v2(d->db, ar_sql[i], -1, &d->stmt[i], NULL) != SQLITE_OK)
			goto err;
	return 0;
err:
	snprintf(errbuf, sizeof(errbuf), "sqlite authreg %s: %s", dbname,
		 msg != NULL ? msg : d->db != NULL ? sqlite3_errmsg(d->db) : "out of memory");
	sqlite3_free(msg);
	ar_sqlite_close(ctx_r);
	*error_r = errbuf;
	return -1;
}

static sqlite3_stmt *ar_bind(struct ar_sqlite *d, enum ar_stmt which, const char *a,
			     const char *b, const char *c)
{
	sqlite3_stmt *st = d->stmt[which];
	const char *v[3] = { a, b, c };

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	for (int i = 0; i < 3 && v[i] != NULL; i++)
		sqlite3_bind_text(st, i + 1, v[i], -1, SQLITE_TRANSIENT);
	return st;
}

static int ar_fail(struct ar_sqlite *d, const char *what)
{
	log_error("c2s: authreg sqlite: %s: %s", what, sqlite3_errmsg(d->db));
	return -1;
}

static int ar_sqlite_get(void *ctx, const char *user, const char *realm, char **stored_r)
{
	struct ar_sqlite *d = ctx;
	sqlite3_stmt *st = ar_bind(d, AR_GET, user, realm, NULL);
	int rc = sqlite3_step(st);

	*stored_r = NULL;
	if (rc == SQLITE_DONE)
		rc = 1;
	else if (rc == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);

		*stored_r = t != NULL ? xstrdup((const char *)t) : NULL;
		rc = 0;
	} else
		rc = ar_fail(d, "select");
	sqlite3_reset(st);
	return rc;
}

/* Run a write statement; 0 if it changed a row, 1 if none, -1 error. */
static int ar_write(struct ar_sqlite *d, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return ar_fail(d, what);
	return sqlite3_changes(d->db) > 0 ? 0 : 1;
}

static int ar_sqlite_set(void *ctx, const char *user, const char *realm, const char *stored)
{
	struct ar_sqlite *d = ctx;
	int rc = ar_write(d, ar_bind(d, AR_SET, stored, user, realm), "update");

	/* The statement kept a copy of the secret: drop it now. */
	sqlite3_clear_bindings(d->stmt[AR_SET]);
	return rc;
}

static int ar_sqlite_create(void *ctx, const char *user, const char *realm)
{
	struct ar_sqlite *d = ctx;
	char *stored = NULL;
	int rc = ar_sqlite_get(ctx, user, realm, &stored);

	free(stored);
	if (rc != 1)
		return rc == 0 ? 1 : -1;
	return ar_write(d, ar_bind(d, AR_CREATE, user, realm, NULL), "insert") == 0 ? 0 : -1;
}

static int ar_sqlite_remove(void *ctx, const char *user, const char *realm)
{
	struct ar_sqlite *d = ctx;

	return ar_write(d, ar_bind(d, AR_DELETE, user, realm, NULL), "delete");
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
