/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * conn.c: the router's component streams. Each accepted socket (mio) gets
 * a server-side sx stream with STARTTLS (when a pemfile is configured) and
 * SASL DIGEST-MD5 against router-users.xml in realm "jabberd-router"; after
 * authentication it becomes a component of the routing core (routes.c).
 * A header in the jabber:component:accept namespace makes it an XEP-0114
 * link instead, authenticated by <handshake/> with the router's secret.
 *
 * Output: sx tells us when its output goes from empty to non-empty; the
 * stream is then put on a list that a zero-delay timer flushes to mio once
 * the loop has finished the callback in progress, so everything routed to
 * a component while handling one read goes out in one write instead of
 * one per route. A stream that has ended is flushed and shut down (queue
 * written, then the socket closed) once the call that ended it returns.
 */
#include "config.h"
#include "router/router.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mio/mio.h"
#include "sx/sx.h"
#include "util/buf.h"
#include "util/hash.h"
#include "util/jid.h"
#include "util/log.h"
#include "util/nad.h"
#include "util/xhash.h"

/* Failed SASL attempts before the stream is closed. */
#define CONN_MAX_AUTH_FAILURES 3

/* Back-pressure: a component with this much output waiting (in sx and in
 * mio) is congested, and a component routing to it stops being read until
 * every component is below the low mark again. So a component that reads
 * slowly cannot make the router queue without limit. */
#define CONN_CONGESTED (1024 * 1024)
#define CONN_DECONGESTED (256 * 1024)
#define CONN_CONGESTION_CHECK_MS 20

struct router_conn {
	struct routerd *d;
	struct mio_conn *mc;
	struct sx *sx;
	struct router_comp *comp;       /* NULL until authenticated */
	char *legacy_name;              /* XEP-0114: the name asked for */
	char *user;                     /* who authenticated, for the log; the
					 * component may be gone before the
					 * socket closes */
	int auth_failures;
	int ended;                      /* sx is over: shut the socket down */
	time_t last_out;
	struct list_node link;          /* d->conns */
	struct list_node dirty;         /* d->dirty: output waiting in sx */
	struct list_node paused;        /* d->paused: not read (back-pressure) */
	struct router_conn *blocked_on; /* ... until this one catches up */
};

static size_t conn_backlog(const struct router_conn *c)
{
	return mio_conn_queued(c->mc) + sx_output_pending(c->sx);
}

/* Resume each held-back sender once the component it was routing to has
 * caught up (or gone). */
void routerd_congestion_check(struct mio_timer *t, void *ctx)
{
	struct routerd *d = ctx;
	struct router_conn *c, *tmp;

	LIST_FOREACH_SAFE(c, tmp, &d->paused, struct router_conn, paused) {
		if (c->blocked_on != NULL && conn_backlog(c->blocked_on) >= CONN_DECONGESTED)
			continue;
		list_remove(&c->paused);
		c->blocked_on = NULL;
		mio_conn_resume_read(c->mc);
	}
	if (list_empty(&d->paused))
		mio_timer_stop(d->congestion);
}

/* Something was just sent to `rx` on behalf of the stream being read. */
static void conn_check_pressure(struct router_conn *rx)
{
	struct routerd *d = rx->d;
	struct router_conn *tx = d->reading;

	if (tx == NULL || tx == rx || list_linked(&tx->paused) ||
	    conn_backlog(rx) < CONN_CONGESTED)
		return;
	mio_conn_pause_read(tx->mc);
	tx->blocked_on = rx;
	list_add_tail(&d->paused, &tx->paused);
	if (!mio_timer_pending(d->congestion))
		mio_timer_start(d->congestion, CONN_CONGESTION_CHECK_MS, 1);
}

/* Hand what sx has for the peer to mio. */
static void conn_write_out(struct router_conn *c)
{
	size_t len;
	const void *data = sx_output(c->sx, &len);

	list_remove(&c->dirty);
	if (len == 0)
		return;
	mio_conn_write(c->mc, data, len);
	sx_output_consumed(c->sx, len);
	c->last_out = time(NULL);
}

void routerd_flush(struct mio_timer *t, void *ctx)
{
	struct routerd *d = ctx;
	struct list_node *n;

	while ((n = list_first(&d->dirty)) != NULL)
		conn_write_out(LIST_ENTRY(n, struct router_conn, dirty));
}

/* Once the stream is over, the component leaves at once (its names are
 * unbound, the others told) and the socket is shut down after the queued
 * bytes are written. */
static void conn_flush_close(struct router_conn *c)
{
	if (!c->ended)
		return;
	router_comp_free(&c->comp);
	conn_write_out(c);
	if (!mio_conn_closing(c->mc))
		mio_conn_shutdown(c->mc, 5000);
}

/* ---- sx callbacks ---- */

static void conn_want_write(struct sx *sx, void *ctx)
{
	struct router_conn *c = ctx;

	if (list_linked(&c->dirty))
		return;
	list_add_tail(&c->d->dirty, &c->dirty);
	if (!mio_timer_pending(c->d->flush))
		mio_timer_start(c->d->flush, 0, 0);
}

