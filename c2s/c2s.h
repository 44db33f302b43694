/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * c2s.h: the c2s daemon's shared state and its files' prototypes, grouped
 * by defining file. c2s accepts client streams (5222 with STARTTLS, 5223
 * with direct TLS), authenticates them with SASL against authreg, binds a
 * resource, and carries the client's stanzas to the sm over the router
 * (comp/) with jabberd2's session protocol (compat spec section 5).
 */
#ifndef C2S_C2S_H
#define C2S_C2S_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "c2s/authreg.h"
#include "c2s/smq.h"
#include "mio/mio.h"
#include "sx/sx.h"
#include "util/list.h"

struct comp;
struct link;
struct link_set;
struct metrics;
struct config;
struct nad;
struct xhash;

#define C2S_NS_SESSION "http://jabberd.jabberstudio.org/ns/session/1.0"
#define C2S_NS_BIND "urn:ietf:params:xml:ns:xmpp-bind"
#define C2S_NS_XSESSION "urn:ietf:params:xml:ns:xmpp-session"
#define C2S_NS_REGISTER "jabber:iq:register"
#define C2S_NS_REGISTER_FEATURE "http://jabber.org/features/iq-register"
#define C2S_NS_IQAUTH "jabber:iq:auth"
#define C2S_NS_IQAUTH_FEATURE "http://jabber.org/features/iq-auth"
#define C2S_NS_SM "urn:xmpp:sm:3"

/* One served domain: a local.id element. */
struct c2s_host {
	char *domain;                   /* nameprep'd; "" = the default vhost */
	char *realm;                    /* authreg realm */
	struct sx_tls_ctx *tls;         /* STARTTLS context, or NULL */
	int require_starttls;
	int register_enable;
	int password_change;
	char *instructions;
};

/* TLS 1.3 suites when c2s.xml names none (`ciphersuites`): ChaCha20-
 * Poly1305 first. With OpenSSL 3.0 its two record contexts and SHA-256
 * transcript hashes take about 300 bytes less per session than
 * AES-256-GCM's, which is OpenSSL's own first choice; on a c2s holding
 * tens of thousands of mostly idle sessions that matters more than
 * AES-NI's speed on small stanzas (docs/BENCHMARKS.md has both). A
 * client that does not offer ChaCha20 gets AES-GCM. */
#define C2S_DEFAULT_CIPHERSUITES \
	"TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256"

/* Options read by table (config.c). */
struct c2s_opts {
	const char *id, *pidfile;
	const char *log_ident, *log_facility, *log_file;
	const char *ip;
	int port, ssl_port;
	const char *pemfile, *cachain, *ciphers, *ciphersuites, *key_password;
	int verify_mode;
	int max_fds, stanzasize;
	int bytes, connects, stanzas;
	int check_interval, check_idle, check_keepalive;
	const char *access_order;
	const char *authreg_module;
	int scram_iter, scram_upgrade, scram_plaintext;
	int auth_delay_ms, auth_fail_limit, auth_fail_window;
	int register_limit, register_window;
	int iqauth_plain;               /* authreg.*mechanisms.traditional.plain */
	int iqauth_digest;              /* ...traditional.digest, and passwords
					 * stored in clear */
	int auth_timeout;
	int sm_enable;                  /* stream-management.* (XEP-0198) */
	int sm_resume, sm_queue, sm_queue_bytes, sm_max_parked;
};

struct c2s_fail;
struct c2s_ws;

/* stream_redirect.redirect: clients asking for `domain` are sent to
 * `to` ("address:port") with see-other-host. */
struct c2s_redirect {
	char *domain;
	char *to;
};

