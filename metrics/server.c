/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * server.c: the daemon's metrics registry (metrics.h): the HTTP port and
 * the status socket on its mio loop. Both accept, read one bounded
 * request, answer from the same rendering, close.
 */
#include "config.h"
#include "metrics/metrics.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mio/mio.h"
#include "util/buf.h"
#include "util/config_file.h"
#include "util/log.h"

static_assert(METRICS_CTL_REQ_MAX == 64, "ctl_read's message says 64 bytes");
static_assert(METRICS_CTL_TIMEOUT_MS == 2000, "client_timeout's message says 2000 ms");
static_assert(METRICS_CTL_REQ_MAX < METRICS_REQ_MAX, "a status line fits a client's buffer");

/* A client of either listener. */
struct metrics_client {
	struct metrics *m;      /* NULL once metrics_free ran */
	struct mio_conn *conn;
	struct mio_timer *timer;
	struct metrics_client *next, *prev;
	int status_socket;      /* a status socket client, else HTTP */
	int counted;            /* one of the n_http or n_ctl */
	size_t len;
	int answered;
	char data[METRICS_REQ_MAX];
};

struct metrics {
	struct mio *mio;
	char daemon[32];
	metrics_render_cb *cb;
	void *ctx;
	struct mio_listener *http, *ctl;
	char *socket_path;
	struct metrics_client *clients;
	unsigned n_http, n_ctl;
	uint64_t scrapes, refused, status_requests;
	struct timespec started;
};

static const char *status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 431: return "Request Header Fields Too Large";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

/* Queue the whole answer and close once it is written (or after the
 * timeout, for a client that does not read). */
static void send_and_close(struct metrics_client *c, const char *data, size_t len)
{
	c->answered = 1;
	if (c->status_socket)
		mio_conn_pause_read(c->conn);   /* HTTP: a body is read and ignored */
	mio_conn_write(c->conn, data, len);
	mio_conn_shutdown(c->conn, 2000);
}

static void answer(struct metrics_client *c, int status, int head_only, const struct buf *body)
{
	struct buf out = { 0 };
	static const char msg_fmt[] = "%d %s\n";
	char small[64];
	const char *text = body != NULL ? body->data : small;
	size_t len;

	if (body == NULL)
		snprintf(small, sizeof(small), msg_fmt, status, status_text(status));
	len = strlen(text);
	buf_printf(&out, "HTTP/1.1 %d %s\r\n", status, status_text(status));
	buf_printf(&out, "Content-Type: %s\r\n",
		   status == 200 ? "text/plain; version=0.0.4; charset=utf-8"
				 : "text/plain; charset=utf-8");
	buf_printf(&out, "Content-Length: %zu\r\n", len);
	if (status == 405)
		buf_append_str(&out, "Allow: GET, HEAD\r\n");
	buf_append_str(&out, "Cache-Control: no-store\r\nConnection: close\r\n\r\n");
	if (!head_only)
		buf_append(&out, text, len);
	send_and_close(c, out.data, out.len);
	buf_free(&out);
}

/* The daemon's text, rendered once per request. */
static void render(struct metrics *m, struct buf *out)
{
	m->cb(out, m->ctx);
	if (out->data == NULL)
		buf_append_str(out, "");
}

static void http_read(struct metrics_client *c)
{
	struct metrics_req req;
	struct buf body = { 0 };
	long rc = metrics_http_parse(c->data, c->len, &req);

	if (rc == 0)
		return;
	if (rc < 0) {
		answer(c, (int)-rc, 0, NULL);
		return;
	}
	if (!req.is_metrics) {
		answer(c, 404, req.method == METRICS_HEAD, NULL);
		return;
	}
	c->m->scrapes++;
	render(c->m, &body);
	answer(c, 200, req.method == METRICS_HEAD, &body);
	buf_free(&body);
}

static void ctl_answer_error(struct metrics_client *c, const char *what)
{
	struct buf out = { 0 };

	buf_printf(&out, "error: %s\n", what);
	send_and_close(c, out.data, out.len);
	buf_free(&out);
}

