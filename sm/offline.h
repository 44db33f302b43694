/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * offline.h: what mod_offline offers the others (mod_amp asks whether a
 * message would be stored). Without mod_offline loaded nothing is.
 */
#ifndef SM_OFFLINE_H
#define SM_OFFLINE_H

struct pkt;
struct sess;
struct sm;

/* Would offline storage keep this stanza (by type and sm.xml's offline
 * options)? */
int offline_wanted(const struct sm *sm, const struct pkt *pkt);
/* 1 if messages for an offline user are not stored: sm.xml's
 * offline.dropmessages, or mod_offline not loaded. */
int offline_drops_messages(const struct sm *sm);
/* What is stored for sess's user, taken from storage and delivered to
 * sess, as when it becomes available (sm/cluster.c, after a merge). No-op
 * without mod_offline. */
void offline_take(struct sess *sess);

#endif
