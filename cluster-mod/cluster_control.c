/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cluster_control.c: the control socket (cluster_control.h) on the
 * router's mio loop. The reports themselves are cluster_status.c's.
 */
#include "config.h"
#include "cluster-mod/cluster_control.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mio/mio.h"
#include "util/buf.h"
#include "util/list.h"
#include "util/log.h"

struct client {
	struct cluster_control *cc;     /* NULL once the socket is freed */
	struct mio_conn *conn;
	struct buf in;
	struct mio_timer *deadline;     /* the whole request, from accept */
	int answered;                   /* response queued, closing */
	int counted;                    /* one of the nclients */
	struct list_node node;
};

struct cluster_control {
	struct mio *mio;
	struct mio_listener *listener;
	cluster_control_report_cb *report;
	void *ctx;
	int nclients;
	struct list_node clients;
};

/* Queue `text` as the whole response and close once it is written (or
 * after the timeout, for a client that does not read). */
static void client_answer(struct client *cl, const char *text, size_t len)
{
	cl->answered = 1;
	mio_conn_pause_read(cl->conn);
	mio_conn_write(cl->conn, text, len);
	mio_conn_shutdown(cl->conn, CLUSTER_CONTROL_TIMEOUT_MS);
}

static void client_request(struct client *cl, const char *line, size_t len)
{
	enum cluster_control_request req = cluster_control_parse(line, len);
	struct buf out = { 0 };

	if (req == CLUSTER_REQ_INVALID) {
		static const char msg[] =
			"error: unknown request (status, status json, metrics)\n";

		client_answer(cl, msg, sizeof(msg) - 1);
		return;
	}
	cl->cc->report(req, &out, cl->cc->ctx);
	client_answer(cl, out.data != NULL ? out.data : "", out.len);
	buf_free(&out);
}

static void client_on_read(struct mio_conn *conn, const void *data, size_t len, void *ctx)
{
	struct client *cl = ctx;
	const char *nl;

	(void)conn;
	if (cl->answered || cl->cc == NULL)
		return;
	/* Keep no more than the bound (and the byte after it, to tell). */
	if (len > CLUSTER_CONTROL_MAX_REQUEST + 1 - cl->in.len)
		len = CLUSTER_CONTROL_MAX_REQUEST + 1 - cl->in.len;
	buf_append(&cl->in, data, len);
	nl = memchr(cl->in.data, '\n', cl->in.len);
	if (nl != NULL && (size_t)(nl - cl->in.data) <= CLUSTER_CONTROL_MAX_REQUEST) {
		client_request(cl, cl->in.data, (size_t)(nl - cl->in.data));
		return;
	}
	if (cl->in.len > CLUSTER_CONTROL_MAX_REQUEST) {
		static const char msg[] = "error: request line longer than 256 bytes\n";

		static_assert(CLUSTER_CONTROL_MAX_REQUEST == 256, "the message says 256");
		client_answer(cl, msg, sizeof(msg) - 1);
	}
}

/* No complete request line within the time, even one sent byte by byte:
 * closed, so that a slow client holds no slot for long. */
static void client_deadline(struct mio_timer *timer, void *ctx)
{
	struct client *cl = ctx;

	(void)timer;
	if (cl->answered)
		return;         /* mio_conn_shutdown's own timeout applies */
	log_debug("cluster: control client gave no request in %d ms, closed",
		  CLUSTER_CONTROL_TIMEOUT_MS);
	mio_conn_close(cl->conn);
}

static void client_on_close(struct mio_conn *conn, const char *reason, void *ctx)
{
	struct client *cl = ctx;

	(void)conn;
	(void)reason;
	mio_timer_free(&cl->deadline);
	if (cl->cc != NULL) {
		if (cl->counted)
			cl->cc->nclients--;
		list_remove(&cl->node);
	}
	buf_free(&cl->in);
	free(cl);
}

static const struct mio_conn_callbacks client_cb = {
	.on_read = client_on_read,
	.on_close = client_on_close,
};

static void control_accept(struct mio_listener *listener, struct mio_conn *conn,
			   const char *peer_ip, int peer_port, void *ctx)
{
	struct cluster_control *cc = ctx;
	struct client *cl = xcalloc(1, sizeof(*cl));

	(void)listener;
	(void)peer_ip;
	(void)peer_port;
	cl->cc = cc;
	cl->conn = conn;
	list_add_tail(&cc->clients, &cl->node);
	mio_conn_setup(conn, &client_cb, cl);
	cl->deadline = mio_timer_new(cc->mio, client_deadline, cl);
	mio_timer_start(cl->deadline, CLUSTER_CONTROL_TIMEOUT_MS, 0);
	if (cc->nclients >= CLUSTER_CONTROL_MAX_CLIENTS) {
		static const char msg[] = "error: busy (too many control clients)\n";

		log_notice("cluster: control socket: %d clients already, one refused",
			   cc->nclients);
		client_answer(cl, msg, sizeof(msg) - 1);
		return;
	}
	cl->counted = 1;
	cc->nclients++;
}

struct cluster_control *cluster_control_new(struct mio *mio, const char *path,
					    cluster_control_report_cb *report, void *ctx,
					    const char **error_r)
{
	struct cluster_control *cc = xcalloc(1, sizeof(*cc));

	cc->mio = mio;
	cc->report = report;
	cc->ctx = ctx;
	list_init(&cc->clients);
	cc->listener = mio_listen_unix(mio, path, 0600, 16, control_accept, cc, error_r);
	if (cc->listener == NULL) {
		free(cc);
		return NULL;
	}
	log_info("cluster: control socket %s", path);
	return cc;
}

void cluster_control_free(struct cluster_control **ccp)
{
	struct cluster_control *cc = *ccp;
	struct client *cl, *tmp;

	if (cc == NULL)
		return;
	/* on_close runs later, from the loop: orphan the clients so that it
	 * only frees them. */
	LIST_FOREACH_SAFE(cl, tmp, &cc->clients, struct client, node) {
		cl->cc = NULL;
		mio_timer_free(&cl->deadline);
		list_remove(&cl->node);
		mio_conn_close(cl->conn);
	}
	mio_listener_free(&cc->listener);
	free(cc);
	*ccp = NULL;
}
