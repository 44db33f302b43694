/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_sasl: libFuzzer target for the SASL plugin (sx/sasl.c) and the
 * GNU SASL mechanisms behind it, driven through a server sx stream.
 *
 * The first byte picks a mode:
 *  0     the rest is XML sent after a stream header (any <auth>,
 *        <response>, <abort/> and junk, as a peer would write it),
 *        fed in slices of a size taken from the second byte;
 *  1..7  the rest is raw mechanism data, messages separated by "||":
 *        the first goes base64-encoded in <auth mechanism=M>, the others
 *        in <response>. "@NONCE@" in a message is replaced by the nonce
 *        of the server's last challenge (SCRAM r=, DIGEST-MD5 nonce=), so
 *        the fuzzer gets past the nonce checks into the proof checks;
 *  8     the rest is what a hostile server says to our DIGEST-MD5 client:
 *        the first message in <challenge>, the next in <success>.
 * The credential store knows "alice" (plaintext password), "bob" (SCRAM
 * keys only) and "err" (backend failure), with cheap iteration counts.
 */
#include "config.h"

#include "sx/sx.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "util/buf.h"
#include "util/nad.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ITER 2
#define FUZZ_MAX_MSGS 8

static struct sx_sasl_ctx *server_ctx, *client_ctx;
static struct sx_sasl_secret bob_keys[2];       /* SHA-1, SHA-256 */

static int fz_lookup(struct sx *sx, const char *mech, const char *hash, const char *authcid,
		     const char *realm, struct sx_sasl_secret *secret)
{
	if (strcmp(authcid, "err") == 0)
		return SX_SASL_ERROR;
	if (strcmp(authcid, "alice") == 0) {
		secret->password = xstrdup("wonderland");
		return SX_SASL_OK;
	}
	if (strcmp(authcid, "bob") == 0 && hash != NULL) {
		*secret = bob_keys[strcmp(hash, "SHA-1") == 0 ? 0 : 1];
		return SX_SASL_OK;
	}
	return SX_SASL_FAIL;
}

static int fz_authorize(struct sx *sx, const char *mech, const char *authcid,
			const char *authzid, const char *realm)
{
	return authzid == NULL || (authcid != NULL && strcmp(authzid, authcid) == 0) ? SX_SASL_OK
										     : SX_SASL_FAIL;
}

static const struct sx_sasl_callbacks fz_cb = {
	.lookup = fz_lookup,
	.authorize = fz_authorize,
};

static void fz_init(void)
{
	struct sx_sasl_config cfg = { 0 };
	const char *err;
	int i;

	cfg.mechs = 0xff;
	cfg.allow_unencrypted = 1;
	cfg.realm = "example.org";
	cfg.scram_iter = FUZZ_ITER;
	cfg.cb = &fz_cb;
	server_ctx = sx_sasl_ctx_new(&cfg, &err);
	cfg.cb = NULL;
	client_ctx = sx_sasl_ctx_new(&cfg, &err);
	if (server_ctx == NULL || client_ctx == NULL)
		abort();
	for (i = 0; i < 2; i++) {
		struct sx_sasl_secret *k = &bob_keys[i];

		memcpy(k->salt, "salt-of-bob", 11);
		k->salt_len = 11;
		k->iter = FUZZ_ITER;
		if (sx_sasl_scram_hash(i == 0 ? "SHA-1" : "SHA-256", "builder", k->salt,
				       k->salt_len, k->iter, k->stored_key, k->server_key,
				       &k->key_len, &err) < 0)
			abort();
	}
}

/* ---- the stream's owner ---- */

static void fz_stream_open(struct sx *sx, const struct sx_header *hdr, void *ctx)
{
	struct sx_header reply = { 0 };

	if (sx_type(sx) != SX_SERVER)
		return;
	reply.ns = hdr->ns;
	reply.version = "1.0";
	sx_open(sx, &reply);
	sx_send(sx, sx_features_new(sx));
}

