/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cluster.c: the sm in a cluster (issue 13; the routes are those of
 * /work/prompts/iface13.md, described in sm/README.md "In a cluster").
 * Active only with sm.xml's <router_id> and <cluster><notify>D</notify>:
 * sm->cluster is NULL otherwise and every function here is a no-op (or
 * finds nothing), so an sm without a cluster behaves as before.
 *
 * - Remote sessions: the cluster module (at D) pushes the sessions of the
 *   other nodes as light stubs (struct rsess: full JID, node, priority,
 *   availability, start time), kept per bare JID in a table of their own,
 *   apart from the user structs: a user need not be loaded for its stubs
 *   to be known, and nothing that walks user->sessions for session
 *   control or c2s traffic ever meets one. The delivery decisions
 *   (mod_deliver, mod_presence, mod_carbons, mod_roster, mod_offline)
 *   consult both, through user->remote (kept here: stubs_head()),
 *   user_remote_get() / user_remote_top().
 * - Seed patch 2: until the module said `synced`, a stanza for a local
 *   user with no session known anywhere is held (at most
 *   SM_CLUSTER_HOLD_MAX stanzas or SM_CLUSTER_HOLD_SECS seconds) instead
 *   of being answered or stored as if the user were offline everywhere.
 * - Forwarding (rule 7): stanzas for remote sessions go back to the module
 *   as one route per node naming the targets; forwarded stanzas (rule 3),
 *   undelivered ones (rule 4), conflicts (rule 5) come from it.
 * (Broadcasts between sms, rules 6 and 8, are sm/cluster_data.c's.)
 *
 * Every route from the module is checked completely before anything is
 * applied: one bad element rejects the whole route, with a log line.
 */
#include "config.h"
#include "sm/sm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "comp/comp.h"
#include "mio/mio.h"
#include "util/buf.h"
#include "util/jid.h"
#include "util/log.h"
#include "util/nad.h"
#include "util/xhash.h"
#include "sm/carbons.h"
#include "sm/offline.h"
#include "sm/presence.h"
#include "sm/privacy.h"
#include "sm/roster.h"

#define NS SM_CLUSTER_NS

static_assert(SM_CLUSTER_HOPS_MAX >= 1 && SM_CLUSTER_HOPS_MAX <= 9,
	      "jc:hops is parsed as one digit");

/* A stanza held until the cluster's view is complete (seed patch 2). */
struct held_pkt {
	struct pkt *pkt;
};

/* The stubs by bare JID: open addressing (linear probing) over the head
 * of each bare JID's list, the key being the head's own JID (no copy of
 * it, no entry allocation): a lookup at a resync touches the slot and the
 * stub, a remote session costs its stub and a share of a slot. */
struct rslot {
	struct rsess *head;             /* NULL: free */
	uint64_t hash;
};

struct rtab {
	struct rslot *v;
	size_t cap;                     /* a power of two, or 0 */
	size_t n;                       /* used slots (bare JIDs); n <= cap / 2 */
	uint64_t key[2];                /* SipHash key, drawn once */
};

struct sm_cluster {
	struct rtab remote;             /* bare JID -> struct rsess list */
	size_t nremote;
	struct xhash *nodes;            /* node name -> its one copy (rsess.node) */
	struct xhash *held_nodes;       /* i14: nodes held down (rule 11) */
	unsigned long damped;           /* presences not shown for them */
	int synced;                     /* the module said synced (or we gave up) */
	time_t wait_since;              /* when we asked (or started) */
	struct pkt **held;
	size_t nheld, held_cap;
	struct mio_timer *timer;
	/* A presence broadcast under way (sm_cluster_batch_begin): the remote
	 * sessions it reaches, gathered into one route per node. */
	int batch_depth;
	char *batch_from;
	struct sm_fwd batch;
	unsigned long forwarded, held_total, looped;
	unsigned long also_dropped;     /* handed back, but delivered elsewhere (rule 7) */
	/* i14: orders local initial presences and stubs becoming available
	 * (sess.avail_seq, rsess.avail_seq); compared modulo 2^32. */
	uint32_t seq;
	/* Direct delivery: the newest jc:mark taken (told back in <done/>
	 * once per loop turn), and whether it is still to be told. */
	char mark[24];
	int mark_untold;
	struct mio_timer *done_timer;
};

int sm_clustered(const struct sm *sm)
{
	return sm->cluster != NULL;
}

/* ---- stubs ---- */

#define RTAB_MIN 64

static void rtab_init(struct rtab *t)
{
	memset(t, 0, sizeof(*t));
	if (getrandom(t->key, sizeof(t->key), GRND_NONBLOCK) != (ssize_t)sizeof(t->key)) {
		t->key[0] = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
		t->key[1] = (uint64_t)(uintptr_t)t ^ (uint64_t)clock();
	}
}

/* The bare JID of a stub: full[0 .. res - 1). */
static size_t rsess_bare_len(const struct rsess *r)
{
	return (size_t)r->res - 1;
}

/* The slot of `bare` (len bytes, hash h), or the free slot ending its run. */
static struct rslot *rtab_slot(const struct rtab *t, const char *bare, size_t len, uint64_t h)
{
	size_t mask = t->cap - 1, i;

	for (i = h & mask;; i = (i + 1) & mask) {
		struct rslot *sl = &t->v[i];

		if (sl->head == NULL || (sl->hash == h && rsess_bare_len(sl->head) == len &&
					 memcmp(sl->head->full, bare, len) == 0))
			return sl;
	}
}

static struct rsess *rtab_get(const struct rtab *t, const char *bare)
{
	size_t len = strlen(bare);

	if (t->n == 0)
		return NULL;
	return rtab_slot(t, bare, len, xhash_siphash_keyed(t->key, bare, len))->head;
}

static void rtab_grow(struct rtab *t)
{
	struct rslot *old = t->v;
	size_t oldcap = t->cap, i;

	t->cap = t->cap == 0 ? RTAB_MIN : 2 * t->cap;
	t->v = xcalloc(t->cap, sizeof(*t->v));
	for (i = 0; i < oldcap; i++)
		if (old[i].head != NULL) {
			size_t j = old[i].hash & (t->cap - 1);

			while (t->v[j].head != NULL)
				j = (j + 1) & (t->cap - 1);
			t->v[j] = old[i];
		}
	free(old);
}

/* The list of `bare` is now head (NULL: it has none). */
static void rtab_set(struct rtab *t, const char *bare, struct rsess *head)
{
	size_t len = strlen(bare), mask, i, j;
	uint64_t h = xhash_siphash_keyed(t->key, bare, len);
	struct rslot *sl;

	if (head != NULL && 2 * (t->n + 1) > t->cap)
		rtab_grow(t);
	if (t->cap == 0)
		return;
	sl = rtab_slot(t, bare, len, h);
	if (head != NULL) {
		if (sl->head == NULL)
			t->n++;
		sl->head = head;
		sl->hash = h;
		return;
	}
	if (sl->head == NULL)
		return;
	/* Removal: shift the run's later slots back (no tombstones). */
	mask = t->cap - 1;
	i = (size_t)(sl - t->v);
	sl->head = NULL;
	t->n--;
	for (j = (i + 1) & mask; t->v[j].head != NULL; j = (j + 1) & mask) {
		size_t k = t->v[j].hash & mask;

		/* j's entry may move to i unless its home k lies in (i, j]. */
		if (i <= j ? (k > i && k <= j) : (k > i || k <= j))
			continue;
		t->v[i] = t->v[j];
		t->v[j].head = NULL;
		i = j;
	}
}

static void rsess_free_list(void *v);

/* Every stub freed, the table emptied (its size kept). */
static void rtab_clear(struct rtab *t)
{
	for (size_t i = 0; i < t->cap; i++)
		if (t->v[i].head != NULL) {
			rsess_free_list(t->v[i].head);
			t->v[i].head = NULL;
		}
	t->n = 0;
}

static void rsess_free(struct rsess *r)
{
	free(r);
}

/* The one copy of a node name; NULL when SM_CLUSTER_NODES_MAX names are
 * known already. */
static const char *node_intern(struct sm_cluster *c, const char *node)
{
	char *n = xhash_get(c->nodes, node);

	if (n == NULL && xhash_count(c->nodes) < SM_CLUSTER_NODES_MAX) {
		n = xstrdup(node);
		xhash_put(c->nodes, n, n);
	}
	return n;
}

static void rsess_free_list(void *v)
{
	struct rsess *r = v, *next;

	for (; r != NULL; r = next) {
		next = r->next;
		rsess_free(r);
	}
}

struct rsess *sm_remote_first(const struct sm *sm, const struct jid *jid)
{
	if (sm->cluster == NULL || jid == NULL)
		return NULL;
	return rtab_get(&sm->cluster->remote, jid_bare(jid));
}

int rsess_usable(const struct rsess *r, const struct pkt *pkt)
{
	if (pkt == NULL)
		return 1;
	if (pkt->hops >= SM_CLUSTER_HOPS_MAX)
		return 0;       /* it may not be forwarded again */
	return pkt->exclude_node == NULL || strcmp(r->node, pkt->exclude_node) != 0;
}

static struct rsess *remote_get(struct rsess *r, const struct jid *full, const struct pkt *pkt)
{
	if (full == NULL || jid_resource(full)[0] == '\0')
		return NULL;
	for (; r != NULL; r = r->next)
		if (strcmp(r->full + r->res, jid_resource(full)) == 0)
			return rsess_usable(r, pkt) ? r : NULL;
	return NULL;
}

struct rsess *sm_remote_get(const struct sm *sm, const struct jid *full, const struct pkt *pkt)
{
	return full != NULL ? remote_get(sm_remote_first(sm, full), full, pkt) : NULL;
}

struct rsess *user_remote_get(const struct user *user, const struct jid *full,
			      const struct pkt *pkt)
{
	return remote_get(user->remote, full, pkt);
}

int user_remote_top(const struct user *user, const struct pkt *pkt)
{
	struct rsess *r;
	int top = -1;

	for (r = user->remote; r != NULL; r = r->next)
		if (r->available && r->priority > top && rsess_usable(r, pkt))
			top = r->priority;
	return top;
}

size_t sm_remote_count(const struct sm *sm)
{
	return sm->cluster != NULL ? sm->cluster->nremote : 0;
}

/* ---- forwarding (rule 7) ---- */

struct sm_fwd_node {
	char *node;
	char **targets;
	size_t n;
};

static void fwd_add(struct sm_fwd *f, const char *node, const char *target)
{
	struct sm_fwd_node *fn = NULL;
	size_t i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->v[i].node, node) == 0) {
			fn = &f->v[i];
			break;
		}
	if (fn == NULL) {
		f->v = xrealloc(f->v, (f->n + 1) * sizeof(*f->v));
		fn = &f->v[f->n++];
		fn->node = xstrdup(node);
		fn->targets = NULL;
		fn->n = 0;
	}
	for (i = 0; i < fn->n; i++)
		if (strcmp(fn->targets[i], target) == 0)
			return;         /* one copy per session */
	if ((fn->n & (fn->n - 1)) == 0)
		fn->targets = xrealloc(fn->targets, (fn->n == 0 ? 1 : 2 * fn->n) *
				       sizeof(*fn->targets));
	fn->targets[fn->n++] = xstrdup(target);
}

