/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * daemon.c: the process around a component service (see daemon.h), on
 * the start-up and loop every daemon shares (util/daemon.h).
 */
#include "config.h"
#include "comp/daemon.h"

#include <stdio.h>
#include <stdlib.h>

#include "mio/mio.h"
#include "util/config_file.h"
#include "util/daemon.h"
#include "util/log.h"
#include "util/pidfile.h"
#include "util/sdnotify.h"

struct term_ctx {
	struct comp_daemon *d;
	void (*term)(void *ctx);
	void *ctx;
};

/* The service whose -h is printed: one per process. */
static const struct comp_daemon *usage_d;

static void usage(void)
{
	printf("%s - %s (" PACKAGE_STRING ")\n"
	       "usage: %s [-c config] [-i id] [-D] [-h]\n", usage_d->name, usage_d->what,
	       usage_d->name);
	exit(1);
}

int comp_daemon_open(struct comp_daemon *d, int argc, char **argv, const char *default_file)
{
	struct daemon_args a = { .file = default_file };
	struct daemon_opts o = { 0 };
	const char *known[24], *error;
	size_t n = 0;

	usage_d = d;
	daemon_begin(argc, argv, 0, usage, &a);
	if ((d->cfg = config_load(a.file, a.id, &error)) == NULL ||
	    config_apply(d->cfg, daemon_keys, &o, &error) < 0) {
		fprintf(stderr, "%s: %s\n", d->name, error);
		config_free(&d->cfg);
		return 2;
	}
	if (daemon_log_open(d->name, d->cfg, o.log_ident, o.log_facility, o.log_file,
			    a.debug) < 0) {
		config_free(&d->cfg);
		return 1;
	}
	d->pidfile = o.pidfile;
	daemon_pidfile_write(d->name, d->pidfile);
	log_notice("%s: starting up", d->name);
	if ((d->mio = mio_new(&error)) == NULL)
		fatalx("%s: %s", d->name, error);
	known[n++] = "log";
	known[n++] = "id";
	while (d->sections != NULL && d->sections[n - 2] != NULL &&
	       n < sizeof(known) / sizeof(known[0]) - 1) {
		known[n] = d->sections[n - 2];
		n++;
	}
	known[n] = NULL;
	config_unknown(d->cfg, daemon_keys, known);
	return 0;
}

static void on_term(int signo, void *ctx)
{
	struct term_ctx *t = ctx;

	if (t->d->shutting_down) {
		mio_stop(t->d->mio);
		return;
	}
	log_notice("%s: shutting down (signal %d)", t->d->name, signo);
	t->d->shutting_down = 1;
	sdnotify_stopping();
	t->term(t->ctx);
}

int comp_daemon_run(struct comp_daemon *d, void (*term)(void *ctx), void *ctx)
{
	struct term_ctx t = { .d = d, .term = term, .ctx = ctx };

	return daemon_run(d->mio, d->name, &(const struct daemon_signals){ .term = on_term },
			  &t) < 0 ? 1 : 0;
}

void comp_daemon_close(struct comp_daemon *d)
{
	pidfile_remove(d->pidfile);
	mio_free(&d->mio);
	config_free(&d->cfg);
	log_notice("%s: stopped", d->name);
	log_close();
}
