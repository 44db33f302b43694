/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * in: incoming server streams. We answer the peer's header with
 * xmlns:db, offer STARTTLS (required by policy or not), SASL EXTERNAL
 * once the peer's certificate verified, and dialback. A <db:result> makes
 * us the receiving server: we ask the claimed domain's authoritative
 * server over an outgoing stream (<db:verify>, out.c) and answer valid or
 * invalid. A <db:verify> makes us the authoritative server: we check the
 * key against our secret. Stanzas are accepted only for (from, to) domain
 * pairs validated on this very stream; anything else ends it with
 * invalid-from or improper-addressing.
 */
#include "config.h"
#include "s2s/s2s.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "link/link.h"
#include "util/buf.h"
#include "util/jid.h"
#include "util/log.h"
#include "util/nad.h"
#include "util/xhash.h"

static void in_stream_open(struct sx *sx, const struct sx_header *hdr, void *ctx);
static void in_element(struct sx *sx, struct nad *nad, void *ctx);
static void in_closed(struct sx *sx, const char *cond, const char *text, void *ctx);
static void in_event(struct sx *sx, enum sx_event ev, const void *data, void *ctx);

static const struct link_callbacks in_cb = {
	.stream_open = in_stream_open,
	.element = in_element,
	.closed = in_closed,
	.event = in_event,
};

void s2s_in_start(struct s2s_conn *c, int direct_tls)
{
	struct s2s *s2s = c->s2s;
	struct sx_limits lim = { 0 };

	lim.max_stanza = s2s->set.stanzasize;
	s2s_conn_stream(c, SX_SERVER, &lim, &in_cb);
	/* Direct TLS (XEP-0368): no STARTTLS inside it. */
	if (direct_tls && s2s->set.tls_server != NULL)
		sx_tls_direct(c->sx, s2s->set.tls_server);
	else if (s2s->set.tls_server != NULL)
		sx_tls_starttls(c->sx, s2s->set.tls_server, s2s->set.require_tls);
	if (s2s->sasl_server != NULL)
		sx_sasl_server(c->sx, s2s->sasl_server, NULL);
}

/* One name against a domain: equal ignoring case, or "*.rest" where the
 * domain is one more (non-empty) label in front of rest. */
static int in_name_match(const char *name, const char *domain)
{
	const char *dot;

	if (strcasecmp(name, domain) == 0)
		return 1;
	if (strncmp(name, "*.", 2) != 0 || (dot = strchr(domain, '.')) == NULL ||
	    dot == domain)
		return 0;
	return strcasecmp(name + 2, dot + 1) == 0 && strchr(name + 2, '.') != NULL;
}

int s2s_cert_names_match(const char *const *names, const char *domain)
{
	for (; names != NULL && *names != NULL; names++) {
		/* An xmppAddr of a user (node@domain) never names a server. */
		if (strchr(*names, '@') != NULL || strchr(*names, '/') != NULL)
			continue;
		if (in_name_match(*names, domain))
			return 1;
	}
	return 0;
}

static void in_features(struct s2s_conn *c)
{
	struct s2s *s2s = c->s2s;
	struct nad *f = sx_features_new(c->sx);
	int tls_pending = s2s->set.require_tls && !(sx_flags(c->sx) & SX_F_ENCRYPTED);

	if (!tls_pending) {
		int db = nad_elem_add(f, nad_root(f), S2S_NS_DB_FEATURE, "dialback");

		/* We send dialback errors (XEP-0220 2.4.2). */
		nad_elem_add(f, db, S2S_NS_DB_FEATURE, "errors");
		/* With a verified certificate SASL EXTERNAL may do instead. */
		if (!(sx_flags(c->sx) & SX_F_PEER_CERT))
			nad_elem_add(f, db, S2S_NS_DB_FEATURE, "required");
	}
	sx_send(c->sx, f);
}

/* io.limits.domainstreams: one remote domain may not hold more incoming
 * streams than this (a peer opening stream after stream). */
