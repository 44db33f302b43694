/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_pep: mod_pep (XEP-0163 on the pubsub engine) without a router:
 * several items per node, retract, the owner use cases, publish-options,
 * the access models, limits, storage across an sm restart and the rows
 * of the older "pep-items" table.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sm/sm.h"
#include "sm/tests/sm_testlib.h"
#include "storage/storage.h"
#include "util/buf.h"
#include "util/nad.h"

static const char sm_xml[] =
	"<sm><id>sm</id><local><id>example.org</id></local>"
	"<storage><driver>sqlite</driver><sqlite><dbname>%s/sqlite.db</dbname></sqlite></storage>"
	"<pep><max-items>10</max-items><max-nodes>4</max-nodes>"
	"<payload-size>200</payload-size><user-size>500</user-size></pep>"
	"<modules>"
	"<chain id='in-sess'><module>roster</module><module>pep</module>"
	"<module>presence</module><module>deliver</module></chain>"
	"<chain id='in-router'><module>session</module>%s<module>presence</module></chain>"
	"<chain id='pkt-sm'><module>presence</module></chain>"
	"<chain id='pkt-user'><module>roster</module><module>presence</module>"
	"<module>disco</module><module>pep</module><module>deliver</module></chain>"
	"<chain id='pkt-router'><module>session</module></chain>"
	"<chain id='user-load'><module>active</module><module>roster</module></chain>"
	"<chain id='user-create'><module>active</module></chain>"
	"<chain id='user-delete'><module>active</module><module>roster</module>"
	"<module>pep</module></chain>"
	"</modules></sm>";

struct fixture {
	char dir[64];
	int caps;                       /* pep in in-router: +notify filtering */
	struct sm *sm;
	const char *ann, *bob, *eve;    /* session ids: 1, 2, 3 */
};

#define PS "<pubsub xmlns='http://jabber.org/protocol/pubsub'>"
#define PSO "<pubsub xmlns='http://jabber.org/protocol/pubsub#owner'>"
#define FORM(fields) "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' " \
	"type='hidden'><value>http://jabber.org/protocol/pubsub#" fields
#define F(var, val) "<field var='" var "'><value>" val "</value></field>"
#define CONFIG(fields) FORM("node_config</value></field>" fields "</x>")
#define PUBOPTS(fields) "<publish-options>" \
	FORM("publish-options</value></field>" fields "</x>") "</publish-options>"

static struct sm *new_sm(const char *dir, int caps)
{
	char *xml = xasprintf(sm_xml, dir, caps ? "<module>pep</module>" : "");
	struct sm *sm = sm_test_sm_new(xml);

	free(xml);
	return sm;
}

/* Ann, Bob (who sees Ann's presence) and Eve (no roster) online. */
static void login_all(struct fixture *f)
{
	f->ann = sm_test_login(f->sm, "ann@example.org", "a", "1");
	f->bob = sm_test_login(f->sm, "bob@example.org", "b", "2");
	f->eve = sm_test_login(f->sm, "eve@example.org", "e", "3");
}

/* *state: NULL, or non-NULL for pep in the in-router chain (caps). */
static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	sm_test_dir_make(f->dir, sizeof(f->dir), "test_pep");
	f->caps = *state != NULL;
	f->sm = new_sm(f->dir, f->caps);
	login_all(f);
	sm_test_from_sess(f->sm, "2", f->bob, "<presence to='ann@example.org' type='subscribe'/>");
	sm_test_from_sess(f->sm, "1", f->ann, "<presence to='bob@example.org' type='subscribed'/>");
	sm_test_from_sess(f->sm, "1", f->ann, "<presence/>");
	sm_test_from_sess(f->sm, "2", f->bob, "<presence/>");
	sm_test_from_sess(f->sm, "3", f->eve, "<presence/>");
	sm_test_out_clear();
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

/* Send from session n (1 ann, 2 bob, 3 eve) and expect an answer to id
 * carrying every string (NULL-terminated). */
