/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xhash: string-keyed hash table with separate chaining. Each entry is
 * one allocation holding the key bytes; the bucket array doubles when the
 * table holds more entries than buckets. See util/xhash.h.
 */
#include "config.h"
#include "util/xhash.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"

#define XHASH_MIN_BUCKETS 16

struct xhash_entry {
	struct xhash_entry *next;
	uint64_t hash;
	void *val;
	size_t keylen;
	char key[];             /* keylen bytes and a NUL */
};

struct xhash {
	struct xhash_entry **buckets;
	size_t nbuckets;        /* a power of two */
	size_t count;
};

static uint64_t xhash_key[2];
static int xhash_keyed;

/* SipHash-1-3 (Aumasson and Bernstein), 64-bit output. */
#define XHASH_ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define XHASH_SIPROUND(v0, v1, v2, v3)                                          \
	do {                                                                    \
		v0 += v1; v1 = XHASH_ROTL(v1, 13); v1 ^= v0; v0 = XHASH_ROTL(v0, 32); \
		v2 += v3; v3 = XHASH_ROTL(v3, 16); v3 ^= v2;                    \
		v0 += v3; v3 = XHASH_ROTL(v3, 21); v3 ^= v0;                    \
		v2 += v1; v1 = XHASH_ROTL(v1, 17); v1 ^= v2; v2 = XHASH_ROTL(v2, 32); \
	} while (0)

static uint64_t xhash_load64(const unsigned char *p, size_t n)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

