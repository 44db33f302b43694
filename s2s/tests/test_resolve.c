/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for s2s/resolve.c: the RFC 2782 ordering (table-driven,
 * with a scripted random source), and real lookups through c-ares
 * against a tiny DNS responder on a loopback UDP port (the resolver's
 * nameserver override): SRV records by priority, the second SRV service
 * when the first has none, the A fallback on 5269, static hosts,
 * NXDOMAIN, failed addresses moved last, and xmpps-server (direct TLS)
 * records mixed with xmpp-server ones (XEP-0368).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "mio/mio.h"
#include "s2s/s2s.h"

/* ---- ordering ---- */

struct script {
	const unsigned *v;
	size_t n, i;
	unsigned bounds[16];
};

static unsigned scripted(unsigned bound, void *arg)
{
	struct script *s = arg;
	unsigned v = s->i < s->n ? s->v[s->i] : 0;

	if (s->i < 16)
		s->bounds[s->i] = bound;
	s->i++;
	return v % bound;
}

static void set_srv(struct s2s_srv *r, const char *t, int prio, int weight)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->target, sizeof(r->target), "%s", t);
	r->priority = prio;
	r->weight = weight;
	r->port = 5269;
}

static void test_srv_order_priority(void **state)
{
	struct s2s_srv r[3];
	struct script s = { 0 };
	size_t n = 3;

	set_srv(&r[0], "c", 30, 0);
	set_srv(&r[1], "a", 10, 0);
	set_srv(&r[2], "b", 20, 0);
	s2s_srv_order(r, &n, scripted, &s);
	assert_int_equal(n, 3);
	assert_string_equal(r[0].target, "a");
	assert_string_equal(r[1].target, "b");
	assert_string_equal(r[2].target, "c");
}

static void test_srv_order_weights(void **state)
{
	/* Same priority, weights 10 and 90: a draw in [0, 100]. Running
	 * sums 10, 100: a draw of 5 picks "light", 50 picks "heavy". */
	static const struct {
		unsigned draw;
		const char *first;
	} tab[] = { { 0, "light" }, { 5, "light" }, { 10, "light" }, { 11, "heavy" },
		    { 50, "heavy" }, { 100, "heavy" } };
	size_t k;

	for (k = 0; k < sizeof(tab) / sizeof(tab[0]); k++) {
		struct s2s_srv r[2];
		unsigned v[2] = { tab[k].draw, 0 };
		struct script s = { v, 2, 0, { 0 } };
		size_t n = 2;

		set_srv(&r[0], "light", 10, 10);
		set_srv(&r[1], "heavy", 10, 90);
		s2s_srv_order(r, &n, scripted, &s);
		assert_int_equal(s.bounds[0], 101);
		assert_string_equal(r[0].target, tab[k].first);
		assert_string_equal(r[1].target, strcmp(tab[k].first, "light") == 0 ? "heavy"
										 : "light");
	}
}

static void test_srv_order_no_service(void **state)
{
	struct s2s_srv r[1];
	struct script s = { 0 };
	size_t n = 1;

	set_srv(&r[0], ".", 0, 0);
	s2s_srv_order(r, &n, scripted, &s);
	assert_int_equal(n, 0);
}

/* ---- a DNS responder ---- */

struct rr {
	const char *name;
	int type;               /* 1 A, 33 SRV */
	const char *data;       /* A: address; SRV: "prio weight port target" */
};

static const struct rr zone[] = {
	{ "_xmpp-server._tcp.srv.test", 33, "20 0 5270 far.srv.test" },
	{ "_xmpp-server._tcp.srv.test", 33, "10 0 5271 near.srv.test" },
	{ "far.srv.test", 1, "127.0.0.21" },
	{ "near.srv.test", 1, "127.0.0.22" },
	{ "_jabber._tcp.old.test", 33, "0 0 5272 host.old.test" },
	{ "host.old.test", 1, "127.0.0.23" },
	{ "plain.test", 1, "127.0.0.24" },
	{ "two.test", 1, "127.0.0.25" },
	{ "two.test", 1, "127.0.0.26" },
	{ "_xmpp-server._tcp.none.test", 33, "0 0 0 ." },
	{ "none.test", 1, "127.0.0.27" },
	/* XEP-0368: direct TLS preferred by priority, STARTTLS after. */
	{ "_xmpps-server._tcp.tls.test", 33, "5 0 5280 direct.tls.test" },
	{ "_xmpp-server._tcp.tls.test", 33, "10 0 5269 starttls.tls.test" },
	{ "direct.tls.test", 1, "127.0.0.31" },
	{ "starttls.tls.test", 1, "127.0.0.32" },
	/* ... or STARTTLS first, when its priority says so. */
	{ "_xmpps-server._tcp.mix.test", 33, "20 0 5281 direct.mix.test" },
	{ "_xmpp-server._tcp.mix.test", 33, "10 0 5269 starttls.mix.test" },
	{ "direct.mix.test", 1, "127.0.0.33" },
	{ "starttls.mix.test", 1, "127.0.0.34" },
	/* No direct TLS here ("."), STARTTLS only. */
	{ "_xmpps-server._tcp.nodirect.test", 33, "0 0 0 ." },
	{ "_xmpp-server._tcp.nodirect.test", 33, "0 0 5269 host.nodirect.test" },
	{ "host.nodirect.test", 1, "127.0.0.35" },
	/* Only direct TLS. */
	{ "_xmpps-server._tcp.onlytls.test", 33, "0 0 5282 host.onlytls.test" },
	{ "host.onlytls.test", 1, "127.0.0.36" },
	{ "onlytls.test", 1, "127.0.0.37" },
};

