/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * form.c: parsers of client input for the pubsub daemon, and the forms
 * it offers (see form.h).
 */
#include "config.h"
#include "pubsub/form.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/nad.h"
#include "util/xdata.h"

/* ---- the request ---- */

struct verb {
	const char *ns, *name;
	enum ps_verb verb;
	int set;                    /* 1: set only, 0: get only, 2: both */
};

static const struct verb verbs[] = {
	{ PS_NS, "create", PS_V_CREATE, 1 },
	{ PS_NS, "publish", PS_V_PUBLISH, 1 },
	{ PS_NS, "retract", PS_V_RETRACT, 1 },
	{ PS_NS, "subscribe", PS_V_SUBSCRIBE, 1 },
	{ PS_NS, "unsubscribe", PS_V_UNSUBSCRIBE, 1 },
	{ PS_NS, "options", PS_V_OPTIONS, 2 },
	{ PS_NS, "items", PS_V_ITEMS, 0 },
	{ PS_NS, "subscriptions", PS_V_SUBSCRIPTIONS, 0 },
	{ PS_NS, "affiliations", PS_V_AFFILIATIONS, 0 },
	{ PS_NS_OWNER, "configure", PS_V_CONFIGURE, 2 },
	{ PS_NS_OWNER, "default", PS_V_DEFAULT, 0 },
	{ PS_NS_OWNER, "delete", PS_V_DELETE, 1 },
	{ PS_NS_OWNER, "purge", PS_V_PURGE, 1 },
	{ PS_NS_OWNER, "affiliations", PS_V_OWNER_AFFILIATIONS, 2 },
	{ PS_NS_OWNER, "subscriptions", PS_V_OWNER_SUBSCRIPTIONS, 2 },
};

/* The companion of a verb in the same <pubsub/>: its form. */
static const char *companion(enum ps_verb v)
{
	switch (v) {
	case PS_V_CREATE: return "configure";
	case PS_V_SUBSCRIBE: return "options";
	case PS_V_PUBLISH: return "publish-options";
	default: return NULL;
	}
}

static int is_ns(const struct nad *nad, int e, const char *ns)
{
	const char *n = nad_ns(nad, e);

	return n != NULL && strcmp(n, ns) == 0;
}

#define FAIL(cond, app, text) \
	do { *cond_r = (cond); *app_r = (app); *error_r = (text); return -1; } while (0)

static int parse_items(const struct nad *nad, struct ps_req *req, const char **cond_r,
		       const char **app_r, const char **error_r)
{
	const char *id;
	int it;

	for (it = nad_child(nad, req->elem, PS_NS, "item"); it != NAD_NONE;
	     it = nad_next(nad, it, PS_NS, "item")) {
		if (req->nitems == PS_REQ_ITEMS_MAX)
			FAIL("not-acceptable", NULL, "too many items in one request (limit 32)");
		id = nad_attr(nad, it, NULL, "id");
		if (id != NULL && (id[0] == '\0' || strlen(id) > PS_ITEM_ID_MAX))
			FAIL("bad-request", NULL, "an item id is empty or longer than 256 bytes");
		if (id == NULL && req->verb != PS_V_PUBLISH)
			FAIL("bad-request", "item-required", "an item without an id");
		req->items[req->nitems++] = it;
	}
	return 0;
}

