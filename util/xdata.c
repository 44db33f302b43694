/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xdata.c: XEP-0004 data form pieces (see xdata.h).
 */
#include "config.h"
#include "util/xdata.h"

#include <string.h>

#include "util/nad.h"

const char *xdata_field_value(const struct nad *nad, int field)
{
	int v = nad_child(nad, field, XDATA_NS, "value");

	return v == NAD_NONE ? "" : nad_text(nad, v, NULL);
}

const char *xdata_value(const struct nad *nad, int x, const char *var, int max_fields)
{
	const char *v;
	int field, n = 0;

	for (field = nad_child(nad, x, XDATA_NS, "field"); field != NAD_NONE && n < max_fields;
	     field = nad_next(nad, field, XDATA_NS, "field"), n++)
		if ((v = nad_attr(nad, field, NULL, "var")) != NULL && strcmp(v, var) == 0)
			return xdata_field_value(nad, field);
	return NULL;
}

int xdata_is_type(const struct nad *nad, int x, const char *type)
{
	const char *t = nad_attr(nad, x, NULL, "type");

	return t != NULL && strcmp(t, type) == 0;
}

int xdata_parse_bool(const char *v, int *out)
{
	if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0)
		*out = 1;
	else if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

void xdata_add_value(struct nad *nad, int field, const char *v)
{
	int e = nad_elem_add(nad, field, XDATA_NS, "value");

	nad_text_append(nad, e, v, strlen(v));
}

void xdata_add_option(struct nad *nad, int field, const char *label, const char *v)
{
	int o = nad_elem_add(nad, field, XDATA_NS, "option");

	if (label != NULL)
		nad_attr_set(nad, o, NULL, "label", label);
	xdata_add_value(nad, o, v);
}

int xdata_add_field(struct nad *nad, int x, const char *var, const char *type,
		    const char *label)
{
	int field = nad_elem_add(nad, x, XDATA_NS, "field");

	nad_attr_set(nad, field, NULL, "var", var);
	if (type != NULL)
		nad_attr_set(nad, field, NULL, "type", type);
	if (label != NULL)
		nad_attr_set(nad, field, NULL, "label", label);
	return field;
}

int xdata_form_new(struct nad *nad, int parent, const char *type, const char *form_type)
{
	int x = nad_elem_add(nad, parent, XDATA_NS, "x");

	nad_attr_set(nad, x, NULL, "type", type);
	xdata_add_value(nad, xdata_add_field(nad, x, "FORM_TYPE", "hidden", NULL), form_type);
	return x;
}
