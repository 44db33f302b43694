/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * storage: the sm's persistent data, in jabberd2's owner/object-set model,
 * over pluggable drivers (storage_sqlite.c, storage_pgsql.c). The
 * schema is jabberd2's, so an existing jabberd2 database works unchanged.
 *
 * The model. A data type ("roster-items", "queue", "vcard", ...) is a table.
 * Each row belongs to a collection owner (a bare JID, or a domain for the
 * domain vCard and the MOTD) and has an object-sequence that grows with
 * every insert. An object set (struct os) is an ordered list of objects; an
 * object is a set of named, typed fields (boolean, integer, string, XML).
 * XML is stored as the text "NAD" followed by the serialized element, as
 * jabberd2 does, so either server can read what the other wrote.
 *
 * How the sm uses it. At start it calls storage_new() with an option
 * callback over sm.xml, then storage_add_type() once per
 * <storage><driver type='...'> element (no type = the default driver).
 * Modules then work per user, for example mod_roster:
 *
 *	struct os *os;
 *	char *filter = storage_filter_str("jid", item_jid);
 *	if (storage_get(st, "roster-groups", owner, filter, &os, &err) ==
 *	    STORAGE_OK) {
 *		for (struct os_object *o = os_first(os); o; o = os_next(o))
 *			...os_object_get_str(o, "group", &group)...
 *		os_free(&os);
 *	}
 *	free(filter);
 *
 * and storage_replace() to rewrite one user's items atomically. Every call
 * blocks until the database answers (sqlite: the busy timeout bounds the
 * wait on a lock). Nothing here is thread-safe; the sm is single-threaded.
 */
#ifndef STORAGE_STORAGE_H
#define STORAGE_STORAGE_H

#include <stddef.h>
#include <stdint.h>

struct nad;

/* Result of a storage operation. */
enum storage_result {
	STORAGE_ERROR = -1,    /* failed; *error_r says why */
	STORAGE_OK = 0,
	STORAGE_NOT_FOUND = 1, /* storage_get(): no object matched */
};

/* ---- object sets (os.c) ---- */

enum os_type {
	OS_TYPE_BOOLEAN,
	OS_TYPE_INTEGER,
	OS_TYPE_STRING,
	OS_TYPE_NAD,
};

struct os;
struct os_object;

struct os *os_new(void);
void os_free(struct os **osp);
size_t os_count(const struct os *os);
/* Iterate in order: os_first() then os_next() until NULL. */
struct os_object *os_first(const struct os *os);
struct os_object *os_next(const struct os_object *o);
/* Append a new, empty object; it belongs to os. */
struct os_object *os_object_new(struct os *os);

/*
 * Set a field, replacing any field of the same name. Values are copied
 * (put_nad copies the whole nad); put_str with a NULL value removes the
 * field, so the column gets its default (or NULL). Keys are column names;
 * storage_put() never writes "collection-owner" or "object-sequence", which
 * the driver sets.
 */
void os_object_put_bool(struct os_object *o, const char *key, int value);
void os_object_put_int(struct os_object *o, const char *key, int64_t value);
void os_object_put_str(struct os_object *o, const char *key, const char *value);
void os_object_put_nad(struct os_object *o, const char *key, const struct nad *nad);

/*
 * Read a field. Each returns 0 and sets *value_r, or -1 if the field is
 * absent (SQL NULL reads as absent) or cannot be read as that type.
 * Booleans and integers read as each other (a boolean is 0 or 1). A string
 * read by get_str stays valid while the object lives. get_nad parses a
 * string field that holds "NAD<xml>" (the form storage_get() returns) on
 * first use and keeps the result; the nad belongs to the object, so copy it
 * to keep it longer. get_str on an XML field that came from the database
 * returns the raw "NAD<xml>" text.
 *
 * Objects returned by storage_get() carry their row's "object-sequence" as
 * an integer field.
 */
int os_object_get_bool(const struct os_object *o, const char *key, int *value_r);
int os_object_get_int(const struct os_object *o, const char *key, int64_t *value_r);
int os_object_get_str(const struct os_object *o, const char *key, const char **value_r);
int os_object_get_nad(struct os_object *o, const char *key, const struct nad **nad_r);

/* Fields in insertion order: i from 0 to os_object_nfields() - 1. Returns
 * the key and type of field i, or NULL if i is out of range. */
