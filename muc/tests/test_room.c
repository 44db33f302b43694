/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_room: the muc daemon's data without any protocol: a room's
 * affiliations, default roles, subject and history selection
 * (maxchars / maxstanzas / seconds / since), the occupants (nick
 * uniqueness, rename), the configuration form (apply, refuse bad values,
 * build and read back), the history request parser and the address
 * parser, and the storage round trip of a room's document.
 */
#include "config.h"
#include "muc/room.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "muc/form.h"
#include "muc/muc.h"
#include "muc/occupants.h"
#include "util/buf.h"
#include "util/jid.h"
#include "util/nad.h"

static struct jid *J(const char *s)
{
	const char *error;
	struct jid *j = jid_new(s, strlen(s), &error);

	assert_non_null(j);
	return j;
}

static struct nad *X(const char *xml)
{
	const char *error;
	struct nad *nad = nad_parse(xml, strlen(xml), 0, &error, NULL);

	assert_non_null(nad);
	return nad;
}

static void test_affiliations_and_roles(void **state)
{
	struct jid *rj = J("room@conference.localhost"), *alice = J("Alice@localhost/desk");
	struct room *room = room_new(rj, 10);

	(void)state;
	assert_int_equal(room_affil(room, alice), MUC_AFFIL_NONE);
	room_set_affil(room, "alice@localhost", MUC_AFFIL_OWNER, NULL);
	/* the resource does not matter, the prepared bare JID does */
	assert_int_equal(room_affil(room, alice), MUC_AFFIL_OWNER);
	assert_int_equal(room_affil_count(room, MUC_AFFIL_OWNER), 1);
	room_set_affil(room, "bob@localhost", MUC_AFFIL_OUTCAST, "spam");
	assert_int_equal(room_affil_str(room, "bob@localhost"), MUC_AFFIL_OUTCAST);
	room_set_affil(room, "bob@localhost", MUC_AFFIL_NONE, NULL);
	assert_int_equal(room_affil_str(room, "bob@localhost"), MUC_AFFIL_NONE);
	assert_int_equal(room_default_role(room, MUC_AFFIL_OWNER), MUC_ROLE_MODERATOR);
	assert_int_equal(room_default_role(room, MUC_AFFIL_ADMIN), MUC_ROLE_MODERATOR);
	assert_int_equal(room_default_role(room, MUC_AFFIL_NONE), MUC_ROLE_PARTICIPANT);
	room->cfg.moderated = 1;
	assert_int_equal(room_default_role(room, MUC_AFFIL_NONE), MUC_ROLE_VISITOR);
	assert_int_equal(room_default_role(room, MUC_AFFIL_MEMBER), MUC_ROLE_PARTICIPANT);
	assert_int_equal(room_default_role(room, MUC_AFFIL_OUTCAST), MUC_ROLE_NONE);
	assert_int_equal(muc_affil_parse("admin"), MUC_AFFIL_ADMIN);
	assert_int_equal(muc_affil_parse("king"), -1);
	assert_int_equal(muc_role_parse("visitor"), MUC_ROLE_VISITOR);
	assert_string_equal(muc_role_name(MUC_ROLE_MODERATOR), "moderator");
	room_free(&room);
	assert_null(room);
	jid_free(&rj);
	jid_free(&alice);
}

static struct nad *msg(const char *body)
{
	char xml[256];

	snprintf(xml, sizeof(xml), "<message xmlns='jabber:client' type='groupchat'>"
		 "<body>%s</body></message>", body);
	return X(xml);
}

static int history_count(const struct room *room, const struct room_history_req *req,
			 time_t now, const char **first_body)
{
	const struct room_msg *m = room_history_first(room, req, now);
	const struct list_node *n;
	int count = 0;

	*first_body = NULL;
	if (m != NULL)
		*first_body = nad_text(m->nad, nad_child(m->nad, 0, NULL, "body"), NULL);
	for (n = m != NULL ? &m->link : NULL; n != NULL; n = list_next(&room->history, n))
		count++;
	return count;
}

