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
 * forwarding transport (cluster_fwd.c, hooks marked i13-fwd); membership
 * frames are not handled yet.
 */
#include "config.h"
#include "router/router_module.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "cluster-mod/cluster_config.h"
#include "cluster-mod/cluster_control.h"
#include "cluster-mod/cluster_local.h"
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
};

static void cluster_on_frame(const char *peer, const struct cluster_frame *frame, void *ctx)
{
	struct cluster *c = ctx;

	/* i13-state: routing state; stanzas and membership are next. */
	if (c->local != NULL && frame->type >= CLUSTER_FRAME_STATE_DELTA &&
	    frame->type <= CLUSTER_FRAME_STATE_SNAPSHOT) {
		cluster_local_frame(c->local, peer, frame);
		return;
	}
	/* i13-fwd: STANZA and ACK (cluster_fwd.c through cluster_local.c). */
	if (c->local != NULL && (frame->type == CLUSTER_FRAME_STANZA ||
				 frame->type == CLUSTER_FRAME_ACK)) {
		cluster_local_frame(c->local, peer, frame);
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
	if (c->local != NULL)
		cluster_local_peer_open(c->local, peer);
}

static void cluster_on_close(const char *peer, const char *reason, void *ctx)
{
	struct cluster *c = ctx;

	(void)reason;
	if (c->local != NULL)
		cluster_local_peer_closed(c->local, peer);
}

static void cluster_on_bye(const char *peer, unsigned reason, void *ctx)
{
	struct cluster *c = ctx;

	if (c->local != NULL)
		cluster_local_peer_bye(c->local, peer, reason);
}

/* i13-state: routes for the domains and the sm's session notifications. */
static void cluster_deliver(void *state, struct nad *nad)
{
	struct cluster *c = state;

	cluster_local_deliver(c->local, nad);
}

static const struct cluster_peer_hooks cluster_hooks = {
	.on_open = cluster_on_open,
	.on_close = cluster_on_close,
	.on_frame = cluster_on_frame,
	.on_bye = cluster_on_bye,
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
		};
		for (int i = 0; i < st.npeers; i++)
			if (cluster_local_peer_tables(c->local, peers[i].link.name, &pt) == 0) {
				peers[i].sessions = pt.sessions;
				peers[i].queue_frames = pt.unacked;
				peers[i].queue_bytes = pt.unacked_bytes;
			}
	}
	st.peers = peers;
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
	cluster_peers_free(&c->peers);
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

	if (cluster_peers_stop(c->peers, cluster_stopped, c) == 0)
		return ROUTER_MOD_STOPPED;
	return ROUTER_MOD_DRAINING;
}

static void cluster_hup(void *state)
{
	struct cluster *c = state;

	cluster_peers_log_status(c->peers);
	cluster_local_log_status(c->local);     /* i13-state */
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
