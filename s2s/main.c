/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * main: the s2s daemon. Reads s2s.xml, links to the router with comp/
 * (binding our id and, unless router.non-default, the default route),
 * opens the federation listener once the router accepted the bind, and
 * hosts the engine (core.c, out.c, in.c) on the mio loop: connects it
 * asks for go through the resolver (resolve.c) and are tried address by
 * address, bytes move between mio connections and the engine's streams,
 * and a periodic check expires queues and idle links.
 */
#include "config.h"
#include "s2s/s2s.h"

#include <fcntl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "comp/comp.h"
#include "metrics/metrics.h"
#include "mio/mio.h"
#include "util/buf.h"
#include "util/config_file.h"
#include "util/list.h"
#include "util/log.h"
#include "util/pidfile.h"
#include "util/sdnotify.h"
#include "util/signals.h"
#include "util/nad.h"
#include "util/xhash.h"

struct s2sd {
	struct config *cf;
	struct s2s_config cfg;
	struct comp_settings cs;
	struct mio *mio;
	struct comp *comp;
	struct s2s *s2s;
	struct s2s_resolver *res;
	struct mio_listener *listener;
	struct mio_listener *tls_listener;  /* local.ssl-port */
	struct mio_timer *check;
	struct mio_timer *stop;
	struct metrics *metrics;   /* <metrics> port, or NULL */
	struct sx_tls_ctx *tls_server, *tls_client;
	/* per local domain (local.id@pemfile): index as cfg.ids */
	struct sx_tls_ctx **id_server, **id_client;
	size_t nids;
	struct list_node attempts;
	int shutting_down;
	int exiting;            /* mio_free runs: transports only free */
	int rc;
};

/* A connect in progress: the targets the resolver gave, tried in turn. */
struct attempt {
	struct s2sd *d;
	struct s2s_conn *conn;
	struct s2s_target *targets;
	size_t n, idx;
	size_t refused;         /* targets that answered "nobody listens" */
	int resolving;
	struct mio_connector *ctor;
	struct list_node link;
};

/* The transport under one engine stream. */
struct tconn {
	struct s2sd *d;
	struct mio_conn *mc;
	struct s2s_conn *conn;
	struct mio_timer *resume;  /* ends a stanza rate pause */
};

static void usage(void)
{
	printf("usage: s2s [-c config] [-i id] [-D] [-t]\n");
	exit(1);
}

/* ---- transports ---- */

static void t_read(struct mio_conn *mc, const void *data, size_t len, void *ctx)
{
	struct tconn *t = ctx;

	s2s_conn_input(t->conn, data, len);
	s2s_flush(t->d->s2s);
}

static void t_close(struct mio_conn *mc, const char *reason, void *ctx)
{
	struct tconn *t = ctx;
	struct s2sd *d = t->d;

	mio_timer_free(&t->resume);
	if (d->exiting) {
		free(t);
		return;
	}
	if (t->conn != NULL)
		s2s_conn_gone(t->conn, reason);
	free(t);
	s2s_flush(d->s2s);
}

static const struct mio_conn_callbacks t_cb = {
	.on_read = t_read,
	.on_close = t_close,
};

static struct tconn *t_new(struct s2sd *d, struct mio_conn *mc)
{
	struct tconn *t = xcalloc(1, sizeof(*t));

	t->d = d;
	t->mc = mc;
	mio_conn_setup(mc, &t_cb, t);
	return t;
}

static void d_write(struct s2s *s2s, struct s2s_conn *conn, const void *data, size_t len,
		    void *host)
{
	struct tconn *t = s2s_conn_transport(conn);

	mio_conn_write(t->mc, data, len);
}

static void t_resume(struct mio_timer *timer, void *ctx)
{
	struct tconn *t = ctx;

	mio_conn_resume_read(t->mc);
}

