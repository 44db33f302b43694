/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pep_caps: entity capabilities (XEP-0115) for mod_pep's +notify
 * filtering. Pure functions over nads, apart from the module so that
 * the unit tests and a fuzzer reach them directly.
 */
#ifndef SM_PEP_CAPS_H
#define SM_PEP_CAPS_H

#include <stddef.h>

struct nad;
struct xhash;

#define PEP_NS_CAPS "http://jabber.org/protocol/caps"
#define PEP_NS_DISCO_INFO "http://jabber.org/protocol/disco#info"

/* A base64 SHA-1 (28 characters) and its NUL. */
#define PEP_CAPS_VER_SIZE 29

/* Most identities, features, forms, fields per form and values per
 * field a disco#info answer may hold to be hashed; longer answers are
 * refused (no +notify). */
#define PEP_CAPS_IDENTITIES_MAX 64
#define PEP_CAPS_FEATURES_MAX 512
#define PEP_CAPS_FORMS_MAX 8
#define PEP_CAPS_FIELDS_MAX 64
#define PEP_CAPS_VALUES_MAX 64

/*
 * The XEP-0115 (5.1) verification string of the disco#info <query/> at q,
 * hashed with SHA-1 and base64-encoded into ver. 0, or -1 for an answer
 * the XEP says not to accept (a duplicate identity or feature, a form
 * without FORM_TYPE or two forms of one FORM_TYPE) or one beyond the
 * limits above.
 */
int pep_caps_ver(const struct nad *nad, int q, char ver[PEP_CAPS_VER_SIZE]);

/*
 * The nodes whose NODE+notify the <query/> at q lists, as keys of a new
 * hash (values unused), or NULL if it lists none.
 */
struct xhash *pep_caps_notify(const struct nad *nad, int q);

/*
 * The <c/> of a presence stanza (root 0): its ver and node, if it uses
 * sha-1 (the only hash we verify). 0, or -1 if there is no usable <c/>.
 */
int pep_caps_of_presence(const struct nad *nad, const char **ver_r, const char **node_r);

#endif
