/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sm198.c: XEP-0198 stream management on client streams.
 *
 * Acks: after <enable/> every stanza the client sends is counted (h_in),
 * and every stanza sent to it is counted and kept (smq.c) until an <a h=/>
 * covers it. We ask with <r/> when a stanza goes out and no request is
 * outstanding, so there is at most one <r/> per <a/>.
 *
 * Resumption (where configured and asked for): when the connection dies
 * under an active session, the session is "parked": it stays open at the
 * sm under the same sc:c2s id, and what the sm sends for it joins the
 * queue. A new stream of the same user may take it over with <resume/>
 * before binding: it adopts the parked id, gets the unacknowledged
 * stanzas again and goes on where the old stream stopped. The resumption
 * id is 40 random characters ([0-9a-z], about 206 bits) and is only
 * accepted from the same user on the same domain.
 *
 * Nothing is lost when a session with acks ends without being resumed
 * (clean close, stream error, expiry, queue overflow): iq get/set still
 * waiting get a service-unavailable error from the session, the session
 * is ended at the sm, and the messages then go back to the sm as stanzas
 * from outside, so it delivers them to another resource or stores them
 * offline (or bounces them, by its own rules: RFC 6121 8.5.3.2.1).
 * Presence and iq results are dropped (RFC 6121 allows it).
 */
#include "config.h"
#include "c2s/c2s.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comp/comp.h"
#include "util/buf.h"
#include "util/hash.h"
#include "util/log.h"
#include "util/nad.h"
#include "util/xhash.h"

#define SM_ID_LEN 40

/* A session whose connection died, kept for resumption. */
struct c2s_parked {
	struct c2s *c2s;
	char cid[24];                   /* the sc:c2s id the sm knows */
	char *user, *domain, *jid, *sm_id, *sm_name;
	struct c2s_sm *sm;
	struct mio_timer *timer;
	int orphaned;                   /* the router link was lost since */
};


/* ---- resumable streams still connected: "l:<id>" -> c2s_conn ---- */

static char *live_key(const struct c2s_sm *sm)
{
	return xasprintf("l:%s", sm->id);
}

static void live_forget(struct c2s_conn *c)
{
	char *k;

	if (c->sm == NULL || !c->sm->resume || c->c2s->parked == NULL)
		return;
	k = live_key(c->sm);
	if (xhash_get(c->c2s->parked, k) == c)
		xhash_remove(c->c2s->parked, k);
	free(k);
}

/* ---- small builders ---- */

static struct nad *sm_elem(const char *name, int *e_r)
{
	struct nad *nad = nad_new();

	*e_r = nad_elem_add(nad, NAD_NONE, C2S_NS_SM, name);
	return nad;
}

static void send_failed(struct c2s_conn *c, const char *condition)
{
	int f;
	struct nad *nad = sm_elem("failed", &f);

	nad_elem_add(nad, f, SX_NS_STANZA_ERRORS, condition);
	sx_send(c->sx, nad);
}

static void send_r(struct c2s_conn *c)
{
	int e;

	c->sm->r_pending = 1;
	sx_send(c->sx, sm_elem("r", &e));
}

static int stanza_name(const struct nad *nad)
{
	const char *name = nad_name(nad, 0);

	return strcmp(name, "message") == 0 || strcmp(name, "presence") == 0 ||
	       strcmp(name, "iq") == 0;
}

static void sm_free(struct c2s_sm **smp)
{
	if (*smp == NULL)
		return;
	c2s_smq_free(&(*smp)->q);
	free(*smp);
	*smp = NULL;
}

void c2s_sm_conn_free(struct c2s_conn *c)
{
	live_forget(c);
	sm_free(&c->sm);
}

static int queue_full(const struct c2s *c2s, const struct c2s_sm *sm)
{
	return sm->q.len > (size_t)c2s->o.sm_queue ||
	       sm->q.bytes > (size_t)c2s->o.sm_queue_bytes;
}

/* ---- output ---- */

