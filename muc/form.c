/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * form.c: parsers of client input for the muc daemon (see form.h), and
 * the room configuration form it offers.
 */
#include "config.h"
#include "muc/form.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sm/datetime.h"
#include "util/buf.h"
#include "util/jid.h"
#include "util/nad.h"
#include "util/xdata.h"

/* ---- the configuration form ---- */

enum field_kind { F_TEXT, F_BOOL, F_INT, F_WHOIS, F_PM };

struct field {
	const char *var;
	const char *label;
	enum field_kind kind;
	size_t offset;              /* into struct room_config */
};

#define C(f) offsetof(struct room_config, f)
static const struct field fields[] = {
	{ "muc#roomconfig_roomname", "Name", F_TEXT, C(name) },
	{ "muc#roomconfig_roomdesc", "Description", F_TEXT, C(desc) },
	{ "muc#roomconfig_persistentroom", "Persistent room", F_BOOL, C(persistent) },
	{ "muc#roomconfig_publicroom", "Listed in the room directory", F_BOOL, C(public_room) },
	{ "muc#roomconfig_membersonly", "Members only", F_BOOL, C(members_only) },
	{ "muc#roomconfig_moderatedroom", "Moderated", F_BOOL, C(moderated) },
	{ "muc#roomconfig_passwordprotectedroom", "Password required", F_BOOL,
	  C(password_protected) },
	{ "muc#roomconfig_roomsecret", "Password", F_TEXT, C(password) },
	{ "muc#roomconfig_whois", "Who may see real JIDs", F_WHOIS, C(nonanonymous) },
	{ "muc#roomconfig_changesubject", "Occupants may change the subject", F_BOOL,
	  C(change_subject) },
	{ "muc#roomconfig_allowinvites", "Occupants may invite", F_BOOL, C(allow_invites) },
	/* ours (x-): in a members-only room, registering a nick
	 * (jabber:iq:register) makes a non-member a member */
	{ "x-muc#roomconfig_registration", "Members-only: registering makes a member",
	  F_BOOL, C(open_registration) },
	{ "muc#roomconfig_allowpm", "Who may send private messages", F_PM, C(allow_pm) },
	{ "muc#roomconfig_maxusers", "Most occupants", F_INT, C(max_users) },
	{ "muc#maxhistoryfetch", "History sent on join (messages)", F_INT, C(max_history) },
};
#undef C
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

/* Longest text value we keep (name, description, password). */
#define MUC_TEXT_MAX 1024

static const char *const pm_names[] = { "anyone", "participants", "moderators", "none" };

static const struct field *field_find(const char *var)
{
	size_t i;

	for (i = 0; i < NFIELDS; i++)
		if (strcmp(fields[i].var, var) == 0)
			return &fields[i];
	return NULL;
}

static int parse_uint(const char *v, long max, long *out)
{
	char *end;
	long n;

	if (v[0] < '0' || v[0] > '9')
		return -1;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || *end != '\0' || n > max)
		return -1;
	*out = n;
	return 0;
}

/* Store one field into cfg; -1 if the value is not one it allows. */
static int field_set(const struct field *f, const char *v, struct room_config *cfg,
		     int max_users_limit)
{
	char *base = (char *)cfg + f->offset;
	long n;
	size_t i;

	switch (f->kind) {
	case F_TEXT:
		if (strlen(v) > MUC_TEXT_MAX)
			return -1;
		free(*(char **)(void *)base);
		*(char **)(void *)base = xstrdup(v);
		return 0;
	case F_BOOL:
		return xdata_parse_bool(v, (int *)(void *)base);
	case F_INT:
		if (strcmp(v, "none") == 0)
			v = "0";
		if (parse_uint(v, INT_MAX, &n) < 0)
			return -1;
		if (strcmp(f->var, "muc#roomconfig_maxusers") == 0 &&
		    max_users_limit > 0 && n > max_users_limit)
			return -1;
		*(int *)(void *)base = (int)n;
		return 0;
	case F_WHOIS:
		if (strcmp(v, "anyone") != 0 && strcmp(v, "moderators") != 0)
			return -1;
		*(int *)(void *)base = strcmp(v, "anyone") == 0;
		return 0;
	case F_PM:
		for (i = 0; i < sizeof(pm_names) / sizeof(pm_names[0]); i++)
			if (strcmp(v, pm_names[i]) == 0) {
				*(enum muc_pm *)(void *)base = (enum muc_pm)i;
				return 0;
			}
		return -1;
	}
	return -1;
}

const char *muc_form_value(const struct nad *nad, int x, const char *var)
{
	return xdata_value(nad, x, var, MUC_FORM_FIELDS_MAX);
}

int muc_form_is_cancel(const struct nad *nad, int x)
{
	return xdata_is_type(nad, x, "cancel");
}

int muc_form_apply(const struct nad *nad, int x, struct room_config *cfg,
		   int max_users_limit, const char **error_r)
{
	static char err[160];
	struct room_config tmp;
	const struct field *f;
	const char *type = nad_attr(nad, x, NULL, "type"), *var;
	int field, n = 0;

	if (type == NULL || strcmp(type, "submit") != 0) {
		*error_r = "the form is not of type submit";
		return -1;
	}
	memset(&tmp, 0, sizeof(tmp));
	room_config_copy(&tmp, cfg);
	for (field = nad_child(nad, x, MUC_NS_XDATA, "field"); field != NAD_NONE;
	     field = nad_next(nad, field, MUC_NS_XDATA, "field")) {
		if (++n > MUC_FORM_FIELDS_MAX) {
			*error_r = "the form has too many fields (limit form-fields, 64)";
			goto err;
		}
		var = nad_attr(nad, field, NULL, "var");
		if (var == NULL || (f = field_find(var)) == NULL)
			continue;
		if (field_set(f, xdata_field_value(nad, field), &tmp, max_users_limit) < 0) {
			snprintf(err, sizeof(err), "bad value for field %s", f->var);
			*error_r = err;
			goto err;
		}
	}
	if (tmp.password_protected && tmp.password[0] == '\0') {
		*error_r = "a password-protected room needs muc#roomconfig_roomsecret";
		goto err;
	}
	room_config_copy(cfg, &tmp);
	room_config_clear(&tmp);
	return 0;
err:
	room_config_clear(&tmp);
	return -1;
}

