/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * s2s_testhost: the in-memory host the s2s engine unit tests share. Two
 * or three engines, each playing one server, wired back to back: the
 * host resolves domains from a table (T.doms), turns each connect into a
 * pair of in-memory transports (one engine's outgoing stream, the
 * other's incoming one) and pump() moves bytes until everything is
 * quiet. What reaches each engine's "router" is kept in eng.routes, so
 * tests check what a user of either server would see.
 */
#ifndef S2S_TESTS_S2S_TESTHOST_H
#define S2S_TESTS_S2S_TESTHOST_H

#include <stddef.h>
#include <time.h>

#include "s2s/s2s.h"
#include "sx/tests/tls_testlib.h"
#include "util/buf.h"

#define MAX_ROUTES 64
#define MAX_ENDS 64
#define MAX_CONNECTS 16

struct eng {
	const char *name;
	struct s2s *s2s;
	struct s2s_settings set;
	struct nad *routes[MAX_ROUTES];
	int nroutes;
};

/* One side of an in-memory connection. */
struct end {
	int used;
	struct eng *eng;
	struct s2s_conn *conn;
	struct end *peer;
	struct buf inbox;        /* bytes the peer wrote, not yet fed */
	int closing;             /* ops->close was called on this side */
	int gone;                /* s2s_conn_gone done */
	struct buf wire;         /* everything this side wrote */
};

enum dmode { D_OK, D_NXDOMAIN, D_BLACKHOLE };

struct dom {
	const char *domain;
	struct eng *eng;
	enum dmode mode;
};

struct pending_connect {
	struct eng *eng;
	struct s2s_conn *conn;
	char domain[128];
};

struct testhost {
	struct end ends[MAX_ENDS];
	struct dom doms[8];
	int ndoms;
	struct pending_connect pc[MAX_CONNECTS];
	int npc;
	struct s2s_conn *blackholed[MAX_CONNECTS];
	int nblack;
	time_t now;
	size_t chunk;
	struct test_certs certs;
	int have_certs;
	const char *local_only;  /* if set, the one domain is_local knows */
	int throttles;           /* ops->throttle calls */
	int throttle_seconds;    /* the last one's pause */
};

extern struct testhost T;
extern struct eng *engines[4];

struct end *end_new(struct eng *eng);
struct dom *dom_find(const char *domain);
void add_dom(const char *domain, struct eng *eng, enum dmode mode);
/* Move bytes, connects and closes until nothing changes (bounded). */
void pump(void);
void eng_init(struct eng *e, const char *name, const char *secret);
void eng_start(struct eng *e);
void eng_done(struct eng *e);
int setup(void **state);
int teardown(void **state);
/* A route as the sm sends it: from the sm id, to the remote domain. */
struct nad *mk_route(const char *from_jid, const char *to_jid, const char *body);
void send_msg(struct eng *e, const char *from, const char *to, const char *body);
/* The i-th route the engine gave its router, as a string (free it). */
char *route_str(struct eng *e, int i);
void assert_route_has(struct eng *e, int i, const char *needle);
struct s2s_conn *first_conn(struct eng *e, int incoming);

#endif
