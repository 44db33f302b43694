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
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/config_file.h"
#include "util/log.h"
#include "util/nad.h"

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
	const char *error;
	struct nad *nad = nad_parse(xml, strlen(xml), 0, &error, NULL);

	if (nad == NULL) {
		fprintf(stderr, "bench_pubsub: %s\n", error);
		exit(1);
	}
	pubsub_stanza(ps, nad);
}

static double cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static const char conf[] = "<pubsub><service>pubsub.localhost</service>"
				   "<limits><subscriptions-per-node>1000000</subscriptions-per-node>"
				   "</limits></pubsub>";
	int subscribers = argc > 1 ? atoi(argv[1]) : 50;
	int pubs = argc > 2 ? atoi(argv[2]) : 2000;
	const char *error;
	struct config *cfg;
	struct pubsub *ps;
	char xml[768];
	double t0, t1;
	int i;

	if (subscribers < 1 || subscribers > 1000000 || pubs < 1 || pubs > 10000000) {
		fprintf(stderr, "usage: bench_pubsub [subscribers 1..1000000 [publications]]\n");
		return 1;
	}
	log_set_debug(0);
	if (log_open(LOG_TYPE_FILE, "bench", NULL, "/dev/null", &error) < 0)
		return 1;
	cfg = config_load_mem("pubsub.xml", conf, strlen(conf), NULL, &error);
	if (cfg == NULL || (ps = pubsub_new(cfg, &error)) == NULL) {
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
	t0 = cpu_seconds();
	for (i = 0; i < pubs; i++)
		in(ps, "<iq xmlns='jabber:client' type='set' id='p' from='owner@localhost/r' "
		       "to='pubsub.localhost'><pubsub xmlns='http://jabber.org/protocol/pubsub'>"
		       "<publish node='urn:xmpp:avatar:metadata'><item id='111f4b3c50d7b0df729d299b"
		       "c6f8e9ef9066971f'><metadata xmlns='urn:xmpp:avatar:metadata'><info bytes="
		       "'12345' id='111f4b3c50d7b0df729d299bc6f8e9ef9066971f' height='64' "
		       "type='image/png' width='64'/></metadata></item></publish></pubsub></iq>");
	t1 = cpu_seconds();
	printf("subscribers %d, publications %d: %lu notifications in %.3f s CPU: "
	       "%.0f notifications/s, %.3f ms CPU per 1000 notifications\n",
	       subscribers, pubs, sent, t1 - t0, (double)sent / (t1 - t0),
	       (t1 - t0) * 1e6 / (double)sent);
	pubsub_free(&ps);
	config_free(&cfg);
	log_close();
	return 0;
}
