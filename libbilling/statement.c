/*
 * The statement rules (docs/billing-rules.md), as a pure function, and
 * statement reads.
 */
#include "db.h"

#define ADD(a, b, out) __builtin_add_overflow((a), (b), (out))

const char *bl_charge_problem_name(bl_charge_problem p)
{
	switch (p) {
	case BL_CHARGE_OK: return "OK";
	case BL_CHARGE_INVALID: return "INVALID_CHARGE";
	case BL_CHARGE_UNKNOWN_SERVICE: return "UNKNOWN_SERVICE";
	}
	return "?";
}

int bl_month_parse(const char *month, int *year, int *mon)
{
	if (!month)
		return bl__fail(BL_EINVAL, "month is NULL (expected YYYY-MM)");
	int y = 0, m = 0;
	if (strlen(month) != 7 || month[4] != '-')
		return bl__fail(BL_EINVAL, "month '%.20s': expected YYYY-MM", month);
	for (int i = 0; i < 7; i++)
		if (i != 4 && (month[i] < '0' || month[i] > '9'))
			return bl__fail(BL_EINVAL, "month '%s': expected YYYY-MM", month);
	y = atoi(month);
	m = atoi(month + 5);
	if (m < 1 || m > 12)
		return bl__fail(BL_EINVAL, "month '%s': the month must be 01-12", month);
	if (y < 2000 || y > 2999)
		return bl__fail(BL_EINVAL, "month '%s': the year must be 2000-2999", month);
	if (year)
		*year = y;
	if (mon)
		*mon = m;
	return BL_OK;
}

void bl__month_bounds(const char *month, char from[32], char to[32])
{
	unsigned y = (unsigned)atoi(month) % 10000u, m = (unsigned)atoi(month + 5) % 100u;
	snprintf(from, 32, "%04u-%02u-01 00:00:00", y, m);
	snprintf(to, 32, "%04u-%02u-01 00:00:00", m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1);
}

static bl_won min_won(bl_won a, bl_won b) { return a < b ? a : b; }

int bl_statement_compute(const bl_charge *charges, size_t n, const char *month, int due_day,
			 bl_line *lines, bl_totals *t, bl_charge_problem *problem)
{
	int y, m;
	if (problem)
		*problem = BL_CHARGE_OK;
	if (!t || (n && !charges))
		return bl__fail(BL_EINVAL, "bl_statement_compute: NULL argument");
	int rc = bl_month_parse(month, &y, &m);
	if (rc)
		return rc;
	if (due_day < 1 || due_day > 28)
		return bl__fail(BL_EINVAL, "due day %d: must be 1-28", due_day);
	if (n == 0)
		return bl__fail(BL_EINVAL, "no charges in %s: no statement (rule 9)", month);
	/* Rule 10 first: any bad row makes the whole subscriber ineligible. */
	for (size_t i = 0; i < n; i++) {
		const bl_charge *c = &charges[i];
		if (c->type != BL_SERVICE_PLAN && c->type != BL_SERVICE_VAS && c->type != BL_SERVICE_MCP) {
			if (problem)
				*problem = BL_CHARGE_UNKNOWN_SERVICE;
			return bl__fail(BL_EINVAL, "charge %lld: unknown service %lld", (long long)c->charge_id,
					(long long)c->service_id);
		}
		if (c->price < 0 || c->contract < 0 || c->bundle < 0 || c->premier < 0) {
			if (problem)
				*problem = BL_CHARGE_INVALID;
			return bl__fail(BL_EINVAL, "charge %lld: negative %s", (long long)c->charge_id,
					c->price < 0 ? "price" : "discount");
		}
	}
	memset(t, 0, sizeof *t);
	for (size_t i = 0; i < n; i++) {
		const bl_charge *c = &charges[i];
		bl_line l;
		bl_won left = c->price;
		l.contract = min_won(left, c->contract);
		left -= l.contract;
		l.bundle = min_won(left, c->bundle);
		left -= l.bundle;
		l.premier = min_won(left, c->premier);
		left -= l.premier;
		l.net = left;
		l.discount = c->price - left;
		if (lines)
			lines[i] = l;
		if (ADD(t->usage_amount, c->price, &t->usage_amount) ||
		    ADD(t->discount_amount, l.discount, &t->discount_amount) ||
		    ADD(t->net_amount, l.net, &t->net_amount) ||
		    (c->type != BL_SERVICE_MCP && ADD(t->taxable_amount, l.net, &t->taxable_amount)))
			return bl__fail(BL_EOVERFLOW, "charge %lld: statement sum overflows",
					(long long)c->charge_id);
	}
	t->vat_amount = t->taxable_amount / 10;
	if (ADD(t->net_amount, t->vat_amount, &t->total_amount))
		return bl__fail(BL_EOVERFLOW, "statement total overflows");
	t->truncated_amount = t->total_amount % 10;
	t->billed_amount = t->total_amount - t->truncated_amount;
	t->due_year = m == 12 ? y + 1 : y;
	t->due_month = m == 12 ? 1 : m + 1;
	t->due_day = due_day;
	return BL_OK;
}

