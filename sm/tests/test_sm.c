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
#include "util/jid.h"
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
	assert_null(sm_test_out_find("action='end'", "direct=", NULL));
	sm_test_out_clear();

	/* Direct delivery: the notification names the c2s and says direct='1'
	 * while no privacy rule of the user's can refuse a message; a block
	 * turns it off with an update before the iq's answer, an unblock on. */
	a = sm_test_login(sm, "cat@example.org", "desk", "4");
	sm_test_from_sess(sm, "4", a, "<presence/>");
	assert_non_null(sm_test_out_find("action='update'", "jid='cat@example.org/desk'",
					 "c2s='c2s'", "c2s-id='4'", "direct='1'", NULL));
	sm_test_out_clear();
	sm_test_from_sess(sm, "4", a, "<iq type='set' id='k1'><block xmlns='urn:xmpp:blocking'>"
			  "<item jid='eve@example.org'/></block></iq>");
	{
		const char *up = sm_test_out_find("action='update'", "jid='cat@example.org/desk'",
						  "c2s-id='4'", NULL);
		const char *res = sm_test_out_find("id='k1'", "type='result'", NULL);
		int iu = -1, ir = -1;

		assert_non_null(up);
		assert_non_null(res);
		assert_null(strstr(up, "direct="));
		for (int i = 0; i < sm_test_nout; i++) {
			if (sm_test_out[i] == up)
				iu = i;
			if (sm_test_out[i] == res)
				ir = i;
		}
		assert_true(iu < ir);   /* the module knows before the client does */
	}
	sm_test_out_clear();
	sm_test_from_sess(sm, "4", a, "<iq type='set' id='k2'><unblock xmlns='urn:xmpp:blocking'/>"
			  "</iq>");
	assert_non_null(sm_test_out_find("action='update'", "jid='cat@example.org/desk'",
					 "direct='1'", NULL));
	sm_test_out_clear();
	/* A priority change keeps it. */
	sm_test_from_sess(sm, "4", a, "<presence><priority>2</priority></presence>");
	assert_non_null(sm_test_out_find("action='update'", "priority='2'", "direct='1'", NULL));
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
	/* c2s addresses an iq without `to` to the bare JID: the same request */
	sm_test_from_sess(sm, "1", a1, "<iq type='set' id='c0' to='ann@example.org'>"
			  "<enable xmlns='urn:xmpp:carbons:2'/></iq>");
	assert_non_null(sm_test_out_find("id='c0'", "type='result'", NULL));
	sm_test_from_sess(sm, "1", a1, "<iq type='set' id='c00' to='ann@example.org'>"
			  "<disable xmlns='urn:xmpp:carbons:2'/></iq>");
	assert_non_null(sm_test_out_find("id='c00'", "type='result'", NULL));
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


/* ---- the sm in a cluster (sm/README.md "In a cluster") ---- */

#define CL_NS "urn:jabberd-cluster:session"

/* The fixture with <router_id>sm-n1 and <cluster><notify>example.org: the
 * module's view complete (synced) unless the test says otherwise. */
static int setup_cluster(void **state)
{
	struct fixture *f;
	char *xml;

	setup(state);
	f = *state;
	sm_free(&f->sm);
	xml = sm_xml_with(f, "<router_id>sm-n1</router_id>"
			  "<cluster><notify>example.org</notify></cluster>", &f->sm);
	free(xml);
	return 0;
}

/* A route from the module (rules 1, 5). */
static void cl_feed(struct sm *sm, const char *payload)
{
	sm_test_feed(sm, "<route xmlns='" COMP "' to='sm-n1' from='example.org'>%s</route>",
		     payload);
}

static void cl_synced(struct sm *sm)
{
	cl_feed(sm, "<remote xmlns='" CL_NS "' synced='1'/>");
}

/* One stub (rule 1). */
static void cl_stub(struct sm *sm, const char *action, const char *jid, const char *node,
		    int prio, int avail)
{
	sm_test_feed(sm, "<route xmlns='" COMP "' to='sm-n1' from='example.org'>"
		     "<remote xmlns='" CL_NS "'><s action='%s' jid='%s' node='%s' priority='%d' "
		     "available='%d' started='1796000000000'/></remote></route>",
		     action, jid, node, prio, avail);
}

static void cl_remove(struct sm *sm, const char *jid, const char *node, const char *reason)
{
	sm_test_feed(sm, "<route xmlns='" COMP "' to='sm-n1' from='example.org'>"
		     "<remote xmlns='" CL_NS "'><s action='remove' jid='%s' node='%s' "
		     "reason='%s'/></remote></route>", jid, node, reason);
}

/* A stanza another node's sm forwarded (rule 3) or the module could not
 * deliver (rule 4: attrs carry jc:undelivered). */
static void cl_in(struct sm *sm, const char *attrs, const char *stanza)
{
	sm_test_feed(sm, "<route xmlns='" COMP "' xmlns:jc='" CL_NS "' to='sm-n1' "
		     "from='example.org' %s>%.*s xmlns='jabber:client'%s</route>", attrs,
		     (int)strcspn(stanza, " />"), stanza, stanza + strcspn(stanza, " />"));
}

/* Exactly n outputs (dumped if not). */
#define assert_nout(n)                                  \
	do {                                            \
		if (sm_test_nout != (n))                \
			sm_test_out_dump();             \
		assert_int_equal(sm_test_nout, (n));    \
	} while (0)

/* 1 if the stanza in the captured route o has a `to`. */
static int payload_has_to(const char *o)
{
	const char *p = strchr(o + 1, '<');
	size_t end;

	assert_non_null(p);
	end = strcspn(p, ">");
	return memmem(p, end, " to='", 5) != NULL;
}

/* How many captured outputs contain s and t (t NULL: just s). */
static int out_count(const char *s, const char *t)
{
	int i, n = 0;

	for (i = 0; i < sm_test_nout; i++)
		n += strstr(sm_test_out[i], s) != NULL &&
		     (t == NULL || strstr(sm_test_out[i], t) != NULL);
	return n;
}

/* ann (session smid, c2s connection c2s_id) and `contact` see each
 * other's presence (both subscriptions), as if they had subscribed. */
static void befriend(struct sm *sm, const char *c2s_id, const char *smid, const char *contact)
{
	char st[256];

	snprintf(st, sizeof(st), "<presence to='%s' type='subscribe'/>", contact);
	sm_test_from_sess(sm, c2s_id, smid, st);
	sm_test_feed(sm, "<route xmlns='" COMP "' to='example.org' from='c2s'><presence "
		     "xmlns='jabber:client' type='subscribed' from='%s' to='ann@example.org'/>"
		     "</route>", contact);
	sm_test_feed(sm, "<route xmlns='" COMP "' to='example.org' from='c2s'><presence "
		     "xmlns='jabber:client' type='subscribe' from='%s' to='ann@example.org'/>"
		     "</route>", contact);
	snprintf(st, sizeof(st), "<presence to='%s' type='subscribed'/>", contact);
	sm_test_from_sess(sm, c2s_id, smid, st);
	sm_test_out_clear();
}

/* Rule 1 and rule 7: a full JID another node holds is forwarded there,
 * named in jc:targets, the stanza unchanged; once the stub is gone, the
 * user has no session anywhere and the message waits offline. */
static void test_cluster_full_jid(void **state)
{
	struct fixture *f = *state;
	struct sm *sm = f->sm;
	const char *a, *o;

	cl_synced(sm);
	a = sm_test_login(sm, "ann@example.org", "desk", "1");
	sm_test_sess_req(sm, "create", "9", NULL, "bob@example.org");
	cl_stub(sm, "add", "bob@example.org/home", "n2", 1, 1);
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<message to='bob@example.org/home' id='m1'><body>hi</body>"
			  "</message>");
	assert_nout(1);
	o = sm_test_out_find("to='example.org'", "from='sm-n1'", "xmlns:jc='" CL_NS "'",
			     "jc:node='n2'", "jc:targets='bob@example.org/home'",
			     "to='bob@example.org/home'", "from='ann@example.org/desk'",
			     "<body>hi</body>", NULL);
	if (o == NULL)
		sm_test_out_dump();
	assert_non_null(o);
	/* An iq to it as well; the sm answers nothing itself. */
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<iq to='bob@example.org/home' type='get' id='v1'>"
			  "<query xmlns='jabber:iq:version'/></iq>");
	assert_nout(1);
	assert_non_null(sm_test_out_find("jc:node='n2'", "id='v1'", NULL));
	/* The session ended on n2: offline storage, nothing forwarded. */
	cl_remove(sm, "bob@example.org/home", "n2", "end");
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<message to='bob@example.org/home'><body>later</body>"
			  "</message>");
	assert_nout(0);
	assert_int_equal(count(sm, "queue", "bob@example.org"), 1);
	assert_int_equal(sm_remote_count(sm), 0);
}

/* RFC 6121 8.5.2 over the nodes: the highest non-negative priority of an
 * available session anywhere wins, ties get copies (one route per node
 * naming every chosen session there), unavailable and negative sessions
 * are skipped; offline storage only with no available session anywhere. */
