/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_sm: the session manager without a router. An sm is made from an
 * sm.xml in memory (SQLite in a temporary directory, the dist module
 * chains), routes are fed to it as the router would send them, and what
 * it sends back is captured through the send hook and checked: the
 * session protocol, delivery, offline storage, roster and subscriptions,
 * presence, the server's iq answers and the errors.
 */
#include "config.h"
#include "sm/sm.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "sm/tests/sm_testlib.h"

#include "storage/storage.h"
#include "util/buf.h"
#include "util/config_file.h"
#include "util/hash.h"
#include "util/nad.h"
#include "util/xhash.h"

#define COMP "http://jabberd.jabberstudio.org/ns/component/1.0"
#define SESS "http://jabberd.jabberstudio.org/ns/session/1.0"

static const char sm_xml[] =
	"<sm><id>sm</id><local><id>example.org</id></local>"
	"<storage><driver>sqlite</driver><sqlite><dbname>%s</dbname></sqlite></storage>"
	"<offline><userquota>2</userquota></offline>"
	"<user><vcard><max-field-size><default>8</default></max-field-size></vcard>"
	"<template><roster>%s</roster></template></user>"
	"<aci><acl type='broadcast'><jid>admin@example.org</jid></acl></aci>"
	"<modules>"
	"<chain id='sess-start'><module>status</module></chain>"
	"<chain id='sess-end'><module>status</module><module>iq-last</module></chain>"
	"<chain id='in-sess'><module>validate</module><module>status</module>"
	"<module>privacy</module><module>roster</module>"
	"<module>iq-vcard</module><module>iq-ping</module><module>iq-private</module>"
	"<module>offline</module><module>announce</module><module>pep</module>"
	"<module>presence</module><module>carbons</module>"
	"<module>deliver</module></chain>"
	"<chain id='in-router'><module>session</module><module>validate</module>"
	"<module>presence</module><module>privacy</module></chain>"
	"<chain id='out-router'><module>privacy</module></chain>"
	"<chain id='pkt-sm'><module>iq-last</module><module>iq-ping</module>"
	"<module>iq-time</module><module>iq-version</module><module>disco</module>"
	"<module>announce</module><module>presence</module></chain>"
	"<chain id='pkt-user'><module>roster</module><module>presence</module>"
	"<module>disco</module><module>iq-vcard</module><module>pep</module>"
	"<module>carbons</module><module>deliver</module>"
	"<module>offline</module><module>iq-last</module></chain>"
	"<chain id='pkt-router'><module>session</module><module>disco</module></chain>"
	"<chain id='user-load'><module>active</module><module>roster</module>"
	"<module>privacy</module></chain>"
	"<chain id='user-create'><module>active</module><module>template-roster</module></chain>"
	"<chain id='user-delete'><module>active</module><module>offline</module>"
	"<module>roster</module></chain>"
	"<chain id='no-such-chain'><module>active</module></chain>"
	"</modules></sm>";

struct fixture {
	char dir[64];
	struct sm *sm;
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	char db[128], tmpl[128], *xml;
	FILE *t;

	sm_test_dir_make(f->dir, sizeof(f->dir), "test_sm");
	snprintf(db, sizeof(db), "%s/sqlite.db", f->dir);
	snprintf(tmpl, sizeof(tmpl), "%s/roster.xml", f->dir);
	t = fopen(tmpl, "w");
	assert_non_null(t);
	fputs("<query xmlns='jabber:iq:roster'><item jid='help@example.org' name='Help' "
	      "subscription='both'><group>Staff</group></item></query>", t);
	fclose(t);
	xml = xasprintf(sm_xml, db, tmpl);
	f->sm = sm_test_sm_new(xml);
	free(xml);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	sm_test_out_clear();
	sm_free(&f->sm);
	sm_test_dir_remove(f->dir);
	free(f);
	return 0;
}

static int64_t count(struct sm *sm, const char *type, const char *owner)
{
	int64_t n = -1;
	const char *error;

	assert_int_equal(storage_count(sm->st, type, owner, NULL, &n, &error), STORAGE_OK);
	return n;
}

/* ---- the session protocol ---- */

static void test_session_protocol(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;
	const char *smid;

	sm_test_sess_req(sm, "start", "5", NULL, "ann@example.org/desk");
	assert_non_null(sm_test_out_find("action='start'", ":failed='1'", "to='c2s'", "from='sm'",
				 "id='req1'", NULL));
	sm_test_out_clear();
	sm_test_sess_req(sm, "start", "5", NULL, "ann@elsewhere.net/desk");
	assert_non_null(sm_test_out_find(":failed='1'", NULL));
	sm_test_out_clear();
	sm_test_sess_req(sm, "create", "5", NULL, "ann@example.org");
	assert_non_null(sm_test_out_find("action='created'", "target='ann@example.org'", NULL));
	assert_int_equal(count(sm, "active", "ann@example.org"), 1);
	sm_test_out_clear();
	sm_test_sess_req(sm, "create", "5", NULL, "ann@example.org");
	assert_non_null(sm_test_out_find("action='create'", ":failed='1'", NULL));

	smid = sm_test_login(sm, "ann@example.org", "desk", "5");
	assert_int_equal(strlen(smid), 40);
	/* The same resource again replaces the older session. */
	sm_test_sess_req(sm, "start", "6", NULL, "ann@example.org/desk");
	assert_non_null(sm_test_out_find("action='replaced'", smid, ":c2s='5'", NULL));
	assert_non_null(sm_test_out_find("action='started'", ":c2s='6'", NULL));
	sm_test_out_clear();
	/* A stanza for the replaced session: c2s is told it is unknown. */
	sm_test_from_sess(sm, "5", smid, "<message to='bob@example.org'><body>x</body></message>");
	assert_non_null(sm_test_out_find(":failed='1'", "to='c2s'", "<message", NULL));
	sm_test_out_clear();
	sm_test_sess_req(sm, "end", "6", "0000000000000000000000000000000000000000", NULL);
	assert_non_null(sm_test_out_find("action='end'", ":failed='1'", NULL));
	sm_test_out_clear();
	sm_test_sess_req(sm, "delete", "6", NULL, "ann@example.org");
	assert_non_null(sm_test_out_find("action='ended'", ":c2s='6'", NULL));
	assert_non_null(sm_test_out_find("action='deleted'", NULL));
	assert_int_equal(count(sm, "active", "ann@example.org"), 0);
	assert_int_equal(xhash_count(sm->sessions), 0);
	assert_int_equal(xhash_count(sm->users), 0);
}

/* Session ids are 160 random bits in hex: not jabberd2's SHA-1 of the
 * time, a counter and the JID, which anyone (another node) can compute
 * again, and which two nodes compute alike for one JID in one second. */
static void test_session_ids_unguessable(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;
	time_t t0 = time(NULL), t1;
	char ids[8][41], seed[128], guess[HASH_SHA1_HEX_SIZE];
	int i, j;
	long t;
	unsigned long c;

	for (i = 0; i < 8; i++) {
		/* The same full JID each time: each login replaces the last. */
		snprintf(ids[i], sizeof(ids[i]), "%s", sm_test_login(sm, "ann@example.org", "desk", "1"));
		assert_int_equal(strspn(ids[i], "0123456789abcdef"), 40);
		for (j = 0; j < i; j++)
			assert_string_not_equal(ids[i], ids[j]);
	}
	t1 = time(NULL);
	for (t = (long)t0 - 1; t <= (long)t1 + 1; t++) {
		for (c = 0; c <= 64; c++) {
			int n = snprintf(seed, sizeof(seed), "%ld.%lu.%s", t, c,
					 "ann@example.org/desk");

			assert_int_equal(hash_sha1_hex(seed, (size_t)n, guess), 0);
			for (i = 0; i < 8; i++)
				assert_string_not_equal(ids[i], guess);
		}
	}
}

