/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mod_vacation: automatic replies while away, as jabberd2's, with its
 * protocol (http://jabber.org/protocol/vacation, the deferred XEP-0109)
 * and its "vacation-settings" table (start, end: Unix times, 0 for
 * none; message).
 *
 * A session sets <query><start/><end/><message/></query> (start and end
 * XEP-0082 date-times or empty); a set lacking any of the three clears
 * the settings; a get returns them (an empty result when there are none).
 * While the user has no available session of non-negative priority, a
 * message from a full JID inside [start, end) is answered from the
 * user's domain with the subject "Automated reply" and the message as
 * body, and then goes on to offline storage.
 *
 * Unlike jabberd2: each sender (bare JID) gets one reply per setting,
 * not one per message, so a peer cannot turn the server into a
 * reflector. Who was answered is kept in memory for the whole sm (a user
 * without sessions leaves memory between two messages), at most
 * VACATION_MAX_REPLIED pairs: when full it starts again empty, so at
 * worst a sender is answered once more after that many others. Lost on
 * restart, like jabberd2's whole notion of it; error, groupchat and headline messages get none; and a
 * message from an address with no node or resource is not dropped (it is
 * only left unanswered). Bad dates are refused with bad-request; dates
 * after 2038-01-19 (jabberd2's pgsql columns are 32-bit) and a message
 * over VACATION_MAX_MESSAGE bytes with not-acceptable.
 */
#include "config.h"
#include "sm/sm.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "storage/storage.h"
#include "util/buf.h"
#include "util/jid.h"
#include "util/log.h"
#include "util/nad.h"
#include "util/xhash.h"
#include "sm/datetime.h"

#define NS_VACATION "http://jabber.org/protocol/vacation"
#define VACATION_MAX_MESSAGE 4096
#define VACATION_MAX_REPLIED 1024

struct vacation {
	time_t start, end;              /* 0: open */
	char *message;
};

/* The module's data: per user, its struct vacation (NULL: none set);
 * per sm, who was answered: "<owner> <sender>" (bare JIDs; a space is in
 * neither) -> answered. */
static int vacation_slot;

static struct vacation *vacation_of(const struct user *user)
{
	return user->mod[vacation_slot];
}

static struct xhash *vacation_replied(const struct sm *sm)
{
	return sm->mod[vacation_slot];
}

static char *replied_key(const char *owner, const char *sender)
{
	struct buf b = { 0 };

	buf_printf(&b, "%s %s", owner, sender);
	return buf_steal(&b, NULL);
}

/* A new setting: everyone may be answered once again. */
static void replied_forget(struct sm *sm, const char *owner)
{
	size_t len = strlen(owner);
	struct xhash_iter it;
	const char *key;

	xhash_iter_init(vacation_replied(sm), &it);
	while (xhash_iter_next(&it, &key, NULL))
		if (strncmp(key, owner, len) == 0 && key[len] == ' ')
			xhash_iter_remove(&it);
}

static void vacation_user_free(struct user *user, void *data)
{
	struct vacation *v = data;

	(void)user;
	free(v->message);
	free(v);
}

/* The user's settings are gone. */
static void vacation_clear(struct user *user)
{
	if (vacation_of(user) != NULL)
		vacation_user_free(user, vacation_of(user));
	user->mod[vacation_slot] = NULL;
}

static void vacation_text(struct nad *nad, int q, const char *name, const char *text)
{
	int e = nad_elem_add(nad, q, NS_VACATION, name);

	if (text != NULL)
		nad_text_set(nad, e, text, strlen(text));
}

static void vacation_time_elem(struct nad *nad, int q, const char *name, time_t t)
{
	char buf[32] = "";
	struct tm tm;

	if (t != 0 && gmtime_r(&t, &tm) != NULL)
		strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	vacation_text(nad, q, name, buf[0] != '\0' ? buf : NULL);
}

static void vacation_get(struct sess *sess, struct pkt *pkt)
{
	struct vacation *v = vacation_of(sess->user);
	int q;

	pkt_result(pkt);
	if (v != NULL) {
		q = nad_elem_add(pkt->nad, 0, NS_VACATION, "query");
		vacation_time_elem(pkt->nad, q, "start", v->start);
		vacation_time_elem(pkt->nad, q, "end", v->end);
		vacation_text(pkt->nad, q, "message", v->message);
	}
	pkt_sess(pkt, sess);
}

/* One date element: 0 empty, else its time; -1 if malformed. */
static time_t vacation_time_of(const struct nad *nad, int e)
{
	size_t len;
	const char *text = nad_text(nad, e, &len);

	if (text == NULL || len == 0)
		return 0;
	return datetime_parse(text, len);
}

/* Returns the error condition, or NULL. */
static const char *vacation_set(struct sess *sess, struct pkt *pkt)
{
	struct user *user = sess->user;
	const char *owner = jid_bare(user->jid), *error, *text;
	int q = nad_child(pkt->nad, 0, NS_VACATION, "query");
	int s = nad_child(pkt->nad, q, NS_VACATION, "start");
	int e = nad_child(pkt->nad, q, NS_VACATION, "end");
	int m = nad_child(pkt->nad, q, NS_VACATION, "message");
	struct vacation *v;
	struct os *os;
	struct os_object *o;
	time_t start, end;
	size_t len;

	if (s == NAD_NONE || e == NAD_NONE || m == NAD_NONE) {
		if (storage_delete(user->sm->st, "vacation-settings", owner, NULL, &error) ==
		    STORAGE_ERROR) {
			log_error("sm: vacation: cannot clear %s: %s", owner, error);
			return "internal-server-error";
		}
		vacation_clear(user);
		replied_forget(user->sm, owner);
		sm_cluster_changed(user->sm, owner, SM_DATA_PRIVATE);
		return NULL;
	}
	if ((start = vacation_time_of(pkt->nad, s)) < 0 ||
	    (end = vacation_time_of(pkt->nad, e)) < 0)
		return "bad-request";
	/* jabberd2's columns are 32-bit integers in PostgreSQL. */
	if (start > INT32_MAX || end > INT32_MAX)
		return "not-acceptable";
	text = nad_text(pkt->nad, m, &len);
	if (len > VACATION_MAX_MESSAGE)
		return "not-acceptable";
	v = xcalloc(1, sizeof(*v));
	v->start = start;
	v->end = end;
	v->message = xstrndup(text != NULL ? text : "", len);
	os = os_new();
	o = os_object_new(os);
	os_object_put_int(o, "start", start);
	os_object_put_int(o, "end", end);
	os_object_put_str(o, "message", v->message);
	if (storage_replace(user->sm->st, "vacation-settings", owner, NULL, os, &error) !=
	    STORAGE_OK) {
		log_error("sm: vacation: cannot save %s: %s", owner, error);
		os_free(&os);
		free(v->message);
		free(v);
		return "internal-server-error";
	}
	os_free(&os);
	vacation_clear(user);
	user->mod[vacation_slot] = v;
	replied_forget(user->sm, owner);
	sm_cluster_changed(user->sm, owner, SM_DATA_PRIVATE);
	return NULL;
}

static enum mod_ret vacation_in_sess(struct sess *sess, struct pkt *pkt)
{
	const char *cond;

	if (!(pkt->type & (PKT_IQ | PKT_IQ_SET)) || pkt->iq_ns == NULL ||
	    strcmp(pkt->iq_ns, NS_VACATION) != 0)
		return MOD_PASS;
	if (pkt->to != NULL && !jid_equal_bare(pkt->to, sess->jid)) {
		pkt_sess(pkt_error(pkt, "bad-request"), sess);
		return MOD_HANDLED;
	}
	if (pkt->type == PKT_IQ) {
		vacation_get(sess, pkt);
		return MOD_HANDLED;
	}
	cond = vacation_set(sess, pkt);
	pkt_sess(cond != NULL ? pkt_error(pkt, cond) : pkt_result(pkt), sess);
	return MOD_HANDLED;
}

static enum mod_ret vacation_pkt_user(struct user *user, struct pkt *pkt)
{
	struct vacation *v = vacation_of(user);
	struct xhash *replied = vacation_replied(user->sm);
	const char *type;
	struct pkt *reply;
	time_t now;
	char *key;
	int b;

	if (v == NULL || pkt->type != PKT_MESSAGE || pkt->from == NULL ||
	    user_available_anywhere(user, pkt))
		return MOD_PASS;
	type = nad_attr(pkt->nad, 0, NULL, "type");
	if (type != NULL && (strcmp(type, "groupchat") == 0 || strcmp(type, "headline") == 0))
		return MOD_PASS;
	/* People write from full JIDs; servers and services do not. */
	if (jid_node(pkt->from)[0] == '\0' || jid_resource(pkt->from)[0] == '\0')
		return MOD_PASS;
	now = time(NULL);
	if (now < v->start || (v->end != 0 && now >= v->end))
		return MOD_PASS;
	key = replied_key(jid_bare(user->jid), jid_bare(pkt->from));
	if (xhash_get(replied, key) != NULL) {
		free(key);
		return MOD_PASS;
	}
	if (xhash_count(replied) >= VACATION_MAX_REPLIED)
		xhash_clear(replied, NULL);
	xhash_put(replied, key, (void *)1);
	free(key);
	reply = pkt_create(user->sm, "message", NULL, jid_full(pkt->from),
			   jid_domain(user->jid));
	b = nad_elem_add(reply->nad, 0, nad_ns(reply->nad, 0), "subject");
	nad_text_set(reply->nad, b, "Automated reply", strlen("Automated reply"));
	b = nad_elem_add(reply->nad, 0, nad_ns(reply->nad, 0), "body");
	nad_text_set(reply->nad, b, v->message, strlen(v->message));
	pkt_router(reply);
	return MOD_PASS;
}

static int vacation_user_load(struct user *user)
{
	struct os *os = NULL;
	struct os_object *o;
	const char *error, *message;
	int64_t start, end;

	if (storage_get(user->sm->st, "vacation-settings", jid_bare(user->jid), NULL, &os,
			&error) != STORAGE_OK)
		return 0;
	o = os_first(os);
	if (o != NULL && os_object_get_int(o, "start", &start) == 0 &&
	    os_object_get_int(o, "end", &end) == 0 &&
	    os_object_get_str(o, "message", &message) == 0) {
		struct vacation *v = xcalloc(1, sizeof(*v));

		v->start = (time_t)start;
		v->end = (time_t)end;
		v->message = xstrdup(message);
		vacation_clear(user);
		user->mod[vacation_slot] = v;
	}
	os_free(&os);
	return 0;
}

/* Set or cleared on another node: read them again. Who was answered
 * stays this node's own (each node answers a sender at most once per
 * setting it saw). */
static void vacation_user_changed(struct user *user, enum sm_user_data what)
{
	if (what != SM_DATA_PRIVATE)
		return;
	vacation_clear(user);
	vacation_user_load(user);
}

static void vacation_user_delete(struct sm *sm, const struct jid *jid)
{
	const char *error;

	storage_delete(sm->st, "vacation-settings", jid_bare(jid), NULL, &error);
}

static int vacation_init(struct sm *sm, const char *arg)
{
	(void)arg;
	sm->mod[vacation_slot] = xhash_new();
	sm_feature(sm, NS_VACATION);
	return 0;
}

static void vacation_fini(struct sm *sm)
{
	struct xhash *replied = vacation_replied(sm);

	xhash_free(&replied);
	sm->mod[vacation_slot] = NULL;
}

const struct sm_module sm_module_vacation = {
	.name = "vacation",
	.abi = SM_MODULE_ABI,
	.init = vacation_init,
	.fini = vacation_fini,
	.slot = &vacation_slot,
	.user_free = vacation_user_free,
	.in_sess = vacation_in_sess,
	.pkt_user = vacation_pkt_user,
	.user_load = vacation_user_load,
	.user_delete = vacation_user_delete,
	.user_changed = vacation_user_changed,
};
