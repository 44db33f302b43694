/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * amp.h: XEP-0079 rules as mod_amp judges them, for mod_offline (a
 * stored message is judged again as it is delivered) and the unit tests
 * (amp_rule_check alone).
 */
#ifndef SM_AMP_H
#define SM_AMP_H

#include <time.h>

struct pkt;

/* What sm.xml's <amp> switched off. */
#define AMP_OFF_DROP 0x01
#define AMP_OFF_ERROR 0x02
#define AMP_OFF_ALERT 0x04
#define AMP_OFF_NOTIFY 0x08
#define AMP_OFF_DELIVER 0x10
#define AMP_OFF_EXPIREAT 0x20
#define AMP_OFF_MATCHRES 0x40
#define AMP_OFF_STORAGE 0x80    /* offline storage is off */
/* What one rule comes to. */
enum amp_check {
	AMP_NOT_MET,
	AMP_MET,
	AMP_BAD_ACTION,         /* unknown or switched off */
	AMP_BAD_CONDITION,      /* unknown or switched off */
	AMP_BAD_VALUE,          /* missing or invalid value, missing action */
};
/* Where the message would go, as the rules see it. */
struct amp_dest {
	int online;             /* some session takes it now */
	int exact;              /* the session of the resource it names does */
	int bare;               /* it names no resource */
	int storable;           /* offline storage would keep it */
	time_t now;
};
/* Check one <rule action condition value> against dest, with sm.xml's
 * switches `off` (AMP_OFF_*). Any argument may be NULL (absent). */
enum amp_check amp_rule_check(unsigned off, const char *action, const char *condition,
			      const char *value, const struct amp_dest *dest);
/* A stored message about to go to a session (mod_offline): its
 * expire-at rules are checked again now, if mod_amp is loaded. 1 if a
 * rule met took the message (dropped, alerted, bounced), 0 to deliver it
 * (after a notify, if one was met). */
int amp_stored_expired(struct pkt *pkt);

#endif
