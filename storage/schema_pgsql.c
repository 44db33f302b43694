/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * schema_pgsql: the PostgreSQL schema, table by table, with the names,
 * column types, defaults and keys of jabberd2 2.7's db-setup.pgsql, so
 * that either server can use a database the other created. All sm tables
 * draw "object-sequence" from one global sequence (STORAGE_PGSQL_SEQUENCE).
 * storage_pgsql.c creates whatever is missing when it connects.
 *
 * Differences from jabberd2's script, all additive: the tables its sqlite
 * script has and its pgsql script lacks (published-roster,
 * published-roster-groups, verify) are here too, marked OURS, with the
 * sqlite script's columns in PostgreSQL types, and so are the tables no
 * jabberd2 has (roster-version, roster-state: sm/mod_roster.c; pep-items:
 * sm/mod_pep.c). No owner index is added to
 * `status` or `logout` as in SQLite: here their primary key is the owner,
 * which already indexes it.
 */
#include "config.h"
#include "storage/storage_private.h"

/* jabberd2's sm tables start so; `status` alone has no default. */
#define OWNER_SEQ_KEY \
	"\"collection-owner\" text PRIMARY KEY, " \
	"\"object-sequence\" bigint DEFAULT nextval('\"object-sequence\"'), "
#define OWNER_SEQ \
	"\"collection-owner\" text NOT NULL, " \
	"\"object-sequence\" bigint DEFAULT nextval('\"object-sequence\"'), "

#define NIDX(a) (sizeof(a) / sizeof((a)[0]))
#define OWNER_INDEX(name) { name, "\"collection-owner\"" }

static const struct storage_pgsql_index authreg_idx[] = {
	{ "i_authreg_username", "\"username\"" },
	{ "i_authreg_realm", "\"realm\"" },
};
static const struct storage_pgsql_index rosteri_idx[] = {
	OWNER_INDEX("i_rosteri_owner"),
};
static const struct storage_pgsql_index rosterg_idx[] = {
	OWNER_INDEX("i_rosterg_owner"),
	{ "i_rosterg_owner_jid", "\"collection-owner\", \"jid\"" },
};
static const struct storage_pgsql_index pubrosteri_idx[] = {
	OWNER_INDEX("i_pubrosteri_owner"),
};
static const struct storage_pgsql_index pubrosterg_idx[] = {
	OWNER_INDEX("i_pubrosterg_owner"),
};
static const struct storage_pgsql_index queue_idx[] = {
	OWNER_INDEX("i_queue_owner"),
};
static const struct storage_pgsql_index private_idx[] = {
	OWNER_INDEX("i_private_owner"),
};
static const struct storage_pgsql_index privacyi_idx[] = {
	OWNER_INDEX("i_privacyi_owner"),
};

/* One text column per vCard field, in jabberd2's column order. */
#define VCARD_COLUMNS \
	"\"fn\" text, \"nickname\" text, \"url\" text, \"tel\" text, " \
	"\"email\" text, \"jabberid\" text, \"mailer\" text, \"title\" text, " \
	"\"role\" text, \"bday\" text, \"tz\" text, \"n-family\" text, " \
	"\"n-given\" text, \"n-middle\" text, \"n-prefix\" text, " \
	"\"n-suffix\" text, \"adr-street\" text, \"adr-extadd\" text, " \
	"\"adr-pobox\" text, \"adr-locality\" text, \"adr-region\" text, " \
	"\"adr-pcode\" text, \"adr-country\" text, \"geo-lat\" text, " \
	"\"geo-lon\" text, \"org-orgname\" text, \"org-orgunit\" text, " \
	"\"agent-extval\" text, \"sort-string\" text, \"desc\" text, " \
	"\"note\" text, \"uid\" text, \"photo-type\" text, " \
	"\"photo-binval\" text, \"photo-extval\" text, \"logo-type\" text, " \
	"\"logo-binval\" text, \"logo-extval\" text, \"sound-phonetic\" text, " \
	"\"sound-binval\" text, \"sound-extval\" text, \"key-type\" text, " \
	"\"key-cred\" text, \"rev\" text"

static const struct storage_pgsql_index pepitem_idx[] = {
	{ "i_pepitem_owner_node", "\"collection-owner\", \"node\"" },
};

#define TABLE(name, flags, cols, idx) { name, flags, cols, idx, NIDX(idx) }
#define TABLE_NOIDX(name, flags, cols) { name, flags, cols, NULL, 0 }

