/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cluster_local.c: see cluster_local.h. */
#include "config.h"
#include "router/router_module.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster-mod/cluster_config.h"
#include "cluster-mod/cluster_fwd.h"
#include "cluster-mod/cluster_local.h"
#include "cluster-mod/cluster_route.h"
#include "cluster-mod/cluster_peer.h"
#include "cluster-mod/cluster_proto.h"
#include "cluster-mod/cluster_state.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/nad.h"
#include "util/xhash.h"

#define SESSION_NS "urn:jabberd-cluster:session"
/* The sm <-> c2s session namespace (jabberd2's sc:, sm/sm.h SM_NS_SESSION). */
#define C2S_SESSION_NS "http://jabberd.jabberstudio.org/ns/session/1.0"
#define NS_CARBONS "urn:xmpp:carbons:2"
/* The router's component namespace (router/router.h ROUTER_NS_COMP). */
#define CLUSTER_NS_COMP "http://jabberd.jabberstudio.org/ns/component/1.0"

struct cluster_local {
	struct router *r;
	const struct cluster_config *cc;
	struct cluster_peers *peers;
	struct cluster_state *state;
	struct router_mod_timer *flush;
	int flush_armed;
	struct router_mod_timer *retry; /* snapshots waiting for link room */
	int retry_armed;
	unsigned long handed, dropped, notified, refused;
	/* ---- i13-fwd: forwarding and the sm's side of iface13.md ---- */
	struct cluster_fwd *fwd;
	struct nad_reader *reader;      /* parses the peers' routes (one parser) */
	struct nad *stubs;              /* <route><remote> being filled (rule 1) */
	int nstubs;
	/* Rule 1's line form (the sm's <sync lines='1'/>): the <set/> or
	 * <del/> being filled in cl->stubs, its node and reason. */
	int sm_lines;
	int line_el;
	const char *line_reason;        /* NULL: <set/> */
	char line_node[CLUSTER_NODE_NAME_MAX + 1];
	int sync_pending;               /* a <sync/> waits for `synced` (rule 2) */
	uint64_t start_ms;
	struct router_mod_timer *sync_timer;
	struct xhash *bare;             /* bare JID -> local sessions (redirects) */
	struct router_mod_timer *dead[CLUSTER_MAX_PEERS]; /* link lost, waiting */
	struct dead_ctx {
		struct cluster_local *cl;
		int i;
	} dead_ctx[CLUSTER_MAX_PEERS];
	struct cluster_local_counters c;
	struct xhash *held;             /* i14: nodes held down (rule 11) */
	int sm_absent;                  /* i13-resync: a route to the sm failed
					 * (logged once until one is handed) */
	/* i13-fed: STANZAs for a component (one target without '@') */
	const struct cluster_local_component_hooks *comp;
	void *comp_ctx;
	/* Rule 10: what arrives for the sm while it is not connected. */
	int sm_up;                      /* its advertisement seen, or a route taken */
	struct held *held_head, *held_tail;
	size_t nheld, held_bytes;
	struct router_mod_timer *hold_timer;
	int hold_armed;
	/* Direct delivery: full JID -> struct direct_sess, the local
	 * sessions the sm said take forwarded messages without it; the
	 * newest jc:mark handed to the sm, and the newest it has taken. */
	struct xhash *direct;
	uint64_t mark, done;
};

/* A local session that direct delivery may reach (the sm's direct='1'). */
struct direct_sess {
	char *c2s, *c2s_id, *sm_id;
	uint64_t mark;                  /* the last jc:mark naming it */
};

/* A route for the sm held while it is away (rule 10). */
struct held {
	struct held *next;
	struct nad *nad;                /* to = S, as it would have gone */
	size_t cost;                    /* the route's bytes as received */
	uint64_t since_ms;
	int returnable;                 /* a peer's targeted STANZA, not a return */
	char peer[CLUSTER_NODE_NAME_MAX + 1];
};

static int send_hook(void *ctx, const char *peer, const struct cluster_frame *frame)
{
	struct cluster_local *cl = ctx;

	return cluster_peers_send(cl->peers, peer, frame);
}

static void stubs_flush(struct cluster_local *cl);
static void retry_arm(struct cluster_local *cl, int more);

static void flush_arm(struct cluster_local *cl)
{
	if (!cl->flush_armed) {
		cl->flush_armed = 1;
		router_mod_timer_start(cl->flush, 0, 0);
	}
}

static void flush_cb(void *ctx)
{
	struct cluster_local *cl = ctx;

	cl->flush_armed = 0;
	cluster_state_flush(cl->state);
	stubs_flush(cl);                /* i13-fwd */
	retry_arm(cl, cluster_fwd_flush(cl->fwd));
}

/* STANZAs a full link refused are tried again every RETRY_MS (snapshot
 * chunks go when the link's output drains: cluster_local_peer_drained). */
#define RETRY_MS 20

static void retry_cb(void *ctx)
{
	struct cluster_local *cl = ctx;

	if (!cluster_fwd_flush(cl->fwd)) {      /* i13-fwd */
		router_mod_timer_stop(cl->retry);
		cl->retry_armed = 0;
	}
}

