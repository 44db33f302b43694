/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * presence.h: what mod_presence offers the others (RFC 6121 section 4):
 * a session's own presence (sess.c sends the unavailable of a session
 * that ends through it), and the presence consequences of roster and
 * block list changes (mod_roster, mod_privacy). The directed presence
 * each session sent stays in mod_presence's session slot.
 */
#ifndef SM_PRESENCE_H
#define SM_PRESENCE_H

struct jid;
struct pkt;
struct roster_item;
struct sess;
struct user;

/* The session's own presence (no `to`): broadcast, probe, remember.
 * Takes pkt. */
void presence_update(struct sess *sess, struct pkt *pkt);
/* Send each available session's presence to the contact of `item` (in a
 * cluster, those on other nodes answer a probe forwarded to them). */
void presence_roster(struct user *user, const struct roster_item *item);
/* Send unavailable from each available session (here or on another
 * node) to `jid`. */
void presence_gone(struct user *user, const struct jid *jid);
/* In a cluster: a probe another node's sm forwarded to this session
 * (rule 3): answered with its presence if the prober may see it (a
 * contact with a `from` subscription, or the user's own other session).
 * Takes pkt. */
void presence_probe_sess(struct sess *sess, struct pkt *pkt);

#endif
