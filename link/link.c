/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * link.c: one XMPP stream on one socket (see link.h). mio does the socket
 * (write queue, graceful shutdown, freeing from the loop); sx does the
 * stream; this file is what sits between them, once for every daemon.
 */
#include "config.h"
#include "link/link.h"

#include <assert.h>
#include <stdlib.h>

#include "mio/mio.h"
#include "util/buf.h"
#include "util/list.h"
#include "util/log.h"

#define LINK_HIGH_DEFAULT (1024 * 1024)
#define LINK_LOW_DEFAULT (256 * 1024)
#define LINK_CLOSE_MS_DEFAULT 5000
/* How often links held back by back-pressure look at the backlog that
 * holds them (only while some are). */
#define LINK_CONGESTION_CHECK_MS 20

struct link_set {
	struct mio *mio;
	struct link_set_config cfg;
	struct mio_timer *flush;        /* zero-delay: write out `dirty` */
	struct mio_timer *trim;         /* every cfg.trim_ms */
	struct mio_timer *congestion;   /* while `paused` is not empty */
	struct list_node all;           /* every link */
	struct list_node dirty;         /* links with output waiting in sx */
	struct list_node paused;        /* links held back by back-pressure */
	struct link *reading;           /* the link whose bytes are being read */
	size_t count;
};

struct link {
	struct link_set *set;
	struct mio_conn *mc;            /* NULL on a host's transport: */
	const struct link_transport *tr;
	void *tctx;
	struct sx *sx;
	const struct link_callbacks *cb;
	void *ctx;
	time_t last_read, last_write;
	unsigned stirred : 1;           /* traffic since the last trim sweep */
	unsigned ended : 1;             /* sx is over */
	unsigned ended_told : 1;        /* cb->ended has run */
	unsigned owner_paused : 1;
	unsigned shut : 1;              /* transport shut down */
	unsigned busy;                  /* inside on_read */
	struct link *blocked_on;        /* back-pressure: until this catches up */
	struct list_node all, dirty, paused;
};

static void link_congestion_check(struct link_set *set);

/* ---- the transport: a mio connection or a host's ---- */

static void tr_write(struct link *l, const void *data, size_t len)
{
	if (l->mc != NULL)
		mio_conn_write(l->mc, data, len);
	else
		l->tr->write(l->tctx, data, len);
}

static int tr_closing(const struct link *l)
{
	return l->mc != NULL ? mio_conn_closing(l->mc) : l->shut;
}

static void tr_shutdown(struct link *l)
{
	if (l->mc != NULL) {
		mio_conn_shutdown(l->mc, l->set->cfg.close_ms);
		return;
	}
	l->shut = 1;
	l->tr->shutdown(l->tctx);
}

static void tr_pause(struct link *l, int on)
{
	if (l->mc != NULL) {
		if (on)
			mio_conn_pause_read(l->mc);
		else
			mio_conn_resume_read(l->mc);
	} else if (l->tr->pause != NULL) {
		l->tr->pause(l->tctx, on);
	}
}

/* ---- output ---- */

static void link_schedule(struct link *l)
{
	struct link_set *set = l->set;

	if (list_linked(&l->dirty))
		return;
	list_add_tail(&set->dirty, &l->dirty);
	if (set->flush != NULL && !mio_timer_pending(set->flush))
		mio_timer_start(set->flush, 0, 0);
}

/* Hand what sx has for the peer to mio: the bytes-out point of every
 * daemon. */
static void link_write_out(struct link *l)
{
	const void *data;
	size_t len;

	list_remove(&l->dirty);
	while ((data = sx_output(l->sx, &len)) != NULL && len > 0) {
		tr_write(l, data, len);
		sx_output_consumed(l->sx, len);
		l->last_write = time(NULL);
		l->stirred = 1;
	}
}

/* Once the stream is over: tell the owner, write what is left (the error,
 * the closing tag), then shut the socket down. */
static void link_flush_close(struct link *l)
{
	if (!l->ended)
		return;
	if (!l->ended_told) {
		l->ended_told = 1;
		if (l->cb->ended != NULL)
			l->cb->ended(l, l->ctx);
	}
	link_write_out(l);
	if (!tr_closing(l))
		tr_shutdown(l);
}

