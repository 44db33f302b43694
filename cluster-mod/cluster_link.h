/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cluster_link: the links between this node's router and its peers'
 * (DESIGN.md section 3.1). One TCP connection per peer pair, TLS 1.3 with
 * mutual certificate authentication (cluster_tls.h), driven over memory
 * BIOs on the router's mio loop. A link carries a byte stream in each
 * direction; the frame codec (cluster_proto.h) sits on top of it:
 *
 *	cluster_link_send(link, bytes, len)       bytes to the peer
 *	cb->on_bytes(link, data, len, ctx)        decrypted bytes from it
 *
 * The set of links (struct cluster_links) listens on the node's <ip> and
 * <port>, dials every configured <peer> from the node's <ip> (bind before
 * connect), and redials with backoff (100 ms doubling to 5 s, +-25 %
 * jitter) while the peer has no link. When both sides dial at once, the
 * link dialled by the node with the smaller name (strcmp) is kept, on both
 * sides. A peer that fails authentication is refused before any
 * application byte is read; the refusal is logged in one line with its
 * reason, once per (peer, reason) until that peer's link comes up.
 *
 * Everything runs on the router's single thread.
 */
#ifndef CLUSTER_MOD_CLUSTER_LINK_H
#define CLUSTER_MOD_CLUSTER_LINK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "cluster-mod/cluster_tls.h"

struct mio;
struct cluster_config;
struct cluster_links;
struct cluster_link;

/* Input and output bounds of one link. A handshake that has taken more
 * than CLUSTER_LINK_MAX_HANDSHAKE bytes or CLUSTER_LINK_HANDSHAKE_MS is
 * refused; cluster_link_send() refuses bytes that would take the
 * encrypted output waiting for the socket beyond CLUSTER_LINK_MAX_OUT. */
#define CLUSTER_LINK_MAX_HANDSHAKE (64 * 1024)
#define CLUSTER_LINK_HANDSHAKE_MS 10000
#define CLUSTER_LINK_MAX_OUT (4 * 1024 * 1024)
/* Frames sent in one loop turn are encrypted together at its end, or as
 * soon as this many bytes wait. */
#define CLUSTER_LINK_TURN_MAX (64 * 1024)
/* Both nodes of a pair dialled at once: the link the pair does not keep
 * (docs/cluster-protocol.md "Who connects"), authenticated while our own
 * dial is still in its handshake, waits this long at most for that dial
 * instead of opening only to be replaced. */
#define CLUSTER_LINK_PAIR_WAIT_MS 1000
/* Redial backoff. */
#define CLUSTER_LINK_BACKOFF_MIN_MS 100
#define CLUSTER_LINK_BACKOFF_MAX_MS 5000
/* A link that stayed up this long resets its peer's backoff. */
#define CLUSTER_LINK_STABLE_MS 5000
/* Peers known at once: configured ones plus those that dialled us. */
#define CLUSTER_LINK_MAX_PEERS 256

struct cluster_link_callbacks {
	/* The peer's link is up (authenticated); `peer` is its node name. */
	void (*on_up)(struct cluster_link *link, const char *peer, void *ctx);
	/* Decrypted bytes from the peer; `data` is valid during the call. */
	void (*on_bytes)(struct cluster_link *link, const void *data, size_t len,
			 void *ctx);
	/* Optional: the link's output went back below the low-water mark
	 * after cluster_link_send() returned 1. */
	void (*on_drain)(struct cluster_link *link, void *ctx);
	/* The peer's link went down (`reason` says why); the link pointer is
	 * invalid after this returns. A new one may come up later. */
	void (*on_down)(struct cluster_link *link, const char *peer, const char *reason,
			void *ctx);
};

/*
 * Listen on cc's <ip>:<port> and start dialling the peers, with
 * `ssl_ctx` (cluster_tls_ctx_new; the set takes it, even on failure).
 * `cc` is borrowed and must outlive the set. Returns NULL with *error_r
 * (valid until the next mio call) if the node cannot listen.
 */
struct cluster_links *cluster_links_new(struct mio *mio, const struct cluster_config *cc,
					SSL_CTX *ssl_ctx,
					const struct cluster_link_callbacks *cb, void *ctx,
					const char **error_r);