static void ctl_read(struct metrics_client *c)
{
	const char *nl = memchr(c->data, '\n', c->len), *error;
	struct buf prom = { 0 }, out = { 0 };
	enum metrics_ctl_req req;
	int rc = 0;

	if (nl == NULL || nl - c->data > METRICS_CTL_REQ_MAX) {
		if (c->len > METRICS_CTL_REQ_MAX)
			ctl_answer_error(c, "request line longer than 64 bytes");
		return;
	}
	req = metrics_ctl_parse(c->data, (size_t)(nl - c->data));
	if (req == METRICS_CTL_INVALID) {
		ctl_answer_error(c, "unknown request (status, status json, metrics)");
		return;
	}
	c->m->status_requests++;
	render(c->m, &prom);
	if (req == METRICS_CTL_METRICS)
		buf_append(&out, prom.data, prom.len);
	else if (req == METRICS_CTL_JSON)
		rc = metrics_report_json(prom.data, prom.len, c->m->daemon, (long)getpid(), &out,
					 &error);
	else
		rc = metrics_report_text(prom.data, prom.len, c->m->daemon, (long)getpid(), &out,
					 &error);
	if (rc < 0) {
		log_warnx("metrics: %s: the status report failed: %s", c->m->daemon, error);
		ctl_answer_error(c, error);
	} else {
		send_and_close(c, out.data, out.len);
	}
	buf_free(&prom);
	buf_free(&out);
}

static void client_on_read(struct mio_conn *conn, const void *data, size_t len, void *ctx)
{
	struct metrics_client *c = ctx;
	size_t take;

	(void)conn;
	if (c->answered || c->m == NULL)
		return;         /* a body, or a second request: not read */
	take = len < sizeof(c->data) - c->len ? len : sizeof(c->data) - c->len;
	memcpy(c->data + c->len, data, take);
	c->len += take;
	if (c->status_socket)
		ctl_read(c);
	else
		http_read(c);
}

static void client_on_close(struct mio_conn *conn, const char *reason, void *ctx)
{
	struct metrics_client *c = ctx;
	struct metrics *m = c->m;

	(void)conn;
	(void)reason;
	mio_timer_free(&c->timer);
	if (m == NULL) {        /* the registry is gone (metrics_free) */
		free(c);
		return;
	}
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		m->clients = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	if (c->counted && c->status_socket)
		m->n_ctl--;
	else if (c->counted)
		m->n_http--;
	free(c);
}

/* The whole request must arrive within the time from accept. */
static void client_timeout(struct mio_timer *t, void *ctx)
{
	struct metrics_client *c = ctx;

	(void)t;
	if (c->answered)
		mio_conn_close(c->conn);
	else if (c->status_socket)
		ctl_answer_error(c, "no request line within 2000 ms");
	else
		answer(c, 408, 0, NULL);
}

static struct metrics_client *client_new(struct metrics *m, struct mio_conn *conn, int ctl)
{
	static const struct mio_conn_callbacks cbs = {
		.on_read = client_on_read,
		.on_close = client_on_close,
	};
	struct metrics_client *c = xcalloc(1, sizeof(*c));

	c->m = m;
	c->conn = conn;
	c->status_socket = ctl;
	c->next = m->clients;
	if (c->next != NULL)
		c->next->prev = c;
	m->clients = c;
	mio_conn_setup(conn, &cbs, c);
	c->timer = mio_timer_new(m->mio, client_timeout, c);
	mio_timer_start(c->timer, ctl ? METRICS_CTL_TIMEOUT_MS : METRICS_TIMEOUT_MS, 0);
	return c;
}

/* A client of either listener; over the bound, an HTTP client is closed
 * at once, a status client told it is busy. */
static void on_accept(struct mio_listener *l, struct mio_conn *conn, const char *ip, int port,
		      void *ctx)
{
	struct metrics *m = ctx;
	int ctl = l == m->ctl;
	unsigned *n = ctl ? &m->n_ctl : &m->n_http;
	struct metrics_client *c;

	(void)ip;
	(void)port;
	if (*n >= (ctl ? METRICS_CTL_CLIENTS : METRICS_CLIENTS)) {
		m->refused++;
		if (ctl)
			ctl_answer_error(client_new(m, conn, 1),
					 "busy (too many status clients at once)");
		else
			mio_conn_close(conn);
		return;
	}
	c = client_new(m, conn, ctl);
	c->counted = 1;
	(*n)++;
}