static void retry_arm(struct cluster_local *cl, int more)
{
	if (!cl->retry_armed && more) {
		cl->retry_armed = 1;
		router_mod_timer_start(cl->retry, RETRY_MS, 1);
	}
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int is_domain(const struct cluster_local *cl, const char *to)
{
	const char *at = strchr(to, '@'), *d = at != NULL ? at + 1 : to;
	size_t len = strcspn(d, "/");

	for (int i = 0; i < cl->cc->ndomains; i++)
		if (strlen(cl->cc->domains[i]) == len && strncmp(cl->cc->domains[i], d, len) == 0)
			return 1;
	return 0;
}

/* ---- i13-fwd: the module side of iface13.md (docs/cluster-protocol.md,
 * "The module and its sm") and the redirects of patch 4 ---- */

#define JC_PREFIX "jc"
/* <s/> entries per <remote/> route (rule 1). */
#define STUBS_PER_ROUTE 256
/* How often a pending <sync/> checks whether the view is complete. */
#define SYNC_CHECK_MS 100

static int route_to_sm(struct cluster_local *cl, struct nad *nad, const char *what)
{
	const char *error = NULL;

	if (router_mod_route(cl->r, nad, &error) < 0) {
		cl->c.sm_dropped++;
		/* Before the sm binds (a router starting while a snapshot
		 * arrives) this would be one line per 256 remote sessions. */
		if (!cl->sm_absent)
			log_warnx("cluster: %s not handed to %s: %s (the next ones are counted, "
				  "not logged, until one is handed)", what, cl->cc->sm,
				  error != NULL ? error : "undeliverable");
		cl->sm_absent = 1;
		return -1;
	}
	if (cl->sm_absent) {
		log_notice("cluster: routes reach %s again (%llu not handed since start)",
			   cl->cc->sm, (unsigned long long)cl->c.sm_dropped);
		cl->sm_absent = 0;
	}
	return 0;
}

/* A new <route to=S from=D> with one child <NAME xmlns=NS/>. */
static struct nad *sm_route(struct cluster_local *cl, const char *name, int *child_r)
{
	struct nad *nad = nad_new();
	int root = nad_elem_add(nad, NAD_NONE, CLUSTER_NS_COMP, "route");

	nad_attr_set(nad, root, NULL, "to", cl->cc->sm);
	nad_attr_set(nad, root, NULL, "from", cl->cc->domains[0]);
	*child_r = nad_elem_add(nad, root, SESSION_NS, name);
	return nad;
}

static void stubs_flush(struct cluster_local *cl)
{
	if (cl->stubs == NULL)
		return;
	cl->c.stub_routes++;
	(void)route_to_sm(cl, cl->stubs, "remote sessions");
	cl->stubs = NULL;
	cl->nstubs = 0;
	cl->line_el = NAD_NONE;
}

/* Rule 1's line form: one line of text per session in a <set node=N>
 * (adds and updates: "PRIORITY AVAILABLE STARTED JID") or a <del node=N
 * reason=R> ("JID"), consecutive entries of one node (and reason) in one
 * element. A tenth of the attribute form's bytes, and no attribute for
 * either side to build or parse. */
static void stub_line(struct cluster_local *cl, const char *reason,
		      const struct cluster_state_session *s)
{
	char line[48];
	int n = 0;

	if (cl->line_el == NAD_NONE || (cl->line_reason == NULL) != (reason == NULL) ||
	    (reason != NULL && strcmp(cl->line_reason, reason) != 0) ||
	    strcmp(cl->line_node, s->node) != 0) {
		cl->line_el = nad_elem_add(cl->stubs, 1, SESSION_NS, reason != NULL ? "del" : "set");
		nad_attr_set(cl->stubs, cl->line_el, NULL, "node", s->node);
		if (reason != NULL)
			nad_attr_set(cl->stubs, cl->line_el, NULL, "reason", reason);
		cl->line_reason = reason;
		snprintf(cl->line_node, sizeof(cl->line_node), "%s", s->node);
	}
	if (reason == NULL)
		n = snprintf(line, sizeof(line), "%d %d %llu ", s->priority, s->available ? 1 : 0,
			     (unsigned long long)s->started_ms);
	nad_text_append(cl->stubs, cl->line_el, line, (size_t)n);
	nad_text_append(cl->stubs, cl->line_el, s->jid, strlen(s->jid));
	nad_text_append(cl->stubs, cl->line_el, "\n", 1);
}

static void stub_add(struct cluster_local *cl, const char *action, const char *reason,
		     const struct cluster_state_session *s)
{
	char num[32];
	int el, remote;

	if (cl->cc->sm == NULL)
		return;
	if (cl->stubs == NULL) {
		cl->stubs = sm_route(cl, "remote", &remote);
		cl->line_el = NAD_NONE;
	}
	/* A JID with a line end (a peer's frame may carry one: JIDs are
	 * checked by the sm) goes as an <s/>, which the sm judges. */
	if (cl->sm_lines && strpbrk(s->jid, "\r\n") == NULL) {
		stub_line(cl, reason, s);
		goto added;
	}
	el = nad_elem_add(cl->stubs, 1, SESSION_NS, "s");
	nad_attr_set(cl->stubs, el, NULL, "action", action);
	nad_attr_set(cl->stubs, el, NULL, "jid", s->jid);
	nad_attr_set(cl->stubs, el, NULL, "node", s->node);
	if (reason != NULL) {
		nad_attr_set(cl->stubs, el, NULL, "reason", reason);
	} else {
		snprintf(num, sizeof(num), "%d", s->priority);
		nad_attr_set(cl->stubs, el, NULL, "priority", num);
		nad_attr_set(cl->stubs, el, NULL, "available", s->available ? "1" : "0");
		snprintf(num, sizeof(num), "%llu", (unsigned long long)s->started_ms);
		nad_attr_set(cl->stubs, el, NULL, "started", num);
	}
added:
	cl->c.stubs_pushed++;
	if (++cl->nstubs >= STUBS_PER_ROUTE)
		stubs_flush(cl);
	else
		flush_arm(cl);
}

/* Rule 5: the older of a local and a remote session with one full JID
 * ends (ties: the smaller node name's is the older). */
static void conflict_check(struct cluster_local *cl, const char *jid, const char *peer,
			   uint64_t remote_started)
{
	struct cluster_state_session loc;
	struct nad *nad;
	int el;

	if (cl->cc->sm == NULL || cluster_state_lookup(cl->state, jid, cl->cc->node, &loc) < 0)
		return;
	if (loc.started_ms > remote_started ||
	    (loc.started_ms == remote_started && strcmp(cl->cc->node, peer) > 0))
		return;         /* ours is the newer: the peer ends its own */
	log_notice("cluster: %s is also on %s, newer there: ending the local session %s",
		   jid, peer, loc.sid);
	nad = sm_route(cl, "conflict", &el);
	nad_attr_set(nad, el, NULL, "jid", jid);
	nad_attr_set(nad, el, NULL, "sm", loc.sid);
	cl->c.conflicts++;
	stubs_flush(cl);        /* keep the order of what the sm is told */
	(void)route_to_sm(cl, nad, "conflict");
}

static void state_watch(void *ctx, enum cluster_state_change change,
			enum cluster_state_reason reason, const struct cluster_state_session *s)
{
	static const char *const why[] = {
		[CLUSTER_STATE_REASON_NONE] = "end",
		[CLUSTER_STATE_REASON_END] = "end",
		[CLUSTER_STATE_REASON_NODE_DEAD] = "node-dead",
		[CLUSTER_STATE_REASON_REPLACED] = "replaced",
	};
	struct cluster_local *cl = ctx;

	switch (change) {
	case CLUSTER_STATE_ADDED:
		stub_add(cl, "add", NULL, s);
		conflict_check(cl, s->jid, s->node, s->started_ms);
		break;
	case CLUSTER_STATE_UPDATED:
		stub_add(cl, "update", NULL, s);
		break;
	case CLUSTER_STATE_REMOVED:
		stub_add(cl, "remove", why[reason], s);
		break;
	}
}

/* ---- redirects (patch 4, the module's half) ---- */

static void redirect_local(struct cluster_local *cl, const char *jid, int started)
{
	size_t blen = strcspn(jid, "/");
	const char *error = NULL;
	char *bare;
	uintptr_t n;

	if (cl->cc->sm == NULL)
		return;
	if (router_mod_redirect_set(cl->r, jid, cl->cc->sm, &error) < 0)
		log_debug("cluster: no redirect for %s: %s", jid, error);
	if (!started || blen == strlen(jid))
		return;
	bare = xstrndup(jid, blen);
	n = (uintptr_t)xhash_get(cl->bare, bare);
	xhash_put(cl->bare, bare, (void *)(n + 1));
	if (router_mod_redirect_set(cl->r, bare, cl->cc->sm, &error) < 0)
		log_debug("cluster: no redirect for %s: %s", bare, error);
	free(bare);
}

static void redirect_end(struct cluster_local *cl, const char *jid)
{
	size_t blen = strcspn(jid, "/");
	char *bare;
	uintptr_t n;

	if (cl->cc->sm == NULL)
		return;
	(void)router_mod_redirect_clear(cl->r, jid);
	if (blen == strlen(jid))
		return;
	bare = xstrndup(jid, blen);
	n = (uintptr_t)xhash_get(cl->bare, bare);
	if (n <= 1) {
		xhash_remove(cl->bare, bare);
		(void)router_mod_redirect_clear(cl->r, bare);
	} else {
		xhash_put(cl->bare, bare, (void *)(n - 1));
	}
	free(bare);
}

/* At the sm's <sync/>: its name may have gone and come back (the router
 * dropped the entries then); install them all again. */
static void redirect_again(void *ctx, const struct cluster_state_session *s)
{
	struct cluster_local *cl = ctx;
	size_t blen = strcspn(s->jid, "/");
	char *bare = xstrndup(s->jid, blen);

	(void)router_mod_redirect_set(cl->r, s->jid, cl->cc->sm, NULL);
	(void)router_mod_redirect_set(cl->r, bare, cl->cc->sm, NULL);
	free(bare);
}

/* ---- rule 2: <sync/> ---- */

/* The module's view is complete: every live peer's entries are here of
 * its current incarnation; peers not open 2 x the heartbeat timeout after
 * start do not count. */
static int view_complete(const struct cluster_local *cl)
{
	unsigned timeout = cl->cc->profile == CLUSTER_PROFILE_WAN ? CLUSTER_PEER_WAN_TIMEOUT_MS :
			   CLUSTER_PEER_LAN_TIMEOUT_MS;
	int late = now_ms() - cl->start_ms >= 2u * timeout;
	struct cluster_peer_open_info info;

	for (int i = 0; i < cl->cc->npeers; i++) {
		const char *name = cl->cc->peers[i].name;

		if (!cluster_peers_open_info(cl->peers, name, &info)) {
			if (!late)
				return 0;
			continue;
		}
		if (!cluster_state_peer_synced(cl->state, name, info.incarnation))
			return 0;
	}
	return 1;
}

static void send_synced(struct cluster_local *cl)
{
	int el;
	struct nad *nad = sm_route(cl, "remote", &el);

	nad_attr_set(nad, el, NULL, "synced", "1");
	cl->sync_pending = 0;
	router_mod_timer_stop(cl->sync_timer);
	stubs_flush(cl);
	(void)route_to_sm(cl, nad, "synced");
}

static void sync_check(void *ctx)
{
	struct cluster_local *cl = ctx;

	if (cl->sync_pending && view_complete(cl))
		send_synced(cl);
}

static void stub_again(void *ctx, const struct cluster_state_session *s)
{
	stub_add(ctx, "add", NULL, s);
}

/* ---- i14, rule 11: members held down (flap damping) ---- */

static void hold_route(struct cluster_local *cl, const char *node, int held)
{
	struct nad *nad;
	int el;

	if (cl->cc->sm == NULL)
		return;
	nad = sm_route(cl, "hold", &el);
	nad_attr_set(nad, el, NULL, "node", node);
	nad_attr_set(nad, el, NULL, "held", held ? "1" : "0");
	cl->c.holds++;
	(void)route_to_sm(cl, nad, "hold");
}

static void hold_again(struct cluster_local *cl)
{
	struct xhash_iter it;
	const char *node;

	xhash_iter_init(cl->held, &it);
	while (xhash_iter_next(&it, &node, NULL))
		hold_route(cl, node, 1);
}

void cluster_local_hold(struct cluster_local *cl, const char *node, int held)
{
	char *key;

	if (held && xhash_get(cl->held, node) == NULL) {
		key = xstrdup(node);
		xhash_put(cl->held, key, key);
	} else if (!held && (key = xhash_get(cl->held, node)) != NULL) {
		xhash_remove(cl->held, node);
		free(key);
	} else {
		return;
	}
	/* Remote sessions already queued go first: the sm applies the hold
	 * to what follows. */
	stubs_flush(cl);
	hold_route(cl, node, held);
}

/* ---- end of i14 ---- */

static void on_sync(struct cluster_local *cl, int lines)
{
	int el;
	struct nad *reset;

	cl->c.syncs++;
	cl->sm_lines = lines;
	if (cl->stubs != NULL)          /* the whole table follows */
		nad_free(&cl->stubs);
	cl->nstubs = 0;
	reset = sm_route(cl, "remote", &el);
	nad_attr_set(reset, el, NULL, "reset", "1");
	(void)route_to_sm(cl, reset, "reset");
	hold_again(cl);                 /* i14: the reset forgot them */
	cluster_state_foreach(cl->state, 0, stub_again, cl);
	stubs_flush(cl);
	cluster_state_foreach(cl->state, 1, redirect_again, cl);
	if (view_complete(cl)) {
		send_synced(cl);
	} else if (!cl->sync_pending) {
		cl->sync_pending = 1;
		router_mod_timer_start(cl->sync_timer, SYNC_CHECK_MS, 1);
	}
}

/* ---- rules 3, 4, 6, 7, 8: stanzas between sms ---- */

/* "a b c" into at most CLUSTER_TARGETS_MAX full JIDs, in place. Returns
 * the count, or -1 when there are too many or one is too long. */
static int split_targets(char *list, const char **v)
{
	int n = 0;

	for (char *save = NULL, *t = strtok_r(list, " ", &save); t != NULL;
	     t = strtok_r(NULL, " ", &save)) {
		if (n == CLUSTER_TARGETS_MAX || strlen(t) > CLUSTER_JID_MAX)
			return -1;
		v[n++] = t;
	}
	return n;
}

static char *join_targets(const char *const *targets, size_t n)
{
	struct buf b;

	buf_init(&b);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			buf_append_char(&b, ' ');
		buf_append_str(&b, targets[i]);
	}
	buf_append_char(&b, '\0');
	return buf_steal(&b, NULL);
}

