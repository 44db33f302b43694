/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * storage: the manager the sm talks to. It routes each data type to a
 * driver instance (sm.xml <storage><driver type='...'>), checks arguments
 * and parses filters once, so drivers get only well-formed requests. Also
 * the SQL helpers the SQL drivers share.
 */
#include "config.h"
#include "storage/storage.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "storage/storage_private.h"
#include "storage/sql.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/nad.h"

/* Longest data type name we accept (jabberd2's longest is 23 bytes). */
#define STORAGE_MAX_TYPE 64

/* Every driver built into this tree. */
static const struct storage_driver *const storage_drivers[] = {
	&storage_driver_sqlite,
#ifdef HAVE_PGSQL
	&storage_driver_pgsql,
#endif
#ifdef HAVE_MYSQL
	&storage_driver_mysql,
#endif
};

struct storage_route {
	char *type;
	struct storage_backend *be;
};

struct storage {
	storage_option_fn *option;
	void *option_ctx;
	/* Open driver instances, one per driver name. */
	struct storage_backend **backends;
	size_t nbackends;
	struct storage_backend *default_be;
	struct storage_route *routes;
	size_t nroutes;
	char *error;
	struct storage_stats stats;
};

static uint64_t storage_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Count a driver call that started at t0 (storage_stats). */
static enum storage_result storage_timed(struct storage *st, uint64_t t0,
					 enum storage_result ret)
{
	st->stats.calls++;
	st->stats.us += storage_now_us() - t0;
	if (ret == STORAGE_ERROR)
		st->stats.errors++;
	return ret;
}

void storage_stats(const struct storage *st, struct storage_stats *out)
{
	*out = st->stats;
}

struct storage *storage_new(storage_option_fn *option, void *ctx)
{
	struct storage *st = xcalloc(1, sizeof(*st));

	st->option = option;
	st->option_ctx = ctx;
	return st;
}

void storage_free(struct storage **stp)
{
	struct storage *st = *stp;

	if (st == NULL)
		return;
	for (size_t i = 0; i < st->nbackends; i++) {
		struct storage_backend *be = st->backends[i];

		be->driver->close(be);
		free(be->error);
		free(be);
	}
	for (size_t i = 0; i < st->nroutes; i++)
		free(st->routes[i].type);
	free(st->backends);
	free(st->routes);
	free(st->error);
	free(st);
	*stp = NULL;
}

