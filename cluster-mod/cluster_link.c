/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cluster_link.c: TLS links between routers (see cluster_link.h).
 *
 * A link is a mio connection with an SSL object over two memory BIOs:
 * what the socket reads goes into the read BIO, what OpenSSL writes to
 * the write BIO goes to mio's write queue. A link is first CONNECTING
 * (handshake), then judged (cluster_tls_judge) and either refused (logged,
 * closed with nothing read past the handshake) or attached to its peer
 * as the peer's link. Peers are the configured ones plus those that
 * dialled us with a certificate from the cluster's CA.
 */
#include "config.h"
#include "cluster-mod/cluster_link.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "cluster-mod/cluster_config.h"
#include "mio/mio.h"
#include "util/buf.h"
#include "util/list.h"
#include "util/log.h"

struct cluster_peer;

struct cluster_link {
	struct cluster_links *ls;       /* NULL once the set is freed */
	struct cluster_peer *peer;      /* dialled peer, or the judged one */
	struct mio_conn *mc;
	SSL *ssl;
	BIO *rbio, *wbio;               /* owned by ssl */
	int outgoing;
	int up;                         /* judged and attached to peer */
	int refused;
	int waiting;                    /* judged; waits for our own dial (link_attach) */
	size_t handshake_bytes;
	char remote[64];                /* "ip:port" of the other end */
	char name[CLUSTER_NODE_NAME_MAX + 1];
	void *data;                     /* the user's */
	struct mio_timer *deadline;     /* the whole handshake, from accept/connect */
	/* Frames sent during this loop turn, encrypted together at its end
	 * (one TLS record and one write per turn, not per frame). */
	struct buf out;
	struct mio_timer *flush;
	struct list_node node;          /* ls->links */
};

struct cluster_peer {
	struct cluster_links *ls;
	char *name;
	char *ip;                       /* NULL: known from an incoming link */
	int port;
	struct cluster_link *link;      /* the link that is up */
	struct cluster_link *dialling;  /* our outgoing link not yet up */
	struct cluster_link *waiting;   /* its link that waits for `dialling` */
	struct mio_connector *connector;
	struct mio_timer *retry;
	unsigned backoff_ms;
	time_t up_since;
	uint64_t bytes_in, bytes_out, ups, duplicates;
	int logged_refusal;             /* reason+1 last logged, 0 none */
	int logged_connect_error;
	char last_error[200];
};

/* Incoming refusals from addresses we cannot name yet: logged once per
 * (address, reason) among the most recent ones. */
#define REFUSAL_MEMORY 32

struct refusal_memo {
	char ip[48];
	int reason;
};

struct cluster_links {
	struct mio *mio;
	const struct cluster_config *cc;
	struct cluster_link_callbacks cb;
	void *ctx;
	SSL_CTX *ssl_ctx;
	struct mio_listener *listener;
	struct cluster_peer *peers[CLUSTER_LINK_MAX_PEERS];
	int npeers;
	struct list_node links;
	int stopping;
	void (*stopped)(void *arg);
	void *stopped_arg;
	uint64_t refusals[CLUSTER_REFUSE_COUNT];
	struct refusal_memo memo[REFUSAL_MEMORY];
	unsigned memo_next;
};

static void peer_schedule(struct cluster_peer *p);
static void link_pump(struct cluster_link *l);

const char *cluster_link_state_name(enum cluster_link_state s)
{
	switch (s) {
	case CLUSTER_LINK_UP:
		return "up";
	case CLUSTER_LINK_CONNECTING:
		return "connecting";
	default:
		return "down";
	}
}

const char *cluster_link_peer(const struct cluster_link *l)
{
	return l->name;
}

int cluster_link_outgoing(const struct cluster_link *l)
{
	return l->outgoing;
}

void cluster_link_set_data(struct cluster_link *l, void *data)
{
	l->data = data;
}

void *cluster_link_data(const struct cluster_link *l)
{
	return l->data;
}

/* ---- peers ---- */

static void on_retry(struct mio_timer *t, void *ctx);

static struct cluster_peer *peer_add(struct cluster_links *ls, const char *name,
				     const char *ip, int port)
{
	struct cluster_peer *p;

	if (ls->npeers >= CLUSTER_LINK_MAX_PEERS)
		return NULL;
	p = xcalloc(1, sizeof(*p));
	p->ls = ls;
	p->name = xstrdup(name);
	p->ip = xstrdup_opt(ip);
	p->port = port;
	p->backoff_ms = CLUSTER_LINK_BACKOFF_MIN_MS;
	p->retry = mio_timer_new(ls->mio, on_retry, p);
	ls->peers[ls->npeers++] = p;
	return p;
}