static void expect(struct fixture *f, int n, const char *id, const char *stanza, ...)
{
	const char *smid = n == 1 ? f->ann : n == 2 ? f->bob : f->eve;
	char c2s[2] = { (char)('0' + n), '\0' }, idattr[64];
	const char *want[8], *s;
	va_list ap;
	int i, k, nwant = 0;

	sm_test_out_clear();
	sm_test_from_sess(f->sm, c2s, smid, stanza);
	snprintf(idattr, sizeof(idattr), "id='%s'", id);
	va_start(ap, stanza);
	while ((s = va_arg(ap, const char *)) != NULL && nwant < 8)
		want[nwant++] = s;
	va_end(ap);
	for (i = 0; i < sm_test_nout; i++) {
		if (strstr(sm_test_out[i], idattr) == NULL)
			continue;
		for (k = 0; k < nwant && strstr(sm_test_out[i], want[k]) != NULL; k++)
			;
		if (k == nwant)
			return;
	}
	sm_test_out_dump();
	fail_msg("no answer to %s with all of what was expected", id);
}

static int64_t rows(struct sm *sm, const char *type)
{
	int64_t n = -1;
	const char *error;

	assert_int_equal(storage_count(sm->st, type, "ann@example.org", NULL, &n, &error),
			 STORAGE_OK);
	return n;
}

/* Notifications to c2s connection c ("1" ann, "2" bob, "3" eve) captured
 * since the last clear that carry s. */
static int notified(const char *c, const char *s)
{
	char key[16];
	int i, n = 0;

	snprintf(key, sizeof(key), ":c2s='%s'", c);
	for (i = 0; i < sm_test_nout; i++)
		n += strstr(sm_test_out[i], "pubsub#event") != NULL &&
		     strstr(sm_test_out[i], s) != NULL &&
		     strstr(sm_test_out[i], key) != NULL;
	return n;
}

#define PUB(id, node, itemid, payload) \
	"<iq type='set' id='" id "'>" PS "<publish node='" node "'><item id='" itemid "'>" \
	payload "</item></publish></pubsub></iq>"
#define GET(id, node, attrs, inner) \
	"<iq type='get' id='" id "' to='ann@example.org'>" PS "<items node='" node "' " attrs \
	">" inner "</items></pubsub></iq>"

