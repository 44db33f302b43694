/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sx_core.h: the stream's state, shared by the two halves of the core
 * (sx/sx.c: lifetime, output, errors and closing; sx/parse.c: input and
 * the XML parser). Plugins use sx/sx_private.h, never this.
 */
#ifndef SX_SX_CORE_H
#define SX_SX_CORE_H

#include <expat.h>
#include <stddef.h>

#include "sx/sx.h"
#include "sx/sx_private.h"
#include "util/buf.h"

/* Namespace separator for expat: a control character that cannot appear
 * in XML 1.0, hence never in a name or namespace URI. */
#define SX_SEP '\x01'

#define SX_DEFAULT_MAX_STANZA 65536
#define SX_DEFAULT_MAX_DEPTH 64
#define SX_DEFAULT_MAX_ATTRS 64
#define SX_DEFAULT_MAX_HEADER 4096

#define SX_ID_LEN 40

/* A header whose strings the stream owns. */
struct sx_hdr_copy {
	struct sx_header h;     /* its strings all live in block */
	char *block;
	int set;
};

#define SX_RAW_PFX 8

struct sx_raw_pfx {
	char name[24];
	unsigned level;
};

struct sx {
	enum sx_type type;
	struct sx_limits lim;
	const struct sx_callbacks *cb;  /* the owner's, never NULL */
	void *ctx;
	unsigned flags;

	struct {
		const struct sx_plugin *p;
		void *data;
	} plugins[SX_MAX_PLUGINS];
	int nplugins;

	/* The parser and the element being built. */
	XML_Parser xp;
	/* Flags are bits: a server holds tens of thousands of streams. */
	unsigned parsing : 1;   /* inside XML_Parse: handlers may be running */
	unsigned stop : 1;      /* handlers ignore further events */
	unsigned xp_stopped : 1;/* XML_StopParser was called */
	unsigned restart_pending : 1; /* replace the parser once XML_Parse returns */
	/* An idle stream may give its parser back (sx_trim) and rebuild it
	 * from the header it recorded when input comes: see parse.c. */
	unsigned parked : 1;    /* xp freed between stanzas */
	unsigned parkable : 1;  /* the header can be replayed faithfully */
	unsigned replay : 1;    /* feeding the replayed header: no events */
	/* Stream state since the last restart, and overall. */
	unsigned header_recv : 1;
	unsigned header_sent : 1;
	unsigned peer_closed : 1;
	unsigned we_closed : 1;
	unsigned error_sent : 1;
	unsigned closed_called : 1;
	unsigned free_pending : 1;  /* sx_free was called from a callback */
	unsigned have_auth : 1;
	/* sx_keep_raw: each top-level element's bytes go with its nad. */
	unsigned keep_raw : 1;
	unsigned raw_ok : 1;    /* the element being parsed may go as bytes */
	unsigned raw_dep : 1;   /* ... and relies on the header's default ns */
	unsigned raw_decl : 1;  /* the next start tag declares a default ns */
	unsigned depth;         /* open elements, the stream root included */
	struct nad *nad;
	int cur;
	unsigned long long fed; /* bytes handed to this parser */
	unsigned long long mark;/* end of the last complete unit */
	/* Namespace declarations on the peer's header, seen before it. */
	char *decl_default;
	char *decl_prefix;
	char *decl_uri;
	unsigned decl_prefixed; /* prefixed declarations on the header */
	char *root_prefix;      /* prefix of the peer's root element, or NULL */
	/* sx_keep_raw: the plaintext fed to the parser from offset raw_base
	 * on (nothing before the mark is kept), where the element being
	 * parsed starts at raw_start; raw_dflt is the depth of the
	 * outermost default namespace declared inside it (0: none). */
	struct buf raw;
	unsigned long long raw_base;
	unsigned long long raw_start;
	unsigned raw_dflt;
	/* Prefixes declared inside it and in scope, innermost last (level
	 * 0: declared on the start tag not yet reported); allocated by
	 * sx_keep_raw. Past SX_RAW_PFX, or a longer name, the element goes
	 * without its bytes. */
	struct sx_raw_pfx *raw_pfx;
	unsigned raw_npfx;
	unsigned raw_pfx_over;

	struct sx_hdr_copy peer;
	char *id;
	char *out_ns;           /* the default namespace we declared */
	char *out_prefix;       /* our extra namespace declaration */
	char *out_prefix_ns;

	struct buf in;          /* bytes going through the rio stages */
	struct buf inq;         /* plaintext that arrived while parsing */
	struct buf out;         /* bytes for the owner to write */

	int busy;               /* nesting of public calls */

	struct sx_auth auth;
};

/* sx/sx.c */
/* Stop the parser: handlers ignore whatever expat still reports, and
 * XML_Parse returns as soon as the running handler does. */
void sx_stop(struct sx *sx);
/* The stream is over: set SX_F_CLOSED, stop parsing, call closed once. */
void sx_finish(struct sx *sx, const char *condition, const char *text);
/* Both headers are out: set SX_F_OPEN and run the plugins' stream_open. */
void sx_check_open(struct sx *sx);
void sx_hdr_set(struct sx_hdr_copy *c, const struct sx_header *h);
void sx_hdr_clear(struct sx_hdr_copy *c);
void sx_write_str(struct sx *sx, const char *s);

/* sx/parse.c */
/* A fresh expat parser; the next input is a stream header. */
void sx_parser_init(struct sx *sx);
void sx_parser_free(struct sx *sx);
/* Parse plaintext now, or queue it when called from inside a parse. */
void sx_parse(struct sx *sx, const char *data, size_t len);
/* Free the parser of a stream waiting between stanzas; 1 if it did. */
int sx_parser_park(struct sx *sx);

#endif
