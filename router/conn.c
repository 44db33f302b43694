/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * conn.c: the router's component streams. Each accepted socket (mio) gets
 * a server-side sx stream with STARTTLS (when a pemfile is configured) and
 * SASL DIGEST-MD5 against router-users.xml in realm "jabberd-router"; after
 * authentication it becomes a component of the routing core (routes.c).
 * A header in the jabber:component:accept namespace makes it an XEP-0114
 * link instead, authenticated by <handshake/> with the router's secret.
 *
 * The socket-to-stream glue (reading into sx, batched output, back-pressure
 * between components, idle trim, graceful close, reaping) is the link
 * layer's (link/link.h): routes reach a component through link_send() in
 * conn_send() below, and every element from a component arrives in
 * conn_element(). A stream that has ended leaves the routing core at once
 * (conn_ended) and its socket is shut down after its last bytes.
 */
#include "config.h"
#include "router/router.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "link/link.h"
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
 * it is below the low mark again. So a component that reads slowly cannot
 * make the router queue without limit. */
#define CONN_CONGESTED (1024 * 1024)
#define CONN_DECONGESTED (256 * 1024)

struct router_conn {
	struct routerd *d;
	struct link *link;
	struct sx *sx;                  /* link_sx(link) */
	struct router_comp *comp;       /* NULL until authenticated */
	char *legacy_name;              /* XEP-0114: the name asked for */
	char *user;                     /* who authenticated, for the log; the
					 * component may be gone before the
					 * socket closes */
	int auth_failures;
	struct list_node link_node;     /* d->conns */
};

void routerd_links_init(struct routerd *d)
{
	struct link_set_config cfg = {
		.trim_ms = ROUTERD_TRIM_MS,
		.high_mark = CONN_CONGESTED,
		.low_mark = CONN_DECONGESTED,
		.daemon_peers = 1,      /* components hold us back too */
	};

	d->links = link_set_new(d->mio, &cfg);
}

static unsigned long long conn_id(const struct router_conn *c)
{
	return (unsigned long long)link_id(c->link);
}

/* ---- sx callbacks ---- */

/* Bytes out: a route for this component. */
static void conn_send(struct router_comp *comp, struct nad *nad)
{
	struct router_conn *c = comp->owner;

	link_send(c->link, nad);
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
			 conn_id(c), user);
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
			   conn_id(c), c->legacy_name);
		sx_error(c->sx, "not-authorized", NULL);
		return;
	}
	nad = nad_new();
	nad_elem_add(nad, NAD_NONE, SX_NS_COMPONENT_ACCEPT, "handshake");
	sx_send(c->sx, nad);
	c->comp = router_comp_new(c->d->r, c->legacy_name, 1, conn_send, c);
	c->user = xstrdup(c->legacy_name);
	log_info("router: conn %llu: XEP-0114 component %s connected",
		 conn_id(c), c->legacy_name);
	router_legacy_bind(c->comp, c->legacy_name);
}

/* Elements in: everything a component sends. */
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
			   conn_id(c), condition,
			   text != NULL ? ": " : "", text != NULL ? text : "");
}

/* Once the stream is over, the component leaves at once (its names are
 * unbound, the others told), before the socket is shut down. */
static void conn_ended(struct link *link, void *ctx)
{
	struct router_conn *c = ctx;

	router_comp_free(&c->comp);
}

static void conn_event(struct sx *sx, enum sx_event ev, const void *data, void *ctx)
{
	struct router_conn *c = ctx;

	if (ev != SX_EV_AUTH_FAIL)
		return;
	log_notice("router: conn %llu: SASL authentication failed (%s)",
		   conn_id(c), (const char *)data);
	if (++c->auth_failures >= CONN_MAX_AUTH_FAILURES)
		sx_error(sx, "not-authorized", NULL);
}

static void conn_gone(struct link *link, const char *reason, void *ctx)
{
	struct router_conn *c = ctx;
	struct routerd *d = c->d;

	log_info("router: conn %llu (%s) closed%s%s", conn_id(c),
		 c->user != NULL ? c->user : "unauthenticated",
		 reason != NULL ? ": " : "", reason != NULL ? reason : "");
	router_comp_free(&c->comp);
	list_remove(&c->link_node);
	free(c->legacy_name);
	free(c->user);
	free(c);
	if (d->shutting_down && !d->exiting && list_empty(&d->conns))
		mio_stop(d->mio);
}

static const struct link_callbacks conn_link_cb = {
	.stream_open = conn_stream_open,
	.element = conn_element,
	.closed = conn_closed,
	.ended = conn_ended,
	.event = conn_event,
	.gone = conn_gone,
};

void routerd_accept(struct mio_listener *l, struct mio_conn *mc, const char *ip,
		    int port, void *ctx)
{
	struct routerd *d = ctx;
	struct router_conn *c = xcalloc(1, sizeof(*c));

	c->d = d;
	c->link = link_new(d->links, mc, SX_SERVER, &d->limits, &conn_link_cb, c);
	c->sx = link_sx(c->link);
	if (d->tls != NULL)
		sx_tls_starttls(c->sx, d->tls, 0);
	sx_sasl_server(c->sx, d->sasl, "jabberd-router");
	/* Routes passed on unchanged go out as the bytes they came in as. */
	sx_keep_raw(c->sx, 1);
	list_add_tail(&d->conns, &c->link_node);
	mio_conn_set_read_limit(mc, &d->bytes);
	log_info("router: conn %llu from %s:%d", conn_id(c), ip, port);
}

/* Keepalives: a space to every stream that has been quiet that long. */
void routerd_keepalive(struct routerd *d, unsigned seconds)
{
	struct router_conn *c;
	time_t now = time(NULL);

	LIST_FOREACH(c, &d->conns, struct router_conn, link_node)
		if (c->comp != NULL && now - link_last_write(c->link) >= (time_t)seconds)
			link_send_raw(c->link, " ", 1);
}

/* SIGTERM: close every stream cleanly (</stream:stream>, then the socket). */
void routerd_close_all(struct routerd *d)
{
	struct router_conn *c, *tmp;

	LIST_FOREACH_SAFE(c, tmp, &d->conns, struct router_conn, link_node)
		link_close(c->link);
}

/* ---- SASL against router-users.xml ---- */

static int conn_sasl_lookup(struct sx *sx, const char *mech, const char *hash,
			    const char *authcid, const char *realm,
			    struct sx_sasl_secret *secret)
{
	struct router_conn *c = link_sx_owner(sx);
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

/* For router_mod_congested(): a component's output over the mark. */
int routerd_comp_congested(const struct router_comp *comp)
{
	const struct router_conn *c = comp->owner;

	return c != NULL && link_backlog(c->link) >= CONN_CONGESTED;
}
