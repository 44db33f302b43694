/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pg_harness: what the pgsql driver's tests stand on (see pg_harness.h):
 * the private PostgreSQL server, started and stopped through fork/exec
 * with bounded waits (pg_ctl's own -w/-t bound the start and the stop), a
 * fresh database per test, and helpers to query it directly.
 */
#include "config.h"
#include "storage/tests/pg_harness.h"
#include "storage/tests/storage_test.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "storage/storage.h"
#include "util/buf.h"

#ifndef JABBERD2_PGSQL_SETUP_PATHS
#define JABBERD2_PGSQL_SETUP_PATHS "/usr/share/doc/jabberd2/db-setup.pgsql.gz"
#endif

#define PG_PORT "54329"
/* Seconds: initdb; pg_ctl start and stop (passed to -t, plus a margin). */
#define PG_INITDB_TIMEOUT 120
#define PG_CTL_TIMEOUT 60
#define PG_STOP_TIMEOUT 30

struct pg_server {
	char dir[64];
	char data[96];
	char pidfile[128];
	char bindir[256];
	uid_t uid;
	gid_t gid;
	int drop; /* running as root: run the server as uid/gid */
	pid_t watchdog;
	int watch_fd; /* write end; the watchdog acts when it closes */
};

static char why[512];
static struct pg_server *server;
static int db_serial; /* names each test's database */
char *pgt_jd2_script;

/* ---- the server ---- */

static int has_server(const char *dir)
{
	char path[320];

	snprintf(path, sizeof(path), "%s/initdb", dir);
	if (access(path, X_OK) != 0)
		return 0;
	snprintf(path, sizeof(path), "%s/pg_ctl", dir);
	return access(path, X_OK) == 0;
}

/* $PG_BINDIR, or the newest /usr/lib/postgresql/<version>/bin, if it has
 * initdb and pg_ctl. */
static int find_bindir(char *out, size_t size)
{
	static const char base[] = "/usr/lib/postgresql/";
	const char *env = getenv("PG_BINDIR");
	double best = -1;
	glob_t g;

	if (env != NULL && *env != '\0') {
		snprintf(out, size, "%s", env);
		return has_server(out) ? 0 : -1;
	}
	if (glob("/usr/lib/postgresql/*/bin", 0, NULL, &g) != 0)
		return -1;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		/* Versions compare as numbers: 9.6 < 15. */
		double version = strtod(g.gl_pathv[i] + strlen(base), NULL);

		if (version > best && has_server(g.gl_pathv[i])) {
			best = version;
			snprintf(out, size, "%s", g.gl_pathv[i]);
		}
	}
	globfree(&g);
	return best >= 0 ? 0 : -1;
}

/* Who runs the server: ourselves, or (as root) $PG_TEST_USER, postgres or
 * nobody. */
static int pick_user(struct pg_server *srv)
{
	const char *env = getenv("PG_TEST_USER");
	const struct passwd *pw = NULL;

	if (geteuid() != 0)
		return 0;
	if (env != NULL && *env != '\0')
		pw = getpwnam(env);
	else if ((pw = getpwnam("postgres")) == NULL)
		pw = getpwnam("nobody");
	if (pw == NULL || pw->pw_uid == 0)
		return -1;
	srv->drop = 1;
	srv->uid = pw->pw_uid;
	srv->gid = pw->pw_gid;
	return 0;
}

/* In a child: become the server's user, in its directory. */
static void child_become(const struct pg_server *srv)
{
	if (srv->drop && (setgroups(0, NULL) < 0 || setgid(srv->gid) < 0 ||
			  setuid(srv->uid) < 0)) {
		perror("pg_server: dropping privileges");
		_exit(126);
	}
	if (chdir(srv->dir) < 0)
		_exit(126);
}

/*
 * Run bindir/argv[0] as the server's user with output appended to
 * dir/<log>, and wait at most `timeout` seconds (then kill it). Returns its
 * exit status, or -1.
 */
