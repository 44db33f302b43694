/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cluster_local: what the cluster module does for its own node (for now):
 *
 *  - it binds the clustered domains at the router and hands every route
 *    for them to the local sm (<cluster><sm>, the sm's <router_id>), so a
 *    node serves its users on its own until forwarding between nodes
 *    exists;
 *  - it takes the local sm's session notifications (seed patch 3,
 *    urn:jabberd-cluster:session, patches/03-sm-notifies-cluster.md) into
 *    the replicated session table (cluster_state.h), and runs the table's
 *    frames over the peer links: deltas flushed once per loop turn, a
 *    STATE_REQUEST when a link opens, a node's entries dropped when the
 *    membership declares it dead or gone (cluster_local_node_dead).
 */
#ifndef CLUSTER_MOD_CLUSTER_LOCAL_H
#define CLUSTER_MOD_CLUSTER_LOCAL_H

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
/* The membership declared `node` dead, or it left (BYE): drop its
 * entries (reason node-dead). */
void cluster_local_node_dead(struct cluster_local *cl, const char *node);
/* SIGHUP status lines: table sizes and sequences. */
void cluster_local_log_status(const struct cluster_local *cl);

#endif
