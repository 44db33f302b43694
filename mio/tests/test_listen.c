/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for mio/mio_listen.c with plain loopback clients: the
 * connection cap (refused beyond it, logged once per burst), the
 * per-address connect rate limit, access lists applied at accept, IPv6 and
 * dual-stack listeners, listen errors, a listener freed from its own
 * accept callback, and unix socket listeners.
 */
#include "config.h"
#include "mio/mio.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "mio/tests/mio_test.h"
#include "util/log.h"

#define MAX_CLIENTS 8

struct server {
	struct mio *mio;
	struct mio_listener *listener;
	struct mio_conn *conns[MAX_CLIENTS];
	char peer_ip[MAX_CLIENTS][64];
	int accepted;
	int closes;
	int no_setup;           /* leave accepted connections without setup */
	int free_listener;      /* mio_listener_free from the callback */
};

static void srv_read(struct mio_conn *conn, const void *data, size_t len,
		     void *ctx)
{
}

static void srv_close(struct mio_conn *conn, const char *reason, void *ctx)
{
	struct server *s = ctx;
	int i;

	s->closes++;
	for (i = 0; i < MAX_CLIENTS; i++)
		if (s->conns[i] == conn)
			s->conns[i] = NULL;
}

static const struct mio_conn_callbacks srv_cb = {
	.on_read = srv_read,
	.on_close = srv_close,
};

static void srv_accept(struct mio_listener *l, struct mio_conn *conn,
		       const char *ip, int port, void *ctx)
{
	struct server *s = ctx;

	assert_true(s->accepted < MAX_CLIENTS);
	assert_true(port > 0);
	snprintf(s->peer_ip[s->accepted], sizeof(s->peer_ip[0]), "%s", ip);
	if (s->free_listener)
		mio_listener_free(&s->listener);
	if (s->no_setup) {
		s->accepted++;
		return;
	}
	s->conns[s->accepted++] = conn;
	mio_conn_setup(conn, &srv_cb, s);
}

static void server_open(struct server *s, const struct mio_listen_settings *set)
{
	const char *error = NULL;

	memset(s, 0, sizeof(*s));
	s->mio = mio_new(&error);
	assert_non_null(s->mio);
	s->listener = mio_listen(s->mio, set, srv_accept, s, &error);
	if (s->listener == NULL)
		fail_msg("listen: %s", error);
}

static void server_free(struct server *s)
{
	mio_listener_free(&s->listener);
	mio_free(&s->mio);
}

/* Clients plus what the loop should have done with them. */
struct clients {
	struct server *srv;
	int fd[MAX_CLIENTS];
	int n;
	int want_accepted;
	int want_closed;
};

static int clients_settled(void *arg)
{
	struct clients *c = arg;
	int i, closed = 0;

	for (i = 0; i < c->n; i++)
		if (mio_test_raw_closed(c->fd[i]) == 1)
			closed++;
	return c->srv->accepted == c->want_accepted && closed == c->want_closed;
}

static void connect_clients(struct clients *c, const char *ip, int port,
			    const char *source, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		assert_true(c->n < MAX_CLIENTS);
		c->fd[c->n] = mio_test_raw_connect(ip, port, source);
		assert_true(c->fd[c->n] >= 0);
		c->n++;
	}
}

static void close_clients(struct clients *c)
{
	int i;

	for (i = 0; i < c->n; i++)
		close(c->fd[i]);
	c->n = 0;
}

/* Log to a temporary file, so tests can count what was said. */
static char log_path[64];

static void log_to_file(void)
{
	const char *error;
	int fd;

	snprintf(log_path, sizeof(log_path), "/tmp/mio-test-log-XXXXXX");
	fd = mkstemp(log_path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(log_open(LOG_TYPE_FILE, "test", NULL, log_path, &error), 0);
}

static int log_count(const char *needle)
{
	FILE *f = fopen(log_path, "r");
	char line[512];
	int n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, needle) != NULL)
			n++;
	fclose(f);
	return n;
}

static void log_done(void)
{
	log_close();
	unlink(log_path);
}

