/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_cluster_data: one user's data, one truth, for two sms sharing one
 * database (sm/cluster_data.c). Two sms (sm-n1 and sm-n2, as on two
 * nodes) open the same SQLite file; what one writes, the other serves
 * stale until the `changed` broadcast the writer sends reaches it, as the
 * cluster module would hand it over (a route from the clustered domain
 * with jc:from-node). Without a router: the send hook captures what each
 * sm sends.
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

#include <cmocka.h>

#include "sm/tests/sm_testlib.h"

#include "storage/storage.h"
#include "util/buf.h"
#include "util/xhash.h"

#define NS "urn:jabberd-cluster:session"

static const char sm_xml[] =
	"<sm><id>sm</id>%s"
	"<local><id>example.org</id></local>"
	"<storage><driver>sqlite</driver><sqlite><dbname>%s/sqlite.db</dbname></sqlite>"
	"</storage>"
	"<modules>"
	"<chain id='sess-start'><module>status</module></chain>"
	"<chain id='sess-end'><module>status</module><module>iq-last</module></chain>"
	"<chain id='in-sess'><module>validate</module><module>status</module>"
	"<module>privacy</module><module>roster</module>"
	"<module>iq-vcard</module><module>iq-private</module><module>vacation</module>"
	"<module>pep</module><module>presence</module><module>deliver</module></chain>"
	"<chain id='in-router'><module>session</module><module>validate</module>"
	"<module>presence</module><module>privacy</module></chain>"
	"<chain id='out-router'><module>privacy</module></chain>"
	"<chain id='pkt-sm'><module>iq-last</module><module>presence</module></chain>"
	"<chain id='pkt-user'><module>roster</module><module>presence</module>"
	"<module>iq-vcard</module><module>vacation</module><module>deliver</module>"
	"<module>iq-last</module></chain>"
	"<chain id='pkt-router'><module>session</module></chain>"
	"<chain id='user-load'><module>active</module><module>roster</module>"
	"<module>privacy</module><module>vacation</module></chain>"
	"<chain id='user-create'><module>active</module></chain>"
	"<chain id='user-delete'><module>active</module><module>roster</module>"
	"<module>privacy</module><module>iq-vcard</module></chain>"
	"</modules></sm>";

#define CLUSTER(n) "<router_id>sm-" n "</router_id><cluster><notify>example.org</notify></cluster>"

struct fixture {
	char dir[64];
	struct sm *n1, *n2;
};

static struct sm *sm_make(const struct fixture *f, const char *extra)
{
	char *xml = xasprintf(sm_xml, extra, f->dir);
	struct sm *sm = sm_test_sm_new(xml);

	free(xml);
	/* The module's view is complete (sm/cluster.c holds stanzas for
	 * users with no available session until it is). */
	sm_test_feed(sm, "<route xmlns='" SM_TEST_NS_COMP "' to='%s' from='example.org'>"
		     "<remote xmlns='" NS "' synced='1'/></route>", sm->id);
	return sm;
}

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	sm_test_dir_make(f->dir, sizeof(f->dir), "test_cluster_data");
	f->n1 = sm_make(f, CLUSTER("n1"));
	f->n2 = sm_make(f, CLUSTER("n2"));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	sm_test_out_clear();
	sm_free(&f->n1);
	sm_free(&f->n2);
	sm_test_dir_remove(f->dir);
	free(f);
	return 0;
}

/* The cluster module hands `sm` another node's broadcast. */
static void changed_in(struct sm *sm, const char *from, const char *jid, const char *what)
{
	sm_test_feed(sm, "<route xmlns='" SM_TEST_NS_COMP "' xmlns:jc='" NS "' to='%s' "
		     "from='%s' jc:from-node='n2'><user xmlns='" NS "' action='changed' "
		     "jid='%s' what='%s'/></route>", sm->id, from, jid, what);
}

