/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for mio/mio_conn.c over real loopback sockets: echo on
 * 127.0.0.1 and ::1, an 8 MB transfer through back-pressure to a slow
 * reader, graceful close (flushes, or times out), closing from inside
 * callbacks, on_close exactly once, the io.limits.bytes throttle, pausing
 * reads and the idle hook.
 */
#include "config.h"
#include "mio/mio.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "mio/tests/mio_test.h"
#include "util/buf.h"

#define BIG_TOTAL (8u * 1024 * 1024)
#define CHUNK (64u * 1024)

struct side {
	struct mio *mio;
	struct mio_conn *conn;
	struct buf in;
	int closes;
	int reason_null;
	char reason[128];
	int drains, idles;
	uint64_t idle_ms[2];
	int echo;               /* write back what arrives */
	int close_on_read;      /* close (and misuse) inside on_read */
	int close_on_drain;
	int slow;               /* one read per millisecond */
	int verify;             /* check the pattern instead of keeping bytes */
	size_t received;
	int mismatch;
	struct mio_timer *resume;
	/* producer (server side of the big transfer) */
	size_t sent, total, max_queued;
	int full;               /* times mio_conn_write returned 1 */
};

static uint8_t pattern(size_t i)
{
	return (uint8_t)((i * 2654435761u) >> 13);
}

static void side_read(struct mio_conn *conn, const void *data, size_t len,
		      void *ctx)
{
	struct side *s = ctx;
	const uint8_t *p = data;
	size_t i;

	if (s->verify) {
		for (i = 0; i < len && !s->mismatch; i++)
			if (p[i] != pattern(s->received + i))
				s->mismatch = 1;
		s->received += len;
	} else {
		buf_append(&s->in, data, len);
	}
	if (s->echo)
		mio_conn_write(conn, data, len);
	if (s->close_on_read) {
		mio_conn_close(conn);
		/* Everything after a close is refused or harmless. */
		assert_int_equal(mio_conn_write(conn, "x", 1), -1);
		assert_true(mio_conn_closing(conn));
		mio_conn_close(conn);
		mio_conn_shutdown(conn, 10);
		mio_conn_pause_read(conn);
		mio_conn_resume_read(conn);
	}
	if (s->slow) {
		mio_conn_pause_read(conn);
		mio_timer_start(s->resume, 1, 0);
	}
}

static void produce(struct side *s);

static void side_drain(struct mio_conn *conn, void *ctx)
{
	struct side *s = ctx;

	s->drains++;
	if (s->close_on_drain) {
		mio_conn_close(conn);
		return;
	}
	if (s->total != 0)
		produce(s);
}

static void side_idle(struct mio_conn *conn, void *ctx)
{
	struct side *s = ctx;

	if (s->idles < 2)
		s->idle_ms[s->idles] = mio_test_now();
	s->idles++;
}

static void side_close(struct mio_conn *conn, const char *reason, void *ctx)
{
	struct side *s = ctx;

	s->closes++;
	s->reason_null = reason == NULL;
	snprintf(s->reason, sizeof(s->reason), "%s", reason ? reason : "");
	/* Closing or writing from on_close is harmless. */
	assert_int_equal(mio_conn_write(conn, "x", 1), -1);
	mio_conn_close(conn);
	s->conn = NULL;
}

static const struct mio_conn_callbacks side_cb = {
	.on_read = side_read,
	.on_drain = side_drain,
	.on_idle = side_idle,
	.on_close = side_close,
};

static void side_resume(struct mio_timer *t, void *ctx)
{
	struct side *s = ctx;

	if (s->conn != NULL)
		mio_conn_resume_read(s->conn);
}

/* Write the pattern until done or the queue is full; then close
 * gracefully. */
static void produce(struct side *s)
{
	uint8_t chunk[CHUNK];
	size_t i, n;
	int r;

	while (s->sent < s->total) {
		n = s->total - s->sent < CHUNK ? s->total - s->sent : CHUNK;
		for (i = 0; i < n; i++)
			chunk[i] = pattern(s->sent + i);
		r = mio_conn_write(s->conn, chunk, n);
		assert_int_not_equal(r, -1);
		s->sent += n;
		if (mio_conn_queued(s->conn) > s->max_queued)
			s->max_queued = mio_conn_queued(s->conn);
		if (r == 1) {
			s->full++;
			return;
		}
	}
	mio_conn_shutdown(s->conn, 5000);
}

