/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hash: the few cryptographic helpers the daemons share, on OpenSSL's EVP
 * interface: SHA-1 and SHA-256 digests as lowercase hex (component
 * handshakes, dialback keys, stored password hashes), HMAC-SHA-256,
 * random identifiers of [0-9a-z] (stream and iq ids, as jabberd2 makes
 * them) and constant-time comparison for secrets.
 */
#ifndef UTIL_HASH_H
#define UTIL_HASH_H

#include <stddef.h>

#define HASH_SHA1_LEN 20
#define HASH_SHA256_LEN 32
/* Sizes of the hex buffers, including the NUL. */
#define HASH_SHA1_HEX_SIZE (2 * HASH_SHA1_LEN + 1)
#define HASH_SHA256_HEX_SIZE (2 * HASH_SHA256_LEN + 1)

/* Lowercase hex of `len` bytes into `out` (2 * len + 1 bytes). */
void hash_hex(const void *bin, size_t len, char *out);

/* Digests of `len` bytes, raw or as lowercase hex. Return 0, or -1 if
 * OpenSSL refused (e.g. SHA-1 disabled by policy). */
int hash_sha1(const void *data, size_t len, unsigned char out[HASH_SHA1_LEN]);
int hash_sha1_hex(const void *data, size_t len, char out[HASH_SHA1_HEX_SIZE]);
int hash_sha256(const void *data, size_t len, unsigned char out[HASH_SHA256_LEN]);
int hash_sha256_hex(const void *data, size_t len, char out[HASH_SHA256_HEX_SIZE]);
int hash_hmac_sha256_hex(const void *key, size_t keylen, const void *data,
			 size_t len, char out[HASH_SHA256_HEX_SIZE]);

/*
 * Fill `out` with `n` characters drawn uniformly from [0-9a-z] using
 * OpenSSL's CSPRNG, and a NUL (out holds n + 1 bytes). Returns 0, or -1
 * if the generator failed (then out is the empty string).
 */
int hash_random_id(char *out, size_t n);

/* Constant-time equality: 1 if equal. The string form takes time
 * depending only on the length of `b` (pass the secret we hold as b). */
int hash_equal_ct(const void *a, const void *b, size_t len);
int hash_str_equal_ct(const char *a, const char *b);

#endif