/* What sm-n2 sent: one `changed` of `what` for ann, to every node. */
static void assert_broadcast(const char *what)
{
	char w[64];

	snprintf(w, sizeof(w), "what='%s'", what);
	if (sm_test_out_find("to='example.org'", "from='sm-n2'", "node='*'", "<user xmlns='" NS
			     "'", "action='changed'", "jid='ann@example.org'", w, NULL) == NULL) {
		sm_test_out_dump();
		fail_msg("no changed broadcast of %s", what);
	}
}

/* ann writes `what` through node 2 (the iq `stanza`, answered with a
 * result `id`), and node 2 sends the broadcast (captured, then cleared). */
static void n2_writes(struct fixture *f, const char *a2, const char *id, const char *what,
		      const char *stanza)
{
	char i[64];

	snprintf(i, sizeof(i), "id='%s'", id);
	sm_test_from_sess(f->n2, "2", a2, stanza);
	assert_non_null(sm_test_out_find(i, "type='result'", NULL));
	assert_broadcast(what);
	sm_test_out_clear();
}

#define ROSTER_GET "<iq type='get' id='r'><query xmlns='jabber:iq:roster'/></iq>"

/* A roster set on one node: it says so; the other node's loaded copy is
 * stale until the broadcast arrives, then fresh (the session there still
 * gets pushes: it fetched the roster before). */
static void test_roster_fresh_after_changed(void **state)
{
	struct fixture *f = *state;
	const char *a1 = sm_test_login(f->n1, "ann@example.org", "desk", "1");
	const char *a2 = sm_test_login(f->n2, "ann@example.org", "phone", "2");

	sm_test_from_sess(f->n1, "1", a1, ROSTER_GET);
	assert_null(sm_test_out_find("bob@example.org", NULL));
	sm_test_out_clear();
	n2_writes(f, a2, "s", "roster",
		  "<iq type='set' id='s'><query xmlns='jabber:iq:roster'>"
		  "<item jid='bob@example.org' name='Bob'><group>Pals</group></item>"
		  "</query></iq>");

	/* Not told yet: node 1 answers from memory. */
	sm_test_from_sess(f->n1, "1", a1, ROSTER_GET);
	assert_null(sm_test_out_find("bob@example.org", NULL));
	sm_test_out_clear();

	/* A broadcast from anyone but the cluster module is refused. */
	changed_in(f->n1, "mallory.example", "ann@example.org", "roster");
	sm_test_from_sess(f->n1, "1", a1, ROSTER_GET);
	assert_null(sm_test_out_find("bob@example.org", NULL));
	sm_test_out_clear();

	changed_in(f->n1, "example.org", "ann@example.org", "roster");
	assert_int_equal(sm_test_nout, 0);      /* never answered: no ping-pong */
	sm_test_from_sess(f->n1, "1", a1, ROSTER_GET);
	assert_non_null(sm_test_out_find("id='r'", "jid='bob@example.org'", "name='Bob'",
					 "<group>Pals</group>", NULL));
	sm_test_out_clear();
	/* Ann asks bob on node 1: the item changed is the fresh one (its
	 * group kept), the session there gets the push, and node 1 tells the
	 * others. */
	sm_test_from_sess(f->n1, "1", a1, "<presence to='bob@example.org' type='subscribe'/>");
	assert_non_null(sm_test_out_find(":c2s='1'", "ask='subscribe'", "<group>Pals</group>",
					 NULL));
	assert_non_null(sm_test_out_find("from='sm-n1'", "what='roster'", NULL));
}

/* The stored roster version of ann. */
static int64_t roster_ver(struct sm *sm)
{
	struct os *os = NULL;
	const char *error;
	int64_t ver = -1;

	assert_int_equal(storage_get(sm->st, "roster-version", "ann@example.org", NULL, &os,
				     &error), STORAGE_OK);
	assert_int_equal(os_object_get_int(os_first(os), "ver", &ver), 0);
	os_free(&os);
	return ver;
}

/* Node 1 changes the roster before node 2's broadcast reached it: the
 * version still goes up past node 2's, never reusing its number. */
