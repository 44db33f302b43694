/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_roster_publish: mod_roster_publish without a router. An sm on
 * SQLite in a temporary directory, published-roster rows written through
 * the storage layer, and a user loaded by a session start: what its
 * roster (in memory and stored) holds afterwards, for each sm.xml option.
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
#include <unistd.h>

#include <cmocka.h>

#include "sm/tests/sm_testlib.h"

#include "storage/storage.h"
#include "util/buf.h"
#include "util/config_file.h"
#include "util/jid.h"
#include "util/nad.h"
#include "sm/roster.h"

#define COMP "http://jabberd.jabberstudio.org/ns/component/1.0"
#define SESS "http://jabberd.jabberstudio.org/ns/session/1.0"

static const char sm_xml[] =
	"<sm><id>sm</id><local><id>example.org</id></local>"
	"<storage><driver>sqlite</driver><sqlite><dbname>%s</dbname></sqlite></storage>"
	"<user>%s</user>"
	"<modules>"
	"<chain id='in-router'><module>session</module></chain>"
	"<chain id='user-load'><module>active</module><module>roster</module>"
	"<module>roster-publish</module></chain>"
	"<chain id='user-create'><module>active</module></chain>"
	"</modules></sm>";

static void discard(struct sm *sm, struct nad *nad)
{
	(void)sm;
	nad_free(&nad);
}

struct fixture {
	char dir[64];
	struct sm *sm;
};

static struct sm *sm_make(struct fixture *f, const char *user_xml)
{
	char db[128], *xml;
	struct sm *sm;

	snprintf(db, sizeof(db), "%s/sqlite.db", f->dir);
	xml = xasprintf(sm_xml, db, user_xml);
	sm = sm_test_sm_new(xml);
	free(xml);
	sm->send_hook = discard;
	return sm;
}

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	sm_test_dir_make(f->dir, sizeof(f->dir), "test_rp");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->sm != NULL)
		sm_free(&f->sm);
	sm_test_dir_remove(f->dir);
	free(f);
	return 0;
}

static void sess_req(struct sm *sm, const char *action, const char *target)
{
	sm_test_feed(sm, "<route xmlns='" COMP "' to='example.org' from='c2s'>"
	     "<sc:session xmlns:sc='" SESS "' sc:c2s='7' action='%s' target='%s' "
	     "id='r'/></route>", action, target);
}

/* One published-roster row; group and name may be NULL. */
static void publish(struct sm *sm, const char *owner, const char *jid, const char *group,
		    const char *name, int to, int from)
{
	struct os *os = os_new();
	struct os_object *o = os_object_new(os);
	const char *error;

	os_object_put_str(o, "jid", jid);
	if (group != NULL)
		os_object_put_str(o, "group", group);
	if (name != NULL)
		os_object_put_str(o, "name", name);
	os_object_put_bool(o, "to", to);
	os_object_put_bool(o, "from", from);
	os_object_put_int(o, "ask", 0);
	assert_int_equal(storage_put(sm->st, "published-roster", owner, os, &error), STORAGE_OK);
	os_free(&os);
}

/* A roster item of owner (not loaded) before the publishing. */
static void roster_row(struct sm *sm, const char *owner, const char *jid, const char *name,
		       const char *g1, const char *g2)
{
	struct os *os = os_new();
	struct os_object *o = os_object_new(os);
	const char *error, *groups[2] = { g1, g2 };
	int i;

	os_object_put_str(o, "jid", jid);
	os_object_put_str(o, "name", name);
	os_object_put_bool(o, "to", 0);
	os_object_put_bool(o, "from", 0);
	os_object_put_int(o, "ask", 0);
	assert_int_equal(storage_put(sm->st, "roster-items", owner, os, &error), STORAGE_OK);
	os_free(&os);
	os = os_new();
	for (i = 0; i < 2; i++) {
		if (groups[i] == NULL)
			continue;
		o = os_object_new(os);
		os_object_put_str(o, "jid", jid);
		os_object_put_str(o, "group", groups[i]);
	}
	assert_int_equal(storage_put(sm->st, "roster-groups", owner, os, &error), STORAGE_OK);
	os_free(&os);
}

/* Create and activate a user of this sm (an "active" row). */
static void make_user(struct sm *sm, const char *bare)
{
	sess_req(sm, "create", bare);
}

