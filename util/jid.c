/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * jid: parsing and preparing XMPP addresses. Every JID the daemons route
 * on goes through jid_new(), so what is accepted here is what the server
 * accepts on the wire and in storage. See util/jid.h for the contracts.
 *
 * Preparation uses libidn's stringprep with the XMPP profiles and without
 * STRINGPREP_NO_UNASSIGNED, as jabberd2 does: changing either would make
 * JIDs stored by jabberd2 compare differently.
 */
#include "config.h"
#include "util/jid.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <stringprep.h>

#include "util/buf.h"

/*
 * Raw input bounds. Preparation can only shrink a part by dropping
 * "mapped to nothing" characters, so a part far longer than JID_PART_MAX
 * is refused before spending time on it; the bound is generous enough that
 * no JID which fits after preparation is refused by it in practice.
 */
#define JID_RAW_PART_MAX (4 * JID_PART_MAX)
#define JID_RAW_MAX (3 * JID_RAW_PART_MAX + 2)

struct jid {
	size_t size;            /* of the whole allocation, for jid_copy() */
	/* Offsets into data; the full form is at offset 0. */
	uint16_t bare, node, domain, resource;
	char data[];
};

enum jid_part {
	JID_PART_NODE,
	JID_PART_DOMAIN,
	JID_PART_RESOURCE,
};

enum jid_reason {
	JID_ERR_EMPTY,
	JID_ERR_LONG,
	JID_ERR_PROHIBITED,
	JID_ERR_BIDI,
	JID_ERR_UTF8,
	JID_ERR_PREP,
};

/* Static messages, so error_r never needs freeing. */
static const char *const jid_messages[3][6] = {
	[JID_PART_NODE] = {
		"empty node (localpart)",
		"node (localpart) longer than 1023 bytes",
		"node (localpart) contains a prohibited character",
		"node (localpart) breaks the bidirectional text rules",
		"node (localpart) is not valid UTF-8",
		"node (localpart) cannot be prepared",
	},
	[JID_PART_DOMAIN] = {
		"empty domain",
		"domain longer than 1023 bytes",
		"domain contains a prohibited character",
		"domain breaks the bidirectional text rules",
		"domain is not valid UTF-8",
		"domain cannot be prepared",
	},
	[JID_PART_RESOURCE] = {
		"empty resource",
		"resource longer than 1023 bytes",
		"resource contains a prohibited character",
		"resource breaks the bidirectional text rules",
		"resource is not valid UTF-8",
		"resource cannot be prepared",
	},
};

static const Stringprep_profile *jid_profile(enum jid_part part)
{
	switch (part) {
	case JID_PART_NODE:
		return stringprep_xmpp_nodeprep;
	case JID_PART_DOMAIN:
		return stringprep_nameprep;
	case JID_PART_RESOURCE:
		return stringprep_xmpp_resourceprep;
	}
	return NULL;
}

