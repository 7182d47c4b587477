/* Private MariaDB helpers. */
#include <errno.h>
#include <unistd.h>
#include <mysqld_error.h>
#include <errmsg.h>
#include "db.h"

static _Thread_local unsigned last_errno;

unsigned bl__db_errno(void) { return last_errno; }

int bl__db_fail(MYSQL *db, const char *sql)
{
	unsigned e = last_errno = mysql_errno(db);
	int code = (e == ER_DUP_ENTRY || e == ER_LOCK_DEADLOCK || e == ER_LOCK_WAIT_TIMEOUT)
			   ? BL_ECONFLICT : BL_EDB;
	return bl__fail(code, "MariaDB error %u: %s [SQL: %.160s]", e, mysql_error(db),
			sql ? sql : "");
}

int bl__stmt_fail(MYSQL_STMT *st, const char *sql)
{
	unsigned e = last_errno = mysql_stmt_errno(st);
	int code = (e == ER_DUP_ENTRY || e == ER_LOCK_DEADLOCK || e == ER_LOCK_WAIT_TIMEOUT)
			   ? BL_ECONFLICT : BL_EDB;
	return bl__fail(code, "MariaDB error %u: %s [SQL: %.160s]", e, mysql_stmt_error(st),
			sql ? sql : "");
}

MYSQL *bl__db_connect(const bl_config *cfg, bool with_db)
{
	return bl__db_connect_ex(cfg, with_db, false);
}

/* MYSQL_TLS: 0 plain (default; use a socket or a private network), 1 TLS
 * required, the server's certificate checked against MYSQL_TLS_CA unless
 * MYSQL_TLS_VERIFY=0. */
