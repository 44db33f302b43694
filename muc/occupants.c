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

static struct occupant_session *session_new(struct occupant *o, const struct jid *real)
{
	struct occupant_session *s = xcalloc(1, sizeof(*s));

	s->real = jid_copy(real);
	list_add_tail(&o->sessions, &s->link);
	o->nsessions++;
	return s;
}

static void session_free(struct occupant *o, struct occupant_session *s)
{
	list_remove(&s->link);
	o->nsessions--;
	jid_free(&s->real);
	free(s);
}

static void occupant_free(struct occupant *o)
{
	struct occupant_session *s, *tmp;

	LIST_FOREACH_SAFE(s, tmp, &o->sessions, struct occupant_session, link)
		session_free(o, s);
	free(o->nick);
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
	list_init(&o->sessions);
	o->real = session_new(o, real)->real;
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

int occupants_add_session(struct occupants *occ, struct occupant *o, const struct jid *real)
{
	if (xhash_get(occ->by_real, jid_full(real)) != NULL)
		return -1;
	xhash_put(occ->by_real, jid_full(session_new(o, real)->real), o);
	return 0;
}

int occupants_remove_session(struct occupants *occ, struct occupant *o,
			     const struct jid *real)
{
	struct occupant_session *s;

	if (o->nsessions < 2)
		return -1;
	OCCUPANT_SESSIONS_FOREACH(s, o)
		if (jid_equal(s->real, real))
			break;
	if (&s->link == &o->sessions)
		return -1;
	xhash_remove(occ->by_real, jid_full(s->real));
	session_free(o, s);
	o->real = LIST_ENTRY(o->sessions.next, struct occupant_session, link)->real;
	return 0;
}

void occupants_remove(struct occupants *occ, struct occupant **op)
{
	struct occupant *o = *op;
	struct occupant_session *s;

	if (o == NULL)
		return;
	xhash_remove(occ->by_nick, o->nick);
	OCCUPANT_SESSIONS_FOREACH(s, o)
		xhash_remove(occ->by_real, jid_full(s->real));
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
