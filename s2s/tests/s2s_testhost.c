/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * s2s_testhost: the in-memory host of the s2s engine unit tests (see
 * s2s_testhost.h).
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "s2s/tests/s2s_testhost.h"
#include "util/nad.h"

struct testhost T;

/* ---- the host ---- */

static void h_connect(struct s2s *s2s, struct s2s_conn *conn, const char *domain, void *host)
{
	struct pending_connect *p;

	assert_true(T.npc < MAX_CONNECTS);
	p = &T.pc[T.npc++];
	p->eng = host;
	p->conn = conn;
	snprintf(p->domain, sizeof(p->domain), "%s", domain);
}

static void h_to_router(struct s2s *s2s, struct nad *route, void *host)
{
	struct eng *e = host;

	assert_true(e->nroutes < MAX_ROUTES);
	e->routes[e->nroutes++] = route;
}

static void h_write(struct s2s *s2s, struct s2s_conn *conn, const void *data, size_t len,
		    void *host)
{
	struct end *e = s2s_conn_transport(conn);

	buf_append(&e->wire, data, len);
	if (e->peer != NULL && !e->peer->gone)
		buf_append(&e->peer->inbox, data, len);
}

static void h_close(struct s2s *s2s, struct s2s_conn *conn, void *host)
{
	struct end *e = s2s_conn_transport(conn);

	e->closing = 1;
}

static time_t h_now(void *host)
{
	return T.now;
}

static void h_throttle(struct s2s *s2s, struct s2s_conn *conn, int seconds, void *host)
{
	T.throttles++;
	T.throttle_seconds = seconds;
}

static int h_is_local(struct s2s *s2s, const char *domain, void *host)
{
	return T.local_only == NULL || strcmp(domain, T.local_only) == 0;
}

static const struct s2s_ops ops = {
	.connect = h_connect,
	.to_router = h_to_router,
	.write = h_write,
	.close = h_close,
	.now = h_now,
	.throttle = h_throttle,
	.is_local = h_is_local,
};

struct end *end_new(struct eng *eng)
{
	int i;

	for (i = 0; i < MAX_ENDS; i++)
		if (!T.ends[i].used) {
			memset(&T.ends[i], 0, sizeof(T.ends[i]));
			T.ends[i].used = 1;
			T.ends[i].eng = eng;
			return &T.ends[i];
		}
	fail_msg("out of ends");
	return NULL;
}

struct dom *dom_find(const char *domain)
{
	int i;

	for (i = 0; i < T.ndoms; i++)
		if (strcmp(T.doms[i].domain, domain) == 0)
			return &T.doms[i];
	return NULL;
}

void add_dom(const char *domain, struct eng *eng, enum dmode mode)
{
	T.doms[T.ndoms].domain = domain;
	T.doms[T.ndoms].eng = eng;
	T.doms[T.ndoms].mode = mode;
	T.ndoms++;
}

static int do_connects(void)
{
	int moved = T.npc > 0;

	while (T.npc > 0) {
		struct pending_connect p = T.pc[0];
		struct dom *d = dom_find(p.domain);
		struct end *out, *in;

		memmove(&T.pc[0], &T.pc[1], (size_t)(T.npc - 1) * sizeof(T.pc[0]));
		T.npc--;
		if (d == NULL || d->mode == D_NXDOMAIN) {
			s2s_conn_failed(p.conn, 1, "no such domain");
			continue;
		}
		if (d->mode == D_BLACKHOLE) {
			T.blackholed[T.nblack++] = p.conn;
			continue;
		}
		out = end_new(p.eng);
		in = end_new(d->eng);
		out->peer = in;
		in->peer = out;
		in->conn = s2s_conn_accepted(d->eng->s2s, in);
		out->conn = p.conn;
		s2s_conn_connected(p.conn, out, 0);
	}
	return moved;
}

static int feed_ends(void)
{
	int moved = 0, i;

	for (i = 0; i < MAX_ENDS; i++) {
		struct end *e = &T.ends[i];

		while (e->used && !e->gone && e->inbox.len > 0) {
			size_t n = T.chunk > 0 && T.chunk < e->inbox.len ? T.chunk : e->inbox.len;
			char *copy = xmalloc(n);

			memcpy(copy, e->inbox.data, n);
			buf_consume(&e->inbox, n);
			s2s_conn_input(e->conn, copy, n);
			free(copy);
			moved = 1;
			s2s_flush(e->eng->s2s);
		}
	}
	return moved;
}