/* The route's bytes as a peer sends them, back into a route for our sm:
 * to = S, from = the domain it was sent to. NULL if it does not parse. */
static struct nad *route_for_sm(struct cluster_local *cl, const uint8_t *bytes, size_t len)
{
	const char *error = NULL, *to;
	struct nad *nad = nad_reader_parse(cl->reader, (const char *)bytes, len, 64, &error,
					   NULL);

	if (nad == NULL || strcmp(nad_name(nad, 0), "route") != 0) {
		log_warnx("cluster: a forwarded route does not parse: %s",
			  error != NULL ? error : "not a <route/>");
		nad_free(&nad);
		return NULL;
	}
	to = nad_attr(nad, 0, NULL, "to");
	nad_attr_set(nad, 0, NULL, "from",
		     to != NULL && is_domain(cl, to) ? to : cl->cc->domains[0]);
	nad_attr_set(nad, 0, NULL, "to", cl->cc->sm);
	return nad;
}

/* i13-fed: a STANZA for a component: one target, a name without '@'
 * (sm targets are full JIDs of users). */
static int is_component(const struct cluster_local *cl, const char *const *targets,
			size_t ntargets)
{
	return cl->comp != NULL && ntargets == 1 && strchr(targets[0], '@') == NULL;
}

/* ---- rule 10: the sm away ---- */

static void hold_arm(struct cluster_local *cl)
{
	if (!cl->hold_armed) {
		cl->hold_armed = 1;
		router_mod_timer_start(cl->hold_timer, CLUSTER_LOCAL_HOLD_TICK_MS, 1);
	}
}

/* A held route the sm did not come back for: a peer's targeted STANZA
 * goes back to that peer as jc:undelivered='sm-gone' (its sm then
 * delivers it elsewhere, stores it or answers); anything else is
 * dropped, counted. Takes h. */
