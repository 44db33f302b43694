/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sasl: the sx plugin for SASL authentication (RFC 6120 section 6) on top
 * of GNU SASL 2. It consumes the elements of the xmpp-sasl namespace,
 * offers <mechanisms> in a server's features, and runs both sides of the
 * exchange: the server reaches the owner's credential store through the
 * callbacks in struct sx_sasl_callbacks, the client answers with the
 * credentials it was given. Channel binding for the -PLUS mechanisms
 * comes from the tls plugin (sx_tls_channel_binding).
 *
 * GNU SASL asks for what it needs (passwords, SCRAM keys, channel
 * binding, validation) through one callback per library context; the
 * session hook points back at the stream's state here. Which mechanism is
 * offered when, the failure conditions and the events are documented in
 * sx/sx.h.
 */
#include "config.h"

#include "sx/sx.h"
#include "sx/sx_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsasl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "util/buf.h"
#include "util/nad.h"

#define SASL_NS_CB "urn:xmpp:sasl-cb:0"
/* Bound on a decoded SASL message; real ones are a few hundred bytes. */
#define SASL_MAX_DATA 16384
/* A client refuses to spend more than this on a server's PBKDF2. */
#define SASL_CLIENT_MAX_ITER 1000000
#define SASL_DEFAULT_ITER 4096
#define SASL_FAKE_SALT 16
#define SASL_CB_MAX 64

struct mech_info {
	const char *name;
	unsigned bit;
	const char *hash;       /* SCRAM hash, else NULL */
	int plus;               /* needs channel binding */
	int weak;               /* needs TLS unless allow_unencrypted */
	int server_first;       /* no initial response */
};

/* Server offer order. */
static const struct mech_info sasl_mechs[] = {
	{ "EXTERNAL", SX_SASL_EXTERNAL, NULL, 0, 0, 0 },
	{ "SCRAM-SHA-256-PLUS", SX_SASL_SCRAM_SHA_256_PLUS, "SHA-256", 1, 0, 0 },
	{ "SCRAM-SHA-1-PLUS", SX_SASL_SCRAM_SHA_1_PLUS, "SHA-1", 1, 0, 0 },
	{ "SCRAM-SHA-256", SX_SASL_SCRAM_SHA_256, "SHA-256", 0, 0, 0 },
	{ "SCRAM-SHA-1", SX_SASL_SCRAM_SHA_1, "SHA-1", 0, 0, 0 },
	{ "DIGEST-MD5", SX_SASL_DIGEST_MD5, NULL, 0, 1, 1 },
	{ "PLAIN", SX_SASL_PLAIN, NULL, 0, 1, 0 },
	{ "ANONYMOUS", SX_SASL_ANONYMOUS, NULL, 0, 0, 0 },
};
#define SASL_NMECHS (sizeof(sasl_mechs) / sizeof(sasl_mechs[0]))

/* Client preference, as indices into sasl_mechs. */
static const int sasl_client_order[] = { 1, 2, 3, 4, 0, 5, 6, 7 };

struct sx_sasl_ctx {
	Gsasl *gsasl;
	unsigned mechs;
	int allow_unencrypted;
	char *realm;
	unsigned scram_iter;
	struct sx_sasl_callbacks cb;
	unsigned char salt_key[32];     /* derives salts for SCRAM without
					 * stored keys, and for unknown users */
	int refs;
};

struct sasl {
	struct sx_sasl_ctx *ctx;
	struct sx *sx;
	enum sx_type role;
	char *realm;
	Gsasl_session *gs;
	const struct mech_info *mech;   /* of the running exchange */
	/* server */
	int looked_up;
	int lookup_rc;
	int backend_error;
	int plain_no_authzid;
	struct sx_sasl_secret secret;
	/* client */
	struct sx_sasl_client_params p;
	unsigned char *cb_override;
	int client_done;        /* the mechanism finished; <success> pending */
	int aborted;            /* we sent <abort/>; swallow the <failure/> */
	char cond[48];
};

static const struct sx_plugin sasl_plugin;

/* ---- base64 (RFC 4648, strict: no whitespace, padding required) ---- */

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decode into a fresh NUL-terminated buffer. Returns 0 or -1. */
static int b64_decode(const char *in, size_t len, char **out_r, size_t *len_r)
{
	unsigned char *out;
	size_t i, o = 0;

	if (len % 4 != 0)
		return -1;
	out = xmalloc(len / 4 * 3 + 1);
	for (i = 0; i < len; i += 4) {
		int v[4], k, pad = 0;

		for (k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)in[i + k];

			if (c == '=' && i + 4 == len && k >= 2 &&
			    (k == 3 || in[i + 3] == '=')) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad > 0 || (v[k] = b64_value(c)) < 0) {
				free(out);
				return -1;
			}
		}
		out[o++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		if (pad < 2)
			out[o++] = (unsigned char)((v[1] & 0xf) << 4 | v[2] >> 2);
		if (pad < 1)
			out[o++] = (unsigned char)((v[2] & 0x3) << 6 | v[3]);
	}
	out[o] = '\0';
	*out_r = (char *)out;
	*len_r = o;
	return 0;
}

static char *b64_encode(const void *data, size_t len)
{
	char *out = xmalloc((len + 2) / 3 * 4 + 1);

	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

/* ---- shared helpers ---- */

static const struct mech_info *sasl_mech_find(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < SASL_NMECHS; i++)
		if (strcmp(sasl_mechs[i].name, name) == 0)
			return &sasl_mechs[i];
	return NULL;
}

/* The channel binding type this stream can give, or NULL. */
static const char *sasl_cb_type(struct sx *sx)
{
	unsigned char buf[SASL_CB_MAX];

	if (sx_tls_channel_binding(sx, "tls-exporter", buf, sizeof(buf)) > 0)
		return "tls-exporter";
	if (sx_tls_channel_binding(sx, "tls-unique", buf, sizeof(buf)) > 0)
		return "tls-unique";
	return NULL;
}

