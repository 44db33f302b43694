/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for util/hash.c: digests against published test vectors
 * (FIPS 180 examples, RFC 4231 for HMAC), the shape and spread of random
 * ids, and constant-time comparison results.
 */
#include "config.h"
#include "util/hash.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static const struct {
	const char *in, *sha1, *sha256;
} digests[] = {
	{ "", "da39a3ee5e6b4b0d3255bfef95601890afd80709",
	  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
	{ "abc", "a9993e364706816aba3e25717850c26c9cd0d89d",
	  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
	{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	  "84983e441c3bd26ebaae4aa1f95129e5e54670f1",
	  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
};

static void test_digests(void **state)
{
	char hex1[HASH_SHA1_HEX_SIZE], hex256[HASH_SHA256_HEX_SIZE];
	unsigned char raw[HASH_SHA256_LEN];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(digests) / sizeof(digests[0]); i++) {
		const char *in = digests[i].in;

		assert_int_equal(hash_sha1_hex(in, strlen(in), hex1), 0);
		assert_string_equal(hex1, digests[i].sha1);
		assert_int_equal(hash_sha256_hex(in, strlen(in), hex256), 0);
		assert_string_equal(hex256, digests[i].sha256);
		assert_int_equal(hash_sha256(in, strlen(in), raw), 0);
		hash_hex(raw, sizeof(raw), hex256);
		assert_string_equal(hex256, digests[i].sha256);
	}
}

static void test_hex(void **state)
{
	static const unsigned char bin[] = { 0x00, 0x0f, 0xa0, 0xff, 0x5c };
	char out[11];

	(void)state;
	hash_hex(bin, sizeof(bin), out);
	assert_string_equal(out, "000fa0ff5c");
	hash_hex(bin, 0, out);
	assert_string_equal(out, "");
}

static void test_hmac(void **state)
{
	char out[HASH_SHA256_HEX_SIZE];
	unsigned char key[20];

	(void)state;
	/* RFC 4231 test cases 1 and 2. */
	memset(key, 0x0b, sizeof(key));
	assert_int_equal(hash_hmac_sha256_hex(key, sizeof(key), "Hi There", 8, out), 0);
	assert_string_equal(out, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	assert_int_equal(hash_hmac_sha256_hex("Jefe", 4, "what do ya want for nothing?", 28, out), 0);
	assert_string_equal(out, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	/* An empty key works and differs from a one-byte key. */
	assert_int_equal(hash_hmac_sha256_hex("", 0, "x", 1, out), 0);
	assert_int_equal(strlen(out), 64);
}

static void test_random_id(void **state)
{
	static unsigned counts[36];
	char a[41], b[41], big[3601];
	size_t i, round;

	(void)state;
	assert_int_equal(hash_random_id(a, 40), 0);
	assert_int_equal(hash_random_id(b, 40), 0);
	assert_int_equal(strlen(a), 40);
	assert_int_equal(strspn(a, "0123456789abcdefghijklmnopqrstuvwxyz"), 40);
	assert_string_not_equal(a, b);
	assert_int_equal(hash_random_id(a, 0), 0);
	assert_string_equal(a, "");
	/* 360000 characters: each of the 36 should appear about 10000 times
	 * (standard deviation about 98); a skewed mapping shows far outside
	 * +-1000. */
	for (round = 0; round < 100; round++) {
		assert_int_equal(hash_random_id(big, 3600), 0);
		for (i = 0; i < 3600; i++) {
			char c = big[i];

			counts[c <= '9' ? c - '0' : c - 'a' + 10]++;
		}
	}
	for (i = 0; i < 36; i++)
		assert_in_range(counts[i], 9000, 11000);
}

static void test_equal_ct(void **state)
{
	(void)state;
	assert_true(hash_equal_ct("secret", "secret", 6));
	assert_false(hash_equal_ct("secret", "secreT", 6));
	assert_true(hash_equal_ct("a", "b", 0));
	assert_true(hash_str_equal_ct("secret", "secret"));
	assert_false(hash_str_equal_ct("secret", "secret2"));
	assert_false(hash_str_equal_ct("secret2", "secret"));
	assert_false(hash_str_equal_ct("", "secret"));
	assert_false(hash_str_equal_ct("secret", ""));
	assert_true(hash_str_equal_ct("", ""));
	assert_false(hash_str_equal_ct("Secret", "secret"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digests),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_hmac),
		cmocka_unit_test(test_random_id),
		cmocka_unit_test(test_equal_ct),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