/* Only the component that started a session may end it or act as it:
 * another one naming its id (an XEP-0114 component, say) gets the request
 * back failed, and the session is untouched. */
static void test_session_control_owner(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;
	const char *a = sm_test_login(sm, "ann@example.org", "desk", "1");
	char smid[41];

	snprintf(smid, sizeof(smid), "%s", a);
	sm_test_login(sm, "bob@example.org", "home", "2");
	sm_test_out_clear();
	sm_test_sess_req_from(sm, "muc.example.org", "end", "1", smid, NULL);
	assert_non_null(sm_test_out_find("action='end'", ":failed='1'", "to='muc.example.org'",
					 NULL));
	assert_null(sm_test_out_find("action='ended'", NULL));
	assert_non_null(xhash_get(sm->sessions, smid));
	sm_test_out_clear();
	/* Acting as her: the stanza comes back failed to its sender; bob
	 * gets nothing and nothing is stored for him. */
	sm_test_from_sess_via(sm, "muc.example.org", "1", smid,
		      "<message to='bob@example.org/home'><body>forged</body></message>");
	assert_non_null(sm_test_out_find(":failed='1'", "to='muc.example.org'", "forged", NULL));
	assert_null(sm_test_out_find("to='c2s'", NULL));
	assert_int_equal(count(sm, "queue", "bob@example.org"), 0);
	/* The session still works through its own c2s. */
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", smid, "<message to='bob@example.org/home'><body>real</body></message>");
	assert_non_null(sm_test_out_find("to='c2s'", ":c2s='2'", "real", NULL));
	sm_test_out_clear();
	sm_test_sess_req(sm, "end", "1", smid, NULL);
	assert_non_null(sm_test_out_find("action='ended'", smid, NULL));
	assert_null(xhash_get(sm->sessions, smid));
}

/* A c2s that goes away takes its sessions, and only its sessions. */
static void test_c2s_gone_ends_its_sessions(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;
	char keep[41];
	int i;

	for (i = 0; i < 20; i++) {
		char res[16];

		snprintf(res, sizeof(res), "r%d", i);
		sm_test_login_from(sm, i % 2 ? "c2s-b" : "c2s", i % 4 < 2 ? "ann@example.org" :
			   "bob@example.org", res, "7");
	}
	snprintf(keep, sizeof(keep), "%s", sm_test_login_from(sm, "c2s-b", "cy@example.org", "x", "8"));
	assert_int_equal(xhash_count(sm->sessions), 21);
	sm_test_feed(sm, "<presence xmlns='" COMP "' from='c2s' type='unavailable'/>");
	assert_int_equal(xhash_count(sm->sessions), 11);
	assert_non_null(xhash_get(sm->sessions, keep));
	/* An unrelated name leaving changes nothing. */
	sm_test_feed(sm, "<presence xmlns='" COMP "' from='muc.example.org' type='unavailable'/>");
	assert_int_equal(xhash_count(sm->sessions), 11);
	sm_test_feed(sm, "<presence xmlns='" COMP "' from='c2s-b' type='unavailable'/>");
	assert_int_equal(xhash_count(sm->sessions), 0);
	assert_int_equal(xhash_count(sm->users), 0);
}

/* The fixture's sm.xml with `extra` after <id>sm</id>: the xml (free it)
 * and, in *sm_r, a new sm of it. */
static char *sm_xml_with(const struct fixture *f, const char *extra, struct sm **sm_r)
{
	char db[128], tmpl[128], *xml, *with;

	snprintf(db, sizeof(db), "%s/sqlite.db", f->dir);
	snprintf(tmpl, sizeof(tmpl), "%s/roster.xml", f->dir);
	xml = xasprintf(sm_xml, db, tmpl);
	with = strstr(xml, "<id>sm</id>");
	assert_non_null(with);
	with = xasprintf("%.*s<id>sm</id>%s%s", (int)(with - xml), xml, extra,
			 with + strlen("<id>sm</id>"));
	free(xml);
	*sm_r = sm_test_sm_new(with);
	return with;
}

/* <router_id> (seed patch 1): our name at the router, and the from of
 * every route, client stanzas included; the domains are still served. A
 * served domain cannot be the router_id. */
static void test_router_id(void **state)
{
	struct fixture *f = *state;
	char db[128], *with;
	const char *a, *error = NULL;
	struct config *cfg;
	struct sm *sm;

	snprintf(db, sizeof(db), "%s/sqlite.db", f->dir);
	with = sm_xml_with(f, "<router_id>SM-N1</router_id>", &sm);
	assert_string_equal(sm->id, "sm-n1");
	assert_string_equal(sm->router_id, "sm-n1");
	assert_true(sm_serves(sm, "example.org"));
	assert_false(sm_serves(sm, "sm-n1"));
	sm_test_out_clear();
	sm_test_sess_req(sm, "create", "1", NULL, "ann@example.org");
	assert_non_null(sm_test_out_find("action='created'", "from='sm-n1'", NULL));
	a = sm_test_login(sm, "ann@example.org", "desk", "1");
	sm_test_login(sm, "bob@example.org", "home", "2");
	sm_test_from_sess(sm, "1", a, "<message to='bob@example.org/home'><body>in</body></message>");
	assert_non_null(sm_test_out_find("to='c2s'", ":c2s='2'", "from='sm-n1'", "in", NULL));
	sm_test_from_sess(sm, "1", a, "<message to='zed@far.example'><body>out</body></message>");
	assert_non_null(sm_test_out_find("to='far.example'", "from='sm-n1'", "out", NULL));
	assert_null(sm_test_out_find("from='example.org'", NULL));
	sm_test_out_clear();
	sm_free(&sm);
	free(with);

	with = xasprintf("<sm><id>sm</id><router_id>example.org</router_id>"
			 "<local><id>example.org</id></local>"
			 "<storage><driver>sqlite</driver><sqlite><dbname>%s</dbname></sqlite>"
			 "</storage></sm>", db);
	cfg = config_load_mem("sm.xml", with, strlen(with), NULL, &error);
	assert_non_null(cfg);
	assert_null(sm_new(cfg, NULL, &error));
	assert_non_null(strstr(error, "is a served domain"));
	free(with);
}

/* Patch 3: with <router_id> and <cluster><notify>, session changes reach
 * the cluster module; without <cluster>, nothing is sent. */
static void test_cluster_notify(void **state)
{
	struct fixture *f = *state;
	const char *a;
	struct sm *sm;
	char *with = sm_xml_with(f, "<router_id>sm-n1</router_id>"
				 "<cluster><notify>example.org</notify></cluster>", &sm);

	a = sm_test_login(sm, "ann@example.org", "desk", "1");
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<presence><priority>5</priority></presence>");
	assert_non_null(sm_test_out_find("to='example.org'", "from='sm-n1'",
					 "urn:jabberd-cluster:session", "action='update'",
					 "jid='ann@example.org/desk'", "priority='5'",
					 "available='1'", NULL));
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<presence><priority>-3</priority></presence>");
	assert_non_null(sm_test_out_find("action='update'", "priority='-3'", NULL));
	sm_test_out_clear();
	sm_test_sess_req(sm, "end", "1", a, NULL);
	assert_non_null(sm_test_out_find("urn:jabberd-cluster:session", "action='end'",
					 "jid='ann@example.org/desk'", NULL));
	sm_test_out_clear();
	sm_free(&sm);
	free(with);

	/* the fixture's sm has no <cluster>: no notification */
	sm = f->sm;
	a = sm_test_login(sm, "bob@example.org", "desk", "2");
	sm_test_from_sess(sm, "2", a, "<presence><priority>5</priority></presence>");
	sm_test_sess_req(sm, "end", "2", a, NULL);
	assert_null(sm_test_out_find("urn:jabberd-cluster:session", NULL));
}

