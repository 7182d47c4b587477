/*
 * What the whole server process shares: the configuration, one bl_ctx per
 * thread (created on first use, freed when the thread ends), the count of
 * requests in flight, and the clocks.  Every other file of the server may
 * use it; it uses none of them.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include "httpd.h"

static const bl_config *config;
static pthread_key_t ctx_key;
static atomic_long in_flight;

static void ctx_free(void *p)
{
	bl_ctx_free(p);
}

int state_init(const bl_config *cfg)
{
	config = cfg;
	return pthread_key_create(&ctx_key, ctx_free) ? -1 : 0;
}

void state_thread_done(void)
{
	bl_ctx *c = pthread_getspecific(ctx_key);
	if (c) {
		pthread_setspecific(ctx_key, NULL);
		bl_ctx_free(c);
	}
}

const bl_config *server_config(void)
{
	return config;
}

bl_ctx *server_ctx(void)
{
	bl_ctx *c = pthread_getspecific(ctx_key);
	if (c)
		return c;
	if (bl_ctx_new(&c, config) != BL_OK)
		return NULL;
	pthread_setspecific(ctx_key, c);
	return c;
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
	return bl_ctx_now(server_ctx()) / 1000000;
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