static void test_roster_version_never_reused(void **state)
{
	struct fixture *f = *state;
	const char *a1 = sm_test_login(f->n1, "ann@example.org", "desk", "1");
	const char *a2 = sm_test_login(f->n2, "ann@example.org", "phone", "2");
	int64_t v;

	sm_test_from_sess(f->n1, "1", a1, "<iq type='set' id='s0'><query xmlns='jabber:iq:roster'>"
			  "<item jid='zed@example.org'/></query></iq>");
	changed_in(f->n2, "example.org", "ann@example.org", "roster");
	/* node 2 never used ann's roster before: read again all the same */
	sm_test_out_clear();
	sm_test_from_sess(f->n2, "2", a2, ROSTER_GET);
	assert_non_null(sm_test_out_find("id='r'", "zed@example.org", NULL));
	sm_test_from_sess(f->n2, "2", a2, "<iq type='set' id='s1'><query xmlns='jabber:iq:roster'>"
			  "<item jid='bob@example.org'/></query></iq>");
	v = roster_ver(f->n2);
	sm_test_out_clear();
	/* node 1 has not heard of it */
	sm_test_from_sess(f->n1, "1", a1, "<iq type='set' id='s2'><query xmlns='jabber:iq:roster'>"
			  "<item jid='cat@example.org'/></query></iq>");
	assert_true(roster_ver(f->n1) == v + 1);
}

/* Broadcasts lost (a peer unreachable): reading every loaded user again
 * catches up. */
static void test_reload_all(void **state)
{
	struct fixture *f = *state;
	const char *a1 = sm_test_login(f->n1, "ann@example.org", "desk", "1");
	const char *a2 = sm_test_login(f->n2, "ann@example.org", "phone", "2");

	sm_test_from_sess(f->n1, "1", a1, ROSTER_GET);
	n2_writes(f, a2, "s", "roster", "<iq type='set' id='s'><query xmlns='jabber:iq:roster'>"
		  "<item jid='bob@example.org'/></query></iq>");
	sm_test_from_sess(f->n1, "1", a1, ROSTER_GET);
	assert_null(sm_test_out_find("bob@example.org", NULL));
	sm_test_out_clear();
	sm_cluster_reload_all(f->n1);
	assert_int_equal(sm_test_nout, 0);
	sm_test_from_sess(f->n1, "1", a1, ROSTER_GET);
	assert_non_null(sm_test_out_find("id='r'", "bob@example.org", NULL));
}

#define BLOCK(v) "<iq type='set' id='b'><block xmlns='urn:xmpp:blocking'><item jid='" v \
		 "'/></block></iq>"
#define PRIV "<query xmlns='jabber:iq:privacy'>"

/* The block list and the privacy lists edited on node 2 decide on node 1
 * once the broadcast came; a session's active list survives the reload
 * while the list exists. */
