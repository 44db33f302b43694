/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cluster_members.c: the member table and failure detector (see
 * cluster_members.h). Members live in an array, this node at index 0.
 * Each member keeps, per other member (the reporter, by index), the time
 * that reporter last said it was ALIVE at its current incarnation, 0 when
 * the reporter's latest word was something else: that is the indirect
 * evidence a suspect is judged on. 256 members cost 256 x 256 x 8 bytes
 * of evidence at most; a three-node cluster, 72 bytes.
 */
#include "config.h"
#include "cluster-mod/cluster_members.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster-mod/cluster_config.h"
#include "util/buf.h"
#include "util/log.h"

/* An ip that fits inet_pton's longest textual IPv6 address. */
#define MEMBER_IP_MAX 45

static_assert(CLUSTER_MEMBERS_TABLE_MAX <= CLUSTER_MEMBERS_MAX,
	      "our whole table fits one MEMBERS frame");
static_assert(CLUSTER_MEMBER_STATE_LAST == 4, "states 1..4 as on the wire");

struct member {
	char name[CLUSTER_NODE_NAME_MAX + 1];
	char ip[MEMBER_IP_MAX + 1];
	int port;
	uint64_t incarnation;
	enum cluster_member_state state;
	uint64_t since_ms;              /* in this state since */
	uint64_t suspect_deadline_ms;   /* SUSPECT: judged from then on */
	int linked;                     /* an open link, by our events */
	uint64_t *alive_at;             /* [reporter index]: see above */
	/* i14-part: merges. The incarnation we declared it DEAD at, and
	 * whether its coming back is still to be announced; the incarnation
	 * of ours it last reported ALIVE (0: its latest word was another). */
	uint64_t dropped_inc, sees_us_inc;
	int merge_pending;
	/* flap damping */
	unsigned penalty;               /* as of penalty_ms */
	uint64_t penalty_ms;
	int held;
	uint64_t held_since_ms;
	uint64_t returns;
	int died;                       /* declared dead, not alive since */
	int returned;                   /* ... but back (counted) since */
	int partition_seen;             /* counted for this death already */
	/* Its link closes only to open again at once (this node, or the
	 * member, took a new incarnation: rule 6): until then a closed or
	 * quiet link is not a reason to suspect it. */
	uint64_t relink_until_ms;
};

struct cluster_membership {
	struct cluster_members_timing t;
	struct cluster_members_hooks hooks;
	void *ctx;
	struct member *members[CLUSTER_MEMBERS_TABLE_MAX];
	int n;
	uint64_t last_tick_ms, last_broadcast_ms;
	uint64_t answered_ms[CLUSTER_MEMBERS_TABLE_MAX];  /* per peer: last answer */
	int full_logged;
	int revive_pending;             /* i14-part: we took a new incarnation */
	unsigned long merges_announced;  /* i14-part: <merged/> announced */
	struct cluster_members_counters c;
};

const char *cluster_member_state_name(enum cluster_member_state s)
{
	switch (s) {
	case CLUSTER_MEMBER_ALIVE:
		return "alive";
	case CLUSTER_MEMBER_SUSPECT:
		return "suspect";
	case CLUSTER_MEMBER_DEAD:
		return "dead";
	case CLUSTER_MEMBER_LEFT:
		return "left";
	default:
		return "unknown";
	}
}

void cluster_members_timing_profile(int wan, struct cluster_members_timing *t)
{
	/* Timeouts as multiples of the heartbeat: suspect after 2 missed
	 * PINGs, dead 1 PING later unless a peer still sees the node (so a
	 * silent node is dead at the link's heartbeat timeout, a closed link
	 * 1 PING after it closed). */
	unsigned ping = wan ? 5000 : 1000;

	t->ping_ms = ping;
	t->silent_ms = 2 * ping;
	t->confirm_ms = ping;
	t->fresh_ms = 2 * ping;
	t->periodic_ms = 10 * ping;
	t->join_ms = 3 * ping;
	/* A node that comes back 3 times with less than half a half-life
	 * between returns is held down (docs: "Flap damping"). */
	t->flap_half_life_ms = 15 * ping;
}