static struct cluster_peer *peer_find(struct cluster_links *ls, const char *name)
{
	for (int i = 0; i < ls->npeers; i++)
		if (strcmp(ls->peers[i]->name, name) == 0)
			return ls->peers[i];
	return NULL;
}

static void peer_free(struct cluster_peer *p)
{
	mio_connector_cancel(&p->connector);
	mio_timer_free(&p->retry);
	free(p->name);
	free(p->ip);
	free(p);
}

/* The pause before the next dial: the current backoff with +-25 %
 * jitter, so that nodes restarted together do not redial in step; the
 * backoff then doubles up to the maximum. */
static unsigned peer_next_pause(struct cluster_peer *p)
{
	unsigned base = p->backoff_ms, quarter = base / 4;
	unsigned pause = base - quarter + (quarter > 0 ? (unsigned)random() % (2 * quarter + 1) : 0);

	p->backoff_ms = base * 2 > CLUSTER_LINK_BACKOFF_MAX_MS ? CLUSTER_LINK_BACKOFF_MAX_MS
							       : base * 2;
	return pause;
}

/* Dial later if the peer has an address and no link. */
static void peer_schedule(struct cluster_peer *p)
{
	struct cluster_links *ls = p->ls;
	unsigned pause;

	if (ls == NULL || ls->stopping || p->ip == NULL || p->link != NULL ||
	    p->dialling != NULL || p->connector != NULL || mio_timer_pending(p->retry))
		return;
	pause = peer_next_pause(p);
	log_debug("cluster: link to %s: dialling in %u ms", p->name, pause);
	mio_timer_start(p->retry, pause, 0);
}

/* Our dial of p ended without a link (refused, failed, closed). A link
 * of the peer's that waited for it is taken instead, from its timer (not
 * inside the event that ended the dial); otherwise dial again later. */
static void peer_dial_ended(struct cluster_peer *p)
{
	p->dialling = NULL;
	if (p->waiting != NULL)
		mio_timer_start(p->waiting->deadline, 0, 0);
	else
		peer_schedule(p);
}

/* ---- refusals ---- */

/* Log a refusal once per (peer or address, reason) until a link comes up
 * from there; count every one. */
static void link_refuse(struct cluster_link *l, enum cluster_refusal reason,
			const char *detail)
{
	struct cluster_links *ls = l->ls;
	const char *ip = mio_conn_peer_ip(l->mc);
	int log_it = 1;

	l->refused = 1;
	ls->refusals[reason]++;
	if (l->outgoing && l->peer != NULL) {
		log_it = l->peer->logged_refusal != (int)reason + 1;
		l->peer->logged_refusal = (int)reason + 1;
		snprintf(l->peer->last_error, sizeof(l->peer->last_error), "refused: %s: %s",
			 cluster_refusal_name(reason), detail);
	} else {
		for (unsigned i = 0; i < REFUSAL_MEMORY; i++)
			if (ls->memo[i].reason == (int)reason + 1 &&
			    strcmp(ls->memo[i].ip, ip) == 0)
				log_it = 0;
		if (log_it) {
			struct refusal_memo *m = &ls->memo[ls->memo_next++ % REFUSAL_MEMORY];

			snprintf(m->ip, sizeof(m->ip), "%s", ip);
			m->reason = (int)reason + 1;
		}
	}
	if (log_it)
		log_warnx("cluster: refused %s link %s %s%s%s: %s: %s",
			  l->outgoing ? "outgoing" : "incoming", l->outgoing ? "to" : "from",
			  l->outgoing && l->peer ? l->peer->name : "", l->outgoing ? " at " : "",
			  l->remote, cluster_refusal_name(reason), detail);
	/* Send what OpenSSL queued (an alert), then go; nothing more is read. */
	if (l->wbio != NULL) {
		char buf[4096];
		int n;

		while ((n = BIO_read(l->wbio, buf, sizeof(buf))) > 0)
			mio_conn_write(l->mc, buf, (size_t)n);
	}
	mio_conn_shutdown(l->mc, 1000);
}

/* Forget logged incoming refusals from `ip`: a link from there is up. */
static void refusal_forget(struct cluster_links *ls, const char *ip)
{
	for (unsigned i = 0; i < REFUSAL_MEMORY; i++)
		if (strcmp(ls->memo[i].ip, ip) == 0)
			ls->memo[i].reason = 0;
}

/* ---- the byte pump ---- */

