/*
 * libbilling — retry policy: exponential backoff with full jitter.
 */
#ifndef BILLING_RETRY_H
#define BILLING_RETRY_H

#include "common.h"
#include "config.h"
#include "user.h"

BL_BEGIN_DECLS

typedef struct {
	unsigned version;
	int max_attempts;   /**< attempts in all, the first included (≥ 1) */
	int64_t base_ms;    /**< delay before the 2nd attempt, before jitter */
	int multiplier;     /**< growth per attempt (≥ 1) */
	int64_t cap_ms;     /**< largest delay, before jitter */
	bool jitter;        /**< full jitter: uniform in [0, delay] */
} bl_retry_policy;

#define BL_RETRY_POLICY_VERSION 1
#define BL_RETRY_POLICY_INIT { BL_RETRY_POLICY_VERSION, 3, 1000, 2, 300000, true }
BL_EXTERN(int) bl_retry_policy_init(bl_retry_policy *p, unsigned version);

/** The policy of a channel from BILLING_RETRY_* settings. */
BL_EXTERN(int) bl_retry_policy_from_config(const bl_config *cfg, bl_channel channel,
					   bl_retry_policy *out);

/**
 * After `attempts_done` failed transient attempts: *retry = false when the
 * attempts are exhausted, else *delay_ms the wait before the next one.
 * `random` is any 64-bit random value (drives the jitter deterministically).
 */
BL_EXTERN(int) bl_retry_next(const bl_retry_policy *p, int attempts_done, uint64_t random,
			     bool *retry, int64_t *delay_ms);

BL_END_DECLS

#endif
