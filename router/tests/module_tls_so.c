/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * module_tls_so.c: a router module for the integration tests
 * (tests/integration/test_router_module.py, test_router_redirect.py),
 * written only against router_module.h and the libraries its contract
 * names (util, sx, mio). It stands in for a cluster module:
 *
 *	<cluster>
 *	  <module>.../test_module_tls.so</module>
 *	  <listen ip='127.0.0.1' port='N'/>   direct-TLS listener for peers
 *	  <pemfile>cert+key.pem</pemfile>
 *	  <forward>sm-n1</forward>            optional: where routes that
 *	                                       reach the module go
 *	  <hang/>                             optional: stop() says it is
 *	</cluster>                             draining and never finishes
 *
 * A peer connects with TLS and opens an XML stream (no default
 * namespace); each element gets one answer:
 *	<bind name='N'/>                -> <ok/> | <error reason='...'/>
 *	<redirect jid='J' name='N'/>    -> <ok/> | <error reason='...'/>
 *	<stats/>                        -> <stats routed= bounced= hits=
 *	                                   misses= redirects= delivered=
 *	                                   forwarded=/>
 * At SIGTERM (stop()) each peer gets <goodbye/> and the stream is closed;
 * the module reports itself stopped once those streams are gone. free()
 * logs "test module: freed".
 */
#include "config.h"
#include "router/router_module.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mio/mio.h"
#include "sx/sx.h"
#include "util/buf.h"
#include "util/config_file.h"
#include "util/list.h"
#include "util/log.h"
#include "util/nad.h"

struct tmod {
	struct router *r;
	struct mio_listener *listener;
	struct sx_tls_ctx *tls;
	const char *forward;
	struct list_node peers;
	int stopping;
	int hang;
	uint64_t delivered, forwarded;
};

struct peer {
	struct tmod *m;                 /* NULL once the module is freed */
	struct mio_conn *mc;
	struct sx *sx;
	struct list_node link;
};

static void peer_flush(struct peer *p)
{
	size_t len;
	const void *data = sx_output(p->sx, &len);

	if (len == 0)
		return;
	mio_conn_write(p->mc, data, len);
	sx_output_consumed(p->sx, len);
}

static void reply(struct peer *p, const char *name, const char *attr, const char *value)
{
	struct nad *nad = nad_new();
	int e = nad_elem_add(nad, NAD_NONE, NULL, name);

	if (attr != NULL)
		nad_attr_set(nad, e, NULL, attr, value);
	sx_send(p->sx, nad);
}

static void reply_stats(struct peer *p)
{
	static const char *const names[] = {
		"routed", "bounced", "hits", "misses", "redirects", "delivered", "forwarded",
	};
	struct router_mod_stats st;
	struct nad *nad = nad_new();
	int e = nad_elem_add(nad, NAD_NONE, NULL, "stats");
	uint64_t v[7];
	char num[32];

	router_mod_stats(p->m->r, &st);
	v[0] = st.routed;
	v[1] = st.bounced;
	v[2] = st.redirect_hits;
	v[3] = st.redirect_misses;
	v[4] = st.redirects;
	v[5] = p->m->delivered;
	v[6] = p->m->forwarded;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(num, sizeof(num), "%llu", (unsigned long long)v[i]);
		nad_attr_set(nad, e, NULL, names[i], num);
	}
	sx_send(p->sx, nad);
}

static void peer_element(struct sx *sx, struct nad *nad, void *ctx)
{
	struct peer *p = ctx;
	const char *name = nad_name(nad, 0), *error = NULL;
	const char *a = nad_attr(nad, 0, NULL, "name"), *jid = nad_attr(nad, 0, NULL, "jid");
	int rc = -1;

	if (p->m == NULL) {
		nad_free(&nad);
		return;
	}
	if (strcmp(name, "stats") == 0) {
		reply_stats(p);
		nad_free(&nad);
		return;
	}
	if (strcmp(name, "bind") == 0 && a != NULL)
		rc = router_mod_bind(p->m->r, a, 0, &error);
	else if (strcmp(name, "redirect") == 0 && a != NULL && jid != NULL)
		rc = router_mod_redirect_set(p->m->r, jid, a, &error);
	else
		error = "unknown request";
	if (rc == 0)
		reply(p, "ok", NULL, NULL);
	else
		reply(p, "error", "reason", error);
	nad_free(&nad);
}

static void peer_stream_open(struct sx *sx, const struct sx_header *hdr, void *ctx)
{
	struct sx_header out = { .from = hdr->to, .version = hdr->version };

	(void)ctx;
	sx_open(sx, &out);
}

static void peer_closed(struct sx *sx, const char *condition, const char *text, void *ctx)
{
	struct peer *p = ctx;

	(void)sx;
	(void)text;
	if (condition != NULL)
		log_notice("test module: peer stream closed: %s", condition);
	mio_conn_shutdown(p->mc, 1000);
}

static const struct sx_callbacks peer_sx_cb = {
	.stream_open = peer_stream_open,
	.element = peer_element,
	.closed = peer_closed,
};

static void peer_on_read(struct mio_conn *mc, const void *data, size_t len, void *ctx)
{
	struct peer *p = ctx;

	(void)mc;
	sx_input(p->sx, data, len);
	peer_flush(p);
}

