/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mod_session: the c2s <-> sm session protocol (compat spec section 5):
 * start/started, end/ended, create/created, delete/deleted, with the
 * request returned marked sc:failed='1' when it cannot be done. In the
 * pkt-router chain it ends the sessions of a c2s the router says is gone.
 * A session is ended only by the component that started it.
 */
#include "config.h"
#include "sm/sm.h"

#include <stdlib.h>
#include <string.h>

#include "util/jid.h"
#include "util/log.h"
#include "util/nad.h"
#include "util/xhash.h"

struct sess_req {
	struct sm *sm;
	const char *c2s;        /* route from: the c2s component */
	const char *c2s_id, *sm_id, *action, *target, *id;
	struct jid *jid;
};

static void session_fail(const struct sess_req *r, const char *why)
{
	log_notice("sm: session %s for %s refused: %s", r->action,
		   r->target != NULL ? r->target : "(no target)", why);
	sess_control(r->sm, r->c2s, r->c2s_id, r->sm_id, r->action, r->target, r->id, 1);
}

static void session_start(struct sess_req *r)
{
	struct user *user;
	struct sess *sess;

	if (r->jid == NULL || jid_node(r->jid)[0] == '\0' || jid_resource(r->jid)[0] == '\0') {
		session_fail(r, "no valid full JID");
		return;
	}
	user = user_load(r->sm, r->jid);
	if (user == NULL && r->sm->auto_create && user_create(r->sm, r->jid) == 0)
		user = user_load(r->sm, r->jid);
	if (user == NULL) {
		session_fail(r, "no such user");
		return;
	}
	user->refs++;
	sess = sess_start(r->sm, user, r->jid, r->c2s, r->c2s_id);
	sess_control(r->sm, r->c2s, r->c2s_id, sess->sm_id, "started", r->target, r->id, 0);
	user->refs--;
}

static void session_end(struct sess_req *r)
{
	struct sess *sess = r->sm_id != NULL ? xhash_get(r->sm->sessions, r->sm_id) : NULL;

	if (sess == NULL) {
		session_fail(r, "unknown session");
		return;
	}
	/* Only the component that started it (the router checks that a
	 * route's from is a name its sender holds). */
	if (strcmp(sess->c2s, r->c2s) != 0) {
		log_warnx("sm: %s tried to end the session %s of %s, held by %s; refused",
			  r->c2s, sess->sm_id, jid_full(sess->jid), sess->c2s);
		session_fail(r, "not the session's component");
		return;
	}
	sess_end(sess, "ended");
}

static void session_create(struct sess_req *r)
{
	struct user *user;

	if (r->jid == NULL || jid_node(r->jid)[0] == '\0') {
		session_fail(r, "no valid JID");
		return;
	}
	user = user_load(r->sm, r->jid);
	if (user != NULL) {
		user_release(user);
		session_fail(r, "user exists");
		return;
	}
	if (user_create(r->sm, r->jid) < 0) {
		session_fail(r, "cannot create user");
		return;
	}
	sess_control(r->sm, r->c2s, r->c2s_id, r->sm_id, "created", r->target, r->id, 0);
}

static void session_delete(struct sess_req *r)
{
	if (r->jid == NULL || jid_node(r->jid)[0] == '\0') {
		session_fail(r, "no valid JID");
		return;
	}
	user_delete(r->sm, r->jid);
	sess_control(r->sm, r->c2s, r->c2s_id, r->sm_id, "deleted", r->target, r->id, 0);
}

static enum mod_ret session_in_router(struct pkt *pkt)
{
	struct sess_req r = { .sm = pkt->sm, .c2s = pkt->rfrom };
	const char *error;

	if (pkt->type != PKT_SESS)
		return MOD_PASS;
	r.c2s_id = nad_attr(pkt->nad, 0, SM_NS_SESSION, "c2s");
	r.sm_id = nad_attr(pkt->nad, 0, SM_NS_SESSION, "sm");
	r.action = nad_attr(pkt->nad, 0, NULL, "action");
	r.target = nad_attr(pkt->nad, 0, NULL, "target");
	r.id = nad_attr(pkt->nad, 0, NULL, "id");
	if (r.c2s == NULL || r.action == NULL || r.c2s_id == NULL) {
		pkt_free(&pkt);
		return MOD_HANDLED;
	}
	if (r.target != NULL) {
		r.jid = jid_new(r.target, strlen(r.target), &error);
		if (r.jid != NULL && !sm_serves(r.sm, jid_domain(r.jid)))
			jid_free(&r.jid);
	}
	if (strcmp(r.action, "start") == 0)
		session_start(&r);
	else if (strcmp(r.action, "end") == 0)
		session_end(&r);
	else if (strcmp(r.action, "create") == 0)
		session_create(&r);
	else if (strcmp(r.action, "delete") == 0)
		session_delete(&r);
	else
		log_debug("sm: unknown session action '%s' ignored", r.action);
	jid_free(&r.jid);
	pkt_free(&pkt);
	return MOD_HANDLED;
}

/* The router says a component went away: end the sessions it carried. */
static enum mod_ret session_pkt_router(struct pkt *pkt)
{
	if (pkt->type == PKT_PRESENCE_UN && pkt->rfrom != NULL)
		sess_end_c2s(pkt->sm, pkt->rfrom, "the c2s went away");
	return MOD_PASS;
}

const struct sm_module sm_module_session = {
	.name = "session",
	.abi = SM_MODULE_ABI,
	.in_router = session_in_router,
	.pkt_router = session_pkt_router,
};
