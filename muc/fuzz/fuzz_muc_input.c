/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the muc daemon's parsers of client input
 * (muc/form.c): the input's first line is an address given to
 * muc_addr_parse (room JID and nick); the rest is parsed as XML and, if
 * it parses, offered to muc_form_apply (the room configuration form),
 * muc_history_parse (a join's history request), muc_form_is_cancel and
 * muc_form_value.
 * An accepted form must survive the round trip: the form built from the
 * result, submitted back, gives an accepted form again.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "muc/form.h"
#include "muc/room.h"
#include "util/jid.h"
#include "util/nad.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void round_trip(const struct room_config *cfg)
{
	struct room_config back;
	const char *error;
	struct nad *nad = nad_new();
	int x;

	nad_elem_add(nad, NAD_NONE, NULL, "query");
	muc_form_build(nad, 0, cfg, 0);
	x = nad_child(nad, 0, MUC_NS_XDATA, "x");
	nad_attr_set(nad, x, NULL, "type", "submit");
	room_config_init(&back);
	if (muc_form_apply(nad, x, &back, 0, &error) < 0)
		abort();
	if (strcmp(back.name, cfg->name) != 0 || strcmp(back.password, cfg->password) != 0 ||
	    back.max_users != cfg->max_users || back.members_only != cfg->members_only)
		abort();
	room_config_clear(&back);
	nad_free(&nad);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t alen = nl != NULL ? (size_t)(nl - data) : size;
	struct room_history_req req;
	struct room_config cfg;
	struct jid *room, *full;
	const char *error = NULL;
	char *addr = malloc(alen + 1);
	struct nad *nad;

	if (addr == NULL)
		return 0;
	memcpy(addr, data, alen);
	addr[alen] = '\0';
	if (muc_addr_parse(addr, &room, &full, &error) == 0) {
		if (full == NULL || strlen(jid_resource(full)) > MUC_NICK_MAX)
			abort();
		jid_free(&room);
		jid_free(&full);
	} else if (error == NULL || room != NULL || full != NULL) {
		abort();
	}
	free(addr);
	if (nl == NULL)
		return 0;
	nad = nad_parse((const char *)nl + 1, size - alen - 1, 32, &error, NULL);
	if (nad == NULL)
		return 0;
	room_config_init(&cfg);
	if (muc_form_apply(nad, 0, &cfg, 1000, &error) == 0)
		round_trip(&cfg);
	room_config_clear(&cfg);
	(void)muc_form_is_cancel(nad, 0);
	(void)muc_form_value(nad, 0, "muc#request_allow");
	(void)muc_history_parse(nad, 0, &req, &error);
	nad_free(&nad);
	return 0;
}