static void fz_element(struct sx *sx, struct nad *nad, void *ctx)
{
	nad_free(&nad);
}

static const struct sx_callbacks fz_callbacks = {
	.stream_open = fz_stream_open,
	.element = fz_element,
};

#define HEADER "<?xml version='1.0'?><stream:stream xmlns='jabber:client' " \
	"xmlns:stream='http://etherx.jabber.org/streams' to='example.org' version='1.0'>"
#define SERVER_HEADER "<?xml version='1.0'?><stream:stream xmlns='jabber:client' " \
	"xmlns:stream='http://etherx.jabber.org/streams' from='example.org' id='x' version='1.0'>"

/* ---- helpers ---- */

/* Take a side's output; keep it in `out` (replacing what was there). */
static void drain(struct sx *sx, struct buf *out)
{
	size_t len;
	const void *p = sx_output(sx, &len);

	buf_reset(out);
	buf_append(out, p != NULL ? p : "", len);
	sx_output_consumed(sx, len);
}

/* The nonce in the last challenge the server sent, or "". */
static void last_nonce(const struct buf *out, struct buf *nonce)
{
	const char *p, *start, *end;
	unsigned char dec[4096];
	int n;

	buf_reset(nonce);
	if (out->len == 0 || (p = strstr(out->data, "<challenge ")) == NULL)
		return;
	start = strchr(p, '>');
	end = strstr(p, "</challenge>");
	if (start == NULL || end == NULL || end <= start + 1 ||
	    (size_t)(end - start) > sizeof(dec) / 3 * 4)
		return;
	n = EVP_DecodeBlock(dec, (const unsigned char *)start + 1, (int)(end - start - 1));
	if (n <= 0)
		return;
	dec[n] = '\0';
	if ((p = strstr((char *)dec, "r=")) != NULL) {
		p += 2;
		end = strchr(p, ',');
	} else if ((p = strstr((char *)dec, "nonce=\"")) != NULL) {
		p += 7;
		end = strchr(p, '"');
	} else {
		return;
	}
	buf_append(nonce, p, end != NULL ? (size_t)(end - p) : strlen(p));
}

/* Wrap one message: <name [mechanism=M]>base64(msg, @NONCE@ replaced)</name>. */
static void send_message(struct sx *sx, const char *name, const char *mech,
			 const uint8_t *msg, size_t len, const struct buf *nonce)
{
	struct buf raw = { 0 }, xml = { 0 };
	char *b64;
	size_t i;

	for (i = 0; i < len; i++) {
		if (len - i >= 7 && memcmp(msg + i, "@NONCE@", 7) == 0) {
			buf_append(&raw, nonce->data != NULL ? nonce->data : "", nonce->len);
			i += 6;
		} else {
			buf_append_char(&raw, (char)msg[i]);
		}
	}
	b64 = xmalloc(raw.len / 3 * 4 + 8);
	EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)(raw.data ? raw.data : ""),
			(int)raw.len);
	buf_printf(&xml, "<%s xmlns='urn:ietf:params:xml:ns:xmpp-sasl'", name);
	if (mech != NULL)
		buf_printf(&xml, " mechanism='%s'", mech);
	buf_printf(&xml, ">%s</%s>", raw.len > 0 ? b64 : "=", name);
	sx_input(sx, xml.data, xml.len);
	free(b64);
	buf_free(&raw);
	buf_free(&xml);
}

/* Split at "||" into at most FUZZ_MAX_MSGS messages. */
static size_t split(const uint8_t *data, size_t size, const uint8_t **msgs, size_t *lens)
{
	size_t n = 0, start = 0, i;

	for (i = 0; i + 1 < size && n + 1 < FUZZ_MAX_MSGS; i++) {
		if (data[i] == '|' && data[i + 1] == '|') {
			msgs[n] = data + start;
			lens[n++] = i - start;
			start = i + 2;
			i++;
		}
	}
	msgs[n] = data + start;
	lens[n++] = size - start;
	return n;
}

