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

#endif
