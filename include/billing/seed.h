/*
 * libbilling — deterministic data generator for demos, tests and benchmarks.
 *
 * The same seed and size always give the same subscribers and charges
 * (ciphertexts differ: their nonces are random; plain values and blind
 * indexes are identical).
 */
#ifndef BILLING_SEED_H
#define BILLING_SEED_H

#include "common.h"
#include "context.h"

BL_BEGIN_DECLS

typedef struct {
	int64_t users_total;   /**< subscribers in the database after seeding */
	int64_t users_created; /**< created by this call */
	int64_t services;
	int64_t charges;       /**< charge rows written for the month */
	int64_t invalid_users; /**< subscribers given an invalid row on purpose */
	int64_t group_members;
	double seconds;
} bl_seed_stats;

typedef void (*bl_seed_progress_cb)(int64_t done, int64_t total, void *payload);

typedef struct {
	unsigned version;
	int64_t users;        /**< how many subscribers (1 .. 100,000,000) */
	const char *month;    /**< "YYYY-MM" whose charges to generate */
	uint64_t seed;        /**< PRNG seed */
	int invalid_permille; /**< share of subscribers with an invalid row, in ‰ (0-1000) */
	bl_seed_progress_cb progress_cb;
	void *progress_payload;
} bl_seed_opts;

#define BL_SEED_OPTS_VERSION 1
#define BL_SEED_OPTS_INIT { BL_SEED_OPTS_VERSION, 10000, NULL, 1, 3, NULL, NULL }
BL_EXTERN(int) bl_seed_opts_init(bl_seed_opts *opts, unsigned version);

/**
 * Generate: the service catalogue and groups (once), subscribers 1..users
 * (those missing), and the month's charges.  A month that already has charge
 * rows is refused (BL_ECONFLICT) so nothing is doubled.
 */
BL_EXTERN(int) bl_seed_run(bl_ctx *ctx, const bl_seed_opts *opts, bl_seed_stats *stats);

BL_END_DECLS

#endif
