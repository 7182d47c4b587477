/*
 * The Redis stream of message ids, as the relay (relay.c) and the worker
 * (worker.c, worker_consume.c) use it: its key, private connections, the
 * consumer group and commands given as argv (stream_private.h).
 */
#include "stream_private.h"
#include "context_private.h"

void bl__stream_key(const bl_config *cfg, char *out, size_t n)
{
	snprintf(out, n, "%s%s", bl_config_get(cfg, "REDIS_PREFIX"), bl_config_get(cfg, "BILLING_STREAM"));
}

redisContext *bl__redis_connect(const bl_config *cfg)
{
	/* a throw-away context borrows the connection logic of bl_ctx */
	bl_ctx tmp = { 0 };
	tmp.cfg = (bl_config *)cfg;
	redisContext *r = bl__ctx_redis(&tmp);
	return r;
}

int bl__redis_cmd(redisContext *r, int argc, const char **argv, redisReply **out)
{
	*out = NULL;
	redisReply *rep = redisCommandArgv(r, argc, argv, NULL);
	if (!rep)
		return bl__fail(BL_EREDIS, "Redis %s: %s", argv[0], r->errstr[0] ? r->errstr : "no reply");
	if (rep->type == REDIS_REPLY_ERROR) {
		int rc = bl__fail(BL_EREDIS, "Redis %s %s: %s", argv[0], argc > 1 ? argv[1] : "", rep->str);
		freeReplyObject(rep);
		return rc;
	}
	*out = rep;
	return BL_OK;
}

int bl__stream_ensure_group(redisContext *r, const bl_config *cfg)
{
	char key[256];
	bl__stream_key(cfg, key, sizeof key);
	const char *argv[] = { "XGROUP", "CREATE", key, bl_config_get(cfg, "BILLING_STREAM_GROUP"), "0",
			       "MKSTREAM" };
	redisReply *rep = redisCommandArgv(r, 6, argv, NULL);
	if (!rep)
		return bl__fail(BL_EREDIS, "Redis XGROUP CREATE %s: %s", key, r->errstr);
	int rc = BL_OK;
	if (rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "BUSYGROUP", 9))
		rc = bl__fail(BL_EREDIS, "Redis XGROUP CREATE %s: %s", key, rep->str);
	freeReplyObject(rep);
	return rc;
}
