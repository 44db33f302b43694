/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mod_offline: offline storage (XEP-0160). Messages (and, unless
 * offline.dropsubscriptions, subscription requests) for a user with no
 * available session are kept in jabberd2's "queue" table, each as the
 * whole <route> envelope around the stanza, stamped with a XEP-0203 delay
 * when stored. They are delivered to the first session that becomes
 * available with a non-negative priority, taken from storage in one
 * step: of two sms sharing the database that flush the queue at once
 * (the user logging in on two nodes), each message goes to one.
 * offline.userquota (0 = unlimited) caps the stored stanzas per user; a
 * message beyond it is answered with service-unavailable. With mod_amp
 * loaded, a stored message whose XEP-0079 expire-at has passed by then
 * is handled by its rule (dropped, bounced...) instead of delivered.
 */
#include "config.h"
#include "sm/offline.h"

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
#include "sm/amp.h"
#include "sm/sm.h"

/* The module's data: per sm, sm.xml's offline options. */
struct offline_sm {
	int quota, store_headlines, drop_messages, drop_s10n;
};

#define O(f) offsetof(struct offline_sm, f)
static const struct config_key offline_keys[] = {
	{ "offline.dropmessages", CONFIG_FLAG, "0", O(drop_messages), 0, 0 },
	{ "offline.storeheadlines", CONFIG_FLAG, "0", O(store_headlines), 0, 0 },
	{ "offline.dropsubscriptions", CONFIG_FLAG, "0", O(drop_s10n), 0, 0 },
	{ "offline.userquota", CONFIG_INT, "0", O(quota), 0, 1 << 30 },
	{ NULL, 0, NULL, 0, 0, 0 },
};
#undef O

static int offline_slot;

static const struct offline_sm *offline_sm(const struct sm *sm)
{
	return sm->mod[offline_slot];
}

int offline_wanted(const struct sm *sm, const struct pkt *pkt)
{
	const struct offline_sm *opt = offline_sm(sm);
	const char *type = nad_attr(pkt->nad, 0, NULL, "type");

	if (opt == NULL)
		return 0;
	if (pkt->type == PKT_MESSAGE) {
		if (opt->drop_messages)
			return 0;
		if (type != NULL && strcmp(type, "groupchat") == 0)
			return 0;
		if (type != NULL && strcmp(type, "headline") == 0)
			return opt->store_headlines;
		return nad_child(pkt->nad, 0, NULL, NULL) != NAD_NONE;
	}
	if (pkt->type & (PKT_S10N | PKT_S10N_ED | PKT_S10N_UN | PKT_S10N_UNED))
		return !opt->drop_s10n;
	return 0;
}

int offline_drops_messages(const struct sm *sm)
{
	return offline_sm(sm) == NULL || offline_sm(sm)->drop_messages;
}

static enum mod_ret offline_pkt_user(struct user *user, struct pkt *pkt)
{
	struct sm *sm = user->sm;
	const char *owner = jid_bare(user->jid), *error;
	struct nad *route;
	struct os *os;
	int64_t count = 0;
	int quota = offline_sm(sm)->quota, rc;

	if (!offline_wanted(sm, pkt) || user_available_anywhere(user, pkt))
		return MOD_PASS;
	if (quota > 0 &&
	    storage_count(sm->st, "queue", owner, NULL, &count, &error) == STORAGE_OK &&
	    count >= quota) {
		log_notice("sm: offline quota of %s reached (%d)", owner, quota);
		if (pkt->type == PKT_MESSAGE) {
			pkt_router(pkt_error(pkt, "service-unavailable"));
			return MOD_HANDLED;
		}
		pkt_free(&pkt);
		return MOD_HANDLED;
	}
	pkt_delay(pkt, time(NULL), jid_domain(user->jid));
	route = comp_route_new(jid_domain(user->jid), pkt->from != NULL ?
			       jid_domain(pkt->from) : sm->id, NULL);
	nad_graft(route, 0, pkt->nad, 0);
	os = os_new();
	os_object_put_nad(os_object_new(os), "xml", route);
	rc = storage_put(sm->st, "queue", owner, os, &error);
	os_free(&os);
	nad_free(&route);
	if (rc != STORAGE_OK) {
		log_error("sm: offline: cannot store for %s: %s", owner, error);
		if (pkt->type == PKT_MESSAGE) {
			pkt_router(pkt_error(pkt, "internal-server-error"));
			return MOD_HANDLED;
		}
	}
	pkt_free(&pkt);
	return MOD_HANDLED;
}

/* The stored stanzas, to a session that just became available. */
static void offline_flush(struct sess *sess)
{
	struct sm *sm = sess->user->sm;
	const char *owner = jid_bare(sess->user->jid), *error;
	struct os *os = NULL;
	struct os_object *o;

	/* Taken, not read then cleared: an sm on another node sharing the
	 * database may flush the same queue at the same moment (the user
	 * logging in on both), and each message must go out once; nor may a
	 * message stored between a read and a clear be lost. */
	switch (storage_take(sm->st, "queue", owner, NULL, &os, &error)) {
	case STORAGE_OK:
		break;
	case STORAGE_ERROR:
		log_error("sm: offline: cannot take the queue of %s: %s", owner, error);
		return;
	case STORAGE_NOT_FOUND:
		return;
	}
	for (o = os_first(os); o != NULL; o = os_next(o)) {
		const struct nad *route;
		int payload;
		struct pkt *pkt;

		if (os_object_get_nad(o, "xml", &route) < 0)
			continue;
		payload = nad_root(route) != NAD_NONE && strcmp(nad_name(route, 0), "route") == 0
				  ? comp_route_payload(route) : nad_root(route);
		if (payload == NAD_NONE)
			continue;
		pkt = pkt_new(sm, nad_extract(route, payload));
		if (pkt != NULL && !amp_stored_expired(pkt))
			pkt_sess(pkt, sess);
	}
	os_free(&os);
}

void offline_take(struct sess *sess)
{
	if (offline_sm(sess->user->sm) != NULL)
		offline_flush(sess);
}

static enum mod_ret offline_in_sess(struct sess *sess, struct pkt *pkt)
{
	const char *p;
	int pri = 0, e;

	if (pkt->type != PKT_PRESENCE || pkt->to != NULL || sess->available)
		return MOD_PASS;
	e = nad_child(pkt->nad, 0, NULL, "priority");
	if (e != NAD_NONE) {
		p = nad_text(pkt->nad, e, NULL);
		pri = atoi(p);
	}
	if (pri >= 0)
		offline_flush(sess);
	return MOD_PASS;
}

static void offline_user_delete(struct sm *sm, const struct jid *jid)
{
	const char *error;

	storage_delete(sm->st, "queue", jid_bare(jid), NULL, &error);
}

static int offline_init(struct sm *sm, const char *arg)
{
	struct offline_sm *opt = xcalloc(1, sizeof(*opt));
	const char *error;

	(void)arg;
	sm->mod[offline_slot] = opt;
	if (config_apply(sm->cfg, offline_keys, opt, &error) < 0) {
		log_error("sm: offline: %s", error);
		return -1;
	}
	sm_feature(sm, "msgoffline");
	return 0;
}

static void offline_fini(struct sm *sm)
{
	free(sm->mod[offline_slot]);
	sm->mod[offline_slot] = NULL;
}

const struct sm_module sm_module_offline = {
	.name = "offline",
	.abi = SM_MODULE_ABI,
	.init = offline_init,
	.fini = offline_fini,
	.slot = &offline_slot,
	.in_sess = offline_in_sess,
	.pkt_user = offline_pkt_user,
	.user_delete = offline_user_delete,
};
