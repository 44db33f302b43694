/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mio_connect.c: outgoing connections, as the daemons make to the router
 * (router.retry.init/lost/sleep) and s2s makes to other servers (from one
 * of local.origins). Each attempt is a non-blocking connect with its own
 * timeout; failed attempts are retried after a pause that starts at
 * retry_ms and doubles up to retry_max_ms, until the attempts run out.
 * Addresses are numeric: name resolution belongs to the caller (c-ares in
 * s2s).
 */
#include "config.h"
#include "mio/mio.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/tcp.h>

#include <event2/event.h>

#include "mio/mio_private.h"
#include "util/buf.h"
#include "util/log.h"

struct mio_connector {
	struct mio *mio;
	struct mio_connector *prev, *next;
	struct sockaddr_storage peer;
	socklen_t peerlen;
	struct sockaddr_storage source;
	socklen_t sourcelen;            /* 0 = no source address */
	unsigned int timeout_ms;
	unsigned int delay_ms;          /* pause before the next attempt */
	unsigned int retry_max_ms;
	int max_attempts;               /* -1 = for ever */
	unsigned int attempts;
	int fd;
	struct event *ev_io;            /* the attempt in progress */
	struct event *ev_retry;
	mio_connect_cb *cb;
	void *ctx;
	int in_cb;
	char name[INET6_ADDRSTRLEN + 8];
	char err[MIO_ERRBUF];
	int errnum;                     /* errno of the last failure */
};

static void mio_connector_attempt(evutil_socket_t fd, short what, void *arg);

static void mio_connector_unlink(struct mio_connector *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		c->mio->connectors = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
}

/* Close the attempt in progress, if any. */
static void mio_connector_abort(struct mio_connector *c)
{
	if (c->ev_io != NULL) {
		event_free(c->ev_io);
		c->ev_io = NULL;
	}
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
}

void mio_connector_destroy(struct mio_connector *c)
{
	mio_connector_unlink(c);
	mio_connector_abort(c);
	event_free(c->ev_retry);
	free(c);
}

void mio_connector_cancel(struct mio_connector **cp)
{
	struct mio_connector *c = *cp;

	if (c == NULL)
		return;
	*cp = NULL;
	if (c->in_cb)
		return;         /* freed when the callback returns */
	mio_connector_destroy(c);
}

unsigned int mio_connector_attempts(const struct mio_connector *c)
{
	return c->attempts;
}

int mio_connector_errno(const struct mio_connector *c)
{
	return c->errnum;
}

/* Tell the owner and free the connector. */
static void mio_connector_done(struct mio_connector *c, struct mio_conn *conn,
			       const char *error)
{
	mio_connector_unlink(c);
	c->in_cb = 1;
	c->cb(c, conn, error, c->ctx);
	if (conn != NULL)
		mio_conn_handed_out(conn);
	mio_connector_destroy(c);
}

static void mio_connector_succeed(struct mio_connector *c)
{
	struct mio_conn *conn;

	event_free(c->ev_io);
	c->ev_io = NULL;
	conn = mio_conn_create(c->mio, c->fd, (struct sockaddr *)&c->peer,
			       c->peerlen);
	c->fd = -1;
	mio_connector_done(c, conn, NULL);
}

static void mio_connector_fail(struct mio_connector *c, const char *error)
{
	struct timeval tv;

	mio_connector_abort(c);
	if (c->max_attempts >= 0 && c->attempts >= (unsigned int)c->max_attempts) {
		mio_connector_done(c, NULL, error);
		return;
	}
	log_debug("connect to %s: %s; attempt %u in %u ms", c->name, error,
		  c->attempts + 1, c->delay_ms);
	tv.tv_sec = c->delay_ms / 1000;
	tv.tv_usec = (c->delay_ms % 1000) * 1000;
	evtimer_add(c->ev_retry, &tv);
	if (c->delay_ms < c->retry_max_ms)
		c->delay_ms = c->delay_ms > c->retry_max_ms / 2 ?
			      c->retry_max_ms : c->delay_ms * 2;
}

static void mio_connector_io(evutil_socket_t fd, short what, void *arg)
{
	struct mio_connector *c = arg;
	socklen_t len = sizeof(int);
	int err = 0;

	if (what & EV_TIMEOUT) {
		c->errnum = ETIMEDOUT;
		mio_connector_fail(c, "connect: timed out");
		return;
	}
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err != 0) {
		c->errnum = err;
		mio_connector_fail(c, mio_strerror(c->err, sizeof(c->err),
						   "connect", err));
		return;
	}
	mio_connector_succeed(c);
}