static void test_cluster_bare_jid_priorities(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;
	const char *a, *b, *o;

	cl_synced(sm);
	a = sm_test_login(sm, "ann@example.org", "desk", "1");
	b = sm_test_login(sm, "bob@example.org", "one", "2");
	sm_test_from_sess(sm, "2", b, "<presence><priority>5</priority></presence>");
	cl_stub(sm, "add", "bob@example.org/two", "n2", 5, 1);
	cl_stub(sm, "add", "bob@example.org/three", "n2", 5, 1);
	cl_stub(sm, "add", "bob@example.org/four", "n3", 7, 1);
	cl_stub(sm, "add", "bob@example.org/idle", "n3", 9, 0);
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<message to='bob@example.org' type='chat'><body>1</body>"
			  "</message>");
	/* Only n3's priority-7 session (the unavailable 9 does not count);
	 * the others get a carbon copy (kept by their sm if they enabled
	 * carbons). */
	assert_nout(2);
	o = sm_test_out_find("jc:node='n3'", "jc:targets='bob@example.org/four'",
			     "to='bob@example.org'", "<body>1</body>", NULL);
	assert_non_null(o);
	assert_null(strstr(o, "<received"));
	assert_non_null(sm_test_out_find("jc:node='n2'", "<received", NULL));
	/* A tie at 5 on both nodes and here: a copy each, one route per node. */
	cl_stub(sm, "update", "bob@example.org/four", "n3", 5, 1);
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<message to='bob@example.org' type='chat'><body>2</body>"
			  "</message>");
	assert_nout(3);
	assert_non_null(sm_test_out_find(":c2s='2'", "<body>2</body>", NULL));
	o = sm_test_out_find("jc:node='n2'", "<body>2</body>", NULL);
	assert_non_null(o);
	assert_true(strstr(o, "jc:targets='bob@example.org/two bob@example.org/three'") != NULL ||
		    strstr(o, "jc:targets='bob@example.org/three bob@example.org/two'") != NULL);
	assert_non_null(sm_test_out_find("jc:node='n3'", "jc:targets='bob@example.org/four'",
					 "<body>2</body>", NULL));
	/* Headlines go to every non-negative available session. */
	cl_stub(sm, "update", "bob@example.org/three", "n2", -1, 1);
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<message to='bob@example.org' type='headline'><body>h</body>"
			  "</message>");
	assert_nout(3);
	assert_non_null(sm_test_out_find("jc:node='n2'", "jc:targets='bob@example.org/two'", NULL));
	/* Nothing available with a non-negative priority anywhere: offline. */
	sm_test_from_sess(sm, "2", b, "<presence type='unavailable'/>");
	cl_stub(sm, "update", "bob@example.org/two", "n2", 0, 0);
	cl_stub(sm, "update", "bob@example.org/four", "n3", -5, 1);
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<message to='bob@example.org'><body>3</body></message>");
	assert_nout(0);
	assert_int_equal(count(sm, "queue", "bob@example.org"), 1);
	/* One available remote session is enough to keep it out of storage. */
	cl_stub(sm, "update", "bob@example.org/four", "n3", 0, 1);
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<message to='bob@example.org'><body>4</body></message>");
	assert_non_null(sm_test_out_find("jc:node='n3'", "<body>4</body>", NULL));
	assert_int_equal(count(sm, "queue", "bob@example.org"), 1);
}

/* Rule 1's line form (after <sync lines='1'/>): <set node=N> lines
 * "PRIORITY AVAILABLE STARTED JID" add or update, <del node=N reason=R>
 * lines "JID" remove, in order, mixed with <s/> in one route; what the
 * user notices is where a message goes. A route with one bad line is
 * refused whole. */
static void test_cluster_remote_lines(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;
	static const char *const bad[] = {
		"<set node='n2'>5 1 1796000000000 bob@example.org/x</set>",   /* no \n */
		"<set node='n2'>128 1 1796000000000 bob@example.org/x\n</set>",
		"<set node='n2'>-129 1 1796000000000 bob@example.org/x\n</set>",
		"<set node='n2'>5 2 1796000000000 bob@example.org/x\n</set>",
		"<set node='n2'>5 1 18446744073709551616 bob@example.org/x\n</set>",
		"<set node='n2'>5 1 17x bob@example.org/x\n</set>",
		"<set node='n2'>+5 1 1796000000000 bob@example.org/x\n</set>",
		"<set node='n2'>5  1 1796000000000 bob@example.org/x\n</set>",
		"<set node='n2'>5 1 1796000000000 bob@example.org\n</set>",   /* bare */
		"<set node='n2'>5 1 1796000000000 bob@elsewhere.org/x\n</set>",
		"<set node='n2'>5 1 1796000000000 \n</set>",
		"<set node='n2'>\n</set>",
		"<set node='n2'></set>",
		"<set>5 1 1796000000000 bob@example.org/x\n</set>",
		"<set node='n 2'>5 1 1796000000000 bob@example.org/x\n</set>",
		"<set node='n2'>5 1 1796000000000 bob@example.org/x\n<s/></set>",
		"<del node='n2'>bob@example.org/one\n</del>",
		"<del node='n2' reason='gone'>bob@example.org/one\n</del>",
	};
	struct jid *fresh = jid_new("bob@example.org/new", 19, NULL);
	const char *a, *o;
	struct buf big = { 0 };
	size_t i;

	cl_synced(sm);
	a = sm_test_login(sm, "ann@example.org", "desk", "1");
	sm_test_sess_req(sm, "create", "9", NULL, "bob@example.org");
	cl_feed(sm, "<remote xmlns='" CL_NS "'><set node='n2'>5 1 1796000000000 "
		"bob@example.org/one\n-3 1 1796000000001 bob@example.org/two\n</set>"
		"<s action='add' jid='bob@example.org/three' node='n3' priority='2' "
		"available='1' started='1796000000002'/><set node='n3'>"
		"7 0 1796000000003 bob@example.org/four\n</set></remote>");
	assert_int_equal(sm_remote_count(sm), 4);
	/* The highest available non-negative priority: /one on n2 (/four's
	 * 7 is unavailable). */
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<message to='bob@example.org' type='chat'><body>1</body>"
			  "</message>");
	o = sm_test_out_find("jc:node='n2'", "jc:targets='bob@example.org/one'", "<body>1</body>",
			     NULL);
	if (o == NULL)
		sm_test_out_dump();
	assert_non_null(o);
	assert_null(strstr(o, "<received"));
	/* /one goes, /four becomes available: n3 now. */
	cl_feed(sm, "<remote xmlns='" CL_NS "'><del node='n2' reason='end'>bob@example.org/one\n"
		"</del><set node='n3'>7 1 1796000000003 bob@example.org/four\n</set></remote>");
	assert_int_equal(sm_remote_count(sm), 3);
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<message to='bob@example.org' type='chat'><body>2</body>"
			  "</message>");
	assert_non_null(sm_test_out_find("jc:node='n3'", "jc:targets='bob@example.org/four'",
					 "<body>2</body>", NULL));
	assert_null(sm_test_out_find("bob@example.org/one", NULL));
	/* Each bad route is refused whole: its first, good, line is not
	 * taken either. */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		buf_reset(&big);
		buf_printf(&big, "<remote xmlns='" CL_NS "'><set node='n2'>1 1 1 "
			   "bob@example.org/new\n</set>%s</remote>", bad[i]);
		cl_feed(sm, big.data);
		if (sm_remote_count(sm) != 3)
			print_message("taken: %s\n", bad[i]);
		assert_int_equal(sm_remote_count(sm), 3);
		assert_null(sm_remote_get(sm, fresh, NULL));
	}
	/* At most SM_CLUSTER_REMOTE_MAX sessions a route, lines or not. */
	buf_reset(&big);
	buf_append_str(&big, "<remote xmlns='" CL_NS "'><set node='n2'>");
	for (i = 0; i <= SM_CLUSTER_REMOTE_MAX; i++)
		buf_printf(&big, "0 1 1 u%zu@example.org/r\n", i);
	buf_append_str(&big, "</set></remote>");
	cl_feed(sm, big.data);
	assert_int_equal(sm_remote_count(sm), 3);
	/* SM_CLUSTER_REMOTE_MAX is fine, with a JID whose resource has a
	 * space and an escaped character. */
	buf_reset(&big);
	buf_append_str(&big, "<remote xmlns='" CL_NS "'><set node='n2'>");
	for (i = 0; i < SM_CLUSTER_REMOTE_MAX - 1; i++)
		buf_printf(&big, "0 1 1 u%zu@example.org/r\n", i);
	buf_append_str(&big, "4 1 1 bob@example.org/a &amp; b\n</set></remote>");
	cl_feed(sm, big.data);
	assert_int_equal(sm_remote_count(sm), 3 + SM_CLUSTER_REMOTE_MAX);
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<message to='bob@example.org/a &amp; b'><body>3</body>"
			  "</message>");
	assert_non_null(sm_test_out_find("jc:node='n2'", "<body>3</body>", NULL));
	buf_free(&big);
	jid_free(&fresh);
}

/* The stub table under churn: 3,000 bare JIDs (two sessions each for
 * every third), a pseudo-random two thirds removed, more added: each
 * remaining session is found, each removed one is not (the table's
 * removal moves other entries; a lost one would be a session the sm
 * stops delivering to). */
static void test_cluster_stub_table(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;
	enum { N = 3000 };
	static char gone[N];
	struct buf b = { 0 };
	char full[64];
	size_t want = 0;
	int i, k;

	cl_synced(sm);
	memset(gone, 0, sizeof(gone));
	for (int pass = 0; pass < 3; pass++) {
		/* pass 0: add all; 1: remove about two thirds; 2: add back a
		 * third of those */
		for (i = 0; i < N;) {
			buf_reset(&b);
			buf_printf(&b, "<remote xmlns='" CL_NS "'><%s node='n2'%s>",
				   pass == 1 ? "del" : "set", pass == 1 ? " reason='end'" : "");
			for (k = 0; i < N && k < SM_CLUSTER_REMOTE_MAX - 1; i++) {
				unsigned h = (unsigned)i * 2654435761u >> 7;

				if (pass == 1 && h % 3 == 0)
					continue;
				if (pass == 2 && (!gone[i] || h % 5 != 0))
					continue;
				if (pass == 1)
					gone[i] = 1;
				if (pass == 2)
					gone[i] = 0;
				buf_printf(&b, "%s%su%d@example.org/a\n", pass == 1 ? "" : "0 1 ",
					   pass == 1 ? "" : "1 ", i);
				k++;
				if (i % 3 == 0 && pass != 1) {
					buf_printf(&b, "%su%d@example.org/b\n", "0 1 1 ", i);
					k++;
				}
			}
			buf_printf(&b, "</%s></remote>", pass == 1 ? "del" : "set");
			if (k > 0)
				cl_feed(sm, b.data);
		}
	}
	for (i = 0; i < N; i++) {
		struct jid *j;

		snprintf(full, sizeof(full), "u%d@example.org/a", i);
		j = jid_new(full, strlen(full), NULL);
		if ((sm_remote_get(sm, j, NULL) == NULL) != gone[i])
			print_message("%s: %s\n", full, gone[i] ? "still there" : "lost");
		assert_true((sm_remote_get(sm, j, NULL) == NULL) == gone[i]);
		want += !gone[i];
		jid_free(&j);
		snprintf(full, sizeof(full), "u%d@example.org/b", i);
		j = jid_new(full, strlen(full), NULL);
		assert_true((sm_remote_get(sm, j, NULL) != NULL) == (i % 3 == 0));
		want += i % 3 == 0;
		jid_free(&j);
	}
	assert_int_equal(sm_remote_count(sm), want);
	buf_free(&b);
}

