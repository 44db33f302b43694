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
 * The table is created with jabberd2's definition if it is missing (under
 * the advisory lock the pgsql storage driver takes for its schema, so a
 * c2s and an sm starting together do not race). Only the password text is
 * handled here; what it means is authreg.c's business (docs/authreg.md).
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

#include "util/buf.h"
#include "util/config_file.h"
#include "util/log.h"

/* Seconds libpq waits for a connection, unless conninfo says otherwise. */
#define ARPG_CONNECT_TIMEOUT "10"
/* Longest a statement may run (s): c2s waits for it with every client. */
#define ARPG_STATEMENT_TIMEOUT 10
/* The pgsql storage driver's schema lock ("jab2"), shared on purpose. */
#define ARPG_SCHEMA_LOCK "1784767026"

enum arpg_stmt {
	ARPG_GET,
	ARPG_SET,
	ARPG_CREATE,
	ARPG_DELETE,
	ARPG_NSTMT,
};

struct ar_pgsql {
	PGconn *conn;
	char *schema;                   /* quoted, or NULL */
	char *sql[ARPG_NSTMT];
	char *password;                 /* only to keep it out of error text */
	int timeout_ms;                 /* statement_timeout */
};

static const char *opt(const struct config *cfg, const char *name)
{
	char key[96];

	snprintf(key, sizeof(key), "authreg.pgsql.%s", name);
	return config_get(cfg, key);
}

/* libpq's message for the connection, without the password should a
 * server or libpq ever echo it, and without the trailing newline. */
static const char *arpg_error(const struct ar_pgsql *d)
{
	static char text[512];
	const char *msg = d->conn != NULL ? PQerrorMessage(d->conn) : "out of memory";
	char *p;
	size_t n;

	snprintf(text, sizeof(text), "%s", msg);
	if (d->password != NULL && d->password[0] != '\0')
		while ((p = strstr(text, d->password)) != NULL)
			memset(p, '*', strlen(d->password));
	n = strlen(text);
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' '))
		text[--n] = '\0';
	return text;
}

static void ar_pgsql_close(void **ctxp)
{
	struct ar_pgsql *d = *ctxp;

	if (d == NULL)
		return;
	PQfinish(d->conn);
	for (int i = 0; i < ARPG_NSTMT; i++)
		free(d->sql[i]);
	free(d->schema);
	if (d->password != NULL) {
		memset(d->password, 0, strlen(d->password));
		free(d->password);
	}
	free(d);
	*ctxp = NULL;
}

/* A quoted identifier (xmalloc'd), or NULL if libpq refuses the text. */
static char *quote_ident(PGconn *conn, const char *name)
{
	char *q = PQescapeIdentifier(conn, name, strlen(name));
	char *out;

	if (q == NULL)
		return NULL;
	out = xstrdup(q);
	PQfreemem(q);
	return out;
}

static int run_simple(struct ar_pgsql *d, const char *sql)
{
	PGresult *r = PQexec(d->conn, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;

	PQclear(r);
	return ok ? 0 : -1;
}

/* After every (re)connect: the statement timeout and the search path. */
static int arpg_session(struct ar_pgsql *d)
{
	char *sql;
	int rc;

	sql = xasprintf("SET statement_timeout = %d", d->timeout_ms);
	rc = run_simple(d, sql);
	free(sql);
	if (rc < 0 || d->schema == NULL)
		return rc;
	sql = xasprintf("SET search_path TO %s", d->schema);
	rc = run_simple(d, sql);
	free(sql);
	return rc;
}

/* The server's notices ("relation already exists, skipping") are not
 * errors: debug output, not stderr. */
static void arpg_notice(void *arg, const char *message)
{
	(void)arg;
	log_debug("c2s: authreg pgsql: %.*s", (int)strcspn(message, "\n"), message);
}

static int arpg_connect(struct ar_pgsql *d, const struct config *cfg)
{
	const char *conninfo = opt(cfg, "conninfo");
	const char *keys[8], *vals[8];
	int n = 0;

	if (conninfo != NULL) {
		keys[n] = "dbname";
		vals[n++] = conninfo;
	} else {
		static const char *const names[][2] = {
			{ "host", "host" }, { "port", "port" }, { "dbname", "dbname" },
			{ "user", "user" }, { "pass", "password" },
		};

		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			const char *v = opt(cfg, names[i][0]);

			if (v != NULL) {
				keys[n] = names[i][1];
				vals[n++] = v;
			}
		}
	}
	/* A later keyword wins over one inside conninfo (expand_dbname):
	 * only add the timeout if conninfo does not set one. */
	if (conninfo == NULL || strstr(conninfo, "connect_timeout") == NULL) {
		keys[n] = "connect_timeout";
		vals[n++] = ARPG_CONNECT_TIMEOUT;
	}
	keys[n] = NULL;
	vals[n] = NULL;
	d->conn = PQconnectdbParams(keys, vals, conninfo != NULL);
	if (d->conn == NULL || PQstatus(d->conn) != CONNECTION_OK)
		return -1;
	PQsetNoticeProcessor(d->conn, arpg_notice, NULL);
	return 0;
}

