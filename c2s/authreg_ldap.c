/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * authreg_ldap.c: the `ldap` and `ldapfull` authreg backends, accounts in
 * an LDAP directory, as jabberd2's modules of those names.
 *
 * ldap: a password is right when the directory accepts a simple bind as
 * the user's entry with it. jabberd2's keys (authreg.ldap.*): host
 * (required), port (389), v3 (accepted; LDAPv3 is always used, the v2
 * jabberd2 defaulted to is long obsolete and refused by current servers),
 * starttls or ssl (ldaps://; not both), binddn and bindpw (the identity
 * searches are made with; anonymous without), uidattr (default uid),
 * basedn (repeated; with realm='R' for the host whose realm is R, without
 * for the others). Ours: query (an LDAP filter every user entry must also
 * match, e.g. "(objectClass=inetOrgPerson)"), fulluid (search for
 * "user@realm" instead of "user"), timeout (seconds per server operation,
 * default 10).
 *
 * ldapfull: the password lives in an attribute of the user's entry
 * (authreg.ldapfull.*: uri (required), basedn, binddn, bindpw, uidattr,
 * objectclass (default jabberUser), validattr (must be 1, TRUE with
 * type ad), group_dn (the entry must be a member), pwattr (default
 * jabberPassword), pwscheme, fulluid; ours: starttls, query, timeout).
 * Without pwscheme the attribute holds the password in clear and c2s
 * reads it (SCRAM and DIGEST-MD5 then work); with pwscheme `clear`,
 * `sha` ({SHA}), `ssha` ({SSHA}) or `crypt` c2s checks an offered
 * password against it (PLAIN only) and writes new ones in that scheme
 * (crypt: SHA-512 crypt, which jabberd2's DES-only check cannot read);
 * `bind` checks by binding as the entry, as the ldap module. Entries are
 * made in the directory, never here: in-band registration only gives a
 * password to an entry that exists and has none yet (jabberd2 let anyone
 * "register" an existing entry and so set its password), and removing the
 * account removes the attribute, not the entry.
 *
 * To find the entry, c2s binds as binddn and searches the realm's base
 * DN; the name is escaped as RFC 4515 says (jabberd2 put it in the filter
 * as it came); exactly one entry must match. An empty password is never
 * tried (LDAP reads a simple bind with no password as an anonymous bind,
 * which succeeds). Every operation is bounded by the timeout; a lost
 * connection is made again once per call. Each call blocks c2s for as
 * long as the directory takes (at most the timeout per operation).
 */
#include "config.h"
#include "c2s/authreg.h"

#include <crypt.h>
#include <ldap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "util/buf.h"
#include "util/config_file.h"
#include "util/hash.h"
#include "util/log.h"

#define ARLDAP_TIMEOUT_DEFAULT 10
#define ARLDAP_MAX_BASEDN 256

struct arldap_base {
	char *realm;            /* NULL: the default */
	char *dn;
};

/* ldapfull's pwscheme. */
enum arldap_scheme {
	PW_READ,                /* no pwscheme: clear text, read by c2s */
	PW_CLEAR,
	PW_SHA,
	PW_SSHA,
	PW_CRYPT,
	PW_BIND,
};

struct ar_ldap {
	const char *name;       /* "ldap" or "ldapfull", for messages */
	int full;
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
	/* ldapfull */
	char *objectclass, *validattr, *group_dn, *pwattr;
	int type_ad;
	enum arldap_scheme scheme;
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
		log_error("c2s: authreg %s: %s: %s", d->name, d->uri, ldap_err2string(rc));
		d->ld = NULL;
		return -1;
	}
	ldap_set_option(d->ld, LDAP_OPT_PROTOCOL_VERSION, &version);
	ldap_set_option(d->ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
	ldap_set_option(d->ld, LDAP_OPT_TIMEOUT, &tv);
	ldap_set_option(d->ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
	if (d->starttls && (rc = ldap_start_tls_s(d->ld, NULL, NULL)) != LDAP_SUCCESS) {
		log_error("c2s: authreg %s: %s: STARTTLS failed: %s", d->name, d->uri,
			  ldap_err2string(rc));
		arldap_drop(d);
		return -1;
	}
	rc = arldap_bind(d, d->binddn, d->bindpw);
	if (rc != LDAP_SUCCESS) {
		log_error("c2s: authreg %s: %s: bind as %s failed: %s", d->name, d->uri,
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
		char *valid = d->validattr != NULL
				      ? xasprintf("(%s=%s)", d->validattr, d->type_ad ? "TRUE" : "1")
				      : xstrdup("");
		char *oc = d->objectclass != NULL ? xasprintf("(objectClass=%s)", d->objectclass)
						  : xstrdup("");

		filter = xasprintf("(&(%s=%s)%s%s%s)", d->uidattr, out.bv_val, oc, valid,
				   d->query != NULL ? d->query : "");
		free(valid);
		free(oc);
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

/* Is `dn` a member of group_dn? 1, 0, -1. */
static int arldap_in_group(struct ar_ldap *d, const char *dn)
{
	struct berval in = { .bv_val = (char *)dn, .bv_len = strlen(dn) }, out = { 0 };
	char *filter, *attrs[] = { (char *)LDAP_NO_ATTRS, NULL };
	struct timeval tv = { .tv_sec = d->timeout };
	LDAPMessage *res = NULL;
	int rc, n;

	if (ldap_bv2escaped_filter_value(&in, &out) != 0)
		return -1;
	filter = xasprintf("(member=%s)", out.bv_val);
	ber_memfree(out.bv_val);
	rc = ldap_search_ext_s(d->ld, d->group_dn, LDAP_SCOPE_BASE, filter, attrs, 1, NULL, NULL,
			       &tv, 1, &res);
	free(filter);
	n = rc == LDAP_SUCCESS ? ldap_count_entries(d->ld, res) : 0;
	if (res != NULL)
		ldap_msgfree(res);
	if (rc != LDAP_SUCCESS && rc != LDAP_NO_SUCH_OBJECT) {
		log_error("c2s: authreg %s: group %s: %s", d->name, d->group_dn, ldap_err2string(rc));
		return -1;
	}
	return n > 0;
}

/*
 * The user's entry: 0 and *dn_r (free()), 1 if there is none (or more
 * than one, or it is not in group_dn), -1 on trouble. With pw_r (ldapfull)
 * also the first value of pwattr (NULL if none; free() it). Bound as
 * binddn, connecting again once if the connection was lost.
 */
static int arldap_find(struct ar_ldap *d, const char *user, const char *realm, char **dn_r,
		       char **pw_r)
{
	const char *base = arldap_base(d, realm);
	char *filter, *attrs[] = { pw_r != NULL ? d->pwattr : (char *)LDAP_NO_ATTRS, NULL };
	struct timeval tv = { .tv_sec = d->timeout };
	LDAPMessage *res = NULL, *e;
	int rc = LDAP_OTHER, n;

	*dn_r = NULL;
	if (pw_r != NULL)
		*pw_r = NULL;
	if (base == NULL) {
		log_warnx("c2s: authreg %s: no basedn for realm '%s'", d->name, realm);
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
			rc = ldap_search_ext_s(d->ld, base, LDAP_SCOPE_SUBTREE, filter, attrs,
					       pw_r == NULL, NULL, NULL, &tv, 2, &res);
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
			log_warnx("c2s: authreg %s: more than one entry for %s under %s", d->name,
				  filter, base);
		else if (ret < 0 && d->ld != NULL)
			log_error("c2s: authreg %s: search %s under %s: %s", d->name, filter, base,
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
		if (dn != NULL && pw_r != NULL) {
			struct berval **vals = ldap_get_values_len(d->ld, e, d->pwattr);

			if (vals != NULL && vals[0] != NULL &&
			    memchr(vals[0]->bv_val, '\0', vals[0]->bv_len) == NULL)
				*pw_r = xstrndup(vals[0]->bv_val, vals[0]->bv_len);
			if (vals != NULL)
				ldap_value_free_len(vals);
		}
	} else if (n > 1)
		log_warnx("c2s: authreg %s: more than one entry for %s under %s", d->name, filter,
			  base);
	ldap_msgfree(res);
	free(filter);
	if (*dn_r != NULL && d->group_dn != NULL) {
		rc = arldap_in_group(d, *dn_r);
		if (rc != 1) {
			free(*dn_r);
			*dn_r = NULL;
			if (pw_r != NULL && *pw_r != NULL) {
				OPENSSL_cleanse(*pw_r, strlen(*pw_r));
				free(*pw_r);
				*pw_r = NULL;
			}
			return rc < 0 ? -1 : 1;
		}
	}
	return *dn_r != NULL ? 0 : 1;
}

static void free_pw(char **pw)
{
	if (*pw != NULL) {
		OPENSSL_cleanse(*pw, strlen(*pw));
		free(*pw);
		*pw = NULL;
	}
}

/* Bind as `dn` with `password`: 1 right, 0 wrong, -1 trouble. */
static int arldap_bind_user(struct ar_ldap *d, const char *dn, const char *password)
{
	int rc = arldap_bind(d, dn, password);

	if (rc != LDAP_SUCCESS && rc != LDAP_INVALID_CREDENTIALS) {
		log_error("c2s: authreg %s: bind as %s: %s", d->name, dn, ldap_err2string(rc));
		arldap_drop(d);
	}
	if (rc == LDAP_SUCCESS)
		return 1;
	return rc == LDAP_INVALID_CREDENTIALS ? 0 : -1;
}

static int arldap_get(void *ctx, const char *user, const char *realm, char **stored_r)
{
	struct ar_ldap *d = ctx;
	char *dn = NULL, *pw = NULL;
	int rc = arldap_find(d, user, realm, &dn, d->full && d->scheme == PW_READ ? &pw : NULL);

	free(dn);
	*stored_r = pw;         /* ldapfull without pwscheme: the clear text */
	return rc;
}

static int arldap_check(void *ctx, const char *user, const char *realm, const char *password)
{
	struct ar_ldap *d = ctx;
	char *dn = NULL;
	int rc;

	if (password[0] == '\0')
		return 0;
	rc = arldap_find(d, user, realm, &dn, NULL);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	rc = arldap_bind_user(d, dn, password);
	free(dn);
	return rc;
}

/* ---- ldapfull: passwords in pwattr ---- */

/* {SHA} and {SSHA} (salted: the salt follows the 20-byte digest). */
static int sha_check(const char *b64, int salted, const char *password)
{
	unsigned char raw[256], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t len = strlen(b64), pad = 0;
	int n, ok = 0;
	EVP_MD_CTX *ctx;

	if (len == 0 || len % 4 != 0 || len / 4 * 3 > sizeof(raw))
		return 0;
	n = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)len);
	while (pad < 2 && len > pad && b64[len - 1 - pad] == '=')
		pad++;
	n -= (int)pad;
	if (n < 20 || (!salted && n != 20))
		return 0;
	ctx = EVP_MD_CTX_new();
	if (ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, password, strlen(password)) == 1 &&
	    (!salted || EVP_DigestUpdate(ctx, raw + 20, (size_t)n - 20) == 1) &&
	    EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 20)
		ok = CRYPTO_memcmp(md, raw, 20) == 0;
	EVP_MD_CTX_free(ctx);
	OPENSSL_cleanse(raw, sizeof(raw));
	return ok;
}

static char *sha_make(int salted, const char *password)
{
	unsigned char raw[20 + 8], out[64];
	unsigned int mdlen = 0;
	size_t saltlen = salted ? 8 : 0;
	EVP_MD_CTX *ctx;
	char *s = NULL;

	if (saltlen > 0 && RAND_bytes(raw + 20, (int)saltlen) != 1)
		return NULL;
	ctx = EVP_MD_CTX_new();
	if (ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, password, strlen(password)) == 1 &&
	    EVP_DigestUpdate(ctx, raw + 20, saltlen) == 1 &&
	    EVP_DigestFinal_ex(ctx, raw, &mdlen) == 1 && mdlen == 20) {
		EVP_EncodeBlock(out, raw, (int)(20 + saltlen));
		s = xasprintf("%s%s", salted ? "{SSHA}" : "{SHA}", (const char *)out);
	}
	EVP_MD_CTX_free(ctx);
	return s;
}

static char *crypt_make(const char *password)
{
	struct crypt_data *cd = xcalloc(1, sizeof(*cd));
	const char *salt = crypt_gensalt_rn("$6$", 0, NULL, 0, cd->setting, sizeof(cd->setting));
	const char *out = salt != NULL ? crypt_r(password, salt, cd) : NULL;
	char *s = out != NULL && out[0] != '*' ? xstrdup(out) : NULL;

	OPENSSL_cleanse(cd, sizeof(*cd));
	free(cd);
	return s;
}

/* Is `password` the one `stored` holds? By the value's own prefix first
 * ({SHA}, {SSHA}, {CRYPT}), else by pwscheme. */
static int full_matches(const struct ar_ldap *d, const char *stored, const char *password)
{
	if (strncasecmp(stored, "{SHA}", 5) == 0)
		return sha_check(stored + 5, 0, password);
	if (strncasecmp(stored, "{SSHA}", 6) == 0)
		return sha_check(stored + 6, 1, password);
	if (strncasecmp(stored, "{CRYPT}", 7) == 0)
		return authreg_crypt_matches(stored + 7, password);
	if (d->scheme == PW_CRYPT)
		return authreg_crypt_matches(stored, password);
	if (stored[0] == '{')
		return 0;       /* a scheme we do not know */
	return hash_str_equal_ct(stored, password);
}

static int full_check(void *ctx, const char *user, const char *realm, const char *password)
{
	struct ar_ldap *d = ctx;
	char *dn = NULL, *pw = NULL;
	int rc;

	if (d->scheme == PW_BIND)
		return arldap_check(ctx, user, realm, password);
	if (password[0] == '\0')
		return 0;
	rc = arldap_find(d, user, realm, &dn, &pw);
	if (rc == 0)
		rc = pw != NULL && full_matches(d, pw, password) ? 1 : 0;
	else
		rc = rc < 0 ? -1 : 0;
	free(dn);
	free_pw(&pw);
	return rc;
}

/* Replace (or with NULL delete) pwattr of `dn`: 0 or -1. */
static int full_modify(struct ar_ldap *d, const char *dn, const char *value)
{
	struct berval bv = { .bv_val = (char *)value, .bv_len = value != NULL ? strlen(value) : 0 };
	struct berval *vals[] = { &bv, NULL };
	LDAPMod mod = { .mod_op = (value != NULL ? LDAP_MOD_REPLACE : LDAP_MOD_DELETE) |
				  LDAP_MOD_BVALUES,
			.mod_type = d->pwattr,
			.mod_vals.modv_bvals = value != NULL ? vals : NULL };
	LDAPMod *mods[] = { &mod, NULL };
	int rc = ldap_modify_ext_s(d->ld, dn, mods, NULL, NULL);

	if (rc == LDAP_SUCCESS || (value == NULL && rc == LDAP_NO_SUCH_ATTRIBUTE))
		return 0;
	log_error("c2s: authreg %s: cannot write %s of %s: %s", d->name, d->pwattr, dn,
		  ldap_err2string(rc));
	return -1;
}

/* `stored` is the password in clear (the backend is plaintext_only):
 * written in the configured scheme. */
static int full_set(void *ctx, const char *user, const char *realm, const char *stored)
{
	struct ar_ldap *d = ctx;
	char *dn = NULL, *value;
	int rc;

	switch (d->scheme) {
	case PW_SHA:
	case PW_SSHA:
		value = sha_make(d->scheme == PW_SSHA, stored);
		break;
	case PW_CRYPT:
		value = crypt_make(stored);
		break;
	case PW_BIND:
		log_warnx("c2s: authreg ldapfull: pwscheme bind: passwords are not set here");
		return -1;
	default:
		value = xstrdup(stored);
		break;
	}
	if (value == NULL)
		return -1;
	rc = arldap_find(d, user, realm, &dn, NULL);
	if (rc == 0)
		rc = full_modify(d, dn, value);
	free(dn);
	free_pw(&value);
	return rc;
}

/* An account can only be "created" for an entry of the directory that
 * has no password yet; there it is the entry. */
static int full_create(void *ctx, const char *user, const char *realm)
{
	struct ar_ldap *d = ctx;
	char *dn = NULL, *pw = NULL;
	int rc;

	if (d->scheme == PW_BIND)
		return -1;
	rc = arldap_find(d, user, realm, &dn, &pw);
	if (rc == 0 && pw != NULL)
		rc = 1;         /* it has a password: taken */
	else if (rc == 1) {
		log_notice("c2s: authreg ldapfull: no entry for %s in the directory: accounts "
			   "are made there", user);
		rc = -1;
	}
	free(dn);
	free_pw(&pw);
	return rc;
}

/* Removing the account removes its password, never the entry. */
static int full_remove(void *ctx, const char *user, const char *realm)
{
	struct ar_ldap *d = ctx;
	char *dn = NULL, *pw = NULL;
	int rc;

	if (d->scheme == PW_BIND)
		return -1;
	rc = arldap_find(d, user, realm, &dn, &pw);
	if (rc == 0)
		rc = pw == NULL ? 1 : full_modify(d, dn, NULL);
	free(dn);
	free_pw(&pw);
	return rc;
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
	free(d->objectclass);
	free(d->validattr);
	free(d->group_dn);
	free(d->pwattr);
	free(d);
}

static void arldap_close(void **ctxp)
{
	if (*ctxp != NULL)
		arldap_free(*ctxp);
	*ctxp = NULL;
}

/* The keys both modules have, under `sec` ("authreg.ldap"). */
static const char *opt(const struct config *cfg, const char *sec, const char *key)
{
	char path[64];

	snprintf(path, sizeof(path), "%s.%s", sec, key);
	return config_get(cfg, path);
}

static int common_open(struct ar_ldap *d, const struct config *cfg, const char *sec,
		       const char **error_r)
{
	static char msg[128];
	const char *timeout = opt(cfg, sec, "timeout"), *query = opt(cfg, sec, "query");
	char key[64], *end;
	long secs = ARLDAP_TIMEOUT_DEFAULT;
	int nbase;

	snprintf(key, sizeof(key), "%s.basedn", sec);
	nbase = config_count(cfg, key);
	if (nbase <= 0 || nbase > ARLDAP_MAX_BASEDN) {
		snprintf(msg, sizeof(msg), "%s.basedn is not set", sec);
		*error_r = msg;
		return -1;
	}
	if (timeout != NULL && ((secs = strtol(timeout, &end, 10)) < 1 || secs > 600 ||
				*end != '\0')) {
		snprintf(msg, sizeof(msg), "%s.timeout is not a number of seconds (1 to 600)", sec);
		*error_r = msg;
		return -1;
	}
	if (query != NULL && (query[0] != '(' || query[strlen(query) - 1] != ')')) {
		snprintf(msg, sizeof(msg), "%s.query is not an LDAP filter in parentheses", sec);
		*error_r = msg;
		return -1;
	}
	d->starttls = opt(cfg, sec, "starttls") != NULL;
	d->binddn = xstrdup_opt(opt(cfg, sec, "binddn"));
	d->bindpw = d->binddn != NULL ? xstrdup_opt(opt(cfg, sec, "bindpw")) : NULL;
	d->uidattr = xstrdup(opt(cfg, sec, "uidattr") != NULL ? opt(cfg, sec, "uidattr") : "uid");
	d->query = xstrdup_opt(query);
	d->fulluid = opt(cfg, sec, "fulluid") != NULL;
	d->timeout = (int)secs;
	d->bases = xcalloc((size_t)nbase, sizeof(*d->bases));
	for (int i = 0; i < nbase; i++) {
		d->bases[i].dn = xstrdup(config_get_n(cfg, key, i));
		d->bases[i].realm = xstrdup_opt(config_attr(cfg, key, i, "realm"));
	}
	d->nbases = (size_t)nbase;
	return 0;
}

/* As jabberd2: the directory must be there at start. */
static int first_connect(struct ar_ldap *d, void **ctx_r, const char **error_r)
{
	static char msg[128];

	*ctx_r = d;
	if (arldap_connect(d) < 0) {
		snprintf(msg, sizeof(msg),
			 "authreg %s: cannot connect and bind to the directory (see the log)",
			 d->name);
		*error_r = msg;
		arldap_close(ctx_r);
		return -1;
	}
	log_info("c2s: authreg %s: %s, %zu base DN(s)", d->name, d->uri, d->nbases);
	return 0;
}

static int arldap_open(void **ctx_r, const struct config *cfg, const char **error_r)
{
	const char *host = config_get(cfg, "authreg.ldap.host");
	const char *port = config_get(cfg, "authreg.ldap.port");
	int ssl = config_get(cfg, "authreg.ldap.ssl") != NULL;
	long portnum = 389;
	char *end;
	struct ar_ldap *d;

	if (host == NULL || host[0] == '\0' || strpbrk(host, "/ ") != NULL) {
		*error_r = "authreg.ldap.host is not set (or is not a host name)";
		return -1;
	}
	if (port != NULL && ((portnum = strtol(port, &end, 10)) < 1 || portnum > 65535 ||
			     *end != '\0')) {
		*error_r = "authreg.ldap.port is not a port number";
		return -1;
	}
	if (ssl && config_get(cfg, "authreg.ldap.starttls") != NULL) {
		*error_r = "authreg.ldap: starttls and ssl cannot both be set";
		return -1;
	}
	d = xcalloc(1, sizeof(*d));
	d->name = "ldap";
	if (common_open(d, cfg, "authreg.ldap", error_r) < 0) {
		arldap_free(d);
		return -1;
	}
	d->uri = xasprintf(strchr(host, ':') != NULL ? "%s://[%s]:%ld" : "%s://%s:%ld",
			   ssl ? "ldaps" : "ldap", host, portnum);
	return first_connect(d, ctx_r, error_r);
}

static int full_open(void **ctx_r, const struct config *cfg, const char **error_r)
{
	static const struct {
		const char *name;
		enum arldap_scheme scheme;
	} schemes[] = {
		{ "clear", PW_CLEAR }, { "sha", PW_SHA }, { "ssha", PW_SSHA },
		{ "crypt", PW_CRYPT }, { "bind", PW_BIND },
	};
	const char *uri = config_get(cfg, "authreg.ldapfull.uri");
	const char *type = config_get(cfg, "authreg.ldapfull.type");
	const char *scheme = config_get(cfg, "authreg.ldapfull.pwscheme");
	const char *v;
	struct ar_ldap *d;
	size_t i;

	if (uri == NULL || uri[0] == '\0' || ldap_is_ldap_url(uri) == 0) {
		*error_r = "authreg.ldapfull.uri is not set (or is not an ldap:// or ldaps:// URI)";
		return -1;
	}
	if (type != NULL && strcmp(type, "ldap") != 0 && strcmp(type, "ad") != 0) {
		*error_r = "authreg.ldapfull.type: not ldap or ad";
		return -1;
	}
	for (i = 0; scheme != NULL && i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strcmp(scheme, schemes[i].name) == 0)
			break;
	if (scheme != NULL && i == sizeof(schemes) / sizeof(schemes[0])) {
		*error_r = "authreg.ldapfull.pwscheme: not clear, sha, ssha, crypt or bind";
		return -1;
	}
	d = xcalloc(1, sizeof(*d));
	d->name = "ldapfull";
	d->full = 1;
	d->scheme = scheme != NULL ? schemes[i].scheme : PW_READ;
	if (common_open(d, cfg, "authreg.ldapfull", error_r) < 0) {
		arldap_free(d);
		return -1;
	}
	d->uri = xstrdup(uri);
	d->type_ad = type != NULL && strcmp(type, "ad") == 0;
	v = config_get(cfg, "authreg.ldapfull.objectclass");
	d->objectclass = xstrdup(v != NULL ? v : "jabberUser");
	d->validattr = xstrdup_opt(config_get(cfg, "authreg.ldapfull.validattr"));
	d->group_dn = xstrdup_opt(config_get(cfg, "authreg.ldapfull.group_dn"));
	v = config_get(cfg, "authreg.ldapfull.pwattr");
	d->pwattr = xstrdup(v != NULL ? v : "jabberPassword");
	return first_connect(d, ctx_r, error_r);
}

/* ldapfull with a pwscheme only judges passwords: no secret for SCRAM. */
static int full_has_secrets(void *ctx)
{
	return ((const struct ar_ldap *)ctx)->scheme == PW_READ;
}

const struct authreg_backend authreg_backend_ldap = {
	.name = "ldap",
	.no_secrets = 1,
	.open = arldap_open,
	.close = arldap_close,
	.get = arldap_get,
	.check = arldap_check,
};

/* plaintext_only: c2s hands passwords over in clear and full_set writes
 * them in the directory's scheme; without pwscheme, PLAIN is judged by
 * c2s from the clear text (no check callback needed then, but full_check
 * does the same). */
const struct authreg_backend authreg_backend_ldapfull = {
	.name = "ldapfull",
	.plaintext_only = 1,
	.has_secrets = full_has_secrets,
	.open = full_open,
	.close = arldap_close,
	.get = arldap_get,
	.check = full_check,
	.set = full_set,
	.create = full_create,
	.remove = full_remove,
};
