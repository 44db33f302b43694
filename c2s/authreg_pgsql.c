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
 * shared with the sm's pgsql storage; the backend's calls are
 * authreg_sql.c's, shared with mysql. The table is created with
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

#include "c2s/authreg_sql.h"
#include "storage/sql.h"
#include "util/buf.h"

/* jabberd2's table and, under its own names, its two indexes when the
 * table has its standard name. `q` holds the quoted table, then columns. */
static void arpg_ddl(char *const q[AUTHREG_SQL_NNAMES], int standard,
		     char *ddl[AUTHREG_SQL_NDDL])
{
	ddl[0] = xasprintf("CREATE TABLE IF NOT EXISTS %s ("
			   " %s varchar(1023) NOT NULL, %s varchar(1023) NOT NULL,"
			   " %s varchar(256), PRIMARY KEY (%s, %s) )",
			   q[0], q[1], q[2], q[3], q[1], q[2]);
	for (int i = 0; standard && i < 2; i++)
		ddl[1 + i] = xasprintf("CREATE INDEX IF NOT EXISTS %s ON %s(%s)",
				       i == 0 ? "i_authreg_username" : "i_authreg_realm", q[0],
				       q[1 + i]);
}

static int ar_pgsql_open(void **ctx_r, const struct config *cfg, const char **error_r)
{
	static const char section[] = "authreg.pgsql";
	struct sql_settings set = {
		.kind = SQL_PGSQL,
		.section = section,
		.option = authreg_config_option,
		.option_ctx = (void *)cfg,
		.application_name = "jabberd-c2s",
		.statement_timeout_ms = authreg_sql_timeout_ms(cfg, section),
	};

	return authreg_sql_open(ctx_r, cfg, &set, arpg_ddl, error_r);
}

const struct authreg_backend authreg_backend_pgsql = {
	.name = "pgsql",
	.open = ar_pgsql_open,
	.close = authreg_sql_close,
	.get = authreg_sql_get,
	.set = authreg_sql_set,
	.create = authreg_sql_create,
	.remove = authreg_sql_remove,
};
