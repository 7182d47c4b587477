/*
 * The scan-count cache (counts_private.h): one table per process.
 *
 * An entry is a count function and its argument, its last value, when it
 * was counted and how long that took, and when a reader last asked for it.
 * bl_counts_refresh (one background thread) recounts an entry that is asked
 * for when it is older than max(1 s, 5 × its last count's time), and
 * forgets an entry nobody asked for in 60 s.  After a count of t ms the next
 * count (of any entry) waits 4 t: all of them together keep one connection
 * busy at most 1/5 of the time.  With k entries asked for, each of about t,
 * a value is therefore at most about max(1 s, 5 k t) + t old when read
 * (t: ~0.3-1 s for 1 M rows quiet, a few seconds while a batch writes),
 * plus one refresh period (the caller's, ~0.2 s); each answer carries its
 * time.
 * Readers never wait for the database.
 */
#include <pthread.h>
#include <stdio.h>
#include "internal.h"
#include <billing/stats.h>
#include "counts_private.h"

#define MAX_ENTRIES 256
#define MIN_INTERVAL_MS 1000
#define FORGET_MS 60000
#define ALIVE_MS 10000 /* the refresher counts as running this long after its last call */
#define ARG_MAX 64

typedef struct {
	bl__count_fn fn;
	char arg[ARG_MAX];
	json_t *value;
	int64_t as_of_ms;      /* context clock */
	int64_t counted_mono;  /* bl__mono_ms at the end of the count */
	int64_t took_ms;
	int64_t wanted_mono;
	bool busy;
} entry;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static entry entries[MAX_ENTRIES];
static int64_t alive_until_mono = -1;
static int64_t next_count_mono; /* all counts together: at most 1/5 of the time (see below) */
static bool stopped = true;

static entry *find_locked(bl__count_fn fn, const char *arg)
{
	for (int i = 0; i < MAX_ENTRIES; i++)
		if (entries[i].fn == fn && !strcmp(entries[i].arg, arg))
			return &entries[i];
	return NULL;
}

int bl__counts_cached(bl_ctx *ctx, bl__count_fn fn, const char *arg, json_t **value, int64_t *as_of_ms)
{
	(void)ctx;
	*value = NULL;
	*as_of_ms = 0;
	if (!arg || strlen(arg) >= ARG_MAX)
		return BL_ENOTFOUND;
	int64_t now = bl__mono_ms();
	pthread_mutex_lock(&mu);
	if (stopped || now > alive_until_mono) {
		pthread_mutex_unlock(&mu);
		return BL_ENOTFOUND;
	}
	entry *e = find_locked(fn, arg);
	if (!e) {
		e = find_locked(NULL, ""); /* a free slot */
		if (!e) {                  /* full: the one asked for longest ago */
			e = &entries[0];
			for (int i = 1; i < MAX_ENTRIES; i++)
				if (!entries[i].busy && entries[i].wanted_mono < e->wanted_mono)
					e = &entries[i];
			if (e->busy) {
				pthread_mutex_unlock(&mu);
				return BL_ENOTFOUND;
			}
			json_decref(e->value);
			memset(e, 0, sizeof *e);
		}
		e->fn = fn;
		snprintf(e->arg, sizeof e->arg, "%s", arg);
	}
	e->wanted_mono = now;
	if (e->value) {
		*value = json_deep_copy(e->value);
		*as_of_ms = e->as_of_ms;
	}
	pthread_mutex_unlock(&mu);
	return BL_OK;
}

void bl__counts_stamp(bl_ctx *ctx, json_t *obj, int64_t as_of_ms)
{
	char at[32];
	bl__seoul_datetime(as_of_ms, at);
	at[19] = '\0'; /* to the second */
	int64_t age = bl__ctx_now_ms(ctx) - as_of_ms;
	json_object_set_new(obj, "counted_at", json_string(at));
	json_object_set_new(obj, "counted_age_ms", json_integer(age > 0 ? age : 0));
}

/* The entry due first (asked for, and never counted or old enough), busy. */
static entry *due_locked(int64_t now)
{
	entry *best = NULL;
	for (int i = 0; i < MAX_ENTRIES; i++) {
		entry *e = &entries[i];
		if (!e->fn || e->busy)
			continue;
		if (now - e->wanted_mono > FORGET_MS) {
			json_decref(e->value);
			memset(e, 0, sizeof *e);
			continue;
		}
		int64_t interval = e->took_ms * 5 > MIN_INTERVAL_MS ? e->took_ms * 5 : MIN_INTERVAL_MS;
		if (e->value && now - e->counted_mono < interval)
			continue;
		if (!best || !e->value || (best->value && e->counted_mono < best->counted_mono))
			best = e;
		if (!e->value)
			break; /* never counted: first */
	}
	if (best)
		best->busy = true;
	return best;
}

