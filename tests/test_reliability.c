/*
 * Regression tests of what the chaos drills (scripts/chaos, docs/reliability.md)
 * found, in a deterministic form.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sender_private.h"
#include "testutil.h"

static bl__sender *sender_with(bl_ctx *ctx, const char *channel_permille_key, const char *permille)
{
	bl_config *cfg = NULL;
	cr_assert_eq(bl_config_copy(&cfg, bl_ctx_config(ctx)), BL_OK);
	cr_assert_eq(bl_config_set(cfg, "BILLING_MAILDIR", ""), BL_OK);
	cr_assert_eq(bl_config_set(cfg, "BILLING_MOCK_EMAIL_TRANSIENT_PERMILLE", "0"), BL_OK);
	cr_assert_eq(bl_config_set(cfg, channel_permille_key, permille), BL_OK, "%s", bl_error_last());
	bl__sender *s = NULL;
	cr_assert_eq(bl__sender_new(&s, cfg, "reliability"), BL_OK, "%s", bl_error_last());
	bl_config_free(cfg);
	return s;
}

/*
 * A message the provider accepted, whose worker died before recording it,
 * is sent again with the next attempt number.  The provider's idempotency
 * answers first: "already accepted", never a fresh failure draw (which made
 * such a delivered message DEAD under kill -9).
 */
static void resend_after_crash(bl_channel ch, const char *permanent_key, const char *transient_key)
{
	bl_ctx *ctx = tu_ctx_fresh("reliab_resend");
	MYSQL *db = bl__ctx_db(ctx);
	cr_assert(db, "%s", bl_error_last());
	bool email = ch == BL_CHANNEL_EMAIL;
	bl__send_req req = { .message_id = 77, .attempt = 1, .channel = ch,
			     .to = email ? "kim@example.com" : "010-1234-5678", .to_name = "김민수",
			     .subject = "s", .text = "본문", .html = "<p>x</p>",
			     .kind = email ? BL_KIND_EMAIL : BL_KIND_SMS, .bytes = 4 };
	bl__send_res res;
	bl__sender *ok = sender_with(ctx, permanent_key, "0");
	cr_assert_eq(bl__sender_send(ok, db, &req, &res), BL_OK, "%s", bl_error_last());
	cr_assert_eq(res.status, BL_SEND_OK, "%s", res.error);
	bl__sender_free(ok);
	/* every draw fails now: permanently, then transiently */
	const char *keys[] = { permanent_key, transient_key };
	for (int k = 0; k < 2; k++) {
		bl__sender *bad = sender_with(ctx, keys[k], "1000");
		for (int attempt = 2; attempt <= 4; attempt++) {
			req.attempt = attempt;
			cr_assert_eq(bl__sender_send(bad, db, &req, &res), BL_OK, "%s", bl_error_last());
			cr_expect_eq(res.status, BL_SEND_DUPLICATE,
				     "attempt %d of an accepted message: status %d (%s), expected DUPLICATE",
				     attempt, (int)res.status, res.error);
		}
		/* a message never accepted still gets the draw */
		bl__send_req other = req;
		other.message_id = 78 + k;
		cr_assert_eq(bl__sender_send(bad, db, &other, &res), BL_OK, "%s", bl_error_last());
		cr_expect_eq(res.status, k == 0 ? BL_SEND_PERMANENT : BL_SEND_TRANSIENT, "%s", res.error);
		bl__sender_free(bad);
	}
	cr_expect_eq(tu_i64(ctx, "SELECT COUNT(*) FROM message_ledger"), 1);
	cr_expect_eq(tu_i64(ctx, "SELECT duplicate_requests FROM message_ledger WHERE message_id = 77"), 6);
	tu_ctx_drop(ctx);
}

Test(reliability, email_resend_after_crash_is_already_accepted, .timeout = 120)
{
	resend_after_crash(BL_CHANNEL_EMAIL, "BILLING_MOCK_EMAIL_PERMANENT_PERMILLE",
			   "BILLING_MOCK_EMAIL_TRANSIENT_PERMILLE");
}

Test(reliability, sms_resend_after_crash_is_already_accepted, .timeout = 120)
{
	resend_after_crash(BL_CHANNEL_SMS, "BILLING_MOCK_SMS_PERMANENT_PERMILLE",
			   "BILLING_MOCK_SMS_TRANSIENT_PERMILLE");
}
