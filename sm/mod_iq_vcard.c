/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mod_iq_vcard: XEP-0054 vcard-temp on jabberd2's "vcard" table: one row
 * per owner, one column per vCard field (compat spec section 8.2), so
 * only those fields survive a set, as with jabberd2. A user sets its own
 * vCard; anyone may read a user's; the domain's vCard (owner = domain) is
 * read at the domain. Values longer than user.vcard.max-field-size
 * (default / avatar for PHOTO/BINVAL, 16384 bytes each) are cut to max-1
 * bytes, as jabberd2 does. A set whose <vCard/> serializes to more than
 * user.vcard.max-size bytes (default 65536, 0 = no limit; not in
 * jabberd2) is refused whole with not-acceptable (the condition XEP-0060
 * uses for a payload too big) and nothing is stored.
 */
#include "config.h"
#include "sm/sm.h"

#include <stdlib.h>
#include <string.h>

#include "storage/storage.h"
#include "util/buf.h"
#include "util/config_file.h"
#include "util/jid.h"
#include "util/log.h"
#include "util/nad.h"

#define NS_VCARD "vcard-temp"

/* Column and element path (one or two levels) below <vCard>. */
static const struct {
	const char *col, *e1, *e2;
} vcard_map[] = {
	{ "fn", "FN", NULL }, { "n-family", "N", "FAMILY" }, { "n-given", "N", "GIVEN" },
	{ "n-middle", "N", "MIDDLE" }, { "n-prefix", "N", "PREFIX" },
	{ "n-suffix", "N", "SUFFIX" }, { "nickname", "NICKNAME", NULL },
	{ "photo-type", "PHOTO", "TYPE" }, { "photo-binval", "PHOTO", "BINVAL" },
	{ "photo-extval", "PHOTO", "EXTVAL" }, { "bday", "BDAY", NULL },
	{ "adr-pobox", "ADR", "POBOX" }, { "adr-extadd", "ADR", "EXTADD" },
	{ "adr-street", "ADR", "STREET" }, { "adr-locality", "ADR", "LOCALITY" },
	{ "adr-region", "ADR", "REGION" }, { "adr-pcode", "ADR", "PCODE" },
	{ "adr-country", "ADR", "CTRY" }, { "tel", "TEL", "NUMBER" },
	{ "email", "EMAIL", "USERID" }, { "jabberid", "JABBERID", NULL },
	{ "mailer", "MAILER", NULL }, { "tz", "TZ", NULL }, { "geo-lat", "GEO", "LAT" },
	{ "geo-lon", "GEO", "LON" }, { "title", "TITLE", NULL }, { "role", "ROLE", NULL },
	{ "logo-type", "LOGO", "TYPE" }, { "logo-binval", "LOGO", "BINVAL" },
	{ "logo-extval", "LOGO", "EXTVAL" }, { "agent-extval", "AGENT", "EXTVAL" },
	{ "org-orgname", "ORG", "ORGNAME" }, { "org-orgunit", "ORG", "ORGUNIT" },
	{ "note", "NOTE", NULL }, { "rev", "REV", NULL }, { "sort-string", "SORT-STRING", NULL },
	{ "sound-phonetic", "SOUND", "PHONETIC" }, { "sound-binval", "SOUND", "BINVAL" },
	{ "sound-extval", "SOUND", "EXTVAL" }, { "uid", "UID", NULL }, { "url", "URL", NULL },
	{ "desc", "DESC", NULL }, { "key-type", "KEY", "TYPE" }, { "key-cred", "KEY", "CRED" },
};
#define VCARD_NMAP (sizeof(vcard_map) / sizeof(vcard_map[0]))

static size_t vcard_max_default = 16384, vcard_max_avatar = 16384;
static size_t vcard_max_size = 65536;

/* 1 if the <vCard/> element is over user.vcard.max-size when serialized. */
static int vcard_too_big(const struct nad *nad, int vc)
{
	struct buf b = { 0 };
	int big;

	if (vcard_max_size == 0)
		return 0;
	nad_serialize(nad, vc, NULL, &b);
	big = b.len > vcard_max_size;
	buf_free(&b);
	return big;
}

/* The vCard in a set, as one storage object. */
static struct os *vcard_to_os(const struct nad *nad, int vc)
{
	struct os *os = os_new();
	struct os_object *o = os_object_new(os);
	size_t i;

	for (i = 0; i < VCARD_NMAP; i++) {
		int e = nad_child(nad, vc, NULL, vcard_map[i].e1);
		size_t len, max = strcmp(vcard_map[i].col, "photo-binval") == 0
					  ? vcard_max_avatar : vcard_max_default;
		const char *text;
		char *v;

		if (e != NAD_NONE && vcard_map[i].e2 != NULL)
			e = nad_child(nad, e, NULL, vcard_map[i].e2);
		if (e == NAD_NONE)
			continue;
		text = nad_text(nad, e, &len);
		if (len == 0)
			continue;
		if (len >= max)
			len = max - 1;
		v = xstrndup(text, len);
		os_object_put_str(o, vcard_map[i].col, v);
		free(v);
	}
	return os;
}

static void vcard_text(struct nad *nad, int parent, const char *name, const char *text)
{
	int e = nad_elem_add(nad, parent, NS_VCARD, name);

	nad_text_set(nad, e, text, strlen(text));
}

