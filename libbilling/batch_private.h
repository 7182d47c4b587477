/* Private interface between the batch driver (batch.c) and the chunk
 * worker (batch_chunk.c). */
#ifndef BL_BATCH_PRIVATE_H
#define BL_BATCH_PRIVATE_H

#include "db.h"

typedef struct {
	int64_t issued, skipped, failed;
	bl_won usage, discount, vat, billed;
} bl__chunk_counts;

/* Per-worker state: its own connection and prepared statements. */
typedef struct bl__chunker bl__chunker;

typedef struct {
	int64_t run_id;
	char month[8];
	bl__month ym; /* month, parsed */
	bl_batch_mode mode;
	int due_day;
	const char *worker; /* "host:pid/tN" */
} bl__chunk_job;

BL_PRIVATE int bl__chunker_new(bl__chunker **out, MYSQL *db, const bl__chunk_job *job,
			       int chunk_size);
BL_PRIVATE void bl__chunker_free(bl__chunker *c);

/*
 * Inside the caller's transaction: compute and write the statements of the
 * subscribers in (from, to], mark the chunk DONE and add its counts to the
 * run.  The caller commits (or rolls back on error).
 */
BL_PRIVATE int bl__chunk_process(bl__chunker *c, int chunk_no, int64_t from, int64_t to,
				 bl__chunk_counts *counts);

/* ---- the run driver (batch.c), shared with the job threads (batch_job.c) ---- */

typedef struct {
	int64_t id;
	char month[8];
	bl__month ym; /* month, parsed once for the run (load_run) */
	bl_batch_mode mode;
	bool planned;
	int chunk_size;
	bl_batch_progress progress;
} bl__run_row;

/* A run this process owns: its row and the user lock that marks the owner. */
typedef struct {
	bl__run_row r;
	char lock[64];
} bl__run_open;

/*
 * The one place a run is created (month != NULL: a new run of `month`) or
 * reopened (month == NULL: resume STOPPED/FAILED run `resume_id`): checks,
 * crash recovery, the owner lock on ctx's connection and the run row.  On
 * BL_OK the run is STARTED and owned by ctx's connection; the caller then
 * drives it with bl__batch_drive on the same context.
 */
BL_PRIVATE int bl__batch_open(bl_ctx *ctx, const char *month, int64_t resume_id, const bl_batch_opts *opts,
			      bl__run_open *out);
/* Work an opened run to its end and record the end (COMPLETED/STOPPED/FAILED).
 * `stop` (may be NULL) is a second cancel flag next to opts->cancel. */
BL_PRIVATE int bl__batch_drive(bl_ctx *ctx, bl__run_open *run, const bl_batch_opts *opts,
			       const volatile int *stop);

#endif