void sm_fwd_add(struct sm_fwd *f, const struct rsess *r)
{
	fwd_add(f, r->node, r->full);
}

void sm_fwd_clear(struct sm_fwd *f)
{
	size_t i, j;

	for (i = 0; i < f->n; i++) {
		for (j = 0; j < f->v[i].n; j++)
			free(f->v[i].targets[j]);
		free(f->v[i].targets);
		free(f->v[i].node);
	}
	free(f->v);
	f->v = NULL;
	f->n = 0;
}

/*
 * The bytes sx_send() would write for `route` with `stanza` grafted under
 * it, attached to the route (nad_raw) in place of the graft, which
 * copied the whole stanza into the route only to serialize it: the
 * route's start tag, the stanza serialized in that tag's scope (the
 * component namespace the default, jc bound), the end tag. The sm's
 * stream declares no default namespace, so the route's start tag is
 * written the same on it (its xmlns included) and the bytes stand alone.
 * The route nad keeps its root only: nothing reads it after sm_send().
 */
static void fwd_route_bytes(struct nad *route, const struct nad *stanza)
{
	static const char *const scope[] = { "jc", NS, NULL };
	struct buf b = { 0 };

	nad_serialize(route, 0, NULL, &b);
	if (b.len < 2 || memcmp(b.data + b.len - 2, "/>", 2) != 0) {
		buf_free(&b);           /* not an empty root: cannot happen */
		nad_graft(route, 0, stanza, 0);
		return;
	}
	b.len -= 2;
	buf_append_char(&b, '>');
	nad_serialize_scoped(stanza, 0, COMP_NS, scope, &b);
	buf_append_str(&b, "</route>");
	nad_raw_set(route, b.data, b.len, NULL);
	buf_free(&b);
}

/* One route to the module for `node`, naming targets[0..n); `also`: the
 * other sessions the same message went to (rule 7), or NULL. */
static void fwd_route(struct sm *sm, const struct nad *stanza, const char *node,
		      char *const *targets, size_t n, int hops, const char *also)
{
	struct nad *route = comp_route_new(sm->cluster_notify, sm->router_id, NULL);
	struct buf t = { 0 };
	size_t i;

	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_append_char(&t, ' ');
		buf_append_str(&t, targets[i]);
	}
	nad_attr_set_prefixed(route, 0, NS, "jc", "node", node);
	nad_attr_set_prefixed(route, 0, NS, "jc", "targets", t.data);
	if (also != NULL)
		nad_attr_set_prefixed(route, 0, NS, "jc", "also", also);
	if (hops > 1) {
		char h[12];

		snprintf(h, sizeof(h), "%d", hops);
		nad_attr_set_prefixed(route, 0, NS, "jc", "hops", h);
	}
	fwd_route_bytes(route, stanza);
	buf_free(&t);
	log_debug("sm: cluster: forwarding a %s to %zu session%s on %s", nad_name(stanza, 0), n,
		  n == 1 ? "" : "s", node);
	sm->cluster->forwarded++;
	sm_send(sm, route);
}

/* jc:also for the routes to f->v[skip].node: the local sessions and the
 * other nodes' targets, at most SM_CLUSTER_ALSO_MAX (one survivor is
 * enough to know the user has the message). */
static void also_list(const struct sm_fwd *f, size_t skip, char *const *local, size_t nlocal,
		      struct buf *out)
{
	size_t k = 0;

	for (size_t i = 0; i < nlocal && k < SM_CLUSTER_ALSO_MAX; i++, k++) {
		if (k > 0)
			buf_append_char(out, ' ');
		buf_append_str(out, local[i]);
	}
	for (size_t i = 0; i < f->n && k < SM_CLUSTER_ALSO_MAX; i++)
		for (size_t j = 0; i != skip && j < f->v[i].n && k < SM_CLUSTER_ALSO_MAX; j++, k++) {
			if (k > 0)
				buf_append_char(out, ' ');
			buf_append_str(out, f->v[i].targets[j]);
		}
}

void sm_fwd_send(struct sm *sm, struct sm_fwd *f, const struct pkt *pkt, int keep_to)
{
	sm_fwd_send_also(sm, f, pkt, keep_to, NULL, 0, 0);
}

void sm_fwd_send_also(struct sm *sm, struct sm_fwd *f, const struct pkt *pkt, int keep_to,
		      char *const *local, size_t nlocal, int also)
{
	struct nad *copy = NULL;
	const struct nad *stanza = pkt->nad;   /* grafted (copied) per route */
	size_t i, off;

	if (sm->cluster == NULL || f->n == 0) {
		sm_fwd_clear(f);
		return;
	}
	if (pkt->hops >= SM_CLUSTER_HOPS_MAX) {
		/* The delivery rules never pick another node's session for
		 * it (rsess_usable); this is the backstop. */
		log_warnx("sm: cluster: a %s from %s was forwarded %d times; not forwarded "
			  "again", nad_name(pkt->nad, 0), pkt->from != NULL ? jid_full(pkt->from) : "?",
			  pkt->hops);
		sm_fwd_clear(f);
		return;
	}
	if (!keep_to) {
		copy = nad_copy(pkt->nad);
		nad_attr_set(copy, 0, NULL, "to", NULL);
		stanza = copy;
	}
	for (i = 0; i < f->n; i++) {
		struct buf a = { 0 };

		if (also)
			also_list(f, i, local, nlocal, &a);
		for (off = 0; off < f->v[i].n; off += SM_CLUSTER_TARGETS_MAX) {
			size_t n = f->v[i].n - off;

			fwd_route(sm, stanza, f->v[i].node, f->v[i].targets + off,
				  n > SM_CLUSTER_TARGETS_MAX ? SM_CLUSTER_TARGETS_MAX : n,
				  pkt->hops + 1, a.len > 0 ? a.data : NULL);
		}
		buf_free(&a);
	}
	nad_free(&copy);
	sm_fwd_clear(f);
}

void sm_forward_one(struct sm *sm, struct pkt *pkt, const struct rsess *r)
{
	struct sm_fwd f = { 0 };

	sm_fwd_add(&f, r);
	sm_fwd_send(sm, &f, pkt, 1);
	pkt_free(&pkt);
}

/* ---- presence broadcast batching ---- */

void sm_cluster_batch_begin(struct sm *sm, const struct pkt *pkt)
{
	struct sm_cluster *c = sm->cluster;

	if (c == NULL || c->batch_depth++ > 0)
		return;
	free(c->batch_from);
	c->batch_from = pkt->from != NULL ? xstrdup(jid_full(pkt->from)) : NULL;
}

void sm_cluster_batch_end(struct sm *sm, const struct pkt *pkt)
{
	struct sm_cluster *c = sm->cluster;

	if (c == NULL || --c->batch_depth > 0)
		return;
	sm_fwd_send(sm, &c->batch, pkt, 0);
	free(c->batch_from);
	c->batch_from = NULL;
}