static void test_max_conns(void **state)
{
	struct mio_listen_settings set = { .ip = "127.0.0.1" };
	struct server s;
	struct clients c = { .srv = &s };
	int port;

	log_to_file();
	server_open(&s, &set);
	port = mio_listener_port(s.listener);
	mio_set_max_conns(s.mio, 2);
	connect_clients(&c, "127.0.0.1", port, NULL, 5);
	c.want_accepted = 2;
	c.want_closed = 3;
	assert_true(mio_test_run_until(s.mio, clients_settled, &c, 2000));
	/* The first two (in accept order) are open, the rest refused. */
	assert_int_equal(mio_test_raw_closed(c.fd[0]), 0);
	assert_int_equal(mio_test_raw_closed(c.fd[1]), 0);
	assert_int_equal(mio_conn_count(s.mio), 2);
	/* One warning for the whole burst. */
	assert_int_equal(log_count("refusing new ones"), 1);

	/* Room again: the next connect is taken, and the burst summed up. */
	mio_conn_close(s.conns[0]);
	mio_test_run_until(s.mio, NULL, NULL, 20);
	assert_int_equal(mio_conn_count(s.mio), 1);
	connect_clients(&c, "127.0.0.1", port, NULL, 1);
	c.want_accepted = 3;
	c.want_closed = 4;      /* three refused + the one closed above */
	assert_true(mio_test_run_until(s.mio, clients_settled, &c, 2000));
	assert_int_equal(mio_test_raw_closed(c.fd[5]), 0);
	assert_int_equal(log_count("3 connections refused while at the limit of 2"), 1);
	close_clients(&c);
	server_free(&s);
	log_done();
}

/* io.limits.connects: 3 per window; the 4th starts a 300 ms throttle. */
static void test_connect_rate(void **state)
{
	struct mio_listen_settings set = {
		.ip = "127.0.0.1",
		.connects = { 3, 5000, 300 },
	};
	struct server s;
	struct clients c = { .srv = &s };
	int port;

	log_to_file();
	server_open(&s, &set);
	port = mio_listener_port(s.listener);
	connect_clients(&c, "127.0.0.1", port, NULL, 5);
	c.want_accepted = 3;
	c.want_closed = 2;
	assert_true(mio_test_run_until(s.mio, clients_settled, &c, 2000));
	assert_int_equal(log_count("[127.0.0.1] is being rate limited"), 1);
	/* Another address is not affected. */
	connect_clients(&c, "127.0.0.1", port, "127.0.0.2", 1);
	c.want_accepted = 4;
	assert_true(mio_test_run_until(s.mio, clients_settled, &c, 2000));
	assert_string_equal(s.peer_ip[3], "127.0.0.2");
	/* After the throttle, 127.0.0.1 is welcome again. */
	mio_test_run_until(s.mio, NULL, NULL, 350);
	connect_clients(&c, "127.0.0.1", port, NULL, 1);
	c.want_accepted = 5;
	assert_true(mio_test_run_until(s.mio, clients_settled, &c, 2000));
	assert_int_equal(mio_test_raw_closed(c.fd[6]), 0);
	close_clients(&c);
	server_free(&s);
	log_done();
}

static void test_access_at_accept(void **state)
{
	struct mio_access *acl = mio_access_new(MIO_ACCESS_DENY_ALLOW);
	struct mio_listen_settings set = { .ip = "127.0.0.1", .access = acl };
	struct server s;
	struct clients c = { .srv = &s };
	const char *error;
	int port;

	assert_int_equal(mio_access_add(acl, 1, "127.0.0.2", NULL, &error), 0);
	log_to_file();
	server_open(&s, &set);
	port = mio_listener_port(s.listener);
	connect_clients(&c, "127.0.0.1", port, "127.0.0.2", 1);
	connect_clients(&c, "127.0.0.1", port, "127.0.0.1", 1);
	c.want_accepted = 1;
	c.want_closed = 1;
	assert_true(mio_test_run_until(s.mio, clients_settled, &c, 2000));
	assert_string_equal(s.peer_ip[0], "127.0.0.2");
	assert_int_equal(mio_test_raw_closed(c.fd[0]), 0);
	assert_int_equal(mio_test_raw_closed(c.fd[1]), 1);
	assert_int_equal(log_count("[127.0.0.1] access denied by configuration"), 1);
	close_clients(&c);
	server_free(&s);
	mio_access_free(&acl);
	log_done();
}

