/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mod_iq_version: XEP-0092 software version of the server, and the same
 * facts as a XEP-0232 software-information form in disco#info
 * (disco-extend chain).
 */
#include "config.h"
#include "sm/sm.h"

#include <string.h>
#include <sys/utsname.h>

#include "util/nad.h"

#define NS_VERSION "jabber:iq:version"
#define VERSION_NAME "jabberd-cluster"

static void version_text(struct nad *nad, int parent, const char *ns, const char *name,
			 const char *text)
{
	int e = nad_elem_add(nad, parent, ns, name);

	nad_text_set(nad, e, text, strlen(text));
}

static enum mod_ret version_pkt_sm(struct pkt *pkt)
{
	struct utsname u;
	int q;

	if (pkt->type != PKT_IQ || pkt->iq_ns == NULL || strcmp(pkt->iq_ns, NS_VERSION) != 0)
		return MOD_PASS;
	pkt_result(pkt);
	q = nad_elem_add(pkt->nad, 0, NS_VERSION, "query");
	version_text(pkt->nad, q, NS_VERSION, "name", VERSION_NAME);
	version_text(pkt->nad, q, NS_VERSION, "version", PACKAGE_VERSION);
	if (uname(&u) == 0)
		version_text(pkt->nad, q, NS_VERSION, "os", u.sysname);
	pkt_router(pkt);
	return MOD_HANDLED;
}

static void version_field(struct nad *nad, int x, const char *var, const char *value)
{
	int f = nad_elem_add(nad, x, "jabber:x:data", "field");

	nad_attr_set(nad, f, NULL, "var", var);
	if (strcmp(var, "FORM_TYPE") == 0)
		nad_attr_set(nad, f, NULL, "type", "hidden");
	version_text(nad, f, "jabber:x:data", "value", value);
}

static void version_disco_extend(struct sm *sm, struct nad *nad, int query)
{
	int x = nad_elem_add(nad, query, "jabber:x:data", "x");
	struct utsname u;

	(void)sm;
	nad_attr_set(nad, x, NULL, "type", "result");
	version_field(nad, x, "FORM_TYPE", "urn:xmpp:dataforms:softwareinfo");
	if (uname(&u) == 0)
		version_field(nad, x, "os", u.sysname);
	version_field(nad, x, "software", VERSION_NAME);
	version_field(nad, x, "software_version", PACKAGE_VERSION);
}

static int version_init(struct sm *sm, const char *arg)
{
	(void)arg;
	sm_feature(sm, NS_VERSION);
	return 0;
}

const struct sm_module sm_module_iq_version = {
	.name = "iq-version",
	.abi = SM_MODULE_ABI,
	.init = version_init,
	.pkt_sm = version_pkt_sm,
	.disco_extend = version_disco_extend,
};
