/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sx_trim: an idle stream frees its parser between stanzas and rebuilds it
 * from the recorded header when input comes. What follows must parse
 * exactly as if nothing had happened: namespaces (default, the root's own
 * prefix, an extra prefix such as db:), the close of the root, the limits.
 * Headers whose declarations cannot be replayed are never parked.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sx/sx.h"
#include "sx/tests/sx_test.h"
#include "util/buf.h"
#include "util/nad.h"

#define STREAMS "http://etherx.jabber.org/streams"

struct trim_case {
	const char *what;
	const char *header;     /* the peer's header */
	const char *after;      /* sent after the trim */
	int parks;              /* sx_trim frees the parser */
	const char *ns;         /* namespace of the element that arrives */
	const char *name;       /* its name */
	const char *child_ns;   /* a child it must have (NULL: none) */
};

static const struct trim_case cases[] = {
	{ "client stream", "<stream:stream xmlns='jabber:client' xmlns:stream='" STREAMS
	  "' to='example.org' version='1.0'>", "<message to='a@b'><body>hi</body></message>",
	  1, "jabber:client", "message", "jabber:client" },
	{ "server stream with db prefix", "<stream:stream xmlns:stream='" STREAMS
	  "' xmlns='jabber:server' xmlns:db='jabber:server:dialback' version='1.0'>",
	  "<db:result to='b' from='a'>key</db:result>", 1, "jabber:server:dialback",
	  "result", NULL },
	{ "root with its own prefix", "<s:stream xmlns:s='" STREAMS
	  "' xmlns='jabber:client' to='example.org'>", "<iq type='get' id='1'>"
	  "<ping xmlns='urn:xmpp:ping'/></iq>", 1, "jabber:client", "iq", "urn:xmpp:ping" },
	{ "unprefixed root", "<stream xmlns='" STREAMS "' to='example.org'>",
	  "<presence xmlns='jabber:client'/>", 1, "jabber:client", "presence", NULL },
	{ "namespace that needs escaping", "<stream:stream xmlns=\"urn:a'b&amp;c&lt;\" "
	  "xmlns:stream='" STREAMS "'>", "<x><y/></x>", 1, "urn:a'b&c<", "x", "urn:a'b&c<" },
	{ "prefix the stream element uses for something else",
	  "<s:stream xmlns:s='" STREAMS "' xmlns:stream='urn:other' xmlns='jabber:client'>",
	  "<stream:thing/>", 0, "urn:other", "thing", NULL },
	{ "two extra prefixes", "<stream:stream xmlns:stream='" STREAMS
	  "' xmlns='jabber:server' xmlns:db='jabber:server:dialback' xmlns:x='urn:x'>",
	  "<x:thing/>", 0, "urn:x", "thing", NULL },
};

static void check_case(const struct trim_case *c, size_t chunk)
{
	struct sxt_end e;
	int round, body;

	sxt_init(&e, SX_SERVER, NULL);
	e.auto_open = 1;
	sxt_feed(&e, c->header, strlen(c->header), 0);
	assert_int_equal(e.opens, 1);
	for (round = 0; round < 3; round++) {
		struct nad *n;

		assert_int_equal(sx_trim(e.sx), c->parks);
		sxt_feed(&e, c->after, strlen(c->after), chunk);
		assert_int_equal(e.nelems, round + 1);
		n = e.elems[round];
		assert_string_equal(nad_ns(n, 0), c->ns);
		assert_string_equal(nad_name(n, 0), c->name);
		if (c->child_ns != NULL) {
			body = nad_child(n, 0, c->child_ns, NULL);
			assert_int_not_equal(body, NAD_NONE);
		}
		assert_int_equal(e.closed, 0);
	}
	/* The root closes with the tag the peer opened it with. */
	assert_int_equal(sx_trim(e.sx), c->parks);
	if (strncmp(c->header, "<s:", 3) == 0)
		sxt_feed(&e, "</s:stream>", 11, chunk);
	else if (strncmp(c->header, "<stream ", 8) == 0)
		sxt_feed(&e, "</stream>", 9, chunk);
	else
		sxt_feed(&e, "</stream:stream>", 16, chunk);
	assert_int_equal(e.closed, 1);
	assert_null(e.cond);
	sxt_done(&e);
}

