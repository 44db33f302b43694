/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_metrics_report: the status socket's request parser and reports on
 * any bytes: they must never read outside them, and a report made must
 * be whole: the text one starts with its header, the JSON one is closed
 * and carries no raw control byte (a string would be broken by one).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Exactly `size` bytes in a heap block of their own, so ASan sees
	 * any read past them. */
	char *copy = malloc(size > 0 ? size : 1);
	struct buf out = { 0 };
	const char *error;
	enum metrics_ctl_req req;

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	req = metrics_ctl_parse(copy, size < METRICS_CTL_REQ_MAX ? size : METRICS_CTL_REQ_MAX);
	if (req != METRICS_CTL_INVALID && req != METRICS_CTL_STATUS && req != METRICS_CTL_JSON &&
	    req != METRICS_CTL_METRICS)
		abort();
	if (metrics_report_text(copy, size, "sm", 1, &out, &error) == 0 &&
	    (out.len < 16 || memcmp(out.data, "daemon sm pid 1\n", 16) != 0))
		abort();
	buf_free(&out);
	if (metrics_report_json(copy, size, "sm", 1, &out, &error) == 0) {
		if (out.len < 3 || memcmp(out.data + out.len - 3, "}}\n", 3) != 0)
			abort();
		for (size_t i = 0; i + 1 < out.len; i++)
			if ((unsigned char)out.data[i] < 0x20)
				abort();
	}
	buf_free(&out);
	free(copy);
	return 0;
}
