/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mod_amp: XEP-0079 Advanced Message Processing for messages to our users,
 * with jabberd2's conditions (deliver direct/stored/none, expire-at,
 * match-resource exact/other/any), actions (drop, error, alert, notify)
 * and sm.xml switches: an <amp><disableactions><drop/>... element present
 * turns that action or condition off (it is then unsupported);
 * <offlinestoragedisabled/> or offline.dropmessages means "stored" never
 * happens and "none" does. disco#info lists a feature per enabled action
 * and condition, and answers the node http://jabber.org/protocol/amp
 * (pkt-sm) as jabberd2 does.
 *
 * Rules are read where the message reaches its user (pkt-user, before
 * deliver): every rule is checked first; a rule with an unsupported
 * action makes the whole message bounce with bad-request and
 * <unsupported-actions/>, else one with an unsupported condition
 * bad-request and <unsupported-conditions/>, else an invalid one
 * (missing action or value, a value the condition does not know, a bad
 * date) not-acceptable and <invalid-rules/>, each listing the rules at
 * fault (XEP-0079 section 8). Then the first rule whose condition is met
 * acts: drop discards the message; alert discards it and tells the
 * sender; error bounces it with undefined-condition and <failed-rules/>;
 * notify tells the sender and lets the message go on. A message with no
 * rule met goes on unchanged.
 *
 * Where this differs from jabberd2 (whose module reports no errors at
 * all, lets invalid rules pass, and answers "any" when the user is
 * offline): errors are sent as above; match-resource follows XEP-0079
 * (any: some session takes the message; exact: the session of the named
 * resource does, or for a bare JID offline storage; other: some other
 * session does); replies come from the user's domain, as in the XEP's
 * examples, and bounces carry the <amp/> but not the body. per-hop is not looked at:
 * we are the last hop, where every rule applies. A message carrying
 * <amp status=...> is a report, not a request, and is left alone, as in
 * jabberd2. At most AMP_MAX_RULES rules; more is bad-request. Also
 * unlike jabberd2, mod_offline asks amp_stored_expired() about each
 * stored message it is about to deliver, so an expire-at that passed
 * while the message waited still acts.
 */
#include "config.h"
#include "sm/amp.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sx/sx.h"
#include "util/buf.h"
#include "util/config_file.h"
#include "util/jid.h"
#include "util/log.h"
#include "util/nad.h"
#include "sm/datetime.h"
#include "sm/offline.h"
#include "sm/sm.h"

#define NS_AMP "http://jabber.org/protocol/amp"
#define NS_AMP_ERRORS "http://jabber.org/protocol/amp#errors"
#define AMP_MAX_RULES 16

/* The module's data: per sm, what sm.xml switched off (AMP_OFF_*);
 * NULL when the module is not loaded. */
struct amp_sm {
	unsigned off;
};

static int amp_slot;

static const struct amp_sm *amp_sm(const struct sm *sm)
{
	return sm->mod[amp_slot];
}

/* The switches in force: sm.xml's, and storage off when mod_offline
 * stores no messages (asked now: it may start after this module). */
static unsigned amp_off(const struct sm *sm)
{
	return amp_sm(sm)->off | (offline_drops_messages(sm) ? AMP_OFF_STORAGE : 0);
}

static const struct {
	const char *key;        /* under amp. in sm.xml */
	unsigned bit;
	const char *feature;    /* disco#info var, NULL: none */
} amp_switches[] = {
	{ "amp.disableactions.drop", AMP_OFF_DROP, NS_AMP "?action=drop" },
	{ "amp.disableactions.error", AMP_OFF_ERROR, NS_AMP "?action=error" },
	{ "amp.disableactions.alert", AMP_OFF_ALERT, NS_AMP "?action=alert" },
	{ "amp.disableactions.notify", AMP_OFF_NOTIFY, NS_AMP "?action=notify" },
	{ "amp.disableconditions.deliver", AMP_OFF_DELIVER, NS_AMP "?condition=deliver" },
	{ "amp.disableconditions.expireat", AMP_OFF_EXPIREAT, NS_AMP "?condition=expire-at" },
	{ "amp.disableconditions.matchresource", AMP_OFF_MATCHRES,
	  NS_AMP "?condition=match-resource" },
	{ "amp.offlinestoragedisabled", AMP_OFF_STORAGE, NULL },
};
#define AMP_NSWITCHES (sizeof(amp_switches) / sizeof(amp_switches[0]))

static int is(const char *s, const char *want)
{
	return s != NULL && strcmp(s, want) == 0;
}