static void conn_send(struct router_comp *comp, struct nad *nad)
{
	struct router_conn *c = comp->owner;

	sx_send(c->sx, nad);
	conn_check_pressure(c);
}

static void conn_open_legacy(struct router_conn *c, const struct sx_header *hdr)
{
	struct routerd *d = c->d;
	struct sx_header out = { .ns = SX_NS_COMPONENT_ACCEPT, .version = hdr->version };
	char name[JID_PART_MAX + 1];
	const char *error;

	out.from = hdr->to;
	sx_open(c->sx, &out);
	if (d->secret == NULL) {
		sx_error(c->sx, "invalid-namespace", NULL);
		return;
	}
	if (hdr->to == NULL || jid_nameprep(hdr->to, name, sizeof(name), &error) < 0 ||
	    xhash_get(d->r->aliases, name) != NULL) {
		sx_error(c->sx, "host-unknown", NULL);
		return;
	}
	c->legacy_name = xstrdup(name);
	if (hdr->version != NULL) {
		struct nad *f = nad_new();

		nad_elem_add_prefixed(f, NAD_NONE, SX_NS_STREAMS, "stream", "features");
		sx_send(c->sx, f);
	}
}

static void conn_stream_open(struct sx *sx, const struct sx_header *hdr, void *ctx)
{
	struct router_conn *c = ctx;
	struct sx_header out = { .to = hdr->from, .from = hdr->to, .version = hdr->version };

	if (hdr->ns != NULL && strcmp(hdr->ns, SX_NS_COMPONENT_ACCEPT) == 0 &&
	    !(sx_flags(sx) & SX_F_AUTHENTICATED) && !(sx_flags(sx) & SX_F_ENCRYPTED)) {
		conn_open_legacy(c, hdr);
		return;
	}
	sx_open(sx, &out);
	if (hdr->ns != NULL) {
		sx_error(sx, "invalid-namespace", NULL);
		return;
	}
	/* Features belong to XMPP 1.0 streams only. */
	if (hdr->version != NULL)
		sx_send(sx, sx_features_new(sx));
	if ((sx_flags(sx) & SX_F_AUTHENTICATED) && c->comp == NULL) {
		const struct sx_auth *auth = sx_auth(sx);
		char *user = xstrdup(auth != NULL && auth->authcid != NULL ? auth->authcid : "");

		user[strcspn(user, "@")] = '\0';
		c->comp = router_comp_new(c->d->r, user, 0, conn_send, c);
		log_info("router: conn %llu: component %s authenticated",
			 (unsigned long long)mio_conn_id(c->mc), user);
		c->user = user;
	}
}

static void conn_handshake(struct router_conn *c, struct nad *nad)
{
	const char *id = sx_id(c->sx);
	size_t len;
	const char *h = nad_text(nad, 0, &len);
	char *data = xasprintf("%s%s", id != NULL ? id : "", c->d->secret);
	char want[HASH_SHA1_HEX_SIZE], got[HASH_SHA1_HEX_SIZE];
	int ok;

	ok = hash_sha1_hex(data, strlen(data), want) == 0 && len == 40;
	free(data);
	if (ok) {
		memcpy(got, h, 40);
		got[40] = '\0';
		ok = hash_str_equal_ct(got, want);
	}
	nad_free(&nad);
	if (!ok) {
		log_notice("router: conn %llu: XEP-0114 handshake for %s failed",
			   (unsigned long long)mio_conn_id(c->mc), c->legacy_name);
		sx_error(c->sx, "not-authorized", NULL);
		return;
	}
	nad = nad_new();
	nad_elem_add(nad, NAD_NONE, SX_NS_COMPONENT_ACCEPT, "handshake");
	sx_send(c->sx, nad);
	c->comp = router_comp_new(c->d->r, c->legacy_name, 1, conn_send, c);
	c->user = xstrdup(c->legacy_name);
	log_info("router: conn %llu: XEP-0114 component %s connected",
		 (unsigned long long)mio_conn_id(c->mc), c->legacy_name);
	router_legacy_bind(c->comp, c->legacy_name);
}

static void conn_element(struct sx *sx, struct nad *nad, void *ctx)
{
	struct router_conn *c = ctx;

	if (c->legacy_name != NULL) {
		if (c->comp != NULL)
			router_legacy_stanza(c->comp, nad);
		else if (strcmp(nad_name(nad, 0), "handshake") == 0)
			conn_handshake(c, nad);
		else
			nad_free(&nad);
		return;
	}
	if (c->comp == NULL) {
		nad_free(&nad);
		return;
	}
	router_comp_element(c->comp, nad);
}

static void conn_closed(struct sx *sx, const char *condition, const char *text, void *ctx)
{
	struct router_conn *c = ctx;

	if (condition != NULL)
		log_notice("router: conn %llu: stream closed: %s%s%s",
			   (unsigned long long)mio_conn_id(c->mc), condition,
			   text != NULL ? ": " : "", text != NULL ? text : "");
	c->ended = 1;
}

