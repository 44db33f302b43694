/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tls: the sx plugin for TLS, STARTTLS (RFC 6120 section 5) and direct TLS
 * (port 5223), on OpenSSL 3 with memory BIOs. The stream core hands this
 * plugin the bytes read from the peer (rio) and the bytes it wants to send
 * (wio); the plugin runs them through an SSL object whose two BIOs are
 * plain memory buffers, so no socket is ever touched and every path can be
 * driven from unit tests.
 *
 * Besides the byte pipeline it answers the STARTTLS elements, offers
 * <starttls/> in the server's features, and exposes what SASL and the
 * daemons need from the finished handshake: the verified peer names, the
 * channel binding data (tls-exporter, tls-unique) and the SNI name.
 * The contract (who calls sx_open after the handshake, which stream error
 * a failure gives) is documented in sx/sx.h.
 */
#include "config.h"

#include "sx/sx.h"
#include "sx/sx_private.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "util/buf.h"
#include "util/nad.h"

/* id-on-xmppAddr, RFC 6120 section 13.7.1.4. */
#define TLS_OID_XMPPADDR "1.3.6.1.5.5.7.8.5"
/* RFC 9266 */
#define TLS_EXPORTER_LABEL "EXPORTER-Channel-Binding"
#define TLS_EXPORTER_LEN 32
/* A certificate with more names than this is cut short. */
#define TLS_MAX_NAMES 64

struct sx_tls_ctx {
	SSL_CTX *ssl_ctx;
	enum sx_type role;
	int verify_mode;
	int have_ca;
	int refs;               /* the owner's, plus one per stream */
	struct sx_tls_ctx *(*sni_select)(const char *name, void *arg);
	void *sni_arg;
};

/* Per-stream state. */
struct tls {
	struct sx_tls_ctx *ctx;  /* NULL: a server that offers nothing */
	enum sx_type role;
	unsigned required : 1;
	unsigned starttls_sent : 1; /* client: <starttls/> went out */
	unsigned active : 1;    /* records flow (after <proceed/> or direct) */
	unsigned started : 1;   /* SSL_do_handshake has run */
	unsigned done : 1;      /* handshake finished */
	unsigned dead : 1;      /* failed: drop everything */
	SSL *ssl;
	BIO *bio;               /* tls_bio over rq and wq; owned by ssl;
				 * NULL while a trimmed stream is idle */
	struct buf rq;          /* records from the peer, from rpos on */
	size_t rpos;
	struct buf wq;          /* records OpenSSL wrote for the peer */
	struct buf pending;     /* plaintext written before the handshake ended */
	char *server_name;      /* client: SNI and name to verify */
	char **peer_names;      /* NULL-terminated; NULL until verified */
};

static const struct sx_plugin tls_plugin;

/* ---- errors ---- */

static _Thread_local char tls_errbuf[512];

/* Format "<what>: <OpenSSL's reason>" into the thread's error buffer and
 * empty OpenSSL's error queue, which is shared by every stream of the
 * thread. */
static const char *tls_errorf(const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char reason[256];

	if (e != 0)
		ERR_error_string_n(e, reason, sizeof(reason));
	else
		snprintf(reason, sizeof(reason), "unknown error");
	snprintf(tls_errbuf, sizeof(tls_errbuf), "%s: %s", what, reason);
	ERR_clear_error();
	return tls_errbuf;
}

/* ---- contexts ---- */

static int tls_passwd_cb(char *buf, int size, int rwflag, void *userdata)
{
	const char *pw = userdata;
	size_t len;

	if (pw == NULL || size <= 0)
		return 0;
	len = strlen(pw);
	if (len > (size_t)size)
		return 0;
	memcpy(buf, pw, len);
	return (int)len;
}

/* verify_mode 1: keep the handshake going whatever the chain says; the
 * result stays in SSL_get_verify_result() and decides SX_F_PEER_CERT. */
static int tls_verify_accept(int preverify_ok, X509_STORE_CTX *store)
{
	return 1;
}

