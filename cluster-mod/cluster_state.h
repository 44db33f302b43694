/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cluster_state: the replicated session table (DESIGN.md section 3.2,
 * docs/cluster-protocol.md STATE_DELTA / STATE_REQUEST / STATE_SNAPSHOT).
 *
 * Entries are full JID -> (node, priority, available, sm session id,
 * start time). Each node is the only writer of its own entries: local
 * changes (the sm's notifications) are stamped (this node, incarnation,
 * sequence), kept in a bounded history and sent to every open peer as
 * STATE_DELTA at cluster_state_flush() (once per loop turn, so changes are
 * batched). A peer's entries change only through its frames:
 *
 *  - a STATE_DELTA that continues the sequence is applied; one already
 *    seen is ignored; one past a gap is dropped and answered with
 *    STATE_REQUEST(since the last sequence seen);
 *  - a delta of a new incarnation that starts at sequence 1 replaces the
 *    origin's entries; any other unknown incarnation asks for a snapshot;
 *  - a STATE_SNAPSHOT (BEGIN..END) replaces the origin's entries;
 *  - a STATE_REQUEST for our entries is answered with the deltas since
 *    from_seq while the history still holds them, else with a snapshot.
 *
 * A peer whose link closes keeps its entries; a node the membership
 * declares dead or gone (cluster_members.h: BYE, failure detection) has
 * them dropped (cluster_state_drop_node, the one drop path).
 *
 * Not thread-safe; everything runs on the router's loop. Frames go out
 * through the send hook (peer NULL: every open peer).
 */
#ifndef CLUSTER_MOD_CLUSTER_STATE_H
#define CLUSTER_MOD_CLUSTER_STATE_H

#include <stddef.h>
#include <stdint.h>

struct cluster_frame;
struct cluster_state;

/* Default bound of the local delta history. */
#define CLUSTER_STATE_HISTORY 65536
/* Origins (this node and its peers) the table tracks, at most. */
#define CLUSTER_STATE_ORIGINS_MAX 65
/* Entries one origin may hold here; adds past it are dropped (logged). */
#define CLUSTER_STATE_ORIGIN_ENTRIES_MAX 2000000
/* A STATE_DELTA/STATE_SNAPSHOT we send stays under this many payload
 * bytes (well under CLUSTER_FRAME_MAX). */
#define CLUSTER_STATE_CHUNK_BYTES (512u * 1024u)

/* Returns how many peers the frame was queued for. */
typedef int (*cluster_state_send_fn)(void *ctx, const char *peer,
				     const struct cluster_frame *frame);

struct cluster_state *cluster_state_new(const char *self, uint64_t incarnation,
					size_t history_max, cluster_state_send_fn send,
					void *ctx);
void cluster_state_free(struct cluster_state **stp);

/* A local session starts or changes (priority -128..127). Returns 0, or
 * -1 with *error_r (JID or sid too long, empty JID). */
int cluster_state_local_set(struct cluster_state *st, const char *jid, const char *sid,
			    int priority, int available, uint64_t started_ms,
			    const char **error_r);
/* A local session ends. Returns 0, or -1 if there was none. */
int cluster_state_local_remove(struct cluster_state *st, const char *jid);
/* Send the deltas made since the last flush to every open peer. */
void cluster_state_flush(struct cluster_state *st);

/* A STATE_* frame from `peer`. Returns 0 (applied, ignored as a
 * duplicate, or answered), or -1 with *error_r when the frame is not
 * acceptable (wrong origin, chunk out of order); the caller may end the
 * link. Frames of other types return 0 and are ignored. */
int cluster_state_frame(struct cluster_state *st, const char *peer,
			const struct cluster_frame *frame, const char **error_r);
/* A peer's link opened: ask for its entries since the last we saw (or a
 * snapshot). */
void cluster_state_peer_open(struct cluster_state *st, const char *peer);
/* A snapshot goes out as far as the peer's link takes it (the send hook
 * returns 0 when the link refuses a frame, its output full); the rest
 * goes when that link's output has drained (cluster_peer_hooks on_drain):
 * call cluster_state_peer_drained then. cluster_state_retry tries every
 * snapshot still being sent (tests, fuzzing). Returns the snapshots still
 * being sent. */
size_t cluster_state_retry(struct cluster_state *st);
void cluster_state_peer_drained(struct cluster_state *st, const char *peer);
/* A peer's link closed: forget the snapshot being sent to it (it asks
 * again when the link reopens). Its entries are kept. */
void cluster_state_peer_closed(struct cluster_state *st, const char *peer);
/* This node took a new incarnation (the membership was told it had been
 * declared dead): its entries are stamped with `incarnation` from now on,
 * its sequences go on, and its history of the old incarnation is dropped
 * (what is not flushed yet is flushed first), so a peer holding the old
 * incarnation gets a snapshot when it asks or sees the next delta. */
