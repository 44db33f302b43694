/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws: XMPP over WebSocket (RFC 7395) as an sx plugin, so the owner's
 * stream logic (SASL, bind, sessions) runs unchanged over it.
 *
 * The plugin first sniffs the peer's first byte: an XMPP client starts
 * with '<' (or whitespace), an HTTP request with a method name. Anything
 * that does not start with 'G' leaves the plugin inert for good, which is
 * how jabberd2's io.websocket serves both kinds of client on one port.
 *
 * HTTP phase (RFC 6455 section 4.2): the request is read with http-parser
 * up to a size limit. A valid upgrade (GET, HTTP/1.1, Host, Upgrade:
 * websocket, Connection: Upgrade, a 16-byte Sec-WebSocket-Key, version 13,
 * an allowed Origin, subprotocol "xmpp") is answered 101; a wrong version
 * 426 with the version we speak; a refused Origin 403; a plain GET 301 to
 * the configured redirect if there is one; anything else 400. After an
 * error answer the stream ends (the owner sees the closed callback with
 * "policy-violation") and nothing else is written.
 *
 * WebSocket phase: wslay does the framing. It checks that client frames
 * are masked, opcodes and control frames are valid, text is UTF-8 and a
 * message stays within the limit (the stanza limit), answers pings, and
 * runs the close handshake; a violation is answered with a close frame
 * carrying the status (1002, 1007, 1009) and ends the stream. Binary
 * messages are refused with 1003: RFC 7395 carries XML as text only.
 *
 * Framing translation, both ways at the byte level:
 *   in:  <open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to=.../>
 *          -> <stream:stream xmlns='jabber:client' ... to=...>
 *        <close xmlns='...framing'/> -> </stream:stream>
 *        any other message -> its bytes unchanged
 *   out: our stream header -> <open .../>; </stream:stream> -> <close/>;
 *        each top-level element -> one text message, with the namespace
 *        declarations a standalone document needs (xmlns='jabber:client'
 *        when it has none, xmlns:stream on stream:features / stream:error);
 *        a whitespace keepalive -> a WebSocket ping.
 * The sx core writes each element, header and close in one write, and
 * this plugin keeps any partial unit until it is complete, so message
 * boundaries always fall between elements.
 *
 * The plugin must be attached after a direct-TLS plugin (so it sees
 * plaintext) and before the stream's first byte.
 */
#include "config.h"
#include "sx/sx.h"

#include <ctype.h>
#include <expat.h>
#include <http_parser.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <wslay/wslay.h>

#include <openssl/evp.h>

#include "sx/sx_private.h"
#include "util/buf.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_DEFAULT_MAX_REQUEST 8192
#define WS_DEFAULT_MAX_MESSAGE 65536
/* Parsing our own header or one <open/> is bounded by this many bytes. */
#define WS_MAX_OPEN 4096

enum ws_state {
	WS_SNIFF,       /* nothing read yet */
	WS_INERT,       /* a plain XMPP stream: the plugin does nothing */
	WS_HTTP,        /* reading the upgrade request */
	WS_OPEN,        /* upgraded: WebSocket frames both ways */
	WS_DEAD,        /* refused or closed: nothing more is written */
};

/* The request headers that matter; the rest are skipped. */
enum ws_hdr {
	H_OTHER, H_HOST, H_UPGRADE, H_CONNECTION, H_KEY, H_VERSION, H_PROTOCOL,
	H_ORIGIN, H_XFF, H_NHDR
};

struct ws {
	enum ws_state state;
	char **origins;                 /* NULL = any Origin */
	char *redirect;
	size_t max_request, max_message;

	/* HTTP phase. */
	http_parser *hp;
	size_t request_len;
	int headers_done;
	struct buf field, value;        /* the header being read */
	int in_value;
	char *hdr[H_NHDR];

	/* WebSocket phase. */
	wslay_event_context_ptr wsl;    /* only while something is pending */
	struct buf rbuf;                /* an incomplete frame from the peer */
	int frag;                       /* a fragmented message is open */
	const char *rdata;              /* input wslay is reading from */
	size_t rlen;
	struct buf xml;                 /* translated input for the parser */
	struct buf wire;                /* frames wslay wrote */
	struct buf pend;                /* our output not yet a whole unit */
	int passthrough;                /* our own wio leaves this write alone */
	int peer_close;                 /* the peer's <close/> arrived */
	int we_close;                   /* our <close/> was framed */
	int opened;                     /* an <open/> was passed to the parser */
	int fail_code;                  /* WebSocket status we failed with */
};

