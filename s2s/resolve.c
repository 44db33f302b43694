/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * resolve: where to connect for a remote domain, through c-ares. In
 * order: a static <lookup><host> entry; each configured SRV service
 * (_xmpp-server._tcp, _jabber._tcp, or _xmpps-server._tcp for direct TLS),
 * the first that has records winning, ordered by priority and weight
 * (RFC 2782) and each target resolved to its addresses; else the domain's
 * own A (and, with resolve-ipv6, AAAA first) records on port 5269.
 * When both xmpp-server and xmpps-server are configured they are asked
 * together and their records mixed as one set (XEP-0368 3): the
 * operator's priorities and weights decide between STARTTLS and direct
 * TLS; a "." for one of them only means that kind is not offered.
 * Addresses that failed recently (s2s_resolver_bad_host) go last.
 * The servers asked are lookup.nameserver, else NSCACHEIP, else
 * /etc/resolv.conf's; RES_OPTIONS's "port:N" gives their port, as it does
 * for jabberd2's resolver (udns), though c-ares itself ignores it.
 * Answers are cached for their address TTL, clamped to lookup.min-ttl and
 * lookup.max-ttl (none with lookup.no-cache); static hosts never are.
 *
 * mio offers timers but no watcher for foreign sockets, so the c-ares
 * channel is driven by a short periodic timer while queries are in
 * flight (poll() with no wait, then ares_process_fd); at most a few
 * milliseconds are added to a lookup, and nothing runs when idle.
 */
#include "config.h"
#include "s2s/s2s.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ares.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "mio/mio.h"
#include "util/buf.h"
#include "util/list.h"
#include "util/log.h"
#include "util/xhash.h"

#define RES_POLL_MS 5
#define RES_MAX_TARGETS 32
#define RES_MAX_SRV 16

struct res_query {
	struct s2s_resolver *r;
	char *domain;
	s2s_resolve_cb *cb;
	void *arg;
	int srv_idx;                    /* next lookup.srv to try */
	int pair_done;                  /* xmpp(s)-server asked together */
	int srv_pending;                /* SRV answers awaited */
	int srv_dots;                   /* answers that were "." */
	struct s2s_srv srv[RES_MAX_SRV];
	size_t nsrv;
	int pending;                    /* address lookups in flight */
	/* addresses per SRV record (or one slot for the A fallback) */
	struct s2s_target found[RES_MAX_SRV][RES_MAX_TARGETS];
	size_t nfound[RES_MAX_SRV];
	const char *error;
	int done;
	int cached;                     /* answered from the cache */
	int ttl;                        /* smallest address TTL seen; -1 none */
	struct list_node link;
};

/* A cached answer: the ordered targets and when they expire. */
struct res_cached {
	struct s2s_target targets[RES_MAX_TARGETS];
	size_t n;
	time_t expires;
};

struct s2s_resolver {
	struct mio *mio;
	const struct s2s_config *cfg;
	ares_channel ch;
	int have_ch;
	struct mio_timer *poll;
	struct mio_timer *dispatch;
	struct list_node queries;
	struct xhash *bad;              /* "ip:port" -> time_t * */
	struct xhash *cache;            /* domain -> struct res_cached */
};

/* ---- SRV ordering (RFC 2782) ---- */

static int srv_cmp(const void *a, const void *b)
{
	const struct s2s_srv *x = a, *y = b;

	return x->priority - y->priority;
}

void s2s_srv_order(struct s2s_srv *recs, size_t *n_r,
		   unsigned (*rnd)(unsigned bound, void *arg), void *arg)
{
	size_t n = *n_r, start = 0, i;

	if (n == 1 && (strcmp(recs[0].target, ".") == 0 || recs[0].target[0] == '\0')) {
		*n_r = 0;
		return;
	}
	qsort(recs, n, sizeof(*recs), srv_cmp);
	/* Within each priority: repeatedly draw by running weight sums,
	 * zero-weight records placed first so they keep a small chance. */
	while (start < n) {
		size_t end = start;

		while (end < n && recs[end].priority == recs[start].priority)
			end++;
		for (i = start; i < end; i++) {
			size_t j, k = i;
			unsigned total = 0, pick, run = 0;

			for (j = i; j < end; j++)
				if (recs[j].weight == 0) {
					struct s2s_srv t = recs[j];

					recs[j] = recs[i];
					recs[i] = t;
					break;
				}
			for (j = i; j < end; j++)
				total += (unsigned)recs[j].weight;
			pick = rnd(total + 1, arg);
			for (j = i; j < end; j++) {
				run += (unsigned)recs[j].weight;
				if (run >= pick) {
					k = j;
					break;
				}
			}
			if (k != i) {
				struct s2s_srv t = recs[k];

				recs[k] = recs[i];
				recs[i] = t;
			}
		}
		start = end;
	}
}