static const char *storage_error(struct storage *st, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static const char *storage_error(struct storage *st, const char *fmt, ...)
{
	struct buf b = { 0 };
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	free(st->error);
	st->error = buf_steal(&b, NULL);
	return st->error;
}

const char *storage_backend_error(struct storage_backend *be, const char *fmt, ...)
{
	struct buf b = { 0 };
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	free(be->error);
	be->error = buf_steal(&b, NULL);
	return be->error;
}

/* The open instance of driver `name`, opening it on first use. */
static struct storage_backend *backend_get(struct storage *st, const char *name,
					   const char **error_r)
{
	const struct storage_driver *drv = NULL;
	struct storage_backend *be;

	for (size_t i = 0; i < st->nbackends; i++)
		if (strcmp(st->backends[i]->driver->name, name) == 0)
			return st->backends[i];
	for (size_t i = 0; i < sizeof(storage_drivers) / sizeof(storage_drivers[0]); i++)
		if (strcmp(storage_drivers[i]->name, name) == 0)
			drv = storage_drivers[i];
	if (drv == NULL) {
		*error_r = storage_error(st, "unknown storage driver '%s'", name);
		return NULL;
	}
	be = xcalloc(1, sizeof(*be));
	be->driver = drv;
	be->option = st->option;
	be->option_ctx = st->option_ctx;
	if (drv->open(be, error_r) < 0) {
		*error_r = storage_error(st, "storage driver '%s': %s", name, *error_r);
		free(be->error);
		free(be);
		return NULL;
	}
	log_info("storage: opened driver '%s'", name);
	st->backends = xrealloc(st->backends, (st->nbackends + 1) * sizeof(*st->backends));
	st->backends[st->nbackends++] = be;
	return be;
}

static struct storage_route *route_find(const struct storage *st, const char *type)
{
	for (size_t i = 0; i < st->nroutes; i++)
		if (strcmp(st->routes[i].type, type) == 0)
			return &st->routes[i];
	return NULL;
}

int storage_add_type(struct storage *st, const char *driver, const char *type,
		     const char **error_r)
{
	struct storage_backend *be;

	if (type == NULL && st->default_be != NULL) {
		*error_r = storage_error(st, "default storage driver already set ('%s')",
					 st->default_be->driver->name);
		return -1;
	}
	if (type != NULL && route_find(st, type) != NULL) {
		*error_r = storage_error(st, "storage type '%s' already has a driver", type);
		return -1;
	}
	if ((be = backend_get(st, driver, error_r)) == NULL)
		return -1;
	if (type == NULL) {
		st->default_be = be;
		return 0;
	}
	st->routes = xrealloc(st->routes, (st->nroutes + 1) * sizeof(*st->routes));
	st->routes[st->nroutes].type = xstrdup(type);
	st->routes[st->nroutes].be = be;
	st->nroutes++;
	return 0;
}

static int type_valid(const char *type)
{
	size_t len;

	if (type == NULL || (len = strlen(type)) == 0 || len > STORAGE_MAX_TYPE)
		return 0;
	return strspn(type, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789-_") == len;
}

/*
 * What every operation does first: find the driver for `type`, check the
 * owner and parse the filter (NULL stays NULL). Returns the backend, or
 * NULL with *error_r set.
 */
static struct storage_backend *storage_prepare(struct storage *st, const char *type,
					       const char *owner, const char *filter,
					       struct storage_filter **filter_r,
					       const char **error_r)
{
	const struct storage_route *r;
	const char *why;

	*filter_r = NULL;
	if (!type_valid(type)) {
		*error_r = "invalid storage type name";
		return NULL;
	}
	if (owner == NULL) {
		*error_r = "no collection owner";
		return NULL;
	}
	r = route_find(st, type);
	if (r == NULL && st->default_be == NULL) {
		*error_r = storage_error(st, "no storage driver for type '%s'", type);
		return NULL;
	}
	if (filter != NULL && storage_filter_parse(filter, strlen(filter), filter_r, &why) < 0) {
		*error_r = storage_error(st, "malformed filter: %s", why);
		return NULL;
	}
	return r != NULL ? r->be : st->default_be;
}

enum storage_result storage_put(struct storage *st, const char *type, const char *owner,
				const struct os *os, const char **error_r)
{
	struct storage_filter *f;
	struct storage_backend *be = storage_prepare(st, type, owner, NULL, &f, error_r);
	uint64_t t0;

	if (be == NULL)
		return STORAGE_ERROR;
	if (os == NULL) {
		*error_r = "no object set";
		return STORAGE_ERROR;
	}
	if (os_count(os) == 0)
		return STORAGE_OK;
	t0 = storage_now_us();
	return storage_timed(st, t0, be->driver->put(be, type, owner, os, error_r));
}

/* get, or with `take` take. */
static enum storage_result storage_rows(struct storage *st, const char *type, const char *owner,
					const char *filter, int take, struct os **os_r,
					const char **error_r)
{
	struct storage_filter *f;
	struct storage_backend *be = storage_prepare(st, type, owner, filter, &f, error_r);
	uint64_t t0;
	enum storage_result ret;

	*os_r = NULL;
	if (be == NULL)
		return STORAGE_ERROR;
	t0 = storage_now_us();
	ret = storage_timed(st, t0, (take ? be->driver->take : be->driver->get)(be, type, owner, f,
										  os_r, error_r));
	storage_filter_free(&f);
	return ret;
}

enum storage_result storage_get(struct storage *st, const char *type, const char *owner,
				const char *filter, struct os **os_r, const char **error_r)
{
	return storage_rows(st, type, owner, filter, 0, os_r, error_r);
}

enum storage_result storage_count(struct storage *st, const char *type, const char *owner,
				  const char *filter, int64_t *count_r, const char **error_r)
{
	struct storage_filter *f;
	struct storage_backend *be = storage_prepare(st, type, owner, filter, &f, error_r);
	uint64_t t0;
	enum storage_result ret;

	*count_r = 0;
	if (be == NULL)
		return STORAGE_ERROR;
	t0 = storage_now_us();
	ret = storage_timed(st, t0, be->driver->count(be, type, owner, f, count_r, error_r));
	storage_filter_free(&f);
	return ret;
}

enum storage_result storage_delete(struct storage *st, const char *type, const char *owner,
				   const char *filter, const char **error_r)
{
	struct storage_filter *f;
	struct storage_backend *be = storage_prepare(st, type, owner, filter, &f, error_r);
	uint64_t t0;
	enum storage_result ret;

	if (be == NULL)
		return STORAGE_ERROR;
	t0 = storage_now_us();
	ret = storage_timed(st, t0, be->driver->delete(be, type, owner, f, error_r));
	storage_filter_free(&f);
	return ret;
}

enum storage_result storage_replace(struct storage *st, const char *type, const char *owner,
				    const char *filter, const struct os *os,
				    const char **error_r)
{
	struct storage_filter *f;
	struct storage_backend *be = storage_prepare(st, type, owner, filter, &f, error_r);
	uint64_t t0;
	enum storage_result ret;

	if (be == NULL)
		return STORAGE_ERROR;
	if (os == NULL) {
		storage_filter_free(&f);
		*error_r = "no object set";
		return STORAGE_ERROR;
	}
	t0 = storage_now_us();
	ret = storage_timed(st, t0, be->driver->replace(be, type, owner, f, os, error_r));
	storage_filter_free(&f);
	return ret;
}

enum storage_result storage_take(struct storage *st, const char *type, const char *owner,
				 const char *filter, struct os **os_r, const char **error_r)
{
	return storage_rows(st, type, owner, filter, 1, os_r, error_r);
}

int storage_sql_open(struct storage_backend *be, enum sql_kind kind,
		     int (*ensure_schema)(struct storage_backend *be, const char **error_r),
		     const char **error_r)
{
	char section[64];
	struct sql_settings set = {
		.kind = kind,
		.section = section,
		.option = be->option,
		.option_ctx = be->option_ctx,
		.init_sql_option = "sql",
		.application_name = "jabberd-sm",
	};
	struct storage_sql *d = xcalloc(1, sizeof(*d));
	const char *prefix;

	snprintf(section, sizeof(section), "storage.%s", be->driver->name);
	prefix = sql_option(&set, "prefix", 1);
	d->prefix = prefix != NULL ? xstrdup(prefix) : NULL;
	d->serializable = sql_option(&set, "transactions", 0) != NULL;
	be->data = d;
	if (sql_open(&d->conn, &set, error_r) == 0 && ensure_schema(be, error_r) == 0)
		return 0;
	/* The error text may belong to the connection closed here. */
	*error_r = storage_backend_error(be, "%s", *error_r);
	storage_sql_close(be);
	return -1;
}

void storage_sql_close(struct storage_backend *be)
{
	struct storage_sql *d = be->data;

	if (d == NULL)
		return;
	sql_close(&d->conn);
	free(d->prefix);
	free(d);
	be->data = NULL;
}

/* ---- statements of server SQL drivers ---- */

void storage_sql_params_init(struct storage_sql_params *p, size_t max)
{
	p->values = xcalloc(max + 1, sizeof(*p->values));
	p->ints = xcalloc(max + 1, sizeof(*p->ints));
	p->texts = xcalloc(max + 1, sizeof(*p->texts));
	p->max = max;
	p->n = 0;
}

void storage_sql_params_free(struct storage_sql_params *p)
{
	for (size_t i = 0; p->texts != NULL && i < p->max; i++)
		buf_free(&p->texts[i]);
	free(p->values);
	free(p->ints);
	free(p->texts);
	memset(p, 0, sizeof(*p));
}

void storage_sql_params_add_int(struct storage_sql_params *p, int64_t v)
{
	snprintf(p->ints[p->n], sizeof(p->ints[p->n]), "%" PRId64, v);
	p->values[p->n] = p->ints[p->n];
	p->n++;
}

void storage_sql_params_add_field(struct storage_sql_params *p, const struct os_object *o,
				  size_t i, const char *yes, const char *no)
{
	enum os_type type;

	os_object_field(o, i, &type);
	switch (type) {
	case OS_TYPE_BOOLEAN:
		p->values[p->n++] = os_object_field_int(o, i) != 0 ? yes : no;
		break;
	case OS_TYPE_INTEGER:
		storage_sql_params_add_int(p, os_object_field_int(o, i));
		break;
	case OS_TYPE_STRING:
		p->values[p->n++] = os_object_field_text(o, i);
		break;
	case OS_TYPE_NAD:
		storage_nad_text(os_object_field_nad(o, i), &p->texts[p->n]);
		p->values[p->n] = p->texts[p->n].data;
		p->n++;
		break;
	}
}

int storage_sql_table(struct storage_backend *be, const char *prefix, const char *name,
		      size_t max, struct buf *sql, const char **error_r)
{
	size_t len = (prefix ? strlen(prefix) : 0) + strlen(name);

	if (len > max) {
		*error_r = storage_backend_error(be, "%s: table name '%s%s' is longer than "
						 "%zu bytes", be->driver->name,
						 prefix ? prefix : "", name, max);
		return -1;
	}
	sql_ident(sql, prefix, name);
	return 0;
}

int storage_sql_where(struct storage_backend *be, const char *verb, const char *type,
		      const char *owner, const struct storage_filter *filter, const char *tail,
		      enum storage_param_style style, size_t max_ident, struct buf *sql,
		      struct storage_sql_params *p, const char **error_r)
{
	struct storage_sql *d = be->data;
	const struct storage_filter *pairs[STORAGE_FILTER_MAX_NODES];
	size_t npairs = storage_filter_pairs(filter, pairs, STORAGE_FILTER_MAX_NODES);
	int param_no = 1;

	storage_sql_params_init(p, npairs + 1);
	buf_append_str(sql, verb);
	if (storage_sql_table(be, d->prefix, type, max_ident, sql, error_r) < 0)
		return -1;
	buf_append_str(sql, style == STORAGE_PARAM_DOLLAR ? " WHERE \"collection-owner\" = $1"
							  : " WHERE \"collection-owner\" = ?");
	if (filter != NULL) {
		buf_append_str(sql, " AND ");
		storage_filter_sql(filter, style, &param_no, sql);
	}
	buf_append_str(sql, tail);
	p->values[p->n++] = owner;
	for (size_t i = 0; i < npairs && i < STORAGE_FILTER_MAX_NODES; i++) {
		if (pairs[i]->is_int)
			storage_sql_params_add_int(p, pairs[i]->ival);
		else
			p->values[p->n++] = pairs[i]->value;
	}
	return 0;
}

int storage_sql_insert(struct storage_backend *be, const char *type, const char *owner,
		       const struct os_object *o, enum storage_param_style style,
		       size_t max_ident, const char *extra_col, const char *extra_val,
		       struct buf *sql, struct storage_sql_params *p, const char **error_r)
{
	struct storage_sql *d = be->data;
	int dollar = style == STORAGE_PARAM_DOLLAR;
	size_t n = os_object_nfields(o);

	storage_sql_params_init(p, n + 1);
	p->values[p->n++] = owner;
	buf_append_str(sql, "INSERT INTO ");
	if (storage_sql_table(be, d->prefix, type, max_ident, sql, error_r) < 0)
		return -1;
	buf_append_str(sql, " (\"collection-owner\"");
	if (extra_col != NULL)
		buf_printf(sql, ", %s", extra_col);
	for (size_t i = 0; i < n; i++) {
		if (!storage_key_is_data(os_object_field(o, i, NULL)))
			continue;
		buf_append_str(sql, ", ");
		sql_ident(sql, NULL, os_object_field(o, i, NULL));
		storage_sql_params_add_field(p, o, i, dollar ? "t" : "1", dollar ? "f" : "0");
	}
	buf_append_str(sql, dollar ? ") VALUES ($1" : ") VALUES (?");
	if (extra_val != NULL)
		buf_printf(sql, ", %s", extra_val);
	for (int i = 2; i <= p->n; i++) {
		if (dollar)
			buf_printf(sql, ", $%d", i);
		else
			buf_append_str(sql, ", ?");
	}
	buf_append_char(sql, ')');
	return 0;
}

void storage_sql_put_cell(struct os_object *o, const char *name, enum sql_col_type type,
			  const char *v)
{
	switch (type) {
	case SQL_COL_BOOL:
		os_object_put_bool(o, name, v[0] == 't' || strtoll(v, NULL, 10) != 0);
		break;
	case SQL_COL_INT:
		os_object_put_int(o, name, strtoll(v, NULL, 10));
		break;
	case SQL_COL_TEXT:
		os_object_put_str(o, name, v);
		break;
	}
}

int storage_sql_ensure_schema(struct storage_backend *be, const char **error_r)
{
	const char *name = be->driver->name, *why;
	unsigned created = 0;

	if (be->driver->sql->create_missing(be, 0, &created, error_r) < 0)
		return -1;
	/* jabberd2's own databases lack these; a user who may not create
	 * tables still gets a driver for everything else. */
	if (be->driver->sql->create_missing(be, 1, &created, &why) < 0)
		log_warnx("%s: the tables jabberd2's own schema lacks (published-roster, "
			  "verify, roster-state, pep-items...) were not all created: %s",
			  name, why);
	if (created > 0)
		log_info("%s: created %u missing table(s) of the jabberd2 schema", name, created);
	return 0;
}

/* ---- the operations of server SQL drivers ---- */

enum sql_op_kind { OP_PUT, OP_GET, OP_COUNT, OP_DELETE, OP_REPLACE, OP_TAKE };

struct sql_op {
	enum sql_op_kind kind;
	const char *type;
	const char *owner;
	const struct storage_filter *filter;
	const struct os *os;
	struct os **os_r;
	int64_t *count_r;
};

/* put and replace: [delete, then] insert, in one transaction. *committing
 * is set once COMMIT was sent, after which the outcome may be unknown. */
static enum storage_result sql_write(struct storage_backend *be, const struct sql_op *op,
				     int *committing, const char **error_r)
{
	const struct storage_sql_ops *ops = be->driver->sql;
	struct storage_sql *d = be->data;

	if (sql_begin(d->conn, d->serializable, error_r) < 0)
		return STORAGE_ERROR;
	if (op->kind == OP_REPLACE &&
	    ops->delete(be, op->type, op->owner, op->filter, error_r) < 0)
		goto err;
	for (struct os_object *o = os_first(op->os); o != NULL; o = os_next(o))
		if (ops->insert(be, op->type, op->owner, o, error_r) < 0)
			goto err;
	*committing = 1;
	if (sql_commit(d->conn, error_r) == 0)
		return STORAGE_OK;
err:
	sql_rollback(d->conn);
	return STORAGE_ERROR;
}

static enum storage_result sql_op_once(struct storage_backend *be, const struct sql_op *op,
				       int *committing, const char **error_r)
{
	const struct storage_sql_ops *ops = be->driver->sql;

	switch (op->kind) {
	case OP_GET:
		return ops->get(be, op->type, op->owner, op->filter, op->os_r, error_r);
	case OP_COUNT:
		return ops->count(be, op->type, op->owner, op->filter, op->count_r, error_r);
	case OP_DELETE:
		return ops->delete(be, op->type, op->owner, op->filter, error_r) < 0
			       ? STORAGE_ERROR : STORAGE_OK;
	case OP_TAKE:
		return ops->take(be, op->type, op->owner, op->filter, op->os_r, committing,
				 error_r);
	case OP_PUT:
	case OP_REPLACE:
		break;
	}
	return sql_write(be, op, committing, error_r);
}

/*
 * Run op, reconnecting once if the connection was lost before COMMIT was
 * sent (after it, a retry could store the objects twice, so the caller
 * gets the error), and retrying what the driver's retryable() allows, a
 * few times.
 */
static enum storage_result sql_op_run(struct storage_backend *be, const struct sql_op *op,
				      const char **error_r)
{
	struct storage_sql *d = be->data;
	int reconnected = 0;

	for (int attempt = 0; attempt < STORAGE_SQL_ATTEMPTS; attempt++) {
		int committing = 0;
		enum storage_result r;

		if (sql_lost(d->conn)) {
			if (reconnected || sql_reconnect(d->conn, error_r) < 0)
				return STORAGE_ERROR;
			reconnected = 1;
		}
		r = sql_op_once(be, op, &committing, error_r);
		if (r != STORAGE_ERROR)
			return r;
		if (sql_lost(d->conn)) {
			if (committing || reconnected)
				return STORAGE_ERROR;
			log_warnx("%s; reconnecting", *error_r);
			continue;
		}
		if (!be->driver->sql->retryable(op->kind == OP_REPLACE, sql_sqlstate(d->conn)))
			return STORAGE_ERROR;
		log_debug("%s; trying again", *error_r);
	}
	return STORAGE_ERROR;
}

enum storage_result storage_sql_put(struct storage_backend *be, const char *type,
				    const char *owner, const struct os *os,
				    const char **error_r)
{
	const struct sql_op op = { .kind = OP_PUT, .type = type, .owner = owner, .os = os };

	return sql_op_run(be, &op, error_r);
}

enum storage_result storage_sql_get(struct storage_backend *be, const char *type,
				    const char *owner, const struct storage_filter *filter,
				    struct os **os_r, const char **error_r)
{
	const struct sql_op op = { .kind = OP_GET, .type = type, .owner = owner,
				   .filter = filter, .os_r = os_r };

	*os_r = NULL;
	return sql_op_run(be, &op, error_r);
}

enum storage_result storage_sql_count(struct storage_backend *be, const char *type,
				      const char *owner, const struct storage_filter *filter,
				      int64_t *count_r, const char **error_r)
{
	const struct sql_op op = { .kind = OP_COUNT, .type = type, .owner = owner,
				   .filter = filter, .count_r = count_r };

	return sql_op_run(be, &op, error_r);
}

enum storage_result storage_sql_delete(struct storage_backend *be, const char *type,
				       const char *owner, const struct storage_filter *filter,
				       const char **error_r)
{
	const struct sql_op op = { .kind = OP_DELETE, .type = type, .owner = owner,
				   .filter = filter };

	return sql_op_run(be, &op, error_r);
}

enum storage_result storage_sql_replace(struct storage_backend *be, const char *type,
					const char *owner, const struct storage_filter *filter,
					const struct os *os, const char **error_r)
{
	const struct sql_op op = { .kind = OP_REPLACE, .type = type, .owner = owner,
				   .filter = filter, .os = os };

	return sql_op_run(be, &op, error_r);
}

enum storage_result storage_sql_take(struct storage_backend *be, const char *type,
				     const char *owner, const struct storage_filter *filter,
				     struct os **os_r, const char **error_r)
{
	const struct sql_op op = { .kind = OP_TAKE, .type = type, .owner = owner,
				   .filter = filter, .os_r = os_r };

	*os_r = NULL;
	return sql_op_run(be, &op, error_r);
}

int storage_sql_create(struct storage_backend *be, const char *prefix, const char *table,
		       const char *index, const char *columns, const char **error_r)
{
	struct storage_sql *d = be->data;
	struct buf sql = { 0 };
	int ret;

	if (index != NULL) {
		buf_append_str(&sql, "CREATE INDEX IF NOT EXISTS ");
		sql_ident(&sql, prefix, index);
		buf_append_str(&sql, " ON ");
	} else {
		buf_append_str(&sql, "CREATE TABLE ");
	}
	sql_ident(&sql, prefix, table);
	buf_printf(&sql, " (%s)", columns);
	ret = sql_exec(d->conn, sql.data, index != NULL ? "creating an index" : "creating a table",
		       error_r);
	buf_free(&sql);
	return ret;
}

void storage_nad_text(const struct nad *nad, struct buf *out)
{
	buf_append_str(out, "NAD");
	if (nad_root(nad) != NAD_NONE)
		nad_serialize(nad, nad_root(nad), NULL, out);
}

int storage_key_is_data(const char *key)
{
	return strcmp(key, "collection-owner") != 0 && strcmp(key, "object-sequence") != 0;
}
