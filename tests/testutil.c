#include <criterion/criterion.h>
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "testutil.h"

int64_t tu_seoul(int y, int mo, int d, int h, int mi, int s)
{
	struct tm t = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = s };
	return (int64_t)timegm(&t) - 9 * 3600;
}

static struct {
	int64_t base_us, mono0_us;
} tu_clock;

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t tu_clock_now(void *payload)
{
	(void)payload;
	return tu_clock.base_us + (mono_us() - tu_clock.mono0_us);
}

void tu_clock_start(bl_ctx *ctx, int64_t unix_s)
{
	tu_clock.base_us = unix_s * 1000000;
	tu_clock.mono0_us = mono_us();
	tu_clock_use(ctx);
}

void tu_clock_use(bl_ctx *ctx)
{
	cr_assert_eq(bl_ctx_set_clock(ctx, tu_clock_now, NULL), BL_OK, "%s", bl_error_last());
}

bl_config *tu_config(const char *name)
{
	bl_config *cfg = NULL;
	/* no .env: tests are configured by the environment only */
	cr_assert_eq(bl_config_load(&cfg, "/nonexistent/.env", false), BL_OK, "%s", bl_error_last());
	char db[64], prefix[80];
	snprintf(db, sizeof db, "bltest_%s_%d", name, (int)getpid());
	snprintf(prefix, sizeof prefix, "bltest:%s:%d:", name, (int)getpid());
	cr_assert_eq(bl_config_set(cfg, "MYSQL_DATABASE", db), BL_OK, "%s", bl_error_last());
	cr_assert_eq(bl_config_set(cfg, "REDIS_PREFIX", prefix), BL_OK, "%s", bl_error_last());
	cr_assert_eq(bl_config_set(cfg, "BILLING_DATA_KEY", TU_DATA_KEY), BL_OK);
	/* deterministic whatever the hour: no quiet hours, no background scheduler
	 * (tests of those features set them explicitly) */
	cr_assert_eq(bl_config_set(cfg, "BILLING_QUIET_START", "00:00"), BL_OK, "%s", bl_error_last());
	cr_assert_eq(bl_config_set(cfg, "BILLING_QUIET_END", "00:00"), BL_OK, "%s", bl_error_last());
	cr_assert_eq(bl_config_set(cfg, "BILLING_SCHEDULER", "0"), BL_OK, "%s", bl_error_last());
	cr_assert_eq(bl_config_set(cfg, "BILLING_ENV", "test"), BL_OK, "%s", bl_error_last());
	return cfg;
}

bl_ctx *tu_ctx_fresh(const char *name)
{
	bl_config *cfg = tu_config(name);
	bl_ctx *ctx = NULL;
	cr_assert_eq(bl_ctx_new(&ctx, cfg), BL_OK, "%s", bl_error_last());
	bl_config_free(cfg);
	cr_assert_eq(bl_ctx_drop_database(ctx), BL_OK, "%s", bl_error_last());
	cr_assert_eq(bl_ctx_create_database(ctx), BL_OK, "%s", bl_error_last());
	int applied = 0;
	cr_assert_eq(bl_migrate(ctx, &applied), BL_OK, "%s", bl_error_last());
	return ctx;
}

void tu_ctx_drop(bl_ctx *ctx)
{
	if (!ctx)
		return;
	bl_ctx_drop_database(ctx);
	bl_ctx_free(ctx);
}

