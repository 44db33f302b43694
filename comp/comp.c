/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * comp.c: the component link to the router (see comp.h): connecting and
 * retrying with mio, the sx client stream with STARTTLS and DIGEST-MD5,
 * binds and their replies, advertisements, and sending. Building routes is
 * in comp_route.c.
 *
 * The socket-to-stream glue is the link layer's (link/link.h): output
 * leaves in one write per turn of the loop, a stream that ends writes its
 * last bytes before the socket is shut down, and a link quiet for a whole
 * COMP_TRIM_MS sweep gives back its parser and TLS buffers.
 */
#include "config.h"
#include "comp/comp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "link/link.h"
#include "mio/mio.h"
#include "sx/sx.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/nad.h"
#include "util/xhash.h"

/* Idle trim period of the router link, and the time its graceful close
 * may take. */
#define COMP_TRIM_MS 2000
#define COMP_CLOSE_MS 2000

/* A name registered with comp_bind(). */
struct comp_bind {
	char *name;
	char *multi;
	unsigned flags;
};

struct comp {
	struct mio *mio;
	struct comp_settings set;       /* strings owned (copies) */
	struct comp_callbacks cb;
	void *ctx;
	struct sx_tls_ctx *tls;
	struct sx_sasl_ctx *sasl;
	char hostname[256];

	struct mio_connector *connector;
	struct link_set *links;         /* of one link: flush, trim */
	struct link *link;              /* NULL while not connected */
	struct sx *sx;                  /* link_sx(link) */
	struct mio_timer *retry;
	int attempts_left;              /* -1 = for ever */
	int open;                       /* authenticated, second header seen */
	int closing;                    /* comp_close(): no reconnect */
	char reason[256];               /* why the stream ended, for the log */

	struct comp_bind *binds;
	size_t nbinds;
	char **pending;                 /* names awaiting a bind reply, FIFO */
	size_t npending;
	struct xhash *avail;            /* names the router advertises */
};

static void comp_attempt(struct comp *comp);

static const char *comp_ident(const struct comp *comp)
{
	return comp->set.ident != NULL ? comp->set.ident : "comp";
}

/* ---- binds ---- */

static void comp_pending_clear(struct comp *comp)
{
	size_t i;

	for (i = 0; i < comp->npending; i++)
		free(comp->pending[i]);
	free(comp->pending);
	comp->pending = NULL;
	comp->npending = 0;
}

static void comp_send_bind(struct comp *comp, const struct comp_bind *b)
{
	struct nad *nad = nad_new();
	int root = nad_elem_add(nad, NAD_NONE, COMP_NS, "bind");

	nad_attr_set(nad, root, NULL, "name", b->name);
	if (b->multi != NULL)
		nad_attr_set(nad, root, NULL, "multi", b->multi);
	if (b->flags & COMP_BIND_DEFAULT)
		nad_elem_add(nad, root, COMP_NS, "default");
	if (b->flags & COMP_BIND_LOG)
		nad_elem_add(nad, root, COMP_NS, "log");
	comp->pending = xrealloc(comp->pending, (comp->npending + 1) * sizeof(*comp->pending));
	comp->pending[comp->npending++] = xstrdup(b->name);
	log_debug("%s: binding '%s'%s%s", comp_ident(comp), b->name,
		  b->multi != NULL ? " multi=" : "", b->multi != NULL ? b->multi : "");
	sx_send(comp->sx, nad);
}

void comp_bind(struct comp *comp, const char *name, const char *multi, unsigned flags)
{
	struct comp_bind *b = NULL;
	size_t i;

	for (i = 0; i < comp->nbinds; i++)
		if (strcmp(comp->binds[i].name, name) == 0)
			b = &comp->binds[i];
	if (b == NULL) {
		comp->binds = xrealloc(comp->binds, (comp->nbinds + 1) * sizeof(*comp->binds));
		b = &comp->binds[comp->nbinds++];
		b->name = xstrdup(name);
		b->multi = NULL;
	}
	free(b->multi);
	b->multi = xstrdup_opt(multi);
	b->flags = flags;
	if (comp->open)
		comp_send_bind(comp, b);
}

void comp_unbind(struct comp *comp, const char *name)
{
	struct nad *nad;
	size_t i;

	for (i = 0; i < comp->nbinds; i++) {
		if (strcmp(comp->binds[i].name, name) != 0)
			continue;
		free(comp->binds[i].name);
		free(comp->binds[i].multi);
		comp->binds[i] = comp->binds[--comp->nbinds];
		break;
	}
	if (!comp->open)
		return;
	nad = nad_new();
	nad_attr_set(nad, nad_elem_add(nad, NAD_NONE, COMP_NS, "unbind"), NULL, "name", name);
	sx_send(comp->sx, nad);
}

