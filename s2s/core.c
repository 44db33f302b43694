/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * core: the s2s engine's centre. Routes from the router arrive here; each
 * names a (local, remote) domain pair whose stanzas wait in a bounded
 * queue until an outgoing stream to the remote domain has validated the
 * pair (dialback or SASL EXTERNAL, out.c), and are bounced to the router
 * with the stanza error the compat spec (section 7) names when that fails
 * or takes too long. Stanzas from peers (in.c) leave through here too,
 * wrapped in routes from our id.
 *
 * The engine owns the sx streams and the pairs; the host owns sockets and
 * time (struct s2s_ops), which is what lets unit tests run two engines
 * against each other in memory.
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

#define S2S_QUEUE_MAX_DEFAULT 1024

time_t s2s_now(struct s2s *s2s)
{
	return s2s->ops->now != NULL ? s2s->ops->now(s2s->host) : time(NULL);
}

/* ---- error stanzas ---- */

/* RFC 6120 condition -> error type and the legacy code jabberd2 sends. */
static void s2s_cond_info(const char *cond, const char **type_r, const char **code_r)
{
	static const struct { const char *cond, *type, *code; } tab[] = {
		{ "remote-server-not-found", "cancel", "404" },
		{ "remote-server-timeout", "wait", "504" },
		{ "service-unavailable", "cancel", "503" },
		{ "resource-constraint", "wait", "500" },
		{ "item-not-found", "cancel", "404" },
		{ "bad-request", "modify", "400" },
		{ "forbidden", "auth", "403" },
		{ "not-allowed", "cancel", "405" },
		{ "conflict", "cancel", "409" },
		{ "internal-server-error", "wait", "500" },
		{ "feature-not-implemented", "cancel", "501" },
		{ "remote-connection-failed", "cancel", "502" },
		{ "policy-violation", "modify", "406" },
		{ "not-acceptable", "modify", "406" },
		{ "not-authorized", "auth", "401" },
	};
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strcmp(tab[i].cond, cond) == 0) {
			*type_r = tab[i].type;
			*code_r = tab[i].code;
			return;
		}
	*type_r = "cancel";
	*code_r = "500";
}

const char *s2s_cond_type(const char *cond)
{
	const char *type, *code;

	s2s_cond_info(cond, &type, &code);
	return type;
}

/* Route error numbers (compat spec 10.3) -> condition. */
static const char *s2s_code_cond(const char *code)
{
	static const struct { const char *code, *cond; } tab[] = {
		{ "302", "gone" }, { "400", "bad-request" }, { "402", "payment-required" },
		{ "403", "forbidden" }, { "404", "item-not-found" }, { "405", "not-allowed" },
		{ "406", "not-acceptable" }, { "407", "registration-required" },
		{ "409", "conflict" }, { "500", "internal-server-error" },
		{ "501", "feature-not-implemented" }, { "502", "remote-server-timeout" },
		{ "503", "service-unavailable" },
	};
	size_t i;

	for (i = 0; code != NULL && i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strcmp(tab[i].code, code) == 0)
			return tab[i].cond;
	return "remote-server-not-found";
}

static void s2s_swap_attrs(struct nad *nad, int elem)
{
	char *to = xstrdup_opt(nad_attr(nad, elem, NULL, "to"));
	char *from = xstrdup_opt(nad_attr(nad, elem, NULL, "from"));

	nad_attr_set(nad, elem, NULL, "to", from);
	nad_attr_set(nad, elem, NULL, "from", to);
	free(to);
	free(from);
}

/* Turn the payload of `route` into an error reply in place (to/from of
 * stanza and route swapped). Returns -1 if it must not be answered (not a
 * jabber:client stanza, or already an error). */
