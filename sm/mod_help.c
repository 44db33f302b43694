/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mod_help: mail to the server's administrators, as jabberd2's. A message
 * to a domain of ours (no resource, or <domain>/help) is forwarded, from
 * the domain, to every JID of the "all" and "messages" ACLs (aci.acl),
 * each once, as type normal with the subject "Fwd[<sender>]: <subject>"
 * ("(none)" without one). An administrator writing to the server does
 * not get its own message back. Nobody gets an answer; with no ACL the
 * message is dropped. Probes and subscription requests to the domain are
 * answered with available presence from <domain>/help.
 *
 * disco-extend: the XEP-0157 contact addresses of
 * discovery.serverinfo.<field>.value (abuse-, admin-, feedback-, sales-,
 * security-, support-addresses) as a form in the server's disco#info.
 */
#include "config.h"
#include "sm/sm.h"
#include "sm/echo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/config_file.h"
#include "util/jid.h"
#include "util/log.h"
#include "util/nad.h"
#include "util/xhash.h"

#define HELP_RESOURCE "help"
#define NS_XDATA "jabber:x:data"
#define NS_SERVERINFO "http://jabber.org/network/serverinfo"

static const char *const serverinfo_fields[] = {
	"abuse-addresses", "admin-addresses", "feedback-addresses",
	"sales-addresses", "security-addresses", "support-addresses",
};

/* Type normal, and the subject naming the sender. */
static void help_rewrite(struct pkt *pkt)
{
	int subj = nad_child(pkt->nad, 0, NULL, "subject");
	struct buf s = { 0 };
	const char *text = NULL;
	size_t len = 0;

	nad_attr_set(pkt->nad, 0, NULL, "type", NULL);
	if (subj != NAD_NONE)
		text = nad_text(pkt->nad, subj, &len);
	if (text == NULL || len == 0) {
		text = "(none)";
		len = strlen(text);
	}
	buf_printf(&s, "Fwd[%s]: %.*s", jid_full(pkt->from), (int)len, text);
	if (subj == NAD_NONE)
		subj = nad_elem_add(pkt->nad, 0, nad_ns(pkt->nad, 0), "subject");
	nad_text_set(pkt->nad, subj, s.data, s.len);
	buf_free(&s);
}

/* A copy to each JID of the ACLs (the "all" ones first), once each. */
static void help_forward(struct pkt *pkt)
{
	static const char *const types[] = { "all", "messages" };
	const struct config *cfg = pkt->sm->cfg;
	struct xhash *sent = xhash_new();
	int n = config_count(cfg, "aci.acl");

	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		for (int i = 0; i < n; i++) {
			const struct config_node *acl = config_node(cfg, "aci.acl", i), *j;
			const char *type = config_node_attr(acl, "type");

			if (type == NULL || strcmp(type, types[t]) != 0)
				continue;
			for (j = config_node_child(acl, "jid"); j != NULL;
			     j = config_node_next(j, "jid")) {
				const char *to = config_node_value(j);
				struct pkt *copy;

				if (xhash_get(sent, to) != NULL)
					continue;
				xhash_put(sent, to, (void *)1);
				if (strcmp(to, jid_full(pkt->from)) == 0 ||
				    strcmp(to, jid_bare(pkt->from)) == 0) {
					log_notice("sm: help: %s (an administrator) wrote "
						   "to the server; not sent back to it",
						   jid_full(pkt->from));
					continue;
				}
				copy = pkt_dup(pkt, to, jid_domain(pkt->to));
				if (copy != NULL)       /* NULL: not a JID */
					pkt_router(copy);
			}
		}
	}
	xhash_free(&sent);
}

static enum mod_ret help_pkt_sm(struct pkt *pkt)
{
	const char *res;

	if (pkt->from == NULL)
		return MOD_PASS;
	if (pkt->type & (PKT_PRESENCE_PROBE | PKT_S10N))
		echo_answer_probe(pkt, HELP_RESOURCE);
	res = jid_resource(pkt->to);
	if (pkt->type != PKT_MESSAGE || (res[0] != '\0' && strcmp(res, HELP_RESOURCE) != 0))
		return MOD_PASS;
	help_rewrite(pkt);
	help_forward(pkt);
	pkt_free(&pkt);
	return MOD_HANDLED;
}

static void help_disco_extend(struct sm *sm, struct nad *nad, int query)
{
	int x = NAD_NONE;

	for (size_t i = 0; i < sizeof(serverinfo_fields) / sizeof(serverinfo_fields[0]); i++) {
		char key[80];
		int n, f, v;

		snprintf(key, sizeof(key), "discovery.serverinfo.%s.value",
			 serverinfo_fields[i]);
		if ((n = config_count(sm->cfg, key)) == 0)
			continue;
		if (x == NAD_NONE) {
			x = nad_elem_add(nad, query, NS_XDATA, "x");
			nad_attr_set(nad, x, NULL, "type", "result");
			f = nad_elem_add(nad, x, NS_XDATA, "field");
			nad_attr_set(nad, f, NULL, "var", "FORM_TYPE");
			nad_attr_set(nad, f, NULL, "type", "hidden");
			v = nad_elem_add(nad, f, NS_XDATA, "value");
			nad_text_set(nad, v, NS_SERVERINFO, strlen(NS_SERVERINFO));
		}
		f = nad_elem_add(nad, x, NS_XDATA, "field");
		nad_attr_set(nad, f, NULL, "var", serverinfo_fields[i]);
		for (int k = 0; k < n; k++) {
			const char *value = config_get_n(sm->cfg, key, k);

			v = nad_elem_add(nad, f, NS_XDATA, "value");
			nad_text_set(nad, v, value, strlen(value));
		}
	}
}

const struct sm_module sm_module_help = {
	.name = "help",
	.abi = SM_MODULE_ABI,
	.pkt_sm = help_pkt_sm,
	.disco_extend = help_disco_extend,
};
