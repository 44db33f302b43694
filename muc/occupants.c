/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * occupants.c: who is in a room (see occupants.h). Pure data.
 */
#include "config.h"
#include "muc/occupants.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/jid.h"
#include "util/nad.h"
#include "util/xhash.h"

struct occupants *occupants_new(void)
{
	struct occupants *occ = xcalloc(1, sizeof(*occ));

	occ->by_nick = xhash_new();
	occ->by_real = xhash_new();
	list_init(&occ->all);
	return occ;
}

static void occupant_free(struct occupant *o)
{
	free(o->nick);
	jid_free(&o->real);
	nad_free(&o->presence);
	free(o);
}

void occupants_free(struct occupants **occp)
{
	struct occupants *occ = *occp;
	struct occupant *o, *tmp;

	if (occ == NULL)
		return;
	OCCUPANTS_FOREACH(o, tmp, occ)
		occupant_free(o);
	xhash_free(&occ->by_nick);
	xhash_free(&occ->by_real);
	free(occ);
	*occp = NULL;
}

struct occupant *occupants_add(struct occupants *occ, const char *nick,
			       const struct jid *real, enum muc_role role,
			       struct nad *presence)
{
	struct occupant *o;

	if (xhash_get(occ->by_nick, nick) != NULL ||
	    xhash_get(occ->by_real, jid_full(real)) != NULL) {
		nad_free(&presence);
		return NULL;
	}
	o = xcalloc(1, sizeof(*o));
	o->nick = xstrdup(nick);
	o->real = jid_copy(real);
	o->role = role;
	o->presence = presence;
	xhash_put(occ->by_nick, o->nick, o);
	xhash_put(occ->by_real, jid_full(o->real), o);
	list_add_tail(&occ->all, &o->link);
	occ->count++;
	return o;
}

struct occupant *occupants_by_nick(const struct occupants *occ, const char *nick)
{
	return xhash_get(occ->by_nick, nick);
}

struct occupant *occupants_by_real(const struct occupants *occ, const struct jid *real)
{
	return xhash_get(occ->by_real, jid_full(real));
}

void occupants_remove(struct occupants *occ, struct occupant **op)
{
	struct occupant *o = *op;

	if (o == NULL)
		return;
	xhash_remove(occ->by_nick, o->nick);
	xhash_remove(occ->by_real, jid_full(o->real));
	list_remove(&o->link);
	occ->count--;
	occupant_free(o);
	*op = NULL;
}

int occupants_rename(struct occupants *occ, struct occupant *o, const char *nick)
{
	struct occupant *other = xhash_get(occ->by_nick, nick);

	if (other == o)
		return 0;
	if (other != NULL)
		return -1;
	xhash_remove(occ->by_nick, o->nick);
	free(o->nick);
	o->nick = xstrdup(nick);
	xhash_put(occ->by_nick, o->nick, o);
	return 0;
}

void occupant_set_presence(struct occupant *o, struct nad *presence)
{
	nad_free(&o->presence);
	o->presence = presence;
}

size_t occupants_count_bare(const struct occupants *occ, const char *bare)
{
	const struct occupant *o;
	size_t n = 0;

	LIST_FOREACH(o, &occ->all, struct occupant, link)
		n += strcmp(jid_bare(o->real), bare) == 0;
	return n;
}
