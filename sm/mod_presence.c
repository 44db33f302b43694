/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mod_presence: presence (RFC 6121 section 4). A session's own presence
 * goes to every contact with a "from" subscription and to the user's
 * available sessions; the first one also probes every contact with a "to"
 * subscription and shows the new session its siblings. Directed presence
 * is remembered so the session's unavailable reaches those addresses too,
 * including when the session ends without a word. Inbound presence goes to
 * the addressed session or to every available one; probes are answered
 * for contacts the user lets see its presence.
 */
#include "config.h"
#include "sm/presence.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/jid.h"
#include "util/list.h"
#include "util/nad.h"
#include "util/xhash.h"
#include "sm/privacy.h"
#include "sm/roster.h"
#include "sm/sm.h"

/* The module's data: per session, the full JIDs it sent directed
 * available presence to (made on the first), which its unavailable
 * reaches too. */
static int presence_slot;

#define SESS_FOREACH(user, s, n)                                                    \
	for ((n) = list_first(&(user)->sessions);                                  \
	     (n) != NULL && ((s) = LIST_ENTRY((n), struct sess, link), 1);          \
	     (n) = list_next(&(user)->sessions, (n)))

static int pres_priority(const struct pkt *pkt)
{
	int p = nad_child(pkt->nad, 0, NULL, "priority");
	long v;

	if (p == NAD_NONE)
		return 0;
	v = strtol(nad_text(pkt->nad, p, NULL), NULL, 10);
	return v < -128 ? -128 : v > 127 ? 127 : (int)v;
}

/* A copy of pkt to `to`, sent out. */
static void pres_send(const struct pkt *pkt, const char *to)
{
	struct pkt *p = pkt_dup(pkt, to, NULL);

	if (p != NULL)
		pkt_router(p);
}

/* Copies to every contact whose item has the flag set. */
static void pres_to_roster(struct user *user, const struct pkt *pkt, int want_from)
{
	struct xhash *roster = roster_items(user);
	struct xhash_iter it;
	void *v;

	if (roster == NULL)
		return;
	xhash_iter_init(roster, &it);
	while (xhash_iter_next(&it, NULL, &v)) {
		struct roster_item *item = v;

		if (want_from ? item->from : item->to)
			pres_send(pkt, jid_bare(item->jid));
	}
}

/* Copies to the user's available sessions (except `skip`; for presence
 * from outside, `filter`, except those whose privacy list refuses it).
 * In a cluster, the available sessions on other nodes too: their sm
 * applies their privacy lists; during a broadcast (pres_broadcast) every
 * contact's remote sessions on one node share one route. */
static void pres_to_sessions(struct user *user, const struct pkt *pkt, struct sess *skip,
			     int filter)
{
	struct list_node *n;
	struct sess *s;

	SESS_FOREACH(user, s, n)
		if (s != skip && s->available && !(filter && privacy_sess_denies(s, pkt)))
			pkt_sess(pkt_dup(pkt, jid_full(s->jid), NULL), s);
	sm_cluster_fan_out(user->sm, user, pkt);
}

/* A session's own presence to its contacts (those with a `from`
 * subscription) and to its user's other sessions (except skip). */
static void pres_broadcast(struct sess *sess, const struct pkt *pkt, struct sess *skip)
{
	sm_cluster_batch_begin(sess->user->sm, pkt);
	pres_to_roster(sess->user, pkt, 1);
	pres_to_sessions(sess->user, pkt, skip, 0);
	sm_cluster_batch_end(sess->user->sm, pkt);
}

static void pres_probe_contacts(struct sess *sess)
{
	struct user *user = sess->user;
	struct pkt *probe = pkt_create(user->sm, "presence", "probe", NULL, jid_bare(user->jid));
	struct xhash *roster;
	struct xhash_iter it;
	void *v;

	/* Contacts' sessions on one node share one probe route. */
	sm_cluster_batch_begin(user->sm, probe);
	pres_to_roster(user, probe, 0);
	sm_cluster_batch_end(user->sm, probe);
	pkt_free(&probe);
	/* In a cluster, contacts whose sessions on other nodes this sm does
	 * not know (yet) are asked there too (rule 14). */
	if (user->sm->cluster != NULL && (roster = roster_items(user)) != NULL) {
		xhash_iter_init(roster, &it);
		while (xhash_iter_next(&it, NULL, &v))
			if (((struct roster_item *)v)->to)
				sm_cluster_probe_unseen(sess, ((struct roster_item *)v)->jid);
	}
}

/* The new session sees what its siblings last said; those on other
 * nodes are asked (a probe their sm answers, presence_probe_sess). */
