/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for router/routes.c, the routing core: bind and unbind with
 * jabberd2's replies and error codes in its check order, advertisement
 * presences, unicast routing with bounces (400/401/404), the default
 * route, broadcast, log sinks, aliases, multi groups and their SHA-1
 * member choice, throttling, disconnects, and XEP-0114 wrapping. Each
 * component is a recorder (router_test.c): the assertions are on exactly
 * the XML a component would read.
 */
#include "config.h"
#include "router/router.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "router/router_module.h"
#include "router/tests/router_test.h"
#include "util/hash.h"
#include "util/nad.h"
#include "util/xhash.h"

#define NS " xmlns='" COMP_NS "'"
#define BIND(attrs) "<bind" NS attrs "/>"
#define PRES(from) "<presence" NS " from='" from "'/>"
#define UNAV(from) "<presence" NS " from='" from "' type='unavailable'/>"
#define MSG "<message xmlns='jabber:client' from='a@x.example' to='b@y.example'><body>hi</body></message>"
#define ROUTE(to, from) "<route" NS " to='" to "' from='" from "'>" MSG "</route>"

/* Bind `name` for t and drop the reply and advertisements it gets. */
static void bind_ok(struct rt *t, const char *name)
{
	char xml[256];

	snprintf(xml, sizeof(xml), "<bind xmlns='%s' name='%s'/>", COMP_NS, name);
	rt_clear(t);
	rt_feed(t, xml);
	rt_expect(t, BIND(""));
	rt_clear(t);
}

/* ---- bind ---- */

struct bind_case {
	const char *what;
	const char *acl_type;   /* ACL granted to "comp", or NULL */
	const char *prebound;   /* name bound by "other" first, or NULL */
	int default_taken;      /* "other" holds the default route */
	const char *alias;      /* alias name configured, or NULL */
	const char *in;
	const char *reply;
};

static const struct bind_case bind_cases[] = {
	{ "own name, no ACL", NULL, NULL, 0, NULL,
	  BIND(" name='comp'"), BIND("") },
	{ "name is normalised", NULL, NULL, 0, NULL,
	  BIND(" name='COMP'"), BIND("") },
	{ "no name", NULL, NULL, 0, NULL,
	  BIND(""), BIND(" error='400'") },
	{ "invalid name keeps it", "all", NULL, 0, NULL,
	  BIND(" name='a@@b'"), BIND(" name='a@@b' error='400'") },
	{ "other name without ACL", NULL, NULL, 0, NULL,
	  BIND(" name='sm.example'"), BIND(" error='403'") },
	{ "other name with bind ACL", "bind", NULL, 0, NULL,
	  BIND(" name='sm.example'"), BIND("") },
	{ "other name with all ACL", "all", NULL, 0, NULL,
	  BIND(" name='sm.example'"), BIND("") },
	{ "ACL checked before conflict", NULL, "sm.example", 0, NULL,
	  BIND(" name='sm.example'"), BIND(" error='403'") },
	{ "conflict", "bind", "sm.example", 0, NULL,
	  BIND(" name='sm.example'"), BIND(" error='409'") },
	{ "multi joins", "bind", "sm.example", 0, NULL,
	  BIND(" name='sm.example' multi='to'"), BIND(" multi='to'") },
	{ "alias name", "bind", NULL, 0, "alias.example",
	  BIND(" name='alias.example'"), BIND(" error='409'") },
	{ "default without ACL", "bind", NULL, 0, NULL,
	  "<bind" NS " name='s2s'><default/></bind>",
	  "<bind" NS " error='403'><default/></bind>" },
	{ "default with ACL", "default-route", NULL, 0, NULL,
	  "<bind" NS " name='comp'><default/></bind>",
	  "<bind" NS "><default/></bind>" },
	{ "default taken", "all", NULL, 1, NULL,
	  "<bind" NS " name='comp'><default/></bind>",
	  "<bind" NS " error='409'><default/></bind>" },
	{ "log without ACL", NULL, NULL, 0, NULL,
	  "<bind" NS " name='comp'><log/></bind>",
	  "<bind" NS " error='403'><log/></bind>" },
	{ "log with ACL", "log", NULL, 0, NULL,
	  "<bind" NS " name='comp'><log/></bind>",
	  "<bind" NS "><log/></bind>" },
};

static void test_bind_replies(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bind_cases) / sizeof(bind_cases[0]); i++) {
		const struct bind_case *bc = &bind_cases[i];
		struct router *r = router_new();
		struct rt *other = rt_new(r, "other", 0);
		struct rt *t = rt_new(r, "comp", 0);

		print_message("bind: %s\n", bc->what);
		router_acl_add(r, ROUTER_ACL_ALL, "other");
		if (bc->acl_type != NULL)
			router_acl_add(r, router_acl_type(bc->acl_type), "comp");
		if (bc->alias != NULL)
			router_alias_add(r, bc->alias, "other");
		if (bc->prebound != NULL) {
			char xml[256];

			snprintf(xml, sizeof(xml), "<bind xmlns='%s' name='%s' multi='to'/>",
				 COMP_NS, bc->prebound);
			rt_feed(other, xml);
		}
		if (bc->default_taken)
			rt_feed(other, "<bind" NS " name='s2s'><default/></bind>");
		rt_clear(other);
		rt_clear(t);
		rt_feed(t, bc->in);
		rt_expect(t, bc->reply);
		rt_free(&t);
		rt_free(&other);
		router_free(&r);
	}
}

