/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * http.c: the metrics port's request reader (RFC 9112's request line and
 * header fields, only as much as GET /metrics needs) and the Prometheus
 * text helpers. No allocation, no state between calls: the server gives
 * it everything received so far.
 */
#include "config.h"
#include "metrics/metrics.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "util/buf.h"

/* tchar of RFC 9110 5.6.2. */
static int is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* The end of the header block: the offset after the empty line, or 0. A
 * bare LF ends a line too (RFC 9112 2.2 lets a server accept it). */
static size_t header_end(const char *d, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (d[i] != '\n')
			continue;
		if (i + 1 < len && d[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && d[i + 1] == '\r' && d[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* One line [p, e) without its CR LF. */
static size_t line_len(const char *p, const char *e)
{
	const char *nl = memchr(p, '\n', (size_t)(e - p));
	size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(e - p);

	return n > 0 && p[n - 1] == '\r' ? n - 1 : n;
}

static long request_line(const char *p, size_t n, struct metrics_req *req)
{
	const char *sp1 = memchr(p, ' ', n), *sp2, *target, *q;
	size_t mlen, tlen;

	if (sp1 == NULL)
		return -400;
	mlen = (size_t)(sp1 - p);
	for (size_t i = 0; i < mlen; i++)
		if (!is_tchar((unsigned char)p[i]))
			return -400;
	target = sp1 + 1;
	sp2 = memchr(target, ' ', n - (size_t)(target - p));
	if (mlen == 0 || sp2 == NULL || sp2 == target)
		return -400;
	tlen = (size_t)(sp2 - target);
	for (size_t i = 0; i < tlen; i++)
		if ((unsigned char)target[i] <= ' ' || target[i] == 0x7f)
			return -400;
	/* The version: exactly "HTTP/1.0" or "HTTP/1.1" to the end. */
	if ((size_t)(p + n - (sp2 + 1)) != 8 || memcmp(sp2 + 1, "HTTP/", 5) != 0 ||
	    sp2[7] != '.' || sp2[6] < '0' || sp2[6] > '9' || sp2[8] < '0' || sp2[8] > '9')
		return -400;
	if (sp2[6] != '1' || (sp2[8] != '0' && sp2[8] != '1'))
		return -505;
	req->minor = sp2[8] - '0';
	if (mlen == 3 && memcmp(p, "GET", 3) == 0)
		req->method = METRICS_GET;
	else if (mlen == 4 && memcmp(p, "HEAD", 4) == 0)
		req->method = METRICS_HEAD;
	else
		return -405;
	q = memchr(target, '?', tlen);
	if (q != NULL)
		tlen = (size_t)(q - target);
	req->is_metrics = tlen == 8 && memcmp(target, "/metrics", 8) == 0;
	return 0;
}

long metrics_http_parse(const char *data, size_t len, struct metrics_req *req)
{
	size_t end, n;
	const char *p, *stop;
	long rc;

	memset(req, 0, sizeof(*req));
	/* Robustness (RFC 9112 2.2): empty lines before the request line. */
	p = data;
	while ((size_t)(p - data) < len && (*p == '\r' || *p == '\n'))
		p++;
	if ((size_t)(p - data) > 8)
		return -400;
	end = header_end(p, len - (size_t)(p - data));
	/* A NUL in the request (not in what may follow it) is malformed. */
	if (memchr(data, '\0', end > 0 ? (size_t)(p - data) + end : len) != NULL)
		return -400;
	if (end == 0)
		return len >= METRICS_REQ_MAX ? -431 : 0;
	if ((size_t)(p - data) + end > METRICS_REQ_MAX)
		return -431;
	stop = p + end;
	n = line_len(p, stop);
	if ((rc = request_line(p, n, req)) < 0)
		return rc;
	p = memchr(p, '\n', (size_t)(stop - p)) + 1;
	/* Header fields: name ":" value, no control characters but HTAB,
	 * no obsolete line folding. Their values are not used. */
	while (p < stop) {
		const char *colon;

		n = line_len(p, stop);
		if (n == 0)
			break;
		colon = memchr(p, ':', n);
		if (colon == NULL || colon == p)
			return -400;
		for (const char *c = p; c < colon; c++)
			if (!is_tchar((unsigned char)*c))
				return -400;
		for (const char *c = colon + 1; c < p + n; c++)
			if (((unsigned char)*c < ' ' && *c != '\t') || *c == 0x7f)
				return -400;
		p = memchr(p, '\n', (size_t)(stop - p)) + 1;
	}
	return (long)((size_t)(stop - data));
}

void metrics_head(struct buf *out, const char *name, const char *type, const char *help)
{
	buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void metrics_sample(struct buf *out, const char *name, uint64_t value)
{
	buf_printf(out, "%s %" PRIu64 "\n", name, value);
}

void metrics_sample_label(struct buf *out, const char *name, const char *label,
			  const char *lvalue, uint64_t value)
{
	buf_printf(out, "%s{%s=\"", name, label);
	for (const char *s = lvalue; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			buf_printf(out, "\\%c", *s);
		else if (*s == '\n')
			buf_append_str(out, "\\n");
		else
			buf_append_char(out, *s);
	}
	buf_printf(out, "\"} %" PRIu64 "\n", value);
}

void metrics_sample_double(struct buf *out, const char *name, double value)
{
	buf_printf(out, "%s %.6f\n", name, value);
}

void metrics_one(struct buf *out, const char *name, const char *type, const char *help,
		 uint64_t value)
{
	metrics_head(out, name, type, help);
	metrics_sample(out, name, value);
}