static void pres_siblings(struct sess *sess)
{
	struct sm_fwd fwd = { 0 };
	struct list_node *n;
	struct rsess *r;
	struct sess *s;
	struct pkt *probe;

	for (r = sess->user->remote; r != NULL; r = r->next)
		if (r->available)
			sm_fwd_add(&fwd, r);
	if (fwd.n > 0) {
		probe = pkt_create(sess->user->sm, "presence", "probe", jid_bare(sess->user->jid),
				   jid_full(sess->jid));
		if (probe != NULL)
			sm_fwd_send(sess->user->sm, &fwd, probe, 1);
		pkt_free(&probe);
		sm_fwd_clear(&fwd);
	}

	SESS_FOREACH(sess->user, s, n)
		if (s != sess && s->available && s->pres != NULL) {
			struct pkt *p = pkt_new(sess->user->sm, nad_copy(s->pres));

			if (p != NULL) {
				pkt_set_to(p, jid_full(sess->jid));
				pkt_sess(p, sess);
			}
		}
}

static void pres_available(struct sess *sess, struct pkt *pkt)
{
	int initial = !sess->available;

	sess->available = 1;
	sess->priority = pres_priority(pkt);
	nad_free(&sess->pres);
	sess->pres = nad_copy(pkt->nad);
	/* In a cluster, the other nodes learn that this session is available
	 * before any stanza it causes reaches them: a contact's node answers
	 * the probe below to the bare JID, over what it knows of our
	 * sessions. */
	sm_cluster_notify(sess, "update");
	if (initial)
		sm_cluster_initial(sess);
	pres_broadcast(sess, pkt, NULL);
	if (initial) {
		pres_probe_contacts(sess);
		pres_siblings(sess);
		roster_pending_to_session(sess);
	}
}

static void pres_unavailable(struct sess *sess, struct pkt *pkt)
{
	struct xhash *directed = sess->mod[presence_slot];
	struct xhash_iter it;
	const char *to;

	if (sess->available)
		pres_broadcast(sess, pkt, sess);
	if (directed != NULL) {
		xhash_iter_init(directed, &it);
		while (xhash_iter_next(&it, &to, NULL)) {
			char bare[JID_MAX + 1];
			const struct roster_item *item;

			/* A contact the broadcast reached already hears it once. */
			snprintf(bare, sizeof(bare), "%.*s", (int)strcspn(to, "/"), to);
			item = roster_get(sess->user, bare);
			if (!sess->available || item == NULL || !item->from)
				pres_send(pkt, to);
			xhash_iter_remove(&it);
		}
	}
	sess->available = 0;
	sess->priority = 0;
	nad_free(&sess->pres);
}

void presence_update(struct sess *sess, struct pkt *pkt)
{
	pkt_set_from(pkt, jid_full(sess->jid));
	if (pkt->type == PKT_PRESENCE)
		pres_available(sess, pkt);
	else if (pkt->type == PKT_PRESENCE_UN)
		pres_unavailable(sess, pkt);
	if (pkt->type == PKT_PRESENCE_UN)
		sm_cluster_notify(sess, "update");
	pkt_free(&pkt);
}

void presence_roster(struct user *user, const struct roster_item *item)
{
	struct sm_fwd fwd = { 0 };
	struct list_node *n;
	struct rsess *r;
	struct sess *s;
	struct pkt *probe;

	/* The sessions on other nodes: their sm answers a probe on the
	 * contact's behalf (it read the changed roster first: rule 8). */
	for (r = user->remote; r != NULL; r = r->next)
		if (r->available)
			sm_fwd_add(&fwd, r);
	if (fwd.n > 0 && (probe = pkt_create(user->sm, "presence", "probe", jid_bare(user->jid),
					     jid_bare(item->jid))) != NULL) {
		sm_fwd_send(user->sm, &fwd, probe, 1);
		pkt_free(&probe);
	}
	sm_fwd_clear(&fwd);

	SESS_FOREACH(user, s, n)
		if (s->available && s->pres != NULL) {
			struct pkt *p = pkt_new(user->sm, nad_copy(s->pres));

			if (p != NULL) {
				pkt_set_to(p, jid_bare(item->jid));
				pkt_router(p);
			}
		}
}

void presence_gone(struct user *user, const struct jid *jid)
{
	struct list_node *n;
	struct rsess *r;
	struct sess *s;

	for (r = user->remote; r != NULL; r = r->next)
		if (r->available) {
			struct pkt *p = pkt_create(user->sm, "presence", "unavailable",
						   jid_bare(jid), r->full);

			if (p != NULL)
				pkt_router(p);
		}

	SESS_FOREACH(user, s, n)
		if (s->available) {
			struct pkt *p = pkt_create(user->sm, "presence", "unavailable",
						   jid_bare(jid), jid_full(s->jid));

			if (p != NULL)
				pkt_router(p);
		}
}

/* ---- chain hooks ---- */

