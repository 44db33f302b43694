/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for cluster-mod/cluster_route.c: the bytes a receiving
 * module writes for its sm instead of serializing a peer's route again
 * must parse to the same tree as the nad they stand for (names,
 * namespaces, attributes, text; prefixes may differ), for routes as
 * peers send them and for the odd ones (quotes, white space, prefixes
 * the stanza takes from the route's start tag, a prefix jc already bound
 * to something else); and the shapes the fast path does not handle are
 * refused, leaving the output as it was.
 */
#include "config.h"
#include "cluster-mod/cluster_route.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/buf.h"
#include "util/nad.h"
#include "util/tests/nad_same.h"

#define SESSION_NS "urn:jabberd-cluster:session"

/* What the module does to a peer's route (cluster_local.c fwd_deliver). */
static struct nad *for_sm(const char *bytes, const char *targets)
{
	const char *err = NULL;
	struct nad *nad = nad_parse(bytes, strlen(bytes), 64, &err, NULL);

	if (nad == NULL)
		fail_msg("does not parse: %s: %s", err, bytes);
	nad_attr_set(nad, 0, NULL, "from", "example.com");
	nad_attr_set(nad, 0, NULL, "to", "sm");
	nad_attr_set_prefixed(nad, 0, SESSION_NS, "jc", "from-node", "n1");
	nad_attr_set_prefixed(nad, 0, SESSION_NS, "jc", "targets", targets);
	return nad;
}

static const char *const good[] = {
	/* As nad_serialize writes them. */
	"<route xmlns='jabber:component:accept' to='example.com' from='sm'>"
	"<message xmlns='jabber:client' from='a@example.com/r' to='b@example.com/r' "
	"type='chat'><body>hello &amp; &lt;bye&gt;</body></message></route>",
	/* A second forward: jc:hops, and the stanza using the route's prefix. */
	"<route xmlns='jabber:component:accept' xmlns:jc='urn:jabberd-cluster:session' "
	"jc:hops='2' to='example.com' from='sm'><message xmlns='jabber:client' jc:x='1'>"
	"<body>x</body></message></route>",
	/* jc bound to something else: the stanza relies on it. */
	"<route xmlns='jabber:component:accept' xmlns:jc='urn:other' xmlns:jc0='urn:o2' "
	"jc:a='v' to='example.com'><message xmlns='jabber:client'><jc:b jc0:c='1'/>"
	"</message></route>",
	/* Double quotes, white space and new lines in the tag, odd values. */
	"<route\n\txmlns=\"jabber:component:accept\"  to = \"example.com\"\r\n"
	"from=\"it's\" type='a\"b'  ><presence xmlns='jabber:client'/></route>",
	/* jabberd2's component namespace (what the router speaks). */
	"<route xmlns='http://jabberd.jabberstudio.org/ns/component/1.0' to='example.com' "
	"from='sm'><message xmlns='jabber:client' type='chat'><body>b</body></message></route>",
	/* An attribute in xml:, and text around the stanza. */
	"<route xmlns='jabber:component:accept' xml:lang='en' to='example.com'> t1 "
	"<iq xmlns='jabber:client' type='get' id='1'/> t2 </route>",
};

static void test_same_tree(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		static const char *const targets[] = {
			"b@example.com/r", "b@example.com/it's & <that>\ttab\nline",
		};

		for (size_t t = 0; t < 2; t++) {
			struct nad *want = for_sm(good[i], targets[t]), *got;
			struct buf out = { 0 };
			const char *err = NULL;

			buf_append_str(&out, "KEEP");
			if (cluster_route_bytes(good[i], strlen(good[i]), NULL, want, &out) != 0)
				fail_msg("case %zu refused", i);
			assert_memory_equal(out.data, "KEEP", 4);
			got = nad_parse(out.data + 4, out.len - 4, 64, &err, NULL);
			if (got == NULL)
				fail_msg("case %zu: the bytes do not parse (%s): %s", i, err,
					 out.data + 4);
			if (!nad_same(want, 0, got, 0))
				fail_msg("case %zu: another tree: %s", i, out.data + 4);
			nad_free(&got);
			nad_free(&want);
			buf_free(&out);
		}
	}
}

