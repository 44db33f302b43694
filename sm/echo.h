/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * echo.h: mod_echo's answer to a probe, which mod_help shares (each
 * answers for its own resource of the domain).
 */
#ifndef SM_ECHO_H
#define SM_ECHO_H

struct pkt;

/* Answer a probe or subscription request to a domain of ours with
 * available presence from <domain>/<resource> to the asker's bare JID.
 * Does not take pkt. */
void echo_answer_probe(struct pkt *pkt, const char *resource);

#endif