struct c2s {
	struct config *cfg;
	struct c2s_opts o;
	struct c2s_host **hosts;
	size_t nhosts;
	struct c2s_redirect *redirects;
	size_t nredirects;
	const char *cfg_file, *cfg_id;  /* for reloading on SIGHUP */
	struct mio *mio;
	struct comp *comp;
	struct authreg *ar;
	struct sx_sasl_ctx *sasl;
	struct sx_tls_ctx *ssl_tls;     /* local.pemfile for ssl-port */
	struct mio_access *access;
	struct mio_access *reg_exempt;  /* authreg.register.exempt (config.c) */
	struct mio_listener *listener, *ssl_listener, *ws_listener;
	struct c2s_ws *ws;              /* io.websocket, or NULL (ws.c) */
	struct link_set *links;         /* flush, back-pressure, idle trim */
	struct mio_timer *check, *drain;
	struct mio_rate bytes;
	struct mio_rate stanzas;        /* io.limits.stanzas (karma) */
	struct sx_limits limits;
	struct xhash *conns;            /* decimal id -> struct c2s_conn */
	struct xhash *fails;            /* "ip:..."/"user:..." -> struct c2s_fail */
	struct xhash *regs;             /* ip -> struct c2s_fail (registrations) */
	struct xhash *parked;           /* sessions kept for XEP-0198 resumption,
					 * under "c:<sc:c2s id>" and "r:<resume id>";
					 * resumable live streams under "l:<id>" */
	size_t nparked;
	struct list_node all;           /* every c2s_conn */
	uint64_t next_id;
	int shutting_down, exiting, exit_code, comp_closing;
	int check_only;                 /* -t: no side effects (authreg not opened) */
	struct metrics *metrics;   /* <metrics> port, or NULL (main.c) */
	struct c2s_counters {           /* since start, for /metrics */
		uint64_t accepted;      /* client streams accepted */
		uint64_t logins;        /* successful SASL / XEP-0078 logins */
		uint64_t login_failures;
		uint64_t registrations; /* XEP-0077 accounts created */
		uint64_t authreg_calls; /* password checks and lookups */
		uint64_t authreg_us;    /* time they took, microseconds */
	} n;
};

enum c2s_state {
	C2S_CONNECTED,                  /* no auth yet */
	C2S_AUTHED,                     /* SASL done, no resource bound */
	C2S_STARTING,                   /* start sent, waiting for started */
	C2S_ACTIVE,                     /* session open at the sm */
};

/* XEP-0198 state of one stream (sm198.c). */
struct c2s_sm {
	int enabled, resume;
	int r_pending;                  /* our <r/> not answered yet */
	int takeover;                   /* closed for a resume elsewhere: park */
	unsigned timeout;               /* seconds a broken session is kept */
	uint32_t h_in;                  /* client stanzas handled, mod 2^32 */
	char id[41];                    /* resumption id, "" without */
	struct c2s_smq q;               /* sent, not yet acknowledged */
};

/* One client connection, with at most one session. */
struct c2s_conn {
	struct c2s *c2s;
	struct link *lk;                /* the stream on its socket */
	struct mio_conn *mc;            /* link_conn(lk) */
	struct sx *sx;                  /* link_sx(lk) */
	char id[24];                    /* decimal, never reused: sc:c2s */
	const struct c2s_host *host;
	char *domain;                   /* the domain the client asked for */
	const char *realm;              /* authreg realm for it: the host's, or
					 * domain (not a copy) */
	enum c2s_state state;
	char *user;                     /* authenticated node */
	char *jid;                      /* full JID once bound */
	char *sm_id;                    /* the sm's session id (sc:sm) */
	char *sm_name;                  /* route target learned from started */
	char *bind_iq_id;               /* the client's bind request id */
	char *req_id;                   /* our start/create request id */
	char *reg_user, *reg_pass;      /* registration waiting for created */
	char *reg_iq_id;
	char *upgrade_pw;               /* plaintext seen by SCRAM lookup */
	char *last_authcid;
	int auth_failures;
	unsigned legacy_auth : 1;       /* session started by jabber:iq:auth */
	unsigned ws_proxy : 1;          /* from an io.websocket trusted-proxy */
	unsigned anonymous : 1;         /* ANONYMOUS: a user only for this
					 * session (created, then deleted) */
	unsigned anon_reserved : 1;     /* its name held in authreg */
	unsigned anon_created : 1;      /* its user created at the sm */
	unsigned ended : 1;
	time_t since;
	struct mio_timer *delay;        /* resumes reading after a failed auth
					 * or a stanza-rate pause */
	time_t win_start;               /* io.limits.stanzas window */
	unsigned win_count;
	struct c2s_sm *sm;              /* XEP-0198, NULL until <enable/> */
	struct list_node link;          /* c2s->all */
};

