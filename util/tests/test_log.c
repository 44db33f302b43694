/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for util/log.c: the line format of file and stdout logs, debug
 * gating, errno suffixes, reopening after logrotate, the stdout fallback
 * for an unopenable file, and stderr before log_open().
 */
#include "config.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/buf.h"

struct fixture {
	char dir[64];
	char file[128];
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	strcpy(f->dir, "/tmp/test_log.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->file, sizeof(f->file), "%s/x.log", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char path[160];

	log_close();
	log_set_debug(0);
	unlink(f->file);
	snprintf(path, sizeof(path), "%s/x.log.1", f->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/out", f->dir);
	unlink(path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static char *slurp(const char *path)
{
	struct buf b = { 0 };
	char chunk[512];
	FILE *fp = fopen(path, "r");
	size_t n;

	assert_non_null(fp);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		buf_append(&b, chunk, n);
	fclose(fp);
	return buf_steal(&b, NULL);
}

/* Each line must be "<ctime> [<level>] <text>", ctime as "Sun Nov  2 10:11:12 2025". */
static void assert_line(const char *line, const char *level, const char *text)
{
	regex_t re;
	char *want = xasprintf("^[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] "
			       "[0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4} \\[%s\\] ",
			       level);

	assert_int_equal(regcomp(&re, want, REG_EXTENDED | REG_NOSUB), 0);
	if (regexec(&re, line, 0, NULL, 0) != 0)
		fail_msg("line '%s' does not match '%s'", line, want);
	assert_string_equal(strstr(line, "] ") + 2, text);
	regfree(&re);
	free(want);
}

/* Split `text` into lines (in place) and return how many. */
static int split_lines(char *text, char **lines, int max)
{
	int n = 0;
	char *p = text, *nl;

	while (*p != '\0' && n < max) {
		nl = strchr(p, '\n');
		assert_non_null(nl);
		*nl = '\0';
		lines[n++] = p;
		p = nl + 1;
	}
	return n;
}

static void test_file_format_and_levels(void **state)
{
	struct fixture *f = *state;
	const char *error = NULL;
	char *text, *lines[16];

	assert_int_equal(log_open(LOG_TYPE_FILE, "t", NULL, f->file, &error), 0);
	log_notice("starting %d", 1);
	log_info("info");
	log_warnx("warn x");
	log_error("err");
	log_debug("hidden");
	log_set_debug(1);
	assert_int_equal(log_get_debug(), 1);
	log_debug("shown %s", "now");
	errno = ENOENT;
	log_warn("open %s", "a");
	assert_int_equal(errno, ENOENT);
	log_close();

	text = slurp(f->file);
	assert_int_equal(split_lines(text, lines, 16), 6);
	assert_line(lines[0], "notice", "starting 1");
	assert_line(lines[1], "info", "info");
	assert_line(lines[2], "warning", "warn x");
	assert_line(lines[3], "error", "err");
	assert_line(lines[4], "debug", "shown now");
	assert_line(lines[5], "warning", "open a: No such file or directory");
	free(text);
}

static void test_file_appends(void **state)
{
	struct fixture *f = *state;
	const char *error = NULL;
	char *text, *lines[4];

	assert_int_equal(log_open(LOG_TYPE_FILE, "t", NULL, f->file, &error), 0);
	log_info("one");
	log_close();
	assert_int_equal(log_open(LOG_TYPE_FILE, "t", NULL, f->file, &error), 0);
	log_info("two");
	log_close();
	text = slurp(f->file);
	assert_int_equal(split_lines(text, lines, 4), 2);
	assert_line(lines[0], "info", "one");
	assert_line(lines[1], "info", "two");
	free(text);
}

static void test_reopen_after_rotate(void **state)
{
	struct fixture *f = *state;
	const char *error = NULL;
	char rotated[160], *text, *lines[4];

	snprintf(rotated, sizeof(rotated), "%s.1", f->file);
	assert_int_equal(log_open(LOG_TYPE_FILE, "t", NULL, f->file, &error), 0);
	log_info("before");
	assert_int_equal(rename(f->file, rotated), 0);
	log_reopen();
	log_info("after");
	log_close();

	text = slurp(rotated);
	assert_int_equal(split_lines(text, lines, 4), 1);
	assert_line(lines[0], "info", "before");
	free(text);
	text = slurp(f->file);
	assert_int_equal(split_lines(text, lines, 4), 1);
	assert_line(lines[0], "info", "after");
	free(text);
}

/* Run `fn` with file descriptor `fd` (stdout or stderr) redirected to a
 * file, and return what was written there. */
static char *capture(struct fixture *f, int fd, void (*fn)(struct fixture *))
{
	char path[160];
	int saved, tmp;

	snprintf(path, sizeof(path), "%s/out", f->dir);
	fflush(stdout);
	fflush(stderr);
	saved = dup(fd);
	tmp = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && tmp >= 0);
	dup2(tmp, fd);
	close(tmp);
	fn(f);
	fflush(stdout);
	fflush(stderr);
	dup2(saved, fd);
	close(saved);
	return slurp(path);
}

static void unopenable(struct fixture *f)
{
	const char *error = NULL;
	char bad[160];

	snprintf(bad, sizeof(bad), "%s/missing-dir/x.log", f->dir);
	assert_int_equal(log_open(LOG_TYPE_FILE, "t", NULL, bad, &error), 0);
	log_info("still here");
	log_close();
}

static void test_unopenable_falls_back_to_stdout(void **state)
{
	char *text = capture(*state, STDOUT_FILENO, unopenable);
	char *lines[4];

	assert_int_equal(split_lines(text, lines, 4), 2);
	assert_non_null(strstr(lines[0], "[warning] log: cannot open "));
	assert_non_null(strstr(lines[0], "missing-dir/x.log: No such file or directory"));
	assert_line(lines[1], "info", "still here");
	free(text);
}

static void before_open(struct fixture *f)
{
	(void)f;
	log_notice("early");
	log_debug("not while debug is off");
}

static void test_stderr_before_open(void **state)
{
	char *text = capture(*state, STDERR_FILENO, before_open);
	char *lines[4];

	assert_int_equal(split_lines(text, lines, 4), 1);
	assert_line(lines[0], "notice", "early");
	free(text);
}

static void to_stdout(struct fixture *f)
{
	const char *error = NULL;

	(void)f;
	assert_int_equal(log_open(LOG_TYPE_STDOUT, "t", NULL, NULL, &error), 0);
	log_error("on stdout");
	log_close();
}

static void test_stdout_type(void **state)
{
	char *text = capture(*state, STDOUT_FILENO, to_stdout);
	char *lines[4];

	assert_int_equal(split_lines(text, lines, 4), 1);
	assert_line(lines[0], "error", "on stdout");
	free(text);
}

/* <log type='...'>: jabberd2 logs to stdout when the type is absent or
 * unknown, so a typo never silences a daemon. */
static void test_type_parse(void **state)
{
	assert_int_equal(log_type_parse("syslog"), LOG_TYPE_SYSLOG);
	assert_int_equal(log_type_parse("file"), LOG_TYPE_FILE);
	assert_int_equal(log_type_parse("stdout"), LOG_TYPE_STDOUT);
	assert_int_equal(log_type_parse(NULL), LOG_TYPE_STDOUT);
	assert_int_equal(log_type_parse("Syslog"), LOG_TYPE_STDOUT);
	assert_int_equal(log_type_parse(""), LOG_TYPE_STDOUT);
}

static void test_syslog_opens(void **state)
{
	const char *error = NULL;

	(void)state;
	/* What syslog receives is not observable here without a syslog
	 * daemon; this only checks that opening succeeds for a known
	 * facility, an unknown one (local7 is used) and no ident. */
	assert_int_equal(log_open(LOG_TYPE_SYSLOG, "jabberd/test", "local3", NULL, &error), 0);
	log_close();
	assert_int_equal(log_open(LOG_TYPE_SYSLOG, "jabberd/test", "nonsense", NULL, &error), 0);
	log_close();
	assert_int_equal(log_open(LOG_TYPE_SYSLOG, NULL, NULL, NULL, &error), 0);
	log_close();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_file_format_and_levels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_appends, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_after_rotate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unopenable_falls_back_to_stdout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stderr_before_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stdout_type, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syslog_opens, setup, teardown),
		cmocka_unit_test(test_type_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
