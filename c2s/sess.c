/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sess.c: c2s's side of jabberd2's session protocol with the sm (compat
 * spec section 5), over the router link (comp/): session control
 * (start/started, end/ended, replaced, create/created, delete, and
 * requests returned with sc:failed), client stanzas wrapped in routes to
 * the sm that started the session, the sm's stanzas delivered to clients
 * without the session attributes, and the router's advertisements of
 * domains coming and going.
 */
#include "config.h"
#include "c2s/c2s.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comp/comp.h"
#include "link/link.h"
#include "util/buf.h"
#include "util/hash.h"
#include "util/jid.h"
#include "util/log.h"
#include "util/nad.h"

/* ---- to the sm ---- */

static struct nad *sess_control(const char *to, const char *from, const char *c2s_id,
				const char *sm_id, const char *action, const char *target,
				const char *req_id)
{
	struct nad *nad = comp_route_new(to, from, NULL);
	int s = nad_elem_add_prefixed(nad, 0, C2S_NS_SESSION, "sc", "session");

	nad_attr_set_prefixed(nad, s, C2S_NS_SESSION, "sc", "c2s", c2s_id);
	if (sm_id != NULL)
		nad_attr_set_prefixed(nad, s, C2S_NS_SESSION, "sc", "sm", sm_id);
	nad_attr_set(nad, s, NULL, "action", action);
	if (target != NULL)
		nad_attr_set(nad, s, NULL, "target", target);
	if (req_id != NULL)
		nad_attr_set(nad, s, NULL, "id", req_id);
	return nad;
}

struct nad *c2s_sess_control(const char *to, const char *from, const char *c2s_id,
			     const char *sm_id, const char *action)
{
	return sess_control(to, from, c2s_id, sm_id, action, NULL, NULL);
}

void c2s_sess_send(struct c2s_conn *c, const char *action, const char *target)
{
	struct c2s *c2s = c->c2s;
	int request = strcmp(action, "start") == 0 || strcmp(action, "create") == 0;
	char rid[41];

	/* At exit the link is freed before the last connections close. */
	if (c2s->comp == NULL)
		return;
	if (request) {
		hash_random_id(rid, 40);
		free(c->req_id);
		c->req_id = xstrdup(rid);
	}
	/* Requests go to the domain (the router picks its sm); the rest to
	 * the sm that started the session. */
	comp_send(c2s->comp, sess_control(request || c->sm_name == NULL ? c->domain : c->sm_name,
					  c2s->o.id, c->id, request ? NULL : c->sm_id,
					  action, target, request ? c->req_id : NULL));
}

void c2s_sess_end(struct c2s_conn *c)
{
	if (c->state != C2S_ACTIVE)
		return;
	c2s_sess_send(c, "end", NULL);
	c->state = C2S_CONNECTED;
	log_info("c2s: conn %s: session of %s ended", c->id, c->jid);
}

/* An ANONYMOUS user lives as long as its connection, however it ends: a
 * close, the sm ending the session first, or the client leaving before
 * the sm answered (the router keeps our order: the delete reaches the sm
 * after the create and the end). */
void c2s_sess_gone(struct c2s_conn *c)
{
	if (c->anon_created) {
		char *bare = xasprintf("%s@%s", c->user, c->domain);

		c->anon_created = 0;
		c2s_sess_send(c, "delete", bare);
		free(bare);
	}
	c2s_auth_release_anonymous(c);
}

