/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for util/nad.c, the element tree: building and walking,
 * attributes, text and mixed content, copying between nads, removal, the
 * serializer's namespace declarations and escaping, and nad_parse with its
 * safety rules. Serializer cases are a table of input document, default
 * namespace in force, and the exact bytes expected.
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

#include "util/buf.h"
#include "util/nad.h"
#include "util/tests/nad_same.h"

#define SESS "http://jabberd.jabberstudio.org/ns/session/1.0"

static struct nad *parse_ok(const char *xml)
{
	const char *err = NULL;
	struct nad *nad = nad_parse(xml, strlen(xml), 0, &err, NULL);

	if (nad == NULL)
		fail_msg("parse of %s failed: %s", xml, err);
	return nad;
}

static char *ser(const struct nad *nad, int elem, const char *default_ns)
{
	struct buf b = { 0 };

	nad_serialize(nad, elem, default_ns, &b);
	return buf_steal(&b, NULL);
}

static void test_build_and_walk(void **state)
{
	struct nad *nad = nad_new();
	int msg, body, thread, x;

	(void)state;
	assert_int_equal(nad_root(nad), NAD_NONE);
	msg = nad_elem_add(nad, NAD_NONE, "jabber:client", "message");
	body = nad_elem_add(nad, msg, "jabber:client", "body");
	thread = nad_elem_add(nad, msg, "jabber:client", "thread");
	x = nad_elem_add_prefixed(nad, msg, "jabber:x:oob", "oob", "x");
	assert_int_equal(msg, 0);
	assert_int_equal(nad_root(nad), 0);
	assert_int_equal(nad_count(nad), 4);
	assert_int_equal(nad_parent(nad, body), msg);
	assert_int_equal(nad_parent(nad, msg), NAD_NONE);
	assert_int_equal(nad_child(nad, msg, NULL, NULL), body);
	assert_int_equal(nad_child(nad, msg, NULL, "thread"), thread);
	assert_int_equal(nad_child(nad, msg, "jabber:x:oob", NULL), x);
	assert_int_equal(nad_child(nad, msg, "jabber:x:oob", "body"), NAD_NONE);
	assert_int_equal(nad_next(nad, body, NULL, NULL), thread);
	assert_int_equal(nad_next(nad, body, "jabber:x:oob", "x"), x);
	assert_int_equal(nad_next(nad, x, NULL, NULL), NAD_NONE);
	assert_string_equal(nad_name(nad, x), "x");
	assert_string_equal(nad_ns(nad, x), "jabber:x:oob");
	assert_string_equal(nad_prefix(nad, x), "oob");
	assert_null(nad_prefix(nad, body));
	/* Reading through NAD_NONE chains without crashing. */
	assert_int_equal(nad_child(nad, NAD_NONE, NULL, NULL), NAD_NONE);
	assert_null(nad_name(nad, 99));
	assert_true(nad_memory(nad) > 0);
	nad_free(&nad);
	assert_null(nad);
	nad_free(&nad);
}

static void test_attributes(void **state)
{
	struct nad *nad = nad_new();
	const char *ns, *name, *val;
	int e = nad_elem_add(nad, NAD_NONE, "jabber:client", "iq"), pos = 0, n = 0;

	(void)state;
	nad_attr_set(nad, e, NULL, "type", "get");
	nad_attr_set(nad, e, NULL, "to", "a@example.net");
	nad_attr_set(nad, e, NULL, "from", "b@example.net/r");
	nad_attr_set_prefixed(nad, e, SESS, "sc", "c2s", "17");
	nad_attr_set(nad, e, NAD_NS_XML, "lang", "en");
	assert_string_equal(nad_attr(nad, e, NULL, "type"), "get");
	assert_string_equal(nad_attr(nad, e, SESS, "c2s"), "17");
	/* Unqualified lookups do not see qualified attributes. */
	assert_null(nad_attr(nad, e, NULL, "c2s"));
	assert_null(nad_attr(nad, e, NULL, "lang"));
	assert_string_equal(nad_attr(nad, e, NAD_NS_XML, "lang"), "en");
	/* Replace keeps position; a swap through the nad's own strings. */
	nad_attr_set(nad, e, NULL, "type", "result");
	nad_attr_set(nad, e, NULL, "to", nad_attr(nad, e, NULL, "from"));
	assert_string_equal(nad_attr(nad, e, NULL, "type"), "result");
	assert_string_equal(nad_attr(nad, e, NULL, "to"), "b@example.net/r");
	nad_attr_set_len(nad, e, NULL, "id", "abcdef", 3);
	assert_string_equal(nad_attr(nad, e, NULL, "id"), "abc");
	nad_attr_set(nad, e, NULL, "from", NULL);
	assert_null(nad_attr(nad, e, NULL, "from"));
	nad_attr_set(nad, e, NULL, "nonexistent", NULL);
	while (nad_attr_next(nad, e, &pos, &ns, &name, &val)) {
		static const char *order[] = { "type", "to", "c2s", "lang", "id" };

		assert_true(n < 5);
		assert_string_equal(name, order[n]);
		n++;
	}
	assert_int_equal(n, 5);
	assert_int_equal(nad_attr_next(nad, e, &pos, NULL, NULL, NULL), 0);
	nad_free(&nad);
}

