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
} bl_batch_opts;

#define BL_BATCH_OPTS_VERSION 2
#define BL_BATCH_OPTS_INIT \
	{ BL_BATCH_OPTS_VERSION, BL_BATCH_NORMAL, 1, 1000, BL_CREATED_ADMIN, NULL, NULL, NULL, NULL, NULL, false, false }
/** Defaults of `version` (1 or 2; a version-1 struct is filled only up to cancel). */
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
