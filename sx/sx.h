/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sx: one XMPP stream, free of I/O. The owner feeds it the bytes read from
 * the peer (sx_input), takes the bytes to write from it (sx_output /
 * sx_output_consumed), and hears about what happened through callbacks:
 * the peer's stream header, each complete top-level element, and the end of
 * the stream. Nothing here touches a socket, so every path can be driven
 * from unit tests and fuzzers.
 *
 * Plugins add behaviour below or beside the element level: TLS (sx/tls.c)
 * transforms the bytes, SASL (sx/sasl.c) consumes its own elements and
 * restarts the stream, ws (sx/ws.c) carries the stream over WebSocket.
 * Later: stream management.
 *
 * Every fault the peer can cause ends in a stream error with the RFC 6120
 * condition (sx_error), never in a crash: malformed XML (not-well-formed),
 * DTD/entity declarations or processing instructions (restricted-xml),
 * invalid UTF-8 (not-well-formed), a stanza over the size limit or nesting
 * or attributes over their limits (policy-violation), a wrong stream
 * namespace (invalid-namespace), a bad version (unsupported-version).
 */
#ifndef SX_SX_H
#define SX_SX_H

#include <stddef.h>

struct nad;
struct sx;

#define SX_NS_STREAMS "http://etherx.jabber.org/streams"
#define SX_NS_STREAM_ERRORS "urn:ietf:params:xml:ns:xmpp-streams"
#define SX_NS_STANZA_ERRORS "urn:ietf:params:xml:ns:xmpp-stanzas"
#define SX_NS_TLS "urn:ietf:params:xml:ns:xmpp-tls"
#define SX_NS_SASL "urn:ietf:params:xml:ns:xmpp-sasl"
#define SX_NS_CLIENT "jabber:client"
#define SX_NS_SERVER "jabber:server"
#define SX_NS_DIALBACK "jabber:server:dialback"
#define SX_NS_COMPONENT_ACCEPT "jabber:component:accept"
#define SX_NS_FRAMING "urn:ietf:params:xml:ns:xmpp-framing"

enum sx_type {
	SX_SERVER,      /* we answer the peer's stream header */
	SX_CLIENT,      /* we open the stream */
};

/* Limits on what the peer may send. Zero fields take the defaults. */
struct sx_limits {
	size_t max_stanza;      /* bytes of one top-level element; default 65536 */
	unsigned max_depth;     /* element nesting below the stream; default 64 */
	unsigned max_attrs;     /* attributes on one element; default 64 */
	size_t max_header;      /* bytes of the stream header; default 4096 */
};

/* A stream header, sent (sx_open) or received (stream_open callback).
 * NULL fields are absent. */
struct sx_header {
	const char *ns;         /* default namespace: jabber:client, ... or NULL */
	const char *to;
	const char *from;
	const char *id;
	const char *version;    /* "1.0", or NULL for a pre-XMPP peer */
	const char *lang;       /* xml:lang */
	/* One extra namespace declaration, e.g. xmlns:db for s2s. */
	const char *extra_prefix;
	const char *extra_ns;
};

/* What sx tells its owner besides elements. */
enum sx_event {
	SX_EV_TLS_DONE,         /* TLS handshake finished; data NULL */
	SX_EV_AUTH_OK,          /* SASL succeeded; data: const struct sx_auth * */
	SX_EV_AUTH_FAIL,        /* SASL failed; data: const char *condition */
};

/* The identity SASL established (valid until the stream is freed). */
struct sx_auth {
	const char *mechanism;  /* "SCRAM-SHA-256", ... */
	const char *authcid;    /* authentication id (username), or NULL */
	const char *authzid;    /* requested authorization id, or NULL */
	const char *realm;      /* realm the server authenticated against */
};

