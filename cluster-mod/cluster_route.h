/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cluster_route: a peer's forwarded route, as the bytes the local sm gets
 * (docs/cluster-protocol.md "The module and its sm", rule 3), without
 * serializing the route's tree again. Pure code.
 *
 * The receiving module parses every forwarded route (it must be one
 * well-formed element before it goes near the sm's stream), then gives
 * it to its router as a nad whose attributes say to=S, from=the domain,
 * jc:from-node and jc:targets. The router would serialize that whole
 * nad for the sm; instead the module attaches the bytes the sm must get
 * (nad_raw_set, util/nad.h), which sx_send() writes as they are: the
 * route's start tag written anew, then the peer's bytes after it (the
 * stanza) unchanged. Any change the router makes to the nad on the way
 * (a filter) drops them, and the tree is serialized as before.
 */
#ifndef CLUSTER_MOD_CLUSTER_ROUTE_H
#define CLUSTER_MOD_CLUSTER_ROUTE_H

#include <stddef.h>

struct buf;
struct nad;

/*
 * `bytes` is the route as the peer sent it and `nad` what it parsed to,
 * with every attribute of its root as the sm must get it (to, from,
 * jc:from-node, jc:targets set). Appends to `out` the bytes that
 * serializing `nad` would stand for, its start tag rebuilt from the
 * nad's attributes (every namespace declaration of the peer's start tag
 * kept, for the stanza may rely on them) and the peer's bytes after it,
 * and returns 0; or returns -1, `out` untouched, when the bytes do not
 * have the shape this relies on (then serialize the nad): a
 * <route xmlns='jabber:component:accept' ...> start tag, unprefixed, not
 * empty, first in the bytes, its attributes' values without references,
 * at most 32 attributes.
 */
int cluster_route_bytes(const char *bytes, size_t len, const struct nad *nad,
			struct buf *out);

#endif
