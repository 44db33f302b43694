/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * main.c: the sm daemon. Reads the command line (-c FILE, -i ID, -D, -h,
 * as jabberd2's sm) and sm.xml, writes the pid file, opens the log and the
 * storage drivers, sets up the module chains, links to the router (comp/)
 * binding its id and each served domain (multi='to'), or with
 * <router_id> that name alone (patch 1), and runs the loop.
 * A refused bind exits 1; giving up on the router exits 0 (compat spec
 * section 1). Losing the router ends every session (their c2s links went
 * with it); what the sm sends outside meanwhile is held until the link is
 * back. SIGHUP reopens the log; SIGTERM/SIGINT end the sessions (contacts
 * get unavailable presence), close the router link and exit 0.
 */
#include "config.h"
#include "sm/sm.h"

#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "comp/comp.h"
#include "comp/service.h"
#include "metrics/metrics.h"
#include "mio/mio.h"
#include "storage/storage.h"
#include "util/buf.h"
#include "util/config_file.h"
#include "util/daemon.h"
#include "util/log.h"
#include "util/pidfile.h"
#include "util/sdnotify.h"
#include "util/xhash.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc/jabberd"
#endif

static void usage(void)
{
	printf("sm - jabberd2-compatible session manager (" PACKAGE_STRING ")\n"
	       "usage: sm [-c config] [-i id] [-D] [-h]\n");
	exit(1);
}

/* ---- the router link (comp/service.h) ---- */

static void to_sm(void *ctx, struct nad *nad)
{
	sm_router_element(ctx, nad);
}

/* After the binds, so the router knows our name first. */
static void opened(void *ctx)
{
	sm_send_held(ctx);
}

/* In a cluster: the remote sessions, now that the router knows our name
 * (sm/cluster.c). */
static void all_bound(void *ctx)
{
	sm_cluster_sync(ctx);
}

/* The router that carried our sessions' c2s links is gone, and c2s has
 * dropped their clients: end the sessions now (contacts told they are
 * unavailable once the link is back), rather than keep ghosts that would
 * swallow their messages and look available. */
static void lost(void *ctx)
{
	sess_end_all(ctx, "the router link is down");
}

static struct comp_service sm_svc = {
	.name = "sm", .ready = "ready for sessions", .element = to_sm, .opened = opened,
	.all_bound = all_bound, .lost = lost,
};

static int link_router(struct sm *sm, const char **error_r)
{
	struct xhash_iter it;
	const char *host;

	sm_svc.id = sm->id;
	sm_svc.mio = sm->mio;
	sm_svc.ctx = sm;
	if (comp_service_link(&sm_svc, sm->cfg, error_r) < 0)
		return -1;
	sm->comp = sm_svc.comp;
	comp_service_bind(&sm_svc, sm->id, NULL);
	/* With <router_id> the domains are bound by whoever hands us their
	 * stanzas (the cluster module), not by us. */
	xhash_iter_init(sm->hosts, &it);
	while (sm->router_id == NULL && xhash_iter_next(&it, &host, NULL))
		if (strcmp(host, sm->id) != 0)
			comp_service_bind(&sm_svc, host, "to");
	comp_start(sm->comp);
	return 0;
}

/* ---- signals ---- */

static void on_term(int signo, void *ctx)
{
	struct sm *sm = ctx;

	if (sm->shutting_down) {
		mio_stop(sm->mio);
		return;
	}
	log_notice("sm: shutting down (signal %d)", signo);
	sm->shutting_down = 1;
	sdnotify_stopping();
	/* Stanzas held for the cluster's view are decided now (stored
	 * offline if nothing else), not lost. Contacts hear that our users
	 * are gone; c2s closes their streams when the router says we left. */
	sm_cluster_proceed(sm, "shutting down");
	if (comp_is_open(sm->comp))
		sess_end_all(sm, "shutting down");
	comp_service_close(&sm_svc);
}

static struct metrics *sm_metrics;

/* GET /metrics (metrics/metrics.h). */
static void render_metrics(struct buf *out, void *ctx)
{
	struct sm *sm = ctx;

	metrics_common(out, sm_metrics);
	metrics_one(out, "jabberd_sm_sessions", "gauge", "Client sessions open here.",
		    xhash_count(sm->sessions));
	metrics_one(out, "jabberd_sm_users_loaded", "gauge",
		    "Users whose data is loaded (with a session, or being delivered to).",
		    xhash_count(sm->users));
	metrics_one(out, "jabberd_sm_router_link_up", "gauge",
		    "1 while the link to the router is open.", comp_is_open(sm->comp) ? 1 : 0);
	metrics_one(out, "jabberd_sm_held_routes", "gauge",
		    "Routes for outside held while the router link is down.", sm->nheld);
	metrics_head(out, "jabberd_sm_dropped_total", "counter",
		     "Routes dropped without an answer, by cause.");
	metrics_sample_label(out, "jabberd_sm_dropped_total", "cause", "held-queue-full",
			     sm->held_dropped);
	if (sm->st != NULL) {
		struct storage_stats ss;

		storage_stats(sm->st, &ss);
		metrics_one(out, "jabberd_sm_storage_calls_total", "counter",
			    "Storage driver calls (get, put, count, delete, replace).", ss.calls);
		metrics_one(out, "jabberd_sm_storage_errors_total", "counter",
			    "Storage driver calls that failed.", ss.errors);
		metrics_head(out, "jabberd_sm_storage_seconds_total", "counter",
			     "Time the sm waited for storage, in seconds.");
		metrics_sample_double(out, "jabberd_sm_storage_seconds_total",
				      (double)ss.us / 1e6);
	}
}

static int run(struct sm *sm)
{
	const char *error;

	if (link_router(sm, &error) < 0 ||
	    metrics_start(sm->mio, sm->cfg, "sm", render_metrics, sm, &sm_metrics, &error) < 0) {
		log_error("sm: %s", error);
		return 1;
	}
	if (daemon_run(sm->mio, "sm", &(const struct daemon_signals){ .term = on_term }, sm) < 0)
		return 1;
	return sm_svc.exit_code;
}

int main(int argc, char **argv)
{
	struct daemon_args a = { .file = SYSCONFDIR "/sm.xml" };
	const char *error;
	struct config *cfg;
	struct daemon_opts o = { 0 };
	struct mio *mio;
	struct sm *sm;
	int rc;

	daemon_begin(argc, argv, 0, usage, &a);
	if ((cfg = config_load(a.file, a.id, &error)) == NULL ||
	    config_apply(cfg, daemon_keys, &o, &error) < 0) {
		fprintf(stderr, "sm: %s\n", error);
		config_free(&cfg);
		return 2;
	}
	if (daemon_log_open("sm", cfg, o.log_ident, o.log_facility, o.log_file, a.debug) < 0) {
		config_free(&cfg);
		return 1;
	}
	daemon_pidfile_write("sm", o.pidfile);
	log_notice("sm: starting up");
	if ((mio = mio_new(&error)) == NULL)
		fatalx("sm: %s", error);
	if ((sm = sm_new(cfg, mio, &error)) == NULL) {
		log_error("sm: %s", error);
		mio_free(&mio);
		log_close();
		return 1;
	}
	rc = run(sm);
	metrics_free(&sm_metrics);
	pidfile_remove(o.pidfile);      /* the path lives in sm->cfg */
	comp_free(&sm->comp);
	sm_free(&sm);
	mio_free(&mio);
	log_notice("sm: stopped");
	log_close();
	return rc;
}
