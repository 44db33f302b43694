/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * authreg_ldap.c: the `ldap` authreg backend: a password is right when
 * the directory accepts a simple bind as the user's entry with it, as
 * jabberd2's ldap module.
 *
 * jabberd2's keys (authreg.ldap.*): host (required), port (389), v3
 * (accepted; LDAPv3 is always used, the v2 jabberd2 defaulted to is long
 * obsolete and refused by current servers), starttls or ssl (ldaps://;
 * not both), binddn and bindpw (the identity searches are made with;
 * anonymous without), uidattr (default uid), basedn (repeated; with
 * realm='R' for the host whose realm is R, without for the others).
 * Ours: query (an LDAP filter every user entry must also match, e.g.
 * "(objectClass=inetOrgPerson)"), fulluid (search for "user@realm"
 * instead of "user"), timeout (seconds per server operation, default 10).
 *
 * To find the entry, c2s binds as binddn and searches the realm's base
 * DN for (uidattr=user) (the name escaped as RFC 4515 says: jabberd2 put
 * it in the filter as it came); exactly one entry must match. Then it
 * binds as that entry with the password. An empty password is never
 * tried (LDAP reads a simple bind with no password as an anonymous
 * bind, which succeeds). Every operation is bounded by the timeout; a
 * lost connection is made again once per call.
 *
 * Only PLAIN (and XEP-0078's plaintext method) can work: the directory
 * keeps its passwords, so SCRAM and DIGEST-MD5 are not offered, and
 * registration and password change are refused.
 */
#include "config.h"
#include "c2s/authreg.h"

#include <ldap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "util/buf.h"
#include "util/config_file.h"
#include "util/log.h"

#define ARLDAP_TIMEOUT_DEFAULT 10
#define ARLDAP_MAX_BASEDN 256

struct arldap_base {
	char *realm;            /* NULL: the default */
	char *dn;
};

struct ar_ldap {
	LDAP *ld;
	char *uri;
	int starttls;
	char *binddn, *bindpw;
	char *uidattr;
	char *query;            /* extra filter, or NULL */
	int fulluid;
	int timeout;
	struct arldap_base *bases;
	size_t nbases;
};

static void arldap_drop(struct ar_ldap *d)
{
	if (d->ld != NULL)
		ldap_unbind_ext_s(d->ld, NULL, NULL);
	d->ld = NULL;
}

static int arldap_bind(struct ar_ldap *d, const char *dn, const char *pw)
{
	struct berval cred = { .bv_val = (char *)(pw != NULL ? pw : ""),
			       .bv_len = pw != NULL ? strlen(pw) : 0 };

	return ldap_sasl_bind_s(d->ld, dn != NULL ? dn : "", LDAP_SASL_SIMPLE, &cred, NULL, NULL,
				NULL);
}

/* Connect and bind as binddn: 0, or -1 (logged, no connection). */
static int arldap_connect(struct ar_ldap *d)
{
	int version = LDAP_VERSION3, rc;
	struct timeval tv = { .tv_sec = d->timeout };

	if (d->ld != NULL)
		return 0;
	rc = ldap_initialize(&d->ld, d->uri);
	if (rc != LDAP_SUCCESS) {
		log_error("c2s: authreg ldap: %s: %s", d->uri, ldap_err2string(rc));
		d->ld = NULL;
		return -1;
	}
	ldap_set_option(d->ld, LDAP_OPT_PROTOCOL_VERSION, &version);
	ldap_set_option(d->ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
	ldap_set_option(d->ld, LDAP_OPT_TIMEOUT, &tv);
	ldap_set_option(d->ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
	if (d->starttls && (rc = ldap_start_tls_s(d->ld, NULL, NULL)) != LDAP_SUCCESS) {
		log_error("c2s: authreg ldap: %s: STARTTLS failed: %s", d->uri, ldap_err2string(rc));
		arldap_drop(d);
		return -1;
	}
	rc = arldap_bind(d, d->binddn, d->bindpw);
	if (rc != LDAP_SUCCESS) {
		log_error("c2s: authreg ldap: %s: bind as %s failed: %s", d->uri,
			  d->binddn != NULL ? d->binddn : "(anonymous)", ldap_err2string(rc));
		arldap_drop(d);
		return -1;
	}
	return 0;
}

static const char *arldap_base(const struct ar_ldap *d, const char *realm)
{
	const char *def = NULL;

	for (size_t i = 0; i < d->nbases; i++) {
		if (d->bases[i].realm == NULL)
			def = def != NULL ? def : d->bases[i].dn;
		else if (realm != NULL && strcmp(d->bases[i].realm, realm) == 0)
			return d->bases[i].dn;
	}
	return def;
}

/* The search filter for a user, the name escaped (RFC 4515). */
static char *arldap_filter(const struct ar_ldap *d, const char *user, const char *realm)
{
	char *uid = d->fulluid ? xasprintf("%s@%s", user, realm) : xstrdup(user);
	struct berval in = { .bv_val = uid, .bv_len = strlen(uid) }, out = { 0 };
	char *filter = NULL;

	if (ldap_bv2escaped_filter_value(&in, &out) == 0) {
		if (d->query != NULL)
			filter = xasprintf("(&(%s=%s)%s)", d->uidattr, out.bv_val, d->query);
		else
			filter = xasprintf("(%s=%s)", d->uidattr, out.bv_val);
		ber_memfree(out.bv_val);
	}
	free(uid);
	return filter;
}

static int arldap_lost(int rc)
{
	return rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR || rc == LDAP_TIMEOUT ||
	       rc == LDAP_UNAVAILABLE || rc == LDAP_BUSY || rc == LDAP_OPERATIONS_ERROR;
}

/*
 * The DN of the user's entry: 0 and *dn_r (free()), 1 if there is none
 * (or more than one), -1 on trouble. Bound as binddn, connecting again
 * once if the connection was lost.
 */
static int arldap_find(struct ar_ldap *d, const char *user, const char *realm, char **dn_r)
{
	const char *base = arldap_base(d, realm);
	char *filter, *attrs[] = { (char *)LDAP_NO_ATTRS, NULL };
	struct timeval tv = { .tv_sec = d->timeout };
	LDAPMessage *res = NULL, *e;
	int rc = LDAP_OTHER, n;

	*dn_r = NULL;
	if (base == NULL) {
		log_warnx("c2s: authreg ldap: no basedn for realm '%s'", realm);
		return 1;
	}
	filter = arldap_filter(d, user, realm);
	if (filter == NULL)
		return -1;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (arldap_connect(d) < 0)
			break;
		/* A user's bind may have changed who we are: bind as binddn. */
		rc = arldap_bind(d, d->binddn, d->bindpw);
		if (rc == LDAP_SUCCESS)
			rc = ldap_search_ext_s(d->ld, base, LDAP_SCOPE_SUBTREE, filter, attrs, 1,
					       NULL, NULL, &tv, 2, &res);
		if (rc == LDAP_SUCCESS || rc == LDAP_SIZELIMIT_EXCEEDED || rc == LDAP_NO_SUCH_OBJECT ||
		    !arldap_lost(rc))
			break;
		if (res != NULL)
			ldap_msgfree(res);
		res = NULL;
		arldap_drop(d);
	}
	if (rc != LDAP_SUCCESS) {
		int ret = rc == LDAP_SIZELIMIT_EXCEEDED || rc == LDAP_NO_SUCH_OBJECT ? 1 : -1;

		if (rc == LDAP_SIZELIMIT_EXCEEDED)
			log_warnx("c2s: authreg ldap: more than one entry for %s under %s", filter,
				  base);
		else if (ret < 0 && d->ld != NULL)
			log_error("c2s: authreg ldap: search %s under %s: %s", filter, base,
				  ldap_err2string(rc));
		if (res != NULL)
			ldap_msgfree(res);
		free(filter);
		return ret;
	}
	n = ldap_count_entries(d->ld, res);
	e = ldap_first_entry(d->ld, res);
	if (n == 1 && e != NULL) {
		char *dn = ldap_get_dn(d->ld, e);

		if (dn != NULL) {
			*dn_r = xstrdup(dn);
			ldap_memfree(dn);
		}
	} else if (n > 1)
		log_warnx("c2s: authreg ldap: more than one entry for %s under %s", filter, base);
	ldap_msgfree(res);
	free(filter);
	return *dn_r != NULL ? 0 : 1;
}

static int arldap_get(void *ctx, const char *user, const char *realm, char **stored_r)
{
	char *dn = NULL;
	int rc = arldap_find(ctx, user, realm, &dn);

	free(dn);
	*stored_r = NULL;
	return rc;
}

static int arldap_check(void *ctx, const char *user, const char *realm, const char *password)
{
	struct ar_ldap *d = ctx;
	char *dn = NULL;
	int rc;

	if (password[0] == '\0')
		return 0;
	rc = arldap_find(d, user, realm, &dn);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	rc = arldap_bind(d, dn, password);
	if (rc != LDAP_SUCCESS && rc != LDAP_INVALID_CREDENTIALS) {
		log_error("c2s: authreg ldap: bind as %s: %s", dn, ldap_err2string(rc));
		arldap_drop(d);
	}
	free(dn);
	if (rc == LDAP_SUCCESS)
		return 1;
	return rc == LDAP_INVALID_CREDENTIALS ? 0 : -1;
}

static void arldap_free(struct ar_ldap *d)
{
	arldap_drop(d);
	free(d->uri);
	free(d->binddn);
	if (d->bindpw != NULL) {
		OPENSSL_cleanse(d->bindpw, strlen(d->bindpw));
		free(d->bindpw);
	}
	free(d->uidattr);
	free(d->query);
	for (size_t i = 0; i < d->nbases; i++) {
		free(d->bases[i].realm);
		free(d->bases[i].dn);
	}
	free(d->bases);
	free(d);
}

static void arldap_close(void **ctxp)
{
	if (*ctxp != NULL)
		arldap_free(*ctxp);
	*ctxp = NULL;
}

static int arldap_open(void **ctx_r, const struct config *cfg, const char **error_r)
{
	const char *host = config_get(cfg, "authreg.ldap.host");
	const char *port = config_get(cfg, "authreg.ldap.port");
	const char *timeout = config_get(cfg, "authreg.ldap.timeout");
	const char *query = config_get(cfg, "authreg.ldap.query");
	int ssl = config_get(cfg, "authreg.ldap.ssl") != NULL;
	int nbase = config_count(cfg, "authreg.ldap.basedn");
	long portnum = 389, secs = ARLDAP_TIMEOUT_DEFAULT;
	char *end;
	struct ar_ldap *d;

	if (host == NULL || host[0] == '\0' || strpbrk(host, "/ ") != NULL) {
		*error_r = "authreg.ldap.host is not set (or is not a host name)";
		return -1;
	}
	if (nbase <= 0 || nbase > ARLDAP_MAX_BASEDN) {
		*error_r = "authreg.ldap.basedn is not set";
		return -1;
	}
	if (port != NULL && ((portnum = strtol(port, &end, 10)) < 1 || portnum > 65535 ||
			     *end != '\0')) {
		*error_r = "authreg.ldap.port is not a port number";
		return -1;
	}
	if (timeout != NULL && ((secs = strtol(timeout, &end, 10)) < 1 || secs > 600 ||
				*end != '\0')) {
		*error_r = "authreg.ldap.timeout is not a number of seconds (1 to 600)";
		return -1;
	}
	if (ssl && config_get(cfg, "authreg.ldap.starttls") != NULL) {
		*error_r = "authreg.ldap: starttls and ssl cannot both be set";
		return -1;
	}
	if (query != NULL && (query[0] != '(' || query[strlen(query) - 1] != ')')) {
		*error_r = "authreg.ldap.query is not an LDAP filter in parentheses";
		return -1;
	}
	d = xcalloc(1, sizeof(*d));
	d->uri = xasprintf(strchr(host, ':') != NULL ? "%s://[%s]:%ld" : "%s://%s:%ld",
			   ssl ? "ldaps" : "ldap", host, portnum);
	d->starttls = config_get(cfg, "authreg.ldap.starttls") != NULL;
	d->binddn = xstrdup_opt(config_get(cfg, "authreg.ldap.binddn"));
	d->bindpw = d->binddn != NULL ? xstrdup_opt(config_get(cfg, "authreg.ldap.bindpw")) : NULL;
	d->uidattr = xstrdup(config_get(cfg, "authreg.ldap.uidattr") != NULL
				     ? config_get(cfg, "authreg.ldap.uidattr") : "uid");
	d->query = xstrdup_opt(query);
	d->fulluid = config_get(cfg, "authreg.ldap.fulluid") != NULL;
	d->timeout = (int)secs;
	d->bases = xcalloc((size_t)nbase, sizeof(*d->bases));
	for (int i = 0; i < nbase; i++) {
		d->bases[i].dn = xstrdup(config_get_n(cfg, "authreg.ldap.basedn", i));
		d->bases[i].realm = xstrdup_opt(config_attr(cfg, "authreg.ldap.basedn", i, "realm"));
	}
	d->nbases = (size_t)nbase;
	*ctx_r = d;
	/* As jabberd2: the directory must be there at start. */
	if (arldap_connect(d) < 0) {
		*error_r = "authreg ldap: cannot connect and bind to the directory (see the log)";
		arldap_close(ctx_r);
		return -1;
	}
	log_info("c2s: authreg ldap: %s, %zu base DN(s)", d->uri, d->nbases);
	return 0;
}

const struct authreg_backend authreg_backend_ldap = {
	.name = "ldap",
	.no_secrets = 1,
	.open = arldap_open,
	.close = arldap_close,
	.get = arldap_get,
	.check = arldap_check,
};
