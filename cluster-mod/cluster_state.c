/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cluster_state.c: the replicated session table (see cluster_state.h).
 *
 * Memory per remote session is what issue 13 measures (target <= 200
 * bytes): one allocation per entry, the JID and session id stored inline
 * after a 32-byte header, the node as a 16-bit index into the interned
 * origins, chained in a power-of-two bucket array keyed by SipHash of the
 * JID (random key: peers choose the JIDs).
 */
#include "config.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "cluster-mod/cluster_proto.h"
#include "cluster-mod/cluster_state.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/xhash.h"

struct st_entry {
	struct st_entry *next;
	uint64_t started_ms;
	uint32_t hash;
	uint16_t origin;        /* index into st->origins */
	uint16_t jidlen;        /* <= CLUSTER_JID_MAX */
	int8_t priority;
	uint8_t flags;          /* CLUSTER_SESSION_AVAILABLE */
	uint8_t sidlen;         /* <= CLUSTER_SID_MAX */
	char data[];            /* jid NUL sid NUL */
};
static_assert(CLUSTER_JID_MAX <= UINT16_MAX, "jidlen fits 16 bits");
static_assert(CLUSTER_SID_MAX <= UINT8_MAX, "sidlen fits 8 bits");
static_assert(CLUSTER_STATE_ORIGINS_MAX <= UINT16_MAX, "origin fits 16 bits");
static_assert(sizeof(struct st_entry) <= 32, "entry header stays compact");

/* One local change, as sent in a STATE_DELTA. */
struct st_delta {
	uint64_t started_ms;
	uint8_t op;
	int8_t priority;
	uint8_t flags;
	uint8_t sidlen;
	uint16_t jidlen;
	char data[];            /* jid NUL sid NUL */
};

/* A snapshot being sent to one peer (copies of our entries at the
 * request), as far as its link takes it. */
struct st_outsnap {
	struct st_outsnap *next_snap;
	char *peer;
	struct st_delta **items;
	size_t n, next;         /* entries, and the first not yet sent */
	uint64_t seq, incarnation;
};

struct st_origin {
	char *name;
	uint64_t incarnation;
	uint64_t last_seq;      /* self: last sequence made; peer: last applied */
	size_t count;           /* entries held */
	uint64_t snap_seq;      /* while a snapshot arrives */
	uint8_t known;          /* incarnation known */
	uint8_t in_snapshot;
	uint8_t asked;          /* a STATE_REQUEST is out */
	uint32_t gaps;          /* deltas past a gap since that request */
	uint8_t overflow_logged;
	/* Names its components bind (NAME_BIND), at most
	 * CLUSTER_STATE_NAMES_MAX, in announce order. */
	char **names;
	size_t nnames;
};

struct cluster_state {
	struct st_entry **buckets;
	size_t nbuckets;        /* power of two */
	size_t nentries;
	uint64_t hkey[2];
	struct st_origin origins[CLUSTER_STATE_ORIGINS_MAX];
	unsigned norigins;      /* origins[0] is this node */
	/* local history: deltas (flushed_seq - hcount, self.last_seq] */
	struct st_delta **hist;
	size_t hist_max, hist_count, hist_head; /* head: slot of the oldest */
	uint64_t flushed_seq;
	struct st_outsnap *outsnaps;
	cluster_state_send_fn send;
	void *ctx;
	cluster_state_watch_fn watch;   /* peers' entries changing (i13-fwd) */
	void *watch_ctx;
	cluster_state_names_fn names_watch;     /* peers' names changing (i13-fed) */
	void *names_ctx;
};

/* Deltas past a gap after which a STATE_REQUEST is sent again. */
#define GAP_REASK 64

/* ---- entries ---- */

static const char *entry_sid(const struct st_entry *e)
{
	return e->data + e->jidlen + 1;
}

static void entry_view(const struct cluster_state *st, const struct st_entry *e,
		       struct cluster_state_session *s_r)
{
	s_r->jid = e->data;
	s_r->node = st->origins[e->origin].name;
	s_r->sid = entry_sid(e);
	s_r->priority = e->priority;
	s_r->available = (e->flags & CLUSTER_SESSION_AVAILABLE) != 0;
	s_r->started_ms = e->started_ms;
}

/* Tell the watch about a change to a peer's entry (never our own). */
static void notify(const struct cluster_state *st, const struct st_entry *e,
		   enum cluster_state_change change, enum cluster_state_reason reason)
{
	struct cluster_state_session s;

	if (st->watch == NULL || e->origin == 0)
		return;
	entry_view(st, e, &s);
	st->watch(st->watch_ctx, change, reason, &s);
}

static uint32_t jid_hash(const struct cluster_state *st, const char *jid, size_t len)
{
	return (uint32_t)xhash_siphash_keyed(st->hkey, jid, len);
}

