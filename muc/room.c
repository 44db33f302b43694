/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * room.c: a room's configuration, affiliations, subject and history (see
 * room.h). Pure data: no I/O, so the unit tests drive it directly.
 */
#include "config.h"
#include "muc/room.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/jid.h"
#include "util/nad.h"
#include "util/xhash.h"

static const char *const affil_names[] = {
	[MUC_AFFIL_OUTCAST] = "outcast",
	[MUC_AFFIL_NONE] = "none",
	[MUC_AFFIL_MEMBER] = "member",
	[MUC_AFFIL_ADMIN] = "admin",
	[MUC_AFFIL_OWNER] = "owner",
};

static const char *const role_names[] = {
	[MUC_ROLE_NONE] = "none",
	[MUC_ROLE_VISITOR] = "visitor",
	[MUC_ROLE_PARTICIPANT] = "participant",
	[MUC_ROLE_MODERATOR] = "moderator",
};

static int name_index(const char *const *names, int n, const char *name)
{
	int i;

	if (name == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return -1;
}

const char *muc_affil_name(enum muc_affil a)
{
	return (unsigned)a <= MUC_AFFIL_OWNER ? affil_names[a] : NULL;
}

int muc_affil_parse(const char *name)
{
	return name_index(affil_names, MUC_AFFIL_OWNER + 1, name);
}

const char *muc_role_name(enum muc_role r)
{
	return (unsigned)r <= MUC_ROLE_MODERATOR ? role_names[r] : NULL;
}

int muc_role_parse(const char *name)
{
	return name_index(role_names, MUC_ROLE_MODERATOR + 1, name);
}

/* ---- configuration ---- */

void room_config_init(struct room_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->name = xstrdup("");
	cfg->desc = xstrdup("");
	cfg->password = xstrdup("");
	cfg->public_room = 1;
	cfg->allow_pm = MUC_PM_ANYONE;
	cfg->max_history = 20;
}

void room_config_clear(struct room_config *cfg)
{
	free(cfg->name);
	free(cfg->desc);
	free(cfg->password);
	cfg->name = cfg->desc = cfg->password = NULL;
}

void room_config_copy(struct room_config *dst, const struct room_config *src)
{
	room_config_clear(dst);
	*dst = *src;
	dst->name = xstrdup(src->name);
	dst->desc = xstrdup(src->desc);
	dst->password = xstrdup(src->password);
}

/* ---- the room ---- */

struct room *room_new(const struct jid *jid, size_t history_max)
{
	struct room *room = xcalloc(1, sizeof(*room));

	room->jid = jid_copy_bare(jid);
	room_config_init(&room->cfg);
	room->affils = xhash_new();
	room->nicks = xhash_new();
	room->nick_owners = xhash_new();
	list_init(&room->history);
	room->history_max = history_max;
	return room;
}

static void affil_free(void *p)
{
	struct room_affil *ra = p;

	free(ra->reason);
	free(ra);
}

static void history_drop_oldest(struct room *room)
{
	struct room_msg *m = LIST_ENTRY(room->history.next, struct room_msg, link);

	list_remove(&m->link);
	nad_free(&m->nad);
	free(m);
	room->history_len--;
}

void room_free(struct room **roomp)
{
	struct room *room = *roomp;

	if (room == NULL)
		return;
	while (room->history_len > 0)
		history_drop_oldest(room);
	xhash_clear(room->affils, affil_free);
	xhash_free(&room->affils);
	xhash_clear(room->nicks, free);
	xhash_free(&room->nicks);
	xhash_clear(room->nick_owners, free);
	xhash_free(&room->nick_owners);
	room_config_clear(&room->cfg);
	free(room->subject);
	free(room->subject_nick);
	jid_free(&room->jid);
	free(room);
	*roomp = NULL;
}

enum muc_affil room_affil_str(const struct room *room, const char *bare)
{
	const struct room_affil *ra = xhash_get(room->affils, bare);

	return ra != NULL ? ra->affil : MUC_AFFIL_NONE;
}

enum muc_affil room_affil(const struct room *room, const struct jid *jid)
{
	return room_affil_str(room, jid_bare(jid));
}

void room_set_affil(struct room *room, const char *bare, enum muc_affil a,
		    const char *reason)
{
	struct room_affil *ra;

	room->dirty = 1;
	if (a == MUC_AFFIL_NONE) {
		ra = xhash_remove(room->affils, bare);
		if (ra != NULL)
			affil_free(ra);
		return;
	}
	ra = xhash_get(room->affils, bare);
	if (ra == NULL) {
		ra = xcalloc(1, sizeof(*ra));
		xhash_put(room->affils, bare, ra);
	}
	ra->affil = a;
	free(ra->reason);
	ra->reason = reason != NULL && reason[0] != '\0' ? xstrdup(reason) : NULL;
}

size_t room_affil_count(const struct room *room, enum muc_affil a)
{
	struct xhash_iter it;
	void *v;
	size_t n = 0;

	xhash_iter_init(room->affils, &it);
	while (xhash_iter_next(&it, NULL, &v))
		n += ((struct room_affil *)v)->affil == a;
	return n;
}

enum muc_role room_default_role(const struct room *room, enum muc_affil a)
{
	switch (a) {
	case MUC_AFFIL_OWNER:
	case MUC_AFFIL_ADMIN:
		return MUC_ROLE_MODERATOR;
	case MUC_AFFIL_MEMBER:
		return MUC_ROLE_PARTICIPANT;
	case MUC_AFFIL_NONE:
		return room->cfg.moderated ? MUC_ROLE_VISITOR : MUC_ROLE_PARTICIPANT;
	case MUC_AFFIL_OUTCAST:
		break;
	}
	return MUC_ROLE_NONE;
}

void room_set_subject(struct room *room, const char *subject, const char *nick)
{
	free(room->subject);
	free(room->subject_nick);
	room->subject = xstrdup(subject);
	room->subject_nick = xstrdup(nick != NULL ? nick : "");
	room->dirty = 1;
}

/* ---- history ---- */

void room_history_add(struct room *room, struct nad *msg, time_t now)
{
	struct room_msg *m;
	size_t len = 0;
	char *xml;

	if (room->history_max == 0) {
		nad_free(&msg);
		return;
	}
	xml = nad_to_string(msg, &len);
	free(xml);
	m = xcalloc(1, sizeof(*m));
	m->nad = msg;
	m->when = now;
	m->chars = len;
	list_add_tail(&room->history, &m->link);
	room->history_len++;
	while (room->history_len > room->history_max)
		history_drop_oldest(room);
}

const struct room_msg *room_history_first(const struct room *room,
					  const struct room_history_req *req, time_t now)
{
	const struct list_node *n;
	const struct room_msg *first = NULL, *m;
	long stanzas = 0;
	size_t chars = 0;

	for (n = room->history.prev; n != &room->history; n = n->prev) {
		m = LIST_ENTRY(n, const struct room_msg, link);
		if (req->maxstanzas >= 0 && stanzas + 1 > req->maxstanzas)
			break;
		if (req->maxchars >= 0 && chars + m->chars > (size_t)req->maxchars)
			break;
		if (req->seconds >= 0 && now - m->when > req->seconds)
			break;
		if (req->since != (time_t)-1 && m->when < req->since)
			break;
		stanzas++;
		chars += m->chars;
		first = m;
	}
	return first;
}

/* ---- registered nicks ---- */

const char *room_nick_of(const struct room *room, const char *bare)
{
	return xhash_get(room->nicks, bare);
}

const char *room_nick_owner(const struct room *room, const char *nick)
{
	return xhash_get(room->nick_owners, nick);
}

int room_nick_register(struct room *room, const char *bare, const char *nick)
{
	const char *owner = room_nick_owner(room, nick);

	if (owner != NULL)
		return strcmp(owner, bare) == 0 ? 0 : -1;
	if (room_nick_of(room, bare) == NULL &&
	    xhash_count(room->nicks) >= ROOM_NICKS_MAX)
		return -1;
	room_nick_unregister(room, bare);
	xhash_put(room->nicks, bare, xstrdup(nick));
	xhash_put(room->nick_owners, nick, xstrdup(bare));
	room->dirty = 1;
	return 0;
}

void room_nick_unregister(struct room *room, const char *bare)
{
	char *nick = xhash_remove(room->nicks, bare);

	if (nick == NULL)
		return;
	free(xhash_remove(room->nick_owners, nick));
	free(nick);
	room->dirty = 1;
}
