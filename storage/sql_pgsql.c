/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sql_pgsql.c: the PostgreSQL half of the SQL connection layer (sql.h),
 * built only with libpq. Options of the section, as jabberd2 reads them
 * for both its storage and its authreg drivers:
 *	conninfo      a libpq connection string or URI; if set, the five
 *	              below are ignored
 *	host, port, dbname, user, pass
 *	schema        SET search_path to this schema after connecting
 * Every connection, new or re-established, runs with client_encoding
 * UTF8 (it comes after conninfo, so a conninfo cannot turn it off: what
 * we store is UTF-8, and a server defaulting to LATIN1 or SQL_ASCII would
 * otherwise transcode or refuse it) and with the caller's
 * statement_timeout.
 *
 * Error text names the section, database, host, port and user; never the
 * password, which is blotted out of everything libpq says, even where it
 * was put by mistake (a password typed as the database name). A conninfo
 * libpq cannot parse is not quoted at all, since the parse error would.
 */
#include "config.h"
#include "storage/sql_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "util/log.h"

/* Seconds libpq waits for a connection, unless conninfo says otherwise. */
#define SQL_PGSQL_CONNECT_TIMEOUT "10"

static void notice_cb(void *arg, const char *message)
{
	(void)arg;
	log_debug("pgsql: %.*s", (int)strcspn(message, "\n"), message);
}

PGconn *sql_pgsql_conn(struct sql_conn *conn)
{
	return conn->pg;
}

/* Error text for a failed statement: its primary message and SQLSTATE, or
 * the connection's message when there is no result to ask. */
static const char *statement_error(struct sql_conn *conn, const char *what,
				   const PGresult *res)
{
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	snprintf(conn->sqlstate, sizeof(conn->sqlstate), "%s", state ? state : "");
	if (msg == NULL)
		msg = PQerrorMessage(conn->pg);
	if (state != NULL)
		return sql_errorf(conn, "pgsql: %s: %s (SQLSTATE %s)", what, msg, state);
	return sql_errorf(conn, "pgsql: %s: %s", what, *msg ? msg : "unknown error");
}

PGresult *sql_pgsql_run(struct sql_conn *conn, const char *sql, int n,
			const char *const *values, int want, const char *what,
			const char **error_r)
{
	PGresult *res = PQexecParams(conn->pg, sql, n, NULL, values, NULL, NULL, 0);

	conn->sqlstate[0] = '\0';
	if (res == NULL || PQresultStatus(res) != (ExecStatusType)want) {
		*error_r = statement_error(conn, what, res);
		PQclear(res);
		return NULL;
	}
	return res;
}

int sql_pgsql_exec(struct sql_conn *conn, const char *sql, const char *what,
		   const char **error_r)
{
	PGresult *res = PQexec(conn->pg, sql);
	ExecStatusType st = PQresultStatus(res);

	conn->sqlstate[0] = '\0';
	if (res == NULL || (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)) {
		*error_r = statement_error(conn, what, res);
		PQclear(res);
		return -1;
	}
	PQclear(res);
	return 0;
}

void sql_pgsql_rollback(struct sql_conn *conn)
{
	PGTransactionStatusType ts = PQtransactionStatus(conn->pg);

	if (ts != PQTRANS_IDLE && ts != PQTRANS_UNKNOWN)
		PQclear(PQexec(conn->pg, "ROLLBACK"));
}

/* What every new or re-established session needs. */
static int session_setup(struct sql_conn *conn, const char **error_r)
{
	struct buf sql = { 0 };
	int rc = 0;

	if (conn->statement_timeout_ms > 0) {
		buf_printf(&sql, "SET statement_timeout = %d", conn->statement_timeout_ms);
		rc = sql_pgsql_exec(conn, sql.data, "setting the statement timeout", error_r);
	}
	if (rc == 0 && conn->schema != NULL) {
		buf_reset(&sql);
		buf_append_str(&sql, "SET search_path TO ");
		sql_ident(&sql, NULL, conn->schema);
		rc = sql_pgsql_exec(conn, sql.data, "setting the schema search path", error_r);
	}
	buf_free(&sql);
	return rc;
}

