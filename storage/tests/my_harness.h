/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * my_harness: a private MariaDB server for the mysql driver's tests.
 * myt_start() runs Debian's mariadb-install-db and mariadbd (or
 * $MARIADB_BINDIR's) on a fresh data directory in a temporary directory,
 * listening on 127.0.0.1 on a free port and on a Unix socket there, with
 * no option file read. The server gets SIGTERM when the test process
 * dies (PR_SET_PDEATHSIG), so none outlives a crashed test; myt_stop()
 * stops it by its pid and removes the directory.
 *
 * The server's root (no password, on the socket) is the harness's admin;
 * MYT_USER / MYT_PASS is the account the drivers under test use, over
 * TCP, with every right on the databases tests create.
 */
#ifndef STORAGE_TESTS_MY_HARNESS_H
#define STORAGE_TESTS_MY_HARNESS_H

#include <stddef.h>

#define MYT_USER "jd"
#define MYT_PASS "my-s3cret-pw"

/*
 * Start the server. 0; 1 if MariaDB is not installed (*why_r says so:
 * skip); -1 if it could not start (*why_r says why; its log is in the
 * directory, shown on stderr). Blocks at most about two minutes.
 */
int myt_start(const char **why_r);
/* SIGTERM, wait (at most a minute, then SIGKILL), remove the directory. */
void myt_stop(void);

struct CMUnitTest;
/* The whole main() of a test program on the private server: start it,
 * run the cmocka group `tests` (n of them) named `name`, stop it. Returns
 * the exit status: the failures, 77 (automake's "skipped") without
 * MariaDB, 1 if the server could not start. */
int myt_run_group(const char *name, const struct CMUnitTest *tests, size_t n);
#define MYT_RUN_GROUP(name, tests) myt_run_group(name, tests, sizeof(tests) / sizeof((tests)[0]))

/* The TCP port, the socket path, the temporary directory. */
const char *myt_port(void);
const char *myt_socket(void);
const char *myt_dir(void);

/* Run SQL as the server's root; 0, or -1 with the error on stderr. */
int myt_exec(const char *sql);
/* The first column of the first row of a query as root, as an integer
 * (-1 if no row or an error). */
long long myt_int(const char *sql);
/* The first column of the first row as root, copied (free() it), or NULL
 * (no row, SQL NULL, or an error). */
char *myt_text(const char *sql);

#endif
