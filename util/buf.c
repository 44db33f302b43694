/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * buf: allocation wrappers that abort on failure, and the growable byte
 * buffer every serializer and socket writer in the tree appends to. See
 * util/buf.h for the contracts.
 */
#include "config.h"
#include "util/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Out of memory: say so with write(2), which needs no allocation, and stop. */
static void __attribute__((noreturn)) buf_oom(size_t size)
{
	static const char msg[] = "fatal: out of memory\n";
	ssize_t n;

	(void)size;
	n = write(STDERR_FILENO, msg, sizeof(msg) - 1);
	(void)n;
	abort();
}

void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (p == NULL)
		buf_oom(size);
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p;

	if (n == 0 || size == 0)
		n = size = 1;
	p = calloc(n, size);
	if (p == NULL)
		buf_oom(size);
	return p;
}

void *xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);

	if (p == NULL)
		buf_oom(size);
	return p;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrdup_opt(const char *s)
{
	return s == NULL ? NULL : xstrdup(s);
}

char *xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	struct buf b = { 0 };
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	return buf_steal(&b, NULL);
}

void buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->size = 0;
}

void buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

void buf_reserve(struct buf *b, size_t extra)
{
	size_t need, size;

	/* One more byte than asked for keeps room for the terminating NUL. */
	if (extra > (size_t)-1 - b->len - 1)
		buf_oom(extra);
	need = b->len + extra + 1;
	if (need <= b->size)
		return;
	size = b->size ? b->size : 64;
	while (size < need)
		size = size > (size_t)-1 / 2 ? need : size * 2;
	b->data = xrealloc(b->data, size);
	b->size = size;
	if (b->len == 0)
		b->data[0] = '\0';
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	/* Try in the space we have; if it was too small, grow and retry once. */
	buf_reserve(b, 0);
	va_copy(ap2, ap);
	n = vsnprintf(b->data + b->len, b->size - b->len, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		b->data[b->len] = '\0';
		return;
	}
	if ((size_t)n >= b->size - b->len) {
		buf_reserve(b, (size_t)n);
		va_copy(ap2, ap);
		n = vsnprintf(b->data + b->len, b->size - b->len, fmt, ap2);
		va_end(ap2);
		if (n < 0) {
			b->data[b->len] = '\0';
			return;
		}
	}
	b->len += (size_t)n;
}

/* The entity for one byte, or NULL if it goes out as is. */
static const char *buf_xml_entity(char c, int attr)
{
	switch (c) {
	case '&':
		return "&amp;";
	case '<':
		return "&lt;";
	case '>':
		return "&gt;";
	case '\'':
		return attr ? "&apos;" : NULL;
	case '"':
		return attr ? "&quot;" : NULL;
	default:
		return NULL;
	}
}

void buf_append_xml(struct buf *b, const char *text, size_t len, int attr)
{
	size_t i, start = 0;
	const char *ent;

	buf_reserve(b, len);
	for (i = 0; i < len; i++) {
		ent = buf_xml_entity(text[i], attr);
		if (ent == NULL)
			continue;
		buf_append(b, text + start, i - start);
		buf_append_str(b, ent);
		start = i + 1;
	}
	buf_append(b, text + start, len - start);
}

void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

char *buf_steal(struct buf *b, size_t *len_r)
{
	char *data;

	buf_reserve(b, 0);
	data = b->data;
	if (len_r != NULL)
		*len_r = b->len;
	buf_init(b);
	return data;
}