void c2s_route_stanza(struct c2s_conn *c, struct nad *nad)
{
	const char *from = nad_attr(nad, 0, NULL, "from"), *error;
	struct nad *route;
	int s;

	/* RFC 6120 8.1.2.1: the client may name itself, nobody else. */
	if (from != NULL) {
		struct jid *j = jid_new(from, strlen(from), &error);
		int ok = j != NULL && (strcmp(jid_full(j), c->jid) == 0 ||
				       (jid_resource(j)[0] == '\0' &&
					strncmp(c->jid, jid_bare(j), strlen(jid_bare(j))) == 0 &&
					c->jid[strlen(jid_bare(j))] == '/'));

		jid_free(&j);
		if (!ok) {
			c2s_conn_error(c, "invalid-from", NULL);
			return;
		}
	}
	route = comp_route_new(c->sm_name, c->c2s->o.id, NULL);
	s = nad_graft(route, 0, nad, 0);
	nad_attr_set(route, s, NULL, "from", c->jid);
	/* An iq without `to` is for the account (RFC 6120 10.3.3): address it
	 * to the bare JID, so the sm's reply comes from there, as clients
	 * expect, and not from the client's own full JID. */
	if (strcmp(nad_name(nad, 0), "iq") == 0 && nad_attr(nad, 0, NULL, "to") == NULL)
		nad_attr_set_len(route, s, NULL, "to", c->jid, strcspn(c->jid, "/"));
	nad_attr_set_prefixed(route, s, C2S_NS_SESSION, "sc", "c2s", c->id);
	nad_attr_set_prefixed(route, s, C2S_NS_SESSION, "sc", "sm", c->sm_id);
	comp_send(c->c2s->comp, route);
}

/* ---- from the sm ---- */

/* Tell the sm to end a session we do not (or no longer) have. */
static void sess_reject(struct c2s *c2s, const char *sm_name, const char *c2s_id,
			const char *sm_id)
{
	if (sm_name == NULL || c2s_id == NULL || sm_id == NULL || c2s->comp == NULL)
		return;
	comp_send(c2s->comp, sess_control(sm_name, c2s->o.id, c2s_id, sm_id, "end", NULL, NULL));
}

static void sess_started(struct c2s_conn *c, const struct nad *nad, int p)
{
	const char *sm = nad_attr(nad, p, C2S_NS_SESSION, "sm");
	const char *rfrom = nad_attr(nad, 0, NULL, "from");
	struct nad *r;
	int iq, b, j;

	c->sm_id = xstrdup(sm);
	c->sm_name = xstrdup(rfrom);
	c->state = C2S_ACTIVE;
	r = nad_new();
	iq = nad_elem_add(r, NAD_NONE, SX_NS_CLIENT, "iq");
	nad_attr_set(r, iq, NULL, "type", "result");
	nad_attr_set(r, iq, NULL, "id", c->bind_iq_id);
	if (!c->legacy_auth) {
		b = nad_elem_add(r, iq, C2S_NS_BIND, "bind");
		j = nad_elem_add(r, b, C2S_NS_BIND, "jid");
		nad_text_append(r, j, c->jid, strlen(c->jid));
	}
	/* Both ids have served: a live session does not keep them. */
	free(c->bind_iq_id);
	c->bind_iq_id = NULL;
	free(c->req_id);
	c->req_id = NULL;
	c2s_send(c, r);
	link_resume(c->lk);
	log_notice("c2s: conn %s: session started for %s", c->id, c->jid);
}

/* A request of ours came back with sc:failed. */
static void sess_failed(struct c2s_conn *c, const char *action)
{
	if (c->state == C2S_STARTING &&
	    (strcmp(action, "start") == 0 || (c->anonymous && strcmp(action, "create") == 0))) {
		log_warnx("c2s: conn %s: the sm refused the session for %s", c->id, c->jid);
		c->state = C2S_AUTHED;
		c2s_conn_error(c, "internal-server-error", "session start failed");
	} else if (strcmp(action, "create") == 0)
		c2s_register_created(c, 0);
}

/* Only the sm holding a session may speak for it: the route's from (which
 * the router checks) is the name that answered the start, or the domain
 * (a jabberd2 sm sends its stanzas for clients from there). */
static int from_session_sm(const struct c2s_conn *c, const char *rfrom)
{
	return rfrom != NULL && ((c->sm_name != NULL && strcmp(rfrom, c->sm_name) == 0) ||
				 (c->domain != NULL && strcmp(rfrom, c->domain) == 0));
}

