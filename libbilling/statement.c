/*
 * The statement rules (docs/billing-rules.md), as a pure function.
 * Statement reads are statement_read.c.
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

static bl_won min_won(bl_won a, bl_won b) { return a < b ? a : b; }

int bl_statement_compute(const bl_charge *charges, size_t n, const char *month, int due_day,
			 bl_line *lines, bl_totals *t, bl_charge_problem *problem)
{
	bl__month m;
	if (problem)
		*problem = BL_CHARGE_OK;
	if (!t || (n && !charges))
		return bl__fail(BL_EINVAL, "bl_statement_compute: NULL argument");
	int rc = bl__month_read(month, &m);
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
	bl__date due = bl__month_due(m, due_day);
	t->due_year = due.year;
	t->due_month = due.mon;
	t->due_day = due.day;
	return BL_OK;
}
