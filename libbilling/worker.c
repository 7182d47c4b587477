/*
 * The message worker: sender threads, each its own stream consumer with its
 * own MariaDB and Redis connections; one relay/maintenance thread.
 *
 * Per batch of stream entries (XREADGROUP or XAUTOCLAIM):
 *   1. claim: WAITING/FAILED → PROCESSING with a claim token, in one UPDATE;
 *      entries whose message is not claimable (already SUCCESS, claimed by
 *      a live attempt, or DEAD) are acknowledged without sending;
 *   2. load the models in bulk, render (compiled templates cached per
 *      thread), send through the mock provider (idempotent on message id);
 *   3. one transaction: every outcome (SUCCESS / FAILED + next attempt /
 *      EXCEEDED + SMS fallback / DEAD), the attempt rows;
 *   4. XACK.
 */
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include "stream_private.h"
#include "template_private.h"
#include "model_private.h"
#include "sender_private.h"
#include "worker_private.h"
#include "reservation_private.h"

int bl_worker_opts_init(bl_worker_opts *opts, unsigned version)
{
	if (!opts || version != BL_WORKER_OPTS_VERSION)
		return bl__fail(BL_EINVAL, "bl_worker_opts_init: unsupported version %u", version);
	*opts = (bl_worker_opts)BL_WORKER_OPTS_INIT;
	return BL_OK;
}

static void wlog(wk_shared *sh, const char *fmt, ...) BL_PRINTF(2, 3);
static void wlog(wk_shared *sh, const char *fmt, ...)
{
	if (!sh->opts->log_cb)
		return;
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&sh->mu);
	sh->opts->log_cb(line, sh->opts->log_payload);
	pthread_mutex_unlock(&sh->mu);
}

static bool stopping(wk_shared *sh)
{
	if (sh->opts->stop && *sh->opts->stop)
		return true;
	pthread_mutex_lock(&sh->mu);
	bool s = sh->stop_all;
	pthread_mutex_unlock(&sh->mu);
	return s;
}

static void set_fatal(wk_shared *sh, int code)
{
	pthread_mutex_lock(&sh->mu);
	if (!sh->err) {
		sh->err = code;
		snprintf(sh->errmsg, sizeof sh->errmsg, "%s", bl_error_last());
	}
	sh->stop_all = true;
	pthread_mutex_unlock(&sh->mu);
}

static void touch(wk_shared *sh)
{
	pthread_mutex_lock(&sh->mu);
	sh->last_activity_ms = bl__mono_ms();
	pthread_mutex_unlock(&sh->mu);
}

/* ---- the sender thread ---- */

