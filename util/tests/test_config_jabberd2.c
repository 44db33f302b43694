/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Loads the jabberd2 configuration files in tests/data/jabberd2 (the
 * structure and values Debian ships for jabberd2 2.7) and checks the
 * values the daemons will read from them: existing installations must
 * keep working with their current files.
 */
#include "config.h"
#include "util/config_file.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/buf.h"

#ifndef JABBERD2_DATA_DIR
#error "JABBERD2_DATA_DIR must name tests/data/jabberd2"
#endif

static struct config *load(const char *name, const char *id)
{
	char *path = xasprintf("%s/%s", JABBERD2_DATA_DIR, name);
	const char *error = NULL;
	struct config *cfg = config_load(path, id, &error);

	if (cfg == NULL)
		fail_msg("%s: %s", path, error);
	free(path);
	return cfg;
}

/* The module names of one sm chain, in order, joined with spaces. */
static char *chain_modules(const struct config *cfg, const char *id)
{
	const struct config_node *chain, *m;
	struct buf b = { 0 };
	int i;

	for (i = 0; (chain = config_node(cfg, "modules.chain", i)) != NULL; i++)
		if (strcmp(config_node_attr(chain, "id"), id) == 0)
			break;
	assert_non_null(chain);
	for (m = config_node_child(chain, "module"); m != NULL; m = config_node_next(m, "module"))
		buf_printf(&b, "%s%s", b.len ? " " : "", config_node_value(m));
	buf_append(&b, "", 0);
	return buf_steal(&b, NULL);
}

static void assert_chain(const struct config *cfg, const char *id, const char *want)
{
	char *got = chain_modules(cfg, id);

	if (strcmp(got, want) != 0)
		fail_msg("chain %s: '%s', want '%s'", id, got, want);
	free(got);
}

static void test_router(void **state)
{
	struct config *cfg = load("router.xml", NULL);
	struct config_key keys[] = {
		{ "local.port", CONFIG_INT, "5347", 0, 1, 65535 },
		{ NULL, 0, NULL, 0, 0, 0 },
	};
	const char *error = NULL;
	int port = 0;

	(void)state;
	assert_string_equal(config_get(cfg, "id"), "router");
	assert_string_equal(config_get(cfg, "pidfile"), "/var/run/jabberd2/router.pid");
	assert_string_equal(config_attr(cfg, "log", 0, "type"), "file");
	assert_string_equal(config_get(cfg, "log.ident"), "jabberd/router");
	assert_string_equal(config_get(cfg, "log.facility"), "local3");
	assert_string_equal(config_get(cfg, "local.ip"), "0.0.0.0");
	assert_int_equal(config_apply(cfg, keys, &port, &error), 0);
	assert_int_equal(port, 5347);
	assert_string_equal(config_get(cfg, "local.users"), "/etc/jabberd2/router-users.xml");
	assert_string_equal(config_get(cfg, "local.secret"), "secret");
	assert_null(config_get(cfg, "local.pemfile"));
	assert_string_equal(config_get(cfg, "check.interval"), "60");
	assert_string_equal(config_get(cfg, "io.max_fds"), "1024");
	assert_string_equal(config_get(cfg, "io.access.order"), "allow,deny");
	/* Debian ships no aliases (only commented-out examples). */
	assert_int_equal(config_count(cfg, "aliases"), 1);
	assert_int_equal(config_count(cfg, "aliases.alias"), 0);
	/* ACL: one acl of type "all" holding user jabberd. */
	assert_int_equal(config_count(cfg, "aci.acl"), 1);
	assert_string_equal(config_attr(cfg, "aci.acl", 0, "type"), "all");
	assert_int_equal(config_count(cfg, "aci.acl.user"), 1);
	assert_string_equal(config_get(cfg, "aci.acl.user"), "jabberd");
	assert_string_equal(config_get(cfg, "aci.filter"), "/etc/jabberd2/router-filter.xml");
	config_free(&cfg);

	/* -i replaces what ${id} and "id" read. */
	cfg = load("router.xml", "router2");
	assert_string_equal(config_get(cfg, "id"), "router2");
	config_free(&cfg);
}

