/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mod_template_roster: a new user starts with the roster in the file
 * named by user.template.roster (a <query xmlns='jabber:iq:roster'> with
 * <item jid name subscription><group/></item> children), as in jabberd2.
 * The file is read at each creation, so editing it needs no restart; a
 * file that cannot be read is logged and the user starts empty.
 */
#include "config.h"
#include "sm/sm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/storage.h"
#include "util/buf.h"
#include "util/config_file.h"
#include "util/jid.h"
#include "util/log.h"
#include "util/nad.h"

#define TEMPLATE_MAX (1024 * 1024)

static struct nad *template_read(const char *file)
{
	struct buf b = { 0 };
	const char *error;
	struct nad *nad;
	char chunk[4096];
	size_t n;
	FILE *f = fopen(file, "r");

	if (f == NULL) {
		log_warn("sm: template-roster: cannot open %s", file);
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && b.len < TEMPLATE_MAX)
		buf_append(&b, chunk, n);
	fclose(f);
	nad = nad_parse(b.data != NULL ? b.data : "", b.len, 0, &error, NULL);
	buf_free(&b);
	if (nad == NULL)
		log_error("sm: template-roster: %s: %s", file, error);
	return nad;
}

/* One <item> as rows of roster-items and roster-groups. */
static void template_item(const struct nad *nad, int e, struct os *items, struct os *groups)
{
	const char *s = nad_attr(nad, e, NULL, "jid"), *sub, *error;
	struct os_object *o;
	struct jid *jid;
	int g;

	if (s == NULL || (jid = jid_new(s, strlen(s), &error)) == NULL)
		return;
	sub = nad_attr(nad, e, NULL, "subscription");
	o = os_object_new(items);
	os_object_put_str(o, "jid", jid_bare(jid));
	os_object_put_str(o, "name", nad_attr(nad, e, NULL, "name"));
	os_object_put_bool(o, "to", sub != NULL && (!strcmp(sub, "to") || !strcmp(sub, "both")));
	os_object_put_bool(o, "from", sub != NULL &&
			   (!strcmp(sub, "from") || !strcmp(sub, "both")));
	os_object_put_int(o, "ask", 0);
	for (g = nad_child(nad, e, NULL, "group"); g != NAD_NONE; g = nad_next(nad, g, NULL, "group")) {
		size_t len;
		const char *text = nad_text(nad, g, &len);
		char *t = xstrndup(text, len);

		o = os_object_new(groups);
		os_object_put_str(o, "jid", jid_bare(jid));
		os_object_put_str(o, "group", t);
		free(t);
	}
	jid_free(&jid);
}

static int template_user_create(struct sm *sm, const struct jid *jid)
{
	const char *file = config_get(sm->cfg, "user.template.roster"), *error;
	struct os *items, *groups;
	struct nad *nad;
	int e;

	if (file == NULL || (nad = template_read(file)) == NULL)
		return 0;
	items = os_new();
	groups = os_new();
	for (e = nad_child(nad, 0, NULL, "item"); e != NAD_NONE; e = nad_next(nad, e, NULL, "item"))
		template_item(nad, e, items, groups);
	if ((os_count(items) > 0 &&
	     storage_put(sm->st, "roster-items", jid_bare(jid), items, &error) != STORAGE_OK) ||
	    (os_count(groups) > 0 &&
	     storage_put(sm->st, "roster-groups", jid_bare(jid), groups, &error) != STORAGE_OK))
		log_error("sm: template-roster: %s: %s", jid_bare(jid), error);
	os_free(&items);
	os_free(&groups);
	nad_free(&nad);
	return 0;
}

const struct sm_module sm_module_template_roster = {
	.name = "template-roster",
	.abi = SM_MODULE_ABI,
	.user_create = template_user_create,
};
