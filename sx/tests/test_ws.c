/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for the WebSocket plugin (sx/ws.c): the HTTP upgrade and each
 * way it is refused, the RFC 7395 framing both ways (<open/>, <close/>,
 * one element per message with its namespaces, keepalive as ping), and
 * frames a client must not send (unmasked, bad opcode, too large, binary,
 * not UTF-8), each answered with the right close status. Whole sessions
 * are also fed one byte at a time.
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

#define FRAMING "urn:ietf:params:xml:ns:xmpp-framing"
/* RFC 6455 section 1.3's sample key and its accept value. */
#define KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

#define REQ_HEAD "GET /xmpp-websocket HTTP/1.1\r\nHost: example.net\r\n"
#define REQ_UPGRADE "Upgrade: websocket\r\nConnection: Upgrade\r\n"
#define REQ_OK REQ_HEAD REQ_UPGRADE "Sec-WebSocket-Key: " KEY "\r\n" \
	"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: xmpp\r\n\r\n"

#define OPEN "<open xmlns='" FRAMING "' to='example.net' version='1.0'/>"

/* ---- frames ---- */

/* A client frame: masked unless told otherwise. */
static void frame(struct buf *b, int fin, int opcode, const char *payload, size_t len,
		  int masked)
{
	static const unsigned char mask[4] = { 0x37, 0xfa, 0x21, 0x3d };
	unsigned char h[14];
	size_t n = 0, i;

	h[n++] = (unsigned char)((fin ? 0x80 : 0) | (opcode & 0x0f));
	if (len < 126) {
		h[n++] = (unsigned char)((masked ? 0x80 : 0) | len);
	} else if (len < 65536) {
		h[n++] = (unsigned char)((masked ? 0x80 : 0) | 126);
		h[n++] = (unsigned char)(len >> 8);
		h[n++] = (unsigned char)len;
	} else {
		h[n++] = (unsigned char)((masked ? 0x80 : 0) | 127);
		for (i = 0; i < 8; i++)
			h[n++] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
	}
	if (masked) {
		memcpy(h + n, mask, 4);
		n += 4;
	}
	buf_append(b, h, n);
	for (i = 0; i < len; i++) {
		char c = masked ? (char)(payload[i] ^ mask[i % 4]) : payload[i];

		buf_append_char(b, c);
	}
}

static void text(struct buf *b, const char *s)
{
	frame(b, 1, 1, s, strlen(s), 1);
}

/* The server's frames after the HTTP answer. */
#define MAX_FRAMES 16
struct frames {
	int n;
	int opcode[MAX_FRAMES];
	char *payload[MAX_FRAMES];
	size_t len[MAX_FRAMES];
};

static void frames_parse(struct frames *f, const char *wire, size_t len)
{
	const char *p = strstr(wire, "\r\n\r\n");
	size_t off = p != NULL ? (size_t)(p - wire) + 4 : 0;

	memset(f, 0, sizeof(*f));
	while (off + 2 <= len && f->n < MAX_FRAMES) {
		unsigned char b0 = (unsigned char)wire[off], b1 = (unsigned char)wire[off + 1];
		size_t plen = b1 & 0x7f, hl = 2;

		assert_int_equal(b1 & 0x80, 0);         /* server frames are unmasked */
		if (plen == 126) {
			plen = ((size_t)(unsigned char)wire[off + 2] << 8) |
				(unsigned char)wire[off + 3];
			hl = 4;
		}
		assert_true(off + hl + plen <= len);
		f->opcode[f->n] = b0 & 0x0f;
		f->payload[f->n] = xstrndup(wire + off + hl, plen);
		f->len[f->n] = plen;
		f->n++;
		off += hl + plen;
	}
}

static void frames_free(struct frames *f)
{
	for (int i = 0; i < f->n; i++)
		free(f->payload[i]);
}

