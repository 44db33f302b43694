/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pubsub.h: the pubsub daemon, a publish-subscribe service (XEP-0060)
 * that links to the router as a jabberd2 component (comp/) and serves
 * one domain (pubsub.localhost...).
 *
 * What a node IS (struct ps_node, node.c: configuration, affiliations,
 * items; saved by store.c) is kept apart from WHO LISTENS (struct
 * ps_subs, subs.c). pubsub.c ties them together and speaks the protocol;
 * main.c is the process.
 */
#ifndef PUBSUB_PUBSUB_H
#define PUBSUB_PUBSUB_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "pubsub/node.h"
#include "pubsub/subs.h"

struct comp;
struct config;
struct mio;
struct nad;
struct xhash;
struct ps_store;

/* The limits an operator sets (pubsub.xml <limits>); each, when hit,
 * gives an error whose text names it. */
struct ps_limits {
	int nodes;                  /* nodes in the service */
	int nodes_per_user;         /* nodes one bare JID may create */
	int items_per_node;         /* the highest pubsub#max_items */
	int payload_size;           /* bytes of one item's payload as XML */
	int subscriptions_per_node;
};

struct pubsub {
	struct config *cfg;
	struct mio *mio;
	struct comp *comp;
	char *domain;               /* the service JID, our router name */
	struct xhash *nodes;        /* name -> struct ps_node */
	struct ps_subs *subs;
	struct ps_limits limits;
	int default_max_items;      /* pubsub#max_items of a new node */
	int auto_create;            /* publish to a missing node creates it */
	struct ps_store *store;     /* NULL: nothing persists */
	long long seq;              /* the next item's publication order */
	unsigned long ids;          /* for generated item ids and subids, */
	unsigned int id_salt;       /* with this drawn at start: unique across restarts */
	/*
	 * The roster of `owner` as the sm keeps it, asked about `contact`:
	 * *from_r 1 if the owner's presence goes to contact (subscription
	 * from or both), *group_r 1 if contact is in one of `groups`.
	 * 0, or -1 if unknown (access refused). NULL: nobody is in a roster.
	 */
	int (*roster)(struct pubsub *ps, const char *owner, const char *contact,
		      char *const *groups, int ngroups, int *from_r, int *group_r);
	/* Stanzas out (taken), to the router (main.c) or a test's capture. */
	void (*send)(struct pubsub *ps, struct nad *stanza);
	void *send_ctx;
	time_t (*now)(void);
	/* Counts for the metrics (main.c's render_metrics). */
	uint64_t n_published;       /* items published */
	uint64_t n_notifications;   /* event messages sent to subscribers */
};

/* ---- pubsub.c ---- */

/* A service over the config's <service> and <limits> (no router, no
 * storage: main.c attaches those). NULL with *error_r on a bad config. */
struct pubsub *pubsub_new(struct config *cfg, const char **error_r);
void pubsub_free(struct pubsub **psp);
/* A stanza addressed to our domain (taken). */
void pubsub_stanza(struct pubsub *ps, struct nad *stanza);
/* The routes the router sends (taken). */
void pubsub_router_element(struct pubsub *ps, struct nad *nad);
/* Load nodes, items and subscriptions (after ps->store is set). */
int pubsub_load(struct pubsub *ps, const char **error_r);

/* ---- store.c ---- */

/* Open <storage> (driver sqlite|pgsql), creating our tables if missing.
 * No <storage>: 0 with *store_r NULL (nothing persists). */
int ps_store_open(const struct config *cfg, struct ps_store **store_r, const char **error_r);
void ps_store_close(struct ps_store **storep);
/* A node's configuration, creator and affiliations (replaced). */
int ps_store_node_save(struct ps_store *st, const char *svc, const struct ps_node *node,
		       const char **error_r);
/* A node and everything of it: items, affiliations, subscriptions. */
int ps_store_node_delete(struct ps_store *st, const char *svc, const char *node,
			 const char **error_r);
/* One item (replacing one with its id), then only the newest `keep`. */
int ps_store_item_save(struct ps_store *st, const char *svc, const char *node,
		       const struct ps_item *item, int keep, const char **error_r);
/* One item (id) or, id NULL, every item of the node. */
int ps_store_item_delete(struct ps_store *st, const char *svc, const char *node,
			 const char *id, const char **error_r);
int ps_store_sub_save(struct ps_store *st, const char *svc, const struct ps_sub *sub,
		      const char **error_r);
int ps_store_sub_delete(struct ps_store *st, const char *svc, const struct ps_sub *sub,
			const char **error_r);
/* Everything of service svc into ps (nodes, then items oldest first, then
 * subscriptions); sets ps->seq past the newest item. */
int ps_store_load(struct ps_store *st, struct pubsub *ps, const char **error_r);
/* The roster lookup of struct pubsub over the sm's "roster-items" and
 * "roster-groups" tables, when the storage is the sm's database. */
int ps_store_roster(struct pubsub *ps, const char *owner, const char *contact,
		    char *const *groups, int ngroups, int *from_r, int *group_r);

#endif
