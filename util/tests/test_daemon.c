/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_daemon: the daemons' shared start-up and loop (util/daemon.h).
 * The command line is read as every daemon reads it (-t only where
 * allowed); the control signals are held from daemon_begin, so a SIGTERM
 * sent during start-up waits for the loop instead of killing the process;
 * in the loop SIGHUP reopens the log file (logrotate), SIGUSR2/SIGUSR1
 * turn debug logging on/off, and SIGTERM reaches the daemon's handler;
 * the pid file is written and a failure to write it is not fatal.
 */
#include "config.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "mio/mio.h"
#include "util/config_file.h"
#include "util/daemon.h"
#include "util/log.h"
#include "util/pidfile.h"
#include "util/signals.h"

static jmp_buf usage_jmp;

static void test_usage(void)
{
	longjmp(usage_jmp, 1);
}

static int begin(int argc, char **argv, int allow_check, struct daemon_args *a)
{
	optind = 1;
	opterr = 0;
	if (setjmp(usage_jmp) != 0)
		return 1;
	daemon_begin(argc, argv, allow_check, test_usage, a);
	return 0;
}

/* Parse argv (NULL-terminated) as a daemon would; 1 if usage() was called. */
static int parse(const char *const *args, int allow_check, struct daemon_args *a)
{
	char *argv[8];
	int argc = 0;

	while (args[argc] != NULL) {
		argv[argc] = (char *)args[argc];
		argc++;
	}
	argv[argc] = NULL;
	return begin(argc, argv, allow_check, a);
}

static void test_command_line(void **state)
{
	static const char *const full[] = { "sm", "-c", "/x/sm.xml", "-i", "sm2", "-D", NULL };
	static const char *const check[] = { "c2s", "-t", NULL };
	static const char *const help[] = { "sm", "-h", NULL };
	static const char *const unknown[] = { "sm", "-z", NULL };
	struct daemon_args a = { .file = "/etc/jabberd/sm.xml" };
	mode_t old;

	(void)state;
	assert_int_equal(parse(full, 0, &a), 0);
	assert_string_equal(a.file, "/x/sm.xml");
	assert_string_equal(a.id, "sm2");
	assert_int_equal(a.debug, 1);
	assert_int_equal(a.check_only, 0);
	/* Files a daemon makes are not world-readable. */
	old = umask(0);
	assert_int_equal(old, 027);

	a = (struct daemon_args){ .file = "/etc/jabberd/c2s.xml" };
	assert_int_equal(parse(check, 1, &a), 0);
	assert_int_equal(a.check_only, 1);
	assert_string_equal(a.file, "/etc/jabberd/c2s.xml");
	a = (struct daemon_args){ 0 };
	assert_int_equal(parse(check, 0, &a), 1);      /* no -t in this daemon */
	assert_int_equal(parse(help, 0, &a), 1);
	assert_int_equal(parse(unknown, 1, &a), 1);
	signals_release();
}

struct run_state {
	struct mio *mio;
	int terms, last_signo;
	int debug_at_term;
	int timed_out;
};

static void on_term(int signo, void *ctx)
{
	struct run_state *rs = ctx;

	rs->terms++;
	rs->last_signo = signo;
	rs->debug_at_term = log_get_debug();
	mio_stop(rs->mio);
}

static void on_timeout(struct mio_timer *t, void *ctx)
{
	struct run_state *rs = ctx;

	(void)t;
	rs->timed_out = 1;
	mio_stop(rs->mio);
}

/* Signals sent while held (during start-up) are handled once the loop
 * runs: the SIGUSR2 turns debug on, the SIGHUP reopens the log file that
 * logrotate moved away, and the SIGTERM reaches the daemon's handler. */
static void test_signals_reach_the_loop(void **state)
{
	static const char *const args[] = { "muc", NULL };
	char dir[] = "/tmp/test_daemon.XXXXXX", path[64], moved[64];
	struct daemon_args a = { .file = "x" };
	struct run_state rs = { 0 };
	struct mio_timer *guard;
	const char *error;
	struct stat stt;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/muc.log", dir);
	snprintf(moved, sizeof(moved), "%s/muc.log.1", dir);
	assert_int_equal(parse(args, 0, &a), 0);
	assert_int_equal(log_open(LOG_TYPE_FILE, "test", NULL, path, &error), 0);
	log_set_debug(0);
	assert_int_equal(rename(path, moved), 0);
	/* Held: these would kill the process if they were not. */
	kill(getpid(), SIGUSR2);
	kill(getpid(), SIGHUP);
	kill(getpid(), SIGTERM);
	assert_non_null(rs.mio = mio_new(&error));
	guard = mio_timer_new(rs.mio, on_timeout, &rs);
	mio_timer_start(guard, 5000, 0);
	assert_int_equal(daemon_run(rs.mio, "muc", &(const struct daemon_signals){
					    .term = on_term }, &rs), 0);
	assert_int_equal(rs.timed_out, 0);
	assert_int_equal(rs.terms, 1);
	assert_int_equal(rs.last_signo, SIGTERM);
	assert_int_equal(rs.debug_at_term, 1);
	assert_int_equal(stat(path, &stt), 0);  /* reopened at the old path */

	/* SIGINT is the same as SIGTERM; SIGUSR1 turns debug off. */
	rs.terms = 0;
	kill(getpid(), SIGUSR1);
	kill(getpid(), SIGINT);
	assert_int_equal(daemon_run(rs.mio, "muc", &(const struct daemon_signals){
					    .term = on_term }, &rs), 0);
	assert_int_equal(rs.terms, 1);
	assert_int_equal(rs.last_signo, SIGINT);
	mio_timer_free(&guard);
	mio_free(&rs.mio);
	log_close();
	unlink(path);
	unlink(moved);
	rmdir(dir);
}

static void test_pidfile(void **state)
{
	char dir[] = "/tmp/test_daemon.XXXXXX", path[64], bad[80], want[32], got[32];
	FILE *f;
	size_t n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sm.pid", dir);
	daemon_pidfile_write("sm", path);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(got, 1, sizeof(got) - 1, f);
	fclose(f);
	got[n] = '\0';
	snprintf(want, sizeof(want), "%ld", (long)getpid());
	assert_string_equal(got, want);
	pidfile_remove(path);
	assert_int_equal(access(path, F_OK), -1);
	/* A directory that does not exist: a warning, and the daemon goes on. */
	snprintf(bad, sizeof(bad), "%s/none/sm.pid", dir);
	daemon_pidfile_write("sm", bad);
	daemon_pidfile_write("sm", NULL);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_command_line),
		cmocka_unit_test(test_signals_reach_the_loop),
		cmocka_unit_test(test_pidfile),
	};

	alarm(30);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