/* The close status in close frame i. */
static int close_status(const struct frames *f, int i)
{
	assert_int_equal(f->opcode[i], 8);
	assert_true(f->len[i] >= 2);
	return ((unsigned char)f->payload[i][0] << 8) | (unsigned char)f->payload[i][1];
}

/* ---- a server end with the plugin ---- */

static void ws_end(struct sxt_end *e, const struct sx_ws_config *cfg)
{
	static const struct sx_ws_config none = { 0 };

	sxt_init(e, SX_SERVER, NULL);
	e->auto_features = 1;
	assert_int_equal(sx_ws_server(e->sx, cfg != NULL ? cfg : &none), 0);
}

/* Feed everything in pieces of `chunk` and collect what the server wrote. */
static void run(struct sxt_end *e, const struct buf *in, size_t chunk)
{
	sxt_feed(e, in->data, in->len, chunk);
	sxt_drain(e);
}

/* ---- the upgrade ---- */

static void test_upgrade_ok(void **state)
{
	struct sxt_end e;
	struct buf in = { 0 };

	(void)state;
	ws_end(&e, NULL);
	buf_append_str(&in, REQ_OK);
	run(&e, &in, 0);
	assert_non_null(strstr(e.wire.data, "HTTP/1.1 101 "));
	assert_non_null(strstr(e.wire.data, "Sec-WebSocket-Accept: " ACCEPT "\r\n"));
	assert_non_null(strstr(e.wire.data, "Sec-WebSocket-Protocol: xmpp\r\n"));
	assert_int_equal(e.closed, 0);
	assert_int_equal(sx_ws_active(e.sx), 1);
	sxt_done(&e);
	buf_free(&in);
}

struct up_case {
	const char *name;
	const char *request;
	const char *status;     /* start of the answer */
	const char *has;        /* also in the answer, or NULL */
};

static const struct up_case up_cases[] = {
	{ "no subprotocol", REQ_HEAD REQ_UPGRADE "Sec-WebSocket-Key: " KEY "\r\n"
	  "Sec-WebSocket-Version: 13\r\n\r\n", "HTTP/1.1 400 ", "xmpp subprotocol" },
	{ "other subprotocol", REQ_HEAD REQ_UPGRADE "Sec-WebSocket-Key: " KEY "\r\n"
	  "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n", "HTTP/1.1 400 ",
	  NULL },
	{ "version 8", REQ_HEAD REQ_UPGRADE "Sec-WebSocket-Key: " KEY "\r\n"
	  "Sec-WebSocket-Version: 8\r\nSec-WebSocket-Protocol: xmpp\r\n\r\n", "HTTP/1.1 426 ",
	  "Sec-WebSocket-Version: 13\r\n" },
	{ "short key", REQ_HEAD REQ_UPGRADE "Sec-WebSocket-Key: c2hvcnQ=\r\n"
	  "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: xmpp\r\n\r\n", "HTTP/1.1 400 ",
	  "Sec-WebSocket-Key" },
	{ "no key", REQ_HEAD REQ_UPGRADE "Sec-WebSocket-Version: 13\r\n"
	  "Sec-WebSocket-Protocol: xmpp\r\n\r\n", "HTTP/1.1 400 ", NULL },
	{ "no Connection: Upgrade", REQ_HEAD "Upgrade: websocket\r\nSec-WebSocket-Key: " KEY
	  "\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: xmpp\r\n\r\n",
	  "HTTP/1.1 400 ", "not a WebSocket upgrade" },
	{ "plain GET", REQ_HEAD "\r\n", "HTTP/1.1 400 ", NULL },
	{ "no Host", "GET / HTTP/1.1\r\n" REQ_UPGRADE "Sec-WebSocket-Key: " KEY "\r\n"
	  "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: xmpp\r\n\r\n", "HTTP/1.1 400 ",
	  "Host" },
	{ "HTTP/1.0", "GET / HTTP/1.0\r\nHost: x\r\n" REQ_UPGRADE "Sec-WebSocket-Key: " KEY
	  "\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: xmpp\r\n\r\n",
	  "HTTP/1.1 400 ", NULL },
	{ "not HTTP", "GARBAGE GARBAGE\r\n\r\n", "HTTP/1.1 400 ", NULL },
	{ "bad header line", "GET / HTTP/1.1\r\nHost x\r\n\r\n", "HTTP/1.1 400 ", NULL },
};

