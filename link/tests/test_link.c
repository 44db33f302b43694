/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for link/link.c over socketpairs: the daemon side is a link
 * on a mio loop, the peer a plain non-blocking socket the test reads and
 * writes. Reading into sx (fed a byte at a time too), batched flushing,
 * back-pressure from a congested link and from a peer that stops reading,
 * idle trim and use after trim, graceful close that writes the closing tag
 * before the socket goes, and reaping never inside the link's own
 * callback.
 */
#include "config.h"
#include "link/link.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "mio/mio.h"
#include "mio/tests/mio_test.h"
#include "util/buf.h"
#include "util/nad.h"

#define HEADER "<stream:stream xmlns='jabber:client' " \
	"xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0'>"

struct owner {
	struct link *link;
	int opens, elements, closes, ended, gones;
	int gone_inside;        /* gone ran while our callback was running */
	int in_cb;
	int drop_on_element;    /* link_drop() inside the element callback */
	int direct;             /* reply with sx_send, not link_send */
	struct link *route_to;  /* send a big reply there for each element */
	size_t reply_size;
	char reason[128];
};

struct peer {
	int fd;
	struct buf in;
	int eof;
};

static void own_open(struct sx *sx, const struct sx_header *hdr, void *ctx)
{
	struct owner *o = ctx;
	struct sx_header out = { .ns = SX_NS_CLIENT, .from = "example.com", .version = "1.0" };

	(void)hdr;
	o->opens++;
	sx_open(sx, &out);
}

static void own_element(struct sx *sx, struct nad *nad, void *ctx)
{
	struct owner *o = ctx;

	(void)sx;
	o->in_cb = 1;
	o->elements++;
	nad_free(&nad);
	if (o->drop_on_element) {
		link_drop(o->link);
		/* Still ours while the callback runs. */
		assert_non_null(link_sx(o->link));
		assert_int_equal(o->gones, 0);
	}
	if (o->route_to != NULL) {
		struct nad *r = nad_new();
		char *text = xmalloc(o->reply_size + 1);
		int e = nad_elem_add(r, NAD_NONE, SX_NS_CLIENT, "message");

		memset(text, 'x', o->reply_size);
		nad_text_set(r, nad_elem_add(r, e, SX_NS_CLIENT, "body"), text, o->reply_size);
		free(text);
		if (o->direct)
			sx_send(link_sx(o->route_to), r);
		else
			link_send(o->route_to, r);
	}
	o->in_cb = 0;
}

static void own_closed(struct sx *sx, const char *cond, const char *text, void *ctx)
{
	struct owner *o = ctx;

	(void)sx, (void)cond, (void)text;
	o->closes++;
}

static void own_ended(struct link *link, void *ctx)
{
	struct owner *o = ctx;

	(void)link;
	o->ended++;
}

static void own_gone(struct link *link, const char *reason, void *ctx)
{
	struct owner *o = ctx;

	(void)link;
	if (o->in_cb)
		o->gone_inside = 1;
	o->gones++;
	snprintf(o->reason, sizeof(o->reason), "%s", reason != NULL ? reason : "");
	o->link = NULL;
}

static const struct link_callbacks own_cb = {
	.stream_open = own_open,
	.element = own_element,
	.closed = own_closed,
	.ended = own_ended,
	.gone = own_gone,
};

/* A link on one end of a socketpair; the peer gets the other end. */
static void pair_new(struct mio *mio, struct link_set *set, struct owner *o, struct peer *p)
{
	const char *error;
	struct mio_conn *mc;
	int sv[2];

	memset(o, 0, sizeof(*o));
	memset(p, 0, sizeof(*p));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	mc = mio_conn_adopt(mio, sv[0], &error);
	assert_non_null(mc);
	o->link = link_new(set, mc, SX_SERVER, NULL, &own_cb, o);
	p->fd = sv[1];
	assert_int_equal(fcntl(p->fd, F_SETFL, O_NONBLOCK), 0);
	buf_init(&p->in);
}

static void peer_send(struct peer *p, const char *s)
{
	assert_int_equal(write(p->fd, s, strlen(s)), (ssize_t)strlen(s));
}

/* Read what is there; returns the bytes read. */
static size_t peer_read(struct peer *p)
{
	char chunk[65536];
	size_t total = 0;
	ssize_t n;

	while ((n = read(p->fd, chunk, sizeof(chunk))) > 0) {
		buf_append(&p->in, chunk, (size_t)n);
		total += (size_t)n;
	}
	if (n == 0)
		p->eof = 1;
	return total;
}

