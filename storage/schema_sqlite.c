/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * schema_sqlite: the SQLite schema, table by table, with the names, column
 * types and defaults of jabberd2 2.7's db-setup.sqlite so that either
 * server can use a database the other created. storage_sqlite.c creates
 * whatever table is missing when it opens a database. Two indexes are ours
 * (marked): jabberd2 scans `status` and `logout` by owner without one.
 * Three tables are ours (at the end; jabberd2 never reads them): the roster
 * version and per-contact subscription state jabberd2 has no column for
 * (sm/mod_roster.c), and the last PEP item of each node (sm/mod_pep.c),
 * which jabberd2 keeps in memory only.
 */
#include "config.h"
#include "storage/storage_private.h"

#define OWNER_SEQ \
	"\"collection-owner\" TEXT NOT NULL, " \
	"\"object-sequence\" INTEGER PRIMARY KEY, "

#define OWNER_INDEX(name) { name, "\"collection-owner\"", 0 }
#define NIDX(a) (sizeof(a) / sizeof((a)[0]))

static const struct storage_sqlite_index authreg_idx[] = {
	{ "i_authreg_username", "\"username\"", 0 },
	{ "i_authreg_realm", "\"realm\"", 0 },
};
static const struct storage_sqlite_index active_idx[] = {
	OWNER_INDEX("i_active_collection_owner"),
};
static const struct storage_sqlite_index logout_idx[] = {
	{ "i_logout_owner", "\"collection-owner\"", 1 },
};
static const struct storage_sqlite_index rosteri_idx[] = {
	OWNER_INDEX("i_rosteri_owner"),
};
static const struct storage_sqlite_index rosterg_idx[] = {
	OWNER_INDEX("i_rosterg_owner"),
	{ "i_rosterg_owner_jid", "\"collection-owner\", \"jid\"", 0 },
};
static const struct storage_sqlite_index pubrosteri_idx[] = {
	OWNER_INDEX("i_pubrosteri_owner"),
};
static const struct storage_sqlite_index pubrosterg_idx[] = {
	OWNER_INDEX("i_pubrosterg_owner"),
};
static const struct storage_sqlite_index vcard_idx[] = {
	OWNER_INDEX("i_vcard_owner"),
};
static const struct storage_sqlite_index queue_idx[] = {
	OWNER_INDEX("i_queue_owner"),
};
static const struct storage_sqlite_index private_idx[] = {
	OWNER_INDEX("i_private_owner"),
};
static const struct storage_sqlite_index privacyi_idx[] = {
	OWNER_INDEX("i_privacyi_owner"),
};
static const struct storage_sqlite_index rosterv_idx[] = {
	OWNER_INDEX("i_rosterv_owner"),
};
static const struct storage_sqlite_index rosters_idx[] = {
	OWNER_INDEX("i_rosters_owner"),
};
static const struct storage_sqlite_index pep_idx[] = {
	OWNER_INDEX("i_pep_owner"),
};
static const struct storage_sqlite_index pepnode_idx[] = {
	OWNER_INDEX("i_pepnode_owner"),
};
static const struct storage_sqlite_index pepitem_idx[] = {
	OWNER_INDEX("i_pepitem_owner"),
};
static const struct storage_sqlite_index status_idx[] = {
	{ "i_status_owner", "\"collection-owner\"", 1 },
};

/* One TEXT column per vCard field, in jabberd2's column order. */
#define VCARD_COLUMNS \
	"\"fn\" TEXT, \"nickname\" TEXT, \"url\" TEXT, \"tel\" TEXT, " \
	"\"email\" TEXT, \"jabberid\" TEXT, \"mailer\" TEXT, \"title\" TEXT, " \
	"\"role\" TEXT, \"bday\" TEXT, \"tz\" TEXT, \"n-family\" TEXT, " \
	"\"n-given\" TEXT, \"n-middle\" TEXT, \"n-prefix\" TEXT, " \
	"\"n-suffix\" TEXT, \"adr-street\" TEXT, \"adr-extadd\" TEXT, " \
	"\"adr-pobox\" TEXT, \"adr-locality\" TEXT, \"adr-region\" TEXT, " \
	"\"adr-pcode\" TEXT, \"adr-country\" TEXT, \"geo-lat\" TEXT, " \
	"\"geo-lon\" TEXT, \"org-orgname\" TEXT, \"org-orgunit\" TEXT, " \
	"\"agent-extval\" TEXT, \"sort-string\" TEXT, \"desc\" TEXT, " \
	"\"note\" TEXT, \"uid\" TEXT, \"photo-type\" TEXT, " \
	"\"photo-binval\" TEXT, \"photo-extval\" TEXT, \"logo-type\" TEXT, " \
	"\"logo-binval\" TEXT, \"logo-extval\" TEXT, \"sound-phonetic\" TEXT, " \
	"\"sound-binval\" TEXT, \"sound-extval\" TEXT, \"key-type\" TEXT, " \
	"\"key-cred\" TEXT, \"rev\" TEXT"

