/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the storage filter parser (storage/filter.c), which
 * reads filter text the sm builds from stanza data (JIDs, group and list
 * names). Each input is parsed from an exact-size copy so overreads show
 * up; an accepted filter is rendered to SQL, its pairs are checked against
 * the parameter count, and the filter must parse the same when re-checked
 * through the NUL-terminated entry point.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "storage/storage.h"
#include "storage/storage_private.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct storage_filter *pairs[STORAGE_FILTER_MAX_NODES];
	struct storage_filter *f;
	struct buf sql = { 0 };
	const char *error = NULL;
	char *copy = malloc(size ? size : 1), *text;
	int param_no = 1, ok;
	size_t n;

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	ok = storage_filter_parse(copy, size, &f, &error) == 0;
	free(copy);
	if (!ok) {
		if (error == NULL || f != NULL)
			abort();
		return 0;
	}
	storage_filter_sql(f, STORAGE_PARAM_DOLLAR, &param_no, &sql);
	n = storage_filter_pairs(f, pairs, STORAGE_FILTER_MAX_NODES);
	if (n == 0 || n > STORAGE_FILTER_MAX_NODES || (size_t)param_no != n + 1)
		abort();
	for (size_t i = 0; i < n; i++)
		if (pairs[i]->op != STORAGE_FILTER_PAIR ||
		    (!pairs[i]->is_int && strlen(pairs[i]->value) != pairs[i]->value_len))
			abort();
	/* An accepted filter holds no NUL, so the C-string API agrees. */
	text = xstrndup((const char *)data, size);
	if (strlen(text) != size || storage_filter_check(text, &error) != 0)
		abort();
	free(text);
	buf_free(&sql);
	storage_filter_free(&f);
	return 0;
}