static void test_history(void **state)
{
	struct jid *rj = J("room@conference.localhost");
	struct room *room = room_new(rj, 4);
	struct room_history_req all = { -1, -1, -1, (time_t)-1 }, req;
	const char *first;
	char body[8];
	int i;

	(void)state;
	/* six messages at t = 100..105; only the newest four are kept */
	for (i = 0; i < 6; i++) {
		snprintf(body, sizeof(body), "m%d", i);
		room_history_add(room, msg(body), 100 + i);
	}
	assert_int_equal(room->history_len, 4);
	assert_int_equal(history_count(room, &all, 200, &first), 4);
	assert_string_equal(first, "m2");
	req = all;
	req.maxstanzas = 2;
	assert_int_equal(history_count(room, &req, 200, &first), 2);
	assert_string_equal(first, "m4");
	req = all;
	req.maxstanzas = 0;
	assert_int_equal(history_count(room, &req, 200, &first), 0);
	req = all;
	req.seconds = 1;        /* now 105: messages of 104 and 105 */
	assert_int_equal(history_count(room, &req, 105, &first), 2);
	req = all;
	req.since = 103;
	assert_int_equal(history_count(room, &req, 200, &first), 3);
	assert_string_equal(first, "m3");
	/* maxchars counts the messages as XML: one fits, not two */
	req = all;
	req.maxchars = (long)LIST_ENTRY(room->history.prev, struct room_msg, link)->chars;
	assert_int_equal(history_count(room, &req, 200, &first), 1);
	assert_string_equal(first, "m5");
	req.maxchars = 0;
	assert_int_equal(history_count(room, &req, 200, &first), 0);
	room_free(&room);
	/* a room keeping no history */
	room = room_new(rj, 0);
	room_history_add(room, msg("x"), 1);
	assert_int_equal(room->history_len, 0);
	room_free(&room);
	jid_free(&rj);
}

static void test_occupants(void **state)
{
	struct occupants *occ = occupants_new();
	struct jid *a = J("alice@localhost/desk"), *a2 = J("alice@localhost/phone");
	struct jid *b = J("bob@localhost/x");
	struct occupant *oa, *ob;

	(void)state;
	oa = occupants_add(occ, "Alice", a, MUC_ROLE_MODERATOR, NULL);
	assert_non_null(oa);
	/* the nick is taken, and one full JID is one occupant */
	assert_null(occupants_add(occ, "Alice", b, MUC_ROLE_PARTICIPANT, NULL));
	assert_null(occupants_add(occ, "Other", a, MUC_ROLE_PARTICIPANT, NULL));
	ob = occupants_add(occ, "Bob", b, MUC_ROLE_PARTICIPANT, NULL);
	assert_non_null(occupants_add(occ, "Alice2", a2, MUC_ROLE_PARTICIPANT, NULL));
	assert_int_equal(occ->count, 3);
	assert_int_equal(occupants_count_bare(occ, "alice@localhost"), 2);
	assert_ptr_equal(occupants_by_real(occ, b), ob);
	assert_int_equal(occupants_rename(occ, ob, "Alice"), -1);
	assert_int_equal(occupants_rename(occ, ob, "Robert"), 0);
	assert_null(occupants_by_nick(occ, "Bob"));
	assert_ptr_equal(occupants_by_nick(occ, "Robert"), ob);
	/* a second session of bob's account: same occupant, found by either
	 * full JID; removing one session leaves the other */
	{
		struct jid *b2 = J("bob@localhost/y");

		assert_int_equal(occupants_add_session(occ, ob, b2), 0);
		assert_int_equal(occupants_add_session(occ, ob, b2), -1);
		assert_ptr_equal(occupants_by_real(occ, b2), ob);
		assert_int_equal(ob->nsessions, 2);
		assert_int_equal(occupants_remove_session(occ, ob, b), 0);
		assert_null(occupants_by_real(occ, b));
		assert_string_equal(jid_full(ob->real), "bob@localhost/y");
		assert_int_equal(occupants_remove_session(occ, ob, b2), -1);
		jid_free(&b2);
	}
	occupants_remove(occ, &oa);
	assert_null(oa);
	assert_null(occupants_by_nick(occ, "Alice"));
	assert_int_equal(occ->count, 2);
	occupants_free(&occ);
	jid_free(&a);
	jid_free(&a2);
	jid_free(&b);
}

#define FORM(fields) \
	"<x xmlns='jabber:x:data' type='submit'>" \
	"<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>" \
	fields "</x>"