int bl_counts_refresh(bl_ctx *ctx, int *counted)
{
	if (counted)
		*counted = 0;
	if (!ctx)
		return bl__fail(BL_EINVAL, "bl_counts_refresh: ctx is NULL");
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	int64_t start = bl__mono_ms();
	pthread_mutex_lock(&mu);
	stopped = false;
	alive_until_mono = start + ALIVE_MS;
	int rc = BL_OK;
	/* at most ~1 s of counting per call, so the caller's loop stays responsive;
	 * after a count of t ms the next waits 4 t, so that all the counts
	 * together keep the connection busy at most 1/5 of the time, however
	 * many are asked for */
	for (entry *e; bl__mono_ms() - start < 1000 && bl__mono_ms() >= next_count_mono &&
		       (e = due_locked(bl__mono_ms()));) {
		bl__count_fn fn = e->fn;
		char arg[ARG_MAX];
		memcpy(arg, e->arg, sizeof arg);
		pthread_mutex_unlock(&mu);
		int64_t t0 = bl__mono_ms();
		json_t *v = NULL;
		int r = fn(db, arg, &v);
		int64_t t1 = bl__mono_ms();
		pthread_mutex_lock(&mu);
		e->busy = false;
		if (e->fn != fn || strcmp(e->arg, arg)) { /* reset meanwhile */
			json_decref(v);
			continue;
		}
		e->took_ms = t1 - t0;
		next_count_mono = t1 + 4 * (t1 - t0);
		e->counted_mono = t1; /* a failed count is retried after the interval, not in a loop */
		if (r == BL_OK) {
			json_decref(e->value);
			e->value = v;
			e->as_of_ms = bl__ctx_now_ms(ctx);
			if (counted)
				(*counted)++;
		} else {
			json_decref(v);
			rc = r;
		}
		alive_until_mono = bl__mono_ms() + ALIVE_MS;
	}
	pthread_mutex_unlock(&mu);
	return rc;
}

/* ---- the refresher thread of bl_counts_start ---- */

static pthread_mutex_t th_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t th_cv; /* CLOCK_MONOTONIC */
static pthread_t th;
static bool th_running, th_stopping;
static bl_ctx *th_ctx;
static void (*th_log)(const char *line, void *payload);
static void *th_payload;

static void *refresher(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&th_mu);
	while (!th_stopping) {
		pthread_mutex_unlock(&th_mu);
		int rc = bl_counts_refresh(th_ctx, NULL);
		if (rc && th_log) {
			char line[600], clean[512];
			bl__pii_scrub_buf(bl_error_last(), clean, sizeof clean);
			snprintf(line, sizeof line, "counts: %s", clean);
			th_log(line, th_payload);
		}
		pthread_mutex_lock(&th_mu);
		struct timespec ts = bl__mono_deadline(rc ? 1000 : 200);
		if (!th_stopping)
			pthread_cond_timedwait(&th_cv, &th_mu, &ts);
	}
	pthread_mutex_unlock(&th_mu);
	return NULL;
}

int bl_counts_start(bl_ctx *ctx, void (*log)(const char *line, void *payload), void *payload)
{
	if (!ctx)
		return bl__fail(BL_EINVAL, "bl_counts_start: ctx is NULL");
	pthread_mutex_lock(&th_mu);
	if (th_running) {
		pthread_mutex_unlock(&th_mu);
		return bl__fail(BL_ECONFLICT, "bl_counts_start: the refresher runs already");
	}
	int rc = bl__ctx_derive(ctx, &th_ctx);
	if (rc == BL_OK) {
		pthread_condattr_t ca;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&th_cv, &ca);
		pthread_condattr_destroy(&ca);
		th_log = log;
		th_payload = payload;
		th_stopping = false;
		if (pthread_create(&th, NULL, refresher, NULL)) {
			pthread_cond_destroy(&th_cv);
			bl_ctx_free(th_ctx);
			th_ctx = NULL;
			rc = bl__fail(BL_ERROR, "bl_counts_start: cannot start its thread");
		} else {
			th_running = true;
		}
	}
	pthread_mutex_unlock(&th_mu);
	return rc;
}

void bl_counts_stop(void)
{
	pthread_mutex_lock(&th_mu);
	if (th_running) {
		th_stopping = true;
		pthread_cond_broadcast(&th_cv);
		pthread_mutex_unlock(&th_mu);
		pthread_join(th, NULL);
		pthread_mutex_lock(&th_mu);
		th_running = false;
		pthread_cond_destroy(&th_cv);
		bl_ctx_free(th_ctx);
		th_ctx = NULL;
	}
	pthread_mutex_unlock(&th_mu);
	pthread_mutex_lock(&mu);
	stopped = true;
	next_count_mono = 0;
	for (int i = 0; i < MAX_ENTRIES; i++) {
		bool busy = entries[i].busy; /* being counted: dropped when it comes back */
		json_decref(entries[i].value);
		memset(&entries[i], 0, sizeof entries[i]);
		entries[i].busy = busy;
	}
	pthread_mutex_unlock(&mu);
}
