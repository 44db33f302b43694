/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_password: the "$scram$" parser (c2s/authreg_password.c) on any
 * text a password column may hold. A string that parses must format back
 * to itself (the format has one spelling) and parse again the same.
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
	struct authreg_scram s, s2;
	const char *error;
	char *text = xstrndup((const char *)data, size), *out;

	if (authreg_pw_parse(text, &s, &error) == 0) {
		out = authreg_pw_format(&s);
		if (strcmp(out, text) != 0 || authreg_pw_parse(out, &s2, &error) != 0 ||
		    memcmp(&s, &s2, sizeof(s)) != 0)
			abort();
		free(out);
	}
	free(text);
	return 0;
}
