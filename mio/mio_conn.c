/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mio_conn.c: one connected socket. Reads go straight to the owner's
 * on_read; writes are tried at once and whatever the kernel does not take
 * waits in a queue, with high/low-water marks so the owner can stop
 * producing. Also here: the io.limits.bytes throttle, the idle hook, and
 * both ways of closing (at once, or flush + half-close + wait for the peer).
 *
 * A connection is never freed where it is closed: mio_conn_finish() closes
 * the socket and hands the struct to the reaper in mio.c, which calls
 * on_close and frees it after the callback in progress has returned.
 */
#include "config.h"
#include "mio/mio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/tcp.h>

#include <event2/event.h>

#include "mio/mio_private.h"
#include "util/buf.h"

/* A fully drained queue keeps its memory for the next burst, up to this. */
#define MIO_WQ_KEEP (1024 * 1024)
/* Compact the queue once this much has been written from its front. */
#define MIO_WQ_COMPACT (64 * 1024)

static void mio_conn_read_cb(evutil_socket_t fd, short what, void *arg);
static void mio_conn_write_cb(evutil_socket_t fd, short what, void *arg);

static size_t mio_conn_pending(const struct mio_conn *conn)
{
	return conn->wq.len - conn->wpos;
}

static void mio_tv(struct timeval *tv, unsigned int ms)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
}

/* Arm a per-connection timer, creating its event the first time. */
static void mio_conn_timer(struct mio_conn *conn, struct event **evp,
			   event_callback_fn cb, unsigned int ms)
{
	struct timeval tv;

	if (*evp == NULL) {
		*evp = evtimer_new(conn->mio->base, cb, conn);
		if (*evp == NULL)
			abort();
	}
	mio_tv(&tv, ms);
	evtimer_add(*evp, &tv);
}

static void mio_event_del(struct event *ev)
{
	if (ev != NULL)
		event_del(ev);
}

/* Read while open and neither paused nor throttled; while closing
 * gracefully, read (and discard) until the peer's EOF. */
static void mio_conn_update_read(struct mio_conn *conn)
{
	int want;

	switch (conn->state) {
	case MIO_CONN_OPEN:
		want = conn->set_up && !conn->paused && !conn->throttled;
		break;
	case MIO_CONN_FLUSHING:
	case MIO_CONN_LINGERING:
		want = !conn->peer_eof;
		break;
	default:
		want = 0;
	}
	if (want && !conn->read_armed)
		event_add(conn->ev_read, NULL);
	else if (!want && conn->read_armed)
		event_del(conn->ev_read);
	conn->read_armed = want;
}

/* The write event exists while it is armed: an idle connection does not
 * pay for it. (libevent lets a callback free its own event.) */
static void mio_conn_update_write(struct mio_conn *conn)
{
	int want = conn->state != MIO_CONN_CLOSED && mio_conn_pending(conn) > 0;

	if (want && !conn->write_armed) {
		conn->ev_write = event_new(conn->mio->base, conn->fd, EV_WRITE | EV_PERSIST,
					   mio_conn_write_cb, conn);
		if (conn->ev_write == NULL)
			abort();
		event_add(conn->ev_write, NULL);
	} else if (!want && conn->write_armed) {
		event_free(conn->ev_write);
		conn->ev_write = NULL;
	}
	conn->write_armed = want;
}