static enum amp_check amp_action_ok(unsigned off, const char *action)
{
	if (action == NULL)
		return AMP_BAD_VALUE;
	if ((is(action, "drop") && !(off & AMP_OFF_DROP)) ||
	    (is(action, "error") && !(off & AMP_OFF_ERROR)) ||
	    (is(action, "alert") && !(off & AMP_OFF_ALERT)) ||
	    (is(action, "notify") && !(off & AMP_OFF_NOTIFY)))
		return AMP_NOT_MET;
	return AMP_BAD_ACTION;
}

enum amp_check amp_rule_check(unsigned off, const char *action, const char *condition,
			      const char *value, const struct amp_dest *dest)
{
	enum amp_check a = amp_action_ok(off, action);
	int met;

	if (a == AMP_BAD_ACTION)
		return a;
	int stored = !dest->online && dest->storable && !(off & AMP_OFF_STORAGE);

	if (is(condition, "deliver") && !(off & AMP_OFF_DELIVER)) {

		if (is(value, "direct"))
			met = dest->online;
		else if (is(value, "stored"))
			met = stored;
		else if (is(value, "none"))
			met = !dest->online && !stored;
		else
			return AMP_BAD_VALUE;   /* forward, gateway: we have neither */
	} else if (is(condition, "match-resource") && !(off & AMP_OFF_MATCHRES)) {
		/* To a bare JID, XEP-0079 3.3.3: exact is offline storage (no
		 * resource), other a session. */
		if (is(value, "any"))
			met = dest->online;
		else if (is(value, "exact"))
			met = dest->bare ? stored : dest->exact;
		else if (is(value, "other"))
			met = dest->online && (dest->bare || !dest->exact);
		else
			return AMP_BAD_VALUE;
	} else if (is(condition, "expire-at") && !(off & AMP_OFF_EXPIREAT)) {
		time_t t = value != NULL ? datetime_parse(value, strlen(value)) : -1;

		if (t < 0)
			return AMP_BAD_VALUE;
		met = t <= dest->now;
	} else {
		return AMP_BAD_CONDITION;
	}
	if (a == AMP_BAD_VALUE)
		return a;
	return met ? AMP_MET : AMP_NOT_MET;
}

static int amp_init(struct sm *sm, const char *arg)
{
	size_t i;

	struct amp_sm *as = xcalloc(1, sizeof(*as));

	(void)arg;
	sm->mod[amp_slot] = as;
	for (i = 0; i < AMP_NSWITCHES; i++)
		if (config_get(sm->cfg, amp_switches[i].key) != NULL)
			as->off |= amp_switches[i].bit;
	sm_feature(sm, NS_AMP);
	for (i = 0; i < AMP_NSWITCHES; i++)
		if (amp_switches[i].feature != NULL && !(as->off & amp_switches[i].bit))
			sm_feature(sm, amp_switches[i].feature);
	return 0;
}

/* A copy of rule `r` of pkt under `parent` of nad. */
static void amp_copy_rule(struct nad *nad, int parent, const char *ns, const struct pkt *pkt,
			  int r)
{
	static const char *const attrs[] = { "action", "condition", "value" };
	int e = nad_elem_add(nad, parent, ns, "rule");
	size_t i;

	for (i = 0; i < 3; i++) {
		const char *v = nad_attr(pkt->nad, r, NULL, attrs[i]);
		char *copy;

		if (v == NULL)
			continue;
		/* nad may be pkt's own, whose strings move when it grows */
		copy = xstrdup(v);
		nad_attr_set(nad, e, NULL, attrs[i], copy);
		free(copy);
	}
}

/* The <amp status=...> report to the sender for rule r: from the user's
 * domain, the original addresses in the <amp/>. */
static void amp_report(struct pkt *pkt, int r, const char *status)
{
	struct pkt *res = pkt_create(pkt->sm, "message", NULL, jid_full(pkt->from),
				     jid_domain(pkt->to));
	const char *id = nad_attr(pkt->nad, 0, NULL, "id");
	int a;

	if (id != NULL)
		nad_attr_set(res->nad, 0, NULL, "id", id);
	a = nad_elem_add(res->nad, 0, NS_AMP, "amp");
	nad_attr_set(res->nad, a, NULL, "status", status);
	nad_attr_set(res->nad, a, NULL, "to", jid_full(pkt->to));
	nad_attr_set(res->nad, a, NULL, "from", jid_full(pkt->from));
	amp_copy_rule(res->nad, a, NS_AMP, pkt, r);
	pkt_router(res);
}

