/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * auth.c: SASL on client streams. The sx SASL plugin runs the exchanges;
 * here are its callbacks into authreg (SCRAM keys or a plaintext password,
 * PLAIN checks), what happens after success (the identity, the upgrade of
 * a jabberd2 plaintext row) and after failure: a growing pause before the
 * stream is read again, the stream closed after a few failures, and a
 * throttle per client address and per account that answers
 * temporary-auth-failure, without asking authreg, while it lasts.
 */
#include "config.h"
#include "c2s/c2s.h"

#include <openssl/crypto.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "link/link.h"
#include "util/buf.h"
#include "util/hash.h"
#include "util/jid.h"
#include "util/log.h"
#include "util/xhash.h"

/* Failed attempts on one stream before it is closed. */
#define C2S_AUTH_TRIES 3
/* Longest pause after a failure. */
#define C2S_AUTH_DELAY_MAX_MS 10000

struct c2s_fail {
	time_t start;
	int count;
};

/* ---- failure counting ---- */

int c2s_fail_blocked(struct xhash *table, const char *key, int limit, int window)
{
	struct c2s_fail *f = xhash_get(table, key);

	if (f == NULL || limit <= 0)
		return 0;
	if (time(NULL) - f->start >= window) {
		free(xhash_remove(table, key));
		return 0;
	}
	return f->count >= limit;
}

void c2s_fail_note(struct xhash *table, const char *key, int window)
{
	struct c2s_fail *f = xhash_get(table, key);
	time_t now = time(NULL);

	if (f == NULL) {
		f = xcalloc(1, sizeof(*f));
		xhash_put(table, key, f);
	}
	if (now - f->start >= window) {
		f->start = now;
		f->count = 0;
	}
	f->count++;
}

void c2s_fail_prune(struct xhash *table, int window)
{
	struct xhash_iter it;
	const char *key;
	void *val;
	time_t now = time(NULL);

	xhash_iter_init(table, &it);
	while (xhash_iter_next(&it, &key, &val))
		if (now - ((struct c2s_fail *)val)->start >= window)
			free(xhash_iter_remove(&it));
}

void c2s_fail_table_free(struct xhash **tablep)
{
	if (*tablep == NULL)
		return;
	xhash_clear(*tablep, free);
	xhash_free(tablep);
}

/* "user:<node>@<realm>" for the account throttle. */
static char *user_key(const struct c2s_conn *c, const char *node)
{
	return xasprintf("user:%s@%s", node, c->realm != NULL ? c->realm : "");
}

/* Is this client or this account throttled? Logs when it is. */
int c2s_auth_throttled(struct c2s_conn *c, const char *node)
{
	struct c2s *c2s = c->c2s;
	char ipbuf[C2S_IP_MAX];
	const char *ip = c2s_client_ip(c, ipbuf, sizeof(ipbuf));
	char *ukey = user_key(c, node), *ikey = xasprintf("ip:%s", ip);
	int limit = c2s->o.auth_fail_limit, win = c2s->o.auth_fail_window;
	int blocked = c2s_fail_blocked(c2s->fails, ikey, limit, win) ||
		      c2s_fail_blocked(c2s->fails, ukey, limit, win);

	if (blocked)
		log_notice("c2s: conn %s: too many failed logins for %s or from %s; "
			   "refused for now", c->id, node, ip);
	free(ukey);
	free(ikey);
	return blocked;
}

/* Prepare an authcid as a JID node; NULL if it cannot be one. */
static char *prep_node(const char *authcid)
{
	char node[JID_PART_MAX + 1];
	const char *error;

	if (authcid == NULL || authcid[0] == '\0' ||
	    jid_nodeprep(authcid, node, sizeof(node), &error) < 0)
		return NULL;
	return xstrdup(node);
}

static void remember_authcid(struct c2s_conn *c, const char *node)
{
	free(c->last_authcid);
	c->last_authcid = xstrdup(node);
}

static void forget_upgrade(struct c2s_conn *c)
{
	if (c->upgrade_pw != NULL) {
		OPENSSL_cleanse(c->upgrade_pw, strlen(c->upgrade_pw));
		free(c->upgrade_pw);
		c->upgrade_pw = NULL;
	}
}

/* ---- sx SASL callbacks ---- */

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* /metrics: how long the backend kept c2s waiting. */
static void authreg_timed(struct c2s *c2s, uint64_t t0)
{
	c2s->n.authreg_calls++;
	c2s->n.authreg_us += now_us() - t0;
}