void c2s_send(struct c2s_conn *c, struct nad *nad)
{
	struct c2s_sm *sm = c->sm;

	if (sm == NULL || !sm->enabled || c->ended || !stanza_name(nad)) {
		sx_send(c->sx, nad);
		return;
	}
	c2s_smq_push(&sm->q, nad_copy(nad));
	sx_send(c->sx, nad);
	if (queue_full(c->c2s, sm)) {
		/* The client reads but does not acknowledge: the queue would
		 * grow without end. Everything queued goes back to the sm. */
		log_notice("c2s: conn %s: %zu stanzas unacknowledged; closing", c->id,
			   sm->q.len);
		c2s_conn_error(c, "resource-constraint", "too many unacknowledged stanzas");
		return;
	}
	if (!sm->r_pending)
		send_r(c);
}

/* ---- handing the queue back when a session ends ---- */

/* Route `payload` (a copy is grafted) to `to`, optionally as a stanza of
 * the session cid/sm_id. */
static void route_out(struct c2s *c2s, const char *to, const struct nad *payload,
		      const char *cid, const char *sm_id)
{
	struct nad *route;
	int s;

	if (c2s->comp == NULL)
		return;
	route = comp_route_new(to, c2s->o.id, NULL);
	s = nad_graft(route, 0, payload, 0);
	if (cid != NULL) {
		nad_attr_set_prefixed(route, s, C2S_NS_SESSION, "sc", "c2s", cid);
		nad_attr_set_prefixed(route, s, C2S_NS_SESSION, "sc", "sm", sm_id);
	}
	comp_send(c2s->comp, route);
}

static const char *type_of(const struct nad *nad)
{
	const char *t = nad_attr(nad, 0, NULL, "type");

	return t != NULL ? t : "";
}

/* The error an iq get/set gets from a session that went away. */
static struct nad *iq_gone(const struct nad *iq)
{
	struct nad *r = nad_new();
	const char *v;
	int e = nad_elem_add(r, NAD_NONE, SX_NS_CLIENT, "iq"), err;

	nad_attr_set(r, e, NULL, "type", "error");
	if ((v = nad_attr(iq, 0, NULL, "id")) != NULL)
		nad_attr_set(r, e, NULL, "id", v);
	if ((v = nad_attr(iq, 0, NULL, "from")) != NULL)
		nad_attr_set(r, e, NULL, "to", v);
	if ((v = nad_attr(iq, 0, NULL, "to")) != NULL)
		nad_attr_set(r, e, NULL, "from", v);
	err = nad_elem_add(r, e, SX_NS_CLIENT, "error");
	nad_attr_set(r, err, NULL, "type", "cancel");
	nad_elem_add(r, err, SX_NS_STANZA_ERRORS, "service-unavailable");
	return r;
}

/* Answer the iq requests still in the queue, from the session while it
 * lives at the sm (live: cid and sm_id given), else from outside. */
static void answer_iqs(struct c2s *c2s, const struct c2s_smq *q, const char *domain,
		       const char *sm_name, const char *cid, const char *sm_id)
{
	for (size_t i = 0; i < q->len; i++) {
		const struct nad *nad = c2s_smq_at(q, i);
		const char *t = type_of(nad);
		struct nad *r;

		if (strcmp(nad_name(nad, 0), "iq") != 0 ||
		    (strcmp(t, "get") != 0 && strcmp(t, "set") != 0) ||
		    nad_attr(nad, 0, NULL, "from") == NULL)
			continue;
		r = iq_gone(nad);
		if (cid != NULL)
			route_out(c2s, sm_name, r, cid, sm_id);
		else
			route_out(c2s, domain, r, NULL, NULL);
		nad_free(&r);
	}
}

/* After the session ended at the sm: messages go back to it from outside
 * (to the full JID, whose resource is gone: the sm applies RFC 6121). */
static size_t return_messages(struct c2s *c2s, struct c2s_smq *q, const char *domain)
{
	struct nad *nad;
	size_t n = 0;

	while ((nad = c2s_smq_shift(q)) != NULL) {
		if (strcmp(nad_name(nad, 0), "message") == 0 &&
		    strcmp(type_of(nad), "error") != 0) {
			route_out(c2s, domain, nad, NULL, NULL);
			n++;
		}
		nad_free(&nad);
	}
	return n;
}

/* ---- parked sessions ---- */

static void parked_free(struct c2s_parked *p)
{
	free(p->user);
	free(p->domain);
	free(p->jid);
	free(p->sm_id);
	free(p->sm_name);
	sm_free(&p->sm);
	mio_timer_free(&p->timer);
	free(p);
}

