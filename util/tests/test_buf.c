/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for util/buf.c: the allocation wrappers and the growable byte
 * buffer that serializers and socket writers append to.
 */
#include "config.h"
#include "util/buf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_zeroed_is_empty(void **state)
{
	struct buf b = { 0 };
	char *s;
	size_t len = 99;

	(void)state;
	s = buf_steal(&b, &len);
	assert_non_null(s);
	assert_string_equal(s, "");
	assert_int_equal(len, 0);
	assert_null(b.data);
	free(s);
}

static void test_append_grows_and_terminates(void **state)
{
	struct buf b;
	size_t i;

	(void)state;
	buf_init(&b);
	/* Byte by byte across several growth steps; always a C string. */
	for (i = 0; i < 5000; i++) {
		buf_append_char(&b, (char)('a' + i % 26));
		assert_int_equal(b.len, i + 1);
		assert_int_equal(b.data[b.len], '\0');
		assert_true(b.size > b.len);
	}
	for (i = 0; i < 5000; i++)
		assert_int_equal(b.data[i], 'a' + i % 26);
	buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.size, 0);
}

static void test_append_binary(void **state)
{
	struct buf b = { 0 };
	static const char bin[] = { 'x', '\0', 'y', '\0' };

	(void)state;
	buf_append(&b, bin, sizeof(bin));
	buf_append(&b, NULL, 0);
	assert_int_equal(b.len, 4);
	assert_memory_equal(b.data, bin, 4);
	buf_free(&b);
}

static void test_printf(void **state)
{
	struct buf b = { 0 };
	char big[3000];

	(void)state;
	buf_append_str(&b, "n=");
	buf_printf(&b, "%d,%s", 42, "x");
	assert_string_equal(b.data, "n=42,x");
	assert_int_equal(b.len, 6);
	/* Longer than the first allocation: must retry, not truncate. */
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_printf(&b, "[%s]", big);
	assert_int_equal(b.len, 6 + 2 + sizeof(big) - 1);
	assert_int_equal(b.data[7], 'z');
	assert_int_equal(b.data[b.len - 1], ']');
	assert_int_equal(strlen(b.data), b.len);
	buf_free(&b);
}

static const struct {
	const char *in;
	int attr;
	const char *out;
} xml_cases[] = {
	{ "plain", 0, "plain" },
	{ "", 0, "" },
	{ "a<b>&c", 0, "a&lt;b&gt;&amp;c" },
	{ "it's \"q\"", 0, "it's \"q\"" },
	{ "it's \"q\"", 1, "it&apos;s &quot;q&quot;" },
	{ "&&", 1, "&amp;&amp;" },
	{ "\xc3\xa4<", 0, "\xc3\xa4&lt;" },
};

static void test_append_xml(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(xml_cases) / sizeof(xml_cases[0]); i++) {
		struct buf b = { 0 };

		buf_append_str(&b, "<");
		buf_append_xml(&b, xml_cases[i].in, strlen(xml_cases[i].in),
			       xml_cases[i].attr);
		assert_string_equal(b.data + 1, xml_cases[i].out);
		assert_int_equal(b.len, 1 + strlen(xml_cases[i].out));
		buf_free(&b);
	}
}

static void test_consume_reset(void **state)
{
	struct buf b = { 0 };

	(void)state;
	buf_append_str(&b, "hello world");
	buf_consume(&b, 6);
	assert_string_equal(b.data, "world");
	assert_int_equal(b.len, 5);
	buf_consume(&b, 0);
	assert_string_equal(b.data, "world");
	buf_consume(&b, 100);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	buf_append_str(&b, "again");
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	assert_true(b.size > 0);
	buf_free(&b);
}

static void test_steal(void **state)
{
	struct buf b = { 0 };
	size_t len;
	char *s;

	(void)state;
	buf_append_str(&b, "owned");
	s = buf_steal(&b, &len);
	assert_string_equal(s, "owned");
	assert_int_equal(len, 5);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	/* The emptied buffer is reusable. */
	buf_append_str(&b, "x");
	assert_string_equal(b.data, "x");
	buf_free(&b);
	free(s);
}

static void test_wrappers(void **state)
{
	char *s;
	int *v;

	(void)state;
	s = xstrdup("abc");
	assert_string_equal(s, "abc");
	free(s);
	s = xstrndup("abcdef", 3);
	assert_string_equal(s, "abc");
	free(s);
	s = xstrndup("ab", 10);
	assert_string_equal(s, "ab");
	free(s);
	assert_null(xstrdup_opt(NULL));
	s = xstrdup_opt("opt");
	assert_string_equal(s, "opt");
	free(s);
	s = xasprintf("%s-%u", "id", 7u);
	assert_string_equal(s, "id-7");
	free(s);
	v = xcalloc(4, sizeof(*v));
	assert_int_equal(v[0] | v[1] | v[2] | v[3], 0);
	v = xrealloc(v, 8 * sizeof(*v));
	assert_int_equal(v[3], 0);
	free(v);
	/* Zero-size requests still give a freeable, non-NULL pointer. */
	s = xmalloc(0);
	assert_non_null(s);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zeroed_is_empty),
		cmocka_unit_test(test_append_grows_and_terminates),
		cmocka_unit_test(test_append_binary),
		cmocka_unit_test(test_printf),
		cmocka_unit_test(test_append_xml),
		cmocka_unit_test(test_consume_reset),
		cmocka_unit_test(test_steal),
		cmocka_unit_test(test_wrappers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
