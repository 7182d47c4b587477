/*
 * The scan-count cache of the admin reads (counts.c): counts whose cost
 * grows with the subscribers or the messages (a billing reservation's
 * messages by status, a month's statements, the dashboard's held messages)
 * are answered from this process's memory while a refresher runs in it
 * (bl_counts_refresh, billing-httpd's background thread), and counted live
 * (bounded) otherwise.
 */
#ifndef BL_COUNTS_PRIVATE_H
#define BL_COUNTS_PRIVATE_H

#include "db.h"

/* Counts `arg` on db into *value (a new JSON value). */
typedef int (*bl__count_fn)(MYSQL *db, const char *arg, json_t **value);

/* The cached value of (fn, arg): BL_OK with a new reference in *value and
 * when it was counted (the context's clock, ms) in *as_of_ms, or *value
 * NULL when it is not counted yet (it is now asked for: the refresher counts
 * it within about a second).  BL_ENOTFOUND (no error set) when no refresher
 * runs in this process: count live.  Never touches the database. */
BL_PRIVATE int bl__counts_cached(bl_ctx *ctx, bl__count_fn fn, const char *arg, json_t **value,
				 int64_t *as_of_ms);

/* "counted_at" (Asia/Seoul, to the second) and "counted_age_ms" on obj. */
BL_PRIVATE void bl__counts_stamp(bl_ctx *ctx, json_t *obj, int64_t as_of_ms);

#endif