static void parked_unlink(struct c2s_parked *p)
{
	char *k = xasprintf("c:%s", p->cid);

	xhash_remove(p->c2s->parked, k);
	free(k);
	k = xasprintf("r:%s", p->sm->id);
	xhash_remove(p->c2s->parked, k);
	free(k);
	p->c2s->nparked--;
}

static struct c2s_parked *parked_by(struct c2s *c2s, const char *kind, const char *key)
{
	char *k = xasprintf("%s:%s", kind, key);
	struct c2s_parked *p = xhash_get(c2s->parked, k);

	free(k);
	return p;
}

/* End a parked session: at the sm too unless `sm_ended` (it told us). */
static void parked_end(struct c2s_parked *p, int sm_ended, const char *why)
{
	struct c2s *c2s = p->c2s;
	size_t n;

	parked_unlink(p);
	if (!sm_ended) {
		answer_iqs(c2s, &p->sm->q, p->domain, p->sm_name, p->cid, p->sm_id);
		if (c2s->comp != NULL)
			comp_send(c2s->comp, c2s_sess_control(p->sm_name, c2s->o.id, p->cid,
							      p->sm_id, "end"));
	} else {
		answer_iqs(c2s, &p->sm->q, p->domain, NULL, NULL, NULL);
	}
	n = return_messages(c2s, &p->sm->q, p->domain);
	log_info("c2s: session %s (conn %s) not resumed: %s; %zu message%s back to the sm",
		 p->jid, p->cid, why, n, n == 1 ? "" : "s");
	parked_free(p);
}

static void parked_expired(struct mio_timer *t, void *ctx)
{
	parked_end(ctx, 0, "resumption timed out");
}

/* Keep c's session for resumption; c forgets it. */
static void park(struct c2s_conn *c)
{
	struct c2s *c2s = c->c2s;
	struct c2s_parked *p = xcalloc(1, sizeof(*p));
	char *k;

	p->c2s = c2s;
	snprintf(p->cid, sizeof(p->cid), "%s", c->id);
	p->user = xstrdup(c->user);
	p->domain = xstrdup(c->domain);
	p->jid = xstrdup(c->jid);
	p->sm_id = xstrdup(c->sm_id);
	p->sm_name = xstrdup(c->sm_name);
	live_forget(c);
	/* Stanzas for this id now go to the parked session, even while the
	 * old stream still flushes its last bytes. */
	if (xhash_get(c2s->conns, c->id) == c)
		xhash_remove(c2s->conns, c->id);
	p->sm = c->sm;
	c->sm = NULL;
	p->sm->r_pending = 0;
	c->state = C2S_CONNECTED;
	k = xasprintf("c:%s", p->cid);
	xhash_put(c2s->parked, k, p);
	free(k);
	k = xasprintf("r:%s", p->sm->id);
	xhash_put(c2s->parked, k, p);
	free(k);
	c2s->nparked++;
	p->timer = mio_timer_new(c2s->mio, parked_expired, p);
	mio_timer_start(p->timer, 1000u * p->sm->timeout, 0);
	log_info("c2s: conn %s: session of %s kept %u s for resumption (%zu unacknowledged)",
		 p->cid, p->jid, p->sm->timeout, p->sm->q.len);
}

int c2s_sm_parked_deliver(struct c2s *c2s, const char *cid, const char *sm_id,
			  const struct nad *route, int payload)
{
	struct c2s_parked *p = cid != NULL ? parked_by(c2s, "c", cid) : NULL;
	struct nad *nad;

	if (p == NULL || sm_id == NULL || strcmp(sm_id, p->sm_id) != 0)
		return 0;
	nad = nad_extract(route, payload);
	nad_attr_set(nad, 0, C2S_NS_SESSION, "c2s", NULL);
	nad_attr_set(nad, 0, C2S_NS_SESSION, "sm", NULL);
	if (stanza_name(nad))
		c2s_smq_push(&p->sm->q, nad);
	else
		nad_free(&nad);
	if (queue_full(c2s, p->sm))
		parked_end(p, 0, "too many stanzas waiting");
	return 1;
}