static void d_throttle(struct s2s *s2s, struct s2s_conn *conn, int seconds, void *host)
{
	struct tconn *t = s2s_conn_transport(conn);

	if (t->resume == NULL)
		t->resume = mio_timer_new(t->d->mio, t_resume, t);
	mio_conn_pause_read(t->mc);
	mio_timer_start(t->resume, (unsigned)seconds * 1000, 0);
}

static void d_close(struct s2s *s2s, struct s2s_conn *conn, void *host)
{
	struct tconn *t = s2s_conn_transport(conn);

	mio_conn_shutdown(t->mc, 5000);
}

static void on_accept(struct mio_listener *l, struct mio_conn *mc, const char *ip, int port,
		      void *ctx)
{
	struct s2sd *d = ctx;
	struct tconn *t = t_new(d, mc);
	int direct = l == d->tls_listener;

	if (d->shutting_down) {
		mio_conn_close(mc);
		return;
	}
	log_debug("s2s: incoming %sconnection from %s:%d", direct ? "direct TLS " : "", ip, port);
	if (d->cfg.bytes > 0) {
		struct mio_rate lim = { (unsigned)d->cfg.bytes,
					(unsigned)d->cfg.bytes_seconds * 1000,
					(unsigned)d->cfg.bytes_throttle * 1000 };

		mio_conn_set_read_limit(mc, &lim);
	}
	t->conn = direct ? s2s_conn_accepted_tls(d->s2s, t) : s2s_conn_accepted(d->s2s, t);
	s2s_flush(d->s2s);
}

/* ---- outgoing connects ---- */

static void attempt_free(struct attempt *a)
{
	list_remove(&a->link);
	free(a->targets);
	free(a);
}

static const char *source_ip(struct s2sd *d, const char *ip)
{
	int v6 = strchr(ip, ':') != NULL;
	const char *const *o;

	for (o = d->cfg.origins; o != NULL && *o != NULL; o++)
		if ((strchr(*o, ':') != NULL) == v6)
			return *o;
	if (d->cfg.origins != NULL && d->cfg.origins[0] != NULL)
		return NULL;
	if (strcmp(d->cfg.local_ip, "0.0.0.0") == 0 || strcmp(d->cfg.local_ip, "::") == 0 ||
	    (strchr(d->cfg.local_ip, ':') != NULL) != v6)
		return NULL;
	return d->cfg.local_ip;
}

static void attempt_next(struct attempt *a);

static void on_connect(struct mio_connector *ctor, struct mio_conn *mc, const char *error,
		       void *ctx)
{
	struct attempt *a = ctx;
	struct s2sd *d = a->d;
	const struct s2s_target *tg = &a->targets[a->idx];
	struct tconn *t;

	a->ctor = NULL;
	if (mc == NULL) {
		log_notice("s2s: %s: cannot connect to %s port %d: %s",
			   s2s_conn_domain(a->conn), tg->ip, tg->port, error);
		if (mio_connector_errno(ctor) == ECONNREFUSED)
			a->refused++;
		s2s_resolver_bad_host(d->res, tg->ip, tg->port);
		a->idx++;
		attempt_next(a);
		return;
	}
	log_debug("s2s: connected to %s (%s port %d)", s2s_conn_domain(a->conn), tg->ip,
		  tg->port);
	t = t_new(d, mc);
	t->conn = a->conn;
	s2s_conn_connected(a->conn, t, tg->direct_tls);
	attempt_free(a);
	s2s_flush(d->s2s);
}

