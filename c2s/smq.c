/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * smq.c: the unacknowledged-stanza queue of XEP-0198 (see smq.h). A ring
 * buffer, because stanzas leave in the order they came and acks arrive
 * often: no memmove per ack.
 */
#include "config.h"
#include "c2s/smq.h"

#include <stdlib.h>

#include "util/buf.h"
#include "util/nad.h"

void c2s_smq_init(struct c2s_smq *q)
{
	q->items = NULL;
	q->head = q->len = q->cap = 0;
	q->bytes = 0;
	q->sent = 0;
}

struct nad *c2s_smq_shift(struct c2s_smq *q)
{
	struct nad *nad;

	if (q->len == 0)
		return NULL;
	nad = q->items[q->head];
	q->items[q->head] = NULL;
	q->head = (q->head + 1) % q->cap;
	q->len--;
	q->bytes -= nad_memory(nad);
	return nad;
}

void c2s_smq_free(struct c2s_smq *q)
{
	struct nad *nad;

	while ((nad = c2s_smq_shift(q)) != NULL)
		nad_free(&nad);
	free(q->items);
	q->items = NULL;
	q->head = q->cap = 0;
}

static void grow(struct c2s_smq *q)
{
	size_t ncap = q->cap == 0 ? 8 : q->cap * 2;
	struct nad **n = xcalloc(ncap, sizeof(*n));

	/* Unroll the ring so the oldest is at 0 again. */
	for (size_t i = 0; i < q->len; i++)
		n[i] = q->items[(q->head + i) % q->cap];
	free(q->items);
	q->items = n;
	q->head = 0;
	q->cap = ncap;
}

void c2s_smq_push(struct c2s_smq *q, struct nad *nad)
{
	if (q->len == q->cap)
		grow(q);
	q->items[(q->head + q->len) % q->cap] = nad;
	q->len++;
	q->bytes += nad_memory(nad);
	q->sent++;              /* unsigned: wraps at 2^32 as the XEP says */
}

uint32_t c2s_smq_acked(const struct c2s_smq *q)
{
	return q->sent - (uint32_t)q->len;
}

long c2s_smq_ack(struct c2s_smq *q, uint32_t h)
{
	uint32_t n = h - c2s_smq_acked(q);

	if (n > q->len)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		struct nad *nad = c2s_smq_shift(q);

		nad_free(&nad);
	}
	/* An idle session keeps no buffer: most of the time all is acked. */
	if (q->len == 0 && q->items != NULL) {
		free(q->items);
		q->items = NULL;
		q->head = q->cap = 0;
	}
	return (long)n;
}

const struct nad *c2s_smq_at(const struct c2s_smq *q, size_t i)
{
	if (i >= q->len)
		return NULL;
	return q->items[(q->head + i) % q->cap];
}

int c2s_smq_parse_h(const char *s, uint32_t *h_r)
{
	uint64_t v = 0;

	if (s == NULL || *s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > UINT32_MAX)
			return -1;
	}
	*h_r = (uint32_t)v;
	return 0;
}
