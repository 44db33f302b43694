/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mio_test.c: the helpers declared in mio_test.h, shared by the socket
 * tests of mio.
 */
#include "config.h"
#include "mio/tests/mio_test.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "mio/mio.h"

uint64_t mio_test_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct mio_test_wait {
	struct mio *mio;
	int (*cond)(void *arg);
	void *arg;
	int met;
};

static void mio_test_poll(struct mio_timer *t, void *ctx)
{
	struct mio_test_wait *w = ctx;

	if (w->cond != NULL && w->cond(w->arg)) {
		w->met = 1;
		mio_stop(w->mio);
	}
}

static void mio_test_deadline(struct mio_timer *t, void *ctx)
{
	struct mio_test_wait *w = ctx;

	mio_stop(w->mio);
}

int mio_test_run_until(struct mio *mio, int (*cond)(void *arg), void *arg,
		       unsigned int max_ms)
{
	struct mio_test_wait w = { mio, cond, arg, 0 };
	struct mio_timer *poll, *deadline;
	const char *error;

	if (cond != NULL && cond(arg))
		return 1;
	poll = mio_timer_new(mio, mio_test_poll, &w);
	deadline = mio_timer_new(mio, mio_test_deadline, &w);
	mio_timer_start(poll, 2, 1);
	mio_timer_start(deadline, max_ms, 0);
	if (mio_run(mio, &error) < 0)
		fprintf(stderr, "mio_run: %s\n", error);
	mio_timer_free(&poll);
	mio_timer_free(&deadline);
	if (!w.met && cond != NULL && cond(arg))
		w.met = 1;
	return w.met;
}

static int mio_test_sockaddr(const char *ip, int port,
			     struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*sin6);
		return 0;
	}
	return -1;
}

int mio_test_have_ipv6(void)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, ok;

	fd = socket(AF_INET6, SOCK_STREAM, 0);
	if (fd < 0)
		return 0;
	mio_test_sockaddr("::1", 0, &ss, &len);
	ok = bind(fd, (struct sockaddr *)&ss, len) == 0;
	close(fd);
	return ok;
}

int mio_test_dual_stack(void)
{
	FILE *f = fopen("/proc/sys/net/ipv6/bindv6only", "r");
	int v = 1;

	if (f == NULL)
		return 0;
	if (fscanf(f, "%d", &v) != 1)
		v = 1;
	fclose(f);
	return v == 0 && mio_test_have_ipv6();
}

int mio_test_free_port(const char *ip)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, port = -1;

	if (mio_test_sockaddr(ip, 0, &ss, &len) < 0)
		return -1;
	fd = socket(ss.ss_family, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&ss, len) == 0 &&
	    getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		port = ntohs(ss.ss_family == AF_INET ?
			     ((struct sockaddr_in *)&ss)->sin_port :
			     ((struct sockaddr_in6 *)&ss)->sin6_port);
	close(fd);
	return port;
}

int mio_test_raw_connect(const char *ip, int port, const char *source)
{
	struct sockaddr_storage ss, src;
	socklen_t len, srclen;
	int fd;

	if (mio_test_sockaddr(ip, port, &ss, &len) < 0)
		return -1;
	fd = socket(ss.ss_family, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	if (source != NULL &&
	    (mio_test_sockaddr(source, 0, &src, &srclen) < 0 ||
	     bind(fd, (struct sockaddr *)&src, srclen) < 0))
		goto err;
	if (connect(fd, (struct sockaddr *)&ss, len) < 0)
		goto err;
	return fd;
err:
	close(fd);
	return -1;
}

int mio_test_raw_closed(int fd)
{
	char c;
	ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT | MSG_PEEK);

	if (n == 0)
		return 1;
	if (n > 0)
		return -1;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return 0;
	return 1;
}
