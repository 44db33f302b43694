/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * server.c: the metrics port on the daemon's mio loop (metrics.h): accept,
 * read one bounded request, answer, close.
 */
#include "config.h"
#include "metrics/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mio/mio.h"
#include "util/buf.h"
#include "util/config_file.h"
#include "util/log.h"

struct metrics_client {
	struct metrics_http *m;
	struct mio_conn *conn;
	struct mio_timer *timer;
	struct metrics_client *next, *prev;
	size_t len;
	int answered;
	char data[METRICS_REQ_MAX];
};

struct metrics_http {
	struct mio *mio;
	struct mio_listener *listener;
	metrics_render_cb *cb;
	void *ctx;
	struct metrics_client *clients;
	unsigned nclients;
	uint64_t scrapes, refused;
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
	mio_conn_write(c->conn, out.data, out.len);
	buf_free(&out);
	c->answered = 1;
	mio_conn_shutdown(c->conn, 2000);
}

static void client_on_read(struct mio_conn *conn, const void *data, size_t len, void *ctx)
{
	struct metrics_client *c = ctx;
	struct metrics_req req;
	size_t take;
	long rc;

	(void)conn;
	if (c->answered)
		return;         /* a body, or a second request: not read */
	take = len < sizeof(c->data) - c->len ? len : sizeof(c->data) - c->len;
	memcpy(c->data + c->len, data, take);
	c->len += take;
	rc = metrics_http_parse(c->data, c->len, &req);
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
	{
		struct buf body = { 0 };

		c->m->scrapes++;
		c->m->cb(&body, c->m->ctx);
		if (body.data == NULL)
			buf_append_str(&body, "");
		answer(c, 200, req.method == METRICS_HEAD, &body);
		buf_free(&body);
	}
}

static void client_on_close(struct mio_conn *conn, const char *reason, void *ctx)
{
	struct metrics_client *c = ctx;
	struct metrics_http *m = c->m;

	(void)conn;
	(void)reason;
	mio_timer_free(&c->timer);
	if (m == NULL) {        /* the server is gone (metrics_http_free) */
		free(c);
		return;
	}
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		m->clients = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	m->nclients--;
	free(c);
}

/* The whole request must arrive within METRICS_TIMEOUT_MS of accept. */
static void client_timeout(struct mio_timer *t, void *ctx)
{
	struct metrics_client *c = ctx;

	(void)t;
	if (!c->answered)
		answer(c, 408, 0, NULL);
	else
		mio_conn_close(c->conn);
}

static void on_accept(struct mio_listener *l, struct mio_conn *conn, const char *ip, int port,
		      void *ctx)
{
	static const struct mio_conn_callbacks cbs = {
		.on_read = client_on_read,
		.on_close = client_on_close,
	};
	struct metrics_http *m = ctx;
	struct metrics_client *c;

	(void)l;
	(void)ip;
	(void)port;
	if (m->nclients >= METRICS_CLIENTS) {
		m->refused++;
		mio_conn_close(conn);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->m = m;
	c->conn = conn;
	c->next = m->clients;
	if (c->next != NULL)
		c->next->prev = c;
	m->clients = c;
	m->nclients++;
	mio_conn_setup(conn, &cbs, c);
	c->timer = mio_timer_new(m->mio, client_timeout, c);
	mio_timer_start(c->timer, METRICS_TIMEOUT_MS, 0);
}

int metrics_http_start(struct mio *mio, const struct config *cfg, metrics_render_cb *cb,
		       void *ctx, struct metrics_http **out, const char **error_r)
{
	const char *ip = config_get(cfg, "metrics.ip"), *port = config_get(cfg, "metrics.port");
	struct mio_listen_settings set = { 0 };
	struct metrics_http *m;
	char *end;
	long p;

	*out = NULL;
	if (port == NULL || strcmp(port, "0") == 0)
		return 0;
	p = strtol(port, &end, 10);
	if (*end != '\0' || p < 1 || p > 65535) {
		*error_r = "<metrics><port> is not a port number";
		return -1;
	}
	m = xcalloc(1, sizeof(*m));
	m->mio = mio;
	m->cb = cb;
	m->ctx = ctx;
	clock_gettime(CLOCK_MONOTONIC, &m->started);
	set.ip = ip != NULL && ip[0] != '\0' ? ip : "127.0.0.1";
	set.port = (int)p;
	set.backlog = METRICS_CLIENTS;
	m->listener = mio_listen(mio, &set, on_accept, m, error_r);
	if (m->listener == NULL) {
		free(m);
		return -1;
	}
	log_notice("metrics: serving GET /metrics on %s:%d", set.ip, mio_listener_port(m->listener));
	*out = m;
	return 0;
}

int metrics_http_port(const struct metrics_http *m)
{
	return mio_listener_port(m->listener);
}

void metrics_http_free(struct metrics_http **mp)
{
	struct metrics_http *m = *mp;

	if (m == NULL)
		return;
	mio_listener_free(&m->listener);
	/* Closing runs on_close from the loop, which unlinks and frees each
	 * client; they must not reach a freed server: detach them now. */
	while (m->clients != NULL) {
		struct metrics_client *c = m->clients;

		m->clients = c->next;
		mio_timer_free(&c->timer);
		c->next = c->prev = NULL;
		c->m = NULL;
		mio_conn_close(c->conn);
	}
	free(m);
	*mp = NULL;
}

void metrics_common(struct buf *out, const struct metrics_http *m, const char *daemon)
{
	struct timespec now;
	char name[96];

	clock_gettime(CLOCK_MONOTONIC, &now);
	snprintf(name, sizeof(name), "jabberd_%s_uptime_seconds", daemon);
	metrics_head(out, name, "gauge", "Seconds since the daemon started serving metrics.");
	metrics_sample_double(out, name, (double)(now.tv_sec - m->started.tv_sec) +
					 (double)(now.tv_nsec - m->started.tv_nsec) / 1e9);
	snprintf(name, sizeof(name), "jabberd_%s_open_sockets", daemon);
	metrics_one(out, name, "gauge",
		    "Sockets open on the daemon's loop (clients, peers, router link, this scrape).",
		    mio_conn_count(m->mio));
	snprintf(name, sizeof(name), "jabberd_%s_metrics_scrapes_total", daemon);
	metrics_one(out, name, "counter", "Requests for /metrics answered.", m->scrapes);
	snprintf(name, sizeof(name), "jabberd_%s_metrics_refused_total", daemon);
	metrics_one(out, name, "counter",
		    "Metrics connections closed at accept (too many at once).", m->refused);
}