static void test_bind_advertises(void **state)
{
	struct router *r = router_new();
	struct rt *sm = rt_new(r, "sm", 0), *c2s = rt_new(r, "c2s", 0);
	struct rt *legacy = rt_new(r, "muc", 1);

	(void)state;
	rt_feed(sm, BIND(" name='sm'"));
	rt_expect(sm, BIND(""));
	rt_expect_none(sm);
	rt_expect(c2s, PRES("sm"));
	rt_expect_none(legacy);         /* XEP-0114 links get no adverts */
	rt_feed(c2s, BIND(" name='c2s'"));
	rt_expect(c2s, BIND(""));
	rt_expect(c2s, PRES("sm"));     /* the binder learns existing names */
	rt_expect_none(c2s);
	rt_expect(sm, PRES("c2s"));
	rt_expect_none(legacy);
	/* A repeated multi bind advertises again. */
	rt_feed(sm, BIND(" name='sm' multi='to'"));
	rt_expect(sm, BIND(" multi='to'"));
	rt_expect(c2s, PRES("sm"));
	rt_free(&legacy);
	rt_free(&c2s);
	rt_free(&sm);
	router_free(&r);
}

/* ---- unbind and disconnect ---- */

static void test_unbind(void **state)
{
	struct router *r = router_new();
	struct rt *a = rt_new(r, "a", 0), *b = rt_new(r, "b", 0);

	(void)state;
	bind_ok(a, "a");
	rt_clear(b);
	rt_feed(a, "<unbind" NS "/>");
	rt_expect(a, "<unbind" NS " error='400'/>");
	rt_feed(a, "<unbind" NS " name='b'/>");
	rt_expect(a, "<unbind" NS " error='404'/>");
	rt_expect_none(b);
	rt_feed(a, "<unbind" NS " name='a'/>");
	rt_expect(a, "<unbind" NS "/>");
	rt_expect(b, UNAV("a"));
	/* Unbound: its routes are refused with 401 now. */
	rt_feed(a, ROUTE("b", "a"));
	rt_expect(a, "<route" NS " to='b' from='a' error='401'>" MSG "</route>");
	rt_free(&a);
	rt_free(&b);
	router_free(&r);
}

static void test_disconnect_unbinds_all(void **state)
{
	struct router *r = router_new();
	struct rt *s2s = rt_new(r, "s2s", 0), *sm = rt_new(r, "sm", 0);
	char *x, *y;

	(void)state;
	router_acl_add(r, ROUTER_ACL_ALL, "s2s");
	rt_feed(s2s, "<bind" NS " name='s2s'><default/></bind>");
	rt_feed(s2s, BIND(" name='extra.example'"));
	bind_ok(sm, "sm");
	rt_clear(s2s);
	rt_free(&s2s);
	/* Both names go unavailable (in either order), the default with them. */
	x = rt_pop(sm);
	y = rt_pop(sm);
	assert_non_null(x);
	assert_non_null(y);
	if (strcmp(x, UNAV("s2s")) != 0) {
		char *tmp = x;

		x = y;
		y = tmp;
	}
	assert_string_equal(x, UNAV("s2s"));
	assert_string_equal(y, UNAV("extra.example"));
	free(x);
	free(y);
	rt_expect_none(sm);
	assert_null(router_lookup(r, "s2s"));
	rt_feed(sm, ROUTE("far.example", "sm"));
	rt_expect(sm, "<route" NS " to='far.example' from='sm' error='404'>" MSG "</route>");
	rt_free(&sm);
	router_free(&r);
}

/* ---- unicast routing ---- */

struct route_case {
	const char *what;
	const char *in;         /* sent by "sm", which holds "sm" */
	const char *to_sm;      /* what "sm" gets back, or NULL */
	const char *to_c2s;     /* what "c2s" (holding "c2s") gets, or NULL */
};

