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
 * restarts the stream. Later: stream management, WebSocket framing.
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

/* Send an element; sx takes ownership of the nad. It is written in the
 * stream's default namespace (so a jabber:client stanza on a c2s stream
 * carries no xmlns). Ignored after close. */
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

/* ---- tls (sx/tls.c) ---- */

struct sx_tls_ctx;

/* TLS settings, as jabberd2's pemfile / cachain / verify-mode / ciphers. */
struct sx_tls_config {
	const char *pemfile;          /* certificate chain and private key */
	const char *key_password;     /* for an encrypted private key, or NULL */
	const char *cachain;          /* CA file to verify peers, or NULL */
	int verify_mode;              /* 0 none; 1 request and verify if sent;
				       * 2 require a verified peer certificate */
	const char *ciphers;          /* TLS <= 1.2 cipher list, or NULL */
	const char *ciphersuites;     /* TLS 1.3 suites, or NULL */
	int min_version;              /* 0 = TLS 1.2; else TLS1_2_VERSION... */
};

/* A shared SSL_CTX for many streams of one role. */
struct sx_tls_ctx *sx_tls_ctx_new(enum sx_type role, const struct sx_tls_config *cfg,
				  const char **error_r);
void sx_tls_ctx_free(struct sx_tls_ctx **ctxp);
/* Offer STARTTLS (server: <starttls/> in features until encrypted, with
 * <required/> if `required`; client: send <starttls/> when offered). */
int sx_tls_starttls(struct sx *sx, struct sx_tls_ctx *ctx, int required);
/* Start TLS at once, before any XML (direct TLS, port 5223). */
int sx_tls_direct(struct sx *sx, struct sx_tls_ctx *ctx);
/* Client: the name to send as SNI and to verify against, or NULL. */
void sx_tls_set_server_name(struct sx *sx, const char *name);
/* Channel binding data for SASL: type "tls-exporter" or "tls-unique".
 * Returns the length written to buf (at most size), or -1 if unavailable
 * (no TLS, or tls-unique on TLS 1.3). */
int sx_tls_channel_binding(struct sx *sx, const char *type, unsigned char *buf, size_t size);
/* The negotiated protocol version string ("TLSv1.3"), or NULL. */
const char *sx_tls_version(const struct sx *sx);
/* The id-on-xmppAddr values (then DNS names) of the verified peer
 * certificate, NULL-terminated; NULL if none verified. Owned by sx. */
const char *const *sx_tls_peer_names(struct sx *sx);

/* ---- sasl (sx/sasl.c) ---- */

/* The SASL side is declared in sx/sasl.h's section below, written by
 * whoever implements sx/sasl.c. */

#endif
