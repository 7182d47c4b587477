/*
 * Batch routes.  A run started (or resumed) over HTTP works in a detached
 * thread with its own bl_ctx; the request returns 202 with the run id as
 * soon as the run is STARTED in the database (or with the error when the
 * start fails at once).  On SIGTERM the runs are told to stop (they finish
 * their current chunks and end STOPPED, resumable) and waited for.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "httpd.h"

#define START_WAIT_MS 10000
#define SHUTDOWN_WAIT_S 60

typedef struct {
	char month[8];
	int64_t run_id; /* resume: the run; start: set when known */
	bool resume;
	bl_batch_opts o;
	char actor[129]; /* the admin who asked: the run's audit entry is theirs */
	/* under bmu */
	bool done;
	int rc;
	char err[512];
	int refs;
} job;

static pthread_mutex_t bmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t bcond; /* CLOCK_MONOTONIC */

__attribute__((constructor)) static void batch_cond_init(void)
{
	cond_init_monotonic(&bcond);
}
static pthread_mutex_t start_mu = PTHREAD_MUTEX_INITIALIZER; /* one start at a time per process */
static int running;
static volatile int cancel_all;

static void job_release(job *j)
{
	/* under bmu */
	if (--j->refs == 0)
		free(j);
}

static void *job_main(void *arg)
{
	job *j = arg;
	bl_ctx *ctx = NULL;
	int64_t id = j->run_id;
	int rc = bl_ctx_new(&ctx, server_config());
	if (rc == BL_OK)
		rc = bl_ctx_set_actor(ctx, j->actor[0] ? j->actor : NULL);
	if (rc == BL_OK)
		rc = j->resume ? bl_batch_resume(ctx, j->run_id, &j->o) : bl_batch_run(ctx, j->month, &j->o, &id);
	char err[512] = "";
	if (rc) {
		char *clean = scrub_pii(bl_error_last());
		snprintf(err, sizeof err, "%s", clean ? clean : "");
		bl_free(clean);
	}
	fprintf(stderr, "%s: batch run #%lld (%s) ended: %s%s%s\n", HTTPD_NAME, (long long)id, j->month,
		rc == BL_OK ? "COMPLETED" : rc == BL_ESTOPPED ? "STOPPED" : bl_strerror(rc), rc ? ": " : "",
		rc ? err : "");
	bl_ctx_free(ctx);
	pthread_mutex_lock(&bmu);
	j->done = true;
	j->rc = rc;
	if (id)
		j->run_id = id;
	memcpy(j->err, err, sizeof j->err);
	running--;
	job_release(j);
	pthread_cond_broadcast(&bcond);
	pthread_mutex_unlock(&bmu);
	return NULL;
}

static bool spawn(job *j)
{
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_t t;
	pthread_mutex_lock(&bmu);
	j->refs = 2;
	running++;
	int e = pthread_create(&t, &a, job_main, j);
	if (e) {
		running--;
		j->refs = 1;
	}
	pthread_mutex_unlock(&bmu);
	pthread_attr_destroy(&a);
	return e == 0;
}

void batch_shutdown(void)
{
	cancel_all = 1;
	struct timespec until = deadline_after_ms(SHUTDOWN_WAIT_S * 1000LL);
	pthread_mutex_lock(&bmu);
	while (running > 0)
		if (pthread_cond_timedwait(&bcond, &bmu, &until))
			break;
	if (running > 0)
		fprintf(stderr, "%s: %d batch run(s) still stopping; exiting anyway (resume them later)\n",
			HTTPD_NAME, running);
	pthread_mutex_unlock(&bmu);
}

static void owner_name(char out[128])
{
	char host[64] = "localhost";
	gethostname(host, sizeof host - 1);
	host[sizeof host - 1] = '\0';
	snprintf(out, 128, "%s:%d", host, (int)getpid());
}

/* The newest run of `month` when it is STARTED by this process and newer than `after`. */
static int64_t started_run(req *r, const char *month, int64_t after, const char *owner)
{
	char *json = NULL;
	if (bl_batch_list(r->ctx, month, 1, &json) != BL_OK)
		return 0;
	json_t *a = json_loads(json, 0, NULL);
	bl_free(json);
	json_t *run = json_array_get(a, 0);
	int64_t id = json_integer_value(json_object_get(run, "id"));
	const char *st = json_string_value(json_object_get(run, "status"));
	const char *ow = json_string_value(json_object_get(run, "owner"));
	bool ours = id > after && st && ow && !strcmp(st, "STARTED") && !strcmp(ow, owner);
	json_decref(a);
	return ours ? id : 0;
}