int ps_req_parse(const struct nad *nad, int ps, const char *type, struct ps_req *req,
		 const char **cond_r, const char **app_r, const char **error_r)
{
	const char *ns = nad_ns(nad, ps), *comp, *v;
	const struct verb *vb = NULL;
	int set, c, x, n = 0;
	size_t i;
	char *end;

	memset(req, 0, sizeof(*req));
	req->form = NAD_NONE;
	req->max_items = -1;
	if (type == NULL || (strcmp(type, "get") != 0 && strcmp(type, "set") != 0))
		FAIL("bad-request", NULL, "a pubsub request is an iq get or set");
	set = strcmp(type, "set") == 0;
	if (ns == NULL)
		FAIL("bad-request", NULL, "no namespace");
	for (c = nad_child(nad, ps, NULL, NULL); c != NAD_NONE && vb == NULL;
	     c = nad_next(nad, c, NULL, NULL)) {
		if (++n > 8)
			break;
		for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
			if (strcmp(verbs[i].ns, ns) == 0 && is_ns(nad, c, ns) &&
			    strcmp(verbs[i].name, nad_name(nad, c)) == 0) {
				vb = &verbs[i];
				req->elem = c;
				break;
			}
	}
	if (vb == NULL)
		FAIL("bad-request", NULL, "no pubsub request found");
	if (vb->set != 2 && vb->set != set)
		FAIL("bad-request", NULL, set ? "this request is an iq get" : "this request is an iq set");
	req->verb = vb->verb;
	req->node = nad_attr(nad, req->elem, NULL, "node");
	if (req->node != NULL && (req->node[0] == '\0' || strlen(req->node) > PS_NODE_MAX))
		FAIL("not-acceptable", NULL, "a node name is empty or longer than 256 bytes");
	req->jid = nad_attr(nad, req->elem, NULL, "jid");
	req->subid = nad_attr(nad, req->elem, NULL, "subid");
	if ((comp = companion(req->verb)) != NULL &&
	    (c = nad_child(nad, ps, PS_NS, comp)) != NAD_NONE &&
	    (x = nad_child(nad, c, PS_NS_XDATA, "x")) != NAD_NONE)
		req->form = x;
	if ((req->verb == PS_V_OPTIONS || req->verb == PS_V_CONFIGURE) && set) {
		req->form = nad_child(nad, req->elem, PS_NS_XDATA, "x");
		if (req->form == NAD_NONE)
			FAIL("bad-request", NULL, "no data form");
	}
	switch (req->verb) {
	case PS_V_PUBLISH:
	case PS_V_RETRACT:
	case PS_V_ITEMS:
		if (parse_items(nad, req, cond_r, app_r, error_r) < 0)
			return -1;
		break;
	default:
		break;
	}
	if (req->verb == PS_V_PUBLISH && req->nitems > 1)
		FAIL("bad-request", "invalid-payload", "publish one item at a time");
	if (req->verb == PS_V_RETRACT && req->nitems == 0)
		FAIL("bad-request", "item-required", "retract names no item");
	if (req->verb == PS_V_RETRACT) {
		v = nad_attr(nad, req->elem, NULL, "notify");
		req->notify = v != NULL && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
	}
	if (req->verb == PS_V_ITEMS && (v = nad_attr(nad, req->elem, NULL, "max_items")) != NULL) {
		errno = 0;
		req->max_items = v[0] >= '0' && v[0] <= '9' ? strtol(v, &end, 10) : -1;
		if (req->max_items < 0 || errno != 0 || *end != '\0' || req->max_items > INT_MAX)
			FAIL("bad-request", NULL, "max_items is not a non-negative integer");
	}
	if (req->node == NULL && req->verb != PS_V_CREATE && req->verb != PS_V_SUBSCRIPTIONS &&
	    req->verb != PS_V_AFFILIATIONS && req->verb != PS_V_DEFAULT)
		FAIL("bad-request", "nodeid-required", "this request needs a node");
	return 0;
}

/* ---- data forms ---- */

const char *ps_form_type(const struct nad *nad, int x)
{
	return xdata_value(nad, x, "FORM_TYPE", PS_FORM_FIELDS_MAX);
}

static int parse_max_items(const char *v, int limit, int *out)
{
	char *end;
	long n;

	if (strcmp(v, "max") == 0) {
		*out = limit;
		return 0;
	}
	if (v[0] < '1' || v[0] > '9')
		return -1;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || *end != '\0' || n > limit)
		return -1;
	*out = (int)n;
	return 0;
}

enum fkind { K_TEXT, K_BOOL, K_MAX, K_ACCESS, K_PUBLISH, K_GROUPS };

struct cfield {
	const char *var, *label;
	enum fkind kind;
	size_t off;
};

#define C(f) offsetof(struct ps_node_config, f)
static const struct cfield cfields[] = {
	{ "pubsub#title", "Title", K_TEXT, C(title) },
	{ "pubsub#max_items", "Most items kept", K_MAX, C(max_items) },
	{ "pubsub#persist_items", "Keep items", K_BOOL, C(persist_items) },
	{ "pubsub#access_model", "Who may subscribe and retrieve items", K_ACCESS, C(access) },
	{ "pubsub#roster_groups_allowed", "Roster groups allowed", K_GROUPS, C(groups) },
	{ "pubsub#publish_model", "Who may publish", K_PUBLISH, C(publish) },
	{ "pubsub#deliver_payloads", "Deliver payloads with notifications", K_BOOL,
	  C(deliver_payloads) },
	{ "pubsub#deliver_notifications", "Deliver notifications", K_BOOL,
	  C(deliver_notifications) },
	{ "pubsub#notify_retract", "Notify when items are retracted", K_BOOL,
	  C(notify_retract) },
	{ "pubsub#notify_delete", "Notify when the node is deleted", K_BOOL, C(notify_delete) },
	{ "pubsub#notify_config", "Notify when the configuration changes", K_BOOL,
	  C(notify_config) },
};
#undef C
#define NCFIELDS (sizeof(cfields) / sizeof(cfields[0]))

