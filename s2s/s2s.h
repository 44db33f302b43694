/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * s2s.h: the federation daemon (jabberd2's s2s). One header for the whole
 * daemon, with prototypes grouped by the file that defines them:
 *
 *   config.c    s2s.xml into struct s2s_config
 *   dialback.c  the XEP-0220 key, as jabberd2 derives it
 *   resolve.c   SRV / A / AAAA lookups through c-ares, static overrides
 *   core.c      the engine: domain pairs, queues, bounces, router traffic
 *   out.c       outgoing server streams (originating and verifying roles)
 *   in.c        incoming server streams (receiving and authoritative roles)
 *   main.c      the daemon: command line, mio loop, listener, router link
 *
 * The engine (core.c, out.c, in.c) owns the sx streams but no socket: the
 * host (main.c, or a unit test wiring two engines back to back in memory)
 * gives it bytes, takes bytes from it and opens connections when it asks,
 * through struct s2s_ops. So every protocol path runs in unit tests.
 */
#ifndef S2S_S2S_H
#define S2S_S2S_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "sx/sx.h"
#include "util/list.h"

struct nad;
struct link;
struct link_callbacks;
struct link_set;
struct config;
struct xhash;

#define S2S_NS_COMPONENT "http://jabberd.jabberstudio.org/ns/component/1.0"
#define S2S_NS_DB_FEATURE "urn:xmpp:features:dialback"

/* ---- config.c ---- */

/* A static address for a domain (<lookup><host name= ip= port=/>). */
struct s2s_static_host {
	const char *name;
	const char *ip;
	int port;
	int direct_tls;
};

/* A local domain with its own certificate (<local><id pemfile=...>). */
struct s2s_local_id {
	const char *domain;
	const char *pemfile;           /* NULL: the default local.pemfile */
	const char *key_password;      /* @private-key-password */
};

struct s2s_config {
	const char *id;
	const char *pidfile;
	const char *log_type, *log_ident, *log_facility, *log_file;
	int router_non_default;
	/* listener and identity */
	const char *local_ip;
	int local_port;
	int ssl_port;                  /* local.ssl-port: direct TLS (ours) */
	const char *secret;
	const char *pemfile, *cachain, *key_password, *ciphers, *ciphersuites;
	int verify_mode;               /* jabberd2's OpenSSL bits, 0..7 */
	/* io */
	int max_fds;
	int stanzasize;
	int queue_max;                 /* io.limits.queue: stanzas per pair */
	int domainstreams;             /* io.limits.domainstreams: incoming
					* streams one remote domain may hold */
	/* io.limits.connects / bytes: value, @seconds, @throttle */
	int connects, connects_seconds, connects_throttle;
	int bytes, bytes_seconds, bytes_throttle;
	/* io.limits.stanzas: stanzas per @seconds on one incoming stream,
	 * reading paused @throttle seconds beyond it (ours; 0 = off) */
	int stanzas, stanzas_seconds, stanzas_throttle;
	/* check.* in seconds */
	int check_interval, check_queue, check_retry, check_idle, check_keepalive;
	int check_dnscache;
	/* lookup */
	int resolve_ipv6;
	int bad_host_timeout;
	int min_ttl, max_ttl, etc_hosts_ttl, no_cache;
	const char *nameserver_ip;     /* lookup.nameserver@ip, or NSCACHEIP */
	int nameserver_port;           /* 0: RES_OPTIONS port:N, or 53 */
	/* policy */
	int out_conn_reuse;
	int require_tls;
	int enable_whitelist;
	/* the lists, each NULL-terminated */
	const char **origins;          /* local.origins.ip */
	const char **srv;              /* lookup.srv in order */
	const char **whitelist;        /* security.whitelist_domain */
	struct s2s_static_host *hosts; /* lookup.host; name NULL ends */
	struct s2s_local_id *ids;      /* local.id; domain NULL ends */
	char secret_buf[41];           /* random secret when none is set */
};

/* Read s2s.xml (already loaded) into *cfg; strings point into cfgfile.
 * Returns 0, or -1 with *error_r. Unknown keys are logged as warnings. */
int s2s_config_read(const struct config *cfgfile, struct s2s_config *cfg,
		    const char **error_r);
void s2s_config_clear(struct s2s_config *cfg);

/* ---- dialback.c ---- */

#define S2S_DB_KEY_SIZE 41

/* The dialback key for a stream: lowercase hex of
 * SHA1(hex(SHA1(hex(SHA1(secret)) + remote)) + stream_id), jabberd2's
 * formula, so every s2s sharing the secret agrees. Returns 0, or -1 if
 * SHA-1 is unavailable. */
int s2s_db_key(const char *secret, const char *remote, const char *stream_id,
	       char out[S2S_DB_KEY_SIZE]);
/* Is `key` (from the network) the right one? Constant time. */
int s2s_db_key_check(const char *secret, const char *remote, const char *stream_id,
		     const char *key);

/* ---- resolve.c ---- */

/* One place to try, in order. */
struct s2s_target {
	char ip[64];
	int port;
	int direct_tls;         /* from an _xmpps-server SRV record */
};

/* An SRV record, for the ordering function. */
struct s2s_srv {
	char target[256];
	int priority, weight, port;
	int direct_tls;
};

/* Order SRV records as RFC 2782 says: by priority ascending, and within a
 * priority by a weighted random draw (weight 0 records have a small
 * chance). `rnd` returns a number in [0, bound) (tests pass their own).
 * A single record with target "." (or empty) means "no service": *n_r
 * becomes 0. */
void s2s_srv_order(struct s2s_srv *recs, size_t *n_r,
		   unsigned (*rnd)(unsigned bound, void *arg), void *arg);

struct s2s_resolver;
struct mio;

/* The result: targets (may be empty on failure, with `error` set). */
typedef void s2s_resolve_cb(const char *domain, const struct s2s_target *targets,
			    size_t n, const char *error, void *arg);

struct s2s_resolver *s2s_resolver_new(struct mio *mio, const struct s2s_config *cfg,
				      const char **error_r);
void s2s_resolver_free(struct s2s_resolver **rp);
/* Look `domain` up: static hosts first, then each configured SRV service
 * (first non-empty answer wins), then A (and AAAA if enabled) on 5269.
 * The callback runs from the loop, never inside this call. */
void s2s_resolve(struct s2s_resolver *r, const char *domain, s2s_resolve_cb *cb, void *arg);
/* Remember that ip:port failed, so it is tried last for bad_host_timeout. */
void s2s_resolver_bad_host(struct s2s_resolver *r, const char *ip, int port);

/* ---- core.c ---- */

struct s2s;
struct s2s_conn;

/* What the engine needs from its host. */
struct s2s_ops {
	/* Open a connection to `domain` for conn (an outgoing stream). The
	 * host resolves and connects, then calls s2s_conn_connected() or
	 * s2s_conn_failed(). */
	void (*connect)(struct s2s *s2s, struct s2s_conn *conn, const char *domain,
			void *host);
	/* A <route/> for the router (ownership passes). */
	void (*to_router)(struct s2s *s2s, struct nad *route, void *host);
	/* Write bytes to conn's transport. */
	void (*write)(struct s2s *s2s, struct s2s_conn *conn, const void *data,
		      size_t len, void *host);
	/* Close conn's transport after its last bytes; the host then calls
	 * s2s_conn_gone(). */
	void (*close)(struct s2s *s2s, struct s2s_conn *conn, void *host);
	/* The time now (tests control it); NULL = time(NULL). */
	time_t (*now)(void *host);
	/* The TLS client context for streams originating from `local` (its
	 * own certificate, local.id@pemfile); NULL (or a NULL op) = the
	 * settings' tls_client. */
	struct sx_tls_ctx *(*client_tls)(struct s2s *s2s, const char *local, void *host);
	/* Is `domain` one of ours (bound at the router)? Dialback for
	 * others gets an item-not-found error. NULL = every domain is. */
	int (*is_local)(struct s2s *s2s, const char *domain, void *host);
	/* Stop reading conn's transport for `seconds`, then go on (the
	 * stanza rate limit); NULL = the host cannot, nothing happens. */
	void (*throttle)(struct s2s *s2s, struct s2s_conn *conn, int seconds, void *host);
};

/* Settings the engine uses (a subset of s2s_config, so tests can make
 * one without a file). */
struct s2s_settings {
	const char *id;                /* our router name */
	const char *secret;            /* dialback secret */
	struct sx_tls_ctx *tls_server; /* NULL: no STARTTLS offered */
	struct sx_tls_ctx *tls_client; /* NULL: never STARTTLS out */
	int have_client_cert;          /* try SASL EXTERNAL outgoing */
	int require_tls;
	int out_conn_reuse;
	int check_queue;               /* seconds for connect + dialback */
	int check_idle;                /* seconds; 0 = never */
	int check_keepalive;           /* seconds between spaces on idle-
					* looking ready streams; 0 = never */
	int queue_max;                 /* stanzas per pair; 0 = 1024 */
	int domainstreams;             /* incoming streams per remote domain;
					* 0 = no limit */
	size_t stanzasize;             /* 0 = sx default */
	int stanza_rate;               /* stanzas per stanza_rate_seconds on
					* one incoming stream; 0 = no limit */
	int stanza_rate_seconds;       /* the window; 0 = 1 */
	int stanza_rate_throttle;      /* seconds reading pauses; 0 = 1 */
	int check_retry;               /* seconds a queue may wait for a
					* retry after a failed connect or a
					* lost stream; 0 = no retries */
	const char *const *whitelist;  /* NULL = all domains */
};

struct s2s *s2s_new(const struct s2s_settings *set, const struct s2s_ops *ops, void *host);
void s2s_free(struct s2s **s2sp);

/* A route from the router (ownership passes). */
void s2s_route_in(struct s2s *s2s, struct nad *route);
/* Expire queues and idle streams; call every check.interval seconds. */
void s2s_check(struct s2s *s2s);
/* Write out what the streams produced and close finished ones; the host
 * calls it after every entry into the engine. */
void s2s_flush(struct s2s *s2s);
/* Shut down: system-shutdown to every peer, bounce every queue. */
void s2s_shutdown(struct s2s *s2s);

/* Transport events, from the host. */
/* A new incoming connection; returns the engine's conn. */
struct s2s_conn *s2s_conn_accepted(struct s2s *s2s, void *transport);
/* The same on the direct TLS listener (XEP-0368): TLS before any XML. */
struct s2s_conn *s2s_conn_accepted_tls(struct s2s *s2s, void *transport);
void s2s_conn_connected(struct s2s_conn *conn, void *transport, int direct_tls);
/* Why a connect failed, which decides the bounce and whether to retry. */
enum s2s_conn_failure {
	S2S_CONNECT_UNREACHED = 0, /* timed out, no route: retried (check.retry) */
	S2S_CONNECT_NO_NAME = 1,   /* no address: remote-server-not-found at once */
	S2S_CONNECT_REFUSED = 2,   /* every address refused: the same */
};
/* The connect failed; `why` is an enum s2s_conn_failure. */
void s2s_conn_failed(struct s2s_conn *conn, int why, const char *reason);
void s2s_conn_input(struct s2s_conn *conn, const void *data, size_t len);
/* The transport is gone (peer closed, error, or after ops->close). */
void s2s_conn_gone(struct s2s_conn *conn, const char *reason);
void *s2s_conn_transport(const struct s2s_conn *conn);
/* The domain an outgoing conn is for ("" for incoming). */
const char *s2s_conn_domain(const struct s2s_conn *conn);

/* Introspection for tests and the status log. */
/* "pending", "valid", "invalid" or NULL (unknown pair) for outgoing
 * local -> remote. */
const char *s2s_out_pair_state(struct s2s *s2s, const char *local, const char *remote);
/* 1 if remote may send to local on some incoming stream. */
int s2s_in_pair_valid(struct s2s *s2s, const char *remote, const char *local);
size_t s2s_queue_len(struct s2s *s2s, const char *local, const char *remote);
unsigned s2s_conn_count(struct s2s *s2s, int incoming);

/* ---- internal, shared by core.c, out.c and in.c ---- */

enum s2s_pair_state {
	S2S_PAIR_PENDING,       /* queued, waiting for connect/dialback */
	S2S_PAIR_SENT,          /* db:result sent, answer awaited */
	S2S_PAIR_VALID,
	S2S_PAIR_INVALID,
};

/* An outgoing (local, remote) pair and its queue. */
struct s2s_pair {
	char *key;              /* "local/remote" */
	char *local, *remote;
	enum s2s_pair_state state;
	struct s2s_conn *conn;  /* the stream it is (being) validated on */
	struct nad **queue;     /* routes waiting, oldest first */
	size_t qlen, qsize;
	time_t since;           /* when it started waiting */
	time_t retry_at;        /* when to connect again (0: not waiting) */
	int retries;            /* reconnects so far, for the backoff */
	struct list_node link;  /* in its conn's pair list */
};

/* A db:verify we asked an authoritative server, for an incoming stream. */
struct s2s_verify {
	struct s2s_conn *in;    /* where the db:result came from */
	char *remote, *local, *key, *id;
	int sent;
	time_t since;
	struct list_node link;  /* in s2s->verifies */
};

enum s2s_conn_state {
	S2S_CONN_CONNECTING,
	S2S_CONN_OPENING,       /* header sent, features / TLS / SASL */
	S2S_CONN_READY,         /* dialback may run */
	S2S_CONN_CLOSING,
};

struct s2s_conn {
	struct s2s *s2s;
	int incoming;
	enum s2s_conn_state state;
	struct link *lk;        /* the stream on the host's transport */
	struct sx *sx;          /* link_sx(lk) */
	void *transport;
	char *domain;           /* out: remote domain; in: NULL */
	char *key;              /* out: the conns table key */
	char *first_local;      /* out: the local domain in our header */
	char *peer_id;          /* out: stream id from the peer's header */
	char *hdr_to;           /* in: the peer's header to */
	int external_ok;        /* out: SASL EXTERNAL succeeded */
	int external_tried;
	int db_offered;         /* out: features offered dialback (or pre-1.0) */
	struct list_node pairs; /* out: struct s2s_pair.link */
	struct xhash *valid;    /* in: "remote/local" -> (void *)1 */
	time_t created, last_read, last_keepalive;
	/* in: the stanza rate window */
	time_t rate_start, throttled_until;
	int rate_n;
	int rate_logged;
	int reported;           /* ops->close called */
	struct list_node link;  /* in s2s->conns */
};

struct s2s {
	struct s2s_settings set;
	const struct s2s_ops *ops;
	void *host;
	struct xhash *pairs;    /* "local/remote" -> struct s2s_pair */
	struct xhash *outs;     /* conn key -> outgoing struct s2s_conn */
	struct list_node conns;
	struct list_node verifies;
	struct sx_sasl_ctx *sasl_server;
	struct sx_sasl_ctx *sasl_client;
	struct link_set *links; /* no loop: s2s_flush flushes it */
	int flushing;
	/* /metrics: stanzas sent back, by condition (S2S_BOUNCE_CONDS, the
	 * last slot for any other), and those dropped instead (errors). */
	uint64_t bounced[6], dropped;
};

/* The conditions s2s_bounce() counts apart, in the order of bounced[]. */
#define S2S_BOUNCE_CONDS { "remote-server-not-found", "remote-server-timeout", \
	"resource-constraint", "policy-violation", "service-unavailable", "other" }

