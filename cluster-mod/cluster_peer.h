/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cluster_peer: what this node says to each peer over its authenticated
 * link (cluster_link.h), in the frames of cluster_proto.h
 * (docs/cluster-protocol.md): the opening (the dialling node sends HELLO,
 * the accepting node checks it and answers HELLO_ACK with the negotiated
 * version or a refusal), heartbeats (PING/PONG, round-trip time, a link
 * silent past the profile's timeout is closed), and BYE (sent at SIGTERM,
 * before TLS close_notify; received, the peer is dropped at once). A frame
 * that does not decode completely ends the link with BYE(protocol error).
 *
 * Frames past the opening that this layer does not handle (state,
 * stanzas, members) go to the on_frame hook, for the layers to come.
 */
#ifndef CLUSTER_MOD_CLUSTER_PEER_H
#define CLUSTER_MOD_CLUSTER_PEER_H

#include <stdint.h>

#include <openssl/ssl.h>

struct mio;
struct cluster_config;
struct cluster_frame;
struct cluster_peers;

/* Heartbeat timing per <profile>: PING every interval; a link that has
 * received nothing for the timeout is closed. The opening (HELLO to
 * HELLO_ACK) must finish within CLUSTER_PEER_OPEN_MS. */
#define CLUSTER_PEER_LAN_PING_MS 1000
#define CLUSTER_PEER_LAN_TIMEOUT_MS 3000
#define CLUSTER_PEER_WAN_PING_MS 5000
#define CLUSTER_PEER_WAN_TIMEOUT_MS 15000
#define CLUSTER_PEER_OPEN_MS 10000

struct cluster_peer_hooks {
	/* A peer's link is open (version negotiated) / closed. */
	void (*on_open)(const char *peer, unsigned version, void *ctx);
	void (*on_close)(const char *peer, const char *reason, void *ctx);
	/* Any other decoded frame from an open peer; views valid during the
	 * call only. */
	void (*on_frame)(const char *peer, const struct cluster_frame *frame, void *ctx);
	/* The peer said BYE (enum cluster_bye_reason); on_close follows. */
	void (*on_bye)(const char *peer, unsigned reason, void *ctx);
	/* Optional: an open peer's link output, which had refused a frame
	 * or passed its high-water mark, is down to its low-water mark:
	 * what waits for that link can go now (cluster_link.h on_drain). */
	void (*on_drain)(const char *peer, void *ctx);
};

/*
 * Start the links (cluster_links_new, taking ssl_ctx) and speak the
 * protocol over them. Returns NULL with *error_r if the node cannot
 * listen.
 */
struct cluster_peers *cluster_peers_new(struct mio *mio, const struct cluster_config *cc,
					SSL_CTX *ssl_ctx, const struct cluster_peer_hooks *hooks,
					void *ctx, const char **error_r);

/* SIGTERM: BYE(shutting down) to every open peer, then close every link
 * (cluster_links_stop). Returns 0, or 1 and calls done(arg) later. */
int cluster_peers_stop(struct cluster_peers *ps, void (*done)(void *arg), void *arg);

void cluster_peers_free(struct cluster_peers **psp);

/* Send a frame (its version is set per link) to the open peer `peer`, or
 * to every open peer when peer is NULL. Returns the peers it was queued
 * for (a link whose output is full refuses it). */
int cluster_peers_send(struct cluster_peers *ps, const char *peer,
		       const struct cluster_frame *frame);

/* A node learned after start: cluster_links_add_peer(). */
int cluster_peers_add_peer(struct cluster_peers *ps, const char *name, const char *ip,
			   int port);

/* This node's incarnation, as sent in HELLO. */
uint64_t cluster_peers_incarnation(const struct cluster_peers *ps);
/* A new incarnation for the HELLOs of links opened from now on (the
 * membership took one: it learned it had been declared dead). Every link
 * that exists now is closed at once after the current event (nothing is
 * sent or taken on it meanwhile) and redialled after the shortest
 * backoff, so that peers see the new incarnation in HELLO and no frame of
 * the old one follows a frame of the new one. */
void cluster_peers_set_incarnation(struct cluster_peers *ps, uint64_t incarnation);

/*
 * Back-pressure (docs/cluster-protocol.md "How STANZA and ACK are used",
 * Bound): hold 1 stops reading every link, present and to come, until
 * hold 0. Peers then see their stanzas wait for our ACK, up to their
 * queue's bound. While input is held, this node does not count the
 * links' silence against the peers (it is ours), so a hold does not take
 * a peer for dead. Returns the number of holds since start.
 */
uint64_t cluster_peers_hold_input(struct cluster_peers *ps, int hold);

/* Peers whose link is open now. */
int cluster_peers_open(const struct cluster_peers *ps);

/* For the status report (cluster_control.h). */
const struct cluster_links *cluster_peers_links(const struct cluster_peers *ps);
struct cluster_peer_open_info {
	unsigned version;               /* negotiated protocol version */
	uint64_t incarnation;           /* the peer's */
	uint64_t rtt_us;                /* last PING round trip; 0 before a PONG */
	uint64_t pongs;
	uint64_t idle_ms;               /* since the link last received anything */
	char ip[46];                    /* the address its HELLO gave ("" if we dialled) */
	int port;
};
/* 1 and *info if peer `name`'s link is open (version negotiated), else 0. */
int cluster_peers_open_info(const struct cluster_peers *ps, const char *name,
			    struct cluster_peer_open_info *info);

/* The link status (cluster_links_log_status) and, per open peer, the
 * protocol version, the peer's incarnation and the last round-trip time. */
void cluster_peers_log_status(const struct cluster_peers *ps);

#endif
