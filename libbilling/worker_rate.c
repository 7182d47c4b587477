/*
 * The message worker's own send rate (BILLING_RATE_EMAIL, BILLING_RATE_SMS): a token
 * bucket per channel, shared by the worker's threads.  Elapsed time only
 * (CLOCK_MONOTONIC): it never decides a date.  The installation-wide limits
 * in Redis are ratelimit.c's.
 */
#include <pthread.h>
#include <time.h>
#include "worker_private.h"

/* Per-worker token bucket: one send per 1/rate s per channel, all threads. */
void bl__wk_rate_wait(wk_shared *sh, bl_channel ch)
{
	int64_t rate = ch == BL_CHANNEL_SMS ? sh->rate_sms : sh->rate_email;
	if (rate <= 0)
		return;
	int64_t interval = 1000000000 / rate;
	pthread_mutex_lock(&sh->mu);
	int64_t *next = ch == BL_CHANNEL_SMS ? &sh->next_sms_ns : &sh->next_email_ns;
	int64_t now = bl__mono_ns(), slot = *next > now ? *next : now;
	*next = slot + interval;
	pthread_mutex_unlock(&sh->mu);
	if (slot > now) {
		struct timespec ts = { (time_t)((slot - now) / 1000000000), (long)((slot - now) % 1000000000) };
		nanosleep(&ts, NULL);
	}
}