time_t s2s_now(struct s2s *s2s);
/* The stanza error type (RFC 6120 8.3) of a condition. */
const char *s2s_cond_type(const char *cond);
/* Bounce a queued or refused route with a stanza error condition
 * (ownership of route passes). */
void s2s_bounce(struct s2s *s2s, struct nad *route, const char *condition);
/* Bounce and forget everything queued on a pair. */
void s2s_pair_fail(struct s2s *s2s, struct s2s_pair *pair, const char *condition);
/* The pair's stream failed before it validated: keep its queue for a
 * later connect (check.retry, with backoff) if it is young enough, else
 * bounce it with condition. */
void s2s_pair_retry_or_fail(struct s2s *s2s, struct s2s_pair *pair, const char *condition);
/* Send a pair's queue on its valid conn. */
void s2s_pair_flush(struct s2s *s2s, struct s2s_pair *pair);
/* Deliver a stanza from a peer to the router. */
void s2s_deliver(struct s2s *s2s, struct nad *stanza);
struct s2s_conn *s2s_conn_new(struct s2s *s2s, int incoming);
/* A new stream on conn's transport (in.c, out.c). */
void s2s_conn_stream(struct s2s_conn *conn, enum sx_type type, const struct sx_limits *lim,
		     const struct link_callbacks *cb);

