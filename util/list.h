/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * list: an intrusive, circular, doubly-linked list. Embed a struct
 * list_node in each object and keep a struct list_node as the head; the
 * list never allocates, insertion and removal are O(1), and an object can
 * unlink itself without knowing which list holds it (connections in a
 * daemon's reap list, sessions of a user...).
 *
 *	struct conn { ...; struct list_node link; };
 *	struct list_node conns;
 *	struct conn *c, *tmp;
 *
 *	list_init(&conns);
 *	list_add_tail(&conns, &c->link);
 *	LIST_FOREACH_SAFE(c, tmp, &conns, struct conn, link)
 *		if (c->dead)
 *			list_remove(&c->link);
 */
#ifndef UTIL_LIST_H
#define UTIL_LIST_H

#include <stddef.h>

struct list_node {
	struct list_node *prev, *next;
};

/* The object of type `type` whose member `member` is at `node`. */
#define LIST_ENTRY(node, type, member) \
	((type *)(void *)((char *)(node) - offsetof(type, member)))

/* An empty head, or a node that is in no list (list_linked() is 0). */
static inline void list_init(struct list_node *n)
{
	n->prev = n->next = n;
}

static inline int list_empty(const struct list_node *head)
{
	return head->next == head;
}

/* For a node initialised with list_init: is it in a list now? */
static inline int list_linked(const struct list_node *n)
{
	return n->next != n;
}

static inline void list_insert_between(struct list_node *n, struct list_node *prev,
				       struct list_node *next)
{
	n->prev = prev;
	n->next = next;
	prev->next = n;
	next->prev = n;
}

static inline void list_add_head(struct list_node *head, struct list_node *n)
{
	list_insert_between(n, head, head->next);
}

static inline void list_add_tail(struct list_node *head, struct list_node *n)
{
	list_insert_between(n, head->prev, head);
}

/* Unlink n; it is left as an empty list, so removing twice is harmless. */
static inline void list_remove(struct list_node *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	list_init(n);
}

/* First node, or NULL if empty; next node after n, or NULL at the end. */
static inline struct list_node *list_first(const struct list_node *head)
{
	return list_empty(head) ? NULL : head->next;
}

static inline struct list_node *list_next(const struct list_node *head,
					  const struct list_node *n)
{
	return n->next == head ? NULL : n->next;
}

/* Walk the objects of a list; `var` may be removed (and freed) in the body
 * because `tmp` already holds the next node. */
#define LIST_FOREACH_SAFE(var, tmp, head, type, member)                        \
	for ((var) = LIST_ENTRY((head)->next, type, member),                   \
	    (tmp) = LIST_ENTRY((var)->member.next, type, member);              \
	     &(var)->member != (head);                                         \
	     (var) = (tmp), (tmp) = LIST_ENTRY((var)->member.next, type, member))

#define LIST_FOREACH(var, head, type, member)                                  \
	for ((var) = LIST_ENTRY((head)->next, type, member);                   \
	     &(var)->member != (head);                                         \
	     (var) = LIST_ENTRY((var)->member.next, type, member))

#endif