static int tls_sni_cb(SSL *ssl, int *alert, void *arg)
{
	struct sx_tls_ctx *ctx = arg;
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	struct sx_tls_ctx *chosen;

	if (name == NULL || ctx->sni_select == NULL)
		return SSL_TLSEXT_ERR_OK;
	chosen = ctx->sni_select(name, ctx->sni_arg);
	if (chosen != NULL && chosen->role == SX_SERVER && chosen->ssl_ctx != SSL_get_SSL_CTX(ssl))
		SSL_set_SSL_CTX(ssl, chosen->ssl_ctx);
	return SSL_TLSEXT_ERR_OK;
}

static int tls_ctx_load_pem(SSL_CTX *ssl_ctx, const struct sx_tls_config *cfg,
			    const char **error_r)
{
	char what[300];
	int ok;

	if (SSL_CTX_use_certificate_chain_file(ssl_ctx, cfg->pemfile) != 1) {
		snprintf(what, sizeof(what), "pemfile %s: cannot load the certificate chain",
			 cfg->pemfile);
		*error_r = tls_errorf(what);
		return -1;
	}
	SSL_CTX_set_default_passwd_cb(ssl_ctx, tls_passwd_cb);
	SSL_CTX_set_default_passwd_cb_userdata(ssl_ctx, (void *)cfg->key_password);
	ok = SSL_CTX_use_PrivateKey_file(ssl_ctx, cfg->pemfile, SSL_FILETYPE_PEM);
	/* Keep no pointer to the password once the key is loaded. */
	SSL_CTX_set_default_passwd_cb_userdata(ssl_ctx, NULL);
	if (ok != 1) {
		snprintf(what, sizeof(what), "pemfile %s: cannot load the private key%s",
			 cfg->pemfile, cfg->key_password ? "" : " (encrypted, no password?)");
		*error_r = tls_errorf(what);
		return -1;
	}
	if (SSL_CTX_check_private_key(ssl_ctx) != 1) {
		snprintf(what, sizeof(what), "pemfile %s: key does not match the certificate",
			 cfg->pemfile);
		*error_r = tls_errorf(what);
		return -1;
	}
	return 0;
}

static int tls_ctx_load_ca(struct sx_tls_ctx *ctx, const struct sx_tls_config *cfg,
			   const char **error_r)
{
	char what[300];

	if (SSL_CTX_load_verify_locations(ctx->ssl_ctx, cfg->cachain, NULL) != 1) {
		snprintf(what, sizeof(what), "cachain %s: cannot load", cfg->cachain);
		*error_r = tls_errorf(what);
		return -1;
	}
	if (ctx->role == SX_SERVER) {
		/* Tell clients which CAs we accept, so they pick the right
		 * certificate. */
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cfg->cachain);

		if (names != NULL)
			SSL_CTX_set_client_CA_list(ctx->ssl_ctx, names);
	}
	ctx->have_ca = 1;
	return 0;
}

static int tls_ctx_protocols(SSL_CTX *ssl_ctx, const struct sx_tls_config *cfg,
			     const char **error_r)
{
	int min = cfg->min_version != 0 ? cfg->min_version : TLS1_2_VERSION;
	char what[300];

	if (SSL_CTX_set_min_proto_version(ssl_ctx, min) != 1 ||
	    (cfg->max_version != 0 &&
	     SSL_CTX_set_max_proto_version(ssl_ctx, cfg->max_version) != 1)) {
		*error_r = tls_errorf("bad TLS protocol version");
		return -1;
	}
	if (cfg->ciphers != NULL && SSL_CTX_set_cipher_list(ssl_ctx, cfg->ciphers) != 1) {
		snprintf(what, sizeof(what), "ciphers '%s'", cfg->ciphers);
		*error_r = tls_errorf(what);
		return -1;
	}
	if (cfg->ciphersuites != NULL &&
	    SSL_CTX_set_ciphersuites(ssl_ctx, cfg->ciphersuites) != 1) {
		snprintf(what, sizeof(what), "ciphersuites '%s'", cfg->ciphersuites);
		*error_r = tls_errorf(what);
		return -1;
	}
	return 0;
}

