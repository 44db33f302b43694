/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * link: one XMPP stream on one socket. The glue between a mio connection
 * (bytes, no XMPP) and an sx stream (XMPP, no I/O) that every daemon
 * needs and that used to be written once per daemon: reading into sx,
 * batched flushing of what sx produced, back-pressure, idle trim, keeping
 * the time of the last read and write, graceful close and reaping.
 *
 * A link set (one per daemon, or per kind of link) holds what the links
 * share: the zero-delay flush timer and its list of links with output
 * waiting, the idle trim sweep, and the congestion check.
 *
 * Life of a link:
 *   - link_new() on an accepted or connected mio connection creates the sx
 *     stream (the owner then attaches TLS, SASL, ... to link_sx() and, for
 *     a client, opens it). Reading starts when the accept or connect
 *     callback returns.
 *   - Bytes read go into sx; the owner hears the stream through its
 *     callbacks (the sx ones, given the sx and the owner's ctx).
 *   - What sx produces is written to mio from a zero-delay timer, so all
 *     that is sent while one callback runs leaves in one write.
 *   - Back-pressure: while a link is being read (its on_read is running),
 *     anything sent through link_send()/link_send_raw() to a link whose
 *     backlog (sx + mio) is at or above the high mark pauses the link being
 *     read until that backlog is back under the low mark (or that link is
 *     gone). A peer whose own output is above the high mark after a read
 *     is paused in the same way: a peer that stops reading stops being
 *     read, and the daemon does not queue for it without limit. Between
 *     daemons (link_set_config.daemon_peers) only a read that added to
 *     the peer's own backlog counts: two daemons each holding back the
 *     other for traffic that other links made would wait for ever.
 *   - Idle trim: every trim period, links that neither read nor wrote
 *     since the previous sweep give back their parser and TLS buffers
 *     (sx_trim); sx rebuilds them when bytes come.
 *   - Graceful close: when the stream ends (the peer closed it, a stream
 *     error, link_close), the last bytes (the stream error, the closing
 *     tag) are written before the socket is shut down.
 *   - Reap: the gone callback runs once, from the loop and never inside
 *     one of this link's callbacks; the link and its sx are freed when it
 *     returns.
 *
 * Nothing here knows about a particular daemon: c2s, the router, comp,
 * s2s and the cluster's links all use it.
 */
#ifndef LINK_LINK_H
#define LINK_LINK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "sx/sx.h"

struct mio;
struct mio_conn;
struct link;
struct link_set;

struct link_set_config {
	/* Sweep period for idle trim in ms; 0 = no trim. */
	unsigned trim_ms;
	/* Backlog (sx output + mio queue) that pauses senders, and the level
	 * it must go back under; 0 = 1 MiB and 256 KiB. */
	size_t high_mark;
	size_t low_mark;
	/* 1: the peers are our own daemons (the router's links, a
	 * component's link to the router), which hold back their reading
	 * of us too. A peer is then held back for its own backlog only when
	 * the read added to it (its replies), not for what other links
	 * routed to it: two daemons each holding back the other for that
	 * would wait for each other for ever (the router and the sm while a
	 * big room fills). 0 (clients, servers): any backlog over the high
	 * mark after a read holds the peer back, replies that come back
	 * through the router included. */
	int daemon_peers;
	/* Time given to a graceful close in ms; 0 = 5000. */
	unsigned close_ms;
};

/* One set of links on a loop. Never returns NULL. With mio NULL the set
 * has no timers (for links on a host's transport, link_new_transport):
 * the host calls link_set_flush() after each entry and link_set_trim()
 * when it wants to sweep. */
struct link_set *link_set_new(struct mio *mio, const struct link_set_config *cfg);
/* Free the set: every link still in it is freed at once without
 * callbacks (link_free). Not from inside a link callback. NULLs *setp. */
void link_set_free(struct link_set **setp);
/* Links in the set (not yet gone). */
size_t link_set_count(const struct link_set *set);
/* Write out every link's pending output now (the flush timer does this
 * from the loop; tests and shutdown paths may call it). */
void link_set_flush(struct link_set *set);
/* Run one idle trim sweep now (the trim timer does this every trim_ms).
 * Returns the number of links whose parser was released. */
size_t link_set_trim(struct link_set *set);

struct link_callbacks {
	/* As in struct sx_callbacks; `sx` is link_sx(), `ctx` the owner's.
	 * element is required; the others may be NULL. */
	void (*stream_open)(struct sx *sx, const struct sx_header *hdr, void *ctx);
	void (*element)(struct sx *sx, struct nad *nad, void *ctx);
	void (*event)(struct sx *sx, enum sx_event ev, const void *data, void *ctx);
	/* The stream is over (as sx's closed). The link then writes what is
	 * left and shuts the socket down by itself. May be NULL. */
	void (*closed)(struct sx *sx, const char *condition, const char *text, void *ctx);
	/* The stream is over and its last bytes are being written: called
	 * once, from the loop or after a read, never inside an sx callback,
	 * right before the socket is shut down. May be NULL. */
	void (*ended)(struct link *link, void *ctx);
	/* The socket is gone; reason NULL after a close we asked for, else a
	 * human-readable cause. Called once, from the loop. The link and its
	 * sx are freed when this returns. Required. */
	void (*gone)(struct link *link, const char *reason, void *ctx);
};

/*
 * A link on `mc` (from an accept or connect callback) with a new sx
 * stream of `type` and `limits` (NULL = sx's defaults). `cb` is kept,
 * not copied (a static const table). Never returns NULL.
 */
struct link *link_new(struct link_set *set, struct mio_conn *mc, enum sx_type type,
		      const struct sx_limits *limits, const struct link_callbacks *cb,
		      void *ctx);
/*
 * A link whose bytes travel through a host instead of a mio connection
 * (an engine whose unit tests run in memory, as s2s's). The host feeds
 * what it reads with link_input() and frees the link with link_free()
 * when its transport is gone (gone is not called, and may be NULL).
 */
struct link_transport {
	/* Queue bytes for the peer. Required. */
	void (*write)(void *tctx, const void *data, size_t len);
	/* The stream is over and its last bytes written: close the transport
	 * after them. Called once. Required. */
	void (*shutdown)(void *tctx);
	/* Stop (on = 1) or restart reading. May be NULL. */
	void (*pause)(void *tctx, int on);
};
struct link *link_new_transport(struct link_set *set, const struct link_transport *tr,
				void *tctx, enum sx_type type, const struct sx_limits *limits,
				const struct link_callbacks *cb, void *ctx);
/* Bytes read from the peer, for links on a host's transport (mio links
 * are fed by mio). */
void link_input(struct link *link, const void *data, size_t len);

/*
 * Close at once without calling back, and free the link and its sx now.
 * For shutdown and teardown; never inside one of the link's callbacks.
 * NULLs *linkp.
 */
void link_free(struct link **linkp);

/* The owner's ctx of the link whose sx this is (for sx callbacks that
 * only get the sx, such as SASL's). */
void *link_sx_owner(const struct sx *sx);

struct sx *link_sx(const struct link *link);
/* The mio connection, NULL on a host's transport. */
struct mio_conn *link_conn(const struct link *link);
/* mio's connection id, for logs (0 on a host's transport). */
uint64_t link_id(const struct link *link);
/* Times (time(NULL)) of the last bytes read and written. */
time_t link_last_read(const struct link *link);
time_t link_last_write(const struct link *link);
/* Nonzero once the stream is over (closed callback run). */
int link_ended(const struct link *link);
/* Bytes waiting for the peer: in sx and in mio's queue. */
size_t link_backlog(const struct link *link);

/* Send through the link; like sx_send / sx_send_raw, plus the
 * back-pressure check on the link being read. */
void link_send(struct link *link, struct nad *nad);
void link_send_raw(struct link *link, const char *data, size_t len);

/* Orderly close: </stream:stream>, written out, then the socket shut down
 * (gone follows). */
void link_close(struct link *link);
/* Stream error, written out, then the socket shut down (gone follows). */
void link_error(struct link *link, const char *condition, const char *text);
/* Drop the socket at once, without writing anything more; gone follows
 * from the loop. */
void link_drop(struct link *link);

/* The owner's own pause (rate limits, auth delays, a module holding the
 * link back). Separate from back-pressure: reading resumes only when
 * neither holds it. Calls don't nest. */
void link_pause(struct link *link);
void link_resume(struct link *link);
/* Nonzero while reading is paused, for whatever reason. */
int link_paused(const struct link *link);

#endif
