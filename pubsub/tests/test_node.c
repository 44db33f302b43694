/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_node: the pure data of the pubsub daemon and its parsers of client
 * input: a node's items (max_items, replacement by id, retract, purge)
 * and affiliations; the subscriptions; the request parser with the
 * errors XEP-0060 gives; the node configuration form (values it refuses,
 * the limit named), publish-options, subscription options.
 */
#include "config.h"
#include "pubsub/node.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pubsub/form.h"
#include "pubsub/subs.h"
#include "util/nad.h"

static struct nad *parse(const char *xml)
{
	const char *error;
	struct nad *nad = nad_parse(xml, strlen(xml), 0, &error, NULL);

	if (nad == NULL)
		fail_msg("bad test XML %s: %s", xml, error);
	return nad;
}

static const char *newest_ids(const struct ps_node *node, char *buf, size_t size)
{
	const struct list_node *n;
	size_t len = 0;

	buf[0] = '\0';
	for (n = list_first(&node->items); n != NULL; n = list_next(&node->items, n))
		len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? "," : "",
					LIST_ENTRY(n, const struct ps_item, link)->id);
	return buf;
}

static void test_items_max_and_replace(void **state)
{
	struct ps_node *node = ps_node_new("n", "alice@localhost", 3);
	char ids[128];

	(void)state;
	ps_node_publish(node, "a", "alice@localhost", parse("<x/>"), 1);
	ps_node_publish(node, "b", "alice@localhost", NULL, 2);
	ps_node_publish(node, "c", "alice@localhost", NULL, 3);
	assert_string_equal(newest_ids(node, ids, sizeof(ids)), "a,b,c");
	/* the same id: replaced and now the newest */
	ps_node_publish(node, "a", "bob@localhost", NULL, 4);
	assert_string_equal(newest_ids(node, ids, sizeof(ids)), "b,c,a");
	assert_string_equal(ps_node_item(node, "a")->publisher, "bob@localhost");
	/* a fourth id: the oldest goes */
	ps_node_publish(node, "d", "alice@localhost", NULL, 5);
	assert_string_equal(newest_ids(node, ids, sizeof(ids)), "c,a,d");
	assert_null(ps_node_item(node, "b"));
	assert_int_equal(node->nitems, 3);
	/* max_items lowered: trim */
	node->cfg.max_items = 1;
	assert_int_equal(ps_node_trim(node), 2);
	assert_string_equal(newest_ids(node, ids, sizeof(ids)), "d");
	assert_int_equal(ps_node_retract(node, "c"), -1);
	assert_int_equal(ps_node_retract(node, "d"), 0);
	assert_int_equal(node->nitems, 0);
	ps_node_publish(node, "e", "alice@localhost", NULL, 6);
	ps_node_purge(node);
	assert_int_equal(node->nitems, 0);
	assert_null(ps_node_item(node, "e"));
	ps_node_free(&node);
}

static void test_affiliations(void **state)
{
	struct ps_node *node = ps_node_new("n", "alice@localhost", 3);

	(void)state;
	assert_int_equal(ps_node_affil(node, "alice@localhost"), PS_AFFIL_OWNER);
	assert_int_equal(ps_node_affil(node, "bob@localhost"), PS_AFFIL_NONE);
	ps_node_set_affil(node, "bob@localhost", PS_AFFIL_PUBLISHER);
	ps_node_set_affil(node, "eve@localhost", PS_AFFIL_OUTCAST);
	assert_int_equal(ps_node_affil(node, "eve@localhost"), PS_AFFIL_OUTCAST);
	assert_int_equal(ps_node_affil_count(node, PS_AFFIL_OWNER), 1);
	ps_node_set_affil(node, "bob@localhost", PS_AFFIL_NONE);
	assert_int_equal(ps_node_affil(node, "bob@localhost"), PS_AFFIL_NONE);
	assert_int_equal(ps_affil_parse("publisher"), PS_AFFIL_PUBLISHER);
	assert_int_equal(ps_affil_parse("king"), -1);
	assert_int_equal(ps_access_parse("roster"), PS_ACCESS_ROSTER);
	assert_int_equal(ps_access_parse("authorize"), PS_ACCESS_AUTHORIZE);
	assert_int_equal(ps_access_parse("everyone"), -1);
	ps_node_free(&node);
}

