/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * jabberd-cluster: ask a router's cluster module, over its control
 * socket (cluster-mod/cluster_control.h; its path: cluster_config.h), for this node's status.
 *
 *	jabberd-cluster [-s SOCKET | -c router.xml [-i ID]] status|json|metrics
 *
 * Exit status: 0 when the node answered, 1 when the socket cannot be
 * reached or the node answered with an error, 2 for a usage error.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cluster-mod/cluster_config.h"
#include "util/config_file.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc/jabberd"
#endif

/* The whole exchange, connect to last byte. */
#define CLIENT_TIMEOUT_MS 10000
/* A response larger than this is cut (a node reports a few KiB per peer). */
#define CLIENT_MAX_RESPONSE (16 * 1024 * 1024)

static void usage(void)
{
	fprintf(stderr,
		"usage: jabberd-cluster [-s SOCKET | -c router.xml [-i ID]] status|json|metrics\n"
		"  status   this node, its peers and links, refusals, router counters\n"
		"  json     the same as one JSON object\n"
		"  metrics  Prometheus text format\n"
		"  -s SOCKET      the control socket (default: from router.xml)\n"
		"  -c router.xml  the router's configuration (default %s/router.xml)\n"
		"  -i ID          the router's -i value, for ${id} in router.xml\n",
		SYSCONFDIR);
	exit(2);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for `events` on fd until the deadline. 1 ready, 0 timed out. */
static int wait_fd(int fd, short events, long long deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	long long left;
	int rc;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			return 0;
		rc = poll(&p, 1, (int)left);
		if (rc > 0)
			return 1;
		if (rc < 0 && errno != EINTR)
			return 0;
	}
}

/* The last guard: a connect that blocks (a router stopped with SIGSTOP
 * and its backlog full) still ends, with status 1. */
static void on_alarm(int sig)
{
	static const char msg[] = "jabberd-cluster: no answer in time\n";

	(void)sig;
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
		/* nothing more to say */
	}
	_exit(1);
}

static int ask(const char *path, const char *request)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	long long deadline = now_ms() + CLIENT_TIMEOUT_MS;
	size_t total = 0, off = 0, len = strlen(request);
	char buf[8192];
	ssize_t n;
	int fd, error_reply = -1;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "jabberd-cluster: %s: path too long for a unix socket\n", path);
		return 1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	signal(SIGALRM, on_alarm);
	alarm(CLIENT_TIMEOUT_MS / 1000 + 2);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "jabberd-cluster: cannot reach the cluster module at %s: %s "
			"(is the router running with a <cluster> section?)\n", path,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	while (off < len) {
		if (!wait_fd(fd, POLLOUT, deadline))
			goto timeout;
		n = write(fd, request + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "jabberd-cluster: %s: write: %s\n", path, strerror(errno));
			close(fd);
			return 1;
		}
		off += (size_t)n;
	}
	for (;;) {
		if (!wait_fd(fd, POLLIN, deadline))
			goto timeout;
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "jabberd-cluster: %s: read: %s\n", path, strerror(errno));
			close(fd);
			return 1;
		}
		if (n == 0)
			break;
		if (error_reply < 0)
			error_reply = n >= 7 && memcmp(buf, "error: ", 7) == 0;
		if (total + (size_t)n > CLIENT_MAX_RESPONSE) {
			fprintf(stderr, "jabberd-cluster: %s: response over %d bytes, cut\n", path,
				CLIENT_MAX_RESPONSE);
			close(fd);
			return 1;
		}
		total += (size_t)n;
		fwrite(buf, 1, (size_t)n, error_reply == 1 ? stderr : stdout);
	}
	close(fd);
	if (total == 0) {
		fprintf(stderr, "jabberd-cluster: %s: closed without an answer\n", path);
		return 1;
	}
	return error_reply == 1 ? 1 : 0;
timeout:
	fprintf(stderr, "jabberd-cluster: %s: no answer within %d ms\n", path, CLIENT_TIMEOUT_MS);
	close(fd);
	return 1;
}

int main(int argc, char **argv)
{
	const char *sock = NULL, *file = NULL, *id = NULL, *request, *error;
	char path[CLUSTER_CONTROL_PATH_MAX + 1];
	struct config *cfg;
	int ch;

	while ((ch = getopt(argc, argv, "s:c:i:h")) != -1) {
		switch (ch) {
		case 's': sock = optarg; break;
		case 'c': file = optarg; break;
		case 'i': id = optarg; break;
		default: usage();
		}
	}
	if (optind != argc - 1 || (sock != NULL && (file != NULL || id != NULL)))
		usage();
	if (strcmp(argv[optind], "status") == 0)
		request = "status\n";
	else if (strcmp(argv[optind], "json") == 0)
		request = "status json\n";
	else if (strcmp(argv[optind], "metrics") == 0)
		request = "metrics\n";
	else
		usage();
	if (sock == NULL) {
		cfg = config_load(file != NULL ? file : SYSCONFDIR "/router.xml", id, &error);
		if (cfg == NULL) {
			fprintf(stderr, "jabberd-cluster: %s\n", error);
			return 1;
		}
		if (cluster_control_path(cfg, path, sizeof(path)) < 0) {
			fprintf(stderr, "jabberd-cluster: %s: the control socket's path is too "
				"long\n", config_file(cfg));
			config_free(&cfg);
			return 1;
		}
		config_free(&cfg);
		sock = path;
	}
	return ask(sock, request);
}
