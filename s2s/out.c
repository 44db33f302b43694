/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * out: outgoing server streams. One stream per remote domain (or per
 * domain pair without out-conn-reuse) carries, in turn: our header with
 * xmlns:db, STARTTLS when offered (or required by policy), SASL EXTERNAL
 * when the stream is encrypted and we hold a certificate (XEP-0178), then
 * dialback for every local domain that wants to send there (XEP-0220,
 * originating role, several domains piggybacked on one stream), and the
 * db:verify questions our incoming streams put to the remote domain's
 * authoritative server. Stanzas flow only for validated pairs.
 */
#include "config.h"
#include "s2s/s2s.h"

#include <stdlib.h>
#include <string.h>

#include "link/link.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/nad.h"
#include "util/xhash.h"

static void out_stream_open(struct sx *sx, const struct sx_header *hdr, void *ctx);
static void out_element(struct sx *sx, struct nad *nad, void *ctx);
static void out_closed(struct sx *sx, const char *cond, const char *text, void *ctx);
static void out_event(struct sx *sx, enum sx_event ev, const void *data, void *ctx);

static const struct link_callbacks out_cb = {
	.stream_open = out_stream_open,
	.element = out_element,
	.closed = out_closed,
	.event = out_event,
};

struct s2s_conn *s2s_out_get(struct s2s *s2s, const char *local, const char *remote)
{
	char *key = s2s->set.out_conn_reuse ? xstrdup(remote)
					     : xasprintf("%s/%s", local, remote);
	struct s2s_conn *c = xhash_get(s2s->outs, key);

	if (c != NULL && c->state != S2S_CONN_CLOSING &&
	    (c->sx == NULL || !(sx_flags(c->sx) & SX_F_CLOSED))) {
		free(key);
		return c;
	}
	c = s2s_conn_new(s2s, 0);
	c->domain = xstrdup(remote);
	c->first_local = xstrdup(local);
	c->key = key;
	xhash_put(s2s->outs, key, c);
	log_debug("s2s: connecting to %s for %s", remote, local);
	s2s->ops->connect(s2s, c, remote, s2s->host);
	return c;
}

static void out_send_header(struct s2s_conn *c)
{
	struct sx_header h = { 0 };

	h.ns = SX_NS_SERVER;
	h.extra_prefix = "db";
	h.extra_ns = SX_NS_DIALBACK;
	h.to = c->domain;
	h.from = c->first_local;
	h.version = "1.0";
	sx_open(c->sx, &h);
}

void s2s_out_open(struct s2s_conn *c, int direct_tls)
{
	struct s2s *s2s = c->s2s;
	struct sx_limits lim = { 0 };

	lim.max_stanza = s2s->set.stanzasize;
	s2s_conn_stream(c, SX_CLIENT, &lim, &out_cb);
	c->state = S2S_CONN_OPENING;
	c->created = s2s_now(s2s);
	if (s2s->set.tls_client != NULL) {
		/* The certificate of the domain that opens the stream. */
		struct sx_tls_ctx *tls = s2s->ops->client_tls != NULL
			? s2s->ops->client_tls(s2s, c->first_local, s2s->host) : NULL;

		if (tls == NULL)
			tls = s2s->set.tls_client;
		if (direct_tls)
			sx_tls_direct(c->sx, tls);
		else
			sx_tls_starttls(c->sx, tls, s2s->set.require_tls);
		sx_tls_set_server_name(c->sx, c->domain);
	}
	out_send_header(c);
}

static struct nad *out_db_elem(const char *name, const char *from, const char *to,
			       int *root_r)
{
	struct nad *nad = nad_new();
	int root = nad_elem_add_prefixed(nad, NAD_NONE, SX_NS_DIALBACK, "db", name);

	nad_attr_set(nad, root, NULL, "from", from);
	nad_attr_set(nad, root, NULL, "to", to);
	*root_r = root;
	return nad;
}