/* Load spreading only, not a secret: arc4random_uniform is plenty. */
static unsigned res_random(unsigned bound, void *arg)
{
	return bound <= 1 ? 0 : arc4random_uniform(bound);
}

/* ---- driving c-ares ---- */

static void res_poll(struct mio_timer *t, void *ctx)
{
	struct s2s_resolver *r = ctx;
	ares_socket_t socks[ARES_GETSOCK_MAXNUM];
	struct pollfd pfd[ARES_GETSOCK_MAXNUM];
	/* c-ares's own ARES_GETSOCK_* macros shift a signed 1 into the
	 * sign bit; test the bits unsigned. */
	unsigned bits = (unsigned)ares_getsock(r->ch, socks, ARES_GETSOCK_MAXNUM);
	int i, n = 0;

	for (i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
		int rd = (bits & (1u << i)) != 0;
		int wr = (bits & (1u << (i + ARES_GETSOCK_MAXNUM))) != 0;

		if (!rd && !wr)
			continue;
		pfd[n].fd = socks[i];
		pfd[n].events = (rd ? POLLIN : 0) | (wr ? POLLOUT : 0);
		pfd[n].revents = 0;
		n++;
	}
	if (n > 0 && poll(pfd, (nfds_t)n, 0) > 0) {
		for (i = 0; i < n; i++)
			ares_process_fd(r->ch,
					(pfd[i].revents & (POLLIN | POLLERR | POLLHUP)) ? pfd[i].fd
											: ARES_SOCKET_BAD,
					(pfd[i].revents & POLLOUT) ? pfd[i].fd : ARES_SOCKET_BAD);
	}
	/* Timeouts and retries. */
	ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	if (list_empty(&r->queries))
		mio_timer_stop(r->poll);
}

static void res_poll_start(struct s2s_resolver *r)
{
	if (!mio_timer_pending(r->poll))
		mio_timer_start(r->poll, RES_POLL_MS, 1);
}

/* ---- finishing a query ---- */

static int res_is_bad(struct s2s_resolver *r, const struct s2s_target *t)
{
	char key[96];
	time_t *when;

	snprintf(key, sizeof(key), "%s:%d", t->ip, t->port);
	when = xhash_get(r->bad, key);
	if (when == NULL)
		return 0;
	if (time(NULL) - *when < r->cfg->bad_host_timeout)
		return 1;
	free(xhash_remove(r->bad, key));
	return 0;
}

/* Keep a DNS answer for its TTL, clamped to lookup.min-ttl / max-ttl
 * (jabberd2's check.dnscache). Not with lookup.no-cache. */
static void res_cache_put(struct s2s_resolver *r, const char *domain,
			  const struct s2s_target *t, size_t n, int ttl)
{
	struct res_cached *c;

	if (r->cfg->no_cache)
		return;
	if (ttl < r->cfg->min_ttl)
		ttl = r->cfg->min_ttl;
	if (r->cfg->max_ttl > 0 && ttl > r->cfg->max_ttl)
		ttl = r->cfg->max_ttl;
	if (ttl <= 0)
		return;
	c = xcalloc(1, sizeof(*c));
	memcpy(c->targets, t, n * sizeof(*t));
	c->n = n;
	c->expires = time(NULL) + ttl;
	free(xhash_put(r->cache, domain, c));
}

/* A live cached answer for domain, copied into q; 1 if there was one. */
static int res_cache_get(struct s2s_resolver *r, struct res_query *q)
{
	struct res_cached *c = xhash_get(r->cache, q->domain);

	if (c == NULL)
		return 0;
	if (time(NULL) >= c->expires) {
		free(xhash_remove(r->cache, q->domain));
		return 0;
	}
	memcpy(q->found[0], c->targets, c->n * sizeof(c->targets[0]));
	q->nfound[0] = c->n;
	q->cached = 1;
	return 1;
}