static struct {
	int fd;
	int port;
	int queries;
	struct mio *mio;
	struct mio_timer *serve, *guard;
	struct s2s_target got[16];
	size_t ngot;
	char error[128];
	int done;
} D;

static size_t put_name(unsigned char *p, const char *name)
{
	size_t n = 0;

	while (*name != '\0') {
		const char *dot = strchr(name, '.');
		size_t len = dot != NULL ? (size_t)(dot - name) : strlen(name);

		p[n++] = (unsigned char)len;
		memcpy(p + n, name, len);
		n += len;
		name += len;
		if (*name == '.')
			name++;
	}
	p[n++] = 0;
	return n;
}

static size_t put_rdata(unsigned char *p, const struct rr *rr)
{
	if (rr->type == 1) {
		inet_pton(AF_INET, rr->data, p);
		return 4;
	} else {
		unsigned prio, weight, port;
		char target[128];

		sscanf(rr->data, "%u %u %u %127s", &prio, &weight, &port, target);
		p[0] = prio >> 8; p[1] = prio & 0xff;
		p[2] = weight >> 8; p[3] = weight & 0xff;
		p[4] = port >> 8; p[5] = port & 0xff;
		if (strcmp(target, ".") == 0) {
			p[6] = 0;
			return 7;
		}
		return 6 + put_name(p + 6, target);
	}
}

/* Answer one query from the zone. */
static void dns_answer(const unsigned char *q, size_t qlen, struct sockaddr_in *from)
{
	unsigned char out[1500];
	char name[256];
	size_t pos = 12, nl = 0, n, i;
	int qtype, found = 0, name_known = 0;

	if (qlen < 17)
		return;
	while (pos < qlen && q[pos] != 0 && nl < sizeof(name) - 64) {
		size_t l = q[pos++];

		if (nl > 0)
			name[nl++] = '.';
		memcpy(name + nl, q + pos, l);
		nl += l;
		pos += l;
	}
	name[nl] = '\0';
	pos++;
	qtype = (q[pos] << 8) | q[pos + 1];
	pos += 4;
	memcpy(out, q, pos);
	n = pos;
	for (i = 0; i < sizeof(zone) / sizeof(zone[0]); i++) {
		size_t rl;

		if (strcasecmp(zone[i].name, name) != 0)
			continue;
		name_known = 1;
		if (zone[i].type != qtype)
			continue;
		out[n++] = 0xc0; out[n++] = 12;
		out[n++] = 0; out[n++] = (unsigned char)qtype;
		out[n++] = 0; out[n++] = 1;
		out[n++] = 0; out[n++] = 0; out[n++] = 0; out[n++] = 60;
		rl = put_rdata(out + n + 2, &zone[i]);
		out[n++] = (unsigned char)(rl >> 8);
		out[n++] = (unsigned char)(rl & 0xff);
		n += rl;
		found++;
	}
	out[2] = 0x84 | (q[2] & 0x01);           /* response, authoritative, RD */
	out[3] = name_known ? 0x80 : 0x83;       /* RA; NXDOMAIN if unknown */
	out[4] = 0; out[5] = 1;
	out[6] = 0; out[7] = (unsigned char)found;
	memset(out + 8, 0, 4);
	sendto(D.fd, out, n, 0, (struct sockaddr *)from, sizeof(*from));
}

static void dns_serve(struct mio_timer *t, void *ctx)
{
	unsigned char buf[1500];
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	ssize_t got;
	int i;

	for (i = 0; i < 64; i++) {
		got = recvfrom(D.fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		if (got <= 0)
			return;
		D.queries++;
		dns_answer(buf, (size_t)got, &from);
	}
}

static void guard(struct mio_timer *t, void *ctx)
{
	mio_stop(D.mio);
}

static int dns_setup(void **state)
{
	struct sockaddr_in a = { 0 };
	socklen_t al = sizeof(a);
	const char *err;

	memset(&D, 0, sizeof(D));
	D.fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(D.fd >= 0);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(D.fd, (struct sockaddr *)&a, sizeof(a)), 0);
	getsockname(D.fd, (struct sockaddr *)&a, &al);
	D.port = ntohs(a.sin_port);
	D.mio = mio_new(&err);
	assert_non_null(D.mio);
	D.serve = mio_timer_new(D.mio, dns_serve, NULL);
	D.guard = mio_timer_new(D.mio, guard, NULL);
	mio_timer_start(D.serve, 1, 1);
	return 0;
}

