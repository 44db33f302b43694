/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mio_listen.c: listening sockets. Each accepted peer passes three gates
 * before its owner hears of it, in this order: the connection cap
 * (io.max_fds), the access list (io.access) and the per-address connect
 * rate (io.limits.connects). A peer that fails one is closed at once.
 * Running out of descriptors pauses accepting briefly instead of spinning
 * on a listener that stays readable.
 */
#include "config.h"
#include "mio/mio.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "mio/mio_private.h"
#include "util/buf.h"
#include "util/log.h"

#define MIO_ACCEPT_BATCH 16
#define MIO_EMFILE_PAUSE_MS 100

struct mio_listener {
	struct mio *mio;
	struct mio_listener *prev, *next;
	int fd;
	int port;
	struct event *ev;
	struct event *ev_resume;        /* re-enables accepting after EMFILE */
	mio_accept_cb *cb;
	void *ctx;
	const struct mio_access *access;
	struct mio_rate_table rates;
	int in_cb;
	int freed;                      /* mio_listener_free inside the callback */
	unsigned int refused;           /* at the cap, since the last log line */
	int starved;                    /* out of descriptors, logged */
	char *path;                     /* a unix socket's path, unlinked at free */
	char name[INET6_ADDRSTRLEN + 80];
};

void mio_listener_destroy(struct mio_listener *l)
{
	struct mio *mio = l->mio;

	if (l->prev != NULL)
		l->prev->next = l->next;
	else
		mio->listeners = l->next;
	if (l->next != NULL)
		l->next->prev = l->prev;
	event_free(l->ev);
	if (l->ev_resume != NULL)
		event_free(l->ev_resume);
	close(l->fd);
	if (l->path != NULL)
		unlink(l->path);
	free(l->path);
	mio_rate_table_clear(&l->rates);
	free(l);
}

void mio_listener_free(struct mio_listener **lp)
{
	struct mio_listener *l = *lp;

	if (l == NULL)
		return;
	*lp = NULL;
	if (l->in_cb) {
		l->freed = 1;
		event_del(l->ev);
		return;
	}
	mio_listener_destroy(l);
}

int mio_listener_port(const struct mio_listener *l)
{
	return l->port;
}

/* The connection cap: refuse, and say so once per burst of refusals. */
static int mio_listener_under_cap(struct mio_listener *l)
{
	struct mio *mio = l->mio;

	if (mio->max_conns == 0 || mio->nconns < mio->max_conns) {
		if (l->refused > 0)
			log_notice("%s: %u connections refused while at the limit of %u",
				   l->name, l->refused, mio->max_conns);
		l->refused = 0;
		return 1;
	}
	if (l->refused++ == 0)
		log_warnx("%s: %u connections open, the limit (io.max_fds); refusing new ones",
			  l->name, mio->nconns);
	return 0;
}

static int mio_listener_admit(struct mio_listener *l, const struct sockaddr *sa)
{
	struct mio_addr addr;
	char ip[INET6_ADDRSTRLEN];
	int port, started;

	if (!mio_listener_under_cap(l))
		return 0;
	if (l->path != NULL)
		return 1;       /* unix: the file's permissions are the gate */
	mio_addr_format(sa, ip, sizeof(ip), &port);
	if (l->access != NULL && !mio_access_check(l->access, sa)) {
		log_notice("%s: [%s] access denied by configuration", l->name, ip);
		return 0;
	}
	if (mio_addr_from_sockaddr(&addr, sa) < 0)
		return 0;
	if (!mio_rate_table_hit(&l->rates, &addr, mio_now_ms(), &started)) {
		if (started)
			log_notice("%s: [%s] is being rate limited (over %u connects in %u ms), refused for %u ms",
				   l->name, ip, l->rates.limit.max,
				   l->rates.limit.window_ms, l->rates.limit.throttle_ms);
		return 0;
	}
	return 1;
}

