/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test_amp: mod_amp (XEP-0079). First the rule check alone (every
 * condition and value, switched-off actions and conditions, bad rules),
 * then an sm without a router (SQLite in a temporary directory, a send
 * hook capturing what it sends): messages with rules to an offline and an
 * online user, the errors, the reports and the disco#info answers.
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
#include "util/nad.h"
#include "sm/amp.h"

#define COMP "http://jabberd.jabberstudio.org/ns/component/1.0"
#define SESS "http://jabberd.jabberstudio.org/ns/session/1.0"
#define AMP "http://jabber.org/protocol/amp"

/* ---- the rule check ---- */

static void test_check_conditions(void **state)
{
	struct amp_dest offline = { .storable = 1, .now = 1000 };
	struct amp_dest online = { .online = 1, .storable = 1, .now = 1000 };
	struct amp_dest exact = { .online = 1, .exact = 1, .storable = 1, .now = 1000 };
	struct amp_dest bare_on = { .online = 1, .bare = 1, .storable = 1, .now = 1000 };
	struct amp_dest bare_off = { .bare = 1, .storable = 1, .now = 1000 };
	struct amp_dest headline = { .now = 1000 };     /* offline storage would not keep it */

	(void)state;
	assert_int_equal(amp_rule_check(0, "drop", "deliver", "direct", &online), AMP_MET);
	assert_int_equal(amp_rule_check(0, "drop", "deliver", "direct", &offline), AMP_NOT_MET);
	assert_int_equal(amp_rule_check(0, "drop", "deliver", "stored", &offline), AMP_MET);
	assert_int_equal(amp_rule_check(0, "drop", "deliver", "stored", &online), AMP_NOT_MET);
	assert_int_equal(amp_rule_check(0, "drop", "deliver", "none", &offline), AMP_NOT_MET);
	/* without offline storage an offline user's message goes nowhere */
	assert_int_equal(amp_rule_check(AMP_OFF_STORAGE, "drop", "deliver", "none", &offline),
			 AMP_MET);
	assert_int_equal(amp_rule_check(AMP_OFF_STORAGE, "drop", "deliver", "stored", &offline),
			 AMP_NOT_MET);
	assert_int_equal(amp_rule_check(0, "drop", "deliver", "forward", &online), AMP_BAD_VALUE);
	assert_int_equal(amp_rule_check(0, "drop", "deliver", "stored", &headline), AMP_NOT_MET);
	assert_int_equal(amp_rule_check(0, "drop", "deliver", "none", &headline), AMP_MET);

	assert_int_equal(amp_rule_check(0, "alert", "match-resource", "any", &online), AMP_MET);
	assert_int_equal(amp_rule_check(0, "alert", "match-resource", "any", &offline),
			 AMP_NOT_MET);
	assert_int_equal(amp_rule_check(0, "alert", "match-resource", "exact", &exact), AMP_MET);
	assert_int_equal(amp_rule_check(0, "alert", "match-resource", "exact", &online),
			 AMP_NOT_MET);
	assert_int_equal(amp_rule_check(0, "alert", "match-resource", "other", &online), AMP_MET);
	assert_int_equal(amp_rule_check(0, "alert", "match-resource", "other", &exact),
			 AMP_NOT_MET);
	assert_int_equal(amp_rule_check(0, "alert", "match-resource", "other", &offline),
			 AMP_NOT_MET);
	assert_int_equal(amp_rule_check(0, "alert", "match-resource", NULL, &online),
			 AMP_BAD_VALUE);
	/* to a bare JID: exact means offline storage, other a session */
	assert_int_equal(amp_rule_check(0, "alert", "match-resource", "exact", &bare_off),
			 AMP_MET);
	assert_int_equal(amp_rule_check(AMP_OFF_STORAGE, "alert", "match-resource", "exact",
					&bare_off), AMP_NOT_MET);
	assert_int_equal(amp_rule_check(0, "alert", "match-resource", "exact", &bare_on),
			 AMP_NOT_MET);
	assert_int_equal(amp_rule_check(0, "alert", "match-resource", "other", &bare_on),
			 AMP_MET);
	assert_int_equal(amp_rule_check(0, "alert", "match-resource", "other", &bare_off),
			 AMP_NOT_MET);

	/* 1000 is 1970-01-01T00:16:40Z */
	assert_int_equal(amp_rule_check(0, "error", "expire-at", "1970-01-01T00:16:39Z", &online),
			 AMP_MET);
	assert_int_equal(amp_rule_check(0, "error", "expire-at", "1970-01-01T00:16:41Z", &online),
			 AMP_NOT_MET);
	assert_int_equal(amp_rule_check(0, "error", "expire-at", "1970-01-01T01:16:41+01:00",
					&online), AMP_NOT_MET);
	assert_int_equal(amp_rule_check(0, "error", "expire-at", "tomorrow", &online),
			 AMP_BAD_VALUE);
	assert_int_equal(amp_rule_check(0, "error", "expire-at", NULL, &online), AMP_BAD_VALUE);
}