struct sx_callbacks {
	/* The peer's stream header arrived (also after each stream restart).
	 * A server answers with sx_open() and then its features. */
	void (*stream_open)(struct sx *sx, const struct sx_header *hdr, void *ctx);
	/* A complete top-level element no plugin consumed. Ownership passes
	 * to the callee, which must nad_free() it. */
	void (*element)(struct sx *sx, struct nad *nad, void *ctx);
	/* The stream is over: the peer closed it (condition NULL), a stream
	 * error was sent or received (its condition), or the transport layer
	 * failed. Called once. Afterwards sx only flushes pending output; the
	 * owner closes the connection when that is written and must not free
	 * the sx from inside this callback. */
	void (*closed)(struct sx *sx, const char *condition, const char *text, void *ctx);
	/* sx_output() went from empty to non-empty. May be NULL. */
	void (*want_write)(struct sx *sx, void *ctx);
	/* Plugin events (enum sx_event). May be NULL. */
	void (*event)(struct sx *sx, enum sx_event ev, const void *data, void *ctx);
};

/* State bits, sx_flags(). */
#define SX_F_OPEN          0x01  /* both headers exchanged */
#define SX_F_ENCRYPTED     0x02  /* TLS active */
#define SX_F_AUTHENTICATED 0x04  /* SASL succeeded */
#define SX_F_CLOSED        0x08  /* stream over; only output remains */
#define SX_F_PEER_CERT     0x10  /* peer presented a certificate that verified */

/* `cb` is kept, not copied: it must outlive the stream (a static const
 * table, as every owner has). */
struct sx *sx_new(enum sx_type type, const struct sx_limits *limits,
		  const struct sx_callbacks *cb, void *ctx);
/* Free the stream and its plugins. Never from inside one of its callbacks. */
void sx_free(struct sx **sxp);

/* Open our side of the stream: a client sends its header, a server answers
 * the header it received. Server: a NULL id generates one (40 chars
 * [0-9a-z]), kept for sx_id(). "version" is written only if set. */
void sx_open(struct sx *sx, const struct sx_header *hdr);
const char *sx_id(const struct sx *sx);
unsigned sx_flags(const struct sx *sx);
enum sx_type sx_type(const struct sx *sx);
/* The owner's context pointer, as given to sx_new(). */
void *sx_ctx(const struct sx *sx);
/* The authenticated identity, or NULL before SASL success. */
const struct sx_auth *sx_auth(const struct sx *sx);

/*
 * Feed bytes read from the peer. Callbacks run from inside this call.
 * Returns 0 while the stream lives, -1 once it is over (the closed
 * callback has run, now or earlier).
 */
int sx_input(struct sx *sx, const void *data, size_t len);

/* Attach to each top-level element the peer sends the exact bytes it
 * arrived as (nad_raw), when their meaning does not depend on the
 * stream's prefixes: every prefix used in it (but xml:) is declared
 * inside it, at most 8 in scope at once. A hop that passes the element
 * on unchanged then writes those bytes instead of serializing the tree
 * (sx_send). Off by default; costs a copy of the input. */
void sx_keep_raw(struct sx *sx, int on);

/* Send an element; sx takes ownership of the nad. It is written in the
 * stream's default namespace (so a jabber:client stanza on a c2s stream
 * carries no xmlns). A nad that still carries its received bytes
 * (nad_raw) is written as those bytes when the default namespace they
 * rely on, if any, is this stream's. Ignored after close. */
void sx_send(struct sx *sx, struct nad *nad);
/* Send raw bytes (a whitespace keepalive, a pre-serialized stanza). */
void sx_send_raw(struct sx *sx, const char *data, size_t len);
/* Start <stream:features> with what the plugins offer in the stream's
 * current state (starttls, mechanisms); the owner adds its own children
 * (bind, session, sm...) and passes it to sx_send(). */
struct nad *sx_features_new(struct sx *sx);
/* Send a stream error with an RFC 6120 condition (and optional text),
 * close the stream, and report it through the closed callback. */
void sx_error(struct sx *sx, const char *condition, const char *text);
/* Orderly close: </stream:stream>, then the closed callback once the peer
 * closes too (or at once if it already has). */
void sx_close(struct sx *sx);

/* The bytes waiting to be written; *len_r 0 when none. The pointer stays
 * valid until the next call into sx. */
const void *sx_output(struct sx *sx, size_t *len_r);
void sx_output_consumed(struct sx *sx, size_t n);
size_t sx_output_pending(const struct sx *sx);

/* The owner saw no traffic for a while: give back what the stream can
 * rebuild when traffic comes (the XML parser between stanzas, the TLS
 * plugin's emptied buffers), so an idle stream costs as little memory as
 * possible. Cheap enough to call from a periodic sweep; never from inside
 * a callback of this stream. Returns 1 if the parser was released. */
