/*
 * Unit tests of the statement rules (docs/billing-rules.md): the pure
 * calculation bl_statement_compute() and the months of month.c
 * (bl_month_parse, bl_month_add, the month bounds, the due-date rule, the
 * Asia/Seoul offset).  No server needed.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>
#include <billing/billing.h>
#include "internal.h" /* month_private.h */

#define CHARGE(id, type, price, c, b, p) \
	((bl_charge){ (id), (id) * 10, (type), (price), (c), (b), (p) })

/* Compute and assert success; returns the totals. */
static bl_totals compute_ok(const bl_charge *ch, size_t n, const char *month, int due_day,
			    bl_line *lines)
{
	bl_totals t;
	bl_charge_problem prob = (bl_charge_problem)99;
	int rc = bl_statement_compute(ch, n, month, due_day, lines, &t, &prob);
	cr_assert_eq(rc, BL_OK, "compute: rc %d: %s", rc, bl_error_last());
	cr_assert_eq(prob, BL_CHARGE_OK);
	return t;
}

static void assert_line(const bl_line *l, bl_won contract, bl_won bundle, bl_won premier,
			bl_won discount, bl_won net)
{
	cr_expect_eq(l->contract, contract, "contract %lld != %lld", (long long)l->contract,
		     (long long)contract);
	cr_expect_eq(l->bundle, bundle, "bundle %lld != %lld", (long long)l->bundle, (long long)bundle);
	cr_expect_eq(l->premier, premier, "premier %lld != %lld", (long long)l->premier,
		     (long long)premier);
	cr_expect_eq(l->discount, discount, "discount %lld != %lld", (long long)l->discount,
		     (long long)discount);
	cr_expect_eq(l->net, net, "net %lld != %lld", (long long)l->net, (long long)net);
}

/* ---- the worked example of BILLING_RULES.md ---- */

Test(statement, worked_example)
{
	const bl_charge ch[] = {
		CHARGE(1, BL_SERVICE_PLAN, 85000, 21250, 5500, 0), /* 5G 프리미어 */
		CHARGE(2, BL_SERVICE_VAS, 3300, 0, 0, 0),          /* V컬러링 */
		CHARGE(3, BL_SERVICE_MCP, 12000, 0, 0, 0),         /* 앱스토어 결제 */
	};
	bl_line l[3];
	memset(l, 0x55, sizeof l);
	bl_totals t = compute_ok(ch, 3, "2026-10", 25, l);

	assert_line(&l[0], 21250, 5500, 0, 26750, 58250);
	assert_line(&l[1], 0, 0, 0, 0, 3300);
	assert_line(&l[2], 0, 0, 0, 0, 12000);

	cr_expect_eq(t.usage_amount, 100300);
	cr_expect_eq(t.discount_amount, 26750);
	cr_expect_eq(t.net_amount, 73550);
	cr_expect_eq(t.taxable_amount, 61550);
	cr_expect_eq(t.vat_amount, 6155);
	cr_expect_eq(t.total_amount, 79705);
	cr_expect_eq(t.billed_amount, 79700);
	cr_expect_eq(t.truncated_amount, 5);
	cr_expect_eq(t.due_year, 2026);
	cr_expect_eq(t.due_month, 11);
	cr_expect_eq(t.due_day, 25);
}

Test(statement, lines_may_be_null)
{
	const bl_charge ch[] = { CHARGE(1, BL_SERVICE_PLAN, 85000, 21250, 5500, 0) };
	bl_totals t = compute_ok(ch, 1, "2026-10", 25, NULL);
	cr_expect_eq(t.net_amount, 58250);
}

/* ---- rule 1: discount cap, in the order contract, bundle, premier ---- */

