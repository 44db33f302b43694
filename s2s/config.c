/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * config: s2s.xml (compat spec 2.6) into struct s2s_config. Scalars come
 * from one key table; the repeated elements (origins, SRV services,
 * whitelist, static hosts) are walked here. Two additions of ours, both
 * absent from jabberd2 files and so harmless to them:
 *   <lookup><host name='example.org' ip='127.0.0.3' port='5269' [tls='1']/>
 *     a static address for a domain (tests, private networks);
 *   <local><ssl-port>5270</ssl-port>
 *     a second listener speaking TLS at once (direct TLS, XEP-0368, for
 *     _xmpps-server SRV records), named as c2s's; needs local.pemfile;
 *   <lookup><nameserver ip='127.0.0.1' port='5353'/>
 *     the DNS server c-ares asks (tests serve SRV records from loopback);
 *     without it the NSCACHEIP environment variable is honoured as
 *     jabberd2's resolver does, then /etc/resolv.conf; without a port,
 *     RES_OPTIONS's "port:N" (also jabberd2's), then 53.
 * <io><limits><queue>N</queue> bounding each domain pair's queue, and
 * <io><limits><domainstreams>N</domainstreams> bounding the incoming
 * streams one remote domain may hold open (a flood from one peer), and
 * <io><limits><stanzas seconds='1' throttle='1'>200</stanzas> bounding
 * the stanzas one incoming stream may send in a window (0 = no limit):
 * beyond it reading pauses for the throttle time.
 */
#include "config.h"
#include "s2s/s2s.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/config_file.h"
#include "util/hash.h"
#include "util/log.h"

#define OFF(f) offsetof(struct s2s_config, f)

static const struct config_key s2s_keys[] = {
	{ "id", CONFIG_STRING, "s2s", OFF(id), 0, 0 },
	{ "pidfile", CONFIG_STRING, NULL, OFF(pidfile), 0, 0 },
	{ "log.ident", CONFIG_STRING, "jabberd/s2s", OFF(log_ident), 0, 0 },
	{ "log.facility", CONFIG_STRING, NULL, OFF(log_facility), 0, 0 },
	{ "log.file", CONFIG_STRING, NULL, OFF(log_file), 0, 0 },
	{ "router.non-default", CONFIG_FLAG, "0", OFF(router_non_default), 0, 0 },
	{ "local.ip", CONFIG_STRING, "0.0.0.0", OFF(local_ip), 0, 0 },
	{ "local.port", CONFIG_INT, "0", OFF(local_port), 0, 65535 },
	{ "local.ssl-port", CONFIG_INT, "0", OFF(ssl_port), 0, 65535 },
	{ "local.secret", CONFIG_STRING, NULL, OFF(secret), 0, 0 },
	{ "local.pemfile", CONFIG_STRING, NULL, OFF(pemfile), 0, 0 },
	{ "local.cachain", CONFIG_STRING, NULL, OFF(cachain), 0, 0 },
	{ "local.private_key_password", CONFIG_STRING, NULL, OFF(key_password), 0, 0 },
	{ "local.ciphers", CONFIG_STRING, NULL, OFF(ciphers), 0, 0 },
	{ "local.ciphersuites", CONFIG_STRING, NULL, OFF(ciphersuites), 0, 0 },
	{ "local.verify-mode", CONFIG_INT, "0", OFF(verify_mode), 0, 7 },
	{ "io.max_fds", CONFIG_INT, "1024", OFF(max_fds), 0, 1000000 },
	{ "io.limits.stanzasize", CONFIG_INT, "0", OFF(stanzasize), 0, 0x7fffffff },
	{ "io.limits.queue", CONFIG_INT, "1024", OFF(queue_max), 1, 1000000 },
	{ "io.limits.domainstreams", CONFIG_INT, "16", OFF(domainstreams), 0, 100000 },
	{ "io.limits.connects", CONFIG_INT, "0", OFF(connects), 0, 1000000 },
	{ "io.limits.bytes", CONFIG_INT, "0", OFF(bytes), 0, 0x7fffffff },
	{ "io.limits.stanzas", CONFIG_INT, "200", OFF(stanzas), 0, 1000000 },
	{ "check.interval", CONFIG_INT, "60", OFF(check_interval), 0, 86400 },
	{ "check.queue", CONFIG_INT, "60", OFF(check_queue), 0, 86400 },
	{ "check.retry", CONFIG_INT, "300", OFF(check_retry), 0, 86400 },
	{ "check.idle", CONFIG_INT, "86400", OFF(check_idle), 0, 0x7fffffff },
	{ "check.keepalive", CONFIG_INT, "0", OFF(check_keepalive), 0, 86400 },
	{ "check.dnscache", CONFIG_INT, "300", OFF(check_dnscache), 0, 86400 },
	{ "lookup.resolve-ipv6", CONFIG_FLAG, "0", OFF(resolve_ipv6), 0, 0 },
	{ "lookup.no-cache", CONFIG_FLAG, "0", OFF(no_cache), 0, 0 },
	{ "lookup.min-ttl", CONFIG_INT, "30", OFF(min_ttl), 0, 0x7fffffff },
	{ "lookup.max-ttl", CONFIG_INT, "86400", OFF(max_ttl), 0, 0x7fffffff },
	{ "lookup.etc-hosts-ttl", CONFIG_INT, "86400", OFF(etc_hosts_ttl), 0, 0x7fffffff },
	{ "lookup.bad-host-timeout", CONFIG_INT, "3600", OFF(bad_host_timeout), 0, 0x7fffffff },
	{ "out-conn-reuse", CONFIG_FLAG, "0", OFF(out_conn_reuse), 0, 0 },
	{ "security.require_tls", CONFIG_FLAG, "0", OFF(require_tls), 0, 0 },
	{ "security.enable_whitelist", CONFIG_FLAG, "0", OFF(enable_whitelist), 0, 0 },
	{ NULL, 0, NULL, 0, 0, 0 },
};