/* 65536 x 2^(-k/16), k = 0..16: the fraction of a half-life, in 16ths,
 * interpolated linearly between them (off by less than 0.1%). */
static const uint32_t decay_tab[17] = {
	65536, 62757, 60097, 57549, 55109, 52773, 50535, 48393, 46341,
	44376, 42495, 40693, 38968, 37316, 35734, 34219, 32768,
};

unsigned cluster_flap_decay(unsigned p, uint64_t then_ms, uint64_t now_ms,
			    unsigned half_life_ms)
{
	uint64_t dt, halvings, pos;
	uint32_t k, r, f;

	if (half_life_ms == 0 || now_ms <= then_ms || p == 0)
		return p;
	dt = now_ms - then_ms;
	halvings = dt / half_life_ms;
	if (halvings >= 32)
		return 0;
	p >>= halvings;
	/* the rest of a half-life, in 1024ths of a 16th */
	pos = (dt % half_life_ms) * 16u * 1024u / half_life_ms;
	k = (uint32_t)(pos / 1024u);
	r = (uint32_t)(pos % 1024u);
	f = decay_tab[k] - (decay_tab[k] - decay_tab[k + 1]) * r / 1024u;
	return (unsigned)(((uint64_t)p * f) >> 16);
}

static unsigned penalty_now(const struct cluster_membership *m, const struct member *e,
			    uint64_t now)
{
	return cluster_flap_decay(e->penalty, e->penalty_ms, now, m->t.flap_half_life_ms);
}

/* Milliseconds until penalty p decays below CLUSTER_FLAP_REUSE (a whole
 * number of 16ths of a half-life, for the log). */
static uint64_t reuse_in_ms(const struct cluster_membership *m, unsigned p)
{
	uint64_t step = m->t.flap_half_life_ms / 16u, t = 0;

	while (step > 0 && t < 64u * m->t.flap_half_life_ms &&
	       cluster_flap_decay(p, 0, t, m->t.flap_half_life_ms) >= CLUSTER_FLAP_REUSE)
		t += step;
	return t;
}

/* Member e came back after being declared dead. */
static void flap(struct cluster_membership *m, struct member *e, uint64_t now)
{
	unsigned p = penalty_now(m, e, now) + CLUSTER_FLAP_PENALTY;

	e->returns++;
	m->c.merges++;
	if (m->t.flap_half_life_ms == 0)
		return;
	e->penalty = p > CLUSTER_FLAP_MAX ? CLUSTER_FLAP_MAX : p;
	e->penalty_ms = now;
	if (e->held || e->penalty < CLUSTER_FLAP_SUPPRESS)
		return;
	e->held = 1;
	e->held_since_ms = now;
	m->c.held_down++;
	log_notice("cluster: member %s held down: back %llu times, flap penalty %u >= %u; its "
		   "users' presence is not shown here until the penalty is below %u (about "
		   "%llu s)", e->name, (unsigned long long)e->returns, e->penalty,
		   CLUSTER_FLAP_SUPPRESS, CLUSTER_FLAP_REUSE,
		   (unsigned long long)((reuse_in_ms(m, e->penalty) + 999) / 1000));
	if (m->hooks.held != NULL)
		m->hooks.held(m->ctx, e->name, 1);
}

/* A held member whose penalty decayed below the reuse level. */
static void release(struct cluster_membership *m, struct member *e, uint64_t now)
{
	unsigned p = penalty_now(m, e, now);

	if (!e->held || p >= CLUSTER_FLAP_REUSE)
		return;
	e->held = 0;
	log_notice("cluster: member %s no longer held down: flap penalty %u < %u after %llu s",
		   e->name, p, CLUSTER_FLAP_REUSE,
		   (unsigned long long)((now - e->held_since_ms) / 1000));
	if (m->hooks.held != NULL)
		m->hooks.held(m->ctx, e->name, 0);
}