static void give_up(struct cluster_local *cl, struct held *h, const char *why)
{
	const char *list = nad_attr(h->nad, 0, SESSION_NS, "targets");
	static const char *v[CLUSTER_TARGETS_MAX];
	char *copy = xstrdup(list != NULL ? list : "");
	int n = split_targets(copy, v);

	if (h->returnable && n > 0) {
		struct buf bytes;

		nad_attr_set(h->nad, 0, SESSION_NS, "from-node", NULL);
		nad_attr_set(h->nad, 0, SESSION_NS, "targets", NULL);
		nad_attr_set_prefixed(h->nad, 0, SESSION_NS, JC_PREFIX, "undelivered", "sm-gone");
		buf_init(&bytes);
		nad_serialize(h->nad, 0, NULL, &bytes);
		cl->c.sm_returned++;
		log_info("cluster: %s: a stanza from %s for %s handed back to it", why, h->peer,
			 v[0]);
		(void)cluster_fwd_send(cl->fwd, h->peer, (const uint8_t *)bytes.data, bytes.len,
				       v, (size_t)n);
		buf_free(&bytes);
	} else {
		cl->c.sm_dropped++;
		log_warnx("cluster: %s: a held stanza (node %s) for %s dropped", why, h->peer,
			  cl->cc->sm);
	}
	free(copy);
	nad_free(&h->nad);
	free(h);
}

static struct held *held_pop(struct cluster_local *cl)
{
	struct held *h = cl->held_head;

	cl->held_head = h->next;
	if (cl->held_head == NULL)
		cl->held_tail = NULL;
	cl->nheld--;
	cl->held_bytes -= h->cost;
	return h;
}

static void hold_cb(void *ctx)
{
	struct cluster_local *cl = ctx;
	uint64_t now = now_ms();

	while (cl->held_head != NULL && now - cl->held_head->since_ms >= CLUSTER_LOCAL_HOLD_MS)
		give_up(cl, held_pop(cl), "the sm did not come back in time");
	if (cl->held_head == NULL) {
		router_mod_timer_stop(cl->hold_timer);
		cl->hold_armed = 0;
	}
}

/* The sm is bound again: what waited goes to it, oldest first. */
static void sm_back(struct cluster_local *cl)
{
	size_t n = cl->nheld;

	cl->sm_up = 1;
	if (n == 0)
		return;
	stubs_flush(cl);
	while (cl->held_head != NULL) {
		struct held *h = held_pop(cl);

		(void)route_to_sm(cl, h->nad, "held stanza");
		free(h);
	}
	log_notice("cluster: %s is back: %zu held stanza%s handed to it", cl->cc->sm, n,
		   n == 1 ? "" : "s");
}

/* A route for the sm (a peer's STANZA, or one of ours back undelivered):
 * to the sm if it is there, else held (rule 10). `peer` is the node it
 * came from or was meant for; `returnable`: a peer's targeted STANZA.
 * Takes nad. */
static void to_sm(struct cluster_local *cl, struct nad *nad, size_t cost, const char *peer,
		  int returnable, const char *what)
{
	struct held *h;

	if (cl->sm_up) {
		(void)route_to_sm(cl, nad, what);
		return;
	}
	if (cl->held_head == NULL) {
		/* No advertisement seen yet (it may have come before us):
		 * try; taken means the sm is there. */
		struct nad *copy = nad_copy(nad);

		if (router_mod_route(cl->r, copy, NULL) == 0) {
			nad_free(&nad);
			cl->sm_up = 1;
			return;
		}
	}
	while (cl->held_head != NULL && (cl->nheld >= CLUSTER_LOCAL_HOLD_MAX ||
					 cl->held_bytes + cost > CLUSTER_LOCAL_HOLD_BYTES))
		give_up(cl, held_pop(cl), "too much held for the sm");
	h = xcalloc(1, sizeof(*h));
	h->nad = nad;
	h->cost = cost;
	h->since_ms = now_ms();
	h->returnable = returnable;
	snprintf(h->peer, sizeof(h->peer), "%s", peer);
	if (cl->held_tail != NULL)
		cl->held_tail->next = h;
	else
		cl->held_head = h;
	cl->held_tail = h;
	cl->nheld++;
	cl->held_bytes += cost;
	cl->c.sm_held++;
	if (cl->nheld == 1)
		log_notice("cluster: %s is not connected: holding stanzas for it (at most %d, "
			   "%d s)", cl->cc->sm, CLUSTER_LOCAL_HOLD_MAX, CLUSTER_LOCAL_HOLD_MS / 1000);
	hold_arm(cl);
}

/* ---- direct delivery (docs/cluster-protocol.md, "Direct delivery") ---- */

static void direct_free(void *v)
{
	struct direct_sess *d = v;

	if (d == NULL)
		return;
	free(d->c2s);
	free(d->c2s_id);
	free(d->sm_id);
	free(d);
}

static void direct_forget(struct cluster_local *cl, const char *jid)
{
	direct_free(xhash_remove(cl->direct, jid));
}

/* The sm's notification for a local session: what direct delivery needs
 * (start and update with direct='1'), or nothing. */
static void direct_note(struct cluster_local *cl, const char *jid, const char *sid,
			const struct nad *nad, int el)
{
	const char *direct = nad_attr(nad, el, NULL, "direct");
	const char *c2s = nad_attr(nad, el, NULL, "c2s");
	const char *c2s_id = nad_attr(nad, el, NULL, "c2s-id");
	struct direct_sess *d;

	if (direct == NULL || strcmp(direct, "1") != 0 || c2s == NULL || c2s_id == NULL ||
	    sid == NULL || c2s[0] == '\0' || c2s_id[0] == '\0' || sid[0] == '\0') {
		direct_forget(cl, jid);
		return;
	}
	d = xhash_get(cl->direct, jid);
	if (d == NULL) {
		d = xcalloc(1, sizeof(*d));
		/* Whatever is on its way through the sm now goes first. */
		d->mark = cl->mark;
		xhash_put(cl->direct, jid, d);
	}
	free(d->c2s);
	free(d->c2s_id);
	free(d->sm_id);
	d->c2s = xstrdup(c2s);
	d->c2s_id = xstrdup(c2s_id);
	d->sm_id = xstrdup(sid);
}

/* A route for the sm naming targets: if one of them may be reached
 * directly, the route carries jc:mark, and a message for that session
 * goes directly only once the sm says it has taken this one. */
static void direct_mark(struct cluster_local *cl, struct nad *nad, const char *const *targets,
			size_t ntargets)
{
	char m[24];
	int marked = 0;

	if (xhash_count(cl->direct) == 0)
		return;
	for (size_t i = 0; i < ntargets; i++) {
		struct direct_sess *d = xhash_get(cl->direct, targets[i]);

		if (d == NULL)
			continue;
		if (!marked)
			cl->mark++;
		marked = 1;
		d->mark = cl->mark;
	}
	if (!marked)
		return;
	snprintf(m, sizeof(m), "%llu", (unsigned long long)cl->mark);
	nad_attr_set_prefixed(nad, 0, SESSION_NS, JC_PREFIX, "mark", m);
}

/* <done mark='N'/> from the sm. */
static void direct_done(struct cluster_local *cl, const struct nad *nad, int el)
{
	const char *m = nad_attr(nad, el, NULL, "mark");
	char *end = NULL;
	unsigned long long v;

	if (m == NULL || m[0] < '0' || m[0] > '9' ||
	    (v = strtoull(m, &end, 10), *end != '\0') || v > cl->mark) {
		log_warnx("cluster: <done mark='%.24s'/> from %s refused: not a mark we gave",
			  m != NULL ? m : "", cl->cc->sm);
		return;
	}
	if (v > cl->done)
		cl->done = v;
}

/*
 * A peer's STANZA for one local session the sm said needs nothing of it
 * (direct='1'): a message, not a carbon copy (the session may not want
 * it), with nothing marked for that session still on its way through the
 * sm, is handed to the session's c2s as the sm would have wrapped it
 * (cluster_to_sess() then pkt_sess() in sm/cluster.c). `nad` is the route
 * as parsed (route_for_sm). Returns 1 if it went (nad taken), 0 to hand
 * it to the sm as usual.
 */