static bool run_started(req *r, int64_t id)
{
	char *json = NULL;
	if (bl_batch_get(r->ctx, id, &json) != BL_OK)
		return false;
	json_t *o = json_loads(json, 0, NULL);
	bl_free(json);
	const char *st = json_string_value(json_object_get(o, "status"));
	bool yes = st && !strcmp(st, "STARTED");
	json_decref(o);
	return yes;
}

/* Wait until the job's run is STARTED or the job ended; answer either way. */
static void await_start(req *r, job *j, int64_t prev_max)
{
	char owner[128];
	owner_name(owner);
	int64_t id = 0;
	bool done = false;
	int rc = BL_OK;
	char err[512] = "";
	for (int waited = 0; waited < START_WAIT_MS; waited += 5) {
		pthread_mutex_lock(&bmu);
		done = j->done;
		rc = j->rc;
		if (done) {
			id = j->run_id;
			memcpy(err, j->err, sizeof err);
		}
		pthread_mutex_unlock(&bmu);
		if (done)
			break;
		id = j->resume ? (run_started(r, j->run_id) ? j->run_id : 0) : started_run(r, j->month, prev_max, owner);
		if (id)
			break;
		usleep(5000);
	}
	/* what the answer needs, copied: once released, the job may be freed by its
	 * thread at any moment (issue 21: a run that completed at once was answered
	 * from freed memory, a 500 "out of memory") */
	const bool resume = j->resume;
	char month[sizeof j->month];
	memcpy(month, j->month, sizeof month);
	pthread_mutex_lock(&bmu);
	job_release(j);
	pthread_mutex_unlock(&bmu);
	j = NULL;
	/* A run that exists and COMPLETED is an answer even when something after it
	 * failed (its billing reservation): 202 with the warning, not an error that
	 * hides the run (issue 21: instant completion answered 500). */
	json_t *ended = NULL;
	if (done && rc && rc != BL_ESTOPPED && id && !resume) { /* a run this start created */
		char *rj = NULL;
		if (bl_batch_get(r->ctx, id, &rj) == BL_OK)
			ended = json_loads(rj, 0, NULL);
		bl_free(rj);
		const char *st = json_string_value(json_object_get(ended, "status"));
		if (!st || strcmp(st, "COMPLETED")) {
			json_decref(ended);
			ended = NULL;
		}
	}
	if (done && rc && rc != BL_ESTOPPED && !ended) {
		int status = rc == BL_EINVAL || rc == BL_EOVERFLOW ? 422 : rc == BL_ECONFLICT ? 409
			     : rc == BL_ENOTFOUND ? 404 : rc == BL_EDB || rc == BL_EREDIS ? 503 : 500;
		if (status >= 500)
			reply_error(r, status, NULL, NULL, "the batch could not start (see the server log)");
		else
			reply_error(r, status, NULL, NULL, "%s", err);
		return;
	}
	if (!id) {
		reply_error(r, 503, NULL, NULL, "the batch run did not start within %d s; see GET /api/batch/runs",
			    START_WAIT_MS / 1000);
		return;
	}
	char *json = NULL;
	int grc = bl_batch_get(r->ctx, id, &json);
	json_t *run = grc == BL_OK ? json_loads(json, 0, NULL) : NULL;
	bl_free(json);
	r->created_id = id;
	json_t *out = json_pack("{s:I,s:s,s:s}", "run_id", (json_int_t)id, "month", month, "status",
				run ? json_string_value(json_object_get(run, "status")) ?: "STARTED" : "STARTED");
	if (ended)
		json_object_set_new(out, "warning", json_string(err));
	reply_json(r, 202, out);
	json_decref(run);
	json_decref(ended);
}