static void mio_listener_take(struct mio_listener *l, int fd,
			      const struct sockaddr *sa, socklen_t len)
{
	struct mio_conn *conn;

	if (!mio_listener_admit(l, sa)) {
		close(fd);
		return;
	}
	conn = mio_conn_create(l->mio, fd, sa, len);
	l->in_cb = 1;
	l->cb(l, conn, conn->peer_ip, conn->peer_port, l->ctx);
	l->in_cb = 0;
	mio_conn_handed_out(conn);
}

static void mio_listener_resume(evutil_socket_t fd, short what, void *arg)
{
	struct mio_listener *l = arg;

	event_add(l->ev, NULL);
}

/* Out of descriptors or memory: the pending connection would make the
 * listener readable again at once, so stop watching it for a moment. */
static void mio_listener_starve(struct mio_listener *l, int err)
{
	struct timeval tv = { 0, MIO_EMFILE_PAUSE_MS * 1000 };

	if (!l->starved) {
		errno = err;
		log_warn("%s: accept", l->name);
		l->starved = 1;
	}
	if (l->ev_resume == NULL) {
		l->ev_resume = evtimer_new(l->mio->base, mio_listener_resume, l);
		if (l->ev_resume == NULL)
			abort();
	}
	event_del(l->ev);
	evtimer_add(l->ev_resume, &tv);
}

static void mio_listener_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct mio_listener *l = arg;
	struct sockaddr_storage ss;
	socklen_t len;
	int i, fd;

	for (i = 0; i < MIO_ACCEPT_BATCH && !l->freed; i++) {
		len = sizeof(ss);
		fd = accept4(l->fd, (struct sockaddr *)&ss, &len,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM)
				mio_listener_starve(l, errno);
			else if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("%s: accept", l->name);
			break;
		}
		l->starved = 0;
		mio_listener_take(l, fd, (struct sockaddr *)&ss, len);
	}
	if (l->freed)
		mio_listener_destroy(l);
}

/* socket + SO_REUSEADDR + bind + listen. Returns the fd or -1. */
static int mio_listen_socket(const struct addrinfo *ai, int backlog,
			     char *err, size_t errlen, const char **error_r)
{
	int fd, one = 1;

	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*error_r = mio_strerror(err, errlen, "socket", errno);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		*error_r = mio_strerror(err, errlen, "bind", errno);
		goto err;
	}
	if (listen(fd, backlog > 0 ? backlog : 128) < 0) {
		*error_r = mio_strerror(err, errlen, "listen", errno);
		goto err;
	}
	return fd;
err:
	close(fd);
	return -1;
}

static int mio_bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char ip[INET6_ADDRSTRLEN];
	int port;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -1;
	mio_addr_format((struct sockaddr *)&ss, ip, sizeof(ip), &port);
	return port;
}

/* Resolve the numeric address and open the listening socket. Returns the
 * fd, or -1 with *error_r set (in mio->errbuf when it needs formatting). */
static int mio_listen_open(struct mio *mio, const char *ip, int port,
			   int backlog, const char **error_r)
{
	struct addrinfo hints = { 0 }, *ai = NULL;
	char portstr[16];
	int fd, rc;

	if (port < 0 || port > 65535) {
		*error_r = "port out of range";
		return -1;
	}
	snprintf(portstr, sizeof(portstr), "%d", port);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	rc = getaddrinfo(ip, portstr, &hints, &ai);
	if (rc != 0) {
		snprintf(mio->errbuf, sizeof(mio->errbuf), "%s: %s", ip,
			 gai_strerror(rc));
		*error_r = mio->errbuf;
		return -1;
	}
	fd = mio_listen_socket(ai, backlog, mio->errbuf, sizeof(mio->errbuf),
			       error_r);
	freeaddrinfo(ai);
	return fd;
}

/* Register a listening fd with the loop. */
static struct mio_listener *mio_listener_add(struct mio *mio, int fd,
					     mio_accept_cb *cb, void *ctx)
{
	struct mio_listener *l = xcalloc(1, sizeof(*l));

	l->mio = mio;
	l->fd = fd;
	l->cb = cb;
	l->ctx = ctx;
	l->ev = event_new(mio->base, fd, EV_READ | EV_PERSIST,
			  mio_listener_accept_cb, l);
	if (l->ev == NULL)
		abort();
	event_add(l->ev, NULL);
	l->next = mio->listeners;
	if (l->next != NULL)
		l->next->prev = l;
	mio->listeners = l;
	return l;
}