/* ---- delivery ---- */

static void test_delivery_and_priority(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;
	const char *a = sm_test_login(sm, "ann@example.org", "a", "1");
	const char *b1 = sm_test_login(sm, "bob@example.org", "one", "2");
	const char *b2 = sm_test_login(sm, "bob@example.org", "two", "3");

	sm_test_from_sess(sm, "2", b1, "<presence><priority>5</priority></presence>");
	sm_test_from_sess(sm, "3", b2, "<presence><priority>-1</priority></presence>");
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<message to='bob@example.org' type='chat'><body>hi</body></message>");
	/* Only the non-negative top priority resource gets the bare message. */
	assert_int_equal(sm_test_nout, 1);
	assert_non_null(sm_test_out_find(":c2s='2'", "from='ann@example.org/a'", "<body>hi</body>",
				 NULL));
	sm_test_out_clear();
	/* To a full JID: that resource, even with a negative priority. */
	sm_test_from_sess(sm, "1", a, "<message to='bob@example.org/two'><body>2</body></message>");
	assert_non_null(sm_test_out_find(":c2s='3'", "<body>2</body>", NULL));
	sm_test_out_clear();
	/* A session's sender address is its own, whatever it claims. */
	sm_test_from_sess(sm, "1", a, "<message to='bob@example.org/one' from='eve@example.org/x'>"
		  "<body>3</body></message>");
	assert_non_null(sm_test_out_find("from='ann@example.org/a'", "<body>3</body>", NULL));
	sm_test_out_clear();
	/* Unknown user: service-unavailable back to the sender's session. */
	sm_test_from_sess(sm, "1", a, "<message to='nobody@example.org' id='m1'><body>?</body></message>");
	assert_non_null(sm_test_out_find(":c2s='1'", "type='error'", "service-unavailable",
				 "from='nobody@example.org'", NULL));
	sm_test_out_clear();
	/* Remote domain: routed from our id to that domain. */
	sm_test_from_sess(sm, "1", a, "<message to='zed@far.example'><body>out</body></message>");
	assert_non_null(sm_test_out_find("to='far.example'", "from='sm'", "<body>out</body>", NULL));
	assert_null(sm_test_out_find(":sm=", NULL));
	sm_test_out_clear();
	/* RFC 6121 8.5: groupchat to the bare JID bounces, headline goes to
	 * every non-negative session, a message to a missing resource goes
	 * to the bare JID's choice. */
	sm_test_from_sess(sm, "1", a, "<message to='bob@example.org' type='groupchat'><body>g</body>"
		  "</message>");
	assert_non_null(sm_test_out_find(":c2s='1'", "service-unavailable", NULL));
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<message to='bob@example.org' type='headline'><body>h</body>"
		  "</message>");
	assert_int_equal(sm_test_nout, 1);
	assert_non_null(sm_test_out_find(":c2s='2'", "<body>h</body>", NULL));
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<message to='bob@example.org/gone'><body>r</body></message>");
	assert_non_null(sm_test_out_find(":c2s='2'", "<body>r</body>", NULL));
	sm_test_out_clear();
	/* Only a negative priority left: a bare message waits offline. */
	sm_test_from_sess(sm, "2", b1, "<presence type='unavailable'/>");
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<message to='bob@example.org'><body>later</body></message>");
	assert_int_equal(sm_test_nout, 0);
	assert_int_equal(count(sm, "queue", "bob@example.org"), 1);
}

static void test_offline_quota_and_flush(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;
	const char *a = sm_test_login(sm, "ann@example.org", "a", "1"), *b;

	sm_test_sess_req(sm, "create", "9", NULL, "bob@example.org");
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<message to='bob@example.org'><body>one</body></message>");
	sm_test_from_sess(sm, "1", a, "<message to='bob@example.org'><body>two</body></message>");
	assert_int_equal(sm_test_nout, 0);
	assert_int_equal(count(sm, "queue", "bob@example.org"), 2);
	/* Over the quota of 2: bounced. */
	sm_test_from_sess(sm, "1", a, "<message to='bob@example.org'><body>three</body></message>");
	assert_non_null(sm_test_out_find(":c2s='1'", "service-unavailable", NULL));
	/* Headlines are not kept by default. */
	sm_test_out_clear();
	b = sm_test_login(sm, "bob@example.org", "r", "2");
	assert_int_equal(sm_test_nout, 0);
	sm_test_from_sess(sm, "2", b, "<presence/>");
	assert_non_null(sm_test_out_find(":c2s='2'", "<body>one</body>", "urn:xmpp:delay", "stamp=",
				 NULL));
	assert_non_null(sm_test_out_find(":c2s='2'", "<body>two</body>", NULL));
	assert_int_equal(count(sm, "queue", "bob@example.org"), 0);
}

/* ---- roster and subscriptions ---- */

