/*
 * The statistics of bl_stats_get kept in memory for dashboards that ask
 * often (billing-httpd's /api/stats, /metrics and the admin dashboard).
 *
 * A thread of the cache computes them on a context of its own: a window is
 * recomputed at most once a second and no more often than every 5× the time
 * its last computation took (so the cache never keeps the database more than
 * about 20% busy), and only while someone asked for it in the last 30 s.
 * Readers never wait for the database, except the first reader of a window
 * (up to 15 s).  At most four windows are kept; a fifth replaces the one
 * asked for least recently.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "internal.h"
#include <billing/stats.h>

#define SLOTS 4
#define MIN_INTERVAL_MS 1000
#define WANTED_FOR_MS 30000 /* keep refreshing a window this long after it was last asked for */
#define FIRST_WAIT_MS 15000
#define IDLE_WAIT_MS 200

typedef struct {
	int window;
	char *json;
	int64_t at_ms, wanted_ms, took_ms;
	int last_rc;
	unsigned tries; /* computations finished */
	bool busy;
} slot;

struct bl_stats_cache {
	bl_ctx *ctx; /* the thread's own */
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t wake, done; /* CLOCK_MONOTONIC */
	bool stopping;
	slot slots[SLOTS];
	uint64_t computations;
	char last_error[256];
};

static int64_t interval_ms(const slot *s)
{
	int64_t i = s->took_ms * 5;
	return i > MIN_INTERVAL_MS ? i : MIN_INTERVAL_MS;
}

static slot *due_locked(bl_stats_cache *c, int64_t now)
{
	for (int i = 0; i < SLOTS; i++) {
		slot *s = &c->slots[i];
		if (!s->window || s->busy)
			continue;
		if (now - s->wanted_ms > WANTED_FOR_MS) {
			bl_free(s->json);
			memset(s, 0, sizeof *s);
			continue;
		}
		if (!s->json || now - s->at_ms >= interval_ms(s))
			return s;
	}
	return NULL;
}

static void *refresh_main(void *arg)
{
	bl_stats_cache *c = arg;
	pthread_mutex_lock(&c->mu);
	while (!c->stopping) {
		slot *s = due_locked(c, bl__mono_ms());
		if (!s) {
			struct timespec ts = bl__mono_deadline(IDLE_WAIT_MS);
			pthread_cond_timedwait(&c->wake, &c->mu, &ts);
			continue;
		}
		s->busy = true;
		int window = s->window;
		pthread_mutex_unlock(&c->mu);

		int64_t t0 = bl__mono_ms();
		char *json = NULL;
		int rc = bl_stats_get(c->ctx, window, &json);
		char err[256] = "";
		if (rc)
			bl__pii_scrub_buf(bl_error_last(), err, sizeof err);
		int64_t took = bl__mono_ms() - t0;

		pthread_mutex_lock(&c->mu);
		s->busy = false;
		s->tries++;
		c->computations++;
		s->last_rc = rc;
		s->took_ms = took;
		s->at_ms = bl__mono_ms(); /* on failure: retry after the interval, not in a loop */
		if (rc == BL_OK) {
			bl_free(s->json);
			s->json = json;
		} else {
			memcpy(c->last_error, err, sizeof err);
			bl_free(json);
		}
		pthread_cond_broadcast(&c->done);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

int bl_stats_cache_new(bl_ctx *ctx, bl_stats_cache **out)
{
	if (out)
		*out = NULL;
	if (!ctx || !out)
		return bl__fail(BL_EINVAL, "bl_stats_cache_new: NULL argument");
	bl_stats_cache *c = calloc(1, sizeof *c);
	if (!c)
		return bl__fail(BL_ENOMEM, "out of memory");
	int rc = bl__ctx_derive(ctx, &c->ctx);
	if (rc) {
		free(c);
		return rc;
	}
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->wake, &ca);
	pthread_cond_init(&c->done, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&c->mu, NULL);
	if (pthread_create(&c->th, NULL, refresh_main, c)) {
		pthread_cond_destroy(&c->wake);
		pthread_cond_destroy(&c->done);
		pthread_mutex_destroy(&c->mu);
		bl_ctx_free(c->ctx);
		free(c);
		return bl__fail(BL_ERROR, "statistics cache: cannot start its thread");
	}
	*out = c;
	return BL_OK;
}

void bl_stats_cache_free(bl_stats_cache *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->mu);
	c->stopping = true;
	pthread_cond_broadcast(&c->wake);
	pthread_cond_broadcast(&c->done);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->th, NULL);
	for (int i = 0; i < SLOTS; i++)
		bl_free(c->slots[i].json);
	pthread_cond_destroy(&c->wake);
	pthread_cond_destroy(&c->done);
	pthread_mutex_destroy(&c->mu);
	bl_ctx_free(c->ctx);
	free(c);
}

/* The slot of `window`: its own, else a free one, else the one asked for
 * least recently that is not being computed; NULL when all four are busy. */
static slot *slot_for(bl_stats_cache *c, int window)
{
	slot *s = NULL;
	for (int i = 0; i < SLOTS; i++)
		if (c->slots[i].window == window)
			return &c->slots[i];
	for (int i = 0; i < SLOTS; i++)
		if (!c->slots[i].busy && (!s || !c->slots[i].window ||
					  (s->window && c->slots[i].wanted_ms < s->wanted_ms)))
			s = &c->slots[i];
	if (s) {
		bl_free(s->json);
		memset(s, 0, sizeof *s);
		s->window = window;
	}
	return s;
}

int bl_stats_cache_get(bl_stats_cache *c, int window_minutes, char **json, int64_t *age_ms)
{
	if (json)
		*json = NULL;
	if (!c || !json)
		return bl__fail(BL_EINVAL, "bl_stats_cache_get: NULL argument");
	if (window_minutes < 1 || window_minutes > 1440)
		return bl__fail(BL_EINVAL, "window_minutes: must be 1-1440 (got %d)", window_minutes);
	int64_t now = bl__mono_ms();
	int rc = BL_OK;
	pthread_mutex_lock(&c->mu);
	slot *s = slot_for(c, window_minutes);
	if (!s) {
		pthread_mutex_unlock(&c->mu);
		return bl__fail(BL_ELIMIT, "statistics: every slot of the cache is being computed; try again");
	}
	s->wanted_ms = now;
	if (!s->json || now - s->at_ms >= interval_ms(s))
		pthread_cond_signal(&c->wake);
	struct timespec until = bl__mono_deadline(FIRST_WAIT_MS);
	unsigned tries = s->tries;
	while (!s->json && !c->stopping && s->window == window_minutes) {
		if (s->tries != tries && s->last_rc)
			break; /* computed since we asked, and failed */
		if (pthread_cond_timedwait(&c->done, &c->mu, &until))
			break;
	}
	if (s->json && s->window == window_minutes) {
		*json = strdup(s->json);
		if (!*json)
			rc = bl__fail(BL_ENOMEM, "out of memory");
		else if (age_ms)
			*age_ms = bl__mono_ms() - s->at_ms;
	} else {
		rc = bl__fail(s->last_rc ? s->last_rc : BL_EDB, "statistics are not available now%s%s",
			      c->last_error[0] ? ": " : "", c->last_error);
	}
	pthread_mutex_unlock(&c->mu);
	return rc;
}

uint64_t bl_stats_cache_computations(bl_stats_cache *c)
{
	if (!c)
		return 0;
	pthread_mutex_lock(&c->mu);
	uint64_t n = c->computations;
	pthread_mutex_unlock(&c->mu);
	return n;
}
