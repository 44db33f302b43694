/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cluster.c: the cluster module (DESIGN.md section 3), the shared object
 * the router loads for router.xml's <cluster> section
 * (router/router_module.h, ABI 2). So far it reads the section
 * (cluster_config.c), proves the node's name with its certificate, and
 * keeps authenticated TLS links to its peers (cluster_link.c): up at
 * start, redialled with backoff, opened with HELLO/HELLO_ACK and kept
 * with PING/PONG (cluster_peer.c, in the frames of cluster_proto.c),
 * closed with BYE and close_notify at SIGTERM within the router's bounded
 * drain, and reported at SIGHUP. The session table and the local
 * hand-off of the domains' routes to this node's sm are cluster_local.c
 * (hooks marked i13-state below); STANZA/ACK frames go there too, to the
 * forwarding transport (cluster_fwd.c, hooks marked i13-fwd). Membership
 * and failure detection are cluster_members.c (hooks marked i13-memb
 * below): MEMBERS frames, a tick every quarter heartbeat, and
 * on_node_dead() when a member is declared dead or leaves.
 */
#include "config.h"
#include "router/router_module.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cluster-mod/cluster_config.h"
#include "cluster-mod/cluster_control.h"
#include "cluster-mod/cluster_local.h"
#include "cluster-mod/cluster_members.h"
#include "cluster-mod/cluster_names.h"
#include "cluster-mod/cluster_peer.h"
#include "cluster-mod/cluster_proto.h"
#include "cluster-mod/cluster_tls.h"
#include "util/buf.h"
#include "util/config_file.h"
#include "util/log.h"

struct cluster {
	struct router *r;
	struct cluster_config *cc;
	struct cluster_peers *peers;
	struct cluster_control *control;        /* status socket (i13-status) */
	struct cluster_local *local;    /* i13-state: session table, hand-off */
	struct cluster_membership *members;     /* i13-memb */
	struct router_mod_timer *members_tick;  /* i13-memb */
	int stopping;                           /* i13-memb: SIGTERM seen */
	struct cluster_names *names;            /* i13-fed: components */
	struct router_mod_timer *sm_check;      /* i14: input held for the sm */
	uint64_t from_dead;     /* STANZAs not taken: their sender is dead here */
	int held;
	uint64_t holds;
};

/* ---- back-pressure from the local sm (i14) ---- */

/* How often a held input checks whether the sm has caught up. */
#define SM_CHECK_MS 20

/* While the local sm has more waiting than the router's congestion mark,
 * stanzas from peers stop being read, so that they wait in the peers'
 * bounded queues (and go to offline storage there past the bound)
 * instead of in the router's output to the sm, which has no bound. */
static void sm_check_cb(void *ctx)
{
	struct cluster *c = ctx;

	if (router_mod_congested(c->r, c->cc->sm) == 1)
		return;
	router_mod_timer_stop(c->sm_check);
	c->held = 0;
	cluster_peers_hold_input(c->peers, 0);
}

static void sm_check_after_stanza(struct cluster *c)
{
	if (c->held || c->cc->sm == NULL || router_mod_congested(c->r, c->cc->sm) != 1)
		return;
	c->held = 1;
	c->holds = cluster_peers_hold_input(c->peers, 1);
	if (c->holds == 1 || c->holds % 1000 == 0)
		log_notice("cluster: the local sm %s is congested: reading the peers' links "
			   "held until it catches up (%llu times since start)", c->cc->sm,
			   (unsigned long long)c->holds);
	router_mod_timer_start(c->sm_check, SM_CHECK_MS, 1);
}

/* ---- end of back-pressure ---- */

/* ---- components on other nodes (i13-fed; cluster_names.h) ---- */

static int names_send(void *ctx, const char *node, const uint8_t *route, size_t len,
		      const char *name)
{
	struct cluster *c = ctx;

	return cluster_local_send_route(c->local, node, route, len, name);
}

static void names_changed(void *ctx)
{
	struct cluster *c = ctx;

	cluster_local_changed(c->local);
}

static int names_in(void *ctx, const char *peer, const uint8_t *route, size_t len,
		    const char *name)
{
	struct cluster *c = ctx;

	return cluster_names_from_peer(c->names, peer, route, len, name);
}

static int names_undelivered(void *ctx, const char *node, const uint8_t *route, size_t len,
			     const char *name)
{
	struct cluster *c = ctx;

	return cluster_names_undelivered(c->names, node, route, len, name);
}