void sm_cluster_send(struct sm *sm, struct sm_fwd *f, const struct pkt *pkt, int keep_to)
{
	struct sm_cluster *c = sm->cluster;
	size_t i, j;

	if (c == NULL || c->batch_depth == 0 || c->batch_from == NULL || pkt->from == NULL ||
	    strcmp(c->batch_from, jid_full(pkt->from)) != 0 ||
	    (pkt->type & (PKT_PRESENCE | PKT_PRESENCE_UN | PKT_PRESENCE_PROBE)) == 0) {
		sm_fwd_send(sm, f, pkt, keep_to);
		return;
	}
	for (i = 0; i < f->n; i++)
		for (j = 0; j < f->v[i].n; j++)
			fwd_add(&c->batch, f->v[i].node, f->v[i].targets[j]);
	sm_fwd_clear(f);
}

void sm_cluster_fan_out(struct sm *sm, const struct user *user, const struct pkt *pkt)
{
	struct sm_fwd fwd = { 0 };
	struct rsess *r;

	for (r = user->remote; r != NULL; r = r->next)
		if (r->available && rsess_usable(r, pkt))
			sm_fwd_add(&fwd, r);
	sm_cluster_send(sm, &fwd, pkt, 0);
}

void sm_cluster_fan_out_domain(struct sm *sm, const char *domain, const struct pkt *pkt)
{
	struct sm_fwd fwd = { 0 };
	size_t dlen = strlen(domain);

	if (sm->cluster == NULL)
		return;
	for (size_t i = 0; i < sm->cluster->remote.cap; i++) {
		struct rsess *r;

		for (r = sm->cluster->remote.v[i].head; r != NULL; r = r->next) {
			const char *at = strchr(r->full, '@');

			if (r->available && rsess_usable(r, pkt) && at != NULL &&
			    strncmp(at + 1, domain, dlen) == 0 && at[1 + dlen] == '/')
				sm_fwd_add(&fwd, r);
		}
	}
	sm_fwd_send(sm, &fwd, pkt, 0);
}

/* ---- seed patch 2: holding ---- */

static void cluster_release(struct sm *sm, const char *why)
{
	struct sm_cluster *c = sm->cluster;
	struct pkt **held = c->held;
	size_t i, n = c->nheld;

	c->synced = 1;
	c->held = NULL;
	c->nheld = c->held_cap = 0;
	if (c->timer != NULL)
		mio_timer_stop(c->timer);
	if (n > 0)
		log_notice("sm: cluster: %s; delivering %zu held stanza%s", why, n,
			   n == 1 ? "" : "s");
	for (i = 0; i < n; i++)
		sm_dispatch(sm, held[i]);
	free(held);
}

void sm_cluster_tick(struct sm *sm, time_t now)
{
	struct sm_cluster *c = sm->cluster;

	if (c == NULL || c->synced || now - c->wait_since < SM_CLUSTER_HOLD_SECS)
		return;
	log_warnx("sm: cluster: no complete view from %s after %d s; proceeding as if synced",
		  sm->cluster_notify, SM_CLUSTER_HOLD_SECS);
	cluster_release(sm, "gave up waiting for the cluster");
}

void sm_cluster_proceed(struct sm *sm, const char *why)
{
	if (sm->cluster != NULL && !sm->cluster->synced)
		cluster_release(sm, why);
}

static void cluster_timer(struct mio_timer *t, void *ctx)
{
	(void)t;
	sm_cluster_tick(ctx, time(NULL));
}

int sm_cluster_synced(const struct sm *sm)
{
	return sm->cluster == NULL || sm->cluster->synced;
}

size_t sm_cluster_held(const struct sm *sm)
{
	return sm->cluster != NULL ? sm->cluster->nheld : 0;
}

int sm_cluster_hold(struct sm *sm, struct user *user, struct pkt *pkt)
{
	struct sm_cluster *c = sm->cluster;
	const char *res;

	/* Held unless an available session is known somewhere, or the
	 * session the stanza names: the nodes not heard from yet may hold
	 * one that changes the decision. */
	if (c == NULL || c->synced || user_available_anywhere(user, NULL))
		return 0;
	res = jid_resource(pkt->to);
	if (res[0] != '\0' && (user_sess(user, res) != NULL ||
				sm_remote_get(sm, pkt->to, NULL) != NULL))
		return 0;
	/* An iq to the bare JID is the sm's to answer, sessions or not. */
	if ((pkt->type & PKT_IQ_ANY) && jid_resource(pkt->to)[0] == '\0')
		return 0;
	if ((pkt->type & (PKT_MESSAGE | PKT_MESSAGE_ERROR | PKT_PRESENCE_ANY | PKT_IQ_ANY)) == 0)
		return 0;
	if (c->nheld >= SM_CLUSTER_HOLD_MAX) {
		log_warnx("sm: cluster: %d stanzas held waiting for %s; proceeding as if synced",
			  SM_CLUSTER_HOLD_MAX, sm->cluster_notify);
		cluster_release(sm, "too many held stanzas");
		return 0;
	}
	if (c->nheld == c->held_cap) {
		c->held_cap = c->held_cap == 0 ? 16 : 2 * c->held_cap;
		c->held = xrealloc(c->held, c->held_cap * sizeof(*c->held));
	}
	c->held[c->nheld++] = pkt;
	c->held_total++;
	log_debug("sm: cluster: holding a stanza for %s until the cluster is synced",
		  jid_full(pkt->to));
	return 1;
}

void sm_cluster_sync(struct sm *sm)
{
	struct nad *route;

	if (sm->cluster == NULL)
		return;
	sm->cluster->synced = 0;
	sm->cluster->wait_since = time(NULL);
	if (sm->cluster->timer != NULL)
		mio_timer_start(sm->cluster->timer, 1000, 1);
	route = comp_route_new(sm->cluster_notify, sm->router_id, NULL);
	/* We take rule 1's line form (<set/>, <del/>) as well as <s/>. */
	nad_attr_set(route, nad_elem_add(route, 0, NS, "sync"), NULL, "lines", "1");
	log_notice("sm: cluster: asking %s for the remote sessions", sm->cluster_notify);
	sm_send(sm, route);
}

/* ---- rule 1: the remote table ---- */

static int parse_int(const char *s, long lo, long hi, long *v)
{
	char *end;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	*v = strtol(s, &end, 10);
	return errno == 0 && *end == '\0' && *v >= lo && *v <= hi ? 0 : -1;
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno == 0 && *end == '\0' ? 0 : -1;
}

static int node_name_ok(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0, i;

	if (n == 0 || n > SM_CLUSTER_NODE_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == '*')
			return 0;
	return 1;
}

/* A full JID of one of our domains, or NULL. */
/* j if it is a user's full JID in one of our domains, else NULL (freed). */
static struct jid *target_checked(const struct sm *sm, struct jid *j)
{
	if (j != NULL && (jid_resource(j)[0] == '\0' || jid_node(j)[0] == '\0' ||
			  !sm_serves(sm, jid_domain(j))))
		jid_free(&j);
	return j;
}

static struct jid *target_jid(const struct sm *sm, const char *s, size_t len)
{
	const char *error;

	return target_checked(sm, jid_new(s, len, &error));
}

/* One <s/>, checked. */
struct remote_op {
	enum { OP_ADD, OP_UPDATE, OP_REMOVE } op;
	struct jid *jid;
	const char *node, *reason;
	int priority, available;
	uint64_t started;
};

static const char *remote_parse(const struct sm *sm, const struct nad *nad, int s,
				struct remote_op *o)
{
	const char *action = nad_attr(nad, s, NULL, "action");
	const char *jid = nad_attr(nad, s, NULL, "jid");
	long v;

	if (strcmp(nad_name(nad, s), "s") != 0)
		return "unknown element";
	if (action == NULL)
		return "no action";
	if (strcmp(action, "add") == 0)
		o->op = OP_ADD;
	else if (strcmp(action, "update") == 0)
		o->op = OP_UPDATE;
	else if (strcmp(action, "remove") == 0)
		o->op = OP_REMOVE;
	else
		return "unknown action";
	if (jid == NULL || (o->jid = target_jid(sm, jid, strlen(jid))) == NULL)
		return "jid not a full JID of a served domain";
	o->node = nad_attr(nad, s, NULL, "node");
	if (!node_name_ok(o->node))
		return "bad node name";
	if (o->op == OP_REMOVE) {
		o->reason = nad_attr(nad, s, NULL, "reason");
		if (o->reason == NULL || (strcmp(o->reason, "end") != 0 &&
					  strcmp(o->reason, "node-dead") != 0 &&
					  strcmp(o->reason, "replaced") != 0))
			return "bad reason";
		return NULL;
	}
	if (parse_int(nad_attr(nad, s, NULL, "priority"), -128, 127, &v) < 0)
		return "bad priority";
	o->priority = (int)v;
	if (parse_int(nad_attr(nad, s, NULL, "available"), 0, 1, &v) < 0)
		return "bad available";
	o->available = (int)v;
	if (parse_u64(nad_attr(nad, s, NULL, "started"), &o->started) < 0)
		return "bad started";
	return NULL;
}

