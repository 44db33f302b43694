/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mod_active: a user exists exactly when it has a row in the "active"
 * table (jabberd2's rule): user-load fails without one, user-create
 * writes one with the time, user-delete removes it.
 */
#include "config.h"
#include "sm/sm.h"

#include <time.h>

#include "storage/storage.h"
#include "util/jid.h"
#include "util/log.h"

static int active_user_load(struct user *user)
{
	const char *error;
	struct os *os = NULL;
	enum storage_result rc;

	rc = storage_get(user->sm->st, "active", jid_bare(user->jid), NULL, &os, &error);
	if (rc == STORAGE_ERROR) {
		log_error("sm: active: %s: %s", jid_bare(user->jid), error);
		return -1;
	}
	if (rc == STORAGE_NOT_FOUND)
		return -1;
	os_free(&os);
	return 0;
}

static int active_user_create(struct sm *sm, const struct jid *jid)
{
	struct os *os = os_new();
	const char *error;
	int rc;

	os_object_put_int(os_object_new(os), "time", (int64_t)time(NULL));
	rc = storage_replace(sm->st, "active", jid_bare(jid), NULL, os, &error);
	os_free(&os);
	if (rc != STORAGE_OK) {
		log_error("sm: active: cannot create %s: %s", jid_bare(jid), error);
		return -1;
	}
	return 0;
}

static void active_user_delete(struct sm *sm, const struct jid *jid)
{
	const char *error;

	if (storage_delete(sm->st, "active", jid_bare(jid), NULL, &error) != STORAGE_OK)
		log_error("sm: active: cannot delete %s: %s", jid_bare(jid), error);
}

const struct sm_module sm_module_active = {
	.name = "active",
	.abi = SM_MODULE_ABI,
	.user_load = active_user_load,
	.user_create = active_user_create,
	.user_delete = active_user_delete,
};