/* Set a channel binding property (base64) from the TLS layer. */
static int sasl_set_cb(struct sasl *s, Gsasl_session *gs, Gsasl_property prop)
{
	const char *type = prop == GSASL_CB_TLS_EXPORTER ? "tls-exporter" : "tls-unique";
	unsigned char buf[SASL_CB_MAX];
	int n = sx_tls_channel_binding(s->sx, type, buf, sizeof(buf));
	char *b64;

	if (n <= 0)
		return GSASL_NO_CALLBACK;
	b64 = b64_encode(buf, (size_t)n);
	gsasl_property_set(gs, prop, b64);
	free(b64);
	return GSASL_OK;
}

static void sasl_send(struct sx *sx, const char *name, const char *data, size_t len,
		      int empty_marker)
{
	struct nad *nad = nad_new();
	int root = nad_elem_add(nad, NAD_NONE, SX_NS_SASL, name);

	if (data != NULL && len > 0) {
		char *b64 = b64_encode(data, len);

		nad_text_append(nad, root, b64, strlen(b64));
		free(b64);
	} else if (data != NULL && empty_marker) {
		nad_text_append(nad, root, "=", 1);
	}
	sx_send(sx, nad);
}

/* End the exchange and forget every secret it touched. */
static void sasl_reset(struct sasl *s)
{
	if (s->gs != NULL)
		gsasl_finish(s->gs);
	s->gs = NULL;
	s->mech = NULL;
	s->looked_up = 0;
	s->lookup_rc = 0;
	s->backend_error = 0;
	s->plain_no_authzid = 0;
	s->client_done = 0;
	if (s->secret.password != NULL) {
		OPENSSL_cleanse(s->secret.password, strlen(s->secret.password));
		free(s->secret.password);
	}
	OPENSSL_cleanse(&s->secret, sizeof(s->secret));
	s->secret.password = NULL;
}

/* Decode an element's base64 text. *data_r is NULL when the element is
 * empty (no data), "" for "=" (data of zero length). Returns 0, or -1 on
 * bad encoding or oversized data. */
static int sasl_decode(const struct nad *nad, int elem, char **data_r, size_t *len_r)
{
	size_t tlen;
	const char *text = nad_text(nad, elem, &tlen);

	*data_r = NULL;
	*len_r = 0;
	if (tlen == 0)
		return 0;
	if (tlen == 1 && text[0] == '=') {
		*data_r = xstrdup("");
		return 0;
	}
	if (tlen > SASL_MAX_DATA / 3 * 4 + 4)
		return -1;
	return b64_decode(text, tlen, data_r, len_r);
}

static const char *sasl_refusal(struct sasl *s, const struct mech_info *m);

/*
 * GNU SASL 2.2's DIGEST-MD5 parser dereferences NULL when a directive it
 * knows comes without "=" (both sides), and on the server when a response
 * has neither realm nor charset=utf-8. Such messages are refused before it
 * sees them: split the way it splits (at commas outside double quotes, up
 * to the first NUL), every non-empty directive must have "=", and a
 * response must name a realm (ours requires one anyway).
 */
static int sasl_digest_ok(const char *data, size_t len, int need_realm)
{
	size_t i = 0;
	int realm = 0;

	len = strnlen(data, len);
	while (i < len) {
		size_t start = i, eq = 0;
		int quoted = 0, have_eq = 0;

		for (; i < len && (quoted || data[i] != ','); i++) {
			if (data[i] == '"')
				quoted = !quoted;
			else if (data[i] == '=' && !have_eq) {
				have_eq = 1;
				eq = i;
			}
		}
		if (i > start && !have_eq)
			return 0;
		if (have_eq && eq - start == 5 && memcmp(data + start, "realm", 5) == 0)
			realm = 1;
		for (i++; i < len && strchr(" \t\r\n", data[i]) != NULL; i++)
			;
	}
	return !need_realm || realm;
}

/* ---- server: credentials ---- */

/* Run the owner's lookup once per exchange. */
static int sasl_lookup(struct sasl *s, Gsasl_session *gs)
{
	const char *authcid = gsasl_property_fast(gs, GSASL_AUTHID);

	if (s->looked_up)
		return s->lookup_rc;
	s->looked_up = 1;
	memset(&s->secret, 0, sizeof(s->secret));
	if (authcid == NULL || s->ctx->cb.lookup == NULL)
		s->lookup_rc = SX_SASL_FAIL;
	else
		s->lookup_rc = s->ctx->cb.lookup(s->sx, s->mech->name, s->mech->hash, authcid,
						 s->realm, &s->secret);
	if (s->lookup_rc == SX_SASL_ERROR)
		s->backend_error = 1;
	else if (s->lookup_rc != SX_SASL_OK)
		s->lookup_rc = SX_SASL_FAIL;
	return s->lookup_rc;
}

static size_t sasl_hash_len(const struct mech_info *m)
{
	return strcmp(m->hash, "SHA-256") == 0 ? 32 : 20;
}

static int sasl_have_keys(struct sasl *s)
{
	return s->lookup_rc == SX_SASL_OK && s->secret.key_len == sasl_hash_len(s->mech) &&
	       s->secret.salt_len > 0 && s->secret.salt_len <= SX_SASL_MAX_SALT &&
	       s->secret.iter > 0;
}

static int sasl_set_b64(Gsasl_session *gs, Gsasl_property prop, const void *data, size_t len)
{
	char *b64 = b64_encode(data, len);

	gsasl_property_set(gs, prop, b64);
	OPENSSL_cleanse(b64, strlen(b64));
	free(b64);
	return GSASL_OK;
}

