/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * log: the daemons' logging, to syslog, a file or stdout, as jabberd2's
 * <log type='...'> selects. File and stdout lines look like jabberd2's:
 * "<ctime> [<level>] <text>". Debug messages are written only while debug is
 * on (-D, or SIGUSR2 / SIGUSR1 in a daemon).
 *
 * Until log_open() is called, messages go to stderr, so libraries may log
 * from unit tests.
 */
#ifndef UTIL_LOG_H
#define UTIL_LOG_H

#include <stdarg.h>

enum log_type {
	LOG_TYPE_STDOUT,
	LOG_TYPE_SYSLOG,
	LOG_TYPE_FILE,
};

/* The type named by <log type='...'>: "syslog", "file", or stdout for
 * anything else and for NULL (no <log> or no type), as jabberd2 does. */
enum log_type log_type_parse(const char *name);

/*
 * Open the log. `ident` is the syslog ident (e.g. "jabberd/router");
 * `facility` a syslog facility name ("local0".."local7", "user"; NULL or
 * unknown = local7, as jabberd2); `file` the path for LOG_TYPE_FILE (if it
 * cannot be opened, stdout is used and a warning says why).
 * Returns 0, or -1 with *error_r set.
 */
int log_open(enum log_type type, const char *ident, const char *facility,
	     const char *file, const char **error_r);
/* Reopen the log file (SIGHUP, for logrotate). */
void log_reopen(void);
void log_close(void);
void log_set_debug(int on);
int log_get_debug(void);

/* log_warn appends ": strerror(errno)". fatal/fatalx log at critical level
 * and exit(1). */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