/* ---- helpers ---- */

static void ws_free_hdrs(struct ws *w)
{
	int i;

	for (i = 0; i < H_NHDR; i++) {
		free(w->hdr[i]);
		w->hdr[i] = NULL;
	}
}

/* Is `token` one of the comma-separated tokens in `list` (any case)? */
static int ws_has_token(const char *list, const char *token)
{
	size_t n = strlen(token);

	while (list != NULL && *list != '\0') {
		const char *end;
		size_t len;

		while (*list == ' ' || *list == '\t' || *list == ',')
			list++;
		end = list;
		while (*end != '\0' && *end != ',')
			end++;
		len = (size_t)(end - list);
		while (len > 0 && (list[len - 1] == ' ' || list[len - 1] == '\t'))
			len--;
		if (len == n && strncasecmp(list, token, n) == 0)
			return 1;
		list = end;
	}
	return 0;
}

/* Write bytes of our own (the HTTP answer, control frames) through the
 * stages below us (TLS), but not through our own framing. */
static void ws_write_through(struct sx *sx, struct ws *w, const void *data, size_t len)
{
	w->passthrough = 1;
	sx_write(sx, data, len);
	w->passthrough = 0;
}

/* Answer the request with an HTTP error and end the stream. */
static void ws_http_fail(struct sx *sx, struct ws *w, int status, const char *reason,
			 const char *extra)
{
	static const struct { int code; const char *text; } names[] = {
		{ 301, "Moved Permanently" }, { 400, "Bad Request" },
		{ 403, "Forbidden" }, { 426, "Upgrade Required" },
	};
	const char *name = "Bad Request";
	struct buf b = { 0 };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].code == status)
			name = names[i].text;
	buf_printf(&b, "HTTP/1.1 %d %s\r\nConnection: close\r\n%s"
		   "Content-Type: text/plain\r\nContent-Length: %zu\r\n\r\n%s\n",
		   status, name, extra != NULL ? extra : "", strlen(reason) + 1, reason);
	ws_write_through(sx, w, b.data, b.len);
	buf_free(&b);
	w->state = WS_DEAD;
	sx_error(sx, "policy-violation", reason);
}

/* ---- HTTP: the upgrade request ---- */

static struct ws *ws_of(http_parser *hp)
{
	return hp->data;
}

static enum ws_hdr ws_hdr_kind(const char *name)
{
	static const char *const names[H_NHDR] = {
		[H_HOST] = "host", [H_UPGRADE] = "upgrade", [H_CONNECTION] = "connection",
		[H_KEY] = "sec-websocket-key", [H_VERSION] = "sec-websocket-version",
		[H_PROTOCOL] = "sec-websocket-protocol", [H_ORIGIN] = "origin",
		[H_XFF] = "x-forwarded-for",
	};
	int i;

	for (i = 1; i < H_NHDR; i++)
		if (strcasecmp(name, names[i]) == 0)
			return (enum ws_hdr)i;
	return H_OTHER;
}

/* One header is complete: keep it if it matters. Repeated list headers
 * are joined with commas (RFC 7230 3.2.2). */
static void ws_hdr_done(struct ws *w)
{
	enum ws_hdr k;

	if (w->field.len == 0)
		return;
	k = ws_hdr_kind(w->field.data);
	if (k != H_OTHER) {
		const char *v = w->value.data != NULL ? w->value.data : "";

		if (w->hdr[k] == NULL) {
			w->hdr[k] = xstrdup(v);
		} else {
			char *j = xasprintf("%s, %s", w->hdr[k], v);

			free(w->hdr[k]);
			w->hdr[k] = j;
		}
	}
	buf_reset(&w->field);
	buf_reset(&w->value);
	w->in_value = 0;
}

static int ws_on_field(http_parser *hp, const char *at, size_t len)
{
	struct ws *w = ws_of(hp);

	if (w->in_value)
		ws_hdr_done(w);
	buf_append(&w->field, at, len);
	return 0;
}

static int ws_on_value(http_parser *hp, const char *at, size_t len)
{
	struct ws *w = ws_of(hp);

	w->in_value = 1;
	buf_append(&w->value, at, len);
	return 0;
}

static int ws_on_headers_complete(http_parser *hp)
{
	struct ws *w = ws_of(hp);

	ws_hdr_done(w);
	w->headers_done = 1;
	/* Without an upgrade the request is refused: read no further. With
	 * one, http-parser itself stops where the frames begin. */
	if (!hp->upgrade)
		http_parser_pause(hp, 1);
	return 0;
}

