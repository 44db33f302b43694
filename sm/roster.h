/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * roster.h: the user's roster, as mod_roster keeps it in its user slot,
 * for the modules that read or change it (presence, privacy, disco,
 * iq-last, pep, roster-publish). Without mod_roster loaded a roster is
 * empty: roster_get() finds nothing and roster_item_new() returns NULL.
 */
#ifndef SM_ROSTER_H
#define SM_ROSTER_H

struct jid;
struct pkt;
struct sess;
struct user;
struct xhash;

struct roster_item {
	struct jid *jid;                /* bare */
	char *name;
	int to, from;                   /* subscription */
	int ask;                        /* 0, 1 subscribe, 2 unsubscribe */
	char **groups;
	int ngroups;
};

/* Subscription state jabberd2 has no column for (our roster-state
 * table): the user pre-approved the contact (RFC 6121 3.4), the contact's
 * request waits for the user's answer (3.1.3). */
#define SM_S10N_APPROVED 1
#define SM_S10N_PENDING_IN 2

/* The item of a bare JID, or NULL. */
struct roster_item *roster_get(struct user *user, const char *bare);
/* Every item: bare jid -> struct roster_item, to iterate (not to change);
 * NULL for an empty roster. */
struct xhash *roster_items(struct user *user);
/* 1 if the roster holds sm.xml's roster.maxitems items (0: no limit). */
int roster_full(struct user *user);
/* The session just became available: hand it every contact's request
 * still waiting for the user's answer (RFC 6121 3.1.3). */
void roster_pending_to_session(struct sess *sess);
/* A new item for the bare of jid in the user's roster (memory only);
 * NULL if mod_roster is not loaded. */
struct roster_item *roster_item_new(struct user *user, const struct jid *jid);
void roster_item_add_group(struct roster_item *item, const char *group);
/* In a cluster: 0 if pkt is a roster push (an iq set of jabber:iq:roster)
 * and the session never fetched the roster (RFC 6121 2.1.6: pushes go to
 * interested resources); else 1. */
int roster_push_wanted(struct sess *sess, const struct pkt *pkt);
/* Store the item and its groups; raises the roster version. */
void roster_item_save(struct user *user, struct roster_item *item);
/* Remove the item from storage and the roster, and free it. */
void roster_item_delete(struct user *user, struct roster_item *item);

#endif
