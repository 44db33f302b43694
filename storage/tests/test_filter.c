/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for the storage filter parser (storage/filter.c): what SQL and
 * parameters a filter turns into, which filters are refused, and that every
 * truncation of a valid filter is refused rather than half-read.
 */
#include "config.h"

#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "storage/storage.h"
#include "storage/storage_private.h"
#include "util/buf.h"

/* The filter's SQL condition and its parameters rendered as text, one per
 * line ("s:<value>" or "i:<n>"), so a table can state both. */
static void render(const char *filter, char **sql_r, char **params_r)
{
	struct storage_filter *f;
	const struct storage_filter *pairs[STORAGE_FILTER_MAX_NODES];
	struct buf sql = { 0 }, params = { 0 };
	const char *error = NULL;
	int param_no = 0;
	size_t n;

	assert_int_equal(storage_filter_parse(filter, strlen(filter), &f, &error), 0);
	storage_filter_sql(f, STORAGE_PARAM_QMARK, &param_no, &sql);
	n = storage_filter_pairs(f, pairs, STORAGE_FILTER_MAX_NODES);
	assert_int_equal((int)n, param_no);
	for (size_t i = 0; i < n; i++) {
		if (pairs[i]->is_int)
			buf_printf(&params, "i:%" PRId64 "\n", pairs[i]->ival);
		else
			buf_printf(&params, "s:%s\n", pairs[i]->value);
	}
	storage_filter_free(&f);
	assert_null(f);
	*sql_r = buf_steal(&sql, NULL);
	*params_r = buf_steal(&params, NULL);
}

static const struct {
	const char *filter;
	const char *sql;
	const char *params;
} valid[] = {
	{ "(jid=19:bob@far.example.org)", "(\"jid\" = ?)", "s:bob@far.example.org\n" },
	{ "(&(jid=19:bob@far.example.org)(group=4:Work))",
	  "((\"jid\" = ?) AND (\"group\" = ?))", "s:bob@far.example.org\ns:Work\n" },
	{ "(|(list=1:a)(list=1:b)(list=1:c))",
	  "((\"list\" = ?) OR (\"list\" = ?) OR (\"list\" = ?))", "s:a\ns:b\ns:c\n" },
	{ "(!(deny=1))", "(NOT (\"deny\" = ?))", "i:1\n" },
	{ "(time=-42)", "(\"time\" = ?)", "i:-42\n" },
	{ "(order=0)", "(\"order\" = ?)", "i:0\n" },
	{ "(x=9223372036854775807)", "(\"x\" = ?)", "i:9223372036854775807\n" },
	{ "(x=-9223372036854775808)", "(\"x\" = ?)", "i:-9223372036854775808\n" },
	/* Length prefixes make these characters plain data. */
	{ "(jid=9:a)(b=c)(d)", "(\"jid\" = ?)", "s:a)(b=c)(d\n" },
	{ "(&(!(name=3:)()))(ns=5:x=y:z))",
	  "((NOT (\"name\" = ?)) AND (\"ns\" = ?))", "s:)()\ns:x=y:z\n" },
	{ "(group=0:)", "(\"group\" = ?)", "s:\n" },
	/* UTF-8: the prefix counts bytes. "Grüße" is 7 bytes. */
	{ "(group=7:Gr\xc3\xbc\xc3\x9f" "e)", "(\"group\" = ?)", "s:Gr\xc3\xbc\xc3\x9f" "e\n" },
	{ "(jid=11:\xe5\x8c\x97\xe4\xba\xac@x.cn)", "(\"jid\" = ?)",
	  "s:\xe5\x8c\x97\xe4\xba\xac@x.cn\n" },
	/* A value that looks like SQL is still only a value. */
	{ "(jid=12:' OR 1=1 --\")", "(\"jid\" = ?)", "s:' OR 1=1 --\"\n" },
	{ "(last-login=5)", "(\"last-login\" = ?)", "i:5\n" },
	{ "(a_b9=2:12)", "(\"a_b9\" = ?)", "s:12\n" },
	{ "(&(|(a=1)(b=2))(!(&(c=1:x)(d=3))))",
	  "(((\"a\" = ?) OR (\"b\" = ?)) AND (NOT ((\"c\" = ?) AND (\"d\" = ?))))",
	  "i:1\ni:2\ns:x\ni:3\n" },
};

