/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * main.c: the router daemon. Reads the command line (-c FILE, -i ID, -D,
 * -h, as jabberd2's router) and router.xml (keys declared once in a table;
 * the structured sections - log type, limits, access rules, aliases, ACLs -
 * walked by hand), writes the pid file, opens the log, loads
 * router-users.xml, router-filter.xml and the optional module, listens,
 * and runs the loop. SIGHUP reopens the log and reloads users and filter,
 * then tells the module. SIGTERM/SIGINT tell the module first (it may keep
 * the loop running, bounded, while it drains and tells its peers), then
 * close every stream cleanly; the module is freed before the loop, and the
 * router exits 0.
 */
#include "config.h"
#include "router/router.h"
#include "router/router_module.h"

#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
#ifndef ROUTER_MODULE_DIR
#define ROUTER_MODULE_DIR "/usr/lib/jabberd-cluster"
#endif

/* How long SIGTERM waits for the streams to close. */
#define ROUTERD_DRAIN_MS 5000

struct routerd_opts {
	const char *pidfile;
	const char *log_ident, *log_facility, *log_file;
	const char *ip;
	int port;
	const char *users, *secret, *pemfile, *key_password, *ciphers, *ciphersuites;
	int check_interval, keepalive, max_fds;
	int bytes, connects;
	const char *access_order, *filter, *module;
	int message_logging;
	const char *message_log_file;
};

#define O(f) offsetof(struct routerd_opts, f)
static const struct config_key routerd_keys[] = {
	{ "pidfile", CONFIG_STRING, NULL, O(pidfile), 0, 0 },
	{ "log.ident", CONFIG_STRING, "jabberd/router", O(log_ident), 0, 0 },
	{ "log.facility", CONFIG_STRING, NULL, O(log_facility), 0, 0 },
	{ "log.file", CONFIG_STRING, NULL, O(log_file), 0, 0 },
	{ "local.ip", CONFIG_STRING, "0.0.0.0", O(ip), 0, 0 },
	{ "local.port", CONFIG_INT, "5347", O(port), 1, 65535 },
	{ "local.users", CONFIG_STRING, SYSCONFDIR "/router-users.xml", O(users), 0, 0 },
	{ "local.secret", CONFIG_STRING, NULL, O(secret), 0, 0 },
	{ "local.pemfile", CONFIG_STRING, NULL, O(pemfile), 0, 0 },
	{ "local.private_key_password", CONFIG_STRING, NULL, O(key_password), 0, 0 },
	{ "local.ciphers", CONFIG_STRING, NULL, O(ciphers), 0, 0 },
	{ "local.ciphersuites", CONFIG_STRING, NULL, O(ciphersuites), 0, 0 },
	{ "check.interval", CONFIG_INT, "60", O(check_interval), 0, 86400 },
	{ "check.keepalive", CONFIG_INT, "0", O(keepalive), 0, 86400 },
	{ "io.max_fds", CONFIG_INT, "1024", O(max_fds), 0, 1 << 20 },
	{ "io.limits.bytes", CONFIG_INT, "0", O(bytes), 0, 0 },
	{ "io.limits.connects", CONFIG_INT, "0", O(connects), 0, 0 },
	{ "io.access.order", CONFIG_STRING, NULL, O(access_order), 0, 0 },
	{ "aci.filter", CONFIG_STRING, SYSCONFDIR "/router-filter.xml", O(filter), 0, 0 },
	{ "message_logging.enabled", CONFIG_FLAG, "0", O(message_logging), 0, 0 },
	{ "message_logging.file", CONFIG_STRING, NULL, O(message_log_file), 0, 0 },
	{ "module", CONFIG_STRING, NULL, O(module), 0, 0 },
	{ NULL, 0, NULL, 0, 0, 0 },
};
#undef O

/* Sections walked by hand below. */
static const char *const routerd_sections[] = {
	"id", "log", "io.limits", "io.access", "aliases", "aci", "cluster", "metrics", NULL,
};

