/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for the sx stream core (sx/sx.c, sx/parse.c): stream headers
 * and their validation, stanza delivery and namespaces, stream errors sent
 * and received, closing, a client and a server wired back to back, the
 * plugin pipeline (with a test-only XOR transform and element hook) and
 * re-entrant calls from callbacks. Every input a server is fed is also fed
 * split at every byte boundary and one byte at a time.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sx/sx_private.h"
#include "sx/tests/sx_test.h"
#include "util/buf.h"
#include "util/nad.h"

#define STREAMS "http://etherx.jabber.org/streams"
#define HDR "<?xml version='1.0'?><stream:stream xmlns='jabber:client' " \
	"xmlns:stream='" STREAMS "' to='example.net' version='1.0'>"
#define COMP "http://jabberd.jabberstudio.org/ns/component/1.0"

/* ---- table-driven server input ---- */

struct in_case {
	const char *name;
	const char *input;
	int opens;              /* stream_open callbacks */
	int elems;              /* elements delivered to the owner */
	const char *cond;       /* NULL: still open; "": closed without error */
	const char *out_has;    /* in what the server wrote, or NULL */
};

static const struct in_case in_cases[] = {
	{ "header only", HDR, 1, 0, NULL, "<stream:stream" },
	{ "stanza", HDR "<message to='a@b'><body>hi</body></message>", 1, 1, NULL, NULL },
	{ "two stanzas, keepalives", HDR " <presence/>\n\n <iq type='get' id='1'/> ", 1, 2,
	  NULL, NULL },
	{ "no XML declaration, single quotes and double",
	  "<stream:stream xmlns=\"jabber:client\" xmlns:stream=\"" STREAMS "\"><a/>", 1, 1,
	  NULL, NULL },
	{ "close", HDR "<presence/></stream:stream>", 1, 1, "", "</stream:stream>" },
	{ "peer error", HDR "<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
	  "<text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>Replaced</text></stream:error>"
	  "</stream:stream>", 1, 0, "conflict", "</stream:stream>" },
	{ "wrong stream namespace", "<stream:stream xmlns:stream='urn:wrong'>", 0, 0,
	  "invalid-namespace", "<invalid-namespace xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>" },
	{ "no stream namespace", "<stream xmlns='jabber:client'>", 0, 0, "invalid-namespace",
	  NULL },
	{ "wrong root name", "<stream:strem xmlns:stream='" STREAMS "'>", 0, 0, "bad-format",
	  NULL },
	{ "version 2.0", "<stream:stream xmlns:stream='" STREAMS "' version='2.0'>", 0, 0,
	  "unsupported-version", "<unsupported-version " },
	{ "version garbage", "<stream:stream xmlns:stream='" STREAMS "' version='x'>", 0, 0,
	  "unsupported-version", NULL },
	{ "version 1.5", "<stream:stream xmlns:stream='" STREAMS "' version='1.5'>", 1, 0,
	  NULL, NULL },
	{ "no version", "<stream:stream xmlns:stream='" STREAMS "'>", 1, 0, NULL, NULL },
	{ "not well-formed stanza", HDR "<message><body></message>", 1, 0, "not-well-formed",
	  "<not-well-formed " },
	{ "HTTP on the XMPP port", "GET / HTTP/1.1\r\n\r\n", 0, 0, "not-well-formed",
	  "<?xml version='1.0'?><stream:stream " },
	{ "comment", HDR "<!-- hi -->", 1, 0, "restricted-xml", "<restricted-xml " },
	{ "processing instruction", HDR "<?foo bar?>", 1, 0, "restricted-xml", NULL },
	{ "undefined entity", HDR "<message>&foo;</message>", 1, 0, "restricted-xml", NULL },
	{ "unbound prefix", HDR "<x:message/>", 1, 0, "not-well-formed", NULL },
	{ "text after close", HDR "</stream:stream><message/>", 1, 0, "", NULL },
	{ "component header", "<?xml version='1.0'?><stream:stream xmlns:stream='" STREAMS
	  "' version='1.0'><route xmlns='" COMP "' to='a' from='b'><message xmlns='jabber:client'/>"
	  "</route>", 1, 1, NULL, NULL },
};