#define TABLE(name, cols, idx) { name, 0, cols, idx, NIDX(idx) }
#define TABLE_NOIDX(name, cols) { name, 0, cols, NULL, 0 }

const struct storage_sqlite_table storage_sqlite_schema[] = {
	/* c2s's table, shared through the same file; never prefixed. */
	{ "authreg", 1,
	  "\"username\" TEXT NOT NULL, \"realm\" TEXT NOT NULL, \"password\" TEXT",
	  authreg_idx, NIDX(authreg_idx) },
	TABLE("active", OWNER_SEQ "\"time\" INTEGER NOT NULL DEFAULT 0", active_idx),
	TABLE("logout", OWNER_SEQ "\"time\" INTEGER NOT NULL DEFAULT 0", logout_idx),
	TABLE("roster-items",
	      OWNER_SEQ "\"jid\" TEXT NOT NULL, \"name\" TEXT, \"to\" BOOLEAN NOT NULL, "
			"\"from\" BOOLEAN NOT NULL, \"ask\" INTEGER NOT NULL",
	      rosteri_idx),
	TABLE("roster-groups", OWNER_SEQ "\"jid\" TEXT NOT NULL, \"group\" TEXT NOT NULL",
	      rosterg_idx),
	TABLE("published-roster",
	      OWNER_SEQ "\"jid\" TEXT NOT NULL, \"group\" TEXT, \"name\" TEXT, "
			"\"to\" BOOLEAN NOT NULL, \"from\" BOOLEAN NOT NULL, "
			"\"ask\" INTEGER NOT NULL",
	      pubrosteri_idx),
	TABLE("published-roster-groups", OWNER_SEQ "\"groupname\" TEXT NOT NULL",
	      pubrosterg_idx),
	TABLE("vcard", OWNER_SEQ VCARD_COLUMNS, vcard_idx),
	TABLE("queue", OWNER_SEQ "\"xml\" TEXT NOT NULL", queue_idx),
	TABLE("private", OWNER_SEQ "\"ns\" TEXT, \"xml\" TEXT", private_idx),
	TABLE_NOIDX("motd-message", OWNER_SEQ "\"xml\" TEXT NOT NULL"),
	TABLE_NOIDX("motd-times", OWNER_SEQ "\"time\" INTEGER NOT NULL"),
	TABLE_NOIDX("privacy-default", OWNER_SEQ "\"default\" TEXT"),
	TABLE("privacy-items",
	      OWNER_SEQ "\"list\" TEXT NOT NULL, \"type\" TEXT, \"value\" TEXT, "
			"\"deny\" BOOL, \"order\" INTEGER, \"block\" INTEGER",
	      privacyi_idx),
	TABLE_NOIDX("vacation-settings",
		    OWNER_SEQ "\"start\" INTEGER, \"end\" INTEGER, \"message\" TEXT"),
	TABLE("status",
	      OWNER_SEQ "\"status\" TEXT NOT NULL, \"show\" TEXT, "
			"\"last-login\" INTEGER DEFAULT '0', "
			"\"last-logout\" INTEGER DEFAULT '0', \"xml\" TEXT",
	      status_idx),
	TABLE_NOIDX("verify",
		    OWNER_SEQ "\"email\" TEXT NOT NULL, \"code\" TEXT, \"state\" INTEGER DEFAULT 0"),
	/* OURS: the XEP-0237 version, kept across removals. */
	TABLE("roster-version", OWNER_SEQ "\"ver\" INTEGER NOT NULL", rosterv_idx),
	/* OURS: RFC 6121 state per contact, SM_S10N_* bits. */
	TABLE("roster-state", OWNER_SEQ "\"jid\" TEXT NOT NULL, \"state\" INTEGER NOT NULL",
	      rosters_idx),
	/* OURS: the last item published to each PEP node. */
	TABLE("pep-items", OWNER_SEQ "\"node\" TEXT NOT NULL, \"xml\" TEXT NOT NULL", pep_idx),
	/* OURS: PEP nodes (configuration, affiliations) and their items,
	 * oldest first. */
	TABLE("pep-node", OWNER_SEQ "\"node\" TEXT NOT NULL, \"xml\" TEXT NOT NULL", pepnode_idx),
	TABLE("pep-item",
	      OWNER_SEQ "\"node\" TEXT NOT NULL, \"id\" TEXT NOT NULL, \"xml\" TEXT NOT NULL",
	      pepitem_idx),
};

const size_t storage_sqlite_schema_len = NIDX(storage_sqlite_schema);
