/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for what xmpp-bench reads from a server: the stream
 * state machine (conn.c, over expat) and the SCRAM server messages
 * (scram.c). The first byte picks STARTTLS on or off and PLAIN or
 * SCRAM-SHA-1; the rest is fed in chunks cut at each 0xff byte, with a
 * STARTTLS switch between chunks as net.c does it. Whatever arrives, the
 * stream must end failed with a reason at most once, or keep going; the
 * same bytes as a SCRAM server-first or server-final must be refused or
 * accepted without reading out of bounds.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bench/xmpp-bench/xb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int tls_wanted, failed_calls;
static size_t written;

static void f_write(struct xb_conn *c, const char *d, size_t n)
{
	written += n;
}
static void f_starttls(struct xb_conn *c) { tls_wanted = 1; }
static void f_ready(struct xb_conn *c) {}
static void f_stanza(struct xb_conn *c, const struct xb_stanza *st)
{
	if (strlen(st->body) >= sizeof st->body ||
	    strlen(st->from) >= sizeof st->from)
		abort();
}
static void f_failed(struct xb_conn *c)
{
	failed_calls++;
	if (c->state == XS_FAILED && c->error == NULL)
		abort();
}

static const struct xb_io fio = {f_write, f_starttls};
static const struct xb_events fev = {f_ready, f_stanza, f_failed, NULL};

static void stream(const uint8_t *data, size_t size)
{
	char *argv[] = {"login", "--mech", "PLAIN", "--no-tls"};
	struct xb_opts o;
	struct xb_conn c;
	const char *err;

	if (size < 1)
		return;
	if (xb_opts_parse(&o, (data[0] & 1) ? 4 : 3, argv, &err) < 0)
		abort();
	if (data[0] & 2)
		o.mech = XB_MECH_SCRAM_SHA1;
	tls_wanted = failed_calls = 0;
	written = 0;
	xb_conn_init(&c, &o, &fio, &fev, 1, 1);
	xb_conn_connected(&c);
	for (size_t i = 1; i < size;) {
		const uint8_t *cut = memchr(data + i, 0xff, size - i);
		size_t n = cut ? (size_t)(cut - (data + i)) : size - i;

		xb_conn_input(&c, (const char *)data + i, n);
		if (tls_wanted && c.state == XS_TLS) {
			tls_wanted = 0;
			xb_conn_tls_up(&c);
		}
		i += n + 1;
	}
	if (failed_calls > 1 || (c.state == XS_FAILED && failed_calls != 1))
		abort();
	xb_conn_cleanup(&c);
}

static void scram(const uint8_t *data, size_t size)
{
	char msg[1024], out[1024];
	struct xb_scram s;
	const char *err = NULL;

	if (size >= sizeof msg)
		return;
	memcpy(msg, data, size);
	msg[size] = '\0';
	xb_scram_first(&s, "u1", "abcdef", out, sizeof out);
	if (xb_scram_final(&s, "pw", msg, out, sizeof out, &err) < 0 &&
	    err == NULL)
		abort();
	err = NULL;
	if (xb_scram_verify(&s, msg, &err) < 0 && err == NULL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	stream(data, size);
	scram(data, size);
	return 0;
}
