/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_cluster_config.c: router.xml's <cluster> section (cluster_config.c):
 * a full section read into its fields, defaults, and a table of broken
 * sections, each of which must be refused with the file, the line, the
 * element and what is wrong.
 */
#include "config.h"
#include "cluster-mod/cluster_config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/config_file.h"

#define GOOD_HEAD "<node>n1</node><ip>127.0.0.2</ip>" \
	"<pemfile>/c/n1.pem</pemfile><cachain>/c/ca.pem</cachain>"

static struct cluster_config *parse(const char *section, const char **error_r)
{
	char xml[4096];
	struct config *cfg;
	struct cluster_config *cc;

	snprintf(xml, sizeof(xml), "<router>\n<id>router</id>\n%s\n</router>\n", section);
	cfg = config_load_mem("router.xml", xml, strlen(xml), NULL, error_r);
	assert_non_null(cfg);
	cc = cluster_config_read(cfg, error_r);
	config_free(&cfg);
	return cc;
}

static void test_full_section(void **state)
{
	const char *error = NULL;
	struct cluster_config *cc = parse(
		"<cluster>\n"
		"  <node> n1 </node>\n"
		"  <ip>127.0.0.2</ip> <port>6000</port>\n"
		"  <pemfile>/etc/jabberd2/cluster/n1.pem</pemfile>\n"
		"  <cachain>/etc/jabberd2/cluster/ca.pem</cachain>\n"
		"  <peer name='n2' ip='127.0.0.3' port='5349'/>\n"
		"  <peer name='n3' ip='::1'/>\n"
		"  <domain>example.org</domain>\n"
		"  <domain>example.net</domain>\n"
		"  <profile>wan</profile>\n"
		"  <module>/x/cluster.so</module>\n"
		"  <sm>sm-n1</sm>\n"
		"  <queue frames='200' bytes='2097152'/>\n"
		"</cluster>", &error);

	(void)state;
	assert_non_null(cc);
	assert_string_equal(cc->node, "n1");
	assert_string_equal(cc->ip, "127.0.0.2");
	assert_int_equal(cc->port, 6000);
	assert_string_equal(cc->pemfile, "/etc/jabberd2/cluster/n1.pem");
	assert_string_equal(cc->cachain, "/etc/jabberd2/cluster/ca.pem");
	assert_int_equal(cc->npeers, 2);
	assert_string_equal(cc->peers[0].name, "n2");
	assert_string_equal(cc->peers[0].ip, "127.0.0.3");
	assert_int_equal(cc->peers[0].port, 5349);
	assert_int_equal(cc->peers[0].line, 8);
	assert_string_equal(cc->peers[1].ip, "::1");
	assert_int_equal(cc->peers[1].port, CLUSTER_DEFAULT_PORT);
	assert_int_equal(cc->ndomains, 2);
	assert_string_equal(cc->domains[1], "example.net");
	assert_int_equal(cc->profile, CLUSTER_PROFILE_WAN);
	assert_string_equal(cc->sm, "sm-n1");
	assert_int_equal(cc->queue_frames, 200);
	assert_int_equal(cc->queue_bytes, 2097152);
	cluster_config_free(&cc);
	assert_null(cc);
}

static void test_defaults(void **state)
{
	const char *error = NULL;
	struct cluster_config *cc = parse("<cluster>" GOOD_HEAD
					  "<domain>example.org</domain></cluster>", &error);

	(void)state;
	assert_non_null(cc);
	assert_int_equal(cc->port, CLUSTER_DEFAULT_PORT);
	assert_int_equal(cc->npeers, 0);
	assert_int_equal(cc->profile, CLUSTER_PROFILE_LAN);
	assert_null(cc->sm);
	assert_int_equal(cc->queue_frames, 0);  /* cluster_fwd.h's defaults */
	assert_int_equal(cc->queue_bytes, 0);
	cluster_config_free(&cc);
}

/* Each broken section and what its error must say: the file, the line,
 * the element path, and the words that name the fault. */