static void check_in_case(const struct in_case *c, struct sxt_end *e, int r, const char *how)
{
	if (e->opens != c->opens)
		fail_msg("%s (%s): %d opens, want %d", c->name, how, e->opens, c->opens);
	if (e->nelems != c->elems)
		fail_msg("%s (%s): %d elements, want %d", c->name, how, e->nelems, c->elems);
	if (c->cond == NULL && (e->closed != 0 || r != 0))
		fail_msg("%s (%s): closed with %s", c->name, how, e->cond ? e->cond : "(null)");
	if (c->cond != NULL) {
		if (e->closed != 1 || r != -1)
			fail_msg("%s (%s): closed %d times, r %d", c->name, how, e->closed, r);
		if (c->cond[0] == '\0' ? e->cond != NULL :
		    (e->cond == NULL || strcmp(e->cond, c->cond) != 0))
			fail_msg("%s (%s): condition %s, want %s", c->name, how,
				 e->cond ? e->cond : "(null)", c->cond);
		if (!(sx_flags(e->sx) & SX_F_CLOSED))
			fail_msg("%s (%s): SX_F_CLOSED not set", c->name, how);
	}
	if (c->out_has != NULL && (e->wire.data == NULL || strstr(e->wire.data, c->out_has) == NULL))
		fail_msg("%s (%s): output lacks %s: %s", c->name, how, c->out_has,
			 e->wire.data ? e->wire.data : "");
	/* The old jabberd2 name never goes out. */
	if (e->wire.data != NULL && strstr(e->wire.data, "xml-not-well-formed") != NULL)
		fail_msg("%s: xml-not-well-formed sent", c->name);
}

static void test_input_table(void **state)
{
	size_t i, at;

	(void)state;
	for (i = 0; i < sizeof(in_cases) / sizeof(in_cases[0]); i++) {
		const struct in_case *c = &in_cases[i];
		size_t len = strlen(c->input);
		struct sxt_end e;
		int r;

		for (at = 0; at <= len; at++) {
			sxt_init(&e, SX_SERVER, NULL);
			r = sxt_feed_split(&e, c->input, len, at);
			check_in_case(c, &e, r, "split");
			sxt_done(&e);
		}
		sxt_init(&e, SX_SERVER, NULL);
		r = sxt_feed(&e, c->input, len, 1);
		check_in_case(c, &e, r, "bytewise");
		sxt_done(&e);
	}
}

/* Run `check` on a server fed `input` split at every byte boundary. */
static void for_each_split(const char *input, void (*check)(struct sxt_end *e))
{
	size_t len = strlen(input), at;
	struct sxt_end e;

	for (at = 0; at <= len; at++) {
		sxt_init(&e, SX_SERVER, NULL);
		sxt_feed_split(&e, input, len, at);
		check(&e);
		sxt_done(&e);
	}
	sxt_init(&e, SX_SERVER, NULL);
	sxt_feed(&e, input, len, 1);
	check(&e);
	sxt_done(&e);
}

/* ---- headers and stanzas, in detail ---- */

static void check_header(struct sxt_end *e)
{
	const char *id = sx_id(e->sx);
	char *want;
	size_t i;

	assert_int_equal(e->opens, 1);
	assert_string_equal(e->hdr_ns, "jabber:client");
	assert_string_equal(e->hdr_to, "example.net");
	assert_null(e->hdr_from);
	assert_string_equal(e->hdr_version, "1.0");
	assert_string_equal(e->hdr_lang, "en");
	assert_true(sx_flags(e->sx) & SX_F_OPEN);
	/* Our answer: a fresh 40-character id, the to/from we were given. */
	assert_non_null(id);
	assert_int_equal(strlen(id), 40);
	for (i = 0; i < 40; i++)
		assert_true((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'z'));
	want = xasprintf("<?xml version='1.0'?><stream:stream xmlns:stream='" STREAMS "' "
			 "xmlns='jabber:client' from='example.net' id='%s' version='1.0'>", id);
	assert_string_equal(e->wire.data, want);
	free(want);
}

