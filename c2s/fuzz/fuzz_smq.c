/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_smq: the XEP-0198 h parser and queue (c2s/smq.c) driven by what a
 * client controls: the h values of its <a/> and <resume/>, interleaved
 * with stanzas we send. Input: lines; "p" pushes a stanza, anything else
 * is an h attribute value. Checked after every step: an h that parses
 * prints back the same (no sign, no leading zeros but "0"), an ack never
 * drops more than was queued, refused acks leave the queue untouched,
 * and the counters stay consistent (acked + len == sent, mod 2^32).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "c2s/smq.h"
#include "util/buf.h"
#include "util/nad.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Bound the work per input. */
#define MAX_PUSH 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xstrndup((const char *)data, size), *line, *save = NULL;
	struct c2s_smq q;
	unsigned pushed = 0;

	c2s_smq_init(&q);
	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		uint32_t h;
		char back[16];

		if (strcmp(line, "p") == 0) {
			struct nad *nad;

			if (pushed++ >= MAX_PUSH)
				continue;
			nad = nad_new();
			nad_elem_add(nad, NAD_NONE, "jabber:client", "message");
			c2s_smq_push(&q, nad);
		} else if (c2s_smq_parse_h(line, &h) == 0) {
			size_t len = q.len;
			uint32_t acked = c2s_smq_acked(&q);
			long n;

			snprintf(back, sizeof(back), "%u", (unsigned)h);
			if (strcmp(back, line) != 0 && strspn(line, "0") == 0)
				abort();
			n = c2s_smq_ack(&q, h);
			if (n < 0 ? q.len != len || c2s_smq_acked(&q) != acked :
			    (size_t)n > len || q.len != len - (size_t)n || c2s_smq_acked(&q) != h)
				abort();
		}
		if ((uint32_t)(c2s_smq_acked(&q) + q.len) != q.sent)
			abort();
		if ((q.len == 0) != (q.bytes == 0))
			abort();
	}
	c2s_smq_free(&q);
	free(text);
	return 0;
}
