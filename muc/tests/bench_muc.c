/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_muc: the muc service's own cost of a groupchat message, without
 * router, sm or network: a room of N occupants (joined first), then M
 * messages from one occupant, each broadcast to all N; what the service
 * sends is freed at once. Prints deliveries per second and CPU time per
 * 1,000 deliveries. Built by `make check`, run by hand:
 *
 *	muc/tests/bench_muc [occupants [messages]]     (defaults 100 2000)
 *
 * This is the upper bound the daemon's logic allows; a real deployment
 * adds the router hop, the sm and c2s per delivery.
 */
#include "config.h"
#include "muc/muc.h"

#include <stdio.h>
#include <stdlib.h>

#include "comp/tests/bench_service.h"
#include "util/config_file.h"
#include "util/log.h"
#include "util/nad.h"

static const struct bench bench = {
	.name = "bench_muc", .usage = "[occupants 1..100000 [messages]]",
	.first = "occupants", .second = "messages", .what = "deliveries",
	.first_max = 100000, .second_max = 10000000,
};

static unsigned long sent;

static void drop(struct muc *muc, struct nad *nad)
{
	(void)muc;
	sent++;
	nad_free(&nad);
}

static void in(struct muc *muc, const char *xml)
{
	muc_stanza(muc, bench_stanza(&bench, xml));
}

int main(int argc, char **argv)
{
	static const char conf[] = "<muc><service>conference.localhost</service>"
				   "<lock-new-rooms>0</lock-new-rooms>"
				   "<limits><occupants>100000</occupants></limits></muc>";
	int occupants = 100, messages = 2000;
	const char *error;
	struct config *cfg;
	struct muc *muc;
	char xml[512];
	double t0, t1;
	int i;

	if (bench_counts(&bench, argc, argv, &occupants, &messages) != 0)
		return 1;
	log_set_debug(0);
	cfg = bench_config(&bench, "muc.xml", conf);
	if ((muc = muc_new(cfg, &error)) == NULL) {
		fprintf(stderr, "bench_muc: %s\n", error);
		return 1;
	}
	muc->send = drop;
	for (i = 0; i < occupants; i++) {
		snprintf(xml, sizeof(xml), "<presence xmlns='jabber:client' from='u%d@localhost/r'"
			 " to='room@conference.localhost/n%d'/>", i, i);
		in(muc, xml);
	}
	sent = 0;
	t0 = bench_cpu_seconds();
	for (i = 0; i < messages; i++)
		in(muc, "<message xmlns='jabber:client' type='groupchat' from='u0@localhost/r'"
			" to='room@conference.localhost'><body>hello, this is a message of some"
			" fifty bytes</body></message>");
	t1 = bench_cpu_seconds();
	bench_report(&bench, occupants, messages, sent, t1 - t0);
	muc_free(&muc);
	config_free(&cfg);
	return 0;
}