static void sess_control_in(struct c2s *c2s, const struct nad *nad, int p)
{
	const char *action = nad_attr(nad, p, NULL, "action");
	const char *cid = nad_attr(nad, p, C2S_NS_SESSION, "c2s");
	const char *sm = nad_attr(nad, p, C2S_NS_SESSION, "sm");
	const char *rid = nad_attr(nad, p, NULL, "id");
	const char *rfrom = nad_attr(nad, 0, NULL, "from");
	struct c2s_conn *c = cid != NULL ? c2s_conn_find(c2s, cid) : NULL;

	if (action == NULL)
		return;
	if (nad_attr(nad, p, C2S_NS_SESSION, "failed") != NULL) {
		if (c != NULL && rid != NULL && c->req_id != NULL && strcmp(rid, c->req_id) == 0)
			sess_failed(c, action);
		return;
	}
	if (strcmp(action, "started") == 0) {
		if (c == NULL || c->ended || c->state != C2S_STARTING || sm == NULL) {
			/* Started for a client that left: end it at once. */
			sess_reject(c2s, rfrom, cid, sm);
			return;
		}
		if (rid == NULL || c->req_id == NULL || strcmp(rid, c->req_id) != 0)
			return;
		sess_started(c, nad, p);
	} else if (strcmp(action, "ended") == 0 || strcmp(action, "replaced") == 0) {
		if (c == NULL) {
			c2s_sm_parked_ended(c2s, cid, sm);
			return;
		}
		if (c->state != C2S_ACTIVE || sm == NULL || strcmp(sm, c->sm_id) != 0)
			return;
		if (!from_session_sm(c, rfrom)) {
			log_warnx("c2s: conn %s: '%s' %s from %s, not its sm %s; ignored", c->id,
				  action, c->jid, rfrom != NULL ? rfrom : "(no from)", c->sm_name);
			return;
		}
		c->state = C2S_CONNECTED;
		log_info("c2s: conn %s: the sm %s the session of %s", c->id, action, c->jid);
		if (strcmp(action, "replaced") == 0)
			c2s_conn_error(c, "conflict", "replaced by a new session");
		else
			sx_close(c->sx);
	} else if (strcmp(action, "created") == 0) {
		if (c == NULL || rid == NULL || c->req_id == NULL || strcmp(rid, c->req_id) != 0)
			return;
		if (c->anonymous && c->state == C2S_STARTING && !c->ended)
			c2s_sess_send(c, "start", c->jid);
		else
			c2s_register_created(c, 1);
	}
	/* deleted: the sm also sends ended for each session. */
}

/* Drop the session attributes, and the xmlns:sc they needed. */
static void strip_sess(struct nad *nad, int e)
{
	nad_attr_set(nad, e, C2S_NS_SESSION, "c2s", NULL);
	nad_attr_set(nad, e, C2S_NS_SESSION, "sm", NULL);
	nad_attr_set(nad, e, C2S_NS_SESSION, "failed", NULL);
}

static void deliver(struct c2s *c2s, const struct nad *route, int p)
{
	const char *cid = nad_attr(route, p, C2S_NS_SESSION, "c2s");
	const char *sm = nad_attr(route, p, C2S_NS_SESSION, "sm");
	struct c2s_conn *c = cid != NULL ? c2s_conn_find(c2s, cid) : NULL;
	struct nad *out;

	if (c != NULL && !from_session_sm(c, nad_attr(route, 0, NULL, "from"))) {
		const char *rfrom = nad_attr(route, 0, NULL, "from");

		log_warnx("c2s: conn %s: a stanza for %s from %s, not its sm; dropped", c->id,
			  c->jid != NULL ? c->jid : "-", rfrom != NULL ? rfrom : "(no from)");
		return;
	}
	if (c == NULL || c->ended || c->state != C2S_ACTIVE || sm == NULL ||
	    strcmp(sm, c->sm_id) != 0) {
		if (c == NULL && c2s_sm_parked_deliver(c2s, cid, sm, route, p))
			return;
		log_debug("c2s: stanza for a session that is gone (c2s %s)", cid != NULL ? cid : "-");
		if (c == NULL)
			sess_reject(c2s, nad_attr(route, 0, NULL, "from"), cid, sm);
		return;
	}
	out = nad_extract(route, p);
	strip_sess(out, 0);
	c2s_send(c, out);
}

