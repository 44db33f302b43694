/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xhash: a string-keyed hash table (sessions by JID, routes by name,
 * users by id...). Keys are byte strings and are COPIED into the table, so
 * the caller's key may be freed or reused right after a call. Values are
 * borrowed pointers: the table never frees them (xhash_clear can, with a
 * callback).
 *
 * Keys are hashed with SipHash keyed randomly per process, because many
 * keys come from the network and must not be able to force collisions.
 * The table doubles its bucket array as it fills, so lookups stay O(1).
 *
 * Iteration order is unspecified. While iterating, the current entry may be
 * removed (xhash_iter_remove or xhash_remove on its key); inserting, or
 * removing any other entry, invalidates the iterator.
 */
#ifndef UTIL_XHASH_H
#define UTIL_XHASH_H

#include <stddef.h>
#include <stdint.h>

struct xhash;
struct xhash_entry;

struct xhash_iter {
	struct xhash *h;
	size_t bucket;                  /* next bucket to look in */
	struct xhash_entry *cur;        /* entry last returned */
	struct xhash_entry *next;       /* entry to return next */
};

/*
 * SipHash-1-3 of `len` bytes under a caller-chosen 128-bit key (the table
 * itself uses a random per-process key). For hashes every node must agree
 * on, such as cluster placement, where the key is a fixed constant.
 */
uint64_t xhash_siphash_keyed(const uint64_t key[2], const void *data, size_t len);

struct xhash *xhash_new(void);
/* Frees the table and its keys, not the values. */
void xhash_free(struct xhash **hp);

/* Insert or replace. Returns the value previously stored under the key
 * (NULL if none), so the caller can free it. `val` may not be NULL. */
void *xhash_put(struct xhash *h, const char *key, void *val);
void *xhash_putn(struct xhash *h, const char *key, size_t keylen, void *val);
/* The value stored under the key, or NULL. */
void *xhash_get(const struct xhash *h, const char *key);
void *xhash_getn(const struct xhash *h, const char *key, size_t keylen);
/* Remove the entry; returns its value, or NULL if there was none. */
void *xhash_remove(struct xhash *h, const char *key);
void *xhash_removen(struct xhash *h, const char *key, size_t keylen);
size_t xhash_count(const struct xhash *h);
/* Remove every entry, calling free_val (if not NULL) on each value. */
void xhash_clear(struct xhash *h, void (*free_val)(void *val));

/*
 *	struct xhash_iter it;
 *	const char *key;
 *	void *val;
 *
 *	xhash_iter_init(h, &it);
 *	while (xhash_iter_next(&it, &key, &val))
 *		if (expired(val))
 *			free(xhash_iter_remove(&it));
 *
 * `key` stays valid until its entry is removed.
 */
void xhash_iter_init(struct xhash *h, struct xhash_iter *it);
int xhash_iter_next(struct xhash_iter *it, const char **key_r, void **val_r);
/* Remove the entry last returned by xhash_iter_next; returns its value. */
void *xhash_iter_remove(struct xhash_iter *it);

#endif
