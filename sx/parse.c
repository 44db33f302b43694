/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sx parser: the reading half of the stream core. Bytes the rio stages
 * have turned into plaintext are fed to expat here, in slices kept within
 * the limits; the handlers check the peer's stream
 * header, build each top-level element into a nad and hand it to the
 * plugins and the owner, and turn everything XMPP forbids into the stream
 * error RFC 6120 names for it.
 *
 * Depth: the stream root <stream:stream> is level 0, each stanza (or other
 * top-level element) level 1. A stanza is built into a fresh nad as it
 * arrives and handed on when its end tag has been parsed.
 *
 * Limits are counted in bytes handed to expat since the last point where
 * nothing was pending (the end of the header, of a stanza, of stream-level
 * whitespace). Input is fed to expat in slices that never take that count
 * more than one byte past the limit, so neither expat nor the nad ever
 * holds more than the limit of one stanza, however much arrives at once.
 */
#include "config.h"
#include "sx/sx_core.h"

#include <assert.h>
#include <errno.h>
#include <expat.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "sx/sx_private.h"
#include "util/buf.h"
#include "util/nad.h"

static void sx_decls_clear(struct sx *sx)
{
	free(sx->decl_default);
	free(sx->decl_prefix);
	free(sx->decl_uri);
	sx->decl_default = sx->decl_prefix = sx->decl_uri = NULL;
	sx->decl_prefixed = 0;
}

static void sx_park_note_header(struct sx *sx, const XML_Char *name);

/* ---- the parser: stream level ---- */

/* Delivered elements go to the plugins in attach order, then the owner. */
static void sx_deliver(struct sx *sx, struct nad *nad)
{
	int i;

	for (i = 0; i < sx->nplugins; i++) {
		const struct sx_plugin *p = sx->plugins[i].p;

		if (p->element != NULL && p->element(sx, sx->plugins[i].data, nad))
			return;
		if (sx->flags & SX_F_CLOSED)
			break;
	}
	if (!(sx->flags & SX_F_CLOSED) && sx->cb->element != NULL)
		sx->cb->element(sx, nad, sx->ctx);
	else
		nad_free(&nad);
}

/* The peer sent <stream:error>: its condition and text end the stream. */
static void sx_peer_error(struct sx *sx, struct nad *nad)
{
	const char *cond = "undefined-condition", *text = NULL;
	int c;

	for (c = nad_child(nad, 0, SX_NS_STREAM_ERRORS, NULL); c != NAD_NONE;
	     c = nad_next(nad, c, SX_NS_STREAM_ERRORS, NULL)) {
		if (strcmp(nad_name(nad, c), "text") == 0)
			text = nad_text(nad, c, NULL);
		else if (strcmp(cond, "undefined-condition") == 0)
			cond = nad_name(nad, c);
	}
	if (text == NULL && strcmp(cond, "undefined-condition") != 0) {
		c = nad_child(nad, 0, SX_NS_STREAM_ERRORS, cond);
		if (nad_text(nad, c, NULL)[0] != '\0')
			text = nad_text(nad, c, NULL);
	}
	sx->peer_closed = 1;
	if (!sx->we_closed && sx->header_sent)
		sx_write_str(sx, "</stream:stream>");
	sx->we_closed = 1;
	sx_finish(sx, cond, text);
}

/* </stream:stream> from the peer: answer it and end. */
static void sx_peer_close(struct sx *sx)
{
	sx->peer_closed = 1;
	if (!sx->we_closed && sx->header_sent)
		sx_write_str(sx, "</stream:stream>");
	sx->we_closed = 1;
	sx_finish(sx, NULL, NULL);
}

/* A version we can speak: absent, or major version 0 or 1. */
static int sx_version_ok(const char *v)
{
	unsigned long major;
	char *end;

	if (v == NULL)
		return 1;
	if (*v < '0' || *v > '9')
		return 0;
	errno = 0;
	major = strtoul(v, &end, 10);
	if (errno != 0 || *end != '.' || end[1] < '0' || end[1] > '9')
		return 0;
	strtoul(end + 1, &end, 10);
	return *end == '\0' && major <= 1;
}

