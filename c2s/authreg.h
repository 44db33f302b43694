/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * authreg: c2s's credential store, as jabberd2's authreg modules (one
 * backend per configuration, selected by authreg.module) but with the
 * password handling done once, above the backends.
 *
 * A backend only reads and writes the text of the `password` column of
 * jabberd2's `authreg` table (username, realm, password). What that text
 * means is decided here (see docs/authreg.md):
 *
 *  - "$scram$..." is our format: SCRAM-SHA-1 and SCRAM-SHA-256 keys with
 *    a per-user salt and an iteration count. New passwords are stored so
 *    by default.
 *  - anything else is a jabberd2 row of the configured password_type:
 *    plaintext (the default), crypt or a1hash. Such rows keep working
 *    (SCRAM is derived from a plaintext password; PLAIN is checked in
 *    constant time, crypt through crypt(3), a1hash through MD5) and are
 *    rewritten as "$scram$" after the user's next successful login
 *    (authreg.scram.upgrade, on by default).
 *
 * The functions block on the backend: SQLite is local and fast; a pgsql
 * statement and a pipe program's answer are bounded in time (see those
 * backends), so a stuck server or program delays logins but never hangs
 * c2s.
 */
#ifndef C2S_AUTHREG_H
#define C2S_AUTHREG_H

#include <stddef.h>

struct config;
struct sx_sasl_secret;

/* How jabberd2-format rows are read (authreg.<module>.password_type). */
enum authreg_legacy {
	AUTHREG_LEGACY_PLAINTEXT,
	AUTHREG_LEGACY_CRYPT,
	AUTHREG_LEGACY_A1HASH,
};

struct authreg_settings {
	unsigned scram_iter;            /* iterations for new hashes; 0 = 4096 */
	int upgrade;                    /* rewrite legacy rows after a login */
	int store_plaintext;            /* store new passwords in clear (for
					 * DIGEST-MD5 or a way back to jabberd2) */
	enum authreg_legacy legacy;
};

/*
 * A backend: storage of the password text per (username, realm).
 * get: 0 and *stored_r (xmalloc'd; NULL for a row whose password is NULL)
 *      if the user exists, 1 if not, -1 on trouble.
 * set: replace the password of an existing row; 0, 1 if no such row, -1.
 * create: add a row with a NULL password; 0, 1 if it exists, -1.
 * remove: 0, 1 if there was no such row, -1.
 * check (optional): the backend judges a password itself (1 right, 0
 *      wrong or no such user, -1 trouble); PLAIN then goes through it.
 * plaintext_only: the backend keeps passwords of its own kind (a pipe
 *      program): they are handed to it in clear, never as "$scram$",
 *      and rows are never upgraded.
 * no_secrets: get never yields a password or keys (pam, ldap, anon: the
 *      accounts live elsewhere and only `check` can judge a password), so
 *      SCRAM, DIGEST-MD5 and the XEP-0078 digest are not offered.
 * has_secrets (optional): the same decided by the opened backend's
 *      configuration (ldapfull: only without pwscheme); 0 = no secrets.
 * set, create, remove may be NULL: the accounts are managed elsewhere;
 *      in-band registration, password change and account removal are
 *      then refused (authreg_can_register()).
 */
struct authreg_backend {
	const char *name;
	int plaintext_only;
	int no_secrets;
	int (*has_secrets)(void *ctx);
	int (*open)(void **ctx_r, const struct config *cfg, const char **error_r);
	void (*close)(void **ctxp);
	int (*get)(void *ctx, const char *user, const char *realm, char **stored_r);
	int (*check)(void *ctx, const char *user, const char *realm, const char *password);
	int (*set)(void *ctx, const char *user, const char *realm, const char *stored);
	int (*create)(void *ctx, const char *user, const char *realm);
	int (*remove)(void *ctx, const char *user, const char *realm);
};

/* config_get() in the shape of the SQL layer's option callback
 * (storage/sql.h), ctx being the struct config: the SQL backends read
 * their connection options through it. */
const char *authreg_config_option(void *ctx, const char *key);

extern const struct authreg_backend authreg_backend_sqlite;
#ifdef HAVE_PGSQL
extern const struct authreg_backend authreg_backend_pgsql;
#endif
#ifdef HAVE_MYSQL
extern const struct authreg_backend authreg_backend_mysql;
#endif
extern const struct authreg_backend authreg_backend_pipe;
extern const struct authreg_backend authreg_backend_anon;
#ifdef HAVE_PAM
extern const struct authreg_backend authreg_backend_pam;
#endif
#ifdef HAVE_LDAP
extern const struct authreg_backend authreg_backend_ldap;
extern const struct authreg_backend authreg_backend_ldapfull;
#endif

/* The backends this c2s has, NULL-terminated; "sqlite, pgsql, ..." for
 * messages. */
extern const struct authreg_backend *const authreg_backends[];
const char *authreg_module_names(void);
int authreg_known(const char *module);
/* The backend called `module`, NULL if this c2s has none. */
const struct authreg_backend *authreg_backend_find(const char *module);

struct authreg;

/*
 * Open backend `module` ("sqlite") with its section of `cfg`
 * (authreg.<module>.*). Returns NULL with *error_r set (unknown module,
 * database trouble).
 */