/* Seed patch 2 and rule 2: the sm asks for the table; until the module
 * says synced, a stanza for a user with no available session known
 * anywhere is held, neither stored nor bounced; then the complete view decides. An
 * iq to the bare JID is answered at once. After SM_CLUSTER_HOLD_SECS
 * without synced the sm proceeds as if synced. */
static void test_cluster_hold_until_synced(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;
	const char *a = sm_test_login(sm, "ann@example.org", "desk", "1");
	int i;

	sm_test_sess_req(sm, "create", "9", NULL, "bob@example.org");
	sm_test_out_clear();
	sm_cluster_sync(sm);
	assert_non_null(sm_test_out_find("to='example.org'", "from='sm-n1'",
					 "<sync xmlns='" CL_NS "' lines='1'/>", NULL));
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<message to='bob@example.org'><body>held</body></message>");
	/* A session known but unavailable is no reason to decide yet. */
	cl_stub(sm, "add", "bob@example.org/idle", "n3", 0, 0);
	sm_test_from_sess(sm, "1", a, "<message to='bob@example.org/x' type='chat'><body>held2</body>"
			  "</message>");
	assert_nout(0);
	assert_int_equal(count(sm, "queue", "bob@example.org"), 0);
	assert_int_equal(sm_cluster_held(sm), 2);
	/* The full JID it names is known: delivered at once. */
	sm_test_from_sess(sm, "1", a, "<message to='bob@example.org/idle'><body>now</body></message>");
	assert_non_null(sm_test_out_find("jc:node='n3'", "<body>now</body>", NULL));
	sm_test_out_clear();
	/* The sm's own answer for a bare JID is not held. */
	sm_test_from_sess(sm, "1", a, "<iq to='bob@example.org' type='get' id='vc'>"
			  "<vCard xmlns='vcard-temp'/></iq>");
	assert_non_null(sm_test_out_find("id='vc'", "type='result'", NULL));
	sm_test_out_clear();
	/* The view: reset, bob on n2, synced: the held messages go there. */
	cl_feed(sm, "<remote xmlns='" CL_NS "' reset='1'/>");
	cl_stub(sm, "add", "bob@example.org/x", "n2", 0, 1);
	assert_nout(0);
	cl_synced(sm);
	assert_int_equal(sm_cluster_held(sm), 0);
	assert_non_null(sm_test_out_find("jc:node='n2'", "jc:targets='bob@example.org/x'",
					 "<body>held</body>", NULL));
	assert_non_null(sm_test_out_find("jc:node='n2'", "<body>held2</body>", NULL));
	assert_int_equal(count(sm, "queue", "bob@example.org"), 0);
	/* Asked again (the router link came back): the reset drops the
	 * stubs; with no answer in time, the held message is stored. */
	sm_cluster_sync(sm);
	cl_feed(sm, "<remote xmlns='" CL_NS "' reset='1'/>");
	assert_int_equal(sm_remote_count(sm), 0);
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<message to='bob@example.org'><body>late</body></message>");
	assert_int_equal(sm_cluster_held(sm), 1);
	sm_cluster_tick(sm, time(NULL) + 1);
	assert_int_equal(sm_cluster_held(sm), 1);
	sm_cluster_tick(sm, time(NULL) + SM_CLUSTER_HOLD_SECS + 1);
	assert_int_equal(sm_cluster_held(sm), 0);
	assert_true(sm_cluster_synced(sm));
	assert_int_equal(count(sm, "queue", "bob@example.org"), 1);
	/* At most SM_CLUSTER_HOLD_MAX held: one more and it proceeds. */
	sm_cluster_sync(sm);
	sm_test_out_clear();
	for (i = 0; i < SM_CLUSTER_HOLD_MAX; i++)
		sm_test_feed(sm, "<route xmlns='" COMP "' to='example.org' from='s2s'><presence "
			     "xmlns='jabber:client' from='zed@far.example/r' to='bob@example.org'>"
			     "<status>%d</status></presence></route>", i);
	assert_int_equal(sm_cluster_held(sm), SM_CLUSTER_HOLD_MAX);
	assert_false(sm_cluster_synced(sm));
	sm_test_feed(sm, "<route xmlns='" COMP "' to='example.org' from='s2s'><presence "
		     "xmlns='jabber:client' from='zed@far.example/r' to='bob@example.org'/></route>");
	assert_int_equal(sm_cluster_held(sm), 0);
	assert_true(sm_cluster_synced(sm));
	assert_nout(0);
	/* At shutdown the held are decided with what is known. */
	sm_cluster_sync(sm);
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<message to='bob@example.org'><body>bye</body></message>");
	assert_int_equal(sm_cluster_held(sm), 1);
	sm_cluster_proceed(sm, "shutting down");
	assert_int_equal(sm_cluster_held(sm), 0);
	assert_int_equal(count(sm, "queue", "bob@example.org"), 2);
}

/* The sender's presence reaches its contacts' sessions on other nodes as
 * one route per node naming them all, without `to`; its own sessions
 * elsewhere too. */
static void test_cluster_presence_fan_out(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;
	const char *a, *o;

	cl_synced(sm);
	a = sm_test_login(sm, "ann@example.org", "desk", "1");
	sm_test_sess_req(sm, "create", "9", NULL, "bob@example.org");
	sm_test_sess_req(sm, "create", "9", NULL, "carl@example.org");
	sm_test_sess_req(sm, "create", "9", NULL, "dan@example.org");
	befriend(sm, "1", a, "bob@example.org");
	befriend(sm, "1", a, "carl@example.org");
	befriend(sm, "1", a, "dan@example.org");
	cl_stub(sm, "add", "bob@example.org/x", "n2", 0, 1);
	cl_stub(sm, "add", "carl@example.org/y", "n2", 0, 1);
	cl_stub(sm, "add", "carl@example.org/off", "n2", 0, 0);
	cl_stub(sm, "add", "dan@example.org/z", "n3", 0, 1);
	cl_stub(sm, "add", "ann@example.org/phone", "n3", 0, 1);
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<presence><show>away</show></presence>");
	/* (n3 also gets the probe of ann's new session for its sibling
	 * "phone", and a roster push: see test_cluster_forwarded_in.) */
	assert_int_equal(out_count("jc:node='n2'", "<show>away</show>"), 1);
	assert_int_equal(out_count("jc:node='n3'", "<show>away</show>"), 1);
	assert_int_equal(out_count("jc:node='n2'", NULL), 1);
	assert_non_null(sm_test_out_find("jc:node='n3'", "jc:targets='ann@example.org/phone'",
					 "type='probe'", "from='ann@example.org/desk'", NULL));
	o = sm_test_out_find("jc:node='n2'", NULL);
	assert_non_null(o);
	assert_true(strstr(o, "jc:targets='bob@example.org/x carl@example.org/y'") != NULL ||
		    strstr(o, "jc:targets='carl@example.org/y bob@example.org/x'") != NULL);
	assert_non_null(strstr(o, "from='ann@example.org/desk'"));
	assert_non_null(strstr(o, "<show>away</show>"));
	assert_false(payload_has_to(o));
	o = sm_test_out_find("jc:node='n3'", "<show>away</show>", NULL);
	assert_true(strstr(o, "jc:targets='dan@example.org/z ann@example.org/phone'") != NULL ||
		    strstr(o, "jc:targets='ann@example.org/phone dan@example.org/z'") != NULL);
	/* A probe for ann from a contact, all of whose... ann's own remote
	 * session answers through its sm: the probe goes to n3. */
	sm_test_out_clear();
	sm_test_feed(sm, "<route xmlns='" COMP "' to='example.org' from='c2s'><presence "
		     "xmlns='jabber:client' type='probe' from='dan@example.org/z' "
		     "to='ann@example.org'/></route>");
	assert_non_null(sm_test_out_find("jc:node='n3'", "jc:targets='ann@example.org/phone'",
					 "type='probe'", "from='dan@example.org/z'", NULL));
	/* ann grants a subscription: her session on n3 answers a probe on
	 * the contact's behalf; she revokes it: the contact hears "phone"
	 * go unavailable too. */
	sm_test_feed(sm, "<route xmlns='" COMP "' to='example.org' from='s2s'><presence "
		     "xmlns='jabber:client' type='subscribe' from='zed@far.example' "
		     "to='ann@example.org'/></route>");
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<presence to='zed@far.example' type='subscribed'/>");
	assert_non_null(sm_test_out_find("jc:node='n3'", "jc:targets='ann@example.org/phone'",
					 "type='probe'", "from='zed@far.example'",
					 "to='ann@example.org'", NULL));
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<presence to='zed@far.example' type='unsubscribed'/>");
	assert_non_null(sm_test_out_find("to='far.example'", "type='unavailable'",
					 "from='ann@example.org/phone'", "to='zed@far.example'", NULL));
}

/* One full JID briefly on two nodes (rule 5): whatever order the older
 * session's removal and the newer one's add arrive in, the stub is the
 * newer session's and stanzas for the full JID go to its node. */
