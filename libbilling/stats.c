/*
 * Dashboard statistics (stats.h): aggregate reads over messages,
 * message_attempts and batch_runs, shaped for a dashboard and for
 * Prometheus gauges.
 */
#include "db.h"

#define RECENT_RUNS 10

static const char *MSG_STATUSES[] = { "WAITING", "PROCESSING", "SUCCESS", "FAILED", "EXCEEDED", "DEAD", "BOUNCED", "SUPPRESSED",
				      "DELIVERED", "UNDELIVERED", NULL };
static const char *CHANNELS[] = { "EMAIL", "SMS", NULL };
static const char *RUN_STATUSES[] = { "STARTED", "COMPLETED", "FAILED", "STOPPED", NULL };

static json_t *zeros(const char **keys)
{
	json_t *o = json_object();
	for (const char **k = keys; o && *k; k++)
		json_object_set_new(o, *k, json_integer(0));
	return o;
}

static void add(json_t *o, const char *key, json_int_t n)
{
	json_t *v = json_object_get(o, key);
	json_object_set_new(o, key, json_integer((v ? json_integer_value(v) : 0) + n));
}

static json_t *messages_part(json_t *rows)
{
	json_t *by_status = zeros(MSG_STATUSES), *by_channel = zeros(CHANNELS);
	json_int_t total = 0;
	size_t i;
	json_t *r;
	json_array_foreach(rows, i, r) {
		json_int_t n = json_integer_value(json_object_get(r, "count"));
		add(by_status, json_string_value(json_object_get(r, "status")), n);
		add(by_channel, json_string_value(json_object_get(r, "channel")), n);
		total += n;
	}
	return json_pack("{s:I,s:o,s:o,s:O}", "total", (json_int_t)total, "by_status", by_status,
			 "by_channel", by_channel, "by_status_channel", rows);
}

static json_t *batch_part(json_t *counts, json_t *recent)
{
	json_t *by = zeros(RUN_STATUSES);
	size_t i;
	json_t *r;
	json_array_foreach(counts, i, r)
		add(by, json_string_value(json_object_get(r, "status")),
		    json_integer_value(json_object_get(r, "count")));
	json_array_foreach(recent, i, r) {
		json_int_t done = json_integer_value(json_object_get(r, "processed_count"));
		json_int_t ms = json_integer_value(json_object_get(r, "duration_ms"));
		/* subscribers per second, one decimal, from integers */
		json_object_set_new(r, "per_second", ms > 0 ? json_real((double)(done * 10000 / ms) / 10.0)
							    : json_null());
	}
	return json_pack("{s:o,s:O}", "runs_by_status", by, "recent", recent);
}

/* The statistics (bl_stats_get's object) into *out. */
static int stats_json(bl_ctx *ctx, int window_minutes, json_t **out)
{
	*out = NULL;
	if (window_minutes < 1 || window_minutes > 1440)
		return bl__fail(BL_EINVAL, "window %d minutes: must be 1-1440", window_minutes);
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	json_t *msgs = NULL, *per_min = NULL, *runs = NULL, *recent = NULL, *now = NULL;
	bl__param w[] = { BP_I64(window_minutes) };
	bl__param lim[] = { BP_I64(RECENT_RUNS) };
	int rc = bl__db_json(db,
			     "SELECT status, channel, COUNT(*) AS count FROM messages "
			     "GROUP BY status, channel ORDER BY status, channel",
			     NULL, 0, &msgs);
	if (rc == BL_OK)
		rc = bl__db_json(db,
				 "SELECT DATE_FORMAT(finished_at, '%Y-%m-%d %H:%i') AS minute, "
				 "CAST(SUM(status = 'SUCCESS') AS SIGNED) AS success, "
				 "CAST(SUM(status = 'FAILED') AS SIGNED) AS failed "
				 "FROM message_attempts WHERE finished_at >= NOW(3) - INTERVAL ? MINUTE "
				 "GROUP BY minute ORDER BY minute",
				 w, 1, &per_min);
	if (rc == BL_OK)
		rc = bl__db_json(db, "SELECT status, COUNT(*) AS count FROM batch_runs GROUP BY status", NULL,
				 0, &runs);
	if (rc == BL_OK)
		rc = bl__db_json(db,
				 "SELECT id, target_month, mode, status, processed_count, total_count, "
				 "CAST(IF(status = 'STARTED', TIMESTAMPDIFF(MICROSECOND, started_at, NOW(3)) "
				 "DIV 1000, duration_ms) AS SIGNED) AS duration_ms "
				 "FROM batch_runs ORDER BY id DESC LIMIT ?",
				 lim, 1, &recent);
	if (rc == BL_OK)
		rc = bl__db_json(db, "SELECT DATE_FORMAT(NOW(), '%Y-%m-%d %H:%i:%s') AS now", NULL, 0, &now);
	if (rc == BL_OK) {
		json_int_t ok = 0, failed = 0;
		size_t i;
		json_t *r;
		json_array_foreach(per_min, i, r) {
			ok += json_integer_value(json_object_get(r, "success"));
			failed += json_integer_value(json_object_get(r, "failed"));
		}
		json_t *o = json_pack("{s:O,s:i,s:o,s:O,s:{s:I,s:I},s:o}", "generated_at",
				      json_object_get(json_array_get(now, 0), "now"), "window_minutes",
				      window_minutes, "messages", messages_part(msgs), "sends_per_minute",
				      per_min, "sends_in_window", "success", ok, "failed", failed, "batch",
				      batch_part(runs, recent));
		rc = o ? BL_OK : bl__fail(BL_ENOMEM, "out of memory");
		*out = o;
	}
	json_decref(msgs);
	json_decref(per_min);
	json_decref(runs);
	json_decref(recent);
	json_decref(now);
	return rc;
}

int bl_stats_get(bl_ctx *ctx, int window_minutes, char **json)
{
	if (!ctx || !json)
		return bl__fail(BL_EINVAL, "bl_stats_get: NULL argument");
	json_t *o = NULL;
	int rc = stats_json(ctx, window_minutes, &o);
	if (rc == BL_OK)
		rc = bl__json_out(o, json);
	json_decref(o);
	return rc;
}

/* Kept for the ABI (libbilling.so.0 exports it): a part of bl_stats_get's
 * answer over the last hour, under the names it always had. */
int bl_message_stats(bl_ctx *ctx, char **json)
{
	if (!ctx || !json)
		return bl__fail(BL_EINVAL, "bl_message_stats: NULL argument");
	json_t *s = NULL;
	int rc = stats_json(ctx, 60, &s);
	if (rc == BL_OK) {
		json_t *o = json_pack("{s:O,s:O}", "by_status_channel",
				      json_object_get(json_object_get(s, "messages"), "by_status_channel"),
				      "per_minute", json_object_get(s, "sends_per_minute"));
		rc = bl__json_out(o, json);
		json_decref(o);
	}
	json_decref(s);
	return rc;
}