static void test_header_fields(void **state)
{
	(void)state;
	for_each_split("<?xml version='1.0' encoding='UTF-8'?>\n<stream:stream "
		       "xmlns='jabber:client' xmlns:stream='" STREAMS "' to='example.net' "
		       "xml:lang='en' version='1.0' unknown='x'>", check_header);
}

static void check_stanza(struct sxt_end *e)
{
	struct nad *n;
	int body, q;
	char *s;

	assert_int_equal(e->nelems, 2);
	n = e->elems[0];
	assert_string_equal(nad_name(n, 0), "message");
	assert_string_equal(nad_ns(n, 0), "jabber:client");
	assert_string_equal(nad_attr(n, 0, NULL, "to"), "bob@example.net");
	assert_string_equal(nad_attr(n, 0, NAD_NS_XML, "lang"), "de");
	body = nad_child(n, 0, "jabber:client", "body");
	assert_int_not_equal(body, NAD_NONE);
	assert_string_equal(nad_text(n, body, NULL), "caf\xc3\xa9 & <tea> \xe2\x98\xba");
	n = e->elems[1];
	q = nad_child(n, 0, "jabber:iq:roster", "query");
	assert_int_not_equal(q, NAD_NONE);
	assert_int_not_equal(nad_child(n, q, "jabber:iq:roster", "item"), NAD_NONE);
	/* Serialized in the stream's namespace: only the child is declared. */
	s = nad_to_string(n, NULL);
	assert_string_equal(s, "<iq xmlns='jabber:client' type='get' id='r1'>"
			    "<query xmlns='jabber:iq:roster'><item jid='x@y'/></query></iq>");
	free(s);
}

static void test_stanzas(void **state)
{
	(void)state;
	for_each_split(HDR "<message to='bob@example.net' xml:lang='de'><body>caf\xc3\xa9 &amp; "
		       "&lt;tea&gt; &#x263A;</body></message>\n<iq type='get' id='r1'>"
		       "<query xmlns='jabber:iq:roster'><item jid='x@y'/></query></iq>",
		       check_stanza);
}

static void check_peer_error(struct sxt_end *e)
{
	assert_int_equal(e->closed, 1);
	assert_string_equal(e->cond, "see-other-host");
	assert_string_equal(e->text, "[2001:db8::1]:5222");
}

static void test_peer_error_content(void **state)
{
	(void)state;
	for_each_split(HDR "<stream:error><see-other-host xmlns='urn:ietf:params:xml:ns:"
		       "xmpp-streams'>[2001:db8::1]:5222</see-other-host></stream:error>",
		       check_peer_error);
}

/* ---- sending ---- */

static void test_send_and_errors(void **state)
{
	struct sxt_end e;
	struct nad *n;
	size_t off;
	int m;

	(void)state;
	sxt_init(&e, SX_SERVER, NULL);
	sxt_feed(&e, HDR, strlen(HDR), 0);
	assert_int_equal(e.want_write, 1);
	off = sxt_drain(&e);
	/* A jabber:client stanza goes out without xmlns, its children in
	 * other namespaces with theirs; text and attributes escaped. */
	n = nad_new();
	m = nad_elem_add(n, NAD_NONE, "jabber:client", "message");
	nad_attr_set(n, m, NULL, "to", "a'b\"c@example.net");
	nad_text_append(n, nad_elem_add(n, m, "jabber:client", "body"), "1 < 2 & 3", 9);
	nad_elem_add(n, m, "urn:xmpp:receipts", "request");
	sx_send(e.sx, n);
	assert_int_equal(e.want_write, 2);
	off = sxt_drain(&e);
	assert_string_equal(e.wire.data + off, "<message to='a&apos;b&quot;c@example.net'>"
			    "<body>1 &lt; 2 &amp; 3</body><request xmlns='urn:xmpp:receipts'/>"
			    "</message>");
	/* A stanza of another namespace carries its own declaration. */
	n = nad_new();
	nad_elem_add(n, NAD_NONE, "jabber:server", "presence");
	sx_send(e.sx, n);
	off = sxt_drain(&e);
	assert_string_equal(e.wire.data + off, "<presence xmlns='jabber:server'/>");
	sx_send_raw(e.sx, " ", 1);
	off = sxt_drain(&e);
	assert_string_equal(e.wire.data + off, " ");
	/* A stream error with text, escaped; closed runs once. */
	sx_error(e.sx, "policy-violation", "too <big>");
	off = sxt_drain(&e);
	assert_string_equal(e.wire.data + off, "<stream:error><policy-violation xmlns='urn:ietf:"
			    "params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:"
			    "xmpp-streams'>too &lt;big&gt;</text></stream:error></stream:stream>");
	assert_int_equal(e.closed, 1);
	assert_string_equal(e.cond, "policy-violation");
	assert_string_equal(e.text, "too <big>");
	/* After the end nothing more goes out and nothing is parsed. */
	sx_error(e.sx, "conflict", NULL);
	sx_close(e.sx);
	n = nad_new();
	nad_elem_add(n, NAD_NONE, "jabber:client", "presence");
	sx_send(e.sx, n);
	assert_int_equal(sx_output_pending(e.sx), 0);
	assert_int_equal(sx_input(e.sx, "<presence/>", 11), -1);
	assert_int_equal(e.nelems, 0);
	assert_int_equal(e.closed, 1);
	sxt_done(&e);
}

