/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_smq: the XEP-0198 queue of unacknowledged stanzas: acks drop
 * exactly what they cover, in order, across the 2^32 wrap of the counter;
 * an h that acknowledges more than was sent, or goes back, is refused
 * without touching the queue; h attributes parse strictly; the byte count
 * follows what is queued.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "c2s/smq.h"
#include "util/nad.h"

/* A <message id='N'/>. */
static struct nad *msg(unsigned n)
{
	struct nad *nad = nad_new();
	char id[16];
	int e = nad_elem_add(nad, NAD_NONE, "jabber:client", "message");

	snprintf(id, sizeof(id), "%u", n);
	nad_attr_set(nad, e, NULL, "id", id);
	return nad;
}

static unsigned id_at(const struct c2s_smq *q, size_t i)
{
	const struct nad *nad = c2s_smq_at(q, i);

	assert_non_null(nad);
	return (unsigned)strtoul(nad_attr(nad, 0, NULL, "id"), NULL, 10);
}

static void test_push_and_ack_in_order(void **state)
{
	struct c2s_smq q;

	(void)state;
	c2s_smq_init(&q);
	for (unsigned i = 1; i <= 20; i++)
		c2s_smq_push(&q, msg(i));
	assert_int_equal(q.sent, 20);
	assert_int_equal(q.len, 20);
	assert_int_equal(c2s_smq_acked(&q), 0);
	/* The same h twice: nothing more goes. */
	assert_int_equal(c2s_smq_ack(&q, 7), 7);
	assert_int_equal(c2s_smq_ack(&q, 7), 0);
	assert_int_equal(q.len, 13);
	assert_int_equal(id_at(&q, 0), 8);
	assert_int_equal(id_at(&q, 12), 20);
	assert_null(c2s_smq_at(&q, 13));
	/* The ring wraps inside its buffer while pushing and acking. */
	for (unsigned i = 21; i <= 40; i++) {
		c2s_smq_push(&q, msg(i));
		/* First from 7 to 11, then one at a time. */
		assert_int_equal(c2s_smq_ack(&q, i - 10), i == 21 ? 4 : 1);
	}
	assert_int_equal(c2s_smq_acked(&q), 30);
	for (size_t i = 0; i < q.len; i++)
		assert_int_equal(id_at(&q, i), 31 + i);
	assert_int_equal(c2s_smq_ack(&q, 40), 10);
	assert_int_equal(q.len, 0);
	assert_int_equal(q.bytes, 0);
	/* Emptied by acks: no buffer kept for an idle session. */
	assert_null(q.items);
	c2s_smq_push(&q, msg(41));
	assert_int_equal(id_at(&q, 0), 41);
	assert_int_equal(c2s_smq_acked(&q), 40);
	c2s_smq_free(&q);
}

static void test_ack_too_high_or_backwards(void **state)
{
	struct c2s_smq q;

	(void)state;
	c2s_smq_init(&q);
	for (unsigned i = 1; i <= 5; i++)
		c2s_smq_push(&q, msg(i));
	assert_int_equal(c2s_smq_ack(&q, 6), -1);
	assert_int_equal(q.len, 5);
	assert_int_equal(c2s_smq_ack(&q, 3), 3);
	/* Going back before an earlier ack is as wrong as going past. */
	assert_int_equal(c2s_smq_ack(&q, 2), -1);
	assert_int_equal(c2s_smq_ack(&q, UINT32_MAX), -1);
	assert_int_equal(q.len, 2);
	assert_int_equal(id_at(&q, 0), 4);
	c2s_smq_free(&q);
	assert_null(q.items);
}

static void test_counter_wraps(void **state)
{
	struct c2s_smq q;

	(void)state;
	c2s_smq_init(&q);
	/* As if 2^32 - 2 stanzas had been sent and acknowledged already. */
	q.sent = UINT32_MAX - 1;
	for (unsigned i = 1; i <= 5; i++)
		c2s_smq_push(&q, msg(i));
	assert_int_equal(q.sent, 3);
	assert_int_equal(c2s_smq_acked(&q), UINT32_MAX - 1);
	/* h = 2^32 - 1 covers the first; 1 (after the wrap) three in all. */
	assert_int_equal(c2s_smq_ack(&q, UINT32_MAX), 1);
	assert_int_equal(c2s_smq_ack(&q, 1), 2);
	assert_int_equal(id_at(&q, 0), 4);
	assert_int_equal(c2s_smq_ack(&q, 4), -1);
	assert_int_equal(c2s_smq_ack(&q, 3), 2);
	assert_int_equal(q.len, 0);
	c2s_smq_free(&q);
}

static void test_shift_and_bytes(void **state)
{
	struct c2s_smq q;
	struct nad *n;
	size_t one;

	(void)state;
	c2s_smq_init(&q);
	assert_null(c2s_smq_shift(&q));
	c2s_smq_push(&q, msg(1));
	one = q.bytes;
	assert_true(one > 0);
	c2s_smq_push(&q, msg(2));
	assert_int_equal(q.bytes, 2 * one);
	n = c2s_smq_shift(&q);
	assert_string_equal(nad_attr(n, 0, NULL, "id"), "1");
	nad_free(&n);
	assert_int_equal(q.bytes, one);
	/* Shifting hands stanzas back; it is not an acknowledgement. */
	assert_int_equal(q.sent, 2);
	c2s_smq_free(&q);
	assert_int_equal(q.len, 0);
}

static void test_parse_h(void **state)
{
	uint32_t h = 0;

	(void)state;
	assert_int_equal(c2s_smq_parse_h("0", &h), 0);
	assert_int_equal(h, 0);
	assert_int_equal(c2s_smq_parse_h("4294967295", &h), 0);
	assert_int_equal(h, UINT32_MAX);
	assert_int_equal(c2s_smq_parse_h("4294967296", &h), -1);
	assert_int_equal(c2s_smq_parse_h("99999999999999999999999", &h), -1);
	assert_int_equal(c2s_smq_parse_h("", &h), -1);
	assert_int_equal(c2s_smq_parse_h(NULL, &h), -1);
	assert_int_equal(c2s_smq_parse_h("-1", &h), -1);
	assert_int_equal(c2s_smq_parse_h("1 ", &h), -1);
	assert_int_equal(c2s_smq_parse_h("0x10", &h), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_push_and_ack_in_order),
		cmocka_unit_test(test_ack_too_high_or_backwards),
		cmocka_unit_test(test_counter_wraps),
		cmocka_unit_test(test_shift_and_bytes),
		cmocka_unit_test(test_parse_h),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
