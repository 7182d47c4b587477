/*
 * Asynchronous batch runs (bl_batch_start, bl_batch_resume_start): the run
 * is opened on the caller's thread with a context derived from the caller's
 * (so a start that fails at once answers at once, and *run_id is known when
 * the call returns), then driven to its end by a library thread that owns
 * that context.  The handle's free joins the thread when the run has ended;
 * a handle freed earlier detaches the thread, which frees the job at its end.
 */
#include <pthread.h>
#include <stddef.h>
#include <time.h>
#include "batch_private.h"
#include "context_private.h"

struct bl_batch_job {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* CLOCK_MONOTONIC */
	pthread_t th;
	bl_ctx *ctx;       /* the job's own context (the thread's until the end) */
	bl__run_open run;  /* the thread's while it runs */
	int64_t run_id;    /* the run's id and month, for the handle */
	char month[8];
	bl_batch_opts opts;
	volatile int stop;
	/* under mu */
	bool ended;
	int rc;
	char msg[1024];
	bool detached; /* the handle is gone: the thread frees the job */
};

static void job_destroy(bl_batch_job *j)
{
	bl_ctx_free(j->ctx);
	pthread_cond_destroy(&j->cv);
	pthread_mutex_destroy(&j->mu);
	free(j);
}

static void *job_main(void *arg)
{
	bl_batch_job *j = arg;
	int rc = bl__batch_drive(j->ctx, &j->run, &j->opts, &j->stop);
	char msg[sizeof j->msg];
	snprintf(msg, sizeof msg, "%s", rc ? bl_error_last() : "");
	bl_ctx_free(j->ctx); /* its connection (and the run's lock with it) goes now */
	pthread_mutex_lock(&j->mu);
	j->ctx = NULL;
	j->rc = rc;
	memcpy(j->msg, msg, sizeof msg);
	j->ended = true;
	pthread_cond_broadcast(&j->cv);
	bool detached = j->detached;
	pthread_mutex_unlock(&j->mu);
	if (detached)
		job_destroy(j);
	return NULL;
}

static int job_start(bl_ctx *ctx, const char *month, int64_t resume_id, const bl_batch_opts *opts,
		     int64_t *run_id, bl_batch_job **out)
{
	if (run_id)
		*run_id = 0;
	if (out)
		*out = NULL;
	if (!ctx || !out || (!month && resume_id <= 0))
		return bl__fail(BL_EINVAL, "%s: NULL argument", month ? "bl_batch_start" : "bl_batch_resume_start");
	bl_batch_job *j = calloc(1, sizeof *j);
	if (!j)
		return bl__fail(BL_ENOMEM, "out of memory");
	bl_batch_opts d = BL_BATCH_OPTS_INIT;
	j->opts = d;
	if (opts) {
		/* a caller's older struct is as long as its version's fields */
		size_t n = opts->version == 1	? offsetof(bl_batch_opts, allow_future)
			   : opts->version == 2 ? offsetof(bl_batch_opts, end_cb)
						: sizeof *opts;
		if (opts->version < 1 || opts->version > BL_BATCH_OPTS_VERSION) {
			free(j);
			return bl__fail(BL_EINVAL, "batch options: version %u, expected 1-%u (use bl_batch_opts_init)",
					opts->version, BL_BATCH_OPTS_VERSION);
		}
		memcpy(&j->opts, opts, n);
	}
	pthread_mutex_init(&j->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&j->cv, &ca);
	pthread_condattr_destroy(&ca);
	int rc = bl__ctx_derive(ctx, &j->ctx);
	if (rc == BL_OK)
		rc = bl__batch_open(j->ctx, month, resume_id, &j->opts, &j->run);
	if (run_id && month)
		*run_id = j->run.r.id; /* also when the run exists but could not be loaded */
	if (rc) {
		job_destroy(j);
		return rc;
	}
	j->run_id = j->run.r.id;
	memcpy(j->month, j->run.r.month, sizeof j->month);
	if (pthread_create(&j->th, NULL, job_main, j)) {
		/* the run is STARTED and ours: end it here */
		int64_t id = j->run_id;
		j->stop = 1;
		bl__batch_drive(j->ctx, &j->run, &j->opts, &j->stop); /* claims nothing: ends STOPPED */
		job_destroy(j);
		return bl__fail(BL_ERROR, "could not start a thread for batch run #%lld; it is STOPPED, resume it",
				(long long)id);
	}
	*out = j;
	return BL_OK;
}

int bl_batch_start(bl_ctx *ctx, const char *month, const bl_batch_opts *opts, int64_t *run_id,
		   bl_batch_job **job)
{
	if (!month) {
		if (job)
			*job = NULL;
		return bl__fail(BL_EINVAL, "bl_batch_start: month is NULL");
	}
	return job_start(ctx, month, 0, opts, run_id, job);
}

int bl_batch_resume_start(bl_ctx *ctx, int64_t run_id, const bl_batch_opts *opts, bl_batch_job **job)
{
	if (run_id <= 0) {
		if (job)
			*job = NULL;
		return bl__fail(BL_ENOTFOUND, "batch run #%lld does not exist", (long long)run_id);
	}
	return job_start(ctx, NULL, run_id, opts, NULL, job);
}

int bl_batch_job_wait(bl_batch_job *job, int timeout_ms, bool *ended)
{
	if (ended)
		*ended = false;
	if (!job)
		return bl__fail(BL_EINVAL, "bl_batch_job_wait: job is NULL");
	struct timespec until = bl__mono_deadline(timeout_ms);
	pthread_mutex_lock(&job->mu);
	while (!job->ended && timeout_ms != 0) {
		if (timeout_ms < 0)
			pthread_cond_wait(&job->cv, &job->mu);
		else if (pthread_cond_timedwait(&job->cv, &job->mu, &until))
			break;
	}
	bool done = job->ended;
	int rc = job->rc;
	char msg[sizeof job->msg];
	memcpy(msg, job->msg, sizeof msg);
	pthread_mutex_unlock(&job->mu);
	if (!done)
		return BL_OK;
	if (ended)
		*ended = true;
	return rc ? bl__fail(rc, "%s", msg) : BL_OK;
}

int bl_batch_job_stop(bl_batch_job *job)
{
	if (!job)
		return bl__fail(BL_EINVAL, "bl_batch_job_stop: job is NULL");
	job->stop = 1;
	return BL_OK;
}

int64_t bl_batch_job_run_id(const bl_batch_job *job)
{
	return job ? job->run_id : 0;
}

const char *bl_batch_job_month(const bl_batch_job *job)
{
	return job ? job->month : "";
}

void bl_batch_job_free(bl_batch_job *job)
{
	if (!job)
		return;
	pthread_mutex_lock(&job->mu);
	bool ended = job->ended;
	if (!ended) {
		job->detached = true;
		pthread_detach(job->th);
	}
	pthread_mutex_unlock(&job->mu);
	if (ended) {
		pthread_join(job->th, NULL); /* it has only its return left */
		job_destroy(job);
	}
}
