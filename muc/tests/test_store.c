/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_store: persistent rooms on SQLite (a file in a temporary
 * directory): the tables are created when missing, a saved room comes
 * back with its configuration, subject and affiliations after the service
 * is made again (with the newest messages of its history), a room made
 * temporary is removed from storage, and a
 * destroyed room is gone. PostgreSQL runs the same statements; it is
 * covered by tests/integration/test_muc.py (both drivers).
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
#include <unistd.h>

#include <cmocka.h>

#include "muc/form.h"
#include "util/buf.h"
#include "util/config_file.h"
#include "util/jid.h"
#include "util/nad.h"

#define ROOM "kept@conference.localhost"
#define A "alice@localhost/desk"

static char dir[64];
static struct config *cfg;

static void drop(struct muc *muc, struct nad *nad)
{
	(void)muc;
	nad_free(&nad);
}

static struct muc *open_service(void)
{
	char xml[512];
	const char *error;
	struct muc *muc;

	snprintf(xml, sizeof(xml), "<muc><service>conference.localhost</service>"
		 "<limits><history>2</history></limits>"
		 "<storage><driver>sqlite</driver><sqlite><dbname>%s/muc.db</dbname>"
		 "</sqlite></storage></muc>", dir);
	cfg = config_load_mem("muc.xml", xml, strlen(xml), NULL, &error);
	assert_non_null(cfg);
	muc = muc_new(cfg, &error);
	assert_non_null(muc);
	muc->send = drop;
	assert_int_equal(muc_store_open(cfg, &muc->store, &error), 0);
	assert_non_null(muc->store);
	assert_int_equal(muc_load_rooms(muc, &error), 0);
	return muc;
}

static void close_service(struct muc **mucp)
{
	muc_store_close(&(*mucp)->store);
	muc_free(mucp);
	config_free(&cfg);
}

static void in(struct muc *muc, const char *xml)
{
	const char *error;
	struct nad *nad = nad_parse(xml, strlen(xml), 0, &error, NULL);

	assert_non_null(nad);
	muc_stanza(muc, nad);
}

#define OWNER(fields)                                                               \
	"<iq xmlns='jabber:client' type='set' id='c' from='" A "' to='" ROOM "'>"       \
	"<query xmlns='http://jabber.org/protocol/muc#owner'>"                          \
	"<x xmlns='jabber:x:data' type='submit'>" fields "</x></query></iq>"
#define FIELD(var, val) "<field var='muc#roomconfig_" var "'><value>" val "</value></field>"
#define ADMIN(item)                                                                 \
	"<iq xmlns='jabber:client' type='set' id='a' from='" A "' to='" ROOM "'>"       \
	"<query xmlns='http://jabber.org/protocol/muc#admin'>" item "</query></iq>"

static void test_persistent_room(void **state)
{
	struct muc *muc = open_service();
	struct muc_room *mr;

	(void)state;
	in(muc, "<presence xmlns='jabber:client' from='" A "' to='" ROOM "/alice'>"
	   "<x xmlns='http://jabber.org/protocol/muc'/></presence>");
	in(muc, OWNER(FIELD("persistentroom", "1") FIELD("roomname", "Kept")
		      FIELD("membersonly", "1")));
	in(muc, ADMIN("<item jid='bob@localhost' affiliation='member'/>"
		      "<item jid='eve@localhost' affiliation='outcast'><reason>spam</reason></item>"));
	in(muc, "<message xmlns='jabber:client' type='groupchat' from='" A "' to='" ROOM "'>"
	   "<subject>Kept subject</subject></message>");
	/* three messages; the newest two are kept (limits.history) */
	in(muc, "<message xmlns='jabber:client' type='groupchat' from='" A "' to='" ROOM "'>"
	   "<body>m0</body></message>");
	in(muc, "<message xmlns='jabber:client' type='groupchat' from='" A "' to='" ROOM "'>"
	   "<body>m1</body></message>");
	in(muc, "<message xmlns='jabber:client' type='groupchat' from='" A "' to='" ROOM "'>"
	   "<body>m2 &amp; more</body></message>");
	close_service(&muc);

	/* a new service reads it all back */
	muc = open_service();
	mr = muc_room_get(muc, ROOM);
	assert_non_null(mr);
	assert_string_equal(mr->room->cfg.name, "Kept");
	assert_int_equal(mr->room->cfg.persistent, 1);
	assert_int_equal(mr->room->cfg.members_only, 1);
	assert_int_equal(mr->room->locked, 0);
	assert_string_equal(mr->room->subject, "Kept subject");
	assert_int_equal(room_affil_str(mr->room, "alice@localhost"), MUC_AFFIL_OWNER);
	assert_int_equal(room_affil_str(mr->room, "bob@localhost"), MUC_AFFIL_MEMBER);
	assert_int_equal(room_affil_str(mr->room, "eve@localhost"), MUC_AFFIL_OUTCAST);
	assert_string_equal(mr->creator, "alice@localhost");
	assert_int_equal(mr->occ->count, 0);
	/* and the history, oldest first */
	assert_int_equal(mr->room->history_len, 2);
	{
		const struct room_msg *m = LIST_ENTRY(mr->room->history.next, struct room_msg,
						      link);
		const struct nad *n = m->nad;

		assert_string_equal(nad_text(n, nad_child(n, 0, NULL, "body"), NULL), "m1");
		assert_string_equal(nad_attr(n, 0, NULL, "from"), ROOM "/alice");
		assert_string_equal(nad_ns(n, 0), "jabber:client");
		m = LIST_ENTRY(mr->room->history.prev, struct room_msg, link);
		assert_string_equal(nad_text(m->nad, nad_child(m->nad, 0, NULL, "body"), NULL),
				    "m2 & more");
	}

	/* made temporary: no longer in storage */
	in(muc, "<presence xmlns='jabber:client' from='" A "' to='" ROOM "/alice'/>");
	in(muc, OWNER(FIELD("persistentroom", "0")));
	close_service(&muc);
	muc = open_service();
	assert_null(muc_room_get(muc, ROOM));
	close_service(&muc);
}

static void test_destroyed_room_is_gone(void **state)
{
	struct muc *muc = open_service();

	(void)state;
	in(muc, "<presence xmlns='jabber:client' from='" A "' to='" ROOM "/alice'/>");
	in(muc, OWNER(FIELD("persistentroom", "1")));
	close_service(&muc);
	muc = open_service();
	assert_non_null(muc_room_get(muc, ROOM));
	in(muc, "<presence xmlns='jabber:client' from='" A "' to='" ROOM "/alice'/>");
	in(muc, "<iq xmlns='jabber:client' type='set' id='d' from='" A "' to='" ROOM "'>"
	   "<query xmlns='http://jabber.org/protocol/muc#owner'><destroy/></query></iq>");
	assert_null(muc_room_get(muc, ROOM));
	close_service(&muc);
	muc = open_service();
	assert_null(muc_room_get(muc, ROOM));
	close_service(&muc);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_muc_store.XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/muc.db", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/muc.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/muc.db-shm", dir);
	unlink(path);
	return rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_persistent_room),
		cmocka_unit_test(test_destroyed_room_is_gone),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
