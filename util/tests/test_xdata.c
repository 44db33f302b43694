/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_xdata: the XEP-0004 form pieces muc and pubsub share: a field's
 * first value, a field looked up by var within a bound, the form type,
 * booleans, and forms built back into what a client reads.
 */
#include "config.h"
#include "util/xdata.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/nad.h"

static void test_read(void **state)
{
	static const char xml[] =
		"<x xmlns='jabber:x:data' type='submit'>"
		"<field var='a'><value>1</value><value>2</value></field>"
		"<field var='empty'/>"
		"<field var='late'><value>z</value></field></x>";
	const char *error;
	struct nad *nad = nad_parse(xml, sizeof(xml) - 1, 0, &error, NULL);
	int out = -1;

	(void)state;
	assert_non_null(nad);
	assert_true(xdata_is_type(nad, 0, "submit"));
	assert_false(xdata_is_type(nad, 0, "cancel"));
	assert_string_equal(xdata_value(nad, 0, "a", 64), "1");
	assert_string_equal(xdata_value(nad, 0, "empty", 64), "");
	assert_null(xdata_value(nad, 0, "none", 64));
	/* only the first max_fields are looked at */
	assert_null(xdata_value(nad, 0, "late", 2));
	assert_string_equal(xdata_value(nad, 0, "late", 3), "z");
	assert_int_equal(xdata_parse_bool("true", &out), 0);
	assert_int_equal(out, 1);
	assert_int_equal(xdata_parse_bool("0", &out), 0);
	assert_int_equal(out, 0);
	assert_int_equal(xdata_parse_bool("yes", &out), -1);
	nad_free(&nad);
}

static void test_build(void **state)
{
	struct nad *nad = nad_new();
	int x, f;
	char *s;

	(void)state;
	nad_elem_add(nad, NAD_NONE, "urn:test", "q");
	x = xdata_form_new(nad, 0, "form", "urn:test:form");
	f = xdata_add_field(nad, x, "color", "list-single", "Color");
	xdata_add_value(nad, f, "red");
	xdata_add_option(nad, f, "Red", "red");
	assert_string_equal(xdata_value(nad, x, "FORM_TYPE", 64), "urn:test:form");
	assert_string_equal(xdata_value(nad, x, "color", 64), "red");
	s = nad_to_string(nad, NULL);
	assert_non_null(strstr(s, "<field var='color' type='list-single' label='Color'>"
			       "<value>red</value><option label='Red'><value>red</value>"
			       "</option></field>"));
	free(s);
	nad_free(&nad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read),
		cmocka_unit_test(test_build),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
