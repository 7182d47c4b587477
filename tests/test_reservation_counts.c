/*
 * A reservation's live counts are bounded in time (BILLING_COUNT_TIMEOUT_MS):
 * past the limit they come back as null ("not counted") instead of a read
 * that holds the page while a batch and the pipeline write.  A group's
 * target count is its member counter (one row): it is always there.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "testutil.h"

static bl_ctx *ctx_with_timeout(const char *name, const char *ms)
{
	bl_config *cfg = tu_config(name);
	cr_assert_eq(bl_config_set(cfg, "BILLING_COUNT_TIMEOUT_MS", ms), BL_OK, "%s", bl_error_last());
	bl_ctx *ctx = NULL;
	cr_assert_eq(bl_ctx_new(&ctx, cfg), BL_OK, "%s", bl_error_last());
	bl_config_free(cfg);
	return ctx;
}

static json_t *reservation(bl_ctx *ctx, int64_t id)
{
	char *js = NULL;
	cr_assert_eq(bl_reservation_get(ctx, id, &js), BL_OK, "%s", bl_error_last());
	json_t *r = json_loads(js, 0, NULL);
	bl_free(js);
	cr_assert_not_null(r);
	return r;
}

Test(reservation_counts, bounded_by_the_count_timeout, .timeout = 120)
{
	bl_ctx *ctx = tu_ctx_fresh("resv_counts");
	/* 300,000 subscribers in a group and as many messages of its reservation:
	 * no count of them finishes within a millisecond */
	tu_sql(ctx, "INSERT INTO users (name, phone_enc, phone_bidx, email_enc, email_bidx, consent_sms) "
		    "SELECT CONCAT('u', seq), 'x', UNHEX(MD5(CONCAT('p', seq))), 'x', UNHEX(MD5(CONCAT('e', seq))), 1 "
		    "FROM seq_1_to_300000");
	tu_sql(ctx, "INSERT INTO user_groups (code, name) VALUES ('BIG', 'BIG')");
	tu_sql(ctx, "INSERT INTO user_group_members (group_id, user_id) SELECT g.id, u.id FROM user_groups g "
		    "JOIN users u WHERE g.code = 'BIG'");
	cr_assert_eq(bl_group_recount(ctx), BL_OK, "%s", bl_error_last()); /* rows written with SQL */
	bl_reservation_opts o;
	cr_assert_eq(bl_reservation_opts_init(&o, BL_RESERVATION_OPTS_VERSION), BL_OK);
	o.group_code = "BIG";
	o.template_code = "NOTICE_MAINTENANCE_SMS";
	o.params_json = "{\"maintenanceDate\":\"2026-12-01\",\"startTime\":\"02:00\",\"endTime\":\"06:00\"}";
	o.scheduled_unix = bl_ctx_now(ctx) / 1000000 + 86400; /* tomorrow by the context's clock */
	o.created_by = "test";
	int64_t id = 0;
	cr_assert_eq(bl_reservation_create(ctx, &o, &id), BL_OK, "%s", bl_error_last());
	char sql[600];
	snprintf(sql, sizeof sql,
		 "INSERT INTO messages (idempotency_key, user_id, reservation_id, template_id, channel, purpose, "
		 "status) SELECT CONCAT('t:', u.id), u.id, %lld, t.id, 'SMS', 'NOTICE', "
		 "IF(u.id %% 10 = 0, 'DEAD', 'SUCCESS') FROM users u JOIN message_templates t "
		 "ON t.code = 'NOTICE_MAINTENANCE_SMS'",
		 (long long)id);
	tu_sql(ctx, sql);

	/* the default limit counts them */
	json_t *r = reservation(ctx, id);
	cr_expect_eq(json_integer_value(json_object_get(r, "target_count")), 300000);
	json_t *m = json_object_get(r, "messages");
	cr_expect_eq(json_integer_value(json_object_get(m, "SUCCESS")), 270000);
	cr_expect_eq(json_integer_value(json_object_get(m, "DEAD")), 30000);
	json_decref(r);

	/* 1 ms: the messages are not counted, and the rest of the reservation is
	 * still there; the group's target count is its counter, not a count */
	bl_ctx *quick = ctx_with_timeout("resv_counts", "1");
	r = reservation(quick, id);
	cr_expect_eq(json_integer_value(json_object_get(r, "target_count")), 300000,
		     "target_count of a group is its member counter");
	cr_expect(json_is_null(json_object_get(r, "messages")), "messages is null past the limit");
	cr_expect_str_eq(json_string_value(json_object_get(r, "group_code")), "BIG");
	cr_expect_eq(json_integer_value(json_object_get(r, "id")), id);
	json_decref(r);
	/* a timeout is not an error that stays: the next call on the same
	 * connection works (and is bounded again) */
	r = reservation(quick, id);
	cr_expect(json_is_null(json_object_get(r, "messages")));
	json_decref(r);
	bl_ctx_free(quick);
	tu_ctx_drop(ctx);
}
