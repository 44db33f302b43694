/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * authreg_sql: what the server SQL authreg backends (pgsql, mysql) share:
 * reading their section of c2s.xml (`section` is "authreg.pgsql" or
 * "authreg.mysql") and building their four statements. Values are always
 * parameters and names quoted identifiers (storage/sql.h sql_ident), so
 * jabberd2's sql.* templates are ignored with a warning.
 */
#ifndef C2S_AUTHREG_SQL_H
#define C2S_AUTHREG_SQL_H

struct config;
struct sql_settings;

/* The table, then the username, realm and password columns. */
#define AUTHREG_SQL_NNAMES 4

enum authreg_sql_stmt {
	AUTHREG_SQL_GET,     /* (user, realm) -> password */
	AUTHREG_SQL_SET,     /* (password, user, realm) */
	AUTHREG_SQL_CREATE,  /* (user, realm) */
	AUTHREG_SQL_DELETE,  /* (user, realm) */
	AUTHREG_SQL_NSTMT,
};

/* The option section.name, or NULL. */
const char *authreg_sql_opt(const struct config *cfg, const char *section, const char *name);
/* Warn of sql.* templates; refuse password_type.bcrypt (-1, *error_r). */
int authreg_sql_check(const struct config *cfg, const char *section, const char **error_r);
/* `timeout` (s, default 10) in milliseconds. */
int authreg_sql_timeout_ms(const struct config *cfg, const char *section);
/* table, field.username, field.realm, field.password (or the defaults
 * authreg, username, realm, password), each quoted, into q (free them
 * with authreg_sql_names_free). */
void authreg_sql_names(const struct config *cfg, const char *section,
		       char *q[AUTHREG_SQL_NNAMES]);
void authreg_sql_names_free(char *q[AUTHREG_SQL_NNAMES]);
/* The four statements over the quoted names, with "$n" parameters when
 * `dollar` (libpq), else "?" (MySQL). */
void authreg_sql_statements(char *sql[AUTHREG_SQL_NSTMT], char *const q[AUTHREG_SQL_NNAMES],
			    int dollar);

/* ---- the backend itself, the same on both servers ---- */

/*
 * The table's definition for a server: up to AUTHREG_SQL_NDDL statements
 * into ddl (NULL after the last; each freed by the caller), over the
 * quoted names `q`; `standard` when the table has jabberd2's name (then
 * indexes of jabberd2's names may be made).
 */
#define AUTHREG_SQL_NDDL 4
typedef void authreg_sql_ddl_fn(char *const q[AUTHREG_SQL_NNAMES], int standard,
				char *ddl[AUTHREG_SQL_NDDL]);

/*
 * Open a backend (authreg.h's open) on the server `set` names (kind,
 * section, options, timeout): check the section, connect, create the
 * table if missing under the schema lock the sm's storage takes too, and
 * build the four statements. Errors name the section.
 */
int authreg_sql_open(void **ctx_r, const struct config *cfg, const struct sql_settings *set,
		     authreg_sql_ddl_fn *ddl, const char **error_r);
/* authreg.h's other calls, over what authreg_sql_open made. Each is one
 * statement; a connection lost meanwhile is re-established once per call
 * and the statement run again (a retry cannot apply a change twice: an
 * UPDATE or DELETE is idempotent and an INSERT is guarded by the lookup
 * before it). The password text read is wiped from the driver's buffers. */
void authreg_sql_close(void **ctxp);
int authreg_sql_get(void *ctx, const char *user, const char *realm, char **stored_r);
int authreg_sql_set(void *ctx, const char *user, const char *realm, const char *stored);
int authreg_sql_create(void *ctx, const char *user, const char *realm);
int authreg_sql_remove(void *ctx, const char *user, const char *realm);

#endif
