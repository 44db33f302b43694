/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * smq.h: the XEP-0198 queue of stanzas sent to a client and not yet
 * acknowledged, with the outbound counter. Pure (no I/O): the protocol
 * code (sm198.c) pushes each stanza it sends and feeds the client's h
 * values in. Counters are the XEP's: unsigned 32-bit, wrapping.
 */
#ifndef C2S_SMQ_H
#define C2S_SMQ_H

#include <stddef.h>
#include <stdint.h>

struct nad;

struct c2s_smq {
	struct nad **items;             /* ring buffer, oldest at head */
	size_t head, len, cap;
	size_t bytes;                   /* nad_memory() of what is queued */
	uint32_t sent;                  /* count of stanzas pushed, mod 2^32 */
};

void c2s_smq_init(struct c2s_smq *q);
/* Free the queued nads. */
void c2s_smq_free(struct c2s_smq *q);
/* Queue a sent stanza (the queue owns it) and count it. */
void c2s_smq_push(struct c2s_smq *q, struct nad *nad);
/* The count the client has acknowledged: sent - len (mod 2^32). */
uint32_t c2s_smq_acked(const struct c2s_smq *q);
/* The client handled stanzas up to `h`: drop those. Returns how many were
 * dropped, or -1 (queue untouched) when h acknowledges more than was sent
 * or goes back before an earlier ack. The buffer is freed when empty. */
long c2s_smq_ack(struct c2s_smq *q, uint32_t h);
/* The i-th unacknowledged stanza (0 = oldest), or NULL past the end. */
const struct nad *c2s_smq_at(const struct c2s_smq *q, size_t i);
/* Take the oldest stanza out (the caller owns it), or NULL when empty.
 * Counts nothing: for handing the stanzas back when the session ends. */
struct nad *c2s_smq_shift(struct c2s_smq *q);
/* Parse an h attribute: decimal, 0..2^32-1, nothing else. 0 or -1. */
int c2s_smq_parse_h(const char *s, uint32_t *h_r);

#endif