/* The stanza's bytes go out as they came, not serialized again. */
static void test_stanza_bytes_kept(void **state)
{
	static const char in[] = "<route xmlns='jabber:component:accept' to='example.com'>"
				 "<message xmlns='jabber:client'><body>a&#x42;c</body></message>"
				 "</route>";
	struct nad *nad = for_sm(in, "b@example.com/r");
	struct buf out = { 0 };

	(void)state;
	assert_int_equal(cluster_route_bytes(in, strlen(in), NULL, nad, &out), 0);
	assert_non_null(strstr(out.data, "><message xmlns='jabber:client'><body>a&#x42;c</body>"
			       "</message></route>"));
	assert_non_null(strstr(out.data, " to='sm'"));
	assert_null(strstr(out.data, "to='example.com'"));
	nad_free(&nad);
	buf_free(&out);
}

static void test_refused(void **state)
{
	static const char *const bad[] = {
		"<route xmlns='jabber:component:accept' to='example.com'/>",
		"<route to='example.com'><message/></route>",
		"<route xmlns='jabber:component:accept' to='ex&#97;mple.com'><m/></route>",
		"<c:route xmlns:c='jabber:component:accept' to='x'><m/></c:route>",
		"<!-- c --><route xmlns='jabber:component:accept' to='x'><m/></route>",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct nad *nad = for_sm(bad[i], "b@example.com/r");
		struct buf out = { 0 };

		buf_append_str(&out, "KEEP");
		if (cluster_route_bytes(bad[i], strlen(bad[i]), NULL, nad, &out) == 0)
			fail_msg("case %zu taken: %s", i, out.data);
		assert_int_equal(out.len, 4);
		assert_string_equal(out.data, "KEEP");
		nad_free(&nad);
		buf_free(&out);
	}
}

/* Sending: the sm's route as the router read it off the sm's stream, in
 * that stream's default namespace, jc:node and jc:targets dropped. */
static void test_inherited(void **state)
{
	static const char in[] = "<route xmlns:jc='urn:jabberd-cluster:session' jc:node='n2' "
				 "jc:targets='b@example.com/r' jc:hops='2' to='example.com' "
				 "from='sm'><message xmlns='jabber:client' to='b@example.com/r'>"
				 "<body>x</body></message></route>";
	struct buf doc = { 0 }, out = { 0 };
	const char *err = NULL;
	struct nad *stream, *nad, *got;

	(void)state;
	buf_printf(&doc, "<s xmlns='jabber:component:accept'>%s</s>", in);
	stream = nad_parse(doc.data, doc.len, 64, &err, NULL);
	assert_non_null(stream);
	nad = nad_extract(stream, nad_child(stream, 0, NULL, NULL));
	nad_attr_set(nad, 0, SESSION_NS, "node", NULL);
	nad_attr_set(nad, 0, SESSION_NS, "targets", NULL);
	assert_int_equal(cluster_route_bytes(in, strlen(in), NULL, nad, &out), -1);
	assert_int_equal(cluster_route_bytes(in, strlen(in), "urn:other", nad, &out), -1);
	assert_int_equal(out.len, 0);
	assert_int_equal(cluster_route_bytes(in, strlen(in), "jabber:component:accept", nad,
					     &out), 0);
	got = nad_parse(out.data, out.len, 64, &err, NULL);
	if (got == NULL)
		fail_msg("does not parse (%s): %s", err, out.data);
	if (!nad_same(nad, 0, got, 0))
		fail_msg("another tree: %s", out.data);
	assert_null(strstr(out.data, "targets"));
	assert_non_null(strstr(out.data, "jc:hops='2'"));
	/* Without jc:hops, nothing uses jc: any more: not declared. */
	nad_attr_set(nad, 0, SESSION_NS, "hops", NULL);
	buf_reset(&out);
	assert_int_equal(cluster_route_bytes(in, strlen(in), "jabber:component:accept", nad,
					     &out), 0);
	assert_null(strstr(out.data, "xmlns:jc"));
	nad_free(&got);
	got = nad_parse(out.data, out.len, 64, &err, NULL);
	assert_non_null(got);
	assert_true(nad_same(nad, 0, got, 0));
	nad_free(&got);
	nad_free(&nad);
	nad_free(&stream);
	buf_free(&doc);
	buf_free(&out);
}