static void test_trim_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("case: %s\n", cases[i].what);
		check_case(&cases[i], 0);
		check_case(&cases[i], 1);
		check_case(&cases[i], 3);
	}
}

#define HDR "<stream:stream xmlns='jabber:client' xmlns:stream='" STREAMS \
	"' to='example.org' version='1.0'>"

/* Nothing is freed while a stanza is half in. */
static void test_no_trim_mid_stanza(void **state)
{
	struct sxt_end e;

	(void)state;
	sxt_init(&e, SX_SERVER, NULL);
	e.auto_open = 1;
	sxt_feed(&e, HDR "<message><body>hel", strlen(HDR) + 18, 0);
	assert_int_equal(sx_trim(e.sx), 0);
	sxt_feed(&e, "lo</body></message>", 19, 0);
	assert_int_equal(e.nelems, 1);
	assert_int_equal(sx_trim(e.sx), 1);
	assert_int_equal(sx_trim(e.sx), 0);    /* already parked */
	sxt_done(&e);
}

/* Before the header, and after the close, there is nothing to park. */
static void test_no_trim_outside_stream(void **state)
{
	struct sxt_end e;

	(void)state;
	sxt_init(&e, SX_SERVER, NULL);
	e.auto_open = 1;
	assert_int_equal(sx_trim(e.sx), 0);
	sxt_feed(&e, HDR "</stream:stream>", strlen(HDR) + 16, 0);
	assert_int_equal(e.closed, 1);
	assert_int_equal(sx_trim(e.sx), 0);
	sxt_done(&e);
}

/* The limits count from the rebuilt parser as from the old one. */
static void test_limits_after_trim(void **state)
{
	struct sx_limits lim = { .max_stanza = 64 };
	struct sxt_end e;
	struct buf big;
	int i;

	(void)state;
	sxt_init(&e, SX_SERVER, &lim);
	e.auto_open = 1;
	sxt_feed(&e, HDR, strlen(HDR), 0);
	assert_int_equal(sx_trim(e.sx), 1);
	sxt_feed(&e, "<message><body>fits</body></message>", 36, 0);
	assert_int_equal(e.nelems, 1);
	assert_int_equal(sx_trim(e.sx), 1);
	buf_init(&big);
	buf_append_str(&big, "<message><body>");
	for (i = 0; i < 10; i++)
		buf_append_str(&big, "0123456789");
	buf_append_str(&big, "</body></message>");
	sxt_feed(&e, big.data, big.len, 0);
	buf_free(&big);
	assert_int_equal(e.nelems, 1);
	assert_int_equal(e.closed, 1);
	assert_string_equal(e.cond, "policy-violation");
	sxt_done(&e);
}

/* Bad input after a trim gets the same error as without one. */
static void test_errors_after_trim(void **state)
{
	struct sxt_end e;

	(void)state;
	sxt_init(&e, SX_SERVER, NULL);
	e.auto_open = 1;
	sxt_feed(&e, HDR, strlen(HDR), 0);
	assert_int_equal(sx_trim(e.sx), 1);
	sxt_feed(&e, "<message></iq>", 14, 0);
	assert_int_equal(e.closed, 1);
	assert_string_equal(e.cond, "not-well-formed");
	sxt_done(&e);

	sxt_init(&e, SX_SERVER, NULL);
	e.auto_open = 1;
	sxt_feed(&e, HDR, strlen(HDR), 0);
	assert_int_equal(sx_trim(e.sx), 1);
	sxt_feed(&e, "<?pi x?>", 8, 0);
	assert_int_equal(e.closed, 1);
	assert_string_equal(e.cond, "restricted-xml");
	sxt_done(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trim_table),
		cmocka_unit_test(test_no_trim_mid_stanza),
		cmocka_unit_test(test_no_trim_outside_stream),
		cmocka_unit_test(test_limits_after_trim),
		cmocka_unit_test(test_errors_after_trim),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
