/*
 * /api/stats, /metrics and /healthz (the request counters are metrics.c's).
 * Statistics come from the library's cache (bl_stats_cache: refreshed in
 * the background, at most ~20% of the database's time), and the admin
 * reads' scan counts from its count cache (bl_counts_start), never from a
 * scan on the request path.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "httpd.h"

static bl_stats_cache *cache;

static void counts_log(const char *line, void *payload)
{
	(void)payload;
	fprintf(stderr, "%s: %s\n", HTTPD_NAME, line);
}

void stats_init(const bl_config *cfg)
{
	/* the library's caches, each with its own thread and connection: the
	 * dashboard statistics, and the admin reads' scan counts */
	bl_ctx *ctx = NULL;
	if (cache || bl_ctx_new(&ctx, cfg) != BL_OK)
		return;
	if (bl_stats_cache_new(ctx, &cache) != BL_OK || bl_counts_start(ctx, counts_log, NULL) != BL_OK)
		fprintf(stderr, "%s: statistics: %s\n", HTTPD_NAME, bl_error_last());
	bl_ctx_free(ctx);
}

void stats_shutdown(void)
{
	bl_stats_cache_free(cache);
	cache = NULL;
	bl_counts_stop();
}

/* A copy (free()) of the statistics of `window`; *age_us how old they are. */
char *stats_copy(int window, size_t *len, int64_t *age_us)
{
	char *json = NULL;
	int64_t age_ms = 0;
	if (bl_stats_cache_get(cache, window, &json, &age_ms) != BL_OK) {
		/* logged at most every 10 s, however often the pages ask */
		static atomic_llong logged_us;
		int64_t now = now_us(), last = atomic_load(&logged_us);
		if (now - last >= 10000000 && atomic_compare_exchange_strong(&logged_us, &last, now)) {
			char *clean = scrub_pii(bl_error_last());
			fprintf(stderr, "%s: statistics: %s\n", HTTPD_NAME, clean ? clean : "");
			bl_free(clean);
		}
		return NULL;
	}
	*len = strlen(json);
	*age_us = age_ms * 1000;
	return json;
}

void h_stats(req *r)
{
	int64_t window;
	if (!query_i64(r, "window", 1, 1440, 60, &window))
		return;
	size_t len = 0;
	int64_t age = 0;
	char *s = stats_copy((int)window, &len, &age);
	if (!s) {
		reply_error(r, 503, NULL, NULL, "statistics are not available now; try again");
		return;
	}
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, s, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(s);
		reply_error(r, 500, NULL, NULL, "out of memory");
		return;
	}
	char a[32];
	snprintf(a, sizeof a, "%lld", (long long)(age / 1000000));
	MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
	MHD_add_response_header(resp, "Age", a);
	queue(r, 200, resp);
}

/* ---- metrics ---- */

