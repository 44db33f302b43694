/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One client stream, without I/O: bytes from the server go in through
 * xb_conn_input(), replies go out through the xb_io hooks, and the scenario
 * hears about readiness, stanzas and failure through xb_events. The login
 * follows RFC 6120's order: stream, STARTTLS, stream, SASL, stream, bind,
 * legacy session when the server requires it, then initial presence and a
 * roster get whose answer says the session is available (jabberd2's sm does
 * not echo initial presence, so the roster result is the one barrier every
 * server gives).
 *
 * Whatever the server sends is bounded here: only a few attributes and
 * 2 KB of text per element are kept, and anything unexpected fails the
 * stream with a reason instead of waiting forever.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "bench/xmpp-bench/xb.h"

#define NS_TLS "urn:ietf:params:xml:ns:xmpp-tls"
#define NS_SASL "urn:ietf:params:xml:ns:xmpp-sasl"

static const char *local_name(const char *name)
{
	const char *colon = strrchr(name, ':');
	return colon ? colon + 1 : name;
}

static void copy_bounded(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);
	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void out(struct xb_conn *c, const char *s)
{
	c->io->write(c, s, strlen(s));
}

static void stop(struct xb_conn *c)
{
	XML_StopParser(c->xp, XML_FALSE);
}

void xb_conn_fail(struct xb_conn *c, const char *why)
{
	if (c->state == XS_FAILED || c->state == XS_DONE)
		return;
	c->state = XS_FAILED;
	c->error = why;
	c->ev->failed(c);
}

void xb_conn_done(struct xb_conn *c)
{
	if (c->state != XS_CLOSING)
		return;
	c->state = XS_DONE;
	c->ev->failed(c);
}

static void send_header(struct xb_conn *c)
{
	char buf[512];

	snprintf(buf, sizeof buf,
		 "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
		 "xmlns:stream='http://etherx.jabber.org/streams' to='%s' "
		 "version='1.0'>", c->opts->domain);
	out(c, buf);
	c->state = XS_FEATURES;
}

static void start_auth(struct xb_conn *c, unsigned features)
{
	char user[128], raw[512], msg[1024], b64[1400], xml[1600];
	const struct xb_opts *o = c->opts;
	const char *mech;
	int n;

	snprintf(user, sizeof user, "%s%ld", o->user_prefix, c->user);
	if (o->mech == XB_MECH_PLAIN) {
		if (!(features & XF_PLAIN)) {
			xb_conn_fail(c, "server does not offer PLAIN");
			return;
		}
		mech = "PLAIN";
		n = snprintf(raw, sizeof raw, "%c%s%c%s", 0, user, 0,
			     o->password);
		xb_b64_encode((unsigned char *)raw, (size_t)n, b64, sizeof b64);
	} else {
		unsigned char rnd[12];
		char nonce[32];

		if (!(features & XF_SCRAM1)) {
			xb_conn_fail(c, "server does not offer SCRAM-SHA-1");
			return;
		}
		mech = "SCRAM-SHA-1";
		RAND_bytes(rnd, sizeof rnd);
		xb_b64_encode(rnd, sizeof rnd, nonce, sizeof nonce);
		if (xb_scram_first(&c->scram, user, nonce, msg, sizeof msg) < 0) {
			xb_conn_fail(c, "user name too long for SCRAM");
			return;
		}
		xb_b64_encode((unsigned char *)msg, strlen(msg), b64, sizeof b64);
	}
	snprintf(xml, sizeof xml, "<auth xmlns='" NS_SASL "' mechanism='%s'>"
		 "%s</auth>", mech, b64);
	out(c, xml);
	c->state = XS_AUTH;
}

static void on_features(struct xb_conn *c, unsigned f)
{
	char buf[256];

	if (c->opts->tls && !c->tls_up) {
		if (!(f & XF_STARTTLS)) {
			xb_conn_fail(c, "server does not offer STARTTLS");
			return;
		}
		out(c, "<starttls xmlns='" NS_TLS "'/>");
		c->state = XS_STARTTLS;
	} else if (!c->authed) {
		start_auth(c, f);
	} else if (f & XF_BIND) {
		snprintf(buf, sizeof buf, "<iq type='set' id='bind'><bind "
			 "xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>"
			 "xb%ld</resource></bind></iq>", c->index);
		out(c, buf);
		c->session_needed = (f & XF_SESSION) && !(f & XF_SESSION_OPT);
		c->state = XS_BIND;
	} else {
		xb_conn_fail(c, "server does not offer resource binding");
	}
}

static void go_online(struct xb_conn *c)
{
	out(c, "<presence/><iq type='get' id='roster'>"
	       "<query xmlns='jabber:iq:roster'/></iq>");
	c->state = XS_ROSTER;
}