/* Rule 1's line form: the next line of `el`'s text at *p (end: `end`),
 * "PRIORITY AVAILABLE STARTED JID\n" in a <set/> (an add or update; the
 * node is the element's) or "JID\n" in a <del/> (a remove; node and
 * reason the element's). *p moves past it. */
static const char *line_parse(const struct sm *sm, const char **p, const char *end, int set,
			      struct remote_op *o)
{
	const char *s = *p, *nl = memchr(s, '\n', (size_t)(end - s));
	int neg = 0, digits;
	long prio = 0;
	uint64_t started = 0;

	if (nl == NULL)
		return "a line without its end";
	*p = nl + 1;
	if (set) {
		if (s < nl && *s == '-') {
			neg = 1;
			s++;
		}
		for (digits = 0; s < nl && *s >= '0' && *s <= '9' && digits < 4; digits++)
			prio = prio * 10 + (*s++ - '0');
		if (neg)
			prio = -prio;
		if (digits == 0 || digits > 3 || prio < -128 || prio > 127 || s == nl || *s++ != ' ')
			return "bad priority";
		if (nl - s < 2 || (s[0] != '0' && s[0] != '1') || s[1] != ' ')
			return "bad available";
		o->available = s[0] - '0';
		s += 2;
		for (digits = 0; s < nl && *s >= '0' && *s <= '9'; digits++) {
			if (started > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
				return "bad started";
			started = started * 10 + (uint64_t)(*s++ - '0');
		}
		if (digits == 0 || s == nl || *s++ != ' ')
			return "bad started";
		o->op = OP_ADD;
		o->priority = (int)prio;
		o->started = started;
	} else {
		o->op = OP_REMOVE;
	}
	if (s == nl || (o->jid = target_jid(sm, s, (size_t)(nl - s))) == NULL)
		return "jid not a full JID of a served domain";
	return NULL;
}

/* A <set node=N>/<del node=N reason=R> (rule 1's line form): its entries
 * into ops[*n..SM_CLUSTER_REMOTE_MAX). */
static const char *lines_parse(const struct sm *sm, const struct nad *nad, int el,
			       struct remote_op *ops, int *n)
{
	int set = strcmp(nad_name(nad, el), "set") == 0;
	const char *node = nad_attr(nad, el, NULL, "node");
	const char *reason = set ? NULL : nad_attr(nad, el, NULL, "reason");
	const char *why, *p, *end;
	size_t len;

	if (!node_name_ok(node))
		return "bad node name";
	if (!set && (reason == NULL || (strcmp(reason, "end") != 0 &&
					strcmp(reason, "node-dead") != 0 &&
					strcmp(reason, "replaced") != 0)))
		return "bad reason";
	if (nad_child(nad, el, NULL, NULL) != NAD_NONE)
		return "an element inside a line element";
	p = nad_text(nad, el, &len);
	end = p + len;
	if (len == 0)
		return "no lines";
	while (p < end) {
		if (*n == SM_CLUSTER_REMOTE_MAX)
			return "too many sessions in one route";
		memset(&ops[*n], 0, sizeof(ops[*n]));
		why = line_parse(sm, &p, end, set, &ops[*n]);
		ops[*n].node = node;
		ops[*n].reason = reason;
		++*n;           /* freed by the caller, whatever happened */
		if (why != NULL)
			return why;
	}
	return NULL;
}

/* The stubs of a bare JID are now `head`: in the table, and on the user
 * if it is loaded (user->remote). */
static void stubs_head(struct sm *sm, const char *bare, struct rsess *head)
{
	struct user *u = xhash_get(sm->users, bare);

	rtab_set(&sm->cluster->remote, bare, head);
	if (u != NULL)
		u->remote = head;
}

/* Every stub is going: no loaded user keeps a pointer to one. */
static void stubs_forget_all(struct sm *sm)
{
	struct xhash_iter it;
	void *v;

	xhash_iter_init(sm->users, &it);
	while (xhash_iter_next(&it, NULL, &v))
		((struct user *)v)->remote = NULL;
}

static struct rsess *stub_find(struct sm_cluster *c, const struct jid *jid)
{
	struct rsess *r;

	for (r = rtab_get(&c->remote, jid_bare(jid)); r != NULL; r = r->next)
		if (strcmp(r->full, jid_full(jid)) == 0)
			return r;
	return NULL;
}

/* Unlink and return the stub of this full JID on this node, or NULL. */
static struct rsess *stub_take(struct sm *sm, const struct jid *jid, const char *node)
{
	struct sm_cluster *c = sm->cluster;
	struct rsess *head = rtab_get(&c->remote, jid_bare(jid)), **rp, *r;

