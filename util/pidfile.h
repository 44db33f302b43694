/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pidfile: the <pidfile> every daemon writes at start, as jabberd2 writes
 * it: the decimal process id with no newline, the file truncated first,
 * and never removed at exit.
 */
#ifndef UTIL_PIDFILE_H
#define UTIL_PIDFILE_H

/* Write our pid to `path` (NULL: no pid file, returns 0). Returns 0, or -1
 * with *error_r set to the reason (strerror text); the caller logs it,
 * naming the daemon and the path. */
int pidfile_write(const char *path, const char **error_r);

#endif
