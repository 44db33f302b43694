/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for sx_keep_raw: a top-level element's received bytes go with
 * its nad (nad_raw) exactly, however the input is split (every split
 * point, one byte at a time, with the parser trimmed between elements);
 * elements whose meaning depends on the stream's prefixes get none; the
 * default namespace the bytes rely on is recorded; and sx_send writes the
 * bytes only where they mean the same (same default namespace, nad not
 * changed), else serializes the tree.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sx/tests/sx_test.h"
#include "util/buf.h"
#include "util/nad.h"

#define STREAMS "http://etherx.jabber.org/streams"
#define COMP "http://jabberd.jabberstudio.org/ns/component/1.0"
#define ACCEPT "jabber:component:accept"
/* A component stream header as jabberd2's components send it, with the
 * dialback prefix declared too (for the prefix cases). */
#define HDR "<?xml version='1.0'?><stream:stream xmlns:stream='" STREAMS "' " \
	"xmlns='" ACCEPT "' xmlns:db='jabber:server:dialback' to='router'>"

/* One element of the input and what its nad must carry. */
struct raw_case {
	const char *xml;
	int raw;                /* bytes attached */
	const char *ns;         /* the inherited namespace recorded, or NULL */
};

static const struct raw_case cases[] = {
	/* A route as our sm and jabberd2's send it: self-contained. */
	{ "<route xmlns='" COMP "' to='sm' from='c2s'><message xmlns='jabber:client' "
	  "to='a@b/r' from='c@d/e' type='chat' id='m1'><body>hi &amp; &lt;bye&gt;</body>"
	  "</message></route>", 1, NULL },
	/* Formatting a serializer would change: double quotes, spaces in tags,
	 * character references, CDATA, a newline, xml:lang, an empty xmlns. */
	{ "<route  xmlns=\"" COMP "\"\n to=\"sm\" from='c2s' ><message xmlns='jabber:client' "
	  "xml:lang='en'><body>&#x263A; <![CDATA[<not> a tag]]></body><x xmlns=''/>"
	  "</message ></route>", 1, NULL },
	/* Unprefixed, relying on the stream's default namespace. */
	{ "<route to='sm' from='c2s'><message><body>x</body></message></route>", 1, ACCEPT },
	/* Self-contained root, but a child in the stream's namespace. */
	{ "<route xmlns='" COMP "'><message xmlns='jabber:client'/></route>", 1, NULL },
	/* Prefixes bound on the stream header: no bytes. */
	{ "<db:verify to='a' from='b' id='1'>k</db:verify>", 0, NULL },
	{ "<route xmlns='" COMP "' db:x='1'/>", 0, NULL },
	{ "<stream:features/>", 0, NULL },
	/* Prefixes declared inside, in scope where used: bytes (jabberd2's
	 * session attributes on c2s routes). */
	{ "<route xmlns='" COMP "'><message xmlns='jabber:client' xmlns:sc='urn:sc' "
	  "sc:c2s='1' sc:sm='2'><f:x xmlns:f='urn:f' f:a='b'><f:y/></f:x></message></route>",
	  1, NULL },
	{ "<db:r xmlns:db='urn:mine' xmlns='urn:d'><db:s/></db:r>", 1, NULL },
	/* ... but out of scope again after their element: the stream's. */
	{ "<route xmlns='" COMP "'><a xmlns:db='urn:other'/><db:b/></route>", 0, NULL },
	{ "<route xmlns='" COMP "'><a xmlns:db='urn:other' db:x='1'/><b db:y='2'/></route>",
	  0, NULL },
	/* Eight declarations fit; a ninth, or a long prefix, and no bytes. */
	{ "<r xmlns='urn:r' xmlns:a='u' xmlns:b='u' xmlns:c='u' xmlns:d='u' xmlns:e='u' "
	  "xmlns:f='u' xmlns:g='u' xmlns:h='u'><a:x/></r>", 1, NULL },
	{ "<r xmlns='urn:r' xmlns:a='u' xmlns:b='u' xmlns:c='u' xmlns:d='u' xmlns:e='u' "
	  "xmlns:f='u' xmlns:g='u' xmlns:h='u'><i:x xmlns:i='u'/></r>", 0, NULL },
	{ "<r xmlns='urn:r' xmlns:abcdefghijklmnopqrstuvwxyz='u'/>", 0, NULL },
	{ "<route xmlns='" COMP "'/>", 1, NULL },
};

static const size_t ncases = sizeof(cases) / sizeof(cases[0]);