/* Why connecting failed, and to what. */
static const char *connect_error(struct sql_conn *conn, const char *what)
{
	const char *db = PQdb(conn->pg), *host = PQhost(conn->pg), *port = PQport(conn->pg);
	const char *user = PQuser(conn->pg);

	return sql_errorf(conn, "%s: %s database '%s' on %s%s%s as user '%s': %s", conn->section,
			  what, db ? db : "", host && *host ? host : "(default host)",
			  port && *port ? " port " : "", port && *port ? port : "",
			  user ? user : "", PQerrorMessage(conn->pg));
}

/* The password among parsed connection options. */
static char *conninfo_password(const PQconninfoOption *opts)
{
	for (const PQconninfoOption *o = opts; o->keyword != NULL; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val != NULL && *o->val != '\0')
			return xstrdup(o->val);
	return NULL;
}

/* Connection parameters for PQconnectdbParams, NULL-terminated. */
struct conn_params {
	const char *keys[10];
	const char *values[10];
	int n;
};

static void conn_param(struct conn_params *p, const char *key, const char *value)
{
	p->keys[p->n] = key;
	p->values[p->n++] = value;
	p->keys[p->n] = p->values[p->n] = NULL;
}

/*
 * Connect with conninfo, or else the separate options. Later parameters
 * win over earlier ones and over what conninfo holds: our connect timeout
 * comes first so that a conninfo can override it, the client encoding
 * last so that nothing can.
 */
int sql_pgsql_open(struct sql_conn *conn, const struct sql_settings *set,
		   const char **error_r)
{
	static const char *const names[][2] = {
		{ "host", "host" }, { "port", "port" }, { "dbname", "dbname" },
		{ "user", "user" }, { "pass", "password" },
	};
	const char *conninfo = sql_option(set, "conninfo", 1), *schema;
	struct conn_params p = { .n = 0 };

	conn_param(&p, "connect_timeout", SQL_PGSQL_CONNECT_TIMEOUT);
	if (set->application_name != NULL)
		conn_param(&p, "fallback_application_name", set->application_name);
	if (conninfo != NULL) {
		PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);

		if (opts == NULL) {
			*error_r = sql_errorf(conn, "%s.conninfo is not a valid connection string "
					      "(not shown: it may hold the password)", set->section);
			return -1;
		}
		conn->password = conninfo_password(opts);
		PQconninfoFree(opts);
		conn_param(&p, "dbname", conninfo);
	} else {
		const char *pass = sql_option(set, "pass", 1);

		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (sql_option(set, names[i][0], 0) != NULL)
				conn_param(&p, names[i][1], sql_option(set, names[i][0], 0));
		conn->password = pass != NULL ? xstrdup(pass) : NULL;
	}
	conn_param(&p, "client_encoding", "UTF8");
	if ((schema = sql_option(set, "schema", 1)) != NULL)
		conn->schema = xstrdup(schema);
	conn->statement_timeout_ms = set->statement_timeout_ms;
	conn->pg = PQconnectdbParams(p.keys, p.values, conninfo != NULL);
	if (conn->pg == NULL) {
		*error_r = sql_errorf(conn, "%s: out of memory for the connection", set->section);
		return -1;
	}
	if (PQstatus(conn->pg) != CONNECTION_OK) {
		*error_r = connect_error(conn, "cannot connect to");
		return -1;
	}
	PQsetNoticeProcessor(conn->pg, notice_cb, NULL);
	return session_setup(conn, error_r);
}

void sql_pgsql_close(struct sql_conn *conn)
{
	PQfinish(conn->pg);
	conn->pg = NULL;
}

int sql_pgsql_lost(const struct sql_conn *conn)
{
	return PQstatus(conn->pg) != CONNECTION_OK;
}

int sql_pgsql_reconnect(struct sql_conn *conn, const char **error_r)
{
	PQreset(conn->pg);
	if (PQstatus(conn->pg) != CONNECTION_OK) {
		*error_r = connect_error(conn, "cannot reconnect to");
		return -1;
	}
	return session_setup(conn, error_r);
}