static void test_ipv6(void **state)
{
	struct mio_listen_settings set = { .ip = "::1" };
	struct server s;
	struct clients c = { .srv = &s };

	if (!mio_test_have_ipv6()) {
		fprintf(stderr, "IPv6 loopback (::1) unavailable: skipping\n");
		skip();
	}
	server_open(&s, &set);
	connect_clients(&c, "::1", mio_listener_port(s.listener), NULL, 1);
	c.want_accepted = 1;
	assert_true(mio_test_run_until(s.mio, clients_settled, &c, 2000));
	assert_string_equal(s.peer_ip[0], "::1");
	close_clients(&c);
	server_free(&s);
}

/* On "::", IPv4 clients arrive as ::ffff:a.b.c.d; mio reports them and
 * applies IPv4 rules to them as plain IPv4. */
static void test_dual_stack(void **state)
{
	struct mio_access *acl = mio_access_new(MIO_ACCESS_ALLOW_DENY);
	struct mio_listen_settings set = { .ip = "::", .access = acl };
	struct server s;
	struct clients c = { .srv = &s };
	const char *error;
	int port;

	if (!mio_test_dual_stack()) {
		mio_access_free(&acl);
		fprintf(stderr, "no dual-stack IPv6 (bindv6only or no ::1): skipping\n");
		skip();
	}
	assert_int_equal(mio_access_add(acl, 0, "127.0.0.3", NULL, &error), 0);
	server_open(&s, &set);
	port = mio_listener_port(s.listener);
	connect_clients(&c, "127.0.0.1", port, NULL, 1);
	connect_clients(&c, "127.0.0.1", port, "127.0.0.3", 1);
	connect_clients(&c, "::1", port, NULL, 1);
	c.want_accepted = 2;
	c.want_closed = 1;
	assert_true(mio_test_run_until(s.mio, clients_settled, &c, 2000));
	assert_string_equal(s.peer_ip[0], "127.0.0.1");
	assert_string_equal(s.peer_ip[1], "::1");
	assert_int_equal(mio_test_raw_closed(c.fd[1]), 1);
	close_clients(&c);
	server_free(&s);
	mio_access_free(&acl);
}

static void test_listen_errors(void **state)
{
	static const struct {
		const char *ip;
		int port;
		const char *error_part;
	} cases[] = {
		{ "999.1.1.1", 0, "999.1.1.1" },
		{ "localhost", 0, "localhost" },        /* numeric only */
		{ "127.0.0.1", 70000, "port" },
		{ "127.0.0.1", -1, "port" },
		{ "192.0.2.1", 0, "bind" },             /* not ours */
	};
	struct mio_listen_settings set = { .ip = "127.0.0.1" };
	struct server s;
	const char *error;
	size_t i;

	server_open(&s, &set);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mio_listen_settings bad = { .ip = cases[i].ip,
						   .port = cases[i].port };

		error = NULL;
		assert_null(mio_listen(s.mio, &bad, srv_accept, &s, &error));
		assert_non_null(error);
		if (strstr(error, cases[i].error_part) == NULL)
			fail_msg("%s:%d: error \"%s\"", cases[i].ip, cases[i].port,
				 error);
	}
	/* A second listener on a port in use. */
	set.port = mio_listener_port(s.listener);
	assert_null(mio_listen(s.mio, &set, srv_accept, &s, &error));
	assert_non_null(strstr(error, "bind"));
	server_free(&s);
}

static void test_free_in_accept(void **state)
{
	struct mio_listen_settings set = { .ip = "127.0.0.1" };
	struct server s;
	struct clients c = { .srv = &s };
	int port;

	server_open(&s, &set);
	s.free_listener = 1;
	port = mio_listener_port(s.listener);
	connect_clients(&c, "127.0.0.1", port, NULL, 1);
	c.want_accepted = 1;
	assert_true(mio_test_run_until(s.mio, clients_settled, &c, 2000));
	assert_null(s.listener);
	/* The accepted connection lives on; the port no longer listens. */
	assert_int_equal(mio_test_raw_closed(c.fd[0]), 0);
	assert_int_equal(mio_conn_count(s.mio), 1);
	assert_int_equal(mio_test_raw_connect("127.0.0.1", port, NULL), -1);
	close_clients(&c);
	server_free(&s);
}

