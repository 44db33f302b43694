/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mio: the thin glue between sockets and the daemons, on a libevent 2.1
 * loop. It owns file descriptors and nothing else: listeners (with the
 * jabberd2 io.max_fds cap, io.limits.connects and io.access rules),
 * connections (bytes in by callback, an owner-fed write queue with
 * back-pressure, io.limits.bytes, idle detection, graceful close), outgoing
 * connects with retry (router.retry.*), timers and signals.
 *
 * mio knows nothing about XMPP: the daemons feed what a connection reads
 * into sx and write what sx produces. Every callback runs from the loop;
 * a connection is never freed while one of its callbacks is running (it is
 * marked closed and reaped once the callback has returned), so any mio call
 * may be made from any callback.
 *
 * Times are milliseconds; the daemons multiply the seconds of their config.
 */
#ifndef MIO_MIO_H
#define MIO_MIO_H

#include <stddef.h>
#include <stdint.h>

struct sockaddr;
struct mio;
struct mio_listener;
struct mio_conn;
struct mio_connector;
struct mio_timer;
struct mio_access;

/*
 * A rate limit, as jabberd2's io.limits.* elements: at most `max` units
 * (connects, bytes) within `window_ms`; going beyond makes the offender
 * wait `throttle_ms`. max == 0 turns the limit off.
 */
struct mio_rate {
	unsigned int max;
	unsigned int window_ms;
	unsigned int throttle_ms;
};

/* ---- the loop (mio.c) ---- */

/*
 * Create a loop. Also sets SIGPIPE to ignored for the process, since a
 * peer that goes away must never kill a daemon. Never returns NULL for lack
 * of memory (that aborts); returns NULL with *error_r set if libevent
 * cannot create its backend.
 */
struct mio *mio_new(const char **error_r);

/*
 * Destroy the loop. Open connections are closed at once and their on_close
 * callbacks run (reason "shutting down"), so owners can release what they
 * hang on them; listeners, pending connects and signal handlers are freed;
 * timers the owner still holds become inert (mio_timer_free them later).
 * Not to be called from inside a mio callback. NULLs *mio; a NULL *mio is
 * ignored.
 */
void mio_free(struct mio **mio);

/*
 * Run the loop until mio_stop() is called or nothing is left to wait for.
 * Returns 0, or -1 with *error_r set if the backend failed.
 */
int mio_run(struct mio *mio, const char **error_r);

/* Make mio_run() return after the callback in progress (if any). */
void mio_stop(struct mio *mio);

/*
 * Cap on open connections, jabberd2's io.max_fds. Accepted connections
 * beyond it are closed as soon as they are accepted, and a warning is
 * logged once per burst of refusals. Outgoing connects are never refused
 * (the daemon chose to make them) but count towards the cap. 0 = no cap,
 * the default.
 */
void mio_set_max_conns(struct mio *mio, unsigned int max);

/* Connections currently open (accepted + outgoing, not yet closed). */
unsigned int mio_conn_count(const struct mio *mio);

/* ---- timers (mio.c) ---- */

typedef void mio_timer_cb(struct mio_timer *timer, void *ctx);

/* A stopped timer. Owned by the caller: free it with mio_timer_free(). */
struct mio_timer *mio_timer_new(struct mio *mio, mio_timer_cb *cb, void *ctx);

/*
 * (Re)arm the timer to fire after `ms`, once or, with `periodic`, every
 * `ms` until stopped. Arming a pending timer restarts it.
 */
void mio_timer_start(struct mio_timer *timer, unsigned int ms, int periodic);

/* Disarm. Harmless on a stopped timer. */
void mio_timer_stop(struct mio_timer *timer);

/* Nonzero while armed (a one-shot timer is disarmed when it fires). */
int mio_timer_pending(const struct mio_timer *timer);

/* Stop and free; safe inside the timer's own callback. NULLs *timer. */
void mio_timer_free(struct mio_timer **timer);