/* A salt that is the same for a user every time (per server start), so
 * unknown users and users with only a plaintext password look like users
 * with stored keys. */
static int sasl_fake_salt(struct sasl *s, Gsasl_session *gs)
{
	const char *authcid = gsasl_property_fast(gs, GSASL_AUTHID);
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned maclen = 0;

	if (authcid == NULL)
		authcid = "";
	if (HMAC(EVP_sha256(), s->ctx->salt_key, sizeof(s->ctx->salt_key),
		 (const unsigned char *)authcid, strlen(authcid), mac, &maclen) == NULL)
		return GSASL_NO_CALLBACK;
	return sasl_set_b64(gs, GSASL_SCRAM_SALT, mac, SASL_FAKE_SALT);
}

static int sasl_scram_prop(struct sasl *s, Gsasl_session *gs, Gsasl_property prop)
{
	char num[16];

	sasl_lookup(s, gs);
	switch (prop) {
	case GSASL_SCRAM_ITER:
		snprintf(num, sizeof(num), "%u",
			 sasl_have_keys(s) ? s->secret.iter : s->ctx->scram_iter);
		gsasl_property_set(gs, prop, num);
		return GSASL_OK;
	case GSASL_SCRAM_SALT:
		if (sasl_have_keys(s))
			return sasl_set_b64(gs, prop, s->secret.salt, s->secret.salt_len);
		return sasl_fake_salt(s, gs);
	case GSASL_SCRAM_STOREDKEY:
	case GSASL_SCRAM_SERVERKEY:
		if (!sasl_have_keys(s))
			return GSASL_NO_CALLBACK;
		return sasl_set_b64(gs, prop, prop == GSASL_SCRAM_STOREDKEY ?
				    s->secret.stored_key : s->secret.server_key,
				    s->secret.key_len);
	default:
		return GSASL_NO_CALLBACK;
	}
}

static int sasl_password_prop(struct sasl *s, Gsasl_session *gs)
{
	if (s->mech->bit == SX_SASL_DIGEST_MD5) {
		/* The response names the realm; it must be ours. */
		const char *realm = gsasl_property_fast(gs, GSASL_REALM);

		if (realm == NULL || s->realm == NULL || strcmp(realm, s->realm) != 0)
			return GSASL_NO_CALLBACK;
	}
	if (sasl_lookup(s, gs) != SX_SASL_OK || s->secret.password == NULL)
		return GSASL_NO_CALLBACK;
	gsasl_property_set(gs, GSASL_PASSWORD, s->secret.password);
	return GSASL_OK;
}

/* PLAIN: check the password the client sent. */
static int sasl_validate_simple(struct sasl *s, Gsasl_session *gs)
{
	const char *authcid = gsasl_property_fast(gs, GSASL_AUTHID);
	const char *password = gsasl_property_fast(gs, GSASL_PASSWORD);
	int rc;

	if (authcid == NULL || password == NULL)
		return GSASL_AUTHENTICATION_ERROR;
	if (s->ctx->cb.check_password != NULL) {
		rc = s->ctx->cb.check_password(s->sx, authcid, s->realm, password);
	} else if ((rc = sasl_lookup(s, gs)) == SX_SASL_OK) {
		const char *want = s->secret.password;
		size_t len = strlen(password);

		rc = want != NULL && strlen(want) == len &&
		     CRYPTO_memcmp(want, password, len) == 0 ? SX_SASL_OK : SX_SASL_FAIL;
	}
	if (rc == SX_SASL_ERROR)
		s->backend_error = 1;
	return rc == SX_SASL_OK ? GSASL_OK : GSASL_AUTHENTICATION_ERROR;
}

static int sasl_offers_plus(struct sasl *s)
{
	size_t i;

	for (i = 0; i < SASL_NMECHS; i++)
		if (sasl_mechs[i].plus && sasl_refusal(s, &sasl_mechs[i]) == NULL)
			return 1;
	return 0;
}

static int sasl_server_prop(struct sasl *s, Gsasl_session *gs, Gsasl_property prop)
{
	switch (prop) {
	case GSASL_REALM:
		if (s->realm == NULL)
			return GSASL_NO_CALLBACK;
		gsasl_property_set(gs, prop, s->realm);
		return GSASL_OK;
	case GSASL_SCRAM_ITER:
	case GSASL_SCRAM_SALT:
	case GSASL_SCRAM_STOREDKEY:
	case GSASL_SCRAM_SERVERKEY:
		return s->mech->hash != NULL ? sasl_scram_prop(s, gs, prop) : GSASL_NO_CALLBACK;
	case GSASL_PASSWORD:
		return sasl_password_prop(s, gs);
	case GSASL_VALIDATE_SIMPLE:
		return sasl_validate_simple(s, gs);
	case GSASL_VALIDATE_EXTERNAL:
		return (sx_flags(s->sx) & SX_F_PEER_CERT) != 0 ? GSASL_OK
							       : GSASL_AUTHENTICATION_ERROR;
	case GSASL_VALIDATE_ANONYMOUS:
		return GSASL_OK;
	case GSASL_CB_TLS_EXPORTER:
	case GSASL_CB_TLS_UNIQUE:
		/* Outside -PLUS, GNU SASL asks only to refuse a client's "y"
		 * (it thought we had no channel binding): right only if this
		 * stream offers -PLUS (RFC 5802 section 6). */
		if (!s->mech->plus && !sasl_offers_plus(s))
			return GSASL_NO_CALLBACK;
		return sasl_set_cb(s, gs, prop);
	default:
		return GSASL_NO_CALLBACK;
	}
}

/* ---- client: credentials ---- */