static void sleep_ms(int64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

static void *sender_main(void *arg)
{
	wk_thread *t = arg;
	wk_shared *sh = t->sh;
	int rc = bl__wk_thread_open(t);
	if (rc) {
		set_fatal(sh, rc);
		return NULL;
	}
	int64_t last_autoclaim = 0;
	int backoff = 0;
	bool connected = true;
	while (!stopping(sh)) {
		if (!connected) {
			/* reconnect before consuming: a half-open thread (MariaDB
			 * back, Redis not yet) must not use its NULL connection */
			sleep_ms(backoff < 5000 ? (backoff += 250) : backoff);
			if (bl__wk_thread_open(t) != BL_OK)
				continue;
			connected = true;
			backoff = backoff > 1000 ? 1000 : backoff;
		}
		int64_t n = 0;
		int64_t now = bl__mono_ms();
		if (now - last_autoclaim >= sh->autoclaim_every_ms) {
			last_autoclaim = now;
			rc = bl__wk_consume(t, true, &n);
		} else {
			rc = bl__wk_consume(t, false, &n);
		}
		if (rc) {
			/* backend trouble: log, reconnect, try again (nothing is lost) */
			wlog(sh, "%s: %s", t->name, bl_error_last());
			bl__wk_thread_reset(t);
			connected = false;
			continue;
		}
		backoff = 0;
		if (n)
			touch(sh);
	}
	bl__wk_thread_close(t);
	return NULL;
}

/* ---- relay + maintenance thread ---- */

/* Work that is due (or due within `horizon_ms`): held messages (quiet hours,
 * long backoffs) do not keep an idle-exiting worker alive. */
static int64_t open_work(MYSQL *db, int64_t horizon_ms)
{
	int64_t n = 0;
	bl__param p[] = { BP_I64(horizon_ms * 1000) };
	/* EXISTS stops at the first row (index ix_messages_status) */
	if (bl__db_i64(db,
		       "SELECT EXISTS (SELECT 1 FROM messages WHERE status = 'PROCESSING') OR EXISTS "
		       "(SELECT 1 FROM messages WHERE status IN ('WAITING','FAILED') "
		       "AND next_attempt_at <= NOW(3) + INTERVAL ? MICROSECOND)",
		       p, 1, &n, NULL))
		return -1;
	return n;
}

static void *relay_main(void *arg)
{
	wk_shared *sh = arg;
	MYSQL *db = NULL;
	redisContext *r = NULL;
	int64_t last_maint = 0, last_sweep = 0, idle_since = 0;
	bl__relay_pos pos[2] = { 0 };
	bl_ctx *bctx = NULL; /* bounce ingestion (BILLING_BOUNCE_MAILDIR) */
	const char *bounce_dir = bl_config_get(sh->cfg, "BILLING_BOUNCE_MAILDIR");
	while (!stopping(sh)) {
		if (!db && !(db = bl__db_connect(sh->cfg, true))) {
			wlog(sh, "relay: %s", bl_error_last());
			sleep_ms(500);
			continue;
		}
		if (sh->opts->relay && !r) {
			r = bl__redis_connect(sh->cfg);
			if (!r || bl__stream_ensure_group(r, sh->cfg)) {
				wlog(sh, "relay: %s", bl_error_last());
				if (r)
					redisFree(r);
				r = NULL;
				sleep_ms(500);
				continue;
			}
		}
		/* this connection's NOW() is the worker's clock for the round */
		if (bl__db_set_clock(db, bl__clock_now_us(&sh->clock))) {
			wlog(sh, "relay: %s", bl_error_last());
			mysql_close(db);
			db = NULL;
			sleep_ms(500);
			continue;
		}
		int64_t n = 0;
		int rc = BL_OK;
		if (sh->opts->relay) {
			rc = bl__relay_once(sh->cfg, db, r, pos, &n);
			if (rc) {
				wlog(sh, "relay: %s (rows wait in the outbox)", bl_error_last());
				redisFree(r);
				r = NULL;
				mysql_close(db);
				db = NULL;
				sleep_ms(500);
				continue;
			}
			if (n)
				touch(sh);
		}
		int64_t now = bl__mono_ms();
		if (sh->opts->maintenance && now - last_maint >= 1000) {
			last_maint = now;
			/* leases are BILLING_PENDING_IDLE_MS long: looking for expired
			 * ones four times per lease is enough */
			if (now - last_sweep >= bl__config_int(sh->cfg, "BILLING_PENDING_IDLE_MS") / 4) {
				last_sweep = now;
				int64_t touched = 0;
				if (bl__wk_maintain(sh->cfg, db, &touched))
					wlog(sh, "maintenance: %s", bl_error_last());
				else if (touched)
					wlog(sh, "maintenance: %lld stale message(s) requeued or dead",
					     (long long)touched);
			}
			/* scheduler (scheduler.c): due reservations, the monthly batch run */
			int64_t expanded = 0;
			if (bl__scheduler_tick(sh->cfg, &sh->clock, db, &expanded))
				wlog(sh, "scheduler: %s", bl_error_last());
			else if (expanded)
				wlog(sh, "scheduler: %lld message(s) expanded from reservations", (long long)expanded);
			/* DSNs (bounce.c), through the same call as billing-cli bounces ingest */
			bl_bounce_stats bs;
			if (bounce_dir && *bounce_dir && (bctx || bl_ctx_new(&bctx, sh->cfg) == BL_OK)) {
				bl__ctx_use_clock(bctx, sh->clock);
				if (bl_bounces_ingest(bctx, bounce_dir, &bs))
					wlog(sh, "bounces: %s", bl_error_last());
				else if (bs.files)
					wlog(sh, "bounces: %lld DSN(s): %lld hard, %lld soft, %lld ignored, %lld kept aside",
					     (long long)bs.files, (long long)bs.hard, (long long)bs.soft,
					     (long long)bs.ignored, (long long)bs.rejected);
			}
		}
		if (sh->opts->idle_exit_ms > 0) {
			int64_t open = n ? 1 : open_work(db, sh->opts->idle_exit_ms);
			if (open == 0) {
				if (!idle_since)
					idle_since = now;
				else if (now - idle_since >= sh->opts->idle_exit_ms) {
					pthread_mutex_lock(&sh->mu);
					sh->stop_all = true;
					pthread_mutex_unlock(&sh->mu);
				}
			} else {
				idle_since = 0;
			}
		}
		if (n == 0)
			sleep_ms(50);
	}
	if (sh->opts->maintenance)
		bl__scheduler_stop(); /* scheduler.c: stop and join its background jobs */
	if (r)
		redisFree(r);
	if (db)
		mysql_close(db);
	bl_ctx_free(bctx);
	return NULL;
}

/* SMS gateways (docs/senders.md): delivery results polled every
 * BILLING_SMS_POLL_MS, the breakers' state published for /metrics. */
static void *sms_main(void *arg)
{
	wk_shared *sh = arg;
	bl_ctx *ctx = NULL;
	bl__sms *sms = NULL;
	int64_t every = bl__config_int(sh->cfg, "BILLING_SMS_POLL_MS"), last_poll = 0;
	while (!stopping(sh)) {
		if (!ctx && bl_ctx_new(&ctx, sh->cfg) != BL_OK) {
			wlog(sh, "sms: %s", bl_error_last());
			sleep_ms(500);
			continue;
		}
		bl__ctx_use_clock(ctx, sh->clock);
		if (!sms && bl__sms_new(&sms, sh->cfg, sh->sms) != BL_OK) {
			wlog(sh, "sms: %s", bl_error_last());
			break;
		}
		MYSQL *db = bl__ctx_db(ctx);
		if (!db || bl__sms_shared_publish(sh->sms, db, sh->consumer)) {
			wlog(sh, "sms: %s", bl_error_last());
			bl_ctx_free(ctx);
			ctx = NULL;
			sleep_ms(500);
			continue;
		}
		int64_t now = bl__mono_ms(), applied = 0;
		if (every > 0 && now - last_poll >= every) {
			last_poll = now;
			if (bl__sms_poll(ctx, db, sms, &applied))
				wlog(sh, "sms: result poll: %s", bl_error_last());
			else if (applied)
				touch(sh);
		}
		sleep_ms(every > 0 && every < 500 ? every : 500);
	}
	MYSQL *db = ctx ? bl__ctx_db(ctx) : NULL;
	if (db)
		bl__sms_shared_publish(sh->sms, db, sh->consumer);
	bl__sms_free(sms);
	bl_ctx_free(ctx);
	return NULL;
}

int bl_worker_run(bl_ctx *ctx, const bl_worker_opts *opts)
{
	bl_worker_opts defaults = BL_WORKER_OPTS_INIT;
	if (!opts)
		opts = &defaults;
	if (!ctx)
		return bl__fail(BL_EINVAL, "bl_worker_run: ctx is NULL");
	if (opts->version != BL_WORKER_OPTS_VERSION)
		return bl__fail(BL_EINVAL, "worker options: version %u, expected %u", opts->version,
				BL_WORKER_OPTS_VERSION);
	const bl_config *cfg = bl_ctx_config(ctx);
	int threads = opts->threads ? opts->threads : (int)bl__config_int(cfg, "BILLING_WORKER_THREADS");
	if (threads < 1 || threads > 256)
		return bl__fail(BL_EINVAL, "threads %d: must be 1-256", threads);
	/* fail fast on bad connections before starting threads */
	int rc = bl_ctx_ping_db(ctx);
	if (rc == BL_OK)
		rc = bl_ctx_ping_redis(ctx);
	if (rc)
		return rc;
	wk_shared *sh = calloc(1, sizeof *sh);
	wk_thread *ts = calloc((size_t)threads, sizeof *ts);
	if (!sh || !ts) {
		free(sh);
		free(ts);
		return bl__fail(BL_ENOMEM, "out of memory");
	}
	pthread_mutex_init(&sh->mu, NULL);
	sh->cfg = cfg;
	sh->opts = opts;
	sh->clock = bl__ctx_clock(ctx);
	sh->rate_email = bl__config_int(cfg, "BILLING_RATE_EMAIL");
	sh->rate_sms = bl__config_int(cfg, "BILLING_RATE_SMS");
	bl__tpl_limits_get(cfg, &sh->tpl_limits);
	sh->email_smtp = !strcmp(bl_config_get(cfg, "BILLING_EMAIL_PROVIDER"), "smtp");
	sh->autoclaim_every_ms = bl__config_int(cfg, "BILLING_PENDING_IDLE_MS") / 4 + 100;
	sh->last_activity_ms = bl__mono_ms();
	if (opts->consumer && *opts->consumer)
		snprintf(sh->consumer, sizeof sh->consumer, "%s", opts->consumer);
	else {
		char owner[BL__OWNER_MAX];
		bl__owner_name(owner);
		snprintf(sh->consumer, sizeof sh->consumer, "%s", owner);
	}
	/* the SMS gateways' breakers and rate limits, for all threads */
	if ((rc = bl__sms_shared_new(&sh->sms, cfg))) {
		pthread_mutex_destroy(&sh->mu);
		free(ts);
		free(sh);
		return rc;
	}
	pthread_t relay, smst;
	bool relay_started = false, sms_started = false;
	if (bl__sms_shared_count(sh->sms) > 0 && opts->maintenance)
		sms_started = pthread_create(&smst, NULL, sms_main, sh) == 0;
	if (opts->relay || opts->maintenance || opts->idle_exit_ms > 0)
		relay_started = pthread_create(&relay, NULL, relay_main, sh) == 0;
	int started = 0;
	for (int i = 0; i < threads; i++) {
		ts[i].sh = sh;
		ts[i].index = i;
		snprintf(ts[i].name, sizeof ts[i].name, "%s/t%d", sh->consumer, i);
		if (pthread_create(&ts[i].th, NULL, sender_main, &ts[i]))
			break;
		started++;
	}
	wlog(sh, "worker %s: %d sender thread(s)%s", sh->consumer, started, relay_started ? " + relay" : "");
	for (int i = 0; i < started; i++)
		pthread_join(ts[i].th, NULL);
	if (relay_started) {
		pthread_mutex_lock(&sh->mu);
		sh->stop_all = true;
		pthread_mutex_unlock(&sh->mu);
		pthread_join(relay, NULL);
	}
	if (sms_started) {
		pthread_mutex_lock(&sh->mu);
		sh->stop_all = true;
		pthread_mutex_unlock(&sh->mu);
		pthread_join(smst, NULL);
	}
	bl__sms_shared_unref(sh->sms);
	rc = sh->err ? bl__fail(sh->err, "%s", sh->errmsg) : BL_OK;
	pthread_mutex_destroy(&sh->mu);
	free(ts);
	free(sh);
	return rc;
}

int bl_message_maintain(bl_ctx *ctx, const char *consumer, int64_t *touched)
{
	(void)consumer;
	if (touched)
		*touched = 0;
	if (!ctx)
		return bl__fail(BL_EINVAL, "bl_message_maintain: ctx is NULL");
	MYSQL *db = bl__ctx_db(ctx);
	if (!db)
		return bl_error_last_code();
	int64_t n = 0;
	int rc = bl__wk_maintain(bl_ctx_config(ctx), db, &n);
	if (touched)
		*touched = n;
	return rc;
}
