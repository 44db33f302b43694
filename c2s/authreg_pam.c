/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * authreg_pam.c: the `pam` authreg backend: passwords checked by the
 * system's PAM stack, as jabberd2's pam module.
 *
 * As in jabberd2: the PAM service is `jabberd` (/etc/pam.d/jabberd), the
 * PAM user is the nodeprep'd account name (the realm is not passed), a
 * password is right when pam_authenticate and then pam_acct_mgmt succeed,
 * and every user "exists" (PAM cannot say whether one does without a
 * password). Ours: authreg.pam.service names another service, and
 * authreg.pam.confdir another directory of service files (Linux-PAM's
 * pam_start_confdir: the file there is used instead of /etc/pam.d's).
 *
 * Only PLAIN (and XEP-0078's plaintext method) can work: PAM never hands
 * out a secret, so SCRAM and DIGEST-MD5 are not offered. Accounts are the
 * system's: registration and password change are refused. PAM's own
 * failure delay is turned off (c2s delays failed logins itself, per
 * stream, without blocking the others); each check still blocks c2s for
 * as long as the PAM modules take, so a slow stack (a network directory
 * behind pam_sss or pam_ldap) delays every client meanwhile.
 */
#include "config.h"
#include "c2s/authreg.h"

#include <security/pam_appl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "util/buf.h"
#include "util/config_file.h"
#include "util/log.h"

struct ar_pam {
	char *service;
	char *confdir;          /* NULL: the system's (/etc/pam.d) */
};

/* Answers every prompt with the password; messages get no answer. */
static int arpam_conv(int n, const struct pam_message **msg, struct pam_response **resp,
		      void *appdata)
{
	const char *password = appdata;
	struct pam_response *r;

	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	r = calloc((size_t)n, sizeof(*r));
	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		if (msg[i]->msg_style != PAM_PROMPT_ECHO_OFF &&
		    msg[i]->msg_style != PAM_PROMPT_ECHO_ON)
			continue;
		r[i].resp = strdup(password);
		if (r[i].resp == NULL) {
			for (int j = 0; j < i; j++)
				if (r[j].resp != NULL) {
					OPENSSL_cleanse(r[j].resp, strlen(r[j].resp));
					free(r[j].resp);
				}
			free(r);
			return PAM_BUF_ERR;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

static void arpam_no_delay(int status, unsigned delay_usec, void *appdata)
{
	(void)status;
	(void)delay_usec;
	(void)appdata;
}

static void arpam_close(void **ctxp)
{
	struct ar_pam *p = *ctxp;

	if (p == NULL)
		return;
	free(p->service);
	free(p->confdir);
	free(p);
	*ctxp = NULL;
}

static int arpam_open(void **ctx_r, const struct config *cfg, const char **error_r)
{
	const char *service = config_get(cfg, "authreg.pam.service");
	const char *confdir = config_get(cfg, "authreg.pam.confdir");
	struct ar_pam *p;

	if (service != NULL && (service[0] == '\0' || strchr(service, '/') != NULL)) {
		*error_r = "authreg.pam.service: not a PAM service name";
		return -1;
	}
	p = xcalloc(1, sizeof(*p));
	p->service = xstrdup(service != NULL ? service : "jabberd");
	p->confdir = confdir != NULL && confdir[0] != '\0' ? xstrdup(confdir) : NULL;
	/* With a directory of its own, Linux-PAM has no "other" to fall back
	 * on: every login would abort (and leak in libpam). Refuse at start. */
	if (p->confdir != NULL) {
		static char msg[256];
		char *file = xasprintf("%s/%s", p->confdir, p->service);
		int missing = access(file, R_OK) != 0;

		if (missing)
			snprintf(msg, sizeof(msg), "authreg.pam: cannot read the service file %s",
				 file);
		free(file);
		if (missing) {
			*error_r = msg;
			arpam_close((void **)&p);
			return -1;
		}
	} else {
		char *file = xasprintf("/etc/pam.d/%s", p->service);

		if (access(file, F_OK) != 0)
			log_warnx("c2s: authreg pam: no %s: PAM uses its \"other\" service", file);
		free(file);
	}
	log_info("c2s: authreg pam: service %s%s%s", p->service,
		 p->confdir != NULL ? " in " : "", p->confdir != NULL ? p->confdir : "");
	*ctx_r = p;
	return 0;
}

/* Everyone exists (as in jabberd2), with no secret to hand out. */
static int arpam_get(void *ctx, const char *user, const char *realm, char **stored_r)
{
	(void)ctx;
	(void)user;
	(void)realm;
	*stored_r = NULL;
	return 0;
}

static int arpam_check(void *ctx, const char *user, const char *realm, const char *password)
{
	struct ar_pam *p = ctx;
	/* PAM keeps the pointer for the conversation: a copy of ours. */
	char *pw = xstrdup(password);
	struct pam_conv conv = { .conv = arpam_conv, .appdata_ptr = pw };
	pam_handle_t *pamh = NULL;
	int rc, ok = 0;

	(void)realm;
	if (password[0] == '\0')
		goto out;       /* an empty password is never right */
	rc = pam_start_confdir(p->service, user, &conv, p->confdir, &pamh);
	if (rc != PAM_SUCCESS) {
		log_error("c2s: authreg pam: cannot start service %s: %s", p->service,
			  pam_strerror(NULL, rc));
		ok = -1;
		goto out;
	}
	pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)arpam_no_delay);
	rc = pam_authenticate(pamh, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	if (rc == PAM_SUCCESS) {
		rc = pam_acct_mgmt(pamh, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
		if (rc == PAM_SUCCESS)
			ok = 1;
		else
			log_notice("c2s: authreg pam: %s: password right but account refused: %s",
				   user, pam_strerror(pamh, rc));
	} else if (rc != PAM_AUTH_ERR && rc != PAM_USER_UNKNOWN && rc != PAM_MAXTRIES &&
		   rc != PAM_CRED_INSUFFICIENT) {
		log_warnx("c2s: authreg pam: %s: %s", user, pam_strerror(pamh, rc));
		ok = rc == PAM_AUTHINFO_UNAVAIL || rc == PAM_SYSTEM_ERR ? -1 : 0;
	}
	pam_end(pamh, rc);
out:
	OPENSSL_cleanse(pw, strlen(pw));
	free(pw);
	return ok;
}

const struct authreg_backend authreg_backend_pam = {
	.name = "pam",
	.no_secrets = 1,
	.open = arpam_open,
	.close = arpam_close,
	.get = arpam_get,
	.check = arpam_check,
};