static const http_parser_settings ws_http_settings = {
	.on_header_field = ws_on_field,
	.on_header_value = ws_on_value,
	.on_headers_complete = ws_on_headers_complete,
};

/* Sec-WebSocket-Accept for a key: base64(SHA-1(key + GUID)). */
static int ws_accept_value(const char *key, char out[64])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	struct buf b = { 0 };
	int ok;

	buf_printf(&b, "%s" WS_GUID, key);
	ok = EVP_Digest(b.data, b.len, md, &mdlen, EVP_sha1(), NULL);
	buf_free(&b);
	if (!ok || mdlen != 20)
		return -1;
	EVP_EncodeBlock((unsigned char *)out, md, 20);
	return 0;
}

/* A key is base64 of 16 bytes: 22 characters and "==". */
static int ws_key_ok(const char *key)
{
	unsigned char raw[32];
	size_t i;

	if (key == NULL || strlen(key) != 24 || strcmp(key + 22, "==") != 0)
		return 0;
	for (i = 0; i < 22; i++)
		if (!isalnum((unsigned char)key[i]) && key[i] != '+' && key[i] != '/')
			return 0;
	return EVP_DecodeBlock(raw, (const unsigned char *)key, 24) == 18;
}

static int ws_origin_ok(const struct ws *w)
{
	char **o;

	if (w->origins == NULL)
		return 1;
	if (w->hdr[H_ORIGIN] == NULL)
		return 0;
	for (o = w->origins; *o != NULL; o++)
		if (strcasecmp(*o, w->hdr[H_ORIGIN]) == 0)
			return 1;
	return 0;
}

static void ws_start(struct sx *sx, struct ws *w);

/* The request is complete: answer it. Returns 0 if upgraded. */
static int ws_http_answer(struct sx *sx, struct ws *w)
{
	char accept[64];
	struct buf b = { 0 };
	int upgrade = w->hdr[H_UPGRADE] != NULL && ws_has_token(w->hdr[H_UPGRADE], "websocket");

	if (!upgrade && w->redirect != NULL && w->hp->method == HTTP_GET) {
		char *loc = xasprintf("Location: %s\r\n", w->redirect);

		ws_http_fail(sx, w, 301, "this is an XMPP server; see the Location", loc);
		free(loc);
		return -1;
	}
	if (w->hp->method != HTTP_GET || w->hp->http_major != 1 || w->hp->http_minor < 1) {
		ws_http_fail(sx, w, 400, "WebSocket needs a GET over HTTP/1.1", NULL);
		return -1;
	}
	if (!upgrade || w->hdr[H_CONNECTION] == NULL ||
	    !ws_has_token(w->hdr[H_CONNECTION], "upgrade")) {
		ws_http_fail(sx, w, 400, "not a WebSocket upgrade request", NULL);
		return -1;
	}
	if (w->hdr[H_HOST] == NULL) {
		ws_http_fail(sx, w, 400, "no Host header", NULL);
		return -1;
	}
	if (w->hdr[H_VERSION] == NULL || strcmp(w->hdr[H_VERSION], "13") != 0) {
		ws_http_fail(sx, w, 426, "WebSocket version 13 only",
			     "Sec-WebSocket-Version: 13\r\n");
		return -1;
	}
	if (!ws_key_ok(w->hdr[H_KEY]) || ws_accept_value(w->hdr[H_KEY], accept) < 0) {
		ws_http_fail(sx, w, 400, "missing or malformed Sec-WebSocket-Key", NULL);
		return -1;
	}
	if (w->hdr[H_PROTOCOL] == NULL || !ws_has_token(w->hdr[H_PROTOCOL], "xmpp")) {
		ws_http_fail(sx, w, 400, "the xmpp subprotocol (RFC 7395) is required", NULL);
		return -1;
	}
	if (!ws_origin_ok(w)) {
		ws_http_fail(sx, w, 403, "Origin not allowed", NULL);
		return -1;
	}
	buf_printf(&b, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
		   "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n"
		   "Sec-WebSocket-Protocol: xmpp\r\n\r\n", accept);
	ws_write_through(sx, w, b.data, b.len);
	buf_free(&b);
	ws_start(sx, w);
	return 0;
}

/* Feed request bytes; on return `*used` bytes were HTTP. Returns 1 when
 * upgraded, 0 when more is needed, -1 when refused. */