/* out.c */
/* Get or start the outgoing conn for remote (and local, without reuse). */
struct s2s_conn *s2s_out_get(struct s2s *s2s, const char *local, const char *remote);
/* Start validating the pair on its conn if the conn is ready. */
void s2s_out_pair_start(struct s2s_conn *conn, struct s2s_pair *pair);
/* Open the stream once the transport is up. */
void s2s_out_open(struct s2s_conn *conn, int direct_tls);
/* Ask the authoritative server about a key (sends when ready). */
void s2s_out_verify_kick(struct s2s *s2s, const char *remote);
/* The conn is gone: its pairs bounce with `condition` (or wait for a
 * retry when `retry` is set and check.retry allows), and the db:verify
 * questions waiting for its domain are answered with a dialback error
 * carrying `verify_condition` (XEP-0220 2.4). */
void s2s_out_gone(struct s2s_conn *conn, const char *condition, int retry,
		  const char *verify_condition);
/* Send a stanza (a route's payload) on a valid conn. */
void s2s_out_send(struct s2s_conn *conn, const struct nad *route);

/* in.c */
void s2s_in_start(struct s2s_conn *conn, int direct_tls);
/* The authoritative answer for a pending verify arrived ("valid" or
 * "invalid"), or it failed: type "error" with the dialback error
 * condition the initiating server gets (XEP-0220 2.4). */
void s2s_in_verify_done(struct s2s *s2s, struct s2s_verify *v, const char *type,
			const char *condition);
void s2s_verify_free(struct s2s_verify **vp);
/* RFC 6125: does one of a verified certificate's names (xmppAddr or
 * dNSName, a leftmost "*." wildcard matching one label) name domain? */
int s2s_cert_names_match(const char *const *names, const char *domain);

#endif