static int sasl_client_cb_prop(struct sasl *s, Gsasl_session *gs, Gsasl_property prop)
{
	/* Without -PLUS the client says "n": GNU SASL 2.2's client fails
	 * outright when it has binding data for a non-PLUS mechanism, so it
	 * cannot send "y". */
	if (!s->mech->plus)
		return GSASL_NO_CALLBACK;
	if (s->cb_override != NULL) {
		/* Stand in for the binding type the TLS layer has. */
		const char *type = sasl_cb_type(s->sx);
		Gsasl_property want = type != NULL && strcmp(type, "tls-unique") == 0
					      ? GSASL_CB_TLS_UNIQUE : GSASL_CB_TLS_EXPORTER;

		if (prop != want)
			return GSASL_NO_CALLBACK;
		return sasl_set_b64(gs, prop, s->cb_override, s->p.cb_override_len);
	}
	return sasl_set_cb(s, gs, prop);
}

static int sasl_client_prop(struct sasl *s, Gsasl_session *gs, Gsasl_property prop)
{
	const char *v = NULL;

	switch (prop) {
	case GSASL_AUTHID:
		v = s->p.authcid;
		break;
	case GSASL_AUTHZID:
		v = s->p.authzid;
		break;
	case GSASL_PASSWORD: {
		const char *iter = gsasl_property_fast(gs, GSASL_SCRAM_ITER);

		if (iter != NULL && strtoul(iter, NULL, 10) > SASL_CLIENT_MAX_ITER)
			return GSASL_NO_CALLBACK;
		v = s->p.password;
		break;
	}
	case GSASL_SERVICE:
		v = s->p.service != NULL ? s->p.service : "xmpp";
		break;
	case GSASL_HOSTNAME:
		v = s->p.hostname;
		break;
	case GSASL_ANONYMOUS_TOKEN:
		v = s->p.authzid != NULL ? s->p.authzid : "anonymous";
		break;
	case GSASL_CB_TLS_EXPORTER:
	case GSASL_CB_TLS_UNIQUE:
		return sasl_client_cb_prop(s, gs, prop);
	default:
		break;
	}
	if (v == NULL)
		return GSASL_NO_CALLBACK;
	gsasl_property_set(gs, prop, v);
	return GSASL_OK;
}

static int sasl_gsasl_cb(Gsasl *g, Gsasl_session *gs, Gsasl_property prop)
{
	struct sasl *s = gs != NULL ? gsasl_session_hook_get(gs) : NULL;

	if (s == NULL || s->mech == NULL)
		return GSASL_NO_CALLBACK;
	if (s->role == SX_SERVER)
		return sasl_server_prop(s, gs, prop);
	return sasl_client_prop(s, gs, prop);
}

/* ---- server: the exchange ---- */

static void sasl_send_failure(struct sx *sx, const char *cond)
{
	struct nad *nad = nad_new();
	int root = nad_elem_add(nad, NAD_NONE, SX_NS_SASL, "failure");

	nad_elem_add(nad, root, SX_NS_SASL, cond);
	sx_send(sx, nad);
}

static void sasl_server_fail(struct sasl *s, const char *cond)
{
	sasl_reset(s);
	sasl_send_failure(s->sx, cond);
	snprintf(s->cond, sizeof(s->cond), "%s", cond);
	sx_event(s->sx, SX_EV_AUTH_FAIL, s->cond);
}

/* Why this stream does not offer `m`, or NULL if it does. */
static const char *sasl_refusal(struct sasl *s, const struct mech_info *m)
{
	unsigned flags = sx_flags(s->sx);

	if ((s->ctx->mechs & m->bit) == 0 || !gsasl_server_support_p(s->ctx->gsasl, m->name))
		return "invalid-mechanism";
	if (sx_tls_required(s->sx))
		return "encryption-required";
	if (m->weak && (flags & SX_F_ENCRYPTED) == 0 && !s->ctx->allow_unencrypted)
		return "encryption-required";
	if (m->plus && sasl_cb_type(s->sx) == NULL)
		return "invalid-mechanism";
	if (m->bit == SX_SASL_EXTERNAL && (flags & SX_F_PEER_CERT) == 0)
		return "invalid-mechanism";
	return NULL;
}

static const char *sasl_rc_condition(struct sasl *s, int rc)
{
	if (s->backend_error)
		return "temporary-auth-failure";
	switch (rc) {
	case GSASL_MECHANISM_PARSE_ERROR:
	case GSASL_MECHANISM_CALLED_TOO_MANY_TIMES:
		return "malformed-request";
	case GSASL_MALLOC_ERROR:
	case GSASL_CRYPTO_ERROR:
		return "temporary-auth-failure";
	default:
		/* Wrong proof or password, unknown user, channel binding
		 * mismatch, SASLprep refusing the name. */
		return "not-authorized";
	}
}

static const char *sasl_nonempty(const char *s)
{
	return s != NULL && *s != '\0' ? s : NULL;
}

/* The mechanism succeeded: apply the owner's authorization, then report
 * success. */