static void usage(void)
{
	printf("router - jabberd2-compatible component router (" PACKAGE_STRING ")\n"
	       "usage: router [-c config] [-i id] [-D] [-h]\n");
	exit(1);
}

/* An attribute of the first `key` read as seconds, or `def`. */
static unsigned attr_seconds(const struct config *cfg, const char *key,
			     const char *attr, unsigned def)
{
	const char *v = config_attr(cfg, key, 0, attr);

	return v != NULL ? (unsigned)strtoul(v, NULL, 10) : def;
}

/* ACLs, aliases and access rules from their sections. */
static int read_sections(struct routerd *d, const struct routerd_opts *o,
			 const char **error_r)
{
	const struct config *cfg = d->cfg;
	int i, n;

	for (i = 0, n = config_count(cfg, "aci.acl"); i < n; i++) {
		const struct config_node *acl = config_node(cfg, "aci.acl", i), *u;
		int type = router_acl_type(config_node_attr(acl, "type"));

		if (type < 0) {
			log_warnx("%s", config_errorf(cfg, acl, "unknown ACL type ignored"));
			continue;
		}
		for (u = config_node_child(acl, "user"); u != NULL; u = config_node_next(u, "user"))
			router_acl_add(d->r, type, config_node_value(u));
	}
	for (i = 0, n = config_count(cfg, "aliases.alias"); i < n; i++) {
		const char *name = config_attr(cfg, "aliases.alias", i, "name");
		const char *target = config_attr(cfg, "aliases.alias", i, "target");

		if (name != NULL && target != NULL)
			router_alias_add(d->r, name, target);
	}
	d->access = mio_access_new(mio_access_order_parse(o->access_order));
	for (int allow = 0; allow < 2; allow++) {
		const char *key = allow ? "io.access.allow" : "io.access.deny";

		for (i = 0, n = config_count(cfg, key); i < n; i++) {
			const char *ip = config_attr(cfg, key, i, "ip");

			if (ip == NULL || mio_access_add(d->access, allow, ip,
							 config_attr(cfg, key, i, "mask"),
							 error_r) < 0) {
				*error_r = config_errorf(cfg, config_node(cfg, key, i), "%s",
							 ip == NULL ? "no ip" : *error_r);
				return -1;
			}
		}
	}
	return 0;
}

static void load_users(struct routerd *d)
{
	const char *file = config_get(d->cfg, "local.users"), *error;
	struct xhash *users;

	if (file == NULL)
		file = SYSCONFDIR "/router-users.xml";
	users = routerd_users_load(file, &error);
	if (users == NULL)
		log_error("router: cannot load users: %s; nobody can log in", error);
	else if (xhash_count(users) == 0)
		log_error("router: %s has no users; nobody can log in", file);
	if (d->users != NULL) {
		xhash_clear(d->users, free);
		xhash_free(&d->users);
	}
	d->users = users;
}

static int load_filter(struct routerd *d, const char *file, const char **error_r)
{
	struct router_filter *f = NULL;

	router_filter_free(&d->r->filter);
	if (router_filter_load(file, &f, error_r) < 0)
		return -1;
	d->r->filter = f;
	if (f != NULL)
		log_info("router: %u filter rules loaded from %s", router_filter_count(f), file);
	return 0;
}

/*
 * The module: <cluster> loads the cluster module from <cluster><module>,
 * or from the installed module directory; a top-level <module> loads any
 * module. Errors name the file, line and element.
 */
