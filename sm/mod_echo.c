/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mod_echo: a test correspondent at <domain>/echo, as jabberd2's. A
 * message to it comes back to its sender unchanged but for the swapped
 * addresses; a probe or a subscription request to the domain is answered
 * with available presence from <domain>/echo, so clients can put it on a
 * roster. Error messages are not echoed (jabberd2 echoes them too; two
 * echoes facing each other would then loop).
 */
#include "config.h"
#include "sm/echo.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/jid.h"
#include "sm/sm.h"

#define ECHO_RESOURCE "echo"

void echo_answer_probe(struct pkt *pkt, const char *resource)
{
	struct buf from = { 0 };

	buf_printf(&from, "%s/%s", jid_domain(pkt->to), resource);
	pkt_router(pkt_create(pkt->sm, "presence", NULL, jid_bare(pkt->from), from.data));
	buf_free(&from);
}

static enum mod_ret echo_pkt_sm(struct pkt *pkt)
{
	char *to, *from;

	if (pkt->from == NULL)
		return MOD_PASS;
	if (pkt->type & (PKT_PRESENCE_PROBE | PKT_S10N))
		echo_answer_probe(pkt, ECHO_RESOURCE);
	if (pkt->type != PKT_MESSAGE || strcmp(jid_resource(pkt->to), ECHO_RESOURCE) != 0)
		return MOD_PASS;
	to = xstrdup(jid_full(pkt->from));
	from = xstrdup(jid_full(pkt->to));
	pkt_set_to(pkt, to);
	pkt_set_from(pkt, from);
	free(to);
	free(from);
	pkt_router(pkt);
	return MOD_HANDLED;
}

const struct sm_module sm_module_echo = {
	.name = "echo",
	.abi = SM_MODULE_ABI,
	.pkt_sm = echo_pkt_sm,
};
