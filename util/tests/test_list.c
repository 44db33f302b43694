/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for util/list.h: order of insertion at both ends, removal
 * while walking, and double removal being harmless.
 */
#include "config.h"
#include "util/list.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "util/buf.h"

struct item {
	int v;
	struct list_node link;
};

/* The values in list order, as a string of digits. */
static char *order(const struct list_node *head)
{
	struct buf b = { 0 };
	const struct list_node *n;

	buf_append(&b, "", 0);
	for (n = list_first(head); n != NULL; n = list_next(head, n))
		buf_printf(&b, "%d", LIST_ENTRY(n, struct item, link)->v);
	return buf_steal(&b, NULL);
}

static void assert_order(const struct list_node *head, const char *want)
{
	char *got = order(head);

	assert_string_equal(got, want);
	free(got);
}

static void test_order(void **state)
{
	struct item it[5];
	struct list_node head;
	int i;

	(void)state;
	list_init(&head);
	assert_true(list_empty(&head));
	assert_null(list_first(&head));
	for (i = 0; i < 5; i++) {
		it[i].v = i;
		list_init(&it[i].link);
		assert_false(list_linked(&it[i].link));
	}
	list_add_tail(&head, &it[1].link);
	list_add_tail(&head, &it[2].link);
	list_add_head(&head, &it[0].link);
	list_add_tail(&head, &it[3].link);
	assert_order(&head, "0123");
	assert_true(list_linked(&it[2].link));
	list_remove(&it[2].link);
	assert_false(list_linked(&it[2].link));
	list_remove(&it[2].link);
	assert_order(&head, "013");
	list_remove(&it[0].link);
	list_remove(&it[3].link);
	assert_order(&head, "1");
	list_remove(&it[1].link);
	assert_true(list_empty(&head));
}

static void test_foreach_safe(void **state)
{
	struct list_node head;
	struct item *p, *tmp;
	int i, n = 0;

	(void)state;
	list_init(&head);
	for (i = 0; i < 10; i++) {
		p = xmalloc(sizeof(*p));
		p->v = i;
		list_add_tail(&head, &p->link);
	}
	/* Free the odd ones while walking. */
	LIST_FOREACH_SAFE(p, tmp, &head, struct item, link) {
		n++;
		if (p->v % 2) {
			list_remove(&p->link);
			free(p);
		}
	}
	assert_int_equal(n, 10);
	assert_order(&head, "02468");
	n = 0;
	LIST_FOREACH(p, &head, struct item, link)
		n += p->v;
	assert_int_equal(n, 20);
	LIST_FOREACH_SAFE(p, tmp, &head, struct item, link) {
		list_remove(&p->link);
		free(p);
	}
	assert_true(list_empty(&head));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_foreach_safe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