static void names_start(struct cluster *c)
{
	static const struct cluster_names_hooks hooks = {
		.send = names_send,
		.changed = names_changed,
	};
	static const struct cluster_local_component_hooks comp = {
		.deliver = names_in,
		.undelivered = names_undelivered,
	};

	c->names = cluster_names_new(c->r, c->cc, cluster_local_state(c->local), &hooks, c);
	cluster_local_set_component(c->local, &comp, c);
}

/* ---- end of components ---- */

/* ---- membership (i13-memb; cluster_members.h) ---- */

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A member was declared dead or left: its sessions go (iface13: the
 * drop path tells the sm, reason node-dead; forwarding hands back what
 * it had not acknowledged). */
static void on_node_dead(struct cluster *c, const char *node)
{
	if (c->local != NULL)
		cluster_local_node_dead(c->local, node);
}

static int members_send(void *ctx, const char *peer, const struct cluster_frame *frame)
{
	struct cluster *c = ctx;

	return cluster_peers_send(c->peers, peer, frame);
}

static int64_t members_link_idle(void *ctx, const char *peer)
{
	struct cluster *c = ctx;
	struct cluster_peer_open_info info;

	if (!cluster_peers_open_info(c->peers, peer, &info))
		return -1;
	return (int64_t)info.idle_ms;
}

static void members_dial(void *ctx, const char *name, const char *ip, int port)
{
	struct cluster *c = ctx;

	cluster_peers_add_peer(c->peers, name, ip, port);
}

static void members_dead(void *ctx, const char *name, enum cluster_member_state state)
{
	struct cluster *c = ctx;

	/* cluster_members.c logged the transition itself (once). */
	log_info("cluster: dropping the sessions of %s (%s)", name,
		 cluster_member_state_name(state));
	on_node_dead(c, name);
}

static void members_reincarnated(void *ctx, uint64_t incarnation)
{
	struct cluster *c = ctx;

	/* What we took goes acknowledged on the old links before they close
	 * (frames stop there at once). */
	if (c->local != NULL)
		cluster_local_reincarnating(c->local);
	cluster_peers_set_incarnation(c->peers, incarnation);
	if (c->local != NULL)   /* i13-fwd: numbering restarts with every peer */
		cluster_local_reincarnated(c->local);
}

/* i14: flap damping; what a hold means is cluster_local.c's (rule 11). */
static void members_held(void *ctx, const char *name, int held)
{
	struct cluster *c = ctx;

	if (c->local != NULL)
		cluster_local_hold(c->local, name, held);
}

static const struct cluster_members_hooks members_hooks = {
	.send = members_send,
	.link_idle = members_link_idle,
	.dial = members_dial,
	.dead = members_dead,
	.reincarnated = members_reincarnated,
	.held = members_held,
};

/* i14-part: merges ("Partitions and merges" in docs/cluster-protocol.md).
 * A node we had declared dead and that is back with its sessions is
 * announced to the sm once we hold its entries again (the sm asks its
 * sessions there for their presence); that we took a new incarnation,
 * once every peer sees us at it (the sm hands its users what the others
 * stored for them meanwhile). */
static void merge_check(struct cluster *c)
{
	const char *ready[CLUSTER_MAX_PEERS], *names[CLUSTER_MAX_PEERS];
	int n, k = 0;

	if (c->local == NULL || c->stopping)
		return;
	n = cluster_members_merge_ready(c->members, ready, CLUSTER_MAX_PEERS);
	for (int i = 0; i < n; i++)
		if (cluster_local_peer_synced(c->local, ready[i]))
			names[k++] = ready[i];
	if (k > 0) {
		cluster_local_merged(c->local, names, (size_t)k);
		for (int i = 0; i < k; i++)
			cluster_members_merge_done(c->members, names[i]);
	}
	if (cluster_members_revived_ready(c->members)) {
		cluster_members_revived_done(c->members);
		cluster_local_revived(c->local);
	}
}

static void members_tick_cb(void *ctx)
{
	struct cluster *c = ctx;

	cluster_members_tick(c->members, mono_ms());
	merge_check(c);        /* i14-part */
}

static void members_start(struct cluster *c)
{
	struct cluster_members_timing t;

	cluster_members_timing_profile(c->cc->profile == CLUSTER_PROFILE_WAN, &t);
	c->members = cluster_members_new(c->cc->node, c->cc->ip, c->cc->port,
					 cluster_peers_incarnation(c->peers), &t, &members_hooks,
					 c, mono_ms());
	c->members_tick = router_mod_timer_new(c->r, members_tick_cb, c);
	router_mod_timer_start(c->members_tick, t.ping_ms / 4, 1);
}

