/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * store.c: persistent rooms in SQLite, PostgreSQL or MySQL/MariaDB,
 * through the tree's SQL layer (storage/sql.h), in three tables of ours
 * created when missing:
 *
 *   "muc-room"        (room TEXT PRIMARY KEY, data TEXT, updated INTEGER)
 *       data: the room's configuration as a submitted muc#roomconfig
 *       data form, its subject and its registered nicks (<nick jid=''>),
 *       in one small XML document;
 *   "muc-affiliation" (room TEXT, jid TEXT, affiliation TEXT, reason TEXT,
 *                      PRIMARY KEY (room, jid))
 *       one row per bare JID with an affiliation other than none, so an
 *       operator can ask "who owns what" with plain SQL;
 *   "muc-history"     (id, room TEXT, stamp BIGINT, data TEXT)
 *       the discussion history of persistent rooms, one row per message
 *       as broadcast, the newest <limits><history> kept per room; id is
 *       INTEGER PRIMARY KEY on SQLite, BIGSERIAL on PostgreSQL,
 *       BIGINT AUTO_INCREMENT on MySQL.
 *
 * On MySQL a key cannot be TEXT: "room" and "jid" are VARCHAR(255)
 * (utf8mb4), so a room or an affiliated JID longer than 255 characters
 * is not saved there (refused here, whatever the server's sql_mode; the
 * caller logs it and the room goes on in memory).
 *
 * A save replaces the room's row and its affiliation rows in one
 * transaction. The same SQL text runs on every driver but for the
 * tables, the upsert and the history trim ($1, $2... placeholders:
 * SQLite reads them as numbered parameters in order; for MySQL they are
 * rewritten to ? with the values in the order they appear).
 * Calls block, as the sm's storage does; rooms are saved when their
 * configuration, subject or affiliations change, not per message.
 */
#include "config.h"
#include "muc/muc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>
#ifdef HAVE_PGSQL
#include <libpq-fe.h>
#endif

#include "muc/form.h"
#include "storage/sql.h"
#include "util/buf.h"
#include "util/config_file.h"
#include "util/jid.h"
#include "util/nad.h"
#include "util/xhash.h"

struct muc_store {
	struct sql_conn *conn;
	enum sql_kind kind;
};

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS \"muc-room\" ("
	"\"room\" TEXT PRIMARY KEY, \"data\" TEXT NOT NULL, \"updated\" BIGINT NOT NULL)";
static const char schema_affil[] =
	"CREATE TABLE IF NOT EXISTS \"muc-affiliation\" ("
	"\"room\" TEXT NOT NULL, \"jid\" TEXT NOT NULL, \"affiliation\" TEXT NOT NULL, "
	"\"reason\" TEXT, PRIMARY KEY (\"room\", \"jid\"))";

static const char schema_history_sqlite[] =
	"CREATE TABLE IF NOT EXISTS \"muc-history\" (\"id\" INTEGER PRIMARY KEY, "
	"\"room\" TEXT NOT NULL, \"stamp\" BIGINT NOT NULL, \"data\" TEXT NOT NULL)";
static const char schema_history_pgsql[] =
	"CREATE TABLE IF NOT EXISTS \"muc-history\" (\"id\" BIGSERIAL PRIMARY KEY, "
	"\"room\" TEXT NOT NULL, \"stamp\" BIGINT NOT NULL, \"data\" TEXT NOT NULL)";
/* MySQL: keys are VARCHAR (see above); ANSI_QUOTES is on (storage/sql.h). */
static const char schema_mysql[] =
	"CREATE TABLE IF NOT EXISTS \"muc-room\" ("
	"\"room\" VARCHAR(255) NOT NULL PRIMARY KEY, \"data\" MEDIUMTEXT NOT NULL, "
	"\"updated\" BIGINT NOT NULL)" SQL_MYSQL_TABLE_OPTIONS;
static const char schema_affil_mysql[] =
	"CREATE TABLE IF NOT EXISTS \"muc-affiliation\" ("
	"\"room\" VARCHAR(255) NOT NULL, \"jid\" VARCHAR(255) NOT NULL, "
	"\"affiliation\" VARCHAR(16) NOT NULL, \"reason\" TEXT, "
	"PRIMARY KEY (\"room\", \"jid\"))" SQL_MYSQL_TABLE_OPTIONS;
static const char schema_history_mysql[] =
	"CREATE TABLE IF NOT EXISTS \"muc-history\" ("
	"\"id\" BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, \"room\" VARCHAR(255) NOT NULL, "
	"\"stamp\" BIGINT NOT NULL, \"data\" MEDIUMTEXT NOT NULL)" SQL_MYSQL_TABLE_OPTIONS;
