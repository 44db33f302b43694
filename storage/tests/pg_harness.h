/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pg_harness: the pgsql driver's test harness. pgt_start() runs a private
 * PostgreSQL server: Debian's server binaries (/usr/lib/postgresql/
 * <version>/bin, or $PG_BINDIR) on a fresh data directory in a temporary
 * directory, listening only on a unix socket there (listen_addresses is
 * empty), and, when the test runs as root, as an unprivileged user
 * ($PG_TEST_USER, else postgres, else nobody), since PostgreSQL refuses to
 * run as root. A watchdog process stops the server and removes the
 * directory when the test process goes away, however it ends (a crash or
 * a sanitizer abort included), so no server outlives a test run.
 *
 * The superuser PGT_SUPERUSER is trusted on the socket; the role
 * PGT_PW_USER, if a test creates it, must give its password (SCRAM).
 *
 * Each test gets a fixture with a new database (pgt_setup) and options
 * pointing the pgsql driver at it. The other helpers fail the running
 * cmocka test on unexpected errors.
 */
#ifndef STORAGE_TESTS_PG_HARNESS_H
#define STORAGE_TESTS_PG_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#define PGT_SUPERUSER "test"
#define PGT_PW_USER "jd"
#define PGT_MAX_OPTS 12

struct os;
struct os_object;
struct storage;

struct pgt_fixture {
	char dbname[32];
	const char *opts[PGT_MAX_OPTS][2]; /* key, value */
	struct storage *st;
};

/*
 * Start the server and look for jabberd2's db-setup.pgsql. Returns 0; 1 if
 * no server binaries are installed (*why_r says so: skip); -1 if the
 * server could not start (*why_r says why; its logs went to stderr).
 * Blocks until the server accepts connections, at most about two minutes.
 */
int pgt_start(const char **why_r);
/* Stop the server (fast shutdown) and remove its directory; waits for
 * that, at most about a minute. */
void pgt_stop(void);

struct CMUnitTest;
/*
 * The whole main() of a test program on the private server: start it, run
 * the cmocka group `tests` (n of them) named `name`, stop it. Returns the
 * exit status: the number of failures, 77 (automake's "skipped") without
 * server binaries, 1 if the server could not start.
 */
int pgt_run_group(const char *name, const struct CMUnitTest *tests, size_t n);
#define PGT_RUN_GROUP(name, tests) pgt_run_group(name, tests, sizeof(tests) / sizeof((tests)[0]))

/* The socket directory (libpq's host), port, and the temporary directory
 * the test may use for its own files. */
const char *pgt_host(void);
const char *pgt_port(void);
const char *pgt_dir(void);
/* jabberd2's db-setup.pgsql text, or NULL if not found (from
 * $JABBERD2_PGSQL_SETUP or JABBERD2_PGSQL_SETUP_PATHS, plain or .gz). */
extern char *pgt_jd2_script;

/* The option callback over fx->opts, and setting (NULL: removing) one. */
const char *pgt_opt_get(void *ctx, const char *key);
void pgt_opt_set(struct pgt_fixture *fx, const char *key, const char *value);
/* (Re)open fx->st with the current options: storage_add_type's result. */
int pgt_open(struct pgt_fixture *fx, const char **error_r);

/* A fixture on a new database, not opened; pgt_setup also opens it. */
struct pgt_fixture *pgt_fixture_new(void);
int pgt_setup(void **state);
int pgt_setup_unopened(void **state);
/* Closes the storage and drops the database. */
int pgt_teardown(void **state);

/* A libpq connection to database `db` as the superuser (fails the test
 * if it cannot connect). */
PGconn *pgt_connect(const char *db);
/* Run SQL (one or more statements) on database `db` as the superuser;
 * fails the test on error unless may_fail. Returns 0 or -1. */
int pgt_exec(const char *db, const char *sql, int may_fail);
/* Rows of a query on the fixture's database: columns joined by '|', each
 * row ending in '\n', NULL as "NULL". free() it. */
char *pgt_query(struct pgt_fixture *fx, const char *sql);
/* The first column of the first row as an integer (-1 if no row). */
int64_t pgt_raw_int(struct pgt_fixture *fx, const char *sql);
void pgt_assert_query(struct pgt_fixture *fx, const char *sql, const char *expect);

/* Put one object with one string field; fails the test on error. (The
 * driver-neutral helpers are in storage_test.h.) */
void pgt_put_one_str(struct pgt_fixture *fx, const char *type, const char *owner,
		     const char *key, const char *value);

/* Open (pgt_open) and check: the result is `expect`; the error, if
 * `want` is set, holds it; and neither the error nor what was logged
 * meanwhile holds `secret`. */
void pgt_check_open(struct pgt_fixture *fx, const char *secret, int expect, const char *want);

/* Run jabberd2's db-setup.pgsql on the fixture's database; skips the test
 * if it was not found. */
void pgt_load_jabberd2(struct pgt_fixture *fx);
/* Tables, columns, keys, indexes and sequences of the public schema, as
 * text that equal schemas render identically; the three tables jabberd2's
 * pgsql script lacks (published-roster, published-roster-groups, verify)
 * are left out. free() it. */
char *pgt_schema_digest(struct pgt_fixture *fx);

#endif
