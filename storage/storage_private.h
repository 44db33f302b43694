/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * storage_private: what storage drivers see and the public API hides: the
 * driver descriptor, the parsed filter tree and SQL helpers shared by the
 * SQL drivers. storage.c parses filters and checks arguments, so a driver
 * only ever gets a valid owner, a sane type name and a parsed filter.
 */
#ifndef STORAGE_STORAGE_PRIVATE_H
#define STORAGE_STORAGE_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "storage/sql.h"
#include "storage/storage.h"

struct buf;

/* ---- parsed filters (filter.c) ---- */

enum storage_filter_op {
	STORAGE_FILTER_PAIR,
	STORAGE_FILTER_AND,
	STORAGE_FILTER_OR,
	STORAGE_FILTER_NOT,
};

/* Limits that keep a hostile filter from costing much: nesting depth, and
 * nodes (terms and operators) in one filter. */
#define STORAGE_FILTER_MAX_DEPTH 32
#define STORAGE_FILTER_MAX_NODES 256

struct storage_filter {
	enum storage_filter_op op;
	/* PAIR: key, and either a string (value, value_len bytes, NUL after)
	 * or, with is_int set, the integer ival. */
	char *key;
	char *value;
	size_t value_len;
	int is_int;
	int64_t ival;
	/* AND/OR: children in document order; NOT: exactly one child. */
	struct storage_filter *sub;
	struct storage_filter *next;
};

/*
 * Parse `len` bytes of filter text. Returns 0 and a tree in *filter_r, or
 * -1 with a static reason in *error_r. Never reads past len.
 */
int storage_filter_parse(const char *text, size_t len, struct storage_filter **filter_r,
			 const char **error_r);
void storage_filter_free(struct storage_filter **filterp);

/* How a driver writes bound parameters: sqlite "?", libpq "$n". */
enum storage_param_style {
	STORAGE_PARAM_QMARK,
	STORAGE_PARAM_DOLLAR,
};

/*
 * Append the filter as an SQL condition, with each pair's column quoted
 * and its value a parameter. *param_no is the number of the last parameter
 * already used; each pair takes the next one, in the order
 * storage_filter_pairs() returns them.
 */
void storage_filter_sql(const struct storage_filter *f, enum storage_param_style style,
			int *param_no, struct buf *sql);
/* The pairs of f in parameter order, into out[0..max-1]; returns how many
 * there are (which may exceed max: only max are stored). */
size_t storage_filter_pairs(const struct storage_filter *f, const struct storage_filter **out,
			    size_t max);

/* ---- object internals (os.c) ---- */

/* Value of field i; the caller has checked its type with os_object_field().
 * get_int on a boolean or integer; get_text on a string. */
int64_t os_object_field_int(const struct os_object *o, size_t i);
const char *os_object_field_text(const struct os_object *o, size_t i);
const struct nad *os_object_field_nad(const struct os_object *o, size_t i);

/* ---- SQL helpers (storage.c) ---- */

/* Append "NAD" + the serialized root element, as jabberd2 stores XML. */
void storage_nad_text(const struct nad *nad, struct buf *out);
/* True for a key that names a column storage_put() writes (not the owner
 * or the sequence, which drivers fill in themselves). */
int storage_key_is_data(const char *key);

/* ---- drivers ---- */

/*
 * An open driver instance. `data` is the driver's own state; `error` is a
 * buffer the driver may use for *error_r strings (valid until its next
 * call) through storage_backend_error().
 */
struct storage_backend {
	const struct storage_driver *driver;
	void *data;
	char *error;
	storage_option_fn *option;
	void *option_ctx;
};

