/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * authreg_password.c: the "$scram$" text that c2s keeps in the password
 * column of jabberd2's authreg table (docs/authreg.md):
 *
 *   $scram$<iterations>$<salt>$<SHA-1 StoredKey>$<SHA-1 ServerKey>$<SHA-256 StoredKey>$<SHA-256 ServerKey>
 *
 * iterations in decimal, the rest in padded standard base64. With a 16-byte
 * salt the string is 187 characters, within jabberd2's varchar(256).
 * Parsing is strict (every field, exact key lengths, no trailing data), as
 * the column may hold anything a jabberd2 installation put there.
 */
#include "config.h"
#include "c2s/authreg.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sx/sx.h"
#include "util/buf.h"
#include "util/hash.h"

#define PW_PREFIX "$scram$"
#define PW_MAX_ITER 10000000u

int authreg_pw_is_scram(const char *stored)
{
	return stored != NULL && strncmp(stored, PW_PREFIX, strlen(PW_PREFIX)) == 0;
}

static void b64_append(struct buf *b, const unsigned char *data, size_t len)
{
	char out[4 * ((64 + 2) / 3) + 1];

	/* Every field here is at most 64 bytes. */
	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	buf_append_str(b, out);
}

/* Decode exactly `want` bytes (any count up to `want` if exact is 0) from
 * padded base64 text of length `len`. Returns the byte count or -1. */
static int b64_field(const char *s, size_t len, unsigned char *out, size_t want, int exact)
{
	unsigned char tmp[3 * (128 / 4)];
	size_t pad = 0, i;
	int n;

	if (len == 0 || len % 4 != 0 || len > 128)
		return -1;
	for (i = 0; i < len; i++) {
		char c = s[i];
		int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			 (c >= '0' && c <= '9') || c == '+' || c == '/';

		if (c == '=' && i >= len - 2) {
			pad++;
			continue;
		}
		if (!ok || pad > 0)
			return -1;
	}
	n = EVP_DecodeBlock(tmp, (const unsigned char *)s, (int)len);
	if (n < 0 || (size_t)n < pad)
		return -1;
	n -= (int)pad;
	if ((exact && (size_t)n != want) || (size_t)n > want)
		return -1;
	/* One spelling per value: unused low bits of the last character must
	 * be zero (the entry is formatted back byte for byte). */
	{
		char again[128 + 1];

		EVP_EncodeBlock((unsigned char *)again, tmp, n);
		if (strlen(again) != len || memcmp(again, s, len) != 0)
			return -1;
	}
	memcpy(out, tmp, (size_t)n);
	return n;
}

int authreg_pw_parse(const char *stored, struct authreg_scram *out, const char **error_r)
{
	const char *f[6], *p;
	size_t flen[6];
	char *end;
	unsigned long iter;
	int n, i;

	memset(out, 0, sizeof(*out));
	if (!authreg_pw_is_scram(stored)) {
		*error_r = "not a $scram$ entry";
		return -1;
	}
	p = stored + strlen(PW_PREFIX);
	iter = strtoul(p, &end, 10);
	/* Plain decimal only: strtoul would also take blanks and a sign. */
	if (*p < '1' || *p > '9' || *end != '$' || iter == 0 || iter > PW_MAX_ITER) {
		*error_r = "bad iteration count";
		return -1;
	}
	p = end + 1;
	for (i = 0; i < 6; i++) {
		const char *d = strchr(p, '$');

		f[i] = p;
		flen[i] = d != NULL ? (size_t)(d - p) : strlen(p);
		if ((i < 5) != (d != NULL)) {
			*error_r = "wrong number of fields";
			return -1;
		}
		p = d != NULL ? d + 1 : p + flen[i];
	}
	out->iter = (unsigned)iter;
	n = b64_field(f[0], flen[0], out->salt, sizeof(out->salt), 0);
	if (n < 8) {
		*error_r = "bad salt";
		return -1;
	}
	out->salt_len = (size_t)n;
	if (b64_field(f[1], flen[1], out->sha1_stored, AUTHREG_SHA1_LEN, 1) < 0 ||
	    b64_field(f[2], flen[2], out->sha1_server, AUTHREG_SHA1_LEN, 1) < 0 ||
	    b64_field(f[3], flen[3], out->sha256_stored, AUTHREG_SHA256_LEN, 1) < 0 ||
	    b64_field(f[4], flen[4], out->sha256_server, AUTHREG_SHA256_LEN, 1) < 0) {
		*error_r = "bad key";
		return -1;
	}
	/* Nothing may follow the last key: it was the sixth field. */
	if (flen[5] != 0) {
		*error_r = "trailing data";
		return -1;
	}
	return 0;
}

char *authreg_pw_format(const struct authreg_scram *s)
{
	struct buf b = { 0 };

	buf_printf(&b, "%s%u$", PW_PREFIX, s->iter);
	b64_append(&b, s->salt, s->salt_len);
	buf_append_char(&b, '$');
	b64_append(&b, s->sha1_stored, AUTHREG_SHA1_LEN);
	buf_append_char(&b, '$');
	b64_append(&b, s->sha1_server, AUTHREG_SHA1_LEN);
	buf_append_char(&b, '$');
	b64_append(&b, s->sha256_stored, AUTHREG_SHA256_LEN);
	buf_append_char(&b, '$');
	b64_append(&b, s->sha256_server, AUTHREG_SHA256_LEN);
	/* The empty sixth field keeps the parser's field count simple and
	 * leaves room for a later hash without a format change. */
	buf_append_char(&b, '$');
	return buf_steal(&b, NULL);
}

char *authreg_pw_hash(const char *password, unsigned iter, const char **error_r)
{
	struct authreg_scram s = { 0 };
	size_t len;
	char *out;

	s.iter = iter != 0 ? iter : 4096;
	s.salt_len = AUTHREG_SALT_LEN;
	if (s.iter > PW_MAX_ITER) {
		*error_r = "iteration count too high";
		return NULL;
	}
	if (RAND_bytes(s.salt, (int)s.salt_len) != 1) {
		*error_r = "no random bytes for a salt";
		return NULL;
	}
	if (sx_sasl_scram_hash("SHA-1", password, s.salt, s.salt_len, s.iter,
			       s.sha1_stored, s.sha1_server, &len, error_r) < 0 ||
	    sx_sasl_scram_hash("SHA-256", password, s.salt, s.salt_len, s.iter,
			       s.sha256_stored, s.sha256_server, &len, error_r) < 0)
		return NULL;
	out = authreg_pw_format(&s);
	OPENSSL_cleanse(&s, sizeof(s));
	return out;
}

int authreg_pw_verify(const struct authreg_scram *s, const char *password)
{
	unsigned char stored[SX_SASL_MAX_KEY], server[SX_SASL_MAX_KEY];
	const char *error;
	size_t len;
	int ok;

	if (sx_sasl_scram_hash("SHA-256", password, s->salt, s->salt_len, s->iter,
			       stored, server, &len, &error) < 0 || len != AUTHREG_SHA256_LEN)
		return -1;
	ok = hash_equal_ct(stored, s->sha256_stored, len);
	OPENSSL_cleanse(stored, sizeof(stored));
	OPENSSL_cleanse(server, sizeof(server));
	return ok;
}
