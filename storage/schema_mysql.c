/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * schema_mysql: the MySQL/MariaDB schema, table by table, with the names,
 * column types and keys of jabberd2 2.7's db-setup.mysql, so that either
 * server can use a database the other created. Each sm table numbers its
 * rows itself ("object-sequence" AUTO_INCREMENT), as jabberd2's does.
 * storage_mysql.c creates whatever is missing when it connects, with the
 * table options SQL_MYSQL_TABLE_OPTIONS. Identifiers are written in
 * double quotes: our connections run with ANSI_QUOTES (sql_mysql.c).
 *
 * Differences from jabberd2's script: the character set is utf8mb4 (its
 * "UTF8" is three bytes at most, and refuses many characters people put
 * in names and messages); the tables its sqlite script has and its mysql
 * script lacks (published-roster, published-roster-groups, verify) are
 * here too, marked OURS, and so are those no jabberd2 has
 * (roster-version, roster-state: sm/mod_roster.c; pep-items: sm/mod_pep.c).
 */
#include "config.h"
#include "storage/storage_private.h"

/* jabberd2's sm tables start so. TEXT keys index a prefix of the column. */
#define OWNER_SEQ \
	"\"collection-owner\" TEXT NOT NULL, KEY(\"collection-owner\"(255)), " \
	"\"object-sequence\" BIGINT NOT NULL AUTO_INCREMENT, PRIMARY KEY(\"object-sequence\"), "

#define VC(name, type) "\"" name "\" " type ", "
#define VCARD_COLUMNS \
	VC("fn", "VARCHAR(255)") VC("nickname", "VARCHAR(255)") VC("url", "VARCHAR(255)") \
	VC("tel", "VARCHAR(255)") VC("email", "VARCHAR(255)") \
	VC("jabberid", "VARCHAR(3071)") VC("mailer", "VARCHAR(1023)") \
	VC("title", "VARCHAR(255)") VC("role", "VARCHAR(255)") VC("bday", "VARCHAR(255)") \
	VC("tz", "VARCHAR(7)") VC("n-family", "VARCHAR(255)") VC("n-given", "VARCHAR(255)") \
	VC("n-middle", "VARCHAR(255)") VC("n-prefix", "VARCHAR(255)") \
	VC("n-suffix", "VARCHAR(255)") VC("adr-street", "VARCHAR(255)") \
	VC("adr-extadd", "VARCHAR(255)") VC("adr-pobox", "VARCHAR(15)") \
	VC("adr-locality", "VARCHAR(255)") VC("adr-region", "VARCHAR(255)") \
	VC("adr-pcode", "VARCHAR(31)") VC("adr-country", "VARCHAR(63)") \
	VC("geo-lat", "VARCHAR(255)") VC("geo-lon", "VARCHAR(255)") \
	VC("org-orgname", "VARCHAR(255)") VC("org-orgunit", "VARCHAR(255)") \
	VC("agent-extval", "VARCHAR(255)") VC("sort-string", "VARCHAR(255)") \
	VC("desc", "TEXT") VC("note", "TEXT") VC("uid", "VARCHAR(255)") \
	VC("photo-type", "VARCHAR(127)") VC("photo-binval", "TEXT") \
	VC("photo-extval", "VARCHAR(255)") VC("logo-type", "VARCHAR(127)") \
	VC("logo-binval", "TEXT") VC("logo-extval", "VARCHAR(255)") \
	VC("sound-phonetic", "VARCHAR(255)") VC("sound-binval", "TEXT") \
	VC("sound-extval", "VARCHAR(255)") VC("key-type", "VARCHAR(127)") \
	VC("key-cred", "TEXT") "\"rev\" VARCHAR(255)"

