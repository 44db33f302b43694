/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mio.c: the loop itself (a libevent event_base), the reaper that runs
 * close callbacks and frees connections once no callback of theirs is on
 * the stack, timers and signals. Connections, listeners and connects live
 * in their own files and come back here through mio_private.h.
 */
#include "config.h"
#include "mio/mio.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "mio/mio_private.h"
#include "util/buf.h"

uint64_t mio_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

const char *mio_strerror(char *buf, size_t size, const char *what, int err)
{
	snprintf(buf, size, "%s: %s", what, strerror(err));
	return buf;
}

/* Run on_close for everything closed since the last pass, then free it.
 * on_close may close other connections; they join the list and are
 * handled in the same pass. */
static void mio_reap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mio *mio = arg;
	struct mio_conn *conn;

	while ((conn = mio->reap_head) != NULL) {
		mio->reap_head = conn->reap_next;
		if (mio->reap_head == NULL)
			mio->reap_tail = &mio->reap_head;
		mio_conn_destroy(conn);
	}
}

void mio_reap_later(struct mio_conn *conn)
{
	struct mio *mio = conn->mio;

	conn->reap_next = NULL;
	*mio->reap_tail = conn;
	mio->reap_tail = &conn->reap_next;
	event_active(mio->ev_reap, EV_TIMEOUT, 0);
}

/* libevent normally measures timeouts from the moment the loop woke up,
 * so after a busy iteration a pause would end early by however long that
 * iteration took. Reading the clock at each event_add (a cheap vDSO call)
 * avoids that; what remains is the coarse clock's few milliseconds. */
static struct event_base *mio_base_new(void)
{
	struct event_config *cfg = event_config_new();
	struct event_base *base;

	if (cfg == NULL)
		return NULL;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_NO_CACHE_TIME);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

struct mio *mio_new(const char **error_r)
{
	struct mio *mio;

	/* A write to a socket the peer closed must fail with EPIPE, not
	 * kill the daemon. mio's own sends also pass MSG_NOSIGNAL. */
	signal(SIGPIPE, SIG_IGN);

	mio = xcalloc(1, sizeof(*mio));
	mio->base = mio_base_new();
	if (mio->base == NULL) {
		*error_r = "libevent: cannot create an event base";
		goto err;
	}
	mio->ev_reap = event_new(mio->base, -1, 0, mio_reap_cb, mio);
	if (mio->ev_reap == NULL) {
		*error_r = "libevent: cannot create an event";
		goto err;
	}
	mio->reap_tail = &mio->reap_head;
	mio->next_conn_id = 1;
	return mio;
err:
	if (mio->base != NULL)
		event_base_free(mio->base);
	free(mio);
	return NULL;
}

static void mio_free_timers(struct mio *mio)
{
	struct mio_timer *t;

	/* The owner still holds these; leave the memory to mio_timer_free. */
	while ((t = mio->timers) != NULL) {
		mio->timers = t->next;
		event_free(t->ev);
		t->ev = NULL;
		t->mio = NULL;
		t->pending = 0;
		t->prev = t->next = NULL;
	}
}

void mio_free(struct mio **miop)
{
	struct mio *mio = *miop;
	unsigned int i;

	if (mio == NULL)
		return;
	*miop = NULL;
	while (mio->listeners != NULL)
		mio_listener_destroy(mio->listeners);
	while (mio->connectors != NULL)
		mio_connector_destroy(mio->connectors);
	/* Closing a connection can make an on_close close another one, so
	 * loop until both lists are empty. */
	while (mio->conns != NULL || mio->reap_head != NULL) {
		if (mio->conns != NULL && mio->conns->state != MIO_CONN_CLOSED)
			mio_conn_finish(mio->conns, "shutting down");
		mio_reap_cb(-1, 0, mio);
	}
	mio_free_timers(mio);
	for (i = 0; i < mio->nsignals; i++)
		event_free(mio->signals[i].ev);
	event_free(mio->ev_reap);
	event_base_free(mio->base);
	free(mio);
}