static const struct cfield *cfield_find(const char *var)
{
	size_t i;

	for (i = 0; i < NCFIELDS; i++)
		if (strcmp(cfields[i].var, var) == 0)
			return &cfields[i];
	return NULL;
}

static int cfield_set(const struct cfield *f, const struct nad *nad, int field,
		      struct ps_node_config *cfg, int limit)
{
	char *base = (char *)cfg + f->off;
	const char *v = xdata_field_value(nad, field);
	int n, val;

	switch (f->kind) {
	case K_TEXT:
		if (strlen(v) > PS_TITLE_MAX)
			return -1;
		free(*(char **)(void *)base);
		*(char **)(void *)base = xstrdup(v);
		return 0;
	case K_BOOL:
		return xdata_parse_bool(v, (int *)(void *)base);
	case K_MAX:
		return parse_max_items(v, limit, (int *)(void *)base);
	case K_ACCESS:
		if ((n = ps_access_parse(v)) < 0)
			return -1;
		cfg->access = (enum ps_access)n;
		return 0;
	case K_PUBLISH:
		if ((n = ps_publish_model_parse(v)) < 0)
			return -1;
		cfg->publish = (enum ps_publish_model)n;
		return 0;
	case K_GROUPS:
		for (n = 0; n < cfg->ngroups; n++)
			free(cfg->groups[n]);
		cfg->ngroups = 0;
		for (val = nad_child(nad, field, PS_NS_XDATA, "value"); val != NAD_NONE;
		     val = nad_next(nad, val, PS_NS_XDATA, "value")) {
			v = nad_text(nad, val, NULL);
			if (cfg->ngroups == PS_ROSTER_GROUPS_MAX || strlen(v) > PS_TITLE_MAX)
				return -1;
			cfg->groups[cfg->ngroups++] = xstrdup(v);
		}
		return 0;
	}
	return -1;
}

int ps_config_apply(const struct nad *nad, int x, struct ps_node_config *cfg,
		    int max_items_limit, const char **error_r)
{
	static char err[160];
	struct ps_node_config tmp;
	const struct cfield *f;
	const char *type = nad_attr(nad, x, NULL, "type"), *var, *ft = ps_form_type(nad, x);
	int field, n = 0;

	if (type == NULL || strcmp(type, "submit") != 0) {
		*error_r = "the form is not of type submit";
		return -1;
	}
	if (ft != NULL && strcmp(ft, PS_NS_NODE_CONFIG) != 0 &&
	    strcmp(ft, PS_NS_PUBLISH_OPTIONS) != 0) {
		*error_r = "the form is not a pubsub#node_config form";
		return -1;
	}
	memset(&tmp, 0, sizeof(tmp));
	ps_config_copy(&tmp, cfg);
	for (field = nad_child(nad, x, PS_NS_XDATA, "field"); field != NAD_NONE;
	     field = nad_next(nad, field, PS_NS_XDATA, "field")) {
		if (++n > PS_FORM_FIELDS_MAX) {
			*error_r = "the form has too many fields (limit form-fields, 64)";
			goto err;
		}
		var = nad_attr(nad, field, NULL, "var");
		if (var == NULL || (f = cfield_find(var)) == NULL)
			continue;
		if (cfield_set(f, nad, field, &tmp, max_items_limit) < 0) {
			if (f->kind == K_MAX)
				snprintf(err, sizeof(err), "bad value for field %s (a number from 1 "
					 "to the limit items-per-node, %d, or max)", f->var,
					 max_items_limit);
			else
				snprintf(err, sizeof(err), "bad value for field %s", f->var);
			*error_r = err;
			goto err;
		}
	}
	ps_config_copy(cfg, &tmp);
	ps_config_clear(&tmp);
	return 0;
err:
	ps_config_clear(&tmp);
	return -1;
}

/* The text of a field's value: "1"/"0", a number or a name. */
static void cfield_text(const struct cfield *f, const struct ps_node_config *cfg, char *buf,
			size_t size)
{
	const char *base = (const char *)cfg + f->off;

	switch (f->kind) {
	case K_TEXT: snprintf(buf, size, "%s", *(char *const *)(const void *)base); break;
	case K_BOOL: snprintf(buf, size, "%d", *(const int *)(const void *)base ? 1 : 0); break;
	case K_MAX: snprintf(buf, size, "%d", cfg->max_items); break;
	case K_ACCESS: snprintf(buf, size, "%s", ps_access_name(cfg->access)); break;
	case K_PUBLISH: snprintf(buf, size, "%s", ps_publish_model_name(cfg->publish)); break;
	case K_GROUPS: buf[0] = '\0'; break;
	}
}

