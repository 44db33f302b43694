/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * storage_test: helpers shared by the storage driver tests
 * (storage/tests/storage_test.h).
 */
#include "config.h"
#include "storage/tests/storage_test.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "storage/storage.h"
#include "util/buf.h"
#include "util/nad.h"

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

void stt_take_basics(struct storage *st)
{
	static const char *const groups[] = { "g1", "g2", "g3" };
	struct os *os = os_new(), *got = NULL;
	const char *error = NULL;

	for (int i = 0; i < 3; i++) {
		struct os_object *o = os_object_new(os);

		os_object_put_str(o, "jid", "c@x");
		os_object_put_str(o, "group", groups[i]);
	}
	stt_put_ok(st, "roster-groups", "a@x", os);
	stt_put_ok(st, "roster-groups", "b@x", os);
	os_free(&os);
	assert_int_equal(storage_take(st, "roster-groups", "a@x", "(group=2:g2)", &got,
				      &error), STORAGE_OK);
	stt_assert_column(got, "group", "g2");
	os_free(&got);
	assert_int_equal(storage_take(st, "roster-groups", "a@x", NULL, &got, &error),
			 STORAGE_OK);
	stt_assert_column(got, "group", "g1,g3");
	os_free(&got);
	assert_true(stt_count(st, "roster-groups", "a@x", NULL) == 0);
	assert_true(stt_count(st, "roster-groups", "b@x", NULL) == 3);
	assert_int_equal(storage_take(st, "roster-groups", "a@x", NULL, &got, &error),
			 STORAGE_NOT_FOUND);
	assert_null(got);
	assert_int_equal(storage_take(st, "roster-groups", "a@x", "(bad", &got, &error),
			 STORAGE_ERROR);
}

/* ---- two takers at once ---- */

struct taker {
	struct storage *st;
	const char *owner;
	int *start;             /* both spin on it, then take together */
	struct os *got;
	enum storage_result rc;
	char error[256];
};

static void *taker_run(void *arg)
{
	struct taker *t = arg;
	const char *error = NULL;

	while (!__atomic_load_n(t->start, __ATOMIC_SEQ_CST))
		;
	t->rc = storage_take(t->st, "queue", t->owner, NULL, &t->got, &error);
	if (t->rc == STORAGE_ERROR)
		snprintf(t->error, sizeof(t->error), "%s", error ? error : "?");
	return NULL;
}

/* The "n" fields of what one taker got into seen[], failing on a row
 * seen before; returns how many. */
static int taken_mark(const struct os *os, char *seen, int n)
{
	int count = 0;

	if (os == NULL)         /* the other one took them all */
		return 0;
	for (struct os_object *o = os_first(os); o != NULL; o = os_next(o)) {
		const char *v;
		int i;

		assert_int_equal(os_object_get_str(o, "xml", &v), 0);
		i = atoi(v + strlen("NAD<m n='"));
		assert_true(i >= 0 && i < n);
		if (seen[i])
			fail_msg("row %d was taken twice", i);
		seen[i] = 1;
		count++;
	}
	return count;
}

void stt_race_take(struct storage *a, struct storage *b, const char *owner, int rounds, int n)
{
	char *seen = xcalloc((size_t)n, 1);

	for (int r = 0; r < rounds; r++) {
		struct os *os = os_new();
		struct taker t[2] = { { .st = a }, { .st = b } };
		pthread_t th[2];
		int start = 0, total;

		for (int i = 0; i < n; i++) {
			char xml[64];
			struct nad *nad;
			const char *error = NULL;

			snprintf(xml, sizeof(xml), "<m n='%d'/>", i);
			nad = nad_parse(xml, strlen(xml), 0, &error, NULL);
			assert_non_null(nad);
			os_object_put_nad(os_object_new(os), "xml", nad);
			nad_free(&nad);
		}
		stt_put_ok(a, "queue", owner, os);
		os_free(&os);
		for (int i = 0; i < 2; i++) {
			t[i].owner = owner;
			t[i].start = &start;
			assert_int_equal(pthread_create(&th[i], NULL, taker_run, &t[i]), 0);
		}
		__atomic_store_n(&start, 1, __ATOMIC_SEQ_CST);
		for (int i = 0; i < 2; i++)
			pthread_join(th[i], NULL);
		memset(seen, 0, (size_t)n);
		total = 0;
		for (int i = 0; i < 2; i++) {
			if (t[i].rc == STORAGE_ERROR)
				fail_msg("round %d, taker %d: %s", r, i, t[i].error);
			total += taken_mark(t[i].got, seen, n);
			os_free(&t[i].got);
		}
		assert_int_equal(total, n);
		assert_int_equal(stt_count(a, "queue", owner, NULL), 0);
	}
	free(seen);
}
