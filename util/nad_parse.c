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
	if (++np->depth > np->max_depth) {
		nad_parse_fail(np, "elements nested too deeply");
		return;
	}
	np->cur = nad_elem_add_qname(np->nad, np->cur, name, NAD_SEP);
	for (i = 0; atts[i] != NULL && atts[i + 1] != NULL; i += 2)
		nad_attr_set_qname(np->nad, np->cur, atts[i], NAD_SEP, atts[i + 1]);
}

static void XMLCALL nad_parse_end(void *arg, const XML_Char *name)
{
	struct nad_parser *np = arg;

	(void)name;
	if (np->error != NULL || np->cur == NAD_NONE)
		return;
	np->cur = nad_parent(np->nad, np->cur);
	np->depth--;
}

static void XMLCALL nad_parse_text(void *arg, const XML_Char *s, int len)
{
	struct nad_parser *np = arg;

	if (np->error == NULL && np->cur != NAD_NONE && len > 0)
		nad_text_append(np->nad, np->cur, s, (size_t)len);
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

/* A parser kept between documents: XML_ParserReset() instead of a new
 * parser each time, and the hash salt drawn once (expat otherwise draws
 * one from the kernel for every document). */
struct nad_reader {
	XML_Parser xp;
	unsigned long salt;
	int used;
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

struct nad *nad_reader_parse(struct nad_reader *r, const char *xml, size_t len,
			     unsigned max_depth, const char **error_r, unsigned long *line_r)
{
	struct nad_parser np = { 0 };
	enum XML_Status st;

	if (len > INT_MAX) {
		*error_r = "document too large";
		return NULL;
	}
	if (r->used) {
		if (!XML_ParserReset(r->xp, NULL))
			abort();
		/* The salt drawn for the first document (0: expat draws). */
		if (r->salt != 0)
			XML_SetHashSalt(r->xp, r->salt);
	}
	np.xp = r->xp;
	np.nad = nad_new();
	np.cur = NAD_NONE;
	np.max_depth = max_depth ? max_depth : 256;
	XML_SetReturnNSTriplet(np.xp, 1);
	XML_SetUserData(np.xp, &np);
	XML_SetElementHandler(np.xp, nad_parse_start, nad_parse_end);
	XML_SetCharacterDataHandler(np.xp, nad_parse_text);
	XML_SetStartDoctypeDeclHandler(np.xp, nad_parse_doctype);
	XML_SetEntityDeclHandler(np.xp, nad_parse_entity);
	XML_SetProcessingInstructionHandler(np.xp, nad_parse_pi);
	if (!r->used) {
		r->used = 1;
		r->salt = nad_reader_salt();
		if (r->salt != 0)
			XML_SetHashSalt(r->xp, r->salt);
	}
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

struct nad *nad_parse(const char *xml, size_t len, unsigned max_depth, const char **error_r,
		      unsigned long *line_r)
{
	struct nad_reader *r = nad_reader_new();
	struct nad *nad = nad_reader_parse(r, xml, len, max_depth, error_r, line_r);

	nad_reader_free(&r);
	return nad;
}
