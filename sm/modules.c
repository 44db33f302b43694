/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * modules.c: the sm's module table and its chains. Every module is built
 * in and listed below; sm.xml's <modules><chain id='...'><module>name
 * </module></chain> picks which run in which chain and in what order, as in
 * jabberd2. A chain id or module name we do not know is logged and skipped
 * (so a stock sm.xml naming modules we lack still loads); so is a module
 * listed in a chain it has no hook for.
 *
 * Module data slots (sm.h, "Module data") are numbered here: each module
 * of the registry that names a slot gets the next index, so the numbers
 * are the same in every sm of the process, and each array of data holds
 * one pointer per such module. The core never frees a module's data
 * itself: it hands the data to the module's own free hooks.
 */
#include "config.h"
#include "sm/sm.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/config_file.h"
#include "util/log.h"

extern const struct sm_module sm_module_session, sm_module_active, sm_module_validate,
	sm_module_deliver, sm_module_presence, sm_module_roster, sm_module_offline,
	sm_module_iq_ping, sm_module_iq_time, sm_module_iq_version, sm_module_iq_last,
	sm_module_disco, sm_module_iq_private, sm_module_iq_vcard,
	sm_module_privacy, sm_module_carbons, sm_module_template_roster, sm_module_status,
	sm_module_announce, sm_module_pep, sm_module_echo, sm_module_help,
	sm_module_vacation, sm_module_amp, sm_module_roster_publish;

const struct sm_module *const sm_modules[] = {
	&sm_module_session,
	&sm_module_active,
	&sm_module_validate,
	&sm_module_deliver,
	&sm_module_presence,
	&sm_module_roster,
	&sm_module_offline,
	&sm_module_iq_ping,
	&sm_module_iq_time,
	&sm_module_iq_version,
	&sm_module_iq_last,
	&sm_module_disco,
	&sm_module_iq_private,
	&sm_module_iq_vcard,
	&sm_module_privacy,
	&sm_module_carbons,
	&sm_module_template_roster,
	&sm_module_status,
	&sm_module_announce,
	&sm_module_pep,
	&sm_module_echo,
	&sm_module_help,
	&sm_module_vacation,
	&sm_module_amp,
	&sm_module_roster_publish,
	NULL,
};

const struct sm_module *const *sm_registry = sm_modules;

static const char *const chain_names[CHAIN_COUNT] = {
	[CHAIN_SESS_START] = "sess-start",
	[CHAIN_SESS_END] = "sess-end",
	[CHAIN_IN_SESS] = "in-sess",
	[CHAIN_OUT_SESS] = "out-sess",
	[CHAIN_IN_ROUTER] = "in-router",
	[CHAIN_OUT_ROUTER] = "out-router",
	[CHAIN_PKT_SM] = "pkt-sm",
	[CHAIN_PKT_USER] = "pkt-user",
	[CHAIN_PKT_ROUTER] = "pkt-router",
	[CHAIN_USER_LOAD] = "user-load",
	[CHAIN_USER_UNLOAD] = "user-unload",
	[CHAIN_USER_CREATE] = "user-create",
	[CHAIN_USER_DELETE] = "user-delete",
	[CHAIN_DISCO_EXTEND] = "disco-extend",
};

/* Does the module have a hook for this chain? */
static int module_has(const struct sm_module *m, enum chain_id c)
{
	switch (c) {
	case CHAIN_SESS_START: return m->sess_start != NULL;
	case CHAIN_SESS_END: return m->sess_end != NULL;
	case CHAIN_IN_SESS: return m->in_sess != NULL;
	case CHAIN_OUT_SESS: return m->out_sess != NULL;
	case CHAIN_IN_ROUTER: return m->in_router != NULL;
	case CHAIN_OUT_ROUTER: return m->out_router != NULL;
	case CHAIN_PKT_SM: return m->pkt_sm != NULL;
	case CHAIN_PKT_USER: return m->pkt_user != NULL;
	case CHAIN_PKT_ROUTER: return m->pkt_router != NULL;
	case CHAIN_USER_LOAD: return m->user_load != NULL;
	case CHAIN_USER_UNLOAD: return m->user_unload != NULL;
	case CHAIN_USER_CREATE: return m->user_create != NULL;
	case CHAIN_USER_DELETE: return m->user_delete != NULL;
	case CHAIN_DISCO_EXTEND: return m->disco_extend != NULL;
	default: return 0;
	}
}