static void link_flush(struct cluster_link *l)
{
	char buf[16384];
	int n;

	while ((n = BIO_read(l->wbio, buf, sizeof(buf))) > 0)
		mio_conn_write(l->mc, buf, (size_t)n);
}

static void link_detach(struct cluster_link *l, const char *reason);

/* The frames of this turn through TLS and to mio. Returns -1 if TLS
 * failed (the link is then detached and closing). */
static int link_out_flush(struct cluster_link *l)
{
	size_t done = 0;

	if (l->out.len == 0 || mio_conn_closing(l->mc)) {
		buf_reset(&l->out);
		return 0;
	}
	while (done < l->out.len) {
		size_t chunk = l->out.len - done > 16384 ? 16384 : l->out.len - done;
		int n = SSL_write(l->ssl, l->out.data + done, (int)chunk);

		if (n <= 0) {
			char reason[256];

			buf_reset(&l->out);
			cluster_tls_last_error(reason, sizeof(reason),
					       "unknown TLS error");
			log_warnx("cluster: link to %s: TLS write failed: %s", l->name, reason);
			link_detach(l, "TLS write failed");
			mio_conn_close(l->mc);
			return -1;
		}
		done += (size_t)n;
	}
	buf_reset(&l->out);
	link_flush(l);
	return 0;
}

static void link_on_flush(struct mio_timer *t, void *ctx)
{
	struct cluster_link *l = ctx;

	(void)t;
	if (l->ls != NULL)
		(void)link_out_flush(l);
}

/* Which link of a pair to keep: the one dialled by the smaller name. */
static int link_preferred(const struct cluster_link *l, const char *self)
{
	int self_smaller = strcmp(self, l->name) < 0;

	return l->outgoing ? self_smaller : !self_smaller;
}


/* The handshake is complete and the peer judged good: make this the
 * peer's link, unless the pair already has the preferred one. */
static void link_attach(struct cluster_link *l, struct cluster_peer *p)
{
	struct cluster_links *ls = l->ls;

	if (p->waiting != NULL && p->waiting != l) {
		struct cluster_link *w = p->waiting;

		/* i13-resync3: one link of the pair waits already. Our own
		 * dial, up now, is the one the pair keeps; another link of
		 * the peer's is one more duplicate. */
		p->duplicates++;
		if (!l->outgoing) {
			log_info("cluster: link to %s: %s waits for our own dial already, closing "
				 "the duplicate %s", p->name, w->remote, l->remote);
			mio_conn_shutdown(l->mc, 1000);
			return;
		}
		log_info("cluster: link to %s: our dial %s is up, closing %s that waited for "
			 "it", p->name, l->remote, w->remote);
		w->waiting = 0;
		p->waiting = NULL;
		mio_conn_shutdown(w->mc, 1000);
	}
	if (p->link == NULL && !l->outgoing && p->dialling != NULL &&
	    !link_preferred(l, ls->cc->node) && p->waiting == NULL) {
		/* i13-resync3: both nodes dialled at once, and ours, still in
		 * its handshake, is the one both ends keep. Taking this one now
		 * would open it only to replace it (and restart what it
		 * carries) when ours comes up: it waits, unread, until ours is
		 * up (this one is then closed) or has failed, or for at most
		 * CLUSTER_LINK_PAIR_WAIT_MS (ours is then given up: its
		 * handshake is not complete here, so not at the peer either,
		 * which therefore keeps this one too). */
		l->waiting = 1;
		l->peer = p;
		p->waiting = l;
		mio_timer_start(l->deadline, CLUSTER_LINK_PAIR_WAIT_MS, 0);
		log_info("cluster: link to %s: %s waits for our own dial %s, which the pair "
			 "keeps", p->name, l->remote, p->dialling->remote);
		return;
	}
	if (p->link != NULL) {
		struct cluster_link *old = p->link;

		p->duplicates++;
		if (!link_preferred(l, ls->cc->node)) {
			log_info("cluster: link to %s: keeping the link %s, closing the "
				 "duplicate %s", p->name, old->remote, l->remote);
			mio_conn_shutdown(l->mc, 1000);
			return;
		}
		log_info("cluster: link to %s: replacing %s by the preferred %s", p->name,
			 old->remote, l->remote);
		link_detach(old, "replaced by the preferred link of the pair");
		mio_conn_shutdown(old->mc, 1000);
	}
	if (!l->outgoing && p->dialling != NULL && link_preferred(l, ls->cc->node)) {
		/* Our own dial would lose against this one: drop it. */
		p->duplicates++;
		p->dialling->peer = NULL;
		mio_conn_shutdown(p->dialling->mc, 1000);
		p->dialling = NULL;
	}
	if (!l->outgoing)
		mio_connector_cancel(&p->connector);
	mio_timer_stop(p->retry);
	l->peer = p;
	l->up = 1;
	p->link = l;
	p->up_since = time(NULL);
	p->ups++;
	p->logged_refusal = 0;
	p->logged_connect_error = 0;
	p->last_error[0] = '\0';
	refusal_forget(ls, mio_conn_peer_ip(l->mc));
	mio_timer_stop(l->deadline);
	log_notice("cluster: link to %s up (%s %s, %s, mutually authenticated)", p->name,
		   l->outgoing ? "dialled" : "accepted from", l->remote, SSL_get_version(l->ssl));
	if (ls->cb.on_up != NULL)
		ls->cb.on_up(l, p->name, ls->ctx);
}