int bl_statement_get(bl_ctx *ctx, int64_t user_id, const char *month, char **json)
{
	if (!ctx || !json)
		return bl__fail(BL_EINVAL, "bl_statement_get: NULL argument");
	int rc = bl_month_parse(month, NULL, NULL);
	if (rc)
		return rc;
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	json_t *rows = NULL, *lines = NULL;
	bl__param p[] = { BP_I64(user_id), BP_STR(month) };
	rc = bl__db_json(db,
			 "SELECT s.id, s.user_id, u.name AS user_name, s.target_month, s.batch_run_id, "
			 "s.version, s.usage_amount, s.discount_amount, s.net_amount, s.taxable_amount, "
			 "s.vat_amount, s.total_amount, s.billed_amount, s.truncated_amount, "
			 "DATE_FORMAT(s.due_date, '%Y-%m-%d') AS due_date, s.line_count, "
			 "DATE_FORMAT(s.issued_at, '%Y-%m-%d %H:%i:%s') AS issued_at "
			 "FROM statements s LEFT JOIN users u ON u.id = s.user_id "
			 "WHERE s.user_id = ? AND s.target_month = ?",
			 p, 2, &rows);
	if (rc)
		return rc;
	if (json_array_size(rows) == 0) {
		json_decref(rows);
		return bl__fail(BL_ENOTFOUND, "no statement for user %lld in %s", (long long)user_id, month);
	}
	json_t *st = json_incref(json_array_get(rows, 0));
	json_decref(rows);
	bl__param q[] = { BP_I64(json_integer_value(json_object_get(st, "id"))) };
	rc = bl__db_json(db,
			 "SELECT l.line_no, l.charge_id, l.service_id, sv.name AS service_name, "
			 "l.service_type, l.price, l.contract_discount, l.bundle_discount, "
			 "l.premier_discount, l.discount, l.net FROM statement_lines l "
			 "LEFT JOIN services sv ON sv.id = l.service_id "
			 "WHERE l.statement_id = ? ORDER BY l.line_no",
			 q, 1, &lines);
	if (rc) {
		json_decref(st);
		return rc;
	}
	json_object_set_new(st, "lines", lines);
	rc = bl__json_out(st, json);
	json_decref(st);
	return rc;
}

int bl_statement_search(bl_ctx *ctx, const char *month, int64_t user_id, bl_won min_billed,
			bl_won max_billed, int64_t after_id, int limit, char **json)
{
	if (!ctx || !json)
		return bl__fail(BL_EINVAL, "bl_statement_search: NULL argument");
	int rc = month ? bl_month_parse(month, NULL, NULL) : BL_OK;
	if (rc)
		return rc;
	if (limit < 1 || limit > 1000)
		return bl__fail(BL_EINVAL, "limit %d: must be 1-1000", limit);
	if (max_billed >= 0 && min_billed > max_billed)
		return bl__fail(BL_EINVAL, "billed amount range %lld..%lld is empty", (long long)min_billed,
				(long long)max_billed);
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	bl__param p[8];
	unsigned n = 0;
	bl_strbuf sql = { 0 };
	/* only the criteria given, so the optimiser sees plain ranges */
	bl__sb_puts(&sql, "SELECT s.id, s.user_id, u.name AS user_name, s.target_month, s.batch_run_id, "
			  "s.version, s.usage_amount, s.discount_amount, s.vat_amount, s.billed_amount, "
			  "DATE_FORMAT(s.due_date, '%Y-%m-%d') AS due_date, s.line_count, "
			  "DATE_FORMAT(s.issued_at, '%Y-%m-%d %H:%i:%s') AS issued_at "
			  "FROM statements s");
	/* a month's page: (target_month, id) gives it in order after the cursor.
	 * Left alone, MariaDB reads that index by the month only and tests every
	 * entry before the cursor (0.1 s at 1 M), or sorts the month */
	if (month && !user_id)
		bl__sb_puts(&sql, " FORCE INDEX (ix_statements_month)");
	bl__sb_puts(&sql, " LEFT JOIN users u ON u.id = s.user_id WHERE s.id > ?");
	p[n++] = BP_I64(after_id);
	if (month) {
		bl__sb_puts(&sql, " AND s.target_month = ?");
		p[n++] = BP_STR(month);
	}
	if (user_id) {
		bl__sb_puts(&sql, " AND s.user_id = ?");
		p[n++] = BP_I64(user_id);
	}
	if (min_billed > 0) {
		bl__sb_puts(&sql, " AND s.billed_amount >= ?");
		p[n++] = BP_I64(min_billed);
	}
	if (max_billed >= 0) {
		bl__sb_puts(&sql, " AND s.billed_amount <= ?");
		p[n++] = BP_I64(max_billed);
	}
	bl__sb_puts(&sql, " ORDER BY s.id LIMIT ?");
	p[n++] = BP_I64(limit);
	if (sql.oom) {
		bl__sb_free(&sql);
		return bl__fail(BL_ENOMEM, "out of memory");
	}
	json_t *rows = NULL;
	rc = bl__db_json(db, sql.s, p, n, &rows);
	bl__sb_free(&sql);
	if (rc == BL_OK)
		rc = bl__json_out(rows, json);
	json_decref(rows);
	return rc;
}
