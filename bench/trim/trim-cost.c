/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * trim-cost: what a trimmed stream pays for its next stanza. A server sx
 * takes a client header, then the same chat message N times, either
 * straight through or with sx_trim() before each one (so every stanza
 * rebuilds the parser from the recorded header first). Prints CPU time
 * per stanza for both and the difference: the price c2s pays when a
 * client talks just slower than the trim sweep.
 *
 *   trim-cost [N]        N stanzas per run (default 200000)
 *
 * CPU time is the process's (CLOCK_PROCESS_CPUTIME_ID); the best of
 * three runs of each kind is reported.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sx/sx.h"
#include "util/nad.h"

static const char header[] =
	"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
	"xmlns:stream='http://etherx.jabber.org/streams' to='example.org' "
	"version='1.0'>";
static const char stanza[] =
	"<message to='bob@example.org/phone' type='chat' id='m1'>"
	"<body>Are we still on for lunch at noon tomorrow?</body>"
	"<active xmlns='http://jabber.org/protocol/chatstates'/></message>";

static unsigned long elements;

static void on_element(struct sx *sx, struct nad *nad, void *ctx)
{
	(void)sx;
	(void)ctx;
	elements++;
	nad_free(&nad);
}

static const struct sx_callbacks cb = { .element = on_element };

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void drain(struct sx *sx)
{
	size_t len;

	while (sx_output(sx, &len) != NULL && len > 0)
		sx_output_consumed(sx, len);
}

/* Seconds of CPU for n stanzas; trims before each if `trim`. */
static double run(unsigned long n, int trim)
{
	struct sx *sx = sx_new(SX_SERVER, NULL, &cb, NULL);
	struct sx_header h = { .ns = "jabber:client", .version = "1.0",
			       .from = "example.org" };
	unsigned long parked = 0, i;
	double t0, t;

	sx_input(sx, header, strlen(header));
	sx_open(sx, &h);
	drain(sx);
	elements = 0;
	t0 = cpu_now();
	for (i = 0; i < n; i++) {
		if (trim)
			parked += (unsigned long)sx_trim(sx);
		sx_input(sx, stanza, sizeof(stanza) - 1);
	}
	t = cpu_now() - t0;
	if (elements != n || (trim && parked != n)) {
		fprintf(stderr, "trim-cost: %lu of %lu stanzas arrived, %lu trims took\n",
			elements, n, parked);
		exit(1);
	}
	sx_free(&sx);
	return t;
}

int main(int argc, char **argv)
{
	unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 10) : 200000;
	double plain = 1e9, trimmed = 1e9;
	int r;

	if (n == 0) {
		fprintf(stderr, "usage: trim-cost [N]\n");
		return 2;
	}
	for (r = 0; r < 3; r++) {
		double a = run(n, 0), b = run(n, 1);

		if (a < plain)
			plain = a;
		if (b < trimmed)
			trimmed = b;
	}
	printf("stanzas per run: %lu (%zu bytes each), best of 3\n", n, sizeof(stanza) - 1);
	printf("untouched stream: %.2f us CPU per stanza\n", plain * 1e6 / (double)n);
	printf("trimmed before each: %.2f us CPU per stanza\n", trimmed * 1e6 / (double)n);
	printf("cost of a rebuild: %.2f us\n", (trimmed - plain) * 1e6 / (double)n);
	return 0;
}
