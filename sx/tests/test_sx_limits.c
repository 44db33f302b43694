/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Hostile input to the sx stream parser: each attack must end in the RFC
 * 6120 stream error for it, with no crash and (under ASan) no leak. The
 * billion-laughs document, a 10 MB stanza, 10,000 nested elements, a
 * DOCTYPE and invalid UTF-8 are the cases named in the issue; the byte,
 * depth, attribute and header limits are also checked at their exact
 * boundaries.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sx/tests/sx_test.h"
#include "util/buf.h"
#include "util/nad.h"

#define STREAMS "http://etherx.jabber.org/streams"
#define HDR "<?xml version='1.0'?><stream:stream xmlns='jabber:client' " \
	"xmlns:stream='" STREAMS "' to='example.net' version='1.0'>"

static void expect_error(struct sxt_end *e, int r, const char *cond, const char *what)
{
	if (r != -1 || e->closed != 1 || e->cond == NULL || strcmp(e->cond, cond) != 0)
		fail_msg("%s: r %d, closed %d, condition %s, want %s", what, r, e->closed,
			 e->cond ? e->cond : "(null)", cond);
	/* The peer was told, in a stream error that ends the stream. */
	if (e->wire.data == NULL || strstr(e->wire.data, cond) == NULL ||
	    strstr(e->wire.data, "</stream:error></stream:stream>") == NULL)
		fail_msg("%s: no stream error sent: %s", what, e->wire.data ? e->wire.data : "");
}

/* Feed at every split and bytewise; each must end in `cond`. */
static void expect_everywhere(const char *input, size_t len, const char *cond)
{
	struct sxt_end e;
	size_t at;
	int r;

	for (at = 0; at <= len; at++) {
		sxt_init(&e, SX_SERVER, NULL);
		r = sxt_feed_split(&e, input, len, at);
		expect_error(&e, r, cond, input);
		sxt_done(&e);
	}
	sxt_init(&e, SX_SERVER, NULL);
	r = sxt_feed(&e, input, len, 1);
	expect_error(&e, r, cond, input);
	sxt_done(&e);
}

static void test_billion_laughs(void **state)
{
	static const char doc[] =
		"<?xml version='1.0'?>\n"
		"<!DOCTYPE lolz [\n"
		" <!ENTITY lol 'lol'>\n"
		" <!ENTITY lol1 '&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'>\n"
		" <!ENTITY lol2 '&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;'>\n"
		" <!ENTITY lol3 '&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;'>\n"
		" <!ENTITY lol4 '&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;'>\n"
		" <!ENTITY lol5 '&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;'>\n"
		" <!ENTITY lol6 '&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;'>\n"
		" <!ENTITY lol7 '&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;'>\n"
		" <!ENTITY lol8 '&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;'>\n"
		" <!ENTITY lol9 '&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;'>\n"
		"]>\n"
		"<stream:stream xmlns:stream='" STREAMS "' xmlns='jabber:client'>"
		"<message><body>&lol9;</body></message>";

	(void)state;
	expect_everywhere(doc, strlen(doc), "restricted-xml");
}

