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
 * (hooks marked i13-state below); stanza and membership frames are not
 * handled yet.
 */
#include "config.h"
#include "router/router_module.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "cluster-mod/cluster_config.h"
#include "cluster-mod/cluster_local.h"
#include "cluster-mod/cluster_peer.h"
#include "cluster-mod/cluster_proto.h"
#include "cluster-mod/cluster_tls.h"
#include "util/config_file.h"
#include "util/log.h"

struct cluster {
	struct router *r;
	struct cluster_config *cc;
	struct cluster_peers *peers;
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

static void cluster_free(void *state)
{
	struct cluster *c = state;

	if (c == NULL)
		return;
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
