/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for util/jid.c: any byte string given to jid_new must
 * be refused with a message or give a JID within the limits whose
 * prepared form parses again to the same JID (stored JIDs must compare
 * equal when read back), and the part-wise and standalone preparation
 * paths must agree with it.
 */
#include "config.h"
#include "util/jid.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_roundtrip(const struct jid *jid)
{
	const char *full = jid_full(jid), *error = NULL;
	struct jid *again, *parts, *copy, *bare;
	char out[JID_PART_MAX + 1];

	if (strlen(full) > JID_MAX || strlen(jid_node(jid)) > JID_PART_MAX ||
	    strlen(jid_domain(jid)) > JID_PART_MAX ||
	    strlen(jid_resource(jid)) > JID_PART_MAX || jid_domain(jid)[0] == '\0')
		abort();
	again = jid_new(full, strlen(full), &error);
	if (again == NULL || !jid_equal(jid, again))
		abort();
	parts = jid_new_parts(jid_node(jid), jid_domain(jid), jid_resource(jid), &error);
	if (parts == NULL || !jid_equal(jid, parts))
		abort();
	copy = jid_copy(jid);
	bare = jid_copy_bare(jid);
	if (!jid_equal(jid, copy) || !jid_equal_bare(jid, bare) ||
	    strcmp(jid_full(bare), jid_bare(jid)) != 0)
		abort();
	if (jid_nameprep(jid_domain(jid), out, sizeof(out), &error) < 0 ||
	    strcmp(out, jid_domain(jid)) != 0)
		abort();
	jid_free(&again);
	jid_free(&parts);
	jid_free(&copy);
	jid_free(&bare);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *error = NULL;
	struct jid *jid = jid_new((const char *)data, size, &error);
	char out[JID_PART_MAX + 1];
	char *s;

	if (jid == NULL) {
		if (error == NULL || error[0] == '\0')
			abort();
	} else {
		check_roundtrip(jid);
		jid_free(&jid);
	}
	/* The standalone helpers on the same bytes as a C string. */
	s = xstrndup((const char *)data, size);
	(void)jid_nodeprep(s, out, sizeof(out), &error);
	(void)jid_resourceprep(s, out, sizeof(out), &error);
	if (jid_nameprep(s, out, sizeof(out), &error) == 0 && out[0] == '\0')
		abort();
	free(s);
	return 0;
}