static const char schema_history_index[] =
	"CREATE INDEX IF NOT EXISTS \"i_muc_history_room\" ON \"muc-history\" (\"room\", \"id\")";

static const char *cfg_option(void *ctx, const char *key)
{
	return config_get(ctx, key);
}

/* One row of a query: its columns as text (NULL for SQL NULL). */
typedef void row_fn(void *ctx, const char *const *cols, int ncols);

/* Run `sql` with n text parameters; rows (if fn) go to fn. */
static int store_run(struct muc_store *st, const char *sql, int n, const char *const *vals,
		     row_fn *fn, void *ctx, const char *what, const char **error_r)
{
	return sql_query(st->conn, sql, n, vals, fn, ctx, what, error_r);
}

int muc_store_open(const struct config *cfg, struct muc_store **store_r,
		   const char **error_r)
{
	const char *driver = config_get(cfg, "storage.driver");
	struct sql_settings set = {
		.option = cfg_option,
		.option_ctx = (void *)cfg,
		.application_name = "jabberd muc",
	};
	struct muc_store *st;
	int my;

	*store_r = NULL;
	if (driver == NULL)
		return 0;
	if (strcmp(driver, "sqlite") == 0) {
		set.kind = SQL_SQLITE;
		set.section = "storage.sqlite";
	} else if (strcmp(driver, "pgsql") == 0) {
#ifdef HAVE_PGSQL
		set.kind = SQL_PGSQL;
		set.section = "storage.pgsql";
#else
		*error_r = "storage.driver pgsql: this muc was built without PostgreSQL";
		return -1;
#endif
	} else if (strcmp(driver, "mysql") == 0) {
#ifdef HAVE_MYSQL
		set.kind = SQL_MYSQL;
		set.section = "storage.mysql";
#else
		*error_r = "storage.driver mysql: this muc was built without MySQL/MariaDB";
		return -1;
#endif
	} else {
		*error_r = "storage.driver: unknown driver (sqlite, pgsql or mysql)";
		return -1;
	}
	st = xcalloc(1, sizeof(*st));
	st->kind = set.kind;
	if (sql_open(&st->conn, &set, error_r) < 0) {
		free(st);
		return -1;
	}
	my = st->kind == SQL_MYSQL;
	if (sql_begin(st->conn, 0, error_r) < 0 || sql_schema_lock(st->conn, error_r) < 0 ||
	    sql_exec(st->conn, my ? schema_mysql : schema, "creating muc-room", error_r) < 0 ||
	    sql_exec(st->conn, my ? schema_affil_mysql : schema_affil, "creating muc-affiliation",
		     error_r) < 0 ||
	    sql_exec(st->conn, my ? schema_history_mysql : st->kind == SQL_PGSQL ?
		     schema_history_pgsql : schema_history_sqlite,
		     "creating muc-history", error_r) < 0 ||
	    sql_exec(st->conn, schema_history_index, "creating muc-history", error_r) < 0 ||
	    sql_commit(st->conn, error_r) < 0) {
		sql_rollback(st->conn);
		muc_store_close(&st);
		return -1;
	}
	*store_r = st;
	return 0;
}

void muc_store_close(struct muc_store **storep)
{
	struct muc_store *st = *storep;

	if (st == NULL)
		return;
	sql_close(&st->conn);
	free(st);
	*storep = NULL;
}

/* MySQL's keys hold 255 characters (VARCHAR(255)); a longer value is
 * refused here rather than left to the server, which outside strict
 * mode would cut it and so merge two rooms. 1 if `s` fits. */
#define STORE_MYSQL_KEY_CHARS 255
static int key_fits(const struct muc_store *st, const char *s, const char **error_r)
{
	size_t chars = 0;

	if (st->kind != SQL_MYSQL)
		return 1;
	for (; *s != '\0'; s++)
		chars += ((unsigned char)*s & 0xc0) != 0x80;
	if (chars <= STORE_MYSQL_KEY_CHARS)
		return 1;
	*error_r = "mysql: a room or affiliated JID longer than 255 characters is not stored";
	return 0;
}

/* ---- the room document ---- */

