/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_pubsub: the pubsub service's own cost of a notification, without
 * router, sm, storage or network: a node with N subscribers, then M
 * publications of a small payload (an avatar-metadata-like element), each
 * notified to all N; what the service sends is freed at once. Prints
 * notifications per second and CPU time per 1,000. Built by `make check`,
 * run by hand:
 *
 *	pubsub/tests/bench_pubsub [subscribers [publications]]  (defaults 50 2000)
 *
 * The upper bound the daemon's logic allows; a real deployment adds the
 * router hop, the sm and c2s per notification, and a storage write per
 * publication of a persistent item.
 */
#include "config.h"
#include "pubsub/pubsub.h"

#include <stdio.h>
#include <string.h>

#include "comp/tests/bench_service.h"
#include "util/config_file.h"
#include "util/log.h"
#include "util/nad.h"

static const struct bench bench = {
	.name = "bench_pubsub", .usage = "[subscribers 1..1000000 [publications]]",
	.first = "subscribers", .second = "publications", .what = "notifications",
	.first_max = 1000000, .second_max = 10000000,
};

static unsigned long sent;

static void drop(struct pubsub *ps, struct nad *nad)
{
	(void)ps;
	if (strcmp(nad_name(nad, 0), "message") == 0)
		sent++;
	nad_free(&nad);
}

static void in(struct pubsub *ps, const char *xml)
{
	pubsub_stanza(ps, bench_stanza(&bench, xml));
}

int main(int argc, char **argv)
{
	static const char conf[] = "<pubsub><service>pubsub.localhost</service>"
				   "<limits><subscriptions-per-node>1000000</subscriptions-per-node>"
				   "</limits></pubsub>";
	int subscribers = 50, pubs = 2000;
	const char *error;
	struct config *cfg;
	struct pubsub *ps;
	char xml[768];
	double t0, t1;
	int i;

	if (bench_counts(&bench, argc, argv, &subscribers, &pubs) != 0)
		return 1;
	log_set_debug(0);
	if (log_open(LOG_TYPE_FILE, "bench", NULL, "/dev/null", &error) < 0)
		return 1;
	cfg = bench_config(&bench, "pubsub.xml", conf);
	if ((ps = pubsub_new(cfg, &error)) == NULL) {
		fprintf(stderr, "bench_pubsub: %s\n", error);
		return 1;
	}
	ps->send = drop;
	in(ps, "<iq xmlns='jabber:client' type='set' id='c' from='owner@localhost/r' "
	       "to='pubsub.localhost'><pubsub xmlns='http://jabber.org/protocol/pubsub'>"
	       "<create node='urn:xmpp:avatar:metadata'/></pubsub></iq>");
	for (i = 0; i < subscribers; i++) {
		snprintf(xml, sizeof(xml), "<iq xmlns='jabber:client' type='set' id='s' "
			 "from='u%d@localhost/r' to='pubsub.localhost'><pubsub xmlns='http://"
			 "jabber.org/protocol/pubsub'><subscribe node='urn:xmpp:avatar:metadata' "
			 "jid='u%d@localhost/r'/></pubsub></iq>", i, i);
		in(ps, xml);
	}
	sent = 0;
	t0 = bench_cpu_seconds();
	for (i = 0; i < pubs; i++)
		in(ps, "<iq xmlns='jabber:client' type='set' id='p' from='owner@localhost/r' "
		       "to='pubsub.localhost'><pubsub xmlns='http://jabber.org/protocol/pubsub'>"
		       "<publish node='urn:xmpp:avatar:metadata'><item id='111f4b3c50d7b0df729d299b"
		       "c6f8e9ef9066971f'><metadata xmlns='urn:xmpp:avatar:metadata'><info bytes="
		       "'12345' id='111f4b3c50d7b0df729d299bc6f8e9ef9066971f' height='64' "
		       "type='image/png' width='64'/></metadata></item></publish></pubsub></iq>");
	t1 = bench_cpu_seconds();
	bench_report(&bench, subscribers, pubs, sent, t1 - t0);
	pubsub_free(&ps);
	config_free(&cfg);
	log_close();
	return 0;
}
