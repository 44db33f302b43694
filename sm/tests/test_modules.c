/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_modules: the module data slots (sm.h, "Module data"). A probe
 * module, added to a registry of the built-in modules, puts data in its
 * per-sm, per-user and per-session slots from its own hooks and counts
 * the free hooks the core calls; a second probe, in no chain, must never
 * be asked. Then every built-in module is loaded and given state for a
 * user and a session, found in its slot, and the user leaves memory (the
 * ASan build checks that nothing leaks).
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

#include <cmocka.h>

#include "sm/tests/sm_testlib.h"

#include "storage/storage.h"
#include "util/buf.h"
#include "util/jid.h"
#include "util/xhash.h"

/* ---- the probe modules ---- */

struct probe_counts {
	int init, fini, user_load, user_free, sess_free;
	void *sm_data, *user_data, *sess_data;          /* what the hooks made */
	void *user_freed, *sess_freed;                  /* what the free hooks got */
};

static int probe_slot = -1, idle_slot = -1;
static struct probe_counts probe, idle;

static int probe_init(struct sm *sm, const char *arg)
{
	(void)arg;
	probe.init++;
	sm->mod[probe_slot] = probe.sm_data = xstrdup("per-sm");
	return 0;
}

static void probe_fini(struct sm *sm)
{
	probe.fini++;
	assert_ptr_equal(sm->mod[probe_slot], probe.sm_data);
	free(sm->mod[probe_slot]);
	sm->mod[probe_slot] = NULL;
}

static int probe_user_load(struct user *user)
{
	assert_null(user->mod[probe_slot]);
	probe.user_load++;
	user->mod[probe_slot] = probe.user_data = xstrdup(jid_bare(user->jid));
	return 0;
}

static enum mod_ret probe_sess_start(struct sess *sess)
{
	assert_null(sess->mod[probe_slot]);
	sess->mod[probe_slot] = probe.sess_data = xstrdup(jid_full(sess->jid));
	return MOD_PASS;
}

static void probe_user_free(struct user *user, void *data)
{
	probe.user_free++;
	probe.user_freed = data;
	/* Freed after user-unload, while the user is still whole. */
	assert_non_null(user->jid);
	assert_string_equal(data, jid_bare(user->jid));
	free(data);
}

static void probe_sess_free(struct sess *sess, void *data)
{
	(void)sess;
	probe.sess_free++;
	probe.sess_freed = data;
	free(data);
}

static const struct sm_module probe_module = {
	.name = "probe",
	.abi = SM_MODULE_ABI,
	.init = probe_init,
	.fini = probe_fini,
	.sess_start = probe_sess_start,
	.user_load = probe_user_load,
	.slot = &probe_slot,
	.user_free = probe_user_free,
	.sess_free = probe_sess_free,
};

static int idle_init(struct sm *sm, const char *arg)
{
	(void)sm;
	(void)arg;
	idle.init++;
	return 0;
}

static void idle_fini(struct sm *sm)
{
	(void)sm;
	idle.fini++;
}

static void idle_user_free(struct user *user, void *data)
{
	(void)user;
	(void)data;
	idle.user_free++;
}

static void idle_sess_free(struct sess *sess, void *data)
{
	(void)sess;
	(void)data;
	idle.sess_free++;
}

static int idle_user_load(struct user *user)
{
	(void)user;
	return 0;
}

/* Named in no chain of the test's sm.xml. */
static const struct sm_module idle_module = {
	.name = "idle",
	.abi = SM_MODULE_ABI,
	.init = idle_init,
	.fini = idle_fini,
	.user_load = idle_user_load,
	.slot = &idle_slot,
	.user_free = idle_user_free,
	.sess_free = idle_sess_free,
};

/* The built-in modules and the two probes. */
static const struct sm_module *registry[64];

static void registry_make(void)
{
	size_t n = 0, i;

	for (i = 0; sm_modules[i] != NULL; i++)
		registry[n++] = sm_modules[i];
	registry[n++] = &probe_module;
	registry[n++] = &idle_module;
	assert_true(n < sizeof(registry) / sizeof(registry[0]));
	registry[n] = NULL;
}

