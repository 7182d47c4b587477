/*
 * Statement reads: bl_statement objects filled from the statements and
 * statement_lines rows, and the JSON of bl_statement_get / _search made
 * from them.
 */
#include "record_private.h"

struct bl_statement_line {
	bl__rec rec;
	int line_no;
	int64_t charge_id, service_id;
	char *service_name, *service_type;
	bl_won price, contract_discount, bundle_discount, premier_discount, discount, net;
};

struct bl_statement {
	bl__rec rec;
	int64_t id, user_id;
	char *user_name, *target_month;
	int64_t batch_run_id;
	int version;
	bl_won usage_amount, discount_amount, net_amount, taxable_amount, vat_amount, total_amount,
		billed_amount, truncated_amount;
	char *due_date;
	int line_count;
	char *issued_at;
	/* not columns */
	bool summary; /* an item of a search: serialized without lines, summary amounts */
	struct bl_statement_line *lines;
	size_t nlines;
};

struct bl_statement_array {
	struct bl_statement *v;
	size_t n;
};

#define SF(m, k) BL__FIELD(struct bl_statement, m, k)
static const bl__field ST_FIELDS[] = {
	SF(id, BL__F_I64), SF(user_id, BL__F_I64), SF(user_name, BL__F_STR),
	SF(target_month, BL__F_STR), SF(batch_run_id, BL__F_I64), SF(version, BL__F_INT),
	SF(usage_amount, BL__F_I64), SF(discount_amount, BL__F_I64), SF(net_amount, BL__F_I64),
	SF(taxable_amount, BL__F_I64), SF(vat_amount, BL__F_I64), SF(total_amount, BL__F_I64),
	SF(billed_amount, BL__F_I64), SF(truncated_amount, BL__F_I64), SF(due_date, BL__F_STR),
	SF(line_count, BL__F_INT), SF(issued_at, BL__F_STR),
};
static const bl__shape ST_SHAPE = BL__SHAPE(ST_FIELDS);
/* the columns of a search result (bl_statement_search's JSON) */
static const unsigned char ST_SUMMARY[] = { 0, 1, 2, 3, 4, 5, 6, 7, 10, 12, 14, 15, 16 };

#define ST_COLUMNS                                                                       \
	"s.id, s.user_id, u.name AS user_name, s.target_month, s.batch_run_id, "         \
	"s.version, s.usage_amount, s.discount_amount, s.net_amount, s.taxable_amount, " \
	"s.vat_amount, s.total_amount, s.billed_amount, s.truncated_amount, "            \
	"DATE_FORMAT(s.due_date, '%Y-%m-%d') AS due_date, s.line_count, "                \
	"DATE_FORMAT(s.issued_at, '%Y-%m-%d %H:%i:%s') AS issued_at "

#define LF(m, k) BL__FIELD(struct bl_statement_line, m, k)
static const bl__field LINE_FIELDS[] = {
	LF(line_no, BL__F_INT), LF(charge_id, BL__F_I64), LF(service_id, BL__F_I64),
	LF(service_name, BL__F_STR), LF(service_type, BL__F_STR), LF(price, BL__F_I64),
	LF(contract_discount, BL__F_I64), LF(bundle_discount, BL__F_I64),
	LF(premier_discount, BL__F_I64), LF(discount, BL__F_I64), LF(net, BL__F_I64),
};
static const bl__shape LINE_SHAPE = BL__SHAPE(LINE_FIELDS);

static void statement_clear(struct bl_statement *st)
{
	bl__recs_free(st->lines, st->nlines, &LINE_SHAPE, sizeof *st->lines);
	bl__rec_clear(st, &ST_SHAPE);
}

void bl_statement_free(bl_statement *st)
{
	if (!st)
		return;
	statement_clear(st);
	free(st);
}

int bl_statement_lookup(bl_ctx *ctx, int64_t user_id, const char *month, bl_statement **out)
{
	if (out)
		*out = NULL;
	if (!ctx || !out)
		return bl__fail(BL_EINVAL, "bl_statement_lookup: NULL argument");
	int rc = bl_month_parse(month, NULL, NULL);
	if (rc)
		return rc;
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	struct bl_statement *rows = NULL;
	size_t n = 0;
	bl__param p[] = { BP_I64(user_id), BP_STR(month) };
	rc = bl__db_recs(db,
			 "SELECT " ST_COLUMNS "FROM statements s LEFT JOIN users u ON u.id = s.user_id "
			 "WHERE s.user_id = ? AND s.target_month = ?",
			 p, 2, &ST_SHAPE, sizeof *rows, (void **)&rows, &n);
	if (rc)
		return rc;
	if (n == 0) {
		free(rows);
		return bl__fail(BL_ENOTFOUND, "no statement for user %lld in %s", (long long)user_id, month);
	}
	for (size_t i = 1; i < n; i++) /* (target_month, user_id) is unique */
		statement_clear(&rows[i]);
	bl__param q[] = { BP_I64(rows[0].id) };
	rc = bl__db_recs(db,
			 "SELECT l.line_no, l.charge_id, l.service_id, sv.name AS service_name, "
			 "l.service_type, l.price, l.contract_discount, l.bundle_discount, "
			 "l.premier_discount, l.discount, l.net FROM statement_lines l "
			 "LEFT JOIN services sv ON sv.id = l.service_id "
			 "WHERE l.statement_id = ? ORDER BY l.line_no",
			 q, 1, &LINE_SHAPE, sizeof *rows[0].lines, (void **)&rows[0].lines, &rows[0].nlines);
	if (rc) {
		bl_statement_free(rows);
		return rc;
	}
	*out = rows; /* the first element: freeing it frees the array */
	return BL_OK;
}