static void members_peer_open(struct cluster *c, const char *peer)
{
	const struct cluster_links *ls = cluster_peers_links(c->peers);
	struct cluster_peer_open_info info;
	struct cluster_peer_status st;
	const char *ip = NULL;
	int port = 0;

	if (!cluster_peers_open_info(c->peers, peer, &info))
		return;
	if (info.ip[0] != '\0') {
		ip = info.ip;
		port = info.port;
	} else {
		for (int i = 0; i < cluster_links_peer_count(ls); i++) {
			cluster_links_peer_status(ls, i, &st);
			if (strcmp(st.name, peer) == 0 && st.ip[0] != '\0') {
				ip = st.ip;
				port = st.port;
			}
		}
	}
	cluster_members_link_open(c->members, peer, ip, port, info.incarnation, mono_ms());
}

/* The members as the status report shows them; free the result. */
static struct cluster_status_member *members_status(const struct cluster *c, int *n_r)
{
	int n = cluster_members_count(c->members);
	struct cluster_status_member *out = xcalloc((size_t)n + 1, sizeof(*out));
	uint64_t now = mono_ms();
	time_t wall = time(NULL);

	for (int i = 0; i < n; i++) {
		struct cluster_member_info info;

		cluster_members_get(c->members, i, now, &info);
		out[i].name = info.name;
		out[i].ip = info.ip;
		out[i].port = info.port;
		out[i].incarnation = info.incarnation;
		out[i].state = cluster_member_state_name(info.state);
		out[i].since = wall - (time_t)((now - info.since_ms) / 1000);
		out[i].self = info.self;
		out[i].penalty = info.penalty;          /* i14 */
		out[i].held = info.held;
		out[i].held_since = info.held ?
			wall - (time_t)((now - info.held_since_ms) / 1000) : 0;
		out[i].returns = info.returns;
	}
	*n_r = n;
	return out;
}

/* ---- end of membership ---- */

static void cluster_on_frame(const char *peer, const struct cluster_frame *frame, void *ctx)
{
	struct cluster *c = ctx;

	/* i13-state: routing state; stanzas are next. */
	if (c->local != NULL && frame->type >= CLUSTER_FRAME_STATE_DELTA &&
	    frame->type <= CLUSTER_FRAME_STATE_SNAPSHOT) {
		cluster_local_frame(c->local, peer, frame);
		merge_check(c);        /* i14-part: a snapshot completed */
		return;
	}
	/* i13-fwd: STANZA and ACK (cluster_fwd.c through cluster_local.c). */
	if (c->local != NULL && (frame->type == CLUSTER_FRAME_STANZA ||
				 frame->type == CLUSTER_FRAME_ACK ||
				 frame->type == CLUSTER_FRAME_TAKEN)) {
		enum cluster_member_state st = cluster_members_state(c->members, peer);

		/* A STANZA from a node we declared dead (or left) at the
		 * incarnation its link has is not taken, nor acknowledged: we
		 * told our sm its sessions are gone, and it is about to learn
		 * it was declared dead and hand back what we did not
		 * acknowledge, as node-dead (stored offline there). Taking it
		 * would deliver it twice. */
		if (frame->type == CLUSTER_FRAME_STANZA &&
		    (st == CLUSTER_MEMBER_DEAD || st == CLUSTER_MEMBER_LEFT)) {
			if (c->from_dead++ % 1000 == 0)
				log_notice("cluster: a STANZA from %s, which is %s here, not taken "
					   "(%llu so far); its sender hands it back",
					   peer, cluster_member_state_name(st),
					   (unsigned long long)c->from_dead);
			return;
		}
		/* This node did not run for a while and its tick has not
		 * noticed yet (the links were read first): the sender may have
		 * declared us dead and handed this STANZA back already. The
		 * tick takes a new incarnation now, which closes the links
		 * unread; a sender that had not given up sends it again to the
		 * new incarnation (membership rule 7). */
		if (frame->type == CLUSTER_FRAME_STANZA && !c->stopping &&
		    cluster_members_paused(c->members, mono_ms())) {
			members_tick_cb(c);
			return;
		}
		cluster_local_frame(c->local, peer, frame);
		if (frame->type == CLUSTER_FRAME_STANZA)
			sm_check_after_stanza(c);       /* i14 */
		return;
	}
	/* i13-memb */
	if (frame->type == CLUSTER_FRAME_MEMBERS) {
		const char *error = NULL;

		if (!c->stopping && cluster_members_frame(c->members, peer, &frame->u.members, mono_ms(),
					  &error) < 0)
			log_warnx("cluster: peer %s: MEMBERS ignored: %s", peer, error);
		merge_check(c);        /* i14-part */
		return;
	}
	log_debug("cluster: peer %s: %s frame not handled yet", peer,
		  cluster_frame_type_name(frame->type));
}