static void link_flush_cb(struct mio_timer *t, void *ctx)
{
	(void)t;
	link_set_flush(ctx);
}

void link_set_flush(struct link_set *set)
{
	struct list_node *n;

	while ((n = list_first(&set->dirty)) != NULL) {
		struct link *l = LIST_ENTRY(n, struct link, dirty);

		link_write_out(l);
		link_flush_close(l);
	}
	/* Without a loop there is no congestion timer: look after each
	 * flush instead. */
	if (set->congestion == NULL)
		link_congestion_check(set);
}

size_t link_backlog(const struct link *l)
{
	return (l->mc != NULL ? mio_conn_queued(l->mc) : 0) + sx_output_pending(l->sx);
}

/* ---- back-pressure ---- */

static void link_update_read(struct link *l)
{
	tr_pause(l, l->owner_paused || list_linked(&l->paused));
}

static void link_block(struct link *l, struct link *on)
{
	struct link_set *set = l->set;

	l->blocked_on = on;
	list_add_tail(&set->paused, &l->paused);
	link_update_read(l);
	if (set->congestion != NULL && !mio_timer_pending(set->congestion))
		mio_timer_start(set->congestion, LINK_CONGESTION_CHECK_MS, 1);
}

static void link_unblock(struct link *l)
{
	list_remove(&l->paused);
	l->blocked_on = NULL;
	link_update_read(l);
}

/* Resume each held-back link once what held it has caught up (or gone). */
static void link_congestion_check(struct link_set *set)
{
	struct link *l, *tmp;

	LIST_FOREACH_SAFE(l, tmp, &set->paused, struct link, paused) {
		if (l->blocked_on != NULL && link_backlog(l->blocked_on) >= set->cfg.low_mark)
			continue;
		link_unblock(l);
	}
}

static void link_congestion_cb(struct mio_timer *t, void *ctx)
{
	struct link_set *set = ctx;

	link_congestion_check(set);
	if (list_empty(&set->paused))
		mio_timer_stop(t);
}

/* Something was just queued for `rx`: hold back the link being read if
 * rx is congested. */
static void link_check_pressure(struct link *rx)
{
	struct link *tx = rx->set->reading;

	if (tx == NULL || list_linked(&tx->paused) || link_backlog(rx) < rx->set->cfg.high_mark)
		return;
	link_block(tx, rx);
}

void link_send(struct link *l, struct nad *nad)
{
	sx_send(l->sx, nad);
	link_check_pressure(l);
}

void link_send_raw(struct link *l, const char *data, size_t len)
{
	sx_send_raw(l->sx, data, len);
	link_check_pressure(l);
}

void link_pause(struct link *l)
{
	l->owner_paused = 1;
	link_update_read(l);
}

void link_resume(struct link *l)
{
	l->owner_paused = 0;
	link_update_read(l);
}

int link_paused(const struct link *l)
{
	return l->owner_paused || list_linked(&l->paused);
}

/* ---- sx callbacks ---- */

static void link_sx_open(struct sx *sx, const struct sx_header *hdr, void *ctx)
{
	struct link *l = ctx;

	if (l->cb->stream_open != NULL)
		l->cb->stream_open(sx, hdr, l->ctx);
}

static void link_sx_element(struct sx *sx, struct nad *nad, void *ctx)
{
	struct link *l = ctx;

	/* The element-in point of every daemon. */
	l->cb->element(sx, nad, l->ctx);
}

static void link_sx_event(struct sx *sx, enum sx_event ev, const void *data, void *ctx)
{
	struct link *l = ctx;

	if (l->cb->event != NULL)
		l->cb->event(sx, ev, data, l->ctx);
}

static void link_sx_closed(struct sx *sx, const char *condition, const char *text, void *ctx)
{
	struct link *l = ctx;

	l->ended = 1;
	if (l->cb->closed != NULL)
		l->cb->closed(sx, condition, text, l->ctx);
	link_schedule(l);
}