static const struct route_case route_cases[] = {
	{ "delivered unmodified", ROUTE("c2s", "sm"), NULL, ROUTE("c2s", "sm") },
	{ "domains only matter", ROUTE("u@C2S/r", "x@sm/y"), NULL, ROUTE("u@C2S/r", "x@sm/y") },
	{ "unknown name bounces 404, to/from kept", ROUTE("nowhere.example", "sm"),
	  "<route" NS " to='nowhere.example' from='sm' error='404'>" MSG "</route>", NULL },
	{ "no to: 400", "<route" NS " from='sm'>" MSG "</route>",
	  "<route" NS " from='sm' error='400'>" MSG "</route>", NULL },
	{ "no from: 400", "<route" NS " to='c2s'>" MSG "</route>",
	  "<route" NS " to='c2s' error='400'>" MSG "</route>", NULL },
	{ "invalid to: 400", "<route" NS " to='a@@b' from='sm'/>",
	  "<route" NS " to='a@@b' from='sm' error='400'/>", NULL },
	{ "from not bound by sender: 401", ROUTE("c2s", "c2s"),
	  "<route" NS " to='c2s' from='c2s' error='401'>" MSG "</route>", NULL },
	{ "error routes are dropped", "<route" NS " to='c2s' from='sm' error='404'/>", NULL, NULL },
	{ "unknown type dropped", "<route" NS " to='c2s' from='sm' type='foo'/>", NULL, NULL },
	{ "non-component namespace dropped", "<route to='c2s' from='sm'/>", NULL, NULL },
	{ "unknown element dropped", "<frob" NS "/>", NULL, NULL },
	{ "broadcast", "<route" NS " from='sm' type='broadcast'>" MSG "</route>",
	  NULL, "<route" NS " from='sm' type='broadcast'>" MSG "</route>" },
	{ "broadcast needs bound from", "<route" NS " from='c2s' type='broadcast'/>",
	  "<route" NS " from='c2s' type='broadcast' error='401'/>", NULL },
	{ "broadcast needs from", "<route" NS " type='broadcast'/>",
	  "<route" NS " type='broadcast' error='400'/>", NULL },
};

static void test_route_unicast(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(route_cases) / sizeof(route_cases[0]); i++) {
		const struct route_case *rc = &route_cases[i];
		struct router *r = router_new();
		struct rt *sm = rt_new(r, "sm", 0), *c2s = rt_new(r, "c2s", 0);

		print_message("route: %s\n", rc->what);
		bind_ok(sm, "sm");
		bind_ok(c2s, "c2s");
		rt_clear(sm);
		rt_feed(sm, rc->in);
		if (rc->to_sm != NULL)
			rt_expect(sm, rc->to_sm);
		rt_expect_none(sm);
		if (rc->to_c2s != NULL)
			rt_expect(c2s, rc->to_c2s);
		rt_expect_none(c2s);
		rt_free(&sm);
		rt_free(&c2s);
		router_free(&r);
	}
}

static void test_default_route(void **state)
{
	struct router *r = router_new();
	struct rt *s2s = rt_new(r, "s2s", 0), *sm = rt_new(r, "sm", 0);

	(void)state;
	router_acl_add(r, ROUTER_ACL_DEFAULT_ROUTE, "s2s");
	rt_feed(s2s, "<bind" NS " name='s2s'><default/></bind>");
	rt_expect(s2s, "<bind" NS "><default/></bind>");
	bind_ok(sm, "sm");
	rt_clear(s2s);
	rt_feed(sm, ROUTE("far.example", "sm"));
	rt_expect(s2s, ROUTE("far.example", "sm"));
	rt_expect_none(sm);
	/* The default route itself gets 404 for unknown names (no loop). */
	rt_feed(s2s, ROUTE("other.example", "s2s"));
	rt_expect(s2s, "<route" NS " to='other.example' from='s2s' error='404'>" MSG "</route>");
	/* Unbinding the name drops the default route. */
	rt_feed(s2s, "<unbind" NS " name='s2s'/>");
	rt_clear(s2s);
	rt_clear(sm);
	rt_feed(sm, ROUTE("far.example", "sm"));
	rt_expect(sm, "<route" NS " to='far.example' from='sm' error='404'>" MSG "</route>");
	rt_expect_none(s2s);
	rt_free(&s2s);
	rt_free(&sm);
	router_free(&r);
}

static void test_log_sink(void **state)
{
	struct router *r = router_new();
	struct rt *logger = rt_new(r, "logger", 0), *sm = rt_new(r, "sm", 0);
	struct rt *c2s = rt_new(r, "c2s", 0);

	(void)state;
	router_acl_add(r, ROUTER_ACL_LOG, "logger");
	rt_feed(logger, "<bind" NS " name='logger'><log/></bind>");
	bind_ok(sm, "sm");
	bind_ok(c2s, "c2s");
	rt_clear(logger);
	rt_feed(sm, ROUTE("c2s", "sm"));
	rt_expect(c2s, ROUTE("c2s", "sm"));
	rt_expect(logger, "<route" NS " to='c2s' from='sm' type='log'>" MSG "</route>");
	rt_expect_none(logger);
	/* Bounced routes are not logged. */
	rt_feed(sm, ROUTE("nowhere", "sm"));
	rt_expect_none(logger);
	rt_free(&logger);
	rt_free(&sm);
	rt_free(&c2s);
	router_free(&r);
}