static void test_roster_and_subscriptions(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;
	const char *a = sm_test_login(sm, "ann@example.org", "a", "1"), *o;
	char ver[32];

	sm_test_from_sess(sm, "1", a, "<iq type='get' id='r1'><query xmlns='jabber:iq:roster' ver=''/>"
		  "</iq>");
	/* The template roster's item is there from the start. */
	o = sm_test_out_find("type='result'", "id='r1'", "ver='", "jid='help@example.org'", NULL);
	assert_non_null(o);
	snprintf(ver, sizeof(ver), "%.*s", (int)strcspn(strstr(o, "ver='") + 5, "'"),
		 strstr(o, "ver='") + 5);
	sm_test_out_clear();
	/* XEP-0237: asking with the current version gets an empty result. */
	sm_test_feed(sm, "<route xmlns='" COMP "' to='sm' from='c2s'><iq xmlns='jabber:client' "
	     "xmlns:sc='" SESS "' sc:c2s='1' sc:sm='%s' type='get' id='r1b'>"
	     "<query xmlns='jabber:iq:roster' ver='%s'/></iq></route>", a, ver);
	assert_non_null(sm_test_out_find("id='r1b'", "type='result'", NULL));
	assert_null(sm_test_out_find("help@example.org", NULL));
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<iq type='set' id='r2'><query xmlns='jabber:iq:roster'>"
		  "<item jid='zed@far.example' name='Zed'><group>G1</group></item></query></iq>");
	assert_non_null(sm_test_out_find("type='result'", "id='r2'", NULL));
	assert_non_null(sm_test_out_find("type='set'", "jid='zed@far.example'", "subscription='none'",
				 "<group>G1</group>", NULL));
	assert_int_equal(count(sm, "roster-items", "ann@example.org"), 2);
	assert_int_equal(count(sm, "roster-groups", "ann@example.org"), 2);
	sm_test_out_clear();
	/* Subscribe: ask='subscribe' pushed, the request routed out from
	 * the bare JID. */
	sm_test_from_sess(sm, "1", a, "<presence to='zed@far.example' type='subscribe'/>");
	assert_non_null(sm_test_out_find("ask='subscribe'", NULL));
	assert_non_null(sm_test_out_find("to='far.example'", "type='subscribe'",
				 "from='ann@example.org'", NULL));
	sm_test_out_clear();
	/* The contact grants it: subscription to, pushed, delivered. */
	sm_test_feed(sm, "<route xmlns='" COMP "' to='example.org' from='s2s'><presence "
	     "xmlns='jabber:client' type='subscribed' from='zed@far.example' "
	     "to='ann@example.org'/></route>");
	assert_non_null(sm_test_out_find("subscription='to'", NULL));
	sm_test_out_clear();
	/* A repeated or unasked-for subscribed changes nothing. */
	sm_test_feed(sm, "<route xmlns='" COMP "' to='example.org' from='s2s'><presence "
	     "xmlns='jabber:client' type='subscribed' from='zed@far.example' "
	     "to='ann@example.org'/></route>");
	sm_test_feed(sm, "<route xmlns='" COMP "' to='example.org' from='s2s'><presence "
	     "xmlns='jabber:client' type='subscribed' from='eve@far.example' "
	     "to='ann@example.org'/></route>");
	assert_int_equal(sm_test_nout, 0);
	/* A probe from a contact without a from subscription is ignored. */
	sm_test_feed(sm, "<route xmlns='" COMP "' to='example.org' from='s2s'><presence "
	     "xmlns='jabber:client' type='probe' from='zed@far.example' "
	     "to='ann@example.org'/></route>");
	assert_int_equal(sm_test_nout, 0);
	/* A bad item is refused and nothing is stored. */
	sm_test_from_sess(sm, "1", a, "<iq type='set' id='r3'><query xmlns='jabber:iq:roster'>"
		  "<item jid='@@bad'/></query></iq>");
	assert_non_null(sm_test_out_find("id='r3'", "jid-malformed", NULL));
	assert_int_equal(count(sm, "roster-items", "ann@example.org"), 2);
	sm_test_out_clear();
	/* The version moved on; a fetch with the current one is empty. */
	sm_test_from_sess(sm, "1", a, "<iq type='get' id='r4'><query xmlns='jabber:iq:roster' "
		  "ver='0'/></iq>");
	assert_non_null(sm_test_out_find("id='r4'", "jid='zed@far.example'", NULL));
	sm_test_out_clear();
	/* Remove: unsubscribe sent, item gone. */
	sm_test_from_sess(sm, "1", a, "<iq type='set' id='r5'><query xmlns='jabber:iq:roster'>"
		  "<item jid='zed@far.example' subscription='remove'/></query></iq>");
	assert_non_null(sm_test_out_find("to='far.example'", "type='unsubscribe'", NULL));
	assert_non_null(sm_test_out_find("subscription='remove'", NULL));
	assert_int_equal(count(sm, "roster-items", "ann@example.org"), 1);
}

/* RFC 6121 3.4: "subscribed" with no request waiting is a pre-approval:
 * kept (roster-state) and shown, not sent; the contact's request later is
 * granted by the server. A request waiting makes it an answer instead. */
static void test_presence_preapproval(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;
	const char *a = sm_test_login(sm, "ann@example.org", "a", "1");

	sm_test_from_sess(sm, "1", a, "<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>");
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<presence to='zed@far.example' type='subscribed'/>");
	assert_null(sm_test_out_find("to='zed@far.example'", "type='subscribed'", NULL));
	assert_non_null(sm_test_out_find("jid='zed@far.example'", "subscription='none'",
				 "approved='true'", NULL));
	assert_int_equal(count(sm, "roster-state", "ann@example.org"), 1);
	sm_test_out_clear();
	sm_test_feed(sm, "<route xmlns='" COMP "' to='example.org' from='s2s'><presence "
	     "xmlns='jabber:client' type='subscribe' from='zed@far.example/x' "
	     "to='ann@example.org'/></route>");
	assert_non_null(sm_test_out_find("to='zed@far.example'", "type='subscribed'", NULL));
	assert_null(sm_test_out_find(":c2s='1'", "type='subscribe'", NULL));
	assert_non_null(sm_test_out_find("jid='zed@far.example'", "subscription='from'", NULL));
	assert_null(sm_test_out_find("approved='true'", NULL));
	assert_int_equal(count(sm, "roster-state", "ann@example.org"), 0);
	/* A request waiting: "subscribed" answers it and goes out. */
	sm_test_feed(sm, "<route xmlns='" COMP "' to='example.org' from='s2s'><presence "
	     "xmlns='jabber:client' type='subscribe' from='kim@far.example' "
	     "to='ann@example.org'/></route>");
	assert_int_equal(count(sm, "roster-state", "ann@example.org"), 1);
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<presence to='kim@far.example' type='subscribed'/>");
	assert_non_null(sm_test_out_find("to='kim@far.example'", "type='subscribed'", NULL));
	assert_non_null(sm_test_out_find("jid='kim@far.example'", "subscription='from'", NULL));
	assert_int_equal(count(sm, "roster-state", "ann@example.org"), 0);
	/* Requests waiting are bounded (1000): the next stranger is refused. */
	for (int i = 0; i <= 1000; i++) {
		sm_test_out_clear();
		sm_test_feed(sm, "<route xmlns='" COMP "' to='example.org' from='s2s'><presence "
			     "xmlns='jabber:client' type='subscribe' from='s%d@far.example' "
			     "to='ann@example.org'/></route>", i);
	}
	assert_int_equal(count(sm, "roster-state", "ann@example.org"), 1000);
	assert_non_null(sm_test_out_find("to='s1000@far.example'", "type='error'",
				 "resource-constraint", NULL));
}

static void test_presence_broadcast_and_end(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;
	const char *a = sm_test_login(sm, "ann@example.org", "a", "1");

	/* Give ann a contact who sees her presence (from) and whom she sees
	 * (to), as if both had subscribed earlier. */
	sm_test_from_sess(sm, "1", a, "<presence to='zed@far.example' type='subscribe'/>");
	sm_test_feed(sm, "<route xmlns='" COMP "' to='example.org' from='s2s'><presence "
	     "xmlns='jabber:client' type='subscribed' from='zed@far.example' "
	     "to='ann@example.org'/></route>");
	sm_test_feed(sm, "<route xmlns='" COMP "' to='example.org' from='s2s'><presence "
	     "xmlns='jabber:client' type='subscribe' from='zed@far.example' "
	     "to='ann@example.org'/></route>");
	sm_test_from_sess(sm, "1", a, "<presence to='zed@far.example' type='subscribed'/>");
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<presence><show>away</show></presence>");
	assert_non_null(sm_test_out_find("to='far.example'", "<show>away</show>",
				 "from='ann@example.org/a'", NULL));
	assert_non_null(sm_test_out_find("type='probe'", "to='zed@far.example'", NULL));
	/* The echo to her own session (RFC 6121 4.2.2). */
	assert_non_null(sm_test_out_find(":c2s='1'", "<show>away</show>", NULL));
	sm_test_out_clear();
	/* Directed presence to a stranger, then the c2s goes away: both the
	 * contact and the stranger hear she is unavailable. */
	sm_test_from_sess(sm, "1", a, "<presence to='x@other.example/r'/>");
	sm_test_out_clear();
	sm_test_feed(sm, "<presence xmlns='" COMP "' from='c2s' type='unavailable'/>");
	assert_non_null(sm_test_out_find("type='unavailable'", "to='zed@far.example'", NULL));
	assert_non_null(sm_test_out_find("type='unavailable'", "to='x@other.example/r'", NULL));
	assert_int_equal(xhash_count(sm->sessions), 0);
	/* The probe from the contact now gets unavailable from the bare JID. */
	sm_test_out_clear();
	sm_test_feed(sm, "<route xmlns='" COMP "' to='example.org' from='s2s'><presence "
	     "xmlns='jabber:client' type='probe' from='zed@far.example' "
	     "to='ann@example.org'/></route>");
	assert_non_null(sm_test_out_find("type='unavailable'", "from='ann@example.org'", NULL));
}