static void test_upgrade_refused(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(up_cases) / sizeof(up_cases[0]); i++) {
		const struct up_case *c = &up_cases[i];

		for (size_t chunk = 0; chunk < 2; chunk++) {
			struct sxt_end e;
			struct buf in = { 0 };

			ws_end(&e, NULL);
			buf_append_str(&in, c->request);
			/* A frame after the request must not be answered. */
			text(&in, OPEN);
			run(&e, &in, chunk);
			if (strncmp(e.wire.data, c->status, strlen(c->status)) != 0)
				fail_msg("%s: answer %.40s", c->name, e.wire.data);
			if (c->has != NULL && strstr(e.wire.data, c->has) == NULL)
				fail_msg("%s: no '%s' in %s", c->name, c->has, e.wire.data);
			/* Only the HTTP answer: no XML, no frames. */
			assert_null(strstr(e.wire.data, "<"));
			assert_int_equal(e.closed, 1);
			assert_string_equal(e.cond, "policy-violation");
			assert_int_equal(e.opens, 0);
			sxt_done(&e);
			buf_free(&in);
		}
	}
}

static void test_upgrade_origin_and_redirect(void **state)
{
	static const char *const origins[] = { "https://chat.example.net", NULL };
	struct sx_ws_config cfg = { .origins = origins, .redirect = "https://example.net/" };
	struct sxt_end e;
	struct buf in = { 0 };

	(void)state;
	/* An Origin not listed: 403. */
	ws_end(&e, &cfg);
	buf_append_str(&in, REQ_HEAD REQ_UPGRADE "Origin: https://evil.example\r\n"
		       "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n"
		       "Sec-WebSocket-Protocol: xmpp\r\n\r\n");
	run(&e, &in, 0);
	assert_memory_equal(e.wire.data, "HTTP/1.1 403 ", 13);
	sxt_done(&e);
	buf_reset(&in);
	/* The listed one (any case): upgraded. */
	ws_end(&e, &cfg);
	buf_append_str(&in, REQ_HEAD REQ_UPGRADE "Origin: https://Chat.Example.NET\r\n"
		       "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n"
		       "Sec-WebSocket-Protocol: chat, xmpp\r\n\r\n");
	run(&e, &in, 0);
	assert_memory_equal(e.wire.data, "HTTP/1.1 101 ", 13);
	sxt_done(&e);
	buf_reset(&in);
	/* A plain GET goes to the redirect. */
	ws_end(&e, &cfg);
	buf_append_str(&in, REQ_HEAD "\r\n");
	run(&e, &in, 0);
	assert_memory_equal(e.wire.data, "HTTP/1.1 301 ", 13);
	assert_non_null(strstr(e.wire.data, "Location: https://example.net/\r\n"));
	sxt_done(&e);
	buf_free(&in);
}

static void test_request_too_large(void **state)
{
	struct sx_ws_config cfg = { .max_request = 512 };
	struct sxt_end e;
	struct buf in = { 0 };

	(void)state;
	ws_end(&e, &cfg);
	buf_append_str(&in, REQ_HEAD "X-Pad: ");
	for (int i = 0; i < 600; i++)
		buf_append_char(&in, 'a');
	run(&e, &in, 0);
	assert_memory_equal(e.wire.data, "HTTP/1.1 400 ", 13);
	assert_int_equal(e.closed, 1);
	sxt_done(&e);
	buf_free(&in);
}