static void test_privacy_fresh_after_changed(void **state)
{
	struct fixture *f = *state;
	const char *a1 = sm_test_login(f->n1, "ann@example.org", "desk", "1");
	const char *b1 = sm_test_login(f->n1, "bob@example.org", "home", "3");
	const char *a2 = sm_test_login(f->n2, "ann@example.org", "phone", "2");

	sm_test_from_sess(f->n2, "2", a2, BLOCK("bob@example.org"));
	assert_non_null(sm_test_out_find("id='b'", "type='result'", NULL));
	assert_broadcast("privacy");
	sm_test_out_clear();
	sm_test_from_sess(f->n1, "3", b1, "<message to='ann@example.org/desk'><body>1</body>"
			  "</message>");
	assert_non_null(sm_test_out_find(":c2s='1'", "<body>1</body>", NULL));   /* stale */
	sm_test_out_clear();
	changed_in(f->n1, "example.org", "ann@example.org", "privacy");
	sm_test_from_sess(f->n1, "3", b1, "<message to='ann@example.org/desk'><body>2</body>"
			  "</message>");
	assert_non_null(sm_test_out_find(":c2s='3'", "service-unavailable", NULL));
	assert_null(sm_test_out_find(":c2s='1'", NULL));
	sm_test_out_clear();
	sm_test_from_sess(f->n2, "2", a2, "<iq type='set' id='u'><unblock xmlns='urn:xmpp:blocking'/>"
			  "</iq>");
	assert_broadcast("privacy");
	changed_in(f->n1, "example.org", "ann@example.org", "privacy");
	sm_test_out_clear();

	/* An XEP-0016 list active on node 1, rewritten on node 2. */
	sm_test_from_sess(f->n1, "1", a1, "<iq type='set' id='l1'>" PRIV "<list name='work'>"
			  "<item action='allow' order='9'/></list></query></iq>");
	sm_test_from_sess(f->n1, "1", a1, "<iq type='set' id='l2'>" PRIV "<active name='work'/>"
			  "</query></iq>");
	assert_non_null(sm_test_out_find("id='l2'", "type='result'", NULL));
	changed_in(f->n2, "example.org", "ann@example.org", "privacy");
	sm_test_out_clear();
	n2_writes(f, a2, "l3", "privacy",
		  "<iq type='set' id='l3'>" PRIV "<list name='work'>"
		  "<item type='jid' value='bob@example.org' action='deny' order='1'>"
		  "<message/></item><item action='allow' order='9'/></list></query></iq>");
	changed_in(f->n1, "example.org", "ann@example.org", "privacy");
	sm_test_from_sess(f->n1, "3", b1, "<message to='ann@example.org/desk'><body>3</body>"
			  "</message>");
	assert_non_null(sm_test_out_find(":c2s='3'", "service-unavailable", NULL));
	assert_null(sm_test_out_find(":c2s='1'", NULL));
	sm_test_out_clear();
	sm_test_from_sess(f->n1, "1", a1, "<iq type='get' id='l4'>" PRIV "</query></iq>");
	assert_non_null(sm_test_out_find("id='l4'", "<active name='work'/>", NULL));
	sm_test_out_clear();

	/* Removed on node 2 (which cannot see it is active on node 1): node
	 * 1's session falls back to no list. */
	sm_test_from_sess(f->n2, "2", a2, "<iq type='set' id='l5'>" PRIV "<list name='work'/>"
			  "</query></iq>");
	assert_non_null(sm_test_out_find("id='l5'", "type='result'", NULL));
	changed_in(f->n1, "example.org", "ann@example.org", "privacy");
	sm_test_out_clear();
	sm_test_from_sess(f->n1, "1", a1, "<iq type='get' id='l6'>" PRIV "</query></iq>");
	assert_non_null(sm_test_out_find("id='l6'", "<active/>", NULL));
	assert_null(sm_test_out_find("name='work'", NULL));
	sm_test_out_clear();
	sm_test_from_sess(f->n1, "3", b1, "<message to='ann@example.org/desk'><body>4</body>"
			  "</message>");
	assert_non_null(sm_test_out_find(":c2s='1'", "<body>4</body>", NULL));
}

/* vCard and private storage are read from storage at each request: a
 * vCard set through node 2 is served by node 1 (to a contact, and to the
 * user's own session there), before and after the broadcast. */
static void test_vcard_private_across_nodes(void **state)
{
	struct fixture *f = *state;
	const char *a1 = sm_test_login(f->n1, "ann@example.org", "desk", "1");
	const char *b1 = sm_test_login(f->n1, "bob@example.org", "home", "3");
	const char *a2 = sm_test_login(f->n2, "ann@example.org", "phone", "2");

	sm_test_from_sess(f->n1, "3", b1, "<iq type='get' id='v0' to='ann@example.org'>"
			  "<vCard xmlns='vcard-temp'/></iq>");
	assert_null(sm_test_out_find("<FN>", NULL));
	sm_test_out_clear();
	n2_writes(f, a2, "v1", "vcard",
		  "<iq type='set' id='v1'><vCard xmlns='vcard-temp'>"
		  "<FN>Ann Two</FN></vCard></iq>");
	sm_test_from_sess(f->n1, "3", b1, "<iq type='get' id='v2' to='ann@example.org'>"
			  "<vCard xmlns='vcard-temp'/></iq>");
	assert_non_null(sm_test_out_find("id='v2'", "<FN>Ann Two</FN>", NULL));
	sm_test_out_clear();
	changed_in(f->n1, "example.org", "ann@example.org", "vcard");
	sm_test_from_sess(f->n1, "1", a1, "<iq type='get' id='v3'><vCard xmlns='vcard-temp'/></iq>");
	assert_non_null(sm_test_out_find("id='v3'", ":c2s='1'", "<FN>Ann Two</FN>", NULL));
	sm_test_out_clear();

	n2_writes(f, a2, "p1", "private",
		  "<iq type='set' id='p1'><query xmlns='jabber:iq:private'>"
		  "<storage xmlns='storage:bookmarks'><conference jid='r@c.example'/>"
		  "</storage></query></iq>");
	changed_in(f->n1, "example.org", "ann@example.org", "private");
	sm_test_from_sess(f->n1, "1", a1, "<iq type='get' id='p2'><query xmlns='jabber:iq:private'>"
			  "<storage xmlns='storage:bookmarks'/></query></iq>");
	assert_non_null(sm_test_out_find("id='p2'", "<conference jid='r@c.example'/>", NULL));
}