/* ---- signals (mio.c) ---- */

typedef void mio_signal_cb(int signo, void *ctx);

/*
 * Deliver `signo` (SIGHUP, SIGTERM, SIGINT, SIGUSR1, SIGUSR2, ...) as a
 * loop callback instead of an asynchronous handler. Registering the same
 * signal again replaces the callback. Only one struct mio per process
 * should handle signals (a libevent restriction). Handlers live until
 * mio_free(). Returns 0, or -1 with *error_r set.
 */
int mio_signal(struct mio *mio, int signo, mio_signal_cb *cb, void *ctx,
	       const char **error_r);

/* ---- access lists (mio_access.c) ---- */

/*
 * jabberd2's io.access.order. ALLOW_DENY: an address matching an allow
 * rule is allowed, else one matching a deny rule is denied, else allowed.
 * DENY_ALLOW: a deny match denies, else an allow match allows, else denied.
 */
enum mio_access_order {
	MIO_ACCESS_ALLOW_DENY,
	MIO_ACCESS_DENY_ALLOW,
};

/* "deny,allow" gives DENY_ALLOW; anything else, NULL included, ALLOW_DENY
 * (jabberd2 reads it the same way). */
enum mio_access_order mio_access_order_parse(const char *text);

struct mio_access *mio_access_new(enum mio_access_order order);
void mio_access_free(struct mio_access **acl);

/*
 * Add an allow (allow != 0) or deny rule for numeric address `ip` (IPv4 or
 * IPv6). `mask` is NULL for a single host, a prefix length ("24", "64"),
 * or for IPv4 a dotted netmask ("255.255.255.0"; it must be contiguous).
 * For IPv6 the only dotted mask accepted is "255.255.255.255", jabberd2's
 * default, meaning a single host. IPv4 rules also match IPv4-mapped IPv6
 * peers (::ffff:a.b.c.d), as seen on a dual-stack "::" listener.
 * Returns 0, or -1 with *error_r set (the rule is not added).
 */
int mio_access_add(struct mio_access *acl, int allow, const char *ip,
		   const char *mask, const char **error_r);

/* 1 if the address is allowed, 0 if denied. An address of another family
 * than AF_INET/AF_INET6 is denied. */
int mio_access_check(const struct mio_access *acl, const struct sockaddr *sa);

/* Same for a numeric address string; an unparsable string is denied. */
int mio_access_check_ip(const struct mio_access *acl, const char *ip);

/* ---- listeners (mio_listen.c) ---- */

struct mio_listen_settings {
	const char *ip;         /* numeric; NULL = "0.0.0.0"; "::" = any v6
				 * (and v4 as mapped addresses, Linux's default) */
	int port;               /* 0 = any free port (see mio_listener_port) */
	int backlog;            /* 0 = 128 */
	/* Borrowed; must outlive the listener. NULL = everyone allowed. */
	const struct mio_access *access;
	/* io.limits.connects: connects per peer address. */
	struct mio_rate connects;
};

/*
 * A new connection. Before returning, the owner either calls
 * mio_conn_setup() (then reading starts) or mio_conn_close(); a connection
 * left without setup is closed. Peers that are denied, rate limited or
 * beyond the connection cap never reach this callback.
 */
typedef void mio_accept_cb(struct mio_listener *listener, struct mio_conn *conn,
			   const char *peer_ip, int peer_port, void *ctx);

/*
 * Listen on ip:port (SO_REUSEADDR, non-blocking). Returns the listener, or
 * NULL with *error_r set (bad address, port in use, ...). The error
 * string stays valid until the next mio call on this loop.
 */
struct mio_listener *mio_listen(struct mio *mio,
				const struct mio_listen_settings *set,
				mio_accept_cb *cb, void *ctx,
				const char **error_r);

