/*
 * Unit tests of the retry policy (retry.c): exponential backoff, cap,
 * saturation, full jitter, exhaustion, validation.  No server needed.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>
#include <billing/billing.h>
#include <billing/retry.h>

#define EXPECT_MSG(needle) \
	cr_expect(strstr(bl_error_last(), (needle)), "message '%s' lacks '%s'", bl_error_last(), (needle))

static bl_retry_policy policy(int max, int64_t base, int mult, int64_t cap, bool jitter)
{
	bl_retry_policy p;
	cr_assert_eq(bl_retry_policy_init(&p, BL_RETRY_POLICY_VERSION), BL_OK);
	p.max_attempts = max;
	p.base_ms = base;
	p.multiplier = mult;
	p.cap_ms = cap;
	p.jitter = jitter;
	return p;
}

static int64_t delay_of(const bl_retry_policy *p, int done, uint64_t rnd)
{
	bool retry = false;
	int64_t d = -1;
	cr_assert_eq(bl_retry_next(p, done, rnd, &retry, &d), BL_OK, "%s", bl_error_last());
	cr_assert(retry, "attempt %d: no retry", done);
	return d;
}

Test(retry, init_defaults)
{
	bl_retry_policy p, q = BL_RETRY_POLICY_INIT;
	memset(&p, 0xAB, sizeof p);
	cr_assert_eq(bl_retry_policy_init(&p, BL_RETRY_POLICY_VERSION), BL_OK);
	cr_expect_eq(p.version, BL_RETRY_POLICY_VERSION);
	cr_expect_eq(p.max_attempts, q.max_attempts);
	cr_expect_eq(p.base_ms, 1000);
	cr_expect_eq(p.multiplier, 2);
	cr_expect_eq(p.cap_ms, 300000);
	cr_expect(p.jitter);
	cr_expect_eq(bl_retry_policy_init(&p, 99), BL_EINVAL);
	EXPECT_MSG("version");
	cr_expect_eq(bl_retry_policy_init(NULL, BL_RETRY_POLICY_VERSION), BL_EINVAL);
}

Test(retry, exact_delays_without_jitter)
{
	bl_retry_policy p = policy(10, 1000, 2, 300000, false);
	static const int64_t want[] = { 1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000, 256000 };
	for (int n = 1; n <= 9; n++)
		cr_expect_eq(delay_of(&p, n, 12345), want[n - 1], "after %d: %lld", n,
			     (long long)delay_of(&p, n, 12345));
	/* multiplier 3, base 250 */
	p = policy(5, 250, 3, 1000000, false);
	cr_expect_eq(delay_of(&p, 1, 0), 250);
	cr_expect_eq(delay_of(&p, 2, 0), 750);
	cr_expect_eq(delay_of(&p, 3, 0), 2250);
	cr_expect_eq(delay_of(&p, 4, 0), 6750);
	/* multiplier 1: constant */
	p = policy(100, 700, 1, 5000, false);
	for (int n = 1; n < 100; n++)
		cr_expect_eq(delay_of(&p, n, 0), 700);
	/* base 0: immediate retries */
	p = policy(4, 0, 10, 5000, false);
	cr_expect_eq(delay_of(&p, 3, 0), 0);
}

Test(retry, cap)
{
	bl_retry_policy p = policy(20, 1000, 2, 300000, false);
	cr_expect_eq(delay_of(&p, 9, 0), 256000);
	cr_expect_eq(delay_of(&p, 10, 0), 300000); /* 512000 capped */
	cr_expect_eq(delay_of(&p, 19, 0), 300000);
	/* a base above the cap is capped from the first retry */
	p = policy(3, 10000, 2, 3000, false);
	cr_expect_eq(delay_of(&p, 1, 0), 3000);
	cr_expect_eq(delay_of(&p, 2, 0), 3000);
	/* cap 0: never wait */
	p = policy(3, 10000, 2, 0, false);
	cr_expect_eq(delay_of(&p, 2, 0), 0);
}

