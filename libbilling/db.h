/*
 * Private MariaDB helpers: connections, prepared statements with simple
 * parameter arrays, rows as strings or JSON, multi-row bulk inserts.
 */
#ifndef BL_DB_H
#define BL_DB_H

#include <mysql.h>
#include <jansson.h>
#include "internal.h"

typedef enum { BP_T_NULL, BP_T_I64, BP_T_STR, BP_T_BLOB } bl__ptype;
typedef struct {
	bl__ptype t;
	int64_t i;
	const void *p;
	unsigned long len;
} bl__param;

#define BP_NULL ((bl__param){ .t = BP_T_NULL })
#define BP_I64(v) ((bl__param){ .t = BP_T_I64, .i = (int64_t)(v) })
#define BP_STR(s) ((bl__param){ .t = BP_T_STR, .p = (s), .len = (unsigned long)strlen(s) })
#define BP_BLOB(b, n) ((bl__param){ .t = BP_T_BLOB, .p = (b), .len = (unsigned long)(n) })

/* Connect with the configuration; with_db = select MYSQL_DATABASE. */
BL_PRIVATE MYSQL *bl__db_connect(const bl_config *cfg, bool with_db);
/* bl__db_connect, with LOAD DATA LOCAL INFILE allowed when `local_infile`
 * (the seed generator's connections only: they install their own handler,
 * which serves only the generator's stream).  Every other connection
 * refuses a server's request for a local file. */
BL_PRIVATE MYSQL *bl__db_connect_ex(const bl_config *cfg, bool with_db, bool local_infile);
/* Record a connection-level failure; maps duplicate keys to BL_ECONFLICT. */
BL_PRIVATE int bl__db_fail(MYSQL *db, const char *sql);
BL_PRIVATE int bl__stmt_fail(MYSQL_STMT *st, const char *sql);
/* The MariaDB error number of this thread's last failure reported through
 * bl__db_fail / bl__stmt_fail (e.g. ER_STATEMENT_TIMEOUT). */
BL_PRIVATE unsigned bl__db_errno(void);

/* Text-protocol statement without parameters (DDL, BEGIN, COMMIT...). */
BL_PRIVATE int bl__db_query(MYSQL *db, const char *sql);
BL_PRIVATE int bl__db_begin(MYSQL *db);
BL_PRIVATE int bl__db_commit(MYSQL *db);
BL_PRIVATE void bl__db_rollback(MYSQL *db);

/* Prepare + bind + execute; for statements without a result set. */
BL_PRIVATE int bl__db_exec(MYSQL *db, const char *sql, const bl__param *ps, unsigned n,
			   uint64_t *affected, uint64_t *insert_id);

/* A statement prepared once and executed many times on one connection
 * (hot paths).  `sql` must be a string that outlives the cache. */
typedef struct {
	MYSQL *db;
	const char *sql;
	MYSQL_STMT *st;
} bl__stmt_cache;
BL_PRIVATE int bl__stmt_cache_exec(bl__stmt_cache *c, MYSQL *db, const char *sql,
				   const bl__param *ps, unsigned n, uint64_t *affected);
/* Close the cached statement (before its connection is closed). */
BL_PRIVATE void bl__stmt_cache_clear(bl__stmt_cache *c);

/* Row callback: vals[i] NULL for SQL NULL, NUL-terminated otherwise. */
typedef int (*bl__row_cb)(void *payload, char **vals, unsigned long *lens, unsigned ncols);
BL_PRIVATE int bl__db_rows(MYSQL *db, const char *sql, const bl__param *ps, unsigned n,
			   bl__row_cb cb, void *payload);
/* First column of the first row as int64; *found false (and BL_OK) when no row. */
BL_PRIVATE int bl__db_i64(MYSQL *db, const char *sql, const bl__param *ps, unsigned n,
			  int64_t *out, bool *found);
/* Result set as a JSON array of objects (integers typed, NULL as null). */
BL_PRIVATE int bl__db_json(MYSQL *db, const char *sql, const bl__param *ps, unsigned n,
			   json_t **out);
/* json_dumps into a bl_free-able string, with an error on failure. */
BL_PRIVATE int bl__json_out(json_t *j, char **out);

/* ---- bulk multi-row insert ---- */
typedef struct bl__bulk bl__bulk;
/* head: "INSERT INTO t (a,b) VALUES", tail: "" or " ON DUPLICATE KEY UPDATE ..." */
BL_PRIVATE int bl__bulk_new(bl__bulk **out, MYSQL *db, const char *head, unsigned ncols,
			    unsigned rows_per_stmt, const char *tail);
BL_PRIVATE int bl__bulk_add(bl__bulk *b, const bl__param *row);
BL_PRIVATE int bl__bulk_flush(bl__bulk *b);
/* Affected rows summed over the executed statements (after a flush). */
BL_PRIVATE uint64_t bl__bulk_affected(const bl__bulk *b);
BL_PRIVATE void bl__bulk_free(bl__bulk *b);

#endif
