/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pkt.c: packets, the sm's unit of work. A packet is one stanza in its own
 * nad with its addresses parsed and its kind classified; here it is made,
 * turned into an error or a result, stamped, and sent either to a client
 * session (a route to the session's c2s carrying the SESS attributes) or
 * out through the router (a route from our id to the stanza's domain).
 */
#include "config.h"
#include "sm/sm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comp/comp.h"
#include "sx/sx.h"
#include "util/buf.h"
#include "util/jid.h"
#include "util/log.h"
#include "util/nad.h"

/* RFC 6120 conditions with the legacy code and type jabberd2 writes. */
static const struct {
	const char *cond;
	const char *code;
	const char *type;
	int rcode;              /* route error code mapping to it */
} pkt_conds[] = {
	{ "gone", "302", "modify", 302 },
	{ "bad-request", "400", "modify", 400 },
	{ "not-authorized", "401", "auth", 401 },
	{ "payment-required", "402", "auth", 402 },
	{ "forbidden", "403", "auth", 403 },
	{ "item-not-found", "404", "cancel", 404 },
	{ "not-allowed", "405", "cancel", 405 },
	{ "not-acceptable", "406", "modify", 406 },
	{ "registration-required", "407", "auth", 407 },
	{ "conflict", "409", "cancel", 409 },
	{ "internal-server-error", "500", "wait", 500 },
	{ "feature-not-implemented", "501", "cancel", 501 },
	{ "remote-server-timeout", "502", "wait", 502 },
	{ "service-unavailable", "503", "cancel", 503 },
	{ "remote-server-not-found", "404", "cancel", 0 },
	{ "resource-constraint", "500", "wait", 0 },
	{ "policy-violation", "405", "modify", 0 },
	{ "jid-malformed", "400", "modify", 0 },
	{ "undefined-condition", "500", "cancel", 0 },
};
#define PKT_NCONDS (sizeof(pkt_conds) / sizeof(pkt_conds[0]))

const char *pkt_error_cond(int code)
{
	size_t i;

	for (i = 0; i < PKT_NCONDS; i++)
		if (pkt_conds[i].rcode == code)
			return pkt_conds[i].cond;
	return "remote-server-not-found";
}

static enum pkt_type pkt_classify(const char *name, const char *type)
{
	static const struct {
		const char *name, *type;
		enum pkt_type t;
	} map[] = {
		{ "message", "error", PKT_MESSAGE_ERROR },
		{ "presence", "unavailable", PKT_PRESENCE_UN },
		{ "presence", "probe", PKT_PRESENCE_PROBE },
		{ "presence", "error", PKT_PRESENCE_ERROR },
		{ "presence", "subscribe", PKT_S10N },
		{ "presence", "subscribed", PKT_S10N_ED },
		{ "presence", "unsubscribe", PKT_S10N_UN },
		{ "presence", "unsubscribed", PKT_S10N_UNED },
		{ "iq", "get", PKT_IQ },
		{ "iq", "set", PKT_IQ_SET },
		{ "iq", "result", PKT_IQ_RESULT },
		{ "iq", "error", PKT_IQ_ERROR },
	};
	size_t i;

	if (strcmp(name, "message") == 0 && (type == NULL || strcmp(type, "error") != 0))
		return PKT_MESSAGE;
	if (strcmp(name, "presence") == 0 && type == NULL)
		return PKT_PRESENCE;
	if (type == NULL)
		return PKT_NONE;
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].name, name) == 0 && strcmp(map[i].type, type) == 0)
			return map[i].t;
	return PKT_NONE;
}

static int pkt_addr(struct pkt *pkt, const char *attr, struct jid **jid_r)
{
	const char *v = nad_attr(pkt->nad, 0, NULL, attr), *error;

	jid_free(jid_r);
	if (v == NULL)
		return 0;
	*jid_r = jid_new(v, strlen(v), &error);
	return *jid_r == NULL ? -1 : 0;
}

static void pkt_reclassify(struct pkt *pkt)
{
	const char *ns = nad_ns(pkt->nad, 0);
	int child;

	free(pkt->iq_ns);
	pkt->iq_ns = NULL;
	if (ns != NULL && strcmp(ns, SM_NS_SESSION) == 0) {
		pkt->type = PKT_SESS;
		return;
	}
	pkt->type = pkt_classify(nad_name(pkt->nad, 0), nad_attr(pkt->nad, 0, NULL, "type"));
	if (pkt->type & PKT_IQ_ANY) {
		child = nad_child(pkt->nad, 0, NULL, NULL);
		if (child != NAD_NONE)
			pkt->iq_ns = xstrdup_opt(nad_ns(pkt->nad, child));
	}
}

struct pkt *pkt_new(struct sm *sm, struct nad *nad)
{
	struct pkt *pkt = xcalloc(1, sizeof(*pkt));

	pkt->sm = sm;
	pkt->nad = nad;
	if (pkt_addr(pkt, "to", &pkt->to) < 0 || pkt_addr(pkt, "from", &pkt->from) < 0) {
		pkt_free(&pkt);
		return NULL;
	}
	pkt_reclassify(pkt);
	return pkt;
}

void pkt_free(struct pkt **pktp)
{
	struct pkt *pkt = *pktp;

	if (pkt == NULL)
		return;
	*pktp = NULL;
	nad_free(&pkt->nad);
	jid_free(&pkt->to);
	jid_free(&pkt->from);
	free(pkt->rto);
	free(pkt->rfrom);
	free(pkt->iq_ns);
	free(pkt->exclude_node);
	free(pkt);
}

