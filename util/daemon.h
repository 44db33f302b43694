/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * daemon: the start-up and the loop every daemon's main() shares (router,
 * sm, c2s, muc): the command line (-c FILE, -i ID, -D, -t where the
 * daemon checks its config, -h), the control signals held until the loop
 * handles them (util/signals.h), the log opened from the config, the pid
 * file (util/pidfile.h), and the loop run with SIGHUP, SIGTERM/SIGINT,
 * SIGUSR1/SIGUSR2 and the service manager's watchdog (util/sdnotify.h).
 *
 * What stays in each daemon: its config keys, what SIGTERM closes and how
 * long it waits for that (the drain timers), what SIGHUP reloads beyond
 * the log, and its exit code.
 *
 * Built as its own library (util/libdaemon.a, DAEMON_LIBS) because it runs
 * the mio loop, and util/libutil.a sits under mio/.
 */
#ifndef UTIL_DAEMON_H
#define UTIL_DAEMON_H

#include "util/config_file.h"

struct mio;

/* The command line. */
struct daemon_args {
	const char *file;       /* -c; the caller sets the default first */
	const char *id;         /* -i, or NULL */
	int debug;              /* -D */
	int check_only;         /* -t (only when allowed) */
};

/*
 * First thing in main(): holds the control signals, sets the umask (027)
 * and reads the command line into *a. An unknown option, -h, or -t when
 * !allow_check calls usage() (which exits).
 */
void daemon_begin(int argc, char **argv, int allow_check, void (*usage)(void),
		  struct daemon_args *a);

/* The top-level keys of a daemon that has no others (sm, muc): <pidfile>
 * and <log>'s ident, facility and file, read with config_apply(cfg,
 * daemon_keys, &opts, ...). */
struct daemon_opts {
	const char *pidfile;
	const char *log_ident, *log_facility, *log_file;
};
extern const struct config_key daemon_keys[];

/*
 * Open the log as the config says (<log type=...>, with the ident,
 * facility and file the daemon read from its keys; a NULL ident is
 * "jabberd/NAME", as jabberd2's) and set debug logging from -D. Returns 0, or -1 after printing "name: reason" on stderr (the
 * daemon exits 1).
 */
int daemon_log_open(const char *name, const struct config *cfg, const char *ident,
		    const char *facility, const char *file, int debug);

/* Write the pid file (NULL path: none); a failure is logged, not fatal, as
 * in jabberd2. */
void daemon_pidfile_write(const char *name, const char *path);

/* The daemon's own signal handlers (mio_signal_cb's shape). */
struct daemon_signals {
	/* SIGHUP. NULL: reopen the log, telling the service manager
	 * (RELOADING=1, then READY=1). A handler of its own calls
	 * daemon_reopen_log() itself among what it reloads. */
	void (*hup)(int signo, void *ctx);
	/* SIGTERM and SIGINT: start the orderly shutdown, which ends with
	 * mio_stop() (bounded by the daemon's own drain timer). */
	void (*term)(int signo, void *ctx);
};

/* The default SIGHUP: RELOADING=1, reopen the log, READY=1. */
void daemon_reopen_log(int signo, void *ctx);

/*
 * Install the handlers (SIGUSR1/SIGUSR2 turn debug logging off/on),
 * release the held signals, ping the service manager's watchdog if it
 * asked for pings, and run the loop until mio_stop(). Returns 0, or -1
 * if the loop failed (logged as "name: reason"; the daemon exits 1).
 */
int daemon_run(struct mio *mio, const char *name, const struct daemon_signals *sig,
	       void *ctx);

#endif
