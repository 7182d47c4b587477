/*
 * The server's own counters for /metrics: requests by route and status, a
 * latency histogram, failed logins, the start time.  Counted lock-free from
 * any thread; h_stats.c's /metrics handler writes them with the domain
 * figures.  Uses nothing of the server but the route table.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "httpd.h"

#define MAX_ROUTES 96
static const int CODES[] = { 200, 201, 202, 204, 400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 499, 500, 501, 503 };
#define NCODES (sizeof CODES / sizeof CODES[0])
static const double BUCKETS[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5 };
#define NBUCKETS (sizeof BUCKETS / sizeof BUCKETS[0])

static atomic_ulong req_count[MAX_ROUTES + 1][NCODES + 1];
static atomic_ulong dur_bucket[NBUCKETS + 1];
static atomic_ullong dur_sum_us;
static atomic_ulong login_failures;
static time_t start_time;

void metrics_count(size_t route_index, int status, int64_t us)
{
	size_t ri = route_index < NROUTES && route_index < MAX_ROUTES ? route_index : MAX_ROUTES;
	size_t ci = NCODES;
	for (size_t i = 0; i < NCODES; i++)
		if (CODES[i] == status)
			ci = i;
	atomic_fetch_add_explicit(&req_count[ri][ci], 1, memory_order_relaxed);
	size_t b = 0;
	while (b < NBUCKETS && (double)us / 1e6 > BUCKETS[b])
		b++;
	atomic_fetch_add_explicit(&dur_bucket[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&dur_sum_us, (unsigned long long)(us > 0 ? us : 0), memory_order_relaxed);
}

void metrics_login_failed(void)
{
	atomic_fetch_add_explicit(&login_failures, 1, memory_order_relaxed);
}

void metrics_put(outbuf *b, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		size_t room = b->cap - b->len;
		int n = b->s ? vsnprintf(b->s + b->len, room, fmt, ap) : -1;
		va_end(ap);
		if (n >= 0 && (size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap ? b->cap * 2 : 8192;
		while (n >= 0 && cap - b->len <= (size_t)n)
			cap *= 2;
		char *ns = realloc(b->s, cap);
		if (!ns)
			return;
		b->s = ns;
		b->cap = cap;
	}
}

void metrics_gauge(outbuf *b, const char *name, const char *help)
{
	metrics_put(b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

void metrics_http_write(outbuf *b)
{
	metrics_put(b, "# HELP billing_http_requests_total HTTP requests answered, by route and status code\n"
		       "# TYPE billing_http_requests_total counter\n");
	for (size_t ri = 0; ri <= MAX_ROUTES; ri++) {
		if (ri < MAX_ROUTES && ri >= NROUTES)
			continue;
		for (size_t ci = 0; ci <= NCODES; ci++) {
			unsigned long n = atomic_load_explicit(&req_count[ri][ci], memory_order_relaxed);
			if (!n)
				continue;
			char code[8];
			snprintf(code, sizeof code, "%d", ci < NCODES ? CODES[ci] : 0);
			metrics_put(b, "billing_http_requests_total{method=\"%s\",route=\"%s\",code=\"%s\"} %lu\n",
				    ri < NROUTES ? ROUTES[ri].method : "other",
				    ri < NROUTES ? ROUTES[ri].pattern : "unmatched", ci < NCODES ? code : "other", n);
		}
	}
	metrics_put(b, "# HELP billing_http_request_duration_seconds time from request headers to response\n"
		       "# TYPE billing_http_request_duration_seconds histogram\n");
	unsigned long cum = 0;
	for (size_t i = 0; i <= NBUCKETS; i++) {
		cum += atomic_load_explicit(&dur_bucket[i], memory_order_relaxed);
		if (i < NBUCKETS)
			metrics_put(b, "billing_http_request_duration_seconds_bucket{le=\"%g\"} %lu\n", BUCKETS[i], cum);
		else
			metrics_put(b, "billing_http_request_duration_seconds_bucket{le=\"+Inf\"} %lu\n", cum);
	}
	metrics_put(b, "billing_http_request_duration_seconds_sum %.6f\n",
		    (double)atomic_load_explicit(&dur_sum_us, memory_order_relaxed) / 1e6);
	metrics_put(b, "billing_http_request_duration_seconds_count %lu\n", cum);
	metrics_put(b, "# HELP billing_http_login_failures_total failed or refused logins\n"
		       "# TYPE billing_http_login_failures_total counter\n"
		       "billing_http_login_failures_total %lu\n",
		    atomic_load_explicit(&login_failures, memory_order_relaxed));
}

int64_t metrics_start_time(void)
{
	return (int64_t)start_time;
}

__attribute__((constructor)) static void metrics_start_time_init(void)
{
	start_time = (time_t)(bl_ctx_now(NULL) / 1000000);
}
