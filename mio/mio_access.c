/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mio_access.c: jabberd2's io.access allow/deny lists, and the address
 * normalisation the listeners share. Peers are matched on their address
 * with IPv4-mapped IPv6 (::ffff:a.b.c.d, what a dual-stack "::" listener
 * reports for IPv4 clients) turned back into IPv4, so one IPv4 rule covers
 * a client however it arrived.
 */
#include "config.h"
#include "mio/mio.h"

#include <stdlib.h>
#include <string.h>

#include "mio/mio_private.h"
#include "util/buf.h"

struct mio_access_rule {
	int allow;
	struct mio_addr addr;   /* as written: a mapped address stays IPv6 */
	unsigned int prefix;    /* bits that must match */
};

struct mio_access {
	enum mio_access_order order;
	struct mio_access_rule *rules;
	size_t nrules;
};

static const uint8_t mio_v4mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

int mio_addr_from_sockaddr(struct mio_addr *addr, const struct sockaddr *sa)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;

	memset(addr, 0, sizeof(*addr));
	if (sa->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)sa;
		addr->family = AF_INET;
		memcpy(addr->bytes, &sin->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family != AF_INET6)
		return -1;
	sin6 = (const struct sockaddr_in6 *)sa;
	if (memcmp(sin6->sin6_addr.s6_addr, mio_v4mapped_prefix, 12) == 0) {
		addr->family = AF_INET;
		memcpy(addr->bytes, sin6->sin6_addr.s6_addr + 12, 4);
	} else {
		addr->family = AF_INET6;
		memcpy(addr->bytes, sin6->sin6_addr.s6_addr, 16);
	}
	return 0;
}

void mio_addr_format(const struct sockaddr *sa, char *ip, size_t iplen,
		     int *port_r)
{
	struct mio_addr addr;

	ip[0] = '\0';
	*port_r = 0;
	if (mio_addr_from_sockaddr(&addr, sa) < 0)
		return;
	inet_ntop(addr.family, addr.bytes, ip, (socklen_t)iplen);
	if (sa->sa_family == AF_INET)
		*port_r = ntohs(((const struct sockaddr_in *)sa)->sin_port);
	else
		*port_r = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
}

/* Parse a numeric address without normalising it. */
static int mio_addr_parse(struct mio_addr *addr, const char *ip)
{
	memset(addr, 0, sizeof(*addr));
	if (ip == NULL)
		return -1;
	if (inet_pton(AF_INET, ip, addr->bytes) == 1) {
		addr->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, ip, addr->bytes) == 1) {
		addr->family = AF_INET6;
		return 0;
	}
	return -1;
}

/* A dotted IPv4 netmask to its prefix length; -1 if not contiguous. */
static int mio_netmask_bits(const char *mask)
{
	struct in_addr in;
	uint32_t m;
	int bits = 0;

	if (inet_pton(AF_INET, mask, &in) != 1)
		return -1;
	m = ntohl(in.s_addr);
	while (bits < 32 && (m & (UINT32_C(1) << (31 - bits))) != 0)
		bits++;
	if (bits < 32 && (m << bits) != 0)
		return -1;
	return bits;
}

static int mio_mask_parse(const char *mask, int family, unsigned int *prefix_r,
			  const char **error_r)
{
	unsigned int max = family == AF_INET ? 32 : 128;
	char *end;
	unsigned long n;
	int bits;

	if (mask == NULL) {
		*prefix_r = max;
		return 0;
	}
	if (mask[0] >= '0' && mask[0] <= '9' && strchr(mask, '.') == NULL) {
		n = strtoul(mask, &end, 10);
		if (*end != '\0' || n > max) {
			*error_r = "mask: prefix length out of range";
			return -1;
		}
		*prefix_r = (unsigned int)n;
		return 0;
	}
	bits = mio_netmask_bits(mask);
	if (bits < 0) {
		*error_r = "mask: not a prefix length or contiguous netmask";
		return -1;
	}
	if (family == AF_INET6 && bits != 32) {
		*error_r = "mask: an IPv6 rule needs a prefix length";
		return -1;
	}
	*prefix_r = family == AF_INET6 ? 128 : (unsigned int)bits;
	return 0;
}