/* ---- config.c ---- */
/* Read the option table into c2s->o (before the log is open). */
int c2s_config_options(struct c2s *c2s, const char **error_r);
/* Then: warn about unknown keys; read the local.id hosts (with their TLS contexts), the
 * access rules and the SASL mechanism lists. Logs unknown keys. */
int c2s_config_read(struct c2s *c2s, const char **error_r);
/* The host serving `domain`: its local.id, else the default vhost, else
 * NULL. */
const struct c2s_host *c2s_host_find(const struct c2s *c2s, const char *domain);
void c2s_hosts_free(struct c2s *c2s);
/* (Re)read stream_redirect from `cfg` (SIGHUP reloads it from the file). */
void c2s_redirects_read(struct c2s *c2s, const struct config *cfg);
void c2s_redirects_free(struct c2s *c2s);
/* "address:port" for a redirected domain, or NULL. */
const char *c2s_redirect_find(const struct c2s *c2s, const char *domain);
/* SX_SASL_* bits allowed by authreg.mechanisms.sasl / ssl-mechanisms. */
unsigned c2s_config_mechs(const struct c2s *c2s);

/* ---- auth.c ---- */
/* An ANONYMOUS connection is going: give its name back to authreg. */
void c2s_auth_release_anonymous(struct c2s_conn *c);
/* The SASL context with authreg behind it. */
int c2s_sasl_init(struct c2s *c2s, unsigned mechs, const char **error_r);
/* SASL outcome events on a client stream. */
void c2s_auth_event(struct c2s_conn *c, enum sx_event ev, const void *data);
/* For other ways of logging in (iq:auth): the throttle check on a node,
 * and counting a failure with the same delay and limits as SASL. */
int c2s_auth_throttled(struct c2s_conn *c, const char *node);
void c2s_auth_failed(struct c2s_conn *c, const char *condition);
/* Stop reading from the client for `ms` (failure delay, stanza rate). */
void c2s_pause(struct c2s_conn *c, unsigned ms);

/* ---- conn.c ---- */
void c2s_accept(struct mio_listener *l, struct mio_conn *mc, const char *ip,
		int port, void *ctx);
void c2s_accept_ssl(struct mio_listener *l, struct mio_conn *mc, const char *ip,
		    int port, void *ctx);
void c2s_conn_error(struct c2s_conn *c, const char *condition, const char *text);
struct c2s_conn *c2s_conn_find(struct c2s *c2s, const char *id);
/* Close every client stream of `domain` (NULL: all) with a stream error;
 * returns how many were closed. */
int c2s_close_all(struct c2s *c2s, const char *domain, const char *condition);
void c2s_check(struct c2s *c2s);
/* Idle trim period of the client links (link/link.h): a stream quiet for
 * a whole sweep releases its parser and buffers. */
#define C2S_TRIM_MS 1000
/* Shutdown: close the router link once the clients are gone. */
void c2s_shutdown_link(struct c2s *c2s);

/* ---- auth.c: counting failures per key (IP, account) ---- */
/* 1 if `key` has reached `limit` events within the last `window` s. */
int c2s_fail_blocked(struct xhash *table, const char *key, int limit, int window);
void c2s_fail_note(struct xhash *table, const char *key, int window);
/* Forget entries older than `window` s (from the periodic check). */
void c2s_fail_prune(struct xhash *table, int window);
void c2s_fail_table_free(struct xhash **tablep);

/* ---- stanza.c ---- */
void c2s_client_element(struct c2s_conn *c, struct nad *nad);
void c2s_iq_error(struct c2s_conn *c, const struct nad *nad, const char *type,
		  const char *condition);
void c2s_stream_features(struct c2s_conn *c);
/* Start the session of c->user with `resource` (NULL: one of ours); the
 * reply to iq `iq_id` (a bind result, or with `legacy` an empty iq:auth
 * result) waits for the sm. Returns -1 for an unusable resource. */
int c2s_session_start(struct c2s_conn *c, const char *resource, const char *iq_id,
		      int legacy);

/* ---- iqauth.c ---- */
/* XEP-0078 non-SASL authentication (jabberd2's "traditional" plain). */
int c2s_iqauth_offered(const struct c2s_conn *c);
void c2s_iqauth(struct c2s_conn *c, const struct nad *nad, int query);