static void test_doctype(void **state)
{
	static const char *docs[] = {
		"<!DOCTYPE stream:stream>" HDR,
		"<?xml version='1.0'?><!DOCTYPE x SYSTEM 'file:///etc/passwd'>" HDR,
		"<!DOCTYPE x [<!ENTITY e SYSTEM 'http://127.0.0.1/'>]>" HDR "<a>&e;</a>",
		/* After the header it is not even well-formed. */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
		expect_everywhere(docs[i], strlen(docs[i]), "restricted-xml");
	expect_everywhere(HDR "<!DOCTYPE x>", strlen(HDR) + 12, "not-well-formed");
}

static void test_restricted(void **state)
{
	static const char *docs[] = {
		HDR "<!-- a comment -->",
		HDR "<message><!-- inside --></message>",
		"<!-- before the header -->" HDR,
		HDR "<?php system('id'); ?>",
		HDR "<message><?pi?></message>",
		"<?xml-stylesheet href='x'?>" HDR,
		HDR "<message>&xxe;</message>",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
		expect_everywhere(docs[i], strlen(docs[i]), "restricted-xml");
}

static void test_invalid_utf8(void **state)
{
	static const char *bad[] = {
		"\xff",                 /* never valid */
		"\xfe",
		"\xc0\xaf",             /* overlong '/' */
		"\xe0\x80\xaf",         /* overlong, 3 bytes */
		"\xf0\x80\x80\xaf",     /* overlong, 4 bytes */
		"\xed\xa0\x80",         /* UTF-16 surrogate D800 */
		"\xed\xbf\xbf",         /* surrogate DFFF */
		"\xf4\x90\x80\x80",     /* above U+10FFFF */
		"\xf8\x88\x80\x80\x80", /* 5-byte form */
		"\x80",                 /* lone continuation */
		"\xe2\x82<",            /* truncated sequence */
		"\xef\xbf\xbe",         /* U+FFFE is not an XML character */
		"\x01",                 /* control characters are not either */
	};
	static const char *where[] = {
		HDR "<message><body>%s</body></message>",
		HDR "<message to='%s'/>",
		HDR "<mess%sage/>",
		"<stream:stream xmlns:stream='" STREAMS "' to='%s'>",
	};
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (j = 0; j < sizeof(where) / sizeof(where[0]); j++) {
			char *doc = xasprintf(where[j], bad[i]);

			expect_everywhere(doc, strlen(doc), "not-well-formed");
			free(doc);
		}
	}
	/* An encoding declaration does not turn \xe9 into Latin-1. */
	{
		static const char latin1[] = "<?xml version='1.0' encoding='ISO-8859-1'?>"
			"<stream:stream xmlns:stream='" STREAMS "'><a>caf\xe9</a>";

		expect_everywhere(latin1, strlen(latin1), "not-well-formed");
	}
}

/* Header, then `<message><body>`, `n` bytes of text, and the end tags,
 * fed in `chunk`-byte pieces. Returns how many bytes were fed before the
 * stream closed (or all). */
static size_t feed_big_stanza(struct sxt_end *e, size_t n, size_t chunk, int in_attr)
{
	static const char pre_body[] = HDR "<message><body>";
	static const char pre_attr[] = HDR "<message to='";
	const char *pre = in_attr ? pre_attr : pre_body;
	const char *post = in_attr ? "'/>" : "</body></message>";
	size_t total = strlen(pre) + n + strlen(post), off = 0;
	char *doc = xmalloc(total);

	memcpy(doc, pre, strlen(pre));
	memset(doc + strlen(pre), 'a', n);
	memcpy(doc + strlen(pre) + n, post, strlen(post));
	while (off < total && e->closed == 0) {
		size_t k = total - off < chunk ? total - off : chunk;

		sx_input(e->sx, doc + off, k);
		off += k;
	}
	sxt_drain(e);
	free(doc);
	return off;
}

static void test_10mb_stanza(void **state)
{
	const size_t ten_mb = 10 * 1024 * 1024;
	struct sxt_end e;
	size_t fed;

	(void)state;
	/* In 4 KB reads, as from a socket: refused within the first 64 KB
	 * and a read, not after buffering 10 MB. */
	sxt_init(&e, SX_SERVER, NULL);
	fed = feed_big_stanza(&e, ten_mb, 4096, 0);
	expect_error(&e, -1, "policy-violation", "10 MB of text");
	assert_true(fed <= 65536 + 2 * 4096);
	assert_int_equal(e.nelems, 0);
	sxt_done(&e);
	/* The same inside a start tag, where expat itself would buffer. */
	sxt_init(&e, SX_SERVER, NULL);
	fed = feed_big_stanza(&e, ten_mb, 4096, 1);
	expect_error(&e, -1, "policy-violation", "10 MB attribute");
	assert_true(fed <= 65536 + 2 * 4096);
	sxt_done(&e);
	/* All 10 MB in one call. */
	sxt_init(&e, SX_SERVER, NULL);
	feed_big_stanza(&e, ten_mb, ten_mb + 4096, 1);
	expect_error(&e, -1, "policy-violation", "10 MB in one call");
	sxt_done(&e);
}

/* With max_stanza 200, a stanza of exactly 200 bytes passes and one of
 * 201 does not, wherever the input is split; a long stream of small
 * stanzas and keepalives never trips the limit. */
static void test_stanza_limit_boundary(void **state)
{
	struct sx_limits lim = { .max_stanza = 200 };
	static const char open[] = "<message><body>", close[] = "</body></message>";
	size_t body, at;
	int round;

	(void)state;
	for (body = 200 - strlen(open) - strlen(close); body <= 201 - strlen(open) - strlen(close);
	     body++) {
		struct buf doc = { 0 };
		int over = strlen(open) + body + strlen(close) > 200;

		buf_append_str(&doc, HDR "  ");
		buf_append_str(&doc, open);
		for (at = 0; at < body; at++)
			buf_append_char(&doc, 'x');
		buf_append_str(&doc, close);
		for (at = 0; at <= doc.len; at++) {
			struct sxt_end e;
			int r;

			sxt_init(&e, SX_SERVER, &lim);
			r = sxt_feed_split(&e, doc.data, doc.len, at);
			if (over)
				expect_error(&e, r, "policy-violation", "201-byte stanza");
			else
				assert_int_equal(e.nelems, 1);
			sxt_done(&e);
		}
		buf_free(&doc);
	}
	for (round = 0; round < 2; round++) {
		struct buf doc = { 0 };
		struct sxt_end e;
		int i;

		buf_append_str(&doc, HDR);
		for (i = 0; i < 1000; i++)
			buf_append_str(&doc, "<presence/> \n");
		sxt_init(&e, SX_SERVER, &lim);
		assert_int_equal(sxt_feed(&e, doc.data, doc.len, round ? 7 : 0), 0);
		assert_int_equal(e.nelems, 64);         /* the recorder keeps 64 */
		assert_int_equal(e.closed, 0);
		sxt_done(&e);
		buf_free(&doc);
	}
}

static void test_nesting(void **state)
{
	struct sx_limits lim = { .max_depth = 8 };
	struct buf doc = { 0 };
	struct sxt_end e;
	int i, depth;

	(void)state;
	/* 10,000 nested elements under the default limit. */
	buf_append_str(&doc, HDR);
	for (i = 0; i < 10000; i++)
		buf_append_str(&doc, "<a>");
	sxt_init(&e, SX_SERVER, NULL);
	expect_error(&e, sxt_feed(&e, doc.data, doc.len, 0), "policy-violation", "10000 deep");
	sxt_done(&e);
	sxt_init(&e, SX_SERVER, NULL);
	expect_error(&e, sxt_feed(&e, doc.data, doc.len, 3), "policy-violation", "10000 deep");
	sxt_done(&e);
	/* Exactly max_depth levels below the stream pass, one more fails. */
	for (depth = 8; depth <= 9; depth++) {
		buf_reset(&doc);
		buf_append_str(&doc, HDR);
		for (i = 0; i < depth; i++)
			buf_append_str(&doc, "<a>");
		for (i = 0; i < depth; i++)
			buf_append_str(&doc, "</a>");
		for (i = 0; i <= (int)doc.len; i++) {
			int r;

			sxt_init(&e, SX_SERVER, &lim);
			r = sxt_feed_split(&e, doc.data, doc.len, (size_t)i);
			if (depth > 8)
				expect_error(&e, r, "policy-violation", "depth 9");
			else
				assert_int_equal(e.nelems, 1);
			sxt_done(&e);
		}
	}
	buf_free(&doc);
}

static void test_attrs(void **state)
{
	struct sx_limits lim = { .max_attrs = 5 };
	int n;

	(void)state;
	for (n = 5; n <= 6; n++) {
		struct buf doc = { 0 }, hdr = { 0 };
		struct sxt_end e;
		int i, r;

		buf_append_str(&doc, HDR "<message");
		buf_append_str(&hdr, "<stream:stream xmlns:stream='" STREAMS "'");
		for (i = 0; i < n; i++) {
			buf_printf(&doc, " a%d='v'", i);
			buf_printf(&hdr, " a%d='v'", i);
		}
		buf_append_str(&doc, "/>");
		buf_append_char(&hdr, '>');
		sxt_init(&e, SX_SERVER, &lim);
		r = sxt_feed(&e, doc.data, doc.len, 0);
		if (n > 5)
			expect_error(&e, r, "policy-violation", "6 attributes");
		else
			assert_int_equal(e.nelems, 1);
		sxt_done(&e);
		/* The header counts too. */
		sxt_init(&e, SX_SERVER, &lim);
		r = sxt_feed(&e, hdr.data, hdr.len, 0);
		if (n > 5)
			expect_error(&e, r, "policy-violation", "6 header attributes");
		else
			assert_int_equal(e.opens, 1);
		sxt_done(&e);
		buf_free(&doc);
		buf_free(&hdr);
	}
	/* The default limit (64) against 10,000 attributes. */
	{
		struct buf doc = { 0 };
		struct sxt_end e;
		int i;

		buf_append_str(&doc, HDR "<message");
		for (i = 0; i < 10000; i++)
			buf_printf(&doc, " a%d=''", i);
		buf_append_str(&doc, "/>");
		sxt_init(&e, SX_SERVER, &(struct sx_limits){ .max_stanza = 1 << 20 });
		expect_error(&e, sxt_feed(&e, doc.data, doc.len, 0), "policy-violation",
			     "10000 attributes");
		sxt_done(&e);
		buf_free(&doc);
	}
}

static void test_header_limit(void **state)
{
	struct buf doc = { 0 };
	struct sxt_end e;
	int i;

	(void)state;
	buf_append_str(&doc, "<?xml version='1.0'?><stream:stream xmlns:stream='" STREAMS
		       "' to='");
	for (i = 0; i < 5000; i++)
		buf_append_char(&doc, 'a');
	buf_append_str(&doc, "'>");
	sxt_init(&e, SX_SERVER, NULL);
	expect_error(&e, sxt_feed(&e, doc.data, doc.len, 0), "policy-violation", "5000-byte header");
	assert_int_equal(e.opens, 0);
	sxt_done(&e);
	sxt_init(&e, SX_SERVER, NULL);
	expect_error(&e, sxt_feed(&e, doc.data, doc.len, 100), "policy-violation",
		     "5000-byte header in pieces");
	sxt_done(&e);
	/* A larger limit lets it through. */
	sxt_init(&e, SX_SERVER, &(struct sx_limits){ .max_header = 8192 });
	assert_int_equal(sxt_feed(&e, doc.data, doc.len, 0), 0);
	assert_int_equal(e.opens, 1);
	assert_int_equal(strlen(e.hdr_to), 5000);
	sxt_done(&e);
	buf_free(&doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_billion_laughs),
		cmocka_unit_test(test_doctype),
		cmocka_unit_test(test_restricted),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_10mb_stanza),
		cmocka_unit_test(test_stanza_limit_boundary),
		cmocka_unit_test(test_nesting),
		cmocka_unit_test(test_attrs),
		cmocka_unit_test(test_header_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
