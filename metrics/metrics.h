/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * metrics: each daemon's counters in Prometheus text format 0.0.4, served
 * as `GET /metrics` on a local HTTP port of its own (<metrics><ip>,
 * <port> in the daemon's config; off unless a port is given).
 *
 * The server runs on the daemon's mio loop and is built to cost nothing
 * when nobody scrapes and to be harmless to whoever can connect: at most
 * METRICS_CLIENTS clients at once (more are closed at accept), a request
 * of at most METRICS_REQ_MAX bytes (request line and headers; a body is
 * never read), METRICS_TIMEOUT_MS from accept to the end of the request,
 * one request per connection (answered with Connection: close). Nothing
 * but GET and HEAD of /metrics is served. The port shows counts, not
 * secrets, but binds to 127.0.0.1 by default; expose it with care.
 */
#ifndef METRICS_METRICS_H
#define METRICS_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct config;
struct mio;

#define METRICS_CLIENTS 16
#define METRICS_REQ_MAX 4096
#define METRICS_TIMEOUT_MS 5000

/* ---- the request reader (http.c; pure, fuzzed) ---- */

enum metrics_method { METRICS_GET, METRICS_HEAD };

struct metrics_req {
	enum metrics_method method;
	int minor;              /* HTTP/1.<minor>: 0 or 1 */
	int is_metrics;         /* the path is /metrics (a query is ignored) */
};

/*
 * Read a request from the `len` bytes received so far. Returns 0 when
 * more bytes are needed (no end of headers yet, and len < METRICS_REQ_MAX),
 * the length of the request (>0) with *req filled when it is complete, or
 * an HTTP status to answer with when it is not acceptable: 400 (malformed:
 * bad request line, header without a colon or with a control character,
 * a NUL), 405 (a method other than GET and HEAD), 431 (no end of headers
 * within METRICS_REQ_MAX bytes), 505 (not HTTP/1.0 or 1.1). In that case
 * the return is negative: -status.
 */
long metrics_http_parse(const char *data, size_t len, struct metrics_req *req);

/* ---- Prometheus text (http.c) ---- */

/* "# HELP name help\n# TYPE name type\n". A counter's name ends in _total. */
void metrics_head(struct buf *out, const char *name, const char *type, const char *help);
/* A sample without labels. */
void metrics_sample(struct buf *out, const char *name, uint64_t value);
/* A sample with one label: name{label="value"} v (value escaped). */
void metrics_sample_label(struct buf *out, const char *name, const char *label,
			  const char *lvalue, uint64_t value);
/* A sample with a floating value (seconds). */
void metrics_sample_double(struct buf *out, const char *name, double value);
/* head + one sample, for the common case. */
void metrics_one(struct buf *out, const char *name, const char *type, const char *help,
		 uint64_t value);

/* ---- the server (server.c) ---- */

/* Write the daemon's metrics into `out` (text format, each family once). */
typedef void metrics_render_cb(struct buf *out, void *ctx);

struct metrics_http;

/*
 * Read <metrics><ip> (default 127.0.0.1) and <metrics><port> from `cfg`
 * and listen there. Returns 0 with *out NULL when no port is configured
 * (off), 0 with *out the server, or -1 with *error_r (a bad port, the
 * address in use). `cb` is called per scrape, from the loop.
 */
int metrics_http_start(struct mio *mio, const struct config *cfg, metrics_render_cb *cb,
		       void *ctx, struct metrics_http **out, const char **error_r);
int metrics_http_port(const struct metrics_http *m);
/* Stop listening and close every client. NULLs *mp. */
void metrics_http_free(struct metrics_http **mp);

/* The families every daemon has (connections open, uptime, scrapes),
 * for its render callback to start with. */
void metrics_common(struct buf *out, const struct metrics_http *m, const char *daemon);

#endif
