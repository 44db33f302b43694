/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_authreg_pam: the pam backend through Linux-PAM with a service file
 * this test writes in a directory of its own (authreg.pam.confdir): a
 * pam_exec script judges the password from the test's user list. The
 * right password passes, a wrong one, an unknown user and an empty
 * password do not, a password with blanks and quotes reaches the script
 * unchanged; a missing service fails; every user "exists" (as jabberd2)
 * with no secret, and nothing can be registered.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "c2s/authreg.h"
#include "sx/sx.h"
#include "util/config_file.h"

static const char check_script[] =
	"#!/bin/sh\n"
	"pw=$(tr -d '\\000')\n"
	"while IFS= read -r line; do\n"
	"  [ \"$line\" = \"$PAM_USER:$pw\" ] && exit 0\n"
	"done < '%s/users'\n"
	"exit 1\n";

struct fixture {
	char dir[64];
	struct config *cfg;
	struct authreg *ar;
};

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	assert_int_equal(chmod(path, mode), 0);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char path[128], text[1024];

	strcpy(f->dir, "/tmp/test_authreg_pam.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/users", f->dir);
	write_file(path, "ann:right pw\nbo:it's \"quoted\"\n", 0600);
	snprintf(path, sizeof(path), "%s/check", f->dir);
	snprintf(text, sizeof(text), check_script, f->dir);
	write_file(path, text, 0700);
	snprintf(path, sizeof(path), "%s/pam", f->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/pam/xmpp-unit", f->dir);
	snprintf(text, sizeof(text),
		 "auth [success=1 default=ignore] pam_exec.so expose_authtok quiet %s/check\n"
		 "auth requisite pam_deny.so\n"
		 "auth required pam_permit.so\n"
		 "account required pam_permit.so\n", f->dir);
	write_file(path, text, 0600);
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

static void open_pam(struct fixture *f, const char *service)
{
	struct authreg_settings set = { .scram_iter = 64, .upgrade = 1 };
	const char *error = NULL;
	char xml[512];

	snprintf(xml, sizeof(xml), "<c2s><authreg><pam><service>%s</service>"
		 "<confdir>%s/pam</confdir></pam></authreg></c2s>", service, f->dir);
	f->cfg = config_load_mem("c2s.xml", xml, strlen(xml), NULL, &error);
	assert_non_null(f->cfg);
	f->ar = authreg_new("pam", f->cfg, &set, &error);
	assert_non_null(f->ar);
}

static void test_pam_passwords(void **state)
{
	struct fixture *f = *state;

	open_pam(f, "xmpp-unit");
	assert_int_equal(authreg_check_password(f->ar, "ann", "localhost", "right pw"),
			 AUTHREG_OK);
	assert_int_equal(authreg_check_password(f->ar, "ann", "localhost", "wrong"),
			 AUTHREG_FAIL);
	assert_int_equal(authreg_check_password(f->ar, "ann", "localhost", ""), AUTHREG_FAIL);
	assert_int_equal(authreg_check_password(f->ar, "nobody", "localhost", "right pw"),
			 AUTHREG_FAIL);
	assert_int_equal(authreg_check_password(f->ar, "bo", "localhost", "it's \"quoted\""),
			 AUTHREG_OK);
}

static void test_pam_no_secret_no_register(void **state)
{
	struct fixture *f = *state;
	struct sx_sasl_secret sec = { 0 };

	open_pam(f, "xmpp-unit");
	assert_int_equal(authreg_user_exists(f->ar, "anyone", "localhost"), AUTHREG_OK);
	assert_int_not_equal(authreg_get_secret(f->ar, "ann", "localhost", "SHA-256", &sec),
			     AUTHREG_OK);
	assert_null(sec.password);
	assert_false(authreg_has_secrets(f->ar));
	assert_false(authreg_can_register(f->ar));
	assert_int_equal(authreg_set_password(f->ar, "ann", "localhost", "new"), AUTHREG_ERROR);
	assert_int_equal(authreg_create_user(f->ar, "cy", "localhost"), AUTHREG_ERROR);
	/* Still the old password. */
	assert_int_equal(authreg_check_password(f->ar, "ann", "localhost", "right pw"),
			 AUTHREG_OK);
}

static void test_pam_missing_service(void **state)
{
	struct fixture *f = *state;
	struct authreg_settings set = { 0 };
	const char *error = NULL;
	char xml[512];

	/* No such file in confdir: Linux-PAM would abort every login there
	 * (no "other" to fall back on); c2s refuses to start, naming it. */
	snprintf(xml, sizeof(xml), "<c2s><authreg><pam><service>no-such</service>"
		 "<confdir>%s/pam</confdir></pam></authreg></c2s>", f->dir);
	f->cfg = config_load_mem("c2s.xml", xml, strlen(xml), NULL, &error);
	assert_non_null(f->cfg);
	assert_null(authreg_new("pam", f->cfg, &set, &error));
	assert_non_null(strstr(error, "/pam/no-such"));
}

static void test_pam_bad_service_name(void **state)
{
	struct fixture *f = *state;
	struct authreg_settings set = { 0 };
	const char *error = NULL;
	static const char xml[] = "<c2s><authreg><pam><service>../etc/x</service>"
				  "</pam></authreg></c2s>";

	f->cfg = config_load_mem("c2s.xml", xml, strlen(xml), NULL, &error);
	assert_non_null(f->cfg);
	assert_null(authreg_new("pam", f->cfg, &set, &error));
	assert_non_null(strstr(error, "authreg.pam.service"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pam_passwords, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pam_no_secret_no_register, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pam_missing_service, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pam_bad_service_name, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