static void attempt_next(struct attempt *a)
{
	struct s2sd *d = a->d;

	while (a->idx < a->n) {
		const struct s2s_target *tg = &a->targets[a->idx];
		struct mio_connect_settings set = { 0 };
		const char *err;

		set.ip = tg->ip;
		set.port = tg->port;
		set.source_ip = source_ip(d, tg->ip);
		set.timeout_ms = (unsigned)(d->cfg.check_queue > 0 ? d->cfg.check_queue : 60) * 1000;
		set.attempts = 1;
		a->ctor = mio_connect(d->mio, &set, on_connect, a, &err);
		if (a->ctor != NULL)
			return;
		log_notice("s2s: cannot connect to %s port %d: %s", tg->ip, tg->port, err);
		a->idx++;
	}
	/* Every address refusing is a definite answer; a timeout or an
	 * unreachable address may pass, and the queue waits (check.retry). */
	if (a->n > 0 && a->refused == a->n)
		s2s_conn_failed(a->conn, S2S_CONNECT_REFUSED,
				"every address refused the connection");
	else
		s2s_conn_failed(a->conn, S2S_CONNECT_UNREACHED, "no address could be reached");
	attempt_free(a);
	s2s_flush(d->s2s);
}

static void on_resolved(const char *domain, const struct s2s_target *targets, size_t n,
			const char *error, void *arg)
{
	struct attempt *a = arg;
	struct s2sd *d = a->d;

	a->resolving = 0;
	if (n == 0) {
		log_notice("s2s: cannot resolve %s: %s", domain, error);
		s2s_conn_failed(a->conn, S2S_CONNECT_NO_NAME, error);
		attempt_free(a);
		s2s_flush(d->s2s);
		return;
	}
	a->targets = xcalloc(n, sizeof(*targets));
	memcpy(a->targets, targets, n * sizeof(*targets));
	a->n = n;
	attempt_next(a);
}

static void d_connect(struct s2s *s2s, struct s2s_conn *conn, const char *domain, void *host)
{
	struct s2sd *d = host;
	struct attempt *a = xcalloc(1, sizeof(*a));

	a->d = d;
	a->conn = conn;
	a->resolving = 1;
	list_add_tail(&d->attempts, &a->link);
	s2s_resolve(d->res, domain, on_resolved, a);
}

static void d_to_router(struct s2s *s2s, struct nad *route, void *host)
{
	struct s2sd *d = host;

	if (d->comp == NULL) {
		nad_free(&route);
		return;
	}
	if (comp_send(d->comp, route) < 0)
		log_warnx("s2s: router link down, a stanza for the router is lost");
}

static struct sx_tls_ctx *d_client_tls(struct s2s *s2s, const char *local, void *host);

/* Our domains are the names bound at the router (its presence
 * announcements, which comp keeps). */
static int d_is_local(struct s2s *s2s, const char *domain, void *host)
{
	struct s2sd *d = host;

	return d->comp != NULL && comp_name_available(d->comp, domain);
}

static const struct s2s_ops d_ops = {
	.connect = d_connect,
	.to_router = d_to_router,
	.write = d_write,
	.close = d_close,
	.client_tls = d_client_tls,
	.is_local = d_is_local,
	.throttle = d_throttle,
};

/* ---- router link ---- */

static int d_listen(struct s2sd *d)
{
	struct mio_listen_settings ls = { 0 };
	const char *err;

	if (d->listener != NULL || d->cfg.local_port == 0)
		return 0;
	ls.ip = d->cfg.local_ip;
	ls.port = d->cfg.local_port;
	ls.connects.max = (unsigned)d->cfg.connects;
	ls.connects.window_ms = (unsigned)d->cfg.connects_seconds * 1000;
	ls.connects.throttle_ms = (unsigned)d->cfg.connects_throttle * 1000;
	/* The direct TLS one first: once the plain port answers, the harness
	 * and peers take the daemon as up. */
	if (d->cfg.ssl_port != 0) {
		ls.port = d->cfg.ssl_port;
		d->tls_listener = mio_listen(d->mio, &ls, on_accept, d, &err);
		if (d->tls_listener == NULL) {
			log_error("s2s: cannot listen on %s port %d: %s", ls.ip, ls.port, err);
			return -1;
		}
		log_notice("s2s: listening for servers with direct TLS on %s port %d", ls.ip,
			   mio_listener_port(d->tls_listener));
		ls.port = d->cfg.local_port;
	}
	d->listener = mio_listen(d->mio, &ls, on_accept, d, &err);
	if (d->listener == NULL) {
		log_error("s2s: cannot listen on %s port %d: %s", ls.ip, ls.port, err);
		return -1;
	}
	log_notice("s2s: listening for servers on %s port %d", ls.ip,
		   mio_listener_port(d->listener));
	return 0;
}

