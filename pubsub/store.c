/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * store.c: persistent nodes, items and subscriptions in SQLite or
 * PostgreSQL through the tree's SQL layer (storage/sql.h), in four tables
 * of ours created when missing:
 *
 *   "pubsub-node"         (service, node, creator, config, updated)
 *       config: the node's configuration as a submitted
 *       pubsub#node_config data form;
 *   "pubsub-affiliation"  (service, node, jid, affiliation)
 *       one row per bare JID with an affiliation other than none;
 *   "pubsub-item"         (service, node, id, publisher, stamp, seq, payload)
 *       the items of nodes with persist_items, the newest max_items of
 *       each; seq orders them;
 *   "pubsub-subscription" (service, node, jid, subid, state, deliver,
 *                          include_body)
 *
 * Every table is keyed by service and node, so that the cluster may later
 * place nodes on different machines over one database. The same SQL text
 * runs on both drivers (sql_query). Calls block, as the sm's storage
 * does. The roster lookup reads the sm's "roster-items" and
 * "roster-groups" when the storage is the sm's database.
 */
#include "config.h"
#include "pubsub/pubsub.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pubsub/form.h"
#include "storage/sql.h"
#include "util/buf.h"
#include "util/config_file.h"
#include "util/log.h"
#include "util/nad.h"
#include "util/xhash.h"

struct ps_store {
	struct sql_conn *conn;
	int roster_warned;
};

static const char *const schema[] = {
	"CREATE TABLE IF NOT EXISTS \"pubsub-node\" (\"service\" TEXT NOT NULL, "
	"\"node\" TEXT NOT NULL, \"creator\" TEXT NOT NULL, \"config\" TEXT NOT NULL, "
	"\"updated\" BIGINT NOT NULL, PRIMARY KEY (\"service\", \"node\"))",
	"CREATE TABLE IF NOT EXISTS \"pubsub-affiliation\" (\"service\" TEXT NOT NULL, "
	"\"node\" TEXT NOT NULL, \"jid\" TEXT NOT NULL, \"affiliation\" TEXT NOT NULL, "
	"PRIMARY KEY (\"service\", \"node\", \"jid\"))",
	"CREATE TABLE IF NOT EXISTS \"pubsub-item\" (\"service\" TEXT NOT NULL, "
	"\"node\" TEXT NOT NULL, \"id\" TEXT NOT NULL, \"publisher\" TEXT NOT NULL, "
	"\"stamp\" BIGINT NOT NULL, \"seq\" BIGINT NOT NULL, \"payload\" TEXT, "
	"PRIMARY KEY (\"service\", \"node\", \"id\"))",
	"CREATE TABLE IF NOT EXISTS \"pubsub-subscription\" (\"service\" TEXT NOT NULL, "
	"\"node\" TEXT NOT NULL, \"jid\" TEXT NOT NULL, \"subid\" TEXT NOT NULL, "
	"\"state\" TEXT NOT NULL, \"deliver\" INTEGER NOT NULL, "
	"\"include_body\" INTEGER NOT NULL, "
	"PRIMARY KEY (\"service\", \"node\", \"jid\", \"subid\"))",
	NULL,
};

static const char *cfg_option(void *ctx, const char *key)
{
	return config_get(ctx, key);
}

int ps_store_open(const struct config *cfg, struct ps_store **store_r, const char **error_r)
{
	struct sql_conn *conn;

	*store_r = NULL;
	if (sql_open_tables("storage", cfg_option, (void *)cfg, "jabberd pubsub", schema, schema,
			    &conn, error_r) < 0)
		return -1;
	if (conn != NULL) {
		*store_r = xcalloc(1, sizeof(**store_r));
		(*store_r)->conn = conn;
	}
	return 0;
}

void ps_store_close(struct ps_store **storep)
{
	struct ps_store *st = *storep;

	if (st == NULL)
		return;
	sql_close(&st->conn);
	free(st);
	*storep = NULL;
}

static int run(struct ps_store *st, const char *sql, int n, const char *const *vals,
	       const char *what, const char **error_r)
{
	return sql_query(st->conn, sql, n, vals, NULL, NULL, what, error_r);
}

/* Run the statements of a write in one transaction. */
static int commit(struct ps_store *st, int rc, const char **error_r)
{
	if (rc < 0 || sql_commit(st->conn, error_r) < 0) {
		sql_rollback(st->conn);
		return -1;
	}
	return 0;
}

