/*
 * statement_report — print statements (정산서) from libbilling.
 *
 *   statement_report MONTH [USER_ID...]
 *
 * With user ids: each subscriber's statement of MONTH with its lines.
 * Without: one line per statement of MONTH (the first 20, in id order).
 * Settings (MYSQL_*, BILLING_DATA_KEY, ...) come from ./.env and the
 * environment, as for every libbilling program.
 *
 * Built against the installed library, as a user of it would:
 *   cc -std=c11 statement_report.c $(pkg-config --cflags --libs billing)
 * Statements are read as objects (bl_statement_lookup, bl_statement_find)
 * with accessors; the objects are freed with bl_statement_free and
 * bl_statement_array_free.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <billing/billing.h>

static int fail(const char *what, int rc)
{
	fprintf(stderr, "statement_report: %s: %s: %s\n", what, bl_strerror(rc), bl_error_last());
	return rc;
}

static const char *str(const char *s)
{
	return s ? s : "";
}

/* 1234567 -> "1,234,567" (money is integer won). */
static const char *won(bl_won v, char buf[32])
{
	char digits[24];
	int n = snprintf(digits, sizeof digits, "%lld", (long long)(v < 0 ? -v : v));
	int o = 0;
	if (v < 0)
		buf[o++] = '-';
	for (int i = 0; i < n; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
	return buf;
}

static int report_one(bl_ctx *ctx, int64_t user_id, const char *month)
{
	bl_statement *st = NULL;
	int rc = bl_statement_lookup(ctx, user_id, month, &st);
	if (rc)
		return fail("statement", rc);
	char a[32], b[32], c[32];
	printf("정산서 %s  subscriber %" PRId64 " %s  (statement #%lld, batch run #%lld)\n", month,
	       user_id, str(bl_statement_user_name(st)), (long long)bl_statement_id(st),
	       (long long)bl_statement_batch_run_id(st));
	for (size_t i = 0; i < bl_statement_lines_count(st); i++) {
		const bl_statement_line *line = bl_statement_lines_at(st, i);
		printf("  %-24s %12s %12s %12s\n", str(bl_statement_line_service_name(line)),
		       won(bl_statement_line_price(line), a), won(-bl_statement_line_discount(line), b),
		       won(bl_statement_line_net(line), c));
	}
	char d[32];
	printf("  usage %s, discount %s, VAT %s, cut %s\n", won(bl_statement_usage_amount(st), a),
	       won(bl_statement_discount_amount(st), b), won(bl_statement_vat_amount(st), c),
	       won(bl_statement_truncated_amount(st), d));
	printf("  billed %s won, due %s\n", won(bl_statement_billed_amount(st), a), str(bl_statement_due_date(st)));
	bl_statement_free(st); /* the object and its lines */
	return BL_OK;
}

static int report_month(bl_ctx *ctx, const char *month)
{
	bl_statement_filter f;
	bl_statement_filter_init(&f, BL_STATEMENT_FILTER_VERSION);
	f.month = month;
	f.limit = 20;
	bl_statement_array *rows = NULL;
	int rc = bl_statement_find(ctx, &f, &rows);
	if (rc)
		return fail("statement search", rc);
	char a[32];
	size_t n = bl_statement_array_count(rows);
	printf("statements of %s (first %zu)\n", month, n);
	for (size_t i = 0; i < n; i++) {
		const bl_statement *st = bl_statement_array_at(rows, i);
		printf("  #%-8lld subscriber %-8lld %14s won  due %s\n", (long long)bl_statement_id(st),
		       (long long)bl_statement_user_id(st), won(bl_statement_billed_amount(st), a),
		       str(bl_statement_due_date(st)));
	}
	bl_statement_array_free(rows);
	return BL_OK;
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help")) {
		fprintf(stderr, "usage: statement_report MONTH [USER_ID...]\n");
		return 2;
	}
	const char *month = argv[1];
	int rc = bl_month_parse(month, NULL, NULL);
	if (rc) {
		fail("month", rc);
		return 2;
	}

	bl_ctx *ctx = NULL; /* settings from ./.env and the environment; connects lazily */
	if ((rc = bl_ctx_new(&ctx, NULL))) {
		fail("context", rc);
		return 1;
	}
	printf("libbilling %s\n", bl_version());
	int status = 0;
	if (argc == 2)
		status = report_month(ctx, month) ? 1 : 0;
	for (int i = 2; i < argc; i++) {
		char *end;
		long long id = strtoll(argv[i], &end, 10);
		if (*end || id <= 0) {
			fprintf(stderr, "statement_report: '%s' is not a user id\n", argv[i]);
			status = 2;
			continue;
		}
		if (report_one(ctx, (int64_t)id, month))
			status = 1;
	}
	bl_ctx_free(ctx);
	return status;
}