#define PEP_GET(id) "<iq type='get' id='" id "'><pubsub xmlns='http://jabber.org/protocol/pubsub'>" \
		    "<items node='urn:example:mood'/></pubsub></iq>"

/* PEP items are stored: published on node 2, node 1 (which had read them
 * before) serves the new item after the broadcast. */
static void test_pep_fresh_after_changed(void **state)
{
	struct fixture *f = *state;
	const char *a1 = sm_test_login(f->n1, "ann@example.org", "desk", "1");
	const char *a2 = sm_test_login(f->n2, "ann@example.org", "phone", "2");
	int64_t n = -1;
	const char *error;

	sm_test_from_sess(f->n1, "1", a1, PEP_GET("g1"));
	assert_non_null(sm_test_out_find("id='g1'", "item-not-found", NULL));
	sm_test_out_clear();
	n2_writes(f, a2, "p", "pep",
		  "<iq type='set' id='p'>"
		  "<pubsub xmlns='http://jabber.org/protocol/pubsub'>"
		  "<publish node='urn:example:mood'><item id='x'>"
		  "<mood xmlns='urn:example:mood'>calm</mood></item></publish></pubsub></iq>");
	assert_int_equal(storage_count(f->n1->st, "pep-item", "ann@example.org", NULL, &n,
				       &error), STORAGE_OK);
	assert_int_equal(n, 1);
	sm_test_from_sess(f->n1, "1", a1, PEP_GET("g2"));
	assert_non_null(sm_test_out_find("id='g2'", "item-not-found", NULL));     /* stale */
	sm_test_out_clear();
	changed_in(f->n1, "example.org", "ann@example.org", "pep");
	sm_test_from_sess(f->n1, "1", a1, PEP_GET("g3"));
	assert_non_null(sm_test_out_find("id='g3'", "type='result'", "id='x'",
					 "<mood xmlns='urn:example:mood'>calm</mood>", NULL));
}

/* Vacation settings (cached per loaded user) set on node 2 answer on
 * node 1 after the broadcast. */
static void test_vacation_fresh_after_changed(void **state)
{
	struct fixture *f = *state;
	const char *b1 = sm_test_login(f->n1, "bob@example.org", "home", "3");
	const char *a2 = sm_test_login(f->n2, "ann@example.org", "phone", "2");
	const char *a1 = sm_test_login(f->n1, "ann@example.org", "desk", "1");

	(void)a1;       /* ann loaded on node 1, no available session */
	n2_writes(f, a2, "va", "private",
		  "<iq type='set' id='va'>"
		  "<query xmlns='http://jabber.org/protocol/vacation'><start/><end/>"
		  "<message>Gone fishing</message></query></iq>");
	sm_test_from_sess(f->n1, "3", b1, "<message to='ann@example.org'><body>x</body></message>");
	assert_null(sm_test_out_find("Gone fishing", NULL));      /* stale */
	sm_test_out_clear();
	changed_in(f->n1, "example.org", "ann@example.org", "private");
	sm_test_from_sess(f->n1, "3", b1, "<message to='ann@example.org'><body>y</body></message>");
	assert_non_null(sm_test_out_find(":c2s='3'", "Gone fishing", NULL));
}

