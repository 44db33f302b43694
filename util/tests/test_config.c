/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for util/config_file.c, one group per rule of jabberd2's config
 * format: dotted paths below an ignored root, repeated elements, "1" for
 * empty elements, attributes, ${...} expansion and -i, XML errors with line
 * and path, the element tree walk, typed reading and unknown-key warnings.
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
#include <unistd.h>

#include <cmocka.h>

#include "util/buf.h"
#include "util/log.h"

static struct config *load_id(const char *xml, const char *id)
{
	const char *error = NULL;
	struct config *cfg = config_load_mem("t.xml", xml, strlen(xml), id, &error);

	if (cfg == NULL)
		fail_msg("load failed: %s", error);
	return cfg;
}

static struct config *load(const char *xml)
{
	return load_id(xml, NULL);
}

/* The load must fail with exactly this message. */
static void load_fails(const char *xml, const char *want)
{
	const char *error = NULL;
	struct config *cfg = config_load_mem("t.xml", xml, strlen(xml), NULL, &error);

	if (cfg != NULL)
		fail_msg("'%s' loaded", xml);
	assert_non_null(error);
	assert_string_equal(error, want);
}

static void test_paths(void **state)
{
	struct config *cfg = load("<whatever>\n"
				  "  <router>\n    <ip>127.0.0.1</ip>\n"
				  "    <retry><init>3</init></retry></router>\n"
				  "  <a><b>x</b></a>\n"
				  "</whatever>\n");

	(void)state;
	assert_string_equal(config_get(cfg, "router.ip"), "127.0.0.1");
	assert_string_equal(config_get(cfg, "router.retry.init"), "3");
	assert_string_equal(config_get(cfg, "a.b"), "x");
	/* The root's name is not part of any path, and the root has no value. */
	assert_null(config_get(cfg, "whatever.a.b"));
	assert_null(config_get(cfg, "whatever"));
	assert_null(config_get(cfg, ""));
	assert_null(config_get(cfg, "router.port"));
	assert_int_equal(config_count(cfg, "router.port"), 0);
	/* A container's value is its text before the first child, as written:
	 * none at all reads "1", whitespace stays whitespace. */
	assert_string_equal(config_get(cfg, "a"), "1");
	assert_string_equal(config_get(cfg, "router.retry"), "1");
	assert_string_equal(config_get(cfg, "router"), "\n    ");
	config_free(&cfg);
	assert_null(cfg);
	config_free(&cfg);
}