static void test_cluster_same_full_jid_two_nodes(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;
	const char *a;
	int order;

	cl_synced(sm);
	a = sm_test_login(sm, "ann@example.org", "desk", "1");
	sm_test_sess_req(sm, "create", "9", NULL, "bob@example.org");
	for (order = 0; order < 2; order++) {
		sm_test_feed(sm, "<route xmlns='" COMP "' to='sm-n1' from='example.org'>"
			     "<remote xmlns='" CL_NS "'><s action='add' jid='bob@example.org/x' "
			     "node='n2' priority='0' available='1' started='1000'/></remote></route>");
		/* the newer on n3; n2's updates and removal come after it */
		sm_test_feed(sm, "<route xmlns='" COMP "' to='sm-n1' from='example.org'>"
			     "<remote xmlns='" CL_NS "'><s action='add' jid='bob@example.org/x' "
			     "node='n3' priority='0' available='1' started='2000'/></remote></route>");
		if (order == 1)
			sm_test_feed(sm, "<route xmlns='" COMP "' to='sm-n1' from='example.org'>"
				     "<remote xmlns='" CL_NS "'><s action='update' "
				     "jid='bob@example.org/x' node='n2' priority='0' available='0' "
				     "started='1000'/></remote></route>");
		cl_remove(sm, "bob@example.org/x", "n2", "end");
		assert_int_equal(sm_remote_count(sm), 1);
		sm_test_out_clear();
		sm_test_from_sess(sm, "1", a, "<message to='bob@example.org/x'><body>hi</body>"
				  "</message>");
		assert_nout(1);
		assert_non_null(sm_test_out_find("jc:node='n3'", "jc:targets='bob@example.org/x'",
						 "<body>hi</body>", NULL));
		cl_remove(sm, "bob@example.org/x", "n3", "end");
		assert_int_equal(sm_remote_count(sm), 0);
	}
}

/* Index of the first captured output containing s and t, or -1. */
static int out_index(const char *s, const char *t)
{
	int i;

	for (i = 0; i < sm_test_nout; i++)
		if (strstr(sm_test_out[i], s) != NULL && strstr(sm_test_out[i], t) != NULL)
			return i;
	return -1;
}

/* A session's initial presence: the module hears "available" before the
 * probes and the broadcast go to other nodes, so a contact's node that
 * answers the probe to ann's bare JID already knows ann's session is
 * available (else the answer finds no available session and is lost). */
static void test_cluster_available_before_probes(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;
	const char *a;
	int upd, fwd;

	cl_synced(sm);
	a = sm_test_login(sm, "ann@example.org", "desk", "1");
	sm_test_sess_req(sm, "create", "9", NULL, "bob@example.org");
	befriend(sm, "1", a, "bob@example.org");
	cl_stub(sm, "add", "bob@example.org/x", "n2", 0, 1);
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<presence/>");
	upd = out_index("action='update'", "available='1'");
	fwd = out_index("jc:node='n2'", "jc:targets='bob@example.org/x'");
	if (upd < 0 || fwd < 0 || upd > fwd)
		sm_test_out_dump();
	assert_true(upd >= 0 && fwd >= 0);
	assert_true(upd < fwd);
}

/* Rule 14: two contacts logging in at the same moment on two nodes. An
 * initial probe of a contact with no available session known on another
 * node also goes to every node ('*'); a receiving sm answers it only from
 * the sessions whose initial presence went out before the prober's stub
 * became available there (their broadcast did not reach it), once each. */
static void test_cluster_login_race(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;
	const char *probe = "<presence type='probe' from='bob@example.org/x' "
			    "to='ann@example.org'/>";
	const char *a, *p;

	cl_synced(sm);
	a = sm_test_login(sm, "ann@example.org", "desk", "1");
	sm_test_sess_req(sm, "create", "9", NULL, "bob@example.org");
	sm_test_sess_req(sm, "create", "9", NULL, "dan@example.org");
	befriend(sm, "1", a, "bob@example.org");
	befriend(sm, "1", a, "dan@example.org");
	cl_stub(sm, "add", "dan@example.org/z", "n3", 0, 1);
	/* Sending: bob has no session known elsewhere, dan has one on n3
	 * (the ordinary probe, to the router, is forwarded to it). */
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<presence/>");
	assert_int_equal(out_count("jc:node='*'", "type='probe'"), 1);
	assert_non_null(sm_test_out_find("jc:node='*'", "type='probe'", "to='bob@example.org'",
					 "from='ann@example.org/desk'", NULL));
	/* A later presence of the same session is not initial: no probes. */
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<presence><show>away</show></presence>");
	assert_int_equal(out_count("type='probe'", NULL), 0);

	/* Receiving: bob/x became available here after desk's initial
	 * presence: desk answers bob's broadcast probe, once. */
	cl_stub(sm, "add", "bob@example.org/x", "n2", 0, 1);
	p = sm_test_login(sm, "ann@example.org", "phone", "2");
	sm_test_from_sess(sm, "2", p, "<presence/>");  /* its broadcast reached bob/x */
	sm_test_out_clear();
	cl_in(sm, "jc:from-node='n2'", probe);
	assert_nout(1);
	assert_non_null(sm_test_out_find("from='ann@example.org/desk'", "to='bob@example.org/x'",
					 "<show>away</show>", NULL));
	/* Not from the node that holds bob/x, or not an available stub: nothing. */
	sm_test_out_clear();
	cl_in(sm, "jc:from-node='n3'", probe);
	cl_in(sm, "jc:from-node='n2'", "<presence type='probe' from='bob@example.org/y' "
	      "to='ann@example.org'/>");
	cl_stub(sm, "update", "bob@example.org/x", "n2", 0, 0);
	cl_in(sm, "jc:from-node='n2'", probe);
	assert_nout(0);
	/* bob/x available again (a new initial presence): after both. */
	cl_stub(sm, "update", "bob@example.org/x", "n2", 0, 1);
	cl_in(sm, "jc:from-node='n2'", probe);
	assert_nout(2);
	assert_non_null(sm_test_out_find("from='ann@example.org/phone'", "to='bob@example.org/x'",
					 NULL));
	/* Not a probe, a full `to`, a bare `from`, or jc:hops: refused. */
	sm_test_out_clear();
	cl_in(sm, "jc:from-node='n2'", "<presence from='bob@example.org/x' "
	      "to='ann@example.org'/>");
	cl_in(sm, "jc:from-node='n2'", "<presence type='probe' from='bob@example.org/x' "
	      "to='ann@example.org/desk'/>");
	cl_in(sm, "jc:from-node='n2'", "<presence type='probe' from='bob@example.org' "
	      "to='ann@example.org'/>");
	cl_in(sm, "jc:from-node='n2' jc:hops='1'", probe);
	cl_in(sm, "jc:from-node='n2'", "<presence type='probe' from='bob@example.org/x' "
	      "to='zed@far.example'/>");
	assert_nout(0);
}

/* Rule 3: a forwarded stanza is delivered to each named local session;
 * one without `to` gets the target's; fallbacks for a session that
 * ended; carbons and roster pushes only to sessions that asked; probes
 * answered with the session's presence. */
static void test_cluster_forwarded_in(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;
	const char *b1, *b2;

	cl_synced(sm);
	sm_test_sess_req(sm, "create", "9", NULL, "ann@example.org");
	b1 = sm_test_login(sm, "bob@example.org", "home", "2");
	b2 = sm_test_login(sm, "bob@example.org", "work", "3");
	sm_test_from_sess(sm, "2", b1, "<presence><priority>1</priority></presence>");
	sm_test_from_sess(sm, "3", b2, "<presence><priority>0</priority></presence>");
	cl_stub(sm, "add", "ann@example.org/desk", "n2", 0, 1);
	cl_stub(sm, "add", "bob@example.org/far", "n2", 9, 1);
	sm_test_out_clear();
	/* A bare-JID message chosen for "home" keeps its bare `to`. */
	cl_in(sm, "jc:from-node='n2' jc:targets='bob@example.org/home'",
	      "<message from='ann@example.org/desk' to='bob@example.org' type='chat'>"
	      "<body>m</body></message>");
	assert_nout(1);
	assert_non_null(sm_test_out_find(":c2s='2'", "to='bob@example.org'", "<body>m</body>", NULL));
	sm_test_out_clear();
	/* Marked (direct delivery's order): the sm says it took it, after
	 * what it delivered for it. */
	cl_in(sm, "jc:from-node='n2' jc:targets='bob@example.org/home' jc:mark='17'",
	      "<presence from='ann@example.org/desk'><show>away</show></presence>");
	assert_nout(2);
	assert_non_null(strstr(sm_test_out[0], ":c2s='2'"));
	assert_non_null(strstr(sm_test_out[1], "<done xmlns='urn:jabberd-cluster:session' "
			       "mark='17'/>"));
	assert_non_null(strstr(sm_test_out[1], "to='example.org'"));
	sm_test_out_clear();
	cl_in(sm, "jc:from-node='n2' jc:targets='bob@example.org/home' jc:mark='x1'",
	      "<presence from='ann@example.org/desk'><show>xa</show></presence>");
	assert_nout(1);         /* a bad mark: delivered, not answered */
	sm_test_out_clear();
	/* Presence fan-out: each target gets `to` = itself. */
	cl_in(sm, "jc:from-node='n2' jc:targets='bob@example.org/home bob@example.org/work'",
	      "<presence from='ann@example.org/desk'><show>dnd</show></presence>");
	assert_nout(2);
	assert_non_null(sm_test_out_find(":c2s='2'", "to='bob@example.org/home'", "dnd", NULL));
	assert_non_null(sm_test_out_find(":c2s='3'", "to='bob@example.org/work'", "dnd", NULL));
	sm_test_out_clear();
	/* The target ended meanwhile: a message goes by the rules over the
	 * local sessions and other nodes' (never back to n2, though its
	 * priority-9 session would win): "home". */
	cl_in(sm, "jc:from-node='n2' jc:targets='bob@example.org/gone'",
	      "<message from='ann@example.org/desk' to='bob@example.org/gone'><body>g</body>"
	      "</message>");
	assert_nout(1);
	assert_non_null(sm_test_out_find(":c2s='2'", "<body>g</body>", NULL));
	sm_test_out_clear();
	/* A third node's session with the top priority: forwarded there,
	 * once more, still not back to n2. */
	cl_stub(sm, "add", "bob@example.org/third", "n3", 10, 1);
	cl_in(sm, "jc:from-node='n2' jc:targets='bob@example.org/gone'",
	      "<message from='ann@example.org/desk' to='bob@example.org/gone'><body>g3</body>"
	      "</message>");
	assert_nout(1);
	assert_non_null(sm_test_out_find("jc:node='n3'", "jc:targets='bob@example.org/third'",
					 "<body>g3</body>", NULL));
	cl_remove(sm, "bob@example.org/third", "n3", "end");
	sm_test_out_clear();
	/* An iq: service-unavailable to the sender (on n2); presence: dropped. */
	cl_in(sm, "jc:from-node='n2' jc:targets='bob@example.org/gone'",
	      "<iq from='ann@example.org/desk' to='bob@example.org/gone' type='get' id='q'>"
	      "<query xmlns='jabber:iq:version'/></iq>");
	assert_nout(1);
	assert_non_null(sm_test_out_find("jc:node='n2'", "jc:targets='ann@example.org/desk'",
					 "type='error'", "service-unavailable", "id='q'", NULL));
	sm_test_out_clear();
	cl_in(sm, "jc:from-node='n2' jc:targets='bob@example.org/gone'",
	      "<presence from='ann@example.org/desk' to='bob@example.org/gone'/>");
	assert_nout(0);
	/* A carbon for a session without carbons is dropped; with, kept. */
	cl_in(sm, "jc:from-node='n2' jc:targets='bob@example.org/home'",
	      "<message from='bob@example.org' type='chat'><received xmlns='urn:xmpp:carbons:2'>"
	      "<forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' "
	      "from='ann@example.org/desk' to='bob@example.org/far' type='chat'><body>c</body>"
	      "</message></forwarded></received></message>");
	assert_nout(0);
	sm_test_from_sess(sm, "2", b1, "<iq type='set' id='ce'><enable xmlns='urn:xmpp:carbons:2'/>"
			  "</iq>");
	sm_test_out_clear();
	cl_in(sm, "jc:from-node='n2' jc:targets='bob@example.org/home'",
	      "<message from='bob@example.org' type='chat'><received xmlns='urn:xmpp:carbons:2'>"
	      "<forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' "
	      "from='ann@example.org/desk' to='bob@example.org/far' type='chat'><body>c</body>"
	      "</message></forwarded></received></message>");
	assert_non_null(sm_test_out_find(":c2s='2'", "to='bob@example.org/home'", "<received", NULL));
	sm_test_out_clear();
	/* A roster push reaches only a session that fetched the roster. */
	cl_in(sm, "jc:from-node='n2' jc:targets='bob@example.org/home'",
	      "<iq from='bob@example.org' type='set' id='p1'><query xmlns='jabber:iq:roster'>"
	      "<item jid='x@example.org' subscription='none'/></query></iq>");
	assert_nout(0);
	sm_test_from_sess(sm, "2", b1, "<iq type='get' id='r'><query xmlns='jabber:iq:roster'/></iq>");
	sm_test_out_clear();
	cl_in(sm, "jc:from-node='n2' jc:targets='bob@example.org/home'",
	      "<iq from='bob@example.org' type='set' id='p2'><query xmlns='jabber:iq:roster'>"
	      "<item jid='x@example.org' subscription='none'/></query></iq>");
	assert_non_null(sm_test_out_find(":c2s='2'", "id='p2'", "to='bob@example.org/home'", NULL));
	sm_test_out_clear();
	/* A probe from the user's own session on n2 (its new login asks its
	 * siblings): answered with "home"'s presence, back to n2. */
	cl_in(sm, "jc:from-node='n2' jc:targets='bob@example.org/home'",
	      "<presence type='probe' from='bob@example.org/far' to='bob@example.org'/>");
	assert_nout(1);
	assert_non_null(sm_test_out_find("jc:node='n2'", "jc:targets='bob@example.org/far'",
					 "from='bob@example.org/home'", "<priority>1</priority>",
					 NULL));
}

