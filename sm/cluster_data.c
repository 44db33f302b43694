/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cluster_data.c: one user's data, one truth, for sms on several nodes
 * that share one database (patches/03-sm-notifies-cluster.md, "changed").
 * Each sm keeps a loaded user's roster, privacy lists and so on in
 * memory; when one sm writes such data it tells every other node's sm,
 * which drops its copy so that the next use reads storage again.
 *
 * Sent after a write (with <router_id> and <cluster><notify>NAME</notify>,
 * NAME being the clustered domain the cluster module binds):
 *
 *	<route to='NAME' from='sm-n1' xmlns:jc='urn:jabberd-cluster:session'
 *	       jc:node='*'>
 *	  <user xmlns='urn:jabberd-cluster:session' action='changed'
 *	        jid='alice@example.org' what='roster'/>
 *	</route>
 *
 * The module carries it to every other node, whose module hands it to its
 * sm as a route from NAME with jc:from-node. Received, it reaches the
 * user_changed hook of each loaded module if the user is in memory (a
 * user not loaded reads storage when it is). `account`: the user was
 * deleted on another node; its local sessions end.
 *
 * A received `changed` is never answered with another, so broadcasts
 * cannot bounce between nodes.
 */
#include "config.h"

#include <string.h>

#include "comp/comp.h"
#include "sm/sm.h"
#include "util/jid.h"
#include "util/list.h"
#include "util/log.h"
#include "util/nad.h"
#include "util/xhash.h"

static const char *const data_names[SM_DATA_COUNT] = {
	[SM_DATA_ROSTER] = "roster",
	[SM_DATA_PRIVACY] = "privacy",
	[SM_DATA_VCARD] = "vcard",
	[SM_DATA_PRIVATE] = "private",
	[SM_DATA_PEP] = "pep",
	[SM_DATA_STATUS] = "status",
	[SM_DATA_ACCOUNT] = "account",
};

const char *sm_user_data_name(enum sm_user_data what)
{
	return (unsigned)what < SM_DATA_COUNT ? data_names[what] : "?";
}

static int data_parse(const char *name, enum sm_user_data *what_r)
{
	for (int i = 0; i < SM_DATA_COUNT; i++)
		if (strcmp(data_names[i], name) == 0) {
			*what_r = (enum sm_user_data)i;
			return 0;
		}
	return -1;
}

void sm_cluster_changed(struct sm *sm, const char *bare, enum sm_user_data what)
{
	struct nad *nad;
	int el;

	if (sm->router_id == NULL || sm->cluster_notify == NULL)
		return;
	nad = comp_route_new(sm->cluster_notify, sm->router_id, NULL);
	nad_attr_set_prefixed(nad, 0, SM_CLUSTER_NS, "jc", "node", "*");
	el = nad_elem_add(nad, 0, SM_CLUSTER_NS, "user");
	nad_attr_set(nad, el, NULL, "action", "changed");
	nad_attr_set(nad, el, NULL, "jid", bare);
	nad_attr_set(nad, el, NULL, "what", sm_user_data_name(what));
	log_debug("sm: cluster: %s of %s changed here", sm_user_data_name(what), bare);
	sm_send(sm, nad);
	/* Written in memory first (mod_privacy): direct delivery may end or
	 * begin for the user's sessions here, told before the iq's answer. */
	if (what == SM_DATA_PRIVACY) {
		struct user *user = xhash_get(sm->users, bare);

		if (user != NULL)
			sm_cluster_direct_recheck(user);
	}
}

void sm_cluster_reload_all(struct sm *sm)
{
	static const enum sm_user_data cached[] = {
		SM_DATA_ROSTER, SM_DATA_PRIVACY, SM_DATA_PRIVATE, SM_DATA_PEP,
	};
	struct xhash_iter it;
	unsigned long n = 0;
	void *v;

	xhash_iter_init(sm->users, &it);
	while (xhash_iter_next(&it, NULL, &v)) {
		for (size_t i = 0; i < sizeof(cached) / sizeof(cached[0]); i++)
			mm_user_changed(sm, v, cached[i]);
		sm_cluster_direct_recheck(v);
		n++;
	}
	log_info("sm: cluster: the data of %lu loaded user(s) read again", n);
}

/* The user was deleted on another node: its sessions here end. */
static void account_gone(struct user *user)
{
	struct sess *s, *tmp;

	log_notice("sm: cluster: %s was deleted on another node; ending its local sessions",
		   jid_bare(user->jid));
	LIST_FOREACH_SAFE(s, tmp, &user->sessions, struct sess, link)
		sess_end(s, "ended");
}

int sm_cluster_route(struct sm *sm, const struct nad *route, int payload)
{
	const char *ns = nad_ns(route, payload), *from, *action, *jid, *name;
	const char *why = NULL, *error;
	enum sm_user_data what = SM_DATA_COUNT;
	struct jid *j = NULL;
	struct user *user;

	if (ns == NULL || strcmp(ns, SM_CLUSTER_NS) != 0 ||
	    strcmp(nad_name(route, payload), "user") != 0)
		return 0;
	from = nad_attr(route, 0, NULL, "from");
	action = nad_attr(route, payload, NULL, "action");
	jid = nad_attr(route, payload, NULL, "jid");
	name = nad_attr(route, payload, NULL, "what");
	if (from != NULL && sm->router_id != NULL && strcmp(from, sm->router_id) == 0) {
		/* Our own broadcast, handed back by a cluster module that does
		 * not carry it to the other nodes: nothing to do. */
		log_debug("sm: cluster: our own user broadcast came back");
		return 1;
	}
	if (sm->router_id == NULL || sm->cluster_notify == NULL)
		why = "no <cluster><notify> in sm.xml";
	else if (from == NULL || strcmp(from, sm->cluster_notify) != 0)
		why = "not from the cluster module";
	else if (nad_attr(route, 0, SM_CLUSTER_NS, "from-node") == NULL)
		why = "no from-node";
	else if (action == NULL || strcmp(action, "changed") != 0)
		why = "unknown action";
	else if (name == NULL || data_parse(name, &what) < 0)
		why = "unknown what";
	else if (jid == NULL || (j = jid_new(jid, strlen(jid), &error)) == NULL ||
		 jid_node(j)[0] == '\0' || jid_resource(j)[0] != '\0' ||
		 !sm_serves(sm, jid_domain(j)))
		why = "jid is not the bare JID of a local user";
	if (why != NULL) {
		log_warnx("sm: cluster: user broadcast from %s refused: %s",
			  from != NULL ? from : "(no from)", why);
		jid_free(&j);
		return 1;
	}
	user = xhash_get(sm->users, jid_bare(j));
	log_debug("sm: cluster: %s of %s changed on node %s%s", name, jid_bare(j),
		  nad_attr(route, 0, SM_CLUSTER_NS, "from-node"),
		  user != NULL ? "" : " (not loaded here)");
	jid_free(&j);
	if (user == NULL)
		return 1;
	user->refs++;
	if (what == SM_DATA_ACCOUNT)
		account_gone(user);
	else
		mm_user_changed(sm, user, what);
	if (what == SM_DATA_PRIVACY)
		sm_cluster_direct_recheck(user);
	user->refs--;
	/* A deleted account is not kept for its sessions elsewhere. */
	if (what == SM_DATA_ACCOUNT)
		user_drop(user);
	else
		user_release(user);
	return 1;
}
