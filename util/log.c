/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * log: where the daemons' messages go (syslog, a file or stdout, chosen by
 * <log type='...'> in each daemon's config), in jabberd2's line format
 * "<ctime text> [<level>] <text>". Until log_open() runs, everything goes
 * to stderr in the same format, so libraries and unit tests can log.
 *
 * The state is process-global: each daemon has exactly one log.
 */
#include "config.h"
#include "util/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

#include "util/buf.h"

enum log_target {
	LOG_TARGET_STDERR,      /* before log_open() and after log_close() */
	LOG_TARGET_STDOUT,
	LOG_TARGET_SYSLOG,
	LOG_TARGET_FILE,
};

static struct {
	enum log_target target;
	FILE *fp;               /* LOG_TARGET_FILE */
	char *path;             /* the file, kept for log_reopen() */
	char *ident;            /* openlog() keeps the pointer */
	int debug;
} log_state;

static const struct {
	const char *name;
	int facility;
} log_facilities[] = {
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
	{ "user", LOG_USER },     { "log_user", LOG_USER },
	{ "daemon", LOG_DAEMON },
};

/* jabberd2's level names, indexed by syslog priority. */
static const char *const log_level_names[] = {
	[LOG_EMERG] = "emergency", [LOG_ALERT] = "alert",
	[LOG_CRIT] = "critical",   [LOG_ERR] = "error",
	[LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
	[LOG_INFO] = "info",       [LOG_DEBUG] = "debug",
};

static int log_facility(const char *name)
{
	size_t i;

	if (name == NULL)
		return LOG_LOCAL7;
	for (i = 0; i < sizeof(log_facilities) / sizeof(log_facilities[0]); i++)
		if (strcasecmp(name, log_facilities[i].name) == 0)
			return log_facilities[i].facility;
	return LOG_LOCAL7;
}

/* Write one line to a stdio stream. */
static void log_line(FILE *fp, int prio, const char *msg)
{
	char when[64];
	time_t now = time(NULL);
	char *nl;

	if (ctime_r(&now, when) == NULL)
		snprintf(when, sizeof(when), "%lld", (long long)now);
	nl = strchr(when, '\n');
	if (nl != NULL)
		*nl = '\0';
	fprintf(fp, "%s [%s] %s\n", when, log_level_names[prio], msg);
	fflush(fp);
}

static void log_emit(int prio, const char *msg)
{
	switch (log_state.target) {
	case LOG_TARGET_SYSLOG:
		syslog(prio, "%s", msg);
		break;
	case LOG_TARGET_FILE:
		log_line(log_state.fp, prio, msg);
		break;
	case LOG_TARGET_STDOUT:
		log_line(stdout, prio, msg);
		break;
	case LOG_TARGET_STDERR:
		log_line(stderr, prio, msg);
		break;
	}
}

/* Format and emit; `err` (an errno value, or 0) adds ": strerror(err)". */
static void log_vlog(int prio, int err, const char *fmt, va_list ap)
{
	struct buf b = { 0 };

	if (prio == LOG_DEBUG && !log_state.debug)
		return;
	buf_vprintf(&b, fmt, ap);
	if (err != 0)
		buf_printf(&b, ": %s", strerror(err));
	log_emit(prio, b.data);
	buf_free(&b);
}

/* Tell log_vlog() a warning from inside this file (no format checks needed). */
static void log_self(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_self(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(prio, 0, fmt, ap);
	va_end(ap);
}

static FILE *log_fopen(const char *path, int *err_r)
{
	FILE *fp = fopen(path, "ae");

	if (fp == NULL) {
		*err_r = errno;
		return NULL;
	}
	setvbuf(fp, NULL, _IOLBF, 0);
	return fp;
}

enum log_type log_type_parse(const char *name)
{
	if (name != NULL && strcmp(name, "syslog") == 0)
		return LOG_TYPE_SYSLOG;
	if (name != NULL && strcmp(name, "file") == 0)
		return LOG_TYPE_FILE;
	return LOG_TYPE_STDOUT;
}

int log_open(enum log_type type, const char *ident, const char *facility,
	     const char *file, const char **error_r)
{
	int err = 0;

	log_close();
	switch (type) {
	case LOG_TYPE_SYSLOG:
		log_state.ident = xstrdup(ident != NULL ? ident : "jabberd");
		openlog(log_state.ident, LOG_PID, log_facility(facility));
		log_state.target = LOG_TARGET_SYSLOG;
		return 0;
	case LOG_TYPE_STDOUT:
		log_state.target = LOG_TARGET_STDOUT;
		return 0;
	case LOG_TYPE_FILE:
		break;
	default:
		*error_r = "unknown log type";
		return -1;
	}
	if (file == NULL || *file == '\0') {
		log_state.target = LOG_TARGET_STDOUT;
		log_self(LOG_WARNING, "log: no log file given, logging to stdout");
		return 0;
	}
	log_state.fp = log_fopen(file, &err);
	if (log_state.fp == NULL) {
		log_state.target = LOG_TARGET_STDOUT;
		log_self(LOG_WARNING, "log: cannot open %s: %s, logging to stdout",
			 file, strerror(err));
		return 0;
	}
	log_state.path = xstrdup(file);
	log_state.target = LOG_TARGET_FILE;
	return 0;
}

void log_reopen(void)
{
	FILE *fp;
	int err = 0;

	if (log_state.target != LOG_TARGET_FILE)
		return;
	/* If the new file cannot be opened, keep writing to the old one
	 * rather than losing messages, and say so there. */
	fp = log_fopen(log_state.path, &err);
	if (fp == NULL) {
		log_self(LOG_WARNING, "log: cannot reopen %s: %s",
			 log_state.path, strerror(err));
		return;
	}
	fclose(log_state.fp);
	log_state.fp = fp;
}

void log_close(void)
{
	switch (log_state.target) {
	case LOG_TARGET_SYSLOG:
		closelog();
		break;
	case LOG_TARGET_FILE:
		fclose(log_state.fp);
		break;
	case LOG_TARGET_STDOUT:
		fflush(stdout);
		break;
	case LOG_TARGET_STDERR:
		break;
	}
	log_state.fp = NULL;
	free(log_state.path);
	log_state.path = NULL;
	free(log_state.ident);
	log_state.ident = NULL;
	log_state.target = LOG_TARGET_STDERR;
}

void log_set_debug(int on)
{
	log_state.debug = on != 0;
}

int log_get_debug(void)
{
	return log_state.debug;
}

/* Each wrapper leaves errno as it found it, so callers can log and then
 * still look at the error. */
#define LOG_WRAPPER(name, prio, with_errno)                      \
	void name(const char *fmt, ...)                          \
	{                                                        \
		int saved = errno;                               \
		va_list ap;                                      \
		va_start(ap, fmt);                               \
		log_vlog(prio, (with_errno) ? saved : 0, fmt, ap); \
		va_end(ap);                                      \
		errno = saved;                                   \
	}

LOG_WRAPPER(log_warn, LOG_WARNING, 1)
LOG_WRAPPER(log_warnx, LOG_WARNING, 0)
LOG_WRAPPER(log_notice, LOG_NOTICE, 0)
LOG_WRAPPER(log_info, LOG_INFO, 0)
LOG_WRAPPER(log_debug, LOG_DEBUG, 0)
LOG_WRAPPER(log_error, LOG_ERR, 0)

void fatal(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_CRIT, err, fmt, ap);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_CRIT, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
