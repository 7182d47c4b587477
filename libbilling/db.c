/* Private MariaDB helpers. */
#include <errno.h>
#include <mysqld_error.h>
#include <errmsg.h>
#include "db.h"

int bl__db_fail(MYSQL *db, const char *sql)
{
	unsigned e = mysql_errno(db);
	int code = (e == ER_DUP_ENTRY || e == ER_LOCK_DEADLOCK || e == ER_LOCK_WAIT_TIMEOUT)
			   ? BL_ECONFLICT : BL_EDB;
	return bl__fail(code, "MariaDB error %u: %s [SQL: %.160s]", e, mysql_error(db),
			sql ? sql : "");
}

int bl__stmt_fail(MYSQL_STMT *st, const char *sql)
{
	unsigned e = mysql_stmt_errno(st);
	int code = (e == ER_DUP_ENTRY || e == ER_LOCK_DEADLOCK || e == ER_LOCK_WAIT_TIMEOUT)
			   ? BL_ECONFLICT : BL_EDB;
	return bl__fail(code, "MariaDB error %u: %s [SQL: %.160s]", e, mysql_stmt_error(st),
			sql ? sql : "");
}

MYSQL *bl__db_connect(const bl_config *cfg, bool with_db)
{
	MYSQL *db = mysql_init(NULL);
	if (!db) {
		bl__fail(BL_ENOMEM, "mysql_init failed");
		return NULL;
	}
	unsigned timeout = (unsigned)bl__config_int(cfg, "MYSQL_CONNECT_TIMEOUT");
	unsigned rw_timeout = 600;
	my_bool on = 1;
	mysql_options(db, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	mysql_options(db, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	mysql_options(db, MYSQL_OPT_READ_TIMEOUT, &rw_timeout);
	mysql_options(db, MYSQL_OPT_WRITE_TIMEOUT, &rw_timeout);
	mysql_options(db, MYSQL_OPT_LOCAL_INFILE, &on);
	/* Connector/C keeps a list: both commands run on every (re)connect. */
	mysql_options(db, MYSQL_INIT_COMMAND, "SET time_zone = '+09:00'");
	mysql_options(db, MYSQL_INIT_COMMAND, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
	const char *host = bl_config_get(cfg, "MYSQL_HOST");
	const char *sock = bl_config_get(cfg, "MYSQL_SOCKET");
	const char *dbname = with_db ? bl_config_get(cfg, "MYSQL_DATABASE") : NULL;
	unsigned port = (unsigned)bl__config_int(cfg, "MYSQL_PORT");
	/* Connector/C takes the socket only for host "localhost" (else TCP) */
	if (sock && *sock)
		host = "localhost";
	else
		sock = NULL;
	if (!mysql_real_connect(db, host, bl_config_get(cfg, "MYSQL_USER"),
				bl_config_get(cfg, "MYSQL_PASSWORD"), dbname, port, sock, 0)) {
		bl__fail(BL_EDB, "cannot connect to MariaDB %s@%s:%u%s%s%s%s: %s (MYSQL_HOST/MYSQL_PORT/"
			 "MYSQL_SOCKET/MYSQL_USER/MYSQL_PASSWORD/MYSQL_DATABASE)",
			 bl_config_get(cfg, "MYSQL_USER"), host, port, dbname ? "/" : "",
			 dbname ? dbname : "", sock ? " via socket " : "", sock ? sock : "",
			 mysql_error(db));
		mysql_close(db);
		return NULL;
	}
	return db;
}

int bl__db_query(MYSQL *db, const char *sql)
{
	if (mysql_real_query(db, sql, strlen(sql)))
		return bl__db_fail(db, sql);
	MYSQL_RES *r = mysql_store_result(db);
	if (r)
		mysql_free_result(r);
	return BL_OK;
}

int bl__db_begin(MYSQL *db) { return bl__db_query(db, "START TRANSACTION"); }
int bl__db_commit(MYSQL *db) { return bl__db_query(db, "COMMIT"); }
void bl__db_rollback(MYSQL *db)
{
	/* keep the caller's error message */
	if (mysql_real_query(db, "ROLLBACK", 8) == 0) {
		MYSQL_RES *r = mysql_store_result(db);
		if (r)
			mysql_free_result(r);
	}
}

static void bind_params(MYSQL_BIND *b, const bl__param *ps, unsigned n)
{
	memset(b, 0, sizeof *b * n);
	for (unsigned i = 0; i < n; i++) {
		switch (ps[i].t) {
		case BP_T_NULL:
			b[i].buffer_type = MYSQL_TYPE_NULL;
			break;
		case BP_T_I64:
			b[i].buffer_type = MYSQL_TYPE_LONGLONG;
			b[i].buffer = (void *)&ps[i].i;
			break;
		case BP_T_STR:
			b[i].buffer_type = MYSQL_TYPE_STRING;
			b[i].buffer = (void *)ps[i].p;
			b[i].buffer_length = ps[i].len;
			b[i].length = (unsigned long *)&ps[i].len;
			break;
		case BP_T_BLOB:
			b[i].buffer_type = MYSQL_TYPE_BLOB;
			b[i].buffer = (void *)ps[i].p;
			b[i].buffer_length = ps[i].len;
			b[i].length = (unsigned long *)&ps[i].len;
			break;
		}
	}
}

static MYSQL_STMT *prepare_exec(MYSQL *db, const char *sql, const bl__param *ps, unsigned n,
				bool want_max_length)
{
	MYSQL_STMT *st = mysql_stmt_init(db);
	if (!st) {
		bl__db_fail(db, sql);
		return NULL;
	}
	if (mysql_stmt_prepare(st, sql, strlen(sql))) {
		bl__stmt_fail(st, sql);
		goto fail;
	}
	if (mysql_stmt_param_count(st) != n) {
		bl__fail(BL_EINVAL, "internal: %lu placeholders but %u parameters [SQL: %.160s]",
			 mysql_stmt_param_count(st), n, sql);
		goto fail;
	}
	if (n) {
		MYSQL_BIND *b = calloc(n, sizeof *b);
		if (!b) {
			bl__fail(BL_ENOMEM, "out of memory");
			goto fail;
		}
		bind_params(b, ps, n);
		my_bool ok = mysql_stmt_bind_param(st, b);
		free(b);
		if (ok) {
			bl__stmt_fail(st, sql);
			goto fail;
		}
	}
	if (want_max_length) {
		my_bool on = 1;
		mysql_stmt_attr_set(st, STMT_ATTR_UPDATE_MAX_LENGTH, &on);
	}
	if (mysql_stmt_execute(st)) {
		bl__stmt_fail(st, sql);
		goto fail;
	}
	return st;
fail:
	mysql_stmt_close(st);
	return NULL;
}

int bl__db_exec(MYSQL *db, const char *sql, const bl__param *ps, unsigned n, uint64_t *affected,
		uint64_t *insert_id)
{
	MYSQL_STMT *st = prepare_exec(db, sql, ps, n, false);
	if (!st)
		return bl_error_last_code();
	if (affected)
		*affected = mysql_stmt_affected_rows(st);
	if (insert_id)
		*insert_id = mysql_stmt_insert_id(st);
	mysql_stmt_close(st);
	return BL_OK;
}

int bl__db_rows(MYSQL *db, const char *sql, const bl__param *ps, unsigned n, bl__row_cb cb,
		void *payload)
{
	MYSQL_STMT *st = prepare_exec(db, sql, ps, n, true);
	if (!st)
		return bl_error_last_code();
	int rc = BL_OK;
	MYSQL_RES *meta = mysql_stmt_result_metadata(st);
	unsigned nc = meta ? mysql_num_fields(meta) : 0;
	MYSQL_BIND *b = NULL;
	char **vals = NULL;
	unsigned long *lens = NULL;
	my_bool *nulls = NULL;
	if (!meta) {
		rc = bl__fail(BL_EINVAL, "internal: statement returns no rows [SQL: %.160s]", sql);
		goto out;
	}
	if (mysql_stmt_store_result(st)) {
		rc = bl__stmt_fail(st, sql);
		goto out;
	}
	b = calloc(nc, sizeof *b);
	vals = calloc(nc, sizeof *vals);
	lens = calloc(nc, sizeof *lens);
	nulls = calloc(nc, sizeof *nulls);
	if (!b || !vals || !lens || !nulls) {
		rc = bl__fail(BL_ENOMEM, "out of memory");
		goto out;
	}
	MYSQL_FIELD *f = mysql_fetch_fields(meta);
	for (unsigned i = 0; i < nc; i++) {
		unsigned long cap = f[i].max_length + 1;
		vals[i] = malloc(cap);
		if (!vals[i]) {
			rc = bl__fail(BL_ENOMEM, "out of memory");
			goto out;
		}
		b[i].buffer_type = MYSQL_TYPE_STRING;
		b[i].buffer = vals[i];
		b[i].buffer_length = cap;
		b[i].length = &lens[i];
		b[i].is_null = &nulls[i];
	}
	if (mysql_stmt_bind_result(st, b)) {
		rc = bl__stmt_fail(st, sql);
		goto out;
	}
	char **row = calloc(nc ? nc : 1, sizeof *row);
	if (!row) {
		rc = bl__fail(BL_ENOMEM, "out of memory");
		goto out;
	}
	for (;;) {
		int fr = mysql_stmt_fetch(st);
		if (fr == MYSQL_NO_DATA)
			break;
		if (fr == 1) {
			rc = bl__stmt_fail(st, sql);
			break;
		}
		for (unsigned i = 0; i < nc; i++) {
			if (nulls[i]) {
				row[i] = NULL;
			} else {
				vals[i][lens[i] < f[i].max_length + 1 ? lens[i] : f[i].max_length] = '\0';
				row[i] = vals[i];
			}
		}
		rc = cb(payload, row, lens, nc);
		if (rc)
			break;
	}
	free(row);
out:
	if (vals)
		for (unsigned i = 0; i < nc; i++)
			free(vals[i]);
	free(vals);
	free(lens);
	free(nulls);
	free(b);
	if (meta)
		mysql_free_result(meta);
	mysql_stmt_close(st);
	return rc;
}

struct i64_state {
	int64_t *out;
	bool *found;
	const char *sql;
};

static int i64_cb(void *p, char **vals, unsigned long *lens, unsigned nc)
{
	(void)lens;
	struct i64_state *s = p;
	if (*s->found)
		return BL_OK;
	*s->found = true;
	if (nc < 1 || !vals[0]) {
		*s->out = 0;
		return BL_OK;
	}
	if (bl__parse_i64(vals[0], INT64_MIN, INT64_MAX, s->out))
		return bl__fail(BL_EDB, "internal: '%s' is not an integer [SQL: %.160s]", vals[0], s->sql);
	return BL_OK;
}

int bl__db_i64(MYSQL *db, const char *sql, const bl__param *ps, unsigned n, int64_t *out, bool *found)
{
	bool f = false;
	struct i64_state s = { out, &f, sql };
	int rc = bl__db_rows(db, sql, ps, n, i64_cb, &s);
	if (found)
		*found = f;
	else if (rc == BL_OK && !f)
		*out = 0;
	return rc;
}

struct json_state {
	json_t *arr;
	MYSQL_FIELD *fields;
};

static bool is_int_type(enum enum_field_types t)
{
	return t == MYSQL_TYPE_TINY || t == MYSQL_TYPE_SHORT || t == MYSQL_TYPE_LONG ||
	       t == MYSQL_TYPE_INT24 || t == MYSQL_TYPE_LONGLONG || t == MYSQL_TYPE_YEAR;
}

static int json_cb(void *p, char **vals, unsigned long *lens, unsigned nc)
{
	struct json_state *s = p;
	json_t *o = json_object();
	if (!o)
		return bl__fail(BL_ENOMEM, "out of memory");
	for (unsigned i = 0; i < nc; i++) {
		json_t *v;
		int64_t n;
		if (!vals[i])
			v = json_null();
		else if (is_int_type(s->fields[i].type) &&
			 bl__parse_i64(vals[i], INT64_MIN, INT64_MAX, &n) == BL_OK)
			v = json_integer(n);
		else if (s->fields[i].type == MYSQL_TYPE_NEWDECIMAL &&
			 bl__parse_i64(vals[i], INT64_MIN, INT64_MAX, &n) == BL_OK)
			v = json_integer(n); /* SUM() of integers */
		else
			v = json_stringn_nocheck(vals[i], lens[i]);
		json_object_set_new(o, s->fields[i].name, v);
	}
	json_array_append_new(s->arr, o);
	return BL_OK;
}

int bl__db_json(MYSQL *db, const char *sql, const bl__param *ps, unsigned n, json_t **out)
{
	/* Field metadata is needed in the callback: prepare once to read it. */
	MYSQL_STMT *st = mysql_stmt_init(db);
	if (!st)
		return bl__db_fail(db, sql);
	if (mysql_stmt_prepare(st, sql, strlen(sql))) {
		int rc = bl__stmt_fail(st, sql);
		mysql_stmt_close(st);
		return rc;
	}
	MYSQL_RES *meta = mysql_stmt_result_metadata(st);
	if (!meta) {
		mysql_stmt_close(st);
		return bl__fail(BL_EINVAL, "internal: statement returns no rows [SQL: %.160s]", sql);
	}
	unsigned nc = mysql_num_fields(meta);
	MYSQL_FIELD *f = mysql_fetch_fields(meta);
	MYSQL_FIELD *copy = calloc(nc, sizeof *copy);
	char **names = calloc(nc, sizeof *names);
	int rc = BL_OK;
	if (!copy || !names) {
		rc = bl__fail(BL_ENOMEM, "out of memory");
	} else {
		for (unsigned i = 0; i < nc; i++) {
			copy[i].type = f[i].type;
			names[i] = bl__strdup(f[i].name);
			copy[i].name = names[i];
		}
	}
	mysql_free_result(meta);
	mysql_stmt_close(st);
	json_t *arr = json_array();
	if (rc == BL_OK) {
		struct json_state s = { arr, copy };
		rc = bl__db_rows(db, sql, ps, n, json_cb, &s);
	}
	for (unsigned i = 0; names && i < nc; i++)
		free(names[i]);
	free(names);
	free(copy);
	if (rc) {
		json_decref(arr);
		return rc;
	}
	*out = arr;
	return BL_OK;
}

int bl__json_out(json_t *j, char **out)
{
	if (!j)
		return bl__fail(BL_ENOMEM, "out of memory building JSON");
	char *s = json_dumps(j, JSON_COMPACT);
	if (!s)
		return bl__fail(BL_ENOMEM, "out of memory encoding JSON");
	*out = s;
	return BL_OK;
}

/* ---- bulk insert ---- */

struct bl__bulk {
	MYSQL *db;
	char *head, *tail;
	unsigned ncols, per_stmt;
	MYSQL_STMT *full; /* prepared for per_stmt rows */
	bl__param *rows;  /* per_stmt * ncols */
	unsigned nrows;
	bl_strbuf arena; /* copies of string values */
	uint64_t total;
};

static char *bulk_sql(const bl__bulk *b, unsigned rows)
{
	bl_strbuf sb = { 0 };
	bl__sb_puts(&sb, b->head);
	for (unsigned r = 0; r < rows; r++) {
		bl__sb_puts(&sb, r ? ",(" : " (");
		for (unsigned c = 0; c < b->ncols; c++)
			bl__sb_puts(&sb, c ? ",?" : "?");
		bl__sb_puts(&sb, ")");
	}
	bl__sb_puts(&sb, b->tail);
	return bl__sb_steal(&sb);
}

int bl__bulk_new(bl__bulk **out, MYSQL *db, const char *head, unsigned ncols, unsigned per_stmt,
		 const char *tail)
{
	if (ncols == 0 || per_stmt == 0 || (uint64_t)ncols * per_stmt > 65535)
		return bl__fail(BL_EINVAL, "internal: bulk insert of %u rows x %u columns", per_stmt, ncols);
	bl__bulk *b = calloc(1, sizeof *b);
	if (!b)
		return bl__fail(BL_ENOMEM, "out of memory");
	b->db = db;
	b->ncols = ncols;
	b->per_stmt = per_stmt;
	b->head = bl__strdup(head);
	b->tail = bl__strdup(tail ? tail : "");
	b->rows = calloc((size_t)ncols * per_stmt, sizeof *b->rows);
	if (!b->head || !b->tail || !b->rows) {
		bl__bulk_free(b);
		return bl__fail(BL_ENOMEM, "out of memory");
	}
	*out = b;
	return BL_OK;
}

static int bulk_exec(bl__bulk *b, MYSQL_STMT *st, unsigned rows, const char *sql)
{
	size_t n = (size_t)rows * b->ncols;
	MYSQL_BIND *bind = calloc(n, sizeof *bind);
	if (!bind)
		return bl__fail(BL_ENOMEM, "out of memory");
	/* String params point into the arena, which may have moved: fix up. */
	for (size_t i = 0; i < n; i++)
		if (b->rows[i].t == BP_T_STR || b->rows[i].t == BP_T_BLOB)
			b->rows[i].p = b->arena.s + (uintptr_t)b->rows[i].i;
	bind_params(bind, b->rows, (unsigned)n);
	int rc = BL_OK;
	if (mysql_stmt_bind_param(st, bind) || mysql_stmt_execute(st))
		rc = bl__stmt_fail(st, sql);
	free(bind);
	return rc;
}

int bl__bulk_add(bl__bulk *b, const bl__param *row)
{
	bl__param *dst = b->rows + (size_t)b->nrows * b->ncols;
	for (unsigned c = 0; c < b->ncols; c++) {
		dst[c] = row[c];
		if (row[c].t == BP_T_STR || row[c].t == BP_T_BLOB) {
			/* store the arena offset in .i; resolved at execute time */
			dst[c].i = (int64_t)b->arena.len;
			if (bl__sb_append(&b->arena, row[c].p, row[c].len))
				return BL_ENOMEM;
		}
	}
	if (++b->nrows == b->per_stmt) {
		if (!b->full) {
			_cleanup_free_ char *sql = bulk_sql(b, b->per_stmt);
			if (!sql)
				return bl__fail(BL_ENOMEM, "out of memory");
			b->full = mysql_stmt_init(b->db);
			if (!b->full || mysql_stmt_prepare(b->full, sql, strlen(sql))) {
				int rc = b->full ? bl__stmt_fail(b->full, sql) : bl__db_fail(b->db, sql);
				if (b->full)
					mysql_stmt_close(b->full);
				b->full = NULL;
				return rc;
			}
		}
		int rc = bulk_exec(b, b->full, b->nrows, b->head);
		b->total += b->nrows;
		b->nrows = 0;
		b->arena.len = 0;
		return rc;
	}
	return BL_OK;
}

int bl__bulk_flush(bl__bulk *b)
{
	if (b->nrows == 0)
		return BL_OK;
	_cleanup_free_ char *sql = bulk_sql(b, b->nrows);
	if (!sql)
		return bl__fail(BL_ENOMEM, "out of memory");
	MYSQL_STMT *st = mysql_stmt_init(b->db);
	int rc;
	if (!st)
		return bl__db_fail(b->db, sql);
	if (mysql_stmt_prepare(st, sql, strlen(sql)))
		rc = bl__stmt_fail(st, sql);
	else
		rc = bulk_exec(b, st, b->nrows, b->head);
	mysql_stmt_close(st);
	b->total += b->nrows;
	b->nrows = 0;
	b->arena.len = 0;
	return rc;
}

uint64_t bl__bulk_rows(const bl__bulk *b) { return b->total + b->nrows; }

void bl__bulk_free(bl__bulk *b)
{
	if (!b)
		return;
	if (b->full)
		mysql_stmt_close(b->full);
	free(b->head);
	free(b->tail);
	free(b->rows);
	bl__sb_free(&b->arena);
	free(b);
}