/* Rule 4: what the module could not deliver is handled as for a session
 * that no longer exists, without the node it was meant for. */
static void test_cluster_undelivered(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;
	const char *a, *b;

	cl_synced(sm);
	a = sm_test_login(sm, "ann@example.org", "desk", "1");
	b = sm_test_login(sm, "bob@example.org", "home", "2");
	sm_test_from_sess(sm, "2", b, "<presence><priority>1</priority></presence>");
	cl_stub(sm, "add", "bob@example.org/two", "n2", 5, 1);
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<message to='bob@example.org' id='u1'><body>u</body></message>");
	assert_nout(1);
	assert_non_null(sm_test_out_find("jc:node='n2'", "<body>u</body>", NULL));
	sm_test_out_clear();
	cl_in(sm, "jc:undelivered='node-dead' jc:node='n2' jc:targets='bob@example.org/two'",
	      "<message from='ann@example.org/desk' to='bob@example.org' id='u1'><body>u</body>"
	      "</message>");
	assert_nout(1);
	assert_non_null(sm_test_out_find(":c2s='2'", "<body>u</body>", NULL));
	sm_test_out_clear();
	/* No other session anywhere: offline storage. */
	sm_test_sess_req(sm, "end", "2", b, NULL);
	sm_test_out_clear();
	cl_in(sm, "jc:undelivered='queue-full' jc:node='n2' jc:targets='bob@example.org/two'",
	      "<message from='ann@example.org/desk' to='bob@example.org/two'><body>s</body>"
	      "</message>");
	assert_nout(0);
	assert_int_equal(count(sm, "queue", "bob@example.org"), 1);
	/* An iq set: service-unavailable to its sender; presence: dropped. */
	cl_in(sm, "jc:undelivered='no-such-node' jc:node='n2' jc:targets='bob@example.org/two'",
	      "<iq from='ann@example.org/desk' to='bob@example.org/two' type='set' id='is'>"
	      "<query xmlns='jabber:iq:private'/></iq>");
	assert_non_null(sm_test_out_find(":c2s='1'", "id='is'", "type='error'",
					 "service-unavailable", NULL));
	sm_test_out_clear();
	cl_in(sm, "jc:undelivered='too-big' jc:node='n2' jc:targets='bob@example.org/two'",
	      "<presence from='ann@example.org/desk'/>");
	assert_nout(0);
}

/* Rule 7, jc:also: a message to a bare JID that went to bob's session
 * here and to his session on n2 names the other in each route; when n2's
 * copy comes back undelivered, the session here, which had its copy, does
 * not get a second; once that session is gone, the fallback applies. */
static void test_cluster_undelivered_also(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;
	const char *a, *b;

	cl_synced(sm);
	a = sm_test_login(sm, "ann@example.org", "desk", "1");
	b = sm_test_login(sm, "bob@example.org", "home", "2");
	sm_test_from_sess(sm, "2", b, "<presence><priority>5</priority></presence>");
	cl_stub(sm, "add", "bob@example.org/two", "n2", 5, 1);
	cl_stub(sm, "add", "bob@example.org/three", "n3", 5, 1);
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<message to='bob@example.org' id='v1'><body>v</body></message>");
	assert_nout(3);
	assert_non_null(sm_test_out_find(":c2s='2'", "<body>v</body>", NULL));
	assert_non_null(sm_test_out_find("jc:node='n2'", "jc:also='bob@example.org/home "
					 "bob@example.org/three'", "<body>v</body>", NULL));
	assert_non_null(sm_test_out_find("jc:node='n3'", "jc:also='bob@example.org/home "
					 "bob@example.org/two'", "<body>v</body>", NULL));
	sm_test_out_clear();
	/* n2's copy back: bob/home had it. */
	cl_in(sm, "jc:undelivered='node-dead' jc:node='n2' jc:targets='bob@example.org/two' "
	      "jc:also='bob@example.org/home bob@example.org/three'",
	      "<message from='ann@example.org/desk' to='bob@example.org' id='v1'><body>v</body>"
	      "</message>");
	assert_nout(0);
	/* Only bob/three (n3) is left of the others: it had it too. */
	sm_test_sess_req(sm, "end", "2", b, NULL);
	sm_test_out_clear();
	cl_in(sm, "jc:undelivered='node-dead' jc:node='n2' jc:targets='bob@example.org/two' "
	      "jc:also='bob@example.org/home bob@example.org/three'",
	      "<message from='ann@example.org/desk' to='bob@example.org' id='v1'><body>v</body>"
	      "</message>");
	assert_nout(0);
	/* n3's copy back too, nobody of the others left but n2's (the failed
	 * node's, not counted): it goes to bob's other session (n2 now has
	 * none; here none): offline storage. */
	cl_remove(sm, "bob@example.org/two", "n2", "node-dead");
	sm_test_out_clear();
	cl_in(sm, "jc:undelivered='node-dead' jc:node='n3' jc:targets='bob@example.org/three' "
	      "jc:also='bob@example.org/home bob@example.org/two'",
	      "<message from='ann@example.org/desk' to='bob@example.org' id='v1'><body>v</body>"
	      "</message>");
	assert_int_equal(count(sm, "queue", "bob@example.org"), 1);
	/* jc:also naming someone else's session counts for nothing. */
	b = sm_test_login(sm, "cy@example.org", "desk", "3");
	sm_test_from_sess(sm, "3", b, "<presence/>");
	sm_test_out_clear();
	cl_in(sm, "jc:undelivered='node-dead' jc:node='n3' jc:targets='bob@example.org/three' "
	      "jc:also='cy@example.org/desk'",
	      "<message from='ann@example.org/desk' to='bob@example.org' id='v2'><body>w</body>"
	      "</message>");
	assert_int_equal(count(sm, "queue", "bob@example.org"), 2);
}

/* user->remote (the user's stubs, no lookup per stanza) follows the
 * table: stubs that came before the user was loaded, the head of the list
 * removed and added while it is loaded, a reset. */
static void test_cluster_user_remote_follows_table(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;
	const char *a;

	cl_synced(sm);
	sm_test_sess_req(sm, "create", "9", NULL, "eve@example.org");
	cl_stub(sm, "add", "eve@example.org/one", "n2", 1, 1);
	cl_stub(sm, "add", "eve@example.org/two", "n3", 3, 1);
	a = sm_test_login(sm, "ann@example.org", "desk", "1");
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<message to='eve@example.org'><body>1</body></message>");
	assert_non_null(sm_test_out_find("jc:node='n3'", "<body>1</body>", NULL));
	/* The head goes (the last added: "two"), then comes back. */
	cl_remove(sm, "eve@example.org/two", "n3", "end");
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<message to='eve@example.org'><body>2</body></message>");
	assert_non_null(sm_test_out_find("jc:node='n2'", "<body>2</body>", NULL));
	cl_stub(sm, "add", "eve@example.org/two", "n3", 3, 1);
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<message to='eve@example.org'><body>3</body></message>");
	assert_non_null(sm_test_out_find("jc:node='n3'", "<body>3</body>", NULL));
	/* A reset drops every stub: offline storage, nothing forwarded. */
	cl_feed(sm, "<remote xmlns='" CL_NS "' reset='1'/>");
	cl_synced(sm);
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<message to='eve@example.org'><body>4</body></message>");
	assert_null(sm_test_out_find("jc:node", NULL));
	assert_int_equal(count(sm, "queue", "eve@example.org"), 1);
}

