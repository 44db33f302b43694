/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mod_status: keeps jabberd2's "status" table current for tools that
 * read it: one row per user with "online"/"offline", the <show> of the
 * last presence, the last login and logout times, and the last presence
 * itself (as a route envelope, like jabberd2).
 *
 * In a cluster the row is shared by every node's sm: a node whose last
 * local session ends writes "offline" and tells the others (the `changed`
 * broadcast, what='status'); a node where the user still has a session
 * then writes "online" again, without telling anyone (so no broadcast
 * answers another).
 */
#include "config.h"
#include "sm/sm.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "comp/comp.h"
#include "storage/storage.h"
#include "util/buf.h"
#include "util/jid.h"
#include "util/list.h"
#include "util/log.h"
#include "util/nad.h"

/* The <show> text of a presence (free it), or NULL. */
static char *show_of(const struct nad *pres)
{
	int show = nad_child(pres, 0, NULL, "show");
	const char *t;
	size_t len;

	if (show == NAD_NONE)
		return NULL;
	t = nad_text(pres, show, &len);
	return xstrndup(t, len);
}

/* Write the row; login/logout 0 keep the stored value. */
static void status_write(struct user *user, const char *status, const char *show,
			 time_t login, time_t logout, const struct nad *pres)
{
	const char *owner = jid_bare(user->jid), *error;
	struct os *os = NULL, *nos = os_new();
	struct os_object *o = os_object_new(nos);
	int64_t in = 0, out = 0;

	if (storage_get(user->sm->st, "status", owner, NULL, &os, &error) == STORAGE_OK) {
		os_object_get_int(os_first(os), "last-login", &in);
		os_object_get_int(os_first(os), "last-logout", &out);
	}
	os_free(&os);
	os_object_put_str(o, "status", status);
	os_object_put_str(o, "show", show);
	os_object_put_int(o, "last-login", login != 0 ? (int64_t)login : in);
	os_object_put_int(o, "last-logout", logout != 0 ? (int64_t)logout : out);
	if (pres != NULL) {
		struct nad *route = comp_route_new(user->sm->id, jid_domain(user->jid), NULL);

		nad_graft(route, 0, pres, 0);
		os_object_put_nad(o, "xml", route);
		nad_free(&route);
	}
	if (storage_replace(user->sm->st, "status", owner, NULL, nos, &error) != STORAGE_OK)
		log_error("sm: status: %s: %s", owner, error);
	os_free(&nos);
}

static enum mod_ret status_sess_start(struct sess *sess)
{
	status_write(sess->user, "online", "", time(NULL), 0, NULL);
	return MOD_PASS;
}

static void status_sess_end(struct sess *sess)
{
	struct list_node *n;

	/* Others still online (here or, in a cluster, on another node):
	 * the user is. */
	if (sess->user->remote != NULL)
		return;
	for (n = list_first(&sess->user->sessions); n != NULL;
	     n = list_next(&sess->user->sessions, n))
		if (LIST_ENTRY(n, struct sess, link) != sess)
			return;
	status_write(sess->user, "offline", "", 0, time(NULL), NULL);
	sm_cluster_changed(sess->user->sm, jid_bare(sess->user->jid), SM_DATA_STATUS);
}

/* Another node wrote "offline": still online here. */
static void status_user_changed(struct user *user, enum sm_user_data what)
{
	const struct nad *pres = NULL;
	struct list_node *n;
	char *show;

	if (what != SM_DATA_STATUS || list_empty(&user->sessions))
		return;
	for (n = list_first(&user->sessions); n != NULL; n = list_next(&user->sessions, n)) {
		struct sess *s = LIST_ENTRY(n, struct sess, link);

		if (s->available && s->pres != NULL)
			pres = s->pres;
	}
	show = pres != NULL ? show_of(pres) : NULL;
	status_write(user, "online", show != NULL ? show : "", 0, 0, pres);
	free(show);
}

static enum mod_ret status_in_sess(struct sess *sess, struct pkt *pkt)
{
	char *text;

	if (pkt->to != NULL || !(pkt->type & (PKT_PRESENCE | PKT_PRESENCE_UN)))
		return MOD_PASS;
	text = show_of(pkt->nad);
	status_write(sess->user, pkt->type == PKT_PRESENCE ? "online" : "offline",
		     text != NULL ? text : "", 0, 0, pkt->nad);
	free(text);
	return MOD_PASS;
}

static void status_user_delete(struct sm *sm, const struct jid *jid)
{
	const char *error;

	storage_delete(sm->st, "status", jid_bare(jid), NULL, &error);
}

const struct sm_module sm_module_status = {
	.name = "status",
	.abi = SM_MODULE_ABI,
	.sess_start = status_sess_start,
	.sess_end = status_sess_end,
	.in_sess = status_in_sess,
	.user_delete = status_user_delete,
	.user_changed = status_user_changed,
};
