/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * os: object sets, the unit of data between the sm and storage drivers.
 * An object keeps its fields in an array in insertion order; objects have
 * a few fields (a vCard, the widest, has 46), so lookups scan it. Strings
 * that hold stored XML ("NAD<xml>") are parsed into a nad on first request
 * and the nad is kept beside the text.
 */
#include "config.h"
#include "storage/storage.h"

#include <stdlib.h>
#include <string.h>

#include "storage/storage_private.h"
#include "util/buf.h"
#include "util/nad.h"

struct os_field {
	char *key;
	enum os_type type;
	int64_t ival;     /* BOOLEAN, INTEGER */
	char *text;       /* STRING */
	struct nad *nad;  /* NAD; or the parse of a "NAD" string */
};

struct os_object {
	struct os_field *fields;
	size_t nfields;
	size_t size;
	struct os_object *next;
};

struct os {
	struct os_object *head;
	struct os_object *tail;
	size_t count;
};

/* Stored XML carries this marker in front of the serialized element. */
#define NAD_MARKER "NAD"
#define NAD_MARKER_LEN 3

struct os *os_new(void)
{
	return xcalloc(1, sizeof(struct os));
}

static void field_clear(struct os_field *f)
{
	free(f->key);
	free(f->text);
	nad_free(&f->nad);
	memset(f, 0, sizeof(*f));
}

void os_free(struct os **osp)
{
	struct os *os = *osp;
	struct os_object *o, *next;

	if (os == NULL)
		return;
	for (o = os->head; o != NULL; o = next) {
		next = o->next;
		for (size_t i = 0; i < o->nfields; i++)
			field_clear(&o->fields[i]);
		free(o->fields);
		free(o);
	}
	free(os);
	*osp = NULL;
}

size_t os_count(const struct os *os)
{
	return os->count;
}

struct os_object *os_first(const struct os *os)
{
	return os->head;
}

struct os_object *os_next(const struct os_object *o)
{
	return o->next;
}

struct os_object *os_object_new(struct os *os)
{
	struct os_object *o = xcalloc(1, sizeof(*o));

	if (os->tail != NULL)
		os->tail->next = o;
	else
		os->head = o;
	os->tail = o;
	os->count++;
	return o;
}

static struct os_field *field_find(const struct os_object *o, const char *key)
{
	for (size_t i = 0; i < o->nfields; i++)
		if (strcmp(o->fields[i].key, key) == 0)
			return &o->fields[i];
	return NULL;
}

/* The field named key, emptied for a new value (created if absent). */
static struct os_field *field_slot(struct os_object *o, const char *key)
{
	struct os_field *f = field_find(o, key);

	if (f != NULL) {
		char *k = f->key;

		f->key = NULL;
		field_clear(f);
		f->key = k;
		return f;
	}
	if (o->nfields == o->size) {
		o->size = o->size ? o->size * 2 : 8;
		o->fields = xrealloc(o->fields, o->size * sizeof(*o->fields));
	}
	f = &o->fields[o->nfields++];
	memset(f, 0, sizeof(*f));
	f->key = xstrdup(key);
	return f;
}

void os_object_put_bool(struct os_object *o, const char *key, int value)
{
	struct os_field *f = field_slot(o, key);

	f->type = OS_TYPE_BOOLEAN;
	f->ival = value != 0;
}

void os_object_put_int(struct os_object *o, const char *key, int64_t value)
{
	struct os_field *f = field_slot(o, key);

	f->type = OS_TYPE_INTEGER;
	f->ival = value;
}

/* Drop the field named key, if present, keeping the others in order. */
static void field_remove(struct os_object *o, const char *key)
{
	struct os_field *f = field_find(o, key);
	size_t i;

	if (f == NULL)
		return;
	i = (size_t)(f - o->fields);
	field_clear(f);
	memmove(f, f + 1, (o->nfields - i - 1) * sizeof(*f));
	o->nfields--;
}

void os_object_put_str(struct os_object *o, const char *key, const char *value)
{
	struct os_field *f;

	if (value == NULL) {
		field_remove(o, key);
		return;
	}
	f = field_slot(o, key);
	f->type = OS_TYPE_STRING;
	f->text = xstrdup(value);
}

void os_object_put_nad(struct os_object *o, const char *key, const struct nad *nad)
{
	struct os_field *f = field_slot(o, key);

	f->type = OS_TYPE_NAD;
	f->nad = nad_copy(nad);
}

int os_object_get_bool(const struct os_object *o, const char *key, int *value_r)
{
	const struct os_field *f = field_find(o, key);

	if (f == NULL || (f->type != OS_TYPE_BOOLEAN && f->type != OS_TYPE_INTEGER))
		return -1;
	*value_r = f->ival != 0;
	return 0;
}

int os_object_get_int(const struct os_object *o, const char *key, int64_t *value_r)
{
	const struct os_field *f = field_find(o, key);

	if (f == NULL || (f->type != OS_TYPE_BOOLEAN && f->type != OS_TYPE_INTEGER))
		return -1;
	*value_r = f->ival;
	return 0;
}

int os_object_get_str(const struct os_object *o, const char *key, const char **value_r)
{
	const struct os_field *f = field_find(o, key);

	if (f == NULL || f->type != OS_TYPE_STRING)
		return -1;
	*value_r = f->text;
	return 0;
}

int os_object_get_nad(struct os_object *o, const char *key, const struct nad **nad_r)
{
	struct os_field *f = field_find(o, key);
	const char *error;
	size_t len;

	if (f == NULL)
		return -1;
	if (f->nad != NULL) {
		*nad_r = f->nad;
		return 0;
	}
	if (f->type != OS_TYPE_STRING)
		return -1;
	len = strlen(f->text);
	if (len < NAD_MARKER_LEN || memcmp(f->text, NAD_MARKER, NAD_MARKER_LEN) != 0)
		return -1;
	f->nad = nad_parse(f->text + NAD_MARKER_LEN, len - NAD_MARKER_LEN, 0, &error, NULL);
	if (f->nad == NULL)
		return -1;
	*nad_r = f->nad;
	return 0;
}

size_t os_object_nfields(const struct os_object *o)
{
	return o->nfields;
}

const char *os_object_field(const struct os_object *o, size_t i, enum os_type *type_r)
{
	if (i >= o->nfields)
		return NULL;
	if (type_r != NULL)
		*type_r = o->fields[i].type;
	return o->fields[i].key;
}

int64_t os_object_field_int(const struct os_object *o, size_t i)
{
	return o->fields[i].ival;
}

const char *os_object_field_text(const struct os_object *o, size_t i)
{
	return o->fields[i].text;
}

const struct nad *os_object_field_nad(const struct os_object *o, size_t i)
{
	return o->fields[i].nad;
}
