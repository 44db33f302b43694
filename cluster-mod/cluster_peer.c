/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cluster_peer.c: the protocol over each link (see cluster_peer.h). One
 * struct conv per link that is up, hung on the link with
 * cluster_link_set_data(); it holds the link's input buffer (frames are
 * scanned and decoded in place, bounded by the codec's CLUSTER_FRAME_MAX),
 * the negotiated version, and a periodic timer for the opening deadline
 * and the heartbeats. Closing a link (cluster_link_close) calls on_down,
 * which frees the conv at once: every path that closes returns -1 and
 * touches the conv no more.
 */
#include "config.h"
#include "cluster-mod/cluster_peer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster-mod/cluster_config.h"
#include "cluster-mod/cluster_link.h"
#include "cluster-mod/cluster_proto.h"
#include "mio/mio.h"
#include "util/buf.h"
#include "util/list.h"
#include "util/log.h"

/* HELLO refusals (ours and the peers') logged once per (peer, result). */
#define HELLO_MEMO 16

struct conv {
	struct cluster_peers *ps;
	struct cluster_link *link;
	char name[CLUSTER_NODE_NAME_MAX + 1];
	struct buf in;
	int outgoing;
	int open;
	int stale;                      /* opened under an old incarnation of ours */
	uint8_t version;                /* 0 until negotiated */
	uint64_t peer_incarnation;
	struct mio_timer *timer;
	uint64_t started_ms, last_rx_ms, last_ping_ms;
	uint64_t ping_seq, rtt_us, pongs;
	char hello_ip[46];              /* the address its HELLO gave */
	int hello_port;
	struct list_node node;
};

struct cluster_peers {
	struct mio *mio;
	const struct cluster_config *cc;
	struct cluster_links *links;
	struct cluster_peer_hooks hooks;
	void *ctx;
	uint64_t incarnation;
	struct mio_timer *renew;        /* closes the stale links */
	unsigned ping_ms, timeout_ms;
	struct list_node convs;
	int stopping;
	int held;                       /* input held (cluster_peers_hold_input) */
	uint64_t holds;
	struct {
		char name[CLUSTER_NODE_NAME_MAX + 1];
		int result;
	} memo[HELLO_MEMO];
	unsigned memo_next;
};

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int bytes_is(struct cluster_bytes b, const char *s)
{
	return b.len == strlen(s) && memcmp(b.ptr, s, b.len) == 0;
}

static const char *hello_result_name(unsigned r)
{
	static const char *const names[] = {
		"accepted", "no common protocol version",
		"node name does not match the certificate", "clustered domains differ",
		"a link with this node already exists", "the node is shutting down",
	};

	return r <= CLUSTER_HELLO_RESULT_LAST ? names[r] : "unknown result";
}

static const char *bye_reason_name(unsigned r)
{
	switch (r) {
	case CLUSTER_BYE_SHUTDOWN:
		return "shutting down";
	case CLUSTER_BYE_REFUSED:
		return "refused";
	case CLUSTER_BYE_PROTOCOL_ERROR:
		return "protocol error";
	case CLUSTER_BYE_NEW_INCARNATION:
		return "new incarnation";
	default:
		return "unknown reason";
	}
}

/* 1 the first time (peer, result) is seen since that peer last opened. */
static int memo_first(struct cluster_peers *ps, const char *name, int result)
{
	for (unsigned i = 0; i < HELLO_MEMO; i++)
		if (ps->memo[i].result == result && strcmp(ps->memo[i].name, name) == 0)
			return 0;
	snprintf(ps->memo[ps->memo_next % HELLO_MEMO].name, CLUSTER_NODE_NAME_MAX + 1, "%s",
		 name);
	ps->memo[ps->memo_next++ % HELLO_MEMO].result = result;
	return 1;
}

static void memo_forget(struct cluster_peers *ps, const char *name)
{
	for (unsigned i = 0; i < HELLO_MEMO; i++)
		if (strcmp(ps->memo[i].name, name) == 0)
			ps->memo[i].result = 0;
}