static void test_values(void **state)
{
	static const struct {
		const char *xml, *key, *value;
	} cases[] = {
		{ "<r><t/></r>", "t", "1" },
		{ "<r><t></t></r>", "t", "1" },
		{ "<r><t> </t></r>", "t", " " },
		{ "<r><t> 5347 </t></r>", "t", " 5347 " },
		{ "<r><t>a&amp;b&lt;&#x41;</t></r>", "t", "a&b<A" },
		{ "<r><t><![CDATA[<x>]]></t></r>", "t", "<x>" },
		{ "<r><t>be<!-- c -->fore<c/>after</t></r>", "t", "before" },
		{ "<r><t>x<c>y</c>z</t></r>", "t.c", "y" },
		{ "<r><t>\xc3\xa4</t></r>", "t", "\xc3\xa4" },
		{ "<?xml version='1.0'?>\n<r><t>v</t></r>", "t", "v" },
		{ "<r><x:t xmlns:x='urn:x'>v</x:t></r>", "x:t", "v" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config *cfg = load(cases[i].xml);

		if (config_get(cfg, cases[i].key) == NULL ||
		    strcmp(config_get(cfg, cases[i].key), cases[i].value) != 0)
			fail_msg("case %zu: %s = '%s', want '%s'", i, cases[i].key,
				 config_get(cfg, cases[i].key), cases[i].value);
		config_free(&cfg);
	}
}

static void test_repeated_and_attrs(void **state)
{
	struct config *cfg = load("<c2s><local>\n"
				  "  <id realm='' pemfile='/x.pem'>a.example</id>\n"
				  "  <id>b.example</id>\n"
				  "  <id register-enable='mu'/>\n"
				  "</local></c2s>");

	(void)state;
	assert_int_equal(config_count(cfg, "local.id"), 3);
	assert_string_equal(config_get(cfg, "local.id"), "a.example");
	assert_string_equal(config_get_n(cfg, "local.id", 0), "a.example");
	assert_string_equal(config_get_n(cfg, "local.id", 1), "b.example");
	assert_string_equal(config_get_n(cfg, "local.id", 2), "1");
	assert_null(config_get_n(cfg, "local.id", 3));
	assert_null(config_get_n(cfg, "local.id", -1));
	/* Each value has its own attributes; empty differs from absent. */
	assert_string_equal(config_attr(cfg, "local.id", 0, "realm"), "");
	assert_string_equal(config_attr(cfg, "local.id", 0, "pemfile"), "/x.pem");
	assert_null(config_attr(cfg, "local.id", 1, "realm"));
	assert_null(config_attr(cfg, "local.id", 1, "pemfile"));
	assert_string_equal(config_attr(cfg, "local.id", 2, "register-enable"), "mu");
	assert_null(config_attr(cfg, "local.id", 3, "realm"));
	assert_null(config_attr(cfg, "nope", 0, "realm"));
	config_free(&cfg);
}

static void test_expansion(void **state)
{
	static const char xml[] =
		"<sm>\n"
		"  <id>sm.example</id>\n"
		"  <pidfile>/run/${id}.pid</pidfile>\n"
		"  <router><ip>127.0.0.1</ip><port>5347</port></router>\n"
		"  <dup>first</dup><dup>second</dup>\n"
		"  <both>${router.ip}:${router.port}/${dup}${id}</both>\n"
		"  <plain>$ {id} $id } {</plain>\n"
		"  <attr a='${id}'>x</attr>\n"
		"</sm>\n";
	struct config *cfg = load(xml);

	(void)state;
	assert_string_equal(config_get(cfg, "pidfile"), "/run/sm.example.pid");
	assert_string_equal(config_get(cfg, "both"), "127.0.0.1:5347/firstsm.example");
	assert_string_equal(config_get(cfg, "plain"), "$ {id} $id } {");
	/* Attributes are taken literally. */
	assert_string_equal(config_attr(cfg, "attr", 0, "a"), "${id}");
	config_free(&cfg);

	/* -i: the given id comes first, so ${id} and config_get use it. */
	cfg = load_id(xml, "sm2");
	assert_string_equal(config_get(cfg, "id"), "sm2");
	assert_int_equal(config_count(cfg, "id"), 2);
	assert_string_equal(config_get_n(cfg, "id", 1), "sm.example");
	assert_string_equal(config_get(cfg, "pidfile"), "/run/sm2.pid");
	assert_string_equal(config_get(cfg, "both"), "127.0.0.1:5347/firstsm2");
	config_free(&cfg);

	/* -i with no <id> in the file. */
	cfg = load_id("<r><pidfile>${id}.pid</pidfile></r>", "c2s-2");
	assert_string_equal(config_get(cfg, "pidfile"), "c2s-2.pid");
	config_free(&cfg);
}

static void test_expansion_errors(void **state)
{
	(void)state;
	/* Only earlier values count: not later ones, not descendants. */
	load_fails("<r>\n<a>${b}</a>\n<b>1</b>\n</r>",
		   "t.xml:2: <a>: ${b}: no such option earlier in the file");
	load_fails("<r><a>${a.b}<b>1</b></a></r>",
		   "t.xml:1: <a>: ${a.b}: no such option earlier in the file");
	load_fails("<r><pidfile>${id}.pid</pidfile></r>",
		   "t.xml:1: <pidfile>: ${id}: no such option earlier in the file");
	load_fails("<r><a>x</a>\n<b><c>${a</c></b></r>",
		   "t.xml:2: <b><c>: \"${\" without a closing \"}\"");
	load_fails("<r><a>${}</a></r>",
		   "t.xml:1: <a>: ${}: no such option earlier in the file");
	load_fails("<r><a>x</a><b>${a}${</b></r>",
		   "t.xml:1: <b>: \"${\" without a closing \"}\"");
}

static void test_xml_errors(void **state)
{
	(void)state;
	load_fails("<r>\n  <local>\n    <port>5347</prt>\n  </local>\n</r>\n",
		   "t.xml:3: <local><port>: mismatched tag");
	load_fails("<r>\n<a>\n", "t.xml:3: <a>: no element found");
	load_fails("", "t.xml:1: no element found");
	load_fails("<r/><s/>", "t.xml:1: junk after document element");
	load_fails("<r><a b='1' b='2'/></r>", "t.xml:1: duplicate attribute");
	load_fails("<r>&nope;</r>", "t.xml:1: undefined entity");
	load_fails("<r>\n<a>\xff</a></r>", "t.xml:2: <a>: not well-formed (invalid token)");
	/* No DOCTYPE, so no entity definitions (and no entity expansion). */
	load_fails("<!DOCTYPE r [<!ENTITY x 'y'>]>\n<r>&x;</r>",
		   "t.xml:1: DOCTYPE declarations are not allowed");
	load_fails("<!DOCTYPE r SYSTEM 'file:///etc/passwd'><r/>",
		   "t.xml:1: DOCTYPE declarations are not allowed");
}

static void test_depth_limit(void **state)
{
	struct buf b = { 0 };
	const char *error = NULL;
	struct config *cfg;
	int i;

	(void)state;
	for (i = 0; i < 64; i++)
		buf_append_str(&b, "<e>");
	for (i = 0; i < 64; i++)
		buf_append_str(&b, "</e>");
	cfg = config_load_mem("t.xml", b.data, b.len, NULL, &error);
	assert_non_null(cfg);
	config_free(&cfg);
	buf_reset(&b);
	for (i = 0; i < 65; i++)
		buf_append_str(&b, "<e>");
	for (i = 0; i < 65; i++)
		buf_append_str(&b, "</e>");
	cfg = config_load_mem("t.xml", b.data, b.len, NULL, &error);
	assert_null(cfg);
	assert_non_null(strstr(error, "nested too deeply"));
	buf_free(&b);
}

static void test_tree_walk(void **state)
{
	struct config *cfg = load("<sm><modules>\n"
				  "  <chain id='sess-start'><module>status</module></chain>\n"
				  "  <chain id='in-sess'>\n"
				  "    <module>validate</module>\n"
				  "    <other/>\n"
				  "    <module arg='x'>roster</module>\n"
				  "  </chain>\n"
				  "  <chain id='empty'>\n  </chain>\n"
				  "</modules></sm>");
	const struct config_node *chain, *m, *root;
	const char *const *attrs;

	(void)state;
	assert_int_equal(config_count(cfg, "modules.chain"), 3);
	assert_int_equal(config_count(cfg, "modules.chain.module"), 3);
	chain = config_node(cfg, "modules.chain", 1);
	assert_non_null(chain);
	assert_string_equal(config_node_name(chain), "chain");
	assert_string_equal(config_node_path(chain), "modules.chain");
	assert_string_equal(config_node_attr(chain, "id"), "in-sess");
	assert_int_equal(config_node_line(chain), 3);
	m = config_node_child(chain, "module");
	assert_string_equal(config_node_value(m), "validate");
	assert_int_equal(config_node_line(m), 4);
	m = config_node_next(m, "module");
	assert_string_equal(config_node_value(m), "roster");
	assert_string_equal(config_node_attr(m, "arg"), "x");
	attrs = config_node_attrs(m);
	assert_string_equal(attrs[0], "arg");
	assert_string_equal(attrs[1], "x");
	assert_null(attrs[2]);
	assert_ptr_equal(config_node_parent(m), chain);
	assert_null(config_node_next(m, "module"));
	/* NULL name: any element. */
	m = config_node_child(chain, NULL);
	assert_string_equal(config_node_name(config_node_next(m, NULL)), "other");
	assert_null(config_node_child(config_node(cfg, "modules.chain", 2), NULL));
	assert_null(config_node(cfg, "modules.chain", 3));
	root = config_root(cfg);
	assert_string_equal(config_node_name(root), "sm");
	assert_string_equal(config_node_path(root), "");
	assert_null(config_node_parent(root));
	assert_string_equal(config_node_name(config_node_child(root, NULL)), "modules");
	assert_string_equal(config_file(cfg), "t.xml");
	assert_string_equal(config_errorf(cfg, chain, "bad %s", "chain"),
			    "t.xml:3: <modules><chain>: bad chain");
	assert_string_equal(config_errorf(cfg, NULL, "whole file"), "t.xml: whole file");
	config_free(&cfg);
}

struct opts {
	const char *ip, *secret, *missing;
	int port, retries, neg, flag, flag_off, flag_def, tls, tls_def;
};

static const struct config_key keys[] = {
	{ "local.ip", CONFIG_STRING, "0.0.0.0", offsetof(struct opts, ip), 0, 0 },
	{ "local.secret", CONFIG_STRING, NULL, offsetof(struct opts, secret), 0, 0 },
	{ "local.nothing", CONFIG_STRING, NULL, offsetof(struct opts, missing), 0, 0 },
	{ "local.port", CONFIG_INT, "5347", offsetof(struct opts, port), 1, 65535 },
	{ "retry.init", CONFIG_INT, "3", offsetof(struct opts, retries), -1, 100 },
	{ "retry.neg", CONFIG_INT, NULL, offsetof(struct opts, neg), 0, 0 },
	{ "transactions", CONFIG_FLAG, NULL, offsetof(struct opts, flag), 0, 0 },
	{ "off", CONFIG_FLAG, NULL, offsetof(struct opts, flag_off), 0, 0 },
	{ "absent-flag", CONFIG_FLAG, "yes", offsetof(struct opts, flag_def), 0, 0 },
	{ "tls", CONFIG_BOOL, "no", offsetof(struct opts, tls), 0, 0 },
	{ "tls-absent", CONFIG_BOOL, "on", offsetof(struct opts, tls_def), 0, 0 },
	{ NULL, 0, NULL, 0, 0, 0 },
};

static void test_apply(void **state)
{
	struct config *cfg = load("<r>\n"
				  "<local><ip>10.0.0.1</ip><port> 5222\n</port></local>\n"
				  "<retry><neg>-7</neg></retry>\n"
				  "<transactions/><off>0</off><tls>  Yes </tls>\n"
				  "</r>");
	struct opts o;
	const char *error = NULL;

	(void)state;
	memset(&o, 0xff, sizeof(o));
	assert_int_equal(config_apply(cfg, keys, &o, &error), 0);
	assert_string_equal(o.ip, "10.0.0.1");
	assert_null(o.secret);
	assert_null(o.missing);
	assert_int_equal(o.port, 5222);
	assert_int_equal(o.retries, 3);
	assert_int_equal(o.neg, -7);
	assert_int_equal(o.flag, 1);
	assert_int_equal(o.flag_off, 1);   /* present: on, whatever it says */
	assert_int_equal(o.flag_def, 1);
	assert_int_equal(o.tls, 1);
	assert_int_equal(o.tls_def, 1);
	config_free(&cfg);
}

static void test_apply_errors(void **state)
{
	static const struct {
		const char *xml, *error;
	} cases[] = {
		{ "<r>\n<local>\n<port>70000</port></local></r>",
		  "t.xml:3: <local><port>: '70000' is out of range (1..65535)" },
		{ "<r><local><port>0</port></local></r>",
		  "t.xml:1: <local><port>: '0' is out of range (1..65535)" },
		{ "<r><local><port>53x</port></local></r>",
		  "t.xml:1: <local><port>: '53x' is not an integer (1..65535)" },
		{ "<r><local><port> </port></local></r>",
		  "t.xml:1: <local><port>: ' ' is not an integer (1..65535)" },
		{ "<r><retry><neg>99999999999999999999</neg></retry></r>",
		  "t.xml:1: <retry><neg>: '99999999999999999999' is out of range" },
		{ "<r><retry><neg>0x10</neg></retry></r>",
		  "t.xml:1: <retry><neg>: '0x10' is not an integer" },
		{ "<r>\n\n<tls>maybe</tls></r>",
		  "t.xml:3: <tls>: 'maybe' is not a boolean (yes/no, true/false, on/off, 1/0)" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config *cfg = load(cases[i].xml);
		const char *error = NULL;
		struct opts o;

		assert_int_equal(config_apply(cfg, keys, &o, &error), -1);
		assert_string_equal(error, cases[i].error);
		config_free(&cfg);
	}
}

static void test_apply_bad_default(void **state)
{
	static const struct config_key bad[] = {
		{ "port", CONFIG_INT, "many", 0, 0, 0 },
		{ NULL, 0, NULL, 0, 0, 0 },
	};
	struct config *cfg = load("<r/>");
	const char *error = NULL;
	int port;

	(void)state;
	assert_int_equal(config_apply(cfg, bad, &port, &error), -1);
	assert_string_equal(error, "t.xml: default 'many' of port is not an integer");
	config_free(&cfg);
}

static void test_unknown(void **state)
{
	static const char *const prefixes[] = { "storage", NULL };
	char dir[] = "/tmp/test_config.XXXXXX", path[64], text[2048];
	const char *error = NULL;
	struct config *cfg = load_id("<r>\n"
				     "<local><ip>1</ip><port>2</port><prot>3</prot></local>\n"
				     "<storage><driver>sqlite</driver><sqlite><x/></sqlite></storage>\n"
				     "<storagex/>\n"
				     "<typo><deep/></typo>\n"
				     "<typo/>\n"
				     "</r>", "preseeded");
	FILE *fp;
	size_t n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/log", dir);
	assert_int_equal(log_open(LOG_TYPE_FILE, "t", NULL, path, &error), 0);
	/* local.ip and local.port are keys; "local" is their container;
	 * storage.* is a known prefix; "id" came from -i only. */
	assert_int_equal(config_unknown(cfg, keys, prefixes), 4);
	log_close();
	fp = fopen(path, "r");
	assert_non_null(fp);
	n = fread(text, 1, sizeof(text) - 1, fp);
	text[n] = '\0';
	fclose(fp);
	unlink(path);
	rmdir(dir);
	assert_non_null(strstr(text, "[warning] t.xml:2: <local><prot>: unknown option, ignored\n"));
	assert_non_null(strstr(text, "[warning] t.xml:4: <storagex>: unknown option, ignored\n"));
	assert_non_null(strstr(text, "[warning] t.xml:5: <typo>: unknown option, ignored\n"));
	assert_non_null(strstr(text, "[warning] t.xml:5: <typo><deep>: unknown option, ignored\n"));
	assert_null(strstr(text, "t.xml:6"));
	assert_null(strstr(text, "<id>"));
	config_free(&cfg);
}

static void test_load_file(void **state)
{
	char dir[] = "/tmp/test_config.XXXXXX", path[64];
	const char *error = NULL;
	struct config *cfg;
	FILE *fp;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/router.xml", dir);
	assert_null(config_load(path, NULL, &error));
	assert_non_null(strstr(error, "cannot open "));
	assert_non_null(strstr(error, "router.xml: No such file or directory"));
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("<router>\n  <local>\n    <port>5347</port>\n  </local>\n", fp);
	fclose(fp);
	assert_null(config_load(path, NULL, &error));
	/* Errors start with the file name as given. */
	assert_true(strncmp(error, path, strlen(path)) == 0);
	assert_string_equal(error + strlen(path), ":5: no element found");
	fp = fopen(path, "a");
	fputs("</router>\n", fp);
	fclose(fp);
	cfg = config_load(path, "r1", &error);
	assert_non_null(cfg);
	assert_string_equal(config_get(cfg, "local.port"), "5347");
	assert_string_equal(config_get(cfg, "id"), "r1");
	assert_string_equal(config_file(cfg), path);
	config_free(&cfg);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_repeated_and_attrs),
		cmocka_unit_test(test_expansion),
		cmocka_unit_test(test_expansion_errors),
		cmocka_unit_test(test_xml_errors),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_tree_walk),
		cmocka_unit_test(test_apply),
		cmocka_unit_test(test_apply_errors),
		cmocka_unit_test(test_apply_bad_default),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_load_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