static MYSQL *tu_connect(bl_ctx *ctx)
{
	const bl_config *c = bl_ctx_config(ctx);
	MYSQL *db = mysql_init(NULL);
	mysql_options(db, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	mysql_options(db, MYSQL_INIT_COMMAND, "SET time_zone='+09:00'");
	cr_assert(mysql_real_connect(db, bl_config_get(c, "MYSQL_HOST"), bl_config_get(c, "MYSQL_USER"),
				     bl_config_get(c, "MYSQL_PASSWORD"),
				     bl_config_get(c, "MYSQL_DATABASE"),
				     (unsigned)atoi(bl_config_get(c, "MYSQL_PORT")), NULL, 0),
		  "connect: %s", mysql_error(db));
	return db;
}

void tu_sql(bl_ctx *ctx, const char *sql)
{
	MYSQL *db = tu_connect(ctx);
	cr_assert_eq(mysql_query(db, sql), 0, "%s: %s", sql, mysql_error(db));
	MYSQL_RES *r = mysql_store_result(db);
	if (r)
		mysql_free_result(r);
	mysql_close(db);
}

long long tu_i64(bl_ctx *ctx, const char *sql)
{
	MYSQL *db = tu_connect(ctx);
	cr_assert_eq(mysql_query(db, sql), 0, "%s: %s", sql, mysql_error(db));
	MYSQL_RES *r = mysql_store_result(db);
	cr_assert(r, "%s: no result", sql);
	MYSQL_ROW row = mysql_fetch_row(r);
	cr_assert(row, "%s: no row", sql);
	long long v = row[0] ? atoll(row[0]) : 0;
	mysql_free_result(r);
	mysql_close(db);
	return v;
}

long long tu_verify_month(bl_ctx *ctx, const char *month, long long *mismatches)
{
	char from[32], to[32], sql[4096];
	int y = atoi(month), m = atoi(month + 5);
	snprintf(from, sizeof from, "%04d-%02d-01", y, m);
	snprintf(to, sizeof to, "%04d-%02d-01", m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1);
	tu_sql(ctx, "DROP TABLE IF EXISTS tu_expected");
	snprintf(sql, sizeof sql,
		 "CREATE TABLE tu_expected AS "
		 "SELECT x.user_id, x.usage_a, x.disc, x.usage_a - x.disc AS net, x.taxable, "
		 "  x.taxable DIV 10 AS vat, x.usage_a - x.disc + x.taxable DIV 10 AS total, "
		 "  (x.usage_a - x.disc + x.taxable DIV 10) - MOD(x.usage_a - x.disc + x.taxable DIV 10, 10) AS billed, "
		 "  x.n FROM ("
		 " SELECT ch.user_id, SUM(ch.charged_price) AS usage_a, "
		 "  SUM(LEAST(ch.charged_price, ch.contract_discount_price + ch.bundled_discount_price + "
		 "      ch.premier_discount_price)) AS disc, "
		 "  SUM(IF(s.type <> 'MCP', ch.charged_price - LEAST(ch.charged_price, "
		 "      ch.contract_discount_price + ch.bundled_discount_price + ch.premier_discount_price), 0)) AS taxable, "
		 "  COUNT(*) AS n, "
		 "  SUM(s.id IS NULL OR ch.charged_price < 0 OR ch.contract_discount_price < 0 OR "
		 "      ch.bundled_discount_price < 0 OR ch.premier_discount_price < 0) AS bad "
		 " FROM charged_histories ch LEFT JOIN services s ON s.id = ch.service_id "
		 " WHERE ch.created_at >= '%s' AND ch.created_at < '%s' GROUP BY ch.user_id) x "
		 "WHERE x.bad = 0",
		 from, to);
	tu_sql(ctx, sql);
	long long expected = tu_i64(ctx, "SELECT COUNT(*) FROM tu_expected");
	snprintf(sql, sizeof sql,
		 "SELECT "
		 " (SELECT COUNT(*) FROM tu_expected e LEFT JOIN statements st ON st.user_id = e.user_id "
		 "   AND st.target_month = '%s' WHERE st.id IS NULL OR st.usage_amount <> e.usage_a "
		 "   OR st.discount_amount <> e.disc OR st.net_amount <> e.net OR st.taxable_amount <> e.taxable "
		 "   OR st.vat_amount <> e.vat OR st.total_amount <> e.total OR st.billed_amount <> e.billed "
		 "   OR st.truncated_amount <> e.total - e.billed OR st.line_count <> e.n "
		 "   OR st.due_date <> DATE_ADD('%s', INTERVAL 1 MONTH) + INTERVAL 24 DAY "
		 "   OR (SELECT COUNT(*) FROM statement_lines l WHERE l.statement_id = st.id) <> e.n) "
		 " + (SELECT COUNT(*) FROM statements st WHERE st.target_month = '%s' AND NOT EXISTS "
		 "   (SELECT 1 FROM tu_expected e WHERE e.user_id = st.user_id))",
		 month, from, month);
	*mismatches = tu_i64(ctx, sql);
	tu_sql(ctx, "DROP TABLE tu_expected");
	return expected;
}