static void link_sx_want_write(struct sx *sx, void *ctx)
{
	(void)sx;
	link_schedule(ctx);
}

static const struct sx_callbacks link_sx_cb = {
	.stream_open = link_sx_open,
	.element = link_sx_element,
	.closed = link_sx_closed,
	.want_write = link_sx_want_write,
	.event = link_sx_event,
};

/* ---- mio callbacks ---- */

void link_input(struct link *l, const void *data, size_t len)
{
	struct link_set *set = l->set;
	struct link *outer = set->reading;
	size_t before = link_backlog(l);

	l->last_read = time(NULL);
	l->stirred = 1;
	l->busy++;
	set->reading = l;
	sx_input(l->sx, data, len);
	set->reading = outer;
	l->busy--;
	/* A peer that sends more than it reads is read no more until its
	 * replies have gone out. Between daemons, only when this read added
	 * to its own backlog (nothing is written during a read): a backlog
	 * that other links' traffic made is no reason, as the peer may hold
	 * back its reading of us for the same kind of reason (the router and
	 * the sm, each with the other's stanzas queued), and pausing it too
	 * would stop both for good. */
	if (!list_linked(&l->paused) && link_backlog(l) >= set->cfg.high_mark &&
	    (!set->cfg.daemon_peers || link_backlog(l) > before))
		link_block(l, l);
	link_flush_close(l);
}

static void link_on_read(struct mio_conn *mc, const void *data, size_t len, void *ctx)
{
	(void)mc;
	link_input(ctx, data, len);
}

/* Unhook from the set; the caller frees. */
static void link_detach(struct link *l)
{
	struct link_set *set = l->set;
	struct link *o;

	list_remove(&l->all);
	list_remove(&l->dirty);
	list_remove(&l->paused);
	LIST_FOREACH(o, &set->paused, struct link, paused)
		if (o->blocked_on == l)
			o->blocked_on = NULL;
	if (set->reading == l)
		set->reading = NULL;
	set->count--;
	sx_free(&l->sx);
}

static void link_on_close(struct mio_conn *mc, const char *reason, void *ctx)
{
	struct link *l = ctx;

	(void)mc;
	l->cb->gone(l, reason, l->ctx);
	link_detach(l);
	free(l);
}

static const struct mio_conn_callbacks link_mio_cb = {
	.on_read = link_on_read,
	.on_close = link_on_close,
};

static void link_noop_read(struct mio_conn *mc, const void *d, size_t n, void *ctx)
{
	(void)mc, (void)d, (void)n, (void)ctx;
}

static void link_noop_close(struct mio_conn *mc, const char *r, void *ctx)
{
	(void)mc, (void)r, (void)ctx;
}

static const struct mio_conn_callbacks link_mio_noop = {
	.on_read = link_noop_read,
	.on_close = link_noop_close,
};

/* ---- life ---- */

static struct link *link_alloc(struct link_set *set, enum sx_type type,
			       const struct sx_limits *limits, const struct link_callbacks *cb,
			       void *ctx)
{
	struct link *l = xcalloc(1, sizeof(*l));

	assert(cb->element != NULL);
	l->set = set;
	l->cb = cb;
	l->ctx = ctx;
	l->last_read = l->last_write = time(NULL);
	l->stirred = 1;
	list_init(&l->dirty);
	list_init(&l->paused);
	list_add_tail(&set->all, &l->all);
	set->count++;
	l->sx = sx_new(type, limits, &link_sx_cb, l);
	return l;
}

struct link *link_new(struct link_set *set, struct mio_conn *mc, enum sx_type type,
		      const struct sx_limits *limits, const struct link_callbacks *cb,
		      void *ctx)
{
	struct link *l;

	assert(cb->gone != NULL && set->mio != NULL);
	l = link_alloc(set, type, limits, cb, ctx);
	l->mc = mc;
	mio_conn_setup(mc, &link_mio_cb, l);
	return l;
}

struct link *link_new_transport(struct link_set *set, const struct link_transport *tr,
				void *tctx, enum sx_type type, const struct sx_limits *limits,
				const struct link_callbacks *cb, void *ctx)
{
	struct link *l = link_alloc(set, type, limits, cb, ctx);

	l->tr = tr;
	l->tctx = tctx;
	return l;
}

