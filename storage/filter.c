/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * filter: jabberd2's storage filter language. storage.c parses every
 * filter the sm passes before a driver runs it; SQL drivers turn the tree
 * into a WHERE condition with one bound parameter per (key=value) pair, so
 * values never reach SQL text.
 *
 * The parser is a strict recursive descent over a length-bounded buffer.
 * Unlike jabberd2's, it honours the length prefix inside nested terms, so
 * a value may hold ')' anywhere. Grammar:
 *	filter = "(" ( ("&" / "|") 1*filter / "!" filter / pair ) ")"
 *	pair   = key "=" ( length ":" *OCTET / ["-"] 1*DIGIT )
 *	key    = ALPHA *(ALPHA / DIGIT / "-" / "_")
 */
#include "config.h"
#include "storage/storage.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "storage/sql.h"
#include "storage/storage_private.h"
#include "util/buf.h"

#define FILTER_MAX_KEY 64
/* A string's length prefix has at most this many digits (under 1 GB). */
#define FILTER_MAX_LEN_DIGITS 9

struct parser {
	const char *text;
	size_t len;
	size_t pos;
	unsigned nodes;
	const char *error;
};

static int is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int peek(const struct parser *p, char c)
{
	return p->pos < p->len && p->text[p->pos] == c;
}

static int expect(struct parser *p, char c, const char *error)
{
	if (!peek(p, c)) {
		p->error = error;
		return -1;
	}
	p->pos++;
	return 0;
}

static struct storage_filter *node_new(struct parser *p, enum storage_filter_op op)
{
	struct storage_filter *f;

	if (++p->nodes > STORAGE_FILTER_MAX_NODES) {
		p->error = "filter has too many terms";
		return NULL;
	}
	f = xcalloc(1, sizeof(*f));
	f->op = op;
	return f;
}

static int parse_key(struct parser *p, struct storage_filter *f)
{
	size_t start = p->pos;

	while (p->pos < p->len && (is_alpha(p->text[p->pos]) || is_digit(p->text[p->pos]) ||
				   p->text[p->pos] == '-' || p->text[p->pos] == '_'))
		p->pos++;
	if (p->pos - start > FILTER_MAX_KEY) {
		p->error = "filter key too long";
		return -1;
	}
	f->key = xstrndup(p->text + start, p->pos - start);
	return expect(p, '=', "filter key not followed by '='");
}

/* A string value: the digits of its length are at p->pos, then ':'. */
static int parse_string(struct parser *p, struct storage_filter *f, size_t ndigits)
{
	size_t n = 0;

	if (ndigits > FILTER_MAX_LEN_DIGITS) {
		p->error = "filter string length too long";
		return -1;
	}
	for (size_t i = 0; i < ndigits; i++)
		n = n * 10 + (size_t)(p->text[p->pos + i] - '0');
	p->pos += ndigits + 1;
	if (n > p->len - p->pos) {
		p->error = "filter string runs past the end";
		return -1;
	}
	if (memchr(p->text + p->pos, '\0', n) != NULL) {
		p->error = "filter string holds a NUL byte";
		return -1;
	}
	f->value = xstrndup(p->text + p->pos, n);
	f->value_len = n;
	p->pos += n;
	return 0;
}

static int parse_integer(struct parser *p, struct storage_filter *f)
{
	int neg = peek(p, '-');
	/* The magnitude of INT64_MIN is one more than INT64_MAX. */
	uint64_t limit = (uint64_t)INT64_MAX + (neg ? 1u : 0u);
	uint64_t v = 0, d;
	size_t start;

	if (neg)
		p->pos++;
	start = p->pos;
	while (p->pos < p->len && is_digit(p->text[p->pos])) {
		d = (uint64_t)(p->text[p->pos] - '0');
		if (v > (limit - d) / 10) {
			p->error = "filter integer out of range";
			return -1;
		}
		v = v * 10 + d;
		p->pos++;
	}
	if (p->pos == start) {
		p->error = "filter value is neither a string nor an integer";
		return -1;
	}
	f->is_int = 1;
	if (neg && v == limit)
		f->ival = INT64_MIN;
	else
		f->ival = neg ? -(int64_t)v : (int64_t)v;
	return 0;
}

static int parse_pair(struct parser *p, struct storage_filter *f)
{
	size_t ndigits = 0;

	if (parse_key(p, f) < 0)
		return -1;
	while (p->pos + ndigits < p->len && is_digit(p->text[p->pos + ndigits]))
		ndigits++;
	if (ndigits > 0 && p->pos + ndigits < p->len && p->text[p->pos + ndigits] == ':')
		return parse_string(p, f, ndigits);
	return parse_integer(p, f);
}

static struct storage_filter *parse_filter(struct parser *p, unsigned depth);

/* Children of an operator: one for '!', one or more for '&' and '|'. */
static int parse_children(struct parser *p, struct storage_filter *f, unsigned depth)
{
	struct storage_filter **tail = &f->sub;

	do {
		*tail = parse_filter(p, depth + 1);
		if (*tail == NULL)
			return -1;
		tail = &(*tail)->next;
	} while (f->op != STORAGE_FILTER_NOT && peek(p, '('));
	return 0;
}

