/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cluster_local: what the cluster module does for its own node (for now):
 *
 *  - it binds the clustered domains at the router and hands every route
 *    for them to the local sm (<cluster><sm>, the sm's <router_id>), which
 *    decides where each stanza goes;
 *  - i13-fwd: it speaks the module's side of the module <-> sm protocol
 *    (docs/cluster-protocol.md "The module and its sm"): remote sessions
 *    pushed to the sm, <sync/>, stanzas forwarded to and from other nodes
 *    (cluster_fwd.h), undelivered ones handed back, conflicts; and it
 *    installs the router's redirects for local sessions (patch 4);
 *  - it takes the local sm's session notifications (seed patch 3,
 *    urn:jabberd-cluster:session, patches/03-sm-notifies-cluster.md) into
 *    the replicated session table (cluster_state.h), and runs the table's
 *    frames over the peer links: deltas flushed once per loop turn, a
 *    STATE_REQUEST when a link opens, a node's entries dropped when the
 *    membership declares it dead or gone (cluster_local_node_dead).
 */
#ifndef CLUSTER_MOD_CLUSTER_LOCAL_H
#define CLUSTER_MOD_CLUSTER_LOCAL_H

#include <stddef.h>
#include <stdint.h>

#include "cluster-mod/cluster_fwd.h"

/* Rule 9: a stanza makes at most this many forwards in all (jc:hops on
 * the sm's route says which one this is; absent: the first). A route
 * from the sm past it goes back as jc:undelivered='hop-limit'. The sm has
 * the same bound (SM_CLUSTER_HOPS_MAX). */
#define CLUSTER_LOCAL_HOPS_MAX 2

/* Rule 10: routes for the sm held while it is not connected: at most
 * this many, this many bytes (as received), this long; checked every
 * tick. */
#define CLUSTER_LOCAL_HOLD_MAX 10000
#define CLUSTER_LOCAL_HOLD_BYTES (16u * 1024 * 1024)
#define CLUSTER_LOCAL_HOLD_MS 30000
#define CLUSTER_LOCAL_HOLD_TICK_MS 500

struct router;
struct nad;
struct cluster_config;
struct cluster_peers;
struct cluster_frame;
struct cluster_local;

/* Bind the domains when <sm> is set. Returns NULL with *error_r (static) on failure. */
struct cluster_local *cluster_local_new(struct router *r, const struct cluster_config *cc,
					struct cluster_peers *peers, const char **error_r);
void cluster_local_free(struct cluster_local **clp);

/* The module's deliver hook: takes the nad. */
void cluster_local_deliver(struct cluster_local *cl, struct nad *nad);
/* Peer events, from the cluster_peer hooks. */
void cluster_local_frame(struct cluster_local *cl, const char *peer,
			 const struct cluster_frame *frame);
void cluster_local_peer_open(struct cluster_local *cl, const char *peer);
void cluster_local_peer_closed(struct cluster_local *cl, const char *peer);
/* The peer's link output drained: the rest of a snapshot goes. */
void cluster_local_peer_drained(struct cluster_local *cl, const char *peer);
/* The membership declared `node` dead, or it left (BYE): drop its
 * entries (reason node-dead) and hand the stanzas it did not acknowledge
 * back to the sm (i13-fwd, iface13.md rule 4). */
void cluster_local_node_dead(struct cluster_local *cl, const char *node);

/* Just before this node takes a new incarnation: acknowledge what was
 * taken while the old links still carry frames. */
void cluster_local_reincarnating(struct cluster_local *cl);
/* This node took a new incarnation (membership): forwarding starts anew
 * with every peer (cluster_fwd_reincarnated). */
void cluster_local_reincarnated(struct cluster_local *cl);
/* i14-part: 1 when `peer` is open and its entries are all here. */
int cluster_local_peer_synced(const struct cluster_local *cl, const char *peer);
/* i14-part: tell the sm that these nodes, declared dead here, are back
 * with their sessions (rule 12 of "The module and its sm"). */
void cluster_local_merged(struct cluster_local *cl, const char *const *nodes, size_t n);
/* i14-part: tell the sm that the peers see this node's new incarnation
 * (rule 13). */
