/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gen_proto_corpus DIR: write the seed corpus of cluster-mod/fuzz/fuzz_frame
 * into DIR: one file per sample frame (proto_samples.c) encoded by
 * cluster_frame_encode, each after the byte that tells the target the
 * link's version (the frame's own header version, so pre-negotiation
 * frames are seeded as such), and one file "stream" with every sample
 * back to back on a negotiated link. Exit 1 if a sample does not encode.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "cluster-mod/cluster_proto.h"
#include "cluster-mod/tests/proto_samples.h"
#include "util/buf.h"

int main(int argc, char **argv)
{
	const struct proto_sample *s;
	const char *error = NULL;
	struct buf b = { 0 }, all = { 0 };
	size_t n, i;
	char *path;
	FILE *f;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	s = proto_samples(&n);
	buf_append_char(&all, (char)CLUSTER_PROTO_VERSION_MAX);
	for (i = 0; i <= n; i++) {
		if (i < n) {
			buf_reset(&b);
			buf_append_char(&b, (char)s[i].frame.version);
			if (cluster_frame_encode(&s[i].frame, &b, &error) < 0) {
				fprintf(stderr, "%s: %s\n", s[i].name, error);
				return 1;
			}
			buf_append(&all, b.data + 1, b.len - 1);
		}
		path = xasprintf("%s/%s", argv[1], i < n ? s[i].name : "stream");
		if (i == n) {
			buf_free(&b);
			b = all;        /* freed below */
		}
		if ((f = fopen(path, "wb")) == NULL || fwrite(b.data, 1, b.len, f) != b.len ||
		    fclose(f) != 0) {
			perror(path);
			return 1;
		}
		free(path);
	}
	buf_free(&b);
	return 0;
}
