/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xdata: the pieces of XEP-0004 data forms that every service reading or
 * offering a form needs (muc's room configuration, pubsub's node
 * configuration and options): reading a field's value, a form's type, a
 * boolean, and building fields and values. The meaning of the fields
 * stays with each service.
 */
#ifndef UTIL_XDATA_H
#define UTIL_XDATA_H

struct nad;

#define XDATA_NS "jabber:x:data"

/* The first <value/> of a field ("" for none). */
const char *xdata_field_value(const struct nad *nad, int field);
/* The first value of field `var` of form x ("" if it has no value), or
 * NULL if none of its first `max_fields` fields is `var`. */
const char *xdata_value(const struct nad *nad, int x, const char *var, int max_fields);
/* 1 if form x has type `type` (submit, cancel, form, result). */
int xdata_is_type(const struct nad *nad, int x, const char *type);
/* A boolean value: 1/true, 0/false. 0 with *out, or -1. */
int xdata_parse_bool(const char *v, int *out);

/* Add <value>v</value> under field (or an <option/>). */
void xdata_add_value(struct nad *nad, int field, const char *v);
/* Add <option label><value>v</value></option> under field. */
void xdata_add_option(struct nad *nad, int field, const char *label, const char *v);
/* Add <field var type label/> (type, label may be NULL) under x. */
int xdata_add_field(struct nad *nad, int x, const char *var, const char *type,
		    const char *label);
/* Add <x type> under parent, with its hidden FORM_TYPE field. */
int xdata_form_new(struct nad *nad, int parent, const char *type, const char *form_type);

#endif