static void sasl_server_success(struct sasl *s, const char *out, size_t outlen)
{
	const char *const *names = sx_tls_peer_names(s->sx);
	struct sx_auth auth = { 0 };
	int rc;

	auth.mechanism = s->mech->name;
	auth.realm = s->realm;
	auth.authzid = sasl_nonempty(gsasl_property_fast(s->gs, GSASL_AUTHZID));
	if (s->mech->bit == SX_SASL_EXTERNAL)
		auth.authcid = names != NULL ? names[0] : NULL;
	else if (s->mech->bit != SX_SASL_ANONYMOUS)
		auth.authcid = sasl_nonempty(gsasl_property_fast(s->gs, GSASL_AUTHID));
	if (s->plain_no_authzid)
		auth.authzid = NULL;
	if (s->ctx->cb.authorize != NULL)
		rc = s->ctx->cb.authorize(s->sx, auth.mechanism, auth.authcid, auth.authzid,
					  auth.realm);
	else
		rc = auth.authzid == NULL ||
		     (auth.authcid != NULL && strcmp(auth.authzid, auth.authcid) == 0)
			? SX_SASL_OK : SX_SASL_FAIL;
	if (rc != SX_SASL_OK) {
		sasl_server_fail(s, rc == SX_SASL_ERROR ? "temporary-auth-failure"
				 : auth.authzid != NULL ? "invalid-authzid" : "not-authorized");
		return;
	}
	sasl_send(s->sx, "success", out, outlen, 1);
	/* sx_set_auth copies: the gsasl properties go away with the reset. */
	sx_set_auth(s->sx, &auth);
	sasl_reset(s);
	sx_set_flags(s->sx, SX_F_AUTHENTICATED);
	sx_restart(s->sx);
	sx_event(s->sx, SX_EV_AUTH_OK, sx_auth(s->sx));
}

static void sasl_server_step(struct sasl *s, const char *data, size_t len)
{
	char *out = NULL;
	size_t outlen = 0;
	int rc = gsasl_step(s->gs, data, len, &out, &outlen);

	if (rc == GSASL_NEEDS_MORE)
		sasl_send(s->sx, "challenge", out, outlen, 0);
	else if (rc == GSASL_OK)
		sasl_server_success(s, out, outlen);
	else
		sasl_server_fail(s, sasl_rc_condition(s, rc));
	gsasl_free(out);
}

/* RFC 4505 makes ANONYMOUS's trace optional, and XEP-0175 clients send
 * none (`<auth mechanism='ANONYMOUS'/>` or "="); GNU SASL insists on one.
 * The trace means nothing to us (the owner picks the identity), so an
 * absent one is stood in for. */
static void sasl_anonymous_trace(const struct mech_info *m, char **data, size_t *len)
{
	if (m->bit != SX_SASL_ANONYMOUS || *len > 0)
		return;
	free(*data);
	*data = xstrdup("anonymous");
	*len = strlen(*data);
}

static void sasl_server_auth(struct sasl *s, const struct nad *nad, int root)
{
	const struct mech_info *m = sasl_mech_find(nad_attr(nad, root, NULL, "mechanism"));
	const char *cond;
	char *data;
	size_t len;

	if (s->gs != NULL) {
		sasl_server_fail(s, "malformed-request");
		return;
	}
	if (m == NULL) {
		sasl_server_fail(s, "invalid-mechanism");
		return;
	}
	if ((cond = sasl_refusal(s, m)) != NULL) {
		sasl_server_fail(s, cond);
		return;
	}
	if (sasl_decode(nad, root, &data, &len) < 0) {
		sasl_server_fail(s, "incorrect-encoding");
		return;
	}
	if (gsasl_server_start(s->ctx->gsasl, m->name, &s->gs) != GSASL_OK) {
		s->gs = NULL;
		free(data);
		sasl_server_fail(s, "temporary-auth-failure");
		return;
	}
	s->mech = m;
	gsasl_session_hook_set(s->gs, s);
	s->plain_no_authzid = m->bit == SX_SASL_PLAIN && data != NULL && len > 0 &&
			      data[0] == '\0';
	sasl_anonymous_trace(m, &data, &len);
	sasl_server_step(s, data, len);
	free(data);
}

static void sasl_server_response(struct sasl *s, const struct nad *nad, int root)
{
	char *data;
	size_t len;

	if (s->gs == NULL) {
		sasl_server_fail(s, "malformed-request");
		return;
	}
	if (sasl_decode(nad, root, &data, &len) < 0) {
		sasl_server_fail(s, "incorrect-encoding");
		return;
	}
	if (data == NULL)
		data = xstrdup("");
	if (s->mech->bit == SX_SASL_DIGEST_MD5 && !sasl_digest_ok(data, len, 1)) {
		free(data);
		sasl_server_fail(s, "malformed-request");
		return;
	}
	if (s->mech->bit == SX_SASL_PLAIN)
		s->plain_no_authzid = len > 0 && data[0] == '\0';
	sasl_anonymous_trace(s->mech, &data, &len);
	sasl_server_step(s, data, len);
	free(data);
}

static void sasl_server_element(struct sasl *s, const struct nad *nad, int root)
{
	const char *name = nad_name(nad, root);

	if ((sx_flags(s->sx) & SX_F_AUTHENTICATED) != 0)
		sasl_server_fail(s, "malformed-request");
	else if (strcmp(name, "auth") == 0)
		sasl_server_auth(s, nad, root);
	else if (strcmp(name, "response") == 0)
		sasl_server_response(s, nad, root);
	else if (strcmp(name, "abort") == 0)
		sasl_server_fail(s, "aborted");
	else
		sasl_server_fail(s, "malformed-request");
}

static void sasl_features(struct sx *sx, void *pdata, struct nad *nad, int features)
{
	struct sasl *s = pdata;
	const char *cb = sasl_cb_type(sx);
	int mechs = NAD_NONE, plus = 0;
	size_t i;

	if (s == NULL || s->role != SX_SERVER || (sx_flags(sx) & SX_F_AUTHENTICATED) != 0)
		return;
	for (i = 0; i < SASL_NMECHS; i++) {
		int e;

		if (sasl_refusal(s, &sasl_mechs[i]) != NULL)
			continue;
		if (mechs == NAD_NONE)
			mechs = nad_elem_add(nad, features, SX_NS_SASL, "mechanisms");
		e = nad_elem_add(nad, mechs, SX_NS_SASL, "mechanism");
		nad_text_append(nad, e, sasl_mechs[i].name, strlen(sasl_mechs[i].name));
		plus |= sasl_mechs[i].plus;
	}
	if (plus && cb != NULL) {
		/* XEP-0440: which binding type the -PLUS mechanisms use. */
		int e = nad_elem_add(nad, features, SASL_NS_CB, "sasl-channel-binding");

		e = nad_elem_add(nad, e, SASL_NS_CB, "channel-binding");
		nad_attr_set(nad, e, NULL, "type", cb);
	}
}