	for (rp = &head; *rp != NULL; rp = &(*rp)->next)
		if (strcmp((*rp)->full, jid_full(jid)) == 0)
			break;
	r = *rp;
	/* One full JID briefly on two nodes (rule 5): the stub is the newer
	 * session's; the older one's removal, which may arrive after the
	 * newer one's add, leaves it alone. */
	if (r == NULL || strcmp(r->node, node) != 0)
		return NULL;
	*rp = r->next;
	r->next = NULL;
	stubs_head(sm, jid_bare(jid), head);
	c->nremote--;
	return r;
}

static void stub_set(struct sm *sm, const struct remote_op *o)
{
	struct sm_cluster *c = sm->cluster;
	const char *full = jid_full(o->jid), *bare = jid_bare(o->jid);
	struct rsess *head = rtab_get(&c->remote, bare), *r, *last = NULL;
	const char *node = node_intern(c, o->node);
	size_t len = strlen(full);

	/* One lookup of the bare JID (at a resync each is a cold one). */
	for (r = head; r != NULL; last = r, r = r->next)
		if (strcmp(r->full, full) == 0)
			break;

	if (node == NULL) {
		log_warnx("sm: cluster: more than %d node names; %s on %s ignored",
			  SM_CLUSTER_NODES_MAX, jid_full(o->jid), o->node);
		return;
	}
	if (r != NULL && strcmp(r->node, node) != 0 &&
	    (o->started < r->started ||
	     (o->started == r->started && strcmp(node, r->node) < 0))) {
		/* The older of two sessions with one full JID (rule 5's
		 * order): it is ending; the stub stays the newer one's. */
		log_debug("sm: cluster: %s on %s is older than on %s; ignored", jid_full(o->jid),
			  node, r->node);
		return;
	}
	if (r == NULL) {
		r = xcalloc(1, sizeof(*r) + len + 1);
		memcpy(r->full, full, len + 1);
		r->res = (uint16_t)(len - strlen(jid_resource(o->jid)));
		if (last != NULL)
			last->next = r;         /* the head, the table and the user stay */
		else
			stubs_head(sm, bare, r);
		c->nremote++;
	}
	if (o->available && !r->available)
		r->avail_seq = ++c->seq;        /* i14, rule 14 */
	r->node = node;
	r->priority = (int8_t)o->priority;
	r->available = (uint8_t)o->available;
	r->started = o->started;
}

/* ---- i14, rule 11: nodes held down (flap damping) ---- */

/* While node N is held down, the presence of its users' sessions is not
 * shown to this sm's users (the user's own other resources excepted):
 * what N forwards is dropped, and when N dies again they are not told
 * that its sessions went (they were never shown). Everything else is
 * as usual: stanzas reach N's sessions. When N is released, each local
 * user that N's users' presence was hidden from probes them on N, and N's
 * answers show it again. */
static int held_node(const struct sm *sm, const char *node)
{
	return sm->cluster != NULL && node != NULL && xhash_get(sm->cluster->held_nodes, node) != NULL;
}

/* Stub r is a session of bare JID `bare`. */
static int stub_of(const struct rsess *r, const char *bare)
{
	size_t len = strlen(bare);

	return r->res == len + 1 && strncmp(r->full, bare, len) == 0;
}

/* Presence from a session on a held node, for someone else than its user. */
static int damped(const struct sm *sm, const char *node, const struct pkt *pkt,
		  const struct jid *to)
{
	return (pkt->type == PKT_PRESENCE || pkt->type == PKT_PRESENCE_UN) &&
	       held_node(sm, node) && !jid_equal_bare(pkt->from, to);
}

/* Rule 11, released: u probes, on `node`, the contacts in `shown` (bare
 * JID -> their stubs) it has a `to` subscription to. */
static void release_probe(struct sm *sm, struct user *u, const char *node, struct xhash *shown)
{
	struct xhash *roster = roster_items(u);
	struct xhash_iter it;
	const char *bare;
	void *v;

	if (roster == NULL)
		return;
	xhash_iter_init(shown, &it);
	while (xhash_iter_next(&it, &bare, &v)) {
		const struct roster_item *item = roster_get(u, bare);
		struct sm_fwd fwd = { 0 };
		struct pkt *probe;
		const struct rsess *r;

		if (item == NULL || !item->to || strcmp(bare, jid_bare(u->jid)) == 0)
			continue;
		for (r = v; r != NULL; r = r->next)
			if (r->available && strcmp(r->node, node) == 0)
				sm_fwd_add(&fwd, r);
		if (fwd.n > 0 && (probe = pkt_create(sm, "presence", "probe", bare,
						     jid_bare(u->jid))) != NULL) {
			sm_fwd_send(sm, &fwd, probe, 1);
			pkt_free(&probe);
		}
		sm_fwd_clear(&fwd);
	}
}

static void cluster_release_node(struct sm *sm, const char *node)
{
	struct sm_cluster *c = sm->cluster;
	struct xhash *shown = xhash_new();
	struct xhash_iter it;
	void *v;
	size_t probed = 0;

	/* The bare JIDs with an available session on the node. */
	for (size_t i = 0; i < c->remote.cap; i++)
		for (const struct rsess *r = c->remote.v[i].head; r != NULL; r = r->next)
			if (r->available && strcmp(r->node, node) == 0) {
				xhash_putn(shown, r->full, rsess_bare_len(r), c->remote.v[i].head);
				break;
			}
	if (xhash_count(shown) > 0) {
		xhash_iter_init(sm->users, &it);
		while (xhash_iter_next(&it, NULL, &v)) {
			struct user *u = v;
			struct list_node *n;

			for (n = list_first(&u->sessions); n != NULL;
			     n = list_next(&u->sessions, n))
				if (LIST_ENTRY(n, struct sess, link)->available)
					break;
			if (n == NULL)
				continue;
			release_probe(sm, u, node, shown);
			probed++;
		}
	}
	log_notice("sm: cluster: node %s no longer held down: %zu local users probe its %zu "
		   "users (%lu presences from held nodes not shown since start)", node, probed,
		   xhash_count(shown), c->damped);
	xhash_free(&shown);
}

static void cluster_hold(struct sm *sm, const struct nad *nad, int el)
{
	struct sm_cluster *c = sm->cluster;
	const char *node = nad_attr(nad, el, NULL, "node");
	const char *held = nad_attr(nad, el, NULL, "held");
	const char *name;

	if (!node_name_ok(node) || held == NULL ||
	    (strcmp(held, "1") != 0 && strcmp(held, "0") != 0)) {
		log_warnx("sm: cluster: a <hold/> from %s with a bad node or held; ignored",
			  sm->cluster_notify);
		return;
	}
	if (held[0] == '1') {
		if (xhash_get(c->held_nodes, node) != NULL)
			return;
		if ((name = node_intern(c, node)) == NULL) {
			log_warnx("sm: cluster: too many node names; %s not held down", node);
			return;
		}
		xhash_put(c->held_nodes, name, (void *)name);
		log_notice("sm: cluster: node %s held down: its users' presence is not shown "
			   "here until it is released", node);
	} else if (xhash_remove(c->held_nodes, node) != NULL) {
		cluster_release_node(sm, node);
	}
}

/* ---- end of i14 ---- */

/* Unavailable from the stubs of chain r (one bare JID) to each available
 * session of u (i14: but not from a held node's, unless u is their user). */
static void gone_to_user(struct sm *sm, struct user *u, const struct rsess *r)
{
	for (; r != NULL; r = r->next) {
		struct list_node *n;

		if (held_node(sm, r->node) && !stub_of(r, jid_bare(u->jid)))
			continue;

		for (n = list_first(&u->sessions); n != NULL; n = list_next(&u->sessions, n)) {
			struct sess *s = LIST_ENTRY(n, struct sess, link);
			struct pkt *un;

			if (!s->available)
				continue;
			un = pkt_create(sm, "presence", "unavailable", jid_full(s->jid), r->full);
			if (un == NULL)
				continue;
			if (privacy_sess_denies(s, un))
				pkt_free(&un);
			else
				pkt_sess(un, s);
		}
	}
}

/* Rule 1, node-dead: those sessions ended without their sm telling anyone.
 * `dead`: bare JID -> chain of the removed stubs that were available.
 * Each local user who sees their presence (a roster item with a `to`
 * subscription, or its own other resources) hears each go unavailable on
 * each of its available sessions, once. One pass over the users with
 * sessions, each costing the smaller of its roster and the dead set. */
static void stubs_gone(struct sm *sm, struct xhash *dead)
{
	size_t ndead = xhash_count(dead);
	struct xhash_iter it, ri;
	void *v;

	xhash_iter_init(sm->users, &it);
	while (xhash_iter_next(&it, NULL, &v)) {
		struct user *u = v;
		struct xhash *roster = roster_items(u);
		const struct roster_item *item;
		const char *bare;
		void *chain;

		if (list_empty(&u->sessions))
			continue;
		if ((chain = xhash_get(dead, jid_bare(u->jid))) != NULL)
			gone_to_user(sm, u, chain);
		if (roster == NULL)
			continue;
		if (xhash_count(roster) <= ndead) {
			xhash_iter_init(roster, &ri);
			while (xhash_iter_next(&ri, &bare, &v))
				if (((const struct roster_item *)v)->to &&
				    (chain = xhash_get(dead, bare)) != NULL)
					gone_to_user(sm, u, chain);
			continue;
		}
		xhash_iter_init(dead, &ri);
		while (xhash_iter_next(&ri, &bare, &chain))
			if ((item = roster_get(u, bare)) != NULL && item->to)
				gone_to_user(sm, u, chain);
	}
}

static void cluster_remote(struct sm *sm, const struct nad *nad, int el)
{
	struct sm_cluster *c = sm->cluster;
	struct remote_op ops[SM_CLUSTER_REMOTE_MAX];
	struct xhash *dead = NULL;
	const char *reset = nad_attr(nad, el, NULL, "reset");
	const char *synced = nad_attr(nad, el, NULL, "synced");
	const char *why = NULL;
	int n = 0, s, i;

	for (s = nad_child(nad, el, NULL, NULL); s != NAD_NONE && why == NULL;
	     s = nad_next(nad, s, NULL, NULL)) {
		const char *ns = nad_ns(nad, s);

		const char *name = nad_name(nad, s);

		if (ns != NULL && strcmp(ns, NS) == 0 &&
		    (strcmp(name, "set") == 0 || strcmp(name, "del") == 0)) {
			why = lines_parse(sm, nad, s, ops, &n);
			continue;
		}
		if (n == SM_CLUSTER_REMOTE_MAX) {
			why = "too many sessions in one route";
			break;
		}
		memset(&ops[n], 0, sizeof(ops[n]));
		if (ns == NULL || strcmp(ns, NS) != 0)
			why = "element of another namespace";
		else
			why = remote_parse(sm, nad, s, &ops[n]);
		n++;
	}
	if (why == NULL && reset != NULL && strcmp(reset, "1") != 0)
		why = "bad reset";
	if (why == NULL && synced != NULL && strcmp(synced, "1") != 0)
		why = "bad synced";
	if (why != NULL) {
		log_warnx("sm: cluster: remote sessions from %s refused: %s (element %d)",
			  sm->cluster_notify, why, n);
		for (i = 0; i < n; i++)
			jid_free(&ops[i].jid);
		return;
	}
	if (reset != NULL) {
		log_notice("sm: cluster: dropping %zu remote session%s (resync)", c->nremote,
			   c->nremote == 1 ? "" : "s");
		stubs_forget_all(sm);
		rtab_clear(&c->remote);
		c->nremote = 0;
		xhash_clear(c->held_nodes, NULL);     /* i14: the module says them again */
		/* Broadcasts from other sms may have been lost meanwhile. */
		sm_cluster_reload_all(sm);
	}
	for (i = 0; i < n; i++) {
		struct rsess *r;

		if (ops[i].op != OP_REMOVE) {
			stub_set(sm, &ops[i]);
		} else if ((r = stub_take(sm, ops[i].jid, ops[i].node)) != NULL) {
			if (r->available && strcmp(ops[i].reason, "node-dead") == 0) {
				if (dead == NULL)
					dead = xhash_new();
				r->next = xhash_get(dead, jid_bare(ops[i].jid));
				xhash_put(dead, jid_bare(ops[i].jid), r);
			} else
				rsess_free(r);
		}
	}
	if (dead != NULL) {
		stubs_gone(sm, dead);
		xhash_clear(dead, rsess_free_list);
		xhash_free(&dead);
	}
	/* A user kept in memory for its stubs leaves it with the last one
	 * (sm/user.c), after the unavailable presences above. */
	for (i = 0; i < n; i++) {
		struct user *u;

		if (ops[i].op == OP_REMOVE &&
		    (u = xhash_get(sm->users, jid_bare(ops[i].jid))) != NULL)
			user_release(u);
		jid_free(&ops[i].jid);
	}
	if (reset != NULL)
		user_release_idle(sm);
	if (synced != NULL && !c->synced)
		cluster_release(sm, "the cluster's view is complete");
}

/* ---- rule 3 and 4: stanzas from other nodes ---- */

/* Parse jc:targets: space-separated full JIDs of our domains, at most
 * SM_CLUSTER_TARGETS_MAX. 0 and the JIDs in *out (free with targets_free),
 * or -1. */
/* `hint`, if not NULL, is a JID that a target often is (the stanza's
 * to): a target written exactly as its full form is copied from it, not
 * prepared again. */
static int targets_parse(const struct sm *sm, const char *s, const struct jid *hint,
			 struct jid ***out, size_t *n_r)
{
	const char *hint_s = hint != NULL ? jid_full(hint) : NULL;
	size_t hint_len = hint_s != NULL ? strlen(hint_s) : 0;