/* ---- modes ---- */

static void fuzz_xml(const uint8_t *data, size_t size)
{
	struct sx *sx = sx_new(SX_SERVER, NULL, &fz_callbacks, NULL);
	struct buf out = { 0 };
	size_t chunk, off = 0;

	if (size == 0)
		goto done;
	chunk = data[0] % 17;
	data++;
	size--;
	sx_sasl_server(sx, server_ctx, NULL);
	sx_input(sx, HEADER, strlen(HEADER));
	while (off < size && !(sx_flags(sx) & SX_F_CLOSED)) {
		size_t n = chunk == 0 || size - off < chunk ? size - off : chunk;

		sx_input(sx, data + off, n);
		drain(sx, &out);
		off += n;
	}
done:
	buf_free(&out);
	sx_free(&sx);
}

static void fuzz_server_mech(const char *mech, const uint8_t *data, size_t size)
{
	struct sx *sx = sx_new(SX_SERVER, NULL, &fz_callbacks, NULL);
	const uint8_t *msgs[FUZZ_MAX_MSGS];
	size_t lens[FUZZ_MAX_MSGS], n, i;
	struct buf out = { 0 }, nonce = { 0 };

	sx_sasl_server(sx, server_ctx, NULL);
	sx_input(sx, HEADER, strlen(HEADER));
	drain(sx, &out);
	n = split(data, size, msgs, lens);
	for (i = 0; i < n && !(sx_flags(sx) & (SX_F_CLOSED | SX_F_AUTHENTICATED)); i++) {
		send_message(sx, i == 0 ? "auth" : "response", i == 0 ? mech : NULL, msgs[i],
			     lens[i], &nonce);
		drain(sx, &out);
		last_nonce(&out, &nonce);
	}
	buf_free(&out);
	buf_free(&nonce);
	sx_free(&sx);
}

static void fuzz_client_digest(const uint8_t *data, size_t size)
{
	struct sx *sx = sx_new(SX_CLIENT, NULL, &fz_callbacks, NULL);
	struct sx_sasl_client_params params = { 0 };
	struct sx_header hdr = { 0 };
	const uint8_t *msgs[FUZZ_MAX_MSGS];
	size_t lens[FUZZ_MAX_MSGS], n, i;
	struct buf out = { 0 }, nonce = { 0 };
	const char *err;

	params.authcid = "alice";
	params.password = "wonderland";
	params.hostname = "example.org";
	sx_sasl_client(sx, client_ctx, &params);
	hdr.ns = SX_NS_CLIENT;
	hdr.version = "1.0";
	sx_open(sx, &hdr);
	sx_input(sx, SERVER_HEADER, strlen(SERVER_HEADER));
	sx_sasl_client_auth(sx, "DIGEST-MD5", &err);
	n = split(data, size, msgs, lens);
	for (i = 0; i < n && !(sx_flags(sx) & (SX_F_CLOSED | SX_F_AUTHENTICATED)); i++) {
		send_message(sx, i + 1 < n ? "challenge" : "success", NULL, msgs[i], lens[i],
			     &nonce);
		drain(sx, &out);
	}
	buf_free(&out);
	buf_free(&nonce);
	sx_free(&sx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const mechs[] = {
		NULL, "SCRAM-SHA-1", "SCRAM-SHA-256", "PLAIN", "DIGEST-MD5", "ANONYMOUS",
		"EXTERNAL", "SCRAM-SHA-256-PLUS",
	};
	unsigned mode;

	if (server_ctx == NULL)
		fz_init();
	if (size == 0)
		return 0;
	mode = data[0] % 9;
	if (mode == 0)
		fuzz_xml(data + 1, size - 1);
	else if (mode == 8)
		fuzz_client_digest(data + 1, size - 1);
	else
		fuzz_server_mech(mechs[mode], data + 1, size - 1);
	return 0;
}