/* The input: header, then the cases with whitespace keepalives between. */
static char *input(size_t *hdr_len, size_t *len_r)
{
	struct buf b;

	buf_init(&b);
	buf_append_str(&b, HDR);
	*hdr_len = b.len;
	for (size_t i = 0; i < ncases; i++) {
		buf_append_str(&b, cases[i].xml);
		buf_append_str(&b, i % 2 ? " " : "\n");
	}
	return buf_steal(&b, len_r);
}

static void check_elems(struct sxt_end *e, const char *how)
{
	int n = 0;

	for (size_t i = 0; i < ncases; i++) {
		const char *raw, *ns = NULL;
		size_t len = 0;

		if (n >= e->nelems)
			fail_msg("%s: %d elements, want more", how, e->nelems);
		raw = nad_raw(e->elems[n], &len, &ns);
		if (!cases[i].raw) {
			if (raw != NULL)
				fail_msg("%s: case %zu has bytes, want none", how, i);
		} else if (raw == NULL) {
			fail_msg("%s: case %zu has no bytes", how, i);
		} else if (len != strlen(cases[i].xml) || memcmp(raw, cases[i].xml, len) != 0) {
			fail_msg("%s: case %zu: bytes '%.*s'", how, i, (int)len, raw);
		} else if (cases[i].ns == NULL ? ns != NULL :
			   (ns == NULL || strcmp(ns, cases[i].ns) != 0)) {
			fail_msg("%s: case %zu: inherited ns %s", how, i, ns ? ns : "(none)");
		}
		n++;
	}
	if (n != e->nelems)
		fail_msg("%s: %d elements, want %d", how, e->nelems, n);
}

static void new_end(struct sxt_end *e)
{
	sxt_init(e, SX_SERVER, NULL);
	sx_keep_raw(e->sx, 1);
}

static void test_raw_exact(void **state)
{
	size_t len, hdr_len;
	char *in = input(&hdr_len, &len);
	struct sxt_end e;
	char how[64];

	(void)state;
	new_end(&e);
	assert_int_equal(sxt_feed(&e, in, len, 0), 0);
	check_elems(&e, "whole");
	sxt_done(&e);

	new_end(&e);
	assert_int_equal(sxt_feed(&e, in, len, 1), 0);
	check_elems(&e, "one byte at a time");
	sxt_done(&e);

	for (size_t at = 0; at <= len; at++) {
		new_end(&e);
		assert_int_equal(sxt_feed_split(&e, in, len, at), 0);
		snprintf(how, sizeof(how), "split at %zu", at);
		check_elems(&e, how);
		sxt_done(&e);
	}
	free(in);
}

/* The parser is given back between elements (sx_trim) and rebuilt from
 * the recorded header: the bytes are still exact. */
static void test_raw_after_trim(void **state)
{
	size_t len, hdr_len, off;
	char *in = input(&hdr_len, &len);
	struct sxt_end e;

	(void)state;
	for (size_t chunk = 1; chunk <= 7; chunk += 3) {
		new_end(&e);
		assert_int_equal(sxt_feed(&e, in, hdr_len, 0), 0);
		off = hdr_len;
		while (off < len) {
			size_t n = len - off < chunk ? len - off : chunk;

			sx_trim(e.sx);
			assert_int_equal(sxt_feed(&e, in + off, n, 0), 0);
			off += n;
		}
		check_elems(&e, "trimmed");
		sxt_done(&e);
	}
	free(in);
}

/* Without sx_keep_raw nothing is kept; with it, a stream that has no
 * default namespace attaches nothing to unqualified elements. */
static void test_raw_off_and_unqualified(void **state)
{
	static const char hdr2[] = "<stream:stream xmlns:stream='" STREAMS "'>";
	static const char el[] = "<route to='a'/>";
	const char *raw;
	struct sxt_end e;
	size_t len;
	size_t hl, il;
	char *in = input(&hl, &il);

	(void)state;
	sxt_init(&e, SX_SERVER, NULL);
	assert_int_equal(sxt_feed(&e, in, il, 0), 0);
	assert_int_equal(e.nelems, (int)ncases);
	for (int i = 0; i < e.nelems; i++)
		assert_null(nad_raw(e.elems[i], &len, NULL));
	sxt_done(&e);
	free(in);

	new_end(&e);
	assert_int_equal(sxt_feed(&e, hdr2, strlen(hdr2), 0), 0);
	assert_int_equal(sxt_feed(&e, el, strlen(el), 0), 0);
	assert_int_equal(e.nelems, 1);
	assert_null(nad_raw(e.elems[0], &len, NULL));
	/* ... but a qualified one still goes as bytes. */
	assert_int_equal(sxt_feed(&e, cases[0].xml, strlen(cases[0].xml), 0), 0);
	assert_int_equal(e.nelems, 2);
	raw = nad_raw(e.elems[1], &len, NULL);
	assert_non_null(raw);
	assert_int_equal(len, strlen(cases[0].xml));
	sxt_done(&e);
}

