/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cluster_route: a route's bytes with its start tag written anew and the
 * rest as it came, in place of serializing the whole route's tree again
 * after changing its attributes. Pure code. Used both ways:
 *
 *  - Sending (rule 7): the router keeps the bytes each route from the sm
 *    arrived as (sx_keep_raw, nad_raw); the module drops jc:node,
 *    jc:targets and from and frames the route's start tag rebuilt plus
 *    the sm's bytes after it.
 *  - Receiving (rule 3):
 * the receiving module parses every forwarded route (it must be one
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
 * `bytes` is the route as it came and `nad` what it parsed to, with every
 * attribute of its root as it must now be; `inherited_ns` is the default
 * namespace the bytes rely on from the stream they came on (nad_raw),
 * NULL if none (then the start tag must declare the route's). Appends
 * to `out` the bytes that
 * serializing `nad` would stand for, its start tag rebuilt from the
 * nad's attributes (every namespace declaration of the peer's start tag
 * kept, for the stanza may rely on them) and the peer's bytes after it,
 * and returns 0; or returns -1, `out` untouched, when the bytes do not
 * have the shape this relies on (then serialize the nad): a
 * <route> start tag, unprefixed, its namespace (the component
 * protocol's, whichever the stream speaks) declared on it or inherited,
 * not empty, first in the bytes, its attributes' values without
 * references, at most 32 namespace declarations.
 */
int cluster_route_bytes(const char *bytes, size_t len, const char *inherited_ns,
			const struct nad *nad, struct buf *out);

/* An attribute of the route's root by namespace (NULL: none) and name. */
struct cluster_route_attr {
	const char *ns;
	const char *name;
};

/*
 * The same, leaving out the root's attributes in `drop` (ended by a NULL
 * name; NULL: none), as if they had been removed from the nad first: the
 * sending module drops jc:node, jc:targets and from this way without
 * changing the nad, which would drop the bytes it holds (nad_raw) and
 * cost a copy of them.
 */
int cluster_route_bytes_as(const char *bytes, size_t len, const char *inherited_ns,
			   const struct nad *nad, const struct cluster_route_attr *drop,
			   struct buf *out);

/*
 * Direct delivery (docs/cluster-protocol.md): the route for a c2s that
 * the sm would have written for one of its sessions. The same as
 * cluster_route_bytes() (`nad`'s root attributes as they must now be:
 * to = the c2s, from = the sm), and the stanza's start tag gets
 * xmlns:jcs='SESS_NS' jcs:c2s='C2S_ID' jcs:sm='SM_ID'. Returns 0, or -1
 * with `out` untouched when the bytes are not that shape (one element
 * in the route) or the stanza's start tag already names a jcs prefix.
 */
int cluster_route_for_session(const char *bytes, size_t len, const char *inherited_ns,
			      const struct nad *nad, const char *sess_ns, const char *c2s_id,
			      const char *sm_id, struct buf *out);

#endif
