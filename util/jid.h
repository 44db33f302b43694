/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * jid: XMPP addresses (RFC 7622 syntax, prepared with the RFC 3920
 * stringprep profiles Nodeprep, Nameprep and Resourceprep through libidn,
 * exactly as jabberd2 does so that stored JIDs compare the same).
 *
 * A struct jid is immutable and lives in one allocation: the prepared
 * parts, the bare form and the full form are all inside it, so the
 * accessors are free and a JID can be copied with one memcpy.
 *
 * Limits: each part at most JID_PART_MAX bytes after preparation, the
 * full form at most JID_MAX bytes. Raw input much longer than that is
 * refused before preparation (see jid.c).
 */
#ifndef UTIL_JID_H
#define UTIL_JID_H

#include <stddef.h>

#define JID_PART_MAX 1023
#define JID_MAX 3071

struct jid;

/*
 * Parse and prepare `len` bytes at `s` ("node@domain/resource", node and
 * resource optional). A trailing dot on the domain is removed; IPv4 and
 * bracketed IPv6 literals are accepted as domains. Returns a new JID, or
 * NULL with *error_r set to a static message saying what is wrong.
 */
struct jid *jid_new(const char *s, size_t len, const char **error_r);
/* The same from parts; NULL or "" node/resource means absent. */
struct jid *jid_new_parts(const char *node, const char *domain,
			  const char *resource, const char **error_r);
void jid_free(struct jid **jidp);
struct jid *jid_copy(const struct jid *jid);
/* A new JID without the resource. */
struct jid *jid_copy_bare(const struct jid *jid);

/* Prepared parts; an absent node or resource is "" (never NULL). */
const char *jid_node(const struct jid *jid);
const char *jid_domain(const struct jid *jid);
const char *jid_resource(const struct jid *jid);
/* "node@domain/resource" with absent parts left out, and "node@domain". */
const char *jid_full(const struct jid *jid);
const char *jid_bare(const struct jid *jid);

/* Equality of prepared forms: everything, or everything but the resource. */
int jid_equal(const struct jid *a, const struct jid *b);
int jid_equal_bare(const struct jid *a, const struct jid *b);

/*
 * Prepare one NUL-terminated part into `out` (`outsize` bytes including
 * the NUL; in and out may be the same buffer). For daemons that prepare
 * config values such as served domains or the sm id. Node and resource may
 * be empty; jid_nameprep also applies the domain checks of jid_new (not
 * empty, trailing dot removed, allowed characters, IP literals).
 * Returns 0, or -1 with *error_r set (prohibited characters, bad UTF-8,
 * longer than JID_PART_MAX or than outsize - 1 after preparation).
 */
int jid_nodeprep(const char *in, char *out, size_t outsize, const char **error_r);
int jid_nameprep(const char *in, char *out, size_t outsize, const char **error_r);
int jid_resourceprep(const char *in, char *out, size_t outsize, const char **error_r);

#endif