Test(statement, discount_cap_order_contract_bundle_premier)
{
	const bl_charge ch[] = {
		/* contract alone exceeds the price: bundle and premier get nothing */
		CHARGE(1, BL_SERVICE_PLAN, 10000, 12000, 3000, 2000),
		/* contract fits, bundle is cut, premier gets nothing */
		CHARGE(2, BL_SERVICE_PLAN, 10000, 6000, 5000, 2000),
		/* contract and bundle fit, premier is cut */
		CHARGE(3, BL_SERVICE_VAS, 10000, 4000, 4000, 5000),
		/* everything fits exactly */
		CHARGE(4, BL_SERVICE_VAS, 10000, 5000, 3000, 2000),
		/* below the price: untouched */
		CHARGE(5, BL_SERVICE_PLAN, 10000, 1000, 2000, 3000),
		/* zero price: nothing applies */
		CHARGE(6, BL_SERVICE_PLAN, 0, 1000, 2000, 3000),
	};
	bl_line l[6];
	bl_totals t = compute_ok(ch, 6, "2026-10", 25, l);
	assert_line(&l[0], 10000, 0, 0, 10000, 0);
	assert_line(&l[1], 6000, 4000, 0, 10000, 0);
	assert_line(&l[2], 4000, 4000, 2000, 10000, 0);
	assert_line(&l[3], 5000, 3000, 2000, 10000, 0);
	assert_line(&l[4], 1000, 2000, 3000, 6000, 4000);
	assert_line(&l[5], 0, 0, 0, 0, 0);
	cr_expect_eq(t.usage_amount, 50000);
	cr_expect_eq(t.discount_amount, 46000);
	cr_expect_eq(t.net_amount, 4000);
	for (int i = 0; i < 6; i++) {
		cr_expect_eq(l[i].discount, l[i].contract + l[i].bundle + l[i].premier, "line %d", i);
		cr_expect_eq(l[i].net, ch[i].price - l[i].discount, "line %d", i);
		cr_expect_geq(l[i].net, 0, "line %d", i);
	}
}

/* ---- rule 4: MCP lines carry no VAT ---- */

Test(statement, mcp_is_untaxed)
{
	const bl_charge only_mcp[] = { CHARGE(1, BL_SERVICE_MCP, 55555, 0, 0, 0) };
	bl_totals t = compute_ok(only_mcp, 1, "2026-10", 25, NULL);
	cr_expect_eq(t.taxable_amount, 0);
	cr_expect_eq(t.vat_amount, 0);
	cr_expect_eq(t.total_amount, 55555);
	cr_expect_eq(t.billed_amount, 55550);
	cr_expect_eq(t.truncated_amount, 5);

	const bl_charge mixed[] = {
		CHARGE(1, BL_SERVICE_PLAN, 10000, 0, 0, 0),
		CHARGE(2, BL_SERVICE_VAS, 2000, 500, 0, 0),
		CHARGE(3, BL_SERVICE_MCP, 30000, 1000, 0, 0), /* discounted MCP: still untaxed */
	};
	t = compute_ok(mixed, 3, "2026-10", 25, NULL);
	cr_expect_eq(t.net_amount, 10000 + 1500 + 29000);
	cr_expect_eq(t.taxable_amount, 11500);
	cr_expect_eq(t.vat_amount, 1150);
	cr_expect_eq(t.total_amount, 41650);
}

/* ---- rule 5: VAT = taxable / 10, truncated ---- */