static int direct_deliver(struct cluster_local *cl, struct nad *nad, const uint8_t *route,
			  size_t len, const char *target)
{
	struct direct_sess *d = xhash_get(cl->direct, target);
	const char *error = NULL;
	struct buf raw = { 0 };
	const char *ns;
	int p;

	if (d == NULL || !cl->sm_up)
		return 0;
	p = nad_child(nad, 0, NULL, NULL);
	if (p == NAD_NONE || nad_next(nad, p, NULL, NULL) != NAD_NONE ||
	    strcmp(nad_name(nad, p), "message") != 0 || (ns = nad_ns(nad, p)) == NULL ||
	    strcmp(ns, "jabber:client") != 0 || nad_attr(nad, p, NULL, "from") == NULL ||
	    nad_attr(nad, p, NULL, "to") == NULL ||
	    nad_attr(nad, 0, SESSION_NS, "undelivered") != NULL ||
	    nad_child(nad, p, NS_CARBONS, "received") != NAD_NONE ||
	    nad_child(nad, p, NS_CARBONS, "sent") != NAD_NONE)
		return 0;
	if (d->mark > cl->done) {
		cl->c.direct_waited++;
		return 0;
	}
	if (router_mod_congested(cl->r, d->c2s) != 0)
		return 0;       /* not there (the sm decides), or its output is full */
	nad_attr_set(nad, 0, NULL, "to", d->c2s);
	nad_attr_set(nad, 0, NULL, "from", cl->cc->sm);
	nad_attr_set(nad, 0, SESSION_NS, "also", NULL);
	nad_attr_set(nad, 0, SESSION_NS, "hops", NULL);
	nad_attr_set(nad, 0, SESSION_NS, "mark", NULL);
	nad_attr_set_prefixed(nad, p, C2S_SESSION_NS, "jcs", "c2s", d->c2s_id);
	nad_attr_set_prefixed(nad, p, C2S_SESSION_NS, "jcs", "sm", d->sm_id);
	if (cluster_route_for_session((const char *)route, len, NULL, nad, C2S_SESSION_NS,
				      d->c2s_id, d->sm_id, &raw) == 0)
		nad_raw_set(nad, raw.data, raw.len, NULL);
	buf_free(&raw);
	if (router_mod_route(cl->r, nad, &error) < 0) {
		cl->c.sm_dropped++;
		log_warnx("cluster: a message for %s not handed to %s: %s", target, d->c2s,
			  error != NULL ? error : "undeliverable");
		return 1;
	}
	cl->c.direct++;
	return 1;
}

/* A STANZA from a peer (rules 3 and 6). */
static void fwd_deliver(void *ctx, const char *peer, const uint8_t *route, size_t len,
			const char *const *targets, size_t ntargets)
{
	struct cluster_local *cl = ctx;
	struct nad *nad;
	const char *ret;

	if (is_component(cl, targets, ntargets) &&             /* i13-fed */
	    cl->comp->deliver(cl->comp_ctx, peer, route, len, targets[0]))
		return;
	cl->c.fwd_in++;
	if (cl->cc->sm == NULL || (nad = route_for_sm(cl, route, len)) == NULL) {
		cl->c.sm_dropped++;
		return;
	}
	if (ntargets == 1 && direct_deliver(cl, nad, route, len, targets[0]))
		return;
	ret = nad_attr(nad, 0, SESSION_NS, "undelivered");
	if (ret != NULL) {
		/* Rule 10: one of ours the peer's sm never took, back. */
		if (strcmp(ret, "sm-gone") != 0 || ntargets == 0) {
			cl->c.sm_dropped++;
			log_warnx("cluster: a stanza from %s with jc:undelivered='%s'%s; dropped",
				  peer, ret, ntargets == 0 ? " and no targets" : "");
			nad_free(&nad);
			return;
		}
		cl->c.undelivered++;
		cl->c.undelivered_by[CLUSTER_LOCAL_SM_GONE]++;
		nad_attr_set_prefixed(nad, 0, SESSION_NS, JC_PREFIX, "node", peer);
	} else {
		nad_attr_set_prefixed(nad, 0, SESSION_NS, JC_PREFIX, "from-node", peer);
	}
	if (ntargets > 0) {
		char *list = join_targets(targets, ntargets);

		nad_attr_set_prefixed(nad, 0, SESSION_NS, JC_PREFIX, "targets", list);
		free(list);
		if (ret == NULL)
			direct_mark(cl, nad, targets, ntargets);
	}
	if (ret == NULL && cl->sm_up) {
		/* The bytes the router writes for the sm instead of
		 * serializing the whole route again (cluster_route.h). */
		struct buf raw = { 0 };

		if (cluster_route_bytes((const char *)route, len, NULL, nad, &raw) == 0)
			nad_raw_set(nad, raw.data, raw.len, NULL);
		buf_free(&raw);
	}
	stubs_flush(cl);        /* stubs the stanza may rely on go first */
	to_sm(cl, nad, len, peer, ret == NULL && ntargets > 0, "forwarded stanza");
}

static_assert(CLUSTER_FWD_HOP_LIMIT + 1 == CLUSTER_LOCAL_SM_GONE,
	      "undelivered_by: the cluster_fwd reasons, then sm-gone");

/* Rule 4: what the cluster could not deliver goes back to our sm. */
static void fwd_undelivered(void *ctx, const char *node, enum cluster_fwd_reason reason,
			    const uint8_t *route, size_t len, const char *const *targets,
			    size_t ntargets)
{
	struct cluster_local *cl = ctx;
	struct nad *nad;
	char *list;

	if (is_component(cl, targets, ntargets) &&             /* i13-fed */
	    cl->comp->undelivered(cl->comp_ctx, node, route, len, targets[0]))
		return;
	cl->c.undelivered++;
	if ((unsigned)reason < CLUSTER_LOCAL_REASONS)
		cl->c.undelivered_by[reason]++;
	if (cl->cc->sm == NULL || (nad = route_for_sm(cl, route, len)) == NULL) {
		cl->c.sm_dropped++;
		return;
	}
	list = join_targets(targets, ntargets);
	nad_attr_set_prefixed(nad, 0, SESSION_NS, JC_PREFIX, "undelivered",
			      cluster_fwd_reason_name(reason));
	nad_attr_set_prefixed(nad, 0, SESSION_NS, JC_PREFIX, "node", node);
	nad_attr_set_prefixed(nad, 0, SESSION_NS, JC_PREFIX, "targets", list);
	free(list);
	to_sm(cl, nad, len, node, 0, "undelivered stanza");
}

static int fwd_send(void *ctx, const char *peer, const struct cluster_frame *frame)
{
	struct cluster_local *cl = ctx;

	return cluster_peers_send(cl->peers, peer, frame);
}

/* Rule 9: jc:hops absent, or 1..CLUSTER_LOCAL_HOPS_MAX. */
static int hops_ok(const char *h)
{
	return h == NULL || (h[0] >= '1' && h[0] <= '0' + CLUSTER_LOCAL_HOPS_MAX && h[1] == '\0');
}

/* The attributes of a route's root the module reads, in one pass over
 * them rather than a lookup each (every forwarded stanza comes here). */
struct route_attrs {
	const char *to, *from;                  /* no namespace */
	const char *node, *targets, *hops;      /* SESSION_NS */
};

