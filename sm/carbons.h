/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * carbons.h: what mod_carbons (XEP-0280) offers the core. In a cluster
 * the sm that handles a message sends its carbon copies to every
 * available session of the user on other nodes, since it cannot know
 * which of them enabled carbons; the sm of each such session keeps the
 * copy only if that session did (sm/cluster.c asks carbons_wanted()).
 */
#ifndef SM_CARBONS_H
#define SM_CARBONS_H

struct pkt;
struct sess;

/* 0 if pkt is a carbon copy (<received/> or <sent/> from the user's own
 * bare JID) and the session did not enable carbons; else 1. */
int carbons_wanted(struct sess *sess, const struct pkt *pkt);

#endif