/* Format an error into be->error and return it (for *error_r). */
const char *storage_backend_error(struct storage_backend *be, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * A driver: one const descriptor per backend. open() reads its options via
 * be->option (keys "storage.<name>.*"), sets be->data and returns 0, or
 * -1 with *error_r. close() releases be->data and NULLs it. The operations
 * get arguments storage.c has checked: type and owner non-NULL, filter NULL
 * or parsed, os non-NULL. put/replace must be atomic; get returns
 * STORAGE_NOT_FOUND with *os_r NULL when nothing matches.
 */
struct storage_driver {
	const char *name;
	int (*open)(struct storage_backend *be, const char **error_r);
	void (*close)(struct storage_backend *be);
	enum storage_result (*put)(struct storage_backend *be, const char *type,
				   const char *owner, const struct os *os, const char **error_r);
	enum storage_result (*get)(struct storage_backend *be, const char *type,
				   const char *owner, const struct storage_filter *filter,
				   struct os **os_r, const char **error_r);
	enum storage_result (*count)(struct storage_backend *be, const char *type,
				     const char *owner, const struct storage_filter *filter,
				     int64_t *count_r, const char **error_r);
	enum storage_result (*delete)(struct storage_backend *be, const char *type,
				      const char *owner, const struct storage_filter *filter,
				      const char **error_r);
	enum storage_result (*replace)(struct storage_backend *be, const char *type,
				       const char *owner, const struct storage_filter *filter,
				       const struct os *os, const char **error_r);
	/* get + delete, atomic: no object goes to two callers. */
	enum storage_result (*take)(struct storage_backend *be, const char *type,
				    const char *owner, const struct storage_filter *filter,
				    struct os **os_r, const char **error_r);
	/* Server SQL drivers: what storage_sql_put() and the others use. */
	const struct storage_sql_ops *sql;
};

extern const struct storage_driver storage_driver_sqlite;

/* ---- what the SQL drivers share (storage.c) ---- */

/* be->data of an SQL driver. */
struct storage_sql {
	struct sql_conn *conn;  /* storage/sql.h */
	char *prefix;           /* storage.<driver>.prefix, or NULL */
	int serializable;       /* storage.<driver>.transactions is present */
};

/*
 * Open be->data as a struct storage_sql: the connection of `kind` from the
 * options of section storage.<driver name>, then `ensure_schema`. Returns
 * 0, or -1 with *error_r (in be->error) and nothing left open.
 */
int storage_sql_open(struct storage_backend *be, enum sql_kind kind,
		     int (*ensure_schema)(struct storage_backend *be, const char **error_r),
		     const char **error_r);
void storage_sql_close(struct storage_backend *be);

/* The text parameters of one statement of a server SQL driver: integers
 * formatted into `ints`, serialized XML into `texts`, each kept until the
 * statement ran. */
struct storage_sql_params {
	const char **values;
	char (*ints)[24];
	struct buf *texts;
	size_t max;
	int n;
};

void storage_sql_params_init(struct storage_sql_params *p, size_t max);
void storage_sql_params_free(struct storage_sql_params *p);
void storage_sql_params_add_int(struct storage_sql_params *p, int64_t v);
/* Field i of o as the next parameter; booleans as `yes` / `no` ("t"/"f"
 * for PostgreSQL, "1"/"0" for MySQL). */
void storage_sql_params_add_field(struct storage_sql_params *p, const struct os_object *o,
				  size_t i, const char *yes, const char *no);

/* "prefix+name" quoted into sql, or -1 with *error_r if it is longer than
 * `max` bytes (the server would truncate or refuse it). */
int storage_sql_table(struct storage_backend *be, const char *prefix, const char *name,
		      size_t max, struct buf *sql, const char **error_r);

/*
 * `<verb> "prefix+type" WHERE "collection-owner" = <p1> [AND <filter>]<tail>`
 * in sql and its parameters in p (initialized here): the owner, then the
 * filter's values, written in `style`.
 */
int storage_sql_where(struct storage_backend *be, const char *verb, const char *type,
		      const char *owner, const struct storage_filter *filter, const char *tail,
		      enum storage_param_style style, size_t max_ident, struct buf *sql,
		      struct storage_sql_params *p, const char **error_r);

/*
 * `INSERT INTO "prefix+type" ("collection-owner"[, <extra_col>], <o's data
 * fields>) VALUES (<p1>[, <extra_val>], <p2>, ...)` in sql and its
 * parameters in p (initialized here): the owner, then the fields, written
 * in `style` (booleans "t"/"f" with $n for PostgreSQL, "1"/"0" with ? for
 * MySQL). extra_col and extra_val (SQL text, e.g. a sequence's next value)
 * may be NULL.
 */
int storage_sql_insert(struct storage_backend *be, const char *type, const char *owner,
		       const struct os_object *o, enum storage_param_style style,
		       size_t max_ident, const char *extra_col, const char *extra_val,
		       struct buf *sql, struct storage_sql_params *p, const char **error_r);

/* One result cell `v` of column `name`, read as its type says (storage/
 * sql.h; a boolean is "t"/"f" from PostgreSQL, "1"/"0" from MySQL), put
 * into o. */
void storage_sql_put_cell(struct os_object *o, const char *name, enum sql_col_type type,
			  const char *v);

/*
 * What a server SQL driver (pgsql, mysql) does itself; storage_sql_put()
 * and the others below do the rest the same way for both: writes of
 * several rows in one transaction ([delete, then] inserts), a connection
 * lost before COMMIT re-established once and the operation run again,
 * and what `retryable` allows (by SQLSTATE) run again, up to
 * STORAGE_SQL_ATTEMPTS times. get returns STORAGE_NOT_FOUND with *os_r
 * NULL when nothing matches; delete and insert return 0 or -1.
 */
#define STORAGE_SQL_ATTEMPTS 4

struct storage_sql_ops {
	enum storage_result (*get)(struct storage_backend *be, const char *type,
				   const char *owner, const struct storage_filter *filter,
				   struct os **os_r, const char **error_r);
	enum storage_result (*count)(struct storage_backend *be, const char *type,
				     const char *owner, const struct storage_filter *filter,
				     int64_t *count_r, const char **error_r);
	int (*delete)(struct storage_backend *be, const char *type, const char *owner,
		      const struct storage_filter *filter, const char **error_r);
	int (*insert)(struct storage_backend *be, const char *type, const char *owner,
		      const struct os_object *o, const char **error_r);
	/* get + delete, atomic; *committing set once the outcome may be
	 * unknown if the connection is lost (then it is not run again). */
	enum storage_result (*take)(struct storage_backend *be, const char *type,
				    const char *owner, const struct storage_filter *filter,
				    struct os **os_r, int *committing, const char **error_r);
	/* Whether a failure with this SQLSTATE means "run it again"; `replace`
	 * is set for a replace. */
	int (*retryable)(int replace, const char *sqlstate);
	/* Create the missing tables of the schema: jabberd2's (ours 0) or
	 * those it lacks (ours 1), adding how many to *created. */
	int (*create_missing)(struct storage_backend *be, int ours, unsigned *created,
			      const char **error_r);
};

/* The ensure_schema of storage_sql_open() for a server SQL driver:
 * jabberd2's tables must be there or be created; the ones it lacks are
 * created if the database user may, else a warning says so. */
int storage_sql_ensure_schema(struct storage_backend *be, const char **error_r);

/* The driver operations over be->driver->sql. */
enum storage_result storage_sql_put(struct storage_backend *be, const char *type,
				    const char *owner, const struct os *os,
				    const char **error_r);
enum storage_result storage_sql_get(struct storage_backend *be, const char *type,
				    const char *owner, const struct storage_filter *filter,
				    struct os **os_r, const char **error_r);
enum storage_result storage_sql_count(struct storage_backend *be, const char *type,
				      const char *owner, const struct storage_filter *filter,
				      int64_t *count_r, const char **error_r);
enum storage_result storage_sql_delete(struct storage_backend *be, const char *type,
				       const char *owner, const struct storage_filter *filter,
				       const char **error_r);
enum storage_result storage_sql_replace(struct storage_backend *be, const char *type,
					const char *owner, const struct storage_filter *filter,
					const struct os *os, const char **error_r);
enum storage_result storage_sql_take(struct storage_backend *be, const char *type,
				     const char *owner, const struct storage_filter *filter,
				     struct os **os_r, const char **error_r);
/* CREATE TABLE "prefix+table" (columns); or, with `index`, CREATE INDEX IF
 * NOT EXISTS "prefix+index" ON "prefix+table" (columns). */
int storage_sql_create(struct storage_backend *be, const char *prefix, const char *table,
		       const char *index, const char *columns, const char **error_r);

/* ---- the sqlite schema (schema_sqlite.c) ---- */

/* An index: its name (the table prefix is put in front) and its quoted
 * column list. `ours` marks the indexes jabberd2 lacks, which the driver
 * adds to existing databases too. */
struct storage_sqlite_index {
	const char *name;
	const char *columns;
	int ours;
};

/* A table as jabberd2 defines it. `columns` is the text inside CREATE
 * TABLE's parentheses. Unprefixed tables (authreg, shared with c2s) never
 * take the prefix. */
struct storage_sqlite_table {
	const char *name;
	int unprefixed;
	const char *columns;
	const struct storage_sqlite_index *indexes;
	size_t nindexes;
};

extern const struct storage_sqlite_table storage_sqlite_schema[];
extern const size_t storage_sqlite_schema_len;

/* ---- the PostgreSQL driver and its schema (schema_pgsql.c) ---- */

/* Defined only when built with libpq (HAVE_PGSQL). */
extern const struct storage_driver storage_driver_pgsql;

/* Table flags. UNPREFIXED: c2s's authreg, never prefixed. OURS: a table
 * jabberd2's pgsql script lacks (the sm uses it all the same); created
 * when possible, but a database user that may not create tables still
 * gets a working driver without it. */
#define STORAGE_PGSQL_UNPREFIXED 0x1
#define STORAGE_PGSQL_OURS 0x2

struct storage_pgsql_index {
	const char *name;    /* the table prefix is put in front */
	const char *columns; /* quoted column list */
};

/* `columns` is the text inside CREATE TABLE's parentheses. */
struct storage_pgsql_table {
	const char *name;
	unsigned flags;
	const char *columns;
	const struct storage_pgsql_index *indexes;
	size_t nindexes;
};

/* The one sequence every sm table's "object-sequence" draws from; never
 * prefixed, as jabberd2's driver always names it so. */
#define STORAGE_PGSQL_SEQUENCE "object-sequence"

extern const struct storage_pgsql_table storage_pgsql_schema[];
extern const size_t storage_pgsql_schema_len;

/* ---- the MySQL/MariaDB driver and its schema (schema_mysql.c) ---- */

/* Defined only when built with libmariadb (HAVE_MYSQL). */
extern const struct storage_driver storage_driver_mysql;

/* As STORAGE_PGSQL_UNPREFIXED and STORAGE_PGSQL_OURS. */
#define STORAGE_MYSQL_UNPREFIXED 0x1
#define STORAGE_MYSQL_OURS 0x2

/* `columns` is the text inside CREATE TABLE's parentheses, keys included. */
struct storage_mysql_table {
	const char *name;
	unsigned flags;
	const char *columns;
};

extern const struct storage_mysql_table storage_mysql_schema[];
extern const size_t storage_mysql_schema_len;

#endif