static void peer_on_close(struct mio_conn *mc, const char *reason, void *ctx)
{
	struct peer *p = ctx;
	struct tmod *m = p->m;

	(void)mc;
	log_info("test module: peer gone%s%s", reason != NULL ? ": " : "",
		 reason != NULL ? reason : "");
	list_remove(&p->link);
	sx_free(&p->sx);
	free(p);
	if (m != NULL && m->stopping && list_empty(&m->peers))
		router_mod_stopped(m->r);
}

static const struct mio_conn_callbacks peer_mio_cb = {
	.on_read = peer_on_read,
	.on_close = peer_on_close,
};

static void on_accept(struct mio_listener *l, struct mio_conn *mc, const char *ip,
		      int port, void *ctx)
{
	struct tmod *m = ctx;
	struct peer *p = calloc(1, sizeof(*p));

	(void)l;
	(void)port;
	if (p == NULL || m->stopping) {
		free(p);
		mio_conn_close(mc);
		return;
	}
	p->m = m;
	p->mc = mc;
	p->sx = sx_new(SX_SERVER, NULL, &peer_sx_cb, p);
	sx_tls_direct(p->sx, m->tls);
	list_add_tail(&m->peers, &p->link);
	mio_conn_setup(mc, &peer_mio_cb, p);
	log_info("test module: peer %s connected", ip);
}

static int tmod_init(struct router *r, void **state_r, const char **error_r)
{
	static char err[256];
	struct mio_listen_settings ls = { 0 };
	struct sx_tls_config tc = { 0 };
	const char *port = router_mod_config_attr(r, "cluster.listen", 0, "port");
	const struct config_node *node = router_mod_config_node(r, "cluster.listen", 0);
	struct tmod *m;

	if (node == NULL || port == NULL || router_mod_mio(r) == NULL) {
		*error_r = "test module: no <listen port=...>";
		return -1;
	}
	tc.pemfile = router_mod_config(r, "cluster.pemfile", 0);
	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	m->r = r;
	list_init(&m->peers);
	m->forward = router_mod_config(r, "cluster.forward", 0);
	m->hang = router_mod_config_count(r, "cluster.hang") > 0;
	if ((m->tls = sx_tls_ctx_new(SX_SERVER, &tc, error_r)) == NULL)
		goto err;
	ls.ip = config_node_attr(node, "ip");
	ls.port = atoi(port);
	m->listener = mio_listen(router_mod_mio(r), &ls, on_accept, m, error_r);
	if (m->listener == NULL)
		goto err;
	log_notice("test module: listening on port %d", mio_listener_port(m->listener));
	*state_r = m;
	return 0;
err:
	snprintf(err, sizeof(err), "test module: %s", *error_r);
	*error_r = err;
	sx_tls_ctx_free(&m->tls);
	free(m);
	return -1;
}

static int tmod_stop(void *state)
{
	struct tmod *m = state;
	struct list_node *n;

	if (m->hang)
		return ROUTER_MOD_DRAINING;
	m->stopping = 1;
	mio_listener_free(&m->listener);
	if (list_empty(&m->peers))
		return ROUTER_MOD_STOPPED;
	for (n = m->peers.next; n != &m->peers; n = n->next) {
		struct peer *p = LIST_ENTRY(n, struct peer, link);

		reply(p, "goodbye", NULL, NULL);
		sx_close(p->sx);
		peer_flush(p);
		mio_conn_shutdown(p->mc, 1000);
	}
	log_notice("test module: told the peers goodbye");
	return ROUTER_MOD_DRAINING;
}

static void tmod_hup(void *state)
{
	(void)state;
	log_notice("test module: SIGHUP");
}

/* Routes for the module's names that no redirect took. */
static void tmod_deliver(void *state, struct nad *nad)
{
	struct tmod *m = state;
	const char *error = NULL;

	if (strcmp(nad_name(nad, 0), "route") != 0) {
		nad_free(&nad);
		return;
	}
	m->delivered++;
	if (m->forward == NULL) {
		nad_free(&nad);
		return;
	}
	nad_attr_set(nad, 0, NULL, "to", m->forward);
	if (router_mod_route(m->r, nad, &error) == 0)
		m->forwarded++;
	else
		log_warnx("test module: cannot forward to %s: %s", m->forward, error);
}

static void tmod_free(void *state)
{
	struct tmod *m = state;
	struct list_node *n;

	mio_listener_free(&m->listener);
	/* Streams still open close with the loop; they outlive us. */
	for (n = m->peers.next; n != &m->peers; n = n->next) {
		struct peer *p = LIST_ENTRY(n, struct peer, link);

		p->m = NULL;
		mio_conn_close(p->mc);
	}
	list_remove(&m->peers);
	sx_tls_ctx_free(&m->tls);
	free(m);
	log_notice("test module: freed");
}

const struct router_module router_module = {
	.name = "test-tls",
	.abi = ROUTER_MODULE_ABI,
	.init = tmod_init,
	.free = tmod_free,
	.deliver = tmod_deliver,
	.stop = tmod_stop,
	.hup = tmod_hup,
};