static void test_valid_filters(void **state)
{
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		char *sql, *params;

		render(valid[i].filter, &sql, &params);
		if (strcmp(sql, valid[i].sql) != 0 || strcmp(params, valid[i].params) != 0)
			fail_msg("filter %s: got %s / %s", valid[i].filter, sql, params);
		free(sql);
		free(params);
	}
}

static const char *const malformed[] = {
	"",
	"(",
	")",
	"()",
	"jid=3:bob",
	"(jid=3:bob",
	"(jid=3:bob))",
	"(jid=3:bo)",          /* length says 3, only "bo" before ')' */
	"(jid=4:bob)",         /* prefix runs past the end */
	"(jid=bob)",           /* unprefixed non-number */
	"(jid=)",
	"(=3:bob)",
	"(1jid=3:bob)",
	"(j id=3:bob)",
	"(j\"id=3:bob)",
	"(jid 3:bob)",
	"(jid=-3:bob)",
	"(jid=1e3)",
	"(jid=12a)",
	"(x=9223372036854775808)",
	"(x=-9223372036854775809)",
	"(x=99999999999999999999999)",
	"(jid=9999999999:a)",
	"(&)",
	"(|)",
	"(!)",
	"(!(a=1)(b=2))",
	"(&(a=1)b=2)",
	"(&(a=1)(b=2)",
	"(&(a=1)(b=2)))",
	"(^(a=1))",
	" (a=1)",
	"(a=1) ",
	"(a=1)(b=2)",
	"(&(a=1) (b=2))",
	"(&&(a=1))",
	"(a=1:x)trailing",
};

static void test_malformed_filters(void **state)
{
	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		struct storage_filter *f = (void *)1;
		const char *error = NULL;

		if (storage_filter_parse(malformed[i], strlen(malformed[i]), &f, &error) == 0)
			fail_msg("accepted malformed filter '%s'", malformed[i]);
		assert_null(f);
		assert_non_null(error);
		assert_int_equal(storage_filter_check(malformed[i], &error), -1);
	}
}

/* A NUL inside a prefixed value is refused: stored strings are C strings. */
static void test_nul_in_value(void **state)
{
	static const char text[] = "(jid=3:a\0b)";
	struct storage_filter *f;
	const char *error;

	assert_int_equal(storage_filter_parse(text, sizeof(text) - 1, &f, &error), -1);
	assert_null(f);
}

/* Every proper prefix of a valid filter is incomplete and must be refused;
 * the parser gets an exact-size heap copy so ASan sees any overread. */
static void test_truncated_at_every_byte(void **state)
{
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		size_t len = strlen(valid[i].filter);

		for (size_t cut = 0; cut < len; cut++) {
			char *copy = xmalloc(cut ? cut : 1);
			struct storage_filter *f;
			const char *error;

			memcpy(copy, valid[i].filter, cut);
			if (storage_filter_parse(copy, cut, &f, &error) == 0)
				fail_msg("accepted '%.*s', a truncation of %s", (int)cut, copy,
					 valid[i].filter);
			free(copy);
		}
	}
}

