/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Results as a table on stdout (for people) and as JSON (for bench/run,
 * which takes medians over repeated runs). Keys are stable: scripts
 * depend on them.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "bench/xmpp-bench/xb.h"

void xb_report_add(struct xb_report *rep, const char *key, double value,
		   const char *unit)
{
	for (int i = 0; i < rep->n; i++)
		if (strcmp(rep->r[i].key, key) == 0) {
			rep->r[i].value = value;
			return;
		}
	if (rep->n == XB_MAX_RESULTS)
		return;
	snprintf(rep->r[rep->n].key, sizeof rep->r[rep->n].key, "%s", key);
	rep->r[rep->n].value = value;
	rep->r[rep->n].unit = unit;
	rep->n++;
}

/* JSON string body: the few characters that need escaping. */
static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void json(FILE *f, const struct xb_report *rep)
{
	const struct xb_opts *o = rep->opts;

	fprintf(f, "{\"label\": ");
	json_str(f, o->label);
	fprintf(f, ", \"scenario\": \"%s\", \"complete\": %s, \"error\": ",
		xb_scenario_name(o->scenario), rep->complete ? "true" : "false");
	if (rep->error[0])
		json_str(f, rep->error);
	else
		fputs("null", f);
	fprintf(f, ", \"tls\": %s, \"mech\": \"%s\", \"count\": %ld, "
		"\"concurrency\": %d, \"pairs\": %d, \"window\": %d, "
		"\"contacts\": %d, \"rounds\": %d, \"results\": {",
		o->tls ? "true" : "false",
		o->mech == XB_MECH_PLAIN ? "PLAIN" : "SCRAM-SHA-1", o->count,
		o->concurrency, o->pairs, o->window, o->contacts, o->rounds);
	for (int i = 0; i < rep->n; i++)
		fprintf(f, "%s\"%s\": %.6g", i ? ", " : "", rep->r[i].key,
			rep->r[i].value);
	fputs("}}\n", f);
}

int xb_report_write(const struct xb_report *rep)
{
	const struct xb_opts *o = rep->opts;

	printf("xmpp-bench %s against %s (%s:%d)%s\n",
	       xb_scenario_name(o->scenario), o->label, o->server.host,
	       o->server.port, rep->complete ? "" : " -- INCOMPLETE");
	if (rep->error[0])
		printf("  first error: %s\n", rep->error);
	for (int i = 0; i < rep->n; i++)
		printf("  %-36s %14.3f %s\n", rep->r[i].key, rep->r[i].value,
		       rep->r[i].unit);
	fflush(stdout);
	if (o->json_path == NULL)
		return 0;
	if (strcmp(o->json_path, "-") == 0) {
		json(stdout, rep);
		return fflush(stdout) == 0 ? 0 : -1;
	}
	FILE *f = fopen(o->json_path, "w");
	if (f == NULL) {
		fprintf(stderr, "xmpp-bench: cannot write %s\n", o->json_path);
		return -1;
	}
	json(f, rep);
	return fclose(f) == 0 ? 0 : -1;
}