static void res_finish(struct res_query *q)
{
	struct s2s_target out[RES_MAX_TARGETS];
	struct s2s_target later[RES_MAX_TARGETS];
	size_t n = 0, nl = 0, i, j;

	for (i = 0; i < RES_MAX_SRV; i++)
		for (j = 0; j < q->nfound[i]; j++) {
			const struct s2s_target *t = &q->found[i][j];

			if (res_is_bad(q->r, t)) {
				if (nl < RES_MAX_TARGETS)
					later[nl++] = *t;
			} else if (n < RES_MAX_TARGETS) {
				out[n++] = *t;
			}
		}
	for (i = 0; i < nl && n < RES_MAX_TARGETS; i++)
		out[n++] = later[i];
	if (n > 0 && !q->cached && q->ttl >= 0)
		res_cache_put(q->r, q->domain, out, n, q->ttl);
	list_remove(&q->link);
	q->cb(q->domain, out, n, n == 0 ? (q->error ? q->error : "no address") : NULL, q->arg);
	free(q->domain);
	free(q);
}

static void res_dispatch(struct mio_timer *t, void *ctx)
{
	struct s2s_resolver *r = ctx;
	struct res_query *q, *tmp;

	LIST_FOREACH_SAFE(q, tmp, &r->queries, struct res_query, link)
		if (q->done)
			res_finish(q);
}

static void res_done(struct res_query *q)
{
	q->done = 1;
	mio_timer_start(q->r->dispatch, 0, 0);
}

/* ---- address lookups ---- */

struct res_addr_req {
	struct res_query *q;
	int slot;
	int port;
	int direct_tls;
};

static void res_addr_cb(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
	struct res_addr_req *req = arg;
	struct res_query *q = req->q;
	struct ares_addrinfo_node *node;
	int pass;

	if (status == ARES_EDESTRUCTION) {
		/* The resolver is being freed: the query goes with it. */
		if (ai != NULL)
			ares_freeaddrinfo(ai);
		free(req);
		return;
	}

	/* AAAA before A when IPv6 is wanted, as jabberd2 orders them. */
	for (pass = 0; status == ARES_SUCCESS && ai != NULL && pass < 2; pass++) {
		int family = pass == 0 ? AF_INET6 : AF_INET;

		for (node = ai->nodes; node != NULL; node = node->ai_next) {
			struct s2s_target *t;
			const void *a;

			if (node->ai_family != family || q->nfound[req->slot] >= RES_MAX_TARGETS)
				continue;
			t = &q->found[req->slot][q->nfound[req->slot]];
			a = family == AF_INET6
				? (const void *)&((struct sockaddr_in6 *)node->ai_addr)->sin6_addr
				: (const void *)&((struct sockaddr_in *)node->ai_addr)->sin_addr;
			if (inet_ntop(family, a, t->ip, sizeof(t->ip)) == NULL)
				continue;
			t->port = req->port;
			t->direct_tls = req->direct_tls;
			q->nfound[req->slot]++;
			if (q->ttl < 0 || node->ai_ttl < q->ttl)
				q->ttl = node->ai_ttl;
		}
	}
	if (status != ARES_SUCCESS && q->error == NULL)
		q->error = ares_strerror(status);
	if (ai != NULL)
		ares_freeaddrinfo(ai);
	free(req);
	if (--q->pending == 0)
		res_done(q);
}

static void res_addr(struct res_query *q, const char *host, int slot, int port, int direct_tls)
{
	struct s2s_resolver *r = q->r;
	struct ares_addrinfo_hints hints = { 0 };
	struct res_addr_req *req = xcalloc(1, sizeof(*req));

	req->q = q;
	req->slot = slot;
	req->port = port;
	req->direct_tls = direct_tls;
	hints.ai_family = r->cfg->resolve_ipv6 ? AF_UNSPEC : AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	q->pending++;
	ares_getaddrinfo(r->ch, host, NULL, &hints, res_addr_cb, req);
}

/* ---- SRV ---- */

static void res_next_srv(struct res_query *q);
static void res_srv_finish(struct res_query *q);

/* One SRV question: which service it was for. */
struct res_srv_req {
	struct res_query *q;
	const char *name;
	int direct_tls;
};