/* Several items where configured; by id, max_items, retract with notify. */
static void test_items(void **state)
{
	struct fixture *f = *state;

	expect(f, 1, "c1", "<iq type='set' id='c1'>" PS "<create node='urn:x:b'/>"
	       "<configure>" CONFIG(F("pubsub#max_items", "3")) "</configure></pubsub></iq>",
	       "type='result'", NULL);
	expect(f, 1, "p1", PUB("p1", "urn:x:b", "one", "<b xmlns='urn:x:b'>1</b>"),
	       "type='result'", "id='one'", NULL);
	assert_int_equal(notified("2", "<b xmlns='urn:x:b'>1</b>"), 1);
	assert_int_equal(notified("3", "urn:x:b"), 0);  /* eve: no subscription */
	expect(f, 1, "p2", PUB("p2", "urn:x:b", "two", "<b xmlns='urn:x:b'>2</b>"), "result", NULL);
	expect(f, 1, "p3", PUB("p3", "urn:x:b", "three", "<b xmlns='urn:x:b'>3</b>"), "result", NULL);
	expect(f, 1, "p4", PUB("p4", "urn:x:b", "four", "<b xmlns='urn:x:b'>4</b>"), "result", NULL);
	/* max_items 3: "one" went. */
	expect(f, 2, "g1", GET("g1", "urn:x:b", "", ""), "id='two'", "id='three'", "id='four'", NULL);
	assert_null(sm_test_out_find("id='g1'", "id='one'", NULL));
	expect(f, 2, "g2", GET("g2", "urn:x:b", "max_items='1'", ""), "id='four'", NULL);
	assert_null(sm_test_out_find("id='g2'", "id='three'", NULL));
	expect(f, 2, "g3", GET("g3", "urn:x:b", "", "<item id='three'/>"), "id='three'", "3</b>",
	       NULL);
	assert_null(sm_test_out_find("id='g3'", "id='four'", NULL));
	assert_int_equal(rows(f->sm, "pep-item"), 3);
	/* Retract: gone, contacts told. */
	expect(f, 1, "r1", "<iq type='set' id='r1'>" PS "<retract node='urn:x:b' notify='true'>"
	       "<item id='two'/></retract></pubsub></iq>", "type='result'", NULL);
	assert_non_null(sm_test_out_find(":c2s='2'", "<retract id='two'/>", NULL));
	assert_int_equal(rows(f->sm, "pep-item"), 2);
	expect(f, 1, "r2", "<iq type='set' id='r2'>" PS "<retract node='urn:x:b'>"
	       "<item id='two'/></retract></pubsub></iq>", "item-not-found", NULL);
	/* A contact may not publish. */
	expect(f, 2, "x1", "<iq type='set' id='x1' to='ann@example.org'>" PS "<publish "
	       "node='urn:x:b'><item><b xmlns='urn:x:b'/></item></publish></pubsub></iq>",
	       "forbidden", NULL);
	/* Configure: the form, then fewer items. */
	expect(f, 1, "k1", "<iq type='get' id='k1'>" PSO "<configure node='urn:x:b'/></pubsub></iq>",
	       "pubsub#max_items", "<value>3</value>", "pubsub#access_model", NULL);
	expect(f, 1, "k2", "<iq type='set' id='k2'>" PSO "<configure node='urn:x:b'>"
	       CONFIG(F("pubsub#max_items", "1")) "</configure></pubsub></iq>", "type='result'",
	       NULL);
	expect(f, 2, "g4", GET("g4", "urn:x:b", "", ""), "id='four'", NULL);
	assert_null(sm_test_out_find("id='g4'", "id='three'", NULL));
	expect(f, 1, "k3", "<iq type='set' id='k3'>" PSO "<configure node='urn:x:b'>"
	       CONFIG(F("pubsub#max_items", "11")) "</configure></pubsub></iq>", "not-acceptable",
	       "pubsub#max_items", NULL);
	/* Delete: contacts told, nothing left. */
	expect(f, 1, "d1", "<iq type='set' id='d1'>" PSO "<delete node='urn:x:b'/></pubsub></iq>",
	       "type='result'", NULL);
	assert_non_null(sm_test_out_find(":c2s='2'", "<delete node='urn:x:b'/>", NULL));
	expect(f, 2, "g5", GET("g5", "urn:x:b", "", ""), "item-not-found", NULL);
	assert_int_equal(rows(f->sm, "pep-item"), 0);
	assert_int_equal(rows(f->sm, "pep-node"), 0);
}

/* Publish-options (XEP-0060 7.1.5), as OMEMO clients use them. */
static void test_publish_options(void **state)
{
	struct fixture *f = *state;
	const char *omemo = "<list xmlns='eu.siacs.conversations.axolotl'><device id='1'/></list>";
	char *pub = xasprintf("<iq type='set' id='o1'>" PS "<publish node='dl'><item id='current'>"
			      "%s</item></publish>" PUBOPTS(F("pubsub#access_model", "open")
			      F("pubsub#max_items", "max")) "</pubsub></iq>", omemo);

	expect(f, 1, "o1", pub, "type='result'", NULL);
	/* The node was created with them: open, so Eve reads it. */
	expect(f, 3, "o2", GET("o2", "dl", "", ""), "device id='1'", NULL);
	/* The same options again match ("max" is the limit). */
	expect(f, 1, "o1", pub, "type='result'", NULL);
	free(pub);
	/* A precondition not met: conflict, nothing published. */
	expect(f, 1, "o3", "<iq type='set' id='o3'>" PS "<publish node='dl'><item id='current'>"
	       "<list xmlns='eu.siacs.conversations.axolotl'/></item></publish>"
	       PUBOPTS(F("pubsub#access_model", "whitelist")) "</pubsub></iq>", "conflict",
	       "precondition-not-met", "pubsub#access_model", NULL);
	expect(f, 3, "o4", GET("o4", "dl", "", ""), "device id='1'", NULL);
}