char *muc_room_serialize(const struct room *room, const char *creator)
{
	struct nad *nad = nad_new();
	struct xhash_iter it;
	const char *bare;
	char *xml;
	void *v;
	int e, x;

	nad_elem_add(nad, NAD_NONE, NULL, "room");
	nad_attr_set(nad, 0, NULL, "creator", creator);
	muc_form_build(nad, 0, &room->cfg, 0);
	x = nad_child(nad, 0, MUC_NS_XDATA, "x");
	nad_attr_set(nad, x, NULL, "type", "submit");
	if (room->subject != NULL) {
		e = nad_elem_add(nad, 0, NULL, "subject");
		nad_attr_set(nad, e, NULL, "nick", room->subject_nick);
		nad_text_append(nad, e, room->subject, strlen(room->subject));
	}
	xhash_iter_init(room->nicks, &it);
	while (xhash_iter_next(&it, &bare, &v)) {
		e = nad_elem_add(nad, 0, NULL, "nick");
		nad_attr_set(nad, e, NULL, "jid", bare);
		nad_text_append(nad, e, v, strlen(v));
	}
	xml = nad_to_string(nad, NULL);
	nad_free(&nad);
	return xml;
}

int muc_room_deserialize(struct room *room, const char *data, char **creator_r,
			 const char **error_r)
{
	struct nad *nad = nad_parse(data, strlen(data), 16, error_r, NULL);
	const char *creator;
	int x, s;

	if (nad == NULL)
		return -1;
	x = nad_child(nad, 0, MUC_NS_XDATA, "x");
	if (x == NAD_NONE || muc_form_apply(nad, x, &room->cfg, 0, error_r) < 0) {
		if (x == NAD_NONE)
			*error_r = "no configuration form";
		nad_free(&nad);
		return -1;
	}
	if ((s = nad_child(nad, 0, NULL, "subject")) != NAD_NONE)
		room_set_subject(room, nad_text(nad, s, NULL), nad_attr(nad, s, NULL, "nick"));
	/* registered nicks; room_nick_register() bounds their number */
	for (s = nad_child(nad, 0, NULL, "nick"); s != NAD_NONE; s = nad_next(nad, s, NULL, "nick"))
		if (nad_attr(nad, s, NULL, "jid") != NULL && nad_text(nad, s, NULL)[0] != '\0')
			room_nick_register(room, nad_attr(nad, s, NULL, "jid"),
					   nad_text(nad, s, NULL));
	creator = nad_attr(nad, 0, NULL, "creator");
	*creator_r = xstrdup(creator != NULL ? creator : "");
	nad_free(&nad);
	return 0;
}

/* ---- rows ---- */

int muc_store_save(struct muc_store *st, const struct room *room, const char *creator,
		   const char **error_r)
{
	static const char up[] =
		"INSERT INTO \"muc-room\" (\"room\", \"data\", \"updated\") VALUES ($1, $2, $3) "
		"ON CONFLICT (\"room\") DO UPDATE SET \"data\" = excluded.\"data\", "
		"\"updated\" = excluded.\"updated\"";
	static const char up_mysql[] =
		"INSERT INTO \"muc-room\" (\"room\", \"data\", \"updated\") VALUES ($1, $2, $3) "
		"ON DUPLICATE KEY UPDATE \"data\" = VALUES(\"data\"), "
		"\"updated\" = VALUES(\"updated\")";
	static const char del[] = "DELETE FROM \"muc-affiliation\" WHERE \"room\" = $1";
	static const char ins[] =
		"INSERT INTO \"muc-affiliation\" (\"room\", \"jid\", \"affiliation\", \"reason\") "
		"VALUES ($1, $2, $3, $4)";
	char *data = muc_room_serialize(room, creator), now[32];
	const char *vals[4] = { jid_bare(room->jid), data, now, NULL };
	struct xhash_iter it;
	const char *key;
	void *v;

	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	if (!key_fits(st, vals[0], error_r)) {
		free(data);
		return -1;
	}
	xhash_iter_init(room->affils, &it);
	while (xhash_iter_next(&it, &key, &v))
		if (!key_fits(st, key, error_r)) {
			free(data);
			return -1;
		}
	if (sql_begin(st->conn, 0, error_r) < 0 ||
	    store_run(st, st->kind == SQL_MYSQL ? up_mysql : up, 3, vals, NULL, NULL,
		      "saving a room", error_r) < 0 ||
	    store_run(st, del, 1, vals, NULL, NULL, "saving affiliations", error_r) < 0)
		goto err;
	xhash_iter_init(room->affils, &it);
	while (xhash_iter_next(&it, &key, &v)) {
		const struct room_affil *ra = v;

		vals[1] = key;
		vals[2] = muc_affil_name(ra->affil);
		vals[3] = ra->reason;
		if (store_run(st, ins, 4, vals, NULL, NULL, "saving affiliations", error_r) < 0)
			goto err;
	}
	if (sql_commit(st->conn, error_r) < 0)
		goto err;
	free(data);
	return 0;
err:
	sql_rollback(st->conn);
	free(data);
	return -1;
}