static int run_tool(const struct pg_server *srv, const char *const argv[], const char *log,
		    int timeout)
{
	char path[320], logpath[128];
	struct timespec step = { 0, 20 * 1000 * 1000 };
	int status;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/%s", srv->bindir, argv[0]);
	snprintf(logpath, sizeof(logpath), "%s/%s", srv->dir, log);
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY), out;

		child_become(srv);
		out = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (null < 0 || out < 0)
			_exit(126);
		dup2(null, 0);
		dup2(out, 1);
		dup2(out, 2);
		execv(path, (char *const *)argv);
		_exit(127);
	}
	for (long waited = 0; waited < timeout * 50L; waited++) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		if (r < 0 && errno != EINTR)
			return -1;
		nanosleep(&step, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

/* pg_ctl stop in `mode`, waiting; returns 0 once the server is down. */
static int stop_server(const struct pg_server *srv, const char *mode)
{
	char timeout[16];
	const char *const argv[] = { "pg_ctl", "stop", "-D", srv->data, "-m", mode, "-w",
				     "-t", timeout, NULL };

	snprintf(timeout, sizeof(timeout), "%d", PG_STOP_TIMEOUT);
	return run_tool(srv, argv, "pg_ctl.log", PG_STOP_TIMEOUT + 5);
}

/* Remove the temporary directory, as root or as its owner. */
static void remove_dir(const struct pg_server *srv)
{
	const char *const argv[] = { "rm", "-rf", "--", srv->dir, NULL };
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		execv("/bin/rm", (char *const *)argv);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, &status, 0);
}

/*
 * The watchdog: a child that waits for the test process to close (or lose)
 * the pipe, then stops the server and removes everything. It ignores
 * terminal signals so that an interrupted test is still cleaned up.
 */