/* A user deleted on node 2: node 1 ends the user's sessions there. */
static void test_account_deleted_elsewhere(void **state)
{
	struct fixture *f = *state;
	const char *a1 = sm_test_login(f->n1, "ann@example.org", "desk", "1");

	sm_test_sess_req(f->n2, "delete", "9", NULL, "ann@example.org");
	assert_non_null(sm_test_out_find("action='deleted'", NULL));
	assert_broadcast("account");
	sm_test_out_clear();
	changed_in(f->n1, "example.org", "ann@example.org", "account");
	assert_non_null(sm_test_out_find("to='c2s'", ":c2s='1'", "action='ended'", a1, NULL));
	sm_test_out_clear();
	/* Gone: a message from node 1's sessions to her bounces. */
	sm_test_from_sess(f->n1, "1", a1, "<message to='bob@example.org'/>");
	assert_non_null(sm_test_out_find("failed='1'", NULL));
}

/* The status table of a user online on node 1 whose session on node 2
 * ends: node 2 writes "offline" and says so, node 1 writes "online"
 * again; iq:last asked at node 2 answers 0 (online) from then on, not
 * the time since the logout there. */
static void test_status_and_last_across_nodes(void **state)
{
	struct fixture *f = *state;
	struct os *os = os_new(), *got = NULL;
	struct os_object *o = os_object_new(os);
	const char *error, *a1, *a2, *b2, *status;

	os_object_put_str(o, "jid", "bob@example.org");
	os_object_put_bool(o, "to", 1);
	os_object_put_bool(o, "from", 1);
	os_object_put_int(o, "ask", 0);
	assert_int_equal(storage_put(f->n1->st, "roster-items", "ann@example.org", os, &error),
			 STORAGE_OK);
	os_free(&os);
	a1 = sm_test_login(f->n1, "ann@example.org", "desk", "1");
	sm_test_from_sess(f->n1, "1", a1, "<presence><show>dnd</show></presence>");
	a2 = sm_test_login(f->n2, "ann@example.org", "phone", "2");
	b2 = sm_test_login(f->n2, "bob@example.org", "home", "3");
	sm_test_sess_req(f->n2, "end", "2", a2, NULL);
	assert_broadcast("status");
	sm_test_out_clear();
	assert_int_equal(storage_get(f->n1->st, "status", "ann@example.org", NULL, &got, &error),
			 STORAGE_OK);
	assert_int_equal(os_object_get_str(os_first(got), "status", &status), 0);
	assert_string_equal(status, "offline");
	os_free(&got);
	/* ann left node 2 a while ago, say */
	os = os_new();
	os_object_put_int(os_object_new(os), "time", (int64_t)time(NULL) - 5000);
	assert_int_equal(storage_replace(f->n1->st, "logout", "ann@example.org", NULL, os, &error),
			 STORAGE_OK);
	os_free(&os);
	sm_test_from_sess(f->n2, "3", b2, "<iq type='get' id='l1' to='ann@example.org'>"
			  "<query xmlns='jabber:iq:last'/></iq>");
	assert_non_null(sm_test_out_find("id='l1'", "seconds='500", NULL));       /* wrong */
	sm_test_out_clear();

	changed_in(f->n1, "example.org", "ann@example.org", "status");
	assert_int_equal(sm_test_nout, 0);
	assert_int_equal(storage_get(f->n1->st, "status", "ann@example.org", NULL, &got, &error),
			 STORAGE_OK);
	assert_int_equal(os_object_get_str(os_first(got), "status", &status), 0);
	assert_string_equal(status, "online");
	assert_int_equal(os_object_get_str(os_first(got), "show", &status), 0);
	assert_string_equal(status, "dnd");
	os_free(&got);
	sm_test_from_sess(f->n2, "3", b2, "<iq type='get' id='l2' to='ann@example.org'>"
			  "<query xmlns='jabber:iq:last'/></iq>");
	assert_non_null(sm_test_out_find("id='l2'", "seconds='0'", NULL));
	sm_test_out_clear();

	/* Her last session anywhere ends: offline, and the logout time. */
	sm_test_sess_req(f->n1, "end", "1", a1, NULL);
	sm_test_out_clear();
	changed_in(f->n2, "example.org", "ann@example.org", "status");
	sm_test_from_sess(f->n2, "3", b2, "<iq type='get' id='l3' to='ann@example.org'>"
			  "<query xmlns='jabber:iq:last'/></iq>");
	assert_non_null(sm_test_out_find("id='l3'", "seconds='", NULL));
	assert_null(sm_test_out_find("id='l3'", "seconds='500", NULL));
}