enum mio_access_order mio_access_order_parse(const char *text)
{
	if (text != NULL && strcmp(text, "deny,allow") == 0)
		return MIO_ACCESS_DENY_ALLOW;
	return MIO_ACCESS_ALLOW_DENY;
}

struct mio_access *mio_access_new(enum mio_access_order order)
{
	struct mio_access *acl = xcalloc(1, sizeof(*acl));

	acl->order = order;
	return acl;
}

void mio_access_free(struct mio_access **aclp)
{
	struct mio_access *acl = *aclp;

	if (acl == NULL)
		return;
	*aclp = NULL;
	free(acl->rules);
	free(acl);
}

int mio_access_add(struct mio_access *acl, int allow, const char *ip,
		   const char *mask, const char **error_r)
{
	struct mio_access_rule rule;

	if (mio_addr_parse(&rule.addr, ip) < 0) {
		*error_r = "ip: not a numeric IPv4 or IPv6 address";
		return -1;
	}
	if (mio_mask_parse(mask, rule.addr.family, &rule.prefix, error_r) < 0)
		return -1;
	rule.allow = allow != 0;
	acl->rules = xrealloc(acl->rules, (acl->nrules + 1) * sizeof(rule));
	acl->rules[acl->nrules++] = rule;
	return 0;
}

static int mio_prefix_equal(const uint8_t *a, const uint8_t *b,
			    unsigned int prefix)
{
	unsigned int full = prefix / 8, rest = prefix % 8;
	uint8_t m;

	if (memcmp(a, b, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	m = (uint8_t)(0xff << (8 - rest));
	return (a[full] & m) == (b[full] & m);
}

/* `peer` is normalised; an IPv6 rule sees an IPv4 peer in mapped form. */
static int mio_rule_match(const struct mio_access_rule *r,
			  const struct mio_addr *peer)
{
	uint8_t mapped[16];

	if (r->addr.family == AF_INET)
		return peer->family == AF_INET &&
		       mio_prefix_equal(r->addr.bytes, peer->bytes, r->prefix);
	if (peer->family == AF_INET6)
		return mio_prefix_equal(r->addr.bytes, peer->bytes, r->prefix);
	memcpy(mapped, mio_v4mapped_prefix, 12);
	memcpy(mapped + 12, peer->bytes, 4);
	return mio_prefix_equal(r->addr.bytes, mapped, r->prefix);
}

static int mio_access_decide(const struct mio_access *acl,
			     const struct mio_addr *peer)
{
	int allowed = 0, denied = 0;
	size_t i;

	for (i = 0; i < acl->nrules; i++) {
		if (!mio_rule_match(&acl->rules[i], peer))
			continue;
		if (acl->rules[i].allow)
			allowed = 1;
		else
			denied = 1;
	}
	if (acl->order == MIO_ACCESS_ALLOW_DENY)
		return allowed || !denied;
	return !denied && allowed;
}

int mio_access_check(const struct mio_access *acl, const struct sockaddr *sa)
{
	struct mio_addr peer;

	if (mio_addr_from_sockaddr(&peer, sa) < 0)
		return 0;
	return mio_access_decide(acl, &peer);
}

int mio_access_check_ip(const struct mio_access *acl, const char *ip)
{
	struct mio_addr peer;
	uint8_t v4[4];

	if (mio_addr_parse(&peer, ip) < 0)
		return 0;
	if (peer.family == AF_INET6 &&
	    memcmp(peer.bytes, mio_v4mapped_prefix, 12) == 0) {
		memcpy(v4, peer.bytes + 12, 4);
		memset(&peer, 0, sizeof(peer));
		peer.family = AF_INET;
		memcpy(peer.bytes, v4, 4);
	}
	return mio_access_decide(acl, &peer);
}