static void conn_event(struct sx *sx, enum sx_event ev, const void *data, void *ctx)
{
	struct router_conn *c = ctx;

	if (ev != SX_EV_AUTH_FAIL)
		return;
	log_notice("router: conn %llu: SASL authentication failed (%s)",
		   (unsigned long long)mio_conn_id(c->mc), (const char *)data);
	if (++c->auth_failures >= CONN_MAX_AUTH_FAILURES)
		sx_error(sx, "not-authorized", NULL);
}

static const struct sx_callbacks conn_sx_cb = {
	.stream_open = conn_stream_open,
	.element = conn_element,
	.closed = conn_closed,
	.want_write = conn_want_write,
	.event = conn_event,
};

/* ---- mio callbacks ---- */

static void conn_on_read(struct mio_conn *mc, const void *data, size_t len, void *ctx)
{
	struct router_conn *c = ctx;

	c->d->reading = c;
	sx_input(c->sx, data, len);
	c->d->reading = NULL;
	conn_flush_close(c);
}

static void conn_on_close(struct mio_conn *mc, const char *reason, void *ctx)
{
	struct router_conn *c = ctx, *o;
	struct routerd *d = c->d;

	log_info("router: conn %llu (%s) closed%s%s",
		 (unsigned long long)mio_conn_id(mc),
		 c->user != NULL ? c->user : "unauthenticated",
		 reason != NULL ? ": " : "", reason != NULL ? reason : "");
	router_comp_free(&c->comp);
	sx_free(&c->sx);
	list_remove(&c->link);
	list_remove(&c->dirty);
	list_remove(&c->paused);
	LIST_FOREACH(o, &d->paused, struct router_conn, paused)
		if (o->blocked_on == c)
			o->blocked_on = NULL;
	free(c->legacy_name);
	free(c->user);
	free(c);
	if (d->shutting_down && !d->exiting && list_empty(&d->conns))
		mio_stop(d->mio);
}

static const struct mio_conn_callbacks conn_mio_cb = {
	.on_read = conn_on_read,
	.on_close = conn_on_close,
};

void routerd_accept(struct mio_listener *l, struct mio_conn *mc, const char *ip,
		    int port, void *ctx)
{
	struct routerd *d = ctx;
	struct router_conn *c = xcalloc(1, sizeof(*c));

	c->d = d;
	c->mc = mc;
	c->last_out = time(NULL);
	list_init(&c->dirty);
	list_init(&c->paused);
	c->sx = sx_new(SX_SERVER, &d->limits, &conn_sx_cb, c);
	if (d->tls != NULL)
		sx_tls_starttls(c->sx, d->tls, 0);
	sx_sasl_server(c->sx, d->sasl, "jabberd-router");
	/* Routes passed on unchanged go out as the bytes they came in as. */
	sx_keep_raw(c->sx, 1);
	list_add_tail(&d->conns, &c->link);
	mio_conn_setup(mc, &conn_mio_cb, c);
	mio_conn_set_read_limit(mc, &d->bytes);
	log_info("router: conn %llu from %s:%d", (unsigned long long)mio_conn_id(mc), ip, port);
}

/* Keepalives: a space to every stream that has been quiet that long. */
void routerd_keepalive(struct routerd *d, unsigned seconds)
{
	struct router_conn *c;
	time_t now = time(NULL);

	LIST_FOREACH(c, &d->conns, struct router_conn, link)
		if (c->comp != NULL && now - c->last_out >= (time_t)seconds)
			sx_send_raw(c->sx, " ", 1);
}

/* SIGTERM: close every stream cleanly (</stream:stream>, then the socket). */
void routerd_close_all(struct routerd *d)
{
	struct router_conn *c, *tmp;

	LIST_FOREACH_SAFE(c, tmp, &d->conns, struct router_conn, link) {
		sx_close(c->sx);
		c->ended = 1;
		conn_flush_close(c);
	}
}

/* ---- SASL against router-users.xml ---- */

static int conn_sasl_lookup(struct sx *sx, const char *mech, const char *hash,
			    const char *authcid, const char *realm,
			    struct sx_sasl_secret *secret)
{
	struct router_conn *c = sx_ctx(sx);
	const char *pw;

	if (c->d->users == NULL || authcid == NULL ||
	    (pw = xhash_get(c->d->users, authcid)) == NULL)
		return SX_SASL_FAIL;
	secret->password = xstrdup(pw);
	return SX_SASL_OK;
}

/* Components may name any authorization id; the router only uses the
 * authentication id (jabberd2's components send user@jabberd-router). */
static int conn_sasl_authorize(struct sx *sx, const char *mech, const char *authcid,
			       const char *authzid, const char *realm)
{
	return SX_SASL_OK;
}

int routerd_sasl_init(struct routerd *d, const char **error_r)
{
	static const struct sx_sasl_callbacks cb = {
		.lookup = conn_sasl_lookup,
		.authorize = conn_sasl_authorize,
	};
	struct sx_sasl_config cfg = {
		.mechs = SX_SASL_DIGEST_MD5,
		.allow_unencrypted = 1,
		.realm = "jabberd-router",
		.cb = &cb,
	};

	d->sasl = sx_sasl_ctx_new(&cfg, error_r);
	return d->sasl != NULL ? 0 : -1;
}
