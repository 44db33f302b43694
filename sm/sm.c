/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sm.c: what the router sends the sm, and where it goes. A <route> is
 * unwrapped into a packet: session control elements and stanzas from
 * outside run the in-router chain (mod_session takes the control
 * elements); stanzas a client sent (they carry our SESS sm id) run the
 * in-sess chain of their session. Stanzas for us then go to the pkt-sm
 * chain (addressed to a domain) or the pkt-user chain (to a user), with
 * the RFC 6120/6121 answers when no module took them. Advertisements go
 * to the pkt-router chain. Session traffic is accepted only from the
 * component that started the session (sess->c2s).
 */
#include "config.h"
#include "sm/sm.h"

#include <stdlib.h>
#include <string.h>

#include "comp/comp.h"
#include "util/buf.h"
#include "util/jid.h"
#include "util/log.h"
#include "util/nad.h"
#include "util/xhash.h"

int sm_serves(const struct sm *sm, const char *domain)
{
	return xhash_get(sm->hosts, domain) != NULL;
}

void sm_feature(struct sm *sm, const char *ns)
{
	xhash_put(sm->features, ns, sm);
}

/* Nobody took a packet for a domain. */
static void sm_unhandled_sm(struct pkt *pkt)
{
	if (pkt->type & (PKT_IQ | PKT_IQ_SET)) {
		pkt_router(pkt_error(pkt, "feature-not-implemented"));
		return;
	}
	pkt_free(&pkt);
}

/* Nobody took a packet for a user, or the user does not exist. */
static void sm_unhandled_user(struct pkt *pkt, int exists)
{
	if (pkt->type == PKT_PRESENCE_PROBE && !exists) {
		struct pkt *r = pkt_create(pkt->sm, "presence", "unsubscribed",
					   jid_bare(pkt->from), jid_bare(pkt->to));

		if (r != NULL)
			pkt_router(r);
	} else if (pkt->type & (PKT_IQ | PKT_IQ_SET | PKT_MESSAGE)) {
		const char *type = nad_attr(pkt->nad, 0, NULL, "type");

		/* RFC 6121 8.5.2: an undeliverable headline is just dropped. */
		if (!exists || type == NULL || strcmp(type, "headline") != 0) {
			pkt_router(pkt_error(pkt, "service-unavailable"));
			return;
		}
	}
	pkt_free(&pkt);
}

void sm_dispatch(struct sm *sm, struct pkt *pkt)
{
	struct user *user;

	if (pkt->to == NULL || !sm_serves(sm, jid_domain(pkt->to)) || pkt->type == PKT_NONE) {
		pkt_free(&pkt);
		return;
	}
	if (jid_node(pkt->to)[0] == '\0') {
		if (mm_pkt_sm(sm, pkt) == MOD_PASS)
			sm_unhandled_sm(pkt);
		return;
	}
	user = user_load(sm, pkt->to);
	if (user == NULL) {
		sm_unhandled_user(pkt, 0);
		return;
	}
	/* Held first (seed patch 2): holding one too many delivers the
	 * others, which may load and release this user too. */
	user->refs++;
	if (!sm_cluster_hold(sm, user, pkt) && mm_pkt_user(sm, user, pkt) == MOD_PASS)
		sm_unhandled_user(pkt, 1);
	user->refs--;
	user_release(user);
}

/* A route bounced by the router: the c2s of a session is gone, or a
 * stanza could not be delivered. */
static void sm_route_error(struct sm *sm, struct nad *route, int payload)
{
	const char *smid = nad_attr(route, payload, SM_NS_SESSION, "sm");
	const char *code = nad_attr(route, 0, NULL, "error");
	const char *to = nad_attr(route, 0, NULL, "to");
	struct sess *sess;
	struct pkt *pkt;

	if (smid != NULL) {
		sess = xhash_get(sm->sessions, smid);
		/* A bounce keeps to: the component that is unreachable. */
		if (sess != NULL && to != NULL && strcmp(to, sess->c2s) == 0) {
			log_notice("sm: session %s: its c2s is unreachable (error %s); ending it",
				   jid_full(sess->jid), code);
			sess_end(sess, NULL);
		}
		return;
	}
	pkt = pkt_new(sm, nad_extract(route, payload));
	if (pkt == NULL || pkt->from == NULL || !sm_serves(sm, jid_domain(pkt->from)) ||
	    (pkt->type & (PKT_MESSAGE | PKT_IQ | PKT_IQ_SET | PKT_S10N_ANY |
			  PKT_PRESENCE | PKT_PRESENCE_PROBE)) == 0) {
		pkt_free(&pkt);
		return;
	}
	sm_dispatch(sm, pkt_error(pkt, pkt_error_cond(atoi(code))));
}

