/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The client side of SCRAM-SHA-1 (RFC 5802) without channel binding, on
 * OpenSSL's PBKDF2 and HMAC. Pure functions over strings; the RFC's own
 * example is the unit test.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "bench/xmpp-bench/xb.h"

int xb_b64_encode(const unsigned char *in, size_t len, char *out,
		  size_t outlen)
{
	if (outlen < 4 * ((len + 2) / 3) + 1)
		return -1;
	EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	return 0;
}

/* EVP_DecodeBlock counts padding as zero bytes; subtract it. */
int xb_b64_decode(const char *in, unsigned char *out, size_t outlen,
		  size_t *len_r)
{
	size_t n = strlen(in);

	if (n % 4 != 0 || outlen < n / 4 * 3)
		return -1;
	int r = EVP_DecodeBlock(out, (const unsigned char *)in, (int)n);
	if (r < 0)
		return -1;
	size_t len = (size_t)r;
	if (n > 0 && in[n - 1] == '=')
		len--;
	if (n > 1 && in[n - 2] == '=')
		len--;
	*len_r = len;
	return 0;
}

/* saslname: ',' and '=' escaped as =2C and =3D. */
static int saslname(const char *user, char *out, size_t outlen)
{
	size_t o = 0;

	for (const char *p = user; *p; p++) {
		const char *rep = *p == ',' ? "=2C" : *p == '=' ? "=3D" : NULL;
		size_t n = rep ? 3 : 1;
		if (o + n >= outlen)
			return -1;
		memcpy(out + o, rep ? rep : p, n);
		o += n;
	}
	out[o] = '\0';
	return 0;
}

int xb_scram_first(struct xb_scram *s, const char *user, const char *cnonce,
		   char *out, size_t outlen)
{
	char name[256];

	memset(s, 0, sizeof *s);
	if (saslname(user, name, sizeof name) < 0 ||
	    strlen(cnonce) >= sizeof s->nonce)
		return -1;
	strcpy(s->nonce, cnonce);
	int n = snprintf(s->client_first_bare, sizeof s->client_first_bare,
			 "n=%s,r=%s", name, cnonce);
	if (n < 0 || (size_t)n >= sizeof s->client_first_bare)
		return -1;
	n = snprintf(out, outlen, "n,,%s", s->client_first_bare);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* One remembered salted password: every bench user shares the password,
 * and a server that keeps one salt per user still repeats it per user. */
static struct {
	char salt[64];
	long iter;
	char password[128];
	unsigned char salted[SHA_DIGEST_LENGTH];
	bool valid;
} cache;

static void salted_password(const char *password, const unsigned char *salt,
			    size_t saltlen, const char *salt64, long iter,
			    unsigned char *out)
{
	if (cache.valid && cache.iter == iter &&
	    strcmp(cache.salt, salt64) == 0 &&
	    strcmp(cache.password, password) == 0) {
		memcpy(out, cache.salted, SHA_DIGEST_LENGTH);
		return;
	}
	PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)saltlen,
			  (int)iter, EVP_sha1(), SHA_DIGEST_LENGTH, out);
	if (strlen(salt64) < sizeof cache.salt &&
	    strlen(password) < sizeof cache.password) {
		strcpy(cache.salt, salt64);
		strcpy(cache.password, password);
		cache.iter = iter;
		memcpy(cache.salted, out, SHA_DIGEST_LENGTH);
		cache.valid = true;
	}
}

static void hmac(const unsigned char *key, const void *data, size_t len,
		 unsigned char *out)
{
	unsigned int outlen = SHA_DIGEST_LENGTH;

	HMAC(EVP_sha1(), key, SHA_DIGEST_LENGTH, data, len, out, &outlen);
}

/* Splits "r=..,s=..,i=.." into its three values (pointers into buf). */
static int server_first_fields(char *buf, char **r, char **salt, char **i)
{
	*r = *salt = *i = NULL;
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		if (strncmp(t, "r=", 2) == 0)
			*r = t + 2;
		else if (strncmp(t, "s=", 2) == 0)
			*salt = t + 2;
		else if (strncmp(t, "i=", 2) == 0)
			*i = t + 2;
		else if (strncmp(t, "m=", 2) == 0)
			return -1; /* mandatory extension we do not know */
	}
	return *r && *salt && *i ? 0 : -1;
}

int xb_scram_final(struct xb_scram *s, const char *password,
		   const char *server_first, char *out, size_t outlen,
		   const char **error_r)
{
	char buf[512], *r, *salt64, *iters, *end;
	unsigned char salt[64], salted[SHA_DIGEST_LENGTH];
	unsigned char ckey[SHA_DIGEST_LENGTH], stored[SHA_DIGEST_LENGTH];
	unsigned char csig[SHA_DIGEST_LENGTH], proof[SHA_DIGEST_LENGTH];
	char proof64[64];
	size_t saltlen;

	if (strlen(server_first) >= sizeof buf) {
		*error_r = "SCRAM server-first too long";
		return -1;
	}
	strcpy(buf, server_first);
	if (server_first_fields(buf, &r, &salt64, &iters) < 0) {
		*error_r = "SCRAM server-first malformed";
		return -1;
	}
	long iter = strtol(iters, &end, 10);
	if (*end != '\0' || iter < 1 || iter > 1000000) {
		*error_r = "SCRAM iteration count out of range";
		return -1;
	}
	if (strncmp(r, s->nonce, strlen(s->nonce)) != 0 ||
	    strlen(r) == strlen(s->nonce) || strlen(r) >= 200) {
		*error_r = "SCRAM server nonce does not extend ours";
		return -1;
	}
	if (xb_b64_decode(salt64, salt, sizeof salt, &saltlen) < 0 ||
	    saltlen == 0) {
		*error_r = "SCRAM salt is not base64";
		return -1;
	}
	salted_password(password, salt, saltlen, salt64, iter, salted);
	int n = snprintf(s->auth_message, sizeof s->auth_message,
			 "%s,%s,c=biws,r=%s", s->client_first_bare,
			 server_first, r);
	if (n < 0 || (size_t)n >= sizeof s->auth_message) {
		*error_r = "SCRAM messages too long";
		return -1;
	}
	hmac(salted, "Client Key", 10, ckey);
	SHA1(ckey, sizeof ckey, stored);
	hmac(stored, s->auth_message, strlen(s->auth_message), csig);
	for (size_t k = 0; k < sizeof proof; k++)
		proof[k] = ckey[k] ^ csig[k];
	hmac(salted, "Server Key", 10, s->server_key);
	xb_b64_encode(proof, sizeof proof, proof64, sizeof proof64);
	n = snprintf(out, outlen, "c=biws,r=%s,p=%s", r, proof64);
	if (n < 0 || (size_t)n >= outlen) {
		*error_r = "SCRAM client-final too long";
		return -1;
	}
	return 0;
}

int xb_scram_verify(struct xb_scram *s, const char *server_final,
		    const char **error_r)
{
	unsigned char ssig[SHA_DIGEST_LENGTH], got[64];
	size_t len;

	if (strncmp(server_final, "v=", 2) != 0 ||
	    xb_b64_decode(server_final + 2, got, sizeof got, &len) < 0 ||
	    len != sizeof ssig) {
		*error_r = "SCRAM server-final malformed";
		return -1;
	}
	hmac(s->server_key, s->auth_message, strlen(s->auth_message), ssig);
	if (CRYPTO_memcmp(ssig, got, sizeof ssig) != 0) {
		*error_r = "SCRAM server signature wrong";
		return -1;
	}
	return 0;
}
