/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for cluster-mod/cluster_status.c, what the control
 * socket answers. The input's first line is a request line for the
 * parser; the next lines are the texts a report carries (the node's name,
 * a peer's name, its last error, its remote address), with any bytes,
 * and the rest gives the numbers. The JSON report must stay one line of
 * balanced, well-escaped JSON (no raw control byte, every string closed),
 * and every Prometheus sample line must keep its label quotes balanced
 * and end in a number.
 */
#include "config.h"
#include "cluster-mod/cluster_status.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The next '\n'-ended field of the input, as a C string in `out`. */
static const char *field(const uint8_t **p, const uint8_t *end, char *out, size_t outsize)
{
	const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t n = (size_t)((nl != NULL ? nl : end) - *p);

	if (n >= outsize)
		n = outsize - 1;
	memcpy(out, *p, n);
	out[n] = '\0';                  /* a NUL inside ends it sooner */
	*p = nl != NULL ? nl + 1 : end;
	return out;
}

static uint64_t number(const uint8_t **p, const uint8_t *end)
{
	uint64_t v = 0;

	for (int i = 0; i < 8 && *p < end; i++, (*p)++)
		v = v << 8 | **p;
	return v;
}

static void check_json(const struct buf *b)
{
	int depth = 0, in_str = 0;

	if (b->len == 0 || b->data[b->len - 1] != '\n')
		abort();
	for (size_t i = 0; i + 1 < b->len; i++) {
		unsigned char c = (unsigned char)b->data[i];

		if (c < 0x20)
			abort();
		if (in_str) {
			if (c == '\\') {
				if (i + 2 >= b->len || strchr("\"\\u", b->data[i + 1]) == NULL)
					abort();
				i++;
			} else if (c == '"') {
				in_str = 0;
			}
		} else if (c == '"') {
			in_str = 1;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (--depth < 0)
				abort();
		}
	}
	if (in_str || depth != 0)
		abort();
}

static void check_metrics(struct buf *b)
{
	char *save = NULL;

	for (char *line = strtok_r(b->data, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char *p = line, *end;

		if (line[0] == '#')
			continue;
		p = strchr(line, '{');
		if (p != NULL) {
			int in_str = 0;

			for (p++; *p != '\0' && (in_str || *p != '}'); p++) {
				if (in_str && *p == '\\')
					p++;
				else if (*p == '"')
					in_str = !in_str;
				if (*p == '\0')
					abort();
			}
			if (*p != '}')
				abort();
			p++;
		} else {
			p = strchr(line, ' ');
			if (p == NULL)
				abort();
		}
		if (*p != ' ')
			abort();
		strtod(p + 1, &end);
		if (end == p + 1 || *end != '\0')
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size, *nl;
	char node[80], name[80], error[200], remote[80];
	struct cluster_status_peer peer = { 0 };
	struct cluster_status st = { 0 };
	struct buf b = { 0 };

	nl = memchr(data, '\n', size);
	cluster_control_parse((const char *)data, (size_t)((nl != NULL ? nl : end) - data));
	p = nl != NULL ? nl + 1 : end;
	st.node = field(&p, end, node, sizeof(node));
	peer.link.name = field(&p, end, name, sizeof(name));
	peer.link.last_error = field(&p, end, error, sizeof(error));
	peer.link.remote = field(&p, end, remote, sizeof(remote));
	peer.link.ip = "127.0.0.3";
	peer.link.state = (enum cluster_link_state)(number(&p, end) % 3);
	peer.open = peer.link.state == CLUSTER_LINK_UP && (number(&p, end) & 1);
	peer.rtt_us = number(&p, end);
	peer.link.bytes_in = number(&p, end);
	peer.link.up_since = (time_t)(number(&p, end) & 0xffffffff);
	st.profile = "lan";
	st.npeers = 1;
	st.peers = &peer;
	st.now = (time_t)(number(&p, end) & 0xffffffff);
	st.refusals[0] = number(&p, end);
	st.router.routed = number(&p, end);

	cluster_status_text(&st, &b);
	buf_reset(&b);
	cluster_status_json(&st, &b);
	check_json(&b);
	buf_reset(&b);
	cluster_status_metrics(&st, &b);
	check_metrics(&b);
	buf_free(&b);
	return 0;
}
