/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sess.c: sessions, one per resource a c2s started (compat spec section
 * 5). Each gets a 40-hex sm id that the c2s uses to address it: 160
 * random bits (jabberd2 hashes the time and the JID, which another node,
 * or anyone who knows when a user logged in, can reproduce). The id is
 * no credential: session traffic is accepted only from the component that
 * started the session (sess->c2s; mod_session.c, sm.c). Starting a
 * session for a resource that already has one replaces the older; ending
 * one broadcasts unavailable presence if it was available and runs the
 * sess-end chain.
 */
#include "config.h"
#include "sm/sm.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

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
	unsigned char rnd[20];

	static_assert(sizeof(sess->sm_id) == 2 * sizeof(rnd) + 1, "sm id is 40 hex");
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		fatalx("sm: no random bytes for a session id");
	hash_hex(rnd, sizeof(rnd), sess->sm_id);
}

/* The sessions one component started (sm->by_c2s), so that they can be
 * ended when it goes, at a cost in their number alone. */
struct sess_by_c2s {
	struct list_node sessions;      /* struct sess.c2s_link */
};

static void by_c2s_add(struct sm *sm, struct sess *sess)
{
	struct sess_by_c2s *b = xhash_get(sm->by_c2s, sess->c2s);

	if (b == NULL) {
		b = xcalloc(1, sizeof(*b));
		list_init(&b->sessions);
		xhash_put(sm->by_c2s, sess->c2s, b);
	}
	list_add_tail(&b->sessions, &sess->c2s_link);
}

static void by_c2s_remove(struct sm *sm, struct sess *sess)
{
	struct sess_by_c2s *b = xhash_get(sm->by_c2s, sess->c2s);

	list_remove(&sess->c2s_link);
	if (b != NULL && list_empty(&b->sessions)) {
		xhash_remove(sm->by_c2s, sess->c2s);
		free(b);
	}
}

int sess_end_c2s(struct sm *sm, const char *c2s, const char *why)
{
	struct sess_by_c2s *b;
	int n = 0;

	/* Looked up again after each: ending one session may end others. */
	while ((b = xhash_get(sm->by_c2s, c2s)) != NULL) {
		struct sess *sess = LIST_ENTRY(list_first(&b->sessions), struct sess, c2s_link);

		log_notice("sm: ending %s (c2s %s): %s", jid_full(sess->jid), c2s, why);
		sess_end(sess, NULL);
		n++;
	}
	return n;
}

int sess_end_all(struct sm *sm, const char *why)
{
	struct xhash_iter it;
	const char *c2s;
	char *name;
	int n = 0;

	for (;;) {
		xhash_iter_init(sm->by_c2s, &it);
		if (!xhash_iter_next(&it, &c2s, NULL))
			return n;
		name = xstrdup(c2s);    /* the key goes with its last session */
		n += sess_end_c2s(sm, name, why);
		free(name);
	}
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
	{
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		sess->started_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
	}
	do
		sess_make_id(sess);
	while (xhash_get(sm->sessions, sess->sm_id) != NULL);
	list_add_tail(&user->sessions, &sess->link);
	xhash_put(sm->sessions, sess->sm_id, sess);
	by_c2s_add(sm, sess);
	log_notice("sm: session started: %s (c2s %s/%s, sm %s)", jid_full(jid), c2s, c2s_id,
		   sess->sm_id);
	mm_sess_start(sm, sess);
	sm_cluster_notify(sess, "start");
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
	sm_cluster_notify(sess, "end");
	sess->ended = 1;
	xhash_remove(sm->sessions, sess->sm_id);
	by_c2s_remove(sm, sess);
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
		list_remove(&sess->c2s_link);
		jid_free(&sess->jid);
		free(sess->c2s);
		free(sess->c2s_id);
		nad_free(&sess->pres);
		mm_sess_free(sm, sess);
		free(sess);
	}
	xhash_clear(sm->by_c2s, free);
}
