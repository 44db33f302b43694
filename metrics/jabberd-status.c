/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * jabberd-status: ask one daemon (router, sm, c2s, s2s, muc) for its
 * counters over its status socket (metrics/metrics.h), without its HTTP
 * metrics port. `jabberd status` runs it for every daemon of a node.
 *
 *	jabberd-status [-c FILE [-i ID] | -s SOCKET] [-n NAME] [status|json|metrics]
 *
 * The socket's path comes from the daemon's config FILE as the daemon
 * computes it (<metrics><socket>, else beside <pidfile>). NAME (default:
 * FILE's name without .xml) is only for messages. Exit status: 0 when
 * the daemon answered, 1 when it cannot be reached, did not answer in
 * time or answered with an error, 2 for a usage error.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "metrics/metrics.h"
#include "util/config_file.h"

/* From connect to the last byte. */
#define STATUS_TIMEOUT_MS 5000
/* A daemon reports a few KiB; more than this is not an answer. */
#define STATUS_MAX_ANSWER (4 * 1024 * 1024)

static const char *name = "daemon";

/* The command's words and the status socket's request lines. */
static const struct {
	const char *word, *line;
} words[] = {
	{ "status", "status\n" },
	{ "text", "status\n" },
	{ "json", "status json\n" },
	{ "metrics", "metrics\n" },
};
#define NWORDS (sizeof(words) / sizeof(words[0]))

static void usage(void)
{
	fprintf(stderr,
		"usage: jabberd-status [-c FILE [-i ID] | -s SOCKET] [-n NAME] "
		"[status|json|metrics]\n"
		"  status   the daemon's counters, one a line (the default; also: text)\n"
		"  json     the same as one JSON object\n"
		"  metrics  Prometheus text format, as its HTTP port serves it\n"
		"  -c FILE    the daemon's config (router.xml, sm.xml, c2s.xml, s2s.xml, muc.xml)\n"
		"  -i ID      the daemon's -i value, for ${id} in FILE\n"
		"  -s SOCKET  the status socket's path instead of FILE's\n"
		"  -n NAME    the daemon's name in messages\n");
	exit(2);
}

/* The time left until `deadline` (CLOCK_MONOTONIC) as a socket timeout:
 * 1, or 0 when it has passed. */
static int time_left(const struct timespec *deadline, struct timeval *tv)
{
	struct timespec now;
	long long us;

	clock_gettime(CLOCK_MONOTONIC, &now);
	us = (long long)(deadline->tv_sec - now.tv_sec) * 1000000 +
	     (deadline->tv_nsec - now.tv_nsec) / 1000;
	if (us <= 0)
		return 0;
	tv->tv_sec = (time_t)(us / 1000000);
	tv->tv_usec = (suseconds_t)(us % 1000000);    /* never both 0: that is no bound */
	return 1;
}

/* Bound the socket's next send or receive (and connect) by the deadline. */
static int bound(int fd, const struct timespec *deadline)
{
	struct timeval tv;

	if (!time_left(deadline, &tv))
		return 0;
	return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0 &&
	       setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == 0;
}

static int failed(const char *path)
{
	fprintf(stderr, "jabberd-status: %s at %s: %s\n", name, path, strerror(errno));
	return 1;
}

static int late(const char *path)
{
	fprintf(stderr, "jabberd-status: %s at %s: no answer within %d ms\n", name, path,
		STATUS_TIMEOUT_MS);
	return 1;
}

/* Send the request line, copy the answer out: to stdout, or to stderr
 * when it is "error: ...". The socket's timeouts end every call by the
 * deadline. */
static int exchange(int fd, const char *path, const char *request,
		    const struct timespec *deadline)
{
	size_t off = 0, len = strlen(request), total = 0;
	int error_answer = -1;
	char buf[8192];
	ssize_t n;

	while (off < len) {
		if (!bound(fd, deadline))
			return late(path);
		n = send(fd, request + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return late(path);
		if (n < 0 && errno != EINTR) {
			return failed(path);
		}
		off += n > 0 ? (size_t)n : 0;
	}
	for (;;) {
		if (!bound(fd, deadline))
			return late(path);
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return late(path);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			return failed(path);
		}
		if (n == 0)
			break;
		if (error_answer < 0) {
			error_answer = n >= 7 && memcmp(buf, "error: ", 7) == 0;
			if (error_answer)
				fprintf(stderr, "jabberd-status: %s: ", name);
		}
		total += (size_t)n;
		if (total > STATUS_MAX_ANSWER) {
			fprintf(stderr, "jabberd-status: %s at %s: answer over %d bytes, cut\n",
				name, path, STATUS_MAX_ANSWER);
			return 1;
		}
		fwrite(buf, 1, (size_t)n, error_answer ? stderr : stdout);
	}
	if (total == 0) {
		fprintf(stderr, "jabberd-status: %s at %s: closed without an answer\n", name, path);
		return 1;
	}
	return error_answer ? 1 : 0;
}

static int ask(const char *path, const char *request, const char *file)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timespec deadline;
	int fd, rc;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "jabberd-status: %s: %s is too long for a unix socket\n", name,
			path);
		return 1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += STATUS_TIMEOUT_MS / 1000;
	static_assert(STATUS_TIMEOUT_MS % 1000 == 0, "the deadline is whole seconds");
	/* SO_SNDTIMEO bounds a unix socket's connect too: a daemon that is
	 * stopped (SIGSTOP) with its backlog full cannot hold the command. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && !bound(fd, &deadline)) {
		close(fd);
		return late(path);
	}
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		if (fd >= 0 && (errno == EAGAIN || errno == EINPROGRESS)) {
			close(fd);
			return late(path);
		}
		fprintf(stderr, "jabberd-status: %s: cannot reach its status socket %s: %s\n",
			name, path, strerror(errno));
		if (file != NULL)
			fprintf(stderr, "jabberd-status: %s: is it running, with %s's <pidfile> or "
				"<metrics><socket>?\n", name, file);
		if (fd >= 0)
			close(fd);
		return 1;
	}
	rc = exchange(fd, path, request, &deadline);
	close(fd);
	return rc;
}

int main(int argc, char **argv)
{
	const char *sock = NULL, *file = NULL, *id = NULL, *request = "status\n", *error;
	char path[256], base[256];
	struct config *cfg;
	int ch, is_default, rc;

	while ((ch = getopt(argc, argv, "c:i:s:n:h")) != -1) {
		switch (ch) {
		case 'c': file = optarg; break;
		case 'i': id = optarg; break;
		case 's': sock = optarg; break;
		case 'n': name = optarg; break;
		default: usage();
		}
	}
	if (optind < argc - 1 || (sock == NULL) == (file == NULL) || (sock != NULL && id != NULL))
		usage();
	if (optind == argc - 1) {
		size_t i = 0;

		while (i < NWORDS && strcmp(argv[optind], words[i].word) != 0)
			i++;
		if (i == NWORDS)
			usage();
		request = words[i].line;
	}
	if (file != NULL && strcmp(name, "daemon") == 0) {
		char *b, *dot;

		snprintf(base, sizeof(base), "%s", file);
		b = basename(base);
		if ((dot = strrchr(b, '.')) != NULL && strcmp(dot, ".xml") == 0)
			*dot = '\0';
		name = b;
	}
	if (sock != NULL)
		return ask(sock, request, NULL);
	if ((cfg = config_load(file, id, &error)) == NULL) {
		fprintf(stderr, "jabberd-status: %s: %s\n", name, error);
		return 1;
	}
	rc = metrics_socket_path(cfg, path, sizeof(path), &is_default, &error);
	if (rc < 0)
		fprintf(stderr, "jabberd-status: %s: %s: %s\n", name, file, error);
	else if (rc == 0)
		fprintf(stderr, "jabberd-status: %s: %s has no status socket (<metrics><socket> "
			"is off, or there is no <pidfile> to put it beside)\n", name, file);
	config_free(&cfg);
	if (rc <= 0)
		return 1;
	return ask(path, request, file);
}