static void test_alias(void **state)
{
	struct router *r = router_new();
	struct rt *muc = rt_new(r, "muc", 0), *sm = rt_new(r, "sm", 0);

	(void)state;
	router_alias_add(r, "rooms.example", "muc");
	rt_feed(muc, BIND(" name='muc'"));
	rt_expect(muc, BIND(""));
	rt_expect_none(muc);
	/* Other components learn the target and its alias. */
	rt_expect(sm, PRES("muc"));
	rt_expect(sm, PRES("rooms.example"));
	bind_ok(sm, "sm");
	rt_clear(muc);
	rt_feed(sm, ROUTE("rooms.example", "sm"));
	rt_expect(muc, ROUTE("rooms.example", "sm"));
	/* The target's holder may send from the alias name. */
	rt_feed(muc, ROUTE("sm", "rooms.example"));
	rt_expect(sm, ROUTE("sm", "rooms.example"));
	rt_free(&muc);
	rt_expect(sm, UNAV("muc"));
	rt_expect(sm, UNAV("rooms.example"));
	rt_free(&sm);
	router_free(&r);
}

/* ---- multi groups ---- */

/* The member index the spec's formula gives for a bare JID. */
static unsigned expected_index(const char *bare, unsigned n)
{
	unsigned char md[HASH_SHA1_LEN];
	uint32_t w[5];

	assert_int_equal(hash_sha1(bare, strlen(bare), md), 0);
	memcpy(w, md, sizeof(w));
	return ((w[1] ^ w[2] ^ w[3]) >> 2) % n;
}

static void test_multi_pick(void **state)
{
	struct router *r = router_new();
	struct rt *m[3], *c2s = rt_new(r, "c2s", 0);
	char xml[512], user[64];
	int hits[3] = { 0 };

	(void)state;
	for (int i = 0; i < 3; i++) {
		char name[16];

		snprintf(name, sizeof(name), "sm%d", i);
		m[i] = rt_new(r, name, 0);
		router_acl_add(r, ROUTER_ACL_BIND, name);
		rt_feed(m[i], BIND(" name='dom.example' multi='to'"));
	}
	bind_ok(c2s, "c2s");
	for (int i = 0; i < 3; i++)
		rt_clear(m[i]);
	for (int u = 0; u < 60; u++) {
		unsigned want;

		snprintf(user, sizeof(user), "user%d@dom.example", u);
		want = expected_index(user, 3);
		for (int k = 0; k < 2; k++) {   /* the same user: the same member */
			snprintf(xml, sizeof(xml),
				 "<route xmlns='%s' to='dom.example' from='c2s'>"
				 "<message xmlns='jabber:client' to='%s/res%d'/></route>",
				 COMP_NS, user, k);
			rt_feed(c2s, xml);
			for (int i = 0; i < 3; i++) {
				if ((unsigned)i == want) {
					char *s = rt_pop(m[i]);

					assert_non_null(s);
					free(s);
					hits[i]++;
				}
				rt_expect_none(m[i]);
			}
		}
	}
	for (int i = 0; i < 3; i++)
		assert_true(hits[i] > 0);
	/* Session control: no payload to, the target attribute steers. */
	{
		unsigned want = expected_index("ann@dom.example", 3);

		snprintf(xml, sizeof(xml),
			 "<route xmlns='%s' to='dom.example' from='c2s'>"
			 "<sc:session xmlns:sc='http://jabberd.jabberstudio.org/ns/session/1.0'"
			 " action='start' target='ann@dom.example/desk'/></route>", COMP_NS);
		rt_feed(c2s, xml);
		for (int i = 0; i < 3; i++) {
			if ((unsigned)i == want) {
				char *s = rt_pop(m[i]);

				assert_non_null(s);
				free(s);
			}
			rt_expect_none(m[i]);
		}
	}
	/* A leaver is replaced by the last member: [0,1,2] -> [2,1]. */
	rt_free(&m[0]);
	{
		struct router_route *route = router_lookup(r, "dom.example");

		assert_non_null(route);
		assert_int_equal(route->n, 2);
		assert_ptr_equal(route->members[0], m[2]->c);
		assert_ptr_equal(route->members[1], m[1]->c);
	}
	rt_free(&m[1]);
	rt_free(&m[2]);
	rt_free(&c2s);
	router_free(&r);
}

/* ---- throttle ---- */