static const struct bad_case {
	const char *section;
	const char *want[3];
} bad_cases[] = {
	{ "<cluster><ip>127.0.0.2</ip><pemfile>a</pemfile><cachain>b</cachain>"
	  "<domain>d</domain></cluster>",
	  { "router.xml:3: <cluster>", "no <node>" } },
	{ "<cluster><node>n 1</node></cluster>",
	  { "router.xml:3: <cluster><node>", "'n 1' is not a node name" } },
	{ "<cluster><node>n1</node><node>n2</node></cluster>",
	  { "router.xml:3: <cluster><node>", "more than once" } },
	{ "<cluster><node>n1</node><ip>host.example</ip></cluster>",
	  { "<cluster><ip>", "'host.example' is not a numeric" } },
	{ "<cluster>" GOOD_HEAD "<port>0</port></cluster>",
	  { "<cluster><port>", "'0' is not a port" } },
	{ "<cluster>" GOOD_HEAD "<port>53x</port></cluster>",
	  { "<cluster><port>", "'53x' is not a port" } },
	{ "<cluster><node>n1</node><ip>127.0.0.2</ip><cachain>b</cachain>"
	  "<domain>d</domain></cluster>",
	  { "<cluster>", "no <pemfile>" } },
	{ "<cluster><node>n1</node><ip>127.0.0.2</ip><pemfile>a</pemfile>"
	  "<domain>d</domain></cluster>",
	  { "<cluster>", "no <cachain>" } },
	{ "<cluster><node>n1</node><pemfile>a</pemfile><cachain>b</cachain>"
	  "<domain>d</domain></cluster>",
	  { "<cluster>", "no <ip>" } },
	{ "<cluster>" GOOD_HEAD "</cluster>", { "<cluster>", "no <domain>" } },
	{ "<cluster>" GOOD_HEAD "<pemfile> </pemfile><domain>d</domain></cluster>",
	  { "<cluster><pemfile>", "more than once" } },
	{ "<cluster><node>n1</node><ip>127.0.0.2</ip><pemfile>  </pemfile></cluster>",
	  { "<cluster><pemfile>", "empty" } },
	{ "<cluster>" GOOD_HEAD "<domain>d</domain>\n<peer ip='127.0.0.3'/></cluster>",
	  { "router.xml:4: <cluster><peer>", "no name=" } },
	{ "<cluster>" GOOD_HEAD "<domain>d</domain><peer name='n2'/></cluster>",
	  { "<cluster><peer>", "peer 'n2' has no ip=" } },
	{ "<cluster>" GOOD_HEAD "<domain>d</domain><peer name='n2' ip='x'/></cluster>",
	  { "<cluster><peer>", "ip 'x' is not a numeric" } },
	{ "<cluster>" GOOD_HEAD "<domain>d</domain>"
	  "<peer name='n2' ip='127.0.0.3' port='70000'/></cluster>",
	  { "<cluster><peer>", "port '70000' is not a port" } },
	{ "<cluster>" GOOD_HEAD "<domain>d</domain>"
	  "<peer name='n/2' ip='127.0.0.3'/></cluster>",
	  { "<cluster><peer>", "name 'n/2' is not a node name" } },
	{ "<cluster>" GOOD_HEAD "<domain>d</domain>\n<peer name='n2' ip='127.0.0.3'/>\n"
	  "<peer name='n2' ip='127.0.0.4'/></cluster>",
	  { "router.xml:5: <cluster><peer>", "listed twice (first at line 4)" } },
	{ "<cluster>" GOOD_HEAD "<domain>d</domain>\n<peer name='n1' ip='127.0.0.3'/>"
	  "</cluster>",
	  { "router.xml:4: <cluster><peer>", "this node's own <node>" } },
	{ "<cluster>" GOOD_HEAD "<domain>d</domain><peer name='n2' ip='127.0.0.2'/>"
	  "</cluster>",
	  { "<cluster><peer>", "this node's own address" } },
	{ "<cluster>" GOOD_HEAD "<domain>a@b</domain></cluster>",
	  { "<cluster><domain>", "'a@b' is not a domain name" } },
	{ "<cluster>" GOOD_HEAD "<domain>d</domain><domain>d</domain></cluster>",
	  { "<cluster><domain>", "listed twice" } },
	{ "<cluster>" GOOD_HEAD "<domain>d</domain><profile>fast</profile></cluster>",
	  { "<cluster><profile>", "'fast' is not a profile (lan or wan)" } },
	{ "<cluster>" GOOD_HEAD "<domain>d</domain><sm>a@b</sm></cluster>",
	  { "<cluster><sm>", "'a@b' is not a component name" } },
	{ "<cluster>" GOOD_HEAD "<domain>d</domain><sm>x</sm><sm>y</sm></cluster>",
	  { "<cluster><sm>", "more than once" } },
	{ "<cluster>" GOOD_HEAD "<domain>d</domain><queue frames='0'/></cluster>",
	  { "<cluster><queue>", "frames '0' is not a count of stanzas (1 to 1048576)" } },
	{ "<cluster>" GOOD_HEAD "<domain>d</domain><queue frames='2000000'/></cluster>",
	  { "<cluster><queue>", "frames '2000000'" } },
	{ "<cluster>" GOOD_HEAD "<domain>d</domain><queue frames='-1'/></cluster>",
	  { "<cluster><queue>", "frames '-1'" } },
	{ "<cluster>" GOOD_HEAD "<domain>d</domain><queue bytes='65536'/></cluster>",
	  { "<cluster><queue>", "bytes '65536' is not a size", "one whole frame" } },
	{ "<cluster>" GOOD_HEAD "<domain>d</domain><queue bytes='99999999999'/></cluster>",
	  { "<cluster><queue>", "bytes '99999999999'" } },
	{ "<cluster>" GOOD_HEAD "<domain>d</domain><queue/><queue/></cluster>",
	  { "<cluster><queue>", "more than once" } },
	{ "<cluster/>\n<cluster/>", { "router.xml:4: <cluster>", "more than once" } },
};

