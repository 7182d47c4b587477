/*
 * libbilling — the clock: the one answer to "what time is it".
 *
 * Every decision of the library that depends on the time (due dates, quiet
 * hours, reservations, the monthly schedule, leases, session expiry, the
 * previous-month defaults of the frontends) reads the clock of its context.
 * By default that is the system's real-time clock; a test, a replay or a
 * simulation sets another one per context.  Work the library runs for a
 * context in other threads or connections (batch partitions, worker threads,
 * background jobs) uses the clock of the context that started it.
 *
 * MariaDB follows the same clock: before a context's connection is used, the
 * library sets the session variable `timestamp` to the context's time, so
 * NOW(), CURRENT_TIMESTAMP and column defaults on that connection are the
 * library's time, not the database server's (see docs/clock.md).
 *
 * Times are microseconds since the Unix epoch (UTC).  Dates and months are
 * those of Asia/Seoul (UTC+9, no daylight saving time).
 */
#ifndef BILLING_CLOCK_H
#define BILLING_CLOCK_H

#include "common.h"
#include "context.h"

BL_BEGIN_DECLS

/** A clock: returns the current time in microseconds since the Unix epoch.
 *  It may be called from several threads at once. */
typedef int64_t (*bl_clock_fn)(void *payload);

/** Use `now_us(payload)` as the context's clock; NULL restores the system
 *  clock.  Contexts that the library derives from `ctx` later (worker and
 *  batch threads, background jobs) use it too. */
BL_EXTERN(int) bl_ctx_set_clock(bl_ctx *ctx, bl_clock_fn now_us, void *payload);

/** A clock that stands still at `unix_us` until it is set again (tests).
 *  Derived contexts and connections follow each new setting. */
BL_EXTERN(int) bl_ctx_set_time(bl_ctx *ctx, int64_t unix_us);

/** The context's current time (µs since the epoch); NULL: the system clock. */
BL_EXTERN(int64_t) bl_ctx_now(const bl_ctx *ctx);

/** The Asia/Seoul month of `unix_us` moved by `add_months` (may be
 *  negative), as "YYYY-MM" into out[8].  E.g. the default month of a batch
 *  is bl_clock_month(bl_ctx_now(ctx), -1, out). */
BL_EXTERN(int) bl_clock_month(int64_t unix_us, int add_months, char out[8]);

/** The month `add_months` (may be negative) after the month "YYYY-MM" (as
 *  bl_month_parse checks it), as "YYYY-MM" into out[8]: the month before
 *  2027-01 is 2026-12.  BL_EINVAL for a bad month or a result outside
 *  2000-01 .. 2999-12. */
BL_EXTERN(int) bl_month_add(const char *month, int add_months, char out[8]);

/** `unix_us` as an Asia/Seoul wall-clock time "YYYY-MM-DD HH:MM:SS" (19
 *  characters) into out[cap]; BL_EINVAL when cap < 20. */
BL_EXTERN(int) bl_clock_format(int64_t unix_us, char *out, size_t cap);

/** Parse an Asia/Seoul wall-clock time "YYYY-MM-DD HH:MM[:SS[.fff]]" (as
 *  the database returns DATETIME values) into µs since the epoch. */
BL_EXTERN(int) bl_clock_parse(const char *text, int64_t *unix_us);

BL_END_DECLS

#endif
