/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for router/filter.c (router-filter.xml): each rule attribute
 * (from, to, what paths, error, redirect), first match wins, "absent in
 * the rule means absent in the stanza", file loading (missing = no filter,
 * unparsable = error), and the filter applied by the routing core.
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
#include <unistd.h>

#include <cmocka.h>

#include "router/tests/router_test.h"
#include "util/nad.h"

#define NS " xmlns='" COMP_NS "'"

struct filter_case {
	const char *rules;
	const char *route;
	int code;
	const char *to_after;   /* route to after a pass, or NULL: unchanged */
};

#define R(to, from, payload) "<route" NS " to='" to "' from='" from "'>" payload "</route>"
#define MSG(from, to) "<message xmlns='jabber:client' from='" from "' to='" to "'><body>x</body></message>"

static const struct filter_case cases[] = {
	/* The spec's example. */
	{ "<rule error='forbidden' from='*@spam.example' to='*' what='message' log='yes'/>"
	  "<rule from='*' to='*'/>",
	  R("sm", "s2s", MSG("bot@spam.example/x", "ann@sm")), 403, NULL },
	{ "<rule error='forbidden' from='*@spam.example' to='*' what='message'/>",
	  R("sm", "s2s", MSG("bob@ham.example/x", "ann@sm")), 0, NULL },
	/* Resource stripped before matching. */
	{ "<rule error='forbidden' from='bot@spam.example' to='*'/>",
	  R("sm", "s2s", MSG("bot@spam.example/res", "ann@sm")), 403, NULL },
	/* A rule without `to` only matches stanzas without to. */
	{ "<rule error='forbidden' from='*'/>",
	  R("sm", "s2s", MSG("a@b", "c@d")), 0, NULL },
	{ "<rule error='forbidden' from='*'/>",
	  R("sm", "s2s", "<presence xmlns='jabber:client' from='a@b'/>"), 403, NULL },
	/* First match wins. */
	{ "<rule from='*' to='*'/><rule error='forbidden' from='*' to='*'/>",
	  R("sm", "s2s", MSG("a@b", "c@d")), 0, NULL },
	/* Unknown condition: not-allowed. */
	{ "<rule error='no-such-condition' from='*' to='*'/>",
	  R("sm", "s2s", MSG("a@b", "c@d")), 405, NULL },
	/* what: paths, attributes, namespaces, negation. */
	{ "<rule error='forbidden' from='*' to='*' what='message/body'/>",
	  R("sm", "s2s", MSG("a@b", "c@d")), 403, NULL },
	{ "<rule error='forbidden' from='*' to='*' what='message/subject'/>",
	  R("sm", "s2s", MSG("a@b", "c@d")), 0, NULL },
	{ "<rule error='forbidden' from='*' to='*' what='iq?type=get'/>",
	  R("sm", "s2s", "<iq xmlns='jabber:client' from='a@b' to='c@d' type='get'/>"), 403, NULL },
	{ "<rule error='forbidden' from='*' to='*' what='iq?type=get'/>",
	  R("sm", "s2s", "<iq xmlns='jabber:client' from='a@b' to='c@d' type='set'/>"), 0, NULL },
	{ "<rule error='forbidden' from='*' to='*' what='iq/query?xmlns=jabber:iq:version'/>",
	  R("sm", "s2s", "<iq xmlns='jabber:client' from='a@b' to='c@d'><query xmlns='jabber:iq:version'/></iq>"),
	  403, NULL },
	{ "<rule error='forbidden' from='*' to='*' what='iq/query?xmlns=jabber:iq:version'/>",
	  R("sm", "s2s", "<iq xmlns='jabber:client' from='a@b' to='c@d'><query xmlns='jabber:iq:last'/></iq>"),
	  0, NULL },
	{ "<rule error='forbidden' from='*' to='*' what='message!type'/>",
	  R("sm", "s2s", MSG("a@b", "c@d")), 403, NULL },
	{ "<rule error='forbidden' from='*' to='*' what='message!type=chat'/>",
	  R("sm", "s2s", "<message xmlns='jabber:client' from='a@b' to='c@d' type='chat'/>"), 0, NULL },
	{ "<rule error='forbidden' from='*' to='*' what='*'/>",
	  R("sm", "s2s", MSG("a@b", "c@d")), 403, NULL },
	/* Redirect rewrites the route's to only. */
	{ "<rule redirect='quarantine' from='*@spam.example' to='*'/>",
	  R("sm", "s2s", MSG("x@spam.example", "c@d")), 0, "quarantine" },
};

static void test_rules(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct filter_case *fc = &cases[i];
		struct router_filter *f;
		const char *error = NULL;
		char xml[2048];
		struct nad *nad = rt_parse(fc->route);
		const char *to;

		print_message("case %zu: %s\n", i, fc->rules);
		snprintf(xml, sizeof(xml), "<filter>%s</filter>", fc->rules);
		assert_int_equal(router_filter_load_mem("t.xml", xml, strlen(xml), &f, &error), 0);
		assert_non_null(f);
		assert_int_equal(router_filter_check(f, nad), fc->code);
		to = nad_attr(nad, 0, NULL, "to");
		assert_string_equal(to, fc->to_after != NULL ? fc->to_after : "sm");
		nad_free(&nad);
		router_filter_free(&f);
	}
}

static void test_load_files(void **state)
{
	char dir[] = "/tmp/router-filter-XXXXXX", path[256];
	struct router_filter *f = (void *)1;
	const char *error = NULL;
	FILE *fp;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/router-filter.xml", dir);
	/* Missing file: no filter, no error. */
	assert_int_equal(router_filter_load(path, &f, &error), 0);
	assert_null(f);
	/* Empty file: an error (the daemon exits 1 at start). */
	fp = fopen(path, "w");
	fclose(fp);
	assert_int_equal(router_filter_load(path, &f, &error), -1);
	assert_non_null(error);
	assert_null(f);
	fp = fopen(path, "w");
	fputs("<filter><rule error='forbidden' from='*' to='*'/><rule/></filter>", fp);
	fclose(fp);
	assert_int_equal(router_filter_load(path, &f, &error), 0);
	assert_int_equal(router_filter_count(f), 2);
	router_filter_free(&f);
	assert_null(f);
	unlink(path);
	rmdir(dir);
}

static void test_in_router(void **state)
{
	struct router *r = router_new();
	struct rt *sm = rt_new(r, "sm", 0), *s2s = rt_new(r, "s2s", 0);
	const char *rules = "<filter><rule error='forbidden' from='*@spam.example' to='*'/>"
			    "<rule redirect='sm' from='*' to='*@old.example'/></filter>";
	const char *error;

	(void)state;
	assert_int_equal(router_filter_load_mem("t", rules, strlen(rules), &r->filter, &error), 0);
	rt_feed(sm, "<bind" NS " name='sm'/>");
	rt_feed(s2s, "<bind" NS " name='s2s'/>");
	rt_clear(sm);
	rt_clear(s2s);
	rt_feed(s2s, R("sm", "s2s", MSG("x@spam.example", "ann@sm")));
	rt_expect(s2s, "<route" NS " to='sm' from='s2s' error='403'>"
		  MSG("x@spam.example", "ann@sm") "</route>");
	rt_expect_none(sm);
	rt_feed(s2s, R("old.example", "s2s", MSG("x@ham.example", "ann@old.example")));
	rt_expect(sm, "<route" NS " to='sm' from='s2s'>" MSG("x@ham.example", "ann@old.example") "</route>");
	rt_expect_none(s2s);
	rt_free(&sm);
	rt_free(&s2s);
	router_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_load_files),
		cmocka_unit_test(test_in_router),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