static int s2s_make_error(struct nad *route, const char *cond)
{
	int root = nad_root(route);
	int st = nad_child(route, root, NULL, NULL);
	const char *ns, *type, *code;
	int err;

	if (st == NAD_NONE)
		return -1;
	ns = nad_ns(route, st);
	type = nad_attr(route, st, NULL, "type");
	if (ns == NULL || strcmp(ns, SX_NS_CLIENT) != 0 ||
	    (type != NULL && strcmp(type, "error") == 0))
		return -1;
	s2s_swap_attrs(route, st);
	s2s_swap_attrs(route, root);
	nad_attr_set(route, root, NULL, "error", NULL);
	nad_attr_set(route, st, NULL, "type", "error");
	s2s_cond_info(cond, &type, &code);
	err = nad_elem_add(route, st, SX_NS_CLIENT, "error");
	nad_attr_set(route, err, NULL, "type", type);
	nad_attr_set(route, err, NULL, "code", code);
	nad_elem_add(route, err, SX_NS_STANZA_ERRORS, cond);
	return 0;
}

void s2s_bounce(struct s2s *s2s, struct nad *route, const char *condition)
{
	static const char *const conds[] = S2S_BOUNCE_CONDS;
	int st = nad_child(route, nad_root(route), NULL, NULL);
	size_t i;

	if (s2s_make_error(route, condition) < 0) {
		s2s->dropped++;
		log_debug("s2s: not bouncing <%s/> (%s): already an error or not a stanza",
			  st != NAD_NONE ? nad_name(route, st) : "", condition);
		nad_free(&route);
		return;
	}
	for (i = 0; i + 1 < sizeof(conds) / sizeof(conds[0]); i++)
		if (strcmp(condition, conds[i]) == 0)
			break;
	s2s->bounced[i]++;
	log_debug("s2s: bouncing <%s/> with %s", nad_name(route, st), condition);
	s2s->ops->to_router(s2s, route, s2s->host);
}

/* ---- pairs ---- */

static struct s2s_pair *s2s_pair_get(struct s2s *s2s, const char *local, const char *remote,
				     int create)
{
	char *key = xasprintf("%s/%s", local, remote);
	struct s2s_pair *p = xhash_get(s2s->pairs, key);

	if (p != NULL || !create) {
		free(key);
		return p;
	}
	p = xcalloc(1, sizeof(*p));
	p->key = key;
	p->local = xstrdup(local);
	p->remote = xstrdup(remote);
	p->state = S2S_PAIR_PENDING;
	p->since = s2s_now(s2s);
	list_init(&p->link);
	xhash_put(s2s->pairs, key, p);
	return p;
}

/* Free a pair that is no longer in the table. */
static void s2s_pair_destroy(void *val)
{
	struct s2s_pair *p = val;
	size_t i;

	list_remove(&p->link);
	for (i = 0; i < p->qlen; i++)
		nad_free(&p->queue[i]);
	free(p->queue);
	free(p->key);
	free(p->local);
	free(p->remote);
	free(p);
}

static void s2s_pair_free(struct s2s *s2s, struct s2s_pair *p)
{
	xhash_remove(s2s->pairs, p->key);
	s2s_pair_destroy(p);
}

void s2s_pair_fail(struct s2s *s2s, struct s2s_pair *pair, const char *condition)
{
	size_t i;

	if (pair->qlen > 0)
		log_notice("s2s: %s -> %s: %zu stanza(s) undeliverable (%s)", pair->local,
			   pair->remote, pair->qlen, condition);
	for (i = 0; i < pair->qlen; i++) {
		s2s_bounce(s2s, pair->queue[i], condition);
		pair->queue[i] = NULL;
	}
	pair->qlen = 0;
	s2s_pair_free(s2s, pair);
}

/* Seconds before reconnect number n (from 0): 1, 2, 4 ... 64. */
static int s2s_backoff(int n)
{
	return 1 << (n < 6 ? n : 6);
}

