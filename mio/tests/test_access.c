/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for mio/mio_access.c: the io.access allow/deny lists a daemon
 * applies to every connecting address. Table-driven: each case is an
 * order, a rule set and an address with the verdict jabberd2's semantics
 * give it, for IPv4, IPv6, masks and IPv4-mapped peers.
 */
#include "config.h"
#include "mio/mio.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <cmocka.h>

#define MAX_RULES 4

struct rule {
	int allow;
	const char *ip;
	const char *mask;
};

struct check_case {
	const char *what;
	enum mio_access_order order;
	struct rule rules[MAX_RULES];
	const char *peer;
	int allowed;
};

#define A MIO_ACCESS_ALLOW_DENY
#define D MIO_ACCESS_DENY_ALLOW

static const struct check_case check_cases[] = {
	{ "no rules, allow,deny allows", A, { { 0 } }, "192.0.2.1", 1 },
	{ "no rules, deny,allow denies", D, { { 0 } }, "192.0.2.1", 0 },
	{ "deny /8 hits", A, { { 0, "10.0.0.0", "255.0.0.0" } }, "10.1.2.3", 0 },
	{ "deny /8 misses", A, { { 0, "10.0.0.0", "255.0.0.0" } }, "11.0.0.1", 1 },
	{ "allow,deny: allow beats deny", A,
	  { { 1, "10.1.0.0", "255.255.0.0" }, { 0, "10.0.0.0", "8" } },
	  "10.1.2.3", 1 },
	{ "allow,deny: deny outside the allow", A,
	  { { 1, "10.1.0.0", "255.255.0.0" }, { 0, "10.0.0.0", "8" } },
	  "10.2.0.1", 0 },
	{ "deny,allow: deny beats allow", D,
	  { { 1, "192.168.1.0", "24" }, { 0, "192.168.1.66", NULL } },
	  "192.168.1.66", 0 },
	{ "deny,allow: allowed subnet", D,
	  { { 1, "192.168.1.0", "24" }, { 0, "192.168.1.66", NULL } },
	  "192.168.1.5", 1 },
	{ "deny,allow: outside everything", D,
	  { { 1, "192.168.1.0", "24" }, { 0, "192.168.1.66", NULL } },
	  "192.168.2.1", 0 },
	{ "no mask is one host (match)", D, { { 1, "127.0.0.1", NULL } }, "127.0.0.1", 1 },
	{ "no mask is one host (neighbour)", D, { { 1, "127.0.0.1", NULL } }, "127.0.0.2", 0 },
	{ "jabberd2 default mask", D, { { 1, "127.0.0.1", "255.255.255.255" } }, "127.0.0.1", 1 },
	{ "odd prefix /23 inside", D, { { 1, "172.16.2.0", "23" } }, "172.16.3.255", 1 },
	{ "odd prefix /23 outside", D, { { 1, "172.16.2.0", "23" } }, "172.16.4.0", 0 },
	{ "mask 0.0.0.0 is every IPv4", D, { { 1, "1.2.3.4", "0.0.0.0" } }, "203.0.113.9", 1 },
	{ "mask 0.0.0.0 is no IPv6", D, { { 1, "1.2.3.4", "0.0.0.0" } }, "2001:db8::1", 0 },
	{ "v6 /32 inside", D, { { 1, "2001:db8::", "32" } }, "2001:db8:1::5", 1 },
	{ "v6 /32 outside", D, { { 1, "2001:db8::", "32" } }, "2001:db9::1", 0 },
	{ "v6 /33 inside", D, { { 1, "2001:db8:8000::", "33" } }, "2001:db8:ffff::1", 1 },
	{ "v6 /33 outside", D, { { 1, "2001:db8:8000::", "33" } }, "2001:db8:7fff::1", 0 },
	{ "v6 host", A, { { 0, "::1", NULL } }, "::1", 0 },
	{ "v6 host, other address", A, { { 0, "::1", NULL } }, "::2", 1 },
	{ "v6 jabberd2 default mask is a host", A,
	  { { 0, "2001:db8::7", "255.255.255.255" } }, "2001:db8::8", 1 },
	{ "v4 rule vs mapped peer", A, { { 0, "10.0.0.0", "8" } }, "::ffff:10.1.2.3", 0 },
	{ "mapped rule vs v4 peer", D, { { 1, "::ffff:10.0.0.0", "104" } }, "10.9.9.9", 1 },
	{ "mapped rule vs other v4 peer", D, { { 1, "::ffff:10.0.0.0", "104" } }, "11.9.9.9", 0 },
	{ "v4 rule never matches v6", A, { { 0, "0.0.0.0", "0" } }, "::1", 1 },
	{ "v6 rule never matches plain v4", A, { { 0, "2001:db8::", "32" } }, "32.1.13.184", 1 },
	{ "unparsable peer is denied", A, { { 0 } }, "not-an-address", 0 },
	{ "empty peer is denied", A, { { 0 } }, "", 0 },
};

