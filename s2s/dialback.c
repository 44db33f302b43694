/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dialback: the XEP-0220 key. A receiving server asks the authoritative
 * server whether a key it was given is right; every s2s of a domain must
 * compute the same key from the shared secret, the receiving domain and
 * the stream id, so we use jabberd2's derivation (compat spec section 7)
 * and a cluster can mix our s2s with jabberd2's.
 */
#include "config.h"
#include "s2s/s2s.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/hash.h"

int s2s_db_key(const char *secret, const char *remote, const char *stream_id,
	       char out[S2S_DB_KEY_SIZE])
{
	char step[HASH_SHA1_HEX_SIZE];
	char *joined;
	int r;

	out[0] = '\0';
	if (hash_sha1_hex(secret, strlen(secret), step) < 0)
		return -1;
	joined = xasprintf("%s%s", step, remote);
	r = hash_sha1_hex(joined, strlen(joined), step);
	free(joined);
	if (r < 0)
		return -1;
	joined = xasprintf("%s%s", step, stream_id);
	r = hash_sha1_hex(joined, strlen(joined), out);
	free(joined);
	return r;
}

int s2s_db_key_check(const char *secret, const char *remote, const char *stream_id,
		     const char *key)
{
	char want[S2S_DB_KEY_SIZE];

	if (key == NULL || s2s_db_key(secret, remote, stream_id, want) < 0)
		return 0;
	return hash_str_equal_ct(key, want);
}