const struct storage_mysql_table storage_mysql_schema[] = {
	/* c2s's table, in the same database; never prefixed. */
	{ "authreg", STORAGE_MYSQL_UNPREFIXED,
	  "\"username\" TEXT, KEY \"username\" (\"username\"(255)), "
	  "\"realm\" TINYTEXT, KEY \"realm\" (\"realm\"(255)), \"password\" TINYTEXT" },
	{ "active", 0, OWNER_SEQ "\"time\" INT" },
	{ "logout", 0, OWNER_SEQ "\"time\" INT" },
	{ "roster-items", 0,
	  OWNER_SEQ "\"jid\" TEXT, \"name\" TEXT, \"to\" TINYINT, \"from\" TINYINT, \"ask\" INT" },
	{ "roster-groups", 0, OWNER_SEQ "\"jid\" TEXT, \"group\" TEXT" },
	{ "vcard", 0,
	  "\"collection-owner\" VARCHAR(255) NOT NULL, KEY(\"collection-owner\"(255)), "
	  "\"object-sequence\" BIGINT NOT NULL AUTO_INCREMENT, PRIMARY KEY(\"object-sequence\"), "
	  VCARD_COLUMNS },
	{ "queue", 0, OWNER_SEQ "\"xml\" MEDIUMTEXT" },
	{ "private", 0, OWNER_SEQ "\"ns\" TEXT, \"xml\" MEDIUMTEXT" },
	{ "motd-message", 0, OWNER_SEQ "\"xml\" TEXT" },
	{ "motd-times", 0, OWNER_SEQ "\"time\" INT" },
	{ "privacy-default", 0, OWNER_SEQ "\"default\" TEXT" },
	{ "privacy-items", 0,
	  OWNER_SEQ "\"list\" TEXT, \"type\" TEXT, \"value\" TEXT, \"deny\" TINYINT, "
		    "\"order\" INT, \"block\" INT" },
	{ "vacation-settings", 0, OWNER_SEQ "\"start\" INT, \"end\" INT, \"message\" TEXT" },
	/* As jabberd2's: the sequence is a plain key here, not the primary. */
	{ "status", 0,
	  "\"collection-owner\" TEXT NOT NULL, KEY(\"collection-owner\"(255)), "
	  "\"object-sequence\" BIGINT NOT NULL AUTO_INCREMENT, KEY(\"object-sequence\"), "
	  "\"status\" TEXT NOT NULL, \"show\" TEXT NOT NULL, "
	  "\"last-login\" INT DEFAULT '0', \"last-logout\" INT DEFAULT '0', \"xml\" TEXT" },
	{ "published-roster", STORAGE_MYSQL_OURS,
	  OWNER_SEQ "\"jid\" TEXT NOT NULL, \"group\" TEXT, \"name\" TEXT, "
		    "\"to\" TINYINT NOT NULL, \"from\" TINYINT NOT NULL, \"ask\" INT NOT NULL" },
	{ "published-roster-groups", STORAGE_MYSQL_OURS, OWNER_SEQ "\"groupname\" TEXT NOT NULL" },
	{ "verify", STORAGE_MYSQL_OURS,
	  OWNER_SEQ "\"email\" TEXT NOT NULL, \"code\" TEXT, \"state\" INT DEFAULT 0" },
	{ "roster-version", STORAGE_MYSQL_OURS, OWNER_SEQ "\"ver\" BIGINT NOT NULL" },
	{ "roster-state", STORAGE_MYSQL_OURS,
	  OWNER_SEQ "\"jid\" TEXT NOT NULL, \"state\" INT NOT NULL" },
	{ "pep-items", STORAGE_MYSQL_OURS,
	  OWNER_SEQ "\"node\" TEXT NOT NULL, \"xml\" MEDIUMTEXT NOT NULL" },
	{ "pep-node", STORAGE_MYSQL_OURS,
	  OWNER_SEQ "\"node\" TEXT NOT NULL, \"xml\" MEDIUMTEXT NOT NULL" },
	{ "pep-item", STORAGE_MYSQL_OURS,
	  OWNER_SEQ "\"node\" TEXT NOT NULL, \"id\" TEXT NOT NULL, \"xml\" MEDIUMTEXT NOT NULL" },
};

const size_t storage_mysql_schema_len = sizeof(storage_mysql_schema) / sizeof(storage_mysql_schema[0]);