static void test_errors_name_file_line_element(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const char *error = NULL;
		struct cluster_config *cc = parse(bad_cases[i].section, &error);

		if (cc != NULL)
			fail_msg("case %zu accepted: %s", i, bad_cases[i].section);
		assert_non_null(error);
		for (int w = 0; w < 3 && bad_cases[i].want[w] != NULL; w++)
			if (strstr(error, bad_cases[i].want[w]) == NULL)
				fail_msg("case %zu: error '%s' lacks '%s'", i, error,
					 bad_cases[i].want[w]);
	}
}

static void test_too_many_peers(void **state)
{
	static char section[64 * 1024];
	size_t off = 0;
	const char *error = NULL;

	(void)state;
	off += (size_t)snprintf(section + off, sizeof(section) - off,
				"<cluster>" GOOD_HEAD "<domain>d</domain>");
	for (int i = 0; i <= CLUSTER_MAX_PEERS; i++)
		off += (size_t)snprintf(section + off, sizeof(section) - off,
					"<peer name='p%d' ip='127.0.1.%d'/>", i, i % 250 + 1);
	snprintf(section + off, sizeof(section) - off, "</cluster>");
	{
		char xml[70 * 1024];
		struct config *cfg;

		snprintf(xml, sizeof(xml), "<router>%s</router>", section);
		cfg = config_load_mem("router.xml", xml, strlen(xml), NULL, &error);
		assert_non_null(cfg);
		assert_null(cluster_config_read(cfg, &error));
		assert_non_null(strstr(error, "<cluster><peer>: more than 64 peers"));
		config_free(&cfg);
	}
}

static void test_node_names(void **state)
{
	(void)state;
	assert_true(cluster_node_name_valid("n1"));
	assert_true(cluster_node_name_valid("node-2.dc_east"));
	assert_false(cluster_node_name_valid(""));
	assert_false(cluster_node_name_valid(NULL));
	assert_false(cluster_node_name_valid("a b"));
	assert_false(cluster_node_name_valid("n\xc3\xa9"));
	assert_true(cluster_node_name_valid(
		"123456789012345678901234567890123456789012345678901234567890123"));
	assert_false(cluster_node_name_valid(
		"1234567890123456789012345678901234567890123456789012345678901234"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_section),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_errors_name_file_line_element),
		cmocka_unit_test(test_too_many_peers),
		cmocka_unit_test(test_node_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
