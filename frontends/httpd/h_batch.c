/*
 * Batch routes.  A run started (or resumed) over HTTP or from the admin page
 * is a library job (bl_batch_start / bl_batch_resume_start): the request
 * returns 202 with the run id once the run is STARTED (or the error when the
 * start fails at once).  The job handles are kept: on SIGTERM the runs are
 * told to stop (they finish their current chunks and end STOPPED, resumable)
 * and waited for.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "httpd.h"

#define SHUTDOWN_WAIT_S 60

static pthread_mutex_t jobs_mu = PTHREAD_MUTEX_INITIALIZER;
static bl_batch_job **jobs; /* under jobs_mu */
static size_t njobs;
static bool shutting_down;

/* The server log's line for a run's end (the job's end callback). */
static void log_end(int64_t run_id, const char *month, int rc, const char *message, void *payload)
{
	(void)payload;
	char *clean = rc ? scrub_pii(message) : NULL;
	fprintf(stderr, "%s: batch run #%lld (%s) ended: %s%s%s\n", HTTPD_NAME, (long long)run_id, month,
		rc == BL_OK ? "COMPLETED" : rc == BL_ESTOPPED ? "STOPPED" : bl_strerror(rc), rc ? ": " : "",
		rc ? (clean ? clean : "") : "");
	bl_free(clean);
}

/* Forget the jobs that ended (under jobs_mu). */
static void reap(void)
{
	size_t k = 0;
	for (size_t i = 0; i < njobs; i++) {
		bool ended = false;
		bl_batch_job_wait(jobs[i], 0, &ended);
		if (ended)
			bl_batch_job_free(jobs[i]);
		else
			jobs[k++] = jobs[i];
	}
	njobs = k;
}

/* Keep a job's handle for the shutdown; false (job stopped and freed) when shutting down. */
static bool keep(bl_batch_job *j)
{
	pthread_mutex_lock(&jobs_mu);
	reap();
	bl_batch_job **nv = shutting_down ? NULL : realloc(jobs, (njobs + 1) * sizeof *nv);
	if (nv) {
		jobs = nv;
		jobs[njobs++] = j;
	}
	pthread_mutex_unlock(&jobs_mu);
	if (!nv) {
		/* shutting down (or out of memory): the run stops now, resumable */
		bl_batch_job_stop(j);
		bl_batch_job_free(j);
	}
	return nv != NULL;
}

void batch_shutdown(void)
{
	pthread_mutex_lock(&jobs_mu);
	shutting_down = true;
	bl_batch_job **v = jobs;
	size_t n = njobs;
	jobs = NULL;
	njobs = 0;
	pthread_mutex_unlock(&jobs_mu);
	for (size_t i = 0; i < n; i++)
		bl_batch_job_stop(v[i]);
	struct timespec until = deadline_after_ms(SHUTDOWN_WAIT_S * 1000LL);
	int left = 0;
	for (size_t i = 0; i < n; i++) {
		struct timespec now = deadline_after_ms(0);
		int64_t ms = (int64_t)(until.tv_sec - now.tv_sec) * 1000 + (until.tv_nsec - now.tv_nsec) / 1000000;
		bool ended = false;
		bl_batch_job_wait(v[i], ms > 0 ? (int)ms : 0, &ended);
		left += !ended;
		bl_batch_job_free(v[i]); /* a run still stopping is detached: the exit ends it */
	}
	free(v);
	if (left > 0)
		fprintf(stderr, "%s: %d batch run(s) still stopping; exiting anyway (resume them later)\n",
			HTTPD_NAME, left);
}

void batch_default_opts(bl_batch_opts *o)
{
	bl_batch_opts_init(o, BL_BATCH_OPTS_VERSION);
	const bl_config *cfg = server_config();
	o->partitions = atoi(bl_config_get(cfg, "BILLING_BATCH_PARTITIONS"));
	o->chunk_size = atoi(bl_config_get(cfg, "BILLING_BATCH_CHUNK"));
	o->created_by = BL_CREATED_ADMIN;
}

int batch_launch(req *r, const char *month, int64_t resume_id, bl_batch_opts *o, int64_t *run_id,
		 char **warning)
{
	*run_id = 0;
	*warning = NULL;
	o->end_cb = log_end;
	bl_batch_job *j = NULL;
	int rc = resume_id ? bl_batch_resume_start(r->ctx, resume_id, o, &j)
			   : bl_batch_start(r->ctx, month, o, run_id, &j);
	if (rc)
		return rc;
	int64_t id = bl_batch_job_run_id(j);
	/* A run that COMPLETED at once but whose billing reservation failed is
	 * still an answer: 202 with the warning (issue 21). */
	bool ended = false;
	int jrc = bl_batch_job_wait(j, 0, &ended);
	if (ended && jrc && jrc != BL_ESTOPPED)
		*warning = scrub_pii(bl_error_last());
	keep(j);
	*run_id = id;
	return BL_OK;
}

