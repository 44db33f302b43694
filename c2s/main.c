/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * main.c: the c2s daemon. Reads the command line (-c FILE, -i ID, -D, -h,
 * as jabberd2's c2s) and c2s.xml (config.c), writes the pid file, opens
 * the log and authreg, connects to the router (comp/) and binds its id;
 * the client listeners open only once the router accepted that bind, as
 * in jabberd2. SIGHUP reopens the log and reloads stream_redirect;
 * SIGTERM/SIGINT close every client
 * stream (system-shutdown, sessions ended at the sm), then the router
 * link, and exit 0. Giving up on the router also exits 0 (compat spec 1).
 */
#include "config.h"
#include "c2s/c2s.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "comp/comp.h"
#include "link/link.h"
#include "metrics/metrics.h"
#include "util/buf.h"
#include "util/config_file.h"
#include "util/log.h"
#include "util/pidfile.h"
#include "util/sdnotify.h"
#include "util/signals.h"
#include "util/xhash.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc/jabberd"
#endif

/* How long SIGTERM waits for the streams to close. */
#define C2S_DRAIN_MS 3000

static void usage(void)
{
	printf("c2s - jabberd2-compatible client-to-server daemon (" PACKAGE_STRING ")\n"
	       "usage: c2s [-c config] [-i id] [-D] [-t] [-h]\n"
	       "  -t  check the configuration (authreg is not opened), then exit\n");
	exit(1);
}

static unsigned attr_seconds(const struct config *cfg, const char *key, const char *attr,
			     unsigned def)
{
	const char *v = config_attr(cfg, key, 0, attr);

	return v != NULL ? (unsigned)strtoul(v, NULL, 10) : def;
}

/* ---- listeners, opened once the router took our bind ---- */

static int listen_all(struct c2s *c2s, const char **error_r)
{
	const struct c2s_opts *o = &c2s->o;
	struct mio_listen_settings ls = { .ip = o->ip, .access = c2s->access };
	struct sx_tls_config tc = { .pemfile = o->pemfile, .cachain = o->cachain,
				    .key_password = o->key_password, .ciphers = o->ciphers,
				    .ciphersuites = o->ciphersuites };

	ls.connects.max = (unsigned)o->connects;
	ls.connects.window_ms = 1000 * attr_seconds(c2s->cfg, "io.limits.connects", "seconds", 5);
	ls.connects.throttle_ms = 1000 * attr_seconds(c2s->cfg, "io.limits.connects", "throttle", 5);
	if (o->port > 0) {
		ls.port = o->port;
		c2s->listener = mio_listen(c2s->mio, &ls, c2s_accept, c2s, error_r);
		if (c2s->listener == NULL)
			return -1;
		log_notice("c2s: listening for clients on %s:%d", o->ip, o->port);
	}
	if (o->ssl_port > 0) {
		if (o->pemfile == NULL) {
			*error_r = "local.ssl-port needs local.pemfile";
			return -1;
		}
		if (c2s->ssl_tls == NULL &&
		    (c2s->ssl_tls = sx_tls_ctx_new(SX_SERVER, &tc, error_r)) == NULL)
			return -1;
		ls.port = o->ssl_port;
		c2s->ssl_listener = mio_listen(c2s->mio, &ls, c2s_accept_ssl, c2s, error_r);
		if (c2s->ssl_listener == NULL)
			return -1;
		log_notice("c2s: listening for direct TLS clients on %s:%d", o->ip, o->ssl_port);
	}
	if (c2s_ws_port(c2s) > 0) {
		ls.port = c2s_ws_port(c2s);
		c2s->ws_listener = mio_listen(c2s->mio, &ls, c2s_accept, c2s, error_r);
		if (c2s->ws_listener == NULL)
			return -1;
		log_notice("c2s: listening for WebSocket clients on %s:%d", o->ip, ls.port);
	}
	return 0;
}

/* ---- the router link ---- */

static void on_bound(struct comp *comp, const char *name, int error, void *ctx)
{
	struct c2s *c2s = ctx;
	const char *err;

	if (error != 0) {
		/* jabberd2's c2s treats a refused bind as fatal. */
		c2s->exit_code = 1;
		mio_stop(c2s->mio);
		return;
	}
	if (c2s->listener != NULL || c2s->ssl_listener != NULL || c2s->ws_listener != NULL)
		return;
	if (listen_all(c2s, &err) < 0) {
		log_error("c2s: %s", err);
		c2s->exit_code = 1;
		mio_stop(c2s->mio);
		return;
	}
	log_notice("c2s: ready for clients");
	sdnotify_ready("ready for clients");
}

static void on_down(struct comp *comp, const char *reason, int final, void *ctx)
{
	struct c2s *c2s = ctx;

	log_warnx("c2s: router link down: %s", reason != NULL ? reason : "closed");
	/* Without the router no session can go on: the sm will drop them. */
	c2s_close_all(c2s, NULL, "internal-server-error");
	c2s_sm_parked_orphan(c2s, NULL);
	if (final) {
		if (!c2s->shutting_down)
			log_notice("c2s: giving up on the router; exiting");
		mio_stop(c2s->mio);
	}
}

/* ---- signals and timers ---- */

static void on_hup(int signo, void *ctx)
{
	struct c2s *c2s = ctx;
	struct config *cfg;
	const char *error;

	sdnotify_reloading();
	log_reopen();
	cfg = config_load(c2s->cfg_file, c2s->cfg_id, &error);
	if (cfg == NULL) {
		log_error("c2s: SIGHUP: %s; stream_redirect unchanged", error);
		sdnotify_reloaded();
		return;
	}
	c2s_redirects_read(c2s, cfg);
	config_free(&cfg);
	log_notice("c2s: SIGHUP: log reopened, %zu stream redirects", c2s->nredirects);
	sdnotify_reloaded();
}

/* Clients that do not close in time are cut off, and so is the link. */
static void on_drain_timeout(struct mio_timer *t, void *ctx)
{
	struct c2s *c2s = ctx;

	log_warnx("c2s: shutdown took too long; stopping now");
	mio_stop(c2s->mio);
}

static void on_term(int signo, void *ctx)
{
	struct c2s *c2s = ctx;

	if (c2s->shutting_down)
		return;
	log_notice("c2s: shutting down (signal %d)", signo);
	c2s->shutting_down = 1;
	sdnotify_stopping();
	mio_listener_free(&c2s->listener);
	mio_listener_free(&c2s->ssl_listener);
	mio_listener_free(&c2s->ws_listener);
	c2s_close_all(c2s, NULL, "system-shutdown");
	c2s_sm_shutdown(c2s);
	c2s->drain = mio_timer_new(c2s->mio, on_drain_timeout, c2s);
	mio_timer_start(c2s->drain, C2S_DRAIN_MS, 0);
	if (list_empty(&c2s->all))
		c2s_shutdown_link(c2s);
}

static void on_debug(int signo, void *ctx)
{
	log_set_debug(signo == SIGUSR2);
}

static void on_check(struct mio_timer *t, void *ctx)
{
	c2s_check(ctx);
}

static void check_interval_start(struct c2s *c2s)
{
	unsigned s = (unsigned)c2s->o.check_interval;

	/* The auth timeout needs the check even when io.check is off. */
	if (s == 0 && c2s->o.auth_timeout > 0)
		s = 10;
	c2s->check = mio_timer_new(c2s->mio, on_check, c2s);
	if (s > 0)
		mio_timer_start(c2s->check, 1000u * s, 1);
}

static int setup(struct c2s *c2s, const char **error_r)
{
	static const struct comp_callbacks cb = {
		.bound = on_bound,
		.element = c2s_router_element,
		.down = on_down,
	};
	struct comp_settings cs;

	if (comp_settings_load(c2s->cfg, &cs, error_r) < 0)
		return -1;
	cs.ident = "c2s";
	c2s->bytes.max = (unsigned)c2s->o.bytes;
	c2s->bytes.window_ms = 1000 * attr_seconds(c2s->cfg, "io.limits.bytes", "seconds", 1);
	c2s->bytes.throttle_ms = 1000 * attr_seconds(c2s->cfg, "io.limits.bytes", "throttle", 5);
	c2s->stanzas.max = (unsigned)c2s->o.stanzas;
	c2s->stanzas.window_ms = 1000 * attr_seconds(c2s->cfg, "io.limits.stanzas", "seconds", 1);
	c2s->stanzas.throttle_ms = 1000 * attr_seconds(c2s->cfg, "io.limits.stanzas", "throttle", 5);
	mio_set_max_conns(c2s->mio, (unsigned)c2s->o.max_fds);
	c2s->comp = comp_new(c2s->mio, &cs, &cb, c2s, error_r);
	if (c2s->comp == NULL)
		return -1;
	comp_bind(c2s->comp, c2s->o.id, NULL, 0);
	comp_start(c2s->comp);
	return 0;
}

/* GET /metrics (metrics/metrics.h): what an operator graphs. */
static void render_metrics(struct buf *out, void *ctx)
{
	struct c2s *c2s = ctx;
	uint64_t streams = 0, authed = 0, active = 0;
	struct c2s_conn *c;

	LIST_FOREACH(c, &c2s->all, struct c2s_conn, link) {
		streams++;
		if (c->state >= C2S_AUTHED)
			authed++;
		if (c->state == C2S_ACTIVE)
			active++;
	}
	metrics_common(out, c2s->metrics);
	metrics_one(out, "jabberd_c2s_client_streams", "gauge",
		    "Client streams open (TCP, TLS and WebSocket).", streams);
	metrics_one(out, "jabberd_c2s_authenticated_streams", "gauge",
		    "Client streams past authentication.", authed);
	metrics_one(out, "jabberd_c2s_sessions", "gauge",
		    "Sessions open at the sm (resource bound and started).", active);
	metrics_one(out, "jabberd_c2s_parked_sessions", "gauge",
		    "XEP-0198 sessions kept for resumption after their connection was cut.",
		    c2s->nparked);
	metrics_one(out, "jabberd_c2s_accepted_streams_total", "counter",
		    "Client connections accepted.", c2s->n.accepted);
	metrics_one(out, "jabberd_c2s_logins_total", "counter",
		    "Successful logins (SASL and XEP-0078).", c2s->n.logins);
	metrics_one(out, "jabberd_c2s_login_failures_total", "counter",
		    "Failed login attempts (wrong credentials, throttled, backend trouble).",
		    c2s->n.login_failures);
	metrics_one(out, "jabberd_c2s_registrations_total", "counter",
		    "Accounts created by in-band registration (XEP-0077).", c2s->n.registrations);
	metrics_one(out, "jabberd_c2s_authreg_calls_total", "counter",
		    "Password checks and lookups made to the authreg backend.",
		    c2s->n.authreg_calls);
	metrics_head(out, "jabberd_c2s_authreg_seconds_total", "counter",
		     "Time c2s waited for the authreg backend, in seconds.");
	metrics_sample_double(out, "jabberd_c2s_authreg_seconds_total",
			      (double)c2s->n.authreg_us / 1e6);
}

static int run(struct c2s *c2s)
{
	struct mio_timer *watchdog;
	const char *error;
	int rc;

	if (setup(c2s, &error) < 0 ||
	    metrics_start(c2s->mio, c2s->cfg, "c2s", render_metrics, c2s, &c2s->metrics,
			       &error) < 0) {
		log_error("c2s: %s", error);
		return 1;
	}
	mio_signal(c2s->mio, SIGHUP, on_hup, c2s, &error);
	mio_signal(c2s->mio, SIGTERM, on_term, c2s, &error);
	mio_signal(c2s->mio, SIGINT, on_term, c2s, &error);
	mio_signal(c2s->mio, SIGUSR1, on_debug, c2s, &error);
	mio_signal(c2s->mio, SIGUSR2, on_debug, c2s, &error);
	signals_release();
	check_interval_start(c2s);
	watchdog = mio_timer_new(c2s->mio, sdnotify_watchdog_timer, NULL);
	if (sdnotify_watchdog_ms() > 0)
		mio_timer_start(watchdog, sdnotify_watchdog_ms(), 1);
	if (mio_run(c2s->mio, &error) < 0) {
		log_error("c2s: %s", error);
		rc = 1;
	} else
		rc = c2s->exit_code;
	mio_timer_free(&watchdog);
	return rc;
}

static void cleanup(struct c2s *c2s)
{
	c2s->exiting = 1;
	metrics_free(&c2s->metrics);
	comp_free(&c2s->comp);
	mio_free(&c2s->mio);
	link_set_free(&c2s->links);
	mio_timer_free(&c2s->check);
	mio_timer_free(&c2s->drain);
	xhash_free(&c2s->conns);
	c2s_sm_free_all(c2s);
	c2s_fail_table_free(&c2s->fails);
	c2s_fail_table_free(&c2s->regs);
	sx_sasl_ctx_free(&c2s->sasl);
	sx_tls_ctx_free(&c2s->ssl_tls);
	c2s_hosts_free(c2s);
	c2s_redirects_free(c2s);
	c2s_ws_free(c2s);
	authreg_free(&c2s->ar);
	mio_access_free(&c2s->access);
	mio_access_free(&c2s->reg_exempt);
	config_free(&c2s->cfg);
	log_close();
}

int main(int argc, char **argv)
{
	const char *file = SYSCONFDIR "/c2s.xml", *id = NULL, *error;
	struct c2s c2s = { 0 };
	int ch, debug = 0, check_only = 0, rc;

	signals_hold();        /* until the loop handles them */
	umask(027);
	while ((ch = getopt(argc, argv, "Dc:hi:t?")) != -1) {
		switch (ch) {
		case 'c': file = optarg; break;
		case 't': check_only = 1; break;
		case 'i': id = optarg; break;
		case 'D': debug = 1; break;
		default: usage();
		}
	}
	if ((c2s.cfg = config_load(file, id, &error)) == NULL) {
		fprintf(stderr, "c2s: %s\n", error);
		return 2;
	}
	if (c2s_config_options(&c2s, &error) < 0) {
		fprintf(stderr, "c2s: %s\n", error);
		config_free(&c2s.cfg);
		return 2;
	}
	if (!check_only && log_open(log_type_parse(config_attr(c2s.cfg, "log", 0, "type")),
				     c2s.o.log_ident, c2s.o.log_facility, c2s.o.log_file, &error) < 0) {
		fprintf(stderr, "c2s: %s\n", error);
		config_free(&c2s.cfg);
		return 1;
	}
	log_set_debug(debug);
	c2s.check_only = check_only;
	c2s.cfg_file = file;
	c2s.cfg_id = id;
	list_init(&c2s.all);
	c2s.conns = xhash_new();
	c2s.fails = xhash_new();
	c2s.regs = xhash_new();
	c2s.parked = xhash_new();
	if (c2s_config_read(&c2s, &error) < 0) {
		log_error("c2s: %s", error);
		cleanup(&c2s);
		return check_only ? 2 : 1;
	}
	if (check_only) {
		printf("c2s: %s: configuration OK\n", file);
		cleanup(&c2s);
		return 0;
	}
	if (pidfile_write(c2s.o.pidfile, &error) < 0)
		log_warnx("c2s: cannot write pid file %s: %s", c2s.o.pidfile, error);
	if ((c2s.mio = mio_new(&error)) == NULL)
		fatalx("c2s: %s", error);
	c2s.links = link_set_new(c2s.mio, &(struct link_set_config){ .trim_ms = C2S_TRIM_MS });
	rc = run(&c2s);
	pidfile_remove(c2s.o.pidfile);
	log_notice("c2s: stopped");
	cleanup(&c2s);
	return rc;
}