/* A stanza from a client session. */
static void sm_from_sess(struct sm *sm, struct nad *route, int payload, const char *smid)
{
	struct sess *sess = xhash_get(sm->sessions, smid);
	const char *rfrom = nad_attr(route, 0, NULL, "from");
	struct nad *nad;
	struct pkt *pkt;

	/* A session acts only through the component that started it. */
	if (sess != NULL && (rfrom == NULL || strcmp(rfrom, sess->c2s) != 0)) {
		log_warnx("sm: %s sent a stanza as the session %s of %s, held by %s; refused",
			  rfrom != NULL ? rfrom : "(no from)", smid, jid_full(sess->jid), sess->c2s);
		sess = NULL;
	}
	if (sess == NULL) {
		/* Tell the c2s this session is unknown here. */
		nad = nad_copy(route);
		nad_attr_set(nad, 0, NULL, "to", nad_attr(route, 0, NULL, "from"));
		nad_attr_set(nad, 0, NULL, "from", sm->id);
		nad_attr_set_prefixed(nad, payload, SM_NS_SESSION, "sm", "failed", "1");
		sm_send(sm, nad);
		return;
	}
	nad = nad_extract(route, payload);
	nad_attr_set(nad, 0, SM_NS_SESSION, "c2s", NULL);
	nad_attr_set(nad, 0, SM_NS_SESSION, "sm", NULL);
	/* The sender is the session, whatever the client wrote. */
	nad_attr_set(nad, 0, NULL, "from", jid_full(sess->jid));
	pkt = pkt_new(sm, nad);
	if (pkt == NULL)
		return;         /* unparsable address: dropped */
	if (pkt->type == PKT_NONE) {
		pkt_sess(pkt_error(pkt, "bad-request"), sess);
		return;
	}
	if (mm_in_sess(sm, sess, pkt) == MOD_PASS)
		pkt_free(&pkt);
}

static void sm_route(struct sm *sm, struct nad *route)
{
	int payload = comp_route_payload(route);
	const char *type = nad_attr(route, 0, NULL, "type");
	const char *smid;
	struct pkt *pkt;

	if (payload == NAD_NONE || type != NULL)
		return;
	if (nad_attr(route, 0, NULL, "error") != NULL) {
		sm_route_error(sm, route, payload);
		return;
	}
	if (sm_cluster_route(sm, route, payload) || sm_cluster_in(sm, route, payload))
		return;
	smid = nad_attr(route, payload, SM_NS_SESSION, "sm");
	if (smid != NULL && strcmp(nad_name(route, payload), "session") != 0) {
		sm_from_sess(sm, route, payload, smid);
		return;
	}
	pkt = pkt_new(sm, nad_extract(route, payload));
	if (pkt == NULL)
		return;
	pkt->rto = xstrdup_opt(nad_attr(route, 0, NULL, "to"));
	pkt->rfrom = xstrdup_opt(nad_attr(route, 0, NULL, "from"));
	if (mm_in_router(sm, pkt) == MOD_HANDLED)
		return;
	if (pkt->type == PKT_SESS) {
		pkt_free(&pkt);
		return;
	}
	sm_dispatch(sm, pkt);
}

void sm_router_element(struct sm *sm, struct nad *nad)
{
	const char *name = nad_name(nad, 0);
	struct pkt *pkt;

	if (strcmp(name, "route") == 0) {
		sm_route(sm, nad);
		nad_free(&nad);
		return;
	}
	if (strcmp(name, "presence") == 0) {
		pkt = xcalloc(1, sizeof(*pkt));
		pkt->sm = sm;
		pkt->nad = nad;
		pkt->rfrom = xstrdup_opt(nad_attr(nad, 0, NULL, "from"));
		pkt->type = nad_attr(nad, 0, NULL, "type") != NULL ? PKT_PRESENCE_UN : PKT_PRESENCE;
		if (mm_pkt_router(sm, pkt) == MOD_PASS)
			pkt_free(&pkt);
		return;
	}
	nad_free(&nad);
}
