/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hash: SHA-1/SHA-256 (hex), HMAC-SHA-256, random [0-9a-z] ids and
 * constant-time comparison, on OpenSSL 3. See util/hash.h.
 */
#include "config.h"
#include "util/hash.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

void hash_hex(const void *bin, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *p = bin;
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

static int hash_digest(const EVP_MD *md, const void *data, size_t len,
		       unsigned char *out, unsigned int want)
{
	unsigned int outlen = 0;

	if (md == NULL || EVP_Digest(data, len, out, &outlen, md, NULL) != 1)
		return -1;
	return outlen == want ? 0 : -1;
}

int hash_sha1(const void *data, size_t len, unsigned char out[HASH_SHA1_LEN])
{
	return hash_digest(EVP_sha1(), data, len, out, HASH_SHA1_LEN);
}

int hash_sha256(const void *data, size_t len, unsigned char out[HASH_SHA256_LEN])
{
	return hash_digest(EVP_sha256(), data, len, out, HASH_SHA256_LEN);
}

int hash_sha1_hex(const void *data, size_t len, char out[HASH_SHA1_HEX_SIZE])
{
	unsigned char md[HASH_SHA1_LEN];

	if (hash_sha1(data, len, md) < 0) {
		out[0] = '\0';
		return -1;
	}
	hash_hex(md, sizeof(md), out);
	return 0;
}

int hash_sha256_hex(const void *data, size_t len, char out[HASH_SHA256_HEX_SIZE])
{
	unsigned char md[HASH_SHA256_LEN];

	if (hash_sha256(data, len, md) < 0) {
		out[0] = '\0';
		return -1;
	}
	hash_hex(md, sizeof(md), out);
	return 0;
}

int hash_hmac_sha256_hex(const void *key, size_t keylen, const void *data,
			 size_t len, char out[HASH_SHA256_HEX_SIZE])
{
	unsigned char md[HASH_SHA256_LEN];
	unsigned int mdlen = 0;

	/* HMAC() with a NULL key pointer would mean "no key"; an empty key
	 * is a valid (if weak) key, so give it a real pointer. */
	if (keylen == 0)
		key = "";
	if (HMAC(EVP_sha256(), key, (int)keylen, data, len, md, &mdlen) == NULL ||
	    mdlen != sizeof(md)) {
		out[0] = '\0';
		return -1;
	}
	hash_hex(md, sizeof(md), out);
	return 0;
}

int hash_random_id(char *out, size_t n)
{
	static const char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	unsigned char rnd[64];
	size_t have = 0, used = 0, i = 0;

	/* Bytes >= 252 (7 * 36) are skipped so every character is equally
	 * likely. */
	while (i < n) {
		if (used == have) {
			if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
				out[0] = '\0';
				return -1;
			}
			have = sizeof(rnd);
			used = 0;
		}
		if (rnd[used] < 252)
			out[i++] = alphabet[rnd[used] % 36];
		used++;
	}
	out[n] = '\0';
	OPENSSL_cleanse(rnd, sizeof(rnd));
	return 0;
}

int hash_equal_ct(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

int hash_str_equal_ct(const char *a, const char *b)
{
	size_t alen = strlen(a), blen = strlen(b), i;
	unsigned char diff = alen != blen;

	for (i = 0; i < blen; i++)
		diff |= (unsigned char)((i < alen ? a[i] : 0) ^ b[i]);
	return diff == 0;
}