	struct jid **v = NULL;
	size_t n = 0;

	*out = NULL;
	*n_r = 0;
	if (s == NULL)
		return -1;
	while (*s != '\0') {
		size_t len = strcspn(s, " ");
		struct jid *j;

		if (len == 0) {
			s++;
			continue;
		}
		if (n == SM_CLUSTER_TARGETS_MAX)
			goto bad;
		if (len == hint_len && memcmp(s, hint_s, len) == 0)
			j = target_checked(sm, jid_copy(hint));
		else
			j = target_jid(sm, s, len);
		if (j == NULL)
			goto bad;
		v = xrealloc(v, (n + 1) * sizeof(*v));
		v[n++] = j;
		s += len;
	}
	if (n == 0)
		goto bad;
	*out = v;
	*n_r = n;
	return 0;
bad:
	while (n > 0)
		jid_free(&v[--n]);
	free(v);
	return -1;
}

static void targets_free(struct jid **v, size_t n)
{
	while (n > 0)
		jid_free(&v[--n]);
	free(v);
}

static struct sess *local_sess(struct sm *sm, const struct jid *full)
{
	struct user *u = xhash_get(sm->users, jid_bare(full));

	return u != NULL ? user_sess(u, jid_resource(full)) : NULL;
}

/* i14-part: a presence from a full JID of ours whose newest session, as
 * far as this sm knows (a local session against the stub, by start
 * time), is not on the sending node: the sender's is an older session
 * of that full JID, ending by rule 5 (both sides of a partition bound
 * it). Its presence, above all its unavailable, would read as the newer
 * one's. Nothing known of that full JID: believed. */
static int stale_presence(struct sm *sm, const struct pkt *pkt, const char *from_node)
{
	const struct rsess *r;
	const struct sess *s;

	if (!(pkt->type & (PKT_PRESENCE | PKT_PRESENCE_UN)) || pkt->from == NULL ||
	    jid_resource(pkt->from)[0] == '\0' || !sm_serves(sm, jid_domain(pkt->from)))
		return 0;
	s = local_sess(sm, pkt->from);
	r = stub_find(sm->cluster, pkt->from);
	if (s != NULL && (r == NULL || s->started_ms >= r->started))
		return 1;
	return r != NULL && strcmp(r->node, from_node) != 0;
}

/* Rule 3's and rule 4's fallback: the target's session is gone. Messages
 * are delivered again by the usual rules over local sessions and the
 * stubs of other nodes than pkt->exclude_node (or stored offline); iq
 * get/set are answered service-unavailable; the rest is dropped. Takes
 * pkt. */
static void cluster_fallback(struct sm *sm, struct pkt *pkt)
{
	if (pkt->type & (PKT_MESSAGE | PKT_MESSAGE_ERROR)) {
		if (mm_in_router(sm, pkt) == MOD_PASS)
			sm_dispatch(sm, pkt);
	} else if (pkt->type & (PKT_IQ | PKT_IQ_SET)) {
		pkt_router(pkt_error(pkt, "service-unavailable"));
	} else {
		pkt_free(&pkt);
	}
}

/* A copy for a local session: what the user-level inbound chain and the
 * session's own privacy list let through, and what the session asked
 * for (carbons, roster pushes: the sending node cannot know). */
static void cluster_to_sess(struct sm *sm, struct pkt *pkt, struct sess *s)
{
	if (pkt->type == PKT_PRESENCE_PROBE) {
		presence_probe_sess(s, pkt);
		return;
	}
	if (!carbons_wanted(s, pkt) || !roster_push_wanted(s, pkt) || !privacy_push_wanted(s, pkt)) {
		pkt_free(&pkt);
		return;
	}
	if (mm_in_router(sm, pkt) == MOD_HANDLED)
		return;
	if (!(pkt->type & (PKT_IQ_RESULT | PKT_IQ_ERROR)) && privacy_sess_denies(s, pkt)) {
		pkt_free(&pkt);
		return;
	}
	pkt_sess(pkt, s);
}

/* ---- i14, rule 14: two contacts logging in at the same moment ---- */

/* a happened after b, in this sm's order (modulo 2^32). */
static int seq_after(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

void sm_cluster_initial(struct sess *sess)
{
	struct sm_cluster *c = sess->user->sm->cluster;

	if (c != NULL)
		sess->avail_seq = ++c->seq;
}

void sm_cluster_probe_unseen(struct sess *sess, const struct jid *contact)
{
	struct sm *sm = sess->user->sm;
	struct rsess *r;
	struct nad *route;
	struct pkt *probe;

	if (sm->cluster == NULL || jid_node(contact)[0] == '\0' ||
	    !sm_serves(sm, jid_domain(contact)))
		return;
	for (r = rtab_get(&sm->cluster->remote, jid_bare(contact)); r != NULL; r = r->next)
		if (r->available)
			return;         /* the ordinary probe is forwarded to it */
	probe = pkt_create(sm, "presence", "probe", jid_bare(contact), jid_full(sess->jid));
	if (probe == NULL)
		return;
	route = comp_route_new(sm->cluster_notify, sm->router_id, NULL);
	nad_attr_set_prefixed(route, 0, NS, "jc", "node", "*");
	nad_graft(route, 0, probe->nad, 0);
	pkt_free(&probe);
	log_debug("sm: cluster: %s probes %s on every node (rule 14)", jid_full(sess->jid),
		  jid_bare(contact));
	sm_send(sm, route);
}

/* A probe broadcast by node `from_node` (rule 14): each local available
 * session of the probed user whose initial presence went out before the
 * prober's stub became available here (so that presence did not reach it)
 * answers, by presence_probe_sess's rules. Takes pkt. */
static void cluster_probe_unseen(struct sm *sm, struct pkt *pkt, const char *from_node)
{
	struct rsess *r = NULL;
	struct user *u = NULL;
	struct sess *s;

	if (pkt->type != PKT_PRESENCE_PROBE || pkt->to == NULL ||
	    jid_resource(pkt->from)[0] == '\0' || jid_node(pkt->to)[0] == '\0' ||
	    jid_resource(pkt->to)[0] != '\0' || !sm_serves(sm, jid_domain(pkt->to))) {
		log_warnx("sm: cluster: an unknown broadcast from %s; dropped", from_node);
		pkt_free(&pkt);
		return;
	}
	r = stub_find(sm->cluster, pkt->from);
	if (r != NULL && r->available && strcmp(r->node, from_node) == 0)
		u = xhash_get(sm->users, jid_bare(pkt->to));
	if (u != NULL)
		LIST_FOREACH(s, &u->sessions, struct sess, link)
			if (s->available && !s->ended && seq_after(r->avail_seq, s->avail_seq)) {
				struct pkt *copy = pkt_dup(pkt, NULL, NULL);

				log_debug("sm: cluster: %s answers the probe %s broadcast "
					  "(rule 14)", jid_full(s->jid), jid_full(pkt->from));
				if (copy != NULL)
					presence_probe_sess(s, copy);
			}
	pkt_free(&pkt);
}

/* Rule 7, jc:also: a message to a bare JID handed back undelivered that
 * also went to other sessions of the user, one of which is still
 * available here or on a node other than the failed one: the user has
 * it (the fallback would give that session a second copy). Returns that
 * session's full JID (free it), or NULL. */
static char *delivered_elsewhere(struct sm *sm, const struct pkt *pkt, const char *also)
{
	struct jid **v = NULL;
	char *got = NULL;
	size_t n = 0;

	if (also == NULL || pkt->type != PKT_MESSAGE || pkt->to == NULL ||
	    jid_resource(pkt->to)[0] != '\0' || targets_parse(sm, also, NULL, &v, &n) < 0)
		return NULL;
	for (size_t i = 0; i < n && got == NULL; i++) {
		const struct sess *s = local_sess(sm, v[i]);
		const struct rsess *r;

		if (strcmp(jid_bare(v[i]), jid_bare(pkt->to)) != 0)
			continue;       /* only the recipient's own sessions count */
		if ((s != NULL && s->available) ||
		    ((r = sm_remote_get(sm, v[i], pkt)) != NULL && r->available))
			got = xstrdup(jid_full(v[i]));
	}
	targets_free(v, n);
	return got;
}

/* The jc: attributes of a route from the module (rules 3, 4, 6, 7, 9),
 * read in one pass over its attributes rather than a lookup each. */
struct jc_attrs {
	const char *from_node, *undelivered, *node, *targets, *hops, *also, *mark;
};

static void jc_attrs_get(const struct nad *route, struct jc_attrs *a)
{
	const char *ns, *name, *value;
	int pos = 0;

	memset(a, 0, sizeof(*a));
	while (nad_attr_next(route, 0, &pos, &ns, &name, &value)) {
		if (ns == NULL || strcmp(ns, NS) != 0)
			continue;
		if (strcmp(name, "from-node") == 0)
			a->from_node = value;
		else if (strcmp(name, "undelivered") == 0)
			a->undelivered = value;
		else if (strcmp(name, "node") == 0)
			a->node = value;
		else if (strcmp(name, "targets") == 0)
			a->targets = value;
		else if (strcmp(name, "hops") == 0)
			a->hops = value;
		else if (strcmp(name, "also") == 0)
			a->also = value;
		else if (strcmp(name, "mark") == 0)
			a->mark = value;
	}
}

static void cluster_forwarded(struct sm *sm, struct nad *route, int payload,
			      const struct jc_attrs *jc)
{
	const char *from_node = jc->from_node;
	const char *undelivered = jc->undelivered;
	const char *node = jc->node;
	const char *ts = jc->targets;
	const char *hs = jc->hops;
	struct jid **targets = NULL;
	size_t n = 0, i;
	struct pkt *pkt;
	int hops = 1;

	if (undelivered != NULL ? !node_name_ok(node) : !node_name_ok(from_node)) {
		log_warnx("sm: cluster: a forwarded stanza with a bad node name; dropped");
		return;
	}
	if (ts == NULL && undelivered == NULL) {
		/* Rule 6: a broadcast from another sm; sm/cluster_data.c took
		 * the user ones, a probe is rule 14's. */
		pkt = hs == NULL ? pkt_new(sm, nad_extract(route, payload)) : NULL;
		if (pkt != NULL && pkt->from != NULL) {
			cluster_probe_unseen(sm, pkt, from_node);
			return;
		}
		pkt_free(&pkt);
		log_warnx("sm: cluster: an unknown broadcast from %s; dropped", from_node);
		return;
	}
	if (hs != NULL) {
		/* Rule 9: 1..SM_CLUSTER_HOPS_MAX, plain decimal. */
		if (hs[0] < '1' || hs[0] > '0' + SM_CLUSTER_HOPS_MAX || hs[1] != '\0') {
			log_warnx("sm: cluster: a stanza from %s with a bad jc:hops; dropped",
				  undelivered != NULL ? node : from_node);
			return;
		}
		hops = hs[0] - '0';
	}
	/* The stanza first: its to (usually the one target) spares the
	 * target a second stringprep (targets_parse). */
	pkt = pkt_new(sm, nad_extract(route, payload));
	if (targets_parse(sm, ts, pkt != NULL ? pkt->to : NULL, &targets, &n) < 0) {
		log_warnx("sm: cluster: a stanza from %s with bad targets; dropped",
			  undelivered != NULL ? node : from_node);
		pkt_free(&pkt);
		return;
	}
	if (pkt == NULL || pkt->type == PKT_NONE || pkt->type == PKT_SESS || pkt->from == NULL) {
		log_warnx("sm: cluster: an unusable stanza from %s; dropped",
			  undelivered != NULL ? node : from_node);
		pkt_free(&pkt);
		targets_free(targets, n);
		return;
	}
	pkt->exclude_node = xstrdup(undelivered != NULL ? node : from_node);
	/* Forwarded: the hops it made. Back undelivered: the failed forward
	 * counts too, so that a stanza bounced between failing nodes stops
	 * (refused for its hops: none more). */
	if (undelivered != NULL && strcmp(undelivered, "hop-limit") == 0)
		pkt->hops = SM_CLUSTER_HOPS_MAX;
	else
		pkt->hops = hops;
	if (undelivered == NULL && stale_presence(sm, pkt, from_node)) {
		log_info("sm: cluster: presence of %s from node %s dropped: a newer session "
			 "holds that full JID (rule 5)", jid_full(pkt->from), from_node);
		pkt_free(&pkt);
		targets_free(targets, n);
		return;
	}
	if (undelivered != NULL) {
		char *got;

		/* Rule 4: once per stanza (the targets shared one copy). */
		log_notice("sm: cluster: %s for %s not delivered on %s (%s)",
			   nad_name(pkt->nad, 0), jid_full(targets[0]), node, undelivered);
		if ((got = delivered_elsewhere(sm, pkt, jc->also)) != NULL) {
			log_info("sm: cluster: ... but the same message went to %s, which is still "
				 "there: not delivered again", got);
			sm->cluster->also_dropped++;
			free(got);
			pkt_free(&pkt);
			targets_free(targets, n);
			return;
		}
		cluster_fallback(sm, pkt);
		targets_free(targets, n);
		return;
	}
	for (i = 0; i < n; i++) {
		struct sess *s = local_sess(sm, targets[i]);
		struct pkt *copy;

		if (i + 1 == n && pkt->to != NULL) {
			/* The last target takes the stanza itself: a copy
			 * would be the same (one target: the common case). */
			copy = pkt;
			pkt = NULL;
		} else {
			copy = pkt_dup(pkt, pkt->to == NULL ? jid_full(targets[i]) : NULL, NULL);
		}
		if (copy == NULL)
			continue;
		if (damped(sm, from_node, copy, targets[i])) {  /* i14 */
			sm->cluster->damped++;
			pkt_free(&copy);
			continue;
		}
		if (s != NULL)
			cluster_to_sess(sm, copy, s);
		else
			cluster_fallback(sm, copy);
	}
	pkt_free(&pkt);
	targets_free(targets, n);
}

/* Rule 5: a newer session holds this full JID on another node. */
static void cluster_conflict(struct sm *sm, const struct nad *nad, int el)
{
	const char *jid = nad_attr(nad, el, NULL, "jid");
	const char *smid = nad_attr(nad, el, NULL, "sm");
	struct sess *sess = smid != NULL ? xhash_get(sm->sessions, smid) : NULL;

	if (sess == NULL || jid == NULL || strcmp(jid_full(sess->jid), jid) != 0) {
		log_info("sm: cluster: conflict for %s: no such local session",
			 jid != NULL ? jid : "(no jid)");
		return;
	}
	log_notice("sm: cluster: %s logged in on another node; ending the session here",
		   jid);
	sess_end(sess, "replaced");
}

/* ---- rules 12 and 13 (issue 14): a merge after a partition ---- */

static int node_listed(char *const *nodes, int n, const char *node)
{
	for (int i = 0; i < n; i++)
		if (strcmp(nodes[i], node) == 0)
			return 1;
	return 0;
}

/* The available stubs of `bare` on the merged nodes, as targets. */
static void merged_stubs(struct sm *sm, const struct jid *bare, char *const *nodes, int n,
			 struct sm_fwd *fwd)
{
	for (struct rsess *r = sm_remote_first(sm, bare); r != NULL; r = r->next)
		if (r->available && node_listed(nodes, n, r->node))
			sm_fwd_add(fwd, r);
}

/* Session s asks for the presence of the available sessions, on the
 * merged nodes, of the contacts it sees (a `to` subscription) and of its
 * own user: this sm told it they went away when their node was declared
 * dead. One probe route per node; their sm answers each to s
 * (presence_probe_sess), by the contact's subscription and privacy. */
static void merge_probe(struct sm *sm, struct sess *s, char *const *nodes, int n)
{
	struct xhash *roster = roster_items(s->user);
	struct sm_fwd fwd = { 0 };
	struct xhash_iter it;
	struct pkt *probe;
	void *v;

	/* A newer session of this full JID is on another node: rule 5 ends
	 * this one; answers to it would reach the newer one. */
	if (!s->available || s->ended || stub_find(sm->cluster, s->jid) != NULL)
		return;
	if (roster != NULL) {
		xhash_iter_init(roster, &it);
		while (xhash_iter_next(&it, NULL, &v)) {
			const struct roster_item *item = v;

			if (item->to)
				merged_stubs(sm, item->jid, nodes, n, &fwd);
		}
	}
	merged_stubs(sm, s->user->jid, nodes, n, &fwd);
	if (fwd.n == 0)
		return;
	probe = pkt_create(sm, "presence", "probe", NULL, jid_full(s->jid));
	if (probe != NULL)
		sm_fwd_send(sm, &fwd, probe, 0);
	else
		sm_fwd_clear(&fwd);
	pkt_free(&probe);
}

/* The loaded users with sessions here, each held (refs) until
 * users_put(): what is delivered meanwhile may change the table. */
static struct user **users_get(struct sm *sm, size_t *n_r)
{
	struct user **users = xcalloc(xhash_count(sm->users) + 1, sizeof(*users));
	struct xhash_iter it;
	size_t n = 0;
	void *v;

	xhash_iter_init(sm->users, &it);
	while (xhash_iter_next(&it, NULL, &v))
		if (!list_empty(&((struct user *)v)->sessions)) {
			users[n] = v;
			users[n++]->refs++;
		}
	*n_r = n;
	return users;
}

static void users_put(struct user **users, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		users[k]->refs--;
		user_release(users[k]);
	}
	free(users);
}

/* What was stored offline for users online here all along (another node
 * saw them offline): taken from storage atomically, as at a login, and
 * delivered to each one's available session of the highest non-negative
 * priority. */
static void offline_again(struct user **users, size_t nu)
{
	for (size_t k = 0; k < nu; k++) {
		struct sess *best = NULL;
		struct list_node *ln;

		for (ln = list_first(&users[k]->sessions); ln != NULL;
		     ln = list_next(&users[k]->sessions, ln)) {
			struct sess *s = LIST_ENTRY(ln, struct sess, link);

			if (s->available && !s->ended && s->priority >= 0 &&
			    (best == NULL || s->priority > best->priority))
				best = s;
		}
		if (best != NULL)
			offline_take(best);
	}
}

/* Rule 12, <merged nodes='N...'/>: nodes declared dead here (our users
 * were told their users went away) are back with their sessions. */
static void cluster_merged(struct sm *sm, const struct nad *nad, int el)
{
	const char *attr = nad_attr(nad, el, NULL, "nodes");
	char *list = xstrdup(attr != NULL ? attr : ""), *save = NULL, *t;
	char *nodes[SM_CLUSTER_MERGE_MAX];
	struct user **users;
	size_t nu, k;
	int n = 0;

	for (t = strtok_r(list, " ", &save); t != NULL; t = strtok_r(NULL, " ", &save)) {
		if (n == SM_CLUSTER_MERGE_MAX || !node_name_ok(t)) {
			n = -1;
			break;
		}
		nodes[n++] = t;
	}
	if (n <= 0) {
		log_warnx("sm: cluster: <merged/> from %s refused: nodes '%s' %s",
			  sm->cluster_notify, attr != NULL ? attr : "",
			  n == 0 ? "is empty" : "has a bad node name or too many");
		free(list);
		return;
	}
	users = users_get(sm, &nu);
	log_notice("sm: cluster: merged with %s: %zu user%s here ask for their contacts' "
		   "presence there", attr, nu, nu == 1 ? "" : "s");
	for (k = 0; k < nu; k++) {
		struct list_node *ln;

		for (ln = list_first(&users[k]->sessions); ln != NULL;
		     ln = list_next(&users[k]->sessions, ln))
			merge_probe(sm, LIST_ENTRY(ln, struct sess, link), nodes, n);
	}
	offline_again(users, nu);
	users_put(users, nu);
	free(list);
}

/* Rule 13, <revived/>: this node was declared dead elsewhere and is back
 * (a new incarnation); messages for our users may have been stored. */
static void cluster_revived(struct sm *sm)
{
	size_t nu;
	struct user **users = users_get(sm, &nu);

	log_notice("sm: cluster: this node is back after being declared dead elsewhere: "
		   "offline messages of %zu user%s online here delivered", nu, nu == 1 ? "" : "s");
	offline_again(users, nu);
	users_put(users, nu);
}

/* ---- direct delivery (docs/cluster-protocol.md, "Direct delivery") ---- */

/* The in-router modules that do nothing to a message for a session. */
static int in_router_plain(const struct sm *sm)
{
	static const char *const plain[] = {
		"session", "validate", "presence", "pep", "privacy", NULL,
	};

	for (int i = 0; i < sm->nchain[CHAIN_IN_ROUTER]; i++) {
		const char *name = sm->chains[CHAIN_IN_ROUTER][i]->name;
		int k = 0;

		while (plain[k] != NULL && strcmp(plain[k], name) != 0)
			k++;
		if (plain[k] == NULL)
			return 0;
	}
	return 1;
}

/* What cluster_to_sess() does to a message that is not a carbon copy:
 * the in-router chain (privacy_in_router the only one that acts on
 * messages) and the session's list in force. With no privacy rule and
 * only those modules, nothing: the message is wrapped for the c2s. */
int sm_cluster_direct_ok(const struct sess *sess)
{
	const struct sm *sm = sess->user->sm;

	return sm->cluster != NULL && !sess->ended && sess->c2s != NULL &&
	       sess->c2s_id != NULL && in_router_plain(sm) && privacy_user_open(sess->user);
}

void sm_cluster_direct_recheck(struct user *user)
{
	struct list_node *n;

	if (user->sm->cluster == NULL)
		return;
	for (n = list_first(&user->sessions); n != NULL; n = list_next(&user->sessions, n)) {
		struct sess *s = LIST_ENTRY(n, struct sess, link);

		if (!s->ended && s->direct != sm_cluster_direct_ok(s)) {
			log_debug("sm: cluster: %s: direct delivery %s", jid_full(s->jid),
				  s->direct ? "off" : "on");
			sm_cluster_notify(s, "update");
		}
	}
}

/* The module marks what it hands us for a session it may deliver to
 * directly; <done mark='N'/> tells it we have taken everything up to N,
 * so a message it delivers directly cannot pass an earlier stanza still
 * on its way through us. Told once per loop turn. */
static void done_send(struct sm *sm)
{
	struct sm_cluster *c = sm->cluster;
	struct nad *route;
	int el;

	if (!c->mark_untold)
		return;
	c->mark_untold = 0;
	route = comp_route_new(sm->cluster_notify, sm->router_id, NULL);
	el = nad_elem_add(route, 0, NS, "done");
	nad_attr_set(route, el, NULL, "mark", c->mark);
	sm_send(sm, route);
}

static void done_timer(struct mio_timer *t, void *ctx)
{
	(void)t;
	done_send(ctx);
}

static void mark_taken(struct sm *sm, const char *mark)
{
	struct sm_cluster *c = sm->cluster;
	size_t n = strspn(mark, "0123456789");

	if (n == 0 || n >= sizeof(c->mark) || mark[n] != '\0') {
		log_warnx("sm: cluster: a bad jc:mark '%.24s' from %s; ignored", mark,
			  sm->cluster_notify);
		return;
	}
	memcpy(c->mark, mark, n + 1);
	c->mark_untold = 1;
	if (c->done_timer != NULL && !mio_timer_pending(c->done_timer))
		mio_timer_start(c->done_timer, 0, 0);
}

int sm_cluster_in(struct sm *sm, struct nad *route, int payload)
{
	const char *from = nad_attr(route, 0, NULL, "from");
	const char *ns = nad_ns(route, payload);
	struct jc_attrs jc;

	if (sm->cluster == NULL || from == NULL)
		return 0;
	/* Our own forward (rule 7) or broadcast (rule 8) handed back: a
	 * module that does not forward yet. Dropped, or it would go round. */
	if (strcmp(from, sm->router_id) == 0 && nad_attr(route, 0, NS, "node") != NULL) {
		if (sm->cluster->looped++ == 0)
			log_warnx("sm: cluster: %s handed back a stanza we forwarded to node %s; "
				  "dropped (logged once)", sm->cluster_notify,
				  nad_attr(route, 0, NS, "node"));
		return 1;
	}
	if (strcmp(from, sm->cluster_notify) != 0)
		return 0;
	jc_attrs_get(route, &jc);
	if (jc.mark != NULL)
		mark_taken(sm, jc.mark);        /* before anything can drop it */
	if (jc.from_node != NULL || jc.undelivered != NULL) {
		cluster_forwarded(sm, route, payload, &jc);
		if (sm->cluster->done_timer == NULL)
			done_send(sm);          /* no loop (tests): after what it delivered */
		return 1;
	}
	if (ns != NULL && strcmp(ns, NS) == 0) {
		const char *name = nad_name(route, payload);

		if (strcmp(name, "remote") == 0)
			cluster_remote(sm, route, payload);
		else if (strcmp(name, "conflict") == 0)
			cluster_conflict(sm, route, payload);
		else if (strcmp(name, "merged") == 0)
			cluster_merged(sm, route, payload);
		else if (strcmp(name, "revived") == 0)
			cluster_revived(sm);
		else if (strcmp(name, "hold") == 0)
			cluster_hold(sm, route, payload);       /* i14 */
		else
			log_warnx("sm: cluster: unknown element '%s' from %s", name, from);
		return 1;
	}
	return 0;
}

/* ---- life ---- */

void sm_cluster_init(struct sm *sm)
{
	struct sm_cluster *c;

	if (sm->router_id == NULL || sm->cluster_notify == NULL)
		return;
	c = xcalloc(1, sizeof(*c));
	rtab_init(&c->remote);
	c->nodes = xhash_new();
	c->held_nodes = xhash_new();
	c->wait_since = time(NULL);
	if (sm->mio != NULL) {
		c->timer = mio_timer_new(sm->mio, cluster_timer, sm);
		mio_timer_start(c->timer, 1000, 1);
		c->done_timer = mio_timer_new(sm->mio, done_timer, sm);
	}
	sm->cluster = c;
}

void sm_cluster_free(struct sm *sm)
{
	struct sm_cluster *c = sm->cluster;

	if (c == NULL)
		return;
	sm->cluster = NULL;
	while (c->nheld > 0)
		pkt_free(&c->held[--c->nheld]);
	free(c->held);
	if (sm->users != NULL)
		stubs_forget_all(sm);
	rtab_clear(&c->remote);
	free(c->remote.v);
	xhash_free(&c->held_nodes);           /* its names are c->nodes' */
	xhash_clear(c->nodes, free);
	xhash_free(&c->nodes);
	mio_timer_free(&c->timer);
	mio_timer_free(&c->done_timer);
	sm_fwd_clear(&c->batch);
	free(c->batch_from);
	free(c);
}