/* i13-state: a peer's link opened / closed / it said BYE. */
static void cluster_on_open(const char *peer, unsigned version, void *ctx)
{
	struct cluster *c = ctx;

	(void)version;
	/* MEMBERS before STATE_REQUEST (i13-resync): a peer told here that
	 * it was declared dead takes its new incarnation before it answers
	 * the request, so its snapshot carries that incarnation and its
	 * next delta does not make us ask for a second snapshot. */
	members_peer_open(c, peer);     /* i13-memb */
	if (c->local != NULL)
		cluster_local_peer_open(c->local, peer);
}

static void cluster_on_close(const char *peer, const char *reason, void *ctx)
{
	struct cluster *c = ctx;

	(void)reason;
	if (c->local != NULL)
		cluster_local_peer_closed(c->local, peer);
	if (!c->stopping)
		cluster_members_link_closed(c->members, peer, mono_ms()); /* i13-memb */
}

/* i13-memb: a node that says BYE(shutting down) is LEFT at once, and
 * on_node_dead() drops its sessions. */
static void cluster_on_bye(const char *peer, unsigned reason, void *ctx)
{
	struct cluster *c = ctx;

	if (reason == CLUSTER_BYE_SHUTDOWN && !c->stopping)
		cluster_members_left(c->members, peer, mono_ms());
	else if (reason == CLUSTER_BYE_NEW_INCARNATION && !c->stopping)
		cluster_members_relinking(c->members, peer, mono_ms());
}

/* i13-state: routes for the domains and the sm's session notifications. */
static void cluster_deliver(void *state, struct nad *nad)
{
	struct cluster *c = state;

	if (c->names != NULL && cluster_names_deliver(c->names, nad))  /* i13-fed */
		return;
	cluster_local_deliver(c->local, nad);
}

/* i13-resync3: the rest of a snapshot goes as the link's output drains. */
static void cluster_on_drain(const char *peer, void *ctx)
{
	struct cluster *c = ctx;

	if (c->local != NULL)
		cluster_local_peer_drained(c->local, peer);
}

static const struct cluster_peer_hooks cluster_hooks = {
	.on_open = cluster_on_open,
	.on_close = cluster_on_close,
	.on_frame = cluster_on_frame,
	.on_bye = cluster_on_bye,
	.on_drain = cluster_on_drain,
};

/* ---- the control socket (i13-status; cluster_control.h) ---- */

