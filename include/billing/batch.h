/*
 * libbilling — the statement issuance batch and its run history.
 *
 * A run turns one month of charges into statements, one per eligible
 * subscriber, in chunks of subscribers in id order.  Each chunk is one
 * transaction that writes its statements, their lines, its failures and the
 * run's checkpoint together, so a run killed at any instant and resumed ends
 * with exactly one statement per eligible subscriber.  Chunks are claimed
 * with SELECT ... FOR UPDATE SKIP LOCKED, so several threads, processes or
 * machines can work on one run.
 */
#ifndef BILLING_BATCH_H
#define BILLING_BATCH_H

#include "common.h"
#include "context.h"

BL_BEGIN_DECLS

typedef enum {
	BL_BATCH_NORMAL = 0,      /**< issue what is missing */
	BL_BATCH_FAILED_ONLY = 1, /**< only subscribers that failed in earlier runs */
	BL_BATCH_DRY_RUN = 2,     /**< compute counts and sums, write no statement */
	BL_BATCH_REISSUE = 3      /**< replace the month's statements */
} bl_batch_mode;

typedef enum { BL_CREATED_AUTO = 0, BL_CREATED_ADMIN = 1 } bl_created_by;

typedef struct {
	int64_t run_id;
	int64_t total;     /**< subscribers to process */
	int64_t processed; /**< issued + skipped + failed */
	int64_t issued;
	int64_t skipped;   /**< already had a statement */
	int64_t failed;
} bl_batch_progress;

typedef void (*bl_batch_progress_cb)(const bl_batch_progress *progress, void *payload);
/** Called once when a run ends COMPLETED (not for dry runs). */
typedef void (*bl_batch_complete_cb)(int64_t run_id, const char *month, void *payload);

/**
 * Called once when a run driven by this call (or job) ends, whatever the
 * outcome: `rc` as bl_batch_run returns it (BL_OK COMPLETED, BL_ESTOPPED, an
 * error), `message` the error text then ("" for BL_OK).  From the thread that
 * drove the run.
 */
typedef void (*bl_batch_end_cb)(int64_t run_id, const char *month, int rc, const char *message,
				void *payload);

typedef struct {
	unsigned version;
	bl_batch_mode mode;
	int partitions;      /**< worker threads, each with its own connection (1-64) */
	int chunk_size;      /**< subscribers per chunk/transaction (1-100000) */
	bl_created_by created_by;
	bl_batch_progress_cb progress_cb; /**< called after each chunk, from any worker */
	void *progress_payload;
	bl_batch_complete_cb complete_cb;
	void *complete_payload;
	const volatile int *cancel; /**< when non-NULL and set: stop like bl_batch_stop */
	/* version 2 */
	bool allow_future;   /**< run a month after the current one (Asia/Seoul) anyway */
	bool allow_empty;    /**< run a month without charges anyway (an empty run; no billing reservation) */
	/* version 3 */
	bl_batch_end_cb end_cb; /**< when the run ends (see bl_batch_end_cb) */
	void *end_payload;
} bl_batch_opts;

#define BL_BATCH_OPTS_VERSION 3
#define BL_BATCH_OPTS_INIT \
	{ BL_BATCH_OPTS_VERSION, BL_BATCH_NORMAL, 1, 1000, BL_CREATED_ADMIN, NULL, NULL, NULL, NULL, NULL, false, false, \
	  NULL, NULL }
/** Defaults of `version` (1-3; a struct of an older version is filled only up to its last field). */
BL_EXTERN(int) bl_batch_opts_init(bl_batch_opts *opts, unsigned version);

/** "NORMAL", "FAILED_ONLY", "DRY_RUN", "REISSUE"; parse accepts "failed-only" too. */
BL_EXTERN(const char *) bl_batch_mode_name(bl_batch_mode mode);
BL_EXTERN(int) bl_batch_mode_parse(const char *s, bl_batch_mode *mode);