static void test_subscriptions(void **state)
{
	struct ps_subs *subs = ps_subs_new();
	struct ps_sub *s;

	(void)state;
	ps_subs_add(subs, "n", "bob@localhost", "s1", PS_SUB_SUBSCRIBED);
	ps_subs_add(subs, "n", "bob@localhost/phone", "s2", PS_SUB_SUBSCRIBED);
	ps_subs_add(subs, "n", "bob@localhost", "s3", PS_SUB_SUBSCRIBED);
	ps_subs_add(subs, "m", "carol@localhost", "s4", PS_SUB_SUBSCRIBED);
	assert_int_equal(ps_subs_count(subs, "n"), 3);
	assert_int_equal(ps_subs_count_jid(subs, "n", "bob@localhost"), 2);
	assert_non_null(ps_subs_find(subs, "n", "bob@localhost", "s3"));
	assert_null(ps_subs_find(subs, "n", "bob@localhost", "s2"));
	s = ps_subs_find(subs, "n", "bob@localhost", NULL);
	assert_string_equal(s->subid, "s1");
	assert_int_equal(s->opt.deliver, 1);
	ps_subs_remove(subs, s);
	assert_int_equal(ps_subs_count(subs, "n"), 2);
	/* bob's bare JID covers his full JIDs, not bobby's */
	ps_subs_add(subs, "n", "bobby@localhost", "s5", PS_SUB_SUBSCRIBED);
	assert_int_equal(ps_subs_drop_bare(subs, "n", "bob@localhost"), 2);
	assert_int_equal(ps_subs_count(subs, "n"), 1);
	ps_subs_drop_node(subs, "n");
	assert_int_equal(ps_subs_count(subs, "n"), 0);
	assert_int_equal(subs->total, 1);
	ps_subs_free(&subs);
}

/* Parse <iq type=...><pubsub xmlns=ns>body</pubsub></iq>. */
static int req(const char *type, const char *ns, const char *body, struct ps_req *r,
	       const char **cond, const char **app, struct nad **nadp)
{
	char xml[2048];
	const char *error;

	snprintf(xml, sizeof(xml), "<iq xmlns='jabber:client' type='%s'><pubsub xmlns='%s'>%s"
		 "</pubsub></iq>", type, ns, body);
	*nadp = parse(xml);
	*cond = *app = NULL;
	return ps_req_parse(*nadp, 1, type, r, cond, app, &error);
}

static void test_request_parse(void **state)
{
	const char *cond, *app;
	struct ps_req r;
	struct nad *nad;

	(void)state;
	assert_int_equal(req("set", PS_NS, "<publish node='n'><item id='1'><x/></item></publish>"
			     "<publish-options><x xmlns='jabber:x:data' type='submit'/>"
			     "</publish-options>", &r, &cond, &app, &nad), 0);
	assert_int_equal(r.verb, PS_V_PUBLISH);
	assert_string_equal(r.node, "n");
	assert_int_equal(r.nitems, 1);
	assert_int_not_equal(r.form, NAD_NONE);
	nad_free(&nad);
	/* two items in one publish */
	assert_int_equal(req("set", PS_NS, "<publish node='n'><item/><item/></publish>", &r,
			     &cond, &app, &nad), -1);
	assert_string_equal(cond, "bad-request");
	assert_string_equal(app, "invalid-payload");
	nad_free(&nad);
	/* no node */
	assert_int_equal(req("set", PS_NS, "<subscribe jid='a@b'/>", &r, &cond, &app, &nad), -1);
	assert_string_equal(app, "nodeid-required");
	nad_free(&nad);
	/* create needs none (instant node) */
	assert_int_equal(req("set", PS_NS, "<create/>", &r, &cond, &app, &nad), 0);
	assert_null(r.node);
	nad_free(&nad);
	/* retract names an item with an id */
	assert_int_equal(req("set", PS_NS, "<retract node='n'/>", &r, &cond, &app, &nad), -1);
	assert_string_equal(app, "item-required");
	nad_free(&nad);
	assert_int_equal(req("set", PS_NS, "<retract node='n' notify='true'><item id='i'/>"
			     "</retract>", &r, &cond, &app, &nad), 0);
	assert_int_equal(r.notify, 1);
	nad_free(&nad);
	/* items is a get, with a numeric max_items */
	assert_int_equal(req("set", PS_NS, "<items node='n'/>", &r, &cond, &app, &nad), -1);
	assert_string_equal(cond, "bad-request");
	nad_free(&nad);
	assert_int_equal(req("get", PS_NS, "<items node='n' max_items='2'/>", &r, &cond, &app,
			     &nad), 0);
	assert_int_equal(r.max_items, 2);
	nad_free(&nad);
	assert_int_equal(req("get", PS_NS, "<items node='n' max_items='-1'/>", &r, &cond, &app,
			     &nad), -1);
	nad_free(&nad);
	/* owner verbs live in #owner only */
	assert_int_equal(req("set", PS_NS, "<delete node='n'/>", &r, &cond, &app, &nad), -1);
	nad_free(&nad);
	assert_int_equal(req("set", PS_NS_OWNER, "<delete node='n'/>", &r, &cond, &app, &nad), 0);
	assert_int_equal(r.verb, PS_V_DELETE);
	nad_free(&nad);
	/* a node name too long */
	{
		char body[600];

		snprintf(body, sizeof(body), "<create node='%0300d'/>", 1);
		assert_int_equal(req("set", PS_NS, body, &r, &cond, &app, &nad), -1);
		assert_string_equal(cond, "not-acceptable");
		nad_free(&nad);
	}
}

#define FORM(fields) "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>" \
	PS_NS_NODE_CONFIG "</value></field>" fields "</x>"
#define F(var, val) "<field var='" var "'><value>" val "</value></field>"