/* Send <db:result> for a pair: the originating role. */
static void out_db_result(struct s2s_conn *c, struct s2s_pair *p)
{
	char key[S2S_DB_KEY_SIZE];
	struct nad *nad;
	int root;

	if (c->peer_id == NULL ||
	    s2s_db_key(c->s2s->set.secret, p->remote, c->peer_id, key) < 0) {
		s2s_pair_fail(c->s2s, p, "service-unavailable");
		return;
	}
	nad = out_db_elem("result", p->local, p->remote, &root);
	nad_text_append(nad, root, key, strlen(key));
	sx_send(c->sx, nad);
	p->state = S2S_PAIR_SENT;
	log_debug("s2s: dialback %s -> %s sent", p->local, p->remote);
}

void s2s_out_pair_start(struct s2s_conn *c, struct s2s_pair *p)
{
	if (p->conn != c) {
		list_remove(&p->link);
		list_add_tail(&c->pairs, &p->link);
		p->conn = c;
	}
	if (c->state != S2S_CONN_READY || p->state != S2S_PAIR_PENDING)
		return;
	if (c->external_ok && strcmp(p->local, c->first_local) == 0) {
		p->state = S2S_PAIR_VALID;
		log_info("s2s: %s -> %s valid (SASL EXTERNAL)", p->local, p->remote);
		s2s_pair_flush(c->s2s, p);
	} else if (c->db_offered) {
		out_db_result(c, p);
	} else {
		log_notice("s2s: %s offers neither dialback nor usable SASL", c->domain);
		s2s_pair_fail(c->s2s, p, "service-unavailable");
	}
}

/* Send the db:verify questions waiting for this conn's domain. */
static void out_send_verifies(struct s2s_conn *c)
{
	struct s2s_verify *v;

	LIST_FOREACH(v, &c->s2s->verifies, struct s2s_verify, link) {
		struct nad *nad;
		int root;

		if (v->sent || strcmp(v->remote, c->domain) != 0)
			continue;
		nad = out_db_elem("verify", v->local, v->remote, &root);
		nad_attr_set(nad, root, NULL, "id", v->id);
		nad_text_append(nad, root, v->key, strlen(v->key));
		sx_send(c->sx, nad);
		v->sent = 1;
	}
}

void s2s_out_verify_kick(struct s2s *s2s, const char *remote)
{
	struct s2s_verify *v;

	LIST_FOREACH(v, &s2s->verifies, struct s2s_verify, link) {
		struct s2s_conn *c;

		if (v->sent || strcmp(v->remote, remote) != 0)
			continue;
		c = s2s_out_get(s2s, v->local, remote);
		if (c->state == S2S_CONN_READY && c->db_offered)
			out_send_verifies(c);
		return;
	}
}

static void out_ready(struct s2s_conn *c)
{
	struct s2s_pair *p, *tmp;

	c->state = S2S_CONN_READY;
	log_debug("s2s: stream to %s ready%s%s%s", c->domain,
		  (sx_flags(c->sx) & SX_F_ENCRYPTED) ? " (TLS)" : "",
		  (sx_flags(c->sx) & SX_F_PEER_CERT) ? " (certificate verified)" : "",
		  c->external_ok ? " (SASL EXTERNAL)" : "");
	if (c->db_offered)
		out_send_verifies(c);
	LIST_FOREACH_SAFE(p, tmp, &c->pairs, struct s2s_pair, link)
		s2s_out_pair_start(c, p);
}

static void out_stream_open(struct sx *sx, const struct sx_header *hdr, void *ctx)
{
	struct s2s_conn *c = ctx;

	free(c->peer_id);
	c->peer_id = xstrdup_opt(hdr->id);
	if (hdr->extra_ns != NULL && strcmp(hdr->extra_ns, SX_NS_DIALBACK) == 0)
		c->db_offered = 1;
	if (hdr->ns == NULL || strcmp(hdr->ns, SX_NS_SERVER) != 0) {
		sx_error(sx, "invalid-namespace", NULL);
		return;
	}
	/* A pre-XMPP 1.0 peer sends no features: dialback starts now. */
	if (hdr->version == NULL) {
		if (c->s2s->set.require_tls) {
			sx_error(sx, "policy-violation", "TLS is required");
			return;
		}
		out_ready(c);
	}
}

