/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_muc: the XEP-0045 service without a router: stanzas go in through
 * muc_stanza(), what the service sends is captured, and each test checks
 * what every occupant would see: join and leave presence with their
 * status codes, creation of locked and instant rooms, messages, subject,
 * private messages, nick change and conflict, kick, ban, voice,
 * members-only and password rooms, history on join, invitations,
 * destruction with an alternate venue, self-ping, disco, and the limits
 * with errors that name them.
 */
#include "config.h"
#include "muc/muc.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "muc/form.h"
#include "util/buf.h"
#include "util/config_file.h"
#include "util/jid.h"
#include "util/nad.h"

#define ROOM "room@conference.localhost"
#define A "alice@localhost/desk"
#define B "bob@localhost/x"
#define C "carol@localhost/y"
#define STANZAS "urn:ietf:params:xml:ns:xmpp-stanzas"

#define CAP_MAX 512
static struct nad *cap[CAP_MAX];
static int ncap;
static time_t fake_now = 1000000;

static void capture(struct muc *muc, struct nad *nad)
{
	(void)muc;
	assert_true(ncap < CAP_MAX);
	cap[ncap++] = nad;
}

static void clear(void)
{
	while (ncap > 0)
		nad_free(&cap[--ncap]);
}

static time_t now(void)
{
	return fake_now;
}

static struct muc *service(const char *extra)
{
	char xml[1024];
	const char *error;
	struct config *cfg;
	struct muc *muc;

	snprintf(xml, sizeof(xml), "<muc><service>conference.localhost</service>%s</muc>",
		 extra);
	cfg = config_load_mem("muc.xml", xml, strlen(xml), NULL, &error);
	assert_non_null(cfg);
	muc = muc_new(cfg, &error);
	assert_non_null(muc);
	muc->send = capture;
	muc->now = now;
	return muc;
}

static void done(struct muc **mucp)
{
	struct config *cfg = (*mucp)->cfg;

	clear();
	muc_free(mucp);
	config_free(&cfg);
}