static void on_sasl(struct xb_conn *c, const struct xb_stanza *st)
{
	char msg[1400], b64[1900], xml[2000];
	unsigned char raw[1400];
	size_t len;
	const char *err = NULL;

	if (strcmp(st->name, "failure") == 0) {
		xb_conn_fail(c, "SASL failure (wrong user or password?)");
		return;
	}
	bool success = strcmp(st->name, "success") == 0;
	if (!success && strcmp(st->name, "challenge") != 0) {
		xb_conn_fail(c, "unexpected element during SASL");
		return;
	}
	if (c->opts->mech == XB_MECH_PLAIN) {
		if (!success) {
			xb_conn_fail(c, "challenge to PLAIN");
			return;
		}
	} else {
		if (xb_b64_decode(st->body, raw, sizeof raw - 1, &len) < 0) {
			xb_conn_fail(c, "SASL data is not base64");
			return;
		}
		raw[len] = '\0';
		if (success ? xb_scram_verify(&c->scram, (char *)raw, &err) :
			      xb_scram_final(&c->scram, c->opts->password,
					     (char *)raw, msg, sizeof msg,
					     &err)) {
			xb_conn_fail(c, err);
			return;
		}
		if (!success) {
			xb_b64_encode((unsigned char *)msg, strlen(msg), b64,
				      sizeof b64);
			snprintf(xml, sizeof xml, "<response xmlns='" NS_SASL
				 "'>%s</response>", b64);
			out(c, xml);
			return;
		}
	}
	c->authed = true;
	c->restart = true;
	stop(c);
}

static void on_iq(struct xb_conn *c, const struct xb_stanza *st)
{
	bool result = strcmp(st->type, "result") == 0;

	if (c->state == XS_BIND && strcmp(st->id, "bind") == 0) {
		if (!result)
			xb_conn_fail(c, "bind refused");
		else if (c->session_needed) {
			out(c, "<iq type='set' id='sess'><session xmlns="
			       "'urn:ietf:params:xml:ns:xmpp-session'/></iq>");
			c->state = XS_SESSION;
		} else
			go_online(c);
	} else if (c->state == XS_SESSION && strcmp(st->id, "sess") == 0) {
		if (!result)
			xb_conn_fail(c, "session refused");
		else
			go_online(c);
	} else if (c->state == XS_ROSTER && strcmp(st->id, "roster") == 0) {
		if (!result) {
			xb_conn_fail(c, "roster get refused");
			return;
		}
		c->state = XS_READY;
		c->ev->ready(c);
	} else if (c->state == XS_READY) {
		c->ev->stanza(c, st);
	}
}

/* A whole child of the stream has been read. */
static void dispatch(struct xb_conn *c)
{
	struct xb_stanza *st = &c->st;

	if (strcmp(st->name, "error") == 0) {
		snprintf(c->errbuf, sizeof c->errbuf,
			 "stream error from server: %s (login state %d)",
			 st->status, (int)c->state);
		xb_conn_fail(c, c->errbuf);
		stop(c);
		return;
	}
	switch (c->state) {
	case XS_FEATURES:
		if (strcmp(st->name, "features") == 0)
			on_features(c, st->features);
		break;
	case XS_STARTTLS:
		if (strcmp(st->name, "proceed") != 0) {
			xb_conn_fail(c, "STARTTLS refused");
			break;
		}
		c->state = XS_TLS;
		stop(c);
		c->io->starttls(c);
		break;
	case XS_AUTH:
		on_sasl(c, st);
		break;
	case XS_BIND:
	case XS_SESSION:
	case XS_ROSTER:
	case XS_READY:
		if (strcmp(st->name, "iq") == 0)
			on_iq(c, st);
		else if (c->state == XS_READY)
			c->ev->stanza(c, st);
		break;
	default:
		break;
	}
	if (c->state == XS_FAILED)
		stop(c);
}

static const char *attr(const XML_Char **atts, const char *name)
{
	for (int i = 0; atts[i]; i += 2)
		if (strcmp(atts[i], name) == 0)
			return atts[i + 1];
	return NULL;
}