static void c_bound(struct comp *comp, const char *name, int error, void *ctx)
{
	struct s2sd *d = ctx;

	if (error != 0) {
		d->rc = 1;
		mio_stop(d->mio);
		return;
	}
	log_notice("s2s: bound to the router as %s%s", name,
		   d->cfg.router_non_default ? "" : " (default route)");
	if (d_listen(d) < 0) {
		d->rc = 1;
		mio_stop(d->mio);
		return;
	}
	sdnotify_ready("ready for servers");
}

static void c_element(struct comp *comp, struct nad *nad, void *ctx)
{
	struct s2sd *d = ctx;
	const char *name = nad_name(nad, nad_root(nad));

	if (strcmp(name, "route") == 0) {
		s2s_route_in(d->s2s, nad);
		s2s_flush(d->s2s);
		return;
	}
	nad_free(&nad);
}

static void c_down(struct comp *comp, const char *reason, int final, void *ctx)
{
	struct s2sd *d = ctx;

	log_notice("s2s: router link down%s%s", reason != NULL ? ": " : "",
		   reason != NULL ? reason : "");
	if (final)
		mio_stop(d->mio);
}

static const struct comp_callbacks c_cb = {
	.bound = c_bound,
	.element = c_element,
	.down = c_down,
};

/* ---- timers and signals ---- */

static void on_check(struct mio_timer *t, void *ctx)
{
	struct s2sd *d = ctx;

	s2s_check(d->s2s);
}

static void on_stop(struct mio_timer *t, void *ctx)
{
	struct s2sd *d = ctx;

	mio_stop(d->mio);
}

static void on_signal(int signo, void *ctx)
{
	struct s2sd *d = ctx;

	switch (signo) {
	case SIGHUP:
		sdnotify_reloading();
		log_reopen();
		sdnotify_reloaded();
		break;
	case SIGUSR1:
		log_set_debug(0);
		break;
	case SIGUSR2:
		log_set_debug(1);
		break;
	default:
		if (d->shutting_down)
			return;
		log_notice("s2s: shutting down");
		d->shutting_down = 1;
		sdnotify_stopping();
		mio_listener_free(&d->listener);
		mio_listener_free(&d->tls_listener);
		s2s_shutdown(d->s2s);
		comp_close(d->comp);
		/* Give the peers a moment to read system-shutdown. */
		mio_timer_start(d->stop, 1000, 0);
	}
}

/* ---- start-up ---- */

/* jabberd2's verify-mode holds OpenSSL flags (1 peer, 2 fail if none). */
static int sx_verify_mode(int v, const char *cachain)
{
	if (cachain == NULL || v == 0)
		return 0;
	return (v & 2) ? 2 : 1;
}

/* SNI on incoming TLS: the certificate of the local domain asked for. */
static struct sx_tls_ctx *d_sni(const char *name, void *arg)
{
	struct s2sd *d = arg;
	size_t i;

	for (i = 0; i < d->nids; i++)
		if (d->id_server[i] != NULL && strcasecmp(d->cfg.ids[i].domain, name) == 0)
			return d->id_server[i];
	return NULL;
}

static struct sx_tls_ctx *d_client_tls(struct s2s *s2s, const char *local, void *host)
{
	struct s2sd *d = host;
	size_t i;

	for (i = 0; local != NULL && i < d->nids; i++)
		if (d->id_client[i] != NULL && strcasecmp(d->cfg.ids[i].domain, local) == 0)
			return d->id_client[i];
	return NULL;
}

