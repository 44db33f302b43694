/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mod_iq_ping: XEP-0199. A ping to one of our domains, or from a session
 * with no `to` (to its own account), is answered with an empty result.
 */
#include "config.h"
#include "sm/sm.h"

#include <string.h>

#define NS_PING "urn:xmpp:ping"

static int is_ping(const struct pkt *pkt)
{
	return pkt->type == PKT_IQ && pkt->iq_ns != NULL && strcmp(pkt->iq_ns, NS_PING) == 0;
}

static enum mod_ret ping_pkt_sm(struct pkt *pkt)
{
	if (!is_ping(pkt))
		return MOD_PASS;
	pkt_router(pkt_result(pkt));
	return MOD_HANDLED;
}

static enum mod_ret ping_in_sess(struct sess *sess, struct pkt *pkt)
{
	if (!is_ping(pkt) || pkt->to != NULL)
		return MOD_PASS;
	pkt_sess(pkt_result(pkt), sess);
	return MOD_HANDLED;
}

static int ping_init(struct sm *sm, const char *arg)
{
	(void)arg;
	sm_feature(sm, NS_PING);
	return 0;
}

const struct sm_module sm_module_iq_ping = {
	.name = "iq-ping",
	.abi = SM_MODULE_ABI,
	.init = ping_init,
	.in_sess = ping_in_sess,
	.pkt_sm = ping_pkt_sm,
};