int sx_trim(struct sx *sx);

/* ---- tls (sx/tls.c) ---- */

/*
 * TLS over OpenSSL memory BIOs: the plugin turns the bytes sx_input() gets
 * into plaintext and sx's output into records; nothing here owns a socket.
 *
 * STARTTLS (RFC 6120 section 5), server: <starttls/> is offered in the
 * features until the stream is encrypted; the peer's <starttls/> is answered
 * with <proceed/>, the parser is restarted (plaintext the peer sent after
 * <starttls/> is discarded) and TLS begins; the peer's next stream header
 * arrives encrypted and fires stream_open as usual. <starttls/> when it was
 * not offered, after encryption or after authentication gets <failure/> and
 * the stream is closed (sx_close).
 *
 * Client: when the server's features offer <starttls/> the plugin sends
 * <starttls/> itself (the owner does not see those features), and on
 * <proceed/> runs the handshake. When it finishes, the event callback gets
 * SX_EV_TLS_DONE and the OWNER must call sx_open() again to send the new
 * stream header (it knows what to put in it). A <failure/> from the server
 * ends the stream (sx_close). With sx_tls_direct() the client's owner
 * calls sx_open() at once: that first write starts the handshake, and what
 * it writes before the handshake ends is held and sent encrypted
 * afterwards; SX_EV_TLS_DONE is then only informational.
 *
 * Failures: a handshake failure, a TLS alert or a bad record ends the
 * stream. The only bytes sent afterwards are OpenSSL's alert (the peer could
 * not read a stream error any more); the closed callback gets
 * "policy-violation" when the peer's certificate was missing or did not
 * verify under verify_mode 2, else "undefined-condition", with OpenSSL's
 * reason as the text.
 */

struct sx_tls_ctx;

/* TLS settings, as jabberd2's pemfile / cachain / verify-mode / ciphers. */
struct sx_tls_config {
	const char *pemfile;          /* certificate chain and private key (PEM);
				       * required for a server, optional for a
				       * client (its client certificate) */
	const char *key_password;     /* for an encrypted private key, or NULL */
	const char *cachain;          /* CA file to verify peers, or NULL */
	int verify_mode;              /* 0 none; 1 request and verify if sent,
				       * but a certificate that fails is only
				       * not trusted; 2 require a verified peer
				       * certificate (else the handshake fails).
				       * 1 and 2 need a cachain. A client that
				       * set a server name also checks it
				       * (DNS-ID) before trusting the peer. */
	const char *ciphers;          /* TLS <= 1.2 cipher list, or NULL */
	const char *ciphersuites;     /* TLS 1.3 suites, or NULL */
	int min_version;              /* 0 = TLS 1.2; else TLS1_2_VERSION... */
	int max_version;              /* 0 = the highest OpenSSL supports */
};

/* A shared SSL_CTX for many streams of one role. Errors name the file and
 * give OpenSSL's reason (*error_r valid until the next call in this
 * thread). */
struct sx_tls_ctx *sx_tls_ctx_new(enum sx_type role, const struct sx_tls_config *cfg,
				  const char **error_r);
/* Streams using the context keep what they need; it may be freed first. */
void sx_tls_ctx_free(struct sx_tls_ctx **ctxp);
/* Server: pick the context for the name a client asked for (SNI). The
 * callback returns a server context (its certificate is used) or NULL to
 * keep the listener's. Verification settings stay those of the first. */
void sx_tls_ctx_set_sni(struct sx_tls_ctx *ctx,
			struct sx_tls_ctx *(*select)(const char *name, void *arg), void *arg);

/* Offer STARTTLS (server: <starttls/> in features until encrypted, with
 * <required/> if `required`; a server may pass ctx NULL to offer nothing
 * but answer <starttls/> with <failure/>). Client: send <starttls/> when
 * offered; with `required`, features without <starttls/> end the stream
 * with policy-violation. Attach before the stream opens and before
 * sx_sasl_*. Returns 0, or -1 if already attached. */