int c2s_sm_parked_ended(struct c2s *c2s, const char *cid, const char *sm_id)
{
	struct c2s_parked *p = cid != NULL ? parked_by(c2s, "c", cid) : NULL;

	if (p == NULL || sm_id == NULL || strcmp(sm_id, p->sm_id) != 0)
		return 0;
	parked_end(p, 1, "ended by the sm");
	return 1;
}

/* Every parked session, in an array (the caller frees it). */
static struct c2s_parked **parked_all(struct c2s *c2s, size_t *n_r)
{
	struct c2s_parked **v = xcalloc(c2s->nparked + 1, sizeof(*v));
	struct xhash_iter it;
	const char *key;
	void *val;
	size_t n = 0;

	xhash_iter_init(c2s->parked, &it);
	while (xhash_iter_next(&it, &key, &val))
		if (key[0] == 'c' && n < c2s->nparked)
			v[n++] = val;
	*n_r = n;
	return v;
}

void c2s_sm_shutdown(struct c2s *c2s)
{
	size_t n;
	struct c2s_parked **v = parked_all(c2s, &n);

	for (size_t i = 0; i < n; i++)
		parked_end(v[i], 0, "shutting down");
	free(v);
}

int c2s_sm_parked_orphan(struct c2s *c2s, const char *name)
{
	size_t n, i;
	struct c2s_parked **v;
	int marked = 0;

	if (c2s->parked == NULL)
		return 0;
	v = parked_all(c2s, &n);
	for (i = 0; i < n; i++) {
		struct c2s_parked *p = v[i];

		if (p->orphaned || (name != NULL &&
				    !(p->domain != NULL && strcmp(p->domain, name) == 0) &&
				    !(p->sm_name != NULL && strcmp(p->sm_name, name) == 0)))
			continue;
		p->orphaned = 1;
		marked++;
	}
	free(v);
	return marked;
}

void c2s_sm_parked_orphans_end(struct c2s *c2s, const char *name)
{
	size_t n, i;
	struct c2s_parked **v;

	if (c2s->parked == NULL)
		return;
	v = parked_all(c2s, &n);
	/* The sm has no such session any more: nothing to end there; the
	 * unacknowledged messages go back to the domain, once it is served
	 * (with <router_id> it stayed served: then once that sm is back). */
	for (i = 0; i < n; i++) {
		struct c2s_parked *p = v[i];

		if (!p->orphaned || p->domain == NULL)
			continue;
		if (strcmp(p->domain, name) == 0 ||
		    (p->sm_name != NULL && strcmp(p->sm_name, name) == 0 &&
		     c2s->comp != NULL && comp_name_available(c2s->comp, p->domain)))
			parked_end(p, 1, "its sm went away");
	}
	free(v);
}

void c2s_sm_free_all(struct c2s *c2s)
{
	size_t n;
	struct c2s_parked **v;

	if (c2s->parked == NULL)
		return;
	v = parked_all(c2s, &n);
	for (size_t i = 0; i < n; i++) {
		parked_unlink(v[i]);
		parked_free(v[i]);
	}
	free(v);
	xhash_free(&c2s->parked);
}

/* ---- the end of a connection ---- */

void c2s_sm_conn_gone(struct c2s_conn *c, int broken)
{
	struct c2s *c2s = c->c2s;
	struct c2s_sm *sm = c->sm;
	size_t n;

	if (sm == NULL || !sm->enabled) {
		c2s_sess_end(c);
		return;
	}
	if (c->state != C2S_ACTIVE) {
		/* The sm ended or replaced the session first: what the client
		 * did not acknowledge still goes back (to the new session of
		 * the same resource, if that is why). */
		answer_iqs(c2s, &sm->q, c->domain, NULL, NULL, NULL);
		n = return_messages(c2s, &sm->q, c->domain);
		if (n > 0)
			log_info("c2s: conn %s: %zu unacknowledged message%s back to the sm",
				 c->id, n, n == 1 ? "" : "s");
		return;
	}
	if ((broken || sm->takeover) && sm->resume && !c2s->shutting_down && c2s->comp != NULL) {
		if (c2s->nparked < (size_t)c2s->o.sm_max_parked) {
			park(c);
			return;
		}
		log_notice("c2s: conn %s: %d sessions already wait for resumption; "
			   "ending this one", c->id, c2s->o.sm_max_parked);
	}
	live_forget(c);
	answer_iqs(c2s, &sm->q, c->domain, c->sm_name, c->id, c->sm_id);
	c2s_sess_end(c);
	n = return_messages(c2s, &sm->q, c->domain);
	if (n > 0)
		log_info("c2s: conn %s: %zu unacknowledged message%s back to the sm", c->id,
			 n, n == 1 ? "" : "s");
}