static void build_field(struct nad *nad, int x, const struct field *f,
			const struct room_config *cfg)
{
	const char *base = (const char *)cfg + f->offset;
	static const char *const types[] = {
		[F_TEXT] = "text-single", [F_BOOL] = "boolean", [F_INT] = "text-single",
		[F_WHOIS] = "list-single", [F_PM] = "list-single",
	};
	char num[32];
	int field = nad_elem_add(nad, x, MUC_NS_XDATA, "field");
	int v;
	size_t i;

	nad_attr_set(nad, field, NULL, "var", f->var);
	nad_attr_set(nad, field, NULL, "label", f->label);
	nad_attr_set(nad, field, NULL, "type",
		     strcmp(f->var, "muc#roomconfig_roomsecret") == 0 ? "text-private"
								      : types[f->kind]);
	switch (f->kind) {
	case F_TEXT:
		xdata_add_value(nad, field, *(char *const *)(const void *)base);
		break;
	case F_BOOL:
		xdata_add_value(nad, field, *(const int *)(const void *)base ? "1" : "0");
		break;
	case F_INT:
		v = *(const int *)(const void *)base;
		snprintf(num, sizeof(num), "%d", v);
		xdata_add_value(nad, field, num);
		break;
	case F_WHOIS:
		xdata_add_value(nad, field, *(const int *)(const void *)base ? "anyone" : "moderators");
		xdata_add_option(nad, field, "Moderators only", "moderators");
		xdata_add_option(nad, field, "Anyone", "anyone");
		break;
	case F_PM:
		xdata_add_value(nad, field, pm_names[*(const enum muc_pm *)(const void *)base]);
		for (i = 0; i < sizeof(pm_names) / sizeof(pm_names[0]); i++)
			xdata_add_option(nad, field, pm_names[i], pm_names[i]);
		break;
	}
}

void muc_form_build(struct nad *nad, int parent, const struct room_config *cfg,
		    int max_users_limit)
{
	int x = nad_elem_add(nad, parent, MUC_NS_XDATA, "x"), field, e;
	char text[96];
	size_t i;

	nad_attr_set(nad, x, NULL, "type", "form");
	e = nad_elem_add(nad, x, MUC_NS_XDATA, "title");
	nad_text_append(nad, e, "Room configuration", 18);
	e = nad_elem_add(nad, x, MUC_NS_XDATA, "instructions");
	snprintf(text, sizeof(text), "Most occupants allowed by this service: %d",
		 max_users_limit);
	nad_text_append(nad, e, text, strlen(text));
	field = nad_elem_add(nad, x, MUC_NS_XDATA, "field");
	nad_attr_set(nad, field, NULL, "var", "FORM_TYPE");
	nad_attr_set(nad, field, NULL, "type", "hidden");
	xdata_add_value(nad, field, MUC_NS_ROOMCONFIG);
	for (i = 0; i < NFIELDS; i++)
		build_field(nad, x, &fields[i], cfg);
}

/* ---- history request ---- */

int muc_history_parse(const struct nad *nad, int x, struct room_history_req *req,
		      const char **error_r)
{
	static const char *const attrs[] = { "maxchars", "maxstanzas", "seconds" };
	long *dst[] = { &req->maxchars, &req->maxstanzas, &req->seconds };
	const char *v;
	int h;
	size_t i;

	req->maxchars = req->maxstanzas = req->seconds = -1;
	req->since = (time_t)-1;
	if (x == NAD_NONE || (h = nad_child(nad, x, MUC_NS, "history")) == NAD_NONE)
		return 0;
	for (i = 0; i < 3; i++) {
		v = nad_attr(nad, h, NULL, attrs[i]);
		if (v != NULL && parse_uint(v, LONG_MAX, dst[i]) < 0) {
			*error_r = "bad history request: not a non-negative integer";
			return -1;
		}
	}
	v = nad_attr(nad, h, NULL, "since");
	if (v != NULL && (req->since = datetime_parse(v, strlen(v))) == (time_t)-1) {
		*error_r = "bad history request: since is not an XEP-0082 date-time";
		return -1;
	}
	return 0;
}

void muc_datetime_format(time_t t, char *out, size_t size)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- addresses ---- */

int muc_addr_parse(const char *to, struct jid **room_r, struct jid **full_r,
		   const char **error_r)
{
	struct jid *full;

	*room_r = *full_r = NULL;
	if (to == NULL || (full = jid_new(to, strlen(to), error_r)) == NULL) {
		if (to == NULL)
			*error_r = "no address";
		return -1;
	}
	if (strlen(jid_resource(full)) > MUC_NICK_MAX) {
		jid_free(&full);
		*error_r = "the nick is too long (limit 128 bytes)";
		return -1;
	}
	if (jid_node(full)[0] != '\0')
		*room_r = jid_copy_bare(full);
	*full_r = full;
	return 0;
}