/* ---- the sm ---- */

/* Every built-in module, in the chains it has hooks for, as the dist
 * sm.xml lists them (and vacation, amp, echo, help, roster-publish). */
static const char sm_xml[] =
	"<sm><id>sm</id><local><id>example.org</id></local>"
	"<storage><driver>sqlite</driver><sqlite><dbname>%s</dbname></sqlite></storage>"
	"<user><template><publish><check-remove-domain/></publish></template></user>"
	"<discovery><identity><name>Slots</name></identity></discovery>"
	"<offline><userquota>1</userquota></offline>"
	"<modules>"
	"<chain id='sess-start'><module>status</module><module>probe</module></chain>"
	"<chain id='sess-end'><module>status</module><module>iq-last</module></chain>"
	"<chain id='in-sess'><module>validate</module><module>status</module>"
	"<module>privacy</module><module>roster</module><module>vacation</module>"
	"<module>iq-vcard</module><module>iq-ping</module><module>iq-private</module>"
	"<module>amp</module><module>offline</module><module>announce</module>"
	"<module>pep</module><module>presence</module><module>carbons</module>"
	"<module>deliver</module></chain>"
	"<chain id='in-router'><module>session</module><module>validate</module>"
	"<module>presence</module><module>privacy</module></chain>"
	"<chain id='out-router'><module>privacy</module></chain>"
	"<chain id='pkt-sm'><module>iq-last</module><module>iq-ping</module>"
	"<module>iq-time</module><module>iq-version</module><module>amp</module>"
	"<module>echo</module><module>help</module><module>disco</module>"
	"<module>announce</module><module>presence</module></chain>"
	"<chain id='pkt-user'><module>roster</module><module>presence</module>"
	"<module>disco</module><module>iq-vcard</module><module>pep</module>"
	"<module>vacation</module><module>amp</module><module>carbons</module>"
	"<module>deliver</module><module>offline</module><module>iq-last</module></chain>"
	"<chain id='pkt-router'><module>session</module><module>disco</module></chain>"
	"<chain id='user-load'><module>active</module><module>roster</module>"
	"<module>roster-publish</module><module>privacy</module><module>vacation</module>"
	"<module>probe</module></chain>"
	"<chain id='user-create'><module>active</module><module>template-roster</module>"
	"</chain>"
	"<chain id='user-delete'><module>active</module><module>offline</module>"
	"<module>roster</module><module>privacy</module><module>vacation</module></chain>"
	"<chain id='disco-extend'><module>help</module></chain>"
	"</modules></sm>";

struct fixture {
	char dir[64];
	struct sm *sm;
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	char db[128], *xml;

	memset(&probe, 0, sizeof(probe));
	memset(&idle, 0, sizeof(idle));
	registry_make();
	sm_registry = registry;
	sm_test_dir_make(f->dir, sizeof(f->dir), "test_modules");
	snprintf(db, sizeof(db), "%s/sqlite.db", f->dir);
	xml = xasprintf(sm_xml, db);
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
	sm_registry = sm_modules;
	sm_test_dir_remove(f->dir);
	free(f);
	return 0;
}

/* The data a loaded module keeps in its slot of `mod`. */
static void *slot_of(const struct sm *sm, void **mod, const char *name)
{
	const struct sm_module *m = mm_loaded(sm, name);

	if (m == NULL)
		fail_msg("module %s is not loaded", name);
	if (m->slot == NULL)
		fail_msg("module %s has no slot", name);
	return mod[*m->slot];
}

/* ---- tests ---- */

/* Each module of the registry that names a slot gets its own index,
 * 0..nslots-1; modules without data get none. */
static void test_slots_numbered(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;
	char seen[64] = { 0 };
	int i, n = 0;

	assert_true(sm->nslots > 0 && sm->nslots <= 64);
	for (i = 0; registry[i] != NULL; i++) {
		if (registry[i]->slot == NULL)
			continue;
		assert_in_range(*registry[i]->slot, 0, sm->nslots - 1);
		assert_int_equal(seen[*registry[i]->slot], 0);
		seen[*registry[i]->slot] = 1;
		n++;
	}
	assert_int_equal(n, sm->nslots);
	assert_null(mm_loaded(sm, "idle"));
	assert_non_null(mm_loaded(sm, "probe"));
	assert_null(sm->mod[idle_slot]);
}