/* Move the mark to the end of the current event; returns how many bytes
 * the unit that just ended took. */
static unsigned long long sx_mark(struct sx *sx)
{
	XML_Index i = XML_GetCurrentByteIndex(sx->xp);
	unsigned long long old = sx->mark;

	if (i >= 0)
		sx->mark = (unsigned long long)i + (unsigned long long)XML_GetCurrentByteCount(sx->xp);
	return sx->mark - old;
}

/* Is expat's name for an element or attribute in namespace `ns` with the
 * local name `local` (NULL: any)? */
static int sx_name_is(const char *qname, const char *ns, const char *local)
{
	size_t n = strlen(ns), l;

	if (strncmp(qname, ns, n) != 0 || qname[n] != SX_SEP)
		return 0;
	if (local == NULL)
		return 1;
	l = strlen(local);
	return strncmp(qname + n + 1, local, l) == 0 &&
		(qname[n + 1 + l] == '\0' || qname[n + 1 + l] == SX_SEP);
}

/* Fill a header from the start tag's attributes (unqualified, and
 * xml:lang). Pointers are expat's, valid during the handler. */
static void sx_header_attrs(struct sx_header *h, const XML_Char **atts)
{
	int i;

	for (i = 0; atts[i] != NULL; i += 2) {
		const char *n = atts[i], *v = atts[i + 1];

		if (strcmp(n, "to") == 0)
			h->to = v;
		else if (strcmp(n, "from") == 0)
			h->from = v;
		else if (strcmp(n, "id") == 0)
			h->id = v;
		else if (strcmp(n, "version") == 0)
			h->version = v;
		else if (sx_name_is(n, NAD_NS_XML, "lang"))
			h->lang = v;
	}
}

static void sx_header_start(struct sx *sx, const XML_Char *name, const XML_Char **atts,
			    unsigned nattrs)
{
	struct sx_header h = { 0 };

	/* Slicing keeps expat within a byte of the limit; this is exact. */
	if (sx_mark(sx) > sx->lim.max_header) {
		sx_error(sx, "policy-violation", "stream header too large");
		return;
	}
	if (nattrs > sx->lim.max_attrs) {
		sx_error(sx, "policy-violation", "too many attributes in the stream header");
		return;
	}
	if (!sx_name_is(name, SX_NS_STREAMS, NULL)) {
		sx_error(sx, "invalid-namespace", "the stream namespace must be " SX_NS_STREAMS);
		return;
	}
	if (!sx_name_is(name, SX_NS_STREAMS, "stream")) {
		sx_error(sx, "bad-format", "the root element must be <stream>");
		return;
	}
	sx_header_attrs(&h, atts);
	if (!sx_version_ok(h.version)) {
		sx_error(sx, "unsupported-version", "only version 1.0 is supported");
		return;
	}
	h.ns = sx->decl_default;
	h.extra_prefix = sx->decl_prefix;
	h.extra_ns = sx->decl_uri;
	sx_hdr_set(&sx->peer, &h);
	sx_park_note_header(sx, name);
	sx_decls_clear(sx);
	sx->header_recv = 1;
	if (sx->type == SX_CLIENT) {
		free(sx->id);
		sx->id = xstrdup_opt(h.id);
	}
	sx_check_open(sx);
	if (!(sx->flags & SX_F_CLOSED) && !sx->stop && sx->cb->stream_open != NULL)
		sx->cb->stream_open(sx, &sx->peer.h, sx->ctx);
}

/* ---- idle streams ----
 *
 * Between stanzas, expat's state is only the open root element and the
 * namespaces declared on it, yet it holds several kilobytes per stream.
 * sx_trim() frees the parser of a stream waiting between stanzas; the
 * next input builds a new one and first feeds it a copy of the peer's
 * root start tag (same prefix, same declarations) with the handlers
 * muted, so what follows parses exactly as it would have. A header whose
 * declarations we did not record in full is never parked.
 */