/*
 * Listen on a unix stream socket at `path`, created with permissions
 * `mode` (e.g. 0600) and owned by this process's user. A stale socket
 * file (nobody answers on it) is replaced; any other file, or a socket a
 * live process listens on, is an error. The file is unlinked when the
 * listener is freed. Accepted connections pass the connection cap only
 * (no access list or rate: the file's permissions decide who connects);
 * their peer ip is "" and port 0. Returns NULL with *error_r set (valid
 * until the next mio call).
 */
struct mio_listener *mio_listen_unix(struct mio *mio, const char *path, unsigned mode,
				     int backlog, mio_accept_cb *cb, void *ctx,
				     const char **error_r);

/* The port actually bound (useful with port 0). */
int mio_listener_port(const struct mio_listener *listener);

/* Stop listening and free; connections already accepted stay open.
 * Safe inside the listener's accept callback. NULLs *listener. */
void mio_listener_free(struct mio_listener **listener);

/* ---- connections (mio_conn.c) ---- */

struct mio_conn_callbacks {
	/*
	 * Bytes arrived. `data` is only valid during the call. Never called
	 * again once the connection is closing.
	 */
	void (*on_read)(struct mio_conn *conn, const void *data, size_t len,
			void *ctx);
	/* Optional: the write queue went back down to the low-water mark
	 * after a write had reported it full (mio_conn_write returned 1). */
	void (*on_drain)(struct mio_conn *conn, void *ctx);
	/* Optional: nothing was read for the idle timeout; called again
	 * after each further idle period. */
	void (*on_idle)(struct mio_conn *conn, void *ctx);
	/*
	 * The connection is gone; called exactly once, from the loop, never
	 * from inside another mio call. `reason` is NULL when the owner closed
	 * it (and a graceful close completed), else a human-readable cause
	 * ("connection closed by peer", "read: Connection reset by peer", ...).
	 * The connection is freed when this returns.
	 */
	void (*on_close)(struct mio_conn *conn, const char *reason, void *ctx);
};

/*
 * Attach the owner: callbacks are copied, `ctx` is passed to each. Call it
 * in the accept or connect callback; reading starts when that returns.
 * on_read and on_close are required.
 */
void mio_conn_setup(struct mio_conn *conn, const struct mio_conn_callbacks *cb,
		    void *ctx);

/*
 * Wrap an already connected socket (e.g. from socketpair or systemd) in a
 * connection; mio owns fd from now on, even on failure. Call
 * mio_conn_setup() before returning to the loop. Returns NULL with *error_r
 * set if the socket cannot be made non-blocking.
 */
struct mio_conn *mio_conn_adopt(struct mio *mio, int fd, const char **error_r);

/*
 * Queue bytes for the peer (copied; written as soon as the socket takes
 * them). Returns 0 when queued, 1 when queued but the queue is now at or
 * above the high-water mark: stop producing until on_drain. Returns -1,
 * dropping the bytes, once the connection is closing or closed.
 */
int mio_conn_write(struct mio_conn *conn, const void *data, size_t len);

/* Bytes queued and not yet taken by the kernel. */
size_t mio_conn_queued(const struct mio_conn *conn);

/* High- and low-water marks of the write queue in bytes (defaults 256 KiB
 * and 64 KiB). low is clamped to high. */
void mio_conn_set_watermarks(struct mio_conn *conn, size_t high, size_t low);

/* Stop / restart reading (back-pressure from where the bytes go). The
 * kernel buffers fill, and TCP slows the peer down. Calls don't nest: one
 * resume undoes any number of pauses. */
void mio_conn_pause_read(struct mio_conn *conn);
void mio_conn_resume_read(struct mio_conn *conn);

/*
 * io.limits.bytes: at most limit->max bytes are delivered within a window
 * of window_ms; when that allowance is used up, reading stops for
 * throttle_ms and then a new window begins. NULL or max 0 = no limit.
 */
void mio_conn_set_read_limit(struct mio_conn *conn, const struct mio_rate *limit);

