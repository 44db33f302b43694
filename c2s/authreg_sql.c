/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * authreg_sql.c: what the server SQL authreg backends (authreg_pgsql.c,
 * authreg_mysql.c) read and build alike from their section of c2s.xml:
 * the options refused or ignored, the table and column names, the four
 * statements, the statement timeout (authreg_sql.h).
 */
#include "config.h"
#include "c2s/authreg_sql.h"

#include <stdio.h>
#include <stdlib.h>

#include "storage/sql.h"
#include "util/buf.h"
#include "util/config_file.h"
#include "util/log.h"

/* Longest a statement may run (s) unless `timeout` says: c2s waits for
 * it with every client. */
#define AUTHREG_SQL_TIMEOUT 10

const char *authreg_sql_opt(const struct config *cfg, const char *section, const char *name)
{
	char key[96];

	snprintf(key, sizeof(key), "%s.%s", section, name);
	return config_get(cfg, key);
}

int authreg_sql_check(const struct config *cfg, const char *section, const char **error_r)
{
	static char why[128];
	static const char *const templates[] = {
		"sql.select", "sql.create", "sql.setpassword", "sql.delete", "sql.checkpassword",
	};

	for (size_t i = 0; i < sizeof(templates) / sizeof(templates[0]); i++) {
		if (authreg_sql_opt(cfg, section, templates[i]) != NULL) {
			log_warnx("c2s: %s.sql.* is not supported (values are passed as "
				  "parameters); table and field.* name the table instead", section);
			break;
		}
	}
	if (authreg_sql_opt(cfg, section, "password_type.bcrypt") != NULL) {
		snprintf(why, sizeof(why), "%s.password_type.bcrypt is not supported", section);
		*error_r = why;
		return -1;
	}
	return 0;
}

int authreg_sql_timeout_ms(const struct config *cfg, const char *section)
{
	const char *v = authreg_sql_opt(cfg, section, "timeout");

	return 1000 * (v != NULL && atoi(v) > 0 ? atoi(v) : AUTHREG_SQL_TIMEOUT);
}

void authreg_sql_names(const struct config *cfg, const char *section,
		       char *q[AUTHREG_SQL_NNAMES])
{
	static const char *const keys[AUTHREG_SQL_NNAMES] = {
		"table", "field.username", "field.realm", "field.password",
	};
	static const char *const defaults[AUTHREG_SQL_NNAMES] = {
		"authreg", "username", "realm", "password",
	};

	for (int i = 0; i < AUTHREG_SQL_NNAMES; i++) {
		const char *v = authreg_sql_opt(cfg, section, keys[i]);
		struct buf b = { 0 };

		sql_ident(&b, NULL, v != NULL ? v : defaults[i]);
		q[i] = buf_steal(&b, NULL);
	}
}

void authreg_sql_names_free(char *q[AUTHREG_SQL_NNAMES])
{
	for (int i = 0; i < AUTHREG_SQL_NNAMES; i++) {
		free(q[i]);
		q[i] = NULL;
	}
}

void authreg_sql_statements(char *sql[AUTHREG_SQL_NSTMT], char *const q[AUTHREG_SQL_NNAMES],
			    int dollar)
{
	/* Parameter n: "$n" (libpq) or "?" (MySQL, in order). */
	const char *p[4] = { "?", "?", "?" };

	if (dollar) {
		p[0] = "$1";
		p[1] = "$2";
		p[2] = "$3";
	}
	sql[AUTHREG_SQL_GET] = xasprintf("SELECT %s FROM %s WHERE %s = %s AND %s = %s",
					 q[3], q[0], q[1], p[0], q[2], p[1]);
	sql[AUTHREG_SQL_SET] = xasprintf("UPDATE %s SET %s = %s WHERE %s = %s AND %s = %s",
					 q[0], q[3], p[0], q[1], p[1], q[2], p[2]);
	sql[AUTHREG_SQL_CREATE] = xasprintf("INSERT INTO %s (%s, %s) VALUES (%s, %s)",
					    q[0], q[1], q[2], p[0], p[1]);
	sql[AUTHREG_SQL_DELETE] = xasprintf("DELETE FROM %s WHERE %s = %s AND %s = %s",
					    q[0], q[1], p[0], q[2], p[1]);
}
