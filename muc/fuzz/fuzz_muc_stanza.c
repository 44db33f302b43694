/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the whole service (muc.c, muc_iq.c): each input
 * is a sequence of stanzas separated by NUL bytes, parsed and handed to
 * one service as they would come from the router, so that joins, nick
 * changes, kicks, configuration and destruction meet in any order. What
 * the service sends is checked to be a stanza with a `to` and freed. The
 * service is made afresh every 256 inputs so its state stays small; its
 * limits keep each input's effect bounded too.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "muc/muc.h"
#include "util/config_file.h"
#include "util/fuzz/stanzas.h"
#include "util/nad.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct config *cfg;
static struct muc *muc;

static void check_and_drop(struct muc *m, struct nad *nad)
{
	(void)m;
	fuzz_sent_check(nad);
}

static void service_renew(void)
{
	static const char conf[] =
		"<muc><service>conference.localhost</service>"
		"<limits><rooms>20</rooms><rooms-per-user>5</rooms-per-user>"
		"<occupants>20</occupants><history>10</history></limits></muc>";
	const char *error;

	muc_free(&muc);
	config_free(&cfg);
	cfg = config_load_mem("muc.xml", conf, sizeof(conf) - 1, NULL, &error);
	if (cfg == NULL || (muc = muc_new(cfg, &error)) == NULL)
		abort();
	muc->send = check_and_drop;
}

static void to_service(struct nad *nad)
{
	muc_stanza(muc, nad);
}

static struct fuzz_service fs = { .renew = service_renew, .stanza = to_service };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_service_input(&fs, data, size);
}