/* ---- the server's own iqs ---- */

static const struct {
	const char *query;      /* child of the iq */
	const char *to;
	const char *expect;     /* in the reply */
} iq_cases[] = {
	{ "<ping xmlns='urn:xmpp:ping'/>", "example.org", "type='result'" },
	{ "<query xmlns='jabber:iq:version'/>", "example.org", "<name>jabberd-cluster</name>" },
	{ "<time xmlns='urn:xmpp:time'/>", "example.org", "<utc>" },
	{ "<query xmlns='jabber:iq:time'/>", "example.org", "<utc>" },
	{ "<query xmlns='jabber:iq:last'/>", "example.org", "seconds=" },
	{ "<query xmlns='http://jabber.org/protocol/disco#info'/>", "example.org",
	  "var='msgoffline'" },
	{ "<query xmlns='http://jabber.org/protocol/disco#info'/>", "example.org",
	  "category='server'" },
	{ "<query xmlns='http://jabber.org/protocol/disco#items'/>", "example.org",
	  "type='result'" },
	{ "<query xmlns='urn:example:none'/>", "example.org", "feature-not-implemented" },
	{ "<query xmlns='jabber:iq:version'/>", "nobody@example.org", "service-unavailable" },
	{ "<query xmlns='urn:example:none'/>", "ann@example.org", "service-unavailable" },
	{ "<query xmlns='http://jabber.org/protocol/disco#info'/>", "ann@example.org",
	  "category='account'" },
	{ "<query xmlns='jabber:iq:last'/>", "ann@example.org", "seconds='0'" },
};

static void test_server_iqs(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;
	const char *a = sm_test_login(sm, "ann@example.org", "a", "1");
	size_t i;
	char iq[512];

	for (i = 0; i < sizeof(iq_cases) / sizeof(iq_cases[0]); i++) {
		sm_test_out_clear();
		snprintf(iq, sizeof(iq), "<iq type='get' id='q%zu' to='%s'>%s</iq>", i,
			 iq_cases[i].to, iq_cases[i].query);
		sm_test_from_sess(sm, "1", a, iq);
		if (sm_test_out_find(":c2s='1'", iq_cases[i].expect, NULL) == NULL) {
			sm_test_out_dump();
			fail_msg("case %zu: no reply with %s", i, iq_cases[i].expect);
		}
	}
	/* A component the router advertises is asked, and listed if it has
	 * an identity; it leaves the list when it goes. */
	sm_test_out_clear();
	sm_test_feed(sm, "<presence xmlns='" COMP "' from='muc.example.org'/>");
	assert_non_null(sm_test_out_find("to='muc.example.org'", "from='sm'", "type='get'",
				 "disco#info", NULL));
	sm_test_feed(sm, "<route xmlns='" COMP "' to='example.org' from='muc.example.org'><iq "
	     "xmlns='jabber:client' type='result' id='disco' from='muc.example.org' "
	     "to='example.org'><query xmlns='http://jabber.org/protocol/disco#info'>"
	     "<identity category='conference' type='text' name='Rooms'/></query></iq></route>");
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<iq type='get' id='i1' to='example.org'>"
		  "<query xmlns='http://jabber.org/protocol/disco#items'/></iq>");
	assert_non_null(sm_test_out_find("id='i1'", "jid='muc.example.org'", "name='Rooms'", NULL));
	sm_test_feed(sm, "<presence xmlns='" COMP "' from='muc.example.org' type='unavailable'/>");
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<iq type='get' id='i2' to='example.org'>"
		  "<query xmlns='http://jabber.org/protocol/disco#items'/></iq>");
	assert_non_null(sm_test_out_find("id='i2'", NULL));
	assert_null(sm_test_out_find("muc.example.org", NULL));
	/* Found by fuzz_sm: an iq without `to` gets the account's address
	 * (the nad's strings move); modules after that must not read the
	 * old ones. Under ASan this was a use after free. */
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<iq type='get' id='n'><query xmlns='urn:example:"
		  "a-namespace-long-enough-to-make-the-arena-grow-when-to-is-added'/></iq>");
	assert_non_null(sm_test_out_find("id='n'", "service-unavailable", NULL));
	/* A ping without to is for the account, answered by the server. */
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<iq type='get' id='p'><ping xmlns='urn:xmpp:ping'/></iq>");
	assert_non_null(sm_test_out_find("id='p'", "type='result'", NULL));
	/* Not a stanza, an unknown type, iqs against RFC 6120 8.2.3:
	 * bad-request. */
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<foo/>");
	assert_non_null(sm_test_out_find("bad-request", NULL));
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<presence type='whatever' to='bob@example.org'/>");
	assert_non_null(sm_test_out_find(":c2s='1'", "bad-request", NULL));
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<iq type='result' to='example.org'/>");
	assert_non_null(sm_test_out_find(":c2s='1'", "bad-request", NULL));
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<iq type='get' id='two' to='example.org'><ping "
		  "xmlns='urn:xmpp:ping'/><ping xmlns='urn:xmpp:ping'/></iq>");
	assert_non_null(sm_test_out_find("id='two'", "bad-request", NULL));
	/* Well-formed results and errors are never answered. */
	sm_test_out_clear();
	sm_test_feed(sm, "<route xmlns='" COMP "' to='example.org' from='s2s'><iq xmlns='jabber:client' "
	     "type='result' id='r' from='a@b.c' to='example.org'/></route>");
	sm_test_feed(sm, "<route xmlns='" COMP "' to='example.org' from='s2s'><message "
	     "xmlns='jabber:client' type='error' from='a@b.c' to='nobody@example.org'/></route>");
	sm_test_feed(sm, "<route xmlns='" COMP "' to='example.org' from='s2s'><message "
	     "xmlns='jabber:client' to='@@@' from='a@b.c'/></route>");
	assert_int_equal(sm_test_nout, 0);
}

/* ---- private XML and vCards ---- */

static void test_private_and_vcard(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;
	const char *a = sm_test_login(sm, "ann@example.org", "a", "1");
	const char *b = sm_test_login(sm, "bob@example.org", "b", "2");

	sm_test_from_sess(sm, "1", a, "<iq type='set' id='p1'><query xmlns='jabber:iq:private'>"
		  "<storage xmlns='storage:bookmarks'><conference jid='r@c.example'/></storage>"
		  "</query></iq>");
	assert_non_null(sm_test_out_find("id='p1'", "type='result'", NULL));
	assert_int_equal(count(sm, "private", "ann@example.org"), 1);
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<iq type='get' id='p2'><query xmlns='jabber:iq:private'>"
		  "<storage xmlns='storage:bookmarks'/></query></iq>");
	assert_non_null(sm_test_out_find("id='p2'", "<conference jid='r@c.example'/>", NULL));
	sm_test_out_clear();
	/* Nothing stored under another namespace: the empty element back. */
	sm_test_from_sess(sm, "1", a, "<iq type='get' id='p3'><query xmlns='jabber:iq:private'>"
		  "<x xmlns='urn:example:none'/></query></iq>");
	assert_non_null(sm_test_out_find("id='p3'", "type='result'", "<x xmlns='urn:example:none'/>",
				 NULL));
	sm_test_out_clear();
	/* Someone else's private storage is forbidden. */
	sm_test_from_sess(sm, "2", b, "<iq type='get' id='p4' to='ann@example.org'>"
		  "<query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'/>"
		  "</query></iq>");
	assert_non_null(sm_test_out_find("id='p4'", "forbidden", NULL));
	sm_test_out_clear();

	/* vCard: stored per field, over-long values cut to max-1 (7). */
	sm_test_from_sess(sm, "1", a, "<iq type='set' id='v1'><vCard xmlns='vcard-temp'>"
		  "<FN>Ann</FN><NICKNAME>annabelle-the-long</NICKNAME><EMAIL><USERID>a@b"
		  "</USERID></EMAIL><X-UNKNOWN>dropped</X-UNKNOWN></vCard></iq>");
	assert_non_null(sm_test_out_find("id='v1'", "type='result'", NULL));
	sm_test_out_clear();
	sm_test_from_sess(sm, "2", b, "<iq type='get' id='v2' to='ann@example.org'>"
		  "<vCard xmlns='vcard-temp'/></iq>");
	assert_non_null(sm_test_out_find("id='v2'", ":c2s='2'", "<FN>Ann</FN>",
				 "<NICKNAME>annabel</NICKNAME>", "<EMAIL><USERID>a@b</USERID></EMAIL>",
				 NULL));
	assert_null(sm_test_out_find("X-UNKNOWN", NULL));
	sm_test_out_clear();
	/* Only the owner writes. */
	sm_test_from_sess(sm, "2", b, "<iq type='set' id='v3' to='ann@example.org'>"
		  "<vCard xmlns='vcard-temp'><FN>Mallory</FN></vCard></iq>");
	assert_non_null(sm_test_out_find("id='v3'", "forbidden", NULL));
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<iq type='get' id='v4'><vCard xmlns='vcard-temp'/></iq>");
	assert_non_null(sm_test_out_find("id='v4'", "<FN>Ann</FN>", NULL));
}

