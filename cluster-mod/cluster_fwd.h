/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cluster_fwd: reliable stanza transport between nodes (STANZA and ACK
 * frames, docs/cluster-protocol.md "STANZA (9)", "ACK (10)" and "How
 * STANZA and ACK are used"). Pure code: frames go out through a send hook,
 * stanzas come in through a deliver hook, and what cannot be delivered
 * goes to an undelivered hook; the caller runs the links and the timers.
 *
 * Per peer, per direction, STANZA frames are numbered from 1 for one
 * (sender incarnation, receiver incarnation) pair: the numbering survives
 * link loss and restarts only when either end is a new incarnation.
 *
 *  - Sending: every stanza gets the next sequence and is kept until the
 *    peer ACKs it; when the link to the same incarnation reopens, every
 *    unacknowledged stanza is sent again, in order. At most `max_frames`
 *    stanzas or `max_bytes` route bytes wait per peer: past that a
 *    stanza is refused at once (CLUSTER_FWD_QUEUE_FULL).
 *  - Receiving: a stanza whose sequence is not above the last delivered
 *    from that peer incarnation is a duplicate and dropped; others are
 *    delivered. The receiver ACKs cumulatively: every
 *    CLUSTER_FWD_ACK_EVERY stanzas, and at cluster_fwd_flush() (the end of
 *    the loop turn).
 *  - A peer gone for good (declared dead or left, cluster_fwd_node_gone()):
 *    everything it had not acknowledged goes to the undelivered hook,
 *    once, and the numbering restarts.
 *  - A new incarnation of either end (the peer's in its HELLO, or ours):
 *    the numbering restarts and what was not acknowledged goes to the
 *    peer again; on a version-2 link it waits in doubt until the peer's
 *    TAKEN says which of it the peer took, and only the rest goes again
 *    (rule 15: no second copy of a stanza whose ACK the closing links
 *    lost).
 *
 * Broadcast stanzas (no targets) travel the same way but are never handed
 * back as undelivered: they are dropped with the peer (iface rule 8).
 */
#ifndef CLUSTER_MOD_CLUSTER_FWD_H
#define CLUSTER_MOD_CLUSTER_FWD_H

#include <stddef.h>
#include <stdint.h>

struct cluster_frame;
struct cluster_fwd;

/* Default bounds of what waits for an ACK, per peer. */
#define CLUSTER_FWD_MAX_FRAMES 65536
#define CLUSTER_FWD_MAX_BYTES (32u * 1024u * 1024u)
/* The receiver ACKs at least every this many stanzas. */
#define CLUSTER_FWD_ACK_EVERY 64
/* Peers tracked, at most (as the state's origins). */
#define CLUSTER_FWD_PEERS_MAX 64

/* Why a stanza goes back to the local sm (iface rule 4, jc:undelivered). */
enum cluster_fwd_reason {
	CLUSTER_FWD_NODE_DEAD = 0,      /* node-dead */
	CLUSTER_FWD_QUEUE_FULL = 1,     /* queue-full */
	CLUSTER_FWD_NO_SUCH_NODE = 2,   /* no-such-node */
	CLUSTER_FWD_TOO_BIG = 3,        /* too-big */
	CLUSTER_FWD_HOP_LIMIT = 4,      /* hop-limit (cluster_local.c, rule 9) */
};
#define CLUSTER_FWD_REASONS 5
/* "node-dead", "queue-full", "no-such-node", "too-big", "hop-limit". */
const char *cluster_fwd_reason_name(enum cluster_fwd_reason reason);

struct cluster_fwd_hooks {
	/* Send a frame to `peer`; returns 1 when the link took it, 0 when it
	 * did not (link closed or output full: sent again later). */
	int (*send)(void *ctx, const char *peer, const struct cluster_frame *frame);
	/* A stanza from `peer` (delivered once per sequence); views valid
	 * during the call. ntargets 0: a broadcast. */
	void (*deliver)(void *ctx, const char *peer, const uint8_t *route, size_t len,
			const char *const *targets, size_t ntargets);
	/* A stanza for `node` that will not be delivered, with its targets
	 * (never a broadcast). */
	void (*undelivered)(void *ctx, const char *node, enum cluster_fwd_reason reason,
			    const uint8_t *route, size_t len, const char *const *targets,
			    size_t ntargets);
};

/* Peers are the configured names (npeers <= CLUSTER_FWD_PEERS_MAX);
 * max_frames/max_bytes 0 take the defaults. */
struct cluster_fwd *cluster_fwd_new(const char *const *peers, int npeers, size_t max_frames,
				    size_t max_bytes, const struct cluster_fwd_hooks *hooks,
				    void *ctx);
void cluster_fwd_free(struct cluster_fwd **fwdp);

/*
 * Send a route to `node` for `targets` (1..CLUSTER_TARGETS_MAX full JIDs;
 * 0 for a broadcast). The bytes and targets are copied. Returns 0 when it
 * is queued (sent now if the link is open, else when it opens), or -1
 * after handing it to the undelivered hook (unknown node, queue full, too
 * big for a frame, node gone); a broadcast is then just dropped.
 */
int cluster_fwd_send(struct cluster_fwd *fwd, const char *node, const uint8_t *route,
		     size_t len, const char *const *targets, size_t ntargets);

/* This node's incarnation (the pairs' numbering names it in TAKEN). */
void cluster_fwd_set_incarnation(struct cluster_fwd *fwd, uint64_t incarnation);

/* The peer's link opened; `incarnation` from its HELLO, `version` the
 * link's. A new incarnation restarts both directions' numbering and gets
 * the old one's unacknowledged stanzas again: all of them on a version-1
 * link; on a version-2 link those a link had wait, before anything newer,
 * for the peer's TAKEN (its first frame of ours), and only those it says
 * it did not take go again (rule 15). The same incarnation gets them
 * again. On a version-2 link TAKEN is sent first: the last STANZA taken
 * from the peer, with its pair. */
void cluster_fwd_peer_open(struct cluster_fwd *fwd, const char *peer, uint64_t incarnation,
			   unsigned version);
/* The link closed: stanzas stay queued for the same incarnation. */
void cluster_fwd_peer_closed(struct cluster_fwd *fwd, const char *peer);
/* The peer is gone for good (declared dead, BYE(shutting down)): every
 * unacknowledged stanza goes to the undelivered hook with `reason`, and
 * until its link opens again every stanza sent to it goes there at once
 * (node-dead). Both directions' numbering restarts from 1: such a node
 * comes back only as a new incarnation (membership), possibly over a link
 * that stayed open. */
void cluster_fwd_node_gone(struct cluster_fwd *fwd, const char *node,
			   enum cluster_fwd_reason reason);

/* Acknowledge now, on every open link, what was taken and not yet
 * acknowledged: called just before this node takes a new incarnation,
 * whose links close without a word more (a peer would otherwise send
 * those STANZAs again to the new incarnation: a second copy; on a
 * version-2 link TAKEN covers this too, even when the ACK is lost). */
void cluster_fwd_ack_now(struct cluster_fwd *fwd);

/* This node took `incarnation` (it learnt it was declared dead): its
 * peers take it for a new node, so with each of them both directions'
 * numbering restarts from 1, and what was not acknowledged goes to the
 * peer again once its link is open again: all of it after a version-1
 * link, and after a version-2 link only what the peer's TAKEN on the next
 * link says it did not take (rule 15). Until a peer's link opens, what is
 * sent to it waits in the queue. */
void cluster_fwd_reincarnated(struct cluster_fwd *fwd, uint64_t incarnation);

/* A STANZA, ACK or TAKEN from `peer` (other types are ignored). Returns 0, or
 * -1 with *error_r (an ACK for stanzas never sent). */
int cluster_fwd_frame(struct cluster_fwd *fwd, const char *peer,
		      const struct cluster_frame *frame, const char **error_r);
/* End of the loop turn: send pending ACKs and what a full link refused.
 * Returns 1 while something is left to send (call again later). */
int cluster_fwd_flush(struct cluster_fwd *fwd);

struct cluster_fwd_queue {
	uint64_t next_seq;              /* the sequence the next stanza gets */
	uint64_t acked;                 /* the peer acknowledged up to */
	size_t frames, bytes;           /* waiting for an ACK */
	uint64_t delivered_in;          /* last sequence delivered from it */
	uint64_t sent, received, resent, duplicates, undelivered;
	size_t in_doubt;                /* set aside at a new incarnation (rule 15) */
	uint64_t doubt_taken;           /* of those, the peer had taken */
	/* undelivered, by cause (enum cluster_fwd_reason) */
	uint64_t undelivered_by[CLUSTER_FWD_REASONS];
	size_t max_frames, max_bytes;   /* the bounds of frames and bytes */
	uint64_t oldest_ms;             /* how long the oldest has waited; 0: none */
};
/* 0 and *q for a configured peer, else -1. */
int cluster_fwd_queue_info(const struct cluster_fwd *fwd, const char *peer,
			   struct cluster_fwd_queue *q);

#endif