/* The router answered the oldest bind we have not heard back about. */
static void comp_bind_reply(struct comp *comp, struct nad *nad)
{
	const char *err = nad_attr(nad, 0, NULL, "error");
	char *name = NULL;
	int code = 0;

	if (comp->npending > 0) {
		name = comp->pending[0];
		memmove(comp->pending, comp->pending + 1,
			(comp->npending - 1) * sizeof(*comp->pending));
		comp->npending--;
	} else {
		name = xstrdup_opt(nad_attr(nad, 0, NULL, "name"));
		if (name == NULL)
			name = xstrdup("(unknown)");
	}
	if (err != NULL) {
		code = atoi(err);
		if (code <= 0)
			code = 500;
		log_error("%s: the router refused to bind '%s' (error %s)", comp_ident(comp),
			  name, err);
	} else
		log_info("%s: bound '%s' at the router", comp_ident(comp), name);
	if (comp->cb.bound != NULL)
		comp->cb.bound(comp, name, code, comp->ctx);
	free(name);
	nad_free(&nad);
}

/* ---- advertisements ---- */

static void comp_presence(struct comp *comp, const struct nad *nad)
{
	const char *from = nad_attr(nad, 0, NULL, "from");
	const char *type = nad_attr(nad, 0, NULL, "type");

	if (from == NULL)
		return;
	if (type != NULL && strcmp(type, "unavailable") == 0) {
		xhash_remove(comp->avail, from);
		log_debug("%s: router: '%s' went away", comp_ident(comp), from);
	} else if (type == NULL) {
		xhash_put(comp->avail, from, comp);
		log_debug("%s: router: '%s' is available", comp_ident(comp), from);
	}
}

int comp_name_available(const struct comp *comp, const char *name)
{
	return xhash_get(comp->avail, name) != NULL;
}

/* ---- sx callbacks ---- */

static void comp_link_open(struct comp *comp)
{
	size_t i;

	comp->open = 1;
	log_notice("%s: connected to the router %s:%d as '%s'", comp_ident(comp),
		   comp->set.ip, comp->set.port, comp->set.user);
	for (i = 0; i < comp->nbinds; i++)
		comp_send_bind(comp, &comp->binds[i]);
	if (comp->cb.ready != NULL)
		comp->cb.ready(comp, comp->ctx);
}

static void comp_sx_open(struct sx *sx, const struct sx_header *hdr, void *ctx)
{
	struct comp *comp = ctx;

	(void)hdr;
	if ((sx_flags(sx) & SX_F_AUTHENTICATED) && !comp->open)
		comp_link_open(comp);
}

static void comp_sx_element(struct sx *sx, struct nad *nad, void *ctx)
{
	struct comp *comp = ctx;
	const char *ns = nad_ns(nad, 0);
	const char *name = nad_name(nad, 0);

	(void)sx;
	if (!comp->open || ns == NULL || strcmp(ns, COMP_NS) != 0) {
		/* Features after authentication, anything before it. */
		nad_free(&nad);
		return;
	}
	if (strcmp(name, "bind") == 0) {
		comp_bind_reply(comp, nad);
		return;
	}
	if (strcmp(name, "presence") == 0)
		comp_presence(comp, nad);
	comp->cb.element(comp, nad, comp->ctx);
}

static void comp_sx_closed(struct sx *sx, const char *cond, const char *text, void *ctx)
{
	struct comp *comp = ctx;

	(void)sx;
	if (cond != NULL)
		snprintf(comp->reason, sizeof(comp->reason), "stream error: %s%s%s", cond,
			 text != NULL ? ": " : "", text != NULL ? text : "");
}

static void comp_sx_event(struct sx *sx, enum sx_event ev, const void *data, void *ctx)
{
	struct comp *comp = ctx;
	struct sx_header hdr = { .version = "1.0" };

	switch (ev) {
	case SX_EV_TLS_DONE:
		log_debug("%s: TLS to the router is up", comp_ident(comp));
		sx_open(sx, &hdr);
		break;
	case SX_EV_AUTH_OK:
		sx_open(sx, &hdr);
		break;
	case SX_EV_AUTH_FAIL:
		log_error("%s: the router refused our credentials (user '%s'): %s",
			  comp_ident(comp), comp->set.user, (const char *)data);
		snprintf(comp->reason, sizeof(comp->reason), "authentication failed: %s",
			 (const char *)data);
		sx_close(sx);
		break;
	}
}