static void route_attrs_get(const struct nad *nad, struct route_attrs *ra)
{
	const char *ns, *name, *value;
	int pos = 0;

	memset(ra, 0, sizeof(*ra));
	while (nad_attr_next(nad, 0, &pos, &ns, &name, &value)) {
		if (ns == NULL) {
			if (strcmp(name, "to") == 0)
				ra->to = value;
			else if (strcmp(name, "from") == 0)
				ra->from = value;
		} else if (strcmp(ns, SESSION_NS) == 0) {
			if (strcmp(name, "node") == 0)
				ra->node = value;
			else if (strcmp(name, "targets") == 0)
				ra->targets = value;
			else if (strcmp(name, "hops") == 0)
				ra->hops = value;
		}
	}
}

/* Rules 7 and 8: a route from S with jc:node (ra: its attributes). Takes
 * the nad. */
static void forward_from_sm(struct cluster_local *cl, struct nad *nad,
			    const struct route_attrs *ra)
{
	const char *node = ra->node;
	static const char *v[CLUSTER_TARGETS_MAX];
	char *list = xstrdup(ra->targets != NULL ? ra->targets : "");
	int n = split_targets(list, v);
	int hop_limit = !hops_ok(ra->hops);
	struct buf bytes;
	/* The stanza goes on as the bytes the route came in from the sm
	 * (nad_raw), less jc:node and jc:targets (and a bad jc:hops), and
	 * less from, which the receiver sets itself (rule 3): left out as the
	 * start tag is written, for changing the nad would drop those bytes. */
	static const struct cluster_route_attr drop[] = {
		{ SESSION_NS, "hops" },         /* only past the hop limit */
		{ SESSION_NS, "node" }, { SESSION_NS, "targets" }, { NULL, "from" },
		{ NULL, NULL },
	};
	size_t raw_len = 0;
	const char *raw_ns = NULL, *raw = nad_raw(nad, &raw_len, &raw_ns);

	/* The session changes the sm told us before this stanza reach the
	 * peers before it (same link, in order): their sm may answer it over
	 * them (a probe answered to the bare JID of a session just available). */
	cluster_state_flush(cl->state);
	buf_init(&bytes);
	if (raw == NULL || cluster_route_bytes_as(raw, raw_len, raw_ns, nad,
						  hop_limit ? drop : drop + 1, &bytes) < 0) {
		nad_attr_set(nad, 0, SESSION_NS, "node", NULL);
		nad_attr_set(nad, 0, SESSION_NS, "targets", NULL);
		nad_attr_set(nad, 0, NULL, "from", NULL);
		if (hop_limit)
			nad_attr_set(nad, 0, SESSION_NS, "hops", NULL);
		nad_serialize(nad, 0, NULL, &bytes);
	}
	if (strcmp(node, "*") == 0) {
		struct cluster_peer_open_info info;

		cl->c.broadcasts++;
		for (int i = 0; i < cl->cc->npeers; i++)
			if (cluster_peers_open_info(cl->peers, cl->cc->peers[i].name, &info))
				(void)cluster_fwd_send(cl->fwd, cl->cc->peers[i].name,
						       (const uint8_t *)bytes.data, bytes.len,
						       NULL, 0);
	} else if (n <= 0) {
		cl->c.sm_dropped++;
		log_warnx("cluster: route for node %s dropped: jc:targets %s", node,
			  n == 0 ? "missing or empty" : "has too many or too long JIDs");
	} else if (hop_limit) {
		log_warnx("cluster: route for node %s handed back: jc:hops past %d or not a "
			  "number", node, CLUSTER_LOCAL_HOPS_MAX);
		fwd_undelivered(cl, node, CLUSTER_FWD_HOP_LIMIT, (const uint8_t *)bytes.data,
				bytes.len, v, (size_t)n);
	} else {
		cl->c.fwd_out++;
		(void)cluster_fwd_send(cl->fwd, node, (const uint8_t *)bytes.data, bytes.len, v,
				       (size_t)n);
	}
	buf_free(&bytes);
	free(list);
	nad_free(&nad);
}

/* The local sm went away (the router's unavailable presence for S): c2s
 * closes the sessions it held (patch 1), so they end here too, and the
 * router has dropped the redirects naming S. */
static void collect_jid(void *ctx, const struct cluster_state_session *s)
{
	struct buf *b = ctx;

	buf_append(b, s->jid, strlen(s->jid) + 1);
}

static void local_sm_gone(struct cluster_local *cl)
{
	struct buf jids;
	size_t n = 0;

	buf_init(&jids);
	cluster_state_foreach(cl->state, 1, collect_jid, &jids);
	for (size_t off = 0; off < jids.len; off += strlen(jids.data + off) + 1, n++)
		(void)cluster_state_local_remove(cl->state, jids.data + off);
	buf_free(&jids);
	xhash_clear(cl->bare, NULL);
	xhash_clear(cl->direct, direct_free);
	cl->sm_up = 0;
	cl->sm_lines = 0;       /* the next sm says what it takes */
	log_notice("cluster: %s went away: its %zu sessions ended", cl->cc->sm, n);
	flush_arm(cl);
}

void cluster_local_node_dead(struct cluster_local *cl, const char *node)
{
	cluster_state_drop_node(cl->state, node, CLUSTER_STATE_DROP_NODE_DEAD);
	cluster_fwd_node_gone(cl->fwd, node, CLUSTER_FWD_NODE_DEAD);
	stubs_flush(cl);
}

/* i14-part: 1 when peer is open and its entries are all here. */
int cluster_local_peer_synced(const struct cluster_local *cl, const char *peer)
{
	struct cluster_peer_open_info info;

	return cluster_peers_open_info(cl->peers, peer, &info) &&
	       cluster_state_peer_synced(cl->state, peer, info.incarnation);
}

/* i14-part: rule 12, <merged nodes='N...'/>, after the stubs it relies on. */
void cluster_local_merged(struct cluster_local *cl, const char *const *nodes, size_t n)
{
	char *list = join_targets(nodes, n);
	struct nad *nad;
	int el;

	log_notice("cluster: merged with %s (declared dead here, back with its sessions): "
		   "telling %s", list, cl->cc->sm != NULL ? cl->cc->sm : "no sm");
	if (cl->cc->sm != NULL) {
		nad = sm_route(cl, "merged", &el);
		nad_attr_set(nad, el, NULL, "nodes", list);
		stubs_flush(cl);
		cl->c.merges++;
		(void)route_to_sm(cl, nad, "merged");
	}
	free(list);
}

/* i14-part: rule 13, <revived/>. */
void cluster_local_revived(struct cluster_local *cl)
{
	struct nad *nad;
	int el;

	log_notice("cluster: every peer sees this node's new incarnation: telling %s",
		   cl->cc->sm != NULL ? cl->cc->sm : "no sm");
	if (cl->cc->sm != NULL) {
		nad = sm_route(cl, "revived", &el);
		stubs_flush(cl);
		(void)route_to_sm(cl, nad, "revived");
	}
}

void cluster_local_reincarnating(struct cluster_local *cl)
{
	cluster_fwd_ack_now(cl->fwd);
}

void cluster_local_reincarnated(struct cluster_local *cl)
{
	cluster_fwd_reincarnated(cl->fwd, cluster_peers_incarnation(cl->peers));
	/* i13-resync: the state's frames carry the incarnation HELLO says,
	 * which is what a peer's <sync/> compares (view_complete). */
	cluster_state_reincarnated(cl->state, cluster_peers_incarnation(cl->peers));
}

