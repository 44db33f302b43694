/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_pep_caps: libFuzzer target for sm/pep_caps.c, the parsers of what
 * other entities send mod_pep for +notify filtering: the input is one
 * XML element; its <c/> is read as a presence's caps, and its disco#info
 * <query/> (the root or a child) hashed and searched for +notify
 * features.
 */
#include "config.h"
#include "sm/pep_caps.h"

#include <stddef.h>
#include <stdint.h>

#include "util/nad.h"
#include "util/xhash.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char ver[PEP_CAPS_VER_SIZE];
	const char *error, *v, *node;
	struct nad *nad = nad_parse((const char *)data, size, 32, &error, NULL);
	struct xhash *notify;
	int q;

	if (nad == NULL)
		return 0;
	(void)pep_caps_of_presence(nad, &v, &node);
	q = nad_child(nad, 0, PEP_NS_DISCO_INFO, "query");
	if (q == NAD_NONE)
		q = 0;
	(void)pep_caps_ver(nad, q, ver);
	notify = pep_caps_notify(nad, q);
	xhash_free(&notify);
	nad_free(&nad);
	return 0;
}
