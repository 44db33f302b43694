/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * report.c: the status socket's request parser and its reports, made
 * from the daemon's Prometheus text (metrics.h). No I/O, no state: the
 * text the HTTP port serves is read back here, so that both show the
 * same counters from one rendering.
 */
#include "config.h"
#include "metrics/metrics.h"

#include <stdio.h>
#include <string.h>

#include "util/buf.h"

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

enum metrics_ctl_req metrics_ctl_parse(const char *line, size_t len)
{
	size_t i;

	while (len > 0 && is_blank(line[0])) {
		line++;
		len--;
	}
	while (len > 0 && is_blank(line[len - 1]))
		len--;
	if (len == 7 && memcmp(line, "metrics", 7) == 0)
		return METRICS_CTL_METRICS;
	if (len < 6 || memcmp(line, "status", 6) != 0)
		return METRICS_CTL_INVALID;
	if (len == 6)
		return METRICS_CTL_STATUS;
	if (!is_blank(line[6]))
		return METRICS_CTL_INVALID;
	for (i = 6; i < len && is_blank(line[i]); i++)
		;
	if (len - i == 4 && memcmp(line + i, "json", 4) == 0)
		return METRICS_CTL_JSON;
	if (len - i == 4 && memcmp(line + i, "text", 4) == 0)
		return METRICS_CTL_STATUS;
	return METRICS_CTL_INVALID;
}

/* ---- reading the text format ---- */

struct span {
	const char *p;
	size_t n;
};

struct sample {
	struct span name;
	struct span key[METRICS_LABELS_MAX];
	struct span val[METRICS_LABELS_MAX];   /* escaped as in the text */
	int nlabels;
	struct span labels;     /* "{...}" as written, or empty */
	struct span value;
};

static int name_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}

static int name_char(char c)
{
	return name_start(c) || (c >= '0' && c <= '9');
}

/* A metric or label name at p[*i]; 0 if there is none. */
static int read_name(const char *p, size_t n, size_t *i, struct span *out)
{
	size_t s = *i;

	if (s >= n || !name_start(p[s]))
		return 0;
	while (*i < n && name_char(p[*i]))
		(*i)++;
	out->p = p + s;
	out->n = *i - s;
	return 1;
}

/* {k="v",...} at p[*i] (the brace already seen). */
static int read_labels(const char *p, size_t n, size_t *i, struct sample *s)
{
	size_t start = *i;

	(*i)++;
	while (*i < n && p[*i] != '}') {
		struct span k, v;

		if (s->nlabels == METRICS_LABELS_MAX || !read_name(p, n, i, &k) || *i + 1 >= n ||
		    p[*i] != '=' || p[*i + 1] != '"')
			return 0;
		*i += 2;
		v.p = p + *i;
		while (*i < n && p[*i] != '"') {
			if (p[*i] == '\\') {
				if (*i + 1 >= n || (p[*i + 1] != '\\' && p[*i + 1] != '"' &&
						    p[*i + 1] != 'n'))
					return 0;
				(*i)++;
			}
			(*i)++;
		}
		if (*i >= n)
			return 0;
		v.n = (size_t)(p + *i - v.p);
		(*i)++;
		s->key[s->nlabels] = k;
		s->val[s->nlabels] = v;
		s->nlabels++;
		if (*i < n && p[*i] == ',')
			(*i)++;
		else if (*i >= n || p[*i] != '}')
			return 0;
	}
	if (*i >= n)
		return 0;
	(*i)++;
	s->labels.p = p + start;
	s->labels.n = *i - start;
	return 1;
}

/* A sample line: name, labels, a blank, the value (a timestamp after it
 * is allowed and ignored). */
static int read_sample(const char *p, size_t n, struct sample *s)
{
	size_t i = 0, v;

	memset(s, 0, sizeof(*s));
	if (!read_name(p, n, &i, &s->name))
		return 0;
	if (i < n && p[i] == '{' && !read_labels(p, n, &i, s))
		return 0;
	if (i >= n || (p[i] != ' ' && p[i] != '\t'))
		return 0;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	v = i;
	while (i < n && p[i] != ' ' && p[i] != '\t')
		i++;
	if (i == v)
		return 0;
	s->value.p = p + v;
	s->value.n = i - v;
	return 1;
}