/* ---- client: the exchange ---- */

static void sasl_client_fail(struct sasl *s, const char *cond, int send_abort)
{
	sasl_reset(s);
	if (send_abort) {
		s->aborted = 1;
		sasl_send(s->sx, "abort", NULL, 0, 0);
	}
	snprintf(s->cond, sizeof(s->cond), "%s", cond);
	sx_event(s->sx, SX_EV_AUTH_FAIL, s->cond);
}

static int sasl_client_start(struct sasl *s, const struct mech_info *m)
{
	struct nad *nad;
	char *out = NULL;
	size_t outlen = 0;
	int root, rc = GSASL_NEEDS_MORE;

	sasl_reset(s);
	s->aborted = 0;
	if (gsasl_client_start(s->ctx->gsasl, m->name, &s->gs) != GSASL_OK) {
		s->gs = NULL;
		return -1;
	}
	s->mech = m;
	gsasl_session_hook_set(s->gs, s);
	if (!m->server_first)
		rc = gsasl_step(s->gs, NULL, 0, &out, &outlen);
	if (rc != GSASL_OK && rc != GSASL_NEEDS_MORE) {
		sasl_reset(s);
		return -1;
	}
	s->client_done = rc == GSASL_OK;
	nad = nad_new();
	root = nad_elem_add(nad, NAD_NONE, SX_NS_SASL, "auth");
	nad_attr_set(nad, root, NULL, "mechanism", m->name);
	if (!m->server_first) {
		char *b64 = outlen > 0 ? b64_encode(out, outlen) : xstrdup("=");

		nad_text_append(nad, root, b64, strlen(b64));
		free(b64);
	}
	gsasl_free(out);
	sx_send(s->sx, nad);
	return 0;
}

/* Can this client use `m` on this stream (the server's offer aside)? */
static int sasl_client_can(struct sasl *s, const struct mech_info *m)
{
	unsigned flags = sx_flags(s->sx);
	int creds = s->p.authcid != NULL && s->p.password != NULL;

	if ((s->ctx->mechs & m->bit) == 0 || !gsasl_client_support_p(s->ctx->gsasl, m->name))
		return 0;
	if (m->weak && (flags & SX_F_ENCRYPTED) == 0 && !s->ctx->allow_unencrypted)
		return 0;
	if (m->plus && sasl_cb_type(s->sx) == NULL && s->cb_override == NULL)
		return 0;
	if (m->bit == SX_SASL_EXTERNAL)
		return (flags & SX_F_ENCRYPTED) != 0 && s->p.password == NULL;
	if (m->bit == SX_SASL_ANONYMOUS)
		return s->p.authcid == NULL;
	return creds;
}

static const struct mech_info *sasl_client_choose(struct sasl *s, const struct nad *nad,
						  int mechs)
{
	const struct mech_info *offered[SASL_NMECHS] = { 0 };
	size_t i;
	int e;

	for (e = nad_child(nad, mechs, SX_NS_SASL, "mechanism"); e != NAD_NONE;
	     e = nad_next(nad, e, SX_NS_SASL, "mechanism")) {
		const struct mech_info *m = sasl_mech_find(nad_text(nad, e, NULL));

		if (m != NULL)
			offered[m - sasl_mechs] = m;
	}
	if (s->p.mechanism != NULL) {
		const struct mech_info *m = sasl_mech_find(s->p.mechanism);

		return m != NULL && offered[m - sasl_mechs] != NULL ? m : NULL;
	}
	for (i = 0; i < SASL_NMECHS; i++) {
		const struct mech_info *m = &sasl_mechs[sasl_client_order[i]];

		if (offered[m - sasl_mechs] != NULL && sasl_client_can(s, m))
			return m;
	}
	return NULL;
}

/* Client: the server's features. Returns 1 if they were taken. */
static int sasl_client_features(struct sasl *s, const struct nad *nad)
{
	int mechs = nad_child(nad, nad_root(nad), SX_NS_SASL, "mechanisms");
	const struct mech_info *m;

	if (mechs == NAD_NONE || s->gs != NULL ||
	    (sx_flags(s->sx) & SX_F_AUTHENTICATED) != 0)
		return 0;
	m = sasl_client_choose(s, nad, mechs);
	if (m == NULL || sasl_client_start(s, m) < 0)
		sasl_client_fail(s, "invalid-mechanism", 0);
	return 1;
}

static void sasl_client_challenge(struct sasl *s, const struct nad *nad, int root)
{
	char *data, *out = NULL;
	size_t len, outlen = 0;
	int rc;

	if (sasl_decode(nad, root, &data, &len) < 0) {
		sasl_client_fail(s, "incorrect-encoding", 1);
		return;
	}
	if (s->mech->bit == SX_SASL_DIGEST_MD5 && data != NULL && !sasl_digest_ok(data, len, 0)) {
		free(data);
		sasl_client_fail(s, "aborted", 1);
		return;
	}
	rc = gsasl_step(s->gs, data != NULL ? data : "", len, &out, &outlen);
	free(data);
	if (rc != GSASL_OK && rc != GSASL_NEEDS_MORE) {
		gsasl_free(out);
		sasl_client_fail(s, "aborted", 1);
		return;
	}
	s->client_done = rc == GSASL_OK;
	sasl_send(s->sx, "response", out, outlen, 0);
	gsasl_free(out);
}