static void test_text_and_mixed(void **state)
{
	struct nad *nad = nad_new();
	int p, b, i;
	size_t len;
	char *s;

	(void)state;
	p = nad_elem_add(nad, NAD_NONE, NULL, "p");
	nad_text_append(nad, p, "one ", 4);
	nad_text_append(nad, p, "two", 3);
	b = nad_elem_add(nad, p, NULL, "b");
	nad_text_append(nad, b, "bold", 4);
	nad_text_append(nad, p, " three", 6);       /* b's tail */
	i = nad_elem_add(nad, p, NULL, "i");
	nad_text_append(nad, p, "!", 1);
	assert_string_equal(nad_text(nad, p, &len), "one two");
	assert_int_equal(len, 7);
	assert_string_equal(nad_tail(nad, b, NULL), " three");
	assert_string_equal(nad_tail(nad, i, NULL), "!");
	s = ser(nad, p, NULL);
	assert_string_equal(s, "<p>one two<b>bold</b> three<i/>!</p>");
	free(s);
	/* Appending a nad's own text to itself. */
	nad_text_append(nad, b, nad_text(nad, p, NULL), 3);
	assert_string_equal(nad_text(nad, b, NULL), "boldone");
	nad_text_set(nad, p, "plain", 5);
	assert_int_equal(nad_child(nad, p, NULL, NULL), NAD_NONE);
	s = ser(nad, p, NULL);
	assert_string_equal(s, "<p>plain</p>");
	free(s);
	nad_free(&nad);
}

static void test_remove(void **state)
{
	struct nad *nad = parse_ok("<p>a<b>1</b>b<c>2</c>c<d>3</d>d</p>");
	char *s;
	int c, d;

	(void)state;
	c = nad_child(nad, 0, NULL, "c");
	d = nad_child(nad, 0, NULL, "d");
	nad_elem_remove(nad, c);
	/* The index stays readable; the text around it stays in order. */
	assert_string_equal(nad_name(nad, c), "c");
	assert_int_equal(nad_parent(nad, c), NAD_NONE);
	assert_int_equal(nad_next(nad, nad_child(nad, 0, NULL, "b"), NULL, NULL), d);
	s = ser(nad, 0, NULL);
	assert_string_equal(s, "<p>a<b>1</b>bc<d>3</d>d</p>");
	free(s);
	nad_elem_remove(nad, nad_child(nad, 0, NULL, "b"));
	nad_elem_remove(nad, d);
	s = ser(nad, 0, NULL);
	assert_string_equal(s, "<p>abcd</p>");
	free(s);
	nad_elem_remove(nad, 0);    /* the root is not removable */
	assert_int_equal(nad_root(nad), 0);
	nad_free(&nad);
}