/* Open, bind and start connecting. Returns 0 when under way, or -1 with
 * c->err describing the failure. */
static int mio_connector_start(struct mio_connector *c)
{
	struct timeval tv = { c->timeout_ms / 1000, (c->timeout_ms % 1000) * 1000 };
	int one = 1;

	c->fd = socket(c->peer.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		c->errnum = errno;
		mio_strerror(c->err, sizeof(c->err), "socket", c->errnum);
		return -1;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (c->sourcelen > 0 &&
	    bind(c->fd, (struct sockaddr *)&c->source, c->sourcelen) < 0) {
		c->errnum = errno;
		mio_strerror(c->err, sizeof(c->err), "bind", c->errnum);
		return -1;
	}
	if (connect(c->fd, (struct sockaddr *)&c->peer, c->peerlen) < 0 &&
	    errno != EINPROGRESS) {
		c->errnum = errno;
		mio_strerror(c->err, sizeof(c->err), "connect", c->errnum);
		return -1;
	}
	/* Even an immediate success is reported through the event, so the
	 * owner always hears from the loop. */
	c->ev_io = event_new(c->mio->base, c->fd, EV_WRITE, mio_connector_io, c);
	if (c->ev_io == NULL)
		abort();
	event_add(c->ev_io, &tv);
	return 0;
}

static void mio_connector_attempt(evutil_socket_t fd, short what, void *arg)
{
	struct mio_connector *c = arg;

	c->attempts++;
	if (mio_connector_start(c) < 0)
		mio_connector_fail(c, c->err);
}

/* Parse a numeric address and port into ss. */
static int mio_parse_sockaddr(struct mio *mio, const char *ip, int port,
			      struct sockaddr_storage *ss, socklen_t *len_r,
			      const char **error_r)
{
	struct addrinfo hints = { 0 }, *ai = NULL;
	char portstr[16];
	int rc;

	if (ip == NULL || port < 0 || port > 65535) {
		*error_r = "missing address or port out of range";
		return -1;
	}
	snprintf(portstr, sizeof(portstr), "%d", port);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	rc = getaddrinfo(ip, portstr, &hints, &ai);
	if (rc != 0) {
		snprintf(mio->errbuf, sizeof(mio->errbuf), "%s: %s", ip,
			 gai_strerror(rc));
		*error_r = mio->errbuf;
		return -1;
	}
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len_r = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

static void mio_connector_settings(struct mio_connector *c,
				   const struct mio_connect_settings *set)
{
	c->timeout_ms = set->timeout_ms != 0 ? set->timeout_ms :
			MIO_DEFAULT_CONNECT_TIMEOUT_MS;
	c->delay_ms = set->retry_ms != 0 ? set->retry_ms : MIO_DEFAULT_RETRY_MS;
	c->retry_max_ms = set->retry_max_ms > c->delay_ms ? set->retry_max_ms :
			  c->delay_ms;
	c->max_attempts = set->attempts < 0 ? -1 :
			  set->attempts == 0 ? 1 : set->attempts;
	if (strchr(set->ip, ':') != NULL)
		snprintf(c->name, sizeof(c->name), "[%s]:%d", set->ip, set->port);
	else
		snprintf(c->name, sizeof(c->name), "%s:%d", set->ip, set->port);
}

struct mio_connector *mio_connect(struct mio *mio,
				  const struct mio_connect_settings *set,
				  mio_connect_cb *cb, void *ctx,
				  const char **error_r)
{
	struct mio_connector *c = xcalloc(1, sizeof(*c));
	struct timeval now = { 0, 0 };

	c->mio = mio;
	c->fd = -1;
	if (mio_parse_sockaddr(mio, set->ip, set->port, &c->peer, &c->peerlen,
			       error_r) < 0)
		goto err;
	if (set->source_ip != NULL &&
	    mio_parse_sockaddr(mio, set->source_ip, 0, &c->source,
			       &c->sourcelen, error_r) < 0)
		goto err;
	if (c->sourcelen > 0 && c->source.ss_family != c->peer.ss_family) {
		*error_r = "source address of another family than the peer's";
		goto err;
	}
	mio_connector_settings(c, set);
	c->cb = cb;
	c->ctx = ctx;
	c->ev_retry = evtimer_new(mio->base, mio_connector_attempt, c);
	if (c->ev_retry == NULL)
		abort();
	evtimer_add(c->ev_retry, &now);
	c->next = mio->connectors;
	if (c->next != NULL)
		c->next->prev = c;
	mio->connectors = c;
	return c;
err:
	free(c);
	return NULL;
}
