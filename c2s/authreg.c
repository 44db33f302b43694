/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * authreg.c: password semantics above the authreg backends (authreg.h):
 * what a stored row means, how a PLAIN password is checked against it,
 * what SASL gets for SCRAM, and the upgrade of jabberd2 rows to "$scram$".
 */
#include "config.h"
#include "c2s/authreg.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sx/sx.h"
#include "util/buf.h"
#include "util/config_file.h"
#include "util/hash.h"
#include "util/log.h"

struct authreg {
	const struct authreg_backend *be;
	void *ctx;
	struct authreg_settings set;
};

const struct authreg_backend *const authreg_backends[] = {
	&authreg_backend_sqlite,
#ifdef HAVE_PGSQL
	&authreg_backend_pgsql,
#endif
#ifdef HAVE_MYSQL
	&authreg_backend_mysql,
#endif
	&authreg_backend_pipe,
	&authreg_backend_anon,
#ifdef HAVE_PAM
	&authreg_backend_pam,
#endif
#ifdef HAVE_LDAP
	&authreg_backend_ldap,
	&authreg_backend_ldapfull,
#endif
	NULL,
};

const char *authreg_config_option(void *ctx, const char *key)
{
	return config_get(ctx, key);
}

const char *authreg_module_names(void)
{
	static char names[128];

	if (names[0] == '\0')
		for (size_t i = 0; authreg_backends[i] != NULL; i++)
			snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
				 i > 0 ? ", " : "", authreg_backends[i]->name);
	return names;
}

struct authreg *authreg_new_backend(const struct authreg_backend *be,
				    const struct config *cfg,
				    const struct authreg_settings *set, const char **error_r)
{
	struct authreg *ar = xcalloc(1, sizeof(*ar));

	ar->be = be;
	ar->set = *set;
	if (ar->set.scram_iter == 0)
		ar->set.scram_iter = 4096;
	if (be->plaintext_only) {
		ar->set.store_plaintext = 1;
		ar->set.upgrade = 0;
		ar->set.legacy = AUTHREG_LEGACY_PLAINTEXT;
	}
	if (be->open(&ar->ctx, cfg, error_r) < 0) {
		free(ar);
		return NULL;
	}
	return ar;
}

const struct authreg_backend *authreg_backend_find(const char *module)
{
	for (size_t i = 0; module != NULL && authreg_backends[i] != NULL; i++)
		if (strcmp(module, authreg_backends[i]->name) == 0)
			return authreg_backends[i];
	return NULL;
}

int authreg_known(const char *module)
{
	return authreg_backend_find(module) != NULL;
}

struct authreg *authreg_new(const char *module, const struct config *cfg,
			    const struct authreg_settings *set, const char **error_r)
{
	const struct authreg_backend *be = authreg_backend_find(module);

	if (be != NULL)
		return authreg_new_backend(be, cfg, set, error_r);
	static char msg[192];

	snprintf(msg, sizeof(msg), "unknown authreg module (this c2s has: %s)",
		 authreg_module_names());
	*error_r = msg;
	return NULL;
}

void authreg_free(struct authreg **arp)
{
	struct authreg *ar = *arp;

	if (ar == NULL)
		return;
	ar->be->close(&ar->ctx);
	free(ar);
	*arp = NULL;
}