void ps_config_form(struct nad *nad, int parent, const struct ps_node_config *cfg,
		    const char *type)
{
	static const char *const ftypes[] = {
		[K_TEXT] = "text-single", [K_BOOL] = "boolean", [K_MAX] = "text-single",
		[K_ACCESS] = "list-single", [K_PUBLISH] = "list-single",
		[K_GROUPS] = "list-multi",
	};
	int x = xdata_form_new(nad, parent, type, PS_NS_NODE_CONFIG), field, i;
	char text[PS_TITLE_MAX + 1];
	size_t k;

	for (k = 0; k < NCFIELDS; k++) {
		const struct cfield *f = &cfields[k];

		field = xdata_add_field(nad, x, f->var, ftypes[f->kind], f->label);
		if (f->kind == K_GROUPS) {
			for (i = 0; i < cfg->ngroups; i++)
				xdata_add_value(nad, field, cfg->groups[i]);
			continue;
		}
		cfield_text(f, cfg, text, sizeof(text));
		xdata_add_value(nad, field, text);
		for (i = 0; f->kind == K_ACCESS && ps_access_name((enum ps_access)i) != NULL; i++)
			xdata_add_option(nad, field, NULL, ps_access_name((enum ps_access)i));
		for (i = 0; f->kind == K_PUBLISH &&
		     ps_publish_model_name((enum ps_publish_model)i) != NULL; i++)
			xdata_add_option(nad, field, NULL,
					 ps_publish_model_name((enum ps_publish_model)i));
	}
}

int ps_publish_options_check(const struct nad *nad, int x, const struct ps_node_config *cfg,
			     int max_items_limit, const char **error_r)
{
	static char err[160];
	struct ps_node_config want;
	const struct cfield *f;
	const char *var;
	char have[PS_TITLE_MAX + 1], asked[PS_TITLE_MAX + 1];
	int field, n = 0, rc = 0;

	memset(&want, 0, sizeof(want));
	ps_config_copy(&want, cfg);
	for (field = nad_child(nad, x, PS_NS_XDATA, "field"); field != NAD_NONE && rc == 0;
	     field = nad_next(nad, field, PS_NS_XDATA, "field")) {
		if (++n > PS_FORM_FIELDS_MAX) {
			*error_r = "the form has too many fields (limit form-fields, 64)";
			rc = -1;
			break;
		}
		var = nad_attr(nad, field, NULL, "var");
		if (var == NULL || (f = cfield_find(var)) == NULL || f->kind == K_GROUPS)
			continue;
		cfield_text(f, cfg, have, sizeof(have));
		if (cfield_set(f, nad, field, &want, max_items_limit) == 0)
			cfield_text(f, &want, asked, sizeof(asked));
		else
			asked[0] = '\0', have[0] = '\1';
		if (strcmp(have, asked) != 0) {
			snprintf(err, sizeof(err), "publish-options: %s does not match the node's "
				 "configuration", f->var);
			*error_r = err;
			rc = -1;
		}
	}
	ps_config_clear(&want);
	return rc;
}

int ps_subopts_apply(const struct nad *nad, int x, struct ps_sub_options *opt,
		     const char **error_r)
{
	struct ps_sub_options tmp = *opt;
	const char *type = nad_attr(nad, x, NULL, "type"), *v;

	if (type == NULL || strcmp(type, "submit") != 0) {
		*error_r = "the form is not of type submit";
		return -1;
	}
	if ((v = xdata_value(nad, x, "pubsub#deliver", PS_FORM_FIELDS_MAX)) != NULL &&
	    xdata_parse_bool(v, &tmp.deliver) < 0) {
		*error_r = "bad value for field pubsub#deliver";
		return -1;
	}
	if ((v = xdata_value(nad, x, "pubsub#include_body", PS_FORM_FIELDS_MAX)) != NULL &&
	    xdata_parse_bool(v, &tmp.include_body) < 0) {
		*error_r = "bad value for field pubsub#include_body";
		return -1;
	}
	*opt = tmp;
	return 0;
}

void ps_subopts_form(struct nad *nad, int parent, const struct ps_sub_options *opt)
{
	int x = xdata_form_new(nad, parent, "form", PS_NS_SUB_OPTIONS);

	xdata_add_value(nad, xdata_add_field(nad, x, "pubsub#deliver", "boolean",
				 "Receive notifications"), opt->deliver ? "1" : "0");
	xdata_add_value(nad, xdata_add_field(nad, x, "pubsub#include_body", "boolean",
				 "Receive a message body with notifications"),
		  opt->include_body ? "1" : "0");
}
