/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * daemon.c: a daemon's start-up and loop (util/daemon.h), once for the
 * router, sm, c2s and muc.
 */
#include "config.h"
#include "util/daemon.h"

#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mio/mio.h"
#include "util/config_file.h"
#include "util/log.h"
#include "util/pidfile.h"
#include "util/sdnotify.h"
#include "util/signals.h"

void daemon_begin(int argc, char **argv, int allow_check, void (*usage)(void),
		  struct daemon_args *a)
{
	int ch;

	signals_hold();        /* until the loop handles them */
	umask(027);
	while ((ch = getopt(argc, argv, "Dc:hi:t?")) != -1) {
		switch (ch) {
		case 'c': a->file = optarg; break;
		case 'i': a->id = optarg; break;
		case 'D': a->debug = 1; break;
		case 't':
			if (allow_check) {
				a->check_only = 1;
				break;
			}
			/* fall through */
		default: usage();
		}
	}
}

#define O(f) offsetof(struct daemon_opts, f)
const struct config_key daemon_keys[] = {
	{ "pidfile", CONFIG_STRING, NULL, O(pidfile), 0, 0 },
	{ "log.ident", CONFIG_STRING, NULL, O(log_ident), 0, 0 },
	{ "log.facility", CONFIG_STRING, NULL, O(log_facility), 0, 0 },
	{ "log.file", CONFIG_STRING, NULL, O(log_file), 0, 0 },
	{ NULL, 0, NULL, 0, 0, 0 },
};
#undef O

int daemon_log_open(const char *name, const struct config *cfg, const char *ident,
		    const char *facility, const char *file, int debug)
{
	char def[64];
	const char *error;

	if (ident == NULL) {
		snprintf(def, sizeof(def), "jabberd/%s", name);
		ident = def;
	}
	if (log_open(log_type_parse(config_attr(cfg, "log", 0, "type")), ident, facility, file,
		     &error) < 0) {
		fprintf(stderr, "%s: %s\n", name, error);
		return -1;
	}
	log_set_debug(debug);
	return 0;
}

void daemon_pidfile_write(const char *name, const char *path)
{
	const char *error;

	if (pidfile_write(path, &error) < 0)
		log_warnx("%s: cannot write pid file %s: %s", name, path, error);
}

void daemon_reopen_log(int signo, void *ctx)
{
	(void)signo, (void)ctx;
	sdnotify_reloading();
	log_reopen();
	sdnotify_reloaded();
}

static void on_debug(int signo, void *ctx)
{
	(void)ctx;
	log_set_debug(signo == SIGUSR2);
}

int daemon_run(struct mio *mio, const char *name, const struct daemon_signals *sig,
	       void *ctx)
{
	struct mio_timer *watchdog;
	const char *error;
	int rc = 0;

	mio_signal(mio, SIGHUP, sig->hup != NULL ? sig->hup : daemon_reopen_log, ctx, &error);
	mio_signal(mio, SIGTERM, sig->term, ctx, &error);
	mio_signal(mio, SIGINT, sig->term, ctx, &error);
	mio_signal(mio, SIGUSR1, on_debug, ctx, &error);
	mio_signal(mio, SIGUSR2, on_debug, ctx, &error);
	signals_release();
	watchdog = mio_timer_new(mio, sdnotify_watchdog_timer, NULL);
	if (sdnotify_watchdog_ms() > 0)
		mio_timer_start(watchdog, sdnotify_watchdog_ms(), 1);
	if (mio_run(mio, &error) < 0) {
		log_error("%s: %s", name, error);
		rc = -1;
	}
	mio_timer_free(&watchdog);
	return rc;
}