int sx_tls_starttls(struct sx *sx, struct sx_tls_ctx *ctx, int required);
/* Start TLS at once, before any XML (direct TLS, port 5223). */
int sx_tls_direct(struct sx *sx, struct sx_tls_ctx *ctx);
/* Client: the name to send as SNI and to verify against, or NULL. Call
 * before the handshake starts. */
void sx_tls_set_server_name(struct sx *sx, const char *name);
/* Server: the name the client sent in SNI, or NULL. */
const char *sx_tls_sni(const struct sx *sx);
/* 1 while STARTTLS is offered as required and the stream is not yet
 * encrypted (SASL then offers nothing and refuses with
 * encryption-required), else 0. */
int sx_tls_required(struct sx *sx);
/* Channel binding data for SASL: type "tls-exporter" (RFC 9266, TLS 1.3
 * only here) or "tls-unique" (RFC 5929, TLS <= 1.2 only).
 * Returns the length written to buf (at most size), or -1 if unavailable
 * (no TLS or handshake not finished, wrong TLS version, buf too small). */
int sx_tls_channel_binding(struct sx *sx, const char *type, unsigned char *buf, size_t size);
/* The negotiated protocol version string ("TLSv1.3"), or NULL. */
const char *sx_tls_version(const struct sx *sx);
/* The id-on-xmppAddr values (then DNS names) of the verified peer
 * certificate, NULL-terminated; NULL if none verified. Owned by sx. */
const char *const *sx_tls_peer_names(struct sx *sx);

/* ---- sasl (sx/sasl.c) ---- */

/*
 * SASL (RFC 6120 section 6) through GNU SASL. One sx_sasl_ctx per kind of
 * stream holds the policy (which mechanisms) and, for servers, the
 * callbacks that reach the owner's credential store.
 *
 * Server: <mechanisms> lists, in this order, EXTERNAL (only when the peer's
 * certificate verified, SX_F_PEER_CERT), SCRAM-SHA-256-PLUS and
 * SCRAM-SHA-1-PLUS (only when TLS channel binding data exists:
 * tls-exporter on TLS 1.3, tls-unique on 1.2; XEP-0440's
 * <sasl-channel-binding/> says which), SCRAM-SHA-256, SCRAM-SHA-1,
 * DIGEST-MD5 and PLAIN (only on encrypted streams unless
 * allow_unencrypted), ANONYMOUS. Nothing is offered after success or while
 * STARTTLS is required and not yet done.
 *
 * Failure conditions: an <auth> without mechanism, or one this stream does
 * not offer -> invalid-mechanism, except PLAIN and DIGEST-MD5 refused only
 * because the stream is not encrypted, and anything while STARTTLS is
 * required -> encryption-required; bad base64 -> incorrect-encoding; data
 * the mechanism cannot parse (and DIGEST-MD5 messages GNU SASL 2.2's parser
 * would crash on), a <response> with no exchange running, an <auth> during
 * one -> malformed-request; wrong credentials, unknown user,
 * channel binding mismatch -> not-authorized; authorize callback refusing
 * a requested authzid -> invalid-authzid; <abort/> -> aborted; a callback
 * returning SX_SASL_ERROR -> temporary-auth-failure. After a failure the
 * event callback gets SX_EV_AUTH_FAIL (data: the condition) and the stream
 * stays open for another try; the owner applies delays and limits.
 * On success: <success> with the mechanism's additional data, the identity
 * is recorded (sx_auth), SX_F_AUTHENTICATED is set, the parser restarts and
 * SX_EV_AUTH_OK fires. SCRAM salts for users without stored keys, known
 * or not, are derived from the name and a random per-ctx key, so a
 * challenge does not tell whether a user exists.
 *
 * Client: when the server's features list mechanisms, the plugin picks the
 * first of SCRAM-SHA-256-PLUS, SCRAM-SHA-1-PLUS, SCRAM-SHA-256,
 * SCRAM-SHA-1, EXTERNAL (on TLS when no password was given: the client
 * certificate is the credential),
 * DIGEST-MD5, PLAIN, ANONYMOUS that is offered and allowed by its ctx (or
 * the one named in the params) and runs the exchange; those features are
 * not passed to the owner. Without -PLUS its SCRAM says "n" to channel
 * binding (GNU SASL 2.2's client cannot send "y"); the server refuses a
 * peer's "y" when it offers -PLUS on the stream (RFC 5802 downgrade
 * check). The server's SCRAM signature is checked: a wrong
 * one fires SX_EV_AUTH_FAIL and ends the stream with not-authorized. A
 * challenge the client cannot answer (malformed, or a SCRAM iteration count
 * over 1,000,000) gets <abort/> and SX_EV_AUTH_FAIL with "aborted". On
 * <success> the client restarts its parser and fires SX_EV_AUTH_OK; the
 * OWNER then calls sx_open() again. A <failure> fires SX_EV_AUTH_FAIL with
 * the server's condition; the owner may retry with sx_sasl_client_auth().
 */