int ps_store_node_save(struct ps_store *st, const char *svc, const struct ps_node *node,
		       const char **error_r)
{
	static const char up[] =
		"INSERT INTO \"pubsub-node\" (\"service\", \"node\", \"creator\", \"config\", "
		"\"updated\") VALUES ($1, $2, $3, $4, $5) ON CONFLICT (\"service\", \"node\") "
		"DO UPDATE SET \"config\" = excluded.\"config\", \"updated\" = excluded.\"updated\"";
	static const char del[] =
		"DELETE FROM \"pubsub-affiliation\" WHERE \"service\" = $1 AND \"node\" = $2";
	static const char ins[] =
		"INSERT INTO \"pubsub-affiliation\" (\"service\", \"node\", \"jid\", "
		"\"affiliation\") VALUES ($1, $2, $3, $4)";
	struct nad *nad = nad_new();
	struct xhash_iter it;
	const char *key;
	char *data, now[32];
	const char *vals[5];
	void *v;
	int rc;

	nad_elem_add(nad, NAD_NONE, PS_NS_OWNER, "configure");
	ps_config_form(nad, 0, &node->cfg, "submit");
	data = nad_to_string(nad, NULL);
	nad_free(&nad);
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	vals[0] = svc, vals[1] = node->name, vals[2] = node->creator, vals[3] = data;
	vals[4] = now;
	rc = sql_begin(st->conn, 0, error_r);
	if (rc == 0)
		rc = run(st, up, 5, vals, "saving a node", error_r);
	if (rc == 0)
		rc = run(st, del, 2, vals, "saving affiliations", error_r);
	xhash_iter_init(node->affils, &it);
	while (rc == 0 && xhash_iter_next(&it, &key, &v)) {
		vals[2] = key;
		vals[3] = ps_affil_name(ps_node_affil(node, key));
		rc = run(st, ins, 4, vals, "saving affiliations", error_r);
	}
	free(data);
	return commit(st, rc, error_r);
}

int ps_store_node_delete(struct ps_store *st, const char *svc, const char *node,
			 const char **error_r)
{
	static const char *const tables[] = {
		"pubsub-item", "pubsub-subscription", "pubsub-affiliation", "pubsub-node",
	};
	const char *vals[2] = { svc, node };
	char sql[128];
	size_t i;
	int rc = sql_begin(st->conn, 0, error_r);

	for (i = 0; rc == 0 && i < sizeof(tables) / sizeof(tables[0]); i++) {
		snprintf(sql, sizeof(sql), "DELETE FROM \"%s\" WHERE \"service\" = $1 AND "
			 "\"node\" = $2", tables[i]);
		rc = run(st, sql, 2, vals, "removing a node", error_r);
	}
	return commit(st, rc, error_r);
}

int ps_store_item_save(struct ps_store *st, const char *svc, const char *node,
		       const struct ps_item *item, int keep, const char **error_r)
{
	static const char up[] =
		"INSERT INTO \"pubsub-item\" (\"service\", \"node\", \"id\", \"publisher\", "
		"\"stamp\", \"seq\", \"payload\") VALUES ($1, $2, $3, $4, $5, $6, $7) "
		"ON CONFLICT (\"service\", \"node\", \"id\") DO UPDATE SET "
		"\"publisher\" = excluded.\"publisher\", \"stamp\" = excluded.\"stamp\", "
		"\"seq\" = excluded.\"seq\", \"payload\" = excluded.\"payload\"";
	char stamp[32], seq[32], trim[320], *data = NULL;
	const char *vals[7] = { svc, node };
	int rc = sql_begin(st->conn, 0, error_r);

	if (rc == 0 && item != NULL) {
		snprintf(stamp, sizeof(stamp), "%lld", (long long)item->when);
		snprintf(seq, sizeof(seq), "%lld", item->seq);
		data = item->payload != NULL ? nad_to_string(item->payload, NULL) : NULL;
		vals[2] = item->id, vals[3] = item->publisher, vals[4] = stamp, vals[5] = seq;
		vals[6] = data;
		rc = run(st, up, 7, vals, "saving an item", error_r);
	}
	/* The newest `keep` stay (keep is ours: the node's max_items). */
	snprintf(trim, sizeof(trim), "DELETE FROM \"pubsub-item\" WHERE \"service\" = $1 AND "
		 "\"node\" = $2 AND \"seq\" <= (SELECT \"seq\" FROM \"pubsub-item\" WHERE "
		 "\"service\" = $1 AND \"node\" = $2 ORDER BY \"seq\" DESC LIMIT 1 OFFSET %d)",
		 keep < 0 ? 0 : keep);
	if (rc == 0)
		rc = run(st, trim, 2, vals, "trimming items", error_r);
	free(data);
	return commit(st, rc, error_r);
}