/* Strict UTF-8: no overlong forms, surrogates, values above U+10FFFF or NUL. */
static int jid_utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0, n, k;
	uint32_t c, min;

	while (i < len) {
		c = s[i];
		if (c == 0)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1, min = 0x80, c &= 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2, min = 0x800, c &= 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3, min = 0x10000, c &= 0x07;
		} else {
			return 0;
		}
		if (len - i <= n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			c = (c << 6) | (s[i + k] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

static const char *jid_prep_error(enum jid_part part, int rc)
{
	switch (rc) {
	case STRINGPREP_CONTAINS_PROHIBITED:
	case STRINGPREP_CONTAINS_UNASSIGNED:
		return jid_messages[part][JID_ERR_PROHIBITED];
	case STRINGPREP_BIDI_BOTH_L_AND_RAL:
	case STRINGPREP_BIDI_LEADTRAIL_NOT_RAL:
	case STRINGPREP_BIDI_CONTAINS_PROHIBITED:
		return jid_messages[part][JID_ERR_BIDI];
	case STRINGPREP_TOO_SMALL_BUFFER:
		return jid_messages[part][JID_ERR_LONG];
	case STRINGPREP_ICONV_ERROR:
		return jid_messages[part][JID_ERR_UTF8];
	default:
		return jid_messages[part][JID_ERR_PREP];
	}
}

/* An IPv6 literal "[...]": the inside must parse as an IPv6 address. */
static int jid_ipv6_literal_valid(const char *s, size_t len)
{
	char addr[64];
	struct in6_addr in6;

	if (len < 3 || s[len - 1] != ']' || len - 2 >= sizeof(addr))
		return 0;
	memcpy(addr, s + 1, len - 2);
	addr[len - 2] = '\0';
	return inet_pton(AF_INET6, addr, &in6) == 1;
}

/* Length of the label separator at d[i] ("." or U+3002), or 0. */
static size_t jid_separator(const char *d, size_t len, size_t i)
{
	if (d[i] == '.')
		return 1;
	if (len - i >= 3 && memcmp(d + i, "\xe3\x80\x82", 3) == 0)
		return 3;
	return 0;
}

/*
 * Domain rules beyond Nameprep. The final label separator is dropped
 * (RFC 7622 3.2: "." or U+3002, which is what Nameprep leaves of the other
 * IDNA separators); no label may be empty, so what is left cannot end in
 * another separator and the result is stable when prepared again. ASCII
 * is restricted to letters, digits, '-', '.' and '_' (the last because
 * jabberd2 deployments name components with it). Non-ASCII characters
 * have passed Nameprep.
 */
static int jid_domain_check(char *d, size_t *len_r, const char **error_r)
{
	size_t len = *len_r, i, sep, label = 0;

	if (len > 0 && d[len - 1] == '.')
		len--;
	else if (len >= 3 && memcmp(d + len - 3, "\xe3\x80\x82", 3) == 0)
		len -= 3;
	d[len] = '\0';
	*len_r = len;
	if (len == 0) {
		*error_r = jid_messages[JID_PART_DOMAIN][JID_ERR_EMPTY];
		return -1;
	}
	if (d[0] == '[') {
		if (jid_ipv6_literal_valid(d, len))
			return 0;
		*error_r = "domain is not a valid IPv6 address literal";
		return -1;
	}
	for (i = 0; i < len; i += sep ? sep : 1) {
		unsigned char c = (unsigned char)d[i];

		sep = jid_separator(d, len, i);
		if (sep) {
			if (label == 0)
				break;
			label = 0;
			continue;
		}
		label++;
		if (c >= 0x80 || c == '-' || c == '_' || (c >= '0' && c <= '9') ||
		    (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
			continue;
		*error_r = jid_messages[JID_PART_DOMAIN][JID_ERR_PROHIBITED];
		return -1;
	}
	if (label == 0) {
		*error_r = "domain has an empty label";
		return -1;
	}
	return 0;
}

/*
 * Most JIDs are plain ASCII, and on ASCII the three XMPP profiles are
 * simple: no NFKC change, no bidi rule applies, nothing is unassigned, and
 * the only mapping is case folding (nodeprep, nameprep). So:
 *   nodeprep:     0x21-0x7E except " & ' / : < > @ (RFC 3920 A.5), A-Z
 *                 folded;
 *   nameprep:     letters, digits, '.', '-', '_' here (the domain check
 *                 follows as for any input), A-Z folded;
 *   resourceprep: 0x20-0x7E unchanged.
 * Anything else (non-ASCII, a prohibited character) goes to libidn, which
 * also words the error. Fold `s` in place and return 1 when the fast path
 * applies, 0 when stringprep must run. util/tests/test_jid.c compares the
 * two over every ASCII character and many random strings. It matters: in
 * a profile of the message path the sm spent a third of its time here.
 */
static int jid_prep_ascii(enum jid_part part, char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		switch (part) {
		case JID_PART_NODE:
			if (c < 0x21 || c > 0x7e || strchr("\"&'/:<>@", c) != NULL)
				return 0;
			break;
		case JID_PART_DOMAIN:
			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_'))
				return 0;
			break;
		default:
			if (c < 0x20 || c > 0x7e)
				return 0;
			break;
		}
	}
	if (part != JID_PART_RESOURCE)
		for (i = 0; i < len; i++)
			if (s[i] >= 'A' && s[i] <= 'Z')
				s[i] = (char)(s[i] - 'A' + 'a');
	return 1;
}

/*
 * Prepare `len` bytes of one part into `out` (`outsize` bytes). The
 * scratch buffer holds at least JID_PART_MAX + 1 bytes, so stringprep's
 * "buffer too small" means exactly "too long after preparation". Empty
 * results are left to the caller (node and resource may be absent).
 */
static int jid_prep(enum jid_part part, const char *in, size_t len, char *out,
		    size_t outsize, size_t *outlen_r, const char **error_r)
{
	char stack[JID_PART_MAX + 1], *tmp = stack;
	size_t size = len > JID_PART_MAX ? len + 1 : sizeof(stack);
	int rc;

	if (len > JID_RAW_PART_MAX) {
		*error_r = jid_messages[part][JID_ERR_LONG];
		return -1;
	}
	if (!jid_utf8_valid((const unsigned char *)in, len)) {
		*error_r = jid_messages[part][JID_ERR_UTF8];
		return -1;
	}
	if (size > sizeof(stack))
		tmp = xmalloc(size);
	memcpy(tmp, in, len);
	tmp[len] = '\0';
	rc = jid_prep_ascii(part, tmp, len) ? STRINGPREP_OK :
		stringprep(tmp, size, 0, jid_profile(part));
	if (rc != STRINGPREP_OK) {
		*error_r = jid_prep_error(part, rc);
		goto err;
	}
	len = strlen(tmp);
	if (part == JID_PART_DOMAIN && jid_domain_check(tmp, &len, error_r) < 0)
		goto err;
	if (len > JID_PART_MAX || len >= outsize) {
		*error_r = jid_messages[part][JID_ERR_LONG];
		goto err;
	}
	memcpy(out, tmp, len + 1);
	*outlen_r = len;
	if (tmp != stack)
		free(tmp);
	return 0;
err:
	if (tmp != stack)
		free(tmp);
	return -1;
}

/* Assemble a JID from prepared parts (node and resource may be empty). */
static struct jid *jid_build(const char *node, size_t nlen, const char *domain,
			     size_t dlen, const char *res, size_t rlen)
{
	size_t barelen = (nlen ? nlen + 1 : 0) + dlen;
	size_t fulllen = barelen + (rlen ? rlen + 1 : 0);
	size_t datalen = fulllen + 1 + barelen + 1 + nlen + 1 + dlen + 1 + rlen + 1;
	struct jid *jid = xmalloc(sizeof(*jid) + datalen);
	char *p = jid->data;

	jid->size = sizeof(*jid) + datalen;
	if (nlen) {
		memcpy(p, node, nlen);
		p[nlen] = '@';
		p += nlen + 1;
	}
	memcpy(p, domain, dlen);
	p += dlen;
	if (rlen) {
		*p++ = '/';
		memcpy(p, res, rlen);
		p += rlen;
	}
	*p++ = '\0';
	jid->bare = (uint16_t)(p - jid->data);
	memcpy(p, jid->data, barelen);
	p[barelen] = '\0';
	jid->node = (uint16_t)(jid->bare + barelen + 1);
	jid->domain = (uint16_t)(jid->node + nlen + 1);
	jid->resource = (uint16_t)(jid->domain + dlen + 1);
	memcpy(jid->data + jid->node, node, nlen);
	jid->data[jid->node + nlen] = '\0';
	memcpy(jid->data + jid->domain, domain, dlen);
	jid->data[jid->domain + dlen] = '\0';
	memcpy(jid->data + jid->resource, res, rlen);
	jid->data[jid->resource + rlen] = '\0';
	return jid;
}

/* Prepare an optional part (node or resource) that must not end up empty. */
static int jid_prep_optional(enum jid_part part, const char *in, size_t len,
			     char *out, size_t *outlen_r, const char **error_r)
{
	if (jid_prep(part, in, len, out, JID_PART_MAX + 1, outlen_r, error_r) < 0)
		return -1;
	if (*outlen_r == 0) {
		*error_r = jid_messages[part][JID_ERR_EMPTY];
		return -1;
	}
	return 0;
}

static struct jid *jid_prep_build(const char *node, size_t nlen, const char *domain,
				  size_t dlen, const char *res, size_t rlen,
				  const char **error_r)
{
	char pn[JID_PART_MAX + 1], pd[JID_PART_MAX + 1], pr[JID_PART_MAX + 1];
	size_t pnlen = 0, pdlen = 0, prlen = 0;

	if (node != NULL &&
	    jid_prep_optional(JID_PART_NODE, node, nlen, pn, &pnlen, error_r) < 0)
		return NULL;
	if (jid_prep(JID_PART_DOMAIN, domain, dlen, pd, sizeof(pd), &pdlen, error_r) < 0)
		return NULL;
	if (res != NULL &&
	    jid_prep_optional(JID_PART_RESOURCE, res, rlen, pr, &prlen, error_r) < 0)
		return NULL;
	/* Three parts of at most 1023 bytes and two separators: never over
	 * JID_MAX, but keep the documented limit checked where it is built. */
	if (pnlen + pdlen + prlen + 2 > JID_MAX) {
		*error_r = "JID longer than 3071 bytes";
		return NULL;
	}
	return jid_build(pn, pnlen, pd, pdlen, pr, prlen);
}

struct jid *jid_new(const char *s, size_t len, const char **error_r)
{
	const char *slash, *at, *node = NULL, *domain = s, *res = NULL;
	size_t nlen = 0, dlen, rlen = 0;

	if (len > JID_RAW_MAX) {
		*error_r = "JID longer than 3071 bytes";
		return NULL;
	}
	/* The resource is everything after the first '/', and may itself
	 * contain '/' and '@'; the node is everything before the first '@'
	 * that comes before it. */
	slash = memchr(s, '/', len);
	dlen = slash != NULL ? (size_t)(slash - s) : len;
	if (slash != NULL) {
		res = slash + 1;
		rlen = len - dlen - 1;
		if (rlen == 0) {
			*error_r = jid_messages[JID_PART_RESOURCE][JID_ERR_EMPTY];
			return NULL;
		}
	}
	at = memchr(s, '@', dlen);
	if (at != NULL) {
		node = s;
		nlen = (size_t)(at - s);
		domain = at + 1;
		dlen -= nlen + 1;
		if (nlen == 0) {
			*error_r = jid_messages[JID_PART_NODE][JID_ERR_EMPTY];
			return NULL;
		}
	}
	if (dlen == 0) {
		*error_r = jid_messages[JID_PART_DOMAIN][JID_ERR_EMPTY];
		return NULL;
	}
	return jid_prep_build(node, nlen, domain, dlen, res, rlen, error_r);
}

struct jid *jid_new_parts(const char *node, const char *domain,
			  const char *resource, const char **error_r)
{
	if (node != NULL && *node == '\0')
		node = NULL;
	if (resource != NULL && *resource == '\0')
		resource = NULL;
	if (domain == NULL || *domain == '\0') {
		*error_r = jid_messages[JID_PART_DOMAIN][JID_ERR_EMPTY];
		return NULL;
	}
	return jid_prep_build(node, node ? strlen(node) : 0, domain, strlen(domain),
			      resource, resource ? strlen(resource) : 0, error_r);
}

void jid_free(struct jid **jidp)
{
	free(*jidp);
	*jidp = NULL;
}

struct jid *jid_copy(const struct jid *jid)
{
	struct jid *c = xmalloc(jid->size);

	memcpy(c, jid, jid->size);
	return c;
}

struct jid *jid_copy_bare(const struct jid *jid)
{
	const char *node = jid_node(jid), *domain = jid_domain(jid);

	return jid_build(node, strlen(node), domain, strlen(domain), "", 0);
}

const char *jid_node(const struct jid *jid)
{
	return jid->data + jid->node;
}

const char *jid_domain(const struct jid *jid)
{
	return jid->data + jid->domain;
}

const char *jid_resource(const struct jid *jid)
{
	return jid->data + jid->resource;
}

const char *jid_full(const struct jid *jid)
{
	return jid->data;
}

const char *jid_bare(const struct jid *jid)
{
	return jid->data + jid->bare;
}

int jid_equal(const struct jid *a, const struct jid *b)
{
	return strcmp(jid_full(a), jid_full(b)) == 0;
}

int jid_equal_bare(const struct jid *a, const struct jid *b)
{
	return strcmp(jid_bare(a), jid_bare(b)) == 0;
}

static int jid_prep_str(enum jid_part part, const char *in, char *out,
			size_t outsize, const char **error_r)
{
	size_t outlen;

	return jid_prep(part, in, strlen(in), out, outsize, &outlen, error_r);
}

int jid_nodeprep(const char *in, char *out, size_t outsize, const char **error_r)
{
	return jid_prep_str(JID_PART_NODE, in, out, outsize, error_r);
}

int jid_nameprep(const char *in, char *out, size_t outsize, const char **error_r)
{
	return jid_prep_str(JID_PART_DOMAIN, in, out, outsize, error_r);
}

int jid_resourceprep(const char *in, char *out, size_t outsize, const char **error_r)
{
	return jid_prep_str(JID_PART_RESOURCE, in, out, outsize, error_r);
}