Test(retry, saturation_with_huge_values)
{
	/* would overflow int64 many times over without saturation */
	bl_retry_policy p = policy(INT32_MAX, INT64_MAX / 2, INT32_MAX, INT64_MAX, false);
	cr_expect_eq(delay_of(&p, 1, 0), INT64_MAX / 2);
	cr_expect_eq(delay_of(&p, 2, 0), INT64_MAX);
	cr_expect_eq(delay_of(&p, INT32_MAX - 1, 0), INT64_MAX);
	p = policy(INT32_MAX, 1, 2, INT64_MAX, false);
	cr_expect_eq(delay_of(&p, 63, 0), INT64_C(1) << 62);
	cr_expect_eq(delay_of(&p, 64, 0), INT64_MAX);
	cr_expect_eq(delay_of(&p, 1000000, 0), INT64_MAX);
	/* huge attempt counts with multiplier 1 return at once */
	p = policy(INT32_MAX, 5, 1, INT64_MAX, false);
	cr_expect_eq(delay_of(&p, INT32_MAX - 1, 0), 5);
	/* the usual cap with a multiplier of 100 */
	p = policy(50, 1000, 100, 86400000, false);
	cr_expect_eq(delay_of(&p, 3, 0), 10000000);
	cr_expect_eq(delay_of(&p, 4, 0), 86400000);
	cr_expect_eq(delay_of(&p, 49, 0), 86400000);
	/* full jitter over the whole int64 range stays in range */
	p = policy(INT32_MAX, INT64_MAX, 2, INT64_MAX, true);
	int64_t d = delay_of(&p, 5, UINT64_MAX);
	cr_expect(d >= 0 && d <= INT64_MAX);
}

Test(retry, jitter_range_and_determinism)
{
	bl_retry_policy p = policy(10, 1000, 2, 300000, true);
	uint64_t x = 0x9E3779B97F4A7C15u;
	int64_t lo = INT64_MAX, hi = -1;
	for (int i = 0; i < 20000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
		int64_t d = delay_of(&p, 3, x);
		cr_assert(d >= 0 && d <= 4000, "delay %lld outside [0, 4000]", (long long)d);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
		/* the same random value gives the same delay */
		cr_assert_eq(delay_of(&p, 3, x), d);
	}
	/* full jitter: the whole range is used */
	cr_expect_lt(lo, 50);
	cr_expect_gt(hi, 3950);
	/* random % (delay + 1): the exact formula */
	cr_expect_eq(delay_of(&p, 3, 4000), 4000);
	cr_expect_eq(delay_of(&p, 3, 4001), 0);
	cr_expect_eq(delay_of(&p, 3, 12345), 12345 % 4001);
	cr_expect_eq(delay_of(&p, 10 - 1, 7), 7); /* cap 300000 */
	/* a zero delay stays zero */
	p = policy(3, 0, 2, 1000, true);
	cr_expect_eq(delay_of(&p, 2, UINT64_MAX), 0);
}

Test(retry, exhaustion)
{
	bl_retry_policy p = policy(3, 1000, 2, 300000, false);
	bool retry = true;
	int64_t d = -1;
	cr_expect_eq(delay_of(&p, 1, 0), 1000);
	cr_expect_eq(delay_of(&p, 2, 0), 2000);
	cr_assert_eq(bl_retry_next(&p, 3, 0, &retry, &d), BL_OK);
	cr_expect_not(retry);
	cr_expect_eq(d, 0);
	retry = true;
	cr_assert_eq(bl_retry_next(&p, 1000, 0, &retry, &d), BL_OK);
	cr_expect_not(retry);
	/* one attempt in all: never retried */
	p = policy(1, 1000, 2, 300000, true);
	retry = true;
	cr_assert_eq(bl_retry_next(&p, 1, 99, &retry, &d), BL_OK);
	cr_expect_not(retry);
}