/* A first byte other than 'G' is a plain XMPP client. */
static void test_plain_xmpp_passes(void **state)
{
	struct sxt_end e;
	struct buf in = { 0 };

	(void)state;
	ws_end(&e, NULL);
	buf_append_str(&in, "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
		       "xmlns:stream='http://etherx.jabber.org/streams' to='example.net' "
		       "version='1.0'><presence/>");
	run(&e, &in, 0);
	assert_int_equal(e.opens, 1);
	assert_int_equal(e.nelems, 1);
	assert_memory_equal(e.wire.data, "<?xml version='1.0'?><stream:stream", 35);
	assert_int_equal(sx_ws_active(e.sx), 0);
	sxt_done(&e);
	buf_free(&in);
}

/* ---- framing ---- */

/* Upgrade, <open/>, a stanza, the server's answer, <close/>; whole and
 * one byte at a time. */
static void test_session(void **state)
{
	(void)state;
	for (size_t chunk = 0; chunk < 2; chunk++) {
		struct sxt_end e;
		struct buf in = { 0 };
		struct frames f;
		struct nad *nad;
		char *s;

		ws_end(&e, NULL);
		buf_append_str(&in, REQ_OK);
		text(&in, OPEN);
		text(&in, "<message xmlns='jabber:client' to='a@example.net'><body>hi &amp; "
		     "bye</body></message>");
		run(&e, &in, chunk);
		assert_int_equal(e.opens, 1);
		assert_string_equal(e.hdr_to, "example.net");
		assert_string_equal(e.hdr_ns, "jabber:client");
		assert_string_equal(e.hdr_version, "1.0");
		assert_int_equal(e.nelems, 1);
		s = sxt_elem_string(&e, 0);
		assert_non_null(strstr(s, "<body>hi &amp; bye</body>"));
		free(s);
		/* A stanza from us: one message with its namespace. */
		nad = nad_new();
		nad_elem_add(nad, NAD_NONE, "jabber:client", "message");
		nad_attr_set(nad, 0, NULL, "from", "b@example.net");
		sx_send(e.sx, nad);
		sxt_drain(&e);
		frames_parse(&f, e.wire.data, e.wire.len);
		assert_int_equal(f.n, 3);
		assert_int_equal(f.opcode[0], 1);
		assert_memory_equal(f.payload[0], "<open xmlns='" FRAMING "'", 13 + strlen(FRAMING) + 1);
		assert_non_null(strstr(f.payload[0], " from='example.net'"));
		assert_non_null(strstr(f.payload[0], " version='1.0'"));
		assert_non_null(strstr(f.payload[0], "/>"));
		assert_null(strstr(f.payload[0], "stream:"));
		assert_memory_equal(f.payload[1], "<stream:features xmlns:stream="
				    "'http://etherx.jabber.org/streams'", 64);
		assert_string_equal(f.payload[2], "<message xmlns='jabber:client' "
				    "from='b@example.net'/>");
		frames_free(&f);
		/* The client's <close/>: ours, then the close frame. */
		buf_reset(&in);
		text(&in, "<close xmlns='" FRAMING "'/>");
		run(&e, &in, chunk);
		assert_int_equal(e.closed, 1);
		assert_null(e.cond);
		frames_parse(&f, e.wire.data, e.wire.len);
		assert_int_equal(f.n, 5);
		assert_string_equal(f.payload[3], "<close xmlns='" FRAMING "'/>");
		assert_int_equal(close_status(&f, 4), 1000);
		frames_free(&f);
		sxt_done(&e);
		buf_free(&in);
	}
}

