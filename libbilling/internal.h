/*
 * libbilling — shared private helpers.  Not installed.
 */
#ifndef BL_INTERNAL_H
#define BL_INTERNAL_H

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <time.h>

#include "billing/billing.h"

#define BL_PRIVATE __attribute__((visibility("hidden")))
#define BL_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* ---- cleanup helpers (systemd style) ---- */
#define _cleanup_(f) __attribute__((cleanup(f)))
static inline void bl__freep(void *p) { free(*(void **)p); }
#define _cleanup_free_ _cleanup_(bl__freep)
static inline void *bl__take_ptr(void *pp)
{
	void **p = pp, *v = *p;
	*p = NULL;
	return v;
}
#define TAKE_PTR(p) bl__take_ptr(&(p))

/* ---- errors (error.c) ---- */
/* Record a failure on this thread and return `code`. */
BL_PRIVATE int bl__fail(int code, const char *fmt, ...) BL_PRINTF(2, 3);
/* Prefix the current message with context: "context: <old message>". */
BL_PRIVATE int bl__fail_wrap(int code, const char *fmt, ...) BL_PRINTF(2, 3);

/* ---- growable string buffer (strbuf.c) ---- */
typedef struct {
	char *s;
	size_t len, cap;
	int oom;
} bl_strbuf;
BL_PRIVATE int bl__sb_append(bl_strbuf *b, const char *s, size_t n);
BL_PRIVATE int bl__sb_puts(bl_strbuf *b, const char *s);
BL_PRIVATE int bl__sb_printf(bl_strbuf *b, const char *fmt, ...) BL_PRINTF(2, 3);
BL_PRIVATE char *bl__sb_steal(bl_strbuf *b);
/* The one builder of SQL `IN (?,?,...)` lists: n placeholders "?,?,...,?"
 * appended to b; head + the n placeholders + tail as a new string (NULL:
 * out of memory), e.g. bl__sql_in("... WHERE id IN (", n, ")"). */
BL_PRIVATE int bl__sb_placeholders(bl_strbuf *b, size_t n);
BL_PRIVATE char *bl__sql_in(const char *head, size_t n, const char *tail);
BL_PRIVATE void bl__sb_free(bl_strbuf *b);

BL_PRIVATE char *bl__strdup(const char *s);
/* This process as "host:pid" (owner.c): the owner of runs, claims and
 * expansions, and the worker's stream consumer name. */
#define BL__OWNER_MAX 128
BL_PRIVATE void bl__owner_name(char out[BL__OWNER_MAX]);
/* Nanoseconds / milliseconds of CLOCK_MONOTONIC: for measuring elapsed
 * time (timeouts, rates, durations); they never decide a date. */
static inline int64_t bl__mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
static inline int64_t bl__mono_ms(void)
{
	return bl__mono_ns() / 1000000;
}
/* `ms` from now on CLOCK_MONOTONIC: the deadline of a timed wait on a
 * condition variable created with pthread_condattr_setclock(MONOTONIC). */
static inline struct timespec bl__mono_deadline(int64_t ms)
{
	int64_t ns = bl__mono_ns() + (ms > 0 ? ms : 0) * 1000000;
	struct timespec ts = { (time_t)(ns / 1000000000), (long)(ns % 1000000000) };
	return ts;
}
/* Take one of `limit` per `window_s` for (kind, what) in Redis (ratelimit.c):
 * BL_OK, or BL_ELIMIT with *retry_after_s.  `what` is stored as a digest. */
BL_PRIVATE int bl__rate_take(bl_ctx *ctx, const char *kind, const char *what, int64_t limit,
			     int64_t window_s, int64_t *retry_after_s);
/* bl_pii_scrub into out[cap] (cut to fit, always terminated when cap > 0);
 * returns the length written, or when cap is 0 the length the whole result
 * needs (pii_scrub.c).  Text past BL__PII_SCRUB_MAX bytes is left out. */
#define BL__PII_SCRUB_MAX ((size_t)16 << 20)
BL_PRIVATE size_t bl__pii_scrub_buf(const char *in, char *out, size_t cap);
BL_PRIVATE int bl__parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);

/* ---- config (config.c) ---- */
/* Integer value of a validated numeric setting (defaults guarantee one). */
BL_PRIVATE int64_t bl__config_int(const bl_config *cfg, const char *key);

/* ---- context (context.c) ---- */
struct st_mysql;
struct redisContext;
/* The context's MariaDB connection, connected on demand (NULL + error). */
BL_PRIVATE struct st_mysql *bl__ctx_db(bl_ctx *ctx);
BL_PRIVATE struct redisContext *bl__ctx_redis(bl_ctx *ctx);
/* Forget the connection after a fatal error so the next call reconnects. */
BL_PRIVATE void bl__ctx_db_reset(bl_ctx *ctx);

/* ---- time (clock.c) ---- */
/* A clock as the library passes it around: fn NULL = the system clock. */
typedef struct {
	bl_clock_fn fn;
	void *payload;
} bl__clock;
BL_PRIVATE int64_t bl__clock_now_us(const bl__clock *c);
/* The same in milliseconds (floored): the time of a worker or a thread that
 * carries a clock rather than a context. */
BL_PRIVATE int64_t bl__clock_now_ms(const bl__clock *c);
/* The clock of a context, to hand to contexts and threads derived from it. */
BL_PRIVATE bl__clock bl__ctx_clock(const bl_ctx *ctx);
BL_PRIVATE void bl__ctx_use_clock(bl_ctx *ctx, bl__clock c);
/* dst gets src's clock; a standing clock (bl_ctx_set_time) is copied by value. */
BL_PRIVATE void bl__ctx_adopt_clock(bl_ctx *dst, const bl_ctx *src);
/* A new context for another thread: ctx's configuration and clock (context.c). */
BL_PRIVATE int bl__ctx_derive(const bl_ctx *ctx, bl_ctx **out);
/* bl_ctx_now in milliseconds / seconds (floored). */
BL_PRIVATE int64_t bl__ctx_now_ms(const bl_ctx *ctx);
BL_PRIVATE int64_t bl__ctx_now_s(const bl_ctx *ctx);
/* MariaDB session `timestamp` := unix_us, so NOW() follows the clock. */
struct st_mysql;
BL_PRIVATE int bl__db_set_clock(struct st_mysql *db, int64_t unix_us);
/* ---- months and Asia/Seoul time (month.c) ---- */
#include "month_private.h"

#endif
