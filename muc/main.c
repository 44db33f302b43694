/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * main.c: the muc daemon. Reads the command line (-c FILE, -i ID, -D, -h,
 * as the other daemons) and muc.xml, writes the pid file, opens the log
 * and the storage, loads the persistent rooms, links to the router as a
 * component (comp/) binding every <service> domain, and runs the loop.
 * A refused bind exits 1; giving up on the router exits 0. SIGHUP reopens
 * the log; SIGTERM/SIGINT tell the occupants the service is going
 * (status 332), close the router link and exit 0.
 */
#include "config.h"
#include "muc/muc.h"

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
#include "util/buf.h"
#include "util/config_file.h"
#include "util/jid.h"
#include "util/log.h"
#include "util/nad.h"
#include "util/pidfile.h"
#include "util/sdnotify.h"
#include "util/xhash.h"
#include "util/signals.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc/jabberd"
#endif

struct muc_main_opts {
	const char *pidfile;
	const char *log_ident, *log_facility, *log_file;
};

#define O(f) offsetof(struct muc_main_opts, f)
static const struct config_key main_keys[] = {
	{ "pidfile", CONFIG_STRING, NULL, O(pidfile), 0, 0 },
	{ "log.ident", CONFIG_STRING, "jabberd/muc", O(log_ident), 0, 0 },
	{ "log.facility", CONFIG_STRING, NULL, O(log_facility), 0, 0 },
	{ "log.file", CONFIG_STRING, NULL, O(log_file), 0, 0 },
	{ NULL, 0, NULL, 0, 0, 0 },
};
#undef O

static size_t binds_pending;

static void usage(void)
{
	printf("muc - multi-user chat service (XEP-0045) (" PACKAGE_STRING ")\n"
	       "usage: muc [-c config] [-i id] [-D] [-h]\n");
	exit(1);
}

/* The domain of a JID string, into buf. */
static const char *domain_of(const char *jid, char *buf, size_t size)
{
	const char *at, *slash;
	size_t len;

	if (jid == NULL)
		return NULL;
	slash = strchr(jid, '/');
	at = strchr(jid, '@');
	if (at != NULL && (slash == NULL || at < slash))
		jid = at + 1;
	len = slash != NULL && slash > jid ? (size_t)(slash - jid) : strlen(jid);
	if (len >= size)
		return NULL;
	memcpy(buf, jid, len);
	buf[len] = '\0';
	return buf;
}

static void send_route(struct muc *muc, struct nad *stanza)
{
	char to[JID_PART_MAX + 1], from[JID_PART_MAX + 1];
	const char *t = domain_of(nad_attr(stanza, 0, NULL, "to"), to, sizeof(to));
	const char *f = domain_of(nad_attr(stanza, 0, NULL, "from"), from, sizeof(from));

	if (t != NULL && f != NULL)
		comp_route(muc->comp, t, f, stanza, 0);
	nad_free(&stanza);
}

/* ---- the router link ---- */

static void on_bound(struct comp *comp, const char *name, int error, void *ctx)
{
	struct muc *muc = ctx;

	(void)comp;
	if (error != 0) {
		log_error("muc: cannot bind '%s' at the router (error %d); exiting", name, error);
		muc->exit_code = 1;
		mio_stop(muc->mio);
		return;
	}
	if (--binds_pending == 0) {
		log_notice("muc: %s ready for rooms", muc->id);
		sdnotify_ready("ready for rooms");
	}
}

static void on_ready(struct comp *comp, void *ctx)
{
	struct muc *muc = ctx;

	(void)comp;
	binds_pending = muc->nsvcs;
}

static void on_element(struct comp *comp, struct nad *nad, void *ctx)
{
	(void)comp;
	muc_router_element(ctx, nad);
}

static void on_down(struct comp *comp, const char *reason, int final, void *ctx)
{
	struct muc *muc = ctx;

	(void)comp;
	if (!final)
		return;
	if (!muc->shutting_down)
		log_notice("muc: giving up on the router (%s); shutting down", reason);
	mio_stop(muc->mio);
}

static const struct comp_callbacks muc_comp_cb = {
	.ready = on_ready,
	.bound = on_bound,
	.element = on_element,
	.down = on_down,
};

static int link_router(struct muc *muc, const char **error_r)
{
	struct comp_settings set = { .ident = "muc" };
	size_t i;

	if (comp_settings_load(muc->cfg, &set, error_r) < 0)
		return -1;
	muc->comp = comp_new(muc->mio, &set, &muc_comp_cb, muc, error_r);
	if (muc->comp == NULL)
		return -1;
	for (i = 0; i < muc->nsvcs; i++)
		comp_bind(muc->comp, muc->svcs[i].domain, NULL, 0);
	comp_start(muc->comp);
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
	struct muc *muc = ctx;

	if (muc->shutting_down) {
		mio_stop(muc->mio);
		return;
	}
	log_notice("muc: shutting down (signal %d)", signo);
	muc->shutting_down = 1;
	sdnotify_stopping();
	if (comp_is_open(muc->comp))
		muc_shutdown(muc);
	comp_close(muc->comp);
}