/* Whether a process listens on the unix socket `path` (a stale file left
 * by a process that died does not answer). */
static int mio_unix_alive(const struct sockaddr_un *sun)
{
	int fd, rc;

	/* Non-blocking: a live listener with a full backlog answers EAGAIN
	 * instead of holding us up. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	close(fd);
	return rc == 0 || (errno != ECONNREFUSED && errno != ENOENT);
}

/* Fill `sun` for `path` and clear the way: a stale socket file is
 * removed; a live one, or any other file, is an error. Returns 0 or -1. */
static int mio_unix_prepare(struct mio *mio, const char *path, struct sockaddr_un *sun,
			    const char **error_r)
{
	struct stat st;

	if (path[0] == '\0' || strlen(path) >= sizeof(sun->sun_path)) {
		snprintf(mio->errbuf, sizeof(mio->errbuf),
			 "unix socket path empty or longer than %zu bytes: %s",
			 sizeof(sun->sun_path) - 1, path);
		*error_r = mio->errbuf;
		return -1;
	}
	memcpy(sun->sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) < 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(mio->errbuf, sizeof(mio->errbuf), "%s: exists and is not a socket",
			 path);
		*error_r = mio->errbuf;
		return -1;
	}
	if (mio_unix_alive(sun)) {
		snprintf(mio->errbuf, sizeof(mio->errbuf),
			 "%s: another process listens on it", path);
		*error_r = mio->errbuf;
		return -1;
	}
	unlink(path);   /* stale, from a process that died */
	return 0;
}

struct mio_listener *mio_listen_unix(struct mio *mio, const char *path, unsigned mode,
				     int backlog, mio_accept_cb *cb, void *ctx,
				     const char **error_r)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct mio_listener *l;
	mode_t old_mask;
	int fd, rc, err;

	if (mio_unix_prepare(mio, path, &sun, error_r) < 0)
		return NULL;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*error_r = mio_strerror(mio->errbuf, sizeof(mio->errbuf), "socket", errno);
		return NULL;
	}
	/* Created with no more than `mode` from the start: no window in
	 * which another user could connect. The loop is single-threaded. */
	old_mask = umask((mode_t)(~mode & 0777));
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	err = errno;
	umask(old_mask);
	if (rc < 0) {
		snprintf(mio->errbuf, sizeof(mio->errbuf), "bind %s: %s", path,
			 strerror(err));
		*error_r = mio->errbuf;
		close(fd);
		return NULL;
	}
	if (chmod(path, (mode_t)mode) < 0 || listen(fd, backlog > 0 ? backlog : 128) < 0) {
		snprintf(mio->errbuf, sizeof(mio->errbuf), "%s: %s", path, strerror(errno));
		*error_r = mio->errbuf;
		unlink(path);
		close(fd);
		return NULL;
	}
	l = mio_listener_add(mio, fd, cb, ctx);
	l->path = xstrdup(path);
	snprintf(l->name, sizeof(l->name), "unix:%.*s", (int)sizeof(l->name) - 6, path);
	return l;
}

struct mio_listener *mio_listen(struct mio *mio,
				const struct mio_listen_settings *set,
				mio_accept_cb *cb, void *ctx,
				const char **error_r)
{
	struct mio_listener *l;
	const char *ip = set->ip != NULL ? set->ip : "0.0.0.0";
	int fd;

	fd = mio_listen_open(mio, ip, set->port, set->backlog, error_r);
	if (fd < 0)
		return NULL;
	l = mio_listener_add(mio, fd, cb, ctx);
	l->port = mio_bound_port(fd);
	l->access = set->access;
	mio_rate_table_init(&l->rates, &set->connects);
	if (strchr(ip, ':') != NULL)
		snprintf(l->name, sizeof(l->name), "[%s]:%d", ip, l->port);
	else
		snprintf(l->name, sizeof(l->name), "%s:%d", ip, l->port);
	return l;
}