/* Record what a replay needs: the root's prefix (expat gives the name as
 * "uri SEP local SEP prefix"), and whether every prefixed declaration on
 * the header is either that prefix or the one extra prefix recorded. */
static void sx_park_note_header(struct sx *sx, const XML_Char *name)
{
	const char *p = strchr(name, SX_SEP);
	unsigned expected = 0;

	free(sx->root_prefix);
	sx->root_prefix = NULL;
	p = p != NULL ? strchr(p + 1, SX_SEP) : NULL;
	if (p != NULL)
		sx->root_prefix = xstrdup(p + 1);
	if (sx->root_prefix != NULL)
		expected++;
	if (sx->decl_prefix != NULL &&
	    (sx->root_prefix == NULL || strcmp(sx->decl_prefix, sx->root_prefix) != 0))
		expected++;
	sx->parkable = sx->decl_prefixed == expected;
}

int sx_parser_park(struct sx *sx)
{
	if (sx->xp == NULL || sx->parsing || !sx->parkable || !sx->header_recv ||
	    (sx->flags & SX_F_CLOSED) || sx->restart_pending || sx->stop ||
	    sx->depth != 1 || sx->nad != NULL || sx->fed != sx->mark ||
	    sx->inq.len > 0)
		return 0;
	XML_ParserFree(sx->xp);
	sx->xp = NULL;
	sx->parked = 1;
	buf_free(&sx->raw);
	return 1;
}

/* A new parser, positioned as the parked one was: inside the root. */
static int sx_parser_unpark(struct sx *sx)
{
	const struct sx_header *h = &sx->peer.h;
	const char *pfx = sx->root_prefix;
	struct buf b;
	enum XML_Status st;

	buf_init(&b);
	buf_printf(&b, "<%s%sstream", pfx != NULL ? pfx : "", pfx != NULL ? ":" : "");
	if (pfx != NULL)
		buf_printf(&b, " xmlns:%s='%s'", pfx, SX_NS_STREAMS);
	if (h->ns != NULL && (pfx != NULL || strcmp(h->ns, SX_NS_STREAMS) != 0)) {
		buf_append_str(&b, " xmlns='");
		buf_append_xml(&b, h->ns, strlen(h->ns), 1);
		buf_append_char(&b, '\'');
	} else if (pfx == NULL) {
		buf_printf(&b, " xmlns='%s'", SX_NS_STREAMS);
	}
	if (h->extra_prefix != NULL && h->extra_ns != NULL &&
	    (pfx == NULL || strcmp(h->extra_prefix, pfx) != 0)) {
		buf_printf(&b, " xmlns:%s='", h->extra_prefix);
		buf_append_xml(&b, h->extra_ns, strlen(h->extra_ns), 1);
		buf_append_char(&b, '\'');
	}
	buf_append_char(&b, '>');

	sx->parked = 0;
	sx_parser_init(sx);
	sx->replay = 1;
	sx->parsing = 1;
	st = XML_Parse(sx->xp, b.data, (int)b.len, XML_FALSE);
	sx->parsing = 0;
	sx->replay = 0;
	sx->fed = sx->mark = sx->raw_base = b.len;
	buf_free(&b);
	if (st != XML_STATUS_OK || sx->depth != 1) {
		sx_error(sx, "internal-server-error", "could not resume the parser");
		return -1;
	}
	return 0;
}

/* ---- the received bytes (sx_keep_raw) ----
 *
 * sx_feed_slice keeps every byte it hands expat from the last mark on, so
 * when a top-level element ends, its bytes (from its start tag's index to
 * the mark) are all in sx->raw, however the input was split. They go with
 * the nad only when their meaning is theirs alone: every prefix used on an
 * element or attribute (but xml:) must be declared inside the element, in
 * scope where it is used (else it is the stream header's); an unprefixed
 * element outside any default namespace declared inside relies on the
 * header's default namespace, which is then recorded with the bytes
 * (sx_send compares it with the writing stream's).
 */

