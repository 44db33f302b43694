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
 * Flap damping (docs/cluster-protocol.md "Flap damping"): each member
 * has a penalty that grows by CLUSTER_FLAP_PENALTY at each return (DEAD,
 * then ALIVE again at a newer incarnation) and halves every
 * flap_half_life_ms. A return that brings it to CLUSTER_FLAP_SUPPRESS or
 * more holds the member down (the held hook, held = 1) until the penalty
 * has decayed below CLUSTER_FLAP_REUSE (held = 0). Being held changes
 * nothing in membership, links or routing: the caller decides what it
 * means (cluster_local.c: its users' presence is not shown to the sm's
 * users meanwhile).
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
	unsigned flap_half_life_ms;     /* flap penalty half-life; 0: no damping */
};

/* Flap damping constants (penalty units). */
#define CLUSTER_FLAP_PENALTY  1000u     /* added at each return */
#define CLUSTER_FLAP_SUPPRESS 2000u     /* a return that reaches it: held down */
#define CLUSTER_FLAP_REUSE    750u      /* held until below it */
#define CLUSTER_FLAP_MAX      6000u     /* the penalty never exceeds it */

/* The profile's timing: lan (ping 1 s, heartbeat timeout 3 s, flap
 * half-life 15 s) or wan (5 s, 15 s, 75 s). */
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
	/* `name` is held down (held 1) or released (0) (may be NULL). */
	void (*held)(void *ctx, const char *name, int held);
};

struct cluster_membership *cluster_members_new(const char *self, const char *ip, int port,
					    uint64_t incarnation,
					    const struct cluster_members_timing *timing,
					    const struct cluster_members_hooks *hooks, void *ctx,
					    uint64_t now_ms);
void cluster_members_free(struct cluster_membership **mp);

/* Peer `peer` said BYE(new incarnation): its link closes to open again at
 * once under its next incarnation. For one suspect silence it is not
 * suspected for that (it is as long as its link stays down after). */
void cluster_members_relinking(struct cluster_membership *m, const char *peer,
			       uint64_t now_ms);

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
/* Call every ping_ms / 4 or so: silence, confirmations, periodic MEMBERS.
 * After a pause (below) it takes a new incarnation (rule 7). */
void cluster_members_tick(struct cluster_membership *m, uint64_t now_ms);
/* This node did not tick for longer than the suspect silence (it was
 * stopped or starved): the next tick takes a new incarnation. */
int cluster_members_paused(const struct cluster_membership *m, uint64_t now_ms);

/* ---- reading the table ---- */

struct cluster_member_info {
	const char *name;
	const char *ip;                 /* "" when not known */
	int port;
	uint64_t incarnation;
	enum cluster_member_state state;
	uint64_t since_ms;              /* in the caller's clock */
	int self;
	/* flap damping: the penalty now (decayed), held down and since when,
	 * and how often it came back after being declared dead */
	unsigned penalty;
	int held;
	uint64_t held_since_ms;
	uint64_t returns;
};

/* Events counted since the table was made (the status report). */
struct cluster_members_counters {
	uint64_t suspected;     /* a member became suspect */
	uint64_t declared_dead; /* a member was declared dead */
	uint64_t left;          /* a member left (BYE) */
	/* A partition seen: this node declared dead a member that another
	 * member still reported alive at the same incarnation, or this node
	 * learnt that it was itself declared dead. */
	uint64_t partitions;
	/* A merge done: a member this node had declared dead came back
	 * (alive at a newer incarnation), or this node rejoined after being
	 * declared dead (a new incarnation of its own). */
	uint64_t merges;
	uint64_t held_down;     /* a member was held down */
	/* This node did not run for longer than the suspect silence and took
	 * a new incarnation for it (rule 7). */
	uint64_t pauses;
};

void cluster_members_counters(const struct cluster_membership *m,
			      struct cluster_members_counters *c);

/* The flap penalty `p` set at `then_ms`, decayed to `now_ms` with half-life
 * `half_life_ms` (exposed for the unit test). */
unsigned cluster_flap_decay(unsigned p, uint64_t then_ms, uint64_t now_ms,
			    unsigned half_life_ms);

/* Members in the table (this node first). */
int cluster_members_count(const struct cluster_membership *m);
/* Member i; views valid until the next call that changes the table.
 * now_ms: for the decayed penalty. */
void cluster_members_get(const struct cluster_membership *m, int i, uint64_t now_ms,
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
unsigned long cluster_members_merges_announced(const struct cluster_membership *m);
const char *cluster_member_state_name(enum cluster_member_state s);

#endif
