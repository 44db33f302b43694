/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cluster_status: what the control socket (cluster_control.h) answers,
 * without any I/O: the request parser, and the three formatters of a
 * snapshot of the node's state (text for people, JSON for scripts,
 * Prometheus text format for monitoring). The module fills the snapshot
 * from the links, the peer protocol and the router's counters at each
 * request; the unit test fills it by hand.
 *
 * Nothing secret is in the snapshot (no key, no certificate): names,
 * addresses, counters and error texts only.
 */
#ifndef CLUSTER_MOD_CLUSTER_STATUS_H
#define CLUSTER_MOD_CLUSTER_STATUS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "cluster-mod/cluster_fwd.h"
#include "cluster-mod/cluster_link.h"
#include "cluster-mod/cluster_members.h"
#include "cluster-mod/cluster_tls.h"
#include "router/router_module.h"

struct buf;

/* One request line's bytes, "\n" (or "\r\n") excluded. */
#define CLUSTER_CONTROL_MAX_REQUEST 256

enum cluster_control_request {
	CLUSTER_REQ_INVALID = 0,
	CLUSTER_REQ_STATUS,             /* "status": text */
	CLUSTER_REQ_JSON,               /* "status json" */
	CLUSTER_REQ_METRICS,            /* "metrics": Prometheus text format */
};

/* Parse one request line (without its newline; surrounding blanks are
 * ignored). Anything else is CLUSTER_REQ_INVALID. */
enum cluster_control_request cluster_control_parse(const char *line, size_t len);

struct cluster_status_peer {
	struct cluster_peer_status link;        /* cluster_links_peer_status() */
	int open;                               /* protocol opened (HELLO done) */
	unsigned version;                       /* when open */
	uint64_t incarnation;                   /* the peer's, when open */
	uint64_t rtt_us;                        /* last round trip, when open */
	/* i13-fwd: its entries in the session table, and our stanzas it
	 * has not acknowledged (count and route bytes). */
	uint64_t sessions, queue_frames, queue_bytes;
	/* i14: the queue's bounds, how long its oldest stanza has waited (0:
	 * none waits), and the stanzas handed back to the sm, by cause
	 * (cluster_fwd_reason_name()). */
	uint64_t queue_max_frames, queue_max_bytes, queue_oldest_ms;
	uint64_t undelivered[CLUSTER_FWD_REASONS];
	/* i14 rule 15: stanzas in doubt since a new incarnation ended their
	 * pair (waiting for the peer's TAKEN), and those the peer said it had
	 * taken (not handed back) since start. */
	uint64_t queue_in_doubt, queue_doubt_taken;
};

/* i13-fwd: the session table and the module's side of iface13.md. */
struct cluster_status_tables {
	uint64_t local_sessions;        /* this node's sm's sessions */
	uint64_t remote_sessions;       /* the peers' (per peer: `sessions`) */
	uint64_t stubs_pushed;          /* <s/> entries sent to the sm */
	uint64_t redirect_entries;      /* redirects the module installed */
	uint64_t handed;                /* routes for the domains handed to the sm */
	uint64_t forwarded_out, forwarded_in, undelivered;
	/* rule 10: for the sm while it is away */
	uint64_t sm_held_now, sm_held, sm_returned, sm_dropped;
	uint64_t direct_sessions, direct, direct_waited;       /* direct delivery */
	/* i13-fed: component names (cluster_names.h) */
	uint64_t names_announced;       /* this node's components' names */
	uint64_t names_held;            /* bound here for peers' components */
	uint64_t component_out, component_in, component_bounced;
	/* i14: undelivered by cause: node-dead, queue-full, no-such-node,
	 * too-big (cluster_fwd.h) */
	uint64_t undelivered_by[6];
	/* i14: reading the peers' links held because the local sm was
	 * congested: now (0 or 1), and times since start */
	uint64_t input_held, input_holds;
};

/* A member of the cluster as this node sees it (cluster_members.h). */
struct cluster_status_member {
	const char *name;
	const char *ip;                 /* "" when not known */
	int port;
	uint64_t incarnation;
	const char *state;              /* alive, suspect, dead, left */
	time_t since;                   /* in that state since (Unix time) */
	int self;
	/* i14: flap damping (cluster_members.h) */
	unsigned penalty;               /* decayed to now */
	int held;                       /* held down */
	time_t held_since;              /* when held (Unix time) */
	uint64_t returns;               /* back after being declared dead */
};

struct cluster_status {
	const char *node;
	const char *profile;
	uint64_t incarnation;
	unsigned version_min, version_max;
	time_t now;
	int npeers;
	const struct cluster_status_peer *peers;
	uint64_t refusals[CLUSTER_REFUSE_COUNT];
	struct router_mod_stats router;
	struct cluster_status_tables tables;
	int nmembers;                           /* i13-memb */
	const struct cluster_status_member *members;
	struct cluster_members_counters member_events;  /* i14 */
};

/* Append the report to `out`. */
void cluster_status_text(const struct cluster_status *st, struct buf *out);
void cluster_status_json(const struct cluster_status *st, struct buf *out);
void cluster_status_metrics(const struct cluster_status *st, struct buf *out);

/*
 * The router's metrics (router_mod_metrics): the "metrics" report `prom`
 * (cluster_status_metrics' text) appended to `out` less the router's own
 * families (jabberd_router_*), which the router renders itself and which
 * a text must not hold twice.
 */
void cluster_status_metrics_for_router(const char *prom, size_t len, struct buf *out);

#endif