static int ws_http_input(struct sx *sx, struct ws *w, const char *data, size_t len,
			 size_t *used)
{
	size_t n;
	enum http_errno e;

	if (w->hp == NULL) {
		w->hp = xcalloc(1, sizeof(*w->hp));
		http_parser_init(w->hp, HTTP_REQUEST);
		w->hp->data = w;
	}
	n = http_parser_execute(w->hp, &ws_http_settings, data, len);
	e = HTTP_PARSER_ERRNO(w->hp);
	*used = n;
	w->request_len += n;
	if (e != HPE_OK && !(e == HPE_PAUSED && w->headers_done)) {
		ws_http_fail(sx, w, 400, http_errno_description(e), NULL);
		return -1;
	}
	if (!w->headers_done) {
		if (w->request_len <= w->max_request)
			return 0;
		ws_http_fail(sx, w, 400, "request header too large", NULL);
		return -1;
	}
	/* With an upgrade, http-parser stops where the frames begin; without
	 * one the request is refused, so what follows does not matter. */
	return ws_http_answer(sx, w) == 0 ? 1 : -1;
}

/* ---- WebSocket: framing with wslay ---- */

static ssize_t ws_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len,
			  int flags, void *user)
{
	struct ws *w = user;

	(void)flags;
	if (w->rlen == 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	if (len > w->rlen)
		len = w->rlen;
	memcpy(buf, w->rdata, len);
	w->rdata += len;
	w->rlen -= len;
	return (ssize_t)len;
}

static ssize_t ws_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
			  int flags, void *user)
{
	struct ws *w = user;

	(void)ctx;
	(void)flags;
	buf_append(&w->wire, data, len);
	return (ssize_t)len;
}

/* Does the message's root element have this local name in the framing
 * namespace? Then copy its attributes in `hdr` (to, from, version, lang,
 * id) into a stream header. */
struct ws_open_scan {
	int depth, is_root_open, is_root_close, bad;
	struct buf *hdr;
};

static void XMLCALL ws_scan_start(void *ud, const char *name, const char **attrs)
{
	struct ws_open_scan *s = ud;
	static const char fns[] = SX_NS_FRAMING "\x01";
	int i;

	if (s->depth++ > 0)
		return;
	if (strcmp(name, SX_NS_FRAMING "\x01" "close") == 0) {
		s->is_root_close = 1;
		return;
	}
	if (strcmp(name, SX_NS_FRAMING "\x01" "open") != 0)
		return;
	s->is_root_open = 1;
	buf_append_str(s->hdr, "<stream:stream xmlns='" SX_NS_CLIENT "' xmlns:stream='"
		       SX_NS_STREAMS "'");
	for (i = 0; attrs[i] != NULL; i += 2) {
		const char *an = attrs[i];

		if (strncmp(an, fns, sizeof(fns) - 1) == 0)
			an += sizeof(fns) - 1;
		if (strcmp(an, "http://www.w3.org/XML/1998/namespace\x01" "lang") == 0)
			an = "xml:lang";
		else if (strchr(an, '\x01') != NULL)
			continue;
		buf_printf(s->hdr, " %s='", an);
		buf_append_xml(s->hdr, attrs[i + 1], strlen(attrs[i + 1]), 1);
		buf_append_char(s->hdr, '\'');
	}
	buf_append_char(s->hdr, '>');
}

static void XMLCALL ws_scan_end(void *ud, const char *name)
{
	struct ws_open_scan *s = ud;

	(void)name;
	s->depth--;
}

/* Queue the close frame behind the messages already queued: wslay sends
 * control frames first, and nothing after a close. */
static void ws_close_after(struct ws *w)
{
	wslay_event_send(w->wsl);
	wslay_event_queue_close(w->wsl, WSLAY_CODE_NORMAL_CLOSURE, NULL, 0);
}

/* Translate one incoming text message into the parser's input. */
static void ws_message_in(struct ws *w, const char *msg, size_t len)
{
	struct buf hdr = { 0 };
	struct ws_open_scan s = { .hdr = &hdr };
	size_t i = 0;

	if (len == 0)
		return;
	while (i < len && isspace((unsigned char)msg[i]))
		i++;
	/* Only <open> and <close> are rewritten; everything else goes to the
	 * XML parser as it came, which judges it. */
	if (len - i < WS_MAX_OPEN && ((len - i >= 5 && memcmp(msg + i, "<open", 5) == 0) ||
				      (len - i >= 6 && memcmp(msg + i, "<close", 6) == 0))) {
		XML_Parser xp = XML_ParserCreateNS("UTF-8", '\x01');

		XML_SetUserData(xp, &s);
		XML_SetElementHandler(xp, ws_scan_start, ws_scan_end);
		if (XML_Parse(xp, msg, (int)len, XML_TRUE) != XML_STATUS_OK)
			s.bad = 1;
		XML_ParserFree(xp);
	}
	if (!s.bad && s.is_root_open) {
		w->opened = 1;
		buf_append(&w->xml, hdr.data, hdr.len);
	} else if (!s.bad && s.is_root_close) {
		w->peer_close = 1;
		buf_append_str(&w->xml, "</stream:stream>");
		/* We closed first: this <close/> ends it; close the socket
		 * level too (RFC 7395 3.6). */
		if (w->we_close)
			ws_close_after(w);
	} else {
		buf_append(&w->xml, msg, len);
	}
	buf_free(&hdr);
}