/* Returns 0, or -1 when the frame was not queued (logged). */
static int conv_send(struct conv *c, const struct cluster_frame *f)
{
	struct buf out = { 0 };
	const char *error;
	int r = 0;

	if (cluster_frame_encode(f, &out, &error) < 0) {
		log_warnx("cluster: peer %s: cannot encode %s: %s", c->name,
			  cluster_frame_type_name(f->type), error);
		return -1;
	}
	if (cluster_link_send(c->link, out.data, out.len) < 0) {
		log_info("cluster: peer %s: %s not sent (link output full or closing)", c->name,
			 cluster_frame_type_name(f->type));
		r = -1;
	}
	buf_free(&out);
	return r;
}

/* Send BYE and close. The conv is gone when this returns. */
static int conv_bye(struct conv *c, uint8_t reason, const char *text)
{
	struct cluster_frame f = { .version = c->version, .type = CLUSTER_FRAME_BYE };

	f.u.bye.reason = reason;
	f.u.bye.text = cluster_bytes_str(text);
	conv_send(c, &f);
	cluster_link_close(c->link, text);
	return -1;
}

static int conv_protocol_error(struct conv *c, const char *what)
{
	char text[200];

	snprintf(text, sizeof(text), "protocol error: %s", what);
	log_warnx("cluster: peer %s: %s; closing the link", c->name, text);
	return conv_bye(c, CLUSTER_BYE_PROTOCOL_ERROR, text);
}

static void conv_open(struct conv *c, uint8_t version, uint64_t incarnation)
{
	c->open = 1;
	c->version = version;
	c->peer_incarnation = incarnation;
	memo_forget(c->ps, c->name);
	log_notice("cluster: peer %s open: protocol version %u, incarnation %llu", c->name,
		   version, (unsigned long long)incarnation);
	if (c->ps->hooks.on_open != NULL)
		c->ps->hooks.on_open(c->name, version, c->ps->ctx);
}

static void conv_send_hello(struct conv *c)
{
	const struct cluster_config *cc = c->ps->cc;
	struct cluster_bytes domains[CLUSTER_MAX_DOMAINS];
	struct cluster_frame f = { .version = 0, .type = CLUSTER_FRAME_HELLO };
	struct cluster_hello *h = &f.u.hello;

	for (int i = 0; i < cc->ndomains; i++)
		domains[i] = cluster_bytes_str(cc->domains[i]);
	h->version_min = CLUSTER_PROTO_VERSION_MIN;
	h->version_max = CLUSTER_PROTO_VERSION_MAX;
	h->incarnation = c->ps->incarnation;
	h->node = cluster_bytes_str(cc->node);
	h->ip = cluster_bytes_str(cc->ip);
	h->port = (uint16_t)cc->port;
	h->ndomains = (size_t)cc->ndomains;
	h->domains = domains;
	conv_send(c, &f);
}

/* Our clustered domains and the peer's are the same set. */
static int domains_match(const struct cluster_config *cc, const struct cluster_hello *h)
{
	if (h->ndomains != (size_t)cc->ndomains)
		return 0;
	for (size_t i = 0; i < h->ndomains; i++) {
		int found = 0;

		for (int j = 0; j < cc->ndomains && !found; j++)
			found = bytes_is(h->domains[i], cc->domains[j]);
		if (!found)
			return 0;
	}
	return 1;
}

