/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for mio/mio_connect.c on loopback: retrying a closed port
 * until a listener appears, giving up after the configured attempts with
 * fixed or doubling pauses, the per-attempt timeout, the source address,
 * IPv6, bad settings and cancelling.
 */
#include "config.h"
#include "mio/mio.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "mio/tests/mio_test.h"

struct outcome {
	struct mio *mio;
	int calls;
	struct mio_conn *conn;
	char error[128];
	unsigned int attempts;
	int errnum;             /* mio_connector_errno in the callback */
	uint64_t at_ms;
	int setup;              /* set the connection up */
	int closes;
	char peer_ip[64];       /* as the listener saw it */
	int accepted;
	int port;
	struct mio_listener *listener;
};

static void on_read(struct mio_conn *conn, const void *data, size_t len,
		    void *ctx)
{
}

static void on_close(struct mio_conn *conn, const char *reason, void *ctx)
{
	struct outcome *o = ctx;

	o->closes++;
	o->conn = NULL;
}

static const struct mio_conn_callbacks cbs = {
	.on_read = on_read,
	.on_close = on_close,
};

static void on_connect(struct mio_connector *c, struct mio_conn *conn,
		       const char *error, void *ctx)
{
	struct outcome *o = ctx;

	o->calls++;
	o->conn = conn;
	o->attempts = mio_connector_attempts(c);
	o->errnum = conn == NULL ? mio_connector_errno(c) : 0;
	o->at_ms = mio_test_now();
	snprintf(o->error, sizeof(o->error), "%s", error ? error : "");
	/* Harmless here; the connector is freed after we return. */
	mio_connector_cancel(&c);
	if (conn != NULL && o->setup)
		mio_conn_setup(conn, &cbs, o);
}

static void on_accept(struct mio_listener *l, struct mio_conn *conn,
		      const char *ip, int port, void *ctx)
{
	struct outcome *o = ctx;

	o->accepted++;
	snprintf(o->peer_ip, sizeof(o->peer_ip), "%s", ip);
	mio_conn_setup(conn, &cbs, o);
}

static int called(void *arg)
{
	return ((struct outcome *)arg)->calls > 0;
}

static int called_and_accepted(void *arg)
{
	struct outcome *o = arg;

	return o->calls > 0 && o->accepted > 0;
}

static struct mio *new_mio(void)
{
	const char *error = NULL;
	struct mio *mio = mio_new(&error);

	assert_non_null(mio);
	return mio;
}

static void start_listener(struct mio_timer *t, void *ctx)
{
	struct outcome *o = ctx;
	struct mio_listen_settings set = { .ip = "127.0.0.1", .port = o->port };
	const char *error;

	o->listener = mio_listen(o->mio, &set, on_accept, o, &error);
	if (o->listener == NULL)
		fail_msg("listen: %s", error);
}

/* Refused attempts are retried until a listener turns up. */
static void test_retry_then_success(void **state)
{
	struct outcome o = { .setup = 1 };
	struct mio_connect_settings cs = {
		.ip = "127.0.0.1", .attempts = 50, .retry_ms = 20,
		.timeout_ms = 1000,
	};
	struct mio_timer *t;
	const char *error;

	o.mio = new_mio();
	o.port = cs.port = mio_test_free_port("127.0.0.1");
	assert_true(cs.port > 0);
	assert_non_null(mio_connect(o.mio, &cs, on_connect, &o, &error));
	assert_int_equal(o.calls, 0);   /* nothing happens inside the call */
	t = mio_timer_new(o.mio, start_listener, &o);
	mio_timer_start(t, 100, 0);
	assert_true(mio_test_run_until(o.mio, called_and_accepted, &o, 3000));
	assert_int_equal(o.calls, 1);
	assert_non_null(o.conn);
	assert_string_equal(o.error, "");
	assert_true(o.attempts >= 2);
	assert_string_equal(o.peer_ip, "127.0.0.1");
	assert_string_equal(mio_conn_peer_ip(o.conn), "127.0.0.1");
	assert_int_equal(mio_conn_peer_port(o.conn), cs.port);
	mio_timer_free(&t);
	mio_listener_free(&o.listener);
	mio_free(&o.mio);
	assert_int_equal(o.closes, 2);
}