/* A prefix declared on the start tag about to be reported. */
static void sx_raw_prefix(struct sx *sx, const XML_Char *prefix)
{
	struct sx_raw_pfx *p;

	if (sx->raw_npfx == SX_RAW_PFX || strlen(prefix) >= sizeof(p->name)) {
		sx->raw_pfx_over = 1;
		return;
	}
	p = &sx->raw_pfx[sx->raw_npfx++];
	strcpy(p->name, prefix);
	p->level = 0;
}

/* Is `prefix` declared inside the element, in scope here? */
static int sx_raw_prefix_known(const struct sx *sx, const char *prefix)
{
	for (unsigned i = 0; i < sx->raw_npfx; i++)
		if (strcmp(sx->raw_pfx[i].name, prefix) == 0)
			return 1;
	return strcmp(prefix, "xml") == 0;
}

/* An element ended at `level`: its declarations go out of scope. */
static void sx_raw_end(struct sx *sx, unsigned level)
{
	if (sx->raw_dflt == level)
		sx->raw_dflt = 0;
	while (sx->raw_npfx > 0 && sx->raw_pfx[sx->raw_npfx - 1].level >= level)
		sx->raw_npfx--;
}

static void sx_raw_begin(struct sx *sx)
{
	XML_Index i = XML_GetCurrentByteIndex(sx->xp);

	sx->raw_ok = i >= 0 && (unsigned long long)i >= sx->raw_base;
	sx->raw_start = i >= 0 ? (unsigned long long)i : 0;
	sx->raw_dep = 0;
	sx->raw_dflt = 0;
}

/* The prefix of an expat name ("uri SEP local SEP prefix"), or NULL. */
static const char *sx_raw_name_prefix(const XML_Char *name)
{
	const char *sep = strchr(name, SX_SEP);

	sep = sep != NULL ? strchr(sep + 1, SX_SEP) : NULL;
	return sep != NULL ? sep + 1 : NULL;
}

/* Check one start tag's names. */
static void sx_raw_names(struct sx *sx, unsigned level, const XML_Char *name,
			 const XML_Char **atts)
{
	const char *pfx = sx_raw_name_prefix(name);
	int i;

	if (sx->raw_decl && sx->raw_dflt == 0)
		sx->raw_dflt = level;
	if (sx->raw_pfx_over)
		sx->raw_ok = 0;
	if (pfx != NULL) {
		if (!sx_raw_prefix_known(sx, pfx))
			sx->raw_ok = 0; /* bound on the stream header */
	} else if (sx->raw_dflt == 0) {
		sx->raw_dep = 1;        /* in the inherited default namespace */
	}
	for (i = 0; atts[i] != NULL; i += 2)
		if ((pfx = sx_raw_name_prefix(atts[i])) != NULL && !sx_raw_prefix_known(sx, pfx))
			sx->raw_ok = 0;
}

static void sx_raw_attach(struct sx *sx, struct nad *nad)
{
	const char *ns = sx->raw_dep ? sx->peer.h.ns : NULL;

	sx->raw_ok = 0;
	if (sx->raw_dep && ns == NULL)
		return;         /* unqualified elements: no namespace to match */
	if (!sx->keep_raw || sx->raw_start < sx->raw_base || sx->mark > sx->raw_base + sx->raw.len)
		return;
	nad_raw_set(nad, sx->raw.data + (sx->raw_start - sx->raw_base),
		    (size_t)(sx->mark - sx->raw_start), ns);
}

/* Before a slice goes to expat: keep it. */
static void sx_raw_keep(struct sx *sx, const char *data, size_t n)
{
	buf_append(&sx->raw, data, n);
}

/* After: drop what lies before the mark (no element in progress starts
 * before it). */
