/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * signals: a daemon's signals held from its first instruction until its
 * loop handles them. A daemon writes its pid file early (as jabberd2's
 * do), and a launcher, an init script or a test may send SIGTERM as soon
 * as it sees it; without this, a SIGTERM that arrives while storage is
 * being opened kills the daemon by the default action, with no orderly
 * exit and its pid file left behind. Held, it waits and is handled by the
 * loop's handler once that is installed.
 */
#ifndef UTIL_SIGNALS_H
#define UTIL_SIGNALS_H

/* Block SIGTERM, SIGINT, SIGHUP, SIGUSR1 and SIGUSR2. Call first thing in
 * main(). */
void signals_hold(void);

/* Unblock them: call once the loop's handlers are installed; a signal
 * that came meanwhile is delivered then. */
void signals_release(void);

#endif
