/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sx core: one XMPP stream without I/O (see sx/sx.h for the owner's view
 * and sx/sx_private.h for the plugins'). This file holds the stream's
 * lifetime, the plugin list, the byte pipelines (rio stages in, wio stages
 * out, the output buffer), our stream header, stream errors and closing.
 * Its other half, sx/parse.c, is the expat-driven incremental parser that
 * turns the peer's bytes into a stream header and one nad per top-level
 * element within the limits; both share sx/sx_core.h.
 *
 * Re-entrancy: callbacks run while expat is parsing. Whatever they do to
 * the stream (sx_error, sx_close, sx_restart, even sx_free or more input)
 * is recorded and acted on once control is back here: the parser is
 * stopped with XML_StopParser, a restart replaces it after XML_Parse
 * returns, input is queued, and a free is deferred until the outermost
 * call into sx returns.
 */
#include "config.h"
#include "sx/sx.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "sx/sx_core.h"
#include "sx/sx_private.h"
#include "util/buf.h"
#include "util/nad.h"

static void sx_destroy(struct sx *sx);

/* ---- helpers ---- */

static void sx_enter(struct sx *sx)
{
	sx->busy++;
}

/* Leave a public call; frees the stream if sx_free came from a callback.
 * Returns 1 if it did (sx must not be touched again). */
static int sx_leave(struct sx *sx)
{
	if (--sx->busy > 0 || !sx->free_pending)
		return 0;
	sx_destroy(sx);
	return 1;
}

/* Copy `s` (if any) to *p, advancing it; the copy or NULL. */
static const char *str_put(char **p, const char *s)
{
	char *at = *p;
	size_t n;

	if (s == NULL)
		return NULL;
	n = strlen(s) + 1;
	memcpy(at, s, n);
	*p += n;
	return at;
}

static size_t str_size(const char *s)
{
	return s != NULL ? strlen(s) + 1 : 0;
}

void sx_hdr_clear(struct sx_hdr_copy *c)
{
	free(c->block);
	memset(c, 0, sizeof(*c));
}

/* One block for all the strings: a stream keeps its peer's header for
 * its whole life. */
void sx_hdr_set(struct sx_hdr_copy *c, const struct sx_header *h)
{
	size_t len = str_size(h->ns) + str_size(h->to) + str_size(h->from) +
		     str_size(h->id) + str_size(h->version) + str_size(h->lang) +
		     str_size(h->extra_prefix) + str_size(h->extra_ns);
	struct sx_hdr_copy n = { .set = 1 };
	char *p;

	/* h may point into c: copy before clearing. */
	n.block = p = xmalloc(len > 0 ? len : 1);
	n.h.ns = str_put(&p, h->ns);
	n.h.to = str_put(&p, h->to);
	n.h.from = str_put(&p, h->from);
	n.h.id = str_put(&p, h->id);
	n.h.version = str_put(&p, h->version);
	n.h.lang = str_put(&p, h->lang);
	n.h.extra_prefix = str_put(&p, h->extra_prefix);
	n.h.extra_ns = str_put(&p, h->extra_ns);
	sx_hdr_clear(c);
	*c = n;
}

/* 40 characters [0-9a-z] from the kernel's CSPRNG, without modulo bias:
 * stream ids key dialback and XEP-0114 handshakes, so they must not be
 * guessable. */
static char *sx_random_id(void)
{
	static const char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	char *id = xmalloc(SX_ID_LEN + 1);
	unsigned char rnd[64];
	int n = 0, tries;

	for (tries = 0; n < SX_ID_LEN && tries < 100; tries++) {
		ssize_t got = getrandom(rnd, sizeof(rnd), 0);
		ssize_t i;

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			abort();        /* no randomness: nothing safe to do */
		for (i = 0; i < got && n < SX_ID_LEN; i++)
			if (rnd[i] < 252)       /* 252 = 7 * 36 */
				id[n++] = alphabet[rnd[i] % 36];
	}
	if (n < SX_ID_LEN)
		abort();
	id[SX_ID_LEN] = '\0';
	return id;
}

/* Stop the parser: handlers ignore whatever expat still reports, and
 * XML_Parse returns as soon as the running handler does. */
void sx_stop(struct sx *sx)
{
	sx->stop = 1;
	if (sx->parsing && !sx->xp_stopped) {
		sx->xp_stopped = 1;
		XML_StopParser(sx->xp, XML_FALSE);
	}
}

/* The stream is over: tell the owner, once. */
void sx_finish(struct sx *sx, const char *condition, const char *text)
{
	if (sx->closed_called)
		return;
	sx->closed_called = 1;
	sx->flags |= SX_F_CLOSED;
	sx->flags &= ~SX_F_OPEN;
	sx_stop(sx);
	if (sx->cb->closed != NULL)
		sx->cb->closed(sx, condition, text, sx->ctx);
}

/* ---- output ---- */

static void sx_out_append(struct sx *sx, const void *data, size_t len)
{
	int was_empty = sx->out.len == 0;

	if (len == 0)
		return;
	buf_append(&sx->out, data, len);
	if (was_empty && sx->cb->want_write != NULL)
		sx->cb->want_write(sx, sx->ctx);
}

void sx_raw_write(struct sx *sx, const void *data, size_t len)
{
	sx_enter(sx);
	sx_out_append(sx, data, len);
	sx_leave(sx);
}

void sx_write(struct sx *sx, const void *data, size_t len)
{
	struct buf b = { 0 };
	int i;

	if (len == 0)
		return;
	sx_enter(sx);
	buf_append(&b, data, len);
	for (i = sx->nplugins - 1; i >= 0; i--) {
		const struct sx_plugin *p = sx->plugins[i].p;

		if (p->wio != NULL && p->wio(sx, sx->plugins[i].data, &b) < 0) {
			/* The stage has reported why, normally with sx_error;
			 * nothing readable can reach the peer any more. */
			sx_finish(sx, "undefined-condition", "output transform failed");
			goto out;
		}
	}
	sx_out_append(sx, b.data, b.len);
out:
	buf_free(&b);
	sx_leave(sx);
}

void sx_write_str(struct sx *sx, const char *s)
{
	sx_write(sx, s, strlen(s));
}

static void sx_attr_out(struct buf *b, const char *name, const char *value)
{
	if (value == NULL)
		return;
	buf_printf(b, " %s='", name);
	buf_append_xml(b, value, strlen(value), 1);
	buf_append_char(b, '\'');
}

/* Write our <stream:stream ...> with an XML declaration. */
static void sx_write_header(struct sx *sx, const struct sx_header *h, const char *id)
{
	struct buf b = { 0 };

	buf_append_str(&b, "<?xml version='1.0'?><stream:stream xmlns:stream='"
		       SX_NS_STREAMS "'");
	sx_attr_out(&b, "xmlns", h->ns);
	if (h->extra_prefix != NULL && h->extra_ns != NULL) {
		char *n = xasprintf("xmlns:%s", h->extra_prefix);

		sx_attr_out(&b, n, h->extra_ns);
		free(n);
	}
	sx_attr_out(&b, "from", h->from);
	sx_attr_out(&b, "to", h->to);
	sx_attr_out(&b, "id", id);
	sx_attr_out(&b, "version", h->version);
	sx_attr_out(&b, "xml:lang", h->lang);
	buf_append_char(&b, '>');
	sx_write(sx, b.data, b.len);
	buf_free(&b);
	sx->header_sent = 1;
}

const void *sx_output(struct sx *sx, size_t *len_r)
{
	*len_r = sx->out.len;
	return sx->out.len > 0 ? sx->out.data : NULL;
}

void sx_output_consumed(struct sx *sx, size_t n)
{
	buf_consume(&sx->out, n);
	/* Most of a session's life is idle: a drained stream keeps no output
	 * buffer (about 1 KiB of an idle c2s session). */
	if (sx->out.len == 0)
		buf_free(&sx->out);
}

size_t sx_output_pending(const struct sx *sx)
{
	return sx->out.len;
}

/* ---- lifetime and accessors ---- */

static const struct sx_callbacks sx_no_callbacks;

struct sx *sx_new(enum sx_type type, const struct sx_limits *limits,
		  const struct sx_callbacks *cb, void *ctx)
{
	struct sx *sx = xcalloc(1, sizeof(*sx));

	sx->type = type;
	if (limits != NULL)
		sx->lim = *limits;
	if (sx->lim.max_stanza == 0)
		sx->lim.max_stanza = SX_DEFAULT_MAX_STANZA;
	if (sx->lim.max_depth == 0)
		sx->lim.max_depth = SX_DEFAULT_MAX_DEPTH;
	if (sx->lim.max_attrs == 0)
		sx->lim.max_attrs = SX_DEFAULT_MAX_ATTRS;
	if (sx->lim.max_header == 0)
		sx->lim.max_header = SX_DEFAULT_MAX_HEADER;
	sx->cb = cb != NULL ? cb : &sx_no_callbacks;
	sx->ctx = ctx;
	sx->cur = NAD_NONE;
	sx_parser_init(sx);
	return sx;
}

/* The four strings of sx->auth live in one block, at auth.mechanism
 * (which is never NULL when the block is there). */
static void sx_auth_clear(struct sx *sx)
{
	free((char *)sx->auth.mechanism);
	memset(&sx->auth, 0, sizeof(sx->auth));
	sx->have_auth = 0;
}

static void sx_destroy(struct sx *sx)
{
	int i;

	for (i = sx->nplugins - 1; i >= 0; i--)
		if (sx->plugins[i].p->free != NULL)
			sx->plugins[i].p->free(sx, sx->plugins[i].data);
	sx_parser_free(sx);
	sx_hdr_clear(&sx->peer);
	sx_auth_clear(sx);
	free(sx->id);
	free(sx->out_ns);
	free(sx->out_prefix);
	free(sx->out_prefix_ns);
	buf_free(&sx->in);
	buf_free(&sx->inq);
	buf_free(&sx->raw);
	free(sx->raw_pfx);
	buf_free(&sx->out);
	free(sx);
}

void sx_free(struct sx **sxp)
{
	struct sx *sx = *sxp;

	if (sx == NULL)
		return;
	*sxp = NULL;
	if (sx->busy > 0) {
		/* Called from one of our callbacks: quietly end everything
		 * and free when the outermost call returns. */
		sx->free_pending = 1;
		sx->closed_called = 1;
		sx->flags |= SX_F_CLOSED;
		sx_stop(sx);
		return;
	}
	sx_destroy(sx);
}

int sx_trim(struct sx *sx)
{
	int i;

	if (sx->busy > 0 || (sx->flags & SX_F_CLOSED) || sx->in.len > 0)
		return 0;
	for (i = 0; i < sx->nplugins; i++)
		if (sx->plugins[i].p->trim != NULL)
			sx->plugins[i].p->trim(sx, sx->plugins[i].data);
	/* The output buffer needs nothing: sx_output_consumed frees it
	 * once drained. */
	return sx_parser_park(sx);
}

void sx_keep_raw(struct sx *sx, int on)
{
	if (on && !sx->keep_raw) {
		/* An element already under way is not captured. */
		buf_reset(&sx->raw);
		sx->raw_base = sx->fed;
	}
	sx->keep_raw = on != 0;
	if (on && sx->raw_pfx == NULL)
		sx->raw_pfx = xcalloc(SX_RAW_PFX, sizeof(*sx->raw_pfx));
	if (!on) {
		buf_free(&sx->raw);
		free(sx->raw_pfx);
		sx->raw_pfx = NULL;
		sx->raw_ok = 0;
	}
	sx->raw_npfx = sx->raw_pfx_over = 0;
}

const char *sx_id(const struct sx *sx)
{
	return sx->id;
}

unsigned sx_flags(const struct sx *sx)
{
	return sx->flags;
}

enum sx_type sx_type(const struct sx *sx)
{
	return sx->type;
}

void *sx_ctx(const struct sx *sx)
{
	return sx->ctx;
}

const struct sx_auth *sx_auth(const struct sx *sx)
{
	return sx->have_auth ? &sx->auth : NULL;
}

void sx_set_flags(struct sx *sx, unsigned flags)
{
	sx->flags |= flags;
}

void sx_clear_flags(struct sx *sx, unsigned flags)
{
	sx->flags &= ~flags;
}

void sx_set_auth(struct sx *sx, const struct sx_auth *auth)
{
	const char *mech = auth->mechanism != NULL ? auth->mechanism : "";
	size_t len = str_size(mech) + str_size(auth->authcid) + str_size(auth->authzid) +
		     str_size(auth->realm);
	struct sx_auth copy;
	char *p;

	/* auth may point into sx->auth itself; copy before clearing. */
	p = xmalloc(len);
	copy.mechanism = str_put(&p, mech);
	copy.authcid = str_put(&p, auth->authcid);
	copy.authzid = str_put(&p, auth->authzid);
	copy.realm = str_put(&p, auth->realm);
	sx_auth_clear(sx);
	sx->auth = copy;
	sx->have_auth = 1;
}

void sx_event(struct sx *sx, enum sx_event ev, const void *data)
{
	sx_enter(sx);
	if (sx->cb->event != NULL && !sx->free_pending)
		sx->cb->event(sx, ev, data, sx->ctx);
	sx_leave(sx);
}

/* ---- plugins ---- */

int sx_plugin_attach(struct sx *sx, const struct sx_plugin *plugin, void *pdata)
{
	int i;

	for (i = 0; i < sx->nplugins; i++)
		if (sx->plugins[i].p == plugin)
			return -1;
	if (sx->nplugins == SX_MAX_PLUGINS)
		return -1;
	sx->plugins[sx->nplugins].p = plugin;
	sx->plugins[sx->nplugins].data = pdata;
	sx->nplugins++;
	return 0;
}

void *sx_plugin_data(struct sx *sx, const struct sx_plugin *plugin)
{
	int i;

	for (i = 0; i < sx->nplugins; i++)
		if (sx->plugins[i].p == plugin)
			return sx->plugins[i].data;
	return NULL;
}

void sx_plugin_set_data(struct sx *sx, const struct sx_plugin *plugin, void *pdata)
{
	int i;

	for (i = 0; i < sx->nplugins; i++)
		if (sx->plugins[i].p == plugin)
			sx->plugins[i].data = pdata;
}

/* Both headers are out: mark the stream open and tell the plugins. */
void sx_check_open(struct sx *sx)
{
	int i;

	if (!sx->header_sent || !sx->header_recv || (sx->flags & (SX_F_OPEN | SX_F_CLOSED)))
		return;
	sx->flags |= SX_F_OPEN;
	for (i = 0; i < sx->nplugins && !(sx->flags & SX_F_CLOSED); i++)
		if (sx->plugins[i].p->stream_open != NULL)
			sx->plugins[i].p->stream_open(sx, sx->plugins[i].data, &sx->peer.h);
}

/* ---- sending ---- */

void sx_open(struct sx *sx, const struct sx_header *hdr)
{
	const char *id = hdr->id;

	sx_enter(sx);
	if ((sx->flags & SX_F_CLOSED) || sx->header_sent || sx->we_closed)
		goto out;
	if (sx->type == SX_SERVER) {
		free(sx->id);
		sx->id = hdr->id != NULL ? xstrdup(hdr->id) : sx_random_id();
		id = sx->id;
	}
	free(sx->out_ns);
	free(sx->out_prefix);
	free(sx->out_prefix_ns);
	sx->out_ns = xstrdup_opt(hdr->ns);
	sx->out_prefix = NULL;
	sx->out_prefix_ns = NULL;
	if (hdr->extra_prefix != NULL && hdr->extra_ns != NULL) {
		sx->out_prefix = xstrdup(hdr->extra_prefix);
		sx->out_prefix_ns = xstrdup(hdr->extra_ns);
	}
	sx_write_header(sx, hdr, id);
	sx_check_open(sx);
out:
	sx_leave(sx);
}

void sx_send(struct sx *sx, struct nad *nad)
{
	const char *scope[] = { "stream", SX_NS_STREAMS, NULL, NULL, NULL };
	const char *raw, *raw_ns;
	struct buf b = { 0 };
	size_t len;

	sx_enter(sx);
	if ((sx->flags & SX_F_CLOSED) || sx->we_closed || nad_root(nad) == NAD_NONE)
		goto out;
	if (sx->out_prefix != NULL) {
		scope[2] = sx->out_prefix;
		scope[3] = sx->out_prefix_ns;
	}
	raw = nad_raw(nad, &len, &raw_ns);
	if (raw != NULL && (raw_ns == NULL ||
			    (sx->out_ns != NULL && strcmp(raw_ns, sx->out_ns) == 0))) {
		sx_write(sx, raw, len);
		goto out;
	}
	nad_serialize_scoped(nad, nad_root(nad), sx->out_ns, scope, &b);
	sx_write(sx, b.data, b.len);
out:
	buf_free(&b);
	nad_free(&nad);
	sx_leave(sx);
}

void sx_send_raw(struct sx *sx, const char *data, size_t len)
{
	sx_enter(sx);
	if (!(sx->flags & SX_F_CLOSED) && !sx->we_closed)
		sx_write(sx, data, len);
	sx_leave(sx);
}

struct nad *sx_features_new(struct sx *sx)
{
	struct nad *nad = nad_new();
	int f = nad_elem_add_prefixed(nad, NAD_NONE, SX_NS_STREAMS, "stream", "features");
	int i;

	sx_enter(sx);
	for (i = 0; i < sx->nplugins; i++)
		if (sx->plugins[i].p->features != NULL)
			sx->plugins[i].p->features(sx, sx->plugins[i].data, nad, f);
	sx_leave(sx);
	return nad;
}

/* RFC 6120 conditions are lower-case words joined by hyphens. */
static int sx_condition_ok(const char *c)
{
	if (c == NULL || *c == '\0')
		return 0;
	for (; *c != '\0'; c++)
		if (!((*c >= 'a' && *c <= 'z') || *c == '-'))
			return 0;
	return 1;
}

/* Our header when a stream error comes before we opened (RFC 6120
 * 4.9.1.1): echo the peer's content namespace, if we heard it. */
static void sx_error_header(struct sx *sx)
{
	struct sx_header h = { 0 };
	char *id = sx_random_id();

	h.ns = sx->peer.set ? sx->peer.h.ns : sx->decl_default;
	h.version = "1.0";
	if (sx->type == SX_SERVER && sx->peer.set)
		h.from = sx->peer.h.to;
	sx_write_header(sx, &h, id);
	free(id);
}

void sx_error(struct sx *sx, const char *condition, const char *text)
{
	struct buf b = { 0 };

	sx_enter(sx);
	if ((sx->flags & SX_F_CLOSED) || sx->error_sent)
		goto out;
	sx->error_sent = 1;
	if (!sx_condition_ok(condition))
		condition = "undefined-condition";
	if (!sx->we_closed) {
		if (!sx->header_sent)
			sx_error_header(sx);
		buf_printf(&b, "<stream:error><%s xmlns='" SX_NS_STREAM_ERRORS "'", condition);
		/* see-other-host carries its address as content (4.9.3.19). */
		if (text != NULL && strcmp(condition, "see-other-host") == 0) {
			buf_append_char(&b, '>');
			buf_append_xml(&b, text, strlen(text), 0);
			buf_printf(&b, "</%s>", condition);
		} else if (text != NULL) {
			buf_append_str(&b, "/><text xmlns='" SX_NS_STREAM_ERRORS "'>");
			buf_append_xml(&b, text, strlen(text), 0);
			buf_append_str(&b, "</text>");
		} else {
			buf_append_str(&b, "/>");
		}
		buf_append_str(&b, "</stream:error></stream:stream>");
		sx_write(sx, b.data, b.len);
		sx->we_closed = 1;
	}
	sx_finish(sx, condition, text);
out:
	buf_free(&b);
	sx_leave(sx);
}

void sx_close(struct sx *sx)
{
	sx_enter(sx);
	if (sx->flags & SX_F_CLOSED)
		goto out;
	if (!sx->we_closed && sx->header_sent)
		sx_write_str(sx, "</stream:stream>");
	sx->we_closed = 1;
	/* Never opened, or the peer is already gone: nothing to wait for. */
	if (!sx->header_sent || sx->peer_closed)
		sx_finish(sx, NULL, NULL);
out:
	sx_leave(sx);
}

int sx_input_plain(struct sx *sx, const void *data, size_t len)
{
	int r;

	sx_enter(sx);
	if (!(sx->flags & SX_F_CLOSED))
		sx_parse(sx, data, len);
	r = (sx->flags & SX_F_CLOSED) ? -1 : 0;
	return sx_leave(sx) ? -1 : r;
}

/* Run the rio stages over what arrived; 0, or -1 if one failed. */
static int sx_rio(struct sx *sx)
{
	int i;

	for (i = 0; i < sx->nplugins; i++) {
		const struct sx_plugin *p = sx->plugins[i].p;

		if (p->rio == NULL)
			continue;
		if (p->rio(sx, sx->plugins[i].data, &sx->in) < 0 || (sx->flags & SX_F_CLOSED)) {
			buf_reset(&sx->in);
			sx_finish(sx, "undefined-condition", "input transform failed");
			return -1;
		}
	}
	return 0;
}

int sx_input(struct sx *sx, const void *data, size_t len)
{
	int i, has_rio = 0, r;

	sx_enter(sx);
	for (i = 0; i < sx->nplugins; i++)
		has_rio |= sx->plugins[i].p->rio != NULL;
	if (sx->flags & SX_F_CLOSED) {
		/* over: ignore */
	} else if (!has_rio) {
		sx_parse(sx, data, len);
	} else {
		buf_append(&sx->in, data, len);
		if (sx_rio(sx) == 0) {
			struct buf plain = sx->in;

			/* Taken out so a callback may feed sx_input again. */
			buf_init(&sx->in);
			sx_parse(sx, plain.data, plain.len);
			buf_free(&plain);
		}
	}
	r = (sx->flags & SX_F_CLOSED) ? -1 : 0;
	return sx_leave(sx) ? -1 : r;
}
