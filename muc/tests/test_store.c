/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_store: persistent rooms on SQLite (a file in a temporary
 * directory) and on MySQL (a private MariaDB, storage/tests/my_harness.c;
 * skipped, and said so, where it is not installed): the tables are
 * created when missing, a saved room comes back with its configuration,
 * subject and affiliations after the service is made again (with the
 * newest messages of its history), a room made temporary is removed from
 * storage, and a destroyed room is gone; on MySQL a room JID over its
 * keys' 255 characters is not stored. PostgreSQL runs SQLite's
 * statements; it is covered by tests/integration/test_muc.py (all three
 * drivers).
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
#ifdef HAVE_MYSQL
#include "storage/tests/my_harness.h"
#endif
#include "util/buf.h"
#include "util/config_file.h"
#include "util/jid.h"
#include "util/nad.h"
#include "util/xhash.h"

#define ROOM "kept@conference.localhost"
#define A "alice@localhost/desk"

static char dir[64];
static struct config *cfg;
/* The <storage> of the group running: sqlite in dir, or mysql. */
static char storage_xml[384];
static int on_mysql;

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
		 "<limits><history>2</history></limits><storage>%s</storage></muc>",
		 storage_xml);
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

/* A room whose JID has a local part of `n` characters (and a service
 * part of 18), made persistent. */
static void make_long_room(struct muc *muc, char *jid, size_t n)
{
	char xml[1024];

	memset(jid, 'r', n);
	snprintf(jid + n, 32, "@conference.localhost");
	snprintf(xml, sizeof(xml), "<presence xmlns='jabber:client' from='" A "' to='%s/alice'/>",
		 jid);
	in(muc, xml);
	snprintf(xml, sizeof(xml), "<iq xmlns='jabber:client' type='set' id='c' from='" A
		 "' to='%s'><query xmlns='http://jabber.org/protocol/muc#owner'>"
		 "<x xmlns='jabber:x:data' type='submit'>" FIELD("persistentroom", "1")
		 "</x></query></iq>", jid);
	in(muc, xml);
	assert_non_null(muc_room_get(muc, jid));
}

/* MySQL's keys are 255 characters: a room JID of 255 is kept, one of
 * 256 is not (refused before the server, which outside strict mode would
 * cut it). SQLite keeps both. */
static void test_long_room_jid(void **state)
{
	char fits[300], over[300];
	struct muc *muc = open_service();

	(void)state;
	make_long_room(muc, fits, 255 - 21);
	make_long_room(muc, over, 256 - 21);
	assert_int_equal(strlen(fits), 255);
	assert_int_equal(strlen(over), 256);
	close_service(&muc);
	muc = open_service();
	assert_non_null(muc_room_get(muc, fits));
	assert_int_equal(xhash_count(muc->svcs[0].rooms), on_mysql ? 1 : 2);
	if (on_mysql)
		assert_null(muc_room_get(muc, over));
	else
		assert_non_null(muc_room_get(muc, over));
	close_service(&muc);
#ifdef HAVE_MYSQL
	/* Nor a row under a cut JID (whose domain would not even be ours). */
	if (on_mysql)
		assert_int_equal(myt_int("SELECT COUNT(*) FROM `muc`.`muc-room`"), 1);
#endif
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_muc_store.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(storage_xml, sizeof(storage_xml),
		 "<driver>sqlite</driver><sqlite><dbname>%s/muc.db</dbname></sqlite>", dir);
	on_mysql = 0;
	return 0;
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

#ifdef HAVE_MYSQL
static int setup_mysql(void **state)
{
	(void)state;
	/* Not strict: the server would cut a long key rather than refuse
	 * it, as some installations run. */
	if (myt_exec("CREATE DATABASE `muc`") < 0 || myt_exec("SET GLOBAL sql_mode = ''") < 0)
		return -1;
	snprintf(storage_xml, sizeof(storage_xml),
		 "<driver>mysql</driver><mysql><host>127.0.0.1</host><port>%s</port>"
		 "<dbname>muc</dbname><user>" MYT_USER "</user><pass>" MYT_PASS "</pass>"
		 "</mysql>", myt_port());
	on_mysql = 1;
	return 0;
}

static int teardown_mysql(void **state)
{
	(void)state;
	return myt_exec("DROP DATABASE `muc`");
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_persistent_room),
		cmocka_unit_test(test_destroyed_room_is_gone),
		cmocka_unit_test(test_long_room_jid),
	};
	int failed = cmocka_run_group_tests_name("sqlite", tests, setup, teardown);

#ifdef HAVE_MYSQL
	{
		const char *why;

		switch (myt_start(&why)) {
		case 0:
			failed += cmocka_run_group_tests_name("mysql", tests, setup_mysql,
							      teardown_mysql);
			myt_stop();
			break;
		case 1:
			fprintf(stderr, "test_store: mysql: %s: SKIP\n", why);
			break;
		default:
			fprintf(stderr, "test_store: cannot start a MariaDB server: %s\n", why);
			failed++;
			break;
		}
	}
#endif
	return failed;
}