int muc_store_history_add(struct muc_store *st, const char *room, time_t when,
			  const struct nad *msg, int keep, const char **error_r)
{
	static const char ins[] =
		"INSERT INTO \"muc-history\" (\"room\", \"stamp\", \"data\") VALUES ($1, $2, $3)";
	char stamp[32], trim[384], *data = nad_to_string(msg, NULL);
	const char *vals[3] = { room, stamp, data };

	if (!key_fits(st, room, error_r)) {
		free(data);
		return -1;
	}
	snprintf(stamp, sizeof(stamp), "%lld", (long long)when);
	/* The newest `keep` rows stay (keep is ours, from the config). MySQL
	 * refuses a subquery on the table a DELETE changes, but not one on a
	 * derived table made from it. */
	snprintf(trim, sizeof(trim), "DELETE FROM \"muc-history\" WHERE \"room\" = $1 AND "
		 "\"id\" <= (SELECT \"id\" FROM %s\"muc-history\" WHERE \"room\" = $1 "
		 "ORDER BY \"id\" DESC LIMIT 1 OFFSET %d%s)",
		 st->kind == SQL_MYSQL ? "(SELECT \"id\" FROM " : "", keep,
		 st->kind == SQL_MYSQL ? ") AS \"t\"" : "");
	if (sql_begin(st->conn, 0, error_r) < 0 ||
	    store_run(st, ins, 3, vals, NULL, NULL, "saving history", error_r) < 0 ||
	    store_run(st, trim, 1, vals, NULL, NULL, "trimming history", error_r) < 0 ||
	    sql_commit(st->conn, error_r) < 0) {
		sql_rollback(st->conn);
		free(data);
		return -1;
	}
	free(data);
	return 0;
}

int muc_store_delete(struct muc_store *st, const char *room, const char **error_r)
{
	const char *vals[1] = { room };

	if (sql_begin(st->conn, 0, error_r) < 0 ||
	    store_run(st, "DELETE FROM \"muc-history\" WHERE \"room\" = $1", 1, vals,
		      NULL, NULL, "removing a room", error_r) < 0 ||
	    store_run(st, "DELETE FROM \"muc-affiliation\" WHERE \"room\" = $1", 1, vals,
		      NULL, NULL, "removing a room", error_r) < 0 ||
	    store_run(st, "DELETE FROM \"muc-room\" WHERE \"room\" = $1", 1, vals,
		      NULL, NULL, "removing a room", error_r) < 0 ||
	    sql_commit(st->conn, error_r) < 0) {
		sql_rollback(st->conn);
		return -1;
	}
	return 0;
}

struct load_ctx {
	muc_store_room_fn *room_fn;
	muc_store_affil_fn *affil_fn;
	muc_store_history_fn *history_fn;
	void *ctx;
};

static void history_row(void *ctx, const char *const *cols, int ncols)
{
	struct load_ctx *lc = ctx;

	if (ncols >= 3 && cols[0] != NULL && cols[1] != NULL && cols[2] != NULL)
		lc->history_fn(lc->ctx, cols[0], (time_t)strtoll(cols[1], NULL, 10), cols[2]);
}

static void room_row(void *ctx, const char *const *cols, int ncols)
{
	struct load_ctx *lc = ctx;

	if (ncols >= 2 && cols[0] != NULL && cols[1] != NULL)
		lc->room_fn(lc->ctx, cols[0], cols[1]);
}

static void affil_row(void *ctx, const char *const *cols, int ncols)
{
	struct load_ctx *lc = ctx;

	if (ncols >= 4 && cols[0] != NULL && cols[1] != NULL && cols[2] != NULL)
		lc->affil_fn(lc->ctx, cols[0], cols[1], cols[2], cols[3]);
}

int muc_store_load(struct muc_store *st, muc_store_room_fn *room_fn,
		   muc_store_affil_fn *affil_fn, muc_store_history_fn *history_fn, void *ctx,
		   const char **error_r)
{
	struct load_ctx lc = {
		.room_fn = room_fn, .affil_fn = affil_fn, .history_fn = history_fn, .ctx = ctx,
	};

	if (store_run(st, "SELECT \"room\", \"data\" FROM \"muc-room\"", 0, NULL, room_row,
		      &lc, "loading rooms", error_r) < 0)
		return -1;
	if (store_run(st, "SELECT \"room\", \"jid\", \"affiliation\", \"reason\" "
		      "FROM \"muc-affiliation\"", 0, NULL, affil_row, &lc,
		      "loading affiliations", error_r) < 0)
		return -1;
	return store_run(st, "SELECT \"room\", \"stamp\", \"data\" FROM \"muc-history\" "
			 "ORDER BY \"id\"", 0, NULL, history_row, &lc, "loading history",
			 error_r);
}