size_t os_object_nfields(const struct os_object *o);
const char *os_object_field(const struct os_object *o, size_t i, enum os_type *type_r);

/* ---- filters (filter.c) ---- */

/*
 * Filters select objects of one owner. The syntax is jabberd2's, LDAP-like:
 *	(key=N:string)     string value of N bytes (may hold ')', '(', '=')
 *	(key=123)          integer value (optionally negative)
 *	(&(f1)(f2)...)     all of; (|(f1)(f2)...) any of; (!(f)) not
 * Keys are column names: a letter, then letters, digits, '-' or '_'.
 * Nothing else is accepted (no spaces, no trailing text); a malformed filter
 * makes the operation fail before any driver sees it.
 *
 * storage_filter_str()/_int() build one (key=value) term, and
 * storage_filter_and() joins terms, so callers never format filters by
 * hand. All return a fresh string (free() it).
 */
char *storage_filter_str(const char *key, const char *value);
char *storage_filter_int(const char *key, int64_t value);
/* (&a b ...): `n` terms; with n == 1 the term itself is copied. */
char *storage_filter_and(size_t n, const char *const *terms);

/* Check a filter without running it: 0 if well-formed, else -1. */
int storage_filter_check(const char *filter, const char **error_r);

/* ---- the storage manager (storage.c) ---- */

struct storage;

/*
 * Options come from the caller's config through this callback: it gets a
 * dotted path relative to the sm config root ("storage.sqlite.dbname") and
 * returns its first value, or NULL if absent. A present but empty element
 * returns "1", as jabberd2's config does. The string must stay valid while
 * the storage lives.
 */
typedef const char *storage_option_fn(void *ctx, const char *key);

struct storage *storage_new(storage_option_fn *option, void *ctx);
/* Closes every driver instance. */
void storage_free(struct storage **stp);

/* Driver calls (put, get, count, delete, replace) since storage_new(),
 * those that failed, and the time they took (for /metrics). */
struct storage_stats {
	uint64_t calls, errors, us;
};
void storage_stats(const struct storage *st, struct storage_stats *out);

/*
 * Route a data type to a driver ("sqlite", "pgsql"); type NULL makes it the
 * default for every type not routed explicitly. A driver is opened (with
 * its storage.<driver>.* options) the first time it is named, and shared by
 * every type routed to it. Returns 0, or -1 with *error_r set (unknown
 * driver, driver failed to open, type or default already routed).
 */
int storage_add_type(struct storage *st, const char *driver, const char *type,
		     const char **error_r);

/*
 * The operations. `type` is the data type (table), `owner` the collection
 * owner (never NULL), `filter` NULL for all of the owner's objects. On
 * STORAGE_ERROR *error_r is set; it stays valid until the next call on st.
 *
 * put:     insert every object of os (all or none).
 * get:     the owner's matching objects in object-sequence order, in a new
 *          *os_r the caller frees; STORAGE_NOT_FOUND (and *os_r NULL) if
 *          none match.
 * count:   how many match, in *count_r (0 is STORAGE_OK).
 * delete:  remove the matching objects (none matching is STORAGE_OK).
 * replace: delete the matches and insert os in one transaction: if any
 *          insert fails, the old objects are still there.
 * take:    get and delete in one step: the matching objects, in
 *          object-sequence order, are removed and returned. Of two
 *          callers taking at the same moment (two sms on one database),
 *          each object goes to exactly one; on STORAGE_ERROR nothing was
 *          taken (pgsql: unless the connection was lost while the
 *          statement ran, when the outcome cannot be known).
 */
enum storage_result storage_put(struct storage *st, const char *type, const char *owner,
				const struct os *os, const char **error_r);
enum storage_result storage_get(struct storage *st, const char *type, const char *owner,
				const char *filter, struct os **os_r, const char **error_r);
enum storage_result storage_count(struct storage *st, const char *type, const char *owner,
				  const char *filter, int64_t *count_r, const char **error_r);
enum storage_result storage_delete(struct storage *st, const char *type, const char *owner,
				   const char *filter, const char **error_r);
enum storage_result storage_replace(struct storage *st, const char *type, const char *owner,
				    const char *filter, const struct os *os,
				    const char **error_r);
enum storage_result storage_take(struct storage *st, const char *type, const char *owner,
				 const char *filter, struct os **os_r, const char **error_r);

#endif
