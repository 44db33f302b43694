/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for cluster_route_bytes (cluster-mod/cluster_route.c):
 * whatever parses (as the receiving module parses a peer's route) gets
 * the attributes the module sets for its sm; when cluster_route_bytes
 * takes it, the bytes it wrote must parse to the same tree as the nad
 * they stand for (they go to the sm instead of that nad serialized).
 * The first input byte picks the targets' value (plain, or with
 * characters that need escaping). The sending side too: the bytes
 * cluster_route_bytes_as writes leaving out jc:node, jc:targets and from
 * must parse to the tree with those removed. And direct delivery: the
 * bytes cluster_route_for_session writes must parse to the tree the sm
 * would have sent the c2s (the stanza with the session attributes).
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluster-mod/cluster_route.h"
#include "util/tests/nad_same.h"
#include "util/buf.h"
#include "util/nad.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SESSION_NS "urn:jabberd-cluster:session"

/* rc and out as a cluster_route_* call left them: taken, the bytes must
 * parse to the tree `want`; refused, nothing may have been written. */
static void check(int rc, const struct buf *out, const struct nad *want)
{
	const char *err = NULL;
	struct nad *got;

	if (rc != 0) {
		if (out->len != 0)
			abort();
		return;
	}
	got = nad_parse(out->data, out->len, 64, &err, NULL);
	if (got == NULL || !nad_same(want, 0, got, 0))
		abort();
	nad_free(&got);
}

/* What forward_from_sm (cluster_local.c) does with the sm's route. */
static int send_side(const uint8_t *data, size_t size)
{
	static const struct cluster_route_attr drop[] = {
		{ SESSION_NS, "node" }, { SESSION_NS, "targets" }, { NULL, "from" }, { NULL, NULL },
	};
	const char *err = NULL;
	struct buf out = { 0 };
	struct nad *nad = nad_parse((const char *)data + 1, size - 1, 64, &err, NULL);
	int rc;

	if (nad == NULL)
		return 0;
	rc = cluster_route_bytes_as((const char *)data + 1, size - 1, NULL, nad, drop, &out);
	nad_attr_set(nad, 0, SESSION_NS, "node", NULL);
	nad_attr_set(nad, 0, SESSION_NS, "targets", NULL);
	nad_attr_set(nad, 0, NULL, "from", NULL);
	check(rc, &out, nad);
	buf_free(&out);
	nad_free(&nad);
	return 0;
}

#define C2S_SESSION_NS "http://jabberd.jabberstudio.org/ns/session/1.0"

/* What direct_deliver (cluster_local.c) does with a peer's route. */
static int direct_side(const uint8_t *data, size_t size)
{
	static const char *const ids[][2] = { { "12", "ab" }, { "' \"&<>\t", "\r\n/>" } };
	const char *err = NULL, *cid = ids[data[0] & 1][0], *sid = ids[data[0] & 1][1];
	struct buf out = { 0 };
	struct nad *nad = nad_parse((const char *)data + 1, size - 1, 64, &err, NULL);
	int p, rc;

	if (nad == NULL)
		return 0;
	p = nad_child(nad, 0, NULL, NULL);
	nad_attr_set(nad, 0, NULL, "to", "c2s");
	nad_attr_set(nad, 0, NULL, "from", "sm");
	if (p != NAD_NONE) {
		nad_attr_set_prefixed(nad, p, C2S_SESSION_NS, "jcs", "c2s", cid);
		nad_attr_set_prefixed(nad, p, C2S_SESSION_NS, "jcs", "sm", sid);
	}
	rc = cluster_route_for_session((const char *)data + 1, size - 1, NULL, nad,
				       C2S_SESSION_NS, cid, sid, &out);
	if (rc == 0 && p == NAD_NONE)
		abort();        /* nothing to give the session attributes */
	check(rc, &out, nad);
	buf_free(&out);
	nad_free(&nad);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const targets[] = { "b@example.com/r", "b@x/' \"&<>\t\r\n" };
	const char *err = NULL;
	struct buf out = { 0 };
	struct nad *nad;

	if (size < 1)
		return 0;
	nad = nad_parse((const char *)data + 1, size - 1, 64, &err, NULL);
	if (nad == NULL)
		return 0;
	nad_attr_set(nad, 0, NULL, "from", "example.com");
	nad_attr_set(nad, 0, NULL, "to", "sm");
	nad_attr_set_prefixed(nad, 0, "urn:jabberd-cluster:session", "jc", "from-node", "n1");
	nad_attr_set_prefixed(nad, 0, "urn:jabberd-cluster:session", "jc", "targets",
			      targets[data[0] & 1]);
	check(cluster_route_bytes((const char *)data + 1, size - 1, NULL, nad, &out), &out, nad);
	buf_free(&out);
	nad_free(&nad);
	send_side(data, size);
	return direct_side(data, size);
}
