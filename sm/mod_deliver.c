/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mod_deliver: delivery (RFC 6121 section 8). From a session, everything
 * the earlier modules left goes out, stamped with the session's full JID;
 * a stanza without `to` is for the user's own account. To a user: a full
 * JID with a session gets it. Messages otherwise follow RFC 6121 section
 * 8.5: normal and chat (to the bare JID, or to a resource that has no
 * session) go to the available sessions of the highest non-negative
 * priority, or are left for offline storage when there are none;
 * headlines go to every such session, or nowhere; groupchat to a bare JID
 * gets service-unavailable, to a missing resource nothing; errors are
 * dropped. iq results and errors go only to the session they name.
 * A session whose XEP-0016 list in force refuses the message is passed
 * over (mod_privacy); one every available session refuses is bounced
 * with service-unavailable, not stored.
 *
 * In a cluster the user's sessions on other nodes (sm/cluster.c stubs)
 * count as well: a full JID one of them holds is forwarded to its node,
 * and the bare-JID choice is made over local and remote sessions together
 * (priorities across nodes, ties get copies, one route per node).
 */
#include "config.h"
#include "sm/sm.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/jid.h"
#include "util/list.h"
#include "util/nad.h"
#include "sm/privacy.h"

static enum mod_ret deliver_in_sess(struct sess *sess, struct pkt *pkt)
{
	if (pkt->to == NULL)
		pkt_set_to(pkt, jid_bare(sess->jid));
	pkt_router(pkt);
	return MOD_HANDLED;
}

/* Every available session of the top priority (all with a non-negative
 * one for `all`) among those whose privacy list lets the message in gets
 * a copy. 0 if there is no available session at all. */
static int deliver_message_bare(struct user *user, struct pkt *pkt, int all)
{
	int top = user_top_priority(user, pkt);
	struct sm_fwd fwd = { 0 };
	struct list_node *n;
	struct rsess *r;
	char *local[SM_CLUSTER_ALSO_MAX];
	size_t nlocal = 0;

	if (!user_available_anywhere(user, pkt) && !privacy_user_denies(user, pkt))
		return 0;       /* offline storage */
	if (top < 0) {
		pkt_router(pkt_error(pkt, "service-unavailable"));
		return 1;
	}
	for (n = list_first(&user->sessions); n != NULL; n = list_next(&user->sessions, n)) {
		struct sess *s = LIST_ENTRY(n, struct sess, link);

		if (s->available && (all ? s->priority >= 0 : s->priority == top) &&
		    !privacy_sess_denies(s, pkt)) {
			if (nlocal < SM_CLUSTER_ALSO_MAX && user->remote != NULL)
				local[nlocal++] = xstrdup(jid_full(s->jid));
			pkt_sess(pkt_dup(pkt, NULL, NULL), s);
		}
	}
	/* In a cluster, the sessions on other nodes: one route per node,
	 * whose sm applies the session's privacy list. */
	for (r = user->remote; r != NULL; r = r->next)
		if (r->available && rsess_usable(r, pkt) &&
		    (all ? r->priority >= 0 : r->priority == top))
			sm_fwd_add(&fwd, r);
	sm_fwd_send_also(user->sm, &fwd, pkt, 1, local, nlocal, 1);
	while (nlocal > 0)
		free(local[--nlocal]);
	pkt_free(&pkt);
	return 1;
}

static enum mod_ret deliver_message(struct user *user, struct pkt *pkt, int to_full)
{
	const char *type = nad_attr(pkt->nad, 0, NULL, "type");

	if (pkt->type == PKT_MESSAGE_ERROR) {
		pkt_free(&pkt);
		return MOD_HANDLED;
	}
	if (type != NULL && strcmp(type, "groupchat") == 0) {
		if (to_full)
			pkt_free(&pkt);
		else
			pkt_router(pkt_error(pkt, "service-unavailable"));
		return MOD_HANDLED;
	}
	if (type != NULL && strcmp(type, "headline") == 0) {
		if (!deliver_message_bare(user, pkt, 1))
			return MOD_PASS;        /* offline may keep it, if told to */
		return MOD_HANDLED;
	}
	return deliver_message_bare(user, pkt, 0) ? MOD_HANDLED : MOD_PASS;
}

static enum mod_ret deliver_pkt_user(struct user *user, struct pkt *pkt)
{
	const char *res = jid_resource(pkt->to);
	struct sess *sess = res[0] != '\0' ? user_sess(user, res) : NULL;
	struct rsess *r;

	if (sess != NULL) {
		pkt_sess(pkt, sess);
		return MOD_HANDLED;
	}
	/* A full JID another node holds: its sm delivers. */
	if (res[0] != '\0' && (r = user_remote_get(user, pkt->to, pkt)) != NULL) {
		sm_forward_one(user->sm, pkt, r);
		return MOD_HANDLED;
	}
	if (pkt->type & (PKT_MESSAGE | PKT_MESSAGE_ERROR))
		return deliver_message(user, pkt, res[0] != '\0');
	if (pkt->type & (PKT_IQ_RESULT | PKT_IQ_ERROR | PKT_PRESENCE_ERROR)) {
		pkt_free(&pkt);
		return MOD_HANDLED;
	}
	return MOD_PASS;
}

const struct sm_module sm_module_deliver = {
	.name = "deliver",
	.abi = SM_MODULE_ABI,
	.in_sess = deliver_in_sess,
	.pkt_user = deliver_pkt_user,
};
