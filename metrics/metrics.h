/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * metrics: each daemon's counters in Prometheus text format 0.0.4, served
 * as `GET /metrics` on a local HTTP port of its own (<metrics><ip>,
 * <port> in the daemon's config; off unless a port is given), and the
 * same through the daemon's status socket (below) for `jabberd status`.
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

/* ---- the status reports (report.c; pure, fuzzed) ---- */

/*
 * The status socket's requests, one line each: "status" (the report for
 * people), "status json" (the same as one JSON object), "metrics" (the
 * Prometheus text itself). Blanks around and between words are allowed.
 */
enum metrics_ctl_req {
	METRICS_CTL_INVALID,
	METRICS_CTL_STATUS,
	METRICS_CTL_JSON,
	METRICS_CTL_METRICS,
};
enum metrics_ctl_req metrics_ctl_parse(const char *line, size_t len);

/*
 * The reports, made from the daemon's Prometheus text (the one the HTTP
 * port serves: one rendering for both). Text: a header line "daemon NAME
 * pid PID", then one line per sample, "  name{labels}  value", with the
 * name's "jabberd_NAME_" prefix left out. JSON: {"daemon":NAME,"pid":PID,
 * "metrics":{FAMILY:{"type":T,"help":H,"samples":[{"labels":{..},
 * "value":V}]}}} on one line, V a JSON number (a string for NaN, +Inf).
 * Both return 0, or -1 with *error_r when `prom` is not text format
 * 0.0.4 as the renderers write it (a line over METRICS_LINE_MAX bytes,
 * more than METRICS_LABELS_MAX labels, a malformed sample); `out` then
 * holds a partial report the caller discards.
 */
#define METRICS_LINE_MAX 4096
#define METRICS_LABELS_MAX 16
int metrics_report_text(const char *prom, size_t len, const char *daemon, long pid,
			struct buf *out, const char **error_r);
int metrics_report_json(const char *prom, size_t len, const char *daemon, long pid,
			struct buf *out, const char **error_r);

/* ---- the registry: HTTP port and status socket (server.c) ---- */

/* Write the daemon's metrics into `out` (text format, each family once). */
typedef void metrics_render_cb(struct buf *out, void *ctx);

struct metrics;

/*
 * The status socket: a unix stream socket (0600, the daemon's user) on
 * which `jabberd-status` and `jabberd status` ask for the reports above.
 * One request line of at most METRICS_CTL_REQ_MAX bytes within
 * METRICS_CTL_TIMEOUT_MS, one answer, then the daemon closes; at most
 * METRICS_CTL_CLIENTS at once (more are answered "error: busy"). Anything
 * else is answered "error: ..." in one line.
 *
 * Its path: <metrics><socket> if given ("off": none); else beside the
 * daemon's <pidfile>, named after it (router.pid: router-status.sock);
 * else none. A path the daemon was given that it cannot listen on stops
 * it at start; the default one only gets a warning.
 */
#define METRICS_CTL_CLIENTS 8
#define METRICS_CTL_REQ_MAX 64
#define METRICS_CTL_TIMEOUT_MS 2000
#define METRICS_SOCKET_SUFFIX "-status.sock"

/*
 * The status socket's path for the daemon configured by `cfg`, into
 * `out`. Returns 1 (a path; *is_default says whether it came from the
 * pid file), 0 (none: "off", or no pid file), or -1 (the path does not
 * fit a unix socket address, or is not absolute) with *error_r.
 */
int metrics_socket_path(const struct config *cfg, char *out, size_t size, int *is_default,
			const char **error_r);

/*
 * Start the daemon `daemon`'s metrics ("router", "sm", ...; the families'
 * prefix is jabberd_<daemon>_): the HTTP port if <metrics><port> is
 * given (<metrics><ip>, default 127.0.0.1), the status socket if it has
 * a path. Returns 0 with *out (always set, even with both off), or -1
 * with *error_r (a bad port, an address or socket in use). `cb` is called
 * per scrape or status request, from the loop.
 */
int metrics_start(struct mio *mio, const struct config *cfg, const char *daemon,
		  metrics_render_cb *cb, void *ctx, struct metrics **out, const char **error_r);
/* The HTTP port, 0 when off. */
int metrics_http_port(const struct metrics *m);
/* The status socket's path, NULL when off. */
const char *metrics_socket(const struct metrics *m);
/* Stop listening (the socket file is removed) and close every client.
 * NULLs *mp. */
void metrics_free(struct metrics **mp);

/* The families every daemon has (uptime, open sockets, HTTP scrapes,
 * status requests, refused clients), for its render callback to start
 * with. */
void metrics_common(struct buf *out, const struct metrics *m);

#endif