void s2s_pair_retry_or_fail(struct s2s *s2s, struct s2s_pair *pair, const char *condition)
{
	time_t now = s2s_now(s2s);
	int wait;

	if (pair->qlen == 0 || s2s->set.check_retry <= 0 ||
	    now - pair->since >= s2s->set.check_retry) {
		s2s_pair_fail(s2s, pair, condition);
		return;
	}
	wait = s2s_backoff(pair->retries++);
	log_notice("s2s: %s -> %s: %zu stanza(s) wait, connecting again in %d s", pair->local,
		   pair->remote, pair->qlen, wait);
	list_remove(&pair->link);
	list_init(&pair->link);
	pair->conn = NULL;
	pair->state = S2S_PAIR_PENDING;
	pair->retry_at = now + wait;
}

void s2s_pair_flush(struct s2s *s2s, struct s2s_pair *pair)
{
	size_t i;

	for (i = 0; i < pair->qlen; i++) {
		s2s_out_send(pair->conn, pair->queue[i]);
		nad_free(&pair->queue[i]);
	}
	pair->qlen = 0;
}

static void s2s_pair_enqueue(struct s2s *s2s, struct s2s_pair *p, struct nad *route)
{
	size_t max = s2s->set.queue_max > 0 ? (size_t)s2s->set.queue_max : S2S_QUEUE_MAX_DEFAULT;

	if (p->qlen >= max) {
		log_warnx("s2s: %s -> %s: queue full (%zu), bouncing", p->local, p->remote, max);
		s2s_bounce(s2s, route, "resource-constraint");
		return;
	}
	if (p->qlen == p->qsize) {
		p->qsize = p->qsize ? 2 * p->qsize : 8;
		p->queue = xrealloc(p->queue, p->qsize * sizeof(*p->queue));
	}
	p->queue[p->qlen++] = route;
}

/* ---- routes from the router ---- */

/* The domain of a JID attribute, into out; -1 if absent or invalid. */
static int s2s_attr_domain(const struct nad *nad, int elem, const char *attr,
			   char *out, size_t size)
{
	const char *v = nad_attr(nad, elem, NULL, attr), *err;
	struct jid *j;

	if (v == NULL || (j = jid_new(v, strlen(v), &err)) == NULL)
		return -1;
	snprintf(out, size, "%s", jid_domain(j));
	jid_free(&j);
	return 0;
}

static int s2s_whitelisted(struct s2s *s2s, const char *domain)
{
	const char *const *w;

	if (s2s->set.whitelist == NULL)
		return 1;
	for (w = s2s->set.whitelist; *w != NULL; w++)
		if (strcasecmp(*w, domain) == 0)
			return 1;
	return 0;
}

/* An outbound stanza, wrapped in its route (to already rewritten). */
static void s2s_route_out(struct s2s *s2s, struct nad *route)
{
	int st = nad_child(route, nad_root(route), NULL, NULL);
	char local[JID_PART_MAX + 1], remote[JID_PART_MAX + 1];
	struct s2s_pair *p;

	if (st == NAD_NONE || s2s_attr_domain(route, st, "from", local, sizeof(local)) < 0 ||
	    s2s_attr_domain(route, st, "to", remote, sizeof(remote)) < 0) {
		log_notice("s2s: dropping a route whose stanza has no valid to/from");
		nad_free(&route);
		return;
	}
	if (!s2s_whitelisted(s2s, remote)) {
		log_debug("s2s: %s is not whitelisted, dropping", remote);
		nad_free(&route);
		return;
	}
	p = s2s_pair_get(s2s, local, remote, 1);
	if (p->state == S2S_PAIR_VALID && p->conn != NULL && p->qlen == 0) {
		s2s_out_send(p->conn, route);
		nad_free(&route);
		return;
	}
	s2s_pair_enqueue(s2s, p, route);
	if (p->conn == NULL && p->retry_at == 0) {
		p->since = s2s_now(s2s);
		s2s_out_pair_start(s2s_out_get(s2s, local, remote), p);
	}
}