static void test_copy_extract_graft(void **state)
{
	struct nad *src = parse_ok("<route xmlns='http://jabberd.jabberstudio.org/ns/component/1.0'"
				   " to='sm'><message xmlns='jabber:client' to='a@b'>"
				   "<body>hi &amp; bye</body>tail</message></route>");
	struct nad *cp, *ex, *dst;
	int msg, g;
	char *s;

	(void)state;
	cp = nad_copy(src);
	assert_true(nad_same(src, 0, cp, 0));
	nad_attr_set(cp, 0, NULL, "to", "changed");
	assert_string_equal(nad_attr(src, 0, NULL, "to"), "sm");
	msg = nad_child(src, 0, "jabber:client", "message");
	ex = nad_extract(src, msg);
	assert_true(nad_same(src, msg, ex, 0));
	s = ser(ex, 0, "jabber:client");
	assert_string_equal(s, "<message to='a@b'><body>hi &amp; bye</body>tail</message>");
	free(s);
	dst = nad_new();
	nad_elem_add(dst, NAD_NONE, "jabber:client", "wrapper");
	g = nad_graft(dst, 0, src, msg);
	assert_true(nad_same(src, msg, dst, g));
	/* Graft within the same nad. */
	g = nad_graft(src, msg, src, nad_child(src, msg, NULL, "body"));
	s = ser(src, msg, "jabber:client");
	assert_string_equal(s, "<message to='a@b'><body>hi &amp; bye</body>tail"
			    "<body>hi &amp; bye</body></message>");
	free(s);
	nad_free(&cp);
	nad_free(&ex);
	nad_free(&dst);
	nad_free(&src);
}

static void test_set_ns(void **state)
{
	struct nad *nad = parse_ok("<message xmlns='jabber:server' to='x'><body>hi</body>"
				   "<x xmlns='jabber:x:data'><field/></x></message>");
	char *s;

	(void)state;
	nad_elem_set_ns(nad, 0, "jabber:client");
	s = ser(nad, 0, "jabber:client");
	assert_string_equal(s, "<message to='x'><body>hi</body>"
			    "<x xmlns='jabber:x:data'><field/></x></message>");
	free(s);
	nad_free(&nad);
}

/* Parse, serialize with a default namespace in force, compare bytes. */
static const struct {
	const char *in;
	const char *default_ns;
	const char *out;
} ser_cases[] = {
	/* The stream's default namespace is not repeated... */
	{ "<message xmlns='jabber:client' to='a@b'><body>hi</body></message>",
	  "jabber:client", "<message to='a@b'><body>hi</body></message>" },
	/* ...but declared where it is not in force. */
	{ "<message xmlns='jabber:client' to='a@b'><body>hi</body></message>", NULL,
	  "<message xmlns='jabber:client' to='a@b'><body>hi</body></message>" },
	{ "<message xmlns='jabber:client'/>", "jabber:server",
	  "<message xmlns='jabber:client'/>" },
	/* A child in another namespace is declared once. */
	{ "<iq xmlns='jabber:client' type='result'><query xmlns='jabber:iq:roster'>"
	  "<item jid='a@b'/><item jid='c@d'/></query></iq>", "jabber:client",
	  "<iq type='result'><query xmlns='jabber:iq:roster'>"
	  "<item jid='a@b'/><item jid='c@d'/></query></iq>" },
	/* jabberd2's session protocol: prefixed element and attributes. */
	{ "<sc:session xmlns:sc='" SESS "' sc:c2s='17' action='start' target='a@b/r'/>",
	  "http://jabberd.jabberstudio.org/ns/component/1.0",
	  "<sc:session xmlns:sc='" SESS "' sc:c2s='17' action='start' target='a@b/r'/>" },
	{ "<iq xmlns='jabber:client' xmlns:sc='" SESS "' sc:c2s='17' sc:sm='3f' type='get'>"
	  "<query xmlns='jabber:iq:roster'/></iq>", "jabber:client",
	  "<iq xmlns:sc='" SESS "' sc:c2s='17' sc:sm='3f' type='get'>"
	  "<query xmlns='jabber:iq:roster'/></iq>" },
	/* A prefix in use is reused, not redeclared... */
	{ "<a xmlns='u' xmlns:p='v' p:z='0'><p:b p:x='1'/><c p:y='2'/></a>", "u",
	  "<a xmlns:p='v' p:z='0'><p:b p:x='1'/><c p:y='2'/></a>" },
	/* ...while one that is declared but unused where it was declared is
	 * declared by the elements that use it. */
	{ "<a xmlns='u' xmlns:p='v'><p:b p:x='1'/><c p:y='2'/></a>", "u",
	  "<a><p:b xmlns:p='v' p:x='1'/><c xmlns:p='v' p:y='2'/></a>" },
	/* xml: is never declared. */
	{ "<message xmlns='jabber:client' xml:lang='en'><body xml:lang='de'>x</body></message>",
	  "jabber:client", "<message xml:lang='en'><body xml:lang='de'>x</body></message>" },
	/* Back to no namespace inside a default one. */
	{ "<a xmlns='u'><b xmlns=''/></a>", NULL, "<a xmlns='u'><b xmlns=''/></a>" },
	{ "<a><b/></a>", "jabber:client", "<a xmlns=''><b/></a>" },
	/* A prefix rebound to another URI in a child. */
	{ "<x:a xmlns:x='u1'><x:b xmlns:x='u2'/><x:c/></x:a>", NULL,
	  "<x:a xmlns:x='u1'><x:b xmlns:x='u2'/><x:c/></x:a>" },
	/* Escaping in text and attributes. */
	{ "<a t='&lt;&gt;&amp;&apos;&quot;'>&lt;b&gt; &amp; 'q' \"d\"</a>", NULL,
	  "<a t='&lt;&gt;&amp;&apos;&quot;'>&lt;b&gt; &amp; 'q' \"d\"</a>" },
	{ "<a t=\"it's\">x]]&gt;y</a>", NULL, "<a t='it&apos;s'>x]]&gt;y</a>" },
	/* Line breaks and tabs in attributes survive a round trip. */
	{ "<a t='1&#10;2&#9;3&#13;'/>", NULL, "<a t='1&#10;2&#9;3&#13;'/>" },
	/* Mixed content keeps its order. */
	{ "<p>a<b>b</b>c<i>d<u>e</u>f</i>g</p>", NULL, "<p>a<b>b</b>c<i>d<u>e</u>f</i>g</p>" },
	{ "<a>\n  <b/>\n</a>", NULL, "<a>\n  <b/>\n</a>" },
	/* Character references and CDATA come out as escaped text. */
	{ "<a>&#x263A;<![CDATA[<raw>&]]></a>", NULL, "<a>\xe2\x98\xba&lt;raw&gt;&amp;</a>" },
};