static uint64_t give_up_after(unsigned int retry_ms, unsigned int retry_max_ms,
			      struct outcome *o)
{
	struct mio_connect_settings cs = {
		.ip = "127.0.0.1", .attempts = 4,
		.retry_ms = retry_ms, .retry_max_ms = retry_max_ms,
	};
	const char *error;
	uint64_t start;

	memset(o, 0, sizeof(*o));
	o->mio = new_mio();
	cs.port = mio_test_free_port("127.0.0.1");
	start = mio_test_now();
	assert_non_null(mio_connect(o->mio, &cs, on_connect, o, &error));
	assert_true(mio_test_run_until(o->mio, called, o, 3000));
	assert_null(o->conn);
	assert_int_equal(o->attempts, 4);
	assert_non_null(strstr(o->error, "refused"));
	/* What s2s reads to bounce at once rather than retry. */
	assert_int_equal(o->errnum, ECONNREFUSED);
	mio_test_run_until(o->mio, NULL, NULL, 20);
	assert_int_equal(o->calls, 1);
	mio_free(&o->mio);
	return o->at_ms - start;
}

/* jabberd2's fixed router.retry.sleep: three pauses of 100 ms. (Lower
 * bounds leave 10 ms for libevent's coarse clock.) */
static void test_give_up_fixed(void **state)
{
	struct outcome o;
	uint64_t took = give_up_after(100, 0, &o);

	assert_true(took >= 290);
	assert_true(took < 600);
}

/* Doubling pauses: 100, 200, then 400 ms. */
static void test_give_up_backoff(void **state)
{
	struct outcome o;
	uint64_t took = give_up_after(100, 5000, &o);

	assert_true(took >= 690);
}

/* Doubling stops at retry_max_ms: 100, 150, 150 ms. */
static void test_give_up_capped(void **state)
{
	struct outcome o;
	uint64_t took = give_up_after(100, 150, &o);

	assert_true(took >= 390);
	assert_true(took < 690);
}

/* A listener whose accept queue is full drops SYNs, so a connect to it
 * hangs: that is what the per-attempt timeout is for. */
static void test_timeout(void **state)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	struct outcome o = { 0 };
	struct mio_connect_settings cs = { .ip = "127.0.0.1", .timeout_ms = 150 };
	int lfd, fill[4], i, nfill = 0;
	const char *error;
	uint64_t start;

	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(lfd, 0), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
	cs.port = ntohs(sin.sin_port);
	/* Fill the accept queue (backlog 0 holds one) with spare room. */
	for (i = 0; i < 2; i++) {
		fill[nfill] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		connect(fill[nfill], (struct sockaddr *)&sin, sizeof(sin));
		nfill++;
	}
	usleep(20000);
	o.mio = new_mio();
	start = mio_test_now();
	assert_non_null(mio_connect(o.mio, &cs, on_connect, &o, &error));
	assert_true(mio_test_run_until(o.mio, called, &o, 2000));
	assert_null(o.conn);
	assert_string_equal(o.error, "connect: timed out");
	assert_int_equal(o.errnum, ETIMEDOUT);
	assert_int_equal(o.attempts, 1);
	assert_true(o.at_ms - start >= 140);
	assert_true(o.at_ms - start < 1000);
	mio_free(&o.mio);
	for (i = 0; i < nfill; i++)
		close(fill[i]);
	close(lfd);
}