/* ---- blocking (XEP-0191) ---- */

static void test_blocking(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;
	const char *a = sm_test_login(sm, "ann@example.org", "a", "1");
	const char *b = sm_test_login(sm, "bob@example.org", "b", "2");

	sm_test_from_sess(sm, "1", a, "<iq type='get' id='b0'><blocklist xmlns='urn:xmpp:blocking'/>"
		  "</iq>");
	assert_non_null(sm_test_out_find("id='b0'", "<blocklist xmlns='urn:xmpp:blocking'/>", NULL));
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<iq type='set' id='b1'><block xmlns='urn:xmpp:blocking'>"
		  "<item jid='bob@example.org'/></block></iq>");
	assert_non_null(sm_test_out_find("id='b1'", "type='result'", NULL));
	/* The fetching session gets the push. */
	assert_non_null(sm_test_out_find("type='set'", "<block xmlns='urn:xmpp:blocking'>", NULL));
	assert_int_equal(count(sm, "privacy-items", "ann@example.org"), 1);
	sm_test_out_clear();
	sm_test_from_sess(sm, "2", b, "<message to='ann@example.org/a'><body>hey</body></message>");
	assert_non_null(sm_test_out_find(":c2s='2'", "service-unavailable", NULL));
	assert_null(sm_test_out_find(":c2s='1'", NULL));
	sm_test_out_clear();
	sm_test_from_sess(sm, "2", b, "<presence to='ann@example.org'/>");
	assert_int_equal(sm_test_nout, 0);
	sm_test_from_sess(sm, "1", a, "<message to='bob@example.org'><body>no</body></message>");
	assert_non_null(sm_test_out_find(":c2s='1'", "not-acceptable",
				 "<blocked xmlns='urn:xmpp:blocking:errors'/>", NULL));
	assert_null(sm_test_out_find(":c2s='2'", NULL));
	sm_test_out_clear();
	/* Bad items are refused as a whole. */
	sm_test_from_sess(sm, "1", a, "<iq type='set' id='b2'><block xmlns='urn:xmpp:blocking'>"
		  "<item jid='ok@example.org'/><item jid='@bad'/></block></iq>");
	assert_non_null(sm_test_out_find("id='b2'", "jid-malformed", NULL));
	assert_int_equal(count(sm, "privacy-items", "ann@example.org"), 1);
	sm_test_out_clear();
	/* Unblock all: mail flows again. */
	sm_test_from_sess(sm, "1", a, "<iq type='set' id='b3'><unblock xmlns='urn:xmpp:blocking'/></iq>");
	assert_non_null(sm_test_out_find("id='b3'", "type='result'", NULL));
	assert_int_equal(count(sm, "privacy-items", "ann@example.org"), 0);
	sm_test_out_clear();
	sm_test_from_sess(sm, "2", b, "<message to='ann@example.org/a'><body>again</body></message>");
	assert_non_null(sm_test_out_find(":c2s='1'", "<body>again</body>", NULL));
}

/* ---- privacy lists (XEP-0016) ---- */

#define PRIV "<query xmlns='jabber:iq:privacy'>"

static void test_privacy_lists(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;
	const char *a = sm_test_login(sm, "ann@example.org", "a", "1");
	const char *b = sm_test_login(sm, "bob@example.org", "b", "2");

	sm_test_from_sess(sm, "1", a, "<iq type='get' id='l0'>" PRIV "</query></iq>");
	assert_non_null(sm_test_out_find("id='l0'", "<active/>", "<default/>", NULL));
	sm_test_out_clear();
	/* No action: refused, nothing stored. */
	sm_test_from_sess(sm, "1", a, "<iq type='set' id='l1'>" PRIV "<list name='strict'>"
		  "<item type='jid' value='bob@example.org' order='1'/></list></query></iq>");
	assert_non_null(sm_test_out_find("id='l1'", "bad-request", NULL));
	assert_int_equal(count(sm, "privacy-items", "ann@example.org"), 0);
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<iq type='set' id='l2'>" PRIV "<list name='strict'>"
		  "<item action='allow' order='9'/>"
		  "<item type='jid' value='bob@example.org' action='deny' order='1'><message/></item>"
		  "</list></query></iq>");
	assert_non_null(sm_test_out_find("id='l2'", "type='result'", NULL));
	assert_non_null(sm_test_out_find("type='set'", "<list name='strict'/>", NULL));  /* push */
	assert_int_equal(count(sm, "privacy-items", "ann@example.org"), 2);
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<iq type='get' id='l3'>" PRIV "<list name='strict'/></query></iq>");
	assert_non_null(sm_test_out_find("id='l3'", "value='bob@example.org'", "action='deny'",
				 "order='1'", "<message/>", "action='allow'", NULL));
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<iq type='set' id='l4'>" PRIV "<default name='strict'/></query></iq>");
	assert_non_null(sm_test_out_find("id='l4'", "type='result'", NULL));
	assert_int_equal(count(sm, "privacy-default", "ann@example.org"), 1);
	sm_test_out_clear();
	/* Bob's messages are denied, his presence is not. */
	sm_test_from_sess(sm, "2", b, "<message to='ann@example.org/a'><body>m</body></message>");
	assert_non_null(sm_test_out_find(":c2s='2'", "service-unavailable", NULL));
	assert_null(sm_test_out_find(":c2s='1'", NULL));
	sm_test_out_clear();
	sm_test_from_sess(sm, "2", b, "<presence to='ann@example.org/a'/>");
	assert_non_null(sm_test_out_find(":c2s='1'", "<presence", NULL));
	sm_test_out_clear();
	/* Ann's own messages to bob are held back too. */
	sm_test_from_sess(sm, "1", a, "<message to='bob@example.org/b'><body>n</body></message>");
	assert_non_null(sm_test_out_find(":c2s='1'", "not-acceptable", NULL));
	assert_null(sm_test_out_find(":c2s='2'", NULL));
	sm_test_out_clear();
	/* The default list cannot be removed; decline it first. */
	sm_test_from_sess(sm, "1", a, "<iq type='set' id='l5'>" PRIV "<list name='strict'/></query></iq>");
	assert_non_null(sm_test_out_find("id='l5'", "conflict", NULL));
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<iq type='set' id='l6'>" PRIV "<default/></query></iq>");
	sm_test_from_sess(sm, "1", a, "<iq type='set' id='l7'>" PRIV "<list name='strict'/></query></iq>");
	assert_non_null(sm_test_out_find("id='l7'", "type='result'", NULL));
	assert_int_equal(count(sm, "privacy-items", "ann@example.org"), 0);
	assert_int_equal(count(sm, "privacy-default", "ann@example.org"), 0);
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<iq type='get' id='l8'>" PRIV "<list name='strict'/></query></iq>");
	assert_non_null(sm_test_out_find("id='l8'", "item-not-found", NULL));
	sm_test_out_clear();
	sm_test_from_sess(sm, "2", b, "<message to='ann@example.org/a'><body>ok</body></message>");
	assert_non_null(sm_test_out_find(":c2s='1'", "<body>ok</body>", NULL));
}

