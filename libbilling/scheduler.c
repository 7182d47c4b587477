/*
 * The worker-side scheduler: billing-worker's maintenance loop calls
 * bl__scheduler_tick() about once a second (not to be confused with the
 * public, synchronous bl_reservation_tick, which expands due reservations
 * on the caller's thread).  The tick itself only asks
 * two cheap questions on the worker's connection — is a reservation due
 * and unclaimed? is the monthly run due (bl_batch_due, which claims the
 * month once across all processes)? — and hands the work to a background
 * thread of this process with its own context and connection:
 *
 *   - the expander runs bl__resv_run until nothing claimable is due;
 *   - the batcher is the monthly run as a library job (bl_batch_start,
 *     created_by AUTO), which can take many minutes; its completion creates
 *     the month's billing reservation (batch.c calls
 *     bl_reservation_after_batch).
 *
 * At most one of each per process.  A job's failure is returned by the next
 * tick, so the worker logs it.  bl__scheduler_stop() (worker shutdown)
 * cancels both: the expansion stops after its chunk and stays PROCESSING at
 * its checkpoint for the next tick anywhere; the batch run ends STOPPED.
 */
#include <pthread.h>
#include "reservation_private.h"
#include "context_private.h"

typedef struct {
	bool running;  /* the thread has not finished its work */
	bool joinable; /* a thread exists that nobody joined yet */
	pthread_t th;
	volatile int cancel;
	bl_ctx *ctx;   /* the job's own context (owned by the thread) */
	int64_t now_ms;
} job;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static job expander;
static bl_batch_job *batcher; /* the monthly run (under mu) */
static int stopping;          /* bl__scheduler_stop in progress: start nothing */
static int64_t expanded_sum;  /* messages expanded by jobs since the last tick */
static int job_err;
static char job_msg[512];

static void job_done(job *j, int rc, int64_t expanded)
{
	char msg[512];
	snprintf(msg, sizeof msg, "%s", rc ? bl_error_last() : "");
	bl_ctx_free(j->ctx);
	pthread_mutex_lock(&mu);
	j->ctx = NULL;
	expanded_sum += expanded;
	if (rc && !job_err) {
		job_err = rc;
		snprintf(job_msg, sizeof job_msg, "%s", msg);
	}
	j->running = false;
	pthread_mutex_unlock(&mu);
}

static void *expander_main(void *arg)
{
	job *j = arg;
	int64_t n = 0;
	int rc = bl__resv_run(j->ctx, j->now_ms, &j->cancel, &n);
	job_done(j, rc, n);
	return NULL;
}

/* Forget the monthly run's job once it ended; its failure goes to the next
 * tick (called with mu held). */
static void reap_batcher(bool stopped)
{
	bool ended = false;
	int64_t run = bl_batch_job_run_id(batcher);
	char month[8];
	snprintf(month, sizeof month, "%s", bl_batch_job_month(batcher));
	int rc = bl_batch_job_wait(batcher, stopped ? -1 : 0, &ended);
	if (!ended)
		return;
	if (rc == BL_ESTOPPED && stopped)
		bl__fail(rc, "the monthly run #%lld of %s stopped with this process; continue it with "
			     "'billing-cli batch resume %lld'", (long long)run, month, (long long)run);
	else if (rc)
		bl__fail_wrap(rc, "the monthly run of %s", month);
	if (rc && !job_err) {
		job_err = rc;
		snprintf(job_msg, sizeof job_msg, "%s", bl_error_last());
	}
	bl_batch_job_free(batcher);
	batcher = NULL;
}

static int start_batcher(const bl_config *cfg, const bl__clock *clock, const char *month)
{
	bl_ctx tmp = { 0 }; /* only lends the configuration and the clock */
	tmp.cfg = (bl_config *)cfg;
	tmp.clock = *clock;
	bl_batch_opts o;
	bl_batch_opts_init(&o, BL_BATCH_OPTS_VERSION);
	o.created_by = BL_CREATED_AUTO;
	o.partitions = (int)bl__config_int(cfg, "BILLING_BATCH_PARTITIONS");
	o.chunk_size = (int)bl__config_int(cfg, "BILLING_BATCH_CHUNK");
	o.allow_empty = true; /* the month is due: record it even without charges (no reservation then) */
	pthread_mutex_lock(&mu);
	bool busy = stopping || batcher;
	pthread_mutex_unlock(&mu);
	if (busy)
		return BL_OK;
	bl_batch_job *j = NULL;
	int rc = bl_batch_start(&tmp, month, &o, NULL, &j);
	if (rc)
		return rc;
	pthread_mutex_lock(&mu);
	batcher = j;
	if (stopping) /* shutting down meanwhile: bl__scheduler_stop may have missed it */
		bl_batch_job_stop(j);
	pthread_mutex_unlock(&mu);
	return BL_OK;
}