/* The status socket, if it has a path. */
static int ctl_start(struct metrics *m, const struct config *cfg, const char **error_r)
{
	char path[256];
	int is_default, rc = metrics_socket_path(cfg, path, sizeof(path), &is_default, error_r);

	if (rc == 0)
		return 0;
	if (rc > 0)
		m->ctl = mio_listen_unix(m->mio, path, 0600, METRICS_CTL_CLIENTS, on_accept, m,
					 error_r);
	if (m->ctl != NULL) {
		m->socket_path = xstrdup(path);
		log_notice("metrics: status socket %s", path);
		return 0;
	}
	if (!is_default)
		return -1;
	log_warnx("metrics: no status socket beside the pid file (%s); set <metrics><socket> "
		  "to have one", *error_r);
	return 0;
}

/* The HTTP port, if one is given. */
static int http_start(struct metrics *m, const struct config *cfg, const char **error_r)
{
	const char *ip = config_get(cfg, "metrics.ip"), *port = config_get(cfg, "metrics.port");
	struct mio_listen_settings set = { 0 };
	char *end;
	long p;

	if (port == NULL || strcmp(port, "0") == 0)
		return 0;
	p = strtol(port, &end, 10);
	if (*end != '\0' || p < 1 || p > 65535) {
		*error_r = "<metrics><port> is not a port number";
		return -1;
	}
	set.ip = ip != NULL && ip[0] != '\0' ? ip : "127.0.0.1";
	set.port = (int)p;
	set.backlog = METRICS_CLIENTS;
	m->http = mio_listen(m->mio, &set, on_accept, m, error_r);
	if (m->http == NULL)
		return -1;
	log_notice("metrics: serving GET /metrics on %s:%d", set.ip, mio_listener_port(m->http));
	return 0;
}

int metrics_start(struct mio *mio, const struct config *cfg, const char *daemon,
		  metrics_render_cb *cb, void *ctx, struct metrics **out, const char **error_r)
{
	struct metrics *m = xcalloc(1, sizeof(*m));

	*out = NULL;
	m->mio = mio;
	m->cb = cb;
	m->ctx = ctx;
	snprintf(m->daemon, sizeof(m->daemon), "%s", daemon);
	clock_gettime(CLOCK_MONOTONIC, &m->started);
	if (http_start(m, cfg, error_r) < 0 || ctl_start(m, cfg, error_r) < 0) {
		metrics_free(&m);
		return -1;
	}
	*out = m;
	return 0;
}

int metrics_http_port(const struct metrics *m)
{
	return m->http != NULL ? mio_listener_port(m->http) : 0;
}

const char *metrics_socket(const struct metrics *m)
{
	return m->socket_path;
}

void metrics_free(struct metrics **mp)
{
	struct metrics *m = *mp;

	if (m == NULL)
		return;
	mio_listener_free(&m->http);
	mio_listener_free(&m->ctl);
	/* Closing runs on_close from the loop, which unlinks and frees each
	 * client; they must not reach a freed registry: detach them now. */
	while (m->clients != NULL) {
		struct metrics_client *c = m->clients;

		m->clients = c->next;
		mio_timer_free(&c->timer);
		c->next = c->prev = NULL;
		c->m = NULL;
		mio_conn_close(c->conn);
	}
	free(m->socket_path);
	free(m);
	*mp = NULL;
}

void metrics_common(struct buf *out, const struct metrics *m)
{
	const char *daemon = m->daemon;
	struct timespec now;
	char name[96];

	clock_gettime(CLOCK_MONOTONIC, &now);
	snprintf(name, sizeof(name), "jabberd_%s_uptime_seconds", daemon);
	metrics_head(out, name, "gauge", "Seconds since the daemon started.");
	metrics_sample_double(out, name, (double)(now.tv_sec - m->started.tv_sec) +
					 (double)(now.tv_nsec - m->started.tv_nsec) / 1e9);
	snprintf(name, sizeof(name), "jabberd_%s_open_sockets", daemon);
	metrics_one(out, name, "gauge",
		    "Sockets open on the daemon's loop (clients, peers, router link, this "
		    "request).",
		    mio_conn_count(m->mio));
	snprintf(name, sizeof(name), "jabberd_%s_metrics_scrapes_total", daemon);
	metrics_one(out, name, "counter", "Requests for /metrics answered.", m->scrapes);
	snprintf(name, sizeof(name), "jabberd_%s_status_requests_total", daemon);
	metrics_one(out, name, "counter", "Requests on the status socket answered.",
		    m->status_requests);
	snprintf(name, sizeof(name), "jabberd_%s_metrics_refused_total", daemon);
	metrics_one(out, name, "counter",
		    "Metrics and status clients refused at accept (too many at once).", m->refused);
}
