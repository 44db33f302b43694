/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for util/xhash.c: put/get/remove, key copying, growth with
 * many keys, and iteration that removes entries as it goes.
 */
#include "config.h"
#include "util/xhash.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/buf.h"

static int vals[5000];

static void test_basic(void **state)
{
	struct xhash *h = xhash_new();
	char key[16];
	int a = 1, b = 2;

	(void)state;
	assert_null(xhash_get(h, "x"));
	assert_null(xhash_put(h, "x", &a));
	assert_ptr_equal(xhash_get(h, "x"), &a);
	assert_int_equal(xhash_count(h), 1);
	/* Replacing returns the old value and does not add an entry. */
	assert_ptr_equal(xhash_put(h, "x", &b), &a);
	assert_ptr_equal(xhash_get(h, "x"), &b);
	assert_int_equal(xhash_count(h), 1);
	/* Keys are copied: the caller's buffer can change. */
	strcpy(key, "user@host");
	xhash_put(h, key, &a);
	strcpy(key, "other");
	assert_ptr_equal(xhash_get(h, "user@host"), &a);
	assert_null(xhash_get(h, "other"));
	/* Length-delimited keys, including an empty one and embedded NUL. */
	xhash_putn(h, "abc", 2, &b);
	assert_ptr_equal(xhash_get(h, "ab"), &b);
	assert_null(xhash_get(h, "abc"));
	xhash_putn(h, "", 0, &a);
	assert_ptr_equal(xhash_get(h, ""), &a);
	xhash_putn(h, "a\0b", 3, &b);
	assert_ptr_equal(xhash_getn(h, "a\0b", 3), &b);
	assert_null(xhash_get(h, "a"));
	assert_int_equal(xhash_count(h), 5);

	assert_ptr_equal(xhash_remove(h, "x"), &b);
	assert_null(xhash_remove(h, "x"));
	assert_null(xhash_get(h, "x"));
	assert_ptr_equal(xhash_removen(h, "a\0b", 3), &b);
	assert_int_equal(xhash_count(h), 3);
	xhash_free(&h);
	assert_null(h);
	xhash_free(&h);
}

static void test_many(void **state)
{
	struct xhash *h = xhash_new();
	char key[32];
	int i;

	(void)state;
	for (i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "jid%d@example.com", i);
		vals[i] = i;
		assert_null(xhash_put(h, key, &vals[i]));
	}
	assert_int_equal(xhash_count(h), 5000);
	for (i = 0; i < 5000; i++) {
		int *v;

		snprintf(key, sizeof(key), "jid%d@example.com", i);
		v = xhash_get(h, key);
		assert_non_null(v);
		assert_int_equal(*v, i);
	}
	for (i = 0; i < 5000; i += 2) {
		snprintf(key, sizeof(key), "jid%d@example.com", i);
		assert_ptr_equal(xhash_remove(h, key), &vals[i]);
	}
	assert_int_equal(xhash_count(h), 2500);
	for (i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "jid%d@example.com", i);
		if (i % 2)
			assert_ptr_equal(xhash_get(h, key), &vals[i]);
		else
			assert_null(xhash_get(h, key));
	}
	xhash_free(&h);
}

/* Iterate and remove every third entry, via both removal routes; every
 * entry must be seen exactly once and the survivors must be intact. */
static void test_iter_remove(void **state)
{
	struct xhash *h = xhash_new();
	struct xhash_iter it;
	unsigned char seen[1000] = { 0 };
	const char *key;
	char buf[32];
	void *val;
	int i, n = 0, removed = 0;

	(void)state;
	for (i = 0; i < 1000; i++) {
		snprintf(buf, sizeof(buf), "k%d", i);
		vals[i] = i;
		xhash_put(h, buf, &vals[i]);
	}
	xhash_iter_init(h, &it);
	while (xhash_iter_next(&it, &key, &val)) {
		int v = *(int *)val;

		snprintf(buf, sizeof(buf), "k%d", v);
		assert_string_equal(key, buf);
		assert_int_equal(seen[v], 0);
		seen[v] = 1;
		n++;
		if (v % 3 == 0) {
			if (v % 2)
				assert_ptr_equal(xhash_iter_remove(&it), val);
			else
				assert_ptr_equal(xhash_remove(h, key), val);
			removed++;
		}
	}
	assert_int_equal(n, 1000);
	assert_int_equal(xhash_count(h), 1000 - removed);
	n = 0;
	xhash_iter_init(h, &it);
	while (xhash_iter_next(&it, NULL, &val)) {
		assert_true(*(int *)val % 3 != 0);
		n++;
	}
	assert_int_equal(n, 1000 - removed);
	xhash_free(&h);
}

static int freed;

static void count_free(void *val)
{
	freed++;
	free(val);
}

static void test_clear(void **state)
{
	struct xhash *h = xhash_new();
	struct xhash_iter it;
	char key[16];
	int i;

	(void)state;
	for (i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "%d", i);
		xhash_put(h, key, xstrdup(key));
	}
	xhash_clear(h, count_free);
	assert_int_equal(freed, 100);
	assert_int_equal(xhash_count(h), 0);
	xhash_iter_init(h, &it);
	assert_int_equal(xhash_iter_next(&it, NULL, NULL), 0);
	/* Still usable after clearing. */
	xhash_put(h, "again", &freed);
	assert_ptr_equal(xhash_get(h, "again"), &freed);
	xhash_free(&h);
}

static void test_empty_iter(void **state)
{
	struct xhash *h = xhash_new();
	struct xhash_iter it;

	(void)state;
	xhash_iter_init(h, &it);
	assert_int_equal(xhash_iter_next(&it, NULL, NULL), 0);
	assert_null(xhash_iter_remove(&it));
	xhash_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_iter_remove),
		cmocka_unit_test(test_clear),
		cmocka_unit_test(test_empty_iter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