/* Sections read by hand or by comp, and jabberd2 keys we accept and
 * ignore (stats.packet, io.compression, log.debug). */
static const char *const s2s_known[] = {
	"router", "log", "local.origins", "local.id", "lookup.srv", "lookup.host",
	"lookup.nameserver", "security.whitelist_domain", "stats", "io.compression",
	"metrics", NULL,
};

static const char **s2s_list(const struct config *cf, const char *key)
{
	int n = config_count(cf, key), i;
	const char **v = xcalloc((size_t)n + 1, sizeof(*v));

	for (i = 0; i < n; i++)
		v[i] = config_get_n(cf, key, i);
	return v;
}

/* The @seconds and @throttle of a jabberd2 rate limit element. */
static void s2s_limit_attrs(const struct config *cf, const char *key, int def_seconds,
			    int def_throttle, int *seconds_r, int *throttle_r)
{
	const char *sec = config_attr(cf, key, 0, "seconds");
	const char *thr = config_attr(cf, key, 0, "throttle");

	*seconds_r = sec != NULL && atoi(sec) > 0 ? atoi(sec) : def_seconds;
	*throttle_r = thr != NULL && atoi(thr) > 0 ? atoi(thr) : def_throttle;
}

static int s2s_hosts(const struct config *cf, struct s2s_config *cfg, const char **error_r)
{
	int n = config_count(cf, "lookup.host"), i;

	cfg->hosts = xcalloc((size_t)n + 1, sizeof(*cfg->hosts));
	for (i = 0; i < n; i++) {
		const char *name = config_attr(cf, "lookup.host", i, "name");
		const char *ip = config_attr(cf, "lookup.host", i, "ip");
		const char *port = config_attr(cf, "lookup.host", i, "port");
		const char *tls = config_attr(cf, "lookup.host", i, "tls");

		if (name == NULL || ip == NULL) {
			*error_r = config_errorf(cf, config_node(cf, "lookup.host", i),
						 "a host needs name and ip attributes");
			return -1;
		}
		cfg->hosts[i].name = name;
		cfg->hosts[i].ip = ip;
		cfg->hosts[i].port = port != NULL ? atoi(port) : 5269;
		cfg->hosts[i].direct_tls = tls != NULL && strcmp(tls, "1") == 0;
		if (cfg->hosts[i].port <= 0 || cfg->hosts[i].port > 65535) {
			*error_r = config_errorf(cf, config_node(cf, "lookup.host", i),
						 "bad port '%s'", port);
			return -1;
		}
	}
	return 0;
}

