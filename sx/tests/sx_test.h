/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sx_test: what the sx unit tests share. An "end" is one sx stream with
 * callbacks that record everything it reports (headers, elements, the
 * close), collect its output, and optionally answer a stream header the
 * way a server does. Two ends can be wired back to back in memory.
 */
#ifndef SX_TESTS_SX_TEST_H
#define SX_TESTS_SX_TEST_H

#include <stddef.h>

#include "sx/sx.h"
#include "util/buf.h"

#define SXT_MAX_ELEMS 64

struct sxt_end {
	struct sx *sx;
	/* What the callbacks saw. */
	int opens;
	char *hdr_ns, *hdr_to, *hdr_from, *hdr_id, *hdr_version, *hdr_lang;
	char *hdr_extra_prefix, *hdr_extra_ns;
	struct nad *elems[SXT_MAX_ELEMS];
	int nelems;
	int closed;             /* times the closed callback ran */
	char *cond;             /* its condition, NULL for a plain close */
	char *text;
	int want_write;         /* times want_write ran */
	int events[4];
	/* Everything the stream wrote (the wire, from this end). */
	struct buf wire;
	size_t pumped;          /* bytes of wire already given to the peer */
	/* Server behaviour: answer a header with sx_open (and features). */
	int auto_open;
	int auto_features;
	/* Hooks for re-entrancy tests, run from the element callback. */
	const char *error_on_element;   /* condition for sx_error */
	int free_on_close;              /* sx_free from the closed callback */
	int close_on_element;           /* sx_close from the element callback */
};

/* A fresh end of the given type; limits may be NULL. */
void sxt_init(struct sxt_end *e, enum sx_type type, const struct sx_limits *limits);
void sxt_done(struct sxt_end *e);
/* Move the stream's pending output into e->wire (and return the new
 * bytes' offset in it). */
size_t sxt_drain(struct sxt_end *e);
/* Feed bytes in pieces of `chunk` (0: all at once). Returns the last
 * sx_input result. */
int sxt_feed(struct sxt_end *e, const char *data, size_t len, size_t chunk);
/* Feed split into two pieces at `at`. */
int sxt_feed_split(struct sxt_end *e, const char *data, size_t len, size_t at);
/* Shuttle output between a and b in pieces of `chunk` until both are
 * quiet (bounded). */
void sxt_pump(struct sxt_end *a, struct sxt_end *b, size_t chunk);
/* Serialize element i as received (default namespace none). */
char *sxt_elem_string(struct sxt_end *e, int i);

#endif
