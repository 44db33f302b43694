/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for cluster-mod/cluster_proto.c. The first byte of the
 * input is the link's negotiated version (0: before negotiation; versions
 * this build lacks must be refused too); the rest is a byte stream as TLS
 * would hand it to a link, scanned and decoded frame after frame until the
 * first rejection, as a link closes there. Every accepted frame must re-encode to
 * exactly the bytes it came from (the encoding is canonical), a rejection
 * must say why, and scan must never claim more bytes than it was given.
 */
#include "config.h"
#include "cluster-mod/cluster_proto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cluster_frame f;
	struct buf out = { 0 };
	const char *error;
	size_t off, flen;
	uint8_t version;
	enum cluster_scan r;

	if (size < 1)
		return 0;
	version = data[0];
	for (off = 1; off < size;) {
		error = NULL;
		flen = 0;
		r = cluster_frame_scan(data + off, size - off, &flen, &error);
		if (r == CLUSTER_SCAN_REJECT && (error == NULL || error[0] == '\0'))
			abort();
		if (r != CLUSTER_SCAN_FRAME)
			break;
		if (flen < CLUSTER_FRAME_HEADER_LEN || flen > size - off || flen > CLUSTER_FRAME_MAX)
			abort();
		if (cluster_frame_decode(data + off, flen, version, &f, &error) < 0) {
			if (error == NULL || error[0] == '\0' || f.type != 0)
				abort();
			break;  /* a link closes on the first bad frame */
		}
		buf_reset(&out);
		if (cluster_frame_encode(&f, &out, &error) < 0 || out.len != flen ||
		    memcmp(out.data, data + off, flen) != 0)
			abort();
		cluster_frame_clear(&f);
		off += flen;
	}
	buf_free(&out);
	return 0;
}