static void test_config_form(void **state)
{
	struct ps_node_config cfg;
	const char *error;
	struct nad *nad;

	(void)state;
	ps_config_init(&cfg, 10);
	nad = parse(FORM(F("pubsub#max_items", "5") F("pubsub#access_model", "whitelist")
			 F("pubsub#deliver_payloads", "false") F("pubsub#title", "News")
			 "<field var='pubsub#roster_groups_allowed'><value>Friends</value>"
			 "<value>Work</value></field>"));
	assert_int_equal(ps_config_apply(nad, 0, &cfg, 100, &error), 0);
	assert_int_equal(cfg.max_items, 5);
	assert_int_equal(cfg.access, PS_ACCESS_WHITELIST);
	assert_int_equal(cfg.deliver_payloads, 0);
	assert_string_equal(cfg.title, "News");
	assert_int_equal(cfg.ngroups, 2);
	assert_string_equal(cfg.groups[1], "Work");
	nad_free(&nad);
	/* above the limit: refused, the limit named, nothing changed */
	nad = parse(FORM(F("pubsub#access_model", "open") F("pubsub#max_items", "101")));
	assert_int_equal(ps_config_apply(nad, 0, &cfg, 100, &error), -1);
	assert_non_null(strstr(error, "pubsub#max_items"));
	assert_non_null(strstr(error, "items-per-node"));
	assert_int_equal(cfg.access, PS_ACCESS_WHITELIST);
	assert_int_equal(cfg.max_items, 5);
	nad_free(&nad);
	nad = parse(FORM(F("pubsub#access_model", "everyone")));
	assert_int_equal(ps_config_apply(nad, 0, &cfg, 100, &error), -1);
	assert_non_null(strstr(error, "pubsub#access_model"));
	nad_free(&nad);
	nad = parse(FORM(F("pubsub#max_items", "max")));
	assert_int_equal(ps_config_apply(nad, 0, &cfg, 100, &error), 0);
	assert_int_equal(cfg.max_items, 100);
	nad_free(&nad);
	/* a form of type form is not a submission */
	nad = parse("<x xmlns='jabber:x:data' type='form'/>");
	assert_int_equal(ps_config_apply(nad, 0, &cfg, 100, &error), -1);
	nad_free(&nad);
	/* publish-options: matches what is set, not what is not */
	nad = parse(FORM(F("pubsub#access_model", "whitelist") F("pubsub#max_items", "100")));
	assert_int_equal(ps_publish_options_check(nad, 0, &cfg, 100, &error), 0);
	nad_free(&nad);
	/* "max" is the limit, as when the node was configured with it */
	nad = parse(FORM(F("pubsub#max_items", "max")));
	assert_int_equal(ps_publish_options_check(nad, 0, &cfg, 100, &error), 0);
	assert_int_equal(ps_publish_options_check(nad, 0, &cfg, 200, &error), -1);
	nad_free(&nad);
	nad = parse(FORM(F("pubsub#access_model", "open")));
	assert_int_equal(ps_publish_options_check(nad, 0, &cfg, 100, &error), -1);
	assert_non_null(strstr(error, "pubsub#access_model"));
	nad_free(&nad);
	/* round trip through the form the service offers */
	nad = nad_new();
	nad_elem_add(nad, NAD_NONE, PS_NS_OWNER, "configure");
	ps_config_form(nad, 0, &cfg, "submit");
	{
		struct ps_node_config back;

		ps_config_init(&back, 10);
		assert_int_equal(ps_config_apply(nad, nad_child(nad, 0, PS_NS_XDATA, "x"), &back,
						 100, &error), 0);
		assert_int_equal(back.max_items, 100);
		assert_int_equal(back.access, PS_ACCESS_WHITELIST);
		assert_int_equal(back.ngroups, 2);
		assert_string_equal(back.title, "News");
		ps_config_clear(&back);
	}
	nad_free(&nad);
	ps_config_clear(&cfg);
}

static void test_subscribe_options(void **state)
{
	struct ps_sub_options opt = { .deliver = 1 };
	const char *error;
	struct nad *nad;

	(void)state;
	nad = parse("<x xmlns='jabber:x:data' type='submit'>" F("pubsub#deliver", "0")
		    F("pubsub#include_body", "1") "</x>");
	assert_int_equal(ps_subopts_apply(nad, 0, &opt, &error), 0);
	assert_int_equal(opt.deliver, 0);
	assert_int_equal(opt.include_body, 1);
	nad_free(&nad);
	nad = parse("<x xmlns='jabber:x:data' type='submit'>" F("pubsub#deliver", "maybe")
		    "</x>");
	assert_int_equal(ps_subopts_apply(nad, 0, &opt, &error), -1);
	assert_non_null(strstr(error, "pubsub#deliver"));
	assert_int_equal(opt.deliver, 0);
	nad_free(&nad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_items_max_and_replace),
		cmocka_unit_test(test_affiliations),
		cmocka_unit_test(test_subscriptions),
		cmocka_unit_test(test_request_parse),
		cmocka_unit_test(test_config_form),
		cmocka_unit_test(test_subscribe_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