/*
 * SIGTERM: stop listening and dialling; every link that is up gets a TLS
 * close_notify and a graceful close, the others are cut. Returns 0 if
 * nothing is left open, or 1: `done(arg)` is called once the last link
 * has closed.
 */
int cluster_links_stop(struct cluster_links *ls, void (*done)(void *arg), void *arg);

/*
 * A node to link with, learned after start (a member another node
 * reported, or the address a peer that dialled us gave in its HELLO):
 * add it as a peer and dial it now, or give an address to a peer known
 * only from its incoming link. A peer that already has an address keeps
 * it. The link is judged exactly as a configured peer's: its certificate
 * must verify and carry `name`. Returns 0, or -1 when the set already has
 * CLUSTER_LINK_MAX_PEERS peers, is stopping, or `name` is this node.
 */
int cluster_links_add_peer(struct cluster_links *ls, const char *name, const char *ip,
			   int port);

/* Close everything at once and free. NULLs *lsp. */
void cluster_links_free(struct cluster_links **lsp);

/*
 * Queue `len` bytes for the peer: they are encrypted and written with the
 * rest of this loop turn's (at its end, before a close, or once
 * CLUSTER_LINK_TURN_MAX bytes wait). Returns 0 when queued, 1 when queued
 * but the output is above the socket's high-water mark (slow down), -1
 * when refused: the link is not up, or the output would exceed
 * CLUSTER_LINK_MAX_OUT.
 */
int cluster_link_send(struct cluster_link *link, const void *data, size_t len);

/*
 * Close the link gracefully: TLS close_notify, then the socket once the
 * queue is written. on_down follows at once (from inside this call) if
 * the link was up; the link pointer is invalid after this returns. The
 * peer's link is redialled with backoff as after any loss.
 */
void cluster_link_close(struct cluster_link *link, const char *reason);
/* Close as cluster_link_close, and redial its peer after the shortest
 * backoff (the link was closed on purpose, not for a fault). */
void cluster_link_close_redial(struct cluster_link *link, const char *reason);

/* Stop (hold 1) or restart (0) reading the link: back-pressure from
 * where its bytes go. What was read already is still delivered. */
void cluster_link_hold(struct cluster_link *link, int hold);

/* The peer's node name ("" before authentication). */
const char *cluster_link_peer(const struct cluster_link *link);
/* 1 if this node dialled the link, 0 if it accepted it. */
int cluster_link_outgoing(const struct cluster_link *link);
/* One pointer of the user's per link (NULL until set). */
void cluster_link_set_data(struct cluster_link *link, void *data);
void *cluster_link_data(const struct cluster_link *link);

/* ---- status ---- */

enum cluster_link_state {
	CLUSTER_LINK_DOWN = 0,          /* waiting to redial (or incoming only) */
	CLUSTER_LINK_CONNECTING,        /* TCP connect or TLS handshake */
	CLUSTER_LINK_UP,
};

struct cluster_peer_status {
	const char *name;
	const char *ip;                 /* "" for a peer known only by its dialling */
	int port;
	enum cluster_link_state state;
	int outgoing;                   /* the current link is the one we dialled */
	const char *remote;             /* the link's peer address "ip:port" */
	time_t up_since;                /* 0 when down */
	uint64_t bytes_in, bytes_out;   /* application bytes, all links */
	uint64_t ups;                   /* times the link came up */
	uint64_t duplicates;            /* second links of the pair closed */
	uint64_t out_queued;            /* bytes waiting for the socket (at most
					 * CLUSTER_LINK_MAX_OUT plus one turn's) */
	unsigned backoff_ms;            /* next redial pause */
	const char *last_error;         /* "" if none */
};

int cluster_links_peer_count(const struct cluster_links *ls);
/* Peer i (0 <= i < count); the strings live until the next loop turn. */
void cluster_links_peer_status(const struct cluster_links *ls, int i,
			       struct cluster_peer_status *st);
/* Peers refused for `reason` since start (every refusal, logged or not). */
uint64_t cluster_links_refusals(const struct cluster_links *ls, enum cluster_refusal reason);
const char *cluster_link_state_name(enum cluster_link_state s);
/* One log line for the set and one per peer (SIGHUP). */
void cluster_links_log_status(const struct cluster_links *ls);

#endif
