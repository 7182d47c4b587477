/*
 * libbilling — dashboard statistics: messages by status and channel, sends
 * per minute over a window, batch throughput.  Each call runs a few
 * aggregate queries (a full scan of messages for the counts): callers that
 * serve it often cache it (billing-httpd keeps it for about a second).
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

BL_END_DECLS

#endif