/* The handshake has completed: judge the peer. */
static void link_authenticate(struct cluster_link *l)
{
	struct cluster_links *ls = l->ls;
	const char *expected = l->outgoing ? l->peer->name : NULL;
	enum cluster_refusal reason;
	char detail[512];
	struct cluster_peer *p;

	if (l->outgoing)
		l->peer->dialling = NULL;
	if (cluster_tls_judge(l->ssl, expected, l->name, sizeof(l->name), &reason, detail,
			      sizeof(detail)) < 0) {
		link_refuse(l, reason, detail);
		if (l->outgoing)
			peer_dial_ended(l->peer);
		return;
	}
	if (strcmp(l->name, ls->cc->node) == 0) {
		link_refuse(l, CLUSTER_REFUSE_NAME, "the peer has this node's own name");
		if (l->outgoing)
			peer_dial_ended(l->peer);
		return;
	}
	p = l->outgoing ? l->peer : peer_find(ls, l->name);
	if (p == NULL && (p = peer_add(ls, l->name, NULL, 0)) == NULL) {
		log_warnx("cluster: link from %s (%s): more than %d peers, closed", l->name,
			  l->remote, CLUSTER_LINK_MAX_PEERS);
		mio_conn_shutdown(l->mc, 1000);
		return;
	}
	link_attach(l, p);
}

/* Decrypted application bytes, only once the link is up. */
static void link_read_app(struct cluster_link *l)
{
	char buf[16384];
	int n, err;

	while (l->up && !mio_conn_closing(l->mc)) {
		n = SSL_read(l->ssl, buf, sizeof(buf));
		if (n > 0) {
			l->peer->bytes_in += (uint64_t)n;
			if (l->ls->cb.on_bytes != NULL)
				l->ls->cb.on_bytes(l, buf, (size_t)n, l->ls->ctx);
			continue;
		}
		err = SSL_get_error(l->ssl, n);
		if (err == SSL_ERROR_WANT_READ)
			break;
		if (err == SSL_ERROR_ZERO_RETURN) {
			log_notice("cluster: link to %s: the peer closed it (TLS close_notify)",
				   l->name);
			link_detach(l, "closed by the peer");
		} else {
			char reason[256];

			cluster_tls_last_error(reason, sizeof(reason),
					       "unknown TLS error");
			log_warnx("cluster: link to %s: TLS error: %s", l->name, reason);
			link_detach(l, "TLS error");
		}
		mio_conn_shutdown(l->mc, 1000);
		break;
	}
}

/* Drive the handshake, then the application data. */
static void link_pump(struct cluster_link *l)
{
	if (!l->up && !l->refused && !l->waiting && !mio_conn_closing(l->mc)) {
		int rc = SSL_do_handshake(l->ssl);

		if (rc == 1) {
			link_flush(l);
			link_authenticate(l);
		} else if (SSL_get_error(l->ssl, rc) != SSL_ERROR_WANT_READ) {
			char reason[256];

			cluster_tls_last_error(reason, sizeof(reason),
					       "connection closed during the handshake");
			link_refuse(l, CLUSTER_REFUSE_HANDSHAKE, reason);
			if (l->outgoing && l->peer != NULL) {
				peer_dial_ended(l->peer);
			}
			return;
		}
	}
	if (l->up)
		link_read_app(l);
	if (!mio_conn_closing(l->mc))
		link_flush(l);
}

