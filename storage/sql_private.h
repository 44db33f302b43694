/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sql_private: the connection behind sql.h, shared by sql.c (the common
 * part and SQLite) and sql_pgsql.c (PostgreSQL, built with libpq only).
 */
#ifndef STORAGE_SQL_PRIVATE_H
#define STORAGE_SQL_PRIVATE_H

#include "storage/sql.h"
#include "util/buf.h"

/* Prepared statements kept per sqlite connection; the sm uses a few dozen
 * shapes, authreg four. */
#define SQL_STMT_CACHE 48

struct sql_stmt_slot {
	char *sql;
	struct sqlite3_stmt *stmt;
	unsigned long last_use;
};

struct sql_conn {
	enum sql_kind kind;
	char *section;
	struct buf error;        /* last error, for *error_r */
	char sqlstate[6];        /* of the last failed pgsql statement */
	char *password;          /* only to blot it out of error text */
	/* sqlite */
	struct sqlite3 *db;
	struct sql_stmt_slot cache[SQL_STMT_CACHE];
	unsigned long clock;
	/* pgsql */
	struct pg_conn *pg;
	char *schema;            /* search_path, or NULL */
	int statement_timeout_ms;
	/* mysql (the password is above) */
	struct st_mysql *my;
	char *my_host, *my_user, *my_dbname, *my_socket;
	unsigned my_port;
	int my_lost;             /* the last error said the connection is gone */
	int my_schema_locked;    /* holds the schema lock (GET_LOCK) */
};


/* Format the connection's error: on one line, the password blotted out.
 * Returns it (for *error_r). */
const char *sql_errorf(struct sql_conn *conn, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* sql_pgsql.c */
int sql_pgsql_open(struct sql_conn *conn, const struct sql_settings *set,
		   const char **error_r);
void sql_pgsql_close(struct sql_conn *conn);
int sql_pgsql_exec(struct sql_conn *conn, const char *sql, const char *what,
		   const char **error_r);
void sql_pgsql_rollback(struct sql_conn *conn);
int sql_pgsql_lost(const struct sql_conn *conn);
int sql_pgsql_reconnect(struct sql_conn *conn, const char **error_r);

/* sql_mysql.c */
int sql_mysql_open(struct sql_conn *conn, const struct sql_settings *set,
		   const char **error_r);
void sql_mysql_close(struct sql_conn *conn);
int sql_mysql_exec(struct sql_conn *conn, const char *sql, const char *what,
		   const char **error_r);
int sql_mysql_begin(struct sql_conn *conn, int serializable, const char **error_r);
int sql_mysql_commit(struct sql_conn *conn, const char **error_r);
void sql_mysql_rollback(struct sql_conn *conn);
int sql_mysql_schema_lock(struct sql_conn *conn, const char **error_r);
int sql_mysql_reconnect(struct sql_conn *conn, const char **error_r);

#endif
