/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * stanza: what the component daemons (muc, pubsub) build and send the
 * same way: a new jabber:client stanza, the error answer to a stanza,
 * and a stanza routed to the router by the domains of its to and from.
 */
#ifndef COMP_STANZA_H
#define COMP_STANZA_H

struct comp;
struct nad;

/* A new stanza <name type to from> in jabber:client (type may be NULL). */
struct nad *comp_stanza_new(const char *name, const char *type, const char *to,
			    const char *from);

/* The error type RFC 6120 8.3.3 gives a defined condition (cancel for
 * the others). */
const char *comp_stanza_error_type(const char *cond);

/*
 * The error answer to `stanza` (not taken): a copy with to/from swapped,
 * type error and <error type><cond/><text/></error>; `text` may be NULL,
 * `app_ns`/`app` (may be NULL) an application condition element added
 * after the defined one (XEP-0060's pubsub#errors). NULL if `stanza` is
 * itself an error or a result (those are never answered).
 */
struct nad *comp_stanza_error(const struct nad *stanza, const char *cond, const char *text,
			      const char *app_ns, const char *app);

/* The jabber:client stanza inside a route the router sent (taken): the
 * stanza extracted, or NULL (route freed either way) for a route that
 * carries an error or a type, or no client stanza. */
struct nad *comp_stanza_from_route(struct nad *route);

/* Route `stanza` (taken) to the router from the domain of its from to
 * the domain of its to; dropped if either is missing or not a JID. */
void comp_stanza_route(struct comp *comp, struct nad *stanza);

#endif
