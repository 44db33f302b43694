/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mod_iq_time: the server's clock, as XEP-0202 (urn:xmpp:time, UTC and the
 * offset of the local zone) and the older XEP-0090 (jabber:iq:time).
 */
#include "config.h"
#include "sm/sm.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/nad.h"

#define NS_TIME "urn:xmpp:time"
#define NS_TIME_OLD "jabber:iq:time"

static void time_text(struct nad *nad, int parent, const char *ns, const char *name,
		      const char *text)
{
	int e = nad_elem_add(nad, parent, ns, name);

	nad_text_set(nad, e, text, strlen(text));
}

static void time_xep0202(struct pkt *pkt, time_t now)
{
	char buf[64];
	struct tm tm;
	long off;
	int q = nad_elem_add(pkt->nad, 0, NS_TIME, "time");

	localtime_r(&now, &tm);
	off = tm.tm_gmtoff / 60;
	snprintf(buf, sizeof(buf), "%c%02ld:%02ld", off < 0 ? '-' : '+',
		 (off < 0 ? -off : off) / 60, (off < 0 ? -off : off) % 60);
	time_text(pkt->nad, q, NS_TIME, "tzo", buf);
	gmtime_r(&now, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	time_text(pkt->nad, q, NS_TIME, "utc", buf);
}

static void time_xep0090(struct pkt *pkt, time_t now)
{
	char buf[64];
	struct tm tm;
	int q = nad_elem_add(pkt->nad, 0, NS_TIME_OLD, "query");

	gmtime_r(&now, &tm);
	strftime(buf, sizeof(buf), "%Y%m%dT%H:%M:%S", &tm);
	time_text(pkt->nad, q, NS_TIME_OLD, "utc", buf);
	localtime_r(&now, &tm);
	strftime(buf, sizeof(buf), "%Z", &tm);
	time_text(pkt->nad, q, NS_TIME_OLD, "tz", buf);
	strftime(buf, sizeof(buf), "%c", &tm);
	time_text(pkt->nad, q, NS_TIME_OLD, "display", buf);
}

static enum mod_ret time_pkt_sm(struct pkt *pkt)
{
	time_t now = time(NULL);
	int new;

	if (pkt->type != PKT_IQ || pkt->iq_ns == NULL)
		return MOD_PASS;
	new = strcmp(pkt->iq_ns, NS_TIME) == 0;
	if (!new && strcmp(pkt->iq_ns, NS_TIME_OLD) != 0)
		return MOD_PASS;
	pkt_result(pkt);
	if (new)
		time_xep0202(pkt, now);
	else
		time_xep0090(pkt, now);
	pkt_router(pkt);
	return MOD_HANDLED;
}

static int time_init(struct sm *sm, const char *arg)
{
	(void)arg;
	sm_feature(sm, NS_TIME);
	sm_feature(sm, NS_TIME_OLD);
	return 0;
}

const struct sm_module sm_module_iq_time = {
	.name = "iq-time",
	.abi = SM_MODULE_ABI,
	.init = time_init,
	.pkt_sm = time_pkt_sm,
};