static void sx_raw_trim(struct sx *sx)
{
	if (sx->mark <= sx->raw_base)
		return;
	buf_consume(&sx->raw, (size_t)(sx->mark - sx->raw_base));
	sx->raw_base = sx->mark;
}

/* ---- the parser: expat handlers ---- */

static void XMLCALL sx_xml_nsdecl(void *arg, const XML_Char *prefix, const XML_Char *uri)
{
	struct sx *sx = arg;

	if (sx->stop || sx->replay)
		return;
	if (sx->depth != 0) {
		/* Inside an element: what is declared here does not depend
		 * on the stream (sx_keep_raw). */
		if (prefix == NULL)
			sx->raw_decl = 1;
		else if (sx->keep_raw)
			sx_raw_prefix(sx, prefix);
		return;
	}
	if (prefix != NULL)
		sx->decl_prefixed++;
	if (prefix == NULL) {
		free(sx->decl_default);
		sx->decl_default = xstrdup_opt(uri);
	} else if (strcmp(prefix, "stream") != 0 && sx->decl_prefix == NULL && uri != NULL) {
		sx->decl_prefix = xstrdup(prefix);
		sx->decl_uri = xstrdup(uri);
	}
}

static void XMLCALL sx_xml_start(void *arg, const XML_Char *name, const XML_Char **atts)
{
	struct sx *sx = arg;
	unsigned nattrs = 0, level = sx->depth;
	int i;

	if (sx->stop)
		return;
	while (atts[nattrs * 2] != NULL)
		nattrs++;
	sx->depth++;
	if (level == 0 && sx->replay)
		return;
	if (level == 0) {
		sx_header_start(sx, name, atts, nattrs);
		return;
	}
	if (level > sx->lim.max_depth) {
		sx_error(sx, "policy-violation", "elements nested too deeply");
		return;
	}
	if (nattrs > sx->lim.max_attrs) {
		sx_error(sx, "policy-violation", "too many attributes");
		return;
	}
	if (level == 1) {
		assert(sx->nad == NULL);
		sx->nad = nad_new();
		sx->cur = NAD_NONE;
		if (sx->keep_raw)
			sx_raw_begin(sx);
	}
	if (sx->keep_raw) {
		for (unsigned k = sx->raw_npfx; k > 0 && sx->raw_pfx[k - 1].level == 0; k--)
			sx->raw_pfx[k - 1].level = level;
		if (sx->raw_ok)
			sx_raw_names(sx, level, name, atts);
		sx->raw_pfx_over = 0;
	}
	sx->raw_decl = 0;
	sx->cur = nad_elem_add_qname(sx->nad, sx->cur, name, SX_SEP);
	for (i = 0; atts[i] != NULL; i += 2)
		nad_attr_set_qname(sx->nad, sx->cur, atts[i], SX_SEP, atts[i + 1]);
}

static void XMLCALL sx_xml_end(void *arg, const XML_Char *name)
{
	struct sx *sx = arg;
	struct nad *nad;

	(void)name;
	if (sx->stop || sx->depth == 0)
		return;
	sx->depth--;
	if (sx->depth == 0) {
		sx_peer_close(sx);
		return;
	}
	if (sx->keep_raw)
		sx_raw_end(sx, sx->depth);
	if (sx->depth > 1) {
		sx->cur = nad_parent(sx->nad, sx->cur);
		return;
	}
	nad = sx->nad;
	sx->nad = NULL;
	sx->cur = NAD_NONE;
	if (sx_mark(sx) > sx->lim.max_stanza) {
		nad_free(&nad);
		sx_error(sx, "policy-violation", "stanza too large");
		return;
	}
	if (sx->raw_ok)
		sx_raw_attach(sx, nad);
	if (nad_ns(nad, 0) != NULL && strcmp(nad_ns(nad, 0), SX_NS_STREAMS) == 0 &&
	    strcmp(nad_name(nad, 0), "error") == 0) {
		sx_peer_error(sx, nad);
		nad_free(&nad);
		return;
	}
	sx_deliver(sx, nad);
}

