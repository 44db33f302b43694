/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_authreg_pipe: the pipe authreg backend against small sh programs
 * written at test time: registration, PLAIN through CHECK-PASSWORD,
 * SCRAM through GET-PASSWORD, passwords in clear (never "$scram$") and
 * base64 on the line, a program without GET-PASSWORD, names that would
 * break the line protocol refused before anything is written, and a
 * program that hangs, dies or answers garbage: the call fails in bounded
 * time and the next call starts the program again.
 */
#include "config.h"

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "c2s/authreg.h"
#include "sx/sx.h"
#include "util/config_file.h"

/* An account store in files: $D/<user>@<realm> holds the base64
 * password; every line received is appended to $D/log. */
static const char store_program[] =
	"#!/bin/sh\n"
	"D='%s'\n"
	"echo 'OK USER-EXISTS %s CHECK-PASSWORD SET-PASSWORD CREATE-USER DELETE-USER FREE'\n"
	"while read -r cmd a b c; do\n"
	"  echo \"$cmd $a $b $c\" >> \"$D/log\"\n"
	"  case \"$cmd\" in\n"
	"  USER-EXISTS) if [ -e \"$D/$a@$b\" ]; then echo OK; else echo NO; fi ;;\n"
	"  GET-PASSWORD) if [ -s \"$D/$a@$b\" ]; then echo \"OK $(cat \"$D/$a@$b\")\";"
	" else echo NO; fi ;;\n"
	"  CHECK-PASSWORD) if [ -e \"$D/$a@$c\" ] && [ \"$(cat \"$D/$a@$c\")\" = \"$b\" ];"
	" then echo OK; else echo NO; fi ;;\n"
	"  SET-PASSWORD) if [ -e \"$D/$a@$c\" ]; then printf %%s \"$b\" > \"$D/$a@$c\";"
	" echo OK; else echo NO; fi ;;\n"
	"  CREATE-USER) : > \"$D/$a@$b\"; echo OK ;;\n"
	"  DELETE-USER) if [ -e \"$D/$a@$b\" ]; then rm \"$D/$a@$b\"; echo OK;"
	" else echo NO; fi ;;\n"
	"  FREE) echo FREE >> \"$D/log\"; exit 0 ;;\n"
	"  *) echo NO ;;\n"
	"  esac\n"
	"done\n";

struct fixture {
	char dir[64], prog[96];
	struct config *cfg;
	struct authreg *ar;
};