/**
 * Start a run for `month` and work on it until it ends.  *run_id is set as
 * soon as the run exists (also on failure after that point).  Returns BL_OK
 * when it COMPLETED, BL_ESTOPPED when it was stopped, BL_ECONFLICT when the
 * month already has an active run (the message names it).  With version-2
 * options, a month after the current one is refused (BL_EINVAL) unless
 * allow_future, and a month without charges (modes other than FAILED_ONLY)
 * is refused (BL_ECONFLICT, nothing created) unless allow_empty.  A run that
 * had nothing to process creates no billing reservation.
 */
BL_EXTERN(int) bl_batch_run(bl_ctx *ctx, const char *month, const bl_batch_opts *opts,
			    int64_t *run_id);

/**
 * Whether bl_batch_run would refuse `month` with these options, without
 * creating anything: BL_EINVAL for a month after the current one (Asia/Seoul,
 * the context's clock) unless allow_future, BL_ECONFLICT for a month without
 * charges (not FAILED_ONLY) unless allow_empty; BL_OK otherwise.  Pages ask
 * the operator before forcing either.
 */
BL_EXTERN(int) bl_batch_check(bl_ctx *ctx, const char *month, const bl_batch_opts *opts);

/** Continue a STOPPED or FAILED run from its checkpoint. */
BL_EXTERN(int) bl_batch_resume(bl_ctx *ctx, int64_t run_id, const bl_batch_opts *opts);

/**
 * Asynchronous runs.  bl_batch_start does what bl_batch_run does, but
 * returns as soon as the run exists (STARTED in the database, *run_id set)
 * and works on it in a thread of the library with its own context derived
 * from `ctx` (the same configuration and clock; `ctx` stays the caller's and
 * may be freed at once).  A start that fails at once (conflict, a future or
 * empty month, bad options...) returns that error and makes no job.
 * `opts` is copied; its callbacks are called from the job's threads.
 *
 * The job: bl_batch_job_wait for its end, bl_batch_job_stop to stop the run
 * like bl_batch_stop (it finishes its current chunks and ends STOPPED,
 * resumable), bl_batch_job_free when done with the handle.  Freeing the
 * handle of a job still running detaches it: the run goes on to its end and
 * the library frees the job then.
 */
typedef struct bl_batch_job bl_batch_job;

BL_EXTERN(int) bl_batch_start(bl_ctx *ctx, const char *month, const bl_batch_opts *opts, int64_t *run_id,
			      bl_batch_job **job);
/** bl_batch_resume as a job: returns once the run is STARTED again. */
BL_EXTERN(int) bl_batch_resume_start(bl_ctx *ctx, int64_t run_id, const bl_batch_opts *opts,
				     bl_batch_job **job);
/**
 * Wait up to `timeout_ms` (negative: until the end; 0: just look) for the
 * job's run to end.  Still running: BL_OK with *ended false.  Ended: *ended
 * true (`ended` may be NULL) and the run's outcome as bl_batch_run returns
 * it, its message as this thread's last error.  Any number of calls.
 */
BL_EXTERN(int) bl_batch_job_wait(bl_batch_job *job, int timeout_ms, bool *ended);
/** Ask the job's run to stop (returns at once; wait for the end). */
BL_EXTERN(int) bl_batch_job_stop(bl_batch_job *job);
/** The job's run id and month ("YYYY-MM"). */
BL_EXTERN(int64_t) bl_batch_job_run_id(const bl_batch_job *job);
BL_EXTERN(const char *) bl_batch_job_month(const bl_batch_job *job);
/** Release the handle (NULL-safe); a running job is detached (see above). */
BL_EXTERN(void) bl_batch_job_free(bl_batch_job *job);

/** Help with a STARTED run owned by another process (scale-out). */
BL_EXTERN(int) bl_batch_join(bl_ctx *ctx, int64_t run_id, const bl_batch_opts *opts);

/** Ask a run to stop: it finishes its current chunks and ends STOPPED. */
BL_EXTERN(int) bl_batch_stop(bl_ctx *ctx, int64_t run_id);