/* ---- sess.c ---- */
void c2s_router_element(struct comp *comp, struct nad *nad, void *ctx);
/* Send a session control element for c (action start/end/create/delete). */
void c2s_sess_send(struct c2s_conn *c, const char *action, const char *target);
/* End the session at the sm. Idempotent. */
void c2s_sess_end(struct c2s_conn *c);
/* The connection is gone (after its session ended or was parked): an
 * ANONYMOUS user is deleted at the sm and its name given back. */
void c2s_sess_gone(struct c2s_conn *c);
void c2s_route_stanza(struct c2s_conn *c, struct nad *nad);
/* A session control element (no request id) to `to`, for sessions that
 * have no connection any more. */
struct nad *c2s_sess_control(const char *to, const char *from, const char *c2s_id,
			     const char *sm_id, const char *action);

/* ---- sm198.c: XEP-0198 stream management ---- */
/* Send a stanza (or any element) to the client; stanzas are counted and
 * kept until acknowledged once stream management is on. */
void c2s_send(struct c2s_conn *c, struct nad *nad);
/* An element in the urn:xmpp:sm:3 namespace from the client (owned). */
void c2s_sm_element(struct c2s_conn *c, struct nad *nad);
/* A stanza from the client was handled. */
void c2s_sm_count_in(struct c2s_conn *c);
/* Add <sm/> to the features where it applies. */
void c2s_sm_features(struct c2s_conn *c, struct nad *features);
/* The connection is over (`broken`: cut, not closed, so resumable):
 * park the session, or end it and hand unacknowledged stanzas back. */
void c2s_sm_conn_gone(struct c2s_conn *c, int broken);
void c2s_sm_conn_free(struct c2s_conn *c);
/* A stanza from the sm for a parked session: 1 if taken. */
int c2s_sm_parked_deliver(struct c2s *c2s, const char *cid, const char *sm_id,
			  const struct nad *route, int payload);
/* The sm ended a parked session: 1 if it was one. */
int c2s_sm_parked_ended(struct c2s *c2s, const char *cid, const char *sm_id);
/* The sm `name` (or the domain `name`; NULL: the router link) went away
 * and ended its sessions: the parked ones of it become orphans, which
 * cannot be resumed. Returns how many. c2s_sm_parked_orphans_end(), for
 * each name the router says is available, ends the orphans of that domain,
 * or of that sm while their domain is served, so that their
 * unacknowledged messages reach an sm. */
int c2s_sm_parked_orphan(struct c2s *c2s, const char *name);
void c2s_sm_parked_orphans_end(struct c2s *c2s, const char *domain);
/* End every parked session (shutdown), then free what is left (exit). */
void c2s_sm_shutdown(struct c2s *c2s);
void c2s_sm_free_all(struct c2s *c2s);

/* ---- ws.c ---- */
/* io.websocket (after the limits are known); nothing when absent. */
int c2s_ws_read(struct c2s *c2s, const char **error_r);
void c2s_ws_free(struct c2s *c2s);
/* io.websocket.port, or 0. */
int c2s_ws_port(const struct c2s *c2s);
/* A new connection from ip: let it speak WebSocket if configured. */
void c2s_ws_attach(struct c2s_conn *c, const char *ip);
/* At the first stream header: 0 for a plain XMPP stream, 1 for a
 * WebSocket one (no STARTTLS), -1 if refused (stream error sent). */
int c2s_ws_first_header(struct c2s_conn *c);
/* The client's address for logs and per-IP limits: the socket's peer, or,
 * behind a trusted WebSocket proxy, the last X-Forwarded-For entry that
 * is not itself a trusted proxy (written into buf). */
const char *c2s_client_ip(const struct c2s_conn *c, char *buf, size_t size);
#define C2S_IP_MAX 64

/* ---- register.c ---- */
void c2s_register_iq(struct c2s_conn *c, struct nad *nad);
/* 1 if registrations from `ip` are not limited (authreg.register.exempt;
 * loopback by default). */
int c2s_register_exempt(const struct c2s *c2s, const char *ip);
void c2s_register_created(struct c2s_conn *c, int ok);

#endif