/* The accepting side: judge the HELLO, answer HELLO_ACK. */
static int conv_hello(struct conv *c, const struct cluster_hello *h)
{
	struct cluster_frame f = { .version = 0, .type = CLUSTER_FRAME_HELLO_ACK };
	uint8_t version = cluster_proto_negotiate(CLUSTER_PROTO_VERSION_MIN,
						  CLUSTER_PROTO_VERSION_MAX, h->version_min,
						  h->version_max);
	uint8_t result = CLUSTER_HELLO_OK;

	if (c->outgoing || c->open)
		return conv_protocol_error(c, "unexpected HELLO");
	if (c->ps->stopping)
		result = CLUSTER_HELLO_REFUSE_SHUTDOWN;
	else if (!bytes_is(h->node, c->name))
		result = CLUSTER_HELLO_REFUSE_NAME;
	else if (version == 0)
		result = CLUSTER_HELLO_REFUSE_VERSION;
	else if (!domains_match(c->ps->cc, h))
		result = CLUSTER_HELLO_REFUSE_DOMAINS;
	f.u.hello_ack.result = result;
	f.u.hello_ack.version = result == CLUSTER_HELLO_OK ? version : 0;
	f.u.hello_ack.incarnation = c->ps->incarnation;
	f.u.hello_ack.node = cluster_bytes_str(c->ps->cc->node);
	conv_send(c, &f);
	if (result != CLUSTER_HELLO_OK) {
		if (memo_first(c->ps, c->name, result))
			log_warnx("cluster: refused HELLO from %s: %s (it offers versions "
				  "%u-%u, we speak %u-%u)", c->name, hello_result_name(result),
				  h->version_min, h->version_max, CLUSTER_PROTO_VERSION_MIN,
				  CLUSTER_PROTO_VERSION_MAX);
		cluster_link_close(c->link, hello_result_name(result));
		return -1;
	}
	snprintf(c->hello_ip, sizeof(c->hello_ip), "%.*s", (int)h->ip.len,
		 (const char *)h->ip.ptr);
	c->hello_port = h->port;
	conv_open(c, version, h->incarnation);
	return 0;
}

/* The dialling side: the answer to our HELLO. */
static int conv_hello_ack(struct conv *c, const struct cluster_hello_ack *a)
{
	if (!c->outgoing || c->open)
		return conv_protocol_error(c, "unexpected HELLO_ACK");
	if (a->result != CLUSTER_HELLO_OK) {
		if (memo_first(c->ps, c->name, a->result))
			log_warnx("cluster: peer %s refused our HELLO: %s", c->name,
				  hello_result_name(a->result));
		cluster_link_close(c->link, hello_result_name(a->result));
		return -1;
	}
	if (!bytes_is(a->node, c->name))
		return conv_protocol_error(c, "HELLO_ACK names another node");
	if (a->version < CLUSTER_PROTO_VERSION_MIN || a->version > CLUSTER_PROTO_VERSION_MAX)
		return conv_protocol_error(c, "HELLO_ACK chose a version we do not speak");
	conv_open(c, a->version, a->incarnation);
	return 0;
}

static int conv_frame(struct conv *c, const struct cluster_frame *f)
{
	struct cluster_frame reply = { .version = c->version, .type = CLUSTER_FRAME_PONG };
	char text[CLUSTER_TEXT_MAX + 1];

	if (c->stale)
		return 0;       /* closing: this node is a new incarnation */
	switch (f->type) {
	case CLUSTER_FRAME_HELLO:
		return conv_hello(c, &f->u.hello);
	case CLUSTER_FRAME_HELLO_ACK:
		return conv_hello_ack(c, &f->u.hello_ack);
	case CLUSTER_FRAME_BYE:
		snprintf(text, sizeof(text), "%.*s", (int)f->u.bye.text.len,
			 (const char *)f->u.bye.text.ptr);
		log_notice("cluster: peer %s said BYE: %s%s%s", c->name,
			   bye_reason_name(f->u.bye.reason), text[0] ? ": " : "", text);
		if (c->open && c->ps->hooks.on_bye != NULL)
			c->ps->hooks.on_bye(c->name, f->u.bye.reason, c->ps->ctx);
		cluster_link_close(c->link, "the peer said BYE");
		return -1;
	default:
		break;
	}
	if (!c->open)
		return conv_protocol_error(c, "frame before HELLO/HELLO_ACK");
	if (f->type == CLUSTER_FRAME_PING) {
		reply.u.ping = f->u.ping;
		conv_send(c, &reply);
	} else if (f->type == CLUSTER_FRAME_PONG) {
		if (f->u.ping.seq == c->ping_seq && f->u.ping.timestamp_us <= now_us()) {
			c->rtt_us = now_us() - f->u.ping.timestamp_us;
			c->pongs++;
		}
	} else if (c->ps->hooks.on_frame != NULL) {
		c->ps->hooks.on_frame(c->name, f, c->ps->ctx);
	} else {
		log_debug("cluster: peer %s: %s not handled yet", c->name,
			  cluster_frame_type_name(f->type));
	}
	return 0;
}

