/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libevent and OpenSSL under conn.c. Each stream starts on a plain socket
 * bufferevent bound to one of the rotated loopback source addresses (so
 * one process can hold more streams to one port than a single source
 * address has ephemeral ports); STARTTLS swaps it for an OpenSSL
 * bufferevent on the same socket. Streams are never freed inside their own
 * callbacks: xb_net_drop() queues them and a deferred event frees them and
 * hands them back to the scenario.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "bench/xmpp-bench/xb.h"

struct xb_net {
	struct xb_conn *c;
	struct bufferevent *bev;
	evutil_socket_t fd;
	bool ssl;
	bool tls_pending;
	bool dropped;
	struct xb_net *next_dead;
};

static struct event_base *nbase;
static SSL_CTX *ctx;
static struct event *reaper;
static struct xb_net *dead;

static void reap(evutil_socket_t fd, short what, void *arg)
{
	while (dead) {
		struct xb_net *n = dead;
		struct xb_conn *c = n->c;

		dead = n->next_dead;
		if (n->bev)
			bufferevent_free(n->bev);
		if (!n->ssl && n->fd >= 0)
			evutil_closesocket(n->fd);
		free(n);
		c->net = NULL;
		if (c->ev->released)
			c->ev->released(c);
	}
}

int xb_net_init(struct event_base *base, const char **error_r)
{
	nbase = base;
	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL) {
		*error_r = "cannot create a TLS context";
		return -1;
	}
	/* A benchmark against self-signed test certificates: the peer is
	 * always a server on this machine that we started ourselves. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	reaper = event_new(base, -1, 0, reap, NULL);
	return 0;
}

void xb_net_done(void)
{
	reap(-1, 0, NULL);
	if (reaper)
		event_free(reaper);
	reaper = NULL;
	SSL_CTX_free(ctx);
	ctx = NULL;
}

int xb_net_fd_limit(long n, const char **error_r)
{
	static char buf[200];
	struct rlimit rl;
	rlim_t want = (rlim_t)n + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 0;
	if (rl.rlim_cur >= want)
		return 0;
	if (rl.rlim_max < want) {
		rl.rlim_max = want; /* works as root */
	}
	rl.rlim_cur = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		snprintf(buf, sizeof buf, "need %lu open files, the limit is "
			 "lower and cannot be raised (ulimit -n, or run as root)",
			 (unsigned long)want);
		*error_r = buf;
		return -1;
	}
	return 0;
}

static void net_write(struct xb_conn *c, const char *data, size_t len)
{
	struct xb_net *n = c->net;

	if (n && n->bev)
		bufferevent_write(n->bev, data, len);
}

static void net_starttls(struct xb_conn *c)
{
	struct xb_net *n = c->net;

	if (n)
		n->tls_pending = true;
}

const struct xb_io xb_net_io = {
	.write = net_write,
	.starttls = net_starttls,
};

static void on_event(struct bufferevent *bev, short what, void *arg);
static void on_read(struct bufferevent *bev, void *arg);
static void on_write(struct bufferevent *bev, void *arg);

/* After <proceed/>: the same socket under an OpenSSL bufferevent. */
static void switch_to_tls(struct xb_net *n)
{
	SSL *ssl = SSL_new(ctx);

	n->tls_pending = false;
	bufferevent_free(n->bev);
	n->bev = NULL;
	if (ssl == NULL) {
		xb_conn_fail(n->c, "cannot create a TLS session");
		return;
	}
	SSL_set_tlsext_host_name(ssl, n->c->opts->domain);
	n->bev = bufferevent_openssl_socket_new(nbase, n->fd, ssl,
						BUFFEREVENT_SSL_CONNECTING,
						BEV_OPT_CLOSE_ON_FREE);
	if (n->bev == NULL) {
		SSL_free(ssl);
		xb_conn_fail(n->c, "cannot start TLS");
		return;
	}
	n->ssl = true;
	bufferevent_openssl_set_allow_dirty_shutdown(n->bev, 1);
	bufferevent_setcb(n->bev, on_read, on_write, on_event, n);
	bufferevent_enable(n->bev, EV_READ | EV_WRITE);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct xb_net *n = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_iovec v[8];

	while (evbuffer_get_length(in) > 0) {
		int k = evbuffer_peek(in, -1, NULL, v, 8);
		size_t used = 0;
		int stop = 0;

		for (int i = 0; i < k && i < 8 && !stop; i++) {
			if (xb_conn_input(n->c, v[i].iov_base, v[i].iov_len) < 0)
				stop = 1;
			used += v[i].iov_len;
			if (n->tls_pending)
				stop = 1;
		}
		evbuffer_drain(in, used);
		if (stop)
			break;
	}
	if (n->tls_pending) {
		evbuffer_drain(in, evbuffer_get_length(in));
		switch_to_tls(n);
	}
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct xb_net *n = arg;

	/* A closing stream is done once its closing tag is out. */
	if (n->c->state == XS_CLOSING)
		xb_conn_done(n->c);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct xb_net *n = arg;
	struct xb_conn *c = n->c;

	if (what & BEV_EVENT_CONNECTED) {
		if (n->ssl)
			xb_conn_tls_up(c);
		else
			xb_conn_connected(c);
		return;
	}
	if (c->state == XS_CLOSING || c->state == XS_DONE) {
		xb_conn_done(c);
	} else if (c->state == XS_CONNECTING) {
		xb_conn_fail(c, "cannot connect to the server");
	} else if (c->state == XS_TLS) {
		xb_conn_fail(c, "TLS handshake failed");
	} else {
		xb_conn_fail(c, "connection closed by the server");
	}
}

void xb_net_connect(struct xb_conn *c, const struct xb_addr *addr)
{
	const struct xb_opts *o = c->opts;
	struct sockaddr_in src = {.sin_family = AF_INET};
	struct sockaddr_in dst = {.sin_family = AF_INET};
	struct xb_net *n = calloc(1, sizeof *n);
	int one = 1;

	if (n == NULL)
		abort();
	n->c = c;
	n->fd = -1;
	c->net = n;
	src.sin_addr.s_addr =
		htonl(o->src_base + (uint32_t)(c->index % o->src_count));
	dst.sin_port = htons((uint16_t)addr->port);
	inet_pton(AF_INET, addr->host, &dst.sin_addr);
	n->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (n->fd < 0) {
		xb_conn_fail(c, "cannot create a socket (open files limit?)");
		return;
	}
	/* Pick the port at connect(): the 4-tuple, not the address alone,
	 * must then be unique, which is what lets sources multiply ports. */
	setsockopt(n->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
	setsockopt(n->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	evutil_make_socket_nonblocking(n->fd);
	if (bind(n->fd, (struct sockaddr *)&src, sizeof src) < 0) {
		xb_conn_fail(c, "cannot bind the source address");
		return;
	}
	n->bev = bufferevent_socket_new(nbase, n->fd, 0);
	bufferevent_setcb(n->bev, on_read, on_write, on_event, n);
	bufferevent_enable(n->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(n->bev, (struct sockaddr *)&dst,
				       sizeof dst) < 0)
		xb_conn_fail(c, "cannot connect to the server");
}

void xb_net_drop(struct xb_conn *c)
{
	struct xb_net *n = c->net;

	if (n == NULL || n->dropped)
		return;
	n->dropped = true;
	/* Callbacks stop here; the free happens in reap(). */
	if (n->bev)
		bufferevent_disable(n->bev, EV_READ | EV_WRITE);
	n->next_dead = dead;
	dead = n;
	event_active(reaper, 0, 0);
}
