/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_authreg_anon: the anon backend holds the random names of ANONYMOUS
 * logins (a held name exists, twice is refused, released it is gone) and
 * refuses everything else: any password, any secret, registration and
 * password change.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "c2s/authreg.h"
#include "sx/sx.h"
#include "util/config_file.h"

static struct authreg *open_anon(struct config **cfgp)
{
	static const char xml[] = "<c2s><authreg><module>anon</module></authreg></c2s>";
	struct authreg_settings set = { .scram_iter = 64, .upgrade = 1 };
	const char *error = NULL;
	struct authreg *ar;

	*cfgp = config_load_mem("c2s.xml", xml, strlen(xml), NULL, &error);
	assert_non_null(*cfgp);
	ar = authreg_new("anon", *cfgp, &set, &error);
	assert_non_null(ar);
	return ar;
}

static void test_anon_holds_names(void **state)
{
	struct config *cfg;
	struct authreg *ar = open_anon(&cfg);

	(void)state;
	assert_int_equal(authreg_user_exists(ar, "r4nd0m", "localhost"), AUTHREG_FAIL);
	assert_int_equal(authreg_create_user(ar, "r4nd0m", "localhost"), AUTHREG_OK);
	assert_int_equal(authreg_user_exists(ar, "r4nd0m", "localhost"), AUTHREG_OK);
	/* Per realm. */
	assert_int_equal(authreg_user_exists(ar, "r4nd0m", "elsewhere"), AUTHREG_FAIL);
	assert_int_equal(authreg_create_user(ar, "r4nd0m", "localhost"), AUTHREG_FAIL);
	assert_int_equal(authreg_delete_user(ar, "r4nd0m", "localhost"), AUTHREG_OK);
	assert_int_equal(authreg_user_exists(ar, "r4nd0m", "localhost"), AUTHREG_FAIL);
	assert_int_equal(authreg_delete_user(ar, "r4nd0m", "localhost"), AUTHREG_FAIL);
	authreg_free(&ar);
	config_free(&cfg);
}

static void test_anon_refuses_passwords(void **state)
{
	struct config *cfg;
	struct authreg *ar = open_anon(&cfg);
	struct sx_sasl_secret sec = { 0 };

	(void)state;
	assert_int_equal(authreg_create_user(ar, "held", "localhost"), AUTHREG_OK);
	assert_int_equal(authreg_check_password(ar, "held", "localhost", ""), AUTHREG_FAIL);
	assert_int_equal(authreg_check_password(ar, "held", "localhost", "x"), AUTHREG_FAIL);
	assert_int_equal(authreg_check_password(ar, "admin", "localhost", "admin"),
			 AUTHREG_FAIL);
	assert_int_not_equal(authreg_get_secret(ar, "held", "localhost", "SHA-1", &sec),
			     AUTHREG_OK);
	assert_null(sec.password);
	assert_int_equal(authreg_set_password(ar, "held", "localhost", "x"), AUTHREG_ERROR);
	assert_false(authreg_can_register(ar));
	assert_false(authreg_has_secrets(ar));
	assert_false(authreg_stores_plaintext(ar));
	authreg_free(&ar);
	config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_anon_holds_names),
		cmocka_unit_test(test_anon_refuses_passwords),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