/* ---- link callbacks ---- */

static void conv_free(struct conv *c)
{
	list_remove(&c->node);
	mio_timer_free(&c->timer);
	buf_free(&c->in);
	free(c);
}

static void conv_tick(struct mio_timer *t, void *ctx)
{
	struct conv *c = ctx;
	uint64_t now = now_us() / 1000;
	struct cluster_frame f = { .version = c->version, .type = CLUSTER_FRAME_PING };
	char text[100];

	(void)t;
	if (!c->open) {
		if (now - c->started_ms >= CLUSTER_PEER_OPEN_MS) {
			log_warnx("cluster: peer %s: no HELLO/HELLO_ACK within %d ms; closing",
				  c->name, CLUSTER_PEER_OPEN_MS);
			cluster_link_close(c->link, "no opening in time");
		}
		return;
	}
	if (c->ps->held)
		c->last_rx_ms = now;    /* the silence is ours: we do not read */
	if (now - c->last_rx_ms >= c->ps->timeout_ms) {
		snprintf(text, sizeof(text), "heartbeat timeout (nothing for %llu ms)",
			 (unsigned long long)(now - c->last_rx_ms));
		log_warnx("cluster: peer %s: %s; closing the link", c->name, text);
		cluster_link_close(c->link, text);
		return;
	}
	if (now - c->last_ping_ms < c->ps->ping_ms)
		return;
	c->last_ping_ms = now;
	f.u.ping.seq = ++c->ping_seq;
	f.u.ping.timestamp_us = now_us();
	conv_send(c, &f);
}

static void peers_on_up(struct cluster_link *link, const char *peer, void *ctx)
{
	struct cluster_peers *ps = ctx;
	struct conv *c = xcalloc(1, sizeof(*c));
	/* Tick at a twelfth of the timeout, so that silence is noticed
	 * within 9 % of it; PINGs go every ping_ms. */
	unsigned tick = ps->timeout_ms / 12;

	c->ps = ps;
	c->link = link;
	snprintf(c->name, sizeof(c->name), "%s", peer);
	c->outgoing = cluster_link_outgoing(link);
	c->started_ms = c->last_rx_ms = now_us() / 1000;
	c->timer = mio_timer_new(ps->mio, conv_tick, c);
	mio_timer_start(c->timer, tick, 1);
	list_add_tail(&ps->convs, &c->node);
	cluster_link_set_data(link, c);
	if (ps->held)
		cluster_link_hold(link, 1);
	if (c->outgoing)
		conv_send_hello(c);
}

static void peers_on_bytes(struct cluster_link *link, const void *data, size_t len,
			   void *ctx)
{
	struct conv *c = cluster_link_data(link);
	size_t off = 0;         /* the frames taken; consumed once, at the end */

	(void)ctx;
	if (c == NULL)
		return;
	c->last_rx_ms = now_us() / 1000;
	buf_append(&c->in, data, len);
	while (off < c->in.len) {
		struct cluster_frame f;
		size_t flen = 0;
		const char *error = NULL;
		const char *at = c->in.data + off;
		int rc;

		switch (cluster_frame_scan(at, c->in.len - off, &flen, &error)) {
		case CLUSTER_SCAN_NEED_MORE:
			buf_consume(&c->in, off);
			return;
		case CLUSTER_SCAN_REJECT:
			conv_protocol_error(c, error);
			return;
		case CLUSTER_SCAN_FRAME:
			break;
		}
		if (cluster_frame_decode(at, flen, c->version, &f, &error) < 0) {
			conv_protocol_error(c, error);
			return;
		}
		rc = conv_frame(c, &f);
		cluster_frame_clear(&f);
		if (rc < 0)
			return;         /* the conv is gone */
		off += flen;
	}
	buf_consume(&c->in, off);
}

static void peers_on_down(struct cluster_link *link, const char *peer, const char *reason,
			  void *ctx)
{
	struct cluster_peers *ps = ctx;
	struct conv *c = cluster_link_data(link);

	if (c == NULL)
		return;
	cluster_link_set_data(link, NULL);
	if (c->open && ps->hooks.on_close != NULL)
		ps->hooks.on_close(peer, reason, ps->ctx);
	conv_free(c);
}