/**
 * Mark STARTED runs whose owner is gone as FAILED ('SERVER_CRASH').
 * *recovered (may be NULL) gets how many.
 */
BL_EXTERN(int) bl_batch_recover(bl_ctx *ctx, int *recovered);

/** Progress and counts of a run. */
BL_EXTERN(int) bl_batch_progress_get(bl_ctx *ctx, int64_t run_id, bl_batch_progress *out);

/** A run as JSON (bl_free), with up to 100 of its failures and its billing reservation. */
BL_EXTERN(int) bl_batch_get(bl_ctx *ctx, int64_t run_id, char **json);

/** Runs, newest first, optionally of one month (NULL: all), as a JSON array. */
BL_EXTERN(int) bl_batch_list(bl_ctx *ctx, const char *month, int limit, char **json);

/**
 * The run to headline (dashboards, `stats`): a running one, else the newest
 * that is not a dry run, else the newest; as a JSON object like
 * bl_batch_list's items, or JSON null when there is no run.
 */
BL_EXTERN(int) bl_batch_current(bl_ctx *ctx, char **json);

/* ---- typed reads: runs as objects ----
 *
 * `bl_run` is one run as read from the history (named so because
 * bl_batch_run is the function that runs one).  Opaque; strings it returns
 * live as long as the object.  bl_run_to_json is exactly the JSON of
 * bl_batch_get (for bl_run_get) or of an item of bl_batch_list (for runs of
 * a bl_run_list), which httpd and the Python binding serve.
 */
typedef struct bl_run bl_run;

typedef enum {
	BL_RUN_STARTED = 0,   /**< working (or its owner died and recovery has not seen it yet) */
	BL_RUN_COMPLETED = 1,
	BL_RUN_FAILED = 2,
	BL_RUN_STOPPED = 3    /**< stopped on request: resumable */
} bl_run_status;

/** "STARTED", "COMPLETED", "FAILED", "STOPPED" ("?" otherwise). */
BL_EXTERN(const char *) bl_run_status_name(bl_run_status status);

/** A run with up to 100 of its failures, its chunk counts and its billing reservation (bl_batch_get). */
BL_EXTERN(int) bl_run_get(bl_ctx *ctx, int64_t run_id, bl_run **out);
/** The run to headline (see bl_batch_current); *out NULL when there is no run. */
BL_EXTERN(int) bl_run_current(bl_ctx *ctx, bl_run **out);
BL_EXTERN(void) bl_run_free(bl_run *run);
BL_EXTERN(int) bl_run_to_json(const bl_run *run, char **json);

BL_EXTERN(int64_t) bl_run_id(const bl_run *run);
BL_EXTERN(const char *) bl_run_month(const bl_run *run);
BL_EXTERN(bl_batch_mode) bl_run_mode(const bl_run *run);
BL_EXTERN(bl_run_status) bl_run_status_of(const bl_run *run);
BL_EXTERN(bl_created_by) bl_run_created_by(const bl_run *run);
BL_EXTERN(int) bl_run_partitions(const bl_run *run);
BL_EXTERN(int) bl_run_chunk_size(const bl_run *run);
/** The owning process, "host:pid". */
BL_EXTERN(const char *) bl_run_owner(const bl_run *run);
BL_EXTERN(bool) bl_run_stop_requested(const bl_run *run);
/** "YYYY-MM-DD HH:MM:SS" (the database's time, Asia/Seoul); ended_at NULL while running. */
BL_EXTERN(const char *) bl_run_started_at(const bl_run *run);
BL_EXTERN(const char *) bl_run_ended_at(const bl_run *run);
/** Milliseconds from start to end; -1 while running. */
BL_EXTERN(int64_t) bl_run_duration_ms(const bl_run *run);
/** The counts (progress->run_id included). */
BL_EXTERN(void) bl_run_progress(const bl_run *run, bl_batch_progress *progress);

/** How a run is going: its counts (read afresh from the database while it
 *  runs), per mille done, time spent, subscribers per second and the time
 *  left at that pace. */