/* A route the router bounced (error='NNN'): the client it was for goes. */
static void bounced(struct c2s *c2s, const struct nad *route, int p)
{
	const char *cid = nad_attr(route, p, C2S_NS_SESSION, "c2s");
	struct c2s_conn *c = cid != NULL ? c2s_conn_find(c2s, cid) : NULL;

	log_warnx("c2s: route bounced by the router (error %s)", nad_attr(route, 0, NULL, "error"));
	if (c != NULL && !c->ended) {
		if (c->state == C2S_STARTING)
			c->state = C2S_AUTHED;
		c2s_conn_error(c, "internal-server-error", NULL);
	}
}

/* The sm that holds these clients' sessions, or their domain, left the
 * router: the sessions are gone with it, so the clients must log in again
 * (c2s/README.md says why the condition is reset). Whichever of the two
 * names the router announces first, the streams get the same error. */
static int close_sessions(struct c2s *c2s, const char *name)
{
	struct c2s_conn *c, *tmp;
	int n = 0;

	LIST_FOREACH_SAFE(c, tmp, &c2s->all, struct c2s_conn, link) {
		if (c->ended || c->state != C2S_ACTIVE ||
		    !((c->sm_name != NULL && strcmp(c->sm_name, name) == 0) ||
		      (c->domain != NULL && strcmp(c->domain, name) == 0)))
			continue;
		c2s_conn_error(c, "reset", "the session manager went away");
		n++;
	}
	return n;
}

static void advertisement(struct c2s *c2s, const struct nad *nad)
{
	const char *from = nad_attr(nad, 0, NULL, "from");
	const char *type = nad_attr(nad, 0, NULL, "type");

	if (from == NULL)
		return;
	if (type != NULL && strcmp(type, "unavailable") == 0) {
		/* Every name that leaves is announced (s2s, other components);
		 * only a domain of ours, or one with client streams, is news. */
		int n = close_sessions(c2s, from), parked = c2s_sm_parked_orphan(c2s, from);

		if (n > 0 || parked > 0)
			log_notice("c2s: %s is gone at the router: %d session stream%s closed, "
				   "%d parked session%s over", from, n, n == 1 ? "" : "s",
				   parked, parked == 1 ? "" : "s");
		n = c2s_close_all(c2s, from, "host-gone");
		if (n > 0 || c2s_host_find(c2s, from) != NULL)
			log_notice("c2s: %s is gone at the router: %d client stream%s closed",
				   from, n, n == 1 ? "" : "s");
	} else {
		if (c2s_host_find(c2s, from) != NULL)
			log_info("c2s: %s is available", from);
		c2s_sm_parked_orphans_end(c2s, from);
	}
}

void c2s_router_element(struct comp *comp, struct nad *nad, void *ctx)
{
	struct c2s *c2s = ctx;
	const char *name = nad_name(nad, 0);
	int p;

	if (log_get_debug()) {
		char *text = nad_to_string(nad, NULL);

		log_debug("c2s: from the router: %s", text);
		free(text);
	}

	if (strcmp(name, "presence") == 0) {
		advertisement(c2s, nad);
	} else if (strcmp(name, "route") == 0 && (p = comp_route_payload(nad)) != NAD_NONE) {
		const char *ns = nad_ns(nad, p);

		if (nad_attr(nad, 0, NULL, "error") != NULL)
			bounced(c2s, nad, p);
		else if (ns != NULL && strcmp(ns, C2S_NS_SESSION) == 0 &&
			 strcmp(nad_name(nad, p), "session") == 0)
			sess_control_in(c2s, nad, p);
		else
			deliver(c2s, nad, p);
	}
	nad_free(&nad);
}