/* Bounce pkt with cond; the rules of `rules` whose verdict is `which`
 * listed in <what xmlns=ns/> inside the error (none if what is NULL).
 * Takes pkt. */
static void amp_bounce(struct pkt *pkt, const char *cond, const char *what, const char *ns,
		       const int *rules, const enum amp_check *verdicts, int n,
		       enum amp_check which)
{
	char *domain = xstrdup(jid_domain(pkt->to));
	int err, list, i, amp, c, next;

	/* XEP-0079 2.2.5: the reply carries the <amp/> but not the rest
	 * (body...) of the message */
	for (c = nad_child(pkt->nad, 0, NULL, NULL); c != NAD_NONE; c = next) {
		next = nad_next(pkt->nad, c, NULL, NULL);
		if (!is(nad_ns(pkt->nad, c), NS_AMP) || !is(nad_name(pkt->nad, c), "amp"))
			nad_elem_remove(pkt->nad, c);
	}
	pkt_error(pkt, cond);
	err = nad_child(pkt->nad, 0, NULL, "error");
	if (what != NULL && err != NAD_NONE) {
		/* XEP-0079's examples give every amp error the type modify */
		nad_attr_set(pkt->nad, err, NULL, "type", "modify");
		list = nad_elem_add(pkt->nad, err, ns, what);
		for (i = 0; i < n; i++)
			if (verdicts[i] == which)
				amp_copy_rule(pkt->nad, list, ns, pkt, rules[i]);
	}
	if (which == AMP_MET && (amp = nad_child(pkt->nad, 0, NS_AMP, "amp")) != NAD_NONE) {
		/* <amp from> is the original sender, <amp to> the intended
		 * recipient; pkt_error has swapped the stanza's addresses */
		nad_attr_set(pkt->nad, amp, NULL, "status", "error");
		nad_attr_set(pkt->nad, amp, NULL, "from", jid_full(pkt->to));
		nad_attr_set(pkt->nad, amp, NULL, "to", jid_full(pkt->from));
	}
	pkt_set_from(pkt, domain);
	free(domain);
	pkt_router(pkt);
}

/* Rule r of pkt is met: its action. MOD_HANDLED if that took pkt. */
static enum mod_ret amp_act(struct pkt *pkt, int r)
{
	static const enum amp_check met = AMP_MET;
	const char *action = nad_attr(pkt->nad, r, NULL, "action");

	if (is(action, "notify")) {
		amp_report(pkt, r, "notify");
		return MOD_PASS;
	}
	if (is(action, "error")) {
		amp_bounce(pkt, "undefined-condition", "failed-rules", NS_AMP_ERRORS, &r, &met, 1,
			   AMP_MET);
		return MOD_HANDLED;
	}
	if (is(action, "alert"))
		amp_report(pkt, r, "alert");
	pkt_free(&pkt);         /* drop, alert */
	return MOD_HANDLED;
}

static enum mod_ret amp_pkt_user(struct user *user, struct pkt *pkt)
{
	int rules[AMP_MAX_RULES];
	enum amp_check verdict[AMP_MAX_RULES];
	struct amp_dest dest;
	const char *res;
	int amp, r, n = 0, met = -1;
	unsigned seen = 0;

	if (pkt->type != PKT_MESSAGE || pkt->from == NULL || pkt->to == NULL)
		return MOD_PASS;
	amp = nad_child(pkt->nad, 0, NS_AMP, "amp");
	if (amp == NAD_NONE || nad_attr(pkt->nad, amp, NULL, "status") != NULL)
		return MOD_PASS;
	res = jid_resource(pkt->to);
	dest.bare = res[0] == '\0';
	dest.exact = !dest.bare && (user_sess(user, res) != NULL ||
				    user_remote_get(user, pkt->to, pkt) != NULL);
	dest.online = dest.exact || user_top_priority(user, pkt) >= 0;
	dest.storable = offline_wanted(user->sm, pkt);
	dest.now = time(NULL);
	for (r = nad_child(pkt->nad, amp, NS_AMP, "rule"); r != NAD_NONE;
	     r = nad_next(pkt->nad, r, NS_AMP, "rule")) {
		if (n == AMP_MAX_RULES) {
			amp_bounce(pkt, "bad-request", NULL, NULL, NULL, NULL, 0, AMP_NOT_MET);
			return MOD_HANDLED;
		}
		rules[n] = r;
		verdict[n] = amp_rule_check(amp_off(user->sm),
					    nad_attr(pkt->nad, r, NULL, "action"),
					    nad_attr(pkt->nad, r, NULL, "condition"),
					    nad_attr(pkt->nad, r, NULL, "value"), &dest);
		seen |= 1u << verdict[n];
		if (verdict[n] == AMP_MET && met < 0)
			met = n;
		n++;
	}
	if (seen & (1u << AMP_BAD_ACTION)) {
		amp_bounce(pkt, "bad-request", "unsupported-actions", NS_AMP, rules, verdict, n,
			   AMP_BAD_ACTION);
		return MOD_HANDLED;
	}
	if (seen & (1u << AMP_BAD_CONDITION)) {
		amp_bounce(pkt, "bad-request", "unsupported-conditions", NS_AMP, rules, verdict,
			   n, AMP_BAD_CONDITION);
		return MOD_HANDLED;
	}
	if (seen & (1u << AMP_BAD_VALUE)) {
		amp_bounce(pkt, "not-acceptable", "invalid-rules", NS_AMP, rules, verdict, n,
			   AMP_BAD_VALUE);
		return MOD_HANDLED;
	}
	return met < 0 ? MOD_PASS : amp_act(pkt, rules[met]);
}

