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
 * mysql storage; the backend's calls are authreg_sql.c's, shared with
 * pgsql. Only the table's definition is here: jabberd2's, created if it
 * is missing, under the layer's schema lock, which the storage driver
 * takes too. Calls block, each at most `timeout` (the connection's read
 * and write timeouts); a connection lost meanwhile is re-established once
 * per call and the single statement run again.
 */
#include "config.h"
#include "c2s/authreg.h"

#include "c2s/authreg_sql.h"
#include "storage/sql.h"
#include "util/buf.h"

/* jabberd2's table. `q` holds the quoted table, then columns. */
static void army_ddl(char *const q[AUTHREG_SQL_NNAMES], int standard,
		     char *ddl[AUTHREG_SQL_NDDL])
{
	(void)standard;
	ddl[0] = xasprintf("CREATE TABLE IF NOT EXISTS %s ("
			   " %s TEXT, KEY (%s(255)), %s TINYTEXT, KEY (%s(255)),"
			   " %s TINYTEXT )" SQL_MYSQL_TABLE_OPTIONS,
			   q[0], q[1], q[1], q[2], q[2], q[3]);
}

static int ar_mysql_open(void **ctx_r, const struct config *cfg, const char **error_r)
{
	static const char section[] = "authreg.mysql";
	struct sql_settings set = {
		.kind = SQL_MYSQL,
		.section = section,
		.option = authreg_config_option,
		.option_ctx = (void *)cfg,
		.statement_timeout_ms = authreg_sql_timeout_ms(cfg, section),
	};

	return authreg_sql_open(ctx_r, cfg, &set, army_ddl, error_r);
}

const struct authreg_backend authreg_backend_mysql = {
	.name = "mysql",
	.open = ar_mysql_open,
	.close = authreg_sql_close,
	.get = authreg_sql_get,
	.set = authreg_sql_set,
	.create = authreg_sql_create,
	.remove = authreg_sql_remove,
};