static int find(const struct cluster_membership *m, const char *name, size_t len)
{
	for (int i = 0; i < m->n; i++)
		if (strlen(m->members[i]->name) == len && memcmp(m->members[i]->name, name, len) == 0)
			return i;
	return -1;
}

static int find_str(const struct cluster_membership *m, const char *name)
{
	return find(m, name, strlen(name));
}

static struct member *add(struct cluster_membership *m, const char *name, size_t namelen,
			  const char *ip, size_t iplen, int port)
{
	struct member *e;

	if (m->n >= CLUSTER_MEMBERS_TABLE_MAX) {
		if (!m->full_logged)
			log_warnx("cluster: members: table full (%d members); %.*s not added",
				  CLUSTER_MEMBERS_TABLE_MAX, (int)namelen, name);
		m->full_logged = 1;
		return NULL;
	}
	e = xcalloc(1, sizeof(*e));
	e->alive_at = xcalloc(CLUSTER_MEMBERS_TABLE_MAX, sizeof(*e->alive_at));
	snprintf(e->name, sizeof(e->name), "%.*s", (int)namelen, name);
	if (ip != NULL)
		snprintf(e->ip, sizeof(e->ip), "%.*s", (int)iplen, ip);
	e->port = port;
	m->members[m->n] = e;
	m->answered_ms[m->n] = 0;
	m->n++;
	return e;
}

/* The MEMBERS frame of this node's view. A member is reported ALIVE only
 * when this node has an open, talking link to it (or it is this node). */
static void view_frame(const struct cluster_membership *m, struct cluster_frame *f,
		       struct cluster_member *out)
{
	memset(f, 0, sizeof(*f));
	f->version = CLUSTER_PROTO_VERSION_MAX;
	f->type = CLUSTER_FRAME_MEMBERS;
	f->u.members.members = out;
	for (int i = 0; i < m->n; i++) {
		const struct member *e = m->members[i];
		struct cluster_member *o = &out[f->u.members.nmembers];

		if (e->ip[0] == '\0' || e->port <= 0)
			continue;       /* no address to give (yet) */
		o->name = cluster_bytes_str(e->name);
		o->ip = cluster_bytes_str(e->ip);
		o->port = (uint16_t)e->port;
		o->incarnation = e->incarnation;
		o->state = (uint8_t)e->state;
		f->u.members.nmembers++;
	}
}

static void send_view(struct cluster_membership *m, const char *peer, uint64_t now)
{
	struct cluster_member out[CLUSTER_MEMBERS_TABLE_MAX];
	struct cluster_frame f;

	view_frame(m, &f, out);
	if (peer == NULL)
		m->last_broadcast_ms = now;
	if (m->hooks.send != NULL)
		m->hooks.send(m->ctx, peer, &f);
}

static void set_state(struct cluster_membership *m, struct member *e,
		      enum cluster_member_state state, uint64_t now)
{
	enum cluster_member_state old = e->state;

