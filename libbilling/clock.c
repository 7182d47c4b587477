/*
 * The library's clock (see include/billing/clock.h and docs/clock.md).
 *
 * This file is the only place in libbilling that reads the system's
 * real-time clock.  What a time means in Asia/Seoul (dates, months, the
 * due-date rule) is month.c's.  Elapsed times (timeouts, rates, durations) use
 * CLOCK_MONOTONIC through bl__mono_ms(); they never decide a date.
 */
#include <stdatomic.h>
#include <time.h>
#include "db.h"
#include "context_private.h"

/* ---- clocks ---- */

static int64_t system_now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static int64_t fixed_now_us(void *payload)
{
	return atomic_load_explicit((_Atomic int64_t *)payload, memory_order_relaxed);
}

int64_t bl__clock_now_us(const bl__clock *c)
{
	return c && c->fn ? c->fn(c->payload) : system_now_us();
}

bl__clock bl__ctx_clock(const bl_ctx *ctx)
{
	return ctx ? ctx->clock : (bl__clock){ 0 };
}

void bl__ctx_use_clock(bl_ctx *ctx, bl__clock c)
{
	if (ctx)
		ctx->clock = c;
}

int64_t bl__clock_now_ms(const bl__clock *c)
{
	return bl__floor_div(bl__clock_now_us(c), 1000);
}

int64_t bl__ctx_now_ms(const bl_ctx *ctx)
{
	return bl__floor_div(bl_ctx_now(ctx), 1000);
}

int64_t bl__ctx_now_s(const bl_ctx *ctx)
{
	return bl__floor_div(bl_ctx_now(ctx), 1000000);
}

int bl_ctx_set_clock(bl_ctx *ctx, bl_clock_fn now_us, void *payload)
{
	if (!ctx)
		return bl__fail(BL_EINVAL, "bl_ctx_set_clock: ctx is NULL");
	ctx->clock = (bl__clock){ .fn = now_us, .payload = now_us ? payload : NULL };
	return BL_OK;
}

int bl_ctx_set_time(bl_ctx *ctx, int64_t unix_us)
{
	if (!ctx)
		return bl__fail(BL_EINVAL, "bl_ctx_set_time: ctx is NULL");
	/* MariaDB's `timestamp` takes 1970-01-01 00:00:01 .. 2038-01-19 (10.11) */
	if (unix_us < 1000000 || unix_us > 2147483647LL * 1000000)
		return bl__fail(BL_EINVAL, "bl_ctx_set_time: %lld µs is outside 1970-01-01 .. 2038-01-19",
				(long long)unix_us);
	atomic_store_explicit(&ctx->fixed_us, unix_us, memory_order_relaxed);
	ctx->clock = (bl__clock){ .fn = fixed_now_us, .payload = (void *)&ctx->fixed_us };
	return BL_OK;
}

int64_t bl_ctx_now(const bl_ctx *ctx)
{
	return ctx ? bl__clock_now_us(&ctx->clock) : system_now_us();
}

/* The database session follows the clock: NOW(), CURRENT_TIMESTAMP and
 * column defaults on `db` become `unix_us` until the next call. */
int bl__db_set_clock(MYSQL *db, int64_t unix_us)
{
	if (unix_us < 1000000 || unix_us > 2147483647LL * 1000000)
		return bl__fail(BL_EINVAL, "clock: %lld µs cannot be given to MariaDB (1970..2038)",
				(long long)unix_us);
	char sql[64];
	snprintf(sql, sizeof sql, "SET timestamp = %lld.%06lld", (long long)(unix_us / 1000000),
		 (long long)(unix_us % 1000000));
	return bl__db_query(db, sql);
}

void bl__ctx_adopt_clock(bl_ctx *dst, const bl_ctx *src)
{
	/* a standing clock (bl_ctx_set_time) points into its own context: copy
	 * its time, so the copy outlives `src` */
	if (src->clock.fn == fixed_now_us && src->clock.payload == (const void *)&src->fixed_us) {
		atomic_store_explicit(&dst->fixed_us, atomic_load_explicit(&src->fixed_us, memory_order_relaxed),
				      memory_order_relaxed);
		dst->clock = (bl__clock){ .fn = fixed_now_us, .payload = (void *)&dst->fixed_us };
	} else {
		dst->clock = src->clock;
	}
}
