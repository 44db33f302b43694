/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mod_iq_last: XEP-0012 last activity. At a domain: the server's uptime.
 * At a user, for the user and contacts that see its presence: 0 while it
 * is online, else the time since its last logout, which the sess-end
 * chain records in jabberd2's "logout" table.
 *
 * In a cluster (sm.xml <cluster><notify>) the user may be online on
 * another node only: with no session here, the "status" table that
 * mod_status keeps on every node (sm/cluster_data.c keeps it "online"
 * while any node has a session) says whether it is.
 */
#include "config.h"
#include "sm/sm.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "storage/storage.h"
#include "util/jid.h"
#include "util/log.h"
#include "util/nad.h"
#include "sm/roster.h"

#define NS_LAST "jabber:iq:last"

static int is_last(const struct pkt *pkt)
{
	return pkt->type == PKT_IQ && pkt->iq_ns != NULL && strcmp(pkt->iq_ns, NS_LAST) == 0;
}

static void last_reply(struct pkt *pkt, long seconds)
{
	char buf[32];
	int q;

	pkt_result(pkt);
	q = nad_elem_add(pkt->nad, 0, NS_LAST, "query");
	snprintf(buf, sizeof(buf), "%ld", seconds < 0 ? 0 : seconds);
	nad_attr_set(pkt->nad, q, NULL, "seconds", buf);
	pkt_router(pkt);
}

static enum mod_ret last_pkt_sm(struct pkt *pkt)
{
	if (!is_last(pkt))
		return MOD_PASS;
	last_reply(pkt, (long)(time(NULL) - pkt->sm->started));
	return MOD_HANDLED;
}

/* In a cluster: does the status table say the user is online (on some
 * other node)? */
static int online_elsewhere(struct user *user)
{
	struct os *os = NULL;
	const char *error, *status;
	int online = 0;

	if (user->sm->cluster_notify == NULL)
		return 0;
	if (storage_get(user->sm->st, "status", jid_bare(user->jid), NULL, &os, &error) ==
	    STORAGE_OK)
		online = os_object_get_str(os_first(os), "status", &status) == 0 &&
			 strcmp(status, "online") == 0;
	os_free(&os);
	return online;
}

static enum mod_ret last_pkt_user(struct user *user, struct pkt *pkt)
{
	struct roster_item *item;
	struct os *os = NULL;
	const char *error;
	int64_t t = 0;

	if (!is_last(pkt) || pkt->from == NULL)
		return MOD_PASS;
	item = roster_get(user, jid_bare(pkt->from));
	if (!jid_equal_bare(pkt->from, user->jid) && (item == NULL || !item->from)) {
		pkt_router(pkt_error(pkt, "forbidden"));
		return MOD_HANDLED;
	}
	/* Online here or, in a cluster, on another node (a stub, or the
	 * status table). */
	if (!list_empty(&user->sessions) || user->remote != NULL ||
	    online_elsewhere(user)) {
		last_reply(pkt, 0);
		return MOD_HANDLED;
	}
	if (storage_get(user->sm->st, "logout", jid_bare(user->jid), NULL, &os, &error) !=
	    STORAGE_OK) {
		pkt_router(pkt_error(pkt, "item-not-found"));
		return MOD_HANDLED;
	}
	os_object_get_int(os_first(os), "time", &t);
	os_free(&os);
	last_reply(pkt, (long)(time(NULL) - (time_t)t));
	return MOD_HANDLED;
}

static void last_sess_end(struct sess *sess)
{
	struct os *os = os_new();
	const char *error;

	os_object_put_int(os_object_new(os), "time", (int64_t)time(NULL));
	if (storage_replace(sess->user->sm->st, "logout", jid_bare(sess->user->jid), NULL, os,
			    &error) != STORAGE_OK)
		log_error("sm: iq-last: %s: %s", jid_bare(sess->user->jid), error);
	os_free(&os);
}

static void last_user_delete(struct sm *sm, const struct jid *jid)
{
	const char *error;

	storage_delete(sm->st, "logout", jid_bare(jid), NULL, &error);
}

static int last_init(struct sm *sm, const char *arg)
{
	(void)arg;
	sm_feature(sm, NS_LAST);
	return 0;
}

const struct sm_module sm_module_iq_last = {
	.name = "iq-last",
	.abi = SM_MODULE_ABI,
	.init = last_init,
	.sess_end = last_sess_end,
	.pkt_sm = last_pkt_sm,
	.pkt_user = last_pkt_user,
	.user_delete = last_user_delete,
};