struct pkt *pkt_create(struct sm *sm, const char *name, const char *type, const char *to,
		       const char *from)
{
	struct nad *nad = nad_new();
	int root = nad_elem_add(nad, NAD_NONE, SX_NS_CLIENT, name);

	if (type != NULL)
		nad_attr_set(nad, root, NULL, "type", type);
	if (to != NULL)
		nad_attr_set(nad, root, NULL, "to", to);
	if (from != NULL)
		nad_attr_set(nad, root, NULL, "from", from);
	return pkt_new(sm, nad);
}

struct pkt *pkt_dup(const struct pkt *pkt, const char *to, const char *from)
{
	struct nad *nad = nad_copy(pkt->nad);
	struct pkt *dup;

	if (to != NULL)
		nad_attr_set(nad, 0, NULL, "to", to);
	if (from != NULL)
		nad_attr_set(nad, 0, NULL, "from", from);
	dup = pkt_new(pkt->sm, nad);
	if (dup != NULL) {
		dup->exclude_node = xstrdup_opt(pkt->exclude_node);
		dup->hops = pkt->hops;
	}
	return dup;
}

void pkt_set_to(struct pkt *pkt, const char *to)
{
	nad_attr_set(pkt->nad, 0, NULL, "to", to);
	pkt_addr(pkt, "to", &pkt->to);
}

void pkt_set_from(struct pkt *pkt, const char *from)
{
	nad_attr_set(pkt->nad, 0, NULL, "from", from);
	pkt_addr(pkt, "from", &pkt->from);
}

/* Swap to and from. A reply goes back to the sender wherever it is: what
 * excluded a node for the addressee does not hold for it. */
static void pkt_swap(struct pkt *pkt)
{
	char *to = xstrdup_opt(nad_attr(pkt->nad, 0, NULL, "to"));
	char *from = xstrdup_opt(nad_attr(pkt->nad, 0, NULL, "from"));

	nad_attr_set(pkt->nad, 0, NULL, "to", from);
	nad_attr_set(pkt->nad, 0, NULL, "from", to);
	free(to);
	free(from);
	free(pkt->exclude_node);
	pkt->exclude_node = NULL;
	pkt->hops = 0;          /* the reply is a new stanza */
	pkt_addr(pkt, "to", &pkt->to);
	pkt_addr(pkt, "from", &pkt->from);
}

struct pkt *pkt_error(struct pkt *pkt, const char *cond)
{
	size_t i;
	int err, c;

	for (i = 0; i < PKT_NCONDS - 1 && strcmp(pkt_conds[i].cond, cond) != 0; i++)
		;
	/* An existing <error/> would make two. */
	while ((c = nad_child(pkt->nad, 0, NULL, "error")) != NAD_NONE)
		nad_elem_remove(pkt->nad, c);
	err = nad_elem_add(pkt->nad, 0, SX_NS_CLIENT, "error");
	nad_attr_set(pkt->nad, err, NULL, "code", pkt_conds[i].code);
	nad_attr_set(pkt->nad, err, NULL, "type", pkt_conds[i].type);
	nad_elem_add(pkt->nad, err, SX_NS_STANZA_ERRORS, cond);
	nad_attr_set(pkt->nad, 0, NULL, "type", "error");
	pkt_swap(pkt);
	pkt_reclassify(pkt);
	return pkt;
}

struct pkt *pkt_result(struct pkt *pkt)
{
	int c;

	while ((c = nad_child(pkt->nad, 0, NULL, NULL)) != NAD_NONE)
		nad_elem_remove(pkt->nad, c);
	nad_attr_set(pkt->nad, 0, NULL, "type", "result");
	pkt_swap(pkt);
	pkt_reclassify(pkt);
	return pkt;
}

void pkt_delay(struct pkt *pkt, time_t t, const char *from)
{
	char stamp[32];
	struct tm tm;
	int d;

	if (nad_child(pkt->nad, 0, "urn:xmpp:delay", "delay") != NAD_NONE)
		return;
	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	d = nad_elem_add(pkt->nad, 0, "urn:xmpp:delay", "delay");
	nad_attr_set(pkt->nad, d, NULL, "stamp", stamp);
	if (from != NULL)
		nad_attr_set(pkt->nad, d, NULL, "from", from);
}

void pkt_sess(struct pkt *pkt, struct sess *sess)
{
	struct nad *route;
	int st;

	if (sess->ended) {
		pkt_free(&pkt);
		return;
	}
	/* jabberd2 sends these from the user's domain; with <router_id>
	 * every route we send names us. */
	route = comp_route_new(sess->c2s, pkt->sm->router_id != NULL ?
			       pkt->sm->router_id : jid_domain(sess->jid), NULL);
	st = nad_graft(route, 0, pkt->nad, 0);
	nad_attr_set_prefixed(route, st, SM_NS_SESSION, "sm", "c2s", sess->c2s_id);
	nad_attr_set_prefixed(route, st, SM_NS_SESSION, "sm", "sm", sess->sm_id);
	sm_send(pkt->sm, route);
	pkt_free(&pkt);
}

void pkt_router(struct pkt *pkt)
{
	struct sm *sm = pkt->sm;
	struct nad *route;

	if (pkt->to == NULL) {
		pkt_free(&pkt);
		return;
	}
	if (mm_out_router(sm, pkt) == MOD_HANDLED)
		return;
	/* For a domain of ours, skip the round trip through the router but
	 * not the in-router chain it would have run. */
	if (sm_serves(sm, jid_domain(pkt->to))) {
		if (mm_in_router(sm, pkt) == MOD_PASS)
			sm_dispatch(sm, pkt);
		return;
	}
	route = comp_route_new(jid_domain(pkt->to), sm->id, NULL);
	nad_graft(route, 0, pkt->nad, 0);
	sm_send(sm, route);
	pkt_free(&pkt);
}