	if (old == state)
		return;
	e->state = state;
	e->since_ms = now;
	if (state == CLUSTER_MEMBER_SUSPECT)
		e->suspect_deadline_ms = now + m->t.confirm_ms;
	if (state == CLUSTER_MEMBER_DEAD || state == CLUSTER_MEMBER_LEFT)
		memset(e->alive_at, 0, CLUSTER_MEMBERS_TABLE_MAX * sizeof(*e->alive_at));
	if (state == CLUSTER_MEMBER_DEAD) {      /* i14-part: our sm drops its users */
		e->dropped_inc = e->incarnation;
		e->merge_pending = 1;
	}
	if (state == CLUSTER_MEMBER_SUSPECT && old == CLUSTER_MEMBER_ALIVE)
		m->c.suspected++;
	if (state == CLUSTER_MEMBER_LEFT)
		m->c.left++;
	if (state == CLUSTER_MEMBER_DEAD) {
		m->c.declared_dead++;
		e->died = 1;
		e->returned = 0;
		e->partition_seen = 0;
	}
	/* One line per transition: suspected, declared dead (the dead hook
	 * says what it drops, not again that it died), left, rejoined. */
	log_notice("cluster: member %s (incarnation %llu) %s%s%s%s", e->name,
		   (unsigned long long)e->incarnation, cluster_member_state_name(state),
		   old != 0 ? ", was " : "", old != 0 ? cluster_member_state_name(old) : "",
		   state == CLUSTER_MEMBER_ALIVE && e->died ?
		   (e->partition_seen ? ": rejoined, a partition healed" : ": rejoined") : "");
	/* A return counts at its first sign (a newer incarnation: suspect
	 * until linked, or alive), so that a hold reaches the sm before any
	 * of the new incarnation's sessions. */
	if (e->died && !e->returned && state != CLUSTER_MEMBER_DEAD &&
	    state != CLUSTER_MEMBER_LEFT) {
		e->returned = 1;
		flap(m, e, now);
	}
	if (state == CLUSTER_MEMBER_ALIVE)
		e->died = 0;
	if ((state == CLUSTER_MEMBER_DEAD || state == CLUSTER_MEMBER_LEFT) &&
	    old != CLUSTER_MEMBER_DEAD && old != CLUSTER_MEMBER_LEFT && m->hooks.dead != NULL)
		m->hooks.dead(m->ctx, e->name, state);
}

struct cluster_membership *cluster_members_new(const char *self, const char *ip, int port,
					       uint64_t incarnation,
					       const struct cluster_members_timing *timing,
					       const struct cluster_members_hooks *hooks,
					       void *ctx, uint64_t now_ms)
{
	struct cluster_membership *m = xcalloc(1, sizeof(*m));
	struct member *e;

	m->t = *timing;
	if (hooks != NULL)
		m->hooks = *hooks;
	m->ctx = ctx;
	m->last_tick_ms = m->last_broadcast_ms = now_ms;
	e = add(m, self, strlen(self), ip, strlen(ip), port);
	e->incarnation = incarnation;
	e->state = CLUSTER_MEMBER_ALIVE;
	e->since_ms = now_ms;
	return m;
}

void cluster_members_free(struct cluster_membership **mp)
{
	struct cluster_membership *m = *mp;

	if (m == NULL)
		return;
	for (int i = 0; i < m->n; i++) {
		free(m->members[i]->alive_at);
		free(m->members[i]);
	}
	free(m);
	*mp = NULL;
}

static int gone(const struct member *e)
{
	return e->state == CLUSTER_MEMBER_DEAD || e->state == CLUSTER_MEMBER_LEFT;
}

void cluster_members_link_open(struct cluster_membership *m, const char *peer, const char *ip,
			       int port, uint64_t incarnation, uint64_t now_ms)
{
	int i = find_str(m, peer);
	struct member *e;
	enum cluster_member_state before = 0;

	if (i == 0)
		return;
	if (i < 0) {
		e = add(m, peer, strlen(peer), ip, ip != NULL ? strlen(ip) : 0, port);
		if (e == NULL)
			return;
		e->incarnation = incarnation;
	} else {
		before = m->members[i]->state;
		e = m->members[i];
		if (ip != NULL && ip[0] != '\0') {
			snprintf(e->ip, sizeof(e->ip), "%s", ip);
			e->port = port;
		}
	}
	e->linked = 1;
	e->relink_until_ms = 0;
	if (gone(e) && incarnation <= e->incarnation) {
		/* The same incarnation we declared dead: it stays dead until
		 * it takes a new one (our MEMBERS tells it). */
		log_info("cluster: member %s linked again with incarnation %llu, which is %s "
			 "here; waiting for a new incarnation", e->name,
			 (unsigned long long)incarnation, cluster_member_state_name(e->state));
	} else {
		if (incarnation > e->incarnation)
			e->incarnation = incarnation;
		set_state(m, e, CLUSTER_MEMBER_ALIVE, now_ms);
	}
	if (e->ip[0] != '\0' && m->hooks.dial != NULL)
		m->hooks.dial(m->ctx, e->name, e->ip, e->port);
	/* A new or changed member is news for every peer; otherwise the
	 * new link's peer is the only one that needs our view. */
	send_view(m, e->state != before ? NULL : peer, now_ms);
}

