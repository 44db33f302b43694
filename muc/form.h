/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * form: the muc daemon's parsers of what clients send it, apart from the
 * stanza routing so that a fuzzer can reach them directly
 * (fuzz/fuzz_muc_input.c): the room configuration data form (XEP-0004 with
 * the muc#roomconfig fields), the history request of a join, an
 * XEP-0082 date-time, and the room JID / nick of an address.
 */
#ifndef MUC_FORM_H
#define MUC_FORM_H

#include <stddef.h>
#include <time.h>

#include "muc/room.h"

struct nad;
struct jid;

#define MUC_NS "http://jabber.org/protocol/muc"
#define MUC_NS_USER "http://jabber.org/protocol/muc#user"
#define MUC_NS_ADMIN "http://jabber.org/protocol/muc#admin"
#define MUC_NS_OWNER "http://jabber.org/protocol/muc#owner"
#define MUC_NS_ROOMCONFIG "http://jabber.org/protocol/muc#roomconfig"
#define MUC_NS_ROOMINFO "http://jabber.org/protocol/muc#roominfo"
#define MUC_NS_REQUEST "http://jabber.org/protocol/muc#request"
#define MUC_NS_SID "urn:xmpp:sid:0"
#define MUC_NS_XDATA "jabber:x:data"
#define MUC_NS_DELAY "urn:xmpp:delay"

/* Longest nick we accept, in bytes after preparation. */
#define MUC_NICK_MAX 128
/* Most fields and values a submitted form may hold. */
#define MUC_FORM_FIELDS_MAX 64

/*
 * Apply a submitted form (`x`, a <x xmlns='jabber:x:data'> in nad) to
 * `cfg`. Unknown fields are ignored (XEP-0004 lets a service do so); a
 * type other than submit, a value that is not what its field allows
 * (a boolean not 0/1/true/false, maxusers above `max_users_limit`...),
 * or more than MUC_FORM_FIELDS_MAX fields fail: -1 with *error_r naming
 * the field, and cfg unchanged.
 */
int muc_form_apply(const struct nad *nad, int x, struct room_config *cfg,
		   int max_users_limit, const char **error_r);
/* The first value of field `var` of form `x` ("" for a field without a
 * value), or NULL if the form has no such field. */
const char *muc_form_value(const struct nad *nad, int x, const char *var);

/* 1 if `x` is a form of type cancel. */
int muc_form_is_cancel(const struct nad *nad, int x);

/* Add the configuration form for `cfg` under `parent`. */
void muc_form_build(struct nad *nad, int parent, const struct room_config *cfg,
		    int max_users_limit);

/*
 * The history request of a join: the <history/> child of `x` (a <x
 * xmlns='...muc'>), or none (every field -1: the service's default).
 * Bad values (not a non-negative integer, a since that is not a date)
 * give -1 with *error_r.
 */
int muc_history_parse(const struct nad *nad, int x, struct room_history_req *req,
		      const char **error_r);

/* Format `t` as CCYY-MM-DDThh:mm:ssZ into out (at least 21 bytes). */
void muc_datetime_format(time_t t, char *out, size_t size);

/*
 * Split the `to` of a stanza for the service: *room_r the bare room JID
 * (NULL if `to` is the service itself), *nick_r the resource ("" if
 * none; points into the returned JID). 0, or -1 with *error_r: not a JID,
 * a nick longer than MUC_NICK_MAX.
 */
int muc_addr_parse(const char *to, struct jid **room_r, struct jid **full_r,
		   const char **error_r);

#endif