static int in_too_many(struct s2s_conn *c)
{
	struct s2s *s2s = c->s2s;
	struct s2s_conn *o;
	int n = 0;

	if (s2s->set.domainstreams <= 0)
		return 0;
	LIST_FOREACH(o, &s2s->conns, struct s2s_conn, link)
		if (o->incoming && o->domain != NULL && o->sx != NULL &&
		    !(sx_flags(o->sx) & SX_F_CLOSED) && strcasecmp(o->domain, c->domain) == 0)
			n++;
	if (n <= s2s->set.domainstreams)
		return 0;
	log_notice("s2s: %s already holds %d incoming streams, refusing another",
		   c->domain, s2s->set.domainstreams);
	sx_error(c->sx, "policy-violation", "too many streams from your domain");
	return 1;
}

static void in_stream_open(struct sx *sx, const struct sx_header *hdr, void *ctx)
{
	struct s2s_conn *c = ctx;
	struct sx_header h = { 0 };
	int have_db = hdr->extra_ns != NULL && strcmp(hdr->extra_ns, SX_NS_DIALBACK) == 0;

	h.ns = SX_NS_SERVER;
	h.extra_prefix = "db";
	h.extra_ns = SX_NS_DIALBACK;
	h.from = hdr->to;
	h.version = hdr->version != NULL ? "1.0" : NULL;
	sx_open(sx, &h);
	if (hdr->ns == NULL || strcmp(hdr->ns, SX_NS_SERVER) != 0) {
		sx_error(sx, "invalid-namespace", NULL);
		return;
	}
	if (hdr->version == NULL && !have_db) {
		/* Neither XMPP 1.0 nor dialback: nothing could authenticate it. */
		sx_error(sx, "invalid-namespace", "dialback namespace required");
		return;
	}
	free(c->hdr_to);
	c->hdr_to = xstrdup_opt(hdr->to);
	if (hdr->from != NULL && !(sx_flags(sx) & SX_F_AUTHENTICATED)) {
		free(c->domain);
		c->domain = xstrdup(hdr->from);
		if (in_too_many(c))
			return;
	}
	if (hdr->version != NULL)
		in_features(c);
}

static int in_is_local(struct s2s *s2s, const char *domain)
{
	return s2s->ops->is_local == NULL || s2s->ops->is_local(s2s, domain, s2s->host);
}

/* A dialback error (XEP-0220 2.4): name is "result" or "verify"; from/to
 * are the reply's; id only for verify. The stream stays open. */
static void in_db_error(struct s2s_conn *c, const char *name, const char *from, const char *to,
			const char *id, const char *cond)
{
	struct nad *nad = nad_new();
	int r = nad_elem_add_prefixed(nad, NAD_NONE, SX_NS_DIALBACK, "db", name), e;

	nad_attr_set(nad, r, NULL, "from", from);
	nad_attr_set(nad, r, NULL, "to", to);
	if (id != NULL)
		nad_attr_set(nad, r, NULL, "id", id);
	nad_attr_set(nad, r, NULL, "type", "error");
	e = nad_elem_add(nad, r, SX_NS_SERVER, "error");
	nad_attr_set(nad, e, NULL, "type", s2s_cond_type(cond));
	nad_elem_add(nad, e, SX_NS_STANZA_ERRORS, cond);
	sx_send(c->sx, nad);
}

/* The receiving role: someone claims `from`; ask its authoritative server. */
static void in_db_result(struct s2s_conn *c, struct nad *nad, int root)
{
	struct s2s *s2s = c->s2s;
	const char *from = nad_attr(nad, root, NULL, "from");
	const char *to = nad_attr(nad, root, NULL, "to");
	const char *key = nad_text(nad, root, NULL);
	struct s2s_verify *v;

	if (s2s->set.require_tls && !(sx_flags(c->sx) & SX_F_ENCRYPTED)) {
		sx_error(c->sx, "policy-violation", "TLS is required before dialback");
		return;
	}
	if (from == NULL || to == NULL || *key == '\0' || sx_id(c->sx) == NULL) {
		sx_error(c->sx, "improper-addressing", "db:result needs from, to and a key");
		return;
	}
	if (!in_is_local(s2s, to)) {
		log_notice("s2s: %s asked to send from %s to %s, which is not ours",
			   s2s_conn_domain(c), from, to);
		in_db_error(c, "result", to, from, NULL, "item-not-found");
		return;
	}
	v = xcalloc(1, sizeof(*v));
	v->in = c;
	v->remote = xstrdup(from);
	v->local = xstrdup(to);
	v->key = xstrdup(key);
	v->id = xstrdup(sx_id(c->sx));
	v->since = s2s_now(s2s);
	list_add_tail(&s2s->verifies, &v->link);
	log_debug("s2s: %s claims to be %s; asking its authoritative server",
		  c->domain != NULL ? c->domain : "peer", from);
	s2s_out_verify_kick(s2s, from);
}