int ps_store_item_delete(struct ps_store *st, const char *svc, const char *node,
			 const char *id, const char **error_r)
{
	const char *vals[3] = { svc, node, id };

	if (id == NULL)
		return run(st, "DELETE FROM \"pubsub-item\" WHERE \"service\" = $1 AND "
			   "\"node\" = $2", 2, vals, "purging items", error_r);
	return run(st, "DELETE FROM \"pubsub-item\" WHERE \"service\" = $1 AND \"node\" = $2 "
		   "AND \"id\" = $3", 3, vals, "removing an item", error_r);
}

int ps_store_sub_save(struct ps_store *st, const char *svc, const struct ps_sub *sub,
		      const char **error_r)
{
	static const char up[] =
		"INSERT INTO \"pubsub-subscription\" (\"service\", \"node\", \"jid\", \"subid\", "
		"\"state\", \"deliver\", \"include_body\") VALUES ($1, $2, $3, $4, $5, $6, $7) "
		"ON CONFLICT (\"service\", \"node\", \"jid\", \"subid\") DO UPDATE SET "
		"\"state\" = excluded.\"state\", \"deliver\" = excluded.\"deliver\", "
		"\"include_body\" = excluded.\"include_body\"";
	const char *vals[7] = {
		svc, sub->node, sub->jid, sub->subid, ps_sub_state_name(sub->state),
		sub->opt.deliver ? "1" : "0", sub->opt.include_body ? "1" : "0",
	};

	return run(st, up, 7, vals, "saving a subscription", error_r);
}

int ps_store_sub_delete(struct ps_store *st, const char *svc, const struct ps_sub *sub,
			const char **error_r)
{
	const char *vals[4] = { svc, sub->node, sub->jid, sub->subid };

	return run(st, "DELETE FROM \"pubsub-subscription\" WHERE \"service\" = $1 AND "
		   "\"node\" = $2 AND \"jid\" = $3 AND \"subid\" = $4", 4, vals,
		   "removing a subscription", error_r);
}

/* ---- loading ---- */

static void node_row(void *ctx, const char *const *cols, int ncols)
{
	struct pubsub *ps = ctx;
	struct ps_node *node;
	struct nad *nad;
	const char *error;
	int x;

	if (ncols < 3 || cols[0] == NULL || cols[1] == NULL || cols[2] == NULL)
		return;
	node = ps_node_new(cols[0], "", ps->default_max_items);
	free(node->creator);
	node->creator = xstrdup(cols[1]);
	nad = nad_parse(cols[2], strlen(cols[2]), 16, &error, NULL);
	x = nad != NULL ? nad_child(nad, 0, PS_NS_XDATA, "x") : NAD_NONE;
	if (x == NAD_NONE || ps_config_apply(nad, x, &node->cfg, INT_MAX, &error) < 0) {
		log_warnx("pubsub: stored node %s unreadable (%s); skipped", cols[0],
			  x == NAD_NONE && nad != NULL ? "no configuration form" : error);
		ps_node_free(&node);
		nad_free(&nad);
		return;
	}
	nad_free(&nad);
	/* The limit may have been lowered since. */
	if (node->cfg.max_items > ps->limits.items_per_node)
		node->cfg.max_items = ps->limits.items_per_node;
	xhash_put(ps->nodes, node->name, node);
}

static void affil_row(void *ctx, const char *const *cols, int ncols)
{
	struct pubsub *ps = ctx;
	struct ps_node *node;
	int a;

	if (ncols < 3 || cols[0] == NULL || cols[1] == NULL ||
	    (node = xhash_get(ps->nodes, cols[0])) == NULL || (a = ps_affil_parse(cols[2])) < 0)
		return;
	ps_node_set_affil(node, cols[1], (enum ps_affil)a);
}

static void item_row(void *ctx, const char *const *cols, int ncols)
{
	struct pubsub *ps = ctx;
	struct ps_node *node;
	struct ps_item *it;
	struct nad *payload = NULL;
	const char *error;
	long long seq;

	if (ncols < 6 || cols[0] == NULL || cols[1] == NULL || cols[2] == NULL ||
	    cols[3] == NULL || cols[4] == NULL || (node = xhash_get(ps->nodes, cols[0])) == NULL)
		return;
	if (cols[5] != NULL &&
	    (payload = nad_parse(cols[5], strlen(cols[5]), 64, &error, NULL)) == NULL) {
		log_warnx("pubsub: an item of %s is unreadable (%s); skipped", cols[0], error);
		return;
	}
	seq = strtoll(cols[4], NULL, 10);
	it = ps_node_publish(node, cols[1], cols[2], payload, (time_t)strtoll(cols[3], NULL, 10));
	it->seq = seq;
	if (seq >= ps->seq)
		ps->seq = seq + 1;
}

