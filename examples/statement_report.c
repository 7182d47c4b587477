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
 *   cc -std=c11 statement_report.c $(pkg-config --cflags --libs billing jansson)
 * Statement reads return JSON (a char * the caller frees with bl_free); this
 * example parses it with jansson.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <billing/billing.h>
#include <jansson.h>

static int fail(const char *what, int rc)
{
	fprintf(stderr, "statement_report: %s: %s: %s\n", what, bl_strerror(rc), bl_error_last());
	return rc;
}

static json_int_t num(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

/* 1234567 -> "1,234,567" (money is integer won). */
static const char *won(json_int_t v, char buf[32])
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

static int parse(const char *text, json_t **out)
{
	json_error_t err;
	*out = json_loads(text, 0, &err);
	if (!*out) {
		fprintf(stderr, "statement_report: bad JSON from libbilling: %s\n", err.text);
		return BL_ERROR;
	}
	return BL_OK;
}

static int report_one(bl_ctx *ctx, int64_t user_id, const char *month)
{
	char *text = NULL;
	int rc = bl_statement_get(ctx, user_id, month, &text);
	if (rc)
		return fail("statement", rc);
	json_t *st;
	rc = parse(text, &st);
	bl_free(text); /* a returned char * belongs to the caller */
	if (rc)
		return rc;
	char a[32], b[32], c[32];
	printf("정산서 %s  subscriber %" PRId64 " %s  (statement #%lld, batch run #%lld)\n", month,
	       user_id, str(st, "user_name"), (long long)num(st, "id"), (long long)num(st, "batch_run_id"));
	size_t i;
	json_t *line;
	json_array_foreach(json_object_get(st, "lines"), i, line)
		printf("  %-24s %12s %12s %12s\n", str(line, "service_name"), won(num(line, "price"), a),
		       won(-num(line, "discount"), b), won(num(line, "net"), c));
	char d[32];
	printf("  usage %s, discount %s, VAT %s, cut %s\n", won(num(st, "usage_amount"), a),
	       won(num(st, "discount_amount"), b), won(num(st, "vat_amount"), c),
	       won(num(st, "truncated_amount"), d));
	printf("  billed %s won, due %s\n", won(num(st, "billed_amount"), a), str(st, "due_date"));
	json_decref(st);
	return BL_OK;
}

static int report_month(bl_ctx *ctx, const char *month)
{
	char *text = NULL;
	int rc = bl_statement_search(ctx, month, 0, 0, -1, 0, 20, &text);
	if (rc)
		return fail("statement search", rc);
	json_t *rows;
	rc = parse(text, &rows);
	bl_free(text);
	if (rc)
		return rc;
	char a[32];
	size_t i;
	json_t *st;
	printf("statements of %s (first %zu)\n", month, json_array_size(rows));
	json_array_foreach(rows, i, st)
		printf("  #%-8lld subscriber %-8lld %14s won  due %s\n", (long long)num(st, "id"),
		       (long long)num(st, "user_id"), won(num(st, "billed_amount"), a), str(st, "due_date"));
	json_decref(rows);
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