static void test_check_switches(void **state)
{
	struct amp_dest online = { .online = 1, .storable = 1, .now = 1000 };

	(void)state;
	assert_int_equal(amp_rule_check(0, "notify", "deliver", "direct", &online), AMP_MET);
	assert_int_equal(amp_rule_check(AMP_OFF_NOTIFY, "notify", "deliver", "direct", &online),
			 AMP_BAD_ACTION);
	assert_int_equal(amp_rule_check(AMP_OFF_DROP, "drop", "deliver", "direct", &online),
			 AMP_BAD_ACTION);
	assert_int_equal(amp_rule_check(AMP_OFF_ERROR, "error", "deliver", "direct", &online),
			 AMP_BAD_ACTION);
	assert_int_equal(amp_rule_check(AMP_OFF_ALERT, "alert", "deliver", "direct", &online),
			 AMP_BAD_ACTION);
	assert_int_equal(amp_rule_check(AMP_OFF_DELIVER, "drop", "deliver", "direct", &online),
			 AMP_BAD_CONDITION);
	assert_int_equal(amp_rule_check(AMP_OFF_EXPIREAT, "drop", "expire-at",
					"2000-01-01T00:00:00Z", &online), AMP_BAD_CONDITION);
	assert_int_equal(amp_rule_check(AMP_OFF_MATCHRES, "drop", "match-resource", "any",
					&online), AMP_BAD_CONDITION);
	/* the other switches leave the rule alone */
	assert_int_equal(amp_rule_check(AMP_OFF_DROP | AMP_OFF_DELIVER, "notify",
					"match-resource", "any", &online), AMP_MET);
	assert_int_equal(amp_rule_check(0, "explode", "deliver", "direct", &online),
			 AMP_BAD_ACTION);
	assert_int_equal(amp_rule_check(0, "drop", "weather", "rain", &online),
			 AMP_BAD_CONDITION);
	assert_int_equal(amp_rule_check(0, NULL, "deliver", "direct", &online), AMP_BAD_VALUE);
	assert_int_equal(amp_rule_check(0, "drop", NULL, NULL, &online), AMP_BAD_CONDITION);
}

/* ---- through an sm ---- */

static const char sm_xml[] =
	"<sm><id>sm</id><local><id>example.org</id></local>"
	"<storage><driver>sqlite</driver><sqlite><dbname>%s</dbname></sqlite></storage>"
	"%s"
	"<modules>"
	"<chain id='in-sess'><module>amp</module><module>offline</module>"
	"<module>presence</module><module>deliver</module></chain>"
	"<chain id='in-router'><module>session</module><module>presence</module></chain>"
	"<chain id='pkt-sm'><module>amp</module><module>disco</module></chain>"
	"<chain id='pkt-user'><module>roster</module><module>presence</module>"
	"<module>amp</module><module>deliver</module><module>offline</module></chain>"
	"<chain id='user-load'><module>active</module><module>roster</module></chain>"
	"<chain id='user-create'><module>active</module></chain>"
	"</modules></sm>";

struct fixture {
	char dir[64];
	struct sm *sm;
};

static struct fixture *fixture_new(const char *extra)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	char db[128], *xml;

	sm_test_dir_make(f->dir, sizeof(f->dir), "test_amp");
	snprintf(db, sizeof(db), "%s/sqlite.db", f->dir);
	xml = xasprintf(sm_xml, db, extra);
	f->sm = sm_test_sm_new(xml);
	free(xml);
	return f;
}

static int setup(void **state)
{
	*state = fixture_new("");
	return 0;
}