/* What a reporter has said about others no longer counts once its link
 * is gone. */
static void forget_reporter(struct cluster_membership *m, int r)
{
	for (int i = 0; i < m->n; i++)
		m->members[i]->alive_at[r] = 0;
}

void cluster_members_link_closed(struct cluster_membership *m, const char *peer,
				 uint64_t now_ms)
{
	int i = find_str(m, peer);
	struct member *e;

	if (i <= 0)
		return;
	e = m->members[i];
	e->linked = 0;
	forget_reporter(m, i);
	if (e->state == CLUSTER_MEMBER_ALIVE && now_ms >= e->relink_until_ms) {
		set_state(m, e, CLUSTER_MEMBER_SUSPECT, now_ms);
		send_view(m, NULL, now_ms);
	}
}

void cluster_members_relinking(struct cluster_membership *m, const char *peer,
				uint64_t now_ms)
{
	int i = find_str(m, peer);

	if (i > 0 && m->members[i]->state == CLUSTER_MEMBER_ALIVE)
		m->members[i]->relink_until_ms = now_ms + m->t.silent_ms;
}

void cluster_members_left(struct cluster_membership *m, const char *peer, uint64_t now_ms)
{
	int i = find_str(m, peer);

	if (i <= 0)
		return;
	forget_reporter(m, i);
	if (!gone(m->members[i])) {
		set_state(m, m->members[i], CLUSTER_MEMBER_LEFT, now_ms);
		send_view(m, NULL, now_ms);
	}
}

/* Take the next incarnation (rule 6; rule 7 after a pause). `reporter`
 * is the member that listed us dead, or NULL when this node did not run
 * for `paused_ms`. */
static void reincarnate(struct cluster_membership *m, uint64_t now_ms, const char *reporter,
			uint64_t paused_ms)
{
	struct member *self = m->members[0];
	/* Incarnations are start times in ms: the next one is still below
	 * any later restart's. */
	uint64_t inc = self->incarnation + 1;

	if (reporter != NULL)
		log_warnx("cluster: member %s says this node is dead (incarnation %llu); taking "
			  "incarnation %llu and announcing it", reporter,
			  (unsigned long long)self->incarnation, (unsigned long long)inc);
	else
		log_warnx("cluster: this node did not run for %llu ms: its peers may have "
			  "declared it dead and given up on what they sent it; taking "
			  "incarnation %llu and announcing it (was %llu)",
			  (unsigned long long)paused_ms, (unsigned long long)inc,
			  (unsigned long long)self->incarnation);
	self->incarnation = inc;
	self->since_ms = now_ms;
	/* The links close to open again under the new incarnation: the
	 * members we reach are not suspects for that. */
	for (int i = 1; i < m->n; i++)
		if (m->members[i]->state == CLUSTER_MEMBER_ALIVE)
			m->members[i]->relink_until_ms = now_ms + m->t.silent_ms;
	m->revive_pending = 1;          /* i14-part */
	if (reporter != NULL) {
		m->c.partitions++;
		m->c.merges++;
	}
	if (m->hooks.reincarnated != NULL)
		m->hooks.reincarnated(m->ctx, inc);
}

/* i14-part: what reporter e last said about this node. */
static void note_about_us(struct member *e, const struct cluster_member *x)
{
	e->sees_us_inc = x->state == CLUSTER_MEMBER_ALIVE ? x->incarnation : 0;
}