static int make_tls(struct s2sd *d, const char **error_r)
{
	struct sx_tls_config tc = { 0 };
	const char *pemfile = d->cfg.pemfile, *key_password = d->cfg.key_password;
	size_t i;

	for (d->nids = 0; d->cfg.ids[d->nids].domain != NULL; d->nids++)
		;
	/* Without local.pemfile the first domain's certificate is the
	 * listener's default (peers that send no SNI get it). */
	for (i = 0; pemfile == NULL && i < d->nids; i++)
		if (d->cfg.ids[i].pemfile != NULL) {
			pemfile = d->cfg.ids[i].pemfile;
			key_password = d->cfg.ids[i].key_password;
		}
	tc.key_password = key_password;
	tc.cachain = d->cfg.cachain;
	tc.ciphers = d->cfg.ciphers;
	tc.ciphersuites = d->cfg.ciphersuites;
	/* Ask peers for a certificate whenever we can verify one, so SASL
	 * EXTERNAL is possible. */
	tc.verify_mode = d->cfg.cachain != NULL ? 1 : 0;
	if (d->cfg.verify_mode != 0)
		tc.verify_mode = sx_verify_mode(d->cfg.verify_mode, d->cfg.cachain);
	d->id_server = xcalloc(d->nids + 1, sizeof(*d->id_server));
	d->id_client = xcalloc(d->nids + 1, sizeof(*d->id_client));
	if (pemfile != NULL) {
		tc.pemfile = pemfile;
		d->tls_server = sx_tls_ctx_new(SX_SERVER, &tc, error_r);
		if (d->tls_server == NULL)
			return -1;
		for (i = 0; i < d->nids; i++) {
			if (d->cfg.ids[i].pemfile == NULL)
				continue;
			tc.pemfile = d->cfg.ids[i].pemfile;
			tc.key_password = d->cfg.ids[i].key_password;
			d->id_server[i] = sx_tls_ctx_new(SX_SERVER, &tc, error_r);
			if (d->id_server[i] == NULL)
				return -1;
		}
		sx_tls_ctx_set_sni(d->tls_server, d_sni, d);
	}
	/* Outgoing: STARTTLS whenever offered; the originating domain's
	 * certificate (else local.pemfile) if we have one; the peer's
	 * checked against the cachain, failures only mean no SASL EXTERNAL
	 * (dialback still authenticates). */
	tc.verify_mode = d->cfg.cachain != NULL ? 1 : 0;
	for (i = 0; i < d->nids; i++) {
		if (d->cfg.ids[i].pemfile == NULL)
			continue;
		tc.pemfile = d->cfg.ids[i].pemfile;
		tc.key_password = d->cfg.ids[i].key_password;
		d->id_client[i] = sx_tls_ctx_new(SX_CLIENT, &tc, error_r);
		if (d->id_client[i] == NULL)
			return -1;
	}
	tc.pemfile = d->cfg.pemfile;
	tc.key_password = d->cfg.key_password;
	d->tls_client = sx_tls_ctx_new(SX_CLIENT, &tc, error_r);
	return d->tls_client != NULL ? 0 : -1;
}