/* Load bob by starting a session; his roster. */
static struct user *load_bob(struct sm *sm)
{
	const char *error;
	struct jid *jid = jid_new("bob@example.org", 15, &error);
	struct user *u;

	sess_req(sm, "start", "bob@example.org/desk");
	u = user_load(sm, jid);
	jid_free(&jid);
	assert_non_null(u);
	return u;
}

static int64_t rows(struct sm *sm, const char *type, const char *owner)
{
	int64_t n = -1;
	const char *error;

	assert_int_equal(storage_count(sm->st, type, owner, NULL, &n, &error), STORAGE_OK);
	return n;
}

static int has_group(const struct roster_item *item, const char *g)
{
	int i;

	for (i = 0; i < item->ngroups; i++)
		if (strcmp(item->groups[i], g) == 0)
			return 1;
	return 0;
}

static void test_off_without_publish(void **state)
{
	struct fixture *f = *state;
	struct user *u;

	f->sm = sm_make(f, "");
	make_user(f->sm, "bob@example.org");
	publish(f->sm, "", "carol@example.org", "Staff", "Carol", 1, 1);
	u = load_bob(f->sm);
	assert_null(roster_get(u, "carol@example.org"));
	assert_int_equal(rows(f->sm, "roster-items", "bob@example.org"), 0);
}

static void test_adds_items(void **state)
{
	struct fixture *f = *state;
	struct roster_item *item;
	struct user *u;

	f->sm = sm_make(f, "<template><publish/></template>");
	make_user(f->sm, "bob@example.org");
	publish(f->sm, "", "carol@example.org", "Staff", "Carol", 1, 1);
	publish(f->sm, "", "bob@example.org", "Staff", "Bob", 1, 1);       /* self */
	publish(f->sm, "", "nogroup@example.org", NULL, "Nobody", 1, 1);  /* skipped */
	publish(f->sm, "", "not a jid@@", "Staff", NULL, 0, 0);
	publish(f->sm, "other.org", "eve@example.org", "Staff", NULL, 0, 0); /* other key */
	u = load_bob(f->sm);
	item = roster_get(u, "carol@example.org");
	assert_non_null(item);
	assert_string_equal(item->name, "Carol");
	assert_true(item->to && item->from);
	assert_int_equal(item->ngroups, 1);
	assert_string_equal(item->groups[0], "Staff");
	assert_null(roster_get(u, "bob@example.org"));
	assert_null(roster_get(u, "nogroup@example.org"));
	assert_null(roster_get(u, "eve@example.org"));
	/* stored, so a later load (or jabberd2) sees it */
	assert_int_equal(rows(f->sm, "roster-items", "bob@example.org"), 1);
	assert_int_equal(rows(f->sm, "roster-groups", "bob@example.org"), 1);
}

static void test_existing_items(void **state)
{
	struct fixture *f = *state;
	struct roster_item *item;
	struct user *u;

	f->sm = sm_make(f, "<template><publish><fix-subscriptions/><override-names/>"
			"<force-groups><prefix>Org.</prefix><suffix>(Org)</suffix></force-groups>"
			"</publish></template>");
	make_user(f->sm, "bob@example.org");
	roster_row(f->sm, "bob@example.org", "carol@example.org", "C", "Org.Old", "Friends");
	roster_row(f->sm, "bob@example.org", "dan@example.org", "D", "Team (Org)", NULL);
	publish(f->sm, "", "carol@example.org", "Org.Staff", "Carol", 1, 1);
	publish(f->sm, "", "dan@example.org", "Org.Staff", "Dan", 0, 1);
	u = load_bob(f->sm);
	item = roster_get(u, "carol@example.org");
	assert_non_null(item);
	assert_string_equal(item->name, "Carol");
	assert_true(item->to && item->from);
	assert_int_equal(item->ngroups, 2);
	assert_true(has_group(item, "Friends") && has_group(item, "Org.Staff"));
	item = roster_get(u, "dan@example.org");
	assert_non_null(item);
	assert_string_equal(item->name, "Dan");
	assert_true(!item->to && item->from);
	assert_int_equal(item->ngroups, 1);
	assert_string_equal(item->groups[0], "Org.Staff");
	assert_int_equal(rows(f->sm, "roster-groups", "bob@example.org"), 3);
}