/* ---- carbons (XEP-0280) ---- */

static void test_carbons(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;
	const char *a1 = sm_test_login(sm, "ann@example.org", "one", "1");
	const char *a2 = sm_test_login(sm, "ann@example.org", "two", "2");
	const char *b = sm_test_login(sm, "bob@example.org", "b", "3");

	sm_test_from_sess(sm, "1", a1, "<presence><priority>5</priority></presence>");
	sm_test_from_sess(sm, "2", a2, "<presence><priority>1</priority></presence>");
	sm_test_from_sess(sm, "2", a2, "<iq type='set' id='c1'><enable xmlns='urn:xmpp:carbons:2'/></iq>");
	assert_non_null(sm_test_out_find("id='c1'", "type='result'", NULL));
	sm_test_out_clear();
	/* Received: "two" is not the top priority, so it gets a carbon. */
	sm_test_from_sess(sm, "3", b, "<message to='ann@example.org' type='chat'><body>in</body>"
		  "</message>");
	assert_non_null(sm_test_out_find(":c2s='1'", "<body>in</body>", NULL));
	assert_non_null(sm_test_out_find(":c2s='2'", "<received xmlns='urn:xmpp:carbons:2'>",
				 "<forwarded xmlns='urn:xmpp:forward:0'>", "<body>in</body>",
				 "from='ann@example.org'", NULL));
	sm_test_out_clear();
	/* Sent from "one": copied to "two". */
	sm_test_from_sess(sm, "1", a1, "<message to='bob@example.org' type='chat'><body>out</body>"
		  "</message>");
	assert_non_null(sm_test_out_find(":c2s='2'", "<sent xmlns='urn:xmpp:carbons:2'>",
				 "<body>out</body>", NULL));
	sm_test_out_clear();
	/* Private messages and non-chat types are not copied. */
	sm_test_from_sess(sm, "1", a1, "<message to='bob@example.org' type='chat'><body>p</body>"
		  "<private xmlns='urn:xmpp:carbons:2'/></message>");
	sm_test_from_sess(sm, "1", a1, "<message to='bob@example.org' type='headline'><body>h</body>"
		  "</message>");
	assert_null(sm_test_out_find(":c2s='2'", NULL));
	sm_test_out_clear();
	sm_test_from_sess(sm, "2", a2, "<iq type='set' id='c2'><disable xmlns='urn:xmpp:carbons:2'/>"
		  "</iq>");
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a1, "<message to='bob@example.org' type='chat'><body>x</body>"
		  "</message>");
	assert_null(sm_test_out_find(":c2s='2'", NULL));
}

/* ---- template roster and status ---- */

static void test_template_and_status(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;
	const char *a = sm_test_login(sm, "ann@example.org", "a", "1");
	struct os *os = NULL;
	const char *error, *v;

	sm_test_from_sess(sm, "1", a, "<iq type='get' id='t1'><query xmlns='jabber:iq:roster'/></iq>");
	assert_non_null(sm_test_out_find("id='t1'", "jid='help@example.org'", "subscription='both'",
				 "<group>Staff</group>", NULL));
	sm_test_from_sess(sm, "1", a, "<presence><show>dnd</show></presence>");
	assert_int_equal(storage_get(sm->st, "status", "ann@example.org", NULL, &os, &error),
			 STORAGE_OK);
	assert_int_equal(os_object_get_str(os_first(os), "status", &v), 0);
	assert_string_equal(v, "online");
	assert_int_equal(os_object_get_str(os_first(os), "show", &v), 0);
	assert_string_equal(v, "dnd");
	os_free(&os);
	sm_test_sess_req(sm, "end", "1", a, NULL);
	assert_int_equal(storage_get(sm->st, "status", "ann@example.org", NULL, &os, &error),
			 STORAGE_OK);
	assert_int_equal(os_object_get_str(os_first(os), "status", &v), 0);
	assert_string_equal(v, "offline");
	os_free(&os);
	assert_int_equal(count(sm, "logout", "ann@example.org"), 1);
}

/* ---- announcements ---- */

static void test_announce_motd(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;
	const char *adm = sm_test_login(sm, "admin@example.org", "x", "1");
	const char *a = sm_test_login(sm, "ann@example.org", "a", "2"), *b;

	sm_test_from_sess(sm, "2", a, "<presence/>");
	sm_test_out_clear();
	/* Not in the ACL: forbidden. */
	sm_test_from_sess(sm, "2", a, "<message to='example.org/announce/online'><body>no</body>"
		  "</message>");
	assert_non_null(sm_test_out_find(":c2s='2'", "forbidden", NULL));
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", adm, "<message to='example.org/announce/motd'><body>Welcome"
		  "</body></message>");
	assert_non_null(sm_test_out_find(":c2s='2'", "<body>Welcome</body>", "from='example.org'", NULL));
	assert_int_equal(count(sm, "motd-message", "example.org"), 1);
	sm_test_out_clear();
	/* Bob logs in later: the MOTD once, at his first presence. */
	sm_test_sess_req(sm, "create", "3", NULL, "bob@example.org");
	b = sm_test_login(sm, "bob@example.org", "b", "3");
	sm_test_from_sess(sm, "3", b, "<presence/>");
	assert_non_null(sm_test_out_find(":c2s='3'", "<body>Welcome</body>", "urn:xmpp:delay", NULL));
	assert_int_equal(count(sm, "motd-times", "bob@example.org"), 1);
	sm_test_out_clear();
	sm_test_from_sess(sm, "3", b, "<presence type='unavailable'/>");
	sm_test_from_sess(sm, "3", b, "<presence/>");
	assert_null(sm_test_out_find("Welcome", NULL));
	sm_test_from_sess(sm, "1", adm, "<message to='example.org/announce/motd/delete'/>");
	assert_int_equal(count(sm, "motd-message", "example.org"), 0);
}

/* ---- PEP (XEP-0163, minimal) ---- */

