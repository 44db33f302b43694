/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xmpp-bench: see xb.h for the parts and bench/README.md for use.
 * Exit status: 0 when the scenario completed, 1 when it ran but was cut
 * short (time bound, failed streams), 2 on a usage error.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench/xmpp-bench/xb.h"

int main(int argc, char **argv)
{
	struct xb_opts o;
	struct xb_report rep;
	const char *err = NULL;

	if (argc > 1 && (strcmp(argv[1], "-h") == 0 ||
			 strcmp(argv[1], "--help") == 0)) {
		fputs(xb_usage(), stdout);
		return 0;
	}
	if (xb_opts_parse(&o, argc - 1, argv + 1, &err) < 0) {
		fprintf(stderr, "xmpp-bench: %s\n%s", err, xb_usage());
		return 2;
	}
	if (o.progress < 0)
		o.progress = isatty(2);
	/* A server that closes on us must not kill us with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	memset(&rep, 0, sizeof rep);
	if (xb_run(&o, &rep, &err) < 0) {
		fprintf(stderr, "xmpp-bench: %s\n", err);
		return 1;
	}
	if (xb_report_write(&rep) < 0)
		return 1;
	return rep.complete ? 0 : 1;
}
