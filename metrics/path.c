/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * path.c: where a daemon's status socket is (metrics.h), for the daemon
 * and for jabberd-status alike; nothing else, so that the command links
 * without the loop.
 */
#include "config.h"
#include "metrics/metrics.h"

#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "util/config_file.h"

int metrics_socket_path(const struct config *cfg, char *out, size_t size, int *is_default,
			const char **error_r)
{
	const char *sock = config_get(cfg, "metrics.socket");
	const char *pidfile = config_get(cfg, "pidfile");
	size_t stem, max = sizeof(((struct sockaddr_un *)0)->sun_path);
	int n;

	*is_default = 0;
	if (sock != NULL && strcmp(sock, "off") == 0)
		return 0;
	if (sock != NULL && sock[0] != '\0') {
		if (sock[0] != '/') {
			*error_r = "<metrics><socket> is not an absolute path (or off)";
			return -1;
		}
		n = snprintf(out, size, "%s", sock);
	} else if (pidfile != NULL && pidfile[0] == '/') {
		*is_default = 1;
		stem = strlen(pidfile);
		if (stem > 4 && strcmp(pidfile + stem - 4, ".pid") == 0)
			stem -= 4;
		n = snprintf(out, size, "%.*s%s", (int)stem, pidfile, METRICS_SOCKET_SUFFIX);
	} else {
		return 0;
	}
	if (n < 0 || (size_t)n >= size || (size_t)n >= max) {
		*error_r = "the status socket's path is longer than a unix socket's 107 bytes";
		return -1;
	}
	return 1;
}