static int load_module(struct routerd *d, const struct routerd_opts *o,
		       const char **error_r)
{
	const struct config_node *cluster = config_node(d->cfg, "cluster", 0);
	const struct config_node *node = cluster;
	const char *path = o->module;

	if (cluster != NULL && o->module != NULL) {
		*error_r = config_errorf(d->cfg, config_node(d->cfg, "module", 0),
					 "a module is loaded by <cluster>; remove <module>");
		return -1;
	}
	if (cluster != NULL) {
		path = config_get(d->cfg, "cluster.module");
		if (path == NULL)
			path = ROUTER_MODULE_DIR "/cluster.so";
		else
			node = config_node(d->cfg, "cluster.module", 0);
	} else if (path != NULL) {
		node = config_node(d->cfg, "module", 0);
	} else {
		return 0;
	}
	if (router_module_load(d->r, path, error_r) < 0) {
		char reason[512];

		/* The reason may be in config_errorf's own buffer. */
		snprintf(reason, sizeof(reason), "%s", *error_r);
		*error_r = config_errorf(d->cfg, node, "%s", reason);
		return -1;
	}
	return 0;
}

/* ---- signals and timers ---- */

static void on_hup(int signo, void *ctx)
{
	struct routerd *d = ctx;
	const char *file = config_get(d->cfg, "aci.filter"), *error;

	sdnotify_reloading();
	log_reopen();
	if (d->r->msglog != NULL)
		router_msglog_reopen(d->r->msglog);
	log_notice("router: SIGHUP: reloading users and filter");
	load_users(d);
	if (load_filter(d, file != NULL ? file : SYSCONFDIR "/router-filter.xml", &error) < 0)
		log_error("router: filter: %s; no rules now", error);
	router_module_hup(d->r);
	sdnotify_reloaded();
}

static void on_drain_timeout(struct mio_timer *t, void *ctx)
{
	mio_stop(ctx);
}

/* SIGTERM, after the module: stop listening, close every stream, and
 * stop the loop once they are closed (or after ROUTERD_DRAIN_MS). */
static void close_streams(struct routerd *d)
{
	if (d->closing)
		return;
	d->closing = 1;
	mio_timer_free(&d->module_wait);
	mio_listener_free(&d->listener);
	routerd_close_all(d);
	if (list_empty(&d->conns)) {
		mio_stop(d->mio);
		return;
	}
	d->drain = mio_timer_new(d->mio, on_drain_timeout, d->mio);
	mio_timer_start(d->drain, ROUTERD_DRAIN_MS, 0);
}

/* router_mod_stopped(), or the module's time is up. */
static void on_module_stopped(void *ctx)
{
	struct routerd *d = ctx;

	if (!d->module_draining)
		return;
	d->module_draining = 0;
	close_streams(d);
}

static void on_module_timeout(struct mio_timer *t, void *ctx)
{
	log_warnx("router: the module did not finish stopping in %d ms", ROUTER_MOD_STOP_MS);
	on_module_stopped(ctx);
}

static void on_term(int signo, void *ctx)
{
	struct routerd *d = ctx;

	if (d->shutting_down)
		return;
	log_notice("router: shutting down (signal %d)", signo);
	d->shutting_down = 1;
	sdnotify_stopping();
	/* The module goes first, while the components are still here. */
	d->module_draining = 1;
	if (router_module_stop(d->r) && d->module_draining) {
		d->module_wait = mio_timer_new(d->mio, on_module_timeout, d);
		mio_timer_start(d->module_wait, ROUTER_MOD_STOP_MS, 0);
		return;
	}
	d->module_draining = 0;
	close_streams(d);
}

static void on_debug(int signo, void *ctx)
{
	log_set_debug(signo == SIGUSR2);
}

static unsigned keepalive_secs;

static void on_check(struct mio_timer *t, void *ctx)
{
	if (keepalive_secs > 0)
		routerd_keepalive(ctx, keepalive_secs);
}

/* ---- start ---- */

