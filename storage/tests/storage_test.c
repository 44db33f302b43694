/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * storage_test: helpers shared by the storage driver tests
 * (storage/tests/storage_test.h).
 */
#include "config.h"
#include "storage/tests/storage_test.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "storage/storage.h"
#include "util/buf.h"

const char *stt_opt_get(void *ctx, const char *key)
{
	struct stt_opts *opts = ctx;

	for (int i = 0; i < STT_MAX_OPTS && opts->kv[i][0] != NULL; i++)
		if (strcmp(opts->kv[i][0], key) == 0)
			return opts->kv[i][1];
	return NULL;
}

void stt_opt_set(struct stt_opts *opts, const char *key, const char *value)
{
	int i;

	for (i = 0; i < STT_MAX_OPTS - 1 && opts->kv[i][0] != NULL; i++)
		if (strcmp(opts->kv[i][0], key) == 0)
			break;
	opts->kv[i][0] = key;
	opts->kv[i][1] = value;
}

struct os_object *stt_roster_item(struct os *os, const char *jid, const char *name, int to,
				  int from, int ask)
{
	struct os_object *o = os_object_new(os);

	os_object_put_str(o, "jid", jid);
	if (name != NULL)
		os_object_put_str(o, "name", name);
	os_object_put_bool(o, "to", to);
	os_object_put_bool(o, "from", from);
	os_object_put_int(o, "ask", ask);
	return o;
}

void stt_privacy_item(struct os *os, const char *list, const char *type, const char *value,
		      int deny, int order, int block)
{
	struct os_object *o = os_object_new(os);

	os_object_put_str(o, "list", list);
	if (type != NULL) {
		os_object_put_str(o, "type", type);
		os_object_put_str(o, "value", value);
	}
	os_object_put_bool(o, "deny", deny);
	os_object_put_int(o, "order", order);
	os_object_put_int(o, "block", block);
}

struct os *stt_get_ok(struct storage *st, const char *type, const char *owner,
		      const char *filter)
{
	struct os *os = NULL;
	const char *error = NULL;
	enum storage_result r = storage_get(st, type, owner, filter, &os, &error);

	if (r != STORAGE_OK)
		fail_msg("get %s/%s/%s: %d %s", type, owner, filter ? filter : "-", r,
			 error ? error : "");
	return os;
}

int64_t stt_count(struct storage *st, const char *type, const char *owner, const char *filter)
{
	int64_t n = -1;
	const char *error = NULL;

	if (storage_count(st, type, owner, filter, &n, &error) != STORAGE_OK)
		fail_msg("count %s: %s", type, error);
	return n;
}

void stt_put_ok(struct storage *st, const char *type, const char *owner, struct os *os)
{
	const char *error = NULL;

	if (storage_put(st, type, owner, os, &error) != STORAGE_OK)
		fail_msg("put %s: %s", type, error);
}

void stt_assert_column(struct os *os, const char *key, const char *expect)
{
	struct buf b = { 0 };
	const char *s;

	for (struct os_object *o = os_first(os); o != NULL; o = os_next(o)) {
		if (b.len > 0)
			buf_append_char(&b, ',');
		buf_append_str(&b, os_object_get_str(o, key, &s) == 0 ? s : "-");
	}
	if (strcmp(b.data != NULL ? b.data : "", expect) != 0)
		fail_msg("column %s: got '%s', expected '%s'", key,
			 b.data != NULL ? b.data : "", expect);
	buf_free(&b);
}