static void peers_on_drain(struct cluster_link *link, void *ctx)
{
	struct cluster_peers *ps = ctx;
	struct conv *c = cluster_link_data(link);

	if (c != NULL && c->open && !c->stale && ps->hooks.on_drain != NULL)
		ps->hooks.on_drain(c->name, ps->ctx);
}

static const struct cluster_link_callbacks peers_link_cb = {
	.on_up = peers_on_up,
	.on_bytes = peers_on_bytes,
	.on_drain = peers_on_drain,
	.on_down = peers_on_down,
};

/* ---- the set ---- */

struct cluster_peers *cluster_peers_new(struct mio *mio, const struct cluster_config *cc,
					SSL_CTX *ssl_ctx, const struct cluster_peer_hooks *hooks,
					void *ctx, const char **error_r)
{
	struct cluster_peers *ps = xcalloc(1, sizeof(*ps));
	struct timespec ts;

	ps->mio = mio;
	ps->cc = cc;
	if (hooks != NULL)
		ps->hooks = *hooks;
	ps->ctx = ctx;
	list_init(&ps->convs);
	/* A new incarnation on every start: Unix time in milliseconds. */
	clock_gettime(CLOCK_REALTIME, &ts);
	ps->incarnation = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
	ps->ping_ms = cc->profile == CLUSTER_PROFILE_WAN ? CLUSTER_PEER_WAN_PING_MS
							  : CLUSTER_PEER_LAN_PING_MS;
	ps->timeout_ms = cc->profile == CLUSTER_PROFILE_WAN ? CLUSTER_PEER_WAN_TIMEOUT_MS
							     : CLUSTER_PEER_LAN_TIMEOUT_MS;
	ps->links = cluster_links_new(mio, cc, ssl_ctx, &peers_link_cb, ps, error_r);
	if (ps->links == NULL) {
		free(ps);
		return NULL;
	}
	return ps;
}

int cluster_peers_stop(struct cluster_peers *ps, void (*done)(void *arg), void *arg)
{
	struct conv *c;

	ps->stopping = 1;
	LIST_FOREACH(c, &ps->convs, struct conv, node) {
		struct cluster_frame f = { .version = c->version, .type = CLUSTER_FRAME_BYE };

		if (!c->open)
			continue;
		f.u.bye.reason = CLUSTER_BYE_SHUTDOWN;
		f.u.bye.text = cluster_bytes_str("node stopping");
		conv_send(c, &f);
	}
	return cluster_links_stop(ps->links, done, arg);
}

void cluster_peers_free(struct cluster_peers **psp)
{
	struct cluster_peers *ps = *psp;
	struct conv *c, *tmp;

	if (ps == NULL)
		return;
	LIST_FOREACH_SAFE(c, tmp, &ps->convs, struct conv, node)
		conv_free(c);
	mio_timer_free(&ps->renew);
	cluster_links_free(&ps->links);
	free(ps);
	*psp = NULL;
}

int cluster_peers_send(struct cluster_peers *ps, const char *peer,
		       const struct cluster_frame *frame)
{
	struct conv *c;
	int n = 0;

	LIST_FOREACH(c, &ps->convs, struct conv, node) {
		struct cluster_frame f = *frame;

		if (!c->open || c->stale || (peer != NULL && strcmp(c->name, peer) != 0))
			continue;
		f.version = c->version;
		if (conv_send(c, &f) == 0)
			n++;
	}
	return n;
}

uint64_t cluster_peers_incarnation(const struct cluster_peers *ps)
{
	return ps->incarnation;
}

int cluster_peers_add_peer(struct cluster_peers *ps, const char *name, const char *ip,
			   int port)
{
	if (ps->stopping)
		return -1;
	return cluster_links_add_peer(ps->links, name, ip, port);
}

/* The links opened under an old incarnation, closed outside the event
 * that changed it (closing frees the conv, and that event may be a frame
 * read from one of them). */
