/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pubsub_private.h: what pubsub.c (the service, publishing and
 * subscribing, dispatch), pubsub_owner.c (the owner use cases) and
 * pubsub_disco.c (disco) share. Not for other directories.
 */
#ifndef PUBSUB_PUBSUB_PRIVATE_H
#define PUBSUB_PUBSUB_PRIVATE_H

#include <stddef.h>

#include "pubsub/form.h"
#include "pubsub/pubsub.h"

struct jid;
struct nad;

/* One iq request being served. */
struct ps_rq {
	struct pubsub *ps;
	const struct nad *stanza;
	const struct jid *from;
	const char *bare;           /* the sender's bare JID */
	struct ps_req req;
	struct ps_node *node;       /* the node named, if it exists */
};

/* ---- pubsub.c ---- */

/* Send (taken). */
void ps_send(struct pubsub *ps, struct nad *nad);
/* Answer `stanza` (not taken) with an error: the condition, the
 * pubsub#errors element `app` (may be NULL) and `text` (may be NULL). */
void ps_error(struct pubsub *ps, const struct nad *stanza, const char *cond,
	      const char *app, const char *text);
/* A result to iq `stanza`; with child_r, a <pubsub/> (or, for disco, a
 * <query/>) of namespace ns in it, its index in *child_r. */
struct nad *ps_iq_result(const struct nad *stanza, const char *ns, int *child_r);
/* A new unique id (item ids, subids, instant node names) into buf. */
void ps_new_id(struct pubsub *ps, char *buf, size_t size);
void ps_store_warn(const char *what, const char *node, const char *error);
/* Write through to storage (if any): a node, a subscription; drop a
 * subscription (freed). */
void ps_node_save(struct pubsub *ps, const struct ps_node *node);
void ps_sub_save(struct pubsub *ps, const struct ps_sub *sub);
void ps_sub_drop(struct pubsub *ps, struct ps_sub *sub);
/*
 * May bare see the node's items (subscribe 0) or subscribe (subscribe
 * 1)? 0; 1 for a subscription an owner must allow; or -1 with the error.
 */
int ps_access_check(struct pubsub *ps, const struct ps_node *node, const char *bare,
		    int subscribe, const char **cond_r, const char **app_r, const char **text_r);
/* Send an event <name node=.../> (filled by fill under its element) to
 * every subscriber that wants notifications. */
typedef void event_fill_fn(struct nad *nad, int elem, void *ctx);
void ps_notify(struct pubsub *ps, const struct ps_node *node, const char *name,
	       event_fill_fn *fill, void *ctx);
/* <subscription node? jid subid? subscription/> under parent. */
void ps_sub_element(struct nad *nad, int parent, const char *ns, const struct ps_sub *s,
		    int with_node);
/* Tell a subscriber the state of its subscription. */
void ps_tell_subscriber(struct pubsub *ps, const struct ps_sub *s);
struct ps_node *ps_node_get(struct pubsub *ps, const char *name);
/* A new node within the limits, or NULL after answering with the error. */
struct ps_node *ps_node_create(struct pubsub *ps, const struct nad *stanza, const char *name,
			       const char *bare);
/* Add a new node to the service (and storage). */
void ps_node_add(struct pubsub *ps, struct ps_node *node);
/* Answer the request with an error. */
void ps_rq_error(struct ps_rq *r, const char *cond, const char *app, const char *text);
/* 0 if the node exists / the sender owns it, else -1 after answering. */
int ps_need_node(struct ps_rq *r);
int ps_need_owner(struct ps_rq *r);
/* Send the answer (taken). */
void ps_reply(struct ps_rq *r, struct nad *nad);

/* ---- pubsub_owner.c (XEP-0060 8) ---- */

void ps_do_create(struct ps_rq *r);
void ps_do_configure(struct ps_rq *r);
void ps_do_default(struct ps_rq *r);
void ps_do_delete(struct ps_rq *r);
void ps_do_purge(struct ps_rq *r);
void ps_do_owner_affiliations(struct ps_rq *r);
void ps_do_owner_subscriptions(struct ps_rq *r);

/* ---- pubsub_disco.c ---- */

/* disco#info and disco#items of the service, a node (q: the <query/>). */
void ps_disco_info(struct pubsub *ps, const struct nad *stanza, int q, const char *bare);
void ps_disco_items(struct pubsub *ps, const struct nad *stanza, int q, const char *bare);

#endif