static void test_serialize_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ser_cases) / sizeof(ser_cases[0]); i++) {
		struct nad *a = parse_ok(ser_cases[i].in), *b;
		char *s = ser(a, 0, ser_cases[i].default_ns), *wrapped;

		if (strcmp(s, ser_cases[i].out) != 0)
			fail_msg("case %zu: got %s, want %s", i, s, ser_cases[i].out);
		/* Round trip: the output, read where default_ns is in force,
		 * is the same tree. */
		wrapped = ser_cases[i].default_ns ?
			xasprintf("<w xmlns='%s'>%s</w>", ser_cases[i].default_ns, s) :
			xasprintf("<w>%s</w>", s);
		b = parse_ok(wrapped);
		if (!nad_same(a, 0, b, nad_child(b, 0, NULL, NULL)))
			fail_msg("case %zu: round trip of %s differs", i, s);
		free(wrapped);
		free(s);
		nad_free(&a);
		nad_free(&b);
	}
}

static void test_serialize_built(void **state)
{
	struct nad *nad = nad_new();
	const char *scope[] = { "stream", "http://etherx.jabber.org/streams", NULL };
	struct buf b = { 0 };
	int f, e;
	char *s;

	(void)state;
	/* A namespaced attribute with no prefix gets a generated one. */
	e = nad_elem_add(nad, NAD_NONE, "jabber:client", "presence");
	nad_attr_set(nad, e, "urn:x", "a", "1");
	nad_attr_set_prefixed(nad, e, "urn:y", "ns1", "b", "2");
	s = ser(nad, e, "jabber:client");
	assert_string_equal(s, "<presence xmlns:ns1='urn:x' xmlns:ns2='urn:y' ns1:a='1' ns2:b='2'/>");
	free(s);
	nad_free(&nad);
	/* Prefixes the caller already declared are not declared again. */
	nad = nad_new();
	f = nad_elem_add_prefixed(nad, NAD_NONE, "http://etherx.jabber.org/streams", "stream",
				  "features");
	nad_elem_add(nad, f, "urn:ietf:params:xml:ns:xmpp-tls", "starttls");
	nad_serialize_scoped(nad, f, "jabber:client", scope, &b);
	assert_string_equal(b.data, "<stream:features>"
			    "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>");
	buf_free(&b);
	s = nad_to_string(nad, NULL);
	assert_string_equal(s, "<stream:features xmlns:stream='http://etherx.jabber.org/streams'>"
			    "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>");
	free(s);
	nad_free(&nad);
}