static int dns_teardown(void **state)
{
	mio_timer_free(&D.serve);
	mio_timer_free(&D.guard);
	mio_free(&D.mio);
	close(D.fd);
	return 0;
}

static void resolved(const char *domain, const struct s2s_target *t, size_t n,
		     const char *error, void *arg)
{
	D.ngot = n < 16 ? n : 16;
	memcpy(D.got, t, D.ngot * sizeof(*t));
	snprintf(D.error, sizeof(D.error), "%s", error != NULL ? error : "");
	D.done = 1;
	mio_stop(D.mio);
}

static const char *srv_both[] = { "xmpp-server", "jabber", NULL };

static void cfg_init(struct s2s_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->nameserver_ip = "127.0.0.1";
	cfg->nameserver_port = D.port;
	cfg->srv = srv_both;
	cfg->bad_host_timeout = 3600;
}

/* Resolve with a fresh resolver; results in D.got. */
static void lookup(struct s2s_resolver *r, const char *domain)
{
	const char *err;

	D.done = 0;
	D.ngot = 0;
	s2s_resolve(r, domain, resolved, NULL);
	mio_timer_start(D.guard, 10000, 0);
	assert_int_equal(mio_run(D.mio, &err), 0);
	assert_true(D.done);
}

static struct s2s_resolver *res_new(const struct s2s_config *cfg)
{
	const char *err = NULL;
	struct s2s_resolver *r = s2s_resolver_new(D.mio, cfg, &err);

	if (r == NULL)
		fail_msg("resolver: %s", err);
	return r;
}

static void test_srv_by_priority(void **state)
{
	struct s2s_config cfg;
	struct s2s_resolver *r;

	cfg_init(&cfg);
	r = res_new(&cfg);
	lookup(r, "srv.test");
	assert_int_equal(D.ngot, 2);
	assert_string_equal(D.got[0].ip, "127.0.0.22");
	assert_int_equal(D.got[0].port, 5271);
	assert_string_equal(D.got[1].ip, "127.0.0.21");
	assert_int_equal(D.got[1].port, 5270);
	assert_true(D.queries >= 3);
	/* A failed address is tried last afterwards. */
	s2s_resolver_bad_host(r, "127.0.0.22", 5271);
	lookup(r, "srv.test");
	assert_int_equal(D.ngot, 2);
	assert_string_equal(D.got[0].ip, "127.0.0.21");
	assert_string_equal(D.got[1].ip, "127.0.0.22");
	s2s_resolver_free(&r);
}

static void test_second_service_and_fallback(void **state)
{
	struct s2s_config cfg;
	struct s2s_resolver *r;

	cfg_init(&cfg);
	r = res_new(&cfg);
	lookup(r, "old.test");
	assert_int_equal(D.ngot, 1);
	assert_string_equal(D.got[0].ip, "127.0.0.23");
	assert_int_equal(D.got[0].port, 5272);
	lookup(r, "two.test");
	assert_int_equal(D.ngot, 2);
	assert_string_equal(D.got[0].ip, "127.0.0.25");
	assert_int_equal(D.got[0].port, 5269);
	assert_string_equal(D.got[1].ip, "127.0.0.26");
	/* SRV "." means no service there (RFC 6120 3.2.1): no fallback to
	 * the domain's own address. */
	lookup(r, "none.test");
	assert_int_equal(D.ngot, 0);
	assert_non_null(strstr(D.error, "no XMPP service"));
	s2s_resolver_free(&r);
}

static const char *srv_tls[] = { "xmpps-server", "xmpp-server", NULL };

static void assert_target(size_t i, const char *ip, int port, int direct_tls)
{
	assert_true(i < D.ngot);
	assert_string_equal(D.got[i].ip, ip);
	assert_int_equal(D.got[i].port, port);
	assert_int_equal(D.got[i].direct_tls, direct_tls);
}

/* xmpps-server and xmpp-server together: one record set ordered by the
 * operator's priorities, each target marked for direct TLS or not. */
