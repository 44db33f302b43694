/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * stanza.c: what a client sends at the element level, by state:
 * before authentication only in-band registration (where enabled) is
 * allowed; after SASL only resource binding; once the sm has started the
 * session, everything goes to the sm with `from` stamped. Also the stream
 * features for each state and error replies to iqs.
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

void c2s_stream_features(struct c2s_conn *c)
{
	struct nad *f = sx_features_new(c->sx);
	int e;

	if (c->state == C2S_CONNECTED && c->host->register_enable && !sx_tls_required(c->sx))
		nad_elem_add(f, 0, C2S_NS_REGISTER_FEATURE, "register");
	if (c->state == C2S_CONNECTED && c2s_iqauth_offered(c))
		nad_elem_add(f, 0, C2S_NS_IQAUTH_FEATURE, "auth");
	if (c->state == C2S_AUTHED) {
		nad_elem_add(f, 0, C2S_NS_BIND, "bind");
		/* RFC 3921 session establishment, optional (RFC 6121 appendix E). */
		e = nad_elem_add(f, 0, C2S_NS_XSESSION, "session");
		nad_elem_add(f, e, C2S_NS_XSESSION, "optional");
	}
	c2s_sm_features(c, f);
	sx_send(c->sx, f);
}

void c2s_iq_error(struct c2s_conn *c, const struct nad *nad, const char *type,
		  const char *condition)
{
	struct nad *r = nad_new();
	const char *id = nad_attr(nad, 0, NULL, "id");
	int iq = nad_elem_add(r, NAD_NONE, SX_NS_CLIENT, "iq"), e;

	nad_attr_set(r, iq, NULL, "type", "error");
	if (id != NULL)
		nad_attr_set(r, iq, NULL, "id", id);
	e = nad_elem_add(r, iq, SX_NS_CLIENT, "error");
	nad_attr_set(r, e, NULL, "type", type);
	nad_elem_add(r, e, SX_NS_STANZA_ERRORS, condition);
	c2s_send(c, r);
}

/* The namespace of an iq's first child, or "". */
static const char *iq_child_ns(const struct nad *nad, int *child_r)
{
	int ch = nad_child(nad, 0, NULL, NULL);
	const char *ns;

	*child_r = ch;
	if (ch == NAD_NONE || (ns = nad_ns(nad, ch)) == NULL)
		return "";
	return ns;
}

static int is_stanza(const struct nad *nad)
{
	const char *name = nad_name(nad, 0), *ns = nad_ns(nad, 0);

	if (ns == NULL || strcmp(ns, SX_NS_CLIENT) != 0)
		return 0;
	return strcmp(name, "message") == 0 || strcmp(name, "presence") == 0 ||
	       strcmp(name, "iq") == 0;
}

static int is_iq(const struct nad *nad, const char *type)
{
	const char *t = nad_attr(nad, 0, NULL, "type");

	return strcmp(nad_name(nad, 0), "iq") == 0 && t != NULL &&
	       (type == NULL || strcmp(t, type) == 0);
}

int c2s_session_start(struct c2s_conn *c, const char *resource, const char *iq_id,
		      int legacy)
{
	char res[JID_PART_MAX + 1], rnd[17];
	const char *error;
	struct jid *jid;

	if (resource != NULL && jid_resourceprep(resource, res, sizeof(res), &error) < 0)
		return -1;
	if (resource == NULL) {
		hash_random_id(rnd, sizeof(rnd) - 1);
		snprintf(res, sizeof(res), "jc%s", rnd);
	}
	jid = jid_new_parts(c->user, c->domain, res, &error);
	if (jid == NULL)
		return -1;
	c->jid = xstrdup(jid_full(jid));
	jid_free(&jid);
	c->bind_iq_id = xstrdup(iq_id != NULL ? iq_id : "");
	c->legacy_auth = legacy != 0;
	c->state = C2S_STARTING;
	/* Nothing else is read until the sm answers. */
	link_pause(c->lk);
	if (c->anonymous) {
		/* The sm has no such user: it is created first (the start
		 * follows "created") and deleted when the session ends, as
		 * jabberd2 does, so the sm needs no user.auto-create. */
		char *bare = xasprintf("%s@%s", c->user, c->domain);

		c2s_sess_send(c, "create", bare);
		c->anon_created = 1;
		free(bare);
	} else
		c2s_sess_send(c, "start", c->jid);
	log_info("c2s: conn %s: starting session for %s", c->id, c->jid);
	return 0;
}

