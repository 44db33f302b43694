/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * buf: a growable byte buffer, and the allocation wrappers that every
 * part of the tree uses. The wrappers abort when memory runs out: a server
 * that cannot allocate a few bytes cannot do anything useful, and checking
 * every call would hide the real error paths.
 */
#ifndef UTIL_BUF_H
#define UTIL_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <string.h>

/* malloc/calloc/realloc/strdup/strndup that abort on failure. */
void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* xstrdup, or NULL for a NULL s (optional fields). */
char *xstrdup_opt(const char *s);
/* printf into a fresh allocation; the caller frees it. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * A byte buffer. `data` is always NUL-terminated (the NUL is not counted in
 * `len`), so text appended to it can be used as a C string. A zeroed struct
 * is an empty buffer; buf_free() releases it and leaves it empty again.
 */
struct buf {
	char *data;
	size_t len;
	size_t size;
};

void buf_init(struct buf *b);
void buf_free(struct buf *b);
/* Make room for at least `extra` more bytes. */
void buf_reserve(struct buf *b, size_t extra);

/* Appends: inline, since serializers make a call per small piece (a
 * route's start tag is dozens); buf_reserve only when the room is short
 * (size - len > len also holds the NUL; an empty buffer has size 0). */
static inline void buf_append(struct buf *b, const void *data, size_t len)
{
	if (b->size - b->len <= len)
		buf_reserve(b, len);
	if (len > 0)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

static inline void buf_append_str(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

static inline void buf_append_char(struct buf *b, char c)
{
	buf_append(b, &c, 1);
}

void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Append `len` bytes of text escaped for XML character data (&, <, >) or,
 * with `attr` set, for a single- or double-quoted attribute value (also '
 * and "). */
void buf_append_xml(struct buf *b, const char *text, size_t len, int attr);
/* Drop the first `n` bytes (a consumed prefix). */
void buf_consume(struct buf *b, size_t n);
void buf_reset(struct buf *b);
/* Hand the contents to the caller (NUL-terminated, free() it) and empty b. */
char *buf_steal(struct buf *b, size_t *len_r);

#endif
