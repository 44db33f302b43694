/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * config.c: c2s.xml, read as jabberd2's c2s reads it (compat spec 2.5):
 * the plain options through one table, then the structured parts by hand:
 * the served hosts (local.id with their attributes), the access rules and
 * the SASL mechanism lists. Our additions live under authreg.scram,
 * authreg.throttle and authreg.register (docs/authreg.md, etc/c2s.xml).
 */
#include "config.h"
#include "c2s/c2s.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"
#include "util/config_file.h"
#include "util/jid.h"
#include "util/log.h"

#define O(f) offsetof(struct c2s_opts, f)
static const struct config_key c2s_keys[] = {
	{ "id", CONFIG_STRING, "c2s", O(id), 0, 0 },
	{ "pidfile", CONFIG_STRING, NULL, O(pidfile), 0, 0 },
	{ "log.ident", CONFIG_STRING, "jabberd/c2s", O(log_ident), 0, 0 },
	{ "log.facility", CONFIG_STRING, NULL, O(log_facility), 0, 0 },
	{ "log.file", CONFIG_STRING, NULL, O(log_file), 0, 0 },
	{ "local.ip", CONFIG_STRING, "0.0.0.0", O(ip), 0, 0 },
	{ "local.port", CONFIG_INT, "0", O(port), 0, 65535 },
	{ "local.ssl-port", CONFIG_INT, "0", O(ssl_port), 0, 65535 },
	{ "local.pemfile", CONFIG_STRING, NULL, O(pemfile), 0, 0 },
	{ "local.cachain", CONFIG_STRING, NULL, O(cachain), 0, 0 },
	{ "local.ciphers", CONFIG_STRING, NULL, O(ciphers), 0, 0 },
	{ "local.ciphersuites", CONFIG_STRING, C2S_DEFAULT_CIPHERSUITES, O(ciphersuites), 0, 0 },
	{ "local.private_key_password", CONFIG_STRING, NULL, O(key_password), 0, 0 },
	{ "local.verify-mode", CONFIG_INT, "0", O(verify_mode), 0, 0 },
	{ "io.max_fds", CONFIG_INT, "1024", O(max_fds), 0, 1 << 20 },
	{ "io.limits.stanzasize", CONFIG_INT, "0", O(stanzasize), 0, 1 << 26 },
	{ "io.limits.bytes", CONFIG_INT, "0", O(bytes), 0, 0 },
	{ "io.limits.connects", CONFIG_INT, "0", O(connects), 0, 0 },
	{ "io.limits.stanzas", CONFIG_INT, "0", O(stanzas), 0, 0 },
	{ "io.check.interval", CONFIG_INT, "0", O(check_interval), 0, 86400 },
	{ "io.check.idle", CONFIG_INT, "0", O(check_idle), 0, 0 },
	{ "io.check.keepalive", CONFIG_INT, "0", O(check_keepalive), 0, 0 },
	{ "io.access.order", CONFIG_STRING, NULL, O(access_order), 0, 0 },
	{ "authreg.module", CONFIG_STRING, "sqlite", O(authreg_module), 0, 0 },
	{ "authreg.scram.iterations", CONFIG_INT, "4096", O(scram_iter), 1, 1000000 },
	{ "authreg.scram.upgrade", CONFIG_BOOL, "1", O(scram_upgrade), 0, 0 },
	{ "authreg.scram.plaintext", CONFIG_FLAG, "0", O(scram_plaintext), 0, 0 },
	{ "authreg.throttle.delay", CONFIG_INT, "1000", O(auth_delay_ms), 0, 60000 },
	{ "authreg.throttle.failures", CONFIG_INT, "5", O(auth_fail_limit), 0, 0 },
	{ "authreg.throttle.seconds", CONFIG_INT, "300", O(auth_fail_window), 1, 86400 },
	{ "authreg.register.limit", CONFIG_INT, "5", O(register_limit), 0, 0 },
	{ "authreg.register.seconds", CONFIG_INT, "3600", O(register_window), 1, 86400 * 7 },
	{ "io.check.auth", CONFIG_INT, "60", O(auth_timeout), 0, 3600 },
	{ "stream-management.enable", CONFIG_BOOL, "1", O(sm_enable), 0, 0 },
	{ "stream-management.resume", CONFIG_INT, "300", O(sm_resume), 0, 86400 },
	{ "stream-management.queue", CONFIG_INT, "500", O(sm_queue), 1, 100000 },
	{ "stream-management.queue-bytes", CONFIG_INT, "1048576", O(sm_queue_bytes), 4096,
	  1 << 30 },
	{ "stream-management.max-parked", CONFIG_INT, "1000", O(sm_max_parked), 0, 1 << 20 },
	{ NULL, 0, NULL, 0, 0, 0 },
};
#undef O