static void peer_free(struct peer *p)
{
	close(p->fd);
	buf_free(&p->in);
}

static int peer_has(struct peer *p, const char *s)
{
	peer_read(p);
	buf_append_char(&p->in, '\0');
	p->in.len--;
	return strstr(p->in.data, s) != NULL;
}

struct wait_text {
	struct peer *p;
	const char *s;
};

static int cond_text(void *arg)
{
	struct wait_text *w = arg;

	return peer_has(w->p, w->s);
}

static int cond_elements(void *arg)
{
	struct owner *o = arg;

	return o->elements > 0;
}

static int cond_gone(void *arg)
{
	struct owner *o = arg;

	return o->gones > 0;
}

static void wait_text(struct mio *mio, struct peer *p, const char *s)
{
	struct wait_text w = { p, s };

	assert_true(mio_test_run_until(mio, cond_text, &w, 2000));
}

/* One link on a loop and its peer; `opened`: the peer has sent its
 * header and read our answer. */
struct fix {
	struct mio *mio;
	struct link_set *set;
	struct owner o;
	struct peer p;
};

static void fix_open(struct fix *f, const struct link_set_config *cfg, int opened)
{
	f->mio = mio_new(NULL);
	f->set = link_set_new(f->mio, cfg);
	pair_new(f->mio, f->set, &f->o, &f->p);
	if (opened) {
		peer_send(&f->p, HEADER);
		wait_text(f->mio, &f->p, "<stream:stream");
	}
}

static void fix_close(struct fix *f)
{
	link_set_free(&f->set);
	mio_free(&f->mio);
	peer_free(&f->p);
}

/* The stream header and an element reach the owner, also when the peer's
 * bytes come one at a time; the header is answered. */
static void test_read_into_sx(void **state)
{
	static const char stanza[] = "<message to='a@example.com'><body>hi</body></message>";
	struct fix f;
	char all[512];
	size_t i;

	(void)state;
	fix_open(&f, NULL, 0);
	snprintf(all, sizeof(all), "%s%s", HEADER, stanza);
	for (i = 0; all[i] != '\0'; i++) {
		assert_int_equal(write(f.p.fd, &all[i], 1), 1);
		mio_test_run_until(f.mio, NULL, NULL, 1);
	}
	assert_true(mio_test_run_until(f.mio, cond_elements, &f.o, 2000));
	assert_int_equal(f.o.opens, 1);
	assert_int_equal(f.o.elements, 1);
	wait_text(f.mio, &f.p, "<stream:stream");
	assert_true(link_last_read(f.o.link) > 0);
	fix_close(&f);
}

/* Many sends during one turn of the loop are not written one by one:
 * they wait in sx until the flush timer, then all arrive. */
static void test_batched_flush(void **state)
{
	struct fix f;
	int i;

	(void)state;
	fix_open(&f, NULL, 1);
	for (i = 0; i < 100; i++) {
		struct nad *n = nad_new();

		nad_attr_set(n, nad_elem_add(n, NAD_NONE, SX_NS_CLIENT, "presence"), NULL, "id",
			     i == 99 ? "last" : "x");
		link_send(f.o.link, n);
	}
	/* Nothing handed to the socket yet: one write per loop turn. */
	assert_true(sx_output_pending(link_sx(f.o.link)) > 0);
	assert_int_equal(mio_conn_queued(link_conn(f.o.link)), 0);
	assert_int_equal(peer_read(&f.p), 0);
	wait_text(f.mio, &f.p, "id='last'");
	assert_int_equal(sx_output_pending(link_sx(f.o.link)), 0);
	fix_close(&f);
}

static int cond_not_paused(void *arg)
{
	return !link_paused(arg);
}

/* Links a and b (peers pa, pb) on one set; a's stanzas are routed to b
 * as 16 KiB replies while pb reads nothing, until a is paused. */
static void congest(struct mio *mio, struct link_set *set, struct owner *a, struct peer *pa,
		    struct owner *b, struct peer *pb)
{
	int i;

	pair_new(mio, set, a, pa);
	pair_new(mio, set, b, pb);
	peer_send(pb, HEADER);
	peer_send(pa, HEADER);
	wait_text(mio, pb, "<stream:stream");
	a->route_to = b->link;
	a->reply_size = 16 * 1024;
	/* pb reads nothing: b fills the socket buffer, then its backlog. */
	for (i = 0; i < 200 && !link_paused(a->link); i++) {
		peer_send(pa, "<message/>");
		mio_test_run_until(mio, NULL, NULL, 2);
	}
	assert_true(link_paused(a->link));
}