static int tls_options(MYSQL *db, const bl_config *cfg)
{
	if (!bl__config_int(cfg, "MYSQL_TLS"))
		return BL_OK;
	const char *ca = bl_config_get(cfg, "MYSQL_TLS_CA");
	my_bool on = 1, verify = bl__config_int(cfg, "MYSQL_TLS_VERIFY") != 0;
	if (verify && !*ca)
		return bl__fail(BL_ECONFIG, "MYSQL_TLS=1 checks the server's certificate: set MYSQL_TLS_CA "
					    "to the CA file (or MYSQL_TLS_VERIFY=0, not for production)");
	if (*ca && access(ca, R_OK))
		return bl__fail(BL_ECONFIG, "MYSQL_TLS_CA: cannot read '%s': %s", ca, strerror(errno));
	mysql_options(db, MYSQL_OPT_SSL_ENFORCE, &on);
	if (*ca)
		mysql_options(db, MYSQL_OPT_SSL_CA, ca);
	mysql_options(db, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
	return BL_OK;
}

MYSQL *bl__db_connect_ex(const bl_config *cfg, bool with_db, bool local_infile)
{
	MYSQL *db = mysql_init(NULL);
	if (!db) {
		bl__fail(BL_ENOMEM, "mysql_init failed");
		return NULL;
	}
	unsigned timeout = (unsigned)bl__config_int(cfg, "MYSQL_CONNECT_TIMEOUT");
	unsigned rw_timeout = 600;
	unsigned infile = local_infile; /* Connector/C reads an unsigned int */
	mysql_options(db, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	mysql_options(db, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	mysql_options(db, MYSQL_OPT_READ_TIMEOUT, &rw_timeout);
	mysql_options(db, MYSQL_OPT_WRITE_TIMEOUT, &rw_timeout);
	mysql_options(db, MYSQL_OPT_LOCAL_INFILE, &infile);
	if (tls_options(db, cfg)) {
		mysql_close(db);
		return NULL;
	}
	char lockwait[80];
	snprintf(lockwait, sizeof lockwait, "SET SESSION innodb_lock_wait_timeout = %lld",
		 (long long)bl__config_int(cfg, "MYSQL_LOCK_WAIT_TIMEOUT"));
	/* Connector/C keeps a list: both commands run on every (re)connect. */
	mysql_options(db, MYSQL_INIT_COMMAND, "SET time_zone = '+09:00'");
	mysql_options(db, MYSQL_INIT_COMMAND, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
	mysql_options(db, MYSQL_INIT_COMMAND, lockwait);
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
	/* Connector/C may fall back to plain text when the server offers no
	 * TLS: with MYSQL_TLS=1 such a link is not used */
	if (bl__config_int(cfg, "MYSQL_TLS") && !mysql_get_ssl_cipher(db)) {
		bl__fail(BL_EDB, "MYSQL_TLS=1 but the MariaDB server at %s:%u did not use TLS: refused", host, port);
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

int bl__stmt_cache_exec(bl__stmt_cache *c, MYSQL *db, const char *sql, const bl__param *ps,
			unsigned n, uint64_t *affected)
{
	if (c->st && (c->db != db || c->sql != sql))
		bl__stmt_cache_clear(c);
	if (!c->st) {
		c->st = mysql_stmt_init(db);
		if (!c->st)
			return bl__db_fail(db, sql);
		if (mysql_stmt_prepare(c->st, sql, strlen(sql))) {
			int rc = bl__stmt_fail(c->st, sql);
			bl__stmt_cache_clear(c);
			return rc;
		}
		c->db = db;
		c->sql = sql;
	}
	if (mysql_stmt_param_count(c->st) != n)
		return bl__fail(BL_EINVAL, "internal: %lu placeholders but %u parameters [SQL: %.160s]",
				mysql_stmt_param_count(c->st), n, sql);
	MYSQL_BIND b[32];
	if (n > 32)
		return bl__fail(BL_EINVAL, "internal: %u parameters for a cached statement", n);
	bind_params(b, ps, n);
	if (mysql_stmt_bind_param(c->st, b) || mysql_stmt_execute(c->st)) {
		int rc = bl__stmt_fail(c->st, sql);
		bl__stmt_cache_clear(c); /* prepared again next time (e.g. after a reconnect) */
		return rc;
	}
	if (affected)
		*affected = mysql_stmt_affected_rows(c->st);
	return BL_OK;
}

void bl__stmt_cache_clear(bl__stmt_cache *c)
{
	if (c->st)
		mysql_stmt_close(c->st);
	c->st = NULL;
	c->db = NULL;
	c->sql = NULL;
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

/* ---- bulk insert: Connector/C array binding ---- */

/*
 * One prepared single-row INSERT executed with STMT_ATTR_ARRAY_SIZE rows of
 * column-wise bound values (MariaDB's COM_STMT_BULK_EXECUTE): the statement
 * is parsed once, whatever the number of rows.
 */
typedef struct {
	bl__ptype t;      /* type of the column's first non-NULL value */
	int64_t *ival;
	size_t *soff;     /* offsets into the arena (resolved at flush) */
	const char **sptr;
	unsigned long *len;
	char *ind;
} bulk_col;

struct bl__bulk {
	MYSQL *db;
	char *sql;
	MYSQL_STMT *st;
	unsigned ncols, per_stmt, nrows;
	bulk_col *cols;
	bl_strbuf arena; /* copies of string values */
	uint64_t affected; /* sum of affected rows of the executions */
};

int bl__bulk_new(bl__bulk **out, MYSQL *db, const char *head, unsigned ncols, unsigned per_stmt,
		 const char *tail)
{
	if (ncols == 0 || per_stmt == 0)
		return bl__fail(BL_EINVAL, "internal: bulk insert of %u rows x %u columns", per_stmt, ncols);
	bl__bulk *b = calloc(1, sizeof *b);
	if (!b)
		return bl__fail(BL_ENOMEM, "out of memory");
	b->db = db;
	b->ncols = ncols;
	b->per_stmt = per_stmt;
	b->cols = calloc(ncols, sizeof *b->cols);
	bl_strbuf sb = { 0 };
	bl__sb_puts(&sb, head);
	bl__sb_puts(&sb, " (");
	bl__sb_placeholders(&sb, ncols);
	bl__sb_puts(&sb, ")");
	bl__sb_puts(&sb, tail ? tail : "");
	b->sql = bl__sb_steal(&sb);
	bool ok = b->cols && b->sql;
	for (unsigned c = 0; ok && c < ncols; c++) {
		bulk_col *k = &b->cols[c];
		k->t = BP_T_NULL;
		k->ival = calloc(per_stmt, sizeof *k->ival);
		k->soff = calloc(per_stmt, sizeof *k->soff);
		k->sptr = calloc(per_stmt, sizeof *k->sptr);
		k->len = calloc(per_stmt, sizeof *k->len);
		k->ind = calloc(per_stmt, 1);
		ok = k->ival && k->soff && k->sptr && k->len && k->ind;
	}
	if (!ok) {
		bl__bulk_free(b);
		return bl__fail(BL_ENOMEM, "out of memory");
	}
	*out = b;
	return BL_OK;
}

static int bulk_exec(bl__bulk *b)
{
	if (!b->st) {
		b->st = mysql_stmt_init(b->db);
		if (!b->st)
			return bl__db_fail(b->db, b->sql);
		if (mysql_stmt_prepare(b->st, b->sql, strlen(b->sql))) {
			int rc = bl__stmt_fail(b->st, b->sql);
			mysql_stmt_close(b->st);
			b->st = NULL;
			return rc;
		}
	}
	MYSQL_BIND *bind = calloc(b->ncols, sizeof *bind);
	if (!bind)
		return bl__fail(BL_ENOMEM, "out of memory");
	for (unsigned c = 0; c < b->ncols; c++) {
		bulk_col *k = &b->cols[c];
		bind[c].u.indicator = k->ind;
		if (k->t == BP_T_I64) {
			bind[c].buffer_type = MYSQL_TYPE_LONGLONG;
			bind[c].buffer = k->ival;
		} else {
			/* strings: an array of pointers, resolved now the arena is final */
			for (unsigned r = 0; r < b->nrows; r++)
				k->sptr[r] = k->ind[r] == STMT_INDICATOR_NULL ? NULL : b->arena.s + k->soff[r];
			bind[c].buffer_type = k->t == BP_T_BLOB ? MYSQL_TYPE_BLOB : MYSQL_TYPE_STRING;
			bind[c].buffer = k->sptr;
			bind[c].length = k->len;
		}
	}
	unsigned n = b->nrows;
	int rc = BL_OK;
	if (mysql_stmt_attr_set(b->st, STMT_ATTR_ARRAY_SIZE, &n) || mysql_stmt_bind_param(b->st, bind) ||
	    mysql_stmt_execute(b->st))
		rc = bl__stmt_fail(b->st, b->sql);
	else
		b->affected += mysql_stmt_affected_rows(b->st);
	free(bind);
	return rc;
}

int bl__bulk_add(bl__bulk *b, const bl__param *row)
{
	unsigned r = b->nrows;
	for (unsigned c = 0; c < b->ncols; c++) {
		bulk_col *k = &b->cols[c];
		const bl__param *v = &row[c];
		if (v->t == BP_T_NULL) {
			k->ind[r] = STMT_INDICATOR_NULL;
			k->ival[r] = 0;
			k->len[r] = 0;
			continue;
		}
		if (k->t == BP_T_NULL)
			k->t = v->t;
		else if ((k->t == BP_T_I64) != (v->t == BP_T_I64))
			return bl__fail(BL_EINVAL, "internal: column %u mixes numbers and strings [SQL: %.120s]",
					c + 1, b->sql);
		k->ind[r] = STMT_INDICATOR_NONE;
		if (v->t == BP_T_I64) {
			k->ival[r] = v->i;
		} else {
			k->soff[r] = b->arena.len;
			k->len[r] = v->len;
			if (bl__sb_append(&b->arena, v->p, v->len))
				return BL_ENOMEM;
		}
	}
	if (++b->nrows == b->per_stmt)
		return bl__bulk_flush(b);
	return BL_OK;
}

int bl__bulk_flush(bl__bulk *b)
{
	if (b->nrows == 0)
		return BL_OK;
	int rc = bulk_exec(b);
	b->nrows = 0;
	b->arena.len = 0;
	for (unsigned c = 0; c < b->ncols; c++)
		if (b->cols[c].t != BP_T_I64)
			b->cols[c].t = BP_T_NULL; /* next batch decides again */
	return rc;
}

uint64_t bl__bulk_affected(const bl__bulk *b) { return b->affected; }

void bl__bulk_free(bl__bulk *b)
{
	if (!b)
		return;
	if (b->st)
		mysql_stmt_close(b->st);
	for (unsigned c = 0; b->cols && c < b->ncols; c++) {
		free(b->cols[c].ival);
		free(b->cols[c].soff);
		free(b->cols[c].sptr);
		free(b->cols[c].len);
		free(b->cols[c].ind);
	}
	free(b->cols);
	free(b->sql);
	bl__sb_free(&b->arena);
	free(b);
}
