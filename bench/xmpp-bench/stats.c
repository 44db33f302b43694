/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Latency samples and percentiles. Every sample is kept (4 bytes each), so
 * percentiles are exact nearest-rank values, not histogram estimates: a
 * million messages cost 4 MB, which the run's bound keeps well in reach.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <time.h>

#include "bench/xmpp-bench/xb.h"

void xb_lat_add(struct xb_lat *l, uint32_t usec)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 1024;
		uint32_t *v = realloc(l->v, cap * sizeof *v);
		if (v == NULL)
			abort();
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = usec;
	l->sorted = false;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/*
 * Nearest rank: the smallest sample with at least p% of the samples at or
 * below it. p50 of {1,2,3,4} is 2, p100 is the maximum, p0 the minimum.
 */
uint32_t xb_lat_pct(struct xb_lat *l, double p)
{
	if (l->n == 0)
		return 0;
	if (!l->sorted) {
		qsort(l->v, l->n, sizeof *l->v, cmp_u32);
		l->sorted = true;
	}
	if (p <= 0)
		return l->v[0];
	if (p >= 100)
		return l->v[l->n - 1];
	double rank = ceil(p / 100.0 * (double)l->n);
	size_t i = rank < 1 ? 0 : (size_t)rank - 1;
	if (i >= l->n)
		i = l->n - 1;
	return l->v[i];
}

void xb_lat_free(struct xb_lat *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

double xb_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