static struct storage_filter *parse_filter(struct parser *p, unsigned depth)
{
	struct storage_filter *f;
	enum storage_filter_op op;
	char c;

	if (depth >= STORAGE_FILTER_MAX_DEPTH) {
		p->error = "filter nested too deeply";
		return NULL;
	}
	if (expect(p, '(', "filter term does not start with '('") < 0)
		return NULL;
	if (p->pos >= p->len) {
		p->error = "filter ends inside a term";
		return NULL;
	}
	c = p->text[p->pos];
	if (c == '&' || c == '|' || c == '!')
		op = c == '&' ? STORAGE_FILTER_AND : c == '|' ? STORAGE_FILTER_OR : STORAGE_FILTER_NOT;
	else if (is_alpha(c))
		op = STORAGE_FILTER_PAIR;
	else {
		p->error = "filter term is neither an operator nor key=value";
		return NULL;
	}
	if ((f = node_new(p, op)) == NULL)
		return NULL;
	if (op != STORAGE_FILTER_PAIR)
		p->pos++;
	if ((op == STORAGE_FILTER_PAIR ? parse_pair(p, f) : parse_children(p, f, depth)) < 0 ||
	    expect(p, ')', "filter term not closed by ')'") < 0) {
		storage_filter_free(&f);
		return NULL;
	}
	return f;
}

int storage_filter_parse(const char *text, size_t len, struct storage_filter **filter_r,
			 const char **error_r)
{
	struct parser p = { .text = text, .len = len };
	struct storage_filter *f;

	*filter_r = NULL;
	f = parse_filter(&p, 0);
	if (f == NULL) {
		*error_r = p.error;
		return -1;
	}
	if (p.pos != len) {
		storage_filter_free(&f);
		*error_r = "text after the end of the filter";
		return -1;
	}
	*filter_r = f;
	return 0;
}

void storage_filter_free(struct storage_filter **filterp)
{
	struct storage_filter *f = *filterp, *next;

	/* Siblings iteratively, children recursively: depth is bounded by
	 * the parser. */
	while (f != NULL) {
		next = f->next;
		storage_filter_free(&f->sub);
		free(f->key);
		free(f->value);
		free(f);
		f = next;
	}
	*filterp = NULL;
}

int storage_filter_check(const char *filter, const char **error_r)
{
	struct storage_filter *f;

	if (filter == NULL) {
		*error_r = "no filter";
		return -1;
	}
	if (storage_filter_parse(filter, strlen(filter), &f, error_r) < 0)
		return -1;
	storage_filter_free(&f);
	return 0;
}

void storage_filter_sql(const struct storage_filter *f, enum storage_param_style style,
			int *param_no, struct buf *sql)
{
	const struct storage_filter *s;

	switch (f->op) {
	case STORAGE_FILTER_PAIR:
		buf_append_char(sql, '(');
		sql_ident(sql, NULL, f->key);
		++*param_no;
		if (style == STORAGE_PARAM_DOLLAR)
			buf_printf(sql, " = $%d)", *param_no);
		else
			buf_append_str(sql, " = ?)");
		break;
	case STORAGE_FILTER_NOT:
		buf_append_str(sql, "(NOT ");
		storage_filter_sql(f->sub, style, param_no, sql);
		buf_append_char(sql, ')');
		break;
	case STORAGE_FILTER_AND:
	case STORAGE_FILTER_OR:
		buf_append_char(sql, '(');
		for (s = f->sub; s != NULL; s = s->next) {
			if (s != f->sub)
				buf_append_str(sql, f->op == STORAGE_FILTER_AND ? " AND " : " OR ");
			storage_filter_sql(s, style, param_no, sql);
		}
		buf_append_char(sql, ')');
		break;
	}
}

static void collect_pairs(const struct storage_filter *f, const struct storage_filter **out,
			  size_t max, size_t *n)
{
	for (; f != NULL; f = f->next) {
		if (f->op == STORAGE_FILTER_PAIR) {
			if (*n < max)
				out[*n] = f;
			++*n;
		} else {
			collect_pairs(f->sub, out, max, n);
		}
	}
}

size_t storage_filter_pairs(const struct storage_filter *f, const struct storage_filter **out,
			    size_t max)
{
	size_t n = 0;

	if (f == NULL)
		return 0;
	/* The root has no siblings; walk it alone. */
	if (f->op == STORAGE_FILTER_PAIR) {
		if (max > 0)
			out[0] = f;
		return 1;
	}
	collect_pairs(f->sub, out, max, &n);
	return n;
}

char *storage_filter_str(const char *key, const char *value)
{
	return xasprintf("(%s=%zu:%s)", key, strlen(value), value);
}

char *storage_filter_int(const char *key, int64_t value)
{
	return xasprintf("(%s=%" PRId64 ")", key, value);
}

char *storage_filter_and(size_t n, const char *const *terms)
{
	struct buf b = { 0 };

	if (n == 1)
		return xstrdup(terms[0]);
	buf_append_str(&b, "(&");
	for (size_t i = 0; i < n; i++)
		buf_append_str(&b, terms[i]);
	buf_append_char(&b, ')');
	return buf_steal(&b, NULL);
}
