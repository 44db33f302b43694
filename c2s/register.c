/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * register.c: in-band registration (XEP-0077) as jabberd2's c2s does it:
 * before authentication, where the host has register-enable, an account
 * is created in authreg and then at the sm (create/created); the iq result
 * waits for the sm. After authentication the same namespace changes the
 * password (register-enable or password-change) or, with <remove/>,
 * deletes the account in authreg and at the sm. Registrations are limited
 * per client address (authreg.register.limit per .seconds), the address
 * the per-IP throttle uses (c2s_client_ip: behind a trusted WebSocket
 * proxy, the forwarded client), except for the addresses listed in
 * authreg.register.exempt (loopback by default).
 */
#include "config.h"
#include "c2s/c2s.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/jid.h"
#include "util/log.h"
#include "util/nad.h"

static void iq_result(struct c2s_conn *c, const char *id)
{
	struct nad *r = nad_new();
	int iq = nad_elem_add(r, NAD_NONE, SX_NS_CLIENT, "iq");

	nad_attr_set(r, iq, NULL, "type", "result");
	if (id != NULL)
		nad_attr_set(r, iq, NULL, "id", id);
	c2s_send(c, r);
}

static void reg_form(struct c2s_conn *c, const struct nad *nad)
{
	struct nad *r = nad_new();
	const char *id = nad_attr(nad, 0, NULL, "id");
	const char *instr = c->host->instructions != NULL ? c->host->instructions :
		"Choose a username and password to register with this server.";
	int iq = nad_elem_add(r, NAD_NONE, SX_NS_CLIENT, "iq"), q, e;

	nad_attr_set(r, iq, NULL, "type", "result");
	if (id != NULL)
		nad_attr_set(r, iq, NULL, "id", id);
	q = nad_elem_add(r, iq, C2S_NS_REGISTER, "query");
	if (c->state != C2S_CONNECTED) {
		nad_elem_add(r, q, C2S_NS_REGISTER, "registered");
		e = nad_elem_add(r, q, C2S_NS_REGISTER, "username");
		nad_text_append(r, e, c->user, strlen(c->user));
	} else {
		e = nad_elem_add(r, q, C2S_NS_REGISTER, "instructions");
		nad_text_append(r, e, instr, strlen(instr));
		nad_elem_add(r, q, C2S_NS_REGISTER, "username");
	}
	nad_elem_add(r, q, C2S_NS_REGISTER, "password");
	c2s_send(c, r);
}

/* The text of query/<name>, or NULL if absent or empty. */
static const char *field(const struct nad *nad, int q, const char *name)
{
	int e = nad_child(nad, q, C2S_NS_REGISTER, name);
	size_t len;
	const char *t;

	if (e == NAD_NONE)
		return NULL;
	t = nad_text(nad, e, &len);
	return len > 0 ? t : NULL;
}

int c2s_register_exempt(const struct c2s *c2s, const char *ip)
{
	return c2s->reg_exempt != NULL && mio_access_check_ip(c2s->reg_exempt, ip);
}

static void reg_create(struct c2s_conn *c, const struct nad *nad, int q)
{
	struct c2s *c2s = c->c2s;
	const char *user = field(nad, q, "username"), *pass = field(nad, q, "password");
	char ipbuf[C2S_IP_MAX];
	const char *ip = c2s_client_ip(c, ipbuf, sizeof(ipbuf)), *error;
	char node[JID_PART_MAX + 1];
	int rc, exempt;

	if (c->reg_user != NULL) {
		c2s_iq_error(c, nad, "wait", "resource-constraint");
		return;
	}
	if (user == NULL || pass == NULL || jid_nodeprep(user, node, sizeof(node), &error) < 0) {
		c2s_iq_error(c, nad, "modify", "not-acceptable");
		return;
	}
	exempt = c2s_register_exempt(c2s, ip);
	if (!exempt &&
	    c2s_fail_blocked(c2s->regs, ip, c2s->o.register_limit, c2s->o.register_window)) {
		log_notice("c2s: conn %s: registration limit reached for %s", c->id, ip);
		c2s_iq_error(c, nad, "wait", "resource-constraint");
		return;
	}
	rc = authreg_create_user(c2s->ar, node, c->realm);
	if (rc == AUTHREG_OK)
		rc = authreg_set_password(c2s->ar, node, c->realm, pass);
	if (rc != AUTHREG_OK) {
		c2s_iq_error(c, nad, "cancel",
			     rc == AUTHREG_FAIL ? "conflict" : "internal-server-error");
		return;
	}
	if (!exempt)
		c2s_fail_note(c2s->regs, ip, c2s->o.register_window);
	c2s->n.registrations++;
	c->reg_user = xstrdup(node);
	c->reg_iq_id = xstrdup_opt(nad_attr(nad, 0, NULL, "id"));
	{
		char *bare = xasprintf("%s@%s", node, c->domain);

		c2s_sess_send(c, "create", bare);
		free(bare);
	}
	log_notice("c2s: conn %s: registered %s@%s from %s", c->id, node, c->domain, ip);
}

