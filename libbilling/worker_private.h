/* Private interface of the message worker (worker.c; worker_consume.c: one
 * batch of stream entries; worker_rate.c: the send rate). */
#ifndef BL_WORKER_PRIVATE_H
#define BL_WORKER_PRIVATE_H

#include <pthread.h>
#include "stream_private.h"
#include "template_private.h"
#include "sender_private.h"

typedef struct {
	const bl_config *cfg;
	const bl_worker_opts *opts;
	bl__clock clock; /* the clock of the context that runs the worker */
	char consumer[128];
	pthread_mutex_t mu;
	int64_t rate_email, rate_sms;      /* per second, 0 = unlimited */
	int64_t next_email_ns, next_sms_ns; /* token bucket slots */
	int64_t autoclaim_every_ms;
	bl__tpl_limits tpl_limits; /* what one render may cost */
	bool email_smtp;           /* BILLING_EMAIL_PROVIDER=smtp: real sends renew their lease */
	int64_t last_activity_ms;
	bl__sms_shared *sms; /* SMS gateways: breakers, rate limits (sms_gateway.c) */
	bool stop_all;
	int err;
	char errmsg[1024];
} wk_shared;

typedef struct {
	int64_t id;
	bl__tpl *tpl;
} wk_tpl_slot;

typedef struct {
	wk_shared *sh;
	int index;
	pthread_t th;
	char name[160];
	bl_ctx *ctx;   /* own context: MariaDB connection, keys */
	MYSQL *db;
	redisContext *redis;
	bl__sender *sender;
	wk_tpl_slot tpls[32];
	int ntpls;
	uint64_t rng;
	uint64_t seq; /* claim token counter */
} wk_thread;

/* Wait for a send slot of the per-worker rate limit of `ch` (worker_rate.c).
 * The worker's time is bl__clock_now_ms(&sh->clock). */
BL_PRIVATE void bl__wk_rate_wait(wk_shared *sh, bl_channel ch);
BL_PRIVATE int bl__wk_thread_open(wk_thread *t);
BL_PRIVATE void bl__wk_thread_reset(wk_thread *t);
BL_PRIVATE void bl__wk_thread_close(wk_thread *t);
/* Read (or, with autoclaim, take over idle) entries and process them. */
BL_PRIVATE int bl__wk_consume(wk_thread *t, bool autoclaim, int64_t *processed);
/* Requeue (or mark DEAD) messages stuck in PROCESSING. */
BL_PRIVATE int bl__wk_maintain(const bl_config *cfg, MYSQL *db, int64_t *touched);

#endif