struct authreg *authreg_new(const char *module, const struct config *cfg,
			    const struct authreg_settings *set, const char **error_r);
/* The same over a backend given directly (unit tests). */
struct authreg *authreg_new_backend(const struct authreg_backend *be,
				    const struct config *cfg,
				    const struct authreg_settings *set, const char **error_r);
void authreg_free(struct authreg **arp);

/* Results of the calls below, the same numbers as SX_SASL_OK / _FAIL /
 * _ERROR so they can be handed to sx as they are. */
#define AUTHREG_OK     0
#define AUTHREG_FAIL   1        /* no such user / wrong password / exists */
#define AUTHREG_ERROR  (-1)

int authreg_user_exists(struct authreg *ar, const char *user, const char *realm);

/* 1 if passwords are stored in clear (authreg.scram.plaintext, or a
 * backend that keeps its own), so a method that needs them can work. */
int authreg_stores_plaintext(const struct authreg *ar);

/* 1 if the backend can hand out a password or keys (for SCRAM,
 * DIGEST-MD5), 0 if it can only judge one. */
int authreg_has_secrets(const struct authreg *ar);

/* 1 if accounts can be created, removed and given a new password here
 * (0 for pam, ldap and anon: the accounts live elsewhere). */
int authreg_can_register(const struct authreg *ar);

/*
 * Credentials for SASL: for a "$scram$" row the keys of `hash` ("SHA-1" or
 * "SHA-256"; NULL: none) and no password; for a plaintext row the password
 * (sx derives SCRAM from it). A crypt or a1hash row gives nothing usable:
 * AUTHREG_FAIL. `secret` must be zeroed by the caller.
 */
int authreg_get_secret(struct authreg *ar, const char *user, const char *realm,
		       const char *hash, struct sx_sasl_secret *secret);

/* PLAIN: is `password` right? Compared in constant time (or through
 * SCRAM, crypt or MD5 as the row requires). On success a legacy row is
 * upgraded if configured. */
int authreg_check_password(struct authreg *ar, const char *user, const char *realm,
			   const char *password);

/* Store `password` for an existing user in the configured format. */
int authreg_set_password(struct authreg *ar, const char *user, const char *realm,
			 const char *password);

/* After a successful login that proved `password` by other means (SCRAM
 * from a plaintext row): upgrade the row if it is still legacy and
 * upgrading is on. Returns AUTHREG_OK when nothing needed doing too. */
int authreg_upgrade(struct authreg *ar, const char *user, const char *realm,
		    const char *password);

int authreg_create_user(struct authreg *ar, const char *user, const char *realm);
int authreg_delete_user(struct authreg *ar, const char *user, const char *realm);

/* crypt(3) of `password` with `stored` as the setting equals `stored`
 * (compared in constant time): 1, else 0. For jabberd2's crypt rows and
 * ldapfull's crypt values. */
int authreg_crypt_matches(const char *stored, const char *password);

/* ---- the pipe protocol's parsing (authreg_pipe.c; for the fuzz target) ---- */

#define AUTHREG_PIPE_EXISTS (1u << 0)   /* USER-EXISTS announced */
#define AUTHREG_PIPE_STARTED (1u << 15) /* the line was a valid OK line */
/* The capability bits of the program's first line, 0 if it is not an
 * "OK ..." line. */
unsigned authreg_pipe_caps(const char *line);
/* A reply line: 0 for OK (*data_r: what follows "OK ", or NULL), 1 for NO,
 * -1 for anything else. */
int authreg_pipe_reply(const char *line, const char **data_r);
/* A base64 password (free() it); NULL if not base64 or if it holds a
 * NUL. And the other way. */
char *authreg_pipe_b64_decode(const char *s);
char *authreg_pipe_b64_encode(const char *s);

/* ---- the "$scram$" format (authreg_password.c) ---- */

#define AUTHREG_SALT_LEN 16
#define AUTHREG_SHA1_LEN 20
#define AUTHREG_SHA256_LEN 32

struct authreg_scram {
	unsigned iter;
	unsigned char salt[64];
	size_t salt_len;
	unsigned char sha1_stored[AUTHREG_SHA1_LEN], sha1_server[AUTHREG_SHA1_LEN];
	unsigned char sha256_stored[AUTHREG_SHA256_LEN], sha256_server[AUTHREG_SHA256_LEN];
};

/* 1 if `stored` is in our format (starts with "$scram$"), else 0. */
int authreg_pw_is_scram(const char *stored);
/* Parse a "$scram$" string completely. Returns 0, or -1 with *error_r. */
int authreg_pw_parse(const char *stored, struct authreg_scram *out, const char **error_r);
/* Hash `password` with a fresh random salt into a new "$scram$" string
 * (free() it). Returns NULL with *error_r on failure. */
char *authreg_pw_hash(const char *password, unsigned iter, const char **error_r);
/* Format parsed keys back into the text form (free() it). */
char *authreg_pw_format(const struct authreg_scram *s);
/* Check `password` against a parsed entry (SHA-256 keys, constant time):
 * 1 right, 0 wrong, -1 error. */
int authreg_pw_verify(const struct authreg_scram *s, const char *password);

#endif