/* ---- client elements ---- */

static void do_enable(struct c2s_conn *c, const struct nad *nad)
{
	const struct c2s_opts *o = &c->c2s->o;
	const char *res = nad_attr(nad, 0, NULL, "resume");
	const char *max = nad_attr(nad, 0, NULL, "max");
	struct c2s_sm *sm;
	uint32_t want;
	char buf[16];
	int e;
	struct nad *r;

	if (c->state != C2S_ACTIVE || (c->sm != NULL && c->sm->enabled)) {
		send_failed(c, "unexpected-request");
		return;
	}
	sm = c->sm = xcalloc(1, sizeof(*sm));
	c2s_smq_init(&sm->q);
	sm->enabled = 1;
	/* An ANONYMOUS user cannot come back (a new login is a new user),
	 * so its session is never kept for resumption. */
	sm->resume = o->sm_resume > 0 && res != NULL && !c->anonymous &&
		     (strcmp(res, "true") == 0 || strcmp(res, "1") == 0);
	sm->timeout = (unsigned)o->sm_resume;
	/* The client may ask for less time, never more. */
	if (max != NULL && c2s_smq_parse_h(max, &want) == 0 && want > 0 && want < sm->timeout)
		sm->timeout = want;
	r = sm_elem("enabled", &e);
	if (sm->resume) {
		char *k;

		hash_random_id(sm->id, SM_ID_LEN);
		k = live_key(sm);
		xhash_put(c->c2s->parked, k, c);
		free(k);
		nad_attr_set(r, e, NULL, "id", sm->id);
		nad_attr_set(r, e, NULL, "resume", "true");
		snprintf(buf, sizeof(buf), "%u", sm->timeout);
		nad_attr_set(r, e, NULL, "max", buf);
	}
	sx_send(c->sx, r);
	log_info("c2s: conn %s: stream management on%s", c->id,
		 sm->resume ? " with resumption" : "");
}

static void do_ack(struct c2s_conn *c, const struct nad *nad)
{
	struct c2s_sm *sm = c->sm;
	uint32_t h;
	char text[96];

	if (c2s_smq_parse_h(nad_attr(nad, 0, NULL, "h"), &h) < 0) {
		c2s_conn_error(c, "bad-format", "<a/> needs a 32-bit h");
		return;
	}
	if (c2s_smq_ack(&sm->q, h) < 0) {
		snprintf(text, sizeof(text), "handled-count-too-high: h=%u, sent %u",
			 (unsigned)h, (unsigned)sm->q.sent);
		c2s_conn_error(c, "undefined-condition", text);
		return;
	}
	sm->r_pending = 0;
	if (sm->q.len > 0)
		send_r(c);
}

static void send_a(struct c2s_conn *c)
{
	char buf[16];
	int e;
	struct nad *r = sm_elem("a", &e);

	snprintf(buf, sizeof(buf), "%u", (unsigned)c->sm->h_in);
	nad_attr_set(r, e, NULL, "h", buf);
	sx_send(c->sx, r);
}

/*
 * The old stream of a session may still look alive (its peer moved on
 * without a FIN): a resume from the same user closes it with conflict
 * and parks its session, which the caller then takes.
 */
static void take_over(struct c2s_conn *c, const char *previd)
{
	char *k = xasprintf("l:%s", previd);
	struct c2s_conn *old = xhash_get(c->c2s->parked, k);

	free(k);
	if (old == NULL || old == c || old->ended || old->sm == NULL ||
	    strcmp(old->user, c->user) != 0 || strcmp(old->domain, c->domain) != 0)
		return;
	log_info("c2s: conn %s: resumed on conn %s; closing the old stream", old->id, c->id);
	old->sm->takeover = 1;
	c2s_conn_error(old, "conflict", "the session was resumed on another stream");
}