/* Membership declares dead only nodes that were alive once; a configured
 * peer whose link has not opened 2 x the heartbeat timeout after start is
 * taken for dead here, so that stanzas for it come back to the sm. */
static void dead_cb(void *ctx)
{
	struct dead_ctx *d = ctx;
	const char *name = d->cl->cc->peers[d->i].name;

	log_notice("cluster: %s not reached within 2 x the heartbeat timeout: stanzas for it "
		   "go back to the sm", name);
	cluster_local_node_dead(d->cl, name);
}

static int peer_index(const struct cluster_local *cl, const char *peer)
{
	for (int i = 0; i < cl->cc->npeers && i < CLUSTER_MAX_PEERS; i++)
		if (strcmp(cl->cc->peers[i].name, peer) == 0)
			return i;
	return -1;
}

static unsigned dead_wait_ms(const struct cluster_local *cl)
{
	return 2u * (cl->cc->profile == CLUSTER_PROFILE_WAN ? CLUSTER_PEER_WAN_TIMEOUT_MS :
		     CLUSTER_PEER_LAN_TIMEOUT_MS);
}

void cluster_local_tables(const struct cluster_local *cl, struct cluster_local_tables *t)
{
	memset(t, 0, sizeof(*t));
	t->local = cluster_state_count(cl->state, cl->cc->node);
	t->remote = cluster_state_count(cl->state, NULL) - t->local;
	t->counters = cl->c;
	t->redirects = cl->cc->sm != NULL ? t->local + xhash_count(cl->bare) : 0;
	t->handed = cl->handed;
	t->held = cl->nheld;
	t->direct_sessions = xhash_count(cl->direct);
}

int cluster_local_peer_tables(const struct cluster_local *cl, const char *peer,
			      struct cluster_local_peer_tables *t)
{
	struct cluster_fwd_queue q;

	memset(t, 0, sizeof(*t));
	t->sessions = cluster_state_count(cl->state, peer);
	if (cluster_fwd_queue_info(cl->fwd, peer, &q) < 0)
		return -1;
	t->unacked = q.frames;
	t->unacked_bytes = q.bytes;
	t->sent = q.sent;
	t->received = q.received;
	t->undelivered = q.undelivered;
	t->fwd = q;
	return 0;
}

/* ---- end of i13-fwd helpers ---- */

/* ---- i13-fed: what cluster_names.c uses ---- */

struct cluster_state *cluster_local_state(struct cluster_local *cl)
{
	return cl->state;
}

void cluster_local_changed(struct cluster_local *cl)
{
	flush_arm(cl);
}

int cluster_local_send_route(struct cluster_local *cl, const char *node, const uint8_t *route,
			     size_t len, const char *name)
{
	return cluster_fwd_send(cl->fwd, node, route, len, &name, 1);
}

void cluster_local_set_component(struct cluster_local *cl,
				 const struct cluster_local_component_hooks *hooks, void *ctx)
{
	cl->comp = hooks;
	cl->comp_ctx = ctx;
}

/* A local session started or changed: its redirects, and rule 5 against
 * a remote session of the same full JID (a clock ahead elsewhere). */
static void local_started(struct cluster_local *cl, const char *jid, int fresh)
{
	struct cluster_state_session rem;

	redirect_local(cl, jid, fresh);
	if (!fresh)
		return;
	for (int i = 0; i < cl->cc->npeers; i++)
		if (cluster_state_lookup(cl->state, jid, cl->cc->peers[i].name, &rem) == 0) {
			conflict_check(cl, jid, rem.node, rem.started_ms);
			return;
		}
}

/* A <session/> notification from the local sm (patch 3). */
static void session_notify(struct cluster_local *cl, struct nad *nad, int el)
{
	const char *action = nad_attr(nad, el, NULL, "action");
	const char *jid = nad_attr(nad, el, NULL, "jid");
	const char *sid = nad_attr(nad, el, NULL, "sm");
	const char *prio = nad_attr(nad, el, NULL, "priority");
	const char *avail = nad_attr(nad, el, NULL, "available");
	const char *error = "missing action or jid";
	struct cluster_state_session cur;
	int r = -1;

	if (action != NULL && jid != NULL) {
		if (strcmp(action, "end") == 0) {
			direct_forget(cl, jid);
			r = cluster_state_local_remove(cl->state, jid);
			error = "no such session";
			if (r == 0)
				redirect_end(cl, jid);          /* i13-fwd */
		} else if (strcmp(action, "start") == 0 || strcmp(action, "update") == 0) {
			long p = prio != NULL ? strtol(prio, NULL, 10) : 0;
			int fresh = cluster_state_lookup(cl->state, jid, cl->cc->node, &cur) < 0;
			int up = avail != NULL && strcmp(avail, "1") == 0;
			uint64_t started = !fresh && strcmp(action, "update") == 0 ?
					   cur.started_ms : now_ms();

			if (!fresh && strcmp(action, "update") == 0 && cur.priority == (int)p &&
			    cur.available == up && strcmp(cur.sid, sid != NULL ? sid : "") == 0) {
				r = 0;  /* only what direct delivery needs changed */
			} else {
				r = cluster_state_local_set(cl->state, jid, sid, (int)p, up,
							    started, &error);
				if (r == 0)
					local_started(cl, jid, fresh);  /* i13-fwd */
			}
			if (r == 0)
				direct_note(cl, jid, sid, nad, el);
		} else {
			error = "unknown action";
		}
	}
	if (r < 0) {
		cl->refused++;
		log_warnx("cluster: session notification %s %s refused: %s",
			  action != NULL ? action : "-", jid != NULL ? jid : "-", error);
		return;
	}
	cl->notified++;
	flush_arm(cl);
}

void cluster_local_deliver(struct cluster_local *cl, struct nad *nad)
{
	struct route_attrs ra;
	const char *to, *from, *error = NULL;
	int el;

	if (nad_root(nad) == NAD_NONE || strcmp(nad_name(nad, 0), "route") != 0) {
		const char *type = nad_attr(nad, 0, NULL, "type");

		from = nad_attr(nad, 0, NULL, "from");
		if (nad_root(nad) != NAD_NONE && strcmp(nad_name(nad, 0), "presence") == 0 &&
		    cl->cc->sm != NULL && from != NULL && strcmp(from, cl->cc->sm) == 0) {
			if (type != NULL && strcmp(type, "unavailable") == 0)
				local_sm_gone(cl);      /* i13-fwd */
			else if (type == NULL)
				sm_back(cl);            /* rule 10 */
		}
		nad_free(&nad);                 /* advertisements */
		return;
	}
	route_attrs_get(nad, &ra);
	to = ra.to;
	from = ra.from;
	/* i13-fwd: <sync/> and jc:node routes from the sm (rules 2, 7, 8). */
	if (cl->cc->sm != NULL && from != NULL && strcmp(from, cl->cc->sm) == 0) {
		if (ra.node != NULL) {
			forward_from_sm(cl, nad, &ra);
			return;
		}
		if ((el = nad_child(nad, 0, SESSION_NS, "done")) != NAD_NONE) {
			direct_done(cl, nad, el);
			nad_free(&nad);
			return;
		}
		if ((el = nad_child(nad, 0, SESSION_NS, "sync")) != NAD_NONE) {
			const char *lines = nad_attr(nad, el, NULL, "lines");

			on_sync(cl, lines != NULL && strcmp(lines, "1") == 0);
			nad_free(&nad);
			return;
		}
	}
	el = nad_child(nad, 0, SESSION_NS, "session");
	if (el != NAD_NONE) {
		if (cl->cc->sm != NULL && from != NULL && strcmp(from, cl->cc->sm) == 0)
			session_notify(cl, nad, el);
		else
			log_warnx("cluster: session notification from '%s' ignored (not <sm>)",
				  from != NULL ? from : "");
		nad_free(&nad);
		return;
	}
	if (cl->cc->sm == NULL || to == NULL || !is_domain(cl, to)) {
		cl->dropped++;
		log_info("cluster: route to '%s' dropped: %s", to != NULL ? to : "",
			 cl->cc->sm == NULL ? "no <sm> configured" : "not a clustered domain");
		nad_free(&nad);
		return;
	}
	/* Every route for the domains goes to our own sm, which decides
	 * (iface13.md: it knows the remote sessions from rule 1). */
	nad_attr_set(nad, 0, NULL, "to", cl->cc->sm);
	if (router_mod_route(cl->r, nad, &error) < 0) {
		cl->dropped++;
		log_warnx("cluster: route for %s not handed to %s: %s", to, cl->cc->sm,
			  error != NULL ? error : "undeliverable");
		return;
	}
	cl->handed++;
}