/* A message split over frames (continuation) and a ping between them. */
static void test_fragments_and_ping(void **state)
{
	struct sxt_end e;
	struct buf in = { 0 };
	struct frames f;

	(void)state;
	ws_end(&e, NULL);
	buf_append_str(&in, REQ_OK);
	text(&in, OPEN);
	frame(&in, 0, 1, "<presence><sta", 14, 1);
	frame(&in, 1, 9, "p1", 2, 1);
	frame(&in, 1, 0, "tus>x</status></presence>", 25, 1);
	run(&e, &in, 0);
	assert_int_equal(e.nelems, 1);
	frames_parse(&f, e.wire.data, e.wire.len);
	/* The pong goes out at once, before the parser's <open/> and
	 * features. */
	assert_int_equal(f.n, 3);
	assert_int_equal(f.opcode[0], 10);
	assert_string_equal(f.payload[0], "p1");
	assert_memory_equal(f.payload[1], "<open ", 6);
	frames_free(&f);
	/* Our whitespace keepalive is a ping. */
	sx_send_raw(e.sx, " ", 1);
	sxt_drain(&e);
	frames_parse(&f, e.wire.data, e.wire.len);
	assert_int_equal(f.n, 4);
	assert_int_equal(f.opcode[3], 9);
	frames_free(&f);
	sxt_done(&e);
	buf_free(&in);
}

/* The fragments of one message in separate reads, with a ping between:
 * the message survives the idle points between reads, and so does the
 * size limit, counted over all fragments. */
static void test_fragments_across_reads(void **state)
{
	struct sx_ws_config cfg = { .max_message = 100 };
	struct sxt_end e;
	struct buf in = { 0 };
	struct frames f;
	char part[41];

	(void)state;
	ws_end(&e, &cfg);
	buf_append_str(&in, REQ_OK);
	text(&in, OPEN);
	run(&e, &in, 0);
	assert_int_equal(e.opens, 1);
	buf_reset(&in);
	frame(&in, 0, 1, "<presence><sta", 14, 1);
	run(&e, &in, 0);
	buf_reset(&in);
	frame(&in, 1, 9, "", 0, 1);
	run(&e, &in, 0);
	buf_reset(&in);
	frame(&in, 1, 0, "tus>x</status></presence>", 25, 1);
	run(&e, &in, 3);
	assert_int_equal(e.nelems, 1);
	assert_int_equal(e.closed, 0);
	/* 3 x 40 bytes in three reads: over the limit of 100. */
	memset(part, 'a', 40);
	part[40] = '\0';
	memcpy(part, "<message><body>", 15);
	for (int i = 0; i < 3; i++) {
		buf_reset(&in);
		frame(&in, i == 2, i == 0 ? 1 : 0, part, 40, 1);
		run(&e, &in, 0);
		memset(part, 'a', 15);
	}
	assert_int_equal(e.nelems, 1);
	assert_int_equal(e.closed, 1);
	assert_string_equal(e.cond, "policy-violation");
	frames_parse(&f, e.wire.data, e.wire.len);
	assert_int_equal(f.opcode[f.n - 1], 8);
	assert_int_equal(close_status(&f, f.n - 1), 1009);
	frames_free(&f);
	sxt_done(&e);
	buf_free(&in);
}

/* Our stream error: the error with its namespace, <close/>, close 1000. */
static void test_stream_error_out(void **state)
{
	struct sxt_end e;
	struct buf in = { 0 };
	struct frames f;

	(void)state;
	ws_end(&e, NULL);
	buf_append_str(&in, REQ_OK);
	text(&in, OPEN);
	text(&in, "<message><body></message>");
	run(&e, &in, 0);
	assert_int_equal(e.closed, 1);
	assert_string_equal(e.cond, "not-well-formed");
	frames_parse(&f, e.wire.data, e.wire.len);
	assert_int_equal(f.n, 5);
	assert_memory_equal(f.payload[2], "<stream:error xmlns:stream="
			    "'http://etherx.jabber.org/streams'><not-well-formed ", 77);
	assert_string_equal(f.payload[3], "<close xmlns='" FRAMING "'/>");
	assert_int_equal(close_status(&f, 4), 1000);
	frames_free(&f);
	sxt_done(&e);
	buf_free(&in);
}

/* ---- frames a client must not send ---- */

struct bad_case {
	const char *name;
	int fin, opcode, masked;
	size_t len;             /* payload of 'a's, or `payload` if set */
	const char *payload;
	int status;
};