/* A status snapshot of this node, formatted by cluster_status.c. */
static void cluster_report(enum cluster_control_request req, struct buf *out, void *ctx)
{
	struct cluster *c = ctx;
	const struct cluster_links *ls = cluster_peers_links(c->peers);
	struct cluster_status st = {
		.node = c->cc->node,
		.profile = cluster_profile_name(c->cc->profile),
		.incarnation = cluster_peers_incarnation(c->peers),
		.version_min = CLUSTER_PROTO_VERSION_MIN,
		.version_max = CLUSTER_PROTO_VERSION_MAX,
		.now = time(NULL),
	};
	struct cluster_status_peer *peers;
	struct cluster_peer_open_info info;
	struct cluster_status_member *memb;

	st.npeers = cluster_links_peer_count(ls);
	peers = xcalloc((size_t)st.npeers + 1, sizeof(*peers));
	for (int i = 0; i < st.npeers; i++) {
		cluster_links_peer_status(ls, i, &peers[i].link);
		if (cluster_peers_open_info(c->peers, peers[i].link.name, &info)) {
			peers[i].open = 1;
			peers[i].version = info.version;
			peers[i].incarnation = info.incarnation;
			peers[i].rtt_us = info.rtt_us;
		}
	}
	if (c->local != NULL) {        /* i13-fwd: tables and queues */
		struct cluster_local_tables t;
		struct cluster_local_peer_tables pt;

		cluster_local_tables(c->local, &t);
		st.tables = (struct cluster_status_tables){
			.local_sessions = t.local, .remote_sessions = t.remote,
			.stubs_pushed = t.counters.stubs_pushed,
			.redirect_entries = t.redirects, .handed = t.handed,
			.forwarded_out = t.counters.fwd_out, .forwarded_in = t.counters.fwd_in,
			.undelivered = t.counters.undelivered,
			.sm_held_now = t.held, .sm_held = t.counters.sm_held,
			.sm_returned = t.counters.sm_returned, .sm_dropped = t.counters.sm_dropped,
			.direct_sessions = t.direct_sessions, .direct = t.counters.direct,
			.direct_waited = t.counters.direct_waited,
		};
		for (int k = 0; k < CLUSTER_LOCAL_REASONS; k++)        /* i14 */
			st.tables.undelivered_by[k] = t.counters.undelivered_by[k];
		for (int i = 0; i < st.npeers; i++)
			if (cluster_local_peer_tables(c->local, peers[i].link.name, &pt) == 0) {
				peers[i].sessions = pt.sessions;
				peers[i].queue_frames = pt.unacked;
				peers[i].queue_bytes = pt.unacked_bytes;
				peers[i].queue_max_frames = pt.fwd.max_frames;      /* i14 */
				peers[i].queue_max_bytes = pt.fwd.max_bytes;
				peers[i].queue_oldest_ms = pt.fwd.oldest_ms;
				peers[i].queue_in_doubt = pt.fwd.in_doubt;  /* rule 15 */
				peers[i].queue_doubt_taken = pt.fwd.doubt_taken;
				memcpy(peers[i].undelivered, pt.fwd.undelivered_by,
				       sizeof(peers[i].undelivered));
			}
	}
	if (c->names != NULL) {        /* i13-fed */
		struct cluster_names_counters nc;

		cluster_names_counters(c->names, &nc);
		st.tables.names_announced = nc.local;
		st.tables.names_held = nc.held;
		st.tables.component_out = nc.out;
		st.tables.component_in = nc.in;
		st.tables.component_bounced = nc.refused;
	}
	st.tables.input_held = (uint64_t)c->held;       /* i14 */
	st.tables.input_holds = c->holds;
	st.peers = peers;
	memb = members_status(c, &st.nmembers);        /* i13-memb */
	st.members = memb;
	cluster_members_counters(c->members, &st.member_events);       /* i14 */
	for (int r = 0; r < CLUSTER_REFUSE_COUNT; r++)
		st.refusals[r] = cluster_links_refusals(ls, (enum cluster_refusal)r);
	router_mod_stats(c->r, &st.router);
	if (req == CLUSTER_REQ_JSON)
		cluster_status_json(&st, out);
	else if (req == CLUSTER_REQ_METRICS)
		cluster_status_metrics(&st, out);
	else
		cluster_status_text(&st, out);
	free(peers);
	free(memb);
}

/* The router's metrics (router_mod_metrics), so `jabberd status` on the
 * router shows the cluster: the control socket's "metrics" report less
 * the router's own families. */
static void cluster_router_metrics(void *ctx, struct buf *out)
{
	struct buf prom = { 0 };

	cluster_report(CLUSTER_REQ_METRICS, &prom, ctx);
	cluster_status_metrics_for_router(prom.data, prom.len, out);
	buf_free(&prom);
}

static int cluster_control_start(struct cluster *c, const char **error_r)
{
	static char buf[512];
	char path[CLUSTER_CONTROL_PATH_MAX + 1];
	const char *error;

	if (cluster_control_path(router_mod_config_tree(c->r), path, sizeof(path)) < 0) {
		*error_r = "<control>: the control socket's path is too long for a unix "
			   "socket; set a shorter one";
		return -1;
	}
	c->control = cluster_control_new(router_mod_mio(c->r), path, cluster_report, c,
					 &error);
	if (c->control == NULL && c->cc->control == NULL) {
		/* Only the default path: the node runs, without the status
		 * socket, and says so once. A <control> given is a promise. */
		log_warnx("cluster: no control socket (the default %s: %s); set <control> "
			  "to a path the router can make", path, error);
		return 0;
	}
	if (c->control == NULL) {
		snprintf(buf, sizeof(buf), "cannot make the control socket (<control>): %s",
			 error);
		*error_r = buf;
		return -1;
	}
	return 0;
}

/* ---- end of the control socket ---- */