/* The authoritative role: is this key one of ours? */
static void in_db_verify(struct s2s_conn *c, struct nad *nad, int root)
{
	const char *from = nad_attr(nad, root, NULL, "from");
	const char *to = nad_attr(nad, root, NULL, "to");
	const char *id = nad_attr(nad, root, NULL, "id");
	const char *key = nad_text(nad, root, NULL);
	struct nad *reply;
	int ok, r;

	if (from == NULL || to == NULL || id == NULL) {
		sx_error(c->sx, "improper-addressing", "db:verify needs from, to and id");
		return;
	}
	if (!in_is_local(c->s2s, to)) {
		log_notice("s2s: %s asked to verify a key of %s, which is not ours",
			   s2s_conn_domain(c), to);
		in_db_error(c, "verify", to, from, id, "item-not-found");
		c->state = S2S_CONN_READY;
		return;
	}
	ok = s2s_db_key_check(c->s2s->set.secret, from, id, key);
	reply = nad_new();
	r = nad_elem_add_prefixed(reply, NAD_NONE, SX_NS_DIALBACK, "db", "verify");
	nad_attr_set(reply, r, NULL, "from", to);
	nad_attr_set(reply, r, NULL, "to", from);
	nad_attr_set(reply, r, NULL, "id", id);
	nad_attr_set(reply, r, NULL, "type", ok ? "valid" : "invalid");
	sx_send(c->sx, reply);
	/* A stream that only carries verify questions is in use, not stuck. */
	c->state = S2S_CONN_READY;
	if (!ok)
		log_notice("s2s: dialback key from %s for stream %s is not ours", from, id);
	else
		log_debug("s2s: dialback key from %s for stream %s is ours", from, id);
}

void s2s_verify_free(struct s2s_verify **vp)
{
	struct s2s_verify *v = *vp;

	if (v == NULL)
		return;
	*vp = NULL;
	list_remove(&v->link);
	free(v->remote);
	free(v->local);
	free(v->key);
	free(v->id);
	free(v);
}

void s2s_in_verify_done(struct s2s *s2s, struct s2s_verify *v, const char *type,
			const char *condition)
{
	struct s2s_conn *c = v->in;
	int valid = strcmp(type, "valid") == 0;
	int error = strcmp(type, "error") == 0;

	if (c != NULL && c->sx != NULL && !(sx_flags(c->sx) & SX_F_CLOSED)) {
		if (error) {
			if (condition == NULL)
				condition = "remote-server-timeout";
			in_db_error(c, "result", v->local, v->remote, NULL, condition);
			type = condition;
		} else {
			struct nad *nad = nad_new();
			int r = nad_elem_add_prefixed(nad, NAD_NONE, SX_NS_DIALBACK, "db",
						      "result");

			nad_attr_set(nad, r, NULL, "from", v->local);
			nad_attr_set(nad, r, NULL, "to", v->remote);
			nad_attr_set(nad, r, NULL, "type", valid ? "valid" : "invalid");
			sx_send(c->sx, nad);
		}
		if (valid) {
			char *key = xasprintf("%s/%s", v->remote, v->local);

			xhash_put(c->valid, key, (void *)1);
			free(key);
			c->state = S2S_CONN_READY;
			log_info("s2s: incoming %s -> %s valid (dialback)", v->remote, v->local);
		} else {
			log_notice("s2s: incoming %s -> %s refused (dialback %s)", v->remote,
				   v->local, type);
		}
	}
	s2s_verify_free(&v);
}

/* The stanza rate limit: more than stanza_rate stanzas within a window
 * pauses reading for the throttle time (the host does it). Stanzas
 * already read are delivered, none is dropped; the next window starts
 * when reading does. Logged once per stream. */