int cluster_members_frame(struct cluster_membership *m, const char *peer,
			  const struct cluster_members *fm, uint64_t now_ms,
			  const char **error_r)
{
	int r = find_str(m, peer), changed = 0, answer = 0, reincarnated = 0;

	if (r <= 0) {
		*error_r = "MEMBERS from a node that is not an open peer";
		return -1;
	}
	/* Check it all first: a frame is applied whole or not at all. */
	for (size_t k = 0; k < fm->nmembers; k++) {
		const struct cluster_member *x = &fm->members[k];
		char name[CLUSTER_NODE_NAME_MAX + 1];

		if (x->name.len > CLUSTER_NODE_NAME_MAX || x->ip.len > MEMBER_IP_MAX) {
			*error_r = "member name or address too long";
			return -1;
		}
		memcpy(name, x->name.ptr, x->name.len);
		name[x->name.len] = '\0';
		if (!cluster_node_name_valid(name)) {
			*error_r = "member name not a valid node name";
			return -1;
		}
		for (size_t j = 0; j < k; j++)
			if (fm->members[j].name.len == x->name.len &&
			    memcmp(fm->members[j].name.ptr, x->name.ptr, x->name.len) == 0) {
				*error_r = "a member listed twice";
				return -1;
			}
	}
	for (size_t k = 0; k < fm->nmembers; k++) {
		const struct cluster_member *x = &fm->members[k];
		int i = find(m, (const char *)x->name.ptr, x->name.len);
		struct member *e;

		if (i == 0) {
			note_about_us(m->members[r], x);
			/* About us: dead at our current incarnation means the
			 * others dropped us; come back as a new incarnation. */
			if ((x->state == CLUSTER_MEMBER_DEAD || x->state == CLUSTER_MEMBER_LEFT) &&
			    x->incarnation >= m->members[0]->incarnation && !reincarnated) {
				reincarnate(m, now_ms, peer, 0);
				reincarnated = changed = 1;
			}
			continue;
		}
		if (i == r) {
			/* The reporter about itself: its current incarnation. */
			e = m->members[i];
			if (x->incarnation > e->incarnation) {
				e->incarnation = x->incarnation;
				changed = 1;
				if (gone(e) && e->linked)
					set_state(m, e, CLUSTER_MEMBER_ALIVE, now_ms);
			}
			continue;
		}
		if (i < 0) {
			/* Learned: only a node someone sees, never a dead one. */
			if (x->state != CLUSTER_MEMBER_ALIVE && x->state != CLUSTER_MEMBER_SUSPECT)
				continue;
			e = add(m, (const char *)x->name.ptr, x->name.len, (const char *)x->ip.ptr,
				x->ip.len, x->port);
			if (e == NULL)
				continue;
			e->incarnation = x->incarnation;
			e->state = CLUSTER_MEMBER_SUSPECT;      /* until its link opens */
			e->since_ms = now_ms;
			e->suspect_deadline_ms = now_ms + m->t.join_ms;
			log_notice("cluster: member %s learned from %s (%.*s port %u), dialling",
				   e->name, peer, (int)x->ip.len, (const char *)x->ip.ptr,
				   x->port);
			if (m->hooks.dial != NULL)
				m->hooks.dial(m->ctx, e->name, e->ip, e->port);
			changed = 1;
			i = find_str(m, e->name);
		}
		e = m->members[i];
		if (x->incarnation > e->incarnation) {
			/* A newer incarnation: whatever we concluded is about an
			 * older life. */
			e->incarnation = x->incarnation;
			memset(e->alive_at, 0, CLUSTER_MEMBERS_TABLE_MAX * sizeof(*e->alive_at));
			if (gone(e) && (x->state == CLUSTER_MEMBER_ALIVE ||
					x->state == CLUSTER_MEMBER_SUSPECT)) {
				set_state(m, e, CLUSTER_MEMBER_SUSPECT, now_ms);
				e->suspect_deadline_ms = now_ms + m->t.join_ms;
				if (e->ip[0] == '\0' || e->port <= 0)
					snprintf(e->ip, sizeof(e->ip), "%.*s", (int)x->ip.len,
						 (const char *)x->ip.ptr);
				if (m->hooks.dial != NULL)
					m->hooks.dial(m->ctx, e->name, e->ip, e->port);
			}
			changed = 1;
		} else if (x->incarnation < e->incarnation) {
			continue;       /* about an older life: stale */
		}
		if (x->state == CLUSTER_MEMBER_ALIVE && e->state == CLUSTER_MEMBER_DEAD &&
		    x->incarnation == e->incarnation && !e->partition_seen) {
			/* We declared it dead; a member still sees it alive. */
			e->partition_seen = 1;
			m->c.partitions++;
			log_notice("cluster: partition: %s still sees member %s (incarnation "
				   "%llu), which this node declared dead", peer, e->name,
				   (unsigned long long)e->incarnation);
		}
		if (x->state == CLUSTER_MEMBER_ALIVE) {
			e->alive_at[r] = now_ms;
		} else {
			e->alive_at[r] = 0;
			/* They doubt a node we see: our view is their evidence. */
			if (e->state == CLUSTER_MEMBER_ALIVE)
				answer = 1;
			if (x->state == CLUSTER_MEMBER_LEFT && !e->linked && !gone(e)) {
				set_state(m, e, CLUSTER_MEMBER_LEFT, now_ms);
				changed = 1;
			}
		}
	}
	if (changed) {
		send_view(m, NULL, now_ms);
	} else if (answer && (m->answered_ms[r] == 0 ||
			      now_ms - m->answered_ms[r] >= m->t.ping_ms / 2)) {
		m->answered_ms[r] = now_ms;
		send_view(m, peer, now_ms);
	}
	return 0;
}

