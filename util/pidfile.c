/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pidfile: writes a daemon's pid file (util/pidfile.h), the one piece of
 * start-up the four daemons share byte for byte.
 */
#include "config.h"
#include "util/pidfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int pidfile_write(const char *path, const char **error_r)
{
	char buf[32];
	int fd, n, saved;

	if (path == NULL)
		return 0;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		*error_r = strerror(errno);
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%ld", (long)getpid());
	if (write(fd, buf, (size_t)n) != n) {
		saved = errno;
		close(fd);
		*error_r = saved != 0 ? strerror(saved) : "short write";
		return -1;
	}
	if (close(fd) < 0) {
		*error_r = strerror(errno);
		return -1;
	}
	return 0;
}

void pidfile_remove(const char *path)
{
	char buf[32], want[32];
	ssize_t n;
	int fd;

	if (path == NULL || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	snprintf(want, sizeof(want), "%ld", (long)getpid());
	if (strcmp(buf, want) == 0)
		(void)unlink(path);
}
