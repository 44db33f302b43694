/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_metrics_http: the metrics port's request reader on any bytes, fed
 * whole and in two pieces (as the server sees them arrive): it must
 * never read outside them, and its answer must be one of the documented
 * ones, the same for the whole as for a reading that completed earlier.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(long rc, size_t len)
{
	if (rc > 0 && (size_t)rc > len)
		abort();
	if (rc < 0 && rc != -400 && rc != -405 && rc != -431 && rc != -505)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct metrics_req req;
	size_t len = size > METRICS_REQ_MAX ? METRICS_REQ_MAX : size, cut;
	/* Exactly `len` bytes in a heap block of their own, so ASan sees
	 * any read past them. */
	char *copy = malloc(len > 0 ? len : 1);
	long whole, part;

	if (copy == NULL)
		return 0;
	memcpy(copy, data, len);
	whole = metrics_http_parse(copy, len, &req);
	check(whole, len);
	if (whole > 0 && req.minor != 0 && req.minor != 1)
		abort();
	cut = len > 0 ? data[0] % (len + 1) : 0;
	part = metrics_http_parse(copy, cut, &req);
	check(part, cut);
	/* A request complete in the first piece is the same request. */
	if (part > 0 && whole != part)
		abort();
	free(copy);
	return 0;
}