static void test_error_forms(void **state)
{
	struct sxt_end e;

	(void)state;
	/* Before any header of ours: header first (RFC 6120 4.9.1.1). */
	sxt_init(&e, SX_SERVER, NULL);
	sx_error(e.sx, "see-other-host", "other.example.net:5222");
	sxt_drain(&e);
	assert_true(strncmp(e.wire.data, "<?xml version='1.0'?><stream:stream xmlns:stream='"
			    STREAMS "' id='", 77) == 0);
	assert_non_null(strstr(e.wire.data, "version='1.0'><stream:error><see-other-host "
			       "xmlns='urn:ietf:params:xml:ns:xmpp-streams'>other.example.net:5222"
			       "</see-other-host></stream:error></stream:stream>"));
	sxt_done(&e);
	/* A condition that is not one is sent as undefined-condition. */
	sxt_init(&e, SX_SERVER, NULL);
	sxt_feed(&e, HDR, strlen(HDR), 0);
	sx_error(e.sx, "bad'><x", NULL);
	sxt_drain(&e);
	assert_non_null(strstr(e.wire.data, "<stream:error><undefined-condition xmlns='urn:ietf:"
			       "params:xml:ns:xmpp-streams'/></stream:error></stream:stream>"));
	assert_string_equal(e.cond, "undefined-condition");
	sxt_done(&e);
}

/* ---- a client and a server back to back ---- */

static void client_open(struct sxt_end *c)
{
	struct sx_header h = { 0 };

	h.ns = "jabber:client";
	h.to = "example.net";
	h.version = "1.0";
	sx_open(c->sx, &h);
}

