/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * muc_mam.c: the room's message archive (XEP-0313 for MUC, urn:xmpp:mam:2)
 * over the room's kept messages (<limits><archive>), in memory and, for
 * persistent rooms, in storage, so a client that rejoins (even after a
 * restart of the service) can page through what it missed. Each message
 * carries the room's stanza-id (XEP-0359), which is its archive id and
 * stays the same across restarts (it is stored with the message).
 *
 * A query (iq set) filters by `with` (an occupant JID room@service/nick:
 * what that nick said), start and end, and the urn:xmpp:mam:2#extended
 * fields after-id / before-id (bounds that do not page) and ids (exactly
 * these messages); it pages with RSM (max up to 100, after, before; an
 * empty before: the last page) and ends with <fin/> (complete when nothing
 * is left in the direction of paging; first with its index, last, count).
 * <flip-page/> sends the page newest first; first/last keep archive order.
 * An iq get returns the query form. Refusals: item-not-found for an id
 * the archive does not hold, policy-violation for max or ids over 100,
 * bad-request for a bad value, feature-not-implemented for a field we do
 * not know (rather than ignoring a filter the client relies on). Anyone
 * who may join the room may read it.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "muc/form.h"
#include "muc/muc_private.h"
#include "sm/datetime.h"
#include "sx/sx.h"
#include "util/buf.h"
#include "util/jid.h"
#include "util/nad.h"
#include "util/xdata.h"

#define NS_MAM "urn:xmpp:mam:2"
#define NS_RSM "http://jabber.org/protocol/rsm"
#define NS_FORWARD "urn:xmpp:forward:0"

/* Most results in one page, and the page size when none is asked. */
#define MAM_MAX 100
#define MAM_DEFAULT 50

const char *muc_msg_id(const struct nad *msg)
{
	int sid;

	for (sid = nad_child(msg, 0, MUC_NS_SID, "stanza-id"); sid != NAD_NONE;
	     sid = nad_next(msg, sid, MUC_NS_SID, "stanza-id"))
		if (nad_attr(msg, sid, NULL, "id") != NULL)
			return nad_attr(msg, sid, NULL, "id");
	return NULL;
}