static const struct {
	const char *in;
	const char *error;     /* substring of the error, NULL = accepted */
	unsigned long line;
} parse_cases[] = {
	{ "<?xml version='1.0'?>\n<!-- comment -->\n<a/>", NULL, 0 },
	{ "<a><!-- config files have comments --></a>", NULL, 0 },
	{ "<!DOCTYPE a><a/>", "DOCTYPE", 1 },
	{ "<?xml version='1.0'?>\n<!DOCTYPE lolz [\n<!ENTITY lol 'lol'>\n"
	  "<!ENTITY lol2 '&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'>\n]>\n"
	  "<lolz>&lol2;</lolz>", "DOCTYPE", 2 },
	{ "<a><?php echo 1; ?></a>", "processing instructions", 1 },
	{ "<a>\n<b>\n</a>", "mismatched", 3 },
	{ "", "no element", 1 },
	{ "<a/><b/>", "junk", 1 },
	{ "<p:a/>", "prefix", 1 },
	{ "<a>&undefined;</a>", "undefined entity", 1 },
	{ "<a>\xff</a>", "invalid token", 1 },
	/* Duplicate attributes, also under two prefixes of one namespace:
	 * the parser adds attributes without looking for an earlier one
	 * (nad_attr_add_qname), so expat must refuse these. */
	{ "<a x='1' y='2' x='3'/>", "duplicate attribute", 1 },
	{ "<a xmlns:p='urn:x' xmlns:q='urn:x' p:x='1' q:x='2'/>", "duplicate attribute", 1 },
};

static void test_parse_rules(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const char *err = NULL;
		unsigned long line = 0;
		struct nad *nad = nad_parse(parse_cases[i].in, strlen(parse_cases[i].in), 0,
					    &err, &line);

		if (parse_cases[i].error == NULL) {
			if (nad == NULL)
				fail_msg("case %zu rejected: %s", i, err);
			nad_free(&nad);
			continue;
		}
		if (nad != NULL)
			fail_msg("case %zu accepted", i);
		if (err == NULL || strstr(err, parse_cases[i].error) == NULL)
			fail_msg("case %zu: error '%s', want '%s'", i, err ? err : "(null)",
				 parse_cases[i].error);
		assert_int_equal(line, parse_cases[i].line);
	}
}

/* One reader through every case twice, failures between successes: the
 * same answers as nad_parse (the parser's state does not leak from one
 * document to the next), and the same nad for namespaced input. */
static void test_reader(void **state)
{
	static const char ns_doc[] =
		"<route xmlns='jabber:component:accept' xmlns:jc='urn:x' jc:node='n2' to='a'>"
		"<message xmlns='jabber:client' to='b@c/d'><body>x &amp; y</body></message>"
		"</route>";
	struct nad_reader *r = nad_reader_new();
	size_t i;
	int round;

	(void)state;
	for (round = 0; round < 2; round++)
		for (i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
			const char *err = NULL;
			unsigned long line = 0;
			struct nad *nad = nad_reader_parse(r, parse_cases[i].in,
							   strlen(parse_cases[i].in), 0,
							   &err, &line);

			if (parse_cases[i].error == NULL) {
				if (nad == NULL)
					fail_msg("round %d case %zu rejected: %s", round, i, err);
				nad_free(&nad);
				continue;
			}
			if (nad != NULL)
				fail_msg("round %d case %zu accepted", round, i);
			if (err == NULL || strstr(err, parse_cases[i].error) == NULL)
				fail_msg("round %d case %zu: error '%s', want '%s'", round, i,
					 err ? err : "(null)", parse_cases[i].error);
			assert_int_equal(line, parse_cases[i].line);
		}
	for (round = 0; round < 3; round++) {
		const char *err = NULL;
		struct nad *a = nad_parse(ns_doc, strlen(ns_doc), 0, &err, NULL);
		struct nad *b = nad_reader_parse(r, ns_doc, strlen(ns_doc), 0, &err, NULL);
		char *sa, *sb;

		assert_non_null(a);
		assert_non_null(b);
		sa = nad_to_string(a, NULL);
		sb = nad_to_string(b, NULL);
		assert_string_equal(sa, sb);
		assert_string_equal(nad_attr(b, 0, "urn:x", "node"), "n2");
		free(sa);
		free(sb);
		nad_free(&a);
		nad_free(&b);
	}
	nad_reader_free(&r);
	assert_null(r);
}

