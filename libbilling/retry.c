/*
 * Retry policy: exponential backoff with full jitter (see docs/senders.md).
 *
 *   delay(n) = min(cap, base * multiplier^(n-1))   after n failed attempts
 *   jittered = random % (delay + 1)                uniform in [0, delay]
 *
 * Integer arithmetic only; the product saturates at the cap instead of
 * overflowing, so any multiplier and attempt count is safe.
 */
#include "internal.h"

int bl_retry_policy_init(bl_retry_policy *p, unsigned version)
{
	if (!p)
		return bl__fail(BL_EINVAL, "bl_retry_policy_init: policy is NULL");
	if (version != BL_RETRY_POLICY_VERSION)
		return bl__fail(BL_EINVAL, "bl_retry_policy_init: version %u is not supported (expected %u)",
				version, BL_RETRY_POLICY_VERSION);
	*p = (bl_retry_policy)BL_RETRY_POLICY_INIT;
	return BL_OK;
}

static int validate(const bl_retry_policy *p, const char *fn)
{
	if (!p)
		return bl__fail(BL_EINVAL, "%s: policy is NULL", fn);
	if (p->version != BL_RETRY_POLICY_VERSION)
		return bl__fail(BL_EINVAL, "%s: policy version %u is not supported (expected %u)", fn,
				p->version, BL_RETRY_POLICY_VERSION);
	if (p->max_attempts < 1)
		return bl__fail(BL_EINVAL, "%s: max_attempts must be at least 1, got %d", fn,
				p->max_attempts);
	if (p->base_ms < 0)
		return bl__fail(BL_EINVAL, "%s: base_ms must not be negative, got %lld", fn,
				(long long)p->base_ms);
	if (p->multiplier < 1)
		return bl__fail(BL_EINVAL, "%s: multiplier must be at least 1, got %d", fn,
				p->multiplier);
	if (p->cap_ms < 0)
		return bl__fail(BL_EINVAL, "%s: cap_ms must not be negative, got %lld", fn,
				(long long)p->cap_ms);
	return BL_OK;
}

int bl_retry_policy_from_config(const bl_config *cfg, bl_channel channel, bl_retry_policy *out)
{
	if (!cfg || !out)
		return bl__fail(BL_EINVAL, "bl_retry_policy_from_config: NULL argument");
	const char *key;
	switch (channel) {
	case BL_CHANNEL_EMAIL:
		key = "BILLING_RETRY_EMAIL_ATTEMPTS";
		break;
	case BL_CHANNEL_SMS:
		key = "BILLING_RETRY_SMS_ATTEMPTS";
		break;
	default:
		return bl__fail(BL_EINVAL, "bl_retry_policy_from_config: channel %d is neither EMAIL "
					   "nor SMS", (int)channel);
	}
	bl_retry_policy p;
	bl_retry_policy_init(&p, BL_RETRY_POLICY_VERSION);
	/* the settings are range-checked when set (config.c); the int casts hold */
	p.max_attempts = (int)bl__config_int(cfg, key);
	p.base_ms = bl__config_int(cfg, "BILLING_RETRY_BASE_MS");
	p.multiplier = (int)bl__config_int(cfg, "BILLING_RETRY_MULTIPLIER");
	p.cap_ms = bl__config_int(cfg, "BILLING_RETRY_CAP_MS");
	p.jitter = true;
	int rc = validate(&p, "bl_retry_policy_from_config");
	if (rc)
		return rc;
	*out = p;
	return BL_OK;
}

/* min(cap, base * multiplier^exp) without overflow. */
static int64_t backoff(int64_t base, int multiplier, int64_t cap, int exp)
{
	int64_t d = base < cap ? base : cap;
	/* multiplier 1 or a zero base never grow: skip the (possibly long) loop;
	 * otherwise d at least doubles per step and reaches cap within 63 steps */
	if (multiplier == 1 || d == 0)
		return d;
	for (int i = 0; i < exp && d < cap; i++) {
		int64_t next;
		if (__builtin_mul_overflow(d, (int64_t)multiplier, &next) || next > cap)
			return cap;
		d = next;
	}
	return d;
}

int bl_retry_next(const bl_retry_policy *p, int attempts_done, uint64_t random, bool *retry,
		  int64_t *delay_ms)
{
	int rc = validate(p, "bl_retry_next");
	if (rc)
		return rc;
	if (!retry || !delay_ms)
		return bl__fail(BL_EINVAL, "bl_retry_next: retry or delay_ms is NULL");
	if (attempts_done < 1)
		return bl__fail(BL_EINVAL, "bl_retry_next: attempts_done must be at least 1 (attempts "
					   "already failed), got %d", attempts_done);
	if (attempts_done >= p->max_attempts) {
		*retry = false;
		*delay_ms = 0;
		return BL_OK;
	}
	int64_t d = backoff(p->base_ms, p->multiplier, p->cap_ms, attempts_done - 1);
	if (p->jitter)
		d = (int64_t)(random % ((uint64_t)d + 1)); /* d <= INT64_MAX: no wrap */
	*retry = true;
	*delay_ms = d;
	return BL_OK;
}