/* jabberd2's table (and, under its own name, its two indexes). */
static int arpg_schema(struct ar_pgsql *d, const char *table, const char *const f[3],
		       int standard)
{
	char *idx = standard ? xasprintf("CREATE INDEX IF NOT EXISTS i_authreg_username"
					 " ON %s(%s); CREATE INDEX IF NOT EXISTS"
					 " i_authreg_realm ON %s(%s);",
					 table, f[0], table, f[1])
			     : xstrdup("");
	char *sql = xasprintf(
		"BEGIN; SELECT pg_advisory_xact_lock(" ARPG_SCHEMA_LOCK ");"
		"CREATE TABLE IF NOT EXISTS %s ("
		" %s varchar(1023) NOT NULL, %s varchar(1023) NOT NULL, %s varchar(256),"
		" PRIMARY KEY (%s, %s) ); %s COMMIT",
		table, f[0], f[1], f[2], f[0], f[1], idx);

	free(idx);
	int rc = run_simple(d, sql);

	free(sql);
	if (rc < 0)
		run_simple(d, "ROLLBACK");
	return rc;
}

static int ar_pgsql_open(void **ctx_r, const struct config *cfg, const char **error_r)
{
	static char errbuf[768];
	static const char *const field_keys[3] = {
		"field.username", "field.realm", "field.password",
	};
	static const char *const field_default[3] = { "username", "realm", "password" };
	const char *table = opt(cfg, "table"), *schema = opt(cfg, "schema"), *pass = opt(cfg, "pass");
	char *qtable = NULL, *qf[3] = { NULL, NULL, NULL };
	struct ar_pgsql *d = xcalloc(1, sizeof(*d));
	const char *what = "connect";

	*ctx_r = d;
	if (pass != NULL)
		d->password = xstrdup(pass);
	d->timeout_ms = 1000 * (opt(cfg, "timeout") != NULL && atoi(opt(cfg, "timeout")) > 0
				? atoi(opt(cfg, "timeout")) : ARPG_STATEMENT_TIMEOUT);
	if (opt(cfg, "sql.select") != NULL || opt(cfg, "sql.create") != NULL ||
	    opt(cfg, "sql.setpassword") != NULL || opt(cfg, "sql.delete") != NULL ||
	    opt(cfg, "sql.checkpassword") != NULL)
		log_warnx("c2s: authreg.pgsql.sql.* is not supported (values are passed as "
			  "parameters); table and field.* name the table instead");
	if (opt(cfg, "password_type.bcrypt") != NULL) {
		*error_r = "authreg.pgsql.password_type.bcrypt is not supported";
		goto fail_noconn;
	}
	if (arpg_connect(d, cfg) < 0)
		goto fail;
	what = "names";
	if (schema != NULL && (d->schema = quote_ident(d->conn, schema)) == NULL)
		goto fail;
	what = "set the schema";
	if (arpg_session(d) < 0)
		goto fail;
	what = "names";
	if ((qtable = quote_ident(d->conn, table != NULL ? table : "authreg")) == NULL)
		goto fail;
	for (int i = 0; i < 3; i++) {
		const char *v = opt(cfg, field_keys[i]);

		if ((qf[i] = quote_ident(d->conn, v != NULL ? v : field_default[i])) == NULL)
			goto fail;
	}
	what = "create the table";
	if (arpg_schema(d, qtable, (const char *const *)qf, table == NULL) < 0)
		goto fail;
	d->sql[ARPG_GET] = xasprintf("SELECT %s FROM %s WHERE %s = $1 AND %s = $2",
				     qf[2], qtable, qf[0], qf[1]);
	d->sql[ARPG_SET] = xasprintf("UPDATE %s SET %s = $1 WHERE %s = $2 AND %s = $3",
				     qtable, qf[2], qf[0], qf[1]);
	d->sql[ARPG_CREATE] = xasprintf("INSERT INTO %s (%s, %s) VALUES ($1, $2)",
					qtable, qf[0], qf[1]);
	d->sql[ARPG_DELETE] = xasprintf("DELETE FROM %s WHERE %s = $1 AND %s = $2",
					qtable, qf[0], qf[1]);
	free(qtable);
	for (int i = 0; i < 3; i++)
		free(qf[i]);
	return 0;
fail:
	snprintf(errbuf, sizeof(errbuf), "pgsql authreg: cannot %s: %s", what, arpg_error(d));
	*error_r = errbuf;
fail_noconn:
	free(qtable);
	for (int i = 0; i < 3; i++)
		free(qf[i]);
	ar_pgsql_close(ctx_r);
	return -1;
}

/* Run statement `which` with `n` text parameters; the result, or NULL on
 * failure (logged). A lost connection is re-established once. */
static PGresult *arpg_exec(struct ar_pgsql *d, enum arpg_stmt which, int n,
			   const char *const *params)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		PGresult *r = PQexecParams(d->conn, d->sql[which], n, NULL, params, NULL, NULL, 0);
		ExecStatusType st = PQresultStatus(r);

		if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
			return r;
		PQclear(r);
		if (attempt == 0 && PQstatus(d->conn) == CONNECTION_BAD) {
			log_warnx("c2s: authreg pgsql: connection lost (%s); reconnecting",
				  arpg_error(d));
			PQreset(d->conn);
			if (PQstatus(d->conn) == CONNECTION_OK && arpg_session(d) == 0)
				continue;
		}
		log_error("c2s: authreg pgsql: %s", arpg_error(d));
		return NULL;
	}
	return NULL;
}

static int ar_pgsql_get(void *ctx, const char *user, const char *realm, char **stored_r)
{
	const char *p[2] = { user, realm };
	PGresult *r = arpg_exec(ctx, ARPG_GET, 2, p);
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
static int arpg_write(struct ar_pgsql *d, enum arpg_stmt which, int n, const char *const *p)
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

	return arpg_write(ctx, ARPG_SET, 3, p);
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
	return arpg_write(ctx, ARPG_CREATE, 2, p) == 0 ? 0 : -1;
}

static int ar_pgsql_remove(void *ctx, const char *user, const char *realm)
{
	const char *p[2] = { user, realm };

	return arpg_write(ctx, ARPG_DELETE, 2, p);
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
