/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pep.h: what mod_pep adds to the disco#info of a user's bare JID
 * (mod_disco answers it): XEP-0163 6.1's pubsub/pep identity and the
 * pubsub features the service has.
 */
#ifndef SM_PEP_H
#define SM_PEP_H

struct nad;
struct sm;

/* Add the identity and features under the <query/> q; nothing when
 * mod_pep is not loaded. */
void pep_disco_info(struct sm *sm, struct nad *nad, int q);

#endif