/* Build <vCard/> from the stored row into the reply. */
static void vcard_from_os(struct os_object *o, struct nad *nad, int vc)
{
	size_t i;

	for (i = 0; i < VCARD_NMAP; i++) {
		const char *v;
		int parent;

		if (os_object_get_str(o, vcard_map[i].col, &v) < 0 || v[0] == '\0')
			continue;
		if (vcard_map[i].e2 == NULL) {
			vcard_text(nad, vc, vcard_map[i].e1, v);
			continue;
		}
		parent = nad_child(nad, vc, NS_VCARD, vcard_map[i].e1);
		if (parent == NAD_NONE)
			parent = nad_elem_add(nad, vc, NS_VCARD, vcard_map[i].e1);
		vcard_text(nad, parent, vcard_map[i].e2, v);
	}
}

/* Answer a get for `owner`'s vCard; returns the reply (pkt). */
static struct pkt *vcard_get(struct sm *sm, struct pkt *pkt, const char *owner)
{
	struct os *os = NULL;
	const char *error;
	int vc;

	pkt_result(pkt);
	vc = nad_elem_add(pkt->nad, 0, NS_VCARD, "vCard");
	if (storage_get(sm->st, "vcard", owner, NULL, &os, &error) == STORAGE_OK)
		vcard_from_os(os_first(os), pkt->nad, vc);
	os_free(&os);
	return pkt;
}

static struct pkt *vcard_set(struct sm *sm, struct pkt *pkt, const char *owner)
{
	int vc = nad_child(pkt->nad, 0, NS_VCARD, "vCard");
	struct os *os;
	const char *error;
	int rc;

	if (vc == NAD_NONE)
		return pkt_error(pkt, "bad-request");
	if (vcard_too_big(pkt->nad, vc)) {
		log_notice("sm: iq-vcard: vCard of %s over %zu bytes refused", owner,
			   vcard_max_size);
		return pkt_error(pkt, "not-acceptable");
	}
	os = vcard_to_os(pkt->nad, vc);
	rc = storage_replace(sm->st, "vcard", owner, NULL, os, &error);
	os_free(&os);
	if (rc != STORAGE_OK) {
		log_error("sm: iq-vcard: cannot store for %s: %s", owner, error);
		return pkt_error(pkt, "internal-server-error");
	}
	sm_cluster_changed(sm, owner, SM_DATA_VCARD);
	return pkt_result(pkt);
}

static int is_vcard(const struct pkt *pkt)
{
	return (pkt->type & (PKT_IQ | PKT_IQ_SET)) && pkt->iq_ns != NULL &&
	       strcmp(pkt->iq_ns, NS_VCARD) == 0;
}

/* From a session with no `to`: the user's own vCard. */
static enum mod_ret vcard_in_sess(struct sess *sess, struct pkt *pkt)
{
	const char *owner = jid_bare(sess->user->jid);

	if (!is_vcard(pkt) || pkt->to != NULL)
		return MOD_PASS;
	if (pkt->type == PKT_IQ)
		pkt_sess(vcard_get(sess->user->sm, pkt, owner), sess);
	else
		pkt_sess(vcard_set(sess->user->sm, pkt, owner), sess);
	return MOD_HANDLED;
}

/* To a user's bare JID: anyone reads; only the user writes. */
static enum mod_ret vcard_pkt_user(struct user *user, struct pkt *pkt)
{
	if (!is_vcard(pkt) || jid_resource(pkt->to)[0] != '\0')
		return MOD_PASS;
	if (pkt->type == PKT_IQ) {
		pkt_router(vcard_get(user->sm, pkt, jid_bare(user->jid)));
		return MOD_HANDLED;
	}
	if (pkt->from == NULL || !jid_equal_bare(pkt->from, user->jid)) {
		pkt_router(pkt_error(pkt, "forbidden"));
		return MOD_HANDLED;
	}
	pkt_router(vcard_set(user->sm, pkt, jid_bare(user->jid)));
	return MOD_HANDLED;
}

/* The domain's vCard: readable by all (set by an administrator in the
 * database, as in jabberd2). */
static enum mod_ret vcard_pkt_sm(struct pkt *pkt)
{
	if (!is_vcard(pkt))
		return MOD_PASS;
	if (pkt->type == PKT_IQ_SET)
		pkt_router(pkt_error(pkt, "forbidden"));
	else
		pkt_router(vcard_get(pkt->sm, pkt, jid_domain(pkt->to)));
	return MOD_HANDLED;
}

static void vcard_user_delete(struct sm *sm, const struct jid *jid)
{
	const char *error;

	storage_delete(sm->st, "vcard", jid_bare(jid), NULL, &error);
}

static int vcard_init(struct sm *sm, const char *arg)
{
	const char *v;

	(void)arg;
	if ((v = config_get(sm->cfg, "user.vcard.max-field-size.default")) != NULL &&
	    atoi(v) > 1)
		vcard_max_default = (size_t)atoi(v);
	if ((v = config_get(sm->cfg, "user.vcard.max-field-size.avatar")) != NULL && atoi(v) > 1)
		vcard_max_avatar = (size_t)atoi(v);
	if ((v = config_get(sm->cfg, "user.vcard.max-size")) != NULL && atoi(v) >= 0)
		vcard_max_size = (size_t)atoi(v);
	sm_feature(sm, NS_VCARD);
	return 0;
}

const struct sm_module sm_module_iq_vcard = {
	.name = "iq-vcard",
	.abi = SM_MODULE_ABI,
	.init = vcard_init,
	.in_sess = vcard_in_sess,
	.pkt_sm = vcard_pkt_sm,
	.pkt_user = vcard_pkt_user,
	.user_delete = vcard_user_delete,
};
