/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cluster_local.c: see cluster_local.h. */
#include "config.h"
#include "router/router_module.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster-mod/cluster_config.h"
#include "cluster-mod/cluster_local.h"
#include "cluster-mod/cluster_peer.h"
#include "cluster-mod/cluster_proto.h"
#include "cluster-mod/cluster_state.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/nad.h"

#define SESSION_NS "urn:jabberd-cluster:session"

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
};

static int send_hook(void *ctx, const char *peer, const struct cluster_frame *frame)
{
	struct cluster_local *cl = ctx;

	return cluster_peers_send(cl->peers, peer, frame);
}

static void flush_cb(void *ctx)
{
	struct cluster_local *cl = ctx;

	cl->flush_armed = 0;
	cluster_state_flush(cl->state);
}

/* Snapshot chunks a full link refused go out as its output drains. */
#define RETRY_MS 20

static void retry_cb(void *ctx)
{
	struct cluster_local *cl = ctx;

	if (cluster_state_retry(cl->state) == 0) {
		router_mod_timer_stop(cl->retry);
		cl->retry_armed = 0;
	}
}

static void retry_arm(struct cluster_local *cl)
{
	if (!cl->retry_armed && cluster_state_retry(cl->state) > 0) {
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
			r = cluster_state_local_remove(cl->state, jid);
			error = "no such session";
		} else if (strcmp(action, "start") == 0 || strcmp(action, "update") == 0) {
			long p = prio != NULL ? strtol(prio, NULL, 10) : 0;
			uint64_t started = cluster_state_lookup(cl->state, jid, cl->cc->node,
								&cur) == 0 &&
					   strcmp(action, "update") == 0 ?
					   cur.started_ms : now_ms();

			r = cluster_state_local_set(cl->state, jid, sid, (int)p,
						    avail != NULL && strcmp(avail, "1") == 0,
						    started, &error);
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
	if (!cl->flush_armed) {
		cl->flush_armed = 1;
		router_mod_timer_start(cl->flush, 0, 0);
	}
}

void cluster_local_deliver(struct cluster_local *cl, struct nad *nad)
{
	const char *to, *from, *error = NULL;
	int el;

	if (nad_root(nad) == NAD_NONE || strcmp(nad_name(nad, 0), "route") != 0) {
		nad_free(&nad);                 /* advertisements */
		return;
	}
	to = nad_attr(nad, 0, NULL, "to");
	from = nad_attr(nad, 0, NULL, "from");
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
	/* Until forwarding exists, the domain's routes go to our own sm. */
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

	if (cluster_state_frame(cl->state, peer, frame, &error) < 0)
		log_warnx("cluster: peer %s: %s ignored: %s", peer,
			  cluster_frame_type_name(frame->type), error);
	retry_arm(cl);
}

void cluster_local_peer_closed(struct cluster_local *cl, const char *peer)
{
	cluster_state_peer_closed(cl->state, peer);
}

void cluster_local_peer_open(struct cluster_local *cl, const char *peer)
{
	cluster_state_peer_open(cl->state, peer);
}

void cluster_local_node_dead(struct cluster_local *cl, const char *node)
{
	cluster_state_drop_node(cl->state, node, CLUSTER_STATE_DROP_NODE_DEAD);
}

void cluster_local_log_status(const struct cluster_local *cl)
{
	log_notice("cluster: routes: %lu handed to %s, %lu dropped; %lu session "
		   "notifications, %lu refused", cl->handed, cl->cc->sm != NULL ? cl->cc->sm : "-",
		   cl->dropped, cl->notified, cl->refused);
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
	cl->state = cluster_state_new(cc->node, cluster_peers_incarnation(peers),
				      CLUSTER_STATE_HISTORY, send_hook, cl);
	cl->flush = router_mod_timer_new(r, flush_cb, cl);
	cl->retry = router_mod_timer_new(r, retry_cb, cl);
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
	cluster_state_free(&cl->state);
	free(cl);
	*clp = NULL;
}
