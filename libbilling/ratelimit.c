/*
 * A fixed-window counter in Redis, shared by every process of the
 * installation: "at most `limit` of `what` per `window_s` seconds".  The
 * key holds a digest of `what`, never the value itself.
 */
#include <sodium.h>
#include "stream_private.h"

int bl__rate_take(bl_ctx *ctx, const char *kind, const char *what, int64_t limit, int64_t window_s,
		  int64_t *retry_after_s)
{
	*retry_after_s = 0;
	if (sodium_init() < 0)
		return bl__fail(BL_ECRYPTO, "libsodium could not be initialised");
	redisContext *r = bl__ctx_redis(ctx);
	if (!r)
		return bl__fail_wrap(bl_error_last_code(), "rate limiter");
	unsigned char h[16];
	crypto_generichash(h, sizeof h, (const unsigned char *)what, strlen(what), NULL, 0);
	char hex[33], key[256], w[24];
	sodium_bin2hex(hex, sizeof hex, h, sizeof h);
	snprintf(key, sizeof key, "%srate:%s:%s", bl_config_get(bl_ctx_config(ctx), "REDIS_PREFIX"), kind, hex);
	snprintf(w, sizeof w, "%lld", (long long)window_s);
	const char *incr[] = { "INCR", key };
	redisReply *rep = NULL;
	int rc = bl__redis_cmd(r, 2, incr, &rep);
	if (rc)
		return bl__fail_wrap(rc, "rate limiter");
	long long n = rep->type == REDIS_REPLY_INTEGER ? rep->integer : 0;
	freeReplyObject(rep);
	if (n == 1) {
		const char *ex[] = { "EXPIRE", key, w };
		if ((rc = bl__redis_cmd(r, 3, ex, &rep)))
			return bl__fail_wrap(rc, "rate limiter");
		freeReplyObject(rep);
	}
	if (n <= limit)
		return BL_OK;
	const char *ttl[] = { "TTL", key };
	if ((rc = bl__redis_cmd(r, 2, ttl, &rep)))
		return bl__fail_wrap(rc, "rate limiter");
	long long t = rep->type == REDIS_REPLY_INTEGER ? rep->integer : -1;
	freeReplyObject(rep);
	if (t < 0) { /* a key without expiry (lost EXPIRE): give it one */
		const char *ex[] = { "EXPIRE", key, w };
		if (bl__redis_cmd(r, 3, ex, &rep) == BL_OK)
			freeReplyObject(rep);
		t = window_s;
	}
	*retry_after_s = t > 0 ? t : 1;
	return bl__fail(BL_ELIMIT, "at most %lld %s per %lld s: try again in %lld s", (long long)limit, kind,
			(long long)window_s, (long long)*retry_after_s);
}
