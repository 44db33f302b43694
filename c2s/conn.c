/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * conn.c: client connections: accepting on the plain and the direct-TLS
 * port, the stream header checks (host, version, advertisement by the
 * router), attaching TLS and SASL for the host asked for, timeouts and
 * keepalives, and the end of a connection, which always ends its session
 * at the sm. The socket-to-stream glue (reading, batched output,
 * back-pressure, idle trim, graceful close, reaping) is link/link.h's.
 *
 * Connection ids are a counter that never repeats in the life of the
 * process, so a late reply from the sm can never reach a newer connection
 * (jabberd2 keys sessions by fd number and loses logins that way).
 */
#include "config.h"
#include "c2s/c2s.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comp/comp.h"
#include "link/link.h"
#include "util/buf.h"
#include "util/jid.h"
#include "util/log.h"
#include "util/nad.h"
#include "util/xhash.h"

void c2s_conn_error(struct c2s_conn *c, const char *condition, const char *text)
{
	link_error(c->lk, condition, text);
}

struct c2s_conn *c2s_conn_find(struct c2s *c2s, const char *id)
{
	return xhash_get(c2s->conns, id);
}

/* ---- the stream header ---- */

/* Checks on the first header; sets c->host, domain and realm. */
static int conn_first_header(struct c2s_conn *c, const struct sx_header *hdr)
{
	struct c2s *c2s = c->c2s;
	char dom[JID_PART_MAX + 1];
	const char *error, *redirect;
	int ws;

	if (hdr->to == NULL || jid_nameprep(hdr->to, dom, sizeof(dom), &error) < 0) {
		c2s_conn_error(c, "host-unknown", NULL);
		return -1;
	}
	if ((redirect = c2s_redirect_find(c2s, dom)) != NULL) {
		c2s_conn_error(c, "see-other-host", redirect);
		return -1;
	}
	c->host = c2s_host_find(c2s, dom);
	if (c->host == NULL) {
		c2s_conn_error(c, "host-unknown", NULL);
		return -1;
	}
	c->domain = xstrdup(dom);
	if (!comp_name_available(c2s->comp, dom)) {
		c2s_conn_error(c, "host-gone", "this domain is not available now");
		return -1;
	}
	c->realm = c->host->realm != NULL ? c->host->realm : c->domain;
	if ((ws = c2s_ws_first_header(c)) < 0)
		return -1;
	if (!ws && !(sx_flags(c->sx) & SX_F_ENCRYPTED) && c->host->tls != NULL)
		sx_tls_starttls(c->sx, c->host->tls, c->host->require_starttls);
	sx_sasl_server(c->sx, c2s->sasl, c->realm);
	return 0;
}

static void conn_stream_open(struct sx *sx, const struct sx_header *hdr, void *ctx)
{
	struct c2s_conn *c = ctx;
	struct sx_header out = { .ns = SX_NS_CLIENT, .version = "1.0" };

	if (c->host == NULL && conn_first_header(c, hdr) < 0)
		return;
	out.from = c->domain;
	sx_open(sx, &out);
	if (hdr->ns == NULL || strcmp(hdr->ns, SX_NS_CLIENT) != 0) {
		c2s_conn_error(c, "invalid-namespace", NULL);
		return;
	}
	if (hdr->version == NULL || strncmp(hdr->version, "1.", 2) != 0) {
		c2s_conn_error(c, "unsupported-version", "XMPP 1.0 streams only");
		return;
	}
	c2s_stream_features(c);
}

/* io.limits.stanzas: more than max stanzas within the window stops
 * reading for the throttle time (jabberd2's karma, in effect). */
static void conn_count_stanza(struct c2s_conn *c)
{
	const struct mio_rate *r = &c->c2s->stanzas;
	time_t now = time(NULL);

	if (r->max == 0)
		return;
	if ((now - c->win_start) * 1000 >= (time_t)r->window_ms) {
		c->win_start = now;
		c->win_count = 0;
	}
	if (++c->win_count == r->max + 1) {
		log_notice("c2s: conn %s: over %u stanzas in %u s; reading paused for %u s",
			   c->id, r->max, r->window_ms / 1000, r->throttle_ms / 1000);
		c2s_pause(c, r->throttle_ms);
	}
}

static void conn_element(struct sx *sx, struct nad *nad, void *ctx)
{
	struct c2s_conn *c = ctx;

	conn_count_stanza(c);
	c2s_client_element(c, nad);
}

static void conn_closed(struct sx *sx, const char *condition, const char *text, void *ctx)
{
	struct c2s_conn *c = ctx;

	if (condition != NULL)
		log_info("c2s: conn %s: stream closed: %s%s%s", c->id, condition,
			 text != NULL ? ": " : "", text != NULL ? text : "");
	c->ended = 1;
	/* Only a stream that timed out may come back (XEP-0198 resumption);
	 * a close or any other error ends the session. */
	c2s_sm_conn_gone(c, condition != NULL && strcmp(condition, "connection-timeout") == 0);
}

static void conn_event(struct sx *sx, enum sx_event ev, const void *data, void *ctx)
{
	c2s_auth_event(ctx, ev, data);
}

/* ---- the end ---- */