int amp_stored_expired(struct pkt *pkt)
{
	struct amp_dest dest = { 1, 1, 0, 0, 0 };
	int amp, r, n = 0;

	if (amp_sm(pkt->sm) == NULL || pkt->type != PKT_MESSAGE || pkt->from == NULL || pkt->to == NULL)
		return 0;
	amp = nad_child(pkt->nad, 0, NS_AMP, "amp");
	if (amp == NAD_NONE || nad_attr(pkt->nad, amp, NULL, "status") != NULL)
		return 0;
	dest.now = time(NULL);
	for (r = nad_child(pkt->nad, amp, NS_AMP, "rule"); r != NAD_NONE && n < AMP_MAX_RULES;
	     r = nad_next(pkt->nad, r, NS_AMP, "rule"), n++) {
		if (!is(nad_attr(pkt->nad, r, NULL, "condition"), "expire-at") ||
		    amp_rule_check(amp_off(pkt->sm), nad_attr(pkt->nad, r, NULL, "action"),
				   "expire-at", nad_attr(pkt->nad, r, NULL, "value"), &dest) !=
		    AMP_MET)
			continue;
		return amp_act(pkt, r) == MOD_HANDLED;
	}
	return 0;
}

/* disco#info on node http://jabber.org/protocol/amp at the server. */
static enum mod_ret amp_pkt_sm(struct pkt *pkt)
{
	struct sm *sm = pkt->sm;
	const char *node;
	int q, e;
	size_t i;

	if (pkt->type != PKT_IQ || pkt->iq_ns == NULL || strcmp(pkt->iq_ns, SM_NS_DISCO_INFO) != 0)
		return MOD_PASS;
	q = nad_child(pkt->nad, 0, SM_NS_DISCO_INFO, "query");
	node = q != NAD_NONE ? nad_attr(pkt->nad, q, NULL, "node") : NULL;
	if (!is(node, NS_AMP))
		return MOD_PASS;
	pkt_result(pkt);
	q = nad_elem_add(pkt->nad, 0, SM_NS_DISCO_INFO, "query");
	nad_attr_set(pkt->nad, q, NULL, "node", NS_AMP);
	e = nad_elem_add(pkt->nad, q, SM_NS_DISCO_INFO, "identity");
	nad_attr_set(pkt->nad, e, NULL, "category", "im");
	nad_attr_set(pkt->nad, e, NULL, "type", "server");
	nad_attr_set(pkt->nad, e, NULL, "name", "Advanced Message Processing support");
	e = nad_elem_add(pkt->nad, q, SM_NS_DISCO_INFO, "feature");
	nad_attr_set(pkt->nad, e, NULL, "var", NS_AMP);
	for (i = 0; i < AMP_NSWITCHES; i++) {
		if (amp_switches[i].feature == NULL || (amp_sm(sm)->off & amp_switches[i].bit))
			continue;
		e = nad_elem_add(pkt->nad, q, SM_NS_DISCO_INFO, "feature");
		nad_attr_set(pkt->nad, e, NULL, "var", amp_switches[i].feature);
	}
	pkt_router(pkt);
	return MOD_HANDLED;
}

static void amp_fini(struct sm *sm)
{
	free(sm->mod[amp_slot]);
	sm->mod[amp_slot] = NULL;
}

const struct sm_module sm_module_amp = {
	.name = "amp",
	.abi = SM_MODULE_ABI,
	.init = amp_init,
	.fini = amp_fini,
	.slot = &amp_slot,
	.pkt_sm = amp_pkt_sm,
	.pkt_user = amp_pkt_user,
};
