/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * iqauth.c: XEP-0078 non-SASL authentication, which jabberd2 offers by
 * default ("traditional" mechanisms in c2s.xml) and some old clients still
 * use: the plaintext method (traditional.plain) and the digest method
 * (traditional.digest: hex SHA-1 of the stream id and the password, as
 * jabberd2 offers it), both like SASL PLAIN only on an encrypted stream.
 * The digest method needs the password in clear on our side, so it is
 * offered only when passwords are stored so (authreg.scram.plaintext, or
 * a pipe program), and works only for rows that hold one. A good password
 * logs in and starts the session with the resource given in the same
 * request; the empty result waits for the sm. Failures count towards the
 * same delay and throttle as SASL failures.
 */
#include "config.h"
#include "c2s/c2s.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/hash.h"
#include "util/jid.h"
#include "util/log.h"
#include "util/nad.h"

int c2s_iqauth_offered(const struct c2s_conn *c)
{
	return (c->c2s->o.iqauth_plain || c->c2s->o.iqauth_digest) &&
	       (sx_flags(c->sx) & SX_F_ENCRYPTED) &&
	       !(sx_flags(c->sx) & SX_F_AUTHENTICATED);
}

/* The text of query/<name>, or NULL if absent or empty. */
static const char *field(const struct nad *nad, int q, const char *name)
{
	int e = nad_child(nad, q, C2S_NS_IQAUTH, name);
	size_t len;
	const char *t;

	if (e == NAD_NONE)
		return NULL;
	t = nad_text(nad, e, &len);
	return len > 0 ? t : NULL;
}

static void iqauth_form(struct c2s_conn *c, const struct nad *nad, int q)
{
	struct nad *r = nad_new();
	const char *id = nad_attr(nad, 0, NULL, "id"), *user = field(nad, q, "username");
	int iq = nad_elem_add(r, NAD_NONE, SX_NS_CLIENT, "iq"), rq, e;

	nad_attr_set(r, iq, NULL, "type", "result");
	if (id != NULL)
		nad_attr_set(r, iq, NULL, "id", id);
	rq = nad_elem_add(r, iq, C2S_NS_IQAUTH, "query");
	e = nad_elem_add(r, rq, C2S_NS_IQAUTH, "username");
	if (user != NULL)
		nad_text_append(r, e, user, strlen(user));
	if (c->c2s->o.iqauth_plain)
		nad_elem_add(r, rq, C2S_NS_IQAUTH, "password");
	if (c->c2s->o.iqauth_digest)
		nad_elem_add(r, rq, C2S_NS_IQAUTH, "digest");
	nad_elem_add(r, rq, C2S_NS_IQAUTH, "resource");
	sx_send(c->sx, r);
}

/* The digest method: lowercase hex SHA-1 of the stream id followed by the
 * password (XEP-0078 section 3.2), compared in constant time. */
static int check_digest(struct c2s_conn *c, const char *node, const char *digest)
{
	struct sx_sasl_secret sec = { 0 };
	char want[HASH_SHA1_HEX_SIZE], got[HASH_SHA1_HEX_SIZE], *text;
	size_t i;
	int rc = authreg_get_secret(c->c2s->ar, node, c->realm, NULL, &sec), ok;

	if (rc != AUTHREG_OK)
		return rc;
	if (sec.password == NULL)
		return AUTHREG_FAIL;
	text = xasprintf("%s%s", sx_id(c->sx) != NULL ? sx_id(c->sx) : "", sec.password);
	ok = hash_sha1_hex(text, strlen(text), want) == 0;
	OPENSSL_cleanse(text, strlen(text));
	free(text);
	OPENSSL_cleanse(sec.password, strlen(sec.password));
	free(sec.password);
	if (!ok)
		return AUTHREG_ERROR;
	for (i = 0; digest[i] != '\0' && i < sizeof(got) - 1; i++)
		got[i] = (char)tolower((unsigned char)digest[i]);
	got[i] = '\0';
	ok = digest[i] == '\0' && hash_str_equal_ct(got, want);
	OPENSSL_cleanse(want, sizeof(want));
	return ok ? AUTHREG_OK : AUTHREG_FAIL;
}

static void iqauth_set(struct c2s_conn *c, const struct nad *nad, int q)
{
	const char *user = field(nad, q, "username"), *pass = field(nad, q, "password");
	const char *digest = field(nad, q, "digest");
	const char *res = field(nad, q, "resource"), *error;
	char node[JID_PART_MAX + 1];
	int rc;

	if (user == NULL || res == NULL || jid_nodeprep(user, node, sizeof(node), &error) < 0) {
		c2s_iq_error(c, nad, "modify", "not-acceptable");
		return;
	}
	if (!(pass != NULL && c->c2s->o.iqauth_plain) &&
	    !(digest != NULL && c->c2s->o.iqauth_digest)) {
		/* A method not offered (the token method never is). */
		c2s_iq_error(c, nad, "cancel", "not-allowed");
		return;
	}
	free(c->last_authcid);
	c->last_authcid = xstrdup(node);
	if (c2s_auth_throttled(c, node))
		rc = AUTHREG_ERROR;
	else if (pass != NULL && c->c2s->o.iqauth_plain)
		rc = authreg_check_password(c->c2s->ar, node, c->realm, pass);
	else
		rc = check_digest(c, node, digest);
	if (rc != AUTHREG_OK) {
		c2s_iq_error(c, nad, rc == AUTHREG_FAIL ? "auth" : "wait",
			     rc == AUTHREG_FAIL ? "not-authorized" : "resource-constraint");
		c2s_auth_failed(c, rc == AUTHREG_FAIL ? "not-authorized" : "temporary-auth-failure");
		return;
	}
	c->user = xstrdup(node);
	c->state = C2S_AUTHED;
	c->c2s->n.logins++;
	log_notice("c2s: conn %s: authenticated as %s@%s (iq:auth)", c->id, c->user, c->domain);
	if (c2s_session_start(c, res, nad_attr(nad, 0, NULL, "id"), 1) < 0)
		c2s_iq_error(c, nad, "modify", "not-acceptable");
}

void c2s_iqauth(struct c2s_conn *c, const struct nad *nad, int query)
{
	const char *type = nad_attr(nad, 0, NULL, "type");

	if (!c2s_iqauth_offered(c)) {
		c2s_iq_error(c, nad, "cancel", "not-allowed");
		return;
	}
	if (strcmp(nad_name(nad, query), "query") != 0 || type == NULL) {
		c2s_iq_error(c, nad, "modify", "bad-request");
		return;
	}
	if (strcmp(type, "get") == 0)
		iqauth_form(c, nad, query);
	else if (strcmp(type, "set") == 0)
		iqauth_set(c, nad, query);
	else
		c2s_iq_error(c, nad, "modify", "bad-request");
}