static void link_on_read(struct mio_conn *mc, const void *data, size_t len, void *ctx)
{
	struct cluster_link *l = ctx;

	(void)mc;
	if (l->ls == NULL || l->refused)
		return;
	if (!l->up) {
		/* A TLS connection starts with a handshake record (22); an
		 * alert (21) is how a TLS peer refuses us. */
		const unsigned char first = *(const unsigned char *)data;

		if (l->handshake_bytes == 0 && len > 0 && first != 22 && first != 21) {
			char detail[64];

			snprintf(detail, sizeof(detail), "first byte 0x%02x is no TLS record", first);
			link_refuse(l, CLUSTER_REFUSE_NOT_TLS, detail);
			if (l->outgoing && l->peer != NULL) {
				peer_dial_ended(l->peer);
			}
			return;
		}
		l->handshake_bytes += len;
		if (l->handshake_bytes > CLUSTER_LINK_MAX_HANDSHAKE) {
			link_refuse(l, CLUSTER_REFUSE_HANDSHAKE, "handshake larger than 64 KiB");
			if (l->outgoing && l->peer != NULL) {
				peer_dial_ended(l->peer);
			}
			return;
		}
	}
	if (BIO_write(l->rbio, data, (int)len) != (int)len) {
		log_warnx("cluster: link %s: out of memory for TLS input", l->remote);
		mio_conn_close(l->mc);
		return;
	}
	link_pump(l);
}

/* A link that waited for our own dial (link_attach): that dial failed,
 * or the wait is over. */
static void link_wait_over(struct cluster_link *l)
{
	struct cluster_peer *p = l->peer;

	l->waiting = 0;
	p->waiting = NULL;
	if (p->dialling != NULL) {
		log_info("cluster: link to %s: our dial %s not up within %d ms, taking %s",
			 p->name, p->dialling->remote, CLUSTER_LINK_PAIR_WAIT_MS, l->remote);
		p->duplicates++;
		p->dialling->peer = NULL;
		mio_conn_shutdown(p->dialling->mc, 1000);
		p->dialling = NULL;
	}
	link_attach(l, p);
	if (l->up)
		link_pump(l);   /* what the peer sent while this link waited */
}

/* The handshake deadline: an absolute limit, so that a peer trickling
 * bytes cannot hold a connection open for long. */
static void link_on_deadline(struct mio_timer *t, void *ctx)
{
	struct cluster_link *l = ctx;

	(void)t;
	if (l->ls == NULL || l->up || l->refused || mio_conn_closing(l->mc))
		return;
	if (l->waiting) {
		link_wait_over(l);
		return;
	}
	link_refuse(l, CLUSTER_REFUSE_TIMEOUT, "no complete TLS handshake in 10 s");
	if (l->outgoing && l->peer != NULL) {
		peer_dial_ended(l->peer);
	}
}

static void link_on_drain(struct mio_conn *mc, void *ctx)
{
	struct cluster_link *l = ctx;

	(void)mc;
	if (l->ls != NULL && l->up && l->ls->cb.on_drain != NULL)
		l->ls->cb.on_drain(l, l->ls->ctx);
}

/* The link stops being its peer's link (it may still be closing). */
static void link_detach(struct cluster_link *l, const char *reason)
{
	struct cluster_peer *p = l->peer;
	struct cluster_links *ls = l->ls;

	if (!l->up || p == NULL || ls == NULL)
		return;
	l->up = 0;
	if (p->link == l) {
		p->link = NULL;
		if (time(NULL) - p->up_since >= CLUSTER_LINK_STABLE_MS / 1000)
			p->backoff_ms = CLUSTER_LINK_BACKOFF_MIN_MS;
		p->up_since = 0;
		snprintf(p->last_error, sizeof(p->last_error), "%s", reason);
		log_notice("cluster: link to %s down: %s", p->name, reason);
		if (ls->cb.on_down != NULL)
			ls->cb.on_down(l, p->name, reason, ls->ctx);
		peer_schedule(p);
	}
}

static void link_on_close(struct mio_conn *mc, const char *reason, void *ctx)
{
	struct cluster_link *l = ctx;
	struct cluster_links *ls = l->ls;

	(void)mc;
	if (ls != NULL) {
		link_detach(l, reason != NULL ? reason : "closed");
		if (l->outgoing && l->peer != NULL && l->peer->dialling == l) {
			if (!l->refused)
				snprintf(l->peer->last_error, sizeof(l->peer->last_error),
					 "closed during the handshake: %s",
					 reason != NULL ? reason : "by us");
			peer_dial_ended(l->peer);
		}
		if (l->waiting && l->peer != NULL && l->peer->waiting == l)
			l->peer->waiting = NULL;
		list_remove(&l->node);
	}
	mio_timer_free(&l->deadline);
	mio_timer_free(&l->flush);
	buf_free(&l->out);
	SSL_free(l->ssl);
	free(l);
	if (ls != NULL && ls->stopping && list_empty(&ls->links) && ls->stopped != NULL) {
		void (*done)(void *) = ls->stopped;

		ls->stopped = NULL;
		done(ls->stopped_arg);
	}
}