struct mio_conn *mio_conn_create(struct mio *mio, int fd,
				 const struct sockaddr *peer, socklen_t peerlen)
{
	struct mio_conn *conn = xcalloc(1, sizeof(*conn));
	int one = 1;

	conn->mio = mio;
	conn->fd = fd;
	conn->id = mio->next_conn_id++;
	conn->high_water = MIO_DEFAULT_HIGH_WATER;
	conn->low_water = MIO_DEFAULT_LOW_WATER;
	/* Stanzas are small frames; Nagle would hold each one back for a
	 * delayed ACK (DESIGN.md §6). Fails harmlessly on AF_UNIX. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (peer != NULL && peerlen > 0)
		mio_addr_format(peer, conn->peer_ip, sizeof(conn->peer_ip),
				&conn->peer_port);
	conn->ev_read = event_new(mio->base, fd, EV_READ | EV_PERSIST,
				  mio_conn_read_cb, conn);
	if (conn->ev_read == NULL)
		abort();
	conn->next = mio->conns;
	if (conn->next != NULL)
		conn->next->prev = conn;
	mio->conns = conn;
	mio->nconns++;
	return conn;
}

struct mio_conn *mio_conn_adopt(struct mio *mio, int fd, const char **error_r)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		*error_r = mio_strerror(mio->errbuf, sizeof(mio->errbuf),
					"fcntl", errno);
		close(fd);
		return NULL;
	}
	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		len = 0;
	return mio_conn_create(mio, fd, (struct sockaddr *)&ss, len);
}

void mio_conn_setup(struct mio_conn *conn, const struct mio_conn_callbacks *cb,
		    void *ctx)
{
	conn->cb = *cb;
	conn->ctx = ctx;
	conn->set_up = 1;
	mio_conn_update_read(conn);
}

void mio_conn_handed_out(struct mio_conn *conn)
{
	if (conn->state != MIO_CONN_CLOSED && !conn->set_up)
		mio_conn_finish(conn, "not taken by its owner");
}

void mio_conn_finish(struct mio_conn *conn, const char *reason)
{
	if (conn->state == MIO_CONN_CLOSED)
		return;
	conn->state = MIO_CONN_CLOSED;
	conn->reason = reason;
	event_del(conn->ev_read);
	mio_event_del(conn->ev_write);
	mio_event_del(conn->ev_throttle);
	mio_event_del(conn->ev_idle);
	mio_event_del(conn->ev_shutdown);
	conn->read_armed = conn->write_armed = 0;
	close(conn->fd);
	conn->fd = -1;
	buf_free(&conn->wq);
	conn->wpos = 0;
	conn->mio->nconns--;
	mio_reap_later(conn);
}

/* A system call failed: the reason is formatted now and kept with the
 * connection until its close callback (an inline buffer would cost every
 * connection its size for the rare one that fails). */
static void mio_conn_fail_errno(struct mio_conn *conn, const char *what, int err)
{
	char buf[MIO_ERRBUF];

	if (conn->state == MIO_CONN_CLOSED)
		return;
	free(conn->reason_alloc);
	conn->reason_alloc = xstrdup(mio_strerror(buf, sizeof(buf), what, err));
	mio_conn_finish(conn, conn->reason_alloc);
}

void mio_conn_destroy(struct mio_conn *conn)
{
	struct mio *mio = conn->mio;

	if (conn->prev != NULL)
		conn->prev->next = conn->next;
	else
		mio->conns = conn->next;
	if (conn->next != NULL)
		conn->next->prev = conn->prev;
	if (conn->set_up)
		conn->cb.on_close(conn, conn->reason, conn->ctx);
	event_free(conn->ev_read);
	if (conn->ev_write != NULL)
		event_free(conn->ev_write);
	if (conn->ev_throttle != NULL)
		event_free(conn->ev_throttle);
	if (conn->ev_idle != NULL)
		event_free(conn->ev_idle);
	if (conn->ev_shutdown != NULL)
		event_free(conn->ev_shutdown);
	free(conn->reason_alloc);
	free(conn);
}

/* ---- reading ---- */

static void mio_conn_throttle_end(evutil_socket_t fd, short what, void *arg)
{
	struct mio_conn *conn = arg;

	conn->throttled = 0;
	conn->window_start_ms = mio_now_ms();
	conn->window_bytes = 0;
	mio_conn_update_read(conn);
}

/* How much the byte limit lets us read now; starts a new window when the
 * old one is over. */
static size_t mio_conn_allowance(struct mio_conn *conn, uint64_t now)
{
	if (conn->read_limit.max == 0)
		return MIO_READ_CHUNK;
	if (now - conn->window_start_ms >= conn->read_limit.window_ms) {
		conn->window_start_ms = now;
		conn->window_bytes = 0;
	}
	if (conn->window_bytes >= conn->read_limit.max)
		return 0;
	if (conn->read_limit.max - conn->window_bytes < MIO_READ_CHUNK)
		return conn->read_limit.max - conn->window_bytes;
	return MIO_READ_CHUNK;
}

static void mio_conn_count_read(struct mio_conn *conn, size_t n)
{
	if (conn->read_limit.max == 0)
		return;
	conn->window_bytes += n;
	if (conn->window_bytes < conn->read_limit.max)
		return;
	conn->throttled = 1;
	mio_conn_update_read(conn);
	mio_conn_timer(conn, &conn->ev_throttle, mio_conn_throttle_end,
		       conn->read_limit.throttle_ms);
}

/* The peer closed its side. */
static void mio_conn_eof(struct mio_conn *conn)
{
	if (conn->state == MIO_CONN_OPEN) {
		mio_conn_finish(conn, "connection closed by peer");
	} else if (conn->state == MIO_CONN_LINGERING) {
		mio_conn_finish(conn, NULL);    /* graceful close complete */
	} else {
		/* Still flushing: the peer may read on after its half-close,
		 * so finish writing first. */
		conn->peer_eof = 1;
		mio_conn_update_read(conn);
	}
}

static void mio_conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mio_conn *conn = arg;
	struct mio *mio = conn->mio;
	uint64_t now = mio_now_ms();
	size_t want = conn->state == MIO_CONN_OPEN ?
		      mio_conn_allowance(conn, now) : MIO_READ_CHUNK;
	ssize_t n;

	if (want == 0) {
		mio_conn_count_read(conn, 0);
		return;
	}
	n = recv(conn->fd, mio->rbuf, want, 0);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		mio_conn_fail_errno(conn, "read", errno);
		return;
	}
	if (n == 0) {
		mio_conn_eof(conn);
		return;
	}
	if (conn->state != MIO_CONN_OPEN)
		return;         /* closing gracefully: discard */
	conn->last_read_ms = now;
	mio_conn_count_read(conn, (size_t)n);
	conn->cb.on_read(conn, mio->rbuf, (size_t)n, conn->ctx);
}

