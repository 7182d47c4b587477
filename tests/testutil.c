#include <criterion/criterion.h>
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "testutil.h"

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
