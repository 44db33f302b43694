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

static void send_route(struct muc *muc, struct nad *stanza)
{
	comp_stanza_route(muc->comp, stanza);
}

/* ---- the router link (comp/service.h) ---- */

static void to_muc(void *ctx, struct nad *nad)
{
	muc_router_element(ctx, nad);
}

static struct comp_service muc_svc = {
	.name = "muc", .ready = "ready for rooms", .element = to_muc,
};

static int link_router(struct muc *muc, const char **error_r)
{
	size_t i;

	muc_svc.id = muc->id;
	muc_svc.mio = muc->mio;
	muc_svc.ctx = muc;
	if (comp_service_link(&muc_svc, muc->cfg, error_r) < 0)
		return -1;
	muc->comp = muc_svc.comp;
	for (i = 0; i < muc->nsvcs; i++)
		comp_service_bind(&muc_svc, muc->svcs[i].domain, NULL);
	comp_start(muc->comp);
	return 0;
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

/* SIGTERM/SIGINT: the occupants are told the service is going (status
 * 332), then the router link closes. */
static void on_term(void *ctx)
{
	struct muc *muc = ctx;

	if (comp_is_open(muc->comp))
		muc_shutdown(muc);
	comp_service_close(&muc_svc);
}

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
	static const char *const sections[] = {
		"router", "storage", "service", "limits", "lock-new-rooms", "metrics", NULL,
	};
	struct comp_daemon d = {
		.name = "muc", .what = "multi-user chat service (XEP-0045)", .sections = sections,
	};
	const char *error;
	struct muc *muc;
	int rc;

	if ((rc = comp_daemon_open(&d, argc, argv, SYSCONFDIR "/muc.xml")) != 0)
		return rc;
	if ((muc = setup(d.cfg, d.mio)) == NULL) {
		comp_daemon_close(&d);
		return 1;
	}
	if (link_router(muc, &error) < 0 ||
	    metrics_start(muc->mio, muc->cfg, "muc", render_metrics, muc, &muc_metrics,
			  &error) < 0) {
		log_error("muc: %s", error);
		rc = 1;
	} else if ((rc = comp_daemon_run(&d, on_term, muc)) == 0)
		rc = muc_svc.exit_code;
	metrics_free(&muc_metrics);
	comp_free(&muc->comp);
	muc_store_close(&muc->store);
	muc_free(&muc);
	comp_daemon_close(&d);
	return rc;
}
