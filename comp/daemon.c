/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * daemon.c: the process around a component service (see daemon.h).
 */
#include "config.h"
#include "comp/daemon.h"

#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mio/mio.h"
#include "util/config_file.h"
#include "util/log.h"
#include "util/pidfile.h"
#include "util/sdnotify.h"
#include "util/signals.h"

struct daemon_opts {
	const char *pidfile;
	const char *log_ident, *log_facility, *log_file;
};

struct term_ctx {
	struct comp_daemon *d;
	void (*term)(void *ctx);
	void *ctx;
};

static void usage(const struct comp_daemon *d)
{
	printf("%s - %s (" PACKAGE_STRING ")\n"
	       "usage: %s [-c config] [-i id] [-D] [-h]\n", d->name, d->what, d->name);
	exit(1);
}

int comp_daemon_open(struct comp_daemon *d, int argc, char **argv, const char *default_file)
{
	char ident[64];
	const char *file = default_file, *id = NULL, *error;
	const char *known[24];
	struct daemon_opts o = { 0 };
	struct config_key keys[] = {
		{ "pidfile", CONFIG_STRING, NULL, offsetof(struct daemon_opts, pidfile), 0, 0 },
		{ "log.ident", CONFIG_STRING, ident, offsetof(struct daemon_opts, log_ident), 0, 0 },
		{ "log.facility", CONFIG_STRING, NULL, offsetof(struct daemon_opts, log_facility),
		  0, 0 },
		{ "log.file", CONFIG_STRING, NULL, offsetof(struct daemon_opts, log_file), 0, 0 },
		{ NULL, 0, NULL, 0, 0, 0 },
	};
	int ch, debug = 0;
	size_t n = 0;

	snprintf(ident, sizeof(ident), "jabberd/%s", d->name);
	signals_hold();        /* until the loop handles them */
	umask(027);
	while ((ch = getopt(argc, argv, "Dc:hi:?")) != -1) {
		switch (ch) {
		case 'c': file = optarg; break;
		case 'i': id = optarg; break;
		case 'D': debug = 1; break;
		default: usage(d);
		}
	}
	if ((d->cfg = config_load(file, id, &error)) == NULL ||
	    config_apply(d->cfg, keys, &o, &error) < 0) {
		fprintf(stderr, "%s: %s\n", d->name, error);
		config_free(&d->cfg);
		return 2;
	}
	if (log_open(log_type_parse(config_attr(d->cfg, "log", 0, "type")), o.log_ident,
		     o.log_facility, o.log_file, &error) < 0) {
		fprintf(stderr, "%s: %s\n", d->name, error);
		config_free(&d->cfg);
		return 1;
	}
	log_set_debug(debug);
	d->pidfile = o.pidfile;
	if (pidfile_write(d->pidfile, &error) < 0)
		log_warnx("%s: cannot write pid file %s: %s", d->name, d->pidfile, error);
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
	config_unknown(d->cfg, keys, known);
	return 0;
}

static void on_hup(int signo, void *ctx)
{
	(void)signo, (void)ctx;
	sdnotify_reloading();
	log_reopen();
	sdnotify_reloaded();
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

static void on_debug(int signo, void *ctx)
{
	(void)ctx;
	log_set_debug(signo == SIGUSR2);
}

int comp_daemon_run(struct comp_daemon *d, void (*term)(void *ctx), void *ctx)
{
	struct term_ctx t = { .d = d, .term = term, .ctx = ctx };
	struct mio_timer *watchdog;
	const char *error;
	int rc = 0;

	mio_signal(d->mio, SIGHUP, on_hup, NULL, &error);
	mio_signal(d->mio, SIGTERM, on_term, &t, &error);
	mio_signal(d->mio, SIGINT, on_term, &t, &error);
	mio_signal(d->mio, SIGUSR1, on_debug, NULL, &error);
	mio_signal(d->mio, SIGUSR2, on_debug, NULL, &error);
	signals_release();
	watchdog = mio_timer_new(d->mio, sdnotify_watchdog_timer, NULL);
	if (sdnotify_watchdog_ms() > 0)
		mio_timer_start(watchdog, sdnotify_watchdog_ms(), 1);
	if (mio_run(d->mio, &error) < 0) {
		log_error("%s: %s", d->name, error);
		rc = 1;
	}
	mio_timer_free(&watchdog);
	return rc;
}

void comp_daemon_close(struct comp_daemon *d)
{
	pidfile_remove(d->pidfile);
	mio_free(&d->mio);
	config_free(&d->cfg);
	log_notice("%s: stopped", d->name);
	log_close();
}
