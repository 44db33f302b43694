/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mod_carbons: XEP-0280 message carbons (urn:xmpp:carbons:2), which
 * jabberd2 does not have; add "carbons" to the in-sess and pkt-user
 * chains, before deliver, to offer it. A session turns carbons on with
 * <enable/> and off with <disable/>. Chat messages (and normal ones with
 * a body) that a user sends are copied to its other enabled sessions in
 * <sent/>; those it receives are copied in <received/> to its enabled
 * sessions that the message itself does not reach, unless their XEP-0016
 * list in force refuses the sender. <private/> and the XEP-0334
 * <no-copy/> hint keep a message out of carbons.
 *
 * In a cluster the user's sessions on other nodes are counted when
 * deciding which sessions a received message reaches, and every
 * available one the message does not reach gets the copy (one route per
 * node, without `to`): its sm drops it unless that session enabled
 * carbons (carbons_wanted, sm/carbons.h).
 */
#include "config.h"
#include "sm/carbons.h"
#include "sm/sm.h"

#include <string.h>

#include "util/jid.h"
#include "util/list.h"
#include "util/nad.h"
#include "sm/privacy.h"

#define NS_CARBONS "urn:xmpp:carbons:2"
#define NS_FORWARD "urn:xmpp:forward:0"
#define NS_HINTS "urn:xmpp:hints"

/* The module's data: per session, whether it enabled carbons, as a
 * pointer to the session itself (non-NULL: on); nothing to free. */
static int carbons_slot;

static int carbons_on(const struct sess *sess)
{
	return sess->mod[carbons_slot] != NULL;
}

int carbons_wanted(struct sess *sess, const struct pkt *pkt)
{
	if (pkt->type != PKT_MESSAGE || pkt->from == NULL ||
	    strcmp(jid_full(pkt->from), jid_bare(sess->user->jid)) != 0 ||
	    (nad_child(pkt->nad, 0, NS_CARBONS, "received") == NAD_NONE &&
	     nad_child(pkt->nad, 0, NS_CARBONS, "sent") == NAD_NONE))
		return 1;
	return carbons_on(sess);
}

static int carbons_eligible(const struct pkt *pkt)
{
	const char *type = nad_attr(pkt->nad, 0, NULL, "type");

	if (pkt->type != PKT_MESSAGE)
		return 0;
	if (nad_child(pkt->nad, 0, NS_CARBONS, "private") != NAD_NONE ||
	    nad_child(pkt->nad, 0, NS_HINTS, "no-copy") != NAD_NONE ||
	    nad_child(pkt->nad, 0, NS_CARBONS, "received") != NAD_NONE ||
	    nad_child(pkt->nad, 0, NS_CARBONS, "sent") != NAD_NONE)
		return 0;
	if (type == NULL || strcmp(type, "normal") == 0)
		return nad_child(pkt->nad, 0, NULL, "body") != NAD_NONE;
	return strcmp(type, "chat") == 0;
}

/* The message wrapped for a copy to `to` (NULL: none, for the sessions
 * on other nodes) from the user's bare JID. */
static struct pkt *carbons_wrap(const struct pkt *pkt, const struct user *user, const char *to,
				const char *how)
{
	struct pkt *c = pkt_create(pkt->sm, "message", nad_attr(pkt->nad, 0, NULL, "type"), to,
				   jid_bare(user->jid));
	int w, f;

	if (c == NULL)
		return NULL;
	w = nad_elem_add(c->nad, 0, NS_CARBONS, how);
	f = nad_elem_add(c->nad, w, NS_FORWARD, "forwarded");
	nad_graft(c->nad, f, pkt->nad, 0);
	return c;
}

static void carbons_copy(const struct pkt *pkt, struct sess *s, const char *how)
{
	struct pkt *c = carbons_wrap(pkt, s->user, jid_full(s->jid), how);

	if (c != NULL)
		pkt_sess(c, s);
}

/* Copies for the user's available sessions on other nodes, but the one
 * the message itself reaches (`reached`, or every one of that priority
 * when `top` >= 0). */