static bool batch_opts(req *r, bl_batch_opts *o)
{
	bl_batch_opts_init(o, BL_BATCH_OPTS_VERSION);
	const bl_config *cfg = server_config();
	int64_t parts = atoi(bl_config_get(cfg, "BILLING_BATCH_PARTITIONS"));
	int64_t chunk = atoi(bl_config_get(cfg, "BILLING_BATCH_CHUNK"));
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
	o->created_by = BL_CREATED_ADMIN;
	o->cancel = &cancel_all;
	return true;
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
	job *j = calloc(1, sizeof *j);
	if (!j) {
		reply_error(r, 500, NULL, NULL, "out of memory");
		return;
	}
	if (!batch_opts(r, &j->o)) {
		free(j);
		return;
	}
	/* a future month or one without charges: refused unless forced (the library's rule) */
	if ((rc = bl_batch_check(r->ctx, month, &j->o))) {
		free(j);
		reply_lib(r, rc, "month");
		return;
	}
	snprintf(j->month, sizeof j->month, "%s", month);
	snprintf(j->actor, sizeof j->actor, "%s", bl_ctx_actor(r->ctx) ? bl_ctx_actor(r->ctx) : "");
	pthread_mutex_lock(&start_mu);
	/* the newest run of the month before ours */
	char *json = NULL;
	int64_t prev = 0;
	if ((rc = bl_batch_list(r->ctx, month, 1, &json)) == BL_OK) {
		json_t *a = json_loads(json, 0, NULL);
		prev = json_integer_value(json_object_get(json_array_get(a, 0), "id"));
		json_decref(a);
	}
	bl_free(json);
	if (rc) {
		pthread_mutex_unlock(&start_mu);
		free(j);
		reply_lib(r, rc, NULL);
		return;
	}
	if (!spawn(j)) {
		pthread_mutex_unlock(&start_mu);
		free(j);
		reply_error(r, 503, NULL, NULL, "cannot start a thread for the batch run");
		return;
	}
	await_start(r, j, prev);
	pthread_mutex_unlock(&start_mu);
}

void h_batch_resume(req *r)
{
	int64_t id = param_i64(r, 0);
	char *json = NULL;
	int rc = bl_batch_get(r->ctx, id, &json);
	if (rc) {
		reply_lib(r, rc, NULL);
		return;
	}
	json_t *run = lib_json(r, json);
	if (!run)
		return;
	job *j = calloc(1, sizeof *j);
	if (!j || !batch_opts(r, &j->o)) {
		if (!j)
			reply_error(r, 500, NULL, NULL, "out of memory");
		free(j);
		json_decref(run);
		return;
	}
	j->resume = true;
	j->run_id = id;
	snprintf(j->month, sizeof j->month, "%s", json_string_value(json_object_get(run, "target_month")) ?: "");
	snprintf(j->actor, sizeof j->actor, "%s", bl_ctx_actor(r->ctx) ? bl_ctx_actor(r->ctx) : "");
	json_decref(run);
	pthread_mutex_lock(&start_mu);
	if (!spawn(j)) {
		pthread_mutex_unlock(&start_mu);
		free(j);
		reply_error(r, 503, NULL, NULL, "cannot start a thread for the batch run");
		return;
	}
	await_start(r, j, 0);
	pthread_mutex_unlock(&start_mu);
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
	char *json = NULL;
	int rc = bl_batch_get(r->ctx, id, &json);
	if (rc) {
		reply_lib(r, rc, NULL);
		return;
	}
	json_t *run = lib_json(r, json);
	if (!run)
		return;
	bl_batch_progress p;
	if (bl_batch_progress_get(r->ctx, id, &p) == BL_OK) {
		/* percent with one decimal, from integers */
		json_t *prog = json_pack("{s:I,s:I,s:I,s:I,s:I}", "total", (json_int_t)p.total, "processed",
					 (json_int_t)p.processed, "issued", (json_int_t)p.issued, "skipped",
					 (json_int_t)p.skipped, "failed", (json_int_t)p.failed);
		json_object_set_new(prog, "percent",
				    p.total > 0 ? json_real((double)(p.processed * 1000 / p.total) / 10.0)
						: json_null());
		json_object_set_new(run, "progress", prog);
	}
	reply_json(r, 200, run);
}

void h_batch_list(req *r)
{
	int limit;
	int64_t cursor;
	const char *month;
	if (!page_args(r, &limit, &cursor) || !query_str(r, "month", 16, &month))
		return;
	/* The library lists the newest runs; the cursor (runs older than it) is
	 * applied here over at most 1000 of them: runs are few (a handful a month). */
	char *json = NULL;
	int rc = bl_batch_list(r->ctx, month, 1000, &json);
	if (rc) {
		reply_lib(r, rc, "month");
		return;
	}
	json_t *all = lib_json(r, json);
	if (!all)
		return;
	json_t *items = json_array();
	char next[32] = "";
	size_t i;
	json_t *run;
	json_array_foreach(all, i, run) {
		int64_t id = json_integer_value(json_object_get(run, "id"));
		if (cursor && id >= cursor)
			continue;
		if (json_array_size(items) == (size_t)limit) {
			snprintf(next, sizeof next, "%lld",
				 (long long)json_integer_value(json_object_get(json_array_get(items, (size_t)limit - 1), "id")));
			break;
		}
		json_array_append(items, run);
	}
	json_decref(all);
	reply_page(r, items, next[0] ? next : NULL);
}