uint64_t xhash_siphash_keyed(const uint64_t key[2], const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t v0 = 0x736f6d6570736575ULL ^ key[0];
	uint64_t v1 = 0x646f72616e646f6dULL ^ key[1];
	uint64_t v2 = 0x6c7967656e657261ULL ^ key[0];
	uint64_t v3 = 0x7465646279746573ULL ^ key[1];
	uint64_t m;
	size_t i, blocks = len / 8;

	for (i = 0; i < blocks; i++) {
		m = xhash_load64(p + 8 * i, 8);
		v3 ^= m;
		XHASH_SIPROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	m = xhash_load64(p + 8 * blocks, len % 8) | ((uint64_t)(len & 0xff) << 56);
	v3 ^= m;
	XHASH_SIPROUND(v0, v1, v2, v3);
	v0 ^= m;
	v2 ^= 0xff;
	for (i = 0; i < 3; i++)
		XHASH_SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

static uint64_t xhash_siphash(const void *data, size_t len)
{
	return xhash_siphash_keyed(xhash_key, data, len);
}

/* Pick the process-wide SipHash key once. Without getrandom() (very old
 * kernels) fall back to time and pid: worse, but still not a constant. */
static void xhash_seed(void)
{
	if (xhash_keyed)
		return;
	if (getrandom(xhash_key, sizeof(xhash_key), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(xhash_key)) {
		xhash_key[0] = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
		xhash_key[1] = (uint64_t)(uintptr_t)&xhash_key ^ (uint64_t)clock();
	}
	xhash_keyed = 1;
}

struct xhash *xhash_new(void)
{
	struct xhash *h = xcalloc(1, sizeof(*h));

	xhash_seed();
	h->nbuckets = XHASH_MIN_BUCKETS;
	h->buckets = xcalloc(h->nbuckets, sizeof(*h->buckets));
	return h;
}

void xhash_free(struct xhash **hp)
{
	struct xhash *h = *hp;

	if (h == NULL)
		return;
	xhash_clear(h, NULL);
	free(h->buckets);
	free(h);
	*hp = NULL;
}

/* The link pointing at the entry for key (or at the NULL ending its chain). */
static struct xhash_entry **xhash_find(const struct xhash *h, const char *key,
				       size_t keylen, uint64_t hash)
{
	struct xhash_entry **pe = &h->buckets[hash & (h->nbuckets - 1)];

	for (; *pe != NULL; pe = &(*pe)->next)
		if ((*pe)->hash == hash && (*pe)->keylen == keylen &&
		    memcmp((*pe)->key, key, keylen) == 0)
			break;
	return pe;
}

static void xhash_grow(struct xhash *h)
{
	size_t n = h->nbuckets * 2, i;
	struct xhash_entry **b = xcalloc(n, sizeof(*b));
	struct xhash_entry *e, *next;

	for (i = 0; i < h->nbuckets; i++) {
		for (e = h->buckets[i]; e != NULL; e = next) {
			next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	free(h->buckets);
	h->buckets = b;
	h->nbuckets = n;
}

void *xhash_putn(struct xhash *h, const char *key, size_t keylen, void *val)
{
	uint64_t hash = xhash_siphash(key, keylen);
	struct xhash_entry **pe = xhash_find(h, key, keylen, hash), *e;
	void *old;

	if (*pe != NULL) {
		old = (*pe)->val;
		(*pe)->val = val;
		return old;
	}
	e = xmalloc(sizeof(*e) + keylen + 1);
	e->hash = hash;
	e->val = val;
	e->keylen = keylen;
	memcpy(e->key, key, keylen);
	e->key[keylen] = '\0';
	e->next = NULL;
	*pe = e;
	if (++h->count > h->nbuckets)
		xhash_grow(h);
	return NULL;
}

void *xhash_put(struct xhash *h, const char *key, void *val)
{
	return xhash_putn(h, key, strlen(key), val);
}

void *xhash_getn(const struct xhash *h, const char *key, size_t keylen)
{
	struct xhash_entry *e = *xhash_find(h, key, keylen, xhash_siphash(key, keylen));

	return e != NULL ? e->val : NULL;
}

void *xhash_get(const struct xhash *h, const char *key)
{
	return xhash_getn(h, key, strlen(key));
}

static void *xhash_unlink(struct xhash *h, struct xhash_entry **pe)
{
	struct xhash_entry *e = *pe;
	void *val = e->val;

	*pe = e->next;
	free(e);
	h->count--;
	return val;
}

void *xhash_removen(struct xhash *h, const char *key, size_t keylen)
{
	struct xhash_entry **pe = xhash_find(h, key, keylen, xhash_siphash(key, keylen));

	return *pe != NULL ? xhash_unlink(h, pe) : NULL;
}

void *xhash_remove(struct xhash *h, const char *key)
{
	return xhash_removen(h, key, strlen(key));
}

size_t xhash_count(const struct xhash *h)
{
	return h->count;
}

void xhash_clear(struct xhash *h, void (*free_val)(void *val))
{
	struct xhash_entry *e, *next;
	size_t i;

	for (i = 0; i < h->nbuckets; i++) {
		for (e = h->buckets[i]; e != NULL; e = next) {
			next = e->next;
			if (free_val != NULL)
				free_val(e->val);
			free(e);
		}
		h->buckets[i] = NULL;
	}
	h->count = 0;
}

/* Advance it->next to the first entry at or after it->bucket. */
static void xhash_iter_fill(struct xhash_iter *it)
{
	while (it->next == NULL && it->bucket < it->h->nbuckets)
		it->next = it->h->buckets[it->bucket++];
}

void xhash_iter_init(struct xhash *h, struct xhash_iter *it)
{
	it->h = h;
	it->bucket = 0;
	it->cur = NULL;
	it->next = NULL;
	xhash_iter_fill(it);
}

int xhash_iter_next(struct xhash_iter *it, const char **key_r, void **val_r)
{
	/* The successor is taken before the caller sees the entry, so freeing
	 * the current entry cannot cut the walk short. */
	it->cur = it->next;
	if (it->cur == NULL)
		return 0;
	it->next = it->cur->next;
	xhash_iter_fill(it);
	if (key_r != NULL)
		*key_r = it->cur->key;
	if (val_r != NULL)
		*val_r = it->cur->val;
	return 1;
}

void *xhash_iter_remove(struct xhash_iter *it)
{
	struct xhash_entry *cur = it->cur;
	struct xhash_entry **pe;

	if (cur == NULL)
		return NULL;
	pe = &it->h->buckets[cur->hash & (it->h->nbuckets - 1)];
	while (*pe != cur)
		pe = &(*pe)->next;
	it->cur = NULL;
	return xhash_unlink(it->h, pe);
}