static void XMLCALL sx_xml_text(void *arg, const XML_Char *s, int len)
{
	struct sx *sx = arg;

	if (sx->stop || len <= 0)
		return;
	if (sx->depth >= 2)
		nad_text_append(sx->nad, sx->cur, s, (size_t)len);
	else
		sx_mark(sx);    /* stream-level whitespace: a keepalive */
}

static void XMLCALL sx_xml_doctype(void *arg, const XML_Char *name, const XML_Char *sysid,
				   const XML_Char *pubid, int has_internal)
{
	struct sx *sx = arg;

	if (!sx->stop)
		sx_error(sx, "restricted-xml", "DTDs are not allowed");
}

static void XMLCALL sx_xml_entity(void *arg, const XML_Char *name, int is_param,
				  const XML_Char *value, int value_len, const XML_Char *base,
				  const XML_Char *sysid, const XML_Char *pubid,
				  const XML_Char *notation)
{
	struct sx *sx = arg;

	if (!sx->stop)
		sx_error(sx, "restricted-xml", "entity declarations are not allowed");
}

static void XMLCALL sx_xml_pi(void *arg, const XML_Char *target, const XML_Char *data)
{
	struct sx *sx = arg;

	if (!sx->stop)
		sx_error(sx, "restricted-xml", "processing instructions are not allowed");
}

static void XMLCALL sx_xml_comment(void *arg, const XML_Char *data)
{
	struct sx *sx = arg;

	if (!sx->stop)
		sx_error(sx, "restricted-xml", "comments are not allowed");
}

void sx_parser_init(struct sx *sx)
{
	/* "UTF-8" overrides any encoding declaration: RFC 6120 11.6. */
	sx->xp = XML_ParserCreateNS("UTF-8", SX_SEP);
	if (sx->xp == NULL)
		abort();        /* expat could not allocate: as xmalloc */
	XML_SetReturnNSTriplet(sx->xp, 1);
	XML_SetUserData(sx->xp, sx);
	XML_SetElementHandler(sx->xp, sx_xml_start, sx_xml_end);
	XML_SetCharacterDataHandler(sx->xp, sx_xml_text);
	XML_SetStartNamespaceDeclHandler(sx->xp, sx_xml_nsdecl);
	XML_SetStartDoctypeDeclHandler(sx->xp, sx_xml_doctype);
	XML_SetEntityDeclHandler(sx->xp, sx_xml_entity);
	XML_SetProcessingInstructionHandler(sx->xp, sx_xml_pi);
	XML_SetCommentHandler(sx->xp, sx_xml_comment);
	sx->depth = 0;
	sx->fed = sx->mark = 0;
	sx->stop = sx->xp_stopped = 0;
	buf_reset(&sx->raw);
	sx->raw_base = 0;
	sx->raw_ok = sx->raw_decl = 0;
	sx->raw_npfx = sx->raw_pfx_over = 0;
}

/* ---- the parser: feeding ---- */

void sx_parser_free(struct sx *sx)
{
	if (sx->xp != NULL)
		XML_ParserFree(sx->xp);
	sx->xp = NULL;
	nad_free(&sx->nad);
	sx_decls_clear(sx);
	free(sx->root_prefix);
	sx->root_prefix = NULL;
	sx->parked = sx->parkable = 0;
}


/* Replace the parser; the next thing from the peer is a new header. */
static void sx_restart_now(struct sx *sx)
{
	sx->restart_pending = 0;
	sx_parser_free(sx);
	sx->cur = NAD_NONE;
	sx_parser_init(sx);
}

void sx_restart(struct sx *sx)
{
	/* The stream state resets at once, so a plugin may send the new
	 * header right away; the parser itself is replaced when expat has
	 * returned, and the rest of the bytes it was given are dropped (RFC
	 * 6120 5.3.3: nothing sent before the restart counts after it). */
	sx->header_recv = 0;
	sx->header_sent = 0;
	sx->flags &= ~SX_F_OPEN;
	sx_hdr_clear(&sx->peer);
	if (sx->parsing) {
		sx->restart_pending = 1;
		sx_stop(sx);
		return;
	}
	sx_restart_now(sx);
}