static void tls_ctx_verify(struct sx_tls_ctx *ctx)
{
	static const unsigned char sid_ctx[] = "jabberd-cluster";

	/* Needed for session resumption once peers are verified. */
	SSL_CTX_set_session_id_context(ctx->ssl_ctx, sid_ctx, sizeof(sid_ctx) - 1);
	if (ctx->verify_mode == 2)
		SSL_CTX_set_verify(ctx->ssl_ctx,
				   SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	else if (ctx->verify_mode == 1)
		SSL_CTX_set_verify(ctx->ssl_ctx, SSL_VERIFY_PEER, tls_verify_accept);
	else
		/* A server asks for no certificate. A client still gets the
		 * server's, and the result only decides SX_F_PEER_CERT. */
		SSL_CTX_set_verify(ctx->ssl_ctx, SSL_VERIFY_NONE, NULL);
}

static int tls_ctx_check_config(enum sx_type role, const struct sx_tls_config *cfg,
				const char **error_r)
{
	if (cfg == NULL) {
		*error_r = "no TLS configuration";
		return -1;
	}
	if (role == SX_SERVER && cfg->pemfile == NULL) {
		*error_r = "a TLS server needs a pemfile";
		return -1;
	}
	if (cfg->verify_mode < 0 || cfg->verify_mode > 2) {
		*error_r = "verify-mode must be 0, 1 or 2";
		return -1;
	}
	if (cfg->verify_mode != 0 && cfg->cachain == NULL) {
		*error_r = "verify-mode 1 and 2 need a cachain to verify against";
		return -1;
	}
	return 0;
}

struct sx_tls_ctx *sx_tls_ctx_new(enum sx_type role, const struct sx_tls_config *cfg,
				  const char **error_r)
{
	struct sx_tls_ctx *ctx;

	if (tls_ctx_check_config(role, cfg, error_r) < 0)
		return NULL;
	ERR_clear_error();
	ctx = xcalloc(1, sizeof(*ctx));
	ctx->role = role;
	ctx->verify_mode = cfg->verify_mode;
	ctx->refs = 1;
	ctx->ssl_ctx = SSL_CTX_new(role == SX_SERVER ? TLS_server_method() : TLS_client_method());
	if (ctx->ssl_ctx == NULL) {
		*error_r = tls_errorf("SSL_CTX_new");
		goto err;
	}
	SSL_CTX_set_options(ctx->ssl_ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
			    (role == SX_SERVER ? SSL_OP_CIPHER_SERVER_PREFERENCE : 0));
	/* An idle XMPP session holds no record in flight: let OpenSSL free its
	 * read and write buffers between records (an idle c2s TLS session
	 * went from 39 to 30 KiB with it). */
	SSL_CTX_set_mode(ctx->ssl_ctx, SSL_MODE_RELEASE_BUFFERS);
	if (tls_ctx_protocols(ctx->ssl_ctx, cfg, error_r) < 0)
		goto err;
	if (cfg->pemfile != NULL && tls_ctx_load_pem(ctx->ssl_ctx, cfg, error_r) < 0)
		goto err;
	if (cfg->cachain != NULL && tls_ctx_load_ca(ctx, cfg, error_r) < 0)
		goto err;
	tls_ctx_verify(ctx);
	if (role == SX_SERVER) {
		SSL_CTX_set_tlsext_servername_callback(ctx->ssl_ctx, tls_sni_cb);
		SSL_CTX_set_tlsext_servername_arg(ctx->ssl_ctx, ctx);
	}
	return ctx;
err:
	SSL_CTX_free(ctx->ssl_ctx);
	free(ctx);
	return NULL;
}

static void tls_ctx_unref(struct sx_tls_ctx *ctx)
{
	if (ctx == NULL || --ctx->refs > 0)
		return;
	SSL_CTX_free(ctx->ssl_ctx);
	free(ctx);
}

void sx_tls_ctx_free(struct sx_tls_ctx **ctxp)
{
	if (*ctxp == NULL)
		return;
	tls_ctx_unref(*ctxp);
	*ctxp = NULL;
}

void sx_tls_ctx_set_sni(struct sx_tls_ctx *ctx,
			struct sx_tls_ctx *(*select)(const char *name, void *arg), void *arg)
{
	ctx->sni_select = select;
	ctx->sni_arg = arg;
}

/* ---- the BIO ----
 *
 * OpenSSL reads and writes records through one BIO of ours over the
 * plugin's two buffers, rather than a pair of memory BIOs: those keep the
 * capacity of the largest record they ever held, stream by stream, and
 * each costs a BIO object besides. Buffers here are handed over without
 * copying where possible and freed when an idle stream is trimmed.
 */

static int tls_bio_write(BIO *b, const char *data, size_t len, size_t *written)
{
	struct tls *t = BIO_get_data(b);

	BIO_clear_retry_flags(b);
	buf_append(&t->wq, data, len);
	*written = len;
	return 1;
}

static int tls_bio_read(BIO *b, char *data, size_t len, size_t *readbytes)
{
	struct tls *t = BIO_get_data(b);
	size_t avail = t->rq.len - t->rpos;

	BIO_clear_retry_flags(b);
	*readbytes = 0;
	if (avail == 0) {
		BIO_set_retry_read(b);      /* wait for more, not end of file */
		return 0;
	}
	if (len > avail)
		len = avail;
	memcpy(data, t->rq.data + t->rpos, len);
	t->rpos += len;
	if (t->rpos == t->rq.len) {
		buf_reset(&t->rq);
		t->rpos = 0;
	}
	*readbytes = len;
	return 1;
}

static long tls_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct tls *t = BIO_get_data(b);

	(void)num;
	(void)ptr;
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1;
	case BIO_CTRL_PENDING:
		return (long)(t->rq.len - t->rpos);
	case BIO_CTRL_WPENDING:
		return (long)t->wq.len;
	default:
		return 0;
	}
}