/* GET /metrics (metrics/metrics.h). */
static void render_metrics(struct buf *out, void *ctx)
{
	struct s2sd *d = ctx;
	uint64_t in = 0, out_n = 0, queued = 0, waiting = 0;
	struct s2s_conn *c;
	struct xhash_iter it;
	const char *key;
	void *val;

	LIST_FOREACH(c, &d->s2s->conns, struct s2s_conn, link) {
		if (c->incoming)
			in++;
		else
			out_n++;
	}
	xhash_iter_init(d->s2s->pairs, &it);
	while (xhash_iter_next(&it, &key, &val)) {
		const struct s2s_pair *p = val;

		queued += p->qlen;
		waiting += p->qlen > 0;
	}
	metrics_common(out, d->metrics);
	metrics_head(out, "jabberd_s2s_streams", "gauge", "Server-to-server streams, by direction.");
	metrics_sample_label(out, "jabberd_s2s_streams", "direction", "in", in);
	metrics_sample_label(out, "jabberd_s2s_streams", "direction", "out", out_n);
	metrics_one(out, "jabberd_s2s_domain_pairs", "gauge",
		    "Local/remote domain pairs known (validated or being validated).",
		    xhash_count(d->s2s->pairs));
	metrics_one(out, "jabberd_s2s_queued_stanzas", "gauge",
		    "Stanzas waiting for a remote domain's stream.", queued);
	metrics_one(out, "jabberd_s2s_waiting_pairs", "gauge",
		    "Domain pairs with stanzas waiting.", waiting);
	metrics_one(out, "jabberd_s2s_router_link_up", "gauge",
		    "1 while the link to the router is open.", comp_is_open(d->comp) ? 1 : 0);
	{
		static const char *const conds[] = S2S_BOUNCE_CONDS;

		metrics_head(out, "jabberd_s2s_bounced_total", "counter",
			     "Stanzas sent back to their sender with an error, by condition.");
		for (size_t i = 0; i < sizeof(conds) / sizeof(conds[0]); i++)
			metrics_sample_label(out, "jabberd_s2s_bounced_total", "condition",
					     conds[i], d->s2s->bounced[i]);
	}
	metrics_head(out, "jabberd_s2s_dropped_total", "counter",
		     "Stanzas dropped without an answer, by cause.");
	metrics_sample_label(out, "jabberd_s2s_dropped_total", "cause", "error-not-bounced",
			     d->s2s->dropped);
}

static int d_setup(struct s2sd *d)
{
	struct s2s_settings set = { 0 };
	const char *err;

	if (make_tls(d, &err) < 0) {
		log_error("s2s: TLS: %s", err);
		return -1;
	}
	if ((d->res = s2s_resolver_new(d->mio, &d->cfg, &err)) == NULL) {
		log_error("s2s: resolver: %s", err);
		return -1;
	}
	set.id = d->cfg.id;
	set.secret = d->cfg.secret;
	set.tls_server = d->tls_server;
	set.tls_client = d->tls_client;
	set.have_client_cert = d->cfg.pemfile != NULL || d->tls_server != NULL;
	set.require_tls = d->cfg.require_tls;
	set.out_conn_reuse = d->cfg.out_conn_reuse;
	set.check_queue = d->cfg.check_queue > 0 ? d->cfg.check_queue : 86400;
	set.check_idle = d->cfg.check_idle;
	set.check_keepalive = d->cfg.check_keepalive;
	set.queue_max = d->cfg.queue_max;
	set.domainstreams = d->cfg.domainstreams;
	set.stanzasize = (size_t)d->cfg.stanzasize;
	set.stanza_rate = d->cfg.stanzas;
	set.stanza_rate_seconds = d->cfg.stanzas_seconds;
	set.stanza_rate_throttle = d->cfg.stanzas_throttle;
	set.check_retry = d->cfg.check_retry;
	set.whitelist = d->cfg.enable_whitelist ? d->cfg.whitelist : NULL;
	d->s2s = s2s_new(&set, &d_ops, d);
	if ((d->comp = comp_new(d->mio, &d->cs, &c_cb, d, &err)) == NULL) {
		log_error("s2s: router link: %s", err);
		return -1;
	}
	comp_bind(d->comp, d->cfg.id, NULL, d->cfg.router_non_default ? 0 : COMP_BIND_DEFAULT);
	d->check = mio_timer_new(d->mio, on_check, d);
	if (d->cfg.check_interval > 0)
		mio_timer_start(d->check, (unsigned)d->cfg.check_interval * 1000, 1);
	d->stop = mio_timer_new(d->mio, on_stop, d);
	mio_set_max_conns(d->mio, (unsigned)d->cfg.max_fds);
	if (metrics_start(d->mio, d->cf, "s2s", render_metrics, d, &d->metrics, &err) < 0) {
		log_error("s2s: %s", err);
		return -1;
	}
	return 0;
}