void mio_conn_pause_read(struct mio_conn *conn)
{
	conn->paused = 1;
	mio_conn_update_read(conn);
}

void mio_conn_resume_read(struct mio_conn *conn)
{
	conn->paused = 0;
	mio_conn_update_read(conn);
}

void mio_conn_set_read_limit(struct mio_conn *conn, const struct mio_rate *limit)
{
	static const struct mio_rate off;

	conn->read_limit = limit != NULL ? *limit : off;
	conn->window_start_ms = mio_now_ms();
	conn->window_bytes = 0;
	if (conn->throttled && conn->read_limit.max == 0) {
		mio_event_del(conn->ev_throttle);
		conn->throttled = 0;
		mio_conn_update_read(conn);
	}
}

static void mio_conn_idle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mio_conn *conn = arg;
	uint64_t now = mio_now_ms(), quiet = now - conn->last_read_ms;

	if (conn->state != MIO_CONN_OPEN || conn->idle_ms == 0)
		return;
	if (quiet < conn->idle_ms) {
		mio_conn_timer(conn, &conn->ev_idle, mio_conn_idle_cb,
			       (unsigned int)(conn->idle_ms - quiet));
		return;
	}
	mio_conn_timer(conn, &conn->ev_idle, mio_conn_idle_cb, conn->idle_ms);
	if (conn->cb.on_idle != NULL)
		conn->cb.on_idle(conn, conn->ctx);
}

void mio_conn_set_idle_timeout(struct mio_conn *conn, unsigned int ms)
{
	conn->idle_ms = ms;
	if (ms == 0 || conn->state != MIO_CONN_OPEN) {
		mio_event_del(conn->ev_idle);
		return;
	}
	conn->last_read_ms = mio_now_ms();
	mio_conn_timer(conn, &conn->ev_idle, mio_conn_idle_cb, ms);
}

/* ---- writing ---- */

/* Drop `n` written bytes from the front of the queue. */
static void mio_conn_consumed(struct mio_conn *conn, size_t n)
{
	conn->wpos += n;
	if (conn->wpos == conn->wq.len) {
		if (conn->wq.size > MIO_WQ_KEEP)
			buf_free(&conn->wq);
		else
			buf_reset(&conn->wq);
		conn->wpos = 0;
	} else if (conn->wpos >= MIO_WQ_COMPACT && conn->wpos * 2 >= conn->wq.len) {
		buf_consume(&conn->wq, conn->wpos);
		conn->wpos = 0;
	}
}