const struct storage_pgsql_table storage_pgsql_schema[] = {
	/* c2s's table, in the same database; never prefixed. */
	TABLE("authreg", STORAGE_PGSQL_UNPREFIXED,
	      "\"username\" varchar(1023) NOT NULL, \"realm\" varchar(1023) NOT NULL, "
	      "\"password\" varchar(256), PRIMARY KEY (\"username\", \"realm\")",
	      authreg_idx),
	TABLE_NOIDX("active", 0, OWNER_SEQ_KEY "\"time\" integer NOT NULL DEFAULT 0"),
	TABLE_NOIDX("logout", 0, OWNER_SEQ_KEY "\"time\" integer NOT NULL DEFAULT 0"),
	TABLE("roster-items", 0,
	      OWNER_SEQ "\"jid\" text NOT NULL, \"name\" text, \"to\" boolean NOT NULL, "
			"\"from\" boolean NOT NULL, \"ask\" integer NOT NULL, "
			"PRIMARY KEY (\"collection-owner\", \"jid\")",
	      rosteri_idx),
	TABLE("roster-groups", 0,
	      OWNER_SEQ "\"jid\" text NOT NULL, \"group\" text NOT NULL, "
			"PRIMARY KEY (\"collection-owner\", \"jid\", \"group\")",
	      rosterg_idx),
	TABLE_NOIDX("vcard", 0, OWNER_SEQ_KEY VCARD_COLUMNS),
	TABLE("queue", 0, OWNER_SEQ "\"xml\" text NOT NULL", queue_idx),
	TABLE("private", 0,
	      OWNER_SEQ "\"ns\" text, \"xml\" text, PRIMARY KEY (\"collection-owner\", \"ns\")",
	      private_idx),
	TABLE_NOIDX("motd-message", 0, OWNER_SEQ_KEY "\"xml\" text NOT NULL"),
	TABLE_NOIDX("motd-times", 0, OWNER_SEQ_KEY "\"time\" integer NOT NULL"),
	TABLE_NOIDX("privacy-default", 0, OWNER_SEQ_KEY "\"default\" text"),
	TABLE("privacy-items", 0,
	      OWNER_SEQ "\"list\" text NOT NULL, \"type\" text, \"value\" text, "
			"\"deny\" boolean, \"order\" integer, \"block\" integer",
	      privacyi_idx),
	TABLE_NOIDX("vacation-settings", 0,
		    OWNER_SEQ_KEY "\"start\" integer, \"end\" integer, \"message\" text"),
	/* The driver always inserts the sequence, so the missing default
	 * (as in jabberd2's script) does not matter. */
	TABLE_NOIDX("status", 0,
		    "\"collection-owner\" text PRIMARY KEY, \"object-sequence\" bigint, "
		    "\"status\" text NOT NULL, \"show\" text, "
		    "\"last-login\" integer DEFAULT '0', \"last-logout\" integer DEFAULT '0', "
		    "\"xml\" text"),
	TABLE("published-roster", STORAGE_PGSQL_OURS,
	      OWNER_SEQ "\"jid\" text NOT NULL, \"group\" text, \"name\" text, "
			"\"to\" boolean NOT NULL, \"from\" boolean NOT NULL, "
			"\"ask\" integer NOT NULL",
	      pubrosteri_idx),
	TABLE("published-roster-groups", STORAGE_PGSQL_OURS,
	      OWNER_SEQ "\"groupname\" text NOT NULL", pubrosterg_idx),
	TABLE_NOIDX("verify", STORAGE_PGSQL_OURS,
		    OWNER_SEQ "\"email\" text NOT NULL, \"code\" text, "
			      "\"state\" integer DEFAULT 0"),
	TABLE_NOIDX("roster-version", STORAGE_PGSQL_OURS,
		    OWNER_SEQ_KEY "\"ver\" bigint NOT NULL"),
	TABLE_NOIDX("roster-state", STORAGE_PGSQL_OURS,
		    OWNER_SEQ "\"jid\" text NOT NULL, \"state\" integer NOT NULL, "
			      "PRIMARY KEY (\"collection-owner\", \"jid\")"),
	TABLE_NOIDX("pep-items", STORAGE_PGSQL_OURS,
		    OWNER_SEQ "\"node\" text NOT NULL, \"xml\" text NOT NULL, "
			      "PRIMARY KEY (\"collection-owner\", \"node\")"),
	/* PEP nodes (configuration, affiliations) and their items, oldest
	 * first by object-sequence (sm/mod_pep.c). */
	TABLE_NOIDX("pep-node", STORAGE_PGSQL_OURS,
		    OWNER_SEQ "\"node\" text NOT NULL, \"xml\" text NOT NULL, "
			      "PRIMARY KEY (\"collection-owner\", \"node\")"),
	TABLE("pep-item", STORAGE_PGSQL_OURS,
	      OWNER_SEQ "\"node\" text NOT NULL, \"id\" text NOT NULL, \"xml\" text NOT NULL",
	      pepitem_idx),
};

const size_t storage_pgsql_schema_len = NIDX(storage_pgsql_schema);
