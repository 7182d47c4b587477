/*
 * libbilling — dashboard statistics: messages by status and channel, sends
 * per minute over a window, batch throughput.  Each call runs a few
 * aggregate queries (a full scan of messages for the counts): callers that
 * serve it often use a bl_stats_cache.
 */
#ifndef BILLING_STATS_H
#define BILLING_STATS_H

#include "common.h"
#include "context.h"

BL_BEGIN_DECLS

/**
 * The statistics as a JSON object (bl_free):
 * {"generated_at", "window_minutes",
 *  "messages": {"total", "by_status": {STATUS: n}, "by_channel": {CHANNEL: n},
 *               "by_status_channel": [{"status","channel","count"}]},
 *  "sends_per_minute": [{"minute","success","failed"}], "sends_in_window": {"success","failed"},
 *  "batch": {"runs_by_status": {STATUS: n}, "recent": [{"id","target_month","mode","status",
 *            "processed_count","total_count","duration_ms","per_second"}]}}
 * `window_minutes`: 1-1440.  Every status and channel appears, with 0 when none.
 */
BL_EXTERN(int) bl_stats_get(bl_ctx *ctx, int window_minutes, char **json);

/**
 * The statistics kept fresh in memory by a thread of their own, for
 * dashboards that ask often.  A window is recomputed at most once a second
 * and no more often than every 5x the time its last computation took (the
 * cache keeps the database at most ~20% busy), and only while it was asked
 * for in the last 30 s; at most four windows are kept.  The cache works on
 * a context derived from `ctx` (its configuration and clock); `ctx` may be
 * freed afterwards.  Free with bl_stats_cache_free (NULL-safe; stops and
 * joins the thread).
 */
typedef struct bl_stats_cache bl_stats_cache;
BL_EXTERN(int) bl_stats_cache_new(bl_ctx *ctx, bl_stats_cache **out);
BL_EXTERN(void) bl_stats_cache_free(bl_stats_cache *cache);

/**
 * bl_stats_get's JSON for `window_minutes` (1-1440) from the cache (bl_free),
 * and how old it is in milliseconds (age_ms may be NULL).  Only the first
 * reader of a window waits for the database (up to 15 s); when no
 * statistics could be computed the error of the last computation is
 * returned, BL_ELIMIT when all four windows are being computed.
 */
BL_EXTERN(int) bl_stats_cache_get(bl_stats_cache *cache, int window_minutes, char **json, int64_t *age_ms);

/** Computations finished (all windows, failed ones too): for /metrics. */
BL_EXTERN(uint64_t) bl_stats_cache_computations(bl_stats_cache *cache);

/**
 * The admin reads' scan counts, for a long-running process that serves them
 * (billing-httpd): call this from one background thread every ~200 ms.  While
 * it is called (at least every 10 s), the counts whose cost grows with the
 * subscribers or the messages (a reservation's messages by status, a
 * month's statements, the dashboard's held messages; see docs/api.md) are
 * answered from this process's memory, with "counted_at" and
 * "counted_age_ms", and recounted here in the background; without it they
 * are counted live, bounded by BILLING_COUNT_TIMEOUT_MS.  Counts what is due
 * (at most about a second of work per call); *counted (may be NULL): how
 * many.  Thread-safe; the counts run on ctx's connection.
 */
BL_EXTERN(int) bl_counts_refresh(bl_ctx *ctx, int *counted);
/**
 * Run bl_counts_refresh in a thread of the library, on a context derived
 * from `ctx` (its configuration and clock), every 200 ms (1 s after a
 * failure, which goes to `log` when given: one line without personal data).
 * One per process: BL_ECONFLICT when it runs already.  bl_counts_stop stops
 * and joins it.
 */
BL_EXTERN(int) bl_counts_start(bl_ctx *ctx, void (*log)(const char *line, void *payload), void *payload);
/** Stop the thread of bl_counts_start (if any), turn the cache off (back to
 *  live counts) and forget its values. */
BL_EXTERN(void) bl_counts_stop(void);

BL_END_DECLS

#endif