static struct st_entry **entry_slot(struct cluster_state *st, const char *jid, size_t len,
				    uint32_t h, unsigned origin)
{
	struct st_entry **pp = &st->buckets[h & (st->nbuckets - 1)];

	for (; *pp != NULL; pp = &(*pp)->next) {
		struct st_entry *e = *pp;

		if (e->hash == h && e->origin == origin && e->jidlen == len &&
		    memcmp(e->data, jid, len) == 0)
			return pp;
	}
	return pp;
}

static void grow(struct cluster_state *st)
{
	size_t n = st->nbuckets * 2;
	struct st_entry **b = xcalloc(n, sizeof(*b));

	for (size_t i = 0; i < st->nbuckets; i++) {
		struct st_entry *e = st->buckets[i], *next;

		for (; e != NULL; e = next) {
			next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	free(st->buckets);
	st->buckets = b;
	st->nbuckets = n;
}

/* Insert or replace origin's entry for jid. Returns 0, or -1 if the
 * origin is full. */
static int entry_set(struct cluster_state *st, unsigned origin, const char *jid, size_t jidlen,
		     const char *sid, size_t sidlen, int priority, uint8_t flags,
		     uint64_t started_ms)
{
	uint32_t h = jid_hash(st, jid, jidlen);
	struct st_entry **pp = entry_slot(st, jid, jidlen, h, origin), *e = *pp;
	struct st_origin *o = &st->origins[origin];
	int added = e == NULL;

	if (e != NULL && e->sidlen == sidlen) {
		memcpy(e->data + jidlen + 1, sid, sidlen);
	} else {
		if (e == NULL && o->count >= CLUSTER_STATE_ORIGIN_ENTRIES_MAX) {
			if (!o->overflow_logged)
				log_warnx("cluster: state: node %s holds %u sessions already; "
					  "dropping more", o->name,
					  (unsigned)CLUSTER_STATE_ORIGIN_ENTRIES_MAX);
			o->overflow_logged = 1;
			return -1;
		}
		struct st_entry *n = xmalloc(sizeof(*n) + jidlen + sidlen + 2);

		n->next = e != NULL ? e->next : NULL;
		n->hash = h;
		n->origin = (uint16_t)origin;
		n->jidlen = (uint16_t)jidlen;
		n->sidlen = (uint8_t)sidlen;
		memcpy(n->data, jid, jidlen);
		n->data[jidlen] = '\0';
		memcpy(n->data + jidlen + 1, sid, sidlen);
		if (e == NULL) {
			o->count++;
			st->nentries++;
		}
		free(e);
		*pp = e = n;
	}
	e->data[jidlen + 1 + sidlen] = '\0';
	e->priority = (int8_t)priority;
	e->flags = flags;
	e->started_ms = started_ms;
	notify(st, e, added ? CLUSTER_STATE_ADDED : CLUSTER_STATE_UPDATED,
	       CLUSTER_STATE_REASON_NONE);
	if (st->nentries > st->nbuckets)
		grow(st);
	return 0;
}

static int entry_remove(struct cluster_state *st, unsigned origin, const char *jid,
			size_t jidlen)
{
	uint32_t h = jid_hash(st, jid, jidlen);
	struct st_entry **pp = entry_slot(st, jid, jidlen, h, origin), *e = *pp;

	if (e == NULL)
		return -1;
	*pp = e->next;
	notify(st, e, CLUSTER_STATE_REMOVED, CLUSTER_STATE_REASON_END);
	free(e);
	st->origins[origin].count--;
	st->nentries--;
	return 0;
}

/* ---- bound names (NAME_BIND / NAME_UNBIND) ---- */

static int name_index(const struct st_origin *o, const char *name, size_t len)
{
	for (size_t i = 0; i < o->nnames; i++)
		if (strlen(o->names[i]) == len && memcmp(o->names[i], name, len) == 0)
			return (int)i;
	return -1;
}

/* Add or remove a name of `origin`; the watch hears of a peer's change.
 * Returns 0, or -1 (already so, or too many). */
static int name_set(struct cluster_state *st, unsigned origin, const char *name, size_t len,
		    int bound)
{
	struct st_origin *o = &st->origins[origin];
	int i = name_index(o, name, len);
	char *copy;

	if (bound) {
		if (i >= 0)
			return -1;
		if (o->nnames == CLUSTER_STATE_NAMES_MAX) {
			log_warnx("cluster: state: %s announces more than %d names: %.*s ignored",
				  o->name, CLUSTER_STATE_NAMES_MAX, (int)len, name);
			return -1;
		}
		o->names = xrealloc(o->names, (o->nnames + 1) * sizeof(*o->names));
		copy = o->names[o->nnames++] = xstrndup(name, len);
	} else {
		if (i < 0)
			return -1;
		copy = o->names[i];
		memmove(o->names + i, o->names + i + 1,
			(o->nnames - (size_t)i - 1) * sizeof(*o->names));
		o->nnames--;
	}
	if (origin != 0 && st->names_watch != NULL)
		st->names_watch(st->names_ctx, o->name, copy, bound);
	if (!bound)
		free(copy);
	return 0;
}

/* Every name of `origin` goes (last first), each told to the watch. */
static void origin_drop_names(struct cluster_state *st, unsigned origin)
{
	struct st_origin *o = &st->origins[origin];

	while (o->nnames > 0) {
		const char *n = o->names[o->nnames - 1];

		(void)name_set(st, origin, n, strlen(n), 0);
	}
	free(o->names);
	o->names = NULL;
}

static void origin_drop_entries(struct cluster_state *st, unsigned origin,
				enum cluster_state_reason reason)
{
	origin_drop_names(st, origin);
	if (st->origins[origin].count == 0)
		return;
	for (size_t i = 0; i < st->nbuckets; i++) {
		struct st_entry **pp = &st->buckets[i];

		while (*pp != NULL) {
			struct st_entry *e = *pp;

			if (e->origin == origin) {
				*pp = e->next;
				notify(st, e, CLUSTER_STATE_REMOVED, reason);
				free(e);
				st->nentries--;
			} else {
				pp = &e->next;
			}
		}
	}
	st->origins[origin].count = 0;
}

/* ---- origins ---- */

static int origin_find(const struct cluster_state *st, const char *name, size_t len)
{
	for (unsigned i = 0; i < st->norigins; i++)
		if (strlen(st->origins[i].name) == len && memcmp(st->origins[i].name, name, len) == 0)
			return (int)i;
	return -1;
}

/* The origin's index, interned on first sight; -1 when the table of
 * origins is full. */
static int origin_get(struct cluster_state *st, const char *name, size_t len)
{
	int i = origin_find(st, name, len);

	if (i >= 0)
		return i;
	if (st->norigins >= CLUSTER_STATE_ORIGINS_MAX)
		return -1;
	st->origins[st->norigins].name = xstrndup(name, len);
	return (int)st->norigins++;
}

/* ---- sending ---- */

static size_t entry_wire_estimate(size_t jidlen, size_t sidlen)
{
	return jidlen + sidlen + 32;
}

static void send_request(struct cluster_state *st, const char *peer, unsigned origin)
{
	struct st_origin *o = &st->origins[origin];
	struct cluster_frame f = { .version = CLUSTER_PROTO_VERSION_MAX,
				   .type = CLUSTER_FRAME_STATE_REQUEST };

	f.u.request.origin = cluster_bytes_str(o->name);
	if (o->known) {
		f.u.request.incarnation = o->incarnation;
		f.u.request.mode = CLUSTER_REQUEST_SINCE;
		f.u.request.from_seq = o->last_seq;
	} else {
		f.u.request.mode = CLUSTER_REQUEST_SNAPSHOT;
	}
	o->asked = 1;
	o->gaps = 0;
	log_debug("cluster: state: asking %s for %s's entries %s %llu", peer, o->name,
		  o->known ? "since" : "snapshot", (unsigned long long)o->last_seq);
	st->send(st->ctx, peer, &f);
}

static const struct st_delta *hist_at(const struct cluster_state *st, uint64_t seq)
{
	uint64_t oldest = st->origins[0].last_seq - st->hist_count + 1;

	return st->hist[(st->hist_head + (size_t)(seq - oldest)) % st->hist_max];
}

/* Send deltas (from, to] of our history to peer (NULL: everyone). */
static void send_deltas(struct cluster_state *st, const char *peer, uint64_t from, uint64_t to)
{
	struct cluster_frame f = { .version = CLUSTER_PROTO_VERSION_MAX,
				   .type = CLUSTER_FRAME_STATE_DELTA };
	uint64_t seq = from + 1;
	struct cluster_entry *ents;

	if (to <= from)
		return;
	/* as many entries as one frame can take of these, not always the
	 * maximum: zeroing 4096 entries per flush cost more than the flush */
	ents = xcalloc(to - from < CLUSTER_ENTRIES_MAX ? (size_t)(to - from) : CLUSTER_ENTRIES_MAX,
		       sizeof(*ents));

	f.u.delta.origin = cluster_bytes_str(st->origins[0].name);
	f.u.delta.incarnation = st->origins[0].incarnation;
	f.u.delta.entries = ents;
	while (seq <= to) {
		size_t n = 0, bytes = 0;

		f.u.delta.first_seq = seq;
		while (seq <= to && n < CLUSTER_ENTRIES_MAX) {
			const struct st_delta *d = hist_at(st, seq);
			size_t est = entry_wire_estimate(d->jidlen, d->sidlen);

			if (n > 0 && bytes + est > CLUSTER_STATE_CHUNK_BYTES)
				break;
			bytes += est;
			ents[n] = (struct cluster_entry){
				.op = d->op,
				.name = { (const uint8_t *)d->data, d->jidlen },
			};
			if (d->op == CLUSTER_OP_SESSION_ADD || d->op == CLUSTER_OP_SESSION_UPDATE) {
				ents[n].priority = d->priority;
				ents[n].flags = d->flags;
				ents[n].started_ms = d->started_ms;
				ents[n].sid = (struct cluster_bytes){
					(const uint8_t *)d->data + d->jidlen + 1, d->sidlen };
			}
			n++;
			seq++;
		}
		f.u.delta.nentries = n;
		st->send(st->ctx, peer, &f);
	}
	free(ents);
}

static struct st_delta *delta_new(uint8_t op, const char *jid, size_t jidlen, const char *sid,
				  size_t sidlen, int priority, uint8_t flags, uint64_t started_ms)
{
	struct st_delta *d = xmalloc(sizeof(*d) + jidlen + sidlen + 2);

	d->op = op;
	d->priority = (int8_t)priority;
	d->flags = flags;
	d->started_ms = started_ms;
	d->jidlen = (uint16_t)jidlen;
	d->sidlen = (uint8_t)sidlen;
	memcpy(d->data, jid, jidlen);
	d->data[jidlen] = '\0';
	memcpy(d->data + jidlen + 1, sid, sidlen);
	d->data[jidlen + 1 + sidlen] = '\0';
	return d;
}

static void outsnap_free(struct st_outsnap *o)
{
	for (size_t i = 0; i < o->n; i++)
		free(o->items[i]);
	free(o->items);
	free(o->peer);
	free(o);
}

/* Send what the link takes of a snapshot. Returns 1 when it is all sent
 * (o is then freed by the caller), 0 when the link refused a chunk (the
 * rest goes when its output drains: cluster_state_peer_drained). */
static int outsnap_pump(struct cluster_state *st, struct st_outsnap *o)
{
	struct cluster_entry *ents = xcalloc(CLUSTER_ENTRIES_MAX, sizeof(*ents));
	struct cluster_frame f = { .version = CLUSTER_PROTO_VERSION_MAX,
				   .type = CLUSTER_FRAME_STATE_SNAPSHOT };
	int done = 0;

	f.u.snapshot.origin = cluster_bytes_str(st->origins[0].name);
	f.u.snapshot.incarnation = o->incarnation;
	f.u.snapshot.seq = o->seq;
	f.u.snapshot.entries = ents;
	while (!done) {
		size_t n = 0, bytes = 0;

		while (o->next + n < o->n && n < CLUSTER_ENTRIES_MAX) {
			const struct st_delta *d = o->items[o->next + n];
			size_t est = entry_wire_estimate(d->jidlen, d->sidlen);

			if (n > 0 && bytes + est > CLUSTER_STATE_CHUNK_BYTES)
				break;
			bytes += est;
			ents[n++] = d->op == CLUSTER_OP_NAME_BIND ? (struct cluster_entry){
				.op = CLUSTER_OP_NAME_BIND,
				.name = { (const uint8_t *)d->data, d->jidlen },
			} : (struct cluster_entry){
				.op = CLUSTER_OP_SESSION_ADD,
				.name = { (const uint8_t *)d->data, d->jidlen },
				.priority = d->priority,
				.flags = d->flags,
				.started_ms = d->started_ms,
				.sid = { (const uint8_t *)d->data + d->jidlen + 1, d->sidlen },
			};
		}
		f.u.snapshot.flags = (o->next == 0 ? CLUSTER_SNAPSHOT_BEGIN : 0) |
				     (o->next + n == o->n ? CLUSTER_SNAPSHOT_END : 0);
		f.u.snapshot.nentries = n;
		if (st->send(st->ctx, o->peer, &f) == 0)
			break;          /* link output full: later */
		o->next += n;
		done = o->next == o->n;
	}
	free(ents);
	return done;
}

static void outsnap_drop(struct cluster_state *st, const char *peer)
{
	for (struct st_outsnap **pp = &st->outsnaps; *pp != NULL; pp = &(*pp)->next_snap) {
		if (strcmp((*pp)->peer, peer) == 0) {
			struct st_outsnap *o = *pp;

			*pp = o->next_snap;
			outsnap_free(o);
			return;
		}
	}
}

/* Our entries as of our last sequence, copied now and sent in chunks as
 * the peer's link takes them (a link holds a few MB of output; 100,000
 * sessions are about 7 MB). */
static void send_snapshot(struct cluster_state *st, const char *peer)
{
	struct st_outsnap *o = xcalloc(1, sizeof(*o));
	size_t left = st->origins[0].count;

	outsnap_drop(st, peer);
	o->peer = xstrdup(peer);
	o->seq = st->origins[0].last_seq;
	o->incarnation = st->origins[0].incarnation;
	o->items = xcalloc(left + st->origins[0].nnames + 1, sizeof(*o->items));
	for (size_t i = 0; i < st->origins[0].nnames; i++)    /* i13-fed */
		o->items[o->n++] = delta_new(CLUSTER_OP_NAME_BIND, st->origins[0].names[i],
					     strlen(st->origins[0].names[i]), "", 0, 0, 0, 0);
	left += o->n;
	for (size_t i = 0; i < st->nbuckets && o->n < left; i++)
		for (const struct st_entry *e = st->buckets[i]; e != NULL; e = e->next)
			if (e->origin == 0)
				o->items[o->n++] = delta_new(CLUSTER_OP_SESSION_ADD, e->data,
							     e->jidlen, entry_sid(e), e->sidlen,
							     e->priority, e->flags,
							     e->started_ms);
	if (outsnap_pump(st, o)) {
		outsnap_free(o);
		return;
	}
	o->next_snap = st->outsnaps;
	st->outsnaps = o;
}

/* Pump the snapshots being sent (to `peer` only, unless NULL); returns
 * those still not all sent. */
static size_t outsnaps_pump(struct cluster_state *st, const char *peer)
{
	size_t left = 0;

	for (struct st_outsnap **pp = &st->outsnaps; *pp != NULL;) {
		struct st_outsnap *o = *pp;

		if (peer != NULL && strcmp(o->peer, peer) != 0) {
			left++;
			pp = &o->next_snap;
		} else if (outsnap_pump(st, o)) {
			*pp = o->next_snap;
			outsnap_free(o);
		} else {
			left++;
			pp = &o->next_snap;
		}
	}
	return left;
}

size_t cluster_state_retry(struct cluster_state *st)
{
	return outsnaps_pump(st, NULL);
}

void cluster_state_peer_drained(struct cluster_state *st, const char *peer)
{
	(void)outsnaps_pump(st, peer);
}

void cluster_state_peer_closed(struct cluster_state *st, const char *peer)
{
	outsnap_drop(st, peer);
}

/* ---- local changes ---- */

static void hist_push(struct cluster_state *st, uint8_t op, const char *jid, size_t jidlen,
		      const char *sid, size_t sidlen, int priority, uint8_t flags,
		      uint64_t started_ms)
{
	struct st_delta *d = delta_new(op, jid, jidlen, sid, sidlen, priority, flags,
				       started_ms);

	if (st->hist_count == st->hist_max) {
		free(st->hist[st->hist_head]);
		st->hist[st->hist_head] = d;
		st->hist_head = (st->hist_head + 1) % st->hist_max;
	} else {
		st->hist[(st->hist_head + st->hist_count) % st->hist_max] = d;
		st->hist_count++;
	}
	st->origins[0].last_seq++;
}

int cluster_state_local_set(struct cluster_state *st, const char *jid, const char *sid,
			    int priority, int available, uint64_t started_ms,
			    const char **error_r)
{
	size_t jidlen = strlen(jid), sidlen = sid != NULL ? strlen(sid) : 0;
	uint8_t flags = available ? CLUSTER_SESSION_AVAILABLE : 0;
	struct cluster_state_session cur;
	uint8_t op;

	if (jidlen == 0 || jidlen > CLUSTER_JID_MAX) {
		*error_r = "the JID is empty or too long";
		return -1;
	}
	if (sidlen > CLUSTER_SID_MAX) {
		*error_r = "the session id is too long";
		return -1;
	}
	if (priority < -128 || priority > 127) {
		*error_r = "the priority is out of -128..127";
		return -1;
	}
	if (sid == NULL)
		sid = "";
	op = cluster_state_lookup(st, jid, st->origins[0].name, &cur) == 0 ?
	     CLUSTER_OP_SESSION_UPDATE : CLUSTER_OP_SESSION_ADD;
	if (entry_set(st, 0, jid, jidlen, sid, sidlen, priority, flags, started_ms) < 0) {
		*error_r = "too many local sessions";
		return -1;
	}
	hist_push(st, op, jid, jidlen, sid, sidlen, priority, flags, started_ms);
	return 0;
}

int cluster_state_local_remove(struct cluster_state *st, const char *jid)
{
	size_t jidlen = strlen(jid);

	if (entry_remove(st, 0, jid, jidlen) < 0)
		return -1;
	hist_push(st, CLUSTER_OP_SESSION_REMOVE, jid, jidlen, "", 0, 0, 0, 0);
	return 0;
}

int cluster_state_local_name(struct cluster_state *st, const char *name, int bound)
{
	size_t len = strlen(name);

	if (len == 0 || len > CLUSTER_NAME_MAX || name_set(st, 0, name, len, bound) < 0)
		return -1;
	hist_push(st, bound ? CLUSTER_OP_NAME_BIND : CLUSTER_OP_NAME_UNBIND, name, len, "", 0, 0,
		  0, 0);
	return 0;
}

const char *cluster_state_name_node(const struct cluster_state *st, const char *name)
{
	for (unsigned i = 1; i < st->norigins; i++)
		if (name_index(&st->origins[i], name, strlen(name)) >= 0)
			return st->origins[i].name;
	return NULL;
}

void cluster_state_set_names_watch(struct cluster_state *st, cluster_state_names_fn fn,
				   void *ctx)
{
	st->names_watch = fn;
	st->names_ctx = ctx;
}

void cluster_state_flush(struct cluster_state *st)
{
	uint64_t last = st->origins[0].last_seq;
	uint64_t oldest = last - st->hist_count;     /* deltas after it are held */

	if (st->flushed_seq == last)
		return;
	/* More changes in one turn than the history holds: peers see a gap
	 * and ask for a snapshot. */
	send_deltas(st, NULL, st->flushed_seq > oldest ? st->flushed_seq : oldest, last);
	st->flushed_seq = last;
}

void cluster_state_reincarnated(struct cluster_state *st, uint64_t incarnation)
{
	if (st->origins[0].incarnation == incarnation)
		return;
	cluster_state_flush(st);
	for (size_t k = 0; k < st->hist_count; k++)
		free(st->hist[(st->hist_head + k) % st->hist_max]);
	st->hist_count = 0;
	st->hist_head = 0;
	st->origins[0].incarnation = incarnation;
}

/* ---- frames from peers ---- */

static void apply_entry(struct cluster_state *st, unsigned origin, const struct cluster_entry *e)
{
	switch (e->op) {
	case CLUSTER_OP_SESSION_ADD:
	case CLUSTER_OP_SESSION_UPDATE:
		(void)entry_set(st, origin, (const char *)e->name.ptr, e->name.len,
				(const char *)e->sid.ptr, e->sid.len, e->priority, e->flags,
				e->started_ms);
		break;
	case CLUSTER_OP_SESSION_REMOVE:
		(void)entry_remove(st, origin, (const char *)e->name.ptr, e->name.len);
		break;
	case CLUSTER_OP_NAME_BIND:
	case CLUSTER_OP_NAME_UNBIND:
		(void)name_set(st, origin, (const char *)e->name.ptr, e->name.len,
			       e->op == CLUSTER_OP_NAME_BIND);
		break;
	default:
		break;
	}
}

static int on_delta(struct cluster_state *st, const char *peer,
		    const struct cluster_state_delta *d, const char **error_r)
{
	int i = origin_get(st, (const char *)d->origin.ptr, d->origin.len);
	struct st_origin *o;
	uint64_t last;

	if (i < 0) {
		*error_r = "STATE_DELTA: too many origins";
		return -1;
	}
	if (i == 0) {
		*error_r = "STATE_DELTA: changes to this node's own entries";
		return -1;
	}
	o = &st->origins[i];
	if (o->in_snapshot)
		return 0;       /* the snapshot carries it */
	if (!o->known || o->incarnation != d->incarnation) {
		if (d->first_seq != 1) {
			if (!o->asked || o->known || ++o->gaps % GAP_REASK == 0) {
				o->known = 0;
				send_request(st, peer, (unsigned)i);
			}
			return 0;
		}
		/* A new incarnation from its first change: its old entries go. */
		origin_drop_entries(st, (unsigned)i, CLUSTER_STATE_REASON_REPLACED);
		o->incarnation = d->incarnation;
		o->known = 1;
		o->last_seq = 0;
	}
	last = d->first_seq + d->nentries - 1;
	if (last <= o->last_seq)
		return 0;       /* seen already */
	if (d->first_seq > o->last_seq + 1) {
		log_info("cluster: state: %s: gap after %llu (delta from %llu)", o->name,
			 (unsigned long long)o->last_seq, (unsigned long long)d->first_seq);
		/* Ask once; again every GAP_REASK deltas in case the answer
		 * was lost (a full link refuses frames). */
		if (!o->asked || ++o->gaps % GAP_REASK == 0)
			send_request(st, peer, (unsigned)i);
		return 0;
	}
	for (size_t k = (size_t)(o->last_seq + 1 - d->first_seq); k < d->nentries; k++)
		apply_entry(st, (unsigned)i, &d->entries[k]);
	o->last_seq = last;
	o->asked = 0;
	return 0;
}

static int on_snapshot(struct cluster_state *st, const struct cluster_state_snapshot *s,
		       const char **error_r)
{
	int i = origin_get(st, (const char *)s->origin.ptr, s->origin.len);
	struct st_origin *o;

	if (i <= 0) {
		*error_r = i == 0 ? "STATE_SNAPSHOT: of this node's own entries" :
			   "STATE_SNAPSHOT: too many origins";
		return -1;
	}
	o = &st->origins[i];
	if (s->flags & CLUSTER_SNAPSHOT_BEGIN) {
		origin_drop_entries(st, (unsigned)i, CLUSTER_STATE_REASON_REPLACED);
		o->incarnation = s->incarnation;
		o->snap_seq = s->seq;
		o->in_snapshot = 1;
		o->known = 0;
	} else if (!o->in_snapshot || o->incarnation != s->incarnation ||
		   o->snap_seq != s->seq) {
		*error_r = "STATE_SNAPSHOT: a chunk without its BEGIN";
		return -1;
	}
	for (size_t k = 0; k < s->nentries; k++)
		apply_entry(st, (unsigned)i, &s->entries[k]);
	if (s->flags & CLUSTER_SNAPSHOT_END) {
		o->in_snapshot = 0;
		o->known = 1;
		o->last_seq = s->seq;
		o->asked = 0;
		log_info("cluster: state: %s: snapshot of %zu sessions at seq %llu", o->name,
			 o->count, (unsigned long long)o->last_seq);
	}
	return 0;
}

static int on_request(struct cluster_state *st, const char *peer,
		      const struct cluster_state_request *r, const char **error_r)
{
	const struct st_origin *self = &st->origins[0];
	uint64_t oldest = self->last_seq - st->hist_count;

	if (r->origin.len != strlen(self->name) ||
	    memcmp(r->origin.ptr, self->name, r->origin.len) != 0) {
		*error_r = "STATE_REQUEST: for another node's entries";
		return -1;
	}
	if (r->mode == CLUSTER_REQUEST_SINCE && r->incarnation == self->incarnation &&
	    r->from_seq >= oldest && r->from_seq <= self->last_seq) {
		if (r->from_seq < self->last_seq)
			send_deltas(st, peer, r->from_seq, self->last_seq);
		return 0;
	}
	send_snapshot(st, peer);
	return 0;
}

int cluster_state_frame(struct cluster_state *st, const char *peer,
			const struct cluster_frame *frame, const char **error_r)
{
	switch (frame->type) {
	case CLUSTER_FRAME_STATE_DELTA:
		return on_delta(st, peer, &frame->u.delta, error_r);
	case CLUSTER_FRAME_STATE_SNAPSHOT:
		return on_snapshot(st, &frame->u.snapshot, error_r);
	case CLUSTER_FRAME_STATE_REQUEST:
		return on_request(st, peer, &frame->u.request, error_r);
	default:
		return 0;
	}
}

void cluster_state_peer_open(struct cluster_state *st, const char *peer)
{
	int i = origin_get(st, peer, strlen(peer));

	if (i <= 0)
		return;
	st->origins[i].in_snapshot = 0;
	send_request(st, peer, (unsigned)i);
}

const char *cluster_state_drop_reason_name(enum cluster_state_drop_reason reason)
{
	return reason == CLUSTER_STATE_DROP_REPLACED ? "replaced" : "node-dead";
}

void cluster_state_drop_node(struct cluster_state *st, const char *peer,
			     enum cluster_state_drop_reason reason)
{
	int i = origin_find(st, peer, strlen(peer));

	if (i <= 0)
		return;
	log_info("cluster: state: dropping the %zu sessions of %s (%s)", st->origins[i].count,
		 peer, cluster_state_drop_reason_name(reason));
	origin_drop_entries(st, (unsigned)i, reason == CLUSTER_STATE_DROP_REPLACED ?
			    CLUSTER_STATE_REASON_REPLACED : CLUSTER_STATE_REASON_NODE_DEAD);
	st->origins[i].known = 0;
	st->origins[i].in_snapshot = 0;
	st->origins[i].asked = 0;
	st->origins[i].last_seq = 0;
}

void cluster_state_set_watch(struct cluster_state *st, cluster_state_watch_fn fn, void *ctx)
{
	st->watch = fn;
	st->watch_ctx = ctx;
}

int cluster_state_peer_synced(const struct cluster_state *st, const char *peer,
			      uint64_t incarnation)
{
	int i = origin_find(st, peer, strlen(peer));

	/* >=: a node declared dead takes incarnation + 1 and goes on
	 * (cluster_state_reincarnated), so entries stamped with a newer
	 * incarnation than its link announced are its current ones; a node
	 * that restarts announces a larger one (its start time). */
	return i > 0 && st->origins[i].known && !st->origins[i].in_snapshot &&
	       st->origins[i].incarnation >= incarnation;
}

void cluster_state_foreach(const struct cluster_state *st, int local,
			   void (*fn)(void *ctx, const struct cluster_state_session *s),
			   void *ctx)
{
	struct cluster_state_session s;

	for (size_t i = 0; i < st->nbuckets; i++)
		for (const struct st_entry *e = st->buckets[i]; e != NULL; e = e->next)
			if ((e->origin == 0) == (local != 0)) {
				entry_view(st, e, &s);
				fn(ctx, &s);
			}
}

/* ---- queries ---- */

int cluster_state_lookup(const struct cluster_state *st, const char *jid, const char *node,
			 struct cluster_state_session *s_r)
{
	size_t len = strlen(jid);
	uint32_t h = jid_hash(st, jid, len);
	int want = -1;

	if (node != NULL && (want = origin_find(st, node, strlen(node))) < 0)
		return -1;
	for (const struct st_entry *e = st->buckets[h & (st->nbuckets - 1)]; e != NULL;
	     e = e->next) {
		if (e->hash != h || e->jidlen != len || memcmp(e->data, jid, len) != 0)
			continue;
		if (want >= 0 && e->origin != want)
			continue;
		entry_view(st, e, s_r);
		return 0;
	}
	return -1;
}

size_t cluster_state_count(const struct cluster_state *st, const char *node)
{
	int i;

	if (node == NULL)
		return st->nentries;
	i = origin_find(st, node, strlen(node));
	return i < 0 ? 0 : st->origins[i].count;
}

uint64_t cluster_state_last_seq(const struct cluster_state *st, const char *node,
				uint64_t *incarnation_r)
{
	int i = origin_find(st, node, strlen(node));

	if (i < 0 || (i > 0 && !st->origins[i].known))
		return 0;
	if (incarnation_r != NULL)
		*incarnation_r = st->origins[i].incarnation;
	return st->origins[i].last_seq;
}

void cluster_state_log_status(const struct cluster_state *st)
{
	const struct st_origin *self = &st->origins[0];

	log_notice("cluster: state: local %zu sessions, seq %llu, %zu deltas held",
		   self->count, (unsigned long long)self->last_seq, st->hist_count);
	for (unsigned i = 1; i < st->norigins; i++) {
		const struct st_origin *o = &st->origins[i];

		log_notice("cluster: state: node %s: %zu sessions, incarnation %llu, "
			   "last seq %llu%s", o->name, o->count,
			   (unsigned long long)o->incarnation, (unsigned long long)o->last_seq,
			   o->in_snapshot ? " (snapshot arriving)" :
			   o->asked ? " (asked)" : "");
	}
	/* The first few sessions themselves, for operators and tests. */
	for (size_t i = 0, n = 0; i < st->nbuckets && n < CLUSTER_STATE_STATUS_SESSIONS; i++) {
		for (const struct st_entry *e = st->buckets[i];
		     e != NULL && n < CLUSTER_STATE_STATUS_SESSIONS; e = e->next, n++)
			log_notice("cluster: state: session %s on %s, priority %d, %s", e->data,
				   st->origins[e->origin].name, e->priority,
				   e->flags & CLUSTER_SESSION_AVAILABLE ? "available" :
				   "unavailable");
	}
}

/* ---- life ---- */

struct cluster_state *cluster_state_new(const char *self, uint64_t incarnation,
					size_t history_max, cluster_state_send_fn send,
					void *ctx)
{
	struct cluster_state *st = xcalloc(1, sizeof(*st));

	if (getrandom(st->hkey, sizeof(st->hkey), 0) != (ssize_t)sizeof(st->hkey)) {
		st->hkey[0] = (uint64_t)(uintptr_t)st ^ incarnation;
		st->hkey[1] = incarnation * 0x9e3779b97f4a7c15ull;
	}
	st->nbuckets = 1024;
	st->buckets = xcalloc(st->nbuckets, sizeof(*st->buckets));
	st->origins[0].name = xstrdup(self);
	st->origins[0].incarnation = incarnation;
	st->origins[0].known = 1;
	st->norigins = 1;
	st->hist_max = history_max > 0 ? history_max : 1;
	st->hist = xcalloc(st->hist_max, sizeof(*st->hist));
	st->send = send;
	st->ctx = ctx;
	return st;
}

void cluster_state_free(struct cluster_state **stp)
{
	struct cluster_state *st = *stp;

	if (st == NULL)
		return;
	for (size_t i = 0; i < st->nbuckets; i++) {
		struct st_entry *e = st->buckets[i], *next;

		for (; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(st->buckets);
	for (size_t k = 0; k < st->hist_count; k++)
		free(st->hist[(st->hist_head + k) % st->hist_max]);
	free(st->hist);
	while (st->outsnaps != NULL) {
		struct st_outsnap *o = st->outsnaps;

		st->outsnaps = o->next_snap;
		outsnap_free(o);
	}
	for (unsigned i = 0; i < st->norigins; i++) {
		for (size_t k = 0; k < st->origins[i].nnames; k++)
			free(st->origins[i].names[k]);
		free(st->origins[i].names);
		free(st->origins[i].name);
	}
	free(st);
	*stp = NULL;
}