/* Does `v` follow JSON's number grammar? */
static int json_number(struct span v)
{
	size_t i = 0;
	size_t d;

	if (i < v.n && v.p[i] == '-')
		i++;
	if (i >= v.n || v.p[i] < '0' || v.p[i] > '9')
		return 0;
	if (v.p[i] == '0')
		i++;
	else
		while (i < v.n && v.p[i] >= '0' && v.p[i] <= '9')
			i++;
	if (i < v.n && v.p[i] == '.') {
		d = ++i;
		while (i < v.n && v.p[i] >= '0' && v.p[i] <= '9')
			i++;
		if (i == d)
			return 0;
	}
	if (i < v.n && (v.p[i] == 'e' || v.p[i] == 'E')) {
		i++;
		if (i < v.n && (v.p[i] == '+' || v.p[i] == '-'))
			i++;
		d = i;
		while (i < v.n && v.p[i] >= '0' && v.p[i] <= '9')
			i++;
		if (i == d)
			return 0;
	}
	return i == v.n;
}

/* A JSON string from `n` bytes; with `unescape`, the text format's \\, \"
 * and \n are read first. Control bytes and anything not ASCII printable
 * are written as \u00XX (our names and help texts are ASCII; a byte
 * above 0x7f is not guessed into a character). */