static void ws_msg_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
		      void *user)
{
	struct ws *w = user;

	if (arg->opcode == WSLAY_TEXT_FRAME) {
		ws_message_in(w, (const char *)arg->msg, arg->msg_length);
	} else if (arg->opcode == WSLAY_BINARY_FRAME) {
		w->fail_code = WSLAY_CODE_UNSUPPORTED_DATA;
		wslay_event_queue_close(ctx, WSLAY_CODE_UNSUPPORTED_DATA,
					(const uint8_t *)"text frames only", 16);
		wslay_event_shutdown_read(ctx);
	}
}

static const struct wslay_event_callbacks ws_wslay_cb = {
	.recv_callback = ws_recv_cb,
	.send_callback = ws_send_cb,
	.on_msg_recv_callback = ws_msg_cb,
};

/*
 * A wslay context takes about 8.8 KB, more than the rest of an idle
 * session, so it lives only while there is work: it is made for each
 * burst of input or output and freed when nothing is left in it. That is
 * safe because wslay is only ever given whole frames (ws_whole_frames),
 * so between bursts it holds no partial frame; a fragmented message or a
 * close in progress keeps it.
 */
static wslay_event_context_ptr ws_ctx(struct ws *w)
{
	if (w->wsl == NULL) {
		if (wslay_event_context_server_init(&w->wsl, &ws_wslay_cb, w) != 0)
			abort();        /* out of memory: as xmalloc */
		wslay_event_config_set_max_recv_msg_length(w->wsl, w->max_message);
	}
	return w->wsl;
}

static void ws_ctx_release(struct ws *w)
{
	if (w->wsl == NULL || w->frag || wslay_event_want_write(w->wsl) ||
	    wslay_event_get_close_sent(w->wsl) || wslay_event_get_close_received(w->wsl) ||
	    !wslay_event_get_read_enabled(w->wsl))
		return;
	wslay_event_context_free(w->wsl);
	w->wsl = NULL;
}

/* How many leading bytes of s are whole frames. A frame whose header
 * announces more than the message limit counts as whole at once: wslay
 * refuses it from its header (1009) and nothing is buffered for it.
 * Notes whether a fragmented data message is left open. */
static size_t ws_whole_frames(struct ws *w, const unsigned char *s, size_t len)
{
	size_t off = 0;

	while (len - off >= 2) {
		const unsigned char *f = s + off;
		size_t avail = len - off, hl = 2;
		uint64_t pl = f[1] & 0x7f;
		int op = f[0] & 0x0f;

		if (pl == 126) {
			if (avail < 4)
				break;
			pl = ((uint64_t)f[2] << 8) | f[3];
			hl = 4;
		} else if (pl == 127) {
			if (avail < 10)
				break;
			pl = 0;
			for (int i = 2; i < 10; i++)
				pl = (pl << 8) | f[i];
			hl = 10;
		}
		if (f[1] & 0x80)
			hl += 4;
		if (pl > w->max_message)
			return len;
		if (avail < hl + pl)
			break;
		if (op == WSLAY_TEXT_FRAME || op == WSLAY_BINARY_FRAME ||
		    op == WSLAY_CONTINUATION_FRAME)
			w->frag = !(f[0] & 0x80);
		off += hl + (size_t)pl;
	}
	return off;
}

static void ws_start(struct sx *sx, struct ws *w)
{
	(void)sx;
	w->state = WS_OPEN;
	free(w->hp);
	w->hp = NULL;
	/* Only X-Forwarded-For is asked for later (sx_ws_forwarded_for). */
	for (int i = 0; i < H_NHDR; i++) {
		if (i != H_XFF) {
			free(w->hdr[i]);
			w->hdr[i] = NULL;
		}
	}
	buf_free(&w->field);
	buf_free(&w->value);
}

/* Let wslay write what it queued; frames leave through the stages below
 * (TLS) when called from input, or into `out` from our own wio. */