void cluster_local_frame(struct cluster_local *cl, const char *peer,
			 const struct cluster_frame *frame)
{
	const char *error = NULL;

	if (frame->type == CLUSTER_FRAME_STANZA || frame->type == CLUSTER_FRAME_ACK ||
	    frame->type == CLUSTER_FRAME_TAKEN) {
		if (cluster_fwd_frame(cl->fwd, peer, frame, &error) < 0)
			log_warnx("cluster: peer %s: %s ignored: %s", peer,
				  cluster_frame_type_name(frame->type), error);
		flush_arm(cl);          /* ACKs at the end of the turn */
		return;
	}
	if (cluster_state_frame(cl->state, peer, frame, &error) < 0)
		log_warnx("cluster: peer %s: %s ignored: %s", peer,
			  cluster_frame_type_name(frame->type), error);
}

void cluster_local_peer_drained(struct cluster_local *cl, const char *peer)
{
	cluster_state_peer_drained(cl->state, peer);
}

void cluster_local_peer_closed(struct cluster_local *cl, const char *peer)
{
	cluster_state_peer_closed(cl->state, peer);
	cluster_fwd_peer_closed(cl->fwd, peer);
}

void cluster_local_peer_open(struct cluster_local *cl, const char *peer)
{
	struct cluster_peer_open_info info;
	int i = peer_index(cl, peer);

	if (i >= 0)
		router_mod_timer_stop(cl->dead[i]);
	cluster_state_peer_open(cl->state, peer);
	if (cluster_peers_open_info(cl->peers, peer, &info))
		cluster_fwd_peer_open(cl->fwd, peer, info.incarnation, info.version);
	flush_arm(cl);
}


void cluster_local_log_status(const struct cluster_local *cl)
{
	log_notice("cluster: routes: %lu handed to %s, %lu dropped; %lu session "
		   "notifications, %lu refused", cl->handed, cl->cc->sm != NULL ? cl->cc->sm : "-",
		   cl->dropped, cl->notified, cl->refused);
	log_notice("cluster: forwarding: %llu stanzas out, %llu in, %llu broadcasts, %llu "
		   "undelivered; %llu stubs pushed in %llu routes, %llu syncs, %llu conflicts",
		   (unsigned long long)cl->c.fwd_out, (unsigned long long)cl->c.fwd_in,
		   (unsigned long long)cl->c.broadcasts, (unsigned long long)cl->c.undelivered,
		   (unsigned long long)cl->c.stubs_pushed, (unsigned long long)cl->c.stub_routes,
		   (unsigned long long)cl->c.syncs, (unsigned long long)cl->c.conflicts);
	cluster_state_log_status(cl->state);
}

struct cluster_local *cluster_local_new(struct router *r, const struct cluster_config *cc,
					struct cluster_peers *peers, const char **error_r)
{
	static char buf[512];
	struct cluster_local *cl = xcalloc(1, sizeof(*cl));

	cl->r = r;
	cl->cc = cc;
	cl->peers = peers;
	cl->reader = nad_reader_new();
	cl->state = cluster_state_new(cc->node, cluster_peers_incarnation(peers),
				      CLUSTER_STATE_HISTORY, send_hook, cl);
	cl->flush = router_mod_timer_new(r, flush_cb, cl);
	cl->retry = router_mod_timer_new(r, retry_cb, cl);
	{       /* i13-fwd */
		static const struct cluster_fwd_hooks hooks = {
			.send = fwd_send,
			.deliver = fwd_deliver,
			.undelivered = fwd_undelivered,
		};
		const char *names[CLUSTER_MAX_PEERS];

		for (int i = 0; i < cc->npeers && i < CLUSTER_MAX_PEERS; i++) {
			names[i] = cc->peers[i].name;
			cl->dead_ctx[i] = (struct dead_ctx){ cl, i };
			cl->dead[i] = router_mod_timer_new(r, dead_cb, &cl->dead_ctx[i]);
			/* A peer never reached is taken for dead as well. */
			router_mod_timer_start(cl->dead[i], dead_wait_ms(cl), 0);
		}
		cl->fwd = cluster_fwd_new(names, cc->npeers, cc->queue_frames, cc->queue_bytes,
					  &hooks, cl);
		cluster_fwd_set_incarnation(cl->fwd, cluster_peers_incarnation(peers));
		cl->bare = xhash_new();
		cl->direct = xhash_new();
		cl->held = xhash_new();         /* i14 */
		cl->sync_timer = router_mod_timer_new(r, sync_check, cl);
		cl->hold_timer = router_mod_timer_new(r, hold_cb, cl);
		cl->start_ms = now_ms();
		cluster_state_set_watch(cl->state, state_watch, cl);
	}
	/* Without <sm> there is nobody to hand the domains to: the module
	 * does not hold them (the sm binds them itself, as without a cluster). */
	for (int i = 0; cc->sm != NULL && i < cc->ndomains; i++) {
		const char *error = NULL;

		if (router_mod_bind(r, cc->domains[i], 0, &error) < 0) {
			snprintf(buf, sizeof(buf), "cluster: cannot bind domain %s: %s",
				 cc->domains[i], error != NULL ? error : "refused");
			*error_r = buf;
			cluster_local_free(&cl);
			return NULL;
		}
	}
	return cl;
}

void cluster_local_free(struct cluster_local **clp)
{
	struct cluster_local *cl = *clp;

	if (cl == NULL)
		return;
	router_mod_timer_free(&cl->flush);
	router_mod_timer_free(&cl->retry);
	router_mod_timer_free(&cl->sync_timer);        /* i13-fwd */
	router_mod_timer_free(&cl->hold_timer);
	while (cl->held_head != NULL) {
		struct held *h = held_pop(cl);

		nad_free(&h->nad);
		free(h);
	}
	for (int i = 0; i < CLUSTER_MAX_PEERS; i++)
		router_mod_timer_free(&cl->dead[i]);
	cluster_fwd_free(&cl->fwd);
	nad_reader_free(&cl->reader);
	nad_free(&cl->stubs);
	xhash_free(&cl->bare);
	xhash_clear(cl->direct, direct_free);
	xhash_free(&cl->direct);
	xhash_clear(cl->held, free);    /* i14 */
	xhash_free(&cl->held);
	cluster_state_free(&cl->state);
	free(cl);
	*clp = NULL;
}