Test(statement, vat_truncates)
{
	static const struct { bl_won price, vat; } cases[] = {
		{ 0, 0 }, { 9, 0 }, { 10, 1 }, { 19, 1 }, { 99, 9 }, { 12345, 1234 }, { 61559, 6155 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const bl_charge ch[] = { CHARGE(1, BL_SERVICE_PLAN, cases[i].price, 0, 0, 0) };
		bl_totals t = compute_ok(ch, 1, "2026-10", 25, NULL);
		cr_expect_eq(t.taxable_amount, cases[i].price);
		cr_expect_eq(t.vat_amount, cases[i].vat, "price %lld: vat %lld, want %lld",
			     (long long)cases[i].price, (long long)t.vat_amount, (long long)cases[i].vat);
		cr_expect_eq(t.total_amount, cases[i].price + cases[i].vat);
	}
}

/* ---- rule 7: 10-won truncation ---- */

Test(statement, ten_won_truncation)
{
	for (bl_won total = 0; total < 40; total++) {
		/* MCP: no VAT, so total == price */
		const bl_charge ch[] = { CHARGE(1, BL_SERVICE_MCP, 1000 + total, 0, 0, 0) };
		bl_totals t = compute_ok(ch, 1, "2026-10", 25, NULL);
		cr_expect_eq(t.total_amount, 1000 + total);
		cr_expect_eq(t.truncated_amount, total % 10);
		cr_expect_eq(t.billed_amount, 1000 + total - total % 10);
		cr_expect_eq(t.billed_amount % 10, 0);
		cr_expect_eq(t.billed_amount + t.truncated_amount, t.total_amount);
	}
}

/* ---- rule 10: ineligible rows ---- */

static void expect_problem(const bl_charge *ch, size_t n, bl_charge_problem want, const char *needle)
{
	bl_totals t;
	bl_charge_problem prob = BL_CHARGE_OK;
	bl_error_clear();
	int rc = bl_statement_compute(ch, n, "2026-10", 25, NULL, &t, &prob);
	cr_expect_eq(rc, BL_EINVAL, "rc %d", rc);
	cr_expect_eq(prob, want, "problem %d, want %d", prob, want);
	cr_expect_eq(bl_error_last_code(), BL_EINVAL);
	cr_expect(strstr(bl_error_last(), needle), "message '%s' lacks '%s'", bl_error_last(), needle);
}

Test(statement, negative_price_is_invalid)
{
	const bl_charge ch[] = {
		CHARGE(1, BL_SERVICE_PLAN, 10000, 0, 0, 0),
		CHARGE(2, BL_SERVICE_VAS, -1, 0, 0, 0),
	};
	expect_problem(ch, 2, BL_CHARGE_INVALID, "price");
	cr_expect_str_eq(bl_charge_problem_name(BL_CHARGE_INVALID), "INVALID_CHARGE");
}

Test(statement, negative_discount_is_invalid)
{
	const bl_charge c1[] = { CHARGE(7, BL_SERVICE_PLAN, 10000, -1, 0, 0) };
	const bl_charge c2[] = { CHARGE(7, BL_SERVICE_PLAN, 10000, 0, -500, 0) };
	const bl_charge c3[] = { CHARGE(7, BL_SERVICE_MCP, 10000, 0, 0, -2) };
	expect_problem(c1, 1, BL_CHARGE_INVALID, "discount");
	expect_problem(c2, 1, BL_CHARGE_INVALID, "discount");
	expect_problem(c3, 1, BL_CHARGE_INVALID, "charge 7");
}

Test(statement, unknown_service)
{
	const bl_charge ch[] = {
		CHARGE(1, BL_SERVICE_PLAN, 10000, 0, 0, 0),
		CHARGE(2, BL_SERVICE_UNKNOWN, 3000, 0, 0, 0),
	};
	expect_problem(ch, 2, BL_CHARGE_UNKNOWN_SERVICE, "unknown service 20");
	const bl_charge bogus[] = { CHARGE(3, (bl_service_type)42, 3000, 0, 0, 0) };
	expect_problem(bogus, 1, BL_CHARGE_UNKNOWN_SERVICE, "unknown service");
	cr_expect_str_eq(bl_charge_problem_name(BL_CHARGE_UNKNOWN_SERVICE), "UNKNOWN_SERVICE");
	cr_expect_str_eq(bl_charge_problem_name(BL_CHARGE_OK), "OK");
}

/* ---- rule 9: no rows, no statement ---- */

Test(statement, empty_month)
{
	bl_totals t;
	bl_charge_problem prob = BL_CHARGE_INVALID;
	int rc = bl_statement_compute(NULL, 0, "2026-10", 25, NULL, &t, &prob);
	cr_expect_eq(rc, BL_EINVAL);
	cr_expect_eq(prob, BL_CHARGE_OK);
	cr_expect(strstr(bl_error_last(), "2026-10"), "%s", bl_error_last());
}

Test(statement, null_arguments)
{
	bl_totals t;
	const bl_charge ch[] = { CHARGE(1, BL_SERVICE_PLAN, 1, 0, 0, 0) };
	cr_expect_eq(bl_statement_compute(NULL, 1, "2026-10", 25, NULL, &t, NULL), BL_EINVAL);
	cr_expect_eq(bl_statement_compute(ch, 1, "2026-10", 25, NULL, NULL, NULL), BL_EINVAL);
	cr_expect_eq(bl_statement_compute(ch, 1, NULL, 25, NULL, &t, NULL), BL_EINVAL);
	/* problem may be NULL */
	cr_expect_eq(bl_statement_compute(ch, 1, "2026-10", 25, NULL, &t, NULL), BL_OK);
}

/* ---- rule 8: due date ---- */

static bl_totals due_for(const char *month, int day)
{
	const bl_charge ch[] = { CHARGE(1, BL_SERVICE_PLAN, 1000, 0, 0, 0) };
	return compute_ok(ch, 1, month, day, NULL);
}

Test(statement, due_day)
{
	bl_totals t = due_for("2026-10", 1);
	cr_expect(t.due_year == 2026 && t.due_month == 11 && t.due_day == 1);
	t = due_for("2026-01", 28); /* February has a 28th in every year */
	cr_expect(t.due_year == 2026 && t.due_month == 2 && t.due_day == 28);
	t = due_for("2026-12", 25);
	cr_expect(t.due_year == 2027 && t.due_month == 1 && t.due_day == 25, "%d-%d-%d", t.due_year,
		  t.due_month, t.due_day);
	t = due_for("2999-11", 25);
	cr_expect(t.due_year == 2999 && t.due_month == 12);
}

Test(statement, due_day_out_of_range)
{
	const bl_charge ch[] = { CHARGE(1, BL_SERVICE_PLAN, 1000, 0, 0, 0) };
	bl_totals t;
	int bad[] = { 0, 29, 31, -1 };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cr_expect_eq(bl_statement_compute(ch, 1, "2026-10", bad[i], NULL, &t, NULL), BL_EINVAL,
			     "due day %d accepted", bad[i]);
		cr_expect(strstr(bl_error_last(), "due day"), "%s", bl_error_last());
	}
}