static struct mio_access *build(enum mio_access_order order,
				const struct rule *rules)
{
	struct mio_access *acl = mio_access_new(order);
	const char *error = NULL;
	int i;

	for (i = 0; i < MAX_RULES && rules[i].ip != NULL; i++) {
		if (mio_access_add(acl, rules[i].allow, rules[i].ip,
				   rules[i].mask, &error) < 0)
			fail_msg("rule %s/%s: %s", rules[i].ip,
				 rules[i].mask ? rules[i].mask : "-", error);
	}
	return acl;
}

static void test_check_table(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(check_cases) / sizeof(check_cases[0]); i++) {
		const struct check_case *c = &check_cases[i];
		struct mio_access *acl = build(c->order, c->rules);
		int got = mio_access_check_ip(acl, c->peer);

		if (got != c->allowed)
			fail_msg("case \"%s\": %s %s, expected %s", c->what,
				 c->peer, got ? "allowed" : "denied",
				 c->allowed ? "allowed" : "denied");
		mio_access_free(&acl);
		assert_null(acl);
	}
}

struct bad_rule {
	const char *ip;
	const char *mask;
};

static const struct bad_rule bad_rules[] = {
	{ "300.1.1.1", NULL },
	{ "host.example", NULL },
	{ NULL, NULL },
	{ "10.0.0.0", "33" },
	{ "2001:db8::", "129" },
	{ "10.0.0.0", "255.0.255.0" },         /* not contiguous */
	{ "2001:db8::", "255.255.0.0" },       /* dotted mask on IPv6 */
	{ "10.0.0.0", "abc" },
	{ "10.0.0.0", "" },
	{ "10.0.0.0", "-1" },
	{ "10.0.0.0", "24x" },
};

static void test_bad_rules(void **state)
{
	struct mio_access *acl = mio_access_new(MIO_ACCESS_DENY_ALLOW);
	const char *error;
	size_t i;

	for (i = 0; i < sizeof(bad_rules) / sizeof(bad_rules[0]); i++) {
		error = NULL;
		if (mio_access_add(acl, 1, bad_rules[i].ip, bad_rules[i].mask,
				   &error) != -1)
			fail_msg("rule %s/%s was accepted", bad_rules[i].ip,
				 bad_rules[i].mask);
		assert_non_null(error);
	}
	/* Nothing was added: deny,allow with no rules denies everyone. */
	assert_int_equal(mio_access_check_ip(acl, "10.0.0.1"), 0);
	mio_access_free(&acl);
}

static void test_order_parse(void **state)
{
	static const struct {
		const char *text;
		enum mio_access_order order;
	} cases[] = {
		{ "deny,allow", MIO_ACCESS_DENY_ALLOW },
		{ "allow,deny", MIO_ACCESS_ALLOW_DENY },
		{ NULL, MIO_ACCESS_ALLOW_DENY },
		{ "", MIO_ACCESS_ALLOW_DENY },
		{ "Deny,Allow", MIO_ACCESS_ALLOW_DENY },        /* as jabberd2 */
		{ "deny, allow", MIO_ACCESS_ALLOW_DENY },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(mio_access_order_parse(cases[i].text),
				 cases[i].order);
}

/* The listener path checks socket addresses, not strings. */
static void test_check_sockaddr(void **state)
{
	struct mio_access *acl = mio_access_new(MIO_ACCESS_ALLOW_DENY);
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *error;

	assert_int_equal(mio_access_add(acl, 0, "198.51.100.0", "24", &error), 0);
	inet_pton(AF_INET, "198.51.100.7", &sin.sin_addr);
	assert_int_equal(mio_access_check(acl, (struct sockaddr *)&sin), 0);
	inet_pton(AF_INET6, "::ffff:198.51.100.7", &sin6.sin6_addr);
	assert_int_equal(mio_access_check(acl, (struct sockaddr *)&sin6), 0);
	inet_pton(AF_INET6, "::ffff:198.51.101.7", &sin6.sin6_addr);
	assert_int_equal(mio_access_check(acl, (struct sockaddr *)&sin6), 1);
	assert_int_equal(mio_access_check(acl, (struct sockaddr *)&sun), 0);
	mio_access_free(&acl);
	mio_access_free(&acl);          /* NULL is ignored */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_table),
		cmocka_unit_test(test_bad_rules),
		cmocka_unit_test(test_order_parse),
		cmocka_unit_test(test_check_sockaddr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