void cluster_state_reincarnated(struct cluster_state *st, uint64_t incarnation);
/* Why a node's entries are dropped all at once (the sm's
 * <remote><s action='remove' reason=.../>: iface13 rule 1). */
enum cluster_state_drop_reason {
	CLUSTER_STATE_DROP_NODE_DEAD = 1,       /* declared dead, or left (BYE) */
	CLUSTER_STATE_DROP_REPLACED,            /* a newer incarnation of it */
};
const char *cluster_state_drop_reason_name(enum cluster_state_drop_reason reason);
/* Drop every entry of `node` at once (the membership declared it dead or
 * gone); it is asked for a snapshot again when its link opens. */
void cluster_state_drop_node(struct cluster_state *st, const char *node,
			     enum cluster_state_drop_reason reason);

struct cluster_state_session {
	const char *jid;
	const char *node;
	const char *sid;                /* "" when the sm gave none */
	int priority;
	int available;
	uint64_t started_ms;
};

/* Why a peer's entry went (iface13.md rule 1's reason). */
enum cluster_state_reason {
	CLUSTER_STATE_REASON_NONE = 0,  /* add and update */
	CLUSTER_STATE_REASON_END,       /* the session ended on its node */
	CLUSTER_STATE_REASON_NODE_DEAD, /* its node died or left */
	CLUSTER_STATE_REASON_REPLACED,  /* a new incarnation, or a snapshot
					 * replacing the node's entries */
};
enum cluster_state_change {
	CLUSTER_STATE_ADDED,
	CLUSTER_STATE_UPDATED,
	CLUSTER_STATE_REMOVED,
};
/* Called for every change of a PEER's entries (never this node's own),
 * including each entry of a node dropped at once (cluster_state_drop_node:
 * DROP_NODE_DEAD gives REASON_NODE_DEAD, DROP_REPLACED REASON_REPLACED); the view is valid
 * during the call only and the watch must not change the table. */
typedef void (*cluster_state_watch_fn)(void *ctx, enum cluster_state_change change,
				       enum cluster_state_reason reason,
				       const struct cluster_state_session *s);
void cluster_state_set_watch(struct cluster_state *st, cluster_state_watch_fn fn, void *ctx);
/* 1 when we hold `peer`'s entries of `incarnation` or of a newer one it
 * took since (a snapshot or deltas from sequence 1 applied, no snapshot
 * half-way), else 0. */
int cluster_state_peer_synced(const struct cluster_state *st, const char *peer,
			      uint64_t incarnation);
/*
 * Bound names (i13-fed: NAME_BIND / NAME_UNBIND): the names this node's
 * components bind at its router are announced in the deltas and the
 * snapshot like sessions; a peer's are kept per origin and dropped with
 * its entries (BYE, declared dead, new incarnation, snapshot).
 */
#define CLUSTER_STATE_NAMES_MAX 256     /* per origin; more are ignored */
/* This node's component bound (1) or let go (0) `name`. Returns 0, or -1
 * (empty or too long, bound already / not bound, too many). */
int cluster_state_local_name(struct cluster_state *st, const char *name, int bound);
/* The first peer that announces `name`, or NULL. */
const char *cluster_state_name_node(const struct cluster_state *st, const char *name);
/* Called for every change of a PEER's names (bound 1 or 0), including
 * each name of a node dropped at once; the watch must not change the
 * table. */
typedef void (*cluster_state_names_fn)(void *ctx, const char *node, const char *name,
				       int bound);
void cluster_state_set_names_watch(struct cluster_state *st, cluster_state_names_fn fn,
				   void *ctx);

/* Every local (local != 0) or every peer's entry. */
void cluster_state_foreach(const struct cluster_state *st, int local,
			   void (*fn)(void *ctx, const struct cluster_state_session *s),
			   void *ctx);

/* The session `jid` held by `node` (NULL: any node). Views valid until
 * the next change. Returns 0, or -1. */
int cluster_state_lookup(const struct cluster_state *st, const char *jid, const char *node,
			 struct cluster_state_session *s_r);
/* Entries held by `node` (NULL: all). */
size_t cluster_state_count(const struct cluster_state *st, const char *node);
/* For this node: its last sequence; for a peer: the last one applied of
 * its incarnation (*incarnation_r when not NULL). 0 when unknown. */
uint64_t cluster_state_last_seq(const struct cluster_state *st, const char *node,
				uint64_t *incarnation_r);

/* The local totals ("cluster: state: local 3 sessions, seq S, D deltas
 * held"), one line per peer ("cluster: state: node n2: 12 sessions,
 * incarnation I, last seq S"), then the first
 * CLUSTER_STATE_STATUS_SESSIONS sessions ("cluster: state: session JID on
 * n2, priority 5, available"). */
#define CLUSTER_STATE_STATUS_SESSIONS 32
void cluster_state_log_status(const struct cluster_state *st);

#endif