/* Some open peer other than the member itself said it was alive within
 * fresh_ms. */
static int seen_by_others(const struct cluster_membership *m, int i, uint64_t now)
{
	const struct member *e = m->members[i];

	for (int r = 1; r < m->n; r++) {
		if (r == i || !m->members[r]->linked || e->alive_at[r] == 0)
			continue;
		if (now - e->alive_at[r] < m->t.fresh_ms)
			return 1;
	}
	return 0;
}

int cluster_members_paused(const struct cluster_membership *m, uint64_t now_ms)
{
	return now_ms - m->last_tick_ms > m->t.silent_ms;
}

void cluster_members_tick(struct cluster_membership *m, uint64_t now_ms)
{
	int changed = 0, suspects = 0;

	if (cluster_members_paused(m, now_ms)) {
		/* This node itself did not run for a while (stopped, swapped):
		 * silence and missing answers are ours, not the peers'. Judge
		 * again from now. And the peers may have declared this node
		 * dead meanwhile and handed back what they had sent it, which
		 * may still wait, unread, on the links: a new incarnation closes
		 * them unread, and what a peer had not given up on it sends
		 * again to the new incarnation (docs/cluster-protocol.md,
		 * membership rule 7). */
		uint64_t paused = now_ms - m->last_tick_ms;

		log_warnx("cluster: members: this node did not run for %llu ms; giving "
			  "suspects a new %u ms", (unsigned long long)paused, m->t.confirm_ms);
		for (int i = 1; i < m->n; i++)
			if (m->members[i]->state == CLUSTER_MEMBER_SUSPECT)
				m->members[i]->suspect_deadline_ms = now_ms + m->t.confirm_ms;
		m->last_tick_ms = now_ms;
		m->c.pauses++;
		reincarnate(m, now_ms, NULL, paused);
		send_view(m, NULL, now_ms);
		return;
	}
	m->last_tick_ms = now_ms;
	for (int i = 1; i < m->n; i++) {
		struct member *e = m->members[i];
		int64_t idle = m->hooks.link_idle != NULL ? m->hooks.link_idle(m->ctx, e->name) : -1;
		int talking = (idle >= 0 && (uint64_t)idle < m->t.silent_ms) ||
			      (e->state == CLUSTER_MEMBER_ALIVE && now_ms < e->relink_until_ms);

		if (e->held)
			release(m, e, now_ms);
		if (gone(e))
			continue;
		if (e->state == CLUSTER_MEMBER_ALIVE && !talking) {
			set_state(m, e, CLUSTER_MEMBER_SUSPECT, now_ms);
			changed = 1;
		} else if (e->state == CLUSTER_MEMBER_SUSPECT && talking && e->linked) {
			set_state(m, e, CLUSTER_MEMBER_ALIVE, now_ms);
			changed = 1;
		}
		if (e->state != CLUSTER_MEMBER_SUSPECT)
			continue;
		if (now_ms >= e->suspect_deadline_ms && !seen_by_others(m, i, now_ms)) {
			set_state(m, e, CLUSTER_MEMBER_DEAD, now_ms);
			changed = 1;
		} else {
			suspects++;
		}
	}
	if (changed ||
	    (suspects > 0 && now_ms - m->last_broadcast_ms >= m->t.ping_ms) ||
	    now_ms - m->last_broadcast_ms >= m->t.periodic_ms)
		send_view(m, NULL, now_ms);
}

