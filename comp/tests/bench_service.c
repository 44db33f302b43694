/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_service.c: the harness of the component services' benchmarks
 * (see bench_service.h).
 */
#include "config.h"
#include "comp/tests/bench_service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/config_file.h"
#include "util/nad.h"

int bench_counts(const struct bench *b, int argc, char **argv, int *first, int *second)
{
	if (argc > 1)
		*first = atoi(argv[1]);
	if (argc > 2)
		*second = atoi(argv[2]);
	if (*first < 1 || *first > b->first_max || *second < 1 || *second > b->second_max) {
		fprintf(stderr, "usage: %s %s\n", b->name, b->usage);
		return 1;
	}
	return 0;
}

struct config *bench_config(const struct bench *b, const char *file, const char *xml)
{
	const char *error;
	struct config *cfg = config_load_mem(file, xml, strlen(xml), NULL, &error);

	if (cfg == NULL) {
		fprintf(stderr, "%s: %s\n", b->name, error);
		exit(1);
	}
	return cfg;
}

struct nad *bench_stanza(const struct bench *b, const char *xml)
{
	const char *error;
	struct nad *nad = nad_parse(xml, strlen(xml), 0, &error, NULL);

	if (nad == NULL) {
		fprintf(stderr, "%s: %s\n", b->name, error);
		exit(1);
	}
	return nad;
}

double bench_cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void bench_report(const struct bench *b, int first, int second, unsigned long count,
		  double seconds)
{
	printf("%s %d, %s %d: %lu %s in %.3f s CPU: %.0f %s/s, %.3f ms CPU per 1000 %s\n",
	       b->first, first, b->second, second, count, b->what, seconds,
	       (double)count / seconds, b->what, seconds * 1e6 / (double)count, b->what);
}