static void sasl_client_success(struct sasl *s, const struct nad *nad, int root)
{
	struct sx_auth auth = { 0 };
	char *data, *out = NULL;
	size_t len, outlen = 0;
	int rc = GSASL_OK;

	if (sasl_decode(nad, root, &data, &len) < 0)
		rc = GSASL_MECHANISM_PARSE_ERROR;
	else if (s->mech->bit == SX_SASL_DIGEST_MD5 && data != NULL &&
		 !sasl_digest_ok(data, len, 0))
		rc = GSASL_MECHANISM_PARSE_ERROR;
	else if (!s->client_done)
		/* The server's last word (SCRAM's signature, DIGEST-MD5's
		 * rspauth) must verify; no data when some is due fails. */
		rc = gsasl_step(s->gs, data != NULL ? data : "", len, &out, &outlen);
	free(data);
	gsasl_free(out);
	if (rc != GSASL_OK) {
		sasl_client_fail(s, "not-authorized", 0);
		sx_error(s->sx, "not-authorized", "SASL: the server's final message did not verify");
		return;
	}
	auth.mechanism = s->mech->name;
	auth.authcid = s->p.authcid;
	auth.authzid = s->p.authzid;
	sx_set_auth(s->sx, &auth);
	sasl_reset(s);
	sx_set_flags(s->sx, SX_F_AUTHENTICATED);
	sx_restart(s->sx);
	sx_event(s->sx, SX_EV_AUTH_OK, sx_auth(s->sx));
}

static void sasl_client_failure(struct sasl *s, const struct nad *nad, int root)
{
	int c = nad_child(nad, root, SX_NS_SASL, NULL);
	const char *cond = "not-authorized";

	while (c != NAD_NONE && strcmp(nad_name(nad, c), "text") == 0)
		c = nad_next(nad, c, SX_NS_SASL, NULL);
	if (c != NAD_NONE)
		cond = nad_name(nad, c);
	if (s->aborted && s->gs == NULL) {
		/* The answer to our <abort/>: already reported. */
		s->aborted = 0;
		return;
	}
	sasl_client_fail(s, cond, 0);
}

static void sasl_client_element(struct sasl *s, const struct nad *nad, int root)
{
	const char *name = nad_name(nad, root);

	if (strcmp(name, "failure") == 0) {
		sasl_client_failure(s, nad, root);
		return;
	}
	if (s->gs == NULL || (sx_flags(s->sx) & SX_F_AUTHENTICATED) != 0) {
		sx_error(s->sx, "policy-violation", "unexpected SASL element");
		return;
	}
	if (strcmp(name, "challenge") == 0)
		sasl_client_challenge(s, nad, root);
	else if (strcmp(name, "success") == 0)
		sasl_client_success(s, nad, root);
	else
		sx_error(s->sx, "policy-violation", "unexpected SASL element");
}

/* ---- plugin hooks ---- */

static int sasl_element(struct sx *sx, void *pdata, struct nad *nad)
{
	struct sasl *s = pdata;
	int root = nad_root(nad);
	const char *ns = nad_ns(nad, root);
	const char *name = nad_name(nad, root);

	if (s == NULL) {
		/* Trimmed after success (sasl_trim): SASL is over. */
		if (ns == NULL || strcmp(ns, SX_NS_SASL) != 0)
			return 0;
		sasl_send_failure(sx, "malformed-request");
		sx_event(sx, SX_EV_AUTH_FAIL, "malformed-request");
		nad_free(&nad);
		return 1;
	}
	if (ns != NULL && strcmp(ns, SX_NS_SASL) == 0) {
		if (s->role == SX_SERVER)
			sasl_server_element(s, nad, root);
		else
			sasl_client_element(s, nad, root);
		nad_free(&nad);
		return 1;
	}
	if (s->role == SX_CLIENT && ns != NULL && strcmp(ns, SX_NS_STREAMS) == 0 &&
	    strcmp(name, "features") == 0 && sasl_client_features(s, nad)) {
		nad_free(&nad);
		return 1;
	}
	return 0;
}

static void sasl_ctx_unref(struct sx_sasl_ctx *ctx)
{
	if (ctx == NULL || --ctx->refs > 0)
		return;
	gsasl_done(ctx->gsasl);
	free(ctx->realm);
	OPENSSL_cleanse(ctx->salt_key, sizeof(ctx->salt_key));
	free(ctx);
}

static void sasl_params_free(struct sx_sasl_client_params *p)
{
	if (p->password != NULL) {
		OPENSSL_cleanse((char *)p->password, strlen(p->password));
		free((char *)p->password);
	}
	free((char *)p->mechanism);
	free((char *)p->authcid);
	free((char *)p->authzid);
	free((char *)p->service);
	free((char *)p->hostname);
	memset(p, 0, sizeof(*p));
}

static void sasl_free(struct sx *sx, void *pdata)
{
	struct sasl *s = pdata;

	if (s == NULL)
		return;
	sasl_reset(s);
	sasl_params_free(&s->p);
	free(s->cb_override);
	free(s->realm);
	sasl_ctx_unref(s->ctx);
	free(s);
}

/* An idle server stream that has authenticated needs nothing of the
 * exchange any more (the identity is the stream's, sx_auth): the state,
 * stored keys included, goes; the hooks then answer from the stream. */
static void sasl_trim(struct sx *sx, void *pdata)
{
	struct sasl *s = pdata;

	if (s == NULL || s->role != SX_SERVER || !(sx_flags(sx) & SX_F_AUTHENTICATED) ||
	    s->gs != NULL)
		return;
	sx_plugin_set_data(sx, &sasl_plugin, NULL);
	sasl_free(sx, s);
}