static int setup_off(void **state)
{
	*state = fixture_new("<amp><disableactions><drop/></disableactions>"
			     "<disableconditions><expireat/></disableconditions>"
			     "<offlinestoragedisabled/></amp>");
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

static void sess_req(struct sm *sm, const char *action, const char *target)
{
	sm_test_feed(sm, "<route xmlns='" COMP "' to='example.org' from='c2s'>"
	     "<sc:session xmlns:sc='" SESS "' sc:c2s='7' action='%s' target='%s' "
	     "id='r'/></route>", action, target);
}

/* Create bob; with a session bob@example.org/desk, available, if online
 * (2: keep what the sm sent for the presence). */
static void bob(struct sm *sm, int online)
{
	const char *o, *p;
	char smid[41];

	sess_req(sm, "create", "bob@example.org");
	if (online) {
		sess_req(sm, "start", "bob@example.org/desk");
		o = sm_test_out_find("action='started'", NULL);
		assert_non_null(o);
		p = strstr(o, ":sm='");
		assert_non_null(p);
		memcpy(smid, p + 5, 40);
		smid[40] = '\0';
		sm_test_out_clear();
		sm_test_feed(sm, "<route xmlns='" COMP "' to='sm' from='c2s'><presence "
		     "xmlns='jabber:client' xmlns:sc='" SESS "' sc:c2s='7' sc:sm='%s'/>"
		     "</route>", smid);
	}
	if (online != 2)
		sm_test_out_clear();
}

/* A message from a remote sender to `to` with the given rules. */
static void amp_msg(struct sm *sm, const char *to, const char *rules)
{
	sm_test_feed(sm, "<route xmlns='" COMP "' to='sm' from='s2s'><message xmlns='jabber:server' "
	     "from='ann@remote.net/pc' to='%s' id='m1'><body>hi</body>"
	     "<amp xmlns='" AMP "'>%s</amp></message></route>", to, rules);
}

static int64_t stored(struct sm *sm)
{
	int64_t n = -1;
	const char *error;

	assert_int_equal(storage_count(sm->st, "queue", "bob@example.org", NULL, &n, &error),
			 STORAGE_OK);
	return n;
}

static void test_offline_user(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;

	bob(sm, 0);
	/* expired: dropped, neither delivered nor stored */
	amp_msg(sm, "bob@example.org", "<rule condition='expire-at' action='drop' "
		"value='2001-01-01T00:00:00Z'/>");
	assert_int_equal(sm_test_nout, 0);
	assert_int_equal(stored(sm), 0);
	/* not yet expired: stored as usual */
	amp_msg(sm, "bob@example.org", "<rule condition='expire-at' action='drop' "
		"value='2999-01-01T00:00:00Z'/>");
	assert_int_equal(stored(sm), 1);
	/* deliver stored + alert: the sender hears of it, nothing is stored */
	amp_msg(sm, "bob@example.org", "<rule condition='deliver' action='alert' "
		"value='stored'/>");
	assert_non_null(sm_test_out_find("to='ann@remote.net/pc'", "from='example.org'", "id='m1'",
				 "status='alert'", "condition='deliver'", "value='stored'", NULL));
	assert_null(sm_test_out_find("<body>", NULL));
	assert_int_equal(stored(sm), 1);
	sm_test_out_clear();
	/* error: bounced with failed-rules */
	amp_msg(sm, "bob@example.org/desk", "<rule condition='deliver' action='error' "
		"value='stored'/>");
	assert_non_null(sm_test_out_find("type='error'", "to='ann@remote.net/pc'", "from='example.org'",
				 "undefined-condition", "status='error'",
				 "from='ann@remote.net/pc' to='bob@example.org/desk'",
				 "<failed-rules xmlns='" AMP "#errors'><rule action='error' "
				 "condition='deliver' value='stored'/></failed-rules>", NULL));
	assert_null(sm_test_out_find("<body>", NULL));
	assert_int_equal(stored(sm), 1);
	sm_test_out_clear();
	/* notify: the sender is told, the message is stored all the same */
	amp_msg(sm, "bob@example.org", "<rule condition='deliver' action='notify' "
		"value='direct'/><rule condition='deliver' action='notify' value='stored'/>");
	assert_non_null(sm_test_out_find("status='notify'", "value='stored'", NULL));
	assert_null(sm_test_out_find("value='direct'", NULL));
	assert_int_equal(stored(sm), 2);
	sm_test_out_clear();
	/* a report is not a request */
	sm_test_feed(sm, "<route xmlns='" COMP "' to='sm' from='s2s'><message xmlns='jabber:server' "
	     "from='ann@remote.net/pc' to='bob@example.org'><amp xmlns='" AMP "' "
	     "status='alert'><rule condition='deliver' action='drop' value='stored'/></amp>"
	     "</message></route>");
	assert_int_equal(stored(sm), 3);
}

/* A message stored before its expire-at passed (by jabberd2, or by us a
 * while ago) is judged again when it would be delivered. */
static void queue_row(struct sm *sm, const char *id, const char *action)
{
	const char *error = NULL;
	struct buf b = { 0 };
	struct nad *nad;
	struct os *os = os_new();

	buf_printf(&b, "<route xmlns='" COMP "' to='example.org' from='remote.net'>"
		   "<message xmlns='jabber:server' from='ann@remote.net/pc' "
		   "to='bob@example.org' id='%s'><body>stored %s</body><amp xmlns='" AMP "'>"
		   "<rule condition='expire-at' action='%s' value='2001-01-01T00:00:00Z'/>"
		   "</amp></message></route>", id, id, action);
	nad = nad_parse(b.data, b.len, 0, &error, NULL);
	assert_non_null(nad);
	buf_free(&b);
	os_object_put_nad(os_object_new(os), "xml", nad);
	nad_free(&nad);
	assert_int_equal(storage_put(sm->st, "queue", "bob@example.org", os, &error),
			 STORAGE_OK);
	os_free(&os);
}

static void test_stored_expired(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;

	bob(sm, 0);
	queue_row(sm, "s1", "drop");
	queue_row(sm, "s2", "notify");
	queue_row(sm, "s3", "alert");
	queue_row(sm, "s4", "error");
	bob(sm, 2);     /* the queue goes out at bob's first available presence */
	assert_null(sm_test_out_find("stored s1", NULL));
	assert_non_null(sm_test_out_find("<body>stored s2</body>", "to='c2s'", NULL));
	assert_non_null(sm_test_out_find("id='s2'", "status='notify'", "to='ann@remote.net/pc'", NULL));
	assert_null(sm_test_out_find("stored s3", NULL));
	assert_non_null(sm_test_out_find("id='s3'", "status='alert'", NULL));
	assert_non_null(sm_test_out_find("id='s4'", "type='error'", "failed-rules", NULL));
	assert_null(sm_test_out_find("stored s4", NULL));
	assert_int_equal(stored(sm), 0);
}

static void test_online_user(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;

	bob(sm, 1);
	amp_msg(sm, "bob@example.org/desk", "<rule condition='match-resource' action='drop' "
		"value='other'/>");
	assert_non_null(sm_test_out_find("<body>hi</body>", "to='bob@example.org/desk'", NULL));
	sm_test_out_clear();
	amp_msg(sm, "bob@example.org/phone", "<rule condition='match-resource' action='drop' "
		"value='other'/>");
	assert_int_equal(sm_test_nout, 0);
	amp_msg(sm, "bob@example.org/desk", "<rule condition='match-resource' action='drop' "
		"value='exact'/>");
	assert_int_equal(sm_test_nout, 0);
	amp_msg(sm, "bob@example.org", "<rule condition='match-resource' action='alert' "
		"value='any'/>");
	assert_non_null(sm_test_out_find("status='alert'", "value='any'", NULL));
	assert_null(sm_test_out_find("<body>", NULL));
	sm_test_out_clear();
	amp_msg(sm, "bob@example.org", "<rule condition='deliver' action='notify' "
		"value='direct'/>");
	assert_non_null(sm_test_out_find("status='notify'", "to='ann@remote.net/pc'", NULL));
	assert_non_null(sm_test_out_find("<body>hi</body>", "to='c2s'", NULL));
	sm_test_out_clear();
	assert_int_equal(stored(sm), 0);
}

static void test_bad_rules(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;
	struct buf many = { 0 };
	int i;

	bob(sm, 0);
	amp_msg(sm, "bob@example.org", "<rule condition='deliver' action='explode' "
		"value='stored'/><rule condition='weather' action='drop' value='x'/>");
	assert_non_null(sm_test_out_find("type='error'", "bad-request", "<unsupported-actions xmlns='"
				 AMP "'><rule action='explode' condition='deliver' "
				 "value='stored'/></unsupported-actions>", NULL));
	assert_null(sm_test_out_find("<body>", NULL));
	assert_null(sm_test_out_find("unsupported-conditions", NULL));
	sm_test_out_clear();
	amp_msg(sm, "bob@example.org", "<rule condition='weather' action='drop' value='x'/>");
	assert_non_null(sm_test_out_find("bad-request", "unsupported-conditions", "weather", NULL));
	sm_test_out_clear();
	amp_msg(sm, "bob@example.org", "<rule condition='expire-at' action='drop' "
		"value='soon'/><rule condition='deliver' action='drop' value='forward'/>");
	assert_non_null(sm_test_out_find("not-acceptable", "<invalid-rules xmlns='" AMP "'><rule "
				 "action='drop' condition='expire-at' value='soon'/><rule "
				 "action='drop' condition='deliver' value='forward'/></invalid-rules>",
				 NULL));
	sm_test_out_clear();
	for (i = 0; i < 17; i++)
		buf_printf(&many, "<rule condition='deliver' action='notify' value='direct'/>");
	amp_msg(sm, "bob@example.org", many.data);
	buf_free(&many);
	assert_non_null(sm_test_out_find("type='error'", "bad-request", NULL));
	assert_null(sm_test_out_find("<body>", NULL));
	sm_test_out_clear();
	assert_int_equal(stored(sm), 0);
}

static void test_switched_off(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;

	bob(sm, 0);
	amp_msg(sm, "bob@example.org", "<rule condition='deliver' action='drop' "
		"value='none'/>");
	assert_non_null(sm_test_out_find("unsupported-actions", "action='drop'", NULL));
	sm_test_out_clear();
	amp_msg(sm, "bob@example.org", "<rule condition='expire-at' action='alert' "
		"value='2001-01-01T00:00:00Z'/>");
	assert_non_null(sm_test_out_find("unsupported-conditions", "expire-at", NULL));
	sm_test_out_clear();
	/* storage off: "none" is what happens to an offline user's message */
	amp_msg(sm, "bob@example.org", "<rule condition='deliver' action='alert' "
		"value='none'/>");
	assert_non_null(sm_test_out_find("status='alert'", "value='none'", NULL));
	sm_test_out_clear();
	sm_test_feed(sm, "<route xmlns='" COMP "' to='sm' from='s2s'><iq xmlns='jabber:server' "
	     "type='get' id='d1' from='ann@remote.net/pc' to='example.org'>"
	     "<query xmlns='http://jabber.org/protocol/disco#info' node='" AMP "'/></iq>"
	     "</route>");
	assert_non_null(sm_test_out_find("type='result'", "node='" AMP "'", "?action=alert",
				 "?condition=deliver", NULL));
	assert_null(sm_test_out_find("?action=drop", NULL));
	assert_null(sm_test_out_find("?condition=expire-at", NULL));
}

static void test_disco(void **state)
{
	struct sm *sm = ((struct fixture *)*state)->sm;

	sm_test_feed(sm, "<route xmlns='" COMP "' to='sm' from='s2s'><iq xmlns='jabber:server' "
	     "type='get' id='d1' from='ann@remote.net/pc' to='example.org'>"
	     "<query xmlns='http://jabber.org/protocol/disco#info'/></iq></route>");
	assert_non_null(sm_test_out_find("type='result'", "var='" AMP "'", NULL));
	sm_test_out_clear();
	sm_test_feed(sm, "<route xmlns='" COMP "' to='sm' from='s2s'><iq xmlns='jabber:server' "
	     "type='get' id='d2' from='ann@remote.net/pc' to='example.org'>"
	     "<query xmlns='http://jabber.org/protocol/disco#info' node='" AMP "'/></iq>"
	     "</route>");
	assert_non_null(sm_test_out_find("type='result'", "id='d2'", "category='im'",
				 "?action=drop", "?action=error", "?action=alert", "?action=notify",
				 "?condition=deliver", "?condition=expire-at",
				 "?condition=match-resource", NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_conditions),
		cmocka_unit_test(test_check_switches),
		cmocka_unit_test_setup_teardown(test_offline_user, setup, teardown),
		cmocka_unit_test_setup_teardown(test_online_user, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stored_expired, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_switched_off, setup_off, teardown),
		cmocka_unit_test_setup_teardown(test_disco, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
