/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nad_parse: one whole XML document (a config file, stored XML) into a
 * nad, through expat, with the stream parser's safety rules: no DTD, no
 * entity declarations, no processing instructions, bounded depth. Comments
 * are allowed here, unlike on a stream: jabberd2's config files are full
 * of them. Built on the public nad API only (see util/nad.h); the stream
 * parser in sx/parse.c uses the same nad_*_qname helpers.
 */
#include "config.h"
#include "util/nad.h"

#include <expat.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "util/buf.h"

#define NAD_SEP '\x01'  /* cannot occur in XML 1.0 text, so never in a name or URI */

/* A random hash salt for a reader, or 0 (expat then draws its own). */
static unsigned long nad_reader_salt(void)
{
	unsigned long salt = 0;

	if (getrandom(&salt, sizeof(salt), GRND_NONBLOCK) != (ssize_t)sizeof(salt))
		salt = 0;
	return salt;
}

struct nad_parser {
	XML_Parser xp;
	struct nad *nad;
	int cur;
	unsigned depth;
	unsigned max_depth;
	const char *error;
	/* A reader's stream (nad_reader_parse): the wrapper's start tag is
	 * still to come (skipped, not a node); `odd` is set by what a
	 * document on its own may parse differently (then parsed again that
	 * way); `end` is the stream offset just past the root's end tag. */
	int wrapper;
	int odd;
	XML_Index end;
};

static void nad_parse_fail(struct nad_parser *np, const char *error)
{
	if (np->error == NULL)
		np->error = error;
	XML_StopParser(np->xp, XML_FALSE);
}

static void XMLCALL nad_parse_start(void *arg, const XML_Char *name, const XML_Char **atts)
{
	struct nad_parser *np = arg;
	int i;

	if (np->error != NULL)
		return;
	if (np->wrapper) {
		np->wrapper = 0;
		return;
	}
	if (np->depth == 0 && nad_root(np->nad) != NAD_NONE) {
		np->odd = 1;    /* a second root: junk after the document */
		XML_StopParser(np->xp, XML_FALSE);
		return;
	}
	if (++np->depth > np->max_depth) {
		nad_parse_fail(np, "elements nested too deeply");
		return;
	}
	np->cur = nad_elem_add_qname(np->nad, np->cur, name, NAD_SEP);
	for (i = 0; atts[i] != NULL && atts[i + 1] != NULL; i += 2)
		nad_attr_add_qname(np->nad, np->cur, atts[i], NAD_SEP, atts[i + 1]);
}

static void XMLCALL nad_parse_end(void *arg, const XML_Char *name)
{
	struct nad_parser *np = arg;

	(void)name;
	if (np->error != NULL || np->cur == NAD_NONE)
		return;
	np->cur = nad_parent(np->nad, np->cur);
	if (--np->depth == 0)
		np->end = XML_GetCurrentByteIndex(np->xp) + XML_GetCurrentByteCount(np->xp);
}

