/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mio_rate.c: the per-address connect counter behind jabberd2's
 * io.limits.connects. Each listener keeps a small hash table from peer
 * address to (connects in the current window, throttle end). Entries whose
 * window and throttle are both over are swept out, so the table only holds
 * addresses seen recently and cannot grow without bound under a scan.
 *
 * The clock is a parameter, so the unit tests drive it without sleeping.
 */
#include "config.h"
#include "mio/mio_private.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

#define MIO_RATE_MIN_BUCKETS 64

void mio_rate_table_init(struct mio_rate_table *t, const struct mio_rate *limit)
{
	memset(t, 0, sizeof(*t));
	t->limit = *limit;
}

void mio_rate_table_clear(struct mio_rate_table *t)
{
	struct mio_rate_entry *e, *next;
	size_t i;

	for (i = 0; i < t->nbuckets; i++) {
		for (e = t->buckets[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(t->buckets);
	t->buckets = NULL;
	t->nbuckets = 0;
	t->count = 0;
}

/* FNV-1a over the address bytes. */
static size_t mio_rate_hash(const struct mio_addr *addr)
{
	size_t len = addr->family == AF_INET ? 4 : 16;
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= addr->bytes[i];
		h *= 16777619u;
	}
	return h;
}

static int mio_rate_same(const struct mio_addr *a, const struct mio_addr *b)
{
	return a->family == b->family && memcmp(a->bytes, b->bytes, 16) == 0;
}

static void mio_rate_grow(struct mio_rate_table *t)
{
	size_t n = t->nbuckets == 0 ? MIO_RATE_MIN_BUCKETS : t->nbuckets * 2;
	struct mio_rate_entry **b = xcalloc(n, sizeof(*b));
	struct mio_rate_entry *e, *next;
	size_t i, h;

	for (i = 0; i < t->nbuckets; i++) {
		for (e = t->buckets[i]; e != NULL; e = next) {
			next = e->next;
			h = mio_rate_hash(&e->addr) & (n - 1);
			e->next = b[h];
			b[h] = e;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = n;
}

/* An entry is stale once its window is over and it is not throttled. */
static int mio_rate_stale(const struct mio_rate_table *t,
			  const struct mio_rate_entry *e, uint64_t now)
{
	return now >= e->throttled_until_ms &&
	       now - e->window_start_ms >= t->limit.window_ms;
}

static void mio_rate_sweep(struct mio_rate_table *t, uint64_t now)
{
	struct mio_rate_entry **pp, *e;
	size_t i;

	for (i = 0; i < t->nbuckets; i++) {
		pp = &t->buckets[i];
		while ((e = *pp) != NULL) {
			if (mio_rate_stale(t, e, now)) {
				*pp = e->next;
				free(e);
				t->count--;
			} else {
				pp = &e->next;
			}
		}
	}
	t->last_sweep_ms = now;
}

static struct mio_rate_entry *mio_rate_lookup(struct mio_rate_table *t,
					      const struct mio_addr *addr,
					      uint64_t now)
{
	struct mio_rate_entry *e;
	size_t h;

	if (t->nbuckets != 0) {
		h = mio_rate_hash(addr) & (t->nbuckets - 1);
		for (e = t->buckets[h]; e != NULL; e = e->next)
			if (mio_rate_same(&e->addr, addr))
				return e;
	}
	if (t->count >= t->nbuckets)
		mio_rate_grow(t);
	h = mio_rate_hash(addr) & (t->nbuckets - 1);
	e = xcalloc(1, sizeof(*e));
	e->addr = *addr;
	e->window_start_ms = now;
	e->next = t->buckets[h];
	t->buckets[h] = e;
	t->count++;
	return e;
}

int mio_rate_table_hit(struct mio_rate_table *t, const struct mio_addr *addr,
		       uint64_t now_ms, int *throttle_started_r)
{
	struct mio_rate_entry *e;
	uint64_t sweep_every = t->limit.window_ms > t->limit.throttle_ms ?
			       t->limit.window_ms : t->limit.throttle_ms;

	*throttle_started_r = 0;
	if (t->limit.max == 0)
		return 1;
	if (now_ms - t->last_sweep_ms >= sweep_every + 1000)
		mio_rate_sweep(t, now_ms);
	e = mio_rate_lookup(t, addr, now_ms);
	if (now_ms < e->throttled_until_ms)
		return 0;
	if (now_ms - e->window_start_ms >= t->limit.window_ms) {
		e->window_start_ms = now_ms;
		e->count = 0;
	}
	if (e->count >= t->limit.max) {
		/* One connect too many: the address waits out the throttle,
		 * then starts a fresh window. */
		e->throttled_until_ms = now_ms + t->limit.throttle_ms;
		e->window_start_ms = e->throttled_until_ms;
		e->count = 0;
		*throttle_started_r = 1;
		return 0;
	}
	e->count++;
	return 1;
}