static const struct bad_case bad_cases[] = {
	{ "unmasked", 1, 1, 0, 0, "<presence/>", 1002 },
	{ "reserved opcode 3", 1, 3, 1, 0, "<presence/>", 1002 },
	{ "reserved opcode 11", 1, 11, 1, 0, "x", 1002 },
	/* wslay's frame layer refuses it with a close without a status. */
	{ "fragmented ping", 0, 9, 1, 0, "x", 0 },
	{ "ping over 125 bytes", 1, 9, 1, 126, NULL, 0 },
	{ "continuation first", 1, 0, 1, 0, "<presence/>", 1002 },
	{ "too large", 1, 1, 1, 300, NULL, 1009 },
	{ "binary", 1, 2, 1, 0, "<presence/>", 1003 },
	{ "not UTF-8", 1, 1, 1, 0, "<presence>\xc3\x28</presence>", 1007 },
};

static void test_bad_frames(void **state)
{
	struct sx_ws_config cfg = { .max_message = 256 };

	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct sxt_end e;
		struct buf in = { 0 }, pl = { 0 };
		struct frames f;

		ws_end(&e, &cfg);
		buf_append_str(&in, REQ_OK);
		text(&in, OPEN);
		run(&e, &in, 0);
		assert_int_equal(e.opens, 1);
		buf_reset(&in);
		if (c->payload != NULL)
			buf_append_str(&pl, c->payload);
		for (size_t k = 0; k < c->len; k++)
			buf_append_char(&pl, 'a');
		frame(&in, c->fin, c->opcode, pl.data, pl.len, c->masked);
		/* Nothing after the bad frame is read. */
		text(&in, "<presence/>");
		run(&e, &in, 0);
		frames_parse(&f, e.wire.data, e.wire.len);
		if (f.n != 3 || f.opcode[2] != 8 ||
		    (c->status == 0 ? f.len[2] != 0 : f.len[2] < 2 || close_status(&f, 2) != c->status))
			fail_msg("%s: %d frames, last opcode %d length %zu", c->name, f.n,
				 f.n > 0 ? f.opcode[f.n - 1] : -1, f.n > 0 ? f.len[f.n - 1] : 0);
		assert_int_equal(e.closed, 1);
		assert_string_equal(e.cond, "policy-violation");
		assert_int_equal(e.nelems, 0);
		/* Later writes are dropped. */
		sx_send_raw(e.sx, " ", 1);
		sxt_drain(&e);
		frames_free(&f);
		frames_parse(&f, e.wire.data, e.wire.len);
		assert_int_equal(f.n, 3);
		frames_free(&f);
		sxt_done(&e);
		buf_free(&in);
		buf_free(&pl);
	}
}

/* A close frame without <close/>: the stream ends as if it were sent. */
static void test_close_frame_only(void **state)
{
	struct sxt_end e;
	struct buf in = { 0 };
	struct frames f;

	(void)state;
	ws_end(&e, NULL);
	buf_append_str(&in, REQ_OK);
	text(&in, OPEN);
	run(&e, &in, 0);
	buf_reset(&in);
	frame(&in, 1, 8, "\x03\xe9", 2, 1);     /* 1001 going away */
	run(&e, &in, 0);
	assert_int_equal(e.closed, 1);
	assert_null(e.cond);
	frames_parse(&f, e.wire.data, e.wire.len);
	assert_int_equal(f.n, 3);
	assert_int_equal(f.opcode[2], 8);
	frames_free(&f);
	sxt_done(&e);
	buf_free(&in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_upgrade_ok),
		cmocka_unit_test(test_upgrade_refused),
		cmocka_unit_test(test_upgrade_origin_and_redirect),
		cmocka_unit_test(test_request_too_large),
		cmocka_unit_test(test_plain_xmpp_passes),
		cmocka_unit_test(test_session),
		cmocka_unit_test(test_fragments_and_ping),
		cmocka_unit_test(test_fragments_across_reads),
		cmocka_unit_test(test_stream_error_out),
		cmocka_unit_test(test_bad_frames),
		cmocka_unit_test(test_close_frame_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