/* Sending without changing the nad: leaving jc:node, jc:targets and
 * from (and jc:hops) out as the tag is written gives the bytes that
 * removing them from the nad first gives, and the nad keeps them. */
static void test_drop(void **state)
{
	static const char in[] = "<route xmlns:jc='urn:jabberd-cluster:session' jc:node='n2' "
				 "jc:targets='b@example.com/r' jc:hops='2' to='example.com' "
				 "from='sm'><message xmlns='jabber:client' to='b@example.com/r'>"
				 "<body>x</body></message></route>";
	static const struct cluster_route_attr drop[] = {
		{ SESSION_NS, "node" }, { SESSION_NS, "targets" }, { NULL, "from" }, { NULL, NULL },
	};
	static const struct cluster_route_attr drop_hops[] = {
		{ SESSION_NS, "node" }, { SESSION_NS, "targets" }, { NULL, "from" },
		{ SESSION_NS, "hops" }, { NULL, NULL },
	};
	static const struct cluster_route_attr other_ns[] = {
		{ "urn:other", "node" }, { "urn:other", "from" }, { NULL, NULL },
	};
	static const char ns[] = "jabber:component:accept";
	struct buf doc = { 0 }, want = { 0 }, got = { 0 };
	const char *err = NULL;
	struct nad *stream, *nad, *removed;

	(void)state;
	buf_printf(&doc, "<s xmlns='%s'>%s</s>", ns, in);
	stream = nad_parse(doc.data, doc.len, 64, &err, NULL);
	assert_non_null(stream);
	nad = nad_extract(stream, nad_child(stream, 0, NULL, NULL));
	for (int h = 0; h < 2; h++) {
		removed = nad_copy(nad);
		nad_attr_set(removed, 0, SESSION_NS, "node", NULL);
		nad_attr_set(removed, 0, SESSION_NS, "targets", NULL);
		nad_attr_set(removed, 0, NULL, "from", NULL);
		if (h)
			nad_attr_set(removed, 0, SESSION_NS, "hops", NULL);
		buf_reset(&want);
		buf_reset(&got);
		assert_int_equal(cluster_route_bytes(in, strlen(in), ns, removed, &want), 0);
		assert_int_equal(cluster_route_bytes_as(in, strlen(in), ns, nad,
							h ? drop_hops : drop, &got), 0);
		assert_string_equal(got.data, want.data);
		assert_null(strstr(got.data, "jc:node"));
		assert_null(strstr(got.data, "from='sm'"));
		assert_int_equal(strstr(got.data, "jc:hops") == NULL, h);
		assert_string_equal(nad_attr(nad, 0, SESSION_NS, "node"), "n2");
		nad_free(&removed);
	}
	/* Other namespaces' attributes of those names stay. */
	buf_reset(&got);
	assert_int_equal(cluster_route_bytes_as(in, strlen(in), ns, nad, other_ns, &got), 0);
	assert_non_null(strstr(got.data, "jc:node='n2'"));
	assert_non_null(strstr(got.data, "from='sm'"));
	nad_free(&nad);
	nad_free(&stream);
	buf_free(&doc);
	buf_free(&want);
	buf_free(&got);
}

#define C2S_SESSION_NS "http://jabberd.jabberstudio.org/ns/session/1.0"

/* What the module does for direct delivery (cluster_local.c
 * direct_deliver): the tree the c2s must get, to compare with the bytes. */
static struct nad *for_c2s(const char *bytes, const char *cid, const char *sid)
{
	const char *err = NULL;
	struct nad *nad = nad_parse(bytes, strlen(bytes), 64, &err, NULL);
	int p;

	if (nad == NULL)
		fail_msg("does not parse: %s: %s", err, bytes);
	nad_attr_set(nad, 0, NULL, "to", "c2s");
	nad_attr_set(nad, 0, NULL, "from", "sm-n2");
	nad_attr_set(nad, 0, SESSION_NS, "hops", NULL);
	p = nad_child(nad, 0, NULL, NULL);
	nad_attr_set_prefixed(nad, p, C2S_SESSION_NS, "jcs", "c2s", cid);
	nad_attr_set_prefixed(nad, p, C2S_SESSION_NS, "jcs", "sm", sid);
	return nad;
}

