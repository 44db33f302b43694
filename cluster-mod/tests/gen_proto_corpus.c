/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gen_proto_corpus DIR: write one file per sample frame (proto_samples.c)
 * into DIR, encoded by cluster_frame_encode: the seed corpus of
 * cluster-mod/fuzz/fuzz_frame. Exit 1 if a sample does not encode.
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
	struct buf b = { 0 };
	size_t n, i;
	char *path;
	FILE *f;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	s = proto_samples(&n);
	for (i = 0; i < n; i++) {
		buf_reset(&b);
		if (cluster_frame_encode(&s[i].frame, &b, &error) < 0) {
			fprintf(stderr, "%s: %s\n", s[i].name, error);
			return 1;
		}
		path = xasprintf("%s/%s", argv[1], s[i].name);
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