static void cluster_free(void *state)
{
	struct cluster *c = state;

	if (c == NULL)
		return;
	cluster_control_free(&c->control);
	router_mod_timer_free(&c->members_tick);       /* i13-memb */
	router_mod_timer_free(&c->sm_check);            /* i14 */
	cluster_peers_free(&c->peers);
	cluster_members_free(&c->members);
	cluster_names_free(&c->names);  /* i13-fed */
	cluster_local_free(&c->local);  /* i13-state */
	cluster_config_free(&c->cc);
	free(c);
	log_info("cluster: module freed");
}

/* A start-up error naming router.xml, the line and element, in a buffer
 * that outlives init (the router logs it after init returns). */
static const char *init_error(struct router *r, const char *key, const char *msg)
{
	static char buf[1024];
	const struct config *cfg = router_mod_config_tree(r);

	snprintf(buf, sizeof(buf), "%s",
		 config_errorf(cfg, router_mod_config_node(r, key, 0), "%s", msg));
	return buf;
}

static int cluster_init(struct router *r, void **state_r, const char **error_r)
{
	static char buf[1024];
	struct cluster *c;
	const char *error, *element;
	char key[32];
	SSL_CTX *ssl_ctx;

	if (router_mod_mio(r) == NULL) {
		*error_r = "cluster: the router has no event loop";
		return -1;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		*error_r = "cluster: out of memory";
		return -1;
	}
	c->r = r;
	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	c->cc = cluster_config_read(router_mod_config_tree(r), &error);
	if (c->cc == NULL) {
		snprintf(buf, sizeof(buf), "%s", error);
		*error_r = buf;
		goto err;
	}
	ssl_ctx = cluster_tls_ctx_new(c->cc->pemfile, c->cc->cachain, c->cc->node, &element,
				      &error);
	if (ssl_ctx == NULL) {
		snprintf(key, sizeof(key), "cluster.%s", element);
		*error_r = init_error(r, key, error);
		goto err;
	}
	c->peers = cluster_peers_new(router_mod_mio(r), c->cc, ssl_ctx, &cluster_hooks, c,
				     &error);
	if (c->peers == NULL) {
		snprintf(buf, sizeof(buf), "cannot listen on %s port %d: %s", c->cc->ip,
			 c->cc->port, error);
		*error_r = init_error(r, "cluster.ip", buf);
		goto err;
	}
	if (cluster_control_start(c, &error) < 0) {
		*error_r = init_error(r, router_mod_config_node(r, "cluster.control", 0) != NULL ?
				      "cluster.control" : "cluster", error);
		goto err;
	}
	c->local = cluster_local_new(r, c->cc, c->peers, error_r);     /* i13-state */
	if (c->local == NULL)
		goto err;
	members_start(c);       /* i13-memb */
	names_start(c);         /* i13-fed */
	c->sm_check = router_mod_timer_new(r, sm_check_cb, c); /* i14 */
	router_mod_metrics(r, cluster_router_metrics, c);
	log_notice("cluster: node %s, profile %s, %d domain%s", c->cc->node,
		   cluster_profile_name(c->cc->profile), c->cc->ndomains,
		   c->cc->ndomains == 1 ? "" : "s");
	*state_r = c;
	return 0;
err:
	cluster_free(c);
	return -1;
}

static void cluster_stopped(void *arg)
{
	struct cluster *c = arg;

	log_notice("cluster: every link closed");
	router_mod_stopped(c->r);
}

/* SIGTERM: BYE and close_notify to every peer, then let the router go on. */
static int cluster_stop(void *state)
{
	struct cluster *c = state;

	/* i13-memb: no judging while the links close. */
	c->stopping = 1;
	router_mod_timer_stop(c->members_tick);
	router_mod_timer_stop(c->sm_check);     /* i14: read what comes while closing */
	if (c->held) {
		c->held = 0;
		cluster_peers_hold_input(c->peers, 0);
	}
	if (cluster_peers_stop(c->peers, cluster_stopped, c) == 0)
		return ROUTER_MOD_STOPPED;
	return ROUTER_MOD_DRAINING;
}

static void cluster_hup(void *state)
{
	struct cluster *c = state;

	cluster_peers_log_status(c->peers);
	cluster_local_log_status(c->local);     /* i13-state */
	cluster_names_log_status(c->names);     /* i13-fed */
}

const struct router_module router_module = {
	.name = "cluster",
	.abi = ROUTER_MODULE_ABI,
	.init = cluster_init,
	.free = cluster_free,
	.deliver = cluster_deliver,
	.stop = cluster_stop,
	.hup = cluster_hup,
};