static void in(struct muc *muc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void in(struct muc *muc, const char *fmt, ...)
{
	char xml[4096];
	const char *error;
	struct nad *nad;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(xml, sizeof(xml), fmt, ap);
	va_end(ap);
	nad = nad_parse(xml, strlen(xml), 0, &error, NULL);
	if (nad == NULL)
		fail_msg("bad test XML %s: %s", xml, error);
	muc_stanza(muc, nad);
}

static int match(const struct nad *nad, const char *name, const char *to, const char *from)
{
	const char *t = nad_attr(nad, 0, NULL, "to"), *f = nad_attr(nad, 0, NULL, "from");

	return strcmp(nad_name(nad, 0), name) == 0 && (to == NULL || (t && !strcmp(t, to))) &&
	       (from == NULL || (f && !strcmp(f, from)));
}

/* The first captured stanza that matches, removed from the capture; NULL
 * if none. */
static struct nad *find(const char *name, const char *to, const char *from)
{
	struct nad *nad;
	int i;

	for (i = 0; i < ncap; i++)
		if (match(cap[i], name, to, from)) {
			nad = cap[i];
			memmove(&cap[i], &cap[i + 1], (size_t)(ncap - i - 1) * sizeof(cap[0]));
			ncap--;
			return nad;
		}
	return NULL;
}

static struct nad *take(const char *name, const char *to, const char *from)
{
	struct nad *nad = find(name, to, from);

	if (nad == NULL)
		fail_msg("no <%s to='%s' from='%s'> among %d captured", name, to ? to : "*",
			 from ? from : "*", ncap);
	return nad;
}

static int count(const char *name, const char *to, const char *from)
{
	int i, n = 0;

	for (i = 0; i < ncap; i++)
		n += match(cap[i], name, to, from);
	return n;
}

static int has_status(const struct nad *nad, int code)
{
	int x = nad_child(nad, 0, MUC_NS_USER, "x"), s;
	char num[8];

	snprintf(num, sizeof(num), "%d", code);
	for (s = nad_child(nad, x, MUC_NS_USER, "status"); s != NAD_NONE;
	     s = nad_next(nad, s, MUC_NS_USER, "status"))
		if (strcmp(nad_attr(nad, s, NULL, "code"), num) == 0)
			return 1;
	return 0;
}

static const char *item_attr(const struct nad *nad, const char *attr)
{
	int x = nad_child(nad, 0, MUC_NS_USER, "x");

	return nad_attr(nad, nad_child(nad, x, MUC_NS_USER, "item"), NULL, attr);
}

/* The error condition of an error stanza (NULL if it is not one). */
static const char *cond(const struct nad *nad)
{
	int e = nad_child(nad, 0, NULL, "error");
	const char *type = nad_attr(nad, 0, NULL, "type");

	if (type == NULL || strcmp(type, "error") != 0 || e == NAD_NONE)
		return NULL;
	return nad_name(nad, nad_child(nad, e, STANZAS, NULL));
}

static const char *error_text(const struct nad *nad)
{
	int e = nad_child(nad, 0, NULL, "error");

	return nad_text(nad, nad_child(nad, e, STANZAS, "text"), NULL);
}

static void join(struct muc *muc, const char *real, const char *nick, const char *x)
{
	in(muc, "<presence xmlns='jabber:client' from='%s' to='" ROOM "/%s'>%s</presence>",
	   real, nick, x);
}

static void expect_error(const char *name, const char *to, const char *want)
{
	struct nad *nad = take(name, to, NULL);

	assert_non_null(cond(nad));
	assert_string_equal(cond(nad), want);
	nad_free(&nad);
}

#define MUCX "<x xmlns='http://jabber.org/protocol/muc'/>"
#define OWNER_SUBMIT(fields)                                                           \
	"<iq xmlns='jabber:client' type='set' id='c1' from='" A "' to='" ROOM "'>"     \
	"<query xmlns='http://jabber.org/protocol/muc#owner'>"                         \
	"<x xmlns='jabber:x:data' type='submit'>" fields "</x></query></iq>"
#define FIELD(var, val) "<field var='" var "'><value>" val "</value></field>"

/* Alice creates ROOM (instant, configured with `fields`), bob joins. */
static struct muc *room_with_two(const char *fields)
{
	struct muc *muc = service("");

	join(muc, A, "alice", MUCX);
	in(muc, OWNER_SUBMIT("%s"), fields);
	join(muc, B, "bob", MUCX);
	clear();
	return muc;
}

static void test_create_join_leave(void **state)
{
	struct muc *muc = service("");
	struct nad *p;

	(void)state;
	/* A room is created locked (XEP-0045 10.1): 201 and 110 to its owner */
	join(muc, A, "alice", MUCX);
	p = take("presence", A, ROOM "/alice");
	assert_true(has_status(p, 201) && has_status(p, 110));
	assert_string_equal(item_attr(p, "affiliation"), "owner");
	assert_string_equal(item_attr(p, "role"), "moderator");
	nad_free(&p);
	p = take("message", A, ROOM);          /* the (empty) subject */
	assert_int_not_equal(nad_child(p, 0, NULL, "subject"), NAD_NONE);
	nad_free(&p);
	assert_int_equal(ncap, 0);
	/* locked: others cannot enter */
	join(muc, B, "bob", MUCX);
	expect_error("presence", B, "item-not-found");
	/* the owner accepts the instant room: now bob can */
	in(muc, OWNER_SUBMIT(""));
	p = take("iq", A, ROOM);
	assert_string_equal(nad_attr(p, 0, NULL, "type"), "result");
	nad_free(&p);
	join(muc, B, "bob", MUCX);
	/* bob sees alice, then himself (110, not 201); alice sees bob */
	p = take("presence", B, ROOM "/alice");
	assert_false(has_status(p, 110));
	/* semi-anonymous: bob, not a moderator, does not see alice's JID */
	assert_null(item_attr(p, "jid"));
	nad_free(&p);
	p = take("presence", B, ROOM "/bob");
	assert_true(has_status(p, 110));
	assert_false(has_status(p, 201));
	assert_string_equal(item_attr(p, "role"), "participant");
	nad_free(&p);
	p = take("presence", A, ROOM "/bob");
	/* alice is a moderator: she sees bob's real JID */
	assert_string_equal(item_attr(p, "jid"), B);
	nad_free(&p);
	clear();
	/* bob leaves: both hear it, bob with 110 */
	in(muc, "<presence xmlns='jabber:client' type='unavailable' from='" B "' to='" ROOM
	   "/bob'><status>bye</status></presence>");
	p = take("presence", B, ROOM "/bob");
	assert_true(has_status(p, 110));
	assert_string_equal(nad_attr(p, 0, NULL, "type"), "unavailable");
	nad_free(&p);
	p = take("presence", A, ROOM "/bob");
	assert_string_equal(nad_attr(p, 0, NULL, "type"), "unavailable");
	assert_string_equal(nad_text(p, nad_child(p, 0, NULL, "status"), NULL), "bye");
	nad_free(&p);
	/* the last one out: a temporary room goes away */
	in(muc, "<presence xmlns='jabber:client' type='unavailable' from='" A "' to='" ROOM
	   "/alice'/>");
	assert_null(muc_room_get(muc, ROOM));
	done(&muc);
}

static void test_instant_for_old_clients(void **state)
{
	struct muc *muc = service("");
	struct nad *p;

	(void)state;
	/* no <x xmlns='...muc'/>: an instant room, open to others at once */
	join(muc, A, "alice", "");
	p = take("presence", A, ROOM "/alice");
	assert_true(has_status(p, 201));
	nad_free(&p);
	join(muc, B, "bob", "");
	assert_int_equal(count("presence", B, NULL), 2);
	done(&muc);
}

static void test_messages_subject_pm(void **state)
{
	struct muc *muc = room_with_two("");
	struct nad *m;

	(void)state;
	in(muc, "<message xmlns='jabber:client' type='groupchat' from='" B "' to='" ROOM
	   "'><body>hello</body></message>");
	m = take("message", A, ROOM "/bob");
	assert_string_equal(nad_text(m, nad_child(m, 0, NULL, "body"), NULL), "hello");
	nad_free(&m);
	nad_free((m = take("message", B, ROOM "/bob"), &m));
	/* a non-occupant may not speak */
	in(muc, "<message xmlns='jabber:client' type='groupchat' from='" C "' to='" ROOM
	   "'><body>hi</body></message>");
	expect_error("message", C, "not-acceptable");
	/* subject: moderators only by default */
	in(muc, "<message xmlns='jabber:client' type='groupchat' from='" B "' to='" ROOM
	   "'><subject>mine</subject></message>");
	expect_error("message", B, "forbidden");
	in(muc, "<message xmlns='jabber:client' type='groupchat' from='" A "' to='" ROOM
	   "'><subject>Topic</subject></message>");
	assert_int_equal(count("message", NULL, ROOM "/alice"), 2);
	assert_string_equal(muc_room_get(muc, ROOM)->room->subject, "Topic");
	clear();
	/* private message, from the sender's room JID to the target's real JID */
	in(muc, "<message xmlns='jabber:client' type='chat' from='" B "' to='" ROOM
	   "/alice'><body>psst</body></message>");
	m = take("message", A, ROOM "/bob");
	assert_string_equal(nad_attr(m, 0, NULL, "type"), "chat");
	nad_free(&m);
	in(muc, "<message xmlns='jabber:client' type='chat' from='" B "' to='" ROOM
	   "/nobody'><body>psst</body></message>");
	expect_error("message", B, "item-not-found");
	done(&muc);
}

static void test_nick_change_and_conflict(void **state)
{
	struct muc *muc = room_with_two("");
	struct nad *p;

	(void)state;
	join(muc, C, "bob", MUCX);
	p = take("presence", C, ROOM "/bob");
	assert_string_equal(cond(p), "conflict");
	nad_free(&p);
	in(muc, "<presence xmlns='jabber:client' from='" B "' to='" ROOM "/alice'/>");
	expect_error("presence", B, "conflict");
	in(muc, "<presence xmlns='jabber:client' from='" B "' to='" ROOM "/robert'/>");
	p = take("presence", A, ROOM "/bob");
	assert_true(has_status(p, 303));
	assert_string_equal(item_attr(p, "nick"), "robert");
	nad_free(&p);
	p = take("presence", B, ROOM "/bob");
	assert_true(has_status(p, 303) && has_status(p, 110));
	nad_free(&p);
	p = take("presence", A, ROOM "/robert");
	assert_null(nad_attr(p, 0, NULL, "type"));
	nad_free(&p);
	nad_free((p = take("presence", B, ROOM "/robert"), &p));
	done(&muc);
}

#define ADMIN_SET(from, item)                                                     \
	"<iq xmlns='jabber:client' type='set' id='a1' from='" from "' to='" ROOM "'>"  \
	"<query xmlns='http://jabber.org/protocol/muc#admin'>" item "</query></iq>"

static void test_kick_ban_voice(void **state)
{
	struct muc *muc = room_with_two(FIELD("muc#roomconfig_moderatedroom", "1"));
	struct nad *p;

	(void)state;
	/* a participant cannot kick */
	in(muc, ADMIN_SET(B, "<item nick='alice' role='none'/>"));
	expect_error("iq", B, "forbidden");
	/* in a moderated room bob (no affiliation) is a visitor: no voice */
	in(muc, "<message xmlns='jabber:client' type='groupchat' from='" B "' to='" ROOM
	   "'><body>hi</body></message>");
	expect_error("message", B, "forbidden");
	in(muc, ADMIN_SET(A, "<item nick='bob' role='participant'/>"));
	p = take("presence", A, ROOM "/bob");
	assert_string_equal(item_attr(p, "role"), "participant");
	nad_free(&p);
	clear();
	in(muc, "<message xmlns='jabber:client' type='groupchat' from='" B "' to='" ROOM
	   "'><body>hi</body></message>");
	assert_int_equal(count("message", NULL, ROOM "/bob"), 2);
	clear();
	/* kick: 307 with the reason and the actor, bob gone */
	in(muc, ADMIN_SET(A, "<item nick='bob' role='none'><reason>calm down</reason></item>"));
	p = take("presence", B, ROOM "/bob");
	assert_true(has_status(p, 307) && has_status(p, 110));
	assert_string_equal(nad_attr(p, 0, NULL, "type"), "unavailable");
	nad_free(&p);
	p = take("presence", A, ROOM "/bob");
	assert_true(has_status(p, 307));
	nad_free(&p);
	clear();
	/* ban: bob rejoins, is banned (301), cannot come back (403) */
	join(muc, B, "bob", MUCX);
	clear();
	in(muc, ADMIN_SET(A, "<item jid='bob@localhost' affiliation='outcast'/>"));
	p = take("presence", B, ROOM "/bob");
	assert_true(has_status(p, 301));
	nad_free(&p);
	clear();
	join(muc, B, "bob", MUCX);
	expect_error("presence", B, "forbidden");
	/* the outcast list shows him */
	in(muc, "<iq xmlns='jabber:client' type='get' id='l' from='" A "' to='" ROOM "'>"
	   "<query xmlns='http://jabber.org/protocol/muc#admin'>"
	   "<item affiliation='outcast'/></query></iq>");
	p = take("iq", A, ROOM);
	assert_string_equal(nad_attr(p, nad_child(p, nad_child(p, 0, NULL, NULL), NULL,
						 "item"), NULL, "jid"), "bob@localhost");
	nad_free(&p);
	/* the last owner cannot step down */
	in(muc, ADMIN_SET(A, "<item jid='alice@localhost' affiliation='member'/>"));
	expect_error("iq", A, "conflict");
	done(&muc);
}

static void test_members_only_and_password(void **state)
{
	struct muc *muc = room_with_two("");
	struct nad *p;

	(void)state;
	clear();
	in(muc, OWNER_SUBMIT(FIELD("muc#roomconfig_membersonly", "1")
			     FIELD("muc#roomconfig_passwordprotectedroom", "1")
			     FIELD("muc#roomconfig_roomsecret", "pw")));
	/* bob is no member: out, with 322 */
	p = take("presence", B, ROOM "/bob");
	assert_true(has_status(p, 322) && has_status(p, 110));
	nad_free(&p);
	clear();
	join(muc, C, "carol", MUCX);
	p = take("presence", C, ROOM "/carol");
	assert_string_equal(cond(p), "registration-required");
	assert_non_null(strstr(error_text(p), "members-only"));
	nad_free(&p);
	in(muc, ADMIN_SET(A, "<item jid='carol@localhost' affiliation='member'/>"));
	clear();
	join(muc, C, "carol", MUCX);
	expect_error("presence", C, "not-authorized");
	join(muc, C, "carol",
	     "<x xmlns='http://jabber.org/protocol/muc'><password>bad</password></x>");
	expect_error("presence", C, "not-authorized");
	join(muc, C, "carol",
	     "<x xmlns='http://jabber.org/protocol/muc'><password>pw</password></x>");
	p = take("presence", C, ROOM "/carol");
	assert_true(has_status(p, 110));
	nad_free(&p);
	done(&muc);
}

static void test_history_on_join(void **state)
{
	struct muc *muc = room_with_two("");
	struct nad *m;
	int i;

	(void)state;
	for (i = 0; i < 5; i++) {
		fake_now = 1000000 + i * 100;
		in(muc, "<message xmlns='jabber:client' type='groupchat' from='" A "' to='" ROOM
		   "'><body>m%d</body></message>", i);
	}
	clear();
	join(muc, C, "carol",
	     "<x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='2'/></x>");
	assert_int_equal(count("message", C, ROOM "/alice"), 2);
	m = take("message", C, ROOM "/alice");
	assert_string_equal(nad_text(m, nad_child(m, 0, NULL, "body"), NULL), "m3");
	assert_string_equal(nad_attr(m, nad_child(m, 0, MUC_NS_DELAY, "delay"), NULL, "from"),
			    ROOM);
	nad_free(&m);
	clear();
	in(muc, "<presence xmlns='jabber:client' type='unavailable' from='" C "' to='" ROOM
	   "/carol'/>");
	/* seconds=150 at t=1000400: m3 (1000300) and m4 */
	join(muc, C, "carol",
	     "<x xmlns='http://jabber.org/protocol/muc'><history seconds='150'/></x>");
	assert_int_equal(count("message", C, ROOM "/alice"), 2);
	clear();
	in(muc, "<presence xmlns='jabber:client' type='unavailable' from='" C "' to='" ROOM
	   "/carol'/>");
	join(muc, C, "carol",
	     "<x xmlns='http://jabber.org/protocol/muc'><history maxchars='0'/></x>");
	assert_int_equal(count("message", C, ROOM "/alice"), 0);
	clear();
	in(muc, "<presence xmlns='jabber:client' type='unavailable' from='" C "' to='" ROOM
	   "/carol'/>");
	join(muc, C, "carol", "<x xmlns='http://jabber.org/protocol/muc'>"
	     "<history since='1970-01-12T13:50:00Z'/></x>");     /* 1000200 */
	assert_int_equal(count("message", C, ROOM "/alice"), 3);
	done(&muc);
}

static void test_invite_destroy_ping(void **state)
{
	struct muc *muc = room_with_two("");
	struct nad *m;

	(void)state;
	/* bob is made a member, the room members-only: he stays */
	in(muc, ADMIN_SET(A, "<item jid='bob@localhost' affiliation='member'/>"));
	in(muc, OWNER_SUBMIT(FIELD("muc#roomconfig_membersonly", "1")));
	assert_int_equal(count("presence", B, ROOM "/bob"), 1);        /* member now */
	clear();
	in(muc, "<message xmlns='jabber:client' from='" A "' to='" ROOM "'>"
	   "<x xmlns='http://jabber.org/protocol/muc#user'><invite to='carol@localhost'>"
	   "<reason>join us</reason></invite></x></message>");
	m = take("message", "carol@localhost", ROOM);
	assert_string_equal(nad_attr(m, nad_child(m, nad_child(m, 0, MUC_NS_USER, "x"),
						  MUC_NS_USER, "invite"), NULL, "from"), A);
	nad_free(&m);
	/* the invitee of a members-only room became a member */
	assert_int_equal(room_affil_str(muc_room_get(muc, ROOM)->room, "carol@localhost"),
			 MUC_AFFIL_MEMBER);
	/* bob, no admin, may not invite to a members-only room */
	in(muc, "<message xmlns='jabber:client' from='" B "' to='" ROOM "'>"
	   "<x xmlns='http://jabber.org/protocol/muc#user'><invite to='dave@localhost'/>"
	   "</x></message>");
	expect_error("message", B, "forbidden");
	/* self-ping */
	in(muc, "<iq xmlns='jabber:client' type='get' id='p' from='" B "' to='" ROOM "/bob'>"
	   "<ping xmlns='urn:xmpp:ping'/></iq>");
	m = take("iq", B, ROOM "/bob");
	assert_string_equal(nad_attr(m, 0, NULL, "type"), "result");
	nad_free(&m);
	in(muc, "<iq xmlns='jabber:client' type='get' id='p' from='" C "' to='" ROOM "/bob'>"
	   "<ping xmlns='urn:xmpp:ping'/></iq>");
	expect_error("iq", C, "not-acceptable");
	/* only the owner destroys; occupants hear the alternate venue */
	in(muc, "<iq xmlns='jabber:client' type='set' id='d' from='" A "' to='" ROOM "'>"
	   "<query xmlns='http://jabber.org/protocol/muc#owner'>"
	   "<destroy jid='new@conference.localhost'><reason>moved</reason></destroy>"
	   "</query></iq>");
	m = take("presence", B, ROOM "/bob");
	assert_string_equal(nad_attr(m, nad_child(m, nad_child(m, 0, MUC_NS_USER, "x"),
						  MUC_NS_USER, "destroy"), NULL, "jid"),
			    "new@conference.localhost");
	nad_free(&m);
	assert_null(muc_room_get(muc, ROOM));
	done(&muc);
}

static int has_feature(const struct nad *nad, const char *var)
{
	int q = nad_child(nad, 0, NULL, "query"), f;

	for (f = nad_child(nad, q, NULL, "feature"); f != NAD_NONE;
	     f = nad_next(nad, f, NULL, "feature"))
		if (strcmp(nad_attr(nad, f, NULL, "var"), var) == 0)
			return 1;
	return 0;
}

static void test_disco(void **state)
{
	struct muc *muc = room_with_two(FIELD("muc#roomconfig_persistentroom", "1")
					FIELD("muc#roomconfig_whois", "anyone"));
	struct nad *r;

	(void)state;
	in(muc, "<iq xmlns='jabber:client' type='get' id='i' from='" C "' to='" ROOM "'>"
	   "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
	r = take("iq", C, ROOM);
	assert_true(has_feature(r, "http://jabber.org/protocol/muc"));
	assert_true(has_feature(r, "muc_persistent") && has_feature(r, "muc_public") &&
		    has_feature(r, "muc_open") && has_feature(r, "muc_unmoderated") &&
		    has_feature(r, "muc_unsecured") && has_feature(r, "muc_nonanonymous"));
	assert_false(has_feature(r, "muc_temporary"));
	nad_free(&r);
	in(muc, "<iq xmlns='jabber:client' type='get' id='i' from='" C
	   "' to='conference.localhost'><query xmlns='http://jabber.org/protocol/disco#items'/>"
	   "</iq>");
	r = take("iq", C, "conference.localhost");
	assert_string_equal(nad_attr(r, nad_child(r, nad_child(r, 0, NULL, "query"), NULL,
						  "item"), NULL, "jid"), ROOM);
	nad_free(&r);
	in(muc, "<iq xmlns='jabber:client' type='get' id='i' from='" C "' to='nope@"
	   "conference.localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
	expect_error("iq", C, "item-not-found");
	done(&muc);
}

static void test_limits(void **state)
{
	struct muc *muc = service("<limits><rooms-per-user>1</rooms-per-user>"
				  "<occupants>2</occupants><message-size>300</message-size>"
				  "</limits>");
	char big[400];
	struct nad *p;

	(void)state;
	join(muc, A, "alice", "");
	join(muc, A, "alice", "");      /* a presence update, not a second room */
	in(muc, "<presence xmlns='jabber:client' from='" A "' to='other@conference.localhost"
	   "/alice'/>");
	p = take("presence", A, "other@conference.localhost/alice");
	assert_string_equal(cond(p), "not-allowed");
	assert_non_null(strstr(error_text(p), "rooms-per-user"));
	nad_free(&p);
	join(muc, B, "bob", "");
	clear();
	join(muc, C, "carol", "");
	p = take("presence", C, ROOM "/carol");
	assert_string_equal(cond(p), "service-unavailable");
	assert_non_null(strstr(error_text(p), "occupants"));
	nad_free(&p);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	in(muc, "<message xmlns='jabber:client' type='groupchat' from='" B "' to='" ROOM
	   "'><body>%s</body></message>", big);
	p = take("message", B, ROOM);
	assert_string_equal(cond(p), "not-acceptable");
	assert_non_null(strstr(error_text(p), "message-size"));
	nad_free(&p);
	assert_int_equal(count("message", A, NULL), 0);
	done(&muc);
}

static void test_bad_input(void **state)
{
	struct muc *muc = service("");

	(void)state;
	/* no nick */
	in(muc, "<presence xmlns='jabber:client' from='" A "' to='" ROOM "'/>");
	expect_error("presence", A, "jid-malformed");
	/* a bad history request */
	join(muc, A, "alice", "<x xmlns='http://jabber.org/protocol/muc'>"
	     "<history maxstanzas='many'/></x>");
	expect_error("presence", A, "bad-request");
	assert_null(muc_room_get(muc, ROOM));
	/* no from, a bad to, a result: silently dropped */
	in(muc, "<message xmlns='jabber:client' to='" ROOM "'><body>x</body></message>");
	in(muc, "<iq xmlns='jabber:client' type='result' from='" A "' to='" ROOM "'/>");
	in(muc, "<iq xmlns='jabber:client' type='get' from='" A "' to='@@'/>");
	expect_error("iq", A, "jid-malformed");
	assert_int_equal(ncap, 0);
	done(&muc);
}

static void test_iq_relay_config_change(void **state)
{
	struct muc *muc = room_with_two("");
	struct nad *m;

	(void)state;
	/* an iq from bob to alice's room JID reaches alice from bob's room
	 * JID; her answer goes back the same way */
	in(muc, "<iq xmlns='jabber:client' type='get' id='v1' from='" B "' to='" ROOM "/alice'>"
	   "<query xmlns='jabber:iq:version'/></iq>");
	m = take("iq", A, ROOM "/bob");
	assert_string_equal(nad_attr(m, 0, NULL, "id"), "v1");
	nad_free(&m);
	in(muc, "<iq xmlns='jabber:client' type='result' id='v1' from='" A "' to='" ROOM "/bob'>"
	   "<query xmlns='jabber:iq:version'><name>x</name></query></iq>");
	m = take("iq", B, ROOM "/alice");
	assert_string_equal(nad_attr(m, 0, NULL, "type"), "result");
	nad_free(&m);
	/* a vCard request goes to the account (bare JID) */
	in(muc, "<iq xmlns='jabber:client' type='get' id='v2' from='" B "' to='" ROOM "/alice'>"
	   "<vCard xmlns='vcard-temp'/></iq>");
	nad_free((m = take("iq", "alice@localhost", ROOM "/bob"), &m));
	in(muc, "<iq xmlns='jabber:client' type='result' id='v2' from='alice@localhost' to='"
	   ROOM "/bob'><vCard xmlns='vcard-temp'/></iq>");
	nad_free((m = take("iq", B, ROOM "/alice"), &m));
	/* non-occupants cannot reach occupants */
	in(muc, "<iq xmlns='jabber:client' type='get' id='v3' from='" C "' to='" ROOM "/alice'>"
	   "<query xmlns='jabber:iq:version'/></iq>");
	expect_error("iq", C, "not-acceptable");
	assert_int_equal(ncap, 0);
	/* extended presence (here a caps element) passes on */
	in(muc, "<presence xmlns='jabber:client' from='" B "' to='" ROOM "/bob'><show>away</show>"
	   "<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='n' ver='v'/></presence>");
	m = take("presence", A, ROOM "/bob");
	assert_int_not_equal(nad_child(m, 0, "http://jabber.org/protocol/caps", "c"), NAD_NONE);
	assert_string_equal(nad_text(m, nad_child(m, 0, NULL, "show"), NULL), "away");
	nad_free(&m);
	clear();
	/* a configuration change is announced: 104, and 172 when real JIDs
	 * become visible to all */
	in(muc, OWNER_SUBMIT(FIELD("muc#roomconfig_whois", "anyone")));
	m = take("message", B, ROOM);
	assert_true(has_status(m, 104) && has_status(m, 172));
	nad_free(&m);
	/* the room's disco#info carries muc#roominfo */
	clear();
	in(muc, "<iq xmlns='jabber:client' type='get' id='i' from='" C "' to='" ROOM "'>"
	   "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
	m = take("iq", C, ROOM);
	{
		int q = nad_child(m, 0, NULL, "query"), x = nad_child(m, q, MUC_NS_XDATA, "x");
		int f;

		for (f = nad_child(m, x, NULL, "field"); f != NAD_NONE;
		     f = nad_next(m, f, NULL, "field"))
			if (strcmp(nad_attr(m, f, NULL, "var"), "muc#roominfo_occupants") == 0)
				break;
		assert_int_not_equal(f, NAD_NONE);
		assert_string_equal(nad_text(m, nad_child(m, f, NULL, "value"), NULL), "2");
	}
	nad_free(&m);
	done(&muc);
}

static void test_lifecycle_codes(void **state)
{
	struct muc *muc = service("");
	struct nad *p;

	(void)state;
	/* cancelling the first configuration destroys the locked room */
	join(muc, A, "alice", MUCX);
	clear();
	in(muc, "<iq xmlns='jabber:client' type='set' id='c' from='" A "' to='" ROOM "'>"
	   "<query xmlns='http://jabber.org/protocol/muc#owner'>"
	   "<x xmlns='jabber:x:data' type='cancel'/></query></iq>");
	nad_free((p = take("iq", A, ROOM), &p));
	p = take("presence", A, ROOM "/alice");
	assert_string_equal(nad_attr(p, 0, NULL, "type"), "unavailable");
	nad_free(&p);
	assert_null(muc_room_get(muc, ROOM));
	done(&muc);

	/* lock-new-rooms 0: every room is instant */
	muc = service("<lock-new-rooms>0</lock-new-rooms>");
	join(muc, A, "alice", MUCX);
	join(muc, B, "bob", MUCX);
	p = take("presence", B, ROOM "/bob");
	assert_true(has_status(p, 110));
	nad_free(&p);
	clear();
	/* an error from bob that refuses one stanza: he stays */
	in(muc, "<message xmlns='jabber:client' type='error' from='" B "' to='" ROOM "/alice'>"
	   "<error type='cancel'><not-acceptable xmlns='" STANZAS "'/></error></message>");
	assert_int_equal(ncap, 0);
	/* a message bounced from bob's real JID (to the sender's room JID):
	 * he is gone (333) */
	in(muc, "<message xmlns='jabber:client' type='error' from='" B "' to='" ROOM "/alice'>"
	   "<error type='cancel'><recipient-unavailable xmlns='" STANZAS "'/></error></message>");
	p = take("presence", A, ROOM "/bob");
	assert_true(has_status(p, 333));
	nad_free(&p);
	clear();
	/* a member demoted in a members-only room is removed (321) */
	join(muc, B, "bob", MUCX);
	in(muc, ADMIN_SET(A, "<item jid='bob@localhost' affiliation='member'/>"));
	in(muc, OWNER_SUBMIT(FIELD("muc#roomconfig_membersonly", "1")));
	clear();
	in(muc, ADMIN_SET(A, "<item jid='bob@localhost' affiliation='none'/>"));
	p = take("presence", A, ROOM "/bob");
	assert_true(has_status(p, 321));
	assert_string_equal(nad_attr(p, 0, NULL, "type"), "unavailable");
	nad_free(&p);
	clear();
	/* shutdown: each occupant hears 332 */
	muc_shutdown(muc);
	p = take("presence", A, ROOM "/alice");
	assert_true(has_status(p, 332));
	nad_free(&p);
	done(&muc);
}

#define A2 "alice@localhost/phone"

static void test_multi_session_nick(void **state)
{
	struct muc *muc = room_with_two("");
	struct nad *p;

	(void)state;
	/* alice's phone joins with her nick: it hears the room, bob sees
	 * nothing new */
	join(muc, A2, "alice", MUCX);
	nad_free((p = take("presence", A2, ROOM "/bob"), &p));
	p = take("presence", A2, ROOM "/alice");
	assert_true(has_status(p, 110));
	nad_free(&p);
	nad_free((p = take("message", A2, ROOM), &p));          /* subject */
	assert_int_equal(ncap, 0);
	assert_int_equal(muc_room_get(muc, ROOM)->occ->count, 2);
	/* both of alice's sessions get the room's messages and her PMs */
	in(muc, "<message xmlns='jabber:client' type='groupchat' from='" B "' to='" ROOM
	   "'><body>hi</body></message>");
	assert_int_equal(count("message", A, ROOM "/bob"), 1);
	assert_int_equal(count("message", A2, ROOM "/bob"), 1);
	clear();
	in(muc, "<message xmlns='jabber:client' type='chat' from='" B "' to='" ROOM
	   "/alice'><body>psst</body></message>");
	assert_int_equal(count("message", A, ROOM "/bob"), 1);
	assert_int_equal(count("message", A2, ROOM "/bob"), 1);
	clear();
	/* the phone speaks as alice */
	in(muc, "<message xmlns='jabber:client' type='groupchat' from='" A2 "' to='" ROOM
	   "'><body>from the phone</body></message>");
	assert_int_equal(count("message", B, ROOM "/alice"), 1);
	clear();
	/* another account cannot take the nick */
	join(muc, C, "alice", MUCX);
	expect_error("presence", C, "conflict");
	/* the phone leaves: only it hears it; alice stays for bob */
	in(muc, "<presence xmlns='jabber:client' type='unavailable' from='" A2 "' to='" ROOM
	   "/alice'/>");
	p = take("presence", A2, ROOM "/alice");
	assert_true(has_status(p, 110));
	assert_string_equal(nad_attr(p, 0, NULL, "type"), "unavailable");
	nad_free(&p);
	assert_int_equal(ncap, 0);
	assert_non_null(occupants_by_nick(muc_room_get(muc, ROOM)->occ, "alice"));
	done(&muc);
}

static void test_owner_outside_makes_members_only(void **state)
{
	struct muc *muc = room_with_two("");
	struct nad *p;

	(void)state;
	/* alice leaves; from outside she makes the temporary room
	 * members-only: bob, its last occupant, goes (322), and the room
	 * with him */
	in(muc, "<presence xmlns='jabber:client' type='unavailable' from='" A "' to='" ROOM
	   "/alice'/>");
	clear();
	in(muc, OWNER_SUBMIT(FIELD("muc#roomconfig_membersonly", "1")));
	p = take("presence", B, ROOM "/bob");
	assert_true(has_status(p, 322));
	nad_free(&p);
	assert_null(muc_room_get(muc, ROOM));
	done(&muc);
}

static void test_voice_request(void **state)
{
	struct muc *muc = room_with_two(FIELD("muc#roomconfig_moderatedroom", "1"));
	struct nad *m;

	(void)state;
	/* bob, a visitor, asks for voice: alice (moderator) gets the form */
	in(muc, "<message xmlns='jabber:client' from='" B "' to='" ROOM "'>"
	   "<x xmlns='jabber:x:data' type='submit'>"
	   "<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#request</value></field>"
	   "<field var='muc#role'><value>participant</value></field></x></message>");
	m = take("message", A, ROOM);
	assert_string_equal(muc_form_value(m, nad_child(m, 0, MUC_NS_XDATA, "x"),
					   "muc#roomnick"), "bob");
	nad_free(&m);
	assert_int_equal(count("message", B, NULL), 0);
	/* alice approves: bob is a participant, everyone sees it */
	in(muc, "<message xmlns='jabber:client' from='" A "' to='" ROOM "'>"
	   "<x xmlns='jabber:x:data' type='submit'>"
	   "<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#request</value></field>"
	   "<field var='muc#role'><value>participant</value></field>"
	   "<field var='muc#roomnick'><value>bob</value></field>"
	   "<field var='muc#request_allow'><value>true</value></field></x></message>");
	m = take("presence", B, ROOM "/bob");
	assert_string_equal(item_attr(m, "role"), "participant");
	nad_free(&m);
	/* a participant asking again is refused */
	clear();
	in(muc, "<message xmlns='jabber:client' from='" B "' to='" ROOM "'>"
	   "<x xmlns='jabber:x:data' type='submit'>"
	   "<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#request</value></field>"
	   "<field var='muc#role'><value>participant</value></field></x></message>");
	expect_error("message", B, "bad-request");
	done(&muc);
}

#define MAM_QUERY(from, inner)                                                   \
	"<iq xmlns='jabber:client' type='set' id='q1' from='" from "' to='" ROOM "'>" \
	"<query xmlns='urn:xmpp:mam:2' queryid='f'>" inner "</query></iq>"
#define RSM "http://jabber.org/protocol/rsm"

/* The archive ids of the last page read by mam_page(), in order. */
static char page_ids[16][64];
static int npage_ids;

/* The bodies of the archived messages sent to `to`, in order, joined by
 * spaces into buf; the fin's complete flag. */
static int mam_page(const char *to, char *buf, size_t size, const char **first_id)
{
	struct nad *m, *fin;
	int res, fwd, inner, f, complete;

	buf[0] = '\0';
	*first_id = NULL;
	npage_ids = 0;
	while ((m = find("message", to, ROOM)) != NULL) {
		res = nad_child(m, 0, "urn:xmpp:mam:2", "result");
		assert_int_not_equal(res, NAD_NONE);
		assert_true(npage_ids < 16);
		snprintf(page_ids[npage_ids++], sizeof(page_ids[0]), "%s",
			 nad_attr(m, res, NULL, "id"));
		assert_string_equal(nad_attr(m, res, NULL, "queryid"), "f");
		fwd = nad_child(m, res, "urn:xmpp:forward:0", "forwarded");
		assert_int_not_equal(nad_child(m, fwd, MUC_NS_DELAY, "delay"), NAD_NONE);
		inner = nad_child(m, fwd, NULL, "message");
		snprintf(buf + strlen(buf), size - strlen(buf), "%s%s", buf[0] ? " " : "",
			 nad_text(m, nad_child(m, inner, NULL, "body"), NULL));
		nad_free(&m);
	}
	fin = take("iq", to, ROOM);
	assert_string_equal(nad_attr(fin, 0, NULL, "type"), "result");
	f = nad_child(fin, 0, "urn:xmpp:mam:2", "fin");
	complete = nad_attr(fin, f, NULL, "complete") != NULL;
	{
		static char id[64];
		int set = nad_child(fin, f, RSM, "set"), e = nad_child(fin, set, RSM, "first");

		if (e != NAD_NONE) {
			snprintf(id, sizeof(id), "%s", nad_text(fin, e, NULL));
			*first_id = id;
		}
	}
	nad_free(&fin);
	return complete;
}

static void test_mam(void **state)
{
	struct muc *muc = room_with_two("");
	char page[256], q[512];
	const char *first;
	struct nad *m;
	int i;

	(void)state;
	for (i = 0; i < 5; i++) {
		fake_now = 2000000 + i * 100;
		in(muc, "<message xmlns='jabber:client' type='groupchat' from='" A "' to='" ROOM
		   "'><body>m%d</body><stanza-id xmlns='urn:xmpp:sid:0' id='forged' by='" ROOM
		   "'/></message>", i);
	}
	/* each broadcast carries the room's stanza-id, not the forged one */
	m = take("message", B, ROOM "/alice");
	assert_non_null(nad_attr(m, nad_child(m, 0, MUC_NS_SID, "stanza-id"), NULL, "id"));
	assert_string_not_equal(nad_attr(m, nad_child(m, 0, MUC_NS_SID, "stanza-id"), NULL,
					 "id"), "forged");
	assert_int_equal(nad_next(m, nad_child(m, 0, MUC_NS_SID, "stanza-id"), MUC_NS_SID,
				  "stanza-id"), NAD_NONE);
	nad_free(&m);
	clear();
	/* everything */
	in(muc, MAM_QUERY(C, ""));
	assert_true(mam_page(C, page, sizeof(page), &first));
	assert_string_equal(page, "m0 m1 m2 m3 m4");
	/* the last page of two, then the two before it */
	in(muc, MAM_QUERY(C, "<set xmlns='" RSM "'><max>2</max><before/></set>"));
	assert_false(mam_page(C, page, sizeof(page), &first));
	assert_string_equal(page, "m3 m4");
	snprintf(q, sizeof(q), MAM_QUERY(C, "<set xmlns='" RSM "'><max>2</max><before>%s"
			       "</before></set>"), first);
	in(muc, "%s", q);
	assert_false(mam_page(C, page, sizeof(page), &first));
	assert_string_equal(page, "m1 m2");
	/* forward from there to the end */
	snprintf(q, sizeof(q), MAM_QUERY(C, "<set xmlns='" RSM "'><after>%s</after></set>"),
		 first);
	in(muc, "%s", q);
	assert_true(mam_page(C, page, sizeof(page), &first));
	assert_string_equal(page, "m2 m3 m4");
	/* by time: start at m3's */
	in(muc, MAM_QUERY(C, "<x xmlns='jabber:x:data' type='submit'>"
			  "<field var='FORM_TYPE'><value>urn:xmpp:mam:2</value></field>"
			  "<field var='start'><value>1970-01-24T03:38:20Z</value></field></x>"));
	assert_true(mam_page(C, page, sizeof(page), &first));
	assert_string_equal(page, "m3 m4");     /* 2000300 = 1970-01-24T03:38:20Z */
	/* unknown id; and a members-only room keeps its archive to members */
	in(muc, MAM_QUERY(C, "<set xmlns='" RSM "'><after>nope</after></set>"));
	expect_error("iq", C, "item-not-found");
	in(muc, OWNER_SUBMIT(FIELD("muc#roomconfig_membersonly", "1")));
	clear();
	in(muc, MAM_QUERY(C, ""));
	expect_error("iq", C, "forbidden");
	done(&muc);
}

#define MAM_FORM(fields)                                                       \
	"<x xmlns='jabber:x:data' type='submit'>"                              \
	"<field var='FORM_TYPE'><value>urn:xmpp:mam:2</value></field>" fields "</x>"

/* with (an occupant JID), the #extended fields, flip-page, the form and
 * the refusals. */
static void test_mam_extended(void **state)
{
	struct muc *muc = room_with_two("");
	char page[256], q[1024], ids[5][64];
	const char *first;
	struct nad *r;
	int i, x;

	(void)state;
	for (i = 0; i < 5; i++)
		in(muc, "<message xmlns='jabber:client' type='groupchat' from='%s' to='" ROOM
		   "'><body>m%d</body></message>", i % 2 ? B : A, i);
	clear();
	in(muc, MAM_QUERY(C, ""));
	assert_true(mam_page(C, page, sizeof(page), &first));
	assert_string_equal(page, "m0 m1 m2 m3 m4");
	assert_int_equal(npage_ids, 5);
	for (i = 0; i < 5; i++)
		memcpy(ids[i], page_ids[i], sizeof(ids[i]));
	/* with: what bob's nick said; the room's bare JID filters nothing */
	in(muc, MAM_QUERY(C, MAM_FORM(FIELD("with", ROOM "/bob"))));
	assert_true(mam_page(C, page, sizeof(page), &first));
	assert_string_equal(page, "m1 m3");
	in(muc, MAM_QUERY(C, MAM_FORM(FIELD("with", ROOM))));
	assert_true(mam_page(C, page, sizeof(page), &first));
	assert_string_equal(page, "m0 m1 m2 m3 m4");
	in(muc, MAM_QUERY(C, MAM_FORM(FIELD("with", "bob@localhost"))));
	expect_error("iq", C, "bad-request");
	/* after-id / before-id bound the query, exclusive */
	snprintf(q, sizeof(q), MAM_QUERY(C, MAM_FORM("<field var='after-id'><value>%s</value>"
			       "</field><field var='before-id'><value>%s</value></field>")),
		 ids[1], ids[4]);
	in(muc, "%s", q);
	assert_true(mam_page(C, page, sizeof(page), &first));
	assert_string_equal(page, "m2 m3");
	/* ... combined with RSM paging: the first of them */
	snprintf(q, sizeof(q), MAM_QUERY(C, MAM_FORM("<field var='after-id'><value>%s</value>"
			       "</field>") "<set xmlns='" RSM "'><max>1</max></set>"), ids[1]);
	in(muc, "%s", q);
	assert_false(mam_page(C, page, sizeof(page), &first));
	assert_string_equal(page, "m2");
	/* ids: exactly these, in archive order */
	snprintf(q, sizeof(q), MAM_QUERY(C, MAM_FORM("<field var='ids'><value>%s</value>"
			       "<value>%s</value></field>")), ids[3], ids[0]);
	in(muc, "%s", q);
	assert_true(mam_page(C, page, sizeof(page), &first));
	assert_string_equal(page, "m0 m3");
	/* flip-page: the last page of two, newest first; first keeps order */
	in(muc, MAM_QUERY(C, "<flip-page/><set xmlns='" RSM "'><max>2</max><before/></set>"));
	assert_false(mam_page(C, page, sizeof(page), &first));
	assert_string_equal(page, "m4 m3");
	assert_string_equal(first, ids[3]);
	/* refusals */
	snprintf(q, sizeof(q), MAM_QUERY(C, MAM_FORM("<field var='ids'><value>%s</value>"
			       "<value>gone</value></field>")), ids[3]);
	in(muc, "%s", q);
	expect_error("iq", C, "item-not-found");
	in(muc, MAM_QUERY(C, MAM_FORM(FIELD("after-id", "gone"))));
	expect_error("iq", C, "item-not-found");
	in(muc, MAM_QUERY(C, MAM_FORM(FIELD("before-id", "gone"))));
	expect_error("iq", C, "item-not-found");
	in(muc, MAM_QUERY(C, "<set xmlns='" RSM "'><max>101</max></set>"));
	expect_error("iq", C, "policy-violation");
	in(muc, MAM_QUERY(C, "<set xmlns='" RSM "'><max>ten</max></set>"));
	expect_error("iq", C, "bad-request");
	in(muc, MAM_QUERY(C, MAM_FORM(FIELD("urn:example:whatever", "x"))));
	expect_error("iq", C, "feature-not-implemented");
	in(muc, MAM_QUERY(C, MAM_FORM(FIELD("start", "yesterday"))));
	expect_error("iq", C, "bad-request");
	/* the form, and the feature in the room's disco#info */
	in(muc, "<iq xmlns='jabber:client' type='get' id='g' from='" C "' to='" ROOM "'>"
	   "<query xmlns='urn:xmpp:mam:2'/></iq>");
	r = take("iq", C, ROOM);
	assert_string_equal(nad_attr(r, 0, NULL, "type"), "result");
	x = nad_child(r, nad_child(r, 0, "urn:xmpp:mam:2", "query"), MUC_NS_XDATA, "x");
	assert_int_not_equal(x, NAD_NONE);
	{
		const char *want[] = { "with", "start", "end", "after-id", "before-id", "ids" };
		int f, found = 0;

		for (i = 0; i < 6; i++)
			for (f = nad_child(r, x, MUC_NS_XDATA, "field"); f != NAD_NONE;
			     f = nad_next(r, f, MUC_NS_XDATA, "field"))
				if (strcmp(nad_attr(r, f, NULL, "var"), want[i]) == 0) {
					found++;
					break;
				}
		assert_int_equal(found, 6);
	}
	nad_free(&r);
	in(muc, "<iq xmlns='jabber:client' type='get' id='d' from='" C "' to='" ROOM "'>"
	   "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
	r = take("iq", C, ROOM);
	assert_true(has_feature(r, "urn:xmpp:mam:2#extended"));
	nad_free(&r);
	done(&muc);
}

#define D "dave@localhost/z"
#define REGISTER(from, inner)                                                  \
	"<iq xmlns='jabber:client' type='set' id='r1' from='" from "' to='" ROOM "'>" \
	"<query xmlns='jabber:iq:register'>" inner "</query></iq>"
#define REG_FORM(nick)                                                         \
	"<x xmlns='jabber:x:data' type='submit'>"                              \
	"<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#register</value>" \
	"</field><field var='muc#register_roomnick'><value>" nick "</value></field></x>"
#define ROOMUSER(from)                                                         \
	"<iq xmlns='jabber:client' type='get' id='u1' from='" from "' to='" ROOM "'>" \
	"<query xmlns='http://jabber.org/protocol/disco#info' node='x-roomuser-item'/></iq>"

/* The nick the room's x-roomuser-item answer names for `to`, or NULL. */
static const char *roomuser_nick(const char *to)
{
	static char nick[64];
	struct nad *r = take("iq", to, ROOM);
	int id = nad_child(r, nad_child(r, 0, NULL, "query"), NULL, "identity");
	const char *ret = NULL;

	assert_string_equal(nad_attr(r, 0, NULL, "type"), "result");
	if (id != NAD_NONE) {
		snprintf(nick, sizeof(nick), "%s", nad_attr(r, id, NULL, "name"));
		ret = nick;
	}
	nad_free(&r);
	return ret;
}

static void expect_result(const char *to)
{
	struct nad *r = take("iq", to, ROOM);

	assert_string_equal(nad_attr(r, 0, NULL, "type"), "result");
	nad_free(&r);
}

/* Registering with a room (XEP-0045 7.10): the form, the reserved nick
 * (conflict for others on join and nick change), x-roomuser-item,
 * membership, members-only rooms closed or open to registration, remove. */
static void test_register(void **state)
{
	struct muc *muc = room_with_two("");
	struct nad *r, *p;
	int x;

	(void)state;
	/* the form */
	in(muc, "<iq xmlns='jabber:client' type='get' id='g' from='" C "' to='" ROOM "'>"
	   "<query xmlns='jabber:iq:register'/></iq>");
	r = take("iq", C, ROOM);
	assert_string_equal(nad_attr(r, 0, NULL, "type"), "result");
	x = nad_child(r, nad_child(r, 0, "jabber:iq:register", "query"), MUC_NS_XDATA, "x");
	assert_non_null(muc_form_value(r, x, "muc#register_roomnick"));
	nad_free(&r);
	in(muc, ROOMUSER(C));
	assert_null(roomuser_nick(C));
	/* carol reserves "caro" and becomes a member */
	in(muc, REGISTER(C, REG_FORM("caro")));
	expect_result(C);
	in(muc, ROOMUSER(C));
	assert_string_equal(roomuser_nick(C), "caro");
	in(muc, "<iq xmlns='jabber:client' type='get' id='g' from='" C "' to='" ROOM "'>"
	   "<query xmlns='jabber:iq:register'/></iq>");
	r = take("iq", C, ROOM);
	assert_int_not_equal(nad_child(r, nad_child(r, 0, NULL, "query"), NULL, "registered"),
			     NAD_NONE);
	nad_free(&r);
	/* nobody else joins with it or changes to it */
	join(muc, D, "caro", MUCX);
	expect_error("presence", D, "conflict");
	in(muc, "<presence xmlns='jabber:client' from='" B "' to='" ROOM "/caro'/>");
	expect_error("presence", B, "conflict");
	/* a nick another occupant holds cannot be registered */
	in(muc, REGISTER(C, REG_FORM("bob")));
	expect_error("iq", C, "conflict");
	in(muc, REGISTER(C, REG_FORM("")));
	expect_error("iq", C, "not-acceptable");
	/* carol herself joins with it, as a member */
	clear();
	join(muc, C, "caro", MUCX);
	p = take("presence", C, ROOM "/caro");
	assert_string_equal(item_attr(p, "affiliation"), "member");
	nad_free(&p);
	/* members-only: dave may not register, until the owner opens it */
	in(muc, OWNER_SUBMIT(FIELD("muc#roomconfig_membersonly", "1")));
	clear();
	in(muc, REGISTER(D, REG_FORM("dave")));
	expect_error("iq", D, "not-allowed");
	join(muc, D, "dave", MUCX);
	expect_error("presence", D, "registration-required");
	in(muc, OWNER_SUBMIT(FIELD("muc#roomconfig_membersonly", "1")
			     FIELD("x-muc#roomconfig_registration", "1")));
	clear();
	in(muc, REGISTER(D, REG_FORM("dave")));
	expect_result(D);
	join(muc, D, "dave", MUCX);
	p = take("presence", D, ROOM "/dave");
	assert_string_equal(item_attr(p, "affiliation"), "member");
	nad_free(&p);
	/* carol drops her registration: the nick is free again */
	in(muc, REGISTER(C, "<remove/>"));
	clear();
	in(muc, "<presence xmlns='jabber:client' from='" D "' to='" ROOM "/caro'/>");
	expect_error("presence", D, "conflict");        /* carol is in it */
	in(muc, "<presence xmlns='jabber:client' type='unavailable' from='" C "' to='" ROOM
	   "/caro'/>");
	clear();
	in(muc, "<presence xmlns='jabber:client' from='" D "' to='" ROOM "/caro'/>");
	assert_true(count("presence", D, ROOM "/caro") > 0);
	in(muc, REGISTER(C, "<remove/>"));
	expect_error("iq", C, "item-not-found");
	/* outcasts may not */
	in(muc, "<iq xmlns='jabber:client' type='set' id='b' from='" A "' to='" ROOM "'>"
	   "<query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='outcast' "
	   "jid='eve@localhost'/></query></iq>");
	clear();
	in(muc, REGISTER("eve@localhost/e", REG_FORM("eve")));
	expect_error("iq", "eve@localhost/e", "forbidden");
	done(&muc);
}

/* <limits><archive> keeps more than <limits><history> lets a join have:
 * the join gets the newest 3, the archive all 8, the oldest of 12 gone. */
static void test_archive_beyond_history(void **state)
{
	struct muc *muc = service("<limits><history>3</history><archive>8</archive></limits>");
	char page[256];
	const char *first;
	struct nad *m;
	int i, n = 0;

	(void)state;
	join(muc, A, "alice", MUCX);
	in(muc, OWNER_SUBMIT("%s"), "");
	for (i = 0; i < 12; i++)
		in(muc, "<message xmlns='jabber:client' type='groupchat' from='" A "' to='" ROOM
		   "'><body>m%d</body></message>", i);
	clear();
	join(muc, B, "bob", MUCX);
	while ((m = find("message", B, ROOM "/alice")) != NULL) {
		assert_int_not_equal(nad_child(m, 0, MUC_NS_DELAY, "delay"), NAD_NONE);
		assert_string_equal(nad_text(m, nad_child(m, 0, NULL, "body"), NULL),
				    n == 0 ? "m9" : n == 1 ? "m10" : "m11");
		n++;
		nad_free(&m);
	}
	assert_int_equal(n, 3);
	clear();
	in(muc, MAM_QUERY(B, ""));
	assert_true(mam_page(B, page, sizeof(page), &first));
	assert_string_equal(page, "m4 m5 m6 m7 m8 m9 m10 m11");
	done(&muc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_join_leave),
		cmocka_unit_test(test_instant_for_old_clients),
		cmocka_unit_test(test_messages_subject_pm),
		cmocka_unit_test(test_nick_change_and_conflict),
		cmocka_unit_test(test_kick_ban_voice),
		cmocka_unit_test(test_members_only_and_password),
		cmocka_unit_test(test_history_on_join),
		cmocka_unit_test(test_invite_destroy_ping),
		cmocka_unit_test(test_disco),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_iq_relay_config_change),
		cmocka_unit_test(test_lifecycle_codes),
		cmocka_unit_test(test_multi_session_nick),
		cmocka_unit_test(test_owner_outside_makes_members_only),
		cmocka_unit_test(test_voice_request),
		cmocka_unit_test(test_mam),
		cmocka_unit_test(test_mam_extended),
		cmocka_unit_test(test_register),
		cmocka_unit_test(test_archive_beyond_history),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
