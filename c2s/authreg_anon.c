/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * authreg_anon.c: the `anon` authreg backend, for a server whose users
 * are all anonymous (SASL ANONYMOUS, XEP-0175, enabled with
 * authreg.mechanisms.sasl.anonymous).
 *
 * There are no accounts. The only names that exist are the random ones
 * auth.c draws for ANONYMOUS logins, held here in memory while their
 * connection lasts (create on login, remove at its end), so that two
 * connections never get the same JID. What is refused:
 *
 *  - every login with a password (PLAIN, SCRAM, DIGEST-MD5, XEP-0078):
 *    jabberd2's anon module accepted any name with any password, which
 *    let a client take any JID, an anonymous user's included; here a
 *    password login always fails with not-authorized;
 *  - EXTERNAL (no account exists for a certificate to name);
 *  - in-band registration, password change and account removal (no set:
 *    c2s turns register-enable and password-change off at start).
 *
 * The realm is the host's realm as for every backend (local.id@realm or
 * the domain); names are held per (realm, name).
 */
#include "config.h"
#include "c2s/authreg.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/xhash.h"

/* Names held at once: one per ANONYMOUS connection; c2s's io.max_fds
 * bounds those well below this. */
#define ARANON_MAX 1000000

struct aranon {
	struct xhash *held;     /* "realm\nname" -> the table itself */
};

static char *held_key(const char *user, const char *realm)
{
	return xasprintf("%s\n%s", realm, user);
}

static int aranon_open(void **ctx_r, const struct config *cfg, const char **error_r)
{
	struct aranon *a = xcalloc(1, sizeof(*a));

	(void)cfg;
	(void)error_r;
	a->held = xhash_new();
	*ctx_r = a;
	return 0;
}

static void aranon_close(void **ctxp)
{
	struct aranon *a = *ctxp;

	if (a == NULL)
		return;
	xhash_clear(a->held, NULL);
	xhash_free(&a->held);
	free(a);
	*ctxp = NULL;
}

/* A held name exists, with no password; nothing else does. */
static int aranon_get(void *ctx, const char *user, const char *realm, char **stored_r)
{
	struct aranon *a = ctx;
	char *key = held_key(user, realm);
	int found = xhash_get(a->held, key) != NULL;

	free(key);
	*stored_r = NULL;
	return found ? 0 : 1;
}

static int aranon_check(void *ctx, const char *user, const char *realm, const char *password)
{
	(void)ctx;
	(void)user;
	(void)realm;
	(void)password;
	return 0;
}

static int aranon_create(void *ctx, const char *user, const char *realm)
{
	struct aranon *a = ctx;
	char *key = held_key(user, realm);

	if (xhash_get(a->held, key) != NULL) {
		free(key);
		return 1;
	}
	if (xhash_count(a->held) >= ARANON_MAX) {
		free(key);
		return -1;
	}
	xhash_put(a->held, key, a);
	free(key);
	return 0;
}

static int aranon_remove(void *ctx, const char *user, const char *realm)
{
	struct aranon *a = ctx;
	char *key = held_key(user, realm);
	int found = xhash_remove(a->held, key) != NULL;

	free(key);
	return found ? 0 : 1;
}

/* No set: registration, password change and account removal are
 * refused (authreg_can_register()). */
const struct authreg_backend authreg_backend_anon = {
	.name = "anon",
	.no_secrets = 1,
	.open = aranon_open,
	.close = aranon_close,
	.get = aranon_get,
	.check = aranon_check,
	.create = aranon_create,
	.remove = aranon_remove,
};