/* Call on_idle when nothing has been read for `ms` (time spent paused or
 * throttled counts); 0 turns it off. */
void mio_conn_set_idle_timeout(struct mio_conn *conn, unsigned int ms);

/*
 * Close at once: queued bytes are dropped. on_close follows from the loop
 * with reason NULL. Harmless on a connection already closing.
 */
void mio_conn_close(struct mio_conn *conn);

/*
 * Close gracefully: stop delivering reads, write out the queue, shut down
 * our side, then wait for the peer to close its side (so no unread byte
 * turns into a reset that destroys data in flight). If this has not
 * finished after `timeout_ms` (0 = 5000), the socket is closed anyway and
 * on_close gets reason "graceful close timed out"; otherwise reason NULL.
 * Harmless on a connection already closing; mio_conn_close() still cuts a
 * graceful close short.
 */
void mio_conn_shutdown(struct mio_conn *conn, unsigned int timeout_ms);

/* Nonzero once mio_conn_close/shutdown was called or the peer went away. */
int mio_conn_closing(const struct mio_conn *conn);

/* The peer's numeric address (IPv4-mapped IPv6 shown as IPv4) and port;
 * "" and 0 for a socket that has none (AF_UNIX). */
const char *mio_conn_peer_ip(const struct mio_conn *conn);
int mio_conn_peer_port(const struct mio_conn *conn);

/* A number naming this connection in logs; never reused by this loop. */
uint64_t mio_conn_id(const struct mio_conn *conn);

/* The socket, for getsockname() and the like. Don't read, write or close
 * it. */
int mio_conn_fd(const struct mio_conn *conn);

/* ---- outgoing connects (mio_connect.c) ---- */

struct mio_connect_settings {
	const char *ip;         /* numeric peer address; no DNS here */
	int port;
	const char *source_ip;  /* numeric address to bind first, or NULL */
	unsigned int timeout_ms;        /* per attempt; 0 = 10000 */
	/* Attempts in all, as router.retry.init/lost: -1 = for ever,
	 * 0 or 1 = a single attempt. */
	int attempts;
	/* Pause before the second attempt (router.retry.sleep); 0 = 1000.
	 * Each further pause doubles, up to retry_max_ms; a retry_max_ms not
	 * above retry_ms keeps the pause fixed, as jabberd2 does. */
	unsigned int retry_ms;
	unsigned int retry_max_ms;
};

/*
 * The outcome of a connect. On success `conn` is the new connection: set it
 * up as in the accept callback, and `error` is NULL. On final failure (all
 * attempts used) `conn` is NULL and `error` says why the last attempt
 * failed. The connector is freed when this returns: forget it here.
 */
typedef void mio_connect_cb(struct mio_connector *connector,
			    struct mio_conn *conn, const char *error, void *ctx);

/*
 * Start connecting to set->ip:port in the background. Returns the
 * connector, or NULL with *error_r set if the settings are unusable (an
 * address that is not numeric, a source of another family); the string
 * stays valid until the next mio call on this loop. The first attempt
 * starts from the loop, never inside this call.
 */
struct mio_connector *mio_connect(struct mio *mio,
				  const struct mio_connect_settings *set,
				  mio_connect_cb *cb, void *ctx,
				  const char **error_r);

/* Attempts started so far (the one in progress included). */
unsigned int mio_connector_attempts(const struct mio_connector *connector);

/* Inside the callback of a failed connect: the errno of the last failure
 * (ECONNREFUSED when the peer answered that nobody listens, ETIMEDOUT when
 * it did not answer in time), so the owner can tell a definite answer
 * from one worth retrying. */
int mio_connector_errno(const struct mio_connector *connector);

/* Give up without calling the callback. NULLs *connector. Harmless inside
 * the connector's own callback; must not be called after it has run (the
 * connector is gone then). */
void mio_connector_cancel(struct mio_connector **connector);

#endif