/* Rule 9: a stanza that arrived forwarded is forwarded at most once more,
 * with jc:hops='2'; one that made 2 hops, or whose second forward came
 * back undelivered, sees no other node's session: offline storage, or an error for an iq (whose
 * reply is a new stanza and goes back to its sender's node); a bad
 * jc:hops rejects the route. */
static void test_cluster_hop_limit(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;
	const char *a, *c;

	cl_synced(sm);
	a = sm_test_login(sm, "ann@example.org", "desk", "1");
	c = sm_test_login(sm, "cy@example.org", "home", "2");
	sm_test_sess_req(sm, "end", "2", c, NULL);
	cl_stub(sm, "add", "cy@example.org/far", "n3", 5, 1);
	cl_stub(sm, "add", "ann@example.org/x", "n2", 0, 1);
	sm_test_out_clear();
	/* From a local session: the first forward, no jc:hops. */
	sm_test_from_sess(sm, "1", a, "<message to='cy@example.org' id='h0'><body>h0</body></message>");
	assert_non_null(sm_test_out_find("jc:node='n3'", "<body>h0</body>", NULL));
	assert_null(sm_test_out_find("jc:hops", NULL));
	sm_test_out_clear();
	/* Arrived forwarded (1 hop) for a session gone here: once more, as
	 * hop 2. */
	cl_in(sm, "jc:from-node='n2' jc:targets='cy@example.org/gone'",
	      "<message from='ann@example.org/x' to='cy@example.org/gone'><body>h1</body></message>");
	assert_nout(1);
	assert_non_null(sm_test_out_find("jc:node='n3'", "jc:hops='2'", "<body>h1</body>", NULL));
	sm_test_out_clear();
	/* Arrived as hop 2: n3's session does not count; stored offline. */
	cl_in(sm, "jc:from-node='n2' jc:hops='2' jc:targets='cy@example.org/gone'",
	      "<message from='ann@example.org/x' to='cy@example.org/gone'><body>h2</body></message>");
	assert_nout(0);
	assert_int_equal(count(sm, "queue", "cy@example.org"), 1);
	/* Hop 2 came back undelivered (node-dead): no third try elsewhere. */
	cl_in(sm, "jc:undelivered='node-dead' jc:node='n4' jc:hops='2' "
	      "jc:targets='cy@example.org/four'",
	      "<message from='ann@example.org/x' to='cy@example.org'><body>h3</body></message>");
	assert_nout(0);
	assert_int_equal(count(sm, "queue", "cy@example.org"), 2);
	/* Refused by the module for its hops: the same (an iq: answered). */
	cl_in(sm, "jc:undelivered='hop-limit' jc:node='n3' jc:targets='cy@example.org/far'",
	      "<iq from='ann@example.org/x' to='cy@example.org/far' type='set' id='q1'>"
	      "<query xmlns='jabber:iq:private'/></iq>");
	assert_nout(1);
	assert_non_null(sm_test_out_find("jc:node='n2'", "id='q1'", "service-unavailable", NULL));
	sm_test_out_clear();
	/* An iq as hop 2: answered; the error goes back to ann/x's node as a
	 * new stanza. */
	cl_in(sm, "jc:from-node='n2' jc:hops='2' jc:targets='cy@example.org/gone'",
	      "<iq from='ann@example.org/x' to='cy@example.org/gone' type='get' id='q2'>"
	      "<query xmlns='jabber:iq:version'/></iq>");
	assert_nout(1);
	assert_non_null(sm_test_out_find("jc:node='n2'", "jc:targets='ann@example.org/x'",
					 "type='error'", "service-unavailable", "id='q2'", NULL));
	assert_null(sm_test_out_find("jc:hops", NULL));
	sm_test_out_clear();
	/* jc:hops out of range or not a number: the route is rejected. */
	cl_in(sm, "jc:from-node='n2' jc:hops='3' jc:targets='cy@example.org/gone'",
	      "<message from='ann@example.org/x' to='cy@example.org/gone'><body>h5</body></message>");
	cl_in(sm, "jc:from-node='n2' jc:hops='1x' jc:targets='cy@example.org/gone'",
	      "<message from='ann@example.org/x' to='cy@example.org/gone'><body>h6</body></message>");
	cl_in(sm, "jc:from-node='n2' jc:hops='' jc:targets='cy@example.org/gone'",
	      "<message from='ann@example.org/x' to='cy@example.org/gone'><body>h7</body></message>");
	assert_nout(0);
	assert_int_equal(count(sm, "queue", "cy@example.org"), 2);
}

/* Rule 1, node-dead: each local session that sees the user's presence
 * hears the dead node's session go unavailable, once; a normal end or a
 * replaced incarnation sends nothing (its own sm did, or will). */
static void test_cluster_node_dead(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;
	const char *a, *a2;

	cl_synced(sm);
	a = sm_test_login(sm, "ann@example.org", "desk", "1");
	a2 = sm_test_login(sm, "ann@example.org", "lap", "2");
	sm_test_sess_req(sm, "create", "9", NULL, "bob@example.org");
	sm_test_sess_req(sm, "create", "9", NULL, "carl@example.org");
	sm_test_sess_req(sm, "create", "9", NULL, "dan@example.org");
	befriend(sm, "1", a, "bob@example.org");
	sm_test_from_sess(sm, "1", a, "<presence/>");
	sm_test_from_sess(sm, "2", a2, "<presence/>");
	cl_stub(sm, "add", "bob@example.org/x", "n2", 0, 1);
	cl_stub(sm, "add", "bob@example.org/y", "n2", 0, 1);
	cl_stub(sm, "add", "carl@example.org/z", "n2", 0, 1);
	sm_test_out_clear();
	cl_remove(sm, "bob@example.org/x", "n2", "node-dead");
	assert_nout(2);
	assert_non_null(sm_test_out_find(":c2s='1'", "type='unavailable'",
					 "from='bob@example.org/x'", "to='ann@example.org/desk'",
					 NULL));
	assert_non_null(sm_test_out_find(":c2s='2'", "type='unavailable'",
					 "from='bob@example.org/x'", "to='ann@example.org/lap'", NULL));
	sm_test_out_clear();
	/* Said twice: once only. Not a contact (carl): nothing. Ended
	 * normally: nothing (its sm said it). */
	cl_remove(sm, "bob@example.org/x", "n2", "node-dead");
	cl_remove(sm, "carl@example.org/z", "n2", "node-dead");
	cl_remove(sm, "bob@example.org/y", "n2", "end");
	assert_nout(0);
	assert_int_equal(sm_remote_count(sm), 0);
	/* A whole node in one route (more dead users than ann has contacts):
	 * each of her sessions hears each of bob's sessions, and her own. */
	cl_stub(sm, "add", "bob@example.org/x", "n2", 0, 1);
	cl_stub(sm, "add", "bob@example.org/y", "n2", 0, 1);
	cl_stub(sm, "add", "bob@example.org/off", "n2", 0, 0);
	cl_stub(sm, "add", "carl@example.org/z", "n2", 0, 1);
	cl_stub(sm, "add", "dan@example.org/w", "n2", 0, 1);
	cl_stub(sm, "add", "ann@example.org/phone", "n2", 0, 1);
	sm_test_out_clear();
	cl_feed(sm, "<remote xmlns='" CL_NS "'>"
		"<s action='remove' jid='bob@example.org/x' node='n2' reason='node-dead'/>"
		"<s action='remove' jid='bob@example.org/y' node='n2' reason='node-dead'/>"
		"<s action='remove' jid='bob@example.org/off' node='n2' reason='node-dead'/>"
		"<s action='remove' jid='carl@example.org/z' node='n2' reason='node-dead'/>"
		"<s action='remove' jid='dan@example.org/w' node='n2' reason='node-dead'/>"
		"<s action='remove' jid='ann@example.org/phone' node='n2' reason='node-dead'/>"
		"</remote>");
	assert_nout(6);
	assert_int_equal(out_count("from='bob@example.org/x'", NULL), 2);
	assert_int_equal(out_count("from='bob@example.org/y'", NULL), 2);
	assert_int_equal(out_count("from='ann@example.org/phone'", NULL), 2);
	assert_int_equal(sm_remote_count(sm), 0);
}

/* Synced; ann/desk (c2s connection 1) logged in and available, bob her
 * mutual contact. Returns her sm session id. */
static const char *ann_sees_bob(struct sm *sm)
{
	const char *a;

	cl_synced(sm);
	a = sm_test_login(sm, "ann@example.org", "desk", "1");
	sm_test_sess_req(sm, "create", "9", NULL, "bob@example.org");
	befriend(sm, "1", a, "bob@example.org");
	sm_test_from_sess(sm, "1", a, "<presence/>");
	return a;
}

/* Rule 9 (issue 14, flap damping): while n2 is held down its users'
 * presence is not shown to ann (forwarded presence dropped, no unavailable
 * when n2 dies again), her own resource on n2 excepted; messages still
 * arrive. Released, ann probes bob on n2 only, and n2's presence is shown
 * again. A reset forgets the hold; a bad <hold/> changes nothing. */