static int setup(struct routerd *d, const struct routerd_opts *o, const char **error_r)
{
	struct mio_listen_settings ls = { .ip = o->ip, .port = o->port };
	struct sx_tls_config tc = { .pemfile = o->pemfile, .key_password = o->key_password,
				    .ciphers = o->ciphers, .ciphersuites = o->ciphersuites };

	if (read_sections(d, o, error_r) < 0 || routerd_sasl_init(d, error_r) < 0)
		return -1;
	if (o->pemfile != NULL && (d->tls = sx_tls_ctx_new(SX_SERVER, &tc, error_r)) == NULL)
		return -1;
	if (load_filter(d, o->filter, error_r) < 0)
		return -1;
	if (o->message_logging) {
		if (o->message_log_file == NULL) {
			*error_r = "message_logging enabled without a <file>";
			return -1;
		}
		if ((d->r->msglog = router_msglog_new(o->message_log_file, error_r)) == NULL)
			return -1;
	}
	if (load_module(d, o, error_r) < 0)
		return -1;
	d->bytes.max = (unsigned)o->bytes;
	d->bytes.window_ms = 1000 * attr_seconds(d->cfg, "io.limits.bytes", "seconds", 5);
	d->bytes.throttle_ms = 1000 * attr_seconds(d->cfg, "io.limits.bytes", "throttle", 5);
	ls.connects.max = (unsigned)o->connects;
	ls.connects.window_ms = 1000 * attr_seconds(d->cfg, "io.limits.connects", "seconds", 5);
	ls.connects.throttle_ms = 1000 * attr_seconds(d->cfg, "io.limits.connects", "throttle", 5);
	ls.access = d->access;
	mio_set_max_conns(d->mio, (unsigned)o->max_fds);
	d->listener = mio_listen(d->mio, &ls, routerd_accept, d, error_r);
	return d->listener != NULL ? 0 : -1;
}

/* GET /metrics (metrics/metrics.h). */
static void render_metrics(struct buf *out, void *ctx)
{
	static const char *const codes[] = { "400", "401", "404", "other" };
	struct routerd *d = ctx;
	struct router *r = d->r;
	struct router_comp *c;
	uint64_t comps = 0, queued = 0;

	LIST_FOREACH(c, &r->comps, struct router_comp, link) {
		comps++;
		queued += c->nqueue;
	}
	metrics_common(out, d->metrics);
	metrics_one(out, "jabberd_router_components", "gauge",
		    "Components connected (sm, c2s, s2s, others), the module's stand-in included.",
		    comps);
	metrics_one(out, "jabberd_router_routes", "gauge", "Names routed (bound domains and ids).",
		    xhash_count(r->routes));
	metrics_one(out, "jabberd_router_throttle_queued", "gauge",
		    "Routes held for components that asked to be throttled.", queued);
	metrics_one(out, "jabberd_router_routed_total", "counter", "Unicast routes delivered.",
		    r->routed);
	metrics_head(out, "jabberd_router_bounced_total", "counter",
		     "Routes sent back with an error, by error code.");
	for (size_t i = 0; i < 4; i++)
		metrics_sample_label(out, "jabberd_router_bounced_total", "code", codes[i],
				     r->bounced_code[i]);
	metrics_head(out, "jabberd_router_dropped_total", "counter",
		     "Routes dropped without an answer, by cause.");
	metrics_sample_label(out, "jabberd_router_dropped_total", "cause", "throttle-queue-full",
			     r->dropped_queue_full);
	metrics_one(out, "jabberd_router_redirect_hits_total", "counter",
		    "Routes a per-JID redirect sent.", r->redirected);
	metrics_one(out, "jabberd_router_redirect_entries", "gauge", "Per-JID redirects set.",
		    xhash_count(r->redirects));
}