static int tls_bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

/* The method, made once per process and kept for its life. */
static BIO_METHOD *tls_bio_method(void)
{
	static BIO_METHOD *m;

	if (m == NULL) {
		m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "sx tls");
		if (m == NULL || !BIO_meth_set_write_ex(m, tls_bio_write) ||
		    !BIO_meth_set_read_ex(m, tls_bio_read) ||
		    !BIO_meth_set_ctrl(m, tls_bio_ctrl) ||
		    !BIO_meth_set_create(m, tls_bio_create))
			abort();        /* out of memory, as xmalloc */
	}
	return m;
}

/* ---- the engine ---- */

/* Move whatever OpenSSL wrote (handshake records, alerts, tickets) to the
 * output, past every wio stage. */
static void tls_flush(struct sx *sx, struct tls *t)
{
	if (t->wq.len > 0)
		sx_raw_write(sx, t->wq.data, t->wq.len);
	buf_reset(&t->wq);
}

/* The handshake or a record failed: send OpenSSL's alert, stop, and end
 * the stream. Always returns -1. */
static int tls_fail(struct sx *sx, struct tls *t, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	const char *cond = "undefined-condition";
	char text[300];
	long vr = t->ssl != NULL ? SSL_get_verify_result(t->ssl) : X509_V_OK;

	if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
	    (ERR_GET_REASON(e) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE ||
	     ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED))
		cond = "policy-violation";
	if (ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED && vr != X509_V_OK) {
		snprintf(text, sizeof(text), "TLS %s: certificate verify failed: %s", what,
			 X509_verify_cert_error_string(vr));
		ERR_clear_error();
	} else {
		char label[64];

		snprintf(label, sizeof(label), "TLS %s", what);
		snprintf(text, sizeof(text), "%s", tls_errorf(label));
	}
	if (t->bio != NULL)
		tls_flush(sx, t);
	t->dead = 1;
	buf_free(&t->pending);
	sx_error(sx, cond, text);
	return -1;
}

static void tls_names_add(char ***names, int *n, const unsigned char *data, int len)
{
	if (len <= 0 || *n >= TLS_MAX_NAMES || memchr(data, '\0', (size_t)len) != NULL)
		return;
	(*names)[(*n)++] = xstrndup((const char *)data, (size_t)len);
	(*names)[*n] = NULL;
}