static void res_srv_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct res_srv_req *req = arg;
	struct res_query *q = req->q;
	struct ares_srv_reply *reply = NULL, *s;
	size_t first = q->nsrv;

	if (status == ARES_EDESTRUCTION) {
		free(req);
		return;
	}
	if (status == ARES_SUCCESS && ares_parse_srv_reply(abuf, alen, &reply) == ARES_SUCCESS) {
		for (s = reply; s != NULL && q->nsrv < RES_MAX_SRV; s = s->next) {
			struct s2s_srv *rec = &q->srv[q->nsrv++];

			snprintf(rec->target, sizeof(rec->target), "%s", s->host);
			rec->priority = s->priority;
			rec->weight = s->weight;
			rec->port = s->port;
			rec->direct_tls = req->direct_tls;
		}
		ares_free_data(reply);
	}
	if (q->nsrv == first + 1 &&
	    (q->srv[first].target[0] == '\0' || strcmp(q->srv[first].target, ".") == 0)) {
		/* "." : this service is decidedly not offered here. */
		q->nsrv = first;
		q->srv_dots++;
	} else if (q->nsrv > first) {
		log_debug("s2s: %s: %zu SRV record(s) for _%s._tcp", q->domain, q->nsrv - first,
			  req->name);
	}
	free(req);
	if (--q->srv_pending == 0)
		res_srv_finish(q);
}

/* Every SRV answer of this round is in: resolve the targets, or go on. */
static void res_srv_finish(struct res_query *q)
{
	size_t i;

	if (q->nsrv == 0 && q->srv_dots > 0) {
		/* RFC 6120 3.2.1 (and XEP-0368 for a "." beside no other
		 * records): no other service and no address fallback. */
		q->error = "no XMPP service at this domain (SRV target \".\")";
		res_done(q);
		return;
	}
	s2s_srv_order(q->srv, &q->nsrv, res_random, NULL);
	if (q->nsrv == 0) {
		res_next_srv(q);
		return;
	}
	for (i = 0; i < q->nsrv; i++)
		res_addr(q, q->srv[i].target, (int)i, q->srv[i].port, q->srv[i].direct_tls);
}

static void res_ask_srv(struct res_query *q, const char *service)
{
	struct res_srv_req *req = xcalloc(1, sizeof(*req));
	char *name = xasprintf("_%s._tcp.%s", service, q->domain);

	req->q = q;
	req->name = service;
	req->direct_tls = strcmp(service, "xmpps-server") == 0;
	q->srv_pending++;
	ares_query(q->r->ch, name, ns_c_in, ns_t_srv, res_srv_cb, req);
	free(name);
}

static int res_srv_configured(const char *const *srv, const char *name)
{
	for (; srv != NULL && *srv != NULL; srv++)
		if (strcmp(*srv, name) == 0)
			return 1;
	return 0;
}

/* Try the next SRV service, or fall back to the domain's addresses. */
static void res_next_srv(struct res_query *q)
{
	const char *const *srv = q->r->cfg->srv;

	while (srv != NULL && srv[q->srv_idx] != NULL) {
		const char *name = srv[q->srv_idx++];
		int x = strcmp(name, "xmpp-server") == 0, xs = strcmp(name, "xmpps-server") == 0;

		q->nsrv = 0;
		q->srv_dots = 0;
		if ((x || xs) && res_srv_configured(srv, x ? "xmpps-server" : "xmpp-server")) {
			if (q->pair_done)
				continue;
			q->pair_done = 1;
			/* Held across both questions, in case c-ares answers
			 * one from within ares_query. */
			q->srv_pending++;
			res_ask_srv(q, "xmpps-server");
			res_ask_srv(q, "xmpp-server");
			if (--q->srv_pending == 0)
				res_srv_finish(q);
			return;
		}
		res_ask_srv(q, name);
		return;
	}
	res_addr(q, q->domain, 0, 5269, 0);
}

/* ---- API ---- */

void s2s_resolve(struct s2s_resolver *r, const char *domain, s2s_resolve_cb *cb, void *arg)
{
	struct res_query *q = xcalloc(1, sizeof(*q));
	const struct s2s_static_host *h;

	q->r = r;
	q->domain = xstrdup(domain);
	q->cb = cb;
	q->arg = arg;
	q->ttl = -1;
	list_add_tail(&r->queries, &q->link);
	for (h = r->cfg->hosts; h != NULL && h->name != NULL; h++)
		if (strcasecmp(h->name, domain) == 0 && q->nfound[0] < RES_MAX_TARGETS) {
			struct s2s_target *t = &q->found[0][q->nfound[0]++];

			snprintf(t->ip, sizeof(t->ip), "%s", h->ip);
			t->port = h->port;
			t->direct_tls = h->direct_tls;
		}
	if (q->nfound[0] == 0)
		res_cache_get(r, q);
	if (q->nfound[0] > 0 || !r->have_ch) {
		if (!r->have_ch)
			q->error = "no resolver";
		res_done(q);
		return;
	}
	res_next_srv(q);
	res_poll_start(r);
}