/* The bytes parse to the tree the sm would have sent the c2s: the route
 * addressed anew, the stanza with the session attributes, all else kept;
 * an empty stanza, quotes holding '>' and '/>' in the start tag, odd ids. */
static void test_for_session(void **state)
{
	static const char *const in[] = {
		"<route xmlns='jabber:component:accept' to='example.com'><message "
		"xmlns='jabber:client' from='a@example.com/r' to='b@example.com/r' type='chat'>"
		"<body>hi &amp; bye</body></message></route>",
		"<route xmlns='jabber:component:accept' xmlns:jc='urn:jabberd-cluster:session' "
		"jc:hops='2' to='example.com'>\n <message xmlns='jabber:client' "
		"from=\"a@example.com/x>/y\" to='b@example.com/a/>b'/></route>",
		"<route xmlns='http://jabberd.jabberstudio.org/ns/component/1.0' "
		"xmlns:p='urn:p' to='example.com'><message xmlns='jabber:client' to='b@e/r' "
		"from='a@e/r'><p:x/></message></route>",
	};
	static const char *const ids[][2] = {
		{ "12", "0123456789abcdef0123456789abcdef01234567" },
		{ "it's <7> & \"8\"", "s\tm" },
		{ "1", "2" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		struct nad *want = for_c2s(in[i], ids[i][0], ids[i][1]), *got;
		struct buf out = { 0 };
		const char *err = NULL;
		int p;

		buf_append_str(&out, "KEEP");
		if (cluster_route_for_session(in[i], strlen(in[i]), NULL, want, C2S_SESSION_NS,
					      ids[i][0], ids[i][1], &out) != 0)
			fail_msg("case %zu refused", i);
		assert_memory_equal(out.data, "KEEP", 4);
		got = nad_parse(out.data + 4, out.len - 4, 64, &err, NULL);
		if (got == NULL)
			fail_msg("case %zu: the bytes do not parse (%s): %s", i, err, out.data + 4);
		if (!nad_same(want, 0, got, 0))
			fail_msg("case %zu: another tree: %s", i, out.data + 4);
		p = nad_child(got, 0, NULL, NULL);
		assert_string_equal(nad_attr(got, p, C2S_SESSION_NS, "c2s"), ids[i][0]);
		assert_string_equal(nad_attr(got, p, C2S_SESSION_NS, "sm"), ids[i][1]);
		assert_string_equal(nad_attr(got, 0, NULL, "to"), "c2s");
		nad_free(&got);
		nad_free(&want);
		buf_free(&out);
	}
}

/* Shapes it leaves to the sm: nothing in the route, a stanza that already
 * uses the jcs prefix, a route that is not one. The output is untouched. */
static void test_for_session_refused(void **state)
{
	static const char *const in[] = {
		"<route xmlns='jabber:component:accept' to='example.com'>text only</route>",
		"<route xmlns='jabber:component:accept' to='example.com'><message "
		"xmlns='jabber:client' xmlns:jcs='urn:x' jcs:a='1'/></route>",
		"<route xmlns='jabber:component:accept' to='example.com'><!-- c --><message "
		"xmlns='jabber:client'/></route>",
		"<other xmlns='jabber:component:accept'><message xmlns='jabber:client'/></other>",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		const char *err = NULL;
		struct nad *nad = nad_parse(in[i], strlen(in[i]), 64, &err, NULL);
		struct buf out = { 0 };

		if (nad == NULL)
			fail_msg("does not parse: %s: %s", err, in[i]);
		buf_append_str(&out, "KEEP");
		if (cluster_route_for_session(in[i], strlen(in[i]), NULL, nad, C2S_SESSION_NS,
					      "1", "2", &out) != -1)
			fail_msg("case %zu taken: %s", i, out.data);
		assert_int_equal(out.len, 4);
		nad_free(&nad);
		buf_free(&out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_tree),
		cmocka_unit_test(test_stanza_bytes_kept),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_inherited),
		cmocka_unit_test(test_drop),
		cmocka_unit_test(test_for_session),
		cmocka_unit_test(test_for_session_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