/* Sections walked by hand, or read by other code (comp/ reads router.*),
 * or accepted and not acted on yet (said at start). */
static const char *const c2s_sections[] = {
	"router", "log", "local.id", "io.access", "io.limits", "authreg.path",
	"authreg.mechanisms", "authreg.ssl-mechanisms", "authreg.sqlite", "authreg.pgsql",
	"authreg.mysql",
	"authreg.register.exempt",
	"authreg.pipe", "authreg.pam", "authreg.ldap", "authreg.ldapfull", "metrics", "stats",
	"pbx", "stream_redirect", "io.websocket", "local.httpforward",
	NULL,
};

/* jabberd2 switches: present means on, unless the value says off. */
static int attr_on(const char *v)
{
	if (v == NULL)
		return 0;
	return !(strcasecmp(v, "0") == 0 || strcasecmp(v, "false") == 0 ||
		 strcasecmp(v, "no") == 0 || strcasecmp(v, "off") == 0);
}

static void host_free(struct c2s_host *h)
{
	free(h->domain);
	free(h->realm);
	free(h->instructions);
	sx_tls_ctx_free(&h->tls);
	free(h);
}

void c2s_hosts_free(struct c2s *c2s)
{
	for (size_t i = 0; i < c2s->nhosts; i++)
		host_free(c2s->hosts[i]);
	free(c2s->hosts);
	c2s->hosts = NULL;
	c2s->nhosts = 0;
}

static int host_tls(struct c2s_host *h, const struct config_node *n, const char **error_r)
{
	const char *vm = config_node_attr(n, "verify-mode");
	struct sx_tls_config tc = {
		.pemfile = config_node_attr(n, "pemfile"),
		.cachain = config_node_attr(n, "cachain"),
		.key_password = config_node_attr(n, "private-key-password"),
		.ciphers = config_node_attr(n, "ciphers"),
		.ciphersuites = config_node_attr(n, "ciphersuites"),
		/* jabberd2's values are OpenSSL bit masks: 0 none, 1 peer, 3
		 * fail if none, 7 once. Ours: 0, 1 ask, 2 require. */
		.verify_mode = vm == NULL ? 0 : (atoi(vm) & 2) ? 2 : (atoi(vm) & 1),
	};
	const char *req = config_node_attr(n, "require-starttls");

	if (tc.ciphersuites == NULL)
		tc.ciphersuites = C2S_DEFAULT_CIPHERSUITES;
	if (tc.verify_mode != 0 && tc.cachain == NULL)
		tc.verify_mode = 0;
	if (tc.pemfile != NULL) {
		h->tls = sx_tls_ctx_new(SX_SERVER, &tc, error_r);
		if (h->tls == NULL)
			return -1;
	}
	/* TLS is required by default wherever it can be offered. */
	h->require_starttls = req != NULL ? attr_on(req) : h->tls != NULL;
	if (h->require_starttls && h->tls == NULL) {
		*error_r = "require-starttls without a pemfile";
		return -1;
	}
	return 0;
}

