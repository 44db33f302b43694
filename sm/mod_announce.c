/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mod_announce: server announcements, as jabberd2's. A message to
 * <domain>/announce/online goes to every available session of the
 * domain; to <domain>/announce/motd it also becomes the message of the
 * day ("motd-message", owner = domain), shown once to each user at its
 * next login ("motd-times" records when); announce/motd/update replaces
 * it silently, announce/motd/delete removes it. Only JIDs in the
 * "broadcast" ACL (aci.acl type='broadcast', or 'all') may announce.
 */
#include "config.h"
#include "sm/sm.h"

#include <string.h>
#include <time.h>

#include "comp/comp.h"
#include "storage/storage.h"
#include "util/jid.h"
#include "util/log.h"
#include "util/nad.h"
#include "util/xhash.h"

/* A copy of the announcement to every available session of the domain;
 * in a cluster, on every node (sm_cluster_fan_out_domain). */
static void announce_online(struct sm *sm, const struct pkt *pkt, const char *domain)
{
	struct xhash_iter it;
	struct pkt *copy;
	void *v;

	xhash_iter_init(sm->sessions, &it);
	while (xhash_iter_next(&it, NULL, &v)) {
		struct sess *s = v;

		if (s->available && strcmp(jid_domain(s->jid), domain) == 0)
			pkt_sess(pkt_dup(pkt, jid_full(s->jid), domain), s);
	}
	copy = pkt_dup(pkt, NULL, domain);
	if (copy != NULL) {
		sm_cluster_fan_out_domain(sm, domain, copy);
		pkt_free(&copy);
	}
}

static void announce_store(struct sm *sm, struct pkt *pkt, const char *domain)
{
	struct nad *route = comp_route_new(sm->id, domain, NULL);
	struct os *os = os_new();
	const char *error;

	pkt_delay(pkt, time(NULL), domain);
	nad_graft(route, 0, pkt->nad, 0);
	os_object_put_nad(os_object_new(os), "xml", route);
	if (storage_replace(sm->st, "motd-message", domain, NULL, os, &error) != STORAGE_OK)
		log_error("sm: announce: cannot store the MOTD of %s: %s", domain, error);
	os_free(&os);
	nad_free(&route);
}

static enum mod_ret announce_pkt_sm(struct pkt *pkt)
{
	struct sm *sm = pkt->sm;
	const char *res = jid_resource(pkt->to), *domain = jid_domain(pkt->to), *error;

	if (pkt->type != PKT_MESSAGE || strncmp(res, "announce/", 9) != 0)
		return MOD_PASS;
	if (!sm_acl(sm, "broadcast", pkt->from)) {
		pkt_router(pkt_error(pkt, "forbidden"));
		return MOD_HANDLED;
	}
	res += 9;
	if (strcmp(res, "online") == 0)
		announce_online(sm, pkt, domain);
	else if (strcmp(res, "motd") == 0) {
		announce_store(sm, pkt, domain);
		announce_online(sm, pkt, domain);
	} else if (strcmp(res, "motd/update") == 0)
		announce_store(sm, pkt, domain);
	else if (strcmp(res, "motd/delete") == 0)
		storage_delete(sm->st, "motd-message", domain, NULL, &error);
	else {
		pkt_router(pkt_error(pkt, "item-not-found"));
		return MOD_HANDLED;
	}
	pkt_free(&pkt);
	return MOD_HANDLED;
}

/* The stamp of a stored MOTD (0 if none). */
static time_t announce_stamp(const struct nad *nad, int msg)
{
	int d = nad_child(nad, msg, "urn:xmpp:delay", "delay");
	const char *stamp = d != NAD_NONE ? nad_attr(nad, d, NULL, "stamp") : NULL;
	struct tm tm = { 0 };

	if (stamp == NULL || strptime(stamp, "%Y-%m-%dT%H:%M:%SZ", &tm) == NULL)
		return 0;
	return timegm(&tm);
}

/* At a session's first available presence: the MOTD, if not seen. */
static void announce_motd(struct sess *sess)
{
	struct sm *sm = sess->user->sm;
	const char *owner = jid_bare(sess->user->jid), *error;
	struct os *os = NULL, *seen = NULL;
	const struct nad *route;
	int64_t last = 0;
	int msg;

	if (storage_get(sm->st, "motd-message", jid_domain(sess->jid), NULL, &os, &error) !=
	    STORAGE_OK)
		return;
	if (os_object_get_nad(os_first(os), "xml", &route) == 0 &&
	    (msg = comp_route_payload(route)) != NAD_NONE) {
		if (storage_get(sm->st, "motd-times", owner, NULL, &seen, &error) == STORAGE_OK)
			os_object_get_int(os_first(seen), "time", &last);
		os_free(&seen);
		if (last < (int64_t)announce_stamp(route, msg)) {
			struct pkt *p = pkt_new(sm, nad_extract(route, msg));

			if (p != NULL) {
				pkt_set_to(p, jid_full(sess->jid));
				pkt_sess(p, sess);
			}
			seen = os_new();
			os_object_put_int(os_object_new(seen), "time", (int64_t)time(NULL));
			storage_replace(sm->st, "motd-times", owner, NULL, seen, &error);
			os_free(&seen);
		}
	}
	os_free(&os);
}

static enum mod_ret announce_in_sess(struct sess *sess, struct pkt *pkt)
{
	if (pkt->type == PKT_PRESENCE && pkt->to == NULL && !sess->available)
		announce_motd(sess);
	return MOD_PASS;
}

static void announce_user_delete(struct sm *sm, const struct jid *jid)
{
	const char *error;

	storage_delete(sm->st, "motd-times", jid_bare(jid), NULL, &error);
}

const struct sm_module sm_module_announce = {
	.name = "announce",
	.abi = SM_MODULE_ABI,
	.in_sess = announce_in_sess,
	.pkt_sm = announce_pkt_sm,
	.user_delete = announce_user_delete,
};
