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
#include "metrics/metrics.h"
#include "mio/mio.h"
#include "storage/storage.h"
#include "util/buf.h"
#include "util/config_file.h"
#include "util/log.h"
#include "util/pidfile.h"
#include "util/sdnotify.h"
#include "util/signals.h"
#include "util/xhash.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc/jabberd"
#endif

struct sm_opts {
	const char *pidfile;
	const char *log_ident, *log_facility, *log_file;
};

#define O(f) offsetof(struct sm_opts, f)
static const struct config_key main_keys[] = {
	{ "pidfile", CONFIG_STRING, NULL, O(pidfile), 0, 0 },
	{ "log.ident", CONFIG_STRING, "jabberd/sm", O(log_ident), 0, 0 },
	{ "log.facility", CONFIG_STRING, NULL, O(log_facility), 0, 0 },
	{ "log.file", CONFIG_STRING, NULL, O(log_file), 0, 0 },
	{ NULL, 0, NULL, 0, 0, 0 },
};
#undef O

static int sm_binds_pending;

static void usage(void)
{
	printf("sm - jabberd2-compatible session manager (" PACKAGE_STRING ")\n"
	       "usage: sm [-c config] [-i id] [-D] [-h]\n");
	exit(1);
}

/* ---- the router link ---- */

static void on_bound(struct comp *comp, const char *name, int error, void *ctx)
{
	struct sm *sm = ctx;

	(void)comp;
	if (error != 0) {
		log_error("sm: cannot bind '%s' at the router (error %d); exiting", name, error);
		sm->exit_code = 1;
		mio_stop(sm->mio);
		return;
	}
	if (--sm_binds_pending == 0) {
		log_notice("sm: %s ready for sessions", sm->id);
		sdnotify_ready("ready for sessions");
		/* In a cluster: the remote sessions, now that the router
		 * knows our name (sm/cluster.c). */
		sm_cluster_sync(sm);
	}
}

static void on_ready(struct comp *comp, void *ctx)
{
	struct sm *sm = ctx;

	(void)comp;
	/* After the binds, so the router knows our name first. */
	sm_send_held(sm);
	if (sm->router_id != NULL)
		sm_binds_pending = 1;
	else
		sm_binds_pending = 1 + (int)xhash_count(sm->hosts) -
				   (xhash_get(sm->hosts, sm->id) != NULL);
}

static void on_element(struct comp *comp, struct nad *nad, void *ctx)
{
	(void)comp;
	sm_router_element(ctx, nad);
}

static void on_down(struct comp *comp, const char *reason, int final, void *ctx)
{
	struct sm *sm = ctx;

	(void)comp;
	/* The router that carried our sessions' c2s links is gone, and c2s
	 * has dropped their clients: end the sessions now (contacts told they
	 * are unavailable once the link is back), rather than keep ghosts
	 * that would swallow their messages and look available. */
	sess_end_all(sm, "the router link is down");
	if (!final)
		return;
	if (!sm->shutting_down)
		log_notice("sm: giving up on the router (%s); shutting down", reason);
	mio_stop(sm->mio);
}

static const struct comp_callbacks sm_comp_cb = {
	.ready = on_ready,
	.bound = on_bound,
	.element = on_element,
	.down = on_down,
};

static int link_router(struct sm *sm, const char **error_r)
{
	struct comp_settings set = { .ident = "sm" };
	struct xhash_iter it;
	const char *host;

	if (comp_settings_load(sm->cfg, &set, error_r) < 0)
		return -1;
	sm->comp = comp_new(sm->mio, &set, &sm_comp_cb, sm, error_r);
	if (sm->comp == NULL)
		return -1;
	comp_bind(sm->comp, sm->id, NULL, 0);
	/* With <router_id> the domains are bound by whoever hands us their
	 * stanzas (the cluster module), not by us. */
	xhash_iter_init(sm->hosts, &it);
	while (sm->router_id == NULL && xhash_iter_next(&it, &host, NULL))
		if (strcmp(host, sm->id) != 0)
			comp_bind(sm->comp, host, "to", 0);
	comp_start(sm->comp);
	return 0;
}

/* ---- signals ---- */

static void on_hup(int signo, void *ctx)
{
	(void)signo, (void)ctx;
	sdnotify_reloading();
	log_reopen();
	sdnotify_reloaded();
}

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
	comp_close(sm->comp);
}

static void on_debug(int signo, void *ctx)
{
	(void)ctx;
	log_set_debug(signo == SIGUSR2);
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
	struct mio_timer *watchdog;
	const char *error;
	int rc;

	if (link_router(sm, &error) < 0 ||
	    metrics_start(sm->mio, sm->cfg, "sm", render_metrics, sm, &sm_metrics, &error) < 0) {
		log_error("sm: %s", error);
		return 1;
	}
	mio_signal(sm->mio, SIGHUP, on_hup, sm, &error);
	mio_signal(sm->mio, SIGTERM, on_term, sm, &error);
	mio_signal(sm->mio, SIGINT, on_term, sm, &error);
	mio_signal(sm->mio, SIGUSR1, on_debug, sm, &error);
	mio_signal(sm->mio, SIGUSR2, on_debug, sm, &error);
	signals_release();
	watchdog = mio_timer_new(sm->mio, sdnotify_watchdog_timer, NULL);
	if (sdnotify_watchdog_ms() > 0)
		mio_timer_start(watchdog, sdnotify_watchdog_ms(), 1);
	if (mio_run(sm->mio, &error) < 0) {
		log_error("sm: %s", error);
		rc = 1;
	} else
		rc = sm->exit_code;
	mio_timer_free(&watchdog);
	return rc;
}

int main(int argc, char **argv)
{
	const char *file = SYSCONFDIR "/sm.xml", *id = NULL, *error;
	struct config *cfg;
	struct sm_opts o = { 0 };
	struct mio *mio;
	struct sm *sm;
	int ch, debug = 0, rc;

	signals_hold();        /* until the loop handles them */
	umask(027);
	while ((ch = getopt(argc, argv, "Dc:hi:?")) != -1) {
		switch (ch) {
		case 'c': file = optarg; break;
		case 'i': id = optarg; break;
		case 'D': debug = 1; break;
		default: usage();
		}
	}
	if ((cfg = config_load(file, id, &error)) == NULL ||
	    config_apply(cfg, main_keys, &o, &error) < 0) {
		fprintf(stderr, "sm: %s\n", error);
		config_free(&cfg);
		return 2;
	}
	if (log_open(log_type_parse(config_attr(cfg, "log", 0, "type")), o.log_ident,
		     o.log_facility, o.log_file, &error) < 0) {
		fprintf(stderr, "sm: %s\n", error);
		config_free(&cfg);
		return 1;
	}
	log_set_debug(debug);
	if (pidfile_write(o.pidfile, &error) < 0)
		log_warnx("sm: cannot write pid file %s: %s", o.pidfile, error);
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