static void exchange(size_t chunk)
{
	struct sxt_end c, s;
	struct nad *n;
	int b;
	char *str;

	sxt_init(&c, SX_CLIENT, NULL);
	sxt_init(&s, SX_SERVER, NULL);
	s.auto_features = 1;
	client_open(&c);
	assert_int_equal(sx_flags(c.sx) & SX_F_OPEN, 0);
	sxt_pump(&c, &s, chunk);
	/* Both sides open, both know the server's id. */
	assert_int_equal(s.opens, 1);
	assert_int_equal(c.opens, 1);
	assert_true(sx_flags(c.sx) & SX_F_OPEN);
	assert_true(sx_flags(s.sx) & SX_F_OPEN);
	assert_string_equal(sx_id(c.sx), sx_id(s.sx));
	assert_string_equal(c.hdr_id, sx_id(s.sx));
	assert_string_equal(c.hdr_from, "example.net");
	/* The features arrived as an element of the streams namespace. */
	assert_int_equal(c.nelems, 1);
	assert_string_equal(nad_ns(c.elems[0], 0), STREAMS);
	assert_string_equal(nad_name(c.elems[0], 0), "features");
	/* Stanzas both ways. */
	n = nad_new();
	b = nad_elem_add(n, NAD_NONE, "jabber:client", "message");
	nad_attr_set(n, b, NULL, "to", "bob@example.net");
	nad_text_append(n, nad_elem_add(n, b, "jabber:client", "body"), "hello", 5);
	sx_send(c.sx, n);
	sxt_pump(&c, &s, chunk);
	assert_int_equal(s.nelems, 1);
	str = nad_to_string(s.elems[0], NULL);
	assert_string_equal(str, "<message xmlns='jabber:client' to='bob@example.net'>"
			    "<body>hello</body></message>");
	free(str);
	sx_send(s.sx, nad_copy(s.elems[0]));
	sxt_pump(&c, &s, chunk);
	assert_int_equal(c.nelems, 2);
	assert_string_equal(nad_name(c.elems[1], 0), "message");
	/* The client closes; the server answers; both are told once. */
	sx_close(c.sx);
	assert_int_equal(c.closed, 0);
	sxt_pump(&c, &s, chunk);
	assert_int_equal(s.closed, 1);
	assert_null(s.cond);
	assert_int_equal(c.closed, 1);
	assert_null(c.cond);
	assert_true(sx_flags(c.sx) & SX_F_CLOSED);
	assert_true(sx_flags(s.sx) & SX_F_CLOSED);
	assert_non_null(strstr(s.wire.data, "</stream:stream>"));
	sxt_done(&c);
	sxt_done(&s);
}

static void test_pair(void **state)
{
	static const size_t chunks[] = { 0, 1, 2, 3, 5, 7, 13, 64 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++)
		exchange(chunks[i]);
}

static void test_pair_error(void **state)
{
	struct sxt_end c, s;

	(void)state;
	sxt_init(&c, SX_CLIENT, NULL);
	sxt_init(&s, SX_SERVER, NULL);
	client_open(&c);
	sxt_pump(&c, &s, 0);
	sx_error(s.sx, "system-shutdown", "bye");
	sxt_pump(&c, &s, 0);
	assert_int_equal(c.closed, 1);
	assert_string_equal(c.cond, "system-shutdown");
	assert_string_equal(c.text, "bye");
	assert_int_equal(s.closed, 1);
	sxt_done(&c);
	sxt_done(&s);
}

/* s2s: the dialback prefix declared on the header is used, not repeated. */
static void test_pair_dialback_prefix(void **state)
{
	struct sxt_end c, s;
	struct sx_header h = { 0 };
	struct nad *n;
	size_t off;

	(void)state;
	sxt_init(&c, SX_CLIENT, NULL);
	sxt_init(&s, SX_SERVER, NULL);
	h.ns = "jabber:server";
	h.to = "b.example";
	h.from = "a.example";
	h.extra_prefix = "db";
	h.extra_ns = "jabber:server:dialback";
	sx_open(c.sx, &h);
	sxt_pump(&c, &s, 0);
	assert_string_equal(s.hdr_extra_prefix, "db");
	assert_string_equal(s.hdr_extra_ns, "jabber:server:dialback");
	n = nad_new();
	nad_elem_add_prefixed(n, NAD_NONE, "jabber:server:dialback", "db", "result");
	nad_attr_set(n, 0, NULL, "to", "b.example");
	nad_text_append(n, 0, "key", 3);
	sx_send(c.sx, n);
	off = sxt_drain(&c);
	assert_string_equal(c.wire.data + off, "<db:result to='b.example'>key</db:result>");
	sxt_pump(&c, &s, 0);
	assert_int_equal(s.nelems, 1);
	assert_string_equal(nad_ns(s.elems[0], 0), "jabber:server:dialback");
	sxt_done(&c);
	sxt_done(&s);
}

/* ---- re-entrant calls from callbacks ---- */