static void test_xmpps_merged_with_xmpp(void **state)
{
	struct s2s_config cfg;
	struct s2s_resolver *r;

	cfg_init(&cfg);
	cfg.srv = srv_tls;
	r = res_new(&cfg);
	lookup(r, "tls.test");
	assert_int_equal(D.ngot, 2);
	assert_target(0, "127.0.0.31", 5280, 1);
	assert_target(1, "127.0.0.32", 5269, 0);
	lookup(r, "mix.test");
	assert_int_equal(D.ngot, 2);
	assert_target(0, "127.0.0.34", 5269, 0);
	assert_target(1, "127.0.0.33", 5281, 1);
	/* "." for xmpps-server only means no direct TLS. */
	lookup(r, "nodirect.test");
	assert_int_equal(D.ngot, 1);
	assert_target(0, "127.0.0.35", 5269, 0);
	lookup(r, "onlytls.test");
	assert_int_equal(D.ngot, 1);
	assert_target(0, "127.0.0.36", 5282, 1);
	/* Neither service: the A fallback, never direct TLS. */
	lookup(r, "plain.test");
	assert_int_equal(D.ngot, 1);
	assert_target(0, "127.0.0.24", 5269, 0);
	s2s_resolver_free(&r);

	/* Without xmpps-server configured its records are not asked for. */
	cfg_init(&cfg);
	r = res_new(&cfg);
	lookup(r, "tls.test");
	assert_int_equal(D.ngot, 1);
	assert_target(0, "127.0.0.32", 5269, 0);
	lookup(r, "onlytls.test");
	assert_int_equal(D.ngot, 1);
	assert_target(0, "127.0.0.37", 5269, 0);
	s2s_resolver_free(&r);
}

static void test_no_srv_configured(void **state)
{
	struct s2s_config cfg;
	struct s2s_resolver *r;

	cfg_init(&cfg);
	cfg.srv = NULL;
	r = res_new(&cfg);
	/* srv.test has SRV records but only A is asked: no address. */
	lookup(r, "srv.test");
	assert_int_equal(D.ngot, 0);
	lookup(r, "plain.test");
	assert_int_equal(D.ngot, 1);
	assert_string_equal(D.got[0].ip, "127.0.0.24");
	s2s_resolver_free(&r);
}

static void test_answers_cached(void **state)
{
	struct s2s_config cfg;
	struct s2s_resolver *r;
	int q;

	cfg_init(&cfg);
	cfg.min_ttl = 30;
	cfg.max_ttl = 86400;
	r = res_new(&cfg);
	lookup(r, "plain.test");
	q = D.queries;
	assert_true(q > 0);
	lookup(r, "plain.test");
	assert_int_equal(D.ngot, 1);
	assert_string_equal(D.got[0].ip, "127.0.0.24");
	assert_int_equal(D.queries, q);
	s2s_resolver_free(&r);

	/* lookup.no-cache: every lookup asks again. */
	cfg.no_cache = 1;
	r = res_new(&cfg);
	lookup(r, "plain.test");
	q = D.queries;
	lookup(r, "plain.test");
	assert_true(D.queries > q);
	s2s_resolver_free(&r);
}

static void test_nxdomain(void **state)
{
	struct s2s_config cfg;
	struct s2s_resolver *r;

	cfg_init(&cfg);
	r = res_new(&cfg);
	lookup(r, "missing.test");
	assert_int_equal(D.ngot, 0);
	assert_true(D.error[0] != '\0');
	s2s_resolver_free(&r);
}

static void test_static_host_wins(void **state)
{
	struct s2s_static_host hosts[] = {
		{ "srv.test", "127.0.0.99", 6000, 0 },
		{ NULL, NULL, 0, 0 },
	};
	struct s2s_config cfg;
	struct s2s_resolver *r;

	cfg_init(&cfg);
	cfg.hosts = hosts;
	r = res_new(&cfg);
	lookup(r, "SRV.test");
	assert_int_equal(D.ngot, 1);
	assert_string_equal(D.got[0].ip, "127.0.0.99");
	assert_int_equal(D.got[0].port, 6000);
	assert_int_equal(D.queries, 0);
	s2s_resolver_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_srv_order_priority),
		cmocka_unit_test(test_srv_order_weights),
		cmocka_unit_test(test_srv_order_no_service),
		cmocka_unit_test_setup_teardown(test_srv_by_priority, dns_setup, dns_teardown),
		cmocka_unit_test_setup_teardown(test_second_service_and_fallback, dns_setup,
						dns_teardown),
		cmocka_unit_test_setup_teardown(test_no_srv_configured, dns_setup, dns_teardown),
		cmocka_unit_test_setup_teardown(test_answers_cached, dns_setup, dns_teardown),
		cmocka_unit_test_setup_teardown(test_nxdomain, dns_setup, dns_teardown),
		cmocka_unit_test_setup_teardown(test_static_host_wins, dns_setup, dns_teardown),
		cmocka_unit_test_setup_teardown(test_xmpps_merged_with_xmpp, dns_setup,
						dns_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