static const struct sm_module *module_find(const char *name)
{
	size_t i;

	for (i = 0; sm_registry[i] != NULL; i++)
		if (strcmp(sm_registry[i]->name, name) == 0)
			return sm_registry[i];
	return NULL;
}

const struct sm_module *mm_loaded(const struct sm *sm, const char *name)
{
	int i;

	for (i = 0; i < sm->nloaded; i++)
		if (strcmp(sm->loaded[i]->name, name) == 0)
			return sm->loaded[i];
	return NULL;
}

/* Number the slots of the registry's modules. */
static void slots_number(struct sm *sm)
{
	size_t i;

	sm->nslots = 0;
	for (i = 0; sm_registry[i] != NULL; i++)
		if (sm_registry[i]->slot != NULL)
			*sm_registry[i]->slot = sm->nslots++;
	sm->mod = mm_data_new(sm);
}

void **mm_data_new(const struct sm *sm)
{
	return xcalloc(sm->nslots > 0 ? (size_t)sm->nslots : 1, sizeof(void *));
}

static int chain_find(const char *id)
{
	int i;

	for (i = 0; id != NULL && i < CHAIN_COUNT; i++)
		if (strcmp(chain_names[i], id) == 0)
			return i;
	return -1;
}

/* Add one <module> of a chain, starting the module the first time. */
static int chain_add(struct sm *sm, int c, const struct config_node *mn, const char **error_r)
{
	const char *name = config_node_value(mn);
	const struct sm_module *m = module_find(name);

	if (m == NULL || m->abi != SM_MODULE_ABI) {
		log_warnx("sm: %s", config_errorf(sm->cfg, mn, "module '%s' is not available; "
						  "skipped in chain %s", name, chain_names[c]));
		return 0;
	}
	if (!module_has(m, c)) {
		log_debug("sm: module '%s' has nothing to do in chain %s", name, chain_names[c]);
		return 0;
	}
	if (mm_loaded(sm, m->name) == NULL) {
		/* Listed first, so that its fini undoes a failed init. */
		sm->loaded = xrealloc(sm->loaded, (size_t)(sm->nloaded + 1) * sizeof(m));
		sm->loaded[sm->nloaded++] = m;
		if (m->init != NULL && m->init(sm, config_node_attr(mn, "arg")) < 0) {
			*error_r = config_errorf(sm->cfg, mn, "module '%s' failed to start", name);
			return -1;
		}
	}
	sm->chains[c] = xrealloc(sm->chains[c], (size_t)(sm->nchain[c] + 1) * sizeof(m));
	sm->chains[c][sm->nchain[c]++] = m;
	return 0;
}

int sm_modules_init(struct sm *sm, const char **error_r)
{
	int i, n = config_count(sm->cfg, "modules.chain");

	slots_number(sm);
	for (i = 0; i < n; i++) {
		const struct config_node *cn = config_node(sm->cfg, "modules.chain", i), *mn;
		int c = chain_find(config_node_attr(cn, "id"));

		if (c < 0) {
			log_warnx("sm: %s", config_errorf(sm->cfg, cn, "unknown chain '%s' ignored",
							  config_node_attr(cn, "id") ?: "(no id)"));
			continue;
		}
		for (mn = config_node_child(cn, "module"); mn != NULL;
		     mn = config_node_next(mn, "module"))
			if (chain_add(sm, c, mn, error_r) < 0)
				return -1;
	}
	return 0;
}

/* Modules stop in the reverse order of their start; a module never
 * started (in no chain) is not asked. */
void sm_modules_fini(struct sm *sm)
{
	int i;

	for (i = sm->nloaded - 1; i >= 0; i--)
		if (sm->loaded[i]->fini != NULL)
			sm->loaded[i]->fini(sm);
	free(sm->loaded);
	sm->loaded = NULL;
	sm->nloaded = 0;
	for (i = 0; i < CHAIN_COUNT; i++) {
		free(sm->chains[i]);
		sm->chains[i] = NULL;
		sm->nchain[i] = 0;
	}
	free(sm->mod);
	sm->mod = NULL;
}

/* Hand each loaded module's data in *modp (the user's, or else the
 * session's) to its free hook, then free the array. */