/* Mechanism bits for sx_sasl_config.mechs. */
#define SX_SASL_SCRAM_SHA_256_PLUS 0x0001
#define SX_SASL_SCRAM_SHA_1_PLUS   0x0002
#define SX_SASL_SCRAM_SHA_256      0x0004
#define SX_SASL_SCRAM_SHA_1        0x0008
#define SX_SASL_PLAIN              0x0010
#define SX_SASL_DIGEST_MD5         0x0020
#define SX_SASL_ANONYMOUS          0x0040
#define SX_SASL_EXTERNAL           0x0080
#define SX_SASL_SCRAM_ALL          0x000f

/* Callback results. */
#define SX_SASL_OK     0        /* found / allowed */
#define SX_SASL_FAIL   1        /* no such user, wrong password, refused */
#define SX_SASL_ERROR  (-1)     /* backend trouble: temporary-auth-failure */

#define SX_SASL_MAX_SALT 64
#define SX_SASL_MAX_KEY  32     /* SHA-256 */

/* What a lookup returns: a plaintext password, or SCRAM keys for the hash
 * asked for (or both). */
struct sx_sasl_secret {
	/* Plaintext password (xmalloc'd; sx wipes and frees it), or NULL. */
	char *password;
	/* SCRAM: salt, iteration count and the two keys of the hash asked
	 * for; key_len 0 when absent. */
	unsigned char salt[SX_SASL_MAX_SALT];
	size_t salt_len;
	unsigned iter;
	unsigned char stored_key[SX_SASL_MAX_KEY];
	unsigned char server_key[SX_SASL_MAX_KEY];
	size_t key_len;
};

/* Server callbacks. Each gets the stream (sx_ctx() for the owner's data).
 * Strings are valid during the call only. */
struct sx_sasl_callbacks {
	/* Credentials of authcid in realm for `mech`: SCRAM (hash "SHA-1" or
	 * "SHA-256") takes keys or a password, DIGEST-MD5 and PLAIN (without
	 * check_password) a password. Fill *secret (zeroed on entry) and
	 * return SX_SASL_OK, or SX_SASL_FAIL / SX_SASL_ERROR. */
	int (*lookup)(struct sx *sx, const char *mech, const char *hash,
		      const char *authcid, const char *realm,
		      struct sx_sasl_secret *secret);
	/* PLAIN: is this the password? (so hashed storage works). NULL:
	 * compare with lookup's plaintext. */
	int (*check_password)(struct sx *sx, const char *authcid, const char *realm,
			      const char *password);
	/* May authcid act as authzid (NULL when none was asked for)? For
	 * EXTERNAL authcid is the certificate's first name
	 * (sx_tls_peer_names), for ANONYMOUS NULL. NULL callback: allowed
	 * only when authzid is NULL or equals authcid. */
	int (*authorize)(struct sx *sx, const char *mech, const char *authcid,
			 const char *authzid, const char *realm);
};

struct sx_sasl_config {
	unsigned mechs;               /* SX_SASL_* the owner allows */
	/* Offer PLAIN and DIGEST-MD5 without TLS (jabberd2's router on
	 * loopback); default 0. */
	int allow_unencrypted;
	const char *realm;            /* server: default realm for lookups and
				       * the DIGEST-MD5 challenge; a DIGEST-MD5
				       * response must name the same realm */
	unsigned scram_iter;          /* server: iterations when the lookup gave
				       * a plaintext password; 0 = 4096 */
	const struct sx_sasl_callbacks *cb;   /* server only */
};

struct sx_sasl_ctx;