static void connect_and_accept(const char *listen_ip, const char *peer_ip,
			       const char *source, const char *want_peer)
{
	struct outcome o = { .setup = 1 };
	struct mio_listen_settings ls = { .ip = listen_ip };
	struct mio_connect_settings cs = { .ip = peer_ip, .source_ip = source };
	const char *error;

	o.mio = new_mio();
	o.listener = mio_listen(o.mio, &ls, on_accept, &o, &error);
	assert_non_null(o.listener);
	cs.port = mio_listener_port(o.listener);
	assert_non_null(mio_connect(o.mio, &cs, on_connect, &o, &error));
	assert_true(mio_test_run_until(o.mio, called_and_accepted, &o, 2000));
	assert_non_null(o.conn);
	assert_string_equal(o.peer_ip, want_peer);
	mio_listener_free(&o.listener);
	mio_free(&o.mio);
}

/* s2s local.origins: the connection leaves from the chosen address. */
static void test_source_address(void **state)
{
	connect_and_accept("127.0.0.1", "127.0.0.1", "127.0.0.2", "127.0.0.2");
}

static void test_ipv6(void **state)
{
	if (!mio_test_have_ipv6()) {
		fprintf(stderr, "IPv6 loopback (::1) unavailable: skipping\n");
		skip();
	}
	connect_and_accept("::1", "::1", "::1", "::1");
}

static void test_bad_settings(void **state)
{
	static const struct {
		const char *ip;
		int port;
		const char *source;
	} cases[] = {
		{ "localhost", 5347, NULL },    /* DNS is not mio's job */
		{ NULL, 5347, NULL },
		{ "127.0.0.1", 65536, NULL },
		{ "127.0.0.1", 5347, "::1" },   /* families differ */
		{ "::1", 5347, "127.0.0.1" },
		{ "127.0.0.1", 5347, "nonsense" },
	};
	struct mio *mio = new_mio();
	struct outcome o = { 0 };
	const char *error;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mio_connect_settings cs = {
			.ip = cases[i].ip, .port = cases[i].port,
			.source_ip = cases[i].source,
		};

		error = NULL;
		assert_null(mio_connect(mio, &cs, on_connect, &o, &error));
		assert_non_null(error);
	}
	mio_test_run_until(mio, NULL, NULL, 20);
	assert_int_equal(o.calls, 0);
	mio_free(&mio);
}

/* A cancelled connect never calls back; nor does one pending at
 * mio_free. A connection nobody sets up is closed. */
static void test_cancel_and_unclaimed(void **state)
{
	struct outcome o = { .setup = 0 };
	struct mio_listen_settings ls = { .ip = "127.0.0.1" };
	struct mio_connect_settings cs = { .ip = "127.0.0.1" };
	struct mio_connector *c;
	const char *error;

	o.mio = new_mio();
	o.listener = mio_listen(o.mio, &ls, on_accept, &o, &error);
	assert_non_null(o.listener);
	cs.port = mio_listener_port(o.listener);
	c = mio_connect(o.mio, &cs, on_connect, &o, &error);
	assert_non_null(c);
	mio_connector_cancel(&c);
	assert_null(c);
	mio_test_run_until(o.mio, NULL, NULL, 50);
	assert_int_equal(o.calls, 0);
	assert_int_equal(o.accepted, 0);

	/* Not set up by the callback: closed, the listener side hears it. */
	assert_non_null(mio_connect(o.mio, &cs, on_connect, &o, &error));
	assert_true(mio_test_run_until(o.mio, called_and_accepted, &o, 2000));
	mio_test_run_until(o.mio, NULL, NULL, 50);
	assert_int_equal(o.closes, 1);
	assert_int_equal(mio_conn_count(o.mio), 0);

	/* Pending at mio_free: freed without a call. */
	assert_non_null(mio_connect(o.mio, &cs, on_connect, &o, &error));
	mio_listener_free(&o.listener);
	mio_free(&o.mio);
	assert_int_equal(o.calls, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retry_then_success),
		cmocka_unit_test(test_give_up_fixed),
		cmocka_unit_test(test_give_up_backoff),
		cmocka_unit_test(test_give_up_capped),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_source_address),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_bad_settings),
		cmocka_unit_test(test_cancel_and_unclaimed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