static void XMLCALL nad_parse_text(void *arg, const XML_Char *s, int len)
{
	struct nad_parser *np = arg;

	if (np->error != NULL || len <= 0)
		return;
	if (np->cur != NAD_NONE) {
		nad_text_append(np->nad, np->cur, s, (size_t)len);
		return;
	}
	/* Outside the root: only a reader's stream gets here (expat rejects
	 * it in a document of its own unless it is white space). */
	for (int i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			np->odd = 1;
}

static void XMLCALL nad_parse_doctype(void *arg, const XML_Char *name, const XML_Char *sysid,
				     const XML_Char *pubid, int has_internal)
{
	nad_parse_fail(arg, "DOCTYPE declarations are not allowed");
}

static void XMLCALL nad_parse_entity(void *arg, const XML_Char *name, int is_param,
				    const XML_Char *value, int value_len, const XML_Char *base,
				    const XML_Char *sysid, const XML_Char *pubid,
				    const XML_Char *notation)
{
	nad_parse_fail(arg, "entity declarations are not allowed");
}

static void XMLCALL nad_parse_pi(void *arg, const XML_Char *target, const XML_Char *data)
{
	nad_parse_fail(arg, "processing instructions are not allowed");
}

/*
 * A parser kept between documents, its hash salt drawn once (expat
 * otherwise draws one from the kernel for every document). It parses a
 * stream, not one document after another: an open wrapper element, then
 * each document's root element as its child, so that a document costs no
 * XML_ParserReset() (which also reads expat's debug variables from the
 * environment, every time). A document that the stream does not take
 * exactly as it would parse on its own (an error, an XML declaration,
 * anything but comments and white space around its root, or bytes after
 * the root's end tag that expat keeps for later) is parsed again on its
 * own after a reset, and that answer is the one given: the stream is a
 * fast path, never a different parser.
 */
#define NAD_READER_WRAPPER "<w>"
/* Documents per stream before it starts again (bounds what expat keeps). */
#define NAD_READER_DOCS 65536u

struct nad_reader {
	XML_Parser xp;
	unsigned long salt;
	int used;
	int open;               /* in a stream, between two documents */
	unsigned docs;          /* documents in this stream */
	XML_Index fed;          /* bytes fed to this stream */
};

struct nad_reader *nad_reader_new(void)
{
	struct nad_reader *r = xcalloc(1, sizeof(*r));

	r->xp = XML_ParserCreateNS(NULL, NAD_SEP);
	if (r->xp == NULL)
		abort();        /* expat's allocation failed: as xmalloc */
	return r;
}

void nad_reader_free(struct nad_reader **rp)
{
	if (*rp == NULL)
		return;
	XML_ParserFree((*rp)->xp);
	free(*rp);
	*rp = NULL;
}

/* The reader's parser, fresh, with np's handlers. */
static void nad_reader_reset(struct nad_reader *r, struct nad_parser *np)
{
	if (r->used) {
		if (!XML_ParserReset(r->xp, NULL))
			abort();
		/* The salt drawn for the first document (0: expat draws). */
		if (r->salt != 0)
			XML_SetHashSalt(r->xp, r->salt);
	}
	np->xp = r->xp;
	XML_SetReturnNSTriplet(np->xp, 1);
	XML_SetUserData(np->xp, np);
	XML_SetElementHandler(np->xp, nad_parse_start, nad_parse_end);
	XML_SetCharacterDataHandler(np->xp, nad_parse_text);
	XML_SetStartDoctypeDeclHandler(np->xp, nad_parse_doctype);
	XML_SetEntityDeclHandler(np->xp, nad_parse_entity);
	XML_SetProcessingInstructionHandler(np->xp, nad_parse_pi);
	if (!r->used) {
		r->used = 1;
		r->salt = nad_reader_salt();
		if (r->salt != 0)
			XML_SetHashSalt(r->xp, r->salt);
	}
	r->open = 0;
}

static void nad_parser_init(struct nad_parser *np, unsigned max_depth)
{
	*np = (struct nad_parser){ .nad = nad_new(), .cur = NAD_NONE,
				   .max_depth = max_depth ? max_depth : 256 };
}

/* The stream's answer for one document: the nad, or NULL when the
 * document must be parsed on its own (r->open is then 0). */
static struct nad *nad_reader_stream(struct nad_reader *r, const char *xml, size_t len,
				     unsigned max_depth)
{
	struct nad_parser np;

	nad_parser_init(&np, max_depth);
	if (!r->open || r->docs >= NAD_READER_DOCS) {
		nad_reader_reset(r, &np);
		np.wrapper = 1;
		if (XML_Parse(r->xp, NAD_READER_WRAPPER, (int)strlen(NAD_READER_WRAPPER),
			      XML_FALSE) != XML_STATUS_OK || np.wrapper) {
			nad_free(&np.nad);
			return NULL;
		}
		r->fed = (XML_Index)strlen(NAD_READER_WRAPPER);
		r->docs = 0;
		r->open = 1;
	}
	np.xp = r->xp;
	XML_SetUserData(r->xp, &np);
	r->docs++;
	r->fed += (XML_Index)len;
	if (XML_Parse(r->xp, xml, (int)len, XML_FALSE) != XML_STATUS_OK || np.error != NULL ||
	    np.odd || np.depth != 0 || nad_root(np.nad) == NAD_NONE || np.end != r->fed) {
		r->open = 0;
		nad_free(&np.nad);
		return NULL;
	}
	return np.nad;
}

/* One document on its own, after a reset. */
static struct nad *nad_reader_whole(struct nad_reader *r, const char *xml, size_t len,
				    unsigned max_depth, const char **error_r,
				    unsigned long *line_r)
{
	struct nad_parser np;
	enum XML_Status st;

	if (len > INT_MAX) {
		*error_r = "document too large";
		return NULL;
	}
	nad_parser_init(&np, max_depth);
	nad_reader_reset(r, &np);
	st = XML_Parse(np.xp, xml, (int)len, XML_TRUE);
	if (st != XML_STATUS_OK || np.error != NULL || nad_root(np.nad) == NAD_NONE) {
		if (np.error == NULL)
			np.error = XML_ErrorString(XML_GetErrorCode(np.xp));
		if (np.error == NULL)
			np.error = "not well-formed";
		*error_r = np.error;
		if (line_r != NULL)
			*line_r = XML_GetCurrentLineNumber(np.xp);
		nad_free(&np.nad);
	}
	return np.nad;
}

struct nad *nad_reader_parse(struct nad_reader *r, const char *xml, size_t len,
			     unsigned max_depth, const char **error_r, unsigned long *line_r)
{
	struct nad *nad = NULL;

	if (len <= INT_MAX)
		nad = nad_reader_stream(r, xml, len, max_depth);
	if (nad == NULL)
		nad = nad_reader_whole(r, xml, len, max_depth, error_r, line_r);
	return nad;
}

struct nad *nad_parse(const char *xml, size_t len, unsigned max_depth, const char **error_r,
		      unsigned long *line_r)
{
	struct nad_reader *r = nad_reader_new();
	struct nad *nad = nad_reader_whole(r, xml, len, max_depth, error_r, line_r);

	nad_reader_free(&r);
	return nad;
}