/* A side that closed takes its peer down once the peer has read all. */
static int reap_ends(void)
{
	int moved = 0, i;

	for (i = 0; i < MAX_ENDS; i++) {
		struct end *e = &T.ends[i];

		if (!e->used || e->gone || !e->closing)
			continue;
		if (e->peer != NULL && !e->peer->gone && e->peer->inbox.len > 0)
			continue;
		e->gone = 1;
		s2s_conn_gone(e->conn, NULL);
		if (e->peer != NULL && !e->peer->gone) {
			e->peer->gone = 1;
			s2s_conn_gone(e->peer->conn, "closed by peer");
		}
		moved = 1;
	}
	return moved;
}

struct eng *engines[4];

void pump(void)
{
	int rounds, moved = 1, i;

	for (rounds = 0; moved && rounds < 10000; rounds++) {
		moved = 0;
		for (i = 0; i < 4 && engines[i] != NULL; i++)
			s2s_flush(engines[i]->s2s);
		moved |= do_connects();
		moved |= feed_ends();
		moved |= reap_ends();
	}
	assert_true(rounds < 10000);
}

void eng_init(struct eng *e, const char *name, const char *secret)
{
	memset(e, 0, sizeof(*e));
	e->name = name;
	e->set.id = name;
	e->set.secret = secret;
	e->set.check_queue = 60;
	e->set.out_conn_reuse = 1;
}

void eng_start(struct eng *e)
{
	int i;

	e->s2s = s2s_new(&e->set, &ops, e);
	for (i = 0; i < 4; i++)
		if (engines[i] == NULL) {
			engines[i] = e;
			break;
		}
}

void eng_done(struct eng *e)
{
	int i;

	s2s_free(&e->s2s);
	for (i = 0; i < e->nroutes; i++)
		nad_free(&e->routes[i]);
	sx_tls_ctx_free(&e->set.tls_client);
	sx_tls_ctx_free(&e->set.tls_server);
}

int setup(void **state)
{
	int i;

	for (i = 0; i < MAX_ENDS; i++) {
		buf_free(&T.ends[i].inbox);
		buf_free(&T.ends[i].wire);
	}
	memset(&T, 0, sizeof(T));
	memset(engines, 0, sizeof(engines));
	T.now = 1000;
	return 0;
}

int teardown(void **state)
{
	int i;

	for (i = 0; i < 4; i++)
		if (engines[i] != NULL)
			eng_done(engines[i]);
	for (i = 0; i < MAX_ENDS; i++) {
		buf_free(&T.ends[i].inbox);
		buf_free(&T.ends[i].wire);
	}
	if (T.have_certs)
		test_certs_remove(&T.certs);
	memset(engines, 0, sizeof(engines));
	return 0;
}

/* ---- helpers ---- */

/* A route as the sm sends it: from the sm id, to the remote domain. */
struct nad *mk_route(const char *from_jid, const char *to_jid, const char *body)
{
	struct nad *n = nad_new();
	int r = nad_elem_add(n, NAD_NONE, S2S_NS_COMPONENT, "route");
	int m, b;
	char dom[128];
	const char *at = strchr(to_jid, '@');

	snprintf(dom, sizeof(dom), "%s", at != NULL ? at + 1 : to_jid);
	nad_attr_set(n, r, NULL, "to", dom);
	nad_attr_set(n, r, NULL, "from", "sm");
	m = nad_elem_add(n, r, SX_NS_CLIENT, "message");
	nad_attr_set(n, m, NULL, "from", from_jid);
	nad_attr_set(n, m, NULL, "to", to_jid);
	b = nad_elem_add(n, m, SX_NS_CLIENT, "body");
	nad_text_append(n, b, body, strlen(body));
	return n;
}

void send_msg(struct eng *e, const char *from, const char *to, const char *body)
{
	s2s_route_in(e->s2s, mk_route(from, to, body));
	s2s_flush(e->s2s);
	pump();
}

/* The i-th route the engine gave its router, as a string. */
char *route_str(struct eng *e, int i)
{
	assert_true(i < e->nroutes);
	return nad_to_string(e->routes[i], NULL);
}

void assert_route_has(struct eng *e, int i, const char *needle)
{
	char *s = route_str(e, i);

	if (strstr(s, needle) == NULL)
		fail_msg("route %d of %s lacks \"%s\": %s", i, e->name, needle, s);
	free(s);
}

struct s2s_conn *first_conn(struct eng *e, int incoming)
{
	struct s2s_conn *c;

	LIST_FOREACH(c, &e->s2s->conns, struct s2s_conn, link)
		if (c->incoming == incoming)
			return c;
	return NULL;
}