static void XMLCALL on_start(void *ud, const XML_Char *name,
			     const XML_Char **atts)
{
	struct xb_conn *c = ud;
	const char *ln = local_name(name);
	int level = ++c->depth;
	const char *v;

	c->textlen = 0;
	c->text[0] = '\0';
	if (level == 2) {
		struct xb_stanza *st = &c->st;
		copy_bounded(st->name, sizeof st->name, ln);
		copy_bounded(st->type, sizeof st->type,
			     (v = attr(atts, "type")) ? v : "");
		copy_bounded(st->id, sizeof st->id,
			     (v = attr(atts, "id")) ? v : "");
		copy_bounded(st->from, sizeof st->from,
			     (v = attr(atts, "from")) ? v : "");
		st->body[0] = st->status[0] = '\0';
		st->features = 0;
	} else if (level == 3 && strcmp(c->st.name, "features") == 0) {
		if (strcmp(ln, "starttls") == 0)
			c->st.features |= XF_STARTTLS;
		else if (strcmp(ln, "bind") == 0)
			c->st.features |= XF_BIND;
		else if (strcmp(ln, "session") == 0)
			c->st.features |= XF_SESSION;
	} else if (level == 3 && strcmp(c->st.name, "error") == 0 &&
		   c->st.status[0] == '\0') {
		/* The stream error's condition, to say why we were thrown out. */
		copy_bounded(c->st.status, sizeof c->st.status, ln);
	} else if (level == 4 && strcmp(ln, "optional") == 0 &&
		   (c->st.features & XF_SESSION)) {
		c->st.features |= XF_SESSION_OPT;
	}
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
	struct xb_conn *c = ud;
	const char *ln = local_name(name);
	int level = c->depth--;

	if (level == 1) {
		if (c->state == XS_CLOSING)
			xb_conn_done(c);
		else
			xb_conn_fail(c, "server closed the stream");
		stop(c);
	} else if (level == 2) {
		if (strcmp(c->st.name, "challenge") == 0 ||
		    strcmp(c->st.name, "success") == 0)
			copy_bounded(c->st.body, sizeof c->st.body, c->text);
		dispatch(c);
	} else if (level == 3 && strcmp(ln, "body") == 0) {
		copy_bounded(c->st.body, sizeof c->st.body, c->text);
	} else if (level == 3 && strcmp(ln, "status") == 0) {
		copy_bounded(c->st.status, sizeof c->st.status, c->text);
	} else if (level == 4 && strcmp(ln, "mechanism") == 0) {
		if (strcmp(c->text, "PLAIN") == 0)
			c->st.features |= XF_PLAIN;
		else if (strcmp(c->text, "SCRAM-SHA-1") == 0)
			c->st.features |= XF_SCRAM1;
	}
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
	struct xb_conn *c = ud;
	size_t room = sizeof c->text - 1 - c->textlen;
	size_t n = (size_t)len < room ? (size_t)len : room;

	memcpy(c->text + c->textlen, s, n);
	c->textlen += n;
	c->text[c->textlen] = '\0';
}

static void parser_setup(struct xb_conn *c)
{
	XML_SetUserData(c->xp, c);
	XML_SetElementHandler(c->xp, on_start, on_end);
	XML_SetCharacterDataHandler(c->xp, on_text);
	c->depth = 0;
}

void xb_conn_init(struct xb_conn *c, const struct xb_opts *o,
		  const struct xb_io *io, const struct xb_events *ev,
		  long index, long user)
{
	memset(c, 0, sizeof *c);
	c->opts = o;
	c->io = io;
	c->ev = ev;
	c->index = index;
	c->user = user;
	snprintf(c->jid, sizeof c->jid, "%s%ld@%s", o->user_prefix, user,
		 o->domain);
	c->xp = XML_ParserCreate(NULL);
	if (c->xp == NULL)
		abort();
	parser_setup(c);
	c->state = XS_CONNECTING;
	c->t_start = xb_now();
}

void xb_conn_cleanup(struct xb_conn *c)
{
	if (c->xp)
		XML_ParserFree(c->xp);
	c->xp = NULL;
}

void xb_conn_connected(struct xb_conn *c)
{
	send_header(c);
}

void xb_conn_tls_up(struct xb_conn *c)
{
	c->tls_up = true;
	XML_ParserReset(c->xp, NULL);
	parser_setup(c);
	send_header(c);
}

int xb_conn_input(struct xb_conn *c, const char *data, size_t len)
{
	if (c->state == XS_FAILED || c->state == XS_DONE)
		return -1;
	if (c->state == XS_TLS)
		return 0; /* the rest of a chunk that held <proceed/> */
	if (XML_Parse(c->xp, data, (int)len, XML_FALSE) == XML_STATUS_ERROR &&
	    XML_GetErrorCode(c->xp) != XML_ERROR_ABORTED)
		xb_conn_fail(c, "server sent XML that is not well-formed");
	if (c->state == XS_FAILED)
		return -1;
	if (c->restart) {
		/* Nothing may follow <success/> before our new header. */
		c->restart = false;
		XML_ParserReset(c->xp, NULL);
		parser_setup(c);
		send_header(c);
	}
	return 0;
}

void xb_conn_send(struct xb_conn *c, const char *xml, size_t len)
{
	c->io->write(c, xml, len);
}

void xb_conn_close(struct xb_conn *c)
{
	if (c->state == XS_FAILED || c->state == XS_DONE)
		return;
	out(c, "</stream:stream>");
	c->state = XS_CLOSING;
}
