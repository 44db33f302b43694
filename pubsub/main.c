/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * main.c: the pubsub daemon. Reads the command line (-c FILE, -i ID, -D,
 * -h, as the other daemons) and pubsub.xml, writes the pid file, opens
 * the log and the storage, loads the nodes, links to the router as a
 * component (comp/) binding the service domain, and runs the loop. A
 * refused bind exits 1; giving up on the router exits 0. SIGHUP reopens
 * the log; SIGTERM/SIGINT close the router link and exit 0.
 */
#include "config.h"
#include "pubsub/pubsub.h"

#include <stddef.h>

#include "comp/comp.h"
#include "comp/daemon.h"
#include "comp/service.h"
#include "comp/stanza.h"
#include "metrics/metrics.h"
#include "mio/mio.h"
#include "util/buf.h"
#include "util/config_file.h"
#include "util/log.h"
#include "util/nad.h"
#include "util/xhash.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc/jabberd"
#endif

static void send_route(struct pubsub *ps, struct nad *stanza)
{
	comp_stanza_route(ps->comp, stanza);
}

/* ---- the router link (comp/service.h) ---- */

static void to_pubsub(void *ctx, struct nad *nad)
{
	pubsub_router_element(ctx, nad);
}

static struct comp_service ps_svc = {
	.name = "pubsub", .ready = "ready for nodes", .element = to_pubsub,
};

static int link_router(struct pubsub *ps, const char **error_r)
{
	ps_svc.id = ps->domain;
	ps_svc.mio = ps->mio;
	ps_svc.ctx = ps;
	if (comp_service_link(&ps_svc, ps->cfg, error_r) < 0)
		return -1;
	ps->comp = ps_svc.comp;
	comp_service_bind(&ps_svc, ps->domain, NULL);
	comp_start(ps->comp);
	return 0;
}

static struct metrics *ps_metrics;

/* The metrics (metrics/metrics.h): HTTP port and status socket. */
static void render_metrics(struct buf *out, void *ctx)
{
	struct pubsub *ps = ctx;
	uint64_t items = 0;
	struct xhash_iter it;
	void *v;

	xhash_iter_init(ps->nodes, &it);
	while (xhash_iter_next(&it, NULL, &v))
		items += ((const struct ps_node *)v)->nitems;
	metrics_common(out, ps_metrics);
	metrics_one(out, "jabberd_pubsub_nodes", "gauge", "Nodes of the service.",
		    xhash_count(ps->nodes));
	metrics_one(out, "jabberd_pubsub_items", "gauge", "Items kept in all nodes.", items);
	metrics_one(out, "jabberd_pubsub_subscriptions", "gauge",
		    "Subscriptions (every state) to all nodes.", ps->subs->total);
	metrics_one(out, "jabberd_pubsub_published_total", "counter", "Items published.",
		    ps->n_published);
	metrics_one(out, "jabberd_pubsub_notifications_total", "counter",
		    "Event messages sent to subscribers.", ps->n_notifications);
	metrics_one(out, "jabberd_pubsub_router_link_up", "gauge",
		    "1 while the link to the router is open.",
		    ps->comp != NULL && comp_is_open(ps->comp) ? 1 : 0);
}

/* SIGTERM/SIGINT: the router link closes, then the loop ends. */
static void on_term(void *ctx)
{
	(void)ctx;
	comp_service_close(&ps_svc);
}

static struct pubsub *setup(struct config *cfg, struct mio *mio)
{
	const char *error;
	struct pubsub *ps;

	if ((ps = pubsub_new(cfg, &error)) == NULL) {
		log_error("pubsub: %s", error);
		return NULL;
	}
	ps->mio = mio;
	ps->send = send_route;
	ps->roster = ps_store_roster;
	if (ps_store_open(cfg, &ps->store, &error) < 0 || pubsub_load(ps, &error) < 0) {
		log_error("pubsub: storage: %s", error);
		ps_store_close(&ps->store);
		pubsub_free(&ps);
		return NULL;
	}
	if (ps->store == NULL)
		log_notice("pubsub: no <storage>: nodes will not survive a restart");
	return ps;
}

int main(int argc, char **argv)
{
	static const char *const sections[] = {
		"router", "storage", "service", "limits", "auto-create", "default-max-items",
		"metrics", NULL,
	};
	struct comp_daemon d = {
		.name = "pubsub", .what = "publish-subscribe service (XEP-0060)",
		.sections = sections,
	};
	const char *error;
	struct pubsub *ps;
	int rc;

	if ((rc = comp_daemon_open(&d, argc, argv, SYSCONFDIR "/pubsub.xml")) != 0)
		return rc;
	if ((ps = setup(d.cfg, d.mio)) == NULL) {
		comp_daemon_close(&d);
		return 1;
	}
	if (link_router(ps, &error) < 0 ||
	    metrics_start(ps->mio, ps->cfg, "pubsub", render_metrics, ps, &ps_metrics,
			  &error) < 0) {
		log_error("pubsub: %s", error);
		rc = 1;
	} else if ((rc = comp_daemon_run(&d, on_term, ps)) == 0)
		rc = ps_svc.exit_code;
	metrics_free(&ps_metrics);
	comp_free(&ps->comp);
	ps_store_close(&ps->store);
	pubsub_free(&ps);
	comp_daemon_close(&d);
	return rc;
}