/* Collect id-on-xmppAddr values, then dNSName values, from the
 * subjectAltName of a verified certificate. */
static char **tls_cert_names(X509 *cert)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	ASN1_OBJECT *oid = OBJ_txt2obj(TLS_OID_XMPPADDR, 1);
	char **names = xcalloc(TLS_MAX_NAMES + 1, sizeof(*names));
	int n = 0, i, pass;

	for (pass = 0; gens != NULL && oid != NULL && pass < 2; pass++) {
		for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
			const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

			if (pass == 0 && g->type == GEN_OTHERNAME &&
			    OBJ_cmp(g->d.otherName->type_id, oid) == 0 &&
			    g->d.otherName->value->type == V_ASN1_UTF8STRING) {
				const ASN1_STRING *s = g->d.otherName->value->value.utf8string;

				tls_names_add(&names, &n, ASN1_STRING_get0_data(s),
					      ASN1_STRING_length(s));
			} else if (pass == 1 && g->type == GEN_DNS) {
				tls_names_add(&names, &n, ASN1_STRING_get0_data(g->d.dNSName),
					      ASN1_STRING_length(g->d.dNSName));
			}
		}
	}
	GENERAL_NAMES_free(gens);
	ASN1_OBJECT_free(oid);
	return names;
}

/* The BIO, made again for a stream trimmed while idle (tls_trim). */
static void tls_bio_attach(struct tls *t)
{
	if (t->bio != NULL)
		return;
	t->bio = BIO_new(tls_bio_method());
	if (t->bio == NULL)
		abort();        /* out of memory, as xmalloc */
	BIO_set_data(t->bio, t);
	/* The same BIO both ways: one reference, which ssl now owns. */
	SSL_set_bio(t->ssl, t->bio, t->bio);
}