static void test_depth_limit(void **state)
{
	struct buf b = { 0 };
	struct storage_filter *f;
	const char *error;
	unsigned depth;

	/* STORAGE_FILTER_MAX_DEPTH - 1 nested NOTs around one pair is fine,
	 * one more is refused. */
	for (int extra = 0; extra < 2; extra++) {
		depth = STORAGE_FILTER_MAX_DEPTH - 1 + (unsigned)extra;
		buf_reset(&b);
		for (unsigned i = 0; i < depth; i++)
			buf_append_str(&b, "(!");
		buf_append_str(&b, "(a=1)");
		for (unsigned i = 0; i < depth; i++)
			buf_append_char(&b, ')');
		assert_int_equal(storage_filter_parse(b.data, b.len, &f, &error),
				 extra ? -1 : 0);
		storage_filter_free(&f);
	}
	/* Deep enough to overflow a naive recursive parser's stack. */
	buf_reset(&b);
	for (int i = 0; i < 200000; i++)
		buf_append_str(&b, "(&");
	assert_int_equal(storage_filter_parse(b.data, b.len, &f, &error), -1);
	assert_string_equal(error, "filter nested too deeply");
	buf_free(&b);
}

static void test_node_limit(void **state)
{
	struct buf b = { 0 };
	struct storage_filter *f;
	const char *error;

	for (int over = 0; over < 2; over++) {
		/* One OR node plus its children. */
		int children = STORAGE_FILTER_MAX_NODES - 1 + over;

		buf_reset(&b);
		buf_append_str(&b, "(|");
		for (int i = 0; i < children; i++)
			buf_printf(&b, "(a=%d)", i);
		buf_append_char(&b, ')');
		assert_int_equal(storage_filter_parse(b.data, b.len, &f, &error), over ? -1 : 0);
		if (!over)
			assert_int_equal((int)storage_filter_pairs(f, NULL, 0), children);
		storage_filter_free(&f);
	}
	buf_free(&b);
}

/* What the builders make parses back to the same key and value, whatever
 * the value holds. */
static void test_builders(void **state)
{
	static const char *const values[] = {
		"", "bob@example.org/res)(x", "a=b", "(&(x=1))", "\xe2\x82\xac uro",
		"'; DROP TABLE \"queue\"; --",
	};
	const struct storage_filter *pairs[4];
	struct storage_filter *f;
	const char *error;

	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		char *t = storage_filter_str("jid", values[i]);

		assert_int_equal(storage_filter_parse(t, strlen(t), &f, &error), 0);
		assert_int_equal(f->op, STORAGE_FILTER_PAIR);
		assert_string_equal(f->key, "jid");
		assert_string_equal(f->value, values[i]);
		storage_filter_free(&f);
		free(t);
	}

	char *a = storage_filter_str("jid", "x)");
	char *b = storage_filter_int("order", -7);
	const char *terms[] = { a, b };
	char *both = storage_filter_and(2, terms);
	char *one = storage_filter_and(1, terms);

	assert_string_equal(both, "(&(jid=2:x))(order=-7))");
	assert_string_equal(one, a);
	assert_int_equal(storage_filter_parse(both, strlen(both), &f, &error), 0);
	assert_int_equal((int)storage_filter_pairs(f, pairs, 4), 2);
	assert_string_equal(pairs[0]->value, "x)");
	assert_true(pairs[1]->is_int);
	assert_true(pairs[1]->ival == -7);
	storage_filter_free(&f);
	free(a);
	free(b);
	free(both);
	free(one);
}

/* libpq numbers parameters; the owner is $1, so the filter starts at $2. */
static void test_dollar_params(void **state)
{
	struct storage_filter *f;
	struct buf sql = { 0 };
	const char *error;
	const char *text = "(&(a=1)(|(b=1:x)(c=2)))";
	int param_no = 1;

	assert_int_equal(storage_filter_parse(text, strlen(text), &f, &error), 0);
	storage_filter_sql(f, STORAGE_PARAM_DOLLAR, &param_no, &sql);
	assert_string_equal(sql.data, "((\"a\" = $2) AND ((\"b\" = $3) OR (\"c\" = $4)))");
	assert_int_equal(param_no, 4);
	storage_filter_free(&f);
	buf_free(&sql);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_filters),
		cmocka_unit_test(test_malformed_filters),
		cmocka_unit_test(test_nul_in_value),
		cmocka_unit_test(test_truncated_at_every_byte),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_node_limit),
		cmocka_unit_test(test_builders),
		cmocka_unit_test(test_dollar_params),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