/* A stream error inside an element ends the stream without delivering it. */
static void test_raw_bad_input(void **state)
{
	static const char bad[] = "<route xmlns='" COMP "'><!-- x --></route>";
	static const char big[] = "<route xmlns='" COMP "'><body>";
	struct sx_limits lim = { .max_stanza = 200 };
	struct sxt_end e;

	(void)state;
	new_end(&e);
	assert_int_equal(sxt_feed(&e, HDR, strlen(HDR), 0), 0);
	assert_int_equal(sxt_feed(&e, bad, strlen(bad), 3), -1);
	assert_int_equal(e.nelems, 0);
	assert_string_equal(e.cond, "restricted-xml");
	sxt_done(&e);

	sxt_init(&e, SX_SERVER, &lim);
	sx_keep_raw(e.sx, 1);
	assert_int_equal(sxt_feed(&e, HDR, strlen(HDR), 0), 0);
	assert_int_equal(sxt_feed(&e, big, strlen(big), 0), 0);
	for (int i = 0; i < 40 && e.closed == 0; i++)
		sxt_feed(&e, "0123456789", 10, 4);
	assert_int_equal(e.nelems, 0);
	assert_string_equal(e.cond, "policy-violation");
	sxt_done(&e);
}

/* What the output end writes for an element that came with bytes. */
static char *sent(const char *peer_hdr, struct nad *nad)
{
	struct sxt_end out;
	size_t start;
	char *s;

	sxt_init(&out, SX_SERVER, NULL);
	assert_int_equal(sxt_feed(&out, peer_hdr, strlen(peer_hdr), 0), 0);
	start = sxt_drain(&out);
	assert_int_equal(start, out.wire.len);
	sx_send(out.sx, nad);
	sxt_drain(&out);
	s = xstrndup(out.wire.data + start, out.wire.len - start);
	sxt_done(&out);
	return s;
}

static void test_raw_send(void **state)
{
	static const char client_hdr[] = "<stream:stream xmlns:stream='" STREAMS "' "
		"xmlns='jabber:client'>";
	struct sxt_end in;
	size_t len, hdr_len;
	char *data = input(&hdr_len, &len), *s;

	(void)state;
	new_end(&in);
	assert_int_equal(sxt_feed(&in, data, len, 0), 0);
	free(data);

	/* Self-contained bytes go out unchanged on any stream. */
	s = sent(HDR, nad_copy(in.elems[1]));
	assert_string_equal(s, cases[1].xml);
	free(s);
	s = sent(client_hdr, nad_copy(in.elems[1]));
	assert_string_equal(s, cases[1].xml);
	free(s);

	/* Bytes relying on jabber:component:accept: unchanged where that is
	 * the default, serialized with an xmlns elsewhere. */
	s = sent(HDR, nad_copy(in.elems[2]));
	assert_string_equal(s, cases[2].xml);
	free(s);
	s = sent(client_hdr, nad_copy(in.elems[2]));
	assert_string_equal(s, "<route xmlns='" ACCEPT "' to='sm' from='c2s'><message>"
			    "<body>x</body></message></route>");
	free(s);

	/* A changed nad is serialized: the change shows, the formatting not. */
	nad_attr_set(in.elems[1], 0, NULL, "error", "404");
	assert_null(nad_raw(in.elems[1], &len, NULL));
	s = sent(HDR, nad_copy(in.elems[1]));
	assert_non_null(strstr(s, "error='404'"));
	assert_null(strstr(s, "CDATA"));
	assert_non_null(strstr(s, "&lt;not&gt; a tag"));
	free(s);

	/* An element with no bytes is serialized as always. */
	s = sent(HDR, nad_copy(in.elems[4]));
	assert_string_equal(s, "<db:verify to='a' from='b' id='1'>k</db:verify>");
	free(s);
	sxt_done(&in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_raw_exact),
		cmocka_unit_test(test_raw_after_trim),
		cmocka_unit_test(test_raw_off_and_unqualified),
		cmocka_unit_test(test_raw_bad_input),
		cmocka_unit_test(test_raw_send),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