/* ---- connection life ---- */

/* The attempt failed or the link is gone: try again or give up. */
static void comp_failed(struct comp *comp, const char *reason)
{
	int final = comp->closing || comp->attempts_left == 0;

	if (!comp->closing)
		log_warnx("%s: router link %s: %s%s", comp_ident(comp),
			  final ? "given up" : "down", reason,
			  final ? "" : " (will retry)");
	if (!final)
		mio_timer_start(comp->retry, (unsigned)comp->set.retry_sleep * 1000u, 0);
	if (comp->cb.down != NULL)
		comp->cb.down(comp, reason, final, comp->ctx);
}

static void comp_link_gone(struct link *link, const char *reason, void *ctx)
{
	struct comp *comp = ctx;
	char why[300];

	(void)link;
	snprintf(why, sizeof(why), "%s", comp->reason[0] != '\0' ? comp->reason
				 : reason != NULL ? reason : "connection closed");
	if (comp->open)
		comp->attempts_left = comp->set.retry_lost;
	comp->link = NULL;
	comp->sx = NULL;
	comp->open = 0;
	comp->reason[0] = '\0';
	comp_pending_clear(comp);
	xhash_clear(comp->avail, NULL);
	comp_failed(comp, why);
}

static const struct link_callbacks comp_link_cb = {
	.stream_open = comp_sx_open,
	.element = comp_sx_element,
	.closed = comp_sx_closed,
	.event = comp_sx_event,
	.gone = comp_link_gone,
};

/* TCP is up: open the stream and start authenticating. */
static void comp_stream_start(struct comp *comp)
{
	struct sx_sasl_client_params p = {
		.mechanism = "DIGEST-MD5",
		.authcid = comp->set.user,
		.password = comp->set.pass,
		.service = "jabberd-router",
		.hostname = comp->hostname,
	};
	struct sx_header hdr = { .version = "1.0" };
	const char *error;

	if (comp->tls != NULL)
		sx_tls_starttls(comp->sx, comp->tls, 0);
	sx_sasl_client(comp->sx, comp->sasl, &p);
	sx_open(comp->sx, &hdr);
	/* Without TLS, jabberd2's components authenticate at once. */
	if (comp->tls == NULL && sx_sasl_client_auth(comp->sx, "DIGEST-MD5", &error) < 0) {
		snprintf(comp->reason, sizeof(comp->reason), "SASL: %s", error);
		sx_close(comp->sx);
	}
}

static void comp_connected(struct mio_connector *c, struct mio_conn *mc, const char *error,
			   void *ctx)
{
	struct comp *comp = ctx;

	(void)c;
	comp->connector = NULL;
	if (mc == NULL) {
		comp_failed(comp, error != NULL ? error : "connect failed");
		return;
	}
	comp->link = link_new(comp->links, mc, SX_CLIENT, NULL, &comp_link_cb, comp);
	comp->sx = link_sx(comp->link);
	comp_stream_start(comp);
}

static void comp_attempt(struct comp *comp)
{
	struct mio_connect_settings cs = {
		.ip = comp->set.ip,
		.port = comp->set.port,
		.attempts = 1,
	};
	const char *error;

	if (comp->closing || comp->link != NULL || comp->connector != NULL)
		return;
	if (comp->attempts_left > 0)
		comp->attempts_left--;
	log_info("%s: connecting to the router at %s:%d", comp_ident(comp), comp->set.ip,
		 comp->set.port);
	comp->connector = mio_connect(comp->mio, &cs, comp_connected, comp, &error);
	if (comp->connector == NULL) {
		comp->attempts_left = 0;
		comp_failed(comp, error);
	}
}

static void comp_retry_cb(struct mio_timer *t, void *ctx)
{
	(void)t;
	comp_attempt(ctx);
}

void comp_start(struct comp *comp)
{
	comp->closing = 0;
	comp->attempts_left = comp->set.retry_init;
	comp_attempt(comp);
}

void comp_close(struct comp *comp)
{
	comp->closing = 1;
	mio_timer_stop(comp->retry);
	if (comp->connector != NULL)
		mio_connector_cancel(&comp->connector);
	if (comp->link == NULL) {
		if (comp->cb.down != NULL)
			comp->cb.down(comp, "closed", 1, comp->ctx);
		return;
	}
	link_close(comp->link);
}