static enum mod_ret presence_in_sess(struct sess *sess, struct pkt *pkt)
{
	if (!(pkt->type & PKT_PRESENCE_ANY))
		return MOD_PASS;
	if (pkt->to == NULL && (pkt->type & (PKT_PRESENCE | PKT_PRESENCE_UN))) {
		presence_update(sess, pkt);
		return MOD_HANDLED;
	}
	if (pkt->to == NULL) {
		pkt_free(&pkt);
		return MOD_HANDLED;
	}
	/* Directed presence: remember who saw us, so they see us leave. */
	if (pkt->type == PKT_PRESENCE && sess->available) {
		if (sess->mod[presence_slot] == NULL)
			sess->mod[presence_slot] = xhash_new();
		xhash_put(sess->mod[presence_slot], jid_full(pkt->to), sess);
	} else if (pkt->type == PKT_PRESENCE_UN && sess->mod[presence_slot] != NULL)
		xhash_remove(sess->mod[presence_slot], jid_full(pkt->to));
	pkt_router(pkt);
	return MOD_HANDLED;
}

/* A probe: the sessions' presence if the prober may see it. Sessions on
 * other nodes get the probe, one route per node, and their sm answers
 * (presence_probe_sess). */
static void presence_probe(struct user *user, struct pkt *pkt)
{
	struct roster_item *item = roster_get(user, jid_bare(pkt->from));
	struct sm_fwd fwd = { 0 };
	struct list_node *n;
	struct rsess *r;
	struct sess *s;
	int sent = 0;

	if (jid_equal_bare(pkt->from, user->jid) || item == NULL || !item->from) {
		pkt_free(&pkt);
		return;
	}
	for (r = user->remote; r != NULL; r = r->next)
		if (r->available && rsess_usable(r, pkt)) {
			sm_fwd_add(&fwd, r);
			sent = 1;
		}
	sm_cluster_send(user->sm, &fwd, pkt, 1);
	SESS_FOREACH(user, s, n)
		if (s->available && s->pres != NULL) {
			struct pkt *p = pkt_new(user->sm, nad_copy(s->pres));

			if (p != NULL) {
				pkt_set_to(p, jid_full(pkt->from));
				pkt_router(p);
				sent = 1;
			}
		}
	if (!sent)
		pkt_router(pkt_create(user->sm, "presence", "unavailable", jid_full(pkt->from),
				      jid_bare(user->jid)));
	pkt_free(&pkt);
}

void presence_probe_sess(struct sess *sess, struct pkt *pkt)
{
	struct roster_item *item = roster_get(sess->user, jid_bare(pkt->from));
	struct pkt *p;

	if (sess->available && sess->pres != NULL &&
	    (jid_equal_bare(pkt->from, sess->user->jid) || (item != NULL && item->from)) &&
	    (p = pkt_new(sess->user->sm, nad_copy(sess->pres))) != NULL) {
		pkt_set_to(p, jid_full(pkt->from));
		pkt_router(p);
	}
	pkt_free(&pkt);
}

static enum mod_ret presence_pkt_user(struct user *user, struct pkt *pkt)
{
	const char *res;
	struct sess *sess;
	struct rsess *r;

	if (pkt->type == PKT_PRESENCE_PROBE) {
		if (pkt->from == NULL)
			pkt_free(&pkt);
		else
			presence_probe(user, pkt);
		return MOD_HANDLED;
	}
	if (!(pkt->type & (PKT_PRESENCE | PKT_PRESENCE_UN | PKT_PRESENCE_ERROR)))
		return MOD_PASS;
	res = jid_resource(pkt->to);
	if (res[0] != '\0') {
		sess = user_sess(user, res);
		if (sess != NULL)
			pkt_sess(pkt, sess);
		else if ((r = user_remote_get(user, pkt->to, pkt)) != NULL)
			sm_forward_one(user->sm, pkt, r);
		else
			pkt_free(&pkt);
		return MOD_HANDLED;
	}
	pres_to_sessions(user, pkt, NULL, 1);
	pkt_free(&pkt);
	return MOD_HANDLED;
}

/* Presence to a domain of ours (jabberd2 answers nothing). */
static enum mod_ret presence_pkt_sm(struct pkt *pkt)
{
	if (!(pkt->type & PKT_PRESENCE_ANY))
		return MOD_PASS;
	pkt_free(&pkt);
	return MOD_HANDLED;
}

static enum mod_ret presence_in_router(struct pkt *pkt)
{
	(void)pkt;
	return MOD_PASS;
}

static int presence_init(struct sm *sm, const char *arg)
{
	(void)arg;
	sm_feature(sm, "presence");
	return 0;
}

static void presence_sess_free(struct sess *sess, void *data)
{
	struct xhash *directed = data;

	(void)sess;
	xhash_free(&directed);
}

const struct sm_module sm_module_presence = {
	.name = "presence",
	.abi = SM_MODULE_ABI,
	.slot = &presence_slot,
	.sess_free = presence_sess_free,
	.init = presence_init,
	.in_sess = presence_in_sess,
	.in_router = presence_in_router,
	.pkt_sm = presence_pkt_sm,
	.pkt_user = presence_pkt_user,
};
