/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: bytes from a remote server into an incoming s2s
 * stream (s2s/in.c on top of sx): stream headers, dialback results and
 * verifies (which start outgoing verify streams, failed here at once),
 * stanzas from verified or unverified domains. Whatever the peer sends,
 * the engine must neither crash nor leak.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "s2s/s2s.h"
#include "util/log.h"
#include "util/nad.h"

#define MAX_PENDING 64

static struct s2s_conn *pending[MAX_PENDING];
static int npending;
static int transport;

static void f_connect(struct s2s *s2s, struct s2s_conn *conn, const char *domain, void *host)
{
	if (npending < MAX_PENDING)
		pending[npending++] = conn;
}

static void f_to_router(struct s2s *s2s, struct nad *route, void *host)
{
	nad_free(&route);
}

static void f_write(struct s2s *s2s, struct s2s_conn *conn, const void *data, size_t len,
		    void *host)
{
}

static void f_close(struct s2s *s2s, struct s2s_conn *conn, void *host)
{
}

static const struct s2s_ops ops = {
	.connect = f_connect,
	.to_router = f_to_router,
	.write = f_write,
	.close = f_close,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct s2s_settings set = { 0 };
	struct s2s *s2s;
	struct s2s_conn *c;
	size_t half = size / 2;
	int i;

	log_set_debug(0);
	set.id = "s2s";
	set.secret = "fuzz-secret";
	s2s = s2s_new(&set, &ops, NULL);
	c = s2s_conn_accepted(s2s, &transport);
	/* Two reads, so state carries across calls. */
	s2s_conn_input(c, data, half);
	s2s_flush(s2s);
	/* Verify streams we asked for cannot be reached. */
	for (i = 0; i < npending; i++)
		s2s_conn_failed(pending[i], i & 1, "fuzz");
	npending = 0;
	s2s_conn_input(c, data + half, size - half);
	s2s_flush(s2s);
	for (i = 0; i < npending; i++)
		s2s_conn_failed(pending[i], 0, "fuzz");
	npending = 0;
	s2s_check(s2s);
	s2s_conn_gone(c, "fuzz");
	s2s_free(&s2s);
	return 0;
}