static void carbons_remote(const struct pkt *pkt, struct user *user, const struct jid *reached,
			   int top, const char *how)
{
	struct sm_fwd fwd = { 0 };
	struct rsess *r;
	struct pkt *c;

	for (r = user->remote; r != NULL; r = r->next)
		if (r->available && rsess_usable(r, pkt) && !(reached != NULL && strcmp(r->full, jid_full(reached)) == 0) &&
		    !(top >= 0 && r->priority == top))
			sm_fwd_add(&fwd, r);
	if (fwd.n == 0)
		return;
	c = carbons_wrap(pkt, user, NULL, how);
	if (c != NULL)
		sm_fwd_send(user->sm, &fwd, c, 0);
	sm_fwd_clear(&fwd);
	pkt_free(&c);
}

static enum mod_ret carbons_in_sess(struct sess *sess, struct pkt *pkt)
{
	struct list_node *n;
	int c;

	/* For the account: no `to`, or the user's bare JID (what c2s puts on
	 * an iq without `to`, RFC 6120 10.3.3). */
	if (pkt->type == PKT_IQ_SET && pkt->iq_ns != NULL &&
	    strcmp(pkt->iq_ns, NS_CARBONS) == 0 &&
	    (pkt->to == NULL || (jid_resource(pkt->to)[0] == '\0' &&
				 jid_equal_bare(pkt->to, sess->jid)))) {
		c = nad_child(pkt->nad, 0, NS_CARBONS, NULL);
		if (c == NAD_NONE)
			pkt_error(pkt, "bad-request");
		else if (strcmp(nad_name(pkt->nad, c), "enable") == 0)
			sess->mod[carbons_slot] = sess;
		else if (strcmp(nad_name(pkt->nad, c), "disable") == 0)
			sess->mod[carbons_slot] = NULL;
		else
			pkt_error(pkt, "bad-request");
		if (pkt->type != PKT_IQ_ERROR)
			pkt_result(pkt);
		pkt_sess(pkt, sess);
		return MOD_HANDLED;
	}
	if (!carbons_eligible(pkt) || pkt->to == NULL)
		return MOD_PASS;
	for (n = list_first(&sess->user->sessions); n != NULL;
	     n = list_next(&sess->user->sessions, n)) {
		struct sess *s = LIST_ENTRY(n, struct sess, link);

		if (s != sess && carbons_on(s) && !jid_equal(s->jid, pkt->to))
			carbons_copy(pkt, s, "sent");
	}
	carbons_remote(pkt, sess->user, pkt->to, -1, "sent");
	return MOD_PASS;
}

/* The full JID the message goes to, if a session (here or on another
 * node) holds it. */
static int carbons_exact(struct user *user, const struct pkt *pkt)
{
	const char *res = jid_resource(pkt->to);

	return res[0] != '\0' && (user_sess(user, res) != NULL ||
				  user_remote_get(user, pkt->to, pkt) != NULL);
}

/* Would deliver hand this message to s? (Its rules, mod_deliver.c,
 * privacy lists and the sessions on other nodes included.) */
static int carbons_reaches(struct user *user, const struct pkt *pkt, struct sess *s)
{
	int top;

	if (carbons_exact(user, pkt))
		return strcmp(jid_resource(pkt->to), jid_resource(s->jid)) == 0;
	top = user_top_priority(user, pkt);
	return top >= 0 && s->available && s->priority == top && !privacy_sess_denies(s, pkt);
}

static enum mod_ret carbons_pkt_user(struct user *user, struct pkt *pkt)
{
	struct list_node *n;
	int exact;

	if (!carbons_eligible(pkt) || !user_available_anywhere(user, pkt))
		return MOD_PASS;
	for (n = list_first(&user->sessions); n != NULL; n = list_next(&user->sessions, n)) {
		struct sess *s = LIST_ENTRY(n, struct sess, link);

		/* A session whose privacy list refuses the sender gets no
		 * copy either. */
		if (carbons_on(s) && !carbons_reaches(user, pkt, s) && !privacy_sess_denies(s, pkt))
			carbons_copy(pkt, s, "received");
	}
	exact = carbons_exact(user, pkt);
	carbons_remote(pkt, user, exact ? pkt->to : NULL,
		       exact ? -1 : user_top_priority(user, pkt), "received");
	return MOD_PASS;
}

static int carbons_init(struct sm *sm, const char *arg)
{
	(void)arg;
	sm_feature(sm, NS_CARBONS);
	return 0;
}

const struct sm_module sm_module_carbons = {
	.name = "carbons",
	.abi = SM_MODULE_ABI,
	.slot = &carbons_slot,
	.init = carbons_init,
	.in_sess = carbons_in_sess,
	.pkt_user = carbons_pkt_user,
};