/* Take over a parked session. */
static void do_resume(struct c2s_conn *c, const struct nad *nad)
{
	struct c2s *c2s = c->c2s;
	const char *previd = nad_attr(nad, 0, NULL, "previd");
	struct c2s_parked *p;
	uint32_t h;
	char buf[16], *k;
	int e;
	struct nad *r;

	if (c->state != C2S_AUTHED || c->req_id != NULL) {
		send_failed(c, "unexpected-request");
		return;
	}
	if (c2s_smq_parse_h(nad_attr(nad, 0, NULL, "h"), &h) < 0) {
		send_failed(c, "bad-request");
		return;
	}
	if (previd != NULL && strlen(previd) == SM_ID_LEN && parked_by(c2s, "r", previd) == NULL)
		take_over(c, previd);
	p = previd != NULL && strlen(previd) == SM_ID_LEN ? parked_by(c2s, "r", previd) : NULL;
	/* Another user's id reads like an unknown one, and so does the id of
	 * a session its sm has ended (an orphan). */
	if (p == NULL || p->orphaned || strcmp(p->user, c->user) != 0 ||
	    strcmp(p->domain, c->domain) != 0) {
		log_info("c2s: conn %s: resumption refused: no such session of %s", c->id,
			 c->user);
		send_failed(c, "item-not-found");
		return;
	}
	if (c2s_smq_ack(&p->sm->q, h) < 0) {
		send_failed(c, "unexpected-request");
		parked_end(p, 0, "the client acknowledged more than was sent");
		return;
	}
	parked_unlink(p);
	/* The new stream becomes the old one: same sc:c2s id at the sm. */
	xhash_remove(c2s->conns, c->id);
	snprintf(c->id, sizeof(c->id), "%s", p->cid);
	xhash_put(c2s->conns, c->id, c);
	free(c->jid);
	c->jid = p->jid;
	c->sm_id = p->sm_id;
	c->sm_name = p->sm_name;
	p->jid = p->sm_id = p->sm_name = NULL;
	sm_free(&c->sm);
	c->sm = p->sm;
	p->sm = NULL;
	c->state = C2S_ACTIVE;
	parked_free(p);
	k = live_key(c->sm);
	xhash_put(c2s->parked, k, c);
	free(k);

	r = sm_elem("resumed", &e);
	nad_attr_set(r, e, NULL, "previd", c->sm->id);
	snprintf(buf, sizeof(buf), "%u", (unsigned)c->sm->h_in);
	nad_attr_set(r, e, NULL, "h", buf);
	sx_send(c->sx, r);
	/* What the client has not acknowledged, again, in order: the queue
	 * keeps them with the same numbers. */
	for (size_t i = 0; i < c->sm->q.len; i++)
		sx_send(c->sx, nad_copy(c2s_smq_at(&c->sm->q, i)));
	if (c->sm->q.len > 0)
		send_r(c);
	log_notice("c2s: conn %s: session of %s resumed, %zu stanza%s sent again", c->id,
		   c->jid, c->sm->q.len, c->sm->q.len == 1 ? "" : "s");
}

void c2s_sm_element(struct c2s_conn *c, struct nad *nad)
{
	const char *name = nad_name(nad, 0);
	int on = c->sm != NULL && c->sm->enabled;

	if (!c->c2s->o.sm_enable) {
		c2s_conn_error(c, "unsupported-stanza-type", "stream management is off");
	} else if (strcmp(name, "enable") == 0) {
		do_enable(c, nad);
	} else if (strcmp(name, "resume") == 0) {
		do_resume(c, nad);
	} else if (strcmp(name, "r") == 0 && on) {
		send_a(c);
	} else if (strcmp(name, "a") == 0 && on) {
		do_ack(c, nad);
	} else if (strcmp(name, "r") == 0 || strcmp(name, "a") == 0) {
		c2s_conn_error(c, "unsupported-stanza-type", "stream management is not enabled");
	} else {
		c2s_conn_error(c, "unsupported-stanza-type", NULL);
	}
	nad_free(&nad);
}

void c2s_sm_count_in(struct c2s_conn *c)
{
	if (c->sm != NULL && c->sm->enabled)
		c->sm->h_in++;  /* uint32_t: wraps at 2^32 */
}

void c2s_sm_features(struct c2s_conn *c, struct nad *features)
{
	if (c->c2s->o.sm_enable && c->state == C2S_AUTHED)
		nad_elem_add(features, 0, C2S_NS_SM, "sm");
}