void muc_msg_stamp_id(struct muc_room *mr, struct nad *msg)
{
	static unsigned counter;
	struct timespec ts;
	char id[40];
	int sid;

	/* A client may not forge the room's ids. */
	for (sid = nad_child(msg, 0, MUC_NS_SID, "stanza-id"); sid != NAD_NONE;
	     sid = nad_next(msg, sid, MUC_NS_SID, "stanza-id"))
		nad_elem_remove(msg, sid);
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(id, sizeof(id), "%llx-%x",
		 (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000,
		 ++counter);
	sid = nad_elem_add(msg, 0, MUC_NS_SID, "stanza-id");
	nad_attr_set(msg, sid, NULL, "id", id);
	nad_attr_set(msg, sid, NULL, "by", jid_bare(mr->room->jid));
}

struct mam_req {
	time_t start, end;          /* (time_t)-1: not given */
	const char *with_nick;      /* only messages from room/nick; NULL: all */
	long max;
	const char *after, *before; /* RSM; before "": the last page */
	const char *after_id, *before_id;  /* #extended: bounds, not paging */
	const char *ids[MAM_MAX];   /* #extended: these messages only */
	size_t nids;
	int flip;                   /* <flip-page/>: the page newest first */
};

/* Why a query is refused: the error condition and its text. */
struct mam_err {
	const char *cond, *text;
};

static int refuse(struct mam_err *e, const char *cond, const char *text)
{
	e->cond = cond;
	e->text = text;
	return -1;
}

/* The `with` of a room's archive is one of its occupant JIDs
 * (room@service/nick): the messages that nick sent. The room's own bare
 * JID filters nothing; anything else is refused. */
static int mam_with(const struct muc_room *mr, const char *v, struct jid **with_r,
		    struct mam_req *r, struct mam_err *e)
{
	const char *error;

	if (v[0] == '\0')
		return 0;
	if ((*with_r = jid_new(v, strlen(v), &error)) == NULL)
		return refuse(e, "bad-request", "with is not a JID");
	if (strcmp(jid_bare(*with_r), jid_bare(mr->room->jid)) != 0)
		return refuse(e, "bad-request",
			      "with must be an occupant JID of this room (room@service/nick)");
	if (jid_resource(*with_r)[0] != '\0')
		r->with_nick = jid_resource(*with_r);
	return 0;
}

static int mam_time(const char *v, time_t *out, const char *bad, struct mam_err *e)
{
	if ((*out = datetime_parse(v, strlen(v))) == (time_t)-1)
		return refuse(e, "bad-request", bad);
	return 0;
}

/* Read the query's form, RSM set and flip-page; -1 with *e if refused.
 * *with_r holds the parsed `with` (freed by the caller). */
static int mam_parse(const struct muc_room *mr, const struct nad *nad, int q,
		     struct mam_req *r, struct jid **with_r, struct mam_err *e)
{
	int x = nad_child(nad, q, MUC_NS_XDATA, "x"), set, f, v, n = 0;
	const char *var, *val;
	char *end;

	memset(r, 0, sizeof(*r));
	r->start = r->end = (time_t)-1;
	r->max = MAM_DEFAULT;
	r->flip = nad_child(nad, q, NS_MAM, "flip-page") != NAD_NONE;
	for (f = x == NAD_NONE ? NAD_NONE : nad_child(nad, x, MUC_NS_XDATA, "field");
	     f != NAD_NONE; f = nad_next(nad, f, MUC_NS_XDATA, "field")) {
		if (++n > MUC_FORM_FIELDS_MAX)
			return refuse(e, "policy-violation", "too many fields in the query form");
		if ((var = nad_attr(nad, f, NULL, "var")) == NULL)
			continue;
		val = xdata_field_value(nad, f);
		if (strcmp(var, "FORM_TYPE") == 0) {
			if (strcmp(val, NS_MAM) != 0)
				return refuse(e, "bad-request", "FORM_TYPE is not urn:xmpp:mam:2");
		} else if (strcmp(var, "with") == 0) {
			if (*with_r != NULL)
				return refuse(e, "bad-request", "with given twice");
			if (mam_with(mr, val, with_r, r, e) < 0)
				return -1;
		} else if (strcmp(var, "start") == 0) {
			if (mam_time(val, &r->start, "start is not an XEP-0082 date-time", e) < 0)
				return -1;
		} else if (strcmp(var, "end") == 0) {
			if (mam_time(val, &r->end, "end is not an XEP-0082 date-time", e) < 0)
				return -1;
		} else if (strcmp(var, "after-id") == 0) {
			r->after_id = val;
		} else if (strcmp(var, "before-id") == 0) {
			r->before_id = val;
		} else if (strcmp(var, "ids") == 0) {
			for (v = nad_child(nad, f, MUC_NS_XDATA, "value"); v != NAD_NONE;
			     v = nad_next(nad, v, MUC_NS_XDATA, "value")) {
				if (r->nids == MAM_MAX)
					return refuse(e, "policy-violation",
						      "more ids than the archive's page (100)");
				r->ids[r->nids++] = nad_text(nad, v, NULL);
			}
			if (r->nids == 0)
				return refuse(e, "bad-request", "ids without a value");
		} else {
			return refuse(e, "feature-not-implemented",
				      "a field of the query form is not supported (see the form)");
		}
	}
	if ((set = nad_child(nad, q, NS_RSM, "set")) == NAD_NONE)
		return 0;
	if ((f = nad_child(nad, set, NS_RSM, "max")) != NAD_NONE) {
		val = nad_text(nad, f, NULL);
		r->max = strtol(val, &end, 10);
		if (val[0] < '0' || val[0] > '9' || *end != '\0' || strlen(val) > 9)
			return refuse(e, "bad-request", "max is not a number");
		if (r->max > MAM_MAX)
			return refuse(e, "policy-violation", "max is over the archive's page (100)");
	}
	if ((f = nad_child(nad, set, NS_RSM, "after")) != NAD_NONE)
		r->after = nad_text(nad, f, NULL);
	if ((f = nad_child(nad, set, NS_RSM, "before")) != NAD_NONE)
		r->before = nad_text(nad, f, NULL);
	if (nad_child(nad, set, NS_RSM, "index") != NAD_NONE)
		return refuse(e, "feature-not-implemented", "RSM index is not supported");
	return 0;
}

/* The position of the message with archive id `id` in the whole
 * archive (oldest 0), or -1. */
static long archive_pos(const struct muc_room *mr, const char *id)
{
	const struct room_msg *m;
	const char *mid;
	long i = 0;

	LIST_FOREACH(m, &mr->room->history, const struct room_msg, link) {
		if ((mid = muc_msg_id(m->nad)) != NULL && strcmp(mid, id) == 0)
			return i;
		i++;
	}
	return -1;
}

/* The nick a kept message was sent by (the resource of its from). */
static int sent_by(const struct room_msg *m, const struct muc_room *mr, const char *nick)
{
	const char *from = nad_attr(m->nad, 0, NULL, "from");
	size_t len = strlen(jid_bare(mr->room->jid));

	return from != NULL && strncmp(from, jid_bare(mr->room->jid), len) == 0 &&
	       from[len] == '/' && strcmp(from + len + 1, nick) == 0;
}

/* The messages matching every filter, oldest first, into a new array;
 * NULL with *e for an id the archive does not hold. */
static const struct room_msg **mam_select(const struct muc_room *mr, const struct mam_req *r,
					  size_t *n_r, struct mam_err *e)
{
	const struct room_msg **all;
	const struct room_msg *m;
	long lo = -1, hi = LONG_MAX, i = 0;
	size_t n = 0, k, found = 0;
	const char *mid;

	if ((r->after_id != NULL && (lo = archive_pos(mr, r->after_id)) < 0) ||
	    (r->before_id != NULL && (hi = archive_pos(mr, r->before_id)) < 0)) {
		refuse(e, "item-not-found", "no archived message with this id");
		return NULL;
	}
	all = xcalloc(mr->room->history_len + 1, sizeof(*all));
	LIST_FOREACH(m, &mr->room->history, const struct room_msg, link) {
		i++;
		if (i - 1 <= lo || i - 1 >= hi ||
		    (r->start != (time_t)-1 && m->when < r->start) ||
		    (r->end != (time_t)-1 && m->when > r->end) ||
		    (r->with_nick != NULL && !sent_by(m, mr, r->with_nick)))
			continue;
		if (r->nids > 0) {
			mid = muc_msg_id(m->nad);
			for (k = 0; mid != NULL && k < r->nids; k++)
				if (strcmp(mid, r->ids[k]) == 0)
					break;
			if (mid == NULL || k == r->nids)
				continue;
			found++;
		}
		all[n++] = m;
	}
	/* ids the archive does not hold (or that the other filters leave
	 * out) are an error, not an empty answer */
	if (r->nids > 0 && found < r->nids) {
		for (k = 0; k < r->nids; k++)
			if (archive_pos(mr, r->ids[k]) < 0)
				break;
		if (k < r->nids) {
			free(all);
			refuse(e, "item-not-found", "no archived message with one of the ids");
			return NULL;
		}
	}
	*n_r = n;
	return all;
}

static long find_id(const struct room_msg **all, size_t n, const char *id)
{
	const char *mid;
	size_t i;

	for (i = 0; i < n; i++)
		if ((mid = muc_msg_id(all[i]->nad)) != NULL && strcmp(mid, id) == 0)
			return (long)i;
	return -1;
}

static void send_result(struct muc *muc, struct muc_room *mr, const struct nad *stanza,
			int q, const struct room_msg *m)
{
	const char *qid = nad_attr(stanza, q, NULL, "queryid");
	struct nad *nad = muc_stanza_new("message", NULL, nad_attr(stanza, 0, NULL, "from"),
					 jid_bare(mr->room->jid));
	int res, fwd, d;
	char stamp[32];

	res = nad_elem_add(nad, 0, NS_MAM, "result");
	if (qid != NULL)
		nad_attr_set(nad, res, NULL, "queryid", qid);
	nad_attr_set(nad, res, NULL, "id", muc_msg_id(m->nad));
	fwd = nad_elem_add(nad, res, NS_FORWARD, "forwarded");
	d = nad_elem_add(nad, fwd, MUC_NS_DELAY, "delay");
	muc_datetime_format(m->when, stamp, sizeof(stamp));
	nad_attr_set(nad, d, NULL, "stamp", stamp);
	nad_graft(nad, fwd, m->nad, 0);
	muc_send(muc, nad);
}

/* The page [lo, hi) of all[0..n) has been sent: <fin/> with the RSM
 * summary (first with its index, last, count). */
static void send_fin(struct muc *muc, const struct nad *stanza, const struct room_msg **all,
		     size_t n, long lo, long hi, int complete)
{
	struct nad *nad = muc_stanza_new("iq", "result", nad_attr(stanza, 0, NULL, "from"),
					 nad_attr(stanza, 0, NULL, "to"));
	int fin, set, first;
	char num[24];

	nad_attr_set(nad, 0, NULL, "id", nad_attr(stanza, 0, NULL, "id"));
	fin = nad_elem_add(nad, 0, NS_MAM, "fin");
	if (complete)
		nad_attr_set(nad, fin, NULL, "complete", "true");
	set = nad_elem_add(nad, fin, NS_RSM, "set");
	if (lo < hi) {
		/* first and last keep their archive order under flip-page */
		first = nad_elem_add(nad, set, NS_RSM, "first");
		nad_text_set(nad, first, muc_msg_id(all[lo]->nad),
			     strlen(muc_msg_id(all[lo]->nad)));
		snprintf(num, sizeof(num), "%ld", lo);
		nad_attr_set(nad, first, NULL, "index", num);
		muc_text_child(nad, set, NS_RSM, "last", muc_msg_id(all[hi - 1]->nad));
	}
	snprintf(num, sizeof(num), "%zu", n);
	muc_text_child(nad, set, NS_RSM, "count", num);
	muc_send(muc, nad);
}

/* iq get: the fields a query may use (XEP-0313 4.1.5), the #extended
 * ones included. */
static void send_form(struct muc *muc, const struct nad *stanza, int q)
{
	struct nad *nad = muc_stanza_new("iq", "result", nad_attr(stanza, 0, NULL, "from"),
					 nad_attr(stanza, 0, NULL, "to"));
	int x;

	nad_attr_set(nad, 0, NULL, "id", nad_attr(stanza, 0, NULL, "id"));
	q = nad_elem_add(nad, 0, NS_MAM, "query");
	x = xdata_form_new(nad, q, "form", NS_MAM);
	xdata_add_field(nad, x, "with", "jid-single", "An occupant (room@service/nick)");
	xdata_add_field(nad, x, "start", "text-single", NULL);
	xdata_add_field(nad, x, "end", "text-single", NULL);
	xdata_add_field(nad, x, "after-id", "text-single", NULL);
	xdata_add_field(nad, x, "before-id", "text-single", NULL);
	xdata_add_field(nad, x, "ids", "text-multi", NULL);
	muc_send(muc, nad);
}

void muc_mam_query(struct muc *muc, struct muc_room *mr, const struct nad *stanza, int q,
		   const struct jid *from)
{
	enum muc_affil a = room_affil(mr->room, from);
	const char *type = nad_attr(stanza, 0, NULL, "type");
	const struct room_msg **all = NULL;
	struct jid *with = NULL;
	struct mam_req r;
	struct mam_err e = { "internal-server-error", NULL };
	long lo, hi, lo0, hi0, pivot, i;
	size_t n = 0;

	if (a == MUC_AFFIL_OUTCAST || (mr->room->cfg.members_only && a < MUC_AFFIL_MEMBER)) {
		muc_error(muc, stanza, "forbidden", "you may not read this room's archive");
		return;
	}
	if (strcmp(type, "get") == 0) {
		send_form(muc, stanza, q);
		return;
	}
	if (mam_parse(mr, stanza, q, &r, &with, &e) < 0 ||
	    (all = mam_select(mr, &r, &n, &e)) == NULL)
		goto refused;
	/* The page is [lo, hi): forward from `after`, or backward from
	 * `before` (an empty before: from the end). */
	lo = 0;
	hi = (long)n;
	if (r.after != NULL && (pivot = find_id(all, n, r.after)) < 0)
		goto unknown;
	if (r.after != NULL)
		lo = pivot + 1;
	if (r.before != NULL && r.before[0] != '\0') {
		if ((pivot = find_id(all, n, r.before)) < 0)
			goto unknown;
		hi = pivot;
	}
	if (lo > hi)
		lo = hi;
	lo0 = lo;
	hi0 = hi;
	if (r.before != NULL) {
		if (hi - lo > r.max)
			lo = hi - r.max;
	} else if (hi - lo > r.max) {
		hi = lo + r.max;
	}
	for (i = 0; i < hi - lo; i++)
		send_result(muc, mr, stanza, q, all[r.flip ? hi - 1 - i : lo + i]);
	/* complete: nothing more in the direction of paging */
	send_fin(muc, stanza, all, n, lo, hi, r.before != NULL ? lo == lo0 : hi == hi0);
	free(all);
	jid_free(&with);
	return;
unknown:
	refuse(&e, "item-not-found", "no archived message with this id");
refused:
	free(all);
	jid_free(&with);
	muc_error(muc, stanza, e.cond, e.text);
}