/* The probe's data is made by its hooks, found by its slot, and handed
 * back to its own free hooks when the session ends and the user leaves
 * memory; the idle probe is never asked. */
static void test_probe_lifecycle(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;
	struct user *user;
	struct sess *sess;
	const char *smid;

	assert_int_equal(probe.init, 1);
	assert_ptr_equal(sm->mod[probe_slot], probe.sm_data);
	smid = sm_test_login(sm, "ann@example.org", "desk", "5");
	sess = xhash_get(sm->sessions, smid);
	assert_non_null(sess);
	user = sess->user;
	assert_ptr_equal(user->mod[probe_slot], probe.user_data);
	assert_string_equal(user->mod[probe_slot], "ann@example.org");
	assert_ptr_equal(sess->mod[probe_slot], probe.sess_data);
	assert_string_equal(sess->mod[probe_slot], "ann@example.org/desk");
	assert_null(user->mod[idle_slot]);
	assert_int_equal(probe.user_free + probe.sess_free, 0);

	sm_test_sess_req(sm, "end", "5", smid, NULL);
	assert_non_null(sm_test_out_find("action='ended'", NULL));
	assert_int_equal(xhash_count(sm->users), 0);
	assert_int_equal(probe.sess_free, 1);
	assert_ptr_equal(probe.sess_freed, probe.sess_data);
	assert_int_equal(probe.user_free, 1);
	assert_ptr_equal(probe.user_freed, probe.user_data);

	/* A packet for a user not in memory loads it and lets it go (once
	 * per module that loads it: privacy in in-router, then dispatch). */
	sm_test_feed(sm, "<route xmlns='" SM_TEST_NS_COMP "' to='sm' from='c2s'>"
		     "<iq xmlns='jabber:client' type='get' id='v' to='ann@example.org' "
		     "from='bob@remote.net/x'><query xmlns='jabber:iq:version'/></iq></route>");
	assert_int_equal(xhash_count(sm->users), 0);
	assert_true(probe.user_load > 1);
	assert_int_equal(probe.user_free, probe.user_load);
	assert_int_equal(idle.init + idle.fini + idle.user_free + idle.sess_free, 0);
}

/* A session still open when the sm stops: its data and its user's go to
 * the free hooks too, and the per-sm data to fini. */
static void test_probe_at_exit(void **state)
{
	struct fixture *f = *state;

	sm_test_login(f->sm, "ann@example.org", "desk", "5");
	assert_int_equal(probe.user_free + probe.sess_free, 0);
	sm_free(&f->sm);
	assert_int_equal(probe.sess_free, 1);
	assert_int_equal(probe.user_free, 1);
	assert_int_equal(probe.fini, 1);
	assert_int_equal(idle.fini, 0);
}

/* Send a stanza from the session and expect its result. */
static void iq_ok(struct sm *sm, const char *smid, const char *id, const char *stanza)
{
	sm_test_out_clear();
	sm_test_from_sess(sm, "5", smid, stanza);
	if (sm_test_out_find("type='result'", id, NULL) == NULL) {
		sm_test_out_dump();
		fail_msg("no result for %s", id);
	}
}

/* Every module with per-user or per-session state gets some, each finds
 * it in its own slot, and the user leaves memory with all of it. */
