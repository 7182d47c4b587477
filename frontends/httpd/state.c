/*
 * What the whole server process shares: the configuration, the pool of
 * library contexts the requests borrow (server.c, "Threads and
 * connections" in docs/http.md), the count of requests in flight, and the
 * clocks.  Every other file of the server may use it; it uses none of them.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include "httpd.h"

static const bl_config *config;
static atomic_long in_flight;
static bl_ctx *clock_ctx; /* read only, for the time: makes no connection */

/* ---- the context pool ---- */

static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_cv; /* CLOCK_MONOTONIC (state_init) */
static bl_ctx **pool_free;     /* pool_size slots */
static int pool_size, pool_nfree, pool_made, pool_waiting, queue_max, wait_ms;
static atomic_long pool_refused;
static __thread bl_ctx *held;
static __thread bool saturated;

int state_init(const bl_config *cfg, int contexts, int qmax, int wms)
{
	config = cfg;
	pool_size = contexts > 0 ? contexts : 1;
	queue_max = qmax;
	wait_ms = wms;
	cond_init_monotonic(&pool_cv);
	pool_free = calloc((size_t)pool_size, sizeof *pool_free);
	if (!pool_free || bl_ctx_new(&clock_ctx, cfg) != BL_OK)
		return -1;
	return 0;
}

void state_thread_done(void)
{
	state_ctx_release();
	pthread_mutex_lock(&pool_mu);
	for (int i = 0; i < pool_nfree; i++)
		bl_ctx_free(pool_free[i]);
	pool_nfree = pool_made = 0;
	free(pool_free);
	pool_free = NULL;
	pthread_mutex_unlock(&pool_mu);
	bl_ctx_free(clock_ctx);
	clock_ctx = NULL;
}

const bl_config *server_config(void)
{
	return config;
}

bl_ctx *server_ctx(void)
{
	if (held)
		return held;
	saturated = false;
	pthread_mutex_lock(&pool_mu);
	bool make = false, waited = false;
	struct timespec until = deadline_after_ms(wait_ms);
	while (!pool_nfree && pool_made >= pool_size) {
		if (waited || pool_waiting >= queue_max || wait_ms == 0) {
			pthread_mutex_unlock(&pool_mu);
			saturated = true;
			atomic_fetch_add(&pool_refused, 1);
			return NULL;
		}
		pool_waiting++;
		if (pthread_cond_timedwait(&pool_cv, &pool_mu, &until) == ETIMEDOUT)
			waited = true;
		pool_waiting--;
	}
	if (pool_nfree)
		held = pool_free[--pool_nfree];
	else
		make = true, pool_made++;
	pthread_mutex_unlock(&pool_mu);
	if (make && bl_ctx_new(&held, config) != BL_OK) {
		held = NULL;
		pthread_mutex_lock(&pool_mu);
		pool_made--;
		pthread_cond_signal(&pool_cv);
		pthread_mutex_unlock(&pool_mu);
	}
	return held;
}

void state_ctx_release(void)
{
	if (!held)
		return;
	pthread_mutex_lock(&pool_mu);
	pool_free[pool_nfree++] = held;
	held = NULL;
	pthread_cond_signal(&pool_cv);
	pthread_mutex_unlock(&pool_mu);
}

bool server_saturated(void)
{
	return saturated;
}

long server_refused(void)
{
	return atomic_load(&pool_refused);
}

void state_in_flight_add(int d)
{
	atomic_fetch_add(&in_flight, d);
}

long server_in_flight(void)
{
	return atomic_load(&in_flight);
}

int64_t wall_now_s(void)
{
	return bl_ctx_now(clock_ctx) / 1000000;
}

void cond_init_monotonic(pthread_cond_t *c)
{
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(c, &a);
	pthread_condattr_destroy(&a);
}

struct timespec deadline_after_ms(int64_t ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