static const struct mio_conn_callbacks link_mio_cb = {
	.on_read = link_on_read,
	.on_drain = link_on_drain,
	.on_close = link_on_close,
};

static struct cluster_link *link_new(struct cluster_links *ls, struct mio_conn *mc,
				     int outgoing)
{
	struct cluster_link *l = xcalloc(1, sizeof(*l));

	l->ls = ls;
	l->mc = mc;
	l->outgoing = outgoing;
	snprintf(l->remote, sizeof(l->remote), "%s:%d", mio_conn_peer_ip(mc),
		 mio_conn_peer_port(mc));
	l->ssl = SSL_new(ls->ssl_ctx);
	l->rbio = BIO_new(BIO_s_mem());
	l->wbio = BIO_new(BIO_s_mem());
	if (l->ssl == NULL || l->rbio == NULL || l->wbio == NULL) {
		fprintf(stderr, "cluster: out of memory for a TLS link\n");
		abort();
	}
	/* An exhausted read BIO means "wait for more", not end of file. */
	BIO_set_mem_eof_return(l->rbio, -1);
	SSL_set_bio(l->ssl, l->rbio, l->wbio);
	if (outgoing)
		SSL_set_connect_state(l->ssl);
	else
		SSL_set_accept_state(l->ssl);
	list_add_tail(&ls->links, &l->node);
	mio_conn_setup(mc, &link_mio_cb, l);
	l->deadline = mio_timer_new(ls->mio, link_on_deadline, l);
	mio_timer_start(l->deadline, CLUSTER_LINK_HANDSHAKE_MS, 0);
	l->flush = mio_timer_new(ls->mio, link_on_flush, l);
	return l;
}

/* ---- dialling and accepting ---- */

static void on_connected(struct mio_connector *c, struct mio_conn *mc, const char *error,
			 void *ctx)
{
	struct cluster_peer *p = ctx;
	struct cluster_link *l;

	(void)c;
	p->connector = NULL;
	if (mc == NULL) {
		if (!p->logged_connect_error)
			log_info("cluster: link to %s at %s:%d: cannot connect: %s (retrying "
				 "with backoff)", p->name, p->ip, p->port, error);
		p->logged_connect_error = 1;
		/* mio's errors may already say "connect: ..." */
		snprintf(p->last_error, sizeof(p->last_error), "%s%s",
			 strncmp(error, "connect", 7) == 0 ? "" : "connect: ", error);
		peer_schedule(p);
		return;
	}
	if (p->link != NULL || p->ls->stopping) {
		mio_conn_close(mc);
		return;
	}
	l = link_new(p->ls, mc, 1);
	l->peer = p;
	p->dialling = l;
	log_debug("cluster: link to %s: connected to %s, TLS handshake", p->name, l->remote);
	link_pump(l);
}

static void on_retry(struct mio_timer *t, void *ctx)
{
	struct cluster_peer *p = ctx;
	struct cluster_links *ls = p->ls;
	struct mio_connect_settings set = {
		.ip = p->ip,
		.port = p->port,
		.source_ip = ls->cc->ip,
		.timeout_ms = CLUSTER_LINK_HANDSHAKE_MS,
		.attempts = 1,
	};
	const char *error;

	(void)t;
	if (ls->stopping || p->link != NULL || p->dialling != NULL || p->connector != NULL)
		return;
	p->connector = mio_connect(ls->mio, &set, on_connected, p, &error);
	if (p->connector == NULL) {
		snprintf(p->last_error, sizeof(p->last_error), "connect: %s", error);
		if (!p->logged_connect_error)
			log_warnx("cluster: link to %s at %s:%d: %s", p->name, p->ip, p->port,
				  error);
		p->logged_connect_error = 1;
		peer_schedule(p);
	}
}

static void on_accept(struct mio_listener *lst, struct mio_conn *mc, const char *ip,
		      int port, void *ctx)
{
	struct cluster_links *ls = ctx;
	struct cluster_link *l;

	(void)lst;
	if (ls->stopping) {
		mio_conn_close(mc);
		return;
	}
	l = link_new(ls, mc, 0);
	log_debug("cluster: incoming connection from %s:%d", ip, port);
	(void)l;
}

/* ---- the set ---- */

