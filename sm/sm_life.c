/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sm_life.c: an sm from its configuration (options from sm.xml, the
 * served domains, the storage drivers and the module chains) and back.
 * main.c adds the command line, logging, signals and the router link;
 * the unit tests and the fuzzer use an sm made here with a send hook in
 * place of the router.
 */
#include "config.h"
#include "sm/sm.h"

#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "comp/comp.h"
#include "storage/storage.h"
#include "util/buf.h"
#include "util/config_file.h"
#include "util/jid.h"
#include "util/log.h"
#include "util/nad.h"
#include "util/xhash.h"

#define O(f) offsetof(struct sm, f)
static const struct config_key sm_keys[] = {
	{ "id", CONFIG_STRING, "sm", O(id), 0, 0 },
	{ "router_id", CONFIG_STRING, NULL, O(router_id), 0, 0 },
	{ "cluster.notify", CONFIG_STRING, NULL, O(cluster_notify), 0, 0 },
	{ "user.auto-create", CONFIG_FLAG, "0", O(auto_create), 0, 0 },
	{ NULL, 0, NULL, 0, 0, 0 },
};
#undef O

/* What main.c reads itself, sections walked by hand, and the modules'
 * own options (each module reads its keys in its init). */
static const char *const sm_sections[] = {
	"pidfile", "log", "router", "local", "storage", "modules", "discovery", "aci",
	"user", "amp", "status", "roster", "offline", "pep", "cluster", "metrics", NULL,
};

/* The sm id and the served domains, nameprep'd. With <router_id>, that
 * name replaces <id> as our name at the router (patch 1): <id> then only
 * names the served domain when <local> lists none. */
static int sm_read_hosts(struct sm *sm, const char **error_r)
{
	char name[JID_PART_MAX + 1];
	int i, n = config_count(sm->cfg, "local.id");

	if (jid_nameprep(sm->id, name, sizeof(name), error_r) < 0)
		return -1;
	sm->id_buf = xstrdup(name);
	sm->id = sm->id_buf;
	for (i = 0; i < n; i++) {
		if (jid_nameprep(config_get_n(sm->cfg, "local.id", i), name, sizeof(name),
				 error_r) < 0) {
			*error_r = config_errorf(sm->cfg, config_node(sm->cfg, "local.id", i),
						 "%s", *error_r);
			return -1;
		}
		xhash_put(sm->hosts, name, sm);
	}
	if (n == 0)
		xhash_put(sm->hosts, sm->id, sm);
	if (sm->router_id != NULL) {
		if (jid_nameprep(sm->router_id, name, sizeof(name), error_r) < 0) {
			*error_r = config_errorf(sm->cfg, config_node(sm->cfg, "router_id", 0),
						 "%s", *error_r);
			return -1;
		}
		if (sm_serves(sm, name)) {
			*error_r = config_errorf(sm->cfg, config_node(sm->cfg, "router_id", 0),
						 "router_id '%s' is a served domain", name);
			return -1;
		}
		free(sm->id_buf);
		sm->id_buf = xstrdup(name);
		sm->id = sm->id_buf;
		sm->router_id = sm->id;
	}
	return 0;
}

static const char *sm_storage_option(void *ctx, const char *key)
{
	return config_get(ctx, key);
}

static int sm_open_storage(struct sm *sm, const char **error_r)
{
	int i, n = config_count(sm->cfg, "storage.driver");

	sm->st = storage_new(sm_storage_option, sm->cfg);
	for (i = 0; i < n; i++)
		if (storage_add_type(sm->st, config_get_n(sm->cfg, "storage.driver", i),
				     config_attr(sm->cfg, "storage.driver", i, "type"),
				     error_r) < 0)
			return -1;
	if (n == 0 && storage_add_type(sm->st, "sqlite", NULL, error_r) < 0)
		return -1;
	return 0;
}

struct sm *sm_new(struct config *cfg, struct mio *mio, const char **error_r)
{
	/* Error strings may live in what sm_free() releases (storage keeps
	 * its reasons in the struct storage): copy the reason out first. */
	static char reason[512];
	struct sm *sm = xcalloc(1, sizeof(*sm));