void s2s_route_in(struct s2s *s2s, struct nad *route)
{
	int root = nad_root(route);
	const char *name = root != NAD_NONE ? nad_name(route, root) : NULL;
	const char *to = root != NAD_NONE ? nad_attr(route, root, NULL, "to") : NULL;
	const char *error;

	if (name == NULL || strcmp(name, "route") != 0 ||
	    nad_attr(route, root, NULL, "type") != NULL ||
	    (to != NULL && strcmp(to, s2s->set.id) == 0)) {
		nad_free(&route);
		return;
	}
	/* Bounces then come from our id, which the router lets through. */
	nad_attr_set(route, root, NULL, "to", s2s->set.id);
	error = nad_attr(route, root, NULL, "error");
	if (error != NULL) {
		/* A stanza we delivered came back: answer the remote sender. */
		if (s2s_make_error(route, s2s_code_cond(error)) < 0) {
			nad_free(&route);
			return;
		}
		root = nad_root(route);
		nad_attr_set(route, root, NULL, "to", s2s->set.id);
	}
	s2s_route_out(s2s, route);
}

void s2s_deliver(struct s2s *s2s, struct nad *stanza)
{
	int st = nad_root(stanza);
	char to[JID_PART_MAX + 1];
	struct nad *route;
	int r;

	if (s2s_attr_domain(stanza, st, "to", to, sizeof(to)) < 0) {
		nad_free(&stanza);
		return;
	}
	if (log_get_debug()) {
		const char *type = nad_attr(stanza, st, NULL, "type");

		log_debug("s2s: in <%s%s%s> %s -> %s", nad_name(stanza, st),
			  type != NULL ? " type=" : "", type != NULL ? type : "",
			  nad_attr(stanza, st, NULL, "from"), nad_attr(stanza, st, NULL, "to"));
	}
	nad_elem_set_ns(stanza, st, SX_NS_CLIENT);
	route = nad_new();
	r = nad_elem_add(route, NAD_NONE, S2S_NS_COMPONENT, "route");
	nad_attr_set(route, r, NULL, "to", to);
	nad_attr_set(route, r, NULL, "from", s2s->set.id);
	nad_graft(route, r, stanza, st);
	nad_free(&stanza);
	s2s->ops->to_router(s2s, route, s2s->host);
}

/* ---- connections ---- */

/* The stream's bytes go through the host (struct s2s_ops), which is
 * what lets the unit tests run engines in memory; the link layer does the
 * rest (reading into sx, batched output, the close after the last
 * bytes). */
static void s2s_tr_write(void *tctx, const void *data, size_t len)
{
	struct s2s_conn *c = tctx;

	c->s2s->ops->write(c->s2s, c, data, len, c->s2s->host);
}

static void s2s_tr_shutdown(void *tctx)
{
	struct s2s_conn *c = tctx;

	c->reported = 1;
	c->state = S2S_CONN_CLOSING;
	c->s2s->ops->close(c->s2s, c, c->s2s->host);
}

static const struct link_transport s2s_transport = {
	.write = s2s_tr_write,
	.shutdown = s2s_tr_shutdown,
};

void s2s_conn_stream(struct s2s_conn *c, enum sx_type type, const struct sx_limits *lim,
		     const struct link_callbacks *cb)
{
	c->lk = link_new_transport(c->s2s->links, &s2s_transport, c, type, lim, cb, c);
	c->sx = link_sx(c->lk);
}

struct s2s_conn *s2s_conn_new(struct s2s *s2s, int incoming)
{
	struct s2s_conn *c = xcalloc(1, sizeof(*c));

	c->s2s = s2s;
	c->incoming = incoming;
	c->state = incoming ? S2S_CONN_OPENING : S2S_CONN_CONNECTING;
	c->created = c->last_read = c->last_keepalive = s2s_now(s2s);
	list_init(&c->pairs);
	list_add_tail(&s2s->conns, &c->link);
	return c;
}

static struct s2s_conn *s2s_conn_accept(struct s2s *s2s, void *transport, int direct_tls)
{
	struct s2s_conn *c = s2s_conn_new(s2s, 1);