int comp_is_open(const struct comp *comp)
{
	return comp->open;
}

int comp_send(struct comp *comp, struct nad *nad)
{
	if (!comp->open || link_ended(comp->link)) {
		nad_free(&nad);
		return -1;
	}
	link_send(comp->link, nad);
	return 0;
}

/* ---- life ---- */

static void comp_settings_copy(struct comp_settings *dst, const struct comp_settings *src)
{
	dst->ip = xstrdup(src->ip != NULL ? src->ip : "127.0.0.1");
	dst->port = src->port > 0 ? src->port : 5347;
	dst->user = xstrdup(src->user != NULL ? src->user : "jabberd");
	dst->pass = xstrdup(src->pass != NULL ? src->pass : "secret");
	dst->pemfile = xstrdup_opt(src->pemfile);
	dst->key_password = xstrdup_opt(src->key_password);
	dst->ciphers = xstrdup_opt(src->ciphers);
	dst->ciphersuites = xstrdup_opt(src->ciphersuites);
	/* 0 attempts would never try: jabberd2 tries once. */
	dst->retry_init = src->retry_init == 0 ? 1 : src->retry_init;
	dst->retry_lost = src->retry_lost == 0 ? 1 : src->retry_lost;
	dst->retry_sleep = src->retry_sleep < 1 ? 1 : src->retry_sleep;
	dst->ident = xstrdup_opt(src->ident);
}

static void comp_settings_free(struct comp_settings *s)
{
	free((char *)s->ip);
	free((char *)s->user);
	if (s->pass != NULL) {
		explicit_bzero((char *)s->pass, strlen(s->pass));
		free((char *)s->pass);
	}
	free((char *)s->pemfile);
	if (s->key_password != NULL) {
		explicit_bzero((char *)s->key_password, strlen(s->key_password));
		free((char *)s->key_password);
	}
	free((char *)s->ciphers);
	free((char *)s->ciphersuites);
	free((char *)s->ident);
}

static int comp_crypto_new(struct comp *comp, const char **error_r)
{
	struct sx_sasl_config sc = { .mechs = SX_SASL_DIGEST_MD5, .allow_unencrypted = 1 };

	if (comp->set.pemfile != NULL) {
		struct sx_tls_config tc = {
			.pemfile = comp->set.pemfile,
			.key_password = comp->set.key_password,
			.ciphers = comp->set.ciphers,
			.ciphersuites = comp->set.ciphersuites,
		};

		comp->tls = sx_tls_ctx_new(SX_CLIENT, &tc, error_r);
		if (comp->tls == NULL)
			return -1;
	}
	comp->sasl = sx_sasl_ctx_new(&sc, error_r);
	return comp->sasl == NULL ? -1 : 0;
}

struct comp *comp_new(struct mio *mio, const struct comp_settings *set,
		      const struct comp_callbacks *cb, void *ctx, const char **error_r)
{
	struct comp *comp = xcalloc(1, sizeof(*comp));

	comp->mio = mio;
	comp_settings_copy(&comp->set, set);
	comp->cb = *cb;
	comp->ctx = ctx;
	if (gethostname(comp->hostname, sizeof(comp->hostname) - 1) < 0 ||
	    comp->hostname[0] == '\0')
		strcpy(comp->hostname, "localhost");
	if (comp_crypto_new(comp, error_r) < 0) {
		comp_free(&comp);
		return NULL;
	}
	comp->retry = mio_timer_new(mio, comp_retry_cb, comp);
	/* the router holds us back too (link.h, daemon_peers) */
	comp->links = link_set_new(mio, &(struct link_set_config){ .trim_ms = COMP_TRIM_MS,
								  .close_ms = COMP_CLOSE_MS,
								  .daemon_peers = 1 });
	comp->avail = xhash_new();
	return comp;
}

void comp_free(struct comp **compp)
{
	struct comp *comp = *compp;
	size_t i;

	if (comp == NULL)
		return;
	*compp = NULL;
	if (comp->connector != NULL)
		mio_connector_cancel(&comp->connector);
	link_free(&comp->link);
	link_set_free(&comp->links);
	mio_timer_free(&comp->retry);
	sx_tls_ctx_free(&comp->tls);
	sx_sasl_ctx_free(&comp->sasl);
	for (i = 0; i < comp->nbinds; i++) {
		free(comp->binds[i].name);
		free(comp->binds[i].multi);
	}
	free(comp->binds);
	comp_pending_clear(comp);
	xhash_free(&comp->avail);
	comp_settings_free(&comp->set);
	free(comp);
}