struct pair {
	struct mio *mio;
	struct mio_listener *listener;
	struct side server, client;
	char peer_ip[64];
	int peer_port;
};

static void pair_accept(struct mio_listener *l, struct mio_conn *conn,
			const char *ip, int port, void *ctx)
{
	struct pair *p = ctx;

	p->server.conn = conn;
	snprintf(p->peer_ip, sizeof(p->peer_ip), "%s", ip);
	p->peer_port = port;
	mio_conn_setup(conn, &side_cb, &p->server);
}

static void pair_connected(struct mio_connector *c, struct mio_conn *conn,
			   const char *error, void *ctx)
{
	struct pair *p = ctx;

	if (conn == NULL)
		fail_msg("connect: %s", error);
	p->client.conn = conn;
	mio_conn_setup(conn, &side_cb, &p->client);
}

static int pair_ready(void *arg)
{
	struct pair *p = arg;

	return p->server.conn != NULL && p->client.conn != NULL;
}

static void pair_open(struct pair *p, const char *ip)
{
	struct mio_listen_settings ls = { .ip = ip };
	struct mio_connect_settings cs = { .ip = ip, .timeout_ms = 1000 };
	const char *error = NULL;

	memset(p, 0, sizeof(*p));
	p->mio = mio_new(&error);
	assert_non_null(p->mio);
	p->server.mio = p->client.mio = p->mio;
	p->server.resume = mio_timer_new(p->mio, side_resume, &p->server);
	p->client.resume = mio_timer_new(p->mio, side_resume, &p->client);
	p->listener = mio_listen(p->mio, &ls, pair_accept, p, &error);
	if (p->listener == NULL)
		fail_msg("listen on %s: %s", ip, error);
	cs.port = mio_listener_port(p->listener);
	assert_true(cs.port > 0);
	assert_non_null(mio_connect(p->mio, &cs, pair_connected, p, &error));
	assert_true(mio_test_run_until(p->mio, pair_ready, p, 2000));
}

static void pair_free(struct pair *p)
{
	mio_listener_free(&p->listener);
	mio_timer_free(&p->server.resume);
	mio_timer_free(&p->client.resume);
	mio_free(&p->mio);
	buf_free(&p->server.in);
	buf_free(&p->client.in);
}

static int both_closed(void *arg)
{
	struct pair *p = arg;

	return p->server.closes > 0 && p->client.closes > 0;
}

static void small_buffers(struct mio_conn *conn, int opt)
{
	int size = 32 * 1024;

	assert_int_equal(setsockopt(mio_conn_fd(conn), SOL_SOCKET, opt, &size,
				    sizeof(size)), 0);
}

struct want_len {
	struct buf *b;
	size_t len;
};

static int have_len(void *arg)
{
	struct want_len *w = arg;

	return w->b->len >= w->len;
}

static void check_nodelay(struct mio_conn *conn)
{
	int v = 0;
	socklen_t len = sizeof(v);

	assert_int_equal(getsockopt(mio_conn_fd(conn), IPPROTO_TCP, TCP_NODELAY,
				    &v, &len), 0);
	assert_int_not_equal(v, 0);
}

static void echo_over(const char *ip)
{
	struct pair p;
	struct want_len w;
	static const char msg[] = "<stream:stream to='example.com'>";

	pair_open(&p, ip);
	assert_string_equal(p.peer_ip, ip);
	assert_true(p.peer_port > 0);
	assert_string_equal(mio_conn_peer_ip(p.client.conn), ip);
	assert_int_not_equal(mio_conn_id(p.server.conn), mio_conn_id(p.client.conn));
	check_nodelay(p.server.conn);
	check_nodelay(p.client.conn);
	assert_int_equal(mio_conn_count(p.mio), 2);
	p.server.echo = 1;
	assert_int_equal(mio_conn_write(p.client.conn, msg, strlen(msg)), 0);
	w.b = &p.client.in;
	w.len = strlen(msg);
	assert_true(mio_test_run_until(p.mio, have_len, &w, 2000));
	assert_int_equal(p.client.in.len, strlen(msg));
	assert_memory_equal(p.client.in.data, msg, strlen(msg));
	assert_int_equal(p.server.in.len, strlen(msg));
	pair_free(&p);
	/* mio_free closed both, each exactly once. */
	assert_int_equal(p.server.closes, 1);
	assert_int_equal(p.client.closes, 1);
	assert_string_equal(p.server.reason, "shutting down");
}

