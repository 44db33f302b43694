/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the router's handling of component elements
 * (router/routes.c, router/filter.c): the input is parsed as one element
 * and handed to a router holding a few components (multi group, default
 * route, log sink, alias, throttled receiver, an XEP-0114 link) and a
 * filter, once as a component-protocol element and once as an XEP-0114
 * stanza. Everything sent is serialized. Any crash, leak or sanitizer
 * report is a finding.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "router/router.h"
#include "router/router_module.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/nad.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define COMP "xmlns='" ROUTER_NS_COMP "'"

static const char filter_xml[] =
	"<filter><rule error='forbidden' from='*@spam.example' to='*' what='message/body'/>"
	"<rule redirect='sm' from='*' to='*@old.example' what='iq?type=get'/>"
	"<rule error='bogus' to='*' what='presence!type=unavailable'/>"
	"<rule from='*' to='*'/></filter>";

static void sink(struct router_comp *comp, struct nad *nad)
{
	struct buf b = { 0 };

	nad_serialize(nad, 0, NULL, &b);
	buf_free(&b);
	nad_free(&nad);
}

static void feed(struct router_comp *c, const char *xml)
{
	const char *err;
	struct nad *nad = nad_parse(xml, strlen(xml), 0, &err, NULL);

	if (nad != NULL)
		router_comp_element(c, nad);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int logged;
	struct router *r;
	struct router_comp *sm, *sm2, *s2s, *logger, *muc, *cluster;
	struct nad *nad, *copy;
	const char *err;

	if (!logged) {
		log_open(LOG_TYPE_FILE, "fuzz", NULL, "/dev/null", &err);
		logged = 1;
	}
	nad = nad_parse((const char *)data, size, 32, &err, NULL);
	if (nad == NULL)
		return 0;
	r = router_new();
	router_acl_add(r, ROUTER_ACL_ALL, "admin");
	router_alias_add(r, "alias.example", "sm");
	router_filter_load_mem("f", filter_xml, strlen(filter_xml), &r->filter, &err);
	sm = router_comp_new(r, "sm", 0, sink, NULL);
	sm2 = router_comp_new(r, "admin", 0, sink, NULL);
	s2s = router_comp_new(r, "admin", 0, sink, NULL);
	logger = router_comp_new(r, "admin", 0, sink, NULL);
	muc = router_comp_new(r, "muc.example", 1, sink, NULL);
	feed(sm, "<bind " COMP " name='sm' multi='to'/>");
	feed(sm2, "<bind " COMP " name='sm' multi='to'/>");
	feed(s2s, "<bind " COMP " name='s2s'><default/></bind>");
	feed(logger, "<bind " COMP " name='logger'><log/></bind>");
	feed(logger, "<throttle " COMP "/>");
	router_legacy_bind(muc, "muc.example");
	/* A stand-in for the module, holding a clustered domain: redirects
	 * apply to routes addressed to it. */
	cluster = router_comp_new(r, "admin", 0, sink, NULL);
	feed(cluster, "<bind " COMP " name='dom.example'/>");
	r->module_comp = cluster;
	router_mod_redirect_set(r, "ann@dom.example/desk", "s2s", &err);
	router_mod_redirect_set(r, "bob@dom.example", "logger", &err);
	router_mod_redirect_set(r, "sm@dom.example", "sm", &err);
	copy = nad_copy(nad);
	router_comp_element(sm, nad);
	router_legacy_stanza(muc, copy);
	router_comp_free(&sm2);
	r->module_comp = NULL;
	router_free(&r);
	return 0;
}
