/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the WebSocket plugin (sx/ws.c) on a server stream:
 * the HTTP upgrade request (http-parser and the header checks), then
 * WebSocket frames (wslay) and the RFC 7395 translation into the XML
 * parser, with the server answering headers and echoing elements so the
 * output translation runs too.
 *
 * Input: byte 0 holds flags: bit 0 puts a valid upgrade request in front
 * of the rest, so the fuzzer spends its time on frames; the other bits
 * pick where the rest is split in two (two reads from the socket). The
 * stream must report at most one close, and refuse input after it.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sx/sx.h"
#include "util/nad.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define UPGRADE "GET /xmpp-websocket HTTP/1.1\r\nHost: example.net\r\n" \
	"Upgrade: websocket\r\nConnection: Upgrade\r\n" \
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" \
	"Origin: https://example.net\r\nSec-WebSocket-Protocol: xmpp\r\n\r\n"

struct fz {
	int closed;
	int elems;
};

static void fz_open(struct sx *sx, const struct sx_header *hdr, void *ctx)
{
	struct sx_header h = { 0 };

	(void)ctx;
	h.ns = hdr->ns;
	h.from = hdr->to;
	h.version = hdr->version;
	sx_open(sx, &h);
	sx_send(sx, sx_features_new(sx));
}

static void fz_element(struct sx *sx, struct nad *nad, void *ctx)
{
	struct fz *f = ctx;

	f->elems++;
	if (f->elems % 5 == 4)
		sx_send_raw(sx, " ", 1);        /* keepalive: a ping */
	if (f->elems % 7 == 3)
		sx_error(sx, "policy-violation", "fuzz");
	else if (f->elems % 11 == 6)
		sx_close(sx);
	else
		sx_send(sx, nad_copy(nad));
	nad_free(&nad);
}

static void fz_closed(struct sx *sx, const char *cond, const char *text, void *ctx)
{
	struct fz *f = ctx;

	(void)sx;
	(void)cond;
	(void)text;
	if (++f->closed > 1)
		abort();
}

static const struct sx_callbacks fz_cb = {
	.stream_open = fz_open,
	.element = fz_element,
	.closed = fz_closed,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const origins[] = { "https://example.net", NULL };
	struct sx_ws_config cfg = { .origins = origins, .redirect = "https://example.net/",
				    .max_request = 2048, .max_message = 4096 };
	struct sx_limits lim = { .max_stanza = 4096, .max_depth = 16, .max_attrs = 16,
				 .max_header = 1024 };
	struct fz f = { 0 };
	struct sx *sx;
	uint8_t *in;
	size_t at, len, n;
	int r1 = 0, r2;

	if (size == 0)
		return 0;
	n = size - 1;
	in = malloc(sizeof(UPGRADE) + n);
	if (in == NULL)
		return 0;
	len = 0;
	if (data[0] & 1) {
		memcpy(in, UPGRADE, sizeof(UPGRADE) - 1);
		len = sizeof(UPGRADE) - 1;
	}
	memcpy(in + len, data + 1, n);
	len += n;
	at = len > 0 ? (size_t)(data[0] >> 1) * len / 128 : 0;
	sx = sx_new(SX_SERVER, &lim, &fz_cb, &f);
	if (sx_ws_server(sx, &cfg) != 0)
		abort();
	if (at > 0)
		r1 = sx_input(sx, in, at);
	sx_output(sx, &n);
	sx_output_consumed(sx, n / 2);
	r2 = sx_input(sx, in + at, len - at);
	if ((r1 < 0 && r2 == 0) || (r2 < 0) != (f.closed == 1))
		abort();        /* closed is final and always reported */
	sx_free(&sx);
	free(in);
	return 0;
}