	c->transport = transport;
	c->valid = xhash_new();
	s2s_in_start(c, direct_tls);
	return c;
}

struct s2s_conn *s2s_conn_accepted(struct s2s *s2s, void *transport)
{
	return s2s_conn_accept(s2s, transport, 0);
}

struct s2s_conn *s2s_conn_accepted_tls(struct s2s *s2s, void *transport)
{
	return s2s_conn_accept(s2s, transport, 1);
}

void s2s_conn_connected(struct s2s_conn *conn, void *transport, int direct_tls)
{
	conn->transport = transport;
	conn->last_read = s2s_now(conn->s2s);
	s2s_out_open(conn, direct_tls);
}

static void s2s_conn_free(struct s2s_conn *c)
{
	struct s2s *s2s = c->s2s;
	struct s2s_verify *v, *tmp;

	LIST_FOREACH_SAFE(v, tmp, &s2s->verifies, struct s2s_verify, link)
		if (v->in == c)
			v->in = NULL;
	if (c->key != NULL && xhash_get(s2s->outs, c->key) == c)
		xhash_remove(s2s->outs, c->key);
	list_remove(&c->link);
	link_free(&c->lk);
	c->sx = NULL;
	xhash_free(&c->valid);
	free(c->domain);
	free(c->key);
	free(c->first_local);
	free(c->peer_id);
	free(c->hdr_to);
	free(c);
}

void s2s_conn_failed(struct s2s_conn *conn, int why, const char *reason)
{
	log_notice("s2s: cannot connect to %s: %s", conn->domain, reason);
	/* XEP-0220 2.4: a receiving server that could not find the
	 * authoritative server says remote-server-not-found, one that could
	 * not reach it remote-connection-failed. A refused connection is as
	 * definite as a missing name for what waits: bounced at once, as
	 * jabberd2 and prosody do; retrying cannot help until someone
	 * listens. */
	if (why == S2S_CONNECT_NO_NAME)
		s2s_out_gone(conn, "remote-server-not-found", 0, "remote-server-not-found");
	else if (why == S2S_CONNECT_REFUSED)
		s2s_out_gone(conn, "remote-server-not-found", 0, "remote-connection-failed");
	else
		s2s_out_gone(conn, "remote-server-timeout", 1, "remote-connection-failed");
	s2s_conn_free(conn);
}

void s2s_conn_input(struct s2s_conn *conn, const void *data, size_t len)
{
	conn->last_read = s2s_now(conn->s2s);
	if (conn->lk != NULL)
		link_input(conn->lk, data, len);
}

void s2s_conn_gone(struct s2s_conn *conn, const char *reason)
{
	log_debug("s2s: %s connection %s closed%s%s", conn->incoming ? "incoming" : "outgoing",
		  conn->domain != NULL ? conn->domain : "", reason != NULL ? ": " : "",
		  reason != NULL ? reason : "");
	if (!conn->incoming)
		s2s_out_gone(conn, "service-unavailable", 1, "remote-server-timeout");
	s2s_conn_free(conn);
}

void *s2s_conn_transport(const struct s2s_conn *conn)
{
	return conn->transport;
}

const char *s2s_conn_domain(const struct s2s_conn *conn)
{
	return conn->domain != NULL ? conn->domain : "";
}

void s2s_flush(struct s2s *s2s)
{
	if (s2s->flushing)
		return;
	s2s->flushing = 1;
	link_set_flush(s2s->links);
	s2s->flushing = 0;
}

/* ---- housekeeping ---- */