/* A link whose stanzas are routed to a congested link stops being read
 * until that link's backlog is under the low mark, then reads again.
 * Between daemons (daemon_peers) the congested link itself is still
 * read; otherwise its peer, not reading, is held back too. */
static void backpressure(int daemon_peers)
{
	struct link_set_config cfg = { .high_mark = 64 * 1024, .low_mark = 16 * 1024,
				       .daemon_peers = daemon_peers };
	struct mio *mio = mio_new(NULL);
	struct link_set *set = link_set_new(mio, &cfg);
	struct owner a, b;
	struct peer pa, pb;
	int i, elements;

	congest(mio, set, &a, &pa, &b, &pb);
	assert_false(link_paused(b.link));
	/* b's backlog is what a routed to it, not replies to pb: pb (still
	 * not reading) sends. Between daemons b is read all the same: two
	 * daemons each with the other's traffic queued (the router and the
	 * sm when a room's presences flood both ways) would otherwise both
	 * stop reading, each waiting for the other, for good. */
	assert_true(link_backlog(b.link) >= cfg.high_mark);
	elements = b.elements;
	for (i = 0; i < 20; i++) {
		peer_send(&pb, "<message/>");
		mio_test_run_until(mio, NULL, NULL, 2);
	}
	assert_int_equal(link_paused(b.link), !daemon_peers);
	if (daemon_peers)
		assert_int_equal(b.elements, elements + 20);
	elements = a.elements;
	/* More input from pa is not read while paused. */
	peer_send(&pa, "<message/><message/>");
	mio_test_run_until(mio, NULL, NULL, 50);
	assert_int_equal(a.elements, elements);
	assert_true(link_backlog(b.link) >= cfg.low_mark);
	/* pb catches up: a reads again and its waiting stanzas arrive. */
	for (i = 0; i < 500 && link_paused(a.link); i++) {
		peer_read(&pb);
		mio_test_run_until(mio, NULL, NULL, 2);
	}
	assert_false(link_paused(a.link));
	a.route_to = NULL;
	mio_test_run_until(mio, NULL, NULL, 50);
	assert_int_equal(a.elements, elements + 2);
	link_set_free(&set);
	mio_free(&mio);
	peer_free(&pa);
	peer_free(&pb);
}

static void test_backpressure(void **state)
{
	(void)state;
	backpressure(0);
}

static void test_backpressure_daemons(void **state)
{
	(void)state;
	backpressure(1);
}

/* A peer that sends requests and never reads the replies is read no more
 * once its own backlog is over the high mark: the daemon's memory for it
 * stays bounded. When it reads again, so does the link. */
static void test_peer_stops_reading(void **state)
{
	struct link_set_config cfg = { .high_mark = 64 * 1024, .low_mark = 16 * 1024 };
	struct fix f;
	size_t most = 0;
	int i;

	(void)state;
	fix_open(&f, &cfg, 0);
	peer_send(&f.p, HEADER);
	f.o.route_to = f.o.link;
	f.o.direct = 1;         /* as an owner answering on its own sx */
	f.o.reply_size = 8 * 1024;
	for (i = 0; i < 400; i++) {
		if (!link_paused(f.o.link))
			peer_send(&f.p, "<iq/>");
		mio_test_run_until(f.mio, NULL, NULL, 1);
		if (link_backlog(f.o.link) > most)
			most = link_backlog(f.o.link);
	}
	assert_true(link_paused(f.o.link));
	/* One read's worth of replies over the mark at most. */
	assert_true(most < cfg.high_mark + 64 * 1024);
	assert_true(mio_test_run_until(f.mio, cond_not_paused, f.o.link, 1) == 0);
	for (i = 0; i < 500 && link_paused(f.o.link); i++) {
		peer_read(&f.p);
		mio_test_run_until(f.mio, NULL, NULL, 2);
	}
	assert_false(link_paused(f.o.link));
	fix_close(&f);
}

/* The owner's pause (a rate limit) and back-pressure are separate: the
 * end of back-pressure does not resume a link its owner holds, and the
 * owner's resume does not end back-pressure. */