static void ws_flush(struct sx *sx, struct ws *w, struct buf *out)
{
	if (w->wsl != NULL)
		wslay_event_send(w->wsl);
	if (w->wire.len == 0)
		return;
	if (out != NULL)
		buf_append(out, w->wire.data, w->wire.len);
	else
		ws_write_through(sx, w, w->wire.data, w->wire.len);
	buf_free(&w->wire);
}

/* Why the WebSocket layer ended the stream. */
static const char *ws_close_reason(uint16_t code)
{
	switch (code) {
	case WSLAY_CODE_PROTOCOL_ERROR:
		return "WebSocket protocol error (1002)";
	case 0:
	case WSLAY_CODE_ABNORMAL_CLOSURE:
		/* wslay's frame layer refused a frame and closed without a
		 * status */
		return "WebSocket protocol error";
	case WSLAY_CODE_UNSUPPORTED_DATA:
		return "WebSocket binary message (1003)";
	case WSLAY_CODE_INVALID_FRAME_PAYLOAD_DATA:
		return "WebSocket text not UTF-8 (1007)";
	case WSLAY_CODE_MESSAGE_TOO_BIG:
		return "WebSocket message over the size limit (1009)";
	default:
		return "WebSocket closed";
	}
}

static int ws_frames_in(struct sx *sx, struct ws *w, struct buf *in, size_t from)
{
	struct buf held = { 0 };
	const char *data = in->data + from;
	size_t len = in->len - from, whole;
	int r;

	/* Whole frames go to wslay; an incomplete one waits in rbuf. The
	 * common case, whole frames only, is read in place. */
	if (w->rbuf.len > 0) {
		buf_append(&w->rbuf, data, len);
		held = w->rbuf;
		buf_init(&w->rbuf);
		data = held.data;
		len = held.len;
	}
	whole = ws_whole_frames(w, (const unsigned char *)data, len);
	if (whole < len)
		buf_append(&w->rbuf, data + whole, len - whole);
	r = 0;
	if (whole > 0) {
		w->rdata = data;
		w->rlen = whole;
		r = wslay_event_recv(ws_ctx(w));
		w->rdata = NULL;
		w->rlen = 0;
	}
	buf_free(&held);
	buf_reset(in);
	if (whole == 0)
		return 0;
	if (w->xml.len > 0) {
		buf_append(in, w->xml.data, w->xml.len);
		buf_free(&w->xml);
	}
	ws_flush(sx, w, NULL);
	if (r == WSLAY_ERR_NOMEM) {
		w->state = WS_DEAD;
		buf_reset(in);
		sx_error(sx, "internal-server-error", "WebSocket layer failed");
		return -1;
	}
	/* Other failures come from wslay's frame layer refusing a frame (our
	 * callbacks never fail): a protocol error, as when reading stops. */
	if (r == 0 && wslay_event_get_read_enabled(w->wsl)) {
		ws_ctx_release(w);
		return 0;
	}
	w->state = WS_DEAD;
	buf_free(&w->rbuf);
	if (wslay_event_get_close_received(w->wsl) && w->fail_code == 0) {
		/* The client closed: after its <close/> that is the orderly
		 * end (the parser has the </stream:stream>); without one its
		 * stream ends as if it had sent it. */
		if (w->peer_close)
			return 0;
		if (w->opened) {
			buf_append_str(in, "</stream:stream>");
			return 0;
		}
		buf_reset(in);
		sx_error(sx, "undefined-condition", "WebSocket closed by the client");
		return -1;
	}
	buf_reset(in);
	sx_error(sx, "policy-violation", ws_close_reason(w->fail_code != 0 ?
		 (uint16_t)w->fail_code : wslay_event_get_status_code_sent(w->wsl)));
	return -1;
}

/* ---- output: our XML as messages ---- */

/* Length of the unit at the start of s: whitespace, <?...?>, our stream
 * header, </stream:stream>, or one element. 0 if incomplete. Our own
 * serializer wrote it, so no comments or CDATA occur and '<' in text is
 * always escaped. */