static void test_existing_items_untouched(void **state)
{
	struct fixture *f = *state;
	struct roster_item *item;
	struct user *u;

	/* none of the options: an item already there stays as the user had it */
	f->sm = sm_make(f, "<template><publish/></template>");
	make_user(f->sm, "bob@example.org");
	roster_row(f->sm, "bob@example.org", "carol@example.org", "C", "Mine", NULL);
	publish(f->sm, "", "carol@example.org", "Staff", "Carol", 1, 1);
	u = load_bob(f->sm);
	item = roster_get(u, "carol@example.org");
	assert_string_equal(item->name, "C");
	assert_false(item->to || item->from);
	assert_int_equal(item->ngroups, 1);
	assert_string_equal(item->groups[0], "Mine");
}

static void test_check_remove_and_mapped_groups(void **state)
{
	struct fixture *f = *state;
	struct roster_item *item;
	struct user *u;

	f->sm = sm_make(f, "<template><publish><fetch-key><domain/></fetch-key>"
			"<check-remove-domain>example.org</check-remove-domain>"
			"<active-cache-ttl>60</active-cache-ttl>"
			"<mapped-groups><map-groups/><group-cache-ttl>60</group-cache-ttl>"
			"</mapped-groups></publish></template>");
	make_user(f->sm, "bob@example.org");
	make_user(f->sm, "carol@example.org");
	roster_row(f->sm, "bob@example.org", "gone@example.org", "G", "Staff", NULL);
	publish(f->sm, "example.org", "carol@example.org", "g1", "Carol", 1, 1);
	publish(f->sm, "example.org", "gone@example.org", "g1", "Gone", 1, 1);
	publish(f->sm, "example.org", "ghost@example.org", "g1", "Ghost", 1, 1);
	publish(f->sm, "example.org", "far@remote.net", "g1", "Far", 1, 1); /* not checked */
	publish(f->sm, "example.org", "odd@remote.net", "g2", "Odd", 1, 1); /* no name for g2 */
	{
		struct os *os = os_new();
		const char *error;

		os_object_put_str(os_object_new(os), "groupname", "Team");
		assert_int_equal(storage_put(f->sm->st, "published-roster-groups", "g1", os,
					     &error), STORAGE_OK);
		os_free(&os);
	}
	u = load_bob(f->sm);
	item = roster_get(u, "carol@example.org");
	assert_non_null(item);
	assert_string_equal(item->groups[0], "Team");
	assert_null(roster_get(u, "gone@example.org"));
	assert_null(roster_get(u, "ghost@example.org"));
	assert_non_null(roster_get(u, "far@remote.net"));
	assert_null(roster_get(u, "odd@remote.net"));
	assert_int_equal(rows(f->sm, "roster-items", "bob@example.org"), 2);
}

static void test_fetch_keys(void **state)
{
	struct fixture *f = *state;
	struct user *u;

	f->sm = sm_make(f, "<template><publish><fetch-key><user/></fetch-key></publish>"
			"</template>");
	make_user(f->sm, "bob@example.org");
	publish(f->sm, "bob@example.org", "carol@example.org", "S", NULL, 0, 0);
	publish(f->sm, "", "eve@example.org", "S", NULL, 0, 0);
	u = load_bob(f->sm);
	assert_non_null(roster_get(u, "carol@example.org"));
	assert_null(roster_get(u, "eve@example.org"));
	sm_free(&f->sm);

	f->sm = sm_make(f, "<template><publish><fetch-key><fixed>grp</fixed></fetch-key>"
			"</publish></template>");
	publish(f->sm, "grp", "fay@example.org", "S", NULL, 0, 0);
	u = load_bob(f->sm);
	assert_non_null(roster_get(u, "fay@example.org"));
	assert_null(roster_get(u, "eve@example.org"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_off_without_publish, setup, teardown),
		cmocka_unit_test_setup_teardown(test_adds_items, setup, teardown),
		cmocka_unit_test_setup_teardown(test_existing_items, setup, teardown),
		cmocka_unit_test_setup_teardown(test_existing_items_untouched, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_remove_and_mapped_groups, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fetch_keys, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