static void in_rate(struct s2s_conn *c)
{
	struct s2s *s2s = c->s2s;
	time_t now = s2s_now(s2s);
	int window = s2s->set.stanza_rate_seconds > 0 ? s2s->set.stanza_rate_seconds : 1;
	int pause = s2s->set.stanza_rate_throttle > 0 ? s2s->set.stanza_rate_throttle : 1;

	if (s2s->set.stanza_rate <= 0)
		return;
	if (now >= c->rate_start + window) {
		c->rate_start = now;
		c->rate_n = 0;
	}
	if (++c->rate_n <= s2s->set.stanza_rate || now < c->throttled_until)
		return;
	if (!c->rate_logged) {
		c->rate_logged = 1;
		log_notice("s2s: %s sends more than %d stanzas in %d s, reading paused %d s",
			   s2s_conn_domain(c), s2s->set.stanza_rate, window, pause);
	}
	c->throttled_until = now + pause;
	c->rate_start = c->throttled_until;
	c->rate_n = 0;
	if (s2s->ops->throttle != NULL)
		s2s->ops->throttle(s2s, c, pause, s2s->host);
}

/* A stanza from the peer: only for pairs validated on this stream. */
static void in_stanza(struct s2s_conn *c, struct nad *nad, int root)
{
	char from[JID_PART_MAX + 1], to[JID_PART_MAX + 1], *key;
	const char *f = nad_attr(nad, root, NULL, "from");
	const char *t = nad_attr(nad, root, NULL, "to");
	struct jid *jf = NULL, *jt = NULL;
	const char *err;
	int ok;

	if (f == NULL || t == NULL || (jf = jid_new(f, strlen(f), &err)) == NULL ||
	    (jt = jid_new(t, strlen(t), &err)) == NULL) {
		jid_free(&jf);
		log_notice("s2s: stanza without valid from/to from %s", s2s_conn_domain(c));
		sx_error(c->sx, "improper-addressing", NULL);
		nad_free(&nad);
		return;
	}
	snprintf(from, sizeof(from), "%s", jid_domain(jf));
	snprintf(to, sizeof(to), "%s", jid_domain(jt));
	jid_free(&jf);
	jid_free(&jt);
	key = xasprintf("%s/%s", from, to);
	ok = xhash_get(c->valid, key) != NULL;
	free(key);
	if (!ok) {
		log_notice("s2s: stanza from unverified %s to %s, closing the stream", from, to);
		sx_error(c->sx, "invalid-from", NULL);
		nad_free(&nad);
		return;
	}
	in_rate(c);
	s2s_deliver(c->s2s, nad);
}

static void in_element(struct sx *sx, struct nad *nad, void *ctx)
{
	struct s2s_conn *c = ctx;
	int root = nad_root(nad);
	const char *ns = nad_ns(nad, root), *name = nad_name(nad, root);

	if (ns != NULL && strcmp(ns, SX_NS_DIALBACK) == 0) {
		if (strcmp(name, "result") == 0)
			in_db_result(c, nad, root);
		else if (strcmp(name, "verify") == 0)
			in_db_verify(c, nad, root);
		nad_free(&nad);
		return;
	}
	if (ns != NULL && strcmp(ns, SX_NS_SERVER) == 0 &&
	    (strcmp(name, "message") == 0 || strcmp(name, "presence") == 0 ||
	     strcmp(name, "iq") == 0)) {
		in_stanza(c, nad, root);
		return;
	}
	log_notice("s2s: unsupported <%s/> from %s", name, s2s_conn_domain(c));
	sx_error(sx, "unsupported-stanza-type", NULL);
	nad_free(&nad);
}

static void in_closed(struct sx *sx, const char *cond, const char *text, void *ctx)
{
	struct s2s_conn *c = ctx;

	if (cond != NULL)
		log_notice("s2s: incoming stream from %s ended: %s%s%s", s2s_conn_domain(c), cond,
			   text != NULL ? ": " : "", text != NULL ? text : "");
	c->state = S2S_CONN_CLOSING;
}

static void in_event(struct sx *sx, enum sx_event ev, const void *data, void *ctx)
{
	struct s2s_conn *c = ctx;

	if (ev == SX_EV_AUTH_OK && c->domain != NULL && c->hdr_to != NULL) {
		char *key = xasprintf("%s/%s", c->domain, c->hdr_to);

		xhash_put(c->valid, key, (void *)1);
		free(key);
		c->state = S2S_CONN_READY;
		log_info("s2s: incoming %s -> %s valid (SASL EXTERNAL)", c->domain, c->hdr_to);
	} else if (ev == SX_EV_AUTH_FAIL) {
		log_notice("s2s: SASL EXTERNAL from %s failed: %s", s2s_conn_domain(c),
			   (const char *)data);
	}
}
