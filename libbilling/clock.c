/*
 * The library's clock (see include/billing/clock.h and docs/clock.md).
 *
 * This file is the only place in libbilling that reads the system's
 * real-time clock.  Elapsed times (timeouts, rates, durations) use
 * CLOCK_MONOTONIC through bl__mono_ms(); they never decide a date.
 */
#include <ctype.h>
#include <stdatomic.h>
#include <time.h>
#include "db.h"
#include "context_private.h"

#define SEOUL_S (9 * 3600)

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

int64_t bl__ctx_now_ms(const bl_ctx *ctx)
{
	int64_t us = bl_ctx_now(ctx);
	return us >= 0 ? us / 1000 : -((-us + 999) / 1000);
}

int64_t bl__ctx_now_s(const bl_ctx *ctx)
{
	int64_t us = bl_ctx_now(ctx);
	return us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
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

/* ---- the calendar (proleptic Gregorian, Asia/Seoul = UTC+9, no DST) ---- */

/* Days since 1970-01-01 of a date (H. Hinnant's algorithm). */
int64_t bl__days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int bl__days_in_month(int y, int m)
{
	static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (m < 1 || m > 12)
		return 0;
	return m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0) ? 29 : dm[m - 1];
}

void bl__seoul_time(int64_t unix_secs, struct tm *out)
{
	time_t t = (time_t)(unix_secs + SEOUL_S);
	gmtime_r(&t, out);
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

int bl_clock_month(int64_t unix_us, int add_months, char out[8])
{
	if (!out)
		return bl__fail(BL_EINVAL, "bl_clock_month: out is NULL");
	out[0] = '\0';
	if (add_months < -120000 || add_months > 120000)
		return bl__fail(BL_EINVAL, "bl_clock_month: %d months is out of range", add_months);
	struct tm t;
	bl__seoul_time(floor_div(unix_us, 1000000), &t);
	int64_t m = (int64_t)(t.tm_year + 1900) * 12 + t.tm_mon + add_months;
	int64_t y = floor_div(m, 12);
	if (y < 1 || y > 9999)
		return bl__fail(BL_EINVAL, "bl_clock_month: year %lld is out of range", (long long)y);
	snprintf(out, 8, "%04d-%02d", (int)y, (int)(m - y * 12 + 1));
	return BL_OK;
}

void bl__seoul_datetime(int64_t unix_ms, char out[32])
{
	int64_t s = unix_ms >= 0 ? unix_ms / 1000 : -((-unix_ms + 999) / 1000);
	int ms = (int)(unix_ms - s * 1000);
	struct tm t;
	bl__seoul_time(s, &t);
	snprintf(out, 32, "%04u-%02u-%02u %02u:%02u:%02u.%03u", (unsigned)(t.tm_year + 1900) % 10000u,
		 (unsigned)(t.tm_mon + 1) % 100u, (unsigned)t.tm_mday % 100u, (unsigned)t.tm_hour % 100u,
		 (unsigned)t.tm_min % 100u, (unsigned)t.tm_sec % 100u, (unsigned)ms % 1000u);
}

int bl_clock_format(int64_t unix_us, char *out, size_t cap)
{
	if (!out || cap < 20)
		return bl__fail(BL_EINVAL, "bl_clock_format: the buffer needs 20 bytes");
	char dt[32];
	bl__seoul_datetime(floor_div(unix_us, 1000), dt);
	snprintf(out, cap, "%.19s", dt);
	return BL_OK;
}

int bl_clock_parse(const char *s, int64_t *unix_us)
{
	if (!s || !unix_us)
		return bl__fail(BL_EINVAL, "bl_clock_parse: %s is NULL", s ? "unix_us" : "text");
	*unix_us = 0;
	/* YYYY-MM-DD?HH:MM[:SS[.f{1,6}]] */
	size_t len = strnlen(s, 64);
	bool shape = len == 16 || len == 19 || (len >= 21 && len <= 26 && s[19] == '.');
	for (size_t i = 0; shape && i < len; i++) {
		char c = s[i];
		switch (i) {
		case 4: case 7: shape = c == '-'; break;
		case 10: shape = c == ' ' || c == 'T'; break;
		case 13: case 16: shape = c == ':'; break;
		case 19: break;
		default: shape = isdigit((unsigned char)c);
		}
	}
	int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
	if (shape) {
		y = atoi(s);
		mo = atoi(s + 5);
		d = atoi(s + 8);
		h = atoi(s + 11);
		mi = atoi(s + 14);
		sec = len >= 19 ? atoi(s + 17) : 0;
	}
	if (!shape || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > bl__days_in_month(y, mo) || h > 23 ||
	    mi > 59 || sec > 59)
		return bl__fail(BL_EINVAL, "time '%.64s': expected YYYY-MM-DD HH:MM[:SS[.ffffff]] (Asia/Seoul)",
				s);
	int64_t frac = 0;
	for (size_t i = 20, scale = 100000; i < len; i++, scale /= 10)
		frac += (s[i] - '0') * (int64_t)scale;
	*unix_us = ((bl__days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) - SEOUL_S) * 1000000 +
		   frac;
	return BL_OK;
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