static void free_secret_text(char **s)
{
	if (*s != NULL) {
		OPENSSL_cleanse(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

/* Backend get mapped to AUTHREG_*. */
static int ar_get(struct authreg *ar, const char *user, const char *realm, char **stored_r)
{
	int rc = ar->be->get(ar->ctx, user, realm, stored_r);

	if (rc < 0)
		return AUTHREG_ERROR;
	return rc == 0 ? AUTHREG_OK : AUTHREG_FAIL;
}

int authreg_has_secrets(const struct authreg *ar)
{
	return !ar->be->no_secrets && (ar->be->has_secrets == NULL || ar->be->has_secrets(ar->ctx));
}

int authreg_stores_plaintext(const struct authreg *ar)
{
	return ar->set.store_plaintext && authreg_has_secrets(ar);
}

int authreg_can_register(const struct authreg *ar)
{
	return ar->be->set != NULL && ar->be->create != NULL && ar->be->remove != NULL;
}

int authreg_user_exists(struct authreg *ar, const char *user, const char *realm)
{
	char *stored = NULL;
	int rc = ar_get(ar, user, realm, &stored);

	free_secret_text(&stored);
	return rc;
}

static int scram_secret(const char *stored, const char *hash, struct sx_sasl_secret *secret)
{
	struct authreg_scram s;
	const char *error;
	int rc = AUTHREG_FAIL;

	if (authreg_pw_parse(stored, &s, &error) < 0) {
		log_warnx("c2s: authreg: unreadable $scram$ entry: %s", error);
		return AUTHREG_FAIL;
	}
	memcpy(secret->salt, s.salt, s.salt_len);
	secret->salt_len = s.salt_len;
	secret->iter = s.iter;
	if (hash != NULL && strcmp(hash, "SHA-1") == 0) {
		memcpy(secret->stored_key, s.sha1_stored, AUTHREG_SHA1_LEN);
		memcpy(secret->server_key, s.sha1_server, AUTHREG_SHA1_LEN);
		secret->key_len = AUTHREG_SHA1_LEN;
		rc = AUTHREG_OK;
	} else if (hash != NULL && strcmp(hash, "SHA-256") == 0) {
		memcpy(secret->stored_key, s.sha256_stored, AUTHREG_SHA256_LEN);
		memcpy(secret->server_key, s.sha256_server, AUTHREG_SHA256_LEN);
		secret->key_len = AUTHREG_SHA256_LEN;
		rc = AUTHREG_OK;
	}
	OPENSSL_cleanse(&s, sizeof(s));
	return rc;
}

int authreg_get_secret(struct authreg *ar, const char *user, const char *realm,
		       const char *hash, struct sx_sasl_secret *secret)
{
	char *stored = NULL;
	int rc = ar_get(ar, user, realm, &stored);

	if (rc != AUTHREG_OK)
		return rc;
	if (stored == NULL || stored[0] == '\0')
		rc = AUTHREG_FAIL;
	else if (authreg_pw_is_scram(stored))
		rc = scram_secret(stored, hash, secret);
	else if (ar->set.legacy == AUTHREG_LEGACY_PLAINTEXT) {
		secret->password = stored;
		return AUTHREG_OK;
	} else
		rc = AUTHREG_FAIL;      /* crypt / a1hash: PLAIN only */
	free_secret_text(&stored);
	return rc;
}

/* jabberd2's a1hash: hex MD5 of "user:realm:password". */
static int check_a1hash(const char *stored, const char *user, const char *realm,
			const char *password)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char hex[2 * 16 + 1];
	char *text = xasprintf("%s:%s:%s", user, realm, password);
	int ok;

	ok = EVP_Digest(text, strlen(text), md, &mdlen, EVP_md5(), NULL) == 1 && mdlen == 16;
	OPENSSL_cleanse(text, strlen(text));
	free(text);
	if (!ok)
		return -1;
	hash_hex(md, 16, hex);
	return hash_str_equal_ct(hex, stored);
}

int authreg_crypt_matches(const char *stored, const char *password)
{
	struct crypt_data *cd = xcalloc(1, sizeof(*cd));
	const char *out = crypt_r(password, stored, cd);
	int ok = out != NULL && out[0] != '*' && hash_str_equal_ct(out, stored);

	OPENSSL_cleanse(cd, sizeof(*cd));
	free(cd);
	return ok;
}

/* 1 right, 0 wrong, -1 error; *legacy_r says whether the row is legacy. */
static int check_stored(struct authreg *ar, const char *stored, const char *user,
			const char *realm, const char *password, int *legacy_r)
{
	struct authreg_scram s;
	const char *error;
	int ok;

	*legacy_r = 0;
	if (stored == NULL || stored[0] == '\0')
		return 0;
	if (authreg_pw_is_scram(stored)) {
		if (authreg_pw_parse(stored, &s, &error) < 0) {
			log_warnx("c2s: authreg: unreadable $scram$ entry for %s: %s", user, error);
			return 0;
		}
		ok = authreg_pw_verify(&s, password);
		OPENSSL_cleanse(&s, sizeof(s));
		return ok;
	}
	*legacy_r = 1;
	switch (ar->set.legacy) {
	case AUTHREG_LEGACY_CRYPT:
		return authreg_crypt_matches(stored, password);
	case AUTHREG_LEGACY_A1HASH:
		return check_a1hash(stored, user, realm, password);
	case AUTHREG_LEGACY_PLAINTEXT:
	default:
		return hash_str_equal_ct(stored, password);
	}
}

int authreg_check_password(struct authreg *ar, const char *user, const char *realm,
			   const char *password)
{
	char *stored = NULL;
	int rc, ok, legacy;

	if (ar->be->check != NULL) {
		ok = ar->be->check(ar->ctx, user, realm, password);
		return ok < 0 ? AUTHREG_ERROR : ok ? AUTHREG_OK : AUTHREG_FAIL;
	}
	rc = ar_get(ar, user, realm, &stored);
	if (rc != AUTHREG_OK)
		return rc;
	ok = check_stored(ar, stored, user, realm, password, &legacy);
	free_secret_text(&stored);
	if (ok < 0)
		return AUTHREG_ERROR;
	if (ok == 0)
		return AUTHREG_FAIL;
	if (legacy)
		authreg_upgrade(ar, user, realm, password);
	return AUTHREG_OK;
}

/* The text to store for a password, in the configured format. */
static char *stored_form(struct authreg *ar, const char *password)
{
	const char *error;
	char *s;

	if (ar->set.store_plaintext)
		return xstrdup(password);
	s = authreg_pw_hash(password, ar->set.scram_iter, &error);
	if (s == NULL)
		log_error("c2s: authreg: cannot hash a password: %s", error);
	return s;
}

int authreg_set_password(struct authreg *ar, const char *user, const char *realm,
			 const char *password)
{
	char *s;
	int rc;

	if (ar->be->set == NULL)
		return AUTHREG_ERROR;
	s = stored_form(ar, password);
	if (s == NULL)
		return AUTHREG_ERROR;
	rc = ar->be->set(ar->ctx, user, realm, s);
	free_secret_text(&s);
	if (rc < 0)
		return AUTHREG_ERROR;
	return rc == 0 ? AUTHREG_OK : AUTHREG_FAIL;
}

int authreg_upgrade(struct authreg *ar, const char *user, const char *realm,
		    const char *password)
{
	char *stored = NULL;
	int rc, legacy;

	if (!ar->set.upgrade || ar->set.store_plaintext || ar->be->set == NULL)
		return AUTHREG_OK;
	rc = ar_get(ar, user, realm, &stored);
	if (rc != AUTHREG_OK)
		return rc;
	/* Only a row that is still legacy and still holds this password: a
	 * concurrent password change must not be undone. */
	if (check_stored(ar, stored, user, realm, password, &legacy) == 1 && legacy) {
		rc = authreg_set_password(ar, user, realm, password);
		if (rc == AUTHREG_OK)
			log_notice("c2s: authreg: password of %s@%s upgraded to $scram$",
				   user, realm);
	}
	free_secret_text(&stored);
	return rc;
}

int authreg_create_user(struct authreg *ar, const char *user, const char *realm)
{
	int rc = ar->be->create != NULL ? ar->be->create(ar->ctx, user, realm) : -1;

	if (rc < 0)
		return AUTHREG_ERROR;
	return rc == 0 ? AUTHREG_OK : AUTHREG_FAIL;
}

int authreg_delete_user(struct authreg *ar, const char *user, const char *realm)
{
	int rc = ar->be->remove != NULL ? ar->be->remove(ar->ctx, user, realm) : -1;

	if (rc < 0)
		return AUTHREG_ERROR;
	return rc == 0 ? AUTHREG_OK : AUTHREG_FAIL;
}