	sm->cfg = cfg;
	sm->mio = mio;
	sm->started = time(NULL);
	sm->hosts = xhash_new();
	sm->users = xhash_new();
	sm->sessions = xhash_new();
	sm->by_c2s = xhash_new();
	sm->features = xhash_new();
	if (config_apply(cfg, sm_keys, sm, error_r) < 0 || sm_read_hosts(sm, error_r) < 0 ||
	    sm_open_storage(sm, error_r) < 0 || sm_modules_init(sm, error_r) < 0) {
		snprintf(reason, sizeof(reason), "%s", *error_r);
		*error_r = reason;
		sm_free(&sm);
		return NULL;
	}
	config_unknown(cfg, sm_keys, sm_sections);
	sm_cluster_init(sm);
	return sm;
}

void sm_free(struct sm **smp)
{
	struct sm *sm = *smp;

	if (sm == NULL)
		return;
	*smp = NULL;
	while (sm->nheld > 0)
		nad_free(&sm->held[--sm->nheld]);
	free(sm->held);
	sm_cluster_free(sm);
	sess_free_all(sm);
	user_free_all(sm);
	sm_modules_fini(sm);
	storage_free(&sm->st);
	xhash_free(&sm->hosts);
	xhash_free(&sm->users);
	xhash_free(&sm->sessions);
	xhash_free(&sm->by_c2s);
	xhash_free(&sm->features);
	config_free(&sm->cfg);
	free(sm->id_buf);
	free(sm);
}

int sm_acl(struct sm *sm, const char *type, const struct jid *jid)
{
	int i, n = config_count(sm->cfg, "aci.acl");

	if (jid == NULL)
		return 0;
	for (i = 0; i < n; i++) {
		const struct config_node *acl = config_node(sm->cfg, "aci.acl", i), *j;
		const char *t = config_node_attr(acl, "type");

		if (t == NULL || (strcmp(t, type) != 0 && strcmp(t, "all") != 0))
			continue;
		for (j = config_node_child(acl, "jid"); j != NULL; j = config_node_next(j, "jid")) {
			const char *v = config_node_value(j);

			if (strcmp(v, jid_full(jid)) == 0 || strcmp(v, jid_bare(jid)) == 0)
				return 1;
		}
	}
	return 0;
}

/* A route for a client session or a session control element: worth
 * nothing once the link that carried the session is gone. */
static int sm_for_session(const struct nad *nad)
{
	int p = comp_route_payload(nad);
	const char *ns;

	if (p == NAD_NONE)
		return 1;
	ns = nad_ns(nad, p);
	return (ns != NULL && strcmp(ns, SM_NS_SESSION) == 0) ||
	       nad_attr(nad, p, SM_NS_SESSION, "c2s") != NULL;
}

static void sm_hold(struct sm *sm, struct nad *nad)
{
	if (strcmp(nad_name(nad, 0), "route") != 0 || sm_for_session(nad)) {
		nad_free(&nad);
		return;
	}
	if (sm->nheld >= SM_HELD_MAX) {
		if (sm->held_dropped++ == 0)
			log_warnx("sm: %d routes held for the router already; dropping more",
				  SM_HELD_MAX);
		nad_free(&nad);
		return;
	}
	if ((sm->nheld & (sm->nheld - 1)) == 0)
		sm->held = xrealloc(sm->held, (sm->nheld == 0 ? 1 : 2 * sm->nheld) *
				    sizeof(*sm->held));
	sm->held[sm->nheld++] = nad;
}

void sm_send_held(struct sm *sm)
{
	size_t i, n = sm->nheld;

	if (n == 0)
		return;
	log_notice("sm: sending %zu route%s held while the router was away%s", n,
		   n == 1 ? "" : "s", sm->held_dropped > 0 ? " (some were dropped)" : "");
	sm->nheld = 0;
	for (i = 0; i < n; i++)
		comp_send(sm->comp, sm->held[i]);
	free(sm->held);
	sm->held = NULL;
	sm->held_dropped = 0;
}

void sm_send(struct sm *sm, struct nad *nad)
{
	if (sm->send_hook != NULL) {
		sm->send_hook(sm, nad);
		return;
	}
	if (sm->comp == NULL) {
		nad_free(&nad);
		return;
	}
	if (!comp_is_open(sm->comp)) {
		sm_hold(sm, nad);
		return;
	}
	comp_send(sm->comp, nad);
}