/* Join a job whose thread finished (called with mu held; the thread no
 * longer needs mu once running is false). */
static void reap(job *j)
{
	if (j->joinable && !j->running) {
		pthread_join(j->th, NULL);
		j->joinable = false;
	}
}

static int start(job *j, const bl_config *cfg, const bl__clock *clock, int64_t now_ms, void *(*fn)(void *))
{
	bl_ctx *ctx = NULL;
	int rc = bl_ctx_new(&ctx, cfg);
	if (rc)
		return rc;
	bl__ctx_use_clock(ctx, *clock);
	pthread_mutex_lock(&mu);
	if (stopping || j->joinable) {
		pthread_mutex_unlock(&mu);
		bl_ctx_free(ctx);
		return BL_OK;
	}
	j->ctx = ctx;
	j->cancel = 0;
	j->now_ms = now_ms;
	j->running = true;
	if (pthread_create(&j->th, NULL, fn, j)) {
		j->running = false;
		j->ctx = NULL;
		pthread_mutex_unlock(&mu);
		bl_ctx_free(ctx);
		return bl__fail(BL_ERROR, "scheduler: could not start a thread");
	}
	j->joinable = true;
	pthread_mutex_unlock(&mu);
	return BL_OK;
}

int bl__scheduler_tick(const bl_config *cfg, const bl__clock *clock, MYSQL *db, int64_t *expanded)
{
	int64_t now_ms = bl__clock_now_us(clock) / 1000;
	if (expanded)
		*expanded = 0;
	if (bl__config_int(cfg, "BILLING_SCHEDULER") == 0)
		return BL_OK;
	char msg[512] = "";
	pthread_mutex_lock(&mu);
	reap(&expander);
	if (batcher)
		reap_batcher(false);
	if (expanded)
		*expanded = expanded_sum;
	expanded_sum = 0;
	int err = job_err;
	if (err)
		snprintf(msg, sizeof msg, "%s", job_msg);
	job_err = 0;
	bool idle = !stopping;
	bool expander_free = idle && !expander.joinable, batcher_free = idle && !batcher;
	pthread_mutex_unlock(&mu);
	int rc = BL_OK;
	if (expander_free) {
		bool any = false;
		rc = bl__resv_claimable(db, now_ms, &any);
		if (rc == BL_OK && any)
			rc = start(&expander, cfg, clock, now_ms, expander_main);
	}
	if (rc == BL_OK && batcher_free) {
		/* a borrowed context around the worker's connection (never freed) */
		bl_ctx tmp = { 0 };
		tmp.cfg = (bl_config *)cfg;
		tmp.db = db;
		tmp.clock = *clock;
		bool due = false;
		char month[8];
		rc = bl_batch_due(&tmp, now_ms / 1000, &due, month);
		if (rc == BL_OK && due && (rc = start_batcher(cfg, clock, month)))
			bl__fail_wrap(rc, "the monthly run of %s was claimed but did not start; start it with "
					  "'billing-cli batch run --month %s --auto'", month, month);
	}
	if (rc)
		return rc;
	if (err)
		return bl__fail(err, "%s", msg);
	return BL_OK;
}

void bl__scheduler_stop(void)
{
	pthread_t th;
	bool join = false;
	pthread_mutex_lock(&mu);
	stopping++;
	expander.cancel = 1;
	if ((join = expander.joinable))
		expander.joinable = false; /* ours to join now */
	th = expander.th;
	bl_batch_job *b = batcher;
	batcher = NULL;
	pthread_mutex_unlock(&mu);
	if (b)
		bl_batch_job_stop(b); /* its run ends STOPPED after its current chunks */
	if (join)
		pthread_join(th, NULL);
	pthread_mutex_lock(&mu);
	if (b) {
		batcher = b;
		reap_batcher(true); /* waits for the run's end */
	}
	stopping--;
	pthread_mutex_unlock(&mu);
}