static void sub_row(void *ctx, const char *const *cols, int ncols)
{
	struct pubsub *ps = ctx;
	struct ps_sub *s;
	int state;

	if (ncols < 6 || cols[0] == NULL || cols[1] == NULL || cols[2] == NULL ||
	    xhash_get(ps->nodes, cols[0]) == NULL || (state = ps_sub_state_parse(cols[3])) < 0)
		return;
	s = ps_subs_add(ps->subs, cols[0], cols[1], cols[2], (enum ps_sub_state)state);
	s->opt.deliver = cols[4] != NULL && strcmp(cols[4], "0") != 0;
	s->opt.include_body = cols[5] != NULL && strcmp(cols[5], "0") != 0;
}

int ps_store_load(struct ps_store *st, struct pubsub *ps, const char **error_r)
{
	const char *vals[1] = { ps->domain };

	if (sql_query(st->conn, "SELECT \"node\", \"creator\", \"config\" FROM \"pubsub-node\" "
		      "WHERE \"service\" = $1", 1, vals, node_row, ps, "loading nodes",
		      error_r) < 0 ||
	    sql_query(st->conn, "SELECT \"node\", \"jid\", \"affiliation\" FROM "
		      "\"pubsub-affiliation\" WHERE \"service\" = $1", 1, vals, affil_row, ps,
		      "loading affiliations", error_r) < 0 ||
	    sql_query(st->conn, "SELECT \"node\", \"id\", \"publisher\", \"stamp\", \"seq\", "
		      "\"payload\" FROM \"pubsub-item\" WHERE \"service\" = $1 ORDER BY \"seq\"",
		      1, vals, item_row, ps, "loading items", error_r) < 0)
		return -1;
	return sql_query(st->conn, "SELECT \"node\", \"jid\", \"subid\", \"state\", "
			 "\"deliver\", \"include_body\" FROM \"pubsub-subscription\" "
			 "WHERE \"service\" = $1", 1, vals, sub_row, ps, "loading subscriptions",
			 error_r);
}

/* ---- the sm's roster ---- */

struct roster_ctx {
	char *const *groups;
	int ngroups;
	int from, group;
};

static int truth(const char *v)
{
	return v != NULL && (strcmp(v, "1") == 0 || strcmp(v, "t") == 0 ||
			     strcmp(v, "true") == 0);
}

static void roster_item_row(void *ctx, const char *const *cols, int ncols)
{
	struct roster_ctx *rc = ctx;

	if (ncols >= 1 && truth(cols[0]))
		rc->from = 1;
}

static void roster_group_row(void *ctx, const char *const *cols, int ncols)
{
	struct roster_ctx *rc = ctx;
	int i;

	for (i = 0; ncols >= 1 && cols[0] != NULL && i < rc->ngroups; i++)
		if (strcmp(cols[0], rc->groups[i]) == 0)
			rc->group = 1;
}

int ps_store_roster(struct pubsub *ps, const char *owner, const char *contact,
		    char *const *groups, int ngroups, int *from_r, int *group_r)
{
	struct roster_ctx rc = { .groups = groups, .ngroups = ngroups };
	const char *vals[2] = { owner, contact }, *error;
	struct ps_store *st = ps->store;

	if (st == NULL)
		return -1;
	if (sql_query(st->conn, "SELECT \"from\" FROM \"roster-items\" WHERE "
		      "\"collection-owner\" = $1 AND \"jid\" = $2", 2, vals, roster_item_row, &rc,
		      "reading the sm's roster", &error) < 0 ||
	    (ngroups > 0 &&
	     sql_query(st->conn, "SELECT \"group\" FROM \"roster-groups\" WHERE "
		       "\"collection-owner\" = $1 AND \"jid\" = $2", 2, vals, roster_group_row,
		       &rc, "reading the sm's roster", &error) < 0)) {
		if (!st->roster_warned)
			log_warnx("pubsub: the presence and roster access models need the sm's "
				  "database as <storage>: %s", error);
		st->roster_warned = 1;
		return -1;
	}
	*from_r = rc.from;
	*group_r = rc.group;
	return 0;
}