void c2s_register_created(struct c2s_conn *c, int ok)
{
	if (c->reg_user == NULL)
		return;
	if (ok)
		iq_result(c, c->reg_iq_id);
	else {
		struct nad *req = nad_new();
		int iq = nad_elem_add(req, NAD_NONE, SX_NS_CLIENT, "iq");

		if (c->reg_iq_id != NULL)
			nad_attr_set(req, iq, NULL, "id", c->reg_iq_id);
		log_warnx("c2s: conn %s: the sm refused to create %s; account removed",
			  c->id, c->reg_user);
		authreg_delete_user(c->c2s->ar, c->reg_user, c->realm);
		c2s_iq_error(c, req, "wait", "internal-server-error");
		nad_free(&req);
	}
	free(c->reg_user);
	free(c->reg_iq_id);
	c->reg_user = c->reg_iq_id = NULL;
}

static void reg_remove(struct c2s_conn *c, const struct nad *nad)
{
	char *bare = xasprintf("%s@%s", c->user, c->domain);

	if (authreg_delete_user(c->c2s->ar, c->user, c->realm) == AUTHREG_ERROR) {
		c2s_iq_error(c, nad, "wait", "internal-server-error");
		free(bare);
		return;
	}
	if (c->state == C2S_ACTIVE)
		c2s_sess_send(c, "delete", bare);
	log_notice("c2s: conn %s: account %s removed by its owner", c->id, bare);
	free(bare);
	iq_result(c, nad_attr(nad, 0, NULL, "id"));
	sx_close(c->sx);
}

static void reg_password(struct c2s_conn *c, const struct nad *nad, int q)
{
	const char *user = field(nad, q, "username"), *pass = field(nad, q, "password");
	char node[JID_PART_MAX + 1];
	const char *error;

	if (!c->host->register_enable && !c->host->password_change) {
		c2s_iq_error(c, nad, "cancel", "not-allowed");
		return;
	}
	if (pass == NULL || (user != NULL && (jid_nodeprep(user, node, sizeof(node), &error) < 0 ||
					      strcmp(node, c->user) != 0))) {
		c2s_iq_error(c, nad, "modify", "bad-request");
		return;
	}
	if (authreg_set_password(c->c2s->ar, c->user, c->realm, pass) != AUTHREG_OK) {
		c2s_iq_error(c, nad, "wait", "internal-server-error");
		return;
	}
	log_notice("c2s: conn %s: password of %s@%s changed", c->id, c->user, c->domain);
	iq_result(c, nad_attr(nad, 0, NULL, "id"));
}

void c2s_register_iq(struct c2s_conn *c, struct nad *nad)
{
	const char *type = nad_attr(nad, 0, NULL, "type");
	int q = nad_child(nad, 0, C2S_NS_REGISTER, "query");

	if (q == NAD_NONE || type == NULL) {
		c2s_iq_error(c, nad, "modify", "bad-request");
		return;
	}
	if (strcmp(type, "get") == 0) {
		reg_form(c, nad);
		return;
	}
	if (strcmp(type, "set") != 0) {
		c2s_iq_error(c, nad, "modify", "bad-request");
		return;
	}
	if (c->state == C2S_CONNECTED)
		reg_create(c, nad, q);
	else if (!authreg_can_register(c->c2s->ar))
		c2s_iq_error(c, nad, "cancel", "not-allowed");  /* accounts live elsewhere */
	else if (nad_child(nad, q, C2S_NS_REGISTER, "remove") != NAD_NONE)
		reg_remove(c, nad);
	else
		reg_password(c, nad, q);
}
