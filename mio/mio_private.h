/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mio_private.h: what the files of mio share and the public header hides:
 * the structures behind the opaque handles, the per-address connect-rate
 * table and the internal calls between mio.c, mio_conn.c, mio_listen.c and
 * mio_connect.c. Unit tests include it to drive the rate table with a fake
 * clock.
 */
#ifndef MIO_MIO_PRIVATE_H
#define MIO_MIO_PRIVATE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "util/buf.h"
#include "mio/mio.h"

struct event;
struct event_base;

#define MIO_READ_CHUNK (32 * 1024)
#define MIO_DEFAULT_HIGH_WATER (256 * 1024)
#define MIO_DEFAULT_LOW_WATER (64 * 1024)
#define MIO_DEFAULT_SHUTDOWN_MS 5000
#define MIO_DEFAULT_CONNECT_TIMEOUT_MS 10000
#define MIO_DEFAULT_RETRY_MS 1000
#define MIO_MAX_SIGNALS 8
#define MIO_ERRBUF 160

/* A normalised peer address: IPv4-mapped IPv6 is stored as IPv4. */
struct mio_addr {
	int family;             /* AF_INET or AF_INET6 */
	uint8_t bytes[16];      /* 4 used for AF_INET */
};

struct mio_signal {
	struct event *ev;
	int signo;
	mio_signal_cb *cb;
	void *ctx;
};

struct mio {
	struct event_base *base;
	struct event *ev_reap;          /* activated when conns wait for reaping */
	struct mio_conn *conns;         /* open and closing connections */
	struct mio_conn *reap_head;     /* closed, on_close not yet called */
	struct mio_conn **reap_tail;
	struct mio_listener *listeners;
	struct mio_connector *connectors;
	struct mio_timer *timers;
	struct mio_signal signals[MIO_MAX_SIGNALS];
	unsigned int nsignals;
	unsigned int nconns;
	unsigned int max_conns;
	uint64_t next_conn_id;
	char rbuf[MIO_READ_CHUNK];
	char errbuf[MIO_ERRBUF];
};

enum mio_conn_state {
	MIO_CONN_OPEN,
	MIO_CONN_FLUSHING,      /* graceful: writing out the queue */
	MIO_CONN_LINGERING,     /* graceful: our side shut, awaiting peer EOF */
	MIO_CONN_CLOSED,        /* fd closed, waiting in the reap list */
};

struct mio_conn {
	struct mio *mio;
	struct mio_conn *prev, *next;   /* mio->conns */
	struct mio_conn *reap_next;
	int fd;
	enum mio_conn_state state;
	uint64_t id;
	struct mio_conn_callbacks cb;
	void *ctx;
	/* Flags, as bits: a server holds tens of thousands of these. */
	unsigned set_up : 1;            /* mio_conn_setup called */
	unsigned peer_eof : 1;          /* peer closed while we were flushing */
	unsigned congested : 1;         /* write returned 1, on_drain owed */
	unsigned write_armed : 1;
	unsigned read_armed : 1;
	unsigned paused : 1;            /* by the owner */
	unsigned throttled : 1;         /* by the byte limit */
	/* write queue: bytes [wpos, wq.len) of wq are pending */
	struct buf wq;
	size_t wpos;
	size_t high_water, low_water;
	struct mio_rate read_limit;
	uint64_t window_start_ms;
	size_t window_bytes;
	unsigned int idle_ms;
	uint64_t last_read_ms;
	struct event *ev_read;
	struct event *ev_write;         /* only while output waits for the
					 * kernel: most connections never need it */
	struct event *ev_throttle;
	struct event *ev_idle;
	struct event *ev_shutdown;
	const char *reason;             /* for on_close; NULL = by owner */
	char *reason_alloc;             /* reason, when it was formatted */
	char peer_ip[INET6_ADDRSTRLEN];
	int peer_port;
};

struct mio_timer {
	struct mio *mio;                /* NULL once the loop is gone */
	struct mio_timer *prev, *next;
	struct event *ev;
	mio_timer_cb *cb;
	void *ctx;
	int pending;
	int periodic;
	int in_cb;
	int freed;                      /* mio_timer_free inside the callback */
};

/* One peer address in the connect-rate table. */
struct mio_rate_entry {
	struct mio_rate_entry *next;
	struct mio_addr addr;
	unsigned int count;
	uint64_t window_start_ms;
	uint64_t throttled_until_ms;
};

/* Per-address connect counting (io.limits.connects) for one listener. */
struct mio_rate_table {
	struct mio_rate limit;
	struct mio_rate_entry **buckets;
	size_t nbuckets;                /* a power of two */
	size_t count;
	uint64_t last_sweep_ms;
};

/* mio.c */
uint64_t mio_now_ms(void);
/* Put a closed connection on the reap list and wake the reaper. */
void mio_reap_later(struct mio_conn *conn);
/* Format "what: strerror(err)" into buf and return buf. */
const char *mio_strerror(char *buf, size_t size, const char *what, int err);

/* mio_conn.c */
/* Wrap a connected, non-blocking socket; counts towards mio->nconns. */
struct mio_conn *mio_conn_create(struct mio *mio, int fd,
				 const struct sockaddr *peer, socklen_t peerlen);
/* After the accept/connect callback: start reading, or close if the owner
 * did not set the connection up. */
void mio_conn_handed_out(struct mio_conn *conn);
/* Close now with `reason` (NULL = by owner); the reaper calls on_close. */
void mio_conn_finish(struct mio_conn *conn, const char *reason);
/* Call on_close (if set up) and free; only from the reaper or mio_free. */
void mio_conn_destroy(struct mio_conn *conn);

/* mio_listen.c / mio_connect.c: used by mio_free */
void mio_listener_destroy(struct mio_listener *l);
void mio_connector_destroy(struct mio_connector *c);

/* mio_access.c: parse and normalise a socket address. Returns 0 or -1. */
int mio_addr_from_sockaddr(struct mio_addr *addr, const struct sockaddr *sa);
/* Numeric text for a normalised address, and port from the sockaddr. */
void mio_addr_format(const struct sockaddr *sa, char *ip, size_t iplen,
		     int *port_r);

/* mio_rate.c */
void mio_rate_table_init(struct mio_rate_table *t, const struct mio_rate *limit);
void mio_rate_table_clear(struct mio_rate_table *t);
/*
 * Count a connect from `addr` at time `now_ms`. Returns 1 if it is allowed,
 * 0 if the address is over its limit (or still throttled). *throttle_started_r
 * is set to 1 when this connect started a throttle period (log it once).
 */
int mio_rate_table_hit(struct mio_rate_table *t, const struct mio_addr *addr,
		       uint64_t now_ms, int *throttle_started_r);

#endif