/* The access models, for items and for notifications. */
static void test_access(void **state)
{
	struct fixture *f = *state;

	expect(f, 1, "p1", PUB("p1", "urn:x:mood", "m", "<mood xmlns='urn:x:mood'/>"), "result",
	       NULL);
	/* presence (the default): Bob yes, Eve no. */
	expect(f, 2, "g1", GET("g1", "urn:x:mood", "", ""), "<mood", NULL);
	expect(f, 3, "g2", GET("g2", "urn:x:mood", "", ""), "not-authorized",
	       "presence-subscription-required", NULL);
	/* whitelist: Bob neither, nor notified, until a member. */
	expect(f, 1, "w1", "<iq type='set' id='w1'>" PS "<create node='bm'/><configure>"
	       CONFIG(F("pubsub#access_model", "whitelist")) "</configure></pubsub></iq>",
	       "result", NULL);
	expect(f, 1, "w2", PUB("w2", "bm", "room1", "<c xmlns='urn:x:bm'/>"), "result", NULL);
	assert_int_equal(notified("2", "urn:x:bm"), 0);
	assert_int_equal(notified("1", "urn:x:bm"), 1);    /* her own session */
	expect(f, 2, "g3", GET("g3", "bm", "", ""), "not-allowed", "closed-node", NULL);
	expect(f, 1, "w3", "<iq type='set' id='w3'>" PSO "<affiliations node='bm'>"
	       "<affiliation jid='bob@example.org' affiliation='member'/></affiliations>"
	       "</pubsub></iq>", "type='result'", NULL);
	expect(f, 1, "w4", "<iq type='get' id='w4'>" PSO "<affiliations node='bm'/></pubsub></iq>",
	       "jid='bob@example.org' affiliation='member'", NULL);
	expect(f, 2, "g4", GET("g4", "bm", "", ""), "urn:x:bm", NULL);
	expect(f, 1, "w5", PUB("w5", "bm", "room2", "<c xmlns='urn:x:bm'/>"), "result", NULL);
	assert_int_equal(notified("2", "room2"), 1);
	/* An outcast is refused even on an open node. */
	expect(f, 1, "w6", "<iq type='set' id='w6'>" PSO "<affiliations node='bm'>"
	       "<affiliation jid='bob@example.org' affiliation='outcast'/>"
	       "<affiliation jid='ann@example.org' affiliation='none'/></affiliations>"
	       "</pubsub></iq>", "not-acceptable", NULL);
	expect(f, 1, "w7", "<iq type='set' id='w7'>" PSO "<affiliations node='bm'>"
	       "<affiliation jid='bob@example.org' affiliation='outcast'/></affiliations>"
	       "</pubsub></iq>", "type='result'", NULL);
	expect(f, 1, "w8", "<iq type='set' id='w8'>" PSO "<configure node='bm'>"
	       CONFIG(F("pubsub#access_model", "open")) "</configure></pubsub></iq>", "result",
	       NULL);
	expect(f, 2, "g5", GET("g5", "bm", "", ""), "forbidden", NULL);
	expect(f, 3, "g6", GET("g6", "bm", "", ""), "room2", NULL);
	/* roster: a contact in an allowed group. */
	expect(f, 1, "r1", "<iq type='set' id='r1'>" PSO "<configure node='urn:x:mood'>"
	       CONFIG(F("pubsub#access_model", "roster")
		      F("pubsub#roster_groups_allowed", "Friends")) "</configure></pubsub></iq>",
	       "result", NULL);
	expect(f, 2, "g7", GET("g7", "urn:x:mood", "", ""), "not-in-roster-group", NULL);
	expect(f, 1, "r2", "<iq type='set' id='r2'><query xmlns='jabber:iq:roster'><item "
	       "jid='bob@example.org'><group>Friends</group></item></query></iq>", "result", NULL);
	expect(f, 2, "g8", GET("g8", "urn:x:mood", "", ""), "<mood", NULL);
}