struct cluster_links *cluster_links_new(struct mio *mio, const struct cluster_config *cc,
					SSL_CTX *ssl_ctx,
					const struct cluster_link_callbacks *cb, void *ctx,
					const char **error_r)
{
	struct cluster_links *ls = xcalloc(1, sizeof(*ls));
	struct mio_listen_settings lset = { .ip = cc->ip, .port = cc->port };

	ls->mio = mio;
	ls->cc = cc;
	if (cb != NULL)
		ls->cb = *cb;
	ls->ctx = ctx;
	list_init(&ls->links);
	ls->ssl_ctx = ssl_ctx;
	ls->listener = mio_listen(mio, &lset, on_accept, ls, error_r);
	if (ls->listener == NULL)
		goto err;
	for (int i = 0; i < cc->npeers; i++) {
		struct cluster_peer *p = peer_add(ls, cc->peers[i].name, cc->peers[i].ip,
						  cc->peers[i].port);

		/* The first dial goes at once, not after a backoff. */
		mio_timer_start(p->retry, 0, 0);
	}
	log_notice("cluster: node %s listening on %s:%d, %d peer%s configured", cc->node,
		   cc->ip, mio_listener_port(ls->listener), cc->npeers,
		   cc->npeers == 1 ? "" : "s");
	return ls;
err:
	SSL_CTX_free(ls->ssl_ctx);
	free(ls);
	return NULL;
}

int cluster_links_stop(struct cluster_links *ls, void (*done)(void *arg), void *arg)
{
	struct cluster_link *l, *tmp;

	ls->stopping = 1;
	mio_listener_free(&ls->listener);
	for (int i = 0; i < ls->npeers; i++) {
		mio_connector_cancel(&ls->peers[i]->connector);
		mio_timer_stop(ls->peers[i]->retry);
	}
	if (list_empty(&ls->links))
		return 0;
	ls->stopped = done;
	ls->stopped_arg = arg;
	LIST_FOREACH_SAFE(l, tmp, &ls->links, struct cluster_link, node) {
		if (l->up && link_out_flush(l) == 0) {
			/* close_notify: the peer drops the link at once. */
			SSL_shutdown(l->ssl);
			link_flush(l);
			log_notice("cluster: link to %s: closing (this node is stopping)",
				   l->name);
			mio_conn_shutdown(l->mc, 2000);
		} else {
			mio_conn_close(l->mc);
		}
	}
	return 1;
}

void cluster_links_free(struct cluster_links **lsp)
{
	struct cluster_links *ls = *lsp;
	struct cluster_link *l, *tmp;

	if (ls == NULL)
		return;
	/* The connections' on_close runs later, from the loop: orphan the
	 * links so that it only frees them. */
	LIST_FOREACH_SAFE(l, tmp, &ls->links, struct cluster_link, node) {
		l->ls = NULL;
		l->peer = NULL;
		mio_timer_free(&l->deadline);
		mio_timer_free(&l->flush);
		list_remove(&l->node);
		mio_conn_close(l->mc);
	}
	mio_listener_free(&ls->listener);
	for (int i = 0; i < ls->npeers; i++)
		peer_free(ls->peers[i]);
	SSL_CTX_free(ls->ssl_ctx);
	free(ls);
	*lsp = NULL;
}

int cluster_links_add_peer(struct cluster_links *ls, const char *name, const char *ip,
			   int port)
{
	struct cluster_peer *p;

	if (ls->stopping || strcmp(name, ls->cc->node) == 0 || ip == NULL || ip[0] == '\0' ||
	    port <= 0 || port > 65535)
		return -1;
	p = peer_find(ls, name);
	if (p != NULL && p->ip != NULL)
		return 0;
	if (p == NULL) {
		p = peer_add(ls, name, ip, port);
		if (p == NULL) {
			log_warnx("cluster: link to %s: not added, %d peers already", name,
				  CLUSTER_LINK_MAX_PEERS);
			return -1;
		}
		log_info("cluster: link to %s at %s:%d: learned, dialling", name, ip, port);
		mio_timer_start(p->retry, 0, 0);
		return 0;
	}
	/* Known from its incoming link: now it can be redialled too. */
	p->ip = xstrdup(ip);
	p->port = port;
	peer_schedule(p);
	return 0;
}

void cluster_link_close(struct cluster_link *l, const char *reason)
{
	if (mio_conn_closing(l->mc))
		return;
	if (l->up && l->ssl != NULL && link_out_flush(l) == 0) {
		SSL_shutdown(l->ssl);
		link_flush(l);
	}
	link_detach(l, reason);
	mio_conn_shutdown(l->mc, 1000);
}

