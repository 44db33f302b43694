/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pidfile: the <pidfile> every daemon writes at start, as jabberd2 writes
 * it: the decimal process id with no newline, the file truncated first.
 * jabberd2 never removes it; ours removes it at an orderly exit
 * (pidfile_remove), so a pid file left behind means a daemon that died,
 * and the launcher, init scripts and monitoring can tell.
 */
#ifndef UTIL_PIDFILE_H
#define UTIL_PIDFILE_H

/* Write our pid to `path` (NULL: no pid file, returns 0). Returns 0, or -1
 * with *error_r set to the reason (strerror text); the caller logs it,
 * naming the daemon and the path. */
int pidfile_write(const char *path, const char **error_r);

/* Remove `path` if it still holds our pid (a daemon started since with
 * the same file keeps its own). NULL path: nothing. Errors are ignored:
 * this runs on the way out. */
void pidfile_remove(const char *path);

#endif