/* Limits, each named. */
static void test_limits(void **state)
{
	struct fixture *f = *state;
	char big[400];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	char *pub = xasprintf(PUB("l1", "n0", "i", "<p xmlns='urn:x'>%s</p>"), big);

	expect(f, 1, "l1", pub, "not-acceptable", "payload-too-big", "payload-size", NULL);
	free(pub);
	expect(f, 1, "l2", PUB("l2", "n1", "i", "<p xmlns='urn:x'/>"), "result", NULL);
	expect(f, 1, "l2", PUB("l2", "n2", "i", "<p xmlns='urn:x'/>"), "result", NULL);
	expect(f, 1, "l2", PUB("l2", "n3", "i", "<p xmlns='urn:x'/>"), "result", NULL);
	expect(f, 1, "l2", PUB("l2", "n4", "i", "<p xmlns='urn:x'/>"), "result", NULL);
	expect(f, 1, "l3", PUB("l3", "n5", "i", "<p xmlns='urn:x'/>"), "not-allowed",
	       "max-nodes-exceeded", "max-nodes", NULL);
	expect(f, 1, "l4", "<iq type='set' id='l4'>" PS "<publish node='n1'><item id='j'>"
	       "<p xmlns='urn:x'/><q xmlns='urn:x'/></item></publish></pubsub></iq>",
	       "invalid-payload", NULL);
	expect(f, 1, "l5", "<iq type='set' id='l5'>" PS "<publish node='n1'><item id='j'/>"
	       "</publish></pubsub></iq>", "payload-required", NULL);
	expect(f, 1, "l6", "<iq type='set' id='l6'>" PS "<subscribe node='n1' "
	       "jid='ann@example.org'/></pubsub></iq>", "feature-not-implemented", NULL);
}

/* pep.user-size: the bytes of all a user's payloads (500 here; each
 * payload below is 176 bytes serialized). */
static void test_user_size(void **state)
{
	struct fixture *f = *state;
	char x[151];
	char *pub[3];
	int i;

	memset(x, 'x', sizeof(x) - 1);
	x[sizeof(x) - 1] = '\0';
	for (i = 0; i < 3; i++)
		pub[i] = xasprintf("<iq type='set' id='s%d'>" PS "<publish node='n%d'><item id='i'>"
				   "<p xmlns='urn:x'>%s</p></item></publish></pubsub></iq>", i, i, x);
	expect(f, 1, "s0", pub[0], "type='result'", NULL);
	expect(f, 1, "s1", pub[1], "type='result'", NULL);
	expect(f, 1, "s2", pub[2], "not-acceptable", "user-size", NULL);
	/* The same item again replaces it: no more bytes. */
	expect(f, 1, "s1", pub[1], "type='result'", NULL);
	expect(f, 1, "r1", "<iq type='set' id='r1'>" PS "<retract node='n1'><item id='i'/>"
	       "</retract></pubsub></iq>", "type='result'", NULL);
	expect(f, 1, "s2", pub[2], "type='result'", NULL);
	expect(f, 1, "d1", "<iq type='set' id='d1'>" PSO "<delete node='n0'/></pubsub></iq>",
	       "type='result'", NULL);
	expect(f, 1, "s1", pub[1], "type='result'", NULL);
	for (i = 0; i < 3; i++)
		free(pub[i]);
}

/* Items and configuration survive an sm restart; rows of the older
 * pep-items table are served, and move to the new tables when written. */