static void test_echo_v4(void **state)
{
	echo_over("127.0.0.1");
}

static void test_echo_v6(void **state)
{
	if (!mio_test_have_ipv6()) {
		fprintf(stderr, "IPv6 loopback (::1) unavailable: skipping\n");
		skip();
	}
	echo_over("::1");
}

static int big_done(void *arg)
{
	struct pair *p = arg;

	return (p->server.closes > 0 && p->client.closes > 0) || p->client.mismatch;
}

/* 8 MB to a reader that takes one chunk per millisecond: the producer
 * must be held back by the high-water mark, and every byte must arrive. */
static void test_backpressure(void **state)
{
	struct pair p;

	pair_open(&p, "127.0.0.1");
	small_buffers(p.server.conn, SO_SNDBUF);
	small_buffers(p.client.conn, SO_RCVBUF);
	p.client.slow = 1;
	p.client.verify = 1;
	p.server.total = BIG_TOTAL;
	produce(&p.server);
	assert_true(mio_test_run_until(p.mio, big_done, &p, 10000));
	assert_false(p.client.mismatch);
	assert_int_equal(p.client.received, BIG_TOTAL);
	assert_int_equal(p.server.sent, BIG_TOTAL);
	assert_true(p.server.full > 0);
	assert_true(p.server.drains > 0);
	/* Never more than one chunk beyond the high-water mark (256 KiB). */
	assert_true(p.server.max_queued <= 256 * 1024 + CHUNK);
	/* The server's graceful close completed; the client saw the end. */
	assert_true(p.server.reason_null);
	assert_string_equal(p.client.reason, "connection closed by peer");
	assert_int_equal(mio_conn_count(p.mio), 0);
	pair_free(&p);
	assert_int_equal(p.server.closes, 1);
	assert_int_equal(p.client.closes, 1);
}

static void resume_client(struct mio_timer *t, void *ctx)
{
	struct pair *p = ctx;

	mio_conn_resume_read(p->client.conn);
}

static void chatter(struct mio_timer *t, void *ctx)
{
	struct pair *p = ctx;

	if (p->client.conn != NULL)
		mio_conn_write(p->client.conn, "<presence/>", 11);
}

/*
 * Data queued before a graceful close reaches a peer that only starts
 * reading later and reads slowly, even though that peer keeps sending:
 * had the server closed outright after flushing, those late bytes would
 * make its kernel answer with a reset, which destroys what the peer has
 * not read yet.
 */
static void test_graceful_flush(void **state)
{
	struct pair p;
	struct mio_timer *t, *talk;
	size_t i, n = 1024 * 1024;
	char *data = malloc(n);

	assert_non_null(data);
	for (i = 0; i < n; i++)
		data[i] = (char)pattern(i);
	pair_open(&p, "127.0.0.1");
	small_buffers(p.server.conn, SO_SNDBUF);
	small_buffers(p.client.conn, SO_RCVBUF);
	mio_conn_pause_read(p.client.conn);
	/* 1: most of it waits in mio's queue, not in the kernel. */
	assert_int_equal(mio_conn_write(p.server.conn, data, n), 1);
	mio_conn_shutdown(p.server.conn, 5000);
	assert_true(mio_conn_closing(p.server.conn));
	assert_int_equal(mio_conn_write(p.server.conn, "late", 4), -1);
	p.client.slow = 1;
	t = mio_timer_new(p.mio, resume_client, &p);
	mio_timer_start(t, 50, 0);
	talk = mio_timer_new(p.mio, chatter, &p);
	mio_timer_start(talk, 1, 1);
	assert_true(mio_test_run_until(p.mio, both_closed, &p, 5000));
	assert_string_equal(p.client.reason, "connection closed by peer");
	assert_int_equal(p.client.in.len, n);
	assert_memory_equal(p.client.in.data, data, n);
	assert_true(p.server.reason_null);
	mio_timer_free(&t);
	mio_timer_free(&talk);
	pair_free(&p);
	assert_int_equal(p.server.closes, 1);
	assert_int_equal(p.client.closes, 1);
	free(data);
}

