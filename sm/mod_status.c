/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mod_status: keeps jabberd2's "status" table current for tools that
 * read it: one row per user with "online"/"offline", the <show> of the
 * last presence, the last login and logout times, and the last presence
 * itself (as a route envelope, like jabberd2).
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
	if (sm_remote_first(sess->user->sm, sess->user->jid) != NULL)
		return;
	for (n = list_first(&sess->user->sessions); n != NULL;
	     n = list_next(&sess->user->sessions, n))
		if (LIST_ENTRY(n, struct sess, link) != sess)
			return;
	status_write(sess->user, "offline", "", 0, time(NULL), NULL);
}

static enum mod_ret status_in_sess(struct sess *sess, struct pkt *pkt)
{
	int show;
	char *text = NULL;

	if (pkt->to != NULL || !(pkt->type & (PKT_PRESENCE | PKT_PRESENCE_UN)))
		return MOD_PASS;
	show = nad_child(pkt->nad, 0, NULL, "show");
	if (show != NAD_NONE) {
		size_t len;
		const char *t = nad_text(pkt->nad, show, &len);

		text = xstrndup(t, len);
	}
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
};