static void s2s_check_pairs(struct s2s *s2s, time_t now)
{
	struct xhash_iter it;
	const char *key;
	void *val;
	int again = 1;

	/* Failing a pair bounces (which may touch the table): restart the
	 * walk after each one. Bounded by the number of pairs. */
	while (again) {
		again = 0;
		xhash_iter_init(s2s->pairs, &it);
		while (xhash_iter_next(&it, &key, &val)) {
			struct s2s_pair *p = val;

			if (p->state != S2S_PAIR_VALID && now - p->since >= s2s->set.check_queue) {
				log_notice("s2s: %s -> %s: not validated within %d s",
					   p->local, p->remote, s2s->set.check_queue);
				s2s_pair_fail(s2s, p, "remote-server-timeout");
				again = 1;
				break;
			}
		}
	}
	/* Pairs whose backoff is over connect again. Starting one on a
	 * ready stream may fail it at once (freed from the table): restart
	 * the walk after each start; retry_at is cleared first, so each pair
	 * starts once and the walk ends. */
	again = 1;
	while (again) {
		again = 0;
		xhash_iter_init(s2s->pairs, &it);
		while (xhash_iter_next(&it, &key, &val)) {
			struct s2s_pair *p = val;

			if (p->retry_at != 0 && now >= p->retry_at && p->conn == NULL) {
				p->retry_at = 0;
				s2s_out_pair_start(s2s_out_get(s2s, p->local, p->remote), p);
				again = 1;
				break;
			}
		}
	}
}

/* Seconds without input after which a check trims a stream (sx_trim). */
#define S2S_TRIM_IDLE 5

void s2s_check(struct s2s *s2s)
{
	time_t now = s2s_now(s2s);
	struct s2s_verify *v, *vtmp;
	struct s2s_conn *c, *tmp;

	s2s_check_pairs(s2s, now);
	LIST_FOREACH_SAFE(v, vtmp, &s2s->verifies, struct s2s_verify, link)
		if (now - v->since >= s2s->set.check_queue)
			s2s_in_verify_done(s2s, v, "error", "remote-server-timeout");
	LIST_FOREACH_SAFE(c, tmp, &s2s->conns, struct s2s_conn, link) {
		if (c->sx == NULL || (sx_flags(c->sx) & SX_F_CLOSED))
			continue;
		if (c->state != S2S_CONN_READY && now - c->created >= s2s->set.check_queue) {
			log_notice("s2s: %s stream %s not ready within %d s",
				   c->incoming ? "incoming" : "outgoing", s2s_conn_domain(c),
				   s2s->set.check_queue);
			sx_error(c->sx, "connection-timeout", NULL);
		} else if (s2s->set.check_idle > 0 && now - c->last_read >= s2s->set.check_idle) {
			log_debug("s2s: closing idle stream %s", s2s_conn_domain(c));
			sx_close(c->sx);
		} else if (s2s->set.check_keepalive > 0 && c->state == S2S_CONN_READY &&
			   now - c->last_keepalive >= s2s->set.check_keepalive) {
			/* A space keeps NAT and firewall state alive. */
			c->last_keepalive = now;
			sx_send_raw(c->sx, " ", 1);
		}
		/* Nothing read for S2S_TRIM_IDLE seconds: at this check the
		 * stream gives back its parser and TLS buffers until input
		 * comes (an outgoing stream mostly writes, and does not need
		 * its parser between the peer's rare replies). */
		if (c->state == S2S_CONN_READY && now - c->last_read >= S2S_TRIM_IDLE &&
		    sx_trim(c->sx))
			log_debug("s2s: %s stream %s idle: trimmed",
				  c->incoming ? "incoming" : "outgoing", s2s_conn_domain(c));
	}
	s2s_flush(s2s);
}

void s2s_shutdown(struct s2s *s2s)
{
	struct s2s_conn *c, *tmp;

	LIST_FOREACH_SAFE(c, tmp, &s2s->conns, struct s2s_conn, link)
		if (c->sx != NULL)
			sx_error(c->sx, "system-shutdown", NULL);
	s2s_flush(s2s);
}

/* ---- lifetime ---- */

static int s2s_sasl_authorize(struct sx *sx, const char *mech, const char *authcid,
			      const char *authzid, const char *realm);

struct s2s *s2s_new(const struct s2s_settings *set, const struct s2s_ops *ops, void *host)
{
	struct s2s *s2s = xcalloc(1, sizeof(*s2s));
	static const struct sx_sasl_callbacks scb = { .authorize = s2s_sasl_authorize };
	struct sx_sasl_config sc = { 0 };
	const char *err;