Test(retry, validation_names_the_field)
{
	bool retry;
	int64_t d;
	bl_retry_policy p = policy(0, 1000, 2, 300000, false);
	cr_expect_eq(bl_retry_next(&p, 1, 0, &retry, &d), BL_EINVAL);
	EXPECT_MSG("max_attempts");
	p = policy(3, -1, 2, 300000, false);
	cr_expect_eq(bl_retry_next(&p, 1, 0, &retry, &d), BL_EINVAL);
	EXPECT_MSG("base_ms");
	p = policy(3, 1000, 0, 300000, false);
	cr_expect_eq(bl_retry_next(&p, 1, 0, &retry, &d), BL_EINVAL);
	EXPECT_MSG("multiplier");
	p = policy(3, 1000, -5, 300000, false);
	cr_expect_eq(bl_retry_next(&p, 1, 0, &retry, &d), BL_EINVAL);
	EXPECT_MSG("multiplier");
	p = policy(3, 1000, 2, -1, false);
	cr_expect_eq(bl_retry_next(&p, 1, 0, &retry, &d), BL_EINVAL);
	EXPECT_MSG("cap_ms");
	p = policy(3, 1000, 2, 300000, false);
	p.version = 7;
	cr_expect_eq(bl_retry_next(&p, 1, 0, &retry, &d), BL_EINVAL);
	EXPECT_MSG("version");
	p.version = BL_RETRY_POLICY_VERSION;
	cr_expect_eq(bl_retry_next(&p, 0, 0, &retry, &d), BL_EINVAL);
	EXPECT_MSG("attempts_done");
	cr_expect_eq(bl_retry_next(&p, -3, 0, &retry, &d), BL_EINVAL);
	cr_expect_eq(bl_retry_next(NULL, 1, 0, &retry, &d), BL_EINVAL);
	cr_expect_eq(bl_retry_next(&p, 1, 0, NULL, &d), BL_EINVAL);
	cr_expect_eq(bl_retry_next(&p, 1, 0, &retry, NULL), BL_EINVAL);
}

Test(retry, from_config)
{
	bl_config *cfg = NULL;
	cr_assert_eq(bl_config_new(&cfg), BL_OK);
	bl_retry_policy p;
	cr_assert_eq(bl_retry_policy_from_config(cfg, BL_CHANNEL_EMAIL, &p), BL_OK, "%s", bl_error_last());
	cr_expect_eq(p.version, BL_RETRY_POLICY_VERSION);
	cr_expect_eq(p.max_attempts, 3);
	cr_expect_eq(p.base_ms, 1000);
	cr_expect_eq(p.multiplier, 2);
	cr_expect_eq(p.cap_ms, 300000);
	cr_expect(p.jitter);

	cr_assert_eq(bl_config_set(cfg, "BILLING_RETRY_EMAIL_ATTEMPTS", "5"), BL_OK);
	cr_assert_eq(bl_config_set(cfg, "BILLING_RETRY_SMS_ATTEMPTS", "2"), BL_OK);
	cr_assert_eq(bl_config_set(cfg, "BILLING_RETRY_BASE_MS", "500"), BL_OK);
	cr_assert_eq(bl_config_set(cfg, "BILLING_RETRY_MULTIPLIER", "4"), BL_OK);
	cr_assert_eq(bl_config_set(cfg, "BILLING_RETRY_CAP_MS", "60000"), BL_OK);
	cr_assert_eq(bl_retry_policy_from_config(cfg, BL_CHANNEL_EMAIL, &p), BL_OK);
	cr_expect_eq(p.max_attempts, 5);
	cr_expect_eq(p.base_ms, 500);
	cr_expect_eq(p.multiplier, 4);
	cr_expect_eq(p.cap_ms, 60000);
	cr_assert_eq(bl_retry_policy_from_config(cfg, BL_CHANNEL_SMS, &p), BL_OK);
	cr_expect_eq(p.max_attempts, 2);
	cr_expect_eq(p.base_ms, 500);
	p.jitter = false;
	cr_expect_eq(delay_of(&p, 1, 0), 500);
	bool retry = true;
	int64_t d;
	cr_assert_eq(bl_retry_next(&p, 2, 0, &retry, &d), BL_OK);
	cr_expect_not(retry);

	cr_expect_eq(bl_retry_policy_from_config(cfg, (bl_channel)9, &p), BL_EINVAL);
	EXPECT_MSG("channel");
	cr_expect_eq(bl_retry_policy_from_config(NULL, BL_CHANNEL_SMS, &p), BL_EINVAL);
	cr_expect_eq(bl_retry_policy_from_config(cfg, BL_CHANNEL_SMS, NULL), BL_EINVAL);
	bl_config_free(cfg);
}