void link_free(struct link **linkp)
{
	struct link *l = *linkp;

	if (l == NULL)
		return;
	*linkp = NULL;
	assert(l->busy == 0);
	if (l->mc != NULL) {
		/* on_close comes later, from the loop: it must not find us. */
		mio_conn_setup(l->mc, &link_mio_noop, NULL);
		mio_conn_close(l->mc);
	}
	link_detach(l);
	free(l);
}

void link_close(struct link *l)
{
	sx_close(l->sx);
	l->ended = 1;
	link_schedule(l);
	if (l->busy == 0)
		link_flush_close(l);
}

void link_error(struct link *l, const char *condition, const char *text)
{
	sx_error(l->sx, condition, text);
	l->ended = 1;
	link_schedule(l);
	if (l->busy == 0)
		link_flush_close(l);
}

void link_drop(struct link *l)
{
	if (l->mc != NULL)
		mio_conn_close(l->mc);
	else if (!l->shut)
		tr_shutdown(l);
}

void *link_sx_owner(const struct sx *sx)
{
	const struct link *l = sx_ctx(sx);

	return l->ctx;
}

struct sx *link_sx(const struct link *l)
{
	return l->sx;
}

struct mio_conn *link_conn(const struct link *l)
{
	return l->mc;
}

uint64_t link_id(const struct link *l)
{
	return l->mc != NULL ? mio_conn_id(l->mc) : 0;
}

time_t link_last_read(const struct link *l)
{
	return l->last_read;
}

time_t link_last_write(const struct link *l)
{
	return l->last_write;
}

int link_ended(const struct link *l)
{
	return l->ended;
}

/* ---- the set ---- */

size_t link_set_trim(struct link_set *set)
{
	struct link *l;
	size_t n = 0;

	LIST_FOREACH(l, &set->all, struct link, all) {
		if (l->ended)
			continue;
		if (!l->stirred && sx_trim(l->sx))
			n++;
		l->stirred = 0;
	}
	if (n > 0)
		log_debug("link: %zu idle stream(s) trimmed", n);
	return n;
}

static void link_trim_cb(struct mio_timer *t, void *ctx)
{
	(void)t;
	link_set_trim(ctx);
}

struct link_set *link_set_new(struct mio *mio, const struct link_set_config *cfg)
{
	struct link_set *set = xcalloc(1, sizeof(*set));

	set->mio = mio;
	if (cfg != NULL)
		set->cfg = *cfg;
	if (set->cfg.high_mark == 0)
		set->cfg.high_mark = LINK_HIGH_DEFAULT;
	if (set->cfg.low_mark == 0)
		set->cfg.low_mark = LINK_LOW_DEFAULT;
	if (set->cfg.low_mark > set->cfg.high_mark)
		set->cfg.low_mark = set->cfg.high_mark;
	if (set->cfg.close_ms == 0)
		set->cfg.close_ms = LINK_CLOSE_MS_DEFAULT;
	list_init(&set->all);
	list_init(&set->dirty);
	list_init(&set->paused);
	if (mio == NULL)
		return set;
	set->flush = mio_timer_new(mio, link_flush_cb, set);
	set->congestion = mio_timer_new(mio, link_congestion_cb, set);
	set->trim = mio_timer_new(mio, link_trim_cb, set);
	if (set->cfg.trim_ms > 0)
		mio_timer_start(set->trim, set->cfg.trim_ms, 1);
	return set;
}

void link_set_free(struct link_set **setp)
{
	struct link_set *set = *setp;
	struct list_node *n;

	if (set == NULL)
		return;
	*setp = NULL;
	while ((n = list_first(&set->all)) != NULL) {
		struct link *l = LIST_ENTRY(n, struct link, all);

		link_free(&l);
	}
	mio_timer_free(&set->flush);
	mio_timer_free(&set->congestion);
	mio_timer_free(&set->trim);
	free(set);
}

size_t link_set_count(const struct link_set *set)
{
	return set->count;
}