/* Features that reached us: TLS is done or was not offered. */
static void out_features(struct s2s_conn *c, struct nad *nad)
{
	struct s2s *s2s = c->s2s;
	int root = nad_root(nad), mechs, m;
	int external = 0;

	if (s2s->set.require_tls && !(sx_flags(c->sx) & SX_F_ENCRYPTED)) {
		sx_error(c->sx, "policy-violation", "TLS is required");
		return;
	}
	if (nad_child(nad, root, S2S_NS_DB_FEATURE, "dialback") != NAD_NONE)
		c->db_offered = 1;
	mechs = nad_child(nad, root, SX_NS_SASL, "mechanisms");
	for (m = mechs != NAD_NONE ? nad_child(nad, mechs, SX_NS_SASL, "mechanism") : NAD_NONE;
	     m != NAD_NONE; m = nad_next(nad, m, SX_NS_SASL, "mechanism"))
		if (strcmp(nad_text(nad, m, NULL), "EXTERNAL") == 0)
			external = 1;
	if (external && !c->external_tried && !c->external_ok && s2s->set.have_client_cert &&
	    s2s->sasl_client != NULL && (sx_flags(c->sx) & SX_F_ENCRYPTED)) {
		struct sx_sasl_client_params p = { 0 };
		const char *err;

		c->external_tried = 1;
		p.mechanism = "EXTERNAL";
		p.authzid = c->first_local;
		if (sx_sasl_client(c->sx, s2s->sasl_client, &p) == 0 &&
		    sx_sasl_client_auth(c->sx, "EXTERNAL", &err) == 0)
			return;
		log_notice("s2s: cannot start SASL EXTERNAL to %s", c->domain);
	}
	out_ready(c);
}

/* The condition inside a dialback error, for the log. */
static const char *out_db_error_cond(const struct nad *nad, int root)
{
	int err = nad_child(nad, root, NULL, "error"), cond;

	if (err == NAD_NONE)
		return "without a condition";
	cond = nad_child(nad, err, SX_NS_STANZA_ERRORS, NULL);
	return cond != NAD_NONE ? nad_name(nad, cond) : "without a condition";
}

static void out_db_result_in(struct s2s_conn *c, struct nad *nad, int root)
{
	const char *type = nad_attr(nad, root, NULL, "type");
	const char *from = nad_attr(nad, root, NULL, "from");
	const char *to = nad_attr(nad, root, NULL, "to");
	struct s2s_pair *p = NULL, *it;

	LIST_FOREACH(it, &c->pairs, struct s2s_pair, link)
		if (from != NULL && to != NULL && strcmp(it->remote, from) == 0 &&
		    strcmp(it->local, to) == 0 && it->state == S2S_PAIR_SENT)
			p = it;
	if (p == NULL || type == NULL) {
		log_debug("s2s: unexpected db:result from %s", c->domain);
		return;
	}
	if (strcmp(type, "valid") == 0) {
		p->state = S2S_PAIR_VALID;
		log_info("s2s: %s -> %s valid (dialback)", p->local, p->remote);
		s2s_pair_flush(c->s2s, p);
	} else if (strcmp(type, "error") == 0) {
		/* Not a verdict on our key: the receiving server could not
		 * check it. XEP-0220 2.4 wants remote-server-timeout. */
		log_notice("s2s: %s could not verify %s (dialback error %s)", p->remote,
			   p->local, out_db_error_cond(nad, root));
		s2s_pair_fail(c->s2s, p, "remote-server-timeout");
	} else {
		log_notice("s2s: %s refused dialback for %s (%s)", p->remote, p->local, type);
		s2s_pair_fail(c->s2s, p, "service-unavailable");
	}
}