#define F(var, val) "<field var='" var "'><value>" val "</value></field>"

static void test_form(void **state)
{
	struct room_config cfg, back;
	struct nad *nad;
	const char *error;
	int x;

	(void)state;
	room_config_init(&cfg);
	nad = X(FORM(F("muc#roomconfig_roomname", "Lounge")
		     F("muc#roomconfig_persistentroom", "1")
		     F("muc#roomconfig_membersonly", "true")
		     F("muc#roomconfig_passwordprotectedroom", "1")
		     F("muc#roomconfig_roomsecret", "s3cret")
		     F("muc#roomconfig_whois", "anyone")
		     F("muc#roomconfig_allowpm", "moderators")
		     F("muc#roomconfig_maxusers", "30")
		     F("x-unknown", "ignored")));
	assert_int_equal(muc_form_apply(nad, 0, &cfg, 100, &error), 0);
	assert_string_equal(cfg.name, "Lounge");
	assert_true(cfg.persistent && cfg.members_only && cfg.password_protected &&
		    cfg.nonanonymous);
	assert_string_equal(cfg.password, "s3cret");
	assert_int_equal(cfg.allow_pm, MUC_PM_MODERATORS);
	assert_int_equal(cfg.max_users, 30);
	nad_free(&nad);

	/* bad values are refused with the field named, cfg unchanged */
	nad = X(FORM(F("muc#roomconfig_roomname", "Other")
		     F("muc#roomconfig_moderatedroom", "maybe")));
	assert_int_equal(muc_form_apply(nad, 0, &cfg, 100, &error), -1);
	assert_non_null(strstr(error, "muc#roomconfig_moderatedroom"));
	assert_string_equal(cfg.name, "Lounge");
	nad_free(&nad);
	nad = X(FORM(F("muc#roomconfig_maxusers", "101")));
	assert_int_equal(muc_form_apply(nad, 0, &cfg, 100, &error), -1);
	assert_non_null(strstr(error, "maxusers"));
	nad_free(&nad);
	nad = X(FORM(F("muc#roomconfig_maxusers", "-1")));
	assert_int_equal(muc_form_apply(nad, 0, &cfg, 100, &error), -1);
	nad_free(&nad);
	/* a password-protected room needs a password */
	nad = X(FORM(F("muc#roomconfig_roomsecret", "")));
	assert_int_equal(muc_form_apply(nad, 0, &cfg, 100, &error), -1);
	nad_free(&nad);
	nad = X("<x xmlns='jabber:x:data' type='form'/>");
	assert_int_equal(muc_form_apply(nad, 0, &cfg, 100, &error), -1);
	nad_free(&nad);
	nad = X("<x xmlns='jabber:x:data' type='cancel'/>");
	assert_true(muc_form_is_cancel(nad, 0));
	nad_free(&nad);

	/* the form we offer, submitted back, gives the same configuration */
	nad = nad_new();
	nad_elem_add(nad, NAD_NONE, NULL, "query");
	muc_form_build(nad, 0, &cfg, 100);
	x = nad_child(nad, 0, MUC_NS_XDATA, "x");
	assert_int_not_equal(x, NAD_NONE);
	nad_attr_set(nad, x, NULL, "type", "submit");
	room_config_init(&back);
	assert_int_equal(muc_form_apply(nad, x, &back, 100, &error), 0);
	assert_string_equal(back.name, cfg.name);
	assert_string_equal(back.password, cfg.password);
	assert_int_equal(back.members_only, 1);
	assert_int_equal(back.max_users, 30);
	assert_int_equal(back.allow_pm, MUC_PM_MODERATORS);
	room_config_clear(&back);
	nad_free(&nad);
	room_config_clear(&cfg);
}

