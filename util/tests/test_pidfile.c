/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_pidfile: the pid file is exactly the decimal pid (no newline, as
 * jabberd2 writes it and as init scripts read it), a longer old file is
 * truncated, no <pidfile> writes nothing, and an unwritable path is an
 * error with a reason. pidfile_remove takes away our own file and leaves
 * one that another process has rewritten since.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/pidfile.h"

static char *read_file(const char *path)
{
	static char buf[128];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static void test_writes_pid_without_newline(void **state)
{
	char dir[] = "/tmp/test_pidfile.XXXXXX", path[64], want[32];
	const char *error = NULL;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/x.pid", dir);
	/* An old, longer file is truncated, not overwritten in place. */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("1234567890123456789\n", f);
	fclose(f);
	assert_int_equal(pidfile_write(path, &error), 0);
	snprintf(want, sizeof(want), "%ld", (long)getpid());
	assert_string_equal(read_file(path), want);
	unlink(path);
	rmdir(dir);
}

static void test_no_path_is_no_file(void **state)
{
	const char *error = NULL;

	assert_int_equal(pidfile_write(NULL, &error), 0);
	assert_null(error);
}

static void test_unwritable_path_says_why(void **state)
{
	const char *error = NULL;

	assert_int_equal(pidfile_write("/nonexistent-dir/x.pid", &error), -1);
	assert_non_null(error);
	assert_non_null(strstr(error, "No such file"));
}

static void test_remove_only_our_own(void **state)
{
	char dir[] = "/tmp/test_pidfile.XXXXXX", path[64];
	const char *error = NULL;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/x.pid", dir);
	assert_int_equal(pidfile_write(path, &error), 0);
	pidfile_remove(path);
	assert_int_equal(access(path, F_OK), -1);
	/* A daemon started since with the same file keeps it. */
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%ld", (long)getpid() + 1);
	fclose(f);
	pidfile_remove(path);
	assert_int_equal(access(path, F_OK), 0);
	pidfile_remove(NULL);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_writes_pid_without_newline),
		cmocka_unit_test(test_no_path_is_no_file),
		cmocka_unit_test(test_unwritable_path_says_why),
		cmocka_unit_test(test_remove_only_our_own),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
