/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mod_validate: only message, presence and iq stanzas of known types go
 * further; anything else gets bad-request (jabberd2's validate module).
 * So do iqs that break RFC 6120 section 8.2.3: without an id, or a get or
 * set without exactly one child element. (Errors are never answered.)
 */
#include "config.h"
#include "sm/sm.h"

#include <string.h>

#include "util/nad.h"

static int validate_iq_ok(const struct pkt *pkt)
{
	int c;

	if (!(pkt->type & PKT_IQ_ANY) || pkt->type == PKT_IQ_ERROR)
		return 1;
	if (nad_attr(pkt->nad, 0, NULL, "id") == NULL)
		return 0;
	if (pkt->type & (PKT_IQ_RESULT))
		return 1;
	c = nad_child(pkt->nad, 0, NULL, NULL);
	return c != NAD_NONE && nad_next(pkt->nad, c, NULL, NULL) == NAD_NONE;
}

static enum mod_ret validate_check(struct pkt *pkt, struct sess *sess)
{
	if (pkt->type != PKT_NONE && validate_iq_ok(pkt))
		return MOD_PASS;
	if (nad_attr(pkt->nad, 0, NULL, "type") != NULL &&
	    strcmp(nad_attr(pkt->nad, 0, NULL, "type"), "error") == 0) {
		pkt_free(&pkt);
		return MOD_HANDLED;
	}
	pkt_error(pkt, "bad-request");
	if (sess != NULL)
		pkt_sess(pkt, sess);
	else
		pkt_router(pkt);
	return MOD_HANDLED;
}

static enum mod_ret validate_in_sess(struct sess *sess, struct pkt *pkt)
{
	return validate_check(pkt, sess);
}

static enum mod_ret validate_in_router(struct pkt *pkt)
{
	if (pkt->type == PKT_SESS)
		return MOD_PASS;
	return validate_check(pkt, NULL);
}

const struct sm_module sm_module_validate = {
	.name = "validate",
	.abi = SM_MODULE_ABI,
	.in_sess = validate_in_sess,
	.in_router = validate_in_router,
};