static int cb_lookup(struct sx *sx, const char *mech, const char *hash,
		     const char *authcid, const char *realm, struct sx_sasl_secret *secret)
{
	struct c2s_conn *c = link_sx_owner(sx);
	char *node = prep_node(authcid);
	uint64_t t0;
	int rc;

	if (node == NULL)
		return SX_SASL_FAIL;
	remember_authcid(c, node);
	if (c2s_auth_throttled(c, node)) {
		free(node);
		return SX_SASL_ERROR;
	}
	t0 = now_us();
	rc = authreg_get_secret(c->c2s->ar, node, realm, hash, secret);
	authreg_timed(c->c2s, t0);
	forget_upgrade(c);
	if (rc == AUTHREG_OK && secret->password != NULL)
		c->upgrade_pw = xstrdup(secret->password);
	free(node);
	return rc;
}

static int cb_check_password(struct sx *sx, const char *authcid, const char *realm,
			     const char *password)
{
	struct c2s_conn *c = link_sx_owner(sx);
	char *node = prep_node(authcid);
	uint64_t t0;
	int rc;

	if (node == NULL)
		return SX_SASL_FAIL;
	remember_authcid(c, node);
	if (c2s_auth_throttled(c, node)) {
		free(node);
		return SX_SASL_ERROR;
	}
	t0 = now_us();
	rc = authreg_check_password(c->c2s->ar, node, realm, password);
	authreg_timed(c->c2s, t0);
	free(node);
	return rc;
}

/* ---- EXTERNAL ---- */

/* The node of `name` if it is a bare JID of the stream's domain. */
static char *external_node(const struct c2s_conn *c, const char *name)
{
	const char *error;
	struct jid *j = name != NULL ? jid_new(name, strlen(name), &error) : NULL;
	char *node = NULL;

	if (j != NULL && jid_node(j)[0] != '\0' && jid_resource(j)[0] == '\0' &&
	    strcmp(jid_domain(j), c->domain) == 0)
		node = xstrdup(jid_node(j));
	jid_free(&j);
	return node;
}

/*
 * The account an EXTERNAL login is for: the certificate's id-on-xmppAddr
 * JIDs are the identities its holder has proved. Without an authzid the
 * first JID of this domain is taken; an authzid (bare JID or node) must be
 * one of them, so a certificate issued to one user never logs in as
 * another. NULL if the certificate names no such JID.
 */
static char *external_pick(const struct c2s_conn *c, const char *authzid)
{
	const char *const *names = sx_tls_peer_names(c->sx);
	char *node, *bare;

	for (size_t i = 0; names != NULL && names[i] != NULL; i++) {
		node = external_node(c, names[i]);
		if (node == NULL)
			continue;
		if (authzid == NULL || strcmp(authzid, node) == 0)
			return node;
		bare = xasprintf("%s@%s", node, c->domain);
		if (strcmp(authzid, bare) == 0) {
			free(bare);
			return node;
		}
		free(bare);
		free(node);
	}
	return NULL;
}

/* EXTERNAL is authorized for an account the certificate names that
 * exists here (a certificate is no registration). */
static int external_authorize(struct c2s_conn *c, const char *authzid, const char *realm)
{
	char *node = external_pick(c, authzid);
	int rc;

	if (node == NULL) {
		log_notice("c2s: conn %s: EXTERNAL: the certificate names %s%s",
			   c->id, authzid != NULL ? "not " : "no JID of ",
			   authzid != NULL ? authzid : c->domain);
		return SX_SASL_FAIL;
	}
	remember_authcid(c, node);
	rc = authreg_user_exists(c->c2s->ar, node, realm);
	free(node);
	return rc;
}

/* A client may name itself as authzid: its node or its bare JID. */
static int cb_authorize(struct sx *sx, const char *mech, const char *authcid,
			const char *authzid, const char *realm)
{
	struct c2s_conn *c = link_sx_owner(sx);
	char *bare;
	int ok;

	if (strcmp(mech, "EXTERNAL") == 0)
		return external_authorize(c, authzid != NULL && authzid[0] != '\0' ? authzid : NULL,
					  realm);
	if (authzid == NULL || authzid[0] == '\0')
		return SX_SASL_OK;
	if (authcid == NULL)
		return SX_SASL_FAIL;
	if (strcmp(authzid, authcid) == 0)
		return SX_SASL_OK;
	bare = xasprintf("%s@%s", authcid, c->domain);
	ok = strcmp(authzid, bare) == 0;
	free(bare);
	return ok ? SX_SASL_OK : SX_SASL_FAIL;
}

int c2s_sasl_init(struct c2s *c2s, unsigned mechs, const char **error_r)
{
	static const struct sx_sasl_callbacks cb = {
		.lookup = cb_lookup,
		.check_password = cb_check_password,
		.authorize = cb_authorize,
	};
	struct sx_sasl_config cfg = {
		.mechs = mechs,
		.scram_iter = (unsigned)c2s->o.scram_iter,
		.cb = &cb,
	};

	c2s->sasl = sx_sasl_ctx_new(&cfg, error_r);
	return c2s->sasl != NULL ? 0 : -1;
}