static void test_router_users_and_filter(void **state)
{
	struct config *cfg = load("router-users.xml", NULL);
	const struct config_node *user;

	(void)state;
	assert_string_equal(config_node_name(config_root(cfg)), "users");
	assert_int_equal(config_count(cfg, "user"), 1);
	user = config_node(cfg, "user", 0);
	assert_string_equal(config_node_value(config_node_child(user, "name")), "jabberd");
	assert_string_equal(config_node_value(config_node_child(user, "secret")), "secret");
	config_free(&cfg);

	cfg = load("router-filter.xml", NULL);
	assert_string_equal(config_node_name(config_root(cfg)), "filter");
	assert_int_equal(config_count(cfg, "rule"), 0);
	assert_null(config_node_child(config_root(cfg), NULL));
	config_free(&cfg);
}

static void test_sm(void **state)
{
	struct config *cfg = load("sm.xml", NULL);

	(void)state;
	assert_string_equal(config_get(cfg, "id"), "sm");
	assert_string_equal(config_get(cfg, "router.ip"), "127.0.0.1");
	assert_string_equal(config_get(cfg, "router.port"), "5347");
	assert_string_equal(config_get(cfg, "router.user"), "jabberd");
	assert_string_equal(config_get(cfg, "router.pass"), "secret");
	assert_string_equal(config_get(cfg, "router.retry.init"), "3");
	assert_string_equal(config_get(cfg, "router.retry.lost"), "3");
	assert_string_equal(config_get(cfg, "router.retry.sleep"), "2");
	assert_string_equal(config_get(cfg, "log.ident"), "jabberd/sm");
	assert_int_equal(config_count(cfg, "local.id"), 1);
	assert_string_equal(config_get(cfg, "local.id"), "localhost.localdomain");
	assert_string_equal(config_get(cfg, "storage.driver"), "sqlite");
	assert_null(config_attr(cfg, "storage.driver", 0, "type"));
	assert_string_equal(config_get(cfg, "storage.sqlite.dbname"), "/var/lib/jabberd2/sqlite.db");
	/* The SQL text keeps its layout; the comments inside it are dropped. */
	assert_string_equal(config_get(cfg, "storage.sqlite.sql"),
			    "\n\t\n\t   PRAGMA synchronous = NORMAL;\n\n\t\n"
			    "\t   -- ANALYZE;\n      ");
	assert_string_equal(config_get(cfg, "storage.sqlite.busy-timeout"), "2000");
	/* <transactions/> reads "1". */
	assert_string_equal(config_get(cfg, "storage.pgsql.transactions"), "1");
	assert_string_equal(config_get(cfg, "storage.pgsql.conninfo"),
			    "dbname=jabberd2 user=jabberd2 password=secret");
	assert_string_equal(config_get(cfg, "storage.ldapvcard.mapped-groups.basedn"),
			    "ou=jabbergroups, o=Example Corp.");
	assert_string_equal(config_attr(cfg, "aci.acl", 0, "type"), "all");
	assert_string_equal(config_get(cfg, "aci.acl.jid"), "admin@localhost.localdomain");
	assert_string_equal(config_get(cfg, "discovery.identity.category"), "server");
	assert_string_equal(config_get(cfg, "discovery.identity.type"), "im");
	assert_string_equal(config_get(cfg, "discovery.identity.name"), "Jabber IM server");
	assert_string_equal(config_get(cfg, "discovery.agents"), "1");
	assert_string_equal(config_get(cfg, "user.template.active-cache-ttl"), "60");
	assert_null(config_get(cfg, "user.auto-create"));

	assert_int_equal(config_count(cfg, "modules.chain"), 14);
	assert_chain(cfg, "sess-start", "status");
	assert_chain(cfg, "sess-end", "status iq-last");
	assert_chain(cfg, "in-sess", "validate status privacy roster vacation iq-vcard "
		     "iq-ping iq-private disco amp offline announce presence deliver");
	assert_chain(cfg, "out-sess", "");
	assert_chain(cfg, "in-router", "session validate presence privacy");
	assert_chain(cfg, "out-router", "privacy");
	assert_chain(cfg, "pkt-sm", "iq-last iq-ping iq-time iq-version amp disco "
		     "announce help echo status presence");
	assert_chain(cfg, "pkt-user", "roster presence disco iq-vcard amp deliver "
		     "vacation offline iq-last");
	assert_chain(cfg, "pkt-router", "session disco");
	assert_chain(cfg, "user-load", "active roster roster-publish privacy vacation");
	assert_chain(cfg, "user-unload", "");
	assert_chain(cfg, "user-create", "active template-roster");
	assert_chain(cfg, "user-delete", "active announce offline privacy roster vacation "
		     "status iq-last iq-private iq-vcard");
	assert_chain(cfg, "disco-extend", "iq-version help");
	assert_string_equal(config_get(cfg, "modules.path"), "/usr/lib/x86_64-linux-gnu/jabberd2");
	config_free(&cfg);
}