/* Bad broadcasts change nothing and crash nothing; an sm without
 * <cluster> sends none and takes none. */
/* Storage calls of `sm` so far (reads and writes). */
static uint64_t st_calls(const struct sm *sm)
{
	struct storage_stats s;

	storage_stats(sm->st, &s);
	return s.calls;
}

/* The cluster module tells `sm` about ann's session on node 2. */
static void stub_ann(struct sm *sm, const char *action, const char *extra)
{
	sm_test_feed(sm, "<route xmlns='" SM_TEST_NS_COMP "' to='%s' from='example.org'>"
		     "<remote xmlns='" NS "'><s action='%s' jid='ann@example.org/phone' "
		     "node='n2' %s/></remote></route>", sm->id, action, extra);
}

#define TO_ANN(b) "<message to='ann@example.org' type='chat'><body>" b "</body></message>"

/* Bob (node 1) writes to ann, online only on node 2. Her data is read
 * from storage for the first message only: node 1 keeps her in memory
 * while her session there is known, fresh through the broadcasts (a
 * block list set on node 2 decides on node 1 after it), and lets her go
 * with her last remote session. */
static void test_remote_user_kept_loaded(void **state)
{
	struct fixture *f = *state;
	const char *a2 = sm_test_login(f->n2, "ann@example.org", "phone", "2");
	const char *b1 = sm_test_login(f->n1, "bob@example.org", "home", "3");
	uint64_t calls;

	stub_ann(f->n1, "add", "priority='5' available='1' started='1'");
	sm_test_out_clear();
	calls = st_calls(f->n1);
	sm_test_from_sess(f->n1, "3", b1, TO_ANN("1"));
	assert_non_null(sm_test_out_find("jc:node='n2'", "jc:targets='ann@example.org/phone'",
					 "<body>1</body>", NULL));
	assert_true(st_calls(f->n1) > calls);   /* loaded: active, roster, ... */
	sm_test_out_clear();

	calls = st_calls(f->n1);
	sm_test_from_sess(f->n1, "3", b1, TO_ANN("2"));
	assert_non_null(sm_test_out_find("jc:node='n2'", "jc:targets='ann@example.org/phone'",
					 "<body>2</body>", NULL));
	assert_int_equal(st_calls(f->n1), calls);       /* no storage call */
	assert_non_null(xhash_get(f->n1->users, "ann@example.org"));
	sm_test_out_clear();

	/* Ann blocks bob on node 2: node 1 refuses bob's next message once
	 * it heard, reading her lists again to do so. */
	n2_writes(f, a2, "b", "privacy", BLOCK("bob@example.org"));
	calls = st_calls(f->n1);
	changed_in(f->n1, "example.org", "ann@example.org", "privacy");
	assert_true(st_calls(f->n1) > calls);
	sm_test_out_clear();
	sm_test_from_sess(f->n1, "3", b1, TO_ANN("3"));
	assert_non_null(sm_test_out_find(":c2s='3'", "service-unavailable", NULL));
	assert_null(sm_test_out_find("jc:node='n2'", NULL));
	sm_test_out_clear();

	/* An update keeps her; the end of her last remote session frees her. */
	stub_ann(f->n1, "update", "priority='1' available='1' started='1'");
	assert_non_null(xhash_get(f->n1->users, "ann@example.org"));
	stub_ann(f->n1, "remove", "reason='end'");
	assert_null(xhash_get(f->n1->users, "ann@example.org"));
	assert_non_null(xhash_get(f->n1->users, "bob@example.org"));

	/* Kept again, then a resync that no longer lists her frees her. */
	stub_ann(f->n1, "add", "priority='5' available='1' started='1'");
	sm_test_from_sess(f->n1, "3", b1, TO_ANN("4"));
	assert_non_null(xhash_get(f->n1->users, "ann@example.org"));
	sm_test_feed(f->n1, "<route xmlns='" SM_TEST_NS_COMP "' to='sm-n1' from='example.org'>"
		     "<remote xmlns='" NS "' reset='1'/></route>");
	assert_null(xhash_get(f->n1->users, "ann@example.org"));

	/* Kept, then deleted on node 2: not kept for her session there. */
	stub_ann(f->n1, "add", "priority='5' available='1' started='1'");
	sm_test_from_sess(f->n1, "3", b1, TO_ANN("5"));
	assert_non_null(xhash_get(f->n1->users, "ann@example.org"));
	changed_in(f->n1, "example.org", "ann@example.org", "account");
	assert_null(xhash_get(f->n1->users, "ann@example.org"));
}

