/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mod_roster_publish: jabberd2's published (shared) roster. With
 * <user><template><publish> in sm.xml, every time a user is loaded
 * (user-load, after roster) the rows of the "published-roster" table are
 * merged into the user's roster; without it the module does nothing.
 *
 * The rows read are those whose owner (collection-owner) is the fetch
 * key: publish.fetch-key.fixed's text, else the user's bare JID with
 * fetch-key.user, else the user's domain with fetch-key.domain, else ""
 * (jabberd2's tables are filled by hand or by LDAP tools; row columns
 * jid, group, name, to, from, ask). For each row, the user's own JID
 * skipped:
 *  - a contact not on the roster is added with the row's name,
 *    subscription and ask, in the row's group; a row without a group (or
 *    whose group id has no name, with mapped-groups) is skipped, as in
 *    jabberd2;
 *  - with check-remove-domain (empty: every contact; else the contacts of
 *    that domain), a contact that is not a user of this sm (no "active"
 *    row) is not added, and removed if it is on the roster;
 *  - a contact already there gets the row's subscription with
 *    fix-subscriptions, its name with override-names, and with
 *    force-groups its group (the item's groups starting with
 *    force-groups.prefix or ending with force-groups.suffix are dropped
 *    first, the row's group kept).
 * mapped-groups.map-groups: the row's group is an id, its name the
 * "groupname" of the published-roster-groups row owned by that id.
 * active-cache-ttl / mapped-groups.group-cache-ttl keep those two
 * lookups that many seconds (0: no cache); each cache is bounded by
 * RP_CACHE_MAX entries and starts again empty when full.
 *
 * Flags take jabberd2's reading: an empty element is on, a number is on
 * when not 0. Changes are stored at once (raising the roster version);
 * no roster push is sent, as the load comes before the session starts.
 */
#include "config.h"
#include "sm/sm.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "storage/storage.h"
#include "util/buf.h"
#include "util/config_file.h"
#include "util/jid.h"
#include "util/log.h"
#include "util/xhash.h"
#include "sm/roster.h"

#define RP_CACHE_MAX 10000
#define RP_KEY "user.template.publish"

struct rp_cached {
	time_t at;
	char *value;                    /* NULL: known not to be there */
};

struct roster_publish {
	int fix_subs, override_names, map_groups, force_groups;
	const char *fetch_fixed;        /* strings from sm->cfg */
	int fetch_user, fetch_domain;
	const char *remove_domain;      /* NULL: no check; "": every contact */
	const char *prefix, *suffix;
	long active_ttl, group_ttl;
	struct xhash *active, *groups;  /* jid / group id -> struct rp_cached */
};

static void cached_free(void *v)
{
	struct rp_cached *c = v;

	free(c->value);
	free(c);
}

static int flag(struct sm *sm, const char *key)
{
	const char *v = config_get(sm->cfg, key);

	return v != NULL && (v[0] == '\0' || atol(v) != 0);
}

static long number(struct sm *sm, const char *key)
{
	const char *v = config_get(sm->cfg, key);
	long n = v != NULL ? atol(v) : 0;

	return n > 0 ? n : 0;
}

/* A cached lookup: 1 and *value_r if fresh, else 0. */
static int cache_get(struct xhash *h, long ttl, const char *key, const char **value_r)
{
	struct rp_cached *c;

	if (ttl == 0 || (c = xhash_get(h, key)) == NULL)
		return 0;
	if (time(NULL) - c->at >= ttl) {
		cached_free(xhash_remove(h, key));
		return 0;
	}
	*value_r = c->value;
	return 1;
}

static void cache_put(struct xhash *h, long ttl, const char *key, const char *value)
{
	struct rp_cached *c;

	if (ttl == 0)
		return;
	if (xhash_count(h) >= RP_CACHE_MAX)
		xhash_clear(h, cached_free);
	c = xcalloc(1, sizeof(*c));
	c->at = time(NULL);
	c->value = xstrdup_opt(value);
	if ((c = xhash_put(h, key, c)) != NULL)
		cached_free(c);
}

/* Is bare a user of this sm (an "active" row)? */
/* The module's data: per sm, its options and caches (NULL without
 * user.template.publish: the module then does nothing). */
static int rp_slot;

static struct roster_publish *rp_of(const struct sm *sm)
{
	return sm->mod[rp_slot];
}

static int rp_known(struct sm *sm, struct roster_publish *rp, const char *bare)
{
	const char *v, *error;
	int64_t n = 0;

	if (cache_get(rp->active, rp->active_ttl, bare, &v))
		return v != NULL;
	if (storage_count(sm->st, "active", bare, NULL, &n, &error) == STORAGE_ERROR) {
		log_error("sm: roster-publish: %s: %s", bare, error);
		return 1;       /* a storage failure removes nobody */
	}
	cache_put(rp->active, rp->active_ttl, bare, n > 0 ? "1" : NULL);
	return n > 0;
}

/* The group name of the row (the name mapped from its id with
 * map-groups), or NULL. Owned by the caller. */
static char *rp_group(struct sm *sm, struct roster_publish *rp, const char *id)
{
	struct os *os = NULL;
	const char *v, *error;
	char *name = NULL;

	if (id == NULL)
		return NULL;
	if (!rp->map_groups)
		return xstrdup(id);
	if (cache_get(rp->groups, rp->group_ttl, id, &v))
		return xstrdup_opt(v);
	if (storage_get(sm->st, "published-roster-groups", id, NULL, &os, &error) == STORAGE_OK &&
	    os_object_get_str(os_first(os), "groupname", &v) == 0)
		name = xstrdup(v);
	os_free(&os);
	cache_put(rp->groups, rp->group_ttl, id, name);
	return name;
}

/* force-groups: does the user's group look like a published one? */
static int rp_published_like(const struct roster_publish *rp, const char *g)
{
	size_t len = strlen(g);

	if (rp->prefix != NULL && strncmp(g, rp->prefix, strlen(rp->prefix)) == 0)
		return 1;
	return rp->suffix != NULL && len > strlen(rp->suffix) &&
	       strcmp(g + len - strlen(rp->suffix), rp->suffix) == 0;
}

/* Returns 1 if the item changed. */
static int rp_force_group(const struct roster_publish *rp, struct roster_item *item,
			  const char *group)
{
	int i, j, found = 0, changed = 0;

	for (i = 0; i < item->ngroups; i++) {
		if (strcmp(item->groups[i], group) == 0) {
			found = 1;
			continue;
		}
		if (!rp_published_like(rp, item->groups[i]))
			continue;
		free(item->groups[i]);
		for (j = i; j < item->ngroups - 1; j++)
			item->groups[j] = item->groups[j + 1];
		item->ngroups--;
		i--;
		changed = 1;
	}
	if (!found) {
		roster_item_add_group(item, group);
		changed = 1;
	}
	return changed;
}

static void rp_row(struct user *user, struct roster_publish *rp, const struct os_object *o)
{
	struct sm *sm = user->sm;
	struct roster_item *item;
	const char *s, *error;
	struct jid *jid;
	char *group;
	int to = 0, from = 0, changed = 0, check;
	int64_t ask = 0;

	if (os_object_get_str(o, "jid", &s) < 0 || (jid = jid_new(s, strlen(s), &error)) == NULL)
		return;
	if (strcmp(jid_bare(jid), jid_bare(user->jid)) == 0) {
		jid_free(&jid);
		return;
	}
	check = rp->remove_domain != NULL &&
		(rp->remove_domain[0] == '\0' || strcmp(rp->remove_domain, "1") == 0 ||
		 strcmp(jid_domain(jid), rp->remove_domain) == 0);
	item = roster_get(user, jid_bare(jid));
	if (check && !rp_known(sm, rp, jid_bare(jid))) {
		if (item != NULL) {
			log_debug("sm: roster-publish: %s is no user here; removed from %s",
				  jid_bare(jid), jid_bare(user->jid));
			roster_item_delete(user, item);
		}
		jid_free(&jid);
		return;
	}
	if (os_object_get_str(o, "group", &s) < 0)
		s = NULL;
	group = rp_group(sm, rp, s);
	os_object_get_bool(o, "to", &to);
	os_object_get_bool(o, "from", &from);
	os_object_get_int(o, "ask", &ask);
	if (item == NULL) {
		if (group == NULL) {
			log_error("sm: roster-publish: unknown published group '%s' of %s",
				  s != NULL ? s : "", jid_bare(jid));
			jid_free(&jid);
			return;
		}
		if (roster_full(user))
			log_warnx("sm: roster-publish: roster of %s is full; %s not added",
				  jid_bare(user->jid), jid_bare(jid));
		else
			item = roster_item_new(user, jid);      /* NULL without mod_roster */
		if (item == NULL) {
			free(group);
			jid_free(&jid);
			return;
		}
		if (os_object_get_str(o, "name", &s) == 0)
			item->name = xstrdup(s);
		item->to = to;
		item->from = from;
		item->ask = ask == 1 || ask == 2 ? (int)ask : 0;
		roster_item_add_group(item, group);
		changed = 1;
	} else {
		if (rp->fix_subs && (item->to != to || item->from != from)) {
			item->to = to;
			item->from = from;
			changed = 1;
		}
		if (rp->override_names && os_object_get_str(o, "name", &s) == 0 &&
		    (item->name == NULL || strcmp(item->name, s) != 0)) {
			free(item->name);
			item->name = xstrdup(s);
			changed = 1;
		}
		if (rp->force_groups) {
			if (group == NULL)
				log_error("sm: roster-publish: unknown published group '%s' of %s",
					  s != NULL ? s : "", jid_bare(jid));
			else if (rp_force_group(rp, item, group))
				changed = 1;
		}
	}
	if (changed)
		roster_item_save(user, item);
	free(group);
	jid_free(&jid);
}

static int rp_user_load(struct user *user)
{
	struct sm *sm = user->sm;
	struct roster_publish *rp = rp_of(sm);
	struct os *os = NULL;
	struct os_object *o;
	const char *key, *error;

	if (rp == NULL)
		return 0;
	if (rp->fetch_fixed != NULL)
		key = rp->fetch_fixed;
	else if (rp->fetch_user)
		key = jid_bare(user->jid);
	else if (rp->fetch_domain)
		key = jid_domain(user->jid);
	else
		key = "";
	switch (storage_get(sm->st, "published-roster", key, NULL, &os, &error)) {
	case STORAGE_OK:
		for (o = os_first(os); o != NULL; o = os_next(o))
			rp_row(user, rp, o);
		break;
	case STORAGE_NOT_FOUND:
		break;
	default:
		log_error("sm: roster-publish: %s: %s", jid_bare(user->jid), error);
	}
	os_free(&os);
	return 0;
}

static int rp_init(struct sm *sm, const char *arg)
{
	struct roster_publish *rp;

	(void)arg;
	if (config_get(sm->cfg, RP_KEY) == NULL)
		return 0;
	rp = xcalloc(1, sizeof(*rp));
	rp->fetch_fixed = config_get(sm->cfg, RP_KEY ".fetch-key.fixed");
	rp->fetch_user = config_get(sm->cfg, RP_KEY ".fetch-key.user") != NULL;
	rp->fetch_domain = config_get(sm->cfg, RP_KEY ".fetch-key.domain") != NULL;
	rp->remove_domain = config_get(sm->cfg, RP_KEY ".check-remove-domain");
	rp->fix_subs = flag(sm, RP_KEY ".fix-subscriptions");
	rp->override_names = flag(sm, RP_KEY ".override-names");
	rp->map_groups = flag(sm, RP_KEY ".mapped-groups.map-groups");
	rp->active_ttl = number(sm, RP_KEY ".active-cache-ttl");
	rp->group_ttl = number(sm, RP_KEY ".mapped-groups.group-cache-ttl");
	rp->force_groups = config_get(sm->cfg, RP_KEY ".force-groups") != NULL;
	rp->prefix = config_get(sm->cfg, RP_KEY ".force-groups.prefix");
	rp->suffix = config_get(sm->cfg, RP_KEY ".force-groups.suffix");
	if (rp->prefix != NULL && rp->prefix[0] == '\0')
		rp->prefix = NULL;
	if (rp->suffix != NULL && rp->suffix[0] == '\0')
		rp->suffix = NULL;
	rp->active = xhash_new();
	rp->groups = xhash_new();
	sm->mod[rp_slot] = rp;
	return 0;
}

static void rp_fini(struct sm *sm)
{
	struct roster_publish *rp = rp_of(sm);

	if (rp == NULL)
		return;
	xhash_clear(rp->active, cached_free);
	xhash_free(&rp->active);
	xhash_clear(rp->groups, cached_free);
	xhash_free(&rp->groups);
	free(rp);
	sm->mod[rp_slot] = NULL;
}

const struct sm_module sm_module_roster_publish = {
	.name = "roster-publish",
	.abi = SM_MODULE_ABI,
	.init = rp_init,
	.fini = rp_fini,
	.slot = &rp_slot,
	.user_load = rp_user_load,
};