static int server_closed(void *arg)
{
	return ((struct pair *)arg)->server.closes > 0;
}

/* A peer that never reads cannot hold a graceful close open for ever. */
static void test_graceful_timeout(void **state)
{
	struct pair p;
	size_t n = 2 * 1024 * 1024;
	char *data = calloc(1, n);
	uint64_t start;

	assert_non_null(data);
	pair_open(&p, "127.0.0.1");
	small_buffers(p.server.conn, SO_SNDBUF);
	small_buffers(p.client.conn, SO_RCVBUF);
	mio_conn_pause_read(p.client.conn);
	mio_conn_write(p.server.conn, data, n);
	start = mio_test_now();
	mio_conn_shutdown(p.server.conn, 200);
	assert_true(mio_test_run_until(p.mio, server_closed, &p, 2000));
	assert_true(mio_test_now() - start >= 190);
	assert_string_equal(p.server.reason, "graceful close timed out");
	assert_int_equal(p.client.closes, 0);
	pair_free(&p);
	assert_int_equal(p.server.closes, 1);
	assert_int_equal(p.client.closes, 1);
	free(data);
}

static void test_close_in_read(void **state)
{
	struct pair p;

	pair_open(&p, "127.0.0.1");
	p.server.close_on_read = 1;
	mio_conn_write(p.client.conn, "bye", 3);
	assert_true(mio_test_run_until(p.mio, both_closed, &p, 2000));
	/* Let the loop spin a little more: no second on_close. */
	mio_test_run_until(p.mio, NULL, NULL, 30);
	assert_int_equal(p.server.closes, 1);
	assert_true(p.server.reason_null);
	assert_int_equal(p.client.closes, 1);
	assert_false(p.client.reason_null);
	assert_int_equal(mio_conn_count(p.mio), 0);
	pair_free(&p);
	assert_int_equal(p.server.closes, 1);
	assert_int_equal(p.client.closes, 1);
}

static void test_close_in_drain(void **state)
{
	struct pair p;
	size_t n = 1024 * 1024;
	char *data = calloc(1, n);
	struct mio_timer *t;

	assert_non_null(data);
	pair_open(&p, "127.0.0.1");
	small_buffers(p.server.conn, SO_SNDBUF);
	small_buffers(p.client.conn, SO_RCVBUF);
	mio_conn_set_watermarks(p.server.conn, 768 * 1024, 512 * 1024);
	mio_conn_pause_read(p.client.conn);
	p.server.close_on_drain = 1;
	assert_int_equal(mio_conn_write(p.server.conn, data, n), 1);
	t = mio_timer_new(p.mio, resume_client, &p);
	mio_timer_start(t, 20, 0);
	assert_true(mio_test_run_until(p.mio, both_closed, &p, 3000));
	assert_int_equal(p.server.drains, 1);
	assert_true(p.server.reason_null);
	/* Closed at once: the queued rest was dropped, not delivered. */
	assert_true(p.client.in.len < n);
	mio_timer_free(&t);
	pair_free(&p);
	assert_int_equal(p.server.closes, 1);
	assert_int_equal(p.client.closes, 1);
	free(data);
}

/* io.limits.bytes: 1000 bytes per 2 s window; using them up pauses
 * reading for 200 ms, then a new window starts. */
static void test_read_throttle(void **state)
{
	static const struct mio_rate limit = { 1000, 2000, 200 };
	struct pair p;
	char data[2500];
	struct want_len w;
	uint64_t start, took;

	memset(data, 'a', sizeof(data));
	pair_open(&p, "127.0.0.1");
	mio_conn_set_read_limit(p.server.conn, &limit);
	start = mio_test_now();
	assert_int_equal(mio_conn_write(p.client.conn, data, sizeof(data)), 0);
	mio_test_run_until(p.mio, NULL, NULL, 100);
	assert_int_equal(p.server.in.len, 1000);
	w.b = &p.server.in;
	w.len = sizeof(data);
	assert_true(mio_test_run_until(p.mio, have_len, &w, 3000));
	assert_int_equal(p.server.in.len, sizeof(data));
	/* 1000 at once, 1000 after 200 ms, 500 after 400 ms: two throttle
	 * pauses, and not the 2 s windows. */
	took = mio_test_now() - start;
	assert_true(took >= 380);
	assert_true(took < 1500);
	pair_free(&p);
}

