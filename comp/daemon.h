/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * daemon: the process around a component service (muc, pubsub), the same
 * for each: the command line (-c FILE, -i ID, -D, -h), the config with its
 * pidfile and log keys, the log, the pid file, the loop and its signals
 * (SIGHUP reopens the log, SIGUSR1/SIGUSR2 debug off/on, SIGTERM/SIGINT
 * call the service's term() once and stop the loop the second time), the
 * systemd watchdog, and the tidy exit. The service keeps its own router
 * link (comp/comp.h) and what it means to be ready.
 *
 *	struct comp_daemon d = { .name = "muc", .what = "...", ... };
 *	if ((rc = comp_daemon_open(&d, argc, argv, SYSCONFDIR "/muc.xml")) != 0)
 *		return rc;
 *	... service from d.cfg on d.mio, link to the router ...
 *	rc = comp_daemon_run(&d, term, svc);
 *	... free the service ...
 *	comp_daemon_close(&d);
 */
#ifndef COMP_DAEMON_H
#define COMP_DAEMON_H

struct config;
struct mio;

struct comp_daemon {
	/* Set by the caller. */
	const char *name;           /* "muc": messages, log ident jabberd/<name> */
	const char *what;           /* for -h: "multi-user chat service (XEP-0045)" */
	const char *const *sections; /* the config sections the service reads */
	/* Set by comp_daemon_open(). */
	struct config *cfg;
	struct mio *mio;
	const char *pidfile;
	int shutting_down;          /* a SIGTERM/SIGINT came */
};

/*
 * Read the command line and the config, open the log, write the pid file,
 * make the loop, warn of unknown config sections. 0, or the status to
 * exit with (2 for a bad command line or config, 1 for a log that cannot
 * be opened) after saying why.
 */
int comp_daemon_open(struct comp_daemon *d, int argc, char **argv, const char *default_file);

/* Run the loop until stopped; term(ctx) is called at the first SIGTERM or
 * SIGINT. Returns 0, or 1 if the loop failed. */
int comp_daemon_run(struct comp_daemon *d, void (*term)(void *ctx), void *ctx);

/* Remove the pid file, free the loop and the config, close the log. */
void comp_daemon_close(struct comp_daemon *d);

#endif