static void test_cluster_hold_down(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;

	(void)ann_sees_bob(sm);
	cl_feed(sm, "<hold xmlns='" CL_NS "' node='n2' held='1'/>");
	cl_stub(sm, "add", "bob@example.org/x", "n2", 0, 1);
	cl_stub(sm, "add", "bob@example.org/y", "n3", 0, 1);
	cl_stub(sm, "add", "ann@example.org/phone", "n2", 0, 1);
	sm_test_out_clear();
	cl_in(sm, "jc:from-node='n2' jc:targets='ann@example.org/desk'",
	      "<presence from='bob@example.org/x'/>");
	cl_in(sm, "jc:from-node='n2' jc:targets='ann@example.org/desk'",
	      "<presence from='bob@example.org/x' type='unavailable'/>");
	assert_nout(0);
	/* not held: n3; her own resource; a message */
	cl_in(sm, "jc:from-node='n3' jc:targets='ann@example.org/desk'",
	      "<presence from='bob@example.org/y'/>");
	cl_in(sm, "jc:from-node='n2' jc:targets='ann@example.org/desk'",
	      "<presence from='ann@example.org/phone'/>");
	cl_in(sm, "jc:from-node='n2' jc:targets='ann@example.org/desk'",
	      "<message from='bob@example.org/x' type='chat'><body>held</body></message>");
	assert_nout(3);
	assert_non_null(sm_test_out_find(":c2s='1'", "from='bob@example.org/y'", NULL));
	assert_non_null(sm_test_out_find(":c2s='1'", "from='ann@example.org/phone'", NULL));
	assert_non_null(sm_test_out_find(":c2s='1'", "<body>held</body>", NULL));
	sm_test_out_clear();
	/* n2 dies again: bob/x was never shown; ann/phone is her own */
	cl_remove(sm, "bob@example.org/x", "n2", "node-dead");
	cl_remove(sm, "ann@example.org/phone", "n2", "node-dead");
	assert_nout(1);
	assert_non_null(sm_test_out_find("type='unavailable'", "from='ann@example.org/phone'",
					 NULL));
	sm_test_out_clear();
	/* back, still held; then released: one probe, to bob's n2 session */
	cl_stub(sm, "add", "bob@example.org/x", "n2", 0, 1);
	assert_nout(0);
	cl_feed(sm, "<hold xmlns='" CL_NS "' node='n2' held='0'/>");
	assert_nout(1);
	assert_non_null(sm_test_out_find("type='probe'", "jc:node='n2'",
					 "jc:targets='bob@example.org/x'", "from='ann@example.org'",
					 NULL));
	assert_null(sm_test_out_find("bob@example.org/y", NULL));
	sm_test_out_clear();
	cl_in(sm, "jc:from-node='n2' jc:targets='ann@example.org/desk'",
	      "<presence from='bob@example.org/x' to='ann@example.org'/>");
	assert_nout(1);
	/* released twice, or a bad hold: nothing */
	sm_test_out_clear();
	cl_feed(sm, "<hold xmlns='" CL_NS "' node='n2' held='0'/>");
	cl_feed(sm, "<hold xmlns='" CL_NS "' node='' held='1'/>");
	cl_feed(sm, "<hold xmlns='" CL_NS "' node='n2' held='yes'/>");
	cl_feed(sm, "<hold xmlns='" CL_NS "' held='1'/>");
	cl_in(sm, "jc:from-node='n2' jc:targets='ann@example.org/desk'",
	      "<presence from='bob@example.org/x'/>");
	assert_nout(1);
	/* a reset forgets holds (the module says them again) */
	cl_feed(sm, "<hold xmlns='" CL_NS "' node='n2' held='1'/>");
	cl_feed(sm, "<remote xmlns='" CL_NS "' reset='1'/>");
	cl_stub(sm, "add", "bob@example.org/x", "n2", 0, 1);
	sm_test_out_clear();
	cl_in(sm, "jc:from-node='n2' jc:targets='ann@example.org/desk'",
	      "<presence from='bob@example.org/x'/>");
	assert_nout(1);
}

/* Rules 12 and 13 (issue 14): <merged nodes=.../> makes each available
 * session probe its contacts' and its own user's available sessions on
 * those nodes only, and hands the user what waited offline; <revived/>
 * takes the queues too; a bad node list is refused whole. */
static void test_cluster_merge(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;
	const char *a, *o;

	cl_synced(sm);
	a = sm_test_login(sm, "ann@example.org", "desk", "1");
	sm_test_sess_req(sm, "create", "9", NULL, "bob@example.org");
	sm_test_sess_req(sm, "create", "9", NULL, "carl@example.org");
	befriend(sm, "1", a, "bob@example.org");
	sm_test_from_sess(sm, "1", a, "<presence/>");   /* takes what befriend left */
	assert_int_equal(count(sm, "queue", "ann@example.org"), 0);
	/* only a negative priority: a message to her bare JID waits offline */
	sm_test_from_sess(sm, "1", a, "<presence><priority>-1</priority></presence>");
	sm_test_feed(sm, "<route xmlns='" COMP "' to='example.org' from='c2s'><message "
		     "xmlns='jabber:client' from='carl@example.org/c' to='ann@example.org'>"
		     "<body>kept meanwhile</body></message></route>");
	assert_int_equal(count(sm, "queue", "ann@example.org"), 1);
	sm_test_from_sess(sm, "1", a, "<presence><priority>1</priority></presence>");
	assert_int_equal(count(sm, "queue", "ann@example.org"), 1);
	cl_stub(sm, "add", "bob@example.org/x", "n2", 0, 1);
	cl_stub(sm, "add", "bob@example.org/off", "n2", 0, 0);
	cl_stub(sm, "add", "bob@example.org/y", "n3", 0, 1);
	cl_stub(sm, "add", "carl@example.org/z", "n2", 0, 1);
	cl_stub(sm, "add", "ann@example.org/phone", "n2", 0, 1);
	sm_test_out_clear();
	cl_feed(sm, "<merged xmlns='" CL_NS "'/>");
	cl_feed(sm, "<merged xmlns='" CL_NS "' nodes='n2 bad*name'/>");
	assert_nout(0);
	assert_int_equal(count(sm, "queue", "ann@example.org"), 1);
	cl_feed(sm, "<merged xmlns='" CL_NS "' nodes='n2'/>");
	o = sm_test_out_find("jc:node='n2'", "type='probe'", "from='ann@example.org/desk'", NULL);
	assert_non_null(o);
	assert_non_null(strstr(o, "bob@example.org/x"));
	assert_non_null(strstr(o, "ann@example.org/phone"));
	assert_null(strstr(o, "bob@example.org/off"));
	assert_null(strstr(o, "carl@example.org"));     /* not a contact */
	assert_null(sm_test_out_find("jc:node='n3'", NULL));
	assert_non_null(sm_test_out_find(":c2s='1'", "kept meanwhile", NULL));
	assert_int_equal(count(sm, "queue", "ann@example.org"), 0);
	sm_test_out_clear();
	cl_feed(sm, "<revived xmlns='" CL_NS "'/>");
	assert_null(sm_test_out_find("kept meanwhile", NULL));  /* taken once */
}

/* A forwarded presence is believed only from the node holding the
 * newest session of its full JID (rule 5 across a partition's heal). */
static void test_cluster_stale_presence(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;

	(void)ann_sees_bob(sm);
	cl_stub(sm, "add", "bob@example.org/x", "n2", 0, 1);
	sm_test_out_clear();
	cl_in(sm, "jc:from-node='n3' jc:targets='ann@example.org/desk'",
	      "<presence from='bob@example.org/x' type='unavailable'/>");
	cl_in(sm, "jc:from-node='n2' jc:targets='bob@example.org/x'",
	      "<presence from='ann@example.org/desk' type='unavailable'/>");
	assert_nout(0);
	cl_in(sm, "jc:from-node='n2' jc:targets='ann@example.org/desk'",
	      "<presence from='bob@example.org/x' type='unavailable'/>");
	assert_non_null(sm_test_out_find(":c2s='1'", "type='unavailable'",
					 "from='bob@example.org/x'", NULL));
}

/* Rule 5: a newer session with this full JID elsewhere ends ours, as a
 * replaced resource (the c2s closes the stream with conflict). */
static void test_cluster_conflict(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;
	const char *a;
	char payload[256];

	cl_synced(sm);
	a = sm_test_login(sm, "ann@example.org", "desk", "1");
	/* Not this session's id: nothing ends. */
	cl_feed(sm, "<conflict xmlns='" CL_NS "' jid='ann@example.org/desk' "
		"sm='0000000000000000000000000000000000000000'/>");
	assert_int_equal(xhash_count(sm->sessions), 1);
	/* Only from the module. */
	snprintf(payload, sizeof(payload), "<route xmlns='" COMP "' to='sm-n1' from='c2s'>"
		 "<conflict xmlns='" CL_NS "' jid='ann@example.org/desk' sm='%s'/></route>", a);
	sm_test_feed(sm, "%s", payload);
	assert_int_equal(xhash_count(sm->sessions), 1);
	sm_test_out_clear();
	snprintf(payload, sizeof(payload), "<conflict xmlns='" CL_NS "' "
		 "jid='ann@example.org/desk' sm='%s'/>", a);
	cl_feed(sm, payload);
	assert_int_equal(xhash_count(sm->sessions), 0);
	assert_non_null(sm_test_out_find("to='c2s'", "action='replaced'", NULL));
	assert_non_null(sm_test_out_find(CL_NS, "action='end'", "jid='ann@example.org/desk'", NULL));
}

/* Roster pushes and carbons reach the user's sessions on other nodes
 * (whose sm keeps them only for sessions that asked: see above). */
