/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for router/users.c (router-users.xml): names and secrets are
 * read whatever the root element is called, entries without a name or a
 * secret are skipped instead of hanging the load (jabberd2 2.7's quirk),
 * and unreadable or malformed files are errors.
 */
#include "config.h"
#include "router/router.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/xhash.h"

static char dir[] = "/tmp/router-users-XXXXXX";

static const char *write_file(const char *text)
{
	static char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/router-users.xml", dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	return path;
}

static void test_load(void **state)
{
	const char *error = NULL;
	struct xhash *users;

	(void)state;
	users = routerd_users_load(write_file(
		"<anything><user><name>sm</name><secret>s1</secret></user>"
		"<user><name>c2s</name><secret>with space</secret></user>"
		"<user><name>nosecret</name></user>"
		"<user><secret>noname</secret></user>"
		"<user><name>sm</name><secret>s2</secret></user></anything>"), &error);
	assert_non_null(users);
	assert_int_equal(xhash_count(users), 2);
	/* A repeated name: the last entry wins. */
	assert_string_equal(xhash_get(users, "sm"), "s2");
	assert_string_equal(xhash_get(users, "c2s"), "with space");
	assert_null(xhash_get(users, "nosecret"));
	xhash_clear(users, free);
	xhash_free(&users);
}

static void test_errors(void **state)
{
	const char *error = NULL;
	char path[300];

	(void)state;
	assert_null(routerd_users_load(write_file("<users><user>"), &error));
	assert_non_null(error);
	snprintf(path, sizeof(path), "%s/missing.xml", dir);
	error = NULL;
	assert_null(routerd_users_load(path, &error));
	assert_non_null(strstr(error, "missing.xml"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_errors),
	};
	int rc;

	if (mkdtemp(dir) == NULL)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	{
		char path[300];

		snprintf(path, sizeof(path), "%s/router-users.xml", dir);
		unlink(path);
		rmdir(dir);
	}
	return rc;
}
