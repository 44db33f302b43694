/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * my_harness: a private MariaDB server for tests (my_harness.h).
 */
#include "config.h"
#include "storage/tests/my_harness.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>

#include <cmocka.h>
#include <mysql.h>

static char dir[64], sock[96], port[8], why[512];
static pid_t server_pid = -1;

const char *myt_port(void) { return port; }
const char *myt_socket(void) { return sock; }
const char *myt_dir(void) { return dir; }

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* A port on 127.0.0.1 nobody listens on now. */
static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), p = -1;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		p = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return p;
}

/* Fork and exec argv with stdout and stderr into `log`; the child gets
 * SIGTERM when we die. Returns the pid or -1. */
static pid_t spawn(char *const argv[], const char *log)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);

		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* Wait for pid at most `ms`; its exit status, or -1 if still running. */
static int wait_for(pid_t pid, long ms)
{
	int st;

	for (long t = 0; t <= ms; t += 50) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (r < 0)
			return 127;
		sleep_ms(50);
	}
	return -1;
}

static void show_log(const char *name)
{
	char path[128], line[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL)
		fprintf(stderr, "  %s: %s", name, line);
	fclose(f);
}

static MYSQL *admin(void)
{
	MYSQL *m = mysql_init(NULL);
	unsigned timeout = 5;

	if (m == NULL)
		return NULL;
	mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	if (mysql_real_connect(m, NULL, "root", NULL, NULL, 0, sock, 0) == NULL) {
		snprintf(why, sizeof(why), "%s", mysql_error(m));
		mysql_close(m);
		return NULL;
	}
	return m;
}

int myt_exec(const char *sql)
{
	MYSQL *m = admin();
	int rc = -1;

	if (m != NULL && mysql_real_query(m, sql, strlen(sql)) == 0) {
		mysql_free_result(mysql_store_result(m));
		rc = 0;
	} else {
		fprintf(stderr, "myt_exec: %s: %s\n", sql, m ? mysql_error(m) : why);
	}
	mysql_close(m);
	return rc;
}

char *myt_text(const char *sql)
{
	MYSQL *m = admin();
	MYSQL_RES *res;
	MYSQL_ROW row;
	char *v = NULL;

	if (m != NULL && mysql_real_query(m, sql, strlen(sql)) == 0 &&
	    (res = mysql_store_result(m)) != NULL) {
		if ((row = mysql_fetch_row(res)) != NULL && row[0] != NULL)
			v = strdup(row[0]);
		mysql_free_result(res);
	} else {
		fprintf(stderr, "myt_text: %s: %s\n", sql, m ? mysql_error(m) : why);
	}
	mysql_close(m);
	return v;
}

long long myt_int(const char *sql)
{
	char *v = myt_text(sql);
	long long n = v != NULL ? atoll(v) : -1;

	free(v);
	return n;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int myt_start(const char **why_r)
{
	const char *bindir = getenv("MARIADB_BINDIR");
	char server[256], install[256], datadir[96], a[8][160];
	int p;

	snprintf(server, sizeof(server), "%s/mariadbd", bindir ? bindir : "/usr/sbin");
	snprintf(install, sizeof(install), "%s/mariadb-install-db", bindir ? bindir : "/usr/bin");
	*why_r = why;
	if (access(server, X_OK) != 0 || access(install, X_OK) != 0) {
		snprintf(why, sizeof(why), "no MariaDB server (%s; Debian package mariadb-server)",
			 server);
		return 1;
	}
	snprintf(dir, sizeof(dir), "/tmp/myt.XXXXXX");
	if (mkdtemp(dir) == NULL || (p = free_port()) < 0) {
		snprintf(why, sizeof(why), "temporary directory or port: %s", strerror(errno));
		return -1;
	}
	snprintf(port, sizeof(port), "%d", p);
	snprintf(sock, sizeof(sock), "%s/sock", dir);
	snprintf(datadir, sizeof(datadir), "%s/data", dir);
	snprintf(a[0], sizeof(a[0]), "--datadir=%s", datadir);
	{
		char *argv[] = { install, "--no-defaults", a[0], "--user=root",
				 "--auth-root-authentication-method=normal", "--skip-test-db",
				 NULL };
		char log[96];
		pid_t pid;

		snprintf(log, sizeof(log), "%s/install.log", dir);
		pid = spawn(argv, log);
		if (pid < 0 || wait_for(pid, 120000) != 0) {
			if (pid > 0 && kill(pid, 0) == 0) {
				kill(pid, SIGKILL);
				waitpid(pid, NULL, 0);
			}
			show_log("install.log");
			snprintf(why, sizeof(why), "mariadb-install-db failed");
			return -1;
		}
	}
	snprintf(a[1], sizeof(a[1]), "--socket=%s", sock);
	snprintf(a[2], sizeof(a[2]), "--port=%s", port);
	snprintf(a[3], sizeof(a[3]), "--pid-file=%s/pid", dir);
	snprintf(a[4], sizeof(a[4]), "--log-error=%s/error.log", dir);
	{
		char *argv[] = { server, "--no-defaults", a[0], a[1], a[2], a[3], a[4],
				 "--bind-address=127.0.0.1", "--user=root", "--skip-name-resolve",
				 "--skip-log-bin", "--innodb-buffer-pool-size=16M", NULL };
		char log[96];

		snprintf(log, sizeof(log), "%s/server.log", dir);
		server_pid = spawn(argv, log);
	}
	for (int i = 0; i < 1200; i++) {
		MYSQL *m;

		if (server_pid < 0 || wait_for(server_pid, 0) >= 0)
			break;
		if (access(sock, F_OK) == 0 && (m = admin()) != NULL) {
			mysql_close(m);
			if (myt_exec("CREATE USER '" MYT_USER "'@'127.0.0.1' IDENTIFIED BY '"
				     MYT_PASS "'") < 0 ||
			    myt_exec("GRANT ALL ON *.* TO '" MYT_USER "'@'127.0.0.1'") < 0)
				break;
			return 0;
		}
		sleep_ms(100);
	}
	show_log("error.log");
	snprintf(why, sizeof(why), "mariadbd did not start (see its log above)");
	myt_stop();
	return -1;
}

void myt_stop(void)
{
	if (server_pid > 0) {
		kill(server_pid, SIGTERM);
		if (wait_for(server_pid, 60000) < 0) {
			kill(server_pid, SIGKILL);
			waitpid(server_pid, NULL, 0);
		}
		server_pid = -1;
	}
	if (dir[0] != '\0')
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	dir[0] = '\0';
}

int myt_run_group(const char *name, const struct CMUnitTest *tests, size_t n)
{
	const char *reason;
	int failed;

	switch (myt_start(&reason)) {
	case 0:
		break;
	case 1:
		fprintf(stderr, "%s: %s: SKIP\n", name, reason);
		return 77;
	default:
		fprintf(stderr, "%s: cannot start a MariaDB server: %s\n", name, reason);
		return 1;
	}
	failed = _cmocka_run_group_tests(name, tests, n, NULL, NULL);
	myt_stop();
	return failed;
}
