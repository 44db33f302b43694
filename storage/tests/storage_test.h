/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * storage_test: what the storage driver tests share, whatever the driver
 * (test_sqlite.c, test_pgsql.c): building roster and privacy objects, and
 * operations that fail the running cmocka test on any error.
 */
#ifndef STORAGE_TESTS_STORAGE_TEST_H
#define STORAGE_TESTS_STORAGE_TEST_H

#include <stdint.h>

struct os;
struct os_object;
struct storage;

/* Options of a test's storage, for storage_new(stt_opt_get, &opts). */
#define STT_MAX_OPTS 12

struct stt_opts {
	const char *kv[STT_MAX_OPTS][2]; /* key, value; NULL key ends */
};

const char *stt_opt_get(void *ctx, const char *key);
/* Set (or replace) an option; the strings must outlive the storage. */
void stt_opt_set(struct stt_opts *opts, const char *key, const char *value);

/* Append a roster-items (resp. privacy-items) object to os. A NULL name
 * (resp. type) leaves the column at its default. */
struct os_object *stt_roster_item(struct os *os, const char *jid, const char *name, int to,
				  int from, int ask);
void stt_privacy_item(struct os *os, const char *list, const char *type, const char *value,
		      int deny, int order, int block);

/* storage_get/count/put, failing the test unless STORAGE_OK. */
struct os *stt_get_ok(struct storage *st, const char *type, const char *owner,
		      const char *filter);
int64_t stt_count(struct storage *st, const char *type, const char *owner, const char *filter);
void stt_put_ok(struct storage *st, const char *type, const char *owner, struct os *os);

/* Fail unless the string field `key` of os's objects, in order, joined by
 * ',' (an absent field as '-'), is `expect`. */
void stt_assert_column(struct os *os, const char *key, const char *expect);

/* storage_take on roster-groups rows: in order, gone after, a filter
 * takes only its rows, another owner's stay. */
void stt_take_basics(struct storage *st);

/* Two storages on one database (two nodes' sms) take `owner`'s "queue"
 * at the same moment, `rounds` times, n rows put each round (through a):
 * fails unless every row went to exactly one of them. */
void stt_race_take(struct storage *a, struct storage *b, const char *owner, int rounds,
		   int n);

#endif
