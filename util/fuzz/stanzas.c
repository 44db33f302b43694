/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * stanzas.c: the input loop of the fuzz targets that drive a whole
 * component service (see stanzas.h).
 */
#include "config.h"
#include "util/fuzz/stanzas.h"

#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/nad.h"

int fuzz_service_input(struct fuzz_service *fs, const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *nul, *error;
	struct nad *nad;
	int n = 0;

	if (!fs->started) {
		if (log_open(LOG_TYPE_FILE, "fuzz", NULL, "/dev/null", &error) < 0)
			abort();
		log_set_debug(0);
		fs->renew();
		fs->started = 1;
	} else if (++fs->runs % FUZZ_RENEW_EVERY == 0)
		fs->renew();
	while (p < end && n++ < FUZZ_MAX_STANZAS) {
		nul = memchr(p, '\0', (size_t)(end - p));
		if (nul == NULL)
			nul = end;
		nad = nad_parse(p, (size_t)(nul - p), FUZZ_STANZA_DEPTH, &error, NULL);
		if (nad != NULL)
			fs->stanza(nad);
		p = nul + 1;
	}
	return 0;
}

void fuzz_sent_check(struct nad *nad)
{
	if (nad_attr(nad, 0, NULL, "to") == NULL || nad_attr(nad, 0, NULL, "from") == NULL)
		abort();
	nad_free(&nad);
}