static void json_str(struct buf *out, const char *p, size_t n, int unescape)
{
	buf_append_char(out, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (unescape && c == '\\' && i + 1 < n) {
			c = (unsigned char)p[++i];
			if (c == 'n')
				c = '\n';
		}
		if (c == '"' || c == '\\')
			buf_printf(out, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			buf_printf(out, "\\u%04x", c);
		else
			buf_append_char(out, (char)c);
	}
	buf_append_char(out, '"');
}

/* The lines of `prom`, one at a time: *line, *n; 0 at the end. A line
 * over METRICS_LINE_MAX is an error (-1). */
static int next_line(const char *prom, size_t len, size_t *pos, const char **line, size_t *n)
{
	const char *nl;

	if (*pos >= len)
		return 0;
	*line = prom + *pos;
	nl = memchr(*line, '\n', len - *pos);
	*n = nl != NULL ? (size_t)(nl - *line) : len - *pos;
	*pos += *n + (nl != NULL);
	if (*n > 0 && (*line)[*n - 1] == '\r')
		(*n)--;
	return *n > METRICS_LINE_MAX ? -1 : 1;
}

/* "# HELP name rest" or "# TYPE name rest": 1 with name and rest. */
static int comment(const char *p, size_t n, const char *kw, struct span *name, struct span *rest)
{
	size_t i = 7;

	if (n < 7 || memcmp(p, "# ", 2) != 0 || memcmp(p + 2, kw, 4) != 0 || p[6] != ' ')
		return 0;
	if (!read_name(p, n, &i, name))
		return 0;
	if (i < n && p[i] == ' ')
		i++;
	else if (i < n)
		return 0;
	rest->p = p + i;
	rest->n = n - i;
	return 1;
}

/* A NUL anywhere is not text format. */
static int check_text(const char *prom, size_t len, const char **error_r)
{
	if (memchr(prom, '\0', len) != NULL) {
		*error_r = "a NUL byte in the metrics text";
		return -1;
	}
	return 0;
}

int metrics_report_text(const char *prom, size_t len, const char *daemon, long pid,
			struct buf *out, const char **error_r)
{
	char prefix[64];
	size_t pos = 0, n, plen;
	const char *line;
	int rc;

	if (check_text(prom, len, error_r) < 0)
		return -1;
	plen = (size_t)snprintf(prefix, sizeof(prefix), "jabberd_%s_", daemon);
	if (plen >= sizeof(prefix))
		plen = 0;
	buf_printf(out, "daemon %s pid %ld\n", daemon, pid);
	while ((rc = next_line(prom, len, &pos, &line, &n)) > 0) {
		struct sample s;
		const char *name;
		size_t nlen, width;

		if (n == 0 || line[0] == '#')
			continue;
		if (!read_sample(line, n, &s)) {
			*error_r = "a malformed sample in the metrics text";
			return -1;
		}
		name = s.name.p;
		nlen = s.name.n;
		if (plen > 0 && nlen > plen && memcmp(name, prefix, plen) == 0) {
			name += plen;
			nlen -= plen;
		}
		width = nlen + s.labels.n;
		buf_printf(out, "  %.*s%.*s%*s %.*s\n", (int)nlen, name, (int)s.labels.n,
			   s.labels.p, width < 36 ? (int)(36 - width) : 0, "", (int)s.value.n,
			   s.value.p);
	}
	if (rc < 0) {
		*error_r = "a line of the metrics text over 4096 bytes";
		return -1;
	}
	return 0;
}

struct family {
	struct span name, type, help;
	int open;               /* written up to its samples' '[' */
	int nsamples;
};

static void family_open(struct buf *out, struct family *f, int *nfamilies)
{
	if (f->open)
		return;
	buf_append_str(out, *nfamilies > 0 ? "," : "");
	json_str(out, f->name.p, f->name.n, 0);
	buf_append_str(out, ":{\"type\":");
	if (f->type.n > 0)
		json_str(out, f->type.p, f->type.n, 0);
	else
		buf_append_str(out, "\"untyped\"");
	buf_append_str(out, ",\"help\":");
	json_str(out, f->help.p, f->help.n, 1);
	buf_append_str(out, ",\"samples\":[");
	f->open = 1;
	(*nfamilies)++;
}

static void family_close(struct buf *out, struct family *f)
{
	if (f->open)
		buf_append_str(out, "]}");
	memset(f, 0, sizeof(*f));
}

/* The family a HELP, TYPE or sample of `name` belongs to: the current
 * one, or a new one (the current closed). */
static void family_for(struct buf *out, struct family *f, struct span name)
{
	if (f->name.p != NULL && f->name.n == name.n && memcmp(f->name.p, name.p, name.n) == 0)
		return;
	family_close(out, f);
	f->name = name;
}

int metrics_report_json(const char *prom, size_t len, const char *daemon, long pid,
			struct buf *out, const char **error_r)
{
	struct family f = { 0 };
	int nfamilies = 0, rc;
	size_t pos = 0, n;
	const char *line;

	if (check_text(prom, len, error_r) < 0)
		return -1;
	buf_append_str(out, "{\"daemon\":");
	json_str(out, daemon, strlen(daemon), 0);
	buf_printf(out, ",\"pid\":%ld,\"metrics\":{", pid);
	while ((rc = next_line(prom, len, &pos, &line, &n)) > 0) {
		struct span name, rest;
		struct sample s;

		if (n == 0)
			continue;
		if (comment(line, n, "HELP", &name, &rest)) {
			family_for(out, &f, name);
			if (!f.open)
				f.help = rest;
			continue;
		}
		if (comment(line, n, "TYPE", &name, &rest)) {
			family_for(out, &f, name);
			if (!f.open)
				f.type = rest;
			continue;
		}
		if (line[0] == '#')
			continue;
		if (!read_sample(line, n, &s)) {
			*error_r = "a malformed sample in the metrics text";
			return -1;
		}
		family_for(out, &f, s.name);
		family_open(out, &f, &nfamilies);
		buf_append_str(out, f.nsamples++ > 0 ? ",{\"labels\":{" : "{\"labels\":{");
		for (int i = 0; i < s.nlabels; i++) {
			buf_append_str(out, i > 0 ? "," : "");
			json_str(out, s.key[i].p, s.key[i].n, 0);
			buf_append_char(out, ':');
			json_str(out, s.val[i].p, s.val[i].n, 1);
		}
		buf_append_str(out, "},\"value\":");
		if (json_number(s.value))
			buf_append(out, s.value.p, s.value.n);
		else
			json_str(out, s.value.p, s.value.n, 0);
		buf_append_char(out, '}');
	}
	if (rc < 0) {
		*error_r = "a line of the metrics text over 4096 bytes";
		return -1;
	}
	family_close(out, &f);
	buf_append_str(out, "}}\n");
	return 0;
}