static void test_owner_pause_kept(void **state)
{
	struct link_set_config cfg = { .high_mark = 64 * 1024, .low_mark = 16 * 1024 };
	struct fix f;
	int i;

	(void)state;
	fix_open(&f, &cfg, 0);
	peer_send(&f.p, HEADER);
	f.o.route_to = f.o.link;
	f.o.reply_size = 8 * 1024;
	for (i = 0; i < 400 && !link_paused(f.o.link); i++) {
		peer_send(&f.p, "<iq/>");
		mio_test_run_until(f.mio, NULL, NULL, 1);
	}
	assert_true(link_paused(f.o.link));
	/* Held by back-pressure: the owner's resume changes nothing. */
	link_pause(f.o.link);
	link_resume(f.o.link);
	assert_true(link_paused(f.o.link));
	/* Now the owner holds it too; the peer catches up. */
	link_pause(f.o.link);
	f.o.route_to = NULL;
	for (i = 0; i < 200; i++) {
		peer_read(&f.p);
		mio_test_run_until(f.mio, NULL, NULL, 2);
	}
	assert_true(link_paused(f.o.link));
	i = f.o.elements;
	peer_send(&f.p, "<message/>");
	mio_test_run_until(f.mio, NULL, NULL, 50);
	assert_int_equal(f.o.elements, i);
	link_resume(f.o.link);
	assert_false(link_paused(f.o.link));
	assert_true(mio_test_run_until(f.mio, NULL, NULL, 50) == 0);
	assert_true(f.o.elements > i);
	fix_close(&f);
}

/* An idle link gives its parser back after one quiet sweep; a busy one
 * does not; a trimmed link parses the next stanza as usual. */
static void test_idle_trim(void **state)
{
	struct fix f;

	(void)state;
	fix_open(&f, NULL, 1);
	/* Traffic since the last sweep: not trimmed yet. */
	assert_int_equal(link_set_trim(f.set), 0);
	assert_int_equal(link_set_trim(f.set), 1);
	assert_int_equal(link_set_trim(f.set), 0);       /* already trimmed */
	peer_send(&f.p, "<message><body>after</body></message>");
	assert_true(mio_test_run_until(f.mio, cond_elements, &f.o, 2000));
	assert_int_equal(f.o.elements, 1);
	/* It read: the next sweep leaves it alone. */
	assert_int_equal(link_set_trim(f.set), 0);
	fix_close(&f);
}

static int cond_trimmed(void *arg)
{
	return link_set_trim(arg) > 0;
}

/* The sweep timer of a set with trim_ms does the same by itself. */
static void test_trim_timer(void **state)
{
	struct link_set_config cfg = { .trim_ms = 20 };
	struct fix f;

	(void)state;
	fix_open(&f, &cfg, 1);
	mio_test_run_until(f.mio, NULL, NULL, 100);
	/* The timer trimmed it already: a manual sweep finds nothing. */
	assert_false(cond_trimmed(f.set));
	peer_send(&f.p, "<message/>");
	assert_true(mio_test_run_until(f.mio, cond_elements, &f.o, 2000));
	fix_close(&f);
}

/* link_close: the closing tag reaches the peer before the socket is shut
 * down; ended runs once before, gone once after. */
static void test_graceful_close(void **state)
{
	struct fix f;
	int i;

	(void)state;
	fix_open(&f, NULL, 1);
	link_close(f.o.link);
	assert_int_equal(f.o.ended, 1);
	assert_int_equal(f.o.gones, 0);
	for (i = 0; i < 1000 && !f.p.eof; i++) {
		mio_test_run_until(f.mio, NULL, NULL, 1);
		peer_read(&f.p);
	}
	assert_true(f.p.eof);
	assert_true(peer_has(&f.p, "</stream:stream>"));
	/* The peer closes its side too: the graceful close completes. */
	shutdown(f.p.fd, SHUT_WR);
	assert_true(mio_test_run_until(f.mio, cond_gone, &f.o, 2000));
	assert_int_equal(f.o.ended, 1);
	assert_string_equal(f.o.reason, "");
	assert_int_equal(link_set_count(f.set), 0);
	fix_close(&f);
}

/* A stream error from the peer's bad XML: the error is written, then the
 * socket goes. */
static void test_error_flushed(void **state)
{
	struct fix f;
	int i;

	(void)state;
	fix_open(&f, NULL, 0);
	peer_send(&f.p, HEADER "<a><b></a>");
	for (i = 0; i < 1000 && !f.p.eof; i++) {
		mio_test_run_until(f.mio, NULL, NULL, 1);
		peer_read(&f.p);
	}
	assert_true(f.p.eof);
	assert_true(peer_has(&f.p, "not-well-formed"));
	assert_int_equal(f.o.closes, 1);
	assert_int_equal(f.o.ended, 1);
	fix_close(&f);
}