/* ---- outcomes ---- */

static void on_delay_done(struct mio_timer *t, void *ctx)
{
	struct c2s_conn *c = ctx;

	/* While the sm starts the session, reading stays paused. */
	if (c->state != C2S_STARTING)
		link_resume(c->lk);
}

void c2s_pause(struct c2s_conn *c, unsigned ms)
{
	if (c->delay == NULL)
		c->delay = mio_timer_new(c->c2s->mio, on_delay_done, c);
	link_pause(c->lk);
	mio_timer_start(c->delay, ms, 0);
}

void c2s_auth_failed(struct c2s_conn *c, const char *condition)
{
	struct c2s *c2s = c->c2s;
	char ipbuf[C2S_IP_MAX];
	const char *ip = c2s_client_ip(c, ipbuf, sizeof(ipbuf));
	char *key = xasprintf("ip:%s", ip);
	unsigned ms;

	forget_upgrade(c);
	c2s->n.login_failures++;
	log_notice("c2s: conn %s: SASL failure (%s) for %s from %s", c->id, condition,
		   c->last_authcid != NULL ? c->last_authcid : "?", ip);
	/* A throttled attempt is not counted again. */
	if (strcmp(condition, "temporary-auth-failure") != 0) {
		c2s_fail_note(c2s->fails, key, c2s->o.auth_fail_window);
		if (c->last_authcid != NULL) {
			free(key);
			key = user_key(c, c->last_authcid);
			c2s_fail_note(c2s->fails, key, c2s->o.auth_fail_window);
		}
	}
	free(key);
	if (++c->auth_failures >= C2S_AUTH_TRIES) {
		c2s_conn_error(c, "not-authorized", "too many failed attempts");
		return;
	}
	ms = (unsigned)c2s->o.auth_delay_ms * (unsigned)c->auth_failures;
	if (ms > C2S_AUTH_DELAY_MAX_MS)
		ms = C2S_AUTH_DELAY_MAX_MS;
	if (ms > 0)
		c2s_pause(c, ms);
}

/*
 * ANONYMOUS (XEP-0175): a random node of our own, held in authreg as an
 * account without a password while the connection lasts. Nobody can log
 * in to it, and nobody can register it meanwhile: the name is the
 * anonymous user's JID, visible to everyone it talks to, and registering
 * it would let someone else speak as that user. A backend that cannot
 * hold it (a pipe program without CREATE-USER, a database down) does not
 * stop the login; the name is then only random.
 */
static char *anonymous_node(struct c2s_conn *c)
{
	char rnd[17];

	for (int tries = 0; tries < 3; tries++) {
		int rc;

		hash_random_id(rnd, sizeof(rnd) - 1);
		rc = authreg_create_user(c->c2s->ar, rnd, c->realm);
		if (rc == AUTHREG_FAIL)
			continue;       /* taken: draw again */
		if (rc == AUTHREG_OK)
			c->anon_reserved = 1;
		else
			log_warnx("c2s: conn %s: ANONYMOUS name %s not held in authreg",
				  c->id, rnd);
		c->anonymous = 1;
		return xstrdup(rnd);
	}
	return NULL;
}

void c2s_auth_release_anonymous(struct c2s_conn *c)
{
	if (!c->anon_reserved)
		return;
	c->anon_reserved = 0;
	authreg_delete_user(c->c2s->ar, c->user, c->realm);
}

static void auth_ok(struct c2s_conn *c, const struct sx_auth *auth)
{
	if (strcmp(auth->mechanism, "EXTERNAL") == 0) {
		c->user = external_pick(c, auth->authzid);
	} else if (auth->authcid == NULL) {
		c->user = anonymous_node(c);
	} else
		c->user = prep_node(auth->authcid);
	if (c->user == NULL) {
		c2s_conn_error(c, "not-authorized", NULL);
		return;
	}
	if (c->upgrade_pw != NULL)
		authreg_upgrade(c->c2s->ar, c->user, c->realm, c->upgrade_pw);
	forget_upgrade(c);
	c->state = C2S_AUTHED;
	c->c2s->n.logins++;
	log_notice("c2s: conn %s: authenticated as %s@%s (%s)", c->id, c->user,
		   c->domain, auth->mechanism);
}

void c2s_auth_event(struct c2s_conn *c, enum sx_event ev, const void *data)
{
	if (ev == SX_EV_AUTH_FAIL)
		c2s_auth_failed(c, data);
	else if (ev == SX_EV_AUTH_OK)
		auth_ok(c, data);
}