	s2s->set = *set;
	if (s2s->set.check_queue <= 0)
		s2s->set.check_queue = 60;
	s2s->ops = ops;
	s2s->host = host;
	s2s->pairs = xhash_new();
	s2s->outs = xhash_new();
	list_init(&s2s->conns);
	list_init(&s2s->verifies);
	s2s->links = link_set_new(NULL, NULL);
	sc.mechs = SX_SASL_EXTERNAL;
	sc.cb = &scb;
	s2s->sasl_server = sx_sasl_ctx_new(&sc, &err);
	sc.cb = NULL;
	s2s->sasl_client = sx_sasl_ctx_new(&sc, &err);
	if (s2s->sasl_server == NULL || s2s->sasl_client == NULL)
		log_warnx("s2s: SASL EXTERNAL unavailable: %s", err);
	return s2s;
}

void s2s_free(struct s2s **s2sp)
{
	struct s2s *s2s = *s2sp;
	struct s2s_verify *v, *vtmp;

	if (s2s == NULL)
		return;
	*s2sp = NULL;
	LIST_FOREACH_SAFE(v, vtmp, &s2s->verifies, struct s2s_verify, link)
		s2s_verify_free(&v);
	xhash_clear(s2s->pairs, s2s_pair_destroy);
	while (!list_empty(&s2s->conns))
		s2s_conn_free(LIST_ENTRY(list_first(&s2s->conns), struct s2s_conn, link));
	link_set_free(&s2s->links);
	xhash_free(&s2s->pairs);
	xhash_free(&s2s->outs);
	sx_sasl_ctx_free(&s2s->sasl_server);
	sx_sasl_ctx_free(&s2s->sasl_client);
	free(s2s);
}

/* ---- introspection ---- */

const char *s2s_out_pair_state(struct s2s *s2s, const char *local, const char *remote)
{
	struct s2s_pair *p = s2s_pair_get(s2s, local, remote, 0);
	static const char *const names[] = { "pending", "pending", "valid", "invalid" };

	return p != NULL ? names[p->state] : NULL;
}

int s2s_in_pair_valid(struct s2s *s2s, const char *remote, const char *local)
{
	char *key = xasprintf("%s/%s", remote, local);
	struct s2s_conn *c;
	int found = 0;

	LIST_FOREACH(c, &s2s->conns, struct s2s_conn, link)
		if (c->incoming && c->valid != NULL && xhash_get(c->valid, key) != NULL)
			found = 1;
	free(key);
	return found;
}

size_t s2s_queue_len(struct s2s *s2s, const char *local, const char *remote)
{
	struct s2s_pair *p = s2s_pair_get(s2s, local, remote, 0);

	return p != NULL ? p->qlen : 0;
}

unsigned s2s_conn_count(struct s2s *s2s, int incoming)
{
	struct s2s_conn *c;
	unsigned n = 0;

	LIST_FOREACH(c, &s2s->conns, struct s2s_conn, link)
		if (c->incoming == incoming)
			n++;
	return n;
}

/* SASL EXTERNAL on an incoming stream (XEP-0178): the certificate must
 * name the domain the peer claims (authzid, else its header's from). */
static int s2s_sasl_authorize(struct sx *sx, const char *mech, const char *authcid,
			      const char *authzid, const char *realm)
{
	struct s2s_conn *c = link_sx_owner(sx);
	const char *claimed = authzid != NULL ? authzid : c->domain;

	if (claimed == NULL || !s2s_cert_names_match(sx_tls_peer_names(sx), claimed)) {
		log_notice("s2s: SASL EXTERNAL refused: certificate does not name %s",
			   claimed != NULL ? claimed : "(no domain)");
		return SX_SASL_FAIL;
	}
	free(c->domain);
	c->domain = xstrdup(claimed);
	return SX_SASL_OK;
}