/* A reader parses documents through one stream (no reset between them):
 * documents that would leave something behind in that stream (bytes
 * after the root, a closed wrapper, a second root, text outside the root)
 * get nad_parse()'s answer, and the next document is not affected. */
static void test_reader_stream(void **state)
{
	static const char *const docs[] = {
		"<a/><b", "</w>", "<a/></w>", "<a></a></w><b/>", "x<a/>", "<a/>x", "<a/><b/>",
		"<a/><!-- trailing comment -->", "<!-- c --><a>t</a>", "<a/>\n", "<a>", "<a",
		"<?xml version='1.0'?><a/>", "<a><b></a>", "<w>", "<a xmlns:p='u'><p:b/></a>",
		"<p:a/>", "", "  ", "<a>&amp;&lt;</a>", "<a>\xff</a>", "<![CDATA[x]]><a/>",
	};
	static const char good[] = "<route xmlns='jabber:component:accept' to='sm'>"
				   "<message xmlns='jabber:client'><body>hi</body></message></route>";
	struct nad_reader *r = nad_reader_new();
	char *want_good;
	struct nad *g;
	const char *err = NULL;

	(void)state;
	g = nad_parse(good, strlen(good), 0, &err, NULL);
	assert_non_null(g);
	want_good = nad_to_string(g, NULL);
	nad_free(&g);
	for (int round = 0; round < 3; round++)
		for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
			const char *e1 = NULL, *e2 = NULL;
			unsigned long l1 = 0, l2 = 0;
			struct nad *a = nad_parse(docs[i], strlen(docs[i]), 0, &e1, &l1);
			struct nad *b = nad_reader_parse(r, docs[i], strlen(docs[i]), 0, &e2, &l2);
			char *s;

			if ((a == NULL) != (b == NULL))
				fail_msg("round %d doc %zu: nad_parse %s, the reader %s", round, i,
					 a == NULL ? e1 : "accepts", b == NULL ? e2 : "accepts");
			if (a == NULL) {
				assert_string_equal(e1, e2);
				assert_int_equal(l1, l2);
			} else {
				char *sa = nad_to_string(a, NULL), *sb = nad_to_string(b, NULL);

				assert_string_equal(sa, sb);
				free(sa);
				free(sb);
			}
			nad_free(&a);
			nad_free(&b);
			/* The next one is what it is, whatever came before. */
			for (int k = 0; k < 2; k++) {
				b = nad_reader_parse(r, good, strlen(good), 0, &e2, NULL);
				if (b == NULL)
					fail_msg("round %d after doc %zu: %s", round, i, e2);
				s = nad_to_string(b, NULL);
				assert_string_equal(s, want_good);
				free(s);
				nad_free(&b);
			}
		}
	free(want_good);
	nad_reader_free(&r);
}

static void test_parse_depth(void **state)
{
	struct buf b = { 0 };
	const char *err = NULL;
	struct nad *nad;
	int i;

	(void)state;
	for (i = 0; i < 10; i++)
		buf_append_str(&b, "<a>");
	for (i = 0; i < 10; i++)
		buf_append_str(&b, "</a>");
	nad = nad_parse(b.data, b.len, 10, &err, NULL);
	assert_non_null(nad);
	nad_free(&nad);
	nad = nad_parse(b.data, b.len, 9, &err, NULL);
	assert_null(nad);
	assert_non_null(strstr(err, "deep"));
	buf_reset(&b);
	/* The default limit of 256 levels. */
	for (i = 0; i < 10000; i++)
		buf_append_str(&b, "<a>");
	nad = nad_parse(b.data, b.len, 0, &err, NULL);
	assert_null(nad);
	assert_non_null(strstr(err, "deep"));
	buf_free(&b);
}