static size_t ws_unit_len(const char *s, size_t len)
{
	size_t i = 0;
	int depth = 0;

	if (isspace((unsigned char)s[0])) {
		while (i < len && isspace((unsigned char)s[i]))
			i++;
		return i;
	}
	if (s[0] != '<')
		return len;     /* stray text: one message, as it is */
	if (len >= 2 && s[1] == '?') {
		const char *e = memmem(s, len, "?>", 2);

		return e != NULL ? (size_t)(e - s) + 2 : 0;
	}
	if (len >= 16 && strncmp(s, "</stream:stream>", 16) == 0)
		return 16;
	if (len >= 15 && strncmp(s, "<stream:stream ", 15) == 0) {
		const char *e = memchr(s, '>', len);

		return e != NULL ? (size_t)(e - s) + 1 : 0;
	}
	while (i < len) {
		char q = 0;
		int end_tag, empty = 0;

		while (i < len && s[i] != '<')
			i++;
		if (i >= len)
			return 0;
		end_tag = i + 1 < len && s[i + 1] == '/';
		for (i++; i < len; i++) {
			if (q != 0) {
				if (s[i] == q)
					q = 0;
			} else if (s[i] == '\'' || s[i] == '"') {
				q = s[i];
			} else if (s[i] == '>') {
				empty = s[i - 1] == '/';
				break;
			}
		}
		if (i >= len)
			return 0;
		i++;
		if (end_tag)
			depth--;
		else if (!empty)
			depth++;
		if (depth <= 0)
			return i;
	}
	return 0;
}

/* Does the start tag s[0..len) carry the attribute `name`? */
static int ws_tag_has_attr(const char *s, size_t len, const char *name)
{
	size_t n = strlen(name), i = 1;
	char q = 0;

	while (i < len && !isspace((unsigned char)s[i]) && s[i] != '>' && s[i] != '/')
		i++;
	for (; i < len; i++) {
		if (q != 0) {
			if (s[i] == q)
				q = 0;
		} else if (s[i] == '\'' || s[i] == '"') {
			q = s[i];
		} else if (s[i] == '>') {
			break;
		} else if (isspace((unsigned char)s[i - 1]) && i + n < len &&
			   strncmp(s + i, name, n) == 0 && (s[i + n] == '=' || isspace((unsigned char)s[i + n]))) {
			return 1;
		}
	}
	return 0;
}

static void ws_queue(struct ws *w, uint8_t opcode, const void *data, size_t len)
{
	struct wslay_event_msg m = { .opcode = opcode, .msg = data, .msg_length = len };

	wslay_event_queue_msg(w->wsl, &m);
}

#define WS_CLOSE_ELEM "<close xmlns='" SX_NS_FRAMING "'/>"

/* Our stream header as <open/>: the same attributes minus the namespace
 * declarations. */
static void ws_header_out(struct ws *w, const char *s, size_t len)
{
	struct buf b = { 0 };
	size_t i = 14;          /* after "<stream:stream" */

	buf_append_str(&b, "<open xmlns='" SX_NS_FRAMING "'");
	while (i < len && s[i] != '>') {
		size_t a, eq;
		char q;

		while (i < len && isspace((unsigned char)s[i]))
			i++;
		a = i;
		while (i < len && s[i] != '=' && s[i] != '>')
			i++;
		if (i >= len || s[i] != '=' || i + 1 >= len)
			break;
		eq = i;
		q = s[i + 1];
		i += 2;
		while (i < len && s[i] != q)
			i++;
		if (i >= len)
			break;
		i++;
		if (!(eq - a >= 5 && strncmp(s + a, "xmlns", 5) == 0)) {
			buf_append_char(&b, ' ');
			buf_append(&b, s + a, i - a);
		}
	}
	buf_append_str(&b, "/>");
	ws_queue(w, WSLAY_TEXT_FRAME, b.data, b.len);
	buf_free(&b);
}

/* One element as a standalone document. */
static void ws_element_out(struct ws *w, const char *s, size_t len)
{
	struct buf b = { 0 };
	size_t name_end = 1;

	while (name_end < len && !isspace((unsigned char)s[name_end]) && s[name_end] != '>' &&
	       s[name_end] != '/')
		name_end++;
	buf_append(&b, s, name_end);
	if (name_end > 8 && strncmp(s + 1, "stream:", 7) == 0) {
		if (!ws_tag_has_attr(s, len, "xmlns:stream"))
			buf_append_str(&b, " xmlns:stream='" SX_NS_STREAMS "'");
	} else if (!ws_tag_has_attr(s, len, "xmlns")) {
		buf_append_str(&b, " xmlns='" SX_NS_CLIENT "'");
	}
	buf_append(&b, s + name_end, len - name_end);
	ws_queue(w, WSLAY_TEXT_FRAME, b.data, b.len);
	buf_free(&b);
}