static const struct sx_plugin sasl_plugin = {
	.name = "sasl",
	.element = sasl_element,
	.features = sasl_features,
	.free = sasl_free,
	.trim = sasl_trim,
};

/* ---- API ---- */

struct sx_sasl_ctx *sx_sasl_ctx_new(const struct sx_sasl_config *cfg, const char **error_r)
{
	struct sx_sasl_ctx *ctx = xcalloc(1, sizeof(*ctx));
	int rc;

	if ((rc = gsasl_init(&ctx->gsasl)) != GSASL_OK) {
		*error_r = gsasl_strerror(rc);
		free(ctx);
		return NULL;
	}
	gsasl_callback_set(ctx->gsasl, sasl_gsasl_cb);
	if (RAND_bytes(ctx->salt_key, sizeof(ctx->salt_key)) != 1) {
		*error_r = "no random bytes for SCRAM salts";
		gsasl_done(ctx->gsasl);
		free(ctx);
		return NULL;
	}
	ctx->refs = 1;
	ctx->mechs = cfg->mechs;
	ctx->allow_unencrypted = cfg->allow_unencrypted;
	ctx->realm = xstrdup_opt(cfg->realm);
	ctx->scram_iter = cfg->scram_iter != 0 ? cfg->scram_iter : SASL_DEFAULT_ITER;
	if (cfg->cb != NULL)
		ctx->cb = *cfg->cb;
	return ctx;
}

void sx_sasl_ctx_free(struct sx_sasl_ctx **ctxp)
{
	if (*ctxp == NULL)
		return;
	sasl_ctx_unref(*ctxp);
	*ctxp = NULL;
}

static struct sasl *sasl_attach(struct sx *sx, struct sx_sasl_ctx *ctx)
{
	struct sasl *s = xcalloc(1, sizeof(*s));

	s->ctx = ctx;
	s->sx = sx;
	s->role = sx_type(sx);
	if (sx_plugin_attach(sx, &sasl_plugin, s) < 0) {
		free(s);
		return NULL;
	}
	ctx->refs++;
	return s;
}

int sx_sasl_server(struct sx *sx, struct sx_sasl_ctx *ctx, const char *realm)
{
	struct sasl *s;

	if (ctx == NULL || sx_type(sx) != SX_SERVER || (s = sasl_attach(sx, ctx)) == NULL)
		return -1;
	if (realm == NULL)
		realm = ctx->realm;
	s->realm = xstrdup_opt(realm);
	return 0;
}

int sx_sasl_client(struct sx *sx, struct sx_sasl_ctx *ctx,
		   const struct sx_sasl_client_params *params)
{
	struct sasl *s;

	if (ctx == NULL || params == NULL || sx_type(sx) != SX_CLIENT ||
	    (s = sasl_attach(sx, ctx)) == NULL)
		return -1;
	s->p.mechanism = xstrdup_opt(params->mechanism);
	s->p.authcid = xstrdup_opt(params->authcid);
	s->p.password = xstrdup_opt(params->password);
	s->p.authzid = xstrdup_opt(params->authzid);
	s->p.service = xstrdup_opt(params->service);
	s->p.hostname = xstrdup_opt(params->hostname);
	if (params->cb_override != NULL) {
		s->cb_override = xmalloc(params->cb_override_len + 1);
		memcpy(s->cb_override, params->cb_override, params->cb_override_len);
		s->p.cb_override_len = params->cb_override_len;
	}
	return 0;
}

int sx_sasl_client_auth(struct sx *sx, const char *mech, const char **error_r)
{
	struct sasl *s = sx_plugin_data(sx, &sasl_plugin);
	const struct mech_info *m = sasl_mech_find(mech);

	if (s == NULL || s->role != SX_CLIENT) {
		*error_r = "no SASL client on this stream";
		return -1;
	}
	if (m == NULL || (s->ctx->mechs & m->bit) == 0) {
		*error_r = "mechanism not supported or not allowed";
		return -1;
	}
	if (s->gs != NULL || (sx_flags(sx) & SX_F_AUTHENTICATED) != 0) {
		*error_r = "authentication already running or done";
		return -1;
	}
	if (sasl_client_start(s, m) < 0) {
		*error_r = "the mechanism could not start (missing credentials?)";
		return -1;
	}
	return 0;
}

int sx_sasl_scram_hash(const char *hash_name, const char *password,
		       const unsigned char *salt, size_t salt_len, unsigned iter,
		       unsigned char *stored_key, unsigned char *server_key,
		       size_t *key_len_r, const char **error_r)
{
	char salted[GSASL_HASH_MAX_SIZE], client_key[GSASL_HASH_MAX_SIZE];
	Gsasl_hash hash;
	int rc;

	if (hash_name != NULL && strcmp(hash_name, "SHA-1") == 0)
		hash = GSASL_HASH_SHA1;
	else if (hash_name != NULL && strcmp(hash_name, "SHA-256") == 0)
		hash = GSASL_HASH_SHA256;
	else {
		*error_r = "unknown SCRAM hash (SHA-1 or SHA-256)";
		return -1;
	}
	if (password == NULL || salt == NULL || salt_len == 0 || iter == 0) {
		*error_r = "SCRAM needs a password, a salt and an iteration count";
		return -1;
	}
	rc = gsasl_scram_secrets_from_password(hash, password, iter, (const char *)salt, salt_len,
					       salted, client_key, (char *)server_key,
					       (char *)stored_key);
	OPENSSL_cleanse(salted, sizeof(salted));
	OPENSSL_cleanse(client_key, sizeof(client_key));
	if (rc != GSASL_OK) {
		*error_r = gsasl_strerror(rc);
		return -1;
	}
	*key_len_r = gsasl_hash_length(hash);
	return 0;
}
