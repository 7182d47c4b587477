/*
 * /api/stats, /metrics and /healthz (the request counters are metrics.c's).
 *
 * Statistics are expensive (a scan of messages) and asked for often, so a
 * background thread keeps them: requests are answered from memory, never
 * wait for the database (except the very first for a window), and the
 * thread recomputes a window at most once a second, and no more often than
 * every 5× the time the last computation took (so it never keeps the
 * database more than ~20% busy), and only while someone asks for it.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "httpd.h"

#define SLOTS 4
#define MIN_INTERVAL_US 1000000
#define WANTED_FOR_US 30000000  /* keep refreshing a window this long after it was last asked for */
#define FIRST_WAIT_S 15

typedef struct {
	int window;
	char *json;
	size_t len;
	int64_t at_us, wanted_us, took_us;
	int last_rc;
	unsigned tries; /* computations finished */
	bool busy;
} slot;

static slot slots[SLOTS];
static pthread_mutex_t smu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake, done; /* CLOCK_MONOTONIC (stats_cond_init) */

__attribute__((constructor)) static void stats_cond_init(void)
{
	cond_init_monotonic(&wake);
	cond_init_monotonic(&done);
}
static pthread_t refresher;
static bool started, stopping;
static char last_error[256];
static unsigned long computations; /* all windows, for /metrics */

static int64_t interval_us(const slot *s)
{
	int64_t i = s->took_us * 5;
	return i > MIN_INTERVAL_US ? i : MIN_INTERVAL_US;
}

static slot *due_locked(int64_t now)
{
	for (int i = 0; i < SLOTS; i++) {
		slot *s = &slots[i];
		if (!s->window || s->busy)
			continue;
		if (now - s->wanted_us > WANTED_FOR_US) {
			free(s->json);
			memset(s, 0, sizeof *s);
			continue;
		}
		if (!s->json || now - s->at_us >= interval_us(s))
			return s;
	}
	return NULL;
}

static void *refresh_main(void *arg)
{
	(void)arg;
	bl_ctx *ctx = NULL;
	pthread_mutex_lock(&smu);
	while (!stopping) {
		slot *s = due_locked(now_us());
		if (!s) {
			struct timespec ts = deadline_after_ms(200);
			pthread_cond_timedwait(&wake, &smu, &ts);
			continue;
		}
		s->busy = true;
		int window = s->window;
		pthread_mutex_unlock(&smu);

		int64_t t0 = now_us();
		char *json = NULL;
		int rc = ctx ? BL_OK : bl_ctx_new(&ctx, server_config());
		if (rc == BL_OK)
			rc = bl_stats_get(ctx, window, &json);
		char err[256] = "";
		if (rc) {
			char *clean = scrub_pii(bl_error_last());
			snprintf(err, sizeof err, "%s", clean ? clean : "");
			bl_free(clean);
			fprintf(stderr, "%s: statistics: %s\n", HTTPD_NAME, err);
		}
		int64_t took = now_us() - t0;

		pthread_mutex_lock(&smu);
		s->busy = false;
		s->tries++;
		computations++;
		s->last_rc = rc;
		s->took_us = took;
		if (rc == BL_OK) {
			free(s->json);
			s->json = json;
			s->len = strlen(json);
			s->at_us = now_us();
		} else {
			snprintf(last_error, sizeof last_error, "%s", err);
			s->at_us = now_us(); /* retry after the interval, not in a loop */
			bl_free(json);
		}
		pthread_cond_broadcast(&done);
	}
	pthread_mutex_unlock(&smu);
	bl_ctx_free(ctx);
	return NULL;
}

void stats_init(void)
{
	if (!started && pthread_create(&refresher, NULL, refresh_main, NULL) == 0)
		started = true;
}

void stats_shutdown(void)
{
	if (!started)
		return;
	pthread_mutex_lock(&smu);
	stopping = true;
	pthread_cond_broadcast(&wake);
	pthread_cond_broadcast(&done);
	pthread_mutex_unlock(&smu);
	pthread_join(refresher, NULL);
	started = false;
	for (int i = 0; i < SLOTS; i++) {
		free(slots[i].json);
		memset(&slots[i], 0, sizeof slots[i]);
	}
}

/* A copy (free()) of the statistics of `window`; *age_us how old they are. */
char *stats_copy(int window, size_t *len, int64_t *age_us)
{
	int64_t now = now_us();
	char *out = NULL;
	pthread_mutex_lock(&smu);
	slot *s = NULL;
	for (int i = 0; i < SLOTS && !s; i++)
		if (slots[i].window == window)
			s = &slots[i];
	if (!s) {
		/* a free slot, else the one asked for least recently */
		for (int i = 0; i < SLOTS; i++)
			if (!s || !slots[i].window || (s->window && slots[i].wanted_us < s->wanted_us))
				if (!slots[i].busy)
					s = &slots[i];
		if (!s) {
			pthread_mutex_unlock(&smu);
			return NULL;
		}
		free(s->json);
		memset(s, 0, sizeof *s);
		s->window = window;
	}
	s->wanted_us = now;
	if (!s->json || now - s->at_us >= interval_us(s))
		pthread_cond_signal(&wake);
	struct timespec until = deadline_after_ms(FIRST_WAIT_S * 1000LL);
	unsigned tries = s->tries;
	while (!s->json && !stopping && s->window == window) {
		if (s->tries != tries && s->last_rc)
			break; /* computed since we asked, and failed */
		if (pthread_cond_timedwait(&done, &smu, &until))
			break;
	}
	if (s->json && s->window == window) {
		out = malloc(s->len + 1);
		if (out) {
			memcpy(out, s->json, s->len + 1);
			*len = s->len;
			*age_us = now_us() - s->at_us;
		}
	}
	pthread_mutex_unlock(&smu);
	return out;
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
	pthread_mutex_lock(&smu);
	unsigned long computed = computations;
	pthread_mutex_unlock(&smu);
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