/* <local><id pemfile='...' private-key-password='...'>domain</id>: a
 * certificate per local domain, as jabberd2's s2s.xml allows. */
static int s2s_ids(const struct config *cf, struct s2s_config *cfg, const char **error_r)
{
	int n = config_count(cf, "local.id"), i;

	cfg->ids = xcalloc((size_t)n + 1, sizeof(*cfg->ids));
	for (i = 0; i < n; i++) {
		const char *dom = config_get_n(cf, "local.id", i);

		if (dom == NULL || *dom == '\0') {
			*error_r = config_errorf(cf, config_node(cf, "local.id", i),
						 "an id needs a domain");
			return -1;
		}
		cfg->ids[i].domain = dom;
		cfg->ids[i].pemfile = config_attr(cf, "local.id", i, "pemfile");
		cfg->ids[i].key_password = config_attr(cf, "local.id", i,
						       "private-key-password");
	}
	return 0;
}

int s2s_config_read(const struct config *cf, struct s2s_config *cfg, const char **error_r)
{
	const char *port, *env;

	memset(cfg, 0, sizeof(*cfg));
	if (config_apply(cf, s2s_keys, cfg, error_r) < 0)
		return -1;
	config_unknown(cf, s2s_keys, s2s_known);
	cfg->log_type = config_attr(cf, "log", 0, "type");
	s2s_limit_attrs(cf, "io.limits.connects", 5, 5, &cfg->connects_seconds,
			&cfg->connects_throttle);
	s2s_limit_attrs(cf, "io.limits.bytes", 1, 5, &cfg->bytes_seconds, &cfg->bytes_throttle);
	s2s_limit_attrs(cf, "io.limits.stanzas", 1, 1, &cfg->stanzas_seconds,
			&cfg->stanzas_throttle);
	cfg->origins = s2s_list(cf, "local.origins.ip");
	cfg->srv = s2s_list(cf, "lookup.srv");
	cfg->whitelist = s2s_list(cf, "security.whitelist_domain");
	if (s2s_hosts(cf, cfg, error_r) < 0 || s2s_ids(cf, cfg, error_r) < 0)
		return -1;
	cfg->nameserver_ip = config_attr(cf, "lookup.nameserver", 0, "ip");
	port = config_attr(cf, "lookup.nameserver", 0, "port");
	cfg->nameserver_port = port != NULL ? atoi(port) : 0;    /* 0: RES_OPTIONS or 53 */
	if (cfg->nameserver_ip == NULL && (env = getenv("NSCACHEIP")) != NULL && *env != '\0')
		cfg->nameserver_ip = env;
	if (cfg->min_ttl < 5)
		cfg->min_ttl = 5;
	if (cfg->ssl_port != 0 && cfg->pemfile == NULL &&
	    (cfg->ids[0].domain == NULL || cfg->ids[0].pemfile == NULL)) {
		*error_r = config_errorf(cf, config_node(cf, "local.ssl-port", 0),
					 "local.ssl-port needs local.pemfile");
		return -1;
	}
	if (cfg->secret == NULL) {
		/* Random per start: dialback still works for this process. */
		if (hash_random_id(cfg->secret_buf, 40) < 0) {
			*error_r = "cannot generate a dialback secret";
			return -1;
		}
		cfg->secret = cfg->secret_buf;
	}
	return 0;
}

void s2s_config_clear(struct s2s_config *cfg)
{
	free(cfg->origins);
	free(cfg->srv);
	free(cfg->whitelist);
	free(cfg->hosts);
	free(cfg->ids);
	memset(cfg, 0, sizeof(*cfg));
}