void cluster_local_revived(struct cluster_local *cl);
/* i14, rule 11: membership holds `node` down (held 1) or releases it (0):
 * the sm hears it at once (after the remote sessions already queued), and
 * again after every <sync/>. */
void cluster_local_hold(struct cluster_local *cl, const char *node, int held);

/* i13-fed (cluster_names.h): the table, the deltas flushed at the end of
 * the turn, and routes for a component on another node: STANZAs whose
 * one target is a component name (no '@'), queued with
 * cluster_local_send_route(); hooks take such a STANZA from a peer, and
 * such a route the cluster could not deliver, before the sm paths
 * (each returns 1 when it took it). */
struct cluster_state *cluster_local_state(struct cluster_local *cl);
void cluster_local_changed(struct cluster_local *cl);
int cluster_local_send_route(struct cluster_local *cl, const char *node, const uint8_t *route,
			     size_t len, const char *name);
struct cluster_local_component_hooks {
	int (*deliver)(void *ctx, const char *peer, const uint8_t *route, size_t len,
		       const char *name);
	int (*undelivered)(void *ctx, const char *node, const uint8_t *route, size_t len,
			   const char *name);
};
void cluster_local_set_component(struct cluster_local *cl,
				 const struct cluster_local_component_hooks *hooks, void *ctx);

/* Causes a stanza is handed back for (cluster_fwd.h's reasons). */
/* The causes of enum cluster_fwd_reason, then sm-gone (rule 10: one of
 * ours a peer's sm never took, given back). */
#define CLUSTER_LOCAL_SM_GONE 5
#define CLUSTER_LOCAL_REASONS 6

/* Counters of the module's side of iface13.md, for the status. */
struct cluster_local_counters {
	uint64_t fwd_out;               /* routes from the sm forwarded (rule 7) */
	uint64_t fwd_in;                /* stanzas from peers handed to the sm */
	uint64_t broadcasts;            /* jc:node='*' routes (rule 8) */
	uint64_t undelivered;           /* stanzas handed back (rule 4) */
	uint64_t stubs_pushed;          /* <s/> sent to the sm (rule 1) */
	uint64_t stub_routes;           /* <remote/> routes they went in */
	uint64_t syncs;                 /* <sync/> answered (rule 2) */
	uint64_t conflicts;             /* <conflict/> sent (rule 5) */
	uint64_t merges;                /* <merged/> sent (rule 12, i14-part) */
	uint64_t sm_dropped;            /* not handed to the sm */
	uint64_t sm_held;               /* held while the sm was away (rule 10) */
	uint64_t sm_returned;           /* ... given back to their sender */
	/* i14: stanzas handed back by cause (enum cluster_fwd_reason:
	 * node-dead, queue-full, no-such-node, too-big) */
	uint64_t undelivered_by[CLUSTER_LOCAL_REASONS];
	uint64_t holds;                 /* <hold/> routes sent (rule 11) */
	/* Direct delivery: forwarded messages handed to a local c2s without
	 * the sm; and those that went through the sm instead because an
	 * earlier stanza for the session was still there (jc:mark). */
	uint64_t direct, direct_waited;
};
struct cluster_local_tables {
	size_t local, remote;           /* sessions in the table */
	size_t redirects;               /* redirects installed: local + bare */
	uint64_t handed;                /* routes for the domains handed to the sm */
	size_t held;                    /* held for the sm now (rule 10) */
	size_t direct_sessions;         /* local sessions direct delivery may reach */
	struct cluster_local_counters counters;
};
void cluster_local_tables(const struct cluster_local *cl, struct cluster_local_tables *t);
struct cluster_local_peer_tables {
	size_t sessions;                /* its entries here */
	size_t unacked, unacked_bytes;  /* our stanzas it has not acknowledged */
	uint64_t sent, received, undelivered;
	struct cluster_fwd_queue fwd;   /* the whole queue's report (i14) */
};
/* 0 and *t for a configured peer, else -1. */
int cluster_local_peer_tables(const struct cluster_local *cl, const char *peer,
			      struct cluster_local_peer_tables *t);

/* SIGHUP status lines: table sizes and sequences. */
void cluster_local_log_status(const struct cluster_local *cl);

#endif