static void test_error_from_callback(void **state)
{
	static const char in[] = HDR "<message/><message/><message/>";
	size_t at;

	(void)state;
	for (at = 0; at <= strlen(in); at++) {
		struct sxt_end e;
		int r;

		sxt_init(&e, SX_SERVER, NULL);
		e.error_on_element = "not-authorized";
		r = sxt_feed_split(&e, in, strlen(in), at);
		assert_int_equal(r, -1);
		assert_int_equal(e.nelems, 1);
		assert_int_equal(e.closed, 1);
		assert_string_equal(e.cond, "not-authorized");
		assert_non_null(strstr(e.wire.data, "<not-authorized xmlns="));
		sxt_done(&e);
	}
}

static void test_free_from_callback(void **state)
{
	static const char in[] = HDR "<message/></stream:stream><message/>";
	size_t at;

	(void)state;
	for (at = 0; at <= strlen(in); at++) {
		struct sxt_end e;

		sxt_init(&e, SX_SERVER, NULL);
		e.free_on_close = 1;
		assert_int_equal(sxt_feed_split(&e, in, strlen(in), at), -1);
		assert_null(e.sx);
		assert_int_equal(e.closed, 1);
		assert_int_equal(e.nelems, 1);
		sxt_done(&e);
	}
}

static void test_close_from_callback(void **state)
{
	struct sxt_end e;

	(void)state;
	sxt_init(&e, SX_SERVER, NULL);
	e.close_on_element = 1;
	/* We close first: more stanzas still arrive, then the peer's close
	 * ends the stream. */
	assert_int_equal(sxt_feed(&e, HDR "<a/><b/>", strlen(HDR) + 8, 0), 0);
	assert_int_equal(e.nelems, 2);
	assert_int_equal(e.closed, 0);
	assert_non_null(strstr(e.wire.data, "</stream:stream>"));
	assert_int_equal(sxt_feed(&e, "</stream:stream>", 16, 0), -1);
	assert_int_equal(e.closed, 1);
	assert_null(e.cond);
	/* Our close tag went out once. */
	assert_ptr_equal(strstr(e.wire.data, "</stream:stream>"),
			 strrchr(e.wire.data, '<'));
	sxt_done(&e);
}

/* ---- plugins ---- */

/* A test-only plugin: XORs every byte both ways (a stand-in for TLS),
 * answers <ping xmlns='urn:test'/> itself, restarts the stream on
 * <restart xmlns='urn:test'/>, and offers <test/> in features. */
struct xor_state {
	int pings;
	int opens;
	int opened_flag;
	int freed;
};

static void xor_buf(struct buf *b)
{
	size_t i;

	for (i = 0; i < b->len; i++)
		b->data[i] ^= 0x5a;
}

static int xor_rio(struct sx *sx, void *pdata, struct buf *in)
{
	(void)sx;
	(void)pdata;
	xor_buf(in);
	return 0;
}

static int xor_wio(struct sx *sx, void *pdata, struct buf *out)
{
	(void)sx;
	(void)pdata;
	xor_buf(out);
	return 0;
}

static int xor_element(struct sx *sx, void *pdata, struct nad *nad)
{
	struct xor_state *st = pdata;
	const char *ns = nad_ns(nad, 0);
	struct nad *pong;

	if (ns == NULL || strcmp(ns, "urn:test") != 0)
		return 0;
	if (strcmp(nad_name(nad, 0), "ping") == 0) {
		st->pings++;
		pong = nad_new();
		nad_elem_add(pong, NAD_NONE, "urn:test", "pong");
		sx_send(sx, pong);
	} else if (strcmp(nad_name(nad, 0), "restart") == 0) {
		sx_restart(sx);
	} else {
		return 0;
	}
	nad_free(&nad);
	return 1;
}

static void xor_features(struct sx *sx, void *pdata, struct nad *nad, int features)
{
	(void)sx;
	(void)pdata;
	nad_elem_add(nad, features, "urn:test", "test");
}

static void xor_stream_open(struct sx *sx, void *pdata, const struct sx_header *hdr)
{
	struct xor_state *st = pdata;

	(void)hdr;
	st->opens++;
	st->opened_flag = (sx_flags(sx) & SX_F_OPEN) != 0;
}

static void xor_free(struct sx *sx, void *pdata)
{
	struct xor_state *st = pdata;

	(void)sx;
	st->freed++;
}