static void test_history_request(void **state)
{
	struct room_history_req req;
	struct nad *nad;
	const char *error;

	(void)state;
	nad = X("<x xmlns='http://jabber.org/protocol/muc'>"
		"<history maxstanzas='5' since='1970-01-01T00:01:40Z'/></x>");
	assert_int_equal(muc_history_parse(nad, 0, &req, &error), 0);
	assert_int_equal(req.maxstanzas, 5);
	assert_int_equal(req.maxchars, -1);
	assert_int_equal(req.seconds, -1);
	assert_int_equal(req.since, 100);
	nad_free(&nad);
	nad = X("<x xmlns='http://jabber.org/protocol/muc'><history maxchars='-3'/></x>");
	assert_int_equal(muc_history_parse(nad, 0, &req, &error), -1);
	nad_free(&nad);
	nad = X("<x xmlns='http://jabber.org/protocol/muc'><history since='yesterday'/></x>");
	assert_int_equal(muc_history_parse(nad, 0, &req, &error), -1);
	nad_free(&nad);
	assert_int_equal(muc_history_parse(NULL, NAD_NONE, &req, &error), 0);
	assert_int_equal(req.maxstanzas, -1);
}

static void test_addr(void **state)
{
	struct jid *room, *full;
	const char *error;
	char nick[200];

	(void)state;
	assert_int_equal(muc_addr_parse("Lounge@Conference.localhost/Alice", &room, &full,
					&error), 0);
	assert_string_equal(jid_bare(room), "lounge@conference.localhost");
	assert_string_equal(jid_resource(full), "Alice");
	jid_free(&room);
	jid_free(&full);
	assert_int_equal(muc_addr_parse("conference.localhost", &room, &full, &error), 0);
	assert_null(room);
	jid_free(&full);
	assert_int_equal(muc_addr_parse("a@@b", &room, &full, &error), -1);
	memset(nick, 'n', sizeof(nick));
	memcpy(nick, "r@c.l/", 6);
	nick[sizeof(nick) - 1] = '\0';
	assert_int_equal(muc_addr_parse(nick, &room, &full, &error), -1);
	assert_non_null(strstr(error, "nick"));
	assert_int_equal(muc_addr_parse(NULL, &room, &full, &error), -1);
}

static void test_serialize(void **state)
{
	struct jid *rj = J("room@conference.localhost");
	struct room *room = room_new(rj, 10), *back = room_new(rj, 10);
	const char *error;
	char *xml, *creator = NULL;

	(void)state;
	free(room->cfg.name);
	room->cfg.name = xstrdup("Q&A <room>");
	room->cfg.persistent = 1;
	room->cfg.moderated = 1;
	room->cfg.open_registration = 1;
	room_set_subject(room, "Today: tests", "alice");
	/* registered nicks: one per bare JID, a nick to one bare JID */
	assert_int_equal(room_nick_register(room, "carol@localhost", "caro"), 0);
	assert_int_equal(room_nick_register(room, "carol@localhost", "Carol <3"), 0);
	assert_int_equal(room_nick_register(room, "dave@localhost", "Carol <3"), -1);
	assert_int_equal(room_nick_register(room, "dave@localhost", "caro"), 0);
	xml = muc_room_serialize(room, "alice@localhost");
	assert_int_equal(muc_room_deserialize(back, xml, &creator, &error), 0);
	assert_string_equal(back->cfg.name, "Q&A <room>");
	assert_int_equal(back->cfg.persistent, 1);
	assert_int_equal(back->cfg.moderated, 1);
	assert_string_equal(back->subject, "Today: tests");
	assert_string_equal(back->subject_nick, "alice");
	assert_string_equal(creator, "alice@localhost");
	assert_int_equal(back->cfg.open_registration, 1);
	assert_string_equal(room_nick_of(back, "carol@localhost"), "Carol <3");
	assert_string_equal(room_nick_owner(back, "caro"), "dave@localhost");
	assert_null(room_nick_owner(back, "Carol"));
	room_nick_unregister(back, "dave@localhost");
	assert_null(room_nick_owner(back, "caro"));
	assert_null(room_nick_of(back, "dave@localhost"));
	free(creator);
	free(xml);
	assert_int_equal(muc_room_deserialize(back, "<room/>", &creator, &error), -1);
	assert_int_equal(muc_room_deserialize(back, "<room", &creator, &error), -1);
	room_free(&room);
	room_free(&back);
	jid_free(&rj);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_affiliations_and_roles),
		cmocka_unit_test(test_history),
		cmocka_unit_test(test_occupants),
		cmocka_unit_test(test_form),
		cmocka_unit_test(test_history_request),
		cmocka_unit_test(test_addr),
		cmocka_unit_test(test_serialize),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