static int host_read(struct c2s *c2s, const struct config_node *n, const char **error_r)
{
	const char *v = config_node_value(n), *realm = config_node_attr(n, "realm");
	struct c2s_host *h = xcalloc(1, sizeof(*h));
	char dom[JID_PART_MAX + 1];

	/* An empty <id/> reads "1": the default vhost. */
	if (strcmp(v, "1") == 0 || v[0] == '\0')
		dom[0] = '\0';
	else if (jid_nameprep(v, dom, sizeof(dom), error_r) < 0)
		goto err;
	h->domain = xstrdup(dom);
	h->realm = xstrdup_opt(realm);
	h->register_enable = attr_on(config_node_attr(n, "register-enable"));
	h->password_change = attr_on(config_node_attr(n, "password-change"));
	h->instructions = xstrdup_opt(config_node_attr(n, "instructions"));
	if (config_node_attr(n, "register-oob") != NULL)
		log_warnx("c2s: %s", config_errorf(c2s->cfg, n, "register-oob is not supported; ignored"));
	if (config_node_attr(n, "authreg-module") != NULL)
		log_warnx("c2s: %s", config_errorf(c2s->cfg, n,
			  "per-host authreg-module is not supported; authreg.module is used"));
	if (host_tls(h, n, error_r) < 0)
		goto err;
	if (h->tls == NULL)
		log_warnx("c2s: host '%s' has no pemfile: its clients cannot use TLS, "
			  "and PLAIN is not offered to them", h->domain);
	c2s->hosts = xrealloc(c2s->hosts, (c2s->nhosts + 1) * sizeof(*c2s->hosts));
	c2s->hosts[c2s->nhosts++] = h;
	return 0;
err:
	*error_r = config_errorf(c2s->cfg, n, "%s", *error_r);
	host_free(h);
	return -1;
}

const struct c2s_host *c2s_host_find(const struct c2s *c2s, const char *domain)
{
	const struct c2s_host *def = NULL;

	for (size_t i = 0; i < c2s->nhosts; i++) {
		if (strcmp(c2s->hosts[i]->domain, domain) == 0)
			return c2s->hosts[i];
		if (c2s->hosts[i]->domain[0] == '\0')
			def = c2s->hosts[i];
	}
	return def;
}

void c2s_redirects_free(struct c2s *c2s)
{
	for (size_t i = 0; i < c2s->nredirects; i++) {
		free(c2s->redirects[i].domain);
		free(c2s->redirects[i].to);
	}
	free(c2s->redirects);
	c2s->redirects = NULL;
	c2s->nredirects = 0;
}

void c2s_redirects_read(struct c2s *c2s, const struct config *cfg)
{
	const char *key = "stream_redirect.redirect", *error;
	char dom[JID_PART_MAX + 1];

	c2s_redirects_free(c2s);
	for (int i = 0, n = config_count(cfg, key); i < n; i++) {
		const char *d = config_attr(cfg, key, i, "requested_domain");
		const char *addr = config_attr(cfg, key, i, "to_address");
		const char *port = config_attr(cfg, key, i, "to_port");
		struct c2s_redirect *r;

		if (d == NULL || addr == NULL || jid_nameprep(d, dom, sizeof(dom), &error) < 0) {
			log_warnx("c2s: %s", config_errorf(cfg, config_node(cfg, key, i),
				  "needs a valid requested_domain and a to_address; ignored"));
			continue;
		}
		c2s->redirects = xrealloc(c2s->redirects,
					  (c2s->nredirects + 1) * sizeof(*c2s->redirects));
		r = &c2s->redirects[c2s->nredirects++];
		r->domain = xstrdup(dom);
		r->to = port != NULL ? xasprintf("%s:%s", addr, port) : xstrdup(addr);
	}
}

const char *c2s_redirect_find(const struct c2s *c2s, const char *domain)
{
	for (size_t i = 0; i < c2s->nredirects; i++)
		if (strcmp(c2s->redirects[i].domain, domain) == 0)
			return c2s->redirects[i].to;
	return NULL;
}