static void test_storage(void **state)
{
	struct fixture *f = *state;
	struct os *os = os_new();
	struct os_object *o = os_object_new(os);
	static const char xml[] = "<item id='current'><tune xmlns='http://jabber.org/protocol/"
				  "tune'><artist>Old</artist></tune></item>";
	const char *error;
	struct nad *old = nad_parse(xml, strlen(xml), 16, &error, NULL);

	assert_non_null(old);
	os_object_put_str(o, "node", "http://jabber.org/protocol/tune");
	os_object_put_nad(o, "xml", old);
	nad_free(&old);
	assert_int_equal(storage_put(f->sm->st, "pep-items", "ann@example.org", os, &error),
			 STORAGE_OK);
	os_free(&os);
	expect(f, 1, "c1", "<iq type='set' id='c1'>" PS "<create node='bk'/><configure>"
	       CONFIG(F("pubsub#max_items", "5") F("pubsub#access_model", "whitelist"))
	       "</configure></pubsub></iq>", "result", NULL);
	expect(f, 1, "p1", PUB("p1", "bk", "a", "<c xmlns='urn:x:bm'>A</c>"), "result", NULL);
	expect(f, 1, "p2", PUB("p2", "bk", "b", "<c xmlns='urn:x:bm'>B</c>"), "result", NULL);
	/* Restart the sm on the same database. */
	sm_test_out_clear();
	sm_free(&f->sm);
	f->sm = new_sm(f->dir, f->caps);
	login_all(f);
	expect(f, 1, "g1", GET("g1", "bk", "", ""), "id='a'", ">A</c>", "id='b'", ">B</c>", NULL);
	expect(f, 1, "k1", "<iq type='get' id='k1'>" PSO "<configure node='bk'/></pubsub></iq>",
	       "<value>5</value>", "<value>whitelist</value>", NULL);
	expect(f, 2, "g2", GET("g2", "bk", "", ""), "closed-node", NULL);
	/* The old row, served as it was. */
	expect(f, 2, "g3", GET("g3", "http://jabber.org/protocol/tune", "", ""), "id='current'",
	       "<artist>Old</artist>", NULL);
	expect(f, 1, "p3", PUB("p3", "http://jabber.org/protocol/tune", "current",
			       "<tune xmlns='http://jabber.org/protocol/tune'><artist>New</artist>"
			       "</tune>"), "result", NULL);
	assert_int_equal(rows(f->sm, "pep-items"), 0);
	assert_int_equal(rows(f->sm, "pep-node"), 2);
	assert_int_equal(rows(f->sm, "pep-item"), 3);
	expect(f, 2, "g4", GET("g4", "http://jabber.org/protocol/tune", "", ""), "New", NULL);
}

/* XEP-0115 caps of Bob's client: with urn:x:mood+notify (CAPS_MOOD),
 * and one whose answer will not hash to its ver (CAPS_LIAR). */
#define CAPS_MOOD "6fD2Y5HjRjHP8/4BV802Upgn+gM="
#define CAPS_LIAR "WYKI9tDj63x02oyN58LIlewbDFU="
#define PRES_CAPS(ver) "<presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' " \
	"node='urn:x:client' ver='" ver "'/></presence>"
#define DISCO_ANSWER(ver, features) "<iq type='result' id='pepcaps' to='ann@example.org'>" \
	"<query xmlns='http://jabber.org/protocol/disco#info' node='urn:x:client#" ver "'>" \
	"<identity category='client' type='pc' name='T'/>" features "</query></iq>"
#define FEAT(v) "<feature var='" v "'/>"

/* +notify filtering (XEP-0163 4, XEP-0115): a contact whose caps list
 * NODE+notify gets the node's notifications at its full JID, and the
 * last item when it becomes available; a contact without caps, or whose
 * caps do not list it, gets none; the owner's session without caps gets
 * everything; an answer that does not hash to its ver is not believed. */