static bool batch_opts(req *r, bl_batch_opts *o)
{
	batch_default_opts(o);
	int64_t parts = o->partitions, chunk = o->chunk_size;
	const char *mode = NULL;
	if (!body_str(r, "mode", false, 32, &mode) || !body_i64(r, "partitions", false, 1, 64, &parts) ||
	    !body_i64(r, "chunk_size", false, 1, 100000, &chunk))
		return false;
	if (mode && bl_batch_mode_parse(mode, &o->mode) != BL_OK) {
		reply_lib(r, BL_EINVAL, "mode");
		return false;
	}
	bool force = false, allow_empty = false;
	if (!body_bool(r, "force", false, &force) || !body_bool(r, "allow_empty", false, &allow_empty))
		return false;
	o->allow_future = force;
	o->allow_empty = allow_empty;
	o->partitions = (int)parts;
	o->chunk_size = (int)chunk;
	return true;
}

/* 202 with the run, or the start's error. */
static void answer(req *r, int rc, int64_t id, const char *month, char *warning)
{
	if (rc) {
		reply_lib(r, rc, rc == BL_EINVAL ? "month" : NULL);
		return;
	}
	bl_run *run = NULL;
	bl_run_get(r->ctx, id, &run);
	r->created_id = id;
	json_t *out = json_pack("{s:I,s:s,s:s}", "run_id", (json_int_t)id, "month", run ? bl_run_month(run) : month,
				"status", run ? bl_run_status_name(bl_run_status_of(run)) : "STARTED");
	if (warning)
		json_object_set_new(out, "warning", json_string(warning));
	bl_free(warning);
	bl_run_free(run);
	reply_json(r, 202, out);
}

void h_batch_start(req *r)
{
	const char *month;
	if (!body_str(r, "month", true, 16, &month))
		return;
	int rc = bl_month_parse(month, NULL, NULL);
	if (rc) {
		reply_lib(r, rc, "month");
		return;
	}
	bl_batch_opts o;
	if (!batch_opts(r, &o))
		return;
	int64_t id = 0;
	char *warning = NULL;
	rc = batch_launch(r, month, 0, &o, &id, &warning);
	answer(r, rc, id, month, warning);
}

void h_batch_resume(req *r)
{
	int64_t id = param_i64(r, 0);
	bl_batch_opts o;
	if (!batch_opts(r, &o))
		return;
	int64_t started = 0;
	char *warning = NULL;
	int rc = batch_launch(r, NULL, id, &o, &started, &warning);
	answer(r, rc, started, "", warning);
}

void h_batch_stop(req *r)
{
	int64_t id = param_i64(r, 0);
	int rc = bl_batch_stop(r->ctx, id);
	if (rc) {
		reply_lib(r, rc, NULL);
		return;
	}
	reply_json(r, 202, json_pack("{s:I,s:b}", "run_id", (json_int_t)id, "stop_requested", 1));
}

void h_batch_get(req *r)
{
	int64_t id = param_i64(r, 0);
	bl_run *run = NULL;
	int rc = bl_run_get(r->ctx, id, &run);
	char *json = NULL;
	if (rc == BL_OK)
		rc = bl_run_to_json(run, &json);
	if (rc) {
		bl_run_free(run);
		reply_lib(r, rc, NULL);
		return;
	}
	json_t *out = lib_json(r, json);
	bl_batch_progress p;
	bl_run_progress(run, &p);
	bl_run_free(run);
	if (!out)
		return;
	/* percent with one decimal, from integers */
	json_t *prog = json_pack("{s:I,s:I,s:I,s:I,s:I}", "total", (json_int_t)p.total, "processed",
				 (json_int_t)p.processed, "issued", (json_int_t)p.issued, "skipped",
				 (json_int_t)p.skipped, "failed", (json_int_t)p.failed);
	json_object_set_new(prog, "percent",
			    p.total > 0 ? json_real((double)(p.processed * 1000 / p.total) / 10.0) : json_null());
	json_object_set_new(out, "progress", prog);
	reply_json(r, 200, out);
}

void h_batch_list(req *r)
{
	int limit;
	int64_t cursor;
	const char *month;
	if (!page_args(r, &limit, &cursor) || !query_str(r, "month", 16, &month))
		return;
	bl_run_filter f;
	bl_run_filter_init(&f, BL_RUN_FILTER_VERSION);
	f.month = month;
	f.before_id = cursor;
	f.limit = limit;
	bl_run_list *l = NULL;
	char *json = NULL;
	int rc = bl_run_list_get(r->ctx, &f, &l);
	if (rc == BL_OK)
		rc = bl_run_list_to_json(l, &json);
	if (rc) {
		bl_run_list_free(l);
		reply_lib(r, rc, "month");
		return;
	}
	char next[32] = "";
	if (bl_run_list_next(l))
		snprintf(next, sizeof next, "%lld", (long long)bl_run_list_next(l));
	bl_run_list_free(l);
	json_t *items = lib_json(r, json);
	if (items)
		reply_page(r, items, next[0] ? next : NULL);
}