static void out_db_verify_in(struct s2s_conn *c, struct nad *nad, int root)
{
	const char *type = nad_attr(nad, root, NULL, "type");
	const char *from = nad_attr(nad, root, NULL, "from");
	const char *to = nad_attr(nad, root, NULL, "to");
	const char *id = nad_attr(nad, root, NULL, "id");
	struct s2s_verify *v;

	if (type == NULL || from == NULL || to == NULL || id == NULL)
		return;
	LIST_FOREACH(v, &c->s2s->verifies, struct s2s_verify, link)
		if (v->sent && strcmp(v->id, id) == 0 && strcmp(v->remote, from) == 0 &&
		    strcmp(v->local, to) == 0) {
			/* An error from the authoritative server (step 3) is
			 * remote-server-not-found to the initiating one. */
			if (strcmp(type, "valid") == 0 || strcmp(type, "invalid") == 0)
				s2s_in_verify_done(c->s2s, v, type, NULL);
			else
				s2s_in_verify_done(c->s2s, v, "error",
						   "remote-server-not-found");
			return;
		}
	log_debug("s2s: unexpected db:verify answer from %s", c->domain);
}

static void out_element(struct sx *sx, struct nad *nad, void *ctx)
{
	struct s2s_conn *c = ctx;
	int root = nad_root(nad);
	const char *ns = nad_ns(nad, root), *name = nad_name(nad, root);

	if (ns != NULL && strcmp(ns, SX_NS_STREAMS) == 0 && strcmp(name, "features") == 0)
		out_features(c, nad);
	else if (ns != NULL && strcmp(ns, SX_NS_DIALBACK) == 0 && strcmp(name, "result") == 0)
		out_db_result_in(c, nad, root);
	else if (ns != NULL && strcmp(ns, SX_NS_DIALBACK) == 0 && strcmp(name, "verify") == 0)
		out_db_verify_in(c, nad, root);
	else
		log_debug("s2s: ignoring <%s/> on the outgoing stream to %s", name, c->domain);
	nad_free(&nad);
}

static void out_closed(struct sx *sx, const char *cond, const char *text, void *ctx)
{
	struct s2s_conn *c = ctx;

	if (cond != NULL)
		log_notice("s2s: stream to %s ended: %s%s%s", c->domain, cond,
			   text != NULL ? ": " : "", text != NULL ? text : "");
	c->state = S2S_CONN_CLOSING;
}

static void out_event(struct sx *sx, enum sx_event ev, const void *data, void *ctx)
{
	struct s2s_conn *c = ctx;

	switch (ev) {
	case SX_EV_TLS_DONE:
		/* After STARTTLS the stream restarts with our header; with
		 * direct TLS it is already out and sx_open ignores this. */
		out_send_header(c);
		break;
	case SX_EV_AUTH_OK:
		c->external_ok = 1;
		out_send_header(c);
		break;
	case SX_EV_AUTH_FAIL:
		log_notice("s2s: %s refused SASL EXTERNAL (%s), trying dialback", c->domain,
			   (const char *)data);
		if (!(sx_flags(sx) & SX_F_CLOSED))
			out_ready(c);
		break;
	}
}

void s2s_out_send(struct s2s_conn *c, const struct nad *route)
{
	int st = nad_child(route, nad_root(route), NULL, NULL);
	struct nad *stanza;

	if (st == NAD_NONE || c->sx == NULL)
		return;
	stanza = nad_extract(route, st);
	nad_elem_set_ns(stanza, nad_root(stanza), SX_NS_SERVER);
	sx_send(c->sx, stanza);
}

void s2s_out_gone(struct s2s_conn *c, const char *condition, int retry,
		  const char *verify_condition)
{
	struct s2s *s2s = c->s2s;
	struct s2s_pair *p, *tmp;
	struct s2s_verify *v, *vtmp;

	if (c->key != NULL && xhash_get(s2s->outs, c->key) == c)
		xhash_remove(s2s->outs, c->key);
	/* Valid pairs have an empty queue and simply go: the next stanza
	 * reconnects. The others bounce what waits, or wait for a retry
	 * (not after a dialback verdict: those pairs are already gone). */
	LIST_FOREACH_SAFE(p, tmp, &c->pairs, struct s2s_pair, link) {
		if (retry && p->state != S2S_PAIR_VALID)
			s2s_pair_retry_or_fail(s2s, p, condition);
		else
			s2s_pair_fail(s2s, p, condition);
	}
	LIST_FOREACH_SAFE(v, vtmp, &s2s->verifies, struct s2s_verify, link)
		if (strcmp(v->remote, c->domain) == 0)
			s2s_in_verify_done(s2s, v, "error", verify_condition);
}