static int start_watchdog(struct pg_server *srv)
{
	int fds[2];
	char c;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	if ((srv->watchdog = fork()) < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (srv->watchdog == 0) {
		close(fds[1]);
		setsid();
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		while (read(fds[0], &c, 1) < 0 && errno == EINTR)
			;
		/* (No postmaster.pid: initdb or the start failed, or the
		 * server is already down.) */
		if (access(srv->pidfile, F_OK) == 0 && stop_server(srv, "fast") != 0)
			stop_server(srv, "immediate");
		remove_dir(srv);
		_exit(0);
	}
	close(fds[0]);
	srv->watch_fd = fds[1];
	return 0;
}

static int append_file(const char *path, const char *text, const char *mode)
{
	FILE *fp = fopen(path, mode);
	int ret;

	if (fp == NULL)
		return -1;
	ret = fputs(text, fp) < 0 ? -1 : 0;
	return fclose(fp) == 0 ? ret : -1;
}

/* Settings for a small, fast, socket-only server; trust for the
 * superuser, a password for PGT_PW_USER. */
static int configure(const struct pg_server *srv)
{
	char path[160], conf[512];

	snprintf(conf, sizeof(conf),
		 "\n# pg_server (test)\nlisten_addresses = ''\n"
		 "unix_socket_directories = '%s'\nport = " PG_PORT "\n"
		 "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
		 "max_connections = 30\nshared_buffers = 16MB\n"
		 "password_encryption = 'scram-sha-256'\n",
		 srv->dir);
	snprintf(path, sizeof(path), "%s/postgresql.conf", srv->data);
	if (append_file(path, conf, "a") < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/pg_hba.conf", srv->data);
	return append_file(path, "local all " PGT_PW_USER " scram-sha-256\n"
				 "local all all trust\n", "w");
}

static void dump_log(const struct pg_server *srv, const char *name)
{
	char path[160], line[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", srv->dir, name);
	if ((fp = fopen(path, "r")) == NULL)
		return;
	fprintf(stderr, "---- %s ----\n", path);
	while (fgets(line, sizeof(line), fp) != NULL)
		fputs(line, stderr);
	fclose(fp);
}

static int init_and_start(struct pg_server *srv)
{
	const char *const initdb[] = { "initdb", "-D", srv->data, "-U", PGT_SUPERUSER,
				       "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync",
				       NULL };
	char logopt[128];
	const char *const start[] = { "pg_ctl", "start", "-D", srv->data, "-l", logopt, "-w",
				      "-t", "60", NULL };

	if (run_tool(srv, initdb, "initdb.log", PG_INITDB_TIMEOUT) != 0) {
		snprintf(why, sizeof(why), "initdb failed (log above)");
		dump_log(srv, "initdb.log");
		return -1;
	}
	if (configure(srv) < 0) {
		snprintf(why, sizeof(why), "cannot write the server configuration: %s",
			 strerror(errno));
		return -1;
	}
	snprintf(logopt, sizeof(logopt), "%s/server.log", srv->dir);
	if (run_tool(srv, start, "pg_ctl.log", PG_CTL_TIMEOUT + 10) != 0) {
		snprintf(why, sizeof(why), "the server did not start (logs above)");
		dump_log(srv, "pg_ctl.log");
		dump_log(srv, "server.log");
		return -1;
	}
	return 0;
}

static void pg_server_stop(struct pg_server **srvp);

static int pg_server_start(struct pg_server **srv_r, const char **why_r)
{
	struct pg_server *srv = calloc(1, sizeof(*srv));

	*srv_r = NULL;
	*why_r = why;
	srv->watch_fd = -1;
	if (find_bindir(srv->bindir, sizeof(srv->bindir)) < 0) {
		snprintf(why, sizeof(why), "no PostgreSQL server (initdb, pg_ctl) in %s "
			 "(install the Debian package postgresql, e.g. with tools/install-deps "
			 "--test, or set PG_BINDIR)",
			 getenv("PG_BINDIR") ? getenv("PG_BINDIR") : "/usr/lib/postgresql/*/bin");
		free(srv);
		return 1;
	}
	if (pick_user(srv) < 0) {
		snprintf(why, sizeof(why), "running as root and no user to run the server "
			 "as ($PG_TEST_USER, postgres or nobody)");
		free(srv);
		return -1;
	}
	snprintf(srv->dir, sizeof(srv->dir), "/tmp/test_pgsql_XXXXXX");
	if (mkdtemp(srv->dir) == NULL ||
	    (srv->drop && chown(srv->dir, srv->uid, srv->gid) < 0)) {
		snprintf(why, sizeof(why), "temporary directory: %s", strerror(errno));
		free(srv);
		return -1;
	}
	snprintf(srv->data, sizeof(srv->data), "%s/data", srv->dir);
	snprintf(srv->pidfile, sizeof(srv->pidfile), "%s/postmaster.pid", srv->data);
	if (start_watchdog(srv) < 0) {
		snprintf(why, sizeof(why), "watchdog: %s", strerror(errno));
		remove_dir(srv);
		free(srv);
		return -1;
	}
	*srv_r = srv;
	if (init_and_start(srv) < 0) {
		pg_server_stop(srv_r);
		return -1;
	}
	return 0;
}

static void pg_server_stop(struct pg_server **srvp)
{
	struct pg_server *srv = *srvp;
	struct timespec step = { 0, 20 * 1000 * 1000 };
	int status;

	if (srv == NULL)
		return;
	close(srv->watch_fd);
	/* The watchdog stops the server (bounded by pg_ctl -t) and cleans up. */
	for (long waited = 0; waited < (2L * PG_STOP_TIMEOUT + 20) * 50; waited++) {
		pid_t r = waitpid(srv->watchdog, &status, WNOHANG);

		if (r == srv->watchdog || (r < 0 && errno != EINTR))
			break;
		nanosleep(&step, NULL);
	}
	free(srv);
	*srvp = NULL;
}


const char *pgt_host(void)
{
	return server->dir;
}

const char *pgt_port(void)
{
	return PG_PORT;
}

const char *pgt_dir(void)
{
	return server->dir;
}

/* ---- databases and fixtures ---- */

const char *pgt_opt_get(void *ctx, const char *key)
{
	struct pgt_fixture *fx = ctx;

	for (int i = 0; i < PGT_MAX_OPTS && fx->opts[i][0] != NULL; i++)
		if (strcmp(fx->opts[i][0], key) == 0)
			return fx->opts[i][1];
	return NULL;
}

/* Set (value non-NULL) or remove an option. */
void pgt_opt_set(struct pgt_fixture *fx, const char *key, const char *value)
{
	int i, last;

	for (i = 0; i < PGT_MAX_OPTS - 1 && fx->opts[i][0] != NULL; i++)
		if (strcmp(fx->opts[i][0], key) == 0)
			break;
	if (value != NULL) {
		fx->opts[i][0] = key;
		fx->opts[i][1] = value;
		return;
	}
	for (last = i; last < PGT_MAX_OPTS - 1 && fx->opts[last + 1][0] != NULL; last++)
		;
	if (fx->opts[i][0] == NULL)
		return;
	fx->opts[i][0] = fx->opts[last][0];
	fx->opts[i][1] = fx->opts[last][1];
	fx->opts[last][0] = fx->opts[last][1] = NULL;
}

/* (Re)open fx->st with the current options; returns add_type's result. */
int pgt_open(struct pgt_fixture *fx, const char **error_r)
{
	storage_free(&fx->st);
	fx->st = storage_new(pgt_opt_get, fx);
	return storage_add_type(fx->st, "pgsql", NULL, error_r);
}

/* A libpq connection to database `db` as the superuser. */
PGconn *pgt_connect(const char *db)
{
	const char *keys[] = { "host", "port", "dbname", "user", NULL };
	const char *values[] = { pgt_host(), pgt_port(), db,
				 PGT_SUPERUSER, NULL };
	PGconn *c = PQconnectdbParams(keys, values, 0);

	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("connect to %s: %s", db, PQerrorMessage(c));
	return c;
}

/* Run SQL (one or more statements) on database `db`; fails the test on an
 * error unless `may_fail`. Returns 0 or -1. */
int pgt_exec(const char *db, const char *sql, int may_fail)
{
	PGconn *c = pgt_connect(db);
	PGresult *r = PQexec(c, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;

	if (!ok && !may_fail)
		fail_msg("%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return ok ? 0 : -1;
}

/* Rows of a query on the fixture's database: columns joined by '|', rows
 * ending in '\n', NULL as "NULL". */
char *pgt_query(struct pgt_fixture *fx, const char *sql)
{
	PGconn *c = pgt_connect(fx->dbname);
	PGresult *r = PQexec(c, sql);
	struct buf b = { 0 };

	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(c));
	for (int i = 0; i < PQntuples(r); i++) {
		for (int j = 0; j < PQnfields(r); j++)
			buf_printf(&b, "%s%s", j ? "|" : "",
				   PQgetisnull(r, i, j) ? "NULL" : PQgetvalue(r, i, j));
		buf_append_char(&b, '\n');
	}
	PQclear(r);
	PQfinish(c);
	return b.data ? buf_steal(&b, NULL) : strdup("");
}

/* One integer from SQL on the fixture's database (-1 if no row). */
int64_t pgt_raw_int(struct pgt_fixture *fx, const char *sql)
{
	char *rows = pgt_query(fx, sql);
	int64_t v = rows[0] != '\0' ? strtoll(rows, NULL, 10) : -1;

	free(rows);
	return v;
}

void pgt_assert_query(struct pgt_fixture *fx, const char *sql, const char *expect)
{
	char *got = pgt_query(fx, sql);

	if (strcmp(got, expect) != 0)
		fail_msg("%s\ngot:\n%s\nexpected:\n%s", sql, got, expect);
	free(got);
}

/* A fixture with a new, empty database; not yet opened. */
struct pgt_fixture *pgt_fixture_new(void)
{
	struct pgt_fixture *fx = calloc(1, sizeof(*fx));
	char sql[96];

	snprintf(fx->dbname, sizeof(fx->dbname), "t%d", ++db_serial);
	snprintf(sql, sizeof(sql), "CREATE DATABASE \"%s\"", fx->dbname);
	pgt_exec("postgres", sql, 0);
	pgt_opt_set(fx, "storage.pgsql.host", pgt_host());
	pgt_opt_set(fx, "storage.pgsql.port", pgt_port());
	pgt_opt_set(fx, "storage.pgsql.dbname", fx->dbname);
	pgt_opt_set(fx, "storage.pgsql.user", PGT_SUPERUSER);
	return fx;
}

int pgt_setup(void **state)
{
	struct pgt_fixture *fx = pgt_fixture_new();
	const char *error = NULL;

	*state = fx;
	if (pgt_open(fx, &error) < 0) {
		fprintf(stderr, "open: %s\n", error);
		return -1;
	}
	return 0;
}

/* For the tests that open the database themselves. */
int pgt_setup_unopened(void **state)
{
	*state = pgt_fixture_new();
	return 0;
}

int pgt_teardown(void **state)
{
	struct pgt_fixture *fx = *state;
	char sql[96];

	storage_free(&fx->st);
	snprintf(sql, sizeof(sql), "DROP DATABASE \"%s\" WITH (FORCE)", fx->dbname);
	pgt_exec("postgres", sql, 0);
	free(fx);
	return 0;
}

void pgt_put_one_str(struct pgt_fixture *fx, const char *type, const char *owner,
		     const char *key, const char *value)
{
	struct os *os = os_new();

	os_object_put_str(os_object_new(os), key, value);
	stt_put_ok(fx->st, type, owner, os);
	os_free(&os);
}

/* The file's text; a .gz file is decompressed by gzip(1). */
static char *read_script(const char *path)
{
	size_t len = strlen(path);
	struct buf b = { 0 };
	char chunk[4096], cmd[600];
	FILE *fp;
	size_t n;
	int gz = len > 3 && strcmp(path + len - 3, ".gz") == 0;

	if (gz) {
		/* Our own path list or the tester's environment: no quoting
		 * games, but refuse a quote rather than mis-run. */
		if (strchr(path, '\'') != NULL)
			return NULL;
		snprintf(cmd, sizeof(cmd), "gzip -dc -- '%s'", path);
		fp = popen(cmd, "r");
	} else {
		fp = fopen(path, "r");
	}
	if (fp == NULL)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		buf_append(&b, chunk, n);
	if ((gz ? pclose(fp) : fclose(fp)) != 0 || b.data == NULL) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b, NULL);
}

static void find_script(void)
{
	const char *env = getenv("JABBERD2_PGSQL_SETUP");
	char *paths = strdup(env != NULL ? env : JABBERD2_PGSQL_SETUP_PATHS), *save = NULL;

	for (char *p = strtok_r(paths, ":", &save); p != NULL && pgt_jd2_script == NULL;
	     p = strtok_r(NULL, ":", &save)) {
		if (access(p, R_OK) != 0)
			continue;
		pgt_jd2_script = read_script(p);
		if (pgt_jd2_script != NULL)
			fprintf(stderr, "test_pgsql: jabberd2's script: %s\n", p);
	}
	if (pgt_jd2_script == NULL)
		fprintf(stderr, "test_pgsql: jabberd2's db-setup.pgsql not found (looked in %s; "
				"set JABBERD2_PGSQL_SETUP to its path, plain or .gz): its tests "
				"are skipped\n", env != NULL ? env : JABBERD2_PGSQL_SETUP_PATHS);
	free(paths);
}

/* ---- checks ---- */

/* Run pgt_open with stderr (where the log goes in tests) captured into
 * a file; returns what was logged. */
static char *open_logged(struct pgt_fixture *fx, int *ret_r, const char **error_r)
{
	char path[128];
	int saved = dup(2), fd;
	struct buf b = { 0 };
	char chunk[512];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/stderr.log", pgt_dir());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	fflush(stderr);
	dup2(fd, 2);
	*ret_r = pgt_open(fx, error_r);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	lseek(fd, 0, SEEK_SET);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_append(&b, chunk, (size_t)n);
	close(fd);
	unlink(path);
	return b.data ? buf_steal(&b, NULL) : strdup("");
}

void pgt_check_open(struct pgt_fixture *fx, const char *secret, int expect, const char *want)
{
	const char *error = NULL;
	int ret;
	char *log = open_logged(fx, &ret, &error);

	if (ret != expect)
		fail_msg("open returned %d: %s", ret, error ? error : "");
	if (want != NULL && (error == NULL || strstr(error, want) == NULL))
		fail_msg("error '%s' lacks '%s'", error ? error : "", want);
	if (strstr(log, secret) != NULL)
		fail_msg("the log shows the secret: %s", log);
	if (error != NULL && strstr(error, secret) != NULL)
		fail_msg("the error shows the secret: %s", error);
	free(log);
}

void pgt_load_jabberd2(struct pgt_fixture *fx)
{
	if (pgt_jd2_script == NULL)
		skip();
	pgt_exec(fx->dbname, pgt_jd2_script, 0);
}

char *pgt_schema_digest(struct pgt_fixture *fx)
{
#define NOT_OURS " NOT IN ('published-roster', 'published-roster-groups', 'verify', " \
	"'roster-version', 'roster-state', 'pep-items', 'pep-node', 'pep-item')"
	char *parts[3];
	struct buf all = { 0 };

	parts[0] = pgt_query(fx, "SELECT table_name, column_name, data_type, "
				 "character_maximum_length, is_nullable, column_default "
				 "FROM information_schema.columns WHERE table_schema = 'public' "
				 "AND table_name" NOT_OURS
				 " ORDER BY table_name, ordinal_position");
	parts[1] = pgt_query(fx, "SELECT indexname, indexdef FROM pg_indexes WHERE "
				 "schemaname = 'public' AND tablename" NOT_OURS
				 " ORDER BY indexname");
	parts[2] = pgt_query(fx, "SELECT sequence_name, data_type, start_value, increment "
				 "FROM information_schema.sequences ORDER BY sequence_name");
#undef NOT_OURS
	for (int i = 0; i < 3; i++) {
		buf_append_str(&all, parts[i]);
		free(parts[i]);
	}
	return buf_steal(&all, NULL);
}

int pgt_start(const char **why_r)
{
	int ret = pg_server_start(&server, why_r);

	if (ret == 0)
		find_script();
	return ret;
}

void pgt_stop(void)
{
	free(pgt_jd2_script);
	pgt_jd2_script = NULL;
	pg_server_stop(&server);
}

int pgt_run_group(const char *name, const struct CMUnitTest *tests, size_t n)
{
	const char *reason;
	int failed;

	switch (pgt_start(&reason)) {
	case 0:
		break;
	case 1:
		fprintf(stderr, "%s: %s: SKIP\n", name, reason);
		return 77;
	default:
		fprintf(stderr, "%s: cannot start a PostgreSQL server: %s\n", name, reason);
		return 1;
	}
	failed = _cmocka_run_group_tests(name, tests, n, NULL, NULL);
	pgt_stop();
	return failed;
}