typedef struct {
	bl_batch_progress progress;
	int permille;      /**< processed * 1000 / total; 1000 for a COMPLETED run without subscribers */
	int64_t elapsed_ms; /**< start to end, or to now (the context's clock) while it runs */
	double per_second; /**< processed per second of elapsed time; 0 before any */
	int64_t eta_s;     /**< seconds left at that pace; 0 when ended, -1 when not known yet */
} bl_run_pace;
BL_EXTERN(int) bl_run_pace_get(bl_ctx *ctx, const bl_run *run, bl_run_pace *out);
BL_EXTERN(bl_won) bl_run_usage_sum(const bl_run *run);
BL_EXTERN(bl_won) bl_run_discount_sum(const bl_run *run);
BL_EXTERN(bl_won) bl_run_vat_sum(const bl_run *run);
BL_EXTERN(bl_won) bl_run_billed_sum(const bl_run *run);
/** Why it FAILED; NULL otherwise. */
BL_EXTERN(const char *) bl_run_fail_reason(const bl_run *run);
/** Chunks planned and done (bl_run_get only; -1 for runs of a list). */
BL_EXTERN(int64_t) bl_run_chunks(const bl_run *run);
BL_EXTERN(int64_t) bl_run_chunks_done(const bl_run *run);
/** Failures read with the run (bl_run_get: up to 100, by user id; 0 for runs of a list). */
BL_EXTERN(size_t) bl_run_failure_count(const bl_run *run);
/** Failure i: user id, reason code, detail (each out may be NULL); BL_EINVAL when out of range. */
BL_EXTERN(int) bl_run_failure(const bl_run *run, size_t i, int64_t *user_id, const char **reason,
			      const char **detail);
/**
 * The billing reservation the run made when it completed (bl_run_get only):
 * false when none; otherwise its id, status, scheduled_at and channel (outs
 * may be NULL).
 */
BL_EXTERN(bool) bl_run_reservation(const bl_run *run, int64_t *id, const char **status,
				   const char **scheduled_at, const char **channel);

/** Which runs bl_run_list_get reads: newest first. */
typedef struct {
	unsigned version;
	const char *month; /**< "YYYY-MM", or NULL for all months */
	int64_t before_id; /**< only runs older than this id (a page's cursor); 0: from the newest */
	int limit;         /**< 1-1000 */
} bl_run_filter;

#define BL_RUN_FILTER_VERSION 1
#define BL_RUN_FILTER_INIT { BL_RUN_FILTER_VERSION, NULL, 0, 50 }
BL_EXTERN(int) bl_run_filter_init(bl_run_filter *filter, unsigned version);

typedef struct bl_run_list bl_run_list;

/** A page of runs; bl_run_list_next gives the next page's before_id. */
BL_EXTERN(int) bl_run_list_get(bl_ctx *ctx, const bl_run_filter *filter, bl_run_list **out);
BL_EXTERN(size_t) bl_run_list_count(const bl_run_list *list);
/** Run i of the list (owned by the list; NULL when out of range). */
BL_EXTERN(const bl_run *) bl_run_list_at(const bl_run_list *list, size_t i);
/** The before_id of the next page, 0 when this page is the last. */
BL_EXTERN(int64_t) bl_run_list_next(const bl_run_list *list);
/** The page as bl_batch_list's JSON array. */
BL_EXTERN(int) bl_run_list_to_json(const bl_run_list *list, char **json);
BL_EXTERN(void) bl_run_list_free(bl_run_list *list);

/**
 * Scheduler hook.  When `now` (unix seconds; 0 = the context's clock, bl_ctx_now) is past the
 * configured monthly slot (BILLING_BATCH_DAY / BILLING_BATCH_TIME, Asia/Seoul)
 * and the previous month has no run yet, claims that month once across all
 * processes and writes it to month_out (8 bytes).  *due = true then; the
 * caller starts bl_batch_run with created_by AUTO.
 */
BL_EXTERN(int) bl_batch_due(bl_ctx *ctx, int64_t now, bool *due, char month_out[8]);

BL_END_DECLS

#endif
