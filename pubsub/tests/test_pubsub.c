/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_pubsub: the XEP-0060 service without a router: stanzas go in
 * through pubsub_stanza(), what it sends is captured, and each test checks
 * what the users would see: results, the errors XEP-0060 lists (with
 * their pubsub#errors condition), notifications with and without
 * payload, the access models (the roster lookup replaced by the test),
 * affiliations, the limits with errors that name them, and nodes, items
 * and subscriptions surviving a new service over the same SQLite file.
 */
#include "config.h"
#include "pubsub/pubsub.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "pubsub/form.h"
#include "util/buf.h"
#include "util/config_file.h"
#include "util/nad.h"
#include "util/xdata.h"
#include "util/xhash.h"

#define SVC "pubsub.localhost"
#define A "alice@localhost/desk"
#define B "bob@localhost/x"
#define C "carol@localhost/y"
#define STANZAS "urn:ietf:params:xml:ns:xmpp-stanzas"

#define CAP_MAX 256
static struct nad *cap[CAP_MAX];
static int ncap;

static void capture(struct pubsub *ps, struct nad *nad)
{
	(void)ps;
	assert_true(ncap < CAP_MAX);
	cap[ncap++] = nad;
}

static void clear(void)
{
	while (ncap > 0)
		nad_free(&cap[--ncap]);
}

/* The test's roster: bob gets alice's presence; carol is in her group
 * "Friends". */
static int roster(struct pubsub *ps, const char *owner, const char *contact,
		  char *const *groups, int ngroups, int *from_r, int *group_r)
{
	int i;

	(void)ps;
	*from_r = strcmp(owner, "alice@localhost") == 0 && strcmp(contact, "bob@localhost") == 0;
	*group_r = 0;
	for (i = 0; i < ngroups; i++)
		if (strcmp(owner, "alice@localhost") == 0 &&
		    strcmp(contact, "carol@localhost") == 0 && strcmp(groups[i], "Friends") == 0)
			*group_r = 1;
	return 0;
}

static struct pubsub *service(const char *extra)
{
	char xml[1024];
	const char *error;
	struct config *cfg;
	struct pubsub *ps;

	snprintf(xml, sizeof(xml), "<pubsub><service>" SVC "</service>%s</pubsub>", extra);
	cfg = config_load_mem("pubsub.xml", xml, strlen(xml), NULL, &error);
	assert_non_null(cfg);
	ps = pubsub_new(cfg, &error);
	assert_non_null(ps);
	ps->send = capture;
	ps->roster = roster;
	return ps;
}

static void done(struct pubsub **psp)
{
	struct config *cfg = (*psp)->cfg;

	clear();
	ps_store_close(&(*psp)->store);
	pubsub_free(psp);
	config_free(&cfg);
}

/* An iq from `from` to the service: <iq type><body/></iq>. */
static void iq(struct pubsub *ps, const char *from, const char *type, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void iq(struct pubsub *ps, const char *from, const char *type, const char *fmt, ...)
{
	char body[4096], xml[4400];
	const char *error;
	struct nad *nad;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	snprintf(xml, sizeof(xml), "<iq xmlns='jabber:client' type='%s' id='q1' from='%s' "
		 "to='" SVC "'>%s</iq>", type, from, body);
	nad = nad_parse(xml, strlen(xml), 0, &error, NULL);
	if (nad == NULL)
		fail_msg("bad test XML %s: %s", xml, error);
	pubsub_stanza(ps, nad);
}

/* The first captured stanza <name> to `to`, removed; NULL if none. */
static struct nad *find(const char *name, const char *to)
{
	struct nad *nad;
	int i;

	for (i = 0; i < ncap; i++)
		if (strcmp(nad_name(cap[i], 0), name) == 0 &&
		    strcmp(nad_attr(cap[i], 0, NULL, "to"), to) == 0) {
			nad = cap[i];
			memmove(&cap[i], &cap[i + 1], (size_t)(ncap - i - 1) * sizeof(cap[0]));
			ncap--;
			return nad;
		}
	return NULL;
}

static struct nad *take(const char *name, const char *to)
{
	struct nad *nad = find(name, to);

	if (nad == NULL)
		fail_msg("no <%s to='%s'> among %d captured", name, to, ncap);
	return nad;
}

/* The answer to `to` is a result. */
static void ok(const char *to)
{
	struct nad *nad = take("iq", to);
	const char *type = nad_attr(nad, 0, NULL, "type");

	if (strcmp(type, "result") != 0) {
		char *s = nad_to_string(nad, NULL);

		fail_msg("expected a result, got %s", s);
	}
	nad_free(&nad);
}

/* The answer to `to` is an error with cond (and app, may be NULL); its
 * text, if `text` is given, contains it. */
static void error_is(const char *to, const char *cond, const char *app, const char *text)
{
	struct nad *nad = take("iq", to);
	int err = nad_child(nad, 0, NULL, "error"), t;

	assert_string_equal(nad_attr(nad, 0, NULL, "type"), "error");
	assert_int_not_equal(err, NAD_NONE);
	if (nad_child(nad, err, STANZAS, cond) == NAD_NONE) {
		char *s = nad_to_string(nad, NULL);

		fail_msg("expected %s, got %s", cond, s);
	}
	if (app != NULL)
		assert_int_not_equal(nad_child(nad, err, PS_NS_ERRORS, app), NAD_NONE);
	if (text != NULL) {
		t = nad_child(nad, err, STANZAS, "text");
		assert_int_not_equal(t, NAD_NONE);
		assert_non_null(strstr(nad_text(nad, t, NULL), text));
	}
	nad_free(&nad);
}

#define CONFIG_FORM(fields) "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'>" \
	"<value>" PS_NS_NODE_CONFIG "</value></field>" fields "</x>"
#define F(var, val) "<field var='" var "'><value>" val "</value></field>"

static void create(struct pubsub *ps, const char *from, const char *node, const char *fields)
{
	iq(ps, from, "set", "<pubsub xmlns='" PS_NS "'><create node='%s'/><configure>"
	   CONFIG_FORM("%s") "</configure></pubsub>", node, fields);
	ok(from);
}

static void subscribe(struct pubsub *ps, const char *from, const char *node)
{
	iq(ps, from, "set", "<pubsub xmlns='" PS_NS "'><subscribe node='%s' jid='%s'/></pubsub>",
	   node, from);
}

static void publish(struct pubsub *ps, const char *from, const char *node, const char *item)
{
	iq(ps, from, "set", "<pubsub xmlns='" PS_NS "'><publish node='%s'>%s</publish></pubsub>",
	   node, item);
}

/* The event a subscriber got: the <items/> (or other) element's index in
 * *nadp, NAD_NONE if none. */
static int event(const char *to, const char *name, struct nad **nadp)
{
	int e;

	*nadp = find("message", to);
	if (*nadp == NULL)
		return NAD_NONE;
	e = nad_child(*nadp, 0, PS_NS_EVENT, "event");
	assert_int_not_equal(e, NAD_NONE);
	return nad_child(*nadp, e, PS_NS_EVENT, name);
}

static void test_publish_notify(void **state)
{
	struct pubsub *ps = service("");
	struct nad *nad;
	int items, item;

	(void)state;
	create(ps, A, "news", "");
	subscribe(ps, B, "news");
	nad = take("iq", B);
	item = nad_child(nad, nad_child(nad, 0, PS_NS, "pubsub"), PS_NS, "subscription");
	assert_string_equal(nad_attr(nad, item, NULL, "subscription"), "subscribed");
	assert_non_null(nad_attr(nad, item, NULL, "subid"));
	nad_free(&nad);
	publish(ps, A, "news", "<item id='first'><entry xmlns='urn:test'>hello</entry></item>");
	nad = take("iq", A);
	item = nad_child(nad, nad_child(nad, nad_child(nad, 0, PS_NS, "pubsub"), PS_NS, "publish"),
			 PS_NS, "item");
	assert_string_equal(nad_attr(nad, item, NULL, "id"), "first");
	nad_free(&nad);
	items = event(B, "items", &nad);
	assert_int_not_equal(items, NAD_NONE);
	assert_string_equal(nad_attr(nad, items, NULL, "node"), "news");
	item = nad_child(nad, items, PS_NS_EVENT, "item");
	assert_string_equal(nad_attr(nad, item, NULL, "id"), "first");
	assert_int_not_equal(nad_child(nad, item, "urn:test", "entry"), NAD_NONE);
	nad_free(&nad);
	assert_null(find("message", A));     /* the owner did not subscribe */

	/* without an id: the service gives one */
	publish(ps, A, "news", "<item><entry xmlns='urn:test'>two</entry></item>");
	nad = take("iq", A);
	item = nad_child(nad, nad_child(nad, nad_child(nad, 0, PS_NS, "pubsub"), PS_NS, "publish"),
			 PS_NS, "item");
	assert_non_null(nad_attr(nad, item, NULL, "id"));
	assert_non_null(ps_node_item(xhash_get(ps->nodes, "news"), nad_attr(nad, item, NULL, "id")));
	nad_free(&nad);
	nad_free(&cap[--ncap]);          /* bob's event */

	/* deliver_payloads off: the event names the item, without payload */
	iq(ps, A, "set", "<pubsub xmlns='" PS_NS_OWNER "'><configure node='news'>"
	   CONFIG_FORM(F("pubsub#deliver_payloads", "0")) "</configure></pubsub>");
	ok(A);
	publish(ps, A, "news", "<item id='third'><entry xmlns='urn:test'>3</entry></item>");
	ok(A);
	items = event(B, "items", &nad);
	item = nad_child(nad, items, PS_NS_EVENT, "item");
	assert_string_equal(nad_attr(nad, item, NULL, "id"), "third");
	assert_int_equal(nad_child(nad, item, NULL, NULL), NAD_NONE);
	nad_free(&nad);

	/* retract: notified (notify_retract defaults to on) */
	iq(ps, A, "set", "<pubsub xmlns='" PS_NS "'><retract node='news'><item id='first'/>"
	   "</retract></pubsub>");
	ok(A);
	items = event(B, "items", &nad);
	assert_string_equal(nad_attr(nad, nad_child(nad, items, PS_NS_EVENT, "retract"), NULL,
				     "id"), "first");
	nad_free(&nad);
	iq(ps, A, "set", "<pubsub xmlns='" PS_NS "'><retract node='news'><item id='first'/>"
	   "</retract></pubsub>");
	error_is(A, "item-not-found", NULL, NULL);

	/* bob may not publish or retract (publishers model) */
	publish(ps, B, "news", "<item id='b'><x xmlns='urn:test'/></item>");
	error_is(B, "forbidden", NULL, NULL);
	iq(ps, B, "set", "<pubsub xmlns='" PS_NS "'><retract node='news'><item id='third'/>"
	   "</retract></pubsub>");
	error_is(B, "forbidden", NULL, NULL);

	/* unsubscribe: no more events */
	iq(ps, B, "set", "<pubsub xmlns='" PS_NS "'><unsubscribe node='news' jid='" B "'/>"
	   "</pubsub>");
	ok(B);
	iq(ps, B, "set", "<pubsub xmlns='" PS_NS "'><unsubscribe node='news' jid='" B "'/>"
	   "</pubsub>");
	error_is(B, "unexpected-request", "not-subscribed", NULL);
	publish(ps, A, "news", "<item id='4'><x xmlns='urn:test'/></item>");
	ok(A);
	assert_null(find("message", B));
	done(&ps);
}

static void test_items_and_delete(void **state)
{
	struct pubsub *ps = service("");
	struct nad *nad;
	int items, i, n;

	(void)state;
	create(ps, A, "feed", F("pubsub#max_items", "3"));
	for (i = 1; i <= 5; i++) {
		char item[64];

		snprintf(item, sizeof(item), "<item id='i%d'><p xmlns='urn:test'/></item>", i);
		publish(ps, A, "feed", item);
		ok(A);
	}
	/* max_items 3 kept the newest three; max_items=2 gives the newest two */
	iq(ps, B, "get", "<pubsub xmlns='" PS_NS "'><items node='feed' max_items='2'/></pubsub>");
	nad = take("iq", B);
	items = nad_child(nad, nad_child(nad, 0, PS_NS, "pubsub"), PS_NS, "items");
	n = 0;
	for (i = nad_child(nad, items, PS_NS, "item"); i != NAD_NONE;
	     i = nad_next(nad, i, PS_NS, "item"), n++)
		assert_string_equal(nad_attr(nad, i, NULL, "id"), n == 0 ? "i4" : "i5");
	assert_int_equal(n, 2);
	nad_free(&nad);
	iq(ps, B, "get", "<pubsub xmlns='" PS_NS "'><items node='feed'/></pubsub>");
	nad = take("iq", B);
	items = nad_child(nad, nad_child(nad, 0, PS_NS, "pubsub"), PS_NS, "items");
	for (n = 0, i = nad_child(nad, items, PS_NS, "item"); i != NAD_NONE;
	     i = nad_next(nad, i, PS_NS, "item"))
		n++;
	assert_int_equal(n, 3);
	nad_free(&nad);
	/* by id: only those that exist */
	iq(ps, B, "get", "<pubsub xmlns='" PS_NS "'><items node='feed'><item id='i1'/>"
	   "<item id='i3'/></items></pubsub>");
	nad = take("iq", B);
	items = nad_child(nad, nad_child(nad, 0, PS_NS, "pubsub"), PS_NS, "items");
	i = nad_child(nad, items, PS_NS, "item");
	assert_string_equal(nad_attr(nad, i, NULL, "id"), "i3");
	assert_int_equal(nad_next(nad, i, PS_NS, "item"), NAD_NONE);
	nad_free(&nad);
	iq(ps, B, "get", "<pubsub xmlns='" PS_NS "'><items node='nope'/></pubsub>");
	error_is(B, "item-not-found", NULL, NULL);

	/* purge and delete: owner only, subscribers told */
	subscribe(ps, B, "feed");
	ok(B);
	iq(ps, B, "set", "<pubsub xmlns='" PS_NS_OWNER "'><purge node='feed'/></pubsub>");
	error_is(B, "forbidden", NULL, NULL);
	iq(ps, A, "set", "<pubsub xmlns='" PS_NS_OWNER "'><purge node='feed'/></pubsub>");
	ok(A);
	assert_int_not_equal(event(B, "purge", &nad), NAD_NONE);
	nad_free(&nad);
	assert_int_equal(((struct ps_node *)xhash_get(ps->nodes, "feed"))->nitems, 0);
	iq(ps, A, "set", "<pubsub xmlns='" PS_NS_OWNER "'><delete node='feed'/></pubsub>");
	ok(A);
	assert_int_not_equal(event(B, "delete", &nad), NAD_NONE);
	nad_free(&nad);
	assert_null(xhash_get(ps->nodes, "feed"));
	assert_int_equal(ps->subs->total, 0);
	iq(ps, A, "set", "<pubsub xmlns='" PS_NS_OWNER "'><delete node='feed'/></pubsub>");
	error_is(A, "item-not-found", NULL, NULL);
	done(&ps);
}

static void test_create_configure_errors(void **state)
{
	struct pubsub *ps = service("<limits><items-per-node>50</items-per-node></limits>");
	struct nad *nad;
	int c;

	(void)state;
	create(ps, A, "n", "");
	iq(ps, B, "set", "<pubsub xmlns='" PS_NS "'><create node='n'/></pubsub>");
	error_is(B, "conflict", NULL, NULL);
	/* an instant node: the service names it */
	iq(ps, B, "set", "<pubsub xmlns='" PS_NS "'><create/></pubsub>");
	nad = take("iq", B);
	c = nad_child(nad, nad_child(nad, 0, PS_NS, "pubsub"), PS_NS, "create");
	assert_non_null(xhash_get(ps->nodes, nad_attr(nad, c, NULL, "node")));
	nad_free(&nad);
	/* configure: owners only; max_items above the limit named */
	iq(ps, B, "get", "<pubsub xmlns='" PS_NS_OWNER "'><configure node='n'/></pubsub>");
	error_is(B, "forbidden", NULL, NULL);
	iq(ps, A, "get", "<pubsub xmlns='" PS_NS_OWNER "'><configure node='n'/></pubsub>");
	nad = take("iq", A);
	c = nad_child(nad, nad_child(nad, 0, PS_NS_OWNER, "pubsub"), PS_NS_OWNER, "configure");
	assert_int_not_equal(nad_child(nad, c, PS_NS_XDATA, "x"), NAD_NONE);
	nad_free(&nad);
	iq(ps, A, "set", "<pubsub xmlns='" PS_NS_OWNER "'><configure node='n'>"
	   CONFIG_FORM(F("pubsub#max_items", "51")) "</configure></pubsub>");
	error_is(A, "not-acceptable", NULL, "items-per-node, 50");
	iq(ps, A, "set", "<pubsub xmlns='" PS_NS_OWNER "'><configure node='none'>"
	   CONFIG_FORM(F("pubsub#max_items", "5")) "</configure></pubsub>");
	error_is(A, "item-not-found", NULL, NULL);
	/* create with a bad configuration creates nothing */
	iq(ps, A, "set", "<pubsub xmlns='" PS_NS "'><create node='bad'/><configure>"
	   CONFIG_FORM(F("pubsub#access_model", "nobody")) "</configure></pubsub>");
	error_is(A, "not-acceptable", NULL, "pubsub#access_model");
	assert_null(xhash_get(ps->nodes, "bad"));
	/* default configuration */
	iq(ps, A, "get", "<pubsub xmlns='" PS_NS_OWNER "'><default/></pubsub>");
	ok(A);
	done(&ps);
}

static void test_access_models(void **state)
{
	struct pubsub *ps = service("");

	(void)state;
	create(ps, A, "pres", F("pubsub#access_model", "presence"));
	create(ps, A, "rost", F("pubsub#access_model", "roster")
	       "<field var='pubsub#roster_groups_allowed'><value>Friends</value></field>");
	create(ps, A, "white", F("pubsub#access_model", "whitelist"));
	/* presence: bob has alice's presence, carol does not */
	subscribe(ps, B, "pres");
	ok(B);
	subscribe(ps, C, "pres");
	error_is(C, "not-authorized", "presence-subscription-required", NULL);
	iq(ps, C, "get", "<pubsub xmlns='" PS_NS "'><items node='pres'/></pubsub>");
	error_is(C, "not-authorized", "presence-subscription-required", NULL);
	/* roster: carol is in Friends, bob in no group */
	subscribe(ps, C, "rost");
	ok(C);
	subscribe(ps, B, "rost");
	error_is(B, "not-authorized", "not-in-roster-group", NULL);
	/* whitelist: closed until the owner makes bob a member */
	subscribe(ps, B, "white");
	error_is(B, "not-allowed", "closed-node", NULL);
	iq(ps, A, "set", "<pubsub xmlns='" PS_NS_OWNER "'><affiliations node='white'>"
	   "<affiliation jid='bob@localhost' affiliation='member'/></affiliations></pubsub>");
	ok(A);
	subscribe(ps, B, "white");
	ok(B);
	/* an outcast loses the subscription and is refused */
	iq(ps, A, "set", "<pubsub xmlns='" PS_NS_OWNER "'><affiliations node='white'>"
	   "<affiliation jid='bob@localhost' affiliation='outcast'/></affiliations></pubsub>");
	ok(A);
	assert_int_equal(ps_subs_count(ps->subs, "white"), 0);
	subscribe(ps, B, "white");
	error_is(B, "forbidden", NULL, NULL);
	/* subscribing someone else */
	iq(ps, B, "set", "<pubsub xmlns='" PS_NS "'><subscribe node='pres' jid='" C "'/></pubsub>");
	error_is(B, "bad-request", "invalid-jid", NULL);
	done(&ps);
}

/* A message from `from` to the service. */
static void msg(struct pubsub *ps, const char *from, const char *body)
{
	char xml[2048];
	const char *error;
	struct nad *nad;

	snprintf(xml, sizeof(xml), "<message xmlns='jabber:client' from='%s' to='" SVC "'>%s"
		 "</message>", from, body);
	nad = nad_parse(xml, strlen(xml), 0, &error, NULL);
	assert_non_null(nad);
	pubsub_stanza(ps, nad);
}

#define AUTH_FORM(node, jid, allow) "<x xmlns='jabber:x:data' type='submit'>" \
	F("FORM_TYPE", "http://jabber.org/protocol/pubsub#subscribe_authorization") \
	F("pubsub#node", node) F("pubsub#subscriber_jid", jid) F("pubsub#allow", allow) "</x>"

/* The state a subscription event to `to` announces. */
static const char *sub_event(const char *to)
{
	static char state[32];
	struct nad *nad;
	int e = event(to, "subscription", &nad);

	assert_int_not_equal(e, NAD_NONE);
	snprintf(state, sizeof(state), "%s", nad_attr(nad, e, NULL, "subscription"));
	nad_free(&nad);
	return state;
}

static void test_authorize(void **state)
{
	struct pubsub *ps = service("");
	struct nad *nad;
	int x, s;

	(void)state;
	create(ps, A, "club", F("pubsub#access_model", "authorize"));
	subscribe(ps, B, "club");
	nad = take("iq", B);
	s = nad_child(nad, nad_child(nad, 0, PS_NS, "pubsub"), PS_NS, "subscription");
	assert_string_equal(nad_attr(nad, s, NULL, "subscription"), "pending");
	nad_free(&nad);
	/* the owner is asked, with the authorization form (8.6.1) */
	nad = take("message", "alice@localhost");
	x = nad_child(nad, 0, PS_NS_XDATA, "x");
	assert_int_not_equal(x, NAD_NONE);
	assert_string_equal(xdata_value(nad, x, "pubsub#subscriber_jid", 64), B);
	assert_string_equal(xdata_value(nad, x, "pubsub#allow", 64), "0");
	nad_free(&nad);
	/* pending: a second request and items are refused (6.1.3.7, 6.5.9) */
	subscribe(ps, B, "club");
	error_is(B, "not-authorized", "pending-subscription", NULL);
	iq(ps, B, "get", "<pubsub xmlns='" PS_NS "'><items node='club'/></pubsub>");
	error_is(B, "not-authorized", "not-subscribed", NULL);
	publish(ps, A, "club", "<item id='1'><x xmlns='urn:test'/></item>");
	ok(A);
	assert_null(find("message", B));
	/* only an owner decides */
	msg(ps, C, AUTH_FORM("club", B, "1"));
	assert_string_equal(nad_attr(cap[ncap - 1], 0, NULL, "type"), "error");
	clear();
	msg(ps, A, AUTH_FORM("club", B, "true"));
	assert_string_equal(sub_event(B), "subscribed");
	iq(ps, B, "get", "<pubsub xmlns='" PS_NS "'><items node='club'/></pubsub>");
	ok(B);
	publish(ps, A, "club", "<item id='2'><x xmlns='urn:test'/></item>");
	ok(A);
	assert_int_not_equal(event(B, "items", &nad), NAD_NONE);
	nad_free(&nad);
	/* a denial removes the request and says so */
	subscribe(ps, C, "club");
	ok(C);
	clear();
	msg(ps, A, AUTH_FORM("club", C, "0"));
	assert_string_equal(sub_event(C), "none");
	assert_null(ps_subs_find(ps->subs, "club", C, NULL));
	/* the owner may also approve through the subscriptions list (8.8) */
	subscribe(ps, C, "club");
	ok(C);
	iq(ps, A, "set", "<pubsub xmlns='" PS_NS_OWNER "'><subscriptions node='club'>"
	   "<subscription jid='" C "' subscription='subscribed'/></subscriptions></pubsub>");
	ok(A);
	assert_string_equal(sub_event(C), "subscribed");
	done(&ps);
}

static void test_affiliations_and_publishers(void **state)
{
	struct pubsub *ps = service("");
	struct nad *nad;
	int a;

	(void)state;
	create(ps, A, "n", "");
	iq(ps, A, "set", "<pubsub xmlns='" PS_NS_OWNER "'><affiliations node='n'>"
	   "<affiliation jid='bob@localhost' affiliation='publisher'/></affiliations></pubsub>");
	ok(A);
	publish(ps, B, "n", "<item id='b'><x xmlns='urn:test'/></item>");
	ok(B);
	/* bob sees his affiliation; alice lists them all */
	iq(ps, B, "get", "<pubsub xmlns='" PS_NS "'><affiliations/></pubsub>");
	nad = take("iq", B);
	a = nad_child(nad, nad_child(nad, nad_child(nad, 0, PS_NS, "pubsub"), PS_NS,
				     "affiliations"), PS_NS, "affiliation");
	assert_string_equal(nad_attr(nad, a, NULL, "affiliation"), "publisher");
	nad_free(&nad);
	iq(ps, B, "get", "<pubsub xmlns='" PS_NS_OWNER "'><affiliations node='n'/></pubsub>");
	error_is(B, "forbidden", NULL, NULL);
	/* the last owner cannot go */
	iq(ps, A, "set", "<pubsub xmlns='" PS_NS_OWNER "'><affiliations node='n'>"
	   "<affiliation jid='alice@localhost' affiliation='none'/></affiliations></pubsub>");
	error_is(A, "not-acceptable", NULL, "owner");
	assert_int_equal(ps_node_affil(xhash_get(ps->nodes, "n"), "alice@localhost"),
			 PS_AFFIL_OWNER);
	/* ... but may hand over: bob owner, then alice none, in one request */
	iq(ps, A, "set", "<pubsub xmlns='" PS_NS_OWNER "'><affiliations node='n'>"
	   "<affiliation jid='alice@localhost' affiliation='none'/>"
	   "<affiliation jid='alice@localhost' affiliation='owner'/>"
	   "<affiliation jid='alice@localhost' affiliation='none'/>"
	   "<affiliation jid='bob@localhost' affiliation='owner'/></affiliations></pubsub>");
	ok(A);
	assert_int_equal(ps_node_affil(xhash_get(ps->nodes, "n"), "alice@localhost"),
			 PS_AFFIL_NONE);
	assert_int_equal(ps_node_affil(xhash_get(ps->nodes, "n"), "bob@localhost"),
			 PS_AFFIL_OWNER);
	/* bob, now the owner, gives alice her node back */
	iq(ps, B, "set", "<pubsub xmlns='" PS_NS_OWNER "'><affiliations node='n'>"
	   "<affiliation jid='alice@localhost' affiliation='owner'/></affiliations></pubsub>");
	ok(B);
	/* publish model open: anyone publishes */
	publish(ps, C, "n", "<item id='c'><x xmlns='urn:test'/></item>");
	error_is(C, "forbidden", NULL, NULL);
	iq(ps, A, "set", "<pubsub xmlns='" PS_NS_OWNER "'><configure node='n'>"
	   CONFIG_FORM(F("pubsub#publish_model", "open")) "</configure></pubsub>");
	ok(A);
	publish(ps, C, "n", "<item id='c'><x xmlns='urn:test'/></item>");
	ok(C);
	done(&ps);
}

static void test_publish_options(void **state)
{
	struct pubsub *ps = service("");
	struct ps_node *node;

	(void)state;
	/* auto-create with publish-options as the configuration */
	iq(ps, A, "set", "<pubsub xmlns='" PS_NS "'><publish node='om'><item id='current'>"
	   "<list xmlns='urn:test'/></item></publish><publish-options>"
	   "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>"
	   PS_NS_PUBLISH_OPTIONS "</value></field>" F("pubsub#access_model", "whitelist")
	   F("pubsub#max_items", "1") "</x></publish-options></pubsub>");
	ok(A);
	node = xhash_get(ps->nodes, "om");
	assert_non_null(node);
	assert_int_equal(node->cfg.access, PS_ACCESS_WHITELIST);
	/* a precondition that holds */
	iq(ps, A, "set", "<pubsub xmlns='" PS_NS "'><publish node='om'><item id='current'>"
	   "<list xmlns='urn:test'/></item></publish><publish-options>"
	   "<x xmlns='jabber:x:data' type='submit'>" F("pubsub#access_model", "whitelist")
	   "</x></publish-options></pubsub>");
	ok(A);
	/* one that does not: conflict, precondition-not-met, nothing kept */
	iq(ps, A, "set", "<pubsub xmlns='" PS_NS "'><publish node='om'><item id='other'>"
	   "<list xmlns='urn:test'/></item></publish><publish-options>"
	   "<x xmlns='jabber:x:data' type='submit'>" F("pubsub#access_model", "open")
	   "</x></publish-options></pubsub>");
	error_is(A, "conflict", "precondition-not-met", "pubsub#access_model");
	assert_null(ps_node_item(node, "other"));
	assert_non_null(ps_node_item(node, "current"));
	done(&ps);
}

static void test_limits(void **state)
{
	struct pubsub *ps = service("<limits><nodes-per-user>2</nodes-per-user>"
				    "<payload-size>100</payload-size>"
				    "<subscriptions-per-node>1</subscriptions-per-node></limits>");
	char big[300];

	(void)state;
	create(ps, A, "one", "");
	create(ps, A, "two", "");
	iq(ps, A, "set", "<pubsub xmlns='" PS_NS "'><create node='three'/></pubsub>");
	error_is(A, "not-allowed", "max-nodes-exceeded", "nodes-per-user, 2");
	/* auto-create counts too */
	publish(ps, A, "three", "<item id='x'><x xmlns='urn:test'/></item>");
	error_is(A, "not-allowed", "max-nodes-exceeded", "nodes-per-user");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	iq(ps, A, "set", "<pubsub xmlns='" PS_NS "'><publish node='one'><item id='x'>"
	   "<x xmlns='urn:test'>%s</x></item></publish></pubsub>", big);
	error_is(A, "not-acceptable", "payload-too-big", "payload-size, 100");
	assert_null(ps_node_item(xhash_get(ps->nodes, "one"), "x"));
	subscribe(ps, B, "one");
	ok(B);
	subscribe(ps, C, "one");
	{
		/* XEP-0060 6.1.3.9: of type wait */
		struct nad *nad = find("iq", C);

		assert_non_null(nad);
		assert_string_equal(nad_attr(nad, nad_child(nad, 0, NULL, "error"), NULL, "type"),
				    "wait");
		cap[ncap++] = nad;
	}
	error_is(C, "policy-violation", "too-many-subscriptions", "subscriptions-per-node, 1");
	done(&ps);
}

static void test_subscription_options(void **state)
{
	struct pubsub *ps = service("");
	struct nad *nad;

	(void)state;
	create(ps, A, "n", "");
	iq(ps, B, "get", "<pubsub xmlns='" PS_NS "'><options node='n' jid='" B "'/></pubsub>");
	error_is(B, "unexpected-request", "not-subscribed", NULL);
	subscribe(ps, B, "n");
	ok(B);
	iq(ps, B, "get", "<pubsub xmlns='" PS_NS "'><options node='n' jid='" B "'/></pubsub>");
	ok(B);
	/* deliver off: no notifications */
	iq(ps, B, "set", "<pubsub xmlns='" PS_NS "'><options node='n' jid='" B "'>"
	   "<x xmlns='jabber:x:data' type='submit'>" F("pubsub#deliver", "0") "</x></options>"
	   "</pubsub>");
	ok(B);
	publish(ps, A, "n", "<item id='1'><x xmlns='urn:test'/></item>");
	ok(A);
	assert_null(find("message", B));
	iq(ps, B, "set", "<pubsub xmlns='" PS_NS "'><options node='n' jid='" B "' subid='zz'>"
	   "<x xmlns='jabber:x:data' type='submit'>" F("pubsub#deliver", "1") "</x></options>"
	   "</pubsub>");
	error_is(B, "not-acceptable", "invalid-subid", NULL);
	/* disco sees the node and its item */
	iq(ps, C, "get", "<query xmlns='" PS_NS_DISCO_ITEMS "'/>");
	nad = take("iq", C);
	assert_string_equal(nad_attr(nad, nad_child(nad, nad_child(nad, 0, NULL, "query"), NULL,
						    "item"), NULL, "node"), "n");
	nad_free(&nad);
	iq(ps, C, "get", "<query xmlns='" PS_NS_DISCO_INFO "' node='n'/>");
	ok(C);
	done(&ps);
}

static void test_store_reload(void **state)
{
	char dir[64], extra[512], path[128];
	const char *error;
	struct pubsub *ps;
	struct ps_node *node;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_pubsub_store.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(extra, sizeof(extra), "<storage><driver>sqlite</driver><sqlite><dbname>"
		 "%s/pubsub.db</dbname></sqlite></storage>", dir);
	ps = service(extra);
	assert_int_equal(ps_store_open(ps->cfg, &ps->store, &error), 0);
	create(ps, A, "kept", F("pubsub#max_items", "2") F("pubsub#title", "Kept"));
	create(ps, A, "gone", "");
	publish(ps, A, "kept", "<item id='1'><x xmlns='urn:test'>one</x></item>");
	publish(ps, A, "kept", "<item id='2'><x xmlns='urn:test'>two</x></item>");
	publish(ps, A, "kept", "<item id='3'><x xmlns='urn:test'>three</x></item>");
	subscribe(ps, B, "kept");
	iq(ps, A, "set", "<pubsub xmlns='" PS_NS_OWNER "'><affiliations node='kept'>"
	   "<affiliation jid='carol@localhost' affiliation='publisher'/></affiliations></pubsub>");
	iq(ps, A, "set", "<pubsub xmlns='" PS_NS_OWNER "'><delete node='gone'/></pubsub>");
	done(&ps);

	/* what the tables hold: the newest max_items of the node, no more */
	{
		sqlite3 *db;
		sqlite3_stmt *st;

		snprintf(path, sizeof(path), "%s/pubsub.db", dir);
		assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
		assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*), min(\"id\") FROM "
						    "\"pubsub-item\"", -1, &st, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(st, 0), 2);
		assert_string_equal((const char *)sqlite3_column_text(st, 1), "2");
		sqlite3_finalize(st);
		sqlite3_close(db);
	}
	ps = service(extra);
	assert_int_equal(ps_store_open(ps->cfg, &ps->store, &error), 0);
	assert_int_equal(pubsub_load(ps, &error), 0);
	assert_null(xhash_get(ps->nodes, "gone"));
	node = xhash_get(ps->nodes, "kept");
	assert_non_null(node);
	assert_string_equal(node->cfg.title, "Kept");
	assert_int_equal(node->nitems, 2);
	assert_null(ps_node_item(node, "1"));
	assert_non_null(ps_node_item(node, "3"));
	assert_int_equal(ps_node_affil(node, "carol@localhost"), PS_AFFIL_PUBLISHER);
	assert_int_equal(ps_node_affil(node, "alice@localhost"), PS_AFFIL_OWNER);
	assert_non_null(ps_subs_find(ps->subs, "kept", B, NULL));
	/* a new item is the newest after the reload */
	publish(ps, A, "kept", "<item id='4'><x xmlns='urn:test'>four</x></item>");
	ok(A);
	assert_null(ps_node_item(node, "2"));
	assert_non_null(find("message", B));
	done(&ps);
	snprintf(path, sizeof(path), "%s/pubsub.db", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/pubsub.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/pubsub.db-shm", dir);
	unlink(path);
	rmdir(dir);
}

static void test_store_errors(void **state)
{
	const char *error;
	struct pubsub *ps;

	(void)state;
	ps = service("<storage><driver>oracle</driver></storage>");
	assert_int_equal(ps_store_open(ps->cfg, &ps->store, &error), -1);
	assert_non_null(strstr(error, "unknown driver"));
	done(&ps);
	/* a file that cannot be created: the reason outlives the connection */
	ps = service("<storage><driver>sqlite</driver><sqlite><dbname>/nonexistent/dir/x.db"
		     "</dbname></sqlite></storage>");
	assert_int_equal(ps_store_open(ps->cfg, &ps->store, &error), -1);
	assert_non_null(strstr(error, "sqlite"));
	assert_null(ps->store);
	done(&ps);
	/* no storage: nothing persists, and that is no error */
	ps = service("");
	assert_int_equal(ps_store_open(ps->cfg, &ps->store, &error), 0);
	assert_null(ps->store);
	done(&ps);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_publish_notify),
		cmocka_unit_test(test_items_and_delete),
		cmocka_unit_test(test_create_configure_errors),
		cmocka_unit_test(test_access_models),
		cmocka_unit_test(test_authorize),
		cmocka_unit_test(test_affiliations_and_publishers),
		cmocka_unit_test(test_publish_options),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_subscription_options),
		cmocka_unit_test(test_store_reload),
		cmocka_unit_test(test_store_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