static int ws_wio(struct sx *sx, void *pdata, struct buf *out)
{
	struct ws *w = pdata;
	size_t off = 0;
	int error_seen = 0;

	(void)sx;
	if (w->passthrough || w->state == WS_SNIFF || w->state == WS_INERT)
		return 0;
	if (w->state != WS_OPEN) {
		buf_reset(out);
		return 0;
	}
	buf_append(&w->pend, out->data, out->len);
	buf_reset(out);
	ws_ctx(w);
	while (off < w->pend.len) {
		const char *s = w->pend.data + off;
		size_t n = ws_unit_len(s, w->pend.len - off);

		if (n == 0)
			break;
		if (isspace((unsigned char)s[0]))
			ws_queue(w, WSLAY_PING, "", 0);
		else if (n >= 2 && s[1] == '?')
			;       /* the XML declaration has no place in a message */
		else if (n >= 15 && strncmp(s, "<stream:stream ", 15) == 0)
			ws_header_out(w, s, n);
		else if (n == 16 && strncmp(s, "</stream:stream>", 16) == 0) {
			w->we_close = 1;
			ws_queue(w, WSLAY_TEXT_FRAME, WS_CLOSE_ELEM, strlen(WS_CLOSE_ELEM));
			/* After an error, or answering the peer's <close/>,
			 * nothing more can come: close the WebSocket too. */
			if (error_seen || w->peer_close)
				ws_close_after(w);
		} else {
			error_seen = n >= 13 && strncmp(s, "<stream:error", 13) == 0;
			ws_element_out(w, s, n);
		}
		off += n;
	}
	buf_consume(&w->pend, off);
	if (w->pend.len == 0)
		buf_free(&w->pend);
	ws_flush(sx, w, out);
	ws_ctx_release(w);
	return 0;
}

/* ---- input ---- */

static int ws_rio(struct sx *sx, void *pdata, struct buf *in)
{
	struct ws *w = pdata;
	size_t used = 0;
	int r;

	if (in->len == 0 || w->state == WS_INERT)
		return 0;
	if (w->state == WS_SNIFF) {
		if (in->data[0] != 'G') {
			w->state = WS_INERT;
			return 0;
		}
		w->state = WS_HTTP;
	}
	if (w->state == WS_DEAD) {
		buf_reset(in);
		return 0;
	}
	if (w->state == WS_HTTP) {
		r = ws_http_input(sx, w, in->data, in->len, &used);
		if (r <= 0) {
			buf_reset(in);
			return r;
		}
	}
	return ws_frames_in(sx, w, in, used);
}

static void ws_free(struct sx *sx, void *pdata)
{
	struct ws *w = pdata;
	char **o;

	(void)sx;
	if (w->wsl != NULL)
		wslay_event_context_free(w->wsl);
	free(w->hp);
	ws_free_hdrs(w);
	buf_free(&w->field);
	buf_free(&w->value);
	buf_free(&w->xml);
	buf_free(&w->rbuf);
	buf_free(&w->wire);
	buf_free(&w->pend);
	for (o = w->origins; o != NULL && *o != NULL; o++)
		free(*o);
	free(w->origins);
	free(w->redirect);
	free(w);
}

static const struct sx_plugin ws_plugin = {
	.name = "ws",
	.rio = ws_rio,
	.wio = ws_wio,
	.free = ws_free,
};

int sx_ws_server(struct sx *sx, const struct sx_ws_config *cfg)
{
	struct ws *w = xcalloc(1, sizeof(*w));

	w->max_request = cfg->max_request != 0 ? cfg->max_request : WS_DEFAULT_MAX_REQUEST;
	w->max_message = cfg->max_message != 0 ? cfg->max_message : WS_DEFAULT_MAX_MESSAGE;
	if (cfg->origins != NULL) {
		size_t n = 0, i;

		while (cfg->origins[n] != NULL)
			n++;
		w->origins = xcalloc(n + 1, sizeof(char *));
		for (i = 0; i < n; i++)
			w->origins[i] = xstrdup(cfg->origins[i]);
	}
	w->redirect = xstrdup_opt(cfg->redirect);
	if (sx_plugin_attach(sx, &ws_plugin, w) < 0) {
		ws_free(sx, w);
		return -1;
	}
	return 0;
}

int sx_ws_active(struct sx *sx)
{
	struct ws *w = sx_plugin_data(sx, &ws_plugin);

	return w != NULL && (w->state == WS_OPEN || w->state == WS_HTTP || w->state == WS_DEAD);
}

const char *sx_ws_forwarded_for(struct sx *sx)
{
	struct ws *w = sx_plugin_data(sx, &ws_plugin);

	return w != NULL ? w->hdr[H_XFF] : NULL;
}