/* ---- overflow is an error, never a wrap ---- */

Test(statement, overflow)
{
	bl_totals t;
	const bl_charge two_max[] = {
		CHARGE(1, BL_SERVICE_MCP, INT64_MAX, 0, 0, 0),
		CHARGE(2, BL_SERVICE_MCP, INT64_MAX, 0, 0, 0),
	};
	cr_expect_eq(bl_statement_compute(two_max, 2, "2026-10", 25, NULL, &t, NULL), BL_EOVERFLOW);
	cr_expect(strstr(bl_error_last(), "overflow"), "%s", bl_error_last());

	/* one max line fits, but net + VAT does not */
	const bl_charge vat_over[] = { CHARGE(1, BL_SERVICE_PLAN, INT64_MAX, 0, 0, 0) };
	cr_expect_eq(bl_statement_compute(vat_over, 1, "2026-10", 25, NULL, &t, NULL), BL_EOVERFLOW);

	/* the same price as MCP (no VAT) is fine */
	const bl_charge ok[] = { CHARGE(1, BL_SERVICE_MCP, INT64_MAX, 0, 0, 0) };
	t = compute_ok(ok, 1, "2026-10", 25, NULL);
	cr_expect_eq(t.total_amount, INT64_MAX);
	cr_expect_eq(t.truncated_amount, INT64_MAX % 10);
	cr_expect_eq(t.billed_amount, INT64_MAX - INT64_MAX % 10);

	/* huge discounts never overflow the per-line arithmetic */
	const bl_charge disc[] = { CHARGE(1, BL_SERVICE_PLAN, 100, INT64_MAX, INT64_MAX, INT64_MAX) };
	bl_line l;
	t = compute_ok(disc, 1, "2026-10", 25, &l);
	assert_line(&l, 100, 0, 0, 100, 0);
}