static void conn_free(struct c2s_conn *c)
{
	free(c->domain);
	free(c->user);
	free(c->jid);
	free(c->sm_id);
	free(c->sm_name);
	free(c->bind_iq_id);
	free(c->req_id);
	free(c->reg_user);
	if (c->reg_pass != NULL)
		memset(c->reg_pass, 0, strlen(c->reg_pass));
	free(c->reg_pass);
	free(c->reg_iq_id);
	if (c->upgrade_pw != NULL)
		memset(c->upgrade_pw, 0, strlen(c->upgrade_pw));
	free(c->upgrade_pw);
	free(c->last_authcid);
	c2s_sm_conn_free(c);
	mio_timer_free(&c->delay);
	free(c);
}

static void conn_gone(struct link *lk, const char *reason, void *ctx)
{
	struct c2s_conn *c = ctx;
	struct c2s *c2s = c->c2s;

	log_info("c2s: conn %s (%s) closed%s%s", c->id, c->jid != NULL ? c->jid : "no session",
		 reason != NULL ? ": " : "", reason != NULL ? reason : "");
	/* A socket that died under a live stream: the session ends, or
	 * waits for resumption. */
	c2s_sm_conn_gone(c, 1);
	c2s_sess_gone(c);
	/* A parked or resumed session may have taken the id over. */
	if (xhash_get(c2s->conns, c->id) == c)
		xhash_remove(c2s->conns, c->id);
	list_remove(&c->link);
	conn_free(c);
	if (c2s->shutting_down && !c2s->exiting && list_empty(&c2s->all))
		c2s_shutdown_link(c2s);
}

static const struct link_callbacks conn_link_cb = {
	.stream_open = conn_stream_open,
	.element = conn_element,
	.closed = conn_closed,
	.event = conn_event,
	.gone = conn_gone,
};

static struct c2s_conn *conn_new(struct c2s *c2s, struct mio_conn *mc, const char *ip,
				 int port, int ws)
{
	struct c2s_conn *c = xcalloc(1, sizeof(*c));

	c->c2s = c2s;
	c->mc = mc;
	c->since = time(NULL);
	snprintf(c->id, sizeof(c->id), "%" PRIu64, ++c2s->next_id);
	c2s->n.accepted++;
	c->lk = link_new(c2s->links, mc, SX_SERVER, &c2s->limits, &conn_link_cb, c);
	c->sx = link_sx(c->lk);
	xhash_put(c2s->conns, c->id, c);
	list_add_tail(&c2s->all, &c->link);
	mio_conn_set_read_limit(mc, &c2s->bytes);
	if (ws)
		c2s_ws_attach(c, ip);
	log_info("c2s: conn %s from %s:%d", c->id, ip, port);
	return c;
}

void c2s_accept(struct mio_listener *l, struct mio_conn *mc, const char *ip, int port,
		void *ctx)
{
	conn_new(ctx, mc, ip, port, 1);
}

void c2s_accept_ssl(struct mio_listener *l, struct mio_conn *mc, const char *ip, int port,
		    void *ctx)
{
	struct c2s *c2s = ctx;
	struct c2s_conn *c = conn_new(c2s, mc, ip, port, 0);

	/* TLS first, so the WebSocket plugin sees plaintext (wss). */
	sx_tls_direct(c->sx, c2s->ssl_tls);
	c2s_ws_attach(c, ip);
}

/* Close every stream (of one domain, or all with domain NULL). */
int c2s_close_all(struct c2s *c2s, const char *domain, const char *condition)
{
	struct c2s_conn *c, *tmp;
	int n = 0;

	LIST_FOREACH_SAFE(c, tmp, &c2s->all, struct c2s_conn, link) {
		if (c->ended)
			continue;
		if (domain != NULL && (c->domain == NULL || strcmp(c->domain, domain) != 0))
			continue;
		c2s_conn_error(c, condition, NULL);
		n++;
	}
	return n;
}

/* The end notices of the last sessions are queued on the router link:
 * an orderly close writes them out; the link's final down callback then
 * stops the loop. */
void c2s_shutdown_link(struct c2s *c2s)
{
	if (c2s->comp_closing)
		return;
	c2s->comp_closing = 1;
	comp_close(c2s->comp);
}

/* io.check: idle clients, keepalives, and streams that never log in. */
void c2s_check(struct c2s *c2s)
{
	const struct c2s_opts *o = &c2s->o;
	time_t now = time(NULL);
	struct c2s_conn *c, *tmp;

	c2s_fail_prune(c2s->fails, o->auth_fail_window);
	c2s_fail_prune(c2s->regs, o->register_window);
	LIST_FOREACH_SAFE(c, tmp, &c2s->all, struct c2s_conn, link) {
		if (c->ended)
			continue;
		if (o->check_idle > 0 && now - link_last_read(c->lk) >= o->check_idle)
			c2s_conn_error(c, "connection-timeout", NULL);
		else if (o->auth_timeout > 0 && c->state == C2S_CONNECTED &&
			 now - c->since >= o->auth_timeout)
			c2s_conn_error(c, "connection-timeout", "not authenticated in time");
		else if (o->check_keepalive > 0 &&
			 now - link_last_write(c->lk) >= o->check_keepalive)
			link_send_raw(c->lk, " ", 1);
	}
}