static void on_debug(int signo, void *ctx)
{
	(void)ctx;
	log_set_debug(signo == SIGUSR2);
}

static struct metrics *muc_metrics;

/* The metrics (metrics/metrics.h): HTTP port and status socket. */
static void render_metrics(struct buf *out, void *ctx)
{
	struct muc *muc = ctx;
	uint64_t rooms = 0, persistent = 0, occupants = 0;

	for (size_t i = 0; i < muc->nsvcs; i++) {
		struct xhash_iter it;
		const char *key;
		void *val;

		xhash_iter_init(muc->svcs[i].rooms, &it);
		while (xhash_iter_next(&it, &key, &val)) {
			const struct muc_room *mr = val;

			rooms++;
			persistent += mr->room->cfg.persistent != 0;
			occupants += mr->occ->count;
		}
	}
	metrics_common(out, muc_metrics);
	metrics_one(out, "jabberd_muc_rooms", "gauge", "Rooms in memory (persistent or occupied).",
		    rooms);
	metrics_one(out, "jabberd_muc_persistent_rooms", "gauge",
		    "Rooms configured persistent (kept in storage).", persistent);
	metrics_one(out, "jabberd_muc_occupants", "gauge", "Occupants (nicks) in all rooms.",
		    occupants);
	metrics_one(out, "jabberd_muc_groupchat_messages_total", "counter",
		    "Groupchat messages sent to a room's occupants.", muc->n_groupchat);
	metrics_one(out, "jabberd_muc_router_link_up", "gauge",
		    "1 while the link to the router is open.",
		    muc->comp != NULL && comp_is_open(muc->comp) ? 1 : 0);
}

static int run(struct muc *muc)
{
	struct mio_timer *watchdog;
	const char *error;
	int rc;

	if (link_router(muc, &error) < 0 ||
	    metrics_start(muc->mio, muc->cfg, "muc", render_metrics, muc, &muc_metrics,
			  &error) < 0) {
		log_error("muc: %s", error);
		return 1;
	}
	mio_signal(muc->mio, SIGHUP, on_hup, muc, &error);
	mio_signal(muc->mio, SIGTERM, on_term, muc, &error);
	mio_signal(muc->mio, SIGINT, on_term, muc, &error);
	mio_signal(muc->mio, SIGUSR1, on_debug, muc, &error);
	mio_signal(muc->mio, SIGUSR2, on_debug, muc, &error);
	signals_release();
	watchdog = mio_timer_new(muc->mio, sdnotify_watchdog_timer, NULL);
	if (sdnotify_watchdog_ms() > 0)
		mio_timer_start(watchdog, sdnotify_watchdog_ms(), 1);
	if (mio_run(muc->mio, &error) < 0) {
		log_error("muc: %s", error);
		rc = 1;
	} else
		rc = muc->exit_code;
	mio_timer_free(&watchdog);
	return rc;
}

static const char *const known_sections[] = {
	"router", "storage", "log", "id", "service", "limits", "lock-new-rooms", "metrics", NULL,
};

static struct muc *setup(struct config *cfg, struct mio *mio)
{
	const char *error;
	struct muc *muc;

	if ((muc = muc_new(cfg, &error)) == NULL) {
		log_error("muc: %s", error);
		return NULL;
	}
	muc->mio = mio;
	muc->send = send_route;
	if (muc_store_open(cfg, &muc->store, &error) < 0 ||
	    muc_load_rooms(muc, &error) < 0) {
		log_error("muc: storage: %s", error);
		muc_store_close(&muc->store);
		muc_free(&muc);
		return NULL;
	}
	if (muc->store == NULL)
		log_notice("muc: no <storage>: persistent rooms will not survive a restart");
	return muc;
}

int main(int argc, char **argv)
{
	const char *file = SYSCONFDIR "/muc.xml", *id = NULL, *error;
	struct muc_main_opts o = { 0 };
	struct config *cfg;
	struct mio *mio;
	struct muc *muc;
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
		fprintf(stderr, "muc: %s\n", error);
		config_free(&cfg);
		return 2;
	}
	if (log_open(log_type_parse(config_attr(cfg, "log", 0, "type")), o.log_ident,
		     o.log_facility, o.log_file, &error) < 0) {
		fprintf(stderr, "muc: %s\n", error);
		config_free(&cfg);
		return 1;
	}
	log_set_debug(debug);
	if (pidfile_write(o.pidfile, &error) < 0)
		log_warnx("muc: cannot write pid file %s: %s", o.pidfile, error);
	log_notice("muc: starting up");
	if ((mio = mio_new(&error)) == NULL)
		fatalx("muc: %s", error);
	config_unknown(cfg, main_keys, known_sections);
	if ((muc = setup(cfg, mio)) == NULL) {
		mio_free(&mio);
		pidfile_remove(o.pidfile);
		config_free(&cfg);
		log_close();
		return 1;
	}
	rc = run(muc);
	metrics_free(&muc_metrics);
	pidfile_remove(o.pidfile);
	comp_free(&muc->comp);
	muc_store_close(&muc->store);
	muc_free(&muc);
	mio_free(&mio);
	config_free(&cfg);
	log_notice("muc: stopped");
	log_close();
	return rc;
}