/* The condition for an expat error. */
static const char *sx_xml_condition(enum XML_Error e)
{
	switch (e) {
	case XML_ERROR_UNDEFINED_ENTITY:
	case XML_ERROR_PARAM_ENTITY_REF:
	case XML_ERROR_RECURSIVE_ENTITY_REF:
	case XML_ERROR_ASYNC_ENTITY:
	case XML_ERROR_BINARY_ENTITY_REF:
	case XML_ERROR_ATTRIBUTE_EXTERNAL_ENTITY_REF:
	case XML_ERROR_EXTERNAL_ENTITY_HANDLING:
	case XML_ERROR_ENTITY_DECLARED_IN_PE:
	case XML_ERROR_AMPLIFICATION_LIMIT_BREACH:
		return "restricted-xml";
	case XML_ERROR_UNKNOWN_ENCODING:
	case XML_ERROR_INCORRECT_ENCODING:
		return "unsupported-encoding";
	default:
		return "not-well-formed";
	}
}

/* Hand one slice to expat. Returns 0 to go on, -1 when feeding must stop
 * (closed, or restarted: the rest of the buffer is dropped). */
static int sx_feed_slice(struct sx *sx, const char *data, int n)
{
	enum XML_Status st;

	if (sx->keep_raw)
		sx_raw_keep(sx, data, (size_t)n);
	sx->parsing = 1;
	st = XML_Parse(sx->xp, data, n, XML_FALSE);
	sx->parsing = 0;
	sx->fed += (unsigned long long)n;
	if (sx->keep_raw)
		sx_raw_trim(sx);
	if (sx->restart_pending) {
		sx_restart_now(sx);
		return -1;
	}
	if (sx->flags & SX_F_CLOSED)
		return -1;
	if (st != XML_STATUS_OK) {
		enum XML_Error e = XML_GetErrorCode(sx->xp);
		char *text = xasprintf("%s at line %lu", XML_ErrorString(e),
				       (unsigned long)XML_GetCurrentLineNumber(sx->xp));

		sx_error(sx, sx_xml_condition(e), text);
		free(text);
		return -1;
	}
	return 0;
}

/* Parse plaintext, slice by slice within the limits. */
static void sx_feed(struct sx *sx, const char *data, size_t len)
{
	if (len > 0 && sx->parked && sx_parser_unpark(sx) < 0)
		return;
	while (len > 0 && !(sx->flags & SX_F_CLOSED)) {
		size_t limit = sx->header_recv ? sx->lim.max_stanza : sx->lim.max_header;
		unsigned long long pending = sx->fed - sx->mark;
		size_t room = pending <= limit ? limit + 1 - (size_t)pending : 1;
		size_t n = len < room ? len : room;

		if (n > INT_MAX)
			n = INT_MAX;
		if (sx_feed_slice(sx, data, (int)n) < 0)
			return;
		data += n;
		len -= n;
		limit = sx->header_recv ? sx->lim.max_stanza : sx->lim.max_header;
		if (sx->fed - sx->mark > limit) {
			sx_error(sx, "policy-violation", sx->header_recv ?
				 "stanza too large" : "stream header too large");
			return;
		}
	}
}

/* Parse now, or queue if a callback is feeding us from inside a parse. */
void sx_parse(struct sx *sx, const char *data, size_t len)
{
	if (sx->parsing) {
		buf_append(&sx->inq, data, len);
		return;
	}
	sx_feed(sx, data, len);
	while (sx->inq.len > 0 && !(sx->flags & SX_F_CLOSED)) {
		struct buf q = sx->inq;

		buf_init(&sx->inq);
		sx_feed(sx, q.data, q.len);
		buf_free(&q);
	}
}