static void test_not_set_up(void **state)
{
	struct mio_listen_settings set = { .ip = "127.0.0.1" };
	struct server s;
	struct clients c = { .srv = &s };

	server_open(&s, &set);
	s.no_setup = 1;
	connect_clients(&c, "127.0.0.1", mio_listener_port(s.listener), NULL, 1);
	c.want_accepted = 1;
	c.want_closed = 1;
	assert_true(mio_test_run_until(s.mio, clients_settled, &c, 2000));
	assert_int_equal(mio_conn_count(s.mio), 0);
	assert_int_equal(s.closes, 0);  /* no callbacks were ever set */
	close_clients(&c);
	server_free(&s);
}

static void unix_accept(struct mio_listener *l, struct mio_conn *conn,
			const char *ip, int port, void *ctx)
{
	struct server *s = ctx;

	(void)l;
	assert_string_equal(ip, "");
	assert_int_equal(port, 0);
	assert_true(s->accepted < MAX_CLIENTS);
	s->conns[s->accepted++] = conn;
	mio_conn_setup(conn, &srv_cb, s);
}

static void unix_addr(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	assert_true(strlen(path) < sizeof(sun->sun_path));
	memcpy(sun->sun_path, path, strlen(path) + 1);
}

static int unix_connect(const char *path)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	unix_addr(&sun, path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int one_accepted(void *arg)
{
	return ((struct server *)arg)->accepted >= 1;
}

/* mio_listen_unix: made with the mode asked, accepted connections have no
 * address, a stale file is replaced, a live socket or another file is
 * refused, and the file goes with the listener. */
static void test_unix(void **state)
{
	char dir[] = "/tmp/mio-unix-XXXXXX", path[128], other[160];
	const char *error = NULL;
	struct server s = { 0 };
	struct mio_listener *l2;
	struct stat st;
	int fd, stale;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s.sock", dir);
	/* a stale socket file: bound, then its socket closed */
	stale = socket(AF_UNIX, SOCK_STREAM, 0);
	{
		struct sockaddr_un sun;

		unix_addr(&sun, path);
		assert_int_equal(bind(stale, (struct sockaddr *)&sun, sizeof(sun)), 0);
	}
	close(stale);
	s.mio = mio_new(&error);
	assert_non_null(s.mio);
	s.listener = mio_listen_unix(s.mio, path, 0600, 0, unix_accept, &s, &error);
	if (s.listener == NULL)
		fail_msg("listen: %s", error);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	fd = unix_connect(path);
	assert_true(fd >= 0);
	assert_true(mio_test_run_until(s.mio, one_accepted, &s, 2000));
	/* a second listener on the live socket is refused, the file kept */
	l2 = mio_listen_unix(s.mio, path, 0600, 0, unix_accept, &s, &error);
	assert_null(l2);
	assert_non_null(strstr(error, "another process listens"));
	assert_int_equal(stat(path, &st), 0);
	/* a file that is not a socket is not replaced */
	snprintf(other, sizeof(other), "%s/plain", dir);
	close(open(other, O_CREAT | O_WRONLY, 0600));
	assert_null(mio_listen_unix(s.mio, other, 0600, 0, unix_accept, &s, &error));
	assert_non_null(strstr(error, "not a socket"));
	unlink(other);
	/* no such directory; a path too long for sun_path */
	snprintf(other, sizeof(other), "%s/nodir/s.sock", dir);
	assert_null(mio_listen_unix(s.mio, other, 0600, 0, unix_accept, &s, &error));
	memset(other, 'a', sizeof(other) - 1);
	other[0] = '/';
	other[sizeof(other) - 1] = '\0';
	assert_null(mio_listen_unix(s.mio, other, 0600, 0, unix_accept, &s, &error));
	assert_non_null(strstr(error, "longer than"));
	close(fd);
	server_free(&s);
	/* the file went with the listener */
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_max_conns),
		cmocka_unit_test(test_connect_rate),
		cmocka_unit_test(test_access_at_accept),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_dual_stack),
		cmocka_unit_test(test_listen_errors),
		cmocka_unit_test(test_free_in_accept),
		cmocka_unit_test(test_not_set_up),
		cmocka_unit_test(test_unix),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