static void write_program(struct fixture *f, const char *text)
{
	FILE *fp = fopen(f->prog, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	assert_int_equal(chmod(f->prog, 0700), 0);
}

static void write_store(struct fixture *f, int get_password)
{
	char text[4096];

	snprintf(text, sizeof(text), store_program, f->dir, get_password ? "GET-PASSWORD" : "");
	write_program(f, text);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	strcpy(f->dir, "/tmp/test_authreg_pipe.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->prog, sizeof(f->prog), "%s/authpipe", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	authreg_free(&f->ar);
	config_free(&f->cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", f->dir);
	free(f);
	return 0;
}

static struct authreg *open_pipe(struct fixture *f, const char **error_r)
{
	/* Settings that would store "$scram$" and upgrade: the backend
	 * overrides them, the program owns the passwords. */
	struct authreg_settings set = { .scram_iter = 64, .upgrade = 1 };
	char xml[512];

	snprintf(xml, sizeof(xml), "<c2s><authreg><pipe><exec>%s</exec><timeout>2</timeout>"
		 "</pipe></authreg></c2s>", f->prog);
	config_free(&f->cfg);
	f->cfg = config_load_mem("c2s.xml", xml, strlen(xml), NULL, error_r);
	assert_non_null(f->cfg);
	return authreg_new("pipe", f->cfg, &set, error_r);
}

static void open_ok(struct fixture *f)
{
	const char *error = NULL;

	f->ar = open_pipe(f, &error);
	if (f->ar == NULL)
		fail_msg("authreg_new: %s", error);
}

static char *file_text(struct fixture *f, const char *name)
{
	char path[160], *buf = calloc(1, 8192);
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	fp = fopen(path, "r");
	if (fp != NULL) {
		size_t n = fread(buf, 1, 8191, fp);

		buf[n] = '\0';
		fclose(fp);
	}
	return buf;
}

static void test_register_and_login(void **state)
{
	struct fixture *f = *state;
	struct sx_sasl_secret sec = { 0 };
	char *text;

	write_store(f, 1);
	open_ok(f);
	assert_int_equal(authreg_user_exists(f->ar, "ann", "localhost"), AUTHREG_FAIL);
	assert_int_equal(authreg_create_user(f->ar, "ann", "localhost"), AUTHREG_OK);
	assert_int_equal(authreg_create_user(f->ar, "ann", "localhost"), AUTHREG_FAIL);
	assert_int_equal(authreg_set_password(f->ar, "ann", "localhost", "s3cret pw"), AUTHREG_OK);
	/* The program got the password itself, in base64. */
	text = file_text(f, "ann@localhost");
	assert_string_equal(text, "czNjcmV0IHB3");
	free(text);
	assert_int_equal(authreg_check_password(f->ar, "ann", "localhost", "s3cret pw"), AUTHREG_OK);
	assert_int_equal(authreg_check_password(f->ar, "ann", "localhost", "wrong"), AUTHREG_FAIL);
	assert_int_equal(authreg_check_password(f->ar, "bob", "localhost", "s3cret pw"),
			 AUTHREG_FAIL);
	/* SCRAM is served from GET-PASSWORD. */
	assert_int_equal(authreg_get_secret(f->ar, "ann", "localhost", "SHA-256", &sec), AUTHREG_OK);
	assert_string_equal(sec.password, "s3cret pw");
	free(sec.password);
	/* A successful login upgrades nothing here. */
	text = file_text(f, "ann@localhost");
	assert_string_equal(text, "czNjcmV0IHB3");
	free(text);
	assert_int_equal(authreg_delete_user(f->ar, "ann", "localhost"), AUTHREG_OK);
	assert_int_equal(authreg_delete_user(f->ar, "ann", "localhost"), AUTHREG_FAIL);
	assert_int_equal(authreg_user_exists(f->ar, "ann", "localhost"), AUTHREG_FAIL);
	/* FREE when c2s closes the backend. */
	authreg_free(&f->ar);
	text = file_text(f, "log");
	assert_non_null(strstr(text, "CHECK-PASSWORD ann d3Jvbmc= localhost"));
	assert_non_null(strstr(text, "FREE"));
	assert_null(strstr(text, "s3cret"));
	free(text);
}

/* The program gets none of our descriptors besides its stdin, stdout and
 * stderr (c2s's client sockets must not live on in it). */
static void test_no_inherited_fds(void **state)
{
	struct fixture *f = *state;
	char text[512], *fds;
	int leak = open("/dev/null", O_RDONLY);  /* no O_CLOEXEC, on purpose */

	assert_true(leak > 2);
	snprintf(text, sizeof(text), "#!/bin/sh\nls /proc/self/fd > '%s/fds'\n"
		 "echo OK USER-EXISTS\nwhile read -r l; do echo NO; done\n", f->dir);
	write_program(f, text);
	open_ok(f);
	assert_int_equal(authreg_user_exists(f->ar, "ann", "localhost"), AUTHREG_FAIL);
	close(leak);
	fds = file_text(f, "fds");
	/* 0, 1, 2, and the directory ls itself reads. */
	if (strlen(fds) > strlen("0\n1\n2\n3\n"))
		fail_msg("descriptors of the program: %s", fds);
	free(fds);
}

/* Without GET-PASSWORD: PLAIN works, SCRAM has nothing to work with. */
static void test_check_only(void **state)
{
	struct fixture *f = *state;
	struct sx_sasl_secret sec = { 0 };

	write_store(f, 0);
	open_ok(f);
	assert_int_equal(authreg_create_user(f->ar, "cy", "localhost"), AUTHREG_OK);
	assert_int_equal(authreg_set_password(f->ar, "cy", "localhost", "pw"), AUTHREG_OK);
	assert_int_equal(authreg_check_password(f->ar, "cy", "localhost", "pw"), AUTHREG_OK);
	assert_int_equal(authreg_get_secret(f->ar, "cy", "localhost", "SHA-1", &sec), AUTHREG_FAIL);
	assert_null(sec.password);
}

/* A name or realm that would split the command line is never sent. */
static void test_no_injection(void **state)
{
	struct fixture *f = *state;
	char *text;

	write_store(f, 1);
	open_ok(f);
	assert_int_equal(authreg_create_user(f->ar, "x localhost\nDELETE-USER", "localhost"),
			 AUTHREG_ERROR);
	assert_int_equal(authreg_check_password(f->ar, "a\tb", "localhost", "pw"), AUTHREG_FAIL);
	assert_int_equal(authreg_user_exists(f->ar, "a", "local host"), AUTHREG_FAIL);
	text = file_text(f, "log");
	assert_string_equal(text, "");
	free(text);
}

/* Programs that fail: each call fails within the timeout, the program is
 * replaced, and a good program behind the same path is used again. */
static void test_bad_programs(void **state)
{
	struct fixture *f = *state;
	const char *error = NULL;
	time_t start;

	/* No OK line: open fails with a clear error. */
	write_program(f, "#!/bin/sh\necho HELLO\n");
	assert_null(open_pipe(f, &error));
	assert_non_null(strstr(error, "did not start"));
	/* No USER-EXISTS. */
	write_program(f, "#!/bin/sh\necho OK GET-PASSWORD\ncat >/dev/null\n");
	assert_null(open_pipe(f, &error));
	/* A program that is not there. */
	unlink(f->prog);
	assert_null(open_pipe(f, &error));

	/* Hangs after starting: the call fails after the 2 s timeout. */
	write_program(f, "#!/bin/sh\necho OK USER-EXISTS\nexec sleep 60\n");
	open_ok(f);
	start = time(NULL);
	assert_int_equal(authreg_user_exists(f->ar, "ann", "localhost"), AUTHREG_ERROR);
	assert_true(time(NULL) - start <= 4);
	/* Garbage answers, then an endless line. */
	write_program(f, "#!/bin/sh\necho OK USER-EXISTS\nread x\necho MAYBE\nsleep 5\n");
	assert_int_equal(authreg_user_exists(f->ar, "ann", "localhost"), AUTHREG_ERROR);
	write_program(f, "#!/bin/sh\necho OK USER-EXISTS\nread x\n"
		      "while :; do printf xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; done\n");
	assert_int_equal(authreg_user_exists(f->ar, "ann", "localhost"), AUTHREG_ERROR);
	/* Dies at once after the OK line. */
	write_program(f, "#!/bin/sh\necho OK USER-EXISTS\n");
	assert_int_equal(authreg_user_exists(f->ar, "ann", "localhost"), AUTHREG_ERROR);
	/* A working program again: the next call starts it. */
	write_store(f, 1);
	assert_int_equal(authreg_create_user(f->ar, "ann", "localhost"), AUTHREG_OK);
	assert_int_equal(authreg_user_exists(f->ar, "ann", "localhost"), AUTHREG_OK);
}

/* The line parsing on its own (also the fuzz target's subject). */
static void test_parsing(void **state)
{
	const char *data;
	char *pw;

	(void)state;
	assert_int_equal(authreg_pipe_caps("HELLO"), 0);
	assert_int_equal(authreg_pipe_caps("OKAY USER-EXISTS"), 0);
	assert_true(authreg_pipe_caps("OK") != 0);
	assert_int_equal(authreg_pipe_caps("OK") & AUTHREG_PIPE_EXISTS, 0);
	assert_true(authreg_pipe_caps("OK FREE USER-EXISTS") & AUTHREG_PIPE_EXISTS);
	/* jabberd2's sample program says DESTROY-USER for DELETE-USER. */
	assert_int_equal(authreg_pipe_caps("OK USER-EXISTS DESTROY-USER"),
			 authreg_pipe_caps("OK USER-EXISTS DELETE-USER"));
	assert_int_equal(authreg_pipe_reply("NO", &data), 1);
	assert_int_equal(authreg_pipe_reply("OK", &data), 0);
	assert_null(data);
	assert_int_equal(authreg_pipe_reply("OK cHc=", &data), 0);
	assert_string_equal(data, "cHc=");
	assert_int_equal(authreg_pipe_reply("OKcHc=", &data), -1);
	assert_int_equal(authreg_pipe_reply("", &data), -1);
	pw = authreg_pipe_b64_decode("cHc=");
	assert_string_equal(pw, "pw");
	free(pw);
	assert_null(authreg_pipe_b64_decode("cHc"));     /* not a multiple of 4 */
	assert_null(authreg_pipe_b64_decode("AGI="));    /* "\0b" */
	assert_null(authreg_pipe_b64_decode("c!c="));
}

#define TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parsing),
		TEST(test_register_and_login),
		TEST(test_check_only),
		TEST(test_no_inherited_fds),
		TEST(test_no_injection),
		TEST(test_bad_programs),
	};

	/* As in c2s (mio): a program that went away is an error, not a
	 * signal that ends us. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