static void renew_cb(struct mio_timer *t, void *ctx)
{
	struct cluster_peers *ps = ctx;
	size_t bound = 2 * CLUSTER_LINK_MAX_PEERS;

	(void)t;
	/* Closing calls the on_close hook: start over after each one. */
	while (bound-- > 0) {
		struct conv *c, *found = NULL;

		LIST_FOREACH(c, &ps->convs, struct conv, node) {
			if (c->stale) {
				found = c;
				break;
			}
		}
		if (found == NULL)
			return;
		found->stale = 0;
		if (found->open) {
			/* Peers keep us alive while the link is made again. */
			struct cluster_frame f = { .version = found->version,
						   .type = CLUSTER_FRAME_BYE };

			f.u.bye.reason = CLUSTER_BYE_NEW_INCARNATION;
			f.u.bye.text = cluster_bytes_str("this node took a new incarnation");
			conv_send(found, &f);
		}
		cluster_link_close_redial(found->link, "this node took a new incarnation");
	}
}

void cluster_peers_set_incarnation(struct cluster_peers *ps, uint64_t incarnation)
{
	struct conv *c;
	int n = 0;

	if (incarnation == ps->incarnation)
		return;
	ps->incarnation = incarnation;
	LIST_FOREACH(c, &ps->convs, struct conv, node) {
		c->stale = 1;
		n++;
	}
	if (n == 0 || ps->stopping)
		return;
	log_notice("cluster: incarnation %llu: closing %d link%s; peers see it in the next HELLO",
		   (unsigned long long)incarnation, n, n == 1 ? "" : "s");
	if (ps->renew == NULL)
		ps->renew = mio_timer_new(ps->mio, renew_cb, ps);
	mio_timer_start(ps->renew, 0, 0);
}

int cluster_peers_open(const struct cluster_peers *ps)
{
	const struct conv *c;
	int n = 0;

	LIST_FOREACH(c, &ps->convs, struct conv, node)
		n += c->open && !c->stale;
	return n;
}

const struct cluster_links *cluster_peers_links(const struct cluster_peers *ps)
{
	return ps->links;
}

uint64_t cluster_peers_hold_input(struct cluster_peers *ps, int hold)
{
	struct conv *c;

	hold = hold != 0;
	if (hold == ps->held)
		return ps->holds;
	ps->held = hold;
	ps->holds += (uint64_t)hold;
	LIST_FOREACH(c, &ps->convs, struct conv, node) {
		if (!hold)
			c->last_rx_ms = now_us() / 1000;
		cluster_link_hold(c->link, hold);
	}
	return ps->holds;
}

int cluster_peers_open_info(const struct cluster_peers *ps, const char *name,
			    struct cluster_peer_open_info *info)
{
	const struct conv *c;

	LIST_FOREACH(c, &ps->convs, struct conv, node) {
		if (!c->open || c->stale || strcmp(c->name, name) != 0)
			continue;
		info->version = c->version;
		info->incarnation = c->peer_incarnation;
		info->rtt_us = c->rtt_us;
		info->pongs = c->pongs;
		info->idle_ms = now_us() / 1000 - c->last_rx_ms;
		snprintf(info->ip, sizeof(info->ip), "%s", c->hello_ip);
		info->port = c->hello_port;
		return 1;
	}
	return 0;
}

void cluster_peers_log_status(const struct cluster_peers *ps)
{
	const struct conv *c;

	cluster_links_log_status(ps->links);
	log_notice("cluster: status: protocol versions %u-%u, incarnation %llu, %d peer%s open",
		   CLUSTER_PROTO_VERSION_MIN, CLUSTER_PROTO_VERSION_MAX,
		   (unsigned long long)ps->incarnation, cluster_peers_open(ps),
		   cluster_peers_open(ps) == 1 ? "" : "s");
	LIST_FOREACH(c, &ps->convs, struct conv, node) {
		if (!c->open)
			continue;
		log_notice("cluster: status: peer %s open, version %u, incarnation %llu, "
			   "rtt %.3f ms (%llu pongs)", c->name, c->version,
			   (unsigned long long)c->peer_incarnation, (double)c->rtt_us / 1000.0,
			   (unsigned long long)c->pongs);
	}
}