/* send() what we can. Returns bytes taken, or -1 after closing the
 * connection on a hard error. */
static ssize_t mio_conn_send(struct mio_conn *conn, const void *data, size_t len)
{
	ssize_t n = send(conn->fd, data, len, MSG_NOSIGNAL);

	if (n >= 0)
		return n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return 0;
	mio_conn_fail_errno(conn, "write", errno);
	return -1;
}

/* The queue is empty during a graceful close: half-close, then wait for
 * the peer's EOF (unless it already came). */
static void mio_conn_flushed(struct mio_conn *conn)
{
	if (conn->peer_eof || shutdown(conn->fd, SHUT_WR) < 0) {
		mio_conn_finish(conn, NULL);
		return;
	}
	conn->state = MIO_CONN_LINGERING;
	mio_conn_update_read(conn);
}

static void mio_conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mio_conn *conn = arg;
	ssize_t n;

	n = mio_conn_send(conn, conn->wq.data + conn->wpos, mio_conn_pending(conn));
	if (n < 0)
		return;
	mio_conn_consumed(conn, (size_t)n);
	mio_conn_update_write(conn);
	if (conn->state == MIO_CONN_FLUSHING && mio_conn_pending(conn) == 0) {
		mio_conn_flushed(conn);
		return;
	}
	if (conn->state == MIO_CONN_OPEN && conn->congested &&
	    mio_conn_pending(conn) <= conn->low_water) {
		conn->congested = 0;
		if (conn->cb.on_drain != NULL)
			conn->cb.on_drain(conn, conn->ctx);
	}
}

int mio_conn_write(struct mio_conn *conn, const void *data, size_t len)
{
	ssize_t n = 0;

	if (conn->state != MIO_CONN_OPEN)
		return -1;
	if (mio_conn_pending(conn) == 0 && len > 0) {
		n = mio_conn_send(conn, data, len);
		if (n < 0)
			return -1;
	}
	if ((size_t)n < len) {
		buf_append(&conn->wq, (const char *)data + n, len - (size_t)n);
		mio_conn_update_write(conn);
	}
	if (mio_conn_pending(conn) >= conn->high_water) {
		conn->congested = 1;
		return 1;
	}
	return 0;
}

size_t mio_conn_queued(const struct mio_conn *conn)
{
	return mio_conn_pending(conn);
}

void mio_conn_set_watermarks(struct mio_conn *conn, size_t high, size_t low)
{
	conn->high_water = high;
	conn->low_water = low > high ? high : low;
}

/* ---- closing ---- */

void mio_conn_close(struct mio_conn *conn)
{
	mio_conn_finish(conn, NULL);
}

static void mio_conn_shutdown_timeout(evutil_socket_t fd, short what, void *arg)
{
	mio_conn_finish(arg, "graceful close timed out");
}

void mio_conn_shutdown(struct mio_conn *conn, unsigned int timeout_ms)
{
	if (conn->state != MIO_CONN_OPEN)
		return;
	conn->state = MIO_CONN_FLUSHING;
	conn->congested = 0;
	mio_event_del(conn->ev_idle);
	mio_event_del(conn->ev_throttle);
	mio_conn_timer(conn, &conn->ev_shutdown, mio_conn_shutdown_timeout,
		       timeout_ms != 0 ? timeout_ms : MIO_DEFAULT_SHUTDOWN_MS);
	mio_conn_update_read(conn);
	if (mio_conn_pending(conn) == 0)
		mio_conn_flushed(conn);
}

int mio_conn_closing(const struct mio_conn *conn)
{
	return conn->state != MIO_CONN_OPEN;
}

const char *mio_conn_peer_ip(const struct mio_conn *conn)
{
	return conn->peer_ip;
}

int mio_conn_peer_port(const struct mio_conn *conn)
{
	return conn->peer_port;
}

uint64_t mio_conn_id(const struct mio_conn *conn)
{
	return conn->id;
}

int mio_conn_fd(const struct mio_conn *conn)
{
	return conn->fd;
}
