/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sess.c: sessions, one per resource a c2s started (compat spec section
 * 5). Each gets a 40-hex sm id (SHA-1 of the time, a counter and its full
 * JID) that the c2s uses to address it. Starting a session for a resource
 * that already has one replaces the older; ending one broadcasts
 * unavailable presence if it was available and runs the sess-end chain.
 */
#include "config.h"
#include "sm/sm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comp/comp.h"
#include "util/buf.h"
#include "util/hash.h"
#include "util/jid.h"
#include "util/log.h"
#include "util/nad.h"
#include "util/xhash.h"
#include "sm/presence.h"

void sess_control(struct sm *sm, const char *to, const char *c2s_id, const char *sm_id,
		  const char *action, const char *target, const char *id, int failed)
{
	struct nad *route = comp_route_new(to, sm->id, NULL);
	int s = nad_elem_add_prefixed(route, 0, SM_NS_SESSION, "sc", "session");

	if (c2s_id != NULL)
		nad_attr_set_prefixed(route, s, SM_NS_SESSION, "sc", "c2s", c2s_id);
	if (sm_id != NULL)
		nad_attr_set_prefixed(route, s, SM_NS_SESSION, "sc", "sm", sm_id);
	if (failed)
		nad_attr_set_prefixed(route, s, SM_NS_SESSION, "sc", "failed", "1");
	if (action != NULL)
		nad_attr_set(route, s, NULL, "action", action);
	if (target != NULL)
		nad_attr_set(route, s, NULL, "target", target);
	if (id != NULL)
		nad_attr_set(route, s, NULL, "id", id);
	sm_send(sm, route);
}

static void sess_make_id(struct sess *sess)
{
	static unsigned long counter;
	char seed[JID_MAX + 64];
	int n;

	n = snprintf(seed, sizeof(seed), "%ld.%lu.%s", (long)time(NULL), ++counter,
		     jid_full(sess->jid));
	hash_sha1_hex(seed, (size_t)n, sess->sm_id);
}

struct sess *sess_start(struct sm *sm, struct user *user, const struct jid *jid,
			const char *c2s, const char *c2s_id)
{
	struct sess *sess, *old = user_sess(user, jid_resource(jid));

	if (old != NULL) {
		log_notice("sm: session %s replaced by a new login", jid_full(old->jid));
		user->refs++;
		sess_end(old, "replaced");
		user->refs--;
	}
	sess = xcalloc(1, sizeof(*sess));
	sess->user = user;
	sess->jid = jid_copy(jid);
	sess->c2s = xstrdup(c2s);
	sess->c2s_id = xstrdup(c2s_id);
	sess->mod = mm_data_new(sm);
	do
		sess_make_id(sess);
	while (xhash_get(sm->sessions, sess->sm_id) != NULL);
	list_add_tail(&user->sessions, &sess->link);
	xhash_put(sm->sessions, sess->sm_id, sess);
	log_notice("sm: session started: %s (c2s %s/%s, sm %s)", jid_full(jid), c2s, c2s_id,
		   sess->sm_id);
	mm_sess_start(sm, sess);
	return sess;
}

void sess_end(struct sess *sess, const char *action)
{
	struct user *user = sess->user;
	struct sm *sm = user->sm;

	if (sess->available) {
		struct pkt *un = pkt_create(sm, "presence", "unavailable", NULL,
					    jid_full(sess->jid));

		if (un != NULL)
			presence_update(sess, un);
	}
	mm_sess_end(sm, sess);
	if (action != NULL)
		sess_control(sm, sess->c2s, sess->c2s_id, sess->sm_id, action, NULL, NULL, 0);
	log_notice("sm: session ended: %s", jid_full(sess->jid));
	sess->ended = 1;
	xhash_remove(sm->sessions, sess->sm_id);
	list_remove(&sess->link);
	jid_free(&sess->jid);
	free(sess->c2s);
	free(sess->c2s_id);
	nad_free(&sess->pres);
	mm_sess_free(sm, sess);
	free(sess);
	user_release(user);
}

void sess_free_all(struct sm *sm)
{
	struct xhash_iter it;
	void *v;

	xhash_iter_init(sm->sessions, &it);
	while (xhash_iter_next(&it, NULL, &v)) {
		struct sess *sess = v;

		xhash_iter_remove(&it);
		list_remove(&sess->link);
		jid_free(&sess->jid);
		free(sess->c2s);
		free(sess->c2s_id);
		nad_free(&sess->pres);
		mm_sess_free(sm, sess);
		free(sess);
	}
}