static int d_run(struct s2sd *d)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2 };
	struct mio_timer *watchdog;
	const char *err;
	size_t i;
	int rc;

	if ((d->mio = mio_new(&err)) == NULL) {
		log_error("s2s: %s", err);
		return 1;
	}
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (mio_signal(d->mio, sigs[i], on_signal, d, &err) < 0) {
			log_error("s2s: %s", err);
			return 1;
		}
	signals_release();
	if (d_setup(d) < 0)
		return 1;
	comp_start(d->comp);
	watchdog = mio_timer_new(d->mio, sdnotify_watchdog_timer, NULL);
	if (sdnotify_watchdog_ms() > 0)
		mio_timer_start(watchdog, sdnotify_watchdog_ms(), 1);
	if (mio_run(d->mio, &err) < 0) {
		log_error("s2s: %s", err);
		rc = 1;
	} else
		rc = d->rc;
	mio_timer_free(&watchdog);
	return rc;
}

static void d_free(struct s2sd *d)
{
	struct attempt *a, *tmp;

	LIST_FOREACH_SAFE(a, tmp, &d->attempts, struct attempt, link) {
		mio_connector_cancel(&a->ctor);
		attempt_free(a);
	}
	metrics_free(&d->metrics);
	comp_free(&d->comp);
	mio_listener_free(&d->listener);
	mio_listener_free(&d->tls_listener);
	mio_timer_free(&d->check);
	mio_timer_free(&d->stop);
	s2s_resolver_free(&d->res);
	/* Closing the loop closes the transports; the engine goes after
	 * and frees its streams without touching them. */
	d->exiting = 1;
	mio_free(&d->mio);
	s2s_free(&d->s2s);
	sx_tls_ctx_free(&d->tls_server);
	sx_tls_ctx_free(&d->tls_client);
	for (size_t i = 0; i < d->nids; i++) {
		sx_tls_ctx_free(&d->id_server[i]);
		sx_tls_ctx_free(&d->id_client[i]);
	}
	free(d->id_server);
	free(d->id_client);
	s2s_config_clear(&d->cfg);
	config_free(&d->cf);
}

int main(int argc, char **argv)
{
	const char *file = SYSCONFDIR "/s2s.xml", *id = NULL, *err;
	struct s2sd d = { 0 };
	int ch, debug = 0, check_only = 0, rc;

	signals_hold();        /* until the loop handles them */
	umask(027);
	while ((ch = getopt(argc, argv, "Dc:hi:t?")) != -1) {
		switch (ch) {
		case 'c': file = optarg; break;
		case 'i': id = optarg; break;
		case 'D': debug = 1; break;
		case 't': check_only = 1; break;
		default: usage();
		}
	}
	list_init(&d.attempts);
	if ((d.cf = config_load(file, id, &err)) == NULL ||
	    s2s_config_read(d.cf, &d.cfg, &err) < 0 || comp_settings_load(d.cf, &d.cs, &err) < 0) {
		fprintf(stderr, "s2s: %s\n", err);
		s2s_config_clear(&d.cfg);
		config_free(&d.cf);
		return 2;
	}
	if (check_only) {
		printf("s2s: %s is valid\n", file);
		d_free(&d);
		return 0;
	}
	d.cs.ident = "s2s";
	if (log_open(log_type_parse(d.cfg.log_type), d.cfg.log_ident, d.cfg.log_facility,
		     d.cfg.log_file, &err) < 0) {
		fprintf(stderr, "s2s: %s\n", err);
		d_free(&d);
		return 1;
	}
	log_set_debug(debug);
	if (pidfile_write(d.cfg.pidfile, &err) < 0)
		log_warnx("s2s: cannot write pid file %s: %s", d.cfg.pidfile, err);
	rc = d_run(&d);
	pidfile_remove(d.cfg.pidfile);
	d_free(&d);
	log_close();
	return rc;
}
