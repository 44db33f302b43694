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

#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "comp/comp.h"
#include "comp/stanza.h"
#include "mio/mio.h"
#include "util/config_file.h"
#include "util/log.h"
#include "util/nad.h"
#include "util/pidfile.h"
#include "util/sdnotify.h"
#include "util/signals.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc/jabberd"
#endif

struct ps_main_opts {
	const char *pidfile;
	const char *log_ident, *log_facility, *log_file;
};

#define O(f) offsetof(struct ps_main_opts, f)
static const struct config_key main_keys[] = {
	{ "pidfile", CONFIG_STRING, NULL, O(pidfile), 0, 0 },
	{ "log.ident", CONFIG_STRING, "jabberd/pubsub", O(log_ident), 0, 0 },
	{ "log.facility", CONFIG_STRING, NULL, O(log_facility), 0, 0 },
	{ "log.file", CONFIG_STRING, NULL, O(log_file), 0, 0 },
	{ NULL, 0, NULL, 0, 0, 0 },
};
#undef O

static void usage(void)
{
	printf("pubsub - publish-subscribe service (XEP-0060) (" PACKAGE_STRING ")\n"
	       "usage: pubsub [-c config] [-i id] [-D] [-h]\n");
	exit(1);
}

static void send_route(struct pubsub *ps, struct nad *stanza)
{
	comp_stanza_route(ps->comp, stanza);
}

/* ---- the router link ---- */

static void on_bound(struct comp *comp, const char *name, int error, void *ctx)
{
	struct pubsub *ps = ctx;

	(void)comp;
	if (error != 0) {
		log_error("pubsub: cannot bind '%s' at the router (error %d); exiting", name,
			  error);
		ps->exit_code = 1;
		mio_stop(ps->mio);
		return;
	}
	log_notice("pubsub: %s ready for nodes", ps->domain);
	sdnotify_ready("ready for nodes");
}

static void on_element(struct comp *comp, struct nad *nad, void *ctx)
{
	(void)comp;
	pubsub_router_element(ctx, nad);
}

static void on_down(struct comp *comp, const char *reason, int final, void *ctx)
{
	struct pubsub *ps = ctx;

	(void)comp;
	if (!final)
		return;
	if (!ps->shutting_down)
		log_notice("pubsub: giving up on the router (%s); shutting down", reason);
	mio_stop(ps->mio);
}

static const struct comp_callbacks ps_comp_cb = {
	.bound = on_bound,
	.element = on_element,
	.down = on_down,
};

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
	struct pubsub *ps = ctx;

	if (ps->shutting_down) {
		mio_stop(ps->mio);
		return;
	}
	log_notice("pubsub: shutting down (signal %d)", signo);
	ps->shutting_down = 1;
	sdnotify_stopping();
	comp_close(ps->comp);
}

static void on_debug(int signo, void *ctx)
{
	(void)ctx;
	log_set_debug(signo == SIGUSR2);
}

static int run(struct pubsub *ps)
{
	struct comp_settings set = { .ident = "pubsub" };
	struct mio_timer *watchdog;
	const char *error;
	int rc;

	if (comp_settings_load(ps->cfg, &set, &error) < 0 ||
	    (ps->comp = comp_new(ps->mio, &set, &ps_comp_cb, ps, &error)) == NULL) {
		log_error("pubsub: %s", error);
		return 1;
	}
	comp_bind(ps->comp, ps->domain, NULL, 0);
	comp_start(ps->comp);
	mio_signal(ps->mio, SIGHUP, on_hup, ps, &error);
	mio_signal(ps->mio, SIGTERM, on_term, ps, &error);
	mio_signal(ps->mio, SIGINT, on_term, ps, &error);
	mio_signal(ps->mio, SIGUSR1, on_debug, ps, &error);
	mio_signal(ps->mio, SIGUSR2, on_debug, ps, &error);
	signals_release();
	watchdog = mio_timer_new(ps->mio, sdnotify_watchdog_timer, NULL);
	if (sdnotify_watchdog_ms() > 0)
		mio_timer_start(watchdog, sdnotify_watchdog_ms(), 1);
	if (mio_run(ps->mio, &error) < 0) {
		log_error("pubsub: %s", error);
		rc = 1;
	} else
		rc = ps->exit_code;
	mio_timer_free(&watchdog);
	return rc;
}

static const char *const known_sections[] = {
	"router", "storage", "log", "id", "service", "limits", "auto-create",
	"default-max-items", NULL,
};

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
	const char *file = SYSCONFDIR "/pubsub.xml", *id = NULL, *error;
	struct ps_main_opts o = { 0 };
	struct config *cfg;
	struct pubsub *ps;
	struct mio *mio;
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
		fprintf(stderr, "pubsub: %s\n", error);
		config_free(&cfg);
		return 2;
	}
	if (log_open(log_type_parse(config_attr(cfg, "log", 0, "type")), o.log_ident,
		     o.log_facility, o.log_file, &error) < 0) {
		fprintf(stderr, "pubsub: %s\n", error);
		config_free(&cfg);
		return 1;
	}
	log_set_debug(debug);
	if (pidfile_write(o.pidfile, &error) < 0)
		log_warnx("pubsub: cannot write pid file %s: %s", o.pidfile, error);
	log_notice("pubsub: starting up");
	if ((mio = mio_new(&error)) == NULL)
		fatalx("pubsub: %s", error);
	config_unknown(cfg, main_keys, known_sections);
	if ((ps = setup(cfg, mio)) == NULL) {
		mio_free(&mio);
		pidfile_remove(o.pidfile);
		config_free(&cfg);
		log_close();
		return 1;
	}
	rc = run(ps);
	pidfile_remove(o.pidfile);
	comp_free(&ps->comp);
	ps_store_close(&ps->store);
	pubsub_free(&ps);
	mio_free(&mio);
	config_free(&cfg);
	log_notice("pubsub: stopped");
	log_close();
	return rc;
}
