/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the sx stream parser (sx/parse.c) as a server sees
 * it: the input, split in two at a position taken from its first byte, is
 * what a client sends. The server answers the header (sx_open, features)
 * and echoes every element back through the serializer, so both halves of
 * the core run. The stream must end in at most one closed callback, and
 * once closed it must refuse input. When the first byte is odd the stream
 * is trimmed between the halves (sx_trim), so the second half runs through
 * a parser rebuilt from the recorded header.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "sx/sx.h"
#include "util/nad.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz {
	int closed;
	int elems;
};

static void fz_open(struct sx *sx, const struct sx_header *hdr, void *ctx)
{
	struct sx_header h = { 0 };

	(void)ctx;
	h.ns = hdr->ns;
	h.from = hdr->to;
	h.version = hdr->version;
	h.extra_prefix = hdr->extra_prefix;
	h.extra_ns = hdr->extra_ns;
	sx_open(sx, &h);
	sx_send(sx, sx_features_new(sx));
}

static void fz_element(struct sx *sx, struct nad *nad, void *ctx)
{
	struct fz *f = ctx;

	f->elems++;
	if (f->elems % 7 == 3)
		sx_error(sx, "policy-violation", "fuzz");
	else
		sx_send(sx, nad_copy(nad));
	nad_free(&nad);
}

static void fz_closed(struct sx *sx, const char *cond, const char *text, void *ctx)
{
	struct fz *f = ctx;

	(void)sx;
	(void)cond;
	(void)text;
	if (++f->closed > 1)
		abort();
}

static const struct sx_callbacks fz_cb = {
	.stream_open = fz_open,
	.element = fz_element,
	.closed = fz_closed,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sx_limits lim = { .max_stanza = 4096, .max_depth = 16, .max_attrs = 16,
				 .max_header = 1024 };
	struct fz f = { 0 };
	struct sx *sx;
	size_t at, len;
	int r1 = 0, r2, trim;

	if (size == 0)
		return 0;
	at = size > 1 ? data[0] % size : 0;
	trim = data[0] & 1;
	data++;
	size--;
	if (at > size)
		at = size;
	sx = sx_new(SX_SERVER, &lim, &fz_cb, &f);
	if (at > 0)
		r1 = sx_input(sx, data, at);
	sx_output(sx, &len);
	sx_output_consumed(sx, len / 2);
	if (trim)
		sx_trim(sx);
	r2 = sx_input(sx, data + at, size - at);
	if ((r1 < 0 && r2 == 0) || (r2 < 0) != (f.closed == 1))
		abort();        /* closed is final and always reported */
	sx_free(&sx);
	return 0;
}