static void data_free(struct sm *sm, void ***modp, struct user *user, struct sess *sess)
{
	void **mod = *modp;
	int i;

	for (i = 0; mod != NULL && i < sm->nloaded; i++) {
		const struct sm_module *m = sm->loaded[i];

		if (m->slot == NULL || mod[*m->slot] == NULL)
			continue;
		if (user != NULL && m->user_free != NULL)
			m->user_free(user, mod[*m->slot]);
		else if (user == NULL && m->sess_free != NULL)
			m->sess_free(sess, mod[*m->slot]);
		mod[*m->slot] = NULL;
	}
	free(mod);
	*modp = NULL;
}

void mm_user_free(struct sm *sm, struct user *user)
{
	data_free(sm, &user->mod, user, NULL);
}

void mm_sess_free(struct sm *sm, struct sess *sess)
{
	data_free(sm, &sess->mod, NULL, sess);
}

/* ---- running chains ---- */

#define CHAIN_RUN(c, call)                                                   \
	do {                                                                 \
		int i_;                                                      \
		for (i_ = 0; i_ < sm->nchain[c]; i_++) {                     \
			const struct sm_module *m = sm->chains[c][i_];       \
			if (call == MOD_HANDLED)                             \
				return MOD_HANDLED;                          \
		}                                                            \
		return MOD_PASS;                                             \
	} while (0)

enum mod_ret mm_sess_start(struct sm *sm, struct sess *sess)
{
	CHAIN_RUN(CHAIN_SESS_START, m->sess_start(sess));
}

void mm_sess_end(struct sm *sm, struct sess *sess)
{
	int i;

	for (i = 0; i < sm->nchain[CHAIN_SESS_END]; i++)
		sm->chains[CHAIN_SESS_END][i]->sess_end(sess);
}

enum mod_ret mm_in_sess(struct sm *sm, struct sess *sess, struct pkt *pkt)
{
	CHAIN_RUN(CHAIN_IN_SESS, m->in_sess(sess, pkt));
}

enum mod_ret mm_in_router(struct sm *sm, struct pkt *pkt)
{
	CHAIN_RUN(CHAIN_IN_ROUTER, m->in_router(pkt));
}

enum mod_ret mm_out_router(struct sm *sm, struct pkt *pkt)
{
	CHAIN_RUN(CHAIN_OUT_ROUTER, m->out_router(pkt));
}

enum mod_ret mm_pkt_sm(struct sm *sm, struct pkt *pkt)
{
	CHAIN_RUN(CHAIN_PKT_SM, m->pkt_sm(pkt));
}

enum mod_ret mm_pkt_user(struct sm *sm, struct user *user, struct pkt *pkt)
{
	CHAIN_RUN(CHAIN_PKT_USER, m->pkt_user(user, pkt));
}

enum mod_ret mm_pkt_router(struct sm *sm, struct pkt *pkt)
{
	CHAIN_RUN(CHAIN_PKT_ROUTER, m->pkt_router(pkt));
}

int mm_user_load(struct sm *sm, struct user *user)
{
	int i;

	for (i = 0; i < sm->nchain[CHAIN_USER_LOAD]; i++)
		if (sm->chains[CHAIN_USER_LOAD][i]->user_load(user) < 0)
			return -1;
	return 0;
}

void mm_user_unload(struct sm *sm, struct user *user)
{
	int i;

	for (i = 0; i < sm->nchain[CHAIN_USER_UNLOAD]; i++)
		sm->chains[CHAIN_USER_UNLOAD][i]->user_unload(user);
}

int mm_user_create(struct sm *sm, const struct jid *jid)
{
	int i;

	for (i = 0; i < sm->nchain[CHAIN_USER_CREATE]; i++)
		if (sm->chains[CHAIN_USER_CREATE][i]->user_create(sm, jid) < 0)
			return -1;
	return 0;
}

void mm_user_delete(struct sm *sm, const struct jid *jid)
{
	int i;

	for (i = 0; i < sm->nchain[CHAIN_USER_DELETE]; i++)
		sm->chains[CHAIN_USER_DELETE][i]->user_delete(sm, jid);
}

void mm_disco_extend(struct sm *sm, struct nad *nad, int query)
{
	int i;

	for (i = 0; i < sm->nchain[CHAIN_DISCO_EXTEND]; i++)
		sm->chains[CHAIN_DISCO_EXTEND][i]->disco_extend(sm, nad, query);
}

void mm_user_changed(struct sm *sm, struct user *user, enum sm_user_data what)
{
	int i;

	for (i = 0; i < sm->nloaded; i++)
		if (sm->loaded[i]->user_changed != NULL)
			sm->loaded[i]->user_changed(user, what);
}