int mio_run(struct mio *mio, const char **error_r)
{
	if (event_base_dispatch(mio->base) < 0) {
		*error_r = "libevent: event loop failed";
		return -1;
	}
	return 0;
}

void mio_stop(struct mio *mio)
{
	event_base_loopbreak(mio->base);
}

void mio_set_max_conns(struct mio *mio, unsigned int max)
{
	mio->max_conns = max;
}

unsigned int mio_conn_count(const struct mio *mio)
{
	return mio->nconns;
}

/* ---- timers ---- */

static void mio_timer_unlink_free(struct mio_timer *t)
{
	if (t->mio != NULL) {
		if (t->prev != NULL)
			t->prev->next = t->next;
		else
			t->mio->timers = t->next;
		if (t->next != NULL)
			t->next->prev = t->prev;
		event_free(t->ev);
	}
	free(t);
}

static void mio_timer_fire(evutil_socket_t fd, short what, void *arg)
{
	struct mio_timer *t = arg;

	if (!t->periodic) {
		event_del(t->ev);
		t->pending = 0;
	}
	t->in_cb = 1;
	t->cb(t, t->ctx);
	t->in_cb = 0;
	if (t->freed)
		mio_timer_unlink_free(t);
}

struct mio_timer *mio_timer_new(struct mio *mio, mio_timer_cb *cb, void *ctx)
{
	struct mio_timer *t = xcalloc(1, sizeof(*t));

	t->mio = mio;
	t->cb = cb;
	t->ctx = ctx;
	/* EV_PERSIST makes libevent re-arm a periodic timer itself, without
	 * drift from the time the callback takes; a one-shot timer deletes
	 * the event when it fires. */
	t->ev = event_new(mio->base, -1, EV_PERSIST, mio_timer_fire, t);
	if (t->ev == NULL)
		abort();
	t->next = mio->timers;
	if (t->next != NULL)
		t->next->prev = t;
	mio->timers = t;
	return t;
}

void mio_timer_start(struct mio_timer *t, unsigned int ms, int periodic)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	if (t->mio == NULL || t->freed)
		return;
	t->periodic = periodic != 0;
	event_add(t->ev, &tv);  /* re-adding a pending timer restarts it */
	t->pending = 1;
}

void mio_timer_stop(struct mio_timer *t)
{
	if (t->mio == NULL)
		return;
	event_del(t->ev);
	t->pending = 0;
}

int mio_timer_pending(const struct mio_timer *t)
{
	return t->pending;
}

void mio_timer_free(struct mio_timer **tp)
{
	struct mio_timer *t = *tp;

	if (t == NULL)
		return;
	*tp = NULL;
	mio_timer_stop(t);
	if (t->in_cb) {
		t->freed = 1;
		return;
	}
	mio_timer_unlink_free(t);
}

/* ---- signals ---- */

static void mio_signal_fire(evutil_socket_t signo, short what, void *arg)
{
	struct mio_signal *s = arg;

	s->cb(s->signo, s->ctx);
}

int mio_signal(struct mio *mio, int signo, mio_signal_cb *cb, void *ctx,
	       const char **error_r)
{
	struct mio_signal *s = NULL;
	unsigned int i;

	for (i = 0; i < mio->nsignals; i++)
		if (mio->signals[i].signo == signo)
			s = &mio->signals[i];
	if (s != NULL) {
		s->cb = cb;
		s->ctx = ctx;
		return 0;
	}
	if (mio->nsignals == MIO_MAX_SIGNALS) {
		*error_r = "too many signal handlers";
		return -1;
	}
	s = &mio->signals[mio->nsignals];
	s->signo = signo;
	s->cb = cb;
	s->ctx = ctx;
	s->ev = evsignal_new(mio->base, signo, mio_signal_fire, s);
	if (s->ev == NULL || evsignal_add(s->ev, NULL) < 0) {
		if (s->ev != NULL)
			event_free(s->ev);
		*error_r = "libevent: cannot handle the signal";
		return -1;
	}
	mio->nsignals++;
	return 0;
}
