/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * muc_mam.c: the room's message archive (XEP-0313 for MUC, urn:xmpp:mam:2)
 * over the room's kept history: the newest <limits><history> groupchat
 * messages, in memory and, for persistent rooms, in storage, so a client
 * that rejoins (even after a restart of the service) can page through
 * what it missed. Each message carries the room's stanza-id (XEP-0359),
 * which is its archive id. Queries filter by start and end, page with
 * RSM (max, after, before), and end with <fin/>. Anyone who may join the
 * room may read it.
 */
#include "config.h"

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
	long max;
	const char *after, *before; /* before "": the last page */
};

/* Read the query's form and RSM set; -1 with *error_r if bad. */
static int mam_parse(const struct nad *nad, int q, struct mam_req *r, const char **error_r)
{
	int x = nad_child(nad, q, MUC_NS_XDATA, "x"), set, e;
	const char *v;
	char *end;

	r->start = r->end = (time_t)-1;
	r->max = MAM_DEFAULT;
	r->after = r->before = NULL;
	if (x != NAD_NONE) {
		if ((v = muc_form_value(nad, x, "with")) != NULL && v[0] != '\0') {
			*error_r = "filtering by 'with' is not supported for rooms";
			return -1;
		}
		if ((v = muc_form_value(nad, x, "start")) != NULL &&
		    (r->start = datetime_parse(v, strlen(v))) == (time_t)-1) {
			*error_r = "start is not an XEP-0082 date-time";
			return -1;
		}
		if ((v = muc_form_value(nad, x, "end")) != NULL &&
		    (r->end = datetime_parse(v, strlen(v))) == (time_t)-1) {
			*error_r = "end is not an XEP-0082 date-time";
			return -1;
		}
	}
	if ((set = nad_child(nad, q, NS_RSM, "set")) == NAD_NONE)
		return 0;
	if ((e = nad_child(nad, set, NS_RSM, "max")) != NAD_NONE) {
		v = nad_text(nad, e, NULL);
		r->max = strtol(v, &end, 10);
		if (v[0] < '0' || v[0] > '9' || *end != '\0' || r->max > MAM_MAX)
			r->max = MAM_MAX;
	}
	if ((e = nad_child(nad, set, NS_RSM, "after")) != NAD_NONE)
		r->after = nad_text(nad, e, NULL);
	if ((e = nad_child(nad, set, NS_RSM, "before")) != NAD_NONE)
		r->before = nad_text(nad, e, NULL);
	return 0;
}

/* The messages matching start/end, oldest first, into a new array. */
static const struct room_msg **mam_select(const struct muc_room *mr, const struct mam_req *r,
					  size_t *n_r)
{
	const struct room_msg **all = xcalloc(mr->room->history_len + 1, sizeof(*all));
	const struct room_msg *m;
	size_t n = 0;

	LIST_FOREACH(m, &mr->room->history, const struct room_msg, link) {
		if ((r->start != (time_t)-1 && m->when < r->start) ||
		    (r->end != (time_t)-1 && m->when > r->end))
			continue;
		all[n++] = m;
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

static void send_fin(struct muc *muc, const struct nad *stanza, const struct room_msg *first,
		     const struct room_msg *last, int complete)
{
	struct nad *nad = muc_stanza_new("iq", "result", nad_attr(stanza, 0, NULL, "from"),
					 nad_attr(stanza, 0, NULL, "to"));
	int fin, set;

	nad_attr_set(nad, 0, NULL, "id", nad_attr(stanza, 0, NULL, "id"));
	fin = nad_elem_add(nad, 0, NS_MAM, "fin");
	if (complete)
		nad_attr_set(nad, fin, NULL, "complete", "true");
	set = nad_elem_add(nad, fin, NS_RSM, "set");
	if (first != NULL) {
		muc_text_child(nad, set, NS_RSM, "first", muc_msg_id(first->nad));
		muc_text_child(nad, set, NS_RSM, "last", muc_msg_id(last->nad));
	}
	muc_send(muc, nad);
}

void muc_mam_query(struct muc *muc, struct muc_room *mr, const struct nad *stanza, int q,
		   const struct jid *from)
{
	enum muc_affil a = room_affil(mr->room, from);
	const struct room_msg **all;
	struct mam_req r;
	const char *error;
	long lo, hi, lo0, hi0, pivot;
	size_t n;

	if (a == MUC_AFFIL_OUTCAST || (mr->room->cfg.members_only && a < MUC_AFFIL_MEMBER)) {
		muc_error(muc, stanza, "forbidden", "you may not read this room's archive");
		return;
	}
	if (mam_parse(stanza, q, &r, &error) < 0) {
		muc_error(muc, stanza, "bad-request", error);
		return;
	}
	all = mam_select(mr, &r, &n);
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
	lo0 = lo;
	hi0 = hi;
	if (r.before != NULL) {
		if (hi - lo > r.max)
			lo = hi - r.max;
	} else if (hi - lo > r.max) {
		hi = lo + r.max;
	}
	for (pivot = lo; pivot < hi; pivot++)
		send_result(muc, mr, stanza, q, all[pivot]);
	/* complete: nothing more in the direction of paging */
	send_fin(muc, stanza, lo < hi ? all[lo] : NULL, lo < hi ? all[hi - 1] : NULL,
		 r.before != NULL ? lo == lo0 : hi == hi0);
	free(all);
	return;
unknown:
	free(all);
	muc_error(muc, stanza, "item-not-found", "no archived message with this id");
}
