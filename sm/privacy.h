/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * privacy.h: what mod_privacy offers the other modules and the core:
 * per-session privacy checks for delivery to a bare JID (mod_deliver,
 * mod_presence, mod_carbons, user_top_sess_for). The lists themselves
 * stay in mod_privacy's data slots; without the module loaded (or before
 * the user's lists are read) nothing is refused.
 */
#ifndef SM_PRIVACY_H
#define SM_PRIVACY_H

struct pkt;
struct sess;
struct user;

/* For delivery to a bare JID: 1 if the session's list in force (XEP-0016
 * active list, else the default) refuses this stanza from outside. */
int privacy_sess_denies(struct sess *sess, const struct pkt *pkt);
/* The same for the user's default list (sess NULL: no session takes it). */
int privacy_user_denies(struct user *user, const struct pkt *pkt);
/* A block list push (XEP-0191) from another node's sm, from the user's
 * bare JID: 1 if this session fetched the block list (0: not for it);
 * 1 for any other stanza. */
int privacy_push_wanted(struct sess *sess, const struct pkt *pkt);
/* 1 if nothing of the user's can refuse a stanza from outside: no block
 * list entry and no XEP-0016 list (so no list in force for any session).
 * A cluster's receiving node may then hand messages for the user's
 * sessions to their c2s without this sm (sm/cluster.c, direct delivery). */
int privacy_user_open(const struct user *user);

#endif
