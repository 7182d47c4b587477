/* The context: configuration plus lazily opened connections. */
#include <stdio.h>
#include <time.h>
#include <hiredis/hiredis.h>
#include <sodium.h>
#include "db.h"
#include "context_private.h"

int bl_ctx_new(bl_ctx **out, const bl_config *cfg)
{
	if (!out)
		return bl__fail(BL_EINVAL, "bl_ctx_new: out is NULL");
	*out = NULL;
	bl_ctx *c = calloc(1, sizeof *c);
	if (!c)
		return bl__fail(BL_ENOMEM, "out of memory");
	int rc = cfg ? bl_config_copy(&c->cfg, cfg) : bl_config_load(&c->cfg, NULL, false);
	if (rc) {
		free(c);
		return rc;
	}
	*out = c;
	return BL_OK;
}

void bl_ctx_free(bl_ctx *ctx)
{
	if (!ctx)
		return;
	if (ctx->db)
		mysql_close(ctx->db);
	if (ctx->redis)
		redisFree(ctx->redis);
	bl_config_free(ctx->cfg);
	sodium_memzero(ctx, sizeof *ctx);
	free(ctx);
}

const bl_config *bl_ctx_config(const bl_ctx *ctx) { return ctx ? ctx->cfg : NULL; }

int bl_ctx_set_actor(bl_ctx *ctx, const char *actor)
{
	if (!ctx)
		return bl__fail(BL_EINVAL, "bl_ctx_set_actor: ctx is NULL");
	if (actor && (!*actor || strlen(actor) >= sizeof ctx->actor))
		return bl__fail(BL_EINVAL, "actor: must be 1-%zu characters", sizeof ctx->actor - 1);
	snprintf(ctx->actor, sizeof ctx->actor, "%s", actor ? actor : "");
	return BL_OK;
}

const char *bl_ctx_actor(const bl_ctx *ctx) { return ctx && ctx->actor[0] ? ctx->actor : NULL; }

MYSQL *bl__ctx_db(bl_ctx *ctx)
{
	if (!ctx->db && !(ctx->db = bl__db_connect(ctx->cfg, true)))
		return NULL;
	/* Every use of the connection starts at the context's time: NOW() and
	 * the column defaults of what follows are the library's clock, not the
	 * server's.  A failure here is a broken connection: forget it (the next
	 * call reconnects) rather than reconnect under an open transaction. */
	/* the session's NOW(3) has milliseconds: within the same one, it is set */
	int64_t us = bl_ctx_now(ctx);
	if (us / 1000 == ctx->db_ms)
		return ctx->db;
	if (bl__db_set_clock(ctx->db, us)) {
		bl__ctx_db_reset(ctx);
		return NULL;
	}
	ctx->db_ms = us / 1000;
	return ctx->db;
}

void bl__ctx_db_reset(bl_ctx *ctx)
{
	if (ctx->db)
		mysql_close(ctx->db);
	ctx->db = NULL;
	ctx->db_ms = 0;
}

int bl_ctx_ping_db(bl_ctx *ctx)
{
	if (!ctx)
		return bl__fail(BL_EINVAL, "bl_ctx_ping_db: ctx is NULL");
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	if (mysql_ping(db)) {
		int rc = bl__db_fail(db, "ping");
		bl__ctx_db_reset(ctx);
		return rc;
	}
	return BL_OK;
}

redisContext *bl__ctx_redis(bl_ctx *ctx)
{
	if (ctx->redis && !ctx->redis->err)
		return ctx->redis;
	if (ctx->redis) {
		redisFree(ctx->redis);
		ctx->redis = NULL;
	}
	const char *host = bl_config_get(ctx->cfg, "REDIS_HOST");
	int port = (int)bl__config_int(ctx->cfg, "REDIS_PORT");
	int64_t ms = bl__config_int(ctx->cfg, "REDIS_TIMEOUT_MS");
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };
	redisContext *r = redisConnectWithTimeout(host, port, tv);
	if (!r || r->err) {
		bl__fail(BL_EREDIS, "cannot connect to Redis %s:%d: %s (REDIS_HOST/REDIS_PORT)", host, port,
			 r ? r->errstr : "out of memory");
		if (r)
			redisFree(r);
		return NULL;
	}
	redisSetTimeout(r, tv);
	const char *pw = bl_config_get(ctx->cfg, "REDIS_PASSWORD");
	if (pw && *pw) {
		const char *argv[] = { "AUTH", pw };
		redisReply *rep = redisCommandArgv(r, 2, argv, NULL);
		bool ok = rep && rep->type == REDIS_REPLY_STATUS;
		if (!ok) {
			bl__fail(BL_EREDIS, "Redis %s:%d: AUTH failed: %s (REDIS_PASSWORD)", host, port,
				 rep && rep->type == REDIS_REPLY_ERROR ? rep->str : r->errstr);
			if (rep)
				freeReplyObject(rep);
			redisFree(r);
			return NULL;
		}
		freeReplyObject(rep);
	}
	ctx->redis = r;
	return r;
}

int bl_ctx_ping_redis(bl_ctx *ctx)
{
	if (!ctx)
		return bl__fail(BL_EINVAL, "bl_ctx_ping_redis: ctx is NULL");
	redisContext *r = bl__ctx_redis(ctx);
	if (!r)
		return bl_error_last_code();
	const char *argv[] = { "PING" };
	redisReply *rep = redisCommandArgv(r, 1, argv, NULL);
	if (!rep || rep->type != REDIS_REPLY_STATUS) {
		int rc = bl__fail(BL_EREDIS, "Redis PING failed: %s",
				  rep && rep->type == REDIS_REPLY_ERROR ? rep->str : r->errstr);
		if (rep)
			freeReplyObject(rep);
		return rc;
	}
	freeReplyObject(rep);
	return BL_OK;
}

static int db_admin(bl_ctx *ctx, bool create)
{
	const char *name = bl_config_get(ctx->cfg, "MYSQL_DATABASE");
	if (!strcmp(name, "mysql") || !strcmp(name, "information_schema") ||
	    !strcmp(name, "performance_schema") || !strcmp(name, "sys"))
		return bl__fail(BL_EINVAL, "MYSQL_DATABASE: refusing to touch system database '%s'", name);
	MYSQL *db = bl__db_connect(ctx->cfg, false);
	if (!db)
		return bl_error_last_code();
	char sql[256];
	/* the name was validated as [A-Za-z0-9_]{1,64} by the configuration */
	if (create)
		snprintf(sql, sizeof sql, "CREATE DATABASE IF NOT EXISTS `%s` CHARACTER SET utf8mb4 "
					  "COLLATE utf8mb4_unicode_ci", name);
	else
		snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS `%s`", name);
	int rc = bl__db_query(db, sql);
	mysql_close(db);
	return rc;
}

int bl_ctx_create_database(bl_ctx *ctx)
{
	if (!ctx)
		return bl__fail(BL_EINVAL, "bl_ctx_create_database: ctx is NULL");
	return db_admin(ctx, true);
}

int bl_ctx_drop_database(bl_ctx *ctx)
{
	if (!ctx)
		return bl__fail(BL_EINVAL, "bl_ctx_drop_database: ctx is NULL");
	bl__ctx_db_reset(ctx);
	return db_admin(ctx, false);
}

int bl__ctx_derive(const bl_ctx *ctx, bl_ctx **out)
{
	int rc = bl_ctx_new(out, ctx->cfg);
	if (rc == BL_OK) {
		bl__ctx_adopt_clock(*out, ctx);
		memcpy((*out)->actor, ctx->actor, sizeof ctx->actor); /* work done for the same admin */
	}
	return rc;
}
