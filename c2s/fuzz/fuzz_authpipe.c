/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_authpipe: what the pipe authreg backend parses from the site's
 * program (c2s/authreg_pipe.c): its first line (capabilities), a reply
 * line (OK [data] / NO), and a base64 password. A password that decodes
 * must survive encoding and decoding again unchanged.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "c2s/authreg.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = xstrndup((const char *)data, size), *pw, *enc, *again;
	const char *rest = NULL;
	unsigned caps = authreg_pipe_caps(line);

	if (caps != 0 && strncmp(line, "OK", 2) != 0)
		abort();
	if (authreg_pipe_reply(line, &rest) == 0 && rest != NULL &&
	    (pw = authreg_pipe_b64_decode(rest)) != NULL) {
		enc = authreg_pipe_b64_encode(pw);
		again = authreg_pipe_b64_decode(enc);
		if (again == NULL || strcmp(again, pw) != 0)
			abort();
		free(again);
		free(enc);
		free(pw);
	}
	free(line);
	return 0;
}
