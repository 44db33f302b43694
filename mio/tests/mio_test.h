/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mio_test: helpers shared by mio's socket tests: running the loop until a
 * condition holds (always bounded in time), probing for IPv6 loopback, and
 * plain blocking client sockets for tests that watch mio from outside.
 */
#ifndef MIO_TESTS_MIO_TEST_H
#define MIO_TESTS_MIO_TEST_H

#include <stdint.h>

struct mio;

/* Monotonic milliseconds. */
uint64_t mio_test_now(void);

/*
 * Run the loop until cond(arg) is true (checked every 2 ms) or `max_ms`
 * passed. cond may be NULL: then run for exactly max_ms. Returns 1 if the
 * condition was met, 0 on the time limit.
 */
int mio_test_run_until(struct mio *mio, int (*cond)(void *arg), void *arg,
		       unsigned int max_ms);

/* 1 if a TCP socket can be bound to ::1. */
int mio_test_have_ipv6(void);

/* 1 if a listener on "::" also takes IPv4 (net.ipv6.bindv6only = 0). */
int mio_test_dual_stack(void);

/* A port nothing listens on right now (bound, then released). */
int mio_test_free_port(const char *ip);

/* Blocking connect from `source` (NULL = any) to ip:port; returns the fd,
 * or -1. */
int mio_test_raw_connect(const char *ip, int port, const char *source);

/* 1 if the peer has closed or reset the socket, 0 if it is still open
 * with nothing to read, -1 if data is waiting. Does not block. */
int mio_test_raw_closed(int fd);

#endif