static void test_pause_resume(void **state)
{
	struct pair p;
	struct want_len w;

	pair_open(&p, "127.0.0.1");
	mio_conn_pause_read(p.server.conn);
	mio_conn_pause_read(p.server.conn);     /* pauses don't nest */
	mio_conn_write(p.client.conn, "0123456789", 10);
	mio_test_run_until(p.mio, NULL, NULL, 80);
	assert_int_equal(p.server.in.len, 0);
	mio_conn_resume_read(p.server.conn);
	w.b = &p.server.in;
	w.len = 10;
	assert_true(mio_test_run_until(p.mio, have_len, &w, 1000));
	assert_memory_equal(p.server.in.data, "0123456789", 10);
	pair_free(&p);
}

static void poke(struct mio_timer *t, void *ctx)
{
	struct pair *p = ctx;

	mio_conn_write(p->client.conn, "x", 1);
}

static int two_idles(void *arg)
{
	return ((struct pair *)arg)->server.idles >= 2;
}

/* Idle means nothing read for the period; a read postpones it. */
static void test_idle(void **state)
{
	struct pair p;
	struct mio_timer *t;
	uint64_t start;

	pair_open(&p, "127.0.0.1");
	t = mio_timer_new(p.mio, poke, &p);
	start = mio_test_now();
	mio_conn_set_idle_timeout(p.server.conn, 100);
	mio_timer_start(t, 50, 0);
	assert_true(mio_test_run_until(p.mio, two_idles, &p, 2000));
	assert_int_equal(p.server.in.len, 1);
	assert_true(p.server.idle_ms[0] - start >= 140);
	assert_true(p.server.idle_ms[1] - p.server.idle_ms[0] >= 90);
	assert_int_equal(p.client.idles, 0);
	mio_conn_set_idle_timeout(p.server.conn, 0);
	mio_test_run_until(p.mio, NULL, NULL, 150);
	assert_int_equal(p.server.idles, 2);
	mio_timer_free(&t);
	pair_free(&p);
}

static void test_adopt(void **state)
{
	struct side a = { 0 }, b = { 0 };
	struct want_len w;
	const char *error;
	struct mio *mio;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	mio = mio_new(&error);
	a.mio = b.mio = mio;
	a.conn = mio_conn_adopt(mio, sv[0], &error);
	b.conn = mio_conn_adopt(mio, sv[1], &error);
	assert_non_null(a.conn);
	assert_non_null(b.conn);
	assert_string_equal(mio_conn_peer_ip(a.conn), "");
	assert_int_equal(mio_conn_peer_port(a.conn), 0);
	mio_conn_setup(a.conn, &side_cb, &a);
	mio_conn_setup(b.conn, &side_cb, &b);
	b.echo = 1;
	mio_conn_write(a.conn, "ping", 4);
	w.b = &a.in;
	w.len = 4;
	assert_true(mio_test_run_until(mio, have_len, &w, 1000));
	assert_memory_equal(a.in.data, "ping", 4);
	/* An immediate close: the other end hears of it. */
	mio_conn_close(a.conn);
	assert_int_equal(a.closes, 0);  /* on_close comes from the loop */
	mio_test_run_until(mio, NULL, NULL, 50);
	assert_int_equal(a.closes, 1);
	assert_int_equal(b.closes, 1);
	assert_string_equal(b.reason, "connection closed by peer");
	mio_free(&mio);
	assert_int_equal(a.closes, 1);
	buf_free(&a.in);
	buf_free(&b.in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_echo_v4),
		cmocka_unit_test(test_echo_v6),
		cmocka_unit_test(test_backpressure),
		cmocka_unit_test(test_graceful_flush),
		cmocka_unit_test(test_graceful_timeout),
		cmocka_unit_test(test_close_in_read),
		cmocka_unit_test(test_close_in_drain),
		cmocka_unit_test(test_read_throttle),
		cmocka_unit_test(test_pause_resume),
		cmocka_unit_test(test_idle),
		cmocka_unit_test(test_adopt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