static void domain_metrics(outbuf *b)
{
	size_t len;
	int64_t age = 0;
	char *s = stats_copy(60, &len, &age);
	json_t *j = s ? json_loads(s, 0, NULL) : NULL;
	free(s);
	metrics_gauge(b, "billing_stats_up", "1 when the statistics below could be read from the database");
	metrics_put(b, "billing_stats_up %d\n", j ? 1 : 0);
	if (!j)
		return;
	metrics_gauge(b, "billing_stats_age_seconds", "age of the cached statistics");
	metrics_put(b, "billing_stats_age_seconds %.3f\n", (double)age / 1e6);
	unsigned long computed = (unsigned long)bl_stats_cache_computations(cache);
	metrics_put(b, "# HELP billing_stats_computations_total statistics computed from the database (all windows)\n"
	       "# TYPE billing_stats_computations_total counter\nbilling_stats_computations_total %lu\n", computed);
	static const char *statuses[] = { "WAITING", "PROCESSING", "SUCCESS", "FAILED", "EXCEEDED", "DEAD",
					  "BOUNCED", "SUPPRESSED", "DELIVERED", "UNDELIVERED" };
	static const char *channels[] = { "EMAIL", "SMS" };
	json_t *rows = json_object_get(json_object_get(j, "messages"), "by_status_channel");
	metrics_gauge(b, "billing_messages", "messages by status and channel");
	for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
		for (size_t c = 0; c < 2; c++) {
			json_int_t n = 0;
			size_t k;
			json_t *row;
			json_array_foreach(rows, k, row)
				if (!strcmp(json_string_value(json_object_get(row, "status")) ?: "", statuses[i]) &&
				    !strcmp(json_string_value(json_object_get(row, "channel")) ?: "", channels[c]))
					n = json_integer_value(json_object_get(row, "count"));
			metrics_put(b, "billing_messages{status=\"%s\",channel=\"%s\"} %lld\n", statuses[i], channels[c],
			    (long long)n);
		}
	json_t *sw = json_object_get(j, "sends_in_window");
	metrics_gauge(b, "billing_message_attempts_last_hour", "send attempts finished in the last hour by result");
	metrics_put(b, "billing_message_attempts_last_hour{result=\"success\"} %lld\n",
	    (long long)json_integer_value(json_object_get(sw, "success")));
	metrics_put(b, "billing_message_attempts_last_hour{result=\"failed\"} %lld\n",
	    (long long)json_integer_value(json_object_get(sw, "failed")));
	json_t *runs = json_object_get(json_object_get(j, "batch"), "runs_by_status");
	metrics_gauge(b, "billing_batch_runs", "batch runs by status");
	const char *k;
	json_t *v;
	json_object_foreach(runs, k, v)
		metrics_put(b, "billing_batch_runs{status=\"%s\"} %lld\n", k, (long long)json_integer_value(v));
	json_decref(j);
}

void h_metrics(req *r)
{
	outbuf b = { 0 };
	metrics_http_write(&b);
	metrics_gauge(&b, "billing_http_requests_in_flight", "requests being handled");
	metrics_put(&b, "billing_http_requests_in_flight %ld\n", server_in_flight());
	metrics_put(&b, "# HELP billing_http_busy_total requests answered 503 because no context became free in time\n"
			"# TYPE billing_http_busy_total counter\nbilling_http_busy_total %ld\n",
		    server_refused());
	metrics_gauge(&b, "billing_http_sessions_cached", "sessions in this process's cache");
	metrics_put(&b, "billing_http_sessions_cached %ld\n", session_cache_size());
	metrics_gauge(&b, "billing_httpd_start_time_seconds", "unix time the process started");
	metrics_put(&b, "billing_httpd_start_time_seconds %lld\n", (long long)metrics_start_time());
	domain_metrics(&b);
	char *sms = sms_metrics_text(r->ctx); /* h_hooks.c: the SMS gateways' breakers */
	if (sms)
		metrics_put(&b, "%s", sms);
	free(sms);
	if (!b.s) {
		reply_error(r, 500, NULL, NULL, "out of memory");
		return;
	}
	struct MHD_Response *resp = MHD_create_response_from_buffer(b.len, b.s, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(b.s);
		reply_error(r, 500, NULL, NULL, "out of memory");
		return;
	}
	MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	queue(r, 200, resp);
}

/* ---- health ---- */

void h_healthz(req *r)
{
	int db = bl_ctx_ping_db(r->ctx);
	char dbmsg[256];
	snprintf(dbmsg, sizeof dbmsg, "%s", db ? bl_error_last() : "");
	int rd = bl_ctx_ping_redis(r->ctx);
	if (db || rd)
		fprintf(stderr, "%s: healthz: %s%s%s\n", HTTPD_NAME, dbmsg, db && rd ? "; " : "",
			rd ? bl_error_last() : "");
	reply_json(r, db || rd ? 503 : 200,
		   json_pack("{s:s,s:s,s:s}", "status", db || rd ? "unavailable" : "ok", "db",
			     db ? "unavailable" : "ok", "redis", rd ? "unavailable" : "ok"));
}