static void test_throttle(void **state)
{
	struct router *r = router_new();
	struct rt *sm = rt_new(r, "sm", 0), *c2s = rt_new(r, "c2s", 0);

	(void)state;
	bind_ok(sm, "sm");
	bind_ok(c2s, "c2s");
	rt_clear(sm);
	rt_feed(c2s, "<throttle" NS "/>");
	rt_expect(c2s, "<throttle" NS "/>");
	rt_feed(sm, "<route" NS " to='c2s' from='sm' id='1'/>");
	rt_feed(sm, "<route" NS " to='c2s' from='sm' id='2'/>");
	rt_expect_none(c2s);
	rt_feed(c2s, "<throttle" NS "/>");
	rt_expect(c2s, "<throttle" NS "/>");
	rt_expect(c2s, "<route" NS " to='c2s' from='sm' id='1'/>");
	rt_expect(c2s, "<route" NS " to='c2s' from='sm' id='2'/>");
	rt_expect_none(c2s);
	/* Throttled and gone: the queue is freed with it (ASan checks). */
	rt_feed(c2s, "<throttle" NS "/>");
	rt_feed(sm, "<route" NS " to='c2s' from='sm' id='3'/>");
	rt_free(&c2s);
	rt_free(&sm);
	router_free(&r);
}

/* ---- XEP-0114 ---- */

static void test_legacy(void **state)
{
	const char *error;
	struct router *r = router_new();
	struct rt *sm = rt_new(r, "sm", 0), *muc = rt_new(r, "muc.example", 1);

	(void)state;
	bind_ok(sm, "sm");
	assert_int_equal(router_legacy_bind(muc->c, "muc.example"), 0);
	rt_expect(sm, PRES("muc.example"));
	rt_expect_none(muc);
	/* A stanza becomes a jabber:client route from/to the domains. */
	rt_feed(muc, "<message xmlns='jabber:component:accept' from='room@muc.example/nick'"
		" to='ann@sm/desk'><body>x</body></message>");
	rt_expect(sm, "<route" NS " to='sm' from='muc.example'><message xmlns='jabber:client'"
		  " from='room@muc.example/nick' to='ann@sm/desk'><body>x</body></message></route>");
	/* Without to or from: dropped. */
	rt_feed(muc, "<message xmlns='jabber:component:accept' to='ann@sm'/>");
	rt_expect_none(sm);
	rt_expect_none(muc);
	/* A route to it arrives as the bare stanza. */
	rt_feed(sm, "<route" NS " to='muc.example' from='sm'><presence xmlns='jabber:client'"
		" from='ann@sm/desk' to='room@muc.example/ann'/></route>");
	rt_expect(muc, "<presence xmlns='jabber:client' from='ann@sm/desk' to='room@muc.example/ann'/>");
	/* Its wrong from bounces as an error stanza, to/from unchanged. */
	rt_feed(muc, "<message xmlns='jabber:component:accept' from='x@other.example' to='ann@sm'/>");
	rt_expect(muc, "<message xmlns='jabber:client' from='x@other.example' to='ann@sm'"
		  " type='error'><error type='cancel' code='503'><service-unavailable"
		  " xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>");
	/* A 400 becomes bad-request; the error goes before the content. */
	{
		const char *f = "<filter><rule error='bad-request' from='*' to='*'/></filter>";

		router_filter_load_mem("f", f, strlen(f), &r->filter, &error);
	}
	assert_non_null(r->filter);
	rt_feed(muc, "<message xmlns='jabber:component:accept' from='x@muc.example'"
		" to='ann@sm' type='chat'><body>x</body></message>");
	rt_expect(muc, "<message xmlns='jabber:client' from='x@muc.example' to='ann@sm'"
		  " type='error'><error type='modify' code='400'><bad-request"
		  " xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error><body>x</body></message>");
	router_filter_free(&r->filter);
	rt_feed(muc, "<message xmlns='jabber:component:accept' from='x@muc.example' to='a@@b'/>");
	rt_expect_none(muc);
	/* Alias names cannot be taken by XEP-0114 links. */
	router_alias_add(r, "conf.example", "muc.example");
	assert_int_equal(router_legacy_bind(muc->c, "conf.example"), -1);
	rt_free(&muc);
	rt_expect(sm, UNAV("muc.example"));
	rt_expect(sm, UNAV("conf.example"));
	rt_free(&sm);
	router_free(&r);
}