void s2s_resolver_bad_host(struct s2s_resolver *r, const char *ip, int port)
{
	char key[96];
	time_t *when = xmalloc(sizeof(*when));

	if (r->cfg->bad_host_timeout <= 0) {
		free(when);
		return;
	}
	snprintf(key, sizeof(key), "%s:%d", ip, port);
	*when = time(NULL);
	free(xhash_put(r->bad, key, when));
}

/* The N of "port:N" among RES_OPTIONS's blank-separated options, or 0. */
static int res_env_port(void)
{
	const char *env = getenv("RES_OPTIONS"), *p;
	char *end;
	long v;

	for (p = env; p != NULL && (p = strstr(p, "port:")) != NULL; p += 5) {
		if (p != env && p[-1] != ' ' && p[-1] != '\t')
			continue;
		v = strtol(p + 5, &end, 10);
		if (end != p + 5 && (*end == '\0' || *end == ' ' || *end == '\t') && v > 0 &&
		    v < 65536)
			return (int)v;
	}
	return 0;
}

/* Ask every server c-ares took from resolv.conf on `port` instead. */
static int res_set_port(ares_channel ch, int port)
{
	struct ares_addr_port_node *servers = NULL, *s;
	int rc;

	if ((rc = ares_get_servers_ports(ch, &servers)) != ARES_SUCCESS)
		return rc;
	for (s = servers; s != NULL; s = s->next)
		s->udp_port = s->tcp_port = port;
	rc = ares_set_servers_ports(ch, servers);
	ares_free_data(servers);
	return rc;
}

struct s2s_resolver *s2s_resolver_new(struct mio *mio, const struct s2s_config *cfg,
				      const char **error_r)
{
	struct s2s_resolver *r = xcalloc(1, sizeof(*r));
	struct ares_options opt = { 0 };
	int rc, env_port = res_env_port();

	r->mio = mio;
	r->cfg = cfg;
	list_init(&r->queries);
	r->bad = xhash_new();
	r->cache = xhash_new();
	r->poll = mio_timer_new(mio, res_poll, r);
	r->dispatch = mio_timer_new(mio, res_dispatch, r);
	if ((rc = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS)
		goto err;
	opt.timeout = 3000;
	opt.tries = 2;
	/* ares_init_options also honours RES_OPTIONS and LOCALDOMAIN. */
	if ((rc = ares_init_options(&r->ch, &opt, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES)) !=
	    ARES_SUCCESS)
		goto err;
	r->have_ch = 1;
	if (cfg->nameserver_ip != NULL) {
		int port = cfg->nameserver_port > 0 ? cfg->nameserver_port
						    : env_port > 0 ? env_port : 53;
		char *csv = strchr(cfg->nameserver_ip, ':') != NULL
				    ? xasprintf("[%s]:%d", cfg->nameserver_ip, port)
				    : xasprintf("%s:%d", cfg->nameserver_ip, port);

		rc = ares_set_servers_ports_csv(r->ch, csv);
		free(csv);
		if (rc != ARES_SUCCESS)
			goto err;
		log_info("s2s: DNS server %s port %d", cfg->nameserver_ip, port);
	} else if (env_port > 0) {
		if ((rc = res_set_port(r->ch, env_port)) != ARES_SUCCESS)
			goto err;
		log_info("s2s: DNS servers of resolv.conf asked on port %d (RES_OPTIONS)",
			 env_port);
	}
	return r;
err:
	*error_r = ares_strerror(rc);
	s2s_resolver_free(&r);
	return NULL;
}

void s2s_resolver_free(struct s2s_resolver **rp)
{
	struct s2s_resolver *r = *rp;
	struct res_query *q, *tmp;

	if (r == NULL)
		return;
	*rp = NULL;
	/* Queries still in flight call back with ARES_EDESTRUCTION and
	 * do nothing; they are freed below. */
	if (r->have_ch)
		ares_destroy(r->ch);
	LIST_FOREACH_SAFE(q, tmp, &r->queries, struct res_query, link) {
		list_remove(&q->link);
		free(q->domain);
		free(q);
	}
	mio_timer_free(&r->poll);
	mio_timer_free(&r->dispatch);
	xhash_clear(r->bad, free);
	xhash_free(&r->bad);
	xhash_clear(r->cache, free);
	xhash_free(&r->cache);
	free(r);
	ares_library_cleanup();
}