static void test_cluster_roster_push_and_carbons(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;
	const char *a, *b, *o;

	cl_synced(sm);
	a = sm_test_login(sm, "ann@example.org", "one", "1");
	b = sm_test_login(sm, "bob@example.org", "b", "2");
	sm_test_from_sess(sm, "1", a, "<presence><priority>1</priority></presence>");
	sm_test_from_sess(sm, "1", a, "<iq type='set' id='c1'><enable xmlns='urn:xmpp:carbons:2'/>"
			  "</iq>");
	cl_stub(sm, "add", "ann@example.org/two", "n2", 5, 1);
	cl_stub(sm, "add", "ann@example.org/quiet", "n3", 0, 0);
	sm_test_out_clear();
	sm_test_from_sess(sm, "1", a, "<iq type='set' id='r1'><query xmlns='jabber:iq:roster'>"
			  "<item jid='zed@far.example'/></query></iq>");
	o = sm_test_out_find("jc:node='n2'", "jc:targets='ann@example.org/two'", "type='set'",
			     "jid='zed@far.example'", "from='ann@example.org'", NULL);
	assert_non_null(o);
	assert_false(payload_has_to(o));
	/* Every session, available or not. */
	assert_non_null(sm_test_out_find("jc:node='n3'", "jc:targets='ann@example.org/quiet'",
					 "jid='zed@far.example'", NULL));
	sm_test_out_clear();
	/* Received: "two" on n2 has the top priority and gets the message;
	 * "one" here gets the carbon. */
	sm_test_from_sess(sm, "2", b, "<message to='ann@example.org' type='chat'><body>in</body>"
			  "</message>");
	assert_non_null(sm_test_out_find("jc:node='n2'", "jc:targets='ann@example.org/two'",
					 "<body>in</body>", NULL));
	assert_null(sm_test_out_find("jc:node='n2'", "<received", NULL));
	assert_non_null(sm_test_out_find(":c2s='1'", "<received xmlns='urn:xmpp:carbons:2'>",
					 "<body>in</body>", NULL));
	sm_test_out_clear();
	/* Sent from "one": the copy goes to n2's available session. */
	sm_test_from_sess(sm, "1", a, "<message to='bob@example.org' type='chat'><body>out</body>"
			  "</message>");
	assert_non_null(sm_test_out_find("jc:node='n2'", "jc:targets='ann@example.org/two'",
					 "<sent xmlns='urn:xmpp:carbons:2'>", "<body>out</body>",
					 NULL));
	assert_null(sm_test_out_find("jc:node='n3'", NULL));
}

/* A user online only on another node is online for jabber:iq:last and in
 * the status table. */
static void test_cluster_last_and_status(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;
	struct os *os = NULL;
	const char *b, *error, *st = NULL;

	cl_synced(sm);
	b = sm_test_login(sm, "bob@example.org", "home", "2");
	cl_stub(sm, "add", "bob@example.org/x", "n2", 0, 1);
	sm_test_sess_req(sm, "end", "2", b, NULL);
	assert_int_equal(storage_get(sm->st, "status", "bob@example.org", NULL, &os, &error),
			 STORAGE_OK);
	assert_int_equal(os_object_get_str(os_first(os), "status", &st), 0);
	assert_string_equal(st, "online");
	os_free(&os);
	sm_test_out_clear();
	sm_test_feed(sm, "<route xmlns='" COMP "' to='example.org' from='c2s'><iq "
		     "xmlns='jabber:client' type='get' id='l1' from='bob@example.org/x' "
		     "to='bob@example.org'><query xmlns='jabber:iq:last'/></iq></route>");
	assert_non_null(sm_test_out_find("jc:node='n2'", "jc:targets='bob@example.org/x'",
					 "id='l1'", "type='result'", "seconds='0'", NULL));
}

/* What the module sends is checked whole: one bad element rejects the
 * route, nothing of it applied; stanzas with bad targets are dropped;
 * cluster elements from anyone but the module are not obeyed. */
static void test_cluster_bad_input(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;
	static const char *const bad[] = {
		"<s action='add' jid='bob@example.org/x' node='n2' priority='200' available='1' "
		"started='1'/>",
		"<s action='add' jid='bob@example.org/x' node='n2' priority='1' available='2' "
		"started='1'/>",
		"<s action='add' jid='bob@example.org/x' node='n2' priority='1' available='1' "
		"started='-1'/>",
		"<s action='add' jid='bob@example.org' node='n2' priority='1' available='1' "
		"started='1'/>",
		"<s action='add' jid='bob@far.example/x' node='n2' priority='1' available='1' "
		"started='1'/>",
		"<s action='add' jid='bob@example.org/x' node='' priority='1' available='1' "
		"started='1'/>",
		"<s action='add' jid='bob@example.org/x' node='n 2' priority='1' available='1' "
		"started='1'/>",
		"<s action='move' jid='bob@example.org/x' node='n2'/>",
		"<s action='remove' jid='bob@example.org/x' node='n2' reason='whim'/>",
		"<t/>",
	};
	struct buf b = { 0 };
	size_t i;
	const char *a;

	cl_synced(sm);
	a = sm_test_login(sm, "ann@example.org", "desk", "1");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		buf_reset(&b);
		buf_printf(&b, "<remote xmlns='" CL_NS "'><s action='add' jid='ok@example.org/r' "
			   "node='n2' priority='0' available='1' started='5'/>%s</remote>", bad[i]);
		cl_feed(sm, b.data);
		assert_int_equal(sm_remote_count(sm), 0);
	}
	/* More than SM_CLUSTER_REMOTE_MAX in one route. */
	buf_reset(&b);
	buf_append_str(&b, "<remote xmlns='" CL_NS "'>");
	for (i = 0; i <= SM_CLUSTER_REMOTE_MAX; i++)
		buf_printf(&b, "<s action='add' jid='u%zu@example.org/r' node='n2' priority='0' "
			   "available='1' started='5'/>", i);
	buf_append_str(&b, "</remote>");
	cl_feed(sm, b.data);
	assert_int_equal(sm_remote_count(sm), 0);
	/* Exactly the limit is fine. */
	buf_reset(&b);
	buf_append_str(&b, "<remote xmlns='" CL_NS "'>");
	for (i = 0; i < SM_CLUSTER_REMOTE_MAX; i++)
		buf_printf(&b, "<s action='add' jid='u%zu@example.org/r' node='n2' priority='0' "
			   "available='1' started='5'/>", i);
	buf_append_str(&b, "</remote>");
	cl_feed(sm, b.data);
	assert_int_equal(sm_remote_count(sm), SM_CLUSTER_REMOTE_MAX);
	buf_free(&b);
	/* Our own forward handed back (a module that does not forward):
	 * dropped, not delivered again. */
	sm_test_out_clear();
	sm_test_feed(sm, "<route xmlns='" COMP "' xmlns:jc='" CL_NS "' to='sm-n1' from='sm-n1' "
		     "jc:node='n2' jc:targets='u1@example.org/r'><message xmlns='jabber:client' "
		     "from='ann@example.org/desk' to='u1@example.org/r'><body>l</body></message>"
		     "</route>");
	assert_nout(0);
	/* Not from the module: not a stub. */
	sm_test_feed(sm, "<route xmlns='" COMP "' to='sm-n1' from='c2s'><remote xmlns='" CL_NS "'>"
		     "<s action='add' jid='bob@example.org/x' node='n2' priority='0' "
		     "available='1' started='1'/></remote></route>");
	assert_int_equal(sm_remote_count(sm), SM_CLUSTER_REMOTE_MAX);
	/* Bad targets: dropped, nothing delivered. */
	sm_test_out_clear();
	cl_in(sm, "jc:from-node='n2' jc:targets='ann@example.org'",
	      "<message from='x@example.org/r' to='ann@example.org'><body>b</body></message>");
	cl_in(sm, "jc:from-node='n2' jc:targets='ann@far.example/desk'",
	      "<message from='x@example.org/r' to='ann@example.org'><body>b</body></message>");
	cl_in(sm, "jc:from-node='n2' jc:targets=''",
	      "<message from='x@example.org/r' to='ann@example.org'><body>b</body></message>");
	cl_in(sm, "jc:from-node='' jc:targets='ann@example.org/desk'",
	      "<message from='x@example.org/r' to='ann@example.org'><body>b</body></message>");
	assert_nout(0);
	/* The same, well formed, is delivered. */
	cl_in(sm, "jc:from-node='n2' jc:targets='ann@example.org/desk'",
	      "<message from='x@example.org/r' to='ann@example.org'><body>b</body></message>");
	assert_non_null(sm_test_out_find(":c2s='1'", "<body>b</body>", NULL));
	(void)a;
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
		cmocka_unit_test_setup_teardown(test_cluster_full_jid, setup_cluster, teardown),
		cmocka_unit_test_setup_teardown(test_cluster_bare_jid_priorities, setup_cluster,
						teardown),
		cmocka_unit_test_setup_teardown(test_cluster_remote_lines, setup_cluster, teardown),
		cmocka_unit_test_setup_teardown(test_cluster_stub_table, setup_cluster, teardown),
		cmocka_unit_test_setup_teardown(test_cluster_hold_until_synced, setup_cluster,
						teardown),
		cmocka_unit_test_setup_teardown(test_cluster_presence_fan_out, setup_cluster,
						teardown),
		cmocka_unit_test_setup_teardown(test_cluster_available_before_probes, setup_cluster,
						teardown),
		cmocka_unit_test_setup_teardown(test_cluster_same_full_jid_two_nodes, setup_cluster,
						teardown),
		cmocka_unit_test_setup_teardown(test_cluster_login_race, setup_cluster, teardown),
		cmocka_unit_test_setup_teardown(test_cluster_forwarded_in, setup_cluster, teardown),
		cmocka_unit_test_setup_teardown(test_cluster_undelivered_also, setup_cluster, teardown),
		cmocka_unit_test_setup_teardown(test_cluster_undelivered, setup_cluster, teardown),
		cmocka_unit_test_setup_teardown(test_cluster_hop_limit, setup_cluster, teardown),
		cmocka_unit_test_setup_teardown(test_cluster_user_remote_follows_table, setup_cluster,
						teardown),
		cmocka_unit_test_setup_teardown(test_cluster_node_dead, setup_cluster, teardown),
		cmocka_unit_test_setup_teardown(test_cluster_hold_down, setup_cluster, teardown),
		cmocka_unit_test_setup_teardown(test_cluster_conflict, setup_cluster, teardown),
		cmocka_unit_test_setup_teardown(test_cluster_merge, setup_cluster, teardown),
		cmocka_unit_test_setup_teardown(test_cluster_stale_presence, setup_cluster, teardown),
		cmocka_unit_test_setup_teardown(test_cluster_roster_push_and_carbons, setup_cluster,
						teardown),
		cmocka_unit_test_setup_teardown(test_cluster_last_and_status, setup_cluster,
						teardown),
		cmocka_unit_test_setup_teardown(test_cluster_bad_input, setup_cluster, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