/* Encrypt `data` into `out` (replacing its contents). */
static int tls_encrypt(struct tls *t, const char *data, size_t len, struct buf *out)
{
	struct buf plain;
	int n;

	tls_bio_attach(t);
	while (len > 0) {
		int chunk = len > INT_MAX ? INT_MAX : (int)len;

		ERR_clear_error();
		n = SSL_write(t->ssl, data, chunk);
		if (n <= 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	/* The records become `out`; its old buffer is the next queue. */
	plain = *out;
	*out = t->wq;
	t->wq = plain;
	buf_reset(&t->wq);
	return 0;
}

static int tls_handshake_done(struct sx *sx, struct tls *t)
{
	X509 *cert = SSL_get0_peer_certificate(t->ssl);

	t->done = 1;
	sx_set_flags(sx, SX_F_ENCRYPTED);
	if (cert != NULL && t->ctx != NULL && t->ctx->have_ca &&
	    SSL_get_verify_result(t->ssl) == X509_V_OK) {
		t->peer_names = tls_cert_names(cert);
		sx_set_flags(sx, SX_F_PEER_CERT);
	}
	if (t->pending.len > 0) {
		struct buf out = { 0 };

		if (tls_encrypt(t, t->pending.data, t->pending.len, &out) < 0) {
			buf_free(&out);
			return tls_fail(sx, t, "write");
		}
		buf_free(&t->pending);
		sx_raw_write(sx, out.data, out.len);
		buf_free(&out);
	}
	sx_event(sx, SX_EV_TLS_DONE, NULL);
	return 0;
}

static int tls_handshake(struct sx *sx, struct tls *t)
{
	int r, e;

	t->started = 1;
	tls_bio_attach(t);
	ERR_clear_error();
	r = SSL_do_handshake(t->ssl);
	if (r == 1) {
		tls_flush(sx, t);
		return tls_handshake_done(sx, t);
	}
	e = SSL_get_error(t->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		tls_flush(sx, t);
		ERR_clear_error();
		return 0;
	}
	return tls_fail(sx, t, "handshake failed");
}

/* Decrypt everything OpenSSL can from what arrived, into `in`. */
static int tls_read(struct sx *sx, struct tls *t, struct buf *in)
{
	char tmp[16384];
	int n, e;

	tls_bio_attach(t);
	for (;;) {
		ERR_clear_error();
		n = SSL_read(t->ssl, tmp, sizeof(tmp));
		if (n > 0) {
			buf_append(in, tmp, (size_t)n);
			continue;
		}
		e = SSL_get_error(t->ssl, n);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			break;
		if (e == SSL_ERROR_ZERO_RETURN)
			break;          /* close_notify: nothing more will come */
		return tls_fail(sx, t, "read");
	}
	ERR_clear_error();
	/* TLS 1.3 writes while reading (tickets, key updates). */
	tls_flush(sx, t);
	return 0;
}

/* Create the SSL object; records flow from now on. */
static void tls_start(struct sx *sx, struct tls *t)
{
	t->ssl = SSL_new(t->ctx->ssl_ctx);
	if (t->ssl == NULL)
		abort();        /* out of memory, as xmalloc */
	tls_bio_attach(t);
	if (t->role == SX_SERVER) {
		SSL_set_accept_state(t->ssl);
	} else {
		SSL_set_connect_state(t->ssl);
		if (t->server_name != NULL) {
			SSL_set_tlsext_host_name(t->ssl, t->server_name);
			SSL_set1_host(t->ssl, t->server_name);
		}
	}
	t->active = 1;
}

/* ---- plugin hooks ---- */

/* Idle: the record queues give their (emptied) buffers back, and after
 * the handshake the BIO goes too (about 220 bytes with its lock); the
 * next record makes a new one. */
static void tls_trim(struct sx *sx, void *pdata)
{
	struct tls *t = pdata;

	(void)sx;
	if (t->rq.len == t->rpos)
		buf_free(&t->rq);
	if (t->wq.len == 0)
		buf_free(&t->wq);
	if (t->bio != NULL && t->done && !t->dead && t->rq.len == 0 &&
	    t->wq.len == 0 && !SSL_in_init(t->ssl) && SSL_pending(t->ssl) == 0) {
		SSL_set_bio(t->ssl, NULL, NULL);
		t->bio = NULL;
	}
}

static int tls_rio(struct sx *sx, void *pdata, struct buf *in)
{
	struct tls *t = pdata;

	if (!t->active)
		return 0;
	if (t->dead) {
		buf_reset(in);
		return -1;
	}
	if (in->len > INT_MAX)
		return tls_fail(sx, t, "read");
	if (t->rq.len == t->rpos) {
		/* Nothing left over: take the bytes without copying. */
		buf_free(&t->rq);
		t->rq = *in;
		t->rpos = 0;
		buf_init(in);
	} else {
		buf_append(&t->rq, in->data, in->len);
		buf_reset(in);
	}
	if (!t->done && tls_handshake(sx, t) < 0)
		return -1;
	if (!t->done || t->dead)
		return 0;
	return tls_read(sx, t, in);
}

static int tls_wio(struct sx *sx, void *pdata, struct buf *out)
{
	struct tls *t = pdata;

	if (!t->active || out->len == 0)
		return 0;
	if (t->dead) {
		buf_reset(out);
		return 0;
	}
	if (!t->done) {
		/* Held until the handshake ends. A client on direct TLS
		 * starts the handshake with its first write. */
		buf_append(&t->pending, out->data, out->len);
		buf_reset(out);
		if (!t->started && t->role == SX_CLIENT)
			return tls_handshake(sx, t);
		return 0;
	}
	if (tls_encrypt(t, out->data, out->len, out) < 0) {
		buf_reset(out);
		return tls_fail(sx, t, "write");
	}
	return 0;
}

static void tls_send_simple(struct sx *sx, const char *name)
{
	struct nad *nad = nad_new();

	nad_elem_add(nad, NAD_NONE, SX_NS_TLS, name);
	sx_send(sx, nad);
}

/* Server: the peer's <starttls/> (or another element of the TLS
 * namespace, which a server never expects). */
static void tls_server_element(struct sx *sx, struct tls *t, const char *name)
{
	if (strcmp(name, "starttls") != 0 || t->ctx == NULL || t->active ||
	    (sx_flags(sx) & (SX_F_ENCRYPTED | SX_F_AUTHENTICATED)) != 0) {
		tls_send_simple(sx, "failure");
		sx_close(sx);
		return;
	}
	tls_send_simple(sx, "proceed");
	/* Anything sent after <starttls/> in clear is dropped; the next
	 * header comes over TLS. */
	sx_restart(sx);
	tls_start(sx, t);
}

static void tls_client_element(struct sx *sx, struct tls *t, const char *name)
{
	if (strcmp(name, "proceed") == 0 && t->starttls_sent && !t->active) {
		sx_restart(sx);
		tls_start(sx, t);
		tls_handshake(sx, t);
		return;
	}
	if (strcmp(name, "failure") == 0 && t->starttls_sent && !t->active) {
		sx_close(sx);
		return;
	}
	sx_error(sx, "policy-violation", "unexpected STARTTLS element");
}

/* Client: act on the server's features. Returns 1 if they were taken. */
static int tls_client_features(struct sx *sx, struct tls *t, struct nad *nad)
{
	int offer;

	if (t->active || (sx_flags(sx) & SX_F_ENCRYPTED) != 0)
		return 0;
	offer = nad_child(nad, nad_root(nad), SX_NS_TLS, "starttls");
	if (offer != NAD_NONE && !t->starttls_sent) {
		t->starttls_sent = 1;
		tls_send_simple(sx, "starttls");
		return 1;
	}
	if (offer == NAD_NONE && t->required) {
		sx_error(sx, "policy-violation", "the server does not offer STARTTLS");
		return 1;
	}
	return 0;
}

static int tls_element(struct sx *sx, void *pdata, struct nad *nad)
{
	struct tls *t = pdata;
	int root = nad_root(nad);
	const char *ns = nad_ns(nad, root);
	const char *name = nad_name(nad, root);
	int taken = 0;

	if (ns != NULL && strcmp(ns, SX_NS_TLS) == 0) {
		if (t->role == SX_SERVER)
			tls_server_element(sx, t, name);
		else
			tls_client_element(sx, t, name);
		taken = 1;
	} else if (t->role == SX_CLIENT && t->ctx != NULL && ns != NULL &&
		   strcmp(ns, SX_NS_STREAMS) == 0 && strcmp(name, "features") == 0) {
		taken = tls_client_features(sx, t, nad);
	}
	if (taken)
		nad_free(&nad);
	return taken;
}

static void tls_features(struct sx *sx, void *pdata, struct nad *nad, int features)
{
	struct tls *t = pdata;
	int e;

	if (t->role != SX_SERVER || t->ctx == NULL || t->active ||
	    (sx_flags(sx) & (SX_F_ENCRYPTED | SX_F_AUTHENTICATED)) != 0)
		return;
	e = nad_elem_add(nad, features, SX_NS_TLS, "starttls");
	if (t->required)
		nad_elem_add(nad, e, SX_NS_TLS, "required");
}

static void tls_free(struct sx *sx, void *pdata)
{
	struct tls *t = pdata;
	char **p;

	if (t == NULL)
		return;
	/* A stream that ended without a TLS error keeps its session
	 * resumable (OpenSSL drops sessions freed without a shutdown). */
	if (t->ssl != NULL && t->done && !t->dead)
		SSL_set_shutdown(t->ssl, SSL_SENT_SHUTDOWN);
	SSL_free(t->ssl);
	buf_free(&t->rq);
	buf_free(&t->wq);
	buf_free(&t->pending);
	free(t->server_name);
	for (p = t->peer_names; p != NULL && *p != NULL; p++)
		free(*p);
	free(t->peer_names);
	tls_ctx_unref(t->ctx);
	free(t);
}

static const struct sx_plugin tls_plugin = {
	.name = "tls",
	.rio = tls_rio,
	.wio = tls_wio,
	.element = tls_element,
	.features = tls_features,
	.free = tls_free,
	.trim = tls_trim,
};

/* ---- API ---- */

static struct tls *tls_attach(struct sx *sx, struct sx_tls_ctx *ctx)
{
	struct tls *t;

	if (ctx != NULL && ctx->role != sx_type(sx))
		return NULL;
	if (ctx == NULL && sx_type(sx) != SX_SERVER)
		return NULL;
	t = xcalloc(1, sizeof(*t));
	t->role = sx_type(sx);
	t->ctx = ctx;
	if (sx_plugin_attach(sx, &tls_plugin, t) < 0) {
		free(t);
		return NULL;
	}
	if (ctx != NULL)
		ctx->refs++;
	return t;
}

int sx_tls_starttls(struct sx *sx, struct sx_tls_ctx *ctx, int required)
{
	struct tls *t = tls_attach(sx, ctx);

	if (t == NULL)
		return -1;
	t->required = required != 0;
	return 0;
}

int sx_tls_direct(struct sx *sx, struct sx_tls_ctx *ctx)
{
	struct tls *t;

	if (ctx == NULL || (t = tls_attach(sx, ctx)) == NULL)
		return -1;
	tls_start(sx, t);
	return 0;
}

void sx_tls_set_server_name(struct sx *sx, const char *name)
{
	struct tls *t = sx_plugin_data(sx, &tls_plugin);

	if (t == NULL || t->role != SX_CLIENT || t->started)
		return;
	free(t->server_name);
	t->server_name = xstrdup_opt(name);
	if (t->ssl != NULL && name != NULL) {
		SSL_set_tlsext_host_name(t->ssl, name);
		SSL_set1_host(t->ssl, name);
	}
}

const char *sx_tls_sni(const struct sx *sx)
{
	struct tls *t = sx_plugin_data((struct sx *)sx, &tls_plugin);

	/* OpenSSL keeps the name (a server's SSL_get_servername). */
	if (t == NULL || t->role != SX_SERVER || t->ssl == NULL)
		return NULL;
	return SSL_get_servername(t->ssl, TLSEXT_NAMETYPE_host_name);
}

int sx_tls_required(struct sx *sx)
{
	struct tls *t = sx_plugin_data(sx, &tls_plugin);

	return t != NULL && t->ctx != NULL && t->required &&
	       (sx_flags(sx) & SX_F_ENCRYPTED) == 0;
}

static int tls_unique(struct tls *t, unsigned char *buf, size_t size)
{
	size_t n;
	/* RFC 5929: the first Finished message of the latest handshake,
	 * which is the client's in a full handshake and the server's in a
	 * resumed one. */
	int ours = (t->role == SX_CLIENT) != (SSL_session_reused(t->ssl) != 0);

	if (SSL_version(t->ssl) > TLS1_2_VERSION)
		return -1;
	n = ours ? SSL_get_finished(t->ssl, buf, size) : SSL_get_peer_finished(t->ssl, buf, size);
	if (n == 0 || n > size)
		return -1;
	return (int)n;
}

int sx_tls_channel_binding(struct sx *sx, const char *type, unsigned char *buf, size_t size)
{
	struct tls *t = sx_plugin_data(sx, &tls_plugin);

	if (t == NULL || !t->done || t->dead || type == NULL)
		return -1;
	if (strcmp(type, "tls-exporter") == 0) {
		if (SSL_version(t->ssl) < TLS1_3_VERSION || size < TLS_EXPORTER_LEN)
			return -1;
		if (SSL_export_keying_material(t->ssl, buf, TLS_EXPORTER_LEN, TLS_EXPORTER_LABEL,
					       strlen(TLS_EXPORTER_LABEL), NULL, 0, 1) != 1) {
			ERR_clear_error();
			return -1;
		}
		return TLS_EXPORTER_LEN;
	}
	if (strcmp(type, "tls-unique") == 0)
		return tls_unique(t, buf, size);
	return -1;
}

const char *sx_tls_version(const struct sx *sx)
{
	struct tls *t = sx_plugin_data((struct sx *)sx, &tls_plugin);

	if (t == NULL || !t->done)
		return NULL;
	return SSL_get_version(t->ssl);
}

const char *const *sx_tls_peer_names(struct sx *sx)
{
	struct tls *t = sx_plugin_data(sx, &tls_plugin);

	if (t == NULL || t->peer_names == NULL)
		return NULL;
	return (const char *const *)t->peer_names;
}