/* ---- bl_month_parse ---- */

Test(month, parse_ok)
{
	int y = 0, m = 0;
	cr_assert_eq(bl_month_parse("2026-10", &y, &m), BL_OK);
	cr_expect(y == 2026 && m == 10);
	cr_assert_eq(bl_month_parse("2000-01", &y, &m), BL_OK);
	cr_expect(y == 2000 && m == 1);
	cr_assert_eq(bl_month_parse("2999-12", NULL, NULL), BL_OK);
}

Test(month, parse_errors)
{
	static const struct { const char *in, *msg; } bad[] = {
		{ "", "expected YYYY-MM" },
		{ "2026-1", "expected YYYY-MM" },
		{ "2026/10", "expected YYYY-MM" },
		{ "2026-10-01", "expected YYYY-MM" },
		{ "20x6-10", "expected YYYY-MM" },
		{ "2026-1a", "expected YYYY-MM" },
		{ " 2026-1", "expected YYYY-MM" },
		{ "-026-10", "expected YYYY-MM" },
		{ "2026-00", "month '2026-00': the month must be 01-12" },
		{ "2026-13", "month '2026-13': the month must be 01-12" },
		{ "1999-12", "month '1999-12': the year must be 2000-2999" },
		{ "3000-01", "month '3000-01': the year must be 2000-2999" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int y = -1, m = -1;
		bl_error_clear();
		cr_expect_eq(bl_month_parse(bad[i].in, &y, &m), BL_EINVAL, "'%s' accepted", bad[i].in);
		cr_expect_eq(y, -1, "'%s': year written on failure", bad[i].in);
		cr_expect(strstr(bl_error_last(), bad[i].msg), "'%s': message '%s' lacks '%s'", bad[i].in,
			  bl_error_last(), bad[i].msg);
		cr_expect(strstr(bl_error_last(), "month"), "%s", bl_error_last());
	}
	cr_expect_eq(bl_month_parse(NULL, NULL, NULL), BL_EINVAL);
	cr_expect(strstr(bl_error_last(), "YYYY-MM"), "%s", bl_error_last());
}

/* ---- bl_month_add and the private month helpers ---- */

static void add_is(const char *month, int add, const char *want)
{
	char out[8] = "x";
	cr_assert_eq(bl_month_add(month, add, out), BL_OK, "%s %+d: %s", month, add, bl_error_last());
	cr_expect_str_eq(out, want, "%s %+d", month, add);
}

Test(month, add)
{
	add_is("2026-10", 0, "2026-10");
	add_is("2026-12", 1, "2027-01"); /* Dec -> Jan */
	add_is("2027-01", -1, "2026-12"); /* Jan -> Dec: the "previous month" */
	add_is("2026-03", -2, "2026-01");
	add_is("2026-03", -3, "2025-12");
	add_is("2026-01", 24, "2028-01");
	add_is("2026-05", -17, "2024-12");
	add_is("2000-01", 0, "2000-01");
	add_is("2999-12", 0, "2999-12");
}

Test(month, add_errors)
{
	char out[8] = "x";
	cr_expect_eq(bl_month_add("2000-01", -1, out), BL_EINVAL);
	cr_expect_str_eq(out, "");
	cr_expect(strstr(bl_error_last(), "2000-01 .. 2999-12"), "%s", bl_error_last());
	cr_expect_eq(bl_month_add("2999-12", 1, out), BL_EINVAL);
	cr_expect_eq(bl_month_add("2026-13", 1, out), BL_EINVAL);
	cr_expect(strstr(bl_error_last(), "the month must be 01-12"), "%s", bl_error_last());
	cr_expect_eq(bl_month_add("2026-1", 1, out), BL_EINVAL);
	cr_expect(strstr(bl_error_last(), "expected YYYY-MM"), "%s", bl_error_last());
	cr_expect_eq(bl_month_add(NULL, 1, out), BL_EINVAL);
	cr_expect_eq(bl_month_add("2026-10", 1, NULL), BL_EINVAL);
	cr_expect_eq(bl_month_add("2026-10", 1000000, out), BL_EINVAL);
}

Test(month, bounds)
{
	char from[32], to[32];
	bl__month m;
	cr_assert_eq(bl__month_read("2026-12", &m), BL_OK);
	bl__month_bounds(m, from, to);
	cr_expect_str_eq(from, "2026-12-01 00:00:00");
	cr_expect_str_eq(to, "2027-01-01 00:00:00"); /* Dec -> Jan of the next year */
	cr_assert_eq(bl__month_read("2028-02", &m), BL_OK);
	bl__month_bounds(m, from, to);
	cr_expect_str_eq(from, "2028-02-01 00:00:00");
	cr_expect_str_eq(to, "2028-03-01 00:00:00"); /* the leap day is inside */
	char text[8];
	bl__month_text(bl__month_add(m, -2), text);
	cr_expect_str_eq(text, "2027-12");
	cr_expect_eq(bl__month_read("2026-00", &m), BL_EINVAL);
	cr_expect(m.year == 0 && m.mon == 0);
}

Test(month, due_date_rule)
{
	bl__month m = { 2026, 12 };
	bl__date d = bl__month_due(m, 25);
	cr_expect(d.year == 2027 && d.mon == 1 && d.day == 25, "%d-%d-%d", d.year, d.mon, d.day);
	d = bl__month_due((bl__month){ 2028, 1 }, 28); /* due in a leap February */
	cr_expect(d.year == 2028 && d.mon == 2 && d.day == 28);
	d = bl__month_due((bl__month){ 2026, 6 }, 1);
	cr_expect(d.year == 2026 && d.mon == 7 && d.day == 1);
}

Test(month, seoul_offset)
{
	/* 2028-02-29 15:00 UTC is 2028-03-01 00:00 in Seoul */
	int64_t utc = (bl__days_from_civil(2028, 2, 29) * 86400 + 15 * 3600);
	bl__month m = bl__month_of(utc);
	cr_expect(m.year == 2028 && m.mon == 3, "%d-%d", m.year, m.mon);
	m = bl__month_of(utc - 1); /* the last second of the leap day */
	cr_expect(m.year == 2028 && m.mon == 2, "%d-%d", m.year, m.mon);
	cr_expect_eq(bl__seoul_day_start_ms(utc * 1000), utc * 1000);
	cr_expect_eq(bl__seoul_day_start_ms(utc * 1000 - 1), (utc - 86400) * 1000);
	cr_expect_eq(bl__seoul_day_start_ms(utc * 1000 + 86399999), utc * 1000);
	char dt[32];
	bl__seoul_datetime(utc * 1000 - 1, dt);
	cr_expect_str_eq(dt, "2028-02-29 23:59:59.999");
	int64_t us = 0;
	cr_assert_eq(bl_clock_parse("2028-03-01 00:00:00", &us), BL_OK, "%s", bl_error_last());
	cr_expect_eq(us, utc * 1000000);
	cr_expect_eq(bl_clock_parse("2027-02-29 00:00:00", &us), BL_EINVAL); /* not a leap year */
	cr_expect_eq(bl__days_in_month(2100, 2), 28);
	cr_expect_eq(bl__days_in_month(2000, 2), 29);
	cr_expect_eq(bl__days_in_month(2026, 13), 0);
	char month[8];
	cr_assert_eq(bl_clock_month(utc * 1000000, -1, month), BL_OK);
	cr_expect_str_eq(month, "2028-02");
	cr_assert_eq(bl_clock_month(utc * 1000000 - 1, -1, month), BL_OK);
	cr_expect_str_eq(month, "2028-01");
}

Test(statement, invalid_month_rejected)
{
	const bl_charge ch[] = { CHARGE(1, BL_SERVICE_PLAN, 1000, 0, 0, 0) };
	bl_totals t;
	cr_expect_eq(bl_statement_compute(ch, 1, "2026-13", 25, NULL, &t, NULL), BL_EINVAL);
	cr_expect(strstr(bl_error_last(), "2026-13"), "%s", bl_error_last());
}
