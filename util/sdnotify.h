/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sdnotify: what the four daemons tell a service manager (systemd's
 * notify protocol, through libsystemd's sd_notify). Every call is a no-op
 * when the daemon was not started with NOTIFY_SOCKET set, or when the
 * tree was configured --without-systemd, so the daemons call them
 * unconditionally.
 *
 * When to call them (etc/systemd/ has the units, Type=notify):
 *   sdnotify_ready     once the daemon really serves: the router after it
 *                      listens; sm, c2s and s2s after the router accepted
 *                      their binds and their own listeners are open.
 *   sdnotify_stopping  on SIGTERM/SIGINT, before the streams close.
 *   sdnotify_watchdog  from a timer on the daemon's loop, every
 *                      sdnotify_watchdog_ms() ms, so a stuck loop stops
 *                      the pings and systemd restarts the daemon.
 */
#ifndef UTIL_SDNOTIFY_H
#define UTIL_SDNOTIFY_H

/* READY=1 with STATUS=`status` (may be NULL). Sent once per process:
 * later calls (a router link that came back) only update STATUS. */
void sdnotify_ready(const char *status);

/* STOPPING=1. */
void sdnotify_stopping(void);

/* RELOADING=1 before a SIGHUP reload, then READY=1 once it is done. */
void sdnotify_reloading(void);
void sdnotify_reloaded(void);

/* WATCHDOG=1. */
void sdnotify_watchdog(void);

/* The same as a mio timer callback (mio_timer_cb), so a daemon starts its
 * pings with mio_timer_new(mio, sdnotify_watchdog_timer, NULL) without a
 * wrapper of its own. util/ does not include mio/: the struct stays
 * opaque here. */
struct mio_timer;
void sdnotify_watchdog_timer(struct mio_timer *timer, void *ctx);

/* How often to call sdnotify_watchdog, in ms: half of WATCHDOG_USEC when
 * the service manager asked this process (WATCHDOG_PID) for pings, else
 * 0 (no pings wanted). */
unsigned sdnotify_watchdog_ms(void);

#endif
