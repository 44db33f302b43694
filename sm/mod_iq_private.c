/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mod_iq_private: XEP-0049 private XML storage (bookmarks live here, as
 * XEP-0048 says), for the user's own sessions only. Each fragment is a
 * row of jabberd2's "private" table keyed by its namespace; as jabberd2
 * does, the stored XML is the whole route envelope around an iq holding
 * the fragment, and a get finds the fragment inside it by namespace.
 */
#include "config.h"
#include "sm/sm.h"

#include <stdlib.h>
#include <string.h>

#include "comp/comp.h"
#include "storage/storage.h"
#include "util/buf.h"
#include "util/jid.h"
#include "util/log.h"
#include "util/nad.h"

#define NS_PRIVATE "jabber:iq:private"

/* The first element in namespace ns (depth-first), or NAD_NONE. */
static int private_find(const struct nad *nad, int elem, const char *ns)
{
	int c, r;

	for (c = nad_child(nad, elem, NULL, NULL); c != NAD_NONE;
	     c = nad_next(nad, c, NULL, NULL)) {
		const char *cns = nad_ns(nad, c);

		if (cns != NULL && strcmp(cns, ns) == 0)
			return c;
		if ((r = private_find(nad, c, ns)) != NAD_NONE)
			return r;
	}
	return NAD_NONE;
}

static int private_store(struct sess *sess, const struct nad *req, int frag)
{
	struct sm *sm = sess->user->sm;
	const char *owner = jid_bare(sess->user->jid), *error;
	const char *ns = nad_ns(req, frag);
	struct nad *route = comp_route_new(sm->id, jid_domain(sess->jid), NULL);
	int iq = nad_elem_add(route, 0, "jabber:client", "iq");
	int q = nad_elem_add(route, iq, NS_PRIVATE, "query");
	char *filter = storage_filter_str("ns", ns);
	struct os *os = os_new();
	struct os_object *o = os_object_new(os);
	int rc;

	nad_attr_set(route, iq, NULL, "type", "set");
	nad_graft(route, q, req, frag);
	os_object_put_str(o, "ns", ns);
	os_object_put_nad(o, "xml", route);
	rc = storage_replace(sm->st, "private", owner, filter, os, &error);
	if (rc != STORAGE_OK)
		log_error("sm: iq-private: cannot store %s for %s: %s", ns, owner, error);
	else
		sm_cluster_changed(sm, owner, SM_DATA_PRIVATE);
	os_free(&os);
	free(filter);
	nad_free(&route);
	return rc == STORAGE_OK ? 0 : -1;
}

static void private_set(struct sess *sess, struct pkt *pkt, int q)
{
	int c;

	for (c = nad_child(pkt->nad, q, NULL, NULL); c != NAD_NONE;
	     c = nad_next(pkt->nad, c, NULL, NULL)) {
		const char *ns = nad_ns(pkt->nad, c);

		/* Fragments must have a namespace of their own. */
		if (ns == NULL || strcmp(ns, NS_PRIVATE) == 0 || strcmp(ns, "jabber:client") == 0) {
			pkt_sess(pkt_error(pkt, "not-acceptable"), sess);
			return;
		}
	}
	for (c = nad_child(pkt->nad, q, NULL, NULL); c != NAD_NONE;
	     c = nad_next(pkt->nad, c, NULL, NULL))
		if (private_store(sess, pkt->nad, c) < 0) {
			pkt_sess(pkt_error(pkt, "internal-server-error"), sess);
			return;
		}
	pkt_sess(pkt_result(pkt), sess);
}

static void private_get(struct sess *sess, struct pkt *pkt, int q)
{
	struct sm *sm = sess->user->sm;
	int c = nad_child(pkt->nad, q, NULL, NULL), found = NAD_NONE, nq;
	const char *ns = c != NAD_NONE ? nad_ns(pkt->nad, c) : NULL, *error;
	struct nad *req = NULL, *stored = NULL;
	struct os *os = NULL;
	char *filter;

	if (ns == NULL || nad_next(pkt->nad, c, NULL, NULL) != NAD_NONE ||
	    strcmp(ns, NS_PRIVATE) == 0) {
		pkt_sess(pkt_error(pkt, "not-acceptable"), sess);
		return;
	}
	filter = storage_filter_str("ns", ns);
	if (storage_get(sm->st, "private", jid_bare(sess->user->jid), filter, &os, &error) ==
	    STORAGE_OK) {
		const struct nad *n;

		if (os_object_get_nad(os_first(os), "xml", &n) == 0 &&
		    (found = private_find(n, nad_root(n), ns)) != NAD_NONE)
			stored = nad_extract(n, found);
	}
	os_free(&os);
	free(filter);
	/* Answer with the stored fragment, or the empty one asked for. */
	req = stored != NULL ? stored : nad_extract(pkt->nad, c);
	pkt_result(pkt);
	nq = nad_elem_add(pkt->nad, 0, NS_PRIVATE, "query");
	nad_graft(pkt->nad, nq, req, 0);
	nad_free(&req);
	pkt_sess(pkt, sess);
}

static enum mod_ret private_in_sess(struct sess *sess, struct pkt *pkt)
{
	int q;

	if (!(pkt->type & (PKT_IQ | PKT_IQ_SET)) || pkt->iq_ns == NULL ||
	    strcmp(pkt->iq_ns, NS_PRIVATE) != 0)
		return MOD_PASS;
	if (pkt->to != NULL && !jid_equal_bare(pkt->to, sess->jid)) {
		pkt_sess(pkt_error(pkt, "forbidden"), sess);
		return MOD_HANDLED;
	}
	q = nad_child(pkt->nad, 0, NS_PRIVATE, "query");
	if (q == NAD_NONE)
		pkt_sess(pkt_error(pkt, "bad-request"), sess);
	else if (pkt->type == PKT_IQ)
		private_get(sess, pkt, q);
	else
		private_set(sess, pkt, q);
	return MOD_HANDLED;
}

static void private_user_delete(struct sm *sm, const struct jid *jid)
{
	const char *error;

	storage_delete(sm->st, "private", jid_bare(jid), NULL, &error);
}

static int private_init(struct sm *sm, const char *arg)
{
	(void)arg;
	sm_feature(sm, NS_PRIVATE);
	return 0;
}

const struct sm_module sm_module_iq_private = {
	.name = "iq-private",
	.abi = SM_MODULE_ABI,
	.init = private_init,
	.in_sess = private_in_sess,
	.user_delete = private_user_delete,
};
