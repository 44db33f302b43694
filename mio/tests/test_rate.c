/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for mio/mio_rate.c, the per-address connect counter behind
 * io.limits.connects, driven with a fake clock: which connects an address
 * gets, when its throttle ends, and that the table forgets old addresses.
 */
#include "config.h"
#include "mio/mio_private.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

static struct mio_addr addr4(const char *ip)
{
	struct mio_addr a;

	memset(&a, 0, sizeof(a));
	a.family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, ip, a.bytes), 1);
	return a;
}

static struct mio_addr addr6(const char *ip)
{
	struct mio_addr a;

	memset(&a, 0, sizeof(a));
	a.family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, ip, a.bytes), 1);
	return a;
}

/* One connect attempt in a scripted sequence. */
struct step {
	uint64_t at_ms;
	int allowed;
	int throttle_starts;
};

static void run_steps(const struct mio_rate *limit, const struct step *steps,
		      size_t n)
{
	struct mio_rate_table t;
	struct mio_addr a = addr4("192.0.2.10");
	size_t i;
	int started, ok;

	mio_rate_table_init(&t, limit);
	for (i = 0; i < n; i++) {
		ok = mio_rate_table_hit(&t, &a, steps[i].at_ms, &started);
		if (ok != steps[i].allowed || started != steps[i].throttle_starts)
			fail_msg("step %zu at %llu ms: allowed %d (want %d), throttle start %d (want %d)",
				 i, (unsigned long long)steps[i].at_ms, ok,
				 steps[i].allowed, started, steps[i].throttle_starts);
	}
	mio_rate_table_clear(&t);
}

/* Three per second: the fourth is refused and starts the throttle, which
 * refuses everything until it ends; then a fresh window. */
static void test_limit_and_throttle(void **state)
{
	static const struct mio_rate limit = { 3, 1000, 500 };
	static const struct step steps[] = {
		{ 1000, 1, 0 }, { 1001, 1, 0 }, { 1002, 1, 0 },
		{ 1003, 0, 1 },
		{ 1100, 0, 0 }, { 1502, 0, 0 },
		{ 1503, 1, 0 }, { 1504, 1, 0 }, { 1505, 1, 0 },
		{ 1506, 0, 1 },
	};

	run_steps(&limit, steps, sizeof(steps) / sizeof(steps[0]));
}

/* Connects spread over windows never trip the limit. */
static void test_window_expiry(void **state)
{
	static const struct mio_rate limit = { 2, 1000, 5000 };
	static const struct step steps[] = {
		{ 1000, 1, 0 }, { 1500, 1, 0 },
		{ 2000, 1, 0 }, { 2999, 1, 0 },
		{ 3000, 1, 0 }, { 3001, 1, 0 }, { 3002, 0, 1 },
		{ 7999, 0, 0 }, { 8002, 1, 0 },
	};

	run_steps(&limit, steps, sizeof(steps) / sizeof(steps[0]));
}

static void test_off(void **state)
{
	static const struct mio_rate off = { 0, 1000, 1000 };
	struct mio_rate_table t;
	struct mio_addr a = addr4("192.0.2.1");
	int i, started;

	mio_rate_table_init(&t, &off);
	for (i = 0; i < 1000; i++)
		assert_int_equal(mio_rate_table_hit(&t, &a, 5, &started), 1);
	assert_int_equal(t.count, 0);
	mio_rate_table_clear(&t);
}

/* Addresses are counted apart, IPv4 and IPv6 included. */
static void test_addresses_independent(void **state)
{
	static const struct mio_rate limit = { 1, 1000, 1000 };
	struct mio_rate_table t;
	struct mio_addr a = addr4("192.0.2.1"), b = addr4("192.0.2.2");
	struct mio_addr c = addr6("2001:db8::1"), d = addr6("2001:db8::2");
	int started;

	mio_rate_table_init(&t, &limit);
	assert_int_equal(mio_rate_table_hit(&t, &a, 10, &started), 1);
	assert_int_equal(mio_rate_table_hit(&t, &a, 11, &started), 0);
	assert_int_equal(started, 1);
	assert_int_equal(mio_rate_table_hit(&t, &b, 12, &started), 1);
	assert_int_equal(mio_rate_table_hit(&t, &c, 13, &started), 1);
	assert_int_equal(mio_rate_table_hit(&t, &d, 14, &started), 1);
	assert_int_equal(mio_rate_table_hit(&t, &c, 15, &started), 0);
	assert_int_equal(mio_rate_table_hit(&t, &a, 16, &started), 0);
	assert_int_equal(started, 0);
	mio_rate_table_clear(&t);
}

/* A scan from many addresses must not leave the table growing: entries
 * whose window and throttle are over are swept. */
static void test_sweep(void **state)
{
	static const struct mio_rate limit = { 5, 100, 5000 };
	struct mio_rate_table t;
	struct mio_addr a;
	uint32_t i, be;
	int started;

	mio_rate_table_init(&t, &limit);
	memset(&a, 0, sizeof(a));
	a.family = AF_INET;
	for (i = 0; i < 20000; i++) {
		be = htonl(0x0a000000u + i);
		memcpy(a.bytes, &be, 4);
		assert_int_equal(mio_rate_table_hit(&t, &a, 1000, &started), 1);
	}
	assert_int_equal(t.count, 20000);
	/* Throttled from 5000 to 10000. */
	a = addr4("192.0.2.99");
	for (i = 0; i < 6; i++)
		mio_rate_table_hit(&t, &a, 5000, &started);
	assert_int_equal(started, 1);
	/* The sweep at 6500 keeps only the throttled address (+ the new). */
	a = addr4("192.0.2.1");
	assert_int_equal(mio_rate_table_hit(&t, &a, 6500, &started), 1);
	assert_int_equal(t.count, 2);
	a = addr4("192.0.2.99");
	assert_int_equal(mio_rate_table_hit(&t, &a, 9999, &started), 0);
	/* The next sweep, after the throttle, forgets it. */
	a = addr4("192.0.2.2");
	assert_int_equal(mio_rate_table_hit(&t, &a, 12600, &started), 1);
	assert_int_equal(t.count, 1);
	mio_rate_table_clear(&t);
	assert_int_equal(t.count, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limit_and_throttle),
		cmocka_unit_test(test_window_expiry),
		cmocka_unit_test(test_off),
		cmocka_unit_test(test_addresses_independent),
		cmocka_unit_test(test_sweep),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