static json_t *statement_json(const struct bl_statement *st)
{
	if (st->summary)
		return bl__rec_json(st, &ST_SHAPE, ST_SUMMARY, sizeof ST_SUMMARY);
	json_t *o = bl__rec_json(st, &ST_SHAPE, NULL, 0), *lines = json_array();
	for (size_t i = 0; o && lines && i < st->nlines; i++)
		if (json_array_append_new(lines, bl__rec_json(&st->lines[i], &LINE_SHAPE, NULL, 0))) {
			json_decref(lines);
			lines = NULL;
		}
	if (!o || !lines || json_object_set_new(o, "lines", lines)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *statement_json_any(const void *rec) { return statement_json(rec); }

int bl_statement_to_json(const bl_statement *st, char **json)
{
	if (!st || !json)
		return bl__fail(BL_EINVAL, "bl_statement_to_json: NULL argument");
	json_t *o = statement_json(st);
	int rc = bl__json_out(o, json);
	json_decref(o);
	return rc;
}

int bl_statement_get(bl_ctx *ctx, int64_t user_id, const char *month, char **json)
{
	if (!ctx || !json)
		return bl__fail(BL_EINVAL, "bl_statement_get: NULL argument");
	bl_statement *st = NULL;
	int rc = bl_statement_lookup(ctx, user_id, month, &st);
	if (rc == BL_OK)
		rc = bl_statement_to_json(st, json);
	bl_statement_free(st);
	return rc;
}

/* ---- search ---- */

int bl_statement_filter_init(bl_statement_filter *f, unsigned version)
{
	if (!f || version < 1 || version > BL_STATEMENT_FILTER_VERSION)
		return bl__fail(BL_EINVAL, "bl_statement_filter_init: unsupported version %u", version);
	bl_statement_filter d = BL_STATEMENT_FILTER_INIT;
	d.version = version;
	*f = d;
	return BL_OK;
}

int bl_statement_find(bl_ctx *ctx, const bl_statement_filter *f, bl_statement_array **out)
{
	if (out)
		*out = NULL;
	if (!ctx || !out)
		return bl__fail(BL_EINVAL, "bl_statement_find: NULL argument");
	if (!f || f->version < 1 || f->version > BL_STATEMENT_FILTER_VERSION)
		return bl__fail(BL_EINVAL, "statement filter: missing or wrong version (use bl_statement_filter_init)");
	int rc = f->month ? bl_month_parse(f->month, NULL, NULL) : BL_OK;
	if (rc)
		return rc;
	if (f->limit < 1 || f->limit > 1000)
		return bl__fail(BL_EINVAL, "limit %d: must be 1-1000", f->limit);
	if (f->max_billed >= 0 && f->min_billed > f->max_billed)
		return bl__fail(BL_EINVAL, "billed amount range %lld..%lld is empty", (long long)f->min_billed,
				(long long)f->max_billed);
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	bl__param p[8];
	unsigned n = 0;
	bl_strbuf sql = { 0 };
	/* only the criteria given, so the optimiser sees plain ranges */
	bl__sb_puts(&sql, "SELECT " ST_COLUMNS "FROM statements s");
	/* a month's page: (target_month, id) gives it in order after the cursor.
	 * Left alone, MariaDB reads that index by the month only and tests every
	 * entry before the cursor (0.1 s at 1 M), or sorts the month */
	if (f->month && !f->user_id)
		bl__sb_puts(&sql, " FORCE INDEX (ix_statements_month)");
	bl__sb_puts(&sql, " LEFT JOIN users u ON u.id = s.user_id WHERE s.id > ?");
	p[n++] = BP_I64(f->after_id);
	if (f->month) {
		bl__sb_puts(&sql, " AND s.target_month = ?");
		p[n++] = BP_STR(f->month);
	}
	if (f->user_id) {
		bl__sb_puts(&sql, " AND s.user_id = ?");
		p[n++] = BP_I64(f->user_id);
	}
	if (f->min_billed > 0) {
		bl__sb_puts(&sql, " AND s.billed_amount >= ?");
		p[n++] = BP_I64(f->min_billed);
	}
	if (f->max_billed >= 0) {
		bl__sb_puts(&sql, " AND s.billed_amount <= ?");
		p[n++] = BP_I64(f->max_billed);
	}
	bl__sb_puts(&sql, " ORDER BY s.id LIMIT ?");
	p[n++] = BP_I64(f->limit);
	if (sql.oom) {
		bl__sb_free(&sql);
		return bl__fail(BL_ENOMEM, "out of memory");
	}
	struct bl_statement_array *a = calloc(1, sizeof *a);
	rc = a ? bl__db_recs(db, sql.s, p, n, &ST_SHAPE, sizeof *a->v, (void **)&a->v, &a->n)
	       : bl__fail(BL_ENOMEM, "out of memory");
	bl__sb_free(&sql);
	if (rc) {
		free(a);
		return rc;
	}
	for (size_t i = 0; i < a->n; i++)
		a->v[i].summary = true;
	*out = a;
	return BL_OK;
}

size_t bl_statement_array_count(const bl_statement_array *a) { return a ? a->n : 0; }

const bl_statement *bl_statement_array_at(const bl_statement_array *a, size_t i)
{
	return a && i < a->n ? &a->v[i] : NULL;
}

int bl_statement_array_to_json(const bl_statement_array *a, char **json)
{
	if (!a || !json)
		return bl__fail(BL_EINVAL, "bl_statement_array_to_json: NULL argument");
	return bl__recs_json_out(a->v, a->n, sizeof *a->v, statement_json_any, json);
}

void bl_statement_array_free(bl_statement_array *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n; i++)
		statement_clear(&a->v[i]);
	free(a->v);
	free(a);
}

int bl_statement_search_by(bl_ctx *ctx, const bl_statement_filter *f, char **json)
{
	if (!ctx || !json)
		return bl__fail(BL_EINVAL, "bl_statement_search_by: NULL argument");
	bl_statement_array *a = NULL;
	int rc = bl_statement_find(ctx, f, &a);
	if (rc == BL_OK)
		rc = bl_statement_array_to_json(a, json);
	bl_statement_array_free(a);
	return rc;
}

int bl_statement_search(bl_ctx *ctx, const char *month, int64_t user_id, bl_won min_billed,
			bl_won max_billed, int64_t after_id, int limit, char **json)
{
	if (!ctx || !json)
		return bl__fail(BL_EINVAL, "bl_statement_search: NULL argument");
	bl_statement_filter f = BL_STATEMENT_FILTER_INIT;
	f.month = month;
	f.user_id = user_id;
	f.min_billed = min_billed;
	f.max_billed = max_billed;
	f.after_id = after_id;
	f.limit = limit;
	return bl_statement_search_by(ctx, &f, json);
}

/* ---- accessors: NULL-safe, 0 / NULL for a NULL object or an absent value ---- */

#define GET(obj, type, name, member, zero) \
	type bl_##obj##_##name(const bl_##obj *o) { return o ? o->member : zero; }

GET(statement, int64_t, id, id, 0)
GET(statement, int64_t, user_id, user_id, 0)
GET(statement, const char *, user_name, user_name, NULL)
GET(statement, const char *, target_month, target_month, NULL)
GET(statement, int64_t, batch_run_id, batch_run_id, 0)
GET(statement, int, version, version, 0)
GET(statement, bl_won, usage_amount, usage_amount, 0)
GET(statement, bl_won, discount_amount, discount_amount, 0)
GET(statement, bl_won, net_amount, net_amount, 0)
GET(statement, bl_won, taxable_amount, taxable_amount, 0)
GET(statement, bl_won, vat_amount, vat_amount, 0)
GET(statement, bl_won, total_amount, total_amount, 0)
GET(statement, bl_won, billed_amount, billed_amount, 0)
GET(statement, bl_won, truncated_amount, truncated_amount, 0)
GET(statement, const char *, due_date, due_date, NULL)
GET(statement, int, line_count, line_count, 0)
GET(statement, const char *, issued_at, issued_at, NULL)
GET(statement, size_t, lines_count, nlines, 0)

const bl_statement_line *bl_statement_lines_at(const bl_statement *st, size_t i)
{
	return st && i < st->nlines ? &st->lines[i] : NULL;
}

GET(statement_line, int, line_no, line_no, 0)
GET(statement_line, int64_t, charge_id, charge_id, 0)
GET(statement_line, int64_t, service_id, service_id, 0)
GET(statement_line, const char *, service_name, service_name, NULL)
GET(statement_line, const char *, service_type, service_type, NULL)
GET(statement_line, bl_won, price, price, 0)
GET(statement_line, bl_won, contract_discount, contract_discount, 0)
GET(statement_line, bl_won, bundle_discount, bundle_discount, 0)
GET(statement_line, bl_won, premier_discount, premier_discount, 0)
GET(statement_line, bl_won, discount, discount, 0)
GET(statement_line, bl_won, net, net, 0)