static void test_caps(void **state)
{
	struct fixture *f = *state;

	/* Mutual subscription: Ann receives Bob's presence. */
	sm_test_from_sess(f->sm, "1", f->ann, "<presence to='bob@example.org' type='subscribe'/>");
	sm_test_from_sess(f->sm, "2", f->bob, "<presence to='ann@example.org' type='subscribed'/>");
	expect(f, 1, "p0", PUB("p0", "urn:x:mood", "m0", "<mood xmlns='urn:x:mood'>early</mood>"),
	       "result", NULL);
	assert_int_equal(notified("2", "early"), 0);    /* no caps yet */
	assert_int_equal(notified("1", "early"), 1);    /* her own session, no caps */
	/* Bob's caps: Ann's sm asks what they mean, at his full JID. */
	sm_test_out_clear();
	sm_test_from_sess(f->sm, "2", f->bob, PRES_CAPS(CAPS_MOOD));
	assert_non_null(sm_test_out_find(":c2s='2'", "id='pepcaps'", "to='bob@example.org/b'",
					 "node='urn:x:client#" CAPS_MOOD "'", NULL));
	sm_test_out_clear();
	sm_test_from_sess(f->sm, "2", f->bob, DISCO_ANSWER(CAPS_MOOD,
		FEAT("http://jabber.org/protocol/disco#info") FEAT("urn:x:mood")
		FEAT("urn:x:mood+notify")));
	/* The last item, now that his caps say he wants it. */
	assert_int_equal(notified("2", "early"), 1);
	assert_non_null(sm_test_out_find(":c2s='2'", "to='bob@example.org/b'", "early", NULL));
	expect(f, 1, "p1", PUB("p1", "urn:x:mood", "m1", "<mood xmlns='urn:x:mood'>calm</mood>"),
	       "result", NULL);
	assert_int_equal(notified("2", "calm"), 1);
	expect(f, 1, "p2", PUB("p2", "urn:x:tune", "t1", "<tune xmlns='urn:x:tune'/>"), "result",
	       NULL);
	assert_int_equal(notified("2", "urn:x:tune"), 0);       /* not in his caps */
	assert_int_equal(notified("1", "urn:x:tune"), 1);
	/* Unavailable, then back: the last item again, without asking. */
	sm_test_from_sess(f->sm, "2", f->bob, "<presence type='unavailable'/>");
	sm_test_out_clear();
	sm_test_from_sess(f->sm, "2", f->bob, PRES_CAPS(CAPS_MOOD));
	assert_int_equal(notified("2", "calm"), 1);
	assert_null(sm_test_out_find("pepcaps", NULL));
	/* Caps whose answer does not hash to them: no notifications. */
	sm_test_from_sess(f->sm, "2", f->bob, PRES_CAPS(CAPS_LIAR));
	sm_test_from_sess(f->sm, "2", f->bob, DISCO_ANSWER(CAPS_LIAR,
		FEAT("urn:x:mood") FEAT("urn:x:mood+notify")));
	expect(f, 1, "p3", PUB("p3", "urn:x:mood", "m2", "<mood xmlns='urn:x:mood'>liar</mood>"),
	       "result", NULL);
	assert_int_equal(notified("2", "liar"), 0);
	/* Without caps at all: none. */
	sm_test_from_sess(f->sm, "2", f->bob, "<presence/>");
	expect(f, 1, "p4", PUB("p4", "urn:x:mood", "m3", "<mood xmlns='urn:x:mood'>plain</mood>"),
	       "result", NULL);
	assert_int_equal(notified("2", "plain"), 0);
}

/* The account says it is a PEP service (XEP-0163 6.1), to contacts;
 * filtered-notifications only when it filters. */
static void test_disco(void **state)
{
	struct fixture *f = *state;

	expect(f, 2, "i1", "<iq type='get' id='i1' to='ann@example.org'><query "
	       "xmlns='http://jabber.org/protocol/disco#info'/></iq>",
	       "category='pubsub' type='pep'", "pubsub#publish-options", "pubsub#multi-items",
	       "category='account'", NULL);
	if (f->caps)
		assert_non_null(sm_test_out_find("id='i1'", "pubsub#filtered-notifications", NULL));
	else
		assert_null(sm_test_out_find("id='i1'", "pubsub#filtered-notifications", NULL));
}

static int setup_caps(void **state)
{
	*state = (void *)1;
	return setup(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_items, setup, teardown),
		cmocka_unit_test_setup_teardown(test_publish_options, setup, teardown),
		cmocka_unit_test_setup_teardown(test_access, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_storage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_caps, setup_caps, teardown),
		cmocka_unit_test_setup_teardown(test_disco, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disco, setup_caps, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