static int access_read(struct c2s *c2s, const char **error_r)
{
	const struct config *cfg = c2s->cfg;

	c2s->access = mio_access_new(mio_access_order_parse(c2s->o.access_order));
	for (int allow = 0; allow < 2; allow++) {
		const char *key = allow ? "io.access.allow" : "io.access.deny";

		for (int i = 0, n = config_count(cfg, key); i < n; i++) {
			const char *ip = config_attr(cfg, key, i, "ip");

			if (ip == NULL || mio_access_add(c2s->access, allow, ip,
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

/* Addresses whose in-band registrations are not limited when c2s.xml
 * names none: loopback, as prosody exempts it. A jabberd2 c2s.xml sets no
 * limit at all, so local scripts and tests that register many accounts
 * keep working under ours. */
static const char *const c2s_reg_exempt_default[] = { "127.0.0.0/8", "::1" };

/* One exempt entry: an address, or address/prefix-length, with blanks
 * around it (an indented c2s.xml) ignored. */
static int reg_exempt_add(struct mio_access *acl, const char *entry, const char **error_r)
{
	static const char blanks[] = " \t\r\n";
	char text[80], *slash;
	size_t len;

	entry += strspn(entry, blanks);
	len = strlen(entry);
	while (len > 0 && strchr(blanks, entry[len - 1]) != NULL)
		len--;
	if (len == 0 || len >= sizeof(text)) {
		*error_r = "not an address or address/prefix-length";
		return -1;
	}
	memcpy(text, entry, len);
	text[len] = '\0';
	if ((slash = strchr(text, '/')) == NULL)
		return mio_access_add(acl, 1, text, NULL, error_r);
	*slash = '\0';
	if (slash[1] == '\0') {
		*error_r = "no prefix length after '/'";
		return -1;
	}
	return mio_access_add(acl, 1, text, slash + 1, error_r);
}

/*
 * authreg.register.exempt: each <exempt> holds an address or a CIDR
 * block; an empty <exempt/> adds nothing, so <exempt/> alone leaves no
 * address exempt. Without any <exempt>, the loopback defaults.
 */
static int reg_exempt_read(struct c2s *c2s, const char **error_r)
{
	const struct config *cfg = c2s->cfg;
	const char *key = "authreg.register.exempt";
	int n = config_count(cfg, key);

	mio_access_free(&c2s->reg_exempt);
	/* deny,allow with allow rules only: listed means exempt. */
	c2s->reg_exempt = mio_access_new(MIO_ACCESS_DENY_ALLOW);
	for (size_t i = 0; n == 0 && i < sizeof(c2s_reg_exempt_default) /
						sizeof(c2s_reg_exempt_default[0]); i++)
		if (reg_exempt_add(c2s->reg_exempt, c2s_reg_exempt_default[i], error_r) < 0)
			return -1;
	for (int i = 0; i < n; i++) {
		const char *v = config_node_value(config_node(cfg, key, i));

		/* An empty element reads "1", as jabberd2's switches do. */
		if (strcmp(v, "1") == 0 || v[0] == '\0')
			continue;
		if (reg_exempt_add(c2s->reg_exempt, v, error_r) < 0) {
			*error_r = config_errorf(cfg, config_node(cfg, key, i),
						 "'%s' is not an address or CIDR block: %s", v,
						 *error_r);
			return -1;
		}
	}
	return 0;
}

static const struct {
	const char *name;
	unsigned bit;
} c2s_mech_names[] = {
	{ "plain", SX_SASL_PLAIN },
	{ "digest-md5", SX_SASL_DIGEST_MD5 },
	{ "anonymous", SX_SASL_ANONYMOUS },
	{ "external", SX_SASL_EXTERNAL },
	{ "scram-sha-1", SX_SASL_SCRAM_SHA_1 },
	{ "scram-sha-1-plus", SX_SASL_SCRAM_SHA_1_PLUS },
	{ "scram-sha-256", SX_SASL_SCRAM_SHA_256 },
	{ "scram-sha-256-plus", SX_SASL_SCRAM_SHA_256_PLUS },
};

static unsigned mechs_of(const struct c2s *c2s, const char *key, int *scram_named)
{
	const struct config_node *sec = config_node(c2s->cfg, key, 0), *m;
	unsigned bits = 0;
	size_t i;

	if (sec == NULL)
		return 0;
	for (m = config_node_child(sec, NULL); m != NULL; m = config_node_next(m, NULL)) {
		for (i = 0; i < sizeof(c2s_mech_names) / sizeof(c2s_mech_names[0]); i++)
			if (strcasecmp(config_node_name(m), c2s_mech_names[i].name) == 0)
				break;
		if (i == sizeof(c2s_mech_names) / sizeof(c2s_mech_names[0])) {
			log_warnx("c2s: %s", config_errorf(c2s->cfg, m,
				  "SASL mechanism not supported; ignored"));
			continue;
		}
		bits |= c2s_mech_names[i].bit;
		if (c2s_mech_names[i].bit & SX_SASL_SCRAM_ALL)
			*scram_named = 1;
	}
	return bits;
}

/*
 * The mechanisms: the union of authreg.mechanisms.sasl and
 * authreg.ssl-mechanisms.sasl (sx itself keeps PLAIN off unencrypted
 * streams and EXTERNAL off streams without a verified certificate).
 * jabberd2's configs predate SCRAM: when neither list names a SCRAM
 * mechanism, SCRAM-SHA-1 and SCRAM-SHA-256 are on, without their -PLUS
 * variants. Offering -PLUS obliges the server to refuse a client that
 * sends SCRAM's "y" flag (RFC 5802), and clients that know only
 * tls-unique send "y" on TLS 1.3, where only tls-exporter exists: a
 * jabberd2 config taken over unchanged must not lock them out. Naming a
 * -plus mechanism turns channel binding on. DIGEST-MD5 needs plaintext
 * passwords, so it is only offered when they are stored that way.
 */
unsigned c2s_config_mechs(const struct c2s *c2s)
{
	const struct authreg_backend *be = authreg_backend_find(c2s->o.authreg_module);
	int scram_named = 0;
	unsigned bits = mechs_of(c2s, "authreg.mechanisms.sasl", &scram_named) |
			mechs_of(c2s, "authreg.ssl-mechanisms.sasl", &scram_named);

	/* pam, ldap, anon, ldapfull with a pwscheme: only the backend can
	 * judge a password, there is no secret for SCRAM or DIGEST-MD5. */
	if (c2s->ar != NULL ? !authreg_has_secrets(c2s->ar) : be != NULL && be->no_secrets) {
		if (bits & (SX_SASL_SCRAM_ALL | SX_SASL_DIGEST_MD5))
			log_info("c2s: SCRAM and DIGEST-MD5 not offered: authreg module %s "
				 "only checks passwords", c2s->o.authreg_module);
		return bits & ~(unsigned)(SX_SASL_SCRAM_ALL | SX_SASL_DIGEST_MD5);
	}
	if (!scram_named)
		bits |= SX_SASL_SCRAM_SHA_1 | SX_SASL_SCRAM_SHA_256;
	if ((bits & SX_SASL_DIGEST_MD5) && !c2s->o.scram_plaintext &&
	    (c2s->ar == NULL || !authreg_stores_plaintext(c2s->ar))) {
		log_info("c2s: DIGEST-MD5 not offered: passwords are stored as SCRAM "
			 "hashes (authreg.scram.plaintext keeps them in clear)");
		bits &= ~(unsigned)SX_SASL_DIGEST_MD5;
	}
	return bits;
}

/* A backend whose accounts live elsewhere (pam, ldap, anon): in-band
 * registration and password change are off on every host. */
static void no_register(struct c2s *c2s)
{
	for (size_t i = 0; i < c2s->nhosts; i++) {
		struct c2s_host *h = c2s->hosts[i];

		if (h->register_enable || h->password_change)
			log_warnx("c2s: %s: register-enable and password-change ignored: "
				  "authreg module %s cannot create accounts or set passwords",
				  h->domain, c2s->o.authreg_module);
		h->register_enable = 0;
		h->password_change = 0;
	}
}

static int legacy_type(const struct c2s *c2s, enum authreg_legacy *out, const char **error_r)
{
	char key[128];

	*out = AUTHREG_LEGACY_PLAINTEXT;
	snprintf(key, sizeof(key), "authreg.%s.password_type.crypt", c2s->o.authreg_module);
	if (config_get(c2s->cfg, key) != NULL)
		*out = AUTHREG_LEGACY_CRYPT;
	snprintf(key, sizeof(key), "authreg.%s.password_type.a1hash", c2s->o.authreg_module);
	if (config_get(c2s->cfg, key) != NULL)
		*out = AUTHREG_LEGACY_A1HASH;
	if (c2s->o.scram_plaintext && *out != AUTHREG_LEGACY_PLAINTEXT) {
		*error_r = "authreg.scram.plaintext needs password_type plaintext";
		return -1;
	}
	return 0;
}

int c2s_config_options(struct c2s *c2s, const char **error_r)
{
	return config_apply(c2s->cfg, c2s_keys, &c2s->o, error_r);
}

int c2s_config_read(struct c2s *c2s, const char **error_r)
{
	const struct config *cfg = c2s->cfg;
	struct authreg_settings set = { 0 };

	config_unknown(cfg, c2s_keys, c2s_sections);
	if (c2s->o.port == 0 && c2s->o.ssl_port == 0) {
		*error_r = "neither local.port nor local.ssl-port is set: nothing to listen on";
		return -1;
	}
	for (int i = 0, n = config_count(cfg, "local.id"); i < n; i++)
		if (host_read(c2s, config_node(cfg, "local.id", i), error_r) < 0)
			return -1;
	if (c2s->nhosts == 0) {
		*error_r = "no local.id: no domain to serve";
		return -1;
	}
	if (access_read(c2s, error_r) < 0 || reg_exempt_read(c2s, error_r) < 0 ||
	    legacy_type(c2s, &set.legacy, error_r) < 0)
		return -1;
	c2s_redirects_read(c2s, cfg);
	set.scram_iter = (unsigned)c2s->o.scram_iter;
	set.upgrade = c2s->o.scram_upgrade;
	set.store_plaintext = c2s->o.scram_plaintext;
	if (c2s->check_only && !authreg_known(c2s->o.authreg_module)) {
		static char msg[192];

		snprintf(msg, sizeof(msg), "unknown authreg module (this c2s has: %s)",
			 authreg_module_names());
		*error_r = msg;
		return -1;
	}
	if (!c2s->check_only &&
	    (c2s->ar = authreg_new(c2s->o.authreg_module, cfg, &set, error_r)) == NULL)
		return -1;
	if (c2s->ar != NULL && !authreg_can_register(c2s->ar))
		no_register(c2s);
	c2s->o.iqauth_plain = config_get(cfg, "authreg.mechanisms.traditional.plain") != NULL ||
			      config_get(cfg, "authreg.ssl-mechanisms.traditional.plain") != NULL;
	/* The digest method needs the password in clear on our side. */
	c2s->o.iqauth_digest =
		(config_get(cfg, "authreg.mechanisms.traditional.digest") != NULL ||
		 config_get(cfg, "authreg.ssl-mechanisms.traditional.digest") != NULL);
	if (c2s->o.iqauth_digest && !c2s->check_only && !authreg_stores_plaintext(c2s->ar)) {
		log_info("c2s: the XEP-0078 digest method is not offered: passwords are stored "
			 "as SCRAM hashes (authreg.scram.plaintext keeps them in clear)");
		c2s->o.iqauth_digest = 0;
	}
	c2s->limits.max_stanza = c2s->o.stanzasize > 0 ? (size_t)c2s->o.stanzasize : 0;
	if (c2s_ws_read(c2s, error_r) < 0)
		return -1;
	return c2s_sasl_init(c2s, c2s_config_mechs(c2s), error_r);
}