/* link_drop inside the element callback: the link stays usable until the
 * callback returns, and gone runs later, from the loop. */
static void test_reap_outside_callback(void **state)
{
	struct fix f;

	(void)state;
	fix_open(&f, NULL, 0);
	f.o.drop_on_element = 1;
	peer_send(&f.p, HEADER "<message/><message/>");
	assert_true(mio_test_run_until(f.mio, cond_gone, &f.o, 2000));
	assert_int_equal(f.o.gone_inside, 0);
	assert_int_equal(f.o.gones, 1);
	assert_int_equal(link_set_count(f.set), 0);
	fix_close(&f);
}

/* The peer going away: gone with the reason; link_free of a live link
 * calls nothing back. */
static void test_peer_gone_and_free(void **state)
{
	struct mio *mio = mio_new(NULL);
	struct link_set *set = link_set_new(mio, NULL);
	struct owner a, b;
	struct peer pa, pb;

	(void)state;
	pair_new(mio, set, &a, &pa);
	pair_new(mio, set, &b, &pb);
	close(pa.fd);
	pa.fd = -1;
	assert_true(mio_test_run_until(mio, cond_gone, &a, 2000));
	assert_string_equal(a.reason, "connection closed by peer");
	link_free(&b.link);
	assert_null(b.link);
	mio_test_run_until(mio, NULL, NULL, 20);
	assert_int_equal(b.gones, 0);
	assert_int_equal(link_set_count(set), 0);
	link_set_free(&set);
	mio_free(&mio);
	buf_free(&pa.in);
	peer_free(&pb);
}

struct host {
	struct buf out;
	int shutdowns;
	size_t out_at_shutdown;
};

static void host_write(void *tctx, const void *data, size_t len)
{
	struct host *h = tctx;

	assert_int_equal(h->shutdowns, 0);      /* nothing after the close */
	buf_append(&h->out, data, len);
}

static void host_shutdown(void *tctx)
{
	struct host *h = tctx;

	h->shutdowns++;
	h->out_at_shutdown = h->out.len;
}

static const struct link_transport host_tr = {
	.write = host_write,
	.shutdown = host_shutdown,
};

/* A link on a host's transport (as s2s's engine uses): input fed by the
 * host, output only on link_set_flush (no loop), and the closing tag
 * written before the transport is shut down, once. */
static void test_host_transport(void **state)
{
	struct link_set *set = link_set_new(NULL, NULL);
	struct host h = { 0 };
	struct owner o = { 0 };
	struct link *l;

	(void)state;
	buf_init(&h.out);
	l = link_new_transport(set, &host_tr, &h, SX_SERVER, NULL, &own_cb, &o);
	assert_null(link_conn(l));
	link_input(l, HEADER "<message/>", strlen(HEADER "<message/>"));
	assert_int_equal(o.opens, 1);
	assert_int_equal(o.elements, 1);
	assert_int_equal(h.out.len, 0);         /* batched until the flush */
	link_set_flush(set);
	assert_true(h.out.len > 0);
	link_close(l);
	assert_int_equal(h.shutdowns, 1);
	buf_append_char(&h.out, '\0');
	assert_non_null(strstr(h.out.data, "</stream:stream>"));
	assert_int_equal(h.out_at_shutdown + 1, h.out.len);
	link_set_flush(set);
	assert_int_equal(h.shutdowns, 1);
	assert_int_equal(o.gones, 0);
	link_free(&l);
	assert_int_equal(link_set_count(set), 0);
	link_set_free(&set);
	buf_free(&h.out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_into_sx),
		cmocka_unit_test(test_batched_flush),
		cmocka_unit_test(test_backpressure),
		cmocka_unit_test(test_backpressure_daemons),
		cmocka_unit_test(test_peer_stops_reading),
		cmocka_unit_test(test_owner_pause_kept),
		cmocka_unit_test(test_idle_trim),
		cmocka_unit_test(test_trim_timer),
		cmocka_unit_test(test_graceful_close),
		cmocka_unit_test(test_error_flushed),
		cmocka_unit_test(test_reap_outside_callback),
		cmocka_unit_test(test_peer_gone_and_free),
		cmocka_unit_test(test_host_transport),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
