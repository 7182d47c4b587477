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

#endif