static void test_every_module_state(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;
	static const char *const user_mods[] = { "roster", "privacy", "pep", "vacation" };
	static const char *const sess_mods[] = { "roster", "privacy", "presence", "carbons" };
	static const char *const sm_mods[] = { "roster", "offline", "amp", "vacation", "disco",
					       "roster-publish" };
	struct sess *sess;
	const char *smid;
	size_t i;

	smid = sm_test_login(sm, "ann@example.org", "desk", "5");
	sess = xhash_get(sm->sessions, smid);
	iq_ok(sm, smid, "id='r1'", "<iq type='set' id='r1'><query xmlns='jabber:iq:roster'>"
	      "<item jid='bob@remote.net'><group>G</group></item></query></iq>");
	iq_ok(sm, smid, "id='r2'", "<iq type='get' id='r2'><query xmlns='jabber:iq:roster'/></iq>");
	iq_ok(sm, smid, "id='b1'", "<iq type='get' id='b1'><blocklist xmlns='urn:xmpp:blocking'/>"
	      "</iq>");
	iq_ok(sm, smid, "id='b2'", "<iq type='set' id='b2'><block xmlns='urn:xmpp:blocking'>"
	      "<item jid='eve@remote.net'/></block></iq>");
	iq_ok(sm, smid, "id='p1'", "<iq type='set' id='p1'><query xmlns='jabber:iq:privacy'>"
	      "<list name='l'><item type='jid' value='mal@remote.net' action='deny' order='1'/>"
	      "</list></query></iq>");
	iq_ok(sm, smid, "id='p2'", "<iq type='set' id='p2'><query xmlns='jabber:iq:privacy'>"
	      "<active name='l'/></query></iq>");
	iq_ok(sm, smid, "id='v1'", "<iq type='set' id='v1'>"
	      "<query xmlns='http://jabber.org/protocol/vacation'><start/><end/>"
	      "<message>away</message></query></iq>");
	iq_ok(sm, smid, "id='e1'", "<iq type='set' id='e1'>"
	      "<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='mood'>"
	      "<item><mood xmlns='http://jabber.org/protocol/mood'/></item></publish></pubsub>"
	      "</iq>");
	iq_ok(sm, smid, "id='c1'", "<iq type='set' id='c1'><enable xmlns='urn:xmpp:carbons:2'/>"
	      "</iq>");
	sm_test_from_sess(sm, "5", smid, "<presence/>");
	sm_test_from_sess(sm, "5", smid, "<presence to='room@conf.remote.net/ann'/>");

	for (i = 0; i < sizeof(user_mods) / sizeof(user_mods[0]); i++)
		if (slot_of(sm, sess->user->mod, user_mods[i]) == NULL)
			fail_msg("no user data for %s", user_mods[i]);
	for (i = 0; i < sizeof(sess_mods) / sizeof(sess_mods[0]); i++)
		if (slot_of(sm, sess->mod, sess_mods[i]) == NULL)
			fail_msg("no session data for %s", sess_mods[i]);
	for (i = 0; i < sizeof(sm_mods) / sizeof(sm_mods[0]); i++)
		if (slot_of(sm, sm->mod, sm_mods[i]) == NULL)
			fail_msg("no sm data for %s", sm_mods[i]);
	/* Options the modules read themselves: disco's identity. */
	sm_test_out_clear();
	sm_test_from_sess(sm, "5", smid, "<iq type='get' id='d1' to='example.org'>"
			  "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
	assert_non_null(sm_test_out_find("id='d1'", "category='server'", "name='Slots'", NULL));

	/* The session ends: its directed presence still gets unavailable
	 * (mod_presence's data, read before it is freed). */
	sm_test_out_clear();
	sm_test_sess_req(sm, "end", "5", smid, NULL);
	assert_non_null(sm_test_out_find("to='room@conf.remote.net/ann'", "unavailable", NULL));
	assert_int_equal(xhash_count(sm->users), 0);
	assert_int_equal(xhash_count(sm->sessions), 0);
	assert_int_equal(probe.user_free, 1);

	/* Loaded again, the user has what was stored (and only that). */
	smid = sm_test_login(sm, "ann@example.org", "desk", "5");
	sess = xhash_get(sm->sessions, smid);
	assert_non_null(slot_of(sm, sess->user->mod, "roster"));
	assert_non_null(slot_of(sm, sess->user->mod, "vacation"));
	assert_null(slot_of(sm, sess->user->mod, "pep"));         /* PEP is not stored */
	assert_null(slot_of(sm, sess->mod, "carbons"));
	assert_null(slot_of(sm, sess->mod, "presence"));
	sm_test_sess_req(sm, "end", "5", smid, NULL);

	/* and offline's: a quota of one message. */
	sm_test_out_clear();
	for (i = 0; i < 2; i++)
		sm_test_feed(sm, "<route xmlns='" SM_TEST_NS_COMP "' to='sm' from='s2s'>"
			     "<message xmlns='jabber:client' id='m%zu' to='ann@example.org' "
			     "from='bob@remote.net/x'><body>hi</body></message></route>", i);
	assert_null(sm_test_out_find("id='m0'", "service-unavailable", NULL));
	assert_non_null(sm_test_out_find("id='m1'", "service-unavailable", NULL));
}

/* ---- services without their module ---- */

/* roster-publish, amp and carbons, but neither roster nor offline nor
 * privacy: their services answer as if there were nothing. */
static const char bare_xml[] =
	"<sm><id>sm</id><local><id>example.org</id></local>"
	"<storage><driver>sqlite</driver><sqlite><dbname>%s</dbname></sqlite></storage>"
	"<user><template><publish/></template></user>"
	"<modules>"
	"<chain id='in-sess'><module>presence</module><module>carbons</module>"
	"<module>deliver</module></chain>"
	"<chain id='in-router'><module>session</module></chain>"
	"<chain id='pkt-user'><module>presence</module><module>amp</module>"
	"<module>carbons</module><module>deliver</module></chain>"
	"<chain id='user-load'><module>active</module><module>roster-publish</module></chain>"
	"<chain id='user-create'><module>active</module></chain>"
	"</modules></sm>";

static void test_services_without_module(void **state)
{
	struct fixture *f = *state;
	struct os *os = os_new();
	struct os_object *o = os_object_new(os);
	const char *smid, *error;
	struct sess *sess;
	char db[128], *xml;

	/* The fixture's sm is not this one. */
	sm_free(&f->sm);
	snprintf(db, sizeof(db), "%s/sqlite.db", f->dir);
	xml = xasprintf(bare_xml, db);
	f->sm = sm_test_sm_new(xml);
	free(xml);
	assert_null(mm_loaded(f->sm, "roster"));
	/* A published contact for a user with no roster module: skipped. */
	os_object_put_str(o, "jid", "carol@example.org");
	os_object_put_str(o, "group", "G");
	os_object_put_bool(o, "to", 1);
	os_object_put_bool(o, "from", 1);
	os_object_put_int(o, "ask", 0);
	assert_int_equal(storage_put(f->sm->st, "published-roster", "", os, &error), STORAGE_OK);
	os_free(&os);
	smid = sm_test_login(f->sm, "ann@example.org", "desk", "5");
	sess = xhash_get(f->sm->sessions, smid);
	assert_non_null(sess);
	{
		int64_t n = -1;
		int rc = storage_count(f->sm->st, "roster-items", "ann@example.org", NULL, &n, &error);

		if (rc != STORAGE_OK)
			fail_msg("count: %d %s", rc, error);
		assert_int_equal(n, 0);
	}
	/* No privacy module: the message reaches the available session. */
	sm_test_from_sess(f->sm, "5", smid, "<presence/>");
	sm_test_out_clear();
	sm_test_feed(f->sm, "<route xmlns='" SM_TEST_NS_COMP "' to='sm' from='s2s'>"
		     "<message xmlns='jabber:client' id='m1' to='ann@example.org' "
		     "from='bob@remote.net/x'><body>hi</body></message></route>");
	assert_non_null(sm_test_out_find("id='m1'", ":sm='", "<body>hi</body>", NULL));
	sm_test_sess_req(f->sm, "end", "5", smid, NULL);
	/* No offline module: to amp, an offline user's message is stored
	 * nowhere, so "deliver none" is met. */
	sm_test_out_clear();
	sm_test_feed(f->sm, "<route xmlns='" SM_TEST_NS_COMP "' to='sm' from='s2s'>"
		     "<message xmlns='jabber:client' id='m2' to='ann@example.org' "
		     "from='bob@remote.net/x'><body>hi</body><amp xmlns='"
		     "http://jabber.org/protocol/amp'><rule condition='deliver' value='none' "
		     "action='alert'/></amp></message></route>");
	assert_non_null(sm_test_out_find("id='m2'", "status='alert'", NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_slots_numbered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_probe_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_probe_at_exit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_module_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_services_without_module, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
