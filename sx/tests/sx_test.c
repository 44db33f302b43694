/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sx_test: recording callbacks and in-memory wiring for the sx unit tests
 * (see sx_test.h).
 */
#include "config.h"
#include "sx/tests/sx_test.h"

#include <stdlib.h>
#include <string.h>

#include "util/nad.h"

static void cb_stream_open(struct sx *sx, const struct sx_header *hdr, void *ctx)
{
	struct sxt_end *e = ctx;

	e->opens++;
	free(e->hdr_ns);
	free(e->hdr_to);
	free(e->hdr_from);
	free(e->hdr_id);
	free(e->hdr_version);
	free(e->hdr_lang);
	free(e->hdr_extra_prefix);
	free(e->hdr_extra_ns);
	e->hdr_ns = xstrdup_opt(hdr->ns);
	e->hdr_to = xstrdup_opt(hdr->to);
	e->hdr_from = xstrdup_opt(hdr->from);
	e->hdr_id = xstrdup_opt(hdr->id);
	e->hdr_version = xstrdup_opt(hdr->version);
	e->hdr_lang = xstrdup_opt(hdr->lang);
	e->hdr_extra_prefix = xstrdup_opt(hdr->extra_prefix);
	e->hdr_extra_ns = xstrdup_opt(hdr->extra_ns);
	if (e->auto_open && sx_type(sx) == SX_SERVER) {
		struct sx_header h = { 0 };

		h.ns = hdr->ns;
		h.from = hdr->to;
		h.version = hdr->version;
		h.extra_prefix = hdr->extra_prefix;
		h.extra_ns = hdr->extra_ns;
		sx_open(sx, &h);
		if (e->auto_features)
			sx_send(sx, sx_features_new(sx));
	}
}

static void cb_element(struct sx *sx, struct nad *nad, void *ctx)
{
	struct sxt_end *e = ctx;

	if (e->nelems < SXT_MAX_ELEMS)
		e->elems[e->nelems++] = nad;
	else
		nad_free(&nad);
	if (e->error_on_element != NULL)
		sx_error(sx, e->error_on_element, "from the element callback");
	if (e->close_on_element)
		sx_close(sx);
}

static void cb_closed(struct sx *sx, const char *condition, const char *text, void *ctx)
{
	struct sxt_end *e = ctx;

	e->closed++;
	free(e->cond);
	free(e->text);
	e->cond = xstrdup_opt(condition);
	e->text = xstrdup_opt(text);
	if (e->free_on_close) {
		sxt_drain(e);
		sx_free(&e->sx);
	}
}

static void cb_want_write(struct sx *sx, void *ctx)
{
	struct sxt_end *e = ctx;

	(void)sx;
	e->want_write++;
}

static void cb_event(struct sx *sx, enum sx_event ev, const void *data, void *ctx)
{
	struct sxt_end *e = ctx;

	(void)sx;
	(void)data;
	if ((unsigned)ev < 4)
		e->events[ev]++;
}

static const struct sx_callbacks sxt_cb = {
	.stream_open = cb_stream_open,
	.element = cb_element,
	.closed = cb_closed,
	.want_write = cb_want_write,
	.event = cb_event,
};

void sxt_init(struct sxt_end *e, enum sx_type type, const struct sx_limits *limits)
{
	memset(e, 0, sizeof(*e));
	e->sx = sx_new(type, limits, &sxt_cb, e);
	e->auto_open = 1;
}

void sxt_done(struct sxt_end *e)
{
	int i;

	sx_free(&e->sx);
	for (i = 0; i < e->nelems; i++)
		nad_free(&e->elems[i]);
	free(e->hdr_ns);
	free(e->hdr_to);
	free(e->hdr_from);
	free(e->hdr_id);
	free(e->hdr_version);
	free(e->hdr_lang);
	free(e->hdr_extra_prefix);
	free(e->hdr_extra_ns);
	free(e->cond);
	free(e->text);
	buf_free(&e->wire);
	memset(e, 0, sizeof(*e));
}

size_t sxt_drain(struct sxt_end *e)
{
	size_t start = e->wire.len, len;
	const void *p;

	if (e->sx == NULL)
		return start;
	p = sx_output(e->sx, &len);
	if (len > 0) {
		buf_append(&e->wire, p, len);
		sx_output_consumed(e->sx, len);
	}
	buf_reserve(&e->wire, 0);
	return start;
}

int sxt_feed(struct sxt_end *e, const char *data, size_t len, size_t chunk)
{
	size_t off = 0;
	int r = 0;

	if (chunk == 0)
		chunk = len ? len : 1;
	while (off < len && e->sx != NULL) {
		size_t n = len - off < chunk ? len - off : chunk;

		r = sx_input(e->sx, data + off, n);
		sxt_drain(e);
		off += n;
	}
	if (len == 0 && e->sx != NULL)
		r = sx_input(e->sx, data, 0);
	return e->sx == NULL ? -1 : r;
}

int sxt_feed_split(struct sxt_end *e, const char *data, size_t len, size_t at)
{
	int r = 0;

	if (at > 0 && e->sx != NULL)
		r = sx_input(e->sx, data, at);
	sxt_drain(e);
	if (at < len && e->sx != NULL)
		r = sx_input(e->sx, data + at, len - at);
	sxt_drain(e);
	return e->sx == NULL ? -1 : r;
}

/* Move what `from` wrote since *done to `to`. */
static int sxt_move(struct sxt_end *from, size_t *done, struct sxt_end *to, size_t chunk)
{
	size_t end;
	int moved = 0;

	sxt_drain(from);
	end = from->wire.len;
	while (*done < end && to->sx != NULL) {
		size_t n = end - *done < chunk ? end - *done : chunk;

		sx_input(to->sx, from->wire.data + *done, n);
		*done += n;
		moved = 1;
	}
	*done = end;
	return moved;
}

void sxt_pump(struct sxt_end *a, struct sxt_end *b, size_t chunk)
{
	int i;

	if (chunk == 0)
		chunk = (size_t)-1;
	for (i = 0; i < 100; i++) {
		int m = sxt_move(a, &a->pumped, b, chunk);

		m |= sxt_move(b, &b->pumped, a, chunk);
		if (!m)
			break;
	}
}

char *sxt_elem_string(struct sxt_end *e, int i)
{
	return nad_to_string(e->elems[i], NULL);
}
