/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the sx stream parser (sx/parse.c) as a server sees
 * it: the input, split in two at a position taken from its first byte, is
 * what a client sends. The server answers the header (sx_open, features)
 * and echoes every element back through the serializer, so both halves of
 * the core run. The stream must end in at most one closed callback, and
 * once closed it must refuse input. When the first byte is odd the stream
 * is trimmed between the halves (sx_trim), so the second half runs through
 * a parser rebuilt from the recorded header. When its second bit is set
 * the stream keeps each element's received bytes (sx_keep_raw): they must
 * be a piece of the input that parses on its own (every prefix declared
 * inside) to an element of the same name, and the echo writes them.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sx/sx.h"
#include "util/nad.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz {
	int closed;
	int elems;
	const uint8_t *in;      /* the whole input */
	size_t in_len;
};

/* The bytes attached to an element: a piece of the input, well-formed
 * alone, with the element's name. */
static void fz_check_raw(const struct fz *f, const struct nad *nad)
{
	const char *raw, *ns, *error;
	struct nad *back;
	size_t len;

	if ((raw = nad_raw(nad, &len, &ns)) == NULL)
		return;
	if (len > f->in_len || memmem(f->in, f->in_len, raw, len) == NULL)
		abort();
	back = nad_parse(raw, len, 32, &error, NULL);
	if (back == NULL || strcmp(nad_name(back, 0), nad_name(nad, 0)) != 0)
		abort();
	nad_free(&back);
}

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
	fz_check_raw(f, nad);
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
	int r1 = 0, r2, trim, raw;

	if (size == 0)
		return 0;
	at = size > 1 ? data[0] % size : 0;
	trim = data[0] & 1;
	raw = data[0] & 2;
	data++;
	size--;
	if (at > size)
		at = size;
	f.in = data;
	f.in_len = size;
	sx = sx_new(SX_SERVER, &lim, &fz_cb, &f);
	if (raw)
		sx_keep_raw(sx, 1);
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