static int run(struct routerd *d, const struct routerd_opts *o)
{
	const char *error;
	struct mio_timer *check, *watchdog;
	int rc = 0;

	if (setup(d, o, &error) < 0 ||
	    metrics_start(d->mio, d->cfg, "router", render_metrics, d, &d->metrics, &error) < 0) {
		log_error("router: %s", error);
		return 1;
	}
	log_notice("router: listening on %s:%d", o->ip, mio_listener_port(d->listener));
	sdnotify_ready("listening for components");
	watchdog = mio_timer_new(d->mio, sdnotify_watchdog_timer, NULL);
	if (sdnotify_watchdog_ms() > 0)
		mio_timer_start(watchdog, sdnotify_watchdog_ms(), 1);
	mio_signal(d->mio, SIGHUP, on_hup, d, &error);
	mio_signal(d->mio, SIGTERM, on_term, d, &error);
	mio_signal(d->mio, SIGINT, on_term, d, &error);
	mio_signal(d->mio, SIGUSR1, on_debug, d, &error);
	mio_signal(d->mio, SIGUSR2, on_debug, d, &error);
	signals_release();
	keepalive_secs = (unsigned)o->keepalive;
	check = mio_timer_new(d->mio, on_check, d);
	if (o->check_interval > 0)
		mio_timer_start(check, 1000u * (unsigned)(keepalive_secs > 0 &&
			keepalive_secs < (unsigned)o->check_interval ?
			(int)keepalive_secs : o->check_interval), 1);
	if (mio_run(d->mio, &error) < 0) {
		log_error("router: %s", error);
		rc = 1;
	}
	mio_timer_free(&check);
	mio_timer_free(&watchdog);
	log_notice("router: stopped (%llu routed, %llu bounced)",
		   (unsigned long long)d->r->routed, (unsigned long long)d->r->bounced);
	return rc;
}

int main(int argc, char **argv)
{
	const char *file = SYSCONFDIR "/router.xml", *id = NULL, *error;
	struct routerd d = { 0 };
	struct routerd_opts o = { 0 };
	int ch, debug = 0, rc;

	signals_hold();        /* until the loop handles them */
	umask(027);
	while ((ch = getopt(argc, argv, "Dc:hi:?")) != -1) {
		switch (ch) {
		case 'c': file = optarg; break;
		case 'i': id = optarg; break;
		case 'D': debug = 1; break;
		default: usage();
		}
	}
	if ((d.cfg = config_load(file, id, &error)) == NULL) {
		fprintf(stderr, "router: %s\n", error);
		return 2;
	}
	if (config_apply(d.cfg, routerd_keys, &o, &error) < 0) {
		fprintf(stderr, "router: %s\n", error);
		return 2;
	}
	if (log_open(log_type_parse(config_attr(d.cfg, "log", 0, "type")), o.log_ident,
		     o.log_facility, o.log_file, &error) < 0) {
		fprintf(stderr, "router: %s\n", error);
		return 1;
	}
	log_set_debug(debug);
	config_unknown(d.cfg, routerd_keys, routerd_sections);
	if (pidfile_write(o.pidfile, &error) < 0)
		log_warnx("router: cannot write pid file %s: %s", o.pidfile, error);
	list_init(&d.conns);
	d.r = router_new();
	d.r->cfg = d.cfg;
	d.secret = o.secret;
	if ((d.mio = d.r->mio = mio_new(&error)) == NULL)
		fatalx("router: %s", error);
	routerd_links_init(&d);
	load_users(&d);
	d.r->congested = routerd_comp_congested;
	d.r->module_stopped = on_module_stopped;
	d.r->module_stopped_ctx = &d;
	rc = run(&d, &o);
	/* The module before the loop: it frees its own listeners, streams
	 * and timers. Then the loop: closing the streams frees their
	 * components. */
	router_module_unload(d.r);
	metrics_free(&d.metrics);
	d.exiting = 1;
	mio_timer_free(&d.module_wait);
	mio_free(&d.mio);
	mio_timer_free(&d.drain);
	link_set_free(&d.links);
	router_free(&d.r);
	sx_sasl_ctx_free(&d.sasl);
	sx_tls_ctx_free(&d.tls);
	mio_access_free(&d.access);
	if (d.users != NULL)
		xhash_clear(d.users, free);
	xhash_free(&d.users);
	pidfile_remove(o.pidfile);
	config_free(&d.cfg);
	log_close();
	return rc;
}