struct sx_sasl_ctx *sx_sasl_ctx_new(const struct sx_sasl_config *cfg, const char **error_r);
void sx_sasl_ctx_free(struct sx_sasl_ctx **ctxp);

/* Server: offer and run SASL on this stream. realm NULL = the ctx's.
 * Returns 0, or -1 if already attached or no room. */
int sx_sasl_server(struct sx *sx, struct sx_sasl_ctx *ctx, const char *realm);

/* Client credentials; copied. */
struct sx_sasl_client_params {
	const char *mechanism;        /* NULL: the best offered */
	const char *authcid;
	const char *password;
	const char *authzid;          /* NULL: none */
	const char *service;          /* DIGEST-MD5 digest-uri service; NULL
				       * = "xmpp" */
	const char *hostname;         /* DIGEST-MD5 digest-uri host (the
				       * server's domain) */
	/* Tests only: channel binding data to use instead of the TLS
	 * layer's. */
	const unsigned char *cb_override;
	size_t cb_override_len;
};

/* Client: authenticate when the server's features offer mechanisms. */
int sx_sasl_client(struct sx *sx, struct sx_sasl_ctx *ctx,
		   const struct sx_sasl_client_params *params);
/* Client: start `mech` now, without waiting for features (jabberd2's
 * components send <auth mechanism='DIGEST-MD5'/> right after the header).
 * Returns 0, or -1 with *error_r. */
int sx_sasl_client_auth(struct sx *sx, const char *mech, const char **error_r);

/* Compute SCRAM keys from a password for storage: hash_name "SHA-1" or
 * "SHA-256"; writes StoredKey and ServerKey (*key_len_r bytes each, at
 * most SX_SASL_MAX_KEY). Returns 0, or -1 with *error_r. */
int sx_sasl_scram_hash(const char *hash_name, const char *password,
		       const unsigned char *salt, size_t salt_len, unsigned iter,
		       unsigned char *stored_key, unsigned char *server_key,
		       size_t *key_len_r, const char **error_r);

/* ---- ws (sx/ws.c) ---- */

/*
 * XMPP over WebSocket, RFC 7395, server side. Attached to a fresh stream
 * (after sx_tls_direct when there is one), the plugin looks at the first
 * byte: '<' or anything but 'G' leaves it inert (a plain XMPP client on
 * the same port); 'G' starts an HTTP upgrade request, answered 101 when it
 * is a valid RFC 6455 upgrade asking for the "xmpp" subprotocol, or with
 * 400 (malformed, not an upgrade, no "xmpp", header over max_request),
 * 403 (Origin not listed), 426 (version not 13) or a 301 to `redirect`
 * (a GET that is no upgrade, when set); after an HTTP error the stream
 * ends with policy-violation and nothing else is written.
 *
 * Once upgraded, each WebSocket text message is one XML element; <open/>
 * and <close/> (urn:ietf:params:xml:ns:xmpp-framing) stand for the stream
 * header and its end, so the owner sees an ordinary stream (stream_open
 * for each <open/>, also after SASL). Our output is sent one element per
 * message, the header as <open/>, the end as <close/>, a whitespace
 * keepalive as a ping. A frame that breaks RFC 6455 (unmasked, bad
 * opcode, bad control frame) is answered with close status 1002, text
 * that is not UTF-8 1007, a message over max_message 1009, a binary
 * message 1003; each ends the stream with policy-violation. A close from
 * the client ends the stream like </stream:stream>.
 */
struct sx_ws_config {
	const char *const *origins;   /* allowed Origin values, NULL-terminated;
				       * NULL = any (and none) */
	const char *redirect;         /* Location for a plain HTTP GET, or NULL */
	size_t max_request;           /* bytes of the HTTP request; 0 = 8192 */
	size_t max_message;           /* bytes of one message; 0 = 65536 (use
				       * the stanza limit) */
};

/* Returns 0, or -1 if already attached or no room. */
int sx_ws_server(struct sx *sx, const struct sx_ws_config *cfg);
/* 1 once the peer's first bytes were an HTTP request (WebSocket), else 0. */
int sx_ws_active(struct sx *sx);
/* The request's X-Forwarded-For header as sent, or NULL. Only meaningful
 * when the peer is a proxy the owner trusts. */
const char *sx_ws_forwarded_for(struct sx *sx);

#endif
