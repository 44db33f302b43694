/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the pubsub daemon's parsers of client input
 * (form.c: the request, the node configuration form, publish-options,
 * subscription options) and the service behind them (pubsub.c). Each
 * input is a sequence of stanzas separated by NUL bytes. A stanza's
 * <pubsub/> child, if any, goes to the parsers directly (and any data
 * form in it to each form parser); then the stanza goes to one service as
 * if from the router, so that creations, publications, subscriptions,
 * configuration and deletion meet in any order. What the service sends is
 * checked to carry a to and a from and freed. The service is made afresh
 * every 256 inputs; its limits keep its state small.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pubsub/form.h"
#include "pubsub/pubsub.h"
#include "util/config_file.h"
#include "util/fuzz/stanzas.h"
#include "util/nad.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct config *cfg;
static struct pubsub *ps;

static void check_and_drop(struct pubsub *p, struct nad *nad)
{
	(void)p;
	fuzz_sent_check(nad);
}

/* A roster in which only bob has the owners' presence. */
static int roster(struct pubsub *p, const char *owner, const char *contact,
		  char *const *groups, int ngroups, int *from_r, int *group_r)
{
	(void)p, (void)owner, (void)groups;
	*from_r = strncmp(contact, "bob@", 4) == 0;
	*group_r = ngroups > 0 && *from_r;
	return 0;
}

static void service_renew(void)
{
	static const char conf[] =
		"<pubsub><service>pubsub.localhost</service>"
		"<limits><nodes>20</nodes><nodes-per-user>5</nodes-per-user>"
		"<items-per-node>10</items-per-node><payload-size>4096</payload-size>"
		"<subscriptions-per-node>10</subscriptions-per-node></limits></pubsub>";
	const char *error;

	pubsub_free(&ps);
	config_free(&cfg);
	cfg = config_load_mem("pubsub.xml", conf, sizeof(conf) - 1, NULL, &error);
	if (cfg == NULL || (ps = pubsub_new(cfg, &error)) == NULL)
		abort();
	ps->send = check_and_drop;
	ps->roster = roster;
}

/* The parsers alone, on whatever the stanza holds. */
static void parsers(const struct nad *nad)
{
	struct ps_node_config c;
	struct ps_sub_options o = { .deliver = 1 };
	struct ps_req req;
	const char *cond, *app, *error;
	int p = nad_child(nad, 0, NULL, "pubsub"), x;

	if (p == NAD_NONE)
		return;
	ps_req_parse(nad, p, nad_attr(nad, 0, NULL, "type"), &req, &cond, &app, &error);
	if (req.form == NAD_NONE)
		return;
	x = req.form;
	ps_config_init(&c, 10);
	ps_config_apply(nad, x, &c, 10, &error);
	ps_publish_options_check(nad, x, &c, &error);
	ps_config_clear(&c);
	ps_subopts_apply(nad, x, &o, &error);
	(void)ps_form_type(nad, x);
}

static void to_service(struct nad *nad)
{
	parsers(nad);
	pubsub_stanza(ps, nad);
}

static struct fuzz_service fs = { .renew = service_renew, .stanza = to_service };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_service_input(&fs, data, size);
}
