/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cluster_control: the cluster module's control socket, a unix stream
 * socket on the router's loop that `jabberd-cluster` (and monitoring)
 * asks for this node's status. One request line, one response, then the
 * server closes:
 *
 *	status          the report for people (cluster_status_text)
 *	status json     the same as one JSON object (cluster_status_json)
 *	metrics         Prometheus text format (cluster_status_metrics)
 *
 * Anything else is answered "error: ..." in one line. The socket is made
 * 0600, owned by the router's user; its path is cluster_control_path()'s
 * (cluster_config.h). Bounds: a request line of at most
 * CLUSTER_CONTROL_MAX_REQUEST bytes, CLUSTER_CONTROL_MAX_CLIENTS at once
 * (more are answered "error: busy" and closed), a client that has not
 * sent its line within CLUSTER_CONTROL_TIMEOUT_MS is closed, and one that
 * does not read its response is cut after the same time. Nothing here
 * blocks the loop.
 */
#ifndef CLUSTER_MOD_CLUSTER_CONTROL_H
#define CLUSTER_MOD_CLUSTER_CONTROL_H

#include <stddef.h>

#include "cluster-mod/cluster_status.h"

struct mio;
struct cluster_control;

#define CLUSTER_CONTROL_MAX_CLIENTS 16
#define CLUSTER_CONTROL_TIMEOUT_MS 2000

/* Called at each request: append the report of kind `req` to `out`. */
typedef void cluster_control_report_cb(enum cluster_control_request req, struct buf *out,
				       void *ctx);

/* Listen on `path`. Returns NULL with *error_r (valid until the next mio
 * call) if the socket cannot be made. */
struct cluster_control *cluster_control_new(struct mio *mio, const char *path,
					    cluster_control_report_cb *report, void *ctx,
					    const char **error_r);

/* Close the socket (its file is removed) and every client. NULLs *ccp. */
void cluster_control_free(struct cluster_control **ccp);

#endif