/* RFC 6120 section 7: bind a resource (the client's, or one of ours). */
static void do_bind(struct c2s_conn *c, struct nad *nad, int bind)
{
	const char *want = NULL;
	int r = nad_child(nad, bind, C2S_NS_BIND, "resource");
	size_t len;

	if (r != NAD_NONE && (want = nad_text(nad, r, &len)) != NULL && len == 0)
		want = NULL;
	if (c2s_session_start(c, want, nad_attr(nad, 0, NULL, "id"), 0) < 0)
		c2s_iq_error(c, nad, "modify", "bad-request");
}

static void element_unauthed(struct c2s_conn *c, struct nad *nad)
{
	int ch;

	if (sx_tls_required(c->sx)) {
		c2s_conn_error(c, "policy-violation", "STARTTLS is required first");
		return;
	}
	if (is_iq(nad, NULL) && strcmp(iq_child_ns(nad, &ch), C2S_NS_REGISTER) == 0 &&
	    c->host->register_enable) {
		c2s_register_iq(c, nad);
		return;
	}
	if (is_iq(nad, NULL) && strcmp(iq_child_ns(nad, &ch), C2S_NS_IQAUTH) == 0) {
		c2s_iqauth(c, nad, ch);
		return;
	}
	c2s_conn_error(c, "not-authorized", NULL);
}

static void element_authed(struct c2s_conn *c, struct nad *nad)
{
	int ch;
	const char *ns = iq_child_ns(nad, &ch);

	if (is_iq(nad, "set") && strcmp(ns, C2S_NS_BIND) == 0 &&
	    strcmp(nad_name(nad, ch), "bind") == 0) {
		do_bind(c, nad, ch);
		return;
	}
	if (is_iq(nad, NULL) && strcmp(ns, C2S_NS_REGISTER) == 0) {
		c2s_register_iq(c, nad);
		return;
	}
	c2s_conn_error(c, "not-authorized", "bind a resource first");
}

/*
 * RFC 3921 session establishment (old clients): the session is already
 * open since the bind, so the answer is an empty result. It is given
 * here: jabberd2's sm answers it too, but addressed from the client's own
 * full JID, which clients do not accept as the reply.
 */
static void session_iq(struct c2s_conn *c, const struct nad *nad)
{
	struct nad *r = nad_new();
	const char *id = nad_attr(nad, 0, NULL, "id");
	int iq = nad_elem_add(r, NAD_NONE, SX_NS_CLIENT, "iq");

	nad_attr_set(r, iq, NULL, "type", "result");
	if (id != NULL)
		nad_attr_set(r, iq, NULL, "id", id);
	c2s_send(c, r);
}

static void element_active(struct c2s_conn *c, struct nad *nad)
{
	int ch;
	const char *ns = iq_child_ns(nad, &ch);

	if (is_iq(nad, "set") && strcmp(ns, C2S_NS_BIND) == 0) {
		/* One resource per stream. */
		c2s_iq_error(c, nad, "cancel", "not-allowed");
		return;
	}
	if (is_iq(nad, NULL) && strcmp(ns, C2S_NS_REGISTER) == 0 &&
	    nad_attr(nad, 0, NULL, "to") == NULL) {
		c2s_register_iq(c, nad);
		return;
	}
	if (is_iq(nad, "set") && strcmp(ns, C2S_NS_XSESSION) == 0 &&
	    nad_attr(nad, 0, NULL, "to") == NULL) {
		session_iq(c, nad);
		return;
	}
	c2s_route_stanza(c, nad);
}

void c2s_client_element(struct c2s_conn *c, struct nad *nad)
{
	if (c->ended) {
		nad_free(&nad);
		return;
	}
	if (nad_ns(nad, 0) != NULL && strcmp(nad_ns(nad, 0), C2S_NS_SM) == 0) {
		/* XEP-0198 needs an authenticated stream, resume or not. */
		if (c->state == C2S_CONNECTED) {
			c2s_conn_error(c, "not-authorized", NULL);
			nad_free(&nad);
		} else {
			c2s_sm_element(c, nad);
		}
		return;
	}
	if (!is_stanza(nad)) {
		c2s_conn_error(c, "unsupported-stanza-type", NULL);
		nad_free(&nad);
		return;
	}
	switch (c->state) {
	case C2S_CONNECTED:
		element_unauthed(c, nad);
		break;
	case C2S_AUTHED:
		element_authed(c, nad);
		break;
	case C2S_STARTING:
		c2s_conn_error(c, "not-authorized", "wait for the bind result");
		break;
	case C2S_ACTIVE:
		c2s_sm_count_in(c);
		element_active(c, nad);
		break;
	}
	nad_free(&nad);
}
