/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cluster_members: the member table and the failure detector (DESIGN.md
 * section 3.1, docs/cluster-protocol.md "Membership and failure
 * detection"). Pure code: no I/O and no clock of its own; the caller
 * passes the time (milliseconds on a monotonic clock) to every call and
 * gives hooks to send frames, to ask how long a peer's link has been
 * silent, to dial a member learned from a peer, and to hear of a member
 * declared dead or gone.
 *
 * A member is (name, ip, port, incarnation, state, since). The table
 * holds this node and every node that was ever alive to it: a peer whose
 * link opened, or a node another member reported alive in a MEMBERS
 * frame (learned: the caller dials it; its certificate admits it, never
 * the frame).
 *
 *   ALIVE    this node has an open, talking link to it;
 *   SUSPECT  its link closed, has been silent for silent_ms, or (learned)
 *            has not opened within join_ms;
 *   DEAD     suspect for confirm_ms while no open peer reported it alive
 *            within fresh_ms (indirect evidence: a peer reports ALIVE only
 *            for nodes it has an open, talking link to);
 *   LEFT     it said BYE(shutting down), or a peer reported it LEFT.
 *
 * DEAD and LEFT call the dead hook once. A dead or left member becomes
 * ALIVE again only with a newer incarnation (a restart, or a node that
 * learned it was declared dead and took a new incarnation). A MEMBERS
 * frame that reports this node DEAD or LEFT at its current incarnation
 * makes it take a new incarnation (the reincarnated hook) and announce it.
 *
 * MEMBERS goes to a peer when its link opens, to every open peer when
 * this node's view changes, every ping_ms while a member is suspect (so
 * that peers keep answering), every periodic_ms otherwise; and to a peer
 * whose MEMBERS says not-alive about a node this node sees alive, at most
 * once per ping_ms / 2 per peer (that answer is the indirect evidence).
 */
#ifndef CLUSTER_MOD_CLUSTER_MEMBERS_H
#define CLUSTER_MOD_CLUSTER_MEMBERS_H

#include <stddef.h>
#include <stdint.h>

#include "cluster-mod/cluster_proto.h"

/* Members one table holds, this node included (the links' peer bound). */
#define CLUSTER_MEMBERS_TABLE_MAX 256

struct cluster_membership;

struct cluster_members_timing {
	unsigned ping_ms;       /* heartbeat interval */
	unsigned silent_ms;     /* an open link silent this long: suspect */
	unsigned confirm_ms;    /* suspect this long, nobody says alive: dead */
	unsigned fresh_ms;      /* an ALIVE report counts for this long */
	unsigned periodic_ms;   /* MEMBERS to every open peer at least this often */
	unsigned join_ms;       /* a learned member not linked by then: suspect */
};

/* The profile's timing: lan (ping 1 s, heartbeat timeout 3 s) or wan
 * (5 s, 15 s). */
void cluster_members_timing_profile(int wan, struct cluster_members_timing *t);

struct cluster_members_hooks {
	/* Send a MEMBERS frame to `peer` (NULL: every open peer). */
	int (*send)(void *ctx, const char *peer, const struct cluster_frame *frame);
	/* Milliseconds since `peer`'s open link last received anything, or
	 * -1 when it has no open link. */
	int64_t (*link_idle)(void *ctx, const char *peer);
	/* A member's address is known: dial it if it is not already a peer
	 * (may be NULL). */
	void (*dial)(void *ctx, const char *name, const char *ip, int port);
	/* `name` was declared DEAD or LEFT (state says which). */
	void (*dead)(void *ctx, const char *name, enum cluster_member_state state);
	/* This node took a new incarnation (may be NULL). */
	void (*reincarnated)(void *ctx, uint64_t incarnation);
	/* i14-part: linked member `name` announced, over its link, a newer
	 * incarnation of its own (rule 6; may be NULL). */
	void (*peer_incarnation)(void *ctx, const char *name, uint64_t incarnation);
};

struct cluster_membership *cluster_members_new(const char *self, const char *ip, int port,
					    uint64_t incarnation,
					    const struct cluster_members_timing *timing,
					    const struct cluster_members_hooks *hooks, void *ctx,
					    uint64_t now_ms);
void cluster_members_free(struct cluster_membership **mp);

/* A peer's link opened (HELLO/HELLO_ACK done) with its incarnation and,
 * if known, the address it accepts links on (ip NULL: not known). */
void cluster_members_link_open(struct cluster_membership *m, const char *peer, const char *ip,
			       int port, uint64_t incarnation, uint64_t now_ms);
/* A peer's link closed. */
void cluster_members_link_closed(struct cluster_membership *m, const char *peer,
				 uint64_t now_ms);
/* A peer said BYE(shutting down): it is LEFT at once. */
void cluster_members_left(struct cluster_membership *m, const char *peer, uint64_t now_ms);
/* A MEMBERS frame from open peer `peer`. Returns 0, or -1 with *error_r
 * (the frame was not acceptable; nothing of it was applied). */
int cluster_members_frame(struct cluster_membership *m, const char *peer,
			  const struct cluster_members *frame_members, uint64_t now_ms,
			  const char **error_r);
/* Call every ping_ms / 4 or so: silence, confirmations, periodic MEMBERS. */
void cluster_members_tick(struct cluster_membership *m, uint64_t now_ms);

/* ---- reading the table ---- */

struct cluster_member_info {
	const char *name;
	const char *ip;                 /* "" when not known */
	int port;
	uint64_t incarnation;
	enum cluster_member_state state;
	uint64_t since_ms;              /* in the caller's clock */
	int self;
};

/* Members in the table (this node first). */
int cluster_members_count(const struct cluster_membership *m);
/* Member i; views valid until the next call that changes the table. */
void cluster_members_get(const struct cluster_membership *m, int i,
			 struct cluster_member_info *info);
/* The state of `name`, or 0 when it is not in the table. */
enum cluster_member_state cluster_members_state(const struct cluster_membership *m,
						const char *name);
uint64_t cluster_members_incarnation(const struct cluster_membership *m);

/* ---- merges (issue 14; docs/cluster-protocol.md "Partitions and merges") ---- */

/* A member back with an incarnation at most this far above the one we
 * declared dead kept running (rule 6 adds 1 per time it is told it is
 * dead); further is a restart (an incarnation is a start time in ms). */
#define CLUSTER_MEMBERS_REVIVE_MAX 1000

/* Members whose merge with this node is due: we declared each DEAD (our
 * sm told our users its users went away) and it is alive, linked, and
 * back by rule 6 with the sessions it had. At most `max` names into
 * names[] (valid until the table changes); the count. A member back by
 * a restart is dropped from the due ones here. Each stays due until
 * cluster_members_merge_done(). */
int cluster_members_merge_ready(struct cluster_membership *m, const char **names, int max);
/* The merge with `name` was announced (to the sm). */
void cluster_members_merge_done(struct cluster_membership *m, const char *name);
/* 1 when this node took a new incarnation (rule 6: others had dropped
 * it) and every member not dead or left is linked, alive, and reports it
 * ALIVE at it, until cluster_members_revived_done(). */
int cluster_members_revived_ready(const struct cluster_membership *m);
void cluster_members_revived_done(struct cluster_membership *m);
unsigned long cluster_members_merges(const struct cluster_membership *m);
const char *cluster_member_state_name(enum cluster_member_state s);

#endif
