/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * stanzas: what the fuzz targets that drive a whole component service
 * (muc, pubsub) share. Each input is a sequence of stanzas separated by
 * NUL bytes; each piece that parses (nesting at most FUZZ_STANZA_DEPTH)
 * goes to the service as if from the router, at most FUZZ_MAX_STANZAS
 * of them an input. The service is made at the first input and afresh
 * every FUZZ_RENEW_EVERY inputs, so its state stays small. The log goes
 * to /dev/null: the service's info lines would cost more than the work.
 *
 *	static struct fuzz_service fs = { .renew = service_renew,
 *					  .stanza = to_service };
 *	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
 *	{
 *		return fuzz_service_input(&fs, data, size);
 *	}
 */
#ifndef UTIL_FUZZ_STANZAS_H
#define UTIL_FUZZ_STANZAS_H

#include <stddef.h>
#include <stdint.h>

struct nad;

#define FUZZ_MAX_STANZAS 64
#define FUZZ_STANZA_DEPTH 16
#define FUZZ_RENEW_EVERY 256

struct fuzz_service {
	/* Set by the target. */
	void (*renew)(void);                    /* free the service, make a new one */
	void (*stanza)(struct nad *nad);        /* one parsed stanza (taken) */
	/* Kept by fuzz_service_input(). */
	int started;
	unsigned runs;
};

/* One fuzz input, as above. Returns 0 (what libFuzzer wants). */
int fuzz_service_input(struct fuzz_service *fs, const uint8_t *data, size_t size);

/* What a service sends: aborts unless it has a to and a from; freed. */
void fuzz_sent_check(struct nad *nad);

#endif