/* Large trees: many elements and long text, so every array and the arena
 * grow many times while indices stay stable. */
static void test_growth(void **state)
{
	struct nad *nad = nad_new(), *cp;
	char name[32];
	int i, root, e[500];
	char *s;

	(void)state;
	root = nad_elem_add(nad, NAD_NONE, "urn:test", "root");
	for (i = 0; i < 500; i++) {
		snprintf(name, sizeof(name), "e%d", i);
		e[i] = nad_elem_add(nad, i == 0 ? root : e[i / 2], "urn:test", name);
		nad_attr_set(nad, e[i], NULL, "n", name);
		nad_text_append(nad, root, "x", 1);
	}
	for (i = 0; i < 500; i++) {
		snprintf(name, sizeof(name), "e%d", i);
		assert_string_equal(nad_name(nad, e[i]), name);
		assert_string_equal(nad_attr(nad, e[i], NULL, "n"), name);
	}
	cp = nad_copy(nad);
	s = nad_to_string(nad, NULL);
	nad_free(&nad);
	nad = parse_ok(s);
	assert_true(nad_same(nad, 0, cp, 0));
	free(s);
	nad_free(&nad);
	nad_free(&cp);
}

/* The received bytes: kept by copies, dropped by every change. */
static void test_raw(void **state)
{
	static const char xml[] = "<r xmlns='urn:r' a=\"1\"><c>t</c></r>";
	struct nad *nad, *c;
	const char *raw, *ns;
	size_t len;

	(void)state;
	for (int change = 0; change < 9; change++) {
		nad = nad_parse(xml, strlen(xml), 0, &raw, NULL);
		assert_non_null(nad);
		assert_null(nad_raw(nad, &len, NULL));
		nad_raw_set(nad, xml, strlen(xml), change % 2 ? "jabber:client" : NULL);
		raw = nad_raw(nad, &len, &ns);
		assert_non_null(raw);
		assert_int_equal(len, strlen(xml));
		assert_memory_equal(raw, xml, len);
		if (change % 2)
			assert_string_equal(ns, "jabber:client");
		else
			assert_null(ns);
		/* Readers and copies leave them. */
		assert_string_equal(nad_attr(nad, 0, NULL, "a"), "1");
		c = nad_copy(nad);
		assert_non_null(nad_raw(c, &len, NULL));
		assert_int_equal(len, strlen(xml));
		nad_free(&c);
		c = nad_extract(nad, 1);
		assert_null(nad_raw(c, &len, NULL));
		nad_free(&c);
		assert_non_null(nad_raw(nad, &len, NULL));
		switch (change) {
		case 0: nad_attr_set(nad, 0, NULL, "a", "2"); break;
		case 1: nad_attr_set(nad, 0, NULL, "a", NULL); break;
		case 2: nad_elem_add(nad, 0, NULL, "d"); break;
		case 3: nad_text_append(nad, 1, "u", 1); break;
		case 4: nad_text_set(nad, 0, "v", 1); break;
		case 5: nad_elem_remove(nad, 1); break;
		case 6: nad_elem_set_ns(nad, 0, "urn:s"); break;
		case 7: c = nad_copy(nad); nad_graft(nad, 0, c, 1); nad_free(&c); break;
		case 8: nad_raw_drop(nad); break;
		}
		if (nad_raw(nad, &len, NULL) != NULL)
			fail_msg("change %d kept the bytes", change);
		nad_free(&nad);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_and_walk),
		cmocka_unit_test(test_attributes),
		cmocka_unit_test(test_text_and_mixed),
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_copy_extract_graft),
		cmocka_unit_test(test_set_ns),
		cmocka_unit_test(test_serialize_table),
		cmocka_unit_test(test_serialize_built),
		cmocka_unit_test(test_parse_rules),
		cmocka_unit_test(test_parse_depth),
		cmocka_unit_test(test_reader),
		cmocka_unit_test(test_reader_stream),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_raw),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