static void test_error_codes(void **state)
{
	static const struct {
		const char *cond;
		int code;
	} t[] = {
		{ "bad-request", 400 }, { "forbidden", 403 }, { "item-not-found", 404 },
		{ "not-allowed", 405 }, { "conflict", 409 }, { "service-unavailable", 503 },
		{ "feature-not-implemented", 501 }, { "gone", 302 }, { "no-such-thing", 405 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_int_equal(router_error_code(t[i].cond), t[i].code);
}

/*
 * Redirects, with the exact routes c2s, sm and s2s send. "cluster" stands
 * for the module (r->module_comp): it holds the clustered domain, the sm
 * is bound under its router_id "sm-n1", and a redirect for a JID sends
 * routes to the domain about that JID straight to the sm.
 */
#define SC "xmlns:sc='http://jabberd.jabberstudio.org/ns/session/1.0'"
#define SM "xmlns:sm='http://jabberd.jabberstudio.org/ns/session/1.0'"
/* c2s: a session request (to the domain), then the session's stanzas
 * (to the sm's name once it answered, to the domain before). */
#define C2S_START "<route" NS " to='dom.example' from='c2s'><sc:session " SC \
	" sc:c2s='c1' action='start' target='alice@dom.example/res' id='q1'/></route>"
#define C2S_MSG(to) "<route" NS " to='" to "' from='c2s'><message xmlns='jabber:client' " SC \
	" to='bob@dom.example' from='alice@dom.example/res' sc:c2s='c1' sc:sm='s1'>" \
	"<body>hi</body></message></route>"
/* sm: a delivery to alice's c2s. */
#define SM_DELIVER "<route" NS " to='c2s' from='sm-n1'><message xmlns='jabber:client' " SM \
	" from='bob@dom.example/r' to='alice@dom.example/res' sm:c2s='c1' sm:sm='s1'>" \
	"<body>yo</body></message></route>"
/* s2s: a stanza from a remote server for alice. */
#define S2S_MSG "<route" NS " to='dom.example' from='s2s'><message xmlns='jabber:client'" \
	" from='x@remote.example/r' to='alice@dom.example'><body>re</body></message></route>"
/* The sm handing back what it cannot place (to the domain, for alice). */
#define SM_BACK_FROM(sm) "<route" NS " to='dom.example' from='" sm "'><message " \
	"xmlns='jabber:client' from='x@remote.example/r' to='alice@dom.example'><body>re</body>" \
	"</message></route>"
#define SM_BACK SM_BACK_FROM("sm-n1")

struct redirect_env {
	struct router *r;
	struct rt *cluster, *sm, *sm2, *c2s, *s2s;
};

static void redirect_env_new(struct redirect_env *e)
{
	const char *error = NULL;

	e->r = router_new();
	router_acl_add(e->r, ROUTER_ACL_ALL, "cluster");
	e->cluster = rt_new(e->r, "cluster", 0);
	e->sm = rt_new(e->r, "sm-n1", 0);
	e->sm2 = rt_new(e->r, "sm-n2", 0);
	e->c2s = rt_new(e->r, "c2s", 0);
	e->s2s = rt_new(e->r, "s2s", 0);
	bind_ok(e->cluster, "dom.example");
	bind_ok(e->sm, "sm-n1");
	bind_ok(e->sm2, "sm-n2");
	bind_ok(e->c2s, "c2s");
	bind_ok(e->s2s, "s2s");
	e->r->module_comp = e->cluster->c;
	rt_clear(e->cluster);
	rt_clear(e->sm);
	rt_clear(e->sm2);
	rt_clear(e->c2s);
	rt_clear(e->s2s);
	assert_int_equal(router_mod_redirect_set(e->r, "alice@dom.example", "sm-n1", &error), 0);
}

static void redirect_env_free(struct redirect_env *e)
{
	rt_expect_none(e->cluster);
	rt_expect_none(e->sm);
	rt_expect_none(e->sm2);
	rt_expect_none(e->c2s);
	rt_expect_none(e->s2s);
	e->r->module_comp = NULL;
	rt_free(&e->cluster);
	rt_free(&e->sm);
	rt_free(&e->sm2);
	rt_free(&e->c2s);
	rt_free(&e->s2s);
	router_free(&e->r);
}

/* (a) Routes to the domain about alice go straight to her sm: c2s's
 * session request (by target), her session's stanzas (by from, so a
 * redirect for the recipient bob does not take her outbound stanza past
 * her sm), and inbound stanzas from s2s (by to). */
static void test_redirect_c2s_to_sm(void **state)
{
	struct redirect_env e;
	struct router_mod_stats st;
	const char *error = NULL;
	uint64_t hits = 0;

	(void)state;
	redirect_env_new(&e);
	assert_int_equal(router_mod_redirect_set(e.r, "bob@dom.example", "sm-n2", &error), 0);
	rt_feed(e.c2s, C2S_START);
	rt_expect(e.sm, C2S_START);
	rt_feed(e.c2s, C2S_MSG("dom.example"));
	rt_expect(e.sm, C2S_MSG("dom.example"));
	rt_feed(e.s2s, S2S_MSG);
	rt_expect(e.sm, S2S_MSG);
	/* Routes already addressed to the sm's name are not looked at. */
	rt_feed(e.c2s, C2S_MSG("sm-n1"));
	rt_expect(e.sm, C2S_MSG("sm-n1"));
	/* Without an entry the module gets them. */
	assert_int_equal(router_mod_redirect_clear(e.r, "alice@dom.example"), 0);
	rt_feed(e.c2s, C2S_MSG("dom.example"));
	rt_expect(e.cluster, C2S_MSG("dom.example"));
	router_mod_stats(e.r, &st);
	assert_int_equal(st.redirect_hits, 3);
	assert_int_equal(st.redirect_misses, 1);
	assert_int_equal(st.redirects, 1);
	assert_int_equal(router_mod_redirect_hits(e.r, "bob@dom.example", &hits), 0);
	assert_int_equal(hits, 0);
	redirect_env_free(&e);
}

/* (b) The sm's deliveries to c2s are addressed to c2s's name, never to a
 * name the module holds: a redirect for their recipient never touches
 * them (it used to send them back into the sm, forever). */
static void test_redirect_sm_to_c2s_untouched(void **state)
{
	struct redirect_env e;

	(void)state;
	redirect_env_new(&e);
	rt_feed(e.sm, SM_DELIVER);
	rt_expect(e.c2s, SM_DELIVER);
	assert_int_equal(e.r->redirected, 0);
	assert_int_equal(e.r->redirect_misses, 0);
	redirect_env_free(&e);
}

/* (c) No loop: a route the sm sends back to the domain does not return
 * to the sm by its own redirect (the module decides), and a route the
 * module injects is never redirected and never delivered back to the
 * module itself. */
static void test_redirect_no_loop(void **state)
{
	struct redirect_env e;
	const char *error = NULL;

	(void)state;
	redirect_env_new(&e);
	rt_feed(e.sm, SM_BACK);
	rt_expect(e.cluster, SM_BACK);
	assert_int_equal(e.r->redirected, 0);
	assert_int_equal(e.r->redirect_misses, 1);
	/* Injected: to the domain would reach the module itself. */
	assert_int_equal(router_mod_route(e.r, rt_parse(S2S_MSG), &error), -1);
	assert_non_null(strstr(error, "loop"));
	/* Injected to the sm's name: delivered, and said so. */
	assert_int_equal(router_mod_route(e.r, rt_parse(C2S_MSG("sm-n1")), &error), 0);
	rt_expect(e.sm, C2S_MSG("sm-n1"));
	assert_int_equal(router_mod_route(e.r, rt_parse(C2S_MSG("nowhere")), &error), -1);
	assert_string_equal(error, "no such name");
	redirect_env_free(&e);
}

/* The lookup skipped for a route from the one name every redirect points
 * at (r->redirect_single) must change nothing: the same routes go where
 * the full lookup sends them, with one target, a re-pointed entry, and
 * mixed targets. */
static void test_redirect_single_target(void **state)
{
	struct redirect_env e;
	const char *error = NULL;

	(void)state;
	redirect_env_new(&e);
	assert_string_equal(e.r->redirect_single, "sm-n1");
	/* From sm-n1, the only target: back to the module (a miss). */
	rt_feed(e.sm, SM_BACK);
	rt_expect(e.cluster, SM_BACK);
	assert_int_equal(e.r->redirect_misses, 1);
	/* alice re-pointed at sm-n2: sm-n1's route about her goes there. */
	assert_int_equal(router_mod_redirect_set(e.r, "alice@dom.example", "sm-n2", &error), 0);
	assert_string_equal(e.r->redirect_single, "sm-n2");
	rt_feed(e.sm, SM_BACK);
	rt_expect(e.sm2, SM_BACK);
	assert_int_equal(e.r->redirected, 1);
	/* Mixed targets: no shortcut; each sender gets the full lookup. */
	assert_int_equal(router_mod_redirect_set(e.r, "bob@dom.example", "sm-n1", &error), 0);
	assert_null(e.r->redirect_single);
	rt_feed(e.sm, SM_BACK);
	rt_expect(e.sm2, SM_BACK);
	rt_feed(e.sm2, SM_BACK_FROM("sm-n2"));
	rt_expect(e.cluster, SM_BACK_FROM("sm-n2"));
	assert_int_equal(e.r->redirected, 2);
	assert_int_equal(e.r->redirect_misses, 2);
	/* Empty, then one target again. */
	router_mod_redirect_clear_all(e.r);
	assert_int_equal(router_mod_redirect_set(e.r, "alice@dom.example", "sm-n2", &error), 0);
	assert_string_equal(e.r->redirect_single, "sm-n2");
	rt_feed(e.sm2, SM_BACK_FROM("sm-n2"));
	rt_expect(e.cluster, SM_BACK_FROM("sm-n2"));
	rt_feed(e.sm, SM_BACK);
	rt_expect(e.sm2, SM_BACK);
	redirect_env_free(&e);
}

/* The table: full JIDs over bare ones, invalid JIDs and unbound targets
 * refused, LRU eviction when full (never refusal), per-entry hits, and
 * entries dropped with their target. */
static void test_redirect_table(void **state)
{
	struct redirect_env e;
	const char *error = NULL;
	uint64_t hits = 0;

	(void)state;
	redirect_env_new(&e);
	assert_int_equal(router_mod_redirect_set(e.r, "a@@b", "sm-n1", &error), -1);
	assert_int_equal(router_mod_redirect_set(e.r, "carol@dom.example", "nobody", &error), -1);
	assert_non_null(strstr(error, "not a bound name"));
	/* A full JID entry wins for that resource only. */
	assert_int_equal(router_mod_redirect_set(e.r, "ALICE@dom.example/res", "sm-n2", &error), 0);
	rt_feed(e.c2s, C2S_START);
	rt_expect(e.sm2, C2S_START);
	rt_feed(e.s2s, S2S_MSG);
	rt_expect(e.sm, S2S_MSG);
	assert_int_equal(router_mod_redirect_hits(e.r, "alice@dom.example/res", &hits), 0);
	assert_int_equal(hits, 1);
	assert_int_equal(router_mod_redirect_hits(e.r, "alice@dom.example", &hits), 0);
	assert_int_equal(hits, 1);
	/* Full at 2: a new entry evicts the least recently used one (the
	 * full JID, hit before the bare one), not the new one. */
	e.r->redirect_max = 2;
	assert_int_equal(router_mod_redirect_set(e.r, "bob@dom.example", "sm-n2", &error), 0);
	assert_int_equal(xhash_count(e.r->redirects), 2);
	assert_int_equal(router_mod_redirect_hits(e.r, "alice@dom.example/res", &hits), -1);
	assert_int_equal(router_mod_redirect_hits(e.r, "alice@dom.example", &hits), 0);
	rt_feed(e.c2s, C2S_START);
	rt_expect(e.sm, C2S_START);
	/* alice was just used: carol evicts bob. */
	assert_int_equal(router_mod_redirect_set(e.r, "carol@dom.example", "sm-n2", &error), 0);
	assert_int_equal(router_mod_redirect_hits(e.r, "bob@dom.example", &hits), -1);
	assert_int_equal(router_mod_redirect_hits(e.r, "alice@dom.example", &hits), 0);
	assert_int_equal(hits, 2);
	/* The target leaves: its entries go, routing falls back. */
	rt_free(&e.sm);
	assert_int_equal(xhash_count(e.r->redirects), 1);
	assert_int_equal(router_mod_redirect_hits(e.r, "alice@dom.example", &hits), -1);
	rt_clear(e.cluster);
	rt_clear(e.sm2);
	rt_clear(e.c2s);
	rt_clear(e.s2s);
	rt_feed(e.s2s, S2S_MSG);
	rt_expect(e.cluster, S2S_MSG);
	e.sm = rt_new(e.r, "sm-n1", 0);
	redirect_env_free(&e);
}

static void test_message_log(void **state)
{
	char dir[] = "/tmp/router-msglog-XXXXXX", path[256], line[512];
	struct router *r = router_new();
	struct rt *sm = rt_new(r, "sm", 0), *c2s = rt_new(r, "c2s", 0);
	const char *error = NULL;
	struct stat st;
	FILE *fp;
	int n = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/messages.log", dir);
	r->msglog = router_msglog_new(path, &error);
	assert_non_null(r->msglog);
	bind_ok(sm, "sm");
	bind_ok(c2s, "c2s");
	/* Logged: to sm, a message with a body (newline becomes 0x01). */
	rt_feed(c2s, "<route" NS " to='sm' from='c2s'><message xmlns='jabber:client'"
		" from='ann@sm/desk' to='bob@sm'><body>two\nlines</body></message></route>");
	/* Not logged: to c2s, no body, bounced. */
	rt_feed(sm, ROUTE("c2s", "sm"));
	rt_feed(c2s, "<route" NS " to='sm' from='c2s'><message xmlns='jabber:client'"
		" from='ann@sm/desk' to='bob@sm'/></route>");
	rt_feed(c2s, ROUTE("nowhere", "c2s"));
	router_msglog_free(&r->msglog);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	fp = fopen(path, "r");
	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (n < 3)
			assert_int_equal(line[0], '#');
		else
			assert_non_null(strstr(line, " ann@sm/desk bob@sm two\001lines\n"));
		n++;
	}
	fclose(fp);
	assert_int_equal(n, 4);
	unlink(path);
	rmdir(dir);
	rt_free(&sm);
	rt_free(&c2s);
	router_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bind_replies),
		cmocka_unit_test(test_bind_advertises),
		cmocka_unit_test(test_unbind),
		cmocka_unit_test(test_disconnect_unbinds_all),
		cmocka_unit_test(test_route_unicast),
		cmocka_unit_test(test_default_route),
		cmocka_unit_test(test_log_sink),
		cmocka_unit_test(test_alias),
		cmocka_unit_test(test_multi_pick),
		cmocka_unit_test(test_throttle),
		cmocka_unit_test(test_legacy),
		cmocka_unit_test(test_error_codes),
		cmocka_unit_test(test_message_log),
		cmocka_unit_test(test_redirect_c2s_to_sm),
		cmocka_unit_test(test_redirect_sm_to_c2s_untouched),
		cmocka_unit_test(test_redirect_no_loop),
		cmocka_unit_test(test_redirect_single_target),
		cmocka_unit_test(test_redirect_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