static const struct sx_plugin xor_plugin = {
	.name = "xor",
	.rio = xor_rio,
	.wio = xor_wio,
	.element = xor_element,
	.features = xor_features,
	.stream_open = xor_stream_open,
	.free = xor_free,
};

static void test_plugin_pipeline(void **state)
{
	struct xor_state cs = { 0 }, ss = { 0 };
	struct sxt_end c, s;
	struct nad *n;

	(void)state;
	sxt_init(&c, SX_CLIENT, NULL);
	sxt_init(&s, SX_SERVER, NULL);
	s.auto_features = 1;
	assert_int_equal(sx_plugin_attach(c.sx, &xor_plugin, &cs), 0);
	assert_int_equal(sx_plugin_attach(s.sx, &xor_plugin, &ss), 0);
	assert_int_equal(sx_plugin_attach(s.sx, &xor_plugin, &ss), -1);
	assert_ptr_equal(sx_plugin_data(s.sx, &xor_plugin), &ss);
	client_open(&c);
	sxt_pump(&c, &s, 3);
	/* The wire is transformed: no plaintext markup on it. */
	assert_null(memmem(c.wire.data, c.wire.len, "stream", 6));
	assert_null(memmem(s.wire.data, s.wire.len, "stream", 6));
	assert_int_equal(cs.opens, 1);
	assert_int_equal(ss.opens, 1);
	assert_true(cs.opened_flag && ss.opened_flag);
	/* The features carry the plugin's offer. */
	assert_int_equal(c.nelems, 1);
	assert_int_not_equal(nad_child(c.elems[0], 0, "urn:test", "test"), NAD_NONE);
	/* The plugin takes its own elements; the owner gets the rest. */
	n = nad_new();
	nad_elem_add(n, NAD_NONE, "urn:test", "ping");
	sx_send(c.sx, n);
	n = nad_new();
	nad_elem_add(n, NAD_NONE, "jabber:client", "presence");
	sx_send(c.sx, n);
	sxt_pump(&c, &s, 1);
	assert_int_equal(ss.pings, 1);
	assert_int_equal(s.nelems, 1);
	assert_string_equal(nad_name(s.elems[0], 0), "presence");
	/* The server's pong reached the client's owner (its plugin passes
	 * elements it does not handle). */
	assert_int_equal(c.nelems, 2);
	assert_string_equal(nad_name(c.elems[1], 0), "pong");
	sxt_done(&c);
	sxt_done(&s);
	assert_int_equal(cs.freed, 1);
	assert_int_equal(ss.freed, 1);
}

/* sx_restart from an element hook: what followed in the same input is
 * dropped; the next thing parsed is a new header. */
static void check_restart(struct sxt_end *e)
{
	static const char again[] = HDR "<message/>";

	assert_int_equal(e->opens, 1);
	assert_int_equal(e->nelems, 0);
	assert_int_equal(e->closed, 0);
	assert_int_equal(sx_flags(e->sx) & SX_F_OPEN, 0);
	assert_int_equal(sx_input(e->sx, again, strlen(again)), 0);
	assert_int_equal(e->opens, 2);
	assert_int_equal(e->nelems, 1);
	assert_true(sx_flags(e->sx) & SX_F_OPEN);
}

static void feed_xor(struct sxt_end *e, const char *s, size_t len, size_t at)
{
	char *x = xmalloc(len);
	size_t i;

	for (i = 0; i < len; i++)
		x[i] = s[i] ^ 0x5a;
	sxt_feed_split(e, x, len, at);
	free(x);
}

/* Through the XOR rio stage, at every split before the end of the restart
 * element (later splits hand <presence/> to the new parser as a header). */
static void test_restart(void **state)
{
	static const char in[] = HDR "<restart xmlns='urn:test'/><presence/>";
	static const char again[] = HDR "<message/>";
	size_t len = strlen(in), cut = len - strlen("<presence/>"), at;
	struct xor_state st = { 0 };

	(void)state;
	for (at = 0; at < cut; at++) {
		struct sxt_end e;

		sxt_init(&e, SX_SERVER, NULL);
		sx_plugin_attach(e.sx, &xor_plugin, &st);
		feed_xor(&e, in, len, at);
		assert_int_equal(e.opens, 1);
		assert_int_equal(e.nelems, 0);
		assert_int_equal(e.closed, 0);
		feed_xor(&e, again, strlen(again), 0);
		assert_int_equal(e.opens, 2);
		assert_int_equal(e.nelems, 1);
		assert_string_equal(nad_name(e.elems[0], 0), "message");
		sxt_done(&e);
	}
	assert_int_equal(st.freed, (int)cut);
}

