/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_service: what the benchmarks of a component service's own cost
 * (muc/tests/bench_muc, pubsub/tests/bench_pubsub) share: the command
 * line of two counts, the service's config from a string, stanzas
 * parsed from literals, the process's CPU clock, and the line of
 * results. Everything that fails says why on stderr, prefixed with the
 * benchmark's name, and exits 1.
 */
#ifndef COMP_TESTS_BENCH_SERVICE_H
#define COMP_TESTS_BENCH_SERVICE_H

struct config;
struct nad;

struct bench {
	const char *name;               /* "bench_muc" */
	const char *usage;              /* "[occupants 1..100000 [messages]]" */
	const char *first, *second;     /* "occupants", "messages" */
	const char *what;               /* what is counted: "deliveries" */
	int first_max, second_max;      /* upper bounds of the counts (lower: 1) */
};

/* The counts from argv[1] and argv[2] (*first and *second hold the
 * defaults): 0, or 1 (the status to exit with) after printing the usage. */
int bench_counts(const struct bench *b, int argc, char **argv, int *first, int *second);

/* The config `xml` as if read from `file`. */
struct config *bench_config(const struct bench *b, const char *file, const char *xml);

/* `xml` parsed: a stanza to give the service. */
struct nad *bench_stanza(const struct bench *b, const char *xml);

/* CPU time this process has used, in seconds. */
double bench_cpu_seconds(void);

/* The results: `count` of b->what in `seconds` of CPU, per second and
 * CPU per 1,000, after the two counts. */
void bench_report(const struct bench *b, int first, int second, unsigned long count,
		  double seconds);

#endif
