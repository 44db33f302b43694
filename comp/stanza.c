/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * stanza.c: building, answering and routing stanzas for the component
 * daemons (see stanza.h).
 */
#include "config.h"
#include "comp/stanza.h"

#include <string.h>

#include "comp/comp.h"
#include "sx/sx.h"
#include "util/jid.h"
#include "util/nad.h"

struct nad *comp_stanza_new(const char *name, const char *type, const char *to,
			    const char *from)
{
	struct nad *nad = nad_new();

	nad_elem_add(nad, NAD_NONE, SX_NS_CLIENT, name);
	if (type != NULL)
		nad_attr_set(nad, 0, NULL, "type", type);
	nad_attr_set(nad, 0, NULL, "to", to);
	nad_attr_set(nad, 0, NULL, "from", from);
	return nad;
}

const char *comp_stanza_error_type(const char *cond)
{
	static const struct { const char *cond, *type; } types[] = {
		{ "bad-request", "modify" }, { "jid-malformed", "modify" },
		{ "not-acceptable", "modify" }, { "policy-violation", "modify" },
		{ "forbidden", "auth" }, { "not-authorized", "auth" },
		{ "registration-required", "auth" }, { "resource-constraint", "wait" },
	};
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(types[i].cond, cond) == 0)
			return types[i].type;
	return "cancel";
}

struct nad *comp_stanza_error(const struct nad *stanza, const char *cond, const char *text,
			      const char *app_ns, const char *app)
{
	const char *type = nad_attr(stanza, 0, NULL, "type");
	struct nad *nad;
	int err, e;

	if (type != NULL && (strcmp(type, "error") == 0 || strcmp(type, "result") == 0))
		return NULL;
	nad = nad_copy(stanza);
	nad_attr_set(nad, 0, NULL, "to", nad_attr(stanza, 0, NULL, "from"));
	nad_attr_set(nad, 0, NULL, "from", nad_attr(stanza, 0, NULL, "to"));
	nad_attr_set(nad, 0, NULL, "type", "error");
	err = nad_elem_add(nad, 0, SX_NS_CLIENT, "error");
	nad_attr_set(nad, err, NULL, "type", comp_stanza_error_type(cond));
	nad_elem_add(nad, err, SX_NS_STANZA_ERRORS, cond);
	if (app != NULL)
		nad_elem_add(nad, err, app_ns, app);
	if (text != NULL) {
		e = nad_elem_add(nad, err, SX_NS_STANZA_ERRORS, "text");
		nad_text_append(nad, e, text, strlen(text));
	}
	return nad;
}

struct nad *comp_stanza_from_route(struct nad *route)
{
	struct nad *stanza = NULL;
	int payload;

	if (strcmp(nad_name(route, 0), "route") == 0 &&
	    nad_attr(route, 0, NULL, "error") == NULL &&
	    nad_attr(route, 0, NULL, "type") == NULL &&
	    (payload = nad_child(route, 0, NULL, NULL)) != NAD_NONE &&
	    nad_ns(route, payload) != NULL && strcmp(nad_ns(route, payload), SX_NS_CLIENT) == 0)
		stanza = nad_extract(route, payload);
	nad_free(&route);
	return stanza;
}

/* The domain of a JID string, into buf. */
static const char *domain_of(const char *jid, char *buf, size_t size)
{
	const char *at, *slash;
	size_t len;

	if (jid == NULL)
		return NULL;
	slash = strchr(jid, '/');
	at = strchr(jid, '@');
	if (at != NULL && (slash == NULL || at < slash))
		jid = at + 1;
	len = slash != NULL && slash > jid ? (size_t)(slash - jid) : strlen(jid);
	if (len >= size)
		return NULL;
	memcpy(buf, jid, len);
	buf[len] = '\0';
	return buf;
}

void comp_stanza_route(struct comp *comp, struct nad *stanza)
{
	char to[JID_PART_MAX + 1], from[JID_PART_MAX + 1];
	const char *t = domain_of(nad_attr(stanza, 0, NULL, "to"), to, sizeof(to));
	const char *f = domain_of(nad_attr(stanza, 0, NULL, "from"), from, sizeof(from));

	if (t != NULL && f != NULL)
		comp_route(comp, t, f, stanza, 0);
	nad_free(&stanza);
}
