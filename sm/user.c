/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * user.c: users in memory. A user is loaded (the user-load chain: active
 * says whether it exists, roster reads its roster) when a session starts
 * or a packet for it arrives, and dropped again once it has no session,
 * no packet holds it and no session of it on another node is known
 * (stubs, sm/cluster.c): stanzas for a user online only on other nodes
 * then cost no storage read each. Its cached data stays fresh through
 * the `changed` broadcasts (sm/cluster_data.c). So the users kept are at
 * most those online somewhere in the cluster (and loaded here because a
 * stanza came for them); the removal of the last stub frees the user
 * (sm/cluster.c). Creating and deleting users run their chains.
 */
#include "config.h"
#include "sm/sm.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/jid.h"
#include "util/log.h"
#include "util/xhash.h"
#include "sm/privacy.h"

/* The user-unload chain, then each module frees its data of the user
 * (its user_free hook): nothing here knows what modules keep. */
static void user_free(struct user *user)
{
	mm_user_unload(user->sm, user);
	mm_user_free(user->sm, user);
	jid_free(&user->jid);
	free(user);
}

struct user *user_load(struct sm *sm, const struct jid *jid)
{
	struct user *user = xhash_get(sm->users, jid_bare(jid));

	if (user != NULL)
		return user;
	user = xcalloc(1, sizeof(*user));
	user->sm = sm;
	user->jid = jid_copy_bare(jid);
	user->mod = mm_data_new(sm);
	list_init(&user->sessions);
	user->remote = sm_remote_first(sm, user->jid);  /* then kept by sm/cluster.c */
	if (mm_user_load(sm, user) < 0) {
		log_debug("sm: user %s not loaded (unknown)", jid_bare(jid));
		user_free(user);
		return NULL;
	}
	xhash_put(sm->users, jid_bare(user->jid), user);
	log_debug("sm: loaded user %s", jid_bare(user->jid));
	return user;
}

void user_drop(struct user *user)
{
	if (user->refs > 0 || !list_empty(&user->sessions))
		return;
	xhash_remove(user->sm->users, jid_bare(user->jid));
	user_free(user);
}

void user_release(struct user *user)
{
	if (user->remote != NULL)
		return;         /* online on another node: kept */
	user_drop(user);
}

void user_release_idle(struct sm *sm)
{
	struct xhash_iter it;
	size_t n = 0;
	void *v;

	xhash_iter_init(sm->users, &it);
	while (xhash_iter_next(&it, NULL, &v)) {
		struct user *u = v;

		if (u->refs > 0 || !list_empty(&u->sessions) ||
		    u->remote != NULL)
			continue;
		xhash_iter_remove(&it);
		user_free(u);
		n++;
	}
	if (n > 0)
		log_debug("sm: %zu user(s) with no session anywhere left memory", n);
}

void user_free_all(struct sm *sm)
{
	struct xhash_iter it;
	void *v;

	xhash_iter_init(sm->users, &it);
	while (xhash_iter_next(&it, NULL, &v)) {
		xhash_iter_remove(&it);
		user_free(v);
	}
}

int user_create(struct sm *sm, const struct jid *jid)
{
	log_notice("sm: creating user %s", jid_bare(jid));
	return mm_user_create(sm, jid);
}

void user_delete(struct sm *sm, const struct jid *jid)
{
	struct user *user = xhash_get(sm->users, jid_bare(jid));
	struct sess *s, *tmp;

	log_notice("sm: deleting user %s", jid_bare(jid));
	if (user != NULL) {
		user->refs++;
		LIST_FOREACH_SAFE(s, tmp, &user->sessions, struct sess, link)
			sess_end(s, "ended");
		user->refs--;
		user_drop(user);
	}
	mm_user_delete(sm, jid);
	sm_cluster_changed(sm, jid_bare(jid), SM_DATA_ACCOUNT);
}

struct sess *user_sess(struct user *user, const char *resource)
{
	struct list_node *n;

	for (n = list_first(&user->sessions); n != NULL; n = list_next(&user->sessions, n)) {
		struct sess *s = LIST_ENTRY(n, struct sess, link);

		if (strcmp(jid_resource(s->jid), resource) == 0)
			return s;
	}
	return NULL;
}

struct sess *user_top_sess_for(struct user *user, const struct pkt *pkt)
{
	struct sess *top = NULL;
	struct list_node *n;

	for (n = list_first(&user->sessions); n != NULL; n = list_next(&user->sessions, n)) {
		struct sess *s = LIST_ENTRY(n, struct sess, link);

		if (s->available && s->priority >= 0 && (top == NULL || s->priority > top->priority) &&
		    !privacy_sess_denies(s, pkt))
			top = s;
	}
	return top;
}

int user_top_priority(struct user *user, const struct pkt *pkt)
{
	struct sess *top = pkt != NULL ? user_top_sess_for(user, pkt) : user_top_sess(user);
	int remote = user_remote_top(user, pkt);

	return top != NULL && top->priority > remote ? top->priority : remote;
}

int user_available_anywhere(struct user *user, const struct pkt *pkt)
{
	return user_top_sess(user) != NULL || user_remote_top(user, pkt) >= 0;
}

struct sess *user_top_sess(struct user *user)
{
	struct sess *top = NULL;
	struct list_node *n;

	for (n = list_first(&user->sessions); n != NULL; n = list_next(&user->sessions, n)) {
		struct sess *s = LIST_ENTRY(n, struct sess, link);

		if (s->available && s->priority >= 0 && (top == NULL || s->priority > top->priority))
			top = s;
	}
	return top;
}