static void test_pep(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;
	const char *a = sm_test_login(sm, "ann@example.org", "a", "1");
	const char *b = sm_test_login(sm, "bob@example.org", "b", "2");

	/* Bob may see Ann's presence (from, on Ann's side). */
	sm_test_from_sess(sm, "2", b, "<presence to='ann@example.org' type='subscribe'/>");
	sm_test_from_sess(sm, "1", a, "<presence to='bob@example.org' type='subscribed'/>");
	sm_test_from_sess(sm, "1", a, "<presence/>");
	sm_test_from_sess(sm, "2", b, "<presence/>");
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<iq type='set' id='e1'><pubsub xmlns='http://jabber.org/protocol/"
		  "pubsub'><publish node='urn:xmpp:tune'><item><tune xmlns='urn:xmpp:tune'>"
		  "<artist>X</artist></tune></item></publish></pubsub></iq>");
	assert_non_null(sm_test_out_find("id='e1'", "type='result'", "node='urn:xmpp:tune'", NULL));
	assert_non_null(sm_test_out_find(":c2s='2'", "type='headline'", "pubsub#event",
				 "<artist>X</artist>", "from='ann@example.org'", NULL));
	assert_non_null(sm_test_out_find(":c2s='1'", "pubsub#event", NULL));
	sm_test_out_clear();
	sm_test_from_sess(sm, "2", b, "<iq type='get' id='e2' to='ann@example.org'><pubsub "
		  "xmlns='http://jabber.org/protocol/pubsub'><items node='urn:xmpp:tune'/>"
		  "</pubsub></iq>");
	assert_non_null(sm_test_out_find("id='e2'", ":c2s='2'", "<artist>X</artist>", NULL));
	sm_test_out_clear();
	sm_test_from_sess(sm, "2", b, "<iq type='get' id='e3' to='ann@example.org'><pubsub "
		  "xmlns='http://jabber.org/protocol/pubsub'><items node='none'/></pubsub></iq>");
	assert_non_null(sm_test_out_find("id='e3'", "item-not-found", NULL));
}

/* ---- bad input (issue 5): the right error, nothing half-written ---- */

/* Feed `stanza` from session 1 and expect one reply to it carrying all of
 * `what` (a type='error' stanza with the condition). */
static void expect_error(struct sm *sm, const char *smid, const char *stanza,
			 const char *what, const char *cond)
{
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", smid, stanza);
	if (sm_test_nout != 1 || sm_test_out_find(":c2s='1'", what, "type='error'", cond, NULL) == NULL) {
		sm_test_out_dump();
		fail_msg("%.60s: expected only a %s %s", stanza, what, cond);
	}
}

static void test_bad_input(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;
	static const struct {
		const char *stanza, *what, *cond;
	} cases[] = {
		/* Roster items with an invalid JID (RFC 6120 8.3.3.8) or none. */
		{ "<iq type='set' id='b1'><query xmlns='jabber:iq:roster'><item jid='@@bad'/>"
		  "</query></iq>", "id='b1'", "jid-malformed" },
		{ "<iq type='set' id='b2'><query xmlns='jabber:iq:roster'><item jid='a@b@c' "
		  "name='x'/></query></iq>", "id='b2'", "jid-malformed" },
		{ "<iq type='set' id='b3'><query xmlns='jabber:iq:roster'><item name='nojid'/>"
		  "</query></iq>", "id='b3'", "bad-request" },
		/* Subscriptions to oneself (bare, full, no to): not-allowed. */
		{ "<presence to='ann@example.org' type='subscribe'/>", "<presence",
		  "not-allowed" },
		{ "<presence to='ann@example.org/other' type='subscribed'/>", "<presence",
		  "not-allowed" },
		{ "<presence type='subscribe'/>", "<presence", "not-allowed" },
		/* RFC 6120 8.2.3: an iq result needs an id too. */
		{ "<iq type='result' to='bob@example.org'/>", "<iq", "bad-request" },
		{ "<iq type='result'><query xmlns='jabber:iq:roster'/></iq>", "<iq",
		  "bad-request" },
		/* A presence type RFC 6121 does not define. */
		{ "<presence type='online' to='bob@example.org'/>", "<presence", "bad-request" },
		{ "<presence type='subscribe-all'/>", "<presence", "bad-request" },
	};
	const char *a;
	size_t i;

	sm_test_sess_req(sm, "create", "9", NULL, "bob@example.org");
	a = sm_test_login(sm, "ann@example.org", "a", "1");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		expect_error(sm, a, cases[i].stanza, cases[i].what, cases[i].cond);
		/* Only the template's item; nothing queued for offline bob. */
		assert_int_equal(count(sm, "roster-items", "ann@example.org"), 1);
		assert_int_equal(count(sm, "roster-groups", "ann@example.org"), 1);
		assert_int_equal(count(sm, "queue", "bob@example.org"), 0);
	}
}

static void test_bad_input_vcard_and_quota(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;
	const size_t big = 1024 * 1024;
	const char *a = sm_test_login(sm, "ann@example.org", "a", "1");
	char *fill = xmalloc(big + 1), *stanza;

	sm_test_from_sess(sm, "1", a, "<iq type='set' id='v1'><vCard xmlns='vcard-temp'><FN>Ann</FN>"
		  "</vCard></iq>");
	assert_non_null(sm_test_out_find("id='v1'", "type='result'", NULL));
	/* A 1 MB vCard is refused whole: the stored one is untouched. */
	memset(fill, 'x', big);
	fill[big] = '\0';
	stanza = xasprintf("<iq type='set' id='v2'><vCard xmlns='vcard-temp'><FN>Big</FN>"
			   "<PHOTO><TYPE>image/png</TYPE><BINVAL>%s</BINVAL></PHOTO></vCard></iq>",
			   fill);
	expect_error(sm, a, stanza, "id='v2'", "not-acceptable");
	free(stanza);
	/* Just under the default limit of 64 KiB: accepted (fields cut). */
	fill[60000] = '\0';
	stanza = xasprintf("<iq type='set' id='v3'><vCard xmlns='vcard-temp'><FN>Mid</FN>"
			   "<NOTE>%s</NOTE></vCard></iq>", fill);
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, stanza);
	free(stanza);
	assert_non_null(sm_test_out_find("id='v3'", "type='result'", NULL));
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<iq type='get' id='v4'><vCard xmlns='vcard-temp'/></iq>");
	assert_non_null(sm_test_out_find("id='v4'", "<FN>Mid</FN>", NULL));
	assert_null(sm_test_out_find("Big", NULL));
	assert_int_equal(count(sm, "vcard", "ann@example.org"), 1);
	free(fill);

	/* Offline quota (2): the third message bounces with
	 * service-unavailable (RFC 6121 8.5.2.1.1), a subscription request
	 * over it is dropped quietly (no errors for presence); 2 stay. */
	sm_test_sess_req(sm, "create", "9", NULL, "bob@example.org");
	sm_test_from_sess(sm, "1", a, "<message to='bob@example.org'><body>1</body></message>");
	sm_test_from_sess(sm, "1", a, "<message to='bob@example.org'><body>2</body></message>");
	assert_int_equal(count(sm, "queue", "bob@example.org"), 2);
	expect_error(sm, a, "<message to='bob@example.org' id='m3'><body>3</body></message>",
		     "id='m3'", "service-unavailable");
	assert_int_equal(count(sm, "queue", "bob@example.org"), 2);
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<presence to='bob@example.org' type='subscribe'/>");
	assert_null(sm_test_out_find("type='error'", NULL));
	assert_int_equal(count(sm, "queue", "bob@example.org"), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_session_protocol, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_ids_unguessable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_control_owner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_c2s_gone_ends_its_sessions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_router_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cluster_notify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delivery_and_priority, setup, teardown),
		cmocka_unit_test_setup_teardown(test_offline_quota_and_flush, setup, teardown),
		cmocka_unit_test_setup_teardown(test_roster_and_subscriptions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_presence_preapproval, setup, teardown),
		cmocka_unit_test_setup_teardown(test_presence_broadcast_and_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_iqs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_private_and_vcard, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blocking, setup, teardown),
		cmocka_unit_test_setup_teardown(test_privacy_lists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_carbons, setup, teardown),
		cmocka_unit_test_setup_teardown(test_template_and_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_announce_motd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_input_vcard_and_quota, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