/* Without a rio stage the same restart, at every split. */
static const struct sx_plugin restart_plugin = {
	.name = "restart",
	.element = xor_element,
};

static void test_restart_plain(void **state)
{
	static const char in[] = HDR "<restart xmlns='urn:test'/><presence/>";
	size_t len = strlen(in), cut = len - strlen("<presence/>"), at;
	struct xor_state st = { 0 };

	(void)state;
	for (at = 0; at < cut; at++) {
		struct sxt_end e;

		sxt_init(&e, SX_SERVER, NULL);
		sx_plugin_attach(e.sx, &restart_plugin, &st);
		sxt_feed_split(&e, in, len, at);
		check_restart(&e);
		sxt_done(&e);
	}
}

/* After a restart the server answers with a new header (new id). */
static void test_restart_reopen(void **state)
{
	struct xor_state st = { 0 };
	struct sxt_end e;
	char *first;
	size_t off;

	(void)state;
	sxt_init(&e, SX_SERVER, NULL);
	sx_plugin_attach(e.sx, &restart_plugin, &st);
	sxt_feed(&e, HDR "<restart xmlns='urn:test'/>", strlen(HDR "<restart xmlns='urn:test'/>"), 0);
	first = xstrdup(sx_id(e.sx));
	off = sxt_drain(&e);
	sxt_feed(&e, HDR, strlen(HDR), 0);
	assert_int_equal(e.opens, 2);
	assert_string_not_equal(first, sx_id(e.sx));
	assert_non_null(strstr(e.wire.data + off, "<?xml version='1.0'?><stream:stream "));
	free(first);
	sxt_done(&e);
}

static void test_auth_and_events(void **state)
{
	struct sxt_end e;
	struct sx_auth a = { "PLAIN", "ann", NULL, "example.net" };

	(void)state;
	sxt_init(&e, SX_SERVER, NULL);
	assert_null(sx_auth(e.sx));
	sx_set_auth(e.sx, &a);
	sx_set_auth(e.sx, sx_auth(e.sx));       /* from its own copy */
	assert_string_equal(sx_auth(e.sx)->authcid, "ann");
	assert_null(sx_auth(e.sx)->authzid);
	sx_set_flags(e.sx, SX_F_AUTHENTICATED);
	assert_true(sx_flags(e.sx) & SX_F_AUTHENTICATED);
	sx_clear_flags(e.sx, SX_F_AUTHENTICATED);
	assert_false(sx_flags(e.sx) & SX_F_AUTHENTICATED);
	sx_event(e.sx, SX_EV_AUTH_OK, &a);
	assert_int_equal(e.events[SX_EV_AUTH_OK], 1);
	assert_ptr_equal(sx_ctx(e.sx), &e);
	assert_int_equal(sx_type(e.sx), SX_SERVER);
	sxt_done(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_input_table),
		cmocka_unit_test(test_header_fields),
		cmocka_unit_test(test_stanzas),
		cmocka_unit_test(test_peer_error_content),
		cmocka_unit_test(test_send_and_errors),
		cmocka_unit_test(test_error_forms),
		cmocka_unit_test(test_pair),
		cmocka_unit_test(test_pair_error),
		cmocka_unit_test(test_pair_dialback_prefix),
		cmocka_unit_test(test_error_from_callback),
		cmocka_unit_test(test_free_from_callback),
		cmocka_unit_test(test_close_from_callback),
		cmocka_unit_test(test_plugin_pipeline),
		cmocka_unit_test(test_restart),
		cmocka_unit_test(test_restart_plain),
		cmocka_unit_test(test_restart_reopen),
		cmocka_unit_test(test_auth_and_events),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
