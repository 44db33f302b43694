/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for object sets (storage/os.c): typed fields, order, and the
 * lazy parse of stored "NAD<xml>" text that modules rely on.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "storage/storage.h"
#include "util/nad.h"

static void test_order_and_count(void **state)
{
	struct os *os = os_new();
	struct os_object *o;
	int64_t v;
	int n = 0;

	assert_int_equal((int)os_count(os), 0);
	assert_null(os_first(os));
	for (int i = 0; i < 5; i++)
		os_object_put_int(os_object_new(os), "i", i * 10);
	assert_int_equal((int)os_count(os), 5);
	for (o = os_first(os); o != NULL; o = os_next(o), n++) {
		assert_int_equal(os_object_get_int(o, "i", &v), 0);
		assert_true(v == n * 10);
	}
	assert_int_equal(n, 5);
	os_free(&os);
	assert_null(os);
	os_free(&os); /* NULL is fine */
}

static void test_typed_fields(void **state)
{
	struct os *os = os_new();
	struct os_object *o = os_object_new(os);
	const char *s;
	int64_t i;
	int b;
	enum os_type t;

	os_object_put_bool(o, "to", 5);
	os_object_put_int(o, "time", INT64_C(1) << 40);
	os_object_put_str(o, "jid", "bob@example.org");
	os_object_put_int(o, "neg", -3);

	assert_int_equal(os_object_get_bool(o, "to", &b), 0);
	assert_int_equal(b, 1); /* normalised to 0/1 */
	assert_int_equal(os_object_get_int(o, "to", &i), 0);
	assert_true(i == 1);
	assert_int_equal(os_object_get_int(o, "time", &i), 0);
	assert_true(i == INT64_C(1) << 40);
	assert_int_equal(os_object_get_bool(o, "neg", &b), 0);
	assert_int_equal(b, 1);
	assert_int_equal(os_object_get_str(o, "jid", &s), 0);
	assert_string_equal(s, "bob@example.org");

	/* Wrong type or absent: -1, never a garbage value. */
	assert_int_equal(os_object_get_str(o, "time", &s), -1);
	assert_int_equal(os_object_get_int(o, "jid", &i), -1);
	assert_int_equal(os_object_get_bool(o, "missing", &b), -1);

	/* Insertion order, types visible to drivers. */
	assert_int_equal((int)os_object_nfields(o), 4);
	assert_string_equal(os_object_field(o, 0, &t), "to");
	assert_int_equal(t, OS_TYPE_BOOLEAN);
	assert_string_equal(os_object_field(o, 2, &t), "jid");
	assert_int_equal(t, OS_TYPE_STRING);
	assert_null(os_object_field(o, 4, &t));
	os_free(&os);
}

/* Putting a key again replaces its value and type, keeping one field. */
static void test_replace_field(void **state)
{
	struct os *os = os_new();
	struct os_object *o = os_object_new(os);
	const char *s;
	int64_t i;

	os_object_put_str(o, "name", "first");
	os_object_put_str(o, "name", "second");
	assert_int_equal(os_object_get_str(o, "name", &s), 0);
	assert_string_equal(s, "second");
	os_object_put_int(o, "name", 9);
	assert_int_equal(os_object_get_str(o, "name", &s), -1);
	assert_int_equal(os_object_get_int(o, "name", &i), 0);
	assert_true(i == 9);
	assert_int_equal((int)os_object_nfields(o), 1);

	/* A NULL string removes the field; the others keep their order. */
	os_object_put_str(o, "a", "1");
	os_object_put_str(o, "b", "2");
	os_object_put_str(o, "a", NULL);
	os_object_put_str(o, "missing", NULL);
	assert_int_equal((int)os_object_nfields(o), 2);
	assert_string_equal(os_object_field(o, 0, NULL), "name");
	assert_string_equal(os_object_field(o, 1, NULL), "b");
	assert_int_equal(os_object_get_str(o, "a", &s), -1);
	os_free(&os);
}

static void test_nad_fields(void **state)
{
	static const char xml[] = "<message xmlns='jabber:client' to='a@b'><body>hi &amp; "
				  "bye</body></message>";
	const char *error;
	struct nad *nad = nad_parse(xml, strlen(xml), 0, &error, NULL);
	struct os *os = os_new();
	struct os_object *o = os_object_new(os);
	const struct nad *got;
	char *a, *b;
	const char *s;

	assert_non_null(nad);
	/* put_nad copies: freeing the caller's nad leaves the field intact. */
	os_object_put_nad(o, "xml", nad);
	a = nad_to_string(nad, NULL);
	nad_free(&nad);
	assert_int_equal(os_object_get_nad(o, "xml", &got), 0);
	b = nad_to_string(got, NULL);
	assert_string_equal(a, b);
	free(b);
	assert_int_equal(os_object_get_str(o, "xml", &s), -1);

	/* As read back from the database: "NAD" + XML text, parsed on demand
	 * and still readable as the raw string. */
	char *stored = malloc(strlen(a) + 4);
	strcpy(stored, "NAD");
	strcat(stored, a);
	os_object_put_str(o, "db", stored);
	assert_int_equal(os_object_get_nad(o, "db", &got), 0);
	b = nad_to_string(got, NULL);
	assert_string_equal(a, b);
	assert_string_equal(nad_attr(got, nad_root(got), NULL, "to"), "a@b");
	free(b);
	assert_int_equal(os_object_get_str(o, "db", &s), 0);
	assert_string_equal(s, stored);

	/* Not XML: no marker, or marker with broken XML. */
	os_object_put_str(o, "plain", "<message/>");
	assert_int_equal(os_object_get_nad(o, "plain", &got), -1);
	os_object_put_str(o, "broken", "NAD<message>");
	assert_int_equal(os_object_get_nad(o, "broken", &got), -1);
	os_object_put_str(o, "short", "NA");
	assert_int_equal(os_object_get_nad(o, "short", &got), -1);
	os_object_put_int(o, "num", 1);
	assert_int_equal(os_object_get_nad(o, "num", &got), -1);

	free(stored);
	free(a);
	os_free(&os);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_count),
		cmocka_unit_test(test_typed_fields),
		cmocka_unit_test(test_replace_field),
		cmocka_unit_test(test_nad_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