static void test_bad_and_unconfigured(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = {
		"<user xmlns='" NS "' action='changed' jid='ann@example.org'/>",
		"<user xmlns='" NS "' action='changed' jid='ann@example.org' what='shoes'/>",
		"<user xmlns='" NS "' action='eaten' jid='ann@example.org' what='roster'/>",
		"<user xmlns='" NS "' action='changed' jid='ann@example.org/x' what='roster'/>",
		"<user xmlns='" NS "' action='changed' jid='example.org' what='roster'/>",
		"<user xmlns='" NS "' action='changed' jid='ann@far.example' what='account'/>",
		"<user xmlns='" NS "' action='changed' jid='@@' what='roster'/>",
		"<user xmlns='" NS "' action='changed' what='account'/>",
	};
	const char *a1 = sm_test_login(f->n1, "ann@example.org", "desk", "1");
	struct sm *plain;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		sm_test_feed(f->n1, "<route xmlns='" SM_TEST_NS_COMP "' xmlns:jc='" NS "' "
			     "to='sm-n1' from='example.org' jc:from-node='n2'>%s</route>", bad[i]);
	/* no jc:from-node */
	sm_test_feed(f->n1, "<route xmlns='" SM_TEST_NS_COMP "' to='sm-n1' from='example.org'>"
		     "<user xmlns='" NS "' action='changed' jid='ann@example.org' "
		     "what='account'/></route>");
	/* our own broadcast handed back; a user not loaded here */
	changed_in(f->n1, "sm-n1", "ann@example.org", "account");
	changed_in(f->n1, "example.org", "zed@example.org", "account");
	assert_int_equal(sm_test_nout, 0);
	sm_test_from_sess(f->n1, "1", a1, "<iq type='get' id='alive'>"
			  "<query xmlns='jabber:iq:roster'/></iq>");
	assert_non_null(sm_test_out_find("id='alive'", "type='result'", NULL));
	sm_test_out_clear();

	plain = sm_make(f, "");
	a1 = sm_test_login(plain, "cat@example.org", "desk", "4");
	sm_test_from_sess(plain, "4", a1, "<iq type='set' id='s'><query xmlns='jabber:iq:roster'>"
			  "<item jid='bob@example.org'/></query></iq>");
	sm_test_from_sess(plain, "4", a1, BLOCK("zed@example.org"));
	assert_null(sm_test_out_find(NS, NULL));
	sm_test_out_clear();
	changed_in(plain, "example.org", "cat@example.org", "account");
	assert_int_equal(sm_test_nout, 0);      /* still there: no session ended */
	sm_test_out_clear();
	sm_free(&plain);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roster_fresh_after_changed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_roster_version_never_reused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_privacy_fresh_after_changed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_all, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vcard_private_across_nodes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vacation_fresh_after_changed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pep_fresh_after_changed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_account_deleted_elsewhere, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_and_last_across_nodes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_and_unconfigured, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remote_user_kept_loaded, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
