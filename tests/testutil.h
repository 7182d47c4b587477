/*
 * Shared test helpers: each test gets its own database on the real MariaDB
 * started by scripts/services, and its own Redis key prefix.
 */
#ifndef BL_TESTUTIL_H
#define BL_TESTUTIL_H

#include <billing/billing.h>

/* Configuration from the environment (as scripts/test exports it) with a
 * fixed test data key and MYSQL_DATABASE = bltest_<name>_<pid>. */
bl_config *tu_config(const char *name);
/* A context on a fresh, migrated database named after `name`. */
bl_ctx *tu_ctx_fresh(const char *name);
/* Drop the context's database and free it. */
void tu_ctx_drop(bl_ctx *ctx);
/* Run one SQL statement through a fresh connection (setup/inspection). */
void tu_sql(bl_ctx *ctx, const char *sql);
/* First column of the first row of `sql` as int64 (asserts a row exists). */
long long tu_i64(bl_ctx *ctx, const char *sql);

/*
 * Recompute the month's statements independently in SQL from
 * charged_histories (BILLING_RULES.md) and compare with the statements table.
 * Returns the number of eligible subscribers; *mismatches gets how many
 * statements are missing, extra or differ in any amount, due date or line
 * count.
 */
long long tu_verify_month(bl_ctx *ctx, const char *month, long long *mismatches);

/* Unix seconds of an Asia/Seoul wall-clock time. */
int64_t tu_seoul(int y, int mo, int d, int h, int mi, int s);
/* Give ctx a clock that reads `unix_s` now and then runs with real elapsed
 * time (CLOCK_MONOTONIC): tests choose their instant, whatever the date.
 * One start per test process; forked children keep it (set it on their
 * own contexts with tu_clock_use). */
void tu_clock_start(bl_ctx *ctx, int64_t unix_s);
void tu_clock_use(bl_ctx *ctx);

#define TU_DATA_KEY "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

#endif