void cluster_link_close_redial(struct cluster_link *l, const char *reason)
{
	if (l->peer != NULL)
		l->peer->backoff_ms = CLUSTER_LINK_BACKOFF_MIN_MS;
	cluster_link_close(l, reason);
}

int cluster_link_send(struct cluster_link *l, const void *data, size_t len)
{
	size_t queued;

	if (l->ls == NULL || !l->up || mio_conn_closing(l->mc))
		return -1;
	if (mio_conn_queued(l->mc) + l->out.len + len > CLUSTER_LINK_MAX_OUT)
		return -1;
	buf_append(&l->out, data, len);
	l->peer->bytes_out += len;
	if (l->out.len >= CLUSTER_LINK_TURN_MAX) {
		if (link_out_flush(l) < 0)
			return -1;
	} else if (!mio_timer_pending(l->flush)) {
		mio_timer_start(l->flush, 0, 0);
	}
	queued = mio_conn_queued(l->mc) + l->out.len;
	/* mio's default high-water mark (mio_conn_write says the same). */
	return queued >= 256 * 1024 ? 1 : 0;
}

/* ---- status ---- */

int cluster_links_peer_count(const struct cluster_links *ls)
{
	return ls->npeers;
}

void cluster_link_hold(struct cluster_link *l, int hold)
{
	if (l->mc == NULL || mio_conn_closing(l->mc))
		return;
	if (hold)
		mio_conn_pause_read(l->mc);
	else
		mio_conn_resume_read(l->mc);
}

void cluster_links_peer_status(const struct cluster_links *ls, int i,
			       struct cluster_peer_status *st)
{
	const struct cluster_peer *p = ls->peers[i];
	const struct cluster_link *l = p->link != NULL ? p->link : p->dialling;

	memset(st, 0, sizeof(*st));
	st->name = p->name;
	st->ip = p->ip != NULL ? p->ip : "";
	st->port = p->port;
	st->state = p->link != NULL ? CLUSTER_LINK_UP
		    : (p->dialling != NULL || p->connector != NULL) ? CLUSTER_LINK_CONNECTING
		    : CLUSTER_LINK_DOWN;
	st->outgoing = l != NULL && l->outgoing;
	st->remote = l != NULL ? l->remote : "";
	st->up_since = p->up_since;
	st->bytes_in = p->bytes_in;
	st->bytes_out = p->bytes_out;
	st->ups = p->ups;
	st->duplicates = p->duplicates;
	st->backoff_ms = p->backoff_ms;
	st->last_error = p->last_error;
	if (p->link != NULL && p->link->mc != NULL)
		st->out_queued = mio_conn_queued(p->link->mc) + p->link->out.len;
}

uint64_t cluster_links_refusals(const struct cluster_links *ls, enum cluster_refusal reason)
{
	return (unsigned)reason < CLUSTER_REFUSE_COUNT ? ls->refusals[reason] : 0;
}

void cluster_links_log_status(const struct cluster_links *ls)
{
	struct cluster_peer_status st;
	char refused[256] = "";
	size_t off = 0;
	int up = 0;

	for (int i = 0; i < ls->npeers; i++)
		up += ls->peers[i]->link != NULL;
	for (int r = 0; r < CLUSTER_REFUSE_COUNT && off < sizeof(refused); r++)
		off += (size_t)snprintf(refused + off, sizeof(refused) - off, "%s%s %llu",
					r ? ", " : "", cluster_refusal_name((enum cluster_refusal)r),
					(unsigned long long)ls->refusals[r]);
	log_notice("cluster: status: node %s, %d peers, %d up; refused: %s", ls->cc->node,
		   ls->npeers, up, refused);
	for (int i = 0; i < ls->npeers; i++) {
		char since[32] = "-", addr[80] = "dialled us";

		cluster_links_peer_status(ls, i, &st);
		if (st.ip[0] != '\0')
			snprintf(addr, sizeof(addr), "%s:%d", st.ip, st.port);
		if (st.up_since != 0) {
			struct tm tm;

			gmtime_r(&st.up_since, &tm);
			strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", &tm);
		}
		log_notice("cluster: status: peer %s (%s) %s%s%s since %s, bytes in %llu "
			   "out %llu, up %llu times%s%s", st.name, addr,
			   cluster_link_state_name(st.state), st.remote[0] ? " via " : "",
			   st.remote, since, (unsigned long long)st.bytes_in,
			   (unsigned long long)st.bytes_out, (unsigned long long)st.ups,
			   st.last_error[0] ? ", last error: " : "", st.last_error);
	}
}