int cluster_members_count(const struct cluster_membership *m)
{
	return m->n;
}

void cluster_members_get(const struct cluster_membership *m, int i, uint64_t now_ms,
			 struct cluster_member_info *info)
{
	const struct member *e = m->members[i];

	info->penalty = penalty_now(m, e, now_ms);
	info->held = e->held;
	info->held_since_ms = e->held_since_ms;
	info->returns = e->returns;
	info->name = e->name;
	info->ip = e->ip;
	info->port = e->port;
	info->incarnation = e->incarnation;
	info->state = e->state;
	info->since_ms = e->since_ms;
	info->self = i == 0;
}

enum cluster_member_state cluster_members_state(const struct cluster_membership *m,
						const char *name)
{
	int i = find_str(m, name);

	return i >= 0 ? m->members[i]->state : 0;
}

uint64_t cluster_members_incarnation(const struct cluster_membership *m)
{
	return m->members[0]->incarnation;
}

/* ---- i14-part: merges ---- */

int cluster_members_merge_ready(struct cluster_membership *m, const char **names, int max)
{
	int n = 0;

	for (int i = 1; i < m->n && n < max; i++) {
		struct member *e = m->members[i];

		if (!e->merge_pending || e->state != CLUSTER_MEMBER_ALIVE || !e->linked ||
		    e->incarnation <= e->dropped_inc)
			continue;
		if (e->incarnation - e->dropped_inc > CLUSTER_MEMBERS_REVIVE_MAX) {
			/* A restart (its incarnation is its start time): its
			 * users log in again and say so themselves. */
			e->merge_pending = 0;
			continue;
		}
		names[n++] = e->name;
	}
	return n;
}

void cluster_members_merge_done(struct cluster_membership *m, const char *name)
{
	int i = find_str(m, name);

	if (i > 0 && m->members[i]->merge_pending) {
		m->members[i]->merge_pending = 0;
		m->merges_announced++;
	}
}

int cluster_members_revived_ready(const struct cluster_membership *m)
{
	if (!m->revive_pending)
		return 0;
	/* Every member not gone: a node still cut off may have stored
	 * messages for our users too (one that stays unreachable is dead
	 * within the confirm time and no longer waited for). */
	for (int i = 1; i < m->n; i++) {
		const struct member *e = m->members[i];

		if (gone(e))
			continue;
		if (!e->linked || e->state != CLUSTER_MEMBER_ALIVE ||
		    e->sees_us_inc != m->members[0]->incarnation)
			return 0;
	}
	return 1;
}

void cluster_members_revived_done(struct cluster_membership *m)
{
	m->revive_pending = 0;
}

unsigned long cluster_members_merges_announced(const struct cluster_membership *m)
{
	return m->merges_announced;
}

void cluster_members_counters(const struct cluster_membership *m,
			      struct cluster_members_counters *c)
{
	*c = m->c;
}