static void test_c2s(void **state)
{
	struct config *cfg = load("c2s.xml", NULL);

	(void)state;
	assert_string_equal(config_get(cfg, "id"), "c2s");
	assert_string_equal(config_get(cfg, "pidfile"), "/var/run/jabberd2/c2s.pid");
	assert_int_equal(config_count(cfg, "local.id"), 1);
	assert_string_equal(config_get(cfg, "local.id"), "localhost.localdomain");
	assert_string_equal(config_attr(cfg, "local.id", 0, "register-enable"), "mu");
	assert_null(config_attr(cfg, "local.id", 0, "realm"));
	assert_null(config_attr(cfg, "local.id", 0, "pemfile"));
	assert_string_equal(config_get(cfg, "local.ip"), "0.0.0.0");
	assert_string_equal(config_get(cfg, "local.port"), "5222");
	assert_null(config_get(cfg, "local.ssl-port"));
	assert_string_equal(config_get(cfg, "io.limits.stanzas"), "1000");
	assert_string_equal(config_get(cfg, "io.limits.stanzasize"), "65535");
	assert_string_equal(config_get(cfg, "io.check.interval"), "0");
	assert_string_equal(config_get(cfg, "authreg.module"), "sqlite");
	assert_string_equal(config_get(cfg, "authreg.mechanisms.traditional.plain"), "1");
	assert_string_equal(config_get(cfg, "authreg.mechanisms.sasl.digest-md5"), "1");
	assert_null(config_get(cfg, "authreg.mechanisms.sasl.external"));
	assert_string_equal(config_get(cfg, "authreg.ssl-mechanisms.sasl.external"), "1");
	assert_string_equal(config_get(cfg, "authreg.sqlite.password_type.plaintext"), "1");
	assert_int_equal(config_count(cfg, "authreg.ldapfull.basedn"), 2);
	assert_string_equal(config_attr(cfg, "authreg.ldapfull.basedn", 0, "realm"), "company");
	assert_string_equal(config_get_n(cfg, "authreg.ldapfull.basedn", 1), "o=Example Corp.");
	assert_null(config_attr(cfg, "authreg.ldapfull.basedn", 1, "realm"));
	assert_int_equal(config_count(cfg, "stream_redirect.redirect"), 0);
	config_free(&cfg);
}

static void test_s2s(void **state)
{
	struct config *cfg = load("s2s.xml", NULL);

	(void)state;
	assert_string_equal(config_get(cfg, "id"), "s2s");
	assert_string_equal(config_get(cfg, "local.port"), "5269");
	assert_int_equal(config_count(cfg, "lookup.srv"), 2);
	assert_string_equal(config_get_n(cfg, "lookup.srv", 0), "xmpp-server");
	assert_string_equal(config_get_n(cfg, "lookup.srv", 1), "jabber");
	assert_string_equal(config_get(cfg, "check.dnscache"), "300");
	assert_string_equal(config_get(cfg, "lookup.min-ttl"), "30");
	assert_string_equal(config_get(cfg, "out-conn-reuse"), "1");
	assert_null(config_get(cfg, "local.secret"));
	assert_null(config_get(cfg, "security.require_tls"));
	config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_router),
		cmocka_unit_test(test_router_users_and_filter),
		cmocka_unit_test(test_sm),
		cmocka_unit_test(test_c2s),
		cmocka_unit_test(test_s2s),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
